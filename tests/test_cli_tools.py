"""The command line: tconv design (text, --json, --help, errors).

``tconv shape`` and ``tconv translate`` are tested in tests/cli/test_shape.py and tests/cli/test_translate.py.
"""

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
from tconv.design import upsampling_designs

SRC = str(Path(tconv.__file__).resolve().parents[1])


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["design"])
def test_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "examples:" in out and f"tconv {command} " in out


def test_every_help_example_runs(capsys):
    """The examples printed by --help are real commands that succeed."""
    from tconv.cli import design

    for text in (design.DESIGN_EXAMPLES,):
        joined = re.sub(r"\s*\\\n\s*", " ", text)
        for line in joined.splitlines():
            line = line.strip()
            if not line.startswith("tconv "):
                continue
            argv = line.split("  ")[0].split()[1:]
            code, _, err = run(capsys, *argv)
            assert code == 0, (line, err)


def test_design_json_is_the_solver(capsys):
    code, out, _ = run(capsys, "design", "--factor", "2", "--max-kernel", "6", "--top", "0", "--json")
    data = json.loads(out)
    expected = upsampling_designs(factor=2, max_kernel=6)
    assert data["count"] == len(expected)
    assert [(d["kernel_size"], d["padding"]) for d in data["designs"]] == [(d.kernel_size, d.padding) for d in expected]
    code, out, _ = run(capsys, "design", "--factor", "2", "--max-kernel", "4")
    assert "holes (phases with no kernel tap)" in out and "checkerboard-prone" in out


def test_design_reports_when_nothing_fits(capsys):
    code, out, _ = run(
        capsys, "design", "--input-size", "5", "--output-size", "100", "--max-kernel", "2", "--max-stride", "2"
    )
    assert code == 1 and "no design within the limits" in out


@pytest.mark.parametrize("argv, phrase", [(["design", "--input-size", "4"], "give factor=, or both")])
def test_errors_exit_2_with_the_reason(argv, phrase, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert phrase in err


def test_python_dash_m_runs_the_new_commands():
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for argv in (["design", "--factor", "3", "--top", "3"],):
        result = subprocess.run(
            [sys.executable, "-m", "tconv", *argv], capture_output=True, text=True, env=env, check=True
        )
        assert result.stdout.strip()
