"""tconv._algorithms.correlation: the "im2col" algorithm, a stride-1 layer computed as its convolution."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import tconv
from tconv._algorithms import correlation
from tconv._algorithms import gemm as _gemm
from tconv.geometry import conv_transpose_geometry


def _random_stride_1(rng, nd):
    """A random stride-1 call: kernel, dilation, asymmetric (also negative) padding, output padding,
    groups (small ones included), layout, batch (0 included), bias or none."""
    k = tuple(int(v) for v in rng.integers(1, 5, nd))
    d = tuple(int(v) for v in rng.integers(1, 4, nd))
    size = tuple(int(v) for v in rng.integers(1, 7, nd))
    padding = [(int(rng.integers(-2, 5)), int(rng.integers(-2, 5))) for _ in range(nd)]
    groups, cig, cog = int(rng.choice([1, 1, 2, 3])), int(rng.integers(1, 5)), int(rng.integers(1, 6))
    layout = str(rng.choice(["channels_first", "channels_last"]))
    x = rng.standard_normal((int(rng.integers(0, 3)), groups * cig, *size))
    if layout == "channels_last":
        x = np.moveaxis(x, 1, -1)
    w = rng.standard_normal((groups * cig, cog, *k))
    b = rng.standard_normal(groups * cog) if rng.random() < 0.5 else None
    return x, w, b, dict(padding=padding, dilation=d, groups=groups, layout=layout)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex64])
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_stride_1_calls_match_the_scatter_reference(nd, dtype):
    rng = np.random.default_rng(nd)
    checked = 0
    for _ in range(60):
        x, w, b, kwargs = _random_stride_1(rng, nd)
        x, w = x.astype(dtype), w.astype(dtype)
        b = None if b is None else b.astype(dtype)
        try:
            expected = tconv.conv_transpose(x, w, b, algorithm="scatter", **kwargs)
        except ValueError:  # an empty output: both refuse it
            with pytest.raises(ValueError):
                tconv.conv_transpose(x, w, b, algorithm="im2col", **kwargs)
            continue
        x_before = x.copy()
        y = tconv.conv_transpose(x, w, b, algorithm="im2col", **kwargs)
        assert np.array_equal(x, x_before)  # the input is not modified
        assert y.shape == expected.shape and y.dtype == expected.dtype
        assert_close(y, expected, dtype=np.dtype(dtype))
        checked += 1
    assert checked >= 20


def test_the_equivalent_convolution():
    """conv_transpose with stride 1 == conv of its input with the flipped, channel-swapped kernel, padded
    by d*(k-1) - padding (the identity the algorithm is built on), here through tconv.conv itself."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((4, 3, 3, 2))  # (C_in, C_out, k)
    padding, dilation = (1, 0), (2, 1)
    y = tconv.conv_transpose(x, w, padding=padding, dilation=dilation, algorithm="scatter")
    conv_w = np.flip(w, axis=(2, 3)).transpose(1, 0, 2, 3)  # (C_out, C_in, k), flipped
    conv_padding = [d * (k - 1) - p for k, d, p in zip(w.shape[2:], dilation, padding)]
    assert_close(tconv.conv(x, conv_w, padding=conv_padding, dilation=dilation), y)
    g = correlation.equivalent_geometry(conv_transpose_geometry((7, 6), (3, 2), padding=padding, dilation=dilation))
    assert g.crop_begin == tuple(conv_padding) and g.input_size == y.shape[2:] and g.output_size == (7, 6)


def test_strided_layers_run_gemm():
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((3, 4, 4, 4))
    y = tconv.conv_transpose(x, w, stride=2, padding=1, algorithm="im2col")
    assert np.array_equal(y, tconv.conv_transpose(x, w, stride=2, padding=1, algorithm="gemm"))


def test_non_finite_weights_run_gemm():
    """The columns hold zeros outside the input, and 0 * inf = nan: a non-finite weight is left to gemm,
    which multiplies input elements only."""
    x = np.ones((1, 1, 3))
    w = np.array([[[1.0, np.inf, 2.0]]])
    y = tconv.conv_transpose(x, w, padding=1, algorithm="im2col")
    expected = tconv.conv_transpose(x, w, padding=1, algorithm="scatter")
    assert np.array_equal(np.isnan(y), np.isnan(expected)) and np.array_equal(np.isinf(y), np.isinf(expected))


def test_a_sample_over_the_budget_runs_gemm(monkeypatch):
    """A sample whose convolution does not fit the memory budget whole is computed by gemm (in tiles)."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 8, 64, 64)).astype(np.float32), rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    expected = tconv.conv_transpose(x, w, padding=1, algorithm="gemm")
    calls = []
    monkeypatch.setattr(_gemm, "run", lambda *args: calls.append(1) or expected)
    with tconv.options(memory_budget=2**18):
        assert np.array_equal(tconv.conv_transpose(x, w, padding=1, algorithm="im2col"), expected)
    assert calls == [1]
    assert np.allclose(tconv.conv_transpose(x, w, padding=1, algorithm="im2col"), expected, atol=1e-4)
    assert calls == [1]  # within the default budget the convolution runs


def test_a_prepared_call_packs_once_and_sees_new_weights():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 4, 6, 6)), rng.standard_normal((4, 8, 3, 3))
    plan = tconv.prepare(w, padding=1, algorithm="im2col")
    expected = tconv.conv_transpose(x, w, padding=1, algorithm="scatter")
    assert_close(plan(x), expected)
    assert_close(plan(x), expected)  # the packed weight is reused
    w2 = w * 2
    assert_close(tconv.prepare(w2, padding=1, algorithm="im2col")(x), 2 * expected)


def test_auto_takes_it_where_the_columns_are_smaller():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 3, 20, 20)).astype(np.float32), rng.standard_normal((3, 64, 7, 7)).astype(np.float32)
    from tconv._algorithms import choose

    geometry = conv_transpose_geometry((20, 20), 7, padding=3)
    # (in float32 such a layer of few channels runs in register tiles: tests/algorithms/test_registers.py)
    assert choose(geometry, 1, 1, 3, 64, dtype=np.float64) == "im2col"
    assert choose(geometry, 1, 1, 3, 64) == "registers"
    assert choose(geometry, 1, 1, 64, 3, dtype=np.float64) == "gemm"
    assert_close(
        tconv.conv_transpose(x, w, padding=3),
        tconv.conv_transpose(x, w, padding=3, algorithm="scatter"),
        dtype=np.float32,
    )
