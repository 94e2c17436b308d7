"""``tconv explain``: a transposed convolution step by step in the terminal."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import require
from ._arguments import (
    LAYER_FLAGS,
    add_layer_options,
    channels,
    flag_names,
    integer,
    one_or_many,
    output_path,
    sizes,
)

#: The subcommand's name, its one-line help and its description (``tconv --help``, ``tconv explain --help``).
NAME = "explain"
HELP = "show a transposed convolution step by step"
DESCRIPTION = (
    "Show a transposed convolution step by step: the input, the kernel, each "
    "scatter step, the result, why it looks like a flipped-kernel convolution, and the same "
    "result from every algorithm. With no options: TensorFlow's conv2d_transpose worked example "
    "(2x2 input, 3x3 kernel, stride 2)."
)

EXAMPLES = """\
examples:
  tconv explain                                  TensorFlow's conv2d_transpose worked example
                                                 (2x2 input, 3x3 kernel, stride 2: the first output is 67)
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


#: The largest problem ``tconv explain`` builds. Its arrays are generated from the sizes, so the sizes are its
#: data: each array (input, kernel, full output; channels included) has at most MAX_ELEMENTS elements, and
#: one algorithm's work (input elements x kernel elements) is at most MAX_WORK multiply-adds.
MAX_ELEMENTS = 10**6
MAX_WORK = 10**8
#: The pictures draw every cell (matplotlib patches, about a millisecond each): --png and --html take
#: at most MAX_PICTURE_CELLS cells per array (input, kernel, full output, output), --gif (40 frames at most,
#: each a whole drawing) at most MAX_ANIMATION_CELLS.
MAX_PICTURE_CELLS = 1600
MAX_ANIMATION_CELLS = 400


@dataclass(frozen=True)
class _Problem:
    """What to explain: the arrays and the arguments of :func:`tconv.conv_transpose`."""

    x: np.ndarray  # (*i), or (C_in, *i) with --channels
    w: np.ndarray  # (*k), or (C_in, C_out/groups, *k)
    stride: int | tuple[int, ...]
    padding: Any
    output_padding: int | tuple[int, ...]
    dilation: int | tuple[int, ...]
    groups: int
    custom: bool  # False: TensorFlow's worked example

    @property
    def single(self) -> bool:
        """One channel: ``x`` of shape ``i`` and ``w`` of shape ``k``."""
        return self.w.ndim == self.x.ndim

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of the pictures (those of :func:`tconv.conv_transpose` after the arrays)."""
        return {name: getattr(self, name) for name in ("stride", "padding", "output_padding", "groups", "dilation")}


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


def _problem(args: argparse.Namespace) -> _Problem:
    from ..explain import TENSORFLOW_EXAMPLE as EXAMPLE

    given = (args.input_size, args.kernel_size, args.stride, args.padding, args.output_padding, args.dilation)
    custom = any(v is not None for v in (*given, args.channels, args.values)) or args.groups != 1
    if not custom:
        from ..geometry import conv_transpose_geometry

        x, w = EXAMPLE["input"], EXAMPLE["weight"]
        window = (EXAMPLE["stride"], EXAMPLE["padding"], EXAMPLE["output_padding"], EXAMPLE["dilation"])
        _check_drawn(args, conv_transpose_geometry(x.shape, w.shape, *window).output_size, 1)
        return _Problem(
            x, w, EXAMPLE["stride"], EXAMPLE["padding"], EXAMPLE["output_padding"], EXAMPLE["dilation"], 1, False
        )
    input_size = args.input_size or EXAMPLE["input"].shape
    kernel_size = args.kernel_size or (3,)
    if len(kernel_size) == 1:
        kernel_size = kernel_size * len(input_size)
    if len(input_size) not in (1, 2) or len(kernel_size) != len(input_size):
        raise ValueError(
            f"--input-size and --kernel-size must both be 1-d or 2-d, got {args.input_size} and {args.kernel_size}"
        )
    _check_size(args, input_size, kernel_size)
    x, w = _arrays(args, input_size, kernel_size)
    return _Problem(
        x,
        w,
        one_or_many(args.stride, 1),
        args.padding if args.padding is not None else 0,
        one_or_many(args.output_padding, 0),
        one_or_many(args.dilation, 1),
        1 if w.ndim == x.ndim else args.groups,
        True,
    )


def _check_size(args: argparse.Namespace, input_size: tuple[int, ...], kernel_size: tuple[int, ...]) -> None:
    """Refuse, before allocating anything, a problem larger than :data:`MAX_ELEMENTS`/:data:`MAX_WORK`, or than
    the pictures asked for can draw (:data:`MAX_PICTURE_CELLS`, :data:`MAX_ANIMATION_CELLS`)."""
    from ..geometry import conv_transpose_geometry

    c_in, c_out = args.channels or (1, 1)
    g = conv_transpose_geometry(
        input_size,
        kernel_size,
        one_or_many(args.stride, 1),
        args.padding if args.padding is not None else 0,
        one_or_many(args.output_padding, 0),
        one_or_many(args.dilation, 1),
    )
    cells = {
        "--input-size": math.prod(input_size),
        "--kernel-size": math.prod(kernel_size),
        "full output": math.prod(g.full_size),
        "output": math.prod(g.output_size),
    }
    arrays = {
        "--input-size": c_in * cells["--input-size"],
        "--kernel-size": c_in * c_out * cells["--kernel-size"],
        "full output": c_out * cells["full output"],
    }
    _check_drawn(args, g.output_size, c_out)
    with_channels = f" with --channels {c_in},{c_out}" if args.channels else ""
    for what, count in arrays.items():
        if count > MAX_ELEMENTS:
            raise ValueError(
                f"{_what(what, g)}{with_channels} has {count} elements: tconv explain builds arrays of at most "
                f"{MAX_ELEMENTS}"
            )
    work = arrays["--input-size"] * cells["--kernel-size"] * c_out
    if work > MAX_WORK:
        raise ValueError(
            f"--input-size {_size(input_size)} with --kernel-size {_size(kernel_size)}{with_channels} is {work} "
            f"multiply-adds: tconv explain computes at most {MAX_WORK}"
        )
    for flag, limit, drawing in (
        ("--png", MAX_PICTURE_CELLS, "draws"),
        ("--html", MAX_PICTURE_CELLS, "draws"),
        ("--gif", MAX_ANIMATION_CELLS, "animates"),
    ):
        if getattr(args, flag[2:]):
            for what, count in cells.items():
                if count > limit:
                    raise ValueError(
                        f"{flag} {drawing} every cell, at most {limit} per array: {_what(what, g)} has {count} cells"
                    )


def _check_drawn(args: argparse.Namespace, output_size: tuple[int, ...], c_out: int) -> None:
    """--channel and --position must pick an output channel and element, checked whether or not a picture
    is asked for (``tconv.explain.pictures`` checks them again, by their parameter names)."""
    from ..explain.pictures._problem import element

    if args.channel >= c_out:
        raise ValueError(
            f"--channel must be an output channel in [0, {c_out}) (--channels C_in,C_out), got {args.channel}"
        )
    if args.position is not None:
        element(args.position, output_size, "--position")


def _what(what: str, g: Any) -> str:
    """An array named by the option that sets its size, or by what it is."""
    sizes = {"--input-size": g.input_size, "--kernel-size": g.kernel_size, "full output": g.full_size}
    size = sizes.get(what, g.output_size)
    if what.startswith("--"):
        return f"{what} {_size(size)}"
    return (
        f"the {what} ({_size(size)}, from --input-size {_size(g.input_size)}, --kernel-size {_size(g.kernel_size)}, "
        f"--stride {_size(g.stride)}, --dilation {_size(g.dilation)})"
    )


def _size(size: tuple[int, ...]) -> str:
    return "x".join(map(str, size))


def _png(args: argparse.Namespace, p: _Problem) -> None:
    from ..artifacts import analyze
    from ..explain import pictures

    position = args.position
    if args.view == "overlap":
        w = p.w[None, None] if p.single else p.w  # (C_in, C_out/groups, *k)
        fig = pictures.overlap_figure(
            analyze(None, p.stride, p.padding, p.output_padding, p.dilation, weight=w, groups=p.groups)
        )
    else:
        problem = pictures.problem(p.x, p.w, **p.arguments(), channel=args.channel)
        if args.view == "all":
            fig = pictures.explain_figure(problem, position=position)
        elif args.view == "scatter":
            fig = pictures.scatter_figure(problem)
        elif args.view == "zero-insert":
            fig = pictures.zero_insertion_figure(problem, position=position)
        else:
            fig = pictures.matrix_figure(problem, output_element=position)
    pictures.save_figure(fig, args.png)
    print(f"wrote {args.png}")


def _gif(args: argparse.Namespace, p: _Problem) -> None:
    from ..explain import pictures

    if args.view not in ("all", "scatter", "zero-insert"):
        raise ValueError(f"--gif animates the views 'scatter' and 'zero-insert', got --view {args.view!r}")
    problem = pictures.problem(p.x, p.w, **p.arguments(), channel=args.channel)
    if args.view == "zero-insert":
        pictures.zero_insertion_animation(problem, path=args.gif)
    else:
        pictures.scatter_animation(problem, path=args.gif)
    print(f"wrote {args.gif}")


def _html(args: argparse.Namespace, p: _Problem) -> None:
    from ..explain.explorer import write_explorer

    if not p.single:
        raise ValueError("the explorer page (--html) shows one channel; drop --channels/--groups")
    if isinstance(p.padding, tuple) and any(isinstance(v, tuple) for v in p.padding):
        raise ValueError("the explorer page (--html) takes --padding as ints, 'same' or 'valid', not begin:end pairs")
    if p.custom:
        label = f"{args.values or 'sequential'} values (from the command line)"
    else:
        label = "TensorFlow's conv2d_transpose worked example (first output 67)"
    write_explorer(
        args.html,
        input_size=p.x.shape,
        kernel_size=p.w.shape,
        stride=p.stride,
        padding=p.padding,
        output_padding=p.output_padding,
        dilation=p.dilation,
        seed=args.seed,
        values="given",
        input=p.x,
        weight=p.w,
        label=label,
    )
    print(f"wrote {args.html}")


def run(args: argparse.Namespace) -> int:
    with flag_names(LAYER_FLAGS):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from ..explain import explain_text

    for flag in ("--png", "--gif"):
        if getattr(args, flag[2:]):
            require("matplotlib", flag)
    p = _problem(args)
    if not (args.png or args.gif or args.html):
        if not p.single:
            raise ValueError(
                "the terminal explanation shows one channel; draw --channels and --groups with --png or --gif"
            )
        max_steps = None if args.steps == "all" else args.steps
        if not p.custom:
            print(explain_text(max_steps=max_steps))
        else:
            print(explain_text(p.x, p.w, p.stride, p.padding, p.output_padding, p.dilation, max_steps=max_steps))
        return 0
    if args.png:
        _png(args, p)
    if args.gif:
        _gif(args, p)
    if args.html:
        _html(args, p)
    return 0


def add_arguments(explain: argparse.ArgumentParser) -> None:
    """The options of ``tconv explain``."""
    explain.add_argument("--input-size", type=sizes("--input-size"), help="e.g. 4 or 2x3 (default 2x2)")
    add_layer_options(explain, kernel_size_help="e.g. 3 or 3x2")
    explain.add_argument(
        "--values", choices=("sequential", "random", "ones"), help="input/kernel values (default sequential 1, 2, ...)"
    )
    explain.add_argument(
        "--seed", type=integer("--seed", 0), default=0, help="non-negative; picks the values of --values random"
    )
    explain.add_argument(
        "--steps", type=_steps, default="12", help="how many scatter steps to show, or 'all' (default 12)"
    )
    pictures = explain.add_argument_group(
        'pictures and the explorer page (--png/--gif need matplotlib: pip install ".[viz]" in a clone of tconv)'
    )
    pictures.add_argument(
        "--png", metavar="PATH", type=output_path("--png", (".png",)), help="draw the views into a PNG"
    )
    pictures.add_argument(
        "--gif",
        metavar="PATH",
        type=output_path("--gif", (".gif",)),
        help="animate the scatter (or --view zero-insert) into a GIF",
    )
    pictures.add_argument(
        "--html",
        metavar="PATH",
        type=output_path("--html", (".html", ".htm")),
        help="write the interactive explorer page (one self-contained file)",
    )
    pictures.add_argument(
        "--view",
        choices=("all", "scatter", "zero-insert", "matrix", "overlap"),
        default="all",
        help="which view --png draws / --gif animates (default all; the GIF: scatter)",
    )
    pictures.add_argument("--channels", type=channels, help="C_in,C_out for the pictures (default 1,1)")
    pictures.add_argument(
        "--groups", type=integer("--groups", 1), default=1, help="groups for the pictures (positive; default 1)"
    )
    pictures.add_argument(
        "--channel", type=integer("--channel", 0), default=0, help="the output channel drawn (default 0)"
    )
    pictures.add_argument(
        "--position",
        type=sizes("--position", 0),
        help="the output element drawn, e.g. 0,0 (default: the first)",
    )


def _steps(text: str) -> str | int:
    if text == "all":
        return text
    try:
        return integer("--steps", 0)(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"--steps must be a non-negative integer or 'all', got {text!r}") from None
