"""``tconv design``: the transposed convolutions that give an output size or up-sampling factor, ranked."""

from __future__ import annotations

import argparse
import json

from ._arguments import flag_names, integer

#: The subcommand's name, its one-line help and its description (``tconv --help``, ``tconv design --help``).
NAME = "design"
HELP = "find and rank the transposed convolutions for an output size or up-sampling factor"
DESCRIPTION = (
    "Enumerate (kernel, stride, padding, output_padding, dilation) within limits that turn the "
    "input size into the wanted output size (or up-sample by a factor for every size), ranked: no holes "
    "(phases without a kernel tap), even overlap (kernel divisible by stride: no checkerboard), exact for "
    "every size, no output_padding, no dilation, then smaller kernels and less padding."
)

EXAMPLES = """\
examples:
  tconv design --factor 2                          2x up-sampling for every input size (S = n, F = n + 2P first)
  tconv design --factor 4 --max-kernel 12 --top 5
  tconv design --input-size 7 --output-size 14     one size: strides other than 2 also qualify
  tconv design --input-size 16 --output-size 33 --max-dilation 2 --json
"""


#: The parameters of :func:`tconv.design.upsampling_designs` by the option that sets each (for its messages).
FLAGS = {
    "factor": "--factor",
    "input_size": "--input-size",
    "output_size": "--output-size",
    "max_kernel": "--max-kernel",
    "max_stride": "--max-stride",
    "max_padding": "--max-padding",
    "max_dilation": "--max-dilation",
    "output_padding=False": "--no-output-padding",
}


def run(args: argparse.Namespace) -> int:
    from ..design import upsampling_designs

    with flag_names(FLAGS):
        designs = upsampling_designs(
            args.input_size,
            args.output_size,
            factor=args.factor,
            max_kernel=args.max_kernel,
            max_stride=args.max_stride,
            max_padding=args.max_padding,
            max_dilation=args.max_dilation,
            output_padding=not args.no_output_padding,
        )
    shown = designs if args.top == 0 else designs[: args.top]
    if args.json:
        print(json.dumps({"count": len(designs), "designs": [d.to_dict() for d in shown]}, indent=2))
        return 0
    if args.factor is not None:
        goal = f"{args.factor}x up-sampling for every input size" + (
            f" (input {args.input_size} -> {args.factor * args.input_size})" if args.input_size else ""
        )
    else:
        goal = f"input {args.input_size} -> output {args.output_size}"
    if not designs:
        print(
            f"{goal}: no design within the limits (raise --max-kernel, --max-stride, --max-padding or --max-dilation)"
        )
        return 1
    print(f"{goal}: {len(designs)} design(s), best first (PyTorch's parameters; taps = kernel taps per output phase)")
    print(
        f"{'rank':>4}  {'kernel':>6}  {'stride':>6}  {'padding':>7}  {'out_pad':>7}  {'dilation':>8}  "
        f"{'taps':<10}  flags"
    )
    for rank, d in enumerate(shown, 1):
        taps = ",".join(map(str, d.taps_per_phase))
        flags = "; ".join(d.flags) or "-"
        print(
            f"{rank:>4}  {d.kernel_size:>6}  {d.stride:>6}  {d.padding:>7}  {d.output_padding:>7}  "
            f"{d.dilation:>8}  {taps:<10}  {flags}"
        )
    if len(shown) < len(designs):
        print(f"... {len(designs) - len(shown)} more (--top 0 shows all)")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tconv design``."""
    positive = {name: integer(name, 1) for name in FLAGS.values()}
    parser.add_argument(
        "--factor", type=positive["--factor"], help="up-sampling factor that must hold for every input size"
    )
    parser.add_argument("--input-size", type=positive["--input-size"], help="the input size (one axis)")
    parser.add_argument("--output-size", type=positive["--output-size"], help="the wanted output size (one axis)")
    parser.add_argument(
        "--max-kernel", type=positive["--max-kernel"], default=8, help="largest kernel size (default 8)"
    )
    parser.add_argument(
        "--max-stride", type=positive["--max-stride"], help="largest stride (default ceil(output/input) + 1)"
    )
    parser.add_argument(
        "--max-padding", type=integer("--max-padding", 0), help="largest padding (default: --max-kernel)"
    )
    parser.add_argument(
        "--max-dilation", type=positive["--max-dilation"], default=1, help="largest dilation (default 1)"
    )
    parser.add_argument("--no-output-padding", action="store_true", help="only designs with output_padding 0")
    parser.add_argument(
        "--top", type=integer("--top", 0), default=10, help="how many designs to show (0: all; default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print the designs as JSON")
