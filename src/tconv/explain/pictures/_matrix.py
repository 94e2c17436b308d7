"""The matrix view: ``C^T`` as a heat-map, with one output element's row and one input element's column."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..text import contributions
from . import _drawing as drawing
from ._problem import Problem


def matrix_size(p: Problem) -> tuple[float, float]:
    """Width and height in inches."""
    return 12.0, 5.2


def draw_matrix(fig: Any, p: Problem, output_element: tuple[int, ...], input_element: tuple[int, ...]) -> None:
    """Panels: ``C^T`` with the row and the column marked; the row and the column as grids; ``y = C^T x``."""
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
        raise RuntimeError("C^T x disagrees with conv_transpose; please report this bug")
    n_out, n_in = math.prod(g.output_size), math.prod(g.input_size)
    row = p.channel * n_out + int(np.ravel_multi_index(output_element, g.output_size))
    ci = p.in_channels[0]
    col = ci * n_in + int(np.ravel_multi_index(input_element, g.input_size))
    top = drawing.title(
        fig,
        f"Matrix view: {p.describe()}\nthe transposed convolution is y = C^T x (tconv.conv_transpose_matrix); red: "
        f"the row of one output element (the inputs and taps summed into it), blue: the column of one input "
        f"element (its stamp)" + ("; dotted lines: channel blocks" if p.x.shape[0] * p.y.shape[0] > 1 else ""),
    )
    height = drawing.inches(fig)[1]
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
    ax.axhline(row, color=drawing.TAP_COLOR, lw=1.2, alpha=0.9)
    ax.axvline(col, color=drawing.INPUT_COLOR, lw=1.2, alpha=0.9)
    for c in range(1, p.y.shape[0]):
        ax.axhline(c * n_out - 0.5, color="#555555", lw=0.6, ls=":")
    for c in range(1, p.x.shape[0]):
        ax.axvline(c * n_in - 0.5, color="#555555", lw=0.6, ls=":")
    if ct.shape[0] * ct.shape[1] <= 40 * 12:
        for (r, c), v in np.ndenumerate(ct):
            if v != 0:
                ax.text(c, r, drawing.label(v), ha="center", va="center", fontsize=6)
    ax.set_title(f"C^T: {ct.shape[0]} x {ct.shape[1]} (output elements x input elements)", fontsize=9)
    ax.set_xlabel("input element (column)", fontsize=8)
    ax.set_ylabel("output element (row)", fontsize=8)
    ax.tick_params(labelsize=7)
    # the row: weights on the input elements, as an input-shaped grid per input channel of the group
    row_vals = ct[row].reshape(p.x.shape)  # (C_in, *i)
    ax = fig.add_subplot(gs[0, 1])
    r, c = drawing.shape(g.input_size)
    drawing.axes_for(ax, r, c, f"row {row}: y[{p.channel}, {list(output_element)}] reads these taps")
    drawing.cells(ax, row_vals[ci])
    read = [drawing.cell(j, nd) for j, _ in contributions(g, output_element)]  # the inputs summed into the row's output
    drawing.outline(ax, read, drawing.TAP_COLOR)
    ax = fig.add_subplot(gs[1, 1])
    r, c = drawing.shape(g.input_size)
    drawing.axes_for(ax, r, c, f"... times the input x[{ci}]" if p.x.shape[0] > 1 else "... times the input x")
    drawing.cells(ax, p.x[ci])
    drawing.outline(ax, read, drawing.TAP_COLOR)
    # the column: the stamp of one input element on the output
    col_vals = ct[:, col].reshape(p.y.shape)  # (C_out, *o)
    ax = fig.add_subplot(gs[0, 2])
    r, c = drawing.shape(g.output_size)
    drawing.axes_for(ax, r, c, f"column {col}: x[{ci}, {list(input_element)}] stamps w into output {p.channel}")
    drawing.cells(ax, col_vals[p.channel])
    ax = fig.add_subplot(gs[1, 2])
    drawing.axes_for(ax, r, c, f"y = C^T x (max |C^T x - conv_transpose| = {check:.2g})")
    drawing.cells(ax, p.y[p.channel])
    drawing.outline(ax, [drawing.cell(output_element, nd)], drawing.TAP_COLOR)
