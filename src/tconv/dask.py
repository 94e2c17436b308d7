"""Transposed convolution and convolution of Dask arrays, chunk by chunk, exactly.

``tconv.dask.conv_transpose`` and ``tconv.dask.conv`` take a chunked
:class:`dask.array.Array` and return a lazy one whose ``compute()`` equals
:func:`tconv.conv_transpose` / :func:`tconv.conv` of the whole array, for every
parameter the in-memory functions take. Install with ``pip install "tconv[dask]"``;
``import tconv`` never imports this module (nor Dask).

How a chunk is computed (``docs/dask.md`` draws it)
---------------------------------------------------
The rules are those of :mod:`tconv.chunks` and :mod:`tconv.geometry`, on plain
integers; this module turns them into a graph. Per spatial axis, with input ``j``
and tap ``t`` meeting at output ``o = s*j + d*t - b``:

1. **Output chunks** map from the input chunks by default
   (:func:`tconv.chunks.conv_transpose_chunks`: an output chunk holds the cells
   where the stamps of one input chunk's elements start); ``chunks=`` chooses any
   other output chunking (say a regular one, for Zarr).
2. **Halo.** Output chunk ``[lo, hi)`` needs exactly the inputs
   :func:`tconv.geometry.conv_transpose_input_range` returns: with the mapped
   chunks, its own plus :func:`tconv.chunks.conv_transpose_halo` before them. Only
   those are cut out of the neighbouring chunks (one small task each, a copy) and
   concatenated with the chunk: no task holds more than this neighbourhood and its
   output block, and there is no overlap-add pass.
3. **The block** is one in-memory :func:`tconv.conv_transpose` of the
   neighbourhood, with the explicit ``(begin, end)`` padding that cuts the chunk's
   cells out of the neighbourhood's full output (``begin = lo + b - s*first``, with
   ``first`` its first input), so every algorithm of :func:`tconv.algorithms` (and
   ``"auto"``'s choice) runs on each block unchanged.

The convolution is the mirror image (:func:`tconv.chunks.conv_chunks`,
:func:`tconv.geometry.conv_input_range`, :func:`tconv.chunks.conv_halo`).

The graph has one task per output block, one per halo piece (a bounded number per
block) and one each for the weight and the bias: it grows linearly with the number
of chunks. Batch chunks map one to one; the channel axis is rechunked to one chunk
if it is split (an output channel reads every input channel of its group).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validate import as_int, is_int, missing_dependency, numeric_array, positive_int, show, split_options

try:
    import dask.array as da
    from dask.array.core import normalize_chunks
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as error:  # one line with the install hint
    raise missing_dependency("dask", "tconv.dask") from error

import tconv

from .chunks import conv_chunks, conv_transpose_chunks
from .geometry import (
    Geometry,
    PaddingArg,
    conv_input_range,
    conv_transpose_geometry,
    conv_transpose_input_range,
    tap_range,
)
from .ops import check_operands, resolve_geometry

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

    from .typing import ConvOptions, ConvTransposeOptions

__all__ = ["conv", "conv_transpose", "halo_diagram"]


# ---------------------------------------------------------------------------
# The tasks
# ---------------------------------------------------------------------------


def _take(block: np.ndarray, index: tuple[slice, ...]) -> np.ndarray:
    """A halo piece: a copy, so that the neighbouring chunk it is cut from can be freed."""
    return block[index].copy()


def _assemble(pieces: Any, axes: tuple[int, ...]) -> np.ndarray:
    """Concatenate a nested list of blocks, the outer list along ``axes[0]``, and so on."""
    if not axes:
        return pieces
    parts = [_assemble(p, axes[1:]) for p in pieces]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axes[0])


def _block(pieces, weight, bias, *, run, axes, padding, **options) -> np.ndarray:
    """One output block: the in-memory ``run`` (``tconv.conv_transpose`` or ``tconv.conv``) of its neighbourhood."""
    return run(_assemble(pieces, axes), weight, bias, padding=padding, **options)


def _fill_block(bias, *, shape, dtype, channel_axis) -> np.ndarray:
    """An output block no input reaches (a zero extension): zeros, plus the bias."""
    out = np.zeros(shape, dtype=dtype)
    if bias is not None:
        along_channels = [-1 if a == channel_axis % len(shape) else 1 for a in range(len(shape))]
        out += np.asarray(bias, dtype=dtype).reshape(along_channels)  # (1, C_out, 1, ...) or (..., 1, C_out)
    return out


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """One chunked call of ``op``, checked: what every block of the graph shares.

    ``batch_axis`` (None when unbatched), ``channel_axis`` and ``spatial_axes`` index
    ``x`` and the result alike; ``options`` (stride, groups, dilation, layout,
    algorithm) go to every in-memory call unchanged.
    """

    op: str
    x: da.Array
    weight: np.ndarray
    bias: np.ndarray | None
    c_out: int
    batch_axis: int | None
    channel_axis: int
    spatial_axes: tuple[int, ...]
    options: dict[str, Any]

    @property
    def transpose(self) -> bool:
        return self.op == "conv_transpose"

    @property
    def run(self) -> Callable[..., np.ndarray]:
        """The in-memory function each block calls."""
        return tconv.conv_transpose if self.transpose else tconv.conv

    @property
    def spatial_chunks(self) -> tuple[tuple[int, ...], ...]:
        return tuple(self.x.chunks[a] for a in self.spatial_axes)


def _small_array(value: Any) -> Any:
    """The weight or bias in memory (a Dask array is computed: it is small); checked by the caller."""
    return value.compute() if isinstance(value, da.Array) else value


def _prepare(
    op: str, x: Any, weight: Any, bias: Any, algorithm: str, options: Mapping[str, Any]
) -> tuple[_Call, Geometry]:
    """Check the arguments as the in-memory functions do (:func:`tconv.ops.check_operands` and
    :func:`tconv.ops.window`, on the shape of ``x``), and put the channels into one chunk."""
    if not isinstance(x, da.Array):
        raise TypeError(
            f"{op}: x must be a dask.array.Array, got {type(x).__name__}; wrap it with "
            f"dask.array.from_array(x, chunks=...), or call tconv.{op} for an in-memory array"
        )
    if any(np.isnan(size) for size in x.shape):
        raise ValueError(f"{op}: x has unknown chunk sizes {x.chunks}; call x.compute_chunk_sizes() first")
    numeric_array(np.empty(0, dtype=x.dtype), "x")
    transpose = op == "conv_transpose"
    groups, layout, window_options = split_options(op, options, f"tconv.dask.{op}")
    operands = check_operands(
        op,
        x.shape,
        _small_array(weight),
        _small_array(bias),
        groups,
        layout,
        weight_in_axis=0 if transpose else 1,
        input_name="x",
    )
    batched_shape = x.shape if operands.batched else (1, *x.shape)
    geometry = resolve_geometry(op, batched_shape, operands, window_options)
    w, channel = operands.weight, operands.channel_axis
    if len(x.chunks[channel]) > 1:
        # every output channel reads every input channel of its group: one chunk
        x = x.rechunk({channel: -1})
    # what each block's in-memory call takes besides its own (begin, end) padding
    block_options = dict(
        stride=geometry.stride, dilation=geometry.dilation, groups=operands.groups, layout=layout, algorithm=algorithm
    )
    call = _Call(
        op=op,
        x=x,
        weight=w,
        bias=operands.bias,
        c_out=w.shape[1] * operands.groups if transpose else w.shape[0],
        batch_axis=0 if operands.batched else None,
        channel_axis=channel,
        spatial_axes=operands.spatial_axes,
        options=block_options,
    )
    return call, geometry


def _result_dtype(call: _Call, geometry: Geometry) -> np.dtype:
    """Check the weight, bias, groups, stride, dilation and algorithm with a tiny in-memory call;
    return the result dtype."""
    shape = [1] * call.x.ndim
    shape[call.channel_axis] = call.x.shape[call.channel_axis]
    if not call.transpose:  # the smallest input that gives one output: the dilated kernel's span
        for a, k_eff in zip(call.spatial_axes, geometry.effective_kernel_size):
            shape[a] = k_eff
    return call.run(np.zeros(shape, dtype=call.x.dtype), call.weight, call.bias, padding="valid", **call.options).dtype


def _output_chunks(chunks: Any, default: tuple[tuple[int, ...], ...], shape: tuple[int, ...], dtype) -> tuple:
    """The spatial output chunks: mapped from the input's (None) or as Dask normalises ``chunks``."""
    if chunks is None:
        return default
    empty = ValueError(
        f"chunks must give positive chunk sizes (or -1 for one chunk per axis), one entry per spatial axis "
        f"of the output of spatial shape {show(shape)}; got {chunks!r}"
    )
    sizes = [chunks] if is_int(chunks) else (list(chunks) if isinstance(chunks, (tuple, list)) else [])
    if any(is_int(size) and (size == 0 or size < -1) for size in sizes):  # Dask would divide by it, or misread
        raise empty
    try:
        normalized = normalize_chunks(chunks, shape=shape, dtype=dtype)
    except (ValueError, TypeError, ZeroDivisionError) as error:
        raise ValueError(
            f"chunks must be None (map the input's chunks) or the spatial output chunks, one entry "
            f"per spatial axis of the output of spatial shape {show(shape)}; got {chunks!r}: {error}"
        ) from None
    if any(0 in axis for axis in normalized):  # Dask allows empty chunks; an output chunk needs a cell
        raise empty
    return normalized


# ---------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------


def _block_window(
    geometry: Geometry, axis: int, lo: int, hi: int, *, transpose: bool
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """What the block of the outputs ``[lo, hi)`` of one axis reads, and how it is called.

    Returns ``((first, stop), (begin, end))``: the inputs ``[first, stop)`` that reach
    the outputs (:func:`tconv.geometry.conv_transpose_input_range` or, for the
    convolution, :func:`tconv.geometry.conv_input_range`), and the ``(begin, end)``
    padding with which the in-memory call on just those inputs gives exactly these
    outputs; None when no input reaches them.
    """
    input_range = conv_transpose_input_range if transpose else conv_input_range
    span = input_range(geometry, axis, lo, hi)
    if span is None:
        return None
    first, stop = span
    s, b, k_eff = geometry.stride[axis], geometry.crop_begin[axis], geometry.effective_kernel_size[axis]
    if transpose:  # the window of the outputs in the full output of the inputs, (stop - first - 1)*s + k_eff long
        begin = lo + b - s * first
        end = (stop - first - 1) * s + k_eff - begin - (hi - lo)
    else:  # pad (or crop) the inputs so that they give exactly hi - lo outputs
        begin = first + b - s * lo
        end = (hi - lo - 1) * s + k_eff - (stop - first) - begin
    return span, (begin, end)


def _bounds(chunks: Sequence[int]) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each chunk along an axis."""
    return itertools.pairwise(itertools.accumulate(chunks, initial=0))


def _pieces_of_range(chunks: tuple[int, ...], start: int, stop: int) -> list[tuple[int, slice]]:
    """The input chunks that overlap ``[start, stop)``, each with the slice of it inside the range."""
    pieces = []
    for index, (offset, end) in enumerate(_bounds(chunks)):
        lo, hi = max(start, offset), min(stop, end)
        if lo < hi:
            pieces.append((index, slice(lo - offset, hi - offset)))
    return pieces


#: Per spatial axis and output chunk: the block's ``(begin, end)`` padding and the input pieces it reads.
_AxisPlan = tuple[tuple[int, int], list[tuple[int, slice]]]


def _axis_plans(
    call: _Call, geometry: Geometry, out_spatial_chunks: tuple[tuple[int, ...], ...]
) -> list[list[_AxisPlan | None]]:
    """Per spatial axis, per output chunk: its :data:`_AxisPlan`, or None when no input reaches it."""
    plans: list[list[_AxisPlan | None]] = []
    for ax, (out_chunks, in_chunks) in enumerate(zip(out_spatial_chunks, call.spatial_chunks)):
        plan: list[_AxisPlan | None] = []
        for lo, hi in _bounds(out_chunks):
            window = _block_window(geometry, ax, lo, hi, transpose=call.transpose)
            if window is None:
                plan.append(None)
            else:
                (first, stop), padding = window
                plan.append((padding, _pieces_of_range(in_chunks, first, stop)))
        plans.append(plan)
    return plans


def _neighbourhood(dsk: dict, call: _Call, name: str, batch: int, out_index: list[int], per_axis) -> Any:
    """The keys of one block's inputs as nested lists (one level per spatial axis), for :func:`_assemble`.

    A whole input chunk is its own key; a part of one is a halo piece, a small
    ``_take`` task added to ``dsk``.
    """
    x, spatial_axes = call.x, call.spatial_axes

    def key(combo: tuple[tuple[int, slice], ...]) -> tuple:
        in_index = [0] * x.ndim
        index = [slice(None)] * x.ndim
        if call.batch_axis is not None:
            in_index[call.batch_axis] = batch
        for a, (c, sl) in zip(spatial_axes, combo):
            in_index[a] = c
            index[a] = sl
        in_key = (x.name, *in_index)
        if all(sl.start == 0 and sl.stop == x.chunks[a][c] for a, (c, sl) in zip(spatial_axes, combo)):
            return in_key
        piece_key = (f"{name}-halo", *out_index, *(c for c, _ in combo))
        dsk[piece_key] = (_take, in_key, tuple(index))
        return piece_key

    def grid(depth: int, combo: tuple) -> Any:
        if depth == len(per_axis):
            return key(combo)
        return [grid(depth + 1, combo + (piece,)) for piece in per_axis[depth][1]]

    return grid(0, ())


def _build(call: _Call, geometry: Geometry, out_spatial_chunks: tuple[tuple[int, ...], ...], dtype) -> da.Array:
    """The graph: per output block, its halo pieces and one in-memory call."""
    x, w, b = call.x, call.weight, call.bias
    token = tokenize(call.op, x, w, b, geometry, out_spatial_chunks, sorted(call.options.items()))
    name = f"tconv-{call.op}-{token}"
    weight_key = (f"tconv-weight-{tokenize(w)}",)
    bias_key = None if b is None else (f"tconv-bias-{tokenize(b)}",)
    dsk: dict = {weight_key: w}
    if bias_key is not None:
        dsk[bias_key] = b

    out_chunks: list[tuple[int, ...]] = [()] * x.ndim
    out_chunks[call.channel_axis] = (call.c_out,)
    if call.batch_axis is not None:
        out_chunks[call.batch_axis] = x.chunks[call.batch_axis]
    for a, c in zip(call.spatial_axes, out_spatial_chunks):
        out_chunks[a] = tuple(c)

    plans = _axis_plans(call, geometry, out_spatial_chunks)
    batches = [0] if call.batch_axis is None else range(len(x.chunks[call.batch_axis]))
    for n, qs in itertools.product(batches, itertools.product(*(range(len(c)) for c in out_spatial_chunks))):
        out_index = [0] * x.ndim
        if call.batch_axis is not None:
            out_index[call.batch_axis] = n
        for a, q in zip(call.spatial_axes, qs):
            out_index[a] = q
        key = (name, *out_index)
        per_axis = [plans[ax][q] for ax, q in enumerate(qs)]
        if any(p is None for p in per_axis):
            shape = tuple(c[i] for c, i in zip(out_chunks, out_index))
            dsk[key] = (partial(_fill_block, shape=shape, dtype=dtype, channel_axis=call.channel_axis), bias_key)
            continue
        padding = tuple(p[0] for p in per_axis if p is not None)
        func = partial(_block, run=call.run, axes=call.spatial_axes, padding=padding, **call.options)
        dsk[key] = (func, _neighbourhood(dsk, call, name, n, out_index, per_axis), weight_key, bias_key)

    # dask's annotations disagree with themselves: its Array does not match its DaskCollection protocol
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[x])  # type: ignore[list-item]
    meta = np.empty((0,) * x.ndim, dtype=dtype)
    return da.Array(graph, name, tuple(out_chunks), meta=meta)


# ---------------------------------------------------------------------------
# The public functions
# ---------------------------------------------------------------------------


def conv_transpose(
    x: da.Array,
    weight: Any,
    bias: Any = None,
    *,
    algorithm: str = "auto",
    chunks: Any = None,
    **options: Unpack[ConvTransposeOptions],
) -> da.Array:
    """Transposed convolution of a chunked Dask array: lazy, and equal to :func:`tconv.conv_transpose`.

    Parameters
    ----------
    x : dask.array.Array, shape (N, C_in, *i) or unbatched (C_in, *i)
        With ``layout="channels_last"``: ``(N, *i, C_in)`` or ``(*i, C_in)``.
        Chunked along the batch and spatial axes in any way (chunks of size 1,
        chunks smaller than the halo, uneven last chunks); the channel axis is
        rechunked to one chunk if it is split.
    weight, bias : array_like
        As for :func:`tconv.conv_transpose` (a Dask array is computed: they are
        small, and every task shares one copy in the graph).
    algorithm : str
        As for :func:`tconv.conv_transpose`, used for every block.
    **options
        ``stride``, ``padding``, ``output_padding``, ``groups``, ``dilation``,
        ``output_size``, ``layout``: exactly as for :func:`tconv.conv_transpose`
        (:class:`tconv.typing.ConvTransposeOptions`), as keywords.
    chunks : optional
        Chunks of the output's spatial axes, in any form
        :func:`dask.array.core.normalize_chunks` accepts for the spatial output
        shape (e.g. an int per axis for a regular grid, as Zarr wants). By default
        they map from the input's chunks (:func:`tconv.chunks.conv_transpose_chunks`):
        ``stride`` times each input chunk, with the crop (or zero extension) at the
        ends. Batch chunks always map one to one, and the channel axis is one chunk.

    Returns
    -------
    dask.array.Array
        Lazy; its ``compute()`` equals ``tconv.conv_transpose`` of the whole array,
        with the same shape and dtype.

    Notes
    -----
    Each output block reads its own input chunk plus
    ``floor(dilation*(k - 1)/stride)`` input elements before it per axis
    (:func:`tconv.chunks.conv_transpose_halo`; exactly
    :func:`tconv.geometry.conv_transpose_input_range`), and runs one in-memory
    :func:`tconv.conv_transpose` on them with explicit ``(begin, end)`` padding.
    See the module docstring and ``docs/dask.md``.

    Examples
    --------
    >>> import numpy as np, dask.array as da, tconv, tconv.dask
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 10, 7))    # (N, C_in, H, W)
    >>> w = np.random.default_rng(1).standard_normal((3, 4, 4, 4))     # (C_in, C_out, kH, kW)
    >>> dx = da.from_array(x, chunks=(1, 3, (4, 3, 3), 3))
    >>> y = tconv.dask.conv_transpose(dx, w, stride=2, padding=1)
    >>> y.chunks                                                       # 2*4 - 1, 2*3, 2*3 + 2 - 1
    ((1, 1), (4,), (7, 6, 7), (5, 6, 3))
    >>> np.allclose(y.compute(), tconv.conv_transpose(x, w, stride=2, padding=1))
    True
    """
    call, geometry = _prepare("conv_transpose", x, weight, bias, algorithm, options)
    dtype = _result_dtype(call, geometry)
    default = conv_transpose_chunks(geometry, call.spatial_chunks)
    return _build(call, geometry, _output_chunks(chunks, default, geometry.output_size, dtype), dtype)


def conv(
    x: da.Array,
    weight: Any,
    bias: Any = None,
    *,
    algorithm: str = "auto",
    chunks: Any = None,
    **options: Unpack[ConvOptions],
) -> da.Array:
    """Convolution of a chunked Dask array: lazy, and equal to :func:`tconv.conv`.

    The adjoint of :func:`conv_transpose`, so that a chunked down-sampling /
    up-sampling pipeline stays lazy.

    Parameters
    ----------
    x : dask.array.Array, shape (N, C_in, *i) or unbatched (C_in, *i)
        (channels last with ``layout="channels_last"``), chunked along the batch
        and spatial axes in any way.
    weight, bias, algorithm
        As for :func:`tconv.conv`.
    **options
        ``stride``, ``padding``, ``dilation``, ``groups``, ``layout``: exactly as for
        :func:`tconv.conv` (:class:`tconv.typing.ConvOptions`), as keywords.
    chunks : optional
        Chunks of the output's spatial axes (see :func:`conv_transpose`). By default
        they map from the input's: output ``j`` belongs to the input chunk holding
        its first tap's cell ``stride*j - pad_begin``
        (:func:`tconv.chunks.conv_chunks`).

    Returns
    -------
    dask.array.Array
        Lazy; its ``compute()`` equals ``tconv.conv`` of the whole array.

    Notes
    -----
    Each output block reads the cells it owns plus
    ``max(dilation*(k - 1) + 1 - stride, 0)`` cells after them per axis
    (:func:`tconv.chunks.conv_halo`; exactly :func:`tconv.geometry.conv_input_range`).

    Examples
    --------
    Down-sample by 2 and back, lazily:

    >>> import numpy as np, dask.array as da, tconv, tconv.dask
    >>> x = np.random.default_rng(0).standard_normal((1, 2, 16, 12))
    >>> w = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    >>> dx = da.from_array(x, chunks=(1, 2, 5, 4))
    >>> down = tconv.dask.conv(dx, w, stride=2, padding=1)
    >>> down.chunks          # H: boundaries 5, 10, 15 -> ceil((5 + 1)/2) = 3, 6, 8 (the last chunk is empty)
    ((1,), (2,), (3, 3, 2), (3, 2, 1))
    >>> up = tconv.dask.conv_transpose(down, w, stride=2, padding=1)
    >>> expected = tconv.conv_transpose(tconv.conv(x, w, stride=2, padding=1), w, stride=2, padding=1)
    >>> np.allclose(up.compute(), expected)
    True
    """
    call, geometry = _prepare("conv", x, weight, bias, algorithm, options)
    dtype = _result_dtype(call, geometry)
    default = conv_chunks(geometry, call.spatial_chunks)
    return _build(call, geometry, _output_chunks(chunks, default, geometry.input_size, dtype), dtype)


# ---------------------------------------------------------------------------
# The picture of the halo rule
# ---------------------------------------------------------------------------


#: The largest diagram :func:`halo_diagram` draws: columns (output cells) and rows (inputs).
MAX_DIAGRAM_CELLS = 200


def halo_diagram(
    input_size: int,
    chunks: Sequence[int],
    kernel_size: int,
    stride: int = 1,
    padding: PaddingArg = 0,
    output_padding: int = 0,
    dilation: int = 1,
    *,
    output_size: int | None = None,
) -> str:
    """Draw how a chunked 1-d transposed convolution cuts its output, and each block's halo.

    The first part draws the stamp of every input element (rows, grouped by input
    chunk) on the cells of the output (columns): ``■`` a cell of the window,
    ``·`` a cropped cell of the full output; ``|`` marks the boundaries of the
    output chunks that :func:`tconv.chunks.conv_transpose_chunks` maps from the
    input chunks. An input whose stamp crosses a boundary is in the halo of the
    next chunk. The second part lists, per output chunk, the inputs its block
    reads (:func:`tconv.geometry.conv_transpose_input_range`), the halo among them,
    and the ``(begin, end)`` padding of its in-memory call. Only integers: the
    picture computes nothing with Dask.

    Parameters
    ----------
    input_size : int
    chunks : sequence of int
        Input chunk sizes, adding up to ``input_size``.
    kernel_size, stride, padding, output_padding, dilation, output_size
        As for :func:`tconv.conv_transpose` (1-d).

    Returns
    -------
    str

    Examples
    --------
    >>> print(halo_diagram(5, (3, 2), kernel_size=3, stride=2, padding=1))
    output cell          ·  0  1  2  3  4| 5  6  7  8  ·
    input 0 (chunk 0)    ·  ■  ■         |
    input 1 (chunk 0)          ■  ■  ■   |
    input 2 (chunk 0)                ■  ■| ■
    input 3 (chunk 1)                    | ■  ■  ■
    input 4 (chunk 1)                    |       ■  ■  ·
    <BLANKLINE>
    output chunk 0: cells 0..4 read inputs 0..2, padding (1, 1)
    output chunk 1: cells 5..8 read inputs 2..4 (halo: input 2), padding (2, 1)
    """
    sizes = {"input_size": input_size, "kernel_size": kernel_size, "stride": stride, "dilation": dilation}
    i, k, s, d = (positive_int(value, name) for name, value in sizes.items())  # one axis: ints
    if output_size is not None:
        output_size = positive_int(output_size, "output_size")
    if isinstance(chunks, (str, bytes)) or not isinstance(chunks, Sequence):
        raise TypeError(f"chunks must be the input's chunk sizes, a sequence of ints, got {chunks!r}")
    g = conv_transpose_geometry(i, k, s, padding, as_int(output_padding, "output_padding"), d, output_size=output_size)
    columns = max(g.output_size[0], g.full_size[0] - g.crop_begin[0]) - min(0, -g.crop_begin[0])
    if columns > MAX_DIAGRAM_CELLS or i > MAX_DIAGRAM_CELLS:
        raise ValueError(
            f"halo_diagram draws one column per output cell and one row per input: at most {MAX_DIAGRAM_CELLS} "
            f"each, got {columns} columns and {i} rows (input_size {i}, kernel_size {k}, stride {s}, dilation {d}, "
            f"padding {show(padding)}, output_size {output_size})"
        )
    if not all(is_int(c) for c in chunks) or sum(chunks) != i:
        raise ValueError(f"chunks must be ints adding up to input_size {i}, got {show(chunks)}")
    (out_chunks,) = conv_transpose_chunks(g, (tuple(chunks),))
    (i,), (k,), (s,), (d,), (b,), (o,) = g.input_size, g.kernel_size, g.stride, g.dilation, g.crop_begin, g.output_size
    starts = list(itertools.accumulate(chunks, initial=0))[:-1]
    chunk_of = [max(c for c, a in enumerate(starts) if a <= j) for j in range(i)]
    boundaries = set(itertools.accumulate(out_chunks[:-1]))
    first, last = min(0, -b), max(o, g.full_size[0] - b)  # the cells drawn: the output and the full output
    label_width = len(f"input {i - 1} (chunk {len(chunks) - 1})") + 2

    def row(marks: dict[int, str]) -> str:
        cells = ""
        for pos in range(first, last):
            mark = marks.get(pos, "")
            cells += ("|" if pos in boundaries else " ") + mark.rjust(2)
        return cells.rstrip()

    lines = ["output cell".ljust(label_width) + row({p: str(p) if 0 <= p < o else "·" for p in range(first, last)})]
    for j in range(i):
        stamp = {s * j + d * t - b: "■" if 0 <= s * j + d * t - b < o else "·" for t in range(k)}
        lines.append(f"input {j} (chunk {chunk_of[j]})".ljust(label_width) + row(stamp))
    lines.append("")
    for q, (lo, hi) in enumerate(_bounds(out_chunks)):
        window = _block_window(g, 0, lo, hi, transpose=True)
        if window is None:
            lines.append(f"output chunk {q}: cells {lo}..{hi - 1} read no input (zeros and the bias)")
            continue
        (r0, r1), (begin, end) = window
        # its own inputs: those whose stamp starts in it (tap 0 lands in it), and for the first chunk those before
        own = range(*tap_range(-b, s, i, first if q == 0 else lo, hi))
        halo = [j for j in range(r0, r1) if j not in own]
        note = f" (halo: input{'s' if len(halo) > 1 else ''} {', '.join(map(str, halo))})" if halo else ""
        lines.append(
            f"output chunk {q}: cells {lo}..{hi - 1} read inputs {r0}..{r1 - 1}{note}, padding ({begin}, {end})"
        )
    return "\n".join(line.rstrip() for line in lines)
