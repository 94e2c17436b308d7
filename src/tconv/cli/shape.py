"""``tconv shape``: output sizes, the stride ambiguity, inverting a convolution, and every framework's view."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..translation import FRAMEWORKS, resolve, translate
from ..translation import output_size as framework_output_size
from ._arguments import LAYER_FLAGS, add_layer_options, flag_names, sizes
from ._params import parse_params

#: The subcommand's name, its one-line help and its description (``tconv --help``, ``tconv shape --help``).
NAME = "shape"
HELP = "output sizes, the stride ambiguity, inverting a convolution, every framework's view"
DESCRIPTION = (
    "Shape arithmetic of a transposed convolution (tconv's/PyTorch's arguments): the full output, "
    "the window the padding keeps, the sizes output_padding can choose, the kernel overlap, and the same "
    "layer in every framework. --conv reads the arguments as a convolution and gives the transposed "
    "convolution that inverts its shape; --framework reads one framework's own arguments."
)

EXAMPLES = """\
examples:
  tconv shape --input-size 4 --kernel-size 3 --stride 2 --padding 1
      output size, window, the sizes output_padding can pick, overlap, and the call in every framework
  tconv shape --input-size 4 --kernel-size 3 --stride 2 --padding same
      TensorFlow/Keras "same": which frameworks express it exactly
  tconv shape --conv --input-size 9 --kernel-size 3 --stride 2 --padding 1
      a convolution: its output, the inputs that give the same output, and the transposed convolution inverting it
  tconv shape --framework keras --weight-shape 2x2x8x3 --input-shape 1x6x6x3 strides=2 padding=same output_padding=0
      one framework's own rule (its argument names as name=value)
  tconv shape --input-size 16x16 --kernel-size 4 --stride 2 --padding 1 --json
"""

#: The frameworks the same layer is spelled in (every one but tconv itself).
TARGETS = tuple(name for name in FRAMEWORKS if name != "tconv")

#: Listings that grow with a parameter (the valid sizes, the inputs with the same output, the taps per
#: phase: one entry per unit of stride) show at most this many entries and say how many were left out;
#: the JSON gives their count (``*_count``) and the taps per phase as ``phase_tap_counts``, in constant size.
MAX_LISTED = 16


def _first(values: range) -> list[int]:
    return list(values[:MAX_LISTED])


def _left_out(count: int) -> str:
    return f", ... ({count - MAX_LISTED} more)" if count > MAX_LISTED else ""


def _one(values: tuple[int, ...]) -> Any:
    return values[0] if len(values) == 1 else values


def _frameworks(params: dict[str, Any], kernel: tuple[int, ...], size: tuple[int, ...]) -> dict[str, dict[str, Any]]:
    """The same transposed convolution in every framework (translated from tconv's arguments)."""
    views = {}
    for target in TARGETS:
        try:
            plan = translate(params, "tconv", target, weight_shape=(1, 1, *kernel), input_shape=(1, 1, *size))
        except ValueError as error:
            views[target] = {"expressible": False, "reason": str(error)}
            continue
        call = f"{plan.function}(" + ", ".join(f"{k}={v!r}" for k, v in plan.arguments.items()) + ")"
        views[target] = {
            "expressible": True,
            "exact": plan.exact,
            "function": plan.function,
            "arguments": plan.to_dict()["arguments"],
            "call": call,
            "post_crop": None if plan.post_crop is None else [list(p) for p in plan.post_crop],
        }
    return views


def _framework_lines(views: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, view in views.items():
        if not view["expressible"]:
            lines.append(f"  {name:<11} not expressible: {view['reason']}")
            continue
        state = (
            "exact" if view["exact"] else f"+ crop (begin, end) {tuple(map(tuple, view['post_crop']))} after the call"
        )
        lines.append(f"  {name:<11} {view['call']}  [{state}]")
    return lines


def _arguments(args: argparse.Namespace) -> tuple[tuple[int, ...], ...]:
    """``(kernel_size, stride, dilation, output_padding)`` per axis: one value for every axis, or one per axis."""
    nd = len(args.input_size)
    defaults = ((args.kernel_size, 3), (args.stride, 1), (args.dilation, 1), (args.output_padding, 0))
    return tuple(tuple(v or (default,)) * (nd if v is None or len(v) == 1 else 1) for v, default in defaults)


def _transposed(args: argparse.Namespace) -> dict[str, Any]:
    from ..geometry import conv_transpose_geometry
    from ..shape import conv_transpose_output_size_range

    size = args.input_size
    k, s, d, op = _arguments(args)
    padding = args.padding if args.padding is not None else 0
    output_size = _one(args.output_size) if args.output_size else None
    g = conv_transpose_geometry(size, k, s, padding, op, d, output_size=output_size)
    ranges = conv_transpose_output_size_range(size, k, s, padding, d)
    ranges = ranges if isinstance(ranges, tuple) else (ranges,)
    choices = []
    for r in ranges:
        if padding == "same":
            choices.append([{"output_size": o, "output_size_argument": o} for o in _first(r)])
        else:
            choices.append([{"output_size": o, "output_padding": o - r.start} for o in _first(r)])
    params = dict(stride=s, padding=padding, output_padding=op, dilation=d)
    if output_size is not None:
        params["output_size"] = output_size
    return {
        "mode": "conv_transpose",
        "input_size": list(size),
        "kernel_size": list(k),
        "stride": list(s),
        "padding": padding,
        "output_padding": list(op),
        "dilation": list(d),
        "full_size": list(g.full_size),
        "crop": [list(p) for p in g.padding_pairs],
        "output_size": list(g.output_size),
        "valid_output_sizes": choices,
        "valid_output_sizes_count": [max(0, r.stop - r.start) for r in ranges],  # len() overflows past 2**63
        **_taps(k, s, d),
        "frameworks": _frameworks(params, k, size),
    }


def _taps(k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...]) -> dict[str, Any]:
    """The taps per phase of every axis: listed up to :data:`MAX_LISTED` phases, and counted."""
    from ..geometry import phase_tap_counts, taps_per_phase

    return {
        "taps_per_phase": [
            list(taps_per_phase(ki, si, di)) if si <= MAX_LISTED else None for ki, si, di in zip(k, s, d)
        ],
        "phase_tap_counts": [
            {str(taps): phases for taps, phases in phase_tap_counts(ki, si, di).items()} for ki, si, di in zip(k, s, d)
        ],
    }


def _print_transposed(data: dict[str, Any]) -> None:
    print(
        f"transposed convolution: input {tuple(data['input_size'])}, kernel {tuple(data['kernel_size'])}, stride "
        f"{tuple(data['stride'])}, padding {data['padding']!r}, output_padding {tuple(data['output_padding'])}, "
        f"dilation {tuple(data['dilation'])}"
    )
    print(f"  full output    (i-1)*s + d*(k-1) + 1 = {tuple(data['full_size'])}")
    print(
        f"  window         crop (begin, end) {tuple(map(tuple, data['crop']))} of it -> output size "
        f"{tuple(data['output_size'])}"
    )
    for axis, options in enumerate(data["valid_output_sizes"]):
        key = "output_padding" if "output_padding" in options[0] else "output_size_argument"
        listed = ", ".join(f"{o['output_size']} ({key.split('_argument')[0]}={o[key]})" for o in options)
        print(f"  valid sizes    axis {axis}: {listed}{_left_out(data['valid_output_sizes_count'][axis])}")
    for axis, (taps, counts) in enumerate(zip(data["taps_per_phase"], data["phase_tap_counts"])):
        verdict = (
            "holes: some outputs get no kernel tap"
            if "0" in counts
            else ("uneven overlap: checkerboard-prone" if len(counts) > 1 else "even overlap")
        )
        if taps is None:
            phases = "; ".join(f"{n} phase(s) get {t} tap(s)" for t, n in counts.items())
            print(f"  overlap        axis {axis}: of {data['stride'][axis]} output phases, {phases}: {verdict}")
        else:
            print(f"  overlap        axis {axis}: kernel taps per output phase {tuple(taps)}: {verdict}")
    print("in each framework:")
    for line in _framework_lines(data["frameworks"]):
        print(line)


def _convolution(args: argparse.Namespace) -> dict[str, Any]:
    from ..geometry import conv_geometry
    from ..shape import conv_input_size_range, conv_transpose_inverse

    size = args.input_size
    k, s, d, _ = _arguments(args)
    padding = args.padding if args.padding is not None else 0
    g = conv_geometry(size, k, s, padding, d)
    inputs = conv_input_size_range(g.input_size, k, s, padding, d)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    inverse = conv_transpose_inverse(size, k, s, padding, d)
    params = {key: inverse[key] for key in ("stride", "padding", "output_padding", "dilation")}
    if "output_size" in inverse:
        params["output_size"] = inverse["output_size"]
    return {
        "mode": "conv",
        "input_size": list(size),
        "kernel_size": list(k),
        "stride": list(s),
        "padding": padding,
        "dilation": list(d),
        "output_size": list(g.input_size),
        "inputs_with_same_output": [_first(r) for r in inputs],
        "inputs_with_same_output_count": [len(r) for r in inputs],
        "inverse": {key: (list(v) if isinstance(v, tuple) else v) for key, v in inverse.items()},
        "frameworks": _frameworks(params, k, tuple(g.input_size)),
    }


def _print_convolution(data: dict[str, Any]) -> None:
    print(
        f"convolution: input {tuple(data['input_size'])}, kernel {tuple(data['kernel_size'])}, stride "
        f"{tuple(data['stride'])}, padding {data['padding']!r}, dilation {tuple(data['dilation'])} -> output "
        f"{tuple(data['output_size'])}"
    )
    for axis, inputs in enumerate(data["inputs_with_same_output"]):
        more = _left_out(data["inputs_with_same_output_count"][axis])
        print(
            f"  axis {axis}: inputs {', '.join(map(str, inputs))}{more} all give output {data['output_size'][axis]} "
            "(the stride ambiguity)"
        )
    inverse = data["inverse"]
    args = ", ".join(
        f"{k}={tuple(v) if isinstance(v, list) else v!r}" for k, v in inverse.items() if k != "kernel_size"
    )
    print(f"  inverse: tconv.conv_transpose(y, w, {args}) -> {tuple(data['input_size'])}")
    print("the inverse in each framework:")
    for line in _framework_lines(data["frameworks"]):
        print(line)


def _framework(args: argparse.Namespace) -> dict[str, Any]:
    if args.weight_shape is None or args.input_shape is None:
        raise ValueError("--framework needs --weight-shape and --input-shape (in that framework's layouts)")
    params = parse_params(args.params)
    spec = resolve(params, args.framework, weight_shape=args.weight_shape, input_shape=args.input_shape)
    out = framework_output_size(params, args.framework, weight_shape=args.weight_shape, input_shape=args.input_shape)
    return {
        "mode": "framework",
        "framework": args.framework,
        "params": {k: repr(v) for k, v in params.items()},
        "output_size": list(out),
        "crop": [list(c) for c in spec.crop],
        "kernel_size": list(spec.kernel_size),
        "stride": list(spec.stride),
        "dilation": list(spec.dilation),
        "in_channels": spec.in_channels,
        "out_channels": spec.out_channels,
        "groups": spec.groups,
        "tconv": f"tconv.conv_transpose(x, w, stride={spec.stride}, padding={spec.crop}, groups={spec.groups}, "
        f"dilation={spec.dilation})",
    }


def _print_framework(data: dict[str, Any]) -> None:
    print(f"{data['framework']}: " + ", ".join(f"{k}={v}" for k, v in data["params"].items()))
    print(f"  output size    {tuple(data['output_size'])} (spatial), {data['out_channels']} channels")
    print(
        f"  window         crop (begin, end) {tuple(map(tuple, data['crop']))} of the full output "
        f"(kernel {tuple(data['kernel_size'])}, stride {tuple(data['stride'])}, dilation {tuple(data['dilation'])})"
    )
    print(f"  in tconv       {data['tconv']}")


#: The options of each mode; any other given is an error (never silently ignored).
_LAYER = ("input_size", "kernel_size", "stride", "padding", "dilation")
_MODES = {
    "framework": ("framework", "weight_shape", "input_shape", "params"),
    "conv": ("conv", *_LAYER),
    "conv_transpose": ("output_padding", "output_size", *_LAYER),
}
_WHY = {
    "framework": "--framework reads the layer from name=value, --weight-shape and --input-shape",
    "conv": "--conv reads a convolution, which has no output padding or output size",
    "conv_transpose": "without --framework the layer is given by --input-size, --kernel-size, ...",
}


def _check_mode(args: argparse.Namespace, mode: str) -> None:
    """Refuse the options the mode does not read."""
    for name in (
        "framework",
        "weight_shape",
        "input_shape",
        "params",
        "conv",
        "output_padding",
        "output_size",
        *_LAYER,
    ):
        value = getattr(args, name)
        if name not in _MODES[mode] and value not in (None, False, []):
            flag = "name=value parameters" if name == "params" else "--" + name.replace("_", "-")
            raise ValueError(f"{flag} does not apply here: {_WHY[mode]}")


def run(args: argparse.Namespace) -> int:
    mode = "framework" if args.framework is not None else ("conv" if args.conv else "conv_transpose")
    _check_mode(args, mode)
    if args.framework is not None:
        with flag_names({"weight_shape": "--weight-shape", "input_shape": "--input-shape"}):
            data = _framework(args)
        show = _print_framework
    else:
        if args.input_size is None:
            raise ValueError("give --input-size (or --framework with --input-shape)")
        with flag_names({**LAYER_FLAGS, "output_size": "--output-size"}):
            data = _convolution(args) if args.conv else _transposed(args)
        show = _print_convolution if args.conv else _print_transposed
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        show(data)
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tconv shape``."""
    parser.add_argument("--input-size", type=sizes("--input-size"), help="spatial input size, e.g. 4 or 16x16")
    add_layer_options(parser, kernel_size_help="e.g. 3 or 3x2 (default 3)")
    parser.add_argument(
        "--output-size", type=sizes("--output-size"), help="pick the output size instead of --output-padding"
    )
    parser.add_argument("--conv", action="store_true", help="read the arguments as a convolution and invert it")
    parser.add_argument("--framework", choices=FRAMEWORKS, help="read name=value in this framework's terms")
    parser.add_argument(
        "--weight-shape", type=sizes("--weight-shape"), help="with --framework: the weight shape in its layout"
    )
    parser.add_argument(
        "--input-shape", type=sizes("--input-shape"), help="with --framework: the input shape in its layout"
    )
    parser.add_argument(
        "params",
        nargs="*",
        metavar="name=value",
        help="with --framework: its arguments, each once (values as for tconv translate)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
