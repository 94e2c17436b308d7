"""The matrix view: ``Cᵀ`` as a heat-map, with one output element's row and one input element's column."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..text import contributions
from . import _drawing as drawing
from ._problem import Problem

#: The largest ``Cᵀ`` whose entries are printed in its cells, when they fit (:func:`_entry_font`).
PRINTED_ENTRIES = 40 * 12


def _channels(p: Problem) -> list[int]:
    """The input channels the row panels show: those of the shown output channel's group (three at most)."""
    return p.in_channels[:3]


def _columns(p: Problem) -> tuple[float, float, float, float]:
    """The widths in inches of the three columns (``Cᵀ``, the rows, the columns) and the panels' height, with
    grid cells of :data:`~._drawing.CELL` inches where the figure's width allows."""
    g = p.geometry
    ir, ic = drawing.shape(g.input_size)
    orr, oc = drawing.shape(g.output_size)
    cell = drawing.CELL
    middle = max(2.6, 2 * (ic + 0.2) * cell + 0.6)
    right = max(2.6, (oc + 0.2) * cell + 0.3)
    left = max(4.2, drawing.MAX_WIDTH - 0.5 - middle - right)
    squeeze = min(1.0, (drawing.MAX_WIDTH - 0.5 - left) / (middle + right))
    title = 3 * drawing.TITLE_LINE + 0.15
    height = max(
        3.6,
        len(_channels(p)) * ((ir + 0.2) * cell * squeeze + title),
        2 * ((orr + 0.2) * cell * squeeze + title),
    )
    return left, middle * squeeze, right * squeeze, height


def matrix_size(p: Problem) -> tuple[float, float]:
    """Width and height in inches: room for the grids of the row and column panels, and the title."""
    left, middle, right, height = _columns(p)
    return drawing.MAX_WIDTH, drawing.title_height(_title(p), drawing.MAX_WIDTH) + height + 0.9


def _entry_font(ax: Any, ct: np.ndarray) -> float | None:
    """The font size that fits the widest nonzero entry of ``Cᵀ`` into its cells in ``ax``, or None (too small)."""
    if ct.size > PRINTED_ENTRIES:
        return None
    labels = {drawing.label(v) for v in ct.ravel() if v != 0} or {"0"}
    dpi = ax.figure.figure.dpi
    cell_w = ax.bbox.width / ct.shape[1] * 72.0 / dpi
    cell_h = ax.bbox.height / ct.shape[0] * 72.0 / dpi
    widest = max(drawing.text_width(ax, s, 10.0) for s in labels)
    size = min(drawing.MAX_FONT, 0.75 * cell_h, 10.0 * 0.86 * cell_w / widest)
    return size if size >= drawing.MIN_FONT else None


def _title(p: Problem) -> str:
    group = ""
    if len(p.in_channels) > 1:
        channels = _channels(p)
        shown = ", ".join(map(str, channels)) + (" ..." if len(channels) < len(p.in_channels) else "")
        group = (
            f"; output channel {p.channel} sums input channels {p.in_channels[0]}..{p.in_channels[-1]} (its group), "
            f"so its row reads each of them: x[{shown}] are shown"
        )
    several = p.x.shape[0] * p.y.shape[0] > 1
    return (
        f"Matrix view: {p.describe()}\nthe transposed convolution is y = Cᵀ x (tconv.conv_transpose_matrix); red: "
        f"the row of one output element (the inputs and taps summed into it), blue: the column of one input "
        f"element (its stamp)" + ("; dotted lines: channel blocks" if several else "") + group
    )


def draw_matrix(fig: Any, p: Problem, output_element: tuple[int, ...], input_element: tuple[int, ...]) -> None:
    """Panels: ``Cᵀ`` with the row and the column marked; the row on each input channel of the group, next to
    that channel's input; the column (a stamp) and ``y = Cᵀ x``."""
    from ...matrix import conv_transpose_matrix

    g = p.geometry
    nd = g.ndim
    ct = np.asarray(
        conv_transpose_matrix(
            p.w,
            g.input_size,
            stride=g.stride,
            padding=g.padding_pairs,
            groups=p.groups,
            dilation=g.dilation,
            sparse=False,
        )
    )  # (C_out*prod(o), C_in*prod(i))
    check = float(np.max(np.abs(ct @ p.x.ravel() - p.y.ravel()))) if p.y.size else 0.0
    if check > 1e-9 * max(1.0, float(np.max(np.abs(p.y)))):
        raise RuntimeError("Cᵀ x disagrees with conv_transpose; please report this bug")
    n_out, n_in = math.prod(g.output_size), math.prod(g.input_size)
    row = p.channel * n_out + int(np.ravel_multi_index(output_element, g.output_size))
    channels = _channels(p)
    ci = channels[0]
    col = ci * n_in + int(np.ravel_multi_index(input_element, g.input_size))
    top = drawing.title(fig, _title(p))
    height = drawing.inches(fig)[1]
    left, middle_width, right_width, _ = _columns(p)
    gs = fig.add_gridspec(
        1,
        3,
        width_ratios=[left - 0.6, middle_width, right_width],
        left=0.07,
        right=0.985,
        top=top - 0.45 / height,
        bottom=0.6 / height,
        wspace=0.08,
    )
    ax = fig.add_subplot(gs[0, 0])
    scale = float(np.max(np.abs(ct))) or 1.0
    ax.imshow(ct, cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest", aspect="auto")
    ax.axhline(row, color=drawing.TAP_COLOR, lw=1.2, alpha=0.9)
    ax.axvline(col, color=drawing.INPUT_COLOR, lw=1.2, alpha=0.9)
    for c in range(1, p.y.shape[0]):
        ax.axhline(c * n_out - 0.5, color="#555555", lw=0.6, ls=":")
    for c in range(1, p.x.shape[0]):
        ax.axvline(c * n_in - 0.5, color="#555555", lw=0.6, ls=":")
    size = _entry_font(ax, ct)
    if size is not None:
        for (r, c), v in np.ndenumerate(ct):
            if v != 0:
                ax.text(c, r, drawing.label(v), ha="center", va="center", fontsize=size)
    title = f"Cᵀ: {ct.shape[0]} x {ct.shape[1]} (output elements x input elements)"
    drawing.panel_title(ax, title if size is not None else title + " " + drawing.NO_NUMBERS)
    ax.set_xlabel("input element (column)", fontsize=drawing.TITLE_FONT)
    ax.set_ylabel("output element (row)", fontsize=drawing.TITLE_FONT)
    ax.tick_params(labelsize=drawing.MIN_FONT)
    for axis in (ax.xaxis, ax.yaxis):
        axis.get_major_locator().set_params(integer=True, nbins=6)
    # the row: its weights on the input elements of each input channel of the group, next to that channel's input
    row_vals = ct[row].reshape(p.x.shape)  # (C_in, *i)
    read = [drawing.cell(j, nd) for j, _ in contributions(g, output_element)]  # the inputs summed into the output
    r, c = drawing.shape(g.input_size)
    middle = gs[0, 1].subgridspec(len(channels), 2, wspace=0.2, hspace=0.7)
    for n, channel in enumerate(channels):
        ax = fig.add_subplot(middle[n, 0])
        on = f" on x[{channel}]" if p.x.shape[0] > 1 else ""
        drawing.axes_for(ax, r, c, f"row {row}{on}: the taps y[{p.channel}, {list(output_element)}] reads")
        drawing.cells(ax, row_vals[channel], sized_for=[drawing.label(v) for v in row_vals.ravel()])
        drawing.outline(ax, read, drawing.TAP_COLOR)
        ax = fig.add_subplot(middle[n, 1])
        drawing.axes_for(ax, r, c, f"times the input x[{channel}]" if p.x.shape[0] > 1 else "times the input x")
        drawing.cells(ax, p.x[channel], sized_for=[drawing.label(v) for v in p.x.ravel()])
        drawing.outline(ax, read, drawing.TAP_COLOR)
    # the column: the stamp of one input element on the output
    col_vals = ct[:, col].reshape(p.y.shape)  # (C_out, *o)
    right = gs[0, 2].subgridspec(2, 1, hspace=0.7)
    ax = fig.add_subplot(right[0, 0])
    r, c = drawing.shape(g.output_size)
    into = f" into output channel {p.channel}" if p.y.shape[0] > 1 else ""
    drawing.axes_for(ax, r, c, f"column {col}: x[{ci}, {list(input_element)}] stamps w{into}")
    drawing.cells(ax, col_vals[p.channel])
    ax = fig.add_subplot(right[1, 0])
    drawing.axes_for(ax, r, c, f"y = Cᵀ x (max |Cᵀ x - conv_transpose| = {check:.2g})")
    drawing.cells(ax, p.y[p.channel])
    drawing.outline(ax, [drawing.cell(output_element, nd)], drawing.TAP_COLOR)
