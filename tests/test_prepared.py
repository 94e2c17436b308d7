"""tconv.prepare (tconv/prepared.py): a prepared call equals the plain call, on the whole case table."""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, from_layout, to_layout

import tconv


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_prepared_call_equals_the_plain_call(case, layout, compiled):
    for dtype in (np.float32, np.float64, np.complex128):
        x, w, b = case.arrays(dtype)
        expected = tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="scatter")
        with tconv.options(compiled=compiled):
            plan = tconv.prepare(w, **case.kwargs(), layout=layout)
            for _ in range(2):  # the second call reuses the packed weight and the planned call
                y = plan(to_layout(x, layout), b)
                assert y.dtype == expected.dtype
                assert_close(from_layout(y, layout), expected, dtype=dtype)
            assert_close(from_layout(plan(to_layout(x[:1], layout), b), layout), expected[:1], dtype=dtype)
            assert_close(
                from_layout(plan(to_layout(x, layout)[0][None], None), layout),
                tconv.conv_transpose(x[:1], w, None, **case.kwargs()),
                dtype=dtype,
            )


def test_plan_keeps_its_own_weight_and_checks_its_calls():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((3, 2, 4, 4))
    plan = tconv.prepare(w, stride=2, padding=1)
    expected = tconv.conv_transpose(x, w, stride=2, padding=1)
    w[...] = 0  # a plan is of the weight as it was when prepared
    np.testing.assert_allclose(plan(x), expected)
    assert not plan.weight.flags.writeable
    np.testing.assert_allclose(plan(x[0]), expected[0])  # unbatched
    assert plan(x, output_size=(11, 11)).shape == (2, 2, 11, 11)
    assert plan(np.ones((2, 3, 7, 7), np.float32)).dtype == np.float64  # NumPy's promotion with the weight
    with pytest.raises(ValueError, match="channels"):
        plan(np.ones((2, 4, 5, 5)))
    with pytest.raises(ValueError, match="bias must have shape"):
        plan(x, np.ones(3))
    with pytest.raises(ValueError, match="stride must be positive"):
        tconv.prepare(w, stride=0)
    with pytest.raises(ValueError, match="algorithm 'fast' not found"):
        tconv.prepare(w, algorithm="fast")


@pytest.mark.parametrize(
    "weight, message",
    [
        (np.ones((1, 1, 0)), r"weight must not have an empty axis, got shape \(1, 1, 0\)"),
        (np.ones((1, 0, 3, 3)), r"weight must not have an empty axis, got shape \(1, 0, 3, 3\)"),
        (np.ones((2, 3)), r"weight must have at least 3 dimensions .* got shape \(2, 3\)"),
    ],
)
def test_prepare_checks_the_weight_as_conv_transpose_does(weight, message):
    """A kernel of size 0 made prepare say "kernel_size must be positive" (a parameter prepare has not)
    where conv_transpose names the weight: both now use one check."""
    with pytest.raises(ValueError, match="prepare: " + message):
        tconv.prepare(weight)
    with pytest.raises(ValueError, match="conv_transpose: " + message):
        tconv.conv_transpose(np.ones((1, 1, 4)), weight)


def test_plan_follows_the_options_of_each_call():
    """A planned small call is made per options: a budget too small for it, or compiled=False, is obeyed."""
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 4, 6, 6)).astype(np.float32), rng.standard_normal((4, 3, 4, 4)).astype(np.float32)
    plan = tconv.prepare(w, stride=2, padding=1, algorithm="gemm")
    expected = tconv.conv_transpose(x, w, stride=2, padding=1)
    np.testing.assert_allclose(plan(x), expected, rtol=1e-5, atol=1e-5)
    with tconv.options(compiled=False):
        np.testing.assert_allclose(plan(x), expected, rtol=1e-5, atol=1e-5)
    with tconv.options(memory_budget=1), pytest.raises(ValueError, match="memory_budget"):
        plan(x)


@pytest.mark.parametrize(
    "x_shape, w_shape", [((4, 100, 1, 1), (100, 64, 4, 4)), ((3, 8, 1), (8, 5, 7)), ((1, 1, 1), (1, 1, 1))]
)
def test_one_stamp_calls_run_their_planned_product(x_shape, w_shape):
    """A small call whose output is one stamp of the kernel per sample (DCGAN's projection, a one-element
    call) runs one planned GEMM, plain (gemm.planned) or prepared (gemm.small_call): both agree with the
    scatter reference and with each other bit for bit, batched or not, with and without a bias, and on
    an input of another dtype."""
    from tconv._algorithms import gemm
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    rng = np.random.default_rng(3)
    x, w = rng.standard_normal(x_shape).astype(np.float32), rng.standard_normal(w_shape).astype(np.float32)
    b = rng.standard_normal(w_shape[1]).astype(np.float32)
    plan = tconv.prepare(w)
    for bias in (None, b, None):
        for batch in (x, x[0], x.astype(np.float64)):
            for _ in range(2):
                y = tconv.conv_transpose(batch, w, bias)
                assert_close(y, tconv.conv_transpose(batch, w, bias, algorithm="scatter"), dtype=y.dtype)
                np.testing.assert_array_equal(plan(batch, bias), y)
    assert any(call is not None for call in plan._small_calls.values())
    geometry = conv_transpose_geometry(x_shape[2:], w_shape[2:])
    problem = Problem(1, "channels_first", w_shape[0], w_shape[1], np.dtype(np.float32), np.zeros(1), False)
    assert gemm.planned(geometry, problem, x_shape[0]) is not None


@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
@pytest.mark.parametrize(
    "x_shape, w_shape, kwargs",
    [
        ((1, 64, 4, 4), (64, 24, 3, 3), {"stride": 3}),
        ((1, 96, 3, 5), (96, 7, 4, 4), {"stride": 2, "padding": 1, "output_padding": 1}),
        ((2, 40, 3), (40, 6, 5), {"stride": 2, "dilation": 2, "padding": 2}),
        ((1, 48, 2, 2, 2), (48, 5, 2, 3, 2), {"stride": (2, 1, 3)}),
    ],
)
def test_few_rows_of_many_channels_run_a_planned_product_of_the_weight_as_it_is(x_shape, w_shape, kwargs, layout):
    """A small call with at most half as many input pixels as input channels (gemm.unpacked_weight:
    the weight multiplied as it is, its columns transposed) has a planned call too: it agrees with the
    scatter reference on every call, of either layout and dtype, with and without a bias."""
    from tconv._algorithms import gemm
    from tconv._algorithms.problem import Problem
    from tconv.geometry import conv_transpose_geometry

    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64):
        x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
        b = rng.standard_normal(w_shape[1]).astype(dtype)
        for bias in (b, None):
            expected = tconv.conv_transpose(x, w, bias, **kwargs, algorithm="scatter")
            for _ in range(2):
                y = tconv.conv_transpose(to_layout(x, layout), w, bias, **kwargs, layout=layout, algorithm="gemm")
                assert_close(from_layout(y, layout), expected, dtype=dtype)
        geometry = conv_transpose_geometry(x_shape[2:], w_shape[2:], **kwargs)
        problem = Problem(1, layout, w_shape[0], w_shape[1], np.dtype(dtype), np.zeros(1), False)
        assert gemm.unpacked_weight(geometry, problem, x_shape[0])
        assert gemm.planned(geometry, problem, x_shape[0]) is not None


@pytest.mark.parametrize("shape", [(2, 4, 6, 6), (3, 4, 20, 20)], ids=["small", "large"])
def test_a_planned_call_reads_its_arrays_anew(shape):
    """A plan reuses the checked call of an input and bias of the same shapes and dtypes (and options),
    never their values: the same arrays with new values, new arrays, no bias, another dtype."""
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal(shape), rng.standard_normal((4, 3, 4, 4)), rng.standard_normal(3)
    plan = tconv.prepare(w, stride=2, padding=1)
    for _ in range(3):
        assert_close(plan(x, b), tconv.conv_transpose(x.tolist(), w, b.tolist(), stride=2, padding=1), dtype=np.float64)
        x *= -1.5  # the same arrays, new values
        b += 1.0
    assert_close(plan(x), tconv.conv_transpose(x, w, stride=2, padding=1), dtype=np.float64)
    y32 = plan(x.astype(np.float32), b.astype(np.float32))
    assert y32.dtype == np.float64  # promotion with the plan's float64 weight, as a plain call
    assert_close(
        y32, tconv.conv_transpose(x.astype(np.float32), w, b.astype(np.float32), stride=2, padding=1), dtype=np.float64
    )
    with pytest.raises(ValueError, match="bias must have shape"):
        plan(x, np.ones(4))
    with pytest.raises(TypeError, match="input must be a numeric array"):
        plan(x.astype(object))


def test_a_plan_checks_output_size_as_a_plain_call_does():
    """A plan keeps the checked call of each output_size of ints; any other (a 0-d array, floats, an
    array) is checked in full every time, as by conv_transpose: found by a differential fuzz."""
    w, x = np.ones((3, 2, 3, 3)), np.ones((1, 3, 4, 4))
    plan = tconv.prepare(w, stride=2)
    assert plan(x, output_size=np.array(9)).shape == tconv.conv_transpose(x, w, stride=2, output_size=np.array(9)).shape
    for bad in (np.array([9, 9]), (9.0, 9.0), (True, 9)):
        for _ in range(2):
            assert plan(x, output_size=(9, 9)).shape == (1, 2, 9, 9)
            assert plan(x, output_size=[9, 9]).shape == (1, 2, 9, 9)
            with pytest.raises(TypeError):
                tconv.conv_transpose(x, w, stride=2, output_size=bad)
            with pytest.raises(TypeError):
                plan(x, output_size=bad)


@pytest.mark.parametrize("algorithm", ["auto", "gemm", "phase", "direct", "winograd"])
@pytest.mark.parametrize(
    "shape, layout",
    [
        ((1, 2, 0, 4), "channels_first"),
        ((2, 0), "channels_first"),
        ((1, 0, 5, 2), "channels_last"),
        ((0, 2, 3, 4), "channels_first"),
    ],
)
def test_plan_on_an_empty_axis_gives_the_plain_call_s_result(shape, layout, algorithm):
    """An empty batch or spatial axis: the plan returns what the plain call does (the bias wherever an
    output cell remains) -- "auto" used to ask the algorithms' rules for a tile of an empty axis and
    raise; so did a module's forward."""
    kernel = (3,) * (len(shape) - 2 if len(shape) == 4 else 1)
    w = np.arange(2 * 3 * 3 ** len(kernel), dtype=np.float64).reshape(2, 3, *kernel)
    b = np.array([1.0, -2.0, 3.0])
    x = np.ones(shape)
    kwargs = dict(stride=2, padding=1 if len(shape) == 4 else 0, layout=layout, algorithm=algorithm)
    expected = tconv.conv_transpose(x, w, b, **kwargs)
    plan = tconv.prepare(w, **kwargs)
    for _ in range(2):  # planned, then from the kept call
        y = plan(x, b)
        assert y.shape == expected.shape and y.dtype == expected.dtype
        np.testing.assert_array_equal(y, expected)
    if layout == "channels_first" and len(shape) == 4:
        layer = tconv.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
        assert layer(x).shape == expected.shape
