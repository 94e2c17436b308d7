"""Brute-force oracles for the index map ``o = s*j + d*t - b``, shared by the geometry and chunk tests.

Every function enumerates the (input, tap, output) triples directly; nothing here
uses tconv's closed forms except the geometry constructors that build the tables.
"""

from __future__ import annotations

import itertools

from tconv.geometry import conv_geometry, conv_transpose_geometry


def transpose_geometries():
    """Every small 1-d transposed convolution, every padding form (incl. negative and 'same')."""
    for i, k, s, d in itertools.product(range(1, 7), range(1, 5), range(1, 4), range(1, 3)):
        paddings = [0, 1, 3, ((2, -1),), ((-2, 1),), ((-1, -2),), "same", "valid"]
        for padding in paddings:
            for output_padding in range(max(s, d)):
                if padding == "same" and output_padding:
                    continue
                try:
                    yield conv_transpose_geometry(i, k, s, padding, output_padding, d)
                except ValueError:  # the crop leaves no output
                    pass


def conv_geometries():
    for size, k, s, d in itertools.product(range(1, 12), range(1, 5), range(1, 4), range(1, 3)):
        for padding in [0, 1, 2, ((2, -1),), ((-1, 0),), ((0, 3),), "same", "valid"]:
            try:
                yield conv_geometry(size, k, s, padding, d)
            except ValueError:  # padded input shorter than the kernel
                pass


TRANSPOSE = list(transpose_geometries())
CONV = list(conv_geometries())


def transpose_reach(g, lo, hi):
    """Brute force: the inputs j with some tap landing in [lo, hi)."""
    (i,), (k,), (s,), (d,), (b,) = g.input_size, g.kernel_size, g.stride, g.dilation, g.crop_begin
    return {j for j in range(i) for t in range(k) if lo <= s * j + d * t - b < hi}


def conv_reads(g, lo, hi):
    """Brute force: the input cells (not padding) that conv outputs [lo, hi) read."""
    (size,), (k,), (s,), (d,), (b,) = g.output_size, g.kernel_size, g.stride, g.dilation, g.crop_begin
    return {s * j + d * t - b for j in range(lo, hi) for t in range(k) if 0 <= s * j + d * t - b < size}


def ranges(n):
    return [(lo, hi) for lo in range(n) for hi in range(lo + 1, n + 1)]
