"""Several views of one problem stacked in one figure: what ``tconv explain --png`` draws."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...artifacts import analyze
from ...geometry import PaddingArg
from . import _drawing as drawing
from ._problem import Problem, element, middle, problem
from .matrix_view import draw_matrix, matrix_size
from .overlap_view import draw_overlap, overlap_size
from .scatter_view import draw_scatter, replay, scatter_size
from .zero_insertion_view import draw_zero_insertion, zero_insertion_size

__all__ = ["VIEWS", "explain_figure"]

#: The views :func:`explain_figure` draws, in order.
VIEWS = ("scatter", "zero-insert", "matrix", "overlap")


def _view(name: str, p: Problem, position: tuple[int, ...]) -> tuple[tuple[float, float], Callable[[Any], None]]:
    """The size of one view of ``p`` and the function that draws it into a (sub)figure."""
    g = p.geometry
    if name == "scatter":
        return scatter_size(p), lambda fig: draw_scatter(fig, p, replay(p), None)
    if name == "zero-insert":
        return zero_insertion_size(p), lambda fig: draw_zero_insertion(fig, p, position)
    if name == "matrix":
        return matrix_size(p), lambda fig: draw_matrix(fig, p, position, middle(g.input_size))
    analysis = analyze(None, g.stride, p.padding, p.output_padding, g.dilation, weight=p.w, groups=p.groups)
    return overlap_size(analysis), lambda fig: draw_overlap(fig, analysis)


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
) -> Any:
    """Several views of one problem stacked in one figure (what ``tconv explain --png`` draws).

    ``position`` is the output element the zero-insertion and matrix views show
    (the first by default).

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
    p = problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    pos = element(position, p.geometry.output_size, "position")
    parts = [_view(name, p, pos) for name in views]
    width = max(size[0] for size, _ in parts)
    heights = [size[1] for size, _ in parts]
    fig = drawing.figure(width, sum(heights))
    subs = fig.subfigures(len(views), 1, height_ratios=heights) if len(views) > 1 else [fig]
    for (_, draw), sub in zip(parts, np.atleast_1d(subs)):
        draw(sub)
    return fig
