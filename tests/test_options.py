"""tconv.options (tconv/_options.py): validation, and restoring the previous options."""

from __future__ import annotations

import pytest

import tconv


def test_options_validation_and_restore():
    before = tconv.get_options()
    with pytest.raises(ValueError, match="memory_budget must be a positive int, got 0"):
        tconv.set_options(memory_budget=0)
    with pytest.raises(ValueError, match="threads must be a positive int, got -1"):
        with tconv.options(threads=-1):
            pass
    with pytest.raises(TypeError, match="unknown option 'budget', valid options are"):
        tconv.set_options(budget=1)
    with pytest.raises(TypeError, match="compiled must be a bool, got 1"):
        tconv.set_options(compiled=1)
    assert tconv.get_options() == before
