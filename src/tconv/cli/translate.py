"""``tconv translate``: a transposed convolution from one framework's convention to another's, with code."""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..translation import (
    FRAMEWORKS,
    MissingWeightShape,
    accepted_parameters,
    possessive,
    read_call,
    resolve,
    translate,
    weight_layout,
)
from ..weights import from_torch_layout
from ._arguments import flag_names, sizes
from ._params import is_call, parse_call, parse_params

#: The subcommand's name, its one-line help and its description (``tconv --help``, ``tconv translate --help``).
NAME = "translate"
HELP = "translate a transposed convolution between frameworks (exactly), with code"
DESCRIPTION = (
    "Translate a transposed convolution from one framework's convention to another's: the target's "
    "arguments, the weight transform, and the crop or pad the target needs after its call when it cannot "
    "express the source's output window; then the code for the target framework."
)

EXAMPLES = """\
the layer is written as in its framework: the call itself (quoted for the shell), or its arguments as
name=value words, each name once (ints, 2x2 or 2,2 tuples, Python literals such as (2,2) or
[[0,0],[1,1],[1,1],[0,0]], none, true or false for a flag, strings).
The call names the framework (--from is needed only for name=value words that several frameworks use) and,
for a layer, its weight's shape (--weight-shape is needed where the words do not give it).

examples:
  tconv translate --to keras "torch.nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1)"
      a PyTorch layer as written: prints the Keras layers (Conv2DTranspose, then Cropping2D) with the weights
  tconv translate --from torch --to jax in_channels=64 out_channels=32 kernel_size=4 stride=2 padding=1
  tconv translate --from keras --to torch --input-shape 1x16x16x64 filters=32 kernel_size=3 strides=2 padding=same
      Keras "same" with a 3x3 kernel: PyTorch cannot express it; prints the module plus the crop
  tconv translate --from tensorflow --to torch --weight-shape 4x4x8x3 --input-shape 1x16x16x3 \\
      output_shape=1,32,32,8 strides=2 padding=SAME
  tconv translate --from torch --to all --weight-shape 16x8x4x4 stride=2 padding=1
  tconv translate --from jax --to onnx --weight-shape 3x3x4x8 strides=2,2 padding=SAME transpose_kernel=true
  tconv translate --to keras --weight-shape 4x2x3x3 "helper.make_node('ConvTranspose', ['X', 'W'], ['Y'], \\
      strides=[2, 2], auto_pad='SAME_LOWER')" --json
"""


def _shape_words(shape: tuple[int | str, ...]) -> str:
    """``--weight-shape``'s value for a shape with names for what is not known: 3x3x32x64, or 3,3,32,C_in."""
    return ("x" if all(isinstance(v, int) for v in shape) else ",").join(str(v) for v in shape)


def _example_shape(framework: str) -> str:
    """A weight shape in ``framework``'s layout: PyTorch's ``64x32x3x3`` (64 in, 32 out, 3x3) moved into it."""
    layout = "jax" if framework == "jax" else "torch" if framework in ("tconv", "onnx") else framework
    weight = np.broadcast_to(np.zeros((), np.float32), (64, 32, 3, 3))  # shapes only: no memory
    return "x".join(map(str, from_torch_layout(weight, layout).shape))


def _missing_shape(error: MissingWeightShape, args: argparse.Namespace) -> str:
    """The error of a layer whose words do not give its weight's shape, in the command line's terms."""
    layout = weight_layout(error.framework)
    if error.partial is None:
        return (
            f"{possessive(error.framework)} call does not give the weight's shape: pass --weight-shape, the shape of "
            f"its weight {layout} (e.g. --weight-shape {_example_shape(error.framework)} for 64 input and 32 output "
            "channels and a 3x3 kernel)"
        )
    missing = " and ".join(v for v in error.partial if isinstance(v, str))
    shape = _shape_words(error.partial)
    hint = f"pass --weight-shape {shape} with {missing} filled in (the layout is {layout})"
    if args.input_shape is None and any(v in ("C_in", "C") for v in error.partial):
        hint += ", or --input-shape (its channels are the input channels)"
    return f"{possessive(error.framework)} layer gives the weight shape {shape} but not {missing}: {hint}"


def _read(args: argparse.Namespace) -> tuple[str, dict[str, object], int | None]:
    """The source framework, its arguments and the spatial axes a call's name gives (None for words)."""
    words = list(args.params)
    if is_call(" ".join(words)):
        callee, positional, keywords = parse_call(" ".join(words))
        call = read_call(callee, positional, keywords, args.source)
        return call.framework, call.params, call.ndim
    params = parse_params(words)
    for key in ("weight_shape", "input_shape"):
        if key in params:
            flag = "--" + key.replace("_", "-")
            value = params[key]
            shape = _shape_words(tuple(value)) if isinstance(value, (tuple, list)) else value
            raise ValueError(f"the {key.replace('_', ' ')} is an option here: {flag} {shape}")
    if args.source is None:
        readers = [f for f in FRAMEWORKS if set(params) <= set(accepted_parameters(f))]
        if "torch" in readers and "tconv" in readers:
            readers.remove("tconv")  # PyTorch's names, read as PyTorch reads them
        if len(readers) != 1:
            which = f"these arguments are those of {', '.join(readers)}" if readers else "no framework takes them all"
            raise ValueError(
                f"say which framework the arguments are written for with --from ({which}), or write the call"
            )
        return readers[0], params, None
    return args.source, params, None


#: The parameters of :func:`tconv.translate` by the option that sets each (for its messages).
FLAGS = {"weight_shape": "--weight-shape", "input_shape": "--input-shape"}


def run(args: argparse.Namespace) -> int:
    with flag_names(FLAGS):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    source, params, ndim = _read(args)
    shapes = {"weight_shape": args.weight_shape, "input_shape": args.input_shape, "ndim": ndim}
    try:
        # the source's errors first, once (with --to all they would otherwise read as every target's)
        resolve(params, source, **shapes)
    except MissingWeightShape as error:
        raise ValueError(_missing_shape(error, args)) from None
    targets = FRAMEWORKS if args.target == "all" else (args.target,)
    plans, failures = [], {}
    for target in targets:
        try:
            plans.append(translate(params, source, target, **shapes))
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
    parser.add_argument(
        "--from",
        dest="source",
        choices=FRAMEWORKS,
        help="the source convention (read off the call when the layer is written as one)",
    )
    parser.add_argument(
        "--to", dest="target", required=True, choices=(*FRAMEWORKS, "all"), help="the target convention, or all"
    )
    parser.add_argument(
        "--weight-shape",
        type=sizes("--weight-shape"),
        help="the source's weight/kernel/filters shape in its layout, e.g. 3x3x8x4 (Keras, TF); "
        "read off a layer's arguments where they give it",
    )
    parser.add_argument(
        "--input-shape",
        type=sizes("--input-shape"),
        help="the source's input shape in its layout (needed when it pins the output size)",
    )
    parser.add_argument(
        "params", nargs="*", metavar="layer", help="the layer: its call as written, or its arguments as name=value"
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the plan (and code) as JSON")
    output.add_argument("--code-only", action="store_true", help="print only the code")
    output.add_argument("--no-code", action="store_true", help="print only the plan")
