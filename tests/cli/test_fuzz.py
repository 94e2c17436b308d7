"""Random garbage into every option of every ``tconv`` subcommand: exit status 0, or 2 with one line naming the option.

Each subcommand has a valid, cheap command line in :data:`VALID`; a property test
replaces the value of one of its options (discovered from the parser, so a new option
is fuzzed without a change here) or of one of its ``name=value`` parameters with
garbage -- negative, zero and huge numbers, NaN, letters, empty strings, stray commas
and separators, parser-breaking nesting, and for path options missing, unwritable,
folder and non-file paths -- and runs :func:`tconv.cli.main` in-process. It asserts
that the command either succeeds (0; 1 for ``tconv design`` finding no design, its
documented answer; 3 for ``tconv audit`` finding a layer at risk) or exits 2 with
exactly one non-empty line on standard error, nothing on standard output, no
traceback, and the option (or parameter) named as the user typed it.

Which subcommands run for real, and which only check their arguments:

* ``bench`` would time real layers in worker processes for seconds to minutes: the test
  replaces :func:`tconv.benchmark.run` with a stub that stops the command once every
  argument check has passed (all of them live in ``tconv.cli.bench``, before the run).
* ``audit`` (when the branch has it) reads the cheapest model its own tests build: a
  single ONNX ConvTranspose node (``audit_models.onnx_case``, symmetric pads), without
  ``--verify``; only its options are fuzzed, not the model's path.
* The others run for real on tiny layers; output files go to a temporary folder, and
  pictures (``--png``, ``--gif``) only get garbage paths, never valid ones, which would
  take seconds each to draw.

``test_every_subcommand_is_fuzzed`` keeps :data:`VALID` complete: a new subcommand
without a valid command line here fails it.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import no_hang, oracle
from hypothesis import given, settings
from hypothesis import strategies as st

import tconv.benchmark
from tconv.cli import COMMANDS, build_parser, main

#: Examples per subcommand; TCONV_FUZZ_EXAMPLES raises it for a longer search.
EXAMPLES = int(os.environ.get("TCONV_FUZZ_EXAMPLES", "30"))

#: Exit statuses that mean "ran": 0, and each subcommand's documented non-error answers.
SUCCESS = {"design": {0, 1}, "audit": {0, 3}}

MISSING = "/nonexistent-tconv-folder"

_FOLDER = tempfile.TemporaryDirectory(prefix="tconv-cli-fuzz-")
WORK = Path(_FOLDER.name)
(WORK / "folder.png").mkdir()
(WORK / "not-an-array.npy").write_text("not an array\n")


def _audit_model() -> list[str]:
    """The cheapest model tests/cli/test_audit.py audits: one ONNX ConvTranspose node no tool gets wrong."""
    onnx = oracle("onnx")
    from audit_models import onnx_case

    path = WORK / "clean.onnx"
    if not path.exists():
        onnx_case(onnx, path, "pads_symmetric_output_padding")
    return [str(path)]


#: Per subcommand: a valid, cheap command line (a list, or a function that builds it) after the subcommand's name.
VALID: dict[str, list[str] | Callable[[], list[str]]] = {
    "explain": ["--input-size", "2", "--kernel-size", "2", "--stride", "2"],
    "shape": ["--input-size", "4", "--kernel-size", "3", "--stride", "2"],
    "design": ["--factor", "2", "--input-size", "4"],
    "translate": ["--from", "torch", "--to", "tensorflow", "--weight-shape", "2x1x3", "stride=2", "padding=1"],
    "artifacts": ["--kernel-size", "3", "--stride", "2"],
    "bench": ["--layers", "dcgan-3", "--peers", ""],
    "audit": _audit_model,
}

#: Options whose value names a file: they also get paths that cannot be read or written.
PATH_OPTIONS = {"--png", "--gif", "--html", "--json", "--weights-file"}


def _names() -> list[str]:
    return [importlib.import_module(module).NAME for module in COMMANDS]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def options_with_values(command: str) -> list[str]:
    """The options of ``command`` that take a value (from its parser: a new option is fuzzed at once)."""
    parser = _subparsers()[command]
    return sorted(
        max(action.option_strings, key=len)
        for action in parser._actions
        if action.option_strings and action.nargs != 0 and not isinstance(action, argparse._HelpAction)
    )


def parameters(valid: list[str]) -> list[str]:
    """The ``name=value`` parameters of a valid command line (``translate stride=2``)."""
    return [item.partition("=")[0] for item in valid if re.fullmatch(r"[A-Za-z_]\w*=.*", item)]


# --- garbage ---------------------------------------------------------------------------------------------

_TEXT = [
    "-1", "0", "-0", "00", "1", "-5", str(10**18), str(-(10**18)), "1e18", "9" * 5000, "1.5", "2.0", "-1.0",
    "nan", "NaN", "inf", "-inf", "1j", "abc", "x", "X", "", " ", "\t", ",", ",,", "1,", ",1", "1,,2", "2x", "x2",
    "1x0", "0x1", "2x-1", "2x3x4x5x6x7", "1:2", "-1:0", "1:2:3", ":", "1;2", "same", "valid", "SAME", "all",
    "auto", "-", "--", "--help", "none", "None", "true", "[]", "()", "{}", "[1, [2]]", "'s'", "(" * 300,
    "-" * 100_000 + "1", "[" * 300 + "]" * 300, "é", "\x00", "1 2", "a=b", "=", "torch,", ",torch",
]  # fmt: skip

_PATHS = [
    f"{MISSING}/out.png", f"{MISSING}/out.gif", f"{MISSING}/out.html", f"{MISSING}/out.json", f"{MISSING}/w.npy",
    "/etc/passwd/out.png", "/proc/tconv-out.html", "/proc/tconv-out.json", "/proc", str(WORK / "folder.png"),
    str(WORK), str(WORK / "not-an-array.npy"), str(WORK / "missing.npy"), "out.txt", "out.PNG.txt",
]  # fmt: skip


def garbage() -> st.SearchStrategy[str]:
    numbers = st.integers(min_value=-(10**20), max_value=10**20).map(str)
    per_axis = st.lists(st.integers(min_value=-3, max_value=10**12), min_size=0, max_size=4).map(
        lambda values: "x".join(map(str, values))
    )
    return st.one_of(st.sampled_from(_TEXT), numbers, per_axis, st.text(max_size=8))


# --- running the command line ----------------------------------------------------------------------------


class _WouldBenchmark(Exception):
    """Raised by the stub of tconv.benchmark.run: every argument of tconv bench was accepted."""


def _no_benchmark(*args: object, **kwargs: object) -> dict:
    raise _WouldBenchmark


@contextlib.contextmanager
def _in(folder: Path) -> Iterator[None]:
    """Run inside ``folder`` (relative output paths land there, never in the repository)."""
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def run(argv: list[str]) -> tuple[int, str, str]:
    """``tconv argv`` in-process: ``(exit status, stdout, stderr)``; bench stops before timing anything."""
    out, err = io.StringIO(), io.StringIO()
    original = tconv.benchmark.run
    tconv.benchmark.run = _no_benchmark  # type: ignore[assignment]
    try:
        with _in(WORK), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), no_hang(30):
            try:
                code = main(argv)
            except _WouldBenchmark:
                code = 0
    finally:
        tconv.benchmark.run = original  # type: ignore[assignment]
    return code, out.getvalue(), err.getvalue()


def valid_argv(command: str) -> list[str]:
    valid = VALID[command]
    return list(valid() if callable(valid) else valid)


def with_value(argv: list[str], option: str, value: str) -> list[str]:
    """``argv`` with ``option``'s value replaced by ``value`` (or ``option value`` appended)."""
    argv = list(argv)
    if option in argv:
        argv[argv.index(option) + 1] = value
        return argv
    return [*argv, option, value]


def with_parameter(argv: list[str], name: str, value: str) -> list[str]:
    return [f"{name}={value}" if item.startswith(f"{name}=") else item for item in argv]


def check(command: str, argv: list[str], named: str) -> None:
    code, out, err = run([command, *argv])
    shown = f"tconv {command} {' '.join(map(repr, argv))}"
    assert "Traceback" not in err, f"{shown}: a traceback\n{err}"
    if code in SUCCESS.get(command, {0}):
        return
    assert code == 2, f"{shown}: exit status {code}\nstdout: {out[-500:]}\nstderr: {err[-500:]}"
    assert out == "", f"{shown}: exit status 2 after writing to stdout: {out[-500:]}"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip() and err.endswith("\n"), f"{shown}: not one line on stderr: {err!r}"
    assert re.search(rf"(?<![\w-]){re.escape(named)}(?![\w-])", err), f"{shown}: the error does not name {named}: {err}"


# --- the tests -------------------------------------------------------------------------------------------


def test_every_subcommand_is_fuzzed():
    """Every subcommand of the table the parser is built from has a valid command line here."""
    missing = sorted(set(_names()) - set(VALID))
    assert not missing, f"subcommands without a valid command line in tests/cli/test_fuzz.py's VALID: {missing}"


@pytest.mark.parametrize("command", _names())
def test_the_valid_command_lines_run(command):
    """The base command lines succeed: any failure in the property test comes from the garbage."""
    argv = valid_argv(command)
    code, out, err = run([command, *argv])
    assert code in SUCCESS.get(command, {0}) and "error" not in err, (code, err)


def _targets(command: str, argv: list[str]) -> list[str]:
    """The options that take a value, and the ``name=`` of each parameter of ``argv``."""
    return options_with_values(command) + [f"{name}=" for name in parameters(argv)]


def _check_one(command: str, argv: list[str], target: str, value: str) -> None:
    if target.endswith("="):
        check(command, with_parameter(argv, target[:-1], value), target[:-1])
    else:
        check(command, with_value(argv, target, value), target)


@pytest.mark.parametrize("command", _names())
def test_every_listed_garbage_in_every_option(command):
    """The listed garbage, every value into every option: the cases the issue names, each tried (seconds)."""
    argv = valid_argv(command)
    failures = []
    for target in _targets(command, argv):
        for value in _TEXT + (_PATHS if target in PATH_OPTIONS else []):
            try:
                _check_one(command, argv, target, value)
            except AssertionError as error:
                failures.append(str(error)[:400])
    assert not failures, f"{len(failures)} failures, the first ones:\n" + "\n".join(failures[:10])


@pytest.mark.parametrize("command", _names())
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_garbage_in_any_option_is_one_line_naming_it(command, data):
    """Generated garbage (any integer, per-axis sizes, short random text) into a random option."""
    argv = valid_argv(command)
    target = data.draw(st.sampled_from(_targets(command, argv)), label="option")
    values = st.one_of(st.sampled_from(_PATHS), garbage()) if target in PATH_OPTIONS else garbage()
    _check_one(command, argv, target, data.draw(values, label="value"))


def test_the_options_and_garbage_reach_what_the_issue_lists():
    """Every subcommand has options to fuzz; the garbage holds negative, zero, huge, NaN, letters, empty, commas
    and bad paths."""
    for command in _names():
        assert options_with_values(command), command
    assert {"-1", "0", str(10**18), "nan", "abc", "", ","} <= set(_TEXT)
    assert any(path.startswith(MISSING) for path in _PATHS) and "/proc/tconv-out.html" in _PATHS
    assert set(options_with_values("translate")) >= {"--from", "--to", "--weight-shape", "--input-shape"}
