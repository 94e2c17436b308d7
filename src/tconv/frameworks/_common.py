"""Shared machinery of the compat functions: one window, one native call.

Every framework's transposed convolution is, per spatial axis, a window of the
full output ``(i - 1)*s + d*(k - 1) + 1`` (read ``tconv/shape.py``). A compat
function therefore only has to (1) validate its arguments as the framework does,
(2) resolve them into a :class:`tconv.geometry.Geometry`, (3) bring data and weight
into tconv's channels-first / ``(C_in, C_out/groups, *k)`` layout, and
(4) call :func:`run_window`, which is the native :func:`tconv.conv_transpose`
with the window written as ``(begin, end)`` padding pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import is_int, show
from ..geometry import Geometry

__all__ = [
    "as_array",
    "check_rank",
    "geometry",
    "int_list",
    "move_channels_first",
    "move_channels_last",
    "run_window",
]


def as_array(value: Any, name: str) -> np.ndarray:
    """A numeric NumPy array, or ``TypeError`` naming ``name``."""
    array = np.asarray(value)
    if array.dtype.kind not in "biufc":
        raise TypeError(f"{name} must be a numeric array, got dtype {array.dtype}")
    return array


def int_list(value: object, name: str) -> list[int]:
    """An int or a sequence of ints as a list (lengths are checked by the caller)."""
    if is_int(value):
        return [int(value)]  # type: ignore[call-overload]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and all(is_int(v) for v in value):
        return [int(v) for v in value]  # type: ignore[call-overload]
    raise TypeError(f"{name} must be an int or a sequence of ints, got {show(value)}")


def check_rank(array: np.ndarray, ranks: Sequence[int], name: str, op: str) -> None:
    if array.ndim not in ranks:
        wanted = " or ".join(str(r) for r in ranks)
        raise ValueError(f"{op}: {name} must have {wanted} dimensions, got shape {show(array.shape)}")


def move_channels_first(x: np.ndarray) -> np.ndarray:
    """``(N, *spatial, C)`` -> ``(N, C, *spatial)``."""
    return np.moveaxis(x, -1, 1)


def move_channels_last(y: np.ndarray) -> np.ndarray:
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)``."""
    return np.moveaxis(y, 1, -1)


def geometry(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    crop_begin: Sequence[int],
    output_size: Sequence[int],
) -> Geometry:
    """A :class:`Geometry` from per-axis integers (all tuples)."""
    return Geometry(
        tuple(input_size), tuple(output_size), tuple(kernel_size), tuple(stride), tuple(dilation), tuple(crop_begin)
    )


def run_window(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, window: Geometry, groups: int) -> np.ndarray:
    """The window ``window`` of the transposed convolution of channels-first ``x``.

    ``x`` is ``(N, C_in, *i)``, ``w`` ``(C_in, C_out/groups, *k)``; returns
    ``(N, C_out, *o)``. An axis with ``output_size <= 0`` (only JAX allows one)
    gives an empty result.
    """
    from ..ops import conv_transpose_window

    return conv_transpose_window(x, w, bias, window, groups)
