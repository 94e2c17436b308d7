"""The matplotlib helpers every view shares: figures, labelled cells, outlines, titles, panels.

Only the object-oriented API with the Agg canvas; matplotlib is imported inside
the functions, so importing :mod:`tconv.explain.pictures` costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

CELL = 0.5  # inches per grid cell, at most: figures wider than MAX_WIDTH get smaller cells
DPI = 80
#: The widest figure, in inches: 960 pixels, the docs' column, so that the docs show every figure at its own
#: size and its text at the sizes below.
MAX_WIDTH = 12.0
#: Text sizes in points: no text is smaller than MIN_FONT; numbers in cells are sized to the cells, up to
#: MAX_FONT, and left out where they would need less than MIN_FONT (the panel's title says so).
MIN_FONT = 8.0
MAX_FONT = 10.0
TITLE_FONT = 9.0
INPUT_COLOR = "#1f77b4"
TAP_COLOR = "#d62728"
WINDOW_COLOR = "#2ca02c"
#: What a panel's title adds when its numbers do not fit its cells.
NO_NUMBERS = "(colours only: the numbers do not fit the cells)"


def figure(width: float, height: float) -> Any:
    """A figure on an Agg canvas, at least 3 x 1.6 inches and at most :data:`MAX_WIDTH` wide."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(min(max(width, 3.0), MAX_WIDTH), max(height, 1.6)), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def fit(width_cells: float, height_cells: float, extra_width: float, extra_height: float) -> tuple[float, float]:
    """The size in inches of a figure of grids ``width_cells`` x ``height_cells`` cells plus fixed margins:
    :data:`CELL` inches per cell, less where that would be wider than :data:`MAX_WIDTH`."""
    cell = min(CELL, (MAX_WIDTH - extra_width) / max(width_cells, 1.0))
    return width_cells * cell + extra_width, height_cells * cell + extra_height


def _renderer(ax: Any) -> Any:
    return ax.figure.figure.canvas.get_renderer()


def text_width(ax: Any, text: str, size: float) -> float:
    """The width in points of ``text`` at font ``size``."""
    from matplotlib.font_manager import FontProperties

    renderer = _renderer(ax)
    width, _, _ = renderer.get_text_width_height_descent(text, FontProperties(size=size), ismath=False)
    return width * 72.0 / renderer.dpi


def cell_points(ax: Any, rows: int, cols: int) -> float:
    """The side of one cell in points of a grid drawn by :func:`axes_for` into ``ax`` (equal aspect)."""
    box = ax.bbox  # the axes' slot, in pixels
    dpi = ax.figure.figure.dpi
    return min(box.width / (cols + 0.2), box.height / (rows + 0.2)) * 72.0 / dpi


def number_font(ax: Any, labels: Sequence[str], rows: int, cols: int) -> float | None:
    """The font size that fits the widest of ``labels`` into a cell of this grid (at most :data:`MAX_FONT`), or
    None when that is under :data:`MIN_FONT`: then the cells show colours only."""
    side = cell_points(ax, rows, cols)
    widest = max((text_width(ax, s, 10.0) for s in set(labels)), default=0.0)
    size = min(MAX_FONT, 0.6 * side, 10.0 * 0.92 * side / widest if widest else MAX_FONT)
    return size if size >= MIN_FONT else None


def panel_title(ax: Any, text: str, rows: int = 0, cols: int = 0) -> None:
    """A title at :data:`TITLE_FONT`, wrapped to the width of the grid below it (``rows`` x ``cols`` cells; the
    axes' width when not given)."""
    import textwrap

    width = cell_points(ax, rows, cols) * (cols + 0.2) if cols else ax.bbox.width * 72.0 / ax.figure.figure.dpi
    width = max(width, 10.0 * TITLE_FONT)
    lines: list[str] = []
    for word in text.split(" "):  # greedy, measured
        if lines and text_width(ax, lines[-1] + " " + word, TITLE_FONT) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    ax.set_title("\n".join(lines) if lines else textwrap.fill(text), fontsize=TITLE_FONT)


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
    """Axes for a grid of ``rows`` x ``cols`` cells centred on integer positions, titled (:func:`panel_title`)."""
    ax.set_xlim(-0.6, cols - 0.4)
    ax.set_ylim(rows - 0.4, -0.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if title:
        panel_title(ax, title, rows, cols)


def cells(
    ax: Any,
    values: np.ndarray,
    *,
    scale: float | None = None,
    colors: Sequence[Sequence[str]] | None = None,
    blank: np.ndarray | None = None,
    sized_for: Sequence[str] | None = None,
) -> bool:
    """Draw a 2-d array as cells coloured by value on a diverging scale, with their numbers where they fit.

    The numbers' font is sized to the cells (:func:`number_font`) for the widest of
    their labels, or of ``sized_for`` (every label a panel shows over the frames of an
    animation, so that its font does not change between frames). Returns whether
    the numbers are drawn; when they are not, the caller's title says so
    (:data:`NO_NUMBERS`).
    """
    import matplotlib
    from matplotlib.patches import Rectangle

    cmap = matplotlib.colormaps["RdBu_r"]
    v = as2d(np.asarray(values, dtype=float))
    scale = scale if scale is not None else (float(np.max(np.abs(v))) if v.size else 1.0) or 1.0
    labels = [[label(a) for a in row] for row in v]
    size = number_font(ax, [s for row in labels for s in row] + list(sized_for or ()), *v.shape)
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
            if size is not None:
                ax.text(c, r, labels[r][c], ha="center", va="center", fontsize=size, color=color)
    if size is None:
        panel_title(ax, " ".join([*ax.get_title().split(), NO_NUMBERS]), *v.shape)
    return size is not None


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
    chars = max(40, int(width * 72 / (TITLE_FONT * 0.62)))
    lines = [part for line in text.split("\n") for part in textwrap.wrap(line, chars)]
    fig.suptitle("\n".join(lines), fontsize=TITLE_FONT, y=1 - 0.06 / height)
    return 1 - (0.2 + 0.17 * len(lines) + 0.25) / height


def title_height(text: str, width: float) -> float:
    """The height in inches :func:`title` takes for ``text`` in a figure ``width`` inches wide."""
    import textwrap

    chars = max(40, int(width * 72 / (TITLE_FONT * 0.62)))
    return 0.45 + 0.17 * sum(len(textwrap.wrap(line, chars)) for line in text.split("\n"))


#: Inches: the figure's side margins, the gap between panels (in cells), the height of a panel's title line.
MARGIN = 0.15
GAP = 0.8
TITLE_LINE = TITLE_FONT * 1.3 / 72


def _extent(rows: Sequence[Sequence[tuple[int, int]]]) -> tuple[float, float]:
    """Width and height in cells of panel rows laid out by :func:`layout`."""
    width = max(sum(c + 0.2 for _, c in row) + GAP * (len(row) - 1) for row in rows)
    return width, sum(max(r + 0.2 for r, _ in row) for row in rows)


def layout_size(
    rows: Sequence[Sequence[tuple[int, int]]], title_text: str, title_lines: int = 2
) -> tuple[float, float]:
    """The size in inches of a figure of panel ``rows`` (each a list of grids ``(rows, cols)`` in cells) under a
    title ``title_text``: cells of :data:`CELL` inches, smaller where the figure would be wider than
    :data:`MAX_WIDTH`."""
    width_cells, height_cells = _extent(rows)
    width = min(width_cells * CELL + 2 * MARGIN, MAX_WIDTH)
    cell = (width - 2 * MARGIN) / width_cells
    width = max(width, 5.5)  # room for the title's lines
    height = title_height(title_text, width) + len(rows) * (title_lines * TITLE_LINE + 0.1) + height_cells * cell
    return width, height + 0.1


def first_that_fits(*arrangements: list[list[tuple[int, int]]], smallest: float = CELL) -> list[list[tuple[int, int]]]:
    """The first arrangement of panel rows whose cells stay at least ``smallest`` inches (:data:`CELL` at
    most) within :data:`MAX_WIDTH`, else the last."""
    for rows in arrangements:
        if _extent(rows)[0] * smallest + 2 * MARGIN <= MAX_WIDTH:
            return rows
    return arrangements[-1]


def layout(fig: Any, rows: Sequence[Sequence[tuple[int, int]]], top: float, title_lines: int = 2) -> list[list[Any]]:
    """Axes for panel ``rows`` below the fraction ``top`` of ``fig``: every cell the same size, as large as fits;
    the panels of a row left to right, ``GAP`` cells apart and centred; above each row room for
    ``title_lines`` lines of title."""
    width, height = inches(fig)
    width_cells, height_cells = _extent(rows)
    room = top * height - len(rows) * (title_lines * TITLE_LINE + 0.1) - 0.1
    cell = min((width - 2 * MARGIN) / width_cells, room / height_cells)
    y = top * height
    out = []
    for row in rows:
        y -= title_lines * TITLE_LINE + 0.1
        row_height = max(r + 0.2 for r, _ in row) * cell
        row_width = (sum(c + 0.2 for _, c in row) + GAP * (len(row) - 1)) * cell
        x = (width - row_width) / 2
        axes = []
        for r, c in row:
            w, h = (c + 0.2) * cell, (r + 0.2) * cell
            axes.append(fig.add_axes((x / width, (y - h) / height, w / width, h / height)))
            x += w + GAP * cell
        out.append(axes)
        y -= row_height
    return out


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
