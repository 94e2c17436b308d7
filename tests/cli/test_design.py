"""tconv design: the solver's designs as text and --json, and its errors."""

from __future__ import annotations

import json

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
    assert "give factor=, or both" in err
