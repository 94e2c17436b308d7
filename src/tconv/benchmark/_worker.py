"""The worker process of one runtime, and the parent's handle on it.

Every runtime runs in its own process (started with ``spawn``), so that no thread
pool of one runtime spins while another is timed. The parent sends requests over
a pipe and the worker answers each with ``("ok", payload)`` or ``("error",
message)``:

- ``("prepare", layer, dtype, algorithm, training)``: build the call (forward, or a
  training step) on the layer's arrays, run it once (compilation, warm-up) and
  answer with its output, to be checked, and the algorithm ``"auto"`` chose;
- ``("time", algorithm, repeat, budget)``: untimed calls until at least
  :data:`WARM_UP_CALLS` calls (or one call of :data:`WARM_UP_SECONDS` or more) and
  :data:`WARM_UP_SECONDS` have passed, then up to ``repeat`` timed calls, fewer once
  they have taken ``budget`` seconds (at least one); answer with their durations in
  seconds;
- ``("gemm_rate", dtype)``: the best GFLOP/s of a large GEMM, NumPy's or tconv's (:func:`gemm_rate`);
- ``("bandwidth",)``: the best GB/s of a large copy (:func:`bandwidth`);
- ``("quit",)``.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .._options import get_options
from ._runtimes import RUNTIMES, Call

__all__ = ["WARM_UP_CALLS", "WARM_UP_SECONDS", "Worker", "bandwidth", "gemm_rate", "serve"]

#: Untimed calls before each batch: at least this many, and for at least this long. What is timed is
#: the steady state of a layer called in a loop, not the first calls after an idle pause: on the VMs of
#: docs/performance.md a process whose CPUs idled for the benchmark's 50 ms gap runs slower for tens of
#: milliseconds, with no page fault, no context switch, and its CPU time equal to its wall time. Measured
#: in that pattern (median of 10 pauses, the ratio to the same call in a loop), on one thread and two
#: alike: tconv's dilated stride-1 layer 1.6-2.7x in the first 5 ms, 1.2-1.6x at 10-20 ms, 1.1-1.3x at
#: 20-50 ms, 1.0-1.1x from 50 ms on; PyTorch's 1.2-1.35x, then 1.0-1.13x from 5 ms on; the pointwise
#: layer and NumPy's own GEMM in between. 20 ms (until 6 December 2026) timed tconv in that state
#: (its dilated layer 2.8 ms in the benchmark, 1.8 in a loop); 100 ms reach the steady state of both.
WARM_UP_CALLS = 3
WARM_UP_SECONDS = 0.1
#: (A call that alone takes :data:`WARM_UP_SECONDS` is warm-up enough: the slow state lasts tens of
#: milliseconds, and three calls of a peer that takes 45 s on a layer -- JAX on a 3-d depthwise one,
#: measured -- would be two minutes of warm-up per batch.)


def serve(runtime: str, threads: int, conn: Any) -> None:  # pragma: no cover - runs in a subprocess
    """The worker's loop: create ``runtime`` with ``threads`` threads, then answer requests until ``quit``."""
    try:
        impl = RUNTIMES[runtime](threads)
    except Exception as error:  # noqa: BLE001 - reported to the parent
        conn.send(("unavailable", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", None))
    calls: dict[str, Call] = {}  # prepared calls, by algorithm (one worker may run several)
    current = None  # the (layer, dtype) the prepared calls belong to
    while True:
        message = conn.recv()
        kind = message[0]
        try:
            if kind == "quit":
                return
            if kind == "prepare":
                _, layer, dtype, algorithm, training = message
                if current != (layer, dtype):
                    calls.clear()
                    current = (layer, dtype)
                x, w, b = layer.arrays(dtype)
                prepare = impl.prepare_training if training else impl.prepare
                calls[algorithm] = prepare(layer, x, w, b, algorithm)
                out = calls[algorithm]()  # warm-up (compilation) and the output to check
                conn.send(("ok", (np.asarray(out), impl.chosen(layer))))
            elif kind == "time":
                _, algorithm, repeat, budget = message
                conn.send(("ok", (algorithm, _time(calls[algorithm], repeat, budget))))
            elif kind == "gemm_rate":
                conn.send(("ok", gemm_rate(message[1])))
            elif kind == "bandwidth":
                conn.send(("ok", bandwidth(threads)))
        except Exception as error:  # noqa: BLE001 - reported to the parent
            conn.send(("error", f"{type(error).__name__}: {error}"))


def _time(call: Call, repeat: int, budget: float = float("inf")) -> list[float]:
    """Seconds of each of up to ``repeat`` calls, after the untimed warm-up calls; no more calls once the
    timed ones have taken ``budget`` seconds (at least one is timed)."""
    warm_until = time.perf_counter() + WARM_UP_SECONDS
    for count in itertools.count():  # untimed: reach the steady state of a layer called in a loop
        start = time.perf_counter()
        call()
        now = time.perf_counter()
        if now >= warm_until and (count + 1 >= WARM_UP_CALLS or now - start >= WARM_UP_SECONDS):
            break
    times: list[float] = []
    while len(times) < repeat and (not times or sum(times) < budget):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def gemm_rate(dtype: str) -> float:
    """Best GFLOP/s of a large GEMM on a few shapes (the machine's peak, as reachable here): the better of
    NumPy's BLAS (``a @ b``, its own threads) and the GEMM tconv's algorithms run (MKL where the option
    ``blas`` uses it, split among tconv's threads: :func:`tconv._algorithms.blas.matmul`)."""
    from .._algorithms import blas

    best = 0.0
    rng = np.random.default_rng(0)
    multiplies: list[Callable[[np.ndarray, np.ndarray], np.ndarray]] = [np.matmul]
    if get_options().blas != "numpy" and blas.mkl_available():
        multiplies.append(blas.matmul)
    for m, k, n in ((4096, 1024, 1024), (2048, 2048, 2048), (8192, 256, 1024)):
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        for multiply in multiplies:
            multiply(a, b)
            for _ in range(5):
                start = time.perf_counter()
                multiply(a, b)
                best = max(best, 2 * m * k * n / (time.perf_counter() - start) / 1e9)
    return best


def bandwidth(threads: int = 1, megabytes: int = 256) -> float:
    """Best GB/s of a copy between two arrays of ``megabytes`` (bytes read plus bytes written), split
    between ``threads`` threads (NumPy's copy releases the GIL): the memory speed the roofline divides
    by. The arrays are far larger than the caches, and written once before timing (no page faults in
    the timed copies)."""
    from concurrent.futures import ThreadPoolExecutor

    count = megabytes * 2**20 // 8
    a, b = np.ones(count), np.zeros(count)
    parts = [
        (b[i * count // threads : (i + 1) * count // threads], a[i * count // threads : (i + 1) * count // threads])
        for i in range(threads)
    ]
    best = 0.0
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(6):
            start = time.perf_counter()
            list(pool.map(lambda pair: np.copyto(*pair), parts))
            best = max(best, 2 * a.nbytes / (time.perf_counter() - start) / 1e9)
    return best


class WorkerExited(RuntimeError):
    """A runtime's worker process ended without answering (a crash of the runtime, or a kill)."""


class Worker:
    """The parent's handle on the worker process of one runtime; ``error`` says why it is unavailable."""

    def __init__(self, runtime: str, threads: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.runtime = runtime
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(runtime, threads, child), daemon=True)
        self.process.start()
        # The parent's copy of the worker's end, closed before the first read: once the worker is gone
        # nothing holds that end, so the read raises EOFError. Kept open until __init__ returned, a
        # worker that ended before it was ready left the parent waiting forever (found when worker
        # processes died at start under a test harness: the benchmark hung).
        child.close()
        try:
            status, detail = self.conn.recv()
        except EOFError:
            status, detail = "unavailable", self._exited("before it was ready")
        self.error: str | None = detail if status == "unavailable" else None

    def _exited(self, when: str) -> str:
        self.process.join(timeout=5)
        return f"the {self.runtime} worker process ended {when} (exit code {self.process.exitcode})"

    def ask(self, *message: Any) -> Any:
        """Send a request and return the payload of the answer; an error answer raises ``RuntimeError``,
        a worker that ended without answering :class:`WorkerExited`."""
        try:
            self.conn.send(message)
            status, payload = self.conn.recv()
        except (EOFError, BrokenPipeError, ConnectionError) as error:
            raise WorkerExited(self._exited(f"during {message[0]!r}")) from error
        if status != "ok":
            raise RuntimeError(payload)
        return payload

    def close(self) -> None:
        try:
            self.conn.send(("quit",))
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
