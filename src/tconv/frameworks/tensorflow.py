"""TensorFlow's ``tf.nn.conv{1,2,3}d_transpose`` and ``tf.nn.conv_transpose``: emulation and translation.

Same names, defaults, data formats (``NWC``/``NCW``, ``NHWC``/``NCHW``,
``NDHWC``/``NCDHW``) and filter layout ``[*k, output_channels, in_channels]``
as TensorFlow, TensorFlow's validation (its reasons in the messages) and its
numbers; no TensorFlow import.

TensorFlow defines ``conv*_transpose`` as the input gradient of ``conv*`` whose
input has the mandatory ``output_shape``, so the window (:mod:`tconv.geometry`)
is the forward convolution's padding of the output, pinned to the input size:

- ``"VALID"``: no padding, ``crop_begin = 0``; the forward convolution must map
  ``o`` back to ``i``: ``o in [(i - 1)*s + k_eff, (i - 1)*s + k_eff + s - 1]``;
- ``"SAME"``: ``crop_begin = floor(max((i - 1)*s + k_eff - o, 0) / 2)`` (the smaller
  half first), ``o in [(i - 1)*s + 1, i*s]``;
- explicit ``[[0, 0], [top, bottom], [left, right], [0, 0]]`` (``conv2d_transpose``
  only): ``crop_begin = top``, ``floor((o + top + bottom - k_eff)/s) + 1 = i``.

Two things TensorFlow's CPU kernels reject are computed here as the op defines
them (as TensorFlow computes them on GPU, and on CPU through oneDNN for float32):
``dilations > 1`` and the ``NCHW`` formats. Likewise grouping: when the channel
entry of ``output_shape`` is a multiple ``g`` of ``filters.shape[-2]``, the op is
the gradient of a grouped convolution with ``g`` groups (TensorFlow's CPU kernels
accept it only through oneDNN, for float32). Dtypes follow NumPy's promotion.

As a translation target (:func:`target`) TensorFlow cuts the windows of VALID
(``b = 0``, ``-s < e <= 0``), of SAME (``b = floor((b + e)/2)`` with
``k_eff - s <= b + e < k_eff``) and, in 2-d, of explicit paddings (``b >= 0``,
``e > -s``); any other window is VALID's full output plus a crop or zero-pad
afterwards. The plan expands groups into a dense block-diagonal kernel and writes
the dilation into the kernel (its CPU kernels reject both outside oneDNN's
float32 path), and adds the bias after the call (the op has none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validate import int_tuple, is_int, numeric_array, positive_sizes, show, spatial_rank
from ..geometry import Geometry, effective_kernel_size
from ..weights import steps_from_torch, steps_to_torch, to_torch_layout
from . import _code
from ._common import (
    ConvTransposeSpec,
    Source,
    Target,
    Words,
    channels_first,
    channels_last,
    dense_kernel,
    int_list,
    move_channels_first,
    move_channels_last,
    needs_rank,
    nonempty,
    run_window,
    source_rank,
)

__all__ = [
    "conv1d_transpose",
    "conv2d_transpose",
    "conv3d_transpose",
    "conv_transpose",
    "valid_output_sizes",
    "window",
]

#: The name translations print, and the parameters a translation source takes.
NAME = "TensorFlow"
PARAMETERS = ("output_shape", "strides", "padding", "data_format", "dilations")

_CALL = ("input", "filters", "output_shape", "strides", "padding", "data_format", "dilations", "name")

#: How a person writes it: ``tf.nn.conv{n}d_transpose`` and ``tf.nn.conv_transpose``.
WORDS = Words(
    prefixes=("tf", "tensorflow", "nn"),
    calls={"conv{n}d_transpose": _CALL, "conv_transpose": _CALL},
    dropped=("input", "filters", "name"),
)


def weight_shape(
    params: dict[str, Any], input_shape: Sequence[int] | None, notes: list[str]
) -> tuple[int | str, ...] | None:
    """None: a call's arguments never give the filters' kernel size, so their shape must be given."""
    return None


_FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


def _sequence(value: object, n: int, channel_index: int, name: str) -> list[int]:
    """TensorFlow's ``_get_sequence``: 1, ``n`` or ``n + 2`` entries -> ``n + 2`` entries."""
    if value is None:
        return [1] * (n + 2)
    values = int_list(value, name)
    if len(values) == n + 2:
        return values
    if len(values) == 1:
        values = values * n
    elif len(values) != n:
        lengths = f"1, {n} or {n + 2}"
        raise ValueError(f"{name} should be of length {lengths}. Received: {name}={values} of length {len(values)}")
    return [1, 1] + values if channel_index == 1 else [1] + values + [1]


def _explicit_padding(padding: Sequence, nd: int, channel_index: int) -> list[tuple[int, int]]:
    """``[[0, 0], [top, bottom], [left, right], [0, 0]]`` -> spatial ``(begin, end)`` pairs."""
    pairs = []
    for index, entry in enumerate(padding):
        if not isinstance(entry, (list, tuple)):
            raise ValueError(
                "When `padding` is a list, each element of `padding` must be a list/tuple of size 2. Received: "
                f"padding={padding} with element at index {index} of type {type(entry)}"
            )
        if len(entry) != 2:
            raise ValueError(
                "When `padding` is a list, each element of `padding` must be a list/tuple of size 2. Received: "
                f"padding={padding} with element at index {index} of size {len(entry)}"
            )
        pairs.append(tuple(int_list(list(entry), "padding")))
    if len(pairs) != nd + 2:
        raise ValueError(
            f"When padding is a list, it must be of size {nd + 2}. Received: padding={padding} of size {len(pairs)}"
        )
    if any(v < 0 for pair in pairs for v in pair):
        raise ValueError(f"All elements of explicit_paddings must be nonnegative, got padding={padding}")
    spatial = list(range(2, nd + 2)) if channel_index == 1 else list(range(1, nd + 1))
    if any(pairs[j] != (0, 0) for j in range(nd + 2) if j not in spatial):
        raise ValueError(
            f"Nonzero explicit padding in the batch or depth dimensions is not supported, got padding={padding}"
        )
    return [pairs[j] for j in spatial]  # type: ignore[misc]


def _padding(padding: object, nd: int, channel_index: int, op: str) -> str | list[tuple[int, int]]:
    if isinstance(padding, (list, tuple)):
        if nd != 2:
            raise TypeError(f"{op}: Expected string for argument 'padding' not {padding!r}")
        return _explicit_padding(padding, nd, channel_index)
    if padding == "EXPLICIT":
        raise ValueError(
            "'EXPLICIT' is not a valid value for `padding`. To use explicit padding, `padding` must be a list."
        )
    if padding not in ("SAME", "VALID"):
        raise ValueError(
            f"{op}: Value for attr 'padding' of \"{padding}\" is not in the list of allowed values: "
            '"SAME", "VALID"' + (', "EXPLICIT"' if nd == 2 else "") + " (TensorFlow's padding names are upper case)"
        )
    return padding


def _computed_input_size(o: int, k_eff: int, s: int, padding: str | tuple[int, int]) -> int:
    """The forward convolution's output size for an input of size ``o`` (what TF checks against ``i``).

    TensorFlow's ``GetWindowedOutputSize``: ``(o + s - 1) / s`` for SAME and
    ``(o + before + after - k_eff + s) / s`` otherwise, in C++ integer division,
    which truncates toward zero. The truncation decides which outputs an empty
    input (``i = 0``) takes: ``o`` in ``(k_eff - 2s, k_eff)`` for VALID (TensorFlow's
    "degenerate" tests), only ``o = 0`` for SAME.
    """
    if padding == "SAME":
        return (o + s - 1) // s
    before, after = padding if isinstance(padding, tuple) else (0, 0)  # VALID: none
    numerator = o + before + after - k_eff + s
    return numerator // s if numerator >= 0 else -(-numerator // s)


def window(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    output_size: Sequence[int],
    strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]] = "SAME",
    dilations: Sequence[int] | None = None,
) -> Geometry:
    """TensorFlow's window for spatial sizes, after checking ``output_size`` as the op does.

    Parameters
    ----------
    input_size, kernel_size, output_size, strides : sequence of int
        Spatial entries only.
    padding : "SAME", "VALID", or ``(top, bottom)`` pairs per spatial axis
    dilations : sequence of int, optional

    Examples
    --------
    TensorFlow's "SAME" with an odd total crop puts the smaller half first:

    >>> window((4,), (3,), (8,), (2,)).crop_begin
    (0,)
    >>> window((4,), (3,), (6,), (2,))
    Traceback (most recent call last):
    ...
    ValueError: conv_transpose: output_shape does not match the input (Size of out_backprop doesn't match computed: actual = 4, computed = 3 spatial_dim: 0 input: 6 filter: 3 output: 4 stride: 2 dilation: 1); for padding 'SAME' the valid sizes are 7 to 8
    """  # noqa: E501 (a message a doctest shows whole)
    i, k, o, s = tuple(input_size), tuple(kernel_size), tuple(output_size), tuple(strides)
    nd = len(i)
    d = tuple(dilations) if dilations is not None else (1,) * nd
    pads = [padding] * nd if isinstance(padding, str) else [tuple(p) for p in padding]
    begins = []
    for axis, (ii, ki, oi, si, di, pad) in enumerate(zip(i, k, o, s, d, pads)):
        k_eff = effective_kernel_size(ki, di)
        computed = _computed_input_size(oi, k_eff, si, pad)
        if computed < 0:
            raise ValueError(
                f"conv_transpose: output_shape does not match the input (Computed output size would be negative: "
                f"{computed} [input_size: {oi}, effective_filter_size: {k_eff}, stride: {si}]); for padding "
                f"{pad!r} the valid sizes are {_show_range(ii, ki, si, di, pad)}"
            )
        if computed != ii:
            raise ValueError(
                f"conv_transpose: output_shape does not match the input (Size of out_backprop doesn't match "
                f"computed: actual = {ii}, computed = {computed} spatial_dim: {axis} input: {oi} filter: {ki} "
                f"output: {ii} stride: {si} dilation: {di}); for padding {pad!r} the valid sizes are "
                f"{_show_range(ii, ki, si, di, pad)}"
            )
        if pad == "VALID":
            begins.append(0)
        elif pad == "SAME":
            begins.append(max((ii - 1) * si + k_eff - oi, 0) // 2)
        else:
            begins.append(pad[0])
    return Geometry(i, o, k, s, d, tuple(begins))


def _show_range(i: int, k: int, s: int, d: int, padding: str | tuple[int, int]) -> str:
    sizes = valid_output_sizes((i,), (k,), (s,), padding if isinstance(padding, str) else [padding], (d,))[0]
    return f"{sizes.start} to {sizes.stop - 1}" if len(sizes) else "none"


def int_list_of(padding: Any, nd: int) -> list[Any]:
    """Explicit padding as one entry per spatial axis (a ``ValueError`` naming ``padding`` otherwise)."""
    if not isinstance(padding, (list, tuple)) or len(padding) != nd:
        raise ValueError(f"padding must be 'SAME', 'VALID' or {nd} (top, bottom) pairs, got {padding!r}")
    return list(padding)


def valid_output_sizes(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]] = "SAME",
    dilations: Sequence[int] | None = None,
) -> tuple[range, ...]:
    """The ``output_shape`` entries TensorFlow accepts, per spatial axis.

    ``"VALID"``: ``(i - 1)*s + k_eff`` to ``+ s - 1``; ``"SAME"``: ``(i - 1)*s + 1`` to
    ``i*s``; explicit ``(top, bottom)``: the VALID range minus ``top + bottom``. An
    empty input (``i = 0``) takes the sizes whose forward convolution truncates to
    0: ``max(k_eff - 2s + 1, 0)`` to ``k_eff - 1`` (VALID, less ``top + bottom``
    when explicit) and ``0`` (SAME).

    Examples
    --------
    >>> valid_output_sizes((4,), (3,), (2,), "SAME")
    (range(7, 9),)
    >>> valid_output_sizes((4,), (3,), (2,), "VALID")
    (range(9, 11),)
    """
    nd = spatial_rank(input_size, "input_size")
    i = int_tuple(input_size, "input_size", nd, minimum=0, rule="non-negative")  # an empty input is TensorFlow's too
    k = positive_sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(strides, "strides", nd, minimum=1, rule="positive")
    d = int_tuple(dilations, "dilations", nd, minimum=1, rule="positive") if dilations is not None else (1,) * nd
    if isinstance(padding, str):
        if padding not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME', 'VALID' or (top, bottom) pairs per axis, got {padding!r}")
        pads: list[Any] = [padding] * nd
    else:
        pads = [int_tuple(p, "padding", 2, minimum=0, rule="non-negative") for p in int_list_of(padding, nd)]
    ranges = []
    for ii, ki, si, di, pad in zip(i, k, s, d, pads):
        k_eff = effective_kernel_size(ki, di)
        total = 0 if isinstance(pad, str) else pad[0] + pad[1]
        if ii == 0:  # C++'s truncating division (see _computed_input_size)
            sizes = range(0, 1) if pad == "SAME" else range(max(k_eff - 2 * si + 1 - total, 0), k_eff - total)
            ranges.append(range(sizes.start, max(sizes.stop, sizes.start)))
        elif pad == "SAME":
            ranges.append(range((ii - 1) * si + 1, ii * si + 1))
        else:
            low = (ii - 1) * si + k_eff - total
            ranges.append(range(max(low, 1), max(low + si, 1)))
    return tuple(ranges)


def _resolve(
    nd: int,
    op: str,
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    output_shape: Any,
    strides: object,
    padding: object,
    data_format: str,
    dilations: object,
) -> tuple[Geometry, int, int]:
    """TensorFlow's checks of a call, on its arguments and shapes, and its window.

    Returns ``(window, groups, channel_index)``.
    """
    if not isinstance(data_format, str) or data_format not in _FORMATS[nd]:
        raise ValueError(
            f"{op}: Value for attr 'data_format' of \"{data_format}\" is not in the list of allowed values: "
            + ", ".join(f'"{f}"' for f in _FORMATS[nd])
        )
    channel_index = 1 if data_format.startswith("NC") else nd + 1
    s_full = _sequence(strides, nd, channel_index, "stride" if nd == 1 else "strides")
    d_full = _sequence(dilations, nd, channel_index, "dilations")
    spatial_axes = list(range(2, nd + 2)) if channel_index == 1 else list(range(1, nd + 1))
    if s_full[0] != 1 or s_full[channel_index] != 1:
        raise ValueError(
            f"{op}: Current implementation does not yet support strides in the batch and depth dimensions."
        )
    if d_full[0] != 1 or d_full[channel_index] != 1:
        raise ValueError(
            f"{op}: Current implementation does not yet support dilations in the batch and depth dimensions."
        )
    s = tuple(s_full[a] for a in spatial_axes)
    d = tuple(d_full[a] for a in spatial_axes)
    if any(v < 1 for v in s):
        raise ValueError(f"{op}: strides should be larger than 0, got strides={s_full}")
    if any(v < 1 for v in d):
        raise ValueError(f"{op}: Dilated rates should be larger than 0, got dilations={d_full}")
    pad = _padding(padding, nd, channel_index, op)
    if len(x_shape) != nd + 2:
        raise ValueError(
            f"{op}: input must be {nd + 2}-dimensional (batched, {data_format}), got shape {show(x_shape)}"
        )
    if len(w_shape) != nd + 2:
        raise ValueError(
            f"{op}: filters must be {nd + 2}-dimensional [*k, output_channels, in_channels], got shape {show(w_shape)}"
        )
    shape = _output_shape(output_shape, nd, op)
    if len(shape) == nd:  # conv2d_backprop_input also accepts the spatial sizes alone
        c_out = w_shape[-2]
        shape = [x_shape[0], c_out, *shape] if channel_index == 1 else [x_shape[0], *shape, c_out]
    if any(v < 0 for v in shape):
        raise ValueError(f"{op}: output_shape entries must be >= 0, got output_shape={shape}")
    n_out, c_out = shape[0], shape[channel_index]
    c_in = x_shape[channel_index]
    if n_out != x_shape[0]:
        raise ValueError(
            f"{op}: input and out_backprop must have the same batch size. Input batch: {n_out}, outbackprop "
            f"batch: {x_shape[0]} (output_shape={shape}, input shape {show(x_shape)})"
        )
    if w_shape[-1] != c_in:
        raise ValueError(
            f"{op}: filter and out_backprop must have the same out_depth: filters.shape[-1]={w_shape[-1]} "
            f"(in_channels) but the input has {c_in} channels"
        )
    if c_out == 0 or c_out % w_shape[-2]:
        raise ValueError(
            f"{op}: input depth must be evenly divisible by filter depth: output_shape has {c_out} channels, "
            f"filters.shape[-2] (output_channels) is {w_shape[-2]}"
        )
    groups = c_out // w_shape[-2]
    if c_in % groups:
        raise ValueError(
            f"{op}: {c_out} output channels with filters of output depth {w_shape[-2]} is a grouped convolution "
            f"with {groups} groups, which must divide the {c_in} input channels"
        )
    i = tuple(x_shape[a] for a in spatial_axes)
    o = tuple(shape[a] for a in spatial_axes)
    return window(i, w_shape[:nd], o, s, pad, d), groups, channel_index


def _conv_transpose(
    nd: int,
    op: str,
    input: Any,
    filters: Any,
    output_shape: Any,
    strides: object,
    padding: object,
    data_format: str,
    dilations: object,
) -> np.ndarray:
    x = numeric_array(input, "input")
    w = numeric_array(filters, "filters")
    g, groups, channel_index = _resolve(
        nd, op, x.shape, w.shape, output_shape, strides, padding, data_format, dilations
    )
    x_cf = x if channel_index == 1 else move_channels_first(x)  # (N, C_in, *i)
    y = run_window(x_cf, to_torch_layout(w, "tensorflow"), None, g, groups)  # (N, C_out, *o)
    return y if channel_index == 1 else move_channels_last(y)


def _sized(output_shape: Any) -> list[Any]:
    if isinstance(output_shape, (Sequence, np.ndarray)) and not isinstance(output_shape, (str, bytes)):
        return list(output_shape)
    raise ValueError(f"`output_shape` must be a tensor or sized collection. Received: output_shape={output_shape}")


def _output_shape(output_shape: Any, nd: int, op: str) -> list[int]:
    values = [v.item() if isinstance(v, np.generic) else v for v in _sized(output_shape)]
    if not all(is_int(v) for v in values):
        raise TypeError(f"{op}: output_shape must contain integers, got {output_shape!r}")
    lengths = (nd + 2, nd) if nd == 2 else (nd + 2,)
    if len(values) not in lengths:
        raise ValueError(
            f"{op}: output_shape must have {' or '.join(map(str, lengths))} entries, got {len(values)}: {values}"
        )
    return [int(v) for v in values]


def _functional(nd: int | None, doc: str) -> Callable[..., np.ndarray]:
    """``tf.nn.conv{nd}d_transpose``, or with ``nd=None`` ``tf.nn.conv_transpose`` (the rank from ``output_shape``)."""
    name = "conv_transpose" if nd is None else f"conv{nd}d_transpose"

    def conv_transpose(
        input: Any,
        filters: Any,
        output_shape: Sequence[int],
        strides: int | Sequence[int],
        padding: str | Sequence[Sequence[int]] = "SAME",
        data_format: str | None = None,
        dilations: int | Sequence[int] | None = None,
    ) -> np.ndarray:
        n = len(_sized(output_shape)) - 2 if nd is None else nd
        if not 1 <= n <= 3:
            raise ValueError(
                f"`output_shape` must be of length 3, 4 or 5. Received: output_shape={list(output_shape)} "
                f"of length {n + 2}."
            )
        data_format = _FORMATS[n][0] if data_format is None else data_format
        if n == 1 and (not isinstance(data_format, str) or data_format not in _FORMATS[1]):
            raise ValueError(f"`data_format` must be 'NWC' or 'NCW'. Received: data_format={data_format}")
        op = f"conv{n}d_transpose"
        return _conv_transpose(n, op, input, filters, output_shape, strides, padding, data_format, dilations)

    conv_transpose.__name__ = conv_transpose.__qualname__ = name
    conv_transpose.__doc__ = doc
    return conv_transpose


conv1d_transpose = _functional(
    1,
    """``tf.nn.conv1d_transpose`` on NumPy arrays: :func:`conv2d_transpose` with one spatial axis.

    ``input`` is ``(N, W, C_in)`` ("NWC") or ``(N, C_in, W)`` ("NCW"), ``filters``
    ``(kW, C_out, C_in)``, ``output_shape`` the 3 entries of the output, ``strides`` and
    ``dilations`` 1 or 3 ints; ``padding`` is "SAME" or "VALID".

    Examples
    --------
    >>> import numpy as np
    >>> conv1d_transpose(np.ones((1, 3, 1)), np.ones((3, 1, 1)), [1, 6, 1], 2)[0, :, 0]
    array([1., 1., 2., 1., 2., 1.])
    """,
)

conv2d_transpose = _functional(
    2,
    """``tf.nn.conv2d_transpose`` on NumPy arrays, explicit paddings included.

    Parameters
    ----------
    input : array_like, shape (N, H, W, C_in) ("NHWC") or (N, C_in, H, W) ("NCHW")
    filters : array_like, shape (kH, kW, C_out, C_in)
    output_shape : sequence of 4 int (or the 2 spatial sizes)
    strides : int or sequence of 1, 2 or 4 int
    padding : "SAME", "VALID", or ``[[0, 0], [top, bottom], [left, right], [0, 0]]``
        (``[[0, 0], [0, 0], [top, bottom], [left, right]]`` for "NCHW"): the
        forward convolution's padding of the output, non-negative.
    data_format : {"NHWC", "NCHW"}
    dilations : int or sequence of 1, 2 or 4 int, optional

    Returns
    -------
    ndarray of shape ``output_shape``

    Examples
    --------
    TensorFlow's worked example of ``conv2d_transpose`` (it prints 67 first):

    >>> import numpy as np
    >>> x = np.array([[-67., -77.], [-117., -127.]]).reshape(1, 2, 2, 1)
    >>> w = np.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]]).reshape(3, 3, 1, 1)
    >>> conv2d_transpose(x, w, [1, 5, 5, 1], strides=2, padding="VALID")[0, :2, :, 0]
    array([[  67., -134.,  278., -154.,  231.],
           [-268.,  335., -710.,  385., -462.]])
    """,
)

conv3d_transpose = _functional(
    3,
    """``tf.nn.conv3d_transpose`` on NumPy arrays: :func:`conv2d_transpose` with three spatial axes.

    ``input`` is ``(N, D, H, W, C_in)`` ("NDHWC") or ``(N, C_in, D, H, W)`` ("NCDHW"),
    ``filters`` ``(kD, kH, kW, C_out, C_in)``, ``output_shape`` the 5 entries of the
    output, ``strides`` and ``dilations`` 1, 3 or 5 ints; ``padding`` is "SAME" or "VALID".

    Examples
    --------
    >>> import numpy as np
    >>> conv3d_transpose(np.ones((1, 2, 2, 2, 3)), np.ones((3, 3, 3, 4, 3)), [1, 4, 4, 4, 4], 2).shape
    (1, 4, 4, 4, 4)
    """,
)


conv_transpose = _functional(
    None,
    """``tf.nn.conv_transpose``: the rank comes from ``len(output_shape) - 2`` (1, 2 or 3).

    ``filters`` is ``[*k, output_channels, in_channels]`` as for the rank-specific
    functions (TensorFlow's docstring of this function says ``[..., in, out]``, but
    it dispatches to them). ``data_format=None`` means channels last; any format
    starting with "NC" is channels first.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose(np.ones((1, 4, 4, 2)), np.ones((3, 3, 5, 2)), [1, 8, 8, 5], 2).shape
    (1, 8, 8, 5)
    >>> conv_transpose(np.ones((1, 4, 2)), np.ones((3, 5, 2)), [1, 4, 4, 4, 5, 5], 2)
    Traceback (most recent call last):
    ...
    ValueError: `output_shape` must be of length 3, 4 or 5. Received: output_shape=[1, 4, 4, 4, 5, 5] of length 6.
    """,
)


# --- translation ---------------------------------------------------------------------------------------


def _choice(spec: ConvTransposeSpec) -> tuple[Any, tuple[tuple[int, int], ...]]:
    """The ``padding`` that cuts the window of ``spec`` and the window it cuts (the full output when none does)."""
    axes = list(zip(spec.effective_kernel_size, spec.stride, spec.crop))
    if all(b == 0 and -s < e <= 0 for _, s, (b, e) in axes):
        return "VALID", spec.crop
    if all(ke - s <= b + e <= ke - 1 and b == max(b + e, 0) // 2 for ke, s, (b, e) in axes):
        return "SAME", spec.crop
    if spec.ndim == 2 and all(b >= 0 and e > -s for _, s, (b, e) in axes):
        return [[0, 0], *([b, max(e, 0)] for _, _, (b, e) in axes), [0, 0]], spec.crop
    return "VALID", ((0, 0),) * spec.ndim


def target(spec: ConvTransposeSpec) -> Target:
    """``tf.nn.conv{n}d_transpose`` for the window of ``spec`` (module docstring), bias added after the call."""
    needs_rank(spec, NAME, range(1, 4))
    nd = spec.ndim
    reject = "TensorFlow's CPU kernels reject dilations > 1 (except float32 through oneDNN)"
    steps, notes = dense_kernel(
        spec, "TensorFlow has no groups argument", reject if max(spec.dilation) > 1 else "", "dilations"
    )
    padding, window = _choice(spec)
    post = tuple((b - wb, e - we) for (b, e), (wb, we) in zip(spec.crop, window))
    offsets = tuple(ke - wb - we for ke, (wb, we) in zip(spec.effective_kernel_size, window))  # o = (i - 1)*s + offset
    if any(b or e for b, e in post):
        explicit = "explicit padding is non-negative" if nd == 2 else "explicit padding is 2-d only"
        notes.append(_code.post_note(NAME, post, "SAME crops floor(T/2) first, VALID nothing, and " + explicit))
    notes.append("TensorFlow's op has no bias: the plan adds it after the call.")
    strides = list(spec.stride)
    c_out = spec.out_channels
    output_shape: Any
    if spec.input_size is not None:
        output_shape = ["N", *((i - 1) * s + c for i, s, c in zip(spec.input_size, spec.stride, offsets)), c_out]
    else:
        sizes = ", ".join(f"({a} - 1)*{s} + {c}" for a, s, c in zip("HWD", spec.stride, offsets))
        output_shape = f"[N, {sizes}, {c_out}]"
    data_format = _FORMATS[nd][0]
    arguments = dict(
        output_shape=output_shape, strides=strides, padding=padding, data_format=data_format, dilations=[1] * nd
    )
    function = {1: conv1d_transpose, 2: conv2d_transpose, 3: conv3d_transpose}[nd]
    layout = channels_last(nd)

    def run(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        shape = [x.shape[0], *((i - 1) * s + c for i, s, c in zip(x.shape[1:-1], spec.stride, offsets)), c_out]
        return function(x, w, shape, strides, padding=padding, data_format=data_format)

    def body(weight: str, bias: str | None) -> list[str]:
        sizes = (f"(x.shape[{j + 1}] - 1) * {s} + {c}" for j, (s, c) in enumerate(zip(spec.stride, offsets)))
        return [
            f"output_shape = [{', '.join(['tf.shape(x)[0]', *sizes, str(c_out)])}]",
            f"y = tf.nn.conv{nd}d_transpose(x, {weight}, output_shape, strides={strides}, padding={padding!r}, "
            f"data_format={data_format!r})",
            *_code.pad_crop_lines(post, layout, "y = tf.pad(y, {pads})"),
        ]

    return Target(
        framework="tensorflow",
        function=f"tf.nn.conv{nd}d_transpose",
        arguments=arguments,
        layout=layout,
        post=post,
        run=run,
        body=body,
        imports=("import numpy as np", "import tensorflow as tf"),
        doc="x: (N, *spatial, C_in) tensor (channels last); weight: convert_weight(w); bias: (C_out,) or None.",
        weight_steps=steps + steps_from_torch("tensorflow", nd),
        bias_after=True,
        notes=notes,
    )


def source(params: dict[str, Any], weight_shape: tuple[int, ...], input_shape: Sequence[int] | None) -> Source:
    """A ``tf.nn.conv{n}d_transpose`` call read into a spec, pinned to ``input_shape`` by its ``output_shape``."""
    nd = source_rank(weight_shape, range(1, 4), "TensorFlow's conv_transpose has 1 to 3 spatial axes, got filters")
    if "output_shape" not in params:
        raise ValueError("TensorFlow's conv_transpose needs output_shape (it is mandatory there)")
    if input_shape is None:
        raise ValueError("TensorFlow's output_shape pins the window to one input size: pass input_shape")
    data_format = params.get("data_format") or _FORMATS[nd][0]
    output_shape = list(params["output_shape"])
    strides, padding, dilations = params.get("strides", 1), params.get("padding", "SAME"), params.get("dilations")
    x_shape = tuple(int(v) for v in input_shape)
    op = f"conv{nd}d_transpose"
    g, groups, channel_index = _resolve(
        nd, op, x_shape, weight_shape, output_shape, strides, padding, data_format, dilations
    )
    layout = channels_first(nd) if channel_index == 1 else channels_last(nd)
    c_in = weight_shape[-1]
    spec = ConvTransposeSpec(
        g.kernel_size, g.stride, g.dilation, g.padding_pairs, c_in, weight_shape[-2] * groups, groups, g.input_size
    )
    call = (
        f"tf.nn.conv{nd}d_transpose(x, filters, output_shape={output_shape}, strides={strides!r}, "
        f"padding={padding!r}, data_format={data_format!r}, dilations={dilations!r})"
    )
    notes = [
        f"TensorFlow's output_shape pins the window to input size {show(g.input_size)}: the plan holds for that size."
    ]

    def run(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        y = conv_transpose(x, w, output_shape, strides, padding=padding, data_format=data_format, dilations=dilations)
        return y if b is None else y + (np.reshape(b, (-1,) + (1,) * nd) if channel_index == 1 else b)

    return Source(
        "tensorflow",
        nonempty(spec, g.input_size),
        call,
        layout,
        steps_to_torch("tensorflow", nd),
        weight_shape,
        run,
        notes=notes,
    )
