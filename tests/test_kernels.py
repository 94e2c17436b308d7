"""tconv.kernels: the per-tap slices, the scatter, its adjoint gather and the weight correlation.

The slices are checked against a brute-force enumeration of the index map; the scatter against
the naive loop reference; the gather and the weight correlation through the adjoint identities
that define them (a bilinear map's adjoint and gradient).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, naive_conv_transpose

from tconv.geometry import conv_transpose_geometry
from tconv.kernels import correlate, scatter, tap_pairs, tap_slices, weight_correlation

#: Windows of every kind: PyTorch's crop, asymmetric pairs (negative = zeros), "same", output_padding, holes.
GEOMETRIES = [
    conv_transpose_geometry(5, 3),
    conv_transpose_geometry(4, 3, stride=2, padding=1, output_padding=1),
    conv_transpose_geometry(3, 5, stride=2, padding=((-2, 3),)),
    conv_transpose_geometry(4, 3, stride=2, dilation=2),
    conv_transpose_geometry((3, 4), (4, 2), stride=(3, 2), padding="same"),
    conv_transpose_geometry((2, 3), (3, 3), stride=(1, 2), padding=((4, -1), (0, 2)), dilation=(2, 1)),
    conv_transpose_geometry((2, 2, 2), 2, stride=2, padding=((1, 1), (0, -1), (-1, 0))),
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_tap_slices_are_the_index_map(geometry):
    """For every tap, the slices pair exactly the (j, o = s*j + d*t - b) with o inside the output."""
    for tap in itertools.product(*(range(k) for k in geometry.kernel_size)):
        expected = set()
        for j in itertools.product(*(range(i) for i in geometry.input_size)):
            o = tuple(
                s * jj + d * t - b
                for s, jj, d, t, b in zip(geometry.stride, j, geometry.dilation, tap, geometry.crop_begin)
            )
            if all(0 <= oo < size for oo, size in zip(o, geometry.output_size)):
                expected.add((j, o))
        slices = tap_slices(geometry, tap)
        if slices is None:
            assert expected == set()
            continue
        src, dst = slices
        js = itertools.product(*(range(*sl.indices(i)) for sl, i in zip(src, geometry.input_size)))
        os = itertools.product(*(range(*sl.indices(o)) for sl, o in zip(dst, geometry.output_size)))
        assert set(zip(js, os)) == expected


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_tap_pairs_lists_the_taps_that_reach(geometry):
    taps = itertools.product(*(range(k) for k in geometry.kernel_size))
    expected = [(tap, *tap_slices(geometry, tap)) for tap in taps if tap_slices(geometry, tap) is not None]
    assert list(tap_pairs(geometry)) == expected


def _grouped(case, x, w):
    """The canonical grouped layout: (N, G, C_in/G, *i) and (G, C_in/G, C_out/G, *k)."""
    g = case.groups
    return x.reshape(x.shape[0], g, -1, *x.shape[2:]), w.reshape(g, -1, *w.shape[1:])


def _geometry(case):
    return conv_transpose_geometry(
        case.size, case.kernel, case.stride, case.padding, case.output_padding, case.dilation
    )


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_scatter_is_the_naive_loop(case):
    x, w, _ = case.arrays()
    g = _geometry(case)
    xg, wg = _grouped(case, x, w)
    y = scatter(xg, wg, g).reshape(case.n, case.c_out, *g.output_size)
    expected = naive_conv_transpose(x, w, None, g.stride, g.dilation, case.groups, g.crop_begin, g.output_size)
    assert_close(y, expected)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_correlate_is_the_adjoint_of_scatter(case):
    """<scatter(x, w), y> == <x, correlate(y, w)>: the same weight array, read as (G, C_out, C_in, *k) by correlate."""
    x, w, _ = case.arrays()
    g = _geometry(case)
    xg, wg = _grouped(case, x, w)
    y = np.random.default_rng(1).standard_normal((case.n, case.groups, case.c_out // case.groups, *g.output_size))
    back = correlate(y, wg, g)
    assert back.shape == xg.shape
    assert np.isclose(np.vdot(scatter(xg, wg, g), y), np.vdot(xg, back))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_weight_correlation_is_the_weight_gradient(case):
    """<weight_correlation(x, dy), v> == <scatter(x, v), dy> for any v: the gradient of the bilinear map."""
    x, w, _ = case.arrays()
    g = _geometry(case)
    xg, wg = _grouped(case, x, w)
    dy = np.random.default_rng(2).standard_normal((case.n, case.groups, case.c_out // case.groups, *g.output_size))
    v = np.random.default_rng(3).standard_normal(wg.shape)
    dw = weight_correlation(xg, dy, g)
    assert dw.shape == wg.shape
    assert np.isclose(np.vdot(dw, v), np.vdot(scatter(xg, v, g), dy))
