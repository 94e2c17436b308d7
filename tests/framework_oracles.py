"""The real frameworks used as oracles by the compat and translation tests, imported once per session.

``tests/conftest.py`` loads this module as a plugin, so every test can ask for these fixtures by name.
TensorFlow, Keras and JAX are forced onto the CPU with quiet logging before they are
imported; JAX gets 64-bit types so that float64 comparisons are exact. Every fixture
goes through ``helpers.oracle``, so a missing framework fails the test (or skips it
with ``--oracles=optional``).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from helpers import oracle

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def tf():
    tensorflow = oracle("tensorflow")
    tensorflow.get_logger().setLevel("ERROR")
    return tensorflow


@pytest.fixture(scope="session")
def keras(tf):
    module = oracle("keras")
    assert module.backend.backend() == "tensorflow", "the Keras oracle runs on its TensorFlow backend"
    return module


@pytest.fixture(scope="session")
def jax():
    module = oracle("jax")
    module.config.update("jax_enable_x64", True)
    module.config.update("jax_platforms", "cpu")
    return module


@pytest.fixture(scope="session")
def lax(jax):
    return jax.lax


@pytest.fixture(scope="session")
def torch():
    return oracle("torch")


@pytest.fixture(scope="session")
def ort():
    module = oracle("onnxruntime")
    module.set_default_logger_severity(4)
    return module


@pytest.fixture(scope="session")
def onnx():
    return oracle("onnx")


def onnx_model(onnx, nd: int, attributes: dict, *, bias: bool, dtype=np.float32):
    """A one-node ``ConvTranspose`` model with inputs X, W (and B) of ``dtype``."""
    helper, tensor_proto = onnx.helper, onnx.TensorProto
    elem = {np.dtype(np.float32): tensor_proto.FLOAT, np.dtype(np.float64): tensor_proto.DOUBLE}[np.dtype(dtype)]
    names = ["X", "W"] + (["B"] if bias else [])
    inputs = [helper.make_tensor_value_info(name, elem, None) for name in names]
    attrs = {k: v for k, v in attributes.items() if v is not None}
    node = helper.make_node("ConvTranspose", names, ["Y"], **attrs)
    graph = helper.make_graph([node], "conv_transpose", inputs, [helper.make_tensor_value_info("Y", elem, None)])
    # IR version 10 / opset 22: what onnxruntime 1.31 loads (onnx 1.23 would write IR 14)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)


def run_ort(ort, model, x, w, b=None):
    """Run a one-node model with onnxruntime's CPU provider."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {"X": x, "W": w}
    if b is not None:
        feeds["B"] = b
    return session.run(None, feeds)[0]


def run_reference(onnx, model, x, w, b=None):
    """Run a one-node model with the onnx reference implementation."""
    from onnx.reference import ReferenceEvaluator

    feeds = {"X": x, "W": w}
    if b is not None:
        feeds["B"] = b
    return ReferenceEvaluator(model).run(None, feeds)[0]
