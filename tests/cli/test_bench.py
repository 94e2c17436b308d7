"""tconv bench (tconv.cli.bench): the layer list, a small run as JSON, and an unknown layer."""

from __future__ import annotations

import json

from helpers import oracle

from tconv.cli import main


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


def test_the_other_layers_are_listed_and_named_apart(capsys):
    """``--layers others``: layers of other models, listed after the named ones, with names of their own
    (a name selects either set's layer)."""
    from tconv.benchmark import LAYERS, OTHER_LAYERS

    names = [layer.name for layer in (*LAYERS, *OTHER_LAYERS)]
    assert len(names) == len(set(names)) and len(OTHER_LAYERS) >= 20
    assert main(["bench", "--list"]) == 0
    listing = capsys.readouterr().out
    assert all(layer.name in listing for layer in OTHER_LAYERS)
    assert listing.index("dcgan-1") < listing.index("others") < listing.index("pix2pix-up8")
    assert main(["bench", "--layers", "nope,pointwise", "--quiet"]) == 2
    assert "'others'" in capsys.readouterr().err


def test_random_layers_from_the_command_line(capsys, monkeypatch):
    """``--layers random:COUNT[:SEED]`` runs random_layers(COUNT, SEED); a malformed value is one line on
    stderr and exit code 2, before anything runs."""
    import tconv.benchmark as benchmark
    from tconv.benchmark import random_layers

    seen = []

    def fake_run(layers, *args, **kwargs):
        seen.append(list(layers))
        raise SystemExit(0)

    monkeypatch.setattr(benchmark, "run", fake_run)
    for value, expected in (("random:3:7", random_layers(3, 7)), ("random:2", random_layers(2, 0))):
        try:
            main(["bench", "--layers", value, "--peers", "torch", "--quiet"])
        except SystemExit:
            pass
        assert seen.pop() == list(expected)
    for value in ("random:", "random:x", "random:0", "random:1001", "random:3:-1", "random:3:1:2"):
        assert main(["bench", "--layers", value, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "--layers" in err and err.count("\n") == 1


def test_rounds_and_repeat_are_bounded(capsys):
    """--rounds 10**21 would run forever: refused in one line naming the option, before anything runs."""
    for argv, message in (
        (["--rounds", str(10**21)], "--rounds must be at most 1000, got 1000000000000000000000"),
        (["--repeat", "1001"], "--repeat must be at most 1000, got 1001"),
    ):
        assert main(["bench", *argv, "--quiet"]) == 2
        out, err = capsys.readouterr()
        assert message in err and out == "" and err.count("\n") == 1, err
