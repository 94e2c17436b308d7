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

import math
import threading

import numpy as np

from .._options import effective

__all__ = ["SLOTS", "SLOT_BYTES", "held_bytes", "release", "scratch"]

#: The slot names (one buffer each per thread): what each holds.
SLOTS = {
    "channels_last": "a channels-last copy of a call's input (or the input gradient's output gradient)",
    "channels_last_2": "the second channels-last copy of a weight gradient (its input)",
    "columns": "the columns of a tile (the tiled GEMMs and convolution) or of a weight gradient block",
    "partial": "one chunk's single-precision product (double-precision sums of chunks)",
    "sum": "the double-precision sum of chunk products of one tile",
    "output": "a tile's result before it is written transposed into a channels-first output",
    "weight": "the packed weight of a plain (not prepared) call, read by the call's threads until it returns",
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


def held_bytes() -> int:
    """The bytes the calling thread's slots hold."""
    return sum(raw.nbytes for raw in _LOCAL.__dict__.get("pool", {}).values())


def release() -> None:
    """Drop the calling thread's buffers (the next requests allocate anew)."""
    _LOCAL.__dict__.pop("pool", None)
