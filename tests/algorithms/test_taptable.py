"""tconv._algorithms.taptable: the tap tables, phase plans and im2col positions, against brute force.

Every table lists pairs of the index map ``o = s*j + d*t - b``; the brute force enumerates all
``(j, t)`` of each axis and keeps those that land inside the output.
"""

from __future__ import annotations

import itertools
import math

import pytest

from tconv._algorithms.taptable import axis_table, im2col_positions, lead_and_last, phase_plan, tap_ranges
from tconv.geometry import Geometry, conv_geometry, conv_transpose_geometry

#: (i, k, s, d, b, o) per axis: crops, zero extensions (b < 0, o past the end), holes (gcd(s, d) > 1).
AXES = [
    (5, 3, 1, 1, 0, 7),
    (4, 4, 2, 1, 1, 8),
    (3, 3, 2, 2, 0, 9),
    (4, 2, 3, 1, 0, 12),
    (3, 5, 2, 1, -2, 9),
    (2, 3, 2, 3, 4, 4),
    (6, 1, 2, 1, 0, 11),
]


def _pairs(i, k, s, d, b, o):
    """(output, input, tap) of every pair that lands inside the output, by brute force."""
    return sorted((s * j + d * t - b, j, t) for j in range(i) for t in range(k) if 0 <= s * j + d * t - b < o)


@pytest.mark.parametrize("axis", AXES, ids=str)
def test_axis_table_lists_every_pair_by_output_then_tap(axis):
    table = axis_table(*axis)
    assert table.outputs == axis[-1]
    listed = [(o, int(table.j[p]), int(table.t[p])) for o in range(table.outputs) for p in range(*table.ptr[o : o + 2])]
    assert listed == sorted(_pairs(*axis), key=lambda pair: (pair[0], pair[2]))


@pytest.mark.parametrize("axis", AXES, ids=str)
def test_phase_plan_is_the_pairs_grouped_by_residue(axis):
    i, k, s, d, b, o = axis
    plan = phase_plan(*axis)
    assert [p.first for p in plan] == list(range(min(s, o)))
    for phase in plan:
        outputs = range(phase.first, o, s)
        assert phase.outputs == len(outputs)
        for q, out in enumerate(outputs):
            # the pairs of output `out`, read from the phase: input q + offset through each tap
            from_plan = {(q + u, t) for t, u in zip(phase.taps, phase.offsets) if 0 <= q + u < i}
            assert from_plan == {(j, t) for oo, j, t in _pairs(*axis) if oo == out}


@pytest.mark.parametrize("axis", AXES, ids=str)
def test_tap_ranges_are_the_inputs_each_tap_carries(axis):
    i, k, s, d, b, o = axis
    g = Geometry((i,), (o,), (k,), (s,), (d,), (b,))
    for t, (lo, hi) in enumerate(tap_ranges(g, 0).tolist()):
        assert list(range(lo, hi)) == [j for oo, j, tt in _pairs(*axis) if tt == t]


@pytest.mark.parametrize(
    "geometry",
    [
        conv_transpose_geometry((3, 4), (3, 2), stride=(2, 3), padding=((1, -1), (0, 2))),
        conv_transpose_geometry((2, 2, 3), (2, 3, 2), stride=(1, 2, 2), dilation=(2, 1, 1)),
    ],
    ids=["2d", "3d"],
)
def test_lead_and_last_is_the_product_of_the_axes(geometry):
    """The lead table is the C-order product of all axes but the last; flat indices in C order."""
    tables = lead_and_last(geometry)
    per_axis = [
        _pairs(i, k, s, d, b, o)
        for i, k, s, d, b, o in zip(
            geometry.input_size,
            geometry.kernel_size,
            geometry.stride,
            geometry.dilation,
            geometry.crop_begin,
            geometry.output_size,
        )
    ]
    lead_sizes = [(o, i, k) for o, i, k in zip(geometry.output_size, geometry.input_size, geometry.kernel_size)][:-1]
    expected = set()
    for combo in itertools.product(*per_axis[:-1]):
        flat = [0, 0, 0]
        for (o, j, t), (no, ni, nk) in zip(combo, lead_sizes):
            flat = [flat[0] * no + o, flat[1] * ni + j, flat[2] * nk + t]
        expected.add(tuple(flat))
    lead = tables.lead
    listed = {(o, int(lead.j[p]), int(lead.t[p])) for o in range(lead.outputs) for p in range(*lead.ptr[o : o + 2])}
    assert listed == expected
    assert tables.pixels == math.prod(geometry.input_size)
    args = tables.kernel_args()
    assert args[-4:] == (tables.pixels, geometry.input_size[-1], geometry.kernel_size[-1], lead.outputs)


@pytest.mark.parametrize(
    "g",
    [
        conv_geometry((7, 6), (3, 2), stride=(2, 1), padding=((1, 2), (0, 1)), dilation=(1, 2)),
        conv_geometry((2, 4), 3, padding=((0, 8), (1, 1)), dilation=(2, 1)),  # taps that read only padding
    ],
    ids=["2d", "padding-only-taps"],
)
def test_im2col_positions_read_the_index_map(g):
    lead, last = im2col_positions(g)
    for j in range(g.input_size[-1]):
        for t in range(g.kernel_size[-1]):
            pos = g.stride[-1] * j + g.dilation[-1] * t - g.crop_begin[-1]
            assert last[j, t] == (pos if 0 <= pos < g.output_size[-1] else -1)
    for j in range(g.input_size[0]):
        for t in range(g.kernel_size[0]):
            pos = g.stride[0] * j + g.dilation[0] * t - g.crop_begin[0]
            assert lead[j, t] == (pos if 0 <= pos < g.output_size[0] else -1)


def test_the_cache_evicts_entries_of_every_kind(monkeypatch):
    """Entries of different kinds (tap tables, tap ranges) share the cache: evicting one measures it with
    its own size (an older table was once measured by a newer entry's size function: AttributeError)."""
    from tconv._algorithms import taptable
    from tconv.geometry import conv_transpose_geometry

    monkeypatch.setattr(taptable, "_CACHE", type(taptable._CACHE)())
    monkeypatch.setattr(taptable, "_cached_bytes", 0)
    monkeypatch.setattr(taptable, "CACHE_BYTES", 64 * 2**10)
    for length in range(300, 340):  # tables, then tap ranges, each pushing out older entries of the other kind
        g = conv_transpose_geometry((length,), 16, stride=8)
        taptable.lead_and_last(g)
        taptable.tap_ranges(conv_transpose_geometry((2,), 200 + length), 0)
    sizes = [size for _, size in taptable._CACHE.values()]
    assert 0 < taptable._cached_bytes == sum(sizes) <= taptable.CACHE_BYTES
