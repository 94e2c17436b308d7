"""Option types and options shared by the subcommands: every number and path is checked as it is parsed.

Each ``type=`` below raises ``argparse.ArgumentTypeError`` naming the option as the
user typed it (``--top must be a non-negative integer, got -1``), so a bad value is
one line on standard error and exit status 2 before anything runs. Paths are checked
up front too: an input must be a readable file, an output's folder must exist and be
writable, and a picture's name must end in its format's suffix.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping

from . import parse_padding_option, parse_sizes

_RULES = {0: "non-negative", 1: "positive"}


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


def sizes(name: str, minimum: int = 1) -> Callable[[str], tuple[int, ...]]:
    """The ``type=`` of an option written ``3`` or ``2x3``: ints of at least ``minimum`` (errors name the option)."""

    def parse(text: str) -> tuple[int, ...]:
        values = parse_sizes(text, name)
        if any(v < minimum for v in values):
            rule = _RULES.get(minimum, f">= {minimum}")
            raise argparse.ArgumentTypeError(f"{name} must be {rule} in every axis, got {text!r}")
        return values

    return parse


def integer(name: str, minimum: int | None = None) -> Callable[[str], int]:
    """The ``type=`` of an integer option of at least ``minimum`` (errors name the option)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if minimum is not None and value < minimum:
            rule = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
            raise argparse.ArgumentTypeError(f"{name} must be {rule}, got {text!r}")
        return value

    return parse


def output_path(name: str, suffixes: tuple[str, ...] = ()) -> Callable[[str], str]:
    """The ``type=`` of an output file: a name ending in one of ``suffixes`` (any if empty) in a writable folder.

    Checked before anything runs, so that a long computation never ends in a path error.
    """

    def parse(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{name} must be a file path, got {text!r}")
        if suffixes and not text.lower().endswith(suffixes):
            raise argparse.ArgumentTypeError(
                f"{name} writes {suffixes[0][1:].upper()}: the path must end in {' or '.join(suffixes)}, got {text!r}"
            )
        if os.path.isdir(text):
            raise argparse.ArgumentTypeError(f"{name} must be a file path, got the folder {text!r}")
        folder = os.path.dirname(os.path.abspath(text))
        if not os.path.isdir(folder):
            raise argparse.ArgumentTypeError(f"{name}: the folder {folder!r} of {text!r} does not exist")
        if not _writable(folder) or (os.path.exists(text) and not os.access(text, os.W_OK)):
            raise argparse.ArgumentTypeError(f"{name}: {text!r} is not writable")
        return text

    return parse


def _writable(folder: str) -> bool:
    """Whether a file can be created in ``folder``: tried, since permissions alone miss read-only file systems,
    ``/proc`` and ``/sys`` (and say yes to root everywhere)."""
    if not os.access(folder, os.W_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".tconv-"):
            return True
    except OSError:
        return False


def input_path(name: str) -> Callable[[str], str]:
    """The ``type=`` of an input file: an existing, readable file."""

    def parse(text: str) -> str:
        if not os.path.isfile(text):
            what = "is a folder, not a file" if os.path.isdir(text) else "does not exist"
            raise argparse.ArgumentTypeError(f"{name}: {text!r} {what}")
        if not os.access(text, os.R_OK):
            raise argparse.ArgumentTypeError(f"{name}: {text!r} is not readable")
        return text

    return parse


@contextlib.contextmanager
def flag_names(flags: Mapping[str, str]) -> Iterator[None]:
    """Inside: a ``ValueError``/``TypeError`` of the library names the options the user typed, not the Python
    parameters they set (``flags`` maps ``"weight_shape"`` to ``"--weight-shape"``)."""
    try:
        yield
    except (ValueError, TypeError) as error:
        message = str(error)
        for parameter, flag in flags.items():
            message = re.sub(rf"(?<![\w-]){re.escape(parameter)}\b", flag, message)
        raise (TypeError if isinstance(error, TypeError) else ValueError)(message) from error


#: The options :func:`add_layer_options` adds, by the parameter of :func:`tconv.conv_transpose` each sets.
LAYER_FLAGS = {
    "input_size": "--input-size",
    "kernel_size": "--kernel-size",
    "output_padding": "--output-padding",
    "stride": "--stride",
    "padding": "--padding",
    "dilation": "--dilation",
    "groups": "--groups",
}


def add_layer_options(parser: argparse.ArgumentParser, *, kernel_size_help: str) -> None:
    """--kernel-size, --stride, --padding, --output-padding, --dilation: a transposed convolution's parameters."""
    parser.add_argument("--kernel-size", type=sizes("--kernel-size"), help=kernel_size_help)
    parser.add_argument("--stride", type=sizes("--stride"), help="positive: one int, or one per axis (default 1)")
    parser.add_argument(
        "--padding",
        type=parse_padding_option,
        help="int, 1,2, 0:1,1:0, same or valid (default 0); a value starting with '-' is written --padding=-1:-1",
    )
    parser.add_argument(
        "--output-padding",
        type=sizes("--output-padding", 0),
        help="extra cells at the end of each axis, smaller than the stride or dilation (default 0)",
    )
    parser.add_argument("--dilation", type=sizes("--dilation"), help="spacing of the kernel taps (default 1)")
