"""tconv.explain.pictures: they render for arbitrary parameters, and show the library's numbers."""

from __future__ import annotations

import numpy as np
import pytest
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
