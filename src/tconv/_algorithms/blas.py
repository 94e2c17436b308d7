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
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .._options import effective
from . import compiled as _compiled

__all__ = ["available", "gemm_into", "matmul", "parallel_products", "single_threaded_blas"]

#: Global thread-count setters and getters of the OpenBLAS builds NumPy and SciPy ship, by symbol name.
_SYMBOLS = (
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
)

_LOCK = threading.Lock()
_DEPTH = 0
_SAVED = 0


def _libraries() -> Iterator[ctypes.CDLL]:
    """The OpenBLAS libraries already loaded in this process (NumPy's own copy first, then SciPy's), opened
    without loading anything new; none off Linux."""
    import numpy  # noqa: F401  (loads NumPy's BLAS)

    try:
        with open("/proc/self/maps") as maps:  # the shared libraries loaded in this process
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line})
    except OSError:  # not Linux
        return
    for path in sorted(paths, key=lambda p: "numpy" not in p):
        try:
            yield ctypes.CDLL(path, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
        except OSError:
            continue


@functools.lru_cache(maxsize=1)
def _functions():
    """``(set, get)`` of the OpenBLAS that NumPy's matmul uses, or None."""
    for library in _libraries():
        for set_name, get_name in _SYMBOLS:
            setter = getattr(library, set_name, None)
            getter = getattr(library, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                return setter, getter
    return None


#: CBLAS single-precision GEMM symbols of the same builds, with the width of their integers.
_SGEMM_SYMBOLS = (
    ("scipy_cblas_sgemm64_", ctypes.c_int64),
    ("cblas_sgemm64_", ctypes.c_int64),
    ("cblas_sgemm", ctypes.c_int),
)
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


@functools.lru_cache(maxsize=1)
def _sgemm():
    """CBLAS ``sgemm`` of the OpenBLAS NumPy uses, as ``(function, integer type)``, or None."""
    for library in _libraries():
        for name, integer in _SGEMM_SYMBOLS:
            function = getattr(library, name, None)
            if function is not None:
                enum, f32, pointer = ctypes.c_int, ctypes.c_float, ctypes.c_void_p
                function.argtypes = [enum, enum, enum, integer, integer, integer, f32, pointer, integer]
                function.argtypes += [pointer, integer, f32, pointer, integer]
                function.restype = None
                return function, integer
    return None


def _operand(a: np.ndarray) -> tuple[int, int] | None:
    """``(transpose flag, leading dimension)`` of a 2-d array for a row-major CBLAS call, or None when
    neither axis has unit stride (or the other's is not a positive multiple of the item size)."""
    item = a.itemsize
    if a.strides[1] == item and a.strides[0] % item == 0 and a.strides[0] >= item * max(1, a.shape[1]):
        return _NO_TRANS, a.strides[0] // item
    if a.strides[0] == item and a.strides[1] % item == 0 and a.strides[1] >= item * max(1, a.shape[0]):
        return _TRANS, a.strides[1] // item
    return None


def gemm_into(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    """``c += a @ b`` in single precision by BLAS in place (``beta = 1``: no temporary, no second pass).

    ``a``, ``b``, ``c`` are 2-d float32 arrays with a unit-stride axis (``c``: its rows). Returns False,
    having done nothing, where that is not possible (another BLAS, another dtype, other strides); the
    caller then adds a product computed otherwise. A ctypes call holds the GIL while it converts its
    arguments (microseconds): for large products only, not for many small ones from several threads.

    Examples
    --------
    >>> a, b = np.ones((2, 3), np.float32), np.ones((3, 4), np.float32)
    >>> c = np.ones((2, 4), np.float32)
    >>> gemm_into(a, b, c) and bool((c == 4).all())
    True
    """
    found = _sgemm() if available() else None
    if found is None or not all(m.dtype.char == "f" and m.ndim == 2 for m in (a, b, c)):
        return False
    (m, k), n = a.shape, b.shape[1]
    left, right = _operand(a), _operand(b)
    rows_ok = c.strides[1] == c.itemsize and c.strides[0] % c.itemsize == 0 and c.strides[0] >= c.itemsize * max(1, n)
    if left is None or right is None or not rows_ok or c.shape != (m, n) or b.shape[0] != k:
        return False
    if m and n and k:
        function, _ = found
        ldc = c.strides[0] // c.itemsize
        function(_ROW_MAJOR, left[0], right[0], m, n, k, 1.0, a.ctypes.data, left[1], b.ctypes.data, right[1], 1.0,
                 c.ctypes.data, ldc)  # fmt: skip
    return True


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


#: Multiply-adds (x2) below which :func:`matmul` runs on the calling thread alone: handing a piece to
#: another thread costs tens of microseconds. Measured (2 threads, min and median of 300 calls): a GEMM
#: alone of 4.4 MFLOP took 0.05 ms on one thread, 0.10-0.16 split; 9 MFLOP 0.10-0.12 against
#: 0.13-0.16; from 16 MFLOP the split was as fast or faster. Whole small layers, whose gathers are split
#: from this size too, were 1.2-1.4x as fast split at 14-17 MFLOP (fcn8s-up2, 64 -> 64 k4 s2 on 16^2),
#: and a pointwise layer of 4.4 MFLOP 1.8x as fast on one thread: 8 MFLOP.
PARALLEL_FLOPS = 8_000_000
#: ``M*N*K`` up to which OpenBLAS computes a GEMM on one thread by itself (``interface/gemm.c``:
#: ``SMP_THRESHOLD_MIN * GEMM_MULTITHREAD_THRESHOLD``, 65536 * 4): no thread count to set around it
#: (setting and restoring it costs ~12 us warm, ~100 us after an idle pause, measured).
OPENBLAS_ONE_THREAD = 65536 * 4


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` computed on tconv's own threads, each with single-threaded BLAS.

    OpenBLAS's own threads spin for about 0.1 s after each multi-threaded call (measured: the process
    kept both cores busy for 100 ms of a 100 ms sleep after one GEMM), so a multi-threaded GEMM slows
    every compiled pass of ours that follows it within that time, up to 2x (and the next layer's, or
    the backward pass's). tconv's algorithms therefore never call BLAS multi-threaded: this splits the
    rows of ``a`` (or the columns of ``b`` when ``a`` has few rows) among our threads, or a batch of at
    least two matrices a thread into runs of it. ``a`` is 2-d or 3-d (a batch of matrices), ``b`` 2-d
    or with the same batch; without control over BLAS's threads (another BLAS) it is ``np.matmul``.
    """
    if out is None:
        batch = a.shape[:-2] if a.ndim > b.ndim else b.shape[:-2]
        out = np.empty((*batch, a.shape[-2], b.shape[-1]), dtype=np.result_type(a, b))
    threads = effective().threads
    if out.size * a.shape[-1] <= OPENBLAS_ONE_THREAD:  # OpenBLAS runs it on one thread anyway
        return np.matmul(a, b, out=out)
    if not available() or threads <= 1 or 2 * out.size * a.shape[-1] < PARALLEL_FLOPS:
        with single_threaded_blas():
            return np.matmul(a, b, out=out)
    rows, cols = out.shape[-2], out.shape[-1]
    if out.ndim == 3 and out.shape[0] >= 2 * threads:
        # a batch of at least two matrices a thread: runs of the batch, each one stacked matmul (NumPy
        # loops over it in C), not a call per matrix from Python. Measured A/B on pointwise layers (the
        # batch is the samples): 32 samples of 128 -> 128 channels at 4x4 0.66 -> 0.30 ms, 16 of 512 -> 21
        # at 6x6 1.25x; larger samples and grouped layers within noise
        def run(b0: int, b1: int) -> None:
            np.matmul(a[b0:b1] if a.ndim > 2 else a, b[b0:b1] if b.ndim > 2 else b, out=out[b0:b1])

        parallel_products(run, _compiled.split(out.shape[0], 2 * threads))
        return out
    batches = list(np.ndindex(*out.shape[:-2])) or [()]
    by_rows = rows >= cols
    # one piece a thread: each piece packs the whole other operand again, so two a thread (for balance)
    # were 1.01-1.06x as slow on the eight products the benchmark's layers make here (min and median of
    # 60 calls, two runs: U-Net's first up-convolution 11.4 -> 10.8 ms, DCGAN's first layer 4.07 -> 3.87,
    # an inverse STFT 1.83 -> 1.77, pix2pix's innermost 4.87 -> 4.61)
    pieces = [
        (index, r0, r1)
        for index in batches
        for r0, r1 in _compiled.split(rows if by_rows else cols, max(1, threads // len(batches)))
    ]

    def piece(index: tuple[int, ...], r0: int, r1: int) -> None:
        left = a[index] if a.ndim > 2 else a
        right = b[index] if b.ndim > 2 else b
        if by_rows:
            np.matmul(left[r0:r1], right, out=out[index][r0:r1])
        else:
            np.matmul(left, right[:, r0:r1], out=out[index][:, r0:r1])

    parallel_products(piece, pieces)
    return out


def parallel_products(function: Callable[..., None], calls: Sequence[tuple]) -> None:
    """Run ``function(*args)`` for every ``args`` in ``calls`` (each a BLAS product writing its own part of
    the result) on tconv's threads, BLAS single-threaded (see :func:`matmul`); one after the other,
    with BLAS's own threads, where BLAS's threads cannot be controlled."""
    if not available():
        for args in calls:
            function(*args)
        return
    with single_threaded_blas():
        _compiled.parallel_for(function, calls)
