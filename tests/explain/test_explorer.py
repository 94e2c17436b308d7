"""The explorer page in a real headless browser: its numbers against the library's.

Debian's ``chromium`` is driven by the ``playwright`` package's bundled driver (never
``playwright install``: the browser is the system one). Both are oracles: missing,
the tests fail unless ``--oracles=optional``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import assert_close, oracle, oracle_executable

import tconv
from tconv import artifacts
from tconv.cli import main
from tconv.explain import TENSORFLOW_EXAMPLE, scatter_steps
from tconv.explain.explorer import write_explorer
from tconv.geometry import conv_transpose_geometry

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = oracle_executable("chromium")
    sync_api = oracle("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=executable,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        # no network: every request other than the page's own file is refused (and recorded)
        requests = []
        context.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith("file://")
                else (requests.append(route.request.url), route.abort())
            ),
        )
        yield context, requests
        context.close()


@pytest.fixture()
def page(browser):
    context, requests = browser
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield page
    page.close()
    assert not errors, errors
    assert not requests, f"the page tried to reach the network: {requests}"


def load(page, path):
    page.goto(path.as_uri())
    page.wait_for_selector(".cell[data-role=output]")


def grid(page, role):
    """The cells of one grid as an array (values from data-value, checked against the text shown)."""
    cells = page.eval_on_selector_all(
        f".cell[data-role={role}]", "els => els.map(e => [e.dataset.index, e.textContent, e.dataset.value])"
    )
    shape = page.eval_on_selector(f".grid[data-role={role}]", "e => e.dataset.shape")
    size = tuple(int(v) for v in shape.split("x"))
    out = np.zeros(size)
    for index, text, value in cells:
        idx = tuple(int(v) for v in index.split(","))
        out[idx] = float(value)
        if float(value) == int(float(value)):
            assert text == str(int(float(value))), (text, value)
    return out


def marked(page, role, cls):
    return {
        tuple(int(v) for v in i.split(","))
        for i in page.eval_on_selector_all(f".cell[data-role={role}].{cls}", "els => els.map(e => e.dataset.index)")
    }


def set_config(page, ndim, i, k, s=1, p=0, op=0, d=1, pmode="int", values="random", seed=3):
    page.select_option("#ndim", str(ndim))
    for a in range(ndim):
        for name, v in (("in", i), ("k", k), ("s", s), ("p", p), ("op", op), ("d", d)):
            page.fill(f"#{name}{a}", str(v[a] if isinstance(v, tuple) else v))
    page.select_option("#pmode", pmode)
    page.select_option("#values", values)
    page.fill("#seed", str(seed))


def test_default_page_is_the_tensorflow_example(page, tmp_path, capsys):
    path = tmp_path / "explorer.html"
    assert main(["explain", "--html", str(path)]) == 0
    load(page, path)
    x, w = TENSORFLOW_EXAMPLE["input"], TENSORFLOW_EXAMPLE["weight"]
    np.testing.assert_array_equal(grid(page, "input"), x)
    np.testing.assert_array_equal(grid(page, "kernel"), w)
    y = tconv.conv_transpose(x[None, None], w[None, None], stride=2)[0, 0]
    assert page.inner_text("#output-shape") == "5x5"
    np.testing.assert_array_equal(grid(page, "output"), y)
    page.click('.cell[data-role=output][data-index="0,0"]')
    assert page.inner_text("#formula").endswith("= -67*-1 = 67")
    assert marked(page, "input", "hl-in") == {(0, 0)}
    assert marked(page, "kernel", "hl-tap") == {(0, 0)}
    # the centre output gathers all four inputs
    page.click('.cell[data-role=output][data-index="2,2"]')
    assert marked(page, "input", "hl-in") == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert marked(page, "kernel", "hl-tap") == {(2, 2), (2, 0), (0, 2), (0, 0)}
    assert page.inner_text("#formula").endswith(f"= {int(y[2, 2])}")


CONFIGS = [
    dict(ndim=1, i=(5,), k=(3,), s=2, p=1, op=1),
    dict(ndim=1, i=(4,), k=(3,), s=2, d=2),  # holes
    dict(ndim=1, i=(4,), k=(3,), s=1, op=2, d=3),  # output_padding >= stride
    dict(ndim=1, i=(4,), k=(3,), s=2, pmode="same"),
    dict(ndim=2, i=(3, 4), k=(3, 2), s=(2, 3), p=(1, 0), op=(1, 2)),
    dict(ndim=2, i=(3, 3), k=(4, 4), s=2, p=1),
    dict(ndim=2, i=(2, 3), k=(3, 3), s=(3, 2), pmode="valid", d=(1, 2)),
    dict(ndim=2, i=(3, 2), k=(2, 3), s=2, pmode="same", values="sequential"),
]


def _library_args(c):
    nd = c["ndim"]
    pmode = c.get("pmode", "int")
    padding = pmode if pmode != "int" else c.get("p", 0)
    return dict(stride=c.get("s", 1), padding=padding, output_padding=c.get("op", 0), dilation=c.get("d", 1)), nd


@pytest.mark.parametrize("config", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_changed_parameters_match_the_library(page, tmp_path, config):
    load(page, write_explorer(tmp_path / "page.html"))
    set_config(page, **config)
    kwargs, nd = _library_args(config)
    x, w = grid(page, "input"), grid(page, "kernel")
    assert x.shape == config["i"] and w.shape == config["k"]
    assert len(np.unique(x)) > 1 or config.get("values") == "ones"
    y = tconv.conv_transpose(x[None, None], w[None, None], **kwargs)[0, 0]
    assert page.inner_text("#output-shape") == "x".join(map(str, y.shape))
    assert_close(grid(page, "output"), y)
    # every output cell: the highlighted inputs and taps are exactly the pairs that meet there
    g = conv_transpose_geometry(
        x.shape, w.shape, kwargs["stride"], kwargs["padding"], kwargs["output_padding"], kwargs["dilation"]
    )
    for o in list(itertools.product(*(range(n) for n in g.output_size)))[:12]:
        page.click(f'.cell[data-role=output][data-index="{",".join(map(str, o))}"]')
        pairs = [
            (j, t)
            for j in itertools.product(*(range(n) for n in g.input_size))
            for t in itertools.product(*(range(n) for n in g.kernel_size))
            if tuple(s * jj + d * tt - b for s, jj, d, tt, b in zip(g.stride, j, g.dilation, t, g.crop_begin)) == o
        ]
        assert marked(page, "input", "hl-in") == {j for j, _ in pairs}
        assert marked(page, "kernel", "hl-tap") == {t for _, t in pairs}
    # the overlap map, per-phase taps and verdict
    ov = artifacts.overlap(
        w.shape, kwargs["stride"], kwargs["padding"], kwargs["output_padding"], kwargs["dilation"], input_size=x.shape
    )
    np.testing.assert_array_equal(grid(page, "overlap"), ov.counts)
    np.testing.assert_array_equal(grid(page, "phase").reshape(ov.phase_counts.shape), ov.phase_counts)
    assert page.inner_text("#verdict") == ov.verdict.upper()
    # the framework spellings: tests/frameworks/test_explorer_spellings.py


def test_clicking_an_input_shows_its_stamp(page, tmp_path):
    load(
        page,
        write_explorer(
            tmp_path / "page.html",
            input_size=(3, 3),
            kernel_size=3,
            stride=2,
            padding=1,
            output_padding=1,
            values="random",
            seed=5,
        ),
    )
    x, w = grid(page, "input"), grid(page, "kernel")
    for j in [(0, 0), (1, 2), (2, 2)]:
        page.click(f'.cell[data-role=input][data-index="{j[0]},{j[1]}"]')
        one_hot = np.zeros_like(x)
        one_hot[j] = x[j]
        expected = tconv.conv_transpose(one_hot[None, None], w[None, None], stride=2, padding=1, output_padding=1)[0, 0]
        assert_close(grid(page, "stamp"), expected)
        ones = np.zeros_like(x)
        ones[j] = 1.0
        reached = {
            tuple(v)
            for v in np.argwhere(
                tconv.conv_transpose(
                    ones[None, None], np.ones_like(w)[None, None], stride=2, padding=1, output_padding=1
                )[0, 0]
            )
        }
        assert marked(page, "output", "hl-stamp") == reached


def test_step_through_animation_replays_the_scatter(page, tmp_path):
    load(
        page,
        write_explorer(
            tmp_path / "page.html",
            input_size=(2, 3),
            kernel_size=(3, 2),
            stride=2,
            padding=1,
            dilation=(1, 2),
            values="random",
            seed=2,
        ),
    )
    x, w = grid(page, "input"), grid(page, "kernel")
    g = conv_transpose_geometry(x.shape, w.shape, 2, 1, 0, (1, 2))
    steps = list(scatter_steps(x, w, g))
    assert page.inner_text("#step-label") == f"step 0 of {len(steps)}"
    np.testing.assert_array_equal(grid(page, "full"), np.zeros(g.full_size))
    for n, step in enumerate(steps, 1):
        page.click("#step-next")
        assert page.inner_text("#step-label").startswith(f"step {n} of {len(steps)}")
        assert_close(grid(page, "full"), step.total)
        stamp = {tuple(v) for v in np.argwhere(step.stamp != 0)} | {
            tuple(o + d * t for o, d, t in zip(step.origin, g.dilation, tap))
            for tap in itertools.product(*(range(k) for k in g.kernel_size))
        }
        assert marked(page, "full", "hl-tap") == stamp
    window = grid(page, "full")[1 : 1 + g.output_size[0], 1 : 1 + g.output_size[1]]
    assert_close(window, tconv.conv_transpose(x[None, None], w[None, None], stride=2, padding=1, dilation=(1, 2))[0, 0])
    page.click("#step-back")
    assert page.inner_text("#step-label").startswith(f"step {len(steps) - 1} of")
    page.click("#reset")
    assert page.inner_text("#step-label") == f"step 0 of {len(steps)}"


def test_bad_parameters_show_the_library_message(page, tmp_path):
    load(page, write_explorer(tmp_path / "page.html"))
    page.fill("#op0", "2")
    message = page.inner_text("#error")
    assert message.startswith("output_padding must be smaller than stride or dilation in every axis")
    with pytest.raises(ValueError, match="output_padding must be smaller than stride or dilation in every axis"):
        tconv.conv_transpose_output_size((2, 2), 3, stride=2, output_padding=(2, 0))
    assert page.inner_text("#output-shape") == ""
    page.fill("#op0", "1")
    assert page.inner_text("#error") == ""
    assert page.inner_text("#output-shape") == "6x5"


def test_screenshot_is_not_blank(page, tmp_path):
    image_module = oracle("PIL.Image")
    load(page, write_explorer(tmp_path / "page.html", input_size=(3, 3), kernel_size=3, stride=2, values="random"))
    page.click('.cell[data-role=output][data-index="2,2"]')
    page.click("#step-next")
    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot), full_page=True)
    image = np.asarray(image_module.open(shot).convert("RGB")).astype(float)
    assert image.shape[0] > 800 and image.shape[1] >= 1200
    assert image.std() > 20  # not a blank page
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50  # cells in many colours, text
