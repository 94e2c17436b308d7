"""tconv audit: the report, --json, --html, --versions, --targets, --details and the exit status a CI job reads."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from audit_models import onnx_case, onnx_node_model

from tconv.audit import EXIT_AT_RISK, EXIT_OK
from tconv.cli import main


@pytest.fixture
def clean(onnx, tmp_path):
    """A model no tool gets wrong: symmetric pads."""
    return str(onnx_case(onnx, tmp_path / "clean.onnx", "pads_symmetric_output_padding")[0])


@pytest.fixture
def risky(onnx, tmp_path):
    """A model onnx2torch refuses (auto_pad=SAME_UPPER)."""
    return str(onnx_case(onnx, tmp_path / "risky.onnx", "same_upper_odd")[0])


def test_exit_status_says_whether_a_layer_is_at_risk_for_the_targets(clean, risky, capsys):
    assert main(["audit", clean]) == EXIT_OK == 0
    out = capsys.readouterr().out
    assert "1 transposed convolution, none at risk" in out
    assert main(["audit", risky]) == EXIT_AT_RISK == 3
    out = capsys.readouterr().out
    assert "RISK  deconv" in out and "onnx2torch fails" in out
    assert main(["audit", risky, "--targets", "onnxruntime,torch"]) == EXIT_OK  # ORT >= 1.13 follows the spec
    capsys.readouterr()
    assert main(["audit", risky, "--targets", "onnxruntime", "--versions", "onnxruntime=1.12.1"]) == EXIT_AT_RISK
    assert "onnxruntime differs" in capsys.readouterr().out


def test_details_json_and_html(risky, tmp_path, capsys):
    assert main(["audit", risky, "--details"]) == EXIT_AT_RISK
    out = capsys.readouterr().out
    assert "fix: rewrite the node with explicit pads=[0, 1]" in out and "source: ENOT-AutoDL/onnx2torch#148" in out
    assert "torch:      torch.nn.ConvTranspose1d(" in out
    page = tmp_path / "report.html"
    assert main(["audit", risky, "--json", "--html", str(page)]) == EXIT_AT_RISK
    data = json.loads(capsys.readouterr().out)
    assert data["at_risk"] and data["layers"][0]["findings"][0]["key"] == "onnx2torch-auto-pad"
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_verify(clean, capsys):
    assert main(["audit", clean, "--verify", "--details", "--targets", "torch,jax"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "verify onnxruntime (the layer itself): max |difference|" in out
    assert "verify torch (tconv's torch translation)" in out and "verify jax (tconv's jax translation)" in out


def test_input_shape_for_a_model_with_open_sizes(onnx, tmp_path, capsys):
    w = np.ones((2, 1, 3), np.float32)
    path = str(onnx_node_model(onnx, tmp_path / "open.onnx", [1, 2, None], w, dict(strides=[2], output_shape=[8])))
    assert main(["audit", path, "--input-shape", "1x2x4"]) == EXIT_AT_RISK  # onnx2torch ignores output_shape
    out = capsys.readouterr().out
    assert "4 -> 8, crop (1, 0)" in out and "[onnx2torch differs]" in out
    assert main(["audit", path, "--input-shape", "X=1x2x4", "--targets", "onnxruntime"]) == EXIT_OK


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.onnx"], "does not exist"),
        (["{pt}"], "an .onnx or a .keras file"),
        (["{risky}", "--targets", "tvm"], "targets must be among"),
        (["{risky}", "--targets", ""], "--targets must name at least one of ('tconv', 'torch'"),
        (["{risky}", "--targets", ",,,"], "--targets must name at least one of"),
        (["{empty}"], "is not an ONNX model (no IR version or no graph"),
        (["{risky}", "--versions", "onnxruntime"], "--versions takes TOOL=VERSION"),
        (["{risky}", "--versions", "tvm=1.0"], "versions names tool 'tvm'"),
        (["{risky}", "--input-shape", "1x2"], "must have 3 entries"),
        (["{risky}", "--input-shape", "1xa"], "--input-shape must be integers"),
        (["{risky}", "--html", "/no/such/folder/r.html"], "--html: the folder"),
    ],
)
def test_usage_errors_end_in_one_line_and_status_2(argv, message, risky, tmp_path):
    pt = tmp_path / "model.pt"
    pt.write_bytes(b"not a model tconv reads")
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")  # protobuf reads it as an empty ModelProto
    argv = [{"{risky}": risky, "{pt}": str(pt), "{empty}": str(empty)}.get(a, a) for a in argv]
    done = subprocess.run([sys.executable, "-m", "tconv", "audit", *argv], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    # one line naming the problem (argparse's own errors put the usage lines before it)
    assert message in done.stderr.strip().splitlines()[-1], done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stdout == "", done.stderr
