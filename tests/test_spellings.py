"""The explorer's framework spellings, run verbatim in each framework and compared with tconv.

Every ``code`` string of :func:`tconv.frameworks._spellings.framework_spellings` is evaluated
(``eval``) with ``x`` and ``w`` bound in that framework's terms, so what the page shows
a person is what is checked.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, oracle

import tconv
from tconv.frameworks._spellings import framework_spellings
from tconv.weights import dilate_weight

# (input_size, kernel_size, stride, padding, output_padding, dilation)
CONFIGS = [
    ((2, 2), (3, 3), 2, 0, 0, 1),  # seed 004
    ((4,), (3,), 2, "same", 0, 1),  # odd crop: PyTorch needs a slice
    ((3, 3), (3, 3), 2, 1, 1, 1),  # the common 2x up-sampler: TF explicit pads, Keras cropping
    ((3, 4), (4, 4), 2, 1, 0, 1),  # DCGAN k4 s2 p1
    ((3,), (2,), 3, "same", 0, 1),  # k_eff < s: SAME with zeros at the end
    ((4,), (3,), 1, 1, 2, 3),  # output_padding >= stride (< dilation)
    ((3, 2), (3, 2), (2, 1), "valid", 0, (2, 1)),  # dilation in one axis
    ((3,), (5,), 2, 2, 1, 1),
]
IDS = [f"i{c[0]}-k{c[1]}-s{c[2]}-p{c[3]}-op{c[4]}-d{c[5]}" for c in CONFIGS]


def _data(config, c_in=2, c_out=3):
    i, k = config[0], config[1]
    rng = np.random.default_rng(len(i) * 10 + k[0])
    x = rng.standard_normal((1, c_in, *i)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *k)).astype(np.float32)
    y = tconv.conv_transpose(x, w, None, *config[2:4], config[4], 1, config[5])
    return x, w, y


def _spell(config):
    return framework_spellings(*config[:2], *config[2:], in_channels=2, out_channels=3)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_pytorch(config):
    torch = oracle("torch")
    x, w, y = _data(config)
    code = _spell(config)["pytorch"]["code"]
    out = eval(code, {"torch": torch, "x": torch.from_numpy(x), "w": torch.from_numpy(w)})  # noqa: S307
    assert_close(out.numpy(), y, dtype=np.float32)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_jax(config):
    jax = oracle("jax")
    jnp = jax.numpy
    x, w, y = _data(config)
    code = _spell(config)["jax"]["code"]
    out = eval(code, {"jax": jax, "jnp": jnp, "x": np.moveaxis(x, 1, -1), "w": w})  # noqa: S307
    assert_close(np.moveaxis(np.asarray(out), -1, 1), y, dtype=np.float32)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_tensorflow(config):
    tf = oracle("tensorflow")
    x, w, y = _data(config)
    spelled = _spell(config)["tensorflow"]
    if max(np.broadcast_to(config[5], (len(config[0]),))) > 1:
        assert "reject dilation > 1" in spelled["note"]  # said, and not run: TF's CPU kernels refuse it
        return
    out = eval(spelled["code"], {"tf": tf, "x": np.moveaxis(x, 1, -1), "w": w})  # noqa: S307
    assert_close(np.moveaxis(np.asarray(out), -1, 1), y, dtype=np.float32)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_keras(config):
    oracle("tensorflow")
    keras = oracle("keras")
    x, w, y = _data(config)
    spelled = _spell(config)["keras"]
    s = np.broadcast_to(config[2], (len(config[0]),))
    d = np.broadcast_to(config[5], (len(config[0]),))
    if max(s) > 1 and max(d) > 1:  # Keras forbids it: the spelling writes the dilation into the kernel
        assert "write the dilation into the kernel" in spelled["note"]
        w = dilate_weight(w, tuple(int(v) for v in d))
    layers = [eval(part, {"keras": keras}) for part in spelled["code"].split(", then ")]  # noqa: S307
    out = np.moveaxis(x, 1, -1)
    perm = (*range(2, w.ndim), 1, 0)
    for n, layer in enumerate(layers):
        if n == 0:
            layer.build(out.shape)
            layer.set_weights([np.transpose(w, perm)])
        out = layer(out)
    assert_close(np.moveaxis(np.asarray(out), -1, 1), y, dtype=np.float32)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_onnx(config):
    onnx = oracle("onnx")
    ort = oracle("onnxruntime")
    from onnx import TensorProto, helper

    x, w, y = _data(config)
    args = _spell(config)["onnx"]["args"]
    nd = len(config[0])
    node = helper.make_node(
        "ConvTranspose",
        ["X", "W"],
        ["Y"],
        kernel_shape=list(config[1]),
        strides=list(np.broadcast_to(config[2], (nd,))),
        pads=list(args["pads"]),
        output_padding=list(args["output_padding"]),
        dilations=list(np.broadcast_to(config[5], (nd,))),
        group=1,
    )
    graph = helper.make_graph(
        [node],
        "t",
        [
            helper.make_tensor_value_info("X", TensorProto.FLOAT, x.shape),
            helper.make_tensor_value_info("W", TensorProto.FLOAT, w.shape),
        ],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [None] * y.ndim)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = session.run(None, {"X": x, "W": w})[0]
    out = np.pad(out, [(0, 0), (0, 0), *((0, a) for a in args["pad_after"])])  # the spelled Pad node
    assert_close(out, y, dtype=np.float32)
    assert "ConvTranspose(X, W," in _spell(config)["onnx"]["code"]


def test_exactness_flags():
    assert framework_spellings((4,), (3,), 2, "same")["pytorch"]["exact"] is False  # T = 1 is odd
    assert framework_spellings((4,), (4,), 2, "same")["pytorch"]["exact"] is True  # T = 2: p = 1
    assert framework_spellings((3, 3), (3, 3), 2, 1, 1)["keras"]["exact"] is False
    # Keras 'same' with an explicit output_padding expresses this window exactly (as tconv.translate finds)
    assert framework_spellings((3,), (3,), 2, 1)["keras"]["code"].count("padding='same', output_padding=(0,)") == 1


def test_pairs_are_refused():
    with pytest.raises(ValueError, match="framework_spellings takes padding as an int"):
        framework_spellings((4,), (3,), 2, ((1, 0),))


def test_agrees_with_translate():
    """Over a grid of the page's configurations, each framework's spelling is exact exactly when
    tconv.translate's plan for that framework is (translate is the verified authority)."""
    import itertools

    import tconv

    targets = {"pytorch": "torch", "tensorflow": "tensorflow", "keras": "keras", "jax": "jax", "onnx": "onnx"}
    checked = 0
    for nd, i, k, s, padding, op, d in itertools.product(
        (1, 2), (3, 4), (1, 2, 3, 4), (1, 2, 3), (0, 1, 2, "same", "valid"), (0, 1), (1, 2)
    ):
        if op >= max(s, d) or (padding == "same" and op):
            continue
        try:
            spelled = framework_spellings((i,) * nd, (k,) * nd, s, padding, op, d)
        except ValueError:
            continue
        for name, target in targets.items():
            plan = tconv.translate(
                {"stride": s, "padding": padding, "output_padding": op, "dilation": d},
                source="tconv",
                target=target,
                weight_shape=(1, 1) + (k,) * nd,
                input_shape=(1, 1) + (i,) * nd,
            )
            assert spelled[name]["exact"] == plan.exact, (name, nd, i, k, s, padding, op, d)
        checked += 1
    assert checked > 700
