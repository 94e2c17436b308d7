"""Translate a transposed convolution from one framework's convention to another's, exactly.

:func:`translate` reads a layer or call in its source framework's own argument
names (``params``) and returns a :class:`TranslationPlan` for the target
framework: the target's arguments, the weight transform (permute, flip, regroup,
dilate), the data layout, and -- when the target cannot express the source's
window -- the crop or zero-pad to apply after the target's call, stated plainly.
A plan runs on NumPy arrays (:meth:`TranslationPlan.apply`, through
:mod:`tconv.compat`) and prints itself as code for the target framework
(:meth:`TranslationPlan.to_code`); the tests run the source in its framework and
the printed code in the target framework for every pair.

How it works: every framework's transposed convolution is a window of one full
output (``tconv/shape.py``). The source's arguments are resolved into that window
-- a crop ``(begin, end)`` per axis, negative meaning zero extension -- plus the
kernel, stride, dilation and channels (a :class:`ConvTransposeSpec`), and the
target's arguments are chosen to cut the same window. The frameworks' limits:

========== ================================================================================
target     which windows it can cut (``k_eff = d*(k - 1) + 1``, crops ``b``/``e``)
========== ================================================================================
tconv      every window (``padding=((b, e), ...)``)
jax        every window (``lax.conv_transpose`` pads ``(k_eff - 1 - b, k_eff - 1 - e)``)
torch      ``b >= 0`` and ``0 <= b - e < max(s, d)`` (``padding=b``, ``output_padding=b - e``)
onnx       ``b >= 0`` and ``e > -s`` (``pads``, and ``output_padding`` for ``e < 0``)
tensorflow VALID (``b = 0``, ``-s < e <= 0``), SAME (``b = floor((b + e)/2)`` with
           ``k_eff - s <= b + e < k_eff``), or, in 2-d, explicit ``b >= 0``, ``e > -s``
keras      the windows of ``"valid"``/``"same"`` with ``output_padding`` ``None`` or ``< s``
========== ================================================================================

Anything else gets the nearest call plus an explicit crop/pad step. Groups are
expanded into a dense block-diagonal kernel for TensorFlow and Keras (exact, at
``groups`` times the work), and JAX uses ``conv_general_dilated`` with
``feature_group_count``. Dilation is written into the kernel for TensorFlow (whose
CPU kernels reject ``dilations > 1`` outside oneDNN's float32 path) and for Keras
when combined with a stride (which Keras forbids).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import _steps
from ._validate import is_int, show
from .frameworks import jax as compat_jax
from .frameworks import keras as compat_keras
from .frameworks import onnx as compat_onnx
from .frameworks import tensorflow as compat_tf
from .frameworks import torch as compat_torch
from .geometry import Geometry, conv_transpose_geometry

__all__ = ["FRAMEWORKS", "ConvTransposeSpec", "TranslationPlan", "output_size", "resolve", "translate"]

#: The conventions :func:`translate` reads and writes.
FRAMEWORKS = ("tconv", "torch", "tensorflow", "keras", "jax", "onnx")

#: The parameter names each source accepts (its own argument names).
PARAMETERS = {
    "tconv": ("stride", "padding", "output_padding", "groups", "dilation", "output_size", "layout"),
    "torch": ("stride", "padding", "output_padding", "groups", "dilation", "output_size"),
    "tensorflow": ("output_shape", "strides", "padding", "data_format", "dilations"),
    "keras": (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "output_padding",
        "data_format",
        "dilation_rate",
        "use_bias",
    ),
    "jax": (
        "strides",
        "padding",
        "rhs_dilation",
        "dimension_numbers",
        "transpose_kernel",
        "use_consistent_padding",
        "window_strides",
        "lhs_dilation",
        "feature_group_count",
    ),
    "onnx": (
        "auto_pad",
        "dilations",
        "group",
        "kernel_shape",
        "output_padding",
        "output_shape",
        "pads",
        "strides",
        "semantics",
    ),
}

#: Each framework's weight layout name (:data:`tconv.weights.WEIGHT_LAYOUTS`).
_NAMES = {
    "tconv": "tconv",
    "torch": "PyTorch",
    "tensorflow": "TensorFlow",
    "keras": "Keras",
    "jax": "JAX",
    "onnx": "ONNX",
}


@dataclass(frozen=True)
class ConvTransposeSpec:
    """A transposed convolution without a framework: tconv's window model plus channels.

    Per spatial axis the output is the window ``[begin, full - end)`` of the full
    output ``full = (i - 1)*stride + dilation*(kernel_size - 1) + 1``; a negative
    ``begin``/``end`` extends that side with zeros (plus the bias).

    Attributes
    ----------
    kernel_size, stride, dilation : tuple of int
    crop : tuple of (int, int)
        ``(begin, end)`` per axis.
    in_channels, out_channels, groups : int
    input_size : tuple of int or None
        The spatial input size the window is pinned to (sources that give an
        explicit output size), or None when it holds for every input size.
    """

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    crop: tuple[tuple[int, int], ...]
    in_channels: int
    out_channels: int
    groups: int
    input_size: tuple[int, ...] | None = None

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)

    @property
    def effective_kernel_size(self) -> tuple[int, ...]:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    def output_size(self, input_size: Sequence[int]) -> tuple[int, ...]:
        """``(i - 1)*s + k_eff - begin - end`` per axis."""
        return tuple(
            (i - 1) * s + ke - b - e
            for i, s, ke, (b, e) in zip(input_size, self.stride, self.effective_kernel_size, self.crop)
        )

    def geometry(self, input_size: Sequence[int]) -> Geometry:
        """The :class:`tconv.geometry.Geometry` of this window for an input size."""
        return Geometry(
            tuple(input_size),
            self.output_size(input_size),
            self.kernel_size,
            self.stride,
            self.dilation,
            tuple(b for b, _ in self.crop),
        )


@dataclass
class _Source:
    """A source call resolved: its spec, how its arrays map to tconv's, and its compat function."""

    framework: str
    spec: ConvTransposeSpec
    call: str
    input_perm: tuple[int, ...]  # source input (batched) -> (N, C, *S)
    output_perm: tuple[int, ...]  # (N, C, *S) -> source output
    weight_steps: list[_steps.Step]  # source weight -> (C_in, C_out/G, *k)
    weight_shape: tuple[int, ...]
    run: Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]
    unbatched: bool = False
    notes: list[str] = field(default_factory=list)


def _channels_last_perms(nd: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(source -> canonical, canonical -> source) for ``(N, *S, C)`` data."""
    return (0, nd + 1, *range(1, nd + 1)), (0, *range(2, nd + 2), 1)


def _identity(nd: int) -> tuple[int, ...]:
    return tuple(range(nd + 2))


def _check_keys(params: Mapping[str, Any], source: str) -> dict[str, Any]:
    if not isinstance(params, Mapping):
        raise TypeError(
            f"params must be a mapping of {_NAMES[source]}'s argument names to values, got {type(params).__name__}"
        )
    unknown = sorted(set(params) - set(PARAMETERS[source]))
    if unknown:
        raise ValueError(
            f"unknown {source} parameter(s) {unknown}; {source} takes {list(PARAMETERS[source])} "
            "(the weight and input shapes are passed as weight_shape= and input_shape=)"
        )
    return dict(params)


def _probe_window(
    window: Callable[[tuple[int, ...]], Geometry], nd: int, input_size: tuple[int, ...] | None
) -> Geometry:
    """The window for ``input_size``, or for a large probe size when the window does not depend on it."""
    if input_size is not None:
        return window(input_size)
    error: Exception | None = None
    for probe in (16, 256, 65536):
        try:
            return window((probe,) * nd)
        except ValueError as exc:  # too small an input for this padding: try a larger one
            error = exc
    raise error  # type: ignore[misc]


def _spec(window: Geometry, c_in: int, c_out: int, groups: int, pinned: tuple[int, ...] | None) -> ConvTransposeSpec:
    if any(o < 1 for o in window.output_size):
        raise ValueError(
            f"the source's output is empty (spatial size {show(window.output_size)} for an input of size "
            f"{show(window.input_size)}): there is nothing to translate"
        )
    return ConvTransposeSpec(
        window.kernel_size, window.stride, window.dilation, window.padding_pairs, c_in, c_out, groups, pinned
    )


def _spatial_input(
    input_shape: Sequence[int] | None, perm: tuple[int, ...], nd: int, unbatched_ok: bool
) -> tuple[int, ...] | None:
    if input_shape is None:
        return None
    shape = tuple(int(v) for v in input_shape)
    if unbatched_ok and len(shape) == nd + 1:
        shape = (1, *shape)
    if len(shape) != nd + 2:
        raise ValueError(
            f"input_shape must have {nd + 2} entries (batch, channels and {nd} spatial), got {show(shape)}"
        )
    canonical = tuple(shape[j] for j in perm)
    return canonical[2:]


def _resolve_tconv(params: dict, weight_shape: tuple[int, ...], input_shape: Any) -> _Source:
    from . import conv_transpose

    nd = len(weight_shape) - 2
    layout = params.get("layout", "channels_first")
    if layout not in ("channels_first", "channels_last"):
        raise ValueError(f"layout must be one of ('channels_first', 'channels_last'), got {layout!r}")
    perms = (_identity(nd), _identity(nd)) if layout == "channels_first" else _channels_last_perms(nd)
    groups = params.get("groups", 1)
    args = dict(
        stride=params.get("stride", 1),
        padding=params.get("padding", 0),
        output_padding=params.get("output_padding", 0),
        dilation=params.get("dilation", 1),
    )
    output_size = params.get("output_size")
    size = _spatial_input(input_shape, perms[0], nd, True)
    if output_size is not None and size is None:
        raise ValueError("tconv's output_size pins the window to one input size: pass input_shape")

    def window(i):
        return conv_transpose_geometry(i, weight_shape[2:], output_size=output_size, **args)

    g = _probe_window(window, nd, size)
    pinned = size if output_size is not None else None
    call = "tconv.conv_transpose(x, w, b, " + ", ".join(f"{k}={v!r}" for k, v in {**args, "groups": groups}.items())
    call += (f", output_size={output_size!r}" if output_size is not None else "") + f", layout={layout!r})"

    def run(x, w, b):
        return conv_transpose(x, w, b, groups=groups, output_size=output_size, layout=layout, **args)

    return _Source(
        "tconv",
        _spec(g, weight_shape[0], weight_shape[1] * groups, groups, pinned),
        call,
        perms[0],
        perms[1],
        [],
        weight_shape,
        run,
        unbatched=True,
    )


def _resolve_torch(params: dict, weight_shape: tuple[int, ...], input_shape: Any) -> _Source:
    nd = len(weight_shape) - 2
    if not 1 <= nd <= 3:
        raise ValueError(f"PyTorch's ConvTranspose has 1 to 3 spatial axes, got a weight of shape {show(weight_shape)}")
    groups = params.get("groups", 1)
    s, p, a, d = (params.get(k, v) for k, v in (("stride", 1), ("padding", 0), ("output_padding", 0), ("dilation", 1)))
    output_size = params.get("output_size")
    size = _spatial_input(input_shape, _identity(nd), nd, True)
    if output_size is not None:
        if size is None:
            raise ValueError("PyTorch's forward(output_size=...) pins the window to one input size: pass input_shape")
        a = compat_torch.module_output_padding((1, weight_shape[0], *size), output_size, weight_shape[2:], s, p, d)
    g = _probe_window(lambda i: compat_torch.window(i, weight_shape[2:], s, p, a, d), nd, size)
    pinned = size if output_size is not None else None
    function = getattr(compat_torch, f"conv_transpose{nd}d")
    call = f"F.conv_transpose{nd}d(x, w, b, stride={s!r}, padding={p!r}, output_padding={a!r}, groups={groups}, dilation={d!r})"
    if output_size is not None:
        call += f"  # = ConvTranspose{nd}d(...)(x, output_size={output_size!r})"

    def run(x, w, b):
        return function(x, w, b, s, p, a, groups, d)

    return _Source(
        "torch",
        _spec(g, weight_shape[0], weight_shape[1] * groups, groups, pinned),
        call,
        _identity(nd),
        _identity(nd),
        [],
        weight_shape,
        run,
        unbatched=True,
    )


def _resolve_tensorflow(params: dict, weight_shape: tuple[int, ...], input_shape: Any) -> _Source:
    nd = len(weight_shape) - 2
    if not 1 <= nd <= 3:
        raise ValueError(
            f"TensorFlow's conv_transpose has 1 to 3 spatial axes, got filters of shape {show(weight_shape)}"
        )
    if "output_shape" not in params:
        raise ValueError("TensorFlow's conv_transpose needs output_shape (it is mandatory there)")
    data_format = params.get("data_format") or ("NWC", "NHWC", "NDHWC")[nd - 1]
    if data_format not in compat_tf._FORMATS[nd]:
        raise ValueError(f"data_format must be one of {compat_tf._FORMATS[nd]} for {nd}-d, got {data_format!r}")
    channels_first = data_format.startswith("NC")
    perms = (_identity(nd), _identity(nd)) if channels_first else _channels_last_perms(nd)
    if input_shape is None:
        raise ValueError("TensorFlow's output_shape pins the window to one input size: pass input_shape")
    size = _spatial_input(input_shape, perms[0], nd, False)
    output_shape = list(params["output_shape"])
    strides, padding, dilations = params.get("strides", 1), params.get("padding", "SAME"), params.get("dilations")
    c_in = weight_shape[-1]
    kwargs = dict(padding=padding, data_format=data_format, dilations=dilations)

    def run(x, w, b):
        y = compat_tf.conv_transpose(x, w, output_shape, strides, **kwargs)
        if b is None:
            return y
        return y + (np.reshape(b, (-1,) + (1,) * nd) if channels_first else b)

    # TensorFlow's checks without computing anything: the output shape's batch/channel entries and the window
    shape = compat_tf._output_shape(output_shape, nd, f"conv{nd}d_transpose")
    if len(shape) == nd:
        shape = (
            [input_shape[0], weight_shape[-2], *shape] if channels_first else [input_shape[0], *shape, weight_shape[-2]]
        )
    c_out = shape[1] if channels_first else shape[-1]
    channels = input_shape[1] if channels_first else input_shape[-1]
    if channels != c_in:
        raise ValueError(
            f"filter and out_backprop must have the same out_depth: filters.shape[-1]={c_in}, input channels {channels}"
        )
    if c_out % weight_shape[-2] or c_in % (c_out // weight_shape[-2]):
        raise ValueError(
            f"input depth must be evenly divisible by filter depth: output_shape has {c_out} channels, "
            f"filters.shape[-2] is {weight_shape[-2]}"
        )
    groups = c_out // weight_shape[-2]
    spatial = shape[2:] if channels_first else shape[1:-1]
    g = _tf_window(size, weight_shape, spatial, strides, padding, dilations, channels_first, nd)
    call = (
        f"tf.nn.conv{nd}d_transpose(x, filters, output_shape={output_shape}, strides={strides!r}, "
        f"padding={padding!r}, data_format={data_format!r}, dilations={dilations!r})"
    )
    steps = _steps.to_torch_steps("tensorflow", nd, groups)
    notes = [
        "TensorFlow's output_shape pins the window to input size " + show(size) + ": the plan holds for that size."
    ]
    return _Source(
        "tensorflow",
        _spec(g, c_in, c_out, groups, size),
        call,
        perms[0],
        perms[1],
        steps,
        weight_shape,
        run,
        notes=notes,
    )


def _tf_window(size, weight_shape, spatial, strides, padding, dilations, channels_first, nd) -> Geometry:
    """TensorFlow's window from the (already validated) arguments, spatial entries only."""
    index = 1 if channels_first else nd + 1
    full_s = compat_tf._sequence(strides, nd, index, "strides")
    full_d = compat_tf._sequence(dilations, nd, index, "dilations")
    axes = range(2, nd + 2) if channels_first else range(1, nd + 1)
    s = tuple(full_s[a] for a in axes)
    d = tuple(full_d[a] for a in axes)
    pad = padding if isinstance(padding, str) else compat_tf._explicit_padding(padding, nd, index)
    return compat_tf.window(size, weight_shape[:nd], tuple(spatial), s, pad, d)


def _resolve_keras(params: dict, weight_shape: tuple[int, ...], input_shape: Any) -> _Source:
    nd = len(weight_shape) - 2
    if not 1 <= nd <= 3:
        raise ValueError(f"Keras has Conv1DTranspose to Conv3DTranspose, got a kernel of shape {show(weight_shape)}")
    filters = params.get("filters", weight_shape[-2])
    kernel_size = params.get("kernel_size", weight_shape[:nd])
    layer_class = getattr(compat_keras, f"Conv{nd}DTranspose")
    options = {
        k: params[k]
        for k in ("strides", "padding", "output_padding", "data_format", "dilation_rate", "use_bias")
        if k in params
    }
    layer = layer_class(filters, kernel_size, **options)
    expected = (*layer.kernel_size, layer.filters)
    if tuple(weight_shape[:-1]) != expected:
        raise ValueError(
            f"weight_shape {show(weight_shape)} is not a kernel of this layer: expected {show(expected)} + (in_channels,)"
        )
    channels_first = layer.data_format == "channels_first"
    perms = (_identity(nd), _identity(nd)) if channels_first else _channels_last_perms(nd)
    size = _spatial_input(input_shape, perms[0], nd, False)
    g = _probe_window(
        lambda i: compat_keras.window(
            i, layer.kernel_size, layer.strides, layer.padding, layer.output_padding, layer.dilation_rate
        ),
        nd,
        size,
    )
    call = (
        f"keras.layers.Conv{nd}DTranspose(filters={layer.filters}, kernel_size={layer.kernel_size}, strides={layer.strides}, "
        f"padding={layer.padding!r}, output_padding={layer.output_padding}, data_format={layer.data_format!r}, "
        f"dilation_rate={layer.dilation_rate}, use_bias={layer.use_bias})"
    )

    def run(x, w, b):
        return layer(x, w, b)

    steps = _steps.to_torch_steps("keras", nd, 1)
    return _Source(
        "keras", _spec(g, weight_shape[-1], layer.filters, 1, None), call, perms[0], perms[1], steps, weight_shape, run
    )


def _resolve_jax(params: dict, weight_shape: tuple[int, ...], input_shape: Any) -> _Source:
    ndim = len(weight_shape)
    nd = ndim - 2
    general = "lhs_dilation" in params
    transposed_only = ("transpose_kernel", "use_consistent_padding", "strides")
    general_only = ("window_strides", "feature_group_count")
    if general and any(k in params for k in transposed_only):
        raise ValueError(
            f"give conv_general_dilated's parameters (lhs_dilation, ...) or conv_transpose's {transposed_only}, not both"
        )
    if not general and any(k in params for k in general_only):
        raise ValueError(f"{general_only} belong to conv_general_dilated: give lhs_dilation too")
    numbers = params.get("dimension_numbers")
    if numbers is None and not general:
        numbers = compat_jax.default_dimension_numbers(ndim)
    lhs_perm, rhs_perm, out_perm = compat_jax.dimension_permutations(numbers, ndim)
    kernel = tuple(weight_shape[j] for j in rhs_perm[2:])
    o_channels, i_channels = weight_shape[rhs_perm[0]], weight_shape[rhs_perm[1]]
    size = _spatial_input(input_shape, lhs_perm, nd, False)
    rhs_dilation = params.get("rhs_dilation")
    padding = params.get("padding")
    if padding is None:
        raise ValueError("jax.lax's transposed convolutions need padding")
    to_oik = _steps.Transpose(tuple(rhs_perm), "(O, I, *k)")
    if general:
        window_strides = tuple(params.get("window_strides", (1,) * nd))
        if any(v != 1 for v in window_strides):
            raise ValueError(
                f"conv_general_dilated with window_strides={window_strides} subsamples the transposed convolution; "
                "only window_strides of 1 is a transposed convolution that other frameworks express"
            )
        groups = params.get("feature_group_count", 1)
        lhs_dilation = tuple(params["lhs_dilation"])
        if isinstance(padding, str):
            raise ValueError(
                "String padding is not implemented for transposed convolution using this op. Please either exactly "
                "specify the required padding or use conv_transpose."
            )
        pads = [tuple(p) for p in padding]
        d = tuple(rhs_dilation or (1,) * nd)

        def window(i):
            k_eff = [di * (k - 1) + 1 for k, di in zip(kernel, d)]
            begins = [ke - 1 - lo for ke, (lo, _) in zip(k_eff, pads)]
            out = [(ii - 1) * s + 2 - ke + lo + hi for ii, s, ke, (lo, hi) in zip(i, lhs_dilation, k_eff, pads)]
            return Geometry(tuple(i), tuple(out), kernel, lhs_dilation, d, tuple(begins))

        c_in, c_out = i_channels * groups, o_channels
        steps = [to_oik, _steps.ConvToTorch(groups)]
        call = (
            f"lax.conv_general_dilated(x, w, window_strides={window_strides}, padding={pads}, lhs_dilation={lhs_dilation}, "
            f"rhs_dilation={d}, dimension_numbers={numbers!r}, feature_group_count={groups})"
        )

        def run(x, w, b):
            y = compat_jax.conv_general_dilated(x, w, window_strides, pads, lhs_dilation, d, numbers, groups)
            return y if b is None else y + np.reshape(b, [-1 if j == out_perm[1] else 1 for j in range(ndim)])
    else:
        strides = tuple(params.get("strides", (1,) * nd))
        transpose_kernel = bool(params.get("transpose_kernel", False))
        consistent = bool(params.get("use_consistent_padding", False))
        groups = 1
        if transpose_kernel:  # the array's O-position axis holds the input channels
            c_in, c_out = o_channels, i_channels
            steps = [to_oik]
        else:
            c_in, c_out = i_channels, o_channels
            steps = [to_oik, _steps.ConvToTorch(1)]

        def window(i):
            return compat_jax.conv_transpose_window(i, kernel, strides, padding, rhs_dilation, consistent)

        call = (
            f"lax.conv_transpose(x, w, strides={strides}, padding={padding!r}, rhs_dilation={rhs_dilation}, "
            f"dimension_numbers={numbers!r}, transpose_kernel={transpose_kernel}, use_consistent_padding={consistent})"
        )

        def run(x, w, b):
            y = compat_jax.conv_transpose(
                x, w, strides, padding, rhs_dilation, numbers, transpose_kernel, use_consistent_padding=consistent
            )
            return y if b is None else y + np.reshape(b, [-1 if j == out_perm[1] else 1 for j in range(ndim)])

    g = _probe_window(window, nd, size)
    pinned = None  # every jax padding form gives a window independent of the input size
    inverse_out = tuple(int(v) for v in np.argsort(out_perm))
    return _Source(
        "jax", _spec(g, c_in, c_out, groups, pinned), call, tuple(lhs_perm), inverse_out, steps, weight_shape, run
    )


def _resolve_onnx(params: dict, weight_shape: tuple[int, ...], input_shape: Any) -> _Source:
    nd = len(weight_shape) - 2
    if nd < 1:
        raise ValueError(f"ONNX ConvTranspose needs at least one spatial axis, got W of shape {show(weight_shape)}")
    attributes = {k: v for k, v in params.items() if k not in ("group", "semantics")}
    group = params.get("group", 1)
    semantics = params.get("semantics", "spec")
    size = _spatial_input(input_shape, _identity(nd), nd, False)
    if attributes.get("output_shape") is not None and size is None:
        raise ValueError("ONNX's output_shape pins the window to one input size: pass input_shape")
    kernel_shape = attributes.pop("kernel_shape", None)
    if kernel_shape is not None and tuple(kernel_shape) != tuple(weight_shape[2:]):
        raise ValueError(
            f"ConvTranspose: kernel_shape is not compatible with W shape. kernel_shape: {list(kernel_shape)} W: {list(weight_shape)}"
        )

    def window(i):
        return compat_onnx.window(i, weight_shape[2:], semantics=semantics, **attributes)

    g = _probe_window(window, nd, size)
    pinned = size if attributes.get("output_shape") is not None else None
    call = (
        "ConvTranspose("
        + ", ".join(f"{k}={v!r}" for k, v in {**attributes, "group": group}.items())
        + f")  # semantics={semantics!r}"
    )

    def run(x, w, b):
        return compat_onnx.conv_transpose(x, w, b, group=group, semantics=semantics, **attributes)

    return _Source(
        "onnx",
        _spec(g, weight_shape[0], weight_shape[1] * group, group, pinned),
        call,
        _identity(nd),
        _identity(nd),
        [],
        weight_shape,
        run,
    )


_RESOLVERS = {
    "tconv": _resolve_tconv,
    "torch": _resolve_torch,
    "tensorflow": _resolve_tensorflow,
    "keras": _resolve_keras,
    "jax": _resolve_jax,
    "onnx": _resolve_onnx,
}


def _framework(name: object, parameter: str) -> str:
    if name not in FRAMEWORKS:
        raise ValueError(f"{parameter} must be one of {FRAMEWORKS}, got {name!r}")
    return name  # type: ignore[return-value]


def resolve(
    params: Mapping[str, Any],
    source: str,
    *,
    weight_shape: Sequence[int],
    input_shape: Sequence[int] | None = None,
) -> ConvTransposeSpec:
    """The framework-free :class:`ConvTransposeSpec` of a transposed convolution given in ``source``'s terms.

    Examples
    --------
    Keras' ``"same"`` for a 3-tap kernel and stride 2 crops 0 cells at the start and
    1 at the end of the full output:

    >>> resolve({"strides": 2, "padding": "same"}, "keras", weight_shape=(3, 8, 4)).crop
    ((0, 1),)
    """
    source = _framework(source, "source")
    shape = tuple(int(v) for v in weight_shape)
    return _RESOLVERS[source](_check_keys(params, source), shape, input_shape).spec


def output_size(
    params: Mapping[str, Any],
    framework: str,
    *,
    weight_shape: Sequence[int],
    input_shape: Sequence[int],
) -> tuple[int, ...]:
    """The spatial output size of a transposed convolution under ``framework``'s rules (and checks).

    Parameters as for :func:`translate`; ``input_shape`` is required.

    Examples
    --------
    The same 2x2 kernel and stride 2 on a 6-wide input, in three conventions:

    >>> output_size({"stride": 2}, "torch", weight_shape=(1, 1, 2), input_shape=(1, 1, 6))
    (12,)
    >>> output_size({"strides": 2, "padding": "same", "output_padding": 0}, "keras", weight_shape=(2, 1, 1), input_shape=(1, 6, 1))
    (10,)
    >>> output_size({"strides": [2], "auto_pad": "SAME_UPPER", "output_padding": [1]}, "onnx", weight_shape=(1, 1, 2), input_shape=(1, 1, 6))
    (12,)
    """
    source = _framework(framework, "framework")
    shape = tuple(int(v) for v in weight_shape)
    resolved = _RESOLVERS[source](_check_keys(params, source), shape, input_shape)
    size = _spatial_input(input_shape, resolved.input_perm, len(shape) - 2, resolved.unbatched)
    return resolved.spec.output_size(size)  # type: ignore[arg-type]


def translate(
    params: Mapping[str, Any],
    source: str,
    target: str,
    *,
    weight_shape: Sequence[int],
    input_shape: Sequence[int] | None = None,
) -> TranslationPlan:
    """Translate a transposed convolution from ``source``'s convention to ``target``'s, exactly.

    Parameters
    ----------
    params : mapping
        The source call's arguments in its own names (see ``PARAMETERS``), e.g.
        ``{"strides": 2, "padding": "same"}`` for Keras or ``{"stride": 2,
        "padding": 1}`` for PyTorch. Omitted arguments take the source's defaults.
    source, target : {"tconv", "torch", "tensorflow", "keras", "jax", "onnx"}
    weight_shape : sequence of int
        The source's weight (kernel, filters) shape in the source's layout: it gives
        the rank, kernel size and channels.
    input_shape : sequence of int, optional
        The source's input shape, in the source's data layout. Required when the
        source pins its output size (TensorFlow's ``output_shape``, ONNX's
        ``output_shape``, PyTorch's ``output_size``, tconv's ``output_size``); the plan
        then holds for that input size only.

    Returns
    -------
    TranslationPlan

    Examples
    --------
    Keras' ``"same"`` with a 3x3 kernel and stride 2 is not expressible in PyTorch:
    the plan runs the full output and crops one cell at the end of each axis.

    >>> import tconv
    >>> plan = tconv.translate({"strides": 2, "padding": "same"}, "keras", "torch", weight_shape=(3, 3, 8, 4))
    >>> plan.exact
    False
    >>> plan.arguments
    {'stride': (2, 2), 'padding': (0, 0), 'output_padding': (0, 0), 'groups': 1, 'dilation': (1, 1)}
    >>> plan.post_crop
    ((0, 1), (0, 1))

    The same layer with a 4x4 kernel is exact: ``padding=1``.

    >>> tconv.translate({"strides": 2, "padding": "same"}, "keras", "torch", weight_shape=(4, 4, 8, 4)).arguments["padding"]
    (1, 1)
    """
    source = _framework(source, "source")
    target = _framework(target, "target")
    shape = tuple(int(v) for v in weight_shape)
    if not shape or not all(v > 0 for v in shape):
        raise ValueError(f"weight_shape must be positive sizes, got {show(tuple(weight_shape))}")
    resolved = _RESOLVERS[source](_check_keys(params, source), shape, input_shape)
    from .frameworks._targets import express

    return TranslationPlan(resolved, express(resolved.spec, target))


def _crop_pad(y: np.ndarray, crops: tuple[tuple[int, int], ...], spatial_axes: Sequence[int]) -> np.ndarray:
    """Crop (positive) or zero-extend (negative) ``y`` along ``spatial_axes`` by ``(begin, end)`` pairs.

    Zero-extend first, then crop: the crops then never run past the array (a window may lie
    entirely in the zero region, e.g. ``(-2, 6)`` of 5 cells is one zero).
    """
    pads = [(0, 0)] * y.ndim
    for axis, (b, e) in zip(spatial_axes, crops):
        pads[axis] = (max(-b, 0), max(-e, 0))
    y = np.pad(y, pads)
    index = [slice(None)] * y.ndim
    for axis, (b, e) in zip(spatial_axes, crops):
        index[axis] = slice(max(b, 0), y.shape[axis] - max(e, 0))
    return y[tuple(index)]


class TranslationPlan:
    """How to compute a source framework's transposed convolution in a target framework.

    Built by :func:`translate`. Attributes describe the plan; :meth:`apply` runs it
    on NumPy arrays given in the *source*'s conventions and returns what the source
    returns; :meth:`to_code` prints it for the target framework.

    Attributes
    ----------
    source, target : str
    spec : ConvTransposeSpec
        The framework-free description both sides compute.
    function : str
        The target function or layer.
    arguments : dict
        The target's arguments, in its names.
    weight_steps : list of str
        The weight transform from the source's layout to the target's, in words.
    post_crop : tuple of (int, int) or None
        Cells to crop from the ``(begin, end)`` of each spatial axis of the target's
        output (negative: zeros to append) because the target cannot cut the
        source's window itself; None when the target's call is exact.
    bias_after : bool
        True when the bias is added after the target's call (the target has none,
        or zero-extended cells need it).
    exact : bool
        ``post_crop is None``: the target's call alone gives the source's result.
    notes : list of str
        Plain statements of what the plan does and why.
    """

    def __init__(self, source: _Source, target: Any) -> None:
        self._source = source
        self._target = target
        self.source = source.framework
        self.target = target.framework
        self.spec = source.spec
        self.function = target.function
        self.arguments = target.arguments
        self.post_crop = target.post if any(b or e for b, e in target.post) else None
        self.bias_after = target.bias_after
        self.exact = self.post_crop is None
        self.source_call = source.call
        self._weight_steps = source.weight_steps + target.weight_steps
        self.weight_steps = [step.describe() for step in self._weight_steps]
        self.notes = source.notes + target.notes

    def __repr__(self) -> str:
        state = "exact" if self.exact else f"post_crop={self.post_crop}"
        return f"<TranslationPlan {self.source} -> {self.target}: {self.function}, {state}>"

    # arrays ----------------------------------------------------------------------------------------
    def convert_weight(self, weight: Any) -> np.ndarray:
        """The source's weight in the target's layout (every step of :attr:`weight_steps`)."""
        w = np.asarray(weight)
        if w.shape != self._source.weight_shape:
            raise ValueError(
                f"weight must have the source's shape {show(self._source.weight_shape)}, got {show(w.shape)}"
            )
        return _steps.run(self._weight_steps, w)

    def _batched(self, x: np.ndarray) -> tuple[np.ndarray, bool]:
        nd = self.spec.ndim
        if self._source.unbatched and x.ndim == nd + 1:
            return x[None], False
        if x.ndim != nd + 2:
            raise ValueError(
                f"input must have {nd + 2} dimensions in the {self.source} layout, got shape {show(x.shape)}"
            )
        return x, True

    def input_to_target(self, input: Any) -> np.ndarray:
        """A (batched) input in the source's data layout, moved into the target's."""
        x, _ = self._batched(np.asarray(input))
        canonical = np.transpose(x, self._source.input_perm)  # (N, C, *S)
        return np.transpose(canonical, self._target.input_perm)

    def output_to_source(self, output: Any) -> np.ndarray:
        """The target's (batched) output moved into the source's output layout."""
        canonical = np.transpose(np.asarray(output), self._target.output_perm)  # (N, C, *S)
        return np.transpose(canonical, self._source.output_perm)

    def apply(self, input: Any, weight: Any, bias: Any = None) -> np.ndarray:
        """Run the plan: the source's result, computed the target's way (through :mod:`tconv.compat`).

        Parameters
        ----------
        input : array_like
            In the source's data layout (unbatched where the source allows it).
        weight : array_like
            In the source's layout, of the plan's ``weight_shape``.
        bias : array_like, shape (C_out,), optional
            Added to every output cell, as every framework does (for TensorFlow and
            JAX, whose ops have no bias, this is the usual ``y + bias``).
        """
        x, batched = self._batched(np.asarray(input))
        if self.spec.input_size is not None:
            size = np.transpose(x, self._source.input_perm).shape[2:]
            if tuple(size) != self.spec.input_size:
                raise ValueError(
                    f"this plan holds for input size {show(self.spec.input_size)} (the source pins its output "
                    f"size), got an input of spatial size {show(tuple(size))}"
                )
        x_t = self.input_to_target(x)
        w_t = self.convert_weight(weight)
        b = None if bias is None else np.asarray(bias)
        y_t = self._target.run(x_t, w_t, None if self.bias_after else b)
        if self.post_crop is not None:
            y_t = _crop_pad(y_t, self.post_crop, self._target.spatial_axes)
        if self.bias_after and b is not None:
            shape = [1] * y_t.ndim
            shape[self._target.channel_axis] = -1
            y_t = y_t + b.reshape(shape)
        y = self.output_to_source(y_t)
        return y if batched else y[0]

    # words and code --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-compatible data."""
        spec = self.spec
        return {
            "source": self.source,
            "target": self.target,
            "source_call": self.source_call,
            "function": self.function,
            "arguments": _jsonable(self.arguments),
            "weight_steps": self.weight_steps,
            "exact": self.exact,
            "post_crop": None if self.post_crop is None else [list(p) for p in self.post_crop],
            "bias_after": self.bias_after,
            "notes": self.notes,
            "window": {
                "kernel_size": list(spec.kernel_size),
                "stride": list(spec.stride),
                "dilation": list(spec.dilation),
                "crop": [list(c) for c in spec.crop],
                "in_channels": spec.in_channels,
                "out_channels": spec.out_channels,
                "groups": spec.groups,
                "input_size": None if spec.input_size is None else list(spec.input_size),
            },
        }

    def describe(self) -> str:
        """The plan in words."""
        lines = [
            f"{_NAMES[self.source]} -> {_NAMES[self.target]}: "
            + ("exact" if self.exact else "needs a crop/pad after the call")
        ]
        lines.append(f"  source:    {self.source_call}")
        spec = self.spec
        lines.append(
            f"  window:    kernel {spec.kernel_size}, stride {spec.stride}, dilation {spec.dilation}, "
            f"crop (begin, end) {spec.crop} of the full output, channels {spec.in_channels} -> {spec.out_channels}, "
            f"groups {spec.groups}" + ("" if spec.input_size is None else f", for input size {spec.input_size}")
        )
        lines.append(
            f"  target:    {self.function}(" + ", ".join(f"{k}={v!r}" for k, v in self.arguments.items()) + ")"
        )
        for step in self.weight_steps or ["none (same layout)"]:
            lines.append(f"  weight:    {step}")
        if self.post_crop is not None:
            lines.append(f"  then:      crop (begin, end) {self.post_crop} per spatial axis (negative: append zeros)")
        if self.bias_after:
            lines.append("  bias:      added after the call")
        for note in self.notes:
            lines.append(f"  note:      {note}")
        return "\n".join(lines)

    __str__ = describe

    def to_code(self) -> str:
        """Python code for the target framework: ``convert_weight`` (NumPy) and ``conv_transpose``.

        ``convert_weight`` takes the source's weight (a NumPy array) and returns the
        target's; ``conv_transpose(x, weight, bias=None)`` takes the target
        framework's tensors in its default data layout.
        """
        header = [
            f"# tconv translation plan: {_NAMES[self.source]} -> {_NAMES[self.target]} "
            + ("(exact)" if self.exact else "(the target's call plus a crop/pad step)"),
            f"# source: {self.source_call}",
        ]
        header += [f"# note: {note}" for note in self.notes]
        lines = ["def convert_weight(weight):"]
        lines.append(
            f'    """{_NAMES[self.source]} weight {show(self._source.weight_shape)} -> {_NAMES[self.target]} weight."""'
        )
        lines.append("    w = np.asarray(weight)")
        lines += ["    " + line for line in _steps.code(self._weight_steps, "w")]
        lines.append(
            '    return np.array(w, order="C", copy=True)  # a fresh C-ordered copy (flips leave negative strides)'
        )
        return "\n".join(header) + "\n" + self._target.code("\n".join(lines), self) + "\n"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if is_int(value):
        return int(value)
    if isinstance(value, (str, bool, float)) or value is None:
        return value
    return json.loads(json.dumps(value, default=str))
