"""tconv explain --png/--gif/--html and tconv artifacts --png: files for arbitrary parameters."""

from __future__ import annotations

import pytest
from helpers import oracle

from tconv.cli import main


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


def test_artifacts_png(capsys, tmp_path):
    oracle("matplotlib")
    path = tmp_path / "map.png"
    assert main(["artifacts", "--kernel-size", "3x3", "--stride", "2", "--weights", "random", "--png", str(path)]) == 0
    assert path.stat().st_size > 1000
    assert f"wrote {path}" in capsys.readouterr().out


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
def test_errors_exit_2(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["explain", *argv]) == 2
    assert message in capsys.readouterr().err
