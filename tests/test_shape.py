"""tconv.shape: output sizes and their inverses, checked by their defining properties, not by retyped formulas."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tconv
from tconv.geometry import conv_transpose_geometry
from tconv.shape import conv_input_size_range, conv_transpose_inverse

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


def test_shape_functions_reject():
    with pytest.raises(ValueError, match="kernel_size must be positive"):
        tconv.conv_transpose_output_size(4, 0)
    with pytest.raises(TypeError, match="input_size must be an int or a sequence"):
        tconv.conv_output_size("4", 3)
    with pytest.raises(ValueError, match="pass output_size=8"):
        tconv.inverse_output_padding(8, 3, stride=2, padding="same")


# --- conv_input_size_range and conv_transpose_inverse (the design inverses) ---------------------

INVERSE_PARAMS = list(itertools.product(range(1, 5), range(1, 4), range(0, 3), range(1, 3)))  # k, s, p, d


@pytest.mark.parametrize("k, s, p, d", INVERSE_PARAMS)
def test_conv_input_size_range_is_the_preimage(k, s, p, d):
    """Exactly the input sizes whose convolution has n outputs (brute force over sizes)."""
    for n in range(1, 6):
        preimage = set()
        for size in range(1, 40):
            try:
                if tconv.conv_output_size(size, k, s, p, d) == n:
                    preimage.add(size)
            except ValueError:
                pass
        assert set(conv_input_size_range(n, k, s, p, d)) == preimage
        same = {size for size in range(1, 40) if tconv.conv_output_size(size, k, s, "same", d) == n}
        assert set(conv_input_size_range(n, k, s, "same", d)) == same


@pytest.mark.parametrize("k, s, p, d", INVERSE_PARAMS)
def test_conv_transpose_inverse_restores_the_shape_and_is_the_adjoint(k, s, p, d):
    rng = np.random.default_rng(0)
    for size in range(1, 12):
        for padding in (p, "same"):
            try:
                y_size = tconv.conv_output_size(size, k, s, padding, d)
            except ValueError:
                continue
            inverse = conv_transpose_inverse(size, k, s, padding, d)
            kwargs = {key: inverse[key] for key in ("stride", "padding", "output_padding", "dilation")}
            if "output_size" in inverse:
                kwargs = dict(kwargs, output_padding=0, output_size=inverse["output_size"])
            x = rng.standard_normal((1, 2, size))
            w = rng.standard_normal((3, 2, k))
            y = rng.standard_normal((1, 3, y_size))
            back = tconv.conv_transpose(y, w, **kwargs)
            assert back.shape == x.shape
            # <conv(x), y> == <x, conv_transpose(y)>: the inverse-shaped transpose is the adjoint
            assert np.isclose(np.vdot(tconv.conv(x, w, stride=s, padding=padding, dilation=d), y), np.vdot(x, back))


def test_conv_transpose_inverse_matches_pytorch(torch):
    """PyTorch: conv2d then conv_transpose2d with the inverse's output_padding gives the input shape back."""
    for size, k, s, p in [((9, 10), 3, 2, 1), ((7, 8), 4, 3, 1), ((16, 15), 5, 2, 2)]:
        inverse = conv_transpose_inverse(size, k, s, p)
        x = torch.zeros(1, 1, *size)
        w = torch.zeros(1, 1, k, k)
        y = torch.nn.functional.conv2d(x, w, stride=s, padding=p)
        back = torch.nn.functional.conv_transpose2d(y, w, stride=s, padding=p, output_padding=inverse["output_padding"])
        assert tuple(back.shape[2:]) == size
