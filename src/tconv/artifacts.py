"""Checkerboard and overlap analysis of a transposed convolution.

Per axis, input element ``j`` and kernel tap ``t`` meet at position ``f = s*j + d*t``
of the full output (see :mod:`tconv.geometry`). Away from the borders, which taps
reach ``f`` depends only on its **phase** ``r = f mod s``: the taps with
``d*t = r (mod s)``. So the output is ``s`` interleaved sub-grids per axis, each fed
by its own sub-kernel, and

- the **overlap** of phase ``r`` is the number of its taps,
  ``#{t in [0, k) : d*t = r (mod s)}`` (:func:`phase_taps`). When the counts differ
  between phases the output of a constant input is not constant: the checkerboard
  of Odena, Dumoulin and Olah (Distill, 2016). In several axes the counts of the
  axes multiply (:attr:`Overlap.phase_counts`): k=3, s=2 gives ``[2, 1]`` per axis
  and ``[[4, 2], [2, 1]]`` in 2-d.
- With ``d = 1`` the counts are equal exactly when ``s`` divides ``k``. With
  dilation, ``d*t mod s`` only visits multiples of ``g = gcd(d, s)``: when ``g > 1``
  every phase that is not a multiple of ``g`` gets **no tap at all** (holes that
  only the bias reaches; k=3, s=2, d=2 is PyTorch issue 1565's example), and when
  ``g = 1`` the counts are equal exactly when ``s`` divides ``k``.
- For given weights, the **gain** of a phase is the sum of its sub-kernel
  (:func:`phase_gains`), one per channel pair. A constant input ``c`` gives, away
  from the borders, ``c * sum of the gains`` of the output's phase
  (:func:`constant_response`): the predicted checkerboard amplitude is the spread of
  that response over the phases (:func:`checkerboard_amplitude`). Equal tap counts
  are not necessary for a flat response (a bilinear kernel with k=5, s=3 has equal
  gains), and not sufficient either (random weights with k=4, s=2 have unequal
  gains): counts describe the layer, gains describe the weights.

The counting works on integers (NumPy only for the maps); every number here can be
checked by brute force, and :meth:`WeightAnalysis.check` checks the predicted
response against :func:`tconv.conv_transpose` itself.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import int_tuple, is_int, show
from .geometry import Geometry, PaddingArg, conv_transpose_geometry, parse_padding
from .matrix import check_weight as _check_weight

__all__ = [
    "Overlap",
    "WeightAnalysis",
    "advice",
    "analyze_weights",
    "checkerboard_amplitude",
    "constant_response",
    "even_alternatives",
    "overlap",
    "phase_gains",
    "phase_taps",
    "report",
]


def _phase_taps_1d(k: int, s: int, d: int) -> tuple[int, ...]:
    counts = [0] * s
    for t in range(k):
        counts[(d * t) % s] += 1
    return tuple(counts)


def phase_taps(
    kernel_size: int | Sequence[int], stride: int | Sequence[int] = 1, dilation: int | Sequence[int] = 1
) -> tuple[int, ...] | tuple[tuple[int, ...], ...]:
    """How many kernel taps reach each phase of the output, away from the borders.

    Phase ``r`` (``0 <= r < stride``) is every full-output position ``f`` with
    ``f mod stride == r``; it receives the taps ``t`` with
    ``dilation*t mod stride == r``.

    Parameters
    ----------
    kernel_size, stride, dilation : int or sequence of int
        Positive; a sequence gives one entry per axis.

    Returns
    -------
    tuple of int, or one tuple per axis when ``kernel_size`` is a sequence

    Examples
    --------
    The table of FRAMEWORKS.md 5.7:

    >>> phase_taps(3, 2), phase_taps(4, 2), phase_taps(4, 3)
    ((2, 1), (2, 2), (2, 1, 1))
    >>> phase_taps(3, 2, dilation=2)     # holes: odd outputs get no tap
    (3, 0)
    >>> phase_taps((4, 5), (4, 3), (2, 2))
    ((2, 0, 2, 0), (2, 1, 2))
    """
    nd = 1 if is_int(kernel_size) else len(kernel_size)  # type: ignore[arg-type]
    k = int_tuple(kernel_size, "kernel_size", nd, minimum=1, rule="positive")
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    taps = tuple(_phase_taps_1d(kk, ss, dd) for kk, ss, dd in zip(k, s, d))
    return taps[0] if is_int(kernel_size) else taps


def _axis_counts(i: int, o: int, k: int, s: int, d: int, b: int) -> np.ndarray:
    """``counts[o] = #{(j, t) : s*j + d*t - b == o}`` for one axis."""
    f = np.arange(o)[:, None] + b  # (o, 1) full-output positions
    rest = f - d * np.arange(k)[None, :]  # (o, k) = s*j for the tap that would reach f
    j = rest // s
    hit = (rest % s == 0) & (j >= 0) & (j < i)  # (o, k)
    return hit.sum(axis=1)  # (o,)


def _default_input_size(k: int, s: int, d: int, padding: object) -> int:
    """Large enough that the output shows two interior periods besides the borders."""
    ke = d * (k - 1) + 1
    crop = 0
    if isinstance(padding, tuple):
        crop = max(0, padding[0]) + max(0, padding[1])
    return max(3, -(-(ke + crop) // s) + 3)


@dataclass(frozen=True)
class Overlap:
    """The overlap map of a transposed convolution and its phase analysis.

    Attributes
    ----------
    geometry : Geometry
        The configuration analysed (its ``input_size`` is the map's input size).
    counts : ndarray of int, shape geometry.output_size
        How many ``(input element, kernel tap)`` pairs reach each output position,
        borders included: the output of an all-ones input and an all-ones kernel.
    axis_counts : tuple of ndarray
        The counts of each axis alone; ``counts`` is their outer product.
    phase_taps : tuple of tuple of int
        Per axis, the taps each phase receives away from the borders
        (:func:`phase_taps`).
    phase_offset : tuple of int
        Output position ``o`` has phase ``(o + phase_offset) mod stride``: the
        window starts ``crop_begin`` cells into the full output.
    interior : ndarray of bool, shape geometry.output_size
        Positions that receive every tap of their phase (away from the borders).
    """

    geometry: Geometry
    counts: np.ndarray
    axis_counts: tuple[np.ndarray, ...]
    phase_taps: tuple[tuple[int, ...], ...]
    phase_offset: tuple[int, ...]
    interior: np.ndarray

    @property
    def phase_counts(self) -> np.ndarray:
        """Taps per phase in all axes, shape ``stride``: the product of the axes' counts."""
        out = np.ones((), dtype=np.int64)
        for taps in self.phase_taps:
            out = np.multiply.outer(out, np.asarray(taps, dtype=np.int64))
        return out

    @property
    def uniformity(self) -> float:
        """Fewest taps of any phase divided by the most: 1 is even, 0 means holes."""
        counts = self.phase_counts
        return float(counts.min() / counts.max())

    @property
    def hole_phases(self) -> list[tuple[int, ...]]:
        """Phases (per axis ``r``) that no tap reaches, away from the borders."""
        return [tuple(int(v) for v in r) for r in np.argwhere(self.phase_counts == 0)]

    @property
    def holes(self) -> np.ndarray:
        """Boolean map of output positions that no tap reaches (interior or border)."""
        return self.counts == 0

    @property
    def verdict(self) -> str:
        """``"even"``, ``"checkerboard"`` (unequal phase counts) or ``"holes"`` (a phase gets none)."""
        counts = self.phase_counts
        if counts.min() == 0:
            return "holes"
        return "even" if counts.min() == counts.max() else "checkerboard"

    def phase_of(self, position: Sequence[int]) -> tuple[int, ...]:
        """The phase of an output position."""
        return tuple((int(o) + b) % s for o, b, s in zip(position, self.phase_offset, self.geometry.stride))

    def interior_counts(self) -> np.ndarray:
        """The counts the interior would have at every position: ``phase_counts`` laid over the output."""
        index = np.indices(self.geometry.output_size)  # (nd, *o)
        phases = tuple((index[a] + self.phase_offset[a]) % self.geometry.stride[a] for a in range(self.geometry.ndim))
        return self.phase_counts[phases]


def overlap(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    input_size: int | Sequence[int] | None = None,
) -> Overlap:
    """The overlap map of a transposed convolution: how many taps reach each output.

    Parameters
    ----------
    kernel_size, stride, padding, output_padding, dilation
        As for :func:`tconv.conv_transpose` (``kernel_size`` gives the number of
        axes; the others broadcast).
    input_size : int or sequence of int, optional
        The input size of the map; by default large enough to show the borders and
        two interior periods.

    Returns
    -------
    Overlap

    Examples
    --------
    >>> ov = overlap(3, stride=2, input_size=4)
    >>> ov.counts
    array([1, 1, 2, 1, 2, 1, 2, 1, 1])
    >>> ov.phase_taps, ov.verdict, ov.uniformity
    (((2, 1),), 'checkerboard', 0.5)
    >>> overlap((3, 3), stride=2).phase_counts
    array([[4, 2],
           [2, 1]])
    >>> ov = overlap(3, stride=2, dilation=2, input_size=3)
    >>> ov.counts, ov.verdict, ov.hole_phases
    (array([1, 0, 2, 0, 3, 0, 2, 0, 1]), 'holes', [(1,)])
    """
    nd = 1 if is_int(kernel_size) else len(kernel_size)  # type: ignore[arg-type]
    k = int_tuple(kernel_size, "kernel_size", nd, minimum=1, rule="positive")
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    if input_size is None:
        pad = parse_padding(padding, nd)
        pairs = ((0, 0),) * nd if isinstance(pad, str) else pad
        i = tuple(_default_input_size(kk, ss, dd, pp) for kk, ss, dd, pp in zip(k, s, d, pairs))
    else:
        i = int_tuple(input_size, "input_size", nd, minimum=1, rule="positive")
    g = conv_transpose_geometry(i, k, s, padding, output_padding, d)
    axis = tuple(
        _axis_counts(ii, oo, kk, ss, dd, bb)
        for ii, oo, kk, ss, dd, bb in zip(g.input_size, g.output_size, k, s, d, g.crop_begin)
    )
    counts = np.ones((), dtype=np.int64)
    for c in axis:
        counts = np.multiply.outer(counts, c)  # (*o[:a+1])
    taps = tuple(_phase_taps_1d(kk, ss, dd) for kk, ss, dd in zip(k, s, d))
    offset = tuple(b % ss for b, ss in zip(g.crop_begin, s))
    interior = np.ones((), dtype=bool)
    for c, t, b, ss in zip(axis, taps, g.crop_begin, s):
        full = np.asarray(t)[(np.arange(len(c)) + b) % ss]  # (o,) the phase's full count
        interior = np.logical_and.outer(interior, c == full)
    return Overlap(g, counts, axis, taps, offset, interior)


# ---------------------------------------------------------------------------------------------
# Weights


def phase_gains(weight: np.ndarray, stride: int | Sequence[int] = 1, dilation: int | Sequence[int] = 1) -> np.ndarray:
    """The gain of each phase: the sum of its sub-kernel, per channel pair.

    Parameters
    ----------
    weight : array_like, shape (C_in, C_out/groups, *k)
        A transposed-convolution weight (PyTorch's layout).
    stride, dilation : int or sequence of int

    Returns
    -------
    ndarray, shape (C_in, C_out/groups, *stride)
        ``gains[ci, co, r] = sum of weight[ci, co, t] over the taps t with
        dilation*t = r (mod stride)`` in every axis.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([1., 2., 3.])[None, None]          # (1, 1, 3)
    >>> phase_gains(w, stride=2)[0, 0]                   # phase 0: taps 0 and 2; phase 1: tap 1
    array([4., 2.])
    """
    w = np.asarray(weight)
    if w.ndim < 3:
        raise ValueError(f"weight must have shape (C_in, C_out/groups, *kernel_size), got shape {show(w.shape)}")
    nd = w.ndim - 2
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    dtype = np.result_type(w.dtype, np.float64) if w.dtype.kind in "biu" else w.dtype
    gains = np.zeros((*w.shape[:2], *s), dtype=dtype)  # (C_in, C_out/g, *s)
    for tap in itertools.product(*(range(k) for k in w.shape[2:])):
        r = tuple((dd * t) % ss for dd, t, ss in zip(d, tap, s))
        gains[(Ellipsis, *r)] += w[(Ellipsis, *tap)]
    return gains


def constant_response(
    weight: np.ndarray,
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    value: float = 1.0,
) -> np.ndarray:
    """The output of a constant input, away from the borders, per output channel and phase.

    Every input channel holds ``value`` everywhere; output channel ``co`` of group
    ``g`` then reads, at phase ``r``, ``value`` times the sum of ``phase_gains``
    over the input channels of ``g``. The bias (not included) adds a constant and
    changes no amplitude.

    Returns
    -------
    ndarray, shape (C_out, *stride)

    Examples
    --------
    >>> import numpy as np
    >>> constant_response(np.ones((1, 1, 3, 3)), stride=2)[0]   # the 2-d checkerboard of k=3, s=2
    array([[4., 2.],
           [2., 1.]])
    """
    w, g = _check_weight(weight, groups)
    gains = phase_gains(w, stride, dilation)  # (C_in, C_out/g, *s)
    c_in_g = w.shape[0] // g
    per_group = gains.reshape(g, c_in_g, *gains.shape[1:]).sum(axis=1)  # (G, C_out/g, *s)
    return value * per_group.reshape(g * w.shape[1], *gains.shape[2:])  # (C_out, *s)


def checkerboard_amplitude(
    weight: np.ndarray,
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> np.ndarray:
    """Peak-to-peak spread over the phases of a constant input of ones, per output channel.

    0 means the layer maps a constant input to a constant output away from the
    borders; anything else is a checkerboard of that height (for a constant input
    of value ``c``, ``|c|`` times it).

    Returns
    -------
    ndarray, shape (C_out,)

    Examples
    --------
    >>> import numpy as np
    >>> checkerboard_amplitude(np.ones((1, 1, 3)), stride=2)    # phases get 2 and 1
    array([1.])
    >>> checkerboard_amplitude(np.ones((1, 1, 4)), stride=2)
    array([0.])
    """
    response = constant_response(weight, stride, dilation, groups)  # (C_out, *s)
    flat = response.reshape(response.shape[0], -1)  # (C_out, prod(s))
    if np.iscomplexobj(flat):
        return np.abs(flat[:, :, None] - flat[:, None, :]).max(axis=(1, 2))
    return flat.max(axis=1) - flat.min(axis=1)


@dataclass(frozen=True)
class WeightAnalysis:
    """Per-phase gains of given weights and their predicted response to a constant input.

    Attributes
    ----------
    overlap : Overlap
        The tap counts of the configuration.
    weight : ndarray
    groups : int
    gains : ndarray, shape (C_in, C_out/groups, *stride)
    response : ndarray, shape (C_out, *stride)
        Output of an all-ones input away from the borders (bias excluded).
    amplitude : ndarray, shape (C_out,)
        Peak-to-peak of ``response`` over the phases.
    """

    overlap: Overlap
    weight: np.ndarray
    groups: int
    gains: np.ndarray
    response: np.ndarray
    amplitude: np.ndarray

    def predicted_output(self) -> np.ndarray:
        """The predicted output of an all-ones input on the interior, NaN at the borders.

        Shape ``(C_out, *output_size)``.
        """
        ov = self.overlap
        index = np.indices(ov.geometry.output_size)  # (nd, *o)
        phases = tuple((index[a] + ov.phase_offset[a]) % ov.geometry.stride[a] for a in range(ov.geometry.ndim))
        pred = self.response[(slice(None), *phases)].astype(np.result_type(self.response, float))  # (C_out, *o)
        pred[:, ~ov.interior] = np.nan
        return pred

    def check(self) -> float:
        """Run :func:`tconv.conv_transpose` on an all-ones input and compare the interior.

        Returns the largest absolute difference between the prediction and the
        operator's output over the interior positions.
        """
        from .ops import conv_transpose

        g = self.overlap.geometry
        x = np.ones((self.weight.shape[0], *g.input_size))  # (C_in, *i)
        pad = tuple(zip(g.crop_begin, g.crop_end))
        y = conv_transpose(x, self.weight, None, g.stride, pad, 0, self.groups, g.dilation)  # (C_out, *o)
        pred = self.predicted_output()
        inside = np.broadcast_to(self.overlap.interior, y.shape)
        if not inside.any():
            return 0.0
        return float(np.max(np.abs(y[inside] - pred[inside])))


def analyze_weights(
    weight: np.ndarray,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    input_size: int | Sequence[int] | None = None,
) -> WeightAnalysis:
    """Overlap, phase gains and the predicted checkerboard of given weights.

    Arguments in the order of :func:`tconv.conv_transpose`.

    Examples
    --------
    >>> import numpy as np
    >>> a = analyze_weights(np.ones((2, 3, 3, 3)), stride=2, groups=1)
    >>> a.response[0]             # two input channels of ones: twice the tap counts
    array([[8., 4.],
           [4., 2.]])
    >>> a.amplitude
    array([6., 6., 6.])
    >>> a.check()                 # the prediction equals the operator's interior output
    0.0
    """
    w, g = _check_weight(weight, groups)
    ov = overlap(w.shape[2:], stride, padding, output_padding, dilation, input_size=input_size)
    s, d = ov.geometry.stride, ov.geometry.dilation
    gains = phase_gains(w, s, d)
    response = constant_response(w, s, d, g)
    amplitude = checkerboard_amplitude(w, s, d, g)
    return WeightAnalysis(ov, w, g, gains, response, amplitude)


# ---------------------------------------------------------------------------------------------
# Advice


@dataclass(frozen=True)
class _Alternative:
    kernel_size: int
    padding: int
    output_padding: int
    dilation: int


def even_alternatives(
    kernel_size: int,
    stride: int,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
    *,
    limit: int = 3,
) -> list[dict]:
    """Nearby 1-d configurations with even overlap and the same output size.

    Searches kernel sizes near ``kernel_size`` (dilation ``1``, or the given one
    when it is coprime to the stride) for which every phase receives the same
    number of taps, with a symmetric ``padding`` and ``output_padding`` that keep
    ``o = (i - 1)*s - 2p + d*(k - 1) + op + 1`` for every input size ``i``.

    Returns
    -------
    list of dict
        Up to ``limit`` keyword sets (``kernel_size``, ``padding``,
        ``output_padding``, ``dilation``), nearest kernel size first.

    Examples
    --------
    The common 2x up-sampler k=3, s=2, p=1, op=1 and its even neighbours:

    >>> for alt in even_alternatives(3, 2, padding=1, output_padding=1):
    ...     print(alt)
    {'kernel_size': 2, 'padding': 0, 'output_padding': 0, 'dilation': 1}
    {'kernel_size': 4, 'padding': 1, 'output_padding': 0, 'dilation': 1}
    {'kernel_size': 6, 'padding': 2, 'output_padding': 0, 'dilation': 1}
    """
    s, k, p, op, d = stride, kernel_size, padding, output_padding, dilation
    target = d * (k - 1) + op - 2 * p  # o - (i - 1)*s - 1, the same for every i
    dilations = [1] + ([d] if d != 1 and math.gcd(d, s) == 1 else [])
    found: list[tuple[tuple[int, int, int], dict]] = []
    for dd in dilations:
        for kk in range(1, k + 2 * s + 1):
            if kk == k and dd == d:
                continue
            if len(set(_phase_taps_1d(kk, s, dd))) != 1:
                continue
            for oo in range(max(s, dd)):
                twice_p = dd * (kk - 1) + oo - target
                if twice_p >= 0 and twice_p % 2 == 0:
                    alt = {"kernel_size": kk, "padding": twice_p // 2, "output_padding": oo, "dilation": dd}
                    found.append(((abs(kk - k), dd != d, oo), alt))
                    break
    found.sort(key=lambda item: item[0])
    return [alt for _, alt in found[:limit]]


def _fmt(values: Sequence[int]) -> str:
    return values[0] if len(set(values)) == 1 else tuple(values)  # type: ignore[return-value]


def _merge_axes(items: list[tuple[int, str]], ndim: int) -> list[str]:
    """Prefix each text with its axis; texts shared by several axes are written once."""
    order: list[str] = []
    axes: dict[str, list[int]] = {}
    for a, text in items:
        if text not in axes:
            order.append(text)
            axes[text] = []
        axes[text].append(a)
    out = []
    for text in order:
        where = [a for a in axes[text] if a >= 0]
        if ndim == 1 or not where or len(where) == ndim:
            out.append(text[0].upper() + text[1:])
        else:
            names = " and ".join(str(a) for a in where)
            out.append(f"{'axis' if len(where) == 1 else 'axes'} {names}: {text}")
    return out


def advice(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> list[str]:
    """Why the overlap is uneven, and which nearby configurations make it even, in words.

    Returns
    -------
    list of str
        One paragraph per point; empty reasons are left out. The init advice
        (ICNR, bilinear) names the techniques; :mod:`tconv` does not import them here.

    Examples
    --------
    >>> for line in advice(4, stride=2, padding=1):
    ...     print(line)
    Even: every output away from the borders receives the same number of taps (2 per axis), because the stride 2 divides the kernel size 4 and is coprime to the dilation 1. A constant input can still give a checkerboard if the weights' phase gains differ (see analyze_weights).
    """
    ov = overlap(kernel_size, stride, padding, output_padding, dilation)
    g = ov.geometry
    k, s, d = g.kernel_size, g.stride, g.dilation
    lines: list[str] = []
    axes = range(g.ndim)
    uneven = [a for a in axes if len(set(ov.phase_taps[a])) > 1]
    holes = [a for a in axes if min(ov.phase_taps[a]) == 0]
    if not uneven:
        per_axis = _fmt([ov.phase_taps[a][0] for a in axes])
        lines.append(
            f"Even: every output away from the borders receives the same number of taps ({per_axis} per "
            f"axis), because the stride {_fmt(s)} divides the kernel size {_fmt(k)} and is coprime to the "
            f"dilation {_fmt(d)}. A constant input can still give a checkerboard if the weights' phase "
            f"gains differ (see analyze_weights)."
        )
        return lines
    per_axis: list[tuple[int, str]] = []
    for a in uneven:
        taps = list(ov.phase_taps[a])
        if a in holes:
            gcd = math.gcd(d[a], s[a])
            per_axis.append(
                (
                    a,
                    f"holes. With dilation {d[a]} the taps sit {d[a]} cells apart, and gcd(dilation, "
                    f"stride) = gcd({d[a]}, {s[a]}) = {gcd} > 1, so they only reach the phases that are "
                    f"multiples of {gcd}: taps per phase {taps}. The other phases receive no input at all, "
                    f"only the bias.",
                )
            )
        else:
            per_axis.append(
                (
                    a,
                    f"checkerboard. The kernel size {k[a]} is not divisible by the stride {s[a]}, so "
                    f"neighbouring stamps of the kernel overlap unevenly: taps per phase {taps} (Odena, "
                    f"Dumoulin and Olah, Distill 2016).",
                )
            )
    if g.ndim > 1:
        per_axis.append(
            (
                -1,
                f"The axes multiply: per-phase tap counts {ov.phase_counts.tolist()}, uniformity "
                f"(fewest/most) {ov.uniformity:.3g}.",
            )
        )
    pad = parse_padding(padding, g.ndim)
    ops = int_tuple(output_padding, "output_padding", g.ndim)
    symmetric = isinstance(pad, tuple) and all(b == e for b, e in pad)
    for a in uneven:
        if pad == "same":
            alts = even_alternatives(k[a], s[a], 0, 0, d[a])
            text = ", ".join(
                f"kernel_size={alt['kernel_size']}" + (f", dilation={alt['dilation']}" if alt["dilation"] != 1 else "")
                for alt in alts
            )
            if alts:
                per_axis.append((a, f"even nearby (padding='same' keeps the size i*stride): {text}."))
        elif symmetric:
            p = pad[a][0]  # type: ignore[index]
            alts = even_alternatives(k[a], s[a], p, ops[a], d[a])
            if alts:
                text = "; ".join(
                    f"kernel_size={alt['kernel_size']}, padding={alt['padding']}, output_padding="
                    f"{alt['output_padding']}" + (f", dilation={alt['dilation']}" if alt["dilation"] != 1 else "")
                    for alt in alts
                )
                per_axis.append((a, f"even nearby with the same output size: {text}."))
    lines += _merge_axes(per_axis, g.ndim)
    lines.append(
        f"Resize, then convolve: up-sample by {_fmt(s)} with nearest-neighbour repetition "
        f"(np.repeat along each axis) and apply an ordinary stride-1 convolution with an odd kernel "
        f"and padding kernel_size//2. Every output then sees the same number of taps, which is "
        f"Distill's recommended fix; it costs prod(stride) times the multiplications."
    )
    lines.append(
        "Or keep the layer and initialise it so every phase has the same gain: ICNR (Aitken et al. "
        "2017) repeats one sub-kernel of size k/s s times along each axis (needs s to divide k), so "
        "that at initialisation the layer equals nearest-neighbour resize + convolution; a bilinear "
        "kernel (Caffe's bilinear filler, k = 2s - s % 2) has equal phase gains for any stride. "
        "Training can still drift apart; analyze_weights measures the trained weights."
    )
    return lines


# ---------------------------------------------------------------------------------------------
# Text


def _grid_text(a: np.ndarray, indent: str = "  ", mark: np.ndarray | None = None) -> str:
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    m2 = None if mark is None else (mark.reshape(1, -1) if mark.ndim == 1 else mark)
    texts = [[_num(v) for v in row] for row in a2]
    width = max(len(t) for row in texts for t in row) + 1
    lines = []
    for r, row in enumerate(texts):
        cells = []
        for c, t in enumerate(row):
            cells.append((t + ("*" if m2 is not None and not m2[r, c] else " ")).rjust(width + 1))
        lines.append(indent + "".join(cells).rstrip())
    return "\n".join(lines)


def _num(v: object) -> str:
    if isinstance(v, (np.integer, int)):
        return str(int(v))
    f = float(v)  # type: ignore[arg-type]
    if np.isnan(f):
        return "."
    return str(int(f)) if f == int(f) and abs(f) < 1e12 else f"{f:.3g}"


def report(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    input_size: int | Sequence[int] | None = None,
    weight: np.ndarray | None = None,
    groups: int = 1,
) -> str:
    """The text printed by ``tconv artifacts``: the map, the phase counts, the verdict, advice.

    With ``weight``, also its phase gains, the predicted response to a constant
    input and the check of that prediction against :func:`tconv.conv_transpose`.

    Examples
    --------
    >>> print(report(3, stride=2, input_size=4))
    Overlap of a transposed convolution: kernel_size 3, stride 2, dilation 1, padding 0, output_padding 0
    taps per phase (phase r = full-output position mod stride): [2, 1]
    uniformity (fewest / most taps of any phase): 0.5
    verdict: CHECKERBOARD
    <BLANKLINE>
    overlap map for input size 4 (output size 9; * marks borders, where fewer taps arrive):
       1* 1  2  1  2  1  2  1  1*
    <BLANKLINE>
    advice:
      - Checkerboard. The kernel size 3 is not divisible by the stride 2, ...
    ...
    """
    if weight is not None:
        analysis = analyze_weights(weight, stride, padding, output_padding, groups, dilation, input_size=input_size)
        ov = analysis.overlap
        kernel_size = ov.geometry.kernel_size
    else:
        analysis = None
        ov = overlap(kernel_size, stride, padding, output_padding, dilation, input_size=input_size)
    g = ov.geometry
    one = lambda v: v[0] if len(v) == 1 else v  # noqa: E731
    lines = [
        f"Overlap of a transposed convolution: kernel_size {_fmt(g.kernel_size)}, stride {_fmt(g.stride)}, "
        f"dilation {_fmt(g.dilation)}, padding {padding!r}, output_padding {output_padding!r}"
    ]
    if g.ndim == 1:
        lines.append(f"taps per phase (phase r = full-output position mod stride): {list(ov.phase_taps[0])}")
    else:
        for a in range(g.ndim):
            lines.append(f"taps per phase, axis {a}: {list(ov.phase_taps[a])}")
        lines.append("taps per phase in all axes (the axes multiply):")
        counts = ov.phase_counts
        lines.append(_grid_text(counts if counts.ndim <= 2 else counts.reshape(-1, counts.shape[-1])))
    lines.append(f"uniformity (fewest / most taps of any phase): {ov.uniformity:.3g}")
    lines.append(f"verdict: {ov.verdict.upper()}")
    if ov.hole_phases:
        lines.append(f"holes: phases {[one(p) for p in ov.hole_phases]} receive no tap")
    lines.append("")
    size = "x".join(map(str, g.input_size))
    osize = "x".join(map(str, g.output_size))
    if g.ndim <= 2:
        lines.append(
            f"overlap map for input size {size} (output size {osize}; * marks borders, where fewer taps arrive):"
        )
        lines.append(_grid_text(ov.counts, indent="  ", mark=ov.interior))
    else:
        lines.append(f"overlap map for input size {size} (output size {osize}), first slice of the leading axes:")
        lead = (0,) * (g.ndim - 2)
        lines.append(_grid_text(ov.counts[lead], indent="  ", mark=ov.interior[lead]))
    border_holes = int(ov.holes.sum() - (ov.holes & ov.interior).sum())
    if border_holes:
        lines.append(f"{border_holes} border position(s) receive no tap (zeros outside the full output, or holes).")
    if analysis is not None:
        w = analysis.weight
        lines += ["", f"weights of shape {w.shape}, groups {analysis.groups}:"]
        lines.append("output of an all-ones input away from the borders, per output channel and phase (bias excluded):")
        shown = min(4, analysis.response.shape[0])
        for co in range(shown):
            r = analysis.response[co]
            lines.append(f"  channel {co}:")
            lines.append(_grid_text(r if r.ndim <= 2 else r.reshape(-1, r.shape[-1]), indent="    "))
        if analysis.response.shape[0] > shown:
            lines.append(f"  ... {analysis.response.shape[0] - shown} more channels")
        amp = analysis.amplitude
        lines.append(
            f"predicted checkerboard amplitude (peak-to-peak over phases): max {_num(np.max(np.abs(amp)))}, "
            f"mean {_num(np.mean(np.abs(amp)))} over {amp.shape[0]} output channel(s)"
        )
        diff = analysis.check()
        lines.append(
            f"checked: tconv.conv_transpose of an all-ones input gives these values on the interior "
            f"(max |difference| = {diff:.3g})"
        )
    lines += ["", "advice:"]
    for paragraph in advice(g.kernel_size, g.stride, padding, output_padding, g.dilation):
        lines.append("  - " + paragraph)
    return "\n".join(lines)
