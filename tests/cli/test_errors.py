"""The command line's rules for user errors: one line on standard error, exit status 2, the option named.

Every case here was a traceback, a hang or a silently ignored option before (issue 11).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import oracle

import tconv
from tconv.cli import COMMANDS, build_parser, main

SRC = str(Path(tconv.__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))


def fails(capsys, *argv: str) -> str:
    """Run ``tconv argv``; check it exits 2 with exactly one line on stderr and nothing on stdout; the line."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, (argv, out, err)
    assert out == "", (argv, out)
    assert err.endswith("\n") and err.count("\n") == 1, (argv, err)
    assert "Traceback" not in err
    return err


# --- paths: checked before anything runs --------------------------------------------------------------

MISSING = "/nonexistent-tconv-folder"


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["explain", "--png", f"{MISSING}/x.png"], "--png"),
        (["explain", "--html", f"{MISSING}/x.html"], "--html"),
        (["explain", "--gif", f"{MISSING}/x.gif"], "--gif"),
        (["artifacts", "--png", f"{MISSING}/x.png"], "--png"),
        (["artifacts", "--weights-file", f"{MISSING}/w.npy"], "--weights-file"),
        (["bench", "--json", f"{MISSING}/r.json"], "--json"),
        (["explain", "--png", "/etc/passwd/x.png"], "--png"),  # the folder is a file
    ],
)
def test_a_missing_or_unwritable_path_is_one_line(capsys, argv, flag):
    err = fails(capsys, *argv)
    assert flag in err and MISSING in err or "/etc/passwd" in err


def test_an_output_path_that_is_a_folder_is_refused(capsys, tmp_path):
    folder = tmp_path / "views.png"
    folder.mkdir()
    assert "--png must be a file path, got the folder" in fails(capsys, "explain", "--png", str(folder))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["explain", "--png", "out.jpg"], "--png writes PNG: the path must end in .png, got 'out.jpg'"),
        (["explain", "--gif", "out.png"], "--gif writes GIF: the path must end in .gif, got 'out.png'"),
        (["artifacts", "--png", "map.svg"], "--png writes PNG: the path must end in .png"),
        (["explain", "--html", ""], "--html must be a file path, got ''"),
        (["explain", "--html", "page.txt"], "--html writes HTML: the path must end in .html or .htm"),
    ],
)
def test_an_output_name_must_say_its_format(capsys, argv, message):
    assert message in fails(capsys, *argv)


def test_a_weights_file_that_is_not_an_npy_array(capsys, tmp_path):
    path = tmp_path / "w.npy"
    path.write_text("not an array")
    assert "--weights-file" in fails(capsys, "artifacts", "--weights-file", str(path))


def test_bench_checks_its_json_path_before_running(capsys, monkeypatch):
    import tconv.benchmark

    def never(*args, **kwargs):
        raise AssertionError("the benchmark ran before --json was checked")

    monkeypatch.setattr(tconv.benchmark, "run", never)
    assert "--json" in fails(capsys, "bench", "--layers", "dcgan-3", "--json", f"{MISSING}/r.json")


# --- values that were accepted, ignored or ended in a traceback --------------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["design", "--factor", "2", "--top", "-1"], "--top must be a non-negative integer, got '-1'"),
        (["explain", "--steps", "-3"], "--steps must be a non-negative integer or 'all', got '-3'"),
        (["explain", "--position", "a,b", "--png", "x.png"], "--position must be integers like 3 or 2x3"),
        (["explain", "--position=-1,0", "--png", "x.png"], "--position must be non-negative in every axis"),
        (["explain", "--seed", "-1", "--values", "random"], "--seed must be a non-negative integer"),
        (["explain", "--groups", "0", "--channels", "2,2", "--png", "x.png"], "--groups must be a positive integer"),
        (["bench", "--threads", "-1"], "--threads must be a positive integer, got '-1'"),
        (["bench", "--threads", "1000000"], "--threads must be at most 1024, got 1000000"),
        (["bench", "--rounds", "0"], "--rounds must be a positive integer"),
        (["bench", "--layer", "n=x c_in=2 c_out=2 size=4 kernel=3"], "--layer key n must be an int, got 'x'"),
        (["bench", "--algorithms", "fast"], "--algorithms: algorithm 'fast' not found"),
        (["bench", "--peers", "caffe"], "--peers: unknown peer 'caffe'"),
        (["shape", "--conv", "--input-size", "9", "--output-padding", "1"], "--output-padding does not apply here"),
        (["shape", "--conv", "--input-size", "9", "--output-size", "5"], "--output-size does not apply here"),
        (
            ["shape", "--framework", "torch", "--weight-shape", "1x1x3", "--input-shape", "1x1x4", "--stride", "2"],
            "--stride does not apply here: --framework reads the layer from name=value",
        ),
        (["shape", "--input-size", "4", "stride=2"], "name=value parameters does not apply here"),
        (["shape", "--input-size", "0"], "--input-size must be positive in every axis, got '0'"),
        (
            ["translate", "--from", "torch", "--to", "keras", "--weight-shape", "4x0x3"],
            "--weight-shape must be positive in every axis",
        ),
    ],
)
def test_bad_values_are_refused_naming_the_option(capsys, argv, message):
    assert message in fails(capsys, *argv)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["design", "--factor", "2", "--input-size", "3", "--output-size", "5"],
            "--output-size=5 is not --factor*--input-size",
        ),
        (["design", "--input-size", "4"], "give --factor, or both --input-size and --output-size"),
        (["design", "--factor", "1000000000"], "lower the limits or pass --no-output-padding"),
        (["explain", "--output-padding", "2", "--stride", "2"], "--output-padding must be smaller than --stride"),
        (["shape", "--input-size", "4", "--stride", "2", "--output-size", "20"], "--kernel-size (3,), --stride (2,)"),
        (
            ["shape", "--framework", "torch", "--weight-shape", "4x8", "--input-shape", "1x4x5"],
            "weight of shape (4, 8)",
        ),
        (
            ["shape", "--framework", "torch", "--weight-shape", "4x8x3", "--input-shape", "1x5x6"],
            "--input-shape (1, 5, 6) has 5 channels in PyTorch's layout, but --weight-shape (4, 8, 3) takes 4",
        ),
        (
            ["translate", "--from", "torch", "--to", "keras", "--weight-shape", "4x8x3x3", "groups=3"],
            "groups=3 must divide the input channels (4)",
        ),
    ],
)
def test_the_librarys_messages_name_the_options_the_user_typed(capsys, argv, message):
    err = fails(capsys, *argv)
    assert message in err
    for parameter in ("factor", "input_size", "output_size", "weight_shape", "input_shape", "output_padding"):
        assert not re.search(rf"(?<![\w-]){parameter}\b", err), err  # only as part of an option: --input-size


def test_translate_to_all_reports_a_bad_source_once(capsys):
    """A source error is the source's, not every target's 'not expressible'."""
    err = fails(capsys, "translate", "--from", "torch", "--to", "all", "--weight-shape", "4x8x3", "groups=0")
    assert "groups must be a positive integer, got 0" in err


def test_every_option_that_takes_a_value_has_help():
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == {module.rsplit(".", 1)[1] for module in COMMANDS}
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if action.option_strings and action.nargs != 0 and not isinstance(action, argparse._HelpAction):
                assert action.help, f"tconv {name} {action.option_strings[0]} has no help text"


# --- huge sizes: refused (or bounded) up front, never a hang or a MemoryError ---------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["explain", "--kernel-size", "100000"], "--kernel-size 100000x100000 has 10000000000 elements"),
        (["explain", "--input-size", "100000", "--kernel-size", "10000"], "multiply-adds"),
        (["explain", "--input-size", "2000", "--gif", "x.gif"], "--gif animates every cell, at most 400"),
        (["explain", "--input-size", "60x60", "--png", "x.png"], "--png draws every cell, at most 1600"),
        (
            ["artifacts", "--stride", "1000000"],
            "the overlap map (output size 3000003 for --input-size 4, --kernel-size 3, --stride 1000000",
        ),
        (["artifacts", "--kernel-size", "3x3", "--stride", "3000"], "the phase table of --stride 3000"),
        (["design", "--input-size", "10", "--output-size", "1000000000"], "the search is too large"),
        (["bench", "--layer", "n=1 c_in=2 c_out=2 size=100000x100000 kernel=3"], "more than the benchmark's"),
    ],
)
def test_huge_sizes_are_refused_with_the_size(capsys, argv, message):
    assert message in fails(capsys, *argv)


# --- closed pipes, interrupts, missing optional dependencies -----------------------------------------

PIPED = [
    ["explain"],
    ["shape", "--input-size", "4", "--stride", "2"],
    ["design", "--factor", "2"],
    ["translate", "--from", "torch", "--to", "all", "--weight-shape", "4x8x3x3", "stride=2"],
    ["artifacts", "--kernel-size", "3", "--stride", "2"],
    ["bench", "--list"],
    ["--help"],
]


@pytest.mark.parametrize("argv", PIPED, ids=lambda argv: argv[0])
def test_a_closed_pipe_is_silent(argv):
    """``tconv ... | head``: the reader is gone before tconv writes; no BrokenPipeError traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tconv", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV
    )
    process.stdout.close()  # the reader leaves at once: every write meets a closed pipe
    _, err = process.communicate(timeout=120)
    assert err.decode() == ""
    assert process.returncode in (0, 1)


def test_a_missing_matplotlib_is_one_line_with_the_install_hint(tmp_path):
    script = (
        "import sys; sys.modules['matplotlib'] = None\n"  # as if it were not installed
        "from tconv.cli import main\n"
        f"sys.exit(main(['explain', '--png', {str(tmp_path / 'x.png')!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV)
    assert result.returncode == 2
    assert result.stderr == (
        'tconv explain: error: --png needs matplotlib, which is not installed: pip install ".[viz]" in a clone '
        'of tconv (pip install "tconv[viz]" otherwise)\n'
    )
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    "module, code, hint",
    [
        ("torch", "import tconv.torch", ".[torch]"),
        ("dask", "import tconv.dask", ".[dask]"),
        (
            "matplotlib",
            "from tconv.examples.train_upsampler import main; sys.exit(main(['--out', 'x']))",
            ".[examples]",
        ),
    ],
)
def test_a_missing_framework_names_the_extra(module, code, hint):
    script = f"import sys; sys.modules[{module!r}] = None\n{code}\n"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=ENV)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert f'needs {module}, which is not installed: pip install "{hint}" in a clone of tconv' in last
    assert last.startswith(("tconv._validate.MissingDependency: ", "python -m tconv.examples.train_upsampler: error:"))


def test_the_extras_table_matches_pyproject():
    """Every extra named by an install hint exists in pyproject.toml and lists the module's distribution."""
    import tomllib

    from tconv._validate import EXTRAS

    root = Path(__file__).resolve().parents[2]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    distributions = {"PIL": "pillow", "matplotlib": "matplotlib", "distributed": "dask"}
    for module, extra in EXTRAS.items():
        assert extra in extras, (module, extra)
        name = distributions.get(module, module)
        assert any(req.lower().startswith(name.lower()) or name in req for req in extras[extra]) or (
            module == "PIL" and any(req.startswith("matplotlib") for req in extras[extra])  # pillow comes with it
        ), (module, extra, extras[extra])


def test_the_bench_progress_line_goes_to_a_terminal_only(capsys, monkeypatch):
    oracle("numba")
    import tconv.benchmark

    def fake_run(layers, dtypes, peers, algorithms, *, progress, **kwargs):
        progress("[####----] 1/2 dcgan-3 float32: round 1/5 tconv")
        return {"results": []}

    monkeypatch.setattr(tconv.benchmark, "run", fake_run)
    monkeypatch.setattr(tconv.benchmark, "format_table", lambda report: "table")
    assert main(["bench", "--layers", "dcgan-3", "--peers", ""]) == 0
    out, err = capsys.readouterr()
    assert out == "table\n" and err == ""  # stderr is captured here: not a terminal, no escape codes
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert main(["bench", "--layers", "dcgan-3", "--peers", ""]) == 0
    assert "\r\033[K[####----] 1/2" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["translate", "--to", "torch", "--input-shape", "16x16", "torch.nn.ConvTranspose2d(64, 32, 3, stride=2)"],
        ["translate", "--to", "keras", "--input-shape", "1", "torch.nn.ConvTranspose2d(64, 32, 3, stride=2)"],
    ],
)
def test_an_input_shape_without_its_channel_axis_is_one_line(capsys, argv):
    """Found by a differential fuzz: an IndexError from deep inside the frameworks' weight shapes."""
    assert "--input-shape" in fails(capsys, *argv)


def test_huge_shape_arguments_are_counted_not_listed(capsys):
    """Found by a differential fuzz: the count of valid output sizes took len() of a range past 2**63."""
    assert main(["shape", "--input-size", "5", "--dilation", str(10**23), "--json"]) == 0
    out, _ = capsys.readouterr()
    import json

    report = json.loads(out)
    assert report["valid_output_sizes_count"] == [10**23]  # output_padding < max(stride, dilation)
    assert main(["shape", "--input-size", "5", "--stride", str(10**23), "--json"]) == 0
    assert json.loads(capsys.readouterr()[0])["valid_output_sizes_count"] == [10**23]
