"""``tconv shape``: output sizes, the stride ambiguity, inverting a convolution, every framework's view."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tconv
from tconv.cli import main
from tconv.cli import shape as shape_command

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
    _help_and_examples("shape", shape_command.EXAMPLES, capsys)


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


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (["shape", "--input-size", "4", "--stride", "0"], "stride must be positive"),
        (["shape"], "give --input-size"),
        (["shape", "--framework", "torch", "stride=2"], "needs --weight-shape and --input-shape"),
        (
            [
                "shape",
                "--framework",
                "keras",
                "--weight-shape",
                "2x2x8x3",
                "--input-shape",
                "1x6x6x3",
                "strides=2",
                "strides=1",
            ],
            "strides is given twice (strides=2 and strides=1)",
        ),
    ],
)
def test_errors_exit_2_with_the_reason(argv, phrase, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert phrase in err
    assert len(err.splitlines()) == 1, err


def test_python_dash_m_runs_it():
    _python_dash_m(["shape", "--input-size", "4", "--kernel-size", "4", "--stride", "2", "--padding", "1"])


def test_listings_that_grow_with_the_stride_are_bounded(capsys):
    """--input-size 10^18 --stride 10^9 built one entry per valid size (10^9 of them) and never finished."""
    from helpers import no_hang, peak_memory

    with no_hang():
        (code, out, _), peak = peak_memory(
            run, capsys, "shape", "--input-size", "1000000000000000000", "--stride", "1000000000"
        )
    assert code == 0 and peak < 16 * 2**20
    sizes = re.search(r"valid sizes    axis 0: (.*)", out).group(1)
    assert sizes.count("output_padding=") == shape_command.MAX_LISTED and sizes.endswith("... (999999984 more)")
    assert "of 1000000000 output phases, 3 phase(s) get 1 tap(s); 999999997 phase(s) get 0 tap(s): holes" in out
    code, out, _ = run(capsys, "shape", "--conv", "--input-size", "1000000000000000000", "--stride", "1000000000")
    assert code == 0 and "... (999999984 more) all give output 1000000000" in out


def test_the_json_listings_are_bounded_and_counted(capsys):
    code, out, _ = run(capsys, "shape", "--input-size", "5", "--stride", "40", "--json")
    data = json.loads(out)
    assert code == 0 and data["valid_output_sizes_count"] == [40]
    assert [o["output_padding"] for o in data["valid_output_sizes"][0]] == list(range(shape_command.MAX_LISTED))
    assert data["taps_per_phase"] == [None] and data["phase_tap_counts"] == [{"1": 3, "0": 37}]
    code, out, _ = run(capsys, "shape", "--input-size", "5", "--stride", "2", "--json")
    data = json.loads(out)
    assert data["taps_per_phase"] == [[2, 1]] and data["phase_tap_counts"] == [{"2": 1, "1": 1}]
    code, out, _ = run(capsys, "shape", "--conv", "--input-size", "100", "--stride", "30", "--json")
    data = json.loads(out)
    assert data["inputs_with_same_output_count"] == [30] and len(data["inputs_with_same_output"][0]) == 16
