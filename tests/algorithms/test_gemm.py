"""tconv._algorithms.gemm: each of its code paths on the case table, its cache tiles, and BLAS threads."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES, Case
from helpers import assert_close, from_layout, oracle, to_layout

import tconv
from tconv._algorithms import blas as _blas
from tconv._algorithms import gemm as _gemm

LAYOUTS = ("channels_first", "channels_last")


def reference(case, x, w, b):
    return tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="scatter")


@pytest.fixture(params=["tiled", "one-gemm", "transposed", "small"])
def gemm_path(request, monkeypatch):
    """Force each of gemm's code paths on the small test cases: cache-sized tiles computed by
    independent threads (tiny tiles, so there are many, with bands and channel blocks), one
    multi-threaded GEMM, the transposed orientation for few output channels, and the
    single-thread path for tiny problems."""
    if request.param != "small":
        monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
        monkeypatch.setattr(_gemm, "FEW_CHANNELS", 10**6 if request.param == "transposed" else 0)
    if request.param == "tiled":
        monkeypatch.setattr(_gemm, "CACHED_COLUMNS", 0)
        monkeypatch.setattr(_gemm, "TILE_BYTES", 1500)
        monkeypatch.setattr(_gemm, "WEIGHT_BYTES", 200)
        monkeypatch.setattr(_gemm, "MIN_BAND_HALOS", 1)
        monkeypatch.setattr(_gemm, "MIN_TILE_CHANNELS", 1)
    elif request.param == "one-gemm":
        monkeypatch.setattr(_gemm, "CACHED_COLUMNS", 1 << 40)
    return request.param


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gemm_paths(case, layout, gemm_path):
    for dtype in (np.float32, np.complex128):
        x, w, b = case.arrays(dtype)
        y = tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), layout=layout, algorithm="gemm")
        assert_close(from_layout(y, layout), reference(case, x, w, b), dtype=dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gemm_paths_with_padded_weight_rows(case, layout, gemm_path, monkeypatch):
    """Every packed weight with padded rows (``blas.padded_rows``: here every row length counts as one
    to pad): the same results on every path, plain and prepared (the prepared plan keeps the padded
    form), and the packed rows really padded."""
    monkeypatch.setattr(_blas, "ALIASED_ROW", 1)
    w4 = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    packed = _gemm._packed_weight(w4, 1, 4)
    assert packed.strides[1] == (12 + _blas.ROW_PAD // 4) * 4  # (G, Cig, Kv*Cog): rows one line longer
    np.testing.assert_array_equal(packed[0], w4.transpose(0, 2, 1).reshape(2, 12))
    for dtype in (np.float32, np.complex128):
        x, w, b = case.arrays(dtype)
        expected = reference(case, x, w, b)
        kwargs = dict(**case.kwargs(), layout=layout, algorithm="gemm")
        y = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs)
        assert_close(from_layout(y, layout), expected, dtype=dtype)
        plan = tconv.prepare(w, **kwargs)
        for _ in range(2):  # packed on the first call, reused on the second
            assert_close(from_layout(plan(to_layout(x, layout), b), layout), expected, dtype=dtype)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "size, kernel, stride, padding",
    [
        ((9, 8), 4, 2, ((0, 0), (0, 4))),  # a crop of a whole kernel at the end of the second axis
        ((9, 8), 4, 2, 4),  # and on both axes
        ((7, 6), 3, 2, ((1, 0), (5, 3))),  # more than a kernel at both ends of the second axis
        ((5, 6, 5), 4, 2, ((0, 0), (4, 0), (0, 5))),  # 3-d: the second and third axes
        ((9, 8), 16, 8, ((0, 0), (17, 0))),  # a long kernel
    ],
)
def test_bands_read_the_input_cells_of_every_axis(size, kernel, stride, padding, layout, monkeypatch):
    """A band of output rows (first axis) reads, along the other axes, only the input cells its geometry
    keeps: a crop of a kernel's length or more drops the cells that reach only cropped outputs (it
    raised "cannot reshape array", on the default path, for padding=4 at k4 s2 on large layers)."""
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    monkeypatch.setattr(_gemm, "FEW_CHANNELS", 0)
    monkeypatch.setattr(_gemm, "CACHED_COLUMNS", 0)
    monkeypatch.setattr(_gemm, "TILE_BYTES", 3000)  # bands of a few rows
    monkeypatch.setattr(_gemm, "MIN_BAND_HALOS", 1)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, *size))
    w = rng.standard_normal((3, 4, *(kernel,) * len(size)))
    b = rng.standard_normal(4)
    expected = tconv.conv_transpose(x, w, b, stride=stride, padding=padding, algorithm="scatter")
    bands = []
    original = _gemm._gemm_tile
    monkeypatch.setattr(_gemm, "_gemm_tile", lambda tile, *a: bands.append(tile.band) or original(tile, *a))
    y = tconv.conv_transpose(
        to_layout(x, layout), w, b, stride=stride, padding=padding, layout=layout, algorithm="gemm"
    )
    assert_close(from_layout(y, layout), expected)
    assert len(set(bands)) > 1  # the call was cut into bands


def test_tiled_path_really_tiles(monkeypatch):
    """The patched thresholds do produce bands, channel blocks and several samples per tile."""
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    monkeypatch.setattr(_gemm, "TILE_BYTES", 1500)
    monkeypatch.setattr(_gemm, "WEIGHT_BYTES", 200)
    monkeypatch.setattr(_gemm, "MIN_BAND_HALOS", 1)
    monkeypatch.setattr(_gemm, "MIN_TILE_CHANNELS", 1)

    def problem(groups, cig, cog):  # float64
        return Problem(groups, "channels_first", groups * cig, groups * cog, np.dtype(np.float64), np.zeros(1), False)

    g = conv_transpose_geometry((6, 5), (3, 3), 2, 1)
    tiles = _gemm._gemm_tiles(g, n=3, problem=problem(groups=2, cig=2, cog=4), threads=2)
    assert (
        len({t.band for t in tiles}) > 1 and len({(t.c0, t.c1) for t in tiles}) > 1 and {t.g for t in tiles} == {0, 1}
    )
    small = conv_transpose_geometry((2, 2), (2, 2), 2, 0)
    tiles = _gemm._gemm_tiles(small, n=8, problem=problem(groups=1, cig=2, cog=2), threads=2)
    assert max(t.n1 - t.n0 for t in tiles) > 1


@pytest.mark.parametrize("c_out, blocks", [(21, 1), (64, 4), (150, 9)])
def test_weight_blocks_keep_enough_channels(c_out, blocks):
    """A weight beyond WEIGHT_BYTES is split into channel blocks of at least MIN_TILE_CHANNELS (FCN-32s's
    21-channel k64 s32 up-scoring had blocks of 3; the last block holds the rest), and still split where there
    are enough channels."""
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    g = conv_transpose_geometry((16, 16), (64, 64), 32, 0)
    problem = Problem(1, "channels_first", c_out, c_out, np.dtype(np.float32), np.zeros(1), False)
    tiles = _gemm._gemm_tiles(g, n=1, problem=problem, threads=2)
    spans = sorted({(t.c0, t.c1) for t in tiles})
    assert len(spans) == blocks and spans[0][1] >= _gemm.MIN_TILE_CHANNELS and spans[-1][1] == c_out, spans


@pytest.mark.parametrize("threads", [2, 3, 4])
@pytest.mark.parametrize(
    "size, kernel, stride, padding, output_padding, c_in, c_out",
    [
        ((16, 16, 16), 3, 2, 1, 1, 64, 32),  # one band covers the output: channel blocks instead
        ((18, 18, 18), 4, 2, 1, 0, 64, 32),  # 36 output rows: bands of 18 and 18, not 32 and 4
        ((24, 24, 24), 3, 2, 1, 1, 32, 16),  # 16 channels: cannot split them, so more bands
        ((5, 6, 7), 3, 2, 1, 1, 16, 8),
    ],
)
def test_one_large_sample_is_shared_evenly(size, kernel, stride, padding, output_padding, c_in, c_out, threads):
    """gemm's bands of one large sample (gemm._enough_tiles): a count of tiles that is a multiple of the
    threads (at least one each), bands of equal height (but the last), every output row and channel in
    exactly one tile; and the output right on that many threads, with the tiles made small."""
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    g = conv_transpose_geometry(size, (kernel,) * len(size), stride, padding, output_padding=output_padding)
    problem = Problem(1, "channels_first", c_in, c_out, np.dtype(np.float32), np.zeros(c_out, np.float32), False)
    if size == (5, 6, 7):  # a small sample: only with small tiles does it take the bands' branch
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(_gemm, "TILE_BYTES", 4000)
            tiles = _gemm._gemm_tiles(g, 1, problem, threads)
    else:
        tiles = _gemm._gemm_tiles(g, 1, problem, threads)
    assert tiles is not None and len(tiles) >= threads and len(tiles) % threads == 0
    heights = sorted({t.band[1] - t.band[0] for t in tiles}, reverse=True)
    assert len(heights) <= 2 and (len(heights) == 1 or tiles[-1].band[1] == g.output_size[0])
    covered = np.zeros((g.output_size[0], c_out), int)
    for t in tiles:
        covered[t.band[0] : t.band[1], t.c0 : t.c1] += 1
    assert (covered == 1).all()
    rng = np.random.default_rng(threads)
    x = rng.standard_normal((1, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *(kernel,) * len(size))).astype(np.float32)
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding)
    with tconv.options(threads=threads), pytest.MonkeyPatch.context() as patch:
        patch.setattr(_gemm, "TILE_BYTES", 4000)
        y = tconv.conv_transpose(x, w, **kwargs, algorithm="gemm")
    assert_close(y, tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), **kwargs), dtype=np.float32)


def test_blas_threads_restored_after_tiled_calls(monkeypatch):
    """The tiled gemm sets BLAS to one thread while it runs and restores the count exactly,
    also when several user threads call it at once (OpenBLAS's count is process-wide)."""
    import threading

    from tconv._algorithms import blas as _blas

    if not _blas.available():
        pytest.skip("BLAS threading cannot be controlled here (not OpenBLAS)")
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    monkeypatch.setattr(_gemm, "FEW_CHANNELS", 0)
    monkeypatch.setattr(_gemm, "TILE_BYTES", 1500)
    monkeypatch.setattr(_gemm, "MIN_BAND_HALOS", 1)
    set_threads, get_threads = _blas._functions()
    before = get_threads()
    set_threads(2)
    try:
        case = CASES[CASE_IDS.index("2d-dcgan-k4s2p1")]
        x, w, b = case.arrays()
        expected = reference(case, x, w, b)
        seen = []

        def call():
            y = tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="gemm")
            seen.append(np.allclose(y, expected))

        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert seen == [True] * 4
        assert get_threads() == 2
    finally:
        set_threads(before)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "case",
    [
        # an inverse STFT's overlap-add (one sample, one output row), a few 1-d samples with dilation and
        # crops, a 2-d layer with groups
        Case("istft-like", 1, 9, 1, (40,), (16,), stride=4, padding=3),
        Case("1d-dilated", 2, 6, 2, (23,), (5,), stride=3, padding=2, dilation=2),
        Case("2d-groups", 1, 4, 4, (5, 9), (3, 4), stride=(2, 3), padding=(1, 2), groups=2),
        # stamps along the last axis (kernel = stride: each output written once, with the bias), under
        # overlapping lead pairs, with crops and output padding that leave the row's ends to the bias
        Case("2d-stamps", 2, 5, 6, (6, 17), (4, 3), stride=(2, 3), padding=(1, 0), output_padding=(0, 2)),
        Case("1d-stamps", 1, 7, 2, (50,), (4,), stride=4, padding=1, output_padding=3),
        # stride 2 (both taps in one loop where both have inputs), an odd crop
        Case("2d-k2s2", 2, 5, 6, (6, 17), (2, 2), stride=2, padding=(0, 1), output_padding=(1, 1)),
        Case("1d-k2s2", 1, 3, 2, (40,), (2,), stride=2, padding=3, output_padding=1),
        Case("2d-k2s2-lead", 1, 4, 5, (5, 19), (4, 2), stride=2, padding=(1, 1)),  # two lead pairs a row
    ],
    ids=lambda case: case.id,
)
def test_transposed_gather_in_chunks_and_pieces_of_a_row(case, threads, monkeypatch):
    """The transposed orientation's gather writes each row in chunks that stay in L1 and, for one row per
    sample, in pieces shared among the threads: with chunks of 7 outputs (so every row is cut, at every
    offset of the stride) it equals the scatter reference."""
    monkeypatch.setattr(_gemm, "DIRECT_ROWS_CHUNK", 7)
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    monkeypatch.setattr(_gemm, "FEW_CHANNELS", 10**6)
    monkeypatch.setattr(_gemm, "OVERLAP_TAPS", 10**6)  # the long 1-d kernels too (gemm_overlap's, below)
    x, w, b = case.arrays(seed=5)
    with tconv.options(threads=threads):
        # two biases one after the other: a cell the gather failed to write would still hold the first
        # call's value, freed and handed out again, which the second reference does not have
        for bias in (b, 2 * b + 1):
            assert_close(
                tconv.conv_transpose(x, w, bias, **case.kwargs(), algorithm="gemm"), reference(case, x, w, bias)
            )


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "n, c_in, cog, size, kernel, stride, padding, output_padding",
    [
        (1, 40, 1, 57, 256, 64, 0, 0),  # an inverse STFT's synthesis: one sample, fewer than the threads
        (1, 9, 1, 40, 16, 4, 3, 0),  # a crop
        (4, 12, 2, 31, 24, 6, 11, 5),  # samples shared among the threads; the last outputs only the bias
        (5, 7, 3, 20, 50, 64, 0, 30),  # a stride longer than the kernel: outputs between the stamps
        (2, 5, 8, 13, 16, 1, 7, 0),  # stride 1, cropped by about half a kernel each side
        (3, 6, 1, 1, 300, 7, 40, 2),  # one input position
    ],
)
def test_long_1d_kernels_overlap_add_rows(
    n, c_in, cog, size, kernel, stride, padding, output_padding, dtype, threads, monkeypatch
):
    """1-d layers of few output channels and long kernels run gemm_overlap (each input position's
    products one contiguous run of taps, added to a run of outputs) and give the float64 reference's
    output, bias and no bias, with each output range and each sample on any thread, plain and prepared."""
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    calls = []
    original = _gemm.gemm_overlap
    monkeypatch.setattr(_gemm, "gemm_overlap", lambda *a: calls.append(1) or original(*a))
    rng = np.random.default_rng(n * 100 + kernel)
    x = rng.standard_normal((n, c_in, size)).astype(dtype)
    w = rng.standard_normal((c_in, cog, kernel)).astype(dtype)
    b = rng.standard_normal(cog).astype(dtype)
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding)
    for bias in (b, None):
        with tconv.options(threads=threads):
            got = tconv.conv_transpose(x, w, bias, **kwargs, algorithm="gemm")
            prepared = tconv.prepare(w, **kwargs, algorithm="gemm")(x, bias)
        wide = None if bias is None else bias.astype(np.float64)
        expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), wide, **kwargs, algorithm="scatter")
        assert_close(got, expected, dtype=dtype)
        assert_close(prepared, expected, dtype=dtype)
    assert len(calls) == 4


@pytest.mark.parametrize(
    "change, runs",
    [
        ({}, True),
        ({"kernel": (8,)}, False),  # short kernels: the transposed orientation's gather
        ({"c_out": 9}, False),  # more than FEW_CHANNELS output channels
        ({"c_out": 4}, False),  # 4 x 16 = 64 columns: OVERLAP_NARROW
        ({"c_out": 8}, True),  # 128 columns
        ({"dilation": 2}, False),
        ({"groups": 2, "c_out": 2}, False),
        ({"layout": "channels_last"}, False),
        ({"size": (20, 20), "kernel": (16, 16)}, False),  # 2-d
    ],
)
def test_overlap_add_rows_only_where_measured(change, runs, monkeypatch):
    """gemm_overlap runs on 1-d channels-first layers of one group, dilation 1, at most FEW_CHANNELS output
    channels and OVERLAP_TAPS taps or more, except products OVERLAP_NARROW wide (MKL's narrow products);
    the others keep their paths, and every one gives the reference output."""
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    calls = []
    original = _gemm.gemm_overlap
    monkeypatch.setattr(_gemm, "gemm_overlap", lambda *a: calls.append(1) or original(*a))
    spec = dict(c_in=4, c_out=1, size=(30,), kernel=(16,), dilation=1, groups=1, layout="channels_first")
    spec.update(change)
    nd = len(spec["size"])
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, spec["c_in"], *spec["size"]))
    w = rng.standard_normal((spec["c_in"], spec["c_out"] // spec["groups"], *spec["kernel"]))
    kwargs = dict(stride=(4,) * nd, dilation=spec["dilation"], groups=spec["groups"])
    expected = tconv.conv_transpose(x, w, **kwargs, algorithm="scatter")
    layout = spec["layout"]
    got = tconv.conv_transpose(to_layout(x, layout), w, **kwargs, layout=layout, algorithm="gemm")
    assert bool(calls) == runs
    assert_close(from_layout(got, layout), expected)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    "shape",
    [
        # (n, c_in, c_out, size, kernel, stride): one 1-d sample with one output channel (an inverse STFT's
        # overlap-add, the transposed orientation with fewer tiles than threads), one 2-d RGB sample,
        # a batch of a GEMM-bound layer
        (1, 512, 1, (224,), (256,), (64,)),
        (1, 48, 3, (40, 40), (4, 4), (2, 2)),
        (4, 64, 32, (12, 12), (4, 4), (2, 2)),
    ],
)
def test_no_product_runs_on_blas_threads(shape, threads, monkeypatch):
    """No BLAS product of a forward or backward call runs on BLAS's own threads: OpenBLAS's threads spin
    for ~0.1 s after a multi-threaded call and slow every pass of ours that follows (an inverse-STFT
    layer's backward ran 1.5x slower after its forward's one multi-threaded GEMM). Every product above
    OpenBLAS's one-thread size must find BLAS at one thread."""
    from tconv._algorithms import blas as _blas
    from tconv.grad import conv_transpose_backward

    if not _blas.available():
        pytest.skip("BLAS threading cannot be controlled here (not OpenBLAS)")
    set_threads, get_threads = _blas._functions()
    n, c_in, c_out, size, kernel, stride = shape
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *kernel)).astype(np.float32)
    matmul, multi = np.matmul, []

    def spy(a, b, *args, **kwargs):
        m, k = (a.shape[-2] if a.ndim > 1 else 1), a.shape[-1]
        if m * k * (b.shape[-1] if b.ndim > 1 else 1) > _blas.OPENBLAS_ONE_THREAD and get_threads() > 1:
            multi.append((a.shape, b.shape))
        return matmul(a, b, *args, **kwargs)

    before = get_threads()
    set_threads(2)
    try:
        monkeypatch.setattr(np, "matmul", spy)
        with tconv.options(threads=threads):
            y = tconv.conv_transpose(x, w, stride=stride)
            grads = conv_transpose_backward(np.ones_like(y), x, w, stride=stride, needs=("input", "weight"))
    finally:
        set_threads(before)
    assert multi == []
    assert grads.input.shape == x.shape and grads.weight.shape == w.shape


@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float32), (np.complex64, np.float32)])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("kernel", [(4, 4), (3,), (2, 3, 2)])
def test_one_stamp_is_one_plain_gemm(kernel, bias, dtypes, monkeypatch):
    """A single input pixel whose output is the kernel's stamp (DCGAN's first layer): one GEMM of the
    weight as it is, against the scatter reference; the tiled path is never reached."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 6, *(1,) * len(kernel))).astype(dtypes[0])
    w = rng.standard_normal((6, 7, *kernel)).astype(dtypes[1])
    b = rng.standard_normal(7) if bias else None
    expected = tconv.conv_transpose(x, w, b, algorithm="scatter")
    monkeypatch.setattr(_gemm, "gemm_tiled", None)  # calling it would fail
    monkeypatch.setattr(_gemm, "_gemm_blocked", None)
    y = tconv.conv_transpose(x[:, :, ::1], w, b, algorithm="gemm")
    assert y.shape == (5, 7, *kernel) and y.dtype == expected.dtype
    assert_close(y, expected)
    xt = np.asfortranarray(x)  # a non-contiguous input reads the same
    assert_close(tconv.conv_transpose(xt, w, b, algorithm="gemm"), expected)


@pytest.mark.parametrize(
    "kwargs",
    [dict(padding=1), dict(output_padding=1, stride=2), dict(dilation=2), dict(groups=2), dict(layout="channels_last")],
)
def test_one_stamp_needs_exactly_one_stamp(kwargs):
    """A crop, an extended output, a dilation, groups or a channels-last layout is not one plain GEMM."""
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    layout = kwargs.pop("layout", "channels_first")
    groups = kwargs.pop("groups", 1)
    geometry = conv_transpose_geometry((1, 1), 4, **kwargs)
    problem = Problem(groups, layout, 4, 4, np.dtype(np.float32), np.zeros(4, np.float32), False)
    assert not _gemm.one_stamp(geometry, problem)
    plain = Problem(1, "channels_first", 4, 4, np.dtype(np.float32), np.zeros(4, np.float32), False)
    assert _gemm.one_stamp(conv_transpose_geometry((1, 1), 4), plain)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "n, c_in, cog, groups, size, kernel, stride",
    [
        (64, 64, 1, 1, (14, 14), 4, 2),  # an MNIST GAN's last layer: many small samples, blocks of them
        (7, 32, 3, 1, (40, 40), 4, 2),  # a tail block
        (16, 16, 3, 1, (12, 12), 4, 2),  # 16 samples in 6 blocks of 2-3 (equal shares of the threads)
        (10, 8, 2, 1, (9, 9), 3, 2),  # 10 samples in 4 blocks of 2-3
        (5, 64, 2, 2, (33, 20), 3, 2),
        (3, 16, 1, 4, (64,), 8, 4),
        (9, 8, 3, 1, (10, 12, 9), 3, 2),
        (1, 32, 3, 1, (40, 40), 4, 2),  # fewer tiles than threads: the gather in bands of output rows
        (1, 16, 2, 2, (9, 7, 5), 3, 2),  # one tile per group
        (1, 16, 1, 1, (50,), 4, 2),  # one output row: nothing to split
        (1, 96, 3, 32, (11, 11), 4, 2),  # blocks of 2-3 groups (32 groups of 3 -> 3 channels)
        (2, 14, 2, 7, (9, 7), 3, 2),  # 7 groups in uneven blocks
        (1, 12, 1, 12, (30,), 5, 3),  # 1-d, depthwise
    ],
)
def test_transposed_orientation_in_blocks_of_samples(n, c_in, cog, groups, size, kernel, stride, threads, monkeypatch):
    """gemm_transposed's blocks of samples and of groups (one stacked GEMM and one gather call per
    block), with blocks smaller than the batch, a shorter last block, several groups to a block, and more
    threads than blocks (then each block's gather runs in bands of output rows)."""
    monkeypatch.setattr(_gemm, "BLOCK_COLUMNS", 3 * kernel ** len(size) * cog * int(np.prod(size)) * 4)  # 3 samples
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, c_in, *size))
    w = rng.standard_normal((c_in, cog, *(kernel,) * len(size)))
    b = rng.standard_normal(cog * groups)
    kwargs = dict(stride=stride, padding=1, groups=groups)
    with tconv.options(threads=threads):
        got = tconv.conv_transpose(x, w, b, **kwargs, algorithm="gemm")
    assert_close(got, tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter"))


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize(
    "n, c_in, c_out, size, kernel, stride, padding, split",
    [
        (1, 16, 24, (20, 18), 2, 2, 0, True),  # U-Net's k2 s2 stamps, one sample
        (1, 12, 13, (13, 15), 4, 2, 1, True),  # overlapping k4 s2 rows; uneven shares of 4-7 channels
        (1, 8, 12, (3, 4, 5), 3, 2, 1, True),  # 3-d
        (1, 16, 16, (300,), 3, 3, 0, True),  # 1-d
        (2, 12, 20, (9, 11), 3, 2, 0, True),  # 2 samples: a tile each on 2 threads, shared on 3
        (1, 16, 7, (20, 18), 2, 2, 0, False),  # fewer channels than CHANNEL_SPLIT a thread
        (1, 512, 8, (40,), 4, 2, 1, False),  # few rows for the input channels: CHANNEL_SPLIT_INPUTS
    ],
)
def test_one_tile_shares_its_channels_among_the_threads(
    n, c_in, c_out, size, kernel, stride, padding, split, threads, monkeypatch
):
    """gemm_transposed with fewer tiles than threads: each thread computes a share of the output channels,
    its GEMM and its rows (CHANNEL_SPLIT), where there are enough channels and rows; every cell equal to
    the reference, the input untouched."""
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    monkeypatch.setattr(_gemm, "TRANSPOSED_PIXELS", 1)
    monkeypatch.setattr(_gemm, "STAMP_PIXELS", 1)
    monkeypatch.setattr(_gemm, "S2_ROWS", 1)
    split_gemms = []  # the GEMMs split among the threads: the path the channel shares replace
    matmul = _blas.matmul

    def counted(*args, **kwargs):
        split_gemms.append(args[0].shape)
        return matmul(*args, **kwargs)

    monkeypatch.setattr(_blas, "matmul", counted)
    rng = np.random.default_rng(c_out)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *(kernel,) * len(size))).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    kept = x.copy()
    kwargs = dict(stride=stride, padding=padding)
    with tconv.options(threads=threads):
        got = tconv.conv_transpose(x, w, b, **kwargs, algorithm="gemm")
    assert bool(split_gemms) == (not split and n < threads), split_gemms  # (n >= threads: a tile each)
    reference = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), **kwargs)
    assert_close(got, reference, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(x, kept)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "n, c_in, c_out, size, kernel, stride, padding, joined",
    [
        (7, 32, 12, (14, 14), 2, 2, 0, True),  # Mask R-CNN's k2 s2, small: blocks of 2-3 samples, a shorter one
        (6, 40, 10, (9, 11), 3, 2, 1, True),  # overlapping k3 s2 rows (few cells: S2_ROWS and the pixels patched)
        (7, 32, 16, (100,), 4, 4, 0, True),  # 1-d
        (6, 32, 9, (7, 7, 7), 3, 3, 0, False),  # 3-d stamps: the channels-last columns
        (8, 32, 4, (14, 14), 2, 2, 0, False),  # few output channels: a GEMM per sample
        (6, 32, 12, (20, 20), 2, 2, 0, False),  # 400 cells: JOIN_PIXELS
        (6, 16, 12, (14, 14), 2, 2, 0, False),  # fewer input channels than JOIN_INPUTS
    ],
)
def test_transposed_orientation_joins_small_samples(
    n, c_in, c_out, size, kernel, stride, padding, joined, threads, monkeypatch
):
    """Small samples of many output channels in the transposed orientation (fewer than JOIN_PIXELS cells)
    are multiplied side by side, one GEMM of n*P columns a block whose columns the gather reads through a
    strided view; blocks of 2-3 samples and a shorter last one, 1-3 threads, plain and prepared calls,
    against the float64 scatter."""
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    monkeypatch.setattr(_gemm, "S2_ROWS", 1)
    monkeypatch.setattr(_gemm, "TRANSPOSED_PIXELS", 1)
    monkeypatch.setattr(_gemm, "STAMP_PIXELS", 1)
    p_in = int(np.prod(size))
    monkeypatch.setattr(_gemm, "BLOCK_COLUMNS", 1)  # a sample a block, unless joined
    monkeypatch.setattr(_gemm, "JOIN_COLUMNS", 3 * kernel ** len(size) * c_out * p_in * 4 - 1)  # 2 samples a block
    widths: list = []
    original = _gemm._blas.mm
    monkeypatch.setattr(_gemm._blas, "mm", lambda a, b, out=None: widths.append(b.shape[-1]) or original(a, b, out=out))
    rng = np.random.default_rng(threads)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *(kernel,) * len(size))).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    kwargs = dict(stride=stride, padding=padding)
    with tconv.options(threads=threads):
        got = tconv.conv_transpose(x, w, b, **kwargs, algorithm="gemm")
        prepared = tconv.prepare(w, **kwargs, algorithm="gemm")(x, b)
    assert (2 * p_in in widths) == joined
    if joined:  # blocks of two samples, the last one shorter where the count is odd
        assert set(widths) <= {p_in, 2 * p_in}
    expected = tconv.conv_transpose(*(a.astype(np.float64) for a in (x, w, b)), **kwargs, algorithm="scatter")
    assert_close(got, expected, dtype=np.float32)
    assert_close(prepared, expected, dtype=np.float32)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize(
    "n, c_in, c_out, groups, size, kernel, stride, dilation, padding, transposed",
    [
        (2, 16, 12, 1, (24, 24), 2, 2, 1, 0, True),  # U-Net's k2 s2
        (1, 16, 12, 1, (30, 20), 3, 3, 1, 1, True),  # k3 s3, a crop; one sample: fewer tiles than threads
        (3, 8, 16, 2, (600,), 4, 4, 1, 2, True),  # 1-d, groups, an odd batch
        (2, 8, 12, 1, (24, 24), 2, 3, 2, 0, True),  # dilated taps that still do not overlap (gaps between)
        (2, 16, 12, 1, (14, 14), 2, 2, 1, 0, True),  # 196 cells: stamps that tile the axes, from STAMP_PIXELS
        (2, 16, 12, 1, (12, 12), 2, 2, 1, 0, False),  # 144 input cells: fewer than STAMP_PIXELS
        (2, 16, 12, 1, (20, 20), 2, 3, 1, 0, False),  # 400 cells of stamps with gaps: fewer than TRANSPOSED_PIXELS
        (2, 16, 12, 1, (24, 24), 3, 2, 1, 1, True),  # overlapping k3 s2 rows: gather_k3s2_t's (S2_ROWS)
        (2, 16, 12, 1, (24, 24), 5, 2, 1, 1, False),  # overlapping k5 s2 stamps of many channels
        (2, 16, 12, 1, (24, 24), 6, 2, 1, 1, False),  # overlapping stamps that no s2 gather writes
        (2, 16, 12, 1, (16, 16), 3, 2, 1, 1, False),  # ... on fewer than TRANSPOSED_PIXELS cells
        (1, 8, 12, 1, (8, 12, 8), 3, 2, 1, 1, False),  # ... on rows shorter than S2_ROWS
        (1, 8, 12, 1, (8, 8, 8), 2, 2, 1, 0, False),  # 3-d
    ],
)
def test_stamps_that_do_not_overlap_run_transposed(
    n, c_in, c_out, groups, size, kernel, stride, dilation, padding, transposed, threads, monkeypatch
):
    """1-d and 2-d channels-first layers whose stamps do not overlap, on samples of at least
    TRANSPOSED_PIXELS input cells (STAMP_PIXELS where kernel = stride), and overlapping ones whose last
    axis is k3 or k4 at s2 (on such samples, rows of at least S2_ROWS), run gemm's transposed
    orientation (each output row its input row's products interleaved), whatever their channel count,
    and give the reference output; the others keep the channels-last columns."""
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
    calls = []
    original = _gemm.gemm_transposed
    monkeypatch.setattr(_gemm, "gemm_transposed", lambda *a: calls.append(1) or original(*a))
    rng = np.random.default_rng(threads)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out // groups, *(kernel,) * len(size))).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    kwargs = dict(stride=stride, dilation=dilation, padding=padding, groups=groups)
    with tconv.options(threads=threads):
        got = tconv.conv_transpose(x, w, b, **kwargs, algorithm="gemm")
        plan = tconv.prepare(w, **kwargs, algorithm="gemm")
        prepared = plan(x, b)
    assert bool(calls) == transposed
    expected = tconv.conv_transpose(*(a.astype(np.float64) for a in (x, w, b)), **kwargs, algorithm="scatter")
    assert_close(got, expected, dtype=np.float32)
    assert_close(prepared, expected, dtype=np.float32)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.float64, np.float32), (np.complex64, np.float64)])
@pytest.mark.parametrize(
    "n, size, kernel, stride, padding",
    [(1, (4, 4), 4, 2, 1), (2, (3,), 16, 8, 4), (1, (2, 3, 2), 3, 2, 1), (3, (2, 2), (3, 2), (1, 2), 0)],
)
def test_few_rows_multiply_the_weight_as_it_is(n, size, kernel, stride, padding, dtypes, layout, monkeypatch):
    """Fewer input pixels than input channels in a plain call: the weight is multiplied in its own
    layout and the columns transposed (never the weight packed), against the scatter reference; a
    prepared plan packs it (its copy is reused), with the same result."""
    rng = np.random.default_rng(1)
    c_in = 2 * n * int(np.prod(size)) + 3
    x = rng.standard_normal((n, c_in, *size)).astype(dtypes[0])
    w = rng.standard_normal((c_in, 24, *np.broadcast_to(kernel, len(size))))[:, ::2].astype(dtypes[1])  # a view
    b = rng.standard_normal(12).astype(dtypes[1])
    kwargs = dict(stride=stride, padding=padding, layout=layout)
    expected = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, algorithm="scatter")
    packed = _gemm._packed_weight
    monkeypatch.setattr(_gemm, "_packed_weight", None)  # calling it would fail
    y = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, algorithm="gemm")
    assert y.dtype == expected.dtype
    assert_close(y, expected, dtype=expected.dtype)
    monkeypatch.setattr(_gemm, "_packed_weight", packed)
    plan = tconv.prepare(w, **kwargs, algorithm="gemm")
    assert_close(plan(to_layout(x, layout), b), expected, dtype=expected.dtype)


@pytest.mark.parametrize("prepared", [False, True])
@pytest.mark.parametrize(
    "n, c_in, c_out, size, kernel, stride, padding",
    [(1, 1, 1, (40,), 16, 8, 4), (2, 3, 2, (5, 7), 4, 2, 1), (1, 2, 3, (3, 4, 5), 3, 2, 1)],
)
def test_small_calls_without_kept_tables_build_no_table_of_the_last_axis(
    n, c_in, c_out, size, kernel, stride, padding, prepared, monkeypatch
):
    """A small call of few output channels whose tap tables are too large to be kept (here: none is kept)
    runs the transposed orientation, whose gather reads the last axis's tap ranges: no table of all the
    pairs is built on every call (a 1-d signal of 10^5 samples spent 27 of its 40 ms on it)."""
    from tconv._algorithms import taptable

    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *(kernel,) * len(size))).astype(np.float32)
    b = rng.standard_normal(c_out).astype(np.float32)
    expected = tconv.conv_transpose(x, w, b, stride=stride, padding=padding, algorithm="scatter")
    monkeypatch.setattr(taptable, "CACHE_BYTES", 0)
    monkeypatch.setattr(_gemm, "lead_and_last", None)  # calling it would fail
    if prepared:
        y = tconv.prepare(w, stride=stride, padding=padding, algorithm="gemm")(x, b)
    else:
        y = tconv.conv_transpose(x, w, b, stride=stride, padding=padding, algorithm="gemm")
    assert_close(y, expected, dtype=np.float32)


def test_lead_table_is_lead_and_last_lead():
    from tconv._algorithms.taptable import lead_and_last, lead_table
    from tconv.geometry import conv_transpose_geometry

    for g in (
        conv_transpose_geometry((5,), 4, stride=2, padding=1),
        conv_transpose_geometry((5, 6), (3, 4), stride=(2, 3), padding=1, dilation=(1, 2)),
        conv_transpose_geometry((3, 4, 2), 3, stride=2, padding=1, output_padding=1),
    ):
        lead, full = lead_table(g), lead_and_last(g).lead
        assert all(np.array_equal(a, b) for a, b in zip(lead, full))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize(
    "n, c_in, c_out, size, groups", [(4, 16, 8, (6, 5), 1), (2, 6, 9, (5,), 3), (1, 4, 4, (3, 4, 2), 2)]
)
def test_pointwise_layers_are_gemms_of_the_weight_as_it_is(n, c_in, c_out, size, groups, dtype, layout, monkeypatch):
    """A 1 x ... x 1 kernel at stride 1 without crop: one GEMM per group into the output, no columns, no
    gather (the tiled and blocked paths are never reached), against the scatter reference."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out // groups, *(1,) * len(size))).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    expected = tconv.conv_transpose(to_layout(x, layout), w, b, groups=groups, layout=layout, algorithm="scatter")
    monkeypatch.setattr(_gemm, "gemm_tiled", None)  # calling either would fail
    monkeypatch.setattr(_gemm, "_gemm_blocked", None)
    y = tconv.conv_transpose(to_layout(x, layout), w, b, groups=groups, layout=layout, algorithm="gemm")
    assert_close(y, expected, dtype=dtype)
    xf = np.asfortranarray(to_layout(x, layout))  # a non-contiguous input reads the same
    assert_close(tconv.conv_transpose(xf, w, b, groups=groups, layout=layout, algorithm="gemm"), expected, dtype=dtype)


def _problem(x, w, groups, layout="channels_first"):
    from tconv._algorithms.problem import Problem

    c_out = w.shape[1] * groups
    return Problem(groups, layout, x.shape[1], c_out, x.dtype, np.zeros(c_out, x.dtype), False)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize(
    "n, c_in, c_out, size, groups, chunk",
    [
        # pointwise_rows: up to POINTWISE_ROWS_CHANNELS input channels per group
        (2, 1, 8, (9, 7), 1, 4096),
        (3, 7, 5, (13,), 1, 4),  # several chunks per row, the last one short; 4 rows a pass and 3 more
        (2, 12, 6, (3, 4, 5), 3, 8),
        (1, 384, 384, (5, 6), 384, 16),  # depthwise
        (4, 16, 32, (6, 6), 2, 4096),  # 8 input channels per group: the most the pass takes
        # pointwise_outputs: more input channels, at most POINTWISE_OUTPUTS output channels per group
        (2, 12, 1, (9, 7), 1, 512),
        (3, 13, 8, (37,), 1, 8),  # several chunks per row, the last one short; 4 rows a pass and 1 more
        (2, 30, 6, (3, 4, 5), 3, 16),  # 10 -> 2 channels per group
        (1, 63, 1, (5, 6), 1, 4),  # one output channel below POINTWISE_ONE_OUTPUT
        (4, 128, 16, (6, 6), 2, 512),  # 64 -> 8 per group: the most output channels the pass takes
    ],
)
def test_pointwise_passes_without_blas(n, c_in, c_out, size, groups, chunk, bias, dtype, monkeypatch):
    """Pointwise layers of up to POINTWISE_ROWS_CHANNELS input channels per group (pointwise_rows), or of
    more input but at most POINTWISE_OUTPUTS output channels per group (pointwise_outputs: each input row
    read once for all of a group's outputs), are one compiled pass over the rows (no BLAS call), in chunks,
    with 1 and 2 threads; against the scatter reference, the input unchanged."""
    oracle("numba")  # the compiled pass: required like an oracle (a missing numba fails the run)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out // groups, *(1,) * len(size))).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    expected = tconv.conv_transpose(x, w, b, groups=groups, algorithm="scatter")
    assert _gemm.pointwise_direct(_problem(x, w, groups))
    rows = c_in // groups <= _gemm.POINTWISE_ROWS_CHANNELS
    monkeypatch.setattr(_gemm, "DIRECT_ROWS_CHUNK" if rows else "POINTWISE_OUTPUTS_CHUNK", chunk)
    monkeypatch.setattr(_gemm, "POINTWISE_PARALLEL", 0)  # pieces for every thread, however small
    monkeypatch.setattr(_gemm._blas, "matmul", None)  # calling BLAS would fail
    before = x.copy()
    for threads in (1, 2):
        with tconv.options(threads=threads):
            y = tconv.conv_transpose(x, w, b, groups=groups, algorithm="gemm")
        assert_close(y, expected, dtype=dtype)
    np.testing.assert_array_equal(x, before)


def test_pointwise_rows_leave_many_input_and_output_channels_to_blas():
    """From POINTWISE_ROWS_CHANNELS + 1 input and POINTWISE_OUTPUTS + 1 output channels per group (one output
    channel: from POINTWISE_ONE_OUTPUT input channels; and channels-last, and other dtypes) the pointwise
    GEMMs stay BLAS's."""
    rng = np.random.default_rng(12)
    limit, outputs = _gemm.POINTWISE_ROWS_CHANNELS, _gemm.POINTWISE_OUTPUTS
    x = rng.standard_normal((1, limit + 1, 3, 3)).astype(np.float32)
    w = rng.standard_normal((limit + 1, outputs + 1, 1, 1)).astype(np.float32)
    assert not _gemm.pointwise_direct(_problem(x, w, 1))
    assert _gemm.pointwise_direct(_problem(x, w[:, :outputs], 1))
    assert _gemm.pointwise_direct(_problem(x[:, :limit], w[:limit], 1))
    assert not _gemm.pointwise_direct(_problem(x[:, :limit], w[:limit], 1, layout="channels_last"))
    assert not _gemm.pointwise_direct(_problem(x[:, :limit].astype(np.complex64), w[:limit], 1))
    many = _gemm.POINTWISE_ONE_OUTPUT
    x1, w1 = np.ones((1, many, 2, 2), np.float32), np.ones((many, 1, 1, 1), np.float32)
    assert not _gemm.pointwise_direct(_problem(x1, w1, 1))
    assert _gemm.pointwise_direct(_problem(x1[:, : many - 1], w1[: many - 1], 1))


@pytest.mark.parametrize(
    "size, c_in, c_out, groups",
    [((42, 42), 192, 512, 1), ((76, 76), 2, 8, 2), ((73, 73), 384, 384, 384), ((5, 6, 7), 4, 64, 1)],
)
def test_auto_runs_pointwise_layers_as_gemm(size, c_in, c_out, groups):
    """A pointwise layer is a product per pixel whatever its channels: "auto" takes gemm (no im2col for
    more output channels, no direct pass for depthwise ones)."""
    from tconv._algorithms import choose
    from tconv.geometry import conv_transpose_geometry

    geometry = conv_transpose_geometry(size, 1)
    assert choose(geometry, groups=groups, n=2, c_in=c_in, c_out=c_out) == "gemm"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("tiled", [False, True])
def test_few_rows_per_group_multiply_each_group_s_weight_as_it_is(layout, tiled, monkeypatch):
    """Groups too (StyleGAN2's fused up-sampling: 4 groups of 512 channels on 256 input pixels), through
    the blocked path and where the tiled path would run."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 3 * 22, 3, 3)).astype(np.float32)  # 9 rows, 22 input channels per group
    w = rng.standard_normal((3 * 22, 5, 3, 3)).astype(np.float32)
    b = rng.standard_normal(15).astype(np.float32)
    kwargs = dict(stride=2, groups=3, layout=layout)
    expected = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, algorithm="scatter")
    if tiled:
        monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)
        monkeypatch.setattr(_gemm, "CACHED_COLUMNS", 0)
        monkeypatch.setattr(_gemm, "FEW_CHANNELS", 0)
    monkeypatch.setattr(_gemm, "_packed_weight", None)  # calling it would fail
    y = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, algorithm="gemm")
    assert_close(y, expected, dtype=np.float32)


def _rows_only(monkeypatch) -> list:
    """Make gemm reach its rows straight from the input only (any columns path fails), in chunks of 7
    outputs and pieces for every thread; the list returned gets an entry per call of direct_rows."""
    monkeypatch.setattr(_gemm, "DIRECT_ROWS_CHUNK", 7)  # many chunks per row
    monkeypatch.setattr(_gemm, "DIRECT_ROWS_PARALLEL", 0)  # pieces for every thread
    for name in ("_packed_weight", "lead_and_last", "scratch"):  # any columns path would fail
        monkeypatch.setattr(_gemm, name, None)
    calls: list = []
    original = _gemm.direct_rows
    monkeypatch.setattr(_gemm, "direct_rows", lambda *a: calls.append(1) or original(*a))
    return calls


@pytest.mark.parametrize("prepared", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "n, groups, c_out, size, kernel, stride, dilation, padding, output_padding",
    [
        (1, 1, 1, (300,), 16, 8, 1, 4, 0),  # a mono signal up-sampled x8: one long row in chunks
        (2, 1, 3, (50,), 5, 3, 2, ((7, 1),), 2),  # dilation, an uneven crop, output padding
        (3, 1, 1, (9, 11), 4, 2, 1, 1, 0),
        (2, 1, 8, (6, 7), 3, 2, 1, ((4, 0), (0, 5)), 1),  # crops of more than a kernel at one end
        (1, 1, 40, (7, 5), (3, 1), (1, 2), (2, 1), 0, 0),  # 40 outputs, stride 1 on the lead axis
        (2, 1, 2, (3, 4, 5), 3, 2, 1, 1, 1),  # 3-d
        (1, 1, 1, (4,), 9, 2, 1, 0, 0),  # a kernel longer than the input
        (2, 5, 5, (140,), 4, 2, 1, 1, 0),  # depthwise 1-d: rows of 280 outputs
        (1, 3, 6, (130,), 5, 2, 1, 2, 1),  # a channel multiplier of 2
        (2, 4, 4, (3, 130), 3, 2, 1, 1, 1),  # depthwise 2-d with long rows
        (2, 16, 16, (5, 6), 2, 2, 1, 0, 0),  # depthwise, few channels, short rows: taps that do not overlap
        (1, 3, 6, (6, 40), 4, 3, 1, 1, 0),  # 3 -> 6, k4 s3: overlapping taps summed per residue
        (2, 4, 8, (5, 9), 3, 1, 2, 1, 0),  # stride 1, dilation 2
        (1, 2, 2, (4, 8), 3, 2, 2, 3, 1),  # dilation 2 at stride 2: taps 0 and 2 hit the same residue
        (1, 3, 3, (2, 3, 4), 2, 3, 1, 0, 2),  # 3-d, stride larger than the kernel, output padding
        # kernel = stride along the last axis (each output one term, written with the bias): overlapping
        # lead pairs, crops and output padding at the rows' ends; a depthwise 1-d row in chunks
        (2, 1, 3, (5, 40), (4, 2), 2, 1, ((3, 0), (1, 0)), 1),
        (1, 6, 6, (300,), 3, 3, 1, ((4, 0),), 2),
    ],
)
def test_one_input_channel_rows_from_the_input(
    n, groups, c_out, size, kernel, stride, dilation, padding, output_padding, dtype, prepared, monkeypatch
):
    """One input channel per group (channels-first; with groups, long output rows or few channels): gemm computes each
    output row straight from the input rows (direct_rows), in chunks of a row and pieces of rows or of
    one row, with no columns."""
    rng = np.random.default_rng(5)
    nd = len(size)
    k = kernel if isinstance(kernel, tuple) else (kernel,) * nd
    x = rng.standard_normal((n, groups, *size)).astype(dtype)
    w = rng.standard_normal((groups, c_out // groups, *k)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    kwargs = dict(stride=stride, dilation=dilation, padding=padding, output_padding=output_padding, groups=groups)
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    calls = _rows_only(monkeypatch)
    other = 2 * b + 1  # a second bias: cells left unwritten would keep the first call's values
    expected_other = tconv.conv_transpose(x, w, other, **kwargs, algorithm="scatter")
    for threads in (1, 2, 3):
        with tconv.options(threads=threads):
            for bias, want in ((b, expected), (other, expected_other)):
                if prepared:
                    y = tconv.prepare(w, **kwargs, algorithm="gemm")(x, bias)
                else:
                    y = tconv.conv_transpose(x, w, bias, **kwargs, algorithm="gemm")
                assert_close(y, want, dtype=dtype)
    assert len(calls) == 6
    assert tconv.conv_transpose(x, w, b, **kwargs).shape == expected.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "n, groups, cig, cog, size, kernel, stride, dilation, padding, output_padding",
    [
        (2, 32, 4, 1, (14, 14), 2, 2, 1, 0, 0),  # 4 -> 1 per group, k = s: several terms per output
        (1, 16, 2, 8, (5, 30), 3, 2, 1, 1, 1),  # 2 -> 8 per group
        (2, 16, 16, 1, (300,), 8, 4, 1, 2, 0),  # 1-d, 16 -> 1 per group
        (1, 3, 3, 2, (6, 25), 4, 3, 2, ((5, 0), (0, 4)), 1),  # dilation, crops of more than a kernel
        (2, 5, 2, 2, (40,), 5, 1, 1, 2, 0),  # stride 1
    ],
)
def test_small_groups_rows_from_the_input(
    n, groups, cig, cog, size, kernel, stride, dilation, padding, output_padding, dtype, monkeypatch
):
    """Small groups of several input channels (2-d rows of 24 inputs or more, or 1-d): gemm sums each
    output row from the group's input rows (direct_rows, one buffer per residue of the stride), in
    chunks and pieces, with no columns; against the scatter reference."""
    rng = np.random.default_rng(6)
    nd = len(size)
    x = rng.standard_normal((n, groups * cig, *size)).astype(dtype)
    w = rng.standard_normal((groups * cig, cog, *(kernel,) * nd)).astype(dtype)
    b = rng.standard_normal(groups * cog).astype(dtype)
    kwargs = dict(stride=stride, dilation=dilation, padding=padding, output_padding=output_padding, groups=groups)
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    monkeypatch.setattr(_gemm, "GROUP_ROWS_INPUTS", 1)  # short rows too
    calls = _rows_only(monkeypatch)
    before = x.copy()
    for threads in (1, 2, 3):
        with tconv.options(threads=threads):
            y = tconv.conv_transpose(x, w, b, **kwargs, algorithm="gemm")
        assert_close(y, expected, dtype=dtype)
    assert len(calls) == 3
    np.testing.assert_array_equal(x, before)


def test_small_groups_rows_only_where_measured():
    """The rows of small groups: not for short 2-d rows with many terms, not in 3-d, not for groups of more
    than 16 channel pairs."""
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    def rows(size, kernel, stride, c_in, c_out, groups):
        problem = Problem(groups, "channels_first", c_in, c_out, np.dtype(np.float32), np.zeros(c_out), False)
        return _gemm.rows_direct(conv_transpose_geometry(size, kernel, stride=stride), problem)

    assert rows((14, 14), 2, 2, 128, 32, 32)  # 4 terms per output
    assert rows((32, 32), 4, 2, 128, 128, 32)  # rows of 32
    assert rows((3000,), 2, 2, 512, 32, 32)  # 1-d
    assert not rows((14, 14), 5, 1, 128, 128, 32)  # rows of 14, 100 terms
    assert not rows((12, 12, 12), 3, 2, 64, 64, 16)  # 3-d
    assert not rows((32, 32), 4, 2, 64, 64, 8)  # 8 -> 8 per group
    assert not rows((32, 32), 4, 2, 64, 64, 1)  # no groups


def test_depthwise_rows_only_on_long_enough_runs():
    """Grouped layers of one input channel per group: the rows up to 24 output channels, but where the
    taps overlap at a stride above 1, only up to (outputs per row // stride) - 15 of them (at least 4);
    stamps that do not overlap and stride 1 keep the 24; rows of 256 outputs or more take any count."""
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    def rows(size, kernel, stride, channels, padding=0):
        problem = Problem(
            channels, "channels_first", channels, channels, np.dtype(np.float32), np.zeros(channels), False
        )
        return _gemm.rows_direct(conv_transpose_geometry(size, kernel, stride=stride, padding=padding), problem)

    assert rows((20, 20), 4, 2, 4, 1)  # runs of 20: 4 channels
    assert not rows((20, 20), 4, 2, 8, 1)  # runs of 20: not 8
    assert rows((30, 30), 3, 2, 12, 1)  # runs of 30: up to 15
    assert not rows((30, 30), 3, 2, 16, 1)
    assert rows((50, 50), 3, 2, 24, 1)  # runs of 50: 24
    assert not rows((50, 50), 3, 2, 32, 1)  # never more than 24 below DEPTHWISE_ROWS
    assert rows((12, 12), 2, 2, 24)  # stamps that do not overlap
    assert rows((12, 12), 3, 1, 24, 1)  # stride 1
    assert rows((4, 300), 4, 2, 512, 1)  # rows of 600 outputs


def test_one_input_channel_rows_input_untouched_and_views():
    """direct_rows reads strided views of the input and weight as they are and leaves them unchanged."""
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 1, 40, 30)).astype(np.float32)[:, :, ::2, 1::2]  # non-contiguous
    w = rng.standard_normal((1, 3, 4, 4)).astype(np.float32)
    x0, w0 = x.copy(), w.copy()
    y = tconv.conv_transpose(x, w, stride=2, padding=1, algorithm="gemm")
    assert_close(y, tconv.conv_transpose(x0, w0, stride=2, padding=1, algorithm="scatter"), dtype=np.float32)
    assert np.array_equal(x, x0) and np.array_equal(w, w0)


STAMP_LAYERS = [
    # n, c_in, groups, multiplier, size, stride (= kernel), padding, output_padding
    (2, 6, 6, 1, (9, 7), 2, 0, 0),  # depthwise k2 s2
    (1, 5, 5, 2, (6, 5), 3, 1, 2),  # a channel multiplier, crops and output padding
    (2, 1, 1, 4, (5, 8), (2, 3), ((3, 0), (0, 4)), 1),  # one input channel to 4, crops of more than a stride
    (1, 3, 3, 1, (300,), 4, 2, 3),  # 1-d: a long row cut into pieces
    (1, 1, 1, 1, (1000,), 5, 0, 4),  # a stride the kernel writes tap by tap
    (2, 4, 4, 1, (3, 4, 5), (2, 1, 2), 1, 0),  # 3-d, stride 1 on one axis
    (1, 2, 2, 1, (2, 3), 8, ((9, 2), (1, 7)), 5),  # crops past the first input, outputs past the last
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, c_in, groups, multiplier, size, stride, padding, output_padding", STAMP_LAYERS)
def test_depthwise_stamps_write_every_output_once(
    n, c_in, groups, multiplier, size, stride, padding, output_padding, dtype, monkeypatch
):
    """One input channel per group and the kernel equal to the stride on every axis (dilation 1): every
    algorithm computes the layer by ``stamps``, each output one input times one weight plus the bias,
    against PyTorch in float64; in pieces of rows and of one row for every thread, and into an output
    full of NaN, which no cell keeps."""
    torch = oracle("torch")
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    rng = np.random.default_rng(7)
    nd = len(size)
    k = stride if isinstance(stride, tuple) else (stride,) * nd
    c_out = groups * multiplier
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out // groups, *k)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    kwargs = dict(stride=k, padding=padding, output_padding=output_padding, groups=groups)
    expected = _padded_reference(torch, x, w, b, k, k, padding, output_padding, groups)
    monkeypatch.setattr(_gemm, "DIRECT_ROWS_PARALLEL", 0)  # pieces for every thread
    calls: list = []
    original = _gemm.stamps
    monkeypatch.setattr(_gemm, "stamps", lambda *a: calls.append(1) or original(*a))
    before = x.copy(), w.copy()
    for threads in (1, 2, 3):
        with tconv.options(threads=threads):
            for algorithm in ("auto", "direct", "gemm"):
                y = tconv.conv_transpose(x, w, b, **kwargs, algorithm=algorithm)
                assert_close(y, expected, dtype=dtype)
            geometry = conv_transpose_geometry(size, k, stride=k, padding=padding, output_padding=output_padding)
            problem = Problem(groups, "channels_first", c_in, c_out, np.dtype(dtype), b, True)
            assert _gemm.depthwise_stamps(geometry, problem)
            out = np.full((n, c_out, *geometry.output_size), np.nan, dtype=dtype)
            original(x, w, geometry, problem, out)
            assert_close(out, expected, dtype=dtype)
    assert len(calls) == 9
    assert all(np.array_equal(a, a0) for a, a0 in zip((x, w), before))


def test_depthwise_stamps_only_for_one_input_channel_stamps():
    """stamps: one input channel per group, kernel = stride on every axis (and above 1 on one), dilation 1,
    channels-first."""
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    def applies(size, kernel, stride, c_in, c_out, groups, dilation=1, layout="channels_first"):
        problem = Problem(groups, layout, c_in, c_out, np.dtype(np.float32), np.zeros(c_out), False)
        geometry = conv_transpose_geometry(size, kernel, stride=stride, dilation=dilation)
        return _gemm.depthwise_stamps(geometry, problem)

    assert applies((8, 8), 2, 2, 96, 96, 96)
    assert applies((8, 8), (2, 3), (2, 3), 1, 16, 1)
    assert not applies((8, 8), 4, 2, 96, 96, 96)  # overlapping taps
    assert not applies((8, 8), (2, 4), (2, 2), 8, 8, 8)  # not a stamp on the last axis
    assert not applies((8, 8), 2, 2, 2, 2, 1)  # two input channels
    assert not applies((8, 8), 1, 1, 8, 8, 8)  # pointwise: gemm's pointwise rows
    assert not applies((8, 8), 2, 2, 8, 8, 8, layout="channels_last")
    assert not applies((8, 8), 2, 2, 8, 8, 8, dilation=2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "n, c_in, c_out, groups, size, kernel, stride, padding, output_padding",
    [
        (3, 8, 3, 1, (9, 11), 4, 2, 1, 0),  # DCGAN's RGB output layer, small
        (2, 6, 2, 1, (7, 5), (3, 4), (1, 2), ((2, 0), (0, 3)), (0, 1)),  # other lead axis, asymmetric crops
        (1, 4, 4, 1, (40,), 4, 2, ((-2, 3),), 1),  # 1-d: zeros before the first output, long row in pieces
        (2, 4, 2, 1, (3, 4, 6), 4, 2, 1, 0),  # 3-d: four lead pairs a row
        (1, 3, 1, 1, (1, 1), 4, 2, 0, 1),  # one input: no output has both its inputs
        (2, 5, 2, 1, (4, 2), 4, 2, 2, 1),  # crops of a stride and more
        (2, 6, 3, 1, (9, 13), 3, 2, 1, 1),  # a decoder's k3 s2 output layer
        (1, 4, 2, 1, (21,), 3, 2, ((-1, 2),), 0),  # 1-d k3: a zero before the first output, crops
        (2, 4, 2, 1, (3, 4, 5), (2, 3, 3), 2, 0, 1),  # 3-d k3 s2, the last output from one input
        (1, 3, 1, 1, (1, 2), 3, 2, 0, 0),  # k3: one input a row and two
        (2, 3, 2, 1, (5, 4), 3, 2, 3, 1),  # k3: crops past a stride
        (1, 2, 12, 1, (16, 32), 3, 2, 1, 1),  # many output channels: the overlapping rows' rule
        (2, 3, 10, 1, (4, 8, 16), 4, 2, 1, 0),  # ... in 3-d
        (2, 5, 3, 1, (7, 10), 5, 2, 2, 1),  # k5 s2: three taps to an even output
        (1, 2, 2, 1, (17,), 5, 2, ((3, -1),), 1),  # 1-d k5, crops of a stride and more, a zero at the end
        (1, 3, 2, 1, (2, 3), 5, 2, 0, 0),  # k5: rows of fewer inputs than taps
        (1, 2, 6, 1, (16, 32), 5, 2, 2, 1),  # k5, few output channels (many are not sent here)
    ],
)
def test_s2_rows_from_the_transposed_columns(
    n, c_in, c_out, groups, size, kernel, stride, padding, output_padding, dtype, monkeypatch
):
    """The last axis at k3, k4 or k5 s2 (dilation 1), few output channels or large samples: the transposed
    orientation's rows come from gather_k<k>s2_t (both outputs of an input in one loop, the row's ends one at
    a time), on one to three threads (pieces of rows, or of one long row), against PyTorch in float64."""
    torch = oracle("torch")
    rng = np.random.default_rng(8)
    nd = len(size)
    k = kernel if isinstance(kernel, tuple) else (kernel,) * nd
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, c_out // groups, *k)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups)
    expected = _padded_reference(torch, x, w, b, k, stride, padding, output_padding, groups)
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)  # not the small call's path
    monkeypatch.setattr(_gemm, "BLOCK_COLUMNS", 1)  # a block per sample
    kernels = tconv._algorithms.compiled.kernels()
    calls: list = []

    def spy(*args):
        calls.append(1)
        return kernels[name](*args)

    name = f"gather_k{k[-1]}s2_t"
    monkeypatch.setattr(tconv._algorithms.compiled, "kernels", lambda: {**kernels, name: spy})
    for threads in (1, 2, 3):
        with tconv.options(threads=threads):
            y = tconv.conv_transpose(x, w, b, **kwargs, algorithm="gemm")
        assert_close(y, expected, dtype=dtype)
    assert calls


def _padded_reference(torch, x, w, b, kernel, stride, padding, output_padding, groups):
    """PyTorch's float64 layer with no padding, then the window the padding and output padding leave
    (zeros before the first output where a crop is negative, and past the last input's stamps), plus the
    bias: any crop, asymmetric and negative ones included."""
    nd = len(kernel)
    s = stride if isinstance(stride, tuple) else (stride,) * nd
    function = getattr(torch.nn.functional, f"conv_transpose{nd}d")
    full = function(*(torch.from_numpy(a.astype(np.float64)) for a in (x, w)), stride=s, groups=groups).numpy()
    pads = [p if isinstance(p, tuple) else (p, p) for p in (padding if isinstance(padding, tuple) else (padding,) * nd)]
    extra = output_padding if isinstance(output_padding, tuple) else (output_padding,) * nd
    sizes = [f - lo - hi + e for f, (lo, hi), e in zip(full.shape[2:], pads, extra)]
    before = [max(0, -lo) for lo, _ in pads]
    grown = np.pad(
        full,
        [(0, 0), (0, 0)]
        + [(z, max(0, lo + z + o - (f + z))) for (lo, _), o, f, z in zip(pads, sizes, full.shape[2:], before)],
    )
    window = tuple(slice(lo + z, lo + z + o) for (lo, _), o, z in zip(pads, sizes, before))
    return grown[(slice(None), slice(None), *window)] + b.reshape(-1, *(1,) * nd)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("groups, threads", [(1, 1), (2, 2), (3, 2)])
def test_unpacked_weight_in_padded_panels(groups, threads, layout, monkeypatch):
    """A plain call's unpacked weight (gemm.unpacked_weight: few pixels for many input channels) multiplied
    in panels copied to padded rows (gemm._unpacked_products, taken with MKL where the weight's rows alias:
    here forced on every row length, library and size, in panels of 32 columns, 16 under a small memory
    budget): the same result as the float64 scatter, the panels really taken, the arrays untouched."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 16 * groups, 2, 3)).astype(np.float32)
    w = rng.standard_normal((16 * groups, 12, 4, 4)).astype(np.float32)  # (more than FEW_CHANNELS)
    b = rng.standard_normal(12 * groups).astype(np.float32)
    kwargs = dict(stride=2, padding=1, groups=groups)
    wide = [a.astype(np.float64) for a in (x, w, b)]
    expected = tconv.conv_transpose(*wide, **kwargs, algorithm="scatter").astype(np.float32)
    arrays = [a.copy() for a in (x, w, b)]
    monkeypatch.setattr(_blas, "ALIASED_ROW", 1)
    monkeypatch.setattr(_blas, "uses_mkl", lambda: True)
    monkeypatch.setattr(_gemm, "PANEL_ROWS", (1, 10**6))
    monkeypatch.setattr(_gemm, "PANEL_ROW_BYTES", 0)
    monkeypatch.setattr(_gemm, "PANEL_BYTES", 16 * 4 * 40)  # 32 columns of 16 input channels a panel
    monkeypatch.setattr(_gemm, "SMALL_FLOPS", 0)  # (the threads' path too)
    panels = []
    original = _blas.parallel_products

    def spy(function, calls):
        if function.__qualname__.startswith("_unpacked_products"):
            panels.extend(calls)
        return original(function, calls)

    monkeypatch.setattr(_blas, "parallel_products", spy)
    with tconv.options(threads=threads):
        y = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, layout=layout, algorithm="gemm")
    assert_close(from_layout(y, layout), expected, dtype=np.float32)
    # each group's 12 * 16 = 192 columns in six panels
    assert sorted(panels) == [(g, c0, c0 + 32) for g in range(groups) for c0 in range(0, 192, 32)]
    if groups == 1:  # under a small memory budget, narrower panels (an eighth of it a thread: 1 KiB, 16 columns)
        panels.clear()
        with tconv.options(threads=2, memory_budget=16384):
            y = tconv.conv_transpose(to_layout(x, layout), w, b, **kwargs, layout=layout, algorithm="gemm")
        assert_close(from_layout(y, layout), expected, dtype=np.float32)
        assert sorted(panels) == [(0, c0, c0 + 16) for c0 in range(0, 192, 16)]
    for a, before in zip((x, w, b), arrays):
        np.testing.assert_array_equal(a, before)


#: Small layers (under gemm.SMALL_FLOPS) whose one-thread path :func:`gemm.planned` plans once: the transposed
#: orientation (few output channels, groups, stamps that do not overlap, k2 s2 and k4 s2 rows, 1-3 d) and one
#: GEMM with one gather (many output channels, either layout).
PLANNED_SMALL = [
    ((2, 48, 13, 13), (48, 3, 4, 4), dict(stride=2, padding=1), "channels_first"),
    ((1, 32, 150), (32, 4, 4), dict(stride=2), "channels_first"),
    ((3, 24, 35), (24, 3, 3), dict(stride=3), "channels_first"),
    ((1, 16, 91), (16, 32, 2), dict(stride=2), "channels_first"),
    ((2, 8, 9, 7), (8, 2, 3, 3), dict(stride=2, padding=1, groups=2, output_padding=1), "channels_first"),
    ((1, 4, 5, 4, 3), (4, 2, 3, 3, 3), dict(stride=2, padding=1, dilation=(1, 2, 1)), "channels_first"),
    ((1, 24, 4, 4), (24, 64, 5, 5), dict(stride=4, padding=1), "channels_first"),
    ((2, 6, 7, 7), (6, 16, 3, 3), dict(stride=2, padding=1), "channels_last"),
]


@pytest.mark.parametrize("x_shape, w_shape, kwargs, layout", PLANNED_SMALL)
def test_small_calls_run_their_planned_path(x_shape, w_shape, kwargs, layout):
    """A small call's tiles, tables and kernels are worked out once per shape and options
    (:func:`gemm.planned`): the planned call, the same call again, ``algorithm="gemm"``, a prepared plan and
    the unplanned path (:func:`gemm.gemm_tiled`) agree with the scatter reference, with and without a bias,
    on one thread and two, and the planned call on new values of the same arrays reads them anew."""
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    rng = np.random.default_rng(5)
    x = to_layout(rng.standard_normal(x_shape).astype(np.float32), layout)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1] * kwargs.get("groups", 1)).astype(np.float32)
    groups = kwargs.get("groups", 1)
    geometry = conv_transpose_geometry(
        x_shape[2:],
        w_shape[2:],
        stride=kwargs["stride"],
        padding=kwargs.get("padding", 0),
        output_padding=kwargs.get("output_padding", 0),
        dilation=kwargs.get("dilation", 1),
    )
    problem = Problem.of(x, w, b, groups, layout, "conv_transpose")
    assert _gemm.planned(geometry, problem, x_shape[0]) is not None
    for threads in (1, 2):
        with tconv.options(threads=threads):
            plan = tconv.prepare(w, **kwargs, layout=layout)
            for bias in (b, None):
                expected = tconv.conv_transpose(x, w, bias, **kwargs, layout=layout, algorithm="scatter")
                unplanned = _gemm.gemm_tiled(x, w, geometry, Problem.of(x, w, bias, groups, layout, "conv_transpose"))
                assert_close(unplanned, expected, dtype=np.float32)
                for _ in range(2):
                    for y in (
                        tconv.conv_transpose(x, w, bias, **kwargs, layout=layout),
                        tconv.conv_transpose(x, w, bias, **kwargs, layout=layout, algorithm="gemm"),
                        plan(x, bias),
                    ):
                        np.testing.assert_array_equal(y, unplanned)
            again = x.copy()
            y = tconv.conv_transpose(again, w, b, **kwargs, layout=layout)
            again *= -2.0  # the same array, new values: the planned call reads them
            assert_close(
                tconv.conv_transpose(again, w, b, **kwargs, layout=layout),
                tconv.conv_transpose(again, w, b, **kwargs, layout=layout, algorithm="scatter"),
                dtype=np.float32,
            )
            assert not np.array_equal(y, tconv.conv_transpose(again, w, b, **kwargs, layout=layout))


STRIDED_POINTWISE = [
    # (input shape, weight shape, options): 1 x ... x 1 kernels at a stride or cropped
    ((2, 6, 7, 9), (6, 4, 1, 1), dict(stride=2)),
    ((2, 6, 7, 9), (6, 4, 1, 1), dict(stride=3, padding=1, output_padding=2)),  # crop and extra cells
    ((2, 6, 7, 9), (6, 2, 1, 1), dict(stride=(2, 3), padding=(2, 0), groups=3)),
    ((1, 4, 11), (4, 1, 1), dict(stride=4, padding=5, groups=4)),  # depthwise, 1-d, the first pixels cropped
    ((2, 3, 4, 5, 6), (3, 5, 1, 1, 1), dict(stride=2, output_padding=1)),  # 3-d, a decoder shortcut's
    ((2, 6, 7, 9), (6, 4, 1, 1), dict(stride=(1, 2), padding=(2, 3))),  # stride 1 on an axis, cropped more
    ((3, 64, 30, 31), (64, 1, 1, 1), dict(stride=3, groups=64)),  # above the small-call plans
]


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("case", STRIDED_POINTWISE, ids=str)
def test_strided_pointwise_is_the_product_placed(case, bias, layout, compiled):
    """A 1 x ... x 1 kernel at a stride (gemm.strided_pointwise): "auto" runs "gemm", which places the
    pointwise product of the pixels that land inside (the other cells the bias or zero; the compiled
    place_strided pass or NumPy's strided assignment): as the float64 direct algorithm, the path taken (a
    spy)."""
    x_shape, w_shape, options = case
    rng = np.random.default_rng(len(x_shape) * 100 + x_shape[1])
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1] * options.get("groups", 1)).astype(np.float32) if bias else None
    taken = []
    original = _gemm._strided_pointwise
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_gemm, "_strided_pointwise", lambda *a: taken.append(1) or original(*a))
        with tconv.options(compiled=compiled):  # (without the kernels "auto" takes tiny layers' own path)
            algorithm = "auto" if compiled else "gemm"
            y = tconv.conv_transpose(to_layout(x, layout), w, b, **options, layout=layout, algorithm=algorithm)
            got = from_layout(y, layout)
    assert taken
    wide = None if b is None else b.astype(np.float64)
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), wide, **options, algorithm="direct")
    assert_close(got, expected, dtype=np.float32)


def test_strided_pointwise_rule():
    from tconv._algorithms import choose
    from tconv.geometry import conv_transpose_geometry

    assert choose(conv_transpose_geometry((39, 39), (1, 1), stride=3), 192, 16, 192, 192) == "gemm"
    assert choose(conv_transpose_geometry((20,), (1,), stride=2, output_padding=1), 1, 4, 64, 32) == "gemm"
    # cropped at stride 1: the general passes, which read the input where it lies (no copy of the crop)
    problem = _gemm.Problem(1, "channels_first", 64, 64, np.dtype(np.float32), np.zeros(0, np.float32), False)
    assert not _gemm.strided_pointwise(conv_transpose_geometry((32, 32), (1, 1), padding=1), problem)


def test_strided_pointwise_keeps_to_the_memory_budget():
    """The placed product in blocks of samples within the memory budget (the same values), and the general
    passes where one sample's product exceeds it."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 8, 20, 20)).astype(np.float32)
    w = rng.standard_normal((8, 16, 1, 1)).astype(np.float32)
    whole = tconv.conv_transpose(x, w, stride=2, output_padding=1)
    sample = 16 * 20 * 20 * 4  # one sample's product, bytes
    taken = []
    original = _gemm._strided_pointwise
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_gemm, "_strided_pointwise", lambda *a: taken.append(original(*a)) or taken[-1])
        for budget in (2 * sample, sample - 1):
            with tconv.options(memory_budget=budget):
                got = tconv.conv_transpose(x, w, stride=2, output_padding=1, algorithm="gemm")
            assert_close(got, whole)
    assert taken[0] is not None and taken[1] is None
