"""tconv._algorithms.winograd: F(2x2, 3x3) against the reference, every padding form, and its float32 error."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, from_layout, to_layout

import tconv
from tconv._algorithms import winograd
from tconv._algorithms.problem import Problem
from tconv.geometry import conv_transpose_geometry

PADDINGS = [0, 1, 2, ((0, 2), (1, -1)), "same", ((3, 0), (0, 3))]


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("padding", PADDINGS, ids=str)
@pytest.mark.parametrize("size", [(1, 1), (4, 5), (7, 8), (9, 6)], ids=str)
def test_winograd_equals_the_reference(size, padding, layout):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 5, *size)), rng.standard_normal((5, 3, 3, 3)), rng.standard_normal(3)
    if size == (1, 1) and padding not in (0, 1, "same", ((0, 2), (1, -1))):  # no output left: refused alike
        with pytest.raises(ValueError, match="leaves no output"):
            tconv.conv_transpose(x, w, b, padding=padding, algorithm="winograd")
        return
    expected = tconv.conv_transpose(x, w, b, padding=padding, algorithm="scatter")
    y = tconv.conv_transpose(to_layout(x, layout), w, b, padding=padding, layout=layout, algorithm="winograd")
    assert_close(from_layout(y, layout), expected)


def test_winograd_applies_only_to_stride_1_3x3():
    """Elsewhere "winograd" is "gemm" (the case table of tests/test_ops.py covers those results)."""
    problem = Problem(1, "channels_first", 4, 4, np.dtype(np.float32), np.zeros(4, np.float32), False)
    assert winograd.applies(conv_transpose_geometry((8, 8), 3, padding=1), problem)
    for other in (dict(stride=2), dict(dilation=2)):
        assert not winograd.applies(conv_transpose_geometry((8, 8), 3, **other), problem)
    assert not winograd.applies(conv_transpose_geometry((8, 8), 4), problem)
    assert not winograd.applies(conv_transpose_geometry((8,), 3), problem)


def test_winograd_under_a_small_budget_runs_in_units_of_tile_rows(monkeypatch):
    """A budget that holds a few tile rows: Winograd runs in units of one or two rows, each thread one
    at a time; a budget that holds none: "gemm" computes the call instead, within the budget."""
    units = []
    original = winograd._units

    def spy(*args):
        units.append(original(*args))
        return units[-1]

    monkeypatch.setattr(winograd, "_units", spy)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 8, 20, 20)), rng.standard_normal((8, 8, 3, 3))
    expected = tconv.conv_transpose(x, w, padding=1, algorithm="scatter")
    with tconv.options(memory_budget=80_000):
        assert_close(tconv.conv_transpose(x, w, padding=1, algorithm="winograd"), expected)
    assert units and len(units[-1]) >= 3 * 5 and all(n1 - n0 == 1 and t1 - t0 <= 2 for n0, n1, t0, t1 in units[-1])
    units.clear()
    with tconv.options(memory_budget=20_000):
        assert_close(tconv.conv_transpose(x, w, padding=1, algorithm="winograd"), expected)
    assert not units  # gemm ran


def test_winograd_float32_error_is_within_the_torch_tolerance():
    """Its float32 error, measured against float64 on a stride-1 3x3 layer, stays within the tolerance
    the tests use against PyTorch (assert_close's float32 rtol/atol), and within a few times gemm's."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 128, 16, 16)).astype(np.float32)
    w = (rng.standard_normal((128, 128, 3, 3)) / np.sqrt(128 * 9)).astype(np.float32)
    precise = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), padding=1)
    ours = tconv.conv_transpose(x, w, padding=1, algorithm="winograd")
    direct = tconv.conv_transpose(x, w, padding=1, algorithm="gemm")
    assert_close(ours, precise.astype(np.float32), dtype=np.float32)
    error = np.abs(ours - precise).max() / np.abs(precise).max()
    assert error < 4 * max(np.abs(direct - precise).max() / np.abs(precise).max(), 1e-7)
