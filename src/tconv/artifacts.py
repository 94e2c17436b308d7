"""Checkerboard and overlap analysis of a transposed convolution.

Per axis, input element ``j`` and kernel tap ``t`` meet at position ``f = s*j + d*t``
of the full output (see :mod:`tconv.geometry`). Away from the borders, which taps
reach ``f`` depends only on its **phase** ``r = f mod s``: the taps with
``d*t = r (mod s)`` (:func:`tconv.geometry.phase_taps`). So the output is ``s``
interleaved sub-grids per axis, each fed by its own sub-kernel, and

- the **overlap** of phase ``r`` is the number of its taps,
  ``#{t in [0, k) : d*t = r (mod s)}`` (:func:`phase_taps`). When the counts differ
  between phases the output of a constant input is not constant: the checkerboard
  of Odena, Dumoulin and Olah, "Deconvolution and Checkerboard Artifacts" (Distill,
  2016, https://distill.pub/2016/deconv-checkerboard/). In several axes the counts
  of the axes multiply (:attr:`Overlap.phase_counts`): k=3, s=2 gives ``[2, 1]`` per
  axis and ``[[4, 2], [2, 1]]`` in 2-d.
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
response against :func:`tconv.conv_transpose` itself. The same analysis in words
(the verdict, why, and what to change) is :mod:`tconv.explain.artifacts_text`,
which ``tconv artifacts`` prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import geometry
from ._validate import int_tuple, is_int, non_negative_int, positive_int, positive_sizes, real_number, show
from .geometry import Geometry, PaddingArg, conv_transpose_geometry, effective_kernel_size, parse_padding
from .matrix import check_weight

__all__ = [
    "MAX_CELLS",
    "Analysis",
    "Overlap",
    "WeightAnalysis",
    "analyze",
    "analyze_weights",
    "checkerboard_amplitude",
    "constant_response",
    "even_alternatives",
    "overlap",
    "phase_gains",
    "phase_taps",
]


#: The largest analysis: the overlap map (output cells), the phase table (``prod(stride)`` phases) and
#: the kernel taps counted (``sum(kernel_size)``) each have at most this many entries; a larger one is
#: refused before anything is allocated (:func:`overlap`, :func:`phase_gains`).
MAX_CELLS = 10**6


def _collapse(values: tuple[int, ...]) -> str:
    """One value for every axis (``3``), or the tuple (``(3, 2)``)."""
    return show(values[0]) if len(set(values)) == 1 else show(values)


def _check_cells(count: int, what: str) -> None:
    if count > MAX_CELLS:
        raise ValueError(f"{what} has {count} entries: the analysis handles at most {MAX_CELLS}")


def _axes(
    kernel_size: int | Sequence[int], stride: int | Sequence[int], dilation: int | Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Check ``kernel_size`` (its length gives the axes) and broadcast ``stride`` and ``dilation`` to it."""
    k = positive_sizes(kernel_size, "kernel_size")
    s = int_tuple(stride, "stride", len(k), minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", len(k), minimum=1, rule="positive")
    return k, s, d


def phase_taps(
    kernel_size: int | Sequence[int], stride: int | Sequence[int] = 1, dilation: int | Sequence[int] = 1
) -> tuple[int, ...] | tuple[tuple[int, ...], ...]:
    """How many kernel taps reach each phase of the output, away from the borders.

    Phase ``r`` (``0 <= r < stride``) is every full-output position ``f`` with
    ``f mod stride == r``; it receives the taps ``t`` with
    ``dilation*t mod stride == r``. This is :func:`tconv.geometry.taps_per_phase`
    with its arguments checked, for one axis or several.

    Parameters
    ----------
    kernel_size, stride, dilation : int or sequence of int
        Positive; a sequence gives one entry per axis.

    Returns
    -------
    tuple of int, or one tuple per axis when ``kernel_size`` is a sequence

    Examples
    --------
    Common layers: k=3, s=2 is uneven, k=4, s=2 even, k=4, s=3 uneven:

    >>> phase_taps(3, 2), phase_taps(4, 2), phase_taps(4, 3)
    ((2, 1), (2, 2), (2, 1, 1))
    >>> phase_taps(3, 2, dilation=2)     # holes: odd outputs get no tap
    (3, 0)
    >>> phase_taps((4, 5), (4, 3), (2, 2))
    ((2, 0, 2, 0), (2, 1, 2))
    """
    k, s, d = _axes(kernel_size, stride, dilation)
    _check_cells(math.prod(s), f"the phase table of stride {_collapse(s)}")
    taps = tuple(map(geometry.taps_per_phase, k, s, d))
    return taps[0] if is_int(kernel_size) else taps


def _axis_counts(g: Geometry, axis: int) -> np.ndarray:
    """``counts[o] = #{(j, t) : s*j + d*t - b == o}`` along one axis: each tap adds 1 where it lands."""
    i, o, k = g.input_size[axis], g.output_size[axis], g.kernel_size[axis]
    s, d, b = g.stride[axis], g.dilation[axis], g.crop_begin[axis]
    counts = np.zeros(o, dtype=np.int64)
    for t in range(k):
        shift = d * t - b  # tap t carries input j to output s*j + shift
        first, stop = geometry.tap_range(shift, s, i, 0, o)
        if first < stop:
            counts[s * first + shift : s * (stop - 1) + shift + 1 : s] += 1
    return counts


def _output_phases(g: Geometry) -> tuple[np.ndarray, ...]:
    """Per axis, the phase of every output position: ``(o + crop_begin) mod stride``."""
    return tuple((np.arange(o) + b % s) % s for o, b, s in zip(g.output_size, g.crop_begin, g.stride))


def _default_input_size(k: int, s: int, d: int, crop: tuple[int, int]) -> int:
    """Large enough that the output shows two interior periods besides the borders."""
    cropped = max(0, crop[0]) + max(0, crop[1])
    return max(3, -(-(effective_kernel_size(k, d) + cropped) // s) + 3)


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

    def phase_index(self) -> tuple[np.ndarray, ...]:
        """The phase of every output position, as an index into arrays of shape ``stride`` (an open mesh)."""
        return np.ix_(*_output_phases(self.geometry))

    def interior_counts(self) -> np.ndarray:
        """The counts the interior would have at every position: ``phase_counts`` laid over the output."""
        return self.phase_counts[self.phase_index()]


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
    k, s, d = _axes(kernel_size, stride, dilation)
    if input_size is None:
        pad = parse_padding(padding, len(k))
        crops = ((0, 0),) * len(k) if isinstance(pad, str) else pad
        i = tuple(map(_default_input_size, k, s, d, crops))
    else:
        i = int_tuple(input_size, "input_size", len(k), minimum=1, rule="positive")
    g = conv_transpose_geometry(i, k, s, padding, output_padding, d)
    _check_cells(sum(k), f"kernel_size {_collapse(k)}")
    _check_cells(math.prod(s), f"the phase table of stride {_collapse(s)}")
    _check_cells(
        math.prod(g.output_size),
        f"the overlap map (output size {_collapse(g.output_size)} for input_size {_collapse(i)}, kernel_size "
        f"{_collapse(k)}, stride {_collapse(s)}, dilation {_collapse(d)}, padding {show(padding)})",
    )
    axis = tuple(_axis_counts(g, a) for a in range(g.ndim))
    counts = np.ones((), dtype=np.int64)
    for c in axis:
        counts = np.multiply.outer(counts, c)  # (*o[:a+1])
    taps = tuple(map(geometry.taps_per_phase, k, s, d))
    interior = np.ones((), dtype=bool)
    for c, t, phases in zip(axis, taps, _output_phases(g)):
        interior = np.logical_and.outer(interior, c == np.asarray(t)[phases])  # the phase's full count, per axis
    offset = tuple(b % ss for b, ss in zip(g.crop_begin, s))
    return Overlap(g, counts, axis, taps, offset, interior)


# ---------------------------------------------------------------------------------------------
# Weights


def _weight_array(weight: object) -> np.ndarray:
    return check_weight(weight, 1)[0]


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
    w = _weight_array(weight)
    k, s, d = _axes(w.shape[2:], stride, dilation)
    _check_cells(w.shape[0] * w.shape[1] * math.prod(s), f"the phase gains of stride {_collapse(s)}")
    dtype = np.result_type(w.dtype, np.float64) if w.dtype.kind in "biu" else w.dtype
    # Tap t is in phase (d*t) mod s of each axis: the taps, sorted by their flat phase, are summed run
    # by run, so the work is the weight's and the table's, not a pass per phase (prod(stride) of them).
    phase: np.ndarray = np.zeros((), dtype=np.int64)
    for kk, ss, dd in zip(k, s, d):
        phase = np.add.outer(phase * ss, (dd * np.arange(kk, dtype=np.int64)) % ss)  # (*k so far) flat phase
    phase = phase.ravel()  # (prod(k),)
    order = np.argsort(phase, kind="stable")  # taps by phase, each phase's in C order
    runs = np.flatnonzero(np.diff(phase[order], prepend=-1))  # where each phase's taps start
    taps = w.reshape(*w.shape[:2], -1).astype(dtype, copy=False)[:, :, order]  # (C_in, C_out/g, prod(k))
    gains = np.zeros((*w.shape[:2], math.prod(s)), dtype=dtype)  # (C_in, C_out/g, prod(s))
    gains[:, :, phase[order][runs]] = np.add.reduceat(taps, runs, axis=2)  # phases without taps stay 0
    return gains.reshape(*w.shape[:2], *s)  # (C_in, C_out/g, *s)


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
    value = real_number(value, "value")
    w, g = check_weight(weight, groups)
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
        pred = np.stack([r[ov.phase_index()] for r in self.response])  # (C_out, *o): each output's phase
        pred = pred.astype(np.result_type(self.response, float))
        pred[:, ~ov.interior] = np.nan
        return pred

    def ones_output(self) -> np.ndarray:
        """:func:`tconv.conv_transpose` of an all-ones input, shape ``(C_out, *output_size)`` (bias excluded)."""
        from .ops import conv_transpose_window

        g = self.overlap.geometry
        x = np.ones((self.weight.shape[0], *g.input_size))  # (C_in, *i)
        return conv_transpose_window(x, self.weight, None, g, self.groups)  # (C_out, *o)

    def check(self) -> float:
        """Run :func:`tconv.conv_transpose` on an all-ones input and compare the interior.

        Returns the largest absolute difference between the prediction and the
        operator's output over the interior positions.
        """
        y = self.ones_output()
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
    dilation: int | Sequence[int] = 1,
    *,
    groups: int = 1,
    input_size: int | Sequence[int] | None = None,
) -> WeightAnalysis:
    """Overlap, phase gains and the predicted checkerboard of given weights.

    Arguments in the order of :func:`overlap` and :func:`analyze` (``groups`` and
    ``input_size`` are keywords).

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
    w, g = check_weight(weight, groups)
    ov = overlap(w.shape[2:], stride, padding, output_padding, dilation, input_size=input_size)
    s, d = ov.geometry.stride, ov.geometry.dilation
    gains = phase_gains(w, s, d)
    response = constant_response(w, s, d, g)
    amplitude = checkerboard_amplitude(w, s, d, g)
    return WeightAnalysis(ov, w, g, gains, response, amplitude)


@dataclass(frozen=True)
class Analysis:
    """A configuration analysed: what ``tconv artifacts`` prints and draws.

    Attributes
    ----------
    overlap : Overlap
    weights : WeightAnalysis or None
        With given weights.
    padding, output_padding
        As the caller wrote them (the words and the pictures quote them).
    """

    overlap: Overlap
    weights: WeightAnalysis | None
    padding: PaddingArg
    output_padding: int | Sequence[int]


def analyze(
    kernel_size: int | Sequence[int] | None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    input_size: int | Sequence[int] | None = None,
    weight: np.ndarray | None = None,
    groups: int = 1,
) -> Analysis:
    """:func:`overlap` of a configuration, and :func:`analyze_weights` when ``weight`` is given.

    With ``weight`` (``(C_in, C_out/groups, *k)``) the kernel size is the weight's:
    ``kernel_size`` may be ``None``, and otherwise must be ``k`` (one int for every axis,
    or one per axis). ``tconv artifacts``, its words
    (:mod:`tconv.explain.artifacts_text`) and its picture all start here.

    Examples
    --------
    >>> import numpy as np
    >>> a = analyze(3, stride=2)
    >>> a.overlap.verdict, a.weights is None
    ('checkerboard', True)
    >>> a = analyze(None, stride=2, weight=np.ones((1, 1, 4)))
    >>> a.overlap.phase_taps, a.weights.amplitude
    (((2, 2),), array([0.]))
    """
    if weight is not None:
        if kernel_size is not None:
            k = _weight_array(weight).shape[2:]
            if positive_sizes(kernel_size, "kernel_size", len(k) if is_int(kernel_size) else None) != k:
                raise ValueError(
                    f"kernel_size={show(kernel_size)} differs from the kernel size {show(k)} of the weight of shape "
                    f"{show(np.shape(weight))}; pass kernel_size=None to take the weight's"
                )
        weights = analyze_weights(
            weight, stride, padding, output_padding, dilation, groups=groups, input_size=input_size
        )
        return Analysis(weights.overlap, weights, padding, output_padding)
    if kernel_size is None:
        raise ValueError("give kernel_size, or weight to take it from")
    ov = overlap(kernel_size, stride, padding, output_padding, dilation, input_size=input_size)
    return Analysis(ov, None, padding, output_padding)


# ---------------------------------------------------------------------------------------------
# Nearby even configurations


def _nearest(low: int, high: int, k: int, s: int, count: int) -> list[int]:
    """The (at most ``count``) ``m`` in ``[low, high]`` whose ``m*s`` is nearest to ``k``, in increasing order."""
    centre = min(max(k // s, low), high)
    window = range(max(low, centre - count), min(high, centre + count) + 1)
    return sorted(sorted(window, key=lambda m: abs(m * s - k))[:count])


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
    k, s, d = (
        positive_int(kernel_size, "kernel_size"),
        positive_int(stride, "stride"),
        positive_int(dilation, "dilation"),
    )
    p, op = non_negative_int(padding, "padding"), non_negative_int(output_padding, "output_padding")
    limit = non_negative_int(limit, "limit")
    target = effective_kernel_size(k, d) + op - 2 * p  # o - (i - 1)*s, the same for every i
    dilations = [1] + ([d] if d != 1 and math.gcd(d, s) == 1 else [])
    found: list[tuple[tuple[int, bool, int], dict]] = []
    for dd in dilations:
        # dd is coprime to s, so every phase is reached and the counts are equal exactly when s divides kk;
        # kk in [s, k + 2s], and k_eff(kk) > target - max(s, dd) for an output_padding below max(s, dd)
        lowest = max(1, -(-(target - max(s, dd) - 1) // dd) + 1)
        low, high = -(-max(s, lowest) // s), (k + 2 * s) // s  # the multiples m*s of the range
        for m in _nearest(low, high, k, s, 4 * (limit + 2)):
            kk = m * s
            if kk == k and dd == d:
                continue
            # the smallest output_padding that makes 2p = k_eff + oo - target non-negative and even
            k_eff = effective_kernel_size(kk, dd)
            oo = max(0, target - k_eff)
            oo += (k_eff + oo - target) % 2
            if oo < max(s, dd):
                alt = {"kernel_size": kk, "padding": (k_eff + oo - target) // 2, "output_padding": oo, "dilation": dd}
                found.append(((abs(kk - k), dd != d, oo), alt))
    found.sort(key=lambda item: item[0])
    return [alt for _, alt in found[:limit]]
