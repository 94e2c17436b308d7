"""The overlap analysis of :mod:`tconv.artifacts` in words: what ``tconv artifacts`` prints.

:func:`advice` says why the overlap of a configuration is even or not (the
checkerboard of Odena, Dumoulin and Olah, "Deconvolution and Checkerboard
Artifacts", Distill, 2016, https://distill.pub/2016/deconv-checkerboard/, or the
holes of a dilation that shares a factor with the stride) and what would make it
even; :func:`report` adds the overlap map, the tap counts per phase and, for given
weights, their predicted response to a constant input, checked against
:func:`tconv.conv_transpose`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._validate import int_tuple
from ..artifacts import Analysis, even_alternatives
from ..geometry import PaddingArg, parse_padding
from ._format import collapse, grid_text

__all__ = ["advice", "report"]


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


def _dilation_text(alt: dict) -> str:
    return f", dilation={alt['dilation']}" if alt["dilation"] != 1 else ""


def _even_nearby(
    axes: list[int],
    k: tuple[int, ...],
    s: tuple[int, ...],
    d: tuple[int, ...],
    padding: PaddingArg,
    output_padding: int | Sequence[int],
) -> list[tuple[int, str]]:
    """Per uneven axis, the :func:`~tconv.artifacts.even_alternatives` that keep its output size, in words."""
    pad = parse_padding(padding, len(k))
    ops = int_tuple(output_padding, "output_padding", len(k))
    found = []
    for a in axes:
        if pad == "same":
            alts = even_alternatives(k[a], s[a], 0, 0, d[a])
            text = ", ".join(f"kernel_size={alt['kernel_size']}" + _dilation_text(alt) for alt in alts)
            if alts:
                found.append((a, f"even nearby (padding='same' keeps the size i*stride): {text}."))
        elif isinstance(pad, tuple) and all(b == e for b, e in pad):  # symmetric
            alts = even_alternatives(k[a], s[a], pad[a][0], ops[a], d[a])
            text = "; ".join(
                f"kernel_size={alt['kernel_size']}, padding={alt['padding']}, output_padding="
                f"{alt['output_padding']}" + _dilation_text(alt)
                for alt in alts
            )
            if alts:
                found.append((a, f"even nearby with the same output size: {text}."))
    return found


def advice(analysis: Analysis) -> list[str]:
    """Why the overlap is uneven, and which nearby configurations make it even, in words.

    Parameters
    ----------
    analysis : tconv.artifacts.Analysis
        Of the configuration (:func:`tconv.artifacts.analyze`); only its tap counts
        and padding arguments are used.

    Returns
    -------
    list of str
        One paragraph per point; empty reasons are left out. The init advice
        (ICNR, bilinear) names the techniques; :mod:`tconv` does not import them here.

    Examples
    --------
    >>> from tconv.artifacts import analyze
    >>> for line in advice(analyze(4, stride=2, padding=1)):
    ...     print(line)
    Even: every output away from the borders receives the same number of taps (2 per axis), because the
    stride 2 divides the kernel size 4 and is coprime to the dilation 1. A constant input can still give a
    checkerboard if the weights' phase gains differ (see analyze_weights).
    """
    ov = analysis.overlap
    g = ov.geometry
    k, s, d = g.kernel_size, g.stride, g.dilation
    uneven = [a for a in range(g.ndim) if len(set(ov.phase_taps[a])) > 1]
    if not uneven:
        lines = [
            f"Even: every output away from the borders receives the same number of taps "
            f"({collapse([taps[0] for taps in ov.phase_taps])} per axis), because the stride {collapse(s)} divides "
            f"the kernel size {collapse(k)} and is coprime to the dilation {collapse(d)}. A constant input can "
            f"still give a checkerboard if the weights' phase gains differ (see analyze_weights)."
        ]
        return lines
    per_axis: list[tuple[int, str]] = []  # (axis, or -1 for all axes; the text)
    for a in uneven:
        taps = list(ov.phase_taps[a])
        if min(taps) == 0:
            gcd = math.gcd(d[a], s[a])
            why = (
                f"holes. With dilation {d[a]} the taps sit {d[a]} cells apart, and gcd(dilation, "
                f"stride) = gcd({d[a]}, {s[a]}) = {gcd} > 1, so they only reach the phases that are "
                f"multiples of {gcd}: taps per phase {_listed(taps)}. The other phases receive no input at all, "
                f"only the bias."
            )
        else:
            why = (
                f"checkerboard. The kernel size {k[a]} is not divisible by the stride {s[a]}, so "
                f"neighbouring stamps of the kernel overlap unevenly: taps per phase {_listed(taps)} (Odena, "
                f"Dumoulin and Olah, Distill 2016)."
            )
        per_axis.append((a, why))
    if g.ndim > 1:
        per_axis.append(
            (
                -1,
                "The axes multiply: per-phase tap counts "
                + (str(ov.phase_counts.tolist()) if ov.phase_counts.size <= MAX_LISTED else "(see above)")
                + f", uniformity (fewest/most) {ov.uniformity:.3g}.",
            )
        )
    per_axis += _even_nearby(uneven, k, s, d, analysis.padding, analysis.output_padding)
    lines = _merge_axes(per_axis, g.ndim)
    lines.append(
        f"Resize, then convolve: up-sample by {collapse(s)} with nearest-neighbour repetition "
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


def _num(v: object) -> str:
    if isinstance(v, (np.integer, int)):
        return str(int(v))
    f = float(v)  # type: ignore[arg-type]
    if np.isnan(f):
        return "."
    return str(int(f)) if f == int(f) and abs(f) < 1e12 else f"{f:.3g}"


#: The report prints grids of at most this many cells and lists of at most MAX_LISTED entries; larger
#: ones are summarized (``--json`` has them whole), so the text grows with what a person reads.
MAX_GRID_CELLS = 2000
MAX_LISTED = 64


def _listed(values: Sequence[int]) -> str:
    """``[2, 1]``, or the first :data:`MAX_LISTED` values and how many were left out."""
    if len(values) <= MAX_LISTED:
        return str(list(values))
    return f"[{', '.join(map(str, values[:MAX_LISTED]))}, ... ({len(values) - MAX_LISTED} more)]"


def _grid(a: np.ndarray, indent: str = "  ", interior: np.ndarray | None = None) -> str:
    """A number grid; with ``interior``, a ``*`` after each border cell. Too large: one line, its size and range."""
    if a.size > MAX_GRID_CELLS:
        size = "x".join(map(str, a.shape)) + f" = {a.size}" if a.ndim > 1 else f"{a.size}"
        return f"{indent}({size} values from {_num(np.min(a))} to {_num(np.max(a))}: too many to print)"
    marks = None if interior is None else (interior.reshape(1, -1) if interior.ndim == 1 else interior)
    return grid_text(a, _num, lambda text, r, c: text + ("*" if marks is not None and not marks[r, c] else " "), indent)


def _rows(a: np.ndarray) -> np.ndarray:
    """An array of any rank as at most 2-d rows (the leading axes flattened)."""
    return a if a.ndim <= 2 else a.reshape(-1, a.shape[-1])


def report(analysis: Analysis) -> str:
    """The text printed by ``tconv artifacts``: the map, the phase counts, the verdict, advice.

    With weights (``analysis.weights``), also their predicted response to a
    constant input and the check of that prediction against
    :func:`tconv.conv_transpose`.

    Examples
    --------
    >>> from tconv.artifacts import analyze
    >>> print(report(analyze(3, stride=2, input_size=4)))
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
    ov, weights = analysis.overlap, analysis.weights
    padding, output_padding = analysis.padding, analysis.output_padding
    g = ov.geometry
    lines = [
        f"Overlap of a transposed convolution: kernel_size {collapse(g.kernel_size)}, stride {collapse(g.stride)}, "
        f"dilation {collapse(g.dilation)}, padding {padding!r}, output_padding {output_padding!r}"
    ]
    if g.ndim == 1:
        lines.append(f"taps per phase (phase r = full-output position mod stride): {_listed(ov.phase_taps[0])}")
    else:
        for a in range(g.ndim):
            lines.append(f"taps per phase, axis {a}: {_listed(ov.phase_taps[a])}")
        lines.append("taps per phase in all axes (the axes multiply):")
        lines.append(_grid(_rows(ov.phase_counts)))
    lines.append(f"uniformity (fewest / most taps of any phase): {ov.uniformity:.3g}")
    lines.append(f"verdict: {ov.verdict.upper()}")
    if ov.hole_phases:
        holes = ov.hole_phases
        listed = [p[0] if len(p) == 1 else p for p in holes[:MAX_LISTED]]
        more = f" and {len(holes) - MAX_LISTED} more" if len(holes) > MAX_LISTED else ""
        lines.append(f"holes: phases {listed}{more} receive no tap")
    lines.append("")
    size = "x".join(map(str, g.input_size))
    osize = "x".join(map(str, g.output_size))
    if g.ndim <= 2:
        lines.append(
            f"overlap map for input size {size} (output size {osize}; * marks borders, where fewer taps arrive):"
        )
        lines.append(_grid(ov.counts, interior=ov.interior))
    else:
        lines.append(f"overlap map for input size {size} (output size {osize}), first slice of the leading axes:")
        lead = (0,) * (g.ndim - 2)
        lines.append(_grid(ov.counts[lead], interior=ov.interior[lead]))
    border_holes = int(ov.holes.sum() - (ov.holes & ov.interior).sum())
    if border_holes:
        lines.append(f"{border_holes} border position(s) receive no tap (zeros outside the full output, or holes).")
    if weights is not None:
        w = weights.weight
        lines += ["", f"weights of shape {w.shape}, groups {weights.groups}:"]
        lines.append("output of an all-ones input away from the borders, per output channel and phase (bias excluded):")
        shown = min(4, weights.response.shape[0])
        for co in range(shown):
            lines.append(f"  channel {co}:")
            lines.append(_grid(_rows(weights.response[co]), indent="    "))
        if weights.response.shape[0] > shown:
            lines.append(f"  ... {weights.response.shape[0] - shown} more channels")
        amp = weights.amplitude
        lines.append(
            f"predicted checkerboard amplitude (peak-to-peak over phases): max {_num(np.max(np.abs(amp)))}, "
            f"mean {_num(np.mean(np.abs(amp)))} over {amp.shape[0]} output channel(s)"
        )
        diff = weights.check()
        lines.append(
            f"checked: tconv.conv_transpose of an all-ones input gives these values on the interior "
            f"(max |difference| = {diff:.3g})"
        )
    lines += ["", "advice:"]
    for paragraph in advice(analysis):
        lines.append("  - " + paragraph)
    return "\n".join(lines)
