"""``tconv translate``: the plan and the code, --json, --to all, --help, errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tconv
from tconv.cli import main
from tconv.cli import translate as translate_command
from tconv.translation import translate

SRC = str(Path(tconv.__file__).resolve().parents[1])


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _help_and_examples(command, examples, capsys):
    """--help shows examples, and each example it prints is a real command that succeeds."""
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"tconv {command} " in out
    joined = re.sub(r"\s*\\\n\s*", " ", examples)
    for line in joined.splitlines():
        line = line.strip()
        if not line.startswith("tconv "):
            continue
        argv = line.split("  ")[0].split()[1:]
        code, _, err = run(capsys, *argv)
        assert code == 0, (line, err)


def _python_dash_m(argv):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "tconv", *argv], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip()


def test_help_has_examples_that_run(capsys):
    _help_and_examples("translate", translate_command.EXAMPLES, capsys)


def test_translate_prints_plan_and_code_that_runs(capsys):
    code, out, _ = run(
        capsys,
        "translate",
        "--from",
        "keras",
        "--to",
        "tconv",
        "--weight-shape",
        "3x3x2x1",
        "strides=2",
        "padding=same",
        "--code-only",
    )
    assert code == 0
    namespace: dict = {}
    exec(out, namespace)  # noqa: S102
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 4, 4, 1))
    kernel = rng.standard_normal((3, 3, 2, 1))
    expected = tconv.compat.keras.Conv2DTranspose(2, 3, strides=2, padding="same", use_bias=False)(x, kernel)
    y = namespace["conv_transpose"](np.moveaxis(x, -1, 1), namespace["convert_weight"](kernel))
    np.testing.assert_allclose(np.moveaxis(y, 1, -1), expected, rtol=1e-12, atol=1e-12)


def test_translate_json_and_all(capsys):
    code, out, _ = run(
        capsys,
        "translate",
        "--from",
        "tensorflow",
        "--to",
        "torch",
        "--weight-shape",
        "3x3x8x4",
        "--input-shape",
        "1x4x4x4",
        "output_shape=1,8,8,8",
        "strides=2",
        "padding=SAME",
        "--json",
    )
    data = json.loads(out)
    plan = translate(
        {"output_shape": [1, 8, 8, 8], "strides": 2, "padding": "SAME"},
        "tensorflow",
        "torch",
        weight_shape=(3, 3, 8, 4),
        input_shape=(1, 4, 4, 4),
    )
    assert data["post_crop"] == [[0, 1], [0, 1]] == [list(p) for p in plan.post_crop]
    assert data["code"] == plan.to_code()
    code, out, _ = run(
        capsys,
        "translate",
        "--from",
        "onnx",
        "--to",
        "all",
        "--weight-shape",
        "1x1x2x2x2x2",
        "strides=2,2,2,2",
        "--json",
    )
    data = json.loads(out)
    assert {p["target"] for p in data["plans"]} == {"tconv", "jax", "onnx"}
    assert set(data["inexpressible"]) == {"torch", "tensorflow", "keras"}


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (
            ["translate", "--from", "keras", "--to", "torch", "--weight-shape", "3x3x8x4", "stride=2"],
            "unknown keras parameter",
        ),
        (
            ["translate", "--from", "keras", "--to", "torch", "--weight-shape", "3x3x8x4", "strides"],
            "written name=value",
        ),
    ],
)
def test_errors_exit_2_with_the_reason(argv, phrase, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert phrase in err


def test_python_dash_m_runs_it():
    _python_dash_m(["translate", "--from", "torch", "--to", "jax", "--weight-shape", "4x2x3", "stride=2", "--no-code"])
