"""Output tiles of a transposed convolution and the input slab each one needs.

A tile of the output, ``[start, stop)`` per axis, receives contributions only from
inputs ``j`` with ``start <= s*j + d*t - b < stop`` for some tap ``t``:
``ceil((start + b - d*(k - 1)) / s) <= j <= floor((stop - 1 + b) / s)``, clipped to
the input. The tile is itself a transposed convolution of that slab, with the same
kernel, stride and dilation and a window that starts at
``crop_begin = b + start - s*j_first``: the window model of :mod:`tconv.geometry`
turns tiling into geometry. :mod:`tconv._algorithms.blocking` uses the tiles to keep
temporary memory under the budget for samples too large to process whole, and the
``"gemm"`` algorithm to cut its cache-sized bands.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from typing import NamedTuple

from ..geometry import Geometry, conv_input_range, conv_transpose_input_range

__all__ = ["Tile", "conv_tile_geometry", "conv_tiles", "shares", "tile_geometry", "tiles"]


class Tile(NamedTuple):
    """One output tile: where it goes, which input it reads, and its own geometry.

    ``geometry`` is ``None`` when no input reaches the tile (it is the bias alone).
    """

    output: tuple[slice, ...]
    input: tuple[slice, ...]
    geometry: Geometry | None


#: Tiles whose geometry is kept (both functions below depend on their arguments only, and work through
#: every tap of the kernel: a 1024-tap vocoder layer's memory check took 6 ms a call without the cache).
TILE_CACHE = 4096


@functools.lru_cache(maxsize=TILE_CACHE)
def tile_geometry(geometry: Geometry, start: tuple[int, ...], stop: tuple[int, ...]) -> Tile:
    """The tile ``[start, stop)`` of the output of ``geometry``.

    The input slab is :func:`tconv.geometry.conv_transpose_input_range` per axis.

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> g = conv_transpose_geometry(8, 4, stride=2, padding=1)      # output 16
    >>> t = tile_geometry(g, (4,), (8,))
    >>> t.input, t.geometry.input_size, t.geometry.crop_begin, t.geometry.output_size
    ((slice(1, 5, None),), (4,), (3,), (4,))
    """
    out_slices = tuple(slice(a, b) for a, b in zip(start, stop))
    ranges = [conv_transpose_input_range(geometry, axis, start[axis], stop[axis]) for axis in range(geometry.ndim)]
    slabs = [r for r in ranges if r is not None]
    if len(slabs) < geometry.ndim:  # no input reaches the tile: it is the bias alone
        return Tile(out_slices, tuple(slice(0, 0) for _ in ranges), None)
    sub = Geometry(
        tuple(hi - lo for lo, hi in slabs),
        tuple(b - a for a, b in zip(start, stop)),
        geometry.kernel_size,
        geometry.stride,
        geometry.dilation,
        tuple(b + a - s * lo for b, a, s, (lo, _) in zip(geometry.crop_begin, start, geometry.stride, slabs)),
    )
    return Tile(out_slices, tuple(slice(lo, hi) for lo, hi in slabs), sub)


def tiles(geometry: Geometry, shape: tuple[int, ...]) -> Iterator[Tile]:
    """All tiles of at most ``shape`` output cells per axis, in C order."""
    ranges = [range(0, o, t) for o, t in zip(geometry.output_size, shape)]
    for start in itertools.product(*ranges):
        stop = tuple(min(o, a + t) for a, o, t in zip(start, geometry.output_size, shape))
        yield tile_geometry(geometry, start, stop)


@functools.lru_cache(maxsize=TILE_CACHE)
def conv_tile_geometry(geometry: Geometry, start: tuple[int, ...], stop: tuple[int, ...]) -> Tile:
    """The tile ``[start, stop)`` of a *convolution's* output (the small side of ``geometry``).

    The tile reads the slab :func:`tconv.geometry.conv_input_range` per axis and is a
    convolution of that slab with ``crop_begin = b - s*start + slab_start``. A tile
    that reads only padding keeps one input cell, so its geometry stays valid (it
    computes zeros plus the bias). ``Tile.output`` indexes the convolution's output,
    ``Tile.input`` its input.

    Examples
    --------
    >>> from tconv.geometry import conv_geometry
    >>> g = conv_geometry(16, 4, stride=2, padding=1)               # output 8
    >>> t = conv_tile_geometry(g, (2,), (5,))
    >>> t.input, t.geometry.input_size, t.geometry.output_size, t.geometry.crop_begin
    ((slice(3, 11, None),), (3,), (8,), (0,))
    """
    out_slices, in_slices, sizes, begins = [], [], [], []
    for axis in range(geometry.ndim):
        cells = conv_input_range(geometry, axis, start[axis], stop[axis])
        lo, hi = cells if cells is not None else (0, 1)
        out_slices.append(slice(start[axis], stop[axis]))
        in_slices.append(slice(lo, hi))
        sizes.append(hi - lo)
        begins.append(geometry.crop_begin[axis] - geometry.stride[axis] * start[axis] + lo)
    sub = Geometry(
        tuple(b - a for a, b in zip(start, stop)),
        tuple(sizes),
        geometry.kernel_size,
        geometry.stride,
        geometry.dilation,
        tuple(begins),
    )
    return Tile(tuple(out_slices), tuple(in_slices), sub)


def conv_tiles(geometry: Geometry, shape: tuple[int, ...]) -> Iterator[Tile]:
    """All tiles of at most ``shape`` convolution outputs per axis, in C order."""
    ranges = [range(0, i, t) for i, t in zip(geometry.input_size, shape)]
    for start in itertools.product(*ranges):
        stop = tuple(min(i, a + t) for a, i, t in zip(start, geometry.input_size, shape))
        yield conv_tile_geometry(geometry, start, stop)


def shares(count: int, threads: int) -> int:
    """``count`` tiles made at least ``threads``, and a multiple of them when fewer than four each: with
    few tiles on the threads, one more tile on one thread is a large part of the call.

    Examples
    --------
    >>> shares(3, 2), shares(4, 2), shares(9, 2)
    (4, 4, 9)
    """
    if count < 4 * threads:
        return max(threads, -(-count // threads) * threads)
    return count
