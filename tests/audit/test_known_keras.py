"""The Keras table (tconv.audit.known.keras) against Keras 3 itself, on all three of its backends.

The TensorFlow backend runs in this process; the JAX and torch backends run the same saved
``.keras`` files in subprocesses. The torch backend before 3.15.0 is reproduced with the helper
that backend called, ``compute_conv_transpose_padding_args_for_torch``, which Keras 3.15.1 still
ships unchanged, run with PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest
from audit_models import KERAS_LAYERS, keras_outputs, run_keras_backend
from helpers import assert_close

import tconv.audit
from tconv.audit.known.keras import legacy_torch_arguments


@pytest.fixture(scope="module")
def models(keras, tmp_path_factory):
    return keras_outputs(keras, tmp_path_factory.mktemp("keras"))


@pytest.fixture(scope="module")
def backends(models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("backends")
    inputs = {name: (path, x) for name, (path, x, _, _) in models.items()}
    return {backend: run_keras_backend(backend, inputs, tmp) for backend in ("jax", "torch")}


def _findings(path, versions=None):
    (layer,) = tconv.audit.audit(path, targets=["keras"], versions=versions).layers
    return {f.issue.key for f in layer.findings}, layer


@pytest.mark.parametrize("name", sorted(KERAS_LAYERS))
def test_the_legacy_torch_mapping(name, models, backends, keras, torch):
    from keras.src.backend.common.backend_utils import compute_conv_transpose_padding_args_for_torch

    path, x, _, model = models[name]
    config = KERAS_LAYERS[name]
    kernel = model.get_layer("up").get_weights()[0]
    padding, output_padding = compute_conv_transpose_padding_args_for_torch(
        input_shape=x.shape,
        kernel_shape=kernel.shape,
        strides=config["strides"],
        padding=config["padding"],
        output_padding=config.get("output_padding"),
        dilation_rate=config.get("dilation_rate", 1),
    )
    ours = [
        legacy_torch_arguments(
            k,
            model.get_layer("up").strides[a],
            model.get_layer("up").dilation_rate[a],
            config["padding"],
            config.get("output_padding"),
        )
        for a, k in enumerate(kernel.shape[:2])
    ]
    assert [p for p, _ in ours] == list(padding) and [a for _, a in ours] == list(output_padding)
    layer = model.get_layer("up")
    with torch.no_grad():
        y = torch.nn.functional.conv_transpose2d(
            torch.from_numpy(np.moveaxis(x, -1, 1).copy()),
            torch.from_numpy(np.transpose(kernel, (3, 2, 0, 1)).copy()),
            torch.from_numpy(layer.get_weights()[1]),
            stride=layer.strides,
            padding=padding,
            output_padding=output_padding,
            dilation=layer.dilation_rate,
        ).numpy()
    legacy = np.moveaxis(y, 1, -1)
    keras_window = backends["jax"][name]  # Keras's window, on a backend that computes every one of them
    differs = legacy.shape != keras_window.shape or not np.allclose(legacy, keras_window, atol=1e-4)
    old, _ = _findings(path, {"keras": "3.14.1"})
    assert differs == ("keras-torch-backend-shift" in old), (name, legacy.shape, keras_window.shape)
    new, _ = _findings(path)  # the installed Keras has the fix
    assert "keras-torch-backend-shift" not in new


@pytest.mark.parametrize("name", sorted(KERAS_LAYERS))
def test_same_with_an_even_kernel_and_zero_output_padding(name, models, backends):
    path, x, y_tf, _ = models[name]
    found, layer = _findings(path)
    assert isinstance(y_tf, Exception) == ("keras-tensorflow-same-even-kernel" in found), (name, y_tf)
    for backend, outputs in backends.items():  # the JAX and torch backends compute Keras's window, always
        assert not isinstance(outputs[name], str), (backend, outputs[name])
        assert outputs[name].shape[1:-1] == layer.output_size
        if not isinstance(y_tf, Exception):
            assert_close(outputs[name], y_tf, rtol=1e-4, atol=1e-4)
        assert_close(outputs[name], backends["jax"][name], rtol=1e-4, atol=1e-4)
