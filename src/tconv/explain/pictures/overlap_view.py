"""The overlap view: how many taps reach each output, the taps per phase, and with weights the real response."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...artifacts import Overlap, WeightAnalysis, analyze
from ...geometry import PaddingArg
from .._format import collapse
from ._drawing import (
    CELL,
    as2d,
    cell_of,
    draw_cells,
    figure_title,
    grid_shape,
    new_figure,
    num,
    panel_axes,
    prepare_axes,
)

__all__ = ["overlap_figure"]


@dataclass(frozen=True)
class OverlapPicture:
    """What the overlap view shows: the analysis, and the padding arguments as the caller wrote them."""

    overlap: Overlap
    weights: WeightAnalysis | None
    padding: PaddingArg
    output_padding: int | Sequence[int]


def overlap_picture(
    kernel_size: int | Sequence[int] | None,
    stride: int | Sequence[int],
    padding: PaddingArg,
    output_padding: int | Sequence[int],
    dilation: int | Sequence[int],
    *,
    input_size: int | Sequence[int] | None = None,
    weight: np.ndarray | None = None,
    groups: int = 1,
) -> OverlapPicture:
    """Analyse a configuration (:func:`tconv.artifacts.analyze`) for the overlap view."""
    ov, weights = analyze(
        kernel_size, stride, padding, output_padding, dilation, input_size=input_size, weight=weight, groups=groups
    )
    if ov.geometry.ndim > 2:
        raise ValueError(f"the overlap picture shows 1-d or 2-d configurations, got {ov.geometry.ndim} axes")
    return OverlapPicture(ov, weights, padding, output_padding)


def overlap_size(picture: OverlapPicture) -> tuple[float, float]:
    """Width and height in inches."""
    r, c = grid_shape(picture.overlap.geometry.output_size)
    sr, sc = grid_shape(picture.overlap.geometry.stride)
    n = 2 if picture.weights is not None else 1
    return ((c + 1) * n + sc + 1) * CELL + 0.6, (max(r, sr) + 2.4) * CELL + 0.8


def _count_colors(counts: np.ndarray) -> list[list[str]]:
    """A colour per count (viridis, the largest count brightest); white for 0."""
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    top = max(int(counts.max()), 1)
    return [
        [matplotlib.colors.to_hex(cmap(0.15 + 0.8 * v / top)) if v else "#ffffff" for v in row] for row in as2d(counts)
    ]


def draw_overlap(fig: Any, picture: OverlapPicture) -> None:
    """Panels: the overlap map (borders hatched), the taps per phase, and with weights the output of ones."""
    from matplotlib.patches import Rectangle

    ov, weights = picture.overlap, picture.weights
    g = ov.geometry
    nd = g.ndim
    shapes = [grid_shape(g.output_size), grid_shape(g.stride)]
    if weights is not None:
        shapes.append(grid_shape(g.output_size))
    taps = [list(t) for t in ov.phase_taps] if nd > 1 else list(ov.phase_taps[0])
    top = figure_title(
        fig,
        f"Overlap: kernel_size {collapse(g.kernel_size)}, stride {collapse(g.stride)}, "
        f"dilation {collapse(g.dilation)}, padding {picture.padding!r}, output_padding {picture.output_padding!r}\n"
        f"taps per phase {taps}, uniformity {ov.uniformity:.3g}: {ov.verdict.upper()}",
    )
    axes = panel_axes(fig, shapes, top=top)
    r, c = grid_shape(g.output_size)
    prepare_axes(
        axes[0], r, c, f"taps reaching each output (input {'x'.join(map(str, g.input_size))}); hatched: borders"
    )
    draw_cells(axes[0], ov.counts, colors=_count_colors(ov.counts))
    for pos in zip(*np.nonzero(~ov.interior)):
        r0, c0 = cell_of(pos, nd)
        axes[0].add_patch(
            Rectangle((c0 - 0.5, r0 - 0.5), 1, 1, fill=False, hatch="////", edgecolor="#ffffff", lw=0, alpha=0.55)
        )
    r, c = grid_shape(g.stride)
    prepare_axes(axes[1], r, c, "taps per phase")
    draw_cells(axes[1], ov.phase_counts, colors=_count_colors(ov.phase_counts))
    if weights is not None:
        r, c = grid_shape(g.output_size)
        prepare_axes(axes[2], r, c, f"conv_transpose(ones), channel 0: amplitude {num(weights.amplitude[0])}")
        draw_cells(axes[2], weights.ones_output()[0])  # (*o) of output channel 0


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
) -> Any:
    """The overlap map, taps per phase and verdict (:mod:`tconv.artifacts`) as a picture.

    With ``weight`` (``(C_in, C_out/groups, *k)``; ``kernel_size`` is then taken
    from it), a third panel shows :func:`tconv.conv_transpose` of an all-ones input.

    Examples
    --------
    >>> fig = overlap_figure((3, 3), stride=2)
    >>> fig._suptitle.get_text().endswith("uniformity 0.25: CHECKERBOARD")
    True
    """
    picture = overlap_picture(
        kernel_size, stride, padding, output_padding, dilation, input_size=input_size, weight=weight, groups=groups
    )
    fig = new_figure(*overlap_size(picture))
    draw_overlap(fig, picture)
    return fig
