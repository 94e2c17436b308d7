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
from . import compiled as _compiled
from .blocking import ConvBlocked
from .problem import Problem, channels_last, layout_index
from .taptable import im2col_positions

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
        return (math.prod(geometry.output_size) * problem.c_in + small) * problem.dtype.itemsize

    return ConvBlocked(footprint)


def conv(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"gemm"`` convolution: im2col + one GEMM per group, under the memory budget.

    ``x`` has ``geometry.output_size`` (the big side) and the result
    ``geometry.input_size``; ``w`` is ``(C_out, C_in/G, *k)``.
    """
    n = x.shape[0]
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    kv = math.prod(geometry.kernel_size)
    out = problem.output(n, geometry.input_size)
    wm = np.ascontiguousarray(w.reshape(groups, cog, cig, kv).transpose(0, 3, 2, 1)).reshape(groups, kv * cig, cog)
    for samples, tile in conv_footprint(problem).pieces(n, geometry):
        if tile is None:
            out[samples] = _conv_block(x[samples], wm, geometry, problem)
        else:
            assert tile.geometry is not None  # a convolution's tile always reads at least one cell
            xs = x[layout_index(problem.layout, samples, tile.input)]
            out[layout_index(problem.layout, samples, tile.output)] = _conv_block(xs, wm, tile.geometry, problem)
    return out


def _conv_block(x: np.ndarray, wm: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The convolution of one block with the packed weight ``wm`` ``(G, Kv*Cig, Cog)``, bias added."""
    n = x.shape[0]
    groups, cig, cog, c_out = problem.groups, problem.cig, problem.cog, problem.c_out
    kv = math.prod(geometry.kernel_size)
    p_out = math.prod(geometry.input_size)
    cols = im2col(channels_last(x, problem.layout), geometry)  # (n, P_out, Kv, C_in)
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


def weight_gradient(small: np.ndarray, big: np.ndarray, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
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
    for samples, tile in weight_gradient_pieces(a_total, b_total, groups, dtype).pieces(n, geometry):
        if tile is None:
            _weight_gradient_block(small[samples], big[samples], geometry, groups, layout, dw)
        else:
            assert tile.geometry is not None  # a convolution's tile always reads at least one cell
            small_tile = small[layout_index(layout, samples, tile.output)]
            big_tile = big[layout_index(layout, samples, tile.input)]
            _weight_gradient_block(small_tile, big_tile, tile.geometry, groups, layout, dw)
    dw = dw.reshape(groups, a, kv, bb).transpose(0, 1, 3, 2)  # (G, A, B, Kv)
    return dw.reshape(groups, a, bb, *geometry.kernel_size)  # (G, A, B, *k)


def weight_gradient_pieces(a_total: int, b_total: int, groups: int, dtype: np.dtype) -> ConvBlocked:
    """The pieces of :func:`weight_gradient`: for one sample, the channels-last copies of both sides,
    the columns of the big side, and (with groups) a group's copy of them."""

    def footprint(geometry: Geometry) -> int:
        kv = math.prod(geometry.kernel_size)
        per_group = kv * (b_total // groups) if groups > 1 else 0
        small = math.prod(geometry.input_size) * (kv * b_total + a_total + per_group)
        return (small + math.prod(geometry.output_size) * b_total) * dtype.itemsize

    return ConvBlocked(footprint)


def _weight_gradient_block(
    small: np.ndarray, big: np.ndarray, geometry: Geometry, groups: int, layout: str, dw: np.ndarray
) -> None:
    """Add one block's contribution ``small^T @ im2col(big)`` to ``dw`` (G, A, Kv*B)."""
    n = small.shape[0]
    kv = math.prod(geometry.kernel_size)
    p_small = math.prod(geometry.input_size)
    big_cl = channels_last(big, layout)  # (n, P_big, B_total)
    small_cl = channels_last(small, layout).reshape(n * p_small, -1)  # (n*P_small, A_total)
    b_total = big_cl.shape[2]
    cols = im2col(big_cl, geometry)  # (n, P_small, Kv, B_total)
    a, bb = dw.shape[1], b_total // groups
    if groups > 1 and a * bb <= SMALL_GROUPS:  # one contraction over all groups
        sg = small_cl.reshape(n * p_small, groups, a)  # (M, G, A)
        cg = cols.reshape(n * p_small, kv, groups, bb)  # (M, Kv, G, B)
        dw += np.einsum("mga,mtgb->gatb", sg, cg).reshape(groups, a, kv * bb)
        return
    for g in range(groups):
        rhs = cols[..., g * bb : (g + 1) * bb].reshape(n * p_small, kv * bb)  # (n*P_small, Kv*B)
        dw[g] += small_cl[:, g * a : (g + 1) * a].T @ rhs  # (A, n*P_small) @ (n*P_small, Kv*B)
