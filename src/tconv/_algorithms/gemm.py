"""The ``"gemm"`` algorithm of ``conv_transpose``: GEMM + write-once col2im.

One GEMM per group over all input pixels (channels-last orientation) computes every
contribution of every input pixel::

    cols[g, (n, j), t, co] = sum_ci x[n, j, g*Cig + ci] * w[g*Cig + ci, co, t]

Then every output element is written once: it sums the columns that land on it,
``y[n, o, co] = bias[co] + sum over (j, t) with s*j + d*t - b = o of cols[n, j, t, co]``
(the tap tables of :mod:`tconv._algorithms.taptable`), directly in the requested
layout. With ``kernel_size <= stride`` every output receives at most one tap: the
GEMM plus a depth-to-space copy. No multiplication by an inserted zero.

Three organisations of that algebra, chosen by :func:`run`:

- :func:`gemm`, one GEMM over a batch block then a parallel gather, under the
  memory budget (:mod:`tconv._algorithms.blocking`); the NumPy-only path gathers
  with one strided slice-add per tap instead (Chainer's ``col2im``);
- :func:`gemm_tiled`, cache-sized tiles computed by independent threads, each
  tile's columns gathered while they are still in that core's cache;
- :func:`gemm_transposed`, the orientation ``W^T @ x`` for few output channels.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .._options import effective, internal
from ..geometry import Geometry
from ..kernels import tap_pairs
from . import blas as _blas
from . import compiled as _compiled
from . import cost as _cost
from .blocking import blocked
from .problem import Problem, batched_shape, channels_last
from .taptable import Tables, lead_and_last, lead_table, table_bytes, tap_ranges
from .tiling import shares, tile_geometry
from .workspace import scratch

__all__ = ["direct_rows", "gemm", "gemm_tiled", "gemm_transposed", "planned", "run", "small_call"]

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
#: With stamps that do not overlap (U-Net's k2 s2), 1-d and 2-d samples of at least this many input cells
#: run in the transposed orientation too: each output row is then its input row's products interleaved,
#: where the channels-last columns needed a transpose from channels to the output's rows. Measured A/B
#: on 19 such layers (k2 s2, k3 s3, k4 s4, 1-d k4 s4; 16-512 channels, 24^2-256^2): 1.02-1.35x as fast,
#: but one 64-channel 32 x 32 layer of 1.4 ms at 0.97x; in 3-d 0.78-1.22x, so not there.
TRANSPOSED_PIXELS = 512
#: ... and from this many where the stamps tile every axis exactly (kernel = stride, dilation 1), whose
#: gather writes each output once (``_stamp_tap`` of :mod:`.numba_kernels`). Measured against the
#: channels-last columns on 15 such 1-d and 2-d layers of 196-441 input cells (k2 s2, k3 s3, k4 s4; 21-512
#: channels, 1-16 samples): 1.00-1.67x; on 64 and 144 cells 1.01x and 0.82x, 16 cells 0.69x; stamps
#: with gaps between them (k2 s3) at 400 cells 0.86x.
STAMP_PIXELS = 192
#: Overlapping stamps whose last axis is k3 or k4 at stride 2 (dilation 1: decoders' k3 s2, DCGAN's and
#: pix2pix's k4 s2), whose rows ``gather_k3s2_t`` and ``gather_k4s2_t`` write two outputs an input at a
#: time, run in the transposed orientation from :data:`TRANSPOSED_PIXELS` input cells a sample and input
#: rows of at least this many cells. Measured A/B (two threads, min of 3 rounds, plain and prepared calls,
#: against the channels-last columns) on 21 k3 and k4 layers of 576-4096 cells: 0.91-1.73x, 39 of the 42
#: timings 1.0x or better (the three others on layers of 0.2-1 ms), the benchmark's decoder-k3s2 6.8 ->
#: 5.5 ms prepared; on one thread, 8 of them 0.87-1.44x (the prepared calls of two 0.2 ms layers 0.87x and
#: 0.91x, which run on one thread); a 3-d layer of 8^3 cells 0.75x and of 12^3 0.94-0.99x (rows of 8 and
#: 12: the gather's work per row weighs more), 2-d layers of 16 x 16 cells 0.89-1.03x. Then, plain calls
#: on the 35 k3 and k4 layers of 40 random draws of 30 (seeds 1-40) that the rule sends here: 1.32x in
#: geometric mean, one below 0.9x (21 -> 64 channels, k4 s2 at 30 x 30: 0.84-0.87x). k5 s2 is not sent here:
#: 1.08-1.29x on five 1-d and 2-d layers first, but 1.07x in geometric mean on the 18 random ones, four
#: of them 0.61-0.88x (64 -> 64 at 75 x 75 0.61x, 21 -> 192 at 57 x 57 0.74x), and 0.5x on a 3-d layer
#: of 16^3.
S2_ROWS = 16
#: Bytes of columns of one block of samples of :func:`gemm_transposed` (they stay in a core's L2).
BLOCK_COLUMNS = 2**20
#: Whether :func:`gemm_transposed` joins a block's samples into one GEMM (:data:`JOIN_PIXELS`).
JOIN_SAMPLES = True
#: Samples of fewer input cells than this (one group, more than :data:`FEW_CHANNELS` output channels, at
#: least two samples a thread) are joined: a block's inputs copied side by side, ``(C_in, n*P)``, and
#: multiplied by one GEMM of ``n*P`` columns, whose columns the gather reads through a strided view. Per
#: sample, Mask R-CNN's 14 x 14 samples made GEMMs of 196 columns, at 117 GF/s on one core against 154
#: from 392 columns. A/B (alternating, min of 3 rounds, one and two threads, plain and prepared calls)
#: on 11 layers of k2 s2, k3 s3 and 1-d k4 s4 stamps: 14^2-16^2 cells 1.05-1.23x on five (maskrcnn-mask
#: 37.9 -> 33.5 ms, ONNX Runtime's session 37.4), 0.99-1.01x on a k3 s3 one and a 1024 -> 512 one (but
#: its prepared call on one thread, 0.90x); 20^2-22^2 and 400 cells 0.95-1.23x, so not there; with 1-8
#: output channels (the few channels' orientation) 0.6-0.9x, whose GEMMs of ``Kv*C_out`` rows gain
#: nothing from more columns.
JOIN_PIXELS = 320
#: ... and of at least this many input channels: a GEMM of fewer terms is bound by writing its columns,
#: which a wider GEMM does not speed up (a 1-d 3 -> 192 k2 s2 layer of 8 x 259 cells: 0.72x joined).
JOIN_INPUTS = 32
#: Bytes of a joined block's columns (two 14 x 14 samples of 1024 rows; the cores' L2 holds 2 MiB here).
JOIN_COLUMNS = 2**21
#: Where :func:`gemm_transposed` has fewer tiles than threads (one group: one or a few large samples), it
#: splits each tile's output channels among the threads, at least this many a thread (0: never), each
#: thread computing its share's GEMM and its rows in one parallel pass, instead of the GEMM split by
#: :func:`tconv._algorithms.blas.matmul` and then the rows in bands (two passes: two hand-offs, and each
#: thread's rows read from columns the other thread wrote). Measured on the AMD EPYC (Zen 4) of
#: docs/performance.md, A/B in one process on the 53 random layers of ``random_layers(40, S)`` for S = 0-39 that
#: take this path (one sample, 20 MFLOP to 1.5 GFLOP): the 51 the next bound keeps 1.35x as fast plain and
#: 1.36x prepared in geometric mean, up to 3.2x (32 -> 24 channels k3 s2 at 88 x 88: 2.1 -> 0.92 ms), the
#: six below 0.97x in that sweep 1.00-1.42x when timed again; on S = 40-79 (not fitted on) 35 layers
#: 1.25x plain and 1.24x prepared, 0.95-2.71x. Two were slower, which the next bound leaves out ...
CHANNEL_SPLIT = 4
#: ... and where the GEMM has at least one row (output channel and tap) for this many input channels:
#: each thread reads the whole input instead of its half, which costs where the rows are few (512 -> 8
#: channels at k4 s2, 1-d: 0.94x; a 3-d 128 -> 8 layer at k1 s2: 0.93x; 128 -> 8 at k2 s2, 4x the
#: rows per input channel of the first, 1.27x).
CHANNEL_SPLIT_INPUTS = 8
#: Whether :func:`gemm_transposed` gathers rows whose last axis is k3, k4 or k5 at s2 (dilation 1) with
#: ``gather_k3s2_t``, ``gather_k4s2_t`` and ``gather_k5s2_t`` (and whether :func:`transposed` sends
#: overlapping stamps there: :data:`S2_ROWS`).
S2_GATHER = True
#: With one input channel per group and at most this many output channels per group (channels-first),
#: ``gemm`` computes the output rows straight from the input (:func:`direct_rows`): its GEMM would be an
#: outer product whose columns (``prod(k)*C_out`` per input value) cost more to write and gather than
#: the products themselves. Measured against the columns (1-8 outputs) and against ``"direct"``'s tap
#: tables (2-64 outputs): 1.0-6.5x and 0.98-9x as fast; with 2 input channels 0.76-0.99x the columns'
#: speed, with 4 0.45-0.65x: not there. With groups: :data:`DEPTHWISE_ROWS`.
DIRECT_ROWS_OUTPUTS = 64
#: With groups (depthwise layers, channel multipliers) :func:`direct_rows` from output rows this long:
#: on 1-d depthwise layers (800-8000 outputs a row) 1.9-6.5x ``"direct"``'s speed, on a 2-d one with
#: rows of 256 1.3x; with rows of 28-80 outputs 0.5-0.7x (``"direct"`` runs along the channels there).
DEPTHWISE_ROWS = 256
#: With groups, :func:`direct_rows` for shorter rows too with at most this many output channels, where
#: ``"direct"``'s pass along the channels has less than two vectors to work with. Measured A/B (2-d
#: depthwise and channel multipliers, rows of 32-217 outputs): 1.2-3.4x as fast with 3-21 channels
#: (k2 s2, k3 s2, k4 s2, k4 s3), 0.9x with 32 (16 groups of 2); with 32-512 channels 0.4-1.9x (stride
#: 1 and short rows lose: 0.43x at 64 channels on 14x14 k5), so not there.
DEPTHWISE_ROWS_CHANNELS = 24
#: ... but where the taps overlap along the last axis at a stride above 1 (each residue of the outputs
#: modulo ``s`` summed in a buffer: runs of ``o_last // s`` outputs), only up to ``run -``
#: :data:`RUN_MARGIN` output channels (at least :data:`DEPTHWISE_FEW`): on such runs of 12-20 outputs
#: the rows were 0.5-0.95x ``"direct"``'s speed from 8 channels (k4 s2 at 12^2 and 20^2, k5 s4 at 17^2,
#: k8 s4 at 14^2), 1.1-1.6x with 4; on runs of 30, 1.2-1.3x up to 12 channels, 1.0x at 16, 0.75x at 24;
#: of 40-50, 1.4-3.4x up to 24. Stamps that do not overlap (k2 s2, k4 s4, written once: 1.6-4.3x up to
#: 24 channels on rows of 50-128) and stride 1 (1.0-2.1x on rows of 24) keep the 24.
RUN_MARGIN = 15
DEPTHWISE_FEW = 4
#: Input rows from which 2-d layers of small groups of several input channels run :func:`direct_rows`
#: (:func:`small_group_rows`): shorter rows spend more in the loops' set-up than in their work.
GROUP_ROWS_INPUTS = 24
#: Outputs per chunk of a row in :func:`direct_rows` (16 KiB of float32: they stay in L1 while every
#: tap is added).
DIRECT_ROWS_CHUNK = 4096
#: Input channels per group up to which a pointwise layer's rows are summed by one compiled pass
#: (:func:`pointwise_direct`) rather than by BLAS, whose products of so few terms are bound by their
#: calls (one per sample and group) and an extra pass for the bias. Measured A/B (2 threads, 1x1
#: kernels, 16-128 channels at 16^2-128^2): 1.2-2.5x as fast with 2-32 input channels per group
#: (6-9x with one: 384 depthwise channels on 4 x 73^2, 12.9 -> 2.3 ms), 0.5-0.9x from 64 on. Measured
#: again on the Xeon of 6 December (min of 2 rounds, 6 layers per count, 16-128 output channels, 8^2 to
#: 128^2, 1-16 samples): 0.70-2.23x with 4 input channels, 0.80-1.58x with 8, but 0.56-1.15x with 16,
#: 0.46-1.04x with 24 and 0.50-1.01x with 32 (a 4-sample 32 -> 32 layer at 41^2: 0.33 ms, BLAS 0.25).
POINTWISE_ROWS_CHANNELS = 8
#: Output channels per group up to which a pointwise layer of more input channels is summed by
#: ``pointwise_outputs`` rather than by BLAS (:func:`pointwise_direct`), in chunks of
#: :data:`POINTWISE_OUTPUTS_CHUNK` pixels: each input row's chunk read once for all of a group's output
#: rows, four input rows a pass, where BLAS's products of so few rows (``W^T @ x[n]``, 1-8 rows) ran well
#: below its rate. Measured (7 December, the AMD EPYC without AVX-512, two threads, A/B in one process, min
#: of two rounds; random 1-3 d pointwise layers of 12-256 input channels a group, 0.1-300 MFLOP): with 1-4
#: output channels 1.58x in geometric mean on 30 (0.70-2.74x, the 0.70x one output channel of 256 input
#: channels), 1.46x on 30 more held out (0.61-2.94x, the three below 0.9x one output channel of 64-256
#: input channels: hence :data:`POINTWISE_ONE_OUTPUT`); with 5-8, 1.05-2.42x on ten; with 12-16 0.75-1.75x,
#: so not there. Then, the bounds set, on 30 held-out layers of 1-8 output channels: 1.45x in geometric
#: mean, 0.62-2.86x (one below 0.9x: 64 -> 8 channels on 2 x 77 x 77, 0.29 -> 0.47 ms).
POINTWISE_OUTPUTS = 8
POINTWISE_OUTPUTS_CHUNK = 512
#: ... but one output channel of this many input channels or more stays BLAS's (a matrix-vector product:
#: 0.61-0.85x on four such layers above).
POINTWISE_ONE_OUTPUT = 64
#: Outputs plus multiply-adds of a :func:`direct_rows` call from which it runs on several threads.
DIRECT_ROWS_PARALLEL = 2**16
#: Outputs times (input channels per group + 1) of a :func:`pointwise_direct` pass from which it runs
#: on several threads (about 0.1-0.15 ms of work on one): below it, handing half of the rows to another
#: thread cost more than it saved on the VM of docs/performance.md, whose idle virtual CPU wakes 25-300 us
#: after it is signalled. Measured A/B (2 threads, in one process, min of 4 rounds) on 13 pointwise
#: layers of 0.3-1.8 million: 1.3-2.5x as fast on one thread (16 -> 4 channels at 65^2 0.096 -> 0.040 ms,
#: 32 -> 48 at 16^2 0.16 -> 0.065; the threshold was :data:`DIRECT_ROWS_PARALLEL`, 2^16); from 2 to 4
#: million one thread was 0.87-1.23x (noise).
POINTWISE_PARALLEL = 2**21


def run(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"gemm"``: cache tiles with the compiled kernels, else blocks of :func:`gemm`;
    one plain GEMM when the output is one stamp of the kernel per sample (:func:`one_stamp`)."""
    if one_stamp(geometry, problem):
        return _one_stamp(x, w, geometry, problem)
    if pointwise(geometry, problem):
        return _pointwise(x, w, geometry, problem)
    if strided_pointwise(geometry, problem):
        placed = _strided_pointwise(x, w, geometry, problem)
        if placed is not None:
            return placed
    if _compiled.available():
        return gemm_tiled(x, w, geometry, problem)
    return _gemm_blocked(x, w, geometry, problem)


def one_stamp(geometry: Geometry, problem: Problem) -> bool:
    """Whether each sample's output is exactly one stamp of the kernel: a single input pixel, no
    dilation, no crop, the output the kernel's size (DCGAN's first layer, ``z`` of ``100 x 1 x 1`` to
    ``512 x 4 x 4``). Then the channels-first output *is* the GEMM ``x @ w.reshape(C_in, C_out*Kv)``,
    with the weight as it is (no packing, no gather), for one group."""
    return (
        problem.groups == 1
        and problem.layout == "channels_first"
        and single_stamp(geometry)
        and problem.dtype == np.result_type(problem.dtype, np.float32)  # BLAS dtypes (not float16)
    )


def pointwise(geometry: Geometry, problem: Problem) -> bool:
    """Whether the layer is a pointwise product: a ``1 x ... x 1`` kernel at stride 1 with no crop and no
    output padding, each output pixel its input pixel times the weight. Then the output *is* the GEMM
    ``W^T @ x[n]`` per sample and group (channels-first; ``x @ W`` channels-last), the weight as it is:
    no columns, no gather (a 256 -> 128 layer on 4 x 32 x 32: 2.7 ms through the columns, 1.8 this way)."""
    return pointwise_map(geometry) and problem.dtype == np.result_type(problem.dtype, np.float32)  # BLAS dtypes


def strided_pointwise(geometry: Geometry, problem: Problem) -> bool:
    """Whether the layer is a ``1 x ... x 1`` kernel at a stride above 1 on some axis (zero-insertion
    up-sampling, a decoder's shortcut: ``ConvTranspose2d(kernel_size=1, stride=2, output_padding=1)``),
    cropped or not. Each input pixel then lands on one output pixel, ``s*i - crop``:
    :func:`_strided_pointwise` computes the pointwise product of the input pixels that land inside and
    places it, the other cells the bias (or zero). Cropped at stride 1 the general passes, which read the
    input where it lies, stay: this path's copy of the cropped input and of the product took 1.1-1.7x their
    time on the Zen 3 (8 x 64 -> 64 on 64^2, padding 2: 5.1 ms against 3.1)."""
    return (
        all(k == 1 for k in geometry.kernel_size)
        and any(s > 1 for s in geometry.stride)
        and problem.dtype == np.result_type(problem.dtype, np.float32)  # BLAS dtypes (not float16)
    )


def _strided_pointwise(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray | None:
    """:func:`strided_pointwise`'s product: :func:`_pointwise` of the input pixels that land inside the
    output (bias added), placed at the stride, every other cell the bias or zero: with the compiled kernels
    by :func:`_place_strided` (each cell written once, on the threads), else NumPy's strided assignment into
    ``zeros`` or a bias fill. The general passes wrote every output pixel through their tap tables: a
    depthwise layer of 16 x 192 channels at stride 3, 39^2 -> 115^2 (a 162 MB output, one pixel in nine a
    product), Xeon, two threads, min of 9 calls: 48 -> 27 ms without bias with NumPy's passes; Zen 3, min
    of three processes' 21 calls (``_place_strided``): 43 -> 20 ms, with bias 96 channels on 64^2 13 ->
    8.4, 16 x 256 -> 128 on 16^2 4.2 -> 2.7, a 3-d layer 3.5 -> 1.2, a 1-d one the same. The products in
    blocks of samples within the memory budget; None where one sample's exceeds it (the general passes'
    tiles keep to it)."""
    from .problem import layout_index

    n, nd = x.shape[0], geometry.ndim
    placing = _placing(geometry)
    inputs, outputs, counts = placing.inputs, placing.outputs, placing.counts
    sample = problem.c_out * math.prod(counts) * problem.dtype.itemsize  # one sample's product
    if sample > effective().memory_budget:
        return None
    shape = batched_shape(n, problem.c_out, geometry.output_size, problem.layout)
    compiled = _compiled.available() and _compiled.supports(problem.dtype) and 0 not in counts
    if compiled:
        out = np.empty(shape, dtype=problem.dtype)  # every cell written once by place_strided
    elif problem.has_bias:
        out = np.empty(shape, dtype=problem.dtype)
        out[...] = problem.bias_fill(nd)
    else:
        out = np.zeros(shape, dtype=problem.dtype)
    if 0 in counts:
        return out
    per = max(1, effective().memory_budget // max(1, sample))
    for n0 in range(0, n, per):
        samples = slice(n0, min(n, n0 + per))
        part = np.ascontiguousarray(x[layout_index(problem.layout, samples, inputs)])
        product = _pointwise(part, w, placing.dense, problem)
        if compiled:
            _place_strided(product, out[samples], geometry, placing, problem)
        else:
            out[layout_index(problem.layout, samples, outputs)] = product
    return out


class _Placing(NamedTuple):
    """Where :func:`_strided_pointwise`'s input pixels land: the input window of those inside (``inputs``,
    ``counts`` pixels an axis), the output cells they land on (``outputs``, slices at the stride), the
    window's pointwise geometry (``dense``) and each output lead row's row of the product (``lead_src``,
    -1 where none lands; read-only)."""

    inputs: tuple[slice, ...]
    outputs: tuple[slice, ...]
    counts: tuple[int, ...]
    dense: Geometry
    lead_src: np.ndarray


@functools.lru_cache(maxsize=64)
def _placing(geometry: Geometry) -> _Placing:
    """:class:`_Placing` of ``geometry``, computed once per geometry (a small call's checks of the window's
    geometry and its index tables took 0.1 ms of a 0.26 ms call)."""
    from ..geometry import conv_transpose_geometry

    nd = geometry.ndim
    inputs, outputs = [], []
    for i_size, o_size, s, crop in zip(geometry.input_size, geometry.output_size, geometry.stride, geometry.crop_begin):
        first = max(0, -(-crop // s))  # the first input pixel at s*i - crop >= 0
        last = min(i_size, (o_size - 1 + crop) // s + 1) if o_size > 0 else first
        count = max(0, last - first)
        inputs.append(slice(first, first + count))
        start = s * first - crop
        outputs.append(slice(start, start + s * (count - 1) + 1 if count else start, s))
    counts = tuple(sl.stop - sl.start for sl in inputs)
    lead_out = geometry.output_size[:-1]
    lead_src = np.full(math.prod(lead_out), -1, dtype=np.int64)
    if 0 not in counts:
        if nd > 1:
            hits = np.indices(counts[:-1]).reshape(nd - 1, -1)
            targets = [outputs[a].start + geometry.stride[a] * hits[a] for a in range(nd - 1)]
            lead_src[np.ravel_multi_index(targets, lead_out)] = np.arange(hits.shape[1])
        else:
            lead_src[0] = 0
    lead_src.flags.writeable = False
    dense = conv_transpose_geometry(counts, (1,) * nd) if 0 not in counts else geometry
    return _Placing(tuple(inputs), tuple(outputs), counts, dense, lead_src)


def _place_strided(
    product: np.ndarray, out: np.ndarray, geometry: Geometry, placing: _Placing, problem: Problem
) -> None:
    """:func:`_strided_pointwise`'s output cells written once on the threads (``numba_kernels.place_strided``):
    the product where its pixels land, the bias or zero elsewhere. NumPy's bias fill of every cell (one
    thread) and strided copy took 1.3-1.7x the general passes' time on 2-d and 1-d layers at stride 2 on
    the Zen 3 (8 x 64 -> 32 at 48^2: 3.3 ms against 2.0), whose compiled passes write each cell once."""
    nb, cf, counts, lead_src = product.shape[0], problem.layout == "channels_first", placing.counts, placing.lead_src
    r_in, q_count, o_last, c = math.prod(counts[:-1]), counts[-1], geometry.output_size[-1], problem.c_out
    if cf:
        values, view = product.reshape(nb, c, r_in, q_count), out.reshape(nb, c, len(lead_src), o_last)
    else:
        values, view = product.reshape(nb, r_in, q_count, c), out.reshape(nb, len(lead_src), o_last, c)
    fill = problem.bias if problem.has_bias else np.zeros(c, dtype=problem.dtype)
    args = (values, lead_src, placing.outputs[-1].start, geometry.stride[-1], fill, view, not cf)
    tasks = nb * (c if cf else len(lead_src))
    calls = [(*args, t0, t1) for t0, t1 in _compiled.split(tasks, 4 * effective().threads)]
    _compiled.parallel_for(_compiled.kernels()["place_strided"], calls)


def pointwise_map(geometry: Geometry) -> bool:
    """Whether each output position of ``geometry`` is its input position (:func:`pointwise`'s index map):
    a ``1 x ... x 1`` kernel at stride 1, no crop, no output padding."""
    return (
        all(k == 1 for k in geometry.kernel_size)
        and all(s == 1 for s in geometry.stride)
        and all(b == 0 for b in geometry.crop_begin)
        and geometry.output_size == geometry.input_size
    )


def _pointwise(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """:func:`pointwise`'s GEMMs, into the output (no temporaries beyond it)."""
    n, groups, cig, cog, dtype = x.shape[0], problem.groups, problem.cig, problem.cog, problem.dtype
    p = math.prod(geometry.input_size)
    out = problem.output(n, geometry.output_size)
    wg = np.asarray(w, dtype=dtype).reshape(groups, cig, cog)  # (G, Cig, Cog)
    if pointwise_direct(problem):
        return _pointwise_rows(np.asarray(x, dtype=dtype).reshape(n, groups, cig, p), wg, problem, out)
    xv = np.asarray(x, dtype=dtype)
    # under SMALL_FLOPS on the calling thread alone, as gemm_tiled's small calls: split between two threads,
    # pointwise layers of 9-17 MFLOP took 1.07-1.31x as long (a 4-sample 32 -> 32 layer at 41^2: 323 us,
    # 250 on one; measured on the Xeon, 6 December), one of 81 MFLOP 0.77x
    threads = 1 if _cost.useful_flops(geometry, problem, n) < SMALL_FLOPS else None
    for g in range(groups):
        if problem.layout == "channels_first":
            y = out.reshape(n, groups, cog, p)[:, g]  # (N, Cog, P)
            lhs, rhs = wg[g].T, xv.reshape(n, groups, cig, p)[:, g]  # (Cog, Cig) @ (N, Cig, P)
        else:
            y = out.reshape(n * p, groups, cog)[:, g]  # (N*P, Cog)
            lhs, rhs = xv.reshape(n * p, groups, cig)[:, g], wg[g]  # (N*P, Cig) @ (Cig, Cog)
        _blas.matmul(lhs, rhs, out=y, threads=threads)
    if problem.has_bias:
        out += problem.bias_fill(geometry.ndim)
    return out


def pointwise_direct(problem: Problem) -> bool:
    """Whether :func:`_pointwise` sums its rows in one compiled pass (``pointwise_rows`` or
    ``pointwise_outputs`` of :mod:`tconv._algorithms.numba_kernels`) instead of BLAS: channels-first,
    float32 or float64, at most :data:`POINTWISE_ROWS_CHANNELS` input or :data:`POINTWISE_OUTPUTS` output
    channels per group."""
    few_outputs = problem.cog <= POINTWISE_OUTPUTS and (problem.cog > 1 or problem.cig < POINTWISE_ONE_OUTPUT)
    return (
        (problem.cig <= POINTWISE_ROWS_CHANNELS or few_outputs)
        and problem.layout == "channels_first"
        and problem.dtype in (np.float32, np.float64)
        and _compiled.available()
    )


def _pointwise_rows(
    x: np.ndarray, w: np.ndarray, problem: Problem, out: np.ndarray, bias: np.ndarray | None = None
) -> np.ndarray:
    """:func:`pointwise_direct`'s pass: ``x`` (N, G, Cig, P), ``w`` (G, Cig, Cog) into ``out``, the rows'
    chunks shared among the threads; ``bias`` (``problem.bias`` unless given) in ``out``'s dtype. In
    ``out``'s precision: with ``w`` and ``out`` float64 and ``x`` float32, each sum of exact products in
    double precision (the input gradient of small groups, :func:`tconv._algorithms.im2col.conv`)."""
    n, p = x.shape[0], x.shape[3]
    flat = out.reshape(n, problem.c_out, p)
    if problem.cig <= POINTWISE_ROWS_CHANNELS:
        name, chunk, rows = "pointwise_rows", DIRECT_ROWS_CHUNK, problem.c_out  # a task per output row's chunk
    else:
        name, chunk, rows = "pointwise_outputs", POINTWISE_OUTPUTS_CHUNK, problem.groups  # per group's chunk
    tasks = n * rows * -(-p // chunk)
    pieces = 2 * effective().threads if out.size * (problem.cig + 1) >= POINTWISE_PARALLEL else 1
    bias = problem.bias if bias is None else bias
    calls = [(x, w, bias, chunk, flat, t0, t1) for t0, t1 in _compiled.split(tasks, pieces)]
    kernel = _compiled.kernels()[name]
    if len(calls) == 1:
        kernel(*calls[0])
    else:
        _compiled.parallel_for(kernel, calls)
    return out


def single_stamp(geometry: Geometry) -> bool:
    """A single input pixel, no dilation, no crop, the output the kernel's size: the geometry of
    :func:`one_stamp` (and of the convolution and weight gradient that go with it)."""
    return (
        all(i == 1 for i in geometry.input_size)
        and geometry.output_size == geometry.kernel_size
        and all(b == 0 for b in geometry.crop_begin)
        and all(d == 1 for d in geometry.dilation)
    )


def _one_stamp(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """:func:`one_stamp`'s GEMM, under the memory budget (it needs none beyond the output)."""
    product = _one_stamp_call(geometry, problem, x.shape[0])
    return product(x, w, problem.bias if problem.has_bias else None)


def gemm(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """GEMM + write-once col2im of one batch block into ``out``.

    Column memory is ``N*prod(i)*prod(k)*C_out`` elements (:func:`_footprint`).
    """
    n = x.shape[0]
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    if unpacked_weight(geometry, problem, n) and _compiled.available():
        # fewer rows than input channels, and a weight that is not kept packed: the columns in the weight's
        # own (Cog, Kv) order, then transposed -- a pass over the columns instead of over the weight
        xb = channels_last(x, problem.layout).reshape(n * p_in, groups, cig).transpose(1, 0, 2)  # (G, M, Cig)
        rows = _unpacked_products(xb, w.reshape(groups, cig, cog * kv))  # (G, M, Cog*Kv)
        m = groups * n * p_in
        cols = _compiled.transpose(rows.reshape(m, cog, kv), scratch("columns", (m, kv, cog), rows.dtype))
    else:
        cols = _products(x, w, geometry, problem, n)
    cols = cols.reshape(groups, n * p_in, kv, cog)  # (G, M, Kv, Cog)
    if not _compiled.available():
        _col2im_numpy(cols, geometry, problem, out)
        return
    tables = lead_and_last(geometry)
    o_lead, o_last = tables.lead.outputs, tables.last.outputs
    view = out.reshape(batched_shape(n, problem.c_out, (o_lead, o_last), problem.layout))
    _gather(cols, tables, problem.bias, view, problem.layout, _pieces(n * o_lead, o_last))


def unpacked_weight(geometry: Geometry, problem: Problem, n: int) -> bool:
    """Whether :func:`gemm` multiplies the weight in its own layout ``(C_in, C_out*Kv)`` and transposes the
    columns instead of packing the weight: a plain call (no prepared plan keeps a packed weight) with at
    most half as many rows (input pixels) as input channels per group, so the columns are at most half
    the weight. Measured: pix2pix's innermost up-sampling layer (1024 -> 512 channels, 8x8, k4 s2, one
    sample: a 32 MiB weight on 64 rows) spent 8 ms of its 20 on packing the weight; StyleGAN2's fused
    up-sampling (4 groups of 512 channels, 3x3 s2 on 16x16: 256 rows per group) 35-42 ms -> 32,
    pose estimation's 2048 -> 256 on 16 x 8x6 77-83 -> 72; at 784 rows for 1024 channels (U-Net's
    first up-convolution) 0.96-0.98x, so not there."""
    kv = math.prod(geometry.kernel_size)
    return (
        problem.packed is None and kv > 1 and problem.cog > 1 and 2 * n * math.prod(geometry.input_size) <= problem.cig
    )


def _unpacked_products(xb: np.ndarray, w3: np.ndarray) -> np.ndarray:
    """``xb @ w3`` (``(G, M, Cig) @ (G, Cig, N)``) for :func:`unpacked_weight`: the weight as the caller gave
    it, whose rows may be a multiple of 2 KiB apart (512 output channels of a k4 kernel: 32 KiB), the
    rows that :func:`tconv._algorithms.blas.padded_rows` pads in a packed weight. With MKL and
    :data:`PANEL_ROWS` rows such a product is slow: pix2pix's innermost layer (a 1024 x 8192 weight on
    64 pixels) took 12-15 ms in it on the Xeon, 5-6 in the prepared call's padded weight. There the
    weight is multiplied in panels of :data:`PANEL_BYTES`, each copied to rows padded by one cache line
    (in the thread's cache) and multiplied into its columns of the result, the panels shared among the
    threads; elsewhere it is one GEMM split among the threads."""
    groups, cig, width = w3.shape
    rows = xb.shape[1]
    aliased = _blas.row_pitch(width, w3.dtype) != width and width * w3.dtype.itemsize >= PANEL_ROW_BYTES
    if not (aliased and PANEL_ROWS[0] <= rows <= PANEL_ROWS[1] and _blas.uses_mkl() and _blas.available()):
        return _blas.matmul(xb, w3)
    out = np.empty((groups, rows, width), dtype=np.result_type(xb, w3))
    panel_bytes = min(PANEL_BYTES, effective().memory_budget // (8 * effective().threads))  # (a budget's share)
    columns = max(PANEL_ALIGN, panel_bytes // (cig * w3.dtype.itemsize) // PANEL_ALIGN * PANEL_ALIGN)
    pieces = [(g, c0, c1) for g in range(groups) for c0, c1 in _compiled.split(width, -(-width // columns))]

    def product(g: int, c0: int, c1: int) -> None:
        panel = scratch("panel", (cig, _blas.row_pitch(c1 - c0, w3.dtype)), w3.dtype)[:, : c1 - c0]
        np.copyto(panel, w3[g, :, c0:c1])
        _blas.mm(xb[g], panel, out=out[g, :, c0:c1])

    _blas.parallel_products(product, pieces)
    return out


#: Rows (input pixels per group) of an unpacked weight's product that :func:`_unpacked_products` multiplies
#: in panels where the weight's rows alias and are at least :data:`PANEL_ROW_BYTES` long, with MKL. Measured
#: A/B in one process (6 December, Xeon with AVX-512, MKL 2024.2, two threads, 1 MiB panels, four
#: alternating rounds; k2 and k4 s2 layers of 256-2048 input channels): 1.17-1.97x on ten layers of
#: 64-160 rows and 16-32 KiB rows (pix2pix's innermost 1.53-1.84x; six of them checked after the rule was
#: set), 0.68-0.75x at 32 and 48 rows, 0.88-0.91x at 192 and 256 (dcgan-1); with 8 KiB rows 0.92-1.28x.
#: With NumPy's OpenBLAS the panels were 0.81-0.98x on the same layers: its GEMM has no such case.
PANEL_ROWS = (64, 160)
PANEL_ROW_BYTES = 2**14
#: Bytes of one panel (:func:`_unpacked_products`): half of the Xeon's 2 MiB L2 (1.4-2.0x there, 1.2-1.7x in
#: panels of 512 KiB, 1.4-2.0x in 2 MiB ones), at most an eighth of the memory budget a thread, and
#: :data:`PANEL_ALIGN` output columns at least.
PANEL_BYTES = 2**20
PANEL_ALIGN = 16


def _products(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, n: int) -> np.ndarray:
    """``(G, M, Kv*Cog)``: every input pixel's columns, one GEMM per group against the packed weight."""
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    w_packed = problem.pack(("gemm", 0, cog), lambda: _packed_weight(w, groups, kv))  # (G, Cig, Kv*Cog)
    cols = np.empty((groups, n * p_in, kv * cog), dtype=problem.dtype)  # (G, M, Kv*Cog)
    if problem.layout == "channels_first" and p_in >= SMALL_SAMPLE:
        # large samples: read each sample through a transposed view (no layout pass), one GEMM per sample
        xs = x.reshape(n, problem.c_in, p_in)  # (N, C_in, P)

        def product(i: int, g: int, r0: int, r1: int) -> None:
            lhs = xs[i, g * cig : (g + 1) * cig, r0:r1].T  # (rows, Cig), a transposed view
            _blas.mm(lhs, w_packed[g], out=cols[g, i * p_in + r0 : i * p_in + r1])

        # fewer (sample, group) products than threads (one large sample): each cut into bands of its rows,
        # so that no thread idles (one sample of 64 -> 16 channels at 51 x 51 ran its GEMM on one thread)
        threads = effective().threads
        flops = _cost.useful_flops(geometry, problem, n)
        bands = -(-threads // (n * groups)) if flops >= _blas.PARALLEL_FLOPS else 1
        calls = [(i, g, r0, r1) for i in range(n) for g in range(groups) for r0, r1 in _compiled.split(p_in, bands)]
        _blas.parallel_products(product, calls)
    else:
        xb = channels_last(x, problem.layout).reshape(n * p_in, groups, cig).transpose(1, 0, 2)  # (G, M, Cig)
        _blas.matmul(xb, w_packed, out=cols)
    return cols


def small_call(geometry: Geometry, problem: Problem, w: np.ndarray, n: int) -> Callable[..., np.ndarray] | None:
    """A call of ``"gemm"`` on ``n`` samples of a small problem with everything but the input and the bias
    worked out once (:func:`planned`, the weight ``w`` bound: a prepared plan's packed form is kept in
    ``problem.packed``), for a prepared call (:func:`tconv.prepare`); None when :func:`planned` has no
    call for the problem.

    The returned ``call(x, bias)`` takes ``x`` batched in the problem's layout and ``bias`` ``(C_out,)``
    in the compute dtype, or None.
    """
    product = planned(geometry, problem, n)
    if product is None:
        return None
    return lambda x, bias: product(x, w, bias)


def planned(geometry: Geometry, problem: Problem, n: int) -> Callable[..., np.ndarray] | None:
    """The registry's planned ``"gemm"`` (:class:`tconv._algorithms.Algorithm`): a small problem's call
    ``(x, w, bias)`` with its tables, tiles and kernels worked out once -- a :func:`one_stamp` product,
    or the one-thread path of :func:`gemm_tiled` under :data:`SMALL_FLOPS` (one GEMM and one gather,
    :func:`_small_gemm`, or :func:`gemm_transposed` on one thread, :func:`transposed_call`); None for
    every other problem.

    Small calls spent more in that planning than in their arithmetic: a 2-sample 48 -> 3 k4 s2 layer
    at 13 x 13 (1.6 MFLOP) took ~95 us a call, of which its GEMM ~15 and its rows ~10 (ONNX Runtime's
    session: ~47 us)."""
    flops = _cost.useful_flops(geometry, problem, n)
    if one_stamp(geometry, problem):
        return _one_stamp_call(geometry, problem, n) if flops < SMALL_FLOPS else None
    if (
        flops >= SMALL_FLOPS
        or pointwise(geometry, problem)
        or strided_pointwise(geometry, problem)
        or not _compiled.available()
        or not _compiled.supports(problem.dtype)
        or rows_direct(geometry, problem)
    ):
        return None
    call = _small_gemm(geometry, problem, n)
    if call is not None:
        return call
    if rows_gather(geometry, problem):
        with internal(threads=1):
            return transposed_call(geometry, problem, n)
    return None


def _small_gemm(geometry: Geometry, problem: Problem, n: int) -> Callable[..., np.ndarray] | None:
    """:func:`planned`'s one GEMM and one gather of channels-last columns, for one group within the budget
    whole and not :func:`rows_gather`; None for other problems. The GEMM is against the packed weight, or,
    where :func:`unpacked_weight` holds (few rows, many input channels), against the weight as it is, its
    columns then transposed to ``(M, Kv, C_out)`` as :func:`gemm` does.

    Such problems had no planned call before 7 December: each plain call of a 64 -> 24 k3 s3 layer on one
    4 x 4 sample worked through the blocked path's rules again, 128-161 us where the prepared call took
    24-39 (51-70 planned; the AMD EPYC without AVX-512 of ``docs/performance.md``, two threads)."""
    kv, p_in = math.prod(geometry.kernel_size), math.prod(geometry.input_size)
    flops = _cost.useful_flops(geometry, problem, n)
    fits = n * _footprint(geometry, problem) <= effective().memory_budget
    if problem.groups != 1 or not fits or rows_gather(geometry, problem):
        return None
    unpacked = unpacked_weight(geometry, problem, n)
    tables = lead_and_last(geometry)
    o_lead, o_last = tables.lead.outputs, tables.last.outputs
    kernel = _compiled.kernels()["gather_cl" if problem.layout == "channels_last" else "gather_cf"]
    table_args = tables.kernel_args()
    c_in, c_out, layout, dtype = problem.c_in, problem.c_out, problem.layout, problem.dtype
    shape = batched_shape(n, c_out, geometry.output_size, layout)
    view_shape = batched_shape(n, c_out, (o_lead, o_last), layout)
    parallel = flops >= _blas.PARALLEL_FLOPS and n * o_lead > 1
    threads = effective().threads
    pieces = _compiled.split(n * o_lead, threads)
    zeros = np.zeros(c_out, dtype)
    key = ("gemm", 0, problem.cog)
    columns = (n * p_in, kv, c_out)  # the transposed columns of an unpacked weight's product

    def call(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        if bias is None:
            bias = zeros
        if layout == "channels_first" and c_in > 1 and p_in > 1:
            x = x.reshape(n, c_in, p_in).transpose(0, 2, 1)  # (N, P, C_in) view
        if unpacked:  # the weight as it is, (C_in, C_out*Kv); its columns transposed after the product
            rows = _blas.matmul(x.reshape(n * p_in, c_in), w.reshape(c_in, c_out * kv), threads=threads)
            rows = _compiled.transpose(rows.reshape(n * p_in, c_out, kv), scratch("columns", columns, dtype))
        else:
            w_packed = problem.pack(key, lambda: _packed_weight(w, 1, kv))[0]  # (C_in, Kv*C_out)
            rows = _blas.matmul(x.reshape(n * p_in, c_in), w_packed, threads=threads)  # (M, Kv*C_out)
        out = np.empty(shape, dtype=dtype)
        cols = rows.reshape(1, n * p_in, kv, c_out)  # (1, M, Kv, C_out)
        args = (cols, *table_args, bias, out.reshape(view_shape))
        if parallel:  # the gather in two or more pieces too (it is as long as the GEMM here)
            _compiled.parallel_for(kernel, [(*args, t0, t1, 0, o_last) for t0, t1 in pieces])
        else:
            kernel(*args, 0, n * o_lead, 0, o_last)
        return out

    return call


def _one_stamp_call(geometry: Geometry, problem: Problem, n: int) -> Callable[..., np.ndarray]:
    """``call(x, w, bias)`` of a :func:`one_stamp` problem: its GEMM and nothing else per call, for
    :func:`_one_stamp` and, planned once for small problems, :func:`small_call` and :func:`planned` (a
    one-element call spent 16-23 us in the general path's checks of the problem, prepared or not;
    ONNX Runtime's session ~10)."""
    c_in, c_out, dtype = problem.c_in, problem.c_out, problem.dtype
    columns = c_out * math.prod(geometry.kernel_size)
    shape = (n, c_out, *geometry.kernel_size)
    # as _blas.matmul would: a product OpenBLAS computes on one thread by itself is called as it is
    multiply = _blas.mm if n * c_in * columns <= _blas.OPENBLAS_ONE_THREAD else _blas.matmul
    column = (-1, *(1,) * geometry.ndim)

    def call(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        matrix = np.ascontiguousarray(w, dtype=dtype).reshape(c_in, columns)  # a view of a C-contiguous w
        y = multiply(np.asarray(x, dtype=dtype).reshape(n, c_in), matrix).reshape(shape)
        if bias is not None:
            y += bias.reshape(column)
        return y

    return call


def transposed(geometry: Geometry, problem: Problem) -> bool:
    """Whether ``gemm`` runs :func:`gemm_transposed`: a channels-first output, 1-3 d, and few output
    channels per group, or 1-d and 2-d stamps that do not overlap on samples of at least
    :data:`TRANSPOSED_PIXELS` input cells (:data:`STAMP_PIXELS` where they tile every axis exactly), or
    overlapping stamps whose last axis is k3 or k4 at stride 2 (:func:`s2_rows`) on such samples with input
    rows of at least :data:`S2_ROWS` cells."""
    if problem.layout != "channels_first" or geometry.ndim > 3:
        return False
    if problem.cog <= FEW_CHANNELS:
        return True
    exact = all(k == s and d == 1 for k, s, d in zip(geometry.kernel_size, geometry.stride, geometry.dilation))
    pixels = STAMP_PIXELS if exact else TRANSPOSED_PIXELS
    if geometry.overlapping:
        return (
            S2_GATHER
            and s2_rows(geometry)
            and geometry.kernel_size[-1] <= 4  # k5 s2 only where few channels send it here anyway
            and geometry.input_size[-1] >= S2_ROWS
            and math.prod(geometry.input_size) >= TRANSPOSED_PIXELS
        )
    return geometry.ndim <= 2 and math.prod(geometry.input_size) >= pixels


def s2_rows(geometry: Geometry) -> bool:
    """Whether :func:`gemm_transposed` writes the rows with ``gather_k3s2_t``, ``gather_k4s2_t`` or
    ``gather_k5s2_t`` (``_gather_s2`` of :mod:`.numba_kernels`): the last axis at stride 2, kernel 3, 4
    or 5, dilation 1."""
    return geometry.kernel_size[-1] in (3, 4, 5) and geometry.stride[-1] == 2 and geometry.dilation[-1] == 1


def rows_direct(geometry: Geometry, problem: Problem) -> bool:
    """Whether ``gemm`` runs :func:`direct_rows`: a channels-first output, 1-3 d, float32 or float64, the
    compiled kernels, and either one input channel per group and at most :data:`DIRECT_ROWS_OUTPUTS`
    output channels per group (with groups: output rows of at least :data:`DEPTHWISE_ROWS` or at most
    :data:`DEPTHWISE_ROWS_CHANNELS` output channels, fewer on short runs: :func:`_rows_channels`), or
    small groups of several input channels (:func:`small_group_rows`)."""
    if not (
        problem.layout == "channels_first"
        and geometry.ndim <= 3
        and problem.dtype in (np.float32, np.float64)
        and _compiled.available()
    ):
        return False
    if problem.cig > 1:
        return small_group_rows(geometry, problem)
    return problem.cog <= DIRECT_ROWS_OUTPUTS and (
        problem.groups == 1 or geometry.output_size[-1] >= DEPTHWISE_ROWS or problem.c_out <= _rows_channels(geometry)
    )


def _rows_channels(geometry: Geometry) -> int:
    """The most output channels of a grouped layer with one input channel per group for which
    :func:`direct_rows` beats ``"direct"`` on rows shorter than :data:`DEPTHWISE_ROWS`:
    :data:`DEPTHWISE_ROWS_CHANNELS`, fewer on short runs of overlapping taps (:data:`RUN_MARGIN`)."""
    k, s, d = geometry.kernel_size[-1], geometry.stride[-1], geometry.dilation[-1]
    if s == 1 or d * (k - 1) < s:  # stride 1, or taps that do not overlap along the last axis
        return DEPTHWISE_ROWS_CHANNELS
    run = geometry.output_size[-1] // s
    return min(DEPTHWISE_ROWS_CHANNELS, max(DEPTHWISE_FEW, run - RUN_MARGIN))


def small_group_rows(geometry: Geometry, problem: Problem) -> bool:
    """Whether :func:`direct_rows` computes a layer of small groups of several input channels (at most
    :data:`tconv._algorithms.im2col.SMALL_GROUPS` channel pairs per group) from its input rows: 1-d, or
    2-d with input rows of at least :data:`GROUP_ROWS_INPUTS` or at most 4 terms per output (input
    channels per group times taps per output). Measured A/B against ``"auto"``'s choice before it (the
    pass along the groups, or per-group GEMMs): 1-d 3.0-4.1x (16-32 groups, k2-k8); 2-d 1.1-1.6x on
    rows of 14-73 inputs (16-32 groups of 4 -> 1 to 2 -> 8 channels, k2-k4, stride 1 and 2); 0.34x
    and 0.63x on rows of 14 and 16 inputs with 16-100 terms, 0.6x in 3-d; larger groups (8 -> 8, 16
    -> 16) 0.3-0.66x."""
    from .im2col import SMALL_GROUPS

    if problem.groups == 1 or problem.cig * problem.cog > SMALL_GROUPS or geometry.ndim > 2:
        return False
    terms = problem.cig * math.prod(geometry.kernel_size) / math.prod(geometry.stride)
    return geometry.ndim == 1 or geometry.input_size[-1] >= GROUP_ROWS_INPUTS or terms <= 4


def rows_gather(geometry: Geometry, problem: Problem) -> bool:
    """Whether a small call (:func:`small_call`) runs :func:`gemm_transposed` (on one thread) instead of one
    GEMM and a gather of channels-last columns: whenever :func:`transposed` holds. The transposed
    orientation's gather runs along input rows and builds no table of the last axis; the channels-last
    gather of 1-8 channels per tap wrote a few channels per pixel through its transpose buffer. Measured
    A/B on small layers (under :data:`SMALL_FLOPS`): 1.5-5.6x as fast with 1-4 output channels (a 1-d
    24 -> 3 layer of 4 x 1829 samples 0.46 -> 0.13 ms, 32 -> 1 on 4 x 32^2 0.82 -> 0.15), 1.0-1.1x with
    8, 0.85-1.9x (within this machine's noise or better) on stamps that do not overlap; a 1-d signal of
    10^5 samples, one channel, k16 s8 took 45 ms through the tables, 3.2 without."""
    return transposed(geometry, problem)


def _footprint(geometry: Geometry, problem: Problem) -> int:
    p_in = math.prod(geometry.input_size)
    kv = math.prod(geometry.kernel_size)
    # channels-last copy + columns, and the gather's tap tables; the columns twice where the weight may be
    # multiplied as it is (its product and its transpose: unpacked_weight, at one sample per block or more)
    columns = kv * problem.c_out * (2 if unpacked_weight(geometry, problem, 1) else 1)
    return p_in * (problem.c_in + columns) * problem.dtype.itemsize + table_bytes(geometry)


_gemm_blocked = blocked(gemm, _footprint)
#: The temporary bytes of gemm's smallest piece (the tiled and transposed paths fall back to the blocked one).
minimum = _gemm_blocked.minimum


def _packed_weight(w: np.ndarray, groups: int, kv: int, out: np.ndarray | None = None) -> np.ndarray:
    """``(C_in, Cog, *k)`` -> ``(G, Cig, Kv*Cog)``: taps before channels, so one GEMM row holds
    every tap's output channels contiguously (with the compiled transpose when available); into
    ``out`` (C-contiguous, of that size) when given, else into rows padded where their length would
    alias in the cache (:func:`tconv._algorithms.blas.padded_rows`)."""
    c_in, cog = w.shape[:2]
    w3 = w.reshape(c_in, cog, kv)  # (C_in, Cog, Kv), a view also of a block of output channels
    if out is None:
        out = _blas.padded_rows(c_in, kv * cog, w.dtype)
    target = out.reshape(c_in, kv, cog)  # (C_in, Kv, Cog): a view (only the contiguous rows are split)
    if cog == 1 or kv == 1:  # already taps-first
        np.copyto(target, w3.reshape(c_in, kv, cog))
    elif _compiled.available():
        _compiled.transpose(w3, target)
    else:
        np.copyto(target, w3.transpose(0, 2, 1))
    return out.reshape(groups, c_in // groups, kv * cog)


def _packed_blocks(
    w: np.ndarray, problem: Problem, blocks: list[tuple[int, int]], kv: int
) -> dict[tuple[int, int], np.ndarray]:
    """The packed weight of each block of output channels ``c0:c1`` of every group, ``(G, Cig, Kv*Cb)``:
    kept by a prepared call; for a plain call written into the calling thread's scratch (a fresh
    8 MiB of packed weight cost dcgan-1's plain call 5 ms of page faults on this VM, against 0.6 ms
    for the packing itself), which the call's threads read until it returns."""
    if problem.packed is not None:
        return {(c0, c1): _pack_block(w, problem, c0, c1, kv) for c0, c1 in blocks}
    sizes = [problem.c_in * kv * (c1 - c0) for c0, c1 in blocks]
    starts = np.cumsum([0, *sizes]).tolist()
    buffer = scratch("weight", (starts[-1],), w.dtype)
    packed = {}

    def pack(index: int) -> None:  # each block on one thread; the blocks in parallel
        c0, c1 = blocks[index]
        target = buffer[starts[index] : starts[index + 1]]
        with internal(threads=1):
            packed[c0, c1] = _packed_weight(w[:, c0:c1], problem.groups, kv, target)

    if len(blocks) == 1:
        packed[blocks[0]] = _packed_weight(w, problem.groups, kv, buffer)
    else:
        _compiled.parallel_for(pack, [(index,) for index in range(len(blocks))])
    return packed


def _pack_block(w: np.ndarray, problem: Problem, c0: int, c1: int, kv: int) -> np.ndarray:
    """The packed weight of output channels ``c0:c1`` of every group (kept by a prepared call)."""
    return problem.pack(("gemm", c0, c1), lambda: _packed_weight(w[:, c0:c1], problem.groups, kv))


def _gather(
    cols: np.ndarray,
    tables: Tables,
    bias: np.ndarray,
    out: np.ndarray,
    layout: str,
    pieces: list[tuple[int, int, int, int]],
) -> None:
    """The compiled gather: each output pixel of ``out`` is its bias plus the columns that land on it.

    ``cols`` is ``(G, M, Kv, Cb)``; ``out`` is ``(n, O_lead, O_last, G*Cb)`` channels-last
    or ``(n, G*Cb, O_lead, O_last)`` channels-first; each piece ``(task0, task1, o0, o1)``
    (tasks are ``(sample, lead output)`` pairs) is one call, the pieces run in parallel.
    """
    kernel = _compiled.kernels()["gather_cl" if layout == "channels_last" else "gather_cf"]
    args = (cols, *tables.kernel_args(), bias, out)
    _compiled.parallel_for(kernel, [args + piece for piece in pieces])


def _pieces(tasks: int, inner: int) -> list[tuple[int, int, int, int]]:
    """Split ``tasks`` rows x ``inner`` columns into enough pieces for the thread pool."""
    threads = effective().threads
    if threads == 1:
        return [(0, tasks, 0, inner)]
    wanted = 4 * threads
    if tasks >= wanted:
        return [(a, b, 0, inner) for a, b in _compiled.split(tasks, wanted)]
    pieces = -(-wanted // max(tasks, 1))
    return [(a, b, c, d) for a, b in _compiled.split(tasks, tasks) for c, d in _compiled.split(inner, pieces)]


def _col2im_numpy(cols: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """NumPy col2im: one strided slice-add per kernel tap (Chainer's ``col2im_cpu``)."""
    groups, cog = problem.groups, problem.cog
    nb = out.shape[0]
    cols = cols.reshape(groups, nb, *geometry.input_size, *geometry.kernel_size, cog)  # (G, n, *i, *k, Cog)
    if problem.layout == "channels_last":
        target = out.reshape(nb, *geometry.output_size, groups, cog)  # (n, *o, G, Cog)
    else:
        target = np.moveaxis(
            out.reshape(nb, groups, cog, *geometry.output_size), (1, 2), (-2, -1)
        )  # (n, *o, G, Cog) view
    target[...] = problem.bias.reshape(groups, cog) if problem.has_bias else 0  # (G, Cog)
    for tap, src, dst in tap_pairs(geometry):
        contribution = cols[(slice(None), slice(None)) + src + tap]  # (G, n, *S, Cog)
        target[(slice(None),) + dst] += np.moveaxis(contribution, 0, -2)  # (n, *S, G, Cog)


class _GemmTile(NamedTuple):
    """Samples ``n0:n1``, output rows ``band`` of the first axis (read from the input cells ``slab``, a
    slice per axis: a band's geometry may also drop, along the other axes, the input cells that reach
    only cropped outputs), output channels ``c0:c1`` of group ``g``."""

    n0: int
    n1: int
    band: tuple[int, int]
    slab: tuple[slice, ...]
    geometry: Geometry | None  # the tile's own geometry; None when no input reaches it
    g: int
    c0: int
    c1: int


def _gemm_tiles(geometry: Geometry, n: int, problem: Problem, threads: int) -> list[_GemmTile] | None:
    """Tiles whose column buffer (and weight block) fit the cache targets and the budget; None if none can.

    Output channels are split so that a tile's weight block ``C_in/G x prod(k) x C_block``
    fits :data:`WEIGHT_BYTES`, in blocks of at least :data:`MIN_TILE_CHANNELS` (the gather adds a
    block's channels per pixel and tap: in blocks of 3, FCN-32s's k64 s32 up-scoring of 21 channels,
    whose 7 MB weight asked for 7 blocks, gathered at a third of a gigaflop per second); then samples
    are grouped, or (for large samples) output rows split into bands, so that its columns fit
    :data:`TILE_BYTES`. Every group is its own tile. There are at least ``2*threads`` tiles when the problem allows.
    """
    groups, cig, cog, itemsize = problem.groups, problem.cig, problem.cog, problem.dtype.itemsize
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    budget = effective().memory_budget
    target = min(TILE_BYTES, budget // max(threads, 1))
    c_blocks = max(1, min(cog // MIN_TILE_CHANNELS, -(-cig * kv * cog * itemsize // WEIGHT_BYTES)))
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
                whole = tuple(slice(0, i) for i in geometry.input_size)
                tiles += [
                    _GemmTile(a, min(n, a + per_tile), (0, o0), whole, geometry, g, c0, c1)
                    for a in range(0, n, per_tile)
                ]
            return tiles
        height = -(-o0 // max(1, -(-wanted // (n * len(channel_tiles)))))  # split samples into bands too
    else:
        row_bytes = p_in // i0 * pixel  # one input row of the first axis
        s = geometry.stride[0]
        halo = (geometry.effective_kernel_size[0] - 1) // s + 1  # input rows a band reads beyond its own h/s
        height = (target // row_bytes - halo) * s  # h outputs read ~ h/s + halo rows
        height = max(s, height, MIN_BAND_HALOS * halo * s)  # bound the recomputed halo rows
        # every thread holds a tile's columns at once: the halo bound gives way to the budget's share
        share = budget // max(threads, 1)
        if row_bytes * (height // s + halo + 1) > share:
            height = max(s, (share // row_bytes - halo - 1) * s)
            if row_bytes * (height // s + halo + 1) > share:
                return None
        channel_tiles, height = _enough_tiles(channel_tiles, height, n, o0, s, groups, cog, threads)
    rest_start, rest_stop = (0,) * (geometry.ndim - 1), geometry.output_size[1:]
    for a in range(0, o0, height):
        b = min(o0, a + height)
        tile = tile_geometry(geometry, (a, *rest_start), (b, *rest_stop))
        slab = tile.input
        tiles += [
            _GemmTile(m, m + 1, (a, b), slab, tile.geometry, g, c0, c1) for g, c0, c1 in channel_tiles for m in range(n)
        ]
    return tiles


def _enough_tiles(
    channel_tiles: list[tuple[int, int, int]], height: int, n: int, o0: int, s: int, groups: int, cog: int, threads: int
) -> tuple[list[tuple[int, int, int]], int]:
    """Channel blocks and band height of :func:`_gemm_tiles`'s bands of large samples, so that the threads
    get equal shares: bands of equal height, and where there are few tiles (under four per thread) a
    count of them that is a multiple of the threads -- smaller channel blocks first (each tile's GEMM
    then has fewer columns but recomputes nothing), down to :data:`MIN_TILE_CHANNELS` a block, else
    more bands (each recomputes its halo rows). Without this, a single large sample whose band bound
    (:data:`MIN_BAND_HALOS`) covered its whole output was one tile on one of two threads (a 3-d decoder
    layer, 64 -> 32 channels at 16^3, k3 s2: 7.3-8.0 ms, 4.1 on both), and one of 18^3 two bands of 32
    and 4 output rows (64 -> 32, k4 s2: 33 ms against 11 at 16^3)."""
    bands = -(-o0 // height)
    height = -(-o0 // (bands * s)) * s  # equal bands, a multiple of the stride
    bands = -(-o0 // height)
    tiles = n * len(channel_tiles) * bands
    wanted = shares(tiles, threads)  # the tile count that shares the threads evenly
    if wanted == tiles:
        return channel_tiles, height
    per_group = len(channel_tiles) // groups
    c_block = channel_tiles[0][2] - channel_tiles[0][1]
    for more in range(per_group + 1, cog // MIN_TILE_CHANNELS + 1):  # smaller channel blocks
        c_block = -(-cog // more)
        if (n * groups * -(-cog // c_block) * bands) % threads == 0:
            channel_tiles = [(g, c, min(cog, c + c_block)) for g in range(groups) for c in range(0, cog, c_block)]
            return channel_tiles, height
    # else more bands (of any height: a multiple of the stride may not divide the rows into enough)
    bands = min(o0, -(-wanted // (n * len(channel_tiles))))
    return channel_tiles, -(-o0 // bands)


#: Fewest output channels of a tile's channel block: split off for more tiles (:func:`_enough_tiles`), and
#: for a weight block within :data:`WEIGHT_BYTES` (:func:`_gemm_tiles`). Measured A/B in alternating
#: processes, min of 3, against blocks of the weight bound alone: 21 -> 21 channels k64 s32 on 16^2
#: (3-channel blocks before) 52 -> 35 ms, k32 s16 on 34^2 (11) 1.18x, 64 -> 64 k32 s16 (4) 1.20x,
#: 150 -> 150 k16 s8 (7) 1.09x, 96 -> 40 k16 s8 1.06x; 256 -> 24 k8 s4 0.97x (noise).
MIN_TILE_CHANNELS = 16


def _reshaped(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` viewed with ``shape``; raises instead of copying (assigning ``.shape`` never copies)."""
    view = array.view()
    view.shape = shape
    return view


def gemm_tiled(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
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
    layout, c_out = problem.layout, problem.c_out
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    flops = _cost.useful_flops(geometry, problem, n)
    if rows_direct(geometry, problem):
        return direct_rows(x, w, geometry, problem)
    if flops < SMALL_FLOPS:  # tiny: one thread, no tiles, nothing to hand over
        # one GEMM and one gather, no blocks (a weight packed on every call only if smaller than the columns)
        call = planned(geometry, problem, n)
        if call is not None:
            return call(x, w, problem.bias)
        with internal(threads=1):
            return _gemm_blocked(x, w, geometry, problem)
    if overlap_rows(geometry, problem):
        return gemm_overlap(x, w, geometry, problem)
    if transposed(geometry, problem):
        return gemm_transposed(x, w, geometry, problem)
    if not _blas.available() or n * p_in * kv * c_out * problem.dtype.itemsize <= CACHED_COLUMNS:
        return _gemm_blocked(x, w, geometry, problem)  # one multi-threaded GEMM, columns stay in L3
    if unpacked_weight(geometry, problem, n):
        return _gemm_blocked(x, w, geometry, problem)  # no packed weight: one GEMM of the weight as it is
    threads = effective().threads
    tiles = _gemm_tiles(geometry, n, problem, threads)
    if tiles is None:
        return _gemm_blocked(x, w, geometry, problem)
    layout_in = layout
    if layout == "channels_first" and p_in < SMALL_SAMPLE:
        # small samples: one transpose to channels-last rows, so each tile is one GEMM over all its samples
        x = channels_last(x, layout).reshape(n, *geometry.input_size, problem.c_in)
        layout_in = "channels_last"
    out = problem.output(n, geometry.output_size)
    blocks = sorted({(t.c0, t.c1) for t in tiles})
    packed = _packed_blocks(w, problem, blocks, kv)  # (G, Cig, Kv*Cb) each
    largest = max(
        (t.n1 - t.n0) * math.prod(t.geometry.input_size) * (t.c1 - t.c0) for t in tiles if t.geometry is not None
    )
    claim = _compiled.Claim(len(tiles))

    def work() -> None:
        workspace = scratch("columns", (largest * kv,), problem.dtype)  # this thread's column buffer
        for index in claim:
            tile = tiles[index]
            _gemm_tile(tile, x, layout_in, packed[tile.c0, tile.c1][tile.g], out, workspace, problem)

    with _blas.single_threaded_blas():  # each of our threads runs its own single-threaded GEMMs
        _compiled.run_workers(work, min(threads, len(tiles)), claim)
    return out


def _gemm_tile(
    tile: _GemmTile,
    x: np.ndarray,
    layout_in: str,
    w_block: np.ndarray,
    out: np.ndarray,
    workspace: np.ndarray,
    problem: Problem,
) -> None:
    """One tile: single-threaded GEMM of its input rows with its weight block, then its gather.

    ``x`` is in ``layout_in``, ``out`` in the problem's layout. ``w_block`` is
    ``(C_in/G, Kv*Cb)``: group ``tile.g``, channels ``tile.c0:tile.c1``.
    """
    n0, n1, (a0, a1), g, c0, c1 = tile.n0, tile.n1, tile.band, tile.g, tile.c0, tile.c1
    cig, cog, layout = problem.cig, problem.cog, problem.layout
    channels = slice(g * cog + c0, g * cog + c1)  # the tile's output channels
    nd = out.ndim - 2
    region = out[n0:n1, channels, a0:a1] if layout == "channels_first" else out[n0:n1, a0:a1, ..., channels]
    if tile.geometry is None:  # no input reaches these outputs: the bias alone
        region[...] = problem.bias_fill(nd, channels)
        return
    sub = tile.geometry
    kv = math.prod(sub.kernel_size)
    rows = math.prod(sub.input_size)
    nt, cb = n1 - n0, c1 - c0
    cols = _reshaped(workspace[: nt * rows * kv * cb], (nt * rows, kv * cb))  # (rows, Kv*Cb)
    slab = tile.slab
    inputs = slice(g * cig, (g + 1) * cig)
    size = x.shape[2:] if layout_in == "channels_first" else x.shape[1:-1]
    whole = all(c.start == 0 and c.stop == i for c, i in zip(slab, size))
    if layout_in == "channels_last" and whole and x.flags.c_contiguous:
        # whole samples of a channels-last input: all the tile's rows are one matrix
        lhs = _reshaped(x[n0:n1], (nt * rows, x.shape[-1]))[:, inputs]  # (nt*rows, Cig)
        _blas.mm(lhs, w_block, out=cols)
        nt_loop = 0
    else:
        nt_loop = nt
    for i in range(nt_loop):
        if layout_in == "channels_first":
            index: tuple[int | slice, ...] = (n0 + i, inputs, *slab)
            xs = x[index]  # (Cig, *slab)
            try:
                lhs = _reshaped(xs, (cig, rows)).T  # (rows, Cig), a transposed view
            except AttributeError:
                lhs = np.ascontiguousarray(xs).reshape(cig, rows).T
        else:
            index = (n0 + i, *slab, inputs)
            xs = x[index]  # (*slab, Cig)
            try:
                lhs = _reshaped(xs, (rows, cig))
            except AttributeError:
                lhs = np.ascontiguousarray(xs).reshape(rows, cig)
        _blas.mm(lhs, w_block, out=cols[i * rows : (i + 1) * rows])  # (rows, Cig) @ (Cig, Kv*Cb)
    tables = lead_and_last(sub)
    o_lead, o_last = tables.lead.outputs, tables.last.outputs
    cols4 = _reshaped(cols, (1, nt * rows, kv, cb))  # (1, M, Kv, Cb)
    view = _reshaped(region, batched_shape(nt, cb, (o_lead, o_last), layout))  # (n, Cb, O_lead, O_last) or cl
    _gather(cols4, tables, problem.bias[channels], view, layout, [(0, nt * o_lead, 0, o_last)])


def depthwise_stamps(geometry: Geometry, problem: Problem) -> bool:
    """Whether a layer runs :func:`stamps`: one input channel per group (depthwise, channel multipliers, a
    one-channel input), the kernel equal to the stride on every axis and above 1 on some (k2 s2, k3 s3,
    ...: each output is one input times one weight, plus the bias), dilation 1, a channels-first float32
    or float64 problem of 1-3 d, with the compiled kernels."""
    return (
        problem.cig == 1
        and problem.layout == "channels_first"
        and geometry.ndim <= 3
        and all(k == s for k, s in zip(geometry.kernel_size, geometry.stride))
        and all(d == 1 for d in geometry.dilation)
        and math.prod(geometry.stride) > 1
        and problem.dtype in (np.float32, np.float64)
        and _compiled.available()
    )


def stamps(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """A :func:`depthwise_stamps` layer into ``out`` (channels-first), each output written once from its one
    input and tap (``depthwise_stamps`` of :mod:`tconv._algorithms.numba_kernels`), in rows shared among
    the threads as :func:`direct_rows` shares its own.

    Before, ``"direct"`` computed such layers along the channels of a channels-last copy, and
    :func:`direct_rows` through its general row kernel, tap by tap. Measured on one thread against
    ``"auto"``'s path before (min of 0.5 s of calls, the output allocated by each call): 16 x 96
    channels at 21 x 21, k2 s2, 2.0 -> 0.80 ms (ONNX Runtime 1.25); 4 x 256 at 32 x 32 3.5 -> 1.25
    (1.93); 8 x 64 at 40 x 40, k3 s3, 9.0 -> 1.55 (6.98); and with the first form of this pass, a
    channel multiplier of 2 10.1 -> 1.25, k2 s2 with padding and output padding 0.80 -> 0.21, k5 s5
    and k8 s8 1.05-1.36x (each output a stride-``s`` run the compiler does not interleave: the
    outputs' fresh pages are most of the call there)."""
    n, c_out = x.shape[0], problem.c_out
    p_in = math.prod(geometry.input_size)
    lead = lead_table(geometry)
    o_lead, o_last = lead.outputs, geometry.output_size[-1]
    s, b = geometry.stride[-1], geometry.crop_begin[-1]
    args = (
        np.ascontiguousarray(x).reshape(-1),  # (n, G, P_in): one input channel per group
        np.ascontiguousarray(w).reshape(-1),  # (G, Cog, Kv)
        *(lead.ptr, lead.j, lead.t),
        *(problem.groups, p_in, problem.cog, math.prod(geometry.kernel_size), geometry.input_size[-1], s, b),
        problem.bias,
        out.reshape(-1),
        *(c_out, o_lead, o_last),
    )
    _run_rows("depthwise_stamps", args, n * c_out * o_lead, o_last, 2 * out.size)


def _run_rows(kernel: str, args: tuple, rows: int, o_last: int, work: int) -> None:
    """A row kernel of :mod:`tconv._algorithms.numba_kernels` (its last four arguments: tasks ``t0:t1`` of
    ``rows`` and outputs ``o0:o1`` of ``o_last`` along each row) on the threads, in pieces of the rows,
    or of each row when there are fewer rows than pieces (a 1-d signal); on the calling thread below
    :data:`DIRECT_ROWS_PARALLEL` of ``work`` (outputs plus multiply-adds)."""
    pieces = 2 * effective().threads if work >= DIRECT_ROWS_PARALLEL else 1
    if rows >= pieces:  # rows enough for every thread
        calls = [(*args, t0, t1, 0, o_last) for t0, t1 in _compiled.split(rows, pieces)]
    else:  # a few long rows (a 1-d signal): pieces of each row
        calls = [(*args, 0, rows, c0, c1) for c0, c1 in _compiled.split(o_last, pieces)]
    function = _compiled.kernels()[kernel]
    if len(calls) == 1:
        function(*calls[0])
    else:
        _compiled.parallel_for(function, calls)


def direct_rows(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """``gemm`` without a GEMM, for one or a few input channels per group (:func:`rows_direct`): each output
    row summed straight from the input rows (``direct_rows_t`` of :mod:`tconv._algorithms.numba_kernels`),
    each tap's weight times an input row added at stride ``s``, in chunks of the row that stay in L1; the
    rows, or pieces of a few long rows, shared among the threads. No temporaries beyond the lead axes'
    tap table: a 1-channel signal of 10^5 samples up-sampled x8 (k16) took 2.6-3.8 ms through the
    columns (16 values per input sample, then their gather), and takes 0.7 ms this way; a
    1000 x 1000 image, 1 -> 1, k4 s2, 18 ms -> 2.8."""
    n, c_out = x.shape[0], problem.c_out
    kv, p_in = math.prod(geometry.kernel_size), math.prod(geometry.input_size)
    out = problem.output(n, geometry.output_size)
    if depthwise_stamps(geometry, problem):
        stamps(x, w, geometry, problem, out)
        return out
    lead = lead_table(geometry)
    o_lead, o_last = lead.outputs, geometry.output_size[-1]
    axis = (geometry.input_size[-1], geometry.kernel_size[-1], *geometry.axes()[-1][2:5])  # i, k, s, d, b
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    args = (
        x.reshape(n, groups, cig, p_in),
        w.reshape(groups, cig, cog, kv),  # the weight as it is
        *(lead.ptr, lead.j, lead.t),
        *axis,
        DIRECT_ROWS_CHUNK,
        problem.bias,
        out.reshape(n, c_out, o_lead, o_last),
    )
    _run_rows("direct_rows_t", args, n * c_out * o_lead, o_last, out.size + n * p_in * kv * c_out * cig)
    return out


#: 1-d layers with at most :data:`FEW_CHANNELS` output channels, one group, dilation 1 and kernels of at
#: least this many taps (an inverse STFT's synthesis, a vocoder's output layer) run :func:`gemm_overlap`,
#: but for products ``Cog*Kv`` wide in ``OVERLAP_NARROW``: MKL's product of a transposed input by a
#: weight 64-127 columns wide ran 1.2x as long as the transposed orientation's (k72, and 3 channels of
#: k24: 0.82-0.86x the old path's speed, A/B), where NumPy's (under 64 columns) and MKL's from 128 led.
#: At 8 taps (4 channels, k8 s2) it was 0.97x.
OVERLAP_TAPS = 16
OVERLAP_NARROW = (64, 128)


def overlap_rows(geometry: Geometry, problem: Problem) -> bool:
    """Whether ``gemm`` runs :func:`gemm_overlap`: a 1-d channels-first problem of one group, dilation 1,
    at most :data:`FEW_CHANNELS` output channels and :data:`OVERLAP_TAPS` taps or more (products not
    :data:`OVERLAP_NARROW` wide), whose one sample's products fit the memory budget, with the compiled
    kernels and control of BLAS's threads."""
    return (
        geometry.ndim == 1
        and problem.layout == "channels_first"
        and problem.groups == 1
        and geometry.dilation[0] == 1
        and problem.cog <= FEW_CHANNELS
        and geometry.kernel_size[0] >= OVERLAP_TAPS
        and not OVERLAP_NARROW[0] <= problem.cog * geometry.kernel_size[0] < OVERLAP_NARROW[1]
        and math.prod(geometry.input_size) * problem.c_out * geometry.kernel_size[0] * problem.dtype.itemsize
        <= effective().memory_budget
        and _compiled.available()
        and _compiled.supports(problem.dtype)
        and _blas.available()
    )


def gemm_overlap(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """gemm for :func:`overlap_rows`' 1-d layers: per sample the products ``x[n].T @ W`` (``(P_in, Cog*Kv)``,
    the weight as it is: nothing packed), then the overlap-add of each input position's taps, one
    contiguous run of outputs (``overlap_add_rows`` of :mod:`tconv._algorithms.numba_kernels`).

    :func:`gemm_transposed`'s orientation ``W^T @ x`` needs the weight transposed (a strided operand,
    or a packed copy) and gathers each output from its taps' rows, a row apart per tap. Samples are
    shared among the threads, each sample's product and overlap-add on one of them, while its products
    are in that core's cache; with fewer samples than threads, each sample's product is split among
    them (:func:`tconv._algorithms.blas.matmul`), then its outputs. Measured A/B in one process (two
    threads, plain and prepared calls alike: nothing is packed): an inverse STFT's synthesis (1026 -> 1
    channels, k1024 s256, 224 frames) 2.29 -> 1.96 ms, 513 -> 1 at k512 s128 1.28 -> 1.08, four samples
    of k1024 1.19x, 257 -> 2 at k256 s64 1.39x, 1-d layers of 1-8 output channels at k16-k128 1.03-1.5x.
    """
    n, c_in, cog = x.shape[0], problem.c_in, problem.cog
    kv, p_in, o_len = geometry.kernel_size[0], geometry.input_size[0], geometry.output_size[0]
    s, b = geometry.stride[0], geometry.crop_begin[0]
    w2 = np.ascontiguousarray(w).reshape(c_in, cog * kv)  # (C_in, Cog*Kv), the weight as it is
    xs = x.reshape(n, c_in, p_in)
    out = problem.output(n, geometry.output_size)  # (N, C_out, O)
    bias = problem.bias
    add = _compiled.kernels()["overlap_add_rows"]
    budget = effective().memory_budget  # one sample's products a thread (overlap_rows: at least one fits)
    threads = max(1, min(effective().threads, budget // (p_in * cog * kv * problem.dtype.itemsize)))
    if threads > 1 and n >= threads:
        claim = _compiled.Claim(n)

        def work() -> None:
            cols = scratch("columns", (p_in, cog * kv), problem.dtype)
            for i in claim:
                _blas.mm(xs[i].T, w2, out=cols)
                add(cols, kv, s, b, bias, out[i], 0, o_len)

        with _blas.single_threaded_blas():
            _compiled.run_workers(work, threads, claim)
    else:
        cols = scratch("columns", (p_in, cog * kv), problem.dtype)
        for i in range(n):
            _blas.matmul(xs[i].T, w2, out=cols)  # split among the threads
            if threads > 1:
                pieces = _compiled.split(o_len, threads)
                _compiled.parallel_for(add, [(cols, kv, s, b, bias, out[i], o0, o1) for o0, o1 in pieces])
            else:
                add(cols, kv, s, b, bias, out[i], 0, o_len)
    return out


def gemm_transposed(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """gemm in the channels-first orientation, for few output channels per group, and for stamps that do
    not overlap on large 1-d and 2-d samples (:data:`TRANSPOSED_PIXELS`).

    With 1-8 output channels the channels-last columns give the gather a loop of
    1-8 channels per tap; in the transposed orientation ``cols = W^T @ x[n]``
    (``(Kv*Cog) x P`` per sample and group, ONNX Runtime's orientation) the gather
    runs along contiguous input positions instead (``gather_rows_t`` of
    :mod:`tconv._algorithms.numba_kernels`), one output channel's rows at a time.
    Tiles are (block of samples, block of groups) pairs computed by independent threads with
    single-threaded BLAS: a block's GEMMs in one stacked ``matmul``, its gather in one
    compiled call (per sample, small images spent more in the calls than in the work:
    a 64-sample 14x14 layer with one output channel; per group, a layer of 32 groups of
    6 -> 3 channels at 11x11 spent 40 us a group in them); with fewer tiles than threads each
    tile's output channels are shared among the threads, each computing its share's GEMM and rows
    (:data:`CHANNEL_SPLIT`), or, with too few channels, its GEMM is split among the threads
    (:func:`tconv._algorithms.blas.matmul`) and its rows after it.
    """
    execute = transposed_call(geometry, problem, x.shape[0])
    if execute is None:
        return _gemm_blocked(x, w, geometry, problem)  # one sample's columns exceed the budget
    return execute(x, w, problem.bias)


def transposed_call(geometry: Geometry, problem: Problem, n: int) -> Callable[..., np.ndarray] | None:
    """:func:`gemm_transposed` on ``n`` samples as a call ``(x, w, bias) -> y``, its blocks, tiles,
    tables and kernels worked out now from the geometry, the problem's shape and the options (threads,
    memory budget), so that a planned small call (:func:`planned`) does only its GEMMs and rows; None
    where one sample's columns exceed the budget. ``bias`` is ``(C_out,)`` in the compute dtype, or None."""
    groups, cig, cog, dtype = problem.groups, problem.cig, problem.cog, problem.dtype
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    bytes_per_sample = kv * cog * p_in * dtype.itemsize
    budget = effective().memory_budget
    if bytes_per_sample > budget:
        return None
    threads = min(effective().threads, budget // bytes_per_sample)  # one column buffer per thread
    # samples per block: columns of at most BLOCK_COLUMNS (and a thread's share of the budget), and
    # enough blocks for every thread; groups per block likewise, once a block holds every sample
    limit = max(bytes_per_sample, min(BLOCK_COLUMNS, budget // threads))
    joined = (
        JOIN_SAMPLES
        and groups == 1
        and cog > FEW_CHANNELS
        and cig >= JOIN_INPUTS
        and p_in < JOIN_PIXELS
        and n >= 2 * threads
    )
    if joined:
        limit = max(limit, min(JOIN_COLUMNS, budget // threads))
    per = max(1, limit // bytes_per_sample)
    per = min(per, max(1, n // -(-threads // groups)))
    # blocks of about equal size, as many as the threads or a multiple of them where there are few: 16
    # samples of DCGAN's RGB output layer (64 -> 3 channels, 32 x 32) were blocks of 5, 5, 5 and 1
    # samples, 10 on one thread and 6 on the other
    samples = _compiled.split(n, shares(-(-n // per), threads) if groups == 1 else -(-n // per))
    per = max((i1 - i0 for i0, i1 in samples), default=1)  # the largest block, which the column buffer holds
    group_block = max(1, min(groups, limit // (per * bytes_per_sample), groups * len(samples) // threads))
    spans = _compiled.split(groups, -(-groups // group_block))  # blocks of about group_block groups
    tiles = [(i0, i1, g0, g1) for i0, i1 in samples for g0, g1 in spans]
    per_groups = max(g1 - g0 for g0, g1 in spans)  # the largest block, which the column buffer holds
    shape = batched_shape(n, problem.c_out, geometry.output_size, "channels_first")
    zeros = np.zeros(problem.c_out, dtype)
    lead = lead_table(geometry)  # the last axis's pairs come from its tap ranges: no table of them
    o_lead, o_last = lead.outputs, geometry.output_size[-1]
    s, d, b = geometry.stride[-1], geometry.dilation[-1], geometry.crop_begin[-1]
    i_last, k_last = geometry.input_size[-1], geometry.kernel_size[-1]
    if k_last == s == 2 and d == 1:
        # the last axis stamped at stride 2 (U-Net's k2 s2): both taps of an input in one loop
        # (stamp_rows_t); measured A/B in real calls on one thread, the gather 2.3-2.9x as fast on
        # U-Net's layers at 32^2-128^2, 2.7x on a 24 -> 96 layer at 38^2
        rows = _compiled.kernels()["stamp_rows_t"]

        def arguments(c4: np.ndarray, ptr: np.ndarray, o0: int, o1: int, bias: np.ndarray, target: np.ndarray):
            return (c4, ptr, lead.j, lead.t, i_last, b, o0, o1, bias, target)

    elif s2_rows(geometry) and S2_GATHER:
        # the last axis at k4 s2 (DCGAN's, pix2pix's), k3 s2 or k5 s2: both outputs of an input in one
        # loop (_gather_s2, a kernel per k)
        rows = _compiled.kernels()[f"gather_k{k_last}s2_t"]

        def arguments(c4: np.ndarray, ptr: np.ndarray, o0: int, o1: int, bias: np.ndarray, target: np.ndarray):
            return (c4, ptr, lead.j, lead.t, i_last, b, o0, o1, bias, target)

    else:
        rows = _compiled.kernels()["gather_rows_t"]
        # the arguments of gather_rows_t that do not change from call to call
        per_axis = (i_last, k_last, tap_ranges(geometry, -1), s, d, b)

        def arguments(c4: np.ndarray, ptr: np.ndarray, o0: int, o1: int, bias: np.ndarray, target: np.ndarray):
            # outputs o0:o1 of every row, in chunks that stay in L1
            return (c4, ptr, lead.j, lead.t, *per_axis, o0, o1, DIRECT_ROWS_CHUNK, bias, target)

    def block(
        wt: np.ndarray,
        xs: np.ndarray,
        buffer: np.ndarray,
        i0: int,
        i1: int,
        g0: int,
        g1: int,
        multiply: Callable[..., np.ndarray],
        c0: int = 0,
        c1: int = cog,
    ) -> np.ndarray:
        """The columns of samples i0:i1, groups g0:g1, output channels c0:c1 of each group (a share of them:
        :data:`CHANNEL_SPLIT`), as (n, (g1-g0)*(c1-c0), Kv, P) in ``buffer``."""
        if joined and i1 - i0 > 1 and c1 - c0 == cog:  # the samples side by side, one GEMM (JOIN_PIXELS)
            nb = i1 - i0
            xb = scratch("channels_last", (cig, nb * p_in), dtype)
            _reshaped(xb, (cig, nb, p_in))[...] = xs[i0:i1, 0].transpose(1, 0, 2)
            c2 = _reshaped(buffer[: nb * cog * kv * p_in], (cog * kv, nb * p_in))
            multiply(wt[0], xb, out=c2)
            return _reshaped(c2, (cog, kv, nb, p_in)).transpose(2, 0, 1, 3)
        height = (c1 - c0) * kv  # the channels' rows of W^T
        cols = _reshaped(buffer[: (i1 - i0) * (g1 - g0) * height * p_in], (i1 - i0, g1 - g0, height, p_in))
        # (g, height, Cig) @ (n, g, Cig, P), stacked
        lhs = wt[g0:g1, c0 * kv : c1 * kv]
        lhs = np.broadcast_to(lhs, (i1 - i0, *lhs.shape))  # a view: _blas.matmul's pieces index both
        multiply(lhs, xs[i0:i1, g0:g1], out=cols)
        return _reshaped(cols, (i1 - i0, (g1 - g0) * (c1 - c0), kv, p_in))

    size = per * per_groups * cog * kv * p_in
    if len(tiles) >= threads > 1 and _blas.available():
        parts = [(*tile, 0, cog) for tile in tiles]
    elif (
        CHANNEL_SPLIT
        and threads > 1
        and groups == 1
        and cog >= CHANNEL_SPLIT * threads
        and CHANNEL_SPLIT_INPUTS * cog * kv >= cig
        and _blas.available()
    ):
        # fewer tiles than threads, of one group: each thread takes a share of a tile's output channels,
        # its GEMM and its rows, in one parallel pass (CHANNEL_SPLIT)
        parts = [(i0, i1, 0, 1, c0, c1) for i0, i1, _, _ in tiles for c0, c1 in _compiled.split(cog, threads)]
    else:
        # fewer tiles than threads (one or a few large samples), or one thread: each tile's GEMM split
        # among the threads by _blas.matmul (never BLAS's own threads, which spin for 0.1 s after a call:
        # one 1-d sample's GEMM here, 1026 -> 1 channel, slowed the backward pass after it from 10 to
        # 15 ms), then its gather in bands of output rows, one per thread (pix2pix's RGB output, one
        # sample of 128 -> 3 channels at 128x128: the gather on one thread took a third of the call), or in
        # 1-d pieces of the row (an inverse STFT's 57 000 outputs)
        parts = []
    pieces = _compiled.split(o_lead if o_lead > 1 else o_last, 2 * threads)

    def multiply(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        return _blas.matmul(a, b, out=out, threads=threads)  # the planned threads, not the caller's options

    def call(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        if bias is None:
            bias = zeros
        out = np.empty(shape, dtype=dtype)
        wt = w.reshape(groups, cig, cog * kv).transpose(0, 2, 1)  # (G, Cog*Kv, Cig): a view, BLAS reads it transposed
        xs = x.reshape(n, groups, cig, p_in)  # (N, G, Cig, P)
        out4 = out.reshape(n, groups * cog, o_lead, o_last)  # (N, G*Cog, O_lead, O_last)
        if parts:  # each part (i0, i1, g0, g1, c0, c1) -- samples, groups, channels of each group -- by one thread
            claim = _compiled.Claim(len(parts))

            def work() -> None:
                buffer = scratch("columns", (size,), dtype)  # this thread's columns
                for index in claim:
                    i0, i1, g0, g1, c0, c1 = parts[index]
                    channels = slice(g0 * cog + c0, (g1 - 1) * cog + c1)
                    c4 = block(wt, xs, buffer, i0, i1, g0, g1, _blas.mm, c0, c1)
                    rows(*arguments(c4, lead.ptr, 0, o_last, bias[channels], out4[i0:i1, channels]))

            with _blas.single_threaded_blas():
                _compiled.run_workers(work, threads, claim)
            return out
        buffer = scratch("columns", (size,), dtype)
        # BLAS's thread count set once for all the tiles (each product would set and restore it: ~15 us,
        # 0.13 ms a call of 8 one-sample tiles)
        with _blas.single_threaded_blas():
            for i0, i1, g0, g1 in tiles:
                channels = slice(g0 * cog, g1 * cog)
                c4 = block(wt, xs, buffer, i0, i1, g0, g1, multiply)  # split among the threads
                target = out4[i0:i1, channels]
                if threads == 1:
                    rows(*arguments(c4, lead.ptr, 0, o_last, bias[channels], target))
                elif o_lead > 1:
                    calls = [
                        arguments(c4, lead.ptr[r0 : r1 + 1], 0, o_last, bias[channels], target[:, :, r0:r1])
                        for r0, r1 in pieces
                    ]
                    _compiled.parallel_for(rows, calls)
                else:
                    calls = [arguments(c4, lead.ptr, o0, o1, bias[channels], target) for o0, o1 in pieces]
                    _compiled.parallel_for(rows, calls)
        return out

    return call
