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
from .taptable import lead_and_last, table_bytes

__all__ = ["direct", "run"]


def direct(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem, out: np.ndarray) -> None:
    """The direct kernel on one batch block, into ``out`` (see the module docstring)."""
    if _gemm.depthwise_stamps(geometry, problem):  # stamps that tile the output: each output written once
        _gemm.stamps(x, w, geometry, problem, out)
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
    args = (x_cl, wt, cig, cog, *tables.kernel_args(), problem.bias, y)
    calls = [(*args, t0, t1) for t0, t1 in _compiled.split(n * o_lead, 4 * effective().threads)]
    kernel = ("direct_minor" if minor else "direct") + ("_cl" if problem.layout == "channels_last" else "_cf")
    _compiled.parallel_for(_compiled.kernels()[kernel], calls)


def _footprint(geometry: Geometry, problem: Problem) -> int:
    # channels-last input copy (compiled); the NumPy path also holds the result channels-last, one
    # tap's contribution and the layout change of its result
    p_in, p_out = math.prod(geometry.input_size), math.prod(geometry.output_size)
    # (and with a channel multiplier, the input repeated along its channels: C_out per input pixel; along
    # the groups, its copy in (channel, group) order: C_in per input pixel)
    elements = p_in * (2 * problem.c_in + 2 * problem.c_out) + 2 * p_out * problem.c_out
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
