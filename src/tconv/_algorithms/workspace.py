"""Scratch arrays kept from one call to the next, per thread: temporaries without fresh memory.

A temporary of tens of megabytes allocated anew on every call is fresh memory every
time: NumPy hands large blocks to the C allocator, which maps them from the system
and unmaps them when freed, so each call pays a page fault per 4 KiB page it
touches. On the virtual machine of ``docs/performance.md`` that cost as much as the
arithmetic (an input gradient of 1 GFLOP: 17 ms with its temporaries reused, 30 ms
without). ONNX Runtime (its arena) and FFTW (its plans' work arrays) keep theirs;
so does tconv, within limits.

:func:`scratch` returns an uninitialised array for temporary use by the calling
thread, backed by a buffer that the thread keeps under the given slot name and hands
out again on its next request of that slot. Its contents are valid until the same
thread asks for the same slot again, so a slot must not be asked for twice while its
first array is in use, and a scratch array never leaves tconv (results are fresh
arrays). Requests above :data:`SLOT_BYTES` (or an eighth of the ``memory_budget``
option) get a fresh array, so a thread holds at most ``len(SLOTS) * SLOT_BYTES``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import threading
from collections.abc import Iterator

import numpy as np

from .._options import effective

__all__ = ["SLOTS", "SLOT_BYTES", "copy_key", "held_bytes", "held_copy", "keep_copy", "release", "scratch", "sharing"]

#: The slot names (one buffer each per thread): what each holds.
SLOTS = {
    "channels_last": (
        "a channels-last copy of a call's input (or the input gradient's output gradient), or a block of "
        "its samples side by side (gemm_transposed's joined samples)"
    ),
    "channels_last_2": "the second channels-last copy of a weight gradient (its input)",
    "columns": "the columns of a tile (the tiled GEMMs and convolution) or of a weight gradient block",
    "partial": "one chunk's single-precision product (double-precision sums of chunks)",
    "sum": "the double-precision sum of chunk products of one tile",
    "output": "a tile's result before it is written transposed into a channels-first output",
    "weight": "the packed weight of a plain (not prepared) call, read by the call's threads until it returns",
    "panel": "a panel of a plain call's weight, copied to rows that do not alias in the cache",
    "padded": "the padded channels-last input of the register tiles (or the output gradient of their convolution)",
}
#: The largest buffer a slot keeps (larger requests get fresh memory).
SLOT_BYTES = 64 * 2**20

_LOCAL = threading.local()
_ALIGN = 64


def scratch(slot: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` and ``dtype`` from the calling thread's ``slot``.

    Examples
    --------
    >>> a = scratch("partial", (2, 3), np.float32)
    >>> b = scratch("partial", (3, 2), np.float32)     # the same memory, handed out again
    >>> bool(np.shares_memory(a, b))
    True
    """
    assert slot in SLOTS, slot
    copies = _LOCAL.__dict__.get("copies")
    if copies:
        copies.pop(slot, None)  # the slot is handed out anew: the copy it held is gone
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > min(SLOT_BYTES, effective().memory_budget // 8) or nbytes == 0:
        return np.empty(shape, dtype=dtype)
    pool: dict[str, np.ndarray] = _LOCAL.__dict__.setdefault("pool", {})
    raw = pool.get(slot)
    if raw is None or raw.nbytes < nbytes + _ALIGN:
        pool.pop(slot, None)  # the smaller buffer goes before the larger one is made
        raw = pool[slot] = np.empty(nbytes + _ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % _ALIGN
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def sharing(*arrays: np.ndarray) -> contextlib.AbstractContextManager[None]:
    """Within the block, a layout copy of (a part of) one of ``arrays`` made into a scratch slot is
    handed out again when the same part is asked for in the same slot by the same thread, as long as
    the slot was not handed out for anything else meanwhile (:func:`held_copy`, :func:`keep_copy`):
    the input and weight gradients of one backward call each copied the output gradient channels-last
    (the same 12.8 MB twice in a depthwise layer's step). Only ``arrays`` (read-only for tconv during
    the block, kept alive by the caller) and views of them qualify: a temporary of tconv's own may be
    rewritten in place, or freed and its memory reused by another array of the same shape."""
    return _sharing(tuple(_root(a) for a in arrays))


@contextlib.contextmanager
def _sharing(roots: tuple[object, ...]) -> Iterator[None]:
    block = _Block(roots)
    token = _SHARED.set(block)
    try:
        yield
    finally:
        _SHARED.reset(token)
        _LOCAL.__dict__.pop("copies", None)
        block.roots = ()  # a record left in another thread names the block, and must not keep the arrays


class _Block:
    """One :func:`sharing` block: its arrays' memory owners (until it ends). Each key names its block
    (the object, not its id), so a record of an earlier block -- another thread's, not cleared when
    that block ended -- never matches: the arrays' values may have changed since."""

    def __init__(self, roots: tuple[object, ...]) -> None:
        self.roots = roots


def copy_key(source: np.ndarray) -> tuple | None:
    """What identifies ``source``'s values inside a :func:`sharing` block (the block, its memory,
    shape, strides and dtype), or None when it is not a view of one of the block's arrays (or there is
    no block)."""
    block = _SHARED.get()
    if block is None or not any(_root(source) is root for root in block.roots):
        return None
    return (block, source.__array_interface__["data"][0], source.shape, source.strides, source.dtype.str)


def held_copy(slot: str, key: tuple | None) -> np.ndarray | None:
    """The copy that :func:`keep_copy` recorded for ``key`` in the calling thread's ``slot``, if the
    slot still holds it."""
    if key is None:
        return None
    found = _LOCAL.__dict__.get("copies", {}).get(slot)
    return found[1] if found is not None and found[0] == key else None


def keep_copy(slot: str, key: tuple | None, copy: np.ndarray) -> None:
    """Record that ``copy`` holds the layout copy of ``key``, if it is the calling thread's ``slot``
    buffer (a fresh array, too large for the slot, is not kept: holding it past its use would add its
    size to what the memory budget counted)."""
    raw = _LOCAL.__dict__.get("pool", {}).get(slot)
    if key is not None and raw is not None and _root(copy) is raw:
        _LOCAL.__dict__.setdefault("copies", {})[slot] = (key, copy)


def _root(a: np.ndarray) -> object:
    """The object that owns ``a``'s memory (the end of its chain of bases)."""
    root: object = a
    while isinstance(root, np.ndarray) and root.base is not None:
        root = root.base
    return root


#: The current :func:`sharing` block, per context.
_SHARED: contextvars.ContextVar[_Block | None] = contextvars.ContextVar("tconv_shared_copies", default=None)


def held_bytes() -> int:
    """The bytes the calling thread's slots hold."""
    return sum(raw.nbytes for raw in _LOCAL.__dict__.get("pool", {}).values())


def release() -> None:
    """Drop the calling thread's buffers (the next requests allocate anew)."""
    _LOCAL.__dict__.pop("pool", None)
    _LOCAL.__dict__.pop("copies", None)
