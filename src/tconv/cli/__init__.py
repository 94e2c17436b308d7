"""The ``tconv`` command line.

Each subcommand lives in its own module under :mod:`tconv.cli`, which defines
``NAME``, ``HELP``, ``DESCRIPTION``, ``EXAMPLES`` (the ``--help`` epilog),
``add_arguments(parser)`` and ``run(args) -> int``, and imports anything heavy only
when it runs. :data:`COMMANDS` lists them in ``--help`` order; :func:`build_parser`
builds every subcommand's parser from them, the same way.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .._version import __version__

__all__ = ["COMMANDS", "main", "parse_padding_option", "parse_sizes"]

#: The subcommand modules, in the order ``tconv --help`` lists them.
COMMANDS = (
    "tconv.cli.explain",
    "tconv.cli.shape",
    "tconv.cli.design",
    "tconv.cli.translate",
    "tconv.cli.artifacts",
    "tconv.cli.audit",
    "tconv.cli.bench",
)


def parse_sizes(text: str, name: str) -> tuple[int, ...]:
    """``"2x3"``, ``"2,3"`` or ``"5"`` -> a tuple of ints (error names the option)."""
    parts = text.replace("x", ",").split(",")
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{name} must be integers like 3 or 2x3, got {text!r}") from None
    return values


def parse_padding_option(text: str) -> object:
    """``"1"``, ``"1,2"``, ``"same"``, ``"valid"`` or ``"0:1,1:0"`` ((begin, end) per axis)."""
    if text in ("same", "valid"):
        return text
    try:
        if ":" in text:
            return tuple(tuple(int(v) for v in part.split(":")) for part in text.split(","))
        values = parse_sizes(text, "--padding")
    except (ValueError, argparse.ArgumentTypeError):
        raise argparse.ArgumentTypeError(
            f"--padding must be an int, ints per axis (1,2), begin:end pairs per axis (0:1,1:0), "
            f"'same' or 'valid'; got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tconv", description="Transposed convolution: exact, fast, explained.")
    parser.add_argument("--version", action="version", version=f"tconv {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="command")
    for name in COMMANDS:
        command = importlib.import_module(name)
        sub = subparsers.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.DESCRIPTION,
            epilog=command.EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tconv`` command: returns the exit status (2 for bad arguments)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except (ValueError, TypeError) as error:
        print(f"tconv {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
