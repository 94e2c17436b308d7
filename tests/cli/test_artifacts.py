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
        # a weight larger than the memory budget is refused before it is made (it was a MemoryError traceback)
        (
            ["--kernel-size", "3", "--stride", "2", "--weights", "random", "--channels", "1000000,1000000"],
            "--channels 1000000,1000000 with kernel size 3 makes a weight of shape (1000000, 1000000, 3) (21.8 TiB)",
        ),
        (["--kernel-size", "3x3", "--weights", "ones", "--channels", "4000,4000"], "more than tconv's memory_budget"),
    ],
)
def test_errors_exit_2(capsys, argv, message):
    assert main(["artifacts", *argv]) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert out == "" and len(err.splitlines()) == 1, err


@pytest.mark.parametrize(
    "array, message",
    [
        (np.ones((1, 1, 3)) * (1 + 2j), "must be a real array (bool, integer or float), got dtype complex128"),
        (np.ones((1, 1, 3), dtype="U1"), "must be a real array (bool, integer or float), got dtype <U1"),
        (np.zeros((1, 1, 3), dtype=[("a", "f8")]), "must be a real array"),
        (np.array([[[1.0, np.nan, np.inf]]]), "must hold finite values, got 2 NaN or infinite of 3"),
        (np.ones(3), "must hold a (C_in, C_out/groups, *kernel_size) array, got shape (3,)"),
        (np.float64(2.0), "got shape ()"),
        (np.array([[[1, None, 2]]], dtype=object), "is not a readable .npy array"),
    ],
    ids=["complex", "strings", "structured", "nan", "1-d", "scalar", "object"],
)
def test_a_weight_file_it_cannot_analyse_is_one_line_naming_it(capsys, tmp_path, array, message):
    path = tmp_path / "w.npy"
    np.save(path, array, allow_pickle=True)
    assert main(["artifacts", "--weights-file", str(path), "--stride", "2"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1, err
    assert message in err and "--weights-file" in err
    assert "Warning" not in err


def test_a_weight_file_that_is_not_npy_is_one_line(capsys, tmp_path):
    empty, archive = tmp_path / "empty.npy", tmp_path / "w.npz"
    empty.write_bytes(b"")
    np.savez(archive, a=np.ones((1, 1, 3)))
    for path, message in ((empty, "is not a readable .npy array"), (archive, "got an archive of 1 arrays")):
        assert main(["artifacts", "--weights-file", str(path), "--stride", "2"]) == 2
        err = capsys.readouterr().err
        assert message in err and "--weights-file" in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.int64, np.float16, np.longdouble])
def test_a_weight_file_of_bools_ints_or_any_float_is_read_as_float64(capsys, tmp_path, dtype):
    path = tmp_path / "w.npy"
    np.save(path, np.ones((1, 1, 3), dtype=dtype))
    assert main(["artifacts", "--weights-file", str(path), "--stride", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["response"] == [[2.0, 1.0]] and data["amplitude"] == [1.0]


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
