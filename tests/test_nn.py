"""tconv.nn: the NumPy layer against real torch.nn.ConvTranspose*d modules, and the optimizers against torch.optim."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_close, oracle

import tconv
from tconv import nn

# (ndim, args, kwargs) of torch.nn.ConvTranspose{ndim}d(in, out, kernel_size, stride, padding, output_padding,
# groups, bias, dilation)
MODULES = [
    (1, (3, 4, 3), {}),
    (1, (4, 6, 5), dict(stride=3, padding=2, output_padding=1, groups=2)),
    (2, (3, 8, 4), dict(stride=2, padding=1)),
    (2, (4, 4, (3, 2)), dict(stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(1, 2), bias=False)),
    (2, (6, 3, 3), dict(stride=2, groups=3, dilation=2, output_padding=1)),
    (3, (2, 3, 2), dict(stride=2)),
    (3, (2, 2, (3, 1, 2)), dict(stride=(1, 2, 2), padding=(1, 0, 0), dilation=(2, 1, 1))),
]
IDS = [f"{nd}d-{i}" for i, (nd, _, _) in enumerate(MODULES)]


def _pair(nd, args, kwargs, dtype=np.float32):
    """A real torch module and a tconv layer holding its weights."""
    torch = oracle("torch")
    module = getattr(torch.nn, f"ConvTranspose{nd}d")(*args, **kwargs)
    if dtype == np.float64:
        module = module.double()
    layer = getattr(nn, f"ConvTranspose{nd}d")(*args, **kwargs, dtype=dtype)
    layer.load_state_dict(module.state_dict())
    return torch, module, layer


def _input(layer, n=2, size=4, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal((n, layer.in_channels, *(size,) * layer.ndim)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("nd, args, kwargs", MODULES, ids=IDS)
def test_forward_backward_and_accumulation_match_torch_module(nd, args, kwargs, dtype):
    torch, module, layer = _pair(nd, args, kwargs, dtype)
    for step in range(2):  # two steps without zero_grad: gradients accumulate in both
        x = _input(layer, dtype=dtype, seed=step)
        tx = torch.tensor(x, requires_grad=True)
        ty = module(tx)
        y = layer(x)
        assert_close(y, ty.detach().numpy(), dtype=dtype)
        dy = np.random.default_rng(10 + step).standard_normal(y.shape).astype(dtype)
        ty.backward(torch.from_numpy(dy))
        assert_close(layer.backward(dy), tx.grad.numpy(), dtype=dtype)
        assert_close(layer.weight_grad, module.weight.grad.numpy(), dtype=dtype)
        if module.bias is not None:
            assert_close(layer.bias_grad, module.bias.grad.numpy(), dtype=dtype)
        else:
            assert layer.bias is None and layer.bias_grad is None


@pytest.mark.parametrize(
    "nd, args, kwargs",
    [m for m in MODULES if m[2].get("stride", 1) != 1],
    ids=[i for i, m in zip(IDS, MODULES) if m[2].get("stride", 1) != 1],
)
def test_output_size_matches_torch_module(nd, args, kwargs):
    torch, module, layer = _pair(nd, args, kwargs, np.float64)
    x = _input(layer, dtype=np.float64)
    natural = layer(x).shape[2:]
    stride = layer.stride
    size = [o + s - 1 - a for o, s, a in zip(natural, stride, layer.output_padding)]  # the largest valid size
    tx = torch.tensor(x, requires_grad=True)
    ty = module(tx, output_size=size)
    y = layer(x, output_size=size)
    assert_close(y, ty.detach().numpy())
    dy = np.ones_like(y)
    ty.backward(torch.from_numpy(dy))
    assert_close(layer.backward(dy), tx.grad.numpy())
    assert_close(layer.weight_grad, module.weight.grad.numpy())


@pytest.mark.parametrize("nd, args, kwargs", MODULES, ids=IDS)
def test_attributes_and_state_dict_interchange_with_torch(nd, args, kwargs):
    torch = oracle("torch")
    module = getattr(torch.nn, f"ConvTranspose{nd}d")(*args, **kwargs)
    layer = getattr(nn, f"ConvTranspose{nd}d")(*args, **kwargs, rng=0)
    for name in (
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "groups",
        "dilation",
    ):
        assert getattr(layer, name) == getattr(module, name), name
    assert layer.weight.shape == tuple(module.weight.shape) and layer.weight.dtype == np.float32
    # tconv -> torch
    ours = layer.state_dict()
    assert list(ours) == list(module.state_dict())
    module.load_state_dict({k: torch.from_numpy(v) for k, v in ours.items()})
    x = _input(layer)
    with torch.no_grad():
        assert_close(module(torch.from_numpy(x)).numpy(), layer(x), dtype=np.float32)
    # torch -> tconv, into the same arrays (optimizers keep references)
    fresh = getattr(torch.nn, f"ConvTranspose{nd}d")(*args, **kwargs)
    weight = layer.weight
    layer.load_state_dict(fresh.state_dict())
    assert layer.weight is weight
    assert_close(layer.weight, fresh.weight.detach().numpy())
    with torch.no_grad():
        assert_close(fresh(torch.from_numpy(x)).numpy(), layer(x), dtype=np.float32)


def test_default_initialisation_is_torchs():
    torch = oracle("torch")
    layer = nn.ConvTranspose(64, 32, (3, 3), rng=0)
    module = torch.nn.ConvTranspose2d(64, 32, 3)
    bound = 1 / math.sqrt(32 * 9)  # fan_in from weight dim 1: out_channels/groups * prod(k)
    for ours, theirs in ((layer.weight, module.weight), (layer.bias, module.bias)):
        theirs = np.abs(theirs.detach().numpy())
        assert np.abs(ours).max() <= bound and theirs.max() <= bound
    assert np.abs(layer.weight).max() > 0.999 * bound and np.abs(module.weight.detach().numpy()).max() > 0.999 * bound
    assert_close(nn.ConvTranspose(2, 3, (2,), rng=5).weight, nn.ConvTranspose(2, 3, (2,), rng=5).weight)


@pytest.mark.parametrize("padding", ["same", "valid", ((2, -1), (0, 1))])
def test_padding_beyond_torch(padding):
    """The layer is conv_transpose / conv_transpose_backward with its parameters (checked against torch in
    test_grad)."""
    layer = nn.ConvTranspose(2, 4, (4, 3), stride=2, padding=padding, groups=2, dtype=np.float64, rng=0)
    x = _input(layer, dtype=np.float64)
    y = layer(x)
    assert_close(y, tconv.conv_transpose(x, layer.weight, layer.bias, 2, padding, groups=2))
    dy = np.random.default_rng(1).standard_normal(y.shape)
    g = tconv.conv_transpose_backward(dy, x, layer.weight, stride=2, padding=padding, groups=2)
    assert_close(layer.backward(dy), g.input)
    assert_close(layer.weight_grad, g.weight)
    assert_close(layer.bias_grad, g.bias)
    assert layer.padding == padding


def test_channels_last_layer_and_unbatched():
    a = nn.ConvTranspose(3, 2, (3, 3), stride=2, padding=1, dtype=np.float64, rng=0)
    b = nn.ConvTranspose(3, 2, (3, 3), stride=2, padding=1, dtype=np.float64, layout="channels_last", rng=0)
    x = _input(a, dtype=np.float64)
    ya, yb = a(x), b(np.moveaxis(x, 1, -1))
    assert_close(np.moveaxis(yb, -1, 1), ya)
    assert_close(np.moveaxis(b.backward(np.moveaxis(ya, 1, -1)), -1, 1), a.backward(ya))
    assert_close(b.weight_grad, a.weight_grad)
    single = a(x[0])
    assert_close(single, ya[0])
    assert a.backward(single, input_grad=False) is None


def test_forward_saves_copies():
    layer = nn.ConvTranspose(1, 1, (3,), stride=2, dtype=np.float64, rng=0)
    x = np.ones((1, 1, 4))
    y = layer(x)
    x[...] = 5.0  # changing the input, or stepping the weight, after forward does not change this step's gradients
    w_before = layer.weight.copy()
    layer.weight += 1.0
    g = tconv.conv_transpose_backward(np.ones_like(y), np.ones((1, 1, 4)), w_before, stride=2)
    assert_close(layer.backward(np.ones_like(y)), g.input)
    assert_close(layer.weight_grad, g.weight)


def test_backward_needs_forward():
    layer = nn.ConvTranspose1d(1, 1, 3)
    with pytest.raises(RuntimeError, match="no saved input; call forward before backward"):
        layer.backward(np.ones((1, 1, 5)))
    y = layer(np.ones((1, 1, 3), np.float32))
    layer.backward(np.ones_like(y))
    with pytest.raises(RuntimeError, match="call forward before backward"):
        layer.backward(np.ones_like(y))


def test_zero_grad_and_repr():
    layer = nn.ConvTranspose3d(2, 4, 2, stride=2, groups=2, bias=False)
    assert repr(layer) == "ConvTranspose3d(2, 4, kernel_size=(2, 2, 2), stride=(2, 2, 2), groups=2, bias=False)"
    layer.backward(np.ones_like(layer(np.ones((1, 2, 2, 2, 2), np.float32))))
    assert layer.weight_grad is not None
    layer.zero_grad()
    assert layer.weight_grad is None and layer.grads == {"weight": None}
    assert (
        repr(nn.ConvTranspose(1, 1, (4,), padding="same"))
        == "ConvTranspose(1, 1, kernel_size=(4,), stride=(1,), padding='same')"
    )


# ---------------------------------------------------------------------------------------------- optimizers


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, options", OPTIMIZERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OPTIMIZERS)])
def test_optimizers_match_torch_optim(name, options):
    torch, module, layer = _pair(2, (2, 3, 4), dict(stride=2, padding=1), np.float64)
    ours = getattr(nn, name)(layer, **options)
    theirs = getattr(torch.optim, name)(module.parameters(), **options)
    for step in range(4):
        x = _input(layer, dtype=np.float64, seed=step)
        target = np.random.default_rng(20 + step).standard_normal(layer(x).shape)
        ours.zero_grad()
        loss, dy = nn.mse_loss(layer(x), target)
        layer.backward(dy, input_grad=False)
        ours.step()
        theirs.zero_grad()
        torch_loss = torch.nn.functional.mse_loss(module(torch.from_numpy(x)), torch.from_numpy(target))
        torch_loss.backward()
        theirs.step()
        assert_close(loss, torch_loss.item())
        assert_close(layer.weight, module.weight.detach().numpy())
        assert_close(layer.bias, module.bias.detach().numpy())


def test_training_recovers_a_teacher():
    """A layer trained with Adam on the outputs of a bilinear teacher layer finds the teacher's weights."""
    teacher = nn.ConvTranspose2d(1, 1, 4, 2, 1, dtype=np.float64)
    teacher.weight = tconv.init.bilinear(teacher.weight.shape, 2, dtype=np.float64)
    teacher.bias[...] = 0.1
    student = nn.ConvTranspose2d(1, 1, 4, 2, 1, dtype=np.float64, rng=0)
    optimizer = nn.Adam(student, lr=0.05)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(150):
        x = rng.standard_normal((4, 1, 6, 6))
        loss, dy = nn.mse_loss(student(x), teacher(x))
        optimizer.zero_grad()
        student.backward(dy)
        optimizer.step()
        losses.append(loss)
    assert losses[-1] < 1e-3 * losses[0]
    assert_close(student.weight, teacher.weight, atol=1e-2)


def test_mse_loss_matches_torch():
    torch = oracle("torch")
    p = np.random.default_rng(0).standard_normal((2, 3, 4))
    t = np.random.default_rng(1).standard_normal((2, 3, 4))
    tp = torch.tensor(p, requires_grad=True)
    loss_t = torch.nn.functional.mse_loss(tp, torch.from_numpy(t))
    loss_t.backward()
    loss, grad = nn.mse_loss(p, t)
    assert_close(loss, loss_t.item())
    assert_close(grad, tp.grad.numpy())


def test_mse_loss_of_empty_arrays_is_torchs_nan():
    """mse_loss of empty arrays raised ZeroDivisionError; PyTorch gives a NaN loss and an empty gradient."""
    loss, grad = nn.mse_loss(np.ones((0, 3)), np.ones((0, 3)))
    assert math.isnan(loss)
    assert grad.shape == (0, 3) and grad.dtype == np.float64


@pytest.mark.parametrize(
    "args, names",
    [
        ((2, 3, 10**6), r"ConvTranspose2d\(in_channels=2, out_channels=3, kernel_size=\(1000000, 1000000\)\)"),
        ((10**6, 10**6, 3), r"ConvTranspose2d\(in_channels=1000000, out_channels=1000000, kernel_size=\(3, 3\)\)"),
    ],
)
def test_layer_too_large_for_the_machine_names_its_arguments(args, names):
    """MemoryError from NumPy's draws before: refused from integers (instantly), naming the layer's arguments."""
    with pytest.raises(ValueError, match=names + r": torch_default: .* more than this machine's memory"):
        nn.ConvTranspose2d(*args)


ERRORS = [
    (lambda: nn.ConvTranspose(3, 4, 3), ValueError, "kernel_size=3 is one int, so pass ndim="),
    (
        lambda: nn.ConvTranspose(3, 4, (3, 3), ndim=3),
        ValueError,
        r"ndim=3 differs from the 2 entries of kernel_size=\(3, 3\)",
    ),
    (lambda: nn.ConvTranspose2d(3, 4, 3, ndim=2), TypeError, "ConvTranspose2d has 2 spatial axes and takes no ndim="),
    (
        lambda: nn.ConvTranspose2d(3, 4, 3, groups=2),
        ValueError,
        "in_channels must be divisible by groups, got in_channels=3, groups=2",
    ),
    (lambda: nn.ConvTranspose2d(4, 3, 3, groups=2), ValueError, "out_channels must be divisible by groups"),
    (lambda: nn.ConvTranspose2d(0, 3, 3), ValueError, "in_channels must be a positive integer, got 0"),
    (
        lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, output_padding=2),
        ValueError,
        "output_padding must be smaller than stride or dilation in every axis",
    ),
    (lambda: nn.ConvTranspose2d(2, 3, 3, padding="full"), ValueError, "one of 'same', 'valid'; got 'full'"),
    (
        lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding="same", output_padding=1),
        ValueError,
        "output_padding must be 0 with padding='same'",
    ),
    (
        lambda: nn.ConvTranspose2d(2, 3, 3, algorithm="no-such"),
        ValueError,
        "algorithm 'no-such' not found, valid options are",
    ),
    (
        lambda: nn.ConvTranspose2d(2, 3, 3, backward_algorithm="no-such"),
        ValueError,
        "backward_algorithm 'no-such' not found",
    ),
    (lambda: nn.ConvTranspose2d(2, 3, 3, layout="NHWC"), ValueError, "layout must be one of"),
    (
        lambda: nn.ConvTranspose2d(2, 3, 3).load_state_dict({"weight": np.ones((2, 3, 3, 3))}),
        ValueError,
        r"the keys differ from this layer's \['bias', 'weight'\]: missing \['bias'\], unexpected \[\]",
    ),
    (
        lambda: nn.ConvTranspose2d(2, 3, 3).load_state_dict({"weight": np.ones((3, 2, 3, 3)), "bias": np.ones(3)}),
        ValueError,
        r"weight has shape \(3, 2, 3, 3\) in the state dict, but this layer's weight has shape \(2, 3, 3, 3\)",
    ),
    (lambda: nn.SGD(object(), lr=0.1), TypeError, "SGD optimizes layers with parameters"),
    (lambda: nn.Adam(nn.ConvTranspose1d(1, 1, 2), lr=0), ValueError, "lr must be greater than 0, got 0"),
    (
        lambda: nn.mse_loss(np.ones(2), np.ones(3)),
        ValueError,
        r"prediction has shape \(2,\) but target has shape \(3,\)",
    ),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_load_state_dict_not_strict():
    layer = nn.ConvTranspose2d(2, 3, 3, rng=0)
    layer.load_state_dict({"weight": np.zeros((2, 3, 3, 3)), "extra": 1}, strict=False)
    assert not layer.weight.any() and layer.bias.any()


def test_forward_uses_a_prepared_weight_that_follows_the_weight():
    """The layer packs its weight once (tconv.prepare) and packs it again whenever it changes: an
    optimizer step in place, an assignment, a changed stride; results always equal the plain call's."""
    rng = np.random.default_rng(0)
    layer = tconv.nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1, rng=0)
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)

    def plain():
        return tconv.conv_transpose(x, layer.weight, layer.bias, stride=layer.stride, padding=layer.padding)

    y = layer(x)
    plan = layer._plan
    np.testing.assert_allclose(layer(x), plain(), rtol=1e-6, atol=1e-6)
    assert layer._plan is plan  # unchanged weight: the same plan
    layer.backward(np.ones_like(y))
    tconv.nn.SGD(layer, lr=0.1).step()  # the weight changes in place
    np.testing.assert_allclose(layer(x), plain(), rtol=1e-6, atol=1e-6)
    assert layer._plan is not plan
    layer.weight = rng.standard_normal(layer.weight.shape).astype(np.float32)  # a new array
    np.testing.assert_allclose(layer(x), plain(), rtol=1e-6, atol=1e-6)
    layer.stride = (1, 1)
    np.testing.assert_allclose(layer(x), plain(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "entries, error, message",
    [
        ({"weight": np.zeros((2, 3, 3, 3)), "bias": np.zeros(7)}, ValueError, r"bias has shape \(7,\)"),
        ({"weight": np.zeros((3, 2, 3, 3)), "bias": np.zeros(3)}, ValueError, r"weight has shape \(3, 2, 3, 3\)"),
        (
            {"weight": np.full((2, 3, 3, 3), None, dtype=object), "bias": np.zeros(3)},
            TypeError,
            "weight must be a real numeric array .* got dtype object",
        ),
        (
            {"weight": np.zeros((2, 3, 3, 3)), "bias": np.full(3, 1 + 2j)},
            TypeError,
            "bias must be a real numeric array .* got dtype complex128",
        ),
        ({"weight": np.full((2, 3, 3, 3), "a"), "bias": np.zeros(3)}, TypeError, "got dtype <U1"),
    ],
)
def test_load_state_dict_checks_every_entry_before_assigning_any(entries, error, message):
    """One bad entry leaves every parameter as it was, whatever the order the keys come in."""
    for order in (list(entries), list(reversed(entries))):
        layer = nn.ConvTranspose2d(2, 3, 3, rng=0)
        before = {name: value.copy() for name, value in layer.state_dict().items()}
        with pytest.raises(error, match=message):
            layer.load_state_dict({name: entries[name] for name in order})
        for name, value in layer.state_dict().items():
            np.testing.assert_array_equal(value, before[name])


def test_load_state_dict_casts_real_numbers():
    layer = nn.ConvTranspose2d(2, 3, 3, rng=0)
    layer.load_state_dict({"weight": np.ones((2, 3, 3, 3), dtype=np.int64), "bias": np.array([True, False, True])})
    assert layer.weight.dtype == np.float32 and np.all(layer.weight == 1)
    np.testing.assert_array_equal(layer.bias, [1, 0, 1])


@pytest.mark.parametrize(
    "dtype, error, message",
    [
        (np.int32, ValueError, "dtype must be a floating-point dtype such as float32 or float64, got int32"),
        (object, ValueError, "got object"),
        (np.complex64, ValueError, "got complex64"),
        (bool, ValueError, "got bool"),
        ("no-such-type", TypeError, "dtype must be a NumPy dtype such as float32, got 'no-such-type'"),
    ],
)
def test_a_layer_is_built_in_a_floating_dtype(dtype, error, message):
    """An int32 layer had all-zero weights (the uniform draw truncated) and an object layer was accepted."""
    with pytest.raises(error, match=message):
        nn.ConvTranspose2d(2, 3, 3, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_floating_layers_are_built(dtype):
    layer = nn.ConvTranspose2d(2, 3, 3, dtype=dtype, rng=0)
    assert layer.weight.dtype == dtype and layer.bias.dtype == dtype and layer.weight.any()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"rng": "a"}, TypeError, "rng must be None, an int or a numpy.random.Generator, got 'a'"),
        ({"rng": -1}, ValueError, "rng must be a non-negative int, got -1"),
        ({"bias": "no"}, TypeError, "bias must be True or False, got 'no'"),
    ],
)
def test_other_layer_arguments_are_checked(kwargs, error, message):
    with pytest.raises(error, match=message):
        nn.ConvTranspose2d(2, 3, 3, **kwargs)
