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

__all__ = [
    "available",
    "gemm_into",
    "gemm_library",
    "matmul",
    "mkl_available",
    "mm",
    "parallel_products",
    "single_threaded_blas",
]

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


# ---------------------------------------------------------------------------------------------------
# MKL (``pip install "tconv[mkl]"``): the GEMMs of tconv's algorithms by Intel's library where it is
# installed. On the Intel Xeon where this was measured, its single-threaded SGEMM ran 1.1-1.4x as fast as
# OpenBLAS's on the products tconv's tiles make (1024 x 2048 x 128: 145 against 132 GF/s; 2809 x 128 x
# 48: 141 against 107), and PyTorch's CPU build and ONNX Runtime's MLAS reach the same rates: with NumPy's
# OpenBLAS, the GEMM-bound layers had a ceiling below their peers'. It is loaded with its sequential
# threading layer (no threads of its own: tconv's threads call it, as they call OpenBLAS single-threaded,
# and no OpenMP runtime is loaded beside PyTorch's), and only where this process has not initialised it
# already with another layer (a NumPy linked to MKL keeps its own). The option ``blas`` chooses
# (:class:`tconv.Options`): ``"auto"`` MKL where found on Intel's processors, ``"numpy"`` NumPy's
# ``matmul`` (its BLAS), ``"mkl"`` MKL on any processor. docs/performance.md, "MKL for the GEMMs".

#: MKL's constants (``mkl_service.h``, ``mkl_cblas.h``).
_MKL_SEQUENTIAL = 1
_MKL_INT_MAX = 2**31 - 1  # MKL_INT of the LP64 interface that libmkl_rt starts with: int32


class _Mkl:
    """MKL's CBLAS GEMMs and strided batches of GEMMs, float32 and float64, by dtype character."""

    def __init__(self, library: ctypes.CDLL) -> None:
        enum, pointer, integer = ctypes.c_int, ctypes.c_void_p, ctypes.c_int
        self.gemm = {}
        self.batch = {}
        for char, real in (("f", ctypes.c_float), ("d", ctypes.c_double)):
            prefix = "cblas_s" if char == "f" else "cblas_d"
            gemm = getattr(library, prefix + "gemm")
            gemm.argtypes = [enum, enum, enum, integer, integer, integer, real, pointer, integer, pointer, integer]
            gemm.argtypes += [real, pointer, integer]
            gemm.restype = None
            batch = getattr(library, prefix + "gemm_batch_strided")
            batch.argtypes = [enum, enum, enum, integer, integer, integer, real, pointer, integer, integer]
            batch.argtypes += [pointer, integer, integer, real, pointer, integer, integer, integer]
            batch.restype = None
            self.gemm[char], self.batch[char] = gemm, batch


def _mkl_candidates() -> Iterator[str]:
    """Paths of MKL's runtime library: those the ``mkl`` distribution installed (its wheel puts them in
    the environment's ``lib``), then the dynamic loader's own search."""
    import ctypes.util
    import importlib.metadata

    try:
        files = importlib.metadata.files("mkl") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        name = file.name
        if name.startswith(("libmkl_rt.so", "mkl_rt", "libmkl_rt.")) and not name.endswith((".py", ".pyc")):
            yield str(file.locate())
    found = ctypes.util.find_library("mkl_rt")
    if found:
        yield found


@functools.lru_cache(maxsize=1)
def _mkl() -> _Mkl | None:
    """MKL, loaded once with its sequential threading layer, or None (not installed, or already running
    with another threading layer in this process, or not loadable)."""
    for path in _mkl_candidates():
        try:
            library = ctypes.CDLL(path)
            set_layer = library.MKL_Set_Threading_Layer
        except (OSError, AttributeError):
            continue
        set_layer.argtypes, set_layer.restype = [ctypes.c_int], ctypes.c_int
        if set_layer(_MKL_SEQUENTIAL) != _MKL_SEQUENTIAL:  # initialised already, with threads
            return None
        try:
            return _Mkl(library)
        except AttributeError:  # an MKL without strided batches (before 2020)
            return None
    return None


def mkl_available() -> bool:
    """True when MKL is installed and loaded for tconv's GEMMs (see the module's notes above)."""
    return _mkl() is not None


def uses_mkl() -> bool:
    """Whether MKL computes tconv's GEMMs with the current options (:func:`gemm_library`, without the version)."""
    return _provider() is not None


def gemm_library() -> str:
    """Which library computes tconv's GEMMs with the current options: ``"mkl <version>"`` or ``"numpy"``."""
    if not uses_mkl():
        return "numpy"
    import importlib.metadata

    try:
        return f"mkl {importlib.metadata.version('mkl')}"
    except importlib.metadata.PackageNotFoundError:  # loaded from the loader's path, not the wheel
        return "mkl"


@functools.lru_cache(maxsize=1)
def _intel() -> bool:
    """Whether the processor is Intel's (``/proc/cpuinfo``'s vendor; False where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as info:
            return any(line.startswith("vendor_id") and "GenuineIntel" in line for line in info)
    except OSError:
        return False


def _provider() -> _Mkl | None:
    """MKL when the option ``blas`` chooses it and it is available, else None (NumPy's matmul). ``"auto"``
    chooses it on Intel's processors only: that is where it was measured faster than OpenBLAS. On an
    AMD EPYC with AVX-512 (Zen 4, 6 December 2026) it was not: single-threaded products of tconv's
    shapes ran at 0.88-1.04x OpenBLAS's speed, and eight benchmark layers' calls at 0.96-1.01x, plain
    and prepared (docs/performance.md, "MKL for the GEMMs"); ``"mkl"`` on any."""
    choice = effective().blas
    if choice == "numpy" or (choice == "auto" and not _intel()):
        return None
    return _mkl()


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
    if not all(m.dtype.char == "f" and m.ndim == 2 for m in (a, b, c)) or c.shape != (a.shape[0], b.shape[1]):
        return False
    library = _provider()
    if library is not None and a.shape[1] == b.shape[0]:
        return _mkl_gemm(library, a, b, c, 1.0)
    found = _sgemm() if available() else None
    if found is None:
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


def _mkl_gemm(library: _Mkl, a: np.ndarray, b: np.ndarray, c: np.ndarray, beta: float) -> bool:
    """``c = a @ b + beta * c`` of 2-d arrays by MKL; False, having done nothing, where the strides or sizes
    are not a CBLAS call's."""
    left, right = _operand(a), _operand(b)
    item = c.itemsize
    (m, k), n = a.shape, b.shape[1]
    if left is None or right is None or c.strides[1] != item or c.strides[0] % item or c.strides[0] < item * max(1, n):
        return False
    ldc = c.strides[0] // item
    if max(m, n, k, left[1], right[1], ldc) > _MKL_INT_MAX:
        return False
    if m and n:
        if k:
            library.gemm[c.dtype.char](_ROW_MAJOR, left[0], right[0], m, n, k, 1.0, a.ctypes.data, left[1],
                                       b.ctypes.data, right[1], beta, c.ctypes.data, ldc)  # fmt: skip
        elif not beta:
            c[...] = 0
    return True


def _mkl_batch(library: _Mkl, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    """``c[i] = a[i] @ b[i]`` for 3-d ``c`` (``a`` or ``b`` 2-d: the same matrix for every ``i``) by one
    strided-batch call; False where the strides are not such a call's."""
    count = c.shape[0]
    a2, b2 = (a[0] if a.ndim == 3 else a), (b[0] if b.ndim == 3 else b)
    left, right = _operand(a2), _operand(b2)
    item = c.itemsize
    (m, k), n = a2.shape, b2.shape[1]
    strides = [x.strides[0] if x.ndim == 3 else 0 for x in (a, b)] + [c.strides[0]]
    if (
        left is None
        or right is None
        or c.strides[2] != item
        or c.strides[1] % item
        or c.strides[1] < item * max(1, n)
        or any(stride % item or stride < 0 for stride in strides)
    ):
        return False
    ldc = c.strides[1] // item
    sa, sb, sc = (stride // item for stride in strides)
    if max(m, n, k, left[1], right[1], ldc, sa, sb, sc, count) > _MKL_INT_MAX:
        return False
    if m and n and count:
        if not k:
            c[...] = 0
            return True
        library.batch[c.dtype.char](_ROW_MAJOR, left[0], right[0], m, n, k, 1.0, a2.ctypes.data, left[1], sa,
                                    b2.ctypes.data, right[1], sb, 0.0, c.ctypes.data, ldc, sc, count)  # fmt: skip
    return True


#: Multiply-adds from which :func:`mm` calls MKL (a product, or a stack in one strided-batch call), and
#: the least of each matrix of a stack. Below, NumPy's ``matmul``: MKL's call from Python costs ~8 us
#: against NumPy's ~1.5 (ctypes' arguments and the arrays' addresses: MKL itself takes 2.6 us on a 16 x
#: 16 x 128 product), while from ~1M multiply-adds MKL's single-threaded SGEMM ran 1.1-1.4x as fast as
#: OpenBLAS's (thread CPU time, 18 shapes of tconv's tiles: 128^3 1.11x, 1024 x 64 x 128 1.20x, 512 x
#: 32 x 512 1.41x); under ~0.3M they were within 0.8-1.1x of each other.
MKL_MACS = 2**21
MKL_MATRIX_MACS = 2**16
#: The least of a product's outer sides for :func:`mm` to call MKL. Thin products (a short inner axis: few
#: multiply-adds per element written, or few rows) were as fast or faster on OpenBLAS with tconv's two
#: threads computing at once, though MKL led on each alone: A/B in one process, alternating, groups-8's
#: 128 x 16 x 1024 products 0.64-0.71x with MKL and dcgan-4's 48 x 64 x 1024 0.81x, where the layers of
#: products of 64 and more a side were 1.05-1.23x (a thread's CPU time: 1.1-1.4x).
MKL_SIDE = 64
#: Narrow single-precision products (a side below ``MKL_SIDE``) whose sums are long go to MKL all the same:
#: from ``MKL_LONG_INNER`` terms and ``MKL_LONG_ENTRIES`` entries of the left matrix. Two threads each
#: multiplying at once (A/B in one process, the Xeon): 196 x 4096 x 32 1.37x as fast as on OpenBLAS,
#: 512 x 1024 x 32 1.28x, 1024 x 512 x 16 1.16x, 256 x 1029 x 16 1.12x, 2048 x 2744 x 24 1.21x; below those
#: bounds 0.82-0.97x (128 x 1024 x 16, 48 x 1024 x 64, 1024 x 64 x 32). On the benchmark's, the other
#: models' and 60 random layers these are the im2col products of few output channels (TasNet's decoder,
#: a 3-d k7 layer of 24) and no gradient's.
MKL_LONG_INNER = 512
MKL_LONG_ENTRIES = 2**18
#: Thin products: an inner (summed) side below ``MKL_INNER`` goes to MKL only in single precision, from
#: ``MKL_THIN_INNER`` terms and ``MKL_THIN_ENTRIES`` entries a matrix. The backward pass's 32- and 64-term
#: chunk products (as strided stacks, :func:`tconv._algorithms.im2col._chunked_sum`) ran 1.25-1.5x as fast
#: on MKL with two threads computing at once (128 x 64 x 256 and 128 x 32 x 256), input gradients 1.1-1.25x
#: (A/B in one process: dcgan-3 9.6 -> 8.3 ms, stride1-3x3 19.9 -> 16.7, unet-256 9.7 -> 7.7), but
#: OpenBLAS led on matrices of fewer entries (grouped-4's 16 x 128 x 64 x 64 chunks: 268 against 235 GF/s;
#: its input gradient 1.2x as slow on MKL) and on the exact sums' double-precision products of 48 terms
#: (dcgan-4's input gradient 2.7 -> 3.0 ms on MKL, though MKL's DGEMM alone was faster). Chunk products
#: called one at a time from Python lost on MKL (dcgan-1's 512 x 64 x 128: 0.92x): ctypes' ~8 us a call.
MKL_INNER = 128
MKL_THIN_INNER = 32
MKL_THIN_ENTRIES = 2**14


def _aliased_rows(b: np.ndarray, out: np.ndarray | None) -> bool:
    """Whether the right-hand side's or the result's rows are a multiple of :data:`MKL_ALIASED_ROW` bytes
    apart (row-major, more than one row), where MKL's GEMM was slow: see that constant."""
    for x in (b, out):
        if x is not None and x.ndim >= 2 and x.shape[-2] > 1 and x.strides[-1] == x.itemsize:
            pitch = x.strides[-2]
            if pitch >= MKL_ALIASED_ROW and pitch % MKL_ALIASED_ROW == 0:
                return True
    return False


#: Row pitch (bytes) of a GEMM's right-hand side or result, a multiple of which makes :func:`mm` use NumPy's
#: OpenBLAS instead of MKL: rows that far apart fall into the same sets of the caches, and MKL's GEMM
#: into U-Net's 128 x 128 columns (the channels-first orientation, ``W^T @ x[n]``: 64 KiB rows) ran at
#: half its rate (52 GF/s on one core of the Xeon, 114 with the rows of both padded, OpenBLAS 75-150).
#: Measured A/B in one process (6 December, Xeon with AVX-512, MKL 2024.2, two threads, four alternating
#: rounds): prepared calls of 19 k2 s2 layers at 128 x 128 and 256 x 256 (1-d: 16384) with 8-128 input
#: channels, 0.89-1.60x in median, 1.19-1.60x on nine (the benchmark's unet-64 1.33x), 0.89x on one
#: (128 -> 64 channels at 128 x 128); the benchmark's other layers and five other layers' forward and
#: backward calls with such rows within noise (0.93-1.03x). Rows of 4 and 16 KiB (U-Net at 32 x 32, a
#: 3-d one at 16^3) keep MKL: with NumPy's GEMM 0.84-0.87x. (Padding the columns' rows and copying the
#: input to padded rows instead was 0.80-1.56x on such layers, its gains and losses depending on
#: MKL's shapes.)
MKL_ALIASED_ROW = 2**16


def _numpy_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """NumPy's ``matmul``, with the smaller operand copied row-major where both are column-major.

    NumPy's OpenBLAS (0.3.x, its AVX-512 kernels on the Intel Xeon of ``docs/performance.md``) gave wrong
    products now and then when two threads multiplied column-major (transposed) matrices by column-major
    matrices at once. A 4-group 1-d k64 s5 layer's input gradient (stacks of 32 x 64 by 64 x 285 chunk
    products, the left a view of the packed weight, the right of the columns) was wrong in 8-13 of 60
    calls on two threads, never on one thread or with MKL: one matrix of a stack came back wrong at the
    ends and starts of its rows (neighbours in memory), while a float64 product of the same operands right
    after was right, and no other thread's operand or output shared its memory. Copying either operand
    alone was enough (0 of 40 each; 0 of 100 with this rule), and an allocation of the same size without
    the copy was not (14 of 40). A random search on two threads, every NumPy product checked against
    float64 right after the call (random 1-3 d layers' forward and both gradients), found one wrong
    product in ~2 300 layers without copies, a stack of two column-major operands, and none with this
    rule (~4 800 layers, ~810 000 products, 330 000 of them stacks with one column-major operand). The
    trigger inside OpenBLAS was not found. (A broadcast stack's ``size`` counts its repeats, which a copy
    would write out.)"""
    if _column_major(a) and _column_major(b):
        if a.size <= b.size:
            a = np.ascontiguousarray(a)
        else:
            b = np.ascontiguousarray(b)
    return np.matmul(a, b, out=out)


def _column_major(x: np.ndarray) -> bool:
    """Whether the matrices of ``x`` (2-d, or a stack) are column-major: unit stride down a column, more
    than one row and one column (a row or a column vector is either)."""
    return x.ndim >= 2 and x.shape[-2] > 1 and x.shape[-1] > 1 and x.strides[-2] == x.itemsize


def mm(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` on the calling thread, by MKL where the option ``blas`` chooses it (see the
    notes above :class:`_Mkl`): float32 or float64 operands of one dtype, 2-d, or stacks whose matrices a
    strided batch reaches; anything else (other dtypes, broadcasting beyond one stacked axis, strides no
    CBLAS call takes, rows a multiple of :data:`MKL_ALIASED_ROW` apart) is NumPy's ``matmul``. Every GEMM
    of tconv's algorithms goes through here.

    Examples
    --------
    >>> a, b = np.ones((2, 3, 4), np.float32), np.ones((4, 5), np.float32)
    >>> mm(a, b).shape, float(mm(a, b)[1, 2, 3])
    ((2, 3, 5), 4.0)
    """
    if type(a) is not np.ndarray or type(b) is not np.ndarray or a.ndim < 2 or b.ndim < 2:
        return np.matmul(a, b, out=out)
    macs = a.shape[-2] * b.shape[-1] * a.shape[-1]  # of one matrix product (then of the stack)
    inner = a.shape[-1]
    thin = inner < MKL_INNER and (
        inner < MKL_THIN_INNER or a.shape[-2] * b.shape[-1] < MKL_THIN_ENTRIES or a.dtype.char != "f"
    )
    narrow = min(a.shape[-2], b.shape[-1]) < MKL_SIDE and not (
        inner >= MKL_LONG_INNER and a.shape[-2] * inner >= MKL_LONG_ENTRIES and a.dtype.char == "f"
    )
    if macs < MKL_MATRIX_MACS or narrow or thin or _aliased_rows(b, out):
        return _numpy_matmul(a, b, out=out)  # small, thin, empty or aliasing: NumPy's
    matrices = max(a.size // max(1, a.shape[-2] * a.shape[-1]), b.size // max(1, b.shape[-2] * b.shape[-1]))
    if macs * matrices < MKL_MACS:
        return _numpy_matmul(a, b, out=out)
    library = _provider()
    char = a.dtype.char
    if library is None or char not in "fd" or b.dtype.char != char:
        return _numpy_matmul(a, b, out=out)
    if max(a.ndim, b.ndim) > 3:  # stacks of stacks of one batch shape: a strided batch per outer index
        outer = (a if a.ndim > b.ndim else b).shape[:-3]
        if (a.ndim == b.ndim and a.shape[:-2] != b.shape[:-2]) or min(a.ndim, b.ndim) not in (2, max(a.ndim, b.ndim)):
            return _numpy_matmul(a, b, out=out)
        if out is None:
            out = np.empty((*(a if a.ndim > b.ndim else b).shape[:-2], a.shape[-2], b.shape[-1]), dtype=a.dtype)
        elif out.shape[:-3] != outer or out.dtype.char != char:
            return _numpy_matmul(a, b, out=out)
        for index in np.ndindex(*outer):
            mm(a[index] if a.ndim > 2 else a, b[index] if b.ndim > 2 else b, out=out[index])
        return out
    stacked = max(a.ndim, b.ndim) == 3
    count = a.shape[0] if a.ndim == 3 else (b.shape[0] if stacked else 0)
    if (a.ndim == 3 and b.ndim == 3 and b.shape[0] != count) or a.shape[-1] != b.shape[-2]:
        return _numpy_matmul(a, b, out=out)  # (NumPy's error, or its broadcasting of one-matrix stacks)
    if count == 1 and out is not None and out.ndim == 3:  # one matrix: a plain GEMM
        mm(a[0] if a.ndim == 3 else a, b[0] if b.ndim == 3 else b, out=out[0])
        return out
    shape = (count, a.shape[-2], b.shape[-1]) if stacked else (a.shape[0], b.shape[1])
    if out is None:
        out = np.empty(shape, dtype=a.dtype)
    elif out.dtype.char != char or out.shape != shape or np.may_share_memory(out, a) or np.may_share_memory(out, b):
        return _numpy_matmul(a, b, out=out)  # (NumPy's handles an output that overlaps an operand)
    done = _mkl_batch(library, a, b, out) if stacked else _mkl_gemm(library, a, b, out, 0.0)
    return out if done else _numpy_matmul(a, b, out=out)


def available() -> bool:
    """True when tconv's threads can run single-threaded GEMMs (``TCONV_BLAS_CONTROL`` not 0): OpenBLAS
    found, whose thread count can be set, or MKL computing the GEMMs (:func:`mm`), which has none."""
    if os.environ.get("TCONV_BLAS_CONTROL", "1") in ("0", "false", "no"):
        return False
    return _functions() is not None or _provider() is not None


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


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None, threads: int | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` computed on tconv's own threads, each with single-threaded BLAS (:func:`mm`).

    OpenBLAS's own threads spin for about 0.1 s after each multi-threaded call (measured: the process
    kept both cores busy for 100 ms of a 100 ms sleep after one GEMM), so a multi-threaded GEMM slows
    every compiled pass of ours that follows it within that time, up to 2x (and the next layer's, or
    the backward pass's). tconv's algorithms therefore never call BLAS multi-threaded: this splits the
    rows of ``a`` (or the columns of ``b`` when ``a`` has few rows) among our threads, or a batch of at
    least two matrices a thread into runs of it. ``a`` is 2-d or 3-d (a batch of matrices), ``b`` 2-d
    or with the same batch; without control over BLAS's threads (another BLAS) it is ``np.matmul``.
    ``threads``: how many of tconv's threads to share it among (default: the option's), for a call
    planned under other options than the caller's.
    """
    if out is None:
        batch = a.shape[:-2] if a.ndim > b.ndim else b.shape[:-2]
        out = np.empty((*batch, a.shape[-2], b.shape[-1]), dtype=np.result_type(a, b))
    if threads is None:
        threads = effective().threads
    if out.size * a.shape[-1] <= OPENBLAS_ONE_THREAD:  # OpenBLAS runs it on one thread anyway
        return mm(a, b, out=out)
    if not available() or threads <= 1 or 2 * out.size * a.shape[-1] < PARALLEL_FLOPS:
        with single_threaded_blas():
            return mm(a, b, out=out)
    rows, cols = out.shape[-2], out.shape[-1]
    if out.ndim == 3 and out.shape[0] >= 2 * threads:
        # a batch of at least two matrices a thread: runs of the batch, each one stacked matmul (NumPy
        # loops over it in C), not a call per matrix from Python. Measured A/B on pointwise layers (the
        # batch is the samples): 32 samples of 128 -> 128 channels at 4x4 0.66 -> 0.30 ms, 16 of 512 -> 21
        # at 6x6 1.25x; larger samples and grouped layers within noise
        def run(b0: int, b1: int) -> None:
            mm(a[b0:b1] if a.ndim > 2 else a, b[b0:b1] if b.ndim > 2 else b, out=out[b0:b1])

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
            mm(left[r0:r1], right, out=out[index][r0:r1])
        else:
            mm(left, right[:, r0:r1], out=out[index][:, r0:r1])

    parallel_products(piece, pieces)
    return out


def padded_rows(rows: int, width: int, dtype: np.dtype) -> np.ndarray:
    """An uninitialised ``(rows, width)`` array whose rows are :data:`ROW_PAD` bytes apart beyond their
    length where that length is a multiple of :data:`ALIASED_ROW` bytes (a view of a wider array), else
    C-contiguous: the layout of a packed weight that is a GEMM's right-hand side.

    A right-hand side whose rows are a multiple of 2 KiB apart sends every row of a column to the same
    few cache sets, which BLAS's packing of it reads one column panel at a time. Measured on the Xeon
    (two threads, products of 32-128 rows by weights of 1024-8192 columns): 1.28-1.57x as slow on MKL
    and 1.05-1.24x on OpenBLAS as the same product with rows 64 bytes farther apart; within 1.02x at
    256 rows and more (the packing is then a small part of the work). pix2pix's innermost
    up-sampling layer (a ``1024 x 8192`` packed weight on 64 input pixels) is such a product: its GEMM
    5.5 -> 3.9 ms, its prepared call 7.0-7.5 -> 4.3 ms (A/B in one process).

    Examples
    --------
    >>> a = padded_rows(4, 512, np.float32)
    >>> a.shape, a.strides
    ((4, 512), (2112, 4))
    """
    if rows < 2:
        return np.empty((rows, width), dtype=dtype)
    return np.empty((rows, row_pitch(width, dtype)), dtype=dtype)[:, :width]


def row_pitch(width: int, dtype: np.dtype) -> int:
    """Elements from one row of ``width`` elements to the next in a GEMM's right-hand side that tconv lays
    out (:func:`padded_rows`): ``width``, and :data:`ROW_PAD` bytes more where the rows are a multiple of
    :data:`ALIASED_ROW` bytes long.

    Examples
    --------
    >>> row_pitch(512, np.float32), row_pitch(500, np.float32)
    (528, 500)
    """
    itemsize = np.dtype(dtype).itemsize
    return width + ROW_PAD // itemsize if width * itemsize % ALIASED_ROW == 0 else width


#: Row lengths (bytes) of a packed right-hand side that :func:`padded_rows` pads: multiples of this.
ALIASED_ROW = 2048
#: Bytes added to such rows: one cache line.
ROW_PAD = 64


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
