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
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._options import effective
from ._validate import as_int, fits_budget, fits_machine, positive_sizes, show, split_options, weight_array
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
    w = weight_array(weight)
    g = as_int(groups, "groups")
    if g < 1 or w.shape[0] % g:
        raise ValueError(f"groups must be a positive divisor of weight.shape[0]={w.shape[0]}, got {g}")
    return w, g


def _tap_bounds(geometry: Geometry) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per axis, for every small-side position ``j``, the taps ``lo[j] <= t < hi[j]`` that carry it
    into the window: ``0 <= s*j + d*t - b < o`` (:func:`tconv.geometry.tap_range` with the roles of
    ``j`` and ``t`` swapped; the taps of one ``j`` are a contiguous range)."""
    bounds = []
    for i, k, s, d, b, o in geometry.axes():
        shift = s * np.arange(i, dtype=np.int64) - b  # (i,) position of tap 0
        lo = np.maximum(-(shift // d), 0)  # ceil(-shift / d)
        hi = np.minimum(-((shift - o) // d), k)  # ceil((o - shift) / d)
        bounds.append((lo, np.maximum(hi, lo)))
    return bounds


def nonzeros(geometry: Geometry, c_in: int, cog: int) -> int:
    """The stored entries of ``C``: one per ``(ci, co)`` pair of a group and ``(j, t)`` pair that lands."""
    pairs = 1
    for lo, hi in _tap_bounds(geometry):
        pairs *= int((hi - lo).sum())
    return c_in * cog * pairs


def matrix_bytes(weight_shape: tuple[int, ...], groups: int, geometry: Geometry, itemsize: int, sparse: bool) -> int:
    """The bytes of the matrix :func:`geometry_matrix` returns (CSR arrays, or the dense array)."""
    c_in, cog = weight_shape[:2]
    rows = c_in * math.prod(geometry.input_size)
    cols = cog * groups * math.prod(geometry.output_size)
    if not sparse:
        return rows * cols * itemsize
    nnz = nonzeros(geometry, c_in, cog)
    index = 4 if max(nnz, cols) < 2**31 else 8
    return nnz * (itemsize + index) + (rows + 1) * index


#: Temporary bytes per entry built at once (its row, column, position and value arrays on the way).
ENTRY_BYTES = 48


def chunk_entries() -> int:
    """How many entries :func:`geometry_matrix` builds at once: a fifth of the memory budget."""
    return max(1024, effective().memory_budget // (5 * ENTRY_BYTES))


def build_bytes(geometry: Geometry) -> int:
    """The temporaries of :func:`geometry_matrix` besides the matrix: one chunk of entries, and a
    few index vectors over the small side."""
    return chunk_entries() * ENTRY_BYTES + 6 * 8 * math.prod(geometry.input_size)


def _dense_guard(shape: tuple[int, int]) -> None:
    if shape[0] * shape[1] > DENSE_LIMIT:
        raise ValueError(
            f"the dense matrix would have shape {shape} ({shape[0] * shape[1]} entries, more than "
            f"DENSE_LIMIT={DENSE_LIMIT}); install SciPy for a sparse matrix or use smaller sizes"
        )


def _flat_positions(slices: tuple[slice, ...], sizes: tuple[int, ...]) -> np.ndarray:
    """The C-order flat indices, in an array of shape ``sizes``, of the cells ``slices`` pick, in C
    order: computed from the slices alone, so the work is the cells', not the array's (the big side of
    a huge stride has far more cells than the matrix has entries)."""
    flat = np.zeros((), dtype=np.int64)
    for sl, n in zip(slices, sizes):
        flat = np.add.outer(flat * n, np.arange(*sl.indices(n), dtype=np.int64))  # Horner: (... * n) + index
    return flat.ravel()


def geometry_matrix(w: np.ndarray, groups: int, geometry: Geometry, sparse: bool | None) -> Any:
    """Build ``C`` from a geometry, in the transposed convolution's terms.

    ``w`` is ``(C_in, C_out/G, *k)``. Rows are the ``(C_in, *input_size)`` elements
    (the small side), columns the ``(C_out, *output_size)`` elements (the big side),
    and ``C[(ci, j), (co, o)] = w[ci, co mod C_out/G, t]`` when ``ci`` and ``co`` are
    in the same group and ``o = s*j + d*t - b``.

    The CSR arrays (or the dense array) are written in place, tap by tap and a few
    input channels at a time, so the temporaries stay at about
    :func:`chunk_entries` entries whatever the size of the matrix. Row ``(ci, j)``
    holds, for each output channel ``co`` of its group, the taps that carry ``j``
    into the window, in C order (so its column indices are sorted).
    """
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    n_small = math.prod(geometry.input_size)
    n_big = math.prod(geometry.output_size)
    shape = (c_in * n_small, cog * groups * n_big)
    if sparse is None:
        sparse = importlib.util.find_spec("scipy") is not None
    if not sparse:
        _dense_guard(shape)
    dtype = w.dtype if w.dtype.kind in "fc" else np.dtype(np.float64)
    bounds = _tap_bounds(geometry)
    counts = [hi - lo for lo, hi in bounds]  # per axis: taps of each j
    per_j = np.ones(1, dtype=np.int64)
    for c in counts:
        per_j = np.multiply.outer(per_j, c).reshape(-1)  # (n_small,) taps of each flat j
    nnz = c_in * cog * int(per_j.sum())
    index_dtype = np.int32 if max(nnz, shape[1]) < 2**31 else np.int64
    if sparse:
        indptr = np.zeros(shape[0] + 1, dtype=index_dtype)
        np.cumsum(np.tile(per_j * cog, c_in), out=indptr[1:])  # row (ci, j) holds cog * per_j[j] entries
        indices = np.empty(nnz, dtype=index_dtype)
        data = np.empty(nnz, dtype=dtype)
    else:
        dense = np.zeros(shape, dtype=dtype)
    per_j_grid = per_j.reshape(geometry.input_size)
    for tap, src, dst in tap_pairs(geometry):
        j = _flat_positions(src, geometry.input_size)  # (P,) small-side positions this tap carries
        o = _flat_positions(dst, geometry.output_size)  # (P,) the big-side positions they reach
        # the rank of this tap among the taps of each j, in C order
        rank = np.zeros(src_shape := tuple(sl.stop - sl.start for sl in src), dtype=np.int64)
        for axis, (t, sl) in enumerate(zip(tap, src)):
            lo = bounds[axis][0][sl]
            inner = np.ones(src_shape, dtype=np.int64)
            for later in range(axis + 1, geometry.ndim):
                shape_b = [1] * geometry.ndim
                shape_b[later] = -1
                inner = inner * counts[later][src[later]].reshape(shape_b)
            shape_a = [1] * geometry.ndim
            shape_a[axis] = -1
            rank = rank + (t - lo).reshape(shape_a) * inner
        rank = rank.ravel()  # (P,)
        taps_of_j = per_j_grid[src].ravel()  # (P,)
        v = w[(slice(None), slice(None)) + tap]  # (C_in, Cog)
        # pieces of at most chunk_entries() entries: positions, then input channels (a piece of one
        # input channel and every position was Cog * P entries, whatever the budget)
        span = max(1, chunk_entries() // max(1, cog))
        co = np.arange(cog, dtype=np.int64)[None, :, None]  # (1, Cog, 1)
        for p0 in range(0, len(j), span):
            jp, op, rp, tp = (a[p0 : p0 + span] for a in (j, o, rank, taps_of_j))
            step = max(1, chunk_entries() // max(1, cog * len(jp)))
            for c0 in range(0, c_in, step):
                ci = np.arange(c0, min(c_in, c0 + step), dtype=np.int64)[:, None, None]  # (c, 1, 1)
                col = ((ci // cig) * cog + co) * n_big + op  # (c, Cog, P)
                if sparse:
                    start = indptr[ci[:, :, 0] * n_small + jp[None, :]][:, None, :]  # (c, 1, P) row starts
                    where = start + co * tp + rp  # (c, Cog, P)
                    indices[where] = col
                    data[where] = v[c0 : c0 + len(ci), :, None]
                else:
                    row = ci * n_small + jp  # (c, 1, P)
                    dense[row, col] = v[c0 : c0 + len(ci), :, None]
    if not sparse:
        return dense
    import scipy.sparse

    matrix = scipy.sparse.csr_array((data, indices, indptr), shape=shape)
    matrix.has_sorted_indices = True
    return matrix


def _check_sizes(caller: str, w: np.ndarray, groups: int, geometry: Geometry, sparse: bool | None) -> None:
    """Refuse, before anything is built, a matrix larger than this machine's memory, one whose
    building needs more temporary memory than ``memory_budget``, or one whose columns no index holds:
    all from integers, in this order (the exact size of a sparse matrix reads arrays over the small side,
    which the budget bounds)."""
    from .ops import _window

    if sparse is None:
        sparse = importlib.util.find_spec("scipy") is not None
    itemsize = w.dtype.itemsize if w.dtype.kind in "fc" else 8
    shape = (w.shape[0] * math.prod(geometry.input_size), w.shape[1] * groups * math.prod(geometry.output_size))
    op = "conv" if caller == "conv_matrix" else "conv_transpose"
    sizes = f"; for weight of shape {show(w.shape)} and {_window(op, geometry)}"
    rows, cols = shape if caller == "conv_matrix" else shape[::-1]  # conv_transpose_matrix returns C.T
    kind = f"the {'sparse' if sparse else 'dense'} matrix of {rows} x {cols}"
    if not sparse:
        _dense_guard(shape)
    elif shape[1] >= 2**63:
        raise ValueError(f"{caller}: {kind} has more rows or columns than a 64-bit index holds{sizes}")
    budget = effective().memory_budget
    fits_budget(build_bytes(geometry), f"{caller}: building {kind} needs temporary memory", budget, sizes)
    needed = matrix_bytes(w.shape, groups, geometry, itemsize, sparse)
    fits_machine(needed, f"{caller}: {kind}", sizes)


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
    _check_sizes("conv_matrix", w, g, geometry, sparse)
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
    _check_sizes("conv_transpose_matrix", w, g, geometry, sparse)
    return geometry_matrix(w, g, geometry, sparse).T
