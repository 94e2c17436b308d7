"""``tconv artifacts``: the overlap map, per-phase tap counts and checkerboard verdict."""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING

import numpy as np

from .._validate import real_array, require, show_bytes
from ._arguments import (
    LAYER_FLAGS,
    add_layer_options,
    channels,
    flag_names,
    input_path,
    integer,
    one_or_many,
    output_path,
    sizes,
)

if TYPE_CHECKING:
    from ..artifacts import Analysis

#: The subcommand's name, its one-line help and its description (``tconv --help``, ``tconv artifacts --help``).
NAME = "artifacts"
HELP = "overlap map, taps per phase and checkerboard verdict of a configuration"
DESCRIPTION = (
    "How many kernel taps reach each output of a transposed convolution: the overlap "
    "map, the taps per phase (full-output position mod stride), a uniformity score, holes, the "
    "verdict and advice. With weights (--weights or --weights-file): each phase's gain, the "
    "predicted checkerboard on a constant input, checked by running tconv.conv_transpose."
)

EXAMPLES = """\
examples:
  tconv artifacts --kernel-size 3 --stride 2                  1-d: taps per phase [2, 1], checkerboard
  tconv artifacts --kernel-size 3x3 --stride 2 --padding 1 --output-padding 1
  tconv artifacts --kernel-size 3 --stride 2 --dilation 2     holes: odd outputs get no tap
  tconv artifacts --kernel-size 4x4 --stride 2 --padding 1 --weights random --channels 3,8
  tconv artifacts --weights-file layer.npy --stride 2 --padding 1   a trained (C_in, C_out/g, *k) weight
  tconv artifacts --kernel-size 5 --stride 3 --json            machine-readable
  tconv artifacts --kernel-size 3x3 --stride 2 --png map.png   the overlap map as a picture (needs matplotlib)
"""


def _weights(args: argparse.Namespace, kernel_size: tuple[int, ...]) -> np.ndarray | None:
    """The weight --weights asks for (None without it), refused before it is made when it would take more
    memory than tconv's ``memory_budget`` option (the analysis then runs the layer on it)."""
    if args.weights is None:
        return None
    from .._options import get_options

    c_in, c_out = args.channels
    if c_in % args.groups or c_out % args.groups:
        raise ValueError(f"--groups {args.groups} must divide both --channels {c_in},{c_out}")
    shape = (c_in, c_out // args.groups, *kernel_size)
    needed, budget = math.prod(shape) * np.dtype(float).itemsize, get_options().memory_budget
    if needed > budget:
        raise ValueError(
            f"--channels {c_in},{c_out} with kernel size {'x'.join(map(str, kernel_size))} makes a weight of shape "
            f"{shape} ({show_bytes(needed)}), more than tconv's memory_budget of {show_bytes(budget)}: "
            "give fewer channels (or analyse a smaller layer)"
        )
    if args.weights == "ones":
        return np.ones(shape)
    return np.random.default_rng(args.seed).standard_normal(shape)


def _kernel_and_weight(args: argparse.Namespace) -> tuple[tuple[int, ...], np.ndarray | None]:
    """The kernel size and the weight (or None) from --kernel-size, --weights and --weights-file."""
    if args.weights_file is None:
        kernel_size = tuple(args.kernel_size or (3,))
        return kernel_size, _weights(args, kernel_size)
    try:
        weight = np.load(args.weights_file, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:  # not a .npy file, or an object array
        raise ValueError(f"--weights-file {args.weights_file!r} is not a readable .npy array: {error}") from None
    if not isinstance(weight, np.ndarray):  # an .npz archive
        count = len(weight.files)
        weight.close()
        raise ValueError(f"--weights-file must be one .npy array, got an archive of {count} arrays")
    # real values only: the report compares the phases' gains by size and writes them as JSON (a complex
    # weight's imaginary part would be dropped); bools and ints are read as float64, like every other weight
    real_array(weight, f"--weights-file {args.weights_file!r}", finite=True)
    weight = weight.astype(np.float64)
    if weight.ndim < 3:
        raise ValueError(
            f"--weights-file must hold a (C_in, C_out/groups, *kernel_size) array, got shape {weight.shape}"
        )
    kernel_size = weight.shape[2:]
    given = args.kernel_size  # one int for every axis, or one per axis
    if given is not None and len(given) == 1:
        given = given * len(kernel_size)
    if given is not None and given != kernel_size:
        raise ValueError(
            f"--kernel-size {args.kernel_size} differs from the weight file's kernel size {tuple(kernel_size)}"
        )
    return kernel_size, weight


def _json(analysis: Analysis) -> dict[str, object]:
    from ..explain.artifacts_text import advice

    ov, weights = analysis.overlap, analysis.weights
    g = ov.geometry
    data: dict[str, object] = {
        "kernel_size": list(g.kernel_size),
        "stride": list(g.stride),
        "dilation": list(g.dilation),
        "input_size": list(g.input_size),
        "output_size": list(g.output_size),
        "crop_begin": list(g.crop_begin),
        "phase_taps": [list(t) for t in ov.phase_taps],
        "phase_counts": ov.phase_counts.tolist(),
        "phase_offset": list(ov.phase_offset),
        "uniformity": ov.uniformity,
        "verdict": ov.verdict,
        "hole_phases": [list(p) for p in ov.hole_phases],
        "counts": ov.counts.tolist(),
        "interior": ov.interior.tolist(),
        "advice": advice(analysis),
    }
    if weights is not None:
        data["weight_shape"] = list(weights.weight.shape)
        data["groups"] = weights.groups
        data["response"] = weights.response.tolist()
        data["amplitude"] = weights.amplitude.tolist()
        data["check_max_difference"] = weights.check()
    return data


def run(args: argparse.Namespace) -> int:
    if args.png is not None:
        require("matplotlib", "--png")
    kernel_size, weight = _kernel_and_weight(args)  # its messages name the options already
    with flag_names(LAYER_FLAGS):
        return _run(args, kernel_size, weight)


def _run(args: argparse.Namespace, kernel_size: tuple[int, ...], weight: np.ndarray | None) -> int:
    from ..artifacts import analyze
    from ..explain.artifacts_text import report

    nd = len(kernel_size)
    input_size = args.input_size
    if input_size is not None and len(input_size) == 1:
        input_size = input_size * nd
    ks = kernel_size[0] if nd == 1 else kernel_size
    stride = one_or_many(args.stride, 1)
    padding = args.padding if args.padding is not None else 0
    output_padding = one_or_many(args.output_padding, 0)
    dilation = one_or_many(args.dilation, 1)
    analysis = analyze(
        ks, stride, padding, output_padding, dilation, input_size=input_size, weight=weight, groups=args.groups
    )
    if args.json:
        print(json.dumps(_json(analysis)))
    else:
        print(report(analysis))
    if args.png is not None:
        from ..explain.pictures import overlap_figure, save_figure

        save_figure(overlap_figure(analysis), args.png)
        if not args.json:
            print(f"\nwrote {args.png}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tconv artifacts``."""
    add_layer_options(parser, kernel_size_help="e.g. 3 (1-d) or 3x3 (2-d); default 3")
    parser.add_argument(
        "--input-size", type=sizes("--input-size"), help="input size of the map (default: shows two periods)"
    )
    parser.add_argument("--weights", choices=("random", "ones"), help="analyse these weights too")
    parser.add_argument(
        "--weights-file",
        type=input_path("--weights-file"),
        help="a .npy weight of shape (C_in, C_out/groups, *kernel_size): real (bool, integer or float, read as "
        "float64) and finite",
    )
    parser.add_argument("--channels", type=channels, default=(1, 1), help="C_in,C_out for --weights (default 1,1)")
    parser.add_argument(
        "--groups", type=integer("--groups", 1), default=1, help="groups of the weight (positive; default 1)"
    )
    parser.add_argument(
        "--seed", type=integer("--seed", 0), default=0, help="non-negative; picks the values of --weights random"
    )
    parser.add_argument("--json", action="store_true", help="print the analysis as JSON")
    parser.add_argument(
        "--png",
        type=output_path("--png", (".png",)),
        help='also draw the overlap map into this PNG (needs matplotlib: pip install ".[viz]" in a clone of tconv)',
    )
