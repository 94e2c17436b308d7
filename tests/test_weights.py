"""Weight-layout converters: round trips, grouped layouts, and the layouts' meaning in real frameworks."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import assert_close

import tconv
from tconv.weights import (
    WEIGHT_LAYOUTS,
    Dilate,
    Ungroup,
    convert_weight,
    dilate_weight,
    from_torch_layout,
    run_steps,
    steps_code,
    steps_from_torch,
    steps_to_torch,
    to_torch_layout,
    ungroup_weight,
)

LAYOUTS = tuple(WEIGHT_LAYOUTS)


def test_the_layouts_in_words():
    """WEIGHT_LAYOUTS is read off each layout's steps."""
    assert WEIGHT_LAYOUTS == {
        "torch": "(C_in, C_out/groups, *k)",
        "onnx": "(C_in, C_out/groups, *k)",
        "tensorflow": "(*k, C_out/groups, C_in)",
        "keras": "(*k, C_out/groups, C_in)",
        "jax": "(*k, C_in/groups, C_out), spatially flipped",
        "conv": "(C_out, C_in/groups, *k), spatially flipped",
    }


STEP_PROGRAMS = [
    *(
        (f"{way.__name__}-{layout}-g{g}", way(layout, 2, g))
        for way in (steps_from_torch, steps_to_torch)
        for layout in LAYOUTS
        for g in (1, 2, 3)
    ),
    ("ungroup", [Ungroup(3)]),
    ("dilate", [Dilate((2, 3))]),
]


@pytest.mark.parametrize("steps", [p[1] for p in STEP_PROGRAMS], ids=[p[0] for p in STEP_PROGRAMS])
def test_the_printed_steps_compute_what_the_steps_compute(steps):
    """The code a plan prints for its weight steps and the arrays they give are one description."""
    w = np.random.default_rng(5).standard_normal((6, 6, 3, 6))  # every channel axis divisible by 1, 2, 3
    namespace = {"np": np, "w": w}
    exec("\n".join(steps_code(steps, "w")), namespace)  # noqa: S102
    expected = run_steps(steps, w)
    assert namespace["w"].shape == expected.shape and np.array_equal(namespace["w"], expected)


@pytest.mark.parametrize("source, target", list(itertools.product(LAYOUTS, LAYOUTS)))
@pytest.mark.parametrize("groups", [1, 2, 3])
def test_round_trips_are_exact(source, target, groups):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 2, 3, 2))  # torch layout: C_in=6, C_out/g=2
    there = from_torch_layout(w, source, groups)
    assert np.array_equal(to_torch_layout(there, source, groups), w)
    converted = convert_weight(there, source, target, groups)
    assert np.array_equal(to_torch_layout(converted, target, groups), w)


@pytest.mark.parametrize("groups", [1, 2, 3])
def test_conv_layout_is_the_zero_insertion_convolution_weight(groups):
    """conv_transpose(x, w) == conv(zero-inserted, padded x, the "conv" layout weight): the defining identity."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 6, 4, 3))
    w = rng.standard_normal((6, 2, 3, 2))
    s, k = (2, 3), (3, 2)
    zeros = np.zeros((2, 6, (4 - 1) * s[0] + 1, (3 - 1) * s[1] + 1))
    zeros[:, :, :: s[0], :: s[1]] = x  # (N, C_in, zero-inserted)
    padding = tuple((ki - 1, ki - 1) for ki in k)
    expected = tconv.conv_transpose(x, w, stride=s, groups=groups)
    assert_close(tconv.conv(zeros, from_torch_layout(w, "conv", groups), padding=padding, groups=groups), expected)


def test_tensorflow_and_jax_layouts_mean_what_the_frameworks_mean(tf, lax):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 4, 5, 3))  # NHWC
    w = rng.standard_normal((3, 2, 2, 3))  # torch (C_in, C_out, kH, kW)
    expected = np.moveaxis(tconv.conv_transpose(np.moveaxis(x, -1, 1), w, stride=2), 1, -1)
    out = [1, 8, 11, 2]  # the full output: (4 - 1)*2 + 2, (5 - 1)*2 + 3
    assert_close(
        tf.nn.conv2d_transpose(x, from_torch_layout(w, "tensorflow"), out, 2, padding="VALID").numpy(), expected
    )
    full = [(k - 1, k - 1) for k in w.shape[2:]]
    assert_close(np.asarray(lax.conv_transpose(x, from_torch_layout(w, "jax"), (2, 2), full)), expected)
    assert_close(
        np.asarray(lax.conv_transpose(x, from_torch_layout(w, "tensorflow"), (2, 2), full, transpose_kernel=True)),
        expected,
    )


def test_grouped_jax_layout_is_conv_general_dilateds_kernel(lax):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 4, 6))  # NHC, 6 channels
    w = rng.standard_normal((6, 2, 3))  # groups=3: C_out = 6
    expected = np.moveaxis(tconv.conv_transpose(np.moveaxis(x, -1, 1), w, stride=2, groups=3), 1, -1)
    y = lax.conv_general_dilated(
        x,
        from_torch_layout(w, "jax", 3),
        (1,),
        [(2, 2)],
        lhs_dilation=(2,),
        dimension_numbers=("NHC", "HIO", "NHC"),
        feature_group_count=3,
    )
    assert_close(np.asarray(y), expected)


def test_ungroup_and_dilate_are_exact(torch):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 6, 5))
    w = rng.standard_normal((6, 2, 3))
    t = lambda a: torch.from_numpy(np.array(a))  # noqa: E731
    with torch.no_grad():
        grouped = torch.nn.functional.conv_transpose1d(t(x), t(w), stride=2, groups=3, dilation=2).numpy()
        dense = torch.nn.functional.conv_transpose1d(t(x), t(ungroup_weight(w, 3)), stride=2, dilation=2).numpy()
        dilated = torch.nn.functional.conv_transpose1d(t(x), t(dilate_weight(w, 2)), stride=2, groups=3).numpy()
    assert_close(dense, grouped)
    assert_close(dilated, grouped)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="layout must be one of"):
        to_torch_layout(np.zeros((1, 1, 3)), "caffe")
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        convert_weight(np.zeros(3), "torch", "keras")
    with pytest.raises(ValueError, match="groups=4 must divide the input channels 6"):
        ungroup_weight(np.zeros((6, 1, 3)), 4)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        from_torch_layout(np.zeros((6, 1, 3)), "jax", 0)
    with pytest.raises(ValueError, match="dilation must be positive"):
        dilate_weight(np.zeros((1, 1, 3)), 0)


@pytest.mark.parametrize(
    "weight, message",
    [
        (np.ones((3, 3)), r"weight must have at least 3 dimensions .* got shape \(3, 3\)"),
        (np.ones((3, 0, 3)), r"weight must not have an empty axis, got shape \(3, 0, 3\)"),
    ],
)
def test_weights_are_checked_as_conv_transpose_checks_them(weight, message):
    """convert_weight took a 2-d weight and one with an empty axis; conv_transpose refuses both, in
    these words (one check, tconv._validate.weight_array)."""
    for convert in (
        lambda: convert_weight(weight, "torch", "keras"),
        lambda: to_torch_layout(weight, "jax"),
        lambda: dilate_weight(weight, 2),
        lambda: ungroup_weight(weight, 1),
    ):
        with pytest.raises(ValueError, match=message):
            convert()
    with pytest.raises(ValueError, match="conv_transpose: " + message):
        tconv.conv_transpose(np.ones((1, 3, 4)), weight)


@pytest.mark.parametrize("dilation", [10**4, 10**5, 10**9, 2**62])
def test_dilation_cannot_blow_up_a_weight(dilation):
    """A 9-tap weight dilated by 10**4 was 3 GB (10**5: MemoryError, 10**9: "array is too big", 2**62:
    "Maximum allowed dimension exceeded"): refused up front, naming dilation and the memory budget."""
    with pytest.raises(ValueError, match=rf"dilation=\({dilation}, {dilation}\) turns the weight .*memory_budget"):
        dilate_weight(np.ones((1, 1, 3, 3)), dilation)
    assert dilate_weight(np.ones((1, 1, 3, 3)), 100).shape == (1, 1, 201, 201)  # 320 KB: fine


def test_groups_cannot_blow_up_a_weight():
    """ungroup_weight of a (10**5, 1, 1) weight with groups=10**5 raised MemoryError (80 GB)."""
    with pytest.raises(ValueError, match=r"groups=100000 turns the weight of shape \(100000, 1, 1\).*memory_budget"):
        ungroup_weight(np.ones((10**5, 1, 1)), 10**5)
    with tconv.options(memory_budget=2**10), pytest.raises(ValueError, match="groups=8 .*memory_budget=1024"):
        ungroup_weight(np.ones((8, 1, 3)), 8)  # 1.5 KiB under a 1 KiB budget


@pytest.mark.parametrize("layout", ["torch", "onnx", "tensorflow", "keras", "jax", "conv"])
def test_groups_must_divide_the_input_channels(layout):
    """groups=3 on 4 input channels returned an array for the layouts that do not reorder by group."""
    weight = tconv.weights.from_torch_layout(np.ones((4, 2, 3, 3)), layout)
    for other in ("torch", "keras", "jax"):
        with pytest.raises(ValueError, match="groups=3 must divide the (input|output) channels"):
            convert_weight(weight, layout, other, groups=3)
    with pytest.raises(ValueError, match="groups=3 must divide the input channels 4"):
        tconv.weights.from_torch_layout(np.ones((4, 2, 3, 3)), layout, groups=3)
