"""tconv._algorithms.compiled: the compiled transpose against NumPy's, on every branch it takes; the
keep-awake threads of the parallel calls and the pool threads' hand-off."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import tconv
from tconv._algorithms import compiled

# (N, A, B): both sides long (64-row tiles); a short side of 1, 3, 8, 21 and 32 entries, on small
# matrices (whole, or 64-row tiles: compiled.SHORT_BLOCKED) and on matrices above compiled.SHORT_MATRIX
# (blocks of the long side), both ways
SHAPES = [
    (2, 70, 130),
    (3, 1, 1000),
    (16, 3, 4096),
    (16, 4096, 3),
    (2, 3, 200_003),
    (5, 8, 40),
    (2, 8, 9000),
    (2, 9000, 8),
    (2, 21, 270_401),
    (2, 270_401, 21),
    (3, 32, 70_000),
    (3, 70_000, 32),
    (4, 33, 5000),
    (512, 256, 16),
    (4, 21, 1156),  # a short side of 16-32 below SHORT_MATRIX: 64-row blocks (SHORT_BLOCKED)
    (4, 1156, 21),
    (3, 256, 17),  # more rows than columns, at most SHORT_WHOLE entries: whole
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
def test_transpose_matches_numpy(shape, dtype):
    if not compiled.available():  # numba is part of the test dependencies
        pytest.fail("numba is not installed")
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape).astype(dtype)
    before = a.copy()
    out = compiled.transpose(a)
    assert out.shape == (shape[0], shape[2], shape[1]) and out.dtype == a.dtype
    assert np.array_equal(out, a.transpose(0, 2, 1))
    given = np.full_like(out, np.nan)
    assert compiled.transpose(a, out=given) is given
    assert np.array_equal(given, out)
    assert np.array_equal(a, before)


@pytest.mark.parametrize("shape", [(2, 21, 270_401), (3, 70_000, 32), (2, 8, 9000)])
def test_large_matrices_with_a_short_side_run_in_blocks(shape, monkeypatch):
    """Those matrices take the blocked kernel (short side 8-32, larger than SHORT_MATRIX); the result is
    checked above."""
    calls = []
    kernels = compiled.kernels()

    def spy(*args):
        calls.append(args[2])  # the block length
        return kernels["short_transpose_blocked"](*args)

    monkeypatch.setattr(compiled, "kernels", lambda: {**kernels, "short_transpose_blocked": spy})
    a = np.ones(shape, dtype=np.float32)
    compiled.transpose(a)
    assert calls and set(calls) == {compiled.SHORT_BLOCK}


@pytest.mark.parametrize(
    "shape, kernel",
    [
        ((4, 21, 1156), "batched_transpose"),
        ((4, 1156, 21), "batched_transpose"),
        ((3, 256, 17), "small_transpose"),
        ((3, 17, 256), "batched_transpose"),
        ((4, 8, 1156), "small_transpose"),
        ((16, 3, 4096), "small_transpose"),
    ],
)
def test_small_matrices_with_a_short_side_take_the_measured_kernel(shape, kernel, monkeypatch):
    """Below SHORT_MATRIX, a short side of SHORT_BLOCKED or more takes the 64-row blocks, but for small
    matrices of more rows than columns (SHORT_WHOLE); fewer rows, matrix by matrix."""
    called = []
    kernels = compiled.kernels()

    def spy(name):
        def run(*args):
            called.append(name)
            return kernels[name](*args)

        return run

    spies = {name: spy(name) for name in ("small_transpose", "batched_transpose", "short_transpose_blocked")}
    monkeypatch.setattr(compiled, "kernels", lambda: {**kernels, **spies})
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    assert np.array_equal(compiled.transpose(a), a.transpose(0, 2, 1))
    assert set(called) == {kernel}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "rows, cols, a0, a1, pitch",
    [
        (64, 4096, 0, 64, 0),  # whole 16 x 16 tiles
        (37, 53, 0, 37, 0),  # tiles and edges both ways
        (70, 90, 5, 66, 11),  # a row range that starts off a tile, rows with a pitch wider than the view
        (15, 200, 0, 15, 0),  # fewer rows than a tile: all edges
        (40, 15, 3, 40, 0),  # fewer columns than a tile
    ],
)
def test_tile_transpose_on_views(rows, cols, a0, a1, pitch, dtype):
    """numba_kernels.tile_transpose (16 x 16 float32 tiles in registers, the 64-row runs otherwise): rows
    a0:a1 of any 2-d view into any view, every other entry of the destination left alone; a view whose
    rows are not contiguous takes the other path."""
    if not compiled.available():  # numba is part of the test dependencies
        pytest.fail("numba is not installed")
    import numba

    from tconv._algorithms import numba_kernels

    run = numba.njit(lambda s, d, a0, a1: numba_kernels.tile_transpose(s, d, a0, a1))
    rng = np.random.default_rng(rows + cols)
    base = rng.standard_normal((rows + 7, cols + pitch + 5)).astype(dtype)
    src = base[3 : 3 + rows, 2 : 2 + cols]
    before = base.copy()
    for strided in (False, True):
        view = base[3 : 3 + rows, 2 : 2 + 2 * cols : 2] if strided else src
        if strided and view.shape[1] < cols:
            continue
        target = np.full((cols + 9, rows + 13), np.nan, dtype=dtype)
        dst = target[4 : 4 + cols, 6 : 6 + rows]
        run(view, dst, a0, a1)
        expected = np.full_like(target, np.nan)
        expected[4 : 4 + cols, 6 : 6 + rows][:, a0:a1] = view[a0:a1].T
        np.testing.assert_array_equal(target, expected)
    np.testing.assert_array_equal(base, before)


# ------------------------------------------------------------------------------------- keep-awake threads


def _parallel_call(threads=2):
    """A parallel compiled call on ``threads`` threads (a transpose large enough to be split)."""
    a = np.ones((4, 1024, 1024), dtype=np.float32)
    with tconv.options(threads=threads):
        compiled.transpose(a)


def _awake_threads():
    return [t for t in threading.enumerate() if t.name.startswith("tconv-awake-")]


def test_keep_awake_threads_spin_at_idle_priority_and_stop_after_the_tail():
    if not compiled.available():  # numba is part of the test dependencies
        pytest.fail("numba is not installed")
    with tconv.options(keep_awake=0.01):
        _parallel_call()
        _parallel_call(threads=64)  # a thread per core at most, however many threads a call runs on
    threads = _awake_threads()
    if not hasattr(os, "SCHED_IDLE"):  # no idle priority (not Linux): no keep-awake threads at all
        assert threads == []
        return
    assert 2 <= len(threads) <= max(2, len(os.sched_getaffinity(0)))  # one per thread of the call, per core
    for thread in threads:  # they never take a core from a thread that wants it
        assert os.sched_getscheduler(thread.native_id) == os.SCHED_IDLE
    state = compiled._AWAKE.state
    assert state[0] == 0  # no call in progress: only the tail keeps them spinning
    time.sleep(0.05)  # past the 10 ms tail: every keep-awake thread blocks until the next call
    cpu = time.process_time()
    time.sleep(0.3)
    assert time.process_time() - cpu < 0.05  # an idle process: nothing spins (two spinning threads: 0.6 s)


def test_keep_awake_zero_spins_nothing():
    if not compiled.available():
        pytest.fail("numba is not installed")
    before = compiled._AWAKE.state.copy()
    with tconv.options(keep_awake=0):
        assert not compiled._AWAKE.begin(2, tconv.get_options().keep_awake)
        _parallel_call()
    assert compiled._AWAKE.state[0] == 0
    assert compiled._AWAKE.state[1] == before[1]  # no tail was set


def test_the_pool_tail_is_at_most_the_keep_awake_tail():
    """The pool threads spin for the next job, at normal priority, for compiled.POOL_TAIL after a call,
    or for keep_awake seconds if that is shorter; the idle-priority threads for the whole keep_awake."""
    if not compiled.available():
        pytest.fail("numba is not installed")
    rate = 4e9  # the most cycles a second the tails are computed with
    for seconds in (compiled.POOL_TAIL / 10, 0.01):
        time.sleep(0.05)  # past the tails of earlier calls (the state keeps the latest end)
        with tconv.options(keep_awake=seconds):
            now = compiled.kernels()["cycles"]()
            _parallel_call()
            after = compiled.kernels()["cycles"]()
        state = compiled._AWAKE.state
        assert now < state[1] <= after + seconds * rate
        assert now < state[3] <= after + min(seconds, compiled.POOL_TAIL) * rate
        assert state[3] <= state[1]


@pytest.fixture
def spinning(monkeypatch):
    """The pool spins (x86-64 Linux) whatever pool an earlier test grew: CPUs enough for it."""
    monkeypatch.setattr(compiled, "cores", lambda: len(compiled._THREADS) + 2)
    _parallel_call()  # a counted call
    assert compiled._AWAKE.spins() == bool(compiled._cpu_numbers_agree())


@pytest.mark.parametrize("keep_awake", [0.0, 0.002])
def test_every_pass_waits_for_the_pool_threads_that_joined_it(keep_awake, spinning):
    """Passes in quick succession (the pool threads spinning for them), pieces of compiled work and of
    sleeps longer than the caller spins before it blocks (keep_awake): every piece has run, once, when
    the pass returns, and an error in a pool thread's piece reaches the caller."""
    if not compiled.available():
        pytest.fail("numba is not installed")
    out = np.zeros((2, 64, 256), dtype=np.float32)
    helpers = set()
    caller = threading.get_ident()

    def piece(k, i, pause):
        if threading.get_ident() != caller:
            helpers.add(k)
        if pause:
            time.sleep(pause)
        compiled.transpose(np.full((1, 256, 64), i, dtype=np.float32), out=out[k : k + 1])

    with tconv.options(threads=2, keep_awake=keep_awake):
        for i in range(400):
            pause = 0.005 if i % 50 == 0 else 0.0  # 5 ms: longer than the caller's spin of 2 ms
            compiled.parallel_for(piece, [(0, i, pause), (1, i, pause)])
            assert (out == i).all(), i
        assert helpers  # the pool thread took part

        def failing(k):
            if threading.get_ident() != caller:
                raise ValueError("in a pool thread")
            time.sleep(0.05)  # the pool thread takes the other piece meanwhile

        with pytest.raises(ValueError, match="in a pool thread"):
            compiled.parallel_for(failing, [(0,), (1,)])


def _pinned(function):
    """``function(cpu)`` with the calling thread pinned to each CPU it may run on in turn."""
    allowed = os.sched_getaffinity(0)
    try:
        for cpu in sorted(allowed):
            os.sched_setaffinity(0, {cpu})
            function(cpu)
    finally:
        os.sched_setaffinity(0, allowed)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this system")
def test_a_spinning_thread_knows_its_cpu_and_never_spins_on_its_callers():
    """The compiled kernels' CPU number is the thread's; a pool thread waiting for work on the CPU of
    the caller that posted last, and a caller waiting for a pool thread on its own CPU, stop spinning
    at once (they would take the CPU from the thread they wait for), even with a call in progress and
    no deadline in sight."""
    if not compiled.available():
        pytest.fail("numba is not installed")
    if not compiled._cpu_numbers_agree():  # no rdtscp (not x86-64 Linux): pool threads never spin
        assert not compiled._KeepAwake().spins()
        return
    kernels = compiled.kernels()
    late = kernels["cycles"]() + 60 * 4 * 10**9  # a minute away: only the CPU check ends the waits sooner

    def check(cpu):
        assert kernels["cpu"]() == cpu
        state = np.zeros(5, dtype=np.int64)
        state[0], state[3], state[4] = 1, late, cpu  # a call in progress, posted from this CPU
        flags = np.zeros(1, dtype=np.int64)
        unfinished = np.zeros(1, dtype=np.int64)
        results = []

        def wait():
            results.append(kernels["wait_for_work"](state, 0, flags, 0, 0))
            kernels["wait_until"](unfinished, np.array([cpu]), 1, late)  # the awaited thread is here
            results.append("done")

        waiter = threading.Thread(target=wait)
        waiter.start()  # inherits this thread's CPU
        waiter.join(10)  # a hang check, not a timing: the waits end at once, or in a minute
        try:
            assert not waiter.is_alive()
            assert results == [0, "done"]  # returned without a job
            assert flags[0] == 1  # and marked its slot of the job it finished
        finally:
            state[0] = state[3] = 0  # a waiter still spinning (a failure) stops
            unfinished[0] = 1
            waiter.join()

    _pinned(check)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this system")
def test_a_thread_leaves_a_cpu_and_keeps_its_affinity():
    """``_leave_cpu`` moves the calling thread off the CPU it names, onto another it may run on, and
    leaves its CPU set as it was; on a thread that may run on that CPU only, it does nothing."""
    if not compiled.available():
        pytest.fail("numba is not installed")
    if not compiled._cpu_numbers_agree():  # no rdtscp: no CPU number to check (pool threads never spin)
        return
    cpu_now = compiled.kernels()["cpu"]
    allowed = os.sched_getaffinity(0)
    results = []

    def check(cpu):
        os.sched_setaffinity(0, {cpu})
        results.append(("pinned", compiled._leave_cpu(cpu), cpu_now() == cpu, os.sched_getaffinity(0) == {cpu}))
        os.sched_setaffinity(0, allowed)  # still on cpu (running), free to go elsewhere
        results.append(("free", compiled._leave_cpu(cpu), cpu_now() != cpu, os.sched_getaffinity(0) == allowed))

    def run():
        for cpu in sorted(allowed):
            check(cpu)

    thread = threading.Thread(target=run)  # not the test's own thread: its CPU set is not touched
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    for cpu, (pinned, free) in zip(sorted(allowed), zip(results[::2], results[1::2])):
        assert pinned == ("pinned", False, True, True), cpu  # nowhere else to go
        assert free == ("free", len(allowed) > 1, len(allowed) > 1, True), cpu


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this system")
def test_a_pool_thread_on_its_callers_cpu_leaves_it_once_per_post(monkeypatch):
    """A pool thread that finds itself on the CPU of the caller that posted last, while a call runs,
    leaves that CPU (``_leave_cpu``) and spins on for the job; if it is there again after the same
    post, it blocks on the queue (no loop of moves)."""
    if not compiled.available():
        pytest.fail("numba is not installed")
    if not compiled._cpu_numbers_agree():
        return
    monkeypatch.setattr(compiled, "cores", lambda: len(compiled._THREADS) + 2)
    cpu_now = compiled.kernels()["cpu"]
    allowed = os.sched_getaffinity(0)
    awake = compiled._KeepAwake()
    awake.used = True  # as after a counted call: the pool spins
    assert awake.spins()
    late = compiled.kernels()["cycles"]() + 60 * 4 * 10**9  # a minute away: only the CPU check ends the spin
    jobs = queue.SimpleQueue()
    moves = []

    def stay(cpu, posts):  # a move that leaves the thread where it was
        moves.append(cpu)
        if posts:
            jobs.put(posts.pop())
        return True

    def take(posts):
        os.sched_setaffinity(0, {min(allowed)})
        awake.state[:] = 0
        awake.state[0], awake.state[3], awake.state[4] = 1, late, cpu_now()  # a call posted from here
        monkeypatch.setattr(compiled, "_leave_cpu", lambda cpu: stay(cpu, posts))
        got.append(awake.next_job(jobs, None))

    got = []
    thread = threading.Thread(target=take, args=(["job"],), daemon=True)  # the move finds the job posted meanwhile
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and got == ["job"] and moves == [min(allowed)]

    moves.clear()
    thread = threading.Thread(target=take, args=([],), daemon=True)  # still on the caller's CPU: blocks on the queue
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and moves == [min(allowed)]  # one move, then the blocking wait
    jobs.put("later")
    thread.join(10)
    assert not thread.is_alive() and got == ["job", "later"] and moves == [min(allowed)]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this system")
def test_a_pool_thread_joining_on_its_callers_cpu_runs_its_piece_elsewhere(monkeypatch):
    """A thread that joins a job on the CPU its caller posted it from runs its piece on another CPU
    (where it may run on one), and keeps its CPU set; a job posted from an unknown CPU moves nothing."""
    if not compiled.available():
        pytest.fail("numba is not installed")
    if not compiled._cpu_numbers_agree():
        return
    cpu_now = compiled.kernels()["cpu"]
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    ran = []
    moves = []
    leave = compiled._leave_cpu
    monkeypatch.setattr(compiled, "_leave_cpu", lambda c: moves.append(c) or leave(c))

    def join(caller):
        os.sched_setaffinity(0, {cpu})
        os.sched_setaffinity(0, allowed)  # still on cpu (running), free to go elsewhere
        job = compiled._Job(
            lambda: ran.append((caller, cpu_now(), os.sched_getaffinity(0))), compiled.Claim(1), 1, caller
        )
        assert job.run() == 0
        job.close()

    for caller in (cpu, -1):
        thread = threading.Thread(target=join, args=(caller,))
        thread.start()
        thread.join(10)
        assert not thread.is_alive()
    (_, moved, kept), _ = ran
    assert kept == allowed
    assert (moved != cpu) == (len(allowed) > 1)
    assert moves == [cpu]  # the job posted from an unknown CPU moved nothing


def test_no_spinning_with_more_threads_than_cpus(monkeypatch):
    """A pool of as many threads as CPUs (threads above the CPU count) does not spin: a pool thread that
    found no piece left would take a CPU from one still working."""
    if not compiled.available():
        pytest.fail("numba is not installed")
    _parallel_call()  # a counted call: the pool may spin
    awake = compiled._AWAKE
    monkeypatch.setattr(compiled, "cores", lambda: len(compiled._THREADS) + 1)
    assert awake.spins() == bool(compiled._cpu_numbers_agree())
    monkeypatch.setattr(compiled, "cores", lambda: len(compiled._THREADS))
    assert not awake.spins()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this system")
def test_two_threads_on_one_cpu_finish_every_pass(spinning):
    """A process on one CPU with threads=2 (a CPU quota, a pinned job): the pool thread and the caller
    share the CPU, neither spins while the other waits, and every pass completes with every piece."""
    if not compiled.available():
        pytest.fail("numba is not installed")
    out = np.zeros((2, 64, 256), dtype=np.float32)

    def piece(k, i):
        compiled.transpose(np.full((1, 256, 64), i, dtype=np.float32), out=out[k : k + 1])

    def pin(cpus):
        """This thread and tconv's existing threads on ``cpus`` (threads started later inherit this one's)."""
        os.sched_setaffinity(0, cpus)
        for thread in threading.enumerate():
            if thread.name.startswith("tconv-") and thread.native_id is not None:
                os.sched_setaffinity(thread.native_id, cpus)

    allowed = os.sched_getaffinity(0)
    try:
        pin({min(allowed)})
        with tconv.options(threads=2):
            for i in range(200):
                compiled.parallel_for(piece, [(0, i), (1, i)])
                assert (out == i).all(), i
    finally:
        pin(allowed)


WITHOUT_NUMBA = """
import sys
sys.modules["numba"] = None  # as if numba were not installed: NumPy is tconv's only hard dependency
import numpy as np, tconv
from tconv._algorithms import compiled
assert not compiled.available()
rng = np.random.default_rng(0)
x = rng.standard_normal((8, 128, 32, 32)).astype(np.float32)
w = rng.standard_normal((128, 64, 4, 4)).astype(np.float32)
with tconv.options(threads=2):  # products split among tconv's threads (tconv._algorithms.blas.matmul)
    y = tconv.conv_transpose(x, w, stride=2, padding=1)
    g = tconv.conv_transpose_backward(y, x, w, stride=2, padding=1)
print(compiled._AWAKE.started)
"""


def test_parallel_calls_without_numba_start_no_keep_awake_threads():
    """Without numba the parallel BLAS products still run on tconv's threads, and no keep-awake thread
    (its spin loop is a compiled kernel): a call must not import numba (it did, and failed)."""
    result = subprocess.run([sys.executable, "-c", WITHOUT_NUMBA], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0"]
