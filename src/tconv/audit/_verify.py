"""``verify``: run each audited layer, with the model's own weights, through the installed runtimes.

For every layer, one random input (float32, the layer's input shape, or 8 cells per
spatial axis when the model leaves it open) goes through

- tconv: the layer's own semantics (:meth:`tconv.translation.TranslationPlan.apply`
  into tconv), the reference every other result is compared with;
- the layer's own runtime: ONNX Runtime on a one-node model with the node's exact
  attributes, the Keras layer rebuilt from its config (on the Keras backend of this
  process), or the PyTorch module itself;
- every other installed framework, running tconv's translation of the layer there (the
  code :meth:`~tconv.translation.TranslationPlan.to_code` prints).

The result per runtime is the largest absolute difference, or the reason it did not run.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import numpy as np

from ..translation import TranslationPlan
from ._analysis import LayerAudit

__all__ = ["verify_layer"]

#: The spatial size used when the model does not fix the layer's input size.
DEFAULT_SIZE = 8

#: The module each runtime needs.
_NEEDS = {"torch": "torch", "tensorflow": "tensorflow", "keras": "keras", "jax": "jax", "onnx": "onnxruntime"}


def _installed(name: str) -> bool:
    return importlib.util.find_spec(_NEEDS.get(name, name)) is not None


def _input(audit: LayerAudit, rng: np.random.Generator) -> np.ndarray:
    layer = audit.layer
    shape = layer.input_shape
    if shape is None:
        spatial = (DEFAULT_SIZE,) * audit.spec.ndim
        if "output_size" in layer.params or "output_shape" in layer.params:
            raise ValueError("the layer pins its output size and the model does not give its input size")
        channels_last = (
            layer.framework == "keras" and layer.params.get("data_format", "channels_last") == "channels_last"
        )
        c = audit.spec.in_channels
        shape = (1, *spatial, c) if channels_last else (1, c, *spatial)
    return rng.standard_normal(shape).astype(np.float32)


def _own_onnx(audit: LayerAudit, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    layer = audit.layer
    names = ["X", "W"] + (["B"] if b is not None else [])
    initializers = [numpy_helper.from_array(w, "W")] + ([numpy_helper.from_array(b, "B")] if b is not None else [])
    node = helper.make_node("ConvTranspose", names, ["Y"], **layer.params)
    dims = list(x.shape) if layer.static else None
    graph = helper.make_graph(
        [node],
        "layer",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        initializer=initializers,
    )
    opset = min(int(layer.context.get("opset") or 17), 22)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"X": x})[0]


def _own_keras(audit: LayerAudit, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    import keras

    params = audit.layer.params
    cls = getattr(keras.layers, audit.layer.op)
    arguments = {k: v for k, v in params.items() if k != "use_bias"}
    layer = cls(**arguments, use_bias=b is not None)
    layer.build(x.shape)
    layer.set_weights([w] if b is None else [w, b])
    return np.asarray(layer(x))


def _own_torch(audit: LayerAudit, x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    import torch

    module = audit.layer.context["module"]
    output_size = audit.layer.params.get("output_size")
    with torch.no_grad():
        xt = torch.from_numpy(x).to(dtype=module.weight.dtype, device=module.weight.device)
        y = module(xt) if output_size is None else module(xt, output_size=list(output_size))
    return y.detach().cpu().numpy()


_OWN = {"onnx": ("onnxruntime", _own_onnx), "keras": ("keras", _own_keras), "torch": ("torch", _own_torch)}


def _translated(target: str, plan: TranslationPlan, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The plan's printed code, run in ``target`` on the input moved into its layout; back in the source's."""
    namespace: dict[str, Any] = {}
    exec(compile(plan.to_code(), f"<tconv plan {plan.source} -> {target}>", "exec"), namespace)  # noqa: S102
    x_t = np.array(plan.input_to_target(x), order="C")
    w_t = namespace["convert_weight"](w).astype(np.float32)
    if "make_layer" in namespace:  # PyTorch and Keras print the layer a model holds
        layer = namespace["make_layer"](w_t, b)
        if target == "torch":
            import torch

            with torch.no_grad():
                y = layer(torch.from_numpy(x_t)).numpy()
        else:
            y = np.asarray(layer(x_t))
    elif target == "tensorflow":
        import tensorflow as tf

        y = namespace["conv_transpose"](tf.constant(x_t), tf.constant(w_t), tf.constant(b)).numpy()
    elif target == "jax":
        import jax.numpy as jnp

        y = np.asarray(namespace["conv_transpose"](jnp.asarray(x_t), jnp.asarray(w_t), jnp.asarray(b)))
    else:
        y = np.asarray(namespace["conv_transpose"](x_t, w_t, b))
    return plan.output_to_source(y)


#: Lines of a framework's error that wrap the reason instead of giving it (Keras's "Exception encountered
#: when calling Conv2DTranspose.call()." and its list of the arguments received).
_WRAPPERS = re.compile(r"^(Exception encountered when calling|Arguments received by|\W*[•*-] \w+=)")
_TERMINAL = re.compile(r"\x1b\[[0-9;]*m")  # colour codes (Keras prints TensorFlow's reason in bold)
_FUNCTION_NODE = re.compile(r"^\{\{function_node [^}]*\}\}\s*")  # TensorFlow's name of the failing op


def failure_reason(error: BaseException, limit: int = 200) -> str:
    """The line of ``error``'s message that says why, at most ``limit`` characters: its first line that is
    not a wrapper's (:data:`_WRAPPERS`), without colour codes or TensorFlow's op name.

    Keras wraps TensorFlow's reason in lines of its own, so the first line alone said only that a call
    failed; on a CPU without oneDNN, TensorFlow's reason was that it "does not yet support dilation rates
    larger than 1".

    Examples
    --------
    >>> failure_reason(ValueError("Exception encountered when calling Conv2DTranspose.call().\\n\\n"
    ...     "{{function_node Conv2DBackpropInput}} Current CPU implementations do not yet support dilation"
    ...     " rates larger than 1. [Op:Conv2DBackpropInput]"))
    'Current CPU implementations do not yet support dilation rates larger than 1. [Op:Conv2DBackpropInput]'
    >>> failure_reason(RuntimeError("shapes differ\\nmore detail"))
    'shapes differ'
    """
    lines = [_FUNCTION_NODE.sub("", _TERMINAL.sub("", line)).strip() for line in str(error).splitlines()]
    lines = [line for line in lines if line]
    reasons = [line for line in lines if not _WRAPPERS.match(line)]
    return ((reasons or lines or [""])[0])[:limit]


def _difference(y: np.ndarray, reference: np.ndarray) -> float | str:
    if y.shape != reference.shape:
        return f"shape {tuple(y.shape)} where tconv gives {tuple(reference.shape)}"
    return float(np.max(np.abs(y.astype(np.float64) - reference))) if y.size else 0.0


def verify_layer(audit: LayerAudit, seed: int = 0) -> None:
    """Fill ``audit.verification`` (``{runtime: max |difference| or why not}``) and ``verification_scale``."""
    rng = np.random.default_rng(seed)
    layer, spec = audit.layer, audit.spec
    try:
        x = _input(audit, rng)
    except ValueError as error:
        audit.verification["all"] = f"not run: {error}"
        return
    w = layer.weight
    if w is None:
        w = rng.standard_normal(layer.weight_shape)
        layer.notes.append("verify ran with random weights (the model holds none for this layer)")
    w = np.array(w, dtype=np.float32)  # a writable copy (ONNX initializers are read-only)
    b = np.zeros(spec.out_channels, np.float32) if layer.bias is None else np.array(layer.bias, np.float32)
    plan = audit.translations["tconv"]
    assert isinstance(plan, TranslationPlan)
    reference = plan.apply(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64))
    audit.verification_scale = float(np.abs(reference).max()) if reference.size else 1.0
    runs: list[tuple[str, Any]] = []
    name, own = _OWN[layer.framework]
    if _installed(name):
        runs.append((f"{name} (the layer itself)", lambda: own(audit, x, w, layer.bias if layer.bias is None else b)))
    for target, target_plan in audit.translations.items():
        if target in ("tconv", layer.framework) or not isinstance(target_plan, TranslationPlan):
            continue
        if not _installed(target):
            continue
        runtime = "onnxruntime" if target == "onnx" else target
        runs.append(
            (f"{runtime} (tconv's {target} translation)", lambda t=target, p=target_plan: _translated(t, p, x, w, b))
        )
    for label, run in runs:
        try:
            audit.verification[label] = _difference(np.asarray(run()), reference)
        except Exception as error:  # a runtime that refuses the layer is a result, not a crash
            audit.verification[label] = f"fails: {type(error).__name__}: {failure_reason(error)}"
