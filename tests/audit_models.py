"""Real models and real tools for the ``tconv audit`` tests (tests/audit/, tests/cli/test_audit.py).

The models are built with the frameworks themselves and written by their own exporters
(``torch.onnx.export``, Keras's ``model.save``, tf2onnx); ONNX nodes that no exporter here
writes (``auto_pad``, uneven ``pads``) are written with ``onnx.helper``, the ONNX project's
own API. Small on purpose: few channels, small images.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
from helpers import oracle

# --- PyTorch models ------------------------------------------------------------------------------------


def dcgan_generator(torch):
    """The DCGAN generator's up-sampling stack (kernel 4, stride 2, padding 1), with few channels."""
    nn = torch.nn
    return nn.Sequential(
        nn.ConvTranspose2d(8, 16, 4, 1, 0, bias=False),  # 1x1 -> 4x4
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 4, 2, 1, bias=False),  # -> 8x8
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 3, 4, 2, 1, bias=False),  # -> 16x16
        nn.Tanh(),
    ).eval()


def unet_decoder(torch):
    """A U-Net decoder: up-sampling sized to the skip connection (``output_size``), groups, output_padding."""
    nn = torch.nn

    class Decoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up1 = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1)  # sized by output_size
            self.up2 = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, groups=2)
            self.head = nn.ConvTranspose2d(4, 2, 3, stride=1, padding=2, dilation=2)

        def forward(self, x, skip):
            y = self.up1(x, output_size=skip.shape[-2:])
            y = torch.cat([y, skip], dim=1)
            return self.head(self.up2(y))

    return Decoder().eval()


def hifigan_upsampler(torch):
    """HiFi-GAN-style 1-d up-sampling: kernel 2*stride, padding stride/2, then a dilated stride-1 layer."""
    nn = torch.nn
    return nn.Sequential(
        nn.ConvTranspose1d(8, 4, 16, stride=8, padding=4),
        nn.LeakyReLU(0.1),
        nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1),
        nn.LeakyReLU(0.1),
        nn.ConvTranspose1d(2, 2, 3, stride=1, padding=2, dilation=2),
    ).eval()


def export_onnx(torch, module, args, path, *, dynamo=False, dynamic=None, opset=None):
    """``torch.onnx.export`` (the TorchScript exporter unless ``dynamo``), warnings silenced."""
    kwargs = {"dynamo": dynamo}
    if dynamic is not None:
        kwargs["dynamic_axes" if not dynamo else "dynamic_shapes"] = dynamic
    if opset is not None:
        kwargs["opset_version"] = opset
    if dynamo:
        oracle("onnxscript")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), **kwargs)
    return Path(path)


# --- ONNX models written with onnx.helper -----------------------------------------------------------------


def onnx_node_model(onnx, path, x_shape, w, attributes, *, b=None, opset=18, producer=None):
    """A one-node ConvTranspose model with W (and B) as initializers and X of ``x_shape`` (None: open sizes)."""
    helper, numpy_helper, tp = onnx.helper, onnx.numpy_helper, onnx.TensorProto
    names = ["X", "W"] + (["B"] if b is not None else [])
    inits = [numpy_helper.from_array(np.asarray(w, np.float32), "W")]
    if b is not None:
        inits.append(numpy_helper.from_array(np.asarray(b, np.float32), "B"))
    node = helper.make_node("ConvTranspose", names, ["Y"], name="deconv", **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("X", tp.FLOAT, x_shape)],
        [helper.make_tensor_value_info("Y", tp.FLOAT, None)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    if producer:
        model.producer_name, model.producer_version = producer
    onnx.save(model, str(path))
    return Path(path)


def run_onnx(ort, path, feeds):
    """Run an ONNX file with ONNX Runtime's CPU provider: the first output."""
    options = ort.SessionOptions()
    options.log_severity_level = 4
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    if not isinstance(feeds, dict):
        feeds = dict(zip(names, feeds if isinstance(feeds, (list, tuple)) else [feeds]))
    return session.run(None, feeds)[0]


# --- onnx2torch ----------------------------------------------------------------------------------------


def onnx2torch():
    """The real onnx2torch package (see ``helpers._torchvision_stand_in`` for its torchvision)."""
    oracle("torch")
    return oracle("onnx2torch")


# --- Keras ---------------------------------------------------------------------------------------------

#: The Keras layer configurations of the tests: every padding flavour Keras has.
KERAS_LAYERS = {
    "same_k3_s2": dict(filters=3, kernel_size=3, strides=2, padding="same"),
    "same_k4_s2": dict(filters=3, kernel_size=4, strides=2, padding="same"),
    "same_k5_s2": dict(filters=3, kernel_size=(5, 3), strides=2, padding="same"),
    "same_k2_s3": dict(filters=3, kernel_size=2, strides=3, padding="same"),
    "same_k3_s2_op1": dict(filters=3, kernel_size=3, strides=2, padding="same", output_padding=1),
    "same_k4_s2_op0": dict(filters=3, kernel_size=4, strides=2, padding="same", output_padding=0),
    "valid_k3_s2": dict(filters=3, kernel_size=3, strides=2, padding="valid"),
    "valid_k3_s2_op1": dict(filters=3, kernel_size=3, strides=2, padding="valid", output_padding=1),
    "valid_k1_s2": dict(filters=3, kernel_size=1, strides=2, padding="valid"),
    "same_k3_d2": dict(filters=3, kernel_size=3, strides=1, padding="same", dilation_rate=2),
}


def keras_model(keras, config, *, size=(5, 5), channels=2, name="up"):
    """A Functional model around one transposed convolution (its spatial sizes fixed, or None for open)."""
    nd = len(size)
    layer_class = getattr(keras.layers, f"Conv{nd}DTranspose")
    inputs = keras.Input((*size, channels), batch_size=None)
    layer = layer_class(**config, name=name)
    model = keras.Model(inputs, layer(inputs))
    rng = np.random.default_rng(0)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.get_weights()])
    return model


_BACKEND_SCRIPT = """
import json, os, sys
import numpy as np
import keras
paths, out = json.loads(sys.argv[1]), sys.argv[2]
results = {}
for name, (path, x_path) in paths.items():
    model = keras.saving.load_model(path)
    x = np.load(x_path)
    try:
        results[name] = np.asarray(keras.ops.convert_to_numpy(model(x))).tolist()
    except Exception as error:
        results[name] = "fails: " + type(error).__name__ + ": " + str(error).splitlines()[0][:200]
json.dump({"backend": keras.backend.backend(), "version": keras.__version__, "results": results}, open(out, "w"))
"""


def run_keras_backend(backend, models, tmp_path):
    """Run saved ``.keras`` models on another Keras backend in a subprocess: ``{name: output or "fails: ..."}``.

    ``models`` maps a name to ``(path, input array)``.
    """
    paths = {}
    for name, (path, x) in models.items():
        x_path = tmp_path / f"{name}_x.npy"
        np.save(x_path, x)
        paths[name] = (str(path), str(x_path))
    out = tmp_path / f"keras_{backend}.json"
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", _BACKEND_SCRIPT, json.dumps(paths), str(out)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["backend"] == backend
    return {k: (np.asarray(v, np.float32) if not isinstance(v, str) else v) for k, v in data["results"].items()}


#: One-node ONNX cases (1-d, input (1, 2, 4), weight (2, 3, k)): attributes the exporters here do not write.
ONNX_CASES = {
    "same_upper_odd": dict(k=3, attributes=dict(strides=[2], auto_pad="SAME_UPPER")),
    "same_lower_odd": dict(k=3, attributes=dict(strides=[2], auto_pad="SAME_LOWER")),
    "same_upper_even": dict(k=4, attributes=dict(strides=[2], auto_pad="SAME_UPPER")),
    "same_upper_small_kernel": dict(k=1, attributes=dict(strides=[2], auto_pad="SAME_UPPER")),
    "same_lower_small_kernel": dict(k=2, attributes=dict(strides=[3], auto_pad="SAME_LOWER")),
    "same_upper_output_padding": dict(k=3, attributes=dict(strides=[2], auto_pad="SAME_UPPER", output_padding=[1])),
    "same_lower_output_padding_small": dict(
        k=1, attributes=dict(strides=[3], auto_pad="SAME_LOWER", output_padding=[1])
    ),
    "output_shape_smaller": dict(k=3, attributes=dict(strides=[2], output_shape=[8])),
    "output_shape_plus_one": dict(k=3, attributes=dict(strides=[3], output_shape=[13])),
    "output_shape_plus_two": dict(k=3, attributes=dict(strides=[3], output_shape=[14])),
    "output_shape_plus_three": dict(k=3, attributes=dict(strides=[3], output_shape=[15])),
    "output_shape_same_upper": dict(k=3, attributes=dict(strides=[3], auto_pad="SAME_UPPER", output_shape=[13])),
    "pads_uneven": dict(k=3, attributes=dict(strides=[2], pads=[0, 1])),
    "pads_symmetric_output_padding": dict(k=3, attributes=dict(strides=[2], pads=[1, 1], output_padding=[1])),
    "valid_output_padding": dict(k=3, attributes=dict(strides=[2], auto_pad="VALID", output_padding=[1])),
    "group_dilation": dict(k=3, groups=2, attributes=dict(strides=[1], dilations=[2], pads=[2, 2], group=2)),
}

ONNX_INPUT_SHAPE = (1, 2, 4)


def onnx_case(onnx, path, name, *, static=True, opset=18):
    """The ONNX file of case ``name``, with its input, weight and bias arrays."""
    case = ONNX_CASES[name]
    rng = np.random.default_rng(len(name))
    groups = case.get("groups", 1)
    w = rng.standard_normal((2, 3 // groups if groups == 1 else 1, case["k"])).astype(np.float32)
    b = rng.standard_normal(w.shape[1] * groups).astype(np.float32)
    x = rng.standard_normal(ONNX_INPUT_SHAPE).astype(np.float32)
    shape = list(ONNX_INPUT_SHAPE) if static else [1, 2, None]
    onnx_node_model(onnx, path, shape, w, case["attributes"], b=b, opset=opset)
    return path, x, w, b


def keras_outputs(keras, tmp_path, *, size=(5, 5)):
    """Every KERAS_LAYERS model saved as ``.keras`` with its input and its output on the TensorFlow backend.

    ``{name: (path, x, y or the exception)}``; ``size`` None entries leave the model's sizes open
    (the input array is 5 cells per axis).
    """
    rng = np.random.default_rng(1)
    found = {}
    for name, config in KERAS_LAYERS.items():
        model = keras_model(keras, config, size=size)
        path = tmp_path / f"{name}.keras"
        model.save(path)
        x = rng.standard_normal((1, *(s or 5 for s in size), 2)).astype(np.float32)
        try:
            y = np.asarray(model(x))
        except Exception as error:
            y = error
        found[name] = (path, x, y, model)
    return found
