"""Requested oracles are really installed, so a skip never silently means untested."""

from __future__ import annotations

import pytest
from helpers import ORACLES, oracle


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_oracle_is_installed(name):
    oracle(name)
