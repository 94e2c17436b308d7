"""The overlap view: how many taps reach each output, the taps per phase, and with weights the real response."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...artifacts import Analysis
from .._format import collapse
from . import _drawing as drawing


def _title(analysis: Analysis) -> str:
    ov = analysis.overlap
    g = ov.geometry
    taps = [list(t) for t in ov.phase_taps] if g.ndim > 1 else list(ov.phase_taps[0])
    return (
        f"Overlap: kernel_size {collapse(g.kernel_size)}, stride {collapse(g.stride)}, "
        f"dilation {collapse(g.dilation)}, padding {analysis.padding!r}, output_padding {analysis.output_padding!r}\n"
        f"taps per phase {taps}, uniformity {ov.uniformity:.3g}: {ov.verdict.upper()}"
    )


def _rows(analysis: Analysis) -> list[list[tuple[int, int]]]:
    g = analysis.overlap.geometry
    row = [drawing.shape(g.output_size), drawing.shape(g.stride)]
    if analysis.weights is None:
        return [row]
    # side by side unless that needs cells under 0.3 inches (a 2-d map stays square; a 1-d one stacks)
    return drawing.first_that_fits([[*row, row[0]]], [row, [row[0]]], smallest=0.3 if g.ndim > 1 else drawing.CELL)


def overlap_size(analysis: Analysis) -> tuple[float, float]:
    """Width and height in inches."""
    return drawing.layout_size(_rows(analysis), _title(analysis))


def _count_colors(counts: np.ndarray) -> list[list[str]]:
    """A colour per count (viridis, the largest count brightest); white for 0."""
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    top = max(int(counts.max()), 1)
    return [
        [matplotlib.colors.to_hex(cmap(0.15 + 0.8 * v / top)) if v else "#ffffff" for v in row]
        for row in drawing.as2d(counts)
    ]


def draw_overlap(fig: Any, analysis: Analysis) -> None:
    """Panels: the overlap map (borders hatched), the taps per phase, and with weights the output of ones."""
    from matplotlib.patches import Rectangle

    ov, weights = analysis.overlap, analysis.weights
    g = ov.geometry
    nd = g.ndim
    top = drawing.title(fig, _title(analysis))
    axes = [ax for row in drawing.layout(fig, _rows(analysis), top) for ax in row]
    r, c = drawing.shape(g.output_size)
    drawing.axes_for(
        axes[0], r, c, f"taps reaching each output (input {'x'.join(map(str, g.input_size))}); hatched: borders"
    )
    drawing.cells(axes[0], ov.counts, colors=_count_colors(ov.counts))
    for pos in zip(*np.nonzero(~ov.interior)):
        r0, c0 = drawing.cell(pos, nd)
        axes[0].add_patch(
            Rectangle((c0 - 0.5, r0 - 0.5), 1, 1, fill=False, hatch="////", edgecolor="#ffffff", lw=0, alpha=0.55)
        )
    r, c = drawing.shape(g.stride)
    drawing.axes_for(axes[1], r, c, "taps per phase")
    drawing.cells(axes[1], ov.phase_counts, colors=_count_colors(ov.phase_counts))
    if weights is not None:
        r, c = drawing.shape(g.output_size)
        drawing.axes_for(
            axes[2], r, c, f"conv_transpose(ones), channel 0: amplitude {drawing.label(weights.amplitude[0])}"
        )
        drawing.cells(axes[2], weights.ones_output()[0])  # (*o) of output channel 0
