"""The command line's entry points: the ``tconv`` script and ``python -m tconv``."""

from __future__ import annotations

import subprocess
import sys

import tconv


def test_version_entry_point():
    result = subprocess.run(["tconv", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"tconv {tconv.__version__}"
    result = subprocess.run([sys.executable, "-m", "tconv", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"tconv {tconv.__version__}"
