"""Tap tables: for every output position, the (input position, kernel tap) pairs that reach it.

The write-once *gather* form of a transposed convolution computes each output
element once, from the contributions that land on it, instead of scattering every
input element's stamp. Per axis, output ``o`` receives input ``j`` through tap ``t``
exactly when ``s*j + d*t - crop_begin == o`` (:class:`tconv.geometry.Geometry`); the
table lists those pairs in CSR form (``ptr[o]:ptr[o+1]`` indexes ``j`` and ``t``).
N-d tables are Cartesian products of the per-axis ones, flattened in C order; the
fast kernels use the product over all axes but the last (the "lead") and the last
axis separately, so that their innermost loops run along contiguous memory
(:func:`lead_and_last`).

The same pairs, read in other orders, are the other tables of the fast algorithms:
the pairs of one output residue class (:func:`phase_plan`, the polyphase view, built
on :func:`tconv.geometry.phase_taps`), the inputs each tap carries
(:func:`tap_ranges`) and the cells each convolution output reads
(:func:`im2col_positions`). Every per-tap range comes from
:func:`tconv.geometry.tap_range`.

Only integer NumPy arrays; the tables of the gather and the phase plans are cached
per geometry.
"""

from __future__ import annotations

import collections
import functools
import math
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ..geometry import Geometry, phase_taps, tap_range

__all__ = [
    "Phase",
    "TapTable",
    "Tables",
    "axis_table",
    "combine",
    "im2col_bytes",
    "im2col_positions",
    "kept",
    "kept_tables",
    "lead_and_last",
    "lead_table",
    "multiply_adds",
    "phase_plan",
    "phase_plans",
    "table_bytes",
    "tap_ranges",
]


class TapTable(NamedTuple):
    """CSR list of (flat input index, flat tap index) pairs per flat output index."""

    ptr: np.ndarray  # (outputs + 1,) int64
    j: np.ndarray  # (pairs,) int64, flat input index
    t: np.ndarray  # (pairs,) int64, flat tap index

    @property
    def outputs(self) -> int:
        return len(self.ptr) - 1


def axis_table(i: int, k: int, s: int, d: int, b: int, o: int) -> TapTable:
    """The table of one axis: pairs ``(j, t)`` with ``s*j + d*t - b = out`` for ``0 <= out < o``.

    Within one output the pairs are ordered by increasing tap.

    Examples
    --------
    >>> table = axis_table(i=2, k=3, s=2, d=1, b=0, o=5)
    >>> table.ptr.tolist(), table.j.tolist(), table.t.tolist()
    ([0, 1, 2, 4, 5, 6], [0, 0, 1, 0, 1, 1], [0, 1, 0, 2, 1, 2])
    """
    ranges = []
    for t in range(k):
        shift = d * t - b  # output position of input 0 through tap t
        lo, hi = tap_range(shift, s, i, 0, o)
        if lo < hi:
            ranges.append((t, shift, lo, hi))
    counts = np.zeros(o, dtype=np.int64)
    for _, shift, lo, hi in ranges:  # one tap reaches each output at most once: no repeated index
        counts[s * lo + shift : s * (hi - 1) + shift + 1 : s] += 1
    ptr = np.zeros(o + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    js = np.empty(int(ptr[-1]), dtype=np.int64)
    ts = np.empty(int(ptr[-1]), dtype=np.int64)
    # Taps in increasing order, each writing its pairs at the next free place of its outputs: the pairs
    # come out ordered by output, then tap, without a sort (an argsort of the pairs took 46 ms for a
    # 1-d axis of 10^5 inputs and 16 taps, the call itself 2 ms).
    free = ptr[:-1].copy()
    for t, shift, lo, hi in ranges:
        outs = slice(s * lo + shift, s * (hi - 1) + shift + 1, s)
        at = free[outs]
        js[at] = np.arange(lo, hi, dtype=np.int64)
        ts[at] = t
        free[outs] += 1
    return TapTable(ptr, js, ts)


def combine(a: TapTable, b: TapTable, i_b: int, k_b: int) -> TapTable:
    """Cartesian product of two tables (``a`` the slower axis): flat indices in C order.

    Examples
    --------
    >>> a = axis_table(2, 2, 2, 1, 0, 4)
    >>> ab = combine(a, a, i_b=2, k_b=2)
    >>> ab.outputs, len(ab.j)
    (16, 16)
    """
    ca, cb = np.diff(a.ptr), np.diff(b.ptr)
    counts = np.outer(ca, cb).ravel()  # (Oa*Ob,)
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    total = int(ptr[-1])
    out_id = np.repeat(np.arange(len(counts), dtype=np.int64), counts)  # (total,)
    local = np.arange(total, dtype=np.int64) - ptr[:-1][out_id]  # position inside the output's block
    oa, ob = np.divmod(out_id, b.outputs)
    width = cb[ob]
    ea = a.ptr[oa] + local // np.maximum(width, 1)
    eb = b.ptr[ob] + local % np.maximum(width, 1)
    return TapTable(ptr, a.j[ea] * i_b + b.j[eb], a.t[ea] * k_b + b.t[eb])


class Tables(NamedTuple):
    """The tap tables of a geometry as the compiled kernels read them: all axes but the last
    (``lead``, one output for 1-d) and the last axis (``last``), with the sizes that turn
    their indices into flat input pixels and flat taps."""

    lead: TapTable
    last: TapTable
    pixels: int  # prod(input_size): input pixels per sample
    input_last: int  # input_size[-1]
    kernel_last: int  # kernel_size[-1]

    def kernel_args(self) -> tuple:
        """The arguments ``lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead`` of the gather
        kernels (:mod:`tconv._algorithms.numba_kernels`), in their order."""
        lead, last = self.lead, self.last
        return (
            lead.ptr,
            lead.j,
            lead.t,
            last.ptr,
            last.j,
            last.t,
            self.pixels,
            self.input_last,
            self.kernel_last,
            lead.outputs,
        )


#: Tables kept for reuse (tap tables and im2col positions, keyed by kind and geometry), most recent
#: last, and their bytes: at most :data:`CACHE_BYTES` in all, so the cache never holds more than a
#: small, fixed amount of memory whatever the geometries.
_CACHE: collections.OrderedDict[tuple[str, Geometry], Any] = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()
CACHE_BYTES = 32 * 2**20
_cached_bytes = 0


def _cached(kind: str, geometry: Geometry, build: Callable[[Geometry], Any], nbytes: Callable[[Any], int]) -> Any:
    """``build(geometry)``, kept for the next call with the same kind and geometry (within :data:`CACHE_BYTES`;
    a table over an eighth of it is not kept). Each entry keeps its own size: entries of different kinds
    are measured by different functions, so an evicted one is not measured by the newcomer's."""
    global _cached_bytes
    key = (kind, geometry)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit[0]
    built = build(geometry)
    size = nbytes(built)
    if size <= CACHE_BYTES // 8:
        with _CACHE_LOCK:
            if key not in _CACHE:
                _CACHE[key] = (built, size)
                _cached_bytes += size
            while _cached_bytes > CACHE_BYTES and _CACHE:
                _, (_, old_size) = _CACHE.popitem(last=False)
                _cached_bytes -= old_size
    return built


def _table_nbytes(tables: Any) -> int:
    if isinstance(tables, Tables):
        return sum(a.nbytes for table in (tables.lead, tables.last) for a in table)
    return sum(a.nbytes for a in tables)


def lead_and_last(geometry: Geometry) -> Tables:
    """The table of all axes but the last (one output for 1-d), and of the last axis.

    Cached per geometry (what depends only on the geometry is built once), within
    :data:`CACHE_BYTES`.
    """
    return _cached("tables", geometry, _lead_and_last, _table_nbytes)


def _lead_and_last(geometry: Geometry) -> Tables:
    last = axis_table(*geometry.axes()[-1])
    lead = lead_table(geometry)
    return Tables(lead, last, math.prod(geometry.input_size), geometry.input_size[-1], geometry.kernel_size[-1])


def lead_table(geometry: Geometry) -> TapTable:
    """The table of all axes but the last (:func:`lead_and_last`'s ``lead``) alone, for the kernels that
    find the last axis's pairs from its per-tap ranges (:func:`tap_ranges`): the last axis's table has a
    pair per input and tap (1.6 million for a 1-d signal of 10^5 samples and 16 taps, 26 MB to build
    on every call, beyond the cache). Cached per geometry, as the others."""
    return _cached("lead", geometry, _lead_table, _table_nbytes)


def _lead_table(geometry: Geometry) -> TapTable:
    lead = TapTable(np.array([0, 1], np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64))
    for i, k, s, d, b, o in geometry.axes()[:-1]:
        lead = combine(lead, axis_table(i, k, s, d, b, o), i, k)
    return lead


def kept_tables(kind: str, geometry: Geometry, build: Callable[[Geometry], Any]) -> Any:
    """``build(geometry)`` (a tuple holding arrays, or None), kept between calls with the tap tables under
    ``kind`` (:func:`_cached`, which counts the arrays' bytes): for the tables of other modules' compiled
    passes."""

    def nbytes(tables: Any) -> int:
        return 0 if tables is None else sum(a.nbytes for a in tables if isinstance(a, np.ndarray))

    return _cached(kind, geometry, build, nbytes)


def kept(geometry: Geometry) -> bool:
    """Whether :func:`lead_and_last`'s tables of ``geometry`` are small enough to be kept between calls
    (:func:`_cached`); larger ones are built anew on every call (a 1-d signal of 10^5 samples and 16
    taps: 1.6 million pairs, 27 ms a call)."""
    return table_bytes(geometry) <= CACHE_BYTES // 8


@functools.lru_cache(maxsize=1024)
def table_bytes(geometry: Geometry) -> int:
    """An upper estimate of the bytes :func:`lead_and_last` allocates for ``geometry`` (the tables
    and what building them takes), from integers: 8-byte pointers per output and two 8-byte
    indices per (input, tap) pair, per part, twice for the sorting and counting on the way."""
    counts = []
    for i, k, s, d, b, o in geometry.axes():
        pairs = (
            i * k
            if k > 4096
            else sum(max(0, hi - lo) for lo, hi in (tap_range(d * t - b, s, i, 0, o) for t in range(k)))
        )
        counts.append((o, pairs))
    lead_outputs = math.prod(o for o, _ in counts[:-1])
    lead_pairs = math.prod(p for _, p in counts[:-1])
    last_outputs, last_pairs = counts[-1]
    return 2 * 8 * (lead_outputs + 2 * lead_pairs + last_outputs + 2 * last_pairs + 4)


def multiply_adds(
    geometry: Geometry, n: int, c_small: int, c_big: int, groups: int, layout: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every multiply-add of a transposed convolution (or of its convolution) as three flat indices
    ``(small, big, weight)`` into its batched arrays in ``layout``: the small side ``(n, c_small,
    *input_size)``, the big side ``(n, c_big, *output_size)`` (channels-last: ``(n, *size, c)``) and the
    weight ``(c_small, c_big/groups, *kernel_size)``; ordered by sample, group, small channel, big
    channel, then the pairs of (input pixel, tap) that land in the window, axis by axis. Built from
    every input meeting every tap (no table of the output: a dilated kernel's output can be far longer
    than its pairs), so in memory of the order of ``n * prod(input_size) * prod(kernel_size) * c_small
    * c_big / groups``; cached per problem within :data:`CACHE_BYTES` (for
    :mod:`tconv._algorithms.tiny`, whose problems are small).

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> small, big, weight = multiply_adds(conv_transpose_geometry((2,), (2,), stride=2), 1, 1, 1, 1, "channels_first")
    >>> small.tolist(), big.tolist(), weight.tolist()
    ([0, 0, 1, 1], [0, 1, 2, 3], [0, 1, 0, 1])
    >>> cropped = conv_transpose_geometry((2,), (2,), stride=1, padding=1)  # one output: two pairs land on it
    >>> multiply_adds(cropped, 1, 1, 1, 1, "channels_first")[1].tolist()
    [0, 0]
    """
    kind = f"multiply_adds:{n}:{c_small}:{c_big}:{groups}:{layout}"
    return _cached(kind, geometry, lambda g: _multiply_adds(g, n, c_small, c_big, groups, layout), _table_nbytes)


def _multiply_adds(
    geometry: Geometry, n: int, c_small: int, c_big: int, groups: int, layout: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # per axis, the (input, tap) pairs that land in the window and where they land, from every input
    # meeting every tap (memory of the pairs, not of the output: a dilated kernel's output can be long)
    small_pixel = big_pixel = tap = np.zeros(1, dtype=np.intp)
    for i, k, s, d, b, o in geometry.axes():
        j, t = np.divmod(np.arange(i * k, dtype=np.intp), k)  # every (input, tap) pair of the axis
        position = s * j + d * t - b
        kept = (position >= 0) & (position < o)
        small_pixel = (small_pixel[:, None] * i + j[kept]).ravel()
        big_pixel = (big_pixel[:, None] * o + position[kept]).ravel()
        tap = (tap[:, None] * k + t[kept]).ravel()
    p_small, p_big = math.prod(geometry.input_size), math.prod(geometry.output_size)
    kv = math.prod(geometry.kernel_size)
    a, b = c_small // groups, c_big // groups
    samples = np.arange(n, dtype=np.intp).reshape(n, 1, 1, 1, 1)
    group = np.arange(groups, dtype=np.intp).reshape(1, groups, 1, 1, 1)
    small_channel = group * a + np.arange(a, dtype=np.intp).reshape(1, 1, a, 1, 1)  # (1, G, A, 1, 1)
    big_local = np.arange(b, dtype=np.intp).reshape(1, 1, 1, b, 1)
    big_channel = group * b + big_local  # (1, G, 1, B, 1)
    if layout == "channels_last":
        small = (samples * p_small + small_pixel) * c_small + small_channel
        big = (samples * p_big + big_pixel) * c_big + big_channel
    else:
        small = (samples * c_small + small_channel) * p_small + small_pixel
        big = (samples * c_big + big_channel) * p_big + big_pixel
    weight = (small_channel * b + big_local) * kv + tap
    shape = np.broadcast_shapes(small.shape, big.shape, weight.shape)  # (n, G, A, B, pairs)
    return tuple(np.broadcast_to(a, shape).ravel() for a in (small, big, weight))  # type: ignore[return-value]


def tap_ranges(geometry: Geometry, axis: int) -> np.ndarray:
    """``(k, 2)``: per tap ``t`` of ``axis``, the inputs ``[first, stop)`` it carries into the output
    (:func:`tconv.geometry.tap_range`), as the compiled row gather reads them.

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> tap_ranges(conv_transpose_geometry(3, 3, stride=2, padding=1), 0).tolist()
    [[1, 3], [0, 3], [0, 2]]
    """
    axis = axis % geometry.ndim
    # cached per geometry, as the other tables (a tap_range per tap: 1.7 ms a call for 1024 taps)
    return _cached(f"tap_ranges{axis}", geometry, functools.partial(_tap_ranges, axis=axis), _array_nbytes)


def _tap_ranges(geometry: Geometry, axis: int) -> np.ndarray:
    i, o, k = geometry.input_size[axis], geometry.output_size[axis], geometry.kernel_size[axis]
    s, d, b = geometry.stride[axis], geometry.dilation[axis], geometry.crop_begin[axis]
    return np.array([tap_range(d * t - b, s, i, 0, o) for t in range(k)], dtype=np.int64).reshape(k, 2)


def _array_nbytes(array: np.ndarray) -> int:
    return array.nbytes


@functools.lru_cache(maxsize=1024)
def im2col_bytes(geometry: Geometry) -> int:
    """The bytes of :func:`im2col_positions`' tables (and their building), from integers."""
    lead = math.prod(geometry.input_size[:-1]) * math.prod(geometry.kernel_size[:-1])
    return 2 * 8 * (lead + geometry.input_size[-1] * geometry.kernel_size[-1])


def im2col_positions(geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """The positions a convolution reads for each (output, tap): flat over all axes but the last, and along the last.

    The convolution of ``geometry`` reads, for its output ``j`` and tap ``t``, the
    input cell ``s*j + d*t - crop_begin`` (its input has ``geometry.output_size``);
    ``-1`` marks a position outside the input (padding). Returns ``(lead, last)``,
    ``(J_lead, K_lead)`` flat positions over the leading axes and ``(J_last, K_last)``
    positions along the last axis: the tables of the compiled im2col. The pairs
    inside are the tap tables' pairs read the other way, so the same per-tap range
    (:func:`tconv.geometry.tap_range`) gives them.

    Examples
    --------
    >>> from tconv.geometry import conv_geometry
    >>> lead, last = im2col_positions(conv_geometry(5, 3, stride=2, padding=1))
    >>> last.tolist()         # outputs 0, 1, 2 read cells 2j - 1, 2j, 2j + 1
    [[-1, 0, 1], [1, 2, 3], [3, 4, -1]]

    Cached per geometry, as :func:`lead_and_last` (the arrays are read-only).
    """
    return _cached("im2col", geometry, _im2col_positions, _table_nbytes)


def _im2col_positions(geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    per_axis = []
    for i, k, s, d, b, o in geometry.axes():
        pos = np.full((i, k), -1, dtype=np.int64)  # (J, K)
        for t in range(k):
            shift = d * t - b
            lo, hi = tap_range(shift, s, i, 0, o)
            if lo < hi:
                pos[lo:hi, t] = s * np.arange(lo, hi) + shift
        per_axis.append(pos)
    lead = np.zeros((1, 1), dtype=np.int64)
    for axis in range(geometry.ndim - 1):
        pos = per_axis[axis]
        o = geometry.output_size[axis]
        flat = lead[:, None, :, None] * o + pos[None, :, None, :]  # (J_lead, J_a, K_lead, K_a)
        bad = (lead[:, None, :, None] < 0) | (pos[None, :, None, :] < 0)
        lead = np.where(bad, -1, flat).reshape(lead.shape[0] * pos.shape[0], lead.shape[1] * pos.shape[1])
    last = per_axis[-1]
    lead.flags.writeable = last.flags.writeable = False  # shared by every call of this geometry
    return lead, last


class Phase(NamedTuple):
    """One residue class of output positions along one axis (the polyphase view).

    Outputs ``first, first + s, ...`` (``outputs`` of them, window coordinates) all
    receive the same taps ``taps``; output ``first + s*q`` reads input
    ``q + offsets[n]`` through tap ``taps[n]``.
    """

    first: int
    outputs: int
    taps: tuple[int, ...]
    offsets: tuple[int, ...]


@functools.lru_cache(maxsize=256)
def phase_plan(i: int, k: int, s: int, d: int, b: int, o: int) -> tuple[Phase, ...]:
    """The phases of one axis: for each residue ``r = (out + b) mod s`` its taps and offsets.

    Output ``out`` (full position ``f = out + b``) receives tap ``t`` from input
    ``j = (f - d*t)/s`` when that is an integer: the taps with ``d*t ≡ r (mod s)``.
    Writing ``out = first + s*q`` gives ``j = q + (first + b - d*t)//s``. Residues
    that no tap reaches (when ``gcd(s, d) > 1``: the dilation holes) are phases with
    no taps; their outputs are the bias alone.

    Examples
    --------
    >>> [(p.first, p.outputs, p.taps, p.offsets) for p in phase_plan(i=4, k=4, s=2, d=1, b=1, o=8)]
    [(0, 4, (1, 3), (0, -1)), (1, 4, (0, 2), (1, 0))]
    """
    phases = []
    for first in range(min(s, o)):
        taps = phase_taps(k, s, d, (first + b) % s)
        offsets = tuple((first + b - d * t) // s for t in taps)
        phases.append(Phase(first, len(range(first, o, s)), taps, offsets))
    return tuple(phases)


def phase_plans(geometry: Geometry) -> tuple[tuple[Phase, ...], ...]:
    """The phases of every axis (:func:`phase_plan`)."""
    return tuple(phase_plan(*axis) for axis in geometry.axes())
