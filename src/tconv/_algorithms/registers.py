"""The ``"registers"`` algorithm of ``conv_transpose``: stride 1 as a direct correlation in register tiles.

At stride 1 a transposed convolution is a plain correlation of the input, padded by
``d*(k - 1) - crop_begin`` before and enough after, with the flipped kernel (each
output ``y[o] = sum_t x_pad[o + d*t] * w[k-1-t]`` per axis). ``"gemm"`` computes it as one
GEMM whose columns (``prod(k) * C_out`` per input pixel) are gathered after it, and
``"im2col"`` as one GEMM over a copy of the input repeated ``prod(k)`` times: with few
channels both move far more bytes than they multiply (a 21 -> 16 channel k7 layer: 67
GF/s through ``gemm``, where PyTorch's oneDNN, a direct convolution, reached 150-200).

Here each output is summed where it stays: a tile of 12 output pixels along the last axis
times 16 output channels (:data:`~tconv._algorithms.numba_kernels.TILE_PIXELS` x
:data:`~tconv._algorithms.numba_kernels.TILE_LANES`; 6 pixels without AVX-512) is held in vector
registers while the loop runs over the taps and the input channels: per term one vector
load of 16 weights, one broadcast of an input value per pixel and one fused multiply-add
per pixel (the register-blocked direct convolution of oneDNN's and XNNPACK's kernels). Each
output row sums only the taps whose leading-axis positions fall on the input (:func:`_tables`). The
only copy is the input's, once, padded and channels-last; the weight is packed once per
call, or once for a prepared call (:func:`tconv.prepare`), in blocks of 16 output channels
padded with zeros.

It applies to float32 layers with stride 1 on every axis (any groups: a group's tiles sum its
input channels, a pixel's channels read where they lie), compiled kernels on
and a finite weight (a zero of the padding times an infinite weight would make NaN where the
definition adds nothing); elsewhere, and where the dilated kernel's span is more than twice the
output's or the kernel's size on an axis (a dilation far beyond the input), ``"gemm"`` runs instead.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from .._options import effective
from ..geometry import Geometry, tap_range
from . import blas as _blas
from . import compiled as _compiled
from . import gemm
from .blocking import ConvBlocked, blocked
from .problem import Problem, all_finite
from .workspace import copy_key, held_copy, scratch

__all__ = ["applies", "minimum", "preferred", "run"]

#: Output channels per register tile (:data:`tconv._algorithms.numba_kernels.TILE_LANES`, without importing
#: numba here).
LANES = 16


def _lanes(problem: Problem, lanes: int = LANES) -> int:
    """A group's output channels padded to whole blocks of ``lanes`` (the packed weight's, per group)."""
    return -(-problem.cog // lanes) * lanes


def wide_lanes() -> int:
    """Output channels per block of the convolution's wide tiles
    (:data:`tconv._algorithms.numba_kernels.WIDE_LANES`: 32 with AVX-512, else :data:`LANES`)."""
    from .numba_kernels import WIDE_LANES

    return int(WIDE_LANES)


#: Input elements of slack after the padded input: the last tile of a row reads up to a tile's width
#: past it (its extra outputs are not stored).
SLACK_PIXELS = 16


def applies(geometry: Geometry, problem: Problem) -> bool:
    """Whether the register tiles compute this call: float32, stride 1 on every axis,
    compiled kernels on, and on every axis a dilated kernel's span ``d*(k - 1)`` at most twice the
    output's or the kernel's size, whichever is larger (the padded input, :func:`_padded`, is then at most
    three times as large along it: its memory and the taps' work follow the output and the weight, not
    the dilation's value; a dilation far beyond the input would pad more zeros than there are outputs)."""
    if not _compiled.available() or problem.dtype != np.float32:
        return False
    if any(s != 1 for s in geometry.stride) or geometry.ndim == 0 or geometry.empty:
        return False
    return all(
        d * (k - 1) <= 2 * max(o, k) for o, k, d in zip(geometry.output_size, geometry.kernel_size, geometry.dilation)
    )


#: Where ``"auto"`` runs the tiles over ``"gemm"`` and ``"im2col"`` (:func:`preferred`). Fitted on 120 random
#: stride-1 float32 layers (6 December, Xeon with AVX-512, two threads, A/B in one process, min of 2 x
#: 3-15 calls; 1-3 d, 1-256 -> 1-256 channels, k1-k9, 1-16 samples): where the tiles' lanes, taps and row
#: ends are well used (:func:`efficiency` at least :data:`EFFICIENT`) with at most :data:`MOST_INPUTS` input
#: and :data:`MOST_OUTPUTS` output channels, 1.09-5.1x ``"auto"``'s earlier choice; with more channels
#: that choice's GEMM sums enough terms to win (0.65-0.82x: 64 -> 32 k7, 4 -> 128 k6, 3-d 21 -> 256 k5).
EFFICIENT = 0.55
MOST_INPUTS = 48
MOST_OUTPUTS = 96
#: With groups, at most this many input channels per group, and neither few-channel rule below: on the
#: benchmark's random layers (``random_layers(40, S)`` for S = 0-39) 1.28-8.5x ``gemm`` and ``im2col`` with
#: 1-8 input and 12-96 output channels per group (8 groups of 3 -> 12, k7: 14.1 -> 1.7 ms), 0.83-0.89x
#: with 48 input channels per group, 0.61-0.91x where many groups of 1-3 output channels each fill a
#: tile's 16 lanes (32 groups).
GROUPED_INPUTS = 16
#: 3-d layers of few channels (2-8 in, at most 32 out) run the tiles whatever their efficiency: ``"phase"``
#: and ``"gemm"`` gather 27-343 scattered taps per output there (2.4-18.7x on 10 such layers: 3 -> 2 k5
#: on 118 x 94 x 67, 727 ms through ``"phase"``, 39 ms in tiles). One input channel: 0.64x (1 -> 2 k3 on
#: 63 x 68 x 66, a second sweep), ``gemm``'s rows come straight from the input there.
FEW_3D = (2, 8, 32)
#: 2-d layers of 2-4 input and at most 4 output channels with kernels of 36 taps or more, likewise
#: (1.5-6.4x on five: 3 -> 3 k7 on 501 x 490; with smaller kernels 0.77-1.47x, one input channel 0.5-0.63x).
FEW_2D = (2, 4, 4, 36)
#: Layers of 2-12 input and 5-8 output channels (half a tile's 16 lanes or less, which :data:`EFFICIENT`
#: never admits) with 4 taps or more, in any dimension, likewise. First found in 2-d with 2-4 input channels
#: (7 December, Zen 3 with AVX2, in one process, alternating, min of 7; a random draw had found one 79 x 79
#: sample of 3 -> 8 channels, k7, 2.8x slower than the tiles): 1.57-3.78x ``"auto"``'s earlier choice
#: (``im2col`` or ``gemm``) on five such layers (k5-k9, 32^2-120^2, 1-8 samples; 2 -> 6 k9 3.85 -> 1.02 ms),
#: 1.09x at k3, then 25 taps or more only. A random sweep of stride-1 layers of 5-8 output channels (the
#: same machine, two threads, min of 7) found the tiles 1.01-3.1x faster with up to 12 input channels (12
#: of 14; the misses 4 -> 7, 1-d k3, 0.64x, and 12 -> 5 k4 0.79x) and 0.44-0.93x with 16-48 (kept out);
#: on 22 held-out layers of the rule (1-3 d, k2-k15): 20 faster, 1.04-3.58x (3-d 10 -> 5 k7 on 24^3:
#: 31 -> 8.7 ms; 8 -> 8 k7 on 4 x 20^2 0.66 -> 0.30; 2-d 4 -> 7 k4 2.7x), 0.94x (2 -> 7 k5) and 0.70x
#: (12 -> 5 k7).
FEW_OUTPUTS = (2, 12, 5, 8, 4)
#: With more channels a 3-d layer takes the rule of 1-d and 2-d (:data:`EFFICIENT`, :data:`MOST_INPUTS`,
#: :data:`MOST_OUTPUTS`), which it had been left out of, and never with one input channel (:data:`FEW_3D`).
#: Measured (7 December, Zen 3 with AVX2, two threads, in one process, alternating, min of 7; a random
#: draw had found a 3-d 48 -> 24 k4 d2 layer 3.2x slower than the tiles): 1.21-4.3x ``"auto"``'s earlier
#: choice (``gemm``, ``im2col`` or ``phase``) on the 12 stride-1 3-d layers of 8-48 input and 12-96
#: output channels tried (k2-k5, dilation 1-2, 8^3-30^3, 1-4 samples); beyond the rule's channel counts
#: 1.26-3.0x on five more (21 -> 256 k5, 48 -> 128, 64 -> 32, 96 -> 48, 128 -> 64), left out since on
#: the Xeon with AVX-512 such layers ran 0.65-0.82x (:data:`EFFICIENT`).


def efficiency(geometry: Geometry, problem: Problem) -> float:
    """The share of the tiles' multiply-adds that are terms of the result: the lanes used of the last
    block of 16 output channels, the taps along the last axis that fall on the input rather than the
    padding (along the leading axes each row skips those: :func:`_tables`), and the outputs of the last
    tiles of each row (:func:`_row_share`)."""
    lanes = problem.cog / _lanes(problem)
    i, k, _s, d, b, o = geometry.axes()[-1]
    return lanes * _reached(i, k, d, b, o).sum() / (o * k) * _row_share(geometry.output_size[-1])


def _reached(i: int, k: int, d: int, b: int, o: int) -> np.ndarray:
    """``(k, o)`` booleans along one axis: whether tap ``t`` carries an input to output ``o`` (at stride 1,
    input ``j`` to ``j + d*t - b``: :func:`tconv.geometry.tap_range`)."""
    reached = np.zeros((k, o), dtype=bool)
    for t in range(k):
        first, stop = tap_range(d * t - b, 1, i, 0, o)
        reached[t, max(0, first + d * t - b) : max(0, stop + d * t - b)] = True
    return reached


def _row_share(o_last: int) -> float:
    """The share of a row's tiles' pixels that are outputs (the tiles of
    :func:`tconv._algorithms.numba_kernels.tile_width`)."""
    from .numba_kernels import tile_width

    computed = 0
    while computed < o_last:
        computed += tile_width(o_last - computed)
    return o_last / computed


def preferred(geometry: Geometry, problem: Problem) -> bool:
    """Whether ``"auto"`` runs the tiles where its rules would run ``"gemm"``, ``"im2col"`` or ``"phase"``
    (see :data:`EFFICIENT`, :data:`FEW_3D`, :data:`FEW_2D`, :data:`FEW_OUTPUTS`,
    :data:`GROUPED_INPUTS`;
    channel counts per group): never on a pointwise kernel (one product per pixel)."""
    if not applies(geometry, problem) or math.prod(geometry.kernel_size) == 1:
        return False
    c_in, c_out, taps = problem.cig, problem.cog, math.prod(geometry.kernel_size)  # per group
    if problem.groups > 1:
        efficient = efficiency(geometry, problem) >= EFFICIENT
        return c_in <= GROUPED_INPUTS and c_out <= MOST_OUTPUTS and efficient
    if geometry.ndim == 3 and FEW_3D[0] <= c_in <= FEW_3D[1] and c_out <= FEW_3D[2]:
        return True
    if geometry.ndim == 3 and c_in < FEW_3D[0]:
        return False  # one input channel: gemm's rows straight from the input (FEW_3D)
    if geometry.ndim == 2 and FEW_2D[0] <= c_in <= FEW_2D[1] and c_out <= FEW_2D[2] and taps >= FEW_2D[3]:
        return True
    if FEW_OUTPUTS[0] <= c_in <= FEW_OUTPUTS[1] and FEW_OUTPUTS[2] <= c_out <= FEW_OUTPUTS[3]:
        return taps >= FEW_OUTPUTS[4]
    return c_in <= MOST_INPUTS and c_out <= MOST_OUTPUTS and efficiency(geometry, problem) >= EFFICIENT


def _padded(geometry: Geometry) -> tuple[int, ...]:
    """The padded input's size per axis: the output's plus the dilated kernel's span."""
    return tuple(o + d * (k - 1) for o, k, d in zip(geometry.output_size, geometry.kernel_size, geometry.dilation))


def _packed(w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The weight ``(C_in, C_out/G, *k)`` flipped and packed as ``(G, blocks, taps, C_in/G, LANES)``, zero
    past each group's last output channel, flat."""
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    blocks = _lanes(problem) // LANES
    taps = math.prod(geometry.kernel_size)
    flipped = w[(slice(None), slice(None)) + (slice(None, None, -1),) * geometry.ndim]
    packed = np.zeros((groups, blocks * LANES, taps, cig), dtype=np.float32)
    packed[:, :cog] = flipped.reshape(groups, cig, cog, taps).transpose(0, 2, 3, 1)
    packed = packed.reshape(groups, blocks, LANES, taps, cig).transpose(0, 1, 3, 4, 2)
    return np.ascontiguousarray(packed).reshape(-1)


def _pad_input(x: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The input channels-last and padded to :func:`_padded` (placed at ``d*(k - 1) - crop_begin`` on
    each axis, cut where that is negative), flat, with :data:`SLACK_PIXELS` pixels of zeros after it."""
    lead = [d * (k - 1) - b for _i, k, _s, d, b, _o in geometry.axes()]
    return _placed(x, problem, _padded(geometry), lead, SLACK_PIXELS * problem.c_in)


def _placed(x: np.ndarray, problem: Problem, padded: tuple[int, ...], lead: list[int], slack: int) -> np.ndarray:
    """:func:`placed` of ``problem``'s input channels and layout."""
    return placed(x, problem.c_in, problem.layout, padded, lead, slack)


def placed(x: np.ndarray, c_in: int, layout: str, padded: tuple[int, ...], lead: list[int], slack: int) -> np.ndarray:
    """``x`` channels-last in zeros of the ``padded`` size, its cell ``c`` at ``c + lead`` on each axis (cells
    that land outside left out), flat, with ``slack`` zeros after it: the calling thread's ``padded``
    scratch (:mod:`tconv._algorithms.workspace`), valid until its next call.

    Compiled (:func:`~tconv._algorithms.numba_kernels.place_rows`, rows of the result in parallel above
    :data:`~tconv._algorithms.compiled.PARALLEL_TRANSPOSE` bytes): each row written once, its zeros and
    its pixels, where NumPy zeroed the whole buffer and then copied a strided ``moveaxis`` of the input
    into it on the calling thread (an output gradient of 4 x 64 channels at 64 x 64, the input gradient
    of a k4 s2 layer of 8 groups: 1.2 of its 3.0 ms)."""
    n = x.shape[0]
    size = n * math.prod(padded) * c_in
    flat = scratch("padded", (size + slack,), np.dtype(np.float32))  # read by the tiles of this call only
    flat[size:] = 0
    if size == 0:
        return flat
    channels_first = layout == "channels_first"
    spatial = x.shape[2:] if channels_first else x.shape[1:-1]
    # per axis: the input cells that land inside (first:last) and where the first one lands
    first = [max(0, -offset) for offset in lead]
    last = [max(f, min(i, extent - offset)) for f, i, offset, extent in zip(first, spatial, lead, padded)]
    pixels = math.prod(spatial)
    held = held_copy("channels_last", copy_key(x)) if channels_first else None
    if held is not None and held.dtype == np.float32:  # a backward call's weight gradient copied x so
        src, channels_first = held, False
    else:
        src = np.ascontiguousarray(x, dtype=np.float32).reshape(
            (n, c_in, pixels) if channels_first else (n, pixels, c_in)
        )
    row_pixel = _placed_rows(tuple(spatial), padded, tuple(lead), tuple(first), tuple(last))
    rows = flat[:size].reshape(-1, padded[-1], c_in)
    pieces = 4 * effective().threads if size * 4 >= _compiled.PARALLEL_TRANSPOSE else 1
    start, count = first[-1] + lead[-1], last[-1] - first[-1]
    flat_src, flat_rows = src.reshape(n, -1), rows.reshape(rows.shape[0], -1)
    calls = [
        (src, flat_src, channels_first, row_pixel, start, count, rows, flat_rows, t0, t1)
        for t0, t1 in _compiled.split(rows.shape[0], pieces)
    ]
    _compiled.parallel_for(_compiled.kernels()["place_rows"], calls)
    return flat


@functools.lru_cache(maxsize=64)
def _placed_rows(
    spatial: tuple[int, ...],
    padded: tuple[int, ...],
    lead: tuple[int, ...],
    first: tuple[int, ...],
    last: tuple[int, ...],
) -> np.ndarray:
    """:func:`_placed`'s rows of one sample (a position along the leading axes of the result): the input
    pixel of each row's first copied cell, -1 where no input row lands on it (kept per geometry: a few
    NumPy calls, tens of microseconds on small calls; one int64 per row of a sample)."""
    row_pixel = np.zeros(1, dtype=np.int64)
    for axis, extent in enumerate(padded[:-1]):
        cell = np.arange(extent, dtype=np.int64) - lead[axis]  # the input cell landing on each position
        offset = np.where((cell >= first[axis]) & (cell < last[axis]), cell * math.prod(spatial[axis + 1 :]), -1)
        row_pixel = np.where((row_pixel[:, None] < 0) | (offset < 0), -1, row_pixel[:, None] + offset).reshape(-1)
    return np.where(row_pixel < 0, -1, row_pixel + first[-1])


class _Tables(NamedTuple):
    """What :func:`tconv._algorithms.numba_kernels.register_tiles` reads besides the arrays: each output
    row's first window, its class, the classes' runs of taps, and each tap's offset and weight index."""

    row_base: np.ndarray
    row_class: np.ndarray
    class_taps: np.ndarray
    taps: np.ndarray
    weights: np.ndarray


@functools.lru_cache(maxsize=16)
def _tables(geometry: Geometry, c_in: int) -> _Tables:
    """The tables of one geometry (kept: they depend on nothing else). A row (a position along the
    output's leading axes) sums only the taps whose leading-axis positions fall on the input: along each
    such axis the padding before and after the input holds zeros, which the taps that land there would
    multiply (a 3-d k7 layer on 11^3 with padding 3: 40 % of its products). Rows with the same taps per
    axis share a class, one run of taps each (at most ``2*k + 1`` kinds of rows per axis: :func:`_table_bytes`)."""
    lead = geometry.output_size[:-1]
    offsets, tap_offsets, row_base = _window_offsets(geometry, _padded(geometry), c_in, lead, (1,) * geometry.ndim)
    flat_taps = np.arange(offsets.shape[1], dtype=np.int64)
    # per leading axis and output position: the mask of the flipped kernel's taps (the tables' order, tap
    # k-1-t of the weight) that fall on the input, (O_axis, k)
    ranges = [_reached(i, k, d, b, o)[::-1].T for i, k, _s, d, b, o in geometry.axes()[:-1]]
    runs: list[np.ndarray] = []
    row_class = np.empty(math.prod(lead), dtype=np.int64)
    per_axis = [np.unique(mask, axis=0, return_inverse=True) for mask in ranges]
    kinds = [len(u) for u, _ in per_axis]
    kind_of_row = np.zeros(1, dtype=np.int64)  # the rows' kinds, the first leading axis the most significant
    for (unique, inverse), size in zip(per_axis, lead):
        kind_of_row = (kind_of_row.reshape(-1, 1) * len(unique) + inverse.reshape(1, size)).reshape(-1)
    for kind in np.unique(kind_of_row):
        keep = np.ones(offsets.shape[1], dtype=bool)
        rest = int(kind)
        for axis in reversed(range(len(lead))):
            rest, which = divmod(rest, kinds[axis])
            keep &= per_axis[axis][0][which][offsets[axis]]
        runs.append(flat_taps[keep])
        row_class[kind_of_row == kind] = len(runs) - 1
    class_taps = np.zeros(len(runs) + 1, dtype=np.int64)
    class_taps[1:] = np.cumsum([len(run) for run in runs])
    weights = np.concatenate(runs)
    return _Tables(row_base, row_class, class_taps, tap_offsets[weights], weights)


def _window_offsets(
    geometry: Geometry, padded: tuple[int, ...], c_in: int, lead: tuple[int, ...], stride: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets in a flat channels-last array of ``c_in`` channels and the ``padded`` size: the kernel's taps'
    indices per axis ``(ndim, taps)``, each tap's dilated offset, and the first window of each output row
    along the leading axes ``lead`` (row ``j`` at ``stride * j``), C order."""
    strides = np.array([c_in * math.prod(padded[a + 1 :]) for a in range(geometry.ndim)], dtype=np.int64)
    offsets = np.indices(geometry.kernel_size, dtype=np.int64).reshape(geometry.ndim, -1)
    dilation = np.array(geometry.dilation, dtype=np.int64).reshape(-1, 1)
    tap_offsets = (offsets * dilation * strides.reshape(-1, 1)).sum(axis=0)
    grid = np.indices(lead, dtype=np.int64).reshape(len(lead), math.prod(lead))
    row_stride = np.array(stride[:-1], dtype=np.int64).reshape(-1, 1)
    row_base = (grid * row_stride * strides[:-1].reshape(-1, 1)).sum(axis=0).reshape(-1)
    return offsets, np.ascontiguousarray(tap_offsets), np.ascontiguousarray(row_base)


def registers(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """The register tiles on one batch block, into ``out`` (see the module docstring)."""
    n, c_in, c_out = x.shape[0], problem.c_in, problem.c_out
    packed = problem.pack(("registers", LANES), lambda: _packed(w, geometry, problem))
    xp = _pad_input(x, geometry, problem)
    tables = _tables(geometry, c_in)
    rows = tables.row_base
    sample = math.prod(_padded(geometry)) * c_in
    o_last = geometry.output_size[-1]
    channels_first = problem.layout == "channels_first"
    if channels_first:
        y = out.reshape(n, c_out, rows.shape[0], o_last)
    else:
        y = out.reshape(n, rows.shape[0], o_last, c_out)
    args = (xp, sample, *tables, c_in, problem.groups, packed, problem.bias, y, channels_first)
    # a small call on the calling thread alone (handing a piece to another costs tens of microseconds:
    # blas.PARALLEL_FLOPS; a 1 -> 64 k3 layer on 20^2, 0.10 ms on two threads, 0.05 on one)
    flops = 2 * n * math.prod(geometry.output_size) * tables.taps.shape[0] // max(1, tables.class_taps.shape[0] - 1)
    lanes = problem.groups * _lanes(problem)  # output channels with each group's padding
    pieces = 4 * effective().threads if flops * problem.cig * lanes >= _blas.PARALLEL_FLOPS else 1
    calls = [(*args, t0, t1) for t0, t1 in _compiled.split(n * rows.shape[0], pieces)]
    _compiled.parallel_for(_compiled.kernels()["register_tiles"], calls)


def _footprint(geometry: Geometry, problem: Problem) -> int:
    # the padded channels-last input, the row and tap tables, and the packed weight
    padded = math.prod(_padded(geometry)) * problem.c_in
    weight = problem.groups * _lanes(problem) * math.prod(geometry.kernel_size) * problem.cig
    return 4 * (padded + weight) + _table_bytes(geometry) + 4 * SLACK_PIXELS * problem.c_in


def _table_bytes(geometry: Geometry) -> int:
    """An upper bound of :func:`_tables`'s bytes: two int64 per row, and per class of rows two per tap
    (along a leading axis a row's taps are a range whose two ends only fall as the row moves on: at most
    ``2*k + 1`` kinds of rows)."""
    axes = zip(geometry.output_size[:-1], geometry.kernel_size[:-1])
    classes = math.prod(min(o, 2 * k + 1) for o, k in axes)
    return 16 * (math.prod(geometry.output_size[:-1]) + classes * math.prod(geometry.kernel_size) + classes + 1)


_run = blocked(registers, _footprint)


def minimum(geometry: Geometry, problem: Problem) -> int:
    """The temporary bytes of the smallest piece (``"gemm"``'s where the tiles do not apply)."""
    return _run.minimum(geometry, problem) if applies(geometry, problem) else gemm.minimum(geometry, problem)


def run(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"registers"``: the register tiles where they apply (:func:`applies`) and the weight
    is finite, ``"gemm"`` elsewhere."""
    if not applies(geometry, problem) or x.shape[0] == 0 or not all_finite(w):
        return gemm.run(x, w, geometry, problem)
    return _run(x, w, geometry, problem)


# --- the convolution (the input gradient of a transposed convolution) in the same register tiles ---------


def conv_padded(geometry: Geometry) -> tuple[int, ...]:
    """The convolution's padded input size per axis: every cell its outputs' windows read,
    ``s*(J - 1) + d*(k - 1) + 1`` (``J`` its output's size, ``geometry.input_size``)."""
    return tuple(s * (j - 1) + d * (k - 1) + 1 for j, k, s, d in _conv_axes(geometry))


def _conv_axes(geometry: Geometry) -> list[tuple[int, int, int, int]]:
    return list(zip(geometry.input_size, geometry.kernel_size, geometry.stride, geometry.dilation))


def conv_applies(geometry: Geometry, problem: Problem) -> bool:
    """Whether the register tiles can compute the convolution: float32, compiled kernels on, and a padded
    input (:func:`conv_padded`) at most three times the input's or the kernel's span on every axis (its
    memory follows the data, not a dilation's or a stride's value)."""
    if not _compiled.available() or problem.dtype != np.float32 or geometry.ndim == 0 or geometry.empty:
        return False
    return conv_padded_fits(geometry)


def conv_padded_fits(geometry: Geometry) -> bool:
    """Whether the convolution's padded input (:func:`conv_padded`) is at most three times the input's or
    the kernel's span on every axis: a copy that follows the data, not a dilation's or a stride's value
    (the convolution's tiles, :func:`conv_applies`, and the weight gradient's run tiles, which read the
    same copy: :func:`tconv._algorithms.im2col.run_tiles_gradient`)."""
    return all(
        p <= 3 * max(o, d * (k - 1) + 1)
        for p, o, k, d in zip(conv_padded(geometry), geometry.output_size, geometry.kernel_size, geometry.dilation)
    )


@functools.lru_cache(maxsize=64)
def conv_chunks(taps: int, cig: int, step: int) -> np.ndarray:
    """The chunks of a convolution output's sum over ``taps`` x ``cig`` terms (taps outer, a tap's input
    channels inner, im2col's column order), each at most ``step`` terms: rows ``(t0, t1, i0, count)``,
    whole taps while a tap's channels fit ``step``, else runs of ``step`` channels of one tap.

    Kept per ``(taps, cig, step)``, read-only: built from Python lists on every call, a table of 128 chunks
    (16 taps of 256 channels in 32-term chunks: the input gradient of a 16 -> 256 layer, k4 s2 on 8 x 8)
    took 60 us of that gradient's 0.5-0.8 ms."""
    if cig <= step:
        per = step // cig
        rows = [(t0, min(taps, t0 + per), 0, cig) for t0 in range(0, taps, per)]
    else:
        rows = [(t, t + 1, i0, min(step, cig - i0)) for t in range(taps) for i0 in range(0, cig, step)]
    table = np.array(rows, dtype=np.int64).reshape(-1, 4)
    table.flags.writeable = False
    return table


def _conv_packed(w: np.ndarray, geometry: Geometry, problem: Problem, lanes: int) -> np.ndarray:
    """The convolution's weight ``(C_out, C_in/G, *k)`` packed as ``(G, blocks, taps, C_in/G, lanes)``,
    zero past each group's last output channel, flat (no flip: a convolution is a correlation)."""
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    blocks = _lanes(problem, lanes) // lanes
    taps = math.prod(geometry.kernel_size)
    packed = np.zeros((groups, blocks * lanes, cig, taps), dtype=np.float32)
    packed[:, :cog] = w.reshape(groups, cog, cig, taps)
    packed = packed.reshape(groups, blocks, lanes, cig, taps).transpose(0, 1, 4, 3, 2)
    return np.ascontiguousarray(packed).reshape(-1)


@functools.lru_cache(maxsize=16)
def _conv_tables(geometry: Geometry, c_in: int) -> tuple[np.ndarray, np.ndarray]:
    """Each output row's first window and each tap's offset in the padded input (flat)."""
    _, taps, row_base = _window_offsets(
        geometry, conv_padded(geometry), c_in, geometry.input_size[:-1], geometry.stride
    )
    return row_base, taps


def _conv_slack(geometry: Geometry, problem: Problem) -> int:
    """Zeros after the padded input: the last tile of a row reads up to a tile's width of outputs past it."""
    from .numba_kernels import TILE_PIXELS

    return TILE_PIXELS * geometry.stride[-1] * problem.c_in


def conv_tiles(
    x: np.ndarray,
    w: np.ndarray,
    geometry: Geometry,
    problem: Problem,
    step: int,
    wide: bool = False,
    double: bool = False,
) -> np.ndarray:
    """The convolution of one block in register tiles, each output the double-precision sum of
    single-precision chunks of at most ``step`` terms (:func:`conv_chunks`), rounded once; bias added.
    ``wide``: blocks of :func:`wide_lanes` output channels (see
    :func:`tconv._algorithms.numba_kernels.conv_register_tiles`), else of :data:`LANES`. ``double``: each
    output one sum of its terms' exact products in double precision, rounded once (``step`` unused; blocks
    of :data:`~tconv._algorithms.numba_kernels.DOUBLE_LANES`: ``conv_double_tiles``)."""
    from .numba_kernels import DOUBLE_LANES

    n, c_in, c_out = x.shape[0], problem.c_in, problem.c_out
    lanes = DOUBLE_LANES if double else wide_lanes() if wide else LANES
    kind = "conv_double" if double else "conv_registers"
    dtype = np.dtype(np.float64 if double else np.float32)
    packed = problem.pack((kind, lanes), lambda: _conv_packed(w, geometry, problem, lanes).astype(dtype, copy=False))
    # the input's cell c at c + crop_begin (cells before a negative crop_begin, or past the last window, left out)
    padded = conv_padded(geometry)
    xp = _placed(x, problem, padded, list(geometry.crop_begin), _conv_slack(geometry, problem))
    if double:  # float32 values as float64: their products exact
        xp = xp.astype(dtype)
    row_base, taps = _conv_tables(geometry, c_in)
    o_last = geometry.input_size[-1]
    rows = row_base.shape[0]
    channels_first = problem.layout == "channels_first"
    shape = (n, c_out, rows, o_last) if channels_first else (n, rows, o_last, c_out)
    y = np.empty(shape, dtype=np.float32)
    sample = math.prod(padded) * c_in
    step_last = geometry.stride[-1] * c_in
    args: tuple
    if double:
        args = (xp, sample, row_base, taps, step_last, c_in, problem.groups, packed, problem.bias, y, channels_first)
    else:
        chunks = conv_chunks(taps.shape[0], problem.cig, step)
        args = (xp, sample, row_base, taps, chunks, step_last, c_in, problem.groups, packed, problem.bias, y)
        args = (*args, channels_first, wide)
    flops = 2 * n * math.prod(geometry.input_size) * taps.shape[0] * problem.cig * problem.groups
    pieces = 4 * effective().threads if flops * _lanes(problem, lanes) >= _blas.PARALLEL_FLOPS else 1
    segment = _segment(o_last, n * rows, pieces)
    tasks = n * rows * -(-o_last // segment)
    calls = [(*args, segment, t0, t1) for t0, t1 in _compiled.split(tasks, pieces)]
    _compiled.parallel_for(_compiled.kernels()["conv_double_tiles" if double else "conv_register_tiles"], calls)
    if channels_first:
        return y.reshape(n, c_out, *geometry.input_size)
    return y.reshape(n, *geometry.input_size, c_out)


def _segment(o_last: int, rows: int, pieces: int) -> int:
    """Outputs per task along the last axis: whole rows where there are at least ``pieces`` of them, else
    rows cut into about ``pieces / rows`` runs of whole tiles (a 1-d layer's one row per sample ran on one
    thread: a 256 -> 24 channel k4 s2 input gradient of 5270 outputs, 0.56x the GEMMs)."""
    from .numba_kernels import TILE_PIXELS

    if rows >= pieces:
        return max(1, o_last)
    runs = -(-pieces // max(1, rows))
    return max(TILE_PIXELS, -(-o_last // (runs * TILE_PIXELS)) * TILE_PIXELS)


def conv_pieces(problem: Problem, double: bool = False) -> ConvBlocked:
    """The pieces of :func:`conv_tiles` under the memory budget: per sample the padded channels-last input
    (and its float64 copy, ``double``) and the result, once per piece the packed weight (in float64,
    ``double``) and the slack after the input."""
    size = 12 if double else 4  # bytes of the padded input per value: float32, and its float64 copy

    def footprint(geometry: Geometry) -> int:
        return (
            size * math.prod(conv_padded(geometry)) * problem.c_in + 4 * math.prod(geometry.input_size) * problem.c_out
        )

    def fixed(geometry: Geometry) -> int:
        weight = problem.groups * _lanes(problem, wide_lanes()) * math.prod(geometry.kernel_size) * problem.cig
        return size * (weight + _conv_slack(geometry, problem))

    return ConvBlocked(footprint, fixed)
