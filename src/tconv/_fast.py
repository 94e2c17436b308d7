"""The fast algorithms: ``"gemm"``, ``"phase"`` and ``"direct"`` (small groups, depthwise).

All of them put every multiplication into BLAS (``numpy.matmul``) except
``"direct"``, where BLAS cannot help, and make every other pass a single
write-once pass (compiled with numba when available, see :mod:`tconv._compiled`).
None multiplies by an inserted zero. Temporary buffers are bounded by the
``memory_budget`` option: the batch, the output channels and, for very large
samples, bands of output rows are processed in blocks.

The algebra of each is in its function's docstring; the shared notation is that of
:mod:`tconv._kernels`: input element ``j`` and tap ``t`` meet at output
``o = s*j + d*t - b``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _compiled
from ._algorithms import register
from ._config import get_options
from ._kernels import tap_slices
from ._taptable import lead_and_last, phase_plan
from .shape import Geometry

__all__ = ["direct", "gemm", "phase"]


def _bias_array(bias: np.ndarray | None, c_out: int, dtype: np.dtype) -> tuple[np.ndarray, bool]:
    if bias is None:
        return np.zeros(c_out, dtype=dtype), False
    return np.ascontiguousarray(bias, dtype=dtype), True


def _output(n: int, c_out: int, geometry: Geometry, layout: str, dtype: np.dtype) -> np.ndarray:
    shape = (n, c_out, *geometry.output_size) if layout == "channels_first" else (n, *geometry.output_size, c_out)
    return np.empty(shape, dtype=dtype)


def _channels_last_block(x: np.ndarray, layout: str, n0: int, n1: int) -> np.ndarray:
    """Samples ``n0:n1`` of ``x`` as a C-contiguous ``(n, prod(i), C)`` array."""
    if layout == "channels_last":
        block = x[n0:n1]
        return np.ascontiguousarray(block).reshape(n1 - n0, -1, x.shape[-1])  # (n, P, C)
    block = x[n0:n1].reshape(n1 - n0, x.shape[1], -1)  # (n, C, P)
    if _compiled.available():
        out = np.empty((n1 - n0, block.shape[2], block.shape[1]), dtype=x.dtype)  # (n, P, C)
        block = np.ascontiguousarray(block)
        kernel = _compiled.kernels()["batched_transpose"]
        _compiled.parallel_for(kernel, [(block, out, a, b) for a, b in _compiled.split(n1 - n0, get_options().threads)])
        return out
    return np.ascontiguousarray(block.transpose(0, 2, 1))  # (n, P, C)


def _blocks(n: int, per_sample: int, channels: int) -> tuple[int, int]:
    """Batch block and channel block so that ``n_block*c_block*per_sample`` fits the budget.

    ``per_sample`` is the temporary bytes one sample needs per output channel.
    """
    budget = get_options().memory_budget
    n_block = budget // max(per_sample * channels, 1)
    if n_block >= 1:
        return min(n, n_block), channels
    return 1, max(1, min(channels, budget // max(per_sample, 1)))


def _work(tasks: int, inner: int) -> list[tuple[int, int, int, int]]:
    """Split ``tasks`` rows x ``inner`` columns into enough pieces for the thread pool."""
    threads = get_options().threads
    if threads == 1:
        return [(0, tasks, 0, inner)]
    wanted = 4 * threads
    if tasks >= wanted:
        return [(a, b, 0, inner) for a, b in _compiled.split(tasks, wanted)]
    pieces = -(-wanted // max(tasks, 1))
    return [(a, b, c, d) for a, b in _compiled.split(tasks, tasks) for c, d in _compiled.split(inner, pieces)]


def gemm(x, w, bias, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
    """GEMM + write-once col2im.

    One GEMM per group over all input pixels of a batch block (channels-last
    orientation) computes every contribution of every input pixel::

        cols[g, (n, j), t, co] = sum_ci x[n, j, g*C_in/G + ci] * w[g*C_in/G + ci, co, t]

    Then every output element is written once: it sums the columns that land on it,
    ``y[n, o, co] = bias[co] + sum over (j, t) with s*j + d*t - b = o of
    cols[n, j, t, co]`` (the tap tables of :mod:`tconv._taptable`), in parallel over
    output rows, directly in the requested layout. With ``kernel_size <= stride``
    every output receives at most one tap: the GEMM plus a depth-to-space copy.
    Column memory is ``N*prod(i)*prod(k)*C_out`` elements, blocked to the budget.
    """
    n = x.shape[0]
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    kv = math.prod(geometry.kernel_size)
    p_in = math.prod(geometry.input_size)
    dtype = np.result_type(x, w)
    out = _output(n, groups * cog, geometry, layout, dtype)
    b, has_bias = _bias_array(bias, groups * cog, dtype)
    w_packed = w.reshape(groups, cig, cog, kv).transpose(0, 1, 3, 2)  # (G, Cig, Kv, Cog)
    per_sample = groups * p_in * kv * dtype.itemsize
    n_block, c_block = _blocks(n, per_sample, cog)
    compiled = _compiled.available()
    lead, last = lead_and_last(geometry)
    o_lead, o_last = lead.outputs, last.outputs
    out_cl = out.reshape(n, o_lead, o_last, groups * cog) if layout == "channels_last" else None
    out_cf = out.reshape(n, groups * cog, o_lead, o_last) if layout == "channels_first" else None
    for n0 in range(0, n, n_block):
        n1 = min(n, n0 + n_block)
        nb = n1 - n0
        xb = _channels_last_block(x, layout, n0, n1).reshape(nb * p_in, groups, cig).transpose(1, 0, 2)  # (G, M, Cig)
        for c0 in range(0, cog, c_block):
            c1 = min(cog, c0 + c_block)
            wb = np.ascontiguousarray(w_packed[..., c0:c1]).reshape(groups, cig, kv * (c1 - c0))  # (G, Cig, Kv*Cb)
            cols = np.matmul(xb, wb).reshape(groups, nb * p_in, kv, c1 - c0)  # (G, M, Kv, Cb)
            if compiled:
                _gather(cols, lead, last, geometry, b, has_bias, out_cl, out_cf, n0, c0, cog, nb)
            else:
                _col2im_numpy(cols, geometry, b, has_bias, out, layout, n0, c0, cog, nb, groups)
    return out


def _gather(cols, lead, last, geometry, b, has_bias, out_cl, out_cf, n0, c0, cog, nb):
    kernels = _compiled.kernels()
    i_last, k_last = geometry.input_size[-1], geometry.kernel_size[-1]
    p_in = math.prod(geometry.input_size)
    common = (cols, lead.ptr, lead.j, lead.t, last.ptr, last.j, last.t, p_in, i_last, k_last, lead.outputs, b, has_bias)
    work = _work(nb * lead.outputs, last.outputs)
    if out_cl is not None:
        calls = [common + (out_cl, n0, c0, cog, t0, t1, o0, o1) for t0, t1, o0, o1 in work]
        _compiled.parallel_for(kernels["gather_cl"], calls)
    else:
        width = cols.shape[0] * cols.shape[3]
        calls = [
            common + (out_cf, n0, c0, cog, t0, t1, o0, o1, np.empty((o1 - o0, width), cols.dtype))
            for t0, t1, o0, o1 in work
        ]
        _compiled.parallel_for(kernels["gather_cf"], calls)


def _col2im_numpy(cols, geometry, b, has_bias, out, layout, n0, c0, cog, nb, groups):
    """NumPy col2im: one strided slice-add per kernel tap (Chainer's ``col2im_cpu``)."""
    cb = cols.shape[3]
    nd = geometry.ndim
    cols = cols.reshape(groups, nb, *geometry.input_size, *geometry.kernel_size, cb)  # (G, n, *i, *k, Cb)
    if layout == "channels_last":
        target = out[n0 : n0 + nb].reshape(nb, *geometry.output_size, groups, cog)[..., c0 : c0 + cb]  # (n, *o, G, Cb)
    else:
        target = out[n0 : n0 + nb].reshape(nb, groups, cog, *geometry.output_size)[:, :, c0 : c0 + cb]  # (n, G, Cb, *o)
        target = np.moveaxis(target, (1, 2), (-2, -1))  # (n, *o, G, Cb) view
    bias = b.reshape(groups, cog)[:, c0 : c0 + cb]  # (G, Cb)
    target[...] = bias if has_bias else 0
    for tap in np.ndindex(*geometry.kernel_size):
        slices = tap_slices(geometry, tap)
        if slices is None:
            continue
        src, dst = slices
        contribution = cols[(slice(None), slice(None), *src, *tap)]  # (G, n, *S, Cb)
        target[(slice(None), *dst)] += np.moveaxis(contribution, 0, -2)  # (n, *S, G, Cb)
    del nd


register("gemm", "one GEMM over all input pixels, then a write-once gather of the columns (col2im)")(gemm)


def _accumulating_gemm(dtype: np.dtype):
    """``gemm(a, b, c)``: ``c += a @ b`` in place (BLAS ``beta=1``; NumPy fallback: a temporary)."""
    try:
        from scipy.linalg import blas
    except ImportError:  # pragma: no cover - SciPy is optional
        blas = None
    if blas is not None and dtype.char in "fdFD":
        routine = {"f": blas.sgemm, "d": blas.dgemm, "F": blas.cgemm, "D": blas.zgemm}[dtype.char]

        def gemm_beta1(a, b, c):
            # c (R, Co) C-order is c.T (Co, R) in Fortran order: c.T += b.T @ a.T, no copies.
            routine(1.0, b.T, a.T, beta=1.0, c=c.T, overwrite_c=1)

        return gemm_beta1

    def gemm_add(a, b, c):
        c += a @ b

    return gemm_add


def phase(x, w, bias, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
    """The polyphase (sub-pixel) decomposition: ``prod(stride)`` small stride-1 convolutions.

    Along an axis, output ``o`` (full position ``f = o + b``) receives tap ``t`` only
    when ``d*t ≡ f (mod s)``. Grouping outputs by that residue, phase
    ``o = first + s*q`` is a stride-1 correlation over ``q`` with just its taps,
    ``y[first + s*q] = sum_t x[q + offset_t] @ W_t`` (:func:`tconv._taptable.phase_plan`;
    when ``gcd(s, d) > 1`` some residues get no tap at all and are the bias alone).
    No multiplication by an inserted zero, no scatter.

    Each phase is computed as shifted-window GEMMs accumulated in place: on the
    input, zero-padded and flattened channels-last, every tap's window over all
    output rows of the phase is one contiguous row range, so each tap is one GEMM
    ``(rows x C_in) @ (C_in x C_out)`` added into the phase's accumulator (BLAS
    ``beta=1``, no column buffer; the rows between samples and past each row's end
    are computed and discarded). Then the phase is interleaved into the output,
    with bias and layout, in one pass. When every phase reads the same window
    (``kernel_size == stride``, no crop) all taps share one GEMM: a single GEMM plus
    a depth-to-space.
    """
    n = x.shape[0]
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    c_out = groups * cog
    nd = geometry.ndim
    dtype = np.result_type(x, w)
    out = _output(n, c_out, geometry, layout, dtype)
    b, has_bias = _bias_array(bias, c_out, dtype)
    plans = [
        phase_plan(i, k, s, d, bb, o)
        for i, k, s, d, bb, o in zip(
            geometry.input_size, geometry.kernel_size, geometry.stride, geometry.dilation,
            geometry.crop_begin, geometry.output_size,
        )
    ]
    # Padding that keeps every (phase, tap) window inside the padded input.
    pad_before, pad_after = [], []
    for axis, plan in enumerate(plans):
        offsets = [u for ph in plan for u in ph.offsets]
        lows = [u for u in offsets] or [0]
        highs = [ph.count - 1 + u for ph in plan for u in ph.offsets] or [0]
        pad_before.append(max(0, -min(lows)))
        pad_after.append(max(0, max(highs) - (geometry.input_size[axis] - 1)))
    padded = tuple(i + a + c for i, a, c in zip(geometry.input_size, pad_before, pad_after))
    pitch = tuple(math.prod(padded[a + 1 :]) for a in range(nd))  # C-order strides of the padded grid
    per_sample = math.prod(padded) * (c_in + 2 * c_out) * dtype.itemsize
    n_block = max(1, min(n, get_options().memory_budget // max(per_sample, 1)))
    # (G, Cig, Cog, *k) -> per tap (G, Cig, Cog)
    wg = w.reshape(groups, cig, cog, *geometry.kernel_size)
    accumulate = _accumulating_gemm(dtype)
    phases = list(np.ndindex(*(len(p) for p in plans)))
    shared = _single_window(plans)
    for n0 in range(0, n, n_block):
        n1 = min(n, n0 + n_block)
        nb = n1 - n0
        xp = _padded_channels_last(x, layout, n0, n1, geometry, pad_before, pad_after)  # (nb, *padded, C_in)
        flat = xp.reshape(nb * math.prod(padded), groups, cig)  # (nb*P, G, Cig)
        if shared is not None:
            _phase_single_gemm(flat, wg, plans, shared, pad_before, pitch, padded, nb, out, b, has_bias, layout, n0, geometry, groups)
            continue
        y = np.empty((groups, nb * math.prod(padded), cog), dtype=dtype)  # phase accumulator, padded pitch
        for index in phases:
            ph = [plan[a] for plan, a in zip(plans, index)]
            counts = [p.count for p in ph]
            if 0 in counts:
                continue
            rows = sum((c - 1) * p for c, p in zip(counts, pitch)) + 1  # last valid q_flat + 1
            span = (nb - 1) * math.prod(padded) + rows
            taps = list(zip(*[list(zip(p.taps, p.offsets)) for p in ph]))  # per axis lists -> product below
            tap_lists = [list(zip(p.taps, p.offsets)) for p in ph]
            del taps
            acc = y[:, :span]
            acc[...] = 0
            for combo in np.ndindex(*(len(t) for t in tap_lists)):
                tap = tuple(tap_lists[a][c][0] for a, c in enumerate(combo))
                start = sum((tap_lists[a][c][1] + pad_before[a]) * pitch[a] for a, c in enumerate(combo))
                window = flat[start : start + span]  # (span, G, Cig), contiguous rows
                for g in range(groups):
                    accumulate(window[:, g], wg[(g, slice(None), slice(None), *tap)], acc[g])
            _interleave(y, ph, padded, nb, out, b, has_bias, layout, n0, geometry, groups, cog)
        _fill_holes(plans, out, b, has_bias, layout, n0, n1, geometry)
    return out


def _padded_channels_last(x, layout, n0, n1, geometry, before, after):
    """Samples n0:n1 zero-padded and channels-last: ``(n, *padded, C)`` C-contiguous."""
    nb = n1 - n0
    c = x.shape[1] if layout == "channels_first" else x.shape[-1]
    padded = tuple(i + a + b for i, a, b in zip(geometry.input_size, before, after))
    xp = np.zeros((nb, *padded, c), dtype=x.dtype)
    inner = tuple(slice(a, a + i) for a, i in zip(before, geometry.input_size))
    if layout == "channels_first":
        xp[(slice(None), *inner)] = _channels_last_block(x, layout, n0, n1).reshape(nb, *geometry.input_size, c)
    else:
        xp[(slice(None), *inner)] = x[n0:n1]
    return xp


def _single_window(plans):
    """The common offsets when every phase has exactly one tap at the same offset, else None."""
    offsets = []
    for plan in plans:
        per_axis = {u for ph in plan for u in ph.offsets}
        if any(len(ph.taps) != 1 for ph in plan) or len(per_axis) != 1:
            return None
        offsets.append(per_axis.pop())
    return tuple(offsets)


def _phase_single_gemm(flat, wg, plans, offsets, pad_before, pitch, padded, nb, out, b, has_bias, layout, n0, geometry, groups):
    """kernel_size == stride (and the like): one GEMM for all phases, then depth-to-space."""
    cig, cog = wg.shape[1:3]
    counts = [max(ph.count for ph in plan) for plan in plans]
    rows = sum((c - 1) * p for c, p in zip(counts, pitch)) + 1
    span = (nb - 1) * math.prod(padded) + rows
    start = sum((u + a) * p for u, a, p in zip(offsets, pad_before, pitch))
    phases = list(np.ndindex(*(len(p) for p in plans)))
    taps = [tuple(plan[a].taps[0] for plan, a in zip(plans, index)) for index in phases]
    # (G, Cig, phases*Cog): the weights of every phase side by side
    wcat = np.stack([wg[(slice(None), slice(None), slice(None), *t)] for t in taps], axis=2)  # (G, Cig, F, Cog)
    wcat = wcat.reshape(groups, cig, len(taps) * cog)
    window = flat[start : start + span].transpose(1, 0, 2)  # (G, span, Cig)
    y_all = np.matmul(window, wcat).reshape(groups, span, len(taps), cog)  # (G, span, F, Cog)
    y = np.empty((groups, nb * math.prod(padded), cog), dtype=y_all.dtype)
    for f, index in enumerate(phases):
        ph = [plan[a] for plan, a in zip(plans, index)]
        if 0 in [p.count for p in ph]:
            continue
        y[:, :span] = y_all[:, :, f]
        _interleave(y, ph, padded, nb, out, b, has_bias, layout, n0, geometry, groups, cog)


def _interleave(y, ph, padded, nb, out, b, has_bias, layout, n0, geometry, groups, cog):
    """Write one phase (accumulator ``y`` (G, nb*P, Cog) on the padded pitch) into every s-th output."""
    nd = geometry.ndim
    counts = [p.count for p in ph]
    yv = y.reshape(groups, nb, *padded, cog)[(slice(None), slice(None), *(slice(0, c) for c in counts))]  # (G, nb, *counts, Cog)
    if _compiled.available():
        lead_counts, lead_padded, lead_out = counts[:-1], padded[:-1], geometry.output_size[:-1]
        q_lead = np.indices(lead_counts).reshape(nd - 1, -1) if nd > 1 else np.zeros((0, 1), np.int64)
        src = np.ravel_multi_index(q_lead, lead_padded) if nd > 1 else np.zeros(1, np.int64)
        dst_index = [ph[a].first + geometry.stride[a] * q_lead[a] for a in range(nd - 1)]
        dst = np.ravel_multi_index(dst_index, lead_out) if nd > 1 else np.zeros(1, np.int64)
        y4 = np.ascontiguousarray(np.moveaxis(yv, 0, -2)).reshape(nb, -1, counts[-1], groups * cog)  # (nb, lead, q, C)
        lead_rows = math.prod(lead_counts) if nd > 1 else 1
        src = np.arange(lead_rows, dtype=np.int64)  # y4 holds exactly the valid lead rows, in order
        o_lead = math.prod(lead_out) if nd > 1 else 1
        c_out = groups * cog
        view = (out[n0 : n0 + nb].reshape(nb, o_lead, geometry.output_size[-1], c_out) if layout == "channels_last"
                else out[n0 : n0 + nb].reshape(nb, c_out, o_lead, geometry.output_size[-1]))
        kernel = _compiled.kernels()["interleave"]
        calls = [
            (y4, src, dst.astype(np.int64), ph[-1].first, counts[-1], geometry.stride[-1], b, has_bias, view,
             layout == "channels_last", t0, t1)
            for t0, t1 in _compiled.split(nb * lead_rows, 4 * get_options().threads)
        ]
        _compiled.parallel_for(kernel, calls)
        return
    positions = tuple(slice(p.first, None, s) for p, s in zip(ph, geometry.stride))
    values = np.moveaxis(yv, 0, -2).reshape(nb, *counts, groups * cog)  # (nb, *counts, C_out)
    if has_bias:
        values = values + b
    if layout == "channels_last":
        out[(slice(n0, n0 + nb), *positions)] = values
    else:
        out[(slice(n0, n0 + nb), slice(None), *positions)] = np.moveaxis(values, -1, 1)


def _fill_holes(plans, out, b, has_bias, layout, n0, n1, geometry):
    """Outputs of phases that no tap reaches (dilation holes) are the bias alone."""
    value = b if has_bias else np.zeros_like(b)
    for index in np.ndindex(*(len(p) for p in plans)):
        ph = [plan[a] for plan, a in zip(plans, index)]
        if 0 in [p.count for p in ph] or all(p.taps for p in ph):
            continue
        positions = tuple(slice(p.first, None, s) for p, s in zip(ph, geometry.stride))
        if layout == "channels_last":
            out[(slice(n0, n1), *positions)] = value
        else:
            out[(slice(n0, n1), slice(None), *positions)] = value.reshape(-1, *(1,) * geometry.ndim)


register("phase", "polyphase: one stride-1 convolution per output phase, shifted-window GEMMs, no zeros")(phase)


def direct(x, w, bias, geometry: Geometry, groups: int, layout: str) -> np.ndarray:
    """Direct small-group (and depthwise) transposed convolution, written once per output.

    With few channels per group there is nothing for BLAS to do (depthwise: a
    ``1 x 1`` GEMM per group and tap): each output pixel sums
    ``x[n, j, ci] * w[ci, k, t]`` over its ``(j, t)`` pairs (the tap tables) and the
    input channels ``ci`` of its group, vectorised along the channels of a
    channels-last pixel, in one compiled pass. The NumPy path does one broadcast
    multiply-add per tap.
    """
    n = x.shape[0]
    c_in, cog = w.shape[:2]
    cig = c_in // groups
    c_out = groups * cog
    kv = math.prod(geometry.kernel_size)
    dtype = np.result_type(x, w)
    b, has_bias = _bias_array(bias, c_out, dtype)
    x_cl = _channels_last_block(x, layout, 0, n)  # (N, P_in, C_in)
    if not _compiled.available():
        return _direct_numpy(x_cl, w, b, has_bias, geometry, groups, layout)
    wt = np.ascontiguousarray(w.reshape(c_in, cog, kv).transpose(2, 0, 1))  # (Kv, C_in, Cog)
    lead, last = lead_and_last(geometry)
    p_out = math.prod(geometry.output_size)
    y_cl = np.empty((n, lead.outputs, last.outputs, c_out), dtype=dtype)  # (N, O_lead, O_last, C_out)
    kernel = _compiled.kernels()["direct_cl"]
    common = (x_cl, wt, cig, cog, lead.ptr, lead.j, lead.t, last.ptr, last.j, last.t,
              math.prod(geometry.input_size), geometry.input_size[-1], geometry.kernel_size[-1], lead.outputs, b, has_bias, y_cl)
    tasks = n * lead.outputs
    _compiled.parallel_for(kernel, [common + (t0, t1) for t0, t1 in _compiled.split(tasks, 4 * get_options().threads)])
    if layout == "channels_last":
        return y_cl.reshape(n, *geometry.output_size, c_out)
    out = np.empty((n, c_out, p_out), dtype=dtype)  # (N, C_out, P_out)
    flat = y_cl.reshape(n, p_out, c_out)  # (N, P_out, C_out)
    transpose = _compiled.kernels()["batched_transpose"]
    _compiled.parallel_for(transpose, [(flat, out, a, c) for a, c in _compiled.split(n, get_options().threads)])
    return out.reshape(n, c_out, *geometry.output_size)


def _direct_numpy(x_cl, w, b, has_bias, geometry, groups, layout):
    n, _, c_in = x_cl.shape
    cig, cog = c_in // groups, w.shape[1]
    xg = x_cl.reshape(n, *geometry.input_size, groups, cig)  # (N, *i, G, Cig)
    wg = w.reshape(groups, cig, cog, *geometry.kernel_size)  # (G, Cig, Cog, *k)
    y = np.empty((n, *geometry.output_size, groups, cog), dtype=b.dtype)  # (N, *o, G, Cog)
    y[...] = b.reshape(groups, cog) if has_bias else 0
    for tap in np.ndindex(*geometry.kernel_size):
        slices = tap_slices(geometry, tap)
        if slices is None:
            continue
        src, dst = slices
        xs = xg[(slice(None), *src)]  # (N, *S, G, Cig)
        wt = wg[(Ellipsis, *tap)]  # (G, Cig, Cog)
        if cig == 1:
            contribution = xs * wt[:, 0, :]  # (N, *S, G, Cog)
        else:
            contribution = np.einsum("...gi,gio->...go", xs, wt)
        y[(slice(None), *dst)] += contribution
    y = y.reshape(n, *geometry.output_size, groups * cog)  # (N, *o, C_out)
    return y if layout == "channels_last" else np.ascontiguousarray(np.moveaxis(y, -1, 1))


register("direct", "direct small-group/depthwise kernel: each output pixel written once, no BLAS")(direct)
