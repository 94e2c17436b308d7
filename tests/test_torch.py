"""tconv.torch: gradcheck, parity with torch.nn.ConvTranspose*d, padding beyond PyTorch, and the fallback."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_close, full_size, module_oracle

import tconv

torch = module_oracle("torch")
import tconv.torch as tt  # noqa: E402  (needs torch: imported after the oracle check)

ALGORITHMS = ("auto", *tconv.algorithms())
BACKWARD_ALGORITHMS = ("auto", *tconv.algorithms("conv"))


def _double(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.float64, generator=g, requires_grad=True)


# (id, input shape, weight shape, with bias, kwargs)
GRADCHECK = [
    ("1d-s3-op2-d2", (2, 2, 3), (2, 2, 3), True, dict(stride=3, output_padding=2, dilation=2)),
    ("2d-k4s2p1", (1, 2, 3, 3), (2, 2, 4, 4), True, dict(stride=2, padding=1)),
    (
        "2d-groups-dilation",
        (1, 4, 3, 2),
        (4, 1, 2, 3),
        True,
        dict(stride=(2, 1), groups=2, dilation=(1, 2), output_padding=(1, 0)),
    ),
    ("3d", (1, 2, 2, 2, 2), (2, 1, 2, 2, 2), False, dict(stride=2, padding=(1, 0, 0))),
    ("2d-same", (1, 2, 3, 3), (2, 2, 3, 3), True, dict(stride=2, padding="same")),
    ("2d-pairs", (1, 2, 3, 3), (2, 2, 3, 2), True, dict(stride=(2, 3), padding=((2, -1), (-1, 1)))),
    ("1d-output-size", (1, 2, 3), (2, 2, 3), True, dict(stride=3, padding=1, output_size=(8,))),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("cid, xs, ws, bias, kwargs", GRADCHECK, ids=[c[0] for c in GRADCHECK])
def test_gradcheck(cid, xs, ws, bias, kwargs, algorithm):
    """torch.autograd.gradcheck in float64: every forward algorithm, and every input-gradient algorithm."""
    x, w = _double(*xs), _double(*ws, seed=1)
    groups = kwargs.get("groups", 1)
    inputs = (x, w, _double(ws[1] * groups, seed=2)) if bias else (x, w)
    backward = BACKWARD_ALGORITHMS[ALGORITHMS.index(algorithm) % len(BACKWARD_ALGORITHMS)]

    def f(*args):
        return tt.conv_transpose(*args, **kwargs, algorithm=algorithm, backward_algorithm=backward)

    assert tt.uses_tconv(x, w)
    assert torch.autograd.gradcheck(f, inputs)


def test_gradcheck_complex():
    x = torch.randn(1, 2, 3, 3, dtype=torch.complex128, requires_grad=True)
    w = torch.randn(2, 2, 3, 3, dtype=torch.complex128, requires_grad=True)
    b = torch.randn(2, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: tt.conv_transpose(*a, stride=2, padding=1), (x, w, b))


# -------------------------------------------------------------------------------------- parity with torch modules

MODULES = [
    (1, (4, 2, 16), dict(stride=8, padding=4)),
    (1, (4, 6, 3), dict(stride=2, groups=2, output_padding=1, dilation=2)),
    (2, (8, 4, 4), dict(stride=2, padding=1)),
    (2, (3, 6, (3, 2)), dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=3, bias=False)),
    (3, (2, 4, 2), dict(stride=2)),
    (3, (2, 2, 3), dict(stride=(2, 1, 2), padding=1, dilation=(1, 2, 1))),
]
MODULE_IDS = [f"{nd}d-{i}" for i, (nd, _, _) in enumerate(MODULES)]


def _modules(nd, args, kwargs, **options):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, f"ConvTranspose{nd}d")(*args, **kwargs)
    torch.manual_seed(0)
    ours = getattr(tt, f"ConvTranspose{nd}d")(*args, **kwargs, **options)
    return theirs, ours


@pytest.mark.parametrize("nd, args, kwargs", MODULES, ids=MODULE_IDS)
def test_module_parity(nd, args, kwargs):
    """Same seed, same init; same forward, input/weight/bias gradients (accumulated twice), output_size, unbatched."""
    theirs, ours = _modules(nd, args, kwargs)
    assert isinstance(ours, getattr(torch.nn, f"ConvTranspose{nd}d"))
    assert repr(ours) == "tconv.torch." + repr(theirs)  # PyTorch's arguments, under tconv's name
    for name in (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "groups",
        "dilation",
        "padding_mode",
    ):
        assert getattr(ours, name) == getattr(theirs, name), name
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    x = torch.randn(2, args[0], *(5,) * nd)
    natural = theirs(x).shape[2:]
    stride = theirs.stride
    for output_size in (None, [o + s - 1 - a for o, s, a in zip(natural, stride, theirs.output_padding)]):
        for _ in range(2):  # two steps: the gradients accumulate
            xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
            ya, yb = theirs(xa, output_size=output_size), ours(xb, output_size=output_size)
            assert_close(yb.detach().numpy(), ya.detach().numpy(), dtype=np.float32)
            dy = torch.randn(ya.shape)
            ya.backward(dy)
            yb.backward(dy)
            assert_close(xb.grad.numpy(), xa.grad.numpy(), dtype=np.float32)
            assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), dtype=np.float32)
            if theirs.bias is not None:
                assert_close(ours.bias.grad.numpy(), theirs.bias.grad.numpy(), dtype=np.float32)
        ours.zero_grad()
        theirs.zero_grad()
    with torch.no_grad():
        assert_close(ours(x[0]).numpy(), theirs(x[0]).numpy(), dtype=np.float32)


@pytest.mark.parametrize("nd, args, kwargs", MODULES, ids=MODULE_IDS)
def test_state_dict_interchange(nd, args, kwargs):
    theirs, ours = _modules(nd, args, kwargs)
    torch.manual_seed(1)
    other = getattr(torch.nn, f"ConvTranspose{nd}d")(*args, **kwargs)
    ours.load_state_dict(other.state_dict())  # torch -> tconv
    theirs.load_state_dict(ours.state_dict())  # tconv -> torch
    x = torch.randn(1, args[0], *(4,) * nd)
    with torch.no_grad():
        assert_close(ours(x).numpy(), other(x).numpy(), dtype=np.float32)
        assert_close(theirs(x).numpy(), other(x).numpy(), dtype=np.float32)
    # and with tconv.nn's NumPy layer
    layer = getattr(tconv.nn, f"ConvTranspose{nd}d")(*args, **kwargs)
    layer.load_state_dict(ours.state_dict())
    assert_close(layer(x.numpy()), other(x).detach().numpy(), dtype=np.float32)


def test_switching_the_import_trains_the_same_model():
    """A small decoder trained 3 steps with SGD: identical with torch's modules and tconv's."""

    def model(conv_transpose):
        torch.manual_seed(0)
        return torch.nn.Sequential(conv_transpose(4, 8, 4, 2, 1), torch.nn.ReLU(), conv_transpose(8, 1, 4, 2, 1))

    theirs, ours = model(torch.nn.ConvTranspose2d), model(tt.ConvTranspose2d)
    x, target = torch.randn(2, 4, 4, 4), torch.randn(2, 1, 16, 16)
    for m in (theirs, ours):
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.mse_loss(m(x), target).backward()
            opt.step()
    for a, b in zip(theirs.parameters(), ours.parameters()):
        assert_close(b.detach().numpy(), a.detach().numpy(), dtype=np.float32, atol=1e-5)


def test_frozen_weight_gets_no_gradient():
    """Caffe's lr_mult 0 for a bilinear up-sampler: requires_grad=False is respected (and not computed)."""
    m = tt.ConvTranspose2d(3, 3, 4, 2, 1, groups=3, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.from_numpy(tconv.init.bilinear(m.weight.shape, 2, groups=3)))
    m.weight.requires_grad_(False)
    x = torch.randn(1, 3, 4, 4, requires_grad=True)
    m(x).sum().backward()
    assert m.weight.grad is None and x.grad is not None


# ------------------------------------------------------------------------------------ padding beyond PyTorch


def _window(t, begin, size):
    pads = []
    for b, n, f in reversed(list(zip(begin, size, t.shape[2:]))):
        pads += [-b, b + n - f]
    return torch.nn.functional.pad(t, pads)


@pytest.mark.parametrize(
    "padding, begin_of",
    [
        ("same", lambda full, out: tuple(max(f - o, 0) // 2 for f, o in zip(full, out))),
        ("valid", lambda full, out: (0, 0)),
        (((2, -1), (0, 3)), lambda full, out: (2, 0)),
    ],
)
def test_padding_torch_cannot_express(padding, begin_of):
    """Against autograd through PyTorch's full output and the window computed here from each convention."""
    m = tt.ConvTranspose2d(2, 3, (5, 3), stride=2, padding=padding).double()
    x = torch.randn(2, 2, 4, 3, dtype=torch.float64)
    full = full_size((4, 3), (5, 3), (2, 2), (1, 1))
    out = {"same": (8, 6), "valid": full}.get(padding, (full[0] - 1, full[1] - 3))
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    reference = _window(torch.nn.functional.conv_transpose2d(xa, m.weight, None, 2), begin_of(full, out), out)
    reference = reference + m.bias.reshape(-1, 1, 1)
    y = m(xb)
    assert_close(y.detach().numpy(), reference.detach().numpy())
    dy = torch.randn(y.shape, dtype=torch.float64)
    ga = torch.autograd.grad(reference, (xa, m.weight, m.bias), dy)
    gb = torch.autograd.grad(y, (xb, m.weight, m.bias), dy)
    for a, b in zip(ga, gb):
        assert_close(b.numpy(), a.numpy())
    assert m.padding == padding and f"padding={padding}" in repr(m)


# ---------------------------------------------------------------------------------------------------- fallback


def test_integer_tensors_fall_back_to_torch_with_tconvs_padding_forms():
    """The fallback (used for integer tensors here, as for CUDA) cuts the same window as the tconv path."""
    x = torch.randint(-3, 4, (2, 2, 4, 3))
    w = torch.randint(-3, 4, (2, 3, 5, 3))
    b = torch.randint(-3, 4, (3,))
    assert not tt.uses_tconv(x, w, b)
    padding = ((2, -1), (0, 3))
    exact = tt.conv_transpose(x.double(), w.double(), b.double(), stride=2, padding=padding)
    fallback = tt.conv_transpose(x, w, b, stride=2, padding=padding)
    assert fallback.dtype == torch.int64
    assert torch.equal(fallback, exact.long())


def test_meta_tensors_fall_back_and_fallback_false_raises():
    m = tt.ConvTranspose2d(2, 3, 3, stride=2, padding="same", device="meta")
    assert m(torch.empty(1, 2, 5, 5, device="meta")).shape == (1, 3, 10, 10)
    strict = tt.ConvTranspose2d(2, 3, 3, stride=2, fallback=False, device="meta")
    with pytest.raises(
        TypeError,
        match=r"tconv.torch computes dense CPU tensors that share one dtype among float16, "
        r"bfloat16, float32, float64, complex64, complex128; got input on meta of dtype "
        r"torch.float32, weight on meta.*\(pass fallback=True",
    ):
        strict(torch.empty(1, 2, 5, 5, device="meta"))
    with pytest.raises(
        TypeError, match="got input on cpu of dtype torch.float64, weight on cpu of dtype torch.float32"
    ):
        tt.conv_transpose(torch.ones(1, 2, 3, dtype=torch.float64), torch.ones(2, 1, 2), fallback=False)


def test_integer_tensors_follow_torch():
    x, w = torch.ones(1, 1, 3, 3, dtype=torch.long), torch.ones(1, 1, 2, 2, dtype=torch.long)
    assert torch.equal(tt.conv_transpose(x, w, stride=2), torch.nn.functional.conv_transpose2d(x, w, stride=2))


# ------------------------------------------------------------------------------------- helpers and errors


def test_from_torch_and_forward_backward():
    theirs = torch.nn.ConvTranspose3d(2, 4, 2, stride=2, groups=2, bias=False).double()
    ours = tt.from_torch(theirs, algorithm="dilate")
    assert isinstance(ours, tt.ConvTranspose3d) and ours.weight.dtype == torch.float64 and ours.bias is None
    x = torch.randn(1, 2, 3, 3, 3, dtype=torch.float64)
    ya, yb = tt.forward_backward(theirs, x), tt.forward_backward(ours, x)
    assert_close(yb.detach().numpy(), ya.detach().numpy())
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy())
    assert "algorithm='dilate'" in repr(ours)
    with pytest.raises(TypeError, match="from_torch expects a torch.nn.ConvTranspose1d/2d/3d, got Conv2d"):
        tt.from_torch(torch.nn.Conv2d(1, 1, 1))


def test_errors():
    with pytest.raises(ValueError, match=r"algorithm 'fast' not found, valid options are \{'auto', "):
        tt.ConvTranspose2d(1, 1, 3, algorithm="fast")
    with pytest.raises(ValueError, match=r"backward_algorithm 'no-such' not found, valid options are \{'auto', "):
        tt.conv_transpose(torch.ones(1, 1, 3), torch.ones(1, 1, 2), backward_algorithm="no-such")
    with pytest.raises(ValueError, match="one of 'same', 'valid'; got 'full'"):
        tt.ConvTranspose1d(1, 1, 3, padding="full")
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported'):
        tt.ConvTranspose1d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(
        ValueError, match=r"requested an output size of \[9\], but valid sizes range from \[7\] to \[8\]"
    ):
        torch.nn.ConvTranspose1d(1, 1, 3, stride=2)(torch.ones(1, 1, 3), output_size=[9])
    with pytest.raises(
        ValueError, match=r"requested an output size of \[9\], but valid sizes range from \[7\] to \[8\]"
    ):
        tt.ConvTranspose1d(1, 1, 3, stride=2)(torch.ones(1, 1, 3), output_size=[9])
    with pytest.raises(ValueError, match=r"output_size=\(11,\) is out of range for padding='same'"):
        tt.ConvTranspose1d(1, 1, 3, stride=2, padding="same")(torch.ones(1, 1, 3), output_size=[11])


def test_functional_any_number_of_axes():
    x, w = _double(1, 2, 2, 2, 2, 2), _double(2, 1, 2, 1, 2, 2, seed=1)
    assert torch.autograd.gradcheck(
        lambda a, b: tt.conv_transpose(a, b, stride=(2, 1, 1, 2), padding=((1, 0),) * 4), (x, w)
    )
    with pytest.raises(TypeError, match="PyTorch has no 4-d transposed convolution to fall back to"):
        tt.conv_transpose(x.detach().long(), w.detach().long())


# ------------------------------------------------------------------------------ drop-in: errors, formats, dtypes


def _conv_transpose2d_calls():
    """(name, a call of a ConvTranspose2d module class or F-like functional, given (module class, functional))."""
    x, w = torch.randn(1, 4, 5, 5), torch.randn(4, 3, 3, 3)
    return [
        ("input rank", lambda M, F: M(4, 3, 3)(torch.randn(1, 1, 4, 5, 5))),
        ("channels", lambda M, F: M(4, 3, 3)(torch.randn(1, 3, 5, 5))),
        ("empty spatial axis", lambda M, F: M(4, 3, 3)(torch.randn(1, 4, 0, 5))),
        ("output too small", lambda M, F: M(4, 3, 3, padding=4)(x)),
        ("functional rank", lambda M, F: F(torch.randn(5, 5), w)),
        ("functional weight rank", lambda M, F: F(x, torch.randn(4, 3))),
        ("functional bias", lambda M, F: F(x, w, torch.randn(4))),
        ("functional groups", lambda M, F: F(x, w, None, 1, 0, 0, 3)),
        ("functional stride", lambda M, F: F(x, w, None, 0)),
        ("functional output_padding", lambda M, F: F(x, w, None, 2, 0, 2)),
        ("functional negative padding", lambda M, F: F(x, w, None, 1, -1)),
    ]


CALLS = _conv_transpose2d_calls()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name, call", CALLS, ids=[c[0] for c in CALLS])
def test_errors_have_pytorchs_type(name, call, dtype):
    """Code that catches PyTorch's error keeps working: the same exception class as torch.nn, in every dtype."""
    previous = torch.get_default_dtype()

    def run(M, F):
        torch.set_default_dtype(torch.float32)
        try:
            return call(
                lambda *a, **k: M(*a, **k).to(dtype),
                lambda *a: F(*(t.to(dtype) if isinstance(t, torch.Tensor) else t for t in a)),
            )
        finally:
            torch.set_default_dtype(previous)

    with pytest.raises(Exception) as theirs:
        run(torch.nn.ConvTranspose2d, torch.nn.functional.conv_transpose2d)
    with pytest.raises(Exception) as ours:
        run(tt.ConvTranspose2d, tt.conv_transpose)
    assert type(ours.value) is type(theirs.value), (theirs.value, ours.value)


FORMATS = [(True, False), (False, True), (True, True)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("input_last, weight_last", FORMATS, ids=["input", "weight", "both"])
def test_channels_last_is_kept_as_pytorch_keeps_it(input_last, weight_last, dtype):
    """Output, input gradient and weight gradient in the memory formats PyTorch gives them, same values."""
    theirs, ours = _modules(2, (4, 3, 3), dict(stride=2, padding=1, output_padding=1))
    theirs, ours = theirs.to(dtype), ours.to(dtype)
    if weight_last:
        theirs, ours = theirs.to(memory_format=torch.channels_last), ours.to(memory_format=torch.channels_last)
    x = torch.randn(2, 4, 5, 6).to(dtype)
    if input_last:
        x = x.contiguous(memory_format=torch.channels_last)
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = theirs(xa), ours(xb)
    assert tt.uses_tconv(xb, ours.weight)
    last = torch.channels_last
    assert yb.is_contiguous(memory_format=last) == ya.is_contiguous(memory_format=last) == True  # noqa: E712
    tolerance = dict(rtol=3e-2, atol=3e-2) if dtype in (torch.float16, torch.bfloat16) else {}
    assert_close(yb.detach().float().numpy(), ya.detach().float().numpy(), **tolerance)
    dy = torch.randn(ya.shape).to(dtype)
    ya.backward(dy)
    yb.backward(dy)
    for a, b in ((xa.grad, xb.grad), (theirs.weight.grad, ours.weight.grad)):
        assert b.is_contiguous(memory_format=last) == a.is_contiguous(memory_format=last)
        assert b.is_contiguous() == a.is_contiguous()
        assert b.dtype == a.dtype
        assert_close(b.float().numpy(), a.float().numpy(), **tolerance)


def test_ambiguous_strides_take_pytorchs_memory_format():
    """Size-1 axes make strides fit both formats (a depthwise weight (C, 1, k, k) made channels-last) or
    look channels-last without being so to ATen (a permuted (1, C, 1, W) input): the output's format is
    PyTorch's in both (found by a differential fuzzer)."""
    functional = torch.nn.functional.conv_transpose2d
    x = torch.randn(2, 4, 5, 5)
    w = torch.randn(4, 1, 3, 3).to(memory_format=torch.channels_last)  # strides (9, 1, 3, 1): contiguous too
    permuted = torch.randn(3, 1, 8, 1).permute(3, 2, 1, 0)  # (1, 8, 1, 3), strides (1, 1, 8, 8)
    w8 = torch.randn(8, 4, 3, 3)
    for args, kwargs in (((x, w), dict(groups=4)), ((permuted, w8), {})):
        theirs, ours = functional(*args, **kwargs), tt.conv_transpose(*args, **kwargs)
        assert tt.uses_tconv(*args)
        for memory_format in (torch.contiguous_format, torch.channels_last):
            assert ours.is_contiguous(memory_format=memory_format) == theirs.is_contiguous(memory_format=memory_format)
        assert_close(ours.numpy(), theirs.numpy())


def test_memory_format_is_atens_on_every_stride_pattern():
    """tconv.torch's reading of a tensor's memory format against ATen's rule as PyTorch mirrors it in Python
    (``torch._prims_common.suggest_memory_format``): permuted, sliced and channels-last tensors of size-1
    and small axes, 4-d and 5-d."""
    import random

    from torch._prims_common import suggest_memory_format

    rng = random.Random(0)
    for _ in range(3000):
        nd = rng.choice([4, 5])
        sizes = [rng.choice([1, 1, 2, 3]) for _ in range(nd)]
        order = list(range(nd))
        rng.shuffle(order)
        t = torch.randn(*[sizes[p] for p in order]).permute(*[order.index(i) for i in range(nd)])
        if rng.random() < 0.3:
            big = torch.randn(*[2 * s for s in t.shape])
            t = big[tuple(slice(None, None, 2) if rng.random() < 0.5 else slice(0, s) for s in t.shape)]
        if rng.random() < 0.2:
            t = t.contiguous(memory_format=torch.channels_last if nd == 4 else torch.channels_last_3d)
        assert tt._memory_format(t) == suggest_memory_format(t), (t.shape, t.stride())


def test_channels_last_3d():
    theirs, ours = _modules(3, (2, 3, 3), dict(stride=2))
    x = torch.randn(2, 2, 5, 5, 5).contiguous(memory_format=torch.channels_last_3d)
    ya, yb = theirs(x), ours(x)
    assert ya.is_contiguous(memory_format=torch.channels_last_3d)
    assert yb.is_contiguous(memory_format=torch.channels_last_3d)
    assert_close(yb.detach().numpy(), ya.detach().numpy(), dtype=np.float32)


def test_bfloat16_is_computed_by_tconv_in_float32():
    """bfloat16 (no fallback): PyTorch's answer within bfloat16's rounding, gradients in bfloat16."""
    theirs, ours = _modules(2, (4, 3, 4), dict(stride=2, padding=1))
    theirs, ours = theirs.to(torch.bfloat16), ours.to(torch.bfloat16)
    x = torch.randn(2, 4, 5, 5).bfloat16()
    assert tt.uses_tconv(x, ours.weight, ours.bias)
    exact = torch.nn.functional.conv_transpose2d(
        x.double(), theirs.weight.double(), theirs.bias.double(), stride=2, padding=1
    )
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = theirs(xa), ours(xb)
    assert yb.dtype == torch.bfloat16
    scale = exact.abs().max().item()
    assert_close(yb.double().detach().numpy(), exact.detach().numpy(), rtol=2**-8, atol=2**-8 * scale)
    yb.float().sum().backward()
    ya.float().sum().backward()
    assert xb.grad.dtype == ours.weight.grad.dtype == ours.bias.grad.dtype == torch.bfloat16
    assert_close(xb.grad.float().numpy(), xa.grad.float().numpy(), rtol=2e-2, atol=2e-2)


DOUBLE_BACKWARD = GRADCHECK + [
    ("1d-groups", (1, 4, 3), (4, 1, 3), True, dict(stride=2, groups=2)),
]


@pytest.mark.parametrize("cid, xs, ws, bias, kwargs", DOUBLE_BACKWARD, ids=[c[0] for c in DOUBLE_BACKWARD])
def test_gradgradcheck(cid, xs, ws, bias, kwargs):
    """The backward pass is differentiable: second derivatives against finite differences of the first."""
    x, w = _double(*xs), _double(*ws, seed=1)
    groups = kwargs.get("groups", 1)
    inputs = (x, w, _double(ws[1] * groups, seed=2)) if bias else (x, w)
    assert torch.autograd.gradgradcheck(lambda *a: tt.conv_transpose(*a, **kwargs), inputs)


def test_gradgradcheck_complex_and_channels_last():
    x = torch.randn(1, 2, 3, 3, dtype=torch.complex128, requires_grad=True)
    w = torch.randn(2, 2, 3, 3, dtype=torch.complex128, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda *a: tt.conv_transpose(*a, stride=2, padding=1), (x, w))
    xl = _double(2, 2, 3, 4).detach().contiguous(memory_format=torch.channels_last).requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda *a: tt.conv_transpose(*a, stride=2), (xl, _double(2, 3, 2, 2)))


def test_gradient_penalty_as_in_wgan_gp():
    """WGAN-GP's penalty ((|d critic(x)/dx| - 1)^2) through a generator-like layer: the weight gradients of the
    penalty, which need the backward pass's own gradient, equal PyTorch's."""
    theirs, ours = _modules(2, (3, 2, 4), dict(stride=2, padding=1))
    theirs, ours = theirs.double(), ours.double()
    x = torch.randn(4, 3, 5, 5, dtype=torch.float64)
    for m in (theirs, ours):
        xi = x.clone().requires_grad_(True)
        score = (m(xi) ** 2).sum(dim=(1, 2, 3))
        (grad,) = torch.autograd.grad(score.sum(), xi, create_graph=True)
        penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        penalty.backward()
    assert ours.weight.grad is not None and ours.weight.grad.abs().max() > 0
    assert_close(ours.weight.grad.numpy(), theirs.weight.grad.numpy())
    assert_close(ours.bias.grad.numpy(), theirs.bias.grad.numpy())


def test_a_printed_model_shows_the_layers_tconv_computes():
    model = torch.nn.Sequential(tt.ConvTranspose2d(8, 4, 4, 2, 1), torch.nn.ReLU(), torch.nn.ConvTranspose2d(4, 1, 3))
    text = repr(model)
    assert "(0): tconv.torch.ConvTranspose2d(8, 4, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))" in text
    assert "(2): ConvTranspose2d(4, 1, kernel_size=(3, 3), stride=(1, 1))" in text
    assert repr(tt.ConvTranspose2d(1, 1, 3, fallback=False, algorithm="gemm")).endswith(
        "stride=(1, 1), algorithm='gemm', fallback=False)"
    )


def test_modules_prepare_their_weight_and_follow_its_changes():
    """Outside training a module packs its weight once (tconv.prepare) while the weight tensor is
    unchanged, and again after any change (an optimizer step in place, load_state_dict, a change through
    .data); a forward that trains the weight keeps no plan. Results equal PyTorch's throughout."""
    import tconv.torch as tt

    torch.manual_seed(0)
    ours = tt.ConvTranspose2d(4, 3, 4, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
        plan = ours._plan
        assert plan is not None
        ours(x)
        assert ours._plan is plan
    for module in (ours, theirs):
        optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
        module(x).square().sum().backward()
        optimizer.step()
    assert ours._plan is None  # the forward above trained the weight: the plan was dropped
    torch.testing.assert_close(ours(x), theirs(x))
    assert ours._plan is None
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
        assert ours._plan is not None and ours._plan is not plan
    state = {k: torch.randn_like(v) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    theirs.load_state_dict(state)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x))
    ours.weight.requires_grad_(False)  # a frozen weight, gradients on: prepared too
    ours(x.requires_grad_(True))
    assert ours._plan is not None
    ours.weight.requires_grad_(True)
    # changes through .data are not counted by the tensor's version: the values are compared too
    for change in (lambda w: w.data.fill_(0.25), lambda w: w.data.normal_(), lambda w: w.data.mul_(-1)):
        for module in (ours, theirs):
            torch.manual_seed(1)
            change(module.weight)
        with torch.no_grad():
            torch.testing.assert_close(ours(x), theirs(x))
        torch.testing.assert_close(ours(x), theirs(x))


KEEP_AWAKE_SCRIPT = """
import threading
import numpy as np, torch
import tconv, tconv.torch as tt
from tconv._algorithms import compiled

def awake():
    return sum(t.name.startswith("tconv-awake-") for t in threading.enumerate())

torch.set_num_threads(2)
tconv.set_options(threads=2)
module = tt.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
x = torch.randn(8, 64, 32, 32, requires_grad=True)
module(x).sum().backward()  # parallel passes in the forward and both gradients
print(awake())
tconv.conv_transpose(x.detach().numpy(), module.weight.detach().numpy(), stride=2, padding=1)
print(awake())
"""


def test_no_keep_awake_threads_under_torch():
    """tconv.torch's calls run without the keep-awake threads (PyTorch's OpenMP threads keep the cores
    awake; with both, training steps ran slower), a plain call in the same process with them. In a
    fresh process: other tests have started the threads already."""
    result = subprocess.run([sys.executable, "-c", KEEP_AWAKE_SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    under_torch, plain = map(int, result.stdout.split())
    assert under_torch == 0
    if hasattr(os, "SCHED_IDLE"):  # Linux: idle priority, keep-awake threads
        assert plain >= 2
    else:  # elsewhere there are none
        assert plain == 0


@pytest.mark.parametrize(
    "dtype, layout, groups",
    [
        (torch.float32, "channels_first", 1),
        (torch.float32, "channels_last", 4),
        (torch.float32, "channels_first", 48),
        (torch.float64, "channels_first", 2),
        (torch.complex64, "channels_first", 1),
    ],
)
def test_one_call_backward_is_the_two_functions(dtype, layout, groups):
    """A first-order backward computes both gradients in one tconv call (sharing its layout copy of the
    output gradient); a backward that keeps its graph (create_graph) runs the two differentiable
    Functions. Both give the same bits."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 48, 9, 10, generator=g, dtype=dtype)
    w = torch.randn(48, 96 // groups, 4, 4, generator=g, dtype=dtype)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    kwargs = dict(stride=2, padding=1, groups=groups)
    dy = torch.randn(tt.conv_transpose(x, w, **kwargs).shape, generator=g, dtype=dtype)
    xa, wa = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    tt.conv_transpose(xa, wa, **kwargs).backward(dy)
    xb, wb = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    gx, gw = torch.autograd.grad(tt.conv_transpose(xb, wb, **kwargs), (xb, wb), dy, create_graph=True)
    assert torch.equal(xa.grad, gx.detach()) and torch.equal(wa.grad, gw.detach())
    assert xa.grad.is_contiguous(memory_format=torch.channels_last) == (layout == "channels_last")
    wide = torch.complex128 if dtype.is_complex else torch.float64  # PyTorch's own gradients, as the oracle
    xc, wc = x.to(wide).requires_grad_(True), w.to(wide).requires_grad_(True)
    ex, ew = torch.autograd.grad(torch.nn.functional.conv_transpose2d(xc, wc, **kwargs), (xc, wc), dy.to(wide))
    assert_close(xa.grad.numpy(), ex.to(dtype).numpy())
    assert_close(wa.grad.numpy(), ew.to(dtype).numpy())


def test_a_module_that_ran_a_forward_pickles_and_saves_whole():
    """torch.save of a whole model (and pickle) after a forward: the module's prepared weight, whose calls
    are local functions, is left out and made again by the next forward."""
    import io
    import pickle

    m = tt.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)
    x = torch.randn(2, 3, 5, 5)
    y = m(x)
    again = pickle.loads(pickle.dumps(m))
    assert torch.equal(again(x), y)
    buffer = io.BytesIO()
    torch.save(torch.nn.Sequential(m), buffer)
    buffer.seek(0)
    assert torch.equal(torch.load(buffer, weights_only=False)(x), y)
    assert torch.equal(m(x), y)  # the module itself keeps working


def test_a_parametrized_weight_is_read_once_a_forward():
    """spectral_norm recomputes its weight on every read (a power iteration in training mode): one read
    per forward, as torch.nn's module, so the values, the state and the gradients are torch.nn's."""
    torch.manual_seed(0)
    reference = torch.nn.ConvTranspose2d(4, 3, 3, stride=2, dtype=torch.float64)
    ours = tt.ConvTranspose2d(4, 3, 3, stride=2, dtype=torch.float64)
    ours.load_state_dict(reference.state_dict())
    reference = torch.nn.utils.parametrizations.spectral_norm(reference)
    ours = torch.nn.utils.parametrizations.spectral_norm(ours)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(2, 4, 5, 5, dtype=torch.float64)
    for module in (reference, ours):
        module(x).square().sum().backward()
    assert torch.allclose(ours(x), reference(x), rtol=1e-12, atol=1e-12)
    u = "parametrizations.weight.0._u"
    assert torch.allclose(ours.state_dict()[u], reference.state_dict()[u], rtol=1e-12, atol=1e-12)
    original = "parametrizations.weight.original"
    grads = [dict(m.named_parameters())[original].grad for m in (reference, ours)]
    assert torch.allclose(grads[1], grads[0], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("nd", [2, 3])
def test_one_entry_sequences_stand_for_every_axis_as_in_pytorch(nd):
    """ATen expands a one-entry stride/padding/output_padding/dilation to every spatial axis; so does tconv
    (the module keeps the attribute as given, as PyTorch's does)."""
    torch.manual_seed(0)
    kwargs = dict(stride=(2,), padding=(1,), output_padding=[1], dilation=(2,))
    ours = getattr(tt, f"ConvTranspose{nd}d")(3, 2, 3, **kwargs, dtype=torch.float64)
    theirs = getattr(torch.nn, f"ConvTranspose{nd}d")(3, 2, 3, **kwargs, dtype=torch.float64)
    theirs.load_state_dict(ours.state_dict())
    assert (ours.stride, ours.padding, ours.dilation) == (theirs.stride, theirs.padding, theirs.dilation)
    assert repr(ours).split("(", 1)[1] == repr(theirs).split("(", 1)[1]
    x = torch.randn(2, 3, *(4,) * nd, dtype=torch.float64)
    y = ours(x)
    expected = theirs(x)
    assert y.shape == expected.shape
    assert torch.allclose(y, expected, rtol=1e-12, atol=1e-12)
    functional = getattr(torch.nn.functional, f"conv_transpose{nd}d")
    w = ours.weight.detach()
    assert torch.allclose(tt.conv_transpose(x, w, None, **kwargs), functional(x, w, None, **kwargs), atol=1e-12)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_an_empty_batch_gives_pytorchs_empty_tensor(memory_format):
    """A zero batch: the output and the gradients are empty tensors with PyTorch's shapes and strides (NumPy's
    empty arrays have zero strides)."""
    ours = tt.ConvTranspose2d(4, 3, 3, stride=2)
    theirs = torch.nn.ConvTranspose2d(4, 3, 3, stride=2)
    x = torch.randn(0, 4, 5, 5).contiguous(memory_format=memory_format)
    y, expected = ours(x), theirs(x)
    assert (y.shape, y.stride()) == (expected.shape, expected.stride())
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ours(xa).sum().backward()
    theirs(xb).sum().backward()
    assert xa.grad.shape == xb.grad.shape and torch.equal(ours.weight.grad, theirs.weight.grad)


def test_autocast_casts_as_pytorchs_autocast():
    """Under CPU autocast PyTorch computes a transposed convolution in bfloat16 (float64 stays): the same dtypes,
    and values within bfloat16's rounding of PyTorch's; the gradients reach the float32 parameters."""
    torch.manual_seed(0)
    ours = tt.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 8, 6, 6)
    with torch.autocast("cpu"):
        y, expected = ours(x), theirs(x)
        assert y.dtype == expected.dtype == torch.bfloat16
        assert torch.allclose(y.float(), expected.float(), rtol=2e-2, atol=2e-2)
        y.float().sum().backward()
        assert ours.weight.grad.dtype == torch.float32
        wide = tt.conv_transpose(x.double(), ours.weight.detach().double(), stride=2, padding=1)
        assert wide.dtype == torch.float64
    assert not torch.allclose(y.float(), ours(x), rtol=0, atol=0)  # (autocast was really on: rounded)


def test_a_changed_padding_mode_is_refused_by_forward():
    m = tt.ConvTranspose2d(2, 2, 3)
    m.padding_mode = "reflect"
    with pytest.raises(ValueError, match="zeros"):
        m(torch.randn(1, 2, 4, 4))


@pytest.mark.parametrize("padding", [1, "same"])
def test_traced_and_exported_graphs_record_pytorchs_operators(tmp_path, padding):
    """torch.jit.trace, torch.export and the ONNX exporter see PyTorch's own operators for the same function:
    a traced model saves and loads, an exported one has aten's transposed convolution, an ONNX file has a
    ConvTranspose node, and all three compute what the eager tconv module computes."""
    import io

    import onnxruntime

    torch.manual_seed(0)
    m = tt.ConvTranspose2d(4, 3, 3, stride=2, padding=padding).eval()
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        eager = m(x)
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.trace(m, x), buffer)
        buffer.seek(0)
        traced = torch.jit.load(buffer)
        assert any("conv_transpose" in node.kind() or "_convolution" in node.kind() for node in traced.graph.nodes())
        assert torch.allclose(traced(x), eager, atol=1e-5)
        exported = torch.export.export(m, (x,))
        targets = [str(node.target) for node in exported.graph.nodes if node.op == "call_function"]
        assert any("conv_transpose" in t or "convolution" in t for t in targets), targets
        assert torch.allclose(exported.module()(x), eager, atol=1e-5)
        path = tmp_path / "layer.onnx"
        torch.onnx.export(m, (x,), str(path), dynamo=False)
    import onnx

    assert "ConvTranspose" in [node.op_type for node in onnx.load(str(path)).graph.node]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    assert np.allclose(result, eager.numpy(), atol=1e-5)


def test_torch_compile_captures_the_layer_in_one_graph():
    """torch.compile records PyTorch's operators for the layer: one graph without breaks (fullgraph) that
    computes what the eager module computes (the eager backend: no C++ compiler needed)."""
    torch.manual_seed(0)
    m = tt.ConvTranspose2d(4, 3, 4, stride=2, padding=1)
    x = torch.randn(2, 4, 5, 5)
    compiled = torch.compile(m, backend="eager", fullgraph=True)
    assert torch.allclose(compiled(x), m(x), atol=1e-5)


def test_graphs_of_windows_that_start_past_the_full_output():
    """A window that begins or ends beyond the full output (negative (begin, end) pairs): the graph paths
    append the zeros before they cut, as the eager module computes it (one F.pad cropped first and
    failed where a crop was longer than the axis)."""
    torch.manual_seed(0)
    for padding, shape in ((((-2, 2),), (1, 1, 1)), (((3, -4),), (1, 1, 2)), (((-1, 3), (2, -3)), (1, 1, 3, 2))):
        nd = len(padding)
        m = getattr(tt, f"ConvTranspose{nd}d")(1, 1, 1, padding=padding)
        x = torch.randn(*shape)
        with torch.no_grad():
            eager = m(x)
            assert torch.allclose(torch.jit.trace(m, (x,))(x), eager, atol=1e-6)
            assert torch.allclose(torch.export.export(m, (x,)).module()(x), eager, atol=1e-6)


def test_an_exported_graph_keeps_dynamic_sizes():
    """torch.export with a dynamic spatial size: PyTorch's arguments go straight to its call, so the size
    stays symbolic, and the graph computes other sizes as torch.nn does."""
    from torch.export import Dim

    torch.manual_seed(0)
    ours = tt.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    theirs.load_state_dict(ours.state_dict())
    exported = torch.export.export(ours, (torch.randn(2, 2, 5, 5),), dynamic_shapes={"input": {2: Dim("h", max=64)}})
    x = torch.randn(2, 2, 7, 5)
    with torch.no_grad():
        assert torch.allclose(exported.module()(x), theirs(x), atol=1e-5)


def test_one_entry_sequences_of_numpy_ints():
    x, w = torch.randn(1, 2, 4, 4), torch.randn(2, 3, 3, 3)
    expected = torch.nn.functional.conv_transpose2d(x, w, stride=2)
    assert torch.allclose(tt.conv_transpose(x, w, stride=(np.int64(2),)), expected, atol=1e-5)
