"""Benchmark suite: named real layer shapes, timed against PyTorch, ONNX Runtime and JAX.

Every runtime (tconv and each peer) runs in its own worker process, and each
batch of timed calls starts after a short idle gap, so no thread pool spins while
another runtime is timed (ONNX Runtime's and OpenMP's pools spin-wait after a
call; runtimes spinning against each other distort figures badly on 2 cores).
The order of the runtimes is shuffled every round, and each batch starts with
untimed calls (at least 3, for at least 20 ms): what is timed is the steady state
of a layer called in a loop, not the first calls after an idle pause (on this VM
a core that went idle needs a few milliseconds of work to come back to speed).
The workers generate the same inputs from the same seed; before anything is
timed, every peer's output is checked against tconv's. Timing alternates between
runtimes in rounds, and the median per call is reported with the useful GFLOP/s
(``2*N*C_in*C_out/groups*prod(k)*prod(i)``), each peer's time ratio, and the
fraction of the machine's GEMM rate measured in the same run.

Run it with ``tconv bench`` (see ``tconv bench --help``) or :func:`run`. The
modules: :mod:`~tconv.benchmark.layers` (the named layers and the ``--layer``
spec), :mod:`~tconv.benchmark.runner` (:func:`run`: the checks, then the rounds),
:mod:`~tconv.benchmark.report` (the results, their summary and their table), and
the private ``_runtimes`` (how tconv and each peer are called) and ``_worker``
(the worker process of one runtime).
"""

from ._runtimes import PEERS
from .layers import LAYERS, OTHER_LAYERS, Layer, layer_from_spec, random_layers
from .report import Result, format_table, save_json, summary
from .runner import check_output, run

__all__ = [
    "LAYERS",
    "OTHER_LAYERS",
    "PEERS",
    "Layer",
    "Result",
    "check_output",
    "format_table",
    "layer_from_spec",
    "random_layers",
    "run",
    "save_json",
    "summary",
]
