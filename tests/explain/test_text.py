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
    zero_insertion_padding,
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
    assert zero_insertion_padding(g) == tuple(
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
