"""Requested oracles are really installed, so a skip never silently means untested."""

from __future__ import annotations

import pytest
from helpers import EXECUTABLES, ORACLES, oracle, oracle_executable


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_oracle_is_installed(name):
    oracle(name)


@pytest.mark.parametrize("name", sorted(EXECUTABLES))
def test_oracle_program_is_installed(name):
    oracle_executable(name)
