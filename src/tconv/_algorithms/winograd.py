"""The ``"winograd"`` algorithm of ``conv_transpose``: fewer multiplications for stride-1 3x3 layers.

A stride-1 transposed convolution is the correlation of the input, padded by
``k - 1 - crop_begin`` cells, with the spatially flipped kernel. Winograd's minimal
filtering F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural
Networks", 2016) computes each 2x2 block of that correlation from the 4x4 input tile
under it with 16 multiplications per channel pair instead of 36:

    Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A

summed over the input channels, with the transforms of :mod:`.numba_kernels`
(``winograd_input``, ``winograd_output``: additions only, one compiled pass each)
and the element-wise products as 16 GEMMs over the channels,
``M[ξ] = U[ξ] @ V[ξ]`` with ``U[ξ]`` the transformed weight ``(C_out, C_in)`` (packed once
by a prepared call) and ``V[ξ]`` the transformed tiles ``(C_in, tiles)``. Channels-first
data are read and written as they are.

It applies to 2-d, stride 1, dilation 1, 3x3 kernels, one group, with the compiled
kernels; any other call runs ``"gemm"``. Its float32 error is a few times that of a
direct sum (the transforms add and subtract before multiplying): it is measured
against float64 on the benchmark layers in ``docs/performance.md``, and ``"auto"``
does not choose it — ask for it with ``algorithm="winograd"``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from .._options import effective
from ..geometry import Geometry
from . import blas as _blas
from . import compiled as _compiled
from . import gemm
from .blocking import blocked
from .problem import Problem

__all__ = ["applies", "run", "transformed_weight"]

#: The weight transform of F(2x2, 3x3).
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def applies(geometry: Geometry, problem: Problem) -> bool:
    """Whether the Winograd kernels compute this call (else ``"gemm"`` does)."""
    return (
        geometry.ndim == 2
        and geometry.kernel_size == (3, 3)
        and geometry.stride == (1, 1)
        and geometry.dilation == (1, 1)
        and problem.groups == 1
        and _compiled.available()
    )


def transformed_weight(w: np.ndarray) -> np.ndarray:
    """``U[ξ*4 + ν, co, ci] = (G g G^T)[ξ, ν]`` with ``g = w[ci, co]`` flipped: ``(16, C_out, C_in)``."""
    g = w[:, :, ::-1, ::-1]  # (C_in, C_out, 3, 3): the correlation's kernel
    u = np.einsum("ax,ioxy,by->aboi", G, g.astype(np.promote_types(g.dtype, np.float64)), G)  # (4, 4, C_out, C_in)
    return np.ascontiguousarray(u.reshape(16, w.shape[1], w.shape[0]), dtype=w.dtype)


def _tiles(geometry: Geometry) -> tuple[int, int]:
    return -(-geometry.output_size[0] // 2), -(-geometry.output_size[1] // 2)


def winograd(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """F(2x2, 3x3) on one batch block into ``out`` (see the module docstring)."""
    n = x.shape[0]
    c_in, c_out = problem.c_in, problem.c_out
    th, tw = _tiles(geometry)
    pad_h, pad_w = (2 - b for b in geometry.crop_begin)  # the correlation's padding before the input
    x4 = x if problem.layout == "channels_first" else x.transpose(0, 3, 1, 2)  # (N, C_in, H, W) view
    out4 = out if problem.layout == "channels_first" else out.transpose(0, 3, 1, 2)  # (N, C_out, Ho, Wo) view
    kernels = _compiled.kernels()
    threads = effective().threads
    v = np.empty((16, c_in, n * th * tw), dtype=problem.dtype)  # transformed tiles
    calls: list[tuple[Any, ...]] = [
        (x4, pad_h, pad_w, th, tw, v, a, b) for a, b in _compiled.split(n * c_in * th, 4 * threads)
    ]
    _compiled.parallel_for(kernels["winograd_input"], calls)
    u = problem.pack("winograd", lambda: transformed_weight(w))  # (16, C_out, C_in)
    m = _blas.matmul(u, v)  # (16, C_out, tiles): 16 GEMMs over the channels
    del v
    calls = [(m, th, tw, problem.bias, out4, a, b) for a, b in _compiled.split(n * c_out * th, 4 * threads)]
    _compiled.parallel_for(kernels["winograd_output"], calls)


def _footprint(geometry: Geometry, problem: Problem) -> int:
    th, tw = _tiles(geometry)
    # the transformed tiles, and their products (both 16 values per tile and channel)
    return 16 * th * tw * (problem.c_in + problem.c_out) * problem.dtype.itemsize


_winograd_blocked = blocked(winograd, _footprint)


def minimum(geometry: Geometry, problem: Problem) -> int:
    """The temporary bytes of the smallest piece (of ``"gemm"`` where Winograd does not apply)."""
    return (
        _winograd_blocked.minimum(geometry, problem) if applies(geometry, problem) else gemm.minimum(geometry, problem)
    )


def run(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"winograd"``: F(2x2, 3x3) where it applies, ``"gemm"`` elsewhere.

    The transforms mix the weights (and the zero padding) before multiplying, so
    non-finite weights are left to ``"gemm"`` (which multiplies input elements only)
    and added, as :mod:`.phase` does.
    """
    if not applies(geometry, problem) or math.prod(geometry.output_size) == 0:
        return gemm.run(x, w, geometry, problem)
    finite = np.isfinite(w)
    if finite.all():
        return _winograd_blocked(x, w, geometry, problem)
    y = _winograd_blocked(x, np.where(finite, w, 0), geometry, replace(problem, packed=None))
    no_bias = replace(problem, bias=np.zeros_like(problem.bias), has_bias=False, packed=None)
    y += gemm.run(x, np.where(finite, 0, w), geometry, no_bias)
    return y
