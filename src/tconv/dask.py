"""Transposed convolution and convolution of Dask arrays, chunk by chunk, exactly.

``tconv.dask.conv_transpose`` and ``tconv.dask.conv`` take a chunked
:class:`dask.array.Array` and return a lazy one whose ``compute()`` equals
:func:`tconv.conv_transpose` / :func:`tconv.conv` of the whole array, for every
parameter the in-memory functions take. Install with ``pip install "tconv[dask]"``;
``import tconv`` never imports this module (nor Dask).

How a chunk is computed (see ``docs/dask.md`` for the picture)
--------------------------------------------------------------
Per spatial axis, with the window model of :mod:`tconv.geometry` (input ``j`` and
tap ``t`` meet at output ``o = s*j + d*t - b``):

1. **Output chunks.** By default they map from the input chunks
   (:func:`tconv.chunks.conv_transpose_chunks`): the output chunk of input chunk
   ``[a, a')`` is ``[s*a - b, s*a' - b)``, the cells where its elements' stamps
   start, cut to the output at both ends; ``chunks=`` chooses any other output
   chunking instead (say a regular one, for Zarr).
2. **Halo.** Output chunk ``[lo, hi)`` needs exactly the inputs
   :func:`tconv.geometry.conv_transpose_input_range` returns: its own ones plus
   ``floor(d*(k - 1)/s)`` before them (:func:`tconv.chunks.conv_transpose_halo`).
   Only those are cut out of the neighbouring chunks (one small ``getitem`` task
   each) and concatenated with the chunk: no task ever holds more than this
   neighbourhood and its output block, and there is no overlap-add pass.
3. **The block** is then one in-memory :func:`tconv.conv_transpose` of the
   neighbourhood, with explicit ``(begin, end)`` padding pairs that choose this
   chunk's window of the neighbourhood's full output::

       begin = lo + b - s*first      (first = first input of the neighbourhood)
       end   = full_of_block - begin - (hi - lo)

   so every algorithm of :func:`tconv.algorithms` (and ``"auto"``'s choice) runs
   on each block unchanged.

The convolution is the mirror image (:func:`tconv.chunks.conv_chunks`,
:func:`tconv.geometry.conv_input_range`, :func:`tconv.chunks.conv_halo`): its
outputs ``[a, a')`` read the cells ``[s*a - b, s*a' - b)`` they own plus
``max(d*(k - 1) + 1 - s, 0)`` after.

The graph has one task per output block, one per halo piece (a bounded number
per block) and one for each of the weight and the bias: it grows linearly with
the number of chunks. Batch chunks map one to one; the channel axis must be one
chunk, and is rechunked to one if it is not (a channel mixes all channels).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

try:
    import dask.array as da
    from dask.array.core import normalize_chunks
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError(f"tconv.dask needs Dask: pip install 'tconv[dask]' ({error})") from error

import tconv

from ._validate import is_int, numeric_array, show
from .chunks import conv_chunks, conv_transpose_chunks
from .geometry import (
    Geometry,
    PaddingArg,
    conv_geometry,
    conv_input_range,
    conv_transpose_geometry,
    conv_transpose_input_range,
)
from .ops import check_operands, spatial_output_size

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


def _conv_transpose_block(pieces, weight, bias, *, axes, padding, **kwargs) -> np.ndarray:
    """One output block: the in-memory transposed convolution of the block's neighbourhood."""
    return tconv.conv_transpose(_assemble(pieces, axes), weight, bias, padding=padding, **kwargs)


def _conv_block(pieces, weight, bias, *, axes, padding, **kwargs) -> np.ndarray:
    """One output block: the in-memory convolution of the block's neighbourhood."""
    return tconv.conv(_assemble(pieces, axes), weight, bias, padding=padding, **kwargs)


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


def _small_array(value: Any) -> Any:
    """The weight or bias in memory (a Dask array is computed: it is small); checked by the caller."""
    return value.compute() if isinstance(value, da.Array) else value


def _prepare(op: str, x: Any, weight: Any, bias: Any, groups: Any, layout: Any, weight_in_axis: int):
    """Check the arguments as the in-memory functions do (:func:`tconv.ops.check_operands`, on
    the shape of ``x``), and put each group's channels into one chunk.

    Returns ``(x, w, b, axes)`` where ``axes`` holds the batch axis (or None), the
    channel axis and the spatial axes of ``x`` (and of the result).
    """
    if not isinstance(x, da.Array):
        raise TypeError(
            f"{op}: x must be a dask.array.Array, got {type(x).__name__}; wrap it with "
            f"dask.array.from_array(x, chunks=...), or call tconv.{op} for an in-memory array"
        )
    if any(np.isnan(size) for size in x.shape):
        raise ValueError(f"{op}: x has unknown chunk sizes {x.chunks}; call x.compute_chunk_sizes() first")
    numeric_array(np.empty(0, dtype=x.dtype), "x")
    ops = check_operands(
        op,
        x.shape,
        _small_array(weight),
        _small_array(bias),
        groups,
        layout,
        weight_in_axis=weight_in_axis,
        input_name="x",
    )
    channel = ops.channel_axis
    if len(x.chunks[channel]) > 1:
        # every output channel reads every input channel of its group: one chunk
        x = x.rechunk({channel: -1})
    return x, ops.weight, ops.bias, (0 if ops.batched else None, channel, ops.spatial_axes)


def _probe_dtype(op: str, x: da.Array, w: np.ndarray, b: np.ndarray | None, axes: tuple, **kwargs) -> np.dtype:
    """Check weight, bias, groups, stride, dilation and algorithm with a tiny in-memory call;
    return the result dtype."""
    _, channel, spatial = axes
    shape = [1] * x.ndim
    shape[channel] = x.shape[channel]
    if op == "conv":  # the smallest input that gives one output: the dilated kernel's span
        dilation = _ints(kwargs["dilation"], len(spatial))
        for a, k, d in zip(spatial, w.shape[2:], dilation):
            shape[a] = d * (k - 1) + 1
        return tconv.conv(np.zeros(shape, dtype=x.dtype), w, b, padding="valid", **kwargs).dtype
    return tconv.conv_transpose(np.zeros(shape, dtype=x.dtype), w, b, padding="valid", **kwargs).dtype


def _ints(value: Any, nd: int) -> tuple[int, ...]:
    if is_int(value):
        return (int(value),) * nd
    if isinstance(value, Sequence) and len(value) == nd and all(is_int(v) and v >= 1 for v in value):
        return tuple(int(v) for v in value)
    return (1,) * nd  # not reached with valid arguments: tconv raises on them first


def _output_chunks(chunks: Any, default: tuple[tuple[int, ...], ...], shape: tuple[int, ...], dtype) -> tuple:
    """The spatial output chunks: mapped from the input's (None) or as Dask normalises ``chunks``."""
    if chunks is None:
        return default
    try:
        return normalize_chunks(chunks, shape=shape, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"chunks must be None (map the input's chunks) or the spatial output chunks, one entry "
            f"per spatial axis of the output of spatial shape {show(shape)}; got {chunks!r}: {error}"
        ) from None


# ---------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------


def _pieces_of_range(chunks: tuple[int, ...], start: int, stop: int) -> list[tuple[int, slice]]:
    """The input chunks that overlap ``[start, stop)``, each with the slice of it inside the range."""
    pieces, offset = [], 0
    for index, size in enumerate(chunks):
        lo, hi = max(start, offset), min(stop, offset + size)
        if lo < hi:
            pieces.append((index, slice(lo - offset, hi - offset)))
        offset += size
    return pieces


def _build(
    op: str,
    x: da.Array,
    w: np.ndarray,
    b: np.ndarray | None,
    geometry: Geometry,
    axes: tuple[int | None, int, tuple[int, ...]],
    out_spatial_chunks: tuple[tuple[int, ...], ...],
    c_out: int,
    dtype: np.dtype,
    kwargs: dict,
) -> da.Array:
    """The graph: per output block, its halo pieces and one in-memory call."""
    batch_axis, channel_axis, spatial_axes = axes
    transpose = op == "conv_transpose"
    input_range = conv_transpose_input_range if transpose else conv_input_range
    k_eff = geometry.effective_kernel_size
    token = tokenize(op, x, w, b, geometry, out_spatial_chunks, sorted(kwargs.items()))
    name = f"tconv-{op}-{token}"
    weight_key = (f"tconv-weight-{tokenize(w)}",)
    bias_key = None if b is None else (f"tconv-bias-{tokenize(b)}",)
    dsk: dict = {weight_key: w}
    if bias_key is not None:
        dsk[bias_key] = b

    # per spatial axis and output chunk: its range, its input range, and its (begin, end) padding
    plans = []
    for ax, out_chunks in enumerate(out_spatial_chunks):
        s, bb = geometry.stride[ax], geometry.crop_begin[ax]
        plan, lo = [], 0
        for size in out_chunks:
            hi = lo + size
            span = input_range(geometry, ax, lo, hi)
            if span is None:
                plan.append(None)
            else:
                r0, r1 = span
                if transpose:  # this chunk's window of the neighbourhood's full output
                    begin = lo + bb - s * r0
                    end = (r1 - r0 - 1) * s + k_eff[ax] - begin - size
                else:  # pad (or crop) the neighbourhood so that it gives exactly `size` outputs
                    begin = r0 + bb - s * lo
                    end = (size - 1) * s + k_eff[ax] - (r1 - r0) - begin
                pieces = _pieces_of_range(x.chunks[spatial_axes[ax]], r0, r1)
                plan.append(((begin, end), pieces))
            lo = hi
        plans.append(plan)

    out_chunks: list[tuple[int, ...]] = [()] * x.ndim
    out_chunks[channel_axis] = (c_out,)
    if batch_axis is not None:
        out_chunks[batch_axis] = x.chunks[batch_axis]
    for a, c in zip(spatial_axes, out_spatial_chunks):
        out_chunks[a] = tuple(c)
    batches = range(len(x.chunks[batch_axis])) if batch_axis is not None else [None]
    block = _conv_transpose_block if transpose else _conv_block
    piece_name = f"{name}-halo"

    for n, qs in itertools.product(batches, itertools.product(*(range(len(c)) for c in out_spatial_chunks))):
        out_index = [0] * x.ndim
        if batch_axis is not None:
            out_index[batch_axis] = n
        for a, q in zip(spatial_axes, qs):
            out_index[a] = q
        key = (name, *out_index)
        per_axis = [plans[ax][q] for ax, q in enumerate(qs)]
        if any(p is None for p in per_axis):
            shape = [c[i] for c, i in zip(out_chunks, out_index)]
            dsk[key] = (partial(_fill_block, shape=tuple(shape), dtype=dtype, channel_axis=channel_axis), bias_key)
            continue
        padding = tuple(p[0] for p in per_axis)

        def piece(combo: tuple[tuple[int, slice], ...]) -> tuple:
            in_index = [0] * x.ndim
            index = [slice(None)] * x.ndim
            if batch_axis is not None:
                in_index[batch_axis] = n
            for a, (c, sl) in zip(spatial_axes, combo):
                in_index[a] = c
                index[a] = sl
            in_key = (x.name, *in_index)
            whole = all(sl.start == 0 and sl.stop == x.chunks[a][c] for a, (c, sl) in zip(spatial_axes, combo))
            if whole:
                return in_key
            piece_key = (piece_name, *out_index, *(c for c, _ in combo))
            dsk[piece_key] = (_take, in_key, tuple(index))
            return piece_key

        def grid(depth: int, combo: tuple) -> Any:
            if depth == len(per_axis):
                return piece(combo)
            return [grid(depth + 1, combo + (p,)) for p in per_axis[depth][1]]

        func = partial(block, axes=spatial_axes, padding=padding, **kwargs)
        dsk[key] = (func, grid(0, ()), weight_key, bias_key)

    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[x])
    meta = np.empty((0,) * x.ndim, dtype=dtype)
    return da.Array(graph, name, tuple(out_chunks), meta=meta)


# ---------------------------------------------------------------------------
# The public functions
# ---------------------------------------------------------------------------


def conv_transpose(
    x: da.Array,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    output_size: int | Sequence[int] | None = None,
    layout: str = "channels_first",
    algorithm: str = "auto",
    chunks: Any = None,
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
    stride, padding, output_padding, groups, dilation, output_size, layout, algorithm
        Exactly as for :func:`tconv.conv_transpose`; ``algorithm`` is used for
        every block.
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
    x, w, b, axes = _prepare("conv_transpose", x, weight, bias, groups, layout, weight_in_axis=0)
    batch_axis, channel_axis, spatial_axes = axes
    nd = w.ndim - 2
    kwargs = dict(stride=stride, groups=groups, dilation=dilation, layout=layout, algorithm=algorithm)
    dtype = _probe_dtype("conv_transpose", x, w, b, axes, **kwargs)
    c_out = w.shape[1] * groups
    template: list[int | None] = [None] * x.ndim
    template[channel_axis] = c_out
    if batch_axis is not None:
        template[batch_axis] = x.shape[batch_axis]
    out_size = spatial_output_size(output_size, nd, tuple(template))
    spatial = tuple(x.shape[a] for a in spatial_axes)
    geometry = conv_transpose_geometry(
        spatial, w.shape[2:], stride, padding, output_padding, dilation, output_size=out_size
    )
    default = conv_transpose_chunks(geometry, tuple(x.chunks[a] for a in spatial_axes))
    out_chunks = _output_chunks(chunks, default, geometry.output_size, dtype)
    return _build("conv_transpose", x, w, b, geometry, axes, out_chunks, c_out, dtype, kwargs)


def conv(
    x: da.Array,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    layout: str = "channels_first",
    algorithm: str = "auto",
    chunks: Any = None,
) -> da.Array:
    """Convolution of a chunked Dask array: lazy, and equal to :func:`tconv.conv`.

    The adjoint of :func:`conv_transpose`, so that a chunked down-sampling /
    up-sampling pipeline stays lazy.

    Parameters
    ----------
    x : dask.array.Array, shape (N, C_in, *i) or unbatched (C_in, *i)
        (channels last with ``layout="channels_last"``), chunked along the batch
        and spatial axes in any way.
    weight, bias, stride, padding, dilation, groups, layout, algorithm
        Exactly as for :func:`tconv.conv`.
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
    x, w, b, axes = _prepare("conv", x, weight, bias, groups, layout, weight_in_axis=1)
    spatial_axes = axes[2]
    kwargs = dict(stride=stride, groups=groups, dilation=dilation, layout=layout, algorithm=algorithm)
    dtype = _probe_dtype("conv", x, w, b, axes, **kwargs)
    spatial = tuple(x.shape[a] for a in spatial_axes)
    geometry = conv_geometry(spatial, w.shape[2:], stride, padding, dilation)
    default = conv_chunks(geometry, tuple(x.chunks[a] for a in spatial_axes))
    out_chunks = _output_chunks(chunks, default, geometry.input_size, dtype)
    return _build("conv", x, w, b, geometry, axes, out_chunks, w.shape[0], dtype, kwargs)


# ---------------------------------------------------------------------------
# The picture of the halo rule
# ---------------------------------------------------------------------------


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
    and the ``(begin, end)`` padding of its in-memory call. Needs no Dask.

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
    g = conv_transpose_geometry(
        input_size, kernel_size, stride, padding, output_padding, dilation, output_size=output_size
    )
    ((out_chunks,),) = (conv_transpose_chunks(g, (tuple(chunks),)),)
    (i,), (k,), (s,), (d,), (b,), (o,) = g.input_size, g.kernel_size, g.stride, g.dilation, g.crop_begin, g.output_size
    starts = [sum(chunks[:n]) for n in range(len(chunks))]
    chunk_of = [max(c for c, a in enumerate(starts) if a <= j) for j in range(i)]
    boundaries = {sum(out_chunks[:n]) for n in range(1, len(out_chunks))}
    first = min(0, -b)
    last = max(o, (i - 1) * s + d * (k - 1) + 1 - b)
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
    lo = 0
    for q, size in enumerate(out_chunks):
        hi = lo + size
        span = conv_transpose_input_range(g, 0, lo, hi)
        if span is None:
            lines.append(f"output chunk {q}: cells {lo}..{hi - 1} read no input (zeros and the bias)")
        else:
            r0, r1 = span
            own = [j for j in range(r0, r1) if lo <= s * j - b < hi or (q == 0 and s * j - b < 0)]
            halo = [j for j in range(r0, r1) if j not in own]
            begin = lo + b - s * r0
            end = (r1 - r0 - 1) * s + d * (k - 1) + 1 - begin - size
            note = f" (halo: input{'s' if len(halo) > 1 else ''} {', '.join(map(str, halo))})" if halo else ""
            lines.append(
                f"output chunk {q}: cells {lo}..{hi - 1} read inputs {r0}..{r1 - 1}{note}, padding ({begin}, {end})"
            )
        lo = hi
    return "\n".join(line.rstrip() for line in lines)
