"""The NumPy kernels: transposed convolution as a scatter, convolution as a gather.

Both kernels work on one canonical, grouped, channels-first layout and on a
:class:`tconv.geometry.Geometry` (read ``tconv/geometry.py`` first):

- ``x`` for :func:`scatter` is ``(N, G, C_in/G, *input_size)`` and its weight
  ``(G, C_in/G, C_out/G, *kernel_size)``: PyTorch's ``(C_in, C_out/G, *k)`` weight
  with the group axis split off;
- ``x`` for :func:`correlate` is ``(N, G, C/G, *output_size)`` (the convolution
  reads the big side) and its weight ``(G, C_out/G, C/G, *kernel_size)``.

The algebra, once
-----------------
Per axis, input element ``j`` and kernel tap ``t`` meet at output position
``o = s*j + d*t - b`` (``b`` = ``geometry.crop_begin``). The transposed
convolution *scatters*::

    y[n, g, co, o] += sum_ci x[n, g, ci, j] * w[g, ci, co, t]

and the convolution, its adjoint, *gathers* along the same pairs ``(j, o)``::

    y[n, g, co, j] += sum_ci x[n, g, ci, o] * w[g, co, ci, t]

The third product of the same pairs, summed over the batch and positions instead
of a channel, is the weight gradient of both (:func:`weight_correlation`)::

    dw[g, ci, co, t] = sum_n sum_j x[n, g, ci, j] * dy[n, g, co, o]

For a fixed tap ``t`` the pairs ``(j, o)`` that stay inside both arrays form one
strided slice on each side (:func:`tap_slices`), so each kernel is a loop over
the ``prod(kernel_size)`` taps with one channel contraction and one strided
slice-add inside: Chainer's ``col2im`` / ``im2col`` loop. Swapping the two slices
is all that turns one operator into its adjoint.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np

from .geometry import Geometry, tap_range

__all__ = ["correlate", "scatter", "tap_pairs", "tap_slices", "weight_correlation"]


def tap_slices(geometry: Geometry, tap: tuple[int, ...]) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
    """The input and output slices that kernel tap ``tap`` connects.

    Returns ``(input_slices, output_slices)``, one slice per spatial axis, such that
    input element ``input[j]`` for ``j`` in the first slice meets output element
    ``output[s*j + d*t - b]`` in the second; ``None`` when the tap reaches no output.

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> g = conv_transpose_geometry(3, 3, stride=2, padding=1)   # output size 5
    >>> tap_slices(g, (0,))    # tap 0 of input j lands at 2j - 1: j = 1, 2 -> o = 1, 3
    ((slice(1, 3, None),), (slice(1, 4, 2),))
    """
    src, dst = [], []
    for t, i, o, s, d, b in zip(
        tap, geometry.input_size, geometry.output_size, geometry.stride, geometry.dilation, geometry.crop_begin
    ):
        shift = d * t - b  # output position of input element 0
        lo, hi = tap_range(shift, s, i, 0, o)  # the j with 0 <= s*j + shift < o
        if lo >= hi:
            return None
        src.append(slice(lo, hi))
        dst.append(slice(s * lo + shift, s * (hi - 1) + shift + 1, s))
    return tuple(src), tuple(dst)


def tap_pairs(geometry: Geometry) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...], tuple[slice, ...]]]:
    """``(tap, input_slices, output_slices)`` for every kernel tap that reaches the output, in C order.

    The loop of every per-tap kernel (:func:`tap_slices` of each tap, the taps that
    reach nothing left out).

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> [tap for tap, _, _ in tap_pairs(conv_transpose_geometry(1, 3, padding=1))]   # output size 1: tap 1 only
    [(1,)]
    """
    for tap in itertools.product(*(range(k) for k in geometry.kernel_size)):
        slices = tap_slices(geometry, tap)
        if slices is not None:
            yield (tap, *slices)


def _contract(xs: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """Contract the channel axis: ``(N, G, Ci, *S)`` with ``(G, Ci, Co)`` -> ``(N, G, Co, *S)``."""
    n, g, ci = xs.shape[:3]
    spatial = xs.shape[3:]
    flat = xs.reshape(n, g, ci, math.prod(spatial))  # (N, G, Ci, prod(S))
    out = np.matmul(wt.swapaxes(1, 2), flat)  # (G, Co, Ci) @ (N, G, Ci, P) -> (N, G, Co, P)
    return out.reshape(n, g, wt.shape[2], *spatial)  # (N, G, Co, *S)


def scatter(x: np.ndarray, w: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Transposed convolution: every input element adds a scaled kernel into the output.

    Parameters
    ----------
    x : ndarray, shape (N, G, C_in/G, *geometry.input_size)
    w : ndarray, shape (G, C_in/G, C_out/G, *geometry.kernel_size)
    geometry : Geometry

    Returns
    -------
    ndarray, shape (N, G, C_out/G, *geometry.output_size), dtype of ``x @ w``
    """
    n, g = x.shape[:2]
    co = w.shape[2]
    y = np.zeros((n, g, co, *geometry.output_size), dtype=np.result_type(x, w))
    for tap, src, dst in tap_pairs(geometry):
        y[(Ellipsis,) + dst] += _contract(x[(Ellipsis,) + src], w[(Ellipsis,) + tap])
    return y


def correlate(x: np.ndarray, w: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Convolution (cross-correlation, as in deep learning): the adjoint of :func:`scatter`.

    Parameters
    ----------
    x : ndarray, shape (N, G, C_in/G, *geometry.output_size)
        The convolution's input lives on the *output* side of the geometry.
    w : ndarray, shape (G, C_out/G, C_in/G, *geometry.kernel_size)
    geometry : Geometry

    Returns
    -------
    ndarray, shape (N, G, C_out/G, *geometry.input_size)
    """
    n, g = x.shape[:2]
    co = w.shape[1]
    y = np.zeros((n, g, co, *geometry.input_size), dtype=np.result_type(x, w))
    for tap, src, dst in tap_pairs(geometry):
        y[(Ellipsis,) + src] += _contract(x[(Ellipsis,) + dst], w[(Ellipsis,) + tap].swapaxes(1, 2))
    return y


def weight_correlation(small: np.ndarray, big: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Correlate the two sides of a geometry over batch and positions: the weight gradient.

    Parameters
    ----------
    small : ndarray, shape (N, G, A, *geometry.input_size)
    big : ndarray, shape (N, G, B, *geometry.output_size)
    geometry : Geometry

    Returns
    -------
    ndarray, shape (G, A, B, *geometry.kernel_size)
        ``out[g, a, b, t] = sum_n sum_j small[n, g, a, j] * big[n, g, b, s*j + d*t - crop_begin]``.
        For a transposed convolution ``y = scatter(x, w)``, the gradient of
        ``sum(y * dy)`` with respect to ``w`` is ``weight_correlation(x, dy)``; for a
        convolution ``y = correlate(x, w)`` it is ``weight_correlation(dy, x)`` with
        the channel axes swapped.
    """
    n, g, a = small.shape[:3]
    b = big.shape[2]
    out = np.zeros((g, a, b, *geometry.kernel_size), dtype=np.result_type(small, big))
    for tap, src, dst in tap_pairs(geometry):
        xs = small[(Ellipsis,) + src]  # (N, G, A, *S)
        ys = big[(Ellipsis,) + dst]  # (N, G, B, *S)
        p = math.prod(xs.shape[3:])
        xs = xs.reshape(n, g, a, p).transpose(1, 2, 0, 3).reshape(g, a, n * p)  # (G, A, N*P)
        ys = ys.reshape(n, g, b, p).transpose(1, 0, 3, 2).reshape(g, n * p, b)  # (G, N*P, B)
        out[(Ellipsis,) + tap] = xs @ ys  # (G, A, B)
    return out
