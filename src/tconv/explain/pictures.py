"""Pictures and animations of a transposed convolution, drawn with matplotlib (``tconv[viz]``).

Four views, for any stride, padding, output_padding, dilation and groups of a 1-d
or 2-d problem:

- :func:`scatter_figure`: each input element stamps the scaled kernel into the full
  output, accumulating step by step; the output is a window of the full output
  (:func:`scatter_animation` plays the steps as a GIF);
- :func:`zero_insertion_figure`: the same output as an ordinary convolution of the
  zero-inserted, padded input with the **flipped** kernel, for one output element
  (:func:`zero_insertion_animation` slides the kernel over every output);
- :func:`matrix_figure`: ``C^T`` as a heat-map, with the row of one output element
  (the inputs and taps that sum into it) and the column of one input element
  (its stamp);
- :func:`overlap_figure`: the overlap map and per-phase tap counts of
  :mod:`tconv.artifacts`, and with weights the real response to a constant input.

Every number drawn comes from the library's own computation
(:func:`tconv.explain.scatter_steps`, :func:`tconv.conv_transpose`,
:func:`tconv.conv_transpose_matrix`, :mod:`tconv.artifacts`), and each view checks
what it draws against :func:`tconv.conv_transpose` before drawing it.

Matplotlib is imported only when a picture is drawn, and only its object-oriented
API with the Agg canvas is used (no ``pyplot``, no global state, no display).

Inputs are ``x`` of shape ``(C_in, *i)`` and ``w`` of shape
``(C_in, C_out/groups, *k)`` (PyTorch's layout), or a single channel: ``x`` of
shape ``i`` with ``w`` of shape ``k``.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..geometry import Geometry, PaddingArg, conv_transpose_geometry
from ..ops import conv_transpose

__all__ = [
    "explain_figure",
    "matrix_figure",
    "overlap_figure",
    "save_animation",
    "save_figure",
    "scatter_animation",
    "scatter_figure",
    "zero_insertion_animation",
    "zero_insertion_figure",
]

CELL = 0.42  # inches per grid cell
DPI = 80
INPUT_COLOR = "#1f77b4"
TAP_COLOR = "#d62728"
WINDOW_COLOR = "#2ca02c"


# ---------------------------------------------------------------------------------------------
# The problem and the numbers (no matplotlib here)


@dataclass(frozen=True)
class _Problem:
    x: np.ndarray  # (C_in, *i)
    w: np.ndarray  # (C_in, C_out/G, *k)
    geometry: Geometry
    groups: int
    padding: Any
    output_padding: Any
    y: np.ndarray  # (C_out, *o): tconv.conv_transpose
    channel: int  # the output channel shown

    @property
    def c_in_g(self) -> int:
        return self.x.shape[0] // self.groups

    @property
    def group(self) -> int:
        return self.channel // self.w.shape[1]

    @property
    def channel_in_group(self) -> int:
        return self.channel % self.w.shape[1]

    @property
    def in_channels(self) -> list[int]:
        """The input channels that feed the shown output channel (its group's)."""
        return list(range(self.group * self.c_in_g, (self.group + 1) * self.c_in_g))

    def describe(self) -> str:
        g = self.geometry
        one = lambda v: v[0] if len(set(v)) == 1 else v  # noqa: E731
        text = (
            f"input {'x'.join(map(str, g.input_size))}, kernel {'x'.join(map(str, g.kernel_size))}, "
            f"stride {one(g.stride)}, padding {self.padding!r}, output_padding {self.output_padding!r}, "
            f"dilation {one(g.dilation)}"
        )
        if self.groups > 1 or self.x.shape[0] > 1 or self.y.shape[0] > 1:
            text += f", channels {self.x.shape[0]}->{self.y.shape[0]}, groups {self.groups}"
        return text


def _problem(
    x: Any,
    w: Any,
    stride: Any,
    padding: PaddingArg,
    output_padding: Any,
    groups: int,
    dilation: Any,
    channel: int = 0,
) -> _Problem:
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if w.ndim == x.ndim and x.ndim in (1, 2):  # one channel: x (*i), w (*k)
        x, w = x[None], w[None, None]
    if w.ndim not in (3, 4) or x.ndim != w.ndim - 1:
        raise ValueError(
            "the pictures show 1-d or 2-d problems: x of shape (C_in, *i) with w of shape "
            f"(C_in, C_out/groups, *k), or x of shape i with w of shape k; got shapes {x.shape} and {w.shape}"
        )
    y = conv_transpose(x, w, None, stride, padding, output_padding, groups, dilation)  # (C_out, *o)
    if not 0 <= channel < y.shape[0]:
        raise ValueError(f"channel must be an output channel in [0, {y.shape[0]}), got {channel}")
    g = conv_transpose_geometry(x.shape[1:], w.shape[2:], stride, padding, output_padding, dilation)
    return _Problem(x, w, g, groups, padding, output_padding, y, channel)


def _window_of(full: np.ndarray, g: Geometry) -> np.ndarray:
    """The output window ``[crop_begin, crop_begin + output_size)`` of a full output, zeros outside."""
    out = np.zeros(g.output_size, dtype=full.dtype)
    src = tuple(slice(max(b, 0), min(b + o, f)) for b, o, f in zip(g.crop_begin, g.output_size, g.full_size))
    if all(s.start < s.stop for s in src):
        dst = tuple(slice(s.start - b, s.stop - b) for s, b in zip(src, g.crop_begin))
        out[dst] = full[src]
    return out


@dataclass(frozen=True)
class _Frame:
    channel: int  # input channel
    index: tuple[int, ...]  # input element
    value: float
    origin: tuple[int, ...]
    stamp: np.ndarray  # (*full)
    total: np.ndarray  # (*full), all channels so far


def _replay(p: _Problem) -> list[_Frame]:
    """The scatter view of the shown output channel, one input element per frame, checked."""
    from . import scatter_steps

    g = p.geometry
    frames = []
    done = np.zeros(g.full_size)
    for ci in p.in_channels:
        last = None
        for step in scatter_steps(p.x[ci], p.w[ci, p.channel_in_group], g):
            frames.append(_Frame(ci, step.index, step.value, step.origin, step.stamp, done + step.total))
            last = step.total
        if last is not None:
            done = done + last
    if not np.allclose(_window_of(done, g), p.y[p.channel]):
        raise RuntimeError("the scatter replay disagrees with conv_transpose; please report this bug")
    return frames


def _contributions(p: _Problem, position: tuple[int, ...]) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """``(ci, j, t)`` of every input element and tap that sum into output ``position`` of the shown channel."""
    g = p.geometry
    out = []
    for ci in p.in_channels:
        for t in itertools.product(*(range(k) for k in g.kernel_size)):
            j = []
            for o, tt, s, d, b, i in zip(position, t, g.stride, g.dilation, g.crop_begin, g.input_size):
                rest = o + b - d * tt
                if rest % s or not 0 <= rest // s < i:
                    break
                j.append(rest // s)
            else:
                out.append((ci, tuple(j), t))
    return out


# ---------------------------------------------------------------------------------------------
# Drawing helpers


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(width, 3.0), max(height, 1.6)), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _num(v: float) -> str:
    v = float(v)
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def _as2d(a: np.ndarray) -> np.ndarray:
    return a.reshape(1, -1) if a.ndim == 1 else a


def _key(index: Sequence[int], ndim: int) -> tuple[int, int]:
    return (0, int(index[0])) if ndim == 1 else (int(index[0]), int(index[1]))


def _prepare_axes(ax, rows: int, cols: int, title: str = "", x0: int = 0, y0: int = 0) -> None:
    ax.set_xlim(x0 - 0.6, x0 + cols - 0.4)
    ax.set_ylim(y0 + rows - 0.4, y0 - 0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)


def _draw_cells(
    ax,
    values: np.ndarray,
    *,
    x0: int = 0,
    y0: int = 0,
    scale: float | None = None,
    colors: np.ndarray | None = None,
    texts: bool = True,
    fontsize: float | None = None,
    blank: np.ndarray | None = None,
) -> None:
    """Draw a 2-d array as labelled cells, coloured by value on a diverging scale."""
    import matplotlib
    from matplotlib.patches import Rectangle

    cmap = matplotlib.colormaps["RdBu_r"]
    v = _as2d(np.asarray(values, dtype=float))
    scale = scale if scale is not None else (float(np.max(np.abs(v))) if v.size else 1.0) or 1.0
    labels = [[_num(a) for a in row] for row in v]
    longest = max((len(s) for row in labels for s in row), default=1)
    size = fontsize or min(9.0, 26.0 / max(longest, 2) * 1.25)
    for r in range(v.shape[0]):
        for c in range(v.shape[1]):
            if blank is not None and _as2d(blank)[r, c]:
                face = "#f2f2f2"
                rgba = (1, 1, 1, 1)
            elif colors is not None:
                face = colors[r][c]
                rgba = matplotlib.colors.to_rgba(face)
            else:
                rgba = cmap(0.5 + 0.45 * v[r, c] / scale)
                face = rgba
            ax.add_patch(Rectangle((x0 + c - 0.5, y0 + r - 0.5), 1, 1, facecolor=face, edgecolor="#999999", lw=0.5))
            if texts:
                lum = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
                ax.text(
                    x0 + c,
                    y0 + r,
                    labels[r][c],
                    ha="center",
                    va="center",
                    fontsize=size,
                    color="white" if lum < 0.45 else "black",
                )


def _outline(ax, cells: Sequence[tuple[int, int]], color: str, lw: float = 2.0, x0: int = 0, y0: int = 0) -> None:
    from matplotlib.patches import Rectangle

    for r, c in cells:
        ax.add_patch(Rectangle((x0 + c - 0.46, y0 + r - 0.46), 0.92, 0.92, fill=False, edgecolor=color, lw=lw))


def _box(ax, r0: float, c0: float, rows: int, cols: int, color: str, style: str = "--", lw: float = 1.6) -> None:
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle((c0 - 0.55, r0 - 0.55), cols + 0.1, rows + 0.1, fill=False, edgecolor=color, lw=lw, ls=style)
    )


def _inches(fig) -> tuple[float, float]:
    """Width and height of a figure or subfigure in inches."""
    return fig.bbox.width / fig.figure.dpi, fig.bbox.height / fig.figure.dpi


def _title(fig, text: str) -> float:
    """A wrapped title at the top of ``fig``; returns the fraction of the height left below it."""
    import textwrap

    width, height = _inches(fig)
    chars = max(40, int(width * 72 / (9 * 0.56)))
    lines = [part for line in text.split("\n") for part in textwrap.wrap(line, chars)]
    fig.suptitle("\n".join(lines), fontsize=9, y=1 - 0.06 / height)
    return 1 - (0.2 + 0.17 * len(lines) + 0.25) / height


def _panel_axes(fig, shapes: Sequence[tuple[int, int]], *, top: float = 0.82, bottom: float = 0.04):
    """One row of axes with widths proportional to their grids."""
    widths = [max(c, 1) + 1 for _, c in shapes]
    gs = fig.add_gridspec(
        1, len(shapes), width_ratios=widths, left=0.02, right=0.98, top=top, bottom=bottom, wspace=0.15
    )
    return [fig.add_subplot(gs[0, n]) for n in range(len(shapes))]


def _grid_shape(size: Sequence[int]) -> tuple[int, int]:
    return (1, size[0]) if len(size) == 1 else (size[0], size[1])


# ---------------------------------------------------------------------------------------------
# Scatter view


def _canvas(g: Geometry) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per axis, the first position and the size of the drawing: full output and window together."""
    lo = tuple(min(0, b) for b in g.crop_begin)
    hi = tuple(max(f, b + o) for f, b, o in zip(g.full_size, g.crop_begin, g.output_size))
    return lo, tuple(h - l for h, l in zip(hi, lo))


def _on_canvas(full: np.ndarray, g: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """A full-output array laid on the canvas, and the mask of canvas cells outside the full output."""
    lo, size = _canvas(g)
    out = np.zeros(size)
    outside = np.ones(size, dtype=bool)
    dst = tuple(slice(-l, -l + f) for l, f in zip(lo, g.full_size))
    out[dst] = full
    outside[dst] = False
    return out, outside


def _scatter_size(p: _Problem) -> tuple[float, float]:
    g = p.geometry
    _, size = _canvas(g)
    ir, ic = _grid_shape(g.input_size)
    kr, kc = _grid_shape(g.kernel_size)
    cr, cc = _grid_shape(size)
    n_in = len(p.in_channels)
    width = (ic + 1) * min(n_in, 3) + (kc + 1) + 2 * (cc + 1)
    height = max(ir, kr, cr) + 2.2
    return width * CELL + 0.6, height * CELL + 0.8


def _draw_scatter(fig, p: _Problem, frames: list[_Frame], step: int | None) -> None:
    g = p.geometry
    nd = g.ndim
    n = len(frames) if step is None else step
    frame = frames[n - 1] if n >= 1 else None
    lo, size = _canvas(g)
    shown_in = p.in_channels[:3]
    shapes = [_grid_shape(g.input_size)] * len(shown_in) + [_grid_shape(g.kernel_size)] + [_grid_shape(size)] * 2
    head = f"Scatter view: {p.describe()}"
    sub = (
        "each input element multiplies the whole kernel and adds it at stride*j (taps dilation apart); "
        "green box: the output window (padding crops, output_padding extends)"
    )
    if p.groups > 1 or p.y.shape[0] > 1:
        sub += f"; output channel {p.channel} sums input channels {p.in_channels[0]}..{p.in_channels[-1]} (its group)"
    top = _title(fig, head + "\n" + sub)
    axes = _panel_axes(fig, shapes, top=top)
    scale_x = float(np.max(np.abs(p.x))) or 1.0
    for ax, ci in zip(axes, shown_in):
        r, c = _grid_shape(g.input_size)
        label = f"input x[{ci}]" if p.x.shape[0] > 1 else "input x"
        _prepare_axes(ax, r, c, label)
        _draw_cells(ax, p.x[ci], scale=scale_x)
        if frame is not None and frame.channel == ci:
            _outline(ax, [_key(frame.index, nd)], INPUT_COLOR, lw=2.5)
    kci = frame.channel if frame is not None else shown_in[0]
    ax = axes[len(shown_in)]
    r, c = _grid_shape(g.kernel_size)
    _prepare_axes(ax, r, c, f"kernel w[{kci}, {p.channel_in_group}]" if p.w.shape[:2] != (1, 1) else "kernel w")
    _draw_cells(ax, p.w[kci, p.channel_in_group])
    rows, cols = _grid_shape(size)
    # the stamp of this step
    ax = axes[-2]
    stamp = frame.stamp if frame is not None else np.zeros(g.full_size)
    title = "stamp" if frame is None else f"stamp: x{list(frame.index)} = {_num(frame.value)} times w"
    _prepare_axes(ax, rows, cols, title)
    canvas, outside = _on_canvas(stamp, g)
    total_scale = float(np.max(np.abs(frames[-1].total))) if frames else 1.0
    _draw_cells(ax, canvas, blank=outside, scale=max(total_scale, float(np.max(np.abs(canvas))) or 1.0))
    taps = []
    if frame is not None:
        for t in itertools.product(*(range(k) for k in g.kernel_size)):
            pos = tuple(o + d * tt for o, d, tt in zip(frame.origin, g.dilation, t))
            taps.append(_key(tuple(q - l for q, l in zip(pos, lo)), nd))
        _outline(ax, taps, TAP_COLOR)
    # the running sum, with the output window
    ax = axes[-1]
    total = frame.total if frame is not None else np.zeros(g.full_size)
    _prepare_axes(ax, rows, cols, f"running sum after {n} of {len(frames)} steps")
    canvas, outside = _on_canvas(total, g)
    _draw_cells(ax, canvas, blank=outside, scale=total_scale or 1.0)
    _outline(ax, taps, TAP_COLOR, lw=1.2)
    wr, wc = _grid_shape(g.output_size)
    br, bc = (0, g.crop_begin[0] - lo[0]) if nd == 1 else (g.crop_begin[0] - lo[0], g.crop_begin[1] - lo[1])
    _box(ax, br, bc, wr, wc, WINDOW_COLOR)


def scatter_figure(
    x: Any,
    w: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    step: int | None = None,
    channel: int = 0,
):
    """The scatter view after ``step`` input elements (all of them by default).

    Panels: the input (current element outlined), the kernel, the current stamp on
    the full output (its taps outlined) and the running sum with the output window.

    Parameters
    ----------
    x, w : array_like
        ``(C_in, *i)`` and ``(C_in, C_out/groups, *k)``, or one channel ``i`` and ``k``.
    stride, padding, output_padding, groups, dilation
        As for :func:`tconv.conv_transpose`.
    step : int, optional
        How many scatter steps to show (1 = the first element only).
    channel : int
        The output channel shown.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = scatter_figure(np.array([[-67., -77.], [-117., -127.]]),
    ...                      np.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]]), stride=2, step=1)
    >>> fig.axes[-1].get_title()
    'running sum after 1 of 4 steps'
    """
    p = _problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    frames = _replay(p)
    if step is not None and not 0 <= step <= len(frames):
        raise ValueError(f"step must be in [0, {len(frames)}] (one step per input element), got {step}")
    fig = _new_figure(*_scatter_size(p))
    _draw_scatter(fig, p, frames, step)
    return fig


# ---------------------------------------------------------------------------------------------
# Zero-insertion view


def _zero_insertion_data(p: _Problem, ci: int):
    """The padded zero-inserted input of channel ``ci`` and a map of what each cell is."""
    from . import zero_insert

    g = p.geometry
    x_pad = zero_insert(p.x[ci], g)  # (*(o + k_eff - 1))
    before = tuple(ke - 1 - b for ke, b in zip(g.effective_kernel_size, g.crop_begin))
    kind = np.full(x_pad.shape, "pad", dtype=object)
    dilated = tuple((i - 1) * s + 1 for i, s in zip(g.input_size, g.stride))
    region = tuple(slice(max(bf, 0), max(min(bf + ds, n), 0)) for bf, ds, n in zip(before, dilated, x_pad.shape))
    kind[region] = "zero"
    for j in itertools.product(*(range(i) for i in g.input_size)):
        pos = tuple(bf + s * jj for bf, s, jj in zip(before, g.stride, j))
        if all(0 <= q < n for q, n in zip(pos, x_pad.shape)):
            kind[pos] = "input"
    return x_pad, kind


def _zero_size(p: _Problem) -> tuple[float, float]:
    g = p.geometry
    padded = tuple(o + ke - 1 for o, ke in zip(g.output_size, g.effective_kernel_size))
    pr, pc = _grid_shape(padded)
    kr, kc = _grid_shape(g.kernel_size)
    orr, oc = _grid_shape(g.output_size)
    n = min(len(p.in_channels), 2)
    width = n * (pc + 1 + kc + 1) + oc + 1
    return width * CELL + 0.6, (max(pr, kr, orr) + 2.6) * CELL + 0.9


def _draw_zero_insertion(fig, p: _Problem, position: tuple[int, ...]) -> None:
    import matplotlib

    g = p.geometry
    nd = g.ndim
    shown = p.in_channels[:2]
    padded = tuple(o + ke - 1 for o, ke in zip(g.output_size, g.effective_kernel_size))
    # the numbers first: every input channel of the group, its window at `position`, the flipped kernel
    data = {}
    terms = []
    total = 0.0
    for ci in p.in_channels:
        x_pad, kind = _zero_insertion_data(p, ci)
        w_flip = np.flip(p.w[ci, p.channel_in_group])
        window = []
        for t in itertools.product(*(range(k) for k in g.kernel_size)):
            pos = tuple(o + d * tt for o, d, tt in zip(position, g.dilation, t))
            window.append(_key(pos, nd))
            a, b = float(x_pad[pos]), float(w_flip[t])
            total += a * b
            if a != 0:
                terms.append(f"{_num(a)}*{_num(b)}")
        data[ci] = (x_pad, kind, w_flip, window)
    value = float(p.y[(p.channel, *position)])
    if not np.isclose(total, value, rtol=1e-9, atol=1e-9 * max(1.0, abs(value))):
        raise RuntimeError("the zero-insertion view disagrees with conv_transpose; please report this bug")
    where = list(position)
    sums = " + ".join(terms) if terms else "0 (the window holds only zeros)"
    if len(sums) > 150:
        sums = sums[:147] + "..."
    pad = [ke - 1 - b for ke, b in zip(g.effective_kernel_size, g.crop_begin)]
    head = f"Zero-insertion view: {p.describe()}"
    sub = (
        f"insert stride-1 zeros (yellow), pad by dilation*(k-1) - padding = {pad} at the start (grey; negative: "
        f"crop), slide the FLIPPED kernel with stride 1\ny{where} = sum(window * flipped kernel) = {sums} = {_num(value)}"
    )
    if len(p.in_channels) > 1:
        sub += f" (summed over input channels {p.in_channels[0]}..{p.in_channels[-1]})"
    top = _title(fig, head + "\n" + sub)
    shapes = []
    for _ in shown:
        shapes += [_grid_shape(padded), _grid_shape(g.kernel_size)]
    shapes.append(_grid_shape(g.output_size))
    axes = _panel_axes(fig, shapes, top=top)
    cmap = matplotlib.colormaps["RdBu_r"]
    scale = float(np.max(np.abs(p.x))) or 1.0
    for n, ci in enumerate(shown):
        x_pad, kind, w_flip, window = data[ci]
        k2, v2 = _as2d(kind), _as2d(x_pad)
        colors = [
            [
                {"pad": "#e0e0e0", "zero": "#fff3c4"}.get(k2[r, c])
                or matplotlib.colors.to_hex(cmap(0.5 + 0.45 * v2[r, c] / scale))
                for c in range(k2.shape[1])
            ]
            for r in range(k2.shape[0])
        ]
        ax = axes[2 * n]
        r, c = _grid_shape(padded)
        _prepare_axes(
            ax, r, c, f"x[{ci}], zero-inserted and padded" if p.x.shape[0] > 1 else "x, zero-inserted and padded"
        )
        _draw_cells(ax, x_pad, colors=colors)
        _outline(ax, window, TAP_COLOR)
        ax = axes[2 * n + 1]
        r, c = _grid_shape(g.kernel_size)
        _prepare_axes(ax, r, c, "flipped kernel")
        _draw_cells(ax, w_flip)
    ax = axes[-1]
    r, c = _grid_shape(g.output_size)
    _prepare_axes(ax, r, c, "output y" if p.y.shape[0] == 1 else f"output y[{p.channel}]")
    _draw_cells(ax, p.y[p.channel])
    _outline(ax, [_key(position, nd)], TAP_COLOR, lw=2.5)


def zero_insertion_figure(
    x: Any,
    w: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    position: Sequence[int] | None = None,
    channel: int = 0,
):
    """The zero-insertion view of one output element (the first by default).

    Panels: the zero-inserted, padded input with the window of ``position``
    outlined, the flipped kernel, and the output with ``position`` outlined; the
    title spells the sum, which is checked against :func:`tconv.conv_transpose`.

    Examples
    --------
    >>> import numpy as np
    >>> fig = zero_insertion_figure(np.array([[-67., -77.], [-117., -127.]]),
    ...                             np.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]]), stride=2)
    >>> "= -67*-1 = 67" in fig._suptitle.get_text()
    True
    """
    p = _problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    pos = _position(position, p.geometry.output_size, "position")
    fig = _new_figure(*_zero_size(p))
    _draw_zero_insertion(fig, p, pos)
    return fig


def _position(position: Sequence[int] | int | None, size: Sequence[int], name: str) -> tuple[int, ...]:
    if position is None:
        return (0,) * len(size)
    pos = (position,) if isinstance(position, (int, np.integer)) else tuple(position)
    if len(pos) != len(size) or not all(0 <= q < n for q, n in zip(pos, size)):
        raise ValueError(f"{name} must be an index into an array of shape {tuple(size)}, got {position!r}")
    return tuple(int(q) for q in pos)


# ---------------------------------------------------------------------------------------------
# Matrix view


def _matrix_size(p: _Problem) -> tuple[float, float]:
    return 12.0, 5.2


def _draw_matrix(fig, p: _Problem, output_element: tuple[int, ...], input_element: tuple[int, ...]) -> None:
    from ..matrix import conv_transpose_matrix

    g = p.geometry
    nd = g.ndim
    ct = np.asarray(
        conv_transpose_matrix(
            p.w, g.input_size, g.stride, tuple(zip(g.crop_begin, g.crop_end)), 0, p.groups, g.dilation, sparse=False
        )
    )  # (C_out*prod(o), C_in*prod(i))
    check = float(np.max(np.abs(ct @ p.x.ravel() - p.y.ravel()))) if p.y.size else 0.0
    if check > 1e-9 * max(1.0, float(np.max(np.abs(p.y)))):
        raise RuntimeError("C^T x disagrees with conv_transpose; please report this bug")
    n_out, n_in = int(np.prod(g.output_size)), int(np.prod(g.input_size))
    row = p.channel * n_out + int(np.ravel_multi_index(output_element, g.output_size))
    ci = p.in_channels[0]
    col = ci * n_in + int(np.ravel_multi_index(input_element, g.input_size))
    top = _title(
        fig,
        f"Matrix view: {p.describe()}\nthe transposed convolution is y = C^T x (tconv.conv_transpose_matrix); red: "
        f"the row of one output element (the inputs and taps summed into it), blue: the column of one input "
        f"element (its stamp)" + ("; dotted lines: channel blocks" if p.x.shape[0] * p.y.shape[0] > 1 else ""),
    )
    height = _inches(fig)[1]
    gs = fig.add_gridspec(
        2,
        3,
        width_ratios=[1.5, 1, 1],
        left=0.06,
        right=0.98,
        top=top - 0.3 / height,
        bottom=0.55 / height,
        wspace=0.25,
        hspace=0.45,
    )
    ax = fig.add_subplot(gs[:, 0])
    scale = float(np.max(np.abs(ct))) or 1.0
    ax.imshow(ct, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest", aspect="auto")
    ax.axhline(row, color=TAP_COLOR, lw=1.2, alpha=0.9)
    ax.axvline(col, color=INPUT_COLOR, lw=1.2, alpha=0.9)
    for c in range(1, p.y.shape[0]):
        ax.axhline(c * n_out - 0.5, color="#555555", lw=0.6, ls=":")
    for c in range(1, p.x.shape[0]):
        ax.axvline(c * n_in - 0.5, color="#555555", lw=0.6, ls=":")
    if ct.shape[0] * ct.shape[1] <= 40 * 12:
        for (r, c), v in np.ndenumerate(ct):
            if v != 0:
                ax.text(c, r, _num(v), ha="center", va="center", fontsize=6)
    ax.set_title(f"C^T: {ct.shape[0]} x {ct.shape[1]} (output elements x input elements)", fontsize=9)
    ax.set_xlabel("input element (column)", fontsize=8)
    ax.set_ylabel("output element (row)", fontsize=8)
    ax.tick_params(labelsize=7)
    # the row: weights on the input elements, as an input-shaped grid per input channel of the group
    row_vals = ct[row].reshape(p.x.shape)  # (C_in, *i)
    ax = fig.add_subplot(gs[0, 1])
    r, c = _grid_shape(g.input_size)
    _prepare_axes(ax, r, c, f"row {row}: y[{p.channel}, {list(output_element)}] reads these taps")
    _draw_cells(ax, row_vals[ci])
    contrib = _contributions(p, output_element)
    _outline(ax, [_key(j, nd) for cc, j, _ in contrib if cc == ci], TAP_COLOR)
    ax = fig.add_subplot(gs[1, 1])
    r, c = _grid_shape(g.input_size)
    _prepare_axes(ax, r, c, f"... times the input x[{ci}]" if p.x.shape[0] > 1 else "... times the input x")
    _draw_cells(ax, p.x[ci])
    _outline(ax, [_key(j, nd) for cc, j, _ in contrib if cc == ci], TAP_COLOR)
    # the column: the stamp of one input element on the output
    col_vals = ct[:, col].reshape(p.y.shape)  # (C_out, *o)
    ax = fig.add_subplot(gs[0, 2])
    r, c = _grid_shape(g.output_size)
    _prepare_axes(ax, r, c, f"column {col}: x[{ci}, {list(input_element)}] stamps w into output {p.channel}")
    _draw_cells(ax, col_vals[p.channel])
    ax = fig.add_subplot(gs[1, 2])
    _prepare_axes(ax, r, c, f"y = C^T x (max |C^T x - conv_transpose| = {check:.2g})")
    _draw_cells(ax, p.y[p.channel])
    _outline(ax, [_key(output_element, nd)], TAP_COLOR)


def matrix_figure(
    x: Any,
    w: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    output_element: Sequence[int] | None = None,
    input_element: Sequence[int] | None = None,
    channel: int = 0,
):
    """The matrix view: ``C^T`` as a heat-map with one output element's row and one input element's column.

    ``C^T`` comes from :func:`tconv.conv_transpose_matrix`; ``C^T x`` is checked
    against :func:`tconv.conv_transpose`. Defaults: the middle output element and
    the middle input element.

    Examples
    --------
    >>> import numpy as np
    >>> fig = matrix_figure(np.ones((2, 2)), np.ones((3, 3)), stride=2)
    >>> fig.axes[0].get_title()
    'C^T: 25 x 4 (output elements x input elements)'
    """
    p = _problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    g = p.geometry
    out_el = (
        _position(output_element, g.output_size, "output_element")
        if output_element is not None
        else tuple(o // 2 for o in g.output_size)
    )
    in_el = (
        _position(input_element, g.input_size, "input_element")
        if input_element is not None
        else tuple(i // 2 for i in g.input_size)
    )
    n = int(np.prod(g.output_size)) * p.y.shape[0] * int(np.prod(g.input_size)) * p.x.shape[0]
    if n > 2**22:
        raise ValueError(f"the matrix has {n} entries, too many to draw; use smaller sizes")
    fig = _new_figure(*_matrix_size(p))
    _draw_matrix(fig, p, out_el, in_el)
    return fig


# ---------------------------------------------------------------------------------------------
# Overlap


def _draw_overlap(fig, kernel_size, stride, padding, output_padding, dilation, input_size, weight, groups) -> None:
    from ..artifacts import analyze_weights, overlap

    if weight is not None:
        analysis = analyze_weights(weight, stride, padding, output_padding, groups, dilation, input_size=input_size)
        ov = analysis.overlap
    else:
        analysis = None
        ov = overlap(kernel_size, stride, padding, output_padding, dilation, input_size=input_size)
    g = ov.geometry
    if g.ndim > 2:
        raise ValueError(f"the overlap picture shows 1-d or 2-d configurations, got {g.ndim} axes")
    nd = g.ndim
    shapes = [_grid_shape(g.output_size), _grid_shape(g.stride)]
    response = None
    if analysis is not None:
        x = np.ones((analysis.weight.shape[0], *g.input_size))
        response = conv_transpose(
            x, analysis.weight, None, g.stride, tuple(zip(g.crop_begin, g.crop_end)), 0, groups, g.dilation
        )[0]  # (*o) of output channel 0
        shapes.append(_grid_shape(g.output_size))
    one = lambda v: v[0] if len(set(v)) == 1 else v  # noqa: E731
    top = _title(
        fig,
        f"Overlap: kernel_size {one(g.kernel_size)}, stride {one(g.stride)}, dilation {one(g.dilation)}, "
        f"padding {padding!r}, output_padding {output_padding!r}\n"
        f"taps per phase {[list(t) for t in ov.phase_taps] if nd > 1 else list(ov.phase_taps[0])}, "
        f"uniformity {ov.uniformity:.3g}: {ov.verdict.upper()}",
    )
    axes = _panel_axes(fig, shapes, top=top)
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    top = int(ov.counts.max()) or 1
    counts2 = _as2d(ov.counts)
    colors = [
        [matplotlib.colors.to_hex(cmap(0.15 + 0.8 * v / top)) if v else "#ffffff" for v in row] for row in counts2
    ]
    r, c = _grid_shape(g.output_size)
    _prepare_axes(
        axes[0], r, c, f"taps reaching each output (input {'x'.join(map(str, g.input_size))}); hatched: borders"
    )
    _draw_cells(axes[0], ov.counts, colors=colors)
    from matplotlib.patches import Rectangle

    for pos in zip(*np.nonzero(~ov.interior)):
        r0, c0 = _key(pos, nd)
        axes[0].add_patch(
            Rectangle((c0 - 0.5, r0 - 0.5), 1, 1, fill=False, hatch="////", edgecolor="#ffffff", lw=0, alpha=0.55)
        )
    pc = ov.phase_counts
    colors = [
        [matplotlib.colors.to_hex(cmap(0.15 + 0.8 * v / max(int(pc.max()), 1))) if v else "#ffffff" for v in row]
        for row in _as2d(pc)
    ]
    r, c = _grid_shape(g.stride)
    _prepare_axes(axes[1], r, c, "taps per phase")
    _draw_cells(axes[1], pc, colors=colors)
    if response is not None:
        r, c = _grid_shape(g.output_size)
        amp = analysis.amplitude[0]
        _prepare_axes(axes[2], r, c, f"conv_transpose(ones), channel 0: amplitude {_num(amp)}")
        _draw_cells(axes[2], response)


def _overlap_size(kernel_size, stride, padding, output_padding, dilation, input_size, weight) -> tuple[float, float]:
    from ..artifacts import overlap

    ks = weight.shape[2:] if weight is not None else kernel_size
    ov = overlap(ks, stride, padding, output_padding, dilation, input_size=input_size)
    r, c = _grid_shape(ov.geometry.output_size)
    sr, sc = _grid_shape(ov.geometry.stride)
    n = 2 if weight is not None else 1
    return ((c + 1) * n + sc + 1) * CELL + 0.6, (max(r, sr) + 2.4) * CELL + 0.8


def overlap_figure(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    input_size: int | Sequence[int] | None = None,
    weight: np.ndarray | None = None,
    groups: int = 1,
):
    """The overlap map, taps per phase and verdict (:mod:`tconv.artifacts`) as a picture.

    With ``weight`` (``(C_in, C_out/groups, *k)``; ``kernel_size`` is then taken
    from it), a third panel shows :func:`tconv.conv_transpose` of an all-ones input.

    Examples
    --------
    >>> fig = overlap_figure((3, 3), stride=2)
    >>> fig._suptitle.get_text().endswith("uniformity 0.25: CHECKERBOARD")
    True
    """
    if weight is not None:
        weight = np.asarray(weight)
        kernel_size = weight.shape[2:]
    fig = _new_figure(*_overlap_size(kernel_size, stride, padding, output_padding, dilation, input_size, weight))
    _draw_overlap(fig, kernel_size, stride, padding, output_padding, dilation, input_size, weight, groups)
    return fig


# ---------------------------------------------------------------------------------------------
# All views, saving, animations

VIEWS = ("scatter", "zero-insert", "matrix", "overlap")


def explain_figure(
    x: Any,
    w: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    views: Sequence[str] = VIEWS,
    channel: int = 0,
    position: Sequence[int] | None = None,
):
    """Several views of one problem stacked in one figure (what ``tconv explain --png`` draws).

    Examples
    --------
    >>> import numpy as np
    >>> fig = explain_figure(np.arange(1., 4.), np.arange(1., 4.), stride=2, views=("scatter", "overlap"))
    >>> len(fig.subfigs)
    2
    """
    bad = [v for v in views if v not in VIEWS]
    if bad or not views:
        raise ValueError(f"views must be a non-empty selection of {VIEWS}, got {tuple(views)!r}")
    p = _problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    pos = _position(position, p.geometry.output_size, "position")
    g = p.geometry
    sizes = {
        "scatter": _scatter_size(p),
        "zero-insert": _zero_size(p),
        "matrix": _matrix_size(p),
        "overlap": _overlap_size(g.kernel_size, g.stride, p.padding, p.output_padding, g.dilation, None, p.w),
    }
    width = max(sizes[v][0] for v in views)
    heights = [sizes[v][1] for v in views]
    fig = _new_figure(width, sum(heights))
    subs = fig.subfigures(len(views), 1, height_ratios=heights) if len(views) > 1 else [fig]
    for view, sub in zip(views, np.atleast_1d(subs)):
        if view == "scatter":
            _draw_scatter(sub, p, _replay(p), None)
        elif view == "zero-insert":
            _draw_zero_insertion(sub, p, pos)
        elif view == "matrix":
            _draw_matrix(sub, p, pos, tuple(i // 2 for i in g.input_size))
        else:
            _draw_overlap(sub, g.kernel_size, g.stride, p.padding, p.output_padding, g.dilation, None, p.w, p.groups)
    return fig


def save_figure(fig, path: str | Path) -> Path:
    """Write a figure as PNG without metadata that changes between runs (so files are reproducible)."""
    path = Path(path)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _to_image(fig):
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def save_animation(figures, path: str | Path, *, duration: int = 700, last_duration: int = 2000) -> Path:
    """Write figures (same size) as a looping GIF, ``duration`` ms per frame."""
    from PIL import Image

    images = [_to_image(f) for f in figures]
    if not images:
        raise ValueError("an animation needs at least one frame")
    size = images[0].size
    images = [im if im.size == size else im.resize(size) for im in images]
    palette = images[-1].quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    durations = [duration] * (len(frames) - 1) + [last_duration]
    path = Path(path)
    frames[0].save(
        path, format="GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=False
    )
    return path


def _pick(n: int, max_frames: int) -> list[int]:
    if n <= max_frames:
        return list(range(n))
    return sorted({round(v) for v in np.linspace(0, n - 1, max_frames)})


def scatter_animation(
    x: Any,
    w: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    path: str | Path,
    channel: int = 0,
    max_frames: int = 40,
    duration: int = 700,
) -> Path:
    """A GIF of the scatter view: an empty output, then one stamp per frame.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = scatter_animation(np.ones(2), np.ones(3), stride=2, path=os.path.join(d, "s.gif"))
    ...     from PIL import Image
    ...     Image.open(out).n_frames
    3
    """
    p = _problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    frames = _replay(p)
    steps = [0] + [n + 1 for n in _pick(len(frames), max_frames - 1)]
    size = _scatter_size(p)
    figures = []
    for step in steps:
        fig = _new_figure(*size)
        _draw_scatter(fig, p, frames, step)
        figures.append(fig)
    return save_animation(figures, path, duration=duration)


def zero_insertion_animation(
    x: Any,
    w: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    path: str | Path,
    channel: int = 0,
    max_frames: int = 40,
    duration: int = 600,
) -> Path:
    """A GIF of the flipped kernel sliding over the zero-inserted input, one output element per frame."""
    p = _problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    positions = list(itertools.product(*(range(o) for o in p.geometry.output_size)))
    size = _zero_size(p)
    figures = []
    for n in _pick(len(positions), max_frames):
        fig = _new_figure(*size)
        _draw_zero_insertion(fig, p, positions[n])
        figures.append(fig)
    return save_animation(figures, path, duration=duration)
