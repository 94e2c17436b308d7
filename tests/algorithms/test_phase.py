"""tconv._algorithms.phase: every phase in one GEMM (kernels of whole blocks of taps per phase) against the
scatter reference, and the phase-by-phase path it leaves the other kernels to."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES, Case
from helpers import assert_close, from_layout, to_layout

import tconv
from tconv._algorithms import phase as _phase
from tconv.geometry import conv_transpose_geometry


@pytest.fixture
def block_calls(monkeypatch):
    """Counts the all-phase GEMMs; with BLOCK_PHASES at 1 every kernel of blocks of taps takes that path."""
    calls = []
    block_gemm = _phase._block_gemm

    def counted(*args, **kwargs):
        calls.append(args[3])
        return block_gemm(*args, **kwargs)

    monkeypatch.setattr(_phase, "_block_gemm", counted)
    monkeypatch.setattr(_phase, "BLOCK_PHASES", 1)
    return calls


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_all_phases_in_one_gemm_on_the_case_table(layout, block_calls):
    """On every case of the table (groups, padding, output padding, dilation, 1-3 d), ``phase`` with the
    all-phase GEMM wherever it applies equals the scatter reference; the table has such cases."""
    for case in CASES:
        x, w, b = case.arrays()
        expected = tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="scatter")
        y = tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), algorithm="phase", layout=layout)
        assert_close(from_layout(y, layout), expected)
    assert len(block_calls) >= 5, "no case of the table reached the all-phase GEMM"
    assert any(blocks.taps > 1 for blocks in block_calls)


@pytest.mark.parametrize(
    "case",
    [
        # FCN-32s-like many phases, a 1-d k32 s16 and a 3-d k = s layer, with padding, output padding and
        # groups
        Case("many-phases", 1, 5, 7, (4, 3), (32, 16), stride=(16, 8), padding=(8, 3), output_padding=(0, 5)),
        Case("1d-k32s16", 2, 6, 4, (9,), (32,), stride=16, padding=4, output_padding=1, groups=2),
        Case(
            "3d-k=s",
            2,
            4,
            6,
            (3, 2, 3),
            (2, 3, 2),
            stride=(2, 3, 2),
            padding=(0, 1, 0),
            output_padding=(0, 0, 1),
            groups=2,
        ),
        Case("2d-k8s4", 3, 8, 2, (5, 5), (8, 8), stride=4, padding=2),
    ],
    ids=lambda case: case.id,
)
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_many_phases_as_one_gemm(case, layout, dtype):
    """Layers of many phases (or one tap per phase) take the all-phase GEMM by default, plain and
    prepared (the weight picked once), and match the float64 scatter reference."""
    x, w, b = case.arrays(seed=1)
    kwargs = case.kwargs()
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    geometry = conv_transpose_geometry(case.size, case.kernel, case.stride, case.padding, case.output_padding)
    assert _phase._blocks(_phase._grid(geometry)) is not None
    xl, wl, bl = to_layout(x, layout).astype(dtype), w.astype(dtype), b.astype(dtype)
    x_before = xl.copy()
    y = tconv.conv_transpose(xl, wl, bl, **kwargs, algorithm="phase", layout=layout)
    assert_close(from_layout(y, layout), expected, dtype=dtype)
    plan = tconv.prepare(wl, **kwargs, algorithm="phase", layout=layout)
    for _ in range(2):
        assert_close(from_layout(plan(xl, bl), layout), expected, dtype=dtype)
    np.testing.assert_array_equal(xl, x_before)


def test_few_phases_of_many_taps_stay_phase_by_phase():
    """A k4 s2 kernel (4 phases of 4 taps) and a 3-d one keep the phase-by-phase GEMMs (measured faster);
    a dilated kernel's taps are no block of consecutive offsets."""

    def blocks(*args, **kwargs):
        return _phase._blocks(_phase._grid(conv_transpose_geometry(*args, **kwargs)))

    assert blocks((8, 8), 4, 2, 1) is None
    assert blocks((6, 6, 6), 4, 2, 1) is None
    assert blocks((8, 8), 8, 4, dilation=2) is None
    assert blocks((8, 8), 2, 2) is not None and blocks((8, 8), 2, 2).taps == 1
    assert blocks((8, 8), 16, 4, 6).taps == 16
