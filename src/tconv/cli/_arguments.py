"""Options shared by ``tconv explain`` and ``tconv artifacts``: a layer's parameters and channels."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from . import parse_padding_option, parse_sizes


def one_or_many(values: tuple[int, ...] | None, default: int) -> int | tuple[int, ...]:
    """An option given per axis (``2``, ``2,3``) as tconv takes it: one int, or one per axis; ``default`` if absent."""
    if values is None:
        return default
    return values[0] if len(values) == 1 else values


def channels(text: str) -> tuple[int, int]:
    """``--channels C_in,C_out``: two positive ints."""
    values = parse_sizes(text, "--channels")
    if len(values) != 2 or min(values) < 1:
        raise argparse.ArgumentTypeError(f"--channels must be two positive ints C_in,C_out, got {text!r}")
    return values[0], values[1]


def sizes(name: str) -> Callable[[str], tuple[int, ...]]:
    """The ``type=`` of an option written ``3`` or ``2x3`` (errors name the option)."""
    return lambda text: parse_sizes(text, name)


def add_layer_options(parser: argparse.ArgumentParser, *, kernel_size_help: str) -> None:
    """--kernel-size, --stride, --padding, --output-padding, --dilation: a transposed convolution's parameters."""
    parser.add_argument("--kernel-size", type=sizes("--kernel-size"), help=kernel_size_help)
    parser.add_argument("--stride", type=sizes("--stride"), help="one int, or one per axis")
    parser.add_argument("--padding", type=parse_padding_option, help="int, 1,2, 0:1,1:0, same or valid")
    parser.add_argument("--output-padding", type=sizes("--output-padding"))
    parser.add_argument("--dilation", type=sizes("--dilation"))
