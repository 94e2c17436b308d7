"""tconv explain: the walk-through in the terminal, and --png/--gif/--html files for arbitrary parameters."""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers import oracle

import tconv
from tconv.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _grid(text: str, title: str) -> np.ndarray:
    """Parse the grid printed under a heading such as 'result (5x5):'."""
    lines = text.split(title, 1)[1].strip("\n").splitlines()
    rows = []
    for line in lines:
        if not line.strip() or not re.fullmatch(r"[\s\d.\-\[\]e]+", line):
            break
        rows.append([float(v) for v in line.replace("[", " ").replace("]", " ").split()])
    return np.array(rows)


def test_explain_default_is_the_tensorflow_example(capsys):
    code, out, _ = run(capsys, "explain")
    assert code == 0
    assert "The first output is x[0, 0]*w[0, 0] = -67*-1 = 67." in out
    assert out.count("step ") == 4  # one scatter step per input element
    x = np.array([[-67.0, -77.0], [-117.0, -127.0]])
    w = np.array([[-1.0, 2.0, -3.0], [4.0, -5.0, 6.0], [-7.0, 8.0, -9.0]])
    np.testing.assert_array_equal(_grid(out, "input x (2x2):"), x)
    np.testing.assert_array_equal(_grid(out, "kernel w (3x3):"), w)
    result = _grid(out, "result (5x5):")
    np.testing.assert_array_equal(result, tconv.conv_transpose(x[None, None], w[None, None], stride=2)[0, 0])
    assert result[0, 0] == 67
    np.testing.assert_array_equal(_grid(out, "flipped kernel:"), np.flip(w))
    for name in tconv.algorithms():
        assert re.search(rf"{name}\s+max \|difference\| = 0\b", out)
    assert "all algorithms agree" in out


@pytest.mark.parametrize(
    "argv, shape",
    [
        (["--input-size", "3x3", "--kernel-size", "4", "--stride", "2", "--padding", "1"], (6, 6)),
        (["--input-size", "4", "--kernel-size", "3", "--stride", "2", "--dilation", "2", "--values", "random"], (11,)),
        (["--input-size", "3x3", "--kernel-size", "3", "--stride", "2", "--padding", "same"], (6, 6)),
        (["--input-size", "2x3", "--kernel-size", "3", "--stride", "2", "--padding", "0:1,1:0"], (4, 6)),
        (["--input-size", "3", "--kernel-size", "3", "--stride", "2", "--output-padding", "1", "--padding", "1"], (6,)),
        (["--input-size", "2x2", "--kernel-size", "2x3", "--stride", "3,1", "--padding", "valid"], (5, 4)),
    ],
)
def test_explain_options(capsys, argv, shape):
    code, out, _ = run(capsys, "explain", *argv, "--steps", "all")
    assert code == 0
    size = "x".join(map(str, shape))
    result = _grid(out, f"result ({size}):")
    assert result.shape == (shape if len(shape) == 2 else (1, shape[0]))
    assert "all algorithms agree" in out


def test_explain_random_values_are_reproducible(capsys):
    _, first, _ = run(capsys, "explain", "--input-size", "3", "--values", "random", "--seed", "5")
    _, second, _ = run(capsys, "explain", "--input-size", "3", "--values", "random", "--seed", "5")
    assert first == second


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--stride", "0"], "--stride must be positive in every axis, got '0'"),
        (["--input-size", "2x2x2"], "must both be 1-d or 2-d"),
        (["--padding", "4", "--input-size", "2"], "leaves no output"),
        (["--output-padding", "2", "--stride", "2"], "--output-padding must be smaller than --stride or --dilation"),
        # the drawn channel and element are checked with or without a picture (they were only with --png)
        (["--channel", "5"], "--channel must be an output channel in [0, 1)"),
        (["--input-size", "3", "--channels", "2,4", "--channel", "4"], "--channel must be an output channel in [0, 4)"),
        (["--position", "100,100"], "--position must be an index into an array of shape (5, 5), got (100, 100)"),
        (["--position", "1"], "--position must be an index into an array of shape (5, 5)"),
        (["--input-size", "3", "--position", "5"], "--position must be an index into an array of shape (5,)"),
        # a value starting with '-' reads as an option: the message says how to write it
        (["--padding", "-1:-1"], "(a value that starts with '-' is written --padding=VALUE)"),
    ],
)
def test_explain_errors_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "explain", *argv)
    assert code == 2
    assert message in err
    assert out == "" and len(err.splitlines()) == 1, err


def test_explain_takes_a_negative_padding_after_an_equals_sign(capsys):
    code, out, err = run(capsys, "explain", "--input-size", "3", "--kernel-size", "3", "--padding=-1:-1")
    assert code == 0, err
    assert "result (7):" in out


def test_explain_bad_option_value(capsys):
    assert main(["explain", "--padding", "wide"]) == 2
    assert "--padding must be an int" in capsys.readouterr().err


# --- pictures and the explorer page ----------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--png", "{out}.png"],
        ["--view", "scatter", "--png", "{out}.png"],
        [
            "--input-size",
            "4",
            "--kernel-size",
            "3",
            "--stride",
            "2",
            "--dilation",
            "2",
            "--output-padding",
            "1",
            "--view",
            "zero-insert",
            "--png",
            "{out}.png",
        ],
        [
            "--input-size",
            "3",
            "--kernel-size",
            "3",
            "--stride",
            "2",
            "--channels",
            "4,2",
            "--groups",
            "2",
            "--channel",
            "1",
            "--view",
            "matrix",
            "--png",
            "{out}.png",
        ],
        [
            "--input-size",
            "3x3",
            "--kernel-size",
            "3",
            "--stride",
            "2",
            "--padding",
            "same",
            "--view",
            "overlap",
            "--values",
            "random",
            "--png",
            "{out}.png",
        ],
        [
            "--input-size",
            "2x3",
            "--kernel-size",
            "3x2",
            "--stride",
            "2,1",
            "--padding",
            "0:1,1:0",
            "--png",
            "{out}.png",
        ],
        ["--gif", "{out}.gif"],
        ["--input-size", "4", "--kernel-size", "3", "--stride", "2", "--view", "zero-insert", "--gif", "{out}.gif"],
    ],
)
def test_pictures(capsys, tmp_path, argv):
    image = oracle("PIL.Image")
    oracle("matplotlib")
    argv = [a.format(out=tmp_path / "out") for a in argv]
    assert main(["explain", *argv]) == 0
    path = next(a for a in argv if a.endswith((".png", ".gif")))
    assert capsys.readouterr().out.strip() == f"wrote {path}"
    picture = image.open(path)
    assert picture.format == ("GIF" if path.endswith(".gif") else "PNG")
    if path.endswith(".gif"):
        assert picture.n_frames > 2


def test_html(capsys, tmp_path):
    path = tmp_path / "page.html"
    assert (
        main(
            [
                "explain",
                "--input-size",
                "3",
                "--kernel-size",
                "4",
                "--stride",
                "2",
                "--padding",
                "1",
                "--values",
                "random",
                "--html",
                str(path),
            ]
        )
        == 0
    )
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page
    assert '"given"' in page and "random values (from the command line)" in page


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--input-size", "3", "--channels", "2,2"], "the terminal explanation shows one channel"),
        (
            ["--channels", "2,3", "--groups", "2", "--png", "x.png"],
            "--groups 2 must be positive and divide both --channels 2,3",
        ),
        (["--view", "matrix", "--gif", "x.gif"], "--gif animates the views 'scatter' and 'zero-insert'"),
        (
            ["--input-size", "3", "--channels", "2,2", "--html", "x.html"],
            "the explorer page (--html) shows one channel",
        ),
        (["--input-size", "3", "--padding", "0:1", "--html", "x.html"], "takes --padding as ints"),
    ],
)
def test_picture_errors_exit_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["explain", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_long_input_is_explained(capsys):
    """--input-size 100000 died with a MemoryError traceback; now its text is bounded and every algorithm runs."""
    code, out, _ = run(capsys, "explain", "--input-size", "100000")
    assert code == 0 and "all algorithms agree" in out
    assert "(100002 values from 1 to 599992: too many to print)" in out
    assert len(out) < 5_000
