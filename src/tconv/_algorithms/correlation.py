"""The ``"im2col"`` algorithm of ``conv_transpose``: a stride-1 layer as the convolution it is.

A stride-1 transposed convolution *is* a convolution: of its input, with the kernel
flipped and its channels swapped per group, padded by ``d*(k - 1) - crop_begin``
(:func:`equivalent_geometry`; a negative padding crops). It runs as the forward
convolution does (:func:`tconv._algorithms.im2col._conv_tiled`): in cache tiles, the
tile's columns (each output pixel's input window, ``prod(k) x C_in`` values) gathered
by one compiled pass, then one single-precision GEMM per group over ``prod(k) x C_in``,
written straight into the output in its layout. Strided layers run ``"gemm"``.

Against ``"gemm"`` (one GEMM over ``C_in`` per input pixel, then a gather of the
``prod(k) x C_out`` columns onto the output), its columns hold ``prod(k) x C_in``
values per pixel instead of ``prod(k) x C_out``, and its GEMM sums over
``prod(k) x C_in`` instead of ``C_in``: it wins where ``C_in`` is small against
``C_out`` (a 7x7 layer of 3 -> 64 channels: 9x; 5x5, 16 -> 192: 3x) and loses where
``C_in`` is the larger, which is why ``"auto"`` takes it only without groups, for more than
one input pixel, where gemm's columns are at least twice its own (in 3-d at least as large;
:func:`tconv._algorithms.choose`, measured in ``docs/performance.md``).
The polyphase generalisation (each output phase of a strided layer a stride-1
convolution with its taps, then copied into its strided positions) was built and
measured slower than ``"gemm"`` on all 13 strided layers tried, small ``C_in`` included,
and dropped.

A non-finite weight (inf, NaN) runs ``"gemm"``: the columns' zeros (outside the input)
would multiply it. So does a call without the compiled kernels or control over BLAS's
threads, and one whose sample does not fit the ``memory_budget`` whole (:func:`_applies`).
"""

from __future__ import annotations

import math

import numpy as np

from .._options import effective
from ..geometry import Geometry
from . import blas as _blas
from . import compiled as _compiled
from . import gemm
from .im2col import _conv_tiled, conv, conv_footprint, direct_convolution
from .problem import Problem, channels_last

__all__ = ["equivalent_geometry", "minimum", "run"]


def equivalent_geometry(geometry: Geometry) -> Geometry:
    """The convolution a stride-1 transposed convolution is: it reads the transposed convolution's
    input (the big side here) and writes its output (the small side), with the flipped kernel and
    begin padding ``d*(k - 1) - crop_begin`` (negative: a crop).

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> g = equivalent_geometry(conv_transpose_geometry((5,), 3, padding=1))
    >>> g.input_size, g.output_size, g.crop_begin
    ((5,), (5,), (1,))
    """
    assert all(s == 1 for s in geometry.stride), geometry.stride
    return Geometry(
        input_size=geometry.output_size,
        output_size=geometry.input_size,
        kernel_size=geometry.kernel_size,
        stride=geometry.stride,
        dilation=geometry.dilation,
        crop_begin=geometry.zero_insertion_padding,
    )


def run(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"im2col"`` (see the module docstring)."""
    if not _applies(geometry, problem) or not np.isfinite(w).all():
        return gemm.run(x, w, geometry, problem)
    groups = problem.groups
    equivalent = equivalent_geometry(geometry)
    if direct_convolution(groups, problem.cig, problem.cog):  # the convolution's compiled direct pass
        return conv(x, _equivalent_weight(w, groups), equivalent, problem)
    wm = problem.pack("im2col", lambda: _packed_weight(w, problem))  # (G, Kv*Cig, Cog)

    def block(xb: np.ndarray, wb: np.ndarray, g: Geometry, p: Problem) -> np.ndarray:
        return _conv_tiled(channels_last(xb, p.layout, "channels_last"), wb, g, p, exact=False)

    return conv_footprint(problem).run(block, x, wm, equivalent, problem)


def _equivalent_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """``(C_in, Cog, *k)`` -> the equivalent convolution's ``(C_out, Cig, *k)``: channels swapped per group,
    the kernel flipped."""
    c_in, cog, *k = w.shape
    wg = w.reshape(groups, c_in // groups, cog, *k)
    flipped = wg[(slice(None),) * 3 + (slice(None, None, -1),) * len(k)]
    return flipped.transpose(0, 2, 1, *range(3, 3 + len(k))).reshape(groups * cog, c_in // groups, *k)


def _packed_weight(w: np.ndarray, problem: Problem) -> np.ndarray:
    """The equivalent convolution's packed weight ``(G, Kv*Cig, Cog)`` (the columns' order: flipped taps,
    then channels), from ``gemm``'s packing ``(G, Cig, Kv*Cog)`` (one compiled transpose) by one copy of
    ``Cog``-long rows: flipping every spatial axis reverses the flat tap index. (Flipping and
    transposing the whole weight with NumPy took 14 ms on a 512 x 512 x 3 x 3 weight, longer than
    its GEMM.)"""
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    kv = math.prod(w.shape[2:])
    packed = gemm._pack_block(w, problem, 0, cog, kv).reshape(groups, cig, kv, cog)
    flipped = packed[:, :, ::-1].transpose(0, 2, 1, 3)  # (G, Kv, Cig, Cog), a view
    return np.ascontiguousarray(flipped).reshape(groups, kv * cig, cog)


def _applies(geometry: Geometry, problem: Problem) -> bool:
    """Whether the convolution computes this call (else ``"gemm"`` does): stride 1, the compiled kernels
    and BLAS's threads under control, and one sample's temporaries within the memory budget (the
    convolution's tiles would build position tables per tile, growing with the padding: a dilation
    of 300 made hundreds of tiles)."""
    if any(s != 1 for s in geometry.stride) or not (_compiled.available() and _blas.available()):
        return False
    return conv_footprint(problem).footprint(equivalent_geometry(geometry)) <= effective().memory_budget


def minimum(geometry: Geometry, problem: Problem) -> int:
    """The temporary bytes of the smallest piece (``memory_budget`` below it refuses the call): one
    sample of the convolution, or what ``"gemm"`` needs, which runs when that does not fit."""
    if any(s != 1 for s in geometry.stride):
        return gemm.minimum(geometry, problem)
    return min(conv_footprint(problem).footprint(equivalent_geometry(geometry)), gemm.minimum(geometry, problem))
