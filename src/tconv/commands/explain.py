"""``tconv explain``: a transposed convolution step by step in the terminal."""

from __future__ import annotations

import argparse

import numpy as np

from ..cli import parse_padding_option, parse_sizes

EXPLAIN_EXAMPLES = """\
examples:
  tconv explain                                  the seed's 2x2 input, 3x3 kernel, stride 2 (first output 67)
  tconv explain --input-size 3x3 --kernel-size 4 --stride 2 --padding 1
  tconv explain --input-size 4 --kernel-size 3 --stride 2 --dilation 2 --values random --seed 1
  tconv explain --input-size 3x3 --kernel-size 3 --stride 2 --padding same
  tconv explain --input-size 2x3 --kernel-size 3 --stride 2 --padding 0:1,1:0    (begin:end per axis)
"""


def _one_or_many(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(values) == 1 else values


def run(args: argparse.Namespace) -> int:
    from ..explain import SEED_EXAMPLE, explain_text

    custom = any(
        v is not None
        for v in (args.input_size, args.kernel_size, args.stride, args.padding, args.output_padding, args.dilation)
    ) or args.values is not None
    max_steps = None if args.steps == "all" else int(args.steps)
    if not custom:
        print(explain_text(max_steps=max_steps))
        return 0
    input_size = args.input_size or SEED_EXAMPLE["input"].shape
    kernel_size = args.kernel_size or (3,)
    if len(kernel_size) == 1:
        kernel_size = kernel_size * len(input_size)
    if len(input_size) not in (1, 2) or len(kernel_size) != len(input_size):
        raise ValueError(
            f"--input-size and --kernel-size must both be 1-d or 2-d, got {args.input_size} and {args.kernel_size}"
        )
    if args.values == "random":
        rng = np.random.default_rng(args.seed)
        x = rng.integers(-9, 10, size=input_size).astype(float)
        w = rng.integers(-9, 10, size=kernel_size).astype(float)
    else:
        x = np.arange(1.0, np.prod(input_size) + 1).reshape(input_size)
        w = np.arange(1.0, np.prod(kernel_size) + 1).reshape(kernel_size)
    text = explain_text(
        x,
        w,
        _one_or_many(args.stride or (1,)),
        args.padding if args.padding is not None else 0,
        _one_or_many(args.output_padding or (0,)),
        _one_or_many(args.dilation or (1,)),
        max_steps=max_steps,
    )
    print(text)
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tconv explain`` to the command line."""
    explain = subparsers.add_parser(
        "explain",
        help="show a transposed convolution step by step",
        description="Show a transposed convolution step by step: the input, the kernel, each "
        "scatter step, the result, why it looks like a flipped-kernel convolution, and the same "
        "result from every algorithm. With no options: the worked example of seed 004.",
        epilog=EXPLAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sizes = lambda name: (lambda text: parse_sizes(text, name))  # noqa: E731
    explain.add_argument("--input-size", type=sizes("--input-size"), help="e.g. 4 or 2x3")
    explain.add_argument("--kernel-size", type=sizes("--kernel-size"), help="e.g. 3 or 3x2")
    explain.add_argument("--stride", type=sizes("--stride"))
    explain.add_argument("--padding", type=parse_padding_option, help="int, 1,2, 0:1,1:0, same or valid")
    explain.add_argument("--output-padding", type=sizes("--output-padding"))
    explain.add_argument("--dilation", type=sizes("--dilation"))
    explain.add_argument("--values", choices=("sequential", "random"), help="input/kernel values (default sequential 1, 2, ...)")
    explain.add_argument("--seed", type=int, default=0, help="random seed for --values random")
    explain.add_argument("--steps", type=_steps, default="12", help="how many scatter steps to show, or 'all' (default 12)")
    explain.set_defaults(handler=run)


def _steps(text: str) -> str:
    if text != "all" and not text.isdigit():
        raise argparse.ArgumentTypeError(f"--steps must be a number or 'all', got {text!r}")
    return text
