"""``tconv translate``: a transposed convolution from one framework's convention to another's, with code."""

from __future__ import annotations

import argparse
import json

from ..translation import FRAMEWORKS, resolve, translate
from ._arguments import flag_names, sizes
from ._params import parse_params

#: The subcommand's name, its one-line help and its description (``tconv --help``, ``tconv translate --help``).
NAME = "translate"
HELP = "translate a transposed convolution between frameworks (exactly), with code"
DESCRIPTION = (
    "Translate a transposed convolution from one framework's convention to another's: the target's "
    "arguments, the weight transform, and the crop or pad the target needs after its call when it cannot "
    "express the source's output window; then the code for the target framework."
)

EXAMPLES = """\
parameters are the source framework's own argument names, written name=value
(ints, 2x2 or 2,2 tuples, Python literals such as [[0,0],[1,1],[1,1],[0,0]], strings).

examples:
  tconv translate --from keras --to torch --weight-shape 3x3x8x4 strides=2 padding=same
      Keras "same" with a 3x3 kernel: PyTorch cannot express it; prints the call plus the crop
  tconv translate --from tensorflow --to torch --weight-shape 4x4x8x3 --input-shape 1x16x16x3 \\
      output_shape=1,32,32,8 strides=2 padding=SAME
  tconv translate --from torch --to all --weight-shape 16x8x4x4 stride=2 padding=1
  tconv translate --from jax --to onnx --weight-shape 3x3x4x8 strides=2,2 padding=SAME transpose_kernel=true
  tconv translate --from onnx --to keras --weight-shape 4x2x3x3 strides=2,2 auto_pad=SAME_LOWER --json
"""


#: The parameters of :func:`tconv.translate` by the option that sets each (for its messages).
FLAGS = {"weight_shape": "--weight-shape", "input_shape": "--input-shape"}


def run(args: argparse.Namespace) -> int:
    with flag_names(FLAGS):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    params = parse_params(args.params)
    # the source's errors first, once (with --to all they would otherwise read as every target's)
    resolve(params, args.source, weight_shape=args.weight_shape, input_shape=args.input_shape)
    targets = FRAMEWORKS if args.target == "all" else (args.target,)
    plans, failures = [], {}
    for target in targets:
        try:
            plans.append(
                translate(params, args.source, target, weight_shape=args.weight_shape, input_shape=args.input_shape)
            )
        except ValueError as error:
            if args.target != "all":
                raise
            failures[target] = str(error)
    if args.json:
        data = [dict(plan.to_dict(), code=plan.to_code()) for plan in plans]
        if args.target != "all":
            print(json.dumps(data[0], indent=2))
        else:
            print(json.dumps({"plans": data, "inexpressible": failures}, indent=2))
        return 0
    for index, plan in enumerate(plans):
        parts = [] if args.code_only else [plan.describe() + "\n"]
        if not args.no_code:
            parts.append(plan.to_code())
        print(("\n" if index else "") + "\n".join(parts), end="")
    for target, reason in failures.items():
        print(f"\n{target}: not expressible: {reason}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tconv translate``."""
    parser.add_argument("--from", dest="source", required=True, choices=FRAMEWORKS, help="the source convention")
    parser.add_argument(
        "--to", dest="target", required=True, choices=(*FRAMEWORKS, "all"), help="the target convention, or all"
    )
    parser.add_argument(
        "--weight-shape",
        required=True,
        type=sizes("--weight-shape"),
        help="the source's weight/kernel/filters shape in its layout, e.g. 3x3x8x4 (Keras, TF)",
    )
    parser.add_argument(
        "--input-shape",
        type=sizes("--input-shape"),
        help="the source's input shape in its layout (needed when it pins the output size)",
    )
    parser.add_argument("params", nargs="*", metavar="name=value", help="the source's arguments")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the plan (and code) as JSON")
    output.add_argument("--code-only", action="store_true", help="print only the code")
    output.add_argument("--no-code", action="store_true", help="print only the plan")
