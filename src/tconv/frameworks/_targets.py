"""The target side of a translation: each framework's arguments for a window, its runner and its code.

:func:`express` takes a :class:`tconv.translation.ConvTransposeSpec` (a crop
``(b, e)`` per axis of the full output, ``k_eff = d*(k - 1) + 1``) and chooses the
target framework's arguments that cut the same window; when the target cannot,
it chooses the nearest call and records the remaining crop (or zero-pad) as the
plan's post step. The rules per framework are in the docstring of
:mod:`tconv.translation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _steps
from . import jax as compat_jax
from . import keras as compat_keras
from . import onnx as compat_onnx
from . import tensorflow as compat_tf
from . import torch as compat_torch

__all__ = ["express"]

_LETTERS = "HWDABEFGJKLMPQRSTUVXYZ"


@dataclass
class Target:
    framework: str
    function: str
    arguments: dict[str, Any]
    weight_steps: list[_steps.Step]
    input_perm: tuple[int, ...]  # (N, C, *S) -> target input
    output_perm: tuple[int, ...]  # target output -> (N, C, *S)
    post: tuple[tuple[int, int], ...]
    bias_after: bool
    run: Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]
    code: Callable[[str, Any], str]
    spatial_axes: tuple[int, ...]
    channel_axis: int
    notes: list[str] = field(default_factory=list)


def _channels_first(nd: int) -> dict[str, Any]:
    identity = tuple(range(nd + 2))
    return dict(input_perm=identity, output_perm=identity, spatial_axes=tuple(range(2, nd + 2)), channel_axis=1)


def _channels_last(nd: int) -> dict[str, Any]:
    return dict(
        input_perm=(0, *range(2, nd + 2), 1),
        output_perm=(0, nd + 1, *range(1, nd + 1)),
        spatial_axes=tuple(range(1, nd + 1)),
        channel_axis=nd + 1,
    )


def _needs_rank(spec: Any, framework: str, ranks: range) -> None:
    if spec.ndim not in ranks:
        raise ValueError(
            f"{framework} has transposed convolutions with {ranks.start} to {ranks.stop - 1} spatial axes; this one "
            f"has {spec.ndim}: no {framework} call computes it (translate to jax, onnx or tconv instead)"
        )


def _post_note(framework: str, post: tuple[tuple[int, int], ...], why: str) -> str:
    return (
        f"{framework} cannot cut this window ({why}): the plan crops (begin, end) = {post} cells per spatial axis "
        "of its output afterwards (a negative number appends that many zeros)."
    )


def _crop_lines(
    post: tuple[tuple[int, int], ...], spatial_axes: tuple[int, ...], ndim: int, pad_call: str
) -> list[str]:
    """``pad_call`` for the zero-extension (negative entries), then slicing for the crops (positive entries).

    Padding first keeps every slice inside the array, even for a window lying in the zero region.
    """
    lines = []
    if any(b < 0 or e < 0 for b, e in post):
        pads = [[0, 0] for _ in range(ndim)]
        for axis, (b, e) in zip(spatial_axes, post):
            pads[axis] = [max(-b, 0), max(-e, 0)]
        lines.append(pad_call.format(pads=pads) + "  # append zeros where the window runs past the full output")
    if any(b > 0 or e > 0 for b, e in post):
        index = [":"] * ndim
        for axis, (b, e) in zip(spatial_axes, post):
            start = str(b) if b > 0 else ""
            stop = f"y.shape[{axis}] - {e}" if e > 0 else ""
            index[axis] = f"{start}:{stop}"
        lines.append(f"y = y[{', '.join(index)}]  # crop {post} (begin, end) per spatial axis")
    return lines


def _function(name: str, doc: str, body: list[str]) -> str:
    return "\n".join([f"def {name}(x, weight, bias=None):", f'    """{doc}"""', *("    " + line for line in body)])


# --- tconv ---------------------------------------------------------------------------------------------


def _tconv(spec: Any) -> Target:
    _needs_rank(spec, "tconv", range(1, 1 << 30))
    nd = spec.ndim
    arguments = dict(stride=spec.stride, padding=spec.crop, groups=spec.groups, dilation=spec.dilation)

    def run(x, w, b):
        from .. import conv_transpose

        return conv_transpose(x, w, b, **arguments)

    def code(convert_weight: str, plan: Any) -> str:
        call = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        body = [f"return tconv.conv_transpose(x, weight, bias, {call})"]
        return "\n".join(
            [
                "import numpy as np",
                "import tconv",
                "",
                "",
                convert_weight,
                "",
                "",
                _function("conv_transpose", "x: (N, C_in, *spatial) NumPy array.", body),
            ]
        )

    return Target(
        "tconv",
        "tconv.conv_transpose",
        arguments,
        [],
        post=((0, 0),) * nd,
        bias_after=False,
        run=run,
        code=code,
        **_channels_first(nd),
    )


# --- PyTorch -------------------------------------------------------------------------------------------


def _torch(spec: Any) -> Target:
    _needs_rank(spec, "PyTorch", range(1, 4))
    nd = spec.ndim
    padding, output_padding, post = [], [], []
    for s, d, (b, e) in zip(spec.stride, spec.dilation, spec.crop):
        if b >= 0 and 0 <= b - e < max(s, d):  # exact: crop b at both ends, then extend the end by b - e
            padding.append(b)
            output_padding.append(b - e)
            post.append((0, 0))
            continue
        p = max(0, min(b, e))
        a = min(max(p - e, 0), max(s, d) - 1)
        padding.append(p)
        output_padding.append(a)
        post.append((b - p, e - (p - a)))
    post_t = tuple(post)
    bias_after = any(b < 0 or e < 0 for b, e in post_t)
    arguments = dict(
        stride=spec.stride,
        padding=tuple(padding),
        output_padding=tuple(output_padding),
        groups=spec.groups,
        dilation=spec.dilation,
    )
    notes = []
    if any(b or e for b, e in post_t):
        notes.append(
            _post_note(
                "PyTorch",
                post_t,
                "its padding crops both ends equally and output_padding "
                "only extends the end, by less than max(stride, dilation)",
            )
        )
    if bias_after:
        notes.append("The bias is added after the crop/pad step, so that appended cells get it too.")
    function = getattr(compat_torch, f"conv_transpose{nd}d")

    def run(x, w, b):
        return function(x, w, b, **arguments)

    def code(convert_weight: str, plan: Any) -> str:
        call = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        body = [f"y = F.conv_transpose{nd}d(x, weight, {'None' if bias_after else 'bias'}, {call})"]
        if any(b < 0 or e < 0 for b, e in post_t):
            flat = []
            for b, e in reversed(post_t):  # F.pad lists the last axis first
                flat += [max(-b, 0), max(-e, 0)]
            body.append(f"y = F.pad(y, {tuple(flat)})  # append zeros where the window runs past the full output")
        if any(b > 0 or e > 0 for b, e in post_t):
            flat = []
            for b, e in reversed(post_t):  # negative F.pad values crop
                flat += [-max(b, 0), -max(e, 0)]
            body.append(f"y = F.pad(y, {tuple(flat)})  # crop (begin, end) = {post_t} per spatial axis")
        if bias_after:
            body += ["if bias is not None:", f"    y = y + bias.reshape(1, -1{', 1' * nd})"]
        body.append("return y")
        doc = (
            "x: (N, C_in, *spatial) torch tensor; weight: torch.from_numpy(convert_weight(w)); "
            "bias: (C_out,) tensor or None."
        )
        return "\n".join(
            [
                "import numpy as np",
                "import torch",
                "import torch.nn.functional as F",
                "",
                "",
                convert_weight,
                "",
                "",
                _function("conv_transpose", doc, body),
            ]
        )

    return Target(
        "torch",
        f"torch.nn.functional.conv_transpose{nd}d",
        arguments,
        [],
        post=post_t,
        bias_after=bias_after,
        run=run,
        code=code,
        notes=notes,
        **_channels_first(nd),
    )


# --- ONNX ----------------------------------------------------------------------------------------------


def _onnx(spec: Any) -> Target:
    _needs_rank(spec, "ONNX", range(1, 1 << 30))
    nd = spec.ndim
    begins, ends, output_padding, post = [], [], [], []
    for s, (b, e) in zip(spec.stride, spec.crop):
        # exact: non-negative pads, and output_padding < stride for an extension at the end (where the spec,
        # the reference implementation and ORT agree); otherwise the full output and a crop/pad afterwards
        # (any partial crop could leave ONNX an empty output for small inputs)
        if b >= 0 and e > -s:
            pb, pe, a = b, max(e, 0), max(-e, 0)
        else:
            pb = pe = a = 0
        begins.append(pb)
        ends.append(pe)
        output_padding.append(a)
        post.append((b - pb, e - (pe - a)))
    post_t = tuple(post)
    bias_after = any(b < 0 or e < 0 for b, e in post_t)
    arguments = dict(
        kernel_shape=list(spec.kernel_size),
        strides=list(spec.stride),
        pads=begins + ends,
        output_padding=output_padding,
        dilations=list(spec.dilation),
        group=spec.groups,
    )
    notes = []
    if any(b or e for b, e in post_t):
        notes.append(_post_note("ONNX", post_t, "pads must be non-negative and output_padding less than the stride"))
    if bias_after:
        notes.append("The bias is added after the pad step (an Add node), so that appended cells get it too.")

    def run(x, w, b):
        return compat_onnx.conv_transpose(
            x, w, b, **{k: v for k, v in arguments.items() if k != "group"}, group=spec.groups
        )

    def code(convert_weight: str, plan: Any) -> str:
        attrs = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        body = [
            "w = np.asarray(weight, dtype=np.float32)",
            'initializers = [numpy_helper.from_array(w, "W")]',
            'inputs = ["X", "W"]',
        ]
        if not bias_after:
            body += [
                "if bias is not None:",
                '    initializers.append(numpy_helper.from_array(np.asarray(bias, dtype=np.float32), "B"))',
                '    inputs.append("B")',
            ]
        body.append(f'nodes = [helper.make_node("ConvTranspose", inputs, ["Y0"], {attrs})]')
        body.append('last = "Y0"')
        if any(b < 0 or e < 0 for b, e in post_t):
            pads = [0, 0] + [max(-b, 0) for b, _ in post_t] + [0, 0] + [max(-e, 0) for _, e in post_t]
            body += [
                f'initializers.append(numpy_helper.from_array(np.array({pads}, dtype=np.int64), "pads"))',
                'nodes.append(helper.make_node("Pad", [last, "pads"], ["Y1"]))  # append zeros',
                'last = "Y1"',
            ]
        if any(b > 0 or e > 0 for b, e in post_t):
            axes = [2 + j for j, (b, e) in enumerate(post_t) if b > 0 or e > 0]
            starts = [max(b, 0) for b, e in post_t if b > 0 or e > 0]
            stops = [-e if e > 0 else 2**62 for b, e in post_t if b > 0 or e > 0]
            body += [
                f'initializers += [numpy_helper.from_array(np.array({starts}, dtype=np.int64), "starts"), '
                f'numpy_helper.from_array(np.array({stops}, dtype=np.int64), "ends"), '
                f'numpy_helper.from_array(np.array({axes}, dtype=np.int64), "axes")]',
                f'nodes.append(helper.make_node("Slice", [last, "starts", "ends", "axes"], ["Y2"]))  # crop {post_t}',
                'last = "Y2"',
            ]
        if bias_after:
            body += [
                "if bias is not None:",
                f"    b = np.asarray(bias, dtype=np.float32).reshape(-1{', 1' * nd})",
                '    initializers.append(numpy_helper.from_array(b, "B"))',
                '    nodes.append(helper.make_node("Add", [last, "B"], ["Y3"]))',
                '    last = "Y3"',
            ]
        body += [
            'nodes.append(helper.make_node("Identity", [last], ["Y"]))',
            'graph = helper.make_graph(nodes, "conv_transpose", [helper.make_tensor_value_info("X", TensorProto.FLOAT, None)],',
            '                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], initializer=initializers)',
            "# opset 22, IR version 10: readable by onnxruntime >= 1.20",
            'return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)',
        ]
        make_model = "\n".join(
            [
                "def make_model(weight, bias=None):",
                '    """The ConvTranspose model: input X (N, C_in, *spatial) float32, weight/bias as initializers."""',
                *("    " + line for line in body),
            ]
        )
        run_body = [
            'session = onnxruntime.InferenceSession(make_model(weight, bias).SerializeToString(), providers=["CPUExecutionProvider"])',
            'return session.run(None, {"X": np.asarray(x, dtype=np.float32)})[0]',
        ]
        return "\n".join(
            [
                "import numpy as np",
                "import onnxruntime",
                "from onnx import TensorProto, helper, numpy_helper",
                "",
                "",
                convert_weight,
                "",
                "",
                make_model,
                "",
                "",
                _function(
                    "conv_transpose", "x: (N, C_in, *spatial) NumPy array; runs the model with onnxruntime.", run_body
                ),
            ]
        )

    return Target(
        "onnx",
        "onnx ConvTranspose",
        arguments,
        [],
        post=post_t,
        bias_after=bias_after,
        run=run,
        code=code,
        notes=notes,
        **_channels_first(nd),
    )


# --- TensorFlow ----------------------------------------------------------------------------------------


def _tensorflow(spec: Any) -> Target:
    _needs_rank(spec, "TensorFlow", range(1, 4))
    nd = spec.ndim
    steps: list[_steps.Step] = []
    notes = []
    if spec.groups > 1:
        steps.append(_steps.Ungroup(spec.groups))
        notes.append(
            f"TensorFlow has no groups argument: groups={spec.groups} becomes a dense block-diagonal kernel "
            f"({spec.groups}x the multiplications, same result)."
        )
    if any(d > 1 for d in spec.dilation):
        steps.append(_steps.Dilate(spec.dilation))
        notes.append(
            "TensorFlow's CPU kernels reject dilations > 1 (except float32 through oneDNN): the dilation is "
            "written into the kernel (zeros between taps) and dilations=1."
        )
    k_eff = spec.effective_kernel_size
    axes = list(zip(k_eff, spec.stride, spec.crop))
    if all(b == 0 and -s < e <= 0 for _, s, (b, e) in axes):
        padding: Any = "VALID"
        window = spec.crop
    elif all(ke - s <= b + e <= ke - 1 and b == max(b + e, 0) // 2 for ke, s, (b, e) in axes):
        padding = "SAME"
        window = spec.crop
    elif nd == 2 and all(b >= 0 and e > -s for _, s, (b, e) in axes):
        padding = [[0, 0], *([b, max(e, 0)] for _, _, (b, e) in axes), [0, 0]]
        window = spec.crop
    else:
        padding = "VALID"
        window = ((0, 0),) * nd
    post = tuple((b - wb, e - we) for (b, e), (wb, we) in zip(spec.crop, window))
    offsets = tuple(ke - wb - we for ke, (wb, we) in zip(k_eff, window))  # o = (i - 1)*s + offset
    if any(b or e for b, e in post):
        notes.append(
            _post_note(
                "TensorFlow",
                post,
                "SAME crops floor(T/2) first, VALID nothing, and "
                + ("explicit padding is non-negative" if nd == 2 else "explicit padding is 2-d only"),
            )
        )
    notes.append("TensorFlow's op has no bias: the plan adds it after the call.")
    strides = list(spec.stride)
    c_out = spec.out_channels
    if spec.input_size is not None:
        sizes = [(i - 1) * s + c for i, s, c in zip(spec.input_size, spec.stride, offsets)]
        output_shape: Any = ["N", *sizes, c_out]
    else:
        output_shape = (
            "[N, "
            + ", ".join(f"({a} - 1)*{s} + {c}" for a, s, c in zip(_LETTERS, spec.stride, offsets))
            + f", {c_out}]"
        )
    data_format = ("NWC", "NHWC", "NDHWC")[nd - 1]
    arguments = dict(
        output_shape=output_shape, strides=strides, padding=padding, data_format=data_format, dilations=[1] * nd
    )
    function = getattr(compat_tf, f"conv{nd}d_transpose")

    def out_shape(x):
        return [x.shape[0], *((i - 1) * s + c for i, s, c in zip(x.shape[1:-1], spec.stride, offsets)), c_out]

    def run(x, w, b):
        return function(x, w, out_shape(x), strides, padding=padding, data_format=data_format)

    def code(convert_weight: str, plan: Any) -> str:
        shape = ", ".join(
            [
                "tf.shape(x)[0]",
                *(f"(x.shape[{j + 1}] - 1) * {s} + {c}" for j, (s, c) in enumerate(zip(spec.stride, offsets))),
                str(c_out),
            ]
        )
        body = [
            f"output_shape = [{shape}]",
            f"y = tf.nn.conv{nd}d_transpose(x, weight, output_shape, strides={strides}, padding={padding!r}, "
            f"data_format={data_format!r})",
        ]
        body += _crop_lines(post, tuple(range(1, nd + 1)), nd + 2, "y = tf.pad(y, {pads})")
        body += ["if bias is not None:", "    y = y + bias", "return y"]
        doc = "x: (N, *spatial, C_in) tensor (channels last); weight: convert_weight(w); bias: (C_out,) or None."
        return "\n".join(
            [
                "import numpy as np",
                "import tensorflow as tf",
                "",
                "",
                convert_weight,
                "",
                "",
                _function("conv_transpose", doc, body),
            ]
        )

    return Target(
        "tensorflow",
        f"tf.nn.conv{nd}d_transpose",
        arguments,
        steps + _steps.from_torch_steps("tensorflow", nd, 1),
        post=post,
        bias_after=True,
        run=run,
        code=code,
        notes=notes,
        **_channels_last(nd),
    )


# --- Keras ---------------------------------------------------------------------------------------------


def _keras_window(k_eff: int, s: int, padding: str, a: int | None) -> tuple[int, int]:
    """Keras' (begin, end) crop of one axis (a kernel of size k_eff, dilation 1)."""
    begin, out = compat_keras._axis(1, k_eff, s, 1, padding, a)
    return begin, k_eff - begin - out


def _keras_choice(
    k_eff: tuple[int, ...], strides: tuple[int, ...], crop: tuple[tuple[int, int], ...]
) -> tuple[str, Any] | None:
    for padding in ("valid", "same"):
        if all(_keras_window(ke, s, padding, None) == c for ke, s, c in zip(k_eff, strides, crop)):
            return padding, None
        chosen = []
        for ke, s, c in zip(k_eff, strides, crop):
            # "same" with an even k_eff and output_padding 0 is Keras' size (i-1)*s, which its TF backend rejects
            options = [
                a
                for a in range(s)
                if _keras_window(ke, s, padding, a) == c and not (padding == "same" and ke % 2 == 0 and a == 0)
            ]
            if not options:
                break
            chosen.append(options[0])
        else:
            return padding, tuple(chosen)
    return None


def _keras(spec: Any) -> Target:
    _needs_rank(spec, "Keras", range(1, 4))
    nd = spec.ndim
    steps: list[_steps.Step] = []
    notes = []
    if spec.groups > 1:
        steps.append(_steps.Ungroup(spec.groups))
        notes.append(
            f"Keras has no groups: groups={spec.groups} becomes a dense block-diagonal kernel "
            f"({spec.groups}x the multiplications, same result)."
        )
    kernel, dilation = spec.kernel_size, spec.dilation
    if max(spec.stride) > 1 and max(dilation) > 1:
        steps.append(_steps.Dilate(dilation))
        kernel, dilation = spec.effective_kernel_size, (1,) * nd
        notes.append(
            "Keras forbids strides > 1 with dilation_rate > 1: the dilation is written into the kernel "
            "(zeros between taps) and dilation_rate=1."
        )
    k_eff = spec.effective_kernel_size
    choice = _keras_choice(k_eff, spec.stride, spec.crop)
    if choice is None:
        padding, output_padding = "valid", (0,) * nd
        post = spec.crop
        notes.append(
            _post_note("Keras", post, "'valid' and 'same' with output_padding < strides reach only their own windows")
        )
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
    layer_class = getattr(compat_keras, f"Conv{nd}DTranspose")

    def run(x, w, b):
        return layer_class(**arguments, use_bias=b is not None)(x, w, b)

    def code(convert_weight: str, plan: Any) -> str:
        call = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        use_bias = "False" if bias_after else "bias is not None"
        body = [
            f"layer = keras.layers.Conv{nd}DTranspose({call}, use_bias={use_bias})",
            "layer.build(tuple(x.shape))",
            "layer.set_weights([weight]" + (" if bias is None else [weight, bias])" if not bias_after else ")"),
            "y = layer(x)",
        ]
        body += _crop_lines(post, tuple(range(1, nd + 1)), nd + 2, "y = keras.ops.pad(y, {pads})")
        if bias_after:
            body += ["if bias is not None:", "    y = y + bias"]
        body.append("return y")
        doc = "x: (N, *spatial, C_in) (channels last); weight: convert_weight(w); bias: (filters,) or None."
        return "\n".join(
            [
                "import numpy as np",
                "import keras",
                "",
                "",
                convert_weight,
                "",
                "",
                _function("conv_transpose", doc, body),
            ]
        )

    return Target(
        "keras",
        f"keras.layers.Conv{nd}DTranspose",
        arguments,
        steps + _steps.from_torch_steps("keras", nd, 1),
        post=post,
        bias_after=bias_after,
        run=run,
        code=code,
        notes=notes,
        **_channels_last(nd),
    )


# --- JAX -----------------------------------------------------------------------------------------------


def _jax(spec: Any) -> Target:
    nd = spec.ndim
    if nd > len(_LETTERS):
        raise ValueError(f"at most {len(_LETTERS)} spatial axes can be named in JAX's dimension numbers, got {nd}")
    letters = _LETTERS[:nd]
    numbers = ("N" + letters + "C", letters + "IO", "N" + letters + "C")
    pads = tuple((ke - 1 - b, ke - 1 - e) for ke, (b, e) in zip(spec.effective_kernel_size, spec.crop))
    notes = ["JAX's convolutions have no bias: the plan adds it after the call."]
    if spec.groups == 1:
        function = "jax.lax.conv_transpose"
        arguments: dict[str, Any] = dict(
            strides=spec.stride,
            padding=pads,
            rhs_dilation=spec.dilation,
            dimension_numbers=numbers,
            transpose_kernel=True,
        )
        steps = _steps.from_torch_steps("tensorflow", nd, 1)

        def run(x, w, b):
            return compat_jax.conv_transpose(x, w, **arguments)
    else:
        function = "jax.lax.conv_general_dilated"
        arguments = dict(
            window_strides=(1,) * nd,
            padding=pads,
            lhs_dilation=spec.stride,
            rhs_dilation=spec.dilation,
            dimension_numbers=numbers,
            feature_group_count=spec.groups,
        )
        steps = _steps.from_torch_steps("jax", nd, spec.groups)
        notes.append(
            "lax.conv_transpose has no groups: the plan uses conv_general_dilated with lhs_dilation=stride "
            "and feature_group_count, whose kernel is the flipped, channel-swapped correlation kernel."
        )

        def run(x, w, b):
            return compat_jax.conv_general_dilated(x, w, **arguments)

    def code(convert_weight: str, plan: Any) -> str:
        call = ", ".join(f"{k}={v!r}" for k, v in arguments.items())
        body = [
            f"y = lax.{function.rsplit('.', 1)[1]}(x, weight, {call})",
            "if bias is not None:",
            "    y = y + bias",
            "return y",
        ]
        doc = "x: (N, *spatial, C_in) array (channels last); weight: convert_weight(w); bias: (C_out,) or None."
        return "\n".join(
            [
                "import numpy as np",
                "from jax import lax",
                "",
                "",
                convert_weight,
                "",
                "",
                _function("conv_transpose", doc, body),
            ]
        )

    return Target(
        "jax",
        function,
        arguments,
        steps,
        post=((0, 0),) * nd,
        bias_after=True,
        run=run,
        code=code,
        notes=notes,
        **_channels_last(nd),
    )


_TARGETS = {"tconv": _tconv, "torch": _torch, "onnx": _onnx, "tensorflow": _tensorflow, "keras": _keras, "jax": _jax}


def express(spec: Any, target: str) -> Target:
    """The target framework's call for ``spec`` (see :mod:`tconv.translation`)."""
    return _TARGETS[target](spec)
