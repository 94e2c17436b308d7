"""The command line: tconv shape, tconv translate (text, --json, --help, errors); the help examples of shape,
design and translate (tconv design: tests/cli/test_design.py)."""

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
from tconv.translation import translate

SRC = str(Path(tconv.__file__).resolve().parents[1])


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["shape", "design", "translate"])
def test_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "examples:" in out and f"tconv {command} " in out


def test_every_help_example_runs(capsys):
    """The examples printed by --help are real commands that succeed."""
    from tconv.cli import design, shape
    from tconv.cli import translate as translate_command

    for text in (shape.SHAPE_EXAMPLES, design.DESIGN_EXAMPLES, translate_command.TRANSLATE_EXAMPLES):
        joined = re.sub(r"\s*\\\n\s*", " ", text)
        for line in joined.splitlines():
            line = line.strip()
            if not line.startswith("tconv "):
                continue
            argv = line.split("  ")[0].split()[1:]
            code, _, err = run(capsys, *argv)
            assert code == 0, (line, err)


def test_shape_json_matches_the_library(capsys):
    code, out, _ = run(
        capsys, "shape", "--input-size", "4", "--kernel-size", "3", "--stride", "2", "--padding", "1", "--json"
    )
    data = json.loads(out)
    assert code == 0
    assert data["output_size"] == [tconv.conv_transpose_output_size(4, 3, 2, 1)]
    sizes = [o["output_size"] for o in data["valid_output_sizes"][0]]
    assert sizes == list(tconv.conv_transpose_output_size_range(4, 3, 2, 1))
    assert data["taps_per_phase"] == [[2, 1]]
    assert data["frameworks"]["torch"]["exact"] is True
    assert data["frameworks"]["torch"]["arguments"]["padding"] == [1]


def test_shape_same_shows_pytorch_needs_a_crop(capsys):
    code, out, _ = run(capsys, "shape", "--input-size", "4", "--kernel-size", "3", "--stride", "2", "--padding", "same")
    assert code == 0
    torch_line = next(line for line in out.splitlines() if line.strip().startswith("torch "))
    assert "+ crop (begin, end) ((0, 1),) after the call" in torch_line
    assert "[exact]" in next(line for line in out.splitlines() if line.strip().startswith("tensorflow "))


def test_shape_conv_mode_inverts(capsys):
    code, out, _ = run(
        capsys,
        "shape",
        "--conv",
        "--input-size",
        "9x10",
        "--kernel-size",
        "3",
        "--stride",
        "2",
        "--padding",
        "1",
        "--json",
    )
    data = json.loads(out)
    assert data["output_size"] == [5, 5]
    assert data["inverse"]["output_padding"] == [0, 1]
    assert data["inputs_with_same_output"] == [[9, 10], [9, 10]]
    assert tconv.conv_transpose_output_size((5, 5), 3, 2, 1, data["inverse"]["output_padding"]) == (9, 10)


def test_shape_framework_mode_uses_the_frameworks_rule(capsys):
    code, out, _ = run(
        capsys,
        "shape",
        "--framework",
        "keras",
        "--weight-shape",
        "2x2x8x3",
        "--input-shape",
        "1x6x6x3",
        "strides=2",
        "padding=same",
        "output_padding=0",
        "--json",
    )
    data = json.loads(out)
    assert data["output_size"] == [10, 10] and data["out_channels"] == 8
    code, out, _ = run(
        capsys,
        "shape",
        "--framework",
        "keras",
        "--weight-shape",
        "2x2x8x3",
        "--input-shape",
        "1x6x6x3",
        "strides=2",
        "padding=same",
    )
    assert "output size    (12, 12)" in out


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
        (["shape", "--input-size", "4", "--stride", "0"], "stride must be positive"),
        (["shape"], "give --input-size"),
        (["shape", "--framework", "torch", "stride=2"], "needs --weight-shape and --input-shape"),
    ],
)
def test_errors_exit_2_with_the_reason(argv, phrase, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert phrase in err


def test_python_dash_m_runs_the_new_commands():
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for argv in (
        ["shape", "--input-size", "4", "--kernel-size", "4", "--stride", "2", "--padding", "1"],
        ["design", "--factor", "3", "--top", "3"],
        ["translate", "--from", "torch", "--to", "jax", "--weight-shape", "4x2x3", "stride=2", "--no-code"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "tconv", *argv], capture_output=True, text=True, env=env, check=True
        )
        assert result.stdout.strip()
