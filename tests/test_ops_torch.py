"""tconv.conv_transpose and tconv.conv (tconv/ops.py) against PyTorch on the case table.

Every algorithm of each operator, both layouts, float32 and float64; PyTorch's positional order,
unbatched inputs and module ``forward(output_size=...)``; the forward convolution's
``padding='same'/'valid'`` and the padding forms PyTorch cannot express (its output cut or padded).
"""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, from_layout, to_layout, torch_conv, torch_conv_transpose

import tconv

ALGORITHMS = tconv.algorithms()
LAYOUTS = ("channels_first", "channels_last")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("algorithm", ("auto", *ALGORITHMS))
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_torch(case, algorithm, layout, dtype):
    x, w, b = case.arrays(dtype)
    expected = torch_conv_transpose(x, w, b, case.stride, case.padding, case.output_padding, case.groups, case.dilation)
    y = tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), layout=layout, algorithm=algorithm)
    assert_close(from_layout(y, layout), expected, dtype=dtype)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_positional_order_matches_torch(case):
    """Same positional order as torch: (input, weight, bias, stride, padding, output_padding, groups, dilation)."""
    x, w, b = case.arrays()
    args = (case.stride, case.padding, case.output_padding, case.groups, case.dilation)
    assert_close(tconv.conv_transpose(x, w, b, *args), torch_conv_transpose(x, w, b, *args))


@pytest.mark.parametrize("case", CASES[::3], ids=CASE_IDS[::3])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_unbatched_matches_torch(case, layout):
    x, w, b = case.arrays()
    expected = torch_conv_transpose(
        x[:1], w, b, case.stride, case.padding, case.output_padding, case.groups, case.dilation
    )[0]
    y = tconv.conv_transpose(to_layout(x[:1], layout)[0], w, b, **case.kwargs(), layout=layout)
    expected_layout = expected if layout == "channels_first" else np.moveaxis(expected, 0, -1)
    assert_close(y, expected_layout)


def _torch_module_output_size(case, x, w, b, output_size):
    """PyTorch's module forward(output_size=...) with the case's weights."""
    import helpers

    torch = helpers.oracle("torch")
    cls = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}[case.ndim]
    m = cls(
        case.c_in, case.c_out, case.kernel, case.stride, case.padding, 0, case.groups, case.bias, case.dilation
    ).double()
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(w))
        if b is not None:
            m.bias.copy_(torch.from_numpy(b))
        return m(torch.from_numpy(x), output_size=list(output_size)).numpy()


@pytest.mark.parametrize("case", [c for c in CASES if c.stride != 1], ids=[c.id for c in CASES if c.stride != 1])
def test_output_size_matches_torch_module(case):
    """output_size resolves the stride ambiguity exactly as torch's module forward(output_size=...)."""
    x, w, b = case.arrays()
    kw = case.kwargs()
    kw.pop("output_padding")
    stride = (case.stride,) * case.ndim if isinstance(case.stride, int) else case.stride
    valid = tconv.conv_transpose_output_size_range(case.size, case.kernel, case.stride, case.padding, case.dilation)
    for extra in range(max(stride)):
        size = tuple(min(r.start + extra, r.start + s - 1) for r, s in zip(valid, stride))
        expected = _torch_module_output_size(case, x, w, b, size)
        assert_close(tconv.conv_transpose(x, w, b, **kw, output_size=size), expected)
        full_shape = (case.n, case.c_out, *size)
        assert_close(tconv.conv_transpose(x, w, b, **kw, output_size=full_shape), expected)


# The forward convolution against PyTorch's conv{1,2,3}d, including padding='same'/'valid'.


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
@pytest.mark.parametrize("layout", LAYOUTS)
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
