"""Step-by-step explanations of a transposed convolution, as data and as terminal text.

:func:`scatter_steps` replays the scatter view one input element at a time: each
element multiplies the whole kernel and adds it into the full output at
``stride*j``. :func:`explain_text` renders that replay, the equivalent
zero-insertion view (where the kernel appears flipped), the matrix view and a
check that every registered algorithm gives the same result. Every number shown
comes from the library's computation; the replay is checked against
:func:`tconv.conv_transpose` before anything is printed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._algorithms import algorithms
from .._algorithms import zero_insert as _zero_insert
from .._validate import int_tuple, non_negative_int, numeric_array, positive_int
from ..geometry import (
    Geometry,
    PaddingArg,
    check_geometry,
    conv_transpose_geometry,
    effective_kernel_size,
    tap_range,
)
from ..ops import conv_transpose
from ._format import grid_text

__all__ = [
    "TENSORFLOW_EXAMPLE",
    "Step",
    "contributions",
    "explain_text",
    "output_window",
    "scatter_steps",
    "window_diagram",
    "zero_insert",
]

#: TensorFlow's worked example of ``tf.nn.conv2d_transpose``: a 2x2 input,
#: a 3x3 kernel, stride 2, VALID padding; TensorFlow returns 67 first.
TENSORFLOW_EXAMPLE: dict[str, Any] = {
    "input": np.array([[-67.0, -77.0], [-117.0, -127.0]]),
    "weight": np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0], [-7.0, 8.0, -9.0]]),
    "stride": 2,
    "padding": 0,
    "output_padding": 0,
    "dilation": 1,
}


@dataclass(frozen=True)
class Step:
    """One input element's contribution in the scatter view (single channel).

    Attributes
    ----------
    index : tuple of int
        Position ``j`` of the input element.
    value : float
        ``x[j]``.
    origin : tuple of int
        Where the kernel's first tap lands in the full output: ``stride*j``.
    stamp : ndarray
        ``value * w`` spread over the full output (zeros elsewhere); with dilation
        the taps are ``dilation`` cells apart.
    total : ndarray
        The full output after this step.
    """

    index: tuple[int, ...]
    value: float
    origin: tuple[int, ...]
    stamp: np.ndarray
    total: np.ndarray


def scatter_steps(x: np.ndarray, w: np.ndarray, geometry: Geometry) -> Iterator[Step]:
    """Replay the scatter view on the *full* (uncropped) output, one input element per step.

    Parameters
    ----------
    x : ndarray, shape geometry.input_size
        A single-channel input.
    w : ndarray, shape geometry.kernel_size
        A single-channel kernel.
    geometry : Geometry

    Examples
    --------
    >>> import numpy as np
    >>> from tconv.geometry import conv_transpose_geometry
    >>> g = conv_transpose_geometry(2, 3, stride=2)
    >>> steps = list(scatter_steps(np.array([1., 10.]), np.array([1., 2., 3.]), g))
    >>> steps[0].stamp, steps[1].origin
    (array([1., 2., 3., 0., 0.]), (2,))
    >>> steps[-1].total
    array([ 1.,  2., 13., 20., 30.])
    """
    x, w, geometry = _single_channel(x, w, check_geometry(geometry))
    total = np.zeros(geometry.full_size, dtype=np.result_type(x, w, float))
    for j in itertools.product(*(range(i) for i in geometry.input_size)):
        origin = tuple(s * jj for s, jj in zip(geometry.stride, j))
        stamp = np.zeros_like(total)
        window = tuple(
            slice(o, o + ke, d) for o, ke, d in zip(origin, geometry.effective_kernel_size, geometry.dilation)
        )
        stamp[window] = x[j] * w
        total = total + stamp
        yield Step(j, x[j].item(), origin, stamp, total)


def output_window(full: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The output: the window ``[crop_begin, crop_begin + output_size)`` of a full output, zeros outside it.

    ``full`` has shape ``geometry.full_size`` (the last step's ``total`` of
    :func:`scatter_steps`).

    Examples
    --------
    >>> import numpy as np
    >>> from tconv.geometry import conv_transpose_geometry
    >>> output_window(np.array([1., 2., 13., 20., 30.]), conv_transpose_geometry(2, 3, stride=2, padding=1))
    array([ 2., 13., 20.])
    """
    geometry = check_geometry(geometry)
    full = numeric_array(full, "full")
    if full.shape != geometry.full_size:
        raise ValueError(f"full must have the geometry's full size {geometry.full_size}, got shape {full.shape}")
    out = np.zeros(geometry.output_size, dtype=full.dtype)
    begin, size, full_size = geometry.crop_begin, geometry.output_size, geometry.full_size
    src = tuple(slice(max(b, 0), min(b + o, f)) for b, o, f in zip(begin, size, full_size))
    if all(sl.start < sl.stop for sl in src):
        dst = tuple(slice(sl.start - b, sl.stop - b) for sl, b in zip(src, begin))
        out[dst] = full[src]
    return out


def contributions(geometry: Geometry, position: Sequence[int]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The ``(input element j, kernel tap t)`` pairs that sum into one output ``position``.

    Per axis, tap ``t`` carries input ``j`` to output ``s*j + d*t - crop_begin``
    (:func:`tconv.geometry.tap_range` finds the ``j`` for one output cell).

    Examples
    --------
    TensorFlow's worked example: the first output reads one input and one tap, the
    centre reads all four inputs.

    >>> from tconv.geometry import conv_transpose_geometry
    >>> g = conv_transpose_geometry((2, 2), 3, stride=2)
    >>> contributions(g, (0, 0))
    [((0, 0), (0, 0))]
    >>> [j for j, _ in contributions(g, (2, 2))]
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    g = check_geometry(geometry)
    position = int_tuple(position, "position", g.ndim)
    if not all(0 <= o < size for o, size in zip(position, g.output_size)):
        raise ValueError(f"position must be inside the output {g.output_size}, got {position}")
    found = []
    for t in itertools.product(*map(range, g.kernel_size)):
        # per axis: the input that tap t carries to `position`, or an empty range
        ranges = [
            tap_range(d * tt - b, s, i, o, o + 1)
            for tt, s, d, b, i, o in zip(t, g.stride, g.dilation, g.crop_begin, g.input_size, position)
        ]
        if all(first < stop for first, stop in ranges):
            found.append((tuple(first for first, _ in ranges), t))
    return sorted(found)


#: Grids of at most this many cells are printed; a larger array is summarized in one line (its size and
#: range), so that the text grows with what a person can read, not with the sizes.
MAX_GRID_CELLS = 400


def _scatter_lines(x: np.ndarray, w: np.ndarray, g: Geometry, max_steps: int | None) -> list[str]:
    """The first ``max_steps`` scatter steps (all if None), streamed from :func:`scatter_steps` and checked.

    Only the steps shown are replayed, one at a time (a step holds two full-output arrays). Their last
    running sum is checked against :func:`tconv.conv_transpose` of the input with only those elements
    kept. When the full output is too large to print, the steps are listed without their running sums
    (and nothing is replayed).
    """
    count = math.prod(g.input_size)
    shown = count if max_steps is None else min(max_steps, count)
    lines = []
    if math.prod(g.full_size) > MAX_GRID_CELLS:
        lines.append(f"   (the full output has {math.prod(g.full_size)} cells: the steps without their running sums)")
        for n, j in enumerate(itertools.islice(np.ndindex(*g.input_size), shown), 1):
            origin = [s * jj for s, jj in zip(g.stride, j)]
            value = _num(x[j])
            lines.append(f"   step {n}: x{list(j)} = {value} stamps {value} * w at {origin}")
    else:
        last = None
        for n, step in enumerate(itertools.islice(scatter_steps(x, w, g), shown), 1):
            region = {
                tuple(o + dd * t for o, dd, t in zip(step.origin, g.dilation, tap))
                for tap in itertools.product(*(range(kk) for kk in g.kernel_size))
            }
            value = _num(step.value)
            lines.append(
                f"   step {n}: x{list(step.index)} = {value} stamps {value} * w at {list(step.origin)}; running sum:"
            )
            lines.append(_grid(step.total, region, indent="     "))
            last = step.total
        if last is not None:
            first = np.zeros_like(x)
            first.flat[:shown] = x.flat[:shown]  # the elements replayed so far (C order, as the steps go)
            full = conv_transpose(first[None], w[None, None], None, g.stride, 0, 0, 1, g.dilation)[0]
            if not np.allclose(last, full):
                raise RuntimeError("the scatter replay disagrees with conv_transpose; please report this bug")
    if shown < count:
        lines.append(f"   ... {count - shown} more steps (--steps all shows them)")
    return lines


def zero_insert(x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The input of the zero-insertion view: ``s - 1`` zeros between the elements, then padded.

    ``x`` is ``(..., *geometry.input_size)``; the result has size ``output_size + d*(k - 1)``
    per axis, which a stride-1 correlation with the dilated, flipped kernel turns into the
    output (the ``"dilate"`` algorithm's first step, with its arguments checked).

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> zero_insert(np.array([1., 2.]), conv_transpose_geometry(2, 3, stride=2))
    array([0., 0., 1., 0., 2., 0., 0.])
    """
    g = check_geometry(geometry)
    x = numeric_array(x, "x")
    if x.shape[max(x.ndim - g.ndim, 0) :] != g.input_size:
        raise ValueError(f"x must end with the geometry's input size {g.input_size}, got shape {x.shape}")
    return _zero_insert(x, g)


def _single_channel(x: Any, w: Any, g: Geometry) -> tuple[np.ndarray, np.ndarray, Geometry]:
    """``x`` and ``w`` as numeric arrays of the geometry's input and kernel sizes (one channel)."""
    x, w = numeric_array(x, "x"), numeric_array(w, "w")
    if x.shape != g.input_size or w.shape != g.kernel_size:
        raise ValueError(
            f"x and w must have the geometry's input size {g.input_size} and kernel size {g.kernel_size}, "
            f"got shapes {x.shape} and {w.shape}"
        )
    return x, w, g


def _grid(a: np.ndarray, mark: set[tuple[int, ...]] | None = None, indent: str = "  ") -> str:
    """Right-aligned rows of a 1-d or 2-d array; ``mark`` brackets some cells.

    An array of more than :data:`MAX_GRID_CELLS` cells is one line: its size and range.
    """
    if a.size > MAX_GRID_CELLS:
        low, high = (_num(np.min(a)), _num(np.max(a))) if a.size else ("-", "-")
        size = f"{_size(a.shape)} = {a.size}" if a.ndim > 1 else f"{a.size}"
        return f"{indent}({size} values from {low} to {high}: too many to print)"

    def decorate(text: str, r: int, c: int) -> str:
        key = (c,) if a.ndim == 1 else (r, c)
        return f"[{text}]" if mark and key in mark else f"{text} "

    return grid_text(a, _num, decorate, indent)


def _num(v: object) -> str:
    v = float(v)  # type: ignore[arg-type]
    return str(int(v)) if v == int(v) and abs(v) < 1e15 else f"{v:.4g}"


def _size(t: Sequence[int]) -> str:
    return "x".join(str(v) for v in t)


def explain_text(
    input: np.ndarray | None = None,
    weight: np.ndarray | None = None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    max_steps: int | None = 12,
) -> str:
    """The terminal explanation printed by ``tconv explain``.

    Parameters
    ----------
    input, weight : ndarray, optional
        A single-channel 1-d or 2-d input and kernel; both ``None`` for TensorFlow's
        worked example (2x2 input, 3x3 kernel, stride 2: the first output is 67).
    stride, padding, output_padding, dilation
        As for :func:`tconv.conv_transpose`.
    max_steps : int or None
        Show at most this many scatter steps (``None``: all).

    Examples
    --------
    >>> text = explain_text()
    >>> "67" in text and "all algorithms agree" in text
    True
    """
    if input is None and weight is None:
        ex = TENSORFLOW_EXAMPLE
        input, weight = ex["input"], ex["weight"]
        stride, padding, output_padding, dilation = ex["stride"], ex["padding"], ex["output_padding"], ex["dilation"]
        is_tensorflow_example = True
        title = (
            "TensorFlow's conv2d_transpose worked example: 2x2 input, 3x3 kernel, stride 2, VALID.\n"
            "TensorFlow returns 67 as the first output, not -67 * -9 = 603. Here is why."
        )
    elif input is None or weight is None:
        raise ValueError("explain_text needs both input and weight, or neither (TensorFlow's worked example)")
    else:
        is_tensorflow_example = False
        title = "Transposed convolution, step by step."
    x = numeric_array(input, "input")
    w = numeric_array(weight, "weight")
    if max_steps is not None:
        max_steps = non_negative_int(max_steps, "max_steps")
    if x.ndim not in (1, 2) or w.ndim != x.ndim:
        raise ValueError(
            f"explain_text shows 1-d or 2-d single-channel examples: input and weight must both be "
            f"1-d or both 2-d, got shapes {x.shape} and {w.shape}"
        )
    g = conv_transpose_geometry(x.shape, w.shape, stride, padding, output_padding, dilation)
    s, d, k, i = g.stride, g.dilation, g.kernel_size, g.input_size
    y = conv_transpose(x[None], w[None, None], None, s, padding, output_padding, 1, d)[0]

    out = [title, ""]
    out += [f"input x ({_size(i)}):", _grid(x), "", f"kernel w ({_size(k)}):", _grid(w), ""]
    out.append(f"stride {s}, padding {padding!r}, output_padding {output_padding!r}, dilation {d}")
    for axis in range(g.ndim):
        name = f"axis {axis}: " if g.ndim > 1 else ""
        out.append(
            f"  {name}full output (i-1)*s + d*(k-1) + 1 = ({i[axis]}-1)*{s[axis]} + {d[axis]}*({k[axis]}-1) + 1"
            f" = {g.full_size[axis]}; window starts at {g.crop_begin[axis]}, output size {g.output_size[axis]}"
        )
    out.append("")

    out.append("1. Scatter view: every input element multiplies the whole kernel and adds it")
    out.append(f"   into the full output, its first tap at stride*j (taps dilation = {d} apart).")
    out += _scatter_lines(x, w, g, max_steps)
    if g.output_size != g.full_size or any(g.crop_begin):
        window = [(b, b + o) for b, o in zip(g.crop_begin, g.output_size)]
        out.append(f"   the output is the window {window} of the full output (zeros outside it).")
    out += ["", f"result ({_size(g.output_size)}):", _grid(y), ""]

    first_terms = contributions(g, (0,) * g.ndim)
    terms = " + ".join(f"x{list(j)}*w{list(t)}" for j, t in first_terms) or "nothing (only zeros)"
    values = " + ".join(f"{_num(x[j])}*{_num(w[t])}" for j, t in first_terms)
    out.append(f"The first output is {terms}" + (f" = {values} = {_num(y[(0,) * g.ndim])}." if first_terms else "."))

    pad = g.zero_insertion_padding
    x_pad = zero_insert(x, g)
    first_window = {tuple(dd * t for dd, t in zip(d, tap)) for tap in itertools.product(*(range(kk) for kk in k))}
    w_flip = np.flip(w)
    products = [
        (x_pad[tuple(dd * t for dd, t in zip(d, tap))], w_flip[tap])
        for tap in itertools.product(*(range(kk) for kk in k))
    ]
    nonzero = [(a, b) for a, b in products if a != 0]
    first = " + ".join(f"{_num(a)}*{_num(b)}" for a, b in nonzero) or "0"
    out += [
        "",
        "2. Zero-insertion view: put stride-1 zeros between the input elements, pad by",
        f"   d*(k-1) - padding = {pad} at the start (negative: crop) and slide the kernel",
        "   over it as an ordinary stride-1 convolution. For the same result the kernel",
        "   must be flipped: that is why it 'looks flipped' in this view.",
        f"   zero-inserted, padded input ({_size(x_pad.shape)}), the window of the first output in brackets:",
        _grid(x_pad, first_window, indent="     "),
        "   flipped kernel:",
        _grid(w_flip, indent="     "),
        f"   first output = sum(window * flipped kernel) = {first} = {_num(y[(0,) * g.ndim])}",
    ]
    if is_tensorflow_example:
        out += [
            "   The often-expected 603 = -67 * -9 pairs x[0,0] with the unflipped kernel's last tap:",
            "   that is the zero-insertion view with the flip forgotten.",
        ]
    out += [
        "",
        "3. Matrix view: flatten the output; the transposed convolution is y = Cᵀ x, where",
        f"   C ({math.prod(i)}x{math.prod(g.output_size)}) is the matrix of the forward convolution"
        " with the same kernel",
        f"   (tconv.conv_matrix); Cᵀ has {math.prod(g.output_size)} rows, one per output element.",
        "",
        "Every algorithm, same result:",
    ]
    worst = 0.0
    for name in algorithms():
        other = conv_transpose(x[None], w[None, None], None, s, padding, output_padding, 1, d, algorithm=name)[0]
        diff = float(np.max(np.abs(other - y))) if y.size else 0.0
        worst = max(worst, diff)
        out.append(f"   {name:<10} max |difference| = {diff:.3g}")
    out.append(
        "   all algorithms agree" if worst <= 1e-9 * max(1.0, float(np.max(np.abs(y)))) else "   ALGORITHMS DISAGREE"
    )
    return "\n".join(out)


#: The widest diagram :func:`window_diagram` draws (columns: cells of the full output; rows: options).
MAX_DIAGRAM_CELLS = 200


def window_diagram(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    dilation: int = 1,
    options: Sequence[dict] = ({"padding": 0},),
) -> str:
    """Draw the window that each padding option takes of the full output (1-d).

    Each row shows which cells of the full output (numbered by their position in
    it) a call returns; ``·`` marks a zero cell outside the full output.

    Parameters
    ----------
    input_size, kernel_size, stride, dilation : int
    options : sequence of dict
        Keyword arguments of :func:`tconv.conv_transpose` (``padding``,
        ``output_padding``, ``output_size``), one row each.

    Examples
    --------
    >>> print(window_diagram(2, 3, stride=2, options=[{"padding": 1}, {"padding": "same"}]))
    full output           0  1  2  3  4
    padding=1                1  2  3        size 3
    padding='same'        0  1  2  3        size 4
    """
    sizes = {"input_size": input_size, "kernel_size": kernel_size, "stride": stride, "dilation": dilation}
    input_size, kernel_size, stride, dilation = (positive_int(value, name) for name, value in sizes.items())
    if isinstance(options, (str, bytes, Mapping)) or not isinstance(options, Sequence) or not options:
        raise TypeError(f"options must be a non-empty sequence of dicts of keyword arguments, got {options!r}")
    for opts in options:
        if not isinstance(opts, Mapping) or not set(opts) <= {"padding", "output_padding", "output_size"}:
            raise TypeError(
                f"options must hold dicts of padding, output_padding and output_size, got {opts!r} in {options!r}"
            )
    span = (input_size - 1) * stride + effective_kernel_size(kernel_size, dilation)
    if span > MAX_DIAGRAM_CELLS or len(options) > MAX_DIAGRAM_CELLS:
        raise ValueError(
            f"window_diagram draws one column per cell of the full output, at most {MAX_DIAGRAM_CELLS}: got "
            f"{span} (input_size {input_size}, kernel_size {kernel_size}, stride {stride}, dilation {dilation}) "
            f"and {len(options)} options"
        )
    rows = []
    for opts in options:
        g = conv_transpose_geometry(
            input_size,
            kernel_size,
            stride,
            opts.get("padding", 0),
            opts.get("output_padding", 0),
            dilation,
            output_size=opts.get("output_size"),
        )
        label = ", ".join(f"{key}={value!r}" for key, value in opts.items())
        rows.append((label, g.crop_begin[0], g.output_size[0]))
    full = conv_transpose_geometry(input_size, kernel_size, stride, 0, 0, dilation).full_size[0]
    first = min([0] + [b for _, b, _ in rows])
    last = max([full] + [b + o for _, b, o in rows])
    if last - first > MAX_DIAGRAM_CELLS:
        raise ValueError(
            f"window_diagram draws one column per cell, at most {MAX_DIAGRAM_CELLS}: the windows of options "
            f"(padding, output_padding, output_size) {list(options)} span {last - first}"
        )
    width = max(len("full output"), *(len(label) for label, _, _ in rows)) + 2

    def cells(begin: int, size: int) -> str:
        text = ""
        for pos in range(first, last):
            inside = begin <= pos < begin + size
            text += (f"{pos:>3}" if 0 <= pos < full else "  ·") if inside else "   "
        return text

    lines = ["full output".ljust(width) + cells(0, full)]
    for label, begin, size in rows:
        lines.append((label.ljust(width) + cells(begin, size)).ljust(width + 3 * (last - first)) + f"     size {size}")
    return "\n".join(line.rstrip() for line in lines)
