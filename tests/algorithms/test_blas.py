"""tconv._algorithms.blas.matmul: NumPy's matmul on tconv's threads, every way it splits a product."""

import numpy as np
import pytest

import tconv
from tconv._algorithms import blas


@pytest.mark.parametrize(
    "a_shape, b_shape, transposed",
    [
        ((300, 70), (70, 90), False),  # rows split among the threads
        ((20, 70), (70, 900), False),  # few rows: columns split
        ((9, 40, 64), (64, 50), False),  # a batch of 9 (runs of the batch), shared right-hand side
        ((64, 40), (9, 40, 50), True),  # shared left-hand side, read transposed, batched right
        ((3, 120, 64), (3, 64, 50), False),  # a batch smaller than two a thread: each matrix's rows
        ((2, 3, 60, 64), (2, 3, 64, 50), False),  # two batch axes
    ],
)
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_matmul_matches_float64_product(a_shape, b_shape, transposed, threads, monkeypatch):
    monkeypatch.setattr(blas, "OPENBLAS_ONE_THREAD", 0)  # split these small products too
    monkeypatch.setattr(blas, "PARALLEL_FLOPS", 0)
    rng = np.random.default_rng(1)
    a = rng.standard_normal(a_shape[::-1] if transposed else a_shape).astype(np.float32)
    a = a.T if transposed else a
    b = rng.standard_normal(b_shape).astype(np.float32)
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    with tconv.options(threads=threads):
        got = blas.matmul(a, b)
        into = np.full(expected.shape, np.nan, np.float32)
        returned = blas.matmul(a, b, out=into)
    assert returned is into
    for result in (got, into):
        assert result.shape == expected.shape and result.dtype == np.float32
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-4 * np.sqrt(a.shape[-1]))


# ------------------------------------------------------------------------------------------------ MKL
# The test dependencies install MKL (x86-64): tconv's GEMMs run on it by default (option blas="auto"),
# and on NumPy's matmul with blas="numpy". Both are checked here against float64 products; the rest of
# the suite runs with the default.

#: MKL where it is installed (every x86-64 test machine), else the default again.
LIBRARY = "mkl" if blas.mkl_available() else "auto"


def test_mkl_is_installed_for_the_tests():
    import platform

    if platform.machine().lower() in ("x86_64", "amd64"):  # (the test extra installs it there)
        assert blas.mkl_available()
        with tconv.options(blas="mkl"):
            assert blas.gemm_library().startswith("mkl")
        assert blas.gemm_library().startswith("mkl") == blas._intel()  # "auto": on Intel's processors
    with tconv.options(blas="numpy"):
        assert blas.gemm_library() == "numpy"


def _cases():
    rng = np.random.default_rng(7)
    f32 = np.float32
    a = rng.standard_normal((37, 23)).astype(f32)
    b = rng.standard_normal((23, 41)).astype(f32)
    stack_a = rng.standard_normal((5, 37, 23)).astype(f32)
    stack_b = rng.standard_normal((5, 23, 41)).astype(f32)
    four_a = rng.standard_normal((2, 3, 9, 23)).astype(f32)
    four_b = rng.standard_normal((2, 3, 23, 6)).astype(f32)
    wide = rng.standard_normal((40, 60)).astype(f32)
    return {
        "2-d": (a, b),
        "float64": (a.astype(np.float64), b.astype(np.float64)),
        "transposed views": (np.ascontiguousarray(a.T).T, np.ascontiguousarray(b.T).T),
        "sub-blocks of larger arrays": (wide[3:40, 5:28], wide[10:33, 2:43]),
        "every other row (no CBLAS stride)": (rng.standard_normal((74, 23)).astype(f32)[::2], b),
        "stack @ matrix": (stack_a, b),
        "matrix @ stack": (a, stack_b),
        "stack @ stack": (stack_a, stack_b),
        "stack of transposed matrices": (np.ascontiguousarray(stack_a.transpose(0, 2, 1)).transpose(0, 2, 1), b),
        "two stacked axes": (four_a, four_b),
        "two stacked axes @ matrix": (four_a, four_b[0, 0]),
        "broadcast stack (NumPy's)": (four_a, stack_b[:3, :, :6]),
        "empty inner axis": (np.zeros((4, 0), f32), np.zeros((0, 5), f32)),
        "empty rows": (np.zeros((0, 3), f32), np.ones((3, 5), f32)),
        "mixed dtypes (NumPy's)": (a, b.astype(np.float64)),
        "integers (NumPy's)": (np.arange(6).reshape(2, 3), np.arange(12).reshape(3, 4)),
    }


@pytest.mark.parametrize("library", ["numpy", LIBRARY])
@pytest.mark.parametrize("case", list(_cases()))
def test_mm_is_numpys_matmul(case, library, monkeypatch):
    """blas.mm, the GEMM of every algorithm: NumPy's matmul's result (shape, dtype, values to float32
    rounding), into ``out`` too, including an ``out`` that is a strided part of a larger array."""
    monkeypatch.setattr(blas, "MKL_MACS", 0)  # MKL for these small products too
    monkeypatch.setattr(blas, "MKL_MATRIX_MACS", 0)
    monkeypatch.setattr(blas, "MKL_SIDE", 0)
    monkeypatch.setattr(blas, "MKL_INNER", 0)
    a, b = _cases()[case]
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    dtype = np.matmul(a, b).dtype
    with tconv.options(blas=library):
        got = blas.mm(a, b)
        sentinel = np.nan if np.issubdtype(dtype, np.floating) else -7777
        big = np.full((*expected.shape[:-1], expected.shape[-1] + 3), sentinel, dtype)
        into = big[..., 1 : 1 + expected.shape[-1]]  # rows with a pitch larger than their length
        returned = blas.mm(a, b, out=into)
    assert returned is into
    outside = np.concatenate([big[..., :1], big[..., -2:]], axis=-1)
    assert (np.isnan(outside) if sentinel is np.nan else outside == sentinel).all()  # nothing written outside
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    for result in (got, into):
        assert result.shape == expected.shape and result.dtype == dtype
        np.testing.assert_allclose(result, expected, rtol=tolerance, atol=tolerance * np.sqrt(max(1, a.shape[-1])))


def test_mm_calls_mkl_from_its_thresholds(monkeypatch):
    """Products from MKL_MACS multiply-adds (stacks: and MKL_MATRIX_MACS a matrix) go to MKL, smaller ones
    to NumPy's matmul (whose call costs less); narrow ones (a side below MKL_SIDE) only with long sums
    over a large left matrix (MKL_LONG_INNER, MKL_LONG_ENTRIES), in single precision."""
    if __import__("platform").machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("MKL is installed with the test dependencies on x86-64 only")  # (where it must be there)
    calls = []
    library = blas._mkl()
    monkeypatch.setattr(blas, "_mkl_gemm", lambda *args: calls.append("gemm") or False)
    monkeypatch.setattr(blas, "_mkl_batch", lambda *args: calls.append("batch") or False)
    f32 = np.float32
    with tconv.options(blas="mkl"):
        blas.mm(np.ones((128, 128), f32), np.ones((128, 127), f32))  # below 2**21
        blas.mm(np.ones((1024, 16), f32), np.ones((16, 1024), f32))  # 2**24, but 16 terms: NumPy's
        blas.mm(np.ones((128, 128), f32), np.ones((128, 128), f32))  # 2**21
        blas.mm(np.ones((8, 64, 128), f32), np.ones((128, 64), f32))  # 8 x 2**19
        blas.mm(np.ones((512, 16, 128), f32), np.ones((128, 16), f32))  # matrices of 2**15: NumPy's
        blas.mm(np.ones((64, 128, 64), f32), np.ones((64, 64), f32))  # 64 terms, 2**13 entries: NumPy's
        blas.mm(np.ones((16, 128, 64), f32), np.ones((16, 64, 256), f32))  # 64 terms, 2**15 entries
        blas.mm(np.ones((1024, 64)), np.ones((64, 1024)))  # float64, 64 terms: NumPy's
        blas.mm(np.ones((1024, 128)), np.ones((128, 1024)))  # float64, 128 terms
        blas.mm(np.ones((128, 1024), f32), np.ones((1024, 16), f32))  # 16 columns, 2**17 entries: NumPy's
        blas.mm(np.ones((1024, 256), f32), np.ones((256, 16), f32))  # 16 columns, 256 terms: NumPy's
        blas.mm(np.ones((1024, 512), f32), np.ones((512, 16), f32))  # 16 columns, 512 terms, 2**19 entries
        blas.mm(np.ones((1024, 512)), np.ones((512, 16)))  # the same in float64: NumPy's
    with tconv.options(blas="numpy"):
        blas.mm(np.ones((128, 128), f32), np.ones((128, 128), f32))
    assert calls == ["gemm", "batch", "batch", "gemm", "gemm"] and library is not None


def test_rows_that_alias_in_the_cache_are_multiplied_by_numpy(monkeypatch):
    """A right-hand side or result whose rows are a multiple of 64 KiB apart (blas.MKL_ALIASED_ROW) is
    multiplied by NumPy's matmul, not MKL (whose GEMM ran at half its rate there); other pitches by MKL;
    the products right either way."""
    if __import__("platform").machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("MKL is installed with the test dependencies on x86-64 only")  # (where it must be there)
    rng = np.random.default_rng(4)
    a = rng.standard_normal((64, 64)).astype(np.float32)
    aliased = rng.standard_normal((64, 16384)).astype(np.float32)  # rows 64 KiB apart
    padded = np.empty((64, 16400), np.float32)[:, :16384]
    padded[...] = aliased
    wide_out = np.empty((64, 16384 + 16384), np.float32)[:, :16384]  # a result with 128 KiB rows
    expected = a.astype(np.float64) @ aliased.astype(np.float64)
    with tconv.options(blas="mkl"):
        for b, out in ((aliased, None), (padded, None), (padded, wide_out)):
            np.testing.assert_allclose(blas.mm(a, b, out=out), expected, rtol=1e-4, atol=1e-3)
    calls = []
    monkeypatch.setattr(blas, "_mkl_gemm", lambda *args: calls.append(args[2].shape) or False)
    with tconv.options(blas="mkl"):
        blas.mm(a, aliased)
        blas.mm(a, padded, out=wide_out)
        assert calls == []
        blas.mm(a, padded)
        assert calls == [padded.shape]


@pytest.mark.parametrize("library", ["numpy", LIBRARY])
def test_gemm_into_adds_in_place(library):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((50, 30)).astype(np.float32)
    b = rng.standard_normal((30, 20)).astype(np.float32)
    c = rng.standard_normal((50, 24)).astype(np.float32)
    expected = c[:, 2:22].astype(np.float64) + a.astype(np.float64) @ b.astype(np.float64)
    with tconv.options(blas=library):
        done = blas.gemm_into(a, b, c[:, 2:22])
    if done:
        np.testing.assert_allclose(c[:, 2:22], expected, rtol=1e-5, atol=1e-4)
    assert done or library != "mkl"  # MKL always takes it; OpenBLAS's CBLAS where NumPy's is found


@pytest.mark.parametrize("algorithm", ["gemm", "phase", "im2col", "winograd", "direct"])
def test_algorithms_agree_on_either_library(algorithm):
    """Each fast algorithm, forward and gradients, with MKL and with NumPy's matmul: both within float32
    rounding of the float64 result (the rest of the suite runs on the default, MKL where installed)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 24, 9, 9)).astype(np.float32)
    kernel = 3 if algorithm == "winograd" else 4
    stride = 1 if algorithm == "winograd" else 2
    w = rng.standard_normal((24, 16, kernel, kernel)).astype(np.float32)
    y64 = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), stride=stride, padding=1, algorithm="gemm")
    dy = rng.standard_normal(y64.shape).astype(np.float32)
    g64 = tconv.conv_transpose_backward(dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64),
                                        stride=stride, padding=1)  # fmt: skip
    for library in ("numpy", LIBRARY):
        with tconv.options(blas=library):
            y = tconv.conv_transpose(x, w, stride=stride, padding=1, algorithm=algorithm)
            g = tconv.conv_transpose_backward(dy, x, w, stride=stride, padding=1)
        scale = np.abs(y64).max()
        np.testing.assert_allclose(y, y64, rtol=0, atol=1e-5 * scale)
        for got, want in ((g.input, g64.input), (g.weight, g64.weight)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("library", ["numpy", LIBRARY])
def test_mm_into_an_operand(library, monkeypatch):
    """An ``out`` that is an operand's memory gets NumPy's answer (computed from the operands as they were)."""
    for name in ("MKL_MACS", "MKL_MATRIX_MACS", "MKL_SIDE", "MKL_INNER"):
        monkeypatch.setattr(blas, name, 0)
    a = np.random.default_rng(5).standard_normal((6, 6)).astype(np.float32)
    expected = a.astype(np.float64) @ a.astype(np.float64)
    with tconv.options(blas=library):
        blas.mm(a, a, out=a)
    np.testing.assert_allclose(a, expected, rtol=1e-5, atol=1e-5)


def test_two_threads_multiplying_transposed_stacks_agree_with_float64():
    """NumPy's OpenBLAS gave wrong products now and then when two threads multiplied stacks of transposed
    matrices at once (this layer's input gradient: 8-13 of 60 calls wrong on two threads, at a block of
    one group's outputs); blas.mm copies one operand of such products row-major. 30 calls on two
    threads, each equal to the float64 result to float32 rounding."""
    rng = np.random.default_rng(1)
    n, c_in, c_out, groups, length, kernel, stride, padding = 4, 128, 512, 4, 571, 64, 5, 7
    x = rng.standard_normal((n, c_in, length)).astype(np.float32)
    w = (rng.uniform(-1, 1, (c_in, c_out // groups, kernel)) / 90).astype(np.float32)
    kw = dict(stride=stride, padding=padding, groups=groups)
    dy = rng.standard_normal(tconv.conv_transpose(x, w, **kw).shape).astype(np.float32)
    wide = [a.astype(np.float64) for a in (dy, x, w)]
    expected = tconv.conv_transpose_backward(*wide, **kw, needs="input").input
    with tconv.options(blas="numpy", threads=2):
        for _ in range(30):
            got = tconv.conv_transpose_backward(dy, x, w, **kw, needs="input").input
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize(
    "a_shape, a_transposed, b_shape, b_transposed, copied",
    [
        ((3, 40, 64), True, (3, 64, 50), True, "a"),  # both column-major: the smaller one
        ((3, 40, 64), True, (3, 64, 30), True, "b"),
        ((40, 64), True, (64, 50), True, "a"),  # 2-d too
        ((3, 40, 64), True, (3, 64, 50), False, None),  # one column-major operand: as it is
        ((3, 40, 64), False, (3, 64, 50), True, None),
        ((40, 1), True, (1, 50), True, None),  # vectors are either
    ],
)
def test_numpy_matmul_copies_one_of_two_column_major_operands(
    a_shape, a_transposed, b_shape, b_transposed, copied, monkeypatch
):
    """NumPy's OpenBLAS gets no product of two column-major operands (the trigger of the wrong products
    above): :func:`blas._numpy_matmul` hands it the smaller one row-major, the other as it is, and the
    product is NumPy's."""
    rng = np.random.default_rng(2)

    def operand(shape, transposed):
        x = rng.standard_normal(shape).astype(np.float32)
        return np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2) if transposed else x

    a, b = operand(a_shape, a_transposed), operand(b_shape, b_transposed)
    seen = []
    matmul = np.matmul

    def spy(x, y, out=None):
        seen.append((x, y))
        return matmul(x, y, out=out)

    monkeypatch.setattr(np, "matmul", spy)
    got = blas._numpy_matmul(a, b)
    monkeypatch.undo()
    ((x, y),) = seen
    assert (x is not a, y is not b) == (copied == "a", copied == "b")
    for given, passed in ((a, x), (b, y)):
        np.testing.assert_array_equal(passed, given)
        if passed is not given:
            assert passed.flags.c_contiguous
    np.testing.assert_array_equal(got, np.matmul(a, b))
