"""The onnx package's table (tconv.audit.known.onnx): its shape inference against the spec, observed."""

from __future__ import annotations

import pytest
from audit_models import ONNX_CASES, onnx_case

import tconv.audit
from tconv.frameworks import onnx as onnx_rules

SAME = sorted(name for name, case in ONNX_CASES.items() if "auto_pad" in case["attributes"])


@pytest.mark.parametrize("name", SAME)
def test_shape_inference_under_same(name, onnx, tmp_path):
    path, x, w, b = onnx_case(onnx, tmp_path / f"{name}.onnx", name)
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    (declared,) = [v for v in model.graph.output if v.name == "Y"]
    dims = tuple(d.dim_value for d in declared.type.tensor_type.shape.dim[2:])
    attributes = {k: v for k, v in ONNX_CASES[name]["attributes"].items() if k != "group"}
    spec = onnx_rules.output_size(x.shape[2:], w.shape[2:], **attributes)
    (layer,) = tconv.audit.audit(path, targets=["onnx"]).layers
    predicted = [f for f in layer.findings if f.issue.key == "onnx-shape-inference-same-output-padding"]
    assert (dims != spec) == bool(predicted), (name, dims, spec)
    if predicted:
        assert str(dims) in predicted[0].detail
    assert layer.layer.declared_output_shape[2:] == dims  # the reader reports what shape inference declares
