"""Keras 3's ``Conv{1,2,3}DTranspose`` and ``keras.ops.conv_transpose``: emulation and translation.

Same arguments, defaults (``padding="valid"``, ``output_padding=None``,
``data_format="channels_last"``), kernel layout ``kernel_size + (filters,
in_channels)`` and validation as Keras 3 (its messages), and the same numbers;
no Keras import. Only the convolution is modelled: no activation, initializers,
regularizers or constraints (``__call__`` takes the kernel and bias).

Keras' window (``keras/src/backend/common/backend_utils.py``, the rule its JAX,
PyTorch and NumPy backends implement and its TensorFlow backend reproduces
through ``tf.nn.conv_transpose``), per axis with ``k_eff = d*(k - 1) + 1``:

- ``"valid"``: the full output, plus ``output_padding`` cells at the end; the
  default ``output_padding=None`` means ``max(k_eff, s) - k_eff``, so the output
  is ``(i - 1)*s + max(k_eff, s)``;
- ``"same"`` with ``output_padding=None``: ``o = i*s``, cropped TensorFlow's way
  (``floor`` of the total crop at the start);
- ``"same"`` with an ``output_padding`` (even 0!): ``o = (i - 1)*s + k_eff % 2 +
  output_padding``, a *different* size: ``None`` and ``0`` are not the same
  under ``"same"``. The crop is ``left = min(ceil(L/2), k_eff - 1)`` cells into
  JAX's padded input with ``L = k_eff + k_eff % 2 - 2 + output_padding``.

One disagreement inside Keras: with ``"same"``, an even ``k_eff`` and
``output_padding=0`` (so ``o = (i - 1)*s``), Keras' TensorFlow backend raises
(that size is outside TensorFlow's SAME range ``[(i - 1)*s + 1, i*s]``), while its
JAX backend returns the window above. tconv returns the window, as Keras
defines it (``compute_output_shape`` gives that size on every backend).

As a translation target (:func:`target`) Keras cuts the windows of ``"valid"``
and ``"same"`` with ``output_padding`` None or below the strides (not the one its
TensorFlow backend rejects); any other window is ``"valid"`` plus a crop or
zero-pad afterwards. Keras has no groups (the plan expands them into a dense
block-diagonal kernel) and forbids ``strides > 1`` with ``dilation_rate > 1``; at
stride 1 its TensorFlow backend rejects ``dilation_rate > 1`` on CPU unless oneDNN is
on (which TensorFlow turns on by itself only on CPUs with AVX-512 VNNI/BF16 or AMX:
"Current CPU implementations do not yet support dilation rates larger than 1"), so
the plan writes any dilation into the kernel (zeros between taps), as for TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import is_int, numeric_array, show
from ..geometry import Geometry, effective_kernel_size
from ..weights import steps_from_torch, steps_to_torch
from . import _code
from ._common import (
    ConvTransposeSpec,
    Source,
    Target,
    Words,
    channel_count,
    channels_first,
    channels_last,
    dense_kernel,
    input_spatial_size,
    layer_rank,
    move_channels_first,
    move_channels_last,
    needs_rank,
    nonempty,
    run_window,
    source_rank,
    window_from_crop,
)
from ._xla import crop_of_pads

__all__ = [
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "conv_transpose",
    "output_size",
    "window",
]

#: The arguments of Keras' layers, in their positional order.
_LAYER = (
    "filters",
    "kernel_size",
    "strides",
    "padding",
    "output_padding",
    "data_format",
    "dilation_rate",
    "activation",
    "use_bias",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
)

#: The name translations print, and the parameters a translation source takes.
NAME = "Keras"
PARAMETERS = (*_LAYER[:7], "use_bias")

#: How a person writes it: the layers (also as ``tf.keras.layers``) and ``keras.ops.conv_transpose``.
WORDS = Words(
    prefixes=("keras", "layers", "tf", "ops"),
    calls={
        "Conv{n}DTranspose": _LAYER,
        "Convolution{n}DTranspose": _LAYER,
        "conv_transpose": ("inputs", "kernel", "strides", "padding", "output_padding", "data_format", "dilation_rate"),
    },
    dropped=("inputs", "kernel", "name", "dtype", "trainable"),
    unmodelled=_LAYER[7:8] + _LAYER[9:],
)


def weight_shape(
    params: dict[str, Any], input_shape: Sequence[int] | None, notes: list[str]
) -> tuple[int | str, ...] | None:
    """The kernel shape ``kernel_size + (filters, in_channels)`` a layer's arguments give (``in_channels`` off
    ``input_shape``, else the name ``"C_in"``); None without ``filters`` and ``kernel_size`` (``keras.ops``).

    Examples
    --------
    >>> weight_shape({"filters": 32, "kernel_size": 3}, (1, 16, 16, 64), [])
    (3, 3, 32, 64)
    """
    if "filters" not in params or "kernel_size" not in params:
        return None
    nd = layer_rank(params["kernel_size"], input_shape, 2, notes)
    kernel = _standardize_tuple(params["kernel_size"], nd, "kernel_size")
    axis = 1 if _standardize_data_format(params.get("data_format")) == "channels_first" else -1
    return (*kernel, params["filters"], channel_count(input_shape, axis, "C_in"))


def _standardize_tuple(value: object, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """Keras' ``standardize_tuple`` with its messages."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if is_int(value):
        values = (int(value),) * n  # type: ignore[call-overload]
    else:
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
            raise ValueError(message)
        values = tuple(value)
        if len(values) != n:
            raise ValueError(message)
        if not all(is_int(v) for v in values):
            raise ValueError(message)
        values = tuple(int(v) for v in values)
    bad = {v for v in values if (v < 0 if allow_zero else v <= 0)}
    if bad:
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{message}, including values {bad} that do not satisfy `value {rule}`")
    return values


def _standardize_padding(padding: object) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: padding={padding}")
    return padding.lower()


def _standardize_data_format(data_format: object) -> str:
    if data_format is None:
        return "channels_last"  # keras.config.image_data_format() of a default install
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={value}"
        )
    return value


def _crop(k_eff: int, s: int, padding: str, output_padding: int | None) -> tuple[int, int]:
    """``(begin, end)`` crop of one axis by Keras' rule, written as its JAX backend pads the dilated input."""
    if padding == "valid":
        a = max(k_eff, s) - k_eff if output_padding is None else output_padding
        left, right = k_eff - 1, k_eff - 1 + a
    else:
        pad_len = s + k_eff - 2 if output_padding is None else k_eff + k_eff % 2 - 2 + output_padding
        left = min(pad_len // 2 + pad_len % 2, k_eff - 1)
        right = pad_len - left
    return crop_of_pads(k_eff, (left, right))


def _crops(
    kernel_size: Sequence[int],
    strides: Sequence[int],
    padding: str,
    output_padding: Sequence[int] | None,
    dilation_rate: Sequence[int],
) -> tuple[tuple[int, int], ...]:
    """Keras' crop of every axis (arguments already standardized): it does not depend on the input size."""
    k_eff = tuple(map(effective_kernel_size, kernel_size, dilation_rate))
    ops = [None] * len(k_eff) if output_padding is None else list(output_padding)
    return tuple(_crop(ke, s, padding, a) for ke, s, a in zip(k_eff, strides, ops))


def window(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    strides: Sequence[int],
    padding: str,
    output_padding: Sequence[int] | None,
    dilation_rate: Sequence[int],
) -> Geometry:
    """Keras' window for spatial sizes (arguments already standardized).

    Examples
    --------
    ``output_padding=None`` versus ``0`` under ``"same"`` (k=2, s=2, i=6):

    >>> window((6,), (2,), (2,), "same", None, (1,)).output_size
    (12,)
    >>> window((6,), (2,), (2,), "same", (0,), (1,)).output_size
    (10,)
    """
    crop = _crops(kernel_size, strides, padding, output_padding, dilation_rate)
    return window_from_crop(input_size, kernel_size, strides, dilation_rate, crop)


def output_size(
    input_size: int,
    kernel_size: int,
    strides: int = 1,
    padding: str = "valid",
    output_padding: int | None = None,
    dilation_rate: int = 1,
) -> int:
    """Keras' output size of one axis (``compute_conv_transpose_output_shape``).

    Examples
    --------
    >>> output_size(6, 2, 2, "same"), output_size(6, 2, 2, "same", output_padding=0)
    (12, 10)
    >>> output_size(4, 1, 3, "valid")        # (i - 1)*s + max(k, s)
    12
    """
    return window(
        (input_size,),
        (kernel_size,),
        (strides,),
        _standardize_padding(padding),
        None if output_padding is None else (output_padding,),
        (dilation_rate,),
    ).output_size[0]


def _check_output_padding(output_padding: tuple[int, ...] | None, strides: tuple[int, ...]) -> None:
    if output_padding is None:
        return
    for index, (a, s) in enumerate(zip(output_padding, strides)):
        if a >= s:
            raise ValueError(
                "`output_padding` must be strictly less than `strides` for all dimensions. At dimension "
                f"{index}, `output_padding` is {a} but `strides` is {s}. Received: output_padding="
                f"{output_padding}, strides={strides}"
            )


def _run(
    inputs: Any,
    kernel: Any,
    bias: Any,
    strides: tuple[int, ...],
    padding: str,
    output_padding: tuple[int, ...] | None,
    data_format: str,
    dilation_rate: tuple[int, ...],
) -> np.ndarray:
    x = numeric_array(inputs, "inputs")
    w = numeric_array(kernel, "kernel")
    nd = w.ndim - 2
    if x.ndim != nd + 2:
        raise ValueError(
            f"expected min_ndim={nd + 2}, found ndim={x.ndim}: inputs must be batched, shape {show(x.shape)}"
        )
    c_in = x.shape[-1] if data_format == "channels_last" else x.shape[1]
    if c_in != w.shape[-1]:
        raise ValueError(
            "The number of input channels must match the kernel's input channels. Received: input channels="
            f"{c_in}, kernel input channels={w.shape[-1]}, data_format='{data_format}'."
        )
    b = None
    if bias is not None:
        b = numeric_array(bias, "bias")
        if b.shape != (w.shape[-2],):
            raise ValueError(f"bias must have shape ({w.shape[-2]},) (one value per filter), got {show(b.shape)}")
    x_cf = x if data_format == "channels_first" else move_channels_first(x)  # (N, C_in, *i)
    g = window(x_cf.shape[2:], w.shape[:nd], strides, padding, output_padding, dilation_rate)
    w_torch = np.transpose(w, (nd + 1, nd, *range(nd)))  # (*k, filters, C_in) -> (C_in, filters, *k)
    y = run_window(x_cf, w_torch, b, g, 1)  # (N, filters, *o)
    return y if data_format == "channels_first" else move_channels_last(y)


def conv_transpose(
    inputs: Any,
    kernel: Any,
    strides: int | Sequence[int] = 1,
    padding: str = "valid",
    output_padding: int | Sequence[int] | None = None,
    data_format: str | None = None,
    dilation_rate: int | Sequence[int] = 1,
) -> np.ndarray:
    """``keras.ops.conv_transpose`` on NumPy arrays (no bias; the layers add it).

    Parameters
    ----------
    inputs : array_like, shape (N, *i, C_in) or, channels first, (N, C_in, *i)
    kernel : array_like, shape (*k, filters, C_in)
    strides, dilation_rate : int or sequence of int
    padding : {"valid", "same"}, case-insensitive
    output_padding : int, sequence of int or None
        ``None`` and ``0`` differ under ``"same"`` (see the module docstring).
    data_format : {"channels_last", "channels_first"}, optional

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose(np.ones((1, 6, 1)), np.ones((2, 1, 1)), strides=2, padding="same").shape
    (1, 12, 1)
    >>> conv_transpose(np.ones((1, 6, 1)), np.ones((2, 1, 1)), strides=2, padding="same", output_padding=0).shape
    (1, 10, 1)
    """
    w = numeric_array(kernel, "kernel")
    nd = w.ndim - 2
    if nd < 1:
        raise ValueError(
            f"kernel must have at least 3 dimensions (*k, filters, in_channels), got shape {show(w.shape)}"
        )
    data_format = _standardize_data_format(data_format)
    pad = _standardize_padding(padding)
    s = _standardize_tuple(strides, nd, "strides")
    d = _standardize_tuple(dilation_rate, nd, "dilation_rate")
    a = None if output_padding is None else _standardize_tuple(output_padding, nd, "output_padding", allow_zero=True)
    return _run(inputs, w, None, s, pad, a, data_format, d)


class _ConvTranspose:
    """Keras' ``BaseConvTranspose``: validated arguments, output shape, forward pass."""

    rank = 0

    def __init__(
        self,
        filters: int,
        kernel_size: int | Sequence[int],
        strides: int | Sequence[int] = 1,
        padding: str = "valid",
        output_padding: int | Sequence[int] | None = None,
        data_format: str | None = None,
        dilation_rate: int | Sequence[int] = 1,
        use_bias: bool = True,
    ) -> None:
        n = self.rank
        self.filters = filters
        self.kernel_size = _standardize_tuple(kernel_size, n, "kernel_size")
        self.strides = _standardize_tuple(strides, n, "strides")
        self.dilation_rate = _standardize_tuple(dilation_rate, n, "dilation_rate")
        if isinstance(padding, (list, tuple)):
            raise ValueError(f"The `padding` argument must be one of 'valid', 'same'. Received: padding={padding}")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(
                f"The `padding` argument must be a list/tuple or one of {{'valid', 'same'}}. Received: {padding}"
            )
        self.padding = padding.lower()
        self.output_padding = (
            None if output_padding is None else _standardize_tuple(output_padding, n, "output_padding", allow_zero=True)
        )
        self.data_format = _standardize_data_format(data_format)
        self.use_bias = bool(use_bias)
        if not is_int(filters) or filters <= 0:
            raise ValueError(
                f"Invalid value for argument `filters`. Expected a strictly positive value. Received filters={filters}."
            )
        _check_output_padding(self.output_padding, self.strides)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
            )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(filters={self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
            f"padding={self.padding!r}, output_padding={self.output_padding}, data_format={self.data_format!r}, "
            f"dilation_rate={self.dilation_rate}, use_bias={self.use_bias})"
        )

    def kernel_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        """The shape of the layer's kernel for an input of ``input_shape``: ``kernel_size + (filters, C_in)``."""
        c_in = input_shape[-1] if self.data_format == "channels_last" else input_shape[1]
        return (*self.kernel_size, self.filters, int(c_in))

    def compute_output_shape(self, input_shape: Sequence[int | None]) -> tuple[int | None, ...]:
        """Keras' ``compute_output_shape``: ``None`` (an unknown size) stays ``None``, in any entry.

        An empty spatial axis gives ``max(size, 0)``, the size of the layer's output (Keras'
        own ``compute_output_shape`` returns the formula's negative number there).

        Examples
        --------
        >>> Conv2DTranspose(8, 3, strides=2).compute_output_shape((None, None, 5, 3))
        (None, None, 11, 8)
        """
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"expected an input shape with {self.rank + 2} entries, got {shape}")
        spatial = shape[1:-1] if self.data_format == "channels_last" else shape[2:]
        known = tuple(1 if i is None else i for i in spatial)  # any size: its entry is dropped below
        g = window(known, self.kernel_size, self.strides, self.padding, self.output_padding, self.dilation_rate)
        out = tuple(None if i is None else max(o, 0) for i, o in zip(spatial, g.output_size))
        if self.data_format == "channels_last":
            return (shape[0], *out, self.filters)
        return (shape[0], self.filters, *out)

    def __call__(self, inputs: Any, kernel: Any, bias: Any = None) -> np.ndarray:
        """The layer's output for these weights.

        Parameters
        ----------
        inputs : array_like, shape (N, *i, C_in) (or channels first)
        kernel : array_like, shape ``kernel_size + (filters, C_in)``
        bias : array_like, shape (filters,), optional
            Keras initializes the bias to zeros; ``None`` means that (or no bias
            with ``use_bias=False``, where passing one is an error).
        """
        x = numeric_array(inputs, "inputs")
        w = numeric_array(kernel, "kernel")
        if x.ndim != self.rank + 2:
            raise ValueError(
                f"Input 0 of layer {type(self).__name__} is incompatible with the layer: expected "
                f"min_ndim={self.rank + 2}, found ndim={x.ndim}. Full shape received: {x.shape}"
            )
        expected = self.kernel_shape(x.shape)
        if w.shape != expected:
            raise ValueError(f"kernel must have shape {expected} (kernel_size + (filters, in_channels)), got {w.shape}")
        if bias is not None and not self.use_bias:
            raise ValueError("bias was given to a layer with use_bias=False")
        return _run(x, w, bias, self.strides, self.padding, self.output_padding, self.data_format, self.dilation_rate)


class Conv1DTranspose(_ConvTranspose):
    """``keras.layers.Conv1DTranspose``: kernel ``(k, filters, C_in)``, input ``(N, W, C_in)``.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Conv1DTranspose(1, 3, strides=2, padding="same")
    >>> layer.compute_output_shape((1, 3, 1))
    (1, 6, 1)
    >>> layer(np.array([[[1.], [2.], [3.]]]), np.ones((3, 1, 1)))[0, :, 0]
    array([1., 1., 3., 2., 5., 3.])
    """

    rank = 1


class Conv2DTranspose(_ConvTranspose):
    """``keras.layers.Conv2DTranspose``: kernel ``(kH, kW, filters, C_in)``, input ``(N, H, W, C_in)``.

    Examples
    --------
    ``output_padding=None`` and ``output_padding=0`` differ under ``"same"``:

    >>> Conv2DTranspose(8, 2, strides=2, padding="same").compute_output_shape((1, 6, 6, 3))
    (1, 12, 12, 8)
    >>> Conv2DTranspose(8, 2, strides=2, padding="same", output_padding=0).compute_output_shape((1, 6, 6, 3))
    (1, 10, 10, 8)
    >>> Conv2DTranspose(8, 3, strides=2, dilation_rate=2)
    Traceback (most recent call last):
    ...
    ValueError: `strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: strides=(2, 2) and dilation_rate=(2, 2)
    """  # noqa: E501 (a message a doctest shows whole)

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """``keras.layers.Conv3DTranspose``: kernel ``(kD, kH, kW, filters, C_in)``.

    Examples
    --------
    >>> Conv3DTranspose(4, 3, strides=2).compute_output_shape((None, 2, 3, 4, 5))
    (None, 5, 7, 9, 4)
    """

    rank = 3


_LAYERS = {1: Conv1DTranspose, 2: Conv2DTranspose, 3: Conv3DTranspose}


# --- translation ---------------------------------------------------------------------------------------


def _choice(
    k_eff: tuple[int, ...], strides: tuple[int, ...], crop: tuple[tuple[int, int], ...]
) -> tuple[str, tuple[int, ...] | None] | None:
    """The ``padding`` and ``output_padding`` whose window is ``crop``, or None."""
    for padding in ("valid", "same"):
        if all(_crop(ke, s, padding, None) == c for ke, s, c in zip(k_eff, strides, crop)):
            return padding, None
        chosen = [_output_padding_for(ke, s, padding, c) for ke, s, c in zip(k_eff, strides, crop)]
        if None not in chosen:
            return padding, tuple(chosen)  # type: ignore[arg-type]
    return None


def _output_padding_for(k_eff: int, s: int, padding: str, crop: tuple[int, int]) -> int | None:
    """The ``output_padding < s`` whose crop under ``padding`` is ``crop``, or None (constant time).

    Each unit of ``output_padding`` crops one cell less in total (:func:`_crop`: ``begin + end`` is
    ``-a`` under "valid", ``k_eff - k_eff % 2 - a`` under "same"), so at most one ``a`` fits.
    """
    b, e = crop
    a = -(b + e) if padding == "valid" else k_eff - k_eff % 2 - b - e
    # "same" with an even k_eff and output_padding 0 is Keras' size (i-1)*s, which its TF backend rejects
    if not 0 <= a < s or (padding == "same" and k_eff % 2 == 0 and a == 0):
        return None
    return a if _crop(k_eff, s, padding, a) == crop else None


def target(spec: ConvTransposeSpec) -> Target:
    """``keras.layers.Conv{n}DTranspose`` for the window of ``spec`` (module docstring)."""
    needs_rank(spec, NAME, range(1, 4))
    nd = spec.ndim
    kernel, dilation = spec.kernel_size, spec.dilation
    dilated = max(dilation) > 1
    if max(spec.stride) > 1:
        why = "Keras forbids strides > 1 with dilation_rate > 1"
    else:
        why = "Keras's TensorFlow backend rejects dilation_rate > 1 on CPU outside oneDNN"
    steps, notes = dense_kernel(spec, "Keras has no groups", why if dilated else "", "dilation_rate")
    if dilated:
        kernel, dilation = spec.effective_kernel_size, (1,) * nd
    choice = _choice(spec.effective_kernel_size, spec.stride, spec.crop)
    output_padding: tuple[int, ...] | None
    if choice is None:
        padding, output_padding = "valid", (0,) * nd
        post = spec.crop
        why = "'valid' and 'same' with output_padding < strides reach only their own windows"
        notes.append(_code.post_note(NAME, post, why))
    else:
        padding, output_padding = choice
        post = ((0, 0),) * nd
    bias_after = any(b < 0 or e < 0 for b, e in post)
    if bias_after:
        notes.append(
            "The bias is added after the pad step (use_bias=False in the layer), so that appended cells get it too."
        )
    arguments = dict(
        filters=spec.out_channels,
        kernel_size=tuple(kernel),
        strides=spec.stride,
        padding=padding,
        output_padding=output_padding,
        data_format="channels_last",
        dilation_rate=tuple(dilation),
    )
    layout = channels_last(nd)
    zeros, crops = _code.pad_then_crop(post)

    def amounts(pairs: tuple[tuple[int, int], ...]) -> Any:
        """Keras' ``padding``/``cropping`` argument: ``(begin, end)`` in 1-d, one pair per axis otherwise."""
        return pairs[0] if nd == 1 else pairs

    def layer_lines(weight: str, bias: str | None) -> list[str]:
        """``layer``: the Keras layer for the window, built, ``weight`` (and ``bias``, which may hold None) loaded."""
        has_bias = "False" if bias is None or bias_after else f"{bias} is not None"
        steps = []
        if any(b or e for b, e in zeros):
            steps.append(f"keras.layers.ZeroPadding{nd}D({amounts(zeros)}),  # zeros where the window runs past")
        if any(b or e for b, e in crops):
            steps.append(f"keras.layers.Cropping{nd}D({amounts(crops)}),  # crop (begin, end) per spatial axis")
        conv = "conv" if steps or (bias is not None and bias_after) else "layer"
        weights = f"[{weight}]" if has_bias == "False" else f"[{weight}] if {bias} is None else [{weight}, {bias}]"
        lines = [f"{conv} = keras.layers.Conv{nd}DTranspose({_code.keywords(arguments)}, use_bias={has_bias})"]
        if conv == "conv":
            lines += ["layer = keras.Sequential([", "    conv,", *("    " + step for step in steps), "])"]
        if bias is not None and bias_after:
            lines += [f"if {bias} is not None:", f"    layer.add(AddBias({bias}))  # after the zeros: they get it too"]
        lines += [f"layer.build((None, {'None, ' * nd}{spec.in_channels}))", f"{conv}.set_weights({weights})"]
        return lines

    def body(weight: str, bias: str | None) -> list[str]:
        return [*layer_lines(weight, bias), "y = layer(x)"]

    def program(convert_weight: str) -> str:
        doc = (
            "The Keras layer for this window, built and weights loaded: (N, *spatial, C_in) -> (N, *spatial, filters)."
        )
        classes = [_ADD_BIAS] if bias_after else []
        imports = ("import numpy as np", "import keras")
        return _code.layer_program(imports, convert_weight, doc, layer_lines("weight", "bias"), *classes)

    return Target(
        framework="keras",
        function=f"keras.layers.Conv{nd}DTranspose",
        arguments=arguments,
        layout=layout,
        post=post,
        run=lambda x, w, b: _LAYERS[nd](**arguments, use_bias=b is not None)(x, w, b),  # type: ignore[arg-type]
        body=body,
        weight_steps=steps + steps_from_torch("keras", nd),
        bias_after=bias_after,
        notes=notes,
        program=program,
    )


#: The layer the printed code adds after a zero extension, so that the appended cells get the bias too.
_ADD_BIAS = '''class AddBias(keras.layers.Layer):
    """Adds a bias per channel to channels-last tensors."""

    def __init__(self, bias, **kwargs):
        super().__init__(**kwargs)
        self.bias = self.add_weight(shape=np.shape(bias), initializer="zeros")
        self.bias.assign(np.asarray(bias))

    def call(self, y):
        return y + self.bias'''


def source(params: dict[str, Any], weight_shape: tuple[int, ...], input_shape: Sequence[int] | None) -> Source:
    """A Keras layer read into a spec (``filters`` and ``kernel_size`` default to the kernel's)."""
    nd = source_rank(weight_shape, range(1, 4), "Keras has Conv1DTranspose to Conv3DTranspose, got a kernel")
    filters = params.get("filters", weight_shape[-2])
    kernel_size = params.get("kernel_size", weight_shape[:nd])
    options = {k: v for k, v in params.items() if k not in ("filters", "kernel_size")}
    layer = _LAYERS[nd](filters, kernel_size, **options)
    expected = (*layer.kernel_size, layer.filters)
    if tuple(weight_shape[:-1]) != expected:
        raise ValueError(
            f"weight_shape {show(weight_shape)} is not a kernel of this layer: expected kernel_size + (filters,) "
            f"= {show(expected)}, then in_channels"
        )
    layout = channels_first(nd) if layer.data_format == "channels_first" else channels_last(nd)
    size = input_spatial_size(input_shape, layout)
    crop = _crops(layer.kernel_size, layer.strides, layer.padding, layer.output_padding, layer.dilation_rate)
    spec = ConvTransposeSpec(
        layer.kernel_size, layer.strides, layer.dilation_rate, crop, weight_shape[-1], layer.filters, 1
    )
    call = (
        f"keras.layers.Conv{nd}DTranspose(filters={layer.filters}, kernel_size={layer.kernel_size}, "
        f"strides={layer.strides}, "
        f"padding={layer.padding!r}, output_padding={layer.output_padding}, data_format={layer.data_format!r}, "
        f"dilation_rate={layer.dilation_rate}, use_bias={layer.use_bias})"
    )
    return Source("keras", nonempty(spec, size), call, layout, steps_to_torch("keras", nd), weight_shape, layer)
