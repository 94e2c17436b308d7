"""Per-thread control of BLAS threading, for tiles computed in parallel by our own threads.

The fast algorithms run single-threaded GEMMs on independent tiles from several
threads at once (each thread then gathers its tile while the columns are still in
its cache). That needs BLAS to use one thread *in those threads only*, without
touching the setting the rest of the process sees. OpenBLAS (>= 0.3.27, the BLAS
bundled with NumPy's wheels) has exactly that: ``openblas_set_num_threads_local``.
:func:`single_threaded` finds it among the libraries loaded in this process (no
new dependency); with another BLAS it returns ``None`` and the algorithms use
their multi-threaded-GEMM path instead.
"""

from __future__ import annotations

import ctypes
import functools
import os

__all__ = ["single_threaded"]


@functools.lru_cache(maxsize=1)
def _setter():
    """``openblas_set_num_threads_local`` of the OpenBLAS NumPy uses, or None."""
    import numpy  # noqa: F401  (loads NumPy's BLAS)

    try:
        with open("/proc/self/maps") as maps:  # the shared libraries loaded in this process
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line}
    except OSError:  # not Linux
        return None
    for path in sorted(p for p in paths if os.path.exists(p)):
        try:
            library = ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
            setter = library.openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.argtypes = [ctypes.c_int]
        setter.restype = ctypes.c_int
        return setter
    return None


def single_threaded():
    """A function ``set(n) -> previous`` setting the calling thread's BLAS threads, or None.

    Examples
    --------
    >>> set_threads = single_threaded()
    >>> if set_threads is not None:
    ...     previous = set_threads(1)
    ...     _ = set_threads(previous)
    """
    if os.environ.get("TCONV_BLAS_LOCAL", "1") in ("0", "false", "no"):
        return None
    return _setter()
