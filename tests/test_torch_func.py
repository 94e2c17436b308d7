"""tconv.torch under ``torch.func`` (vmap, grad, jacrev, jacfwd, hessian, jvp), forward-mode AD and batched
gradients: against PyTorch's own transposed convolution under the same transform, and, for tconv's padding
forms PyTorch cannot express, against tconv's own call per entry."""

from __future__ import annotations

import pytest
from helpers import module_oracle

torch = module_oracle("torch")
from torch.autograd import forward_ad  # noqa: E402

import tconv.torch as tt  # noqa: E402  (needs torch: imported after the oracle check)

# (id, input shape, weight shape, keywords PyTorch's functional takes too)
CASES = [
    ("1d", (2, 2, 5), (2, 3, 3), dict(stride=3, output_padding=2, dilation=2)),
    ("2d", (2, 3, 4, 4), (3, 4, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    ("2d-groups", (1, 4, 3, 2), (4, 1, 2, 3), dict(stride=(2, 1), groups=2, dilation=(1, 2), output_padding=(1, 0))),
    ("3d", (1, 2, 2, 3, 2), (2, 2, 2, 2, 2), dict(stride=2, padding=(1, 0, 0))),
]
IDS = [c[0] for c in CASES]


def _double(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, dtype=torch.float64, generator=g, requires_grad=True)


def _operands(xs, ws, kwargs):
    channels = ws[1] * kwargs.get("groups", 1)
    return _double(*xs), _double(*ws, seed=1), _double(channels, seed=2)


def _pair(ws, kwargs):
    """tconv's call and PyTorch's, as functions of (input, weight, bias)."""
    functional = getattr(torch.nn.functional, f"conv_transpose{len(ws) - 2}d")
    return (lambda x, w, b: tt.conv_transpose(x, w, b, **kwargs)), (lambda x, w, b: functional(x, w, b, **kwargs))


def _close(actual, expected):
    if isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            _close(a, e)
        return
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=1e-10, atol=1e-10)


@pytest.fixture
def computed(monkeypatch):
    """The number of forward passes tconv computed (not PyTorch's fallback) during the test."""
    calls = []
    numpy_call = tt._conv_transpose_numpy

    def counting(*args, **kwargs):
        calls.append(1)
        return numpy_call(*args, **kwargs)

    monkeypatch.setattr(tt, "_conv_transpose_numpy", counting)
    return calls


@pytest.mark.parametrize("mapped", ["input", "unbatched-input", "weight", "all"])
@pytest.mark.parametrize("cid, xs, ws, kwargs", CASES, ids=IDS)
def test_vmap(cid, xs, ws, kwargs, mapped, computed):
    """vmap over the input (joined to the batch, one call), an unbatched input (vmap's axis is the batch),
    the weight (a call per entry) and everything, against PyTorch's functional under vmap."""
    ours, theirs = _pair(ws, kwargs)
    x, w, b = _operands(xs, ws, kwargs)
    entries = 3
    if mapped == "input":
        args, dims = (torch.stack([x * (i + 1) for i in range(entries)]), w, b), (0, None, None)
    elif mapped == "unbatched-input":
        args, dims = (torch.stack([x[0] * (i + 1) for i in range(entries)], dim=1), w, b), (1, None, None)
    elif mapped == "weight":
        args, dims = (x, torch.stack([w * (i + 1) for i in range(entries)], dim=-1), b), (None, -1, None)
    else:
        args = tuple(torch.stack([t * (i + 1) for i in range(entries)]) for t in (x, w, b))
        dims = (0, 0, 0)
    _close(torch.func.vmap(ours, in_dims=dims)(*args), torch.func.vmap(theirs, in_dims=dims)(*args))
    assert computed  # tconv computed it


@pytest.mark.parametrize("cid, xs, ws, kwargs", CASES, ids=IDS)
def test_transforms(cid, xs, ws, kwargs, computed):
    """grad, jacrev, jacfwd, hessian and jvp, against PyTorch's functional under the same transform."""
    ours, theirs = _pair(ws, kwargs)
    x, w, b = _operands(xs, ws, kwargs)
    tangents = (_double(*xs, seed=3), _double(*ws, seed=4), _double(*b.shape, seed=5))
    for f, g in ((ours, theirs),):
        _close(torch.func.jvp(f, (x, w, b), tangents), torch.func.jvp(g, (x, w, b), tangents))
        _close(torch.func.jacrev(f, argnums=(0, 1, 2))(x, w, b), torch.func.jacrev(g, argnums=(0, 1, 2))(x, w, b))
        _close(torch.func.jacfwd(f, argnums=(0, 1, 2))(x, w, b), torch.func.jacfwd(g, argnums=(0, 1, 2))(x, w, b))

        def loss(function):
            return lambda xx, ww: function(xx, ww, b).sin().sum()

        _close(torch.func.grad(loss(f), argnums=(0, 1))(x, w), torch.func.grad(loss(g), argnums=(0, 1))(x, w))
        _close(torch.func.hessian(loss(f), argnums=1)(x, w), torch.func.hessian(loss(g), argnums=1)(x, w))
    assert computed


@pytest.mark.parametrize("cid, xs, ws, kwargs", CASES, ids=IDS)
def test_forward_mode(cid, xs, ws, kwargs, computed):
    """torch.autograd.forward_ad's dual tensors: the tangent of every operand at once, and one at a time."""
    ours, theirs = _pair(ws, kwargs)
    x, w, b = (t.detach() for t in _operands(xs, ws, kwargs))
    tangents = (_double(*xs, seed=3).detach(), _double(*ws, seed=4).detach(), _double(*b.shape, seed=5).detach())
    for which in ((0, 1, 2), (0,), (1,), (2,)):
        results = []
        for function in (ours, theirs):
            with forward_ad.dual_level():
                pairs = enumerate(zip((x, w, b), tangents))
                duals = [forward_ad.make_dual(t, d) if i in which else t for i, (t, d) in pairs]
                results.append(forward_ad.unpack_dual(function(*duals)))
        _close(results[0].primal, results[1].primal)
        _close(results[0].tangent, results[1].tangent)
    assert computed


@pytest.mark.parametrize("cid, xs, ws, kwargs", CASES, ids=IDS)
def test_forward_over_reverse_without_create_graph(cid, xs, ws, kwargs, computed):
    """The gradients of dual tensors carry their tangents though no graph of the backward is kept
    (found by a differential fuzzer: the backward's NumPy shortcut dropped them)."""
    ours, theirs = _pair(ws, kwargs)
    x, w, b = (t.detach() for t in _operands(xs, ws, kwargs))
    tangents = (_double(*xs, seed=3).detach(), _double(*ws, seed=4).detach())
    results = []
    for function in (ours, theirs):
        with forward_ad.dual_level():
            xd = forward_ad.make_dual(x, tangents[0]).requires_grad_()
            wd = forward_ad.make_dual(w, tangents[1]).requires_grad_()
            bd = b.clone().requires_grad_()
            y = function(xd, wd, bd)
            gy = forward_ad.make_dual(_double(*y.shape, seed=6).detach(), _double(*y.shape, seed=7).detach())
            grads = torch.autograd.grad(y, (xd, wd, bd), gy)
            results.append([forward_ad.unpack_dual(g) for g in grads])
    for a, e in zip(*results):
        _close(a.primal, e.primal)
        assert a.tangent is not None and e.tangent is not None
        _close(a.tangent, e.tangent)
    assert computed


def test_empty_vmap_axis(computed):
    """vmap over an empty axis where tconv's rule computes entry by entry (a mapped weight or bias, the
    weight gradient under jacrev): an empty result of an entry's shape, as PyTorch's."""
    x, w = torch.randn(0, 1, 2, 2, dtype=torch.float64), torch.randn(1, 1, 1, 2, dtype=torch.float64)
    functional = torch.nn.functional.conv_transpose2d
    ours = torch.func.jacrev(lambda weight: tt.conv_transpose(x, weight))(w)
    _close(ours, torch.func.jacrev(lambda weight: functional(x, weight))(w))
    x1, biases = torch.randn(1, 1, 2, 2, dtype=torch.float64), torch.randn(0, 1, dtype=torch.float64)
    mapped = (None, None, 0)
    _close(
        torch.func.vmap(tt.conv_transpose, in_dims=mapped)(x1, w, biases),
        torch.func.vmap(functional, in_dims=mapped)(x1, w, biases),
    )
    weights = torch.randn(0, 1, 1, 1, 2, dtype=torch.float64)  # (PyTorch's own vmap refuses an empty weight)
    ours = torch.func.vmap(tt.conv_transpose, in_dims=(None, 0))(x1, weights)
    assert ours.shape == (0, *functional(x1, w).shape)


@pytest.mark.parametrize("cid, xs, ws, kwargs", CASES, ids=IDS)
def test_gradcheck_modes(cid, xs, ws, kwargs):
    """gradcheck's forward-mode, batched-gradient and batched forward-mode checks, and gradgradcheck's
    forward-over-reverse and batched ones (the checks PyTorch's own operator tests run)."""
    ours, _ = _pair(ws, kwargs)
    inputs = _operands(xs, ws, kwargs)
    assert torch.autograd.gradcheck(
        ours, inputs, check_forward_ad=True, check_batched_grad=True, check_batched_forward_grad=True
    )
    assert torch.autograd.gradgradcheck(ours, inputs, check_fwd_over_rev=True, check_batched_grad=True)


def test_vectorized_jacobian():
    """torch.autograd.functional.jacobian(vectorize=True), which batches the backward pass."""
    cid, xs, ws, kwargs = CASES[1]
    ours, theirs = _pair(ws, kwargs)
    inputs = _operands(xs, ws, kwargs)
    _close(
        torch.autograd.functional.jacobian(ours, inputs, vectorize=True),
        torch.autograd.functional.jacobian(theirs, inputs, vectorize=True),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(stride=2, padding="same"),
        dict(stride=(2, 3), padding=((2, -1), (-1, 1))),
        dict(stride=2, padding=1, output_size=(2, 2, 8, 7)),  # an entry's whole shape, not the joined batch's
    ],
    ids=["same", "pairs", "output-size-shape"],
)
def test_vmap_tconv_padding(kwargs):
    """tconv's padding forms, which PyTorch's functional cannot express: vmap (over the input and over the
    weight) and a gradient through it, against tconv's own call per entry."""
    x, w, b = _double(4, 2, 3, 4, 4), _double(3, 2, 3, 3, seed=1), _double(2, seed=2)
    ws = torch.stack([w, 2 * w, -w, w.flip(-1)])

    def f(xx, ww):
        return tt.conv_transpose(xx, ww, b, **kwargs)

    _close(torch.func.vmap(f, in_dims=(0, None))(x, w), torch.stack([f(entry, w) for entry in x]))
    _close(torch.func.vmap(f, in_dims=(None, 0))(x[0], ws), torch.stack([f(x[0], entry) for entry in ws]))
    per_entry = [torch.func.grad(lambda ww, xx=entry: f(xx, ww).pow(2).sum())(w) for entry in x]
    _close(torch.func.vmap(torch.func.grad(lambda ww, xx: f(xx, ww).pow(2).sum()), in_dims=(None, 0))(w, x),
           torch.stack(per_entry))  # fmt: skip


@pytest.mark.parametrize("memory_format", ["contiguous", "channels_last"])
def test_per_sample_gradients(memory_format, computed):
    """The per-sample gradients of a module's parameters (``functional_call``, ``vmap`` and ``grad``, as
    differential-privacy training computes them), against PyTorch's module; and a module under ``vmap``
    without gradients (no prepared weight: its weight is vmap's)."""
    ours = tt.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1).double()
    theirs = torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1).double()
    theirs.load_state_dict(ours.state_dict())
    x = _double(5, 3, 6, 5).detach()
    if memory_format == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)

    def per_sample(module):
        params = {k: v.detach() for k, v in module.named_parameters()}

        def loss(p, sample):
            return torch.func.functional_call(module, p, (sample.unsqueeze(0),)).pow(2).sum()

        grads = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0))(params, x)
        return [grads[name] for name in sorted(grads)]

    _close(per_sample(ours), per_sample(theirs))
    with torch.no_grad():
        _close(torch.func.vmap(ours)(x.unsqueeze(1)), torch.func.vmap(theirs)(x.unsqueeze(1)))
    assert computed
