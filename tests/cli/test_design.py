"""tconv design: the solver's designs as text and --json, its errors, its --help examples, python -m."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import tconv
from tconv.cli import design as design_command
from tconv.cli import main
from tconv.design import upsampling_designs


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


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


def test_errors_exit_2_with_the_reason(capsys):
    code, _, err = run(capsys, "design", "--input-size", "4")
    assert code == 2
    assert "give --factor, or both --input-size and --output-size" in err


def test_help_has_examples_that_run(capsys):
    """--help shows examples, and each example it prints is a real command that succeeds."""
    assert main(["design", "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "tconv design " in out
    for line in re.sub(r"\s*\\\n\s*", " ", design_command.EXAMPLES).splitlines():
        line = line.strip()
        if line.startswith("tconv "):
            code, _, err = run(capsys, *line.split("  ")[0].split()[1:])
            assert code == 0, (line, err)


def test_python_dash_m_runs_it():
    src = str(Path(tconv.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    argv = ["design", "--factor", "3", "--top", "3"]
    result = subprocess.run([sys.executable, "-m", "tconv", *argv], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip()
