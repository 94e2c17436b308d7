"""The benchmark harness: layer specs, the FLOP formula, output checks, and a real run against every peer."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import oracle

import tconv
from tconv.benchmark import LAYERS, PEERS, check_output, format_table, layer_from_spec, run, summary
from tconv.cli import main


def test_named_layers_are_valid_and_distinct():
    assert len({layer.name for layer in LAYERS}) == len(LAYERS)
    for layer in LAYERS:
        x, w, b = layer.arrays("float32")
        assert x.shape == (layer.n, layer.c_in, *layer.size)
        assert w.shape == (layer.c_in, layer.c_out // layer.groups, *layer.kernel)
        assert len(layer.output_size) == len(layer.size) and min(layer.output_size) > 0
        assert layer.source


def test_flops_count_every_multiply_add():
    """2 * (number of (input element, tap, output channel) products), counted by brute force."""
    layer = layer_from_spec("n=2 c_in=6 c_out=4 size=3x5 kernel=2x3 stride=2 groups=2")
    products = layer.n * layer.c_in * math.prod(layer.size) * (layer.c_out // layer.groups) * math.prod(layer.kernel)
    assert layer.flops == 2 * products


def test_layer_spec_errors():
    with pytest.raises(ValueError, match="unknown layer spec key 'colour'"):
        layer_from_spec("n=1 c_in=1 c_out=1 size=4 kernel=2 colour=red")
    with pytest.raises(ValueError, match=r"lacks \['kernel'\]"):
        layer_from_spec("n=1 c_in=1 c_out=1 size=4")


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


def test_cli_bench(capsys):
    oracle("torch")
    assert main(["bench", "--list"]) == 0
    assert "dcgan-1" in capsys.readouterr().out
    code = main(
        [
            "bench",
            "--layer",
            "n=1 c_in=4 c_out=2 size=5 kernel=4 stride=2 padding=1",
            "--peers",
            "torch",
            "--rounds",
            "1",
            "--repeat",
            "1",
            "--json",
            "-",
            "--quiet",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["results"][0]["times"]) == {"tconv", "torch"}
    assert main(["bench", "--layers", "nope", "--quiet"]) == 2
    assert "unknown layers ['nope']" in capsys.readouterr().err
