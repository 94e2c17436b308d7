"""tconv artifacts: text, --json, --png and errors, against brute-force counts and tconv.artifacts."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from helpers import assert_close, oracle
from test_artifacts import brute_force_counts

from tconv import artifacts
from tconv.cli import main


def test_text(capsys):
    assert main(["artifacts", "--kernel-size", "3", "--stride", "2"]) == 0
    out = capsys.readouterr().out
    assert "taps per phase (phase r = full-output position mod stride): [2, 1]" in out
    assert "verdict: CHECKERBOARD" in out
    assert main(["artifacts", "--kernel-size", "3x3", "--stride", "2", "--dilation", "2"]) == 0
    out = capsys.readouterr().out
    assert "verdict: HOLES" in out and "holes: phases" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--kernel-size", "3x3", "--stride", "2", "--padding", "1", "--output-padding", "1", "--input-size", "4"],
        ["--kernel-size", "5", "--stride", "3", "--dilation", "2", "--input-size", "4", "--padding", "0:2"],
    ],
)
def test_json_counts_are_brute_force(capsys, argv):
    assert main(["artifacts", *argv, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    pad = 1 if "1" in argv[argv.index("--padding") + 1] and ":" not in argv[argv.index("--padding") + 1] else ((0, 2),)
    op = 1 if "--output-padding" in argv else 0
    d = 2 if "--dilation" in argv else 1
    _, expected = brute_force_counts(
        tuple(data["kernel_size"]), tuple(data["stride"]), pad, op, d, tuple(data["input_size"])
    )
    np.testing.assert_array_equal(np.array(data["counts"]), expected)


def test_weights(capsys, tmp_path):
    w = np.random.default_rng(1).standard_normal((2, 3, 3, 3))
    path = tmp_path / "w.npy"
    np.save(path, w)
    assert main(["artifacts", "--weights-file", str(path), "--stride", "2", "--padding", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert_close(np.array(data["amplitude"]), artifacts.checkerboard_amplitude(w, 2))
    assert data["check_max_difference"] < 1e-9
    assert (
        main(
            [
                "artifacts",
                "--kernel-size",
                "4x4",
                "--stride",
                "2",
                "--weights",
                "random",
                "--channels",
                "2,4",
                "--groups",
                "2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "predicted checkerboard amplitude" in out
    assert re.search(r"max \|difference\| = \d", out)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--stride", "0"], "--stride must be positive"),
        (["--weights", "random", "--channels", "3,4", "--groups", "2"], "--groups 2 must divide both --channels 3,4"),
        (["--kernel-size", "3", "--output-padding", "3", "--stride", "2"], "--output-padding must be smaller"),
    ],
)
def test_errors_exit_2(capsys, argv, message):
    assert main(["artifacts", *argv]) == 2
    assert message in capsys.readouterr().err


def test_png(capsys, tmp_path):
    oracle("matplotlib")
    path = tmp_path / "map.png"
    assert main(["artifacts", "--kernel-size", "3x3", "--stride", "2", "--weights", "random", "--png", str(path)]) == 0
    assert path.stat().st_size > 1000
    assert f"wrote {path}" in capsys.readouterr().out


def test_kernel_size_must_match_the_weight_file(capsys, tmp_path):
    path = tmp_path / "w.npy"
    np.save(path, np.ones((1, 1, 3, 3)))
    for given in ("3", "3x3"):  # one int for every axis, or one per axis
        assert main(["artifacts", "--weights-file", str(path), "--kernel-size", given, "--stride", "2"]) == 0
        capsys.readouterr()
    assert main(["artifacts", "--weights-file", str(path), "--kernel-size", "5x5", "--stride", "2"]) == 2
    assert "differs from the weight file's kernel size (3, 3)" in capsys.readouterr().err
