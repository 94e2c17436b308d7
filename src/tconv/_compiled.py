"""numba-compiled passes of the fast algorithms, run in parallel from a small thread pool.

BLAS does the multiplications; these kernels do everything else in one write-once
pass each: the gather of GEMM columns into the output (col2im), the interleave of
polyphase results, the direct small-group kernel, and the layout change, with
the bias added on the way. They are compiled with ``nogil=True`` and run from
Python threads (:func:`parallel_for`) instead of numba's own threading layer: a
thread that has finished its share blocks instead of spinning, so it does not
steal cycles from the next BLAS call (PERFORMANCE.md §7 measured OpenMP
spin-waiting against OpenBLAS at up to 2x).

numba is optional (``pip install tconv[fast]``); :func:`available` says whether
these kernels can be used, and every algorithm has a NumPy-only path.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from ._config import get_options

__all__ = ["available", "kernels", "parallel_for", "split"]

_KERNELS: dict[str, Callable] | None = None
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_LOCK = threading.Lock()
_HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def available() -> bool:
    """True when numba is installed and the ``compiled`` option is on."""
    return _HAVE_NUMBA and get_options().compiled


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering ``range(total)`` (fewer if ``total`` is small)."""
    parts = max(1, min(parts, total))
    bounds = [total * p // parts for p in range(parts + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def parallel_for(function: Callable[..., None], calls: Sequence[tuple]) -> None:
    """Run ``function(*args)`` for every ``args`` in ``calls`` on the thread pool.

    The calls must write disjoint parts of their outputs. With one thread or one
    call everything runs in the calling thread.
    """
    global _POOL, _POOL_SIZE
    threads = get_options().threads
    if threads == 1 or len(calls) <= 1:
        for args in calls:
            function(*args)
        return
    with _LOCK:
        if _POOL is None or _POOL_SIZE != threads:
            if _POOL is not None:
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tconv")
            _POOL_SIZE = threads
        pool = _POOL
    futures = [pool.submit(function, *args) for args in calls[1:]]
    function(*calls[0])  # the calling thread takes a share too
    for future in futures:
        future.result()


def kernels() -> dict[str, Callable]:
    """The compiled kernels, built (and numba imported) on first use."""
    global _KERNELS
    if _KERNELS is None:
        with _LOCK:
            if _KERNELS is None:
                _KERNELS = _build()
    return _KERNELS


def _build() -> dict[str, Callable]:  # noqa: C901 - one place for all kernels
    import numba

    jit = numba.njit(nogil=True, cache=True, boundscheck=False)

    @jit
    def gather_cl(cols, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias, has_bias,
                  out, n_off, c_off, cog_total, task0, task1, o0, o1):
        """Columns -> channels-last output rows.

        cols: (G, M, Kv, Cb) with M = n_block*p_in rows (input pixels), Kv taps and a
        block of Cb output channels per group; out: (N, O_lead, O_last, G*cog_total).
        Task ``n*o_lead + ol`` writes out[n_off + n, ol, o0:o1, channels of the block].
        """
        g_count, _, _, cb = cols.shape
        for task in range(task0, task1):
            n = task // o_lead
            ol = task - n * o_lead
            for o in range(o0, o1):
                acc = out[n_off + n, ol, o]
                for g in range(g_count):
                    base = g * cog_total + c_off
                    for c in range(cb):
                        acc[base + c] = bias[base + c] if has_bias else 0
                for p in range(lp[ol], lp[ol + 1]):
                    row0 = n * p_in + lj[p] * i_last
                    tap0 = lt[p] * k_last
                    for q in range(qp[o], qp[o + 1]):
                        m = row0 + qj[q]
                        tap = tap0 + qt[q]
                        for g in range(g_count):
                            base = g * cog_total + c_off
                            src = cols[g, m, tap]
                            for c in range(cb):
                                acc[base + c] += src[c]

    @jit
    def gather_cf(cols, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias, has_bias,
                  out, n_off, c_off, cog_total, task0, task1, o0, o1, buf):
        """As gather_cl, into a channels-first output (N, G*cog_total, O_lead, O_last).

        Each task accumulates its row in ``buf`` (O_last x G*Cb, channels contiguous)
        and writes it transposed, so that the output is written along contiguous rows.
        """
        g_count, _, _, cb = cols.shape
        for task in range(task0, task1):
            n = task // o_lead
            ol = task - n * o_lead
            for o in range(o0, o1):
                acc = buf[o - o0]
                for c in range(g_count * cb):
                    acc[c] = 0
                for p in range(lp[ol], lp[ol + 1]):
                    row0 = n * p_in + lj[p] * i_last
                    tap0 = lt[p] * k_last
                    for q in range(qp[o], qp[o + 1]):
                        m = row0 + qj[q]
                        tap = tap0 + qt[q]
                        for g in range(g_count):
                            src = cols[g, m, tap]
                            for c in range(cb):
                                acc[g * cb + c] += src[c]
            for g in range(g_count):
                for c in range(cb):
                    channel = g * cog_total + c_off + c
                    b = bias[channel] if has_bias else 0
                    row = out[n_off + n, channel, ol]
                    for o in range(o0, o1):
                        row[o] = buf[o - o0, g * cb + c] + b

    @jit
    def batched_transpose(x, out, n0, n1):
        """(N, A, B) -> (N, B, A) for samples n0:n1, in 32x32 blocks (channels first <-> last)."""
        _, c_count, p_count = x.shape
        for n in range(n0, n1):
            for c0 in range(0, c_count, 32):
                c1 = min(c0 + 32, c_count)
                for p0 in range(0, p_count, 32):
                    p1 = min(p0 + 32, p_count)
                    for p in range(p0, p1):
                        for c in range(c0, c1):
                            out[n, p, c] = x[n, c, p]

    @jit
    def direct_cl(x, wt, cig, cog, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias,
                  has_bias, out, task0, task1):
        """Small-group transposed convolution written once per output pixel (channels-last).

        x: (N, p_in, C_in) channels-last input; wt: (Kv, C_in, cog) weight with taps
        first; out: (N, O_lead, O_last, G*cog). Every output pixel sums x[n, j, ci] *
        wt[t, ci, k] over its (j, t) pairs, for ci in its group (ci // cig == g).
        """
        c_in = x.shape[2]
        o_last = out.shape[2]
        for task in range(task0, task1):
            n = task // o_lead
            ol = task - n * o_lead
            for o in range(o_last):
                acc = out[n, ol, o]
                for c in range(acc.shape[0]):
                    acc[c] = bias[c] if has_bias else 0
                for p in range(lp[ol], lp[ol + 1]):
                    row0 = lj[p] * i_last
                    tap0 = lt[p] * k_last
                    for q in range(qp[o], qp[o + 1]):
                        src = x[n, row0 + qj[q]]
                        w = wt[tap0 + qt[q]]
                        if cog == 1 and cig == 1:
                            for ci in range(c_in):
                                acc[ci] += src[ci] * w[ci, 0]
                        else:
                            for ci in range(c_in):
                                base = (ci // cig) * cog
                                v = src[ci]
                                for k in range(cog):
                                    acc[base + k] += v * w[ci, k]

    @jit
    def interleave(y, lead_src, lead_dst, first_last, count_last, stride_last, c0, bias, has_bias, out,
                   channels_last, task0, task1):
        """Write one phase's results into every s-th output position.

        y: (G, N, L, Q, W) phase results on the padded pitch (L lead rows, Q last-axis
        positions, W >= c0 + Cog channel columns of which c0:c0+Cog belong to this
        phase); out channel g*Cog + c takes column c0 + c of group g. lead_src/lead_dst:
        each valid lead position's row in y and flat lead index in out; along the last
        axis phase element q goes to first_last + stride_last*q.
        out: (N, O_lead, O_last, C) if channels_last else (N, C, O_lead, O_last).
        """
        g_count = y.shape[0]
        c_total = out.shape[3] if channels_last else out.shape[1]
        cog = c_total // g_count
        n_lead = lead_src.shape[0]
        for task in range(task0, task1):
            n = task // n_lead
            e = task - n * n_lead
            src_row = lead_src[e]
            dst = lead_dst[e]
            for g in range(g_count):
                rows = y[g, n, src_row]
                if channels_last:
                    for q in range(count_last):
                        target = out[n, dst, first_last + stride_last * q]
                        src = rows[q]
                        for c in range(cog):
                            target[g * cog + c] = src[c0 + c] + (bias[g * cog + c] if has_bias else 0)
                else:
                    for c in range(cog):
                        b = bias[g * cog + c] if has_bias else 0
                        target = out[n, g * cog + c, dst]
                        for q in range(count_last):
                            target[first_last + stride_last * q] = rows[q, c0 + c] + b

    @jit
    def im2col_cl(x, lead_pos, last_pos, o_last, out, task0, task1):
        """Columns of a convolution: out[n, j, t, :] = x[n, position of (j, t), :] or 0.

        x: (N, P_big, C) channels-last input; lead_pos: (J_lead, K_lead) flat lead
        positions (-1 outside); last_pos: (J_last, K_last) positions along the last
        axis (-1 outside); out: (N, J_lead*J_last, K_lead*K_last, C). Tasks are
        (n, j_lead) pairs.
        """
        j_lead, k_lead = lead_pos.shape
        j_last, k_last = last_pos.shape
        c_count = x.shape[2]
        for task in range(task0, task1):
            n = task // j_lead
            jl = task - n * j_lead
            for jj in range(j_last):
                row = out[n, jl * j_last + jj]
                for tl in range(k_lead):
                    pl = lead_pos[jl, tl]
                    for tt in range(k_last):
                        dst = row[tl * k_last + tt]
                        pp = last_pos[jj, tt]
                        if pl < 0 or pp < 0:
                            for c in range(c_count):
                                dst[c] = 0
                        else:
                            src = x[n, pl * o_last + pp]
                            for c in range(c_count):
                                dst[c] = src[c]

    return {
        "im2col_cl": im2col_cl,
        "gather_cl": gather_cl,
        "gather_cf": gather_cf,
        "batched_transpose": batched_transpose,
        "direct_cl": direct_cl,
        "interleave": interleave,
    }
