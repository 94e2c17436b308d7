"""tconv.compat.onnx against ONNX Runtime, the onnx reference implementation and the conformance cases."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from framework_oracles import onnx_model, run_ort, run_reference
from helpers import assert_close, oracle

from tconv.frameworks import onnx as compat


def _configs(count: int, seed: int = 9):
    """Random ConvTranspose attribute sets over ONNX Runtime's domain (ORT accepts all of them)."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        nd = int(rng.choice([1, 2, 2, 3]))
        group = int(rng.choice([1, 1, 2, 3]))
        k = [int(v) for v in rng.integers(1, 5, nd)]
        s = [int(v) for v in rng.integers(1, 4, nd)]
        d = [int(v) for v in rng.integers(1, 3, nd)]
        size = [int(v) for v in rng.integers(1, 5 if nd < 3 else 4, nd)]
        op = [int(rng.integers(0, si)) for si in s] if rng.integers(0, 2) else None
        a = op or [0] * nd
        natural = [(i - 1) * si + ai + di * (ki - 1) + 1 for i, si, ai, di, ki in zip(size, s, a, d, k)]
        auto_pad = str(rng.choice(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
        pads = output_shape = None
        kind = str(rng.choice(["plain", "output_shape"]))
        if kind == "output_shape":  # ORT's valid range: anything below natural, or up to natural + s - 1 - op above it
            output_shape = [int(rng.integers(1, n + si - ai)) for n, si, ai in zip(natural, s, a)]
        elif auto_pad == "NOTSET" and rng.integers(0, 3):
            pads = [int(v) for v in rng.integers(-1, 3, 2 * nd)]
            if any(n - b - e < 1 for n, b, e in zip(natural, pads[:nd], pads[nd:])):
                continue
        configs.append(
            dict(
                nd=nd,
                k=k,
                group=group,
                c_in=group * int(rng.integers(1, 3)),
                m_g=int(rng.integers(1, 3)),
                bias=bool(rng.integers(0, 2)),
                n=int(rng.integers(1, 3)),
                size=size,
                attrs=dict(
                    kernel_shape=k if rng.integers(0, 2) else None,
                    strides=s,
                    dilations=d,
                    output_padding=op,
                    auto_pad=auto_pad,
                    pads=pads,
                    output_shape=output_shape,
                    group=group,
                ),
            )
        )
    return configs


CONFIGS = _configs(100)


def _arrays(cfg, seed=0):
    rng = np.random.default_rng(seed)
    kernel = cfg["k"]
    x = rng.standard_normal((cfg["n"], cfg["c_in"], *cfg["size"])).astype(np.float32)
    w = rng.standard_normal((cfg["c_in"], cfg["m_g"], *kernel)).astype(np.float32)
    b = rng.standard_normal(cfg["m_g"] * cfg["group"]).astype(np.float32) if cfg["bias"] else None
    return x, w, b


def _name(cfg):
    a = cfg["attrs"]
    extra = "os" if a["output_shape"] else ("pads" if a["pads"] else "")
    return (
        f"{cfg['nd']}d-{a['auto_pad']}{extra}-s{a['strides']}d{a['dilations']}op{a['output_padding']}-g{cfg['group']}"
    )


def _compat_attributes(attrs):
    return {key: value for key, value in attrs.items() if key != "group" and value is not None}


@pytest.mark.parametrize("cfg", CONFIGS, ids=_name)
def test_matches_onnxruntime(cfg, onnx, ort):
    x, w, b = _arrays(cfg)
    attrs = cfg["attrs"]
    model = onnx_model(onnx, cfg["nd"], attrs, bias=b is not None)
    kwargs = _compat_attributes(attrs)
    try:
        expected = run_ort(ort, model, x, w, b)
    except Exception as error:  # ORT rejects: so must the onnxruntime semantics, with ORT's reason
        reason = str(error).split("Status Message: ")[-1][:45]
        with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
            compat.conv_transpose(x, w, b, group=cfg["group"], semantics="onnxruntime", **kwargs)
        return
    ours = compat.conv_transpose(x, w, b, group=cfg["group"], semantics="onnxruntime", **kwargs)
    assert_close(ours, expected, dtype=np.float32)


def _reference_is_correct(cfg, w):
    """Where onnx.reference is right (docs/frameworks.md, "the specification versus ONNX Runtime"): groups only
    with one channel per group and no bias, no output_shape below the natural size, output_padding < stride,
    non-negative pads."""
    a = cfg["attrs"]
    if cfg["group"] > 1 and (cfg["c_in"] // cfg["group"] > 1 or cfg["m_g"] > 1 or cfg["bias"]):
        return False
    if a["pads"] and min(a["pads"]) < 0:
        return False
    if a["output_shape"] is not None:
        k_eff = [di * (ki - 1) + 1 for ki, di in zip(w.shape[2:], a["dilations"])]
        ops = a["output_padding"] or [0] * cfg["nd"]
        natural = [(i - 1) * s + o + ke for i, s, o, ke in zip(cfg["size"], a["strides"], ops, k_eff)]
        if any(o < n for o, n in zip(a["output_shape"], natural)) or a["auto_pad"] == "NOTSET":
            return False
    return True


REFERENCE = [c for c in CONFIGS if _reference_is_correct(c, _arrays(c)[1])]


@pytest.mark.parametrize("cfg", REFERENCE, ids=_name)
def test_spec_semantics_match_the_reference_implementation(cfg, onnx):
    x, w, b = _arrays(cfg)
    attrs = cfg["attrs"]
    model = onnx_model(onnx, cfg["nd"], attrs, bias=b is not None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = run_reference(onnx, model, x, w, b)
    ours = compat.conv_transpose(x, w, b, group=cfg["group"], semantics="spec", **_compat_attributes(attrs))
    assert_close(ours, expected, dtype=np.float32)


def test_the_reference_domain_is_not_empty():
    assert len(REFERENCE) >= 25


def _conformance_cases():
    try:
        import onnx.backend.test.case.node as node
    except ImportError:
        return [None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return node.collect_testcases("ConvTranspose")


@pytest.mark.parametrize("case", _conformance_cases(), ids=lambda c: getattr(c, "name", "onnx-missing"))
@pytest.mark.parametrize("semantics", compat.SEMANTICS)
def test_conformance_cases(case, semantics):
    onnx = oracle("onnx")
    node = case.model.graph.node[0]
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    attributes = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attributes.items()}
    group = attributes.pop("group", 1)
    ((inputs, outputs),) = case.data_sets
    y = compat.conv_transpose(*inputs, group=group, semantics=semantics, **attributes)
    assert_close(y, outputs[0], dtype=outputs[0].dtype)


# (attributes, ORT's reason) -- rejected by ONNX Runtime and by semantics="onnxruntime"
ORT_ERRORS = [
    (dict(strides=[2], output_padding=[2]), "must be less than max(stride, dilation)"),
    (dict(strides=[1], dilations=[3], output_padding=[2]), "may be too large for stride"),
    (dict(strides=[2], output_shape=[9]), "Explicit output_shape is inconsistent"),
    (dict(strides=[2], pads=[1, 1], auto_pad="SAME_UPPER"), "pads"),
    (dict(strides=[2], pads=[4, 4]), "Computed output dimension is <= 0"),
    (dict(strides=[2], output_shape=[6, 6]), "output_shape attribute has 2 elements"),
    (dict(strides=[2], kernel_shape=[2]), "kernel_shape is not compatible with W shape"),
    (dict(group=0), "group count is <= 0"),
    (dict(dilations=[1, 1]), "dilations size"),
    (dict(pads=[1]), "pads size"),
    (dict(auto_pad="FOO"), "AutoPadType"),
    (dict(output_padding=[-1]), "Output padding must be non-negative"),
]


@pytest.mark.parametrize("attrs, phrase", ORT_ERRORS, ids=[e[1][:40] for e in ORT_ERRORS])
def test_rejects_what_onnxruntime_rejects(attrs, phrase, onnx, ort):
    x = np.array([[[1.0, 2.0, 3.0]]], np.float32)
    w = np.array([[[1.0, 10.0, 100.0]]], np.float32)
    model = onnx_model(onnx, 1, attrs, bias=False)
    with pytest.raises(Exception, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        run_ort(ort, model, x, w)
    group = attrs.pop("group", 1)
    with pytest.raises(ValueError, match=phrase.replace("(", r"\(").replace(")", r"\)")):
        compat.conv_transpose(x, w, group=group, semantics="onnxruntime", **attrs)


@pytest.mark.parametrize(
    "x_shape, w_shape, bias, phrase",
    [
        ((2, 4, 3), (3, 3, 2), None, "filter number not equal to input channel number"),
        ((2, 4, 3), (4, 3, 2), 4, "Bias shape is not compatible with number of output channels"),
        ((1, 3), (1, 1, 3), None, "Input X must have at least 3 dimensions"),
        ((1, 1, 3), (1, 1, 1, 3), None, "X num_dims does not match W num_dims"),
        ((1, 1, 3), (), None, r"Filter W must have at least 3 dimensions \(C x M/group x k1...kn\)"),
        ((1, 1, 3), (1, 1), None, "Filter W must have at least 3 dimensions"),
    ],
)
def test_array_checks_match_onnxruntime(x_shape, w_shape, bias, phrase, onnx, ort):
    x = np.ones(x_shape, np.float32)
    w = np.ones(w_shape, np.float32)
    b = None if bias is None else np.ones(bias, np.float32)
    model = onnx_model(onnx, max(len(x_shape) - 2, 1), dict(strides=None), bias=b is not None)
    with pytest.raises(Exception, match=phrase):
        run_ort(ort, model, x, w, b)
    with pytest.raises(ValueError, match=phrase):
        compat.conv_transpose(x, w, b, semantics="onnxruntime")


def test_group_divisibility_matches_onnxruntime(onnx, ort):
    x, w = np.ones((2, 4, 3), np.float32), np.ones((4, 3, 2), np.float32)
    with pytest.raises(Exception, match="Input channels is not divisible by group"):
        run_ort(ort, onnx_model(onnx, 1, dict(group=3), bias=False), x, w)
    with pytest.raises(ValueError, match="Input channels is not divisible by group"):
        compat.conv_transpose(x, w, group=3)


def test_spec_rejects_what_the_spec_forbids():
    x, w = np.ones((1, 1, 3)), np.ones((1, 1, 3))
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        compat.conv_transpose(x, w, pads=[-1, 0])
    with pytest.raises(ValueError, match="cannot be used simultaneously with auto_pad"):
        compat.conv_transpose(x, w, pads=[1, 1], auto_pad="SAME_LOWER")
    with pytest.raises(ValueError, match="should not include|spatial sizes only"):
        compat.conv_transpose(x, w, output_shape=[1, 1, 5])
    with pytest.raises(ValueError, match="semantics must be one of"):
        compat.conv_transpose(x, w, semantics="ort")


# attributes of ConvTranspose on an input with an empty spatial axis (W has 3 taps)
EMPTY_INPUT = [
    dict(strides=[2]),  # one cell: the bias
    dict(strides=[1]),
    dict(strides=[2], pads=[1, 1]),  # the formula gives -1
    dict(strides=[3]),  # the formula gives 0
    dict(strides=[2], pads=[0, 1]),
    dict(strides=[2], auto_pad="SAME_UPPER"),
    dict(strides=[2], auto_pad="VALID"),
    dict(strides=[2], output_padding=[1]),  # ORT: the forward convolution maps the output back to one cell
    dict(strides=[2], output_shape=[3]),
    dict(strides=[1], dilations=[2]),
]


@pytest.mark.parametrize("attrs", EMPTY_INPUT, ids=[str(a) for a in EMPTY_INPUT])
def test_empty_input_matches_onnxruntime(attrs, onnx, ort):
    """ONNX Runtime computes an empty input's output (the bias) when its size is positive, else says why."""
    x = np.zeros((1, 2, 0), np.float32)
    w = np.random.default_rng(0).standard_normal((2, 3, 3)).astype(np.float32)
    b = np.array([1.5, -2.0, 0.5], np.float32)
    try:
        expected = run_ort(ort, onnx_model(onnx, 1, attrs, bias=True), x, w, b)
    except Exception as error:  # onnxruntime's own exception types
        reason = str(error).split("Status Message: ")[-1].split(".")[0]
        with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)")[:40]):
            compat.conv_transpose(x, w, b, semantics="onnxruntime", **attrs)
    else:
        assert_close(compat.conv_transpose(x, w, b, semantics="onnxruntime", **attrs), expected)


@pytest.mark.parametrize("attrs", EMPTY_INPUT[:5], ids=[str(a) for a in EMPTY_INPUT[:5]])
def test_empty_input_follows_the_specs_formula(attrs):
    """The spec's size formula is linear in the input size: an empty axis is a one-cell axis less one stride (the
    reference implementation fails on empty inputs with a reshape error: there is no other oracle)."""
    w = np.ones((2, 3, 3))
    b = np.array([1.5, -2.0, 0.5])
    one = compat.output_size((1,), (3,), **attrs)[0]
    size = one - attrs["strides"][0]
    if size < 1:
        with pytest.raises(ValueError, match="Computed output dimension is <= 0"):
            compat.conv_transpose(np.zeros((1, 2, 0)), w, b, **attrs)
    else:
        y = compat.conv_transpose(np.zeros((1, 2, 0)), w, b, **attrs)
        np.testing.assert_array_equal(y, np.broadcast_to(b.reshape(1, 3, 1), (1, 3, size)))
