"""The ``tconv`` command line.

Each subcommand lives in its own module under :mod:`tconv.cli`, which defines
``NAME``, ``HELP``, ``DESCRIPTION``, ``EXAMPLES`` (the ``--help`` epilog),
``add_arguments(parser)`` and ``run(args) -> int``, and imports anything heavy only
when it runs. :data:`COMMANDS` lists them in ``--help`` order; :func:`build_parser`
builds every subcommand's parser from them, the same way.

Exit codes (:func:`main`): 0 for success; 1 when a command finds nothing (``tconv design``
with no design within the limits) or its output pipe closed early (``tconv ... | head``,
silently); 2 for anything the user must fix -- a bad option (from the parser or from the
library's checks, ``ValueError``/``TypeError``), a path that cannot be read or written, a
missing optional dependency -- always as one line on standard error, never a traceback;
130 when interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence

from .._validate import MissingDependency
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


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on standard error (exit status 2), naming the option."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # "argument --top: --top must be ..." -> "--top must be ..." (our option types name the option)
        message = re.sub(r"^argument (\S+): (?=\1\b)", "", message)
        # "--padding -1:-1": argparse reads a value starting with "-" (other than a plain negative number) as
        # an option, and the value as missing
        missing = re.match(r"^argument (--[\w-]+)(?:/\S+)?: expected one argument$", message)
        if missing:
            flag = missing.group(1)
            message += f" (a value that starts with '-' is written {flag}=VALUE)"
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tconv", description="Transposed convolution: exact, fast, explained.")
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
    """Entry point of the ``tconv`` command: returns the exit status (module docstring: 0, 1, 2 or 130)."""
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as exit:  # a bad option (one line already printed), --help or --version
            return exit.code if isinstance(exit.code, int) else 0
        if not getattr(args, "command", None):
            parser.print_help()
            return 0
        try:
            status = args.handler(args)
        except (ValueError, TypeError, MissingDependency) as error:
            return _fail(args.command, str(error))
        except OSError as error:
            if error.filename is None or isinstance(error, BrokenPipeError):
                raise
            return _fail(args.command, f"{error.strerror or error}: {error.filename!r}")
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below, not at exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        print("tconv: interrupted", file=sys.stderr)
        return 130


def _fail(command: str, message: str) -> int:
    """Print ``message`` as one line on standard error; exit status 2."""
    print(f"tconv {command}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def _silence_stdout() -> None:
    """After a closed pipe (``tconv ... | head``): send what is left to devnull, so that Python's flush at exit
    raises nothing (the recipe of Python's documentation on ``SIGPIPE``)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (stdout replaced, e.g. under pytest)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
