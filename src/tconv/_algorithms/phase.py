"""The ``"phase"`` algorithm of ``conv_transpose``: the polyphase (sub-pixel) decomposition.

Along an axis, output ``o`` (full position ``f = o + b``) receives tap ``t`` only
when ``d*t ≡ f (mod s)``. Grouping outputs by that residue, phase
``o = first + s*q`` is a stride-1 correlation over ``q`` with just its taps,
``y[first + s*q] = sum_t x[q + offset_t] @ W_t``
(:func:`tconv._algorithms.taptable.phase_plan`; when ``gcd(s, d) > 1`` some residues
get no tap at all and are the bias alone): ``prod(stride)`` small stride-1
convolutions, no multiplication by an inserted zero, no scatter.

Each phase is computed as shifted-window GEMMs accumulated in place: on the
input, zero-padded and flattened channels-last, every tap's window over all
output rows of the phase is one contiguous row range, so each tap is one GEMM
``(rows x C_in) @ (C_in x C_out)`` added into the phase's accumulator (no column
buffer; the rows between samples and past each row's end are computed and
discarded), in bands of rows computed by our threads with single-threaded BLAS
(:func:`tconv._algorithms.blas.matmul` says why). Then the phase is interleaved into the output,
with bias and layout, in one pass. When every phase reads the same window
(``kernel_size == stride``, no crop) all taps share one GEMM: a single GEMM plus
a depth-to-space.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from .._options import effective
from ..geometry import Geometry
from . import blas as _blas
from . import compiled as _compiled
from . import gemm
from .blocking import blocked
from .problem import Problem, all_finite, batched_shape, channels_last, layout_index
from .taptable import Phase, phase_plans

__all__ = ["phase", "run"]


class _Grid(NamedTuple):
    """The phases of a geometry and the zero-padded input they read, for ``samples`` samples.

    ``plans`` holds the phases of each axis; the input is padded by ``before``
    cells at the start of each axis (and enough at the end) so that every (phase,
    tap) window stays inside, giving ``padded`` cells per axis, flattened in C order
    with strides ``pitch`` (in cells).
    """

    geometry: Geometry
    samples: int
    plans: tuple[tuple[Phase, ...], ...]
    before: tuple[int, ...]
    padded: tuple[int, ...]
    pitch: tuple[int, ...]

    @property
    def cells(self) -> int:
        """Cells of one padded sample."""
        return math.prod(self.padded)

    def phases(self) -> Iterator[tuple[Phase, ...]]:
        """Every N-d phase (one phase per axis), in C order."""
        return itertools.product(*self.plans)

    def span(self, counts: tuple[int, ...]) -> int:
        """Flat rows from a window's start to the last output of a phase with ``counts`` outputs, over all samples."""
        return (self.samples - 1) * self.cells + sum((c - 1) * p for c, p in zip(counts, self.pitch)) + 1

    def start(self, offsets: tuple[int, ...]) -> int:
        """The flat row where the window of input offsets ``offsets`` starts."""
        return sum((u + a) * p for u, a, p in zip(offsets, self.before, self.pitch))


def _grid(geometry: Geometry, samples: int = 1) -> _Grid:
    plans = phase_plans(geometry)
    before, padded = [], []
    for i, plan in zip(geometry.input_size, plans):
        lows = [u for ph in plan for u in ph.offsets] or [0]
        highs = [ph.outputs - 1 + u for ph in plan for u in ph.offsets] or [0]
        before.append(max(0, -min(lows)))
        padded.append(i + before[-1] + max(0, max(highs) - (i - 1)))
    pitch = tuple(math.prod(padded[a + 1 :]) for a in range(geometry.ndim))  # C-order strides of the padded grid
    return _Grid(geometry, samples, plans, tuple(before), tuple(padded), pitch)


def phase(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """The polyphase decomposition of one batch block into ``out`` (see the module docstring)."""
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    grid = _grid(geometry, x.shape[0])
    wg = w.reshape(groups, cig, cog, *geometry.kernel_size)  # (G, Cig, Cog, *k)
    flat = _padded_channels_last(x, grid, problem).reshape(-1, groups, cig)  # (nb*P, G, Cig)
    shared = _single_window(grid.plans)
    if shared is not None:
        _single_gemm(flat, wg, grid, shared, out, problem)
        return
    y = np.empty((groups, grid.samples * grid.cells, cog), dtype=flat.dtype)  # phase accumulator, padded pitch
    # each tap's (Cig, Cog) contiguous: a strided one is not a BLAS operand (NumPy's matmul would run
    # its own loops on it, and gemm_into would refuse it)
    wk = problem.pack("phase", lambda: np.ascontiguousarray(np.moveaxis(wg, (1, 2), (-2, -1))))  # (G, *k, Cig, Cog)
    threads = effective().threads
    for ph in grid.phases():
        counts = tuple(p.outputs for p in ph)
        if 0 in counts or not all(p.taps for p in ph):
            continue  # no output, or a dilation hole (bias only, written by _fill_holes)
        span = grid.span(counts)
        taps = [  # one (tap, offset) per axis: the tap and where its window of input rows starts
            (tuple(t for t, _ in pairs), grid.start(tuple(u for _, u in pairs)))
            for pairs in itertools.product(*(zip(p.taps, p.offsets) for p in ph))
        ]

        def rows(g: int, r0: int, r1: int, taps: list[tuple[tuple[int, ...], int]] = taps) -> None:
            """One band of the phase's rows, every tap added in."""
            acc = y[g, r0:r1]
            for index, (tap, start) in enumerate(taps):
                window = flat[start + r0 : start + r1, g]  # (rows, Cig): contiguous rows
                w_tap = wk[(g,) + tap]  # (Cig, Cog)
                if index == 0:
                    np.matmul(window, w_tap, out=acc)
                elif not _blas.gemm_into(window, w_tap, acc):  # BLAS beta = 1, else a product and an add
                    acc += window @ w_tap

        bands = _compiled.split(span, 2 * threads if span * problem.c_in * cog >= _blas.PARALLEL_FLOPS else 1)
        _blas.parallel_products(rows, [(g, r0, r1) for g in range(groups) for r0, r1 in bands])
        _interleave(y, ph, grid, out, problem)
    _fill_holes(grid, out, problem)


def _footprint(geometry: Geometry, problem: Problem) -> int:
    grid = _grid(geometry)
    phases = math.prod(len(plan) for plan in grid.plans)
    extra = problem.c_out * phases if _single_window(grid.plans) is not None else 0
    p_in, p_out = math.prod(geometry.input_size), math.prod(geometry.output_size)
    # padded channels-last input (and the channels-last copy it is filled from), one phase
    # accumulator, the all-phase GEMM output of the k == s case, and the NumPy interleave's two
    # copies of one phase
    elements = grid.cells * (problem.c_in + problem.c_out + extra) + p_in * problem.c_in
    return (elements + 2 * -(-p_out // max(phases, 1)) * problem.c_out) * problem.dtype.itemsize


_phase_blocked = blocked(phase, _footprint)


def minimum(geometry: Geometry, problem: Problem) -> int:
    """The temporary bytes of phase's smallest piece (a tile of one cell, or a whole sample when it
    has few enough phases to plan cheaply)."""
    from .cost import MAX_PHASES

    tile = _phase_blocked.tile_bytes(geometry, problem, (1,) * geometry.ndim)
    if math.prod(min(s, o) for s, o in zip(geometry.stride, geometry.output_size)) > MAX_PHASES:
        return tile
    return min(tile, _footprint(geometry, problem))


def run(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"phase"``: :func:`phase` in blocks under the memory budget.

    The shifted windows read the zero padding around the input too, so a non-finite
    weight (inf, NaN) would give ``0*inf = NaN`` where its tap meets no input; such
    entries are left to :mod:`.gemm` (which multiplies input elements only) and added.
    With non-finite inputs too, ``gemm`` computes the whole call: that split would multiply
    an infinite input by the zeros put in place of the other part's entries.
    """
    finite = np.isfinite(w)
    if finite.all():
        return _phase_blocked(x, w, geometry, problem)
    if not all_finite(x):
        return gemm.run(x, w, geometry, problem)
    y = _phase_blocked(x, np.where(finite, w, 0), geometry, problem)
    no_bias = replace(problem, bias=np.zeros_like(problem.bias), has_bias=False, packed=None)
    y += gemm.run(x, np.where(finite, 0, w), geometry, no_bias)
    return y


def _padded_channels_last(x: np.ndarray, grid: _Grid, problem: Problem) -> np.ndarray:
    """The samples zero-padded and channels-last: ``(nb, *padded, C_in)`` C-contiguous."""
    nb, size = x.shape[0], grid.geometry.input_size
    xp = np.zeros((nb, *grid.padded, problem.c_in), dtype=x.dtype)
    inner = (slice(None),) + tuple(slice(a, a + i) for a, i in zip(grid.before, size))
    if problem.layout == "channels_first":
        xp[inner] = channels_last(x, problem.layout).reshape(nb, *size, problem.c_in)
    else:
        xp[inner] = x
    return xp


def _single_window(plans: tuple[tuple[Phase, ...], ...]) -> tuple[int, ...] | None:
    """The common offsets when every phase has exactly one tap at the same offset, else None."""
    offsets = []
    for plan in plans:
        per_axis = {u for ph in plan for u in ph.offsets}
        if any(len(ph.taps) != 1 for ph in plan) or len(per_axis) != 1:
            return None
        offsets.append(per_axis.pop())
    return tuple(offsets)


def _single_gemm(
    flat: np.ndarray, wg: np.ndarray, grid: _Grid, offsets: tuple[int, ...], out: np.ndarray, problem: Problem
) -> None:
    """kernel_size == stride (and the like): one GEMM for all phases, then depth-to-space."""
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    span = grid.span(tuple(max(ph.outputs for ph in plan) for plan in grid.plans))
    start = grid.start(offsets)
    phases = list(grid.phases())
    taps = [tuple(p.taps[0] for p in ph) for ph in phases]
    # (G, Cig, F*Cog): the weights of every phase side by side
    wcat = np.stack([wg[(slice(None), slice(None), slice(None)) + t] for t in taps], axis=2)  # (G, Cig, F, Cog)
    wcat = wcat.reshape(groups, cig, len(taps) * cog)
    window = flat[start : start + span].transpose(1, 0, 2)  # (G, span, Cig)
    y = np.empty((groups, grid.samples * grid.cells, len(taps) * cog), dtype=flat.dtype)  # (G, nb*P, F*Cog)
    _blas.matmul(window, wcat, out=y[:, :span])
    for f, ph in enumerate(phases):
        if 0 not in [p.outputs for p in ph]:
            _interleave(y, ph, grid, out, problem, f * cog)


def _interleave(
    y: np.ndarray, ph: tuple[Phase, ...], grid: _Grid, out: np.ndarray, problem: Problem, c0: int = 0
) -> None:
    """Write one phase into every s-th output position, with the bias, in the problem's layout.

    ``y`` is (G, nb*P, W) on the padded pitch; this phase's channels are columns
    ``c0:c0+Cog``.
    """
    geometry, nb, padded = grid.geometry, grid.samples, grid.padded
    groups, cog, nd = problem.groups, problem.cog, geometry.ndim
    counts = [p.outputs for p in ph]
    width = y.shape[2]
    if _compiled.available():
        lead_counts, lead_padded, lead_out = counts[:-1], padded[:-1], geometry.output_size[:-1]
        if nd > 1:
            q_lead = np.indices(lead_counts).reshape(nd - 1, -1)  # (nd-1, E)
            targets = [ph[a].first + geometry.stride[a] * q_lead[a] for a in range(nd - 1)]
            src = np.asarray(np.ravel_multi_index(q_lead, lead_padded), dtype=np.int64)  # (E,) rows of y
            dst = np.asarray(np.ravel_multi_index(targets, lead_out), dtype=np.int64)  # (E,) flat lead outputs
        else:
            src = dst = np.zeros(1, np.int64)  # one lead position
        y5 = y.reshape(groups, nb, math.prod(lead_padded), padded[-1], width)  # (G, nb, L, Q, W)
        sizes = (math.prod(lead_out), geometry.output_size[-1])
        view = out.reshape(batched_shape(nb, problem.c_out, sizes, problem.layout))  # (nb, O_lead, O_last, C) or cf
        kernel = _compiled.kernels()["interleave"]
        last = (ph[-1].first, counts[-1], geometry.stride[-1])
        args = (y5, src, dst, *last, c0, problem.bias, problem.has_bias, view, problem.layout == "channels_last")
        calls = [(*args, t0, t1) for t0, t1 in _compiled.split(nb * len(src), 4 * effective().threads)]
        _compiled.parallel_for(kernel, calls)
        return
    window = (slice(None), slice(None)) + tuple(slice(0, c) for c in counts) + (slice(c0, c0 + cog),)
    yv = y.reshape(groups, nb, *padded, width)[window]  # (G, nb, *counts, Cog)
    positions = tuple(slice(p.first, None, s) for p, s in zip(ph, geometry.stride))
    values = np.moveaxis(yv, 0, -2).reshape(nb, *counts, groups * cog)  # (nb, *counts, C_out)
    if problem.has_bias:
        values = values + problem.bias
    if problem.layout == "channels_first":
        values = np.moveaxis(values, -1, 1)  # (nb, C_out, *counts)
    out[layout_index(problem.layout, slice(None), positions)] = values


def _fill_holes(grid: _Grid, out: np.ndarray, problem: Problem) -> None:
    """Outputs of phases that no tap reaches (dilation holes) are the bias alone."""
    for ph in grid.phases():
        if 0 in [p.outputs for p in ph] or all(p.taps for p in ph):
            continue
        positions = tuple(slice(p.first, None, s) for p, s in zip(ph, grid.geometry.stride))
        out[layout_index(problem.layout, slice(None), positions)] = problem.bias_fill(grid.geometry.ndim)
