"""``tconv audit``: what each transposed convolution of a model computes, and where tools compute otherwise."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._arguments import flag_names, input_path, output_path, sizes

#: The subcommand's name, its one-line help and its description (``tconv --help``, ``tconv audit --help``).
NAME = "audit"
HELP = "audit the transposed convolutions of an .onnx or .keras model against runtimes and converters"
DESCRIPTION = (
    "Read a model (.onnx with the onnx package; .keras without importing Keras, its weights with h5py) and, for "
    "each transposed convolution, say what it computes (its window of the full output), its exact equivalent in "
    "every other framework with the weight conversion, the checkerboard of its trained weights, and which known "
    "differences of runtimes and converters apply to it for the versions installed or named with --versions. "
    "--verify runs every layer through the installed runtimes. Exit status: 0 when no layer is at risk for the "
    "targets asked about, 3 when one is (a tool fails on it or computes something else), 2 for a usage error."
)

EXAMPLES = """\
examples:
  tconv audit generator.onnx                        one line per layer; exit status 3 if a layer is at risk
  tconv audit generator.onnx --details              equivalents, weight conversion, every entry's source and fix
  tconv audit unet.onnx --input-shape 1x3x64x64     fix the input size the model leaves open
  tconv audit decoder.keras --targets torch,onnxruntime,tf2onnx   only these frameworks and tools
  tconv audit model.onnx --versions onnxruntime=1.12.1   check another version than the installed one
  tconv audit model.onnx --verify                   run every layer through the installed runtimes
  tconv audit model.keras --json                    machine-readable
  tconv audit model.onnx --html report.html         a self-contained page, one section per layer
"""


def _input_shape(text: str) -> tuple[str | None, tuple[int, ...]]:
    """``1x3x64x64`` or ``NAME=1x3x64x64``."""
    name, _, shape = text.rpartition("=")
    return (name or None), sizes("--input-shape")(shape)


def _versions(texts: list[str]) -> dict[str, str]:
    versions = {}
    for text in texts:
        tool, sep, version = text.partition("=")
        if not sep or not tool or not version:
            raise ValueError(f"--versions takes TOOL=VERSION (e.g. onnxruntime=1.12.1), got {text!r}")
        versions[tool] = version
    return versions


def run(args: argparse.Namespace) -> int:
    from ..audit import audit

    input_shape: object = None
    if args.input_shape:
        named = {name: shape for name, shape in args.input_shape}
        if None in named:
            if len(args.input_shape) > 1:
                raise ValueError("--input-shape: give one SHAPE, or NAME=SHAPE for each input")
            input_shape = named[None]
        else:
            input_shape = named
    targets = None if args.targets is None else [t.strip() for t in args.targets.split(",") if t.strip()]
    with flag_names({"input_shape": "--input-shape", "targets": "--targets", "versions": "--versions"}):
        report = audit(
            args.model,
            input_shape=input_shape,  # type: ignore[arg-type]
            targets=targets,
            versions=_versions(args.versions),
            verify=args.verify,
        )
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.to_text(details=args.details))
    if args.html is not None:
        Path(args.html).write_text(report.to_html(), encoding="utf-8")
        if not args.json:
            print(f"wrote {args.html}", file=sys.stderr)
    return report.exit_code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tconv audit``."""
    parser.add_argument("model", type=input_path("model"), help="an .onnx or .keras file")
    parser.add_argument(
        "--input-shape",
        type=_input_shape,
        action="append",
        metavar="[NAME=]SHAPE",
        help="the model's input shape, e.g. 1x3x64x64 (ONNX models that leave it open); repeat NAME=SHAPE per input",
    )
    parser.add_argument(
        "--targets",
        help="comma-separated frameworks and tools to check, at least one of: tconv, torch, tensorflow, keras, jax, "
        "onnx, onnxruntime, onnx2torch, tf2onnx, nobuco (default: all)",
    )
    parser.add_argument(
        "--versions",
        action="append",
        default=[],
        metavar="TOOL=VERSION",
        help="check this version of a tool instead of the installed one (repeatable)",
    )
    parser.add_argument("--verify", action="store_true", help="run every layer through the installed runtimes")
    parser.add_argument("--details", action="store_true", help="everything about each layer, not one line")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--html",
        metavar="PATH",
        type=output_path("--html", (".html", ".htm")),
        help="also write a self-contained HTML report (the path is checked before the audit runs)",
    )
