"""The gradients of a tiny transposed convolution (or convolution) from the list of its multiply-adds.

For a problem of at most :data:`TINY_MACS` multiply-adds the backward pass's fixed costs (the
blocking, the columns, the chunked products, the threads' hand-off) were most of its time: a
1-element call's input and weight gradients took 70 us, PyTorch's whole training step of it 140.
Here the plan (:class:`TinyGradients`, made once per shape by :mod:`tconv.grad`) lists every
multiply-add of the operator as three flat indices, ``(small, big, weight)``
(:func:`tconv._algorithms.taptable.multiply_adds`); a call is then three gathers (``dy``, ``x``,
``w``) and one ``np.bincount`` per gradient, over the listed triples (``x`` on the small side for
``conv_transpose``, on the big side for ``conv``):

- ``dx[i] = sum dy[j] * w[k]`` (the input gradient: a convolution of ``dy`` for ``conv_transpose``,
  a transposed convolution for ``conv``),
- ``dw[k] = sum x[i] * dy[j]`` (the weight gradient of both).

``np.bincount`` sums in double precision, in the list's order (the same bits on every call), and the
products are taken in double precision, where those of single-precision values are exact: each
single-precision gradient is its double-precision sum rounded once, closer to the float64 result
than any float32 sum (the accuracy rule of :mod:`tconv._algorithms.im2col`, met with room).

Only the multiply-adds of the definition are listed: the pairs whose output lands in the window.
So an infinite or NaN value meets no padding zero here, where the general path's columns (and
PyTorch) multiply it by one: the weight gradient of an input ``[inf, 1]`` whose first tap is cropped
is ``[1, inf]`` here (the sum over the window's pairs) and ``[nan, inf]`` there. Finite values are the
same up to rounding.
"""

from __future__ import annotations

import math

import numpy as np

from .._options import effective
from ..geometry import Geometry
from .taptable import multiply_adds

__all__ = ["BYTES_PER_MAC", "TINY_MACS", "TinyGradients", "tiny"]

#: Multiply-adds (of the forward operator) up to which :mod:`tconv.grad` computes the gradients of a
#: real single- or double-precision problem from the list of its multiply-adds (:class:`TinyGradients`).
#: The list's three index arrays take 24 bytes a multiply-add (1.5 MiB here, kept in the tables'
#: bounded cache) and a call 5-6 ns a multiply-add; the general path's fixed costs were 80-480 us a
#: call (both gradients, 2 threads, Zen 3): the list was 4x faster on the 1-element call and 2-13x on
#: layers of 2 300-37 000 multiply-adds (docs/performance.md, "Per-call overhead").
TINY_MACS = 2**16


#: Bytes a multiply-add of :class:`TinyGradients` holds at most: its three indices and, during a call,
#: two gathered double-precision terms and their product (within the memory budget, as every call).
BYTES_PER_MAC = 48


def tiny(geometry: Geometry, n: int, c_small: int, c_big: int, groups: int, dtype: np.dtype) -> bool:
    """Whether a problem of ``n`` samples, ``c_small`` channels on the small side (the transposed
    convolution's input) and ``c_big`` on the big side, in the compute ``dtype``, is computed by
    :class:`TinyGradients`: real single or double precision, and at most :data:`TINY_MACS`
    multiply-adds counted as every input cell meeting every tap (an upper bound of the listed ones),
    arrays of at most as many entries, and their :data:`BYTES_PER_MAC` and double-precision
    gradients within the memory budget."""
    if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
        return False  # bincount sums in float64: wider or complex dtypes keep the general path
    bound = n * math.prod(geometry.input_size) * math.prod(geometry.kernel_size) * c_small * (c_big // groups)
    # the arrays too: np.bincount makes each gradient whole in double precision (a convolution's input
    # gradient is its big side, which a huge dilation makes long however few the multiply-adds)
    arrays = (
        n * c_small * math.prod(geometry.input_size),
        n * c_big * math.prod(geometry.output_size),
        c_small * (c_big // groups) * math.prod(geometry.kernel_size),
    )
    needed = bound * BYTES_PER_MAC + 8 * sum(arrays)
    return 0 < bound <= TINY_MACS and max(arrays) <= TINY_MACS and needed <= effective().memory_budget


class TinyGradients:
    """The multiply-adds of one problem as flat indices into its batched arrays in ``layout``: the small
    side ``(n, c_small, *input_size)``, the big side ``(n, c_big, *output_size)`` and the weight
    ``(c_small, c_big/groups, *kernel_size)`` (channels-last arrays: ``(n, *size, c)``).

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> geometry = conv_transpose_geometry((3,), (2,), stride=2)
    >>> plan = TinyGradients(geometry, 1, 1, 1, 1, "channels_first")
    >>> x, w = np.array([[[1.0, 2.0, 3.0]]]), np.array([[[1.0, 10.0]]])
    >>> dy = np.ones((1, 1, 6))
    >>> d_input, d_weight = plan.gradients(dy, x, w, transposed=True, input=True, weight=True)
    >>> d_input.tolist(), d_weight.tolist()
    ([11.0, 11.0, 11.0], [6.0, 6.0])
    """

    def __init__(self, geometry: Geometry, n: int, c_small: int, c_big: int, groups: int, layout: str) -> None:
        self._problem = (geometry, n, c_small, c_big, groups, layout)

    @property
    def lists(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``(small, big, weight)`` flat indices of every multiply-add
        (:func:`tconv._algorithms.taptable.multiply_adds`: built on first use, then kept within the
        tables' cache, so that plans of many shapes hold no more than it)."""
        return multiply_adds(*self._problem)

    def gradients(
        self, dy: np.ndarray, x: np.ndarray, w: np.ndarray, transposed: bool, input: bool, weight: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The input gradient (if ``input``) and the weight gradient (if ``weight``) of the forward call
        ``y = conv_transpose(x, w)`` (``transposed``: ``x`` on the small side, ``dy`` on the big side) or
        ``y = conv(x, w)`` (``x`` on the big side), as float64 arrays of their flat sizes, in the arrays'
        layout: ``dx[i] = sum dy[j] * w[k]`` and ``dw[k] = sum x[i] * dy[j]`` over the multiply-adds
        ``(i, j, k)`` (``dy`` gathered once for both)."""
        if not (input or weight):  # the bias alone: nothing to list
            return None, None
        small, big, taps = self.lists
        x_index, dy_index = (small, big) if transposed else (big, small)
        dy_terms = _gathered(dy, dy_index)
        d_input = d_weight = None
        if input:
            d_input = np.bincount(x_index, weights=dy_terms * _gathered(w, taps), minlength=x.size)
        if weight:
            d_weight = np.bincount(taps, weights=_gathered(x, x_index) * dy_terms, minlength=w.size)
        return d_input, d_weight


def _gathered(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``a``'s values at the flat ``index`` (in C order of its shape), in double precision (gathered, then
    widened: memory of the multiply-adds, not of the array)."""
    return np.ravel(a)[index].astype(np.float64, copy=False)
