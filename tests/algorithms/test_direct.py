"""tconv._algorithms.direct: stride-1 layers of one input channel per group, plane by plane on a zero-padded
input (``depthwise_shifts``), against the float64 scatter reference."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import tconv
from tconv._algorithms import choose
from tconv._algorithms import direct as _direct
from tconv._algorithms.problem import Problem
from tconv.geometry import conv_transpose_geometry


def _problem(c_in: int, c_out: int, groups: int, dtype=np.float32, layout="channels_first") -> Problem:
    return Problem(groups, layout, c_in, c_out, np.dtype(dtype), np.zeros(0, dtype), False)


@pytest.mark.parametrize(
    "n, c_in, multiplier, size, kernel, padding, output_padding, dilation",
    [
        (2, 3, 1, (9, 11), (7, 7), 3, 0, 1),  # depthwise 7 x 7, "same" padding
        (1, 4, 1, (6, 5), (3, 5), (0, 2), 0, 1),  # no crop on one axis, half the span on the other
        (3, 2, 3, (8, 7), (5, 3), (1, 2), 0, 1),  # a channel multiplier
        (2, 5, 1, (10, 9), (3, 3), (2, 1), (1, 0), (2, 3)),  # dilation, output padding below it
        (1, 6, 2, (13,), (9,), 4, 0, 1),  # 1-d
        (2, 3, 1, (5, 6, 4), (3, 2, 3), (1, 0, 2), 0, 1),  # 3-d
        (1, 8, 1, (4, 4), (2, 2), 0, 0, 1),  # more taps than four in no pass (the remainder loop alone)
        (2, 4, 1, (20, 18), (3, 3), (3, 4), 0, 1),  # crops beyond the kernel's span
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_stride_1_depthwise_layers_plane_by_plane(
    n, c_in, multiplier, size, kernel, padding, output_padding, dilation, dtype, bias
):
    """``direct`` computes stride-1 layers of one input channel per group on the zero-padded planes, plain
    and prepared, with and without a bias, and matches the float64 scatter reference; the input is left
    as it was and a second call gives the same output."""
    rng = np.random.default_rng(len(size) * 10 + c_in)
    c_out = c_in * multiplier
    x = rng.standard_normal((n, c_in, *size)).astype(dtype)
    w = rng.standard_normal((c_in, multiplier, *kernel)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    kwargs = dict(padding=padding, output_padding=output_padding, dilation=dilation, groups=c_in)
    geometry = conv_transpose_geometry(size, kernel, 1, padding, output_padding, dilation)
    assert _direct.depthwise_shifts(geometry, _problem(c_in, c_out, c_in, dtype))
    expected = tconv.conv_transpose(
        x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64), **kwargs,
        algorithm="scatter",
    )  # fmt: skip
    before = x.copy()
    got = tconv.conv_transpose(x, w, b, **kwargs, algorithm="direct")
    assert_close(got, expected, dtype=dtype)
    np.testing.assert_array_equal(tconv.conv_transpose(x, w, b, **kwargs, algorithm="direct"), got)
    plan = tconv.prepare(w, **kwargs, algorithm="direct")
    assert_close(plan(x, b), expected, dtype=dtype)
    np.testing.assert_array_equal(x, before)


def test_plane_by_plane_only_where_the_padding_stays_small():
    """The zero-padded planes hold at most SHIFT_GROWTH times the input's pixels (a small sample under a
    large or dilated kernel keeps the tap tables: work and memory grow with the data, not the dilation);
    stride 1, one input channel per group, channels-first, more than one tap."""

    def shifts(size, kernel, dilation=1, padding=0, c_in=8, groups=8, layout="channels_first", stride=1):
        geometry = conv_transpose_geometry(size, kernel, stride, padding, 0, dilation)
        return _direct.depthwise_shifts(geometry, _problem(c_in, c_in, groups, layout=layout))

    assert shifts((32, 32), 7, padding=3)
    assert not shifts((4, 4), 7, dilation=50)  # a 604 x 604 padded plane for 4 x 4 inputs
    assert not shifts((4, 4), 7, dilation=50, padding=150)
    assert not shifts((4, 4), 7)  # 16 x 16 for 4 x 4
    assert not shifts((32, 32), 7, padding=3, layout="channels_last")
    assert not shifts((32, 32), 4, stride=2, padding=1)
    assert not shifts((32, 32), 1)
    assert not shifts((32, 32), 3, c_in=16, groups=8)  # two input channels per group


def test_infinite_weights_and_inputs_keep_the_pairs_they_meet():
    """An infinite weight must not meet the padding's zeros (0 * inf): such calls take the tap tables, and
    agree with the reference; an infinite input gives what the reference gives."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 1, 5, 5)).astype(np.float32)
    w[1, 0, 0, 0] = np.inf
    w[2, 0, 4, 2] = np.nan
    x[1, 3, 2, 2] = -np.inf
    kwargs = dict(padding=2, groups=4)
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), **kwargs, algorithm="scatter")
    got = tconv.conv_transpose(x, w, **kwargs, algorithm="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_array_equal(got[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)])
    assert_close(got[finite], expected[finite], dtype=np.float32)
    w = np.abs(w[:, :, ::-1])  # finite again (NaN gone), an infinite input alone
    w[2, 0, 4, 2] = 1.0
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), **kwargs, algorithm="scatter")
    got = tconv.conv_transpose(x, w, **kwargs, algorithm="direct")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    assert_close(got[np.isfinite(expected)], expected[np.isfinite(expected)], dtype=np.float32)


def test_auto_takes_the_planes_over_the_rows_in_2d():
    """``"auto"`` runs ``direct`` (its planes) for a 2-d depthwise stride-1 layer whose rows ``gemm`` would
    take (the rows' exception to rule 3 stays in 1-d)."""
    geometry = conv_transpose_geometry((17, 17), 7, 1, 3)
    assert choose(geometry, groups=16, n=8, c_in=16, c_out=16) == "direct"
    assert choose(conv_transpose_geometry((1000,), 9, 1, 4), groups=128, n=4, c_in=128, c_out=128) == "gemm"


def test_plane_by_plane_under_a_small_memory_budget():
    """With a memory budget smaller than the whole call, the planes run in blocks of samples and give
    the same output."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 8, 20, 20)).astype(np.float32)
    w = rng.standard_normal((8, 1, 7, 7)).astype(np.float32)
    kwargs = dict(padding=3, groups=8)
    whole = tconv.conv_transpose(x, w, **kwargs, algorithm="direct")
    with tconv.options(memory_budget=300_000):
        blocks = tconv.conv_transpose(x, w, **kwargs, algorithm="direct")
    np.testing.assert_array_equal(blocks, whole)
    expected = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), **kwargs, algorithm="scatter")
    assert_close(whole, expected, dtype=np.float32)


def test_3d_one_input_channel_many_outputs_keep_direct():
    """In 3-d, one input channel into ROWS_3D_OUTPUTS or more output channels runs ``direct`` (1.7-6.4x
    ``gemm``'s rows, measured), fewer keep the rows."""
    from tconv._algorithms import ROWS_3D_OUTPUTS

    geometry = conv_transpose_geometry((13, 13, 13), 5, 2, 2)
    assert choose(geometry, groups=1, n=1, c_in=1, c_out=ROWS_3D_OUTPUTS * 2) == "direct"
    assert choose(conv_transpose_geometry((40, 40, 40), 3, 2, 1), groups=1, n=2, c_in=1, c_out=4) == "gemm"


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize(
    "c_in, c_out, groups, size, kernel, stride, dilation",
    [
        (6, 192, 1, (1080,), 32, 2, 3),  # a 1-d layer of few input channels: one row, cut into parts
        (16, 32, 8, (700,), 5, 3, 1),  # 8 small groups: the pass along the groups (direct_minor)
        (4, 64, 1, (1, 300), 4, 2, 1),  # 2-d with one output row per sample... two lead rows, parts too
    ],
)
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_rows_cut_along_the_last_axis(c_in, c_out, groups, size, kernel, stride, dilation, layout, threads):
    """With fewer output rows than threads (one sample of a 1-d layer), ``direct`` cuts each row into parts
    along the last axis (``ROW_PART_OUTPUTS`` outputs or more each), so every thread has work; the parts
    meet exactly: the float64 scatter reference, every layout and thread count."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, c_in, *size))
    w = rng.standard_normal((c_in, c_out // groups, *(kernel,) * len(size))) / 8
    b = rng.standard_normal(c_out)
    kwargs = dict(stride=stride, dilation=dilation, groups=groups)
    expected = tconv.conv_transpose(x, w, b, **kwargs, algorithm="scatter")
    xl = x if layout == "channels_first" else np.moveaxis(x, 1, -1).copy()
    with tconv.options(threads=threads):
        y = tconv.conv_transpose(xl.astype(np.float32), w.astype(np.float32), b.astype(np.float32), **kwargs,
                                 algorithm="direct", layout=layout)  # fmt: skip
    y = y if layout == "channels_first" else np.moveaxis(y, -1, 1)
    assert_close(y, expected, dtype=np.float32)
