"""Random garbage into every public function: only a ValueError or TypeError comes out, naming the parameter.

Each function of the public API has a valid call in :data:`CASES`; a property test
replaces one of its arguments with garbage (wrong types, negative and zero sizes,
NaN, strings, ragged lists, object and complex arrays, wrong lengths, and for the
index arithmetic huge values) and asserts that the call either returns or raises a
``ValueError``/``TypeError`` whose message names the parameter it changed. Any other
exception (``IndexError``, ``ZeroDivisionError``, ``AttributeError``, NumPy's
``MemoryError``...) or a message that does not say which argument is wrong fails.

Sizes stay moderate (at most 40) for the functions that compute on arrays: what the
operator does with huge sizes is the memory-budget rule's (issue 11, ``ops``), tested
there. The functions of plain index arithmetic (shapes, translation, design, the
overlap analysis, the explanation's text) also get huge values, which they must refuse
or answer without work that grows with the value. :data:`NOT_FUZZED` lists every public
callable left out and why; ``test_every_public_function_is_fuzzed_or_exempt`` keeps the
two tables complete.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from helpers import no_hang, oracle
from hypothesis import given, settings
from hypothesis import strategies as st

import tconv
import tconv.benchmark
import tconv.compat.jax
import tconv.compat.keras
import tconv.compat.onnx
import tconv.compat.tensorflow
import tconv.compat.torch
import tconv.explain
import tconv.explain.artifacts_text
import tconv.explain.explorer
from tconv import artifacts, design, geometry, init, nn, translation, weights
from tconv import chunks as chunks_module
from tconv import shape as shape_module

#: Examples per function (every example is a fresh call); TCONV_FUZZ_EXAMPLES raises it for a longer search.
EXAMPLES = int(os.environ.get("TCONV_FUZZ_EXAMPLES", "30"))

# --- garbage ---------------------------------------------------------------------------------------------

_ODD = [
    None,
    True,
    False,
    2.5,
    2.0,
    -1.0,
    float("nan"),
    float("inf"),
    1j,
    "",
    "x",
    "2",
    "same",
    "valid",
    "SAME",
    "channels_last",
    b"2",
    object(),
    {},
    {"a": 1},
    set(),
    (1.5, 2),
    ("a", 2),
    (None,),
    ((1, 2), 3),
    (((1,),),),
    [[0, 0], [1]],
    np.int64(2),
    np.float64(2.0),
    np.bool_(True),
    np.array(2),
    np.array([1, 2]),
    np.ones((2, 2)),
    np.array(["a"]),
]
MODERATE = st.integers(-3, 40)
HUGE_INTS = [10**9, -(10**9), 10**18, 2**63, 10**30]
SMALL_TUPLES = st.lists(st.integers(-2, 6), min_size=0, max_size=4)
PAIRS = st.lists(st.tuples(st.integers(-3, 5), st.integers(-3, 5)), min_size=0, max_size=3).map(tuple)


def garbage(huge: bool) -> st.SearchStrategy:
    """Values of the wrong kind, out of range, or of the wrong length; huge ones too when ``huge``."""
    options = [
        st.sampled_from(_ODD),
        MODERATE,
        SMALL_TUPLES.map(tuple),
        SMALL_TUPLES,
        PAIRS,
    ]
    if huge:
        options += [
            st.sampled_from(HUGE_INTS),
            st.lists(st.sampled_from([*HUGE_INTS, 1, 2]), min_size=1, max_size=3).map(tuple),
        ]
    return st.one_of(options)


_ARRAYS = [
    np.ones((1, 2, 4)),
    np.ones((2, 4)),
    np.ones(3),
    np.ones((1, 2, 4, 4, 4, 4)),
    np.zeros((0, 2, 4, 4)),
    np.ones((1, 0, 4, 4)),
    np.ones((1, 2, 4, 4), dtype=np.complex128),
    np.ones((1, 2, 4, 4), dtype=bool),
    np.ones((1, 2, 4, 4), dtype=np.int8),
    np.full((1, 2, 4, 4), np.nan),
    np.full((1, 2, 4, 4), np.inf),
    np.array([["a", "b"]]),
    np.array([None, 1], dtype=object),
    np.ones((1, 2, 4, 4), dtype=object),
    np.float64(3.0),
    np.ones((3, 3, 3, 3)),
    np.ones((2, 3, 1, 1)),
    [[1, [2]], [3]],
    [[[[1.0]]]],
    "abc",
    3,
    None,
    object(),
]


def garbage_array() -> st.SearchStrategy:
    """Arrays of the wrong rank, dtype, channels or size, empty, non-finite, ragged lists, non-arrays."""
    return st.one_of(st.sampled_from(_ARRAYS), garbage(False))


# --- the public functions, each with a valid call --------------------------------------------------------

X = np.ones((1, 2, 4, 4))  # (N, C_in, H, W)
W = np.ones((2, 3, 3, 3))  # (C_in, C_out, kH, kW)
G = geometry.conv_transpose_geometry((4, 4), (3, 3), 2, 1)


@dataclass
class Case:
    """A valid call of ``function`` with keyword arguments ``base``; the garbage goes into ``fuzz``."""

    name: str
    function: Callable[..., Any]
    base: dict[str, Any]
    fuzz: tuple[str, ...]
    arrays: tuple[str, ...] = ()  # parameters that take arrays: their garbage includes garbage arrays
    huge: bool = False  # index arithmetic: huge values too
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # accepted words for a parameter
    needs: str | None = None  # an optional framework the call needs
    framework: bool = False  # an emulation: it raises its framework's own messages (only the type is checked)

    def call(self, **changes: Any) -> Any:
        return self.function(**{**self.base, **changes})


def _layer(**kwargs):
    return nn.ConvTranspose2d(**{"in_channels": 2, "out_channels": 3, "kernel_size": 3, **kwargs})


def _forward(input):
    return _layer(stride=2).forward(input)


def _backward(grad_output):
    layer = _layer(stride=2)
    layer.forward(X)
    return layer.backward(grad_output)


def _load(weight, bias):
    return _layer().load_state_dict({"weight": weight, "bias": bias})


def _prepared_call(input, bias, output_size):
    return tconv.prepare(W, stride=2, padding=1)(input, bias, output_size=output_size)


def _translate_param(source, weight_shape, **params):
    return translation.translate(params, source, "tconv", weight_shape=weight_shape)


def _plan_apply(input, weight, bias):
    plan = translation.translate({"stride": 2}, "torch", "keras", weight_shape=(2, 3, 3, 3))
    return plan.apply(input, weight, bias)


def _keras_layer(inputs, kernel):
    return tconv.compat.keras.Conv2DTranspose(3, 3, strides=2)(inputs, kernel)


def _report(kernel_size, stride, dilation, input_size):
    return tconv.explain.artifacts_text.report(
        artifacts.analyze(kernel_size, stride, dilation=dilation, input_size=input_size)
    )


def _dask(op, x, weight, **options):
    da = oracle("dask.array")
    importlib.import_module("tconv.dask")
    array = x if not isinstance(x, np.ndarray) else da.from_array(x, chunks=2)
    return getattr(tconv.dask, op)(array, weight, **options)


def _optimizer(cls, **kwargs):
    return cls(_layer(), **kwargs)


OPERATOR = ("stride", "padding", "output_padding", "groups", "dilation")
#: A gradient's grad_output has the forward's output shape: a window argument (or input, weight) that
#: changes that shape is reported as the grad_output that no longer fits it.
#: check_geometry names the argument it was told (``name``), here "geometry".
GEOMETRY = {"value": ("geometry",)}
#: ``params`` holds a framework's arguments: an unknown or missing one is named by its own name.
PARAMS = {"params": ("params", "parameter", "padding", "output_shape")}
GRAD_OUTPUT_FITS = {name: (name, "grad_output") for name in ("input", "weight", *OPERATOR)}
CASES = [
    # the operator and its gradients and matrices (moderate sizes: huge ones are the memory rule's)
    Case(
        "conv_transpose",
        tconv.conv_transpose,
        dict(input=X, weight=W, stride=2, padding=1),
        ("input", "weight", "bias", *OPERATOR, "output_size", "layout", "algorithm"),
        arrays=("input", "weight", "bias"),
    ),
    Case(
        "conv",
        tconv.conv,
        dict(input=np.ones((1, 3, 7, 7)), weight=np.ones((2, 3, 3, 3)), stride=2, padding=1),
        ("input", "weight", "bias", "stride", "padding", "dilation", "groups", "layout", "algorithm"),
        arrays=("input", "weight", "bias"),
    ),
    Case(
        "prepare",
        tconv.prepare,
        dict(weight=W, stride=2, padding=1),
        ("weight", *OPERATOR, "layout", "algorithm"),
        arrays=("weight",),
    ),
    Case(
        "Prepared.__call__",
        _prepared_call,
        dict(input=X, bias=None, output_size=None),
        ("input", "bias", "output_size"),
        arrays=("input", "bias"),
    ),
    Case(
        "conv_transpose_backward",
        tconv.conv_transpose_backward,
        dict(grad_output=np.ones((1, 3, 7, 7)), input=X, weight=W, stride=2, padding=1),
        ("grad_output", "input", "weight", "stride", "padding", "output_padding", "dilation", "groups", "needs"),
        arrays=("grad_output", "input", "weight"),
        names=GRAD_OUTPUT_FITS,
    ),
    Case(
        "conv_backward",
        tconv.conv_backward,
        dict(grad_output=X, input=np.ones((1, 3, 7, 7)), weight=np.ones((2, 3, 3, 3)), stride=2, padding=1),
        ("grad_output", "input", "weight", "stride", "padding", "dilation", "groups", "needs", "algorithm"),
        arrays=("grad_output", "input", "weight"),
        names=GRAD_OUTPUT_FITS,
    ),
    Case(
        "conv_transpose_matrix",
        tconv.conv_transpose_matrix,
        dict(weight=W, input_size=(3, 3), stride=2),
        ("weight", "input_size", "stride", "padding", "dilation", "groups", "sparse"),
        arrays=("weight",),
    ),
    Case(
        "conv_matrix",
        tconv.conv_matrix,
        dict(weight=np.ones((3, 2, 3, 3)), input_size=(5, 5), stride=2),
        ("weight", "input_size", "stride", "padding", "dilation", "groups"),
        arrays=("weight",),
    ),
    Case("algorithms", tconv.algorithms, dict(op="conv"), ("op",)),
    Case("check_weight", tconv.matrix.check_weight, dict(weight=W, groups=1), ("weight", "groups"), arrays=("weight",)),
    # shapes and the window model (huge values: refused or answered in constant work)
    *(
        Case(f.__name__, f, dict(input_size=(7, 9), kernel_size=3, stride=2, padding=1), fuzz, huge=True)
        for f, fuzz in (
            (tconv.conv_output_size, ("input_size", "kernel_size", "stride", "padding", "dilation")),
            (
                tconv.conv_transpose_output_size,
                ("input_size", "kernel_size", "stride", "padding", "output_padding", "dilation"),
            ),
            (tconv.conv_transpose_output_size_range, ("input_size", "kernel_size", "stride", "padding", "dilation")),
            (tconv.inverse_output_padding, ("input_size", "kernel_size", "stride", "padding", "dilation")),
            (shape_module.conv_transpose_inverse, ("input_size", "kernel_size", "stride", "padding", "dilation")),
            (geometry.conv_geometry, ("input_size", "kernel_size", "stride", "padding", "dilation")),
            (
                geometry.conv_transpose_geometry,
                ("input_size", "kernel_size", "stride", "padding", "output_padding", "dilation", "output_size"),
            ),
        )
    ),
    Case(
        "conv_input_size_range",
        shape_module.conv_input_size_range,
        dict(output_size=(4, 5), kernel_size=3, stride=2, padding=1),
        ("output_size", "kernel_size", "stride", "padding", "dilation"),
        huge=True,
    ),
    Case(
        "window_arguments",
        geometry.window_arguments,
        dict(ndim=2, kernel_size=3, stride=2, padding=1),
        ("ndim", "kernel_size", "stride", "padding", "output_padding", "dilation"),
        huge=True,
    ),
    Case("parse_padding", geometry.parse_padding, dict(padding=1, ndim=2), ("padding", "ndim"), huge=True),
    # their answers list the taps of every phase (stride entries) or of one phase (up to kernel_size),
    # refused beyond geometry.MAX_LISTED; the counts (phase_tap_counts) are constant-size: all take huge values
    *(
        Case(f.__name__, f, dict(kernel_size=3, stride=2, dilation=1), ("kernel_size", "stride", "dilation"), huge=True)
        for f in (geometry.taps_per_phase, geometry.phase_tap_counts, design.overlap_profile, artifacts.phase_taps)
    ),
    Case(
        "phase_taps (geometry)",
        geometry.phase_taps,
        dict(kernel_size=3, stride=2, dilation=1, phase=1),
        ("kernel_size", "stride", "dilation", "phase"),
        huge=True,
    ),
    Case("check_geometry", geometry.check_geometry, dict(value=G, name="geometry"), ("value",), names=GEOMETRY),
    Case(
        "conv_transpose_input_range",
        geometry.conv_transpose_input_range,
        dict(geometry=G, axis=0, start=0, stop=3),
        ("geometry", "axis", "start", "stop"),
        huge=True,
    ),
    Case(
        "conv_input_range",
        geometry.conv_input_range,
        dict(geometry=geometry.conv_geometry(7, 3, 2), axis=0, start=0, stop=2),
        ("geometry", "axis", "start", "stop"),
        huge=True,
    ),
    *(
        Case(f.__name__, f, dict(kernel_size=3, stride=2, dilation=1), ("kernel_size", "stride", "dilation"), huge=True)
        for f in (chunks_module.conv_transpose_halo, chunks_module.conv_halo)
    ),
    Case(
        "conv_transpose_chunks",
        chunks_module.conv_transpose_chunks,
        dict(geometry=G, chunks=((2, 2), (4,))),
        ("geometry", "chunks"),
        huge=True,
    ),
    Case(
        "conv_chunks",
        chunks_module.conv_chunks,
        dict(geometry=geometry.conv_geometry((7, 7), 3, 2), chunks=((3, 4), (7,))),
        ("geometry", "chunks"),
        huge=True,
    ),
    # translation and weight layouts
    Case(
        "translate",
        tconv.translate,
        dict(params={"stride": 2}, source="torch", target="keras", weight_shape=(2, 3, 3, 3), input_shape=(1, 2, 4, 4)),
        ("params", "source", "target", "weight_shape", "input_shape"),
        huge=True,
        names=PARAMS,
    ),
    Case(
        "output_size (translation)",
        translation.output_size,
        dict(params={"strides": 2}, framework="keras", weight_shape=(3, 3, 3, 2), input_shape=(1, 4, 4, 2)),
        ("params", "framework", "weight_shape", "input_shape"),
        huge=True,
        names=PARAMS,
    ),
    Case(
        "resolve",
        translation.resolve,
        dict(params={"strides": [2, 2], "padding": "SAME"}, source="jax", weight_shape=(3, 3, 2, 3)),
        ("params", "source", "weight_shape", "input_shape"),
        huge=True,
        names=PARAMS,
    ),
    *(
        Case(
            f"translate from {source}",
            _translate_param,
            dict(source=source, weight_shape=shape, **params),
            tuple(params) + extra,
            huge=True,
            framework=source in ("keras", "jax", "onnx"),  # read by the emulation, in its framework's words
        )
        for source, shape, params, extra in (
            ("tconv", (2, 3, 3, 3), dict(stride=2, padding=1), ("output_padding", "groups", "dilation", "layout")),
            ("torch", (2, 3, 3, 3), dict(stride=2, padding=1), ("output_padding", "groups", "dilation")),
            ("keras", (3, 3, 3, 2), dict(strides=2, padding="same"), ("output_padding", "dilation_rate", "filters")),
            ("jax", (3, 3, 2, 3), dict(strides=(2, 2), padding="SAME"), ("rhs_dilation", "transpose_kernel")),
            ("onnx", (2, 3, 3, 3), dict(strides=(2, 2), pads=(1, 1, 1, 1)), ("dilations", "group", "auto_pad")),
        )
    ),
    Case(
        "read_call",
        translation.read_call,
        dict(callee="torch.nn.ConvTranspose2d", args=(4, 2, 3), keywords={"stride": 2}, framework=None),
        ("callee", "args", "keywords", "framework"),
        huge=True,
        names={
            "args": ("args", "positional", "kernel_size"),
            "keywords": ("keywords", "argument"),
            "callee": ("callee", "is not a transposed convolution tconv reads"),  # the message shows the name
        },
    ),
    *(
        Case(f.__name__, f, dict(framework="keras"), ("framework",), huge=True)
        for f in (translation.possessive, translation.weight_layout)
    ),
    Case("accepted_parameters", translation.accepted_parameters, dict(source="onnx"), ("source",), huge=True),
    Case(
        "TranslationPlan.apply",
        _plan_apply,
        dict(input=X, weight=W, bias=None),
        ("input", "weight", "bias"),
        arrays=("input", "weight", "bias"),
    ),
    Case(
        "convert_weight",
        tconv.convert_weight,
        dict(weight=W, source="torch", target="jax", groups=1),
        ("weight", "source", "target", "groups"),
        arrays=("weight",),
    ),
    *(
        Case(
            f.__name__, f, dict(weight=W, layout="keras", groups=1), ("weight", "layout", "groups"), arrays=("weight",)
        )
        for f in (weights.to_torch_layout, weights.from_torch_layout)
    ),
    Case("ungroup_weight", weights.ungroup_weight, dict(weight=W, groups=2), ("weight", "groups"), arrays=("weight",)),
    Case(
        "dilate_weight", weights.dilate_weight, dict(weight=W, dilation=2), ("weight", "dilation"), arrays=("weight",)
    ),
    # design and the overlap analysis
    Case(
        "upsampling_designs",
        design.upsampling_designs,
        dict(input_size=7, output_size=14, max_kernel=6),
        ("input_size", "output_size", "factor", "max_kernel", "max_stride", "max_padding", "max_dilation"),
        huge=True,
        names={"output_size": ("output_size", "factor")},
    ),
    Case(
        "upsampling_designs (factor)",
        design.upsampling_designs,
        dict(factor=2, max_kernel=6),
        ("factor", "max_kernel", "max_padding", "max_dilation", "output_padding"),
        huge=True,
    ),
    Case(
        "overlap",
        artifacts.overlap,
        dict(kernel_size=(3, 3), stride=2, padding=1),
        ("kernel_size", "stride", "padding", "output_padding", "dilation", "input_size"),
        huge=True,
    ),
    Case(
        "analyze",
        artifacts.analyze,
        dict(kernel_size=3, stride=2, padding=1, input_size=6),
        ("kernel_size", "stride", "padding", "output_padding", "dilation", "input_size", "weight", "groups"),
        arrays=("weight",),
        huge=True,
    ),
    Case(
        "analyze_weights",
        artifacts.analyze_weights,
        dict(weight=W, stride=2, padding=1),
        ("weight", "stride", "padding", "output_padding", "dilation", "groups", "input_size"),
        arrays=("weight",),
    ),
    *(
        Case(f.__name__, f, dict(weight=W, stride=2), ("weight", "stride", "dilation", *extra), arrays=("weight",))
        for f, extra in (
            (artifacts.phase_gains, ()),
            (artifacts.constant_response, ("groups", "value")),
            (artifacts.checkerboard_amplitude, ("groups",)),
        )
    ),
    Case(
        "even_alternatives",
        artifacts.even_alternatives,
        dict(kernel_size=3, stride=2, padding=1, output_padding=1),
        ("kernel_size", "stride", "padding", "output_padding", "dilation", "limit"),
        huge=True,
    ),
    Case(
        "report",
        _report,
        dict(kernel_size=3, stride=2, dilation=1, input_size=5),
        ("kernel_size", "stride", "dilation", "input_size"),
        huge=True,
    ),
    # initialisers and the NumPy layer
    *(
        Case(f.__name__, f, dict(shape=(2, 3, 4, 4), **base), ("shape", *base, *extra))
        for f, base, extra in (
            (init.kaiming_uniform, dict(a=0.0, rng=0), ("dtype",)),
            (init.torch_default, dict(bias=True, groups=1, rng=0), ("dtype",)),
            (init.bilinear, dict(stride=2, groups=1), ("dtype",)),
            (init.nearest, dict(stride=2, padding=1, groups=1), ("dtype",)),
            (init.icnr, dict(stride=2, groups=1, rng=0), ("dtype",)),
            (init.fan_in, {}, ()),
        )
    ),
    Case("bilinear_parameters", init.bilinear_parameters, dict(factor=2), ("factor",)),
    Case(
        "ConvTranspose2d",
        _layer,
        dict(stride=2),
        ("in_channels", "out_channels", "kernel_size", *OPERATOR, "bias", "layout", "algorithm", "dtype", "rng"),
    ),
    Case(
        "ConvTranspose",
        nn.ConvTranspose,
        dict(in_channels=2, out_channels=3, kernel_size=(3, 3), stride=2),
        ("kernel_size", "ndim", "backward_algorithm"),
    ),
    Case("ConvTranspose2d.forward", _forward, dict(input=X), ("input",), arrays=("input",)),
    Case(
        "ConvTranspose2d.backward",
        _backward,
        dict(grad_output=np.ones((1, 3, 9, 9))),
        ("grad_output",),
        arrays=("grad_output",),
    ),
    Case(
        "ConvTranspose2d.load_state_dict",
        _load,
        dict(weight=W.astype(np.float32), bias=np.zeros(3)),
        ("weight", "bias"),
        arrays=("weight", "bias"),
    ),
    Case("SGD", _optimizer, dict(cls=nn.SGD, lr=0.1), ("lr", "momentum", "weight_decay", "nesterov")),
    Case("Adam", _optimizer, dict(cls=nn.Adam, lr=0.1), ("lr", "betas", "eps", "weight_decay")),
    Case(
        "mse_loss",
        nn.mse_loss,
        dict(prediction=np.ones(3), target=np.zeros(3)),
        ("prediction", "target"),
        arrays=("prediction", "target"),
    ),
    # the emulations of the frameworks
    Case(
        "compat.torch.conv_transpose2d",
        tconv.compat.torch.conv_transpose2d,
        dict(input=X, weight=W, stride=2, padding=1),
        ("input", "weight", "bias", *OPERATOR),
        arrays=("input", "weight", "bias"),
        framework=True,
    ),
    Case(
        "compat.torch.output_size",
        tconv.compat.torch.output_size,
        dict(input_size=(4, 4), kernel_size=3, stride=2, padding=1),
        ("input_size", "kernel_size", "stride", "padding", "output_padding", "dilation"),
        huge=True,
        framework=True,
    ),
    Case(
        "compat.torch.valid_output_sizes",
        tconv.compat.torch.valid_output_sizes,
        dict(input_size=(4, 4), kernel_size=3, stride=2, padding=1),
        ("input_size", "kernel_size", "stride", "padding", "dilation"),
        huge=True,
        framework=True,
    ),
    Case(
        "compat.tensorflow.conv2d_transpose",
        tconv.compat.tensorflow.conv2d_transpose,
        dict(input=np.ones((1, 4, 4, 2)), filters=np.ones((3, 3, 3, 2)), output_shape=(1, 8, 8, 3), strides=2),
        ("input", "filters", "output_shape", "strides", "padding", "data_format", "dilations"),
        arrays=("input", "filters"),
        framework=True,
    ),
    Case(
        "compat.tensorflow.valid_output_sizes",
        tconv.compat.tensorflow.valid_output_sizes,
        dict(input_size=(4, 4), kernel_size=(3, 3), strides=(2, 2)),
        ("input_size", "kernel_size", "strides", "padding", "dilations"),
        huge=True,
        framework=True,
    ),
    Case(
        "compat.keras.conv_transpose",
        tconv.compat.keras.conv_transpose,
        dict(inputs=np.ones((1, 4, 4, 2)), kernel=np.ones((3, 3, 3, 2)), strides=2, padding="same"),
        ("inputs", "kernel", "strides", "padding", "output_padding", "data_format", "dilation_rate"),
        arrays=("inputs", "kernel"),
        framework=True,
    ),
    Case(
        "compat.keras.Conv2DTranspose",
        _keras_layer,
        dict(inputs=np.ones((1, 4, 4, 2)), kernel=np.ones((3, 3, 3, 2))),
        ("inputs", "kernel"),
        arrays=("inputs", "kernel"),
        framework=True,
    ),
    Case(
        "compat.keras.output_size",
        tconv.compat.keras.output_size,
        dict(input_size=4, kernel_size=3, strides=2, padding="same"),
        ("input_size", "kernel_size", "strides", "padding", "output_padding", "dilation_rate"),
        huge=True,
        framework=True,
    ),
    Case(
        "compat.jax.conv_transpose",
        tconv.compat.jax.conv_transpose,
        dict(lhs=np.ones((1, 4, 4, 2)), rhs=np.ones((3, 3, 2, 3)), strides=(2, 2), padding="SAME"),
        ("lhs", "rhs", "strides", "padding", "rhs_dilation", "dimension_numbers", "transpose_kernel"),
        arrays=("lhs", "rhs"),
        framework=True,
    ),
    Case(
        "compat.jax.conv_general_dilated",
        tconv.compat.jax.conv_general_dilated,
        dict(
            lhs=np.ones((1, 2, 4, 4)),
            rhs=np.ones((3, 2, 3, 3)),
            window_strides=(1, 1),
            padding=((2, 2), (2, 2)),
            lhs_dilation=(2, 2),
        ),
        (
            "lhs",
            "rhs",
            "window_strides",
            "padding",
            "lhs_dilation",
            "rhs_dilation",
            "dimension_numbers",
            "feature_group_count",
            "batch_group_count",
        ),
        arrays=("lhs", "rhs"),
        framework=True,
    ),
    Case(
        "compat.jax.conv_transpose_padding",
        tconv.compat.jax.conv_transpose_padding,
        dict(kernel_size=3, stride=2, padding="SAME"),
        ("kernel_size", "stride", "padding"),
        huge=True,
        framework=True,
    ),
    Case(
        "compat.onnx.conv_transpose",
        tconv.compat.onnx.conv_transpose,
        dict(X=X, W=W, strides=(2, 2), pads=(1, 1, 1, 1)),
        (
            "X",
            "W",
            "B",
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
        arrays=("X", "W", "B"),
        framework=True,
    ),
    Case(
        "compat.onnx.output_size",
        tconv.compat.onnx.output_size,
        dict(input_size=(4, 4), kernel_shape=(3, 3), strides=(2, 2)),
        ("input_size", "kernel_shape", "strides", "pads", "dilations", "output_padding", "auto_pad"),
        huge=True,
        framework=True,
    ),
    # the explanations
    Case(
        "explain_text",
        tconv.explain.explain_text,
        dict(input=np.ones((3, 3)), weight=np.ones((3, 3)), stride=2, max_steps=2),
        ("input", "weight", "stride", "padding", "output_padding", "dilation", "max_steps"),
        arrays=("input", "weight"),
    ),
    Case(
        "contributions",
        tconv.explain.contributions,
        dict(geometry=G, position=(0, 1)),
        ("geometry", "position"),
        huge=True,
    ),
    Case(
        "output_window",
        tconv.explain.output_window,
        dict(full=np.ones((9, 9)), geometry=G),
        ("full", "geometry"),
        arrays=("full",),
    ),
    Case(
        "zero_insert", tconv.explain.zero_insert, dict(x=np.ones((4, 4)), geometry=G), ("x", "geometry"), arrays=("x",)
    ),
    Case(
        "scatter_steps",
        lambda **kw: list(tconv.explain.scatter_steps(**kw)),
        dict(x=np.ones((4, 4)), w=np.ones((3, 3)), geometry=G),
        ("x", "w", "geometry"),
        arrays=("x", "w"),
    ),
    Case(
        "window_diagram",
        tconv.explain.window_diagram,
        dict(input_size=3, kernel_size=3, stride=2, options=[{"padding": 1}]),
        ("input_size", "kernel_size", "stride", "dilation", "options"),
        huge=True,
    ),
    Case(
        "dask.conv_transpose",
        lambda **kw: _dask("conv_transpose", **kw),
        dict(x=X, weight=W, stride=2, padding=1),
        ("x", "weight", "bias", *OPERATOR, "chunks", "algorithm"),
        arrays=("weight", "bias"),
        needs="dask",
    ),
    Case(
        "dask.conv",
        lambda **kw: _dask("conv", **kw),
        dict(x=np.ones((1, 3, 7, 7)), weight=np.ones((2, 3, 3, 3)), stride=2),
        ("x", "weight", "bias", "stride", "padding", "dilation", "groups", "chunks"),
        arrays=("weight", "bias"),
        needs="dask",
    ),
    Case(
        "dask.halo_diagram",
        lambda **kw: importlib.import_module("tconv.dask").halo_diagram(**kw),
        dict(input_size=8, chunks=(4, 4), kernel_size=3, stride=2),
        ("input_size", "chunks", "kernel_size", "stride", "padding", "output_padding", "dilation", "output_size"),
        huge=True,
        needs="dask",
    ),
    Case(
        "layer_from_spec",
        lambda spec: tconv.benchmark.layer_from_spec(spec),
        dict(spec="n=1 c_in=2 c_out=3 size=4x4 kernel=3 stride=2"),
        ("spec",),
        names={"spec": ("spec", "layer")},
    ),
    Case(
        "random_layers",
        lambda count, seed: tconv.benchmark.random_layers(count, seed),
        dict(count=2, seed=0),
        ("count", "seed"),
        huge=True,
    ),
]

#: Public callables not fuzzed here, and why (every other public callable must be in CASES).
NOT_FUZZED = {
    # records: built by the functions above from checked values
    **dict.fromkeys(
        [
            "Geometry",
            "WindowArguments",
            "Design",
            "Analysis",
            "Overlap",
            "WeightAnalysis",
            "ConvTransposeSpec",
            "TranslationPlan",
            "Step",
            "Call",
            "MissingWeightShape",
            "Gradients",
            "Problem",
            "Operands",
            "Layer",
            "Result",
        ],
        "a record the functions build; not a function users call with their own values",
    ),
    # the options are the thread-safety rule's (issue 11, "Options and threads")
    **dict.fromkeys(["get_options", "options", "set_options"], "tconv.options: the options' own rules (i13)"),
    "effective_kernel_size": "the one formula d*(k-1)+1 of the inner loops, on checked ints (documented)",
    "tap_range": "the index arithmetic of the kernels' inner loops, on checked ints (documented)",
    "crop_pairs": "turns parse_padding's result (fuzzed above) into pairs; it takes nothing else",
    "geometry_matrix": "conv_matrix's builder, on a checked weight and geometry",
    # the drop-in PyTorch layer raises PyTorch's own exception types
    **dict.fromkeys(
        [
            "ConvTranspose1d (torch)",
            "ConvTranspose2d (torch)",
            "ConvTranspose3d (torch)",
            "forward_backward",
            "from_torch",
            "uses_tconv",
            "conv_transpose (torch)",
        ],
        "tconv.torch: PyTorch's exception types, for drop-in parity",
    ),
    # drawings take seconds each; their arguments are pictures.problem's and the Analysis'
    **dict.fromkeys(
        [
            "explain_figure",
            "matrix_figure",
            "overlap_figure",
            "scatter_figure",
            "zero_insertion_figure",
            "scatter_animation",
            "zero_insertion_animation",
            "save_animation",
            "save_figure",
            "problem",
        ],
        "the pictures (matplotlib): the explorer and pictures' rules (i14)",
    ),
    **dict.fromkeys(["explorer_html", "write_explorer"], "the explorer page: its own limits and escaping (i14)"),
    "advice": "words of an Analysis, which analyze builds (report is fuzzed through analyze)",
    # the benchmark runs processes; its arguments come from tconv bench, fuzzed through the command line
    **dict.fromkeys(
        ["run (benchmark)", "format_table", "save_json", "summary", "check_output"],
        "tconv bench's machinery: its arguments are tconv bench's, fuzzed in tests/cli/test_fuzz.py",
    ),
    **dict.fromkeys(
        ["main", "parse_padding_option", "parse_sizes"], "the command line: tests/cli/test_fuzz.py fuzzes main"
    ),
    # the compat modules' lower-level helpers, whose public entry points are fuzzed above
    **dict.fromkeys(
        [
            "conv_transpose1d",
            "conv_transpose3d",
            "conv1d_transpose",
            "conv3d_transpose",
            "Conv1DTranspose",
            "Conv3DTranspose",
        ],
        "the same emulation as its 2-d form, fuzzed above",
    ),
    **dict.fromkeys(
        [
            "module_output_padding",
            "window (compat)",
            "conv_transpose_window",
            "default_dimension_numbers",
            "dimension_permutations",
            "conv_transpose (compat)",
        ],
        "an emulation's rule, reached through its conv_transpose/output_size fuzzed above",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_valid_calls_run(case):
    """The base call of every case is valid: the garbage is what makes a call fail."""
    if case.needs:
        oracle(case.needs)
    case.call()


def _names(case: Case, parameter: str) -> tuple[str, ...]:
    return case.names.get(parameter, (parameter,))


def _names_it(case: Case, parameter: str, message: str) -> bool:
    return case.framework or any(name in message for name in _names(case, parameter))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_garbage_gives_a_value_or_type_error_naming_the_parameter(case, data):
    if case.needs:
        oracle(case.needs)
    parameter = data.draw(st.sampled_from(case.fuzz), label="parameter")
    values = garbage_array() if parameter in case.arrays else garbage(case.huge)
    value = data.draw(values, label="value")
    try:
        with no_hang(30), np.errstate(all="ignore"):
            case.call(**{parameter: value})
    except (ValueError, TypeError) as error:
        message = str(error)
        assert _names_it(case, parameter, message), (
            f"{case.name}({parameter}={value!r}) raised {type(error).__name__} without naming {parameter}: {message}"
        )


def _public_callables() -> set[str]:
    """Every public callable of the modules users import (their ``__all__``)."""
    modules = [
        "tconv", "tconv.shape", "tconv.geometry", "tconv.chunks", "tconv.design", "tconv.artifacts",
        "tconv.weights", "tconv.translation", "tconv.init", "tconv.nn", "tconv.grad", "tconv.matrix",
        "tconv.compat.torch", "tconv.compat.tensorflow", "tconv.compat.keras", "tconv.compat.jax",
        "tconv.compat.onnx", "tconv.explain", "tconv.explain.artifacts_text", "tconv.explain.explorer",
        "tconv.explain.pictures", "tconv.benchmark", "tconv.cli",
    ]  # fmt: skip
    found = set()
    for name in modules:
        module = importlib.import_module(name)
        for attribute in module.__all__:
            if callable(getattr(module, attribute)):
                found.add(attribute)
    return found


def test_every_public_function_is_fuzzed_or_exempt():
    oracle("matplotlib")
    covered = {case.name.split(" ")[0].split(".")[-1] for case in CASES}
    exempt = {name.split(" ")[0] for name in NOT_FUZZED}
    missing = sorted(_public_callables() - covered - exempt)
    assert not missing, f"public functions neither fuzzed nor exempt: {missing}"


def test_the_garbage_reaches_every_kind_of_mistake():
    """The strategies hold what the issue lists: wrong kinds, zero/negative/huge sizes, NaN, ragged lists."""
    assert any(isinstance(v, float) and math.isnan(v) for v in _ODD)
    assert 10**18 in HUGE_INTS and any(isinstance(a, list) for a in _ARRAYS)
    assert any(isinstance(a, np.ndarray) and a.dtype.kind == "O" for a in _ARRAYS)
