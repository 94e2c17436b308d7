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
