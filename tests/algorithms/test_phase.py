"""tconv._algorithms.phase: every phase in one GEMM (kernels of whole blocks of taps per phase) against the
scatter reference, and the phase-by-phase path it leaves the other kernels to."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASES, Case
from helpers import assert_close, from_layout, to_layout

import tconv
from tconv._algorithms import choose
from tconv._algorithms import phase as _phase
from tconv._algorithms.problem import Problem
from tconv.geometry import conv_transpose_geometry


@pytest.fixture
def block_calls(monkeypatch):
    """Counts the all-phase GEMMs, whole or in tiles; with BLOCK_PHASES at 1 every kernel of blocks of taps
    takes that path."""
    calls = []
    block_gemm, block_plan = _phase._block_gemm, _phase._block_plan

    def counted(*args, **kwargs):
        calls.append(args[3])
        return block_gemm(*args, **kwargs)

    def counted_plan(geometry, problem, n):
        run = block_plan(geometry, problem, n)
        if run is not None:
            calls.append(_phase._blocks(_phase._grid(geometry), None))
        return run

    monkeypatch.setattr(_phase, "_block_gemm", counted)
    monkeypatch.setattr(_phase, "_block_plan", counted_plan)
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
    geometry = conv_transpose_geometry(case.size, case.kernel, case.stride, case.padding, case.output_padding)
    assert _phase._blocks(_phase._grid(geometry), case.c_in) is not None
    _check_phase(case, layout, dtype, seed=1)


def _check_phase(case: Case, layout: str, dtype, seed: int) -> None:
    """``algorithm="phase"`` on ``case``, plain and prepared (twice), against the float64 scatter reference
    (asserting), the input left as it was."""
    x, w, b = case.arrays(seed=seed)
    kwargs = case.kwargs()
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    xl, wl, bl = to_layout(x, layout).astype(dtype), w.astype(dtype), b.astype(dtype)
    x_before = xl.copy()
    y = tconv.conv_transpose(xl, wl, bl, **kwargs, algorithm="phase", layout=layout)
    assert_close(from_layout(y, layout), expected, dtype=dtype)
    plan = tconv.prepare(wl, **kwargs, algorithm="phase", layout=layout)
    for _ in range(2):
        assert_close(from_layout(plan(xl, bl), layout), expected, dtype=dtype)
    np.testing.assert_array_equal(xl, x_before)


def test_few_phases_of_many_taps_stay_phase_by_phase():
    """A k4 s2 kernel (4 phases of 4 taps) and a 3-d one keep the phase-by-phase GEMMs (measured faster)
    on more than BLOCK_CHANNELS input channels (3-d: FEW_INPUTS[3]), and take the all-phase GEMM on
    fewer; a dilated kernel's taps are no block of consecutive offsets."""

    def blocks(*args, c_in=64, **kwargs):
        return _phase._blocks(_phase._grid(conv_transpose_geometry(*args, **kwargs)), c_in)

    assert blocks((8, 8), 4, 2, 1) is None
    assert blocks((6, 6, 6), 4, 2, 1) is None
    assert blocks((8, 8), 4, 2, 1, c_in=_phase.BLOCK_CHANNELS).taps == 4
    assert blocks((8, 8), 4, 2, 1, c_in=_phase.BLOCK_CHANNELS + 1) is None
    few = _phase.FEW_INPUTS[3]  # 3-d: the all-phase GEMM up to as many input channels, whatever the phases
    assert blocks((6, 6, 6), 4, 2, 1, c_in=few).taps == 8
    assert blocks((6, 6, 6), 4, 2, 1, c_in=few + 1) is None
    assert blocks((8, 8), 8, 4, dilation=2) is None
    assert blocks((8, 8), 8, 4, dilation=2, c_in=1) is None
    assert blocks((8, 8), 2, 2) is not None and blocks((8, 8), 2, 2).taps == 1
    assert blocks((8, 8), 16, 4, 6).taps == 16


def _small_layers():
    """Small layers of few input channels that ``"auto"`` sends to the planned all-phase GEMM: 1-d and 2-d,
    padding (crops on both sides, larger than the stride too), output padding, uneven kernels, one sample."""
    return [
        Case("fcn-x2", 4, 21, 21, (16, 16), (4, 4), stride=2),
        Case("k4s2p1", 2, 8, 8, (9, 7), (4, 4), stride=2, padding=1, output_padding=1),
        Case("k6s3", 1, 3, 16, (5, 6), (6, 3), stride=(3, 1), padding=(4, 0)),
        Case("k8s4-1d", 3, 16, 12, (20,), (8,), stride=4, padding=2, output_padding=3),
        Case("k4s2-big-pad", 2, 5, 9, (6, 6), (4, 4), stride=2, padding=3),
    ]


@pytest.mark.parametrize("case", _small_layers(), ids=lambda case: case.id)
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_small_layers_of_few_channels_take_the_planned_all_phase_gemm(case, layout, dtype):
    """``"auto"`` chooses ``phase`` there (:func:`small_blocks`), whose planned call (plain and prepared,
    with and without a bias, unbatched too) matches the float64 scatter reference and leaves the input
    as it was."""
    x, w, b = case.arrays(seed=3)
    kwargs = case.kwargs()
    geometry = conv_transpose_geometry(case.size, case.kernel, case.stride, case.padding, case.output_padding)
    assert choose(geometry, groups=1, n=case.n, c_in=case.c_in, c_out=case.c_out) == "phase"
    problem = Problem(1, layout, case.c_in, case.c_out, np.dtype(dtype), np.zeros(case.c_out, dtype), False)
    assert _phase.planned(geometry, problem, case.n) is not None
    xl, wl, bl = to_layout(x, layout).astype(dtype), w.astype(dtype), b.astype(dtype)
    x_before = xl.copy()
    plan = tconv.prepare(wl, **kwargs, layout=layout)
    for bias in (bl, None):
        expected = tconv.conv_transpose(x, w, None if bias is None else b, **kwargs, algorithm="scatter")
        for _ in range(2):  # the second call runs the call planned by the first
            y = tconv.conv_transpose(xl, wl, bias, **kwargs, layout=layout)
            assert_close(from_layout(y, layout), expected, dtype=dtype)
            assert_close(from_layout(plan(xl, bias), layout), expected, dtype=dtype)
        single = tconv.conv_transpose(xl[0], wl, bias, **kwargs, layout=layout)
        assert_close(from_layout(single[None], layout), expected[:1], dtype=dtype)
    np.testing.assert_array_equal(xl, x_before)


def test_small_blocks_leave_other_layers_to_their_rules():
    """Many input channels, few output channels, one input channel, groups, 3-d, stamps that do not
    overlap, a dilated kernel and large layers keep the other algorithms."""

    def chosen(size, kernel, stride, n, c_in, c_out, groups=1, **kwargs):
        geometry = conv_transpose_geometry(size, kernel, stride, **kwargs)
        return choose(geometry, groups=groups, n=n, c_in=c_in, c_out=c_out)

    assert chosen((16, 16), 4, 2, 4, 21, 21) == "phase"
    assert chosen((16, 16), 4, 2, 4, 48, 48) != "phase"
    assert chosen((32, 32), 4, 2, 4, 32, 3) != "phase"
    assert chosen((32, 32), 4, 2, 4, 1, 16) != "phase"
    assert chosen((16, 16), 4, 2, 4, 16, 16, groups=2) != "phase"
    assert chosen((8, 8, 8), 4, 2, 1, 8, 8) != "phase"
    assert chosen((16, 16), 2, 2, 4, 21, 21) != "phase"
    assert chosen((16, 16), 4, 2, 4, 21, 21, dilation=2) != "phase"
    assert chosen((64, 64), 4, 2, 8, 21, 21) != "phase"  # 120 MFLOP
    assert chosen((500,), 8, 4, 2, 8, 64) == "direct"  # 1-d few inputs keep direct
    assert chosen((500,), 4, 1, 2, 16, 16) != "phase"  # stride 1: a convolution
    assert chosen((4, 4), 8, 4, 2, 16, 256) != "phase"  # a 1 MiB all-phase weight


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("stride, kernel", [((2, 3), (4, 6)), ((3, 2), (6, 4))])
def test_all_phase_gemm_in_many_tiles_on_two_threads(layout, stride, kernel, monkeypatch):
    """Tiles of one block-grid lead row (a tiny BLOCK_TILE_BYTES), shared by two threads: each output lead
    row is written by the one tile that holds its grid row; the result equals the scatter reference
    (channels-first at a last-axis stride of 2: the transposed orientation, TRANSPOSED_STRIDE)."""
    monkeypatch.setattr(_phase, "BLOCK_TILE_BYTES", 1)
    monkeypatch.setattr(_phase, "BLOCK_PARALLEL_FLOPS", 0)
    case = Case("tiles", 3, 6, 5, (7, 5), kernel, stride=stride, padding=(1, 2), output_padding=(1, 0))
    x, w, b = case.arrays(seed=4)
    expected = tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="scatter")
    with tconv.options(threads=2):
        y = tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), algorithm="phase", layout=layout)
    assert_close(from_layout(y, layout), expected)


def test_planned_all_phase_gemm_with_a_non_finite_weight():
    """An infinite weight entry: the planned call gives way to ``run`` (the all-phase GEMM would multiply
    it by the input's zero padding), which matches ``gemm`` (input elements only), NaN where it does."""
    case = _small_layers()[0]
    x, w, b = case.arrays(seed=5)
    x, w, b = x.astype(np.float32), w.astype(np.float32), b.astype(np.float32)
    w[3, 2, 0, 1] = np.inf
    expected = tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="gemm")
    y = tconv.conv_transpose(x, w, b, **case.kwargs())
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))
    finite = np.isfinite(expected)
    assert_close(y[finite], expected[finite], dtype=np.float32)


@pytest.mark.parametrize("algorithm", ["phase", "auto"])
def test_a_plan_on_other_input_sizes_packs_each_windows_weight(algorithm):
    """A prepared plan reused on inputs of other sizes: the all-phase weight depends on the window (its
    phases and taps follow the output size; an output shorter than the stride has fewer phases), so it
    is kept per window, at most PACKED_WINDOWS of them. Keyed without the window, the second size's call
    read the first size's weight and the GEMM raised a shape error (found by a randomized differential
    test against PyTorch: ``prepare(w, stride=3, padding=5)`` on lengths 6, then 3)."""
    from tconv._algorithms.problem import PACKED_WINDOWS

    rng = np.random.default_rng(4)
    w = rng.standard_normal((8, 22, 6))
    plan = tconv.prepare(w, stride=3, padding=5, algorithm=algorithm)
    for length in (6, 3, 6, 9, 4, 3, *range(10, 22)):
        x = rng.standard_normal((3, 8, length))
        assert_close(plan(x), tconv.conv_transpose(x, w, stride=3, padding=5, algorithm="scatter"))
    kept = [v for packed in plan._packed.values() for v in packed.values() if isinstance(v, dict)]
    assert kept and all(len(windows) <= PACKED_WINDOWS for windows in kept)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_a_plan_in_tiles_of_the_budget_packs_each_tiles_weight(layout):
    """A prepared plan that the memory budget cuts into output tiles, whose windows differ (each tile's
    crop): every tile multiplies its own window's all-phase weight. Before, the first tile's weight was
    kept for all: values off by the size of the output (found by the same differential test)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 16, 24, 24)).astype(np.float32)
    w = rng.standard_normal((16, 16, 4, 4)).astype(np.float32)
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), stride=2, padding=1)
    with tconv.options(memory_budget=2**15):
        plan = tconv.prepare(w, stride=2, padding=1, layout=layout, algorithm="phase")
        for _ in range(2):
            got = from_layout(plan(to_layout(x, layout)), layout)
            assert np.abs(got - expected).max() <= 1e-5 * np.abs(expected).max()


@pytest.mark.parametrize(
    "runs",
    [
        [(0, 5, 0, 2), (1, 5, 0, 2)],  # a k4 s2 row: two alternating runs of one length (written in pairs)
        [(0, 5, 1, 2), (1, 5, 0, 2)],  # the same with the runs at other rows
        [(0, 5, 0, 2), (1, 4, 1, 2)],  # an odd row: runs of two lengths (one run at a time)
        [(1, 5, 0, 2), (0, 5, 0, 2)],  # the phases the other way round
        [(0, 4, 0, 3), (1, 4, 0, 3), (2, 3, 1, 3)],  # stride 3
    ],
)
def test_depth_to_space_t_writes_each_output_from_its_phase_row(runs):
    """The transposed all-phase GEMM's depth-to-space pass against its formula, output by output: output
    ``(lead lead_out[e], first + s*q)`` of channel ``c`` is ``y[(lead_phase[e]*P + p)*C + c, n, lead_row[e] +
    base + q]`` plus the bias, for every run ``p = (first, count, base, s)`` -- in pairs and one run at a
    time, with the output lead rows out of order (a 3-d layer's)."""
    from tconv._algorithms import compiled  # (numba is a test dependency: no skip without it)

    rng = np.random.default_rng(3)
    runs_a = np.array(runs, dtype=np.int64)
    p_count = len(runs)
    o_last = max(first + s * (count - 1) for first, count, _, s in runs) + 1
    n, c, lead_phases = 2, 3, 2
    lead_row = np.array([0, 6, 12], dtype=np.int64)
    lead_phase = np.array([0, 1, 0], dtype=np.int64)
    lead_out = np.array([2, 0, 1], dtype=np.int64)
    y = rng.standard_normal((lead_phases * p_count * c, n, 20)).astype(np.float32)
    bias = rng.standard_normal(c).astype(np.float32)
    for has_bias in (False, True):
        out = np.full((n, c, len(lead_row), o_last), np.nan, np.float32)
        compiled.kernels()["depth_to_space_t"](
            y, lead_row, lead_phase, lead_out, runs_a, p_count, bias, has_bias, out, 0, n * len(lead_row)
        )
        expected = np.full_like(out, np.nan)
        for i in range(n):
            for e in range(len(lead_row)):
                for ch in range(c):
                    for p, (first, count, base, s) in enumerate(runs):
                        for q in range(count):
                            row = y[(lead_phase[e] * p_count + p) * c + ch, i, lead_row[e] + base + q]
                            expected[i, ch, lead_out[e], first + s * q] = row + (bias[ch] if has_bias else 0)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_few_input_channels_take_phase_where_the_kernel_is_whole_multiples_of_the_stride(layout):
    """``phase.few_inputs``: a layer of 2-16 input channels (1-d: stride 2, ``k >= 3s``; 2-d: up to 32 where
    ``k >= 3s`` on a grid near the input's size) and 8 or more output channels whose kernel is whole multiples of
    the stride, above ``gemm.SMALL_FLOPS``, runs ``phase``; the bounds keep the other rules; and the chosen
    call agrees with the scatter reference."""

    def chosen(size, kernel, stride, n, c_in, c_out, groups=1, **kwargs):
        geometry = conv_transpose_geometry(size, kernel, stride, **kwargs)
        return choose(geometry, groups=groups, n=n, c_in=c_in, c_out=c_out, layout=layout)

    assert chosen((3830,), 16, 2, 8, 4, 24, padding=3) == "phase"  # 94 MFLOP, 1-d k16 s2
    assert chosen((84, 84), 8, 2, 8, 3, 8, padding=3) == "phase"
    assert chosen((15, 15), 8, 2, 8, 4, 256, padding=2) == "phase"  # the few input channels' "direct" before
    assert chosen((40, 40), 4, 2, 16, 8, 48, padding=1) == "phase"
    assert chosen((3830,), 8, 4, 8, 4, 24) != "phase"  # 1-d at stride 4
    assert chosen((3830,), 4, 2, 8, 4, 24) != "phase"  # 1-d, m = 2
    assert chosen((84, 84), 5, 2, 8, 3, 8) != "phase"  # not a multiple of the stride
    assert chosen((84, 84), 8, 2, 8, 32, 8) == "phase"  # 32 input channels, k = 4s (phase.FEW_LONG_INPUTS)
    assert chosen((84, 84), 8, 2, 8, 40, 8) != "phase"  # 40 input channels
    assert chosen((84, 84), 4, 2, 8, 24, 8) != "phase"  # 24 input channels, k = 2s
    assert chosen((12, 12), 8, 2, 8, 24, 64) != "phase"  # 24 input channels on 12^2: the grid mostly padding
    assert chosen((84, 84), 8, 2, 8, 8, 4) != "phase"  # 4 output channels
    assert chosen((84, 84), 8, 2, 8, 8, 16, dilation=2) != "phase"
    assert chosen((84, 84), 8, 2, 8, 8, 16, groups=2) != "phase"
    small = Problem(1, layout, 8, 16, np.dtype(np.float32), np.zeros(0, np.float32), False)
    assert not _phase.few_inputs(conv_transpose_geometry((20, 20), 8, 2), small, 1)  # 6.6 MFLOP: small_blocks'
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 3, 40, 31)).astype(np.float32)
    w = rng.standard_normal((3, 8, 8, 8)).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    kwargs = dict(stride=2, padding=(3, 2), output_padding=(0, 1))
    assert chosen((40, 31), 8, 2, 2, 3, 8, padding=(3, 2), output_padding=(0, 1)) == "phase"
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    y = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, layout=layout)
    assert_close(from_layout(y, layout), expected)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_a_few_groups_of_few_input_channels_take_phase_where_the_kernel_is_long_whole_multiples(layout):
    """``phase.few_inputs_grouped``: 2-4 groups of 2-12 input and 12 or more output channels, a 2-d kernel of
    8 or more taps per axis that is whole multiples of the stride, above ``gemm.SMALL_FLOPS``, runs ``phase``
    where the rules said ``gemm``; the bounds keep the other rules; and the call agrees with the scatter
    reference."""

    def chosen(size, kernel, stride, n, c_in, c_out, groups, **kwargs):
        geometry = conv_transpose_geometry(size, kernel, stride, **kwargs)
        return choose(geometry, groups=groups, n=n, c_in=c_in, c_out=c_out, layout=layout)

    assert chosen((75, 75), 8, 2, 1, 24, 192, 4, padding=3) == "phase"  # a held-out layer: 64 -> 22.6 ms
    assert chosen((62, 62), 8, 2, 1, 24, 96, 2, padding=3) == "phase"  # 2.7x
    assert chosen((29, 29), 8, 4, 2, 30, 72, 3, padding=3) == "phase"  # k8 s4
    assert chosen((75, 75), 8, 2, 1, 48, 192, 8, padding=3) != "phase"  # 8 groups
    assert chosen((75, 75), 4, 2, 1, 24, 192, 4, padding=1) != "phase"  # k4 s2
    assert chosen((75, 75), 6, 3, 1, 24, 192, 4, padding=1) != "phase"  # k6 s3
    assert chosen((30, 30), 8, 2, 1, 64, 64, 4, padding=3) != "phase"  # 16 input channels a group (0.18x)
    assert chosen((75, 75), 8, 2, 1, 24, 32, 4, padding=3) != "phase"  # 8 output channels a group
    assert chosen((75, 75), 7, 2, 1, 24, 192, 4, padding=3) != "phase"  # not a multiple of the stride
    assert chosen((75, 75), 8, 2, 1, 24, 192, 4, dilation=2) != "phase"
    assert chosen((38, 38), 8, 2, 4, 8, 256, 4) == "direct"  # few input channels' direct stays (0.77-1.57x)
    small = Problem(2, layout, 24, 96, np.dtype(np.float32), np.zeros(0, np.float32), False)
    assert not _phase.few_inputs_grouped(conv_transpose_geometry((10, 10), 8, 2, 3), small, 1)  # 15 MFLOP
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 16, 24, 21)).astype(np.float32)
    w = rng.standard_normal((16, 32, 8, 8)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    kwargs = dict(stride=2, padding=(3, 2), output_padding=(0, 1), groups=2)
    assert chosen((24, 21), 8, 2, 1, 16, 64, 2, padding=(3, 2), output_padding=(0, 1)) == "phase"
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    y = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, layout=layout)
    assert_close(from_layout(y, layout), expected)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "case",
    [
        # several tiles of block-grid lead rows, whose output lead rows interleave the first axis's phases
        Case("3d-k4s2", 2, 3, 5, (21, 9, 10), (4, 4, 4), stride=2, padding=1, output_padding=(1, 0, 0)),
        # uneven kernels (m = 4, 2, 1 per axis), a stride of 3 along the last axis (channels-last columns
        # for a channels-first output: the transposed orientation is for strides up to 2), a crop larger
        # than the stride
        Case(
            "3d-uneven", 3, 6, 4, (13, 7, 9), (8, 4, 3), stride=(2, 2, 3), padding=(5, 1, 0), output_padding=(1, 1, 2)
        ),
        Case("3d-one-sample", 1, 16, 2, (17, 16, 15), (6, 6, 6), stride=3, padding=2),
    ],
    ids=lambda case: case.id,
)
def test_3d_all_phase_gemm_in_tiles(case, layout, dtype, monkeypatch):
    """3-d kernels of whole multiples of the stride take the tiled all-phase GEMM (its output lead rows
    sorted by their block-grid row, each band's written where it belongs), in tiles small enough that
    there are many, plain and prepared; they match the float64 scatter reference and leave the input as
    it was."""
    monkeypatch.setattr(_phase, "BLOCK_TILE_BYTES", 2**12)
    geometry = conv_transpose_geometry(case.size, case.kernel, case.stride, case.padding, case.output_padding)
    problem = Problem(1, layout, case.c_in, case.c_out, np.dtype(dtype), np.zeros(0, dtype), False)
    assert _phase._block_plan(geometry, problem, case.n) is not None
    _check_phase(case, layout, dtype, seed=3)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "case",
    [
        # k7 s2 (phases of 4 and 3 taps per axis), rounded up to k8: a held-out 3 -> 24 layer at 23^3 ran
        # the phase-by-phase GEMMs 4x slower than PyTorch
        Case("3d-k7s2", 2, 3, 5, (9, 8, 7), (7, 7, 7), stride=2, padding=1),
        # a different remainder per axis (k5 s2 -> 6, k4 s3 -> 6, k3 s2 -> 4), crops beyond the stride,
        # output padding: the zero taps land past the crop or inside the output
        Case("3d-uneven", 3, 4, 3, (7, 6, 9), (5, 4, 3), stride=(2, 3, 2), padding=(3, 0, 2), output_padding=(1, 2, 0)),
        # one sample, stride 3 along the last axis (channels-last columns for a channels-first output)
        Case("3d-one-sample", 1, 16, 2, (10, 9, 8), (5, 5, 5), stride=3, padding=2),
        # 2-d (16 output channels or more): k7 s2 -> k8 and k5 s3 -> k6, output padding
        Case("2d-uneven", 2, 5, 16, (11, 9), (7, 5), stride=(2, 3), padding=(3, 1), output_padding=(1, 2)),
    ],
    ids=lambda case: case.id,
)
def test_rounded_kernels_take_the_all_phase_gemm(case, layout, dtype, monkeypatch):
    """A 3-d kernel (or a 2-d one of 16 output channels or more) that is not a whole multiple of the
    stride, of few input channels, is rounded up by zero taps (``phase.rounded``): the tiled all-phase
    GEMM of the rounded kernel, in many small tiles, plain and prepared, matches the float64 scatter
    reference and leaves the input as it was."""
    monkeypatch.setattr(_phase, "BLOCK_TILE_BYTES", 2**12)
    geometry = conv_transpose_geometry(case.size, case.kernel, case.stride, case.padding, case.output_padding)
    problem = Problem(1, layout, case.c_in, case.c_out, np.dtype(dtype), np.zeros(0, dtype), False)
    whole = _phase.rounded(geometry, problem)
    assert whole is not None and whole.output_size == geometry.output_size
    assert all(k % s == 0 for k, s in zip(whole.kernel_size, whole.stride))
    assert _phase._blocks(_phase._grid(geometry), case.c_in) is None  # the kernel's own phases: unequal taps
    assert _phase._block_plan(geometry, problem, case.n) is not None
    _check_phase(case, layout, dtype, seed=5)


def test_rounded_kernels_with_non_finite_values():
    """The rounded kernel's zero taps multiply input cells, so an infinite or NaN input takes the
    phase-by-phase GEMMs (no ``0 * inf`` where no tap of the kernel reaches), plain, prepared and through
    ``"auto"``; an infinite weight keeps the split of :func:`tconv._algorithms.phase.run`. Each matches
    the float64 scatter reference, NaN for NaN and infinity for infinity."""
    case = Case("3d-k7s2", 2, 3, 5, (9, 8, 7), (7, 7, 7), stride=2, padding=1)
    x, w, b = case.arrays(seed=7)
    kwargs = case.kwargs()
    x_inf, w_inf = x.copy(), w.copy()
    x_inf[1, 2, 4, 3, 6] = np.inf
    x_inf[0, 0, 0, 0, 0] = np.nan
    w_inf[2, 1, 6, 0, 3] = -np.inf
    for xi, wi in ((x_inf, w), (x, w_inf), (x_inf, w_inf)):
        expected = tconv.conv_transpose(xi, wi, b, **kwargs, algorithm="scatter")
        x32, w32, b32 = xi.astype(np.float32), wi.astype(np.float32), b.astype(np.float32)
        results = [
            tconv.conv_transpose(x32, w32, b32, **kwargs, algorithm=algorithm) for algorithm in ("phase", "auto")
        ]
        results.append(tconv.prepare(w32, **kwargs, algorithm="phase")(x32, b32))
        for y in results:
            np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
            np.testing.assert_array_equal(np.isinf(y), np.isinf(expected))
            finite = np.isfinite(expected)
            assert_close(np.where(finite, y, 0), np.where(finite, expected, 0), dtype=np.float32)


def test_3d_few_input_channels_take_the_all_phase_gemm():
    """``phase.few_inputs`` in 3-d: 2-16 input channels (up to 32 where the block grid is at most twice the
    input) and 2 or more output channels, a kernel of whole multiples of the stride with ``m >= 2`` on some
    axis, an all-phase weight that the tiles take; a random held-out layer (3 -> 4 channels, k8 s2 at 21^3)
    ran the phase-by-phase GEMMs of 3 input channels each, 16x slower than PyTorch."""

    def chosen(size, kernel, stride, n, c_in, c_out, **kwargs):
        return choose(conv_transpose_geometry(size, kernel, stride, **kwargs), groups=1, n=n, c_in=c_in, c_out=c_out)

    assert chosen((21, 21, 21), 8, 2, 2, 3, 4, padding=2) == "phase"
    assert chosen((24, 24, 24), 4, 2, 1, 8, 8, padding=1) == "phase"
    assert chosen((24, 24, 24), 4, 2, 1, 32, 32, padding=1) == "phase"  # the grid 1.13 times the input
    assert chosen((12, 12, 12), 4, 2, 1, 2, 64, padding=1) == "phase"  # rule 3's "direct" before
    assert chosen((8, 8, 8), 8, 2, 1, 24, 32, padding=2) != "phase"  # 24 channels, the grid 2.6 times the input
    assert chosen((24, 24, 24), 4, 2, 1, 16, 1, padding=1) != "phase"  # one output channel

    def few(size, kernel, stride, c_in, c_out, **kwargs):
        problem = Problem(1, "channels_first", c_in, c_out, np.dtype(np.float32), np.zeros(0, np.float32), False)
        return _phase.few_inputs(conv_transpose_geometry(size, kernel, stride, **kwargs), problem, 1)

    assert few((24, 24, 24), 4, 2, 16, 16, padding=1)
    assert not few((12, 12, 12), 8, 2, 16, 64, padding=2)  # a 2 MiB all-phase weight: no tiles
    assert few((24, 24, 24), 3, 2, 8, 8, padding=1)  # k3 s2: rounded up to k4 (phase.rounded)
    assert not few((24, 24, 24), 5, 4, 8, 8, padding=1)  # k5 s4 rounded to k8: 4.1 times the taps
    assert not few((24, 24, 24), 5, 2, 24, 8, padding=1)  # 24 input channels at stride 2: gemm
    assert few((24, 24, 24), 7, 4, 24, 8, padding=1)  # ... at stride 4: rounded
    assert few((64, 64), 7, 2, 8, 32, padding=3)  # 2-d k7 s2 of 32 output channels: rounded
    assert not few((64, 64), 7, 2, 8, 8, padding=3)  # 8 output channels: gemm
    assert not few((64, 64), 3, 2, 8, 32, padding=1)  # 2-d k3 s2: 1.78 times the taps
    assert not few((24, 24, 24), 2, 2, 8, 8)  # k = s: one tap per phase
    assert not few((24, 24, 24), 4, 2, 8, 8, dilation=2)
