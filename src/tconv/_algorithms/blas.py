"""Single-threaded BLAS for tiles computed in parallel by our own threads.

The tiled ``"gemm"`` algorithm runs single-threaded GEMMs on independent tiles from
several threads at once (each thread then gathers its tile while the columns are
still in its cache). That needs BLAS to use one thread per call while it runs.

OpenBLAS (the BLAS of NumPy's wheels) has only a process-wide thread count:
``openblas_set_num_threads_local`` is, despite its name, global in pthreads builds
(it calls the global setter), so per-thread save/restore from several threads can
leave the process at one thread. :func:`single_threaded_blas` therefore sets the
global count to 1 once around the whole parallel region and restores it once
afterwards, reference-counted under a lock so that overlapping tconv calls from
several user threads restore it exactly once, after the last one. While a tiled
call runs, other BLAS calls of the process run single-threaded too.

The functions are found among the libraries loaded in this process (no new
dependency). With another BLAS, :func:`available` is False and the algorithms
use their multi-threaded-GEMM path instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import threading
from collections.abc import Iterator

__all__ = ["available", "single_threaded_blas"]

#: Global thread-count setters and getters of the OpenBLAS builds NumPy and SciPy ship, by symbol name.
_SYMBOLS = (
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
)

_LOCK = threading.Lock()
_DEPTH = 0
_SAVED = 0


@functools.lru_cache(maxsize=1)
def _functions():
    """``(set, get)`` of the OpenBLAS that NumPy's matmul uses, or None."""
    import numpy  # noqa: F401  (loads NumPy's BLAS)

    try:
        with open("/proc/self/maps") as maps:  # the shared libraries loaded in this process
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line})
    except OSError:  # not Linux
        return None
    numpy_first = sorted(paths, key=lambda p: "numpy" not in p)  # NumPy's own copy before SciPy's
    for path in numpy_first:
        try:
            library = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        for set_name, get_name in _SYMBOLS:
            setter = getattr(library, set_name, None)
            getter = getattr(library, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return setter, getter
    return None


def available() -> bool:
    """True when BLAS threading can be controlled (OpenBLAS found; ``TCONV_BLAS_CONTROL`` not 0)."""
    if os.environ.get("TCONV_BLAS_CONTROL", "1") in ("0", "false", "no"):
        return False
    return _functions() is not None


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block with BLAS at one thread per call, restoring the previous count afterwards.

    Examples
    --------
    >>> import numpy as np
    >>> with single_threaded_blas():
    ...     _ = np.ones((64, 64)) @ np.ones((64, 64))
    """
    global _DEPTH, _SAVED
    functions = _functions() if available() else None
    if functions is None:
        yield
        return
    set_threads, get_threads = functions
    with _LOCK:
        if _DEPTH == 0:
            _SAVED = get_threads()
            set_threads(1)
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0:
                set_threads(_SAVED)
