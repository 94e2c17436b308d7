"""Dtypes, result dtypes, unbatched and empty inputs, array-likes, and inputs never mutated."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, torch_conv_transpose

import tconv

ALGORITHMS = tconv.algorithms()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", CASES[::4], ids=CASE_IDS[::4])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_matches_torch(case, dtype, algorithm):
    x, w, b = case.arrays(dtype)
    expected = torch_conv_transpose(x, w, b, case.stride, case.padding, case.output_padding, case.groups, case.dilation)
    assert_close(tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm=algorithm), expected, dtype=dtype)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", CASES[::4], ids=CASE_IDS[::4])
def test_float16_accumulates_in_float32(case, algorithm):
    x, w, b = case.arrays(np.float16)
    y = tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm=algorithm)
    assert y.dtype == np.float16
    as32 = lambda a: None if a is None else a.astype(np.float32)  # noqa: E731
    in32 = tconv.conv_transpose(as32(x), as32(w), as32(b), **case.kwargs(), algorithm=algorithm)
    # computed in float32 and rounded once at the end: equal to the float32 result rounded
    np.testing.assert_array_equal(y, in32.astype(np.float16))
    expected = torch_conv_transpose(
        *(as32(a) for a in (x, w, b)), case.stride, case.padding, case.output_padding, case.groups, case.dilation
    )
    assert_close(y, expected.astype(np.float16), dtype=np.float16)


@pytest.mark.parametrize(
    "x_dtype, w_dtype, expected",
    [
        (np.float32, np.float32, np.float32),
        (np.float64, np.float32, np.float64),
        (np.float16, np.float16, np.float16),
        (np.float16, np.float32, np.float32),
        (np.complex64, np.float32, np.complex64),
        (np.float32, np.complex128, np.complex128),
        (np.int64, np.int64, np.float64),
        (np.int8, np.int32, np.float64),
        (np.bool_, np.bool_, np.float64),
        (np.int64, np.float32, np.float64),
    ],
)
def test_result_dtype(x_dtype, w_dtype, expected):
    x = np.ones((1, 2, 3, 3), dtype=x_dtype)
    w = np.ones((2, 1, 2, 2), dtype=w_dtype)
    y = tconv.conv_transpose(x, w, stride=2)
    assert y.dtype == expected
    assert tconv.conv(y, w).dtype == expected


def test_integer_inputs_are_exact_in_float64():
    x = np.arange(12).reshape(1, 1, 3, 4)
    w = np.arange(6).reshape(1, 1, 2, 3)
    y = tconv.conv_transpose(x, w, stride=2)
    assert_close(y, tconv.conv_transpose(x.astype(float), w.astype(float), stride=2), dtype=np.float64)


def test_array_likes():
    y = tconv.conv_transpose([[[1, 2]]], [[[1, 1, 1]]], stride=2)
    np.testing.assert_array_equal(y, [[[1.0, 1.0, 3.0, 2.0, 2.0]]])


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("algorithm", ("auto", *ALGORITHMS))
def test_empty_batch(layout, algorithm):
    x = np.ones((0, 3, 4, 5)) if layout == "channels_first" else np.ones((0, 4, 5, 3))
    y = tconv.conv_transpose(x, np.ones((3, 2, 3, 3)), np.ones(2), stride=2, layout=layout, algorithm=algorithm)
    assert y.shape == ((0, 2, 9, 11) if layout == "channels_first" else (0, 9, 11, 2))
    assert tconv.conv(np.ones((0, 2, 9, 11)), np.ones((3, 2, 3, 3))).shape == (0, 3, 7, 9)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("algorithm", ("auto", *ALGORITHMS))
@pytest.mark.parametrize("case", CASES[::5], ids=CASE_IDS[::5])
def test_inputs_are_never_mutated(case, algorithm, layout):
    x, w, b = case.arrays()
    x = x if layout == "channels_first" else np.moveaxis(x, 1, -1)
    copies = [a.copy() for a in (x, w) + ((b,) if b is not None else ())]
    tconv.conv_transpose(x, w, b, **case.kwargs(), layout=layout, algorithm=algorithm)
    tconv.conv(
        tconv.conv_transpose(x, w, b, **case.kwargs(), layout=layout),
        w,
        None,
        case.stride,
        case.padding,
        case.dilation,
        case.groups,
        layout=layout,
    )
    for before, after in zip(copies, (x, w, b)):
        np.testing.assert_array_equal(before, after)


def test_read_only_and_non_contiguous_inputs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 6, 10, 9))[:, ::2, ::2, ::-1]  # (2, 3, 5, 9), strided and reversed
    w = rng.standard_normal((3, 2, 3, 3))
    x.flags.writeable = False
    w.flags.writeable = False
    for algorithm in ALGORITHMS:
        assert_close(
            tconv.conv_transpose(x, w, stride=2, algorithm=algorithm),
            torch_conv_transpose(np.ascontiguousarray(x), w, None, 2, 0, 0, 1, 1),
        )


def test_many_spatial_axes():
    """Four spatial axes: beyond what PyTorch offers; checked through the adjoint and the other algorithms."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 2, 3, 2, 2))
    w = rng.standard_normal((2, 3, 2, 2, 3, 2))
    ys = [
        tconv.conv_transpose(x, w, stride=(2, 1, 2, 3), padding=((0, 1), 1, 0, (1, 0)), algorithm=a) for a in ALGORITHMS
    ]
    for y in ys[1:]:
        assert_close(y, ys[0])
    z = rng.standard_normal(ys[0].shape)
    conv_z = tconv.conv(z, w, stride=(2, 1, 2, 3), padding=((0, 1), 1, 0, (1, 0)))
    assert np.isclose(np.sum(ys[0] * z), np.sum(x * conv_z))
