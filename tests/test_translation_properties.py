"""Translation on arbitrary windows (hypothesis, fixed profile): every target's plan reproduces the window.

The real-framework checks are in test_translation.py; here the windows are arbitrary
``(begin, end)`` crops (negative: zero extension) with groups and dilation, the
source is tconv itself and each plan runs through tconv.compat (which the
tests/frameworks/test_<framework>.py files hold to the frameworks). A second property reads the target's
own arguments back through that framework's window rule: the target's window plus
the plan's post step is the source's window.
"""

from __future__ import annotations

import numpy as np
from helpers import assert_close
from hypothesis import given
from hypothesis import strategies as st

import tconv
from tconv.frameworks import keras as compat_keras
from tconv.frameworks import onnx as compat_onnx
from tconv.frameworks import torch as compat_torch
from tconv.translation import translate


@st.composite
def windows(draw):
    nd = draw(st.integers(1, 2))
    k = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    s = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    size = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    crop = []
    for ki, si, di, i in zip(k, s, d, size):
        full = (i - 1) * si + di * (ki - 1) + 1
        b = draw(st.integers(-2, full - 1))
        e = draw(st.integers(-2, full - b - 1))
        crop.append((b, e))
    groups = draw(st.sampled_from([1, 2]))
    return dict(stride=s, padding=tuple(crop), dilation=d, groups=groups), k, size


@given(windows())
def test_every_target_reproduces_an_arbitrary_window(case):
    params, k, size = case
    g = params["groups"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 2 * g, *size))
    w = rng.standard_normal((2 * g, 2, *k))
    b = rng.standard_normal(2 * g)
    expected = tconv.conv_transpose(x, w, b, **params)
    for target in ("tconv", "torch", "tensorflow", "keras", "jax", "onnx"):
        plan = translate(params, "tconv", target, weight_shape=w.shape)
        assert_close(plan.apply(x, w, b), expected)


@given(windows())
def test_target_window_plus_post_step_is_the_source_window(case):
    params, k, size = case
    source = tconv.geometry.conv_transpose_geometry(size, k, params["stride"], params["padding"], 0, params["dilation"])
    weight_shape = (2 * params["groups"], 2, *k)
    for target, window in (
        (
            "torch",
            lambda a: compat_torch.window(size, k, a["stride"], a["padding"], a["output_padding"], a["dilation"]),
        ),
        (
            "onnx",
            lambda a: compat_onnx.window(
                size,
                k,
                pads=a["pads"],
                output_padding=a["output_padding"],
                strides=a["strides"],
                dilations=a["dilations"],
            ),
        ),
        (
            "keras",
            lambda a: compat_keras.window(
                size, a["kernel_size"], a["strides"], a["padding"], a["output_padding"], a["dilation_rate"]
            ),
        ),
    ):
        plan = translate(params, "tconv", target, weight_shape=weight_shape)
        got = window(plan.arguments).padding_pairs
        post = plan.post_crop or ((0, 0),) * len(size)
        combined = tuple((gb + pb, ge + pe) for (gb, ge), (pb, pe) in zip(got, post))
        assert combined == source.padding_pairs, (target, plan.arguments, post)
