"""The scatter view: each input element stamps the scaled kernel into the full output."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...geometry import Geometry
from ..text import output_window, scatter_steps
from . import _drawing as drawing
from ._problem import Problem


@dataclass(frozen=True)
class Frame:
    """One step of the scatter replay of the shown output channel."""

    channel: int  # input channel
    index: tuple[int, ...]  # input element
    value: float
    origin: tuple[int, ...]
    stamp: np.ndarray  # (*full)
    total: np.ndarray  # (*full), all channels so far


def replay(p: Problem) -> list[Frame]:
    """The scatter view of the shown output channel, one input element per frame, checked."""
    g = p.geometry
    frames = []
    done = np.zeros(g.full_size)
    for ci in p.in_channels:
        last = None
        for step in scatter_steps(p.x[ci], p.w[ci, p.channel_in_group], g):
            frames.append(Frame(ci, step.index, step.value, step.origin, step.stamp, done + step.total))
            last = step.total
        if last is not None:
            done = done + last
    if not np.allclose(output_window(done, g), p.y[p.channel]):
        raise RuntimeError("the scatter replay disagrees with conv_transpose; please report this bug")
    return frames


def _canvas(g: Geometry) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per axis, the first position and the size of the drawing: full output and window together."""
    first = tuple(min(0, b) for b in g.crop_begin)
    end = tuple(max(f, b + o) for f, b, o in zip(g.full_size, g.crop_begin, g.output_size))
    return first, tuple(e - f for e, f in zip(end, first))


def _on_canvas(full: np.ndarray, g: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """A full-output array laid on the canvas, and the mask of canvas cells outside the full output."""
    first, size = _canvas(g)
    out = np.zeros(size)
    outside = np.ones(size, dtype=bool)
    dst = tuple(slice(-f, -f + n) for f, n in zip(first, g.full_size))
    out[dst] = full
    outside[dst] = False
    return out, outside


def _title(p: Problem) -> str:
    head = f"Scatter view: {p.describe()}"
    sub = (
        "each input element multiplies the whole kernel and adds it at stride*j (taps dilation apart); "
        "green box: the output window (padding crops, output_padding extends)"
    )
    if p.groups > 1 or p.y.shape[0] > 1:
        sub += f"; output channel {p.channel} sums input channels {p.in_channels[0]}..{p.in_channels[-1]} (its group)"
    return head + "\n" + sub


def _rows(p: Problem) -> list[list[tuple[int, int]]]:
    """The panels in rows: the inputs and the kernel, then the stamp and the running sum on the canvas (one
    row, or for long 1-d canvases and wide figures one row each, aligned)."""
    g = p.geometry
    _, size = _canvas(g)
    top = [drawing.shape(g.input_size)] * min(len(p.in_channels), 3) + [drawing.shape(g.kernel_size)]
    canvas = drawing.shape(size)
    if g.ndim == 1:
        return drawing.first_that_fits([[*top, canvas, canvas]], [top, [canvas], [canvas]])
    return drawing.first_that_fits([[*top, canvas, canvas]], [top, [canvas, canvas]], smallest=0.3)


def scatter_size(p: Problem) -> tuple[float, float]:
    """Width and height in inches."""
    return drawing.layout_size(_rows(p), _title(p))


def _labels(frames: list[Frame]) -> tuple[list[str], list[str]]:
    """Every label the stamp panel and the running-sum panel show over all frames (one font for all of them)."""
    stamps = {drawing.label(v) for f in frames for v in np.ravel(f.stamp)} | {"0"}
    totals = {drawing.label(v) for f in frames for v in np.ravel(f.total)} | {"0"}
    return sorted(stamps), sorted(totals)


def draw_scatter(fig: Any, p: Problem, frames: list[Frame], step: int | None) -> None:
    """Panels: the inputs (current element outlined), the kernel, the current stamp, the running sum."""
    g = p.geometry
    nd = g.ndim
    n = len(frames) if step is None else step
    frame = frames[n - 1] if n >= 1 else None
    first, size = _canvas(g)
    shown_in = p.in_channels[:3]
    top = drawing.title(fig, _title(p))
    axes = [ax for row in drawing.layout(fig, _rows(p), top) for ax in row]
    stamp_labels, total_labels = _labels(frames)
    scale_x = float(np.max(np.abs(p.x))) or 1.0
    for ax, ci in zip(axes, shown_in):
        r, c = drawing.shape(g.input_size)
        drawing.axes_for(ax, r, c, f"input x[{ci}]" if p.x.shape[0] > 1 else "input x")
        drawing.cells(ax, p.x[ci], scale=scale_x)
        if frame is not None and frame.channel == ci:
            drawing.outline(ax, [drawing.cell(frame.index, nd)], drawing.INPUT_COLOR, lw=2.5)
    kci = frame.channel if frame is not None else shown_in[0]
    ax = axes[len(shown_in)]
    r, c = drawing.shape(g.kernel_size)
    drawing.axes_for(ax, r, c, f"kernel w[{kci}, {p.channel_in_group}]" if p.w.shape[:2] != (1, 1) else "kernel w")
    drawing.cells(ax, p.w[kci, p.channel_in_group], sized_for=[drawing.label(v) for v in np.ravel(p.w)])
    rows, cols = drawing.shape(size)
    # the stamp of this step
    ax = axes[-2]
    stamp = frame.stamp if frame is not None else np.zeros(g.full_size)
    drawing.axes_for(
        ax,
        rows,
        cols,
        "stamp" if frame is None else f"stamp: x{list(frame.index)} = {drawing.label(frame.value)} times w",
    )
    canvas, outside = _on_canvas(stamp, g)
    total_scale = float(np.max(np.abs(frames[-1].total))) if frames else 1.0
    scale = max(total_scale, float(np.max(np.abs(canvas))) or 1.0)
    drawing.cells(ax, canvas, blank=outside, scale=scale, sized_for=stamp_labels)
    taps = []
    if frame is not None:
        for t in itertools.product(*(range(k) for k in g.kernel_size)):
            pos = tuple(o + d * tt for o, d, tt in zip(frame.origin, g.dilation, t))
            taps.append(drawing.cell(tuple(q - f for q, f in zip(pos, first)), nd))
        drawing.outline(ax, taps, drawing.TAP_COLOR)
    # the running sum, with the output window
    ax = axes[-1]
    total = frame.total if frame is not None else np.zeros(g.full_size)
    drawing.axes_for(ax, rows, cols, f"running sum after {n} of {len(frames)} steps")
    canvas, outside = _on_canvas(total, g)
    drawing.cells(ax, canvas, blank=outside, scale=total_scale or 1.0, sized_for=total_labels)
    drawing.outline(ax, taps, drawing.TAP_COLOR, lw=1.2)
    wr, wc = drawing.shape(g.output_size)
    br, bc = drawing.cell(tuple(b - f for b, f in zip(g.crop_begin, first)), nd)
    drawing.box(ax, br, bc, wr, wc, drawing.WINDOW_COLOR)
