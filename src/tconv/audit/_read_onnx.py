"""Read the ``ConvTranspose`` nodes of an ONNX model (needs the ``onnx`` package).

Input sizes come from the model's graph inputs or from ``input_shapes`` (which fix the
graph inputs' dimensions), and reach every node through ONNX shape inference. ``W`` and
``B`` are read from initializers or ``Constant`` nodes. Nodes inside subgraphs (``If``,
``Loop``) are not read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import show
from ._layer import Layer

__all__ = ["read_onnx"]

#: The attributes of ConvTranspose, as tconv.frameworks.onnx reads them.
_ATTRIBUTES = ("auto_pad", "dilations", "group", "kernel_shape", "output_padding", "output_shape", "pads", "strides")


def _import_onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError('reading ONNX models needs the onnx package: pip install "tconv[audit]"') from None
    return onnx


def _dims(value_info: Any) -> tuple[int | None, ...] | None:
    """The shape of a value_info (None per unknown dimension), or None without a shape."""
    tensor = value_info.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def _fix_inputs(model: Any, input_shapes: Mapping[str, Sequence[int]]) -> None:
    """Write ``input_shapes`` into the graph inputs (the caller's copy of the model)."""
    inputs = {value.name: value for value in model.graph.input}
    for name, shape in input_shapes.items():
        if name not in inputs:
            raise ValueError(f"input_shape names input {name!r}, but the model's inputs are {sorted(inputs)}")
        dims = inputs[name].type.tensor_type.shape.dim
        given = tuple(int(v) for v in shape)
        if len(dims) and len(dims) != len(given):
            raise ValueError(f"input_shape for {name!r} must have {len(dims)} entries, got {show(given)}")
        del dims[:]
        for v in given:
            if v < 1:
                raise ValueError(f"input_shape for {name!r} must be positive sizes, got {show(given)}")
            dims.add().dim_value = v


def read_onnx(path: str | Path, input_shape: Sequence[int] | Mapping[str, Sequence[int]] | None = None) -> list[Layer]:
    """The ``ConvTranspose`` nodes of the ONNX model at ``path``.

    ``input_shape`` is one shape (for a model with one input) or ``{input name: shape}``.
    """
    onnx = _import_onnx()
    from onnx import helper, numpy_helper, shape_inference

    try:
        model = onnx.load(str(path))
    except Exception as error:  # protobuf's DecodeError and friends: not an ONNX file
        raise ValueError(f"{str(path)!r} is not an ONNX model ({type(error).__name__}: {error})") from None
    if not model.ir_version or not model.HasField("graph"):  # an empty file (or stray bytes) reads as an empty proto
        raise ValueError(f"{str(path)!r} is not an ONNX model (no IR version or no graph: an empty or other file)")
    initializers = {t.name: t for t in model.graph.initializer}
    graph_inputs = [value for value in model.graph.input if value.name not in initializers]
    if input_shape is not None:
        if not isinstance(input_shape, Mapping):
            if len(graph_inputs) != 1:
                raise ValueError(
                    f"the model has {len(graph_inputs)} inputs {[v.name for v in graph_inputs]}: give input_shape "
                    "as NAME=SHAPE for each"
                )
            input_shape = {graph_inputs[0].name: input_shape}
        _fix_inputs(model, input_shape)
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as error:  # a model shape inference cannot read: audit without shapes
        inferred, failure = model, f"ONNX shape inference failed ({type(error).__name__}: {error})"
    else:
        failure = ""
    shapes = {}
    for value in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        dims = _dims(value)
        if dims is not None:
            shapes[value.name] = dims
    constants = {name: numpy_helper.to_array(t) for name, t in initializers.items()}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    static = all(None not in (_dims(v) or (None,)) for v in model.graph.input if v.name not in initializers)
    layers = []
    for index, node in enumerate(model.graph.node):
        if node.op_type != "ConvTranspose" or node.domain not in ("", "ai.onnx"):
            continue
        params = {}
        for attribute in node.attribute:
            if attribute.name in _ATTRIBUTES:
                value = helper.get_attribute_value(attribute)
                params[attribute.name] = value.decode() if isinstance(value, bytes) else value
        name = node.name or f"ConvTranspose #{index} ({node.output[0]})"
        weight = constants.get(node.input[1])
        bias = constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        notes = [failure] if failure else []
        weight_shape = None if weight is None else tuple(weight.shape)
        if weight_shape is None:
            weight_shape = shapes.get(node.input[1])
            notes.append(f"W ({node.input[1]!r}) is computed in the graph: no trained values to analyse")
        if weight_shape is None or None in weight_shape:
            raise ValueError(f"ConvTranspose node {name!r}: the shape of its weight W is not known")
        x_shape = shapes.get(node.input[0])
        if x_shape is not None and None in x_shape[2:]:
            x_shape = None
        if x_shape is None:
            notes.append("input size unknown (give --input-shape): the window is given for every input size")
        else:
            x_shape = (x_shape[0] or 1, *x_shape[1:])
        layers.append(
            Layer(
                name=name,
                framework="onnx",
                op="ConvTranspose",
                params=params,
                weight_shape=tuple(int(v or 0) for v in weight_shape),
                weight=None if weight is None else np.asarray(weight),
                bias=None if bias is None else np.asarray(bias),
                input_shape=None if x_shape is None else tuple(int(v) for v in x_shape),  # type: ignore[arg-type]
                declared_output_shape=shapes.get(node.output[0]),
                static=static,
                context={
                    "opset": opset,
                    "producer": model.producer_name or None,
                    "producer_version": model.producer_version or None,
                },
                notes=notes,
            )
        )
    return layers
