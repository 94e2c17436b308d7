"""The one driver that keeps an algorithm's temporary memory under the ``memory_budget`` option.

An algorithm that needs ``per_sample`` bytes of temporaries (column buffers, padded
copies, ...) for one sample runs on blocks of as many samples as fit the budget.
A sample that does not fit alone is cut into tiles: the tile shape is halved along
the first axes, then the next, until a tile's temporaries fit, and every tile, itself
a (transposed) convolution of the input slab it reads with its own geometry
(:mod:`tconv._algorithms.tiling`), runs sample by sample. :func:`blocks` is that
rule; :func:`blocked` applies it to the transposed-convolution algorithms (tiles of
their output), :func:`conv_blocks` to the convolution and the weight gradient of
:mod:`tconv._algorithms.im2col` (tiles of the convolution's output).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .._options import effective
from ..geometry import Geometry
from .problem import Problem, layout_index
from .tiling import Tile, conv_tiles, tile_geometry, tiles

__all__ = ["blocked", "blocks", "conv_blocks"]

#: ``impl(x, w, geometry, problem, out)``: compute a batch block into ``out`` (its whole output, C-contiguous).
Impl = Callable[[np.ndarray, np.ndarray, Geometry, Problem, np.ndarray], None]
#: ``footprint(geometry, problem)``: an estimate of ``impl``'s temporary bytes per sample.
Footprint = Callable[[Geometry, Problem], int]
#: ``solve(x, w, geometry, problem) -> y``: the whole batch.
Solve = Callable[[np.ndarray, np.ndarray, Geometry, Problem], np.ndarray]


def blocks(
    n: int,
    per_sample: int,
    sizes: tuple[int, ...],
    tile_bytes: Callable[[tuple[int, ...]], float],
    tiling: Callable[[tuple[int, ...]], Iterable[Tile]],
) -> Iterator[tuple[slice, Tile | None]]:
    """The pieces of a batch of ``n`` samples to compute one after the other: ``(samples, tile)``.

    ``tile`` is ``None`` for a block of whole samples (as many as the budget holds
    at ``per_sample`` bytes each). When one sample exceeds the budget, the tile shape
    starts at ``sizes`` (the extent the tiles cut) and is halved, axis after axis,
    while ``tile_bytes(shape)`` exceeds the budget; then every tile of
    ``tiling(shape)`` comes once per sample.
    """
    budget = effective().memory_budget
    if per_sample <= budget:
        step = max(1, budget // max(per_sample, 1))
        for n0 in range(0, n, step):
            yield slice(n0, min(n, n0 + step)), None
        return
    shape = list(sizes)
    for axis in range(len(shape)):
        while shape[axis] > 1 and tile_bytes(tuple(shape)) > budget:
            shape[axis] = -(-shape[axis] // 2)
    for tile in tiling(tuple(shape)):
        for n0 in range(n):
            yield slice(n0, n0 + 1), tile


def conv_blocks(n: int, per_sample: int, geometry: Geometry) -> Iterator[tuple[slice, Tile | None]]:
    """:func:`blocks` of a convolution whose temporaries grow with its outputs (the small side of
    ``geometry``): tiles of its output (:func:`tconv._algorithms.tiling.conv_tiles`) hold their share
    of ``per_sample``. The im2col convolution and the weight gradient run on these."""
    p_small = math.prod(geometry.input_size)

    def tile_bytes(shape: tuple[int, ...]) -> float:
        return per_sample * math.prod(shape) / p_small

    def tiling(shape: tuple[int, ...]) -> Iterator[Tile]:
        return conv_tiles(geometry, shape)

    return blocks(n, per_sample, geometry.input_size, tile_bytes, tiling)


def blocked(impl: Impl, footprint: Footprint) -> Solve:
    """A transposed-convolution algorithm ``impl`` run under the memory budget (:func:`blocks`).

    Tiles cut the output; a tile that no input reaches is the bias alone, the others
    are computed into a temporary of the tile's size and copied into place.
    """

    def solve(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
        out = problem.output(x.shape[0], geometry.output_size)

        def tile_bytes(shape: tuple[int, ...]) -> int:
            """Temporary bytes of the first (largest) tile of ``shape``, its own output included."""
            tile = tile_geometry(geometry, (0,) * geometry.ndim, shape)
            if tile.geometry is None:
                return 0
            own = math.prod(tile.geometry.output_size) * problem.c_out * problem.dtype.itemsize
            return footprint(tile.geometry, problem) + own

        def tiling(shape: tuple[int, ...]) -> Iterator[Tile]:
            return tiles(geometry, shape)

        pieces = blocks(x.shape[0], footprint(geometry, problem), geometry.output_size, tile_bytes, tiling)
        for samples, tile in pieces:
            if tile is None:
                impl(x[samples], w, geometry, problem, out[samples])
                continue
            target = out[layout_index(problem.layout, samples, tile.output)]
            if tile.geometry is None:
                target[...] = problem.bias_fill(geometry.ndim)
                continue
            part = problem.output(1, tile.geometry.output_size)
            impl(x[layout_index(problem.layout, samples, tile.input)], w, tile.geometry, problem, part)
            target[...] = part
        return out

    return solve
