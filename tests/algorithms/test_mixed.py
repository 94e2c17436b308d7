"""tconv._algorithms.mixed: float32 chunk sums added in float64 in register tiles, against float64 products
of the same operands and against the rounding-error bound of that summation order."""

from __future__ import annotations

import numpy as np
import pytest

import tconv
from tconv._algorithms import im2col
from tconv._algorithms import mixed as _mixed
from tconv.grad import conv_transpose_backward

#: The unit roundoff of float32.
U32 = 2.0**-24


def _bound(a: np.ndarray, b: np.ndarray, step: int) -> np.ndarray:
    """The error bound of sums of float32 chunks of ``step`` terms (one rounding per term inside a chunk:
    ``step * u * sum |a b|`` with a margin for the first-order bound) added in float64, then one rounding."""
    exact = a.astype(np.float64) @ b.astype(np.float64)
    magnitude = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64)
    return 1.01 * step * U32 * magnitude + U32 * np.abs(exact) + 1e-300


@pytest.mark.parametrize(
    "m, k, n, step",
    [
        (1008, 300, 70, 64),  # several panels, the last partial; rows a whole number of tiles or not
        (37, 100, 45, 32),  # a last partial tile of rows and a chunk shorter than the others
        (5, 7, 3, 4),  # fewer rows than a tile, fewer columns than a panel
        (13, 64, 33, 64),  # one chunk
        (12, 1, 1, 32),  # one term
    ],
)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
def test_products_within_the_chunked_bound(m, k, n, step, order, out_dtype):
    """``product`` writes every entry, within the rounding bound of its summation order, for operands of
    either memory order and a result of either precision; its operands are left as they were."""
    if not _mixed.applies(np.dtype(np.float32)):
        pytest.fail("the compiled kernels are off: this test needs numba")
    rng = np.random.default_rng(m * 1000 + k)
    a = np.asarray(rng.standard_normal((m, k)), dtype=np.float32, order=order)
    b = np.asarray(rng.standard_normal((k, n)), dtype=np.float32)
    a0, b0 = a.copy(), b.copy()
    out = np.full((m, n), np.nan, dtype=out_dtype)
    _mixed.product(a, _mixed.pack(b), step, out)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    assert not np.isnan(out).any()
    assert np.all(np.abs(out - exact) <= _bound(a, b, step))
    # the full float32 sum's error grows with k; with several chunks, the chunks' is smaller
    if k >= 4 * step:
        assert np.abs(out - exact).sum() < np.abs((a @ b).astype(np.float64) - exact).sum()
    assert np.array_equal(a, a0) and np.array_equal(b, b0)


def test_a_transposed_result_and_strided_operands():
    """A result seen transposed (a channels-first sample's rows) and an operand that is a strided view are
    written and read where they lie."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((50, 2 * 90)).astype(np.float32)
    a = base[:, ::2]  # (50, 90), stride 2 along the terms
    b = rng.standard_normal((90, 40)).astype(np.float32)
    holder = np.full((40 + 3, 50), np.nan, dtype=np.float32)
    out = holder[:40].T  # (50, 40), transposed view
    _mixed.product(a, _mixed.pack(b), 32, out)
    assert np.all(np.abs(out - a.astype(np.float64) @ b.astype(np.float64)) <= _bound(a, b, 32))
    assert np.isnan(holder[40:]).all()  # nothing written past the view


@pytest.mark.parametrize("samples, channels", [(1, 40), (3, 16), (3, 9), (4, 37), (2, 64)])
def test_a_stack_of_transposed_samples_packs_as_its_rows(samples, channels):
    """``pack`` of a stack ``(S, K, N)`` (each sample's rows of a channels-first input, a transposed view)
    gives the panels of its ``(S*K, N)`` rows, zero past ``N``: packed sample by sample, or for one panel's
    columns or one sample through a copy, the same panels."""
    rng = np.random.default_rng(samples * channels)
    x = rng.standard_normal((samples, channels + 5, 70)).astype(np.float32)
    stack = x[:, 2 : 2 + channels, 3:61].transpose(0, 2, 1)  # (S, 58, channels), no axis contiguous but one
    rows = np.ascontiguousarray(stack).reshape(-1, channels)
    panels = _mixed.pack(stack)
    width = _mixed.columns()
    assert panels.shape == (-(-channels // width), samples * 58, width)
    for j in range(panels.shape[0]):
        got = panels[j, :, : min(width, channels - j * width)]
        assert np.array_equal(got, rows[:, j * width : (j + 1) * width])
        assert not panels[j, :, min(width, channels - j * width) :].any()
    assert np.array_equal(panels, _mixed.pack(rows))


@pytest.mark.parametrize(
    "spec",
    [
        dict(n=2, c_in=64, c_out=40, size=(9, 7), kernel_size=4, stride=2, padding=1),
        dict(n=1, c_in=16, c_out=20, size=(6, 5, 4), kernel_size=3, stride=2, padding=1, output_padding=1),
        dict(n=3, c_in=128, c_out=36, size=(17,), kernel_size=5, stride=3, padding=2, groups=2),
    ],
)
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_input_gradients_with_and_without_the_register_tiles(spec, layout, monkeypatch):
    """The input gradients of layers whose columns are tiled channels-last (more than the register tiles'
    output channels of :func:`tconv._algorithms.im2col.register_tiles`, more multiply-adds than a tiny
    problem's) take the register tiles of :mod:`tconv._algorithms.mixed` where the wide tiles that read
    the output gradient in place do not (:func:`tconv._algorithms.im2col.wide_tiles`, off here); both
    ways stay within the chunked bound of the float64 gradient, and the tiles are about as far from it in
    sum as the BLAS chunks."""
    monkeypatch.setattr(im2col, "wide_tiles", lambda *args: False)
    spec = dict(spec)
    n, c_in, c_out, size = spec.pop("n"), spec.pop("c_in"), spec.pop("c_out"), spec.pop("size")
    groups = spec.get("groups", 1)
    k = spec.pop("kernel_size")
    rng = np.random.default_rng(len(size) + c_in)
    x = rng.standard_normal((n, c_in, *size)).astype(np.float32)
    w = (rng.standard_normal((c_in, c_out // groups, *(k,) * len(size))) / 8).astype(np.float32)
    y = tconv.conv_transpose(x, w, **spec)  # channels-first here: the layout is set below
    dy = rng.standard_normal(y.shape).astype(np.float32)
    spec["layout"] = layout
    if layout == "channels_last":
        x, dy = np.moveaxis(x, 1, -1).copy(), np.moveaxis(dy, 1, -1).copy()
    exact = conv_transpose_backward(
        dy.astype(np.float64), x.astype(np.float64), w.astype(np.float64), **spec, needs=("input",)
    ).input
    calls = []
    original = _mixed.product

    def counted(*args):
        calls.append(args[3])
        return original(*args)

    monkeypatch.setattr(_mixed, "product", counted)
    tiles = conv_transpose_backward(dy, x, w, **spec, needs=("input",)).input
    if layout == "channels_last":
        assert calls, "the register tiles did not run"
    monkeypatch.setattr(im2col, "_mixed_step", lambda *args: None)
    blas = conv_transpose_backward(dy, x, w, **spec, needs=("input",)).input
    scale = np.abs(exact).max()
    assert np.abs(tiles - exact).max() <= 1e-5 * scale
    assert np.abs(blas - exact).max() <= 1e-5 * scale
    # each chunk one chain of fused multiply-adds in the tiles; BLAS's kernel may split it into partial sums
    # (MKL on the Xeon with AVX-512: within 1.05x; OpenBLAS on an AMD EPYC without AVX-512: the 3-d layer
    # 1.13x), both far closer than PyTorch's (tests/test_grad.py holds the gradients to that)
    assert np.abs(tiles - exact).sum() <= 1.2 * np.abs(blas - exact).sum() + 1e-6 * scale
