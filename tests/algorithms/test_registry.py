"""tconv._algorithms: the table of algorithms, the cost model, and every fast algorithm's shared guarantees.

Each fast algorithm gives the reference result with NumPy alone (compiled kernels off), with any
number of threads, and for every window form. (Every algorithm against PyTorch: tests/test_ops_torch.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, from_layout, to_layout

import tconv

FAST = ("gemm", "phase", "direct", "im2col", "winograd", "registers")
LAYOUTS = ("channels_first", "channels_last")


def reference(case, x, w, b):
    return tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="scatter")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_numpy_only_path(case, algorithm, layout):
    """With compiled kernels off, every fast algorithm still gives the reference result."""
    x, w, b = case.arrays(np.float32)
    with tconv.options(compiled=False):
        y = tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), layout=layout, algorithm=algorithm)
    assert_close(from_layout(y, layout), reference(case, x, w, b), dtype=np.float32)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("algorithm", FAST)
def test_thread_counts(algorithm, threads):
    case = CASES[CASE_IDS.index("2d-dcgan-k4s2p1")]
    x, w, b = case.arrays()
    with tconv.options(threads=threads):
        assert_close(tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm=algorithm), reference(case, x, w, b))


@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize(
    "padding, extra",
    [("same", {}), (((2, -1), (-2, 3)), {}), (1, {"output_size": (16, 15)})],
    ids=["same", "pairs", "output_size"],
)
def test_general_windows(algorithm, padding, extra):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 8, 7))
    w = rng.standard_normal((4, 3, 3, 4))
    kwargs = dict(stride=2, padding=padding, groups=1, **extra)
    expected = tconv.conv_transpose(x, w, **kwargs, algorithm="scatter")
    for layout in LAYOUTS:
        y = tconv.conv_transpose(to_layout(x, layout), w, **kwargs, layout=layout, algorithm=algorithm)
        assert_close(from_layout(y, layout), expected)


def test_the_table_lists_every_algorithm_in_order():
    from tconv._algorithms import ALGORITHMS

    names = ("scatter", "dilate", "matrix", "gemm", "phase", "direct", "im2col", "winograd", "registers")
    assert tconv.algorithms() == names
    assert tconv.algorithms("conv") == ("direct", "matrix", "gemm")
    for op, table in ALGORITHMS.items():
        assert tuple(table) == tconv.algorithms(op)
        assert all(a.name == name and a.summary for name, a in table.items())


def test_get_lists_the_valid_names():
    from tconv._algorithms import get

    assert get("phase").name == "phase"
    with pytest.raises(ValueError, match=r"algorithm 'fft' not found, valid options are \{'auto', 'direct', 'matrix'"):
        get("fft", op="conv")
    with pytest.raises(ValueError, match=r"op must be one of \('conv_transpose', 'conv'\), got 'deconv'"):
        tconv.algorithms("deconv")


@pytest.mark.parametrize(
    "size, kernel, stride, c_in, c_out, groups, compiled, numpy_only",
    [
        ((16, 16), 4, 2, 32, 32, 32, "direct", "direct"),  # depthwise
        ((32, 32), 4, 2, 128, 128, 32, "gemm", "direct"),  # 32 groups of 4 -> 4 on rows of 32: the rows
        ((16, 16), 4, 2, 256, 256, 64, "direct", "direct"),  # 64 groups of 4 -> 4 on rows of 16: along the groups
        ((200,), 16, 8, 256, 256, 64, "gemm", "direct"),  # 64 groups of 4 -> 4, 1-d: the rows
        ((16, 16), 4, 2, 32, 32, 4, "gemm", "scatter"),  # 4 groups of 8 -> 8: per-group GEMMs
        ((16, 16), 4, 2, 16, 16, 4, "gemm", "direct"),  # 4 groups of 4 -> 4: too few groups to run along
        ((32, 32), 3, 2, 64, 16, 8, "gemm", "direct"),  # 8 groups of 8 -> 2: gemm (0.72x with direct)
        ((32, 32), 4, 2, 64, 64, 16, "gemm", "direct"),  # 16 groups of 4 -> 4, rows of 32: the rows
        ((8, 8, 8), 4, 2, 64, 64, 16, "direct", "direct"),  # 16 groups of 4 -> 4 in 3-d: along the groups
        ((44, 44), 3, 2, 256, 16, 16, "gemm", "direct"),  # 16 groups of 16 -> 1: gemm (direct 4-8x as slow)
        ((1000,), 8, 4, 32, 128, 16, "gemm", "direct"),  # 16 groups of 2 -> 8 in 1-d: gemm (direct 1.3x)
        ((32, 32), 3, 2, 32, 128, 16, "gemm", "direct"),  # 16 groups of 2 -> 8 in 2-d, rows of 32: the rows
        ((14, 14), 5, 1, 128, 128, 32, "direct", "direct"),  # 32 groups of 4 -> 4, rows of 14, 100 terms
        ((42, 42), 1, 1, 192, 512, 1, "gemm", "gemm"),  # pointwise: a product per pixel, not im2col
        ((76, 76), 1, 1, 2, 8, 2, "gemm", "gemm"),  # pointwise with groups of one input channel
        ((20, 20, 20), 3, 1, 32, 96, 2, "registers", "phase"),  # stride 1, 2 groups, 3-d: tiles (20 -> 11 ms)
        ((32, 32), 3, 1, 64, 128, 4, "winograd", "phase"),  # stride 1, 4 groups, 2-d, ~twice: not im2col
        ((8, 8, 8), 3, 2, 16, 16, 1, "gemm", "phase"),  # 3-d, overlapping stamps, few pixels
        ((16, 16, 16), 3, 2, 64, 32, 1, "gemm", "phase"),  # 3-d, overlapping, 4096 pixels x 27 taps
        ((12, 12, 12), 4, 2, 64, 64, 1, "gemm", "phase"),  # 3-d k4 s2 at 12^3
        ((16, 16, 16), 4, 2, 64, 32, 1, "gemm", "phase"),  # 3-d k4 s2 at 16^3: 262 144 pixels x taps
        ((20, 20, 20), 4, 2, 64, 32, 1, "phase", "phase"),  # 3-d k4 s2 at 20^3: 512 000
        ((32, 32, 32), 3, 2, 32, 16, 1, "phase", "phase"),  # 3-d k3 s2 at 32^3: 884 736
        ((20, 20, 20), 3, 2, 32, 16, 1, "gemm", "phase"),  # 3-d k3 s2 at 20^3: 216 000
        ((16, 16, 16), 3, 2, 64, 64, 4, "gemm", "phase"),  # 3-d with groups: gemm
        ((16, 16, 16), 2, 2, 64, 32, 1, "gemm", "scatter"),  # 3-d, k = s: no overlap
        ((8, 8, 8), 2, 2, 16, 16, 1, "gemm", "scatter"),  # 3-d, k = s: no overlap
        ((16, 16), 4, 2, 16, 16, 1, "phase", "phase"),  # 2-d, overlapping, few channels: the all-phase GEMM
        ((16, 16), 4, 2, 64, 64, 1, "gemm", "phase"),  # 2-d, overlapping
        ((16, 16), 4, 2, 16, 4, 1, "gemm", "scatter"),  # few output channels
        ((1, 1), 4, 1, 64, 64, 1, "gemm", "gemm"),  # a single input pixel
        ((8, 8), 4, 2, 1024, 512, 1, "gemm", "gemm"),  # 32 MiB of weights on 64 pixels
        ((56, 56), 5, 1, 16, 192, 1, "im2col", "phase"),  # stride 1, fewer input channels: a convolution
        ((56, 56), 5, 1, 192, 16, 1, "gemm", "phase"),  # stride 1, more input channels
        ((56, 56), 5, 1, 32, 64, 2, "registers", "phase"),  # stride 1 with groups: tiles (gemm 8.3 ms, 2.3)
        ((56, 56), 5, 1, 96, 64, 2, "gemm", "phase"),  # 48 input channels per group: gemm
        ((56, 56), 3, 1, 64, 64, 1, "winograd", "phase"),  # stride 1, 3x3, 64 channels: F(2x2, 3x3)
        ((32, 32), 3, 1, 32, 32, 1, "winograd", "phase"),  # stride 1, 3x3, 32 channels
        ((32, 32), 3, 1, 32, 8, 1, "gemm", "scatter"),  # 8 output channels: too few GEMM columns
        ((64, 64), 16, 8, 21, 21, 1, "winograd", "phase"),  # FCN's x8: 64 phases of 21 channels
        ((56, 56), 5, 1, 64, 64, 1, "gemm", "phase"),  # stride 1, 5x5: no Winograd form
        ((64, 64), 4, 2, 128, 64, 1, "winograd", "phase"),  # k4 s2 on a large image: F(3x3, 2x2) on 4 phases
        ((7, 7), 4, 2, 128, 64, 1, "gemm", "phase"),  # k4 s2 on 7x7: the tiles' edges waste the savings
        ((16, 16), 4, 2, 512, 256, 1, "gemm", "gemm"),  # a 32 MiB transformed weight on few tiles
        ((16, 16, 16), 3, 1, 32, 64, 1, "registers", "phase"),  # stride 1, 3-d, <= 48 -> 96: tiles (1.57x im2col)
        ((16, 16, 16), 3, 1, 64, 128, 1, "gemm", "phase"),  # more channels than the tiles take: gemm
        ((16, 16, 16), 3, 1, 1, 64, 1, "im2col", "phase"),  # one input channel in 3-d: never the tiles
        ((16, 16), 3, 2, 1, 64, 1, "direct", "phase"),  # one input channel, 64 outputs, rows of 33: direct
        ((48, 48), 3, 2, 1, 64, 1, "gemm", "phase"),  # the same on rows of 97: gemm's rows
        ((16, 16, 16), 2, 2, 64, 64, 16, "gemm", "direct"),  # 16 groups of 4 -> 4, stamps apart: gemm
        ((16, 16, 16), 3, 2, 64, 64, 16, "direct", "direct"),  # the same, stamps overlapping: along groups
        ((1, 1), 4, 1, 16, 64, 1, "gemm", "direct"),  # stride 1, but 16 output pixels per input pixel
        ((1, 1), 4, 1, 16, 1024, 1, "gemm", "gemm"),  # a single input pixel: one plain GEMM, whatever the channels
        ((64, 64), 4, 2, 1, 32, 1, "gemm", "phase"),  # one input channel: gemm's rows straight from the input
        ((64, 64), 4, 2, 1, 128, 1, "direct", "phase"),  # one input channel, 128 outputs: direct's tap tables
        ((64, 64), 4, 2, 4, 128, 4, "direct", "phase"),  # one input channel per group, 32 outputs each
        ((64, 64), 4, 2, 1, 1, 1, "gemm", "scatter"),  # one channel in and out: gemm
        ((64, 64), 3, 1, 1, 64, 1, "direct", "phase"),  # one input channel at stride 1: planes (2.8x the tiles)
        ((1, 1), 4, 1, 1, 64, 1, "gemm", "direct"),  # one input pixel: one plain GEMM
        ((100000,), 16, 8, 1, 4, 1, "gemm", "scatter"),  # one input channel, tap tables too large to keep
        # few input channels in 3-d: the tiled all-phase GEMM (phase.few_inputs; "direct" before, 1.15x)
        ((8, 8, 8), 4, 2, 4, 192, 1, "phase", "phase"),
        ((24, 24), 4, 2, 2, 64, 1, "phase", "phase"),  # 2 -> 64, 2-d, small: the all-phase GEMM (1.06x direct)
        ((500,), 8, 4, 8, 64, 1, "direct", "phase"),  # 8 -> 64, 1-d
        ((24, 24), 4, 2, 16, 128, 1, "phase", "phase"),  # 16 input channels, k4 s2: phase.few_inputs (1.32x gemm)
        ((24, 24), 4, 2, 32, 128, 1, "gemm", "phase"),  # 32 input channels: gemm
        ((88, 88), 7, 2, 4, 1, 1, "gemm", "scatter"),  # few input channels, but one output channel: gemm
        ((1946,), 4, 2, 3, 32, 1, "phase", "phase"),  # 32 outputs, small: the all-phase GEMM (1.18x gemm)
        ((1946,), 4, 2, 48, 32, 1, "gemm", "phase"),  # 48 input channels: gemm
        ((492,), 32, 2, 16, 512, 1, "phase", "phase"),  # 16 -> 512, 1-d k32 s2: the all-phase GEMM (1.83x gemm)
        ((492,), 32, 2, 32, 512, 1, "gemm", "phase"),  # 32 input channels in 1-d: gemm
        ((1994,), 4, 4, 4, 192, 1, "gemm", "scatter"),  # stamps that do not overlap: gemm (transposed)
        ((400,), 4, 2, 16, 256, 4, "direct", "phase"),  # 4 groups of 4 -> 64: few inputs per group
        ((20, 20), 3, 1, 4, 64, 1, "registers", "phase"),  # few input channels at stride 1: register tiles
        ((64, 64), 5, 1, 3, 8, 1, "registers", "scatter"),  # 3 -> 8, k5 s1: half a tile's lanes, tiles (2.8x)
        ((40, 40), 3, 1, 4, 8, 1, "registers", "scatter"),  # 4 -> 8, k3 s1: the tiles (registers.FEW_OUTPUTS)
        ((40, 40), 3, 1, 16, 8, 1, "gemm", "scatter"),  # 16 -> 8: more inputs, gemm's GEMM
        ((2000,), 3, 1, 4, 7, 1, "gemm", "scatter"),  # 1-d k3: 3 taps, not the tiles
        ((2000,), 7, 1, 4, 7, 1, "registers", "scatter"),  # 1-d k7: the tiles
        ((20, 20), 3, 1, 4, 128, 1, "im2col", "phase"),  # more output channels: im2col's GEMM
        ((48, 48), 8, 2, 24, 32, 1, "phase", "phase"),  # 24 inputs, 4 strides a kernel: the all-phase GEMM
        ((48, 48), 12, 3, 17, 48, 1, "phase", "phase"),  # 17 inputs, k12 s3 (phase.FEW_LONG_INPUTS)
        ((12, 12), 8, 2, 24, 64, 1, "gemm", "phase"),  # the same on 12^2: its block grid mostly padding
        ((48, 48), 8, 2, 40, 32, 1, "gemm", "phase"),  # 40 inputs: gemm
        ((48, 48), 5, 1, 1, 64, 1, "direct", "phase"),  # one input channel, stride 1, 2-d: planes (SHIFTS_2D)
        ((48, 48), 3, 1, 4, 256, 4, "direct", "phase"),  # the same a group
        ((48, 48), 3, 1, 2, 64, 1, "registers", "phase"),  # two input channels: the register tiles
        ((2000,), 9, 1, 1, 128, 1, "direct", "phase"),  # 1-d, one input channel, 128 outputs: rows (SHIFTS_1D_OUTPUTS)
        ((2000,), 9, 1, 2, 16, 2, "gemm", "direct"),  # 1-d, 8 outputs a group: gemm's rows from the input
    ],
)
def test_the_cost_model(size, kernel, stride, c_in, c_out, groups, compiled, numpy_only):
    """The rules of choose(), with the compiled kernels and with NumPy alone (docs/performance.md)."""
    from tconv._algorithms import choose
    from tconv._algorithms.compiled import available
    from tconv.geometry import conv_geometry, conv_transpose_geometry

    g = conv_transpose_geometry(size, kernel, stride=stride)
    if available():
        assert choose(g, groups, 2, c_in, c_out) == compiled
    with tconv.options(compiled=False):
        assert choose(g, groups, 2, c_in, c_out) == numpy_only
    assert choose(conv_geometry((9, 9), 3), 1, 2, c_in, c_out, op="conv") == "gemm"


def test_one_input_channel_runs_gemms_rows_in_channels_first_only():
    """One input channel per group: gemm's rows straight from the input (direct_rows) where the output
    is channels-first (with groups: rows of 256 outputs or more, or at most 24 output channels);
    channels-last keeps direct's tap tables."""
    from tconv._algorithms import choose
    from tconv.geometry import conv_transpose_geometry

    g = conv_transpose_geometry((64, 64), 4, stride=2, padding=1)
    assert choose(g, 1, 8, 1, 8) == "gemm"
    assert choose(g, 1, 8, 1, 8, layout="channels_last") == "direct"
    assert choose(g, 8, 8, 8, 16) == "gemm"  # depthwise with a multiplier, 16 channels: the rows
    assert choose(g, 16, 8, 16, 32) == "direct"  # 32 channels, rows of 128: along the channels
    assert choose(g, 16, 8, 16, 32, layout="channels_last") == "direct"
    long = conv_transpose_geometry((400,), 4, stride=2, padding=1)  # rows of 800
    assert choose(long, 512, 2, 512, 512) == "gemm"  # depthwise 1-d: the rows
    assert choose(long, 512, 2, 512, 512, layout="channels_last") == "direct"


def test_a_prepared_plan_counts_on_reuse_and_a_layer_plan_does_not():
    """Winograd's weight transform is paid once by a plan of tconv.prepare, on every call of a plain
    call, and on every training step by a layer's plan (made anew after each change of the weight):
    "auto" takes Winograd from fewer tiles for the first only."""
    from tconv._algorithms import choose, compiled
    from tconv.geometry import conv_transpose_geometry
    from tconv.nn import ConvTranspose2d

    g = conv_transpose_geometry((16, 16), 4, stride=2, padding=1)  # 4 x 256 -> 256, 4 groups: 144 tiles
    assert choose(g, 4, 4, 256, 256) == "gemm"
    assert choose(g, 4, 4, 256, 256, reused=True) == ("winograd" if compiled.available() else "gemm")
    vocoder = conv_transpose_geometry((200,), 16, stride=8, padding=4)  # 1-d F(3, 2): 1.5x fewer products
    assert choose(vocoder, 1, 4, 512, 256) == "gemm"
    assert choose(vocoder, 1, 4, 512, 256, reused=True) == ("winograd" if compiled.available() else "gemm")
    narrow = conv_transpose_geometry((1000,), 4, stride=2, padding=1)  # the same, 2 phases x 64 channels
    assert choose(narrow, 1, 4, 128, 64, reused=True) == "gemm"
    plan = tconv.prepare(np.zeros((256, 64, 4, 4), np.float32), stride=2, padding=1, groups=4)
    assert plan._reused
    layer = ConvTranspose2d(8, 8, 4, stride=2, padding=1)
    layer(np.zeros((1, 8, 5, 5), np.float32))
    assert not layer._plan._reused


def test_winograd_option_keeps_auto_off_winograd(monkeypatch):
    """``tconv.options(winograd=False)``: "auto" (plain calls and plans) never runs Winograd, where it
    otherwise does; ``algorithm="winograd"`` still does."""
    from tconv._algorithms import choose, compiled, winograd
    from tconv.geometry import conv_transpose_geometry

    g = conv_transpose_geometry((32, 32), 3, padding=1)
    fast = compiled.available()  # Winograd runs with the compiled kernels only
    assert choose(g, 1, 8, 128, 128) == ("winograd" if fast else "gemm")
    ran = []
    original = winograd.winograd
    monkeypatch.setattr(winograd, "winograd", lambda *args: ran.append(1) or original(*args))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 128, 32, 32)).astype(np.float32)
    w = rng.standard_normal((128, 128, 3, 3)).astype(np.float32)
    with tconv.options(winograd=False):
        assert choose(g, 1, 8, 128, 128) == "gemm"
        assert choose(g, 1, 8, 128, 128, reused=True) == "gemm"
        tconv.conv_transpose(x, w, padding=1)
        tconv.prepare(w, padding=1)(x)
        assert not ran
        tconv.conv_transpose(x, w, padding=1, algorithm="winograd")
        assert bool(ran) == fast
    ran.clear()
    tconv.conv_transpose(x, w, padding=1)
    assert bool(ran) == fast  # the default lets "auto" run it


def test_problem_reads_the_channels_off_the_weight():
    from tconv._algorithms.problem import Problem

    x, w = np.ones((2, 6, 5), np.float32), np.ones((6, 2, 3), np.float64)
    p = Problem.of(x, w, None, 3, "channels_first", "conv_transpose")  # weight (C_in, C_out/G, k)
    assert (p.c_in, p.c_out, p.cig, p.cog, p.dtype, p.has_bias) == (6, 6, 2, 2, np.float64, False)
    assert p.bias.tolist() == [0.0] * 6 and p.bias_fill(1) == 0
    p = Problem.of(x, np.ones((4, 2, 3)), np.arange(4), 3, "channels_last", "conv")  # weight (C_out, C_in/G, k)
    assert (p.c_in, p.c_out, p.cig, p.has_bias) == (6, 4, 2, True)
    assert p.bias_fill(2).tolist() == [0, 1, 2, 3]
    assert p.output(5, (7, 8)).shape == (5, 7, 8, 4)
