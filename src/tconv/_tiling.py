"""Output tiles of a transposed convolution and the input slab each one needs.

A tile of the output, ``[start, stop)`` per axis, receives contributions only from
inputs ``j`` with ``start <= s*j + d*t - b < stop`` for some tap ``t``:
``ceil((start + b - d*(k - 1)) / s) <= j <= floor((stop - 1 + b) / s)``, clipped to
the input. The tile is itself a transposed convolution of that slab, with the same
kernel, stride and dilation and a window that starts at
``crop_begin = b + start - s*j_first``: the window model of :mod:`tconv.shape`
turns tiling into geometry. Used to keep temporary memory under the budget for
samples too large to process whole.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import NamedTuple

from .shape import Geometry

__all__ = ["Tile", "conv_tile_geometry", "conv_tiles", "tile_geometry", "tiles"]


class Tile(NamedTuple):
    """One output tile: where it goes, which input it reads, and its own geometry.

    ``geometry`` is ``None`` when no input reaches the tile (it is the bias alone).
    """

    output: tuple[slice, ...]
    input: tuple[slice, ...]
    geometry: Geometry | None


def tile_geometry(geometry: Geometry, start: tuple[int, ...], stop: tuple[int, ...]) -> Tile:
    """The tile ``[start, stop)`` of the output of ``geometry``.

    Examples
    --------
    >>> from tconv.shape import conv_transpose_geometry
    >>> g = conv_transpose_geometry(8, 4, stride=2, padding=1)      # output 16
    >>> t = tile_geometry(g, (4,), (8,))
    >>> t.input, t.geometry.input_size, t.geometry.crop_begin, t.geometry.output_size
    ((slice(1, 5, None),), (4,), (3,), (4,))
    """
    out_slices, in_slices, sizes, begins = [], [], [], []
    empty = False
    for a in range(geometry.ndim):
        i, k, s, d, b = (geometry.input_size[a], geometry.kernel_size[a], geometry.stride[a],
                         geometry.dilation[a], geometry.crop_begin[a])
        lo = max(0, -((d * (k - 1) - start[a] - b) // s))  # ceil((start + b - d*(k-1)) / s)
        hi = min(i - 1, (stop[a] - 1 + b) // s)
        out_slices.append(slice(start[a], stop[a]))
        if lo > hi:
            empty = True
            lo, hi = 0, -1
        in_slices.append(slice(lo, hi + 1))
        sizes.append(hi - lo + 1)
        begins.append(b + start[a] - s * lo)
    if empty:
        return Tile(tuple(out_slices), tuple(in_slices), None)
    sub = Geometry(tuple(sizes), tuple(b - a for a, b in zip(start, stop)), geometry.kernel_size,
                   geometry.stride, geometry.dilation, tuple(begins))
    return Tile(tuple(out_slices), tuple(in_slices), sub)


def tiles(geometry: Geometry, shape: tuple[int, ...]) -> Iterator[Tile]:
    """All tiles of at most ``shape`` output cells per axis, in C order."""
    ranges = [range(0, o, t) for o, t in zip(geometry.output_size, shape)]
    for start in itertools.product(*ranges):
        stop = tuple(min(o, a + t) for a, o, t in zip(start, geometry.output_size, shape))
        yield tile_geometry(geometry, start, stop)


def conv_tile_geometry(geometry: Geometry, start: tuple[int, ...], stop: tuple[int, ...]) -> Tile:
    """The tile ``[start, stop)`` of a *convolution's* output (the small side of ``geometry``).

    Output ``j`` of the convolution reads input positions ``s*j + d*t - b``; the
    tile reads the slab ``[s*start - b, s*(stop - 1) - b + d*(k - 1)]`` clipped to the
    input, and is a convolution of that slab with ``crop_begin = b - s*start + slab_start``.
    ``Tile.output`` indexes the convolution's output, ``Tile.input`` its input.

    Examples
    --------
    >>> from tconv.shape import conv_geometry
    >>> g = conv_geometry(16, 4, stride=2, padding=1)               # output 8
    >>> t = conv_tile_geometry(g, (2,), (5,))
    >>> t.input, t.geometry.input_size, t.geometry.output_size, t.geometry.crop_begin
    ((slice(3, 11, None),), (3,), (8,), (0,))
    """
    out_slices, in_slices, sizes, begins = [], [], [], []
    for a in range(geometry.ndim):
        o, k, s, d, b = (geometry.output_size[a], geometry.kernel_size[a], geometry.stride[a],
                         geometry.dilation[a], geometry.crop_begin[a])
        lo = max(0, s * start[a] - b)
        hi = min(o, s * (stop[a] - 1) - b + d * (k - 1) + 1)
        if hi <= lo:  # the tile reads only padding: keep one input cell so the geometry stays valid
            lo, hi = (0, 1) if lo == 0 else (o - 1, o)
        out_slices.append(slice(start[a], stop[a]))
        in_slices.append(slice(lo, hi))
        sizes.append(hi - lo)
        begins.append(b - s * start[a] + lo)
    sub = Geometry(tuple(b - a for a, b in zip(start, stop)), tuple(sizes), geometry.kernel_size,
                   geometry.stride, geometry.dilation, tuple(begins))
    return Tile(tuple(out_slices), tuple(in_slices), sub)


def conv_tiles(geometry: Geometry, shape: tuple[int, ...]) -> Iterator[Tile]:
    """All tiles of at most ``shape`` convolution outputs per axis, in C order."""
    ranges = [range(0, i, t) for i, t in zip(geometry.input_size, shape)]
    for start in itertools.product(*ranges):
        stop = tuple(min(i, a + t) for a, i, t in zip(start, geometry.input_size, shape))
        yield conv_tile_geometry(geometry, start, stop)
