"""numba-compiled passes of the fast algorithms, run in parallel from a small thread pool.

BLAS does the multiplications; these kernels do everything else in one write-once
pass each: the gather of GEMM columns into the output (col2im), the interleave of
polyphase results, the direct small-group kernel, and the layout change, with
the bias added on the way. They are compiled with ``nogil=True`` and run from
Python threads (:func:`parallel_for`) instead of numba's own threading layer, whose
OpenMP threads spin-waited after each parallel region (on the machine of
``docs/performance.md`` that made the OpenBLAS GEMMs that followed up to 2x
slower). A pool thread spins for the next piece of work only while a call runs and
for :data:`POOL_TAIL` after it (so that handing it a piece does not cost a wake-up
through the kernel), then blocks.

numba is optional (``pip install tconv[fast]``); :func:`available` says whether
these kernels can be used, and every algorithm has a NumPy-only path.
"""

from __future__ import annotations

import contextvars
import ctypes
import importlib.util
import itertools
import os
import platform
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from .._options import cores, effective

__all__ = ["Claim", "available", "kernels", "parallel_for", "run_workers", "split", "supports", "transpose"]

_KERNELS: dict[str, Callable] | None = None
_LOCK = threading.Lock()
_HAVE_NUMBA = importlib.util.find_spec("numba") is not None
#: The dtypes the compiled kernels are built for (numba has no long double).
_COMPILED_KINDS = frozenset("efdFD")


def available() -> bool:
    """True when numba is installed and the ``compiled`` option is on."""
    return _HAVE_NUMBA and effective().compiled


def supports(dtype: np.dtype) -> bool:
    """Whether the compiled kernels handle ``dtype`` (float16/32/64, complex64/128; not long double)."""
    return np.dtype(dtype).char in _COMPILED_KINDS


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ranges covering ``range(total)`` (fewer if ``total`` is small)."""
    parts = max(1, min(parts, total))
    bounds = [total * p // parts for p in range(parts + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


class Claim:
    """The indices ``0..total-1``, handed out once each to whichever thread asks next.

    :meth:`stop` ends the hand-out early (an error or an interrupt in one thread):
    every thread then finishes the piece it holds and takes no other.
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self._next = itertools.count()  # next() on a count is atomic under the GIL
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True

    def __iter__(self) -> Iterator[int]:
        for index in self._next:
            if index >= self.total or self._stopped:
                return
            yield index


class _Job:
    """One parallel call's hand-off to the pool: a pool thread runs ``work`` only if it arrives
    before the caller has finished (:meth:`close`), and the caller waits only for those that did.

    A pool thread wakes tens of microseconds after it is signalled on a shared VM (up to ~100 us
    measured), and a small call's pieces are often all taken by the calling thread by then: waiting
    for a thread that will find nothing to do cost every small call that wake-up (an empty
    two-thread call took ~130 us with ``concurrent.futures``; it takes the hand-off alone now).
    """

    def __init__(self, work: Callable[[], None], claim: Claim, helpers: int, caller: int = -1) -> None:
        self.work: Callable[[], None] | None = work
        self.caller = caller  # the CPU of the thread that posted the job (-1: not known)
        self.claim = claim
        self.context = contextvars.copy_context()  # pool threads see the caller's tconv.options
        self._lock = threading.Lock()
        self._closed = False
        self._entered = 0
        # one lock per pool thread that joined, held until it has finished: what the caller blocks on. (A
        # threading.Semaphore, a Condition written in Python, took 5-6 us to build on every parallel
        # pass on the AMD EPYC of docs/performance.md, a sixth of an empty two-thread pass's 31 us;
        # a lock is built only for a thread that joins, in well under a microsecond.)
        self._joined: list[threading.Lock] = []
        # 1 in slot i once the i-th pool thread to join has finished: what the caller spins on; and the
        # CPU that thread joined on (the caller does not spin for a thread on its own CPU)
        self.finished = np.zeros(max(1, helpers), dtype=np.int64)
        self.cpus = np.full(max(1, helpers), -1, dtype=np.int64)
        self.errors: list[BaseException] = []

    def run(self) -> int | None:
        """In a pool thread: do the work unless the caller has already closed the job. Returns the
        thread's slot of :attr:`finished`, which the thread then sets (:meth:`_KeepAwake.next_job`),
        or None if it did not join."""
        with self._lock:
            if self._closed or self.work is None:
                return None
            slot = self._entered
            self._entered += 1
            work = self.work
            finished = threading.Lock()
            finished.acquire()
            self._joined.append(finished)
        if self.caller >= 0:  # on the caller's CPU, this thread's piece would wait for the caller's
            here = kernels()["cpu"]()
            if here == self.caller and _leave_cpu(here):
                here = kernels()["cpu"]()
            self.cpus[slot] = here
        try:
            self.context.copy().run(work)  # a context can be entered by one thread at a time
        except BaseException as error:  # noqa: BLE001 - handed to the caller, which re-raises it
            self.claim.stop()
            self.errors.append(error)
        finally:
            del work  # before the caller may return: nothing of the call is kept alive past it
            finished.release()  # before the slot the caller spins on: its acquire never blocks then
        return slot

    def close(self, spin: float = 0.0) -> None:
        """In the caller: let no more pool threads in, and wait for those that came in to finish, spinning
        for up to ``spin`` seconds (see :meth:`_KeepAwake.next_job`) before blocking."""
        with self._lock:
            self._closed = True
            self.work = None  # a late pool thread's queue entry must not keep the call's arrays alive
            entered = self._entered
        if entered and spin and self.caller >= 0:  # spin > 0: a counted call; caller known: placed()
            _AWAKE.wait(self.finished, self.cpus, entered, spin)
        for finished in self._joined[:entered]:
            finished.acquire()


_QUEUE: queue.SimpleQueue[_Job] = queue.SimpleQueue()
_THREADS: list[threading.Thread] = []


def _has_rdtscp() -> bool:
    """Whether the processor has ``rdtscp`` (x86-64 Linux: ``/proc/cpuinfo``'s flags), which tells a
    spinning thread its CPU."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        with open("/proc/cpuinfo") as info:
            return any(line.startswith("flags") and " rdtscp" in line for line in info)
    except OSError:
        return False


def _cpu_numbers_agree() -> bool:
    """Whether the compiled kernels' CPU number (``rdtscp``) is the one the C library's
    ``sched_getcpu`` gives (it is Linux's where Linux sets ``TSC_AUX``; a thread that moves between
    the readings is allowed for)."""
    if not _has_rdtscp():
        return False
    try:
        getcpu = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError):
        return False
    cpu = kernels()["cpu"]
    for _ in range(5):
        before, known, after = cpu(), getcpu(), cpu()
        if before == known == after:
            return True
    return False


#: Whether pool threads can tell their CPU (:func:`_cpu_numbers_agree`), found on first use.
_RDTSCP: bool | None = None

#: Seconds after a parallel call that tconv's pool threads spin for the next job at their normal priority
#: (:meth:`_KeepAwake.next_job`; at most the ``keep_awake`` option), before they block: long enough for
#: the gaps between the passes of a call and between calls in a loop, short enough that a core is not
#: taken for long from whatever the process does next (the keep-awake threads, at idle priority, cover
#: the rest of the ``keep_awake`` tail).
POOL_TAIL = 0.0005
#: Seconds a pool thread waits after it sees a job posted before it takes the job (and the GIL): about
#: the time the caller takes from posting to its own compiled work or BLAS call, where it releases the
#: GIL. Measured on passes of two pieces (median of 400, two runs), the pool thread's piece began after
#: (us) and the pass took (us), with a grace of 2 / 4 / 6 / 10 us: two 55 us compiled pieces 12 / 14 /
#: 16 / 20 and 75-77 / 79 / 81 / 83-85; two halves of a 256 x 256 by 256 x 121 GEMM 18-40 / 16 / 18 / 22
#: and 121 / 95-97 / 98 / 102. Without a grace, 34-59 us (a wait for the GIL).
HAND_OFF_GRACE = 4e-6
#: Cycles a second assumed until the counter's rate is measured (over the first 50 ms of calls): a
#: counter of up to 4 GHz, so a spin lasts at most the time asked for.
UNMEASURED_RATE = 4e9


class _KeepAwake:
    """Threads at idle priority (Linux ``SCHED_IDLE``) that spin while a parallel call runs and for
    ``keep_awake`` seconds after it (:class:`tconv.Options`), so that a core whose thread waits for
    the next piece of work does not halt.

    On a virtual machine a halted virtual CPU is woken through the hypervisor, tens of microseconds to
    milliseconds late, and a call hands work between its threads dozens of times (each parallel pass,
    each BLAS call): measured in the benchmark's worker processes, tconv's two-thread calls ran up to
    1.5x slower after other runtimes had run than alone, one-thread calls did not. OpenMP and ONNX
    Runtime's pools spin-wait for the same reason, at normal priority; these threads run only when a
    core would otherwise be idle (any other thread preempts them), so they take no time from the
    computation, tconv's or BLAS's. They stop spinning ``keep_awake`` seconds after the last call
    and then block until the next one.
    """

    def __init__(self) -> None:
        # calls in progress, cycle count until which to spin, jobs handed to the pool so far, cycle count
        # until which the pool threads spin for the next job (_serve), the CPU of the caller that posted
        # last (where they do not spin)
        self.state = np.zeros(5, dtype=np.int64)
        self.used = False  # a call has counted: the compiled kernels are built, the cycle counter works
        self.lock = threading.Lock()
        self.wake = threading.Semaphore(0)
        self.started = 0
        self.sleeping = 0
        self.off = not hasattr(os, "SCHED_IDLE")
        self.origin: tuple[float, int] | None = None  # (seconds, cycles) of the first call
        self.rate = 0.0  # cycles per second, measured over the first calls

    def begin(self, threads: int, seconds: float) -> bool:
        """A parallel call starts that runs on ``threads`` threads: have as many spinning, and True,
        unless ``seconds`` (the ``keep_awake`` option) is 0, this system has no idle priority, or the
        compiled kernels are not :func:`available` (their spin loop is one: without numba, or with
        ``compiled=False``, a parallel call of BLAS products runs without keep-awake threads)."""
        if self.off or not seconds or not available():
            return False
        if self.origin is None and kernels()["cycles"]() == 0:  # no cycle counter: no clock to stop by
            self.off = True
            return False
        threads = min(threads, cores())  # more threads than cores: a core needs only one
        self.used = True
        with self.lock:
            self.state[0] += 1
            release, self.sleeping = self.sleeping, 0
            while self.started < threads:
                self.started += 1
                threading.Thread(target=self._spin, name=f"tconv-awake-{self.started}", daemon=True).start()
        for _ in range(release):
            self.wake.release()
        return True

    def end(self, seconds: float) -> None:
        """The call that :meth:`begin` counted has ended: spin on for ``seconds``."""
        now = kernels()["cycles"]()
        with self.lock:
            rate = self._cycles_per_second(now)
            self.state[1] = max(self.state[1], now + int(seconds * rate))
            self.state[3] = max(self.state[3], now + int(min(seconds, POOL_TAIL) * rate))
            self.state[0] -= 1

    def posted(self, where: int) -> None:
        """Jobs have been put on the pool's queue by a caller on CPU ``where`` (-1: not known, see
        :meth:`placed`): pool threads spinning in :meth:`next_job` take them."""
        with self.lock:
            self.state[4] = where
            self.state[2] += 1

    def placed(self) -> bool:
        """Whether pool threads keep off their caller's CPU: where the processor tells a thread its CPU
        (``rdtscp``, :func:`_cpu_numbers_agree`) and the pool and a caller fit on the CPUs (with more
        threads than CPUs some must share one). Then a pool thread that joins a job on its caller's
        CPU leaves that CPU (:meth:`_Job.run`, :func:`_leave_cpu`), and neither spins on the other's."""
        global _RDTSCP
        if not available() or len(_THREADS) >= cores():
            return False
        if _RDTSCP is None:
            _RDTSCP = _cpu_numbers_agree()
        return _RDTSCP

    def caller_cpu(self) -> int:
        """The calling thread's CPU where :meth:`placed`, else -1."""
        return kernels()["cpu"]() if self.placed() else -1

    def spins(self) -> bool:
        """Whether pool threads spin for their jobs (:meth:`next_job`): after a counted call, where they
        keep off their caller's CPU (:meth:`placed`; with more threads than CPUs, a pool thread that
        found no piece left would spin on a CPU that a working thread needs)."""
        if not self.used or self.off:  # no counted call yet (numba may be missing: no kernel to ask)
            return False
        return self.placed()

    def next_job(self, jobs: queue.SimpleQueue[_Job], done: tuple[np.ndarray, int] | None) -> _Job:
        """In a pool thread: the next job from ``jobs``, after setting ``done`` (the slot of the job it
        finished last, if any) to 1.

        While a counted call is in progress, and for :data:`POOL_TAIL` seconds after (at most the
        ``keep_awake`` option), the thread spins for the job at its normal priority, in a compiled loop
        without the GIL, instead of blocking on the queue; after that it blocks. Three waits cost each
        parallel pass tens of microseconds on this VM, each a wake-up through the kernel, late even
        with the cores kept awake: the pool thread's on the queue; then, as it took the job while the
        caller still ran Python, its wait for the GIL; then the caller's, woken by the pool thread's
        semaphore, or wanting the GIL while the pool thread still ran Python after it. So the thread
        spins for the job, lets :data:`HAND_OFF_GRACE` pass once one is posted (the caller meanwhile
        reaches its own compiled work and releases the GIL), and marks its slot of the job done from
        inside the spin loop, with the GIL released, where the caller spins for it (:meth:`wait`).
        Neither spins on the CPU of the thread it waits for (:func:`_cpu_numbers_agree`): a process
        pinned to one CPU with two threads lost up to half its time to the spin; a pool thread that
        finds itself on its caller's CPU while a call runs leaves it (:func:`_leave_cpu`, once per
        posted job) and spins on, where the process may use another CPU. Measured on passes
        of two pieces of compiled work (median of 500): two 11 us pieces 72 us before, 37 after; two
        55 us pieces 113 and 80 us; whole calls of small layers 0.72-1.0x the time (A/B in
        alternating processes, ``docs/performance.md``, "Threads")."""
        job = None
        if self.spins():
            wait = kernels()["wait_for_work"]
            grace = int(HAND_OFF_GRACE * (self.rate or UNMEASURED_RATE))  # no call before the slot is set
            moved = -1  # the post (state[2]) after which this thread last left its caller's CPU
            while job is None:
                seen = int(self.state[2])
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    flags, slot = done if done is not None else (self.state, -1)
                    done = None  # the spin loop sets it
                    if wait(self.state, seen, flags, slot, grace) != seen:  # a job was posted
                        continue
                    # Nothing posted: the tail ended, or this thread is on its caller's CPU. Leave that
                    # CPU once per post and spin on, or block.
                    if moved == seen or not kernels()["pool_live"](self.state) or not _leave_cpu(int(self.state[4])):
                        break
                    moved = seen
        if done is not None:
            done[0][done[1]] = 1
        return job if job is not None else jobs.get()

    def wait(self, flags: np.ndarray, cpus: np.ndarray, count: int, seconds: float) -> None:
        """Spin until the first ``count`` entries of ``flags`` are all set, for at most ``seconds``, and
        not for a thread on this thread's CPU (``cpus``)."""
        now = kernels()["cycles"]()
        kernels()["wait_until"](flags, cpus, count, now + int(seconds * self._cycles_per_second(now)))

    def _cycles_per_second(self, now: int) -> float:
        if self.rate:
            return self.rate
        seconds = time.perf_counter()
        if self.origin is None:
            self.origin = (seconds, now)
        elif seconds - self.origin[0] >= 0.05:
            self.rate = max(1.0, (now - self.origin[1]) / (seconds - self.origin[0]))
            return self.rate
        return UNMEASURED_RATE

    def _spin(self) -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (AttributeError, OSError):  # pragma: no cover - no idle priority: spinning would compete
            self.off = True
            return
        spin = kernels()["keep_awake"]
        while True:
            spin(self.state)
            with self.lock:
                if self.state[0] > 0 or self.off:  # a call began after the spin ended
                    if self.off:
                        return
                    continue
                self.sleeping += 1
            self.wake.acquire()


def _leave_cpu(cpu: int) -> bool:
    """Move the calling thread (a pool thread) off CPU ``cpu`` onto another CPU it may run on, and
    return True; False where it may run on no other CPU, or cannot change its affinity.

    The thread's affinity is narrowed to the other CPUs, which moves it at once, then widened again to
    what it was, so that the scheduler stays free to place it later. Why: Linux often wakes a blocked
    pool thread on the CPU of the thread that woke it, the caller, which goes on with its own piece
    of the pass: the two pieces then run one after the other on one CPU. A pool thread leaves its
    caller's CPU when it joins a job there (:meth:`_Job.run`), and when it finds itself there while
    it spins for the next job (:meth:`_KeepAwake.next_job`, once per posted job), where it could not
    spin. Measured in the benchmark's pattern of then (a pause of 50 ms, 20 ms of warm-up calls, 3 timed
    calls, over and over; 2 CPUs): DCGAN's last layer took 1.4-1.6 ms instead of 0.9 in 17-47 % of
    the batches, each with a dozen such collisions, and in 3-12 % once the spinning pool thread left
    the CPU; with ``keep_awake=0`` (no spin), 70 % of the passes had the pool thread join on the
    caller's CPU, and leaving it took the layer from 1.53 to 1.07 ms (``docs/performance.md``,
    "Threads")."""
    try:
        allowed = os.sched_getaffinity(0)
        others = allowed - {cpu}
        if not others or others == allowed:
            return False
        os.sched_setaffinity(0, others)
        os.sched_setaffinity(0, allowed)
    except (AttributeError, OSError):  # no affinity on this system, or a CPU set that changed meanwhile
        return False
    return True


_AWAKE = _KeepAwake()


def _after_fork() -> None:
    """A forked child has none of its parent's pool threads: it starts its own."""
    global _QUEUE, _THREADS, _AWAKE
    _QUEUE, _THREADS, _AWAKE = queue.SimpleQueue(), [], _KeepAwake()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _serve(jobs: queue.SimpleQueue[_Job]) -> None:
    done: tuple[np.ndarray, int] | None = None  # the slot of the job this thread finished last
    while True:
        job = _AWAKE.next_job(jobs, done)
        slot = job.run()
        done = None if slot is None else (job.finished, slot)
        del job  # a finished call's arrays are not kept alive while this thread waits


def _start(workers: int) -> None:
    """At least ``workers`` pool threads (daemons, started on demand, kept for the process)."""
    if len(_THREADS) >= workers:
        return
    with _LOCK:
        while len(_THREADS) < workers:
            thread = threading.Thread(target=_serve, args=(_QUEUE,), name=f"tconv-{len(_THREADS)}", daemon=True)
            thread.start()
            _THREADS.append(thread)


def run_workers(work: Callable[[], None], threads: int, claim: Claim) -> None:
    """Run ``work()`` on ``threads`` threads at once (the calling thread is one of them).

    ``work`` takes its pieces from ``claim``. When any thread raises (or the caller
    is interrupted), the claim is stopped, and this returns only after every pool
    thread that joined has finished its current piece: no pool thread outlives the
    call (one that arrives after the caller has finished does nothing), and the
    next call finds the pool free. Each pool thread runs in a copy of the caller's
    context, so it sees the caller's ``with tconv.options(...)``.
    """
    if threads <= 1:
        work()
        return
    _start(threads - 1)
    awake, seconds = _AWAKE, effective().keep_awake
    counted = awake.begin(threads, seconds)
    where = awake.caller_cpu()
    job = _Job(work, claim, threads - 1, where)
    for _ in range(threads - 1):
        _QUEUE.put(job)
    awake.posted(where)
    try:
        work()
    except BaseException:
        claim.stop()  # each pool thread ends after its current piece
        raise
    finally:
        job.close(seconds if counted else 0.0)
        if counted:
            awake.end(seconds)
    if job.errors:
        raise job.errors[0]


def parallel_for(function: Callable[..., None], calls: Sequence[tuple]) -> None:
    """Run ``function(*args)`` for every ``args`` in ``calls``, on ``threads`` threads.

    The calling thread works too, next to ``threads - 1`` pool threads (so exactly
    ``threads`` run at once); each takes the next unclaimed call until none are
    left, which balances uneven calls. The calls must write disjoint outputs.
    """
    claim = Claim(len(calls))

    def work() -> None:
        for index in claim:
            function(*calls[index])

    run_workers(work, min(effective().threads, len(calls)), claim)


#: Length of the shorter side up to which :func:`transpose` runs along the longer one, matrix by matrix
#: (measured: 2-3x faster than 64-row blocks on (256, 16), (16, 256), (512, 4) and (3, 4096) matrices,
#: 1.7-1.8x slower on (64, 1024) and (1024, 64)).
SHORT_SIDE = 32
#: Rows of ``A`` per block of :func:`transpose` (each column of a block written as one run) for inputs
#: of at least TRANSPOSE_WIDE columns, 64 below: 16 rows (64 bytes of float32, one cache line per run)
#: ran 1.2-1.7x as fast as 64 on (4, 256, 1024), (16, 64, 1024), (8, 128, 1024) and (2, 512, 4096)
#: inputs, but ~10% slower on (16, 256, 196) and (16, 256, 784).
TRANSPOSE_ROWS = 16
TRANSPOSE_WIDE = 1024
#: Bytes of such a matrix (with a short side of 8 or more) from which it is transposed in blocks of
#: :data:`SHORT_BLOCK` entries of its long side (``short_transpose_blocked``; measured on 21 x 270400,
#: 16 x 65536 and 32 x 65536 matrices: 2-6x faster; 3-row ones and small matrices stay whole: blocks
#: were 1.5-2.5x slower there).
SHORT_MATRIX = 2**18
SHORT_BLOCK = 256
#: Below :data:`SHORT_MATRIX`, a short side of at least ``SHORT_BLOCKED`` takes the 64-row blocks all the same,
#: but for matrices of at most ``SHORT_WHOLE`` entries with more rows than columns. Measured on the Xeon
#: (6 December, 90 shapes of 1-16 matrices, short sides 4-32, long 256-4096, min of 200 calls): matrix by
#: matrix along the long side wrote the few-row case's output in runs of the short side, 1.4-5.3x slower
#: than the blocks from 16 rows and 1156 columns on (FCN's 21 channels at 34 x 34: 148 -> 52 us for four
#: samples), and 1.1-1.4x from 16 rows at 256 columns; it stays faster with 8 (0.70-0.93x the blocks' time
#: but at 4096 columns) and on 256 x 16-32 matrices (0.79-0.91x).
SHORT_BLOCKED = 16
SHORT_WHOLE = 2**13
#: Bytes from which :func:`transpose` runs on several threads. (4 MiB until 6 December: a 1 MiB block of
#: a weight had taken 0.11 ms on the calling thread and 0.20 ms handed to two. Measured again on the
#: Xeon with the pool that spins for its jobs, two threads, min of 200 calls: 1-2 MiB arrays of nine
#: shapes 0.94-1.69x as fast in parallel, 1.5 MiB and more 1.35-1.69x; a 128 -> 96 k8 weight's
#: packing, 3 MiB, 435 -> 270 us.)
PARALLEL_TRANSPOSE = 2**20


def transpose(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``(N, A, B) -> (N, B, A)`` with the compiled tiled transpose, in parallel over blocks of
    :data:`TRANSPOSE_ROWS` rows (over matrices, each along its longer side, when one side is at most
    :data:`SHORT_SIDE` and below :data:`SHORT_BLOCKED`, or the matrices small with more rows than columns:
    :data:`SHORT_WHOLE`; in blocks of the long side above :data:`SHORT_MATRIX`)."""
    n, rows, cols = a.shape
    if out is None:
        out = np.empty((n, cols, rows), dtype=a.dtype)  # (N, B, A)
    pieces = 4 * effective().threads if a.nbytes >= PARALLEL_TRANSPOSE else 1
    short = min(rows, cols)
    if 8 <= short <= SHORT_SIDE and rows * cols * a.itemsize > SHORT_MATRIX:
        tasks = n * -(-max(rows, cols) // SHORT_BLOCK)
        blocked: list[tuple] = [(a, out, SHORT_BLOCK, t0, t1) for t0, t1 in split(tasks, pieces)]
        parallel_for(kernels()["short_transpose_blocked"], blocked)
        return out
    calls: list[tuple]
    if short <= SHORT_SIDE and (short < SHORT_BLOCKED or (rows >= cols and rows * cols <= SHORT_WHOLE)):
        calls = [(a, out, t0, t1) for t0, t1 in split(n, pieces)]
        parallel_for(kernels()["small_transpose"], calls)
        return out
    block = TRANSPOSE_ROWS if cols >= TRANSPOSE_WIDE else 64
    tasks = n * -(-rows // block)
    calls = [(a, out, block, t0, t1) for t0, t1 in split(tasks, pieces)]
    parallel_for(kernels()["batched_transpose"], calls)
    return out


def kernels() -> dict[str, Callable]:
    """The compiled kernels, built (and numba imported) on first use."""
    global _KERNELS
    if _KERNELS is None:
        with _LOCK:
            if _KERNELS is None:
                _KERNELS = _build()
    return _KERNELS


def _build() -> dict[str, Callable]:
    from . import numba_kernels as k

    return {name: getattr(k, name) for name in KERNEL_NAMES}


#: The compiled kernels :func:`kernels` provides.
KERNEL_NAMES = (
    "accumulate",
    "depth_to_space",
    "depth_to_space_t",
    "sum_chunks",
    "cycles",
    "cpu",
    "keep_awake",
    "pool_live",
    "wait_for_work",
    "wait_until",
    "conv_direct_cl",
    "conv_direct_cf",
    "correlate_direct_cl",
    "gather_rows_t",
    "overlap_add_rows",
    "stamp_rows_t",
    "direct_rows_t",
    "depthwise_stamps",
    "depthwise_shifts",
    "gather_k3s2_t",
    "gather_k4s2_t",
    "gather_k5s2_t",
    "pointwise_outputs",
    "pointwise_rows",
    "pointwise_group_gradient",
    "weight_run_tiles",
    "im2col_cl",
    "im2col_cf",
    "im2col_groups_cl",
    "gather_cl",
    "gather_cf",
    "batched_transpose",
    "small_transpose",
    "short_transpose_blocked",
    "place_rows",
    "place_strided",
    "direct_cl",
    "direct_cf",
    "direct_minor_cl",
    "direct_minor_cf",
    "interleave",
    "winograd_input",
    "winograd_output",
    "winograd_weight",
    "winograd_input_1d",
    "winograd_output_1d",
    "winograd_weight_1d",
    "register_tiles",
    "conv_register_tiles",
    "conv_double_tiles",
    "mixed_pack",
    "mixed_product",
)
