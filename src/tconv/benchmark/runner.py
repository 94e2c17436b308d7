"""The benchmark run: check every peer against tconv, then time every runtime in alternating rounds.

:func:`run` starts one worker process per runtime (:mod:`tconv.benchmark._worker`);
for each layer and dtype it asks every runtime for its output, drops the peers
whose output differs from tconv's, then times the rest in rounds (in a fresh
random order every round, each batch after an idle gap) and keeps the median per
call (:class:`tconv.benchmark.Result`).
"""

from __future__ import annotations

import itertools
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import numpy as np

from .._algorithms.blas import gemm_library
from .._validate import positive_int
from ._runtimes import PEERS
from ._worker import Worker, WorkerExited
from .layers import LAYERS, Layer
from .report import Result

__all__ = ["COLUMN_SECONDS", "IDLE_GAP", "check_output", "run"]

#: Seconds of idleness before each runtime's batch of timed calls: some thread pools (ONNX Runtime's,
#: OpenMP's) spin-wait after a call and would steal the cores from the runtime timed next.
IDLE_GAP = 0.05
#: Seconds of timed calls per column and layer after which a column is timed no more on that layer: its
#: median is then of fewer samples than ``rounds * repeat`` (at least one; the report's ``samples``
#: counts them). A layer that every runtime computes in under 0.6 s is timed in full. JAX took 45 s
#: a call on a random 3-d depthwise layer (8 x 128 channels at 20^3, k4 s2; tconv 0.14 s), so five
#: rounds of three calls, after their warm-up, had kept one layer of a random run busy for 23 minutes.
COLUMN_SECONDS = 10.0


class _Timed(NamedTuple):
    """One column of the report: its label, the runtime that computes it and tconv's algorithm."""

    label: str  # "tconv", "tconv:<algorithm>" or a peer
    runtime: str
    algorithm: str


def _bar(done: float, total: int, width: int = 24) -> str:
    """A text progress bar: ``[#########---------------]  9/24``."""
    filled = int(width * done / max(total, 1))
    return f"[{'#' * filled}{'-' * (width - filled)}] {int(done):>{len(str(total))}}/{total}"


def check_output(out: np.ndarray, reference: np.ndarray, dtype: str) -> str:
    """Why ``out`` does not match ``reference`` (``""`` when it does), with a dtype-aware tolerance."""
    if out.shape != reference.shape:
        return f"shape {out.shape} instead of {reference.shape}"
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    scale = max(1.0, float(np.max(np.abs(reference)))) if reference.size else 1.0
    if not np.allclose(out, reference, rtol=tolerance, atol=tolerance * scale):
        return f"max |difference| {float(np.max(np.abs(out - reference))):.3g}"
    return ""


#: The most alternating rounds, and calls per runtime per round, a run takes: each round of each layer
#: calls every runtime ``repeat`` times, so more would run for days (5 and 3 are the defaults).
MAX_ROUNDS = 1000
MAX_REPEAT = 1000


def check_counts(rounds: object, repeat: object) -> None:
    """Refuse ``rounds`` or ``repeat`` that is not a positive int at most :data:`MAX_ROUNDS` or
    :data:`MAX_REPEAT`.

    Examples
    --------
    >>> check_counts(10**21, 3)
    Traceback (most recent call last):
    ...
    ValueError: rounds must be at most 1000, got 1000000000000000000000
    """
    for name, value, most in (("rounds", rounds, MAX_ROUNDS), ("repeat", repeat, MAX_REPEAT)):
        if positive_int(value, name) > most:
            raise ValueError(f"{name} must be at most {most}, got {value}")


def run(
    layers: Sequence[Layer] = LAYERS,
    dtypes: Sequence[str] = ("float32",),
    peers: Sequence[str] = PEERS,
    algorithms: Sequence[str] = ("auto",),
    rounds: int = 5,
    repeat: int = 3,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
    training: bool = False,
) -> dict:
    """Run the benchmark; returns a JSON-ready dict (see :func:`tconv.benchmark.format_table`).

    ``algorithms`` are the tconv algorithms timed ("auto" is reported as
    ``tconv``, any other as ``tconv:<name>``); ``rounds`` alternating rounds of
    ``repeat`` calls per runtime give the samples whose median is reported.
    With ``training=True`` each call is one training step (forward, input and
    weight gradients) of a ``torch.nn.ConvTranspose*d`` module: tconv's drop-in
    module (:mod:`tconv.torch`, tconv's kernels through autograd, ``algorithm``
    naming the forward algorithm) against PyTorch's own; the other peers have no
    training step here. Useful FLOPs are then three times the forward's. ``rounds`` and
    ``repeat`` are positive and at most :data:`MAX_ROUNDS` and :data:`MAX_REPEAT`.
    """
    from .._options import get_options

    check_counts(rounds, repeat)

    threads = threads or get_options().threads
    columns = [_Timed("tconv" if a == "auto" else f"tconv:{a}", "tconv", a) for a in algorithms]
    columns += [_Timed(p, p, "auto") for p in peers]
    session = _Session(columns, rounds, repeat, training, len(layers) * len(dtypes), progress)
    for column in columns:
        if column.runtime not in session.workers:
            session.workers[column.runtime] = worker = Worker(column.runtime, threads)
            if worker.error:
                session.unavailable[column.runtime] = worker.error
    try:
        gemm = {dtype: session.workers["tconv"].ask("gemm_rate", dtype) for dtype in dtypes}
        memory = session.workers["tconv"].ask("bandwidth")
        steps = enumerate(itertools.product(dtypes, layers), 1)
        results = [session.measure(step, layer, dtype) for step, (dtype, layer) in steps]
    finally:
        for worker in session.workers.values():
            worker.close()
    return {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "blas": gemm_library(),
            "threads": threads,
        },
        "gemm_gflops": gemm,
        "bandwidth_gbs": memory,
        "rounds": rounds,
        "repeat": repeat,
        "unavailable": session.unavailable,
        "training": training,
        "results": [asdict(r) for r in results],
    }


@dataclass
class _Session:
    """One run: its columns, their workers, and how each layer is measured."""

    columns: list[_Timed]
    rounds: int
    repeat: int
    training: bool
    steps: int  # layers x dtypes
    progress: Callable[[str], None] | None
    workers: dict[str, Worker] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # runtime -> why its worker did not start or ended

    def say(self, done: float, layer: Layer, dtype: str, text: str) -> None:
        if self.progress:
            self.progress(f"{_bar(done, self.steps)} {layer.name} {dtype}: {text}")

    def measure(self, step: int, layer: Layer, dtype: str) -> Result:
        """Check, then time every column on ``layer`` in ``dtype`` (the ``step``-th of :attr:`steps`)."""
        itemsize = np.dtype(dtype).itemsize
        passes = 2 if self.training else 1  # a training step reads and writes each array about twice as often
        result = Result(
            layer.name,
            layer.describe(),
            dtype,
            layer.flops * (3 if self.training else 1) / 1e9,
            megabytes=passes * layer.bytes(itemsize) / 1e6,
        )
        outputs = self._outputs(result, step, layer, dtype)
        samples: dict[str, list[float]] = {label: [] for label in outputs}
        order = list(outputs)
        shuffle = random.Random(step)  # a different, reproducible order every round
        for r in range(self.rounds):
            for label in shuffle.sample(order, len(order)):
                left = COLUMN_SECONDS - sum(samples[label])
                if left <= 0:  # a slow column: timed enough on this layer
                    continue
                # Let the previous runtime's thread pool go idle: some spin-wait after a call (ONNX
                # Runtime, OpenMP) and would steal the cores from the runtime timed next.
                time.sleep(IDLE_GAP)
                self.say(step - 1 + r / self.rounds, layer, dtype, f"round {r + 1}/{self.rounds} {label}")
                column = next(c for c in self.columns if c.label == label)
                if column.runtime in self.unavailable:  # its worker ended during this layer
                    continue
                try:
                    timed, times = self.workers[column.runtime].ask("time", column.algorithm, self.repeat, left)
                except WorkerExited as error:  # reported on the layer and for the rest of the run
                    result.errors[label] = self.unavailable[column.runtime] = str(error)
                    samples[label] = []
                    continue
                if timed != column.algorithm:  # the worker must time the call it was asked for
                    raise RuntimeError(f"{column.runtime} worker timed {timed!r} instead of {column.algorithm!r}")
                samples[label] += times
        result.times = {label: statistics.median(v) * 1e3 for label, v in samples.items() if v}
        result.samples = {label: len(v) for label, v in samples.items() if v}
        return result

    def _outputs(self, result: Result, step: int, layer: Layer, dtype: str) -> dict[str, np.ndarray]:
        """Every column's output on ``layer``, but those that failed or differ from the first column's
        (tconv's), which ``result.errors`` records instead."""
        outputs = {}
        for label, runtime, algorithm in self.columns:
            self.say(step - 1, layer, dtype, f"preparing {label}")
            if runtime in self.unavailable:
                result.errors[label] = f"not available: {self.unavailable[runtime]}"
                continue
            try:
                out, chosen = self.workers[runtime].ask("prepare", layer, dtype, algorithm, self.training)
                outputs[label] = out
                if label == "tconv":
                    result.algorithm = chosen
            except RuntimeError as error:
                result.errors[label] = str(error)
                if isinstance(error, WorkerExited):  # not asked again in this run
                    self.unavailable[runtime] = str(error)
        first = self.columns[0].label
        reference = outputs.get(first)
        for label in list(outputs):
            if reference is None or label == first:
                continue
            problem = check_output(outputs[label], reference, dtype)
            if problem:
                result.errors[label] = f"output differs from tconv's ({problem}); not timed"
                del outputs[label]
        return outputs
