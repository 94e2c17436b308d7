"""The matrix view: a convolution is multiplication by a matrix ``C``; its transpose by ``C.T``.

For an unbatched input ``x`` of shape ``(C_in, *input_size)``,
``conv(x, w).ravel() == C @ x.ravel()``. Each row of ``C`` is one output element:
the kernel, laid out over the positions of the input it reads, zeros elsewhere
(a 4x16 matrix for a 3x3 kernel on a 4x4 input). The transposed
convolution with the same weight is ``C.T``: it connects each input element to the
``prod(kernel_size)`` output elements it stamps, one column of ``C.T`` per input
element, so ``conv_transpose(y, w).ravel() == C.T @ y.ravel()``.

SciPy, when installed, gives a ``scipy.sparse`` CSR matrix (``C`` has only
``prod(kernel_size)`` non-zeros per row and channel); without it the matrix is a
dense NumPy array, refused above :data:`DENSE_LIMIT` entries.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validate import as_int, numeric_array, positive_sizes, show, split_options
from .geometry import Geometry, conv_geometry, conv_transpose_geometry
from .kernels import tap_pairs

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

    from .typing import ConvOptions, ConvTransposeOptions

__all__ = ["DENSE_LIMIT", "check_weight", "conv_matrix", "conv_transpose_matrix", "geometry_matrix"]

#: Largest dense matrix (in entries) that :func:`conv_matrix` builds without SciPy.
DENSE_LIMIT = 2**26


def check_weight(weight: object, groups: object) -> tuple[np.ndarray, int]:
    """A transposed-convolution weight ``(C_in, C_out/groups, *kernel_size)`` and its groups, checked.

    Examples
    --------
    >>> check_weight(np.ones((4, 1, 3)), 3)
    Traceback (most recent call last):
    ...
    ValueError: groups must be a positive divisor of weight.shape[0]=4, got 3
    """
    w = numeric_array(weight, "weight")
    if w.ndim < 3:
        raise ValueError(
            f"weight must have shape (C_in, C_out/groups, *kernel_size) with at least one "
            f"spatial axis, got shape {show(w.shape)}"
        )
    if 0 in w.shape:
        raise ValueError(f"weight must not have an empty axis, got shape {show(w.shape)}")
    g = as_int(groups, "groups")
    if g < 1 or w.shape[0] % g:
        raise ValueError(f"groups must be a positive divisor of weight.shape[0]={w.shape[0]}, got {g}")
    return w, g


def geometry_matrix(w: np.ndarray, groups: int, geometry: Geometry, sparse: bool | None) -> Any:
    """Build ``C`` from a geometry, in the transposed convolution's terms.

    ``w`` is ``(C_in, C_out/G, *k)``. Rows are the ``(C_in, *input_size)`` elements
    (the small side), columns the ``(C_out, *output_size)`` elements (the big side),
    and ``C[(ci, j), (co, o)] = w[ci, co mod C_out/G, t]`` when ``ci`` and ``co`` are
    in the same group and ``o = s*j + d*t - b``.
    """
    c_in, c_out_g = w.shape[:2]
    c_in_g = c_in // groups
    n_small = int(np.prod(geometry.input_size))
    n_big = int(np.prod(geometry.output_size))
    shape = (c_in * n_small, c_out_g * groups * n_big)
    if sparse is None:
        sparse = importlib.util.find_spec("scipy") is not None
    if not sparse and shape[0] * shape[1] > DENSE_LIMIT:
        raise ValueError(
            f"the dense matrix would have shape {shape} ({shape[0] * shape[1]} entries, more than "
            f"DENSE_LIMIT={DENSE_LIMIT}); install SciPy for a sparse matrix or use smaller sizes"
        )
    small_index = np.arange(n_small).reshape(geometry.input_size)  # (*input_size)
    big_index = np.arange(n_big).reshape(geometry.output_size)  # (*output_size)
    # Every (C_in, C_out/G) channel pair of a group: in-channel g*C_in/G + ci, out-channel g*C_out/G + co.
    cin = np.arange(c_in)  # (C_in,)
    group = cin // c_in_g  # (C_in,)
    rows, cols, vals = [], [], []
    for tap, src, dst in tap_pairs(geometry):
        j = small_index[src].ravel()  # (P,) small-side positions of this tap
        o = big_index[dst].ravel()  # (P,) the big-side positions they meet
        cout = group[:, None] * c_out_g + np.arange(c_out_g)[None, :]  # (C_in, C_out/G)
        r = cin[:, None, None] * n_small + j[None, None, :]  # (C_in, 1, P)
        c = cout[:, :, None] * n_big + o[None, None, :]  # (C_in, C_out/G, P)
        v = w[(slice(None), slice(None)) + tap]  # (C_in, C_out/G)
        rows.append(np.broadcast_to(r, c.shape).ravel())
        cols.append(c.ravel())
        vals.append(np.broadcast_to(v[:, :, None], c.shape).ravel())
    dtype = w.dtype if w.dtype.kind in "fc" else np.float64
    row = np.concatenate(rows) if rows else np.zeros(0, np.intp)
    col = np.concatenate(cols) if cols else np.zeros(0, np.intp)
    val = np.concatenate(vals).astype(dtype) if vals else np.zeros(0, dtype)
    if sparse:
        import scipy.sparse

        return scipy.sparse.csr_array((val, (row, col)), shape=shape)
    dense = np.zeros(shape, dtype=dtype)
    dense[row, col] = val
    return dense


def _input_size(input_size: object, w: np.ndarray, sparse: object) -> tuple[int, ...]:
    """``input_size`` with one positive entry per spatial axis of ``w`` (one int for all); ``sparse`` checked."""
    if sparse is not None and not isinstance(sparse, bool):
        raise TypeError(f"sparse must be True, False or None, got {sparse!r}")
    nd = w.ndim - 2
    if isinstance(input_size, Sequence) and not isinstance(input_size, str) and len(input_size) != nd:
        raise ValueError(
            f"input_size must have one entry per spatial axis of the weight of shape {show(w.shape)} ({nd}), "
            f"got {show(input_size)}"
        )
    return positive_sizes(input_size, "input_size", nd)


def _options(op: str, options: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """``groups`` and the window's keyword arguments of ``options`` (a matrix has no data layout)."""
    groups, layout, window = split_options(op, options, f"{op}_matrix")
    if "layout" in options:
        raise TypeError(f"{op}_matrix got an unexpected keyword argument 'layout' (a matrix has no data layout)")
    return groups, window


def conv_matrix(
    weight: np.ndarray, input_size: int | Sequence[int], *, sparse: bool | None = None, **options: Unpack[ConvOptions]
) -> Any:
    """The matrix ``C`` of the convolution ``tconv.conv(·, weight, ...)``.

    Parameters
    ----------
    weight : array_like, shape (C_out, C_in/groups, *kernel_size)
        A convolution weight; the same array is the weight of the transposed
        convolution ``C.T`` (``(C_in, C_out/groups, *k)`` from its side).
    input_size : int or sequence of int
        Spatial size of the convolution's input.
    sparse : bool, optional
        ``True`` for a ``scipy.sparse.csr_array``, ``False`` for a dense ndarray;
        the default is sparse when SciPy is installed.
    **options
        ``stride``, ``padding``, ``dilation``, ``groups``: as for :func:`tconv.conv`
        (:class:`tconv.typing.ConvOptions`; a matrix has no data layout).

    Returns
    -------
    C : scipy.sparse.csr_array or ndarray, shape (C_out*prod(out_size), C_in*prod(input_size))
        With ``x`` of shape ``(C_in, *input_size)``:
        ``conv(x, weight, ...).ravel() == C @ x.ravel()`` and, for ``y`` of the
        convolution's output shape, ``conv_transpose(y, weight, ..., output_size=input_size)
        .ravel() == C.T @ y.ravel()``.

    Examples
    --------
    A 3x3 kernel on a 4x4 input is a 4x16 matrix, and its
    transpose maps 4 values back to 16.

    >>> import numpy as np, tconv
    >>> w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    >>> C = conv_matrix(w, (4, 4), sparse=False)
    >>> C.shape
    (4, 16)
    >>> C[0].reshape(4, 4)
    array([[1., 2., 3., 0.],
           [4., 5., 6., 0.],
           [7., 8., 9., 0.],
           [0., 0., 0., 0.]])
    >>> x = np.random.default_rng(0).normal(size=(1, 4, 4))
    >>> np.allclose(C @ x.ravel(), tconv.conv(x, w).ravel())
    True
    >>> y = np.ones((1, 2, 2))
    >>> np.allclose(C.T @ y.ravel(), tconv.conv_transpose(y, w).ravel())
    True
    """
    groups, window = _options("conv", options)
    w, g = check_weight(weight, groups)
    geometry = conv_geometry(_input_size(input_size, w, sparse), w.shape[2:], **window)
    # The conv weight (C_out, C_in/g, *k) is the transposed conv's (C_in_t, C_out_t/g, *k).
    return geometry_matrix(w, g, geometry, sparse)


def conv_transpose_matrix(
    weight: np.ndarray,
    input_size: int | Sequence[int],
    *,
    sparse: bool | None = None,
    **options: Unpack[ConvTransposeOptions],
) -> Any:
    """The matrix ``C.T`` of the transposed convolution ``tconv.conv_transpose(·, weight, ...)``.

    Parameters
    ----------
    weight : array_like, shape (C_in, C_out/groups, *kernel_size)
    input_size : int or sequence of int
        Spatial size of the transposed convolution's input.
    sparse : bool, optional
        As for :func:`conv_matrix`.
    **options
        ``stride``, ``padding``, ``output_padding``, ``groups``, ``dilation``,
        ``output_size``: as for :func:`tconv.conv_transpose`
        (:class:`tconv.typing.ConvTransposeOptions`; a matrix has no data layout).

    Returns
    -------
    CT : scipy.sparse.csr_array or ndarray, shape (C_out*prod(output_size), C_in*prod(input_size))
        ``conv_transpose(y, weight, ...).ravel() == CT @ y.ravel()`` for ``y`` of
        shape ``(C_in, *input_size)``. It is the transpose of :func:`conv_matrix` of
        the convolution with the same weight whose input has the transposed
        convolution's output size.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.ones((1, 1, 3))
    >>> conv_transpose_matrix(w, 2, stride=2, sparse=False)
    array([[1., 0.],
           [1., 0.],
           [1., 1.],
           [0., 1.],
           [0., 1.]])
    """
    groups, window = _options("conv_transpose", options)
    w, g = check_weight(weight, groups)
    geometry = conv_transpose_geometry(_input_size(input_size, w, sparse), w.shape[2:], **window)
    return geometry_matrix(w, g, geometry, sparse).T
