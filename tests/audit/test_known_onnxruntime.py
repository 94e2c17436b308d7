"""The ONNX Runtime table (tconv.audit.known.onnxruntime) against the installed onnxruntime.

Every one-node case runs in ONNX Runtime and in tconv's emulation of the spec: the audit
must report an ``onnxruntime`` entry exactly for the cases where ORT computes something
else (another size, other values, or a refusal); for every other case ORT must equal the
spec. The entry of versions before 1.13 is documented only: the installed ORT is checked to
follow the spec on the cases it names.
"""

from __future__ import annotations

import numpy as np
import pytest
from audit_models import ONNX_CASES, onnx_case, run_onnx
from helpers import assert_close

import tconv.audit
from tconv.frameworks import onnx as onnx_rules


def _spec(x, w, b, attributes):
    group = attributes.get("group", 1)
    rest = {k: v for k, v in attributes.items() if k != "group"}
    return onnx_rules.conv_transpose(
        x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), group=group, **rest
    )


def _runtime(ort, path, x):
    try:
        return run_onnx(ort, path, x)
    except Exception as error:  # a refusal is an observation too
        return error


def _differs(y, expected):
    if isinstance(y, Exception) or y.shape != expected.shape:
        return True
    return not np.allclose(y, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(ONNX_CASES))
def test_every_onnxruntime_prediction_is_what_onnxruntime_does(name, onnx, ort, tmp_path):
    path, x, w, b = onnx_case(onnx, tmp_path / f"{name}.onnx", name)
    report = tconv.audit.audit(path, targets=["onnxruntime"])
    (layer,) = report.layers
    predicted = [f for f in layer.findings if f.issue.tool == "onnxruntime"]
    attributes = ONNX_CASES[name]["attributes"]
    y = _runtime(ort, path, x)
    assert _differs(y, _spec(x, w, b, attributes)) == bool(predicted), (name, y, [f.detail for f in predicted])
    if not isinstance(y, Exception):  # ORT's window is tconv's "onnxruntime" semantics, always
        expected = _spec(x, w, b, {**attributes, "semantics": "onnxruntime"})
        assert_close(y, expected.astype(np.float32), rtol=1e-5, atol=1e-5)


def test_same_with_a_kernel_smaller_than_the_stride(onnx, ort, tmp_path):
    path, x, w, b = onnx_case(onnx, tmp_path / "m.onnx", "same_upper_small_kernel")
    (layer,) = tconv.audit.audit(path, targets=["onnxruntime"]).layers
    assert [f.issue.key for f in layer.findings] == ["onnxruntime-same-small-kernel"]
    assert run_onnx(ort, path, x).shape[-1] == 7 and layer.output_size == (8,)  # ORT (i-1)*s + k; spec i*s


def test_output_shape_beyond_the_natural_size(onnx, ort, tmp_path):
    path, x, w, b = onnx_case(onnx, tmp_path / "m.onnx", "output_shape_plus_two")
    (layer,) = tconv.audit.audit(path, targets=["onnxruntime"]).layers
    assert [f.issue.key for f in layer.findings] == ["onnxruntime-output-shape-beyond-natural"]
    y = run_onnx(ort, path, x)
    spec = _spec(x, w, b, ONNX_CASES["output_shape_plus_two"]["attributes"])
    assert y.shape == spec.shape and not np.allclose(y, spec, atol=1e-4)  # same size, zeros at the other end


def test_the_swapped_same_of_old_versions_is_documented_only_and_current_versions_follow_the_spec(onnx, ort, tmp_path):
    path, x, w, b = onnx_case(onnx, tmp_path / "m.onnx", "same_upper_odd")
    old = tconv.audit.audit(path, targets=["onnxruntime"], versions={"onnxruntime": "1.12.1"}).layers[0]
    (finding,) = old.findings
    assert finding.issue.key == "onnxruntime-same-swapped" and not finding.issue.observed
    assert finding.version == "1.12.1"
    assert not tconv.audit.audit(path, targets=["onnxruntime"]).layers[0].findings  # the installed version
    assert tconv.audit.known.parse_version(ort.__version__) >= (1, 13)
    assert_close(
        run_onnx(ort, path, x),
        _spec(x, w, b, ONNX_CASES["same_upper_odd"]["attributes"]).astype(np.float32),
        rtol=1e-5,
        atol=1e-5,
    )
