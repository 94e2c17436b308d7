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


# --- escaping, limits, the value menu, real sizes, the keyboard --------------------------------------------


def test_any_label_and_non_finite_values_give_a_working_page(page, tmp_path):
    """Issue 11: a label that opens a comment or a script, and NaN/inf values, used to leave a blank page."""
    x = np.array([[1.0, np.nan], [np.inf, -np.inf]])
    label = "<!--<script>"
    path = write_explorer(
        tmp_path / "page.html",
        input_size=(2, 2),
        kernel_size=1,
        stride=1,
        values="given",
        input=x,
        weight=[[2.0]],
        label=label,
    )
    load(page, path)
    assert page.eval_on_selector("#values option[value=given]", "o => o.textContent") == label
    texts = page.eval_on_selector_all(".cell[data-role=input]", "els => els.map(e => e.textContent)")
    assert texts == ["1", "NaN", "inf", "-inf"]
    assert page.eval_on_selector_all(".cell[data-role=output]", "els => els.map(e => e.textContent)") == [
        "2",
        "NaN",
        "inf",
        "-inf",
    ]


def test_the_page_enforces_its_limits(page, tmp_path):
    load(page, write_explorer(tmp_path / "page.html"))
    page.fill("#in0", "40")
    assert page.inner_text("#error") == "input_size must be an integer from 1 to 16 on this page, got 40"
    assert page.inner_text("#output-shape") == "" and page.query_selector(".cell[data-role=output]") is None
    page.fill("#in0", "16")
    assert page.inner_text("#error") == ""
    with pytest.raises(ValueError, match="the explorer page takes stride from 1 to 8 in every axis, got \\(9, 9\\)"):
        write_explorer(tmp_path / "too-big.html", stride=9)


def test_the_value_menu_names_what_the_cells_show(page, tmp_path, capsys):
    path = tmp_path / "explorer.html"
    assert main(["explain", "--html", str(path)]) == 0  # TensorFlow's worked example, given values
    load(page, path)
    selected = "e => e.options[e.selectedIndex].textContent"
    assert page.eval_on_selector("#values", selected).startswith("TensorFlow's conv2d_transpose worked example")
    page.fill("#in0", "3")  # the example's values no longer fit: the cells show 1, 2, 3, ... and the menu says so
    assert page.eval_on_selector("#values", selected) == "1, 2, 3, ..."
    np.testing.assert_array_equal(grid(page, "input"), np.arange(1.0, 7.0).reshape(3, 2))
    given = page.eval_on_selector("#values option[value=given]", "o => [o.disabled, o.textContent]")
    assert given[0] is True and given[1].endswith("(for a 2x2 input and a 3x3 kernel only)")
    page.fill("#in0", "2")  # back to the example's sizes: its values again
    assert page.eval_on_selector("#values", selected).startswith("TensorFlow's conv2d_transpose worked example")
    np.testing.assert_array_equal(grid(page, "input"), TENSORFLOW_EXAMPLE["input"])


def _no_horizontal_scroll(page):
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], width


# the 16x16 input with kernel 9 and stride 8, and the largest configuration the page accepts
LARGE = [dict(input_size=(16, 16), kernel_size=9, stride=8), dict(input_size=(16, 16), kernel_size=9, stride=8,
                                                                   dilation=6, output_padding=7)]  # fmt: skip


@pytest.mark.parametrize("config", LARGE, ids=["issue", "largest"])
@pytest.mark.parametrize("viewport", [(390, 844), (1280, 800), (1920, 1080)], ids=["phone", "laptop", "wide"])
def test_real_sizes_stay_usable(page, tmp_path, config, viewport):
    """Large grids become heat-maps sized to the screen: the page never overflows sideways, holds a bounded number
    of cell elements, and still answers the pointer with the library's numbers."""
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    path = write_explorer(tmp_path / "page.html", values="random", seed=1, **config)
    page.goto(path.as_uri())
    page.wait_for_selector("[data-role=output]")
    _no_horizontal_scroll(page)
    assert page.eval_on_selector(".heat[data-role=output]", "e => e.dataset.render") == "canvas"
    assert page.evaluate("() => document.querySelectorAll('.cell').length") <= 2 * 16 * 16 + 81 + 64
    state = page.evaluate("() => ({x: Array.from(tconvExplorer.state.x), w: Array.from(tconvExplorer.state.w)})")
    x = np.array(state["x"]).reshape(16, 16)
    w = np.array(state["w"]).reshape(9, 9)
    d, op = config.get("dilation", 1), config.get("output_padding", 0)
    y = tconv.conv_transpose(x[None, None], w[None, None], stride=8, output_padding=op, dilation=d)[0, 0]
    assert page.inner_text("#output-shape") == f"{y.shape[0]}x{y.shape[1]}"
    overlay = ".heat[data-role=output] canvas.overlay"
    box = page.eval_on_selector(overlay, "e => { e.scrollIntoView(); return e.getBoundingClientRect().toJSON(); }")
    # point at output (row 5, column 7): the formula gives its value
    page.mouse.move(box["x"] + (7.5 / y.shape[1]) * box["width"], box["y"] + (5.5 / y.shape[0]) * box["height"])
    formula = page.inner_text("#formula")
    assert formula.startswith("y[5, 7] =")
    assert formula.endswith(f"= {int(y[5, 7])}") or (y[5, 7] == 0 and "y[5, 7] = 0: no input" in formula), formula
    for n, (field, value) in enumerate([("k0", 8), ("seed", 2), ("k1", 8), ("k0", 9), ("seed", 3), ("k1", 9)]):
        page.fill(f"#{field}", str(value))  # six changes, as in the issue
        assert page.inner_text("#error") == "", (n, page.inner_text("#error"))
    _no_horizontal_scroll(page)
    shot = np.asarray(oracle("PIL.Image").open(__import__("io").BytesIO(page.screenshot())).convert("RGB"), float)
    assert shot.std() > 20


@pytest.mark.parametrize("viewport", [(390, 844), (1280, 800), (1920, 1080)], ids=["phone", "laptop", "wide"])
def test_small_problems_are_drawn_cell_by_cell_with_readable_numbers(page, tmp_path, viewport, capsys):
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    default = tmp_path / "default.html"
    assert main(["explain", "--html", str(default)]) == 0  # TensorFlow's example, and its long value label
    load(page, default)
    _no_horizontal_scroll(page)
    assert page.eval_on_selector_all(".cell[data-role=output]", "els => els.map(e => e.textContent)")[0] == "67"
    assert not page.eval_on_selector(".grid[data-role=output]", "e => e.classList.contains('no-numbers')")
    load(page, write_explorer(tmp_path / "page.html", input_size=(3, 3), kernel_size=3, stride=2, values="random"))
    _no_horizontal_scroll(page)
    assert page.eval_on_selector(".grid[data-role=output]", "e => e.dataset.render") == "cells"
    sizes = page.eval_on_selector_all(
        ".grid:not(.no-numbers) .cell", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 9
    fits = page.eval_on_selector_all(
        ".grid:not(.no-numbers) .cell", "els => els.every(e => e.scrollWidth <= e.clientWidth + 1)"
    )
    assert fits


def test_what_did_not_change_is_not_drawn_again(page, tmp_path):
    load(page, write_explorer(tmp_path / "page.html", input_size=(4, 4), kernel_size=3, stride=2, values="random"))
    page.evaluate("() => { document.querySelector('.grid[data-role=output]').dataset.mark = 'old'; }")
    page.hover('.cell[data-role=output][data-index="1,1"]')
    page.fill("#seed", "7")  # new values, same geometry: the cells are updated in place
    assert page.eval_on_selector(".grid[data-role=output]", "e => e.dataset.mark") == "old"
    x, w = grid(page, "input"), grid(page, "kernel")
    assert_close(grid(page, "output"), tconv.conv_transpose(x[None, None], w[None, None], stride=2)[0, 0])
    page.fill("#s0", "3")  # a new geometry: a new grid
    assert page.eval_on_selector(".grid[data-role=output]", "e => e.dataset.mark || ''") == ""


def _focused(page):
    return page.evaluate(
        "() => { const e = document.activeElement; return [e.dataset.role || e.parentElement.dataset.role || '',"
        " e.dataset.index || '', getComputedStyle(e).outlineStyle, parseFloat(getComputedStyle(e).outlineWidth)]; }"
    )


def test_every_cell_and_control_is_reachable_from_the_keyboard(page, tmp_path):
    load(page, write_explorer(tmp_path / "page.html", input_size=(2, 2), kernel_size=3, stride=2, values="random"))
    x, w = grid(page, "input"), grid(page, "kernel")
    y = tconv.conv_transpose(x[None, None], w[None, None], stride=2)[0, 0]
    seen = []
    for _ in range(40):  # Tab through the page: the controls, then one stop per grid
        page.keyboard.press("Tab")
        role, index, style, width = _focused(page)
        seen.append(role or page.evaluate("() => document.activeElement.id"))
        if role == "output":
            break
    assert {"in0", "k0", "s0", "pmode", "values", "seed", "input", "kernel", "output"} <= set(seen), seen
    assert index == "0,0" and style != "none" and width >= 2  # a visible focus ring
    assert page.inner_text("#formula").startswith("y[0, 0] =")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert _focused(page)[:2] == ["output", "1,1"]
    assert page.inner_text("#formula").endswith(f"= {int(y[1, 1])}")
    assert marked(page, "output", "hl-out") == {(1, 1)}
    # the input grid: Enter shows the focused input's stamp
    page.focus('.cell[data-role=input][data-index="0,0"]')
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    assert page.inner_text("#stamp-title").startswith("stamp of x[0, 1]")
    # the buttons
    page.focus("#step-next")
    page.keyboard.press("Enter")
    assert page.inner_text("#step-label").startswith("step 1 of 4")


def test_a_heat_map_is_operable_from_the_keyboard(page, tmp_path):
    path = write_explorer(tmp_path / "page.html", input_size=(16, 16), kernel_size=9, stride=8, values="random")
    page.goto(path.as_uri())
    page.wait_for_selector(".heat[data-role=output]")
    page.focus(".heat[data-role=output] canvas.overlay")
    assert page.inner_text("#formula").startswith("y[0, 0] =")
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "End"):
        page.keyboard.press(key)
    assert page.inner_text("#formula").startswith("y[1, 128] =")
    page.keyboard.press("Enter")  # pins it
    page.mouse.move(5, 5)
    assert page.inner_text("#formula").startswith("y[1, 128] =")
