"""The forward convolution against PyTorch's conv{1,2,3}d, including padding='same'/'valid'."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, from_layout, to_layout, torch_conv

import tconv


def conv_arrays(case, dtype=np.float64):
    """The case read as a convolution: weight (C_out, C_in/g, *k) is the same array."""
    x_t, w, b_t = case.arrays(dtype)
    rng = np.random.default_rng(1)
    # conv input has weight.shape[1]*groups channels and an output-sized spatial extent
    size = tconv.conv_transpose_output_size(
        case.size, case.kernel, case.stride, case.padding, case.output_padding, case.dilation
    )
    x = rng.standard_normal((case.n, w.shape[1] * case.groups, *size)).astype(dtype)
    b = None if b_t is None else rng.standard_normal(w.shape[0]).astype(dtype)
    return x, w, b


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("algorithm", ("auto", *tconv.algorithms("conv")))
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_conv_matches_torch(case, algorithm, layout, dtype):
    x, w, b = conv_arrays(case, dtype)
    expected = torch_conv(x, w, b, case.stride, case.padding, case.dilation, case.groups)
    y = tconv.conv(
        to_layout(x, layout),
        w,
        b,
        case.stride,
        case.padding,
        case.dilation,
        case.groups,
        layout=layout,
        algorithm=algorithm,
    )
    assert_close(from_layout(y, layout), expected, dtype=dtype)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("case", [c for c in CASES if c.stride == 1], ids=[c.id for c in CASES if c.stride == 1])
def test_conv_padding_strings_match_torch(case, padding):
    x, w, b = conv_arrays(case)
    expected = torch_conv(x, w, b, 1, padding, case.dilation, case.groups)
    for algorithm in tconv.algorithms("conv"):
        assert_close(tconv.conv(x, w, b, 1, padding, case.dilation, case.groups, algorithm=algorithm), expected)


def test_conv_same_with_stride_follows_tensorflow():
    """Strided 'same' (which torch refuses): output ceil(i/s), floor of the total padding first."""
    x = np.random.default_rng(0).standard_normal((1, 2, 7))
    w = np.random.default_rng(1).standard_normal((3, 2, 4))
    total = max((4 - 1) * 2 + 4 - 7, 0)  # TF: (ceil(7/2) - 1)*s + k - i = 3
    expected = torch_conv(np.pad(x, ((0, 0), (0, 0), (total // 2, total - total // 2))), w, None, 2, 0, 1, 1)
    assert_close(tconv.conv(x, w, stride=2, padding="same"), expected)


def test_conv_asymmetric_and_negative_padding():
    x = np.random.default_rng(0).standard_normal((2, 2, 9, 8))
    w = np.random.default_rng(1).standard_normal((3, 2, 3, 2))
    # (begin, end) pairs: pad rows by (2, 0); crop one column at the start, pad one at the end
    padded = np.pad(x, ((0, 0), (0, 0), (2, 0), (0, 1)))[..., 1:]
    expected = torch_conv(padded, w, None, (2, 1), 0, 1, 1)
    assert_close(tconv.conv(x, w, stride=(2, 1), padding=((2, 0), (-1, 1))), expected)
