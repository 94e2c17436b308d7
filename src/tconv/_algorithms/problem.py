"""What every algorithm receives besides the arrays and the geometry, and the layout helpers they share.

Channel notation of the algorithms: ``C_in`` input and ``C_out`` output channels
in ``G`` groups, ``Cig = C_in/G`` and ``Cog = C_out/G`` per group; ``P`` the
pixels of one sample (the product of its spatial size).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import compiled as _compiled
from .workspace import copy_key, held_copy, keep_copy, scratch

__all__ = ["Problem", "batched_shape", "channels_last", "layout_index"]


def batched_shape(n: Any, channels: Any, size: tuple[Any, ...], layout: str) -> tuple[Any, ...]:
    """``(n, channels, *size)`` channels-first, ``(n, *size, channels)`` channels-last."""
    return (n, channels, *size) if layout == "channels_first" else (n, *size, channels)


def layout_index(layout: str, samples: slice, spatial: tuple[slice, ...]) -> tuple[slice, ...]:
    """The index of ``samples`` and a spatial region (every channel) of a batched array in ``layout``."""
    return (samples, slice(None)) + spatial if layout == "channels_first" else (samples,) + spatial


def all_finite(a: np.ndarray) -> bool:
    """Whether every value of ``a`` is finite, judged by its sum (no temporary of its size): a sum of
    finite values that overflows counts as not finite, which only sends the callers down their exact
    path."""
    return a.size == 0 or bool(np.isfinite(np.sum(a)))


def channels_last(x: np.ndarray, layout: str, slot: str | None = None) -> np.ndarray:
    """``x`` as a C-contiguous ``(N, P, C)`` array (a copy unless it already is one; in the calling thread's
    scratch ``slot`` when given, :mod:`tconv._algorithms.workspace`, and inside a
    :func:`~tconv._algorithms.workspace.sharing` block the copy that slot already holds of the same
    part of the same array)."""
    n = x.shape[0]
    if layout == "channels_last":
        return np.ascontiguousarray(x).reshape(n, -1, x.shape[-1])  # (N, P, C)
    block = x.reshape(n, x.shape[1], -1)  # (N, C, P)
    key = None if slot is None else copy_key(x)
    found = held_copy(slot, key) if slot is not None else None
    if found is not None:  # the same part of the same array, copied into this slot earlier in the block
        return found
    out = None if slot is None else scratch(slot, (n, block.shape[2], block.shape[1]), x.dtype)
    if _compiled.available() and block.size > 4096:  # (a NumPy copy is quicker to start for small arrays)
        out = _compiled.transpose(np.ascontiguousarray(block), out=out)  # (N, P, C)
    elif out is None:
        return np.ascontiguousarray(block.transpose(0, 2, 1))  # (N, P, C)
    else:
        np.copyto(out, block.transpose(0, 2, 1))
    if slot is not None:
        keep_copy(slot, key, out)
    return out


@dataclass(frozen=True)
class Problem:
    """The channels, groups, layout, compute dtype and bias of one call of an algorithm.

    ``bias`` is ``(C_out,)`` in ``dtype``; zeros when the call has none
    (``has_bias`` False), so that compiled passes can add it unconditionally. For
    ``conv_transpose`` the weight is ``(C_in, Cog, *k)``, for ``conv``
    ``(C_out, Cig, *k)`` (:meth:`of` reads the channel counts off it).
    """

    groups: int
    layout: str
    c_in: int
    c_out: int
    dtype: np.dtype
    bias: np.ndarray
    has_bias: bool
    #: Packed forms of the weight kept by a prepared call (:func:`tconv.prepare`), by key; None: pack anew.
    packed: dict[Any, Any] | None = field(default=None, compare=False, hash=False, repr=False)

    @classmethod
    def of(
        cls,
        x: np.ndarray,
        w: np.ndarray,
        bias: np.ndarray | None,
        groups: int,
        layout: str,
        op: str,
        packed: dict[Any, Any] | None = None,
    ) -> Problem:
        """The problem of ``op`` (``"conv_transpose"`` or ``"conv"``) on these arrays."""
        dtype = np.result_type(x, w)
        if op == "conv_transpose":
            c_in, c_out = w.shape[0], w.shape[1] * groups
        else:
            c_in, c_out = w.shape[1] * groups, w.shape[0]
        if bias is None:
            return cls(groups, layout, c_in, c_out, dtype, np.zeros(c_out, dtype=dtype), False, packed)
        return cls(groups, layout, c_in, c_out, dtype, np.ascontiguousarray(bias, dtype=dtype), True, packed)

    def pack(self, key: Any, make: Callable[[], np.ndarray]) -> np.ndarray:
        """The packed weight ``make()`` returns, kept under ``key`` when the call is prepared.

        ``key`` must name everything the packed form depends on besides the weight: a form that depends
        on the call's window (the all-phase weight of :mod:`tconv._algorithms.phase`, whose phases and
        taps follow the output size and each tile's crop) includes its geometry, and a prepared plan
        then keeps the forms of its last :data:`PACKED_WINDOWS` windows under that key (a plan called on
        many input sizes holds no more). Keyed without the geometry, a plan reused on another input
        size, or cut into tiles by the memory budget, read another window's weight: wrong values or a
        shape error from the GEMM (found by a randomized differential test against PyTorch)."""
        if self.packed is None:
            return make()
        found = self.packed.get(key)
        if found is None:
            found = self.packed[key] = make()
        return found

    def pack_for(self, key: Any, window: Any, make: Callable[[], np.ndarray]) -> np.ndarray:
        """:meth:`pack` of a form that depends on the call's ``window`` (a hashable geometry) as well: kept
        per window, the oldest of more than :data:`PACKED_WINDOWS` dropped."""
        if self.packed is None:
            return make()
        kept = self.packed.setdefault(key, {})
        found = kept.get(window)
        if found is None:
            for oldest in list(kept)[: max(0, len(kept) - PACKED_WINDOWS + 1)]:  # (pop: another thread may too)
                kept.pop(oldest, None)
            found = kept[window] = make()
        return found

    @property
    def cig(self) -> int:
        """Input channels per group."""
        return self.c_in // self.groups

    @property
    def cog(self) -> int:
        """Output channels per group."""
        return self.c_out // self.groups

    def output(self, n: int, size: tuple[int, ...]) -> np.ndarray:
        """An uninitialised result of ``n`` samples of spatial ``size`` in the problem's layout."""
        return np.empty(batched_shape(n, self.c_out, size, self.layout), dtype=self.dtype)

    def bias_fill(self, ndim: int, channels: slice = slice(None)) -> np.ndarray | int:
        """What output cells that no input reaches hold: the bias of ``channels``, broadcastable
        over ``ndim`` spatial axes in the problem's layout, or 0 without bias."""
        if not self.has_bias:
            return 0
        bias = self.bias[channels]
        return bias if self.layout == "channels_last" else bias.reshape(-1, *(1,) * ndim)


#: Windows (geometries) per key whose packed weights a prepared plan keeps (:meth:`Problem.pack_for`).
PACKED_WINDOWS = 8
