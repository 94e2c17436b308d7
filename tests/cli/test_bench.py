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
