"""tconv.benchmark.runner: output checks, and a real run against every peer (with its report)."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from helpers import oracle

import tconv
from tconv.benchmark import PEERS, check_output, format_table, layer_from_spec, run, summary


def test_check_output_catches_wrong_results():
    reference = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    assert check_output(reference.copy(), reference, "float32") == ""
    assert "shape" in check_output(reference[:2], reference, "float32")
    wrong = reference.copy()
    wrong[1, 2] += 1
    assert "max |difference| 1" in check_output(wrong, reference, "float32")


def test_real_run_against_every_peer():
    """A tiny layer timed against PyTorch, ONNX Runtime and JAX, each checked before timing."""
    for name in ("torch", "onnxruntime", "jax"):
        oracle(name)
    layer = layer_from_spec("n=2 c_in=8 c_out=4 size=6x6 kernel=3 stride=2 padding=1 output_padding=1 groups=2")
    report = run([layer], dtypes=("float32", "float64"), peers=PEERS, algorithms=("auto", "gemm"), rounds=2, repeat=1)
    assert report["gemm_gflops"]["float32"] > 0
    f32, f64 = report["results"]
    for label in ("tconv", "tconv:gemm", *PEERS):
        assert f32["times"][label] > 0, f32["errors"]
    assert f32["errors"] == {}
    assert set(f64["errors"]) == {"onnxruntime"}  # ONNX Runtime has no float64 ConvTranspose kernel
    assert "NOT_IMPLEMENTED" in f64["errors"]["onnxruntime"]
    assert f32["algorithm"] in tconv.algorithms()
    text = format_table(report)
    assert "| custom | float32 |" in text and "Geometric-mean speed-up" in text
    assert summary(report)["shapes"] == 2


def _within(seconds: float, call):
    """``call()``'s result or exception, or a failure if it has not returned within ``seconds``."""
    import threading

    box: dict = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as error:  # noqa: BLE001 - handed to the test
            box["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return box


def test_a_worker_that_ended_is_reported_not_waited_for():
    """A worker process that is gone (a runtime's crash, a kill) makes ``ask`` raise ``WorkerExited`` at
    once, naming the runtime and its exit code (a bare ``EOFError`` from the pipe before)."""
    from tconv.benchmark._worker import Worker, WorkerExited

    worker = Worker("tconv", 1)
    assert worker.error is None
    worker.process.kill()
    worker.process.join(30)
    box = _within(60, lambda: worker.ask("bandwidth"))
    assert isinstance(box.get("error"), WorkerExited), box
    assert "tconv worker process ended" in str(box["error"]) and "exit code" in str(box["error"])
    worker.close()  # closing a gone worker is quiet


def test_a_worker_that_ends_before_it_is_ready_makes_its_runtime_unavailable(monkeypatch):
    """A worker process that ends before it says it is ready (its runtime crashing on import, say) makes
    the runtime unavailable with the exit code, at once: with the parent's copy of the worker's end of the
    pipe open, the parent waited for it forever."""
    import sys

    from tconv.benchmark import _worker

    # the worker's entry point replaced by one that fails in the child (sys.exit takes one argument)
    monkeypatch.setattr(_worker, "serve", sys.exit)
    box = _within(120, lambda: _worker.Worker("tconv", 1))
    assert "error" not in box, box.get("error")
    worker = box["value"]
    assert worker.error == "the tconv worker process ended before it was ready (exit code 1)"
    worker.close()


def test_a_peer_whose_worker_dies_is_reported_on_its_layers(monkeypatch):
    """When a peer's worker dies mid-run, the run finishes: that layer and the later ones report it, and
    tconv's columns are timed."""
    oracle("torch")
    from tconv.benchmark import _worker

    ask = _worker.Worker.ask

    def dying(self, *message):
        if self.runtime == "torch" and message[0] == "prepare":
            self.process.kill()
            self.process.join(30)
        return ask(self, *message)

    monkeypatch.setattr(_worker.Worker, "ask", dying)
    layers = [layer_from_spec(f"n=1 c_in=4 c_out=4 size={s}x{s} kernel=3 stride=2") for s in (5, 6)]
    box = _within(300, lambda: run(layers, peers=("torch",), rounds=1, repeat=1))
    assert "error" not in box, box.get("error")
    report = box["value"]
    first, second = report["results"]
    assert "torch worker process ended" in first["errors"]["torch"]
    assert "not available" in second["errors"]["torch"]
    assert "torch" in report["unavailable"]
    assert first["times"]["tconv"] > 0 and second["times"]["tconv"] > 0


class _Clock:
    """A stand-in for the ``time`` module whose clock moves only when a call of ``seconds`` runs."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def call(self, seconds: float):
        calls = []

        def run() -> None:
            calls.append(self.now)
            self.now += seconds

        return run, calls


@pytest.mark.parametrize(
    ("seconds", "repeat", "budget", "warm_up", "timed"),
    [
        (0.001, 3, float("inf"), 100, 3),  # fast calls: WARM_UP_SECONDS of warm-up, then all the calls
        (0.06, 3, float("inf"), 3, 3),  # WARM_UP_CALLS, which outlast WARM_UP_SECONDS
        (45.0, 3, float("inf"), 1, 3),  # one slow call is its own warm-up
        (45.0, 3, 10.0, 1, 1),  # and one timed call spends the budget
        (4.0, 5, 10.0, 1, 3),  # timed until the budget is spent: 4 + 4 + 4 >= 10
        (0.001, 2, 0.0, 100, 1),  # at least one timed call, whatever the budget
    ],
)
def test_worker_warm_up_and_budget(monkeypatch, seconds, repeat, budget, warm_up, timed):
    """``_time``: untimed calls for WARM_UP_SECONDS and at least WARM_UP_CALLS of them, or one call that
    alone lasts WARM_UP_SECONDS; then ``repeat`` timed calls, fewer once they have taken ``budget``."""
    from tconv.benchmark import _worker

    assert (_worker.WARM_UP_CALLS, _worker.WARM_UP_SECONDS) == (3, 0.1)  # the table above assumes them
    clock = _Clock()
    monkeypatch.setattr(_worker, "time", clock)
    call, calls = clock.call(seconds)
    times = _worker._time(call, repeat, budget)
    assert len(times) == timed and all(t == pytest.approx(seconds) for t in times)
    assert len(calls) == warm_up + timed


class _SlowWorker:
    """A stand-in for a runtime's worker whose calls take ``seconds`` each (the :class:`_Clock`'s)."""

    def __init__(self, clock: _Clock, seconds: float) -> None:
        self.clock, self.seconds, self.asked = clock, seconds, []

    def ask(self, kind, algorithm, repeat, budget):
        from tconv.benchmark import _worker

        assert kind == "time"
        self.asked.append(budget)
        call, _ = self.clock.call(self.seconds)
        return algorithm, _worker._time(call, repeat, budget)


def test_slow_columns_stop_after_their_budget(monkeypatch):
    """A column whose calls are slow is timed until COLUMN_SECONDS of its calls are spent (here 45 s calls
    on one round of five: one timed call), a fast one in full; the report counts each column's samples
    and lists the short ones."""
    from tconv.benchmark import _worker, runner

    clock = _Clock()
    monkeypatch.setattr(_worker, "time", clock)
    monkeypatch.setattr(runner, "time", clock)
    layer = layer_from_spec("n=1 c_in=2 c_out=2 size=4x4 kernel=2 stride=2")
    out = np.zeros((1, 2, 8, 8), np.float32)
    columns = [runner._Timed("tconv", "tconv", "auto"), runner._Timed("jax", "jax", "auto")]
    session = runner._Session(columns, rounds=5, repeat=3, training=False, steps=1, progress=None)
    session.workers = {"tconv": _SlowWorker(clock, 0.002), "jax": _SlowWorker(clock, 45.0)}
    monkeypatch.setattr(session, "_outputs", lambda *args: {"tconv": out, "jax": out})
    result = session.measure(1, layer, "float32")
    assert result.samples == {"tconv": 15, "jax": 1}
    assert result.times["jax"] == pytest.approx(45e3) and result.times["tconv"] == pytest.approx(2.0)
    assert session.workers["jax"].asked == [runner.COLUMN_SECONDS]  # asked once, never again
    assert len(session.workers["tconv"].asked) == 5
    report = {"results": [asdict(result)], "rounds": 5, "repeat": 3, "gemm_gflops": {"float32": 100.0}}
    assert "Timed fewer than 15 times" in format_table(report) and "jax (1)" in format_table(report)
