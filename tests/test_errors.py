"""Every bad input gets a ValueError/TypeError naming the parameter and the value."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tconv

X = np.ones((2, 4, 5, 5))
W = np.ones((4, 3, 3, 3))  # C_in=4, C_out/groups=3

BAD_CONV_TRANSPOSE = [
    # (kwargs, exception, message pattern)
    (dict(stride=0), ValueError, "stride must be positive in every axis, got 0"),
    (dict(stride=(2, -1)), ValueError, r"stride must be positive in every axis, got \(2, -1\)"),
    (dict(dilation=(1, 0)), ValueError, r"dilation must be positive in every axis, got \(1, 0\)"),
    (dict(padding=-1), ValueError, r"padding must be non-negative, got -1; use \(begin, end\) pairs"),
    (dict(padding=(1, -1)), ValueError, r"padding must be non-negative where it is a single int"),
    (
        dict(stride=2, output_padding=2),
        ValueError,
        r"output_padding must be smaller than stride or dilation in every axis, got output_padding=\(2, 2\), "
        r"stride=\(2, 2\), dilation=\(1, 1\)",
    ),
    (dict(output_padding=-1), ValueError, "output_padding must be non-negative in every axis, got -1"),
    (dict(padding=4), ValueError, r"padding=4 leaves no output: the full output has size \(7, 7\)"),
    (dict(padding=((0, 7), (0, 0))), ValueError, "leaves no output"),
    (dict(stride=(1, 2, 3)), ValueError, r"stride must have one entry per spatial axis \(2\), got 3 entries"),
    (dict(padding=(1, 2, 3)), ValueError, r"padding must have one entry per spatial axis \(2\), got 3 entries"),
    (dict(dilation=(1,)), ValueError, r"dilation must have one entry per spatial axis \(2\), got 1 entries"),
    (dict(stride=1.5), TypeError, "stride must be an int or a sequence of 2 ints, got 1.5"),
    (dict(stride=(1, 2.0)), TypeError, r"stride must be an int or a sequence of 2 ints, got \(1, 2.0\)"),
    (dict(stride=True), TypeError, "stride must be an int or a sequence of 2 ints, got True"),
    (dict(padding=1.0), TypeError, "padding must be an int, a sequence of ints or"),
    (dict(padding=((1, 2.5), 0)), TypeError, "padding entries must be ints or"),
    (dict(output_size=(7.5, 7)), TypeError, "output_size must be an int or a sequence of 2 ints"),
    (dict(groups=3), ValueError, r"groups=3 must divide weight.shape\[0\]=4"),
    (dict(groups=0), ValueError, "groups must be a positive integer, got 0"),
    (dict(groups=2.0), TypeError, "groups must be an int, got 2.0"),
    (dict(layout="NHWC"), ValueError, r"layout must be one of \('channels_first', 'channels_last'\), got 'NHWC'"),
    (dict(algorithm="fft"), ValueError, r"algorithm 'fft' not found, valid options are \{'auto', 'scatter'"),
    (dict(padding="SAME"), ValueError, r"one of 'same', 'valid'; got 'SAME'"),
    (dict(padding="full"), ValueError, r"one of 'same', 'valid'; got 'full'"),
    (
        dict(output_size=(9, 7)),
        ValueError,
        r"requested an output size of \(9, 7\), but valid sizes range from \(7, 7\) to \(7, 7\)",
    ),
    (dict(stride=2, output_size=(13, 11)), ValueError, r"valid sizes range from \(11, 11\) to \(12, 12\)"),
    (
        dict(stride=2, padding="same", output_size=(11, 8)),
        ValueError,
        r"output_size=\(11, 8\) is out of range for padding='same': valid sizes range from \(9, 9\) to \(10, 10\)",
    ),
    (dict(stride=2, padding="same", output_padding=1), ValueError, "output_padding must be 0 with padding='same'"),
    (
        dict(stride=2, output_padding=1, output_size=(12, 12)),
        ValueError,
        "give output_padding or output_size, not both",
    ),
    (dict(output_size=(1, 2, 3)), ValueError, r"output_size must have 2 entries \(the spatial size\) or 4"),
    (dict(output_size=(2, 5, 7, 7)), ValueError, r"batch/channel entries \(2, 5\) differ from the output's \(2, 3\)"),
    (dict(output_size=(0, 7)), ValueError, r"output_size must be positive in every axis, got \(0, 7\)"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_CONV_TRANSPOSE, ids=[str(k) for k, _, _ in BAD_CONV_TRANSPOSE])
def test_conv_transpose_rejects(kwargs, error, match):
    with pytest.raises(error, match=match):
        tconv.conv_transpose(X, W, **kwargs)


BAD_ARRAYS = [
    (
        dict(input=np.ones((2, 3, 5, 5))),
        ValueError,
        r"input of shape \(2, 3, 5, 5\) \(channels_first\) has 3 channels, but weight of shape \(4, 3, 3, 3\) "
        r"with groups=1 expects 4",
    ),
    (dict(input=np.ones((2, 5, 5, 4)), layout="channels_first"), ValueError, "has 5 channels"),
    (
        dict(input=np.ones((4, 5))),
        ValueError,
        r"expected input of shape \(N, C, \*spatial\) \(or unbatched without N\) with 2 spatial axes",
    ),
    (dict(input=np.ones((1, 2, 4, 5, 5))), ValueError, r"got input of shape \(1, 2, 4, 5, 5\)"),
    (dict(weight=np.ones((4, 3))), ValueError, r"weight must have at least 3 dimensions .* got shape \(4, 3\)"),
    (dict(weight=np.ones((4, 0, 3, 3))), ValueError, r"weight must not have an empty axis, got shape \(4, 0, 3, 3\)"),
    (dict(input=np.ones((2, 4, 0, 5))), ValueError, r"input spatial size must be positive, got \(0, 5\)"),
    (
        dict(bias=np.ones(4)),
        ValueError,
        r"bias must have shape \(3,\) \(one value per output channel\), got shape \(4,\)",
    ),
    (dict(bias=np.ones((3, 1))), ValueError, r"bias must have shape \(3,\)"),
    (dict(input=np.array([["a"]])), TypeError, "input must be a numeric array .* got dtype <U1"),
    (dict(input=np.empty((2, 4, 5, 5), dtype=object)), TypeError, "input must be a numeric array .* got dtype object"),
    (
        dict(weight=np.empty((4, 3, 3, 3), dtype=object)),
        TypeError,
        "weight must be a numeric array .* got dtype object",
    ),
    (dict(bias=np.array(["a", "b", "c"])), TypeError, "bias must be a numeric array .* got dtype <U1"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_ARRAYS, ids=[str(i) for i in range(len(BAD_ARRAYS))])
def test_conv_transpose_rejects_arrays(kwargs, error, match):
    args = dict(input=X, weight=W)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        tconv.conv_transpose(**args)


def test_pair_padding_in_1d_is_a_nested_pair():
    with pytest.raises(ValueError, match=re.escape("written as a nested pair: ((1, 2),)")):
        tconv.conv_transpose(np.ones((1, 1, 4)), np.ones((1, 1, 3)), padding=(1, 2))


BAD_CONV = [
    (dict(stride=0), ValueError, "stride must be positive"),
    (dict(padding=-2), ValueError, "padding must be non-negative"),
    (dict(padding=((0, 0), (-3, -3))), ValueError, r"the padded input is smaller than the dilated kernel"),
    (dict(dilation=3), ValueError, r"padded input is smaller than the dilated kernel: input size \(5, 5\)"),
    (dict(groups=2, weight=np.ones((3, 2, 3, 3))), ValueError, r"groups=2 must divide weight.shape\[0\]=3"),
    (dict(weight=np.ones((6, 3, 3, 3))), ValueError, "expects 3"),
    (dict(padding="half"), ValueError, "'same', 'valid'; got 'half'"),
    (dict(bias=np.ones(3)), ValueError, r"bias must have shape \(6,\)"),
    (dict(algorithm="scatter"), ValueError, r"algorithm 'scatter' not found, valid options are \{'auto', 'direct'"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_CONV, ids=[str(i) for i in range(len(BAD_CONV))])
def test_conv_rejects(kwargs, error, match):
    args = dict(input=X, weight=np.ones((6, 4, 3, 3)))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        tconv.conv(**args)


def test_shape_functions_reject():
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        tconv.conv_transpose_output_size(4, 0)
    with pytest.raises(TypeError, match="input_size must be an int or a sequence"):
        tconv.conv_output_size("4", 3)
    with pytest.raises(ValueError, match="pass output_size=8"):
        tconv.inverse_output_padding(8, 3, stride=2, padding="same")


def test_matrix_functions_reject():
    with pytest.raises(ValueError, match=r"groups must be a positive divisor of weight.shape\[0\]=4, got 3"):
        tconv.conv_matrix(W, (5, 5), groups=3)
    with pytest.raises(TypeError, match="weight must be a numeric array"):
        tconv.conv_matrix(np.array([["x"]]), 3)
