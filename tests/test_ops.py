"""tconv.conv_transpose and tconv.conv (tconv/ops.py): errors, dtypes, inputs, and the adjoint identity.

Every bad input gets a ValueError/TypeError naming the parameter and the value. Dtypes and
result dtypes, unbatched and empty inputs, array-likes, and inputs never mutated. The adjoint
identity <conv_transpose(y, w), x> == <y, conv(x, w)> on the case table and general padding.
The comparisons with PyTorch are in test_ops_torch.py, the randomized ones in
test_ops_properties.py, ONNX's conformance cases in test_ops_onnx_conformance.py.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, oracle, torch_conv_transpose

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
    (dict(dilation=3), ValueError, r"padded input is smaller than the dilated kernel: input_size \(5, 5\)"),
    (dict(groups=2, weight=np.ones((3, 2, 3, 3))), ValueError, r"groups=2 must divide weight.shape\[0\]=3"),
    (dict(weight=np.ones((6, 3, 3, 3))), ValueError, "expects 3"),
    (dict(padding="half"), ValueError, "'same', 'valid'; got 'half'"),
    (dict(bias=np.ones(3)), ValueError, r"bias must have shape \(6,\)"),
    (dict(input=np.ones((2, 4, 0, 5))), ValueError, r"conv: input spatial size must be positive, got \(0, 5\)"),
    (dict(algorithm="scatter"), ValueError, r"algorithm 'scatter' not found, valid options are \{'auto', 'direct'"),
]


@pytest.mark.parametrize("kwargs, error, match", BAD_CONV, ids=[str(i) for i in range(len(BAD_CONV))])
def test_conv_rejects(kwargs, error, match):
    args = dict(input=X, weight=np.ones((6, 4, 3, 3)))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        tconv.conv(**args)


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


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_non_finite_weights_match_torch(case, algorithm, compiled):
    """inf and NaN weights give inf/NaN exactly where PyTorch's do: no algorithm multiplies a tap by
    an inserted or padding zero (``"dilate"`` gave NaN there, 0*inf), and a real zero input still
    gives PyTorch's NaN."""
    x, w, b = case.arrays()
    w = w.copy()
    flat = w.reshape(-1)
    flat[:: max(1, flat.size // 3)] = [np.inf, -np.inf, np.nan, np.inf][: len(flat[:: max(1, flat.size // 3)])]
    x = x.copy()
    x.reshape(-1)[::7] = 0.0
    _assert_non_finite_like_torch(case, x, w, b, algorithm, compiled)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_non_finite_inputs_and_weights_match_torch(case, algorithm, compiled):
    """inf and NaN in both the input and the weight: inf/NaN exactly where PyTorch's are. (``"phase"``
    and ``"dilate"`` split a non-finite weight into its finite entries and the rest, each with zeros in
    place of the other's, and multiplied an infinite input by those zeros: NaN where the sums are inf.)"""
    x, w, b = case.arrays()
    x, w = x.copy(), w.copy()
    flat = w.reshape(-1)
    flat[:: max(1, flat.size // 2)] = np.inf
    x.reshape(-1)[:: max(1, x.size // 3)] = -np.inf
    x.reshape(-1)[1 :: max(1, x.size // 2)] = np.nan if x.size > 8 else np.inf
    _assert_non_finite_like_torch(case, x, w, b, algorithm, compiled)


def _assert_non_finite_like_torch(case, x, w, b, algorithm, compiled) -> None:
    """tconv's result has NaN and inf exactly where PyTorch's has, and the finite values close to its."""
    expected = torch_conv_transpose(x, w, b, case.stride, case.padding, case.output_padding, case.groups, case.dilation)
    with np.errstate(invalid="ignore"), tconv.options(compiled=compiled):
        y = tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm=algorithm)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(expected))
    np.testing.assert_array_equal(np.where(np.isinf(expected), y, 0), np.where(np.isinf(expected), expected, 0))
    finite = np.isfinite(expected)
    assert_close(np.where(finite, y, 0), np.where(finite, expected, 0))


@pytest.mark.parametrize("dtype", [np.longdouble, np.clongdouble])
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", CASES[::3], ids=CASE_IDS[::3])
def test_long_double_is_computed(case, algorithm, dtype):
    """Long double (which numba cannot compile) is computed by the NumPy paths, in long double,
    by every algorithm, the convolution and the gradients (it was a numba TypingError)."""
    x, w, b = case.arrays(dtype)
    y = tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm=algorithm)
    assert y.dtype == dtype
    expected = tconv.conv_transpose(
        *(None if a is None else a.astype(np.complex128) for a in (x, w, b)), **case.kwargs(), algorithm="scatter"
    )
    np.testing.assert_allclose(y.astype(np.complex128), expected, rtol=1e-12, atol=1e-12)
    g = tconv.conv_transpose_backward(y, x, w, **case.kwargs())
    assert g.input.dtype == g.weight.dtype == dtype
    assert tconv.conv(y, w, **{k: v for k, v in case.kwargs().items() if k != "output_padding"}).dtype == dtype


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


# (kernel, stride, padding, output_padding, dilation) of an input with an empty first spatial axis
EMPTY_INPUT = [
    (3, 2, 0, 0, 1),  # TensorFlow's "degenerate" test: one cell per empty axis
    (3, 2, 1, 1, 1),
    (4, 2, 1, 0, 1),  # the formula gives 0
    (1, 3, 0, 2, 1),
    (1, 3, 0, 0, 1),  # the formula gives -2: an empty output
    (3, 1, "same", 0, 1),
    (2, 2, "valid", 0, 2),
    (3, 2, ((-2, 0), (0, 1)), 0, 1),  # two zeros in front, then the formula's cells
]


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("algorithm", ("auto", *ALGORITHMS))
@pytest.mark.parametrize("k, s, padding, output_padding, d", EMPTY_INPUT, ids=[str(c) for c in EMPTY_INPUT])
def test_empty_spatial_input_gives_the_bias_at_the_formulas_size(k, s, padding, output_padding, d, algorithm, layout):
    """TensorFlow, Keras and JAX: an empty spatial axis gives the output its size formula says (none where it is
    negative), holding the bias. The size is checked by the formula's linearity in the input size, i*s + c: the
    empty axis has the size of a one-cell axis less one stride."""
    kwargs = dict(stride=s, padding=padding, output_padding=output_padding, dilation=d)
    w = np.random.default_rng(0).standard_normal((3, 2, k, k))
    bias = np.array([1.5, -2.0])
    one = tconv.conv_transpose(np.ones((1, 3, 1, 4)), w, bias, **kwargs).shape[2]
    size = 0 if padding == "same" else max(one - s, 0)
    x = np.ones((2, 3, 0, 4)) if layout == "channels_first" else np.ones((2, 0, 4, 3))
    y = tconv.conv_transpose(x, w, bias, **kwargs, layout=layout, algorithm=algorithm)
    full_width = tconv.conv_transpose(np.ones((1, 3, 1, 4)), w, **kwargs).shape[3]
    channels = (2, 2, size, full_width) if layout == "channels_first" else (2, size, full_width, 2)
    assert y.shape == channels
    expected = np.broadcast_to(bias.reshape(-1, 1, 1) if layout == "channels_first" else bias, y.shape)
    np.testing.assert_array_equal(y, expected)
    unbatched = tconv.conv_transpose(x[0], w, bias, **kwargs, layout=layout, algorithm=algorithm)
    np.testing.assert_array_equal(unbatched, expected[0])


@pytest.mark.parametrize("algorithm", ("auto", *ALGORITHMS))
def test_bfloat16_accumulates_in_float32(algorithm):
    """ml_dtypes' bfloat16 (JAX's and PyTorch's training type): a bfloat16 result within one bfloat16 rounding of
    the exact float64 answer, as for float16; its gradients keep the dtype."""
    ml_dtypes = oracle("ml_dtypes")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 4)).astype(ml_dtypes.bfloat16)
    w = rng.standard_normal((3, 4, 3, 3)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal(4).astype(ml_dtypes.bfloat16)
    y = tconv.conv_transpose(x, w, b, stride=2, padding=1, algorithm=algorithm)
    assert y.dtype == ml_dtypes.bfloat16
    exact = torch_conv_transpose(*(a.astype(np.float64) for a in (x, w, b)), 2, 1, 0, 1, 1)
    np.testing.assert_allclose(y.astype(np.float64), exact, rtol=2**-8, atol=2**-8)
    grads = tconv.conv_transpose_backward(y, x, w, stride=2, padding=1)
    assert [g.dtype for g in grads] == [ml_dtypes.bfloat16] * 3
    assert tconv.conv(y, w, stride=2, padding=1).dtype == ml_dtypes.bfloat16
    assert tconv.conv_transpose(x, w.astype(np.float32), stride=2).dtype == np.float32  # ml_dtypes' promotion


def test_bfloat16_is_told_without_importing_ml_dtypes():
    code = (
        "import sys, numpy as np, tconv\n"
        "tconv.conv_transpose(np.ones((1, 1, 3), np.float16), np.ones((1, 1, 2), np.float16))\n"
        "print('ml_dtypes' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_empty_spatial_input_has_gradients():
    """The input gradient is empty, the weight gradient zero (no input meets the output), the bias gradient a sum."""
    w = np.ones((3, 2, 3, 3))
    dy = np.random.default_rng(1).standard_normal((2, 2, 1, 9))
    grads = tconv.conv_transpose_backward(dy, np.ones((2, 3, 0, 4)), w, stride=2)
    assert grads.input.shape == (2, 3, 0, 4)
    np.testing.assert_array_equal(grads.weight, np.zeros_like(w))
    assert_close(grads.bias, dy.sum(axis=(0, 2, 3)))


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


def _adjoint_pair(case, seed=0, dtype=np.float64):
    x_t, w, _ = case.arrays(dtype, seed)
    y = tconv.conv_transpose(x_t, w, None, **case.kwargs())
    rng = np.random.default_rng(seed + 1)
    z = rng.standard_normal(y.shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        z = z + 1j * rng.standard_normal(y.shape)
    return x_t, w, y, z


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_adjoint_identity(case, dtype):
    """conv_transpose with the case's output size is the transpose of conv (bilinear, no conjugate)."""
    x_t, w, y, z = _adjoint_pair(case, dtype=dtype)
    conv_z = tconv.conv(z, w, None, case.stride, case.padding, case.dilation, case.groups)
    # With output_padding >= stride (allowed when dilation > stride) the convolution of the larger
    # output-sized array yields floor(op/stride) extra trailing values, which the transpose never feeds.
    op = np.broadcast_to(case.output_padding, (case.ndim,))
    s = np.broadcast_to(case.stride, (case.ndim,))
    assert conv_z.shape[2:] == tuple(i + o // st for i, o, st in zip(case.size, op, s))
    conv_z = conv_z[(Ellipsis, *(slice(0, i) for i in case.size))]
    lhs = np.sum(y * z)  # <conv_transpose(x_t), z>
    rhs = np.sum(x_t * conv_z)  # <x_t, conv(z)>
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize("padding", ["same", ((2, -1), (0, 3)), ((-1, 0), (1, 1))])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_adjoint_identity_general_padding(padding, stride):
    rng = np.random.default_rng(stride)
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 4))  # conv: 4 -> 6 channels in 2 groups
    y = tconv.conv(x, w, None, stride, padding, 1, 2)
    z = rng.standard_normal(y.shape)
    back = tconv.conv_transpose(z, w, None, stride, padding, 0, 2, 1, output_size=x.shape[2:])
    assert back.shape == x.shape
    assert np.isclose(np.sum(back * x), np.sum(z * y))


@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs, hint",
    [
        ((1, 3, 8, 8), (4, 4, 8, 3), {}, 'a TensorFlow/Keras kernel: tconv.convert_weight(weight, "keras", "torch")'),
        ((1, 8, 8, 3), (4, 4, 8, 3), {"layout": "channels_last"}, 'tconv.convert_weight(weight, "keras", "torch")'),
        ((1, 3, 8, 8), (4, 4, 3, 8), {}, 'a JAX kernel: tconv.convert_weight(weight, "jax", "torch")'),
        ((1, 3, 8, 8), (5, 5, 5, 5), {}, "tconv.convert_weight converts the other frameworks' layouts"),
    ],
)
def test_a_weight_in_another_layout_is_named(x_shape, w_shape, kwargs, hint):
    """'expects 4' alone did not say that tconv takes PyTorch's layout whatever the data layout."""
    with pytest.raises(ValueError) as error:
        tconv.conv_transpose(np.ones(x_shape), np.ones(w_shape), **kwargs)
    message = str(error.value)
    assert "conv_transpose takes weights as (C_in, C_out/groups, *kernel_size), PyTorch's layout" in message
    assert hint in message


def test_a_call_like_an_earlier_one_reads_its_arrays_anew_and_is_checked_again():
    """conv_transpose and conv reuse the checks and the algorithm of an earlier call of the same shapes,
    dtypes, arguments and options (tconv.ops.call_key), never its arrays: new values of the input,
    weight and bias are read on every call, and every other change of an argument is checked in full."""
    from tconv import ops

    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((3, 4, 3, 3)), rng.standard_normal(4)
    kwargs = dict(stride=2, padding=1, output_padding=1)
    for op, weight in ((tconv.conv_transpose, w), (tconv.conv, w.transpose(1, 0, 2, 3).copy())):
        first = op(x, weight, b, **(kwargs if op is tconv.conv_transpose else dict(stride=2, padding=1)))
        kw = kwargs if op is tconv.conv_transpose else dict(stride=2, padding=1)
        assert ops.call_key(op.__name__, (x, weight, b), tuple(kw.values())) is not None
        for _ in range(2):
            x2, w2, b2 = x * 2.0, weight * -3.0, b + 1.0
            expected = op(x2.tolist(), w2.tolist(), b2.tolist(), **kw)  # lists: checked in full every time
            assert_close(op(x2, w2, b2, **kw), expected, dtype=np.float64)
            weight_copy = weight.copy()
            weight[...] = w2  # the same array, new values
            assert_close(op(x2, weight, b2, **kw), expected, dtype=np.float64)
            weight[...] = weight_copy
        assert_close(op(x, weight, b, **kw), first, dtype=np.float64)
        assert_close(op(x[0], weight, b, **kw), first[0], dtype=np.float64)  # unbatched: its own key
        y32 = op(x.astype(np.float32), weight, None, **kw)  # another dtype: its own key and promotion
        assert y32.dtype == np.float64
    # the same shapes with a bad argument are refused as before
    tconv.conv_transpose(x, w, b, stride=2)
    with pytest.raises(TypeError, match="stride"):
        tconv.conv_transpose(x, w, b, stride=True)
    with pytest.raises(ValueError, match="stride"):
        tconv.conv_transpose(x, w, b, stride=0)
    with pytest.raises(TypeError, match="input must be a numeric array"):
        tconv.conv_transpose(x.astype(str), w, b, stride=2)
    with pytest.raises(ValueError, match="bias must have shape"):
        tconv.conv_transpose(x, w, np.ones(5), stride=2)
    assert tconv.conv_transpose(x, w, b, stride=np.int64(2)).shape == (2, 4, 11, 11)  # not a plain int: no key
    # the options are part of the key: a budget too small is obeyed after a call under the default one
    tconv.conv_transpose(x, w, b, stride=2, algorithm="gemm")
    with tconv.options(memory_budget=64), pytest.raises(ValueError, match="memory_budget"):
        tconv.conv_transpose(x, w, b, stride=2, algorithm="gemm")
    # the inputs are never modified by a reused call
    x0, w0 = x.copy(), w.copy()
    for _ in range(2):
        tconv.conv_transpose(x, w, b, stride=2)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


def test_the_checked_calls_are_bounded():
    from tconv import ops

    w = np.ones((1, 1, 1), np.float32)
    for n in range(ops.CALLS + 10):
        tconv.conv_transpose(np.ones((n + 1, 1, 1), np.float32), w)
    assert len(ops._CALLS) <= ops.CALLS


def test_no_call_keeps_the_callers_arrays():
    """The checked calls kept by conv_transpose, conv and a plan hold shapes and dtypes, not arrays."""
    import gc
    import weakref

    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(2)
    big = rng.standard_normal((2, 3, 40, 40))
    refs = [weakref.ref(a) for a in (x, w, b, big)]
    plan = tconv.prepare(w, stride=2)
    for _ in range(2):
        tconv.conv_transpose(x, w, b, stride=2)
        tconv.conv(big, w.transpose(1, 0, 2, 3), b)
        plan(x, b)
        plan(big)
    del x, w, b, big
    gc.collect()
    assert all(ref() is None for ref in refs)
    assert plan(np.ones((1, 3, 2, 2))).shape == (1, 2, 5, 5)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(stride=(2.0, 2.0)),
        dict(stride=(True, True)),
        dict(dilation=(1.0, 1.0)),
        dict(padding=(1.0, 0)),
        dict(output_size=(9.0, 9.0), stride=2),
        dict(output_padding=(True, 0), stride=2),
    ],
)
def test_a_refused_argument_is_refused_after_the_same_call_with_ints(kwargs):
    """The windows kept per call (ops._geometry_key) and the checked calls (ops.call_key) are keyed by
    ints, never by values equal to them (2.0 == 2 and True == 1 hash alike): found by a differential fuzz."""
    x, w = np.ones((1, 3, 4, 4)), np.ones((3, 2, 3, 3))
    ints = {k: tuple(int(v) for v in value) if isinstance(value, tuple) else value for k, value in kwargs.items()}
    for _ in range(2):
        tconv.conv_transpose(x, w, **ints)
        with pytest.raises(TypeError):
            tconv.conv_transpose(x, w, **kwargs)
        with pytest.raises(TypeError):
            tconv.conv_transpose(x, w, **{k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()})


def test_an_empty_batch_with_a_huge_window_is_refused_by_tconv():
    """Found by a differential fuzz: with N=0 the result has no element, but NumPy cannot make an empty
    array whose other axes overflow ("array is too big" came out of np.zeros): refused as with N=1."""
    w, x = np.ones((2, 3, 3, 3)), np.zeros((0, 2, 3, 3))
    calls = [
        lambda: tconv.conv_transpose(x, w, stride=10**9),
        lambda: tconv.conv_transpose(x, w, dilation=10**9),
        lambda: tconv.prepare(w, stride=10**9)(x),
        lambda: tconv.nn.ConvTranspose2d(2, 3, 3, stride=10**9)(x),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="more than this machine's memory") as error:
            call()
        assert "array is too big" not in str(error.value)
    assert tconv.conv_transpose(x, w, stride=2).shape == (0, 3, 7, 7)  # a normal empty batch
    assert tconv.prepare(w, stride=2)(x).shape == (0, 3, 7, 7)


def test_the_kept_calls_are_safe_with_several_threads(monkeypatch):
    """Threads calling with ever new shapes fill and trim the kept calls at once (a tiny limit, so
    that every call drops one): no error, every result right."""
    import threading

    from tconv import ops

    monkeypatch.setattr(ops, "CALLS", 4)
    w = np.arange(6.0).reshape(1, 2, 3)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(200):
                n = 1 + (seed * 200 + i) % 37
                x = np.full((n, 1, 2), float(i))
                y = tconv.conv_transpose(x, w)
                assert y.shape == (n, 2, 4)
                np.testing.assert_array_equal(y[0], tconv.conv_transpose(x[0].tolist(), w.tolist()))  # lists: no key
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:1]
    assert len(ops._CALLS) <= 4 + 4  # at most one extra entry per thread in flight
