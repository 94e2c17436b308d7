"""tconv.explain.pictures: they render for arbitrary parameters, and show the library's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from figure_text import DOCS_WIDTH_PX, assert_readable, drawn_text, font_sizes
from helpers import oracle

import tconv
from tconv.artifacts import analyze
from tconv.explain import TENSORFLOW_EXAMPLE
from tconv.explain import pictures as viz  # noqa: E402  (imports no matplotlib until it draws)


@pytest.fixture(autouse=True)
def _matplotlib():
    oracle("matplotlib")
    oracle("PIL")


def _num(v):
    v = float(v)
    return "0" if v == 0 else str(int(v)) if v == int(v) and abs(v) < 1e6 else f"{v:.3g}"


def _texts(ax):
    return [t.get_text() for t in ax.texts]


# (x shape, w shape, stride, padding, output_padding, groups, dilation)
PROBLEMS = [
    ((2, 2), (3, 3), 2, 0, 0, 1, 1),
    ((4,), (3,), 2, 1, 1, 1, 2),
    ((3, 4), (3, 2), (2, 3), (1, 0), (1, 2), 1, (1, 2)),
    ((5,), (3,), 1, 0, 2, 1, 3),  # output_padding >= stride
    ((4, 3), (4, 1, 3), 2, 0, 1, 2, 1),  # groups, 1-d with channels
    ((2, 3, 3), (2, 3, 2, 2), 2, 1, 0, 1, 1),  # 2 -> 3 channels
    ((3,), (3,), 2, "same", 0, 1, 1),
    ((3,), (2,), 3, ((-1, 2),), 0, 1, 1),  # negative begin crop: zeros before the full output
]


def _problem(shape_x, shape_w, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-5, 6, size=shape_x).astype(float), rng.integers(-3, 4, size=shape_w).astype(float)


def _problem_of(x, w, args, channel=0):
    names = ("stride", "padding", "output_padding", "groups", "dilation")
    return viz.problem(x, w, channel=channel, **dict(zip(names, args)))


def _expected(x, w, args):
    x3, w3 = (x[None], w[None, None]) if w.ndim == x.ndim else (x, w)
    return tconv.conv_transpose(x3, w3, None, *args)


@pytest.mark.parametrize("problem", PROBLEMS, ids=[str(i) for i in range(len(PROBLEMS))])
def test_every_view_renders_and_shows_the_operator_output(problem, tmp_path):
    x, w = _problem(*problem[:2])
    args = problem[2:]
    y = _expected(x, w, args)  # (C_out, *o)
    channel = y.shape[0] - 1
    fig = viz.zero_insertion_figure(_problem_of(x, w, args, channel))
    assert _texts(fig.axes[-1]) == [_num(v) for v in y[channel].ravel()]
    fig = viz.matrix_figure(_problem_of(x, w, args, channel))
    x3, w3 = (x[None], w[None, None]) if w.ndim == x.ndim else (x, w)
    g = tconv.geometry.conv_transpose_geometry(x3.shape[1:], w3.shape[2:], args[0], args[1], args[2], args[4])
    names = ("stride", "padding", "output_padding", "groups", "dilation")
    ct = tconv.conv_transpose_matrix(w3, g.input_size, sparse=False, **dict(zip(names, args)))
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), ct)
    assert _texts(fig.axes[-1]) == [_num(v) for v in y[channel].ravel()]
    fig = viz.scatter_figure(_problem_of(x, w, args, channel))
    assert fig.axes[-1].get_title().startswith("running sum after")
    path = viz.save_figure(viz.explain_figure(_problem_of(x, w, args, channel)), tmp_path / "all.png")
    image = oracle("PIL.Image").open(path)
    assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 300


def test_scatter_steps_show_the_replay():
    x, w = TENSORFLOW_EXAMPLE["input"], TENSORFLOW_EXAMPLE["weight"]
    first = viz.scatter_figure(viz.problem(x, w, stride=2), step=1)
    assert first.axes[-2].get_title() == "stamp: x[0, 0] = -67 times w"
    assert _texts(first.axes[-2])[:3] == ["67", "-134", "201"]  # -67 * [-1, 2, -3]
    last = viz.scatter_figure(viz.problem(x, w, stride=2))
    y = tconv.conv_transpose(x[None, None], w[None, None], stride=2)[0, 0]
    assert _texts(last.axes[-1]) == [_num(v) for v in y.ravel()]
    zero = viz.zero_insertion_figure(viz.problem(x, w, stride=2))
    assert "y[0, 0] = sum(window * flipped kernel) = -67*-1 = 67" in zero._suptitle.get_text()


def test_overlap_picture_shows_brute_force_counts():
    fig = viz.overlap_figure(analyze((3, 3), stride=2, dilation=2, input_size=(3, 4)))
    counts = tconv.conv_transpose(np.ones((1, 1, 3, 4)), np.ones((1, 1, 3, 3)), stride=2, dilation=2)[0, 0]
    assert _texts(fig.axes[0]) == [_num(v) for v in counts.ravel()]
    assert fig._suptitle.get_text().endswith("HOLES")
    w = np.random.default_rng(0).standard_normal((2, 2, 4))
    fig = viz.overlap_figure(analyze(None, stride=2, padding=1, weight=w, groups=2))
    size = tconv.artifacts.overlap(4, stride=2, padding=1).geometry.input_size  # the picture's default input
    response = tconv.conv_transpose(np.ones((2, *size)), w, stride=2, padding=1, groups=2)[0]
    assert _texts(fig.axes[2]) == [_num(v) for v in response]


def test_animations(tmp_path):
    image = oracle("PIL.Image")
    x, w = TENSORFLOW_EXAMPLE["input"], TENSORFLOW_EXAMPLE["weight"]
    path = viz.scatter_animation(viz.problem(x, w, stride=2), path=tmp_path / "s.gif")
    gif = image.open(path)
    assert gif.format == "GIF" and gif.n_frames == 5  # the empty output, then one frame per input element
    path = viz.zero_insertion_animation(
        viz.problem(np.ones(3), np.ones(3), stride=2, dilation=2), path=tmp_path / "z.gif"
    )
    assert image.open(path).n_frames == 9  # one frame per output element
    path = viz.scatter_animation(
        viz.problem(np.ones((8, 8)), np.ones((2, 2)), stride=2), path=tmp_path / "long.gif", max_frames=10
    )
    assert image.open(path).n_frames == 10


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: viz.problem(np.ones((1, 2, 2, 2)), np.ones((1, 1, 2, 2, 2))),
            "the pictures show 1-d or 2-d problems",
        ),
        (lambda: viz.scatter_figure(viz.problem(np.ones(3), np.ones(3)), step=9), r"step must be in \[0, 3\]"),
        (
            lambda: viz.zero_insertion_figure(viz.problem(np.ones(3), np.ones(3)), position=(7,)),
            "position must be an index",
        ),
        (
            lambda: viz.problem(np.ones((2, 3)), np.ones((2, 1, 3)), groups=2, channel=2),
            r"channel must be an output channel in \[0, 2\)",
        ),
        (
            lambda: viz.explain_figure(viz.problem(np.ones(3), np.ones(3)), views=("scatter", "nope")),
            "views must be a non-empty selection",
        ),
        (lambda: viz.problem(np.ones(3), np.ones(3), stride=0), "stride must be positive"),
    ],
)
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_overlap_picture_needs_one_or_two_axes():
    with pytest.raises(ValueError, match="the overlap picture shows 1-d or 2-d configurations, got 3 axes"):
        viz.overlap_figure(analyze((3, 3, 3), stride=2))


# --- readable at the docs' size --------------------------------------------------------------------------


def _views(p):
    return [
        viz.scatter_figure(p),
        viz.zero_insertion_figure(p),
        viz.matrix_figure(p),
        viz.explain_figure(p),
    ]


READABLE = [
    (TENSORFLOW_EXAMPLE["input"], TENSORFLOW_EXAMPLE["weight"], dict(stride=2)),  # `tconv explain --png`'s poster
    # the k4 s2 p1 example: three-digit numbers in Cᵀ and four-digit ones in the output
    (np.arange(1.0, 10.0).reshape(3, 3) * 10, np.arange(1.0, 17.0).reshape(4, 4) * 3, dict(stride=2, padding=1)),
    (np.arange(1.0, 5.0), np.arange(1.0, 5.0), dict(stride=2, padding=1)),  # a long 1-d canvas
    (np.arange(1.0, 13.0).reshape(4, 3), np.ones((4, 1, 3)), dict(stride=2, output_padding=1, groups=2)),
    (np.ones((8, 8)), np.ones((5, 5)), dict(stride=3, dilation=2)),  # large grids: small cells
]


@pytest.mark.parametrize("x, w, options", READABLE, ids=[str(i) for i in range(len(READABLE))])
def test_every_view_is_readable_at_the_docs_size(x, w, options):
    """No two lines of text overlap, none is under 8 pt, and no figure is wider than the docs' column."""
    p = viz.problem(x, w, **options)
    for name, fig in zip(("scatter", "zero-insert", "matrix", "poster"), _views(p)):
        assert fig.bbox.width <= DOCS_WIDTH_PX + 1e-6, name
        assert_readable(fig, name)


def test_numbers_that_do_not_fit_are_left_out_and_the_title_says_so():
    x = np.linspace(-1.234567e30, 2.5e29, 30).reshape(1, 30)  # 30 cells of 9 characters: no room
    p = viz.problem(x, np.ones((1, 1)) * 7.77777e-9)
    fig = viz.zero_insertion_figure(p)
    assert_readable(fig)
    said = [ax for ax in fig.axes if "colours only" in " ".join(ax.get_title().split())]
    assert said and all(not ax.texts for ax in said)
    assert all(ax in said for ax in fig.axes if not ax.texts)


def _frames(draw, p, steps):
    from tconv.explain.pictures import _drawing as drawing

    figures = []
    for step in steps:
        fig = drawing.figure(*draw[0](p))
        draw[1](fig, p, step)
        figures.append(fig)
    return figures


def test_animation_frames_keep_their_fonts():
    """The scatter GIF's numbers keep one size per panel in every frame (the text no longer jumps)."""
    from tconv.explain.pictures._scatter import draw_scatter, replay, scatter_size
    from tconv.explain.pictures._zero_insertion import draw_zero_insertion, zero_insertion_size

    p = viz.problem(TENSORFLOW_EXAMPLE["input"], TENSORFLOW_EXAMPLE["weight"], stride=2)
    frames = replay(p)
    scatter = _frames((scatter_size, lambda fig, p, n: draw_scatter(fig, p, frames, n)), p, range(len(frames) + 1))
    positions = [(0, 0), (2, 2), (4, 1)]
    sliding = _frames((zero_insertion_size, draw_zero_insertion), p, positions)
    for figures in (scatter, sliding):
        sizes = [font_sizes(fig) for fig in figures]
        assert all(s == sizes[-1] for s in sizes), sizes
        assert all(fig.bbox.size.tolist() == figures[0].bbox.size.tolist() for fig in figures)
        for fig in figures:
            assert_readable(fig)


def test_the_grouped_matrix_shows_every_input_channel_its_output_sums():
    x = np.arange(1.0, 13.0).reshape(4, 3)
    w = np.array([[[1.0, 2.0, 1.0]], [[-1.0, 0.0, 1.0]], [[2.0, 1.0, 2.0]], [[1.0, -1.0, 1.0]]])
    fig = viz.matrix_figure(viz.problem(x, w, stride=2, output_padding=1, groups=2, channel=1), output_element=(3,))
    titles = [ax.get_title() for ax in fig.axes]
    assert any("times the input x[2]" in t for t in titles) and any("times the input x[3]" in t for t in titles)
    assert "output channel 1 sums input channels 2..3 (its group)" in " ".join(fig._suptitle.get_text().split())
    shown = [ax for ax in fig.axes if "times the input" in ax.get_title()]
    for ax, channel in zip(shown, (2, 3)):  # each panel shows its channel's input
        assert [t.get_text() for t in ax.texts] == [_num(v) for v in x[channel]]


def test_the_matrix_is_written_c_transposed():
    fig = viz.matrix_figure(viz.problem(np.ones((2, 2)), np.ones((3, 3)), stride=2))
    text = " ".join(line.text for line in drawn_text(fig))
    assert "Cᵀ" in text and "C^T" not in text
