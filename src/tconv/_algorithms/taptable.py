"""Tap tables: for every output position, the (input position, kernel tap) pairs that reach it.

The write-once *gather* form of a transposed convolution computes each output
element once, from the contributions that land on it, instead of scattering every
input element's stamp. Per axis, output ``o`` receives input ``j`` through tap ``t``
exactly when ``s*j + d*t - crop_begin == o`` (:class:`tconv.geometry.Geometry`); the
table lists those pairs in CSR form (``ptr[o]:ptr[o+1]`` indexes ``j`` and ``t``).
N-d tables are Cartesian products of the per-axis ones, flattened in C order; the
fast kernels use the product over all axes but the last (the "lead") and the last
axis separately, so that their innermost loops run along contiguous memory.

Only integer NumPy arrays; tables are cached per geometry.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from ..geometry import Geometry

__all__ = ["TapTable", "axis_table", "combine", "lead_and_last", "phase_plan"]


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
    outs, js, ts = [], [], []
    for t in range(k):
        shift = d * t - b
        lo = max(0, -(shift // s))
        hi = min(i - 1, (o - 1 - shift) // s)
        if lo > hi:
            continue
        j = np.arange(lo, hi + 1, dtype=np.int64)
        outs.append(s * j + shift)
        js.append(j)
        ts.append(np.full(j.shape, t, dtype=np.int64))
    if not outs:
        return TapTable(np.zeros(o + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
    out = np.concatenate(outs)
    order = np.argsort(out, kind="stable")  # by output, then by tap (taps were appended in order)
    ptr = np.zeros(o + 1, dtype=np.int64)
    np.cumsum(np.bincount(out, minlength=o), out=ptr[1:])
    return TapTable(ptr, np.concatenate(js)[order], np.concatenate(ts)[order])


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


@functools.lru_cache(maxsize=256)
def lead_and_last(geometry: Geometry) -> tuple[TapTable, TapTable]:
    """The table of all axes but the last (one output for 1-d), and of the last axis."""
    tables = [
        axis_table(i, k, s, d, b, o)
        for i, k, s, d, b, o in zip(
            geometry.input_size,
            geometry.kernel_size,
            geometry.stride,
            geometry.dilation,
            geometry.crop_begin,
            geometry.output_size,
        )
    ]
    lead = TapTable(np.array([0, 1], np.int64), np.zeros(1, np.int64), np.zeros(1, np.int64))
    for axis in range(geometry.ndim - 1):
        lead = combine(lead, tables[axis], geometry.input_size[axis], geometry.kernel_size[axis])
    return lead, tables[-1]


class Phase(NamedTuple):
    """One residue class of output positions along one axis (the polyphase view).

    Outputs ``first, first + s, ...`` (``count`` of them, window coordinates) all
    receive the same taps ``taps``; output ``first + s*q`` reads input
    ``q + offsets[n]`` through tap ``taps[n]``.
    """

    first: int
    count: int
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
    >>> [(p.first, p.count, p.taps, p.offsets) for p in phase_plan(i=4, k=4, s=2, d=1, b=1, o=8)]
    [(0, 4, (1, 3), (0, -1)), (1, 4, (0, 2), (1, 0))]
    """
    phases = []
    for first in range(min(s, o)):
        taps = tuple(t for t in range(k) if (first + b - d * t) % s == 0)
        offsets = tuple((first + b - d * t) // s for t in taps)
        phases.append(Phase(first, (o - first + s - 1) // s, taps, offsets))
    return tuple(phases)
