"""The one driver that keeps an algorithm's temporary memory under the ``memory_budget`` option.

An algorithm that needs ``footprint(geometry, problem)`` bytes of temporaries
(column buffers, padded copies, ...) for one sample runs on blocks of as many
samples as fit the budget. A sample that does not fit alone is cut into tiles: the
tile shape is halved along the first axes, then the next, until a tile's
temporaries fit, and every tile, itself a (transposed) convolution of the input
slab it reads with its own geometry (:mod:`tconv._algorithms.tiling`), runs sample
by sample. When not even a tile of one cell fits, the call is refused before
anything is computed (:class:`BudgetError`): :meth:`Blocked.minimum` is that
smallest need, which :mod:`tconv.ops` checks up front.

:func:`blocks` is the rule; :class:`Blocked` applies it to the transposed-convolution
algorithms (tiles of their output), :class:`ConvBlocked` to the convolutions and the
weight gradient (tiles of the convolution's output, the small side).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .._options import effective
from .._validate import show_bytes
from ..geometry import Geometry
from .problem import Problem, layout_index
from .tiling import Tile, conv_tile_geometry, conv_tiles, tile_geometry, tiles

__all__ = ["Blocked", "BudgetError", "ConvBlocked", "blocked", "blocks", "conv_blocks", "show_bytes"]

#: ``impl(x, w, geometry, problem, out)``: compute a batch block into ``out`` (its whole output, C-contiguous).
Impl = Callable[[np.ndarray, np.ndarray, Geometry, Problem, np.ndarray], None]
#: ``footprint(geometry, problem)``: an upper estimate of ``impl``'s temporary bytes for one sample.
Footprint = Callable[[Geometry, Problem], int]


class BudgetError(ValueError):
    """Even the smallest piece of a call needs more temporary memory than ``memory_budget``."""

    def __init__(self, needed: int, budget: int) -> None:
        super().__init__(
            f"needs at least {show_bytes(needed)} of temporary memory for one output cell, more than "
            f"memory_budget={budget} ({show_bytes(budget)})"
        )
        self.needed = needed
        self.budget = budget


def blocks(
    n: int,
    per_sample: int,
    sizes: tuple[int, ...],
    tile_bytes: Callable[[tuple[int, ...]], float],
    tiling: Callable[[tuple[int, ...]], Iterable[Tile]],
    fixed: int = 0,
) -> Iterator[tuple[slice, Tile | None]]:
    """The pieces of a batch of ``n`` samples to compute one after the other: ``(samples, tile)``.

    ``tile`` is ``None`` for a block of whole samples (as many as the budget holds
    at ``per_sample`` bytes each, after the ``fixed`` bytes a block needs whatever its
    size, such as a result-sized accumulator). When one sample exceeds the budget, the tile shape
    starts at ``sizes`` (the extent the tiles cut) and is halved, axis after axis,
    while ``tile_bytes(shape)`` exceeds the budget; then every tile of
    ``tiling(shape)`` comes once per sample. Raises :class:`BudgetError` (before
    yielding anything) when a tile of one cell still exceeds it.
    """
    budget = effective().memory_budget
    if fixed + per_sample <= budget:
        step = max(1, (budget - fixed) // max(per_sample, 1))
        for n0 in range(0, n, step):
            yield slice(n0, min(n, n0 + step)), None
        return
    shape = list(sizes)
    for axis in range(len(shape)):
        while shape[axis] > 1 and tile_bytes(tuple(shape)) > budget:
            shape[axis] = -(-shape[axis] // 2)
    needed = tile_bytes(tuple(shape))
    if needed > budget:
        raise BudgetError(int(needed), budget)
    for tile in tiling(tuple(shape)):
        for n0 in range(n):
            yield slice(n0, n0 + 1), tile


def _starts(sizes: tuple[int, ...], shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Where to look for the largest tile of ``shape``: at the start and in the middle (the middle
    tiles read the most inputs; the first may be cut by the padding)."""
    middle = tuple(max(0, (o - t) // 2) for o, t in zip(sizes, shape))
    return [(0,) * len(sizes), middle]


class Blocked:
    """A transposed-convolution algorithm ``impl`` run under the memory budget (:func:`blocks`).

    Tiles cut the output; a tile that no input reaches is the bias alone, the others
    are computed into a temporary of the tile's size and copied into place.
    """

    def __init__(self, impl: Impl, footprint: Footprint) -> None:
        self.impl = impl
        self.footprint = footprint

    def tile_bytes(self, geometry: Geometry, problem: Problem, shape: tuple[int, ...]) -> int:
        """Temporary bytes of the largest tile of ``shape`` (its own output included)."""
        most = 0
        for start in _starts(geometry.output_size, shape):
            stop = tuple(min(o, a + t) for a, o, t in zip(start, geometry.output_size, shape))
            tile = tile_geometry(geometry, start, stop)
            if tile.geometry is not None:
                own = math.prod(tile.geometry.output_size) * problem.c_out * problem.dtype.itemsize
                most = max(most, self.footprint(tile.geometry, problem) + own)
        return most

    def minimum(self, geometry: Geometry, problem: Problem) -> int:
        """The temporary bytes of the smallest piece: one sample, or a tile of one output cell."""
        whole = self.footprint(geometry, problem)
        return min(whole, self.tile_bytes(geometry, problem, (1,) * geometry.ndim))

    def __call__(self, x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
        out = problem.output(x.shape[0], geometry.output_size)

        def tile_bytes(shape: tuple[int, ...]) -> int:
            return self.tile_bytes(geometry, problem, shape)

        def tiling(shape: tuple[int, ...]) -> Iterator[Tile]:
            return tiles(geometry, shape)

        pieces = blocks(x.shape[0], self.footprint(geometry, problem), geometry.output_size, tile_bytes, tiling)
        for samples, tile in pieces:
            if tile is None:
                self.impl(x[samples], w, geometry, problem, out[samples])
                continue
            target = out[layout_index(problem.layout, samples, tile.output)]
            if tile.geometry is None:
                target[...] = problem.bias_fill(geometry.ndim)
                continue
            part = problem.output(1, tile.geometry.output_size)
            self.impl(x[layout_index(problem.layout, samples, tile.input)], w, tile.geometry, problem, part)
            target[...] = part
        return out


def blocked(impl: Impl, footprint: Footprint) -> Blocked:
    """:class:`Blocked` (``impl`` under the memory budget)."""
    return Blocked(impl, footprint)


class ConvBlocked:
    """The pieces of a convolution (or a weight gradient) whose temporaries for one sample are
    ``footprint(geometry)``, plus ``fixed(geometry)`` once per piece whatever its size (a weight
    gradient's accumulator, a bounded scratch): blocks of samples, or tiles of the convolution's output
    (the small side of ``geometry``), each reading its slab of the big side
    (:func:`tconv._algorithms.tiling.conv_tiles`)."""

    def __init__(self, footprint: Callable[[Geometry], int], fixed: Callable[[Geometry], int] | None = None) -> None:
        self.footprint = footprint
        self.fixed = fixed if fixed is not None else (lambda geometry: 0)

    def tile_bytes(self, geometry: Geometry, shape: tuple[int, ...]) -> int:
        most = 0
        for start in _starts(geometry.input_size, shape):
            stop = tuple(min(i, a + t) for a, i, t in zip(start, geometry.input_size, shape))
            tile = conv_tile_geometry(geometry, start, stop)
            assert tile.geometry is not None  # a convolution's tile always reads at least one cell
            most = max(most, self.footprint(tile.geometry) + self.fixed(tile.geometry))
        return most

    def minimum(self, geometry: Geometry) -> int:
        """The temporary bytes of the smallest piece: one sample, or a tile of one output cell."""
        whole = self.footprint(geometry) + self.fixed(geometry)
        return min(whole, self.tile_bytes(geometry, (1,) * geometry.ndim))

    def pieces(self, n: int, geometry: Geometry) -> Iterator[tuple[slice, Tile | None]]:
        def tile_bytes(shape: tuple[int, ...]) -> int:
            return self.tile_bytes(geometry, shape)

        def tiling(shape: tuple[int, ...]) -> Iterator[Tile]:
            return conv_tiles(geometry, shape)

        return blocks(n, self.footprint(geometry), geometry.input_size, tile_bytes, tiling, self.fixed(geometry))

    def run(
        self,
        block: Callable[[np.ndarray, np.ndarray, Geometry, Problem], np.ndarray],
        x: np.ndarray,
        w: np.ndarray,
        geometry: Geometry,
        problem: Problem,
    ) -> np.ndarray:
        """A convolution: ``block(x_piece, w, piece_geometry, problem)`` on each of :meth:`pieces`, written
        into one output (``x`` has ``geometry.output_size``, the result ``geometry.input_size``)."""
        pieces = list(self.pieces(x.shape[0], geometry))
        if len(pieces) == 1 and pieces[0][1] is None:  # one block: its result is the output
            return block(x[pieces[0][0]], w, geometry, problem)
        out = problem.output(x.shape[0], geometry.input_size)
        for samples, tile in pieces:
            if tile is None:
                out[samples] = block(x[samples], w, geometry, problem)
            else:
                assert tile.geometry is not None  # a convolution's tile always reads at least one cell
                xs = x[layout_index(problem.layout, samples, tile.input)]
                out[layout_index(problem.layout, samples, tile.output)] = block(xs, w, tile.geometry, problem)
        return out


def conv_blocks(
    n: int, footprint: Callable[[Geometry], int], geometry: Geometry
) -> Iterator[tuple[slice, Tile | None]]:
    """:meth:`ConvBlocked.pieces`: the pieces of a convolution with temporaries ``footprint(geometry)`` per sample."""
    return ConvBlocked(footprint).pieces(n, geometry)
