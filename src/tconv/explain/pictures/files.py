"""Writing pictures: PNG figures, GIF animations, and the two animated views."""

from __future__ import annotations

import functools
import io
import itertools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ...geometry import PaddingArg
from . import _drawing as drawing
from ._problem import problem
from .scatter_view import draw_scatter, replay, scatter_size
from .zero_insertion_view import draw_zero_insertion, zero_insertion_size

__all__ = ["save_animation", "save_figure", "scatter_animation", "zero_insertion_animation"]


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
    x: Any,
    w: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    path: str | Path,
    channel: int = 0,
    max_frames: int = 40,
    duration: int = 700,
) -> Path:
    """A GIF of the scatter view: an empty output, then one stamp per frame.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = scatter_animation(np.ones(2), np.ones(3), stride=2, path=os.path.join(d, "s.gif"))
    ...     from PIL import Image
    ...     Image.open(out).n_frames
    3
    """
    p = problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    frames = replay(p)
    steps = [0] + [n + 1 for n in _pick(len(frames), max_frames - 1)]
    draws = (functools.partial(draw_scatter, p=p, frames=frames, step=step) for step in steps)
    return _animate(scatter_size(p), draws, path, duration)


def zero_insertion_animation(
    x: Any,
    w: Any,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    path: str | Path,
    channel: int = 0,
    max_frames: int = 40,
    duration: int = 600,
) -> Path:
    """A GIF of the flipped kernel sliding over the zero-inserted input, one output element per frame."""
    p = problem(x, w, stride, padding, output_padding, groups, dilation, channel)
    positions = list(itertools.product(*(range(o) for o in p.geometry.output_size)))
    draws = (
        functools.partial(draw_zero_insertion, p=p, position=positions[n]) for n in _pick(len(positions), max_frames)
    )
    return _animate(zero_insertion_size(p), draws, path, duration)
