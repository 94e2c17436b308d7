"""tconv.explain.text: the walk-through and the index arithmetic it shows, against brute force and the operator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tconv
from tconv.explain import (
    TENSORFLOW_EXAMPLE,
    contributions,
    explain_text,
    output_window,
    scatter_steps,
    zero_insert,
)
from tconv.geometry import conv_transpose_geometry

# (input size, kernel size, stride, padding, output_padding, dilation)
CONFIGS = [
    ((2, 2), (3, 3), 2, 0, 0, 1),
    ((4,), (3,), 2, 1, 1, 2),
    ((3, 4), (3, 2), (2, 3), (1, 0), (1, 2), (1, 2)),
    ((5,), (3,), 1, 0, 2, 3),
    ((3,), (3,), 2, "same", 0, 1),
    ((3,), (2,), 3, ((-1, 2),), 0, 1),
    ((3,), (4,), 2, ((3, -2),), 0, 1),
]


def _geometry(config):
    i, k, s, p, op, d = config
    return conv_transpose_geometry(i, k, s, p, op, d)


@pytest.mark.parametrize("config", CONFIGS, ids=[str(n) for n in range(len(CONFIGS))])
def test_contributions_are_every_pair_that_lands_on_the_output(config):
    g = _geometry(config)
    for position in itertools.product(*map(range, g.output_size)):
        expected = [
            (j, t)
            for j in itertools.product(*map(range, g.input_size))
            for t in itertools.product(*map(range, g.kernel_size))
            if all(
                s * jj + d * tt - b == o
                for s, jj, d, tt, b, o in zip(g.stride, j, g.dilation, t, g.crop_begin, position)
            )
        ]
        assert contributions(g, position) == expected


@pytest.mark.parametrize("config", CONFIGS, ids=[str(n) for n in range(len(CONFIGS))])
def test_the_scatter_replay_and_its_window_are_the_operator(config):
    g = _geometry(config)
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(g.input_size), rng.standard_normal(g.kernel_size)
    steps = list(scatter_steps(x, w, g))
    assert len(steps) == x.size
    i, k, s, p, op, d = config
    y = tconv.conv_transpose(x[None, None], w[None, None], None, s, p, op, 1, d)[0, 0]
    np.testing.assert_allclose(output_window(steps[-1].total, g), y, rtol=1e-12, atol=1e-12)
    # the zero-insertion view: the flipped kernel over the padded, zero-inserted input
    x_pad = zero_insert(x, g)
    assert x_pad.shape == tuple(o + ke - 1 for o, ke in zip(g.output_size, g.effective_kernel_size))
    assert g.zero_insertion_padding == tuple(
        d * (k - 1) - b for d, k, b in zip(g.dilation, g.kernel_size, g.crop_begin)
    )


def test_explain_text_is_the_tensorflow_example_by_default():
    text = explain_text()
    assert text.startswith("TensorFlow's conv2d_transpose worked example: 2x2 input, 3x3 kernel, stride 2, VALID.")
    assert "The first output is x[0, 0]*w[0, 0] = -67*-1 = 67." in text
    assert "The often-expected 603 = -67 * -9" in text
    ex = TENSORFLOW_EXAMPLE
    assert explain_text(ex["input"], ex["weight"], stride=2).startswith("Transposed convolution, step by step.")
    with pytest.raises(ValueError, match="needs both input and weight, or neither"):
        explain_text(ex["input"])


# --- issue 11: the scatter steps are streamed, and what is shown is bounded ----------------------------


def test_a_long_input_is_explained_in_bounded_memory_and_text():
    """--input-size 10000 held every step as a full-output copy (1.7 GB); --steps all listed 10000 grids."""
    from helpers import peak_memory

    x, w = np.arange(1.0, 10_001), np.array([1.0, 2.0, 3.0])
    text, peak = peak_memory(explain_text, x, w, max_steps=None)
    assert peak < 64 * 2**20, peak  # the arrays are 80 kB each; the old replay held 10000 full outputs
    assert text.count("   step ") == 10_000 and "running sum:" not in text  # one line per step, no grids
    assert "(10002 values from 1 to 59992: too many to print)" in text
    assert len(text) < 600_000


def test_only_the_steps_shown_are_replayed():
    """The replay stops after max_steps: the steps are a stream, not a list."""
    import tconv.explain.text as module

    replayed = []

    def counting(x, w, g):
        for step in scatter_steps(x, w, g):
            replayed.append(step.index)
            yield step

    g = conv_transpose_geometry((6, 6), (3, 3), 2)
    x, w = np.arange(36.0).reshape(6, 6), np.ones((3, 3))
    original = module.scatter_steps
    module.scatter_steps = counting
    try:
        text = explain_text(x, w, 2, max_steps=5)
    finally:
        module.scatter_steps = original
    assert len(replayed) == 5 and text.count("running sum:") == 5
    assert "... 31 more steps (--steps all shows them)" in text
    assert g.full_size == (13, 13)


def test_the_steps_shown_are_checked_against_the_operator(monkeypatch):
    """The last running sum shown equals conv_transpose of the input with only those elements."""
    import tconv.explain.text as module

    def wrong(x, w, g):
        for step in scatter_steps(x, w, g):
            yield module.Step(step.index, step.value, step.origin, step.stamp, step.total + (step.index == (2,)))

    monkeypatch.setattr(module, "scatter_steps", wrong)
    explain_text(np.arange(1.0, 6), np.ones(3), 2, max_steps=2)  # the wrong step is not shown
    with pytest.raises(RuntimeError, match="the scatter replay disagrees with conv_transpose"):
        explain_text(np.arange(1.0, 6), np.ones(3), 2, max_steps=3)


def test_large_grids_are_summarized_in_one_line():
    text = explain_text(np.ones((30, 30)), np.ones((3, 3)), 1, max_steps=1)
    assert "input x (30x30):\n  (30x30 = 900 values from 1 to 1: too many to print)" in text
    assert "(the full output has 1024 cells: the steps without their running sums)" in text
