"""tconv.init: each initialiser is checked for exactly what its docstring guarantees.

Oracles: PyTorch (its default initialisation's bounds, torch.nn.init, F.interpolate),
SciPy (a Kolmogorov-Smirnov test of the distribution), Caffe's BilinearFiller
loop ported line by line, np.interp and np.repeat.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from helpers import assert_close, oracle

import tconv
from tconv import init

# ------------------------------------------------------------------------------------------- PyTorch's default

SHAPES = [(3, 8, 4, 4), (16, 2, 5), (2, 3, 2, 3, 4), (64, 1, 3, 3)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fan_in_is_torchs(shape):
    torch = oracle("torch")
    fan, _ = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.fan_in(shape) == fan


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_torch_default_has_the_distribution_of_torchs_module(ndim, groups):
    """Same bounds as a real torch.nn.ConvTranspose*d (its weights reach, never pass, ours) and uniform in them."""
    torch = oracle("torch")
    stats = oracle("scipy").stats
    c_in, c_out, k = 8 * groups, 6 * groups, (3,) * ndim
    module = getattr(torch.nn, f"ConvTranspose{ndim}d")(c_in, c_out, k, groups=groups)
    shape = tuple(module.weight.shape)
    bound = 1 / math.sqrt(init.fan_in(shape))
    w, b = init.torch_default(shape, groups=groups, rng=0)
    assert w.shape == shape and b.shape == tuple(module.bias.shape) and w.dtype == b.dtype == np.float32
    for ours, theirs in ((w, module.weight), (b, module.bias)):
        theirs = theirs.detach().numpy()
        assert np.abs(theirs).max() <= bound * (1 + 1e-6)
        assert np.abs(ours).max() <= bound * (1 + 1e-6)
    big = init.torch_default((64, 32, 3, 3), rng=1)[0]  # 18432 samples: the bound is reached
    assert np.abs(big).max() > 0.999 / math.sqrt(32 * 9)
    assert stats.kstest(w.ravel(), stats.uniform(-bound, 2 * bound).cdf).pvalue > 1e-3
    assert init.torch_default(shape, bias=False, groups=groups, rng=0)[1] is None


def test_kaiming_uniform_bound_is_torchs():
    torch = oracle("torch")
    for a in (0.0, math.sqrt(5), 0.2):
        t = torch.empty(200, 50, 3)
        torch.manual_seed(0)
        torch.nn.init.kaiming_uniform_(t, a=a)
        ours = init.kaiming_uniform((200, 50, 3), a=a, rng=0)
        # both fill [-bound, bound] uniformly: their extremes agree to the sampling resolution
        assert abs(np.abs(ours).max() - t.abs().max().item()) < 1e-3 * t.abs().max().item()


def test_rng_makes_results_reproducible():
    a = init.torch_default((3, 4, 2), rng=np.random.default_rng(5))
    b = init.torch_default((3, 4, 2), rng=np.random.default_rng(5))
    assert_close(a[0], b[0])
    assert_close(a[1], b[1])
    assert init.torch_default((3, 4, 2), rng=1, dtype=np.float64)[0].dtype == np.float64


# ------------------------------------------------------------------------------------------------- bilinear


def caffe_bilinear_filler(k):
    """Caffe's BilinearFiller::Fill (include/caffe/filler.hpp), ported line by line for one k x k filter."""
    f = math.ceil(k / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    data = np.zeros(k * k)
    for i in range(k * k):
        x = i % k
        y = (i // k) % k
        data[i] = (1 - abs(x / f - c)) * (1 - abs(y / f - c))
    return data.reshape(k, k)


@pytest.mark.parametrize("f", [1, 2, 3, 4, 5, 8])
def test_bilinear_is_caffes_filler(f):
    k = 2 * f - f % 2  # the kernel sizes Caffe's filler is made for
    w = init.bilinear((3, 1, k, k), groups=3, dtype=np.float64)  # Caffe: group = C, stride from the kernel
    for c in range(3):
        assert_close(w[c, 0], caffe_bilinear_filler(k))


@pytest.mark.parametrize("k, s", [(3, 2), (6, 2), (5, 2), (2, 1), (7, 3), (9, 4)])
def test_bilinear_phases_sum_to_one_for_any_kernel(k, s):
    """Centred triangles: each output phase's taps sum to 1 whenever the kernel covers the triangle."""
    w = init.bilinear((1, 1, k), s, dtype=np.float64)[0, 0]
    sums = [w[r::s].sum() for r in range(s)]
    assert_close(np.array(sums), np.ones(s))


def interpolate_reference(x, factor):
    """Linear interpolation at half-pixel centres with np.interp, one axis at a time (edges clamped)."""
    for axis in range(2, x.ndim):
        i = x.shape[axis]
        pos = (np.arange(i * factor) + 0.5) / factor - 0.5
        x = np.apply_along_axis(lambda v, pos=pos, i=i: np.interp(pos, np.arange(i), v), axis, x)
    return x


def interior(y, factor, size):
    """Outputs whose taps all fall inside the input: [factor, (i - 1)*factor) per axis."""
    return y[(Ellipsis, *(slice(factor, (i - 1) * factor) for i in size))]


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("groups", ["depthwise", "diagonal"])
def test_bilinear_interpolates_in_the_interior(ndim, factor, groups):
    torch = oracle("torch")
    c = 3
    size = (6, 5, 4)[:ndim]
    x = np.random.default_rng(factor).standard_normal((2, c, *size))
    p = init.bilinear_parameters(factor)
    g = c if groups == "depthwise" else 1
    w = init.bilinear((c, c // g, *(p["kernel_size"],) * ndim), stride=factor, groups=g, dtype=np.float64)
    for padding in (p["padding"], "same"):
        y = tconv.conv_transpose(x, w, None, p["stride"], padding, groups=g)
        assert y.shape[2:] == tuple(i * factor for i in size)
        mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[ndim]
        expected = torch.nn.functional.interpolate(
            torch.from_numpy(x), scale_factor=factor, mode=mode, align_corners=False
        ).numpy()
        assert_close(interior(y, factor, size), interior(expected, factor, size))
        assert_close(interior(y, factor, size), interior(interpolate_reference(x, factor), factor, size))


def test_bilinear_reproduces_constants_and_pulls_the_border_down():
    p = init.bilinear_parameters(2)
    w = init.bilinear((1, 1, 4, 4), stride=2, dtype=np.float64)
    y = tconv.conv_transpose(np.ones((1, 1, 5, 5)), w, None, p["stride"], p["padding"])[0, 0]
    assert_close(y[1:-1, 1:-1], np.ones((8, 8)))
    assert y[0, 0] < 1  # the zeros outside the input: the guarantee is for the interior only


def test_bilinear_channel_map():
    """Output channel co of each group copies input channel co mod C_in/groups (identity for C_in == C_out)."""
    x = np.random.default_rng(0).standard_normal((1, 2, 5))
    up = tconv.conv_transpose(x, init.bilinear((2, 2, 4), 2, dtype=np.float64), None, 2, 1)
    per_channel = [
        tconv.conv_transpose(x[:, c : c + 1], init.bilinear((1, 1, 4), 2, dtype=np.float64), None, 2, 1)
        for c in range(2)
    ]
    assert_close(up, np.concatenate(per_channel, axis=1))
    # depthwise multiplier: groups=2, C_out/groups = 3 copies of the group's single input channel
    mult = tconv.conv_transpose(x, init.bilinear((2, 3, 4), 2, groups=2, dtype=np.float64), None, 2, 1, groups=2)
    assert_close(mult, np.concatenate([per_channel[0]] * 3 + [per_channel[1]] * 3, axis=1))
    # more inputs than outputs per group: output co reads input co only
    few = tconv.conv_transpose(x, init.bilinear((2, 1, 4), 2, dtype=np.float64), None, 2, 1)
    assert_close(few, per_channel[0])


def test_bilinear_parameters_are_caffes_recipe():
    for f in range(1, 9):
        p = init.bilinear_parameters(f)
        assert p == {"kernel_size": 2 * f - f % 2, "stride": f, "padding": math.ceil((f - 1) / 2)}
        assert tconv.conv_transpose_output_size(7, **p) == 7 * f


# -------------------------------------------------------------------------------------------------- nearest


@pytest.mark.parametrize(
    "k, s, padding", [(2, 2, 0), (4, 2, 1), (3, 3, 0), (5, 3, 1), (4, 2, "same"), (6, 3, ((2, 1),)), (4, 3, "valid")]
)
def test_nearest_repeats(k, s, padding):
    x = np.random.default_rng(k).standard_normal((2, 3, 5))
    w = init.nearest((3, 3, k), s, padding, dtype=np.float64)
    y = tconv.conv_transpose(x, w, None, s, padding)
    repeated = np.repeat(x, s, axis=-1)
    n = min(y.shape[-1], repeated.shape[-1])
    assert_close(y[..., :n], repeated[..., :n])
    assert np.all(y[..., n:] == 0)  # past the last input element ("valid" with k > s): nothing to copy


def test_nearest_nd_grouped():
    x = np.random.default_rng(0).standard_normal((1, 4, 3, 2, 2))
    w = init.nearest((4, 1, 4, 2, 3), (2, 2, 3), (1, 0, 0), groups=4, dtype=np.float64)
    y = tconv.conv_transpose(x, w, None, (2, 2, 3), (1, 0, 0), groups=4)
    expected = np.repeat(np.repeat(np.repeat(x, 2, axis=2), 2, axis=3), 3, axis=4)
    assert_close(y, expected)


def test_nearest_needs_one_tap_per_output():
    with pytest.raises(
        ValueError,
        match=r"taps \[crop_begin, crop_begin \+ stride\) must lie inside the kernel; "
        r"got kernel_size=\(3,\) \(shape\[2:\]\), stride=\(2,\), crop_begin=\(2,\)",
    ):
        init.nearest((1, 1, 3), 2, padding=2)


# ----------------------------------------------------------------------------------------------------- ICNR


@pytest.mark.parametrize("padding", [0, 1, 2, "same", ((3, -1), (1, 0))])
def test_icnr_is_convolution_then_nearest_resize(padding):
    """y[o] == u[(o + b) // s] with u the stride-1 layer of the sub-kernel: conv, then NN resize."""
    s = (2, 3)
    w = init.icnr((3, 2, 4, 6), s, rng=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 3))
    y = tconv.conv_transpose(x, w, None, s, padding)
    g = tconv.geometry.conv_transpose_geometry(x.shape[2:], (4, 6), s, padding)
    sub = w[:, :, ::2, ::3]  # v: one tap of each repeated block
    u = tconv.conv_transpose(x, sub)  # (2, 2, 5, 4): stride 1, full output
    u = np.pad(u, ((0, 0), (0, 0), (0, 4), (0, 4)))  # zeros past the full output (negative end crops)
    index = [(np.arange(o) + b) // ss for o, b, ss in zip(g.output_size, g.crop_begin, s)]
    expected = u[:, :, index[0][:, None], index[1][None, :]]
    assert_close(y, expected)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_icnr_constant_input_gives_constant_output(ndim):
    s = (2, 3, 2)[:ndim]
    k = (4, 3, 2)[:ndim]
    w = init.icnr((2, 4, *k), s, groups=2, rng=3)
    y = tconv.conv_transpose(np.ones((1, 2, *(6,) * ndim), np.float32), w, None, s, "same", groups=2)
    inner = y[(slice(None), slice(None), *(slice(kk, -kk) for kk in k))]
    for c in range(4):
        assert_close(inner[0, c], np.full(inner.shape[2:], inner[(0, c, *(0,) * ndim)]), dtype=np.float32)
    # a random (torch default) kernel does not: the checkerboard that ICNR avoids
    r, _ = init.torch_default((2, 4, *k), groups=2, rng=3)
    yr = tconv.conv_transpose(np.ones((1, 2, *(6,) * ndim), np.float32), r, None, s, "same", groups=2)
    inner_r = yr[(slice(None), slice(None), *(slice(kk, -kk) for kk in k))]
    assert np.ptp(inner_r[0, 0]) > 1e-3


def test_icnr_sub_kernel_and_initializer():
    w = init.icnr((4, 8, 4, 4), 2, rng=0)
    bound = 1 / math.sqrt(8 * 2 * 2)  # torch's default for the (4, 8, 2, 2) sub-kernel
    assert np.abs(w).max() <= bound
    for dy, dx in itertools.product(range(2), range(2)):
        assert np.array_equal(w[..., dy::2, dx::2], w[..., ::2, ::2])
    ones = init.icnr((1, 1, 6), 3, initializer=lambda shape: np.arange(2.0).reshape(shape))
    assert ones[0, 0].tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match=r"initializer must return an array of shape \(1, 1, 2\), got \(2,\)"):
        init.icnr((1, 1, 6), 3, initializer=lambda shape: np.zeros(2))


ERRORS = [
    (
        lambda: init.icnr((1, 1, 3), 2),
        ValueError,
        r"icnr: kernel_size must be a multiple of stride in every axis .* got kernel_size=\(3,\), stride=\(2,\)",
    ),
    (lambda: init.bilinear((1, 1)), ValueError, r"shape must be a weight shape .* got \(1, 1\)"),
    (lambda: init.bilinear((1, 1, 4.0)), TypeError, "shape must be a weight shape"),
    (lambda: init.bilinear((3, 1, 4), groups=2), ValueError, r"groups must be a positive divisor of shape\[0\]=3"),
    (lambda: init.bilinear((3, 1, 4), stride=0), ValueError, "stride must be positive in every axis, got 0"),
    (lambda: init.nearest((3, 1, 4), (2, 2)), ValueError, r"stride must have one entry per spatial axis \(1\)"),
    (lambda: init.bilinear_parameters(0), ValueError, "factor must be positive"),
    (lambda: init.bilinear((1,) * 1000), ValueError, "shape must have at most 62 spatial axes .* got 998"),
    (lambda: init.icnr((4, 4, 4, 4), 2, initializer=3), TypeError, "initializer must be None or a callable .* got 3"),
]

#: Weights far larger than any machine (MemoryError, or a hang for 2**40 cells in 40 axes, before).
TOO_LARGE = [
    lambda: init.bilinear((1, 1, 10**6, 10**6)),
    lambda: init.bilinear((1, 1) + (2,) * 40),
    lambda: init.kaiming_uniform((10**5, 10**5, 3, 3)),
    lambda: init.torch_default((10**6, 10**6, 3)),
    lambda: init.nearest((1, 1, 2**50), 2**50),
    lambda: init.icnr((10**6, 10**6, 4), 2),
]


@pytest.mark.parametrize("call", TOO_LARGE)
def test_weights_larger_than_the_machine_are_refused(call):
    with pytest.raises(ValueError, match=r"the float32 weight of shape \(.*\) .*more than this machine's memory"):
        call()


def test_weight_size_counts_the_float64_temporaries(monkeypatch):
    """nearest((1, 1, 2**31), 2**31) is 8 GiB of float32, built through float64 arrays (40 GiB in all):
    refused on a 16 GiB machine before anything is allocated."""
    monkeypatch.setattr(tconv._validate, "machine_memory", lambda: 2**34)
    with pytest.raises(ValueError, match=r"nearest: the float32 weight of shape \(1, 1, 2147483648\) .*\(40\.0 GiB\)"):
        init.nearest((1, 1, 2**31), 2**31)


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda dtype: tconv.init.kaiming_uniform((2, 3, 3), dtype=dtype),
        lambda dtype: tconv.init.torch_default((2, 3, 3), dtype=dtype)[0],
        lambda dtype: tconv.init.bilinear((2, 2, 4), 2, groups=2, dtype=dtype),
        lambda dtype: tconv.init.icnr((2, 2, 4), 2, dtype=dtype),
    ],
)
def test_initialisers_refuse_integer_dtypes(call):
    """An integer dtype truncated the draws to zeros."""
    with pytest.raises(ValueError, match="dtype must be a floating-point dtype"):
        call(np.int32)
    assert call(np.float64).dtype == np.float64
