"""``tconv explain``: a transposed convolution step by step in the terminal."""

from __future__ import annotations

import argparse

import numpy as np

from . import parse_padding_option, parse_sizes

EXPLAIN_EXAMPLES = """\
examples:
  tconv explain                                  TensorFlow's worked example: 2x2 input, 3x3 kernel, stride 2 (first output 67)
  tconv explain --input-size 3x3 --kernel-size 4 --stride 2 --padding 1
  tconv explain --input-size 4 --kernel-size 3 --stride 2 --dilation 2 --values random --seed 1
  tconv explain --input-size 3x3 --kernel-size 3 --stride 2 --padding same
  tconv explain --input-size 2x3 --kernel-size 3 --stride 2 --padding 0:1,1:0    (begin:end per axis)
  tconv explain --png views.png                  all four views: scatter, zero-insertion, matrix, overlap
  tconv explain --gif views.gif                  the scatter, one stamp per frame
  tconv explain --input-size 4 --kernel-size 3 --stride 2 --dilation 2 --view zero-insert --gif slide.gif
  tconv explain --input-size 3 --kernel-size 3 --stride 2 --channels 4,2 --groups 2 --view matrix --png m.png
  tconv explain --html explorer.html             the interactive explorer page, opening on TensorFlow's worked example
"""


def _one_or_many(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(values) == 1 else values


def _arrays(args: argparse.Namespace, input_size, kernel_size) -> tuple[np.ndarray, np.ndarray]:
    """Input ``(C_in, *i)`` and weight ``(C_in, C_out/groups, *k)`` from the options (1 channel: ``i`` and ``k``)."""
    c_in, c_out = args.channels or (1, 1)
    groups = args.groups
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(f"--groups {groups} must be positive and divide both --channels {c_in},{c_out}")
    single = (c_in, c_out, groups) == (1, 1, 1)
    x_shape = tuple(input_size) if single else (c_in, *input_size)
    w_shape = tuple(kernel_size) if single else (c_in, c_out // groups, *kernel_size)
    if args.values == "random":
        rng = np.random.default_rng(args.seed)
        return rng.integers(-9, 10, size=x_shape).astype(float), rng.integers(-9, 10, size=w_shape).astype(float)
    if args.values == "ones":
        return np.ones(x_shape), np.ones(w_shape)
    return (
        np.arange(1.0, np.prod(x_shape) + 1).reshape(x_shape),
        np.arange(1.0, np.prod(w_shape) + 1).reshape(w_shape),
    )


def _position(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    return parse_sizes(text, "--position")


def run(args: argparse.Namespace) -> int:
    from ..explain import TENSORFLOW_EXAMPLE, explain_text

    custom = (
        any(
            v is not None
            for v in (
                args.input_size,
                args.kernel_size,
                args.stride,
                args.padding,
                args.output_padding,
                args.dilation,
                args.channels,
            )
        )
        or args.values is not None
        or args.groups != 1
    )
    max_steps = None if args.steps == "all" else int(args.steps)
    files = [f for f in (args.png, args.gif, args.html) if f]
    if not custom:
        ex = TENSORFLOW_EXAMPLE
        x, w = ex["input"], ex["weight"]
        stride, padding, output_padding, dilation = ex["stride"], ex["padding"], ex["output_padding"], ex["dilation"]
        if not files:
            print(explain_text(max_steps=max_steps))
            return 0
    else:
        input_size = args.input_size or TENSORFLOW_EXAMPLE["input"].shape
        kernel_size = args.kernel_size or (3,)
        if len(kernel_size) == 1:
            kernel_size = kernel_size * len(input_size)
        if len(input_size) not in (1, 2) or len(kernel_size) != len(input_size):
            raise ValueError(
                f"--input-size and --kernel-size must both be 1-d or 2-d, got {args.input_size} and {args.kernel_size}"
            )
        x, w = _arrays(args, input_size, kernel_size)
        stride = _one_or_many(args.stride or (1,))
        padding = args.padding if args.padding is not None else 0
        output_padding = _one_or_many(args.output_padding or (0,))
        dilation = _one_or_many(args.dilation or (1,))
    single = w.ndim == x.ndim
    if not files:
        if not single:
            raise ValueError(
                "the terminal explanation shows one channel; draw --channels and --groups with --png or --gif"
            )
        print(explain_text(x, w, stride, padding, output_padding, dilation, max_steps=max_steps))
        return 0
    common = dict(
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=1 if single else args.groups,
    )
    if args.png or args.gif:
        from ..explain import pictures as viz

        position = _position(args.position)
        if args.png:
            if args.view == "all":
                fig = viz.explain_figure(x, w, **common, channel=args.channel, position=position)
            elif args.view == "scatter":
                fig = viz.scatter_figure(x, w, **common, channel=args.channel)
            elif args.view == "zero-insert":
                fig = viz.zero_insertion_figure(x, w, **common, channel=args.channel, position=position)
            elif args.view == "matrix":
                fig = viz.matrix_figure(x, w, **common, channel=args.channel, output_element=position)
            else:
                w4 = w[None, None] if single else w  # (C_in, C_out/groups, *k)
                fig = viz.overlap_figure(
                    w4.shape[2:], stride, padding, output_padding, dilation, weight=w4, groups=common["groups"]
                )
            viz.save_figure(fig, args.png)
            print(f"wrote {args.png}")
        if args.gif:
            if args.view in ("all", "scatter"):
                viz.scatter_animation(x, w, **common, path=args.gif, channel=args.channel)
            elif args.view == "zero-insert":
                viz.zero_insertion_animation(x, w, **common, path=args.gif, channel=args.channel)
            else:
                raise ValueError(f"--gif animates the views 'scatter' and 'zero-insert', got --view {args.view!r}")
            print(f"wrote {args.gif}")
    if args.html:
        from ..explain.explorer import write_explorer

        if not single:
            raise ValueError("the explorer page (--html) shows one channel; drop --channels/--groups")
        if isinstance(padding, tuple) and any(isinstance(p, tuple) for p in padding):
            raise ValueError(
                "the explorer page (--html) takes --padding as ints, 'same' or 'valid', not begin:end pairs"
            )
        if custom:
            values = args.values or "sequential"
            extra = {"values": "given", "input": x, "weight": w, "label": f"{values} values (from the command line)"}
        else:
            extra = {
                "values": "given",
                "input": x,
                "weight": w,
                "label": "TensorFlow's conv2d_transpose worked example (first output 67)",
            }
        write_explorer(
            args.html,
            input_size=x.shape,
            kernel_size=w.shape,
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            dilation=dilation,
            seed=args.seed,
            **extra,
        )
        print(f"wrote {args.html}")
    return 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tconv explain`` to the command line."""
    explain = subparsers.add_parser(
        "explain",
        help="show a transposed convolution step by step",
        description="Show a transposed convolution step by step: the input, the kernel, each "
        "scatter step, the result, why it looks like a flipped-kernel convolution, and the same "
        "result from every algorithm. With no options: TensorFlow's conv2d_transpose worked example (2x2 input, 3x3 kernel, stride 2).",
        epilog=EXPLAIN_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sizes = lambda name: lambda text: parse_sizes(text, name)  # noqa: E731
    explain.add_argument("--input-size", type=sizes("--input-size"), help="e.g. 4 or 2x3")
    explain.add_argument("--kernel-size", type=sizes("--kernel-size"), help="e.g. 3 or 3x2")
    explain.add_argument("--stride", type=sizes("--stride"))
    explain.add_argument("--padding", type=parse_padding_option, help="int, 1,2, 0:1,1:0, same or valid")
    explain.add_argument("--output-padding", type=sizes("--output-padding"))
    explain.add_argument("--dilation", type=sizes("--dilation"))
    explain.add_argument(
        "--values", choices=("sequential", "random", "ones"), help="input/kernel values (default sequential 1, 2, ...)"
    )
    explain.add_argument("--seed", type=int, default=0, help="random seed for --values random")
    explain.add_argument(
        "--steps", type=_steps, default="12", help="how many scatter steps to show, or 'all' (default 12)"
    )
    pictures = explain.add_argument_group("pictures and the explorer page (--png/--gif need matplotlib: tconv[viz])")
    pictures.add_argument("--png", metavar="PATH", help="draw the views into a PNG")
    pictures.add_argument("--gif", metavar="PATH", help="animate the scatter (or --view zero-insert) into a GIF")
    pictures.add_argument(
        "--html", metavar="PATH", help="write the interactive explorer page (one self-contained file)"
    )
    pictures.add_argument(
        "--view",
        choices=("all", "scatter", "zero-insert", "matrix", "overlap"),
        default="all",
        help="which view --png draws / --gif animates (default all; the GIF: scatter)",
    )
    pictures.add_argument("--channels", type=_channels, help="C_in,C_out for the pictures (default 1,1)")
    pictures.add_argument("--groups", type=int, default=1, help="groups for the pictures (default 1)")
    pictures.add_argument("--channel", type=int, default=0, help="the output channel drawn (default 0)")
    pictures.add_argument("--position", help="the output element drawn, e.g. 0,0 (default: the first)")
    explain.set_defaults(handler=run)


def _channels(text: str) -> tuple[int, int]:
    values = parse_sizes(text, "--channels")
    if len(values) != 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--channels must be two positive ints C_in,C_out, got {text!r}")
    return values  # type: ignore[return-value]


def _steps(text: str) -> str:
    if text != "all" and not text.isdigit():
        raise argparse.ArgumentTypeError(f"--steps must be a number or 'all', got {text!r}")
    return text
