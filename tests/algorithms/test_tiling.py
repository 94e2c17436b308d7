"""tconv._algorithms.tiling: every tile, computed from its input slab with its own geometry, is that
part of the whole result (transposed convolutions and convolutions), and the tiles cover the output once."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from tconv._algorithms.tiling import conv_tiles, tiles
from tconv.geometry import conv_geometry, conv_transpose_geometry
from tconv.kernels import correlate, scatter

GEOMETRIES = [
    ((9,), (4,), dict(stride=2, padding=1)),
    ((5, 6), (3, 2), dict(stride=(2, 3), padding=((2, -1), (0, 1)), dilation=(1, 2))),
    ((4, 3, 3), (2, 3, 2), dict(stride=2, padding="same")),
    ((3, 4), (3, 3), dict(stride=2, dilation=2)),  # dilation holes: tiles no input reaches
]
SHAPES = [(1, 1, 1), (2, 3, 1), (3, 2, 2), (5, 5, 5)]


@pytest.mark.parametrize("size, kernel, kwargs", GEOMETRIES, ids=lambda v: str(v))
def test_conv_transpose_tiles(size, kernel, kwargs):
    g = conv_transpose_geometry(size, kernel, **kwargs)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 2, *g.input_size))
    w = rng.standard_normal((1, 2, 3, *g.kernel_size))
    full = scatter(x, w, g)  # (1, 1, 3, *o)
    for shape in SHAPES:
        covered = np.zeros(g.output_size, dtype=int)
        for tile in tiles(g, shape[: g.ndim]):
            covered[tile.output] += 1
            part = full[(Ellipsis,) + tile.output]
            if tile.geometry is None:
                assert not part.any()
            else:
                assert_close(scatter(x[(Ellipsis,) + tile.input], w, tile.geometry), part)
        assert (covered == 1).all()


@pytest.mark.parametrize("size, kernel, kwargs", GEOMETRIES[:3], ids=lambda v: str(v))
def test_conv_tiles(size, kernel, kwargs):
    padding = kwargs.get("padding", 0)
    g = conv_geometry(size, kernel, kwargs.get("stride", 1), padding, kwargs.get("dilation", 1))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 1, 2, *g.output_size))  # the convolution's input: the big side
    w = rng.standard_normal((1, 3, 2, *g.kernel_size))
    full = correlate(x, w, g)  # (1, 1, 3, *input_size)
    for shape in SHAPES:
        covered = np.zeros(g.input_size, dtype=int)
        for tile in conv_tiles(g, shape[: g.ndim]):
            covered[tile.output] += 1
            assert_close(correlate(x[(Ellipsis,) + tile.input], w, tile.geometry), full[(Ellipsis,) + tile.output])
        assert (covered == 1).all()
