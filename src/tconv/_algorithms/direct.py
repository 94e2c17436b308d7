"""The ``"direct"`` algorithm of ``conv_transpose``: small groups and depthwise, each output written once.

With few channels per group there is nothing for BLAS to do (depthwise: a ``1 x 1``
GEMM per group and tap): each output pixel sums ``x[n, j, ci] * w[ci, k, t]`` over
its ``(j, t)`` pairs (the tap tables of :mod:`tconv._algorithms.taptable`) and the
input channels ``ci`` of its group, vectorised along the channels of a
channels-last pixel, in one compiled pass. A channel multiplier (one input channel,
several output channels per group) repeats each input channel first and runs as a
depthwise layer over the output channels. The NumPy path does one broadcast
multiply-add per tap.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._options import effective
from ..geometry import Geometry
from ..kernels import tap_pairs
from . import compiled as _compiled
from . import gemm as _gemm
from .blocking import blocked
from .im2col import group_minor, minor_groups
from .problem import Problem, channels_last
from .taptable import kept_tables, lead_and_last, table_bytes

__all__ = ["depthwise_shifts", "direct", "run"]


def direct(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """The direct kernel on one batch block, into ``out`` (see the module docstring)."""
    if _gemm.depthwise_stamps(geometry, problem):  # stamps that tile the output: each output written once
        _gemm.stamps(x, w, geometry, problem, out)
        return
    if depthwise_shifts(geometry, problem) and np.isfinite(w).all():  # (an infinite weight times the padding)
        _shifted(x, w, geometry, problem, out)
        return
    n = x.shape[0]
    c_in, c_out, cog = problem.c_in, problem.c_out, problem.cog
    x_cl = channels_last(x, problem.layout)  # (N, P_in, C_in)
    if not _compiled.available():
        out[...] = _direct_numpy(x_cl, w, geometry, problem)
        return
    kv = math.prod(geometry.kernel_size)
    cig, rows = problem.cig, c_in  # the packed weight's (Kv, rows, C_out/rows)
    groups = problem.groups
    minor = cig > 1 and minor_groups(groups, cig, cog)
    if minor:  # along the groups: channels in (channel, group) order, the weight (Kv, Cig*Cog, G)
        x_cl = group_minor(x_cl, groups)
        wt = problem.pack(
            "direct_minor",
            lambda: np.ascontiguousarray(w.reshape(groups, cig, cog, kv).transpose(3, 1, 2, 0)).reshape(
                kv, cig * cog, groups
            ),
        )
    else:
        if cig == 1 and cog > 1:
            # a channel multiplier: each input channel repeated cog times, then depthwise over C_out
            # channels (the kernel's loop over cog short channels did not vectorise: 2.3-3.8x slower)
            x_cl = np.repeat(x_cl, cog, axis=-1)  # (N, P_in, C_out)
            cig, cog, rows = 1, 1, c_out
        wt = problem.pack(
            "direct", lambda: np.ascontiguousarray(w.reshape(rows, -1, kv).transpose(2, 0, 1))
        )  # (Kv, C_in, Cog), or (Kv, C_out, 1) for a channel multiplier
    tables = lead_and_last(geometry)
    o_lead, o_last = tables.lead.outputs, tables.last.outputs
    if problem.layout == "channels_last":
        y = out.reshape(n, o_lead, o_last, c_out)  # (N, O_lead, O_last, C_out)
    else:  # rows summed channels-last and written transposed: no channels-last copy of the output and
        # no separate transpose pass over it (which cost 2-5x the arithmetic of a depthwise layer)
        y = out.reshape(n, c_out, o_lead, o_last)  # (N, C_out, O_lead, O_last)
    # tasks: rows (sample, lead position), each cut into parts along the last axis where the rows are
    # fewer than the threads (a 1-d layer of one sample was one task, on one thread)
    threads = effective().threads
    parts = max(1, min(-(-threads // (n * o_lead)), o_last // ROW_PART_OUTPUTS))
    args = (x_cl, wt, cig, cog, *tables.kernel_args(), problem.bias, y, parts)
    calls = [(*args, t0, t1) for t0, t1 in _compiled.split(n * o_lead * parts, 4 * threads)]
    kernel = ("direct_minor" if minor else "direct") + ("_cl" if problem.layout == "channels_last" else "_cf")
    _compiled.parallel_for(_compiled.kernels()[kernel], calls)


#: The fewest outputs of a part of a row when :func:`direct` cuts its rows along the last axis (rows fewer
#: than the threads: a 1-d layer of one sample, whose one row ran on one thread). A/B in one process (6
#: December, Xeon, two threads, min of 3 x 5 calls) on five one-sample 1-d layers of 3-8 -> 96-384
#: channels, k12-k32 at s2-s8: 1.12-2.36x (4 -> 384 k12 s4 on 2010 samples: 19.0 -> 8.1 ms).
ROW_PART_OUTPUTS = 64
#: How many times the input's pixels the zero-padded input of :func:`_shifted` may hold: its cells are its
#: memory and, times the taps, its work, where the tap tables' pass does the input's pixels times the taps
#: (at most, cropped pairs left out). Beyond it (small samples under large or dilated kernels) that pass.
SHIFT_GROWTH = 4.0


def depthwise_shifts(geometry: Geometry, problem: Problem) -> bool:
    """Whether :func:`direct` computes this problem plane by plane (:func:`_shifted`): one input channel
    per group (depthwise layers, channel multipliers), stride 1 on every axis, a kernel of more than one
    tap, a channels-first layout, 1-3 d, a dtype the compiled kernels take, and a zero-padded input of
    at most :data:`SHIFT_GROWTH` times the input's pixels."""
    if problem.cig != 1 or problem.layout != "channels_first" or not 1 <= geometry.ndim <= 3:
        return False
    if any(s != 1 for s in geometry.stride) or math.prod(geometry.kernel_size) == 1:
        return False
    if not _compiled.available() or not _compiled.supports(problem.dtype):
        return False
    return math.prod(_shift_grid(geometry)[1]) <= SHIFT_GROWTH * math.prod(geometry.input_size)


def _shift_grid(geometry: Geometry) -> tuple[list[tuple[int, int]], list[int]]:
    """Per axis, the zero cells :func:`_shifted` puts before and after the input (at stride 1 output ``o``
    reads input ``o + crop - d*t``, which stays inside for every tap and output), and the padded size."""
    padding = [(max(0, d * (k - 1) - c), max(0, o + c - i)) for i, k, _, d, c, o in geometry.axes()]
    return padding, [lo + i + hi for (lo, hi), i in zip(padding, geometry.input_size)]


def _shift_tables(geometry: Geometry) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`_shifted` reads of a geometry: each tap's offset into a padded plane (flat, C order, for
    the first output), and each output lead row's offset on the padded pitch."""
    padding, padded = _shift_grid(geometry)
    pitch = [math.prod(padded[a + 1 :]) for a in range(geometry.ndim)]
    starts = [
        [(c - d * t + lo) * p for t in range(k)]
        for (lo, _), (_, k, _, d, c, _), p in zip(padding, geometry.axes(), pitch)
    ]  # fmt: skip
    shifts = np.array([sum(taps) for taps in itertools.product(*starts)], dtype=np.int64)
    lead = [range(o) for o in geometry.output_size[:-1]]
    base = np.array([sum(o * p for o, p in zip(row, pitch)) for row in itertools.product(*lead)], dtype=np.int64)
    return shifts, base


def _shifted(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """A :func:`depthwise_shifts` problem into ``out``: the input zero-padded (:func:`_shift_grid`), then
    each output plane summed on the padded pitch, one contiguous multiply-add per tap over the shifted
    plane (``depthwise_shifts`` of :mod:`tconv._algorithms.numba_kernels`), the planes shared among the
    threads. Per output pixel over the tap tables (``direct_cf``) each pixel's pairs of few channels
    cost more in their views than in their arithmetic. Measured (6 December, Xeon, two threads, min
    of 15 calls, on 18 layers of 1-3 d) against that pass: 1.1-17x, e.g. 8 x 64 channels at 32 x 32,
    k7, 3.3 -> 1.7 ms (PyTorch 1.9-2.7); one 128-channel sample at 56 x 56, k7, 3.5 -> 1.2 (1.3);
    4 x 256 at 28 x 28, k3, 1.7 -> 1.5 (2.3-2.9); a 3-d 32-channel k3 layer at 24^3 3.6 -> 1.4 (15);
    0.9x on a 96-channel k3 layer at 14 x 14 without padding."""
    n, c_in, c_out = x.shape[0], problem.c_in, problem.c_out
    padding, padded = _shift_grid(geometry)
    xp = np.zeros((n, c_in, *padded), problem.dtype)
    inner = tuple(slice(lo, lo + i) for (lo, _), i in zip(padding, geometry.input_size))
    xp[(slice(None), slice(None)) + inner] = x
    shifts, base = kept_tables("direct-shifts", geometry, _shift_tables)
    wt = np.ascontiguousarray(w, dtype=problem.dtype).reshape(c_out, -1)  # (C_out, taps), taps in C order
    y = out.reshape(n, c_out, len(base), geometry.output_size[-1])
    args = (xp.reshape(n, c_in, -1), wt, problem.cog, shifts, base, problem.bias, y)
    calls = [(*args, t0, t1) for t0, t1 in _compiled.split(n * c_out, 4 * effective().threads)]
    _compiled.parallel_for(_compiled.kernels()["depthwise_shifts"], calls)


def _footprint(geometry: Geometry, problem: Problem) -> int:
    # channels-last input copy (compiled); the NumPy path also holds the result channels-last, one
    # tap's contribution and the layout change of its result
    p_in, p_out = math.prod(geometry.input_size), math.prod(geometry.output_size)
    # (and with a channel multiplier, the input repeated along its channels: C_out per input pixel; along
    # the groups, its copy in (channel, group) order: C_in per input pixel; the plane-by-plane pass's
    # zero-padded input, at most SHIFT_GROWTH times the input's pixels)
    elements = p_in * (2 * problem.c_in + 2 * problem.c_out) + 2 * p_out * problem.c_out
    if depthwise_shifts(geometry, problem):
        elements += int(SHIFT_GROWTH * p_in) * problem.c_in
    return elements * problem.dtype.itemsize + table_bytes(geometry)  # and the tap tables


#: The registry's ``"direct"``: :func:`direct` in blocks under the memory budget.
run = blocked(direct, _footprint)


def _direct_numpy(x_cl: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """One broadcast multiply-add per tap, over a channels-last input ``(N, P_in, C_in)``."""
    n = x_cl.shape[0]
    groups, cig, cog = problem.groups, problem.cig, problem.cog
    xg = x_cl.reshape(n, *geometry.input_size, groups, cig)  # (N, *i, G, Cig)
    wg = w.reshape(groups, cig, cog, *geometry.kernel_size)  # (G, Cig, Cog, *k)
    y = np.empty((n, *geometry.output_size, groups, cog), dtype=problem.dtype)  # (N, *o, G, Cog)
    y[...] = problem.bias.reshape(groups, cog) if problem.has_bias else 0
    for tap, src, dst in tap_pairs(geometry):
        xs = xg[(slice(None),) + src]  # (N, *S, G, Cig)
        wt = wg[(Ellipsis,) + tap]  # (G, Cig, Cog)
        if cig == 1:
            contribution = xs * wt[:, 0, :]  # (N, *S, G, Cog)
        else:
            contribution = np.einsum("...gi,gio->...go", xs, wt)
        y[(slice(None),) + dst] += contribution
    y = y.reshape(n, *geometry.output_size, groups * cog)  # (N, *o, C_out)
    return y if problem.layout == "channels_last" else np.ascontiguousarray(np.moveaxis(y, -1, 1))
