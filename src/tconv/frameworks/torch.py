"""PyTorch's ``F.conv_transpose{1,2,3}d`` and ``ConvTranspose*d.forward(output_size=...)``, on NumPy arrays.

Same names, positional order (``groups`` *before* ``dilation``), defaults, layouts
and weight layout ``(C_in, C_out/groups, *k)`` as PyTorch, the same validation
(PyTorch's reasons in the messages), and the same numbers; no PyTorch import.

PyTorch's window (see ``tconv/shape.py``): crop ``padding`` from both ends of the
full output, then add ``output_padding`` cells at the end, with
``0 <= output_padding < max(stride, dilation)``. The module's
``forward(input, output_size)`` replaces ``output_padding`` by
``output_size - min_size`` where the valid sizes are
``min_size .. min_size + stride - 1`` (:func:`module_output_padding`), the
stride alone bounding the range even when the dilation is larger.

Dtypes follow NumPy's promotion as everywhere in tconv (PyTorch would reject an
input and weight of different dtypes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import show
from ..geometry import Geometry
from ._common import as_array, geometry, int_list, run_window

__all__ = [
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "module_output_padding",
    "output_size",
    "valid_output_sizes",
    "window",
]

_AXIS_NAMES = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _per_axis(value: object, name: str, nd: int, op: str) -> tuple[int, ...]:
    """PyTorch's int-or-tuple argument: an int, or a sequence of 1 or ``nd`` ints."""
    if (
        isinstance(value, str)
        or (isinstance(value, Sequence) and any(isinstance(v, (Sequence, float)) for v in value))
        or isinstance(value, float)
    ):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not {type(value).__name__}")
    values = int_list(value, name)
    if len(values) == 1:
        values = values * nd
    if len(values) != nd:
        raise ValueError(
            f"{op}: expected {name} to be a single integer value or a list of {nd} values to match the "
            f"convolution dimensions, but got {name}={show(tuple(values))}"
        )
    return tuple(values)


def _check_parameters(
    nd: int, stride: object, padding: object, output_padding: object, dilation: object, op: str
) -> tuple[tuple[int, ...], ...]:
    s = _per_axis(stride, "stride", nd, op)
    p = _per_axis(padding, "padding", nd, op)
    a = _per_axis(output_padding, "output_padding", nd, op)
    d = _per_axis(dilation, "dilation", nd, op)
    if any(v < 0 for v in p):
        raise ValueError(f"{op}: negative padding is not supported, got padding={show(p)}")
    if any(v < 0 for v in a):
        raise ValueError(f"{op}: negative output_padding is not supported, got output_padding={show(a)}")
    if any(v <= 0 for v in s):
        raise ValueError(f"{op}: non-positive stride is not supported, got stride={show(s)}")
    if any(v <= 0 for v in d):
        raise ValueError(f"{op}: dilation should be greater than zero, got dilation={show(d)}")
    if any(ai >= si and ai >= di for ai, si, di in zip(a, s, d)):
        names = _AXIS_NAMES[nd] if nd in _AXIS_NAMES else tuple(f"axis {j}" for j in range(nd))
        detail = ", ".join(
            f"{n}: output_padding {ai}, stride {si}, dilation {di}" for n, ai, si, di in zip(names, a, s, d)
        )
        raise ValueError(f"{op}: output padding must be smaller than either stride or dilation, but got {detail}")
    return s, p, a, d


def window(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Geometry:
    """PyTorch's window: ``crop_begin = padding``, ``o = (i - 1)*s - 2p + d*(k - 1) + op + 1``.

    Validates as ``F.conv_transpose*d`` does and raises PyTorch's "Output size is
    too small" when the output would be empty.

    Examples
    --------
    >>> g = window((4, 4), (4, 4), stride=2, padding=1)
    >>> g.output_size, g.crop_begin
    ((8, 8), (1, 1))
    """
    i = tuple(input_size)
    k = tuple(kernel_size)
    nd = len(i)
    s, p, a, d = _check_parameters(nd, stride, padding, output_padding, dilation, f"conv_transpose{nd}d")
    out = tuple((ii - 1) * si - 2 * pi + di * (ki - 1) + ai + 1 for ii, si, pi, di, ki, ai in zip(i, s, p, d, k, a))
    if any(o < 1 for o in out):
        raise ValueError(
            f"conv_transpose{nd}d: Given input size per channel: ({' x '.join(map(str, i))}). Calculated "
            f"output size per channel: ({' x '.join(map(str, out))}). Output size is too small"
        )
    return geometry(i, k, s, d, p, out)


def output_size(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> tuple[int, ...]:
    """Spatial output size of ``F.conv_transpose*d`` (PyTorch's formula and checks).

    Examples
    --------
    >>> output_size(16, 4, stride=2, padding=1)
    (32,)
    >>> output_size((5, 5), 3, stride=2, padding=1, output_padding=1)
    (10, 10)
    """
    i = tuple(int_list(input_size, "input_size"))
    k = _per_axis(kernel_size, "kernel_size", len(i), "output_size")
    return window(i, k, stride, padding, output_padding, dilation).output_size


def valid_output_sizes(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> tuple[range, ...]:
    """The sizes ``ConvTranspose*d.forward(input, output_size=...)`` accepts, per axis.

    ``min_size .. min_size + stride - 1`` with ``min_size = (i - 1)*s - 2p + d*(k - 1) + 1``:
    only the stride bounds the range (``F.conv_transpose*d`` itself accepts
    ``output_padding < max(stride, dilation)``).

    Examples
    --------
    >>> valid_output_sizes(5, 3, stride=2, padding=1)
    (range(9, 11),)
    >>> valid_output_sizes(5, 3, stride=1, dilation=3)   # output_padding=1, 2 are legal, output_size cannot reach them
    (range(11, 12),)
    """
    i = tuple(int_list(input_size, "input_size"))
    nd = len(i)
    k = _per_axis(kernel_size, "kernel_size", nd, "valid_output_sizes")
    lows = _min_sizes(i, k, stride, padding, dilation)
    s = _per_axis(stride, "stride", nd, "valid_output_sizes")
    return tuple(range(max(low, 1), max(low + si, 1)) for low, si in zip(lows, s))


def _min_sizes(
    i: tuple[int, ...], k: tuple[int, ...], stride: object, padding: object, dilation: object
) -> tuple[int, ...]:
    """``(i - 1)*s - 2p + d*(k - 1) + 1`` per axis (PyTorch's ``min_sizes``; may be < 1)."""
    s, p, _, d = _check_parameters(len(i), stride, padding, 0, dilation, f"conv_transpose{len(i)}d")
    return tuple((ii - 1) * si - 2 * pi + di * (ki - 1) + 1 for ii, si, pi, di, ki in zip(i, s, p, d, k))


def module_output_padding(
    input_shape: Sequence[int],
    output_size: Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> tuple[int, ...]:
    """The ``output_padding`` that ``ConvTranspose*d.forward(input, output_size)`` uses.

    PyTorch's ``_ConvTransposeNd._output_padding``: ``output_size`` has one entry per
    spatial axis, or the whole output shape (whose first two entries, or first one
    for an unbatched input, are dropped); each entry must lie in
    :func:`valid_output_sizes`; the result is ``output_size - min_size``. The
    module's own ``output_padding`` is ignored when ``output_size`` is given.

    Parameters
    ----------
    input_shape : sequence of int
        The whole input shape, ``(N, C_in, *i)`` or unbatched ``(C_in, *i)``.
    output_size : sequence of int
    kernel_size, stride, padding, dilation : int or sequence of int

    Examples
    --------
    >>> module_output_padding((1, 4, 5, 5), (10, 10), kernel_size=3, stride=2, padding=1)
    (1, 1)
    >>> module_output_padding((1, 4, 5, 5), (11, 10), kernel_size=3, stride=2, padding=1)
    Traceback (most recent call last):
    ...
    ValueError: requested an output size of (11, 10), but valid sizes range from (9, 9) to (10, 10) (for an input of (5, 5))
    """
    shape = tuple(int_list(input_shape, "input_shape"))
    size = tuple(int_list(output_size, "output_size"))
    k_list = int_list(kernel_size, "kernel_size")
    # PyTorch infers the number of spatial axes from the layer; here from kernel_size when it has one
    # entry per axis, else from a batched input
    nd = len(k_list) if len(k_list) > 1 else len(shape) - 2
    if len(shape) not in (nd + 1, nd + 2):
        raise ValueError(
            f"ConvTranspose{nd}d: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got shape {show(shape)}"
        )
    spatial = shape[-nd:]
    if len(size) not in (nd, len(shape)):
        raise ValueError(
            f"ConvTranspose{nd}D: for {len(shape)}D input, output_size must have {nd} or {len(shape)} elements "
            f"(got {len(size)})"
        )
    size = size[-nd:]
    k = _per_axis(kernel_size, "kernel_size", nd, f"ConvTranspose{nd}d")
    lows = _min_sizes(spatial, k, stride, padding, dilation)
    s = _per_axis(stride, "stride", nd, f"ConvTranspose{nd}d")
    if any(not low <= o < low + si for o, low, si in zip(size, lows, s)):
        raise ValueError(
            f"requested an output size of {show(size)}, but valid sizes range from "
            f"{show(lows)} to {show(tuple(low + si - 1 for low, si in zip(lows, s)))} "
            f"(for an input of {show(spatial)})"
        )
    return tuple(o - low for o, low in zip(size, lows))


def _conv_transpose(
    nd: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: object,
    padding: object,
    output_padding: object,
    groups: object,
    dilation: object,
) -> np.ndarray:
    op = f"conv_transpose{nd}d"
    x = as_array(input, "input")
    w = as_array(weight, "weight")
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got input of size: "
            f"{list(x.shape)}"
        )
    if w.ndim != nd + 2:
        raise ValueError(f"{op}: expected a {nd + 2}D weight (C_in, C_out/groups, *k), got shape {show(w.shape)}")
    batched = x.ndim == nd + 2
    if not batched:
        x = x[None]
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool):
        raise TypeError(f"{op}(): argument 'groups' must be int, not {type(groups).__name__}")
    g = int(groups)
    if g <= 0:
        raise ValueError(f"{op}: non-positive groups is not supported, got groups={g}")
    s, p, a, d = _check_parameters(nd, stride, padding, output_padding, dilation, op)
    if w.shape[0] % g:
        raise ValueError(
            f"Given groups={g}, expected weight to be divisible by {g} at dimension 0, but got weight of size "
            f"{list(w.shape)} instead"
        )
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"Given transposed=1, weight of size {list(w.shape)}, expected input{list(x.shape)} to have "
            f"{w.shape[0]} channels, but got {x.shape[1]} channels instead"
        )
    b = None
    if bias is not None:
        b = as_array(bias, "bias")
        if b.shape != (w.shape[1] * g,):
            raise ValueError(
                f"Given transposed=1, weight of size {list(w.shape)}, expected bias to be 1-dimensional with "
                f"{w.shape[1] * g} elements, but got bias of size {list(b.shape)} instead"
            )
    if 0 in x.shape[2:]:
        raise ValueError(
            f"{op}: Only zero batch or zero channel inputs are supported, but got input shape: {list(x.shape)}"
        )
    g_window = window(x.shape[2:], w.shape[2:], s, p, a, d)
    y = run_window(x, w, b, g_window, g)
    return y if batched else y[0]


def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
) -> np.ndarray:
    """``torch.nn.functional.conv_transpose1d`` on NumPy arrays.

    Parameters
    ----------
    input : array_like, shape (N, C_in, W) or unbatched (C_in, W)
    weight : array_like, shape (C_in, C_out/groups, kW)
    bias : array_like, shape (C_out,), optional
    stride, padding, output_padding, dilation : int or tuple of int
        PyTorch's meaning: ``padding`` crops both ends, ``output_padding`` extends
        the end, ``0 <= output_padding < max(stride, dilation)``.
    groups : int

    Returns
    -------
    ndarray, shape (N, C_out, W_out)
        ``W_out = (W - 1)*stride - 2*padding + dilation*(kW - 1) + output_padding + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 3)), stride=2, padding=1)
    array([[[1., 2., 1., 2., 1.]]])
    >>> conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 3)), stride=2, output_padding=2)
    Traceback (most recent call last):
    ...
    ValueError: conv_transpose1d: output padding must be smaller than either stride or dilation, but got width: output_padding 2, stride 2, dilation 1
    """
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
) -> np.ndarray:
    """``torch.nn.functional.conv_transpose2d`` on NumPy arrays.

    Parameters
    ----------
    input : array_like, shape (N, C_in, H, W) or unbatched (C_in, H, W)
    weight : array_like, shape (C_in, C_out/groups, kH, kW)
    bias : array_like, shape (C_out,), optional
    stride, padding, output_padding, dilation : int or tuple of int
    groups : int

    Returns
    -------
    ndarray, shape (N, C_out, H_out, W_out)

    Examples
    --------
    The DCGAN up-sampling layer (kernel 4, stride 2, padding 1) doubles the size:

    >>> import numpy as np
    >>> conv_transpose2d(np.ones((1, 3, 8, 8)), np.ones((3, 2, 4, 4)), stride=2, padding=1).shape
    (1, 2, 16, 16)
    """
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
) -> np.ndarray:
    """``torch.nn.functional.conv_transpose3d`` on NumPy arrays.

    Parameters
    ----------
    input : array_like, shape (N, C_in, D, H, W) or unbatched (C_in, D, H, W)
    weight : array_like, shape (C_in, C_out/groups, kD, kH, kW)
    bias : array_like, shape (C_out,), optional
    stride, padding, output_padding, dilation : int or tuple of int
    groups : int

    Returns
    -------
    ndarray, shape (N, C_out, D_out, H_out, W_out)

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose3d(np.ones((2, 2, 2, 3, 2)), np.ones((2, 4, 2, 2, 2)), stride=2).shape
    (2, 4, 4, 6, 4)
    """
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups, dilation)
