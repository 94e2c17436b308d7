"""Randomized property tests over the whole parameter space (hypothesis, fixed profile).

The expected output window is computed here from the conventions' definitions,
independently of ``tconv.geometry``: PyTorch's ``begin = p``; pairs ``begin = b``;
"valid" no crop; "same" TensorFlow's ``floor(max(full - i*s, 0)/2)``. The values
come from the naive loop reference and from PyTorch's uncropped output.
"""

from __future__ import annotations

import numpy as np
from helpers import assert_close, from_layout, full_size, naive_conv_transpose, to_layout, torch_conv_transpose, window
from hypothesis import given
from hypothesis import strategies as st

import tconv


@st.composite
def problems(draw):
    nd = draw(st.integers(1, 3))
    small = 4 if nd < 3 else 3
    groups = draw(st.integers(1, 3))
    c_in = groups * draw(st.integers(1, 2))
    c_out = groups * draw(st.integers(1, 2))
    n = draw(st.integers(1, 2))
    size = tuple(draw(st.lists(st.integers(1, small), min_size=nd, max_size=nd)))
    kernel = tuple(draw(st.lists(st.integers(1, small), min_size=nd, max_size=nd)))
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    dilation = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    full = full_size(size, kernel, stride, dilation)
    kind = draw(st.sampled_from(["int", "per-axis", "pairs", "valid", "same"]))
    if kind == "int":
        p = draw(st.integers(0, 2))
        padding, begin, crop = p, (p,) * nd, tuple(2 * p for _ in range(nd))
    elif kind == "per-axis":
        padding = tuple(draw(st.lists(st.integers(0, 2), min_size=nd, max_size=nd)))
        begin, crop = padding, tuple(2 * p for p in padding)
    elif kind == "pairs":
        padding = tuple(tuple(draw(st.lists(st.integers(-2, 3), min_size=2, max_size=2))) for _ in range(nd))
        begin, crop = tuple(b for b, _ in padding), tuple(b + e for b, e in padding)
    elif kind == "valid":
        padding, begin, crop = "valid", (0,) * nd, (0,) * nd
    else:
        padding, crop = "same", None
    mode = draw(st.sampled_from(["none", "output_padding", "output_size"]))
    output_padding, output_size = 0, None
    if padding == "same":
        if mode == "output_size":
            out = tuple(draw(st.integers((i - 1) * s + 1, i * s)) for i, s in zip(size, stride))
            output_size = out
        else:
            out = tuple(i * s for i, s in zip(size, stride))
        begin = tuple(max(f - o, 0) // 2 for f, o in zip(full, out))
    else:
        natural = tuple(f - c for f, c in zip(full, crop))
        extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
        out = tuple(a + e for a, e in zip(natural, extra))
        if mode == "output_size":
            output_size = out
        else:
            output_padding = extra
    if min(out) < 1:
        begin = None  # the crop leaves nothing: tconv must refuse
    return dict(
        n=n,
        c_in=c_in,
        c_out=c_out,
        size=size,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        groups=groups,
        padding=padding,
        output_padding=output_padding,
        output_size=output_size,
        begin=begin,
        out=out,
        bias=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
        layout=draw(st.sampled_from(["channels_first", "channels_last"])),
        algorithm=draw(st.sampled_from(("auto", *tconv.algorithms()))),
    )


def _arrays(p):
    rng = np.random.default_rng(p["seed"])
    x = rng.standard_normal((p["n"], p["c_in"], *p["size"]))
    w = rng.standard_normal((p["c_in"], p["c_out"] // p["groups"], *p["kernel"]))
    b = rng.standard_normal(p["c_out"]) if p["bias"] else None
    return x, w, b


def _run(p, x, w, b):
    return tconv.conv_transpose(
        to_layout(x, p["layout"]),
        w,
        b,
        p["stride"],
        p["padding"],
        p["output_padding"],
        p["groups"],
        p["dilation"],
        output_size=p["output_size"],
        layout=p["layout"],
        algorithm=p["algorithm"],
    )


@given(problems())
def test_matches_naive_reference_and_torch(p):
    x, w, b = _arrays(p)
    if p["begin"] is None:
        try:
            _run(p, x, w, b)
        except ValueError as error:
            assert "leaves no output" in str(error) or "output_size must be positive" in str(error)
            return
        raise AssertionError("a crop that leaves no output must raise ValueError")
    y = from_layout(_run(p, x, w, b), p["layout"])
    expected = naive_conv_transpose(x, w, b, p["stride"], p["dilation"], p["groups"], p["begin"], p["out"])
    assert_close(y, expected)
    full = torch_conv_transpose(x, w, None, p["stride"], 0, 0, p["groups"], p["dilation"])
    from_torch = window(full, p["begin"], p["out"])
    if b is not None:
        from_torch = from_torch + b.reshape(-1, *(1,) * len(p["size"]))
    assert_close(y, from_torch)


@st.composite
def convolutions(draw):
    nd = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 2))
    size = tuple(draw(st.lists(st.integers(3, 7), min_size=nd, max_size=nd)))
    kernel = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    stride = tuple(draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd)))
    dilation = tuple(draw(st.lists(st.integers(1, 2), min_size=nd, max_size=nd)))
    padding = draw(
        st.one_of(
            st.just("same"),
            st.just("valid"),
            st.integers(0, 2),
            st.tuples(*[st.tuples(st.integers(-1, 2), st.integers(-1, 2)) for _ in range(nd)]),
        )
    )
    return dict(
        size=size,
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        padding=padding,
        groups=groups,
        c_in=groups * draw(st.integers(1, 2)),
        c_out=groups * draw(st.integers(1, 2)),
        seed=draw(st.integers(0, 2**16)),
        complex=draw(st.booleans()),
    )


@given(convolutions())
def test_adjoint_identity(p):
    """<conv_transpose(y, w), x> == <y, conv(x, w)> for every padding form, with output_size = x's size."""
    rng = np.random.default_rng(p["seed"])
    x = rng.standard_normal((2, p["c_in"], *p["size"]))
    w = rng.standard_normal((p["c_out"], p["c_in"] // p["groups"], *p["kernel"]))
    if p["complex"]:
        x, w = x + 1j * rng.standard_normal(x.shape), w + 1j * rng.standard_normal(w.shape)
    ke = [d * (k - 1) + 1 for k, d in zip(p["kernel"], p["dilation"])]
    pairs = p["padding"]
    if isinstance(pairs, int):
        pairs = ((pairs, pairs),) * len(ke)
    if isinstance(pairs, tuple) and any(i + b + e < k for i, (b, e), k in zip(p["size"], pairs, ke)):
        return  # the padded input is smaller than the kernel: covered by the error tests
    if p["padding"] == "valid" and any(i < k for i, k in zip(p["size"], ke)):
        return
    y = tconv.conv(x, w, None, p["stride"], p["padding"], p["dilation"], p["groups"])
    z = rng.standard_normal(y.shape)
    back = tconv.conv_transpose(
        z, w, None, p["stride"], p["padding"], 0, p["groups"], p["dilation"], output_size=p["size"]
    )
    assert back.shape == x.shape
    lhs, rhs = np.sum(back * x), np.sum(z * y)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))
