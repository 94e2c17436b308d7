"""tconv.benchmark.runner: output checks, and a real run against every peer (with its report)."""

from __future__ import annotations

import numpy as np
from helpers import oracle

import tconv
from tconv.benchmark import PEERS, check_output, format_table, layer_from_spec, run, summary


def test_check_output_catches_wrong_results():
    reference = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    assert check_output(reference.copy(), reference, "float32") == ""
    assert "shape" in check_output(reference[:2], reference, "float32")
    wrong = reference.copy()
    wrong[1, 2] += 1
    assert "max |difference| 1" in check_output(wrong, reference, "float32")


def test_real_run_against_every_peer():
    """A tiny layer timed against PyTorch, ONNX Runtime and JAX, each checked before timing."""
    for name in ("torch", "onnxruntime", "jax"):
        oracle(name)
    layer = layer_from_spec("n=2 c_in=8 c_out=4 size=6x6 kernel=3 stride=2 padding=1 output_padding=1 groups=2")
    report = run([layer], dtypes=("float32", "float64"), peers=PEERS, algorithms=("auto", "gemm"), rounds=2, repeat=1)
    assert report["gemm_gflops"]["float32"] > 0
    f32, f64 = report["results"]
    for label in ("tconv", "tconv:gemm", *PEERS):
        assert f32["times"][label] > 0, f32["errors"]
    assert f32["errors"] == {}
    assert set(f64["errors"]) == {"onnxruntime"}  # ONNX Runtime has no float64 ConvTranspose kernel
    assert "NOT_IMPLEMENTED" in f64["errors"]["onnxruntime"]
    assert f32["algorithm"] in tconv.algorithms()
    text = format_table(report)
    assert "| custom | float32 |" in text and "Geometric-mean speed-up" in text
    assert summary(report)["shapes"] == 2
