"""tconv.chunks: the halo rule of tconv.dask and the chunk maps, checked by brute force against the index map.

The index map (``tconv/geometry.py``): input ``j`` and tap ``t`` meet at output
``o = s*j + d*t - b``. Every test enumerates these pairs (``tests/index_map.py``)
and compares with the closed forms of ``conv_transpose_halo``/``conv_halo`` and
the chunk maps.
"""

from __future__ import annotations

import itertools
import random

import pytest
from index_map import CONV, TRANSPOSE, conv_reads, ranges, transpose_reach

from tconv.chunks import conv_chunks, conv_halo, conv_transpose_chunks, conv_transpose_halo
from tconv.geometry import conv_geometry, conv_transpose_geometry


@pytest.mark.parametrize("chunk", range(4))
def test_transpose_halo_bounds_every_range_and_is_attained(chunk):
    """Inputs reaching [lo, hi) lie in its own inputs plus `before` in front; tight on the stride grid."""
    attained = 0
    for g in TRANSPOSE[chunk::4]:
        (s,), (b,), (o,), (i,) = g.stride, g.crop_begin, g.output_size, g.input_size
        ((before, after),) = conv_transpose_halo(g.kernel_size, g.stride, g.dilation)
        assert after == 0
        for lo, hi in ranges(o):
            own_first, own_stop = -((-lo - b) // s), -((-hi - b) // s)  # ceil((lo + b)/s), ceil((hi + b)/s)
            reach = transpose_reach(g, lo, hi)
            on_grid = (lo + b) % s == 0
            # off the stride grid, the tail of one more stamp may reach in: ceil instead of floor
            extra = 0 if on_grid else -((-(g.dilation[0] * (g.kernel_size[0] - 1))) // s) - before
            assert all(own_first - before - extra <= j < own_stop + after for j in reach), (g, lo, hi, reach)
            if on_grid and (hi + b) % s == 0 and own_first - before >= 0 and own_stop <= i:
                # on the stride grid, inside the array: both ends of the bound are needed
                assert min(reach) == own_first - before and max(reach) == own_stop - 1, (g, lo, hi)
                attained += 1
    assert attained > 100


@pytest.mark.parametrize("chunk", range(4))
def test_conv_halo_bounds_every_range_and_is_attained(chunk):
    attained = 0
    for g in CONV[chunk::4]:
        (s,), (b,), (size,), (n,) = g.stride, g.crop_begin, g.output_size, g.input_size
        ((before, after),) = conv_halo(g.kernel_size, g.stride, g.dilation)
        assert before == 0
        for lo, hi in ranges(n):
            reads = conv_reads(g, lo, hi)
            own_first, own_stop = s * lo - b, s * hi - b
            assert all(own_first - before <= c < own_stop + after for c in reads), (g, lo, hi)
            if own_first >= 0 and own_stop + after <= size:
                # the last tap of the last output: `after` past the own cells (or, when the
                # dilated kernel is shorter than the stride, s - k_eff before their end)
                k_eff = g.dilation[0] * (g.kernel_size[0] - 1) + 1
                assert min(reads) == own_first and max(reads) == own_stop + k_eff - s - 1, (g, lo, hi)
                attained += 1
    assert attained > 100


def _random_chunks(total, rng):
    sizes, left = [], total
    while left:
        sizes.append(min(left, rng.choice([1, 1, 2, 3, 5])))
        left -= sizes[-1]
    return tuple(sizes)


def _starts(chunks):
    return [sum(chunks[:n]) for n in range(len(chunks))]


def test_transpose_chunks_follow_the_stamp_starts():
    """Output cell o belongs to the last input chunk whose first stamp starts at or before it."""
    rng = random.Random(7)
    for g in TRANSPOSE[::3]:
        (s,), (b,), (o,), (i,) = g.stride, g.crop_begin, g.output_size, g.input_size
        chunks = _random_chunks(i, rng)
        starts = _starts(chunks)
        owner = [max([c for c, a in enumerate(starts) if s * a - b <= cell], default=0) for cell in range(o)]
        expected = tuple(len(list(group)) for _, group in itertools.groupby(owner))
        ((out,),) = (conv_transpose_chunks(g, (chunks,)),)
        assert out == expected, (g, chunks)
        assert sum(out) == o and len(out) <= len(chunks)
        # each output chunk needs its input chunk(s) plus the halo in front, nothing else
        ((before, _),) = conv_transpose_halo(g.kernel_size, g.stride, g.dilation)
        lo = 0
        for size in out:
            hi = lo + size
            first = starts[owner[lo]] - before if lo > 0 else 0
            stop = starts[owner[hi - 1] + 1] if owner[hi - 1] + 1 < len(starts) else i
            reach = transpose_reach(g, lo, hi)
            assert all(first <= j < stop for j in reach), (g, chunks, lo, hi, reach)
            lo = hi


def test_conv_chunks_follow_the_first_tap():
    rng = random.Random(8)
    for g in CONV[::3]:
        (s,), (b,), (size,), (n,) = g.stride, g.crop_begin, g.output_size, g.input_size
        chunks = _random_chunks(size, rng)
        starts = _starts(chunks)
        owner = [max([c for c, e in enumerate(starts) if e <= s * j - b], default=0) for j in range(n)]
        expected = tuple(len(list(group)) for _, group in itertools.groupby(owner))
        ((out,),) = (conv_chunks(g, (chunks,)),)
        assert out == expected, (g, chunks)
        # a chunk's outputs read its input chunk plus at most k_eff - 1 cells after it
        k_eff = g.dilation[0] * (g.kernel_size[0] - 1) + 1
        j = 0
        for m in out:
            reads = conv_reads(g, j, j + m)
            c = owner[j]
            first = starts[c] if s * j - b >= 0 else 0
            stop = starts[owner[j + m - 1] + 1] if owner[j + m - 1] + 1 < len(starts) else size
            assert all(first <= r < stop + k_eff - 1 for r in reads), (g, chunks, j, m)
            j += m


def test_chunk_maps_are_adjoint():
    """Mapping the transposed convolution's output chunks back through the convolution restores them."""
    for i, k, s, p in itertools.product(range(1, 9), range(1, 6), range(1, 4), range(0, 3)):
        for chunks in [(i,), (1,) * i, tuple(c for c in (min(3, i), i - 3) if c > 0)]:
            try:
                g = conv_transpose_geometry(i, k, s, p)
            except ValueError:
                continue
            out = conv_transpose_chunks(g, (chunks,))
            if len(out[0]) == len(chunks) and all(c > 0 for c in out[0]):
                assert conv_chunks(conv_geometry(g.output_size, k, s, p), out) == (chunks,), (i, k, s, p, chunks)


def test_halo_of_several_axes():
    assert conv_transpose_halo((4, 3, 5), stride=(2, 1, 2), dilation=(1, 1, 2)) == ((1, 0), (2, 0), (4, 0))
    assert conv_halo((4, 3, 5), stride=(2, 1, 2), dilation=(1, 1, 2)) == ((0, 2), (0, 2), (0, 7))


def test_bad_arguments_are_named():
    g = conv_transpose_geometry(10, 3)
    with pytest.raises(ValueError, match="chunks of axis 0 must add up to its size 10, got \\(4, 4\\)"):
        conv_transpose_chunks(g, ((4, 4),))
    with pytest.raises(ValueError, match="chunks must be positive"):
        conv_transpose_chunks(g, ((10, 0),))
    with pytest.raises(ValueError, match="stride must be positive"):
        conv_transpose_halo(3, stride=0)
