"""``tconv bench``: time tconv against PyTorch, ONNX Runtime and JAX on real layer shapes."""

from __future__ import annotations

import argparse
import json
import sys

from ._arguments import flag_names, integer, output_path

#: The subcommand's name, its one-line help and its description (``tconv --help``, ``tconv bench --help``).
NAME = "bench"
HELP = "time tconv against PyTorch, ONNX Runtime and JAX on real layer shapes"
DESCRIPTION = (
    "Time tconv's conv_transpose against every installed peer (PyTorch, ONNX Runtime, "
    "JAX), each in its own process, in alternating rounds, after checking each peer's output against "
    "tconv's. Reports median ms per call, useful GFLOP/s, the ratio to each peer and the fraction of "
    "the GEMM rate measured in the same run."
)

EXAMPLES = """\
examples:
  tconv bench                                  every named layer, float32, against every installed peer
  tconv bench --list                           the named layers and where they come from
  tconv bench --layers dcgan-3,unet-256 --dtypes float32,float64
  tconv bench --layers others --algorithms auto,prepared   layers of other models (not fitted on)
  tconv bench --layers random:60:1 --rounds 3  60 layers drawn at random (seed 1)
  tconv bench --layer "n=4 c_in=256 c_out=128 size=32x32 kernel=2 stride=2"
  tconv bench --algorithms auto,prepared,gemm,phase,direct --json report.json
  tconv bench --backward --layers dcgan-3,unet-256    training step vs torch.nn.ConvTranspose2d
  tconv bench --full --json report.json        everything docs/performance.md shows, in one run
"""


def add_arguments(bench: argparse.ArgumentParser) -> None:
    """The options of ``tconv bench``."""
    bench.add_argument("--list", action="store_true", help="list the named layers and exit")
    bench.add_argument(
        "--layers",
        default="all",
        help="comma-separated layer names, 'all' (default: the named layers docs/performance.md shows), "
        "'others' (layers of other models, which the rules of 'auto' were not fitted on) or 'random:COUNT[:SEED]' "
        "(COUNT layers drawn at random from the shapes of real networks, the same for the same SEED, default 0)",
    )
    bench.add_argument(
        "--layer", help='one custom layer, e.g. "n=4 c_in=64 c_out=32 size=64x64 kernel=4 stride=2 padding=1"'
    )
    bench.add_argument(
        "--dtypes", default="float32", help="float32, float64 or both, comma-separated (default float32)"
    )
    bench.add_argument("--peers", default="torch,onnxruntime,jax", help="comma-separated peers (default: all three)")
    bench.add_argument(
        "--algorithms",
        default="auto",
        help="tconv algorithms to time, comma-separated; 'prepared' times the call of tconv.prepare's plan "
        "(default auto)",
    )
    bench.add_argument(
        "--rounds", type=integer("--rounds", 1), default=5, help="alternating rounds, 1 to 1000 (default 5)"
    )
    bench.add_argument(
        "--repeat", type=integer("--repeat", 1), default=3, help="calls per runtime per round, 1 to 1000 (default 3)"
    )
    bench.add_argument(
        "--threads", type=integer("--threads", 1), help="threads per runtime (default: all CPUs of this process)"
    )
    bench.add_argument(
        "--json",
        metavar="FILE",
        type=_json_path,
        help="also write the full report as JSON ('-' for stdout only); the path is checked before the run",
    )
    bench.add_argument(
        "--backward",
        action="store_true",
        help="time a training step (forward + backward) of tconv's drop-in torch module against "
        "torch.nn.ConvTranspose*d (the other peers have no training step)",
    )
    bench.add_argument(
        "--full",
        action="store_true",
        help="everything docs/performance.md shows, in one run: the forward pass with every fast algorithm, "
        "the prepared call and the roofline, then the training step (--json writes both reports)",
    )
    bench.add_argument(
        "--quiet", action="store_true", help="no progress line (there is none unless stderr is a terminal)"
    )


def _random(text: str) -> tuple:
    """The layers of ``--layers random:COUNT[:SEED]``; :func:`tconv.benchmark.random_layers` checks the
    values, its message naming them as typed here."""
    from ..benchmark import random_layers

    parts = text.split(":")[1:]
    try:
        if not 1 <= len(parts) <= 2:
            raise ValueError
        count, seed = int(parts[0]), int(parts[1]) if len(parts) == 2 else 0
    except ValueError:
        raise ValueError(f"--layers must be random:COUNT or random:COUNT:SEED (integers), got {text!r}") from None
    with flag_names({"random layers": "--layers random", "count": "COUNT", "seed": "SEED"}):
        return random_layers(count, seed)


def _json_path(text: str) -> str:
    return text if text == "-" else output_path("--json")(text)


def run(args: argparse.Namespace) -> int:
    from .. import _algorithms
    from .._options import MAX_THREADS
    from ..benchmark import LAYERS, OTHER_LAYERS, PEERS, format_table, layer_from_spec, save_json
    from ..benchmark import run as run_benchmark
    from ..benchmark._runtimes import PREPARED
    from ..benchmark.runner import check_counts

    if args.list:
        for layer in LAYERS:
            print(f"{layer.name:<14} {layer.describe():<48} {layer.source}")
        print("\nothers (--layers others: layers of other models, not used to fit the rules of 'auto'):")
        for layer in OTHER_LAYERS:
            print(f"{layer.name:<14} {layer.describe():<48} {layer.source}")
        return 0
    with flag_names({"rounds": "--rounds", "repeat": "--repeat"}):
        check_counts(args.rounds, args.repeat)
    if args.layer:
        with flag_names({"layer spec": "--layer"}):
            layers = [layer_from_spec(args.layer)]
    elif args.layers == "all":
        layers = list(LAYERS)
    elif args.layers == "others":
        layers = list(OTHER_LAYERS)
    elif args.layers.startswith("random:"):
        layers = list(_random(args.layers))
    else:
        by_name = {layer.name: layer for layer in (*LAYERS, *OTHER_LAYERS)}
        unknown = [n for n in args.layers.split(",") if n not in by_name]
        if unknown:
            raise ValueError(
                f"--layers: unknown layers {unknown}; valid names are {sorted(by_name)}, 'all' or 'others'"
            )
        layers = [by_name[n] for n in args.layers.split(",")]
    dtypes = args.dtypes.split(",")
    for dtype in dtypes:
        if dtype not in ("float32", "float64"):
            raise ValueError(f"--dtypes must be float32 and/or float64, got {dtype!r}")
    peers = [p for p in args.peers.split(",") if p]
    for peer in peers:
        if peer not in PEERS:
            raise ValueError(f"--peers: unknown peer {peer!r}, valid peers are {PEERS}")
    algorithms = args.algorithms.split(",")
    if args.threads is not None and args.threads > MAX_THREADS:
        raise ValueError(f"--threads must be at most {MAX_THREADS}, got {args.threads}")
    if args.full:
        algorithms = ["auto", PREPARED, "gemm", "phase", "direct", "im2col", "winograd"]
    with flag_names({"algorithm": "--algorithms: algorithm"}):
        for name in algorithms:
            if name not in ("auto", PREPARED):
                _algorithms.get(name)
    # the progress line rewrites itself with a carriage return and an erase-line code: only on a terminal,
    # never into a file or a pipe that stderr was redirected to
    show_progress = not args.quiet and sys.stderr.isatty()

    def progress(text: str) -> None:
        if show_progress:
            sys.stderr.write("\r\033[K" + text)
            sys.stderr.flush()

    def measure(training: bool) -> dict:
        report = run_benchmark(
            layers,
            dtypes,
            [p for p in peers if p == "torch"] if training else peers,
            ["auto"] if training and args.full else algorithms,
            rounds=args.rounds,
            repeat=args.repeat,
            threads=args.threads,
            progress=progress,
            training=training,
        )
        if show_progress:
            sys.stderr.write("\r\033[K")
        return report

    if args.full:
        reports = {"forward": measure(False), "training": measure(True)}
        if args.json == "-":
            print(json.dumps(reports, indent=1))
            return 0
        print("## Forward\n\n" + format_table(reports["forward"]))
        print("\n## Training step\n\n" + format_table(reports["training"]))
        if args.json:
            save_json(reports, args.json)
        return 0
    report = measure(args.backward)
    if args.json == "-":
        print(json.dumps(report, indent=1))
        return 0
    print(format_table(report))
    if args.json:
        save_json(report, args.json)
    return 0
