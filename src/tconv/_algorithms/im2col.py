"""im2col + GEMM: the forward convolution's ``"gemm"`` and the weight gradient of both operators.

The columns of a convolution, ``cols[(n, j), t, c] = big[n, s*j + d*t - b, c]`` (zero
outside), list for every output ``j`` of the convolution (every position of the
*small* side of the geometry) the input cells of the *big* side its taps read.
Then:

- the convolution is ``y = cols @ W`` with ``W[(t, ci), co] = w[co, ci, t]``, one GEMM
  per group (:func:`conv`);
- the weight gradient, of ``conv_transpose`` (``small`` = its input, ``big`` = the
  output gradient) and of ``conv`` (``small`` = the output gradient, ``big`` = its
  input), is ``dw[g] = small_g^T @ cols_g`` (:func:`weight_gradient`; its reference
  form is :func:`tconv.kernels.weight_correlation`).

The columns are gathered in one compiled pass over a channels-last array (NumPy:
one strided copy per tap); batch blocks, or tiles of the small side for samples too
large alone, keep them under the memory budget (:mod:`tconv._algorithms.blocking`).
A channels-first convolution whose windows do not overlap, or whose weight is at least
as large as its input, gathers them from the input as it is, in the transposed
orientation ``cols[c, t, j]``, and multiplies the weight as it is (:func:`_columns_first`).
Float32 convolutions whose windows overlap sum their outputs in register tiles instead, reading the
input where it lies: :func:`register_tiles` (few output channels per group) and :func:`wide_tiles`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .._options import effective, internal
from ..geometry import Geometry
from ..kernels import tap_pairs
from . import blas as _blas
from . import compiled as _compiled
from . import mixed as _mixed
from . import registers as _registers
from .blocking import ConvBlocked
from .gemm import SMALL_FLOPS, one_stamp, pointwise, pointwise_map, single_stamp
from .problem import Problem, channels_last, layout_index
from .taptable import im2col_bytes, im2col_positions
from .tiling import Tile, shares
from .workspace import scratch

__all__ = ["conv", "im2col", "weight_gradient"]

#: With at most this many channel pairs per group (``C_in/G * C_out/G``, depthwise and the like),
#: one ``einsum`` over all groups replaces the per-group GEMMs.
SMALL_GROUPS = 16


def im2col(big_cl: np.ndarray, geometry: Geometry, groups: int = 1, slot: str | None = None) -> np.ndarray:
    """Columns of a convolution: ``cols[n, j, t, :] = big[n, s*j + d*t - crop_begin, :]`` (zeros outside).

    ``big_cl`` is ``(n, prod(geometry.output_size), C)`` channels-last; the result is
    ``(n, prod(geometry.input_size), prod(kernel_size), C)``, or with ``groups > 1`` each
    group's channels in a block of their own, ``(G, n, P_small, Kv, C/G)``: one compiled pass,
    or one strided copy per tap with NumPy alone. In the calling thread's scratch ``slot`` when
    given (:mod:`tconv._algorithms.workspace`).
    """
    n, _, c = big_cl.shape
    kv = math.prod(geometry.kernel_size)
    p_small = math.prod(geometry.input_size)
    shape = (n, p_small, kv, c) if groups == 1 else (groups, n, p_small, kv, c // groups)
    cols = np.empty(shape, dtype=big_cl.dtype) if slot is None else scratch(slot, shape, big_cl.dtype)
    if _compiled.available():
        lead, last = im2col_positions(geometry)
        kernel = _compiled.kernels()["im2col_cl" if groups == 1 else "im2col_groups_cl"]
        pieces = 4 * effective().threads if cols.nbytes >= PARALLEL_COLUMNS else 1
        calls = [
            (big_cl, lead, last, geometry.output_size[-1], cols, t0, t1)
            for t0, t1 in _compiled.split(n * lead.shape[0], pieces)
        ]
        _compiled.parallel_for(kernel, calls)
        return cols
    big = big_cl.reshape(n, *geometry.output_size, c)  # (n, *big, C)
    if groups > 1:  # (G, n, *big, C/G): each group's channels, as a view
        big = np.moveaxis(big.reshape(n, *geometry.output_size, groups, c // groups), -2, 0)
    view = cols.reshape(*shape[:-3], *geometry.input_size, *geometry.kernel_size, shape[-1])
    view[...] = 0
    outer = (slice(None),) * (len(shape) - 3)  # the group and sample axes
    for tap, src, dst in tap_pairs(geometry):
        view[outer + src + tap] = big[outer + dst]
    return cols


#: Bytes of columns from which :func:`im2col` gathers them on several threads (below, on the calling
#: thread: handing a piece to a pool thread costs about as much as gathering it; the weight gradient of
#: a 16 -> 8-channel 3 x 3 layer at 8 x 8, 18 KiB of columns, took 223 us on 2 threads, 114 on one).
#: dcgan-4's 3 MiB stay on both threads (there, one was 1.4-1.6x as slow).
PARALLEL_COLUMNS = 2 * 2**20


def conv_footprint(problem: Problem) -> ConvBlocked:
    """The pieces of :func:`conv` on ``problem``: its temporaries for one sample of a geometry are the
    channels-last input (twice with groups: a copy in (channel, group) order, :func:`minor_groups`), the
    columns (twice with groups: the per-group copy), and the result with its layout change."""
    copies = 2 if problem.groups > 1 else 1
    kv_c_in = problem.c_in * copies

    def footprint(geometry: Geometry) -> int:
        kv = math.prod(geometry.kernel_size)
        small = math.prod(geometry.input_size) * (kv * kv_c_in + 3 * problem.c_out)
        big = math.prod(geometry.output_size) * problem.c_in * copies
        return (big + small) * problem.dtype.itemsize + im2col_bytes(geometry)

    return ConvBlocked(footprint)


def conv(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"gemm"`` convolution: im2col + one GEMM per group, under the memory budget.

    ``x`` has ``geometry.output_size`` (the big side) and the result
    ``geometry.input_size``; ``w`` is ``(C_out, C_in/G, *k)``. Where they apply, compiled passes
    (:func:`minor_groups`, :func:`small_groups`) or register tiles (:func:`register_tiles`,
    :func:`wide_tiles`) compute it without columns.
    """
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    kv = math.prod(geometry.kernel_size)
    if one_stamp(geometry, problem):
        return _one_window(x, w, geometry, problem)
    if pointwise_groups(geometry, problem):
        return conv_footprint(problem).run(_conv_pointwise_groups, x, w, geometry, problem)
    if _compiled.available() and minor_groups(groups, cig, cog):  # one compiled pass along the groups
        wg = problem.pack(
            "conv_minor",
            lambda: np.ascontiguousarray(w.reshape(groups, cog, cig, kv).transpose(3, 2, 1, 0)).reshape(
                kv, cig * cog, groups
            ),
        )  # (Kv, Cig*Cog, G)
        return conv_footprint(problem).run(_conv_direct_block, x, wg, geometry, problem)
    if _compiled.available() and direct_convolution(groups, cig, cog):  # no GEMM: one compiled pass
        wt = problem.pack(
            "conv_direct",
            lambda: np.ascontiguousarray(w.reshape(groups, cog, cig, kv).transpose(3, 0, 2, 1)).reshape(
                kv, groups * cig, cog
            ),
        )  # (Kv, C_in, Cog)
        return conv_footprint(problem).run(_conv_direct_block, x, wt, geometry, problem)
    if register_tiles(geometry, problem):
        tiles = _registers.conv_pieces(problem)
        # (only where its smallest piece fits the budget: the GEMMs' pieces can be smaller, and the
        # registry's check, algorithm's minimum, is theirs)
        if tiles.minimum(geometry) <= effective().memory_budget:
            return tiles.run(_conv_registers, x, w, geometry, problem)
    if wide_tiles(x, w, geometry, problem):
        tiles = _registers.conv_pieces(problem)
        if tiles.minimum(geometry) <= effective().memory_budget:
            return tiles.run(_conv_wide, x, w, geometry, problem)
    if double_tiles(geometry, problem):
        tiles = _registers.conv_pieces(problem, double=True)
        if tiles.minimum(geometry) <= effective().memory_budget:
            return tiles.run(_conv_double, x, w, geometry, problem)
    if _columns_first(x, w, geometry, problem):
        outputs = cog >= POINTWISE_ROWS or _one_term(problem)
        if pointwise(geometry, problem) and _one_wide_product(*_terms(geometry, problem)) and outputs:
            return conv_footprint(problem).run(_conv_pointwise, x, w, geometry, problem)
        return conv_footprint(problem).run(_conv_tiled_cf, x, w, geometry, problem)
    wm = problem.pack("im2col", lambda: _packed_weight(w, groups, kv))  # (G, Kv*Cig, Cog)
    return conv_footprint(problem).run(_conv_block, x, wm, geometry, problem)


def _terms(geometry: Geometry, problem: Problem) -> tuple[int, int]:
    """The terms of one output's sum (taps x input channels per group) and their chunks' length
    (:func:`input_chunk`)."""
    taps = math.prod(geometry.kernel_size)
    k = taps * problem.cig
    return k, input_chunk(k, taps, problem.groups)


def register_tiles(geometry: Geometry, problem: Problem) -> bool:
    """Whether :func:`conv` sums its outputs in register tiles (:func:`tconv._algorithms.registers.conv_tiles`):
    where they apply, on sums long enough to be chunked (not one double-precision product:
    :func:`_one_wide_product`), in 1-d and 2-d, with few output channels per group (at most
    :data:`TILE_OUTPUTS`, or :data:`FEW_TILE_OUTPUTS` when a group has more than :data:`TILE_INPUTS` input
    channels) and, on every axis, windows that overlap (a stride below the dilated kernel's span) at a
    stride of at most :data:`TILE_STRIDE`.

    Measured against the im2col GEMMs on the input gradients of transposed convolutions (6 December, Xeon
    with AVX-512, two threads, A/B in one process, min of 2 x 5 calls; the benchmark's and the other
    models' layers and 110 random ones, of which 83 where the tiles apply): 1.05-2.8x on the 27 layers
    the rule takes (8 groups of 8 -> 16 channels, k4 s2: 1.7-1.9x; 21 -> 21 k4 s2: 2.4-2.6x; 4 -> 8 k5
    s1: 2.8x; 1-d 512 -> 21 k4 s3: 1.5x). Left to the GEMMs: windows that do not overlap (k2 s4 0.40x,
    k4 s4 0.82x), strides of 8 and 32 (0.98x, 0.59x: kernels of 256 and 4096 taps whose GEMMs are
    long), 32-48 output channels with 96-256 input channels per group (0.59x, 0.94x), 3-d layers (0.49x
    and 0.82x on two of 4 output channels; 1.1-3.2x on three others) and more output channels (0.27-0.98x
    on 30 of 38 layers of 64-2048; 1.2-1.4x on the others, within this machine's noise of the GEMMs'):
    those, where their weight is smaller than the input, take the wide tiles (:func:`wide_tiles`).
    """
    most = TILE_OUTPUTS if problem.cig <= TILE_INPUTS else FEW_TILE_OUTPUTS
    return _tiles_reach(geometry, problem) and problem.cog <= most and geometry.ndim <= 2


def _tiles_reach(geometry: Geometry, problem: Problem, one_product: bool = False) -> bool:
    """What every kind of the convolution's register tiles asks (:func:`register_tiles`, :func:`wide_tiles`,
    :func:`double_tiles`): they apply (:func:`tconv._algorithms.registers.conv_applies`), the sums are long
    enough to be chunked (not one double-precision product: :func:`_one_wide_product`), or are one such
    product for ``one_product``, and on every axis windows overlap (a stride below the dilated kernel's
    span) at a stride of at most :data:`TILE_STRIDE`."""
    if not _registers.conv_applies(geometry, problem):
        return False
    if _one_wide_product(*_terms(geometry, problem)) != one_product:
        return False
    axes = zip(geometry.kernel_size, geometry.stride, geometry.dilation)
    return all(s < d * (k - 1) + 1 and s <= TILE_STRIDE for k, s, d in axes)


#: :func:`register_tiles`'s bounds: output channels per group, input channels per group above which only
#: :data:`FEW_TILE_OUTPUTS` output channels, and the largest stride.
TILE_OUTPUTS = 48
TILE_INPUTS = 64
FEW_TILE_OUTPUTS = 24
TILE_STRIDE = 4


def _conv_registers(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """One block of :func:`conv` in register tiles, in chunks of half :func:`input_chunk`'s terms.

    Half: a tile sums each chunk in one chain of fused multiply-adds per output, where BLAS's kernels
    for few output channels (dot products) sum a chunk of the same length in several accumulators, more
    accurately. With chunks as long as the GEMMs', a search of 370 random layers of 1-12 output channels
    per group found the tiles 1.00-1.06x as far from float64 as PyTorch on 1-d k3 layers of 256 -> 1 and
    256 -> 8 channels (the GEMMs 0.44-0.60x); with half-length chunks at most 0.73x, at about the same
    speed (within noise on seven of eight layers; a 1-d 512 -> 21 layer 0.8x)."""
    return _registers.conv_tiles(x, w, geometry, problem, max(1, _terms(geometry, problem)[1] // 2))


def wide_tiles(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> bool:
    """Whether :func:`conv` sums its outputs in wide register tiles (:func:`_conv_wide`) where
    :func:`register_tiles` does not: float32, compiled kernels on, 1-3 d, sums long enough to be chunked,
    at least :data:`WIDE_INPUTS` input channels per group (a tap's run of terms), a weight smaller than
    the input, and windows that overlap at a stride of at most :data:`TILE_STRIDE` on every axis.

    These tiles read the output gradient where it lies (a padded channels-last copy) instead of gathering
    im2col's columns and multiplying them by a packed weight: A/B against the GEMMs on the input gradients
    (7 December, Xeon with AVX-512, two threads, alternating in one process, min of 3 x 7 calls):
    grouped-4 1.31-1.32x, dilated 1.32-1.36x, 3d-k3s2 1.27-1.32x, stride1-3x3 1.18-1.27x, dcgan-3
    1.16-1.21x, decoder-k3s2 1.11-1.19x; on 18 random layers of the benchmark's draws (1-3 d, 1-16
    samples, 1-512 channels) 0.96-2.1x (3-d 4 -> 21 k8 s1 2.1x, 1 -> 128 k8 s3 1.5x; 0.96-0.97x within
    this machine's noise). Left to the GEMMs: weights at least as large as the input (dcgan-1 0.51-0.91x,
    dcgan-2 0.97-0.99x: short rows, each tile reads the whole weight panel), 3-4 input channels per group
    (3-d 384 -> 3 k8 0.75x, 128 -> 4 k8 0.84x: a tap's run of terms too short for its loop), and few output
    channels in 1-d and 2-d, which :func:`register_tiles` takes (its 16-lane tiles were 1.4x these on 8
    groups of 8 -> 16 and on 16 -> 32 k4 s2, about even at 21-48)."""
    if not _mixed.applies(problem.dtype) or geometry.ndim > 3 or w.size >= x.size or problem.cig < WIDE_INPUTS:
        return False
    return _tiles_reach(geometry, problem)


#: :func:`wide_tiles`' fewest input channels per group.
WIDE_INPUTS = 8


def _conv_wide(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """One block of :func:`conv` in wide register tiles (blocks of 32 output channels with AVX-512, rows of
    12 outputs: :func:`tconv._algorithms.numba_kernels.conv_register_tiles`), in chunks of
    :func:`input_chunk`'s terms, each summed in one chain of fused multiply-adds as the channels-last
    GEMM path's register tiles (:mod:`tconv._algorithms.mixed`) sum them; half that length for few output
    channels per group (at most :data:`TILE_OUTPUTS`), as :func:`_conv_registers`. A search of 356 random
    layers these tiles take (1-3 d, 8-256 input and 8-128 output channels per group, groups 1-4, dilation
    1-2) against PyTorch: at most 0.85x its distance from the float64 gradient (on the first 87, 0.90x the
    GEMMs' distance on average, at most 1.005x)."""
    step = _terms(geometry, problem)[1]
    few = problem.cog <= TILE_OUTPUTS
    return _registers.conv_tiles(x, w, geometry, problem, max(1, step // 2) if few else step, wide=True)


def double_tiles(geometry: Geometry, problem: Problem) -> bool:
    """Whether :func:`conv` sums its outputs in register tiles of double-precision sums (:func:`_conv_double`):
    float32, compiled kernels on, the register tiles apply (:func:`tconv._algorithms.registers.conv_applies`),
    1-3 d, each output one double-precision product of at most :data:`EXACT_COLUMNS` terms
    (:func:`_one_wide_product`), at least :data:`DOUBLE_INPUTS` input and :data:`DOUBLE_OUTPUTS` output
    channels per group, the output channels filling the tiles' lanes to four fifths, and windows that
    overlap at a stride of at most :data:`TILE_STRIDE`.

    Such sums (the input gradient of a layer of few output channels: an RGB generator layer's 3 channels
    times a k4 kernel, 48 terms) were a GEMM of the columns converted to float64: ``(C_out, 48) x (48, R)``
    at a short double-precision GEMM's rate, plus the conversions. A/B against it (AMD EPYC without
    AVX-512, two threads, alternating in one process, min and median of 10 x 2 calls): dcgan-4's input
    gradient 1.08-1.45x (five runs, medians 1.08-1.33x), a 32 -> 3 k4 s2 layer 1.03-1.40x, 64 -> 3 k3 s1
    1.09-1.57x, a 1-d 128 -> 4 k8 s4 layer 0.93-1.27x (this machine's noise either way); the same values
    (on dcgan-4 the same bits: exact products summed in double precision, rounded once, in another order).
    On a Xeon with AVX-512 (MKL's double-precision GEMMs; 8 December, two threads, min and median of 15
    alternating calls), once the row's last tiles were no longer of one pixel: dcgan-4 1.03-1.09x (0.70-0.81x
    with them), 32 -> 3 k4 s2 1.28x, 64 -> 3 k3 s1 1.32x, 1-d 128 -> 4 k8 s4 1.32x."""
    if geometry.ndim > 3 or problem.cog < DOUBLE_OUTPUTS or problem.cig < DOUBLE_INPUTS:
        return False
    if not _tiles_reach(geometry, problem, one_product=True):
        return False
    from .numba_kernels import DOUBLE_LANES  # (the compiled kernels are on: _tiles_reach asked)

    return _mixed.fills(problem.cog, DOUBLE_LANES)


#: :func:`double_tiles`' fewest output and input channels per group (a tap's loop over one channel cost more
#: than its products: 64 -> 1 channel k4 s2, 0.82-0.94x the GEMM; 32 -> 2 3-d k3 s2 1.02-1.17x).
DOUBLE_OUTPUTS = 8
DOUBLE_INPUTS = 3


def _conv_double(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """One block of :func:`conv` in register tiles of double-precision sums
    (:func:`tconv._algorithms.numba_kernels.conv_double_tiles`): each output its terms' exact products
    summed in double precision, rounded once -- what :func:`_exact_product`'s one double-precision GEMM gives."""
    return _registers.conv_tiles(x, w, geometry, problem, 0, double=True)


def _columns_first(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> bool:
    """Whether :func:`conv` gathers its columns straight from the channels-first input, in the weight's
    own order (:func:`_conv_tiled_cf`), rather than from a channels-last copy with a packed weight
    (:func:`_conv_tiled`).

    That saves a layout pass over the input and the weight's packing (dcgan-1's 8 MiB weight took 7 ms
    of its input gradient's 27 to pack, on every call), but its gather copies runs along the input's
    rows, a few cells each, about a third as fast as the channels-last gather copies runs of channels.
    So where the windows do not overlap (U-Net's k2 s2: the columns are the input, rearranged) or the
    weight is at least as large as the input (the input gradient of dcgan-1, HiFi-GAN's k16 s8, an
    inverse STFT): measured A/B on the benchmark's layers' input gradients, 1.07-1.43x there; on
    overlapping windows of a small weight (k4 s2 with 4 or 8 groups) 0.76-0.84x. And where a float32
    sum is one double-precision product (:func:`_one_wide_product`: up to 64 terms, DCGAN's 64 -> 3
    output layer), which the channels-last path's register tiles do not take either: the columns then
    need no transposes (A/B, input gradients on two threads: dcgan-4 1.17x, a k3 s2 32 -> 3 layer 1.26x,
    k2 s1 layers of 4-8 output channels 1.20-1.25x, seven such layers 0.97-1.26x).
    """
    if problem.layout != "channels_first" or not (_compiled.available() and _blas.available()):
        return False
    if not geometry.overlapping or w.size >= x.size:
        return True
    k, step = _terms(geometry, problem)
    return accumulator(problem.dtype) != problem.dtype and _one_wide_product(k, step)


def _one_window(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """A convolution with one output pixel whose window is its whole input (the input gradient of
    :func:`tconv._algorithms.gemm.one_stamp`'s layers, DCGAN's projection): ``y = x @ w^T`` over
    ``C_in*Kv``, the arrays as they are (no columns, no packed weight), in float32 as double-precision
    sums of :func:`input_chunk` columns (the input gradient's accuracy rule). (The general path
    transposed the 3.3 MB weight of that layer on every call, 1.5 ms of its 2.6.)"""
    n, kvc = x.shape[0], problem.c_in * math.prod(geometry.kernel_size)
    left = np.ascontiguousarray(x.reshape(n, kvc), dtype=problem.dtype)  # (n, C_in*Kv)
    right = np.asarray(w, dtype=problem.dtype).reshape(problem.c_out, kvc).T  # (C_in*Kv, C_out), a view
    y = np.empty((n, problem.c_out), dtype=problem.dtype)
    _exact_product(left, right, y, input_chunk(kvc, math.prod(geometry.kernel_size)), accumulator(problem.dtype))
    if problem.has_bias:
        y += problem.bias
    return y.reshape(n, problem.c_out, *(1,) * geometry.ndim)


def _packed_weight(w: np.ndarray, groups: int, kv: int) -> np.ndarray:
    """The convolution's weight ``(C_out, Cig, *k)`` as ``(G, Kv*Cig, Cog)``, the columns' order: the
    compiled tiled transpose of each group's ``(Cog, Cig*Kv)``, then ``(Cig, Kv)`` swapped in rows of
    ``Cog`` (NumPy's strided copy of the whole transpose ran 5x slower on a (1026, 1024) weight)."""
    c_out, cig = w.shape[0], w.shape[1]
    cog = c_out // groups
    flat = np.ascontiguousarray(w).reshape(groups, cog, cig * kv)  # (G, Cog, Cig*Kv)
    if _compiled.available() and flat.size > 4096:
        t = _compiled.transpose(flat)  # (G, Cig*Kv, Cog)
    else:
        t = flat.transpose(0, 2, 1)
    t = t.reshape(groups, cig, kv, cog)
    packed = t.transpose(0, 2, 1, 3) if cig > 1 else t  # (G, Kv, Cig, Cog)
    return np.ascontiguousarray(packed).reshape(groups, kv * cig, cog)


def small_groups(groups: int, a: int, b: int) -> bool:
    """Grouped with at most :data:`SMALL_GROUPS` channel pairs per group (depthwise and the like): BLAS has
    nothing to multiply, so the convolution and the weight gradient sum their products directly."""
    return groups > 1 and a * b <= SMALL_GROUPS


def direct_gradient(groups: int, a: int, b: int, kv: int, little: bool = False) -> bool:
    """Whether :func:`weight_gradient` of small groups (:func:`small_groups`; ``a`` channels a group on the
    small side, ``b`` on the big side, ``kv`` taps) sums its products in the compiled direct pass rather
    than one BLAS product a group (the compiled passes available).

    The direct pass keeps each (tap, channel pair)'s sum in memory and adds one product a position and
    tap, vectorized along its innermost channels: the big side's ``b`` (or, :func:`minor_groups`, the
    groups). With few groups and several channels of the small side a group, its inner loop is short
    and indexed by division, while each group's product ``(a, rows) @ (rows, Kv*b)`` is a GEMM of some
    width. Measured on 85 random layers (7 December, AMD EPYC without AVX-512, two threads, float32,
    1-3 d, 2-64 groups, the same layer's weight gradient by both, min of 4 A/B rounds): with fewer than
    :data:`MINOR_GROUPS` groups, a group's products took 1.04-34x less time than the direct pass with
    ``a >= 3`` (all 20 layers; 6 groups of 16 -> 1 channels with 8 x 8 taps: 242 ms direct, 7 ms). With
    ``a <= 2`` the direct pass's loop along ``b`` decides: with ``b >= 6`` it was faster (2 -> 8 channels,
    4 x 4 taps: 3.0 ms, 7.5 through products; 1 -> 8 and 1 -> 16, 8-32 taps: 0.3-0.5x), with ``b <= 4``
    and ``a * Kv >= 32`` the products were, 1.2-5.5x on 8 of 10 layers (4 groups of 1 -> 2 channels
    with 7 x 7 taps on 91 x 91: 110 ms, 44 ms; 2 -> 2 with 4 x 4 taps on 95 x 95: 24 ms, 8 ms; the
    misses 1 -> 4 channels with 4 x 4 x 4 taps over 8 x 8 x 8, 11 ms direct, 21 ms, and 1 -> 3 with
    4 x 4 taps, 0.6x), and with fewer taps the direct pass (0.6-0.95x on 7 layers). Depthwise layers and
    :func:`minor_groups` took 0.13-0.9x in it on 29 of 33 layers (the four others, 56-330 million
    products, 1.2-2.5x), and keep it. With ``a < 3``, ``little`` work (a group's float32 gradient would
    be one double-precision product, :func:`wide_sum`) keeps it too: the direct pass sums in double
    precision as well, with no columns to write (2 samples of 2 groups of 1 -> 3 channels, 7 x 7 taps on
    73 x 73: 4.9-7.3 ms direct, 9-12 ms through columns); with ``a >= 3`` the products are still faster
    (8 samples of 4 groups of 4 -> 1 channels, 8 x 8 x 8 taps over 4 x 4 x 4: 7-12 ms direct, 5.1 ms)."""
    if not small_groups(groups, a, b):
        return False
    if groups >= MINOR_GROUPS or a * b == 1:
        return True
    return a < 3 and (little or not (b <= 4 and a * kv >= 32))


def direct_convolution(groups: int, cig: int, cog: int) -> bool:
    """Whether :func:`conv` of small groups (:func:`small_groups`) sums its products in a compiled direct
    pass rather than one BLAS product a group (the compiled passes available): along the groups
    (:func:`minor_groups`), or depthwise. With fewer than :data:`MINOR_GROUPS` groups of several channel
    pairs, the direct pass's loop over a group's few channels is short, and each group's product is
    faster: the input gradients of 30 random such transposed convolutions (7 December, AMD EPYC without
    AVX-512, two threads, float32, 1-3 d, 2-7 groups of 2-16 channel pairs; A/B in one process, min of 4
    rounds) took 1.1-4.6x less time as products (29 of 30; 0.91x on the other: 4 groups of 8 -> 2
    channels, 7 x 7 taps, one sample of 32 x 32). Depthwise layers of few groups were 0.37-4.1x (14
    layers, no pattern found), and those of more groups 0.25-0.42x in the direct pass: they keep it."""
    return small_groups(groups, cig, cog) and (groups >= MINOR_GROUPS or cig * cog == 1)


def minor_groups(groups: int, a: int, b: int) -> bool:
    """Small groups (:func:`small_groups`) of which there are at least :data:`MINOR_GROUPS`, not depthwise:
    the compiled passes run along the groups (channels in (channel, group) order), not along each
    group's few channels."""
    return groups >= MINOR_GROUPS and a * b > 1 and small_groups(groups, a, b)


#: Groups from which :func:`minor_groups` applies (a vector of single-precision values: 8 to 16).
MINOR_GROUPS = 8


def group_minor(x_cl: np.ndarray, groups: int) -> np.ndarray:
    """``(n, P, G*c)`` channels-last in (group, channel) order -> ``(n, P, c*G)`` in (channel, group) order."""
    n, p, c = x_cl.shape
    if c == groups:  # one channel per group: the orders agree
        return x_cl
    return _compiled.transpose(x_cl.reshape(n * p, groups, c // groups)).reshape(n, p, c)


#: Terms per output (taps x input channels per group) up to which the small-group convolution takes each
#: product in double precision (exact) for single-precision data: a float32 product added to a double sum
#: is rounded once more than PyTorch's fused multiply-adds, which on sums of 2-4 terms made the input
#: gradient of few-channel groups 1.03-1.16x as far from float64 as PyTorch's; on depthwise k4 s2 layers
#: (16 terms in 2-d) the float32 products were 0.54x, and the double ones 1.2x as slow (on a 1-d depthwise
#: k4 s2 layer, 4 terms, where they are kept: 1.4x).
EXACT_PRODUCT_TERMS = 8


def pointwise_groups(geometry: Geometry, problem: Problem) -> bool:
    """Whether :func:`conv` of small groups (:func:`small_groups`: depthwise, a channel multiplier's
    ``1 -> m`` groups) is a channels-first pointwise product (:func:`tconv._algorithms.gemm.pointwise`)
    that :func:`_conv_pointwise_groups` sums along the rows where they lie: float32 or float64, the
    compiled kernels on."""
    return (
        small_groups(problem.groups, problem.cig, problem.cog)
        and problem.layout == "channels_first"
        and problem.dtype in (np.float32, np.float64)
        and pointwise(geometry, problem)
        and _compiled.available()
    )


def _conv_pointwise_groups(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """:func:`pointwise_groups`' convolution: the forward pass's compiled rows
    (:func:`tconv._algorithms.gemm._pointwise_rows`: each output row a weighted sum of its group's input
    rows, chunk by chunk in the first-level cache) into sums of the accumulator's precision, each term's
    exact product for single-precision data, rounded once, then the bias; a sum of one real term
    (:func:`_one_term`) straight into the output in the data's precision, the correctly rounded product.
    The direct pass it replaces (:func:`_conv_direct_block`) reads channels-last copies: two layout
    passes over the data for a few multiply-adds a value. Measured A/B (8 December, Xeon with AVX-512,
    two threads, min and median of 15 alternating calls) on seven input gradients of 1 x 1 layers of
    small groups (depthwise, 1 -> 2, 1 -> 8, 2 -> 4, 4 -> 4 channels a group; 1-3 d): 1.7-5.6x (8
    samples of 8 -> 64 channels in 8 groups on 78 x 78: 3.06 -> 0.54 ms, PyTorch's 0.49), no farther
    from float64."""
    from .gemm import _pointwise_rows

    n, groups, cig, cog = x.shape[0], problem.groups, problem.cig, problem.cog
    p = math.prod(geometry.input_size)
    one = _one_term(problem)  # one product a sum: in the data's precision, correctly rounded, bias and all
    wide = problem.dtype if one else accumulator(problem.dtype)
    wg = problem.pack(
        ("conv_pointwise_groups", one),
        lambda: np.ascontiguousarray(w.reshape(groups, cog, cig).transpose(0, 2, 1), dtype=wide),
    )  # (G, Cig, Cog)
    sums = np.empty((n, problem.c_out, p), dtype=wide)
    rows = np.ascontiguousarray(x, dtype=problem.dtype).reshape(n, groups, cig, p)
    _pointwise_rows(rows, wg, problem, sums, None if one else np.zeros(problem.c_out, dtype=wide))
    if one:  # the kernel started each sum at the bias and added the one rounded product
        return sums.reshape(n, problem.c_out, *geometry.input_size)
    y = sums.astype(problem.dtype, copy=False)
    if problem.has_bias:
        y += problem.bias.reshape(-1, 1)
    return y.reshape(n, problem.c_out, *geometry.input_size)


def _conv_direct_block(x: np.ndarray, wt: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The convolution of one block with small groups: each output pixel summed once by a compiled pass
    (in double precision for single-precision data), then the bias and the layout. Along the groups
    (:func:`minor_groups`) ``wt`` is ``(Kv, Cig*Cog, G)`` and the input's channels are reordered to
    (channel, group) first; otherwise it is ``(Kv, C_in, Cog)``."""
    minor = minor_groups(problem.groups, problem.cig, problem.cog)
    x_cl = channels_last(x, problem.layout, "channels_last")  # (n, P_in, C_in)
    if minor:
        x_cl = group_minor(x_cl, problem.groups)  # (n, P_in, Cig*G)
    n = x_cl.shape[0]
    lead, last = im2col_positions(geometry)
    p_out = math.prod(geometry.input_size)
    first = problem.layout == "channels_first"  # written channels-first by the kernel (no transpose pass)
    y = np.empty((n, problem.c_out, p_out) if first else (n, p_out, problem.c_out), dtype=problem.dtype)
    zero = np.zeros(1, dtype=accumulator(problem.dtype))  # the dtype the kernel sums in
    # the dtype it multiplies in: the wide one for sums of few terms (each output sums Kv * Cig products)
    few = math.prod(geometry.kernel_size) * problem.cig <= EXACT_PRODUCT_TERMS
    product_zero = zero if few else np.zeros(1, dtype=problem.dtype)
    args = (x_cl, wt, problem.cig, problem.cog, minor, lead, last, geometry.output_size[-1], zero, product_zero, y)
    calls = [(*args, t0, t1) for t0, t1 in _compiled.split(n * lead.shape[0], 4 * effective().threads)]
    _compiled.parallel_for(_compiled.kernels()["conv_direct_cf" if first else "conv_direct_cl"], calls)
    if first:
        if problem.has_bias:
            y += problem.bias.reshape(-1, 1)
        return y.reshape(n, problem.c_out, *geometry.input_size)
    if problem.has_bias:
        y += problem.bias
    return y.reshape(n, *geometry.input_size, problem.c_out)


def _conv_block(x: np.ndarray, wm: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The convolution of one block with the packed weight ``wm`` ``(G, Kv*Cig, Cog)``, bias added."""
    x_cl = channels_last(x, problem.layout, "channels_last")  # (n, P_in, C_in)
    if _compiled.available() and _blas.available() and not direct_convolution(problem.groups, problem.cig, problem.cog):
        return _conv_tiled(x_cl, wm, geometry, problem)
    cols = im2col(x_cl, geometry)  # (n, P_out, Kv, C_in)
    return _conv_of_columns(cols, wm, geometry, problem)


#: Bytes of columns one thread of :func:`_conv_tiled` gathers and multiplies at a time (they stay in its cache).
TILE_COLUMNS = 2 * 2**20


def row_tiles(
    n: int, j_lead: int, j_last: int, row_bytes: int, threads: int = 1, tile_bytes: int = TILE_COLUMNS
) -> list[tuple[int, ...]]:
    """The tiles of :func:`_conv_tiled` (and, with one last-axis position, of the all-phase GEMM's,
    :func:`tconv._algorithms.phase._block_plan`): ``(n0, n1, l0, l1, m0, m1)``, samples ``n0:n1``, lead positions
    ``l0:l1`` and last-axis positions ``m0:m1`` of the output (all of these but the samples when a tile
    holds several samples; all last-axis positions but when it holds one lead position), about
    ``tile_bytes`` (:data:`TILE_COLUMNS`) of columns each, and equal shares for ``threads`` threads: at least one tile
    each where the output has the positions for it, and with few tiles (under four a thread) a
    multiple of the threads, of equal sizes. Without that, four small samples (FCN's 21 channels at
    16 x 16) were one tile, a 1-d signal (an inverse STFT's 224 frames) one tile, and a U-Net layer of
    28 rows four tiles of 9, 9, 9 and 1 rows: the input gradient on one of two threads, or mostly."""
    leads = min(j_lead, max(1, tile_bytes // max(1, j_last * row_bytes)))  # lead positions per tile
    if leads == j_lead and n >= threads:  # whole samples per tile
        count = shares(-(-n // max(1, tile_bytes // max(1, j_lead * j_last * row_bytes))), threads)
        per = max(1, n // count)  # at least count tiles
        return [(n0, min(n, n0 + per), 0, j_lead, 0, j_last) for n0 in range(0, n, per)]
    pieces = -(-shares(n * -(-j_lead // leads), threads) // n)  # tiles per sample
    if pieces <= j_lead:  # bands of lead positions
        leads = -(-j_lead // pieces)
        return [(i, i + 1, l0, min(j_lead, l0 + leads), 0, j_last) for i in range(n) for l0 in range(0, j_lead, leads)]
    width = -(-j_last // min(j_last, -(-pieces // j_lead)))  # pieces of each lead position's rows
    return [
        (i, i + 1, lead, lead + 1, m0, min(j_last, m0 + width))
        for i in range(n)
        for lead in range(j_lead)
        for m0 in range(0, j_last, width)
    ]


def _threads_for(macs: int) -> int:
    """The threads a convolution of ``macs`` multiply-adds shares its tiles among: one below
    :data:`tconv._algorithms.gemm.SMALL_FLOPS` (FCN's 21-channel input gradient, 14 MFLOP in chunks
    of a few small GEMMs called from Python, ran 0.62 -> 0.86 ms on two threads: their calls wait
    for each other's hold of the interpreter)."""
    return effective().threads if 2 * macs >= SMALL_FLOPS else 1


def _conv_tiled(
    x_cl: np.ndarray, wm: np.ndarray, geometry: Geometry, problem: Problem, exact: bool = True
) -> np.ndarray:
    """The convolution in cache-sized tiles, each computed by one of our threads: the tile's columns
    (compiled im2col), then its single-threaded GEMM straight into the output rows, in the problem's
    layout (a channels-first tile is the GEMM ``W^T @ cols^T`` written with the output's row pitch),
    then its bias, while the columns are still in that thread's cache. BLAS runs single-threaded
    meanwhile, so no BLAS thread pool spins next to our threads (:mod:`tconv._algorithms.blas`).
    ``exact``: single-precision sums in double-precision chunks (:func:`_tile_gemm`), else one GEMM."""
    n, _, c_in = x_cl.shape
    c_out = problem.c_out
    kv = math.prod(geometry.kernel_size)
    p_out = math.prod(geometry.input_size)
    lead, last = im2col_positions(geometry)
    j_lead, j_last = lead.shape[0], last.shape[0]
    groups = problem.groups
    kernel = _compiled.kernels()["im2col_cl" if groups == 1 else "im2col_groups_cl"]
    o_last = geometry.output_size[-1]
    channels_first = problem.layout == "channels_first"
    y = np.empty((n, c_out, p_out) if channels_first else (n, p_out, c_out), dtype=problem.dtype)
    bias = problem.bias.reshape(-1, 1) if channels_first else problem.bias
    wt = wm.transpose(0, 2, 1)  # (G, Cog, Kv*Cig): the channels-first orientation, a view
    macs = n * p_out * kv * c_in * problem.cog
    tiles = row_tiles(n, j_lead, j_last, kv * c_in * problem.dtype.itemsize, _threads_for(macs))
    claim = _compiled.Claim(len(tiles))
    step = _mixed_step(kv * problem.cig, kv, problem) if exact else None
    # the register tiles' panels of each group's weight, (G, ceil(Cog / W), Kv*Cig, W), once per call
    panels = None if step is None else problem.pack("mixed_cl", lambda: np.stack([_mixed.pack(part) for part in wm]))

    def product(cols: np.ndarray, target: np.ndarray, transposed: bool) -> None:
        if panels is None:
            _tile_gemm(cols, wm, wt, target, transposed, exact)
            return
        assert step is not None
        lhs = cols.reshape(groups, -1, wm.shape[1])  # (G, n*R, Kv*Cig)
        out = _group_view(target, groups, 0).transpose(0, 2, 1) if transposed else _group_view(target, groups, 1)
        for g in range(groups):
            _mixed.product(lhs[g], panels[g], step, out[g])

    def work() -> None:
        for index in claim:
            n0, n1, l0, l1, m0, m1 = tiles[index]
            rows = (l1 - l0) * (m1 - m0)
            shape = (groups, n1 - n0, rows, kv, c_in // groups)  # each group's columns contiguous
            cols = scratch("columns", shape if groups > 1 else shape[1:], problem.dtype)
            kernel(x_cl[n0:n1], lead[l0:l1], last[m0:m1], o_last, cols, 0, (n1 - n0) * (l1 - l0))
            cols = cols.reshape(shape)  # (G, n, R, Kv, Cig)
            r0 = l0 * j_last + m0  # the tile's output rows (m0:m1 is all of them unless one lead position)
            r1 = r0 + rows
            if channels_first and rows >= SMALL_SAMPLE_ROWS:  # per sample, written with the output's row pitch
                for i in range(n1 - n0):
                    product(cols[:, i : i + 1], y[n0 + i, :, r0:r1], True)
            elif channels_first:  # small samples: one GEMM over the tile, then each sample's transpose
                part = scratch("output", ((n1 - n0) * rows, c_out), problem.dtype)  # (n*R, C_out)
                product(cols, part, False)
                y[n0:n1, :, r0:r1] = part.reshape(n1 - n0, rows, c_out).transpose(0, 2, 1)
            else:  # rows of one sample, or whole samples: a (rows, C_out) view of the output either way
                target = y[n0, r0:r1] if n1 - n0 == 1 else y[n0:n1].reshape(-1, c_out)
                product(cols, target, False)
            if problem.has_bias:
                if channels_first:
                    y[n0:n1, :, r0:r1] += bias
                else:
                    y[n0:n1, r0:r1] += bias

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, min(effective().threads, len(tiles)), claim)
    return y.reshape(n, *((c_out, *geometry.input_size) if channels_first else (*geometry.input_size, c_out)))


def _conv_tiled_cf(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The convolution of a channels-first block in cache-sized tiles, each computed by one of our
    threads (as :func:`_conv_tiled`): the tile's columns in the transposed orientation,
    ``(C_in, Kv, n, R)`` (compiled ``im2col_cf``, read from the input as it is), then per group the
    GEMM ``W_g @ cols_g`` with the weight as it is, ``(Cog, Cig*Kv)`` -- its columns in the columns'
    own (channel, tap) order -- straight into the output rows (several short samples: one GEMM over
    the tile, then each sample's rows), in single precision as double-precision sums of
    :func:`input_chunk` columns (:func:`_group_products`), then the bias."""
    n, c_in = x.shape[0], x.shape[1]
    c_out, groups, cog = problem.c_out, problem.groups, problem.cog
    kv = math.prod(geometry.kernel_size)
    kvc = kv * problem.cig
    p_out = math.prod(geometry.input_size)
    lead, last = im2col_positions(geometry)
    j_lead, j_last = lead.shape[0], last.shape[0]
    kernel = _compiled.kernels()["im2col_cf"]
    xf = np.ascontiguousarray(x).reshape(n, c_in, -1)  # (N, C_in, P_big)
    wf = np.ascontiguousarray(w).reshape(c_out, kvc)  # (C_out, Cig*Kv): each group's rows, as they are
    o_last, s_last = geometry.output_size[-1], geometry.stride[-1]
    y = np.empty((n, c_out, p_out), dtype=problem.dtype)
    bias = problem.bias.reshape(-1, 1)
    macs = n * p_out * kvc * c_out
    tiles = row_tiles(n, j_lead, j_last, kv * c_in * problem.dtype.itemsize, _threads_for(macs))
    claim = _compiled.Claim(len(tiles))

    def work() -> None:
        for index in claim:
            n0, n1, l0, l1, m0, m1 = tiles[index]
            count, rows = n1 - n0, (l1 - l0) * (m1 - m0)
            cols = scratch("columns", (c_in, kv, count, rows), problem.dtype)
            kernel(xf, lead, last[m0:m1], o_last, s_last, cols, n0, l0, 0, c_in)
            cols2 = cols.reshape(groups, kvc, count * rows)  # each group's (Cig*Kv, n*R)
            r0 = l0 * j_last + m0  # the tile's output rows (m0:m1 is all of them unless one lead position)
            r1 = r0 + rows
            part = y[n0, :, r0:r1] if count == 1 else scratch("output", (c_out, count * rows), problem.dtype)
            # (not the register tiles of tconv._algorithms.mixed: these columns would be packed in panels on
            # every tile, a pass over them; A/B on the input gradients of U-Net's k2 s2 layers 0.79-0.91x,
            # dcgan-2 0.93x; read in place as the tiles' rows, R apart, they ran at half speed)
            _group_products(wf.reshape(groups, cog, kvc), cols2, _group_view(part, groups, 0), taps=kv)
            if count > 1:
                y[n0:n1, :, r0:r1] = part.reshape(c_out, count, rows).transpose(1, 0, 2)
            if problem.has_bias:
                y[n0:n1, :, r0:r1] += bias

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, min(effective().threads, len(tiles)), claim)
    return y.reshape(n, c_out, *geometry.input_size)


def _one_term(problem: Problem) -> bool:
    """Whether a pointwise convolution's outputs are each one real product (one input channel a group, real
    data): one multiplication in the data's precision is then correctly rounded (:func:`_conv_pointwise`).
    (A complex product is two real ones summed: its single-precision multiplication is not.)"""
    return problem.cig == 1 and problem.dtype.kind == "f"


#: Output channels per group from which :func:`conv` takes :func:`_conv_pointwise` (a product of fewer rows
#: per sample, 3 or 4 channels over 128 x 128 or 67 x 67 positions, was 0.6-0.8x the tiles: a double-precision
#: copy of the whole sample's input out of cache, where the tiles' stay in it).
POINTWISE_ROWS = 8


def _conv_pointwise(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """A channels-first pointwise convolution (:func:`tconv._algorithms.gemm.pointwise`: the input gradient
    of a ``1 x ... x 1`` layer at stride 1) whose sums are one double-precision product each (at most
    :data:`EXACT_COLUMNS` terms, :func:`_one_wide_product`) and whose groups have at least
    :data:`POINTWISE_ROWS` output channels: :func:`_conv_tiled_cf`'s products, the same sums
    (:func:`_group_products`), ``W_g @ x[n]_g`` over whole samples (or one band of a sample's positions
    per thread), with no columns (they would be the input's rows, copied) and one double-precision GEMM a
    piece, rather than one per cache-sized tile, whose short GEMMs ran at a fraction of BLAS's rate.

    Measured against the tiles (7 December, AMD EPYC without AVX-512, two threads, A/B alternating in one
    process, min of 9 calls, two runs): 128 -> 32 channels on 76 x 76 1.13-1.15x, 16 samples of 64 -> 3
    on 64 x 64 2.4x, 8 of 21 -> 16 on 56 x 56 1.3-1.8x, 2 of 96 -> 21 on 72 x 72 1.2x, 4 of 4 -> 64 on
    67 x 67 1.04x, 2-group and 4-group layers 1.1-1.3x; the same values. (One double-precision GEMM a
    sample on OpenBLAS's threads was as fast, but leaves those threads spinning: ``blas.matmul``.)
    Fewer than :data:`POINTWISE_ROWS` output channels (4 -> 3 on 128 x 128: 0.74-0.82x that way) and
    longer sums (chunked: 64 -> 128, 256 -> 128, 512 -> 256: 0.98-1.06x) stay in the tiles.

    A sum of one real term (:func:`_one_term`: one input channel a group, the input gradient of a layer of
    one output channel a group, a 1-d 512 -> 1 vocoder or mask output) is one multiplication in the data's
    own precision, the correctly rounded product: the same bits as the double-precision product rounded
    once, without the double-precision copies and a stacked ``matmul`` over an inner dimension of one (8
    samples of 512 -> 1 channels over 1687 positions: 13-22 ms that way, PyTorch's whole training step 13),
    for any number of output channels."""
    n = x.shape[0]
    c_out, groups, cig, cog = problem.c_out, problem.groups, problem.cig, problem.cog
    p = math.prod(geometry.input_size)
    xf = np.ascontiguousarray(x).reshape(n, groups, cig, p)
    wf = np.ascontiguousarray(w).reshape(groups, cog, cig)  # (C_out, Cig): each group's rows, as they are
    y = np.empty((n, groups, cog, p), dtype=problem.dtype)
    # pieces, each computed single-threaded on one of our threads (OpenBLAS's own threads spin on after a
    # multi-threaded call and slow the passes that follow: tconv._algorithms.blas.matmul): a run of
    # samples a thread, or with fewer samples than threads each sample's positions in bands; one piece
    # under SMALL_FLOPS (a second thread's hand-off cost more than its share, as in gemm's small calls)
    one_term = _one_term(problem)
    threads = 1 if 2 * n * p * cig * c_out < SMALL_FLOPS else effective().threads
    if one_term and y.nbytes >= PARALLEL_COLUMNS:  # a pass over memory: split by its bytes
        threads = effective().threads
    if n >= threads:
        items = [(n0, n1, 0, p) for n0, n1 in _compiled.split(n, threads)]
    else:
        items = [(i, i + 1, p0, p1) for i in range(n) for p0, p1 in _compiled.split(p, threads // n)]
    claim = _compiled.Claim(len(items))
    # whole samples (their sums one product each, in double precision for single-precision data, as conv
    # chose this path for and _group_products computes them) go in runs whose wide copy fits
    # partials_bytes(), one stacked product (NumPy's matmul over the run) a group: a product and a copy
    # per sample from Python cost more than their arithmetic on short samples (16 samples of 96 -> 16
    # channels on 6 x 6: 0.35 ms, PyTorch 0.2)
    wide = accumulator(problem.dtype)
    ww = wf.astype(wide)
    run = max(1, partials_bytes() // (groups * max(cig, cog) * p * wide.itemsize))  # its copy and products

    def work() -> None:
        for index in claim:
            n0, n1, p0, p1 = items[index]
            if one_term:  # one term: its product, correctly rounded in the data's precision
                for i in range(n0, n1):
                    np.multiply(wf, xf[i, :, :, p0:p1], out=y[i, :, :, p0:p1])  # (G, Cog, 1) * (G, 1, P)
                continue
            if p1 - p0 == p:
                for r0 in range(n0, n1, run):
                    xs = xf[r0 : min(n1, r0 + run)].astype(wide, copy=False)  # (samples, G, Cig, P)
                    for g in range(groups):
                        y[r0 : r0 + xs.shape[0], g] = np.matmul(ww[g], xs[:, g])
                continue
            for i in range(n0, n1):
                _group_products(wf, xf[i, :, :, p0:p1], y[i, :, :, p0:p1], taps=1)

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, min(threads, len(items)), claim)
    if problem.has_bias:
        y += problem.bias.reshape(groups, cog, 1)
    return y.reshape(n, c_out, *geometry.input_size)


#: Rows of a channels-first sample from which :func:`_conv_tiled` multiplies it alone, in the
#: transposed orientation straight into the output (shorter samples share one GEMM per tile).
SMALL_SAMPLE_ROWS = 256


def _tile_gemm(
    cols: np.ndarray, wm: np.ndarray, wt: np.ndarray, target: np.ndarray, transposed: bool, exact: bool = True
) -> None:
    """One tile's product: ``cols`` ``(G, n, R, Kv, Cig)`` times the packed weight (``wm`` ``(G, Kv*Cig, Cog)``,
    ``wt`` its transposed view) into ``target``, ``(n*R, C_out)``, or ``(C_out, R)`` when ``transposed``
    (one sample), one GEMM per group; in single precision, as a double-precision sum of the products
    of :func:`input_chunk` columns each (:func:`_group_products`) when ``exact``."""
    groups, kvc, cog = wm.shape
    taps = cols.shape[3]
    lhs = cols.reshape(groups, -1, kvc)  # (G, n*R, Kv*Cig), each group's contiguous
    if transposed:  # (G, Cog, K) @ (G, K, R) into target (C_out, R) seen as (G, Cog, R)
        _group_products(wt, lhs.transpose(0, 2, 1), _group_view(target, groups, 0), exact, taps)
    else:  # (G, n*R, K) @ (G, K, Cog) into target (n*R, C_out) seen as (G, n*R, Cog)
        _group_products(lhs, wm, _group_view(target, groups, 1), exact, taps)


def _mixed_step(k: int, taps: int, problem: Problem) -> int | None:
    """The chunk length of the input gradient's sums over ``k`` columns of ``taps`` taps where the register
    tiles of :mod:`tconv._algorithms.mixed` compute them (float32 sums of several chunks: the chunks
    of :func:`_group_products`, :func:`input_chunk` columns each), else None."""
    step = input_chunk(k, taps, problem.groups)
    return step if _mixed.applies(problem.dtype) and not _one_wide_product(k, step) else None


def _group_view(a: np.ndarray, groups: int, axis: int) -> np.ndarray:
    """The 2-d ``a`` (any strides) as ``(G, rows, cols)``: its ``axis`` cut into ``groups`` equal parts, a view."""
    stride = a.strides[axis] * (a.shape[axis] // groups)
    shape = list(a.shape)
    shape[axis] //= groups
    return np.lib.stride_tricks.as_strided(a, (groups, *shape), (stride, *a.strides))


def _group_products(left: np.ndarray, right: np.ndarray, out: np.ndarray, exact: bool = True, taps: int = 1) -> None:
    """``out[g] = left[g] @ right[g]`` for every group (``(G, M, K) @ (G, K, N)``, ``out`` a ``(G, M, N)``
    view), under the input gradient's accuracy rule when ``exact`` (:func:`_exact_product`, chunks of
    :func:`input_chunk` columns for sums over ``taps`` kernel taps). With
    several groups whose sums have several chunks (or one group, on two or more threads, whose chunks'
    products fit :func:`partials_bytes`), all groups' chunks are one stacked GEMM (NumPy's
    ``matmul`` over a (group, chunk) batch: one C loop over BLAS calls) and one compiled pass sums
    them in double precision and rounds each once (``sum_chunks``), in slabs of groups whose products
    fit :func:`partials_bytes`: the same sums as :func:`_exact_product`'s, bit for bit. A product and
    a sum per group and chunk from Python cost more than their arithmetic on a grouped layer's many
    short products (the input gradient of 8 groups of 16 x 8 channels, k4 s2: four 32-column chunks
    of 512 x 16 per group and tile), and two threads making such calls ran slower than one (9.6 ms
    against 6.8): A/B, that layer's input gradient 11.7 -> 5.2 ms, a 4-group 256-channel one's 18 -> 14."""
    groups, rows, k = left.shape
    wide = accumulator(left.dtype)
    step = input_chunk(k, taps, groups)
    width = right.shape[2]
    chunks = k // step
    slab = (chunks + 1) * rows * width * left.dtype.itemsize  # one group's single-precision products
    # One group: stacked too where its products fit partials_bytes() and other threads work beside this
    # one -- each Python call of a chunk's GEMM or sum waits for the interpreter the other thread holds.
    # A/B, input gradients on two threads: dcgan-3 10.0-10.2 -> 8.7-9.1 ms, stride1-3x3 21.2-21.6 ->
    # 18.0-18.4, decoder-k3s2 10.6-11.3 -> 9.3-9.9; on one thread 1.04x as slow (dcgan-3: a tile's 17
    # products, 2.2 MB, leave the core's cache before their sum reads them). Larger products in bands
    # of rows that fit were 1.03-1.12x as slow on nine layers (dcgan-1, unet-1024, hifigan-up1): each
    # band's GEMMs pack the whole right-hand side again.
    one = groups == 1 and (slab > partials_bytes() or effective().threads < 2)
    if not exact or one or wide == left.dtype or _one_wide_product(k, step) or not _compiled.available():
        for g in range(groups):
            if exact:
                _exact_product(left[g], right[g], out[g], step, wide)
            else:
                _blas.mm(left[g], right[g], out=out[g])
        return
    full = chunks * step
    per = max(1, partials_bytes() // slab)  # groups per slab
    acc = scratch("sum", (width,), wide)  # one row of the double-precision sums
    for g0 in range(0, groups, per):
        g1 = min(groups, g0 + per)
        lhs = left[g0:g1, :, :full].reshape(g1 - g0, rows, chunks, step).transpose(0, 2, 1, 3)  # (g, C, M, step)
        rhs = right[g0:g1, :full].reshape(g1 - g0, chunks, step, width)  # (g, C, step, N)
        parts = scratch("partial", (g1 - g0, chunks + (full < k), rows, width), left.dtype)
        _blas.mm(lhs, rhs, out=parts[:, :chunks])
        if full < k:  # the last, shorter chunk
            _blas.mm(left[g0:g1, :, full:], right[g0:g1, full:], out=parts[:, chunks])
        _compiled.kernels()["sum_chunks"](parts, out[g0:g1], acc)


def _exact_product(left: np.ndarray, right: np.ndarray, out: np.ndarray, step: int, wide: np.dtype) -> None:
    """``out = left @ right`` under the input gradient's accuracy rule: in single precision, the ``wide``
    (double-precision) sum of the products of ``step`` columns of ``left`` each, rounded (one GEMM when
    ``wide`` is ``out``'s own dtype). Up to ``2 * step`` columns (and :data:`EXACT_COLUMNS`), one product in
    ``wide``, rounded once
    (no pass of :func:`_chunked_sum` over double-precision sums: a 3-channel k4 layer's input gradient,
    48 columns, took 4.2 ms that way). It costs more than single precision where the product is large
    (the input gradient of Conv-TasNet's decoder, 16 columns, 512 channels: 2.4x its one float32 GEMM,
    which was no farther than PyTorch's there), but one float32 GEMM, or two float32 chunks added in
    float32, were farther than PyTorch's on other layers of this kind."""
    k = left.shape[1]
    if wide == out.dtype or k <= 1:
        _blas.mm(left, right, out=out)
    elif _one_wide_product(k, step):
        # one or two chunks: one product in double precision, rounded once. One float32 GEMM of up to 32
        # columns was farther than PyTorch's on small layers (1.03-1.18x on 1 x 1 kernels of 3-16 output
        # channels, 1.06x on a 3-d k2 s2 layer of 4 -> 4 channels), and so were two halves added in
        # float32, and two chunks of up to 32 added in float32 on 1 x 1 kernels of 34-60 channels
        # (1.16-1.23x, 3-53 M multiply-adds)
        out[...] = _blas.mm(left.astype(wide), right.astype(wide))
    else:
        out[...] = _chunked_sum(left, right, step, wide)


#: Columns up to which the input gradient's sum is one double-precision product, rounded once, whatever
#: its chunks' length (:func:`_exact_product`): a 4-group 1 x 1 layer of 8 -> 64 channels per group was
#: 1.014x PyTorch's distance in 16-column chunks.
EXACT_COLUMNS = 64


def _one_wide_product(k: int, step: int) -> bool:
    """Whether the input gradient's sum over ``k`` columns in chunks of ``step`` is one double-precision
    product (:func:`_exact_product`): one or two chunks, or up to :data:`EXACT_COLUMNS` columns."""
    return k <= max(2 * step, EXACT_COLUMNS)


def input_chunk(k: int, taps: int = 1, groups: int = 1) -> int:
    """Columns (taps x channels) of one single-precision partial product of the input gradient, for a
    sum over ``k`` columns of ``taps`` kernel taps each (:func:`_tile_gemm`): its float32 sums are this
    long, and their sum is double precision.

    Measured (``docs/performance.md#accuracy-of-the-gradients``): PyTorch's float32 input gradients
    (oneDNN) are exactly as far from the float64 result as float32 sums of 64 columns added in float32,
    so 64-column chunks added in double precision are closer, but barely where ``k`` is small (0.95x
    its distance at ``k = 512``, 1.00x at 128) on kernels of 4 taps (U-Net's 2 x 2, a 2 x 2 kernel at
    stride 1, a 1-d k4 s4: 0.95-1.00x); 32-column ones are 0.6-0.8x there. On kernels of 8 taps or
    more, 64-column chunks were at most 0.74x PyTorch's distance on the 15 layers measured with sums
    of 256-512 columns (1-3 d, strides 1-8, 6-64 channels, groups, dilation), but up to 0.92x on
    shorter sums (72 columns). Each chunk costs a small GEMM and a pass over the tile's sums (with
    32-column chunks a 3-d U-Net layer's input gradient took 1.5x as long as with 64), so the short
    chunks are kept where they are needed: sums of up to 512 columns, but for those of 256 or more
    over 8 taps or more in one group (``groups``: a 4-group k4 s2 layer of 12 -> 16 channels per group
    was 0.98x PyTorch's distance with 64-column chunks of its 256-column sums).

    Grouped layers take shorter chunks: 16 columns for sums of up to 512, 32 up to 2048. A search of
    660 random medium layers (above the small-problem rules, 1-3 d) found PyTorch's grouped input
    gradients closer than 32-column chunks' on 1 x 1 kernels of 64-128 output channels per group
    (1.11-1.14x its distance; 0.87x with 16), a 1-d k3 s1 layer of 64 per group (1.06x; 0.82x) and a
    2-d k2 s2 one (1.01x; 0.78x), and than 64-column chunks' on a k3 s3 layer of 576 columns (1.05-1.09x;
    0.80x with 32); 4-group layers of 768 and 1024 columns were 0.72x and 0.55x with 64, but 1-d k8
    layers of 128 output channels per group, 1024 columns, 1.01-1.03x.
    Where a group has few channels (at most :data:`FEW_GROUP_CHANNELS` a tap, over :data:`FEW_GROUP_TAPS`
    taps or more) and its sums are longer than :data:`FEW_GROUP_TERMS`, 32 columns: PyTorch's grouped
    input gradients of such layers were never closer than those chunks' on a search of 250 random layers
    (1-3 d, 2-32 groups of 1-16 channels, kernels 2-5, strides 1-4, dilation 1-2; 7 December, AMD EPYC
    without AVX-512): at most 0.69x its distance on the 98 whose sums were longer than 96 columns (0.52x
    with 16), but 0.93x on a 4-group k3 s3 layer of 8 channels a group, 72 columns (0.71x with 16), so
    shorter sums keep 16. The register tiles (:func:`_conv_registers`), which take half, sum 16 instead
    of 8: the input gradient of groups-8 (8 groups of 8 -> 16 channels, k4 s2, 128 columns) 1.34x as fast.
    """
    if groups > 1 and k <= 2048:
        few = taps >= FEW_GROUP_TAPS and k // taps <= FEW_GROUP_CHANNELS and k > FEW_GROUP_TERMS
        return 16 if k <= 512 and not few else 32
    return 64 if k > 512 or (taps >= 8 and k >= 256 and groups == 1) else 32


#: :func:`input_chunk`'s grouped sums of few channels: at most this many channels a tap, at least this many
#: taps and more than this many terms take 32-column chunks.
FEW_GROUP_CHANNELS = 16
FEW_GROUP_TAPS = 4
FEW_GROUP_TERMS = 96


#: Entries of a chunked product up to which :func:`_chunked_sum` multiplies its chunks as stacked GEMMs.
STACKED_PRODUCT = 2**14


def _chunked_sum(left: np.ndarray, right: np.ndarray, step: int, wide: np.dtype) -> np.ndarray:
    """``left @ right`` in ``wide`` precision from single-precision products of ``step`` columns of ``left``
    (rows of ``right``) each: :data:`PARTS` chunks' products as one stacked GEMM (strided views of the
    operands: one call, not one per chunk -- on MKL, whose call from Python costs ~8 us, dcgan-1's input
    gradient 7.6 -> 6.7 ms, unet-256's 9.7 -> 7.7, A/B in one process, two threads), added into the
    double-precision sums by one compiled pass (NumPy without numba: one addition each); for a
    product of at most :data:`STACKED_PRODUCT` entries, the chunks' products as stacked GEMMs summed
    in ``wide`` by NumPy (the same sums). The result is the calling thread's scratch ``"sum"``: valid
    until its next request (:mod:`tconv._algorithms.workspace`)."""
    rows, k, cols = left.shape[0], left.shape[1], right.shape[1]
    total = scratch("sum", (rows, cols), wide)
    chunks = k // step
    if rows * cols <= STACKED_PRODUCT and chunks >= 16:
        # a small product over many chunks: the chunks' products as stacked GEMMs (one C loop over BLAS
        # calls, not one Python call each: 128 chunks of a 16 x 100 product took 1.3 ms that way)
        # chunks per stacked product: their single-precision products within partials_bytes()
        per = max(1, min(STACKED_PRODUCT * 8, partials_bytes() // left.dtype.itemsize) // (rows * cols))
        total[...] = 0
        for c0 in range(0, chunks, per):
            c1 = min(chunks, c0 + per)
            lhs = left[:, c0 * step : c1 * step].reshape(rows, c1 - c0, step).transpose(1, 0, 2)  # (c, R, step)
            rhs = right[c0 * step : c1 * step].reshape(c1 - c0, step, cols)  # (c, step, C)
            products = _blas.mm(lhs, rhs)  # (c, R, C) single precision
            if _compiled.available():  # added one after the other, as the loop below adds them
                _compiled.kernels()["accumulate"](total, products, c1 - c0, False)
            else:
                total += products.sum(axis=0, dtype=wide)
        if chunks * step < k:
            total += _blas.mm(left[:, chunks * step :], right[chunks * step :])
        return total
    # PARTS products per pass over the sums (one GEMM and one pass each: 4.6 ms on unet-256's (256, 512)
    # x (512, 1024) tile with 32-column chunks, 4.1 this way; one GEMM over all 512 columns takes 2.0,
    # GEMMs over 32 rows run at ~60% of its rate. Bands of columns, to keep each band's products and
    # sums in the core's cache, were slower: 5.1 ms. All of a weight-gradient tile's products as one
    # stacked GEMM and one pass, on two threads: within noise on six layers.) More than one product at
    # a time only within the partial products' share of the memory budget.
    per = max(1, min(PARTS, partials_bytes() // (rows * cols * left.dtype.itemsize)))
    parts = scratch("partial", (per, rows, cols), left.dtype)
    for k0 in range(0, k, per * step):
        count = min(per, -(-(k - k0) // step))
        whole = min(count, (k - k0) // step)  # the full chunks: one stacked product
        if whole > 1:
            lhs = np.lib.stride_tricks.as_strided(
                left[:, k0:], (whole, rows, step), (step * left.strides[1], *left.strides)
            )
            rhs = np.lib.stride_tricks.as_strided(
                right[k0:], (whole, step, cols), (step * right.strides[0], *right.strides)
            )
            _blas.mm(lhs, rhs, out=parts[:whole])
        for j in range(whole if whole > 1 else 0, count):
            a0, a1 = k0 + j * step, min(k, k0 + (j + 1) * step)
            _blas.mm(left[:, a0:a1], right[a0:a1], out=parts[j])
        if _compiled.available():
            _compiled.kernels()["accumulate"](total, parts, count, k0 == 0)
        else:
            if k0 == 0:
                total[...] = 0
            for j in range(count):
                total += parts[j]
    return total


#: Chunk products :func:`_chunked_sum` adds to its double-precision sums in one pass.
PARTS = 4


def _conv_of_columns(cols: np.ndarray, wm: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The convolution from its columns ``(n, P_out, Kv, C_in)``: one GEMM per group, bias, layout."""
    n = cols.shape[0]
    groups, cig, cog, c_out = problem.groups, problem.cig, problem.cog, problem.c_out
    kv = math.prod(geometry.kernel_size)
    p_out = math.prod(geometry.input_size)
    if direct_convolution(groups, cig, cog):  # one contraction over all groups (many small ones, no compiled pass)
        wg = wm.reshape(groups, kv, cig, cog)  # (G, Kv, Cig, Cog)
        y = np.einsum("mtgi,gtio->mgo", cols.reshape(n * p_out, kv, groups, cig), wg)  # (M, G, Cog)
        y = y.reshape(n, p_out, c_out)  # (n, P_out, C_out)
    else:
        lhs = (
            cols.reshape(n * p_out, kv, groups, cig).transpose(2, 0, 1, 3).reshape(groups, n * p_out, kv * cig)
        )  # (G, M, Kv*Cig)
        y = _blas.matmul(lhs, wm)  # (G, M, Cog)
        y = y.transpose(1, 0, 2).reshape(n, p_out, c_out)  # (n, P_out, C_out)
    if problem.has_bias:
        y += problem.bias
    if problem.layout == "channels_last":
        return y.reshape(n, *geometry.input_size, c_out)
    return np.ascontiguousarray(y.transpose(0, 2, 1)).reshape(n, c_out, *geometry.input_size)


#: Bytes of single-precision partial products held at once by :func:`_add_weight_gradient` (at most an
#: eighth of the memory budget).
PARTIALS_BYTES = 4 * 2**20


def partials_bytes() -> int:
    return min(PARTIALS_BYTES, effective().memory_budget // 8)


def is_dilated(geometry: Geometry) -> bool:
    """Whether the geometry has a dilation above 1 on some axis."""
    return any(d > 1 for d in geometry.dilation)


#: Entries (per group) up to which a dilated 2-d layer's weight gradient takes 16-row chunks (32 above).
DILATED_ENTRIES = 2**14


def chunk_rows(
    products: int,
    ndim: int,
    rows: int,
    dilated: bool = False,
    grouped: bool = False,
    pointwise: bool = False,
    pairs: int | None = None,
    taps: int = 1,
) -> int:
    """Rows (samples x positions) of one partial weight-gradient sum, for a gradient of ``products``
    entries per group, ``ndim`` spatial axes and ``rows`` rows in all: the partial sums are added in
    double precision, so a float32 weight gradient is a sum of short float32 sums, whose error grows
    with this length and not with the batch and image size.

    The lengths are measured, not derived: on every layer measured, tconv's float32 gradient stays
    closer to the float64 one than PyTorch's float32 gradient, with a margin (the table in
    ``docs/performance.md#accuracy-of-the-gradients``; ``tests/test_grad.py`` checks the rule on its
    layers). PyTorch's own error depends on its kernel: its 2-d gradients are as close as sums of about
    1024 rows (FCN's x8 up-scoring of 21 channels: one float32 GEMM over its 8192 rows is 1.07x as far,
    sums of 256 rows 0.81x), its 1-d and 3-d ones closer (a 3-d layer of 16 -> 8 channels needs sums
    of 32 rows, a 1-d vocoder layer sums of 64). Whatever the rule, a gradient has at least four
    chunks, so that it is never one float32 sum over all its rows (the order PyTorch may use too: on
    a 16-row DCGAN projection both were equally far). ``dilated`` layers take chunks of 16 rows in 3-d
    and, in 2-d, up to :data:`DILATED_ENTRIES` entries: PyTorch's gradients of those (its own
    dilated path, not oneDNN's) were as close as sums of about 40 rows (3-d k5 d2 and k4 d2 layers of
    15-59 channels, 10^5-3.5 10^5 entries: 256-row chunks 0.97-2.1x as far as PyTorch's, 32-row ones
    0.37-0.80x, 16-row ones 0.28-0.59x; 2-d dilated k5 layers of 12-15 channels, 3500-4500 entries:
    128-row chunks 1.4-1.7x), but not on larger 2-d ones (the benchmark's k3 d2 layer of 64 channels,
    36864 entries: 0.61x with 128-row chunks, 0.23x with 16-row ones, which took 1.5x as long). A later
    random search of medium layers found larger dilated ones farther with the usual lengths (2-d k4 s3 d2,
    64 -> 128 channels, 131072 entries: 1.10x with 256 rows, 0.48x with 32; k5 s4 d2, 128 -> 32: 1.05x,
    0.41x; 1-d k32 s14 d2, 8 -> 128, 32768 entries: 1.05x with 32 rows, 0.80x with 16): dilated layers
    now take 16 rows in 1-d and 3-d and up to :data:`DILATED_ENTRIES` entries in 2-d, 32 above. A
    :func:`small_gradient` (``grouped``: one group's) takes chunks of 16 rows too (0.35x the error of
    128, 0.7x that of 32), where it is not one double-precision product (:func:`wide_sum`). In 3-d,
    gradients of up to 2**17 entries take the shorter chunks of small ones (32 rows: a 64 -> 56 k3 s2
    layer, 96768 entries, was 1.09x PyTorch's distance with 256). In 2-d, gradients of at most
    :data:`FEW_PAIRS` channel ``pairs`` (input times output channels per group) take 128 rows too: on an
    AMD EPYC without AVX-512 (Zen 3), FCN's x8 up-scoring (21 x 21 channels, sums of 2304 rows) was 1.004x
    PyTorch's distance with 256-row sums (0.81x on the Zen 4 with AVX-512 measured before), 0.73x with
    128 -- its product over so few channels runs at a fraction of the GEMM rate, so the shorter sums
    cost it nothing measurable (the benchmark's fcn8s-up8 weight gradient: 47.7 and 47.4 ms), where
    128-row sums on every 2-d layer cost 6-16 % of the weight gradient's time (dcgan-2, decoder-k3s2,
    grouped-4). 1-d kernels of :data:`LONG_TAPS` taps or more take 16 rows: a search of 660 random medium
    layers found PyTorch's closer than 32-row sums on a k64 s12 layer of 8 -> 32 channels over 321
    rows (1.02-1.05x its distance; 0.81x with 16) and than 64-row ones on a 4-group k256 s16 layer
    (1.21x; 0.70x with 16). Larger ``pointwise`` gradients (1 x ... x 1 kernels, above the small ones) take
    32 rows: PyTorch's are as close as sums of 128 rows (0.91-1.00x that distance on eight 2-d layers of
    64 -> 64 to 1024 -> 512 channels over 64-1024 rows, 7 December), where the 2-d rule's 256 rows were
    1.17x its distance on 512 -> 256 channels over 784 rows and 0.99x on 256 -> 256 over 512; 32-row
    sums 0.50-0.78x (64-row ones up to 1.00x: one chunk of 64 rows, PyTorch's own sum there). A search
    of 500 random medium layers (1-3 d, 1-512 channels, groups 1-4; 7 December, Zen 3) found seven weight
    gradients farther than PyTorch's: six 3-d ones of 1.4 10^5-3.6 10^6 entries in the 3-d rule's 256-row
    sums (1.03-1.83x; with 64 rows 0.53-0.71x above 2**18 entries, 0.98x and 0.53x below it; with 32 rows
    0.39-0.73x), so 3-d gradients take 32 rows below 2**18 entries and 64 from there (the benchmark's vnet-up,
    2**18 entries: 0.54x PyTorch's distance with 256 rows, 0.29x with 64; with 32, 0.21x but its weight
    gradient 1.3x as slow, 5.4-6.7 -> 7.3-8.5 ms), and at most a sixteenth of their rows (a power of two, at
    least 16: a second search found 310 -> 327 channels, k3 s3 on 5 x 5 x 5, 2.7 10^6 entries over 625 rows,
    1.13x in 64-row sums, 0.86x in 32-row ones); and the 2-d groups of a
    4-group k4 s4 layer, 38 192 entries each over 567 rows, in 128-row sums (1.15x; 0.85x with 64, 0.60x
    with 32), so the groups of larger 2-d grouped layers take 64; over few rows a sixteenth of them (at least
    16), as in 3-d: ``accuracy_search.py`` (seed 6903) found 2 groups of 107 -> 43 channels, k8 s4 over 150
    rows, 1.08x PyTorch's distance in 64-row sums, and a search of such layers (2-4 groups of 32-160 ->
    16-96 channels over 144-320 rows) 0.94-1.14x on all four of more than 2**15 entries a group (32 rows:
    0.70-0.99x; 16: 0.52-0.75x).
    """
    small = products <= (2**17 if ndim == 3 else 2**16)
    long_1d = ndim == 1 and taps >= LONG_TAPS
    short = long_1d or (dilated and (ndim != 2 or products <= DILATED_ENTRIES))
    if short or small_gradient(products, ndim, rows, grouped, pointwise):
        length = 16
    elif dilated or pointwise:  # a larger 2-d dilated layer; a larger 1 x ... x 1 kernel
        length = 32
    elif ndim == 2 and grouped:  # a larger group of a 2-d layer; over few rows, a sixteenth of them
        length = min(64, max(16, _sixteenth(rows)))
    elif ndim == 2:
        length = 128 if small or (pairs is not None and pairs <= FEW_PAIRS) else 256
    elif ndim == 1:
        length = 32 if small else 64
    else:
        length = min(32 if products < 2**18 else 64, max(16, _sixteenth(rows)))
    return max(1, min(length, -(-rows // 4)))


def _sixteenth(rows: int) -> int:
    """A sixteenth of ``rows``, a power of two down (:func:`chunk_rows` over few rows)."""
    return 1 << max(0, (rows // 16).bit_length() - 1)


#: Taps from which a 1-d weight gradient takes 16-row sums (:func:`chunk_rows`), and rows up to which it is
#: one double-precision product instead (:func:`_row_sums`): PyTorch's 1-d gradients of few input channels
#: and long kernels are nearly correctly rounded (8 -> 32 channels, k64 s8 over 146 rows: 16-row sums
#: were 1.035x its distance; k1024 s64, 8 -> 2 over 556 rows: 64-row sums 1.18x; one double-precision
#: product 0.47-0.54x on these), and over a few hundred rows that product costs less than 16-row sums
#: (istft-ola's 1026 x 1024 gradient over 224 rows: 6.7-7.2 ms, 8.0-8.3 in 16-row sums, 4.2-4.5 in the 56-row
#: sums of the rule before, which were 0.56x PyTorch's distance there but up to 1.31x on the others).
LONG_TAPS = 64
LONG_WIDE_ROWS = 1024

#: Channel pairs per group (input times output channels) up to which a 2-d weight gradient takes 128-row
#: sums whatever its size (:func:`chunk_rows`).
FEW_PAIRS = 1024
#: Entries (per group) up to which a weight gradient counts as small (:func:`small_gradient`; in 3-d and
#: per group of a grouped layer :data:`SMALL_GRADIENT_ENTRIES`), multiply-adds up to which it does (1-d
#: and 2-d; 3-d), summed in 16-row chunks (:func:`chunk_rows`), and up to which a small gradient is one
#: double-precision product (:func:`wide_sum`).
WIDE_ENTRIES = 4096
SMALL_GRADIENT_ENTRIES = 2**15
SMALL_GRADIENT_MACS = 6_000_000
SMALL_GRADIENT_MACS_3D = 2**27
WIDE_MACS = 2**21


def small_gradient(entries: int, ndim: int, rows: int, grouped: bool = False, pointwise: bool = False) -> bool:
    """Whether a single-precision weight gradient of ``entries`` entries (per group) over ``rows`` rows
    (samples x positions), ``ndim`` spatial axes, one group of a ``grouped`` layer or not, is small
    enough that PyTorch's float32 gradient is nearly correctly rounded, closer than chunks of float32
    sums of :func:`chunk_rows`' usual lengths. Measured against PyTorch (a random search of about
    4 000 layers): tconv's were up to 1.8x as far from float64 as PyTorch's on 1-d and 2-d layers of 3-32
    channels (grouped, dilated, 5 x 5 kernels; 170-2000 entries, 0.05-1.5 M multiply-adds; a 2-group
    5 x 5 layer, 1350 entries per group, 4.1 M: 1.11x; a 4-group one, 2400 entries: 1.26x),
    0.96-1.02x on 3-d layers of 4 -> 4 to 8 -> 8 channels at 8^3-12^3 (430-1730 entries, 1-6 M), and
    0.98-1.09x on 3-d layers of 5-13 channels with 4 x 4 x 4 and 5 x 5 x 5 kernels (5000-21000
    entries, 14-24 M); not on larger ones (a 3-d U-Net layer, 2**16 entries: 0.10x; nnU-Net's last
    layer, 16384 entries over 65536 rows: 0.05x), but for 1 x 1 kernels (``pointwise``, whose gradient
    PyTorch computes as one GEMM: 1.09-1.19x at 3700-3850 entries and 14-21 M multiply-adds) and for
    the groups of grouped layers, where the size did not tell: an 8-group 2-d k4 s2 layer, 2048 entries
    per group over 4096 rows (8.4 M), was 0.20x PyTorch's distance with 128-row chunks, 4-group k4 s1
    and k5 s2 ones of 2464 and 4550 entries per group (10 and 17 M) 1.27x and 1.18x.
    Small: up to :data:`WIDE_ENTRIES` entries and :data:`SMALL_GRADIENT_MACS` multiply-adds (the 1-d
    and 2-d failures reached 4.1 M); in 3-d up to :data:`SMALL_GRADIENT_ENTRIES` entries and
    :data:`SMALL_GRADIENT_MACS_3D` (where they reached 24 M, and 32-row chunks were 0.77-0.87x
    PyTorch's distance at 86-128 M), for 1 x 1 kernels up to that too; per group of a grouped layer
    up to :data:`SMALL_GRADIENT_ENTRIES` entries, whatever the multiply-adds (16-row chunks cost the
    8-group layer's weight gradient 1.3-1.6x its time). A later random search of medium layers found
    more: 1 x 1 kernels of 8192 and 16384 entries over 392 and 600 rows (1.26x and 1.06x PyTorch's
    distance in 98- and 128-row sums), so ``pointwise`` gradients count as small up to
    :data:`SMALL_GRADIENT_ENTRIES` entries too; and a 3-d layer's groups of 64000 entries (4 -> 128
    channels, k5 s3: 1.19x in 32-row sums), so in 3-d a group counts as small up to 2**17."""
    if grouped:
        return entries <= (2**17 if ndim == 3 else SMALL_GRADIENT_ENTRIES)
    limit = SMALL_GRADIENT_ENTRIES if ndim == 3 or pointwise else WIDE_ENTRIES
    macs = SMALL_GRADIENT_MACS_3D if ndim == 3 or pointwise else SMALL_GRADIENT_MACS
    return entries <= limit and entries * rows <= macs


def wide_sum(entries: int, ndim: int, rows: int, grouped: bool = False, pointwise: bool = False, taps: int = 1) -> bool:
    """Whether a :func:`small_gradient` is one double-precision product, rounded once (no float32 sum
    can be closer to float64), instead of 16-row chunks: up to :data:`WIDE_MACS` multiply-adds. Its
    double-precision GEMM over a few rows of the gradient is slower than the chunks above that (an
    8-group layer's 2048 entries per group over 4096 rows, 8 M: 1.6x the float32 chunks' time). A 1-d
    gradient of :data:`LONG_TAPS` ``taps`` or more is one such product up to :data:`LONG_WIDE_ROWS` rows,
    whatever its size."""
    if ndim == 1 and taps >= LONG_TAPS and rows <= LONG_WIDE_ROWS:
        return True
    return small_gradient(entries, ndim, rows, grouped, pointwise) and entries * rows <= WIDE_MACS


def _row_sums(
    entries: int, kv: int, geometry: Geometry, total_rows: int, rows: int, exact: bool, grouped: bool = False
) -> tuple[int, bool]:
    """How a weight gradient of ``entries`` entries (per group; ``kv`` taps, the ``geometry``) over ``rows``
    rows of a block of ``total_rows`` sums them: the rows of one partial sum (:func:`chunk_rows`, at most
    ``rows``; all of them when ``exact``, i.e. summed in the inputs' own precision) and whether it is one
    double-precision product instead (:func:`wide_sum`)."""
    if exact:
        return rows, False
    pointwise = kv == 1
    step = chunk_rows(entries, geometry.ndim, total_rows, is_dilated(geometry), grouped, pointwise, entries // kv, kv)
    return min(rows, step), wide_sum(entries, geometry.ndim, total_rows, grouped, pointwise, kv)


def accumulator(dtype: np.dtype) -> np.dtype:
    """The dtype a weight gradient in ``dtype`` is summed in: float64 (complex128) for single precision."""
    return {np.dtype(np.float32): np.dtype(np.float64), np.dtype(np.complex64): np.dtype(np.complex128)}.get(
        np.dtype(dtype), np.dtype(dtype)
    )


def weight_gradient(small: np.ndarray, big: np.ndarray, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
    """``dw[g, a, b, t] = sum_n sum_j small[n, g*A + a, j] * big[n, g*B + b, s*j + d*t - crop_begin]``.

    The weight gradient of both operators (:func:`tconv.kernels.weight_correlation`
    is its reference form): for ``conv_transpose`` ``small`` is the input and ``big``
    the output gradient; for ``conv`` ``small`` is the output gradient and ``big`` the
    input. Computed as im2col of ``big`` over the geometry (one compiled pass,
    ``cols[(n, j), t, b] = big[n, position(j, t), b]``) and one GEMM per group and
    :func:`chunk_rows` rows, ``dw[g] += small_g^T @ cols_g``, summed in double precision
    for single-precision inputs, in batch blocks under the memory budget (samples too
    large alone are split into tiles of the small side, whose partial sums add).

    ``small`` and ``big`` are batched in ``layout``; returns ``(G, A, B, *kernel_size)``
    in their dtype.
    """
    n = small.shape[0]
    a_total = small.shape[1] if layout == "channels_first" else small.shape[-1]
    b_total = big.shape[1] if layout == "channels_first" else big.shape[-1]
    kv = math.prod(geometry.kernel_size)
    dtype = np.result_type(small, big)
    if groups == 1 and layout == "channels_first" and single_stamp(geometry) and dtype.kind in "fc":
        # one stamp per sample (DCGAN's projection): dw = small^T @ big over the samples, the arrays as
        # they are, whose (B, *k) flattening is the weight's own (no columns, no layout passes; the
        # general path took 7.8 ms on that layer, PyTorch 4.7); the same chunks as below
        lhs, rhs = small.reshape(n, a_total), big.reshape(n, b_total * kv)
        wide = accumulator(dtype)
        step, whole = _row_sums(a_total * kv * b_total, kv, geometry, n, n, wide == dtype)
        dw = _chunked_product(lhs.astype(dtype, copy=False), rhs.astype(dtype, copy=False), step, wide, whole=whole)
        assert dw is not None
        return dw.astype(dtype, copy=False).reshape(1, a_total, b_total, *geometry.kernel_size)
    rows = n * math.prod(geometry.input_size)  # the chunk length follows the whole sum, not a piece's share
    if run_tiles_gradient(a_total, b_total, groups, geometry, dtype):
        dw = _run_tiles_gradient(small, big, geometry, layout, rows)
        if dw is not None:
            return dw
    if groups == 1 and layout == "channels_first" and pointwise_map(geometry) and _mixed.applies(dtype):
        dw = _pointwise_gradient(small, big, geometry, rows)
        if dw is not None:
            return dw
    if groups > 1 and layout == "channels_first" and pointwise_map(geometry) and dtype.kind in "fc":
        dw = _pointwise_group_gradients(small, big, geometry, groups, rows)
        if dw is not None:
            return dw
        if small_groups(groups, a_total // groups, b_total // groups) and _pointwise_direct_gradient(dtype):
            return _pointwise_small_gradients(small, big, geometry, groups, dtype)
    if _group_columns_first(small, big, geometry, groups, layout, dtype):
        dw = _group_gradients_cf(small, big, geometry, groups, rows)
        if dw is not None:
            return dw
    # blocks of samples whose columns the calling thread's scratch keeps between calls (the compiled
    # pass of small groups makes no columns: its blocks stay whole)
    a, b = a_total // groups, b_total // groups
    little = _row_sums(a * kv * b, kv, geometry, rows, rows, False, grouped=True)[1]  # (float32: one wide product)
    direct = _compiled.available() and direct_gradient(groups, a, b, kv, little)
    per_block = n if direct else _block_samples(geometry, b_total, groups, dtype)
    pieces = weight_gradient_pieces(a_total, b_total, groups, dtype).pieces(n, geometry)
    blocks = list(_split_blocks(pieces, per_block))
    if groups == 1 and len(blocks) == 1 and blocks[0][1] is None:  # all samples in one block
        small_cl = channels_last(small, layout, "channels_last_2")
        cols = im2col(channels_last(big, layout, "channels_last"), geometry, slot="columns")
        return _one_block_gradient(small_cl, cols, geometry, dtype, rows)
    dw = np.zeros((groups, a_total // groups, kv * (b_total // groups)), dtype=accumulator(dtype))  # (G, A, Kv*B)
    for samples, tile in blocks:
        if tile is None:
            small_part, big_part, part = small[samples], big[samples], geometry
        else:
            assert tile.geometry is not None  # a convolution's tile always reads at least one cell
            small_part = small[layout_index(layout, samples, tile.output)]
            big_part = big[layout_index(layout, samples, tile.input)]
            part = tile.geometry
        small_cl = channels_last(small_part, layout, "channels_last_2")
        big_cl = channels_last(big_part, layout, "channels_last")
        if direct:
            _add_weight_gradient_direct(small_cl, big_cl, part, groups, dw)
            continue
        if groups == 1 or (small_groups(groups, a_total // groups, b_total // groups) and not _compiled.available()):
            cols = im2col(big_cl, part, slot="columns")  # (n, P_small, Kv, B_total)
            _add_weight_gradient(small_cl, cols, groups, dw, geometry, rows)
            continue
        grouped = im2col(big_cl, part, groups, slot="columns")  # (G, n, P_small, Kv, B): each group's contiguous
        _add_group_gradients(small_cl, grouped, dw, geometry, rows)
    return _weight_layout(dw, geometry, dtype)


def _pointwise_gradient(small: np.ndarray, big: np.ndarray, geometry: Geometry, total_rows: int) -> np.ndarray | None:
    """The float32 weight gradient of a channels-first pointwise layer (:func:`tconv._algorithms.gemm.pointwise_map`),
    of one group, ``dw = sum_n small[n] @ big[n]^T``, in the mixed-precision register tiles
    (:func:`tconv._algorithms.mixed.product`): each sample's rows read where they lie, the other side's
    packed in panels, the chunks of :func:`chunk_rows` positions each summed in single precision and
    added in double precision, rounded once at the end. The gradient is ``(A, B)`` with ``B``
    the panels' columns where ``B`` fills them (:func:`tconv._algorithms.mixed.fills`), else ``(B, A)``,
    transposed; neither filling them returns None (the general path). A gradient that is one
    double-precision product (:func:`wide_sum`) is :func:`_pointwise_wide_gradient`.

    The general path gathers columns (a copy of ``big``, channels-last) and multiplies them chunk by
    chunk, a BLAS call and a pass over the sums each: 16-row chunks of a 128 x 32 gradient over 5776
    rows are 361 GEMMs of 16 terms. Measured against it (7 December, AMD EPYC without AVX-512, two
    threads, A/B alternating in one process, min of 9 calls): 128 -> 32 channels on 76 x 76 1.6-1.8x,
    4 samples of 4 -> 64 on 67 x 67 1.4x, 8 of 21 -> 16 on 56 x 56 2.0-2.5x, 2 of 96 -> 21 on 72 x 72
    1.1-1.8x, 2 of 64 -> 128 on 64 x 64 1.36x, 4 of 256 -> 128 on 32 x 32 1.5-1.9x, 512 -> 256 on
    28 x 28 1.3-1.6x, 16 of 64 -> 3 on 64 x 64 1.1x, 4 of 3 -> 64 on 128 x 128 1.0x.

    The work is cut in up to :data:`POINTWISE_PIECES` pieces (runs of samples; for one sample, blocks of the
    product's rows), whichever threads take them, each run summed on its own and the runs' sums added in
    their order: the same bits with any number of threads. A chunk starts at each sample's first position
    (the general path's chunks run on across samples): no chunk longer than the rule's."""
    n, a, b = small.shape[0], small.shape[1], big.shape[1]
    dtype = np.dtype(np.float32)
    wide = accumulator(dtype)
    step, whole = _row_sums(a * b, 1, geometry, total_rows, total_rows, False)
    if whole:
        return _pointwise_wide_gradient(small, big, geometry, wide)
    if b <= NARROW_OUTPUTS and not _mixed.fills(b):
        return _pointwise_narrow_gradient(small, big, geometry, step)
    if _mixed.fills(b):  # (A, B) = small @ big^T: big packed
        rows_side, packed_side, m, width = small, big, a, b
    elif _mixed.fills(a):  # (B, A) = big @ small^T: small packed
        rows_side, packed_side, m, width = big, small, b, a
    else:
        return None
    p = math.prod(geometry.input_size)
    threads = effective().threads
    panels = -(-width // _mixed.columns()) * _mixed.columns() * p * dtype.itemsize  # one sample's, packed
    # the pieces, whatever the threads: up to POINTWISE_PIECES runs of samples, or one sample's product in
    # as many blocks of rows (a row's sum does not depend on its block), its panels packed once beforehand
    runs = _compiled.split(n, POINTWISE_PIECES)
    blocks = _compiled.split(m, POINTWISE_PIECES if n == 1 else 1)
    if threads * panels + (threads + 2 * POINTWISE_PIECES) * m * width * wide.itemsize > effective().memory_budget:
        return None  # the general path's blocks and tiles fit the budget
    lhs = np.ascontiguousarray(rows_side, dtype=dtype).reshape(n, m, p)
    rhs = np.ascontiguousarray(packed_side, dtype=dtype).reshape(n, width, p)
    packed = _mixed.pack(rhs[0].T) if len(blocks) > 1 else None  # one sample's, shared by its blocks
    items = [(r, blk) for r in runs for blk in blocks]
    sums = [np.zeros((blk[1] - blk[0], width), dtype=wide) for _, blk in items]
    claim = _compiled.Claim(len(items))

    def work() -> None:
        for index in claim:
            (n0, n1), (m0, m1) = items[index]
            total = sums[index]
            part = scratch("sum", (m1 - m0, width), wide)
            for i in range(n0, n1):
                panel = _mixed.pack(rhs[i].T) if packed is None else packed
                _mixed.product(lhs[i, m0:m1], panel, step, part)
                total += part

    _compiled.run_workers(work, min(threads, len(items)), claim)
    dw = np.empty((m, width), dtype=wide)
    for ((n0, _), (m0, m1)), total in zip(items, sums):
        if n0 == 0:
            dw[m0:m1] = total
        else:  # a later run of samples: added in the runs' order
            dw[m0:m1] += total
    return np.ascontiguousarray(dw.T if rows_side is big else dw, dtype=dtype).reshape(1, a, b, *geometry.kernel_size)


def _pointwise_wide_gradient(small: np.ndarray, big: np.ndarray, geometry: Geometry, wide: np.dtype) -> np.ndarray:
    """:func:`_pointwise_gradient` where the gradient is one product in the accumulator's precision ``wide``
    (:func:`wide_sum`: few entries, 3 x 8 over 12 167 positions): ``sum_n small[n] @ big[n]^T`` of the
    channels-first rows as they lie, converted to ``wide`` in blocks of positions (whole samples where they
    fit) within :func:`partials_bytes`, each block's product and the blocks' sum in ``wide``, rounded once.
    The general path gathered im2col's columns first, a copy of ``big`` channels-last for a ``1 x 1``
    kernel: a held-out 3-d 3 -> 8 layer on 23^3 took 0.78 ms for its weight gradient (PyTorch 0.09)."""
    n, a, b = small.shape[0], small.shape[1], big.shape[1]
    p = math.prod(geometry.input_size)
    lhs, rhs = small.reshape(n, a, p), big.reshape(n, b, p)
    block = max(1, partials_bytes() // ((a + b) * wide.itemsize))  # positions a block
    total = np.zeros((a, b), dtype=wide)
    if p <= block:  # blocks of whole samples: one stacked product each
        per = max(1, block // max(1, p))
        for n0 in range(0, n, per):
            part = lhs[n0 : n0 + per].astype(wide) @ rhs[n0 : n0 + per].astype(wide).transpose(0, 2, 1)
            total += part.sum(axis=0)
    else:
        for i in range(n):
            for p0 in range(0, p, block):
                total += lhs[i, :, p0 : p0 + block].astype(wide) @ rhs[i, :, p0 : p0 + block].astype(wide).T
    return total.astype(np.float32).reshape(1, a, b, *geometry.kernel_size)


def _pointwise_narrow_gradient(small: np.ndarray, big: np.ndarray, geometry: Geometry, step: int) -> np.ndarray:
    """The float32 weight gradient ``(A, B)`` of a channels-first pointwise layer of one group and few output
    channels (at most :data:`NARROW_OUTPUTS`): per sample, its positions in chunks of ``step``, each chunk's
    ``small (A, step) @ big^T (step, B)`` one BLAS product of the chunks stacked (a matrix-vector product
    for one output channel), read where they lie (strided views, no copies, no panels), the chunks' float32
    sums added in double precision, rounded once. The chunks restart at each sample (as
    :func:`_pointwise_gradient`'s); the pieces are :data:`POINTWISE_PIECES` runs of samples, or of one
    sample's chunks, whatever the threads, their sums added in order: the same bits on any threads.

    The register tiles pack the input's whole rows in panels to read them as the wide side (512 input
    channels, one output channel: a packing pass over the input per sample for products one row wide),
    and the general path makes channels-last columns: 8 samples of 512 -> 1 channels over 1687 positions
    7.5 ms in the tiles, 11.6 on the general path, PyTorch's 3.8."""
    n, a, b = small.shape[0], small.shape[1], big.shape[1]
    p = math.prod(geometry.input_size)
    xs = np.ascontiguousarray(small, dtype=np.float32).reshape(n, a, p)
    ds = np.ascontiguousarray(big, dtype=np.float32).reshape(n, b, p)
    chunks = p // step
    full = chunks * step
    # pieces: (sample range, chunk range of each sample), at most POINTWISE_PIECES of them
    if n >= POINTWISE_PIECES:
        pieces = [(n0, n1, 0, chunks) for n0, n1 in _compiled.split(n, POINTWISE_PIECES)]
    else:
        per = max(1, POINTWISE_PIECES // n)
        pieces = [(i, i + 1, c0, c1) for i in range(n) for c0, c1 in _compiled.split(max(1, chunks), per)]
    sums = [np.zeros((a, b), dtype=np.float64) for _ in pieces]
    claim = _compiled.Claim(len(pieces))

    batch = max(1, partials_bytes() // (a * b * 4))  # chunks a stacked product, its float32 sums within bounds
    add = _compiled.kernels()["accumulate"]  # each chunk's sums added one after the other: any batch, the same bits

    def work() -> None:
        for index in claim:
            n0, n1, c0, c1 = pieces[index]
            total = sums[index]
            for i in range(n0, n1):
                for d0 in range(c0, c1 if chunks else c0, batch):
                    d1 = min(c1, d0 + batch)
                    left = xs[i, :, d0 * step : d1 * step].reshape(a, d1 - d0, step).transpose(1, 0, 2)
                    right = ds[i, :, d0 * step : d1 * step].reshape(b, d1 - d0, step).transpose(1, 2, 0)
                    add(total, _blas.mm(left, right), d1 - d0, False)  # (c, A, B) float32 sums
                if c1 >= chunks and full < p:  # the sample's last, shorter chunk
                    total += _blas.mm(xs[i, :, full:], ds[i, :, full:].T)

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, min(effective().threads, len(pieces)), claim)
    dw = sums[0]
    for other in sums[1:]:
        dw += other
    return dw.astype(np.float32).reshape(1, a, b, *geometry.kernel_size)


#: Output channels up to which :func:`_pointwise_gradient` multiplies the chunks by BLAS in place
#: (:func:`_pointwise_narrow_gradient`) rather than in register tiles of packed panels.
NARROW_OUTPUTS = 4


def _pointwise_group_gradients(
    small: np.ndarray, big: np.ndarray, geometry: Geometry, groups: int, total_rows: int
) -> np.ndarray | None:
    """The weight gradient of a channels-first grouped pointwise layer (:func:`tconv._algorithms.gemm.
    pointwise_map`) whose groups' gradients are each one product in the accumulator's precision (little
    work, :func:`wide_sum`; any size in double precision): both sides copied once in that precision,
    each group's rows together (``(G, A, rows)``, ``(G, B, rows)``), and one product stacked over the
    groups, rounded once. None where the copies do not fit :func:`partials_bytes`. The general path made
    channels-last copies of both sides and each group's columns (a copy of its rows) first: 4 groups of
    5 -> 128 channels over 8 x 8 x 8, 0.8-1.4 ms (PyTorch's 0.3-0.4)."""
    n, a_total = small.shape[0], small.shape[1]
    b_total = big.shape[1]
    a, b = a_total // groups, b_total // groups
    dtype = np.result_type(small, big)
    wide = accumulator(dtype)
    if wide != dtype and not _row_sums(a * b, 1, geometry, total_rows, total_rows, False, grouped=True)[1]:
        return None
    p = math.prod(geometry.input_size)
    if groups * n * p * (a + b) * wide.itemsize > partials_bytes():
        return None
    lhs = small.reshape(n, groups, a, p).transpose(1, 2, 0, 3).astype(wide, order="C").reshape(groups, a, n * p)
    rhs = big.reshape(n, groups, b, p).transpose(1, 2, 0, 3).astype(wide, order="C").reshape(groups, b, n * p)
    return _weight_layout(np.matmul(lhs, rhs.transpose(0, 2, 1)), geometry, dtype)  # (G, A, B) -> the weight


def run_tiles_gradient(a_total: int, b_total: int, groups: int, geometry: Geometry, dtype: np.dtype) -> bool:
    """Whether :func:`weight_gradient` takes :func:`_run_tiles_gradient`: float32, one group, 1-3 d, the
    compiled kernels on, at most :data:`RUN_SMALL` channels on the small side and at least :data:`RUN_BIG`
    on the big one (the output gradient of a transposed convolution), so that each tile's vectors of the big
    side's channels are mostly full and its few broadcast rows all the small side's.

    Measured A/B against the im2col GEMMs (8 December, Xeon with AVX-512, two threads, min and median of
    11 alternating calls), the same sums: 3 -> 48 k7 s2 9.8 -> 2.7 ms, 8 -> 16 k8 s2 1.2 -> 0.48, 1 -> 64
    k4 s2, 8 -> 24 k8 s1 dilated; not taken: 16 -> 16 k3 s2 (0.97x: the GEMMs' rate), 64 -> 3 (dcgan-4,
    its vectors along the input's 64 channels and 3 broadcast rows of the tapped side: 0.6x)."""
    return (
        groups == 1
        and np.dtype(dtype) == np.dtype(np.float32)
        and a_total <= RUN_SMALL
        and b_total >= RUN_BIG
        and 1 <= geometry.ndim <= 3
        and _registers.conv_padded_fits(geometry)  # the padded big side follows the data
        and _compiled.available()
    )


#: :func:`run_tiles_gradient`'s most small-side channels (the tiles' broadcast rows) and fewest big-side ones.
RUN_SMALL = 8
RUN_BIG = 16


def _run_tiles_gradient(
    small: np.ndarray, big: np.ndarray, geometry: Geometry, layout: str, total_rows: int
) -> np.ndarray | None:
    """The float32 weight gradient of one group of few small-side channels (:func:`run_tiles_gradient`) in
    register tiles over implicit columns (``numba_kernels.weight_run_tiles``): no im2col, no BLAS. The big
    side padded channels-last where the taps read it (:func:`tconv._algorithms.registers.placed`, as the
    convolution's tiles read it), the small side channels-last; each tile a tap's sums of the small side's
    channels (broadcast) by 32 (16 without AVX-512) of the big side's (vectors), in :func:`chunk_rows`'
    chunks of positions, each chunk one chain of fused multiply-adds (as the mixed-precision tiles'), the
    chunks' sums in double precision; each tap and block of channels one task, the same sums on any
    threads. None where the sums are one double-precision product (:func:`wide_sum`) or where both sides'
    copies exceed the memory budget (the general path's blocks then keep to it).

    The chunks (:func:`run_chunk`): :func:`chunk_rows`' length, at most :data:`RUN_CHUNK` (one chain, where
    BLAS's kernels split a chunk into partial sums), and :data:`RUN_FEW_CHUNK` over fewer than
    :data:`RUN_FEW_ROWS` positions. A search of 850 random layers of the class (1-3 d, 1-8 -> 16-256
    channels, kernels 2-8, strides 1-4, dilation 1-2; 8 December) against PyTorch's distance from float64:
    at most 0.90x (a layer the GEMMs had at 0.895x); with :func:`chunk_rows`' own chunks over few positions
    (72-252) three were 1.03-1.29x, two of them the GEMMs' too (1.29x, 1.03x: a miss that predates these
    tiles), 0.60-0.69x in chunks of 4."""
    from .numba_kernels import RUN_ROWS, RUN_VECTORS

    n = small.shape[0]
    first = layout == "channels_first"
    a_total = small.shape[1] if first else small.shape[-1]
    b_total = big.shape[1] if first else big.shape[-1]
    kv = math.prod(geometry.kernel_size)
    step, whole = _row_sums(a_total * kv * b_total, kv, geometry, total_rows, total_rows, False)
    padded = _registers.conv_padded(geometry)
    copies = (n * math.prod(padded) * b_total + small.size) * 4  # both sides' copies, all samples at once
    if whole or copies > effective().memory_budget:  # (the general path cuts its blocks under the budget)
        return None
    step = run_chunk(step, total_rows)
    width = RUN_VECTORS * 16
    rows = RUN_ROWS if a_total > 4 else 4  # broadcast rows: the small side's channels (4 or 8 a tile)
    o_last = geometry.input_size[-1]
    lines = n * math.prod(geometry.input_size[:-1])
    # the small side channels-last, flat, with slack for the broadcasts past its last position
    small_cl = channels_last(small, layout, "channels_last_2").reshape(-1)
    flat_small = np.zeros(small_cl.size + rows, dtype=np.float32)
    flat_small[: small_cl.size] = small_cl
    small_line = np.arange(lines, dtype=np.int64) * (o_last * a_total)
    # the big side padded as the convolution's tiles read it (slack for the vectors past its end), its
    # lines' first windows and its taps
    bigp = _registers.placed(big, b_total, layout, padded, list(geometry.crop_begin), 2 * width)
    row_base, taps = _registers._conv_tables(geometry, b_total)
    sample = math.prod(padded) * b_total
    big_line = (np.arange(n, dtype=np.int64).reshape(-1, 1) * sample + row_base.reshape(1, -1)).reshape(-1)
    args = (flat_small, small_line, a_total, bigp, big_line, geometry.stride[-1] * b_total, taps)
    p_total, c_total = -(-a_total // rows) * rows, -(-b_total // width) * width
    totals = np.zeros((kv, p_total, c_total), dtype=np.float64)  # (Kv, A padded, B padded)
    tasks = kv * (p_total // rows) * (c_total // width)
    calls = []
    for t0, t1 in _compiled.split(tasks, min(tasks, 4 * effective().threads)):
        acc = np.empty((t1 - t0, rows * width), dtype=np.float32)
        wide = np.empty((t1 - t0, rows * width), dtype=np.float64)
        calls.append((*args, o_last, step, rows, RUN_BLOCK, acc, wide, totals, t0, t1))
    _compiled.parallel_for(_compiled.kernels()["weight_run_tiles"], calls)
    dw = totals[:, :a_total, :b_total].transpose(1, 2, 0)  # (A, B, Kv)
    return dw.astype(np.float32).reshape(1, a_total, b_total, *geometry.kernel_size)


def run_chunk(step: int, total_rows: int) -> int:
    """Positions per single-precision chunk of :func:`_run_tiles_gradient`, whose sum over ``total_rows``
    positions :func:`chunk_rows` cuts into chunks of ``step``: at most :data:`RUN_CHUNK`; :data:`RUN_FEW_CHUNK`
    below :data:`RUN_FEW_ROWS` positions."""
    return min(step, RUN_CHUNK) if total_rows >= RUN_FEW_ROWS else RUN_FEW_CHUNK


#: Most positions per single-precision chunk of :func:`_run_tiles_gradient`; below :data:`RUN_FEW_ROWS`
#: positions, :data:`RUN_FEW_CHUNK` (see there).
RUN_CHUNK = 32
RUN_FEW_ROWS = 512
RUN_FEW_CHUNK = 4
#: Lines of positions per block of :func:`_run_tiles_gradient`'s tiles (every tap over a block in turn).
RUN_BLOCK = 4


def _pointwise_direct_gradient(dtype: np.dtype) -> bool:
    """Whether :func:`_pointwise_small_gradients` computes a grouped pointwise weight gradient of small
    groups: float32 or float64, the compiled kernels on."""
    return np.dtype(dtype) in (np.dtype(np.float32), np.dtype(np.float64)) and _compiled.available()


def _pointwise_small_gradients(
    small: np.ndarray, big: np.ndarray, geometry: Geometry, groups: int, dtype: np.dtype
) -> np.ndarray:
    """The weight gradient of a channels-first pointwise layer of small groups (:func:`small_groups`: a
    depthwise or channel-multiplier ``1 x 1`` layer), summed along the rows where they lie
    (``pointwise_group_gradient``: each product rounded in the data's precision and added in double
    precision, as the compiled direct pass it replaces, :func:`_add_weight_gradient_direct`, which made
    channels-last copies of both sides first). Tasks are each group's runs of samples, a fixed number
    (:data:`POINTWISE_GROUP_TASKS` in all, whatever the threads), their sums added in order."""
    n, a_total, b_total = small.shape[0], small.shape[1], big.shape[1]
    a, b = a_total // groups, b_total // groups
    p = math.prod(geometry.input_size)
    pieces = max(1, min(n, POINTWISE_GROUP_TASKS // groups))
    lhs = np.ascontiguousarray(small, dtype=dtype).reshape(n, groups, a, p)
    rhs = np.ascontiguousarray(big, dtype=dtype).reshape(n, groups, b, p)
    sums = np.empty((groups * pieces, a, b), dtype=np.float64)
    chunk = max(64, POINTWISE_GROUP_CHUNK // (a + b) // 8 * 8)  # a multiple of the kernel's 8 lanes
    calls = [(lhs, rhs, chunk, sums, t0, t1) for t0, t1 in _compiled.split(groups * pieces, 2 * effective().threads)]
    _compiled.parallel_for(_compiled.kernels()["pointwise_group_gradient"], calls)
    total = sums.reshape(groups, pieces, a, b)[:, 0].copy()
    for piece in range(1, pieces):  # in the pieces' order
        total += sums.reshape(groups, pieces, a, b)[:, piece]
    return _weight_layout(total, geometry, dtype)


#: Tasks of :func:`_pointwise_small_gradients` (groups times runs of samples; at least one a group).
POINTWISE_GROUP_TASKS = 8
#: Positions of both sides' rows per chunk of ``pointwise_group_gradient``, divided among the group's
#: channels (16 KiB of float32 in all).
POINTWISE_GROUP_CHUNK = 4096


#: Pieces of :func:`_pointwise_gradient`'s work (a fixed number: its sums do not depend on the threads).
POINTWISE_PIECES = 4


def _group_columns_first(
    small: np.ndarray, big: np.ndarray, geometry: Geometry, groups: int, layout: str, dtype: np.dtype
) -> bool:
    """Whether :func:`weight_gradient` takes :func:`_group_gradients_cf`: a channels-first float32 layer of
    several groups that BLAS multiplies (not :func:`direct_gradient`), with the compiled kernels."""
    a, b = small.shape[1] // groups, big.shape[1] // groups
    return (
        groups > 1
        and layout == "channels_first"
        and np.dtype(dtype) == np.dtype(np.float32)
        and not direct_gradient(groups, a, b, math.prod(geometry.kernel_size))
        and _compiled.available()
        and _blas.available()
    )


def _group_gradients_cf(
    small: np.ndarray, big: np.ndarray, geometry: Geometry, groups: int, total_rows: int
) -> np.ndarray | None:
    """The weight gradient of a channels-first grouped layer (:func:`_group_columns_first`), each group
    on the thread that claims it, with no channels-last copies and no columns of the whole batch: per
    tile of the small side's rows (:func:`row_tiles`, about :data:`TILE_COLUMNS` of columns), the
    group's columns in the transposed orientation ``(B*Kv, rows)`` straight from the output gradient
    (compiled ``im2col_cf``), while they are in the core's cache, then their product with the tile's
    rows of the input, ``(rows, A)``, as the double-precision sum of single-precision products of
    :func:`chunk_rows` rows each (:func:`_chunked_sum`; chunks never longer than the other path's, so
    no farther from float64). The result is ``(G, A, B, *k)``, or None where the general path runs
    instead: the gradient is one double-precision product (:func:`wide_sum`), its chunks are short over
    few rows (:data:`GROUP_CF_STEP`; unless the general path would cut the samples into blocks:
    :data:`GROUP_CF_BLOCKED_INPUTS`), or the budget cannot hold the threads' buffers.

    Each group's output channels are cut into blocks whose sums stay in a core's cache and that share
    :data:`GROUP_CF_PIECES` threads evenly, whatever the threads at hand (a block's BLAS chunk products sum
    in an order that depends on its rows), and the tiles do not depend on the blocks: the sums are the same
    on any number of threads. Measured against the general path (channels-last copies of both sides and
    the columns of blocks of samples, then each group's product; A/B in alternating processes, two
    threads, on this Xeon): grouped-4 13.4-14.1 -> 10.0-10.5 ms, StyleGAN2's 4 groups of 512 channels
    74-86 -> 57-64, groups-2 30.8-36.2 -> 26.4-29.3, groups-8 4.95-5.45 -> 4.33-4.46; in one process,
    16 groups of 16 channels 1.27-1.36x, 2-group U-Net-like k2 s2 and 3-d layers 1.09-1.14x, a 2-group
    layer of 16-row chunks over 32768 rows 0.95x. Tried for one group as well (the channels in blocks
    for the threads), A/B: 1.03-1.5x on six layers (decoder-k3s2, fcn8s-up8, unet3d-up, k5s2, dilated,
    3d-k3s2), 0.56-0.9x on eleven others (U-Net's k2 s2 layers, a VAE decoder, nnU-Net's last layer,
    MelGAN, DCGAN's first and last layers, HiFi-GAN, an inverse STFT, FCN's x2): not taken.
    """
    n, a_total = small.shape[0], small.shape[1]
    b_total = big.shape[1]
    a, b = a_total // groups, b_total // groups
    kv = math.prod(geometry.kernel_size)
    dtype = np.dtype(np.float32)
    wide = accumulator(dtype)
    step, whole = _row_sums(a * kv * b, kv, geometry, total_rows, total_rows, False, grouped=True)
    # short chunks over few rows stay on the general path, but where its columns of all samples do not fit
    # one block (the general path then multiplies each block's few rows as one double-precision product)
    blocked = _block_samples(geometry, b_total, groups, dtype) < n and a >= GROUP_CF_BLOCKED_INPUTS
    if whole or (step < GROUP_CF_STEP and total_rows < GROUP_CF_ROWS and not blocked):
        return None
    # the work: each group's output channels in blocks whose double-precision sums stay in a core's cache
    # (PRODUCT_TILE entries: StyleGAN2's 4 groups of 512 -> 512 channels, 3 x 3, as one block each took
    # 2.1x the general path's time, passes over 19 MB of sums), and items that share GROUP_CF_PIECES
    # threads evenly (3 groups on 2 threads: 2 blocks each, as 6 items share evenly and 3 did not). Not the
    # threads at hand: a block's BLAS chunk products sum its entries in an order that depends on the block's
    # rows (4 groups of 24 channels gave other bits on 1, 2 and 3 threads)
    blocks = _compiled.split(b, max(-(-shares(groups, GROUP_CF_PIECES) // groups), -(-(b * kv * a) // PRODUCT_TILE)))
    items = [(g, b0, b1) for g in range(groups) for b0, b1 in blocks]
    threads = min(effective().threads, len(items))
    sums = max(b1 - b0 for b0, b1 in blocks) * kv * a * wide.itemsize  # one item's double-precision sums
    if threads * (TILE_COLUMNS + partials_bytes() + 3 * sums) + groups * b * kv * a * dtype.itemsize > (
        effective().memory_budget
    ):
        return None
    lead, last = im2col_positions(geometry)
    j_lead, j_last = lead.shape[0], last.shape[0]
    xs = np.ascontiguousarray(small, dtype=dtype).reshape(n, a_total, -1)  # (N, A_total, P_small)
    bf = np.ascontiguousarray(big, dtype=dtype).reshape(n, b_total, -1)  # (N, B_total, P_big)
    # tiles of the group's whole columns, whatever its blocks: the same chunks, so the same sums, on any threads
    tiles = row_tiles(n, j_lead, j_last, kv * b * dtype.itemsize)
    kernel = _compiled.kernels()["im2col_cf"]
    o_last, s_last = geometry.output_size[-1], geometry.stride[-1]
    dw = np.empty((groups, b * kv, a), dtype=dtype)  # each group's (B*Kv, A), rounded once
    claim = _compiled.Claim(len(items))

    def work() -> None:
        for index in claim:
            g, b0, b1 = items[index]
            big_g = bf[:, g * b + b0 : g * b + b1]  # (N, b1 - b0, P_big), a view
            total = np.zeros(((b1 - b0) * kv, a), dtype=wide) if len(tiles) > 1 else None
            for n0, n1, l0, l1, m0, m1 in tiles:
                count, rows = n1 - n0, (l1 - l0) * (m1 - m0)
                cols = scratch("columns", (b1 - b0, kv, count, rows), dtype)
                kernel(big_g, lead, last[m0:m1], o_last, s_last, cols, n0, l0, 0, b1 - b0)
                r0 = l0 * j_last + m0  # the tile's rows of the small side (m0:m1 is all of them unless one lead)
                part = xs[n0:n1, g * a : (g + 1) * a, r0 : r0 + rows]  # (count, A, rows)
                # (count, rows, A): the tile's rows of the input, a transposed view (copied or packed by
                # _tile_chunks, one pass)
                product = _tile_chunks(cols.reshape((b1 - b0) * kv, count * rows), part.transpose(0, 2, 1), step, wide)
                if total is None:  # one tile: its sums rounded into the gradient at once
                    dw[g, b0 * kv : b1 * kv] = product
                else:
                    total += product
            if total is not None:
                dw[g, b0 * kv : b1 * kv] = total

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, threads, claim)
    # (G, B*Kv, A) -> (G, A, B*Kv), the weight's (A, B, *k), by the compiled tiled transpose (NumPy's
    # strided copy of StyleGAN2's 38 MB gradient took about as long as its products)
    return _compiled.transpose(dw).reshape(groups, a, b, *geometry.kernel_size)


def _tile_chunks(left: np.ndarray, right: np.ndarray, step: int, wide: np.dtype) -> np.ndarray:
    """:func:`_chunked_sum` of one tile of :func:`_group_gradients_cf` (``left`` its columns ``(B*Kv, rows)``,
    ``right`` its rows of the input ``(rows, A)``): the same chunks of ``step`` rows from the tile's first,
    summed in the mixed-precision register tiles (:func:`tconv._algorithms.mixed.product`: ``left`` read in
    place, ``right`` packed in panels of its ``A`` columns) where they apply and the panels are mostly
    columns (:func:`tconv._algorithms.mixed.fills`), else by BLAS's chunk products. The result is the
    calling thread's scratch ``"sum"``, as :func:`_chunked_sum`'s.

    A group's gradient sums few rows per chunk (16 for the groups of :func:`small_gradient`): BLAS
    multiplies such chunks (16 x 16 times 16 x 128 on the 8-group layer) at a fraction of its rate, a call
    each. Measured against that (A/B in one process, two threads, AMD EPYC without AVX-512): groups-8
    1.20-1.21x, grouped-4 1.07-1.08x, a 2-group 3-d k2 s2 layer 1.44-1.47x, 3 groups of 32 -> 16, k3 s2
    1.18-1.27x, 2 groups of 64, 3 x 3 stride 1 1.04-1.09x; 16 groups of 16, k4 s2 and a 1-d k16 s8 layer
    of 8 groups within noise (0.94-1.06x). (groups-32, 4 input channels per group, was 1.05-1.10x even in
    panels three quarters zeros; not taken.) Each chunk is one chain of fused multiply-adds, where BLAS's
    kernel splits it into several partial sums: on nine grouped layers 1.03-1.10x as far from float64 as
    the BLAS chunks, both 0.07-0.29x PyTorch's distance."""
    rows, a = left.shape[0], right.shape[-1]
    if not (_mixed.applies(left.dtype) and wide != left.dtype and _mixed.fills(a)):
        return _chunked_sum(left, _mixed.rows(right) if right.ndim == 3 else right, step, wide)
    total = scratch("sum", (rows, a), wide)
    _mixed.product(left, _mixed.pack(right), step, total)
    return total


#: :func:`_group_gradients_cf` takes a gradient of chunks shorter than :data:`GROUP_CF_STEP` rows only over
#: at least :data:`GROUP_CF_ROWS` rows: short chunks over few rows are many small GEMM calls a tile, where
#: the general path's stacked chunk products (:func:`_batched_chunks`) did better. Measured against the
#: general path (A/B in one process, two threads): 16 samples of 8 x 8, 4 groups of 32 channels, k4 s2
#: (16-row chunks, 1024 rows) 0.78-0.89x; a 1-d vocoder layer of 8 groups, k16 s8, 800 rows 0.84-0.99x;
#: from 2048 rows (16 groups of 16 channels, 1.27-1.36x; groups-8, 4096 rows, 1.12-1.26x) and with
#: 64-row chunks or longer (StyleGAN2's 256 rows, 1.3x) faster.
GROUP_CF_STEP = 64
GROUP_CF_ROWS = 2048
#: ... and over fewer rows where the general path cuts the samples into blocks (their columns above
#: :data:`WEIGHT_COLUMNS`), with at least this many input channels a group. There the general path's blocks
#: are a sample or a few each, whose rows per group are few enough to be one double-precision product
#: (:func:`_chunked_product`), a conversion and a small double-precision GEMM per group and block: 8
#: samples of 8 x 8, 16 groups of 16 -> 24 channels, k8 s2 (12 MB of columns a sample), 28-40 ms, PyTorch's
#: 4.7, these tiles 15. A/B on 20 random layers of the kind (1-3 d, 2-32 groups, 4-64 channels a group,
#: kernels 3-8, under 2048 rows; 7 December, AMD EPYC without AVX-512, two threads): with 9-64 input
#: channels a group 0.97-2.26x (18 layers), with 4 and 8 0.54x and 0.59x (the tiles' products of so few
#: columns run in BLAS's chunk products); on 20 more with the rule, 1.37x in geometric mean, one at 0.69x
#: that measured 1.01x alone; at most 0.68x PyTorch's distance from float64.
GROUP_CF_BLOCKED_INPUTS = 9
#: The threads :func:`_group_gradients_cf`'s items are cut for, whatever the threads at hand (its sums do not
#: depend on them).
GROUP_CF_PIECES = 4


def _block_samples(geometry: Geometry, b_total: int, groups: int, dtype: np.dtype) -> int:
    """Samples a block of :func:`weight_gradient`'s general path holds (at least one): their columns, ``Kv * B``
    values a position of the small side (twice with groups: each group's copy), within :data:`WEIGHT_COLUMNS`."""
    kv = math.prod(geometry.kernel_size)
    sample = math.prod(geometry.input_size) * kv * b_total * np.dtype(dtype).itemsize * (2 if groups > 1 else 1)
    return max(1, WEIGHT_COLUMNS // max(1, sample))


def _one_block_gradient(
    small_cl: np.ndarray, cols: np.ndarray, geometry: Geometry, dtype: np.dtype, total_rows: int
) -> np.ndarray:
    """The weight gradient of one group from one block of all samples (:func:`weight_gradient`): the
    sums of :func:`_add_weight_gradient`, each tile of the product rounded once as it is finished and
    written into a single-precision ``(A, Kv*B)`` array (the product's own column order), which one
    compiled transpose takes to the gradient's layout ``(1, A, B, *k)``. The blocks of a gradient in
    several blocks add into a double-precision gradient of the whole size, transposed at the end; for
    one block that array was zeroed, added into tile by tile and read again by the transpose
    (dcgan-1's 512 x 256 x 4 x 4 gradient: 16 MB each time). Written straight into the ``(A, B, Kv)``
    layout instead, each tile wrote one value per cache line (one tap of ``B`` channels at a stride
    of ``Kv``): pix2pix's 32 MiB gradient 0.8x as fast; an inverse STFT's, of one channel and 1024
    taps, 0.33x (a copy per tap and tile)."""
    n, p_small, kv, b = cols.shape
    rows = n * p_small
    lhs = small_cl.reshape(rows, -1)  # (M, A)
    a = lhs.shape[1]
    wide = accumulator(dtype)
    step, whole = _row_sums(a * kv * b, kv, geometry, total_rows, rows, wide == dtype)
    by_tap = np.empty((a, kv * b), dtype=dtype)  # (A, Kv*B)

    def store(a0: int, a1: int, w0: int, w1: int, tile: np.ndarray) -> None:
        by_tap[a0:a1, w0:w1] = tile

    _chunked_product(lhs, cols.reshape(rows, kv * b), step, wide, store=store, whole=whole)
    if b == 1 or kv == 1:  # (A, Kv*B) is (A, B*Kv) already
        final = by_tap
    elif _compiled.available() and _compiled.supports(dtype):
        final = _compiled.transpose(by_tap.reshape(a, kv, b))  # (A, B, Kv)
    else:
        final = np.ascontiguousarray(by_tap.reshape(a, kv, b).transpose(0, 2, 1))
    return final.reshape(1, a, b, *geometry.kernel_size)


def _add_group_gradients(
    small_cl: np.ndarray, grouped: np.ndarray, dw: np.ndarray, geometry: Geometry, rows: int
) -> None:
    """Add each group's ``small_g^T @ cols_g`` to ``dw[g]`` (:func:`_add_weight_gradient`, one group at a
    time), the groups side by side on the threads, each group's product on the thread that takes it
    (its sums do not depend on the threads). Handing each group's product to both threads in turn made
    many small hand-offs (the 17 MFLOP of a group of an 8-group layer ran faster on one thread than on
    two); with as many groups as threads or more, no thread waits for another's piece.

    Where each group's gradient is one double-precision product (:func:`wide_sum`: little work) and the
    groups' double-precision copies fit :func:`partials_bytes`, all groups are one stacked product
    (``numpy.matmul`` over the groups) instead: the per-group calls from Python threads cost more than
    their arithmetic (16 groups of 24 -> 1 channels, 5 x 5 taps over 12 x 12: 2-4 ms, 0.4 stacked;
    PyTorch's whole weight gradient about 0.3)."""
    groups, n, p_small, kv, b = grouped.shape
    a = dw.shape[1]
    m = n * p_small
    wide = dw.dtype != grouped.dtype
    one = wide and _row_sums(a * kv * b, kv, geometry, rows, m, False, grouped=True)[1]
    if one and groups * m * (a + kv * b) * dw.itemsize <= partials_bytes():
        _stacked_gradients(small_cl, grouped, dw)
        return
    claim = _compiled.Claim(groups)

    def work() -> None:
        with internal(threads=1):
            for g in claim:
                small = small_cl[:, :, g * a : (g + 1) * a]
                _add_weight_gradient(small, grouped[g], 1, dw[g : g + 1], geometry, rows, grouped=True)

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, min(effective().threads, groups), claim)


def _stacked_gradients(small_cl: np.ndarray, grouped: np.ndarray, dw: np.ndarray) -> None:
    """Add all groups' ``small_g^T @ cols_g`` to ``dw`` (G, A, Kv*B) as one product stacked over the
    groups, in ``dw``'s precision (:func:`_add_group_gradients`, little work)."""
    groups, n, p_small, kv, b = grouped.shape
    m, a = n * p_small, dw.shape[1]
    lhs = small_cl.reshape(m, groups, a).transpose(1, 2, 0).astype(dw.dtype)  # (G, A, M)
    dw += np.matmul(lhs, grouped.reshape(groups, m, kv * b).astype(dw.dtype))  # (G, A, Kv*B)


#: Bytes of columns above which :func:`weight_gradient` cuts a block of samples into smaller ones: larger
#: columns are fresh memory on every call (:mod:`tconv._algorithms.workspace` keeps up to an eighth of the
#: memory budget per slot), whose page faults cost more than the arithmetic (a stride-1 3x3 layer's 38 MB
#: of columns: 15 ms fresh, 3 ms in kept memory).
WEIGHT_COLUMNS = 16 * 2**20


def _split_blocks(pieces: Iterable[tuple[slice, Tile | None]], per_block: int) -> Iterator[tuple[slice, Tile | None]]:
    """``pieces`` with each block of whole samples cut into blocks of at most ``per_block`` samples."""
    for samples, tile in pieces:
        if tile is not None or samples.stop - samples.start <= per_block:
            yield samples, tile
            continue
        for n0 in range(samples.start, samples.stop, per_block):
            yield slice(n0, min(samples.stop, n0 + per_block)), None


def _add_weight_gradient_direct(
    small_cl: np.ndarray, big_cl: np.ndarray, geometry: Geometry, groups: int, dw: np.ndarray
) -> None:
    """Add one block's small-group weight gradient to ``dw`` (G, A, Kv*B) with the compiled pass: each
    piece of the (sample, row) tasks is summed into its own ``(Kv, G*A, B)`` array in ``dw``'s precision
    (along the groups, :func:`minor_groups`: ``(Kv, A*B, G)``), by whichever thread claims it, and the
    pieces' sums are added in their order at the end (no columns, no GEMM): the same sums whatever the
    threads' timing (a sum per thread, of the pieces it happened to claim, gave results that differed
    in the last bits from run to run)."""
    n = small_cl.shape[0]
    a, kvb = dw.shape[1], dw.shape[2]
    kv = math.prod(geometry.kernel_size)
    bb = kvb // kv
    lead, last = im2col_positions(geometry)
    tasks = _compiled.split(n * lead.shape[0], 4 * effective().threads)
    claim = _compiled.Claim(len(tasks))
    minor = minor_groups(groups, a, bb)  # along the groups: both sides' channels in (channel, group) order
    if minor:
        small_cl, big_cl = group_minor(small_cl, groups), group_minor(big_cl, groups)
    kernel = _compiled.kernels()["correlate_direct_cl"]
    shape = (kv, a * bb, groups) if minor else (kv, groups * a, bb)
    sums = np.zeros((len(tasks), *shape), dtype=dw.dtype)  # one per piece (the pieces of a small gradient)

    def work() -> None:
        for index in claim:
            kernel(small_cl, big_cl, a, bb, minor, lead, last, geometry.output_size[-1], sums[index], *tasks[index])

    _compiled.run_workers(work, min(effective().threads, len(tasks)), claim)
    total = sums[0]
    for part in sums[1:]:  # in the pieces' order
        total += part
    if minor:  # (Kv, A*B, G)
        dw += total.reshape(kv, a, bb, groups).transpose(3, 1, 0, 2).reshape(groups, a, kvb)
    else:  # (Kv, G*A, B)
        dw += total.reshape(kv, groups, a, bb).transpose(1, 2, 0, 3).reshape(groups, a, kvb)


def _weight_layout(dw: np.ndarray, geometry: Geometry, dtype: np.dtype) -> np.ndarray:
    """``(G, A, Kv*B)`` -> ``(G, A, B, *k)`` in ``dtype``."""
    groups, a, kvb = dw.shape
    kv = math.prod(geometry.kernel_size)
    dw = dw.reshape(groups, a, kv, kvb // kv).transpose(0, 1, 3, 2)  # (G, A, B, Kv)
    return dw.reshape(groups, a, kvb // kv, *geometry.kernel_size).astype(dtype)  # (G, A, B, *k)


def weight_gradient_pieces(a_total: int, b_total: int, groups: int, dtype: np.dtype) -> ConvBlocked:
    """The pieces of :func:`weight_gradient`: for one sample, the channels-last copies of both sides (with
    groups twice), the columns of the big side, (with groups) a group's copy of them; once per piece,
    the double-precision sum, one chunk's products and the position tables."""

    def footprint(geometry: Geometry) -> int:
        kv = math.prod(geometry.kernel_size)
        per_group = kv * (b_total // groups) if groups > 1 else 0
        copies = 2 if groups > 1 else 1  # with groups, the copies in (channel, group) order (minor_groups)
        small = math.prod(geometry.input_size) * (kv * b_total + a_total * copies + per_group)
        return (small + math.prod(geometry.output_size) * b_total * copies) * dtype.itemsize

    def fixed(geometry: Geometry) -> int:
        # once per piece, not per sample: the gradient's double-precision sum (allocated once for the
        # whole call), one chunk's products and the positions' tables. Counted per sample, they cut
        # dcgan-1's 16 samples into pieces of 12 and 4, whose chunks of a quarter of a piece's rows were
        # GEMMs over 48 and 16 rows (its weight gradient 25-40 ms; 12-14 in one piece)
        sums = 2 * a_total * math.prod(geometry.kernel_size) * b_total // groups
        return sums * dtype.itemsize + partials_bytes() + im2col_bytes(geometry)

    return ConvBlocked(footprint, fixed)


def _add_weight_gradient(
    small_cl: np.ndarray,
    cols: np.ndarray,
    groups: int,
    dw: np.ndarray,
    geometry: Geometry,
    total_rows: int,
    grouped: bool = False,
) -> None:
    """Add one block's ``small^T @ cols`` to ``dw`` (G, A, Kv*B).

    ``small_cl`` is ``(n, P_small, A_total)`` channels-last, ``cols`` ``(n, P_small, Kv, B_total)``;
    ``groups`` is 1, or all groups when they are small (:func:`small_groups`); ``grouped``: one group of a
    grouped layer (:func:`wide_sum`); ``total_rows`` the rows
    of the whole sum, of which this block is a part. With a double-precision ``dw`` (single-precision
    inputs), the rows are cut into chunks of :func:`chunk_rows` (the ``geometry``, ``total_rows``),
    each chunk's product is one single-precision GEMM (:func:`_chunked_product`; small groups: one
    ``einsum`` over a batch of chunks), and the partial
    products are summed in double precision.
    """
    n, p_small, kv, b_total = cols.shape
    rows = n * p_small
    small_rows = small_cl.reshape(rows, -1)  # (M, A_total)
    a, bb = dw.shape[1], b_total // groups
    exact = dw.dtype == cols.dtype  # no wider accumulator: one product per group
    products = a * kv * bb * (groups if a * bb <= SMALL_GROUPS else 1)
    step, whole = _row_sums(products, kv, geometry, total_rows, rows, exact, grouped)
    full = rows - rows % step
    if small_groups(groups, a, bb):  # one contraction over all groups
        cg = cols.reshape(rows, kv, groups, bb)  # (M, Kv, G, B)
        sg = small_rows.reshape(rows, groups, a)  # (M, G, A)
        batch = max(1, partials_bytes() // (groups * a * kv * bb * cols.itemsize))
        for c0 in range(0, full // step, batch):
            r0, r1 = c0 * step, min(full, (c0 + batch) * step)
            k = (r1 - r0) // step
            part = np.einsum(
                "cmga,cmtgb->cgatb", sg[r0:r1].reshape(k, step, groups, a), cg[r0:r1].reshape(k, step, kv, groups, bb)
            )  # (k, G, A, Kv, B)
            dw += part.sum(axis=0, dtype=dw.dtype).reshape(groups, a, kv * bb)
        if full < rows:
            dw += np.einsum("mga,mtgb->gatb", sg[full:], cg[full:]).reshape(groups, a, kv * bb)
        return
    # one group: weight_gradient hands larger groups over one at a time, each with its own columns
    assert groups == 1, groups
    _chunked_product(small_rows, cols.reshape(rows, kv * b_total), step, dw.dtype, into=dw[0], whole=whole)


def _chunked_product(
    lhs: np.ndarray,
    rhs: np.ndarray,
    step: int,
    dtype: np.dtype,
    into: np.ndarray | None = None,
    store: Callable[[int, int, int, int, np.ndarray], None] | None = None,
    whole: bool = False,
) -> np.ndarray | None:
    """``lhs^T @ rhs`` ``(A, W)`` summed in ``dtype`` from products of ``step`` rows each; added into
    ``into`` (``(A, W)`` of ``dtype``) tile by tile when given, which is returned (no result of the
    gradient's size allocated and added afterwards: a pass over 16 MB on a 2M-entry gradient); or,
    with ``store``, each finished tile handed to ``store(a0, a1, w0, w1, tile)`` (rows ``a0:a1``,
    columns ``w0:w1`` of the result, in ``dtype``; from any of the threads), and None returned. With
    ``whole`` (:func:`wide_sum`), one product in ``dtype`` over all rows, as for few rows (below), where
    the rows' copy in ``dtype`` fits :func:`partials_bytes`.

    The result is cut into tiles of at most :data:`TILE_ENTRIES` entries, which each
    thread takes one after the other: for its tile, a single-threaded GEMM per chunk of
    ``step`` rows writes the chunk's product (single precision) and adds it into the
    tile's double-precision sum, both small enough to stay in that core's cache (the
    sums of whole gradients did not, and their adds cost 2-4x the GEMMs). No BLAS
    thread pool runs meanwhile (:mod:`tconv._algorithms.blas`). With ``dtype`` the
    inputs' own, each tile is one GEMM over all rows.
    """
    rows, a = lhs.shape
    width = rhs.shape[1]
    threads = effective().threads
    one_product = np.dtype(dtype) == lhs.dtype or rows <= step
    whole = whole and rows * a * np.dtype(dtype).itemsize <= partials_bytes()
    if store is not None:
        out = np.empty((0, 0), dtype=dtype)  # not written: every tile goes to store
    else:
        out = np.empty((a, width), dtype=dtype) if into is None else into
    if not one_product and (whole or rows < 4 * WIDE_ROWS):
        # few rows (a DCGAN projection's 16 samples): chunks of a few rows are GEMMs of a few products
        # each; one GEMM in the wide precision costs little more than one in single precision, and its
        # sums are closer than any chunking's (16 rows, 100 x 8192 gradient: 3.9 ms in 4 chunks); and
        # a small 3-d gradient (whole), whose rows' wide copy fits partials_bytes(). In bands of
        # columns, or on one thread blocks of rows, whose wide copies and products stay within
        # partials_bytes()
        # bands of columns whose wide copies and products, one band per thread at a time, stay within
        # partials_bytes(); with at least as many bands as threads, each thread multiplies whole bands on
        # its own (single-threaded GEMMs, no wait between bands), else each band's rows are shared
        # (an inverse STFT's 1026 x 1024 gradient over 224 rows: 5 bands of 209 columns, each split in
        # two rows, took 8.5-9 ms; the same bands on two threads 1.3x faster)
        parallel = threads > 1 and 2 * rows * a * width >= SMALL_FLOPS
        band = max(1, partials_bytes() // (max(2, threads) * (rows + a) * np.dtype(dtype).itemsize))
        count = -(-width // band)
        if parallel and count > 1:
            band = -(-width // shares(count, threads))
        bands = [(w0, min(width, w0 + band)) for w0 in range(0, width, band)]

        def put(w0: int, w1: int, part: np.ndarray) -> None:
            if store is not None:
                store(0, a, w0, w1, part)
            elif into is None:
                out[:, w0:w1] = part
            else:
                out[:, w0:w1] += part

        if not parallel and len(bands) > 1:
            # many rows of a narrow gradient (a 1-d 1 -> 2 layer's 32 entries over 63 472 rows: 8 bands of 4
            # columns, each a strided copy of all rows, 5 ms of its 6-9): blocks of rows instead, both sides'
            # rows copied whole, each block's product in the wide precision, the blocks' added in it
            block = max(1, partials_bytes() // ((a + width) * np.dtype(dtype).itemsize))
            total = np.zeros((a, width), dtype=dtype)
            for r0 in range(0, rows, block):
                r1 = min(rows, r0 + block)
                total += _blas.matmul(lhs[r0:r1].T.astype(dtype), rhs[r0:r1].astype(dtype))
            put(0, width, total)
            return None if store is not None else out
        left = lhs.T.astype(dtype)  # (A, M)
        if not parallel or len(bands) < threads:
            for w0, w1 in bands:
                put(w0, w1, _blas.matmul(left, rhs[:, w0:w1].astype(dtype)))  # (A, w1 - w0)
            return None if store is not None else out
        claim = _compiled.Claim(len(bands))

        def multiply() -> None:
            for index in claim:
                w0, w1 = bands[index]
                put(w0, w1, _blas.mm(left, rhs[:, w0:w1].astype(dtype)))

        with _blas.single_threaded_blas():
            _compiled.run_workers(multiply, threads, claim)
        return None if store is not None else out
    if not one_product and a * width <= PRODUCT_TILE and rows >= BATCHED_CHUNKS * step:
        if store is None:
            _batched_chunks(lhs, rhs, step, out, accumulate=into is not None)
            return out
        small = np.empty((a, width), dtype=dtype)  # a small gradient: one tile
        _batched_chunks(lhs, rhs, step, small, accumulate=False)
        store(0, a, 0, width, small)
        return None
    if one_product:  # one GEMM: a band of columns per thread, as wide as can be (each GEMM packs lhs once)
        ta, tw = a, -(-width // threads)
    else:  # tiles within TILE_ENTRIES; from SMALL_FLOPS, at least one per thread where the columns allow
        # (a group of a 4-group layer's gradient, 64 x 1024 over 512 rows, was one tile: one thread
        # working, the other idle)
        ta = min(a, TILE_ROWS)
        tw = min(width, max(TILE_ROWS // 4, TILE_ENTRIES // ta))
        if 2 * rows * a * width >= SMALL_FLOPS:
            tw = min(tw, max(TILE_ROWS // 4, -(-width // threads)))
            # tiles of equal width, as many as the threads or a multiple of them where there are few (a
            # stride-1 3 x 3 layer's 128 x 1152 gradient was tiles of 512, 512 and 128 columns: 640
            # on one thread, 512 on the other)
            bands, a_tiles = -(-width // tw), -(-a // ta)
            even = -(-width // -(-shares(a_tiles * bands, threads) // a_tiles))
            if even >= TILE_ROWS // 4:
                tw = even
    tiles = [(a0, w0) for a0 in range(0, a, ta) for w0 in range(0, width, tw)]
    claim = _compiled.Claim(len(tiles))

    def work() -> None:
        for index in claim:
            a0, w0 = tiles[index]
            a1, w1 = min(a, a0 + ta), min(width, w0 + tw)
            left, right = lhs[:, a0:a1], rhs[:, w0:w1]  # (M, a), (M, w)
            tile = _blas.mm(left.T, right) if one_product else _chunked_sum(left.T, right, step, dtype)
            if store is not None:
                store(a0, a1, w0, w1, tile)
            elif into is None:
                out[a0:a1, w0:w1] = tile
            else:
                out[a0:a1, w0:w1] += tile

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, min(threads, len(tiles)), claim)
    return None if store is not None else out


#: A weight gradient over fewer than ``4 * WIDE_ROWS`` rows (so chunks of fewer than this many rows) is
#: one GEMM in the wide precision (:func:`_chunked_product`).
WIDE_ROWS = 32
#: Chunks from which a gradient of one tile is summed by :func:`_batched_chunks`.
BATCHED_CHUNKS = 8


def _batched_chunks(lhs: np.ndarray, rhs: np.ndarray, step: int, out: np.ndarray, accumulate: bool) -> None:
    """:func:`_chunked_product` of a small gradient (one tile) over many rows: the chunks' products as
    batched GEMMs (NumPy's stacked ``matmul``, one C loop over BLAS calls), the chunks cut into one
    run per thread (each in batches within :func:`partials_bytes`), each run's products summed in
    ``out``'s precision, then the runs' sums in order: the same bits on every call with the same
    threads. Below :data:`~tconv._algorithms.gemm.SMALL_FLOPS`, one run on the calling thread (runs
    per thread for the 17 MFLOP of a group of an 8-group layer were slower than one). (A Python loop
    of one small GEMM per chunk of 128 rows took 5 ms on the 64 x 48 gradient of a 3-output-channel
    layer over 16384 rows, ten times the GEMMs' work; with the chunks cut by the budget alone, that
    gradient, whose chunks all fit one batch, ran on one thread.)"""
    rows, a = lhs.shape
    width = rhs.shape[1]
    chunks = rows // step
    full = chunks * step
    left = lhs[:full].reshape(chunks, step, a).transpose(0, 2, 1)  # (chunks, A, step), BLAS reads it transposed
    right = rhs[:full].reshape(chunks, step, width)  # (chunks, step, W)
    # chunks per batched product: their single-precision products within partials_bytes()
    per = max(1, min(chunks, partials_bytes() // max(1, a * width * lhs.dtype.itemsize)))
    runs = _compiled.split(chunks, effective().threads if 2 * rows * a * width >= SMALL_FLOPS else 1)
    claim = _compiled.Claim(len(runs))
    sums: list[np.ndarray | None] = [None] * len(runs)

    # each batch's products added into the run's sums one after the other by the compiled pass (NumPy's
    # sum over the batch in the wide dtype, then its addition, was a third of a dilated layer's time)
    add = _compiled.kernels()["accumulate"] if _compiled.available() else None

    def work() -> None:
        for index in claim:
            total = np.zeros((a, width), dtype=out.dtype)
            r0, r1 = runs[index]
            for c0 in range(r0, r1, per):
                c1 = min(r1, c0 + per)
                products = _blas.mm(left[c0:c1], right[c0:c1])  # (c1 - c0, A, W)
                if add is not None:
                    add(total, products, c1 - c0, False)
                else:
                    total += products.sum(axis=0, dtype=out.dtype)
            sums[index] = total

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, len(runs), claim)
    done = [piece for piece in sums if piece is not None]  # every run's (run_workers raised otherwise)
    total = done[0]
    for other in done[1:]:
        total += other
    if full < rows:  # the last, shorter chunk (single-threaded: a small product, see blas.matmul)
        with _blas.single_threaded_blas():
            total += _blas.mm(lhs[full:].T.astype(out.dtype), rhs[full:].astype(out.dtype))
    if accumulate:
        out += total
    else:
        out[...] = total


#: Entries of a weight gradient up to which :func:`_chunked_product` sums it as one tile of batched chunks
#: (:func:`_batched_chunks`), and of a block of groups' gradients (:func:`_group_gradients_cf`).
PRODUCT_TILE = 2**16
#: Entries of one tile of :func:`_chunked_product`'s chunked sums, and the most rows of ``lhs^T`` it spans.
#: Tiles of 2**16 entries (256 rows), sized for a core's cache, had each thread's Python calls (a tile's
#: chunk products, its pass of sums, its store) wait for the interpreter the other thread held between
#: its own; 2**18 (512 rows), A/B in one process on two threads with MKL: weight gradients of HiFi-GAN's
#: first layer 27.3 -> 22.5 ms, dcgan-1 8.9 -> 7.7, dcgan-2 6.8 -> 6.1, unet-1024 20.9 -> 18.5, istft-ola
#: 4.6 -> 4.1, 13 other layers within noise; 2**19 and 2**20 (1024 rows) were slower again on four of them.
TILE_ENTRIES = 2**18
TILE_ROWS = 512
