"""The reference algorithms: the textbook views of the operator, written for clarity.

For ``conv_transpose``:

- :func:`scatter`: each input element stamps the kernel, scaled by its value, into
  the output at stride offsets (:func:`tconv.kernels.scatter`);
- :func:`dilate`: insert ``stride - 1`` zeros between input elements, pad by
  ``dilation*(k - 1) - padding`` and correlate with the spatially flipped kernel
  (:func:`zero_insert`);
- :func:`matrix`: multiply by ``C.T``, the transpose of the forward convolution's
  matrix (:mod:`tconv.matrix`).

For ``conv``: :func:`conv_direct`, the gather of :func:`tconv.kernels.correlate`,
and :func:`conv_matrix`, multiplication by ``C``.

They work in the canonical grouped channels-first layout of :mod:`tconv.kernels`
and add the bias and the layout change afterwards; every one has the signature of
the registry (:mod:`tconv._algorithms`).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable

import numpy as np

from .. import kernels as _kernels
from ..geometry import Geometry
from ..matrix import build_bytes, geometry_matrix, matrix_bytes
from .blocking import ConvBlocked, blocked
from .problem import Problem, all_finite

__all__ = ["conv_direct", "conv_matrix", "dilate", "matrix", "scatter", "zero_insert"]


def _channels_first(x: np.ndarray, problem: Problem) -> np.ndarray:
    """A batched array in the problem's layout, channels-first (a view)."""
    return np.moveaxis(x, -1, 1) if problem.layout == "channels_last" else x  # (N, C, *size)


def _finish(y: np.ndarray, problem: Problem) -> np.ndarray:
    """A channels-first result ``(N, C_out, *size)``: bias added, in the problem's layout."""
    if problem.has_bias:
        y += problem.bias.reshape(-1, *(1,) * (y.ndim - 2))  # (C_out, 1, ..., 1)
    return np.moveaxis(y, 1, -1) if problem.layout == "channels_last" else y  # (N, *size, C_out)


def _grouped(
    kernel: Callable[[np.ndarray, np.ndarray, Geometry], np.ndarray],
    x: np.ndarray,
    w: np.ndarray,
    geometry: Geometry,
    problem: Problem,
) -> np.ndarray:
    """Run a canonical kernel ``(N, G, Ci, *i), (G, Ci, Co, *k) -> (N, G, Co, *o)`` on the registry's arrays."""
    x = _channels_first(x, problem)  # (N, C_in, *i)
    n, g = x.shape[0], problem.groups
    xg = x.reshape(n, g, problem.cig, *geometry.input_size)  # (N, G, C_in/G, *i)
    wg = w.reshape(g, problem.cig, *w.shape[1:])  # (G, C_in/G, C_out/G, *k)
    y = kernel(xg, wg, geometry)  # (N, G, C_out/G, *o)
    return _finish(y.reshape(n, problem.c_out, *geometry.output_size), problem)  # (N, C_out, *o)


def _scatter(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    out[...] = _grouped(_kernels.scatter, x, w, geometry, problem)


def _scatter_footprint(geometry: Geometry, problem: Problem) -> int:
    # the result, and per tap a copy of the input slice and its contraction (plus a channels-first copy)
    p_in, p_out = math.prod(geometry.input_size), math.prod(geometry.output_size)
    return (p_out * problem.c_out + p_in * (2 * problem.c_in + problem.c_out)) * problem.dtype.itemsize


#: Transposed convolution as a scatter: each input element adds the kernel, scaled by its value, at
#: stride offsets (:func:`tconv.kernels.scatter`), in blocks under the memory budget.
scatter = blocked(_scatter, _scatter_footprint)


def _pad_or_crop(x: np.ndarray, before: tuple[int, ...], after: tuple[int, ...]) -> np.ndarray:
    """Zero-pad the last ``len(before)`` axes by ``before``/``after``; negative amounts crop."""
    lead = x.ndim - len(before)
    widths = [(0, 0)] * lead + [(max(b, 0), max(a, 0)) for b, a in zip(before, after)]
    x = np.pad(x, widths)
    index = tuple(slice(max(-b, 0), n - max(-a, 0)) for b, a, n in zip(before, after, x.shape[lead:]))
    return x[(Ellipsis,) + index]


def zero_insert(x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The input of the ``"dilate"`` view: zeros inserted, then padded.

    ``x`` is ``(..., *geometry.input_size)`` (any leading axes). Element ``j`` moves
    to ``s*j`` with ``s - 1`` zeros in between; the result is padded by
    ``d*(k - 1) - crop_begin`` at the start (negative: cropped) and at the end so
    that a stride-1 correlation with the dilated kernel yields ``output_size``
    values: it has size ``output_size + d*(k - 1)``.

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> zero_insert(np.array([1., 2.]), conv_transpose_geometry(2, 3, stride=2))
    array([0., 0., 1., 0., 2., 0., 0.])
    """
    lead = x.shape[: x.ndim - geometry.ndim]
    s, o = geometry.stride, geometry.output_size
    ke = geometry.effective_kernel_size
    dilated_size = tuple((i - 1) * si + 1 for i, si in zip(geometry.input_size, s))
    x_dil = np.zeros((*lead, *dilated_size), dtype=x.dtype)  # (..., *dilated)
    x_dil[(Ellipsis,) + tuple(slice(None, None, si) for si in s)] = x
    before = geometry.zero_insertion_padding
    after = tuple(oi + k - 1 - bf - ds for oi, k, bf, ds in zip(o, ke, before, dilated_size))
    return _pad_or_crop(x_dil, before, after)  # (..., *(o + k_eff - 1))


def _dilate(x: np.ndarray, w: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Zero insertion + padding + correlation with the flipped kernel.

    Per axis the transposed convolution's full output is
    ``full[f] = sum_t x_dil[f - d*t] * w[t]`` where ``x_dil`` holds ``x[j]`` at
    ``s*j`` and zeros in between. Substituting the flipped tap ``t' = k - 1 - t``
    turns it into a correlation, ``sum_t' x_dil[f - (k_eff - 1) + d*t'] * w[k-1-t']``,
    so output ``o`` (``= full[o + b]``) is a stride-1 correlation of ``x_dil``
    padded by ``k_eff - 1 - b`` at the start (:func:`zero_insert`), with the flipped
    kernel whose channel axes are swapped to the convolution layout ``(C_out, C_in)``.
    """
    x_pad = zero_insert(x, geometry)  # (N, G, Ci, *(o + k_eff - 1))
    spatial = tuple(range(3, w.ndim))
    w_flip = np.flip(w, axis=spatial).swapaxes(1, 2)  # (G, Co, Ci, *k), flipped
    nd = geometry.ndim
    plain = Geometry(
        geometry.output_size, x_pad.shape[3:], geometry.kernel_size, (1,) * nd, geometry.dilation, (0,) * nd
    )
    finite = np.isfinite(w_flip)
    if finite.all():
        return _kernels.correlate(x_pad, w_flip, plain)
    if not all_finite(x):
        # the split below would multiply an infinite input by the zeros put in place of the finite
        # entries (NaN where the direct sums have an infinity): the scatter view of the same sums
        return _kernels.scatter(x, w, geometry)
    # A non-finite weight times an inserted (or padding) zero would be 0*inf = NaN where the tap
    # meets no input at all; PyTorch and the other algorithms never form that product. So the
    # non-finite entries count only where the window holds an input element (`real`).
    y = _kernels.correlate(x_pad, np.where(finite, w_flip, 0), plain)
    real = zero_insert(np.ones(geometry.input_size, dtype=bool), geometry)  # (*(o + k_eff - 1)) input cells
    rest = np.where(finite, 0, w_flip)  # (G, Co, Ci, *k): the non-finite entries
    for tap, src, dst in _kernels.tap_pairs(plain):
        if finite[(Ellipsis,) + tap].all():
            continue
        part = _kernels.correlate(x_pad[(Ellipsis,) + dst], rest[(Ellipsis,) + tap + (None,) * nd], _one(src))
        y[(Ellipsis,) + src] += np.where(real[dst], part, 0)
    return y


def _one(window: tuple[slice, ...]) -> Geometry:
    """A stride-1 geometry with a one-tap kernel over ``window`` (input and output of its size)."""
    size = tuple(s.stop - s.start for s in window)
    nd = len(size)
    return Geometry(size, size, (1,) * nd, (1,) * nd, (1,) * nd, (0,) * nd)


def _dilate_into(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    out[...] = _grouped(_dilate, x, w, geometry, problem)


def _dilate_footprint(geometry: Geometry, problem: Problem) -> int:
    # the zero-inserted input and its padded copy, a copy of each tap's window and its contraction,
    # the result (and, for non-finite weights, the mask and one more result-sized part)
    padded = math.prod(o + k - 1 for o, k in zip(geometry.output_size, geometry.effective_kernel_size))
    dilated = math.prod((i - 1) * s + 1 for i, s in zip(geometry.input_size, geometry.stride))
    p_in, p_out = math.prod(geometry.input_size), math.prod(geometry.output_size)
    elements = problem.c_in * (dilated + padded + p_out + p_in) + 4 * problem.c_out * p_out
    return elements * problem.dtype.itemsize + padded


#: Transposed convolution as zero insertion + padding + correlation with the flipped kernel, in
#: blocks under the memory budget.
dilate = blocked(_dilate_into, _dilate_footprint)


def _by_matrix(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, op: str) -> np.ndarray:
    """Multiplication by the convolution matrix ``C`` (``op="conv"``) or its transpose (``"conv_transpose"``)."""
    x = _channels_first(x, problem)  # (N, C_in, *i)
    n = x.shape[0]
    c = geometry_matrix(w, problem.groups, geometry, sparse=None)  # (C_small*prod(i), C_big*prod(o))
    if op == "conv_transpose":
        y = np.asarray(x.reshape(n, c.shape[0]) @ c)  # (N, C_in*prod(i)) @ C -> (N, C_out*prod(o))
        size = geometry.output_size
    else:
        y = np.asarray(c @ x.reshape(n, c.shape[1]).T).T  # (N, C_out*prod(o))
        size = geometry.input_size
    y = y.reshape(n, problem.c_out, *size).astype(problem.dtype, copy=False)  # (N, C_out, *o)
    return _finish(y, problem)


def _matrix_into(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    out[...] = _by_matrix(x, w, geometry, problem, "conv_transpose")


def _sparse() -> bool:
    return importlib.util.find_spec("scipy") is not None


def _matrix_footprint(geometry: Geometry, problem: Problem) -> int:
    # the matrix and the chunks it is built from, a channels-first copy of the input, the product
    # and its cast
    itemsize = problem.dtype.itemsize
    w_shape = (problem.c_in, problem.cog)
    built = matrix_bytes(w_shape, problem.groups, geometry, itemsize, _sparse()) + build_bytes(geometry)
    p_in, p_out = math.prod(geometry.input_size), math.prod(geometry.output_size)
    return built + (p_in * problem.c_in + 2 * p_out * problem.c_out) * itemsize


#: Transposed convolution as multiplication by ``C.T`` (:func:`tconv.conv_transpose_matrix`): the
#: matrix of each block (or output tile) under the memory budget.
matrix = blocked(_matrix_into, _matrix_footprint)


def conv_direct_pieces(problem: Problem) -> ConvBlocked:
    """The pieces of :func:`conv_direct`: for one sample, the result, a channels-first copy of the
    input, and per tap a copy of its window and its contraction."""

    def footprint(geometry: Geometry) -> int:
        p_small, p_big = math.prod(geometry.input_size), math.prod(geometry.output_size)
        elements = p_big * problem.c_in + p_small * (problem.c_in + 3 * problem.c_out)
        return elements * problem.dtype.itemsize

    return ConvBlocked(footprint)


def conv_direct(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """Convolution as the gather of :func:`tconv.kernels.correlate`, the adjoint of ``scatter``,
    under the memory budget."""
    return conv_direct_pieces(problem).run(_conv_direct, x, w, geometry, problem)


def _conv_direct(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    x = _channels_first(x, problem)  # (N, C_in, *i)
    n, g = x.shape[0], problem.groups
    xg = x.reshape(n, g, problem.cig, *geometry.output_size)  # (N, G, C_in/G, *i)
    wg = w.reshape(g, problem.cog, *w.shape[1:])  # (G, C_out/G, C_in/G, *k)
    y = _kernels.correlate(xg, wg, geometry)  # (N, G, C_out/G, *o)
    return _finish(y.reshape(n, problem.c_out, *geometry.input_size), problem)  # (N, C_out, *o)


def conv_matrix_pieces(problem: Problem) -> ConvBlocked:
    """The pieces of :func:`conv_matrix`: the matrix of a block, a channels-first copy of the input,
    the product and its cast."""

    def footprint(geometry: Geometry) -> int:
        itemsize = problem.dtype.itemsize
        # from the transposed convolution's side: C_out of the convolution is the matrix's C_in
        built = matrix_bytes((problem.c_out, problem.cig), problem.groups, geometry, itemsize, _sparse())
        p_small, p_big = math.prod(geometry.input_size), math.prod(geometry.output_size)
        return built + build_bytes(geometry) + (p_big * problem.c_in + 2 * p_small * problem.c_out) * itemsize

    return ConvBlocked(footprint)


def conv_matrix(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """Convolution as multiplication by its matrix ``C`` (:func:`tconv.conv_matrix`), under the memory budget."""
    return conv_matrix_pieces(problem).run(_conv_by_matrix, x, w, geometry, problem)


def _conv_by_matrix(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    return _by_matrix(x, w, geometry, problem, "conv")
