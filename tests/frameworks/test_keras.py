"""tconv.compat.keras against Keras 3: its TensorFlow backend in-process, its JAX backend in a subprocess."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, oracle, run_json_script

from tconv.frameworks import keras as compat


def _tf_backend_rejects(k, s, d, padding, output_padding):
    """Keras' TF backend: "same" with an output_padding and an even k_eff gives (i-1)*s + op, outside TF's SAME
    range."""
    if padding != "same" or output_padding is None:
        return False
    return any((di * (ki - 1) + 1) % 2 == 0 and a == 0 for ki, di, a in zip(k, d, output_padding))


def _configs(count: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        nd = int(rng.choice([1, 2, 2, 3]))
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        dilated = bool(rng.integers(0, 4) == 0)
        s = (1,) * nd if dilated else tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd)) if dilated else (1,) * nd
        padding = str(rng.choice(["valid", "same"]))
        output_padding = None if rng.integers(0, 2) else tuple(int(rng.integers(0, si)) for si in s)
        if _tf_backend_rejects(k, s, d, padding, output_padding):
            continue
        configs.append(
            dict(
                nd=nd,
                k=k,
                s=s,
                d=d,
                padding=padding,
                output_padding=output_padding,
                channels_first=bool(rng.integers(0, 4) == 0),
                use_bias=bool(rng.integers(0, 2)),
                size=tuple(int(v) for v in rng.integers(1, 5 if nd < 3 else 4, nd)),
                c_in=int(rng.integers(1, 4)),
                filters=int(rng.integers(1, 4)),
            )
        )
    return configs


CONFIGS = _configs(40)


def _name(c):
    layout = "cf" if c["channels_first"] else "cl"
    return f"{c['nd']}d-k{c['k']}s{c['s']}d{c['d']}-{c['padding']}-op{c['output_padding']}-{layout}"


@pytest.mark.parametrize("cfg", CONFIGS, ids=_name)
def test_layer_matches_keras(cfg, keras):
    nd = cfg["nd"]
    data_format = "channels_first" if cfg["channels_first"] else "channels_last"
    kwargs = dict(
        strides=cfg["s"],
        padding=cfg["padding"],
        output_padding=cfg["output_padding"],
        data_format=data_format,
        dilation_rate=cfg["d"],
        use_bias=cfg["use_bias"],
    )
    layer = getattr(keras.layers, f"Conv{nd}DTranspose")(cfg["filters"], cfg["k"], **kwargs)
    ours = getattr(compat, f"Conv{nd}DTranspose")(cfg["filters"], cfg["k"], **kwargs)
    rng = np.random.default_rng(0)
    shape = (2, cfg["c_in"], *cfg["size"]) if cfg["channels_first"] else (2, *cfg["size"], cfg["c_in"])
    x = rng.standard_normal(shape).astype(np.float32)
    layer.build(shape)
    kernel = rng.standard_normal(layer.kernel.shape).astype(np.float32)
    bias = rng.standard_normal(cfg["filters"]).astype(np.float32) if cfg["use_bias"] else None
    layer.set_weights([kernel, bias] if cfg["use_bias"] else [kernel])
    expected = np.asarray(layer(x))
    assert ours.kernel_shape(shape) == tuple(layer.kernel.shape)
    assert ours.compute_output_shape(shape) == tuple(layer.compute_output_shape(shape)) == expected.shape
    assert_close(ours(x, kernel, bias), expected, dtype=np.float32)
    assert_close(
        compat.conv_transpose(x, kernel, cfg["s"], cfg["padding"], cfg["output_padding"], data_format, cfg["d"]),
        np.asarray(
            keras.ops.conv_transpose(x, kernel, cfg["s"], cfg["padding"], cfg["output_padding"], data_format, cfg["d"])
        ),
        dtype=np.float32,
    )


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        (
            dict(filters=3, kernel_size=3, strides=2, dilation_rate=2),
            "`strides > 1` not supported in conjunction with `dilation_rate > 1`",
        ),
        (
            dict(filters=3, kernel_size=3, strides=2, output_padding=2),
            "`output_padding` must be strictly less than `strides`",
        ),
        (dict(filters=3, kernel_size=3, padding="full"), "The `padding` argument must be"),
        (dict(filters=0, kernel_size=3), "Expected a strictly positive value"),
        (dict(filters=3, kernel_size=0), "The `kernel_size` argument must be a tuple of 2 integers"),
        (dict(filters=3, kernel_size=3, strides=-1), "The `strides` argument must be a tuple of 2 integers"),
        (dict(filters=3, kernel_size=(3, 3, 3)), "The `kernel_size` argument must be a tuple of 2 integers"),
        (
            dict(filters=3, kernel_size=3, output_padding=-1),
            "The `output_padding` argument must be a tuple of 2 integers",
        ),
        (dict(filters=3, kernel_size=3, dilation_rate=0), "The `dilation_rate` argument must be a tuple of 2 integers"),
        (dict(filters=3, kernel_size=3, data_format="NHWC"), "The `data_format` argument must be one of"),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else "",
)
def test_rejects_what_keras_rejects(kwargs, phrase, keras):
    with pytest.raises(ValueError, match=phrase):
        keras.layers.Conv2DTranspose(**kwargs)
    with pytest.raises(ValueError, match=phrase):
        compat.Conv2DTranspose(**kwargs)


def test_channel_mismatch_is_rejected_as_in_keras(keras):
    x = np.ones((1, 4, 4, 3), np.float32)
    kernel = np.ones((3, 3, 2, 5), np.float32)
    with pytest.raises(ValueError, match="The number of input channels must match the kernel's input channels"):
        keras.ops.conv_transpose(x, kernel, 2)
    with pytest.raises(ValueError, match="The number of input channels must match the kernel's input channels"):
        compat.conv_transpose(x, kernel, 2)


def test_output_padding_none_versus_zero_under_same(keras, tf):
    """docs/frameworks.md ("output_padding=None is not output_padding=0"): k=2, s=2, i=6 gives 12 with
    output_padding=None and 10 with 0 -- on every backend's shape rule; Keras' TF backend then fails to run the
    second (10 is outside TF's SAME range [11, 12])."""
    x = np.random.default_rng(0).standard_normal((1, 6, 6, 1)).astype(np.float32)
    kernel = np.random.default_rng(1).standard_normal((2, 2, 1, 1)).astype(np.float32)
    shapes = {}
    for output_padding in (None, 0):
        layer = keras.layers.Conv2DTranspose(
            1, 2, strides=2, padding="same", output_padding=output_padding, use_bias=False
        )
        layer.build(x.shape)
        layer.set_weights([kernel])
        ours = compat.Conv2DTranspose(1, 2, strides=2, padding="same", output_padding=output_padding, use_bias=False)
        shapes[output_padding] = (tuple(layer.compute_output_shape(x.shape)), ours.compute_output_shape(x.shape))
        if output_padding is None:
            assert_close(ours(x, kernel), np.asarray(layer(x)))
        else:
            with pytest.raises(Exception, match="primitive descriptor|doesn't match computed"):
                layer(x)  # the TF backend cannot run what Keras' shape rule asks for
            assert ours(x, kernel).shape == (1, 10, 10, 1)  # Keras' rule; the JAX backend's values are checked below
    assert shapes[None] == ((1, 12, 12, 1), (1, 12, 12, 1))
    assert shapes[0] == ((1, 10, 10, 1), (1, 10, 10, 1))


JAX_BACKEND_SCRIPT = r"""
import json, os, sys
import numpy as np
import keras
assert keras.backend.backend() == "jax", keras.backend.backend()
cases = json.loads(sys.stdin.read())
results = []
for case in cases:
    x = np.array(case["x"], dtype="float32").reshape(case.get("x_shape", np.shape(case["x"])))
    kernel = np.array(case["kernel"], dtype="float32")
    y = keras.ops.conv_transpose(x, kernel, case["strides"], case["padding"], case["output_padding"],
                                 "channels_last", case["dilation_rate"])
    results.append(dict(shape=list(np.shape(y)), values=np.asarray(y).ravel().tolist()))
print(json.dumps(results))
"""


def test_keras_jax_backend_matches_where_the_tf_backend_cannot_run(tmp_path):
    """Keras' JAX backend (a subprocess: the backend is fixed at import) computes the configurations its TF
    backend rejects -- "same" + output_padding=0 with an even kernel, and dilation with stride > 1 through ops."""
    oracle("jax")
    oracle("keras")
    rng = np.random.default_rng(5)
    cases = []
    for k, s, d, op in [
        (2, 2, 1, 0),
        (4, 2, 1, 0),
        (4, 3, 1, 0),
        (2, 1, 1, 0),
        (3, 2, 2, 1),
        (2, 3, 2, None),
        (3, 1, 2, 0),
    ]:
        x = rng.standard_normal((1, 5, 2)).astype(np.float32)
        kernel = rng.standard_normal((k, 3, 2)).astype(np.float32)
        cases.append(
            dict(x=x.tolist(), kernel=kernel.tolist(), strides=s, padding="same", output_padding=op, dilation_rate=d)
        )
    for k, s, op in [(4, 2, 0), (1, 3, 0)]:  # an empty input with a negative size formula: the TF backend aborts
        kernel = rng.standard_normal((k, 3, 2)).astype(np.float32)
        case = dict(x=[], x_shape=[1, 0, 2], kernel=kernel.tolist(), strides=s, padding="same", output_padding=op)
        cases.append(dict(case, dilation_rate=1))
    outputs = run_json_script(
        JAX_BACKEND_SCRIPT, cases, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3"
    )
    for case, expected in zip(cases, outputs):
        ours = compat.conv_transpose(
            np.array(case["x"], np.float32).reshape(case.get("x_shape", np.shape(case["x"]))),
            np.array(case["kernel"], np.float32),
            case["strides"],
            "same",
            case["output_padding"],
            "channels_last",
            case["dilation_rate"],
        )
        assert_close(ours, np.reshape(np.array(expected["values"], np.float32), expected["shape"]), dtype=np.float32)


@pytest.mark.parametrize(
    "input_shape, data_format, padding, output_padding",
    [
        ((None, None, None, 3), "channels_last", "valid", None),
        ((None, None, 5, 3), "channels_last", "same", None),
        ((2, None, 5, 3), "channels_last", "same", 1),
        ((None, 3, None, 4), "channels_first", "valid", None),
        ((None, 3, 4, None), "channels_first", "valid", 1),
    ],
)
def test_compute_output_shape_keeps_unknown_sizes(input_shape, data_format, padding, output_padding, keras):
    kwargs = dict(strides=2, padding=padding, output_padding=output_padding, data_format=data_format)
    expected = keras.layers.Conv2DTranspose(8, 3, **kwargs).compute_output_shape(input_shape)
    assert compat.Conv2DTranspose(8, 3, **kwargs).compute_output_shape(input_shape) == tuple(expected)


# (kernel, strides, padding, output_padding): configurations whose output on an empty input is not negative
EMPTY_INPUT = [(3, 2, "valid", None), (1, 2, "valid", None), (3, 1, "valid", None), (3, 2, "valid", 1)]
EMPTY_INPUT += [(3, 2, "same", None), (3, 2, "same", 1), (1, 3, "same", 2), (5, 2, "valid", 1)]


@pytest.mark.parametrize("k, s, padding, output_padding", EMPTY_INPUT)
def test_empty_input_gives_the_bias_at_keras_size(k, s, padding, output_padding, keras):
    """Keras (TensorFlow backend) returns the bias at its output size for an input with an empty axis."""
    kwargs = dict(strides=s, padding=padding, output_padding=output_padding)
    layer = keras.layers.Conv1DTranspose(2, k, **kwargs)
    layer.build((1, 0, 3))
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((k, 2, 3)).astype(np.float32)
    bias = np.array([1.5, -2.0], np.float32)
    layer.set_weights([kernel, bias])
    x = np.zeros((1, 0, 3), np.float32)
    expected = np.asarray(layer(x))
    ours = compat.Conv1DTranspose(2, k, **kwargs)
    assert ours.compute_output_shape(x.shape) == tuple(layer.compute_output_shape(x.shape)) == expected.shape
    assert_close(ours(x, kernel, bias), expected, dtype=np.float32)


PLAN_SCRIPT = r"""
import json, sys
import numpy as np
import tconv
from tconv.audit._verify import _translated
results = []
for case in json.loads(sys.stdin.read()):
    params = {key: tuple(v) if isinstance(v, list) else v for key, v in case["params"].items()}
    plan = tconv.translate(params, "torch", case["target"], weight_shape=tuple(case["w_shape"]))
    x = np.array(case["x"], "float32").reshape(case["x_shape"])
    w = np.array(case["w"], "float32").reshape(case["w_shape"])
    y = _translated(case["target"], plan, x, w, np.array(case["b"], "float32"))  # the audit's own runner
    results.append(dict(shape=list(y.shape), values=np.asarray(y).ravel().tolist()))
print(json.dumps(results))
"""


@pytest.mark.parametrize("target", ["keras", "tensorflow"])
def test_dilated_plans_run_on_tensorflows_own_cpu_kernels(target):
    """tconv's Keras and TensorFlow plans of dilated layers run where TensorFlow's CPU kernels reject a
    dilation (oneDNN off: TF_ENABLE_ONEDNN_OPTS=0, in a subprocess; TensorFlow turns oneDNN on by itself
    only on CPUs with AVX-512 VNNI/BF16 or AMX): the plans write the dilation into the kernel. (The Keras
    plan of a stride-1 dilated layer kept dilation_rate and failed on an AMD EPYC without AVX-512:
    "Current CPU implementations do not yet support dilation rates larger than 1".)"""
    import tconv

    oracle(target)
    rng = np.random.default_rng(7)
    cases, expected = [], []
    for in_shape, w_shape, params in [
        ((1, 4, 9, 9), (4, 2, 3, 3), dict(stride=1, padding=2, dilation=2)),
        ((2, 4, 7, 6), (4, 3, 3, 2), dict(stride=2, padding=1, dilation=(2, 3), output_padding=1)),
        ((1, 4, 8, 8), (4, 1, 3, 3), dict(stride=1, dilation=3, groups=2)),
        ((2, 3, 20), (3, 2, 4), dict(stride=1, padding=3, dilation=2)),
    ]:
        x = rng.standard_normal(in_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        b = rng.standard_normal(w_shape[1] * params.get("groups", 1)).astype(np.float32)
        assert (
            "dilation is written into the kernel"
            in tconv.translate(params, "torch", target, weight_shape=w_shape).to_code()
        )
        cases.append(
            dict(
                target=target,
                params=params,
                x=x.ravel().tolist(),
                x_shape=list(in_shape),
                w=w.ravel().tolist(),
                w_shape=list(w_shape),
                b=b.tolist(),
            )
        )
        expected.append(tconv.conv_transpose(x, w, b, **params))
    outputs = run_json_script(
        PLAN_SCRIPT,
        cases,
        TF_ENABLE_ONEDNN_OPTS="0",
        TF_CPP_MIN_LOG_LEVEL="3",
        CUDA_VISIBLE_DEVICES="",
        KERAS_BACKEND="tensorflow",
    )
    for want, got in zip(expected, outputs):
        assert_close(np.array(got["values"], np.float32).reshape(got["shape"]), want, dtype=np.float32)
