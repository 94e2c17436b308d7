"""tconv._algorithms.registers: the stride-1 register tiles against the reference on every window form
(1-3 d, dilation, crops beyond the kernel, output padding, rows shorter and longer than a tile, channel
counts around the 16 lanes), where they apply and what runs elsewhere, and the values they leave alone."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, from_layout, to_layout

import tconv
from tconv._algorithms import registers
from tconv._algorithms.problem import Problem, channels_last
from tconv._algorithms.workspace import copy_key, held_copy, sharing
from tconv.geometry import conv_geometry, conv_transpose_geometry


def _arrays(rng, n, c_in, c_out, size, kernel):
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *kernel)).astype(np.float32)
    return x, w, rng.standard_normal(c_out).astype(np.float32)


def _check(x, w, b, layout, **kwargs):
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), **kwargs)
    y = tconv.conv_transpose(to_layout(x, layout), w, b, layout=layout, algorithm="registers", **kwargs)
    assert y.dtype == np.float32
    assert_close(from_layout(y, layout), expected, dtype=np.float32)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize(
    "size, kernel, padding, dilation, output_padding",
    [
        ((9,), (5,), 0, 1, 0),
        ((30,), (4,), 3, 1, 0),  # a crop at the kernel's span: output = input - 3
        ((5, 7), (3, 3), 1, 1, 0),
        ((1, 1), (7, 7), 0, 1, 0),  # one input pixel: the output is the kernel
        ((13, 13), (8, 8), 3, 1, 0),  # rows of 14: one tile of 12 and a tail
        ((6, 25), (2, 3), ((1, 0), (0, 2)), 1, 0),
        ((12, 12), (3, 3), 3, 1, 0),  # a crop beyond the kernel's span: the input is cut
        ((7, 9), (3, 2), 1, 2, 1),  # dilation, and output padding (allowed below the dilation)
        ((4, 5, 6), (3, 2, 3), 1, 1, 0),
        ((3, 11, 11), (7, 7, 7), 3, 1, 0),
    ],
    ids=str,
)
def test_registers_equal_the_reference(size, kernel, padding, dilation, output_padding, layout):
    rng = np.random.default_rng(len(size) * 100 + kernel[0])
    geometry = conv_transpose_geometry(size, kernel, padding=padding, dilation=dilation, output_padding=output_padding)
    x32, w32 = np.zeros((1, 1, *size), np.float32), np.zeros((1, 1, *kernel), np.float32)
    assert registers.applies(geometry, _problem(x32, w32))  # the tiles run, not gemm
    for c_in, c_out in [(3, 5), (21, 16), (4, 33)]:  # below, at and past a block of 16 output channels
        x, w, b = _arrays(rng, 2, c_in, c_out, size, kernel)
        _check(x, w, b, layout, padding=padding, dilation=dilation, output_padding=output_padding)


def test_without_bias_and_with_several_threads():
    rng = np.random.default_rng(1)
    x, w, _ = _arrays(rng, 3, 8, 20, (10, 29), (5, 5))
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), padding=2)
    for threads in (1, 3):
        with tconv.options(threads=threads):
            y = tconv.conv_transpose(x, w, padding=2, algorithm="registers")
        assert_close(y, expected, dtype=np.float32)


def test_under_a_small_memory_budget_the_output_is_cut_into_tiles():
    rng = np.random.default_rng(2)
    x, w, b = _arrays(rng, 1, 16, 16, (40, 40), (5, 5))
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), padding=1)
    with tconv.options(memory_budget=60_000):
        y = tconv.conv_transpose(x, w, b, padding=1, algorithm="registers")
    assert_close(y, expected, dtype=np.float32)


def _problem(x, w, groups=1):
    return Problem.of(x, w, None, groups, "channels_first", "conv_transpose")


def test_where_the_tiles_apply():
    geometry = conv_transpose_geometry((8, 8), 3, padding=1)
    x, w = np.zeros((1, 4, 8, 8), np.float32), np.zeros((4, 4, 3, 3), np.float32)
    assert registers.applies(geometry, _problem(x, w))
    assert not registers.applies(geometry, _problem(x.astype(np.float64), w.astype(np.float64)))  # float32 only
    assert registers.applies(geometry, _problem(x, w[:, :2], groups=2))  # groups too
    assert not registers.applies(conv_transpose_geometry((8, 8), 3, stride=(1, 2)), _problem(x, w))
    # a dilation far beyond the input: more padding than outputs, gemm runs instead
    far = conv_transpose_geometry((8, 8), 3, dilation=40, padding=40)
    assert not registers.applies(far, _problem(x, w))
    with tconv.options(compiled=False):
        assert not registers.applies(geometry, _problem(x, w))


def test_elsewhere_gemm_gives_the_same_result():
    """float64, a stride of 2 and a huge dilation: computed by ``gemm``, the same function (and two
    groups, by the tiles)."""
    rng = np.random.default_rng(4)
    x, w, b = _arrays(rng, 2, 4, 6, (6, 7), (3, 3))
    for kwargs in ({"stride": 2}, {"dilation": 40, "padding": 40}, {"groups": 2}):
        wk = w[:, :3] if "groups" in kwargs else w
        expected = tconv.conv_transpose(x.astype(np.float64), wk.astype(np.float64), b.astype(np.float64), **kwargs)
        assert_close(tconv.conv_transpose(x, wk, b, algorithm="registers", **kwargs), expected, dtype=np.float32)
    y = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), algorithm="registers")
    assert y.dtype == np.float64
    assert_close(y, tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), algorithm="scatter"))


def test_an_infinite_weight_leaves_unreached_outputs_at_the_bias():
    """The padding's zeros times an infinite weight would be NaN where the definition adds nothing: such
    a weight runs through ``gemm``, whose unreached outputs hold the bias alone."""
    x = np.ones((1, 2, 4, 4), np.float32)
    w = np.ones((2, 3, 2, 2), np.float32)
    w[0, 0, 0, 0] = np.inf
    b = np.array([1.0, 2.0, 3.0], np.float32)
    kwargs = dict(dilation=2, output_padding=1)  # the last row and column: no input reaches them
    geometry = conv_transpose_geometry((4, 4), 2, dilation=2, output_padding=1)
    assert registers.applies(geometry, _problem(x, w))
    y = tconv.conv_transpose(x, w, b, **kwargs, algorithm="registers")
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(y[0, :, 6, :], np.broadcast_to(b[:, None], (3, 7)))
    assert np.isinf(y[0, 0, 0, 0])


def test_inputs_are_not_modified_and_the_prepared_weight_is_packed_once():
    rng = np.random.default_rng(5)
    x, w, b = _arrays(rng, 2, 5, 18, (9, 9), (3, 3))
    x0, w0 = x.copy(), w.copy()
    plan = tconv.prepare(w, padding=1, algorithm="registers")
    first = plan(x, b)
    np.testing.assert_array_equal(plan(x, b), first)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), padding=1)
    assert_close(first, expected, dtype=np.float32)


def test_auto_runs_the_tiles_where_they_are_well_used():
    from tconv._algorithms import choose

    # a 21 -> 16 channel k7 layer (a held-out random layer 0.46x PyTorch through gemm) and a 3-d layer
    # of few channels run the tiles; many channels, a pointwise kernel, few output lanes or float64 do not
    assert choose(conv_transpose_geometry((66, 66), 7), groups=1, n=8, c_in=21, c_out=16) == "registers"
    assert choose(conv_transpose_geometry((11, 11, 11), 7, padding=3), groups=1, n=4, c_in=8, c_out=24) == "registers"
    assert choose(conv_transpose_geometry((32, 32), 3, padding=1), groups=1, n=8, c_in=128, c_out=128) != "registers"
    assert choose(conv_transpose_geometry((66, 66), 1), groups=1, n=8, c_in=21, c_out=16) != "registers"
    assert choose(conv_transpose_geometry((66, 66), 7), groups=1, n=8, c_in=21, c_out=3) != "registers"
    geometry = conv_transpose_geometry((66, 66), 7)
    assert choose(geometry, groups=1, n=8, c_in=21, c_out=16, dtype=np.float64) != "registers"
    with tconv.options(compiled=False):
        assert choose(geometry, groups=1, n=8, c_in=21, c_out=16) != "registers"


def test_efficiency_counts_lanes_padding_and_row_ends():
    x, w = np.zeros((1, 4, 24, 24), np.float32), np.zeros((4, 16, 3, 3), np.float32)
    geometry = conv_transpose_geometry((24, 24), 3, padding=1)  # 24 outputs: 12 + 12, every lane
    used = (24 * 3 - 2) / (24 * 3)  # along the last axis, the two taps that fall on the padding (rows skip
    # the leading axes' padding)
    assert registers.efficiency(geometry, _problem(x, w)) == pytest.approx(used)
    assert registers.efficiency(geometry, _problem(x, w[:, :8])) == pytest.approx(used / 2)
    # without padding every tap reaches all i of the i + 2 outputs of the row
    row_of_13 = conv_transpose_geometry((24, 11), 3)  # 13 outputs per row: 12 + a tile of 4 (or 6 + 6 + 4)
    assert registers.efficiency(row_of_13, _problem(x, w)) == pytest.approx(11 / 13 * 13 / 16)
    from tconv._algorithms.numba_kernels import TILE_PIXELS

    row_of_21 = conv_transpose_geometry((24, 19), 3)  # 21: 12 + 8 + 4 with AVX-512, else 6 + 6 + 6 + 4
    computed = 24 if TILE_PIXELS == 12 else 22
    assert registers.efficiency(row_of_21, _problem(x, w)) == pytest.approx(19 / 21 * 21 / computed)


def test_each_row_sums_only_the_taps_that_reach_the_input():
    """Rows near the leading axes' ends skip the taps that fall on the padding: brute force per row."""
    geometry = conv_transpose_geometry((5, 4, 9), (3, 4, 2), padding=(2, 1, 0), dilation=(2, 1, 1))
    tables = registers._tables(geometry, 3)
    lead = geometry.output_size[:-1]
    kernel = np.indices(geometry.kernel_size).reshape(3, -1)
    skipped = 0
    for r, position in enumerate(np.ndindex(*lead)):
        run = tables.weights[tables.class_taps[tables.row_class[r]] : tables.class_taps[tables.row_class[r] + 1]]
        expected = []
        for t in range(kernel.shape[1]):
            reaches = True
            for axis, (i, k, _s, d, b, _o) in enumerate(geometry.axes()[:-1]):
                cell = position[axis] + d * kernel[axis, t] - (d * (k - 1) - b)  # the input cell it reads
                reaches &= 0 <= cell < i
            if reaches:
                expected.append(t)
        assert sorted(run.tolist()) == expected
        skipped += kernel.shape[1] - len(expected)
    assert skipped > 0
    np.testing.assert_array_equal(tables.taps, _tap_offsets(geometry, 3)[tables.weights])


def _tap_offsets(geometry, c_in):
    padded = [o + d * (k - 1) for o, k, d in zip(geometry.output_size, geometry.kernel_size, geometry.dilation)]
    strides = [c_in * int(np.prod(padded[a + 1 :])) for a in range(geometry.ndim)]
    kernel = np.indices(geometry.kernel_size).reshape(geometry.ndim, -1)
    return sum(kernel[a] * geometry.dilation[a] * strides[a] for a in range(geometry.ndim))


@pytest.mark.parametrize(
    "size, kernel, padding, dilation",
    [
        ((5, 4, 9), (3, 4, 2), (2, 1, 0), (2, 1, 1)),
        ((40, 3), (9, 3), (8, 0), 1),
        ((2, 30, 7), (7, 5, 3), (6, 6, 0), (3, 1, 1)),
    ],
    ids=str,
)
def test_the_footprint_bounds_the_tables(size, kernel, padding, dilation):
    geometry = conv_transpose_geometry(size, kernel, padding=padding, dilation=dilation)
    tables = registers._tables(geometry, 4)
    assert sum(t.nbytes for t in tables) <= registers._table_bytes(geometry)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize(
    "groups, c_in, c_out, size, kernel",
    [
        (2, 4, 6, (9, 13), (3, 5)),
        (8, 64, 96, (11, 14), (3, 3)),
        (3, 9, 51, (7,), (4,)),
        (4, 8, 4, (3, 4, 5), (2, 3, 2)),
    ],
    ids=str,
)
def test_groups_equal_the_reference(groups, c_in, c_out, size, kernel, layout):
    """Each group's tiles sum its own input channels (a pixel's channels C_in apart) into its own output
    channels, each group's last block padded to 16 lanes."""
    rng = np.random.default_rng(groups)
    x = rng.standard_normal((2, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out // groups, *kernel)).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    geometry = conv_transpose_geometry(size, kernel, padding=1)
    assert registers.applies(geometry, Problem.of(x, w, b, groups, layout, "conv_transpose"))
    _check(x, w, b, layout, padding=1, groups=groups)


def test_auto_runs_grouped_tiles_with_few_inputs_per_group():
    from tconv._algorithms import choose

    geometry = conv_transpose_geometry((33, 33), 7, padding=3)
    assert choose(geometry, groups=8, n=4, c_in=24, c_out=96) == "registers"  # 3 -> 12 per group
    assert choose(geometry, groups=2, n=4, c_in=96, c_out=96) != "registers"  # 48 inputs per group
    assert choose(geometry, groups=32, n=4, c_in=128, c_out=96) != "registers"  # 3 outputs of 16 lanes


# ----------------------------------------------- the convolution (a transposed one's input gradient)


def _conv_arrays(rng, n, c_in, c_out, size, kernel, groups):
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = (rng.standard_normal((c_out, c_in // groups, *kernel)) / np.sqrt(c_in * np.prod(kernel))).astype(np.float32)
    return x, w, rng.standard_normal(c_out).astype(np.float32)


def _conv_problem(x, w, groups=1, layout="channels_first"):
    return Problem.of(x, w, None, groups, layout, "conv")


def _zero_conv(size, kernel, c_in, c_out, groups=1, dtype=np.float32, n=1, **kwargs):
    """Zero arrays of a convolution's shapes, its geometry and its problem: what the tiles' rules read."""
    geometry = conv_geometry(size, kernel, **kwargs)
    x = np.zeros((n, c_in, *size), dtype)
    w = np.zeros((c_out, c_in // groups, *kernel), dtype)
    return x, w, geometry, _conv_problem(x, w, groups)


def _check_conv(x, w, b, layout, **kwargs):
    """``tconv.conv``'s ``"gemm"`` (which runs the register tiles where they apply) in ``layout`` against
    the float64 direct convolution."""
    expected = tconv.conv(
        x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), **kwargs, algorithm="direct"
    )
    y = tconv.conv(to_layout(x, layout), w, b, **kwargs, layout=layout, algorithm="gemm")
    assert y.dtype == np.float32
    assert_close(from_layout(y, layout), expected, dtype=np.float32)


CONV_CASES = [
    # size, kernel, stride, padding, dilation
    ((64, 64), (4, 4), 2, 1, 1),  # the input gradient of a k4 s2 layer (rows of 32: four tiles of 8)
    ((34, 34), (4, 4), 2, 0, 1),  # FCN's x2 (rows of 16)
    ((13, 29), (3, 5), (1, 3), (0, 2), 1),  # uneven strides and paddings (rows of 10: 8, then 4 for 2)
    ((20, 21), (3, 3), 2, 2, 2),  # dilation, padding beyond the kernel's span
    ((9, 9), (5, 5), 1, 0, 1),  # stride 1, rows of 5 (one tile of 8)
    ((1834,), (4,), 3, 0, 1),  # 1-d
    ((300,), (7,), 4, ((3, 1),), 1),  # 1-d, asymmetric padding, the largest stride
]


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv_tiles_equal_the_reference(case, layout):
    """The convolution's register tiles (im2col.register_tiles: ``"gemm"`` runs them) against the float64
    direct convolution, below, at and past a block of 16 output channels, with groups, and with more
    input channels per group than a chunk's terms (runs of a tap's channels)."""
    from tconv._algorithms import im2col

    size, kernel, stride, padding, dilation = case
    rng = np.random.default_rng(len(size) * 1000 + size[-1])
    geometry = conv_geometry(size, kernel, stride=stride, padding=padding, dilation=dilation)
    tiled = []
    for c_in, c_out, groups in [(8, 16, 1), (21, 21, 1), (64, 5, 1), (200, 20, 1), (128, 128, 8), (24, 40, 2)]:
        x, w, b = _conv_arrays(rng, 2, c_in, c_out, size, kernel, groups)
        tiled.append(im2col.register_tiles(geometry, _conv_problem(x, w, groups)))
        _check_conv(x, w, b, layout, stride=stride, padding=padding, dilation=dilation, groups=groups)
    assert sum(tiled) >= 3, tiled  # the tiles ran on half or more (short sums: one double-precision product)


def test_conv_tiles_are_the_same_sums_on_any_threads_and_in_any_pieces():
    """Each output is summed whole by one task, in the same chunks: the same bits on 1-3 threads and when
    a small memory budget cuts the output into tiles."""
    rng = np.random.default_rng(7)
    x, w, b = _conv_arrays(rng, 3, 64, 24, (40, 40), (4, 4), 4)
    kwargs = dict(stride=2, padding=1, groups=4)
    first = tconv.conv(x, w, b, **kwargs)
    for threads, budget in [(1, 2**30), (3, 2**30), (2, 200_000)]:
        with tconv.options(threads=threads, memory_budget=budget):
            np.testing.assert_array_equal(tconv.conv(x, w, b, **kwargs), first)
    expected = tconv.conv(
        x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), **kwargs, algorithm="direct"
    )
    assert_close(first, expected, dtype=np.float32)


def test_conv_chunks_cover_each_term_once_within_the_chunk_length():
    for taps, cig, step in [(16, 8, 16), (16, 21, 64), (4, 200, 64), (9, 64, 64), (1, 5, 32), (7, 3, 16)]:
        chunks = registers.conv_chunks(taps, cig, step)
        terms = [(t, i) for t0, t1, i0, count in chunks for t in range(t0, t1) for i in range(i0, i0 + count)]
        assert terms == [(t, i) for t in range(taps) for i in range(cig)]  # im2col's column order, once each
        assert all((t1 - t0) * count <= step for t0, t1, _, count in chunks)


def test_where_the_conv_tiles_run():
    from tconv._algorithms import im2col

    def runs(*args, **kwargs):
        _, _, geometry, problem = _zero_conv(*args, **kwargs)
        return im2col.register_tiles(geometry, problem)

    assert runs((64, 64), (4, 4), 64, 128, groups=8, stride=2, padding=1)  # 8 groups of 8 -> 16
    assert not runs((64, 64), (4, 4), 64, 128, groups=8, stride=2, padding=1, dtype=np.float64)
    assert not runs((32, 32), (4, 4), 64, 128, stride=2, padding=1)  # 128 outputs: the GEMM
    assert not runs((32, 32), (4, 4), 256, 48, stride=2)  # 48 outputs of 256 inputs: the GEMM
    assert runs((32, 32), (4, 4), 64, 48, stride=2)
    assert not runs((64, 64), (2, 2), 32, 16, stride=4)  # windows that do not overlap
    assert not runs((64, 64), (16, 16), 21, 21, stride=8)  # a stride above TILE_STRIDE
    assert not runs((16, 16, 16), (4, 4, 4), 16, 16, stride=2)  # 3-d
    assert not runs((32, 32), (4, 4), 3, 16, stride=2)  # 48 terms: one double-precision product
    with tconv.options(compiled=False):
        assert not runs((64, 64), (4, 4), 64, 128, groups=8, stride=2, padding=1)


def test_conv_tiles_leave_non_finite_values_where_the_gemms_do(monkeypatch):
    """A NaN in the input reaches exactly the outputs whose windows hold it; an infinite weight times the
    padding's zeros is NaN, as in the im2col GEMMs' columns and PyTorch's convolution (the padding is
    part of the input there); the inputs are not modified."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(9)
    x, w, b = _conv_arrays(rng, 1, 16, 16, (20, 20), (4, 4), 1)
    x[0, 3, 0, 0] = np.nan
    x0, w0 = x.copy(), w.copy()
    y = tconv.conv(x, w, b, stride=2, padding=1)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)
    reached = np.zeros((10, 10), bool)
    reached[0, 0] = True  # cell (0, 0) lies in output (0, 0)'s window only (s*j + t - 1 = 0: j = 0, t = 1)
    assert np.array_equal(np.isnan(y[0]).any(axis=0), reached)
    x[0, 3, 0, 0] = 1.0
    w[2, 1, 0, 0] = np.inf
    with np.errstate(invalid="ignore"):
        tiles = tconv.conv(x, w, b, stride=2, padding=1)
        monkeypatch.setattr(im2col, "register_tiles", lambda geometry, problem: False)
        gemms = tconv.conv(x, w, b, stride=2, padding=1)
    assert np.isnan(tiles[0, 2, 0]).all() and np.isinf(tiles[0, 2, 1:, 1:]).all()
    np.testing.assert_array_equal(np.isnan(tiles), np.isnan(gemms))
    np.testing.assert_array_equal(np.isinf(tiles), np.isinf(gemms))


def test_conv_tiles_leave_a_budget_only_the_gemms_fit_to_them(monkeypatch):
    """The tiles' smallest piece holds the whole packed weight; under a memory budget that only the
    GEMMs' pieces fit, the GEMMs run (the registry's check is theirs), and above it the tiles."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(12)
    x, w, b = _conv_arrays(rng, 2, 128, 128, (32, 32), (4, 4), 8)
    geometry = conv_geometry((32, 32), (4, 4), stride=2, padding=1)
    problem = _conv_problem(x, w, 8)
    assert im2col.register_tiles(geometry, problem)
    gemms, tiles = im2col.conv_footprint(problem).minimum(geometry), registers.conv_pieces(problem).minimum(geometry)
    assert gemms < tiles
    calls = []
    original = registers.conv_tiles
    monkeypatch.setattr(registers, "conv_tiles", lambda *args: calls.append(1) or original(*args))
    expected = tconv.conv(
        x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), stride=2, padding=1, groups=8
    )
    for budget, tiled in [(gemms, False), (tiles, True)]:
        calls.clear()
        with tconv.options(memory_budget=budget):
            y = tconv.conv(x, w, b, stride=2, padding=1, groups=8)
        assert bool(calls) == tiled
        assert_close(y, expected, dtype=np.float32)


WIDE_CASES = [
    # size, kernel, stride, padding, dilation, (c_in, c_out, groups) of the convolution
    ((36, 38), (4, 4), 2, 1, 1, (64, 96, 1)),  # a k4 s2 layer's input gradient: rows of 19 (12, 4, 4)
    ((30, 41), (3, 3), 1, 1, 1, (40, 70, 1)),  # stride 1, rows of 41 (12 x 3, then 8), 70 = 2 blocks + 6
    ((26, 26), (4, 4), 2, 1, 1, (128, 128, 2)),  # groups, a tap's 64 channels in two chunks
    ((30, 41), (3, 5), (1, 3), (0, 2), 2, (8, 64, 1)),  # uneven strides and paddings, dilation, 8 inputs
    ((9, 10, 11), (3, 3, 3), 2, 1, 1, (24, 40, 1)),  # 3-d, few outputs: half-length chunks
    ((1500,), (4,), 2, 1, 1, (48, 64, 1)),  # 1-d: one row per sample, cut into runs
]


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("case", WIDE_CASES, ids=str)
def test_wide_conv_tiles_equal_the_reference(case, layout):
    """The convolution's wide register tiles (im2col.wide_tiles: blocks of 32 output channels, rows of 12)
    against the float64 direct convolution: every tile width, channel blocks past a whole tile, groups,
    a tap's channels in several chunks, 1-3 d."""
    from tconv._algorithms import im2col

    size, kernel, stride, padding, dilation, (c_in, c_out, groups) = case
    rng = np.random.default_rng(len(size) * 1000 + size[-1])
    geometry = conv_geometry(size, kernel, stride=stride, padding=padding, dilation=dilation)
    x, w, b = _conv_arrays(rng, 2, c_in, c_out, size, kernel, groups)
    problem = _conv_problem(x, w, groups)
    assert im2col.wide_tiles(x, w, geometry, problem) and not im2col.register_tiles(geometry, problem)
    _check_conv(x, w, b, layout, stride=stride, padding=padding, dilation=dilation, groups=groups)


@pytest.mark.parametrize("case", WIDE_CASES[:3] + WIDE_CASES[4:], ids=str)
def test_wide_conv_tiles_are_as_close_to_float64_as_the_gemms(case, monkeypatch):
    """The wide tiles sum each chunk in one chain of fused multiply-adds, as the channels-last GEMM path's
    mixed-precision tiles do (the same bits where its chunks are the same), where BLAS's kernels may keep
    several partial sums: in sum no farther from the float64 result than the GEMMs, within 5 %."""
    from tconv._algorithms import im2col

    size, kernel, stride, padding, dilation, (c_in, c_out, groups) = case
    rng = np.random.default_rng(size[-1])
    x, w, b = _conv_arrays(rng, 2, c_in, c_out, size, kernel, groups)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    exact = tconv.conv(x.astype(np.float64), w.astype(np.float64), **kwargs)
    wide, original = [], registers.conv_tiles
    monkeypatch.setattr(registers, "conv_tiles", lambda *args, **kw: wide.append(kw["wide"]) or original(*args, **kw))
    tiles = tconv.conv(x, w, **kwargs, algorithm="gemm")
    assert wide and all(wide)
    monkeypatch.setattr(im2col, "wide_tiles", lambda *args: False)
    gemms = tconv.conv(x, w, **kwargs, algorithm="gemm")
    assert np.abs(tiles - exact).sum() <= 1.05 * np.abs(gemms - exact).sum()


def test_wide_conv_tiles_are_the_same_sums_on_any_threads_and_in_any_pieces():
    """Each output is summed whole by one tile, in the same chunks, whatever the tasks (rows cut into runs
    on more threads) and the memory budget's pieces: the same bits."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(8)
    for size, kernel, stride in [((2001,), (8,), 4), ((32, 30), (3, 3), 1)]:
        x, w, b = _conv_arrays(rng, 1, 64, 80, size, kernel, 1)
        geometry = conv_geometry(size, kernel, stride=stride, padding=1)
        assert im2col.wide_tiles(x, w, geometry, _conv_problem(x, w))
        first = tconv.conv(x, w, b, stride=stride, padding=1)
        for threads, budget in [(1, 2**30), (3, 2**30), (2, 300_000)]:
            with tconv.options(threads=threads, memory_budget=budget):
                np.testing.assert_array_equal(tconv.conv(x, w, b, stride=stride, padding=1), first)
        expected = tconv.conv(
            x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), stride=stride, padding=1
        )
        assert_close(first, expected, dtype=np.float32)


def test_where_the_wide_conv_tiles_run():
    from tconv._algorithms import im2col

    def runs(*args, **kwargs):
        return im2col.wide_tiles(*_zero_conv(*args, **kwargs))

    assert runs((32, 32), (4, 4), 64, 128, n=8, stride=2, padding=1)  # 128 outputs
    assert not runs((32, 32), (4, 4), 64, 128, n=1, stride=2, padding=1)  # ... of a weight larger than the input
    assert runs((16, 16, 16), (3, 3, 3), 16, 16, stride=2)  # 3-d
    assert not runs((32, 32), (4, 4), 64, 128, n=8, stride=2, padding=1, dtype=np.float64)
    assert not runs((8, 8), (4, 4), 256, 512, n=16, stride=2, padding=1)  # a weight larger than the input
    assert not runs((32, 32, 32), (8, 8, 8), 4, 128, n=4, stride=4)  # 4 inputs: a tap's run too short
    assert not runs((64, 64), (2, 2), 32, 64, n=4, stride=2)  # windows that do not overlap
    assert not runs((64, 64), (16, 16), 21, 64, n=16, stride=8)  # a stride above TILE_STRIDE
    assert not runs((32, 32), (4, 4), 3, 64, n=8, stride=2)  # 48 terms: one double-precision product
    assert not runs((8, 8, 8, 8), (3, 3, 3, 3), 16, 64, n=4)  # 4-d
    with tconv.options(compiled=False):
        assert not runs((32, 32), (4, 4), 64, 128, n=8, stride=2, padding=1)


DOUBLE_CASES = [
    # size, kernel, stride, padding, dilation, (c_in, c_out, groups) of the convolution
    # an RGB layer's input gradient: 48 terms, rows of 33 (12 + 12 + 8 + 4 reading past the row; 6 x 5 + 4 on AVX2)
    ((64, 66), (4, 4), 2, 1, 1, (3, 64, 1)),
    ((30, 29), (3, 3), 1, 1, 1, (6, 20, 1)),  # stride 1, 20 outputs: two blocks of 8 and one of 4
    ((26, 25), (3, 3), 2, 1, 2, (8, 48, 2)),  # groups of 4 inputs, dilation
    ((9, 10, 11), (2, 2, 2), 1, 0, 1, (4, 16, 1)),  # 3-d
    ((700,), (8,), 4, 2, 1, (6, 32, 1)),  # 1-d: one row per sample, cut into runs
]


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("case", DOUBLE_CASES, ids=str)
def test_double_conv_tiles_round_the_exact_sum_once(case, layout):
    """The register tiles of double-precision sums (im2col.double_tiles: each output one double-precision
    product of few terms) give each output's exact sum rounded once, as the double-precision GEMM they
    replace: within a unit in the last place of float32 of the float64 convolution rounded (its own
    rounding and the tiles' double-precision sums in another order), the bias added after rounding."""
    from tconv._algorithms import im2col

    size, kernel, stride, padding, dilation, (c_in, c_out, groups) = case
    rng = np.random.default_rng(len(size) * 1000 + size[-1])
    geometry = conv_geometry(size, kernel, stride=stride, padding=padding, dilation=dilation)
    x, w, b = _conv_arrays(rng, 2, c_in, c_out, size, kernel, groups)
    problem = _conv_problem(x, w, groups)
    assert im2col.double_tiles(geometry, problem) and not im2col.wide_tiles(x, w, geometry, problem)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    exact = tconv.conv(x.astype(np.float64), w.astype(np.float64), **kwargs, algorithm="direct")
    y = from_layout(tconv.conv(to_layout(x, layout), w, b, **kwargs, layout=layout, algorithm="gemm"), layout)
    shape = (1, -1) + (1,) * len(size)
    rounded = exact.astype(np.float32)
    assert y.dtype == np.float32 and y.shape == rounded.shape
    assert np.all(np.abs((y - b.reshape(shape)) - rounded) <= np.spacing(np.abs(rounded)) + np.spacing(np.abs(y)))
    with tconv.options(threads=1):  # each output summed by one tile: the same bits on any threads
        np.testing.assert_array_equal(
            from_layout(tconv.conv(to_layout(x, layout), w, b, **kwargs, layout=layout), layout), y
        )


def test_where_the_double_conv_tiles_run():
    from tconv._algorithms import im2col

    def runs(*args, **kwargs):
        _, _, geometry, problem = _zero_conv(*args, n=2, **kwargs)
        return im2col.double_tiles(geometry, problem)

    assert runs((64, 64), (4, 4), 3, 64, stride=2, padding=1)  # dcgan-4's input gradient
    assert not runs((64, 64), (4, 4), 3, 64, stride=2, padding=1, dtype=np.float64)
    assert not runs((64, 64), (4, 4), 8, 64, stride=2, padding=1)  # 128 terms: chunked sums
    assert not runs((64, 64), (4, 4), 1, 64, stride=2, padding=1)  # one input channel: a tap's loop of one
    assert not runs((64, 64), (4, 4), 3, 4, stride=2, padding=1)  # 4 outputs
    assert not runs((64, 64), (4, 4), 3, 9, stride=2, padding=1)  # 9 outputs: two blocks of 8, mostly zeros
    assert not runs((64, 64), (2, 2), 3, 64, stride=2)  # windows that do not overlap
    assert not runs((8, 8, 8, 8), (2, 2, 2, 2), 3, 16)  # 4-d
    with tconv.options(compiled=False):
        assert not runs((64, 64), (4, 4), 3, 64, stride=2, padding=1)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize(
    "shape, padded, lead",
    [
        ((2, 5, 9), (13,), [2]),  # 1-d, zeros both sides
        ((3, 21, 34, 34), (36, 37), [1, 2]),
        ((2, 64, 20, 33), (20, 31), [-1, -3]),  # cut on both axes (negative lead: a crop)
        ((1, 3, 4, 5, 6), (7, 5, 9), [2, 0, 1]),  # 3-d
        ((2, 4, 6, 6), (3, 3), [-5, 1]),  # rows with no input left (all zeros) and a cut
        ((0, 4, 6, 6), (8, 8), [1, 1]),  # an empty batch
    ],
)
def test_placed_is_the_padded_channels_last_input(shape, padded, lead, layout):
    """registers._placed (compiled rows, their zeros written with them) against a NumPy placement, with
    the slack of zeros after it; the input is left alone."""
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    n, c = shape[0], shape[1]
    expected = np.zeros((n, *padded, c), dtype=np.float32)
    source, place = [], []
    for i, offset, extent in zip(shape[2:], lead, padded):
        first, last = max(0, -offset), min(i, extent - offset)
        source.append(slice(first, max(first, last)))
        place.append(slice(first + offset, max(first, last) + offset))
    expected[(slice(None), *place)] = np.moveaxis(x, 1, -1)[(slice(None), *source)]
    given = to_layout(x, layout)
    before = given.copy()
    problem = Problem(1, layout, c, 1, np.dtype(np.float32), np.zeros(1, np.float32), False)
    flat = registers._placed(given, problem, padded, lead, 17)
    assert flat.shape == (expected.size + 17,) and flat.dtype == np.float32
    np.testing.assert_array_equal(flat[: expected.size], expected.reshape(-1))
    assert not flat[expected.size :].any()
    np.testing.assert_array_equal(given, before)
    # in a backward call whose weight gradient kept a channels-last copy of the array, the rows are
    # copied from it (no second transpose), to the same result; a copy of other values is not taken
    if not shape[0]:
        return
    with sharing(given):
        kept = channels_last(given, layout, "channels_last")
        if layout == "channels_first":
            assert held_copy("channels_last", copy_key(given)) is kept
        again = registers._placed(given, problem, padded, lead, 17)
        np.testing.assert_array_equal(again[: expected.size], expected.reshape(-1))
    other = given + 1
    with sharing(given, other):
        channels_last(other, layout, "channels_last")
        again = registers._placed(given, problem, padded, lead, 17)
        np.testing.assert_array_equal(again[: expected.size], expected.reshape(-1))
