"""The adjoint identity <conv_transpose(y, w), x> == <y, conv(x, w)> and the matrix view."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, oracle

import tconv


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


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_conv_transpose_matrix(case, sparse):
    if sparse:
        oracle("scipy")
    x_t, w, b = case.arrays()
    M = tconv.conv_transpose_matrix(
        w, case.size, case.stride, case.padding, case.output_padding, case.groups, case.dilation, sparse=sparse
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
    C = tconv.conv_matrix(w, out_size, case.stride, case.padding, case.dilation, case.groups)
    assert scipy.sparse.issparse(C)
    z = np.random.default_rng(5).standard_normal((w.shape[1] * case.groups, *out_size))
    conv_z = tconv.conv(z, w, None, case.stride, case.padding, case.dilation, case.groups)
    assert_close(C @ z.ravel(), conv_z.ravel())
    y = tconv.conv_transpose(x_t[0], w, None, **case.kwargs())
    assert_close(C.T @ x_t[0].ravel(), y.ravel())
    dense = tconv.conv_matrix(w, out_size, case.stride, case.padding, case.dilation, case.groups, sparse=False)
    assert_close(dense, C.toarray())


def test_dense_matrix_size_guard():
    with pytest.raises(ValueError, match="DENSE_LIMIT"):
        tconv.conv_matrix(np.ones((64, 64, 3, 3)), (64, 64), sparse=False)


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
