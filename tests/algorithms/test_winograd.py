"""tconv._algorithms.winograd: F(2x2, 3x3) and F(3x3, 2x2) against the reference, every padding form, the
units under a small budget, the values it leaves to gemm, and its float32 error."""

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


K4S2_PADDINGS = [0, 1, 2, 3, ((0, 2), (1, 0)), ((2, -1), (-2, 1)), "same"]


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("output_padding", [0, 1])
@pytest.mark.parametrize("padding", K4S2_PADDINGS, ids=str)
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (4, 5), (7, 8), (9, 6)], ids=str)
@pytest.mark.parametrize("kernel", [4, 5])
def test_winograd_four_phases_equal_the_reference(kernel, size, padding, output_padding, layout):
    """The four-phase forms at stride 2, F(3x3, 2x2) of a k4 kernel and F(2x2, 3x3) of a k5 kernel
    (phases of 3 and 2 taps per axis), on every crop: outputs before the first tile row, after the
    last, cut in the middle of a tile, and the extra row of output padding."""
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 5, *size)), rng.standard_normal((5, 3, kernel, kernel))
    b = rng.standard_normal(3)
    kwargs = dict(stride=2, padding=padding, output_padding=output_padding)
    try:
        expected = tconv.conv_transpose(x, w, b, algorithm="scatter", **kwargs)
    except ValueError:  # no output left, or output padding the padding form does not allow: refused alike
        with pytest.raises(ValueError):
            tconv.conv_transpose(x, w, b, algorithm="winograd", **kwargs)
        return
    y = tconv.conv_transpose(to_layout(x, layout), w, b, layout=layout, algorithm="winograd", **kwargs)
    assert_close(from_layout(y, layout), expected)


@pytest.mark.parametrize("block", [1, 2, None], ids=["block1", "block2", "whole"])
@pytest.mark.parametrize("groups", [1, 2, 3])
@pytest.mark.parametrize("kernel, stride", [(3, 1), (4, 2), (5, 2)])
def test_winograd_groups_and_blocks_of_output_channels(kernel, stride, groups, block, monkeypatch):
    """Groups (each its own tiles and GEMMs) and a transformed weight cut into blocks of output
    channels (of 1 and 2 channels here, 3 per group), in one thread and two, against the reference."""
    if block is not None:  # bytes of `block` channels' transformed weight: 16 * C_in/G * phases * 8
        monkeypatch.setattr(winograd, "BLOCK_WEIGHT_BYTES", block * 16 * 2 * stride * stride * 8)
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((3, 2 * groups, 7, 6)), rng.standard_normal((2 * groups, 3, kernel, kernel))
    b = rng.standard_normal(3 * groups)
    kwargs = dict(stride=stride, padding=1, groups=groups)
    expected = tconv.conv_transpose(x, w, b, algorithm="scatter", **kwargs)
    for threads in (1, 2):
        with tconv.options(threads=threads):
            for layout in ("channels_first", "channels_last"):
                y = tconv.conv_transpose(to_layout(x, layout), w, b, layout=layout, algorithm="winograd", **kwargs)
                assert_close(from_layout(y, layout), expected)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("kernel, stride", [(3, 1), (2, 1), (4, 2), (6, 3), (16, 8), (5, 2), (7, 3), (9, 4)])
@pytest.mark.parametrize("length", [1, 2, 7, 40, 301])
def test_winograd_1d_and_kernels_of_twice_the_stride(length, kernel, stride, layout):
    """1-d layers (a vocoder's k16 s8 up-sampling: eight phases of two taps each), and every kernel of
    twice the stride, or twice the stride plus one (phases of 3 and 2 taps), against the reference,
    with padding, output padding and groups; 301 samples make more than the 64 tiles the 1-d output
    pass assembles at a time."""
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 4, length)), rng.standard_normal((4, 3, kernel)), rng.standard_normal(6)
    for padding, output_padding in ((0, 0), (stride // 2, 0), (kernel - 1, stride - 1)):
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=2)
        try:
            expected = tconv.conv_transpose(x, w, b, algorithm="scatter", **kwargs)
        except ValueError:
            continue
        y = tconv.conv_transpose(to_layout(x, layout), w, b, layout=layout, algorithm="winograd", **kwargs)
        assert_close(from_layout(y, layout), expected)
    xs, ws = rng.standard_normal((1, 4, 6, 5)), rng.standard_normal((4, 3, kernel, kernel))  # 2-d, same kernel
    expected = tconv.conv_transpose(xs, ws, stride=stride, padding=1, algorithm="scatter")
    assert_close(tconv.conv_transpose(xs, ws, stride=stride, padding=1, algorithm="winograd"), expected)


def test_winograd_applies_to_3_taps_at_stride_1_and_twice_the_stride():
    """Elsewhere "winograd" is "gemm" (the case table of tests/test_ops.py covers those results)."""
    problem = Problem(1, "channels_first", 4, 4, np.dtype(np.float32), np.zeros(4, np.float32), False)
    assert winograd.applies(conv_transpose_geometry((8, 8), 3, padding=1), problem)
    assert winograd.applies(conv_transpose_geometry((8, 8), 4, stride=2, padding=1), problem)
    assert winograd.applies(conv_transpose_geometry((8,), 16, stride=8, padding=4), problem)  # 1-d, k = 2s
    assert winograd.applies(conv_transpose_geometry((8, 8), 2), problem)  # 2x2 at stride 1: k = 2s too
    assert winograd.applies(conv_transpose_geometry((8, 8), 5, stride=2, padding=2), problem)  # k = 2s + 1
    assert winograd.applies(conv_transpose_geometry((8, 8), 7, stride=3), problem)
    assert winograd.applies(conv_transpose_geometry((8,), 9, stride=4), problem)
    others = [(3, dict(stride=2)), (3, dict(dilation=2)), (4, {}), (4, dict(stride=(2, 1))), (5, {})]
    for kernel, other in others + [(6, dict(stride=2)), (5, dict(stride=2, dilation=2))]:
        assert not winograd.applies(conv_transpose_geometry((8, 8), kernel, **other), problem)
    assert not winograd.applies(conv_transpose_geometry((8, 8), (4, 2), stride=2), problem)
    assert not winograd.applies(conv_transpose_geometry((8, 8, 8), 3), problem)
    grouped = Problem(2, "channels_first", 4, 4, np.dtype(np.float32), np.zeros(4, np.float32), False)
    assert winograd.applies(conv_transpose_geometry((8, 8), 3), grouped)
    half = Problem(1, "channels_first", 4, 4, np.dtype(np.float16), np.zeros(4, np.float16), False)
    assert not winograd.applies(conv_transpose_geometry((8, 8), 3), half)


def test_auto_leaves_many_inputs_per_column_and_eight_channel_phases_to_gemm():
    """The bounds of "auto" (winograd.AUTO_INPUTS_PER_COLUMN, AUTO_PHASE_CHANNELS), plain and prepared: 512 -> 32
    channels at k4 s2 (512 input channels for 128 GEMM columns) and 8 output channels per group go to
    "gemm"; 128 -> 32 (as many inputs as columns) and 16 output channels per group to Winograd."""
    from tconv._algorithms import choose, compiled

    g = conv_transpose_geometry((32, 32), 4, stride=2, padding=1)  # 8 samples: 968 tiles
    fast = "winograd" if compiled.available() else "gemm"
    for reused in (False, True):
        assert choose(g, 1, 8, 512, 32, reused=reused) == "gemm"
        assert choose(g, 1, 8, 128, 32, reused=reused) == fast
        assert choose(g, 8, 8, 128, 64, reused=reused) == "gemm"  # 16 -> 8 per group
        assert choose(g, 4, 8, 128, 64, reused=reused) == fast  # 32 -> 16 per group
    # in 2-d only: a 1-d plan of 1024 input channels on 4 phases x 128 (512 columns) still takes Winograd
    assert choose(conv_transpose_geometry((200,), 8, stride=4, padding=2), 1, 4, 1024, 128, reused=True) == fast


def test_k5_s2_tiles_follow_the_output_rows():
    """A crop that is not a multiple of the stride (TensorFlow's "same" k5 s2: a crop of 1) shifts the
    two-tap phase within each tile, so the tiles follow the output rows: 16 per 64 outputs where tiles
    aligned on input positions took 17. A crop of 2 needs no shift; k4 s2's tiles keep the positions."""
    from tconv._algorithms.winograd import _form, _tiles

    same = conv_transpose_geometry((32, 32), 5, stride=2, padding="same")
    tiles = _tiles(same, _form(same))
    assert same.crop_begin == (1, 1)
    assert (tiles.th, tiles.tw, tiles.off_h, tiles.shift_w, tiles.lead_w) == (16, 16, 0, (0, 1), (1, 0))
    even = conv_transpose_geometry((32, 32), 5, stride=2, padding=2, output_padding=1)
    assert _tiles(even, _form(even))[:] == (16, 16, 1, 1, 0, 0, (0, 0), (0, 0), (0, 1), (0, 1))
    k4 = conv_transpose_geometry((32, 32), 4, stride=2, padding=1)
    assert _tiles(k4, _form(k4))[:] == (11, 11, 1, 1, 1, 1, (0, 0), (0, 0), (0, 1), (0, 1))


def test_auto_runs_k5_s2_layers_with_enough_tiles_and_saving():
    """The k5 s2 form's own bounds (winograd.AUTO_SAVING_PHASES, AUTO_TILES for plain calls and plans
    alike): a "same" layer on 32x32 inputs (1024 tiles, 1.56x fewer multiplications) runs Winograd; 128
    tiles (measured at 0.64x, 0.72x prepared) and the 1-d form (1.25x at most) do not."""
    from tconv._algorithms import choose, compiled

    fast = "winograd" if compiled.available() else "gemm"
    same = dict(kernel_size=5, stride=2, padding=2, output_padding=1)
    for reused in (False, True):
        assert choose(conv_transpose_geometry((32, 32), **same), 1, 4, 128, 64, reused=reused) == fast
        tensorflow = conv_transpose_geometry((32, 32), 5, stride=2, padding="same")  # a crop of 1
        assert choose(tensorflow, 1, 4, 128, 64, reused=reused) == fast
        assert choose(conv_transpose_geometry((16, 16), **same), 1, 2, 128, 128, reused=reused) == "gemm"
        assert choose(conv_transpose_geometry((4096,), **same), 1, 4, 128, 64, reused=reused) == "gemm"
    # a padding whose crop wastes most tile rows: 5 tiles for 9 positions on an 8x8 input, 1.0x saving
    assert choose(conv_transpose_geometry((8, 8), 5, stride=2, padding=1), 1, 16, 128, 256) == "gemm"


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize(
    "size, kernel, stride, padding, output_padding",
    [
        ((1,), 4, 2, ((-2, 4),), 0),  # a window ending past the full output: its last cell is no input's
        ((5,), 16, 8, ((4, -3),), 0),  # a window past the full output's end (its last three cells)
        ((1,), 16, 8, ((-4, 19),), 3),  # no cell reached at all
        ((3, 4), 4, 2, ((-2, 1), (1, -3)), 1),  # both ends, both axes, with output padding
        ((4, 5), 3, 1, ((-1, 2), (2, -1)), 0),  # F(2x2, 3x3)
        ((3, 4), 5, 2, ((-2, 1), (1, -4)), 1),  # F(2x2, 3x3) on four phases
    ],
)
def test_winograd_cells_no_input_reaches_are_the_bias(size, kernel, stride, padding, output_padding, layout):
    """The output cells that no (input, tap) pair reaches hold the bias exactly, as the direct sums'
    do: the transforms computed them as products that cancel only up to rounding (1.9e-9 where the
    direct sum is 0)."""
    rng = np.random.default_rng(7)
    nd = len(size)
    x = rng.standard_normal((2, 16, *size)).astype(np.float32)
    w = rng.standard_normal((16, 5, *(kernel,) * nd)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding)
    geometry = conv_transpose_geometry(size, kernel, stride, padding, output_padding)
    assert winograd.applies(geometry, Problem.of(x, w, b, 1, layout, "conv_transpose"))
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    y = from_layout(
        tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, layout=layout, algorithm="winograd"), layout
    )
    reached = np.zeros(geometry.output_size, dtype=bool)  # the cells some pair lands on, by the index map
    for j in np.ndindex(*size):
        for t in np.ndindex(*(kernel,) * nd):
            o = tuple(stride * a + c - cb for a, c, cb in zip(j, t, geometry.crop_begin))
            if all(0 <= v < n for v, n in zip(o, geometry.output_size)):
                reached[o] = True
    assert not reached.all()
    bias = np.broadcast_to(b.reshape(1, -1, *(1,) * nd), y.shape)
    np.testing.assert_array_equal(y[..., ~reached], bias[..., ~reached])
    assert_close(y, expected)


@pytest.mark.parametrize("kernel, stride", [(3, 1), (4, 2)])
def test_winograd_leaves_non_finite_and_huge_values_to_gemm(kernel, stride, monkeypatch):
    """The transforms add inputs (and weights) before multiplying: an infinity next to a finite value
    would make NaN where the direct sums make infinity, and values near the dtype's largest number
    could overflow in the transforms only. Those calls are gemm's, bit for bit."""
    ran = []
    original = winograd.winograd
    monkeypatch.setattr(winograd, "winograd", lambda *args: ran.append(1) or original(*args))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, kernel, kernel)).astype(np.float32)
    x_inf, w_nan, x_huge = x.copy(), w.copy(), x * np.float32(1e37)
    x_inf[0, 1, 2, 3] = np.inf
    w_nan[1, 2, 0, 1] = np.nan
    for a, b in ((x_inf, w), (x, w_nan), (x_huge, w)):
        y = tconv.conv_transpose(a, b, stride=stride, padding=1, algorithm="winograd")
        g = tconv.conv_transpose(a, b, stride=stride, padding=1, algorithm="gemm")
        np.testing.assert_array_equal(y, g)
    assert not ran
    tconv.conv_transpose(x, w, stride=stride, padding=1, algorithm="winograd")
    assert ran  # the finite, moderate call is Winograd's


def test_winograd_prepared_keeps_the_transformed_weight():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 6, 9, 9)), rng.standard_normal((6, 4, 4, 4)), rng.standard_normal(4)
    plan = tconv.prepare(w, stride=2, padding=1, algorithm="winograd")
    first = plan(x, b)
    assert any(key[0] == "winograd" for packed in plan._packed.values() for key in packed)
    assert_close(plan(x, b), first)
    assert_close(first, tconv.conv_transpose(x, w, b, stride=2, padding=1, algorithm="scatter"))


@pytest.mark.parametrize("padding", ["same", 2, 1])
def test_winograd_prepared_k5_s2_keeps_a_transformed_weight_per_shift(padding):
    """A prepared k5 s2 plan keeps the transformed weight of the crop's phase shifts (they follow the
    crop: TensorFlow's "same" crops 1, which shifts the two-tap phases) and reuses it on other inputs."""
    rng = np.random.default_rng(8)
    w, b = rng.standard_normal((6, 4, 5, 5)), rng.standard_normal(4)
    plan = tconv.prepare(w, stride=2, padding=padding, algorithm="winograd")
    for size in ((9, 9), (6, 7), (9, 9)):
        x = rng.standard_normal((2, 6, *size))
        expected = tconv.conv_transpose(x, w, b, stride=2, padding=padding, algorithm="scatter")
        assert_close(plan(x, b), expected)
    keys = [key for packed in plan._packed.values() for key in packed if key[0] == "winograd"]
    assert keys and {key[-1] for key in keys} == {((0, int(padding in ("same", 1))),) * 2}


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


@pytest.mark.parametrize(
    "n, c_in, c_out, size, kernel, stride",
    [(4, 128, 128, 16, 3, 1), (8, 256, 128, 8, 4, 2), (4, 128, 64, 16, 4, 2), (4, 128, 64, 32, 5, 2)],
    ids=["stride1-3x3", "k4s2-256", "k4s2-128", "k5s2-128"],
)
def test_winograd_float32_error_is_within_the_torch_tolerance(n, c_in, c_out, size, kernel, stride):
    """Its float32 error, measured against float64, stays within the tolerance the tests use against
    PyTorch (assert_close's float32 rtol/atol), and within a few times gemm's."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c_in, size, size)).astype(np.float32)
    w = (rng.standard_normal((c_in, c_out, kernel, kernel)) / np.sqrt(c_in * kernel * kernel)).astype(np.float32)
    kwargs = dict(stride=stride, padding=1)
    precise = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), **kwargs)
    ours = tconv.conv_transpose(x, w, algorithm="winograd", **kwargs)
    direct = tconv.conv_transpose(x, w, algorithm="gemm", **kwargs)
    assert_close(ours, precise.astype(np.float32), dtype=np.float32)
    error = np.abs(ours - precise).max() / np.abs(precise).max()
    assert error < 4 * max(np.abs(direct - precise).max() / np.abs(precise).max(), 1e-7)
