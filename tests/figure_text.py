"""What a figure's text looks like at the size the docs show it, measured without looking at pixels.

Every line of text matplotlib draws goes through the renderer's ``draw_text``; recording those calls gives
each line's string, font size and box in display pixels, from which the tests check that no two lines
overlap and that none is smaller than :data:`MIN_POINTS` at the docs' size: a figure wider than the docs'
column (:data:`DOCS_WIDTH_PX`) is shown scaled down to it, and its text with it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

#: The width of the docs' column in pixels: a wider figure is shown scaled down to it.
DOCS_WIDTH_PX = 960
#: The smallest readable font size, in points at the docs' size.
MIN_POINTS = 8.0


@dataclass(frozen=True)
class Line:
    text: str
    points: float  # font size at the figure's own size
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in display pixels
    owner: int  # id of the Text artist


def drawn_text(fig) -> list[Line]:
    """Every line of text drawing ``fig`` puts on its canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    lines: list[Line] = []
    original = renderer.draw_text

    def record(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if s.strip():
            w, h, d = renderer.get_text_width_height_descent(s, prop, ismath=ismath)
            if round(angle) % 180 == 90:  # a rotated y label: the box stands on its side
                box = (x - h + d, y, x + d, y + w)
            else:
                box = (x, y - d, x + w, y - d + h)
            lines.append(Line(s, prop.get_size_in_points(), box, id(mtext)))
        return original(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = record
    try:
        fig.draw(renderer)
    finally:
        renderer.draw_text = original
    return lines


def docs_scale(fig) -> float:
    """The factor the docs shrink the figure by (1 when it fits their column)."""
    return min(1.0, DOCS_WIDTH_PX / fig.bbox.width)


def assert_readable(fig, what: str = "figure") -> list[Line]:
    """No two lines of text overlap, and every line is at least MIN_POINTS at the docs' size."""
    lines = drawn_text(fig)
    scale = docs_scale(fig)
    small = [(line.text, round(line.points * scale, 2)) for line in lines if line.points * scale < MIN_POINTS - 1e-6]
    assert not small, f"{what}: text under {MIN_POINTS} pt at the docs' size: {small[:8]}"
    for a, b in itertools.combinations(lines, 2):
        w = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
        h = min(a.box[3], b.box[3]) - max(a.box[1], b.box[1])
        assert w <= 0.5 or h <= 0.5, f"{what}: {a.text!r} and {b.text!r} overlap ({a.box}, {b.box})"
    return lines


def font_sizes(fig) -> dict[int, set[float]]:
    """The font sizes of the numbers in each panel (by the panel's place among the figure's axes)."""
    owners = {id(t): n for n, ax in enumerate(fig.axes) for t in ax.texts}
    sizes: dict[int, set[float]] = {}
    for line in drawn_text(fig):
        if line.owner in owners:
            sizes.setdefault(owners[line.owner], set()).add(line.points)
    return sizes
