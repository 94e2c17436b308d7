"""The fast algorithms: ``"gemm"``, ``"phase"`` and ``"direct"`` (small groups, depthwise).

All of them put every multiplication into BLAS (``numpy.matmul``) except
``"direct"``, where BLAS cannot help, and make every other pass a single
write-once pass (compiled with numba when available, see :mod:`tconv._algorithms.compiled`).
None multiplies by an inserted zero. Temporary buffers are bounded by the
``memory_budget`` option: the batch, the output channels and, for very large
samples, bands of output rows are processed in blocks.

The algebra of each is in its function's docstring; the shared notation is that of
:mod:`tconv.kernels`: input element ``j`` and tap ``t`` meet at output
``o = s*j + d*t - b``.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np

from .._options import get_options, options
from ..geometry import Geometry
from ..kernels import tap_slices
from . import blas as _blas
from . import compiled as _compiled
from . import register
from .taptable import lead_and_last, phase_plan
from .tiling import conv_tiles, tile_geometry, tiles

__all__ = ["conv_gemm", "direct", "gemm", "phase"]


def _bias_array(bias: np.ndarray | None, c_out: int, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    if bias is None:
        return np.zeros(c_out, dtype=dtype), False
    return np.ascontiguousarray(bias, dtype=dtype), True


def _output(n: int, c_out: int, geometry: Geometry, layout: str, dtype: np.dtype) -> np.ndarray:
    shape = (n, c_out, *geometry.output_size) if layout == "channels_first" else (n, *geometry.output_size, c_out)
    return np.empty(shape, dtype=dtype)


def _channels_last_block(x: np.ndarray, layout: str, n0: int, n1: int) -> np.ndarray:
    """Samples ``n0:n1`` of ``x`` as a C-contiguous ``(n, prod(i), C)`` array."""
    if layout == "channels_last":
        block = x[n0:n1]
        return np.ascontiguousarray(block).reshape(n1 - n0, -1, x.shape[-1])  # (n, P, C)
    block = x[n0:n1].reshape(n1 - n0, x.shape[1], -1)  # (n, C, P)
    if _compiled.available():
        return _transpose(np.ascontiguousarray(block))  # (n, P, C)
    return np.ascontiguousarray(block.transpose(0, 2, 1))  # (n, P, C)


def _transpose(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``(N, A, B) -> (N, B, A)`` with the compiled tiled transpose, in parallel over row blocks."""
    n, rows, cols = a.shape
    if out is None:
        out = np.empty((n, cols, rows), dtype=a.dtype)  # (N, B, A)
    tasks = n * -(-rows // 64)
    kernel = _compiled.kernels()["batched_transpose"]
    _compiled.parallel_for(kernel, [(a, out, t0, t1) for t0, t1 in _compiled.split(tasks, 4 * get_options().threads)])
    return out


def _blocked(impl, footprint):
    """Wrap ``impl`` so that its temporary memory stays under the ``memory_budget`` option.

    ``impl(x, w, b, has_bias, geometry, groups, layout, out)`` computes a batch
    block into ``out`` (C-contiguous, the block's whole output). ``footprint(geometry,
    groups, c_in, c_out, itemsize)`` estimates its temporary bytes per sample. The
    batch is processed in blocks that fit; a sample that does not fit alone is split
    into output tiles (halving the tile along the first axes until it fits), each
    computed from its input slab with its own geometry (:mod:`tconv._algorithms.tiling`).
    """

    def run(x, w, bias, geometry, groups, layout):
        n = x.shape[0]
        c_in, cog = w.shape[:2]
        c_out = groups * cog
        dtype = np.result_type(x, w)
        b, has_bias = _bias_array(bias, c_out, dtype)
        out = _output(n, c_out, geometry, layout, dtype)
        budget = get_options().memory_budget
        per_sample = footprint(geometry, groups, c_in, c_out, dtype.itemsize)
        if per_sample <= budget:
            n_block = max(1, min(n, budget // max(per_sample, 1)))
            for n0 in range(0, n, n_block):
                n1 = min(n, n0 + n_block)
                impl(x[n0:n1], w, b, has_bias, geometry, groups, layout, out[n0:n1])
            return out
        shape = list(geometry.output_size)
        for axis in range(geometry.ndim):
            while shape[axis] > 1 and _tile_footprint(geometry, shape, footprint, groups, c_in, c_out, dtype) > budget:
                shape[axis] = -(-shape[axis] // 2)
        lead = (slice(None),) if layout == "channels_last" else (slice(None), slice(None))
        for tile in tiles(geometry, tuple(shape)):
            for n0 in range(n):
                target = out[(slice(n0, n0 + 1), *lead[1:], *tile.output)]
                if tile.geometry is None:
                    target[...] = (
                        (b if layout == "channels_last" else b.reshape(-1, *(1,) * geometry.ndim)) if has_bias else 0
                    )
                    continue
                xs = x[(slice(n0, n0 + 1), *lead[1:], *tile.input)]
                part = _output(1, c_out, tile.geometry, layout, dtype)
                impl(xs, w, b, has_bias, tile.geometry, groups, layout, part)
                target[...] = part
        return out

    return run


def _tile_footprint(geometry, shape, footprint, groups, c_in, c_out, dtype):
    """Temporary bytes of the first (largest) tile of ``shape``, its output included."""
    tile = tile_geometry(geometry, (0,) * geometry.ndim, tuple(shape))
    if tile.geometry is None:
        return 0
    own = math.prod(tile.geometry.output_size) * c_out * dtype.itemsize
    return footprint(tile.geometry, groups, c_in, c_out, dtype.itemsize) + own


def _work(tasks: int, inner: int) -> list[tuple[int, int, int, int]]:
    """Split ``tasks`` rows x ``inner`` columns into enough pieces for the thread pool."""
    threads = get_options().threads
    if threads == 1:
        return [(0, tasks, 0, inner)]
    wanted = 4 * threads
    if tasks >= wanted:
        return [(a, b, 0, inner) for a, b in _compiled.split(tasks, wanted)]
    pieces = -(-wanted // max(tasks, 1))
    return [(a, b, c, d) for a, b in _compiled.split(tasks, tasks) for c, d in _compiled.split(inner, pieces)]


def gemm(x, w, b, has_bias, geometry: Geometry, groups: int, layout: str, out: np.ndarray) -> None:
    """GEMM + write-once col2im.

    One GEMM per group over all input pixels of a batch block (channels-last
    orientation) computes every contribution of every input pixel::

        cols[g, (n, j), t, co] = sum_ci x[n, j, g*C_in/G + ci] * w[g*C_in/G + ci, co, t]

    Then every output element is written once: it sums the columns that land on it,
    ``y[n, o, co] = bias[co] + sum over (j, t) with s*j + d*t - b = o of
    cols[n, j, t, co]`` (the tap tables of :mod:`tconv._algorithms.taptable`), in parallel over
    output rows, directly in the requested layout. With ``kernel_size <= stride``
    every output receives at most one tap: the GEMM plus a depth-to-space copy.
    Column memory is ``N*prod(i)*prod(k)*C_out`` elements (see :func:`_gemm_footprint`).
    """
    n = x.shape[0]
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    w_packed = _packed_weight(w, groups, kv)  # (G, Cig, Kv*Cog)
    cols = np.empty((groups, n * p_in, kv * cog), dtype=np.result_type(x, w))  # (G, M, Kv*Cog)
    if layout == "channels_first" and p_in >= SMALL_SAMPLE:
        # large samples: read each sample through a transposed view (no layout pass), one GEMM per sample
        xs = x.reshape(n, c_in, p_in)  # (N, C_in, P)
        for i in range(n):
            for g in range(groups):
                np.matmul(xs[i, g * cig : (g + 1) * cig].T, w_packed[g], out=cols[g, i * p_in : (i + 1) * p_in])
    else:
        xb = _channels_last_block(x, layout, 0, n).reshape(n * p_in, groups, cig).transpose(1, 0, 2)  # (G, M, Cig)
        np.matmul(xb, w_packed, out=cols)
    cols = cols.reshape(groups, n * p_in, kv, cog)  # (G, M, Kv, Cog)
    if _compiled.available():
        lead, last = lead_and_last(geometry)
        if layout == "channels_last":
            _gather(
                cols, lead, last, geometry, b, has_bias, out.reshape(n, lead.outputs, last.outputs, groups * cog), None
            )
        else:
            _gather(
                cols, lead, last, geometry, b, has_bias, None, out.reshape(n, groups * cog, lead.outputs, last.outputs)
            )
    else:
        _col2im_numpy(cols, geometry, b, has_bias, out, layout, groups)


def _packed_weight(w: np.ndarray, groups: int, kv: int) -> np.ndarray:
    """``(C_in, Cog, *k)`` -> ``(G, Cig, Kv*Cog)``: taps before channels, so one GEMM row holds
    every tap's output channels contiguously (with the compiled parallel transpose when available)."""
    c_in, cog = w.shape[:2]
    w3 = w.reshape(c_in, cog, kv)  # (C_in, Cog, Kv)
    if cog == 1 or kv == 1:  # already taps-first
        packed = np.ascontiguousarray(w3)
    elif _compiled.available():
        packed = _transpose(w3)  # (C_in, Kv, Cog)
    else:
        packed = np.ascontiguousarray(w3.transpose(0, 2, 1))  # (C_in, Kv, Cog)
    return packed.reshape(groups, c_in // groups, kv * cog)


def _gemm_footprint(geometry, groups, c_in, c_out, itemsize):
    p_in = math.prod(geometry.input_size)
    return p_in * (c_in + math.prod(geometry.kernel_size) * c_out) * itemsize  # channels-last copy + columns


def _gather(cols, lead, last, geometry, b, has_bias, out_cl, out_cf):
    """Run the compiled gather of ``cols`` (G, M, Kv, Cog) into one of the two output views."""
    out = out_cl if out_cl is not None else out_cf
    nb = out.shape[0]
    i_last, k_last = geometry.input_size[-1], geometry.kernel_size[-1]
    p_in = math.prod(geometry.input_size)
    kernel = _compiled.kernels()["gather_cl" if out_cl is not None else "gather_cf"]
    common = (cols, lead.ptr, lead.j, lead.t, last.ptr, last.j, last.t, p_in, i_last, k_last, lead.outputs, b, out)
    work = _work(nb * lead.outputs, last.outputs)
    _compiled.parallel_for(kernel, [common + (t0, t1, o0, o1) for t0, t1, o0, o1 in work])


def _col2im_numpy(cols, geometry, b, has_bias, out, layout, groups):
    """NumPy col2im: one strided slice-add per kernel tap (Chainer's ``col2im_cpu``)."""
    nb, cog = out.shape[0], cols.shape[3]
    cols = cols.reshape(groups, nb, *geometry.input_size, *geometry.kernel_size, cog)  # (G, n, *i, *k, Cog)
    if layout == "channels_last":
        target = out.reshape(nb, *geometry.output_size, groups, cog)  # (n, *o, G, Cog)
    else:
        target = np.moveaxis(
            out.reshape(nb, groups, cog, *geometry.output_size), (1, 2), (-2, -1)
        )  # (n, *o, G, Cog) view
    bias = b.reshape(groups, cog)  # (G, Cog)
    target[...] = bias if has_bias else 0
    for tap in np.ndindex(*geometry.kernel_size):
        slices = tap_slices(geometry, tap)
        if slices is None:
            continue
        src, dst = slices
        contribution = cols[(slice(None), slice(None), *src, *tap)]  # (G, n, *S, Cb)
        target[(slice(None), *dst)] += np.moveaxis(contribution, 0, -2)  # (n, *S, G, Cog)


#: Target size of one tile's column buffer: about one core's L2 cache on the machine measured in
#: docs/performance.md (AMD EPYC, 1 MiB L2 per core; 2 MiB measured best), so that each tile's
#: columns are gathered while they are still in cache instead of being re-read from memory.
TILE_BYTES = 2 * 2**20


#: Target size of one tile's weight block: the weight columns a tile multiplies by stay in L2 too.
WEIGHT_BYTES = 1 * 2**20
#: Column buffers up to this size stay in the (32 MiB, shared) L3 cache between the GEMM and the
#: gather, so they are not tiled: one multi-threaded BLAS GEMM is more efficient for few rows.
CACHED_COLUMNS = 3 * 2**20
#: Problems below this many useful FLOPs run on one thread: handing work to a pool costs more.
SMALL_FLOPS = 20_000_000
#: A band of output rows is at least this many times its halo (the input rows it shares with the next
#: band and recomputes): recomputing more than ~1/8 of the rows costs more than a larger tile.
MIN_BAND_HALOS = 8
#: Samples with fewer input pixels are transposed to channels-last before tiling (one GEMM per tile).
SMALL_SAMPLE = 256
#: With at most this many output channels per group (and a channels-first output), the GEMM runs
#: in the transposed orientation W^T @ x and the gather along the rows of the output.
FEW_CHANNELS = 8


class _GemmTile(NamedTuple):
    """Samples ``n0:n1``, output rows ``band`` of the first axis (read from input rows ``slab``),
    output channels ``c0:c1`` of group ``g``."""

    n0: int
    n1: int
    band: tuple[int, int]
    slab: tuple[int, int]
    geometry: Geometry | None  # the tile's own geometry; None when no input reaches it
    g: int
    c0: int
    c1: int


def _gemm_tiles(
    geometry: Geometry, n: int, groups: int, cig: int, cog: int, itemsize: int, threads: int
) -> list[_GemmTile] | None:
    """Tiles whose column buffer (and weight block) fit the cache targets and the budget; None if none can.

    Output channels are split so that a tile's weight block ``C_in/G x prod(k) x C_block``
    fits :data:`WEIGHT_BYTES`; then samples are grouped, or (for large samples) output
    rows split into bands, so that its columns fit :data:`TILE_BYTES`. Every group is
    its own tile. There are at least ``2*threads`` tiles when the problem allows.
    """
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    budget = get_options().memory_budget
    target = min(TILE_BYTES, budget // max(threads, 1))
    c_blocks = max(1, min(cog, -(-cig * kv * cog * itemsize // WEIGHT_BYTES)))
    c_block = -(-cog // c_blocks)
    pixel = kv * c_block * itemsize  # column bytes per input pixel
    i0, o0 = geometry.input_size[0], geometry.output_size[0]
    channel_tiles = [(g, c, min(cog, c + c_block)) for g in range(groups) for c in range(0, cog, c_block)]
    tiles: list[_GemmTile] = []
    wanted = 2 * threads
    if p_in * pixel <= target:
        per_tile = min(n, max(1, target // (p_in * pixel)))
        if -(-n // per_tile) * len(channel_tiles) < wanted:  # too few tiles: smaller batch blocks
            per_tile = max(1, min(per_tile, n * len(channel_tiles) // wanted))
        if -(-n // per_tile) * len(channel_tiles) >= wanted or i0 == 1:
            # channel blocks outermost: a thread's consecutive tiles reuse one weight block
            for g, c0, c1 in channel_tiles:
                tiles += [
                    _GemmTile(a, min(n, a + per_tile), (0, o0), (0, i0), geometry, g, c0, c1)
                    for a in range(0, n, per_tile)
                ]
            return tiles
        height = -(-o0 // max(1, -(-wanted // (n * len(channel_tiles)))))  # split samples into bands too
    else:
        row_bytes = p_in // i0 * pixel  # one input row of the first axis
        s, d, k = geometry.stride[0], geometry.dilation[0], geometry.kernel_size[0]
        halo = (d * (k - 1)) // s + 1  # input rows a band reads beyond its own h/s
        height = (target // row_bytes - halo) * s  # h outputs read ~ h/s + halo rows
        height = max(s, height, MIN_BAND_HALOS * halo * s)  # bound the recomputed halo rows
        if row_bytes * (height // s + halo + 1) > budget:
            height = max(s, (budget // row_bytes - halo - 1) * s)
            if row_bytes * (height // s + halo + 1) > budget:
                return None
    rest_start, rest_stop = (0,) * (geometry.ndim - 1), geometry.output_size[1:]
    for a in range(0, o0, height):
        b = min(o0, a + height)
        tile = tile_geometry(geometry, (a, *rest_start), (b, *rest_stop))
        slab = (tile.input[0].start, tile.input[0].stop)
        tiles += [
            _GemmTile(m, m + 1, (a, b), slab, tile.geometry, g, c0, c1) for g, c0, c1 in channel_tiles for m in range(n)
        ]
    return tiles


def _reshaped(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` viewed with ``shape``; raises instead of copying (assigning ``.shape`` never copies)."""
    view = array.view()
    view.shape = shape
    return view


def gemm_tiled(x, w, bias, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
    """GEMM + write-once col2im, in cache-sized tiles computed by independent threads.

    The same algebra as :func:`gemm`, organised for the cache: the output is cut
    into tiles (blocks of samples, or bands of output rows with the input rows they
    read), and each thread takes tiles one after the other, computing the tile's
    columns with a single-threaded GEMM straight from the input (a channels-first
    input is read through a transposed view, so no layout pass is needed) and
    gathering them into the output at once, while they are still in its cache.
    BLAS runs single-threaded meanwhile (:mod:`tconv._algorithms.blas`), so no BLAS thread
    pool competes with them.
    """
    n = x.shape[0]
    c_in, cog = w.shape[:2]
    cig, c_out = c_in // groups, groups * cog
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    dtype = np.result_type(x, w)
    flops = 2 * n * p_in * cig * kv * c_out
    if flops < SMALL_FLOPS:  # tiny: one thread, no tiles, nothing to hand over
        with options(threads=1):
            return _gemm_blocked(x, w, bias, geometry, groups, layout)
    if layout == "channels_first" and cog <= FEW_CHANNELS and geometry.ndim <= 3:
        return _gemm_transposed(x, w, bias, geometry, groups)
    if not _blas.available() or n * p_in * kv * c_out * dtype.itemsize <= CACHED_COLUMNS:
        return _gemm_blocked(x, w, bias, geometry, groups, layout)  # one multi-threaded GEMM, columns stay in L3
    threads = get_options().threads
    tiles = _gemm_tiles(geometry, n, groups, cig, cog, dtype.itemsize, threads)
    if tiles is None:
        return _gemm_blocked(x, w, bias, geometry, groups, layout)
    if layout == "channels_first" and p_in < SMALL_SAMPLE:
        # small samples: one transpose to channels-last rows, so each tile is one GEMM over all its samples
        x = _channels_last_block(x, layout, 0, n).reshape(n, *geometry.input_size, c_in)
        layout_in = "channels_last"
    else:
        layout_in = layout
    b, _ = _bias_array(bias, c_out, dtype)
    out = _output(n, c_out, geometry, layout, dtype)
    blocks = sorted({(t.c0, t.c1) for t in tiles})
    packed = {(c0, c1): _packed_weight(w[:, c0:c1], groups, kv) for c0, c1 in blocks}  # (G, Cig, Kv*Cb) each
    largest = max(
        (t.n1 - t.n0) * math.prod(t.geometry.input_size) * (t.c1 - t.c0) for t in tiles if t.geometry is not None
    )
    claim = itertools.count()

    def work() -> None:
        workspace = np.empty(largest * kv, dtype=dtype)  # this thread's column buffer
        for index in claim:
            if index >= len(tiles):
                return
            tile = tiles[index]
            _gemm_tile(tile, x, packed[tile.c0, tile.c1][tile.g], b, out, workspace, layout_in, layout, cig, cog, kv)

    with _blas.single_threaded_blas():  # each of our threads runs its own single-threaded GEMMs
        _compiled.parallel_for(work, [()] * min(threads, len(tiles)))
    return out


def _gemm_tile(tile, x, w_block, b, out, workspace, layout_in, layout, cig, cog, kv):
    """One tile: single-threaded GEMM of its input rows with its weight block, then its gather.

    ``w_block`` is ``(C_in/G, Kv*Cb)``: group ``tile.g``, channels ``tile.c0:tile.c1``.
    ``layout_in`` is the layout of ``x``, ``layout`` that of ``out``.
    """
    n0, n1, (a0, a1), g, c0, c1 = tile.n0, tile.n1, tile.band, tile.g, tile.c0, tile.c1
    channels = slice(g * cog + c0, g * cog + c1)  # the tile's output channels
    nd = out.ndim - 2
    region = out[n0:n1, channels, a0:a1] if layout == "channels_first" else out[n0:n1, a0:a1, ..., channels]
    bias = b[channels]
    if tile.geometry is None:  # no input reaches these outputs: the bias alone
        region[...] = bias.reshape(-1, *(1,) * nd) if layout == "channels_first" else bias
        return
    sub = tile.geometry
    rows = math.prod(sub.input_size)
    nt, cb = n1 - n0, c1 - c0
    cols = _reshaped(workspace[: nt * rows * kv * cb], (nt * rows, kv * cb))  # (rows, Kv*Cb)
    j0, j1 = tile.slab
    inputs = slice(g * cig, (g + 1) * cig)
    if layout_in == "channels_last" and j0 == 0 and j1 == x.shape[1] and x.flags.c_contiguous:
        # whole samples of a channels-last input: all the tile's rows are one matrix
        lhs = _reshaped(x[n0:n1], (nt * rows, x.shape[-1]))[:, inputs]  # (nt*rows, Cig)
        np.matmul(lhs, w_block, out=cols)
        nt_loop = 0
    else:
        nt_loop = nt
    for i in range(nt_loop):
        if layout_in == "channels_first":
            xs = x[n0 + i, inputs, j0:j1]  # (Cig, *slab)
            try:
                lhs = _reshaped(xs, (cig, rows)).T  # (rows, Cig), a transposed view
            except AttributeError:
                lhs = np.ascontiguousarray(xs).reshape(cig, rows).T
        else:
            xs = x[n0 + i, j0:j1, ..., inputs]  # (*slab, Cig)
            try:
                lhs = _reshaped(xs, (rows, cig))
            except AttributeError:
                lhs = np.ascontiguousarray(xs).reshape(rows, cig)
        np.matmul(lhs, w_block, out=cols[i * rows : (i + 1) * rows])  # (rows, Cig) @ (Cig, Kv*Cb)
    lead, last = lead_and_last(sub)
    cols4 = _reshaped(cols, (1, nt * rows, kv, cb))  # (1, M, Kv, Cb)
    if layout == "channels_first":
        view = region[:, :, None] if nd == 1 else region
        view = _reshaped(view, (nt, cb, lead.outputs, last.outputs))  # (n, Cb, O_lead, O_last)
        kernel = _compiled.kernels()["gather_cf"]
    else:
        view = region[:, None] if nd == 1 else region
        view = _reshaped(view, (nt, lead.outputs, last.outputs, cb))  # (n, O_lead, O_last, Cb)
        kernel = _compiled.kernels()["gather_cl"]
    kernel(
        cols4,
        lead.ptr,
        lead.j,
        lead.t,
        last.ptr,
        last.j,
        last.t,
        rows,
        sub.input_size[-1],
        sub.kernel_size[-1],
        lead.outputs,
        bias,
        view,
        0,
        nt * lead.outputs,
        0,
        last.outputs,
    )


def _gemm_transposed(x, w, bias, geometry: Geometry, groups: int) -> np.ndarray:
    """gemm in the channels-first orientation, for few output channels per group.

    With 1-8 output channels the channels-last columns give the gather a loop of
    1-8 channels per tap; in the transposed orientation ``cols = W^T @ x[n]``
    (``(Kv*Cog) x P`` per sample and group, ONNX Runtime's orientation) the gather
    runs along contiguous input positions instead (:func:`gather_rows_t`), one
    output channel's rows at a time. Tiles are (sample, group) pairs computed by
    independent threads with single-threaded BLAS; with fewer tiles than threads
    the GEMMs use BLAS's threads instead.
    """
    n = x.shape[0]
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    dtype = np.result_type(x, w)
    b, _ = _bias_array(bias, groups * cog, dtype)
    out = _output(n, groups * cog, geometry, "channels_first", dtype)
    lead, last = lead_and_last(geometry)
    o_lead, o_last = lead.outputs, last.outputs
    wt = w.reshape(groups, cig, cog * kv).transpose(0, 2, 1)  # (G, Cog*Kv, Cig): a view, BLAS reads it transposed
    xs = x.reshape(n, groups, cig, p_in)  # (N, G, Cig, P)
    out4 = out.reshape(n, groups, cog, o_lead, o_last)  # (N, G, Cog, O_lead, O_last)
    rows = _compiled.kernels()["gather_rows_t"]
    s, d, bb = geometry.stride[-1], geometry.dilation[-1], geometry.crop_begin[-1]
    tiles = [(i, g) for i in range(n) for g in range(groups)]
    threads = get_options().threads
    bytes_per_tile = kv * cog * p_in * dtype.itemsize
    if len(tiles) * bytes_per_tile > get_options().memory_budget and bytes_per_tile > get_options().memory_budget:
        return _gemm_blocked(x, w, bias, geometry, groups, "channels_first")  # one sample's columns exceed the budget
    claim = itertools.count()

    def work() -> None:
        cols = np.empty((cog * kv, p_in), dtype=dtype)  # this thread's (Cog*Kv, P) columns
        for index in claim:
            if index >= len(tiles):
                return
            i, g = tiles[index]
            np.matmul(wt[g], xs[i, g], out=cols)  # (Cog*Kv, Cig) @ (Cig, P)
            c3 = _reshaped(cols, (cog, kv, p_in)).transpose(1, 0, 2)  # (Kv, Cog, P) view
            for c in range(cog):
                rows(
                    c3,
                    c,
                    lead.ptr,
                    lead.j,
                    lead.t,
                    geometry.input_size[-1],
                    geometry.kernel_size[-1],
                    s,
                    d,
                    bb,
                    o_last,
                    b[g * cog + c],
                    out4[i, g, c],
                )

    if len(tiles) >= threads and _blas.available():
        with _blas.single_threaded_blas():
            _compiled.parallel_for(work, [()] * threads)
    else:
        work()  # few tiles: BLAS's own threads do the GEMMs
    return out


_gemm_blocked = _blocked(gemm, _gemm_footprint)


def _gemm_dispatch(x, w, bias, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
    if _compiled.available():
        return gemm_tiled(x, w, bias, geometry, groups, layout)
    return _gemm_blocked(x, w, bias, geometry, groups, layout)


register("gemm", "one GEMM over all input pixels, then a write-once gather of the columns (col2im)")(_gemm_dispatch)


def _accumulating_gemm(dtype: np.dtype):
    """``gemm(a, b, c)``: ``c += a @ b`` in place (BLAS ``beta=1``; NumPy fallback: a temporary)."""
    try:
        from scipy.linalg import blas
    except ImportError:  # pragma: no cover - SciPy is optional
        blas = None
    if blas is not None and dtype.char in "fdFD":
        routine = {"f": blas.sgemm, "d": blas.dgemm, "F": blas.cgemm, "D": blas.zgemm}[dtype.char]

        def gemm_beta1(a, b, c):
            # c (R, Co) C-order is c.T (Co, R) in Fortran order: c.T += b.T @ a.T, no copies.
            routine(1.0, b.T, a.T, beta=1.0, c=c.T, overwrite_c=1)

        return gemm_beta1

    def gemm_add(a, b, c):
        c += a @ b

    return gemm_add


def phase(x, w, b, has_bias, geometry: Geometry, groups: int, layout: str, out: np.ndarray) -> None:
    """The polyphase (sub-pixel) decomposition: ``prod(stride)`` small stride-1 convolutions.

    Along an axis, output ``o`` (full position ``f = o + b``) receives tap ``t`` only
    when ``d*t ≡ f (mod s)``. Grouping outputs by that residue, phase
    ``o = first + s*q`` is a stride-1 correlation over ``q`` with just its taps,
    ``y[first + s*q] = sum_t x[q + offset_t] @ W_t`` (:func:`tconv._algorithms.taptable.phase_plan`;
    when ``gcd(s, d) > 1`` some residues get no tap at all and are the bias alone).
    No multiplication by an inserted zero, no scatter.

    Each phase is computed as shifted-window GEMMs accumulated in place: on the
    input, zero-padded and flattened channels-last, every tap's window over all
    output rows of the phase is one contiguous row range, so each tap is one GEMM
    ``(rows x C_in) @ (C_in x C_out)`` added into the phase's accumulator (BLAS
    ``beta=1``, no column buffer; the rows between samples and past each row's end
    are computed and discarded). Then the phase is interleaved into the output,
    with bias and layout, in one pass. When every phase reads the same window
    (``kernel_size == stride``, no crop) all taps share one GEMM: a single GEMM plus
    a depth-to-space.
    """
    nb = x.shape[0]
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    plans = _phase_plans(geometry)
    pad_before, pad_after = _phase_padding(geometry, plans)
    padded = tuple(i + a + c for i, a, c in zip(geometry.input_size, pad_before, pad_after))
    pitch = tuple(math.prod(padded[a + 1 :]) for a in range(geometry.ndim))  # C-order strides of the padded grid
    wg = w.reshape(groups, cig, cog, *geometry.kernel_size)  # (G, Cig, Cog, *k)
    xp = _padded_channels_last(x, layout, 0, nb, geometry, pad_before, pad_after)  # (nb, *padded, C_in)
    flat = xp.reshape(nb * math.prod(padded), groups, cig)  # (nb*P, G, Cig)
    shared = _single_window(plans)
    if shared is not None:
        _phase_single_gemm(
            flat, wg, plans, shared, pad_before, pitch, padded, nb, out, b, has_bias, layout, geometry, groups
        )
        return
    accumulate = _accumulating_gemm(flat.dtype)
    y = np.empty((groups, nb * math.prod(padded), cog), dtype=flat.dtype)  # phase accumulator, padded pitch
    for index in np.ndindex(*(len(p) for p in plans)):
        ph = [plan[a] for plan, a in zip(plans, index)]
        counts = [p.count for p in ph]
        if 0 in counts or not all(p.taps for p in ph):
            continue  # no output, or a dilation hole (bias only, written by _fill_holes)
        rows = sum((c - 1) * p for c, p in zip(counts, pitch)) + 1  # last valid position + 1
        span = (nb - 1) * math.prod(padded) + rows
        tap_lists = [list(zip(p.taps, p.offsets)) for p in ph]
        acc = y[:, :span]
        acc[...] = 0
        for combo in np.ndindex(*(len(t) for t in tap_lists)):
            tap = tuple(tap_lists[a][c][0] for a, c in enumerate(combo))
            start = sum((tap_lists[a][c][1] + pad_before[a]) * pitch[a] for a, c in enumerate(combo))
            window = flat[start : start + span]  # (span, G, Cig): contiguous rows
            for g in range(groups):
                accumulate(window[:, g], wg[(g, slice(None), slice(None), *tap)], acc[g])
        _interleave(y, ph, padded, nb, out, b, has_bias, layout, geometry, groups, cog)
    _fill_holes(plans, out, b, has_bias, layout, geometry)


def _phase_plans(geometry):
    return [
        phase_plan(i, k, s, d, bb, o)
        for i, k, s, d, bb, o in zip(
            geometry.input_size,
            geometry.kernel_size,
            geometry.stride,
            geometry.dilation,
            geometry.crop_begin,
            geometry.output_size,
        )
    ]


def _phase_padding(geometry, plans):
    """Zero padding per axis that keeps every (phase, tap) window inside the padded input."""
    before, after = [], []
    for axis, plan in enumerate(plans):
        lows = [u for ph in plan for u in ph.offsets] or [0]
        highs = [ph.count - 1 + u for ph in plan for u in ph.offsets] or [0]
        before.append(max(0, -min(lows)))
        after.append(max(0, max(highs) - (geometry.input_size[axis] - 1)))
    return before, after


def _phase_footprint(geometry, groups, c_in, c_out, itemsize):
    plans = _phase_plans(geometry)
    before, after = _phase_padding(geometry, plans)
    padded = math.prod(i + a + c for i, a, c in zip(geometry.input_size, before, after))
    extra = c_out * len(list(np.ndindex(*(len(p) for p in plans)))) if _single_window(plans) is not None else 0
    # padded channels-last input, one phase accumulator, and the all-phase GEMM output of the k == s case
    return padded * (c_in + c_out + extra) * itemsize


def _padded_channels_last(x, layout, n0, n1, geometry, before, after):
    """Samples n0:n1 zero-padded and channels-last: ``(n, *padded, C)`` C-contiguous."""
    nb = n1 - n0
    c = x.shape[1] if layout == "channels_first" else x.shape[-1]
    padded = tuple(i + a + b for i, a, b in zip(geometry.input_size, before, after))
    xp = np.zeros((nb, *padded, c), dtype=x.dtype)
    inner = tuple(slice(a, a + i) for a, i in zip(before, geometry.input_size))
    if layout == "channels_first":
        xp[(slice(None), *inner)] = _channels_last_block(x, layout, n0, n1).reshape(nb, *geometry.input_size, c)
    else:
        xp[(slice(None), *inner)] = x[n0:n1]
    return xp


def _single_window(plans):
    """The common offsets when every phase has exactly one tap at the same offset, else None."""
    offsets = []
    for plan in plans:
        per_axis = {u for ph in plan for u in ph.offsets}
        if any(len(ph.taps) != 1 for ph in plan) or len(per_axis) != 1:
            return None
        offsets.append(per_axis.pop())
    return tuple(offsets)


def _phase_single_gemm(
    flat, wg, plans, offsets, pad_before, pitch, padded, nb, out, b, has_bias, layout, geometry, groups
):
    """kernel_size == stride (and the like): one GEMM for all phases, then depth-to-space."""
    cig, cog = wg.shape[1:3]
    counts = [max(ph.count for ph in plan) for plan in plans]
    rows = sum((c - 1) * p for c, p in zip(counts, pitch)) + 1
    span = (nb - 1) * math.prod(padded) + rows
    start = sum((u + a) * p for u, a, p in zip(offsets, pad_before, pitch))
    phases = list(np.ndindex(*(len(p) for p in plans)))
    taps = [tuple(plan[a].taps[0] for plan, a in zip(plans, index)) for index in phases]
    # (G, Cig, F*Cog): the weights of every phase side by side
    wcat = np.stack([wg[(slice(None), slice(None), slice(None), *t)] for t in taps], axis=2)  # (G, Cig, F, Cog)
    wcat = wcat.reshape(groups, cig, len(taps) * cog)
    window = flat[start : start + span].transpose(1, 0, 2)  # (G, span, Cig)
    y = np.empty((groups, nb * math.prod(padded), len(taps) * cog), dtype=flat.dtype)  # (G, nb*P, F*Cog)
    np.matmul(window, wcat, out=y[:, :span])
    for f, index in enumerate(phases):
        ph = [plan[a] for plan, a in zip(plans, index)]
        if 0 not in [p.count for p in ph]:
            _interleave(y, ph, padded, nb, out, b, has_bias, layout, geometry, groups, cog, f * cog)


def _interleave(y, ph, padded, nb, out, b, has_bias, layout, geometry, groups, cog, c0=0):
    """Write one phase into every s-th output position.

    ``y`` is (G, nb*P, W) on the padded pitch; this phase's channels are columns
    ``c0:c0+Cog``.
    """
    nd = geometry.ndim
    counts = [p.count for p in ph]
    width = y.shape[2]
    if _compiled.available():
        lead_counts, lead_padded, lead_out = counts[:-1], padded[:-1], geometry.output_size[:-1]
        if nd > 1:
            q_lead = np.indices(lead_counts).reshape(nd - 1, -1)  # (nd-1, E)
            src = np.ravel_multi_index(q_lead, lead_padded).astype(np.int64)
            dst = np.ravel_multi_index(
                [ph[a].first + geometry.stride[a] * q_lead[a] for a in range(nd - 1)], lead_out
            ).astype(np.int64)
        else:
            src = dst = np.zeros(1, np.int64)
        y5 = y.reshape(groups, nb, math.prod(lead_padded), padded[-1], width)  # (G, nb, L, Q, W)
        o_lead = math.prod(lead_out)
        c_out = groups * cog
        view = (
            out.reshape(nb, o_lead, geometry.output_size[-1], c_out)
            if layout == "channels_last"
            else out.reshape(nb, c_out, o_lead, geometry.output_size[-1])
        )
        kernel = _compiled.kernels()["interleave"]
        calls = [
            (
                y5,
                src,
                dst,
                ph[-1].first,
                counts[-1],
                geometry.stride[-1],
                c0,
                b,
                has_bias,
                view,
                layout == "channels_last",
                t0,
                t1,
            )
            for t0, t1 in _compiled.split(nb * len(src), 4 * get_options().threads)
        ]
        _compiled.parallel_for(kernel, calls)
        return
    yv = y.reshape(groups, nb, *padded, width)[
        (slice(None), slice(None), *(slice(0, c) for c in counts), slice(c0, c0 + cog))
    ]  # (G, nb, *counts, Cog)
    positions = tuple(slice(p.first, None, s) for p, s in zip(ph, geometry.stride))
    values = np.moveaxis(yv, 0, -2).reshape(nb, *counts, groups * cog)  # (nb, *counts, C_out)
    if has_bias:
        values = values + b
    if layout == "channels_last":
        out[(slice(None), *positions)] = values
    else:
        out[(slice(None), slice(None), *positions)] = np.moveaxis(values, -1, 1)


def _fill_holes(plans, out, b, has_bias, layout, geometry):
    """Outputs of phases that no tap reaches (dilation holes) are the bias alone."""
    value = b if has_bias else np.zeros_like(b)
    for index in np.ndindex(*(len(p) for p in plans)):
        ph = [plan[a] for plan, a in zip(plans, index)]
        if 0 in [p.count for p in ph] or all(p.taps for p in ph):
            continue
        positions = tuple(slice(p.first, None, s) for p, s in zip(ph, geometry.stride))
        if layout == "channels_last":
            out[(slice(None), *positions)] = value
        else:
            out[(slice(None), slice(None), *positions)] = value.reshape(-1, *(1,) * geometry.ndim)


register("phase", "polyphase: one stride-1 convolution per output phase, shifted-window GEMMs, no zeros")(
    _blocked(phase, _phase_footprint)
)


def direct(x, w, b, has_bias, geometry: Geometry, groups: int, layout: str, out: np.ndarray) -> None:
    """Direct small-group (and depthwise) transposed convolution, written once per output.

    With few channels per group there is nothing for BLAS to do (depthwise: a
    ``1 x 1`` GEMM per group and tap): each output pixel sums
    ``x[n, j, ci] * w[ci, k, t]`` over its ``(j, t)`` pairs (the tap tables) and the
    input channels ``ci`` of its group, vectorised along the channels of a
    channels-last pixel, in one compiled pass. The NumPy path does one broadcast
    multiply-add per tap.
    """
    n = x.shape[0]
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    c_out = groups * cog
    kv = math.prod(geometry.kernel_size)
    x_cl = _channels_last_block(x, layout, 0, n)  # (N, P_in, C_in)
    if not _compiled.available():
        out[...] = _direct_numpy(x_cl, w, b, has_bias, geometry, groups, layout)
        return
    wt = np.ascontiguousarray(w.reshape(c_in, cog, kv).transpose(2, 0, 1))  # (Kv, C_in, Cog)
    lead, last = lead_and_last(geometry)
    p_out = math.prod(geometry.output_size)
    if layout == "channels_last":
        y_cl = out.reshape(n, lead.outputs, last.outputs, c_out)  # (N, O_lead, O_last, C_out), written in place
    else:
        y_cl = np.empty((n, lead.outputs, last.outputs, c_out), dtype=out.dtype)
    kernel = _compiled.kernels()["direct_cl"]
    common = (
        x_cl,
        wt,
        cig,
        cog,
        lead.ptr,
        lead.j,
        lead.t,
        last.ptr,
        last.j,
        last.t,
        math.prod(geometry.input_size),
        geometry.input_size[-1],
        geometry.kernel_size[-1],
        lead.outputs,
        b,
        y_cl,
    )
    tasks = n * lead.outputs
    _compiled.parallel_for(kernel, [common + (t0, t1) for t0, t1 in _compiled.split(tasks, 4 * get_options().threads)])
    if layout == "channels_first":
        _transpose(y_cl.reshape(n, p_out, c_out), out.reshape(n, c_out, p_out))  # (N, P, C) -> (N, C, P)


def _direct_footprint(geometry, groups, c_in, c_out, itemsize):
    # channels-last input copy and (for channels-first output) a channels-last output
    return (math.prod(geometry.input_size) * c_in + math.prod(geometry.output_size) * c_out) * itemsize


def _direct_numpy(x_cl, w, b, has_bias, geometry, groups, layout):
    n, _, c_in = x_cl.shape
    cig, cog = c_in // groups, w.shape[1]
    xg = x_cl.reshape(n, *geometry.input_size, groups, cig)  # (N, *i, G, Cig)
    wg = w.reshape(groups, cig, cog, *geometry.kernel_size)  # (G, Cig, Cog, *k)
    y = np.empty((n, *geometry.output_size, groups, cog), dtype=b.dtype)  # (N, *o, G, Cog)
    y[...] = b.reshape(groups, cog) if has_bias else 0
    for tap in np.ndindex(*geometry.kernel_size):
        slices = tap_slices(geometry, tap)
        if slices is None:
            continue
        src, dst = slices
        xs = xg[(slice(None), *src)]  # (N, *S, G, Cig)
        wt = wg[(Ellipsis, *tap)]  # (G, Cig, Cog)
        if cig == 1:
            contribution = xs * wt[:, 0, :]  # (N, *S, G, Cog)
        else:
            contribution = np.einsum("...gi,gio->...go", xs, wt)
        y[(slice(None), *dst)] += contribution
    y = y.reshape(n, *geometry.output_size, groups * cog)  # (N, *o, C_out)
    return y if layout == "channels_last" else np.ascontiguousarray(np.moveaxis(y, -1, 1))


register("direct", "direct small-group/depthwise kernel: each output pixel written once, no BLAS")(
    _blocked(direct, _direct_footprint)
)


def _positions(geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Input positions read by each (output, tap) of a convolution: lead (flat) and last axis, -1 outside."""
    per_axis = []
    for i, o, k, s, d, b in zip(
        geometry.input_size,
        geometry.output_size,
        geometry.kernel_size,
        geometry.stride,
        geometry.dilation,
        geometry.crop_begin,
    ):
        pos = s * np.arange(i)[:, None] + d * np.arange(k)[None, :] - b  # (J, K)
        per_axis.append(np.where((pos >= 0) & (pos < o), pos, -1))
    last = per_axis[-1].astype(np.int64)
    lead = np.zeros((1, 1), dtype=np.int64)
    for axis in range(geometry.ndim - 1):
        pos = per_axis[axis]
        o = geometry.output_size[axis]
        flat = lead[:, None, :, None] * o + pos[None, :, None, :]  # (J_lead, J_a, K_lead, K_a)
        bad = (lead[:, None, :, None] < 0) | (pos[None, :, None, :] < 0)
        lead = np.where(bad, -1, flat).reshape(lead.shape[0] * pos.shape[0], lead.shape[1] * pos.shape[1])
    return lead, last


def conv_gemm(x, w, bias, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
    """Convolution as im2col + one GEMM per group (the forward operator of the gradients).

    The columns ``cols[(n, j), t, ci] = x[n, s*j + d*t - b, ci]`` (zero outside) are
    gathered in one compiled pass over a channels-last input (NumPy: one strided
    copy per tap), then ``y = cols @ W`` with ``W[(t, ci), co] = w[co, ci, t]``.
    Batch blocks, or output tiles for samples too large alone, keep the columns
    under the memory budget.
    """
    n = x.shape[0]
    c_out, cig = w.shape[:2]
    c_in = cig * groups
    cog = c_out // groups
    kv = math.prod(geometry.kernel_size)
    dtype = np.result_type(x, w)
    b, has_bias = _bias_array(bias, c_out, dtype)
    out_shape = (n, *geometry.input_size, c_out) if layout == "channels_last" else (n, c_out, *geometry.input_size)
    out = np.empty(out_shape, dtype=dtype)
    wm = np.ascontiguousarray(w.reshape(groups, cog, cig, kv).transpose(0, 3, 2, 1)).reshape(groups, kv * cig, cog)
    budget = get_options().memory_budget
    per_sample = (
        math.prod(geometry.output_size) * c_in + math.prod(geometry.input_size) * (kv * c_in + 2 * c_out)
    ) * dtype.itemsize
    if per_sample <= budget:
        step = max(1, budget // per_sample)
        for n0 in range(0, n, step):
            out[n0 : n0 + step] = _conv_gemm_block(x[n0 : n0 + step], wm, b, has_bias, geometry, groups, layout)
        return out
    shape = list(geometry.input_size)
    for axis in range(geometry.ndim):
        while shape[axis] > 1 and per_sample * math.prod(shape) / math.prod(geometry.input_size) > budget:
            shape[axis] = -(-shape[axis] // 2)
    channel = (slice(None),) if layout == "channels_first" else ()
    for tile in conv_tiles(geometry, tuple(shape)):
        for n0 in range(n):
            xs = x[(slice(n0, n0 + 1), *channel, *tile.input)]
            out[(slice(n0, n0 + 1), *channel, *tile.output)] = _conv_gemm_block(
                xs, wm, b, has_bias, tile.geometry, groups, layout
            )
    return out


def _im2col(big_cl: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Columns of a convolution: ``cols[n, j, t, :] = big[n, s*j + d*t - crop_begin, :]`` (zeros outside).

    ``big_cl`` is ``(n, prod(geometry.output_size), C)`` channels-last; the result is
    ``(n, prod(geometry.input_size), prod(kernel_size), C)``: one compiled pass, or one
    strided copy per tap with NumPy alone.
    """
    n, _, c = big_cl.shape
    kv = math.prod(geometry.kernel_size)
    p_small = math.prod(geometry.input_size)
    cols = np.empty((n, p_small, kv, c), dtype=big_cl.dtype)  # (n, P_small, Kv, C)
    if _compiled.available():
        lead, last = _positions(geometry)
        kernel = _compiled.kernels()["im2col_cl"]
        calls = [
            (big_cl, lead, last, geometry.output_size[-1], cols, t0, t1)
            for t0, t1 in _compiled.split(n * lead.shape[0], 4 * get_options().threads)
        ]
        _compiled.parallel_for(kernel, calls)
        return cols
    big = big_cl.reshape(n, *geometry.output_size, c)  # (n, *big, C)
    view = cols.reshape(n, *geometry.input_size, *geometry.kernel_size, c)  # (n, *small, *k, C)
    view[...] = 0
    for tap in np.ndindex(*geometry.kernel_size):
        slices = tap_slices(geometry, tap)
        if slices is not None:
            src, dst = slices
            view[(slice(None), *src, *tap)] = big[(slice(None), *dst)]
    return cols


def _conv_gemm_block(x, wm, b, has_bias, geometry, groups, layout):
    n = x.shape[0]
    kv, cog = math.prod(geometry.kernel_size), wm.shape[2]
    cig = wm.shape[1] // kv
    c_out = groups * cog
    p_out = math.prod(geometry.input_size)
    x_cl = _channels_last_block(x, layout, 0, n)  # (n, P_big, C_in)
    cols = _im2col(x_cl, geometry)  # (n, P_out, Kv, C_in)
    if groups > 1 and cig * cog <= 16:  # small groups (depthwise): one contraction over all groups
        wg = wm.reshape(groups, kv, cig, cog)  # (G, Kv, Cig, Cog)
        y = np.einsum("mtgi,gtio->mgo", cols.reshape(n * p_out, kv, groups, cig), wg)  # (M, G, Cog)
        y = y.reshape(n, p_out, c_out)  # (n, P_out, C_out)
    else:
        lhs = (
            cols.reshape(n * p_out, kv, groups, cig).transpose(2, 0, 1, 3).reshape(groups, n * p_out, kv * cig)
        )  # (G, M, Kv*Cig)
        y = np.matmul(lhs, wm)  # (G, M, Cog)
        y = y.transpose(1, 0, 2).reshape(n, p_out, c_out)  # (n, P_out, C_out)
    if has_bias:
        y += b
    if layout == "channels_last":
        return y.reshape(n, *geometry.input_size, c_out)
    return np.ascontiguousarray(y.transpose(0, 2, 1)).reshape(n, c_out, *geometry.input_size)


register("gemm", "im2col (one compiled gather pass) + one GEMM per group", op="conv")(conv_gemm)


def weight_gradient(small, big, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
    """``dw[g, a, b, t] = sum_n sum_j small[n, g*A + a, j] * big[n, g*B + b, s*j + d*t - crop_begin]``.

    The weight gradient of both operators (:func:`tconv.kernels.weight_correlation`
    is its reference form): for ``conv_transpose`` ``small`` is the input and ``big``
    the output gradient; for ``conv`` ``small`` is the output gradient and ``big`` the
    input. Computed as im2col of ``big`` over the geometry (one compiled pass,
    ``cols[(n, j), t, b] = big[n, position(j, t), b]``) and one GEMM per group,
    ``dw[g] = small_g^T @ cols_g``, in batch blocks under the memory budget (samples
    too large alone are split into tiles of the small side, whose partial sums add).

    ``small`` and ``big`` are batched in ``layout``; returns ``(G, A, B, *kernel_size)``.
    """
    n = small.shape[0]
    a_total = small.shape[1] if layout == "channels_first" else small.shape[-1]
    b_total = big.shape[1] if layout == "channels_first" else big.shape[-1]
    a, bb = a_total // groups, b_total // groups
    kv = math.prod(geometry.kernel_size)
    dtype = np.result_type(small, big)
    dw = np.zeros((groups, a, kv * bb), dtype=dtype)  # (G, A, Kv*B)
    p_small, p_big = math.prod(geometry.input_size), math.prod(geometry.output_size)
    per_sample = (p_small * (kv * b_total + a_total) + p_big * b_total) * dtype.itemsize
    budget = get_options().memory_budget
    if per_sample <= budget:
        step = max(1, budget // per_sample)
        for n0 in range(0, n, step):
            _weight_gradient_block(small[n0 : n0 + step], big[n0 : n0 + step], geometry, groups, layout, dw)
    else:
        shape = list(geometry.input_size)
        for axis in range(geometry.ndim):
            while shape[axis] > 1 and per_sample * math.prod(shape) / p_small > budget:
                shape[axis] = -(-shape[axis] // 2)
        channel = (slice(None),) if layout == "channels_first" else ()
        for tile in conv_tiles(geometry, tuple(shape)):
            for n0 in range(n):
                _weight_gradient_block(
                    small[(slice(n0, n0 + 1), *channel, *tile.output)],
                    big[(slice(n0, n0 + 1), *channel, *tile.input)],
                    tile.geometry,
                    groups,
                    layout,
                    dw,
                )
    dw = dw.reshape(groups, a, kv, bb).transpose(0, 1, 3, 2)  # (G, A, B, Kv)
    return dw.reshape(groups, a, bb, *geometry.kernel_size)  # (G, A, B, *k)


def _weight_gradient_block(small, big, geometry, groups, layout, dw):
    """Add one block's contribution ``small^T @ im2col(big)`` to ``dw`` (G, A, Kv*B)."""
    n = small.shape[0]
    kv = math.prod(geometry.kernel_size)
    p_small = math.prod(geometry.input_size)
    big_cl = _channels_last_block(big, layout, 0, n)  # (n, P_big, B_total)
    small_cl = _channels_last_block(small, layout, 0, n).reshape(n * p_small, -1)  # (n*P_small, A_total)
    b_total = big_cl.shape[2]
    cols = _im2col(big_cl, geometry)  # (n, P_small, Kv, B_total)
    a, bb = dw.shape[1], b_total // groups
    if groups > 1 and a * bb <= 16:  # small groups (depthwise): one contraction over all groups
        sg = small_cl.reshape(n * p_small, groups, a)  # (M, G, A)
        cg = cols.reshape(n * p_small, kv, groups, bb)  # (M, Kv, G, B)
        dw += np.einsum("mga,mtgb->gatb", sg, cg).reshape(groups, a, kv * bb)
        return
    for g in range(groups):
        rhs = cols[..., g * bb : (g + 1) * bb].reshape(n * p_small, kv * bb)  # (n*P_small, Kv*B)
        dw[g] += small_cl[:, g * a : (g + 1) * a].T @ rhs  # (A, n*P_small) @ (n*P_small, Kv*B)
