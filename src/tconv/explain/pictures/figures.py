"""The pictures' public functions: one figure per view, all views in one figure, PNG and GIF files.

:func:`problem` checks and resolves the arguments of :func:`tconv.conv_transpose`
once (:mod:`._problem`); every view function takes that :class:`Problem` and hands it
to the module that draws the view: :mod:`._scatter`, :mod:`._zero_insertion`,
:mod:`._matrix`, :mod:`._overlap` (as :func:`overlap_figure` takes an analysis).
"""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...artifacts import Analysis, analyze
from . import _drawing as drawing
from ._matrix import draw_matrix, matrix_size
from ._overlap import draw_overlap, overlap_size
from ._problem import Problem, element, middle, problem
from ._scatter import draw_scatter, replay, scatter_size
from ._zero_insertion import draw_zero_insertion, zero_insertion_size

__all__ = [
    "VIEWS",
    "Problem",
    "explain_figure",
    "matrix_figure",
    "overlap_figure",
    "problem",
    "save_animation",
    "save_figure",
    "scatter_animation",
    "scatter_figure",
    "zero_insertion_animation",
    "zero_insertion_figure",
]


def scatter_figure(
    p: Problem,
    *,
    step: int | None = None,
) -> Any:
    """The scatter view after ``step`` input elements (all of them by default).

    Panels: the input (current element outlined), the kernel, the current stamp on
    the full output (its taps outlined) and the running sum with the output window.

    Parameters
    ----------
    p : Problem
        The problem and the output channel shown (:func:`problem`).
    step : int, optional
        How many scatter steps to show (1 = the first element only).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> x, w = np.array([[-67., -77.], [-117., -127.]]), np.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]])
    >>> fig = scatter_figure(problem(x, w, stride=2), step=1)
    >>> fig.axes[-1].get_title()
    'running sum after 1 of 4 steps'
    """
    frames = replay(p)
    if step is not None and not 0 <= step <= len(frames):
        raise ValueError(f"step must be in [0, {len(frames)}] (one step per input element), got {step}")
    fig = drawing.figure(*scatter_size(p))
    draw_scatter(fig, p, frames, step)
    return fig


def zero_insertion_figure(
    p: Problem,
    *,
    position: Sequence[int] | None = None,
) -> Any:
    """The zero-insertion view of one output element (the first by default).

    Panels: the zero-inserted, padded input with the window of ``position``
    outlined, the flipped kernel, and the output with ``position`` outlined; the
    title spells the sum, which is checked against :func:`tconv.conv_transpose`.

    Examples
    --------
    >>> import numpy as np
    >>> x, w = np.array([[-67., -77.], [-117., -127.]]), np.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]])
    >>> fig = zero_insertion_figure(problem(x, w, stride=2))
    >>> "= -67*-1 = 67" in fig._suptitle.get_text()
    True
    """
    pos = element(position, p.geometry.output_size, "position")
    fig = drawing.figure(*zero_insertion_size(p))
    draw_zero_insertion(fig, p, pos)
    return fig


def matrix_figure(
    p: Problem,
    *,
    output_element: Sequence[int] | None = None,
    input_element: Sequence[int] | None = None,
) -> Any:
    """The matrix view: ``Cᵀ`` as a heat-map with one output element's row and one input element's column.

    ``Cᵀ`` comes from :func:`tconv.conv_transpose_matrix`; ``Cᵀ x`` is checked
    against :func:`tconv.conv_transpose`. Defaults: the middle output element and
    the middle input element.

    Examples
    --------
    >>> import numpy as np
    >>> fig = matrix_figure(problem(np.ones((2, 2)), np.ones((3, 3)), stride=2))
    >>> fig.axes[0].get_title()
    'Cᵀ: 25 x 4 (output elements x input elements)'
    """
    g = p.geometry
    out_el = (
        middle(g.output_size) if output_element is None else element(output_element, g.output_size, "output_element")
    )
    in_el = middle(g.input_size) if input_element is None else element(input_element, g.input_size, "input_element")
    n = p.y.size * p.x.size  # the entries of Cᵀ
    if n > 2**22:
        raise ValueError(f"the matrix has {n} entries, too many to draw; use smaller sizes")
    fig = drawing.figure(*matrix_size(p))
    draw_matrix(fig, p, out_el, in_el)
    return fig


def overlap_figure(analysis: Analysis) -> Any:
    """The overlap map, taps per phase and verdict of :func:`tconv.artifacts.analyze` as a picture.

    With weights (``analyze(..., weight=...)``), a third panel shows
    :func:`tconv.conv_transpose` of an all-ones input (output channel 0).

    Examples
    --------
    >>> from tconv.artifacts import analyze
    >>> fig = overlap_figure(analyze((3, 3), stride=2))
    >>> fig._suptitle.get_text().endswith("uniformity 0.25: CHECKERBOARD")
    True
    """
    ndim = analysis.overlap.geometry.ndim
    if ndim > 2:
        raise ValueError(f"the overlap picture shows 1-d or 2-d configurations, got {ndim} axes")
    fig = drawing.figure(*overlap_size(analysis))
    draw_overlap(fig, analysis)
    return fig


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
    p: Problem,
    *,
    views: Sequence[str] = VIEWS,
    position: Sequence[int] | None = None,
) -> Any:
    """Several views of one problem stacked in one figure (what ``tconv explain --png`` draws).

    ``position`` is the output element the zero-insertion and matrix views show
    (the first by default).

    Examples
    --------
    >>> import numpy as np
    >>> fig = explain_figure(problem(np.arange(1., 4.), np.arange(1., 4.), stride=2), views=("scatter", "overlap"))
    >>> len(fig.subfigs)
    2
    """
    bad = [v for v in views if v not in VIEWS]
    if bad or not views:
        raise ValueError(f"views must be a non-empty selection of {VIEWS}, got {tuple(views)!r}")
    pos = element(position, p.geometry.output_size, "position")
    parts = [_view(name, p, pos) for name in views]
    width = max(size[0] for size, _ in parts)
    heights = [size[1] for size, _ in parts]
    fig = drawing.figure(width, sum(heights))
    subs = fig.subfigures(len(views), 1, height_ratios=heights) if len(views) > 1 else [fig]
    for (_, draw), sub in zip(parts, np.atleast_1d(subs)):
        draw(sub)
    return fig


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write a figure as PNG without metadata that changes between runs (so files are reproducible)."""
    path = Path(path)
    fig.savefig(path, format="png", dpi=drawing.DPI, metadata={"Software": None})
    return path


def _to_image(fig: Any) -> Any:
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=drawing.DPI)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def save_animation(figures: Iterable[Any], path: str | Path, *, duration: int = 700, last_duration: int = 2000) -> Path:
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
    """At most ``max_frames`` of ``range(n)``, evenly spread, first and last included."""
    if n <= max_frames:
        return list(range(n))
    return sorted({round(v) for v in np.linspace(0, n - 1, max_frames)})


def _animate(
    size: tuple[float, float], draws: Iterable[Callable[[Any], None]], path: str | Path, duration: int
) -> Path:
    """One figure of ``size`` per drawing function, written as a GIF."""
    figures = []
    for draw in draws:
        fig = drawing.figure(*size)
        draw(fig)
        figures.append(fig)
    return save_animation(figures, path, duration=duration)


def scatter_animation(
    p: Problem,
    *,
    path: str | Path,
    max_frames: int = 40,
    duration: int = 700,
) -> Path:
    """A GIF of the scatter view: an empty output, then one stamp per frame.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = scatter_animation(problem(np.ones(2), np.ones(3), stride=2), path=os.path.join(d, "s.gif"))
    ...     from PIL import Image
    ...     Image.open(out).n_frames
    3
    """
    frames = replay(p)
    steps = [0] + [n + 1 for n in _pick(len(frames), max_frames - 1)]
    draws = (functools.partial(draw_scatter, p=p, frames=frames, step=step) for step in steps)
    return _animate(scatter_size(p), draws, path, duration)


def zero_insertion_animation(
    p: Problem,
    *,
    path: str | Path,
    max_frames: int = 40,
    duration: int = 600,
) -> Path:
    """A GIF of the flipped kernel sliding over the zero-inserted input, one output element per frame."""
    positions = list(itertools.product(*(range(o) for o in p.geometry.output_size)))
    draws = (
        functools.partial(draw_zero_insertion, p=p, position=positions[n]) for n in _pick(len(positions), max_frames)
    )
    return _animate(zero_insertion_size(p), draws, path, duration)
