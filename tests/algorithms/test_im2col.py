"""tconv._algorithms.im2col: the im2col + GEMM convolution and weight gradient, blocked and tiled."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, from_layout, to_layout, within_budget

import tconv
from tconv._algorithms.im2col import conv_footprint, weight_gradient_pieces
from tconv._algorithms.problem import Problem
from tconv.geometry import conv_geometry

LAYOUTS = ("channels_first", "channels_last")


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("budget", [1, 3000, 2**30], ids=["1B", "3kB", "1GiB"])
@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_conv_gemm_blocks_and_tiles(case, budget, compiled):
    """The im2col convolution under budgets that force batch blocks and output tiles."""
    _, w, _ = case.arrays()
    rng = np.random.default_rng(3)
    size = tconv.conv_transpose_output_size(
        case.size, case.kernel, case.stride, case.padding, case.output_padding, case.dilation
    )
    x = rng.standard_normal((case.n, w.shape[1] * case.groups, *size))
    b = rng.standard_normal(w.shape[0])
    args = (case.stride, case.padding, case.dilation, case.groups)
    expected = tconv.conv(x, w, b, *args, algorithm="direct")
    for layout in LAYOUTS:
        geometry = conv_geometry(size, case.kernel, case.stride, case.padding, case.dilation)
        problem = Problem.of(x, w, b, case.groups, layout, "conv")

        def minimum(geometry=geometry, problem=problem):
            return conv_footprint(problem).minimum(geometry)

        def call(layout=layout):
            return tconv.conv(to_layout(x, layout), w, b, *args, layout=layout, algorithm="gemm")

        with tconv.options(compiled=compiled):
            y = within_budget(budget, minimum, call)
        if y is not None:  # refused up front when even one output cell does not fit (1 B always)
            assert_close(from_layout(y, layout), expected)


@pytest.mark.parametrize("budget", [1, 2000, 2**30], ids=["1B", "2kB", "1GiB"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_weight_gradient_matches_reference(case, layout, budget):
    """im2col + GEMM weight gradient == the per-tap reference weight_correlation, blocked and tiled."""
    from tconv._algorithms.im2col import weight_gradient
    from tconv.geometry import conv_transpose_geometry
    from tconv.kernels import weight_correlation

    x, w, _ = case.arrays()
    g = conv_transpose_geometry(case.size, case.kernel, case.stride, case.padding, case.output_padding, case.dilation)
    dy = np.random.default_rng(7).standard_normal((case.n, case.c_out, *g.output_size))
    grouped = lambda a: a.reshape(a.shape[0], case.groups, -1, *a.shape[2:])  # noqa: E731
    expected = weight_correlation(grouped(x), grouped(dy), g)
    pieces = weight_gradient_pieces(case.c_in, case.c_out, case.groups, np.dtype(np.float64))
    got = within_budget(
        budget,
        lambda: pieces.minimum(g),
        lambda: weight_gradient(to_layout(x, layout), to_layout(dy, layout), g, case.groups, layout),
    )
    if got is not None:  # refused when even one output cell does not fit (1 B always)
        assert_close(got, expected)


@pytest.mark.parametrize("shape", [(16, 8192, 100), (7, 2000, 33), (3, 64 * 16 + 5, 2)])
def test_stacked_chunk_products_are_the_same_sums(shape, monkeypatch):
    """_chunked_sum's stacked GEMMs (small products over many chunks) add the same float32 chunk products
    in double precision as its loop of one GEMM per chunk, to the last bit; the tail chunk too."""
    from tconv._algorithms import im2col

    rows, k, cols = shape
    rng = np.random.default_rng(0)
    left = rng.standard_normal((rows, k), dtype=np.float32)
    right = rng.standard_normal((k, cols), dtype=np.float32)
    stacked = im2col._chunked_sum(left, right, 64, np.dtype(np.float64)).copy()
    monkeypatch.setattr(im2col, "STACKED_PRODUCT", 0)
    looped = im2col._chunked_sum(left, right, 64, np.dtype(np.float64)).copy()
    assert np.array_equal(stacked, looped)
    exact = left.astype(np.float64) @ right.astype(np.float64)
    assert np.abs(stacked - exact).max() <= 1e-5 * np.abs(exact).max()


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("k", [2, 5, 32, 33, 48, 64])
@pytest.mark.parametrize("transposed", [False, True])
def test_short_tile_products_are_one_wide_product(k, dtype, transposed):
    """A tile product over one or two input chunks (up to 64 columns, e.g. a 3-channel k4 layer's input
    gradient) is one double-precision product rounded once (one float32 GEMM, or two chunks added in
    float32, were farther from float64 than PyTorch's on small layers), and closer to the exact
    product than one float32 GEMM."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(k)
    rows, cog = 300, 24

    def draw(*shape):
        a = rng.standard_normal(shape).astype(dtype)
        return a + 1j * rng.standard_normal(shape).astype(dtype) if np.dtype(dtype).kind == "c" else a

    cols = draw(1, 1, rows, k, 1)  # (G, n, R, Kv, Cig) with Kv*Cig = k
    wm = draw(1, k, cog)  # (G, Kv*Cig, Cog)
    lhs = cols.reshape(rows, k)
    wide = im2col.accumulator(dtype)
    left, right = (wm[0].T, lhs.T) if transposed else (lhs, wm[0])
    target = np.empty((cog, rows) if transposed else (rows, cog), dtype=dtype)
    im2col._tile_gemm(cols, wm, wm.transpose(0, 2, 1), target, transposed)
    assert k <= 2 * im2col.input_chunk(k)  # one or two chunks
    assert np.array_equal(target, np.matmul(left.astype(wide), right.astype(wide)).astype(dtype))
    exact = left.astype(np.complex128) @ right.astype(np.complex128)
    assert np.abs(target - exact).sum() < np.abs(np.matmul(left, right) - exact).sum()


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("k", [48, 100, 128, 1000])
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("slab", [False, True], ids=["one-slab", "slabs"])
def test_grouped_tile_products_are_each_groups_sums(k, dtype, transposed, slab, monkeypatch):
    """A tile product of several groups (all groups' chunks as one stacked GEMM, summed by one compiled
    pass, in slabs of groups under a small partials budget) is each group's double-precision sum of
    its chunk products (_chunked_sum) rounded, to the last bit, written into its channels of a target
    that is a strided view (a tile of a larger output); the last, shorter chunk too (k = 100, 1000); a
    product of one or two chunks (k = 48) is each group's double-precision product rounded."""
    from tconv._algorithms import im2col

    if slab:
        monkeypatch.setattr(im2col, "PARTIALS_BYTES", 40_000)  # a slab of one or two groups
    rng = np.random.default_rng(k)
    groups, rows, cog = 3, 70, 24

    def draw(*shape):
        a = rng.standard_normal(shape).astype(dtype)
        return a + 1j * rng.standard_normal(shape).astype(dtype) if np.dtype(dtype).kind == "c" else a

    cols = draw(groups, 1, rows, k, 1)  # (G, n, R, Kv, Cig) with Kv*Cig = k
    wm = draw(groups, k, cog)  # (G, Kv*Cig, Cog)
    step, wide = im2col.input_chunk(k, k, groups), im2col.accumulator(dtype)  # (k taps of one channel, as cols)
    big = np.full((groups * cog + 5, rows + 9), np.nan, dtype=dtype)
    target = big[2 : 2 + groups * cog, 3 : 3 + rows] if transposed else big[3 : 3 + rows, 2 : 2 + groups * cog]
    im2col._tile_gemm(cols, wm, wm.transpose(0, 2, 1), target, transposed)
    for g in range(groups):
        lhs = cols[g].reshape(rows, k)
        left, right = (wm[g].T, lhs.T) if transposed else (lhs, wm[g])
        if im2col._one_wide_product(k, step):  # k = 48: each group's one double-precision product
            expected = np.matmul(left.astype(wide), right.astype(wide)).astype(dtype)
        else:
            expected = im2col._chunked_sum(left, right, step, wide).astype(dtype)
        got = target[g * cog : (g + 1) * cog] if transposed else target[:, g * cog : (g + 1) * cog]
        assert np.array_equal(got, expected), g
    outside = np.ones(big.shape, bool)
    window = (
        (slice(2, 2 + groups * cog), slice(3, 3 + rows))
        if transposed
        else (slice(3, 3 + rows), slice(2, 2 + groups * cog))
    )
    outside[window] = False
    assert np.isnan(big[outside]).all()  # nothing written outside the target


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_batched_weight_gradient_chunks(threads):
    """_chunked_product of a small gradient over many rows (its chunks shared among threads) against the
    float64 product, into a fresh result and added into an existing one; the same on every call."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(1)
    lhs = rng.standard_normal((16384 + 77, 64), dtype=np.float32)
    rhs = rng.standard_normal((16384 + 77, 48), dtype=np.float32)
    exact = lhs.astype(np.float64).T @ rhs.astype(np.float64)
    with tconv.options(threads=threads):
        fresh = im2col._chunked_product(lhs, rhs, 128, np.dtype(np.float64))
        for _ in range(3):  # the runs' sums are added in order: the same bits every time
            assert np.array_equal(im2col._chunked_product(lhs, rhs, 128, np.dtype(np.float64)), fresh)
        into = np.ones((64, 48))
        im2col._chunked_product(lhs, rhs, 128, np.dtype(np.float64), into=into)
    scale = np.abs(exact).max()  # float32 products of 128 rows each, summed in float64
    assert np.abs(fresh - exact).max() <= 1e-6 * scale
    assert np.abs(into - (exact + 1)).max() <= 1e-6 * scale
    whole = (lhs.T @ rhs).astype(np.float64)  # one float32 GEMM over all 16461 rows is farther
    assert np.abs(fresh - exact).sum() < np.abs(whole - exact).sum()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape", [(300, 37, 5, 11), (40, 64, 16, 256), (900, 24, 1024, 1), (50, 3, 1, 70)])
def test_chunked_product_hands_each_tile_to_store_once(shape, threads):
    """_chunked_product with ``store``: every entry of the product handed over exactly once, in tiles
    (the one-block weight gradient writes them into its single-precision result); the same values as
    into a fresh result, in each of its branches (few rows, one small tile, tiles per thread)."""
    from tconv._algorithms import im2col

    rows, a, kv, b = shape
    rng = np.random.default_rng(5)
    lhs = rng.standard_normal((rows, a), dtype=np.float32)
    rhs = rng.standard_normal((rows, kv * b), dtype=np.float32)
    step = im2col.chunk_rows(a * kv * b, 2, rows)
    got = np.full((a, kv * b), np.nan)
    count = np.zeros((a, kv * b), dtype=int)

    def store(a0, a1, w0, w1, tile):
        got[a0:a1, w0:w1] = tile
        count[a0:a1, w0:w1] += 1

    with tconv.options(threads=threads):
        assert im2col._chunked_product(lhs, rhs, step, np.dtype(np.float64), store=store) is None
        fresh = im2col._chunked_product(lhs, rhs, step, np.dtype(np.float64))
    assert (count == 1).all()
    assert np.array_equal(got, fresh)
    if rows < 4 * im2col.WIDE_ROWS:  # few rows: one double-precision product, in bands shared by the threads
        exact = lhs.T.astype(np.float64) @ rhs.astype(np.float64)
        np.testing.assert_allclose(fresh, exact, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("shape", [(4, 6, 5, (7, 6), (3, 4)), (3, 2, 1, (40,), (16,)), (2, 1, 3, (5, 4, 3), (2, 3, 2))])
def test_weight_gradient_in_one_block_or_several(shape, dtype, layout, monkeypatch):
    """The weight gradient of all samples in one block (written tile by tile into its own layout) and in
    blocks of one sample each (added in the wide precision) agree with the float64 reference, in each
    dtype the algorithms compute in (float16 is computed in float32), both layouts and 1-3 d."""
    from tconv._algorithms import im2col
    from tconv.geometry import conv_transpose_geometry
    from tconv.kernels import weight_correlation

    n, c_in, c_out, size, kernel = shape
    rng = np.random.default_rng(9)
    real = np.dtype(dtype).kind == "f"
    draw = lambda *s: rng.standard_normal(s) if real else rng.standard_normal(s) + 1j * rng.standard_normal(s)  # noqa: E731
    g = conv_transpose_geometry(size, kernel, (2,) * len(size), (1,) * len(size), (0,) * len(size), (1,) * len(size))
    x, dy = draw(n, c_in, *size), draw(n, c_out, *g.output_size)
    expected = weight_correlation(x[:, None], dy[:, None], g)
    results = []
    for columns in (im2col.WEIGHT_COLUMNS, 1):  # one block; a block per sample
        monkeypatch.setattr(im2col, "WEIGHT_COLUMNS", columns)
        got = im2col.weight_gradient(
            to_layout(x.astype(dtype), layout), to_layout(dy.astype(dtype), layout), g, 1, layout
        )
        assert got.dtype == dtype and got.shape == expected.shape
        results.append(got)
        tolerance = {np.float32: 1e-5, np.complex64: 1e-5, np.float64: 1e-12}[dtype]
        scale = np.abs(expected).max()
        assert np.abs(got.astype(expected.dtype) - expected).max() <= tolerance * scale
    assert results[0].flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("bias", [False, True])
def test_one_window_convolution(dtype, bias, monkeypatch):
    """A convolution whose one output pixel's window is its whole input (DCGAN's projection's input
    gradient) is one product of the arrays as they are, against the direct reference; no columns."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 6, 4, 3)).astype(dtype)
    w = rng.standard_normal((7, 6, 4, 3)).astype(dtype)  # (C_out, C_in, k): the kernel covers the input
    b = rng.standard_normal(7).astype(dtype) if bias else None
    expected = tconv.conv(x, w, b, algorithm="direct")
    monkeypatch.setattr(im2col, "_conv_tiled", None)  # calling it would fail
    monkeypatch.setattr(im2col, "im2col", None)
    y = tconv.conv(x, w, b, algorithm="gemm")
    assert y.shape == (5, 7, 1, 1)
    assert_close(y, expected, dtype=expected.dtype)


def test_weight_gradient_accumulator_is_counted_once_per_piece():
    """The weight gradient's double-precision sum is allocated once per call: the budget holds it once,
    not once per sample (counted per sample, DCGAN's 512 -> 256 layer, 16 samples of 4x4, was cut into
    pieces of 12 and 4 samples under the default budget)."""
    from tconv.geometry import conv_transpose_geometry

    g = conv_transpose_geometry((4, 4), (4, 4), (2, 2), (1, 1), (0, 0), (1, 1))
    pieces = weight_gradient_pieces(512, 256, 1, np.dtype(np.float32))
    assert [s for s, _ in pieces.pieces(16, g)] == [slice(0, 16)]  # the default budget
    for budget in (2**25, 2**26, 2**27):
        with tconv.options(memory_budget=budget):
            per_sample, fixed = pieces.footprint(g), pieces.fixed(g)  # (fixed includes a share of the budget)
            assert fixed >= 2 * 512 * 256 * 16 * 4  # the float64 sum of the (512, 256*16) gradient
            step = (budget - fixed) // per_sample
            first = next(iter(pieces.pieces(16, g)))[0]
        assert first == slice(0, min(16, step))
        assert step >= 16  # counted per sample, the accumulator left room for 1-4 samples


@pytest.mark.parametrize("budget", [2**30, 600_000], ids=["one-piece", "pieces"])
def test_weight_gradient_chunks_follow_the_whole_sum(budget, monkeypatch):
    """The chunk length of the double-precision sums depends on the rows of the whole gradient, not on
    how many of them a piece of the memory budget holds (a piece of 4 samples made chunks of 16 rows)."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 32, 8, 8), dtype=np.float32)
    w = rng.standard_normal((32, 16, 4, 4), dtype=np.float32)
    dy = rng.standard_normal((16, 16, 16, 16), dtype=np.float32)
    steps, parts = [], []
    original = im2col._chunked_product

    def spy(lhs, rhs, step, dtype, **where):
        steps.append(step)
        parts.append(lhs.shape[0])
        return original(lhs, rhs, step, dtype, **where)

    monkeypatch.setattr(im2col, "_chunked_product", spy)
    with tconv.options(memory_budget=budget):
        got = tconv.conv_transpose_backward(dy, x, w, stride=2, padding=1, needs="weight").weight
    rows = 16 * 8 * 8
    expected_step = im2col.chunk_rows(32 * 16 * 16, 2, rows)
    assert sum(parts) == rows and (len(parts) > 1) == (budget < 2**30)
    assert all(step == min(expected_step, part) for step, part in zip(steps, parts))
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), stride=2, padding=1, needs="weight"
    ).weight
    assert np.abs(got - exact).max() <= 1e-5 * np.abs(exact).max()


# (groups, input and output channels per group, spatial size, kernel, stride, padding, dilation)
MINOR = [
    (32, 4, 4, (9, 7), (4, 4), (2, 2), (1, 1), (1, 1)),
    (8, 2, 8, (6, 5), (3, 3), (1, 2), (0, 1), (2, 1)),
    (16, 1, 4, (5, 6), (4, 3), (2, 3), (1, 0), (1, 1)),
    (12, 3, 5, (11,), (5,), (3,), (2,), (1,)),
    (9, 16, 1, (3, 4, 3), (2, 3, 2), (2, 1, 2), (0, 1, 0), (1, 1, 1)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.complex64, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", MINOR, ids=[f"G{m[0]}-{m[1]}x{m[2]}-{len(m[3])}d" for m in MINOR])
def test_small_groups_along_the_groups(shape, layout, dtype):
    """The forward ``direct`` pass and both gradients of layers with 8 or more small groups (the compiled
    passes along the groups, channels in (channel, group) order) against the NumPy-only path in float64,
    in both layouts."""
    from tconv._algorithms.im2col import minor_groups

    groups, cig, cog, size, kernel, stride, padding, dilation = shape
    assert minor_groups(groups, cig, cog) and minor_groups(groups, cog, cig)
    rng = np.random.default_rng(5)
    n, c_in = 3, groups * cig
    x = rng.standard_normal((n, c_in, *size))
    w = rng.standard_normal((c_in, cog, *kernel))
    if np.dtype(dtype).kind == "c":
        x, w = x + 1j * rng.standard_normal(x.shape), w + 1j * rng.standard_normal(w.shape)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    y_shape = tconv.conv_transpose(x, w, **kwargs).shape
    dy = rng.standard_normal(y_shape) * (1 + (1j if np.dtype(dtype).kind == "c" else 0))
    with tconv.options(compiled=False):
        expected = tconv.conv_transpose_backward(dy, x, w, **kwargs)
    x_in = to_layout(x.astype(dtype), layout)
    got = tconv.conv_transpose_backward(
        to_layout(dy.astype(dtype), layout), x_in, w.astype(dtype), **kwargs, layout=layout
    )
    with tconv.options(compiled=False):
        expected_y = tconv.conv_transpose(x, w, **kwargs)
    y = tconv.conv_transpose(x_in, w.astype(dtype), **kwargs, layout=layout, algorithm="direct")
    tolerance = 1e-12 if np.dtype(dtype) == np.float64 else 2e-5
    pairs = ((from_layout(got.input, layout), expected.input), (got.weight, expected.weight))
    for mine, theirs in (*pairs, (from_layout(y, layout), expected_y)):
        assert mine.dtype == np.dtype(dtype)
        assert np.abs(mine - theirs).max() <= tolerance * np.abs(theirs).max()


# few small groups: (n, groups, input and output channels per group, spatial size, kernel, stride, padding),
# and whether their weight gradient sums in the direct pass (im2col.direct_gradient); each above the tiny
# problems' 2**16 multiply-adds (tconv._algorithms.tiny), whose gradients take another path
FEW_GROUPS = [
    (8, 4, 4, 1, (4, 4, 4), (8, 8, 8), (2, 2, 2), (0, 0, 0), False),  # several input channels: a GEMM a group
    (2, 6, 16, 1, (9, 9), (8, 8), (4, 4), (1, 1), False),
    (8, 2, 1, 3, (60, 60), (7, 7), (4, 4), (2, 2), False),  # one input channel, many taps, few outputs
    (2, 2, 1, 3, (30, 30), (7, 7), (4, 4), (2, 2), True),  # the same, little work: one double-precision sum
    (3, 4, 2, 4, (2000,), (3,), (2,), (1,), True),  # few taps
    (2, 3, 1, 16, (16, 17), (4, 4), (3, 3), (0, 0), True),  # many output channels: the direct pass's inner loop
]


def _few_groups_gradient(shape, layout, dtype, needs, spied, seed):
    """Check one gradient (``needs``) of a ``FEW_GROUPS`` layer (``shape``: n, groups, channels per group,
    size, kernel, stride, padding) in ``dtype`` and ``layout`` against the NumPy-only float64 one
    (asserts); return whether ``im2col``'s function ``spied`` ran."""
    from tconv._algorithms import im2col

    n, groups, cig, cog, size, kernel, stride, padding = shape[:8]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, groups * cig, *size))
    w = rng.standard_normal((groups * cig, cog, *kernel))
    kwargs = dict(stride=stride, padding=padding, groups=groups)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kwargs).shape)
    with tconv.options(compiled=False):
        expected = getattr(tconv.conv_transpose_backward(dy, x, w, needs=needs, **kwargs), needs)
    taken: list[int] = []
    original = getattr(im2col, spied)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, spied, lambda *a: taken.append(1) or original(*a))
        got = tconv.conv_transpose_backward(
            to_layout(dy.astype(dtype), layout),
            to_layout(x.astype(dtype), layout),
            w.astype(dtype),
            needs=needs,
            **kwargs,
            layout=layout,
        )
    got = getattr(got, needs)
    got = from_layout(got, layout) if needs == "input" else got
    assert got.dtype == np.dtype(dtype) and got.shape == expected.shape
    tolerance = 1e-12 if np.dtype(dtype) == np.float64 else 2e-6
    assert np.abs(got - expected).max() <= tolerance * np.abs(expected).max()
    return bool(taken)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", FEW_GROUPS, ids=[f"G{m[1]}-{m[2]}x{m[3]}-{len(m[4])}d" for m in FEW_GROUPS])
def test_few_small_groups_weight_gradient(shape, layout, dtype):
    """The weight gradient of a few small groups in the direct pass or a BLAS product a group, as
    ``direct_gradient`` says (checked by a spy on the direct pass), within rounding of the NumPy-only
    float64 gradient, in both layouts; float32 as close as the direct pass's double-precision sums
    allow (within 2e-6 of the largest entry)."""
    direct = shape[8]
    taken = _few_groups_gradient(
        shape, layout, dtype, "weight", "_add_weight_gradient_direct", shape[2] * 31 + shape[3]
    )
    assert taken == direct, (taken, direct)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "n, groups, cig, cog, size, kernel, stride",
    [
        (1, 16, 24, 1, (12, 12), (5, 5), (3, 3)),  # many groups over few rows
        (4, 4, 8, 8, (40,), (4,), (2,)),
        (1, 3, 16, 6, (4, 5, 3), (3, 3, 3), (2, 1, 2)),
    ],
)
def test_stacked_group_gradients(n, groups, cig, cog, size, kernel, stride, layout):
    """Grouped float32 weight gradients of little work, each group's one double-precision product
    (``im2col.wide_sum``), as one stacked product over the groups (checked by a spy on the per-group
    path, which must not run): each entry the float64 gradient rounded once (within one float32 spacing),
    the same bits on one thread and two."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(groups * cig + cog)
    x = rng.standard_normal((n, groups * cig, *size)).astype(np.float32)
    w = rng.standard_normal((groups * cig, cog, *kernel)).astype(np.float32)
    kwargs = dict(stride=stride, groups=groups)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kwargs).shape).astype(np.float32)
    wide = [a.astype(np.float64) for a in (dy, x, w)]
    exact = tconv.conv_transpose_backward(*wide, needs="weight", **kwargs).weight  # of the float32 inputs
    args = (to_layout(dy, layout), to_layout(x, layout), w)
    taken: list[int] = []
    original = im2col._stacked_gradients
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_add_weight_gradient", lambda *a, **k: pytest.fail("per-group products"))
        patch.setattr(im2col, "_stacked_gradients", lambda *a: taken.append(1) or original(*a))
        patch.setattr(im2col, "_group_gradients_cf", lambda *a: None)  # the channels-last general path
        got = {}
        for threads in (1, 2):
            with tconv.options(threads=threads):
                got[threads] = tconv.conv_transpose_backward(*args, needs="weight", **kwargs, layout=layout).weight
    assert taken == [1, 1]
    assert np.array_equal(got[1], got[2])
    assert got[1].dtype == np.float32 and got[1].shape == w.shape
    assert np.all(np.abs(got[1] - exact) <= np.spacing(np.abs(exact).astype(np.float32)))


@pytest.mark.parametrize("depthwise", [False, True], ids=["pairs", "depthwise"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", FEW_GROUPS, ids=[f"G{m[1]}-{m[2]}x{m[3]}-{len(m[4])}d" for m in FEW_GROUPS])
def test_few_small_groups_input_gradient(shape, layout, dtype, depthwise):
    """The input gradient (a convolution) of a few small groups, not depthwise: one BLAS product a group
    (``direct_convolution``; the compiled direct pass not taken, checked by a spy), within rounding of
    the NumPy-only float64 gradient, in both layouts; a depthwise layer of as many groups (more samples:
    not a tiny problem) takes the direct pass."""
    from tconv._algorithms import im2col

    n, groups, cig, cog = shape[:4]
    if depthwise:
        n, cig, cog = 8 * n, 1, 1
    case = (n, groups, cig, cog, *shape[4:])
    assert im2col.direct_convolution(groups, cog, cig) == depthwise
    taken = _few_groups_gradient(case, layout, dtype, "input", "_conv_direct_block", cig * 7 + cog)
    assert taken == depthwise, (taken, depthwise)


@pytest.mark.parametrize("first", [True, False], ids=["columns-first", "channels-last"])
@pytest.mark.parametrize(
    "shape",
    [
        # (n, C_in, size), the weight's shape (C_out, C_in/G, *k), stride, padding, dilation, groups (not small)
        ((3, 6, (9, 8)), (4, 6, 3, 3), (2, 2), (1, 1), (1, 1), 1),  # overlapping windows
        ((2, 8, (12, 10)), (10, 4, 2, 2), (2, 2), (0, 0), (1, 1), 2),  # no overlap (U-Net's k2 s2), groups
        ((2, 4, (11,)), (5, 4, 16), (8,), (4,), (1,), 1),  # a vocoder's k16 s8, 1-d
        ((1, 8, (5, 6, 7)), (10, 4, 2, 3, 2), (1, 2, 3), (1, 0, 1), (2, 1, 1), 2),  # 3-d, dilation, groups
        ((5, 3, (6, 6)), (7, 3, 4, 4), (2, 2), (1, 1), (1, 1), 1),  # several short samples per tile
    ],
)
def test_convolution_columns_first(shape, first, monkeypatch):
    """The channels-first convolution gathers its columns in the weight's (channel, tap) order from the
    input as it is (``_conv_tiled_cf``), or from a channels-last copy with a packed weight, as
    ``_columns_first`` says: both are the reference convolution, in float64 and within float32's
    error, with bias, under a budget that cuts the batch into blocks and with tiles of a few rows."""
    from tconv._algorithms import im2col

    (n, c, size), w_shape, stride, padding, dilation, groups = shape
    rng = np.random.default_rng(5)
    x = rng.standard_normal((n, c, *size))
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    expected = tconv.conv(x, w, b, **args, algorithm="direct")
    monkeypatch.setattr(im2col, "_columns_first", lambda *a: first)
    calls = []
    original = im2col._conv_tiled_cf
    monkeypatch.setattr(im2col, "_conv_tiled_cf", lambda *a: calls.append(1) or original(*a))
    for tile in (256, 2**20):  # tiles of one row of one sample; of several whole samples
        monkeypatch.setattr(im2col, "TILE_COLUMNS", tile)
        for budget in (2**30, 5000):
            with tconv.options(memory_budget=budget):
                assert_close(tconv.conv(x, w, b, **args, algorithm="gemm"), expected, rtol=1e-12, atol=1e-12)
                single = tconv.conv(*(a.astype(np.float32) for a in (x, w, b)), **args, algorithm="gemm")
                assert_close(single, expected, rtol=2e-5, atol=2e-5)
    assert bool(calls) == first


@pytest.mark.parametrize("threads", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "n, j_lead, j_last, row_bytes",
    [(4, 16, 16, 100), (1, 1, 224, 10**5), (1, 28, 28, 10**4), (3, 5, 7, 10), (16, 32, 32, 3000), (1, 1, 1, 8)],
)
def test_row_tiles_cover_the_output_once_in_equal_shares(n, j_lead, j_last, row_bytes, threads):
    """row_tiles: every (sample, lead, last) output position in exactly one tile; a tile holds whole
    samples, or lead positions of one sample, or last-axis positions of one lead position; at least one
    tile per thread where the output has positions enough, of at most two sizes (a sample's last band shorter)."""
    from tconv._algorithms.im2col import row_tiles

    tiles = row_tiles(n, j_lead, j_last, row_bytes, threads)
    covered = np.zeros((n, j_lead, j_last), int)
    for n0, n1, l0, l1, m0, m1 in tiles:
        assert (l0, l1) == (0, j_lead) or n1 - n0 == 1
        assert (m0, m1) == (0, j_last) or (n1 - n0, l1 - l0) == (1, 1)
        covered[n0:n1, l0:l1, m0:m1] += 1
    assert (covered == 1).all()
    if n * j_lead * j_last >= threads:
        assert len(tiles) >= threads
    assert len({(n1 - n0) * (l1 - l0) * (m1 - m0) for n0, n1, l0, l1, m0, m1 in tiles}) <= 2


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize(
    "n, c, size, w_shape, stride",
    [
        (1, 4, (41,), (6, 4, 16), 8),  # one 1-d sample: pieces of its one row
        (1, 3, (9, 10), (5, 3, 4, 4), 2),  # one 2-d sample: bands of its rows, or pieces of one row
        (2, 3, (5, 6, 7), (4, 3, 3, 3, 3), 2),
        (3, 2, (6, 6), (4, 2, 2, 2), 2),  # whole samples per tile, an odd count
    ],
)
def test_convolution_tiles_shared_among_threads(n, c, size, w_shape, stride, first, threads, monkeypatch):
    """The tiled convolutions (channels-first columns, and channels-last copies) on tiles shared among
    2-3 threads -- whole samples, bands of lead positions, pieces of one row -- are the reference."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(threads)
    x, w, b = rng.standard_normal((n, c, *size)), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    expected = tconv.conv(x, w, b, stride=stride, algorithm="direct")
    monkeypatch.setattr(im2col, "_columns_first", lambda *a: first)
    monkeypatch.setattr(im2col, "_threads_for", lambda macs: threads)  # small arrays: split them anyway
    for tile in (256, 2**20):
        monkeypatch.setattr(im2col, "TILE_COLUMNS", tile)
        with tconv.options(threads=threads):
            assert_close(tconv.conv(x, w, b, stride=stride, algorithm="gemm"), expected, rtol=1e-12, atol=1e-12)


def test_columns_first_rule():
    """Columns from the channels-first input where windows do not overlap or the weight is the larger
    array; a channels-last copy for overlapping windows of a small weight, and for channels-last data."""
    from tconv._algorithms.im2col import _columns_first

    def rule(x_shape, w_shape, kernel, stride, layout="channels_first"):
        x, w = np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32)
        geometry = conv_geometry(x_shape[2:], kernel, stride)
        return _columns_first(x, w, geometry, Problem.of(x, w, None, 1, layout, "conv"))

    assert rule((4, 128, 64, 64), (256, 128, 2, 2), 2, 2)  # U-Net's k2 s2: no overlap
    assert rule((16, 256, 8, 8), (512, 256, 4, 4), 4, 2)  # dcgan-1's input gradient: a weight larger than dy
    assert not rule((4, 64, 64, 64), (128, 64, 4, 4), 4, 2)  # overlapping windows, small weight
    assert not rule((4, 128, 64, 64), (256, 128, 2, 2), 2, 2, "channels_last")


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("groups, cig, cog", [(2, 3, 4), (64, 1, 1), (16, 2, 2)])
def test_small_group_weight_gradient_is_the_same_on_every_run(groups, cig, cog, threads):
    """The compiled small-group weight gradient sums each piece of its tasks apart and adds the pieces in
    their order: bit for bit the same result whichever thread claims which piece (a sum per thread of
    the pieces it claimed differed in the last bits from run to run)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((groups * cig, cog, 4, 4))
    x = rng.standard_normal((2, groups * cig, 25, 13))
    kwargs = dict(stride=2, groups=groups)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kwargs).shape)
    with tconv.options(threads=threads):
        runs = {tconv.conv_transpose_backward(dy, x, w, needs="weight", **kwargs).weight.tobytes() for _ in range(24)}
    assert len(runs) == 1


@pytest.mark.parametrize("size", [(24, 20), (32, 32)])
@pytest.mark.parametrize("groups", [2, 4, 5])
def test_grouped_weight_gradient_is_the_same_with_any_threads(groups, size):
    """Groups with a GEMM each run side by side, each group's product on one thread: the float32 weight
    gradient (double-precision chunk sums) is the same to the last bit with 1, 2 or 3 threads, and
    within float32 rounding of the float64 one -- on the general path and on the channels-first tiles
    (``_group_gradients_cf``: 4096 rows, or 1920 whose columns do not fit one block with 4 or 5 groups),
    whose blocks of channels do not depend on the threads (their BLAS chunk products' bits do on the blocks)."""
    rng = np.random.default_rng(groups)
    w = rng.standard_normal((groups * 24, 20, 4, 4)).astype(np.float32)
    x = rng.standard_normal((4, groups * 24, *size)).astype(np.float32)  # 1920 or 4096 rows: over SMALL_FLOPS per group
    kwargs = dict(stride=2, padding=1, groups=groups)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kwargs).shape).astype(np.float32)
    got = []
    for threads in (1, 2, 3):
        with tconv.options(threads=threads):
            got.append(tconv.conv_transpose_backward(dy, x, w, needs="weight", **kwargs).weight)
    assert all(np.array_equal(got[0], other) for other in got[1:])
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), needs="weight", **kwargs
    ).weight
    assert np.abs(got[0] - exact).max() <= 1e-5 * np.abs(exact).max()


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("groups, cig, cog", [(32, 1, 1), (16, 1, 2), (12, 2, 2), (3, 4, 4)])
def test_small_group_convolution_with_bias_in_both_layouts(groups, cig, cog, layout):
    """The compiled small-group convolution writes a channels-first result row by row through a
    channels-last buffer (conv_direct_cf) and a channels-last one directly; with a bias, on a 32 x 32
    plane (power-of-two rows), against the NumPy-only path."""
    rng = np.random.default_rng(groups)
    x = rng.standard_normal((2, groups * cig, 32, 32))
    w = rng.standard_normal((groups * cog, cig, 3, 3))
    b = rng.standard_normal(groups * cog)
    kwargs = dict(stride=2, padding=1, groups=groups)
    with tconv.options(compiled=False):
        expected = tconv.conv(x, w, b, **kwargs)
    got = tconv.conv(
        to_layout(x.astype(np.float32), layout), w.astype(np.float32), b.astype(np.float32), **kwargs, layout=layout
    )
    assert_close(from_layout(got, layout), expected.astype(np.float32))


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "n, c_in, c_out, groups, size, kernel, stride, padding, dilation",
    [
        (8, 64, 64, 4, (16, 16), (4, 4), 2, 1, 1),  # a 4-group k4 s2 layer: tiles of whole samples
        (2, 32, 64, 2, (12, 10, 9), (3, 3, 2), 2, 1, 1),  # 3-d, an uneven kernel
        (1, 48, 48, 3, (90, 90), (3, 3), 1, 1, 2),  # one large dilated sample: bands of its rows
        (1, 32, 32, 2, (1, 9000), (1, 5), (1, 3), (0, 2), 1),  # one long row: pieces of it
        (3, 80, 48, 4, (21, 33), (4, 3), (2, 3), (2, 0), 1),  # padding that crops, odd sizes
        (8, 64, 32, 2, (16, 16), (3, 3), 2, 1, 1),  # 32 input channels a group: the mixed tiles on any processor
    ],
)
def test_grouped_weight_gradient_columns_first(
    n, c_in, c_out, groups, size, kernel, stride, padding, dilation, threads
):
    """A channels-first float32 grouped layer's weight gradient from each group's columns made per tile of
    rows (``_group_gradients_cf``; taken here, checked by a spy): as close to the float64 gradient as the
    general path's (chunks never longer), within float32 rounding of it, and the same bits with any
    number of threads (each group summed by one thread). Its tiles' chunks are summed in the mixed-precision
    register tiles where the group's input channels fill their panels (``mixed.fills``), else by BLAS."""
    from tconv._algorithms import im2col, mixed

    rng = np.random.default_rng(c_in)
    w = rng.standard_normal((c_in, c_out // groups, *kernel)).astype(np.float32)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kwargs).shape).astype(np.float32)
    taken, tiles = [], []
    original, product = im2col._group_gradients_cf, mixed.product
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_group_gradients_cf", lambda *a: taken.append(1) or original(*a))
        patch.setattr(mixed, "product", lambda *a: tiles.append(1) or product(*a))
        with tconv.options(threads=threads):
            got = tconv.conv_transpose_backward(dy, x, w, needs="weight", **kwargs).weight
        assert bool(tiles) == mixed.fills(c_in // groups), (len(tiles), c_in // groups)
        patch.setattr(im2col, "_group_columns_first", lambda *a: False)
        with tconv.options(threads=threads):
            general = tconv.conv_transpose_backward(dy, x, w, needs="weight", **kwargs).weight
    assert taken == [1]
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), needs="weight", **kwargs
    ).weight
    assert got.dtype == np.float32 and got.shape == w.shape and got.flags.c_contiguous
    assert np.abs(got - exact).max() <= 1e-5 * np.abs(exact).max()
    # the same chunks: as close as the general path's, within what a chunk summed in one chain of fused
    # multiply-adds (the mixed tiles) costs against BLAS's kernel (1.03-1.10x on nine grouped layers, where
    # both were 0.07-0.29x PyTorch's distance: im2col._tile_chunks)
    assert np.abs(got - exact).sum() <= (1.15 if tiles else 1.02) * np.abs(general - exact).sum()
    with tconv.options(threads=1):
        assert np.array_equal(got, tconv.conv_transpose_backward(dy, x, w, needs="weight", **kwargs).weight)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "n, c_in, c_out, size, op",
    [
        (1, 128, 32, (40, 40), "conv_transpose"),  # one sample: blocks of the product's rows, (A, B) panels of B
        (5, 48, 32, (9, 10, 11), "conv_transpose"),  # 3-d, more samples than pieces: runs of samples
        (3, 64, 3, (6000,), "conv_transpose"),  # 1-d, 3 output channels: BLAS's chunk products in place
        (8, 512, 1, (1687,), "conv_transpose"),  # one output channel: matrix-vector products, runs of samples
        (1, 128, 3, (100, 100), "conv_transpose"),  # one sample: pieces of its chunks
        (4, 2, 40, (80, 90), "conv"),  # the convolution's: its 2 input channels the narrow side
        (2, 32, 48, (40, 41), "conv"),  # the convolution's weight gradient: the output gradient the small side
        (1, 512, 256, (28, 28), "conv_transpose"),  # 784 rows of a large gradient (32-row chunks)
    ],
)
def test_pointwise_weight_gradient_in_register_tiles(n, c_in, c_out, size, op, threads):
    """A channels-first float32 1 x ... x 1 layer's weight gradient in the mixed-precision register tiles
    (``_pointwise_gradient``, checked by a spy): within float32 rounding of the float64 gradient, as close
    as the general path's (the same chunk length, restarted at each sample), and the same bits with any
    number of threads."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(c_in + c_out)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = (rng.standard_normal((c_in, c_out, *(1,) * len(size))) / np.sqrt(c_in)).astype(np.float32)
    if op == "conv":  # conv_backward(grad_output, input, weight), the weight (C_out, C_in): the small side dy
        w = np.ascontiguousarray(w.swapaxes(0, 1))
        conv_input = rng.standard_normal((n, c_in, *size)).astype(np.float32)
        grad_output = rng.standard_normal((n, c_out, *size)).astype(np.float32)
        backward = lambda *a: tconv.conv_backward(*a, needs="weight").weight  # noqa: E731
        args = (grad_output, conv_input, w)
    else:
        dy = rng.standard_normal((n, c_out, *size)).astype(np.float32)
        backward = lambda *a: tconv.conv_transpose_backward(*a, needs="weight").weight  # noqa: E731
        args = (dy, x, w)
    taken, narrow = [], []
    original, in_place = im2col._pointwise_gradient, im2col._pointwise_narrow_gradient
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_pointwise_gradient", lambda *a: taken.append(original(*a)) or taken[-1])
        patch.setattr(im2col, "_pointwise_narrow_gradient", lambda *a: narrow.append(1) or in_place(*a))
        with tconv.options(threads=threads):
            got = backward(*args)
        patch.setattr(im2col, "pointwise_map", lambda geometry: False)
        general = backward(*args)
    assert len(taken) == 1 and taken[0] is not None
    big = args[0] if op == "conv_transpose" else args[1]  # the big side: dy, or the convolution's input
    assert bool(narrow) == (big.shape[1] <= im2col.NARROW_OUTPUTS)
    exact = backward(*(a.astype(np.float64) for a in args))
    assert got.dtype == np.float32 and got.shape == w.shape and got.flags.c_contiguous
    assert np.abs(got - exact).max() <= 1e-5 * np.abs(exact).max()
    # the same chunks, each summed in one chain of fused multiply-adds (BLAS's kernels split a chunk in
    # several partial sums): as close as the general path's within a few percent, as for the grouped tiles
    assert np.abs(got - exact).sum() <= 1.15 * np.abs(general - exact).sum()
    with tconv.options(threads=1):
        assert np.array_equal(got, backward(*args))


def test_narrow_pointwise_weight_gradient_is_the_same_under_any_budget_and_threads(monkeypatch):
    """``_pointwise_narrow_gradient`` (two output channels) stacks its chunks' products in batches within
    ``partials_bytes`` and adds each chunk's sums one after the other: the same bits with batches of one
    chunk or of all, on 1-3 threads, one sample (pieces of its chunks) or several (runs of samples)."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(7)
    for n, size in ((1, 30001), (5, 5003)):  # (over 2**21 multiply-adds: not one double-precision product)
        x = rng.standard_normal((n, 96, size)).astype(np.float32)
        w = rng.standard_normal((96, 2, 1)).astype(np.float32)
        dy = rng.standard_normal((n, 2, size)).astype(np.float32)
        got: list[np.ndarray] = []
        taken: list[int] = []
        original = im2col._pointwise_narrow_gradient

        def spy(*a, taken=taken, original=original):
            taken.append(1)
            return original(*a)

        monkeypatch.setattr(im2col, "_pointwise_narrow_gradient", spy)
        for partials, threads in ((2**24, 2), (2**24, 1), (1, 3)):
            monkeypatch.setattr(im2col, "PARTIALS_BYTES", partials)
            with tconv.options(threads=threads):
                got.append(tconv.conv_transpose_backward(dy, x, w, needs="weight").weight)
        assert len(taken) == 3 and all(np.array_equal(got[0], other) for other in got[1:])
        monkeypatch.setattr(im2col, "_pointwise_narrow_gradient", original)
        exact = tconv.conv_transpose_backward(
            dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), needs="weight"
        ).weight
        assert np.abs(got[0] - exact).max() <= 1e-5 * np.abs(exact).max()


@pytest.mark.parametrize("partials", [2**21, 2**17])
def test_narrow_weight_gradient_over_many_rows_in_blocks_of_rows(monkeypatch, partials):
    """A small weight gradient that is one double-precision product (``wide_sum``: a 1-d 1 -> 2 layer, 32
    entries over 7936 rows) whose columns would be several bands on one thread is summed in blocks of
    whole rows instead (``_chunked_product``), each block's product and their sum in double precision:
    the exact gradient rounded once, within half a float32 spacing, with one block or many."""
    from tconv._algorithms import im2col

    monkeypatch.setattr(im2col, "PARTIALS_BYTES", partials)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 1, 3967)).astype(np.float32)
    w = rng.standard_normal((1, 2, 16)).astype(np.float32)
    kwargs = dict(stride=2, padding=15, dilation=2)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kwargs).shape).astype(np.float32)
    calls = []
    original = im2col._blas.matmul
    monkeypatch.setattr(im2col._blas, "matmul", lambda a, b, *r: calls.append(a.shape) or original(a, b, *r))
    with tconv.options(threads=1):
        got = tconv.conv_transpose_backward(dy, x, w, needs="weight", **kwargs).weight
    assert calls and all(shape[0] == 1 for shape in calls)  # (A = 1, block rows) left operands
    assert (len(calls) > 1) == (partials < 2**21), len(calls)  # one block, or many
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), needs="weight", **kwargs
    ).weight
    assert np.all(np.abs(got - exact) <= np.spacing(np.abs(exact).astype(np.float32)) / 2 * 1.0001)


def test_pointwise_weight_gradient_leaves_what_it_does_not_take_to_the_general_path():
    """``_pointwise_gradient`` declines (None: the general path) channel counts that fill neither side's
    panels and a budget its panels do not fit (a gradient that is one double-precision product it takes:
    ``_pointwise_wide_gradient``); the results are the general path's, within float32 rounding of
    float64."""
    from tconv._algorithms import im2col
    from tconv.geometry import conv_transpose_geometry

    rng = np.random.default_rng(2)
    geometry = conv_transpose_geometry((40, 40), (1, 1), (1, 1), (0, 0), (0, 0), (1, 1))
    small = rng.standard_normal((2, 64, 40, 40)).astype(np.float32)
    big = rng.standard_normal((2, 32, 40, 40)).astype(np.float32)
    rows = 2 * 1600
    assert im2col._pointwise_gradient(small, big, geometry, rows) is not None
    wide = im2col._pointwise_gradient(small[:, :8], big[:, :8], geometry, 400)  # one wide product
    exact8 = np.einsum("napq,nbpq->ab", small[:, :8].astype(np.float64), big[:, :8].astype(np.float64))
    assert wide is not None and np.array_equal(wide.reshape(8, 8), exact8.astype(np.float32))
    # 7 x 5 summed over more rows than one wide product takes: no panels fill
    assert im2col._pointwise_gradient(small[:, :7], big[:, :5], geometry, 10**6) is None
    with tconv.options(memory_budget=2**18, threads=2):  # two threads' panels, 400 kB, do not fit
        assert im2col._pointwise_gradient(small, big, geometry, rows) is None
        got = tconv.conv_transpose_backward(big, small, np.ones((64, 32, 1, 1), np.float32), needs="weight").weight
    exact = np.einsum("napq,nbpq->ab", small.astype(np.float64), big.astype(np.float64))
    assert np.abs(got[:, :, 0, 0] - exact).max() <= 1e-5 * np.abs(exact).max()


@pytest.mark.parametrize(
    "n, c_in, c_out, size",
    [(1, 3, 8, (23, 23, 23)), (4, 2, 5, (50, 50)), (16, 4, 4, (300,)), (8, 3, 16, (16, 16)), (1, 6, 2, (200, 200))],
)
def test_pointwise_weight_gradient_of_few_entries_is_one_wide_product(n, c_in, c_out, size):
    """A float32 pointwise weight gradient of few entries (``wide_sum``: one double-precision product) from
    the channels-first rows as they lie (``_pointwise_wide_gradient``, no im2col columns): each entry the
    float64 sum rounded once (within half a unit in the last place), the same bits in blocks of samples
    or of positions under small memory budgets, the path taken (a spy)."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(n * 100 + c_in)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *(1,) * len(size))).astype(np.float32)
    dy = rng.standard_normal((n, c_out, *size)).astype(np.float32)
    taken = []
    original = im2col._pointwise_wide_gradient
    results = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_pointwise_wide_gradient", lambda *a: taken.append(1) or original(*a))
        # whole, blocks of one sample, blocks of positions
        for budget in (None, 8 * (c_in + c_out) * 8 * int(np.prod(size)), 2**12):
            with tconv.options(**({} if budget is None else {"memory_budget": budget})):
                results.append(tconv.conv_transpose_backward(dy, x, w, needs="weight").weight)
    assert len(taken) == 3
    exact = np.einsum(
        "nap,nbp->ab", x.astype(np.float64).reshape(n, c_in, -1), dy.astype(np.float64).reshape(n, c_out, -1)
    ).reshape(w.shape)
    got = results[0]
    assert np.all(np.abs(got - exact) <= np.spacing(np.abs(exact).astype(np.float32)) / 2 * 1.0001)
    for other in results[1:]:
        np.testing.assert_array_equal(other, got)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "n, c_in, c_out, size, groups",
    [(2, 32, 16, (30, 31), 1), (16, 64, 3, (12, 12), 1), (3, 40, 32, (9, 10, 11), 2), (2, 3, 64, (50,), 1)],
)
def test_pointwise_input_gradient_is_one_double_precision_product_per_sample(n, c_in, c_out, size, groups, layout):
    """The input gradient of a 1 x ... x 1 layer of at most 64 output channels per group is each input the
    double-precision sum of its exact products, rounded once (channels-first, at least 8 input channels a
    group: ``_conv_pointwise``, per sample; else the tiles): within half a float32 ulp of float64, bias
    and groups included."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(c_in)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out // groups, *(1,) * len(size))).astype(np.float32)
    dy = rng.standard_normal((n, c_out, *size)).astype(np.float32)
    calls = []
    original = im2col._conv_pointwise
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_conv_pointwise", lambda *a: calls.append(1) or original(*a))
        got = tconv.conv_transpose_backward(
            to_layout(dy, layout), to_layout(x, layout), w, groups=groups, layout=layout, needs="input"
        ).input
    assert bool(calls) == (layout == "channels_first" and c_in // groups >= im2col.POINTWISE_ROWS)
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), groups=groups, needs="input"
    ).input
    got = from_layout(got, layout)
    assert got.dtype == np.float32
    assert np.all(np.abs(got - exact) <= np.spacing(np.abs(exact).astype(np.float32)) / 2 * 1.0001)
    # and the public convolution (the same path) with a bias
    b = rng.standard_normal(c_in).astype(np.float32)
    y = tconv.conv(dy, w, b, groups=groups)  # conv's weight (C_out, C_in / G): the transposed one's (C_in, C_out / G)
    assert_close(y, (exact + b.reshape(-1, *(1,) * len(size))).astype(np.float32), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "n, c_in, c_out, size, groups",
    [(1, 20, 512, (8, 8, 8), 4), (12, 12, 18, (19, 20), 3), (2, 64, 64, (50,), 2)],
)
def test_grouped_pointwise_weight_gradient(n, c_in, c_out, size, groups, dtype):
    """A channels-first grouped 1 x ... x 1 layer's weight gradient of little work as one product stacked
    over the groups (``_pointwise_group_gradients``, checked by a spy): in float32 the exact gradient of
    its inputs (a float64 ``einsum``) rounded once, within one spacing, as the general path's per-group
    products are; under a small budget, those instead, with the same values."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(c_in + c_out)
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out // groups, *(1,) * len(size))).astype(dtype)
    dy = rng.standard_normal((n, c_out, *size)).astype(dtype)
    a, b, p = c_in // groups, c_out // groups, int(np.prod(size))
    exact = np.einsum(  # an independent oracle: dw[g*A + a, b] = sum over samples and positions of x * dy
        "ngap,ngbp->gab", x.astype(np.float64).reshape(n, groups, a, p), dy.astype(np.float64).reshape(n, groups, b, p)
    ).reshape(w.shape)
    results: list[object] = []
    original = im2col._pointwise_group_gradients
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_pointwise_group_gradients", lambda *a: results.append(original(*a)) or results[-1])
        got = tconv.conv_transpose_backward(dy, x, w, groups=groups, needs="weight").weight
        with tconv.options(memory_budget=2**17):  # partial products of 16 KiB: the copies do not fit
            general = tconv.conv_transpose_backward(dy, x, w, groups=groups, needs="weight").weight
    assert results[0] is not None and results[1] is None
    assert got.dtype == np.dtype(dtype) and got.shape == w.shape
    if dtype == np.float32:  # rounded once from double precision: within one float32 spacing
        spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
        assert np.all(np.abs(got - exact) <= spacing)
        assert np.abs(general - exact).max() <= 4 * spacing.max()
    else:
        for mine in (got, general):
            assert np.abs(mine - exact).max() <= 1e-12 * np.abs(exact).max()


def test_pointwise_input_gradient_in_runs_of_samples():
    """``_conv_pointwise`` multiplies whole samples in runs whose double-precision copy fits the partial
    products' bytes (one stacked product a group and run): the same bits with runs of one sample (a
    small memory budget), of all samples, on one thread and two."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((12, 48, 7, 6)).astype(np.float32)
    w = rng.standard_normal((48, 16, 1, 1)).astype(np.float32)
    dy = rng.standard_normal((12, 32, 7, 6)).astype(np.float32)
    got = []
    for budget, threads in ((2**30, 2), (2**30, 1), (2**17, 2)):
        with tconv.options(memory_budget=budget, threads=threads):
            got.append(tconv.conv_transpose_backward(dy, x, w, groups=2, needs="input").input)
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), groups=2, needs="input"
    ).input
    assert all(np.array_equal(got[0], other) for other in got[1:])
    assert np.all(np.abs(got[0] - exact) <= np.spacing(np.abs(exact).astype(np.float32)) / 2 * 1.0001)


@pytest.mark.parametrize(
    "c_in, groups, size, n, threads",
    [
        (512, 1, (1687,), 8, 2),  # a 1-d 512 -> 1 output layer: whole samples, split by bytes
        (64, 4, (32, 32), 2, 1),  # 4 groups of 16 -> 1 channels
        (3, 1, (30, 40, 50), 1, 2),  # 3 output channels (fewer than POINTWISE_ROWS), one sample: bands
        (40, 2, (3000,), 3, 3),
    ],
)
def test_pointwise_input_gradient_of_one_term(c_in, groups, size, n, threads):
    """The input gradient of a 1 x ... x 1 layer of one output channel a group: each entry one product,
    ``w * dy`` in the data's precision (``_conv_pointwise``, ``_one_term``), the correctly rounded product
    -- the float64 product rounded once, to the last bit -- with any threads, and the path taken (a spy;
    ``_conv_pointwise_groups`` for small groups, in the data's precision too)."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(c_in)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, 1, *(1,) * len(size))).astype(np.float32)
    dy = rng.standard_normal((n, groups, *size)).astype(np.float32)
    dy[0].flat[0] = np.inf  # an infinity times each weight, as the double-precision product gives it
    taken = []
    original, groups_path = im2col._conv_pointwise, im2col._conv_pointwise_groups
    with pytest.MonkeyPatch.context() as patch:  # small groups (4 of 16 -> 1) take _conv_pointwise_groups
        patch.setattr(im2col, "_conv_pointwise", lambda *a: taken.append(1) or original(*a))
        patch.setattr(im2col, "_conv_pointwise_groups", lambda *a: taken.append(2) or groups_path(*a))
        with tconv.options(threads=threads):
            got = tconv.conv_transpose_backward(dy, x, w, groups=groups, needs="input").input
    assert taken
    cig = c_in // groups
    wide = w.astype(np.float64).reshape(groups, cig, 1)
    expected = (wide[None] * dy.astype(np.float64).reshape(n, groups, 1, -1)).astype(np.float32).reshape(x.shape)
    assert got.dtype == np.float32 and np.array_equal(got, expected)


@pytest.mark.parametrize("a", [16, 4])
def test_grouped_weight_gradient_columns_first_where_the_general_path_blocks(monkeypatch, a):
    """Short chunks over few rows stay on the general path (its stacked chunk products), unless its columns
    of all samples exceed one block (``WEIGHT_COLUMNS``) and a group has at least ``GROUP_CF_BLOCKED_INPUTS``
    input channels: then ``_group_gradients_cf`` computes the gradient, within float32 rounding of float64."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(a)
    groups = 4
    w = rng.standard_normal((groups * a, 24, 8, 8)).astype(np.float32)
    x = rng.standard_normal((4, groups * a, 12, 12)).astype(np.float32)
    kwargs = dict(stride=2, groups=groups)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kwargs).shape).astype(np.float32)
    geometry = tconv.geometry.conv_transpose_geometry((12, 12), (8, 8), (2, 2), (0, 0), (0, 0), (1, 1))
    rows = 4 * 12 * 12
    assert im2col._row_sums(a * 24 * 64, 64, geometry, rows, rows, False, grouped=True) == (16, False)
    monkeypatch.setattr(im2col, "WEIGHT_COLUMNS", 2**30)  # all samples one block
    assert im2col._group_gradients_cf(x, dy, geometry, groups, rows) is None  # the general path
    monkeypatch.setattr(im2col, "WEIGHT_COLUMNS", 2**20)  # a block a sample
    taken = im2col._group_gradients_cf(x, dy, geometry, groups, rows)
    assert (taken is not None) == (a >= im2col.GROUP_CF_BLOCKED_INPUTS)
    got = tconv.conv_transpose_backward(dy, x, w, needs="weight", **kwargs).weight
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), needs="weight", **kwargs
    ).weight
    assert np.abs(got - exact).max() <= 1e-5 * np.abs(exact).max()
    if taken is not None:
        assert np.array_equal(got, taken.reshape(w.shape))


def test_grouped_weight_gradient_columns_first_under_a_small_budget():
    """Where the threads' tile buffers do not fit the memory budget, the general path (blocks under the
    budget) computes the gradient instead: the same values within float32 rounding."""
    from tconv._algorithms import im2col

    rng = np.random.default_rng(5)
    w = rng.standard_normal((64, 16, 3, 3)).astype(np.float32)
    x = rng.standard_normal((4, 64, 32, 32)).astype(np.float32)
    kwargs = dict(stride=2, padding=1, groups=4)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kwargs).shape).astype(np.float32)
    geometry = tconv.geometry.conv_transpose_geometry((32, 32), (3, 3), (2, 2), (1, 1), (0, 0), (1, 1))
    assert im2col._group_gradients_cf(x, dy, geometry, 4, 4 * 1024) is not None
    with tconv.options(memory_budget=2**20):
        assert im2col._group_gradients_cf(x, dy, geometry, 4, 4 * 1024) is None
        got = tconv.conv_transpose_backward(dy, x, w, needs="weight", **kwargs).weight
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), needs="weight", **kwargs
    ).weight
    assert np.abs(got - exact).max() <= 1e-5 * np.abs(exact).max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_columns_first_kernel_reads_every_row_length_at_the_edges(stride, dtype):
    """The compiled channels-first columns (``im2col_cf``; at stride 2 in float32 plain vector runs of 16,
    8 or 4 entries, the last one overlapping the one before, and one entry at a time where a run would
    read past the source's last entry) against the columns built from the definition: every row length
    from 1 to 37, paddings that cut 0-3 entries off either end, rows whose last entry is the input's
    last, dilation, and tiles that start inside the samples and the lead positions."""
    from tconv._algorithms import compiled
    from tconv._algorithms.taptable import im2col_positions

    if not compiled.available():  # numba is part of the test dependencies
        pytest.fail("numba is not installed")
    kernel = compiled.kernels()["im2col_cf"]
    rng = np.random.default_rng(5)
    for j_last in range(1, 38):
        for k, padding, dilation in ((1, 0, 1), (3, 1, 1), (4, 1, 1), (4, 0, 1), (5, 3, 1), (2, 0, 1), (3, 2, 2)):
            big = (3, stride * (j_last - 1) + dilation * (k - 1) + 1 - 2 * padding)
            if big[1] < 1:
                continue
            geometry = conv_geometry(big, (2, k), stride=(1, stride), padding=(0, padding), dilation=(1, dilation))
            j_lead, j_end = geometry.input_size
            assert j_end == j_last
            x = rng.standard_normal((3, 2, big[0] * big[1])).astype(dtype)
            lead, last = im2col_positions(geometry)
            n0, l0, samples = 1, 1, 2
            out = np.full((2, 2 * k, samples, (j_lead - l0) * j_last), np.nan, dtype=dtype)
            kernel(x, lead, last, big[1], stride, out, n0, l0, 0, 2)
            # from the definition: cell (s*j + d*t - padding) per axis, zero outside
            image = x.reshape(3, 2, *big)
            expected = np.zeros_like(out)
            for tl in range(2):
                for tt in range(k):
                    for r in range(j_lead - l0):
                        for jj in range(j_last):
                            row, col = (l0 + r) + tl, stride * jj + dilation * tt - padding
                            if 0 <= row < big[0] and 0 <= col < big[1]:
                                expected[:, tl * k + tt, :, r * j_last + jj] = image[n0 : n0 + samples, :, row, col].T
            np.testing.assert_array_equal(out, expected, err_msg=f"j_last={j_last}, k={k}, padding={padding}")


POINTWISE_GROUP_LAYERS = [
    # (n, c_in, c_out, groups, size): 1 x 1 layers of small groups (im2col.small_groups)
    (4, 8, 64, 8, (19, 23)),  # a channel multiplier, 1 -> 8 a group; rows of 437 (not a multiple of 8)
    (2, 64, 128, 64, (1500,)),  # 1 -> 2, 1-d
    (3, 12, 12, 3, (15, 16, 17)),  # 4 -> 4, 3-d, 3 groups: the samples in runs (pieces of a group)
    (1, 16, 16, 16, (30001,)),  # depthwise, one sample, rows longer than a chunk
    (5, 8, 16, 4, (31, 33)),  # 2 -> 4, 4 groups of 5 samples
]


def _pointwise_group_arrays(n, c_in, c_out, groups, size, dtype=np.float32):
    rng = np.random.default_rng(n * 1000 + c_in + len(size))
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out // groups, *(1,) * len(size))).astype(dtype)
    dy = rng.standard_normal((n, c_out, *size)).astype(dtype)
    return x, w, dy


@pytest.mark.parametrize("layer", POINTWISE_GROUP_LAYERS, ids=str)
def test_pointwise_small_groups_input_gradient_rounds_once(layer):
    """The input gradient of a 1 x 1 layer of small groups along the rows where they lie
    (``_conv_pointwise_groups``): each entry its terms' exact products summed in double precision and
    rounded once -- within half a unit in the last place of float32 of the float64 result (and the double
    sums' own rounding) -- the same bits on any threads and memory budget; the path taken (a spy); the
    arrays left as they were."""
    from tconv._algorithms import im2col

    n, c_in, c_out, groups, size = layer
    x, w, dy = _pointwise_group_arrays(*layer)
    before = (x.copy(), w.copy(), dy.copy())
    taken = []
    original = im2col._conv_pointwise_groups
    got = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_conv_pointwise_groups", lambda *a: taken.append(1) or original(*a))
        for threads, budget in ((2, 2**30), (1, 2**30), (3, 2**16)):
            with tconv.options(threads=threads, memory_budget=budget):
                got.append(tconv.conv_transpose_backward(dy, x, w, groups=groups, needs="input").input)
    assert len(taken) >= 3
    assert all(np.array_equal(got[0], other) for other in got[1:])
    exact = tconv.conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), groups=groups, needs="input"
    ).input
    assert got[0].dtype == np.float32 and got[0].shape == x.shape
    assert np.all(np.abs(got[0] - exact) <= np.spacing(np.abs(exact).astype(np.float32)) / 2 * 1.0001)
    assert all(np.array_equal(a, b) for a, b in zip(before, (x, w, dy)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layer", POINTWISE_GROUP_LAYERS, ids=str)
def test_pointwise_small_groups_weight_gradient(layer, dtype):
    """The weight gradient of a 1 x 1 layer of small groups summed along the rows where they lie
    (``_pointwise_small_gradients``): each product rounded once in the data's precision and summed in
    double precision, so within the products' rounding (``2**-24`` of the sum of their magnitudes in
    float32) and the result's own of the float64 gradient; the same bits on any threads; the path taken
    (a spy; the layers' gradients are too long for the one-product path)."""
    from tconv._algorithms import im2col

    n, c_in, c_out, groups, size = layer
    x, w, dy = _pointwise_group_arrays(*layer, dtype=dtype)
    taken = []
    original = im2col._pointwise_small_gradients
    got = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_pointwise_small_gradients", lambda *a: taken.append(1) or original(*a))
        patch.setattr(im2col, "_pointwise_group_gradients", lambda *a: None)  # not the one-product path
        for threads in (2, 1, 3):
            with tconv.options(threads=threads):
                got.append(tconv.conv_transpose_backward(dy, x, w, groups=groups, needs="weight").weight)
    assert len(taken) == 3
    assert all(np.array_equal(got[0], other) for other in got[1:])
    wide = [a.astype(np.float64) for a in (x, w, dy)]
    exact = tconv.conv_transpose_backward(wide[2], wide[0], wide[1], groups=groups, needs="weight").weight
    magnitude = tconv.conv_transpose_backward(
        np.abs(wide[2]), np.abs(wide[0]), wide[1], groups=groups, needs="weight"
    ).weight
    unit = 2.0**-24 if dtype == np.float32 else 2.0**-53
    assert got[0].dtype == dtype and got[0].shape == w.shape
    bound = magnitude * unit * 1.001 + np.spacing(np.abs(exact).astype(dtype))
    assert np.all(np.abs(got[0] - exact) <= bound)


def test_where_the_pointwise_small_group_paths_run():
    from tconv._algorithms import im2col

    def conv_takes(c_in, c_out, groups, kernel=1, layout="channels_first", dtype=np.float32, compiled=True):
        x = np.zeros((2, c_in, 9, 9), dtype=dtype)
        w = np.zeros((c_out, c_in // groups, kernel, kernel), dtype=dtype)
        if layout == "channels_last":
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        problem = Problem.of(x, w, None, groups, layout, "conv")
        geometry = conv_geometry((9, 9), (kernel, kernel))
        with tconv.options(compiled=compiled):
            return im2col.pointwise_groups(geometry, problem)

    assert conv_takes(8, 64, 8)  # 8 -> 64 in 8 groups: 1 x 8 channel pairs
    assert conv_takes(64, 64, 64)  # depthwise
    assert not conv_takes(64, 64, 4)  # 16 x 16 a group: BLAS's
    assert not conv_takes(8, 64, 8, kernel=3)  # not pointwise
    assert not conv_takes(8, 64, 8, compiled=False)
    assert not conv_takes(8, 64, 8, layout="channels_last")
    assert conv_takes(8, 64, 8, dtype=np.float64)


RUN_TILE_LAYERS = [
    # (n, c_in, c_out, size, kernel, options): few input channels, an output gradient of at least 16
    (8, 3, 48, (20, 21), 7, dict(stride=2, padding=3, output_padding=1)),  # a 4-row tile, 3 of its rows used
    (2, 8, 24, (17, 19), 8, dict(dilation=2)),  # 8 rows, stride 1, dilated; 24 channels: half a block unused
    (3, 5, 70, (9,), 16, dict(stride=8, padding=4)),  # 1-d, 70 channels: three blocks, the last one partly
    (2, 4, 32, (6, 7, 5), 3, dict(stride=2)),  # 3-d
    (3, 1, 16, (1, 400), 4, dict(stride=2, padding=1)),  # one input channel, one line a sample
    (8, 8, 16, (60, 1), 3, dict(padding=(1, 0))),  # lines of one position (o_last 1)
]


def _run_tile_arrays(layer, dtype=np.float32):
    n, c_in, c_out, size, kernel, options = layer
    rng = np.random.default_rng(c_in * 100 + c_out + len(size))
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out, *(kernel,) * len(size))).astype(dtype)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **options).shape).astype(dtype)
    return x, w, dy, options


@pytest.mark.parametrize("layer", RUN_TILE_LAYERS, ids=str)
def test_weight_gradient_in_run_tiles(layer):
    """The weight gradient of few input channels in register tiles over implicit columns
    (``_run_tiles_gradient``): each entry's chunks of ``run_chunk`` positions summed in float32, the chunks in
    float64, so within ``chunk * 2**-23`` of the sum of the terms' magnitudes (and the result's rounding) of
    the float64 gradient; the same bits on any threads and in either layout; the path taken (a spy); the
    arrays left as they were. A value past a channel block's end or a broadcast row's (an infinity in the
    next position's channels) stays out of the entries it does not belong to."""
    from tconv._algorithms import im2col

    x, w, dy, options = _run_tile_arrays(layer)
    dy[0].flat[-1] = np.inf  # the last position's last channel: read by the vector lanes past the others
    x[-1].flat[0] = np.inf  # a broadcast row's next position
    before = (x.copy(), w.copy(), dy.copy())
    taken, steps = [], []
    original, row_sums = im2col._run_tiles_gradient, im2col._row_sums
    got = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_run_tiles_gradient", lambda *a: taken.append(1) or original(*a))
        patch.setattr(im2col, "_row_sums", lambda *a, **k: steps.append(row_sums(*a, **k)) or steps[-1])
        for threads, layout in ((2, "channels_first"), (1, "channels_first"), (3, "channels_last")):
            with tconv.options(threads=threads):
                args = [to_layout(a, layout) for a in (dy, x)]
                result = tconv.conv_transpose_backward(*args, w, **options, layout=layout, needs="weight").weight
                got.append(result)
    assert len(taken) == 3
    assert all(np.array_equal(got[0], other, equal_nan=True) for other in got[1:])
    wide = [a.astype(np.float64) for a in (x, w, dy)]
    with np.errstate(invalid="ignore"):  # the infinities times zeros of the padding
        exact = tconv.conv_transpose_backward(wide[2], wide[0], wide[1], **options, needs="weight").weight
        magnitude = tconv.conv_transpose_backward(
            np.abs(wide[2]), np.abs(wide[0]), wide[1], **options, needs="weight"
        ).weight
    chunk = im2col.run_chunk(steps[0][0], x.shape[0] * int(np.prod(x.shape[2:])))
    finite = np.isfinite(exact)
    assert got[0].dtype == np.float32 and got[0].shape == w.shape
    assert np.array_equal(np.isfinite(got[0]), finite)  # the infinities where float64 has them, nowhere else
    bound = magnitude[finite] * chunk * 2.0**-23 + np.spacing(np.abs(exact[finite]).astype(np.float32))
    assert np.all(np.abs(got[0][finite] - exact[finite]) <= bound)
    assert all(np.array_equal(a, b) for a, b in zip(before, (x, w, dy)))


def test_where_the_run_tiles_gradient_runs():
    from tconv._algorithms import im2col
    from tconv.geometry import Geometry

    geometry = conv_geometry((16, 16), (4, 4), stride=2, padding=1)
    assert isinstance(geometry, Geometry)
    assert im2col.run_tiles_gradient(3, 48, 1, geometry, np.dtype(np.float32))
    assert im2col.run_tiles_gradient(8, 16, 1, geometry, np.dtype(np.float32))
    assert not im2col.run_tiles_gradient(9, 48, 1, geometry, np.dtype(np.float32))  # more input channels
    assert not im2col.run_tiles_gradient(3, 15, 1, geometry, np.dtype(np.float32))  # few output channels
    assert not im2col.run_tiles_gradient(3, 48, 2, geometry, np.dtype(np.float32))  # groups
    assert not im2col.run_tiles_gradient(3, 48, 1, geometry, np.dtype(np.float64))
    with tconv.options(compiled=False):
        assert not im2col.run_tiles_gradient(3, 48, 1, geometry, np.dtype(np.float32))


def test_run_tiles_gradient_keeps_to_the_memory_budget():
    """Where both sides' copies for the run tiles exceed the memory budget, the weight gradient takes the
    general path's blocks instead (the same values within the chunks' rounding)."""
    from tconv._algorithms import im2col

    x, w, dy, options = _run_tile_arrays(RUN_TILE_LAYERS[0])
    taken = []
    original = im2col._run_tiles_gradient
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(im2col, "_run_tiles_gradient", lambda *a: taken.append(original(*a)) or taken[-1])
        whole = tconv.conv_transpose_backward(dy, x, w, **options, needs="weight").weight
        with tconv.options(memory_budget=2**20):  # under the copies' 4 MB: blocks
            blocked = tconv.conv_transpose_backward(dy, x, w, **options, needs="weight").weight
    assert taken[0] is not None and taken[1] is None
    assert_close(blocked, whole, rtol=1e-4, atol=1e-4)
