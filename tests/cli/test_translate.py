"""``tconv translate``: the plan and the code, --json, --to all, --help, errors."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from framework_oracles import onnx_model, run_ort
from helpers import assert_close

import tconv
from tconv.cli import main
from tconv.cli import translate as translate_command
from tconv.translation import translate

SRC = str(Path(tconv.__file__).resolve().parents[1])


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _help_and_examples(command, examples, capsys):
    """--help shows examples, and each example it prints is a real command that succeeds."""
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and f"tconv {command} " in out
    joined = re.sub(r"\s*\\\n\s*", " ", examples)
    for line in joined.splitlines():
        line = line.strip()
        if not line.startswith("tconv "):
            continue
        argv = shlex.split(line.split("  ")[0])[1:]  # as a shell splits it (quotes too)
        code, _, err = run(capsys, *argv)
        assert code == 0, (line, err)


def _python_dash_m(argv):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-m", "tconv", *argv], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip()


def test_help_has_examples_that_run(capsys):
    _help_and_examples("translate", translate_command.EXAMPLES, capsys)


def test_translate_prints_plan_and_code_that_runs(capsys):
    code, out, _ = run(
        capsys,
        "translate",
        "--from",
        "keras",
        "--to",
        "tconv",
        "--weight-shape",
        "3x3x2x1",
        "strides=2",
        "padding=same",
        "--code-only",
    )
    assert code == 0
    namespace: dict = {}
    exec(out, namespace)  # noqa: S102
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 4, 4, 1))
    kernel = rng.standard_normal((3, 3, 2, 1))
    expected = tconv.compat.keras.Conv2DTranspose(2, 3, strides=2, padding="same", use_bias=False)(x, kernel)
    y = namespace["conv_transpose"](np.moveaxis(x, -1, 1), namespace["convert_weight"](kernel))
    np.testing.assert_allclose(np.moveaxis(y, 1, -1), expected, rtol=1e-12, atol=1e-12)


def test_translate_json_and_all(capsys):
    code, out, _ = run(
        capsys,
        "translate",
        "--from",
        "tensorflow",
        "--to",
        "torch",
        "--weight-shape",
        "3x3x8x4",
        "--input-shape",
        "1x4x4x4",
        "output_shape=1,8,8,8",
        "strides=2",
        "padding=SAME",
        "--json",
    )
    data = json.loads(out)
    plan = translate(
        {"output_shape": [1, 8, 8, 8], "strides": 2, "padding": "SAME"},
        "tensorflow",
        "torch",
        weight_shape=(3, 3, 8, 4),
        input_shape=(1, 4, 4, 4),
    )
    assert data["post_crop"] == [[0, 1], [0, 1]] == [list(p) for p in plan.post_crop]
    assert data["code"] == plan.to_code()
    code, out, _ = run(
        capsys,
        "translate",
        "--from",
        "onnx",
        "--to",
        "all",
        "--weight-shape",
        "1x1x2x2x2x2",
        "strides=2,2,2,2",
        "--json",
    )
    data = json.loads(out)
    assert {p["target"] for p in data["plans"]} == {"tconv", "jax", "onnx"}
    assert set(data["inexpressible"]) == {"torch", "tensorflow", "keras"}


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (
            ["translate", "--from", "keras", "--to", "torch", "--weight-shape", "3x3x8x4", "stride=2"],
            "unknown keras parameter",
        ),
        (
            ["translate", "--from", "keras", "--to", "torch", "--weight-shape", "3x3x8x4", "strides"],
            "written name=value",
        ),
    ],
)
def test_errors_exit_2_with_the_reason(argv, phrase, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert phrase in err


def test_python_dash_m_runs_it():
    _python_dash_m(["translate", "--from", "torch", "--to", "jax", "--weight-shape", "4x2x3", "stride=2", "--no-code"])


# --- a layer in the user's own words -------------------------------------------------------------------------

# (the layer as its framework writes it, options, the target): the framework builds the layer from the same text
WEIGHT, INPUT = ["--weight-shape", "3x3x3x4"], ["--input-shape", "1x5x5x4"]
AS_WRITTEN = [
    ("torch.nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1, bias=False)", [], "keras"),
    ("torch.nn.ConvTranspose1d(4, 6, kernel_size=5, stride=3, groups=2, dilation=2)", [], "jax"),
    ("keras.layers.Conv2DTranspose(3, 3, strides=2, padding='same', use_bias=False)", INPUT, "torch"),
    ("tf.nn.conv2d_transpose(x, w, [1, 10, 10, 3], 2, padding='SAME')", WEIGHT + INPUT, "torch"),
    ("lax.conv_transpose(x, w, (2, 2), 'SAME', transpose_kernel=True)", WEIGHT, "keras"),
    (
        "helper.make_node('ConvTranspose', ['X', 'W'], ['Y'], strides=[2, 2], auto_pad='SAME_LOWER')",
        ["--weight-shape", "4x3x3x3"],
        "torch",
    ),
]


def _make(text, fw):
    """The source's own layer or call, built by its framework from the same text (the test's own text: eval)."""
    rng = np.random.default_rng(0)
    if text.startswith("torch."):
        torch = fw["torch"]
        torch.manual_seed(0)
        module = eval(text, {"torch": torch})  # noqa: S307
        x = rng.standard_normal((1, module.in_channels, *(5,) * len(module.kernel_size))).astype(np.float32)
        with torch.no_grad():
            y = module(torch.from_numpy(x)).numpy()
        bias = None if module.bias is None else module.bias.detach().numpy()
        return x, module.weight.detach().numpy(), bias, y
    if text.startswith("keras."):
        keras = fw["keras"]
        layer = eval(text, {"keras": keras})  # noqa: S307
        x = rng.standard_normal((1, 5, 5, 4)).astype(np.float32)
        layer.build(x.shape)
        w = rng.standard_normal(layer.kernel.shape).astype(np.float32)
        layer.set_weights([w])
        return x, w, None, np.asarray(layer(x))
    if text.startswith("tf."):
        x = rng.standard_normal((1, 5, 5, 4)).astype(np.float32)
        w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
        return x, w, None, eval(text, {"tf": fw["tf"], "x": x, "w": w}).numpy()  # noqa: S307
    if text.startswith("lax."):
        x = rng.standard_normal((1, 5, 5, 4)).astype(np.float32)
        w = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
        return x, w, None, np.asarray(eval(text, {"lax": fw["lax"], "x": x, "w": w}))  # noqa: S307
    onnx = fw["onnx"]
    node = eval(text, {"helper": onnx.helper})  # noqa: S307
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    attributes = {k: v.decode() if isinstance(v, bytes) else v for k, v in attributes.items()}
    x = rng.standard_normal((1, 4, 5, 5)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    return x, w, None, run_ort(fw["ort"], onnx_model(onnx, 2, attributes, bias=False), x, w)


@pytest.fixture(scope="module")
def frameworks(torch, tf, keras, lax, onnx, ort):
    return dict(torch=torch, tf=tf, keras=keras, lax=lax, onnx=onnx, ort=ort)


@pytest.mark.parametrize("text, options, target", AS_WRITTEN, ids=[t.split("(")[0] for t, _, _ in AS_WRITTEN])
def test_a_layer_as_written_translates_to_code_that_matches_it(text, options, target, frameworks, capsys):
    """The call as typed (quoted for the shell), its framework read off its name and its weight's shape off its
    arguments; the printed layer, built in the target framework, gives the source framework's own result."""
    code, out, err = run(capsys, "translate", "--to", target, *options, text, "--code-only")
    assert code == 0, err
    x, w, b, expected = _make(text, frameworks)
    namespace: dict = {}
    exec(out, namespace)  # noqa: S102
    plan = _plan(text, options, target)  # for its data layouts
    assert out.startswith(f"# tconv translation plan: {plan.describe().split(':')[0]}")
    x_t = plan.input_to_target(x)
    w_t = namespace["convert_weight"](w)
    if target == "torch":
        torch = frameworks["torch"]
        with torch.no_grad():
            y_t = namespace["make_layer"](w_t, b)(torch.from_numpy(np.ascontiguousarray(x_t))).numpy()
    elif target == "keras":
        y_t = np.asarray(namespace["make_layer"](w_t, b)(x_t))
    else:
        y_t = np.asarray(namespace["conv_transpose"](x_t, w_t, b))
    assert_close(plan.output_to_source(y_t), expected, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(expected).max())))


def _plan(text, options, target):
    from tconv.cli._params import parse_call
    from tconv.translation import read_call

    call = read_call(*parse_call(text))
    shapes = dict(zip(options[::2], options[1::2]))
    parse = translate_command.sizes("--weight-shape")
    weight = parse(shapes["--weight-shape"]) if "--weight-shape" in shapes else None
    size = parse(shapes["--input-shape"]) if "--input-shape" in shapes else None
    return translate(call.params, call.framework, target, weight_shape=weight, input_shape=size)


def test_the_issues_words_are_accepted(capsys):
    """The constructor's arguments as name=value words (the framework read off the names where they say it)."""
    for argv in (
        ["--from", "torch", "in_channels=64", "out_channels=32", "kernel_size=3"],
        ["in_channels=64,", "out_channels=32,", "kernel_size=3,", "stride=2,", "padding=1,", "output_padding=1"],
        ["--input-shape", "1x16x16x64", "filters=32", "kernel_size=3", "strides=2", "padding=same"],
        ["--weight-shape", "64x32x3x3", "--from", "onnx", "kernel_shape=3,3", "strides=2,2", "pads=1,1,1,1"],
    ):
        code, out, err = run(capsys, "translate", "--to", "tconv", *argv, "--no-code")
        assert code == 0, (argv, err)
        assert "channels 64 -> 32" in out, out


@pytest.mark.parametrize(
    "argv, phrase",
    [
        (["filters=32", "kernel_size=3", "strides=2", "padding=same"], "pass --weight-shape 3,3,32,C_in with C_in"),
        (["filters=32", "kernel_size=3"], "or --input-shape"),
        (["--from", "torch", "in_channels=64", "kernel_size=3"], "pass --weight-shape 64,C_out/groups,3,3"),
        (["--from", "torch", "stride=2"], "pass --weight-shape, the shape of its weight (C_in, C_out/groups, *k)"),
        (["tf.nn.conv2d_transpose(x, w, [1, 8, 8, 3], 2)"], "e.g. --weight-shape 3x3x32x64"),
        (["weight_shape=64x32x3x3", "stride=2"], "an option here: --weight-shape 64x32x3x3"),
        (["strides=2", "padding=SAME"], "say which framework the arguments are written for with --from"),
        (["torch.nn.Conv2d(4, 3, 3)"], "torch.nn.Conv2d is not a transposed convolution tconv reads"),
        (["conv_transpose(x, w, stride=2)"], "is written the same in"),
        (["torch.nn.ConvTranspose2d(4, 3, 3, padding_mode='reflect')"], 'Only "zeros" padding mode is supported'),
    ],
)
def test_what_is_missing_is_asked_for_by_its_option(argv, phrase, capsys):
    code, _, err = run(capsys, "translate", "--to", "torch", *argv)
    assert code == 2
    assert phrase in err, err
    assert "weight_shape=" not in err and "input_shape=" not in err


def _one_line_error(capsys, argv, *phrases):
    """``tconv argv`` exits 2 with one line on standard error holding every phrase, and prints nothing."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (argv, out, err)
    assert out == "" and len(err.splitlines()) == 1, err
    for phrase in phrases:
        assert phrase in err, err


@pytest.mark.parametrize(
    "argv, phrases",
    [
        # a 2-d layer whose kernel, strides, padding or weight shape has another number of axes
        (["torch.nn.ConvTranspose2d(64, 32, (3, 3, 3))"], ["ConvTranspose2d has 2 spatial axes", "kernel_size"]),
        (["keras.layers.Conv2DTranspose(8, (3, 3, 3))"], ["Conv2DTranspose has 2 spatial axes", "kernel_size"]),
        (["torch.nn.ConvTranspose2d(64, 32, 3, stride=(2, 2, 2))"], ["stride", "2 values"]),
        (["torch.nn.ConvTranspose2d(64, 32, 3, padding=(1, 1, 1))"], ["padding", "2 values"]),
        (["torch.nn.ConvTranspose2d(64, 32, 3, dilation=(1, 1, 1))"], ["dilation", "2 values"]),
        (["--weight-shape", "8x4x3x3x3", "torch.nn.functional.conv_transpose2d(x, w)"], ["2 spatial axes", "give 3"]),
        (["keras.layers.Conv1DTranspose(8, 3, strides=(2, 2))", "--input-shape", "1x8x4"], ["strides"]),
        # a keyword given twice (Python refuses it; so does tconv)
        (["torch.nn.ConvTranspose2d(64, 32, 3, stride=2, stride=3)"], ["repeated", "stride"]),
        (["--from", "keras", "--weight-shape", "3x3x8x4", "strides=2", "strides=3"], ["strides is given twice"]),
        # a flag is true or false, nothing else
        (
            ["--from", "jax", "--weight-shape", "3x3x4x8", "strides=2,2", "padding=SAME", "transpose_kernel=maybe"],
            ["transpose_kernel must be True or False", "'maybe'"],
        ),
        (
            ["--from", "jax", "--weight-shape", "3x3x4x8", "strides=2,2", "padding=SAME", "use_consistent_padding=1"],
            ["use_consistent_padding must be True or False"],
        ),
    ],
)
def test_a_layer_that_contradicts_itself_is_refused_in_one_line(argv, phrases, capsys):
    _one_line_error(capsys, ["translate", "--to", "keras", *argv], *phrases)


@pytest.mark.parametrize(
    "words",
    [
        ["stride=(2,2)", "padding=(1,1)"],
        ["stride=[2,2]", "padding=[1,1]"],
        ["stride=2x2", "padding=1,1"],
        ["stride=(2, 2),", "padding=(1, 1)"],
    ],
)
def test_name_value_words_take_python_tuples(words, capsys):
    code, out, err = run(capsys, "translate", "--from", "torch", "--to", "tconv", "--weight-shape", "4x8x3x3", *words)
    assert code == 0, err
    assert "stride=(2, 2), padding=((1, 1), (1, 1))" in out


def test_flags_read_true_and_false(capsys):
    argv = [
        "translate",
        "--from",
        "jax",
        "--to",
        "tconv",
        "--no-code",
        "--weight-shape",
        "3x3x4x8",
        "strides=2,2",
        "padding=SAME",
    ]
    for word, said in (("true", "True"), ("True", "True"), ("false", "False"), ("FALSE", "False")):
        code, out, err = run(capsys, *argv, f"transpose_kernel={word}")
        assert code == 0, err
        assert f"transpose_kernel={said}" in out


def test_a_call_is_read_never_run(tmp_path, capsys):
    """Only literals are evaluated: an expression in the arguments stays text, a call that is not a name is
    refused, and nothing typed runs."""
    target = tmp_path / "ran"
    for text in (
        f"torch.nn.ConvTranspose2d(4, 3, 3, stride=open({str(target)!r}, 'w'))",
        f"__import__('pathlib').Path({str(target)!r}).touch()",
        f"torch.nn.ConvTranspose2d(4, 3, 3)(__import__('pathlib').Path({str(target)!r}).touch())",
    ):
        code, _, err = run(capsys, "translate", "--to", "keras", text)
        assert code == 2, text
        assert "Traceback" not in err
    assert not target.exists()
