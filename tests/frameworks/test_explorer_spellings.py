"""The explorer page's framework spellings: translate's plans, run verbatim in each framework, and the page's own.

The page spells its configuration in each framework as ``tconv translate --from tconv`` does:
``TranslationPlan.snippet()`` (the weight steps, the target's call and its crop/pad step), ``plan.exact`` and
``plan.notes``. Here every snippet runs verbatim (``exec``) in PyTorch, TensorFlow, Keras and JAX with ``x`` and
``w`` bound, and ONNX's node lines are built into a model that ONNX Runtime runs; then the page's JavaScript
(``tconv/explain/assets/spellings.js``), which computes the spellings in the browser, is checked against the
plans over a grid of the page's configurations in a real headless browser (Debian's ``chromium`` through
``playwright``, as ``tests/explain`` runs the rest of the page).
"""

from __future__ import annotations

import ast
import itertools

import numpy as np
import pytest
from helpers import assert_close, oracle, oracle_executable

import tconv
from tconv.explain.explorer import write_explorer
from tconv.translation import translate

# (input_size, kernel_size, stride, padding, output_padding, dilation)
CONFIGS = [
    ((2, 2), (3, 3), 2, 0, 0, 1),  # TensorFlow's conv2d_transpose worked example: 2x2 input, 3x3 kernel, stride 2
    ((4,), (3,), 2, "same", 0, 1),  # odd crop: PyTorch needs a crop after the call
    ((3, 3), (3, 3), 2, 1, 1, 1),  # the common 2x up-sampler: TF explicit pads, Keras a crop
    ((3, 4), (4, 4), 2, 1, 0, 1),  # DCGAN k4 s2 p1
    ((3,), (2,), 3, "same", 0, 1),  # k_eff < s: SAME with zeros at the end
    ((4,), (3,), 1, 1, 2, 3),  # output_padding >= stride (< dilation)
    ((3, 2), (3, 2), (2, 1), "valid", 0, (2, 1)),  # dilation in one axis
    ((3,), (5,), 2, 2, 1, 1),
    ((3, 3), (3, 3), 2, 1, 0, 2),  # strides with dilation: Keras and TensorFlow get the dilated kernel
]
IDS = [f"i{c[0]}-k{c[1]}-s{c[2]}-p{c[3]}-op{c[4]}-d{c[5]}" for c in CONFIGS]

#: The page's names of the frameworks, and translate's.
PAGE_TARGETS = {"pytorch": "torch", "tensorflow": "tensorflow", "keras": "keras", "jax": "jax", "onnx": "onnx"}


def _plan(config, target, c_in=2, c_out=3):
    i, k, s, padding, op, d = config
    params = dict(stride=s, padding=padding, output_padding=op, dilation=d)
    return translate(params, "tconv", target, weight_shape=(c_in, c_out, *k), input_shape=(1, c_in, *i))


def _data(config, c_in=2, c_out=3):
    i, k = config[0], config[1]
    rng = np.random.default_rng(len(i) * 10 + k[0])
    x = rng.standard_normal((1, c_in, *i)).astype(np.float32)
    w = rng.standard_normal((c_in, c_out, *k)).astype(np.float32)
    y = tconv.conv_transpose(x, w, None, *config[2:4], config[4], 1, config[5])
    return x, w, y


def _run(snippet, **names):
    namespace = dict(np=np, **names)
    exec(compile(snippet, "<snippet>", "exec"), namespace)  # noqa: S102
    return namespace["y"]


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_pytorch(config, torch):
    x, w, y = _data(config)
    out = _run(_plan(config, "torch").snippet(), torch=torch, x=torch.from_numpy(x), w=w)
    assert_close(out.detach().numpy(), y, dtype=np.float32)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_jax(config, lax):
    x, w, y = _data(config)
    out = _run(_plan(config, "jax").snippet(), lax=lax, x=np.moveaxis(x, 1, -1), w=w)
    assert_close(np.moveaxis(np.asarray(out), -1, 1), y, dtype=np.float32)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_tensorflow(config, tf):
    x, w, y = _data(config)
    plan = _plan(config, "tensorflow")
    if max(np.broadcast_to(config[5], (len(config[0]),))) > 1:  # said, and run: TF's CPU kernels refuse dilations
        assert "reject dilations > 1" in " ".join(plan.notes) and "dilated[" in plan.snippet()
    out = _run(plan.snippet(), tf=tf, x=np.moveaxis(x, 1, -1), w=w)
    assert_close(np.moveaxis(np.asarray(out), -1, 1), y, dtype=np.float32)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_keras(config, keras):
    x, w, y = _data(config)
    plan = _plan(config, "keras")
    s = np.broadcast_to(config[2], (len(config[0]),))
    d = np.broadcast_to(config[5], (len(config[0]),))
    if max(s) > 1 and max(d) > 1:  # Keras forbids it: the spelling writes the dilation into the kernel
        assert "the dilation is written into the kernel" in " ".join(plan.notes)
        assert "dilation_rate=(1, 1)" in plan.snippet()
    out = _run(plan.snippet(), keras=keras, x=np.moveaxis(x, 1, -1), w=w)
    assert_close(np.moveaxis(np.asarray(out), -1, 1), y, dtype=np.float32)


def _onnx_model(onnx, snippet, x_shape, w):
    """ONNX's spelling (``y = Op(inputs, attribute=value, ...)`` lines) as a model: node by node, verbatim."""
    helper, tensor_proto, numpy_helper = onnx.helper, onnx.TensorProto, onnx.numpy_helper
    names = {"x": "X", "w": "W"}
    nodes, initializers = [], [numpy_helper.from_array(w, "W")]
    for n, line in enumerate(ast.parse(snippet).body):
        assert isinstance(line, ast.Assign) and isinstance(line.value, ast.Call), ast.dump(line)
        op = line.value.func.id
        inputs = [names[arg.id] for arg in line.value.args]
        attributes = {kw.arg: ast.literal_eval(kw.value) for kw in line.value.keywords}
        if op != "ConvTranspose":  # Pad and Slice take their numbers as int64 inputs
            for key, value in attributes.items():
                initializers.append(numpy_helper.from_array(np.array(value, dtype=np.int64), f"{key}{n}"))
                inputs.append(f"{key}{n}")
            attributes = {}
        nodes.append(helper.make_node(op, inputs, [f"Y{n}"], **attributes))
        names[line.targets[0].id] = f"Y{n}"
    nodes.append(helper.make_node("Identity", [names["y"]], ["Y"]))
    graph = helper.make_graph(
        nodes,
        "spelling",
        [helper.make_tensor_value_info("X", tensor_proto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("Y", tensor_proto.FLOAT, [None] * len(x_shape))],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)], ir_version=10)
    onnx.checker.check_model(model)
    return model


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_onnx(config, onnx, ort):
    x, w, y = _data(config)
    snippet = _plan(config, "onnx").snippet()
    assert snippet.startswith("y = ConvTranspose(x, w,")
    model = _onnx_model(onnx, snippet, x.shape, w)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert_close(session.run(None, {"X": x})[0], y, dtype=np.float32)


def test_the_configurations_exercise_the_crop_and_pad_steps():
    """Some spellings need a crop or a pad after the call (else those lines would be untested)."""
    snippets = [_plan(c, t).snippet() for c in CONFIGS for t in PAGE_TARGETS.values()]
    assert sum("torch.nn.ZeroPad" in s for s in snippets) >= 1  # the page's windows never need zeros from PyTorch
    assert sum("tf.pad(y" in s for s in snippets) >= 1 and sum("keras.layers.ZeroPadding" in s for s in snippets) >= 1
    assert sum("keras.layers.Cropping" in s for s in snippets) >= 1
    assert sum("y = y[" in s for s in snippets) >= 2  # TensorFlow crops by slicing
    assert sum("y = Pad(y" in s for s in snippets) >= 1 and sum("y = Slice(y" in s for s in snippets) >= 1


def test_exactness_flags():
    def exact(i, k, s, padding, op=0, target="torch"):
        return _plan((i, k, s, padding, op, 1), target, 1, 1).exact

    assert exact((4,), (3,), 2, "same") is False  # T = 1 is odd
    assert exact((4,), (4,), 2, "same") is True  # T = 2: p = 1
    assert exact((3, 3), (3, 3), 2, 1, 1, target="keras") is False
    # Keras 'same' with an explicit output_padding expresses this window exactly
    assert _plan(((3,), (3,), 2, 1, 0, 1), "keras", 1, 1).snippet().count("padding='same', output_padding=(0,)") == 1


# --- the page's JavaScript against the plans, in a real browser ----------------------------------------

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    executable = oracle_executable("chromium")
    sync_api = oracle("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page, tmp_path_factory.mktemp("explorer")
        browser.close()
        assert not errors, errors


def _expected(config, c_in=1, c_out=1):
    """What the page must show: the plans' snippets, exactness and notes."""
    out = {}
    for name, target in PAGE_TARGETS.items():
        plan = _plan(config, target, c_in, c_out)
        out[name] = {"code": plan.snippet(), "exact": plan.exact, "note": " ".join(plan.notes)}
    return out


def _grid():
    configs = []
    for nd, i, k, s, padding, op, d in itertools.product(
        (1, 2), (3, 4), (1, 2, 3, 4), (1, 2, 3), (0, 1, 2, "same", "valid"), (0, 1), (1, 2)
    ):
        if op >= max(s, d) or (padding == "same" and op):
            continue
        configs.append(((i,) * nd, (k,) * nd, s, padding, op, d))
    rng = np.random.default_rng(10)
    while len(configs) < 900:  # and 2-d configurations that differ between the axes
        s, d = tuple(int(v) for v in rng.integers(1, 4, 2)), tuple(int(v) for v in rng.integers(1, 3, 2))
        padding = str(rng.choice(["same", "valid"])) if rng.integers(0, 3) == 0 else tuple(rng.integers(0, 3, 2))
        op = (0, 0) if isinstance(padding, str) else tuple(int(rng.integers(0, max(a, b))) for a, b in zip(s, d))
        i, k = tuple(int(v) for v in rng.integers(1, 6, 2)), tuple(int(v) for v in rng.integers(1, 5, 2))
        configs.append((i, k, s, padding if isinstance(padding, str) else tuple(map(int, padding)), op, d))
    return configs


def _page_config(config):
    """The page's own configuration object (explorer.js ``readConfig``)."""
    i, k, s, padding, op, d = config
    nd = len(i)
    spread = lambda v: [int(x) for x in np.broadcast_to(v, (nd,))]  # noqa: E731
    pmode = padding if isinstance(padding, str) else "int"
    return dict(
        ndim=nd,
        i=list(i),
        k=list(k),
        s=spread(s),
        p=spread(0 if pmode != "int" else padding),
        op=spread(op),
        d=spread(d),
        pmode=pmode,
    )


def test_the_pages_spellings_are_the_plans(page):
    browser_page, folder = page
    browser_page.goto(write_explorer(folder / "page.html").as_uri())
    browser_page.wait_for_selector(".cell[data-role=output]")
    checked = 0
    for config in _grid():
        try:
            tconv.geometry.conv_transpose_geometry(*config)
        except ValueError:
            continue
        for c_in, c_out in ((1, 1), (2, 3)):
            spelled = browser_page.evaluate(
                "([cfg, cIn, cOut]) => tconvExplorer.frameworkSpellings(tconvExplorer.geometry(cfg), cIn, cOut)",
                [_page_config(config), c_in, c_out],
            )
            assert spelled == _expected(config, c_in, c_out), config
        checked += 1
    assert checked > 700


# The configurations of tests/explain (the page's own checks), shown by the page as it opens on them
SHOWN = [
    ((5,), 3, 2, 1, 1, 1),
    ((4,), 3, 2, 0, 0, 2),
    ((4,), 3, 1, 0, 2, 3),
    ((4,), 3, 2, "same", 0, 1),
    ((3, 4), (3, 2), (2, 3), (1, 0), (1, 2), 1),
    ((3, 3), (4, 4), 2, 1, 0, 1),
    ((2, 3), (3, 3), (3, 2), "valid", 0, (1, 2)),
    ((3, 2), (2, 3), 2, "same", 0, 1),
]


@pytest.mark.parametrize("config", SHOWN, ids=[str(n) for n in range(len(SHOWN))])
def test_the_page_shows_the_plans(page, config):
    browser_page, folder = page
    i, k, s, padding, op, d = config
    path = write_explorer(
        folder / "shown.html", input_size=i, kernel_size=k, stride=s, padding=padding, output_padding=op, dilation=d
    )
    browser_page.goto(path.as_uri())
    browser_page.wait_for_selector(".cell[data-role=output]")
    nd = len(i)
    spread = lambda v: tuple(int(x) for x in np.broadcast_to(v, (nd,)))  # noqa: E731
    expected = _expected((i, spread(k), s, padding, op, d))
    for name, entry in expected.items():
        assert browser_page.inner_text(f"#spell-{name}") == entry["code"], name
        assert browser_page.inner_text(f"#note-{name}") == entry["note"], name
