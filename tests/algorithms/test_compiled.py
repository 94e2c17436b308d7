"""tconv._algorithms.compiled: the compiled transpose against NumPy's, on every branch it takes."""

from __future__ import annotations

import numpy as np
import pytest

from tconv._algorithms import compiled

# (N, A, B): both sides long (64-row tiles); a short side of 1, 3, 8, 21 and 32 entries, on small
# matrices (whole) and on matrices above compiled.SHORT_MATRIX (blocks of the long side), both ways
SHAPES = [
    (2, 70, 130),
    (3, 1, 1000),
    (16, 3, 4096),
    (16, 4096, 3),
    (2, 3, 200_003),
    (5, 8, 40),
    (2, 8, 9000),
    (2, 9000, 8),
    (2, 21, 270_401),
    (2, 270_401, 21),
    (3, 32, 70_000),
    (3, 70_000, 32),
    (4, 33, 5000),
    (512, 256, 16),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_transpose_matches_numpy(shape, dtype):
    if not compiled.available():  # numba is part of the test dependencies
        pytest.fail("numba is not installed")
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape).astype(dtype)
    before = a.copy()
    out = compiled.transpose(a)
    assert out.shape == (shape[0], shape[2], shape[1]) and out.dtype == a.dtype
    assert np.array_equal(out, a.transpose(0, 2, 1))
    given = np.full_like(out, np.nan)
    assert compiled.transpose(a, out=given) is given
    assert np.array_equal(given, out)
    assert np.array_equal(a, before)


@pytest.mark.parametrize("shape", [(2, 21, 270_401), (3, 70_000, 32), (2, 8, 9000)])
def test_large_matrices_with_a_short_side_run_in_blocks(shape, monkeypatch):
    """Those matrices take the blocked kernel (short side 8-32, larger than SHORT_MATRIX); the result is
    checked above."""
    calls = []
    kernels = compiled.kernels()

    def spy(*args):
        calls.append(args[2])  # the block length
        return kernels["short_transpose_blocked"](*args)

    monkeypatch.setattr(compiled, "kernels", lambda: {**kernels, "short_transpose_blocked": spy})
    a = np.ones(shape, dtype=np.float32)
    compiled.transpose(a)
    assert calls and set(calls) == {compiled.SHORT_BLOCK}
