"""The fast algorithms: both backends, memory blocking and tiling, threads, and the memory budget."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, from_layout, to_layout

import tconv

FAST = ("gemm", "phase", "direct")
LAYOUTS = ("channels_first", "channels_last")


@pytest.fixture(params=["tiled", "one-gemm", "transposed", "small"])
def gemm_path(request, monkeypatch):
    """Force each of gemm's code paths on the small test cases: cache-sized tiles computed by
    independent threads (tiny tiles, so there are many, with bands and channel blocks), one
    multi-threaded GEMM, the transposed orientation for few output channels, and the
    single-thread path for tiny problems."""
    from tconv._algorithms import fast as _fast

    if request.param != "small":
        monkeypatch.setattr(_fast, "SMALL_FLOPS", 0)
        monkeypatch.setattr(_fast, "FEW_CHANNELS", 10**6 if request.param == "transposed" else 0)
    if request.param == "tiled":
        monkeypatch.setattr(_fast, "CACHED_COLUMNS", 0)
        monkeypatch.setattr(_fast, "TILE_BYTES", 1500)
        monkeypatch.setattr(_fast, "WEIGHT_BYTES", 200)
        monkeypatch.setattr(_fast, "MIN_BAND_HALOS", 1)
    elif request.param == "one-gemm":
        monkeypatch.setattr(_fast, "CACHED_COLUMNS", 1 << 40)
    return request.param


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_gemm_paths(case, layout, gemm_path):
    for dtype in (np.float32, np.complex128):
        x, w, b = case.arrays(dtype)
        y = tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), layout=layout, algorithm="gemm")
        assert_close(from_layout(y, layout), reference(case, x, w, b), dtype=dtype)


def test_tiled_path_really_tiles(monkeypatch):
    """The patched thresholds do produce bands, channel blocks and several samples per tile."""
    from tconv._algorithms import fast as _fast
    from tconv.geometry import conv_transpose_geometry

    monkeypatch.setattr(_fast, "TILE_BYTES", 1500)
    monkeypatch.setattr(_fast, "WEIGHT_BYTES", 200)
    monkeypatch.setattr(_fast, "MIN_BAND_HALOS", 1)
    g = conv_transpose_geometry((6, 5), (3, 3), 2, 1)
    tiles = _fast._gemm_tiles(g, n=3, groups=2, cig=2, cog=4, itemsize=8, threads=2)
    assert (
        len({t.band for t in tiles}) > 1 and len({(t.c0, t.c1) for t in tiles}) > 1 and {t.g for t in tiles} == {0, 1}
    )
    small = conv_transpose_geometry((2, 2), (2, 2), 2, 0)
    tiles = _fast._gemm_tiles(small, n=8, groups=1, cig=2, cog=2, itemsize=8, threads=2)
    assert max(t.n1 - t.n0 for t in tiles) > 1


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


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("budget", [1, 3000, 50_000], ids=["1B", "3kB", "50kB"])
@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_tiny_budgets_block_and_tile(case, algorithm, budget, compiled):
    """Budgets below one sample force batch blocks and output tiles; results do not change."""
    x, w, b = case.arrays()
    for layout in LAYOUTS:
        with tconv.options(memory_budget=budget, compiled=compiled):
            y = tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), layout=layout, algorithm=algorithm)
        assert_close(from_layout(y, layout), reference(case, x, w, b))


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


@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_extra_memory_stays_within_budget(algorithm, layout):
    """Peak memory allocated during the call, minus the result itself, stays under the budget.

    The input is 4 MiB and the result 16 MiB; with a 1 MiB budget the column buffer of one
    sample (4 MiB for gemm, 16 MiB for the whole batch) must be processed in output tiles.
    """
    budget = 2**20
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 64, 64, 64), dtype=np.float32)  # 1 MiB per sample
    if layout == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    groups = 64 if algorithm == "direct" else 1
    w = rng.standard_normal((64, 64 // groups, 2, 2), dtype=np.float32)
    slack = 2 * w.nbytes + 2**20  # packed weights, tap tables, small per-task buffers
    with tconv.options(memory_budget=budget):
        # the same call once outside the trace: numba compiles (and caches) every kernel it needs
        tconv.conv_transpose(x, w, stride=2, groups=groups, layout=layout, algorithm=algorithm)
        tracemalloc.start()
        try:
            y = tconv.conv_transpose(x, w, stride=2, groups=groups, layout=layout, algorithm=algorithm)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert y.nbytes == 16 * 2**20
    assert peak - y.nbytes <= budget + slack, f"extra peak {(peak - y.nbytes) / 2**20:.2f} MiB over a 1 MiB budget"


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
        with tconv.options(memory_budget=budget, compiled=compiled):
            y = tconv.conv(to_layout(x, layout), w, b, *args, layout=layout, algorithm="gemm")
        assert_close(from_layout(y, layout), expected)


def test_blas_threads_restored_after_tiled_calls(monkeypatch):
    """The tiled gemm sets BLAS to one thread while it runs and restores the count exactly,
    also when several user threads call it at once (OpenBLAS's count is process-wide)."""
    import threading

    from tconv._algorithms import blas as _blas
    from tconv._algorithms import fast as _fast

    if not _blas.available():
        pytest.skip("BLAS threading cannot be controlled here (not OpenBLAS)")
    monkeypatch.setattr(_fast, "SMALL_FLOPS", 0)
    monkeypatch.setattr(_fast, "FEW_CHANNELS", 0)
    monkeypatch.setattr(_fast, "TILE_BYTES", 1500)
    monkeypatch.setattr(_fast, "MIN_BAND_HALOS", 1)
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


@pytest.mark.parametrize("budget", [1, 2000, 2**30], ids=["1B", "2kB", "1GiB"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_weight_gradient_matches_reference(case, layout, budget):
    """im2col + GEMM weight gradient == the per-tap reference weight_correlation, blocked and tiled."""
    from tconv._algorithms.fast import weight_gradient
    from tconv.geometry import conv_transpose_geometry
    from tconv.kernels import weight_correlation

    x, w, _ = case.arrays()
    g = conv_transpose_geometry(case.size, case.kernel, case.stride, case.padding, case.output_padding, case.dilation)
    dy = np.random.default_rng(7).standard_normal((case.n, case.c_out, *g.output_size))
    grouped = lambda a: a.reshape(a.shape[0], case.groups, -1, *a.shape[2:])  # noqa: E731
    expected = weight_correlation(grouped(x), grouped(dy), g)
    with tconv.options(memory_budget=budget):
        got = weight_gradient(to_layout(x, layout), to_layout(dy, layout), g, case.groups, layout)
    assert_close(got, expected)
