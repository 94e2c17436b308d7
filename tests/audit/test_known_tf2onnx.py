"""The tf2onnx table (tconv.audit.known.tf2onnx) against the real tf2onnx and ONNX Runtime.

Keras models with fixed and with open spatial sizes, in every padding flavour, are saved as
``.keras`` (what the audit reads), converted with ``tf2onnx.convert.from_keras`` and run in
ONNX Runtime: an entry that says ``fails`` must be a model ONNX Runtime refuses, and no entry
must mean the converted model computes exactly Keras's output. The ``output_shape`` path is
taken by a TensorFlow function with open input sizes and a constant output shape.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from audit_models import KERAS_LAYERS, keras_outputs, run_onnx
from helpers import assert_close, oracle

import tconv.audit

# the TensorFlow backend itself refuses this layer (tests/audit/test_known_keras.py): nothing to convert
CONVERTIBLE = sorted(name for name in KERAS_LAYERS if name != "same_k4_s2_op0")


@pytest.fixture(scope="module")
def tf2onnx(tf):
    return oracle("tf2onnx")


@pytest.fixture(scope="module", params=["static", "open"])
def models(request, keras, tmp_path_factory):
    size = (5, 5) if request.param == "static" else (None, None)
    return keras_outputs(keras, tmp_path_factory.mktemp(request.param), size=size)


def _convert(tf2onnx, model, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onnx_model, _ = tf2onnx.convert.from_keras(model, opset=18, output_path=str(path))
    return path


@pytest.mark.parametrize("name", CONVERTIBLE)
def test_keras_models_through_tf2onnx(name, models, tf2onnx, ort, tmp_path):
    path, x, y, model = models[name]
    (layer,) = tconv.audit.audit(path, targets=["tf2onnx"]).layers
    effects = {f.issue.effect for f in layer.findings}
    onnx_path = _convert(tf2onnx, model, tmp_path / "m.onnx")
    try:
        got = run_onnx(ort, onnx_path, x)
    except Exception as error:
        got = error
    if "fails" in effects:
        assert isinstance(got, Exception) and "pads" in str(got), (name, got)
        return
    assert not isinstance(got, Exception), (name, got)
    if "differs" in effects:  # the appended cells: 0 in ONNX, the bias in Keras
        assert got.shape == y.shape and not np.allclose(got, y, atol=1e-4), name
        assert_close(got, y - np.where(np.isclose(got, 0), model.get_layer("up").get_weights()[1], 0), atol=1e-4)
    else:
        assert_close(got, y, rtol=1e-4, atol=1e-4)


OUTPUT_SHAPES = [([1, 10, 10, 4], "SAME"), ([1, 9, 9, 4], "SAME"), ([1, 11, 11, 4], "VALID"), ([1, 12, 12, 4], "VALID")]


@pytest.mark.parametrize("output_shape, padding", OUTPUT_SHAPES)
def test_output_shape_path(output_shape, padding, tf, tf2onnx, ort, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 5, 5, 2)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)

    @tf.function
    def up(inputs):
        return tf.nn.conv2d_transpose(inputs, w, output_shape, 2, padding=padding)

    signature = [tf.TensorSpec((1, None, None, 2), tf.float32, name="x")]
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tf2onnx.convert.from_function(up, input_signature=signature, opset=18, output_path=str(path))
    report = tconv.audit.audit(path, input_shape=(1, 5, 5, 2), targets=["tf2onnx"])
    (layer,) = report.layers
    assert "output_shape" in layer.layer.params and layer.layer.context["producer"] == "tf2onnx"
    got, expected = run_onnx(ort, path, x), up(x).numpy()
    differs = not np.allclose(got, expected, atol=1e-4)
    assert differs == any(f.issue.key == "tf2onnx-output-shape" for f in layer.findings), (output_shape, padding)
