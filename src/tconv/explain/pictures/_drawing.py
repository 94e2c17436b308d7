"""The matplotlib helpers every view shares: figures, labelled cells, outlines, titles, panels.

Only the object-oriented API with the Agg canvas; matplotlib is imported inside
the functions, so importing :mod:`tconv.explain.pictures` costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CELL = 0.42  # inches per grid cell
DPI = 80
INPUT_COLOR = "#1f77b4"
TAP_COLOR = "#d62728"
WINDOW_COLOR = "#2ca02c"


def figure(width: float, height: float) -> Any:
    """A figure on an Agg canvas, at least 3 x 1.6 inches."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(width, 3.0), max(height, 1.6)), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def label(v: object) -> str:
    """A cell label: integers without a decimal point, others with 3 significant digits."""
    v = float(v)  # type: ignore[arg-type]
    if v == 0:
        return "0"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    return f"{v:.3g}"


def as2d(a: np.ndarray) -> np.ndarray:
    """A 1-d array as one row."""
    return a.reshape(1, -1) if a.ndim == 1 else a


def cell(index: Sequence[int], ndim: int) -> tuple[int, int]:
    """The (row, column) cell of an index (a 1-d array is one row)."""
    return (0, int(index[0])) if ndim == 1 else (int(index[0]), int(index[1]))


def axes_for(ax: Any, rows: int, cols: int, title: str = "") -> None:
    """Axes for a grid of ``rows`` x ``cols`` cells centred on integer positions, titled."""
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)


def cells(
    ax: Any,
    values: np.ndarray,
    *,
    scale: float | None = None,
    colors: Sequence[Sequence[str]] | None = None,
    blank: np.ndarray | None = None,
) -> None:
    """Draw a 2-d array as labelled cells, coloured by value on a diverging scale."""
    import matplotlib
    from matplotlib.patches import Rectangle

    cmap = matplotlib.colormaps["RdBu_r"]
    v = as2d(np.asarray(values, dtype=float))
    scale = scale if scale is not None else (float(np.max(np.abs(v))) if v.size else 1.0) or 1.0
    labels = [[label(a) for a in row] for row in v]
    longest = max((len(s) for row in labels for s in row), default=1)
    size = min(9.0, 26.0 / max(longest, 2) * 1.25)
    for r in range(v.shape[0]):
        for c in range(v.shape[1]):
            if blank is not None and as2d(blank)[r, c]:
                face: Any = "#f2f2f2"
                rgba: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
            elif colors is not None:
                face = colors[r][c]
                rgba = matplotlib.colors.to_rgba(face)
            else:
                rgba = cmap(0.5 + 0.45 * v[r, c] / scale)
                face = rgba
            ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor=face, edgecolor="#999999", lw=0.5))
            lum = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
            color = "white" if lum < 0.45 else "black"
            ax.text(c, r, labels[r][c], ha="center", va="center", fontsize=size, color=color)


def outline(ax: Any, cells: Sequence[tuple[int, int]], color: str, lw: float = 2.0) -> None:
    """Frame some (row, column) cells."""
    from matplotlib.patches import Rectangle

    for r, c in cells:
        ax.add_patch(Rectangle((c - 0.46, r - 0.46), 0.92, 0.92, fill=False, edgecolor=color, lw=lw))


def box(ax: Any, r0: float, c0: float, rows: int, cols: int, color: str) -> None:
    """A dashed frame around the ``rows`` x ``cols`` cells from (``r0``, ``c0``)."""
    from matplotlib.patches import Rectangle

    ax.add_patch(
        Rectangle((c0 - 0.55, r0 - 0.55), cols + 0.1, rows + 0.1, fill=False, edgecolor=color, lw=1.6, ls="--")
    )


def inches(fig: Any) -> tuple[float, float]:
    """Width and height of a figure or subfigure in inches."""
    return fig.bbox.width / fig.figure.dpi, fig.bbox.height / fig.figure.dpi


def title(fig: Any, text: str) -> float:
    """A wrapped title at the top of ``fig``; returns the fraction of the height left below it."""
    import textwrap

    width, height = inches(fig)
    chars = max(40, int(width * 72 / (9 * 0.56)))
    lines = [part for line in text.split("\n") for part in textwrap.wrap(line, chars)]
    fig.suptitle("\n".join(lines), fontsize=9, y=1 - 0.06 / height)
    return 1 - (0.2 + 0.17 * len(lines) + 0.25) / height


def panels(fig: Any, shapes: Sequence[tuple[int, int]], *, top: float = 0.82, bottom: float = 0.04) -> list[Any]:
    """One row of axes with widths proportional to their grids."""
    widths = [max(c, 1) + 1 for _, c in shapes]
    gs = fig.add_gridspec(
        1, len(shapes), width_ratios=widths, left=0.02, right=0.98, top=top, bottom=bottom, wspace=0.15
    )
    return [fig.add_subplot(gs[0, n]) for n in range(len(shapes))]


def shape(size: Sequence[int]) -> tuple[int, int]:
    """(rows, columns) of a 1-d or 2-d grid."""
    return (1, size[0]) if len(size) == 1 else (size[0], size[1])
