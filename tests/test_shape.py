"""tconv.shape: output sizes, checked by their defining properties rather than by retyping formulas."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tconv
from tconv.geometry import conv_transpose_geometry

PARAMS = list(itertools.product(range(1, 6), range(1, 5), range(1, 4), range(0, 3), range(1, 3)))  # i, k, s, p, d


@pytest.mark.parametrize("i, k, s, p, d", PARAMS)
def test_range_is_every_size_the_convolution_maps_to_i(i, k, s, p, d):
    """Sizes o whose convolution has i outputs: exactly the transposed convolution's valid sizes."""
    valid = tconv.conv_transpose_output_size_range(i, k, s, p, d)
    preimage = set()
    for o in range(1, 60):
        try:
            if tconv.conv_output_size(o, k, s, p, d) == i:
                preimage.add(o)
        except ValueError:  # padded input smaller than the kernel
            pass
    if d <= s:
        assert set(valid) == preimage
    else:  # output_padding < dilation also allowed (PyTorch's rule): a superset
        assert preimage <= set(valid)


@pytest.mark.parametrize("i, k, s, p, d", PARAMS)
def test_output_size_matches_torch_formula_and_inverse(i, k, s, p, d):
    full = (i - 1) * s + d * (k - 1) + 1
    if full - 2 * p < 1:
        with pytest.raises(ValueError, match="leaves no output"):
            tconv.conv_transpose_output_size(i, k, s, p, 0, d)
        return
    assert tconv.conv_transpose_output_size(i, k, s, p, 0, d) == full - 2 * p
    # inverse_output_padding restores the convolution's input size
    for size in range(1, 20):
        try:
            o = tconv.conv_output_size(size, k, s, p, d)
        except ValueError:
            continue
        a = tconv.inverse_output_padding(size, k, s, p, d)
        assert 0 <= a < s
        assert tconv.conv_transpose_output_size(o, k, s, p, a, d) == size


def test_scalar_and_tuple_returns():
    assert tconv.conv_output_size(7, 3) == 5
    assert tconv.conv_output_size((7,), 3) == (5,)
    assert tconv.conv_transpose_output_size_range((4, 5), 3, 2) == (range(9, 11), range(11, 13))


def test_output_size_int_applies_to_every_axis():

    x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3))
    assert tconv.conv_transpose(x, w, stride=2, padding=1, output_size=8).shape == (1, 1, 8, 8)
    assert conv_transpose_geometry((4, 4), 3, 2, 1, output_size=8).output_size == (8, 8)
