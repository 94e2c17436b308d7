"""The zero-insertion view: an ordinary convolution of the zero-inserted, padded input with the flipped kernel."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..text import zero_insert
from . import _drawing as drawing
from ._problem import Problem

CELL_COLORS = {"pad": "#e0e0e0", "zero": "#fff3c4"}  # grey: padding, yellow: inserted zeros


def _padded_size(p: Problem) -> tuple[int, ...]:
    """The zero-inserted, padded input's size: ``output_size + d*(k - 1)`` per axis."""
    g = p.geometry
    return tuple(o + ke - 1 for o, ke in zip(g.output_size, g.effective_kernel_size))


def _zero_insertion_data(p: Problem, ci: int) -> tuple[np.ndarray, np.ndarray]:
    """The padded zero-inserted input of channel ``ci`` and a map of what each cell is ("pad", "zero", "input")."""
    g = p.geometry
    x_pad = zero_insert(p.x[ci], g)  # (*(o + k_eff - 1))
    before = g.zero_insertion_padding
    kind = np.full(x_pad.shape, "pad", dtype=object)
    dilated = tuple((i - 1) * s + 1 for i, s in zip(g.input_size, g.stride))
    region = tuple(slice(max(bf, 0), max(min(bf + ds, n), 0)) for bf, ds, n in zip(before, dilated, x_pad.shape))
    kind[region] = "zero"
    for j in itertools.product(*(range(i) for i in g.input_size)):
        pos = tuple(bf + s * jj for bf, s, jj in zip(before, g.stride, j))
        if all(0 <= q < n for q, n in zip(pos, x_pad.shape)):
            kind[pos] = "input"
    return x_pad, kind


def _title(p: Problem, position: tuple[int, ...] | None, sums: str, value: float) -> str:
    """The title; ``position`` None: the longest one, for the figure's size (every frame has the same)."""
    g = p.geometry
    head = f"Zero-insertion view: {p.describe()}"
    where = "y" + ("[...]" if position is None else str(list(position)))
    sub = (
        f"insert stride-1 zeros (yellow), pad by dilation*(k-1) - padding = {list(g.zero_insertion_padding)} "
        f"at the start (grey; negative: crop), slide the FLIPPED kernel with stride 1\n"
        f"{where} = sum(window * flipped kernel) = {sums} = {drawing.label(value)}"
    )
    if len(p.in_channels) > 1:
        sub += f" (summed over input channels {p.in_channels[0]}..{p.in_channels[-1]})"
    return head + "\n" + sub


def _rows(p: Problem) -> list[list[tuple[int, int]]]:
    """The padded input and the flipped kernel of each shown input channel, then the output: in one row, or the
    output in a second row when one would be too wide."""
    g = p.geometry
    pairs = [drawing.shape(_padded_size(p)), drawing.shape(g.kernel_size)] * min(len(p.in_channels), 2)
    output = drawing.shape(g.output_size)
    return drawing.first_that_fits([[*pairs, output]], [pairs, [output]])


def zero_insertion_size(p: Problem) -> tuple[float, float]:
    """Width and height in inches (room for the longest title: the sum is cut at 150 characters)."""
    widest = "-8.88e+88*-8.88e+88 + " * 7
    return drawing.layout_size(_rows(p), _title(p, None, widest[:150] + "...", -8.88e88))


def draw_zero_insertion(fig: Any, p: Problem, position: tuple[int, ...]) -> None:
    """Panels: per input channel (two at most) the padded input with the window and the flipped kernel; the output."""
    import matplotlib

    g = p.geometry
    nd = g.ndim
    shown = p.in_channels[:2]
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
            window.append(drawing.cell(pos, nd))
            a, b = float(x_pad[pos]), float(w_flip[t])
            total += a * b
            if a != 0:
                terms.append(f"{drawing.label(a)}*{drawing.label(b)}")
        data[ci] = (x_pad, kind, w_flip, window)
    value = float(p.y[p.channel][position])
    if not np.isclose(total, value, rtol=1e-9, atol=1e-9 * max(1.0, abs(value))):
        raise RuntimeError("the zero-insertion view disagrees with conv_transpose; please report this bug")
    sums = " + ".join(terms) if terms else "0 (the window holds only zeros)"
    if len(sums) > 150:
        sums = sums[:147] + "..."
    top = drawing.title(fig, _title(p, position, sums, value))
    axes = [ax for row in drawing.layout(fig, _rows(p), top) for ax in row]
    cmap = matplotlib.colormaps["RdBu_r"]
    scale = float(np.max(np.abs(p.x))) or 1.0
    for n, ci in enumerate(shown):
        x_pad, kind, w_flip, window = data[ci]
        k2, v2 = kind.reshape(1, -1) if nd == 1 else kind, x_pad.reshape(1, -1) if nd == 1 else x_pad
        colors = [
            [
                CELL_COLORS.get(k2[r, c]) or matplotlib.colors.to_hex(cmap(0.5 + 0.45 * v2[r, c] / scale))
                for c in range(k2.shape[1])
            ]
            for r in range(k2.shape[0])
        ]
        ax = axes[2 * n]
        r, c = drawing.shape(x_pad.shape)
        drawing.axes_for(
            ax, r, c, f"x[{ci}], zero-inserted and padded" if p.x.shape[0] > 1 else "x, zero-inserted and padded"
        )
        drawing.cells(ax, x_pad, colors=colors)
        drawing.outline(ax, window, drawing.TAP_COLOR)
        ax = axes[2 * n + 1]
        r, c = drawing.shape(g.kernel_size)
        drawing.axes_for(ax, r, c, "flipped kernel")
        drawing.cells(ax, w_flip)
    ax = axes[-1]
    r, c = drawing.shape(g.output_size)
    drawing.axes_for(ax, r, c, "output y" if p.y.shape[0] == 1 else f"output y[{p.channel}]")
    drawing.cells(ax, p.y[p.channel])
    drawing.outline(ax, [drawing.cell(position, nd)], drawing.TAP_COLOR, lw=2.5)
