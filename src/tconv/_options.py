"""Run-time options: the temporary-memory budget, threads, and whether to use compiled kernels.

Options are process-wide, changed with :func:`set_options` or, for a block of code,
with the :func:`options` context manager (as ``numpy.errstate``)::

    with tconv.options(memory_budget=64 * 2**20, compiled=False):
        y = tconv.conv_transpose(x, w, stride=2)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace

from ._validate import is_int

__all__ = ["Options", "get_options", "options", "set_options"]


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Options:
    """tconv's run-time options.

    Attributes
    ----------
    memory_budget : int
        Bytes of temporary buffers (column buffers, padded copies) one call may
        hold at a time; the fast algorithms process the batch, the channels or
        bands of output rows in blocks to stay under it. Default 256 MiB.
    threads : int
        Threads for the compiled (non-BLAS) passes; BLAS keeps its own setting.
        Default: the CPUs this process may run on.
    compiled : bool
        Use the numba-compiled kernels when numba is installed (``pip install
        tconv[fast]``); ``False`` forces the NumPy-only code paths.
    """

    memory_budget: int = 256 * 2**20
    threads: int = _default_threads()
    compiled: bool = os.environ.get("TCONV_COMPILED", "1") not in ("0", "false", "no")


_OPTIONS = Options()


def get_options() -> Options:
    """The current :class:`Options`."""
    return _OPTIONS


def _validated(**changes: object) -> Options:
    for name, value in changes.items():
        if name not in Options.__dataclass_fields__:
            valid = ", ".join(Options.__dataclass_fields__)
            raise TypeError(f"unknown option {name!r}, valid options are {{{valid}}}")
        if name in ("memory_budget", "threads"):
            if not is_int(value) or value < 1:  # type: ignore[operator]
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if name == "compiled" and not isinstance(value, bool):
            raise TypeError(f"compiled must be a bool, got {value!r}")
    return replace(_OPTIONS, **changes)  # type: ignore[arg-type]


def set_options(**changes: object) -> Options:
    """Change options for the rest of the process; returns the previous options.

    Examples
    --------
    >>> import tconv
    >>> previous = tconv.set_options(memory_budget=2**20)
    >>> tconv.get_options().memory_budget
    1048576
    >>> _ = tconv.set_options(**previous.__dict__)
    """
    global _OPTIONS
    previous, _OPTIONS = _OPTIONS, _validated(**changes)
    return previous


@contextlib.contextmanager
def options(**changes: object) -> Iterator[Options]:
    """Change options inside a ``with`` block.

    Examples
    --------
    >>> import tconv
    >>> with tconv.options(compiled=False) as current:
    ...     current.compiled
    False
    """
    global _OPTIONS
    previous, _OPTIONS = _OPTIONS, _validated(**changes)
    try:
        yield _OPTIONS
    finally:
        _OPTIONS = previous
