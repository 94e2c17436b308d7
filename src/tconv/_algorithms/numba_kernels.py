"""The numba kernels of the fast algorithms (imported lazily, with numba, by :mod:`tconv._algorithms.compiled`).

Every kernel is compiled with ``nogil=True`` so that :func:`tconv._algorithms.compiled.parallel_for`
can run it from several Python threads at once, and cached on disk (``cache=True``) -- but for the
thread pool's quick reads, :func:`cpu`, :func:`cycles` and :func:`pool_live` (``held``): see :func:`cpu`.
Array layouts are given in each docstring; ``task0:task1`` (and ``o0:o1``) select the
part of the output one call writes, so calls on disjoint ranges can run in parallel.

Indexing in inner loops: numba wraps negative indices around, so an index it cannot prove
non-negative costs a compare and select per element. A bare loop variable of a ``range``
is known non-negative; a sum with it (``a[base + c]``) is not, and the loop then does not
vectorise (measured on 128 float32 channels: a read ``a[base + c]`` 4.7x slower, through
gathers, a write 35x slower, scalar). Inner loops therefore index views taken outside
them (``row = a[base : base + n]``, then ``row[c]``) with the loop variable alone, or,
where a view per iteration would cost more than the loop (a few channels of a group: each
view counts a reference), an index cast to unsigned (``a[np.uintp(base + c)]``: numba does
not wrap unsigned indices), only where the sum is an index inside the array. Measured A/B
on real calls: the small-group direct pass 1.35-1.9x, its weight gradient 1.5x, the
phase interleave 2x, the channels-first convolution's columns 1.4-1.8x faster.
"""

import functools
import platform

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.extending import intrinsic, overload

from ..geometry import tap_range

jit = numba.njit(nogil=True, cache=True, boundscheck=False)
#: Kernels that keep the GIL: a call of a few nanoseconds that released it let a waiting thread take it.
held = numba.njit(cache=True, boundscheck=False)
inline = numba.njit(nogil=True, cache=True, boundscheck=False, inline="always")


@functools.cache
def _host_has_avx512() -> bool:
    """Whether the processor has AVX-512F (32 vector registers of 16 float32 lanes); asked of LLVM once (the
    register tiles' shapes read it five times at import)."""
    try:
        from llvmlite import binding

        return bool(binding.get_host_cpu_features().get("avx512f", False))
    except Exception:  # pragma: no cover - a host llvmlite cannot describe
        return False


@intrinsic
def _load_acquire(typingctx, array, index):
    """``array[index]`` of an int64 array read with an atomic (acquire) load: re-read on every call,
    never hoisted out of a loop, and ordered with the writes of other threads."""
    signature = types.int64(array, types.intp)

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        return builder.load_atomic(builder.gep(data, [args[1]]), "acquire", 8)

    return signature, codegen


@intrinsic
def _store_release(typingctx, array, index, value):
    """``array[index] = value`` in an int64 array, written with an atomic (release) store: never
    delayed past the loop that follows it, and ordered after the thread's earlier writes."""
    signature = types.none(array, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        builder.store_atomic(args[2], builder.gep(data, [args[1]]), "release", 8)
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _cycle_counter(typingctx):
    """The processor's cycle counter (``llvm.readcyclecounter``: the TSC on x86-64; 0 where the target
    has none)."""
    signature = types.int64()

    def codegen(context, builder, sig, args):
        function = builder.module.declare_intrinsic("llvm.readcyclecounter", fnty=ir.FunctionType(ir.IntType(64), []))
        return builder.call(function, [])

    return signature, codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@intrinsic
def _pause(typingctx):
    """x86's ``pause`` (a spin-wait hint: the loop yields the core's pipeline to a sibling hardware
    thread and saves power); nothing elsewhere."""
    signature = types.none()

    def codegen(context, builder, sig, args):
        if _X86:
            pause = ir.FunctionType(ir.VoidType(), [])
            builder.call(builder.module.declare_intrinsic("llvm.x86.sse2.pause", fnty=pause), [])
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _cpu(typingctx):
    """The number of the CPU the thread runs on, from ``rdtscp``'s ``TSC_AUX`` (Linux writes the CPU's
    number in its low 12 bits); -1 off x86. Only called where :func:`tconv._algorithms.compiled`
    found ``rdtscp`` among the processor's flags."""
    signature = types.int64()

    def codegen(context, builder, sig, args):
        if not _X86:
            return ir.Constant(ir.IntType(64), -1)
        pair = ir.LiteralStructType([ir.IntType(64), ir.IntType(32)])
        rdtscp = builder.module.declare_intrinsic("llvm.x86.rdtscp", fnty=ir.FunctionType(pair, []))
        aux = builder.extract_value(builder.call(rdtscp, []), 1)
        return builder.zext(builder.and_(aux, ir.Constant(ir.IntType(32), 0xFFF)), ir.IntType(64))

    return signature, codegen


@held
def cpu():
    """The CPU the calling thread runs on (see :func:`_cpu`).

    Compiled without ``nogil`` (as :func:`cycles`): the caller of a parallel pass asks for both
    between passes, and a call that released the GIL handed it to a pool thread waiting for it, which
    then ran its Python for 10-20 us while the caller waited to get the GIL back. Timed inside an empty
    two-piece pass on two threads (median of 5 000): 13.7 us in this call and 16.3 in the pass's end
    (:func:`cycles`), 43 us the whole pass; 0.8, 1.6 and 10 us with both keeping the GIL. Whole calls
    of twelve small layers, A/B in alternating processes: within noise (0.95-1.05x), depthwise-1d
    0.93x: in a pass with work, the pool thread still waits for the GIL until the caller's piece
    releases it."""
    return _cpu()


@held
def cycles():
    """The cycle counter (:func:`keep_awake`'s clock); keeps the GIL (see :func:`cpu`)."""
    return _cycle_counter()


@jit
def keep_awake(state):
    """Spin while ``state[0]`` (calls in progress) is positive or the cycle counter is below ``state[1]``
    (the end of the tail after the last call): the busy loop of :mod:`tconv._algorithms.compiled`'s
    keep-awake threads, which run at idle priority, so that a core waiting for the next piece of a call
    stays awake instead of halting (see there)."""
    while _load_acquire(state, 0) > 0 or _cycle_counter() < _load_acquire(state, 1):
        _pause()


@held
def pool_live(state):
    """Whether a call is in progress (``state[0]``) or the pool's tail after it (``state[3]``, a cycle
    count) has not ended: while this holds, :func:`wait_for_work` spins. Keeps the GIL (see
    :func:`cpu`)."""
    return _load_acquire(state, 0) > 0 or _cycle_counter() < _load_acquire(state, 3)


@jit
def wait_for_work(state, seen, flags, slot, grace):
    """Set ``flags[slot]`` to 1 (unless ``slot`` is negative), then spin while ``state[2]`` (the count of
    jobs handed to the pool) is still ``seen``, a call is in progress (``state[0]``) or the pool's
    tail after it (``state[3]``, a cycle count) has not ended, and the thread is not on the CPU of the
    caller that posted last (``state[4]``: spinning there would take the caller's CPU from it); once a
    job is posted, spin ``grace`` cycles more. Returns ``state[2]``: the wait of
    :mod:`tconv._algorithms.compiled`'s pool threads between the passes of a call (see
    ``_KeepAwake.next_job`` there). The flag is set here, with the GIL released, so that the caller
    waiting for it finds the GIL free."""
    if slot >= 0:
        _store_release(flags, slot, 1)
    while _load_acquire(state, 2) == seen and pool_live(state):
        if _cpu() == _load_acquire(state, 4):
            break
        _pause()
    now = _load_acquire(state, 2)
    if now != seen:
        end = _cycle_counter() + grace
        while _cycle_counter() < end:
            _pause()
    return now


@jit
def wait_until(flags, cpus, count, until):
    """Spin while any of ``flags[:count]`` is 0, the cycle counter is below ``until``, and the pool
    thread of that flag is not on this thread's CPU (``cpus``: where each was when it joined): the
    caller of a parallel pass waiting for the pool threads that joined it."""
    for i in range(count):
        while _load_acquire(flags, i) == 0:
            if _cycle_counter() >= until or _load_acquire(cpus, i) == _cpu():
                return
            _pause()


def _transpose_of(lanes):
    """The intrinsic ``transpose(src, s0, sp, dst, d0, dp)``: ``dst[d0 + j*dp + i] = src[s0 + i*sp + j]`` for
    ``i, j`` in ``0:lanes`` (float32, flat element offsets from each array's first element): ``lanes`` rows
    loaded as vectors, transposed in registers by ``log2(lanes)`` rounds of interleaving (the perfect
    shuffle: row ``2i`` of a round takes the interleaved first halves of rows ``i`` and ``i + lanes/2``,
    row ``2i + 1`` their second halves), stored as ``lanes`` vectors."""
    half = lanes // 2
    rounds = lanes.bit_length() - 1

    @intrinsic
    def transpose(typingctx, src, s0, sp, dst, d0, dp):
        if not all(isinstance(a, types.Array) and a.dtype == types.float32 for a in (src, dst)):
            return None
        i64t = types.int64
        signature = types.none(src, i64t, i64t, dst, i64t, i64t)

        def codegen(context, builder, sig, args):
            i64, i32 = ir.IntType(64), ir.IntType(32)
            vector = ir.VectorType(ir.FloatType(), lanes)
            sd = context.make_array(sig.args[0])(context, builder, args[0]).data
            dd = context.make_array(sig.args[3])(context, builder, args[3]).data
            s0, sp, d0, dp = args[1], args[2], args[4], args[5]
            rows = []
            for i in range(lanes):
                at = builder.gep(sd, [builder.add(s0, builder.mul(sp, ir.Constant(i64, i)))])
                rows.append(builder.load(builder.bitcast(at, vector.as_pointer()), align=4))
            mask = ir.VectorType(i32, lanes)
            first = ir.Constant(mask, [x for k in range(half) for x in (k, lanes + k)])
            second = ir.Constant(mask, [x for k in range(half) for x in (half + k, lanes + half + k)])
            for _ in range(rounds):
                rows = [
                    builder.shuffle_vector(rows[i], rows[i + half], h) for i in range(half) for h in (first, second)
                ]
            for j in range(lanes):
                at = builder.gep(dd, [builder.add(d0, builder.mul(dp, ir.Constant(i64, j)))])
                builder.store(rows[j], builder.bitcast(at, vector.as_pointer()), align=4)
            return context.get_dummy_value()

        return signature, codegen

    return transpose


#: The widest row pitch of ``dst`` (entries) at which :func:`tile_transpose` takes the 16 x 16 register tiles.
#: Rows far apart (a channels-first output's rows, 100 KB apart: a direct pass's rows) were written
#: 2x slower by the tiles than by the 64-row runs, 16 rows of 64 bytes in as many pages at a time,
#: where the rows of a whole transposed matrix, close together, were written 1.7-2.8x faster.
TRANSPOSE_TILE_PITCH = 1024


def tile_transpose(src, dst, a0, a1):
    """dst[b, a] = src[a, b] for rows a0:a1 of src (2-d views, any strides; compiled code only).

    Float32 blocks whose rows are contiguous, into rows at most :data:`TRANSPOSE_TILE_PITCH` apart: 16 x 16
    tiles (8 x 8 without AVX-512: :data:`TRANSPOSE_LANES`) transposed in vector registers
    (:func:`_transpose_of`), the rest by :func:`_tile_transpose_any`.
    Measured (Xeon, one thread, whole matrices): 64 x 4096 and 256 x 1024 2.5-2.8x faster, 128 x 4096
    1.75x, 21 x 1156 and 4096 x 64 alike (a NumPy copy of the same bytes: 0.4-0.5x the tiles' time)."""
    raise NotImplementedError("tile_transpose runs in compiled code only")


@overload(tile_transpose, jit_options={"nogil": True})
def _tile_transpose_typed(src, dst, a0, a1):
    if src.dtype == types.float32 and dst.dtype == types.float32:
        return _tile_transpose_f32

    def other(src, dst, a0, a1):  # pragma: no cover - compiled
        _tile_transpose_any(src, dst, a0, a1)

    return other


def _tile_transpose_f32_of(lanes):
    """:func:`tile_transpose`'s float32 blocks in ``lanes x lanes`` register tiles (:func:`_transpose_of`),
    up to 64 rows of ``src`` at a time."""
    transpose = _transpose_of(lanes)

    def tiles(src, dst, a0, a1):  # pragma: no cover - compiled
        b_count = src.shape[1]
        sp, dp = src.strides[0] // 4, dst.strides[0] // 4
        if src.strides[1] != 4 or dst.strides[1] != 4 or b_count < lanes or abs(dp) > TRANSPOSE_TILE_PITCH:
            _tile_transpose_any(src, dst, a0, a1)
            return
        b_tiles = b_count - b_count % lanes
        a = a0
        while a + lanes <= a1:
            # up to 64 rows at a time: each row of dst gets 256 contiguous bytes per visit, not 64 (a channels-
            # first output's rows are far apart: a page each; 16-row blocks made a direct pass 1.3x slower)
            end = a + lanes * min(64 // lanes, (a1 - a) // lanes)
            for b0 in range(0, b_tiles, lanes):
                for i in range(a, end, lanes):
                    transpose(src, i * sp + b0, sp, dst, b0 * dp + i, dp)
            for b in range(b_tiles, b_count):
                row = dst[b]
                for i in range(a, end):
                    row[i] = src[i, b]
            a = end
        if a < a1:
            _tile_transpose_any(src, dst, a, a1)

    return tiles


#: The register tiles' width of :func:`tile_transpose`: 16 x 16 with AVX-512 (a tile's rows are vectors of
#: its registers), 8 x 8 with AVX2, whose 16-lane shuffles take several instructions each (on an AMD EPYC
#: without AVX-512, one thread, whole matrices, interleaved: 64 x 4096 1.11x, 256 x 1024 1.13-1.17x,
#: 128 x 4096 1.44-1.50x, 64 x 16384 1.67-1.91x, 21 x 1156 1.56x, 96 x 6400 2.2-2.4x as fast as 16 x 16).
TRANSPOSE_LANES = 16 if _host_has_avx512() else 8
_tile_transpose_f32 = _tile_transpose_f32_of(TRANSPOSE_LANES)


@jit
def _tile_transpose_any(src, dst, a0, a1):
    """dst[b, a] = src[a, b] for rows a0:a1 of src, 64 rows at a time: each column of the 64-row block
    (in L1) is written as one contiguous run of dst. (The 8x8 register tiles this replaced wrote
    32-byte pieces of many dst rows at once, and ran 4-5x slower on (6400, 96) blocks.) The block and
    its runs are views indexed from 0 (see the module docstring): 2.2x faster than ``row[i] = src[i, b]``
    for ``i`` in ``range(a, end)`` on (34, 21), (256, 64), (6400, 96) and (1024, 3) blocks."""
    b_count = src.shape[1]
    a = a0
    while a < a1:
        end = min(a + 64, a1)
        block = src[a:end]
        for b in range(b_count):
            run = dst[b, a:end]
            for i in range(end - a):
                run[i] = block[i, b]
        a = end


@jit
def accumulate(total, parts, count, first):
    """total += parts[0] + ... + parts[count - 1] (``total = ...`` when ``first``), added one after the
    other to each element in ``total``'s dtype (``total`` (R, W), a view with any row pitch, of a wider
    dtype: the double-precision sums of single-precision partial products; ``parts`` (P, R, W)
    C-contiguous). One pass over ``total`` for up to four parts, each element's four additions in one
    loop (two passes, or a pass per part, took 1.8x as long)."""
    rows, width = total.shape
    zero = np.zeros(1, dtype=total.dtype)[0]
    for j0 in range(0, count, 4):
        k = min(4, count - j0)
        init = first and j0 == 0
        for r in range(rows):
            t = total[r]
            p0 = parts[j0, r]
            if k == 4:
                p1, p2, p3 = parts[j0 + 1, r], parts[j0 + 2, r], parts[j0 + 3, r]
                if init:
                    for c in range(width):
                        t[c] = (((zero + p0[c]) + p1[c]) + p2[c]) + p3[c]
                else:
                    for c in range(width):
                        t[c] = (((t[c] + p0[c]) + p1[c]) + p2[c]) + p3[c]
            else:
                if init:
                    for c in range(width):
                        t[c] = p0[c]
                else:
                    for c in range(width):
                        t[c] += p0[c]
                for j in range(j0 + 1, j0 + k):
                    p = parts[j, r]
                    for c in range(width):
                        t[c] += p[c]


@jit
def sum_chunks(parts, out, acc):
    """``out[g, m, :] = parts[g, 0, m, :] + ... + parts[g, C - 1, m, :]``, summed in ``acc``'s dtype
    (double precision for single-precision parts) and rounded once into ``out``: the chunked
    products of several groups at once (``parts`` (G, C, M, N) C-contiguous, ``out`` (G, M, N) a view
    with any strides, ``acc`` (N,) scratch)."""
    groups, chunks, rows, width = parts.shape
    for g in range(groups):
        for m in range(rows):
            p0 = parts[g, 0, m]
            for n in range(width):
                acc[n] = p0[n]
            for c in range(1, chunks):
                p = parts[g, c, m]
                for n in range(width):
                    acc[n] += p[n]
            o = out[g, m]
            for n in range(width):
                o[n] = acc[n]


@jit
def batched_transpose(x, out, block, task0, task1):
    """(N, A, B) -> (N, B, A) (channels first <-> last); task = (n, block of ``block`` rows of A), each
    column of the block written as one run of its row of ``out``."""
    blocks = (x.shape[1] + block - 1) // block
    for task in range(task0, task1):
        n = task // blocks
        a0 = (task - n * blocks) * block
        tile_transpose(x[n], out[n], a0, min(a0 + block, x.shape[1]))


@jit
def small_transpose(x, out, task0, task1):
    """(N, A, B) -> (N, B, A) for matrices with a short side (a weight's (C_out, taps) per input
    channel, 3 channels of an image): task = n, along the longer of the two sides. On (512, 256, 16)
    weights this ran in half the time of :func:`batched_transpose` (in 64-row blocks then)."""
    for n in range(task0, task1):
        src = x[n]
        dst = out[n]
        if src.shape[0] >= src.shape[1]:  # write each row of dst in one run
            for b in range(src.shape[1]):
                row = dst[b]
                for a in range(src.shape[0]):
                    row[a] = src[a, b]
        else:  # few rows of src (3 channels): read each in one run (a loop of 3 did not vectorise)
            for a in range(src.shape[0]):
                row = src[a]
                for b in range(src.shape[1]):
                    dst[b, a] = row[b]


@jit
def short_transpose_blocked(x, out, block, task0, task1):
    """:func:`small_transpose` of matrices larger than a core's cache whose short side has at least 8
    entries: task = (n, block of ``block`` entries of the long side), each row of ``dst`` written in one
    run within the block, so that the block's share of the other side stays in cache (a 21-channel
    520x520 output gradient: 20 -> 6 ms; (8, 65536, 16): 12 -> 6 ms; written whole, each of the short
    side's passes went over all of ``dst``). (One kernel for both, with the block as a parameter, made
    the whole-matrix case 2x slower.)"""
    rows, cols = x.shape[1], x.shape[2]
    per = (max(rows, cols) + block - 1) // block
    for task in range(task0, task1):
        n = task // per
        l0 = (task - n * per) * block
        src = x[n]
        dst = out[n]
        if rows >= cols:
            l1 = min(l0 + block, rows)
            for b in range(cols):
                row = dst[b]
                for a in range(l0, l1):
                    row[a] = src[a, b]
        else:
            l1 = min(l0 + block, cols)
            for b in range(l0, l1):
                row = dst[b]
                for a in range(rows):
                    row[a] = src[a, b]


@jit
def place_strided(product, lead_src, first_last, stride_last, fill, out, channels_last, task0, task1):
    """Every output cell of a strided ``1 x ... x 1`` layer once (:func:`tconv._algorithms.gemm._strided_pointwise`):
    the product's values where input pixels land, ``fill`` (the bias, or zeros) elsewhere.

    ``product`` ``(N, C, R_in, Q)`` (``(N, R_in, Q, C)`` if ``channels_last``), ``out`` ``(N, C, R_out, O_last)``
    (``(N, R_out, O_last, C)``): output lead row ``r`` takes product row ``lead_src[r]`` (none where that is
    negative), and along the last axis product position ``q`` goes to ``first_last + stride_last * q``.
    Tasks are ``(n, c)`` planes channels-first, ``(n, r)`` rows channels-last."""
    q_count = product.shape[2] if channels_last else product.shape[3]
    if channels_last:
        r_out, o_last, c_total = out.shape[1], out.shape[2], out.shape[3]
        for task in range(task0, task1):
            n = task // r_out
            r = task - n * r_out
            rows = out[n, r]
            for x in range(o_last):
                cell = rows[x]
                for c in range(c_total):
                    cell[c] = fill[c]
            src = lead_src[r]
            if src >= 0:
                values = product[n, src]
                for q in range(q_count):
                    cell = rows[np.uintp(first_last + stride_last * q)]
                    value = values[q]
                    for c in range(c_total):
                        cell[c] = value[c]
        return
    c_total, r_out, o_last = out.shape[1], out.shape[2], out.shape[3]
    for task in range(task0, task1):
        n = task // c_total
        c = task - n * c_total
        b = fill[c]
        plane = out[n, c]
        for r in range(r_out):
            row = plane[r]
            for x in range(o_last):
                row[x] = b
            src = lead_src[r]
            if src >= 0:
                values = product[n, c, src]
                for q in range(q_count):
                    row[np.uintp(first_last + stride_last * q)] = values[q]


@jit
def place_rows(src, flat_src, channels_first, row_pixel, start, count, dst, flat_dst, task0, task1):
    """Rows ``task0:task1`` of a padded channels-last copy (:func:`tconv._algorithms.registers._placed`):
    ``dst`` ``(rows, width, C)`` (``flat_dst``: the same memory as ``(rows, width * C)``), ``len(row_pixel)``
    rows a sample; row ``r`` of sample ``n`` holds zeros but for pixels ``start:start + count``, which take
    ``count`` pixels of sample ``n`` of ``src`` from pixel ``row_pixel[r]`` on (a row of zeros where that
    is negative). ``src``: ``(N, C, P)`` when ``channels_first`` (transposed by :func:`tile_transpose`),
    else ``(N, P, C)``, copied as runs of ``flat_src``, the same memory as ``(N, P * C)``."""
    channels = dst.shape[2]
    head, tail = start * channels, (start + count) * channels
    per = row_pixel.shape[0]
    for r in range(task0, task1):
        row = flat_dst[r]
        n = r // per
        p0 = row_pixel[r - n * per]
        if p0 < 0:
            for i in range(row.shape[0]):
                row[i] = 0.0
            continue
        for i in range(head):
            row[i] = 0.0
        for i in range(tail, row.shape[0]):
            row[i] = 0.0
        if channels_first:
            tile_transpose(src[n, :, p0 : p0 + count], dst[r, start : start + count], 0, channels)
        else:
            run = flat_src[n, p0 * channels : (p0 + count) * channels]
            part = row[head:tail]
            for i in range(tail - head):
                part[i] = run[i]


@inline
def _gather_pixel(cols, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, bias, n, ol, o, acc):
    """acc = bias + the sum of the columns that land on output pixel (n, ol, o)."""
    g_count, _, _, cog = cols.shape
    for c in range(g_count * cog):
        acc[c] = bias[c]
    for p in range(lp[ol], lp[ol + 1]):
        row0 = n * p_in + lj[p] * i_last
        tap0 = lt[p] * k_last
        for q in range(qp[o], qp[o + 1]):
            m = row0 + qj[q]
            tap = tap0 + qt[q]
            if g_count == 1:
                src = cols[0, m, tap]
                for c in range(cog):
                    acc[c] += src[c]
            else:
                for g in range(g_count):
                    src = cols[g, m, tap]
                    base = g * cog
                    for c in range(cog):
                        acc[np.uintp(base + c)] += src[c]


@jit
def gather_cl(cols, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias, out, task0, task1, o0, o1):
    """Columns -> channels-last output rows, each output pixel written once.

    cols: (G, M, Kv, Cog) with M = N*p_in rows (input pixels) and Kv taps;
    out: (N, O_lead, O_last, G*Cog); bias: (G*Cog,) (zeros when there is none).
    Task ``n*o_lead + ol`` writes out[n, ol, o0:o1]. The sums run in a local
    accumulator, which cannot alias cols, so the channel loop vectorises.
    """
    g_count, _, _, cog = cols.shape
    acc = np.empty(g_count * cog, dtype=out.dtype)
    for task in range(task0, task1):
        n = task // o_lead
        ol = task - n * o_lead
        for o in range(o0, o1):
            _gather_pixel(cols, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, bias, n, ol, o, acc)
            dst = out[n, ol, o]
            for c in range(g_count * cog):
                dst[c] = acc[c]


@jit
def gather_cf(cols, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias, out, task0, task1, o0, o1):
    """As gather_cl, into a channels-first output (N, G*Cog, O_lead, O_last).

    Each task accumulates its output row in a local (o1 - o0, G*Cog) buffer and
    writes it transposed (8x8 tiles), so the output is written along its rows.
    """
    g_count, _, _, cog = cols.shape
    buf = np.empty((o1 - o0, g_count * cog), dtype=out.dtype)
    for task in range(task0, task1):
        n = task // o_lead
        ol = task - n * o_lead
        for o in range(o0, o1):
            _gather_pixel(cols, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, bias, n, ol, o, buf[o - o0])
        tile_transpose(buf, out[n, :, ol, o0:o1], 0, o1 - o0)


@inline
def _add_along_groups(acc, src, w, cig, cog, g_count, zero):
    """acc[k*G + g] += src[i*G + g] * w[i*cog + k, g] for every channel pair (i, k): one loop along the
    G groups per pair (the passes along the groups, channels in (channel, group) order). Each product
    is taken in ``zero``'s dtype (``acc``'s: in double precision the product of two single-precision
    values is exact, so a double-precision sum of them is the correctly rounded sum of products)."""
    for i in range(cig):
        s0 = i * g_count
        for k in range(cog):
            wr = w[i * cog + k]
            a0 = k * g_count
            for g in range(g_count):
                acc[a0 + g] += (src[s0 + g] + zero) * wr[g]


@inline
def _add_channels(acc, src, w, cig, cog, zero):
    """acc[g*cog + k] += src[ci] * w[ci, k] for every input channel ci of the pixel ``src``, g = ci // cig:
    one tap of a small-group pixel (the transposed convolution's and the convolution's direct passes),
    each product in ``zero``'s dtype (:func:`_add_along_groups`). A float32 product added to a double
    sum was rounded once more than PyTorch's fused multiply-adds: the input gradient of depthwise and
    few-channel groups (sums of 2-4 terms) was 1.03-1.16x as far from float64 as PyTorch's."""
    if cog == 1 and cig == 1:
        for ci in range(src.shape[0]):
            acc[ci] += (src[ci] + zero) * w[ci, 0]
    else:
        for ci in range(src.shape[0]):
            base = (ci // cig) * cog
            v = src[ci] + zero
            for k in range(cog):
                acc[np.uintp(base + k)] += v * w[ci, k]


@inline
def _direct_pixel(x, wt, cig, cog, lp, lj, lt, qp, qj, qt, i_last, k_last, bias, n, ol, o, acc, zero):
    """acc = bias + the sum of x[n, j, ci] * wt[t, ci, k] over output pixel (n, ol, o)'s (j, t) pairs."""
    for c in range(acc.shape[0]):
        acc[c] = bias[c]
    for p in range(lp[ol], lp[ol + 1]):
        row0 = lj[p] * i_last
        tap0 = lt[p] * k_last
        for q in range(qp[o], qp[o + 1]):
            _add_channels(acc, x[n, row0 + qj[q]], wt[tap0 + qt[q]], cig, cog, zero)


@jit
def _row_part(task, o_lead, parts, o_last):
    """Task ``task`` of the direct kernels (:func:`direct_cl` and the three below it): sample ``n``, lead
    row ``ol`` and the outputs ``o0:o1`` of that row's part (each row cut into ``parts`` equal parts
    along the last axis)."""
    row = task // parts
    part = task - row * parts
    n = row // o_lead
    return n, row - n * o_lead, part * o_last // parts, (part + 1) * o_last // parts


@jit
def direct_cl(x, wt, cig, cog, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias, out, parts, task0, task1):
    """Small-group transposed convolution written once per output pixel (channels-last).

    x: (N, p_in, C_in) channels-last input; wt: (Kv, C_in, cog) weight with taps
    first; out: (N, O_lead, O_last, G*cog). Every output pixel sums x[n, j, ci] *
    wt[t, ci, k] over its (j, t) pairs, for ci in its group (ci // cig == g). Tasks are the
    ``(n, lead row)`` rows' ``parts`` parts along the last axis (:func:`_row_part`).
    """
    o_last = out.shape[2]
    acc = np.empty(out.shape[3], dtype=out.dtype)
    zero = np.zeros(1, dtype=out.dtype)[0]
    for task in range(task0, task1):
        n, ol, o0, o1 = _row_part(task, o_lead, parts, o_last)
        for o in range(o0, o1):
            _direct_pixel(x, wt, cig, cog, lp, lj, lt, qp, qj, qt, i_last, k_last, bias, n, ol, o, acc, zero)
            dst = out[n, ol, o]
            for c in range(acc.shape[0]):
                dst[c] = acc[c]


@jit
def direct_cf(x, wt, cig, cog, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias, out, parts, task0, task1):
    """As direct_cl, into a channels-first output (N, G*cog, O_lead, O_last): each task's part of an output
    row is summed in a local (O_last, C_out) buffer and written transposed, so the output is written once,
    along its rows, with no channels-last copy of it."""
    o_last = out.shape[3]
    buf = np.empty((o_last, out.shape[1]), dtype=out.dtype)
    zero = np.zeros(1, dtype=out.dtype)[0]
    for task in range(task0, task1):
        n, ol, o0, o1 = _row_part(task, o_lead, parts, o_last)
        for o in range(o0, o1):
            _direct_pixel(x, wt, cig, cog, lp, lj, lt, qp, qj, qt, i_last, k_last, bias, n, ol, o, buf[o], zero)
        tile_transpose(buf, out[n, :, ol, :], o0, o1)


@jit
def _direct_pixel_minor(x, wt, cig, cog, lp, lj, lt, qp, qj, qt, i_last, k_last, bias, n, ol, o, acc, dst, zero):
    """dst[g*cog + k] = bias + the sum over output pixel (n, ol, o)'s (j, t) pairs and i < cig of
    x[n, j, i*G + g] * wt[t, i*cog + k, g]: :func:`_direct_pixel` along the groups (``x`` with its
    channels in (i, g) order, ``wt`` (Kv, cig*cog, G); ``acc`` a (cog*G,) buffer)."""
    g_count = wt.shape[2]
    for c in range(acc.shape[0]):
        acc[c] = 0
    for p in range(lp[ol], lp[ol + 1]):
        row0 = lj[p] * i_last
        tap0 = lt[p] * k_last
        for q in range(qp[o], qp[o + 1]):
            src = x[n, row0 + qj[q]]
            _add_along_groups(acc, src, wt[tap0 + qt[q]], cig, cog, g_count, zero)
    for g in range(g_count):
        for k in range(cog):
            c = np.uintp(g * cog + k)
            dst[c] = bias[c] + acc[np.uintp(k * g_count + g)]


@jit
def direct_minor_cl(
    x, wt, cig, cog, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias, out, parts, task0, task1
):
    """:func:`direct_cl` along the groups (:func:`_direct_pixel_minor`): 8 or more small groups."""
    o_last = out.shape[2]
    acc = np.empty(out.shape[3], dtype=out.dtype)
    zero = np.zeros(1, dtype=out.dtype)[0]
    for task in range(task0, task1):
        n, ol, o0, o1 = _row_part(task, o_lead, parts, o_last)
        for o in range(o0, o1):
            dst = out[n, ol, o]
            _direct_pixel_minor(x, wt, cig, cog, lp, lj, lt, qp, qj, qt, i_last, k_last, bias, n, ol, o, acc, dst, zero)


@jit
def direct_minor_cf(
    x, wt, cig, cog, lp, lj, lt, qp, qj, qt, p_in, i_last, k_last, o_lead, bias, out, parts, task0, task1
):
    """:func:`direct_cf` along the groups (:func:`_direct_pixel_minor`): 8 or more small groups."""
    o_last = out.shape[3]
    buf = np.empty((o_last, out.shape[1]), dtype=out.dtype)
    acc = np.empty(out.shape[1], dtype=out.dtype)
    zero = np.zeros(1, dtype=out.dtype)[0]
    for task in range(task0, task1):
        n, ol, o0, o1 = _row_part(task, o_lead, parts, o_last)
        for o in range(o0, o1):
            _direct_pixel_minor(
                x, wt, cig, cog, lp, lj, lt, qp, qj, qt, i_last, k_last, bias, n, ol, o, acc, buf[o], zero
            )
        tile_transpose(buf, out[n, :, ol, :], o0, o1)


@inline
def _chunk_task(task, chunks, chunk, p):
    """Task ``task`` of the pointwise passes: its row (or block of rows) and its chunk ``j0:j1`` of the
    ``p`` pixels, ``chunks`` chunks of ``chunk`` pixels to a row."""
    row = task // chunks
    j0 = (task - row * chunks) * chunk
    return row, j0, min(p, j0 + chunk)


@jit
def pointwise_rows(x, w, bias, chunk, out, task0, task1):
    """A pointwise layer's channels-first rows straight from the input rows, for few input channels per
    group (:func:`tconv._algorithms.gemm.pointwise_direct`): chunk ``j`` of row ``(n, c)`` of ``out`` is
    ``bias[c]`` plus ``w[g, ci, co]`` times chunk ``j`` of input row ``(n, g, ci)`` summed over ``ci``
    (channel ``c = g*Cog + co``), in chunks of ``chunk`` pixels that stay in L1.

    x: (N, G, Cig, P); w: (G, Cig, Cog); bias: (G*Cog,); out: (N, G*Cog, P). Tasks are
    ``(n*G*Cog + c)*chunks + j`` with ``chunks = ceil(P / chunk)``.
    """
    cig, cog = w.shape[1], w.shape[2]
    c_out, p = out.shape[1], out.shape[2]
    chunks = (p + chunk - 1) // chunk
    for task in range(task0, task1):
        row, j0, j1 = _chunk_task(task, chunks, chunk, p)
        n = row // c_out
        c = row - n * c_out
        g = c // cog
        co = c - g * cog
        dst = out[n, c, j0:j1]
        b = bias[c]
        for j in range(j1 - j0):
            dst[j] = b
        ci = 0
        while ci + 4 <= cig:  # four input rows a pass: a quarter of the passes over the chunk
            w0, w1, w2, w3 = w[g, ci, co], w[g, ci + 1, co], w[g, ci + 2, co], w[g, ci + 3, co]
            s0, s1 = x[n, g, ci, j0:j1], x[n, g, ci + 1, j0:j1]
            s2, s3 = x[n, g, ci + 2, j0:j1], x[n, g, ci + 3, j0:j1]
            for j in range(j1 - j0):
                dst[j] += (w0 * s0[j] + w1 * s1[j]) + (w2 * s2[j] + w3 * s3[j])
            ci += 4
        for c2 in range(ci, cig):
            weight = w[g, c2, co]
            src = x[n, g, c2, j0:j1]
            for j in range(j1 - j0):
                dst[j] += weight * src[j]


@jit
def pointwise_group_gradient(small, big, chunk, sums, task0, task1):
    """The weight gradient of a channels-first pointwise layer of small groups (depthwise, a channel
    multiplier's ``1 -> m``): task ``k`` adds, for its group ``g = k // pieces`` and its run of samples,
    ``small[n, g, a, p] * big[n, g, b, p]`` over its samples and every position ``p`` into ``sums[k, a, b]``
    (``pieces = sums.shape[0] // G``: the samples cut into that many runs). Each product is rounded in
    the data's precision and added to one of eight double-precision sums (position ``p`` to lane
    ``p % 8``, ``chunk`` a multiple of 8), which are added in order at the end: the compiled direct pass's
    precision (a product rounded once, summed in double), the sums vectorised along the rows, read where
    they lie in chunks of ``chunk`` positions (both sides' rows of a chunk stay in the first-level cache).

    small: (N, G, A, P); big: (N, G, B, P); sums: (G * pieces, A, B) float64, written."""
    n_total, groups, a_per, p = small.shape[0], small.shape[1], small.shape[2], small.shape[3]
    b_per = big.shape[2]
    pieces = sums.shape[0] // groups
    lanes = np.zeros((a_per, b_per, 8), dtype=np.float64)
    for task in range(task0, task1):
        g = task // pieces
        piece = task - g * pieces
        n0 = piece * n_total // pieces
        n1 = (piece + 1) * n_total // pieces
        lanes[:] = 0.0
        for n in range(n0, n1):
            for j0 in range(0, p, chunk):
                j1 = min(p, j0 + chunk)
                whole = (j1 - j0) // 8
                for a in range(a_per):
                    x = small[n, g, a]
                    for b in range(b_per):
                        y = big[n, g, b]
                        acc = lanes[a, b]
                        _lane_dot(x, j0, y, j0, whole, acc)
                        for j in range(j0 + 8 * whole, j1):
                            acc[j - j0 - 8 * whole] += np.float64(x[j] * y[j])
        for a in range(a_per):
            for b in range(b_per):
                total = 0.0
                for lane in range(8):
                    total += lanes[a, b, lane]
                sums[task, a, b] = total


@jit
def pointwise_outputs(x, w, bias, chunk, out, task0, task1):
    """A pointwise layer's channels-first rows for few output channels per group: chunk ``j`` of every
    output row of group ``g`` of sample ``n`` at once, each input row's chunk read once and added to each
    of the group's output rows (which stay in L1: ``chunk`` pixels times at most a few channels), where
    :func:`pointwise_rows` reads every input row once per output channel.

    x: (N, G, Cig, P); w: (G, Cig, Cog); bias: (G*Cog,); out: (N, G*Cog, P). Tasks are
    ``(n*G + g)*chunks + j`` with ``chunks = ceil(P / chunk)``.
    """
    groups, cig, cog = w.shape[0], w.shape[1], w.shape[2]
    p = out.shape[2]
    chunks = (p + chunk - 1) // chunk
    for task in range(task0, task1):
        block, j0, j1 = _chunk_task(task, chunks, chunk, p)
        n = block // groups
        g = block - n * groups
        for co in range(cog):
            dst = out[n, g * cog + co, j0:j1]
            b = bias[g * cog + co]
            for j in range(j1 - j0):
                dst[j] = b
        ci = 0
        while ci + 4 <= cig:  # four input rows a pass over each output row (as pointwise_rows)
            s0, s1 = x[n, g, ci, j0:j1], x[n, g, ci + 1, j0:j1]
            s2, s3 = x[n, g, ci + 2, j0:j1], x[n, g, ci + 3, j0:j1]
            for co in range(cog):
                w0, w1, w2, w3 = w[g, ci, co], w[g, ci + 1, co], w[g, ci + 2, co], w[g, ci + 3, co]
                dst = out[n, g * cog + co, j0:j1]
                for j in range(j1 - j0):
                    dst[j] += (w0 * s0[j] + w1 * s1[j]) + (w2 * s2[j] + w3 * s3[j])
            ci += 4
        for c2 in range(ci, cig):
            src = x[n, g, c2, j0:j1]
            for co in range(cog):
                weight = w[g, c2, co]
                dst = out[n, g * cog + co, j0:j1]
                for j in range(j1 - j0):
                    dst[j] += weight * src[j]


@jit
def interleave(
    y, lead_src, lead_dst, first_last, count_last, stride_last, c0, bias, has_bias, out, channels_last, task0, task1
):
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
                        gc = np.uintp(g * cog + c)
                        target[gc] = src[np.uintp(c0 + c)] + (bias[gc] if has_bias else 0)
            else:
                for c in range(cog):
                    b = bias[g * cog + c] if has_bias else 0
                    target = out[n, g * cog + c, dst]
                    for q in range(count_last):
                        target[np.uintp(first_last + stride_last * q)] = rows[q, np.uintp(c0 + c)] + b


@jit
def depth_to_space(
    y, lead_row, lead_phase, lead_out, last_row, last_phase, phases_last, bias, has_bias, out, channels_last, task0,
    task1,
):  # fmt: skip
    """Write every phase's results at once (the all-phase GEMM of ``phase``): output ``(lead lead_out[e],
    last X)`` of channel ``g*Cog + c`` is ``y[g, n, lead_row[e] + last_row[X], f*Cog + c]`` with phase
    ``f = lead_phase[e]*phases_last + last_phase[X]``, plus the bias.

    y: (G, N, R, F*Cog) on the padded pitch; out: (N, O_lead, O_last, C) if channels_last else
    (N, C, O_lead, O_last). Tasks are (n, e) pairs; every output is written once. A channels-first
    output row is first gathered channels-last into a buffer (reading ``y`` along its channels, not
    one cache line per value), then written one channel row at a time.
    """
    g_count = y.shape[0]
    c_total = out.shape[3] if channels_last else out.shape[1]
    cog = c_total // g_count
    n_lead = lead_row.shape[0]
    o_last = last_row.shape[0]
    line = np.empty((o_last, c_total), dtype=out.dtype)  # one output row, channels-last
    for task in range(task0, task1):
        n = task // n_lead
        e = task - n * n_lead
        row0 = lead_row[e]
        f0 = lead_phase[e] * phases_last
        e_out = lead_out[e]
        target = out[n, e_out] if channels_last else line
        for g in range(g_count):
            rows = y[g, n]
            for x in range(o_last):
                src = rows[np.uintp(row0 + last_row[x])]
                col = (f0 + last_phase[x]) * cog
                dst = target[x]
                for c in range(cog):
                    gc = np.uintp(g * cog + c)
                    dst[gc] = src[np.uintp(col + c)] + (bias[gc] if has_bias else 0)
        if not channels_last:
            for c in range(c_total):
                plane = out[n, c, e_out]
                for x in range(o_last):
                    plane[x] = line[x, c]


@jit
def depth_to_space_t(y, lead_row, lead_phase, lead_out, runs, phases_last, bias, has_bias, out, task0, task1):
    """:func:`depth_to_space` from products in the transposed orientation, into a channels-first output:
    output ``(lead lead_out[e], last X)`` of channel ``c`` is ``y[f*C + c, n, lead_row[e] + row]`` with phase
    ``f = lead_phase[e]*phases_last + p``, plus the bias, where along the last axis phase ``p`` holds
    the outputs ``X = first + s*q`` for ``q < count`` at rows ``base + q``: ``runs[p] = (first, count,
    base, s)``.

    y: (F*C, N, R); out: (N, C, O_lead, O_last). Tasks are (n, e) pairs; every output is written once,
    each phase's run read along ``y``'s rows and written at stride ``s``. Two runs of equal length at
    stride 2 starting at 0 and 1 (a k4 s2 row whose phases alternate) are written together, output by
    output, in one loop: fcn8s-up2's pass 50 -> 34 us (one thread; a run at a time wrote each row twice
    at stride 2).
    """
    c_total = out.shape[1]
    n_lead = lead_row.shape[0]
    pairs = (
        runs.shape[0] == 2
        and runs[0, 0] == 0
        and runs[1, 0] == 1
        and runs[0, 3] == 2
        and runs[1, 3] == 2
        and runs[0, 1] == runs[1, 1]
    )
    for task in range(task0, task1):
        n = task // n_lead
        e = task - n * n_lead
        row0 = lead_row[e]
        f0 = lead_phase[e] * phases_last
        e_out = lead_out[e]
        for c in range(c_total):
            b = bias[c] if has_bias else 0
            dst = out[n, c, e_out]
            if pairs:
                even = y[f0 * c_total + c, n]
                odd = y[(f0 + 1) * c_total + c, n]
                even0, odd0 = row0 + runs[0, 2], row0 + runs[1, 2]
                for q in range(runs[0, 1]):
                    dst[np.uintp(2 * q)] = even[np.uintp(even0 + q)] + b
                    dst[np.uintp(2 * q + 1)] = odd[np.uintp(odd0 + q)] + b
                continue
            for p in range(runs.shape[0]):
                first, count, base, s = runs[p, 0], runs[p, 1], runs[p, 2], runs[p, 3]
                src = y[(f0 + p) * c_total + c, n]
                for q in range(count):
                    dst[np.uintp(first + s * q)] = src[np.uintp(row0 + base + q)] + b


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


def _even_run_of(lanes):
    """The intrinsic ``_even_run(src, s0, dst, d0)``: ``dst[d0 + j] = src[s0 + 2*j]`` for ``j`` in ``0:lanes``
    (float32, flat element offsets from each array's first element): two plain vector loads of ``lanes``
    entries each (``src[s0 : s0 + 2*lanes]``, one entry past the last one used), their even lanes gathered
    by a shuffle, one plain store."""

    @intrinsic
    def _even_run(typingctx, src, s0, dst, d0):
        if not all(isinstance(t, types.Array) and t.dtype == types.float32 for t in (src, dst)):
            return None
        signature = types.none(src, types.int64, dst, types.int64)

        def codegen(context, builder, sig, args):
            f32, i32, i64 = ir.FloatType(), ir.IntType(32), ir.IntType(64)
            run = ir.VectorType(f32, lanes)
            sd = context.make_array(sig.args[0])(context, builder, args[0]).data
            dd = context.make_array(sig.args[2])(context, builder, args[2]).data
            low = builder.load(builder.bitcast(builder.gep(sd, [args[1]]), run.as_pointer()), align=4)
            upper = builder.gep(sd, [builder.add(args[1], ir.Constant(i64, lanes))])
            high = builder.load(builder.bitcast(upper, run.as_pointer()), align=4)
            evens = ir.Constant(ir.VectorType(i32, lanes), list(range(0, 2 * lanes, 2)))
            packed = builder.shuffle_vector(low, high, evens)
            builder.store(packed, builder.bitcast(builder.gep(dd, [args[3]]), run.as_pointer()), align=4)
            return context.get_dummy_value()

        return signature, codegen

    return _even_run


_even_16 = _even_run_of(16)
_even_8 = _even_run_of(8)
_even_4 = _even_run_of(4)


def _strided_row(src, off, a, b, dst, base, width):
    """``dst[base + j] = src[off + 2*j]`` for ``j`` in ``a:b``, zeros for the other ``j`` in ``0:width`` (a
    row of columns at stride 2; compiled code only): float32 in plain vector runs of 16, 8 or 4 entries
    (:func:`_even_run_of`: LLVM left such rows to its scalar loop), other dtypes one entry at a time."""
    raise NotImplementedError("_strided_row runs in compiled code only")


@overload(_strided_row, inline="always", jit_options={"nogil": True})
def _strided_row_typed(src, off, a, b, dst, base, width):
    if src.dtype == types.float32 and dst.dtype == types.float32:

        def runs(src, off, a, b, dst, base, width):  # pragma: no cover - compiled
            # Runs of 16 from a, the last one ending at b (it rewrites some entries of the one before:
            # the same values), or two runs of 8 or of 4 for shorter rows; a run reads one entry past
            # its last, so a row whose last entry is the source's last is copied one entry at a time.
            # Plain loads and stores: the masked ones of the runs before (a run's lanes outside a:b
            # masked) made the columns 2.3-3.7x as slow on an AMD EPYC without AVX-512 (Zen 3), whose
            # masked stores are slow. (The scalar loop after the runs, empty when they ran, is faster
            # there than in an else branch: 2.5x on the columns, as compiled by numba's LLVM.)
            for jj in range(a):
                dst[np.uintp(base + jj)] = 0
            j = a
            if off + 2 * b <= src.shape[0]:
                if b - a >= 16:
                    while j + 16 <= b:
                        _even_16(src, off + 2 * j, dst, base + j)
                        j += 16
                    if j < b:
                        _even_16(src, off + 2 * (b - 16), dst, base + b - 16)
                        j = b
                elif b - a >= 8:
                    _even_8(src, off + 2 * a, dst, base + a)
                    _even_8(src, off + 2 * (b - 8), dst, base + b - 8)
                    j = b
                elif b - a >= 4:
                    _even_4(src, off + 2 * a, dst, base + a)
                    _even_4(src, off + 2 * (b - 4), dst, base + b - 4)
                    j = b
            for jj in range(j, b):
                dst[np.uintp(base + jj)] = src[np.uintp(off + 2 * jj)]
            for jj in range(b, width):
                dst[np.uintp(base + jj)] = 0

        return runs

    def entries(src, off, a, b, dst, base, width):  # pragma: no cover - compiled
        _row_at_stride(src, off, 2, a, b, dst, base, width)

    return entries


@inline
def _row_at_stride(src, off, stride, a, b, dst, base, width):
    """``dst[base + j] = src[off + stride*j]`` for ``j`` in ``a:b``, zeros for the other ``j`` in ``0:width``,
    one entry at a time (a row of :func:`im2col_cf`'s columns)."""
    for jj in range(a):
        dst[np.uintp(base + jj)] = 0
    for jj in range(a, b):
        dst[np.uintp(base + jj)] = src[np.uintp(off + stride * jj)]
    for jj in range(b, width):
        dst[np.uintp(base + jj)] = 0


@jit
def im2col_cf(x, lead_pos, last_pos, o_last, stride_last, out, n0, l0, task0, task1):
    """Columns of a convolution in the transposed orientation, from a channels-first input:
    out[c, tl*K_last + tt, i, r] = x[n0 + i, c, position of (row l0*J_last + r, tap (tl, tt))] or 0.

    x: (N, C, P_big) channels-first input; lead_pos, last_pos as for :func:`im2col_cl` (along the
    last axis the positions of a tap are ``stride_last * j + first``: read as a strided run);
    out: (C, K_lead*K_last, n, R) with R a whole number of rows of J_last. Tasks are channels:
    each writes its own rows, along them (the reads stride along the input's rows).
    """
    j_lead, k_lead = lead_pos.shape
    j_last, k_last = last_pos.shape
    samples = out.shape[2]
    leads = out.shape[3] // j_last
    lo = np.empty(k_last, dtype=np.int64)  # per tap along the last axis: its run of outputs inside
    hi = np.empty(k_last, dtype=np.int64)
    first = np.empty(k_last, dtype=np.int64)
    for tt in range(k_last):
        lo[tt] = j_last
        hi[tt] = j_last
        first[tt] = 0
        for jj in range(j_last):
            if last_pos[jj, tt] >= 0:
                if lo[tt] == j_last:
                    lo[tt] = jj
                    first[tt] = last_pos[jj, tt]
                hi[tt] = jj + 1
    for c in range(task0, task1):
        for i in range(samples):
            src = x[n0 + i, c]
            for tl in range(k_lead):
                for tt in range(k_last):
                    dst = out[c, tl * k_last + tt, i]
                    a, b, f = lo[tt], hi[tt], first[tt]
                    for r in range(leads):
                        base = r * j_last
                        pl = lead_pos[l0 + r, tl]
                        if pl < 0:
                            for jj in range(j_last):
                                dst[np.uintp(base + jj)] = 0
                            continue
                        off = pl * o_last + f - stride_last * a
                        if stride_last == 2:
                            _strided_row(src, off, a, b, dst, base, j_last)
                        else:  # (stride 1 vectorises as it is)
                            _row_at_stride(src, off, stride_last, a, b, dst, base, j_last)


@jit
def conv_direct_cl(x, wt, cig, cog, minor, lead_pos, last_pos, o_last, acc_dtype_zero, product_zero, out, task0, task1):
    """Small-group convolution, each output pixel written once: out[n, j, g*cog + k] = the sum over the
    taps t that read inside the input and the channels ci of group g of x[n, position(j, t), ci] *
    wt[t, ci, k], accumulated in the dtype of ``acc_dtype_zero`` (double precision for single-precision
    data), each product taken in the dtype of ``product_zero`` (in double precision, exact: for sums of a
    few terms, where a product's rounding is as large as the sum's).

    x: (N, P_big, C_in) channels-last input; wt: (Kv, C_in, cog) weight with taps first;
    lead_pos, last_pos: :func:`tconv._algorithms.taptable.im2col_positions`; out:
    (N, J_lead*J_last, G*cog) channels-last. Tasks are (n, j_lead) pairs.

    ``minor`` (8 or more groups of a few channels, 4 -> 4 in 32 groups): the group index innermost.
    x's channels are in (i, g) order, wt is (Kv, cig*cog, G), and each (i, k) channel pair is one loop
    along the G groups, which vectorises (the loop over a group's 4 channels did not: 4-5x slower);
    out stays in the usual (g, k) order.
    """
    j_lead = lead_pos.shape[0]
    j_last = last_pos.shape[0]
    acc = np.zeros(out.shape[2], dtype=acc_dtype_zero.dtype)
    zero = product_zero[0]
    for task in range(task0, task1):
        n = task // j_lead
        jl = task - n * j_lead
        for jj in range(j_last):
            _conv_pixel(
                x, wt, cig, cog, minor, lead_pos, last_pos, o_last, n, jl, jj, acc, out[n, jl * j_last + jj], zero
            )


@jit
def conv_direct_cf(x, wt, cig, cog, minor, lead_pos, last_pos, o_last, acc_dtype_zero, product_zero, out, task0, task1):
    """:func:`conv_direct_cl` into a channels-first output ``(N, G*cog, J_lead*J_last)``: each task's
    output row summed channels-last in a local ``(J_last, G*cog)`` buffer and written transposed, along
    the output's rows (no channels-last result and no transpose pass over it; writing each pixel's
    channels straight into their planes, 4 KiB apart on a 32 x 32 plane, thrashed the cache)."""
    j_lead = lead_pos.shape[0]
    j_last = last_pos.shape[0]
    acc = np.zeros(out.shape[1], dtype=acc_dtype_zero.dtype)
    zero = product_zero[0]
    buf = np.empty((j_last, out.shape[1]), dtype=out.dtype)
    for task in range(task0, task1):
        n = task // j_lead
        jl = task - n * j_lead
        for jj in range(j_last):
            _conv_pixel(x, wt, cig, cog, minor, lead_pos, last_pos, o_last, n, jl, jj, acc, buf[jj], zero)
        tile_transpose(buf, out[n, :, jl * j_last : (jl + 1) * j_last], 0, j_last)


@inline
def _conv_pixel(x, wt, cig, cog, minor, lead_pos, last_pos, o_last, n, jl, jj, acc, dst, zero):
    """dst = output pixel (n, jl, jj) of :func:`conv_direct_cl`, summed in ``acc``."""
    k_lead = lead_pos.shape[1]
    k_last = last_pos.shape[1]
    g_count = wt.shape[2]
    acc[:] = 0
    for tl in range(k_lead):
        pl = lead_pos[jl, tl]
        if pl < 0:
            continue
        for tt in range(k_last):
            pp = last_pos[jj, tt]
            if pp < 0:
                continue
            src = x[n, pl * o_last + pp]
            w = wt[tl * k_last + tt]
            if minor:
                _add_along_groups(acc, src, w, cig, cog, g_count, zero)
            else:
                _add_channels(acc, src, w, cig, cog, zero)
    if minor:
        for g in range(g_count):
            for k in range(cog):
                dst[np.uintp(g * cog + k)] = acc[np.uintp(k * g_count + g)]
    else:
        for c in range(acc.shape[0]):
            dst[c] = acc[c]


@jit
def correlate_direct_cl(small, big, a_per, b_per, minor, lead_pos, last_pos, o_last, acc, task0, task1):
    """Small-group weight gradient, added into ``acc``: acc[t, g*a_per + a, b] += the sum over the tasks'
    samples and outputs j of small[n, j, g*a_per + a] * big[n, position(j, t), g*b_per + b].

    small: (N, J_lead*J_last, G*a_per) channels-last (the small side); big: (N, P_big, G*b_per)
    channels-last; acc: (Kv, G*a_per, b_per) in the accumulation dtype (one per thread). Tasks are
    (n, j_lead) pairs.

    ``minor`` (see :func:`conv_direct_cl`): both sides' channels in (channel, group) order, acc
    ``(Kv, a_per*b_per, G)``: acc[t, a*b_per + b, g] += small[n, j, a*G + g] * big[n, position, b*G + g].
    """
    j_lead, k_lead = lead_pos.shape
    j_last, k_last = last_pos.shape
    a_total = small.shape[2]
    g_count = acc.shape[2]
    for task in range(task0, task1):
        n = task // j_lead
        jl = task - n * j_lead
        for jj in range(j_last):
            s = small[n, jl * j_last + jj]
            for tl in range(k_lead):
                pl = lead_pos[jl, tl]
                if pl < 0:
                    continue
                for tt in range(k_last):
                    pp = last_pos[jj, tt]
                    if pp < 0:
                        continue
                    src = big[n, pl * o_last + pp]
                    target = acc[tl * k_last + tt]
                    if minor:
                        for a in range(a_per):
                            s0 = a * g_count
                            for b in range(b_per):
                                row = target[a * b_per + b]
                                b0 = b * g_count
                                for g in range(g_count):
                                    row[g] += s[np.uintp(s0 + g)] * src[np.uintp(b0 + g)]
                    elif a_per == 1 and b_per == 1:
                        for c in range(a_total):
                            target[c, 0] += s[c] * src[c]
                    else:
                        for c in range(a_total):
                            base = (c // a_per) * b_per
                            v = s[c]
                            for b in range(b_per):
                                target[c, b] += v * src[np.uintp(base + b)]


@jit
def im2col_groups_cl(x, lead_pos, last_pos, o_last, out, task0, task1):
    """As im2col_cl, each group's channels in its own block: out[g, n, j, t, b] = x[n, position of
    (j, t), g*B + b] or 0. out: (G, N, J_lead*J_last, K_lead*K_last, B). Tasks are (n, j_lead) pairs."""
    j_lead, k_lead = lead_pos.shape
    j_last, k_last = last_pos.shape
    g_count, b_count = out.shape[0], out.shape[4]
    for task in range(task0, task1):
        n = task // j_lead
        jl = task - n * j_lead
        for jj in range(j_last):
            j = jl * j_last + jj
            for tl in range(k_lead):
                pl = lead_pos[jl, tl]
                for tt in range(k_last):
                    t = tl * k_last + tt
                    pp = last_pos[jj, tt]
                    if pl < 0 or pp < 0:
                        for g in range(g_count):
                            dst = out[g, n, j, t]
                            for b in range(b_count):
                                dst[b] = 0
                    else:
                        src = x[n, pl * o_last + pp]
                        for g in range(g_count):
                            dst = out[g, n, j, t]
                            for b in range(b_count):
                                dst[b] = src[np.uintp(g * b_count + b)]


@inline
def _residue_taps(k_last, s, d, b):
    """The last axis's taps grouped by the residue modulo ``s`` of the outputs they reach: tap ``tt``
    adds to outputs ``s*j + d*tt - b``, of residue ``(d*tt - b) mod s``; the taps of residue ``r`` are
    ``order[start[r]:start[r + 1]]`` (a loop over every tap for each residue cost k*s checks: an
    inverse STFT's k1024 s256, 262 144 a chunk)."""
    start = np.zeros(s + 1, dtype=np.int64)
    for tt in range(k_last):
        start[(d * tt - b) % s + 1] += 1
    for r in range(s):
        start[r + 1] += start[r]
    order = np.empty(k_last, dtype=np.int64)
    fill = start[:s].copy()
    for tt in range(k_last):
        r = (d * tt - b) % s
        order[fill[r]] = tt
        fill[r] += 1
    return order, start


@inline
def _stamp_edges(row, c0, c1, s, i_last, b, bias):
    """The bias into the outputs ``c0:c1`` of ``row`` that no input reaches along a stamped axis (kernel
    ``k == s``, dilation 1: input ``j``'s taps ``tt`` carry it to ``s*j + tt - b``, one tap per output,
    so the outputs ``-b`` to ``s*i_last - b`` are each reached exactly once)."""
    for o in range(c0, min(c1, -b)):
        row[o] = bias
    for o in range(max(c0, s * i_last - b), c1):
        row[o] = bias


@inline
def _stamp_tap(row, src, line, base, shift, s, i_last, c0, c1, scale, scaled, bias, add):
    """One tap of a stamped axis (:func:`_stamp_edges`) over outputs ``c0:c1``: ``src[line, base + j]`` (times
    ``scale`` when ``scaled``; ``scale`` of the arrays' dtype, so no wider arithmetic) into
    ``row[s*j + shift]``, added when ``add``, else written with ``bias`` (the first of the terms: one
    stride-``s`` store per output, no pass filling the bias and no read-modify-write)."""
    lo, hi = _tap_range(shift, s, i_last, c0, c1)
    first = s * lo + shift
    x0 = base + lo
    line = np.uintp(line)
    if scaled:
        if add:
            for j in range(hi - lo):
                row[np.uintp(first + s * j)] += scale * src[line, np.uintp(x0 + j)]
        else:
            for j in range(hi - lo):
                row[np.uintp(first + s * j)] = bias + scale * src[line, np.uintp(x0 + j)]
    elif add:
        for j in range(hi - lo):
            row[np.uintp(first + s * j)] += src[line, np.uintp(x0 + j)]
    else:
        for j in range(hi - lo):
            row[np.uintp(first + s * j)] = bias + src[line, np.uintp(x0 + j)]


@inline
def _stamp_pair(row, src, line, base, b, i_last, c0, c1, scale0, scale1, bias, add):
    """Both taps of a stamped axis of stride 2 (kernel 2, dilation 1) over outputs ``c0:c1`` of one input
    row ``src[line, base:]`` times the taps' weights ``scale0`` and ``scale1``, as :func:`_stamp_tap`
    computes them one at a time: where both taps have inputs, input ``j``'s two terms go to the adjacent
    outputs ``2*j - b`` and ``2*j - b + 1`` in one loop, which the compiler vectorises, the ends by
    :func:`_stamp_tap`. Measured A/B in ``direct_rows_t``: 1.9x on a 1-d channel multiplier (64 -> 128
    in 64 groups, k2 s2), 2.4-2.75x on a one-channel 1000^2 image, 0.78-1.30x (this VM's noise) on 2-d
    depthwise layers with rows of 40-80 outputs; in the row gather of columns (two lines of columns, no
    weights) 0.8-0.99x on U-Net's layers, so not there."""
    lo0, hi0 = _tap_range(-b, 2, i_last, c0, c1)
    lo1, hi1 = _tap_range(1 - b, 2, i_last, c0, c1)
    lo, hi = max(lo0, lo1), min(hi0, hi1)
    if hi <= lo:
        lo = hi = max(0, min(hi0, hi1))  # no common inputs: every term at the ends
    first, last = 2 * lo - b, 2 * hi - b  # the outputs of the common inputs
    for low, high in ((c0, max(c0, min(c1, first))), (min(c1, max(c0, last)), c1)):
        if high > low:
            _stamp_tap(row, src, line, base, -b, 2, i_last, low, high, scale0, True, bias, add)
            _stamp_tap(row, src, line, base, 1 - b, 2, i_last, low, high, scale1, True, bias, add)
    if hi <= lo:
        return
    out = row[first:]  # a view from the first common output: its index 2*j, not 2*j - b
    x = src[np.uintp(line), base + lo :]
    if add:
        for j in range(hi - lo):
            out[np.uintp(2 * j)] += scale0 * x[np.uintp(j)]
            out[np.uintp(2 * j + 1)] += scale1 * x[np.uintp(j)]
    else:
        for j in range(hi - lo):
            out[np.uintp(2 * j)] = bias + scale0 * x[np.uintp(j)]
            out[np.uintp(2 * j + 1)] = bias + scale1 * x[np.uintp(j)]


@inline
def _stamp_column_ends(row, src, line, base, b, i_last, o0, o1, bias, add):
    """The outputs ``o0:o1`` of :func:`_stamp_columns`' row one at a time (its ends: a few outputs)."""
    for o in range(o0, o1):
        q = o + b
        j = q // 2
        if 0 <= j < i_last:
            value = src[line + q - 2 * j, base + j]
            if add:
                row[o] += value
            else:
                row[o] = value + bias


@inline
def _stamp_columns(row, src, line, base, b, i_last, c0, c1, bias, add):
    """Both taps of a stamped axis of stride 2 (kernel 2, dilation 1) over outputs ``c0:c1`` from two
    lines of columns, ``src[line, base:]`` and ``src[line + 1, base:]`` (the row gather's
    :func:`_stamp_pair`, without weights), written with ``bias`` unless ``add``: where both taps have
    inputs, input ``j``'s two terms are stored to the adjacent outputs ``2*j - b`` and ``2*j - b + 1``
    in one loop over views of the two lines and of the row, indexed by the loop variable alone; the
    few outputs at the ends one at a time (:func:`_stamp_column_ends`: the ends through
    :func:`_stamp_tap`, as :func:`_stamp_pair` does them, made the loop 1.7x slower)."""
    lo0, hi0 = _tap_range(-b, 2, i_last, c0, c1)
    lo1, hi1 = _tap_range(1 - b, 2, i_last, c0, c1)
    lo, hi = max(lo0, lo1), min(hi0, hi1)
    if hi <= lo:
        lo = hi = max(0, min(hi0, hi1))  # no common inputs: every term at the ends
    first, last = max(c0, min(c1, 2 * lo - b)), min(c1, max(c0, 2 * hi - b))
    _stamp_column_ends(row, src, line, base, b, i_last, c0, first, bias, add)
    _stamp_column_ends(row, src, line, base, b, i_last, last, c1, bias, add)
    count = hi - lo
    if count <= 0:
        return
    out = row[2 * lo - b : 2 * hi - b]
    x0 = src[line, base + lo : base + hi]
    x1 = src[line + 1, base + lo : base + hi]
    if add:
        for j in range(count):
            out[2 * j] += x0[j]
            out[2 * j + 1] += x1[j]
    else:
        for j in range(count):
            out[2 * j] = x0[j] + bias
            out[2 * j + 1] = x1[j] + bias


@inline
def _residue_span(c0, c1, r, s):
    """``(q0, q1)``: the outputs ``s*q + r`` of residue ``r`` among outputs ``c0:c1`` are ``q0 <= q < q1``."""
    return (c0 - r + s - 1) // s, (c1 - r + s - 1) // s


@inline
def _residue_inputs(q0, q1, r, tt, s, d, b, i_last):
    """``(lo, hi, off)``: tap ``tt`` of residue ``r`` (``(d*tt - b) mod s == r``) adds input ``q + off`` to
    output ``s*q + r``, for ``lo <= q < hi`` (within ``q0:q1`` and the ``i_last`` inputs)."""
    off = (r + b - d * tt) // s
    return max(q0, -off), min(q1, i_last - off), off


@inline
def _span_of(whole, spans, c0, c1, r, s):
    """Residue ``r``'s span among outputs ``c0:c1``: from :func:`_whole_row_residues`' ``spans`` for a whole
    row, else :func:`_residue_span`."""
    if whole:
        return spans[r, 0], spans[r, 1]
    return _residue_span(c0, c1, r, s)


@inline
def _inputs_of(whole, inputs, e_index, q0, q1, r, tt, s, d, b, i_last):
    """Tap ``order[e_index]`` (``tt``)'s ``(lo, hi, off)``: from ``inputs`` for a whole row, else
    :func:`_residue_inputs`."""
    if whole:
        return inputs[e_index, 0], inputs[e_index, 1], inputs[e_index, 2]
    return _residue_inputs(q0, q1, r, tt, s, d, b, i_last)


@inline
def _gather_rows_t(
    cols,
    c,
    lp,
    lj,
    lt,
    i_last,
    k_last,
    ranges,
    s,
    d,
    b,
    o0,
    o1,
    chunk,
    bias,
    out_rows,
    acc,
    order,
    start,
    spans,
    inputs,
):
    """Output rows of one channel from transposed columns (the NCHW orientation, for few channels).

    cols: (C, Kv, P_in) = W^T @ x of one sample (channels, taps, input pixels), C-contiguous (its
    rows' layout known to the compiler: indexed through a transposed view they were read element by element);
    out_rows: (O_lead, O_last) rows of output channel ``c``, of which this writes outputs ``o0:o1``
    along the last axis. Row ``ol`` gets, for each lead pair (jl, tl) and each last-axis tap tt,
    the input row jl of tap tl*k_last + tt added at positions s*j + d*tt - b, in chunks of ``chunk``
    outputs that stay in L1 (a 1-d row can be far longer: an inverse STFT's 57 000 outputs gathered
    whole took 0.76 ms, writes missing L1). ranges: (k_last, 2), the inputs ``ranges[tt, 0] <= j <
    ranges[tt, 1]`` that tap tt carries into the whole row (:func:`tconv.geometry.tap_range`), used
    when a chunk is the whole row; a chunk's own come from ``tap_range`` itself. Likewise ``spans``
    and ``inputs`` (:func:`_whole_row_residues`) hold each residue's span and each tap's inputs for a
    chunk that is the whole row: worked out per row, their integer divisions cost more than short rows'
    sums (32 groups of 6 -> 3 channels at 11x11, rows of 24: 0.58 ms of gather a call).

    As in :func:`direct_rows_t`: where taps overlap along the last axis, each residue of the outputs
    modulo ``s`` is summed in the contiguous buffer ``acc`` (at least ``chunk // s + 2`` long) and
    stored once at stride ``s``; otherwise each tap is added in place; elements are indexed, not
    sliced (a view per tap and row cost more than short rows: DCGAN's RGB output, rows of 64, 3 taps
    and 2 lead pairs a row, 1.x faster). Where the kernel equals the stride along the last axis
    (dilation 1: U-Net's k2 s2), each output is one tap's term per lead pair: the first pair's terms
    are written with the bias (:func:`_stamp_tap`), with no pass filling the bias and no
    read-modify-write (A/B: U-Net's k2 s2 layers at 112^2-128^2, whose gather is most of the call,
    1.26-1.38x; small k = s layers 1.0-1.2x).
    """
    o_last = out_rows.shape[1]
    overlapping = d * (k_last - 1) >= s
    stamps = d == 1 and k_last == s  # each output of the row carried by exactly one tap of a lead pair
    taps = cols[c]  # (Kv, P_in): a view once, not the channel's index checked in every access
    for ol in range(out_rows.shape[0]):
        row = out_rows[ol]  # a view once a row
        for c0 in range(o0, o1, chunk):
            c1 = min(o1, c0 + chunk)
            whole = c0 == 0 and c1 == o_last
            if stamps and lp[ol + 1] > lp[ol]:
                # the first lead pair's taps written with the bias, not added into it (_stamp_tap)
                _stamp_edges(row, c0, c1, s, i_last, b, bias)
                for p in range(lp[ol], lp[ol + 1]):
                    base = lj[p] * i_last
                    for tt in range(k_last):
                        line = lt[p] * k_last + tt
                        _stamp_tap(row, taps, line, base, tt - b, s, i_last, c0, c1, bias, False, bias, p > lp[ol])
                continue
            if not overlapping:
                for o in range(c0, c1):
                    out_rows[ol, o] = bias
                for p in range(lp[ol], lp[ol + 1]):
                    base = lj[p] * i_last
                    tap0 = lt[p] * k_last
                    for tt in range(k_last):
                        shift = d * tt - b
                        if whole:
                            lo, hi = ranges[tt, 0], ranges[tt, 1]
                        else:
                            lo, hi = _tap_range(shift, s, i_last, c0, c1)
                        if hi <= lo:
                            continue
                        first = s * lo + shift
                        x0 = base + lo
                        for j in range(hi - lo):
                            out_rows[ol, np.uintp(first + s * j)] += taps[np.uintp(tap0 + tt), np.uintp(x0 + j)]
                continue
            for r in range(s):
                q0, q1 = _span_of(whole, spans, c0, c1, r, s)
                if q1 <= q0:
                    continue
                for q in range(q1 - q0):
                    acc[q] = bias
                for p in range(lp[ol], lp[ol + 1]):
                    base = lj[p] * i_last
                    tap0 = lt[p] * k_last
                    for e_index in range(start[r], start[r + 1]):
                        tt = order[e_index]
                        lo, hi, off = _inputs_of(whole, inputs, e_index, q0, q1, r, tt, s, d, b, i_last)
                        if hi <= lo:
                            continue
                        a0 = lo - q0
                        x0 = base + lo + off
                        for j in range(hi - lo):
                            acc[np.uintp(a0 + j)] += taps[np.uintp(tap0 + tt), np.uintp(x0 + j)]
                first = s * q0 + r
                for q in range(q1 - q0):
                    out_rows[ol, np.uintp(first + s * q)] = acc[q]


@jit
def gather_rows_t(cols, lp, lj, lt, i_last, k_last, ranges, s, d, b, o0, o1, chunk, bias, out):
    """:func:`_gather_rows_t` for every sample and channel of a block, in one call (a call per sample
    and channel cost more in dispatch than its rows on small images: 5-8 us against 1-2).

    cols: (n, C, Kv, P_in) columns of the block's samples; bias: (C,); out: (n, C, O_lead, O_last),
    of which the call writes outputs ``o0:o1`` along the last axis.
    """
    acc = np.empty(chunk // s + 2, dtype=out.dtype)
    order, start = _residue_taps(k_last, s, d, b)
    spans, inputs = _whole_row_residues(out.shape[3], order, start, s, d, b, i_last)
    for i in range(cols.shape[0]):
        for c in range(cols.shape[1]):
            _gather_rows_t(
                cols[i],
                c,
                lp,
                lj,
                lt,
                i_last,
                k_last,
                ranges,
                s,
                d,
                b,
                o0,
                o1,
                chunk,
                bias[c],
                out[i, c],
                acc,
                order,
                start,
                spans,
                inputs,
            )


@inline
def _s2_output(taps, lj, lt, p0, p1, i_last, k, f, bias):
    """One output of a row of :func:`_gather_s2` at full position ``f`` (output + crop): the bias plus every lead
    pair's taps ``tt`` (of ``k``) with ``f - tt`` even, from input ``(f - tt) // 2`` where that is an input."""
    total = bias
    for p in range(p0, p1):
        line = lt[p] * k
        base = lj[p] * i_last
        for tt in range(k):
            if (f - tt) % 2 == 0:
                j = (f - tt) // 2
                if 0 <= j < i_last:
                    total += taps[line + tt, base + j]
    return total


@inline
def _gather_s2(cols, lp, lj, lt, i_last, k, b, o0, o1, bias, out):
    """:func:`gather_rows_t` where the last axis has stride 2, dilation 1 and kernel ``k`` of 3, 4 or 5
    (DCGAN's and pix2pix's k4 s2 layers, decoders' k3 s2 and k5 s2): output ``o`` of a row, at full
    position ``f = o + b``, is the bias plus, per lead pair, taps ``f mod 2 + 2 j`` (those ``< k``) of
    inputs ``f // 2 - j``. Both outputs of an input ``h`` (``2h - b`` and ``2h + 1 - b``) are
    written in one loop over the inputs, the first lead pair's with the bias and the others added: no
    residue buffer and no stride-``s`` store pass. The outputs at the row's ends, where an input is
    missing, are summed one at a time.

    cols: (n, C, Kv, P_in) columns of the block's samples; bias: (C,); out: (n, C, O_lead, O_last), of
    which the call writes outputs ``o0:o1`` along the last axis.
    """
    # the inputs h ((k - 1) // 2 <= h < i_last: all of its taps' inputs exist) whose two outputs lie in o0:o1
    h0 = max((k - 1) // 2, -((-o0 - b) // 2))
    h1 = min(i_last, (o1 - 2 + b) // 2 + 1)
    if h1 < h0:
        h1 = h0
    head = min(o1, max(o0, 2 * h0 - b))  # outputs o0:head and tail:o1 one at a time
    tail = max(head, 2 * h1 - b) if h1 > h0 else head
    for i in range(cols.shape[0]):
        for c in range(cols.shape[1]):
            taps = cols[i, c]  # (Kv, P_in): a view once a channel
            bc = bias[c]
            for ol in range(out.shape[2]):
                row = out[i, c, ol]
                p0, p1 = lp[ol], lp[ol + 1]
                for o in range(o0, head):
                    row[o] = _s2_output(taps, lj, lt, p0, p1, i_last, k, o + b, bc)
                for o in range(tail, o1):
                    row[o] = _s2_output(taps, lj, lt, p0, p1, i_last, k, o + b, bc)
                if p1 == p0:
                    for o in range(head, tail):
                        row[o] = bc
                    continue
                # each input's two outputs, the first lead pair's written with the bias, the others added
                # (indexed in two dimensions: through a view of each tap's line the loop vectorised, but
                # on rows of 32 inputs ran 1.25x as long); each kernel written out, so that no loop
                # tests it
                for p in range(p0, p1):
                    line = lt[p] * k
                    base = lj[p] * i_last
                    if k == 4 and p == p0:
                        for h in range(h0, h1):
                            row[np.uintp(2 * h - b)] = (
                                bc + taps[line, np.uintp(base + h)] + taps[line + 2, np.uintp(base + h - 1)]
                            )
                            row[np.uintp(2 * h + 1 - b)] = (
                                bc + taps[line + 1, np.uintp(base + h)] + taps[line + 3, np.uintp(base + h - 1)]
                            )
                    elif k == 4:
                        for h in range(h0, h1):
                            row[np.uintp(2 * h - b)] += (
                                taps[line, np.uintp(base + h)] + taps[line + 2, np.uintp(base + h - 1)]
                            )
                            row[np.uintp(2 * h + 1 - b)] += (
                                taps[line + 1, np.uintp(base + h)] + taps[line + 3, np.uintp(base + h - 1)]
                            )
                    elif k == 5 and p == p0:
                        for h in range(h0, h1):
                            row[np.uintp(2 * h - b)] = (
                                bc
                                + taps[line, np.uintp(base + h)]
                                + taps[line + 2, np.uintp(base + h - 1)]
                                + taps[line + 4, np.uintp(base + h - 2)]
                            )
                            row[np.uintp(2 * h + 1 - b)] = (
                                bc + taps[line + 1, np.uintp(base + h)] + taps[line + 3, np.uintp(base + h - 1)]
                            )
                    elif k == 5:
                        for h in range(h0, h1):
                            row[np.uintp(2 * h - b)] += (
                                taps[line, np.uintp(base + h)]
                                + taps[line + 2, np.uintp(base + h - 1)]
                                + taps[line + 4, np.uintp(base + h - 2)]
                            )
                            row[np.uintp(2 * h + 1 - b)] += (
                                taps[line + 1, np.uintp(base + h)] + taps[line + 3, np.uintp(base + h - 1)]
                            )
                    elif p == p0:
                        for h in range(h0, h1):
                            row[np.uintp(2 * h - b)] = (
                                bc + taps[line, np.uintp(base + h)] + taps[line + 2, np.uintp(base + h - 1)]
                            )
                            row[np.uintp(2 * h + 1 - b)] = bc + taps[line + 1, np.uintp(base + h)]
                    else:
                        for h in range(h0, h1):
                            row[np.uintp(2 * h - b)] += (
                                taps[line, np.uintp(base + h)] + taps[line + 2, np.uintp(base + h - 1)]
                            )
                            row[np.uintp(2 * h + 1 - b)] += taps[line + 1, np.uintp(base + h)]


@jit
def gather_k3s2_t(cols, lp, lj, lt, i_last, b, o0, o1, bias, out):
    """:func:`_gather_s2` of kernel 3: the kernel a constant, so that the compiler keeps only its loops."""
    _gather_s2(cols, lp, lj, lt, i_last, 3, b, o0, o1, bias, out)


@jit
def gather_k4s2_t(cols, lp, lj, lt, i_last, b, o0, o1, bias, out):
    """:func:`_gather_s2` of kernel 4 (a kernel argument had made these rows 1.03-1.1x as slow)."""
    _gather_s2(cols, lp, lj, lt, i_last, 4, b, o0, o1, bias, out)


@jit
def gather_k5s2_t(cols, lp, lj, lt, i_last, b, o0, o1, bias, out):
    """:func:`_gather_s2` of kernel 5."""
    _gather_s2(cols, lp, lj, lt, i_last, 5, b, o0, o1, bias, out)


@jit
def overlap_add_rows(cols, kv, s, b, bias, out, o0, o1):
    """The 1-d overlap-add of one sample's products, outputs ``o0:o1`` of every channel:
    ``out[c, o] = bias[c] + sum_p cols[p, c*kv + o + b - s*p]`` over the ``p`` whose tap
    ``o + b - s*p`` is in ``0:kv`` (dilation 1), added in increasing ``p``.

    cols: (P_in, Cog*Kv), C-contiguous: each input position's taps of each channel, one
    contiguous run (the products ``x[n].T @ W``); bias: (Cog,); out: (Cog, O). Each ``p``
    adds one contiguous run of its taps to one contiguous run of outputs.
    """
    p_in = cols.shape[0]
    for c in range(out.shape[0]):
        row = out[c, o0:o1]
        bc = bias[c]
        for o in range(o1 - o0):
            row[o] = bc
        # the inputs reaching o0:o1: o0 - kv < s*p - b <= o1 - 1
        p_lo = max(0, -((kv - 1 - b - o0) // s))
        p_hi = min(p_in - 1, (o1 - 1 + b) // s)
        for p in range(p_lo, p_hi + 1):
            start = s * p - b  # the output of tap 0
            a = max(o0, start)
            e = min(o1, start + kv)
            if e <= a:
                continue
            dst = row[a - o0 : e - o0]
            src = cols[p, c * kv + a - start : c * kv + e - start]
            for t in range(e - a):
                dst[t] += src[t]


@jit
def stamp_rows_t(cols, lp, lj, lt, i_last, b, o0, o1, bias, out):
    """:func:`gather_rows_t` where the last axis is stamped at stride 2 (kernel 2, dilation 1: U-Net's
    k2 s2): every output of a row is one term per lead pair, both taps of an input stored in one loop
    (:func:`_stamp_columns`), the first pair's with the bias, no buffer and no chunks.

    cols: (n, C, Kv, P_in) columns of the block's samples; bias: (C,); out: (n, C, O_lead, O_last), of
    which the call writes outputs ``o0:o1`` along the last axis.
    """
    for i in range(cols.shape[0]):
        for c in range(cols.shape[1]):
            taps = cols[i, c]  # (Kv, P_in)
            rows = out[i, c]
            bc = bias[c]
            for ol in range(rows.shape[0]):
                row = rows[ol]
                if lp[ol + 1] == lp[ol]:  # no input reaches this row: the bias
                    for o in range(o0, o1):
                        row[o] = bc
                    continue
                # the first pair written with the bias, the others added: each call with a constant
                # ``add`` (one call with ``p > p0`` ran the loops 1.4x slower)
                p0 = lp[ol]
                _stamp_edges(row, o0, o1, 2, i_last, b, bc)
                _stamp_columns(row, taps, lt[p0] * 2, lj[p0] * i_last, b, i_last, o0, o1, bc, False)
                for p in range(p0 + 1, lp[ol + 1]):
                    _stamp_columns(row, taps, lt[p] * 2, lj[p] * i_last, b, i_last, o0, o1, bc, True)


@inline
def _whole_row_residues(o_last, order, start, s, d, b, i_last):
    """For a chunk that is a whole row of ``o_last`` outputs: ``spans[r] = (q0, q1)`` of each residue ``r``
    (:func:`_residue_span`) and ``inputs[e] = (lo, hi, off)`` of tap ``order[e]`` (:func:`_residue_inputs`)."""
    spans = np.empty((s, 2), dtype=np.int64)
    inputs = np.empty((order.shape[0], 3), dtype=np.int64)
    for r in range(s):
        q0, q1 = _residue_span(0, o_last, r, s)
        spans[r, 0], spans[r, 1] = q0, q1
        for e_index in range(start[r], start[r + 1]):
            lo, hi, off = _residue_inputs(q0, q1, r, order[e_index], s, d, b, i_last)
            inputs[e_index, 0], inputs[e_index, 1], inputs[e_index, 2] = lo, hi, off
    return spans, inputs


_tap_range = numba.njit(nogil=True, cache=True, inline="always")(tap_range)


@jit
def direct_rows_t(x, w, lp, lj, lt, i_last, k_last, s, d, b, chunk, bias, out, task0, task1, o0, o1):
    """Output rows of a layer with few input channels per group straight from the input (channels-first):
    no columns. Row ``(i, c, ol)`` of ``out`` (output channel ``c = g*Cog + co`` of group ``g``) gets,
    for each input channel ``ci`` of the group, lead pair (jl, tl) and last-axis tap ``tt``,
    ``w[g, ci, co, tl*k_last + tt]`` times input row jl of channel ``g*Cig + ci`` added at positions
    ``s*j + d*tt - b``, in chunks of ``chunk`` outputs that stay in L1 (a 1-d signal's single row can be
    megabytes long).

    Each residue ``r`` of the outputs modulo ``s`` is summed in a contiguous buffer (its taps are those
    with ``(d*tt - b) mod s == r``, :func:`_residue_taps`, reading input ``q + (r + b - d*tt) // s``
    for output ``s*q + r``) and stored once at stride ``s``: contiguous multiply-adds and one
    stride-``s`` store per output, instead of a stride-``s`` read-modify-write per term. Elements are
    indexed, not sliced (a view per row and tap cost more than the short rows of small images), in
    views taken once a row (indexing the 4-d arrays checked the other axes' indices for negative
    values in every access). Measured A/B against the sliced, tap-by-tap version this replaced (one
    input channel): 1.05-1.7x on its layers (a 1000x1000 1 -> 1 k4 s2 image 3.8 -> 2.4 ms, 1-d
    depthwise k4 s2 1.2-1.5x, k7 s1 1.7x, 1 -> 32 k4 s2 1.4x), 1.1-4x on 2-d depthwise rows of 42-328
    (taps that do not overlap too: adding them in place at stride ``s`` was 0.4-0.6x the buffer), 0.8x
    on a 1-d channel multiplier at k2 s2 (0.16 -> 0.20 ms, near the memory's speed). With one input
    channel per group and the kernel equal to the stride along the last axis (dilation 1), each output
    is one term per lead pair, written with the bias, no buffer (:func:`_stamp_tap`).

    A chunk that is the whole row takes its residues' spans and inputs from :func:`_whole_row_residues`,
    worked out once per call.

    x: (n, G, Cig, P_in) the input; w: (G, Cig, Cog, Kv) the weight as it is; bias: (G*Cog,);
    out: (n, G*Cog, O_lead, O_last). Tasks are rows ``(i*G*Cog + c)*O_lead + ol``; the call writes
    their outputs ``o0:o1`` along the last axis.
    """
    cig, cog = w.shape[1], w.shape[2]
    c_out, o_lead = out.shape[1], out.shape[2]
    acc = np.empty(chunk // s + 2, dtype=out.dtype)
    order, start = _residue_taps(k_last, s, d, b)
    spans, inputs = _whole_row_residues(out.shape[3], order, start, s, d, b, i_last)
    stamps = cig == 1 and d == 1 and k_last == s
    for task in range(task0, task1):
        i = task // (c_out * o_lead)
        rest = task - i * c_out * o_lead
        c = rest // o_lead
        ol = rest - c * o_lead
        g = c // cog
        co = c - g * cog
        bv = bias[c]
        row = out[i, c, ol]  # views once a row (see the docstring)
        xs = x[i, g]
        for c0 in range(o0, o1, chunk):
            c1 = min(o1, c0 + chunk)
            if stamps and lp[ol + 1] > lp[ol]:
                # one input channel, kernel == stride: each output one term of each lead pair, written
                # with the bias by the first (_stamp_tap), no buffer
                _stamp_edges(row, c0, c1, s, i_last, b, bv)
                for p in range(lp[ol], lp[ol + 1]):
                    base = lj[p] * i_last
                    tap0 = lt[p] * k_last
                    if s == 2:
                        w0, w1 = w[g, 0, co, tap0], w[g, 0, co, tap0 + 1]
                        _stamp_pair(row, xs, 0, base, b, i_last, c0, c1, w0, w1, bv, p > lp[ol])
                        continue
                    for tt in range(k_last):
                        weight = w[g, 0, co, tap0 + tt]
                        _stamp_tap(row, xs, 0, base, tt - b, s, i_last, c0, c1, weight, True, bv, p > lp[ol])
                continue
            whole = c0 == 0 and c1 == row.shape[0]  # the residues' spans and inputs worked out once
            for r in range(s):
                q0, q1 = _span_of(whole, spans, c0, c1, r, s)
                if q1 <= q0:
                    continue
                for q in range(q1 - q0):
                    acc[q] = bv
                for p in range(lp[ol], lp[ol + 1]):
                    base = lj[p] * i_last
                    tap0 = lt[p] * k_last
                    for e_index in range(start[r], start[r + 1]):
                        tt = order[e_index]
                        lo, hi, off = _inputs_of(whole, inputs, e_index, q0, q1, r, tt, s, d, b, i_last)
                        if hi <= lo:
                            continue
                        a0 = lo - q0
                        x0 = base + lo + off
                        for ci in range(cig):
                            weight = w[g, ci, co, tap0 + tt]
                            for j in range(hi - lo):
                                acc[np.uintp(a0 + j)] += weight * xs[ci, np.uintp(x0 + j)]
                first = s * q0 + r
                for q in range(q1 - q0):
                    row[np.uintp(first + s * q)] = acc[q]


@jit
def depthwise_shifts(xp, wt, mult, shifts, lead_base, bias, out, task0, task1):
    """A stride-1 layer of one input channel per group, plane by plane: output channel ``c`` of sample
    ``n`` is the bias plus, for every tap ``t``, ``wt[c, t]`` times input plane ``c // mult`` shifted by
    ``shifts[t]``. ``xp`` ``(N, C_in, cells)``: the input zero-padded so that every tap's window stays
    inside and flattened; the output is summed on that padded pitch in one buffer of
    ``lead_base[-1] + O_last`` values (the cells between the rows are summed and dropped), each tap
    one contiguous multiply-add over it, four taps a pass, then written row by row: output lead row
    ``e`` is ``acc[lead_base[e] : lead_base[e] + O_last]``. wt: ``(C_out, taps)``; out: ``(N, C_out,
    O_lead, O_last)``; tasks are planes ``n*C_out + c``. (Per output pixel over the tap tables, as
    ``direct_cf`` does, each pair's views cost more than its few channels' arithmetic: a 64-channel
    k7 layer ran at 2.5 GMAC/s there, 12 a thread here.)"""
    c_out = out.shape[1]
    o_last = out.shape[3]
    taps = shifts.shape[0]
    length = lead_base[lead_base.shape[0] - 1] + o_last
    acc = np.empty(length, dtype=out.dtype)
    for task in range(task0, task1):
        n = task // c_out
        c = task - n * c_out
        flat = xp[n, c // mult]
        wc = wt[c]
        bv = bias[c]
        for i in range(length):
            acc[i] = bv
        t = 0
        while t + 4 <= taps:
            s0 = flat[shifts[t] :]
            s1 = flat[shifts[t + 1] :]
            s2 = flat[shifts[t + 2] :]
            s3 = flat[shifts[t + 3] :]
            w0, w1, w2, w3 = wc[t], wc[t + 1], wc[t + 2], wc[t + 3]
            for i in range(length):
                acc[i] += w0 * s0[i] + w1 * s1[i] + w2 * s2[i] + w3 * s3[i]
            t += 4
        while t < taps:
            s0 = flat[shifts[t] :]
            w0 = wc[t]
            for i in range(length):
                acc[i] += w0 * s0[i]
            t += 1
        for e in range(lead_base.shape[0]):
            dst = out[n, c, e]
            src = acc[lead_base[e] : lead_base[e] + o_last]
            for j in range(o_last):
                dst[j] = src[j]


@jit
def depthwise_stamps(
    x, w, lp, lj, lt, groups, p_in, cog, kv, i_last, s, b, bias, out, c_out, o_lead, o_last, task0, task1, o0, o1
):
    """Output rows of a layer of one input channel per group whose kernel equals its stride on every axis,
    dilation 1 (stamps that tile the output: each output is one input times one weight, plus the bias),
    channels-first, written once each: ``out[i, c, ol, s*j + t - b] = x[i, g, lj, j] * w[g, co, lt*s + t]
    + bias[c]`` for output channel ``c = g*Cog + co``, where lead row ``ol`` has its one lead pair
    ``(lj, lt)`` (``lp[ol]``; none: the bias alone), and the bias where no input reaches.

    All arrays are flat, C order: x ``(n, G, P_in)``, w ``(G, Cog, Kv)`` (the last axis's ``s`` taps
    last), out ``(n, C_out, O_lead, O_last)``; tasks are rows ``(i*C_out + c)*O_lead + ol``, and the call
    writes their outputs ``o0:o1``. Offsets into the flat arrays, not views: a first form of this kernel
    over planes, with views of each plane, row and weight, took 2.7 ms on a 16-sample 96-channel
    depthwise k2 s2 layer at 21 x 21 where this one takes 0.63 (one thread, the output allocated
    before). Why was not found: a loop of the same stores through a view a row ran as fast as through
    offsets. The strides 2, 3 and 4 are written out so that the compiler vectorises their interleaved
    stores."""
    # the inputs whose s outputs all lie in o0:o1 (s*j - b >= o0 and s*j + s - 1 - b < o1)
    j0 = max(0, -((-o0 - b) // s))
    j1 = min(i_last, (o1 + b) // s)
    if j1 < j0:
        j1 = j0
    head = min(o1, max(o0, s * j0 - b))  # outputs o0:head and tail:o1 one at a time
    tail = max(head, s * j1 - b) if j1 > j0 else head
    i = task0 // (c_out * o_lead)  # the task's sample, channel and lead row, then counted along (no
    c = task0 // o_lead - i * c_out  # divisions a row: they cost a tenth of a short row)
    ol = task0 - (i * c_out + c) * o_lead
    g = c // cog
    co = c - g * cog
    for task in range(task0, task1):
        if ol == o_lead:
            ol = 0
            c += 1
            co += 1
            if co == cog:
                co = 0
                g += 1
            if c == c_out:
                c = g = 0
                i += 1
        bv = bias[c]
        ro = task * o_last
        ol += 1
        if lp[ol] == lp[ol - 1]:  # no input reaches this row
            for o in range(o0, o1):
                out[np.uintp(ro + o)] = bv
            continue
        pair = lp[ol - 1]
        xr = (i * groups + g) * p_in + lj[pair] * i_last
        wt = c * kv + lt[pair] * s
        for o in range(o0, head):
            f = o + b
            j = f // s
            out[np.uintp(ro + o)] = x[np.uintp(xr + j)] * w[np.uintp(wt + f - j * s)] + bv if 0 <= j < i_last else bv
        for o in range(tail, o1):
            f = o + b
            j = f // s
            out[np.uintp(ro + o)] = x[np.uintp(xr + j)] * w[np.uintp(wt + f - j * s)] + bv if 0 <= j < i_last else bv
        base = ro - b
        if s == 2:
            w0, w1 = w[np.uintp(wt)], w[np.uintp(wt + 1)]
            for j in range(j0, j1):
                v = x[np.uintp(xr + j)]
                out[np.uintp(base + 2 * j)] = v * w0 + bv
                out[np.uintp(base + 2 * j + 1)] = v * w1 + bv
        elif s == 3:
            w0, w1, w2 = w[np.uintp(wt)], w[np.uintp(wt + 1)], w[np.uintp(wt + 2)]
            for j in range(j0, j1):
                v = x[np.uintp(xr + j)]
                out[np.uintp(base + 3 * j)] = v * w0 + bv
                out[np.uintp(base + 3 * j + 1)] = v * w1 + bv
                out[np.uintp(base + 3 * j + 2)] = v * w2 + bv
        elif s == 4:
            w0, w1, w2, w3 = w[np.uintp(wt)], w[np.uintp(wt + 1)], w[np.uintp(wt + 2)], w[np.uintp(wt + 3)]
            for j in range(j0, j1):
                v = x[np.uintp(xr + j)]
                out[np.uintp(base + 4 * j)] = v * w0 + bv
                out[np.uintp(base + 4 * j + 1)] = v * w1 + bv
                out[np.uintp(base + 4 * j + 2)] = v * w2 + bv
                out[np.uintp(base + 4 * j + 3)] = v * w3 + bv
        else:
            for j in range(j0, j1):
                v = x[np.uintp(xr + j)]
                first = base + s * j
                for t in range(s):
                    out[np.uintp(first + t)] = v * w[np.uintp(wt + t)] + bv


@jit
def winograd_input(x, channels_first, n0, n1, ty0, ty1, tw, step, pad_h, pad_w, band, v):
    """Winograd input transform, V = B^T d B for every 4x4 input tile d of a unit of work.

    x: (N, C, H, W) when ``channels_first``, else (N, H, W, C) (zero outside); tile (n, ty, tx) is
    the window at rows ``step*ty - pad_h`` and columns ``step*tx - pad_w`` (``step`` = 2 for
    F(2x2, 3x3), 3 for F(3x3, 2x2): both use the points 0, 1, -1 and infinity, so the same
    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]). The unit is samples
    ``n0:n1`` and tile rows ``ty0:ty1``; v: (16, T, C), tile ``((n - n0)*(ty1 - ty0) + ty - ty0)*tw + tx``.

    Each sample's input rows under the unit are first copied channels-last into ``band`` (a flat
    buffer of at least ``(step*(ty1 - ty0) + 4)*W*C`` elements), so that every later loop runs along
    the channels (contiguous: it vectorises whatever the image size). Elements are indexed
    directly, with no array views in the loops (a view costs reference counting).
    """
    if channels_first:
        c_count, h, w = x.shape[1], x.shape[2], x.shape[3]
    else:
        h, w, c_count = x.shape[1], x.shape[2], x.shape[3]
    rows = ty1 - ty0
    r_lo = max(0, step * ty0 - pad_h)
    r_hi = max(r_lo, min(h, step * (ty1 - 1) + 4 - pad_h))
    rows_in = r_hi - r_lo
    local = band[: rows_in * w * c_count].reshape(rows_in, w, c_count)
    d = np.empty((4, 4, c_count), dtype=v.dtype)
    e = np.empty((4, 4, c_count), dtype=v.dtype)
    for n in range(n0, n1):
        if channels_first:  # each row's (C, W) -> (W, C), 64 channels at a time
            for rr in range(rows_in):
                tile_transpose(x[n, :, r_lo + rr, :], local[rr], 0, c_count)
        else:
            for rr in range(rows_in):
                for q in range(w):
                    for c in range(c_count):
                        local[rr, q, c] = x[n, r_lo + rr, q, c]
        for ty in range(ty0, ty1):
            for tx in range(tw):
                tile = ((n - n0) * rows + ty - ty0) * tw + tx
                for i in range(4):
                    r = step * ty + i - pad_h
                    for j in range(4):
                        q = step * tx + j - pad_w
                        if r < r_lo or r >= r_hi or q < 0 or q >= w:
                            for c in range(c_count):
                                d[i, j, c] = 0
                        else:
                            for c in range(c_count):
                                d[i, j, c] = local[r - r_lo, q, c]
                for j in range(4):  # e = B^T d
                    for c in range(c_count):
                        e[0, j, c] = d[0, j, c] - d[2, j, c]
                        e[1, j, c] = d[1, j, c] + d[2, j, c]
                        e[2, j, c] = d[2, j, c] - d[1, j, c]
                        e[3, j, c] = d[1, j, c] - d[3, j, c]
                for i in range(4):  # v = e B
                    for c in range(c_count):
                        v[4 * i, tile, c] = e[i, 0, c] - e[i, 2, c]
                        v[4 * i + 1, tile, c] = e[i, 1, c] + e[i, 2, c]
                        v[4 * i + 2, tile, c] = e[i, 2, c] - e[i, 1, c]
                        v[4 * i + 3, tile, c] = e[i, 1, c] - e[i, 3, c]


@jit
def winograd_output(m, n0, n1, ty0, ty1, tw, step, s, off_h, off_w, lead_h, lead_w, bias, out, channels_first):
    """Winograd output transform, Y = A^T M A + bias, of a unit of work (:func:`winograd_input`'s).

    m: (16, T, P*C_out), the products of the unit's tiles, P = s*s output phases in the columns
    ``(ph*s + pw)*C_out + co``; ``step`` outputs per tile and axis: A^T = [[1, 1, 1, 0],
    [0, 1, -1, -1]] for F(2x2, 3x3), [[1, 1, 1, 0], [0, 1, -1, 0], [0, 1, 1, -1]] for F(3x3, 2x2).
    Output ``i`` of tile row ``ty`` and phase ``ph`` is output row ``s*(step*ty + i) + lead_h[ph] -
    off_h`` (``lead_h[ph]`` is ``ph`` but where the tiles follow the output rows: ``_axis_tiles`` of
    :mod:`tconv._algorithms.winograd`; rows outside the output are dropped), and the same along the
    columns. Each row of tiles is assembled channels-last in a local (s*step, s*step*tw, C_out)
    buffer (every loop along the channels), then written to out: (N, C_out, H, W) when
    ``channels_first`` (along its rows), else (N, H, W, C_out).
    """
    c_out = bias.shape[0]
    if channels_first:
        h, w = out.shape[2], out.shape[3]
    else:
        h, w = out.shape[1], out.shape[2]
    rows = ty1 - ty0
    span = s * step
    y = np.empty((span, span * tw, c_out), dtype=m.dtype)
    t = np.empty((3, 4, c_out), dtype=m.dtype)
    for n in range(n0, n1):
        for ty in range(ty0, ty1):
            for tx in range(tw):
                tile = ((n - n0) * rows + ty - ty0) * tw + tx
                for ph in range(s):
                    for pw in range(s):
                        base = (ph * s + pw) * c_out
                        for j in range(4):  # t = A^T M (unsigned channel index: module docstring)
                            if step == 2:
                                for c in range(c_out):
                                    mc = np.uintp(base + c)
                                    a1, a2 = m[4 + j, tile, mc], m[8 + j, tile, mc]
                                    t[0, j, c] = m[j, tile, mc] + a1 + a2
                                    t[1, j, c] = a1 - a2 - m[12 + j, tile, mc]
                            else:
                                for c in range(c_out):
                                    mc = np.uintp(base + c)
                                    a1, a2 = m[4 + j, tile, mc], m[8 + j, tile, mc]
                                    t[0, j, c] = m[j, tile, mc] + a1 + a2
                                    t[1, j, c] = a1 - a2
                                    t[2, j, c] = a1 + a2 - m[12 + j, tile, mc]
                        for i in range(step):  # y = t A + bias, at this phase's places
                            yr = s * i + lead_h[ph]
                            q = s * step * tx + lead_w[pw]
                            if step == 2:
                                for c in range(c_out):
                                    t1, t2 = t[i, 1, c], t[i, 2, c]
                                    y[yr, q, c] = t[i, 0, c] + t1 + t2 + bias[c]
                                    y[yr, q + s, c] = t1 - t2 - t[i, 3, c] + bias[c]
                            else:
                                for c in range(c_out):
                                    t1, t2 = t[i, 1, c], t[i, 2, c]
                                    y[yr, q, c] = t[i, 0, c] + t1 + t2 + bias[c]
                                    y[yr, q + s, c] = t1 - t2 + bias[c]
                                    y[yr, q + 2 * s, c] = t1 + t2 - t[i, 3, c] + bias[c]
            for yr in range(span):
                r = span * ty + yr - off_h
                if r < 0 or r >= h:
                    continue
                if channels_first:  # (W, C_out) -> (C_out, W)
                    tile_transpose(y[yr, off_w : off_w + w], out[n, :, r, :], 0, w)
                else:
                    for q in range(w):
                        for c in range(c_out):
                            out[n, r, q, c] = y[yr, q + off_w, c]


@inline
def _store_blocks(acc, dst, p, phases, block):
    """Phase ``p``'s transformed weights ``acc`` (one per output channel) into their columns ``dst`` of
    the transformed weight: blocks of ``block`` channels, each block's columns phase by phase
    (channel ``c0 + j`` of the block at ``c0`` in column ``c0*phases + p*width + j``)."""
    c_out = acc.shape[0]
    for c0 in range(0, c_out, block):
        width = min(block, c_out - c0)
        base = c0 * phases + p * width
        target, source = dst[base : base + width], acc[c0 : c0 + width]  # views: see the module docstring
        for j in range(width):
            target[j] = source[j]


@jit
def winograd_weight(w, s, gm, block, shift_h, shift_w, u, ci0, ci1):
    """Winograd weight transform, U = G g G^T in double precision, of every (phase, C_in, C_out) triple.

    w: (C_in, C_out, k, k), the transposed-convolution weight as it is (C-contiguous); each input
    channel's ``C_out*k*k`` values, one contiguous run, are first copied into ``local`` with the
    channel axis last (so that the loops along ``co`` read and write runs, and vectorise; a
    ``moveaxis`` copy of the whole weight beforehand took 0.67 ms of a 2 MiB weight's 1.5); gm: (4, r)
    the transform G (float64: ``G_2`` or ``G_3`` of :mod:`tconv._algorithms.winograd`, whose entries
    are 0, 1 and +-1/2); u: (16, C_in, s*s*C_out) for input channels ``ci0:ci1``. Its columns are blocks
    of ``block`` output channels, each block's columns phase by phase: channel ``co = b*block + j`` of
    phase ``p = ph*s + pw`` is column ``b*P*block + p*width + j`` with ``width`` the block's channels (so
    a block of channels, all phases, is a contiguous range of columns, and each phase's part of it
    too). Phase (ph, pw)'s correlation kernel is ``g[jh, jw] = w[ci, co, ph + s*(r-1-jh), pw + s*(r-1-jw)]``
    (stride 1, r = 3: the flipped kernel; stride 2, r = 2: one of the four 2x2 phases of a k4 kernel;
    stride 2, r = 3: one of a k5 kernel's, whose taps past the kernel are zero), or with ``r-2-jh``
    where ``shift_h[ph]`` is 1 (a phase whose outputs sit one position back in the tile), and the same
    along the columns.

    Computed as ``t = G g`` (``t[a, jw]``, four rows), then ``U[4a + b] = (t G^T)[a, b]``, each pass
    writing all the rows it can from one read of its inputs (the two products of ``G`` by rows of
    ``r`` values, written out); every term is a weight times 0, 1 or +-1/2 (exact), summed in double
    precision, and a float32 weight's rounded once when stored: the same float32 values, bit for bit,
    as summing all ``r*r`` terms of each entry at once on 437 million entries of random layers (checked
    against a long-double computation too), which took 1.7 ms of one core on a 256 -> 128 k4 s2 weight,
    1.3 this way; a double-precision sum is exact unless its terms differ by many orders of magnitude,
    and on weights scaled by factors of up to e^60 a few entries in a million differed in the last
    bit. A float64 weight's entries differ from that order's in the last bits, both within 4 units of
    the last place of their sum of magnitudes.
    """
    c_out, k_h, k_w = w.shape[1], w.shape[2], w.shape[3]
    r = gm.shape[1]
    phases = s * s
    # tap kh at local[s + kh]: zeros past the kernel (k = 2s + 1 < 3s) and before it (a shifted phase)
    local = np.zeros((s * (r + 1), s * (r + 1), c_out))
    t = np.empty((4, r, c_out))  # t[a, jw] = sum over jh of G[a, jh] g[jh, jw]
    res = np.empty((16, c_out))  # U[4a + b] of one phase, every output channel
    for ci in range(ci0, ci1):
        for co in range(c_out):
            for kh in range(k_h):
                for kw in range(k_w):
                    local[s + kh, s + kw, co] = w[ci, co, kh, kw]
        for ph in range(s):
            top = s + ph - s * shift_h[ph]  # local row of g[r-1, :]
            for pw in range(s):
                p = ph * s + pw
                for jw in range(r):
                    kw = s + pw + s * (r - 1 - shift_w[pw] - jw)
                    first, last = local[top + s * (r - 1), kw], local[top, kw]  # g[0, jw], g[r-1, jw]
                    t0, t1, t2, t3 = t[0, jw], t[1, jw], t[2, jw], t[3, jw]
                    if r == 3:
                        middle = local[top + s, kw]  # g[1, jw]
                        for co in range(c_out):
                            t0[co] = first[co]
                            t1[co] = 0.5 * first[co] + 0.5 * middle[co] + 0.5 * last[co]
                            t2[co] = 0.5 * first[co] - 0.5 * middle[co] + 0.5 * last[co]
                            t3[co] = last[co]
                    else:
                        for co in range(c_out):
                            t0[co] = first[co]
                            t1[co] = 0.5 * first[co] + 0.5 * last[co]
                            t2[co] = 0.5 * first[co] - 0.5 * last[co]
                            t3[co] = last[co]
                # the same product by G as above, on t's rows: written out twice on purpose, since one
                # helper for both passes (numba-inlined or called, or one loop choosing its rows) made
                # this kernel 1.3-2x slower (measured on 2-d weights of 17-256 output channels)
                for a in range(4):
                    x0, x1 = t[a, 0], t[a, r - 1]
                    r0, r1, r2, r3 = res[4 * a], res[4 * a + 1], res[4 * a + 2], res[4 * a + 3]
                    if r == 3:
                        xm = t[a, 1]
                        for co in range(c_out):
                            r0[co] = x0[co]
                            r1[co] = 0.5 * x0[co] + 0.5 * xm[co] + 0.5 * x1[co]
                            r2[co] = 0.5 * x0[co] - 0.5 * xm[co] + 0.5 * x1[co]
                            r3[co] = x1[co]
                    else:
                        for co in range(c_out):
                            r0[co] = x0[co]
                            r1[co] = 0.5 * x0[co] + 0.5 * x1[co]
                            r2[co] = 0.5 * x0[co] - 0.5 * x1[co]
                            r3[co] = x1[co]
                for ab in range(16):
                    _store_blocks(res[ab], u[ab, ci], p, phases, block)


@jit
def winograd_input_1d(x, channels_first, n0, n1, t0, t1, step, pad, band, v):
    """:func:`winograd_input` along one axis: V = B^T d for every 4-element input tile d.

    x: (N, C, L) when ``channels_first``, else (N, L, C); tile ``t`` of sample ``n`` is the window at
    ``step*t - pad`` (zero outside); the unit is samples ``n0:n1`` and tiles ``t0:t1``; v: (4, T, C),
    tile ``(n - n0)*(t1 - t0) + t - t0``. Each sample's input under the unit is first copied
    channels-last into ``band`` (at least ``(step*(t1 - t0) + 4)*C`` elements).
    """
    if channels_first:
        c_count, length = x.shape[1], x.shape[2]
    else:
        length, c_count = x.shape[1], x.shape[2]
    tiles = t1 - t0
    lo = max(0, step * t0 - pad)
    hi = max(lo, min(length, step * (t1 - 1) + 4 - pad))
    local = band[: (hi - lo) * c_count].reshape(hi - lo, c_count)
    d = np.empty((4, c_count), dtype=v.dtype)
    for n in range(n0, n1):
        if channels_first:  # (C, L) -> (L, C), 64 channels at a time
            tile_transpose(x[n, :, lo:hi], local, 0, c_count)
        else:
            for q in range(hi - lo):
                for c in range(c_count):
                    local[q, c] = x[n, lo + q, c]
        for t in range(t0, t1):
            tile = (n - n0) * tiles + t - t0
            for j in range(4):
                q = step * t + j - pad
                if q < lo or q >= hi:
                    for c in range(c_count):
                        d[j, c] = 0
                else:
                    for c in range(c_count):
                        d[j, c] = local[q - lo, c]
            for c in range(c_count):  # v = B^T d
                v[0, tile, c] = d[0, c] - d[2, c]
                v[1, tile, c] = d[1, c] + d[2, c]
                v[2, tile, c] = d[2, c] - d[1, c]
                v[3, tile, c] = d[1, c] - d[3, c]


@jit
def winograd_output_1d(m, n0, n1, t0, t1, step, s, off, lead, bias, out, channels_first):
    """:func:`winograd_output` along one axis: Y = A^T M + bias for every tile of a unit.

    m: (4, T, s*C_out), phase ``p``'s columns ``p*C_out:(p+1)*C_out``; output ``i`` of tile ``t`` and
    phase ``p`` is output ``s*(step*t + i) + lead[p] - off`` of out: (N, C_out, L) when ``channels_first``,
    else (N, L, C_out) (outputs outside it are dropped). The outputs of 64 tiles at a time are
    assembled channels-last in a local buffer and written once.
    """
    c_out = bias.shape[0]
    length = out.shape[2] if channels_first else out.shape[1]
    tiles = t1 - t0
    span = s * step
    chunk = 64
    y = np.empty((span * chunk, c_out), dtype=m.dtype)
    for n in range(n0, n1):
        for a0 in range(t0, t1, chunk):
            a1 = min(t1, a0 + chunk)
            for t in range(a0, a1):
                tile = (n - n0) * tiles + t - t0
                for p in range(s):
                    base = p * c_out
                    r = span * (t - a0) + lead[p]
                    if step == 2:  # (unsigned channel index: module docstring)
                        for c in range(c_out):
                            mc = np.uintp(base + c)
                            m1, m2 = m[1, tile, mc], m[2, tile, mc]
                            y[r, c] = m[0, tile, mc] + m1 + m2 + bias[c]
                            y[r + s, c] = m1 - m2 - m[3, tile, mc] + bias[c]
                    else:
                        for c in range(c_out):
                            mc = np.uintp(base + c)
                            m1, m2 = m[1, tile, mc], m[2, tile, mc]
                            y[r, c] = m[0, tile, mc] + m1 + m2 + bias[c]
                            y[r + s, c] = m1 - m2 + bias[c]
                            y[r + 2 * s, c] = m1 + m2 - m[3, tile, mc] + bias[c]
            o0 = span * a0 - off  # the output of the buffer's first row
            first = max(0, o0)
            last = min(length, o0 + span * (a1 - a0))
            if channels_first:  # (L, C_out) -> (C_out, L)
                tile_transpose(y[first - o0 : last - o0], out[n, :, first:last], 0, last - first)
            else:
                for o in range(first, last):
                    for c in range(c_out):
                        out[n, o, c] = y[o - o0, c]


@jit
def winograd_weight_1d(w, s, gm, block, shift, u, ci0, ci1):
    """:func:`winograd_weight` along one axis: U = G g in double precision, for input channels
    ``ci0:ci1``. w: (C_in, C_out, k) as it is (C-contiguous); u: (4, C_in, s*C_out) with the columns of
    :func:`winograd_weight` (blocks of ``block`` output channels, phase by phase within a block);
    phase ``p``'s correlation kernel is ``g[j] = w[ci, co, p + s*(r-1-shift[p]-j)]`` (zero outside the
    kernel)."""
    c_out, k_w = w.shape[1], w.shape[2]
    r = gm.shape[1]
    acc = np.empty(c_out)
    local = np.zeros((s * (r + 1), c_out))  # tap k at local[s + k]: zeros outside the kernel
    for ci in range(ci0, ci1):
        for co in range(c_out):
            for k in range(k_w):
                local[s + k, co] = w[ci, co, k]
        for p in range(s):
            for a in range(4):
                for co in range(c_out):
                    acc[co] = 0.0
                for j in range(r):
                    coefficient = gm[a, j]
                    if coefficient != 0.0:
                        k = s + p + s * (r - 1 - shift[p] - j)
                        for co in range(c_out):
                            acc[co] += coefficient * local[k, co]
                _store_blocks(acc, u[a, ci], p, s, block)


#: Output channels per register tile of :func:`register_tiles`: one 512-bit vector of float32 (two 256-bit
#: ones without AVX-512).
TILE_LANES = 16
#: Output pixels per register tile: its accumulators, one vector each, with the weight vector and the
#: broadcast input in the 32 registers of AVX-512 (12 + 2); 6 in the 16 of AVX2, where a 16-lane vector
#: takes two. Measured on a 21 -> 16 channel k7 layer (8 x 66^2, Xeon with AVX-512, two threads): 6
#: pixels 205 GF/s, 8 185, 12 241, 14 223, 16 209 (PyTorch's oneDNN 206-211 in the same runs).
TILE_PIXELS = 12 if _host_has_avx512() else 6
#: Output pixels per tile at the end of a row, after the tiles of :data:`TILE_PIXELS`: one of 8 where more
#: than 4 are left, then tiles of 4 (a row of 32: 12 + 12 + 8 rather than 12 + 12 + 4 + 4).
TILE_HALF = 8
TILE_TAIL = 4


def _register_tile(pixels: int, lanes: int, double: bool = False):
    """An intrinsic ``tile(x, base, taps, weights, t0, t1, count, step, w, w0, acc)``: the sums of
    ``pixels`` output pixels times ``lanes`` output channels, each held in a vector register
    (``<lanes x float>``)::

        acc[p*lanes + c] = sum over t in t0:t1, i of
            x[base + taps[t] + i + p*step] * w[w0 + (weights[t]*count + i)*lanes + c]

    for taps ``t`` (``taps[t]``: the offset of a kernel tap in the padded input ``x``, flat, float32;
    ``weights[t]``: its index in the packed weight) and ``count`` input channels ``i`` (contiguous in
    ``x``). Per term: one vector load of the weight, one broadcast of the input per pixel, one fused multiply-add
    per pixel (``llvm.fma``: one rounding per term, as PyTorch's kernels). numba's own loops kept such
    accumulators in memory (or, as scalars, did not vectorise them): 8-19 GF/s against 205-241 for
    this tile. ``double``: ``x``, ``w`` and ``acc`` float64, the sums ``<lanes x double>``
    (:func:`conv_double_tiles`)."""

    @intrinsic
    def tile(typingctx, x, base, taps, weights, t0, t1, count, step, w, w0, acc):
        i64t = types.int64
        signature = types.none(x, i64t, taps, weights, i64t, i64t, i64t, i64t, w, i64t, acc)

        def codegen(context, builder, sig, args):
            element = ir.DoubleType() if double else ir.FloatType()
            vector = ir.VectorType(element, lanes)
            xd = context.make_array(sig.args[0])(context, builder, args[0]).data
            table = context.make_array(sig.args[2])(context, builder, args[2]).data
            rows = context.make_array(sig.args[3])(context, builder, args[3]).data
            wd = context.make_array(sig.args[8])(context, builder, args[8]).data
            ad = context.make_array(sig.args[10])(context, builder, args[10]).data
            base, t0, t1, count, step, w0 = args[1], args[4], args[5], args[6], args[7], args[9]
            fma = _vector_fma(builder, lanes, element)
            zero = ir.Constant(vector, [0.0] * lanes)
            sums = [cgutils.alloca_once_value(builder, zero) for _ in range(pixels)]
            _tile_products(
                builder, fma, [[s] for s in sums], lanes, xd, table, rows, wd, base, t0, t1, count, count, step, w0
            )
            _store_vectors(builder, sums, ad, vector, 8 if double else 4)
            return context.get_dummy_value()

        return signature, codegen

    return tile


def tile_width(left: int) -> int:
    """The pixels of a row's next register tile with ``left`` outputs to go: :data:`TILE_PIXELS` while that
    many are left, then one of :data:`TILE_HALF` where more than :data:`TILE_TAIL` are left and it is the
    smaller, then :data:`TILE_TAIL` (a row of 32: 12 + 12 + 8; of 13: 12 + 4). Read by
    :func:`register_tiles` and by the cost model's share of a row's outputs
    (:func:`tconv._algorithms.registers.efficiency`)."""
    if left >= TILE_PIXELS:
        return TILE_PIXELS
    if left > TILE_TAIL and TILE_HALF < TILE_PIXELS:
        return TILE_HALF
    return TILE_TAIL


def _vector_fma(builder, lanes, element=None):
    """The ``llvm.fma`` of ``<lanes x float>`` vectors (of ``element``, an LLVM float type, when given),
    declared in the builder's module."""
    element = ir.FloatType() if element is None else element
    vector = ir.VectorType(element, lanes)
    name = "f64" if isinstance(element, ir.DoubleType) else "f32"
    return cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vector, [vector] * 3), f"llvm.fma.v{lanes}{name}"
    )


def _broadcast(builder, value, lanes):
    """``value`` (a float or a double) in every lane of a vector of its type."""
    vector = ir.VectorType(value.type, lanes)
    undef = ir.Constant(vector, ir.Undefined)
    splat = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
    return builder.shuffle_vector(builder.insert_element(undef, value, ir.Constant(ir.IntType(32), 0)), undef, splat)


def _tile_products(builder, fma, sums, lanes, xd, table, rows, wd, base, t0, t1, count, pitch, step, w0):
    """Emit the loop of a register tile's products (:func:`_register_tile`): for taps ``t0:t1`` and ``count``
    channels, per pixel's row of ``sums`` (vector allocas, ``V`` per pixel: ``V * lanes`` output channels,
    the packed weight's rows ``V * lanes`` wide) ``V`` weight vector loads, one broadcast and ``V`` fused
    multiply-adds per pixel."""
    i64 = ir.IntType(64)
    vector = ir.VectorType(xd.type.pointee, lanes)  # float32, or float64 in the double-precision tiles
    vectors = len(sums[0])
    width = ir.Constant(i64, vectors * lanes)
    with cgutils.for_range_slice(builder, t0, t1, ir.Constant(i64, 1), inc=True) as (tap, _):
        offset = builder.load(builder.gep(table, [tap]))
        x_row = builder.gep(xd, [builder.add(base, offset)])
        w_tap = builder.load(builder.gep(rows, [tap]))
        w_row = builder.gep(wd, [builder.add(w0, builder.mul(w_tap, builder.mul(pitch, width)))])
        with cgutils.for_range(builder, count) as channel:
            w_at = builder.gep(w_row, [builder.mul(channel.index, width)])
            weights = [
                builder.load(
                    builder.bitcast(builder.gep(w_at, [ir.Constant(i64, v * lanes)]), vector.as_pointer()), align=4
                )
                for v in range(vectors)
            ]
            x_at = builder.gep(x_row, [channel.index])
            for p, row in enumerate(sums):
                value = builder.load(builder.gep(x_at, [builder.mul(step, ir.Constant(i64, p))]))
                broadcast = _broadcast(builder, value, lanes)
                for s, weight in zip(row, weights):
                    builder.store(builder.call(fma, [broadcast, weight, builder.load(s)]), s)


def _store_vectors(builder, allocas, data, vector, align):
    """Emit the stores of the vector allocas, one after the other, from the pointer ``data``."""
    i64 = ir.IntType(64)
    for p, value in enumerate(allocas):
        target = builder.bitcast(builder.gep(data, [ir.Constant(i64, p * vector.count)]), vector.as_pointer())
        builder.store(builder.load(value), target, align=align)


@intrinsic
def _lane_dot(typingctx, x, x0, y, y0, count, acc):
    """``acc[l] += sum over i < count of double(x[x0 + 8*i + l] * y[y0 + 8*i + l])`` for the 8 lanes ``l``:
    each single-precision product rounded once (``<8 x float>`` multiplications) and widened, its lane's
    sum in double precision (``<8 x double>`` additions), the lanes' order fixed (not the compiler's).
    ``x``, ``y``: float32 (or both float64: products and sums in double precision) arrays, element
    offsets; ``acc``: float64, at least 8 entries."""
    if x.dtype != y.dtype or x.dtype not in (types.float32, types.float64):
        return None
    i64t = types.int64
    signature = types.none(x, i64t, y, i64t, i64t, acc)

    def codegen(context, builder, sig, args):
        f64, i64 = ir.DoubleType(), ir.IntType(64)
        single = sig.args[0].dtype == types.float32
        narrow, wide = ir.VectorType(ir.FloatType() if single else f64, 8), ir.VectorType(f64, 8)
        xd = context.make_array(sig.args[0])(context, builder, args[0]).data
        yd = context.make_array(sig.args[2])(context, builder, args[2]).data
        ad = context.make_array(sig.args[5])(context, builder, args[5]).data
        x0, y0, count = args[1], args[3], args[4]
        target = builder.bitcast(ad, wide.as_pointer())
        total = cgutils.alloca_once_value(builder, builder.load(target, align=8))
        with cgutils.for_range(builder, count) as loop:
            at = builder.mul(loop.index, ir.Constant(i64, 8))
            xs = builder.load(builder.bitcast(builder.gep(xd, [builder.add(x0, at)]), narrow.as_pointer()), align=4)
            ys = builder.load(builder.bitcast(builder.gep(yd, [builder.add(y0, at)]), narrow.as_pointer()), align=4)
            product = builder.fmul(xs, ys)
            if single:
                product = builder.fpext(product, wide)
            builder.store(builder.fadd(builder.load(total), product), total)
        builder.store(builder.load(total), target, align=8)
        return context.get_dummy_value()

    return signature, codegen


def _chunked_tile(pixels: int, lanes: int, vectors: int = 1):
    """An intrinsic ``tile(x, base, taps, weights, chunks, pitch, step, w, w0, total)``: :func:`_register_tile`'s
    sums for ``vectors * lanes`` output channels (``W``), each chunk's in single precision and their sum in
    double precision::

        total[p*W + c] = sum over chunks (t0, t1, i0, count) of (the single-precision sum over t in
            t0:t1, i in i0:i0 + count of x[base + taps[t] + i + p*step] * w[w0 + (weights[t]*pitch + i)*W + c])

    ``chunks``: a C-contiguous ``(C, 4)`` int64 array; ``total``: float64. Each pixel holds ``vectors``
    vectors of single-precision sums in registers and twice as many of double-precision ones: one vector
    and at most 8 pixels keep both in registers (12 spilled on AVX-512); with two vectors of 12 pixels
    (:data:`MIXED_VECTORS`, :data:`TILE_PIXELS`) the double-precision ones live in the stack frame, in the
    core's first-level cache, as :func:`mixed_product`'s. Against each chunk's tile stored and added into
    the sums by a loop, A/B in alternating processes on five layers' input gradients: 0.9-1.35x, mostly
    1.05-1.15x (this machine is noisy)."""

    @intrinsic
    def tile(typingctx, x, base, taps, weights, chunks, pitch, step, w, w0, total):
        i64t = types.int64
        signature = types.none(x, i64t, taps, weights, chunks, i64t, i64t, w, i64t, total)

        def codegen(context, builder, sig, args):
            f32, f64, i64 = ir.FloatType(), ir.DoubleType(), ir.IntType(64)
            vector, wide = ir.VectorType(f32, lanes), ir.VectorType(f64, lanes)
            xd = context.make_array(sig.args[0])(context, builder, args[0]).data
            table = context.make_array(sig.args[2])(context, builder, args[2]).data
            rows = context.make_array(sig.args[3])(context, builder, args[3]).data
            chunk_array = context.make_array(sig.args[4])(context, builder, args[4])
            cd = chunk_array.data
            n_chunks = cgutils.unpack_tuple(builder, chunk_array.shape)[0]
            wd = context.make_array(sig.args[7])(context, builder, args[7]).data
            td = context.make_array(sig.args[9])(context, builder, args[9]).data
            base, pitch, step, w0 = args[1], args[5], args[6], args[8]
            fma = _vector_fma(builder, lanes)
            zero = ir.Constant(vector, [0.0] * lanes)
            sums = [[cgutils.alloca_once_value(builder, zero) for _ in range(vectors)] for _ in range(pixels)]
            totals = [
                [cgutils.alloca_once_value(builder, ir.Constant(wide, [0.0] * lanes)) for _ in range(vectors)]
                for _ in range(pixels)
            ]
            width = ir.Constant(i64, vectors * lanes)
            with cgutils.for_range(builder, n_chunks) as chunk:
                row = builder.mul(chunk.index, ir.Constant(i64, 4))
                t0, t1, i0, count = (
                    builder.load(builder.gep(cd, [builder.add(row, ir.Constant(i64, j))])) for j in range(4)
                )
                for s in (s for pixel in sums for s in pixel):
                    builder.store(zero, s)
                chunk_base = builder.add(base, i0)
                chunk_w0 = builder.add(w0, builder.mul(i0, width))
                _tile_products(
                    builder, fma, sums, lanes, xd, table, rows, wd, chunk_base, t0, t1, count, pitch, step, chunk_w0
                )
                for s, t in zip((s for pixel in sums for s in pixel), (t for pixel in totals for t in pixel)):
                    builder.store(builder.fadd(builder.load(t), builder.fpext(builder.load(s), wide)), t)
            _store_vectors(builder, [t for pixel in totals for t in pixel], td, wide, 8)
            return context.get_dummy_value()

        return signature, codegen

    return tile


_tile_width = inline(tile_width)
_tile = _register_tile(TILE_PIXELS, TILE_LANES)
_tile_half = _register_tile(TILE_HALF, TILE_LANES)
_tile_tail = _register_tile(TILE_TAIL, TILE_LANES)
#: Output pixels per tile of :func:`conv_register_tiles`' blocks of :data:`TILE_LANES` output channels (not
#: ``wide``), then :data:`TILE_TAIL` at a row's end: 8 with AVX-512, where each pixel's 16-lane vector of
#: single-precision sums and two of double-precision totals take 24 of the 32 registers; 6 without it, where
#: a 16-lane vector takes two of AVX2's 16 registers: with 8 pixels the 16 vectors of sums and the broadcast
#: did not fit, and LLVM kept three sums in the stack frame, stored and reloaded on every term (a
#: store-to-load chain in each term's fused multiply-adds). Measured on an AMD EPYC without AVX-512 (Zen 3),
#: one thread, the tile alone over the input gradients' own tables, alternating in one process: 6 pixels
#: 1.25x as fast per output as 8 on an 8-group k4 s2 layer (16-column chunks), 1.49x on FCN's x2
#: up-scoring (21 channels) and on a 32 -> 64 channel k4 s2 layer; 4 pixels as fast as 6.
CHUNK_PIXELS = TILE_HALF if _host_has_avx512() else TILE_PIXELS
_chunks_main = _chunked_tile(CHUNK_PIXELS, TILE_LANES)
_chunks_tail = _chunked_tile(TILE_TAIL, TILE_LANES)


@inline
def _store_tile(acc, bias, out, channels_first, n, r, o, c0, pixels, channels, lanes):
    """out[n, c0 + c, r, o + p] (channels-first) or out[n, r, o + p, c0 + c] = acc[p*lanes + c] + bias, the
    sum rounded to single precision before the bias is added (double-precision sums: the convolution's
    other paths add it to their rounded sums)."""
    if channels_first:
        for c in range(channels):
            dst = out[n, c0 + c, r]
            b = bias[c0 + c]
            for p in range(pixels):
                dst[o + p] = np.float32(acc[p * lanes + c]) + b
    else:
        for p in range(pixels):
            dst = out[n, r, o + p]
            for c in range(channels):
                dst[c0 + c] = np.float32(acc[p * lanes + c]) + bias[c0 + c]


@inline
def _tile_shapes(out, channels_first, c_in, groups, w, lanes):
    """The output's rows and last axis, a group's input and output channels, its blocks of ``lanes``
    output channels and each block's share of the packed weight ``w``."""
    if channels_first:
        c_out, rows, o_last = out.shape[1], out.shape[2], out.shape[3]
    else:
        rows, o_last, c_out = out.shape[1], out.shape[2], out.shape[3]
    cig, cog = c_in // groups, c_out // groups
    blocks = -(-cog // lanes)
    return rows, o_last, cig, cog, blocks, w.shape[0] // max(1, groups * blocks)


@jit
def register_tiles(
    xp, sample, row_base, row_class, class_taps, taps, weights, c_in, groups, w, bias, out, channels_first, task0, task1
):
    """A stride-1 transposed convolution as a direct correlation, in register tiles (:func:`_register_tile`).

    xp: the padded channels-last input, flat (sample ``n`` from ``n * sample``; plus slack for the last
    tile's reads past its row); row_base[r]: the offset of output row ``r``'s first window (rows: the
    output's leading axes, flattened); taps and weights: the flipped kernel's taps (their offsets in
    ``xp``, their indices in ``w``), in runs per class of rows: row ``r`` sums the taps
    ``class_taps[row_class[r]]:class_taps[row_class[r] + 1]``, those whose leading-axis positions fall
    on the input (not on the padding); ``c_in`` input channels in ``groups`` groups (a pixel's channels
    are ``c_in`` apart, a group's ``c_in / groups`` summed per tap); w: the packed weight (per group,
    blocks of :data:`TILE_LANES`
    output channels, kernel taps, the group's input channels, lanes), zero past each group's last
    channel; out: (N, C_out, R, O_last) when ``channels_first``, else (N, R, O_last, C_out). Tasks are
    (sample, row) pairs; each computes its row for every group and block of output channels (the row's
    input windows stay in cache across the blocks).
    """
    rows, o_last, cig, cog, blocks, per_block = _tile_shapes(out, channels_first, c_in, groups, w, TILE_LANES)
    acc = np.zeros(TILE_PIXELS * TILE_LANES, dtype=np.float32)
    for task in range(task0, task1):
        n = task // rows
        r = task - n * rows
        k = row_class[r]
        t0, t1 = class_taps[k], class_taps[k + 1]
        for g in range(groups):
            start = n * sample + row_base[r] + g * cig
            for b in range(blocks):
                c0 = g * cog + b * TILE_LANES
                channels = min(TILE_LANES, cog - b * TILE_LANES)
                w0 = (g * blocks + b) * per_block
                o = 0
                while o < o_last:
                    width = _tile_width(o_last - o)
                    if width == TILE_PIXELS:
                        _tile(xp, start + o * c_in, taps, weights, t0, t1, cig, c_in, w, w0, acc)
                    elif width == TILE_HALF:
                        _tile_half(xp, start + o * c_in, taps, weights, t0, t1, cig, c_in, w, w0, acc)
                    else:
                        _tile_tail(xp, start + o * c_in, taps, weights, t0, t1, cig, c_in, w, w0, acc)
                    _store_tile(
                        acc, bias, out, channels_first, n, r, o, c0, min(width, o_last - o), channels, TILE_LANES
                    )
                    o += width


@inline
def _task_span(task, segments, segment, rows, o_last):
    """A task of the conv tiles (:func:`conv_register_tiles`, :func:`conv_double_tiles`): its sample ``n``,
    output row ``r`` and outputs ``o_first:o_end`` along the row (``segments`` runs of ``segment`` a row)."""
    row_task = task // segments
    n = row_task // rows
    r = row_task - n * rows
    o_first = (task - row_task * segments) * segment
    return n, r, o_first, min(o_last, o_first + segment)


@inline
def _block_span(g, b, cog, lanes, blocks, per_block):
    """Block ``b`` of group ``g``'s output channels in the conv tiles: its first channel, its channels and its
    share of the packed weight's offset."""
    return g * cog + b * lanes, min(lanes, cog - b * lanes), (g * blocks + b) * per_block


@jit
def conv_register_tiles(
    xp, sample, row_base, taps, chunks, step, c_in, groups, w, bias, out, channels_first, wide, segment, task0, task1
):
    """A convolution (any stride) in register tiles (:func:`_chunked_tile`), each output the
    double-precision sum of single-precision chunks: the input gradient of a transposed convolution.

    xp: the padded channels-last input, flat (sample ``n`` from ``n * sample``; zeros where the
    convolution reads padding, and slack after it for the last tile's reads past its row); row_base[r]:
    the offset of output row ``r``'s first window; taps[t]: kernel tap ``t``'s offset in ``xp``;
    step: the offset between the windows of neighbouring outputs along the last axis (its stride times
    ``c_in``); chunks: ``(C, 4)`` rows ``(t0, t1, i0, count)``: taps ``t0:t1``, channels ``i0:i0 + count``
    of each, one single-precision sum each, added into the tile's double-precision sums; w: the packed
    weight (per group, blocks of ``L`` output channels, taps, the group's input channels, ``L`` lanes),
    zero past each group's last channel; out: (N, C_out, R, O_last) when ``channels_first``, else (N, R,
    O_last, C_out). Tasks are (sample, row, segment) triples: a row cut into runs of ``segment`` outputs.

    ``wide``: blocks of :data:`WIDE_LANES` output channels (``L``) in tiles of :data:`TILE_PIXELS`, then 8,
    then 4 outputs along the row, their double-precision sums in the stack frame (as :func:`mixed_product`'s
    tiles: a weight load per vector and an input broadcast feed :data:`MIXED_VECTORS` fused multiply-adds);
    else blocks of :data:`TILE_LANES` in tiles of :data:`CHUNK_PIXELS` outputs, then 4, all sums in registers
    (a load per multiply-add: the faster for few output channels per group).
    """
    lanes = WIDE_LANES if wide else TILE_LANES
    rows, o_last, cig, cog, blocks, per_block = _tile_shapes(out, channels_first, c_in, groups, w, lanes)
    # sized for the tiles of TILE_HALF outputs, which exceed TILE_PIXELS without AVX-512 (6): sized by
    # TILE_PIXELS, the tiles wrote past its end there (a heap corruption, found by a run of the gradients'
    # tests with the processor's AVX-512 hidden)
    total = np.zeros(max(TILE_PIXELS, TILE_HALF) * lanes, dtype=np.float64)
    weights = np.arange(taps.shape[0])
    segments = -(-o_last // segment)
    for task in range(task0, task1):
        n, r, o_first, o_end = _task_span(task, segments, segment, rows, o_last)
        for g in range(groups):
            start = n * sample + row_base[r] + g * cig
            for b in range(blocks):
                c0, channels, w0 = _block_span(g, b, cog, lanes, blocks, per_block)
                o = o_first
                while o < o_end:
                    base = start + o * step
                    if wide:
                        width = _tile_width(o_end - o)
                        if width == TILE_PIXELS:
                            _wide_chunks(xp, base, taps, weights, chunks, cig, step, w, w0, total)
                        elif width == TILE_HALF:
                            _wide_chunks_half(xp, base, taps, weights, chunks, cig, step, w, w0, total)
                        else:
                            _wide_chunks_tail(xp, base, taps, weights, chunks, cig, step, w, w0, total)
                    else:
                        width = CHUNK_PIXELS if o_end - o > TILE_TAIL else TILE_TAIL
                        if width == CHUNK_PIXELS:
                            _chunks_main(xp, base, taps, weights, chunks, cig, step, w, w0, total)
                        else:
                            _chunks_tail(xp, base, taps, weights, chunks, cig, step, w, w0, total)
                    _store_tile(total, bias, out, channels_first, n, r, o, c0, min(width, o_end - o), channels, lanes)
                    o += width


#: Output channels (lanes of double precision) and output pixels per tile of :func:`conv_double_tiles`: 8 lanes,
#: two 256-bit vectors a pixel and 6 pixels in AVX2's 16 registers (12 of sums, two of the weight, a
#: broadcast), one 512-bit vector a pixel and 12 pixels with AVX-512 (as the single-precision tiles of
#: :data:`TILE_PIXELS`); at a row's end tiles of :data:`TILE_HALF` and :data:`TILE_TAIL` (:func:`tile_width`,
#: the last one reading past the row into the padded input's slack), not of one pixel: dcgan-4's rows of
#: 32 outputs were 12 + 12 + 8 tiles of one (a quarter of the outputs at a twelfth of the rate), its input
#: gradient 2.95-3.39 -> 2.24-2.54 ms (Xeon with AVX-512, two threads, min and median of 15 alternating
#: calls). Measured on Zen 3, one thread: 20-23 GF/s on a 3-channel input gradient (48 terms), half the
#: double-precision peak: each tap's loop of 3 channels.
DOUBLE_LANES = 8
DOUBLE_PIXELS = TILE_PIXELS
_double_tile = _register_tile(DOUBLE_PIXELS, DOUBLE_LANES, double=True)
_double_half = _register_tile(TILE_HALF, DOUBLE_LANES, double=True)
_double_tail = _register_tile(TILE_TAIL, DOUBLE_LANES, double=True)


@jit
def conv_double_tiles(
    xp, sample, row_base, taps, step, c_in, groups, w, bias, out, channels_first, segment, task0, task1
):
    """A convolution (any stride) in register tiles of double-precision sums: each output the sum of its
    single-precision terms' exact products (``xp`` and ``w`` hold float32 values as float64), rounded once
    when stored -- the input gradient's one double-precision product (few terms: a 3-channel k4 layer's
    48), without converting a GEMM's columns or multiplying at a short double-precision GEMM's rate.

    The arguments are :func:`conv_register_tiles`' (no chunks: one sum over all taps and a group's
    channels); ``xp`` and ``w`` float64, the weight packed in blocks of :data:`DOUBLE_LANES` output
    channels; tiles of :data:`DOUBLE_PIXELS` outputs along the row, then of :func:`tile_width`'s smaller
    widths (the last one's reads past the row land in the padded input's slack, its sums not stored)."""
    rows, o_last, cig, cog, blocks, per_block = _tile_shapes(out, channels_first, c_in, groups, w, DOUBLE_LANES)
    total = np.zeros(max(DOUBLE_PIXELS, TILE_HALF) * DOUBLE_LANES, dtype=np.float64)
    weights = np.arange(taps.shape[0])
    n_taps = taps.shape[0]
    segments = -(-o_last // segment)
    for task in range(task0, task1):
        n, r, o_first, o_end = _task_span(task, segments, segment, rows, o_last)
        for g in range(groups):
            start = n * sample + row_base[r] + g * cig
            for b in range(blocks):
                c0, channels, w0 = _block_span(g, b, cog, DOUBLE_LANES, blocks, per_block)
                o = o_first
                while o < o_end:
                    base = start + o * step
                    width = _tile_width(o_end - o)
                    if width == DOUBLE_PIXELS:
                        _double_tile(xp, base, taps, weights, 0, n_taps, cig, step, w, w0, total)
                    elif width == TILE_HALF:
                        _double_half(xp, base, taps, weights, 0, n_taps, cig, step, w, w0, total)
                    else:
                        _double_tail(xp, base, taps, weights, 0, n_taps, cig, step, w, w0, total)
                    _store_tile(
                        total, bias, out, channels_first, n, r, o, c0, min(width, o_end - o), channels, DOUBLE_LANES
                    )
                    o += width


#: Rows of ``A`` per register tile of :func:`mixed_product` and vectors of :data:`TILE_LANES` columns per row:
#: 12 x 2 vectors of single-precision sums with two weight vectors and a broadcast in the 32 registers of
#: AVX-512 (the double-precision totals live in the stack frame, in the core's first-level cache); 6 x 1 in
#: the 16 of AVX2, where a vector of 16 lanes takes two registers. Measured on AVX-512 (Xeon, one thread,
#: ``A`` 1008 x 2048 times a packed 2048 x 256 in 64-term chunks): 12 x 2 116-130 GF/s, 4 x 2 118, 8 x 1 95,
#: 12 x 1 84, 6 x 2 77, against MKL's SGEMM (no chunks) at 140-146 in the same runs.
MIXED_ROWS = 12 if _host_has_avx512() else 6
MIXED_VECTORS = 2 if _host_has_avx512() else 1
#: Columns of ``B`` per panel of :func:`mixed_pack` (one register tile's width).
MIXED_COLUMNS = MIXED_VECTORS * TILE_LANES


def _outer_term(builder, fma, sums, vector, a_row, ap, b_row):
    """Emit one term of a register tile of outer products (:func:`_mixed_tile`, :func:`_run_tile`): the
    ``V`` vectors of ``b`` from ``b_row`` (``sums[p]`` holds ``V`` vector allocas), then for each row ``p``
    the broadcast of ``a_row[p * ap]`` and its fused multiply-adds into ``sums[p]``."""
    i64, lanes = ir.IntType(64), vector.count
    values = [
        builder.load(builder.bitcast(builder.gep(b_row, [ir.Constant(i64, v * lanes)]), vector.as_pointer()), align=4)
        for v in range(len(sums[0]))
    ]
    for p, row in enumerate(sums):
        broadcast = _broadcast(builder, builder.load(builder.gep(a_row, [builder.mul(ap, ir.Constant(i64, p))])), lanes)
        for s, value in zip(row, values):
            builder.store(builder.call(fma, [broadcast, value, builder.load(s)]), s)


def _mixed_tile(rows: int, vectors: int, lanes: int = TILE_LANES):
    """An intrinsic ``tile(a, a0, ak, ap, b, b0, kc, step, total)``: a ``rows x (vectors * lanes)`` tile of a
    product whose terms are summed in single precision over chunks of ``step`` and the chunks' sums in double
    precision, all in registers::

        total[p*W + c] = sum over chunks [k0, k0 + step) of k in 0:kc of
            (the single-precision sum of a[a0 + k*ak + p*ap] * b[b0 + k*W + c], k in the chunk, in order)

    (``W = vectors * lanes``; ``a``: float32, element offsets; ``b``: a packed panel, :func:`mixed_pack`;
    ``total``: float64, written). Per term: ``vectors`` vector loads of ``b``, one broadcast of ``a`` per row
    and ``rows * vectors`` fused multiply-adds (``llvm.fma``: one rounding per term, as BLAS's kernels);
    per chunk, each row's sums widened and added to its double-precision totals."""

    @intrinsic
    def tile(typingctx, a, a0, ak, ap, b, b0, kc, step, total):
        i64t = types.int64
        signature = types.none(a, i64t, i64t, i64t, b, i64t, i64t, i64t, total)

        def codegen(context, builder, sig, args):
            f32, f64, i64 = ir.FloatType(), ir.DoubleType(), ir.IntType(64)
            vector, wide = ir.VectorType(f32, lanes), ir.VectorType(f64, lanes)
            ad = context.make_array(sig.args[0])(context, builder, args[0]).data
            bd = context.make_array(sig.args[4])(context, builder, args[4]).data
            td = context.make_array(sig.args[8])(context, builder, args[8]).data
            a0, ak, ap, b0, kc, step = args[1], args[2], args[3], args[5], args[6], args[7]
            fma = _vector_fma(builder, lanes)
            zero = ir.Constant(vector, [0.0] * lanes)
            sums = [[cgutils.alloca_once_value(builder, zero) for _ in range(vectors)] for _ in range(rows)]
            totals = [
                [cgutils.alloca_once_value(builder, ir.Constant(wide, [0.0] * lanes)) for _ in range(vectors)]
                for _ in range(rows)
            ]
            width = ir.Constant(i64, vectors * lanes)
            with cgutils.for_range_slice(builder, ir.Constant(i64, 0), kc, step, inc=True) as (k0, _):
                left = builder.sub(kc, k0)
                count = builder.select(builder.icmp_signed("<", left, step), left, step)
                for row in sums:
                    for s in row:
                        builder.store(zero, s)
                with cgutils.for_range(builder, count) as term:
                    k = builder.add(k0, term.index)
                    b_row = builder.gep(bd, [builder.add(b0, builder.mul(k, width))])
                    a_row = builder.gep(ad, [builder.add(a0, builder.mul(k, ak))])
                    _outer_term(builder, fma, sums, vector, a_row, ap, b_row)
                for p in range(rows):
                    for v in range(vectors):
                        t = totals[p][v]
                        builder.store(builder.fadd(builder.load(t), builder.fpext(builder.load(sums[p][v]), wide)), t)
            _store_vectors(builder, [t for row in totals for t in row], td, wide, 8)
            return context.get_dummy_value()

        return signature, codegen

    return tile


_mixed = _mixed_tile(MIXED_ROWS, MIXED_VECTORS)


def _run_tile(rows: int, vectors: int, lanes: int = TILE_LANES):
    """An intrinsic ``tile(a, a0, ak, b, b0, bk, count, acc)``: ``count`` terms of a ``rows x (vectors * lanes)``
    tile of single-precision sums, added to ``acc`` (float32, ``rows * W`` entries, ``W = vectors * lanes``,
    loaded first and stored back)::

        acc[p*W + c] += sum over k < count of a[a0 + k*ak + p] * b[b0 + k*bk + c]   (in order, fused)

    Both operands read where they lie, each along a line at its own stride (``ak``, ``bk``): the weight
    gradient's implicit columns (:func:`weight_run_tiles`). Per term ``vectors`` vector loads of ``b``, one
    broadcast of ``a`` per row, ``rows * vectors`` fused multiply-adds."""

    @intrinsic
    def tile(typingctx, a, a0, ak, b, b0, bk, count, acc):
        i64t = types.int64
        signature = types.none(a, i64t, i64t, b, i64t, i64t, i64t, acc)

        def codegen(context, builder, sig, args):
            i64 = ir.IntType(64)
            vector = ir.VectorType(ir.FloatType(), lanes)
            ad = context.make_array(sig.args[0])(context, builder, args[0]).data
            bd = context.make_array(sig.args[3])(context, builder, args[3]).data
            cd = context.make_array(sig.args[7])(context, builder, args[7]).data
            a0, ak, b0, bk, count = args[1], args[2], args[4], args[5], args[6]
            fma = _vector_fma(builder, lanes)
            sums = []
            for p in range(rows):
                row = []
                for v in range(vectors):
                    at = builder.bitcast(
                        builder.gep(cd, [ir.Constant(i64, (p * vectors + v) * lanes)]), vector.as_pointer()
                    )
                    row.append(cgutils.alloca_once_value(builder, builder.load(at, align=4)))
                sums.append(row)
            with cgutils.for_range(builder, count) as term:
                b_row = builder.gep(bd, [builder.add(b0, builder.mul(term.index, bk))])
                a_row = builder.gep(ad, [builder.add(a0, builder.mul(term.index, ak))])
                _outer_term(builder, fma, sums, vector, a_row, ir.Constant(i64, 1), b_row)
            _store_vectors(builder, [s for row in sums for s in row], cd, vector, 4)
            return context.get_dummy_value()

        return signature, codegen

    return tile


#: Rows (broadcast channels) of :func:`weight_run_tiles`' tiles and their 16-lane vectors: 8 x 2 (16 sums,
#: two loads and a broadcast of AVX-512's 32 registers), 4 x 1 without AVX-512 (a 16-lane vector is two of
#: AVX2's 16 registers).
RUN_ROWS = 8 if _host_has_avx512() else 4
RUN_VECTORS = 2 if _host_has_avx512() else 1
_run8 = _run_tile(RUN_ROWS, RUN_VECTORS)
_run4 = _run_tile(4, RUN_VECTORS)


@jit
def weight_run_tiles(
    av, a_line, a_step, bv, b_line, b_step, taps, o_last, chunk, rows, block, acc, wide, totals, task0, task1
):
    """A weight gradient in register tiles over its implicit columns: for each task, a kernel tap ``t`` and
    blocks of ``rows`` broadcast channels and ``W = RUN_VECTORS * 16`` vector channels, the sums over every
    position of ``a[pos, p] * b[pos + tap t, c]`` (``p`` the block's broadcast channels of the small side,
    ``c`` its vector channels of the big side, read in its padded copy at the tap's offset: implicit
    columns, as :func:`conv_register_tiles` reads them): one single-precision chain of fused
    multiply-adds per chunk of ``chunk`` positions (:func:`_run_tile`), the chunks' sums added in double
    precision into ``totals[t, p, c]`` (each task its own entries: the same sums on any threads).

    av, bv: flat float32, position ``j`` of line ``l`` (the small side's positions, lines along its last
    axis) at ``a_line[l] + j * a_step`` in ``a`` and ``b_line[l] + j * b_step`` in ``b`` (channels contiguous
    from there; padding and slack where a tap reads past); ``taps[t]`` added to ``b``'s address.
    ``block``: lines per block (each block's lines read by all the call's tasks in turn, while in cache);
    ``acc``, ``wide``: float32 and float64 scratch, ``(tasks, rows * W)``; totals: (Kv, P, C) float64,
    ``P`` and ``C`` padded to whole blocks."""
    p_blocks = totals.shape[1] // rows
    width = totals.shape[2]
    c_blocks = width // (RUN_VECTORS * 16)
    w = RUN_VECTORS * 16
    for task in range(task0, task1):
        sums, total = acc[task - task0], wide[task - task0]
        for i in range(rows * w):
            sums[i] = 0.0
            total[i] = 0.0
    filled = np.zeros(task1 - task0, dtype=np.int64)
    lines = a_line.shape[0]
    for first in range(0, lines, block):  # a block of lines, every task over it while it stays in cache
        for task in range(task0, task1):
            t = task // (p_blocks * c_blocks)
            rest = task - t * p_blocks * c_blocks
            pb = rest // c_blocks
            cb = rest - pb * c_blocks
            a_off = pb * rows
            b_off = cb * w + taps[t]
            sums, total = acc[task - task0], wide[task - task0]
            done = filled[task - task0]
            for line in range(first, min(lines, first + block)):
                a_base = a_line[line] + a_off
                b_base = b_line[line] + b_off
                j = 0
                while j < o_last:
                    run = min(o_last - j, chunk - done)
                    if rows == RUN_ROWS:
                        _run8(av, a_base + j * a_step, a_step, bv, b_base + j * b_step, b_step, run, sums)
                    else:
                        _run4(av, a_base + j * a_step, a_step, bv, b_base + j * b_step, b_step, run, sums)
                    j += run
                    done += run
                    if done == chunk:  # the chunk's single-precision sums into the double-precision ones
                        for i in range(rows * w):
                            total[i] += np.float64(sums[i])
                            sums[i] = 0.0
                        done = 0
            filled[task - task0] = done
    for task in range(task0, task1):
        t = task // (p_blocks * c_blocks)
        rest = task - t * p_blocks * c_blocks
        pb = rest // c_blocks
        cb = rest - pb * c_blocks
        sums, total = acc[task - task0], wide[task - task0]
        target = totals[t]
        for p in range(rows):
            for c in range(w):
                target[pb * rows + p, cb * w + c] = total[p * w + c] + np.float64(sums[p * w + c])


#: Output channels per block of :func:`conv_register_tiles`' wide tiles: :data:`MIXED_COLUMNS`.
WIDE_LANES = MIXED_COLUMNS
_wide_chunks = _chunked_tile(TILE_PIXELS, TILE_LANES, MIXED_VECTORS)
_wide_chunks_half = _chunked_tile(TILE_HALF, TILE_LANES, MIXED_VECTORS)
_wide_chunks_tail = _chunked_tile(TILE_TAIL, TILE_LANES, MIXED_VECTORS)


@jit
def mixed_pack(b, panels):
    """``b`` ``(K, N)`` (any strides) into ``panels`` ``(ceil(N / W), K, W)``, ``W`` = :data:`MIXED_COLUMNS`:
    ``panels[j, k, c] = b[k, j*W + c]``, zero past ``N``."""
    k_total, n = b.shape
    w = panels.shape[2]
    for j in range(panels.shape[0]):
        c0 = j * w
        width = min(w, n - c0)
        for k in range(k_total):
            src = b[k]
            dst = panels[j, k]
            for c in range(width):
                dst[c] = src[c0 + c]
            for c in range(width, w):
                dst[c] = 0.0


@jit
def mixed_product(a, panels, step, out):
    """``out[m, n] = a[m] @ b[:, n]`` for ``a`` ``(M, K)`` (float32, any positive strides), ``b`` given as its
    panels (:func:`mixed_pack`). Each sum is taken in single precision over chunks of ``step`` terms and the
    chunks' sums in double precision (:func:`_mixed_tile`), rounded once to ``out``'s dtype (``out``:
    ``(M, N)``, any strides). The loop runs over the panels, then the tiles of :data:`MIXED_ROWS` rows (a
    panel stays in cache for all the rows); the last rows, when fewer than a tile, are copied to a
    zero-padded tile of their own."""
    m, k_total = a.shape
    n = out.shape[1]
    rows, w = MIXED_ROWS, MIXED_COLUMNS
    a_row, a_col = a.strides[0] // 4, a.strides[1] // 4
    total = np.empty(rows * w, dtype=np.float64)
    whole = m // rows * rows
    edge = np.zeros((rows, k_total if whole < m else 0), dtype=np.float32)
    for p in range(m - whole):
        for k in range(k_total):
            edge[p, k] = a[whole + p, k]
    for j in range(panels.shape[0]):
        c0 = j * w
        width = min(w, n - c0)
        b0 = j * k_total * w
        for i in range(0, m, rows):
            if i < whole:
                _mixed(a, i * a_row, a_col, a_row, panels, b0, k_total, step, total)
            else:
                _mixed(edge, 0, 1, k_total, panels, b0, k_total, step, total)
            _mixed_store(total, out, i, min(rows, m - i), c0, width, w)


@inline
def _mixed_store(total, out, m, rows, c0, width, w):
    """out[m + p, c0 + c] = total[p*w + c] for ``rows`` x ``width`` entries, along ``out``'s shorter stride
    (a transposed view, a channels-first sample's rows: runs along the tile's rows, not one entry per
    row of the output, which put a 4 KiB stride between neighbouring stores)."""
    if out.strides[0] < out.strides[1]:
        for c in range(width):
            dst = out[m : m + rows, c0 + c]
            for p in range(rows):
                dst[p] = total[p * w + c]
    else:
        for p in range(rows):
            dst = out[m + p, c0 : c0 + width]
            for c in range(width):
                dst[c] = total[p * w + c]
