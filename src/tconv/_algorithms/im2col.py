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
"""

from __future__ import annotations

import math

import numpy as np

from .._options import effective
from ..geometry import Geometry
from ..kernels import tap_pairs
from . import blas as _blas
from . import compiled as _compiled
from .blocking import ConvBlocked
from .problem import Problem, channels_last, layout_index
from .taptable import im2col_bytes, im2col_positions

__all__ = ["conv", "im2col", "weight_gradient"]

#: With at most this many channel pairs per group (``C_in/G * C_out/G``, depthwise and the like),
#: one ``einsum`` over all groups replaces the per-group GEMMs.
SMALL_GROUPS = 16


def im2col(big_cl: np.ndarray, geometry: Geometry) -> np.ndarray:
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
        lead, last = im2col_positions(geometry)
        kernel = _compiled.kernels()["im2col_cl"]
        calls = [
            (big_cl, lead, last, geometry.output_size[-1], cols, t0, t1)
            for t0, t1 in _compiled.split(n * lead.shape[0], 4 * effective().threads)
        ]
        _compiled.parallel_for(kernel, calls)
        return cols
    big = big_cl.reshape(n, *geometry.output_size, c)  # (n, *big, C)
    view = cols.reshape(n, *geometry.input_size, *geometry.kernel_size, c)  # (n, *small, *k, C)
    view[...] = 0
    for tap, src, dst in tap_pairs(geometry):
        view[(slice(None),) + src + tap] = big[(slice(None),) + dst]
    return cols


def conv_footprint(problem: Problem) -> ConvBlocked:
    """The pieces of :func:`conv` on ``problem``: its temporaries for one sample of a geometry are the
    channels-last input, the columns (twice with groups: the per-group copy), and the result with its
    layout change."""
    kv_c_in = problem.c_in * (2 if problem.groups > 1 else 1)

    def footprint(geometry: Geometry) -> int:
        kv = math.prod(geometry.kernel_size)
        small = math.prod(geometry.input_size) * (kv * kv_c_in + 3 * problem.c_out)
        return (math.prod(geometry.output_size) * problem.c_in + small) * problem.dtype.itemsize + im2col_bytes(
            geometry
        )

    return ConvBlocked(footprint)


def conv(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"gemm"`` convolution: im2col + one GEMM per group, under the memory budget.

    ``x`` has ``geometry.output_size`` (the big side) and the result
    ``geometry.input_size``; ``w`` is ``(C_out, C_in/G, *k)``.
    """
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    kv = math.prod(geometry.kernel_size)
    wm = problem.pack(
        "im2col", lambda: np.ascontiguousarray(w.reshape(groups, cog, cig, kv).transpose(0, 3, 2, 1))
    ).reshape(groups, kv * cig, cog)  # (G, Kv*Cig, Cog)
    return conv_footprint(problem).run(_conv_block, x, wm, geometry, problem)


def _conv_block(x: np.ndarray, wm: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The convolution of one block with the packed weight ``wm`` ``(G, Kv*Cig, Cog)``, bias added."""
    cols = im2col(channels_last(x, problem.layout), geometry)  # (n, P_out, Kv, C_in)
    return _conv_of_columns(cols, wm, geometry, problem)


def _conv_of_columns(cols: np.ndarray, wm: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The convolution from its columns ``(n, P_out, Kv, C_in)``: one GEMM per group, bias, layout."""
    n = cols.shape[0]
    groups, cig, cog, c_out = problem.groups, problem.cig, problem.cog, problem.c_out
    kv = math.prod(geometry.kernel_size)
    p_out = math.prod(geometry.input_size)
    if groups > 1 and cig * cog <= SMALL_GROUPS:  # one contraction over all groups
        wg = wm.reshape(groups, kv, cig, cog)  # (G, Kv, Cig, Cog)
        y = np.einsum("mtgi,gtio->mgo", cols.reshape(n * p_out, kv, groups, cig), wg)  # (M, G, Cog)
        y = y.reshape(n, p_out, c_out)  # (n, P_out, C_out)
    else:
        lhs = (
            cols.reshape(n * p_out, kv, groups, cig).transpose(2, 0, 1, 3).reshape(groups, n * p_out, kv * cig)
        )  # (G, M, Kv*Cig)
        y = np.matmul(lhs, wm)  # (G, M, Cog)
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


def chunk_rows(products: int) -> int:
    """Rows (samples x positions) of one partial weight-gradient sum, for a gradient of ``products``
    entries per group: the partial sums are added in double precision, so a float32 weight gradient is
    a sum of short float32 sums, whose error grows with this length and not with the batch and image
    size. Short for small gradients (where the extra partials cost nothing), longer for large ones
    (where each partial's read and double-precision add would cost a pass over the gradient): as close
    to the float64 result as PyTorch's float32 gradients on the layers of ``tests/test_grad.py``."""
    if products <= 2**16:
        return 32
    return 64 if products <= 2**20 else 256


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
    dw = np.zeros((groups, a_total // groups, kv * (b_total // groups)), dtype=accumulator(dtype))  # (G, A, Kv*B)
    for samples, tile in weight_gradient_pieces(a_total, b_total, groups, dtype).pieces(n, geometry):
        if tile is None:
            small_part, big_part, part = small[samples], big[samples], geometry
        else:
            assert tile.geometry is not None  # a convolution's tile always reads at least one cell
            small_part = small[layout_index(layout, samples, tile.output)]
            big_part = big[layout_index(layout, samples, tile.input)]
            part = tile.geometry
        cols = im2col(channels_last(big_part, layout), part)  # (n, P_small, Kv, B_total)
        _add_weight_gradient(channels_last(small_part, layout), cols, groups, dw)
    return _weight_layout(dw, geometry, dtype)


def _weight_layout(dw: np.ndarray, geometry: Geometry, dtype: np.dtype) -> np.ndarray:
    """``(G, A, Kv*B)`` -> ``(G, A, B, *k)`` in ``dtype``."""
    groups, a, kvb = dw.shape
    kv = math.prod(geometry.kernel_size)
    dw = dw.reshape(groups, a, kv, kvb // kv).transpose(0, 1, 3, 2)  # (G, A, B, Kv)
    return dw.reshape(groups, a, kvb // kv, *geometry.kernel_size).astype(dtype)  # (G, A, B, *k)


def weight_gradient_pieces(a_total: int, b_total: int, groups: int, dtype: np.dtype) -> ConvBlocked:
    """The pieces of :func:`weight_gradient`: for one sample, the channels-last copies of both sides,
    the columns of the big side, (with groups) a group's copy of them, and one chunk's product."""

    def footprint(geometry: Geometry) -> int:
        kv = math.prod(geometry.kernel_size)
        per_group = kv * (b_total // groups) if groups > 1 else 0
        small = math.prod(geometry.input_size) * (kv * b_total + a_total + per_group)
        sums = 2 * a_total * kv * b_total // groups  # a group's double-precision sum of partial products
        elements = small + math.prod(geometry.output_size) * b_total + sums
        return elements * dtype.itemsize + partials_bytes() + im2col_bytes(geometry)

    return ConvBlocked(footprint)


def _add_weight_gradient(small_cl: np.ndarray, cols: np.ndarray, groups: int, dw: np.ndarray) -> None:
    """Add one block's ``small^T @ cols`` to ``dw`` (G, A, Kv*B).

    ``small_cl`` is ``(n, P_small, A_total)`` channels-last, ``cols`` ``(n, P_small, Kv, B_total)``.
    With a double-precision ``dw`` (single-precision inputs), the rows are cut into chunks of
    :func:`chunk_rows`, each chunk's product is one single-precision GEMM (a batch of them at once,
    ``np.matmul`` over chunks), and the partial products are summed in double precision.
    """
    n, p_small, kv, b_total = cols.shape
    rows = n * p_small
    small_rows = small_cl.reshape(rows, -1)  # (M, A_total)
    a, bb = dw.shape[1], b_total // groups
    exact = dw.dtype == cols.dtype  # no wider accumulator: one product per group
    step = rows if exact else chunk_rows(a * kv * bb * (groups if a * bb <= SMALL_GROUPS else 1))
    full = rows - rows % step
    if groups > 1 and a * bb <= SMALL_GROUPS:  # one contraction over all groups
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
    flat = cols.reshape(rows, kv, b_total)  # (M, Kv, B_total)
    threads = max(1, min(effective().threads, full // step))
    batch = max(1, partials_bytes() // (threads * a * kv * bb * cols.itemsize))
    for g in range(groups):
        rhs = flat[:, :, g * bb : (g + 1) * bb]  # (M, Kv, B)
        if groups > 1:
            rhs = np.ascontiguousarray(rhs)
        rhs = rhs.reshape(rows, kv * bb)  # (M, Kv*B)
        lhs = small_rows[:, g * a : (g + 1) * a]  # (M, A)
        if exact or full <= step:  # one product: nothing to split (its float32 sum is one chunk's)
            dw[g] += lhs.T @ rhs  # (A, M) @ (M, Kv*B)
            continue
        dw[g] += _chunked_product(lhs[:full], rhs[:full], step, batch, threads, dw.dtype)
        if full < rows:
            dw[g] += lhs[full:].T @ rhs[full:]


def _chunked_product(
    lhs: np.ndarray, rhs: np.ndarray, step: int, batch: int, threads: int, dtype: np.dtype
) -> np.ndarray:
    """``lhs^T @ rhs`` summed in ``dtype`` from products of ``step`` rows each.

    Each thread takes ``batch`` chunks at a time (one ``np.matmul`` over them, with
    single-threaded BLAS: many small multi-threaded GEMMs would each wait for BLAS's
    threads, which on a busy machine costs more than the GEMM) and adds them into its
    own accumulator; the accumulators are added at the end.
    """
    rows, a = lhs.shape
    width = rhs.shape[1]
    chunks = rows // step
    starts = list(range(0, chunks, batch))
    claim = _compiled.Claim(len(starts))
    sums: list[np.ndarray] = []

    def work() -> None:
        total = np.zeros((a, width), dtype=dtype)
        for index in claim:
            c0 = starts[index]
            k = min(batch, chunks - c0)
            r0, r1 = c0 * step, (c0 + k) * step
            left = lhs[r0:r1].reshape(k, step, a).transpose(0, 2, 1)  # (k, A, m)
            part = np.matmul(left, rhs[r0:r1].reshape(k, step, width))  # (k, A, W)
            for product in part:  # cast while adding: no double-precision temporary of the batch
                total += product
        sums.append(total)

    with _blas.single_threaded_blas():
        _compiled.run_workers(work, min(threads, len(starts)), claim)
    return np.sum(sums, axis=0) if len(sums) > 1 else sums[0]
