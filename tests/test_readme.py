"""The README's Quickstart holds exactly two set-up commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)]


def test_quickstart_has_two_commands():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert commands[0].endswith("tconv explain")
    assert "pytest" in commands[1] and ".[test]" in commands[1]
    for check in ("ruff check", "ruff format --check", "mypy"):  # lint, format and types run in CI too
        assert f"python -m {check}" in commands[1], check


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quickstart_commands()[1] in ci
