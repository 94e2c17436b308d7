"""numba-compiled passes of the fast algorithms, run in parallel from a small thread pool.

BLAS does the multiplications; these kernels do everything else in one write-once
pass each: the gather of GEMM columns into the output (col2im), the interleave of
polyphase results, the direct small-group kernel, and the layout change, with
the bias added on the way. They are compiled with ``nogil=True`` and run from
Python threads (:func:`parallel_for`) instead of numba's own threading layer: a
thread that has finished its share blocks instead of spinning, so it does not
steal cycles from the next BLAS call (on the machine of ``docs/performance.md``,
numba's OpenMP threads spin-waiting after a parallel region made the OpenBLAS
GEMMs that followed up to 2x slower).

numba is optional (``pip install tconv[fast]``); :func:`available` says whether
these kernels can be used, and every algorithm has a NumPy-only path.
"""

from __future__ import annotations

import importlib.util
import itertools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._options import get_options

__all__ = ["available", "kernels", "parallel_for", "split", "transpose"]

_KERNELS: dict[str, Callable] | None = None
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_LOCK = threading.Lock()
_HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def available() -> bool:
    """True when numba is installed and the ``compiled`` option is on."""
    return _HAVE_NUMBA and get_options().compiled


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering ``range(total)`` (fewer if ``total`` is small)."""
    parts = max(1, min(parts, total))
    bounds = [total * p // parts for p in range(parts + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def parallel_for(function: Callable[..., None], calls: Sequence[tuple]) -> None:
    """Run ``function(*args)`` for every ``args`` in ``calls``, on ``threads`` threads.

    The calling thread works too, next to ``threads - 1`` pool threads (so exactly
    ``threads`` run at once); each takes the next unclaimed call until none are
    left, which balances uneven calls. The calls must write disjoint outputs.
    """
    global _POOL, _POOL_SIZE
    threads = min(get_options().threads, len(calls))
    if threads <= 1:
        for args in calls:
            function(*args)
        return
    with _LOCK:
        if _POOL is None or _POOL_SIZE < threads - 1:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(max_workers=threads - 1, thread_name_prefix="tconv")
            _POOL_SIZE = threads - 1
        pool = _POOL
    claim = itertools.count()  # next() on a count is atomic under the GIL

    def work() -> None:
        for index in claim:
            if index >= len(calls):
                return
            function(*calls[index])

    futures = [pool.submit(work) for _ in range(threads - 1)]
    work()
    for future in futures:
        future.result()


def transpose(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``(N, A, B) -> (N, B, A)`` with the compiled tiled transpose, in parallel over blocks of 64 rows."""
    n, rows, cols = a.shape
    if out is None:
        out = np.empty((n, cols, rows), dtype=a.dtype)  # (N, B, A)
    tasks = n * -(-rows // 64)
    calls = [(a, out, t0, t1) for t0, t1 in split(tasks, 4 * get_options().threads)]
    parallel_for(kernels()["batched_transpose"], calls)
    return out


def kernels() -> dict[str, Callable]:
    """The compiled kernels, built (and numba imported) on first use."""
    global _KERNELS
    if _KERNELS is None:
        with _LOCK:
            if _KERNELS is None:
                _KERNELS = _build()
    return _KERNELS


def _build() -> dict[str, Callable]:
    from . import numba_kernels as k

    return {name: getattr(k, name) for name in KERNEL_NAMES}


#: The compiled kernels :func:`kernels` provides.
KERNEL_NAMES = (
    "gather_rows_t",
    "im2col_cl",
    "gather_cl",
    "gather_cf",
    "batched_transpose",
    "direct_cl",
    "interleave",
)
