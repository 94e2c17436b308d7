"""Chunks and halos: which inputs each piece of a transposed convolution's output needs.

The rule behind :mod:`tconv.dask` (and the tiles of the fast algorithms), on plain
integers: cut an output into ranges, and each range is a transposed convolution of
a slab of the input -- its own inputs plus a halo -- with its own window
(:mod:`tconv.geometry` has the exact input range of any output range). The
convolution is the mirror image. This module imports nothing numeric.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from ._validate import int_tuple, is_int, positive_sizes, show
from .geometry import Geometry, check_geometry, effective_kernel_size

__all__ = ["conv_chunks", "conv_halo", "conv_transpose_chunks", "conv_transpose_halo"]

Pairs = tuple[tuple[int, int], ...]

# Per axis the index map is ``o = s*j + d*t - b``: input element ``j`` stamps the
# dilated kernel into the output cells ``s*j - b, s*j - b + d, ..., s*j - b + d*(k-1)``.
# Call the inputs *owned* by an output range ``[lo, hi)`` those whose stamp starts
# in it, ``lo <= s*j - b < hi``. A stamp is ``k_eff = d*(k - 1) + 1`` cells long, so
# the range also receives the tails of the stamps of the ``floor((k_eff - 1)/s)``
# inputs before its first owned one, and of none after its last: that is the halo
# of a transposed convolution. The convolution reads the same pairs the other way
# round: its outputs ``[a, a')`` read their input from ``s*a - b`` (the first tap
# of output ``a``) to ``s*(a' - 1) - b + k_eff - 1`` (the last tap of output
# ``a' - 1``), that is the ``s*(a' - a)`` cells they own plus ``k_eff - s`` after.


def _axis_params(kernel_size: object, stride: object, dilation: object) -> tuple[tuple[int, ...], ...]:
    """kernel_size, stride, dilation as tuples of one length (ints broadcast)."""
    given = (kernel_size, stride, dilation)
    lengths = {len(v) for v in given if not is_int(v) and isinstance(v, Sequence) and not isinstance(v, str)}
    if 0 in lengths:
        raise ValueError(
            f"kernel_size, stride and dilation must have one entry per axis (at least one), got {show(given)}"
        )
    nd = max(lengths) if lengths else 1
    k = positive_sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    return k, s, d


def conv_transpose_halo(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
) -> Pairs:
    """Input elements a chunk of a transposed convolution needs beyond its own, per side.

    Cut the output of a transposed convolution along an axis into ranges, and let
    an output range ``[lo, hi)`` *own* the inputs whose stamp starts in it:
    ``lo <= s*j - b < hi`` (``b`` = the window's ``crop_begin``). The inputs that
    reach the range are then its own inputs plus ``before`` inputs just before
    them, and none after::

        before = floor(d*(k - 1) / s) = floor((k_eff - 1) / s),    after = 0

    because input ``j`` stamps the cells ``s*j - b + d*t``, ``0 <= t < k``, which end
    ``k_eff - 1`` cells after the stamp starts. The bound is tight: for any range
    that starts and ends on the stride grid (``lo + b`` and ``hi + b`` multiples of
    ``s``, as the chunks of :func:`conv_transpose_chunks` are) and lies inside the
    output, input ``first_own - before`` does reach it (its last tap lands in the
    range's first ``s`` cells), unless the array's start cuts the halo short. A range
    that starts off the grid may also receive the tail of one more stamp: its halo
    is at most ``ceil((k_eff - 1)/s)``. The exact inputs of any range are
    :func:`conv_transpose_input_range`.

    Parameters
    ----------
    kernel_size, stride, dilation : int or sequence of int
        One int for every axis, or one per axis.

    Returns
    -------
    tuple of (int, int)
        ``(before, after)`` per axis.

    Examples
    --------
    The up-sampling kernel ``k=4, s=2`` reaches one input back; ``k=2, s=2`` (no
    overlap between stamps) needs no halo at all:

    >>> conv_transpose_halo(4, stride=2)
    ((1, 0),)
    >>> conv_transpose_halo((2, 3, 16), stride=(2, 1, 8), dilation=(1, 2, 1))
    ((0, 0), (4, 0), (1, 0))
    """
    k, s, d = _axis_params(kernel_size, stride, dilation)
    return tuple(((effective_kernel_size(ki, di) - 1) // si, 0) for ki, si, di in zip(k, s, d))


def conv_halo(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
) -> Pairs:
    """Input elements a chunk of a convolution needs beyond its own, per side.

    Let the outputs ``[a, a')`` of a convolution *own* the input cells
    ``[s*a - b, s*a' - b)`` (``b`` = its begin padding): each output owns the
    ``s`` cells from its first tap on. Output ``j`` reads the cells
    ``s*j - b + d*t``, ``0 <= t < k``, so the range reads its own cells and
    ``after`` cells beyond them, and none before::

        before = 0,    after = max(d*(k - 1) + 1 - s, 0) = max(k_eff - s, 0)

    The bound is tight for ranges inside the array, unless its end cuts the halo
    short: output ``a' - 1`` reads its last tap at exactly ``s*a' - b + k_eff - s - 1``
    (when ``k_eff < s`` the last ``s - k_eff`` owned cells are not read at all).
    When the input's chunks do not start on the stride grid, the outputs of
    :func:`conv_chunks` own cells up to ``s - 1`` past their chunk's start, so the
    chunk's halo after is at most ``k_eff - 1``. The exact cells of any range are
    :func:`conv_input_range`.

    Returns
    -------
    tuple of (int, int)
        ``(before, after)`` per axis.

    Examples
    --------
    >>> conv_halo(3)                 # a 3-tap stride-1 filter reads 2 cells past its chunk
    ((0, 2),)
    >>> conv_halo((4, 2), stride=2)  # k=4, s=2 reads 2 more; k=2, s=2 none (the stamps tile)
    ((0, 2), (0, 0))
    """
    k, s, d = _axis_params(kernel_size, stride, dilation)
    return tuple((0, max(effective_kernel_size(ki, di) - si, 0)) for ki, si, di in zip(k, s, d))


def _check_chunks(chunks: object, sizes: tuple[int, ...], name: str) -> tuple[tuple[int, ...], ...]:
    if not isinstance(chunks, Sequence) or len(chunks) != len(sizes):
        raise ValueError(
            f"{name} must have one tuple of chunk sizes per spatial axis ({len(sizes)}), got {show(chunks)}"
        )
    result = []
    for axis, (sizes_of_axis, total) in enumerate(zip(chunks, sizes)):
        c = int_tuple(
            sizes_of_axis,
            name,
            len(sizes_of_axis) if isinstance(sizes_of_axis, Sequence) else 1,
            minimum=1,
            rule="positive",
        )
        if sum(c) != total:
            raise ValueError(f"{name} of axis {axis} must add up to its size {total}, got {show(c)} (sum {sum(c)})")
        result.append(c)
    return tuple(result)


def _starts(sizes: Sequence[int]) -> list[int]:
    """Where each chunk after the first starts: running sums, linear in the number of chunks (a sum of
    each prefix took 47 s on 10^5 chunks)."""
    return list(itertools.accumulate(sizes))[:-1]


def _sizes_between(boundaries: Sequence[int]) -> tuple[int, ...]:
    """Chunk sizes between consecutive boundaries, empty chunks dropped."""
    return tuple(b - a for a, b in zip(boundaries, boundaries[1:]) if b > a)


def conv_transpose_chunks(geometry: Geometry, chunks: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """The output chunks of a transposed convolution whose input is cut into ``chunks``.

    Each output chunk holds the cells whose stamps start in one input chunk: the
    boundary in front of input chunk ``[a, a')`` maps to output cell ``s*a - b``.
    The first output chunk starts at 0 and the last ends at ``output_size``: so
    every chunk is ``s`` times its input chunk, except that the first loses the
    crop at the start (``b``; a zero extension, ``b < 0``, adds to it), and the last
    gains ``k_eff - s`` and loses the crop at the end. Chunks that this makes
    empty (input chunks shorter than a crop) are dropped, so there are at most as
    many output chunks as input chunks.

    Parameters
    ----------
    geometry : Geometry
    chunks : sequence of sequence of int
        Input chunk sizes per spatial axis (Dask's ``chunks``), adding up to
        ``geometry.input_size``.

    Returns
    -------
    tuple of tuple of int
        Output chunk sizes per spatial axis, adding up to ``geometry.output_size``.

    Examples
    --------
    Ten inputs in chunks of 4, 3, 3, up-sampled by ``k=4, s=2, padding=1`` to 20:

    >>> from tconv.geometry import conv_geometry, conv_transpose_geometry
    >>> g = conv_transpose_geometry(10, 4, stride=2, padding=1)
    >>> conv_transpose_chunks(g, ((4, 3, 3),))        # 2*4 - 1, 2*3, 2*3 + (4 - 2) - 1
    ((7, 6, 7),)
    """
    chunks = _check_chunks(chunks, check_geometry(geometry).input_size, "chunks")
    result = []
    for c, o, s, b in zip(chunks, geometry.output_size, geometry.stride, geometry.crop_begin):
        starts = _starts(c)
        result.append(_sizes_between([0, *(min(max(s * a - b, 0), o) for a in starts), o]))
    return tuple(result)


def conv_chunks(geometry: Geometry, chunks: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """The output chunks of a convolution whose input is cut into ``chunks``.

    The mirror of :func:`conv_transpose_chunks`: output ``j`` belongs to the input
    chunk that holds its first tap's cell ``s*j - b``, so the boundary in front of
    input chunk ``[e, e')`` maps to output ``ceil((e + b)/s)`` (cut to the output).
    Empty chunks (input chunks shorter than the stride) are dropped.

    Parameters
    ----------
    geometry : Geometry
        Of the convolution (:func:`tconv.geometry.conv_geometry`).
    chunks : sequence of sequence of int
        Input chunk sizes per spatial axis, adding up to ``geometry.output_size``
        (the convolution's input side).

    Returns
    -------
    tuple of tuple of int
        Output chunk sizes per spatial axis, adding up to ``geometry.input_size``.

    Examples
    --------
    The forward convolution of the example of :func:`conv_transpose_chunks` (its
    adjoint) maps the chunks back:

    >>> from tconv.geometry import conv_geometry
    >>> g = conv_geometry(20, 4, stride=2, padding=1)
    >>> conv_chunks(g, ((7, 6, 7),))
    ((4, 3, 3),)
    """
    chunks = _check_chunks(chunks, check_geometry(geometry).output_size, "chunks")
    result = []
    for c, i, s, b in zip(chunks, geometry.input_size, geometry.stride, geometry.crop_begin):
        starts = _starts(c)
        result.append(_sizes_between([0, *(min(max(-((-e - b) // s), 0), i) for e in starts), i]))
    return tuple(result)
