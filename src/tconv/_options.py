"""Run-time options: the temporary-memory budget, threads, whether to use compiled kernels and Winograd.

Two levels, as NumPy's ``errstate`` and Python's :mod:`decimal` contexts have:

- :func:`set_options` changes the process-wide defaults;
- :func:`options` changes them inside a ``with`` block, for the code that runs in
  that block only: the change lives in a :mod:`contextvars` variable, so another
  thread (or asyncio task) never sees it, and overlapping blocks in several threads
  cannot restore each other's values::

    with tconv.options(memory_budget=64 * 2**20, compiled=False):
        y = tconv.conv_transpose(x, w, stride=2)

The library itself never changes the options a user sees. What it needs for one
call (one thread for a tiny problem, the NumPy path for a dtype numba cannot
compile) it says with :func:`internal`, which only :func:`effective` reads.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ._validate import is_int, real_number

__all__ = [
    "BLAS_CHOICES",
    "MAX_KEEP_AWAKE",
    "MAX_THREADS",
    "Options",
    "cores",
    "effective",
    "get_options",
    "internal",
    "options",
    "set_options",
]


#: The values of the option ``blas``.
BLAS_CHOICES = ("auto", "numpy", "mkl")

#: The most seconds ``keep_awake`` may be: the threads spin for that long after every parallel call.
MAX_KEEP_AWAKE = 1.0

#: The most threads a call may use: each is an OS thread with its own stack, so a huge value would
#: exhaust the machine instead of computing anything faster.
MAX_THREADS = 1024


def cores() -> int:
    """The CPUs this process may run on (the default ``threads``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _blas_default() -> str:
    """The option ``blas``'s default: the environment variable ``TCONV_BLAS``, else ``"auto"``."""
    value = os.environ.get("TCONV_BLAS", "auto")
    if value not in BLAS_CHOICES:
        raise ValueError(f"the environment variable TCONV_BLAS must be one of {BLAS_CHOICES}, got {value!r}")
    return value


@dataclass(frozen=True)
class Options:
    """tconv's run-time options.

    Attributes
    ----------
    memory_budget : int
        Bytes of temporary buffers (column buffers, padded copies) one call may
        hold at a time, beyond its inputs, its result and its packed weights; the
        algorithms process the batch, the channels or tiles of the output in blocks
        to stay under it, and a call that cannot is refused before it starts
        (``docs/api.md``, "Memory"). Default 256 MiB.
    threads : int
        Threads for the compiled (non-BLAS) passes; BLAS keeps its own setting.
        Default: the CPUs this process may run on; at most :data:`MAX_THREADS`.
    compiled : bool
        Use the numba-compiled kernels when numba is installed (``pip install
        tconv[fast]``); ``False`` forces the NumPy-only code paths.
    keep_awake : float
        Seconds that idle-priority threads keep the cores of a parallel compiled
        call awake after it (Linux; ``0`` turns them off): a core whose thread waits
        for the next piece of work spins instead of halting, as OpenMP's threads do,
        but only when nothing else wants the core (``docs/performance.md``,
        "Threads"); tconv's pool threads spin for the next piece for the first
        0.5 ms of it at most, at their normal priority. Default 0.002; at most
        :data:`MAX_KEEP_AWAKE`.
    winograd : bool
        Whether ``algorithm="auto"`` may run Winograd's minimal filtering where it is
        the faster algorithm (float32 layers of 3 taps at stride 1, of a kernel
        twice the stride, or in 2-d of 5 taps at stride 2, with enough channels).
        Its float32 error is within the
        tolerance the tests use against PyTorch relative to the output's largest
        values, but it is bounded by the magnitudes of each transformed input tile,
        not by each output's own terms: a small output next to an input 10⁵ times
        its neighbours can be off by 1 % of its own value, where the direct sums are
        off by 1e-7 (``docs/performance.md``, "Winograd"). ``False``: ``"auto"``
        never runs it (``algorithm="winograd"`` still does). Default True.
    blas : str
        Which library computes the GEMMs of the fast algorithms: ``"auto"`` Intel's MKL
        where it is installed (``pip install "tconv[mkl]"``) and the processor is
        Intel's (1.1-1.4x OpenBLAS's rate on tconv's products there, measured), else
        NumPy's ``matmul``; ``"numpy"`` always
        NumPy's ``matmul`` (its BLAS, OpenBLAS in NumPy's wheels); ``"mkl"`` MKL, and a
        ``ValueError`` where it cannot be loaded. Default ``"auto"``, or the
        environment variable ``TCONV_BLAS``.
    """

    memory_budget: int = 256 * 2**20
    threads: int = cores()
    compiled: bool = os.environ.get("TCONV_COMPILED", "1") not in ("0", "false", "no")
    keep_awake: float = 0.002
    winograd: bool = True
    blas: str = _blas_default()


_GLOBAL = Options()
_GLOBAL_LOCK = threading.Lock()
#: The options of a ``with options(...)`` block, in the context that runs it (None: the global ones).
_SCOPED: contextvars.ContextVar[Options | None] = contextvars.ContextVar("tconv_options", default=None)
#: What the library asks for one call (never shown by get_options).
_INTERNAL: contextvars.ContextVar[tuple[tuple[str, object], ...]] = contextvars.ContextVar("tconv_internal", default=())


def get_options() -> Options:
    """The current :class:`Options`: those of the innermost ``with options(...)`` block of this
    thread (or context), else the process-wide ones."""
    scoped = _SCOPED.get()
    return _GLOBAL if scoped is None else scoped


def effective() -> Options:
    """The options a computation runs with: :func:`get_options` and what :func:`internal` adds."""
    changes = _INTERNAL.get()
    current = get_options()
    return _with(current, changes) if changes else current


@functools.lru_cache(maxsize=64)
def _with(base: Options, changes: tuple[tuple[str, object], ...]) -> Options:
    return replace(base, **dict(changes))  # type: ignore[arg-type]


def _validated(base: Options, **changes: object) -> Options:
    for name, value in changes.items():
        if name not in Options.__dataclass_fields__:
            valid = ", ".join(Options.__dataclass_fields__)
            raise TypeError(f"unknown option {name!r}, valid options are {{{valid}}}")
        if name in ("memory_budget", "threads"):
            if not is_int(value):  # a bool, a float, a string: the wrong type (the library's rule)
                raise TypeError(f"{name} must be a positive int, got {value!r} of type {type(value).__name__}")
            if value < 1:  # type: ignore[operator]
                raise ValueError(f"{name} must be a positive int, got {value!r}")
            if name == "threads" and value > MAX_THREADS:  # type: ignore[operator]
                raise ValueError(f"threads must be at most {MAX_THREADS} (each is an OS thread), got {value!r}")
        if name in ("compiled", "winograd") and not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, got {value!r}")
        if name == "blas":
            if not isinstance(value, str):
                kind = type(value).__name__
                raise TypeError(f"blas must be a str, one of {BLAS_CHOICES}, got {value!r} of type {kind}")
            if value not in BLAS_CHOICES:
                raise ValueError(f"blas must be one of {BLAS_CHOICES}, got {value!r}")
            if value == "mkl":
                from ._algorithms.blas import mkl_available

                if not mkl_available():
                    raise ValueError(
                        "blas='mkl' but MKL cannot be loaded: install it with pip install \"tconv[mkl]\" "
                        "(x86-64 Linux and Windows), or it runs already in this process with its own threads"
                    )
        if name == "keep_awake":
            seconds = real_number(value, name, minimum=0)
            if seconds > MAX_KEEP_AWAKE:  # the threads spin this long after every call
                raise ValueError(f"keep_awake must be at most {MAX_KEEP_AWAKE} seconds, got {value!r}")
            changes[name] = seconds
    return replace(base, **changes)  # type: ignore[arg-type]


def set_options(**changes: object) -> Options:
    """Change the process-wide options; returns the previous ones.

    Inside a ``with options(...)`` block the block's values still win for the code
    in it.

    Examples
    --------
    >>> import tconv
    >>> previous = tconv.set_options(memory_budget=2**20)
    >>> tconv.get_options().memory_budget
    1048576
    >>> _ = tconv.set_options(**previous.__dict__)
    """
    global _GLOBAL
    with _GLOBAL_LOCK:
        previous = _GLOBAL
        _GLOBAL = _validated(previous, **changes)
    return previous


@contextlib.contextmanager
def options(**changes: object) -> Iterator[Options]:
    """Change options inside a ``with`` block, for this thread (or context) only.

    Examples
    --------
    >>> import tconv
    >>> with tconv.options(compiled=False) as current:
    ...     current.compiled
    False
    """
    current = _validated(get_options(), **changes)
    token = _SCOPED.set(current)
    try:
        yield current
    finally:
        _SCOPED.reset(token)


@contextlib.contextmanager
def internal(**changes: object) -> Iterator[None]:
    """The library's own per-call settings (``threads``, ``compiled``), read by :func:`effective`
    only: the options a user sees (:func:`get_options`) do not change."""
    token = _INTERNAL.set(tuple({**dict(_INTERNAL.get()), **changes}.items()))
    try:
        yield
    finally:
        _INTERNAL.reset(token)
