"""tconv.matrix: conv_matrix and conv_transpose_matrix are tconv.conv and tconv.conv_transpose, sparse and dense."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, oracle

import tconv


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_conv_transpose_matrix(case, sparse):
    if sparse:
        oracle("scipy")
    x_t, w, b = case.arrays()
    M = tconv.conv_transpose_matrix(
        w,
        case.size,
        stride=case.stride,
        padding=case.padding,
        output_padding=case.output_padding,
        groups=case.groups,
        dilation=case.dilation,
        sparse=sparse,
    )
    y = tconv.conv_transpose(x_t, w, None, **case.kwargs())
    for n in range(case.n):
        assert_close(M @ x_t[n].ravel(), y[n].ravel())


def _op_below_stride(case):
    op = np.broadcast_to(case.output_padding, (case.ndim,))
    return bool(np.all(op < np.broadcast_to(case.stride, (case.ndim,))))


# Cases with output_padding >= stride (dilation > stride) are covered by conv_transpose_matrix above:
# the convolution of their output size has more outputs than the transpose has inputs.
MATRIX_CASES = [c for c in CASES if _op_below_stride(c)]


@pytest.mark.parametrize("case", MATRIX_CASES, ids=[c.id for c in MATRIX_CASES])
def test_conv_matrix_is_conv_and_its_transpose_is_conv_transpose(case):
    scipy = oracle("scipy")
    x_t, w, _ = case.arrays()
    out_size = tconv.conv_transpose_output_size(
        case.size, case.kernel, case.stride, case.padding, case.output_padding, case.dilation
    )
    C = tconv.conv_matrix(
        w, out_size, stride=case.stride, padding=case.padding, dilation=case.dilation, groups=case.groups
    )
    assert scipy.sparse.issparse(C)
    z = np.random.default_rng(5).standard_normal((w.shape[1] * case.groups, *out_size))
    conv_z = tconv.conv(z, w, None, case.stride, case.padding, case.dilation, case.groups)
    assert_close(C @ z.ravel(), conv_z.ravel())
    y = tconv.conv_transpose(x_t[0], w, None, **case.kwargs())
    assert_close(C.T @ x_t[0].ravel(), y.ravel())
    dense = tconv.conv_matrix(
        w, out_size, stride=case.stride, padding=case.padding, dilation=case.dilation, groups=case.groups, sparse=False
    )
    assert_close(dense, C.toarray())


def test_dense_matrix_size_guard():
    with pytest.raises(ValueError, match="DENSE_LIMIT"):
        tconv.conv_matrix(np.ones((64, 64, 3, 3)), (64, 64), sparse=False)


@pytest.mark.parametrize(
    "function, input_size, window, names",
    [
        (tconv.conv_transpose_matrix, 10**9, {}, r"memory_budget.*input size \(1000000000, 1000000000\)"),
        (tconv.conv_matrix, 10**9, {}, r"memory_budget.*input size \(1000000000, 1000000000\)"),
        (tconv.conv_transpose_matrix, (2**62, 1), {}, r"64-bit index.*input size \(4611686018427387904, 1\)"),
        (tconv.conv_transpose_matrix, 3, {"stride": 10**9}, r"64-bit index.*stride=\(1000000000, 1000000000\)"),
        (tconv.conv_transpose_matrix, 3, {"dilation": 10**9}, r"64-bit index.*dilation=\(1000000000, 1000000000\)"),
    ],
)
def test_matrix_size_from_parameters_is_refused_up_front(function, input_size, window, names):
    """A matrix made huge by input_size, stride or dilation is refused from integers, naming them,
    before NumPy's MemoryError or "array is too big" (the refusal is instant: nothing is allocated)."""
    oracle("scipy")
    with pytest.raises(ValueError, match=names) as error:
        function(np.ones((2, 3, 3, 3)), input_size, **window)
    assert "weight of shape (2, 3, 3, 3)" in str(error.value)


def test_matrix_columns_cost_nothing():
    """The big side's positions are computed from the taps' slices: a stride of a million on a 3x3
    input gives a 10**13-column sparse matrix of 486 entries, equal to the operator."""
    oracle("scipy")
    w = np.random.default_rng(0).standard_normal((2, 3, 3, 3))
    M = tconv.conv_transpose_matrix(w, 3, stride=10**6)
    assert M.shape == (3 * (2 * 10**6 + 3) ** 2, 18) and M.nnz == 486  # output (2*s + 3)**2
    small = tconv.conv_transpose_matrix(w, 3, stride=4)
    y = tconv.conv_transpose(np.ones((2, 3, 3)), w, stride=4).ravel()
    assert_close(small @ np.ones(18), y)


def test_matrix_functions_reject():
    w = np.ones((4, 3, 3, 3))  # C_in=4, C_out/groups=3
    with pytest.raises(ValueError, match=r"groups must be a positive divisor of weight.shape\[0\]=4, got 3"):
        tconv.conv_matrix(w, (5, 5), groups=3)
    with pytest.raises(TypeError, match="weight must be a numeric array"):
        tconv.conv_matrix(np.array([["x"]]), 3)
