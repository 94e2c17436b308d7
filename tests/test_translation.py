"""Every translation plan, checked in the real frameworks.

For each source framework a seeded table of configurations (the hard cases
included: TensorFlow/Keras SAME with odd k_eff - s, Keras output_padding=None vs 0,
JAX's uncrossed pads and kernels, ONNX SAME_LOWER and output_shape, groups,
dilation) is run in the source framework itself; then, for every target, the plan's
printed code (``plan.to_code()``) is executed in the target framework on the
converted arrays, and both results must agree. ``plan.apply`` (NumPy, through
tconv.compat) must agree too.
"""

from __future__ import annotations

import numpy as np
import pytest
from framework_oracles import onnx_model, run_ort
from helpers import assert_close, no_hang

import tconv
from tconv.frameworks import jax as compat_jax
from tconv.frameworks import onnx as compat_onnx
from tconv.frameworks import tensorflow as compat_tf
from tconv.translation import FRAMEWORKS, translate

TARGETS = FRAMEWORKS


def _ints(rng, low, high, n):
    return tuple(int(v) for v in rng.integers(low, high, n))


def _torch_cases(rng, count):
    cases = []
    while len(cases) < count:
        nd = int(rng.choice([1, 2, 2, 3]))
        g = int(rng.choice([1, 1, 2]))
        k, s, d = _ints(rng, 1, 5, nd), _ints(rng, 1, 4, nd), _ints(rng, 1, 3, nd)
        p = _ints(rng, 0, 3, nd)
        op = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d))
        size = _ints(rng, 2, 5, nd)
        if any(
            (i - 1) * si - 2 * pi + di * (ki - 1) + ai + 1 < 1 for i, si, pi, di, ki, ai in zip(size, s, p, d, k, op)
        ):
            continue
        cases.append(
            dict(
                params=dict(stride=s, padding=p, output_padding=op, groups=g, dilation=d),
                weight_shape=(2 * g, int(rng.integers(1, 3)), *k),
                input_shape=(2, 2 * g, *size),
            )
        )
    return cases


def _tensorflow_cases(rng, count):
    cases = []
    while len(cases) < count:
        nd = int(rng.choice([1, 2, 2, 3]))
        k, s = _ints(rng, 1, 6, nd), _ints(rng, 1, 4, nd)
        d = _ints(rng, 1, 3, nd) if rng.integers(0, 4) == 0 else (1,) * nd
        size = _ints(rng, 2, 5, nd)
        padding = str(rng.choice(["SAME", "SAME", "VALID"]))
        if nd == 2 and d == (1, 1) and rng.integers(0, 3) == 0:
            pads = [tuple(int(v) for v in rng.integers(0, 3, 2)) for _ in range(nd)]
            ranges = compat_tf.valid_output_sizes(size, k, s, pads, d)
            padding = [[0, 0], *map(list, pads), [0, 0]]
        else:
            ranges = compat_tf.valid_output_sizes(size, k, s, padding, d)
        if any(len(r) == 0 for r in ranges):
            continue
        out = [int(rng.integers(r.start, r.stop)) for r in ranges]
        c_in, c_out = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        cases.append(
            dict(
                params=dict(output_shape=[2, *out, c_out], strides=list(s), padding=padding, dilations=list(d)),
                weight_shape=(*k, c_out, c_in),
                input_shape=(2, *size, c_in),
            )
        )
    return cases


def _keras_cases(rng, count):
    cases = []
    while len(cases) < count:
        nd = int(rng.choice([1, 2, 2, 3]))
        k = _ints(rng, 1, 6, nd)
        dilated = rng.integers(0, 4) == 0
        s = (1,) * nd if dilated else _ints(rng, 1, 4, nd)
        d = _ints(rng, 1, 3, nd) if dilated else (1,) * nd
        padding = str(rng.choice(["same", "valid"]))
        op = None if rng.integers(0, 2) else tuple(int(rng.integers(0, si)) for si in s)
        if (
            padding == "same"
            and op is not None
            and any((di * (ki - 1) + 1) % 2 == 0 and a == 0 for ki, di, a in zip(k, d, op))
        ):
            continue  # Keras' TF backend cannot run these (tests/frameworks/test_keras.py)
        c_in, filters = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        cases.append(
            dict(
                params=dict(strides=s, padding=padding, output_padding=op, dilation_rate=d),
                weight_shape=(*k, filters, c_in),
                input_shape=(2, *_ints(rng, 2, 5, nd), c_in),
            )
        )
    return cases


def _jax_cases(rng, count):
    cases = []
    while len(cases) < count:
        nd = int(rng.choice([1, 2, 2, 3]))
        k, s, d = _ints(rng, 1, 5, nd), _ints(rng, 1, 4, nd), _ints(rng, 1, 3, nd)
        size = _ints(rng, 2, 5, nd)
        c_in, c_out = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        letters = "HWD"[:nd]
        if rng.integers(0, 4) == 0:  # conv_general_dilated with groups
            g = int(rng.choice([2, 3]))
            c_in, c_out = g * c_in, g * c_out
            pads = [tuple(int(v) for v in rng.integers(0, 4, 2)) for _ in range(nd)]
            params = dict(
                window_strides=(1,) * nd,
                padding=pads,
                lhs_dilation=s,
                rhs_dilation=d,
                dimension_numbers=("N" + letters + "C", letters + "IO", "N" + letters + "C"),
                feature_group_count=g,
            )
            weight_shape = (*k, c_in // g, c_out)
            out = [
                (i - 1) * si + 2 - (di * (ki - 1) + 1) + lo + hi for i, si, di, ki, (lo, hi) in zip(size, s, d, k, pads)
            ]
            if min(out) < 1:
                continue
        else:
            kind = str(rng.choice(["SAME", "VALID", "pairs", "consistent"]))
            consistent = kind == "consistent"
            if kind in ("SAME", "VALID"):
                padding = kind
            else:
                padding = tuple(tuple(int(v) for v in rng.integers(-1, 4, 2)) for _ in range(nd))
            transpose_kernel = bool(rng.integers(0, 2))
            params = dict(
                strides=s,
                padding=padding,
                rhs_dilation=d,
                transpose_kernel=transpose_kernel,
                use_consistent_padding=consistent,
            )
            weight_shape = (*k, c_out, c_in) if transpose_kernel else (*k, c_in, c_out)
            try:
                g_win = compat_jax.conv_transpose_window(size, k, s, padding, d, consistent)
            except ValueError:
                continue
            if min(g_win.output_size) < 1:
                continue
        cases.append(dict(params=params, weight_shape=weight_shape, input_shape=(2, *size, c_in)))
    return cases


def _onnx_cases(rng, count):
    cases = []
    while len(cases) < count:
        nd = int(rng.choice([1, 2, 2, 3]))
        g = int(rng.choice([1, 1, 2]))
        k, s, d = _ints(rng, 1, 5, nd), _ints(rng, 1, 4, nd), _ints(rng, 1, 3, nd)
        size = _ints(rng, 2, 5, nd)
        op = [int(rng.integers(0, si)) for si in s] if rng.integers(0, 2) else None
        auto_pad = str(rng.choice(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
        semantics = "onnxruntime"
        attrs = dict(
            auto_pad=auto_pad, strides=list(s), dilations=list(d), output_padding=op, group=g, semantics=semantics
        )
        a = op or [0] * nd
        natural = [(i - 1) * si + ai + di * (ki - 1) + 1 for i, si, ai, di, ki in zip(size, s, a, d, k)]
        if auto_pad != "VALID" and rng.integers(0, 3) == 0:
            attrs["output_shape"] = [int(rng.integers(max(n - 3, 1), n + si - ai)) for n, si, ai in zip(natural, s, a)]
        elif auto_pad == "NOTSET":
            attrs["pads"] = [int(v) for v in rng.integers(-1, 3, 2 * nd)]
        try:
            compat_onnx.window(size, k, **{key: v for key, v in attrs.items() if key != "group"})
        except ValueError:
            continue
        cases.append(
            dict(params=attrs, weight_shape=(2 * g, int(rng.integers(1, 3)), *k), input_shape=(2, 2 * g, *size))
        )
    return cases


def _tconv_cases(rng, count):
    cases = []
    while len(cases) < count:
        nd = int(rng.choice([1, 2, 3]))
        k, s, d = _ints(rng, 1, 5, nd), _ints(rng, 1, 4, nd), _ints(rng, 1, 3, nd)
        size = _ints(rng, 2, 5, nd)
        kind = rng.integers(0, 3)
        padding = "same" if kind == 0 else tuple(tuple(int(v) for v in rng.integers(-2, 3, 2)) for _ in range(nd))
        try:
            tconv.geometry.conv_transpose_geometry(size, k, s, padding, 0, d)
        except ValueError:
            continue
        layout = str(rng.choice(["channels_first", "channels_last"]))
        shape = (2, 2, *size) if layout == "channels_first" else (2, *size, 2)
        cases.append(
            dict(
                params=dict(stride=s, padding=padding, dilation=d, layout=layout),
                weight_shape=(2, 3, *k),
                input_shape=shape,
            )
        )
    return cases


def _hand_cases():
    """The documented hard cases, by name."""
    return [
        (
            "tensorflow",
            "tf-same-k3s2",
            dict(
                params=dict(output_shape=[1, 8, 8, 2], strides=[2, 2], padding="SAME"),
                weight_shape=(3, 3, 2, 3),
                input_shape=(1, 4, 4, 3),
            ),
        ),
        (
            "tensorflow",
            "tf-same-k4s1",
            dict(
                params=dict(output_shape=[1, 5, 5, 2], strides=[1, 1], padding="SAME"),
                weight_shape=(4, 4, 2, 3),
                input_shape=(1, 5, 5, 3),
            ),
        ),
        (
            "keras",
            "keras-same-k2s2-op0",
            dict(
                params=dict(strides=2, padding="same", output_padding=1),
                weight_shape=(2, 2, 2, 3),
                input_shape=(1, 6, 6, 3),
            ),
        ),
        (
            "keras",
            "keras-same-k3s2",
            dict(params=dict(strides=2, padding="same"), weight_shape=(3, 3, 2, 3), input_shape=(1, 4, 4, 3)),
        ),
        (
            "torch",
            "torch-op<dilation",
            dict(params=dict(stride=1, output_padding=2, dilation=3), weight_shape=(2, 2, 3), input_shape=(1, 2, 5)),
        ),
        (
            "onnx",
            "onnx-same-lower",
            dict(
                params=dict(auto_pad="SAME_LOWER", strides=[2, 2]), weight_shape=(2, 2, 3, 3), input_shape=(1, 2, 4, 4)
            ),
        ),
        (
            "onnx",
            "onnx-ort-k1s2-same",
            dict(
                params=dict(auto_pad="SAME_UPPER", strides=[2], semantics="onnxruntime"),
                weight_shape=(1, 1, 1),
                input_shape=(1, 1, 3),
            ),
        ),
        (
            "jax",
            "jax-negative-pads",
            dict(params=dict(strides=(2,), padding=((-1, 3),)), weight_shape=(3, 2, 2), input_shape=(1, 4, 2)),
        ),
        (
            "tconv",
            "tconv-window-in-the-zero-region",
            dict(
                params=dict(stride=2, padding=((-2, 6), (1, -3))), weight_shape=(2, 3, 1, 2), input_shape=(1, 2, 3, 3)
            ),
        ),
        (
            "jax",
            "jax-own-dimension-numbers",
            dict(
                params=dict(
                    strides=(2, 1), padding="SAME", rhs_dilation=(1, 2), dimension_numbers=("NCWH", "IHOW", "NHWC")
                ),
                weight_shape=(2, 3, 4, 2),
                input_shape=(1, 2, 4, 3),
            ),
        ),
    ]


def _all_cases():
    rng = np.random.default_rng(2026)
    generated = {
        "torch": _torch_cases(rng, 7),
        "tensorflow": _tensorflow_cases(rng, 7),
        "keras": _keras_cases(rng, 7),
        "jax": _jax_cases(rng, 7),
        "onnx": _onnx_cases(rng, 7),
        "tconv": _tconv_cases(rng, 5),
    }
    cases = [(source, f"{source}-{j}", case) for source, table in generated.items() for j, case in enumerate(table)]
    return cases + _hand_cases()


CASES = _all_cases()


# --- the sources, run in their own frameworks ----------------------------------------------------------


def _source_result(source, case, x, w, b, fw):
    p = case["params"]
    nd = len(case["weight_shape"]) - 2
    if source == "torch":
        torch = fw["torch"]
        f = getattr(torch.nn.functional, f"conv_transpose{nd}d")
        t = lambda a: None if a is None else torch.from_numpy(np.array(a))  # noqa: E731
        with torch.no_grad():
            return f(
                t(x),
                t(w),
                t(b),
                p.get("stride", 1),
                p.get("padding", 0),
                p.get("output_padding", 0),
                p.get("groups", 1),
                p.get("dilation", 1),
            ).numpy()
    if source == "tensorflow":
        tf = fw["tf"]
        y = tf.nn.conv_transpose(
            x, w, p["output_shape"], p["strides"], padding=p["padding"], dilations=p.get("dilations")
        ).numpy()
        return y + b
    if source == "keras":
        keras = fw["keras"]
        layer = getattr(keras.layers, f"Conv{nd}DTranspose")(case["weight_shape"][-2], case["weight_shape"][:nd], **p)
        layer.build(x.shape)
        layer.set_weights([w, b])
        return np.asarray(layer(x))
    if source == "jax":
        lax = fw["lax"]
        if "lhs_dilation" in p:
            y = lax.conv_general_dilated(x, w, **p)
        else:
            y = lax.conv_transpose(x, w, **p)
        return np.asarray(y) + b
    if source == "onnx":
        attrs = {k: v for k, v in p.items() if k != "semantics"}
        return run_ort(fw["ort"], onnx_model(fw["onnx"], nd, attrs, bias=True), x, w, b)
    return tconv.conv_transpose(x, w, b, **p)


# --- the plan's code, run in the target framework ------------------------------------------------------


def _run_code(target, plan, x_t, w, b, fw):
    namespace: dict = {}
    exec(compile(plan.to_code(), f"<plan {plan.source}->{target}>", "exec"), namespace)  # noqa: S102
    w_t = namespace["convert_weight"](w)
    if target == "torch":  # a module, built once, as a model holds it
        torch = fw["torch"]
        layer = namespace["make_layer"](w_t, b)
        assert isinstance(layer, torch.nn.Module)
        with torch.no_grad():
            return layer(torch.from_numpy(x_t.copy())).numpy()
    if target == "tensorflow":
        tf = fw["tf"]
        return namespace["conv_transpose"](tf.constant(x_t), tf.constant(w_t), tf.constant(b)).numpy()
    if target == "keras":  # a layer, built once, as a model holds it
        layer = namespace["make_layer"](w_t, b)
        assert isinstance(layer, fw["keras"].layers.Layer)
        return np.asarray(layer(x_t))
    if target == "jax":
        jnp = fw["jax"].numpy
        return np.asarray(namespace["conv_transpose"](jnp.asarray(x_t), jnp.asarray(w_t), jnp.asarray(b)))
    return np.asarray(namespace["conv_transpose"](x_t, w_t, b))


@pytest.fixture(scope="module")
def frameworks(torch, tf, keras, jax, lax, onnx, ort):
    return dict(torch=torch, tf=tf, keras=keras, jax=jax, lax=lax, onnx=onnx, ort=ort)


@pytest.mark.parametrize("source, name, case", CASES, ids=[c[1] for c in CASES])
def test_every_plan_runs_exactly_in_every_target(source, name, case, frameworks):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(case["input_shape"]).astype(np.float32)
    w = rng.standard_normal(case["weight_shape"]).astype(np.float32)
    c_out = translate(
        case["params"], source, "tconv", weight_shape=case["weight_shape"], input_shape=case["input_shape"]
    ).spec.out_channels
    b = rng.standard_normal(c_out).astype(np.float32)
    expected = _source_result(source, case, x, w, b, frameworks)
    for target in TARGETS:
        plan = translate(
            case["params"], source, target, weight_shape=case["weight_shape"], input_shape=case["input_shape"]
        )
        assert_close(plan.apply(x, w, b), expected, dtype=np.float32)
        y_t = _run_code(target, plan, plan.input_to_target(x), w, b, frameworks)
        assert_close(
            plan.output_to_source(y_t), expected, rtol=2e-5, atol=2e-5 * max(1.0, float(np.abs(expected).max()))
        )


def test_the_tables_exercise_inexact_plans():
    """The table must contain windows that torch, TF, Keras and ONNX cannot cut (else the post step is untested)."""
    inexact = {target: 0 for target in ("torch", "tensorflow", "keras", "onnx")}
    for source, _, case in CASES:
        for target in inexact:
            try:
                plan = translate(
                    case["params"], source, target, weight_shape=case["weight_shape"], input_shape=case["input_shape"]
                )
            except ValueError:
                continue
            inexact[target] += not plan.exact
    assert all(count >= 3 for count in inexact.values()), inexact


def test_plan_reports_what_it_does():
    plan = translate(
        {"output_shape": [1, 8, 8, 2], "strides": 2, "padding": "SAME"},
        "tensorflow",
        "torch",
        weight_shape=(3, 3, 2, 3),
        input_shape=(1, 4, 4, 3),
    )
    assert not plan.exact and plan.post_crop == ((0, 1), (0, 1))
    assert plan.arguments == dict(
        in_channels=3,
        out_channels=2,
        kernel_size=(3, 3),
        stride=(2, 2),
        padding=(0, 0),
        output_padding=(0, 0),
        groups=1,
        dilation=(1, 1),
    )
    text = plan.describe()
    assert "crop (begin, end) ((0, 1), (0, 1))" in text and "PyTorch cannot cut this window" in text
    data = plan.to_dict()
    assert data["exact"] is False and data["post_crop"] == [[0, 1], [0, 1]] and data["window"]["input_size"] == [4, 4]
    with pytest.raises(ValueError, match="this plan holds for input size"):
        plan.apply(np.ones((1, 5, 5, 3)), np.ones((3, 3, 2, 3)))


@pytest.mark.parametrize(
    "call, error, phrase",
    [
        (lambda: translate({}, "caffe", "torch", weight_shape=(1, 1, 3)), ValueError, "source must be one of"),
        (
            lambda: translate({"stride": 2}, "keras", "torch", weight_shape=(3, 1, 1)),
            ValueError,
            "unknown keras parameter",
        ),
        (
            lambda: translate({"output_shape": [1, 8, 1]}, "tensorflow", "torch", weight_shape=(3, 1, 1)),
            ValueError,
            "pass input_shape",
        ),
        (
            lambda: translate({}, "onnx", "torch", weight_shape=(1, 1, 2, 2, 2, 2)),
            ValueError,
            "PyTorch has transposed convolutions with 1 to 3",
        ),
        (
            lambda: translate({"stride": 2}, "torch", "torch", weight_shape=(1, 1, 0)),
            ValueError,
            "weight_shape must be positive",
        ),
        (lambda: translate([1], "torch", "torch", weight_shape=(1, 1, 3)), TypeError, "params must be a mapping"),
        (
            lambda: translate({"strides": (), "padding": "SAME"}, "jax", "tconv", weight_shape=(2, 3)),
            ValueError,
            "tconv has transposed convolutions with 1 to",
        ),
    ],
)
def test_bad_requests_are_explained(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call()


def test_zero_dimensional_jax_translates_to_jax(lax):
    """JAX's 0-d transposed convolution (a matrix product) has no other framework; jax -> jax is exact."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))  # NC, IO
    plan = translate({"strides": (), "padding": "SAME"}, "jax", "jax", weight_shape=w.shape)
    expected = np.asarray(lax.conv_transpose(x, w, (), "SAME"))
    assert_close(plan.apply(x, w), expected)


# --- issue 11: every argument checked, in the source's own names; no work that grows with a value ----------


@pytest.mark.parametrize(
    "params, source, weight_shape, error, phrase",
    [
        ({"groups": 3}, "torch", (4, 8, 3, 3), ValueError, r"groups=3 must divide the input channels \(4\)"),
        ({"groups": 3}, "tconv", (4, 8, 3, 3), ValueError, r"groups=3 must divide the input channels \(4\)"),
        ({"group": 3}, "onnx", (4, 8, 3, 3), ValueError, r"group=3 must divide the input channels \(4\)"),
        (
            {"lhs_dilation": (2, 2), "padding": ((1, 1), (1, 1)), "feature_group_count": 3},
            "jax",
            (4, 2, 3, 3),  # OIHW, conv_general_dilated's default
            ValueError,
            r"feature_group_count=3 must divide the output channels \(4\)",
        ),
        ({"groups": 0}, "torch", (4, 8, 3, 3), ValueError, "groups must be a positive integer, got 0"),
        ({"groups": -1}, "tconv", (4, 8, 3, 3), ValueError, "groups must be a positive integer, got -1"),
        ({"groups": 2.0}, "torch", (4, 8, 3, 3), TypeError, "groups must be an int, got 2.0"),
        ({"group": "2"}, "onnx", (4, 8, 3, 3), TypeError, "group must be an int"),
        ({}, "torch", (4.5, 8, 3, 3), TypeError, r"weight_shape must be a sequence of ints, got \(4.5, 8, 3, 3\)"),
        ({}, "keras", (3.0, 3, 8, 4), TypeError, "weight_shape must be a sequence of ints"),
        ({}, "torch", 4, TypeError, "weight_shape must be a sequence of ints, got 4 of type int"),
        ({}, "tconv", (4, 8), ValueError, r"tconv's conv_transpose needs a spatial axis, got a weight of shape"),
        ({}, "torch", (4,), ValueError, r"weight_shape must have the two channel axes, got \(4,\)"),
        (
            {"strides": (2, 2, 2), "padding": "SAME"},
            "jax",
            (3, 3, 4, 8),
            ValueError,
            r"strides must have one entry per spatial axis \(2\), got 3 entries",
        ),
        ({"strides": (2, 0), "padding": "SAME"}, "jax", (3, 3, 4, 8), ValueError, "strides must be positive"),
        (
            {"lhs_dilation": (2,), "padding": ((1, 1), (1, 1))},
            "jax",
            (3, 3, 4, 8),
            ValueError,
            "lhs_dilation must have one entry per spatial axis",
        ),
    ],
)
def test_bad_parameters_are_refused_in_the_sources_names(params, source, weight_shape, error, phrase):
    for target in ("keras", "torch"):
        with pytest.raises(error, match=phrase):
            translate(params, source, target, weight_shape=weight_shape)


@pytest.mark.parametrize(
    "source, params, weight_shape, input_shape, phrase",
    [
        ("torch", {}, (4, 8, 3, 3), (1, 5, 6, 6), r"input_shape \(1, 5, 6, 6\) has 5 channels in PyTorch's layout"),
        ("torch", {}, (4, 8, 3, 3), (5, 6, 6), "has 5 channels"),  # unbatched
        ("keras", {}, (3, 3, 8, 4), (1, 6, 6, 5), "has 5 channels in Keras's layout|has 5 channels"),
        ("tconv", {"layout": "channels_last"}, (4, 8, 3, 3), (1, 6, 6, 3), "has 3 channels"),
        ("jax", {"padding": "SAME"}, (3, 3, 4, 8), (1, 6, 6, 5), "has 5 channels"),
        ("onnx", {}, (4, 8, 3, 3), (1, 2, 6, 6), "has 2 channels"),
    ],
)
def test_an_input_shape_must_have_the_weights_channels(source, params, weight_shape, input_shape, phrase):
    with pytest.raises(ValueError, match=phrase):
        translate(params, source, "torch", weight_shape=weight_shape, input_shape=input_shape)


@pytest.mark.parametrize("input_shape", [(1, 4.0, 6, 6), "1x4x6x6", (1, -4, 6, 6)])
def test_an_input_shape_must_be_ints(input_shape):
    with pytest.raises((TypeError, ValueError), match="input_shape must be"):
        translate({}, "torch", "keras", weight_shape=(4, 8, 3, 3), input_shape=input_shape)


def test_tensorflows_output_shape_must_keep_the_batch():
    with pytest.raises(ValueError, match="must have the same batch size"):
        translate(
            {"strides": 2, "padding": "SAME", "output_shape": (5, 32, 32, 8)},
            "tensorflow",
            "torch",
            weight_shape=(4, 4, 8, 3),
            input_shape=(1, 16, 16, 3),
        )


@pytest.mark.parametrize("stride", [10**6, 10**9, 10**18])
def test_a_huge_stride_translates_without_a_loop_over_it(stride):
    """Keras' output_padding is solved, not searched in range(stride)."""
    from tconv.frameworks import keras as keras_module

    with no_hang():
        plan = translate({"stride": stride}, "torch", "keras", weight_shape=(4, 8, 3, 3))
        plans = [translate({"stride": stride, "padding": 1}, "torch", t, weight_shape=(4, 8, 3, 3)) for t in TARGETS]
    assert plan.exact and plan.arguments["strides"] == (stride, stride)
    args = plan.arguments
    crops = keras_module._crops(
        args["kernel_size"], args["strides"], args["padding"], args["output_padding"], args["dilation_rate"]
    )
    assert crops == plan.spec.crop == ((0, 0), (0, 0))
    assert all(p.spec.crop == ((1, 1), (1, 1)) for p in plans)


def test_keras_output_padding_is_the_one_a_search_finds():
    """The closed form against the search it replaced (every crop of small kernels and strides)."""
    from tconv.frameworks.keras import _crop, _output_padding_for

    for k_eff in range(1, 10):
        for s in range(1, 8):
            for padding in ("valid", "same"):
                for b in range(-10, 10):
                    for e in range(-10, 10):
                        found = [
                            a
                            for a in range(s)
                            if _crop(k_eff, s, padding, a) == (b, e)
                            and not (padding == "same" and k_eff % 2 == 0 and a == 0)
                        ]
                        assert _output_padding_for(k_eff, s, padding, (b, e)) == (found[0] if found else None)
