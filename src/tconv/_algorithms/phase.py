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
with bias and layout, in one pass. When every phase's taps are a block of consecutive input
offsets (``kernel_size = m * stride``) and there are many phases, or one tap each
(``kernel_size == stride``), all phases are one GEMM plus one depth-to-space pass
(:class:`_Blocks`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from .._options import effective
from ..geometry import Geometry
from . import blas as _blas
from . import compiled as _compiled
from . import cost as _cost
from . import gemm
from .blocking import blocked
from .problem import Problem, all_finite, batched_shape, channels_last, layout_index
from .taptable import Phase, kept_tables, phase_plans
from .workspace import scratch

__all__ = ["few_inputs", "phase", "planned", "run", "small_blocks"]


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
    blocks = _blocks(grid, problem.c_in)
    tiled = None
    if blocks is not None or (rounded(geometry, problem) is not None and all_finite(x)):
        # (a rounded kernel's zero taps multiply input cells: 0 * inf would be NaN where no tap reaches)
        tiled = _block_plan(geometry, problem, grid.samples)
    if tiled is not None:  # the all-phase GEMM in cache-sized tiles
        tiled(x, w, out, problem.bias if problem.has_bias else None)
        return
    flat = _padded_channels_last(x, grid, problem).reshape(-1, groups, cig)  # (nb*P, G, Cig)
    if blocks is not None:
        _block_gemm(flat, w, grid, blocks, out, problem)
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
                    _blas.mm(window, w_tap, out=acc)
                elif not _blas.gemm_into(window, w_tap, acc):  # BLAS beta = 1, else a product and an add
                    acc += window @ w_tap

        bands = _compiled.split(span, 2 * threads if span * problem.c_in * cog >= _blas.PARALLEL_FLOPS else 1)
        _blas.parallel_products(rows, [(g, r0, r1) for g in range(groups) for r0, r1 in bands])
        _interleave(y, ph, grid, out, problem)
    _fill_holes(grid, out, problem)


def _footprint(geometry: Geometry, problem: Problem) -> int:
    grid = _grid(geometry)
    phases = math.prod(len(plan) for plan in grid.plans)
    blocks = _blocks(grid, problem.c_in)
    whole = rounded(geometry, problem) if blocks is None else None
    if whole is not None:  # the rounded kernel's all-phase GEMM (its phases as many, each of more taps)
        blocks = _blocks(_grid(whole), problem.c_in)
    # the all-phase GEMM's output and columns (taps per phase x C_in)
    extra = problem.c_out * phases + blocks.taps * problem.c_in if blocks is not None else 0
    p_in, p_out = math.prod(geometry.input_size), math.prod(geometry.output_size)
    # padded channels-last input (and the channels-last copy it is filled from), one phase
    # accumulator, the all-phase GEMM's output and columns, and the NumPy interleave's two
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


class _Blocks(NamedTuple):
    """Every phase's taps as one block of ``taps`` consecutive input offsets per axis (``kernel = m *
    stride``, no dilation: FCN's k64 s32, DCGAN's k4 s2, U-Net's k2 s2), so that one GEMM computes all
    phases: row ``R`` of the padded input grid, with the ``taps`` windows ``R + j`` side by side as
    columns, times the weights of every phase side by side.

    Per axis: ``tap[p][j]``, the tap of phase ``p`` at its ``j``-th offset, and ``base[p]``, the
    padded row of phase ``p``'s first output (its output ``q`` is row ``base[p] + q``).
    """

    per_axis: tuple[int, ...]
    tap: tuple[tuple[tuple[int, ...], ...], ...]
    base: tuple[tuple[int, ...], ...]

    @property
    def taps(self) -> int:
        """Column windows: taps per phase."""
        return math.prod(self.per_axis)


def _blocks(grid: _Grid, c_in: int | None) -> _Blocks | None:
    """The phases as blocks of consecutive offsets (:class:`_Blocks`), or None: where some phase's taps
    are not ``m`` consecutive offsets with the same ``m`` for every phase (``k`` not a multiple of ``s``,
    dilation, holes), or without the compiled kernels (its depth-to-space is one); and for ``c_in``
    input channels, where :data:`BLOCK_PHASES` and :data:`BLOCK_CHANNELS` do not take the all-phase
    GEMM (None: wherever it applies)."""
    if not _compiled.available():
        return None
    phases = math.prod(len(plan) for plan in grid.plans)
    per_axis, taps, bases = [], [], []
    for plan, before in zip(grid.plans, grid.before):
        live = [ph for ph in plan if ph.outputs]
        m = len(live[0].taps) if live else 0
        tap_rows, base_row = [], []
        for ph in plan:
            if not ph.outputs:  # a phase with no output: its columns are computed and never read
                tap_rows.append((0,) * m)
                base_row.append(before)
                continue
            order = sorted(zip(ph.offsets, ph.taps))
            low = order[0][0] if order else 0
            if len(order) != m or m == 0 or [u for u, _ in order] != list(range(low, low + m)):
                return None
            tap_rows.append(tuple(t for _, t in order))
            base_row.append(low + before)
        per_axis.append(m)
        taps.append(tuple(tap_rows))
        bases.append(tuple(base_row))
    nd = grid.geometry.ndim  # (4-d and more: the phase-by-phase GEMMs, as measured nowhere)
    few_channels = c_in is not None and c_in <= (BLOCK_CHANNELS if nd <= 2 else FEW_INPUTS[3] if nd == 3 else 0)
    if c_in is not None and math.prod(per_axis) > 1 and phases < BLOCK_PHASES and not few_channels:
        return None
    return _Blocks(tuple(per_axis), tuple(taps), tuple(bases))


#: Phases from which :func:`phase` computes a kernel of several taps per phase as one GEMM
#: (:class:`_Blocks`; one tap per phase always is). Measured against the phase-by-phase GEMMs, A/B:
#: 8.3x on FCN-32s' k64 s32 (1024 phases), 2.2x on FCN-8s' k16 s8 (64), 1.7x on a k8 s4 layer of 16
#: channels (16); with 4 phases of 4 taps (DCGAN's k4 s2) 0.96x, and with 8 phases of 8 taps (a 3-d
#: k4 s2 layer, 64 -> 32 channels at 24^3) 0.77x: its columns are 8x the input, while the phases'
#: GEMMs are few and large. With one tap per phase (k = s) 1.0-1.7x (U-Net's 2-d and 3-d k2 s2); on
#: the 3-d layers ``"auto"`` sends to ``phase`` with 27 or 64 phases (k6 s3, k8 s4) 1.1-1.65x.
BLOCK_PHASES = 16
#: ... and, in 1-d and 2-d, with at most this many input channels whatever the phases: each phase's
#: GEMMs sum over ``C_in`` only (one per tap), the all-phase GEMM over ``taps*C_in``. In 3-d with at most
#: ``FEW_INPUTS[3]``: there a k4 s2 layer's phase-by-phase GEMMs of 3-32 input channels each ran 1.4-13x
#: slower than the all-phase GEMM in tiles (8 -> 8 channels at 33^3: 70.9 -> 7.9 ms; 32 -> 32 at 24^3:
#: 31.3 -> 21.1), which 3-d layers take since its tiles may hold output lead rows out of the output's
#: order (:class:`_BlockTables`); on 40 random 3-d layers of 2-96 input channels the all-phase GEMM was
#: never more than 1.05x slower than the phase-by-phase GEMMs.
BLOCK_CHANNELS = 32
#: Multiply-adds (x2) from which :func:`_block_plan` shares its tiles among the threads: below it, on
#: this stop's 2-vCPU Xeon, a second thread's hand-off cost more than its share (FCN's x2 up-scoring,
#: 14 MFLOP: 0.27 ms prepared on one thread, 0.33 on two).
BLOCK_PARALLEL_FLOPS = 20_000_000
#: Bytes of the all-phase weight up to which :func:`_block_plan`'s tiles each multiply by it (BLAS packs
#: it again for every tile's GEMM); larger ones (FCN-32s' k64 s32: 1024 phases, 7 MiB) take
#: :func:`_block_gemm`'s one GEMM: 11.3 ms there against 15.5 in tiles of one lead row.
BLOCK_WEIGHT_BYTES = 2**20
#: Output channels from which ``"auto"`` takes ``phase``'s planned all-phase GEMM for a small layer of
#: few input channels (:func:`small_blocks`); with fewer, ``gemm``'s transposed orientation writes each
#: output row along the input's (32 -> 3 channels, k4 s2 at 32^2: 0.30 ms with ``gemm``, 0.59 here).
BLOCK_OUTPUTS = 8
#: Bytes of the all-phase weight up to which ``"auto"`` takes it for a small layer (:func:`small_blocks`):
#: a plain call picks it from the weight on every call, and larger ones sat on small samples whose
#: block grid is mostly padding (16 -> 256 channels at 4 x 4, k8 s4: 1 MiB, 0.96x ``gemm``; 24 -> 16 at
#: 5 x 5, k8 s2: 96 KiB, 0.79x).
BLOCK_AUTO_WEIGHT = 64 * 2**10


#: Input channels up to which ``"auto"`` takes ``phase`` over ``gemm`` for a kernel of whole multiples of
#: the stride (:func:`few_inputs`): in 2-d, in 1-d at stride 2, and in 3-d (where :func:`_blocks` takes the
#: all-phase GEMM up to as many, whatever the phases). In 1-d 16 since 7 December (it was 8, the most the
#: Xeon's sweep had tried there): on Zen 3 (in one process, alternating, min of 7; a random draw had
#: found 2 samples of 16 -> 512 channels, k32 s2, 2.35x slower than ``phase``) ``phase`` ran 1.03-1.94x
#: ``gemm``'s speed on ten 1-d stride-2 layers of 10-16 input and 8-1024 output channels (k6-k32, 200-3000
#: samples), and 1.2-1.5x at 24 and 32 inputs, left out as 2-d's bound is.
FEW_INPUTS = {3: 32, 2: 16, 1: 16}
#: In 3-d, input channels above which :func:`few_inputs` takes the all-phase GEMM only where its block grid
#: (the input grown by ``m - 1`` rows per axis) has at most :data:`BLOCK_GRID_GROWTH` times the input's
#: pixels: on small volumes the grid is mostly padding (24 -> 32 channels at 8^3, k8 s2: 2.6 times the
#: input, 0.67x ``gemm``; 32 -> 32 at 4^3: 5.4 times, 0.38x; 32 -> 32 at 8^3, k4 s2: 1.95 times, 1.13x).
FEW_INPUTS_ANY_GRID = 16
#: See :data:`FEW_INPUTS_ANY_GRID`.
BLOCK_GRID_GROWTH = 2.0
#: The least output channels of such a layer (:func:`few_inputs`), by dimensions.
FEW_INPUTS_OUTPUTS = {3: 2, 2: 8, 1: 8}
#: In 2-d, input channels up to which :func:`few_inputs` takes ``phase`` too where the kernel is at least
#: :data:`LONG_MULTIPLES` whole strides on every axis (above ``FEW_INPUTS[2]``; the kernel as it is, not
#: rounded). Measured (7 December, Zen 3, in one process, alternating, min of 7; a held-out training draw
#: had found one 24 -> 24 k8 s2 forward 2.05x slower than ``phase``): on 14 random 2-d layers of 17-32
#: input and 8-128 output channels where ``"auto"`` ran ``gemm``, k6 s2 to k12 s4 at 21^2-93^2, ``phase``
#: ran 0.96-2.58x ``gemm``'s speed, 1.20x or more on 13 (24 -> 48 k8 s2 on 86^2: 23.2 -> 9.0 ms;
#: 17 -> 48 k12 s3: 15.0 -> 5.8); at two strides (k4 s2) 0.73-1.25x, so not there (Winograd's rule takes
#: kernels of two strides, k4 s2, k6 s3, k8 s4, where ``phase`` ran 0.78-1.24x its speed on ten).
FEW_LONG_INPUTS = 32
#: See :data:`FEW_LONG_INPUTS`.
LONG_MULTIPLES = 3
#: ... and where the all-phase GEMM's block grid (the input grown by ``m - 1`` cells per axis) has at most
#: this many times the input's pixels: on small images it is mostly padding (one 12^2 sample of 24 -> 64
#: and 24 -> 256 channels, k8 s2: 0.75x and 0.82x ``gemm``; 4 x 10^2 of 32 -> 64, k6 s2: 0.88x; from 16^2,
#: 1.27 times, 1.15-2.15x on five).
LONG_GRID_GROWTH = 1.3


def few_inputs(geometry: Geometry, problem: Problem, n: int) -> bool:
    """Whether ``"auto"`` computes with ``phase`` a layer its rules give to ``gemm`` (or to ``direct``, the
    few input channels' rule, or in 3-d to the phase-by-phase ``phase``): one group, 2 to
    :data:`FEW_INPUTS` input channels and at least :data:`FEW_INPUTS_OUTPUTS` output channels, no
    dilation, a stride above 1 and on every axis a kernel of ``m * stride`` taps with ``m >= 2`` -- in
    2-d at any stride, in 1-d at stride 2 with ``m >= 3`` -- from
    :data:`tconv._algorithms.gemm.SMALL_FLOPS` on (smaller layers: :func:`small_blocks`).

    There ``gemm``'s GEMM sums over ``C_in`` terms alone (an outer product when ``C_in`` is small) into
    ``k * C_out`` columns per input pixel, which its gather adds ``m`` at a time; each phase of ``phase`` is
    a stride-1 layer of ``m`` taps per axis whose GEMM sums over ``m * C_in`` (per axis) and writes each
    output once. Measured (6 December, Xeon, two threads, min of 5 calls; 84 layers of 20-300 MFLOP, 2-32
    input channels, 8-96 output channels, k3-k32 at strides 2-8): in 2-d with up to 16 input channels and
    whole multiples, 0.96-4.2x ``gemm``'s speed on all 14 such layers (k4 s2 1.07-2.64x, k6 s2 1.18-4.21x,
    k8 s2 1.31-3.90x, k8 s4 1.24-1.91x); in 1-d at stride 2 with ``m >= 3`` and up to 8 input channels
    0.98-3.70x on 9 (k16 s2 3.26-3.70x: a 4 -> 24 layer on 8 x 3830 samples, 4.8 -> 1.6 ms, PyTorch 2.9; up
    to 16 input channels since, measured on Zen 3: :data:`FEW_INPUTS`). Not taken: kernels that are not a
    multiple of the stride (k3 s2, k5 s2: 0.21-0.92x, phases of unequal taps), 1-d at larger strides (k8 s4
    0.17-0.59x, k16 s4 0.63-1.40x, k32 s8 0.24-1.97x) and 32 input channels (0.22-1.20x). Checked on the
    1 655 layers of ``"auto"``'s check (the named ones, the other models' and 40 random draws of 40): the
    rule changed 15, of which the 6 it keeps ran 1.32-3.24x as fast (A/B, min of 5 calls); the others, left
    out by the bounds on output channels and size, were small calls of 1-4 output channels (0.41-0.86x) or a
    4 x 4 input (0.67x).

    Against ``direct``, which the rules give layers of up to 8 input and 64 or more output channels
    (``tconv._algorithms.FEW_INPUT_CHANNELS``), on 24 random 2-d layers of 2-8 -> 64-256 channels (k4 s2
    to k16 s8, 19-570 MFLOP): 0.97-3.6x, 1.9x in geometric mean (a held-out 4 -> 256 k8 s2 layer at 15^2,
    8 samples: 10.3 -> 4.3 ms, PyTorch 7.3); in 1-d, where this rule takes stride 2 only, 1.3-2.7x on
    three (at strides 3-8 ``phase`` was 0.3-1.0x).

    In 3-d (where ``"auto"``'s rules said ``gemm``, rule 5's phase-by-phase ``phase`` or rule 3's
    ``direct``): 2 to 32 input channels (above :data:`FEW_INPUTS_ANY_GRID`, only where the block grid
    is at most :data:`BLOCK_GRID_GROWTH` times the input), at least 2 output channels, ``m >= 1`` on
    every axis and ``m >= 2`` on some, and an all-phase weight that :func:`_block_plan`'s tiles take
    (:data:`BLOCK_WEIGHT_BYTES`). A random held-out layer, 2 samples of 3 -> 4 channels at 21^3, k8 s2,
    ran rule 5's phase-by-phase GEMMs (512 GEMMs of 3 input channels each) in 214 ms against PyTorch's
    13: 3.7-3.9 ms in tiles. Measured (6 December, Xeon, two threads, min of 3 calls) on 40 random 3-d
    layers of 2-96 -> 1-64 channels (k4 s2, k6 s2, k8 s2, k6 s3, k8 s4, k9 s3, k12 s4; 20-650 MFLOP):
    the tiled all-phase GEMM ran 1.5-6.5x the better of ``gemm`` and the phase-by-phase GEMMs on the
    layers of up to 16 input channels and 8 phases (k4 s2 3 -> 8 at 26^3 28.3 -> 5.4 ms), 1.0-1.1x
    where ``phase`` took it already (16 phases or more), and 0.17-0.67x on large channel counts over
    small volumes (96 -> 64 at 3^3 k12 s4, 32 -> 32 at 4^3 k8 s2), which the bounds leave out; it beat
    rule 3's ``direct`` on 3-d layers of 2-8 -> 64-192 channels (1.1-4.2x). One output channel stays
    with ``gemm``'s transposed orientation (16 -> 1 at 24^3, k4 s2: 0.8 against 1.3 ms)."""
    if problem.groups != 1 or geometry.ndim not in FEW_INPUTS or any(d != 1 for d in geometry.dilation):
        return False
    most = FEW_LONG_INPUTS if geometry.ndim == 2 else FEW_INPUTS[geometry.ndim]
    if not 2 <= problem.cig <= most or problem.cog < FEW_INPUTS_OUTPUTS[geometry.ndim]:
        return False
    if _cost.useful_flops(geometry, problem, n) < gemm.SMALL_FLOPS:
        return False
    if any(s == 1 for s in geometry.stride):  # a convolution: rule 2's im2col, or the register tiles
        return False
    whole = rounded(geometry, problem)  # a kernel rounded up to whole multiples of the stride
    if whole is not None and geometry.ndim == 2:
        geometry = whole  # (rounded() holds the 2-d bounds)
    if whole is not None and geometry.ndim == 3:  # over gemm where its GEMM sums few terms
        stride = min(geometry.stride)
        few = problem.cig <= ROUNDED_FEW_INPUTS and (stride >= 3 or problem.cog >= ROUNDED_OUTPUTS)
        if not (few or (stride >= 4 and problem.cig <= ROUNDED_WIDE_INPUTS)):
            return False
        geometry = whole
    multiples = [k // s if k % s == 0 else 0 for k, s in zip(geometry.kernel_size, geometry.stride)]
    if geometry.ndim == 1:
        return geometry.stride[0] == 2 and multiples[0] >= 3
    if geometry.ndim == 3:  # the tiled all-phase GEMM, not its untiled form nor the phase-by-phase GEMMs
        if not all(m >= 1 for m in multiples) or all(m == 1 for m in multiples):
            return False
        if problem.cig > FEW_INPUTS_ANY_GRID and _grid_growth(geometry, multiples) > BLOCK_GRID_GROWTH:
            return False
        return _tiled_blocks(geometry, problem)
    if problem.cig > FEW_INPUTS[2]:  # more input channels: long kernels on images not much smaller than the grid
        return all(m >= LONG_MULTIPLES for m in multiples) and _grid_growth(geometry, multiples) <= LONG_GRID_GROWTH
    return all(m >= 2 for m in multiples)


def _grid_growth(geometry: Geometry, multiples: list[int]) -> float:
    """How many times the input's pixels the all-phase GEMM's block grid holds: the input grown by
    ``m - 1`` cells per axis, ``m`` the kernel's whole strides there (:func:`few_inputs`' bounds)."""
    return math.prod((i + m - 1) / i for i, m in zip(geometry.input_size, multiples))


def few_inputs_grouped(geometry: Geometry, problem: Problem, n: int) -> bool:
    """Whether ``"auto"`` computes with ``phase`` a grouped layer its rules give to ``gemm`` (:func:`few_inputs`
    is for one group): 2-d, at most :data:`GROUPED_FEW_GROUPS` groups of 2 to :data:`GROUPED_FEW_INPUTS`
    input and at least :data:`GROUPED_FEW_OUTPUTS` output channels, no dilation, from
    :data:`tconv._algorithms.gemm.SMALL_FLOPS` on, and a kernel of at least :data:`GROUPED_FEW_KERNEL` taps
    on each axis that is a whole multiple (two or more) of its stride there (not rounded up)."""
    if geometry.ndim != 2 or any(d != 1 for d in geometry.dilation) or problem.groups > GROUPED_FEW_GROUPS:
        return False
    if not 2 <= problem.cig <= GROUPED_FEW_INPUTS or problem.cog < GROUPED_FEW_OUTPUTS:
        return False
    if _cost.useful_flops(geometry, problem, n) < gemm.SMALL_FLOPS:
        return False
    return all(
        k >= GROUPED_FEW_KERNEL and s > 1 and k % s == 0 and k // s >= 2
        for k, s in zip(geometry.kernel_size, geometry.stride)
    )


#: The most groups of a grouped layer that ``"auto"`` gives to ``phase`` (:func:`few_inputs_grouped`), ...
#: its most input and least output channels per group, and its least kernel taps per axis. Fitted on 16
#: random 2-d grouped layers of 2-16 input channels a group, kernels of whole multiples of the stride
#: (7 December, the AMD EPYC without AVX-512, two threads, min of two rounds of at least 5 calls):
#: ``phase`` ran 1.11-2.68x ``gemm``'s speed (``"auto"``'s choice) on the 7 that the first bounds took
#: (k8 s2 and k8 s4, 2-4 groups of 12-64 output channels; 16 -> 128 channels in 4 groups at 46 x 46, k8
#: s2: 8.4 -> 3.1 ms), 0.19-0.81x on the 9 they left out: every k4 s2 and k6 s3 kernel (0.19-0.79x), 8
#: groups (0.19-0.65x), 8 output channels a group (0.54-0.81x). Then checked on the 32 layers of 30 000
#: (``random_layers(30, S)``, S = 0-999) that those bounds changed: 0.18-6.2x, so two more bounds --
#: at most 12 input channels a group (16: 0.18-0.61x on four, one 64 -> 64 layer of 4 groups at 30 x 30
#: 2.2 -> 12.1 ms) and ``gemm``'s layers only (over ``direct``'s few input channels, 0.77-1.57x on nine,
#: 0.98x in geometric mean) -- leaving 19, at 0.72-6.2x, 1.57x in geometric mean (4 -> 96 channels in 2
#: groups at 93 x 93: 42 -> 6.8 ms; the 0.72x an 8 x 8 input); a further held-out check is in
#: ``docs/performance.md``. A held-out layer of the benchmark (random:30:6301, one sample of 24 -> 192
#: channels in 4 groups at 75 x 75, k8 s2 p3) ran 64 ms with ``gemm``, 22.6 with ``phase``.
GROUPED_FEW_GROUPS = 4
#: See :data:`GROUPED_FEW_GROUPS`.
GROUPED_FEW_INPUTS = 12
#: See :data:`GROUPED_FEW_GROUPS`.
GROUPED_FEW_OUTPUTS = 12
#: See :data:`GROUPED_FEW_GROUPS`.
GROUPED_FEW_KERNEL = 8


#: Input channels up to which :func:`few_inputs` takes a rounded kernel (:func:`rounded`) where ``"auto"``'s
#: rules said ``gemm`` or ``direct`` -- with at least :data:`ROUNDED_OUTPUTS` output channels where some
#: stride is 2 -- and up to :data:`ROUNDED_WIDE_INPUTS` at strides of 4 or more. Fitted on 47 random 3-d
#: layers where ``"auto"`` said ``gemm`` or ``direct`` (6 December, Xeon, two threads, min of 3 calls):
#: the 23 the bounds take 1.14-7.0x as fast (k6-k13 at stride 4 with 16-24 input channels 1.9-7.0x; 2-12
#: input channels at strides 2-4 1.14-4.5x), but for a 3 -> 64 layer of 6^3, 0.61x (1.07 against 0.65
#: ms); left to ``gemm``, 0.36-1.02x rounded on 23 of 24: 16-32 input channels at strides 2-3, 1-3
#: output channels at stride 2 (8 -> 2 k7 s2 0.87x, 12 -> 3 k5 s2 0.91x; but 12 -> 3 k7 s2 2.3x).
ROUNDED_FEW_INPUTS = 12
#: See :data:`ROUNDED_FEW_INPUTS`.
ROUNDED_OUTPUTS = 4
#: See :data:`ROUNDED_FEW_INPUTS`.
ROUNDED_WIDE_INPUTS = 24
#: The dimensions in which :func:`phase` rounds kernels up (:func:`rounded`).
ROUNDED_DIMS = (2, 3)
#: The most multiply-adds a kernel rounded up to whole multiples of the stride may add, as a factor of the
#: kernel's taps, by dimensions (:func:`rounded`): in 3-d k3 s2 is (4/3)^3 = 2.37, k5 s2 1.73, k7 s2
#: 1.49; in 2-d 1.7 leaves out k3 s2 and k6 s4 (1.78), which no layer within the other 2-d bounds was
#: measured at (the eight 2-d layers of 1.78 measured, outside those bounds, ran 0.28-0.58x but one).
ROUNDED_GROWTH = {2: 1.7, 3: 2.5}
#: In 2-d, the least output channels for which :func:`rounded` rounds a kernel up (and, as in 3-d, up to
#: ``FEW_INPUTS[2]`` input channels). Measured (6 December, Xeon, two threads, min of 2 x 3 calls) on 50
#: random 2-d layers of 2-32 -> 1-128 channels, k3-k13 at strides 2-4, against ``"auto"``'s choice
#: before (``gemm``, ``direct`` or Winograd): on the 22 of 16 or more output channels, up to 16 input
#: channels and at most 1.7 times the taps, 1.08-5.7x (k13 s4 4.0-5.7x, 12 -> 128 k7 s2 at 104^2
#: 2.5x), 0.93x on one (16 -> 64 k5 s2 at 27^2, a 0.8 ms call); with 1-8 output channels 0.19-1.3x
#: (0.28x for one output channel), with 21-32 input channels 0.53-2.0x.
ROUNDED_OUTPUTS_2D = 16


def whole_kernel(geometry: Geometry) -> Geometry | None:
    """``geometry`` with each axis's kernel rounded up to a whole multiple of its stride by zero taps after
    its last: the same output window (the full output grows at its end, and so does the crop), or None
    where every kernel is a whole multiple already or an axis is dilated (its phases are not blocks)."""
    if any(d != 1 for d in geometry.dilation):
        return None
    kernel = tuple(-(-k // s) * s for k, s in zip(geometry.kernel_size, geometry.stride))
    return None if kernel == geometry.kernel_size else replace(geometry, kernel_size=kernel)


def rounded(geometry: Geometry, problem: Problem) -> Geometry | None:
    """The geometry of zero-padded kernel taps (:func:`whole_kernel`) on which :func:`phase` computes a 3-d
    or 2-d layer of few input channels whose kernel is not a whole multiple of the stride, as the tiled
    all-phase GEMM (:func:`_block_plan`), or None: one group, 2 to ``FEW_INPUTS[3]`` input channels (2-d:
    ``FEW_INPUTS[2]``, and :data:`ROUNDED_OUTPUTS_2D` output channels or more), a stride above 1 on every
    axis, at most :data:`ROUNDED_GROWTH` times the taps, and the rounded kernel's all-phase weight within
    :data:`BLOCK_WEIGHT_BYTES`. Its phases' taps are then blocks of consecutive offsets,
    each phase as many, where the kernel's own phases have unequal taps (k7 s2: 4 and 3 per axis), which
    the phase-by-phase GEMMs take one tap at a time (a GEMM of ``C_in`` terms per tap and phase). The
    added taps multiply input cells by zero, so a call with an infinite or NaN input does not take it.

    Measured (6 December, Xeon, two threads, min of 3 calls): a held-out 3 -> 24 channel layer at 23^3,
    k7 s2, ran 85-103 ms through ``"auto"``'s choice before (PyTorch 21-25): 10.4 ms rounded to k8. On
    80 random 3-d layers of 2-32 -> 1-64 channels (k3-k13 at strides 2-4, 10 M to 3 G multiply-adds)
    where the rounded kernel applies: against the phase-by-phase GEMMs ``"auto"`` ran on 43 of them,
    1.08-29x on 41 (k3 s2 with 16 and 21 input channels 0.88x and 0.75x); against ``gemm``, see
    :data:`ROUNDED_FEW_INPUTS` (:func:`few_inputs`, which ``"auto"`` asks)."""
    if geometry.ndim not in ROUNDED_DIMS or problem.groups != 1 or not 2 <= problem.cig <= FEW_INPUTS[3]:
        return None
    if any(s == 1 for s in geometry.stride):
        return None
    whole = whole_kernel(geometry)
    if whole is None:
        return None
    growth = math.prod(whole.kernel_size) / math.prod(geometry.kernel_size)
    if growth > ROUNDED_GROWTH[geometry.ndim]:
        return None
    if geometry.ndim == 2 and (problem.cig > FEW_INPUTS[2] or problem.cog < ROUNDED_OUTPUTS_2D):
        return None
    # The tiles' check plans the rounded kernel's phases (70-90 us), and a plain call asks it up to four
    # times (auto's rule, the budget's footprint, phase, the tile plan): kept with the tap tables.
    kind = f"phase-rounded-{problem.c_in}-{problem.c_out}-{problem.dtype.itemsize}"
    return kept_tables(kind, whole, lambda g: (g if _tiled_blocks(g, problem) else None,))[0]


def _tiled_blocks(geometry: Geometry, problem: Problem) -> bool:
    """Whether :func:`phase` computes this problem as the tiled all-phase GEMM (:func:`_block_plan`): the
    phases are blocks of consecutive offsets for its input channels (:func:`_blocks`) and their weight
    fits :data:`BLOCK_WEIGHT_BYTES`."""
    if _cost.phase_cells(geometry) is None:
        return False
    grid = _grid(geometry)
    blocks = _blocks(grid, problem.c_in)
    return blocks is not None and _block_weight_bytes(grid, blocks, problem) <= BLOCK_WEIGHT_BYTES


def _block_weight_bytes(grid: _Grid, blocks: _Blocks, problem: Problem) -> int:
    """Bytes of the all-phase weight (:func:`_block_weight`): ``taps * C_in`` rows of ``F * C_out``."""
    phases = math.prod(len(plan) for plan in grid.plans)
    return blocks.taps * problem.c_in * phases * problem.c_out * problem.dtype.itemsize


def small_blocks(geometry: Geometry, problem: Problem, n: int, compiled: bool) -> bool:
    """Whether ``"auto"`` computes this problem with ``phase``'s planned all-phase GEMM (:func:`planned`)
    where its rules said ``gemm`` (or, in 2-d, ``direct``): one group, 1-d or 2-d, 2 to
    :data:`BLOCK_CHANNELS` input and at least :data:`BLOCK_OUTPUTS` output channels, a stride above 1, a
    kernel of ``m * stride`` taps with ``m > 1`` on some axis (stamps that overlap), an all-phase weight
    of at most :data:`BLOCK_AUTO_WEIGHT`, under :data:`tconv._algorithms.gemm.SMALL_FLOPS`, with the
    compiled kernels (``compiled``) for its dtype.

    There ``gemm``'s GEMM sums over ``C_in`` alone and its gather adds ``m`` taps per axis for every
    output, where the all-phase GEMM sums over ``taps * C_in`` and writes each output once. Prepared
    calls on this stop's Xeon (2 threads allowed, the better of 1 and 2 for each): FCN's x2
    up-scoring (4 samples of 21 -> 21 channels at 16 x 16, k4 s2) 0.37 -> 0.27 ms, channels-last
    0.32 -> 0.21; 8 -> 8 channels at 32 x 32 0.48 -> 0.28; 3 -> 16 0.86 ("direct") -> 0.32; one
    21-channel sample 0.092 -> 0.087; a 1-d 16 -> 16 k8 s4 layer 0.139 -> 0.129. Larger layers of
    the kind (58-67 MFLOP) were within 0.8-1.2x of ``gemm`` and keep it, as do 48 and 64 channels
    (0.56-0.65x). Over the 1 655 layers of ``"auto"``'s check (the named ones, the other models' and
    40 random seeds of 40) this changes the choice on 14, each faster, A/B in one process (min of 3
    rounds, two threads): 1.07-2.81x, FCN's x2 up-scoring 1.60x. Left out after that check: 1-d layers
    that ``direct`` takes (3 -> 96 channels k32 s8: 0.89x; 8 -> 64 k8 s4: 0.79x), stride 1 (0.76x on a
    1-d k4 layer) and larger all-phase weights (:data:`BLOCK_AUTO_WEIGHT`).
    """
    if problem.groups != 1 or geometry.ndim > 2 or not 2 <= problem.c_in <= BLOCK_CHANNELS:
        return False
    if (
        problem.c_out < BLOCK_OUTPUTS
        or not compiled
        or not _compiled.supports(problem.dtype)
        or not geometry.overlapping
    ):
        return False
    if all(s == 1 for s in geometry.stride):  # a convolution: rule 2's im2col or gemm (a 1-d k4 layer: 0.76x)
        return False
    # (no phase grid: too many phases to plan cheaply)
    if _cost.useful_flops(geometry, problem, n) >= gemm.SMALL_FLOPS or _cost.phase_cells(geometry) is None:
        return False
    grid = _grid(geometry)
    blocks = _blocks(grid, problem.c_in)
    if blocks is None or blocks.taps == 1 or _kept_block_tables(geometry) is None:
        return False
    return _block_weight_bytes(grid, blocks, problem) <= BLOCK_AUTO_WEIGHT


def _block_weight(w: np.ndarray, groups: int, kernel: tuple[int, ...], blocks: _Blocks) -> np.ndarray:
    """``(G, taps*Cig, F*Cog)``: row ``(j, ci)``, column ``(phase, co)`` holds ``w[ci, co]`` at the tap of
    that phase at its ``j``-th offset. Picked from the taps-first packed weight, whose runs of ``Cog``
    channels stay contiguous (picked from ``w`` itself, FCN-32s' 64x64 kernel took 11.5 ms)."""
    c_in, cog = w.shape[:2]
    cig, nd = c_in // groups, len(kernel)
    packed = gemm._packed_weight(w, groups, math.prod(kernel)).reshape(groups, cig, *kernel, cog)
    index = []
    for a, table in enumerate(blocks.tap):
        shape = [1] * (2 * nd)
        shape[2 * a], shape[2 * a + 1] = len(table), blocks.per_axis[a]
        index.append(np.asarray(table, dtype=np.intp).reshape(shape))
    picked = packed[(slice(None),) * 2 + tuple(index)]  # (G, Cig, P1, J1, ..., Pd, Jd, Cog)
    phases = [2 * a + 2 for a in range(nd)]
    offsets = [2 * a + 3 for a in range(nd)]
    ordered = picked.transpose(0, *offsets, 1, *phases, 2 * nd + 2)  # (G, J..., Cig, P..., Cog)
    return np.ascontiguousarray(ordered).reshape(groups, blocks.taps * cig, -1)


def _block_gemm(
    flat: np.ndarray, w: np.ndarray, grid: _Grid, blocks: _Blocks, out: np.ndarray, problem: Problem
) -> None:
    """Every phase in one GEMM (:class:`_Blocks`), then one depth-to-space pass into the output: no
    phase accumulators, and no overlap-add of columns (``gemm``'s gather), which is what a layer of few
    channels and a long kernel spends its time on (FCN-32s' k64 s32 up-scoring of 21 channels)."""
    geometry, nb, nd = grid.geometry, grid.samples, grid.geometry.ndim
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    phases = math.prod(len(plan) for plan in grid.plans)
    # (G, taps*Cig, F*Cog)
    wcat = problem.pack_for(
        "phase-blocks", (geometry.kernel_size, blocks), lambda: _block_weight(w, groups, geometry.kernel_size, blocks)
    )
    # rows of the padded grid that hold some phase's output, over all samples
    rows_at = [
        (min(blocks.base[a][p] for p, ph in enumerate(plan) if ph.outputs),
         max(blocks.base[a][p] + ph.outputs - 1 for p, ph in enumerate(plan) if ph.outputs))
        for a, plan in enumerate(grid.plans)
    ]  # fmt: skip
    r0 = sum(low * pitch for (low, _), pitch in zip(rows_at, grid.pitch))
    r1 = (nb - 1) * grid.cells + sum(high * pitch for (_, high), pitch in zip(rows_at, grid.pitch)) + 1
    shifts = [sum(j * p for j, p in zip(js, grid.pitch)) for js in itertools.product(*map(range, blocks.per_axis))]
    cols = scratch("columns", (groups, r1 - r0, blocks.taps * cig), flat.dtype)  # (G, rows, taps*Cig)
    for j, shift in enumerate(shifts):
        cols[:, :, j * cig : (j + 1) * cig] = flat[r0 + shift : r1 + shift].transpose(1, 0, 2)
    # (G, nb*cells, F*Cog), cached: a fresh one of FCN-32s' 25 MiB cost its page faults, 12 ms
    y = scratch("output", (groups, nb * grid.cells, phases * cog), flat.dtype)
    _blas.matmul(cols, wcat, out=y[:, r0:r1])
    # per axis, each output's phase and padded row
    phase_of, row_of = [], []
    for a, plan in enumerate(grid.plans):
        p_idx = np.empty(geometry.output_size[a], dtype=np.int64)
        r_idx = np.empty(geometry.output_size[a], dtype=np.int64)
        for p, ph in enumerate(plan):
            q = np.arange(ph.outputs)
            p_idx[ph.first + geometry.stride[a] * q] = p
            r_idx[ph.first + geometry.stride[a] * q] = blocks.base[a][p] + q
        phase_of.append(p_idx)
        row_of.append(r_idx)
    lead_row, lead_phase = np.zeros(1, np.int64), np.zeros(1, np.int64)
    for a in range(nd - 1):  # C order over the lead axes: row offsets and phase indices
        lead_row = (lead_row[:, None] + row_of[a][None, :] * grid.pitch[a]).ravel()
        lead_phase = (lead_phase[:, None] * len(grid.plans[a]) + phase_of[a][None, :]).ravel()
    sizes = (math.prod(geometry.output_size[:-1]), geometry.output_size[-1])
    view = out.reshape(batched_shape(nb, problem.c_out, sizes, problem.layout))
    y4 = y.reshape(groups, nb, grid.cells, phases * cog)
    lead_out = np.arange(len(lead_row))
    args = (y4, lead_row, lead_phase, lead_out, row_of[-1], phase_of[-1], len(grid.plans[-1]), problem.bias,
            problem.has_bias, view, problem.layout == "channels_last")  # fmt: skip
    calls = [(*args, t0, t1) for t0, t1 in _compiled.split(nb * len(lead_row), 4 * effective().threads)]
    _compiled.parallel_for(_compiled.kernels()["depth_to_space"], calls)


class _BlockTables(NamedTuple):
    """What :func:`_block_plan` reads of a geometry, built once per geometry (kept with the tap tables,
    :func:`tconv._algorithms.taptable.kept_tables`).

    The block grid is the rows of the padded grid that hold some phase's output, ``rows[a]`` per axis,
    without the padding: ``lead_pos``/``last_pos`` are its im2col tables (``(J_lead, m_lead)`` flat lead
    input positions and ``(J_last, m_last)`` positions along the last axis, -1 outside the input: the
    ``m`` windows of each row side by side); ``lead_grid[e]`` is the block-grid lead row of output lead
    position ``lead_out[e]`` (non-decreasing: the output lead positions sorted by it, stably, so that a
    band of block-grid lead rows holds a range of ``e``; in 2-d the sort keeps the output's order, in 3-d
    it interleaves the phases of the first axis), ``lead_phase[e]`` its lead phase; ``last_row[X]`` and
    ``last_phase[X]`` the same along the last axis, and ``last_runs[p]`` the outputs of last-axis phase
    ``p`` as a run, ``(first output, count, first block-grid row, stride)``.
    """

    rows: tuple[int, ...]
    lead_pos: np.ndarray
    last_pos: np.ndarray
    lead_grid: np.ndarray
    lead_phase: np.ndarray
    lead_out: np.ndarray
    last_row: np.ndarray
    last_phase: np.ndarray
    last_runs: np.ndarray


def _block_tables(geometry: Geometry) -> _BlockTables | None:
    """The tables of :func:`_block_plan`, or None where the all-phase GEMM does not apply (:func:`_blocks`)."""
    grid = _grid(geometry)
    blocks = _blocks(grid, None)
    if blocks is None:
        return None
    nd = geometry.ndim
    low, rows, positions, grid_row, phase_of = [], [], [], [], []
    for a, plan in enumerate(grid.plans):
        live = [p for p, ph in enumerate(plan) if ph.outputs]
        lo = min(blocks.base[a][p] for p in live)
        hi = max(blocks.base[a][p] + plan[p].outputs - 1 for p in live)
        low.append(lo)
        rows.append(hi - lo + 1)
        m, size = blocks.per_axis[a], geometry.input_size[a]
        pos = np.arange(lo, hi + 1)[:, None] + np.arange(m)[None, :] - grid.before[a]  # (J, m) input cells
        positions.append(np.where((pos >= 0) & (pos < size), pos, -1))
        r_idx = np.empty(geometry.output_size[a], dtype=np.int64)
        p_idx = np.empty(geometry.output_size[a], dtype=np.int64)
        for p, ph in enumerate(plan):
            q = np.arange(ph.outputs)
            p_idx[ph.first + geometry.stride[a] * q] = p
            r_idx[ph.first + geometry.stride[a] * q] = blocks.base[a][p] + q - lo
        grid_row.append(r_idx)
        phase_of.append(p_idx)
    lead_pos = np.zeros((1, 1), dtype=np.int64)
    lead_grid, lead_phase = np.zeros(1, np.int64), np.zeros(1, np.int64)
    for a in range(nd - 1):  # C order over the lead axes
        pos = positions[a]
        inside = (lead_pos[:, None, :, None] >= 0) & (pos[None, :, None, :] >= 0)
        flat = lead_pos[:, None, :, None] * geometry.input_size[a] + pos[None, :, None, :]
        lead_pos = np.where(inside, flat, -1).reshape(lead_pos.shape[0] * pos.shape[0], -1)
        lead_grid = (lead_grid[:, None] * rows[a] + grid_row[a][None, :]).ravel()
        lead_phase = (lead_phase[:, None] * len(grid.plans[a]) + phase_of[a][None, :]).ravel()
    lead_out = np.argsort(lead_grid, kind="stable")  # the output lead rows in the block grid's order
    stride, last_low = geometry.stride[-1], low[-1]
    runs = [(ph.first, ph.outputs, blocks.base[-1][p] - last_low, stride) for p, ph in enumerate(grid.plans[-1])]
    last_runs = np.array([run if run[1] else (0, 0, 0, stride) for run in runs], dtype=np.int64)
    return _BlockTables(
        tuple(rows), lead_pos, positions[-1], lead_grid[lead_out], lead_phase[lead_out], lead_out, grid_row[-1],
        phase_of[-1], last_runs,
    )  # fmt: skip


#: Strides of the last axis up to which :func:`_block_plan` computes a channels-first problem in the transposed
#: orientation (columns read from the input as it is, products ``(F*C_out, rows)``, each phase's run
#: written at the stride): FCN's x2 up-scoring (s = 2), prepared, 0.27 -> 0.26 ms; at stride 8 (FCN-8s'
#: k16 s8, 2 x 21 channels at 64 x 64) 17.5 -> 24 ms, its depth-to-space writing each output row in
#: eight strided passes, so the channels-last columns and a row-wise depth-to-space there.
TRANSPOSED_STRIDE = 2
#: Bytes of columns and products one thread of :func:`_block_plan` works on at a time (they stay in
#: its cache between the im2col, the GEMM and the depth-to-space).
BLOCK_TILE_BYTES = 2**20


def _block_plan(
    geometry: Geometry, problem: Problem, n: int
) -> Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None], None] | None:
    """:func:`_block_gemm` in cache-sized tiles, as a call ``(x, w, out, bias)`` on ``n`` samples with
    everything but the arrays worked out now; None without one group, the compiled kernels and control
    of BLAS's threads, or where the all-phase GEMM does not apply (:func:`_blocks`).

    Each tile is computed by one of our threads from start to end: its columns straight from the
    input by the compiled im2col (the block grid's ``m`` windows per axis side by side: no padded copy
    of the input), its single-threaded GEMM with every phase's weights, and the depth-to-space of its
    output rows, with the bias, while the columns and products are in that thread's cache. A
    channels-first problem at a last-axis stride of up to :data:`TRANSPOSED_STRIDE` runs in the
    transposed orientation (columns read from the input as it is, no channels-last copy). The
    all-phase weight is one gather from the weight (:func:`_weight_pick`, worked out once per
    geometry): a plain call spent 55 us packing it through :func:`_block_weight` on FCN's x2
    up-scoring, whose plain call went 0.32 -> 0.25 ms with both changes (0.27 -> 0.24 prepared).
    Tiles are whole samples, or bands of the block grid's lead rows (each output lead row belongs to
    exactly one; in 3-d a band's output lead rows are not one range of the output's, and the
    depth-to-space writes each where :class:`_BlockTables`' ``lead_out`` says), of about
    :data:`BLOCK_TILE_BYTES`, shared among the threads (:func:`tconv._algorithms.im2col.row_tiles`).
    """
    if problem.groups != 1 or not _compiled.available() or not _compiled.supports(problem.dtype):
        return None
    if not _blas.available():
        return None
    grid = _grid(geometry, n)
    blocks = _blocks(grid, problem.c_in)
    work = geometry  # the geometry of the GEMM's phases: a rounded kernel's (rounded()) where it applies
    if blocks is None:
        whole = rounded(geometry, problem)
        if whole is None:
            return None
        work, grid = whole, _grid(whole, n)
        blocks = _blocks(grid, problem.c_in)
    tables = _kept_block_tables(work)
    if blocks is None or tables is None:
        return None
    from .im2col import row_tiles

    c_in, c_out, dtype = problem.c_in, problem.c_out, problem.dtype
    phases = math.prod(len(plan) for plan in grid.plans)
    width, taps = phases * c_out, blocks.taps
    if _block_weight_bytes(grid, blocks, problem) > BLOCK_WEIGHT_BYTES:
        return None
    j_lead, j_last = tables.lead_pos.shape[0], tables.last_pos.shape[0]
    row_bytes = j_last * (taps * c_in + width) * dtype.itemsize  # one block-grid lead row's columns and products
    macs = n * j_lead * j_last * taps * c_in * width
    threads = effective().threads if 2 * macs >= BLOCK_PARALLEL_FLOPS else 1
    # (n0, n1, l0, l1, e0, e1): whole samples, or bands of block-grid lead rows (the last axis is never
    # cut), and the output lead rows e0:e1 that fall in them
    tiles = []
    for n0, n1, l0, l1, _, _ in row_tiles(n, j_lead, 1, row_bytes, threads, BLOCK_TILE_BYTES):
        e0, e1 = (int(e) for e in np.searchsorted(tables.lead_grid, (l0, l1)))
        lead_row = (tables.lead_grid[e0:e1] - l0) * j_last
        tiles.append((n0, n1, l0, l1, e0, e1, lead_row, tables.lead_phase[e0:e1], tables.lead_out[e0:e1]))
    sizes = (math.prod(geometry.output_size[:-1]), geometry.output_size[-1])
    layout = problem.layout
    channels_last_out = layout == "channels_last"
    transposed = not channels_last_out and geometry.stride[-1] <= TRANSPOSED_STRIDE
    kernels = _compiled.kernels()
    o_last, phases_last = geometry.input_size[-1], len(grid.plans[-1])
    zeros = np.zeros(c_out, dtype)
    workers = min(threads, len(tiles))

    # The all-phase weight as one gather from the weight, worked out now (a plain call picks it on every
    # call: 55 us through _block_weight's packing and transposes on FCN's x2 up-scoring): (taps*C_in,
    # F*C_out), rows (tap, channel), for channels-last columns; (F*C_out, C_in*taps), columns (channel,
    # tap), for the transposed ones. The weight's flat indices, packed as a float64 weight (exact).
    # Kept with the tap tables: a large problem plans this on every call of phase.
    # (Keyed by the call's own geometry: a rounded kernel's indices differ from a whole one's.)
    pick = kept_tables(
        f"phase-blocks-pick-{int(transposed)}-{c_in}-{problem.cog}",
        geometry,
        lambda g: (_weight_pick(work, blocks, c_in, problem.cog, transposed, g.kernel_size),),
    )[0]
    zero_taps = work is not geometry  # a rounded kernel: its added taps pick the zero after the weight

    def weight(w: np.ndarray) -> np.ndarray:
        def make() -> np.ndarray:
            return np.take(np.append(w, np.zeros(1, w.dtype)) if zero_taps else w, pick)

        return problem.pack_for(("phase-blocks-pick", transposed), geometry, make)

    def run(x: np.ndarray, w: np.ndarray, out: np.ndarray, bias: np.ndarray | None) -> None:
        wcat = weight(w)
        # the columns from a channels-last copy, rows (sample, cell); or (transposed) the columns read from
        # the channels-first input as it is (im2col_cf), and the products (F*C_out, rows), whose
        # depth-to-space reads each phase's run along a row of them (depth_to_space_t)
        source = np.ascontiguousarray(x).reshape(n, c_in, -1) if transposed else channels_last(x, layout)
        view = out.reshape(batched_shape(n, c_out, sizes, layout))
        b = zeros if bias is None else bias
        claim = _compiled.Claim(len(tiles))

        def work() -> None:
            for index in claim:
                n0, n1, l0, l1, e0, e1, lead_row, phases, lead_out = tiles[index]
                count, rows = n1 - n0, (l1 - l0) * j_last
                if not transposed:
                    cols = scratch("columns", (count, rows, taps, c_in), dtype)
                    kernels["im2col_cl"](source[n0:n1], tables.lead_pos[l0:l1], tables.last_pos, o_last, cols, 0,
                                         count * (l1 - l0))  # fmt: skip
                    y = scratch("output", (1, count, rows, width), dtype)
                    _blas.mm(cols.reshape(count * rows, taps * c_in), wcat, out=y.reshape(count * rows, width))
                else:
                    cols = scratch("columns", (c_in, taps, count, rows), dtype)
                    kernels["im2col_cf"](source, tables.lead_pos, tables.last_pos, o_last, 1, cols, n0, l0, 0, c_in)
                    y = scratch("output", (width, count, rows), dtype)
                    _blas.mm(wcat, cols.reshape(c_in * taps, count * rows), out=y.reshape(width, count * rows))
                if e1 == e0:
                    continue
                tasks, has_bias, target = count * (e1 - e0), bias is not None, view[n0:n1]
                if not transposed:
                    along = (tables.last_row, tables.last_phase, phases_last)
                    kernels["depth_to_space"](y, lead_row, phases, lead_out, *along, b, has_bias, target,
                                              channels_last_out, 0, tasks)  # fmt: skip
                else:
                    runs = (tables.last_runs, phases_last)
                    kernels["depth_to_space_t"](y, lead_row, phases, lead_out, *runs, b, has_bias, target, 0, tasks)

        with _blas.single_threaded_blas():
            _compiled.run_workers(work, workers, claim)

    return run


def planned(geometry: Geometry, problem: Problem, n: int) -> Callable[..., np.ndarray] | None:
    """The registry's planned ``"phase"`` (:class:`tconv._algorithms.Algorithm`): the tiled all-phase
    GEMM (:func:`_block_plan`) of a problem of under :data:`tconv._algorithms.gemm.SMALL_FLOPS` whose
    temporaries fit the budget whole, as a call ``(x, w, bias)`` with its tables and tiles worked
    out once; None for every other problem. A weight with an infinite or NaN entry takes :func:`run`
    (the all-phase GEMM multiplies it by the input's zero padding), and so does an input with one where
    the kernel is rounded up (:func:`rounded`: its zero taps multiply input cells)."""
    small = _cost.useful_flops(geometry, problem, n) < gemm.SMALL_FLOPS
    if not small or n * _footprint(geometry, problem) > effective().memory_budget:
        return None
    if not _compiled.supports(problem.dtype):  # long double: the plain path's NumPy passes
        return None
    execute = _block_plan(geometry, problem, n)
    if execute is None:
        return None
    shape = batched_shape(n, problem.c_out, geometry.output_size, problem.layout)

    zero_taps = _blocks(_grid(geometry), problem.c_in) is None  # a rounded kernel (rounded())

    def call(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        if not np.isfinite(w).all() or (zero_taps and not all_finite(x)):
            given = problem.bias if bias is None else bias  # (zeros when the call has none)
            return run(x, w, geometry, replace(problem, bias=given, has_bias=bias is not None))
        out = np.empty(shape, dtype=problem.dtype)
        execute(x, w, out, bias)
        return out

    return call


def _weight_pick(
    geometry: Geometry, blocks: _Blocks, c_in: int, cog: int, transposed: bool, kernel: tuple[int, ...]
) -> np.ndarray:
    """The flat indices into a ``(C_in, Cog, *kernel)`` weight of :func:`_block_plan`'s all-phase weight
    (:func:`_block_weight`, transposed to ``(F*Cog, C_in*taps)`` when ``transposed``): that weight is
    ``np.take(w, pick)``. Found by packing the indices themselves as a float64 weight (exact). Where
    ``geometry``'s kernel is ``kernel`` rounded up (:func:`rounded`), its added taps hold the index one
    past the weight's last entry: ``np.take(np.append(w, 0), pick)``."""
    size = c_in * cog * math.prod(kernel)
    flat = np.full((c_in, cog, *geometry.kernel_size), float(size))
    own = (slice(None), slice(None)) + tuple(slice(0, k) for k in kernel)  # the kernel's own taps
    flat[own] = np.arange(size, dtype=np.float64).reshape(c_in, cog, *kernel)
    picked = _block_weight(flat, 1, geometry.kernel_size, blocks)[0]
    if transposed:
        picked = picked.reshape(blocks.taps, c_in, -1).transpose(2, 1, 0).reshape(picked.shape[1], -1)
    return np.ascontiguousarray(picked, dtype=np.intp)


def _kept_block_tables(geometry: Geometry) -> _BlockTables | None:
    """:func:`_block_tables`, kept between calls with the tap tables
    (:func:`tconv._algorithms.taptable.kept_tables`)."""
    return kept_tables("phase-blocks", geometry, _block_tables)


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
