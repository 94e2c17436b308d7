"""tconv.compat.torch against PyTorch: randomized configurations, the module's output_size rule, errors."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

from tconv.frameworks import torch as compat


def _configs(count: int, seed: int = 5):
    """Random valid F.conv_transpose*d configurations (seeded, so CI sees the same ones)."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        nd = int(rng.integers(1, 4))
        groups = int(rng.choice([1, 1, 2, 3]))
        c_in = groups * int(rng.integers(1, 3))
        c_out = groups * int(rng.integers(1, 3))
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 4, nd))
        p = tuple(int(v) for v in rng.integers(0, 3, nd))
        op = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d))
        size = tuple(int(v) for v in rng.integers(1, 6 if nd < 3 else 4, nd))
        out = [(i - 1) * si - 2 * pi + di * (ki - 1) + ai + 1 for i, si, pi, di, ki, ai in zip(size, s, p, d, k, op)]
        if min(out) < 1:
            continue
        configs.append(
            dict(
                nd=nd,
                groups=groups,
                c_in=c_in,
                c_out=c_out,
                k=k,
                s=s,
                d=d,
                p=p,
                op=op,
                size=size,
                n=int(rng.integers(1, 3)),
                bias=bool(rng.integers(0, 2)),
                batched=bool(rng.integers(0, 4)),
            )
        )
    return configs


CONFIGS = _configs(60)
# configurations whose module accepts at least one output_size in every axis
MODULE_CONFIGS = [
    c for c in CONFIGS if all(len(r) for r in compat.valid_output_sizes(c["size"], c["k"], c["s"], c["p"], c["d"]))
][:30]


@pytest.mark.parametrize(
    "cfg", CONFIGS, ids=lambda c: f"{c['nd']}d-k{c['k']}s{c['s']}p{c['p']}op{c['op']}d{c['d']}g{c['groups']}"
)
def test_functional_matches_pytorch(cfg, torch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((cfg["n"], cfg["c_in"], *cfg["size"]))
    if not cfg["batched"]:
        x = x[0]
    w = rng.standard_normal((cfg["c_in"], cfg["c_out"] // cfg["groups"], *cfg["k"]))
    b = rng.standard_normal(cfg["c_out"]) if cfg["bias"] else None
    f = getattr(torch.nn.functional, f"conv_transpose{cfg['nd']}d")
    t = lambda a: None if a is None else torch.from_numpy(np.array(a))  # noqa: E731
    with torch.no_grad():
        expected = f(t(x), t(w), t(b), cfg["s"], cfg["p"], cfg["op"], cfg["groups"], cfg["d"]).numpy()
    ours = getattr(compat, f"conv_transpose{cfg['nd']}d")(
        x, w, b, cfg["s"], cfg["p"], cfg["op"], cfg["groups"], cfg["d"]
    )
    assert_close(ours, expected, dtype=np.float64)
    assert (
        compat.output_size(cfg["size"], cfg["k"], cfg["s"], cfg["p"], cfg["op"], cfg["d"])
        == expected.shape[-cfg["nd"] :]
    )


@pytest.mark.parametrize("cfg", MODULE_CONFIGS, ids=lambda c: f"{c['nd']}d-k{c['k']}s{c['s']}p{c['p']}d{c['d']}")
def test_module_output_size_rule_matches_pytorch(cfg, torch):
    """Every size the module accepts gives PyTorch's output_padding; one past the range is rejected by both."""
    nd = cfg["nd"]
    module = getattr(torch.nn, f"ConvTranspose{nd}d")(
        cfg["c_in"], cfg["c_out"], cfg["k"], stride=cfg["s"], padding=cfg["p"], dilation=cfg["d"], groups=cfg["groups"]
    )
    shape = (1, cfg["c_in"], *cfg["size"])
    x = torch.zeros(shape, dtype=torch.float32)
    ranges = compat.valid_output_sizes(cfg["size"], cfg["k"], cfg["s"], cfg["p"], cfg["d"])
    for offset in range(max(cfg["s"])):
        size = tuple(min(r.start + offset, r.stop - 1) for r in ranges)
        with torch.no_grad():
            expected_shape = tuple(module(x, output_size=size).shape)
        op = compat.module_output_padding(shape, size, cfg["k"], cfg["s"], cfg["p"], cfg["d"])
        assert (
            tuple(
                module._output_padding(x, size, module.stride, module.padding, module.kernel_size, nd, module.dilation)
            )
            == op
        )
        assert expected_shape[2:] == size
    too_big = tuple(r.stop for r in ranges)
    with pytest.raises(ValueError, match="requested an output size"):
        module(x, output_size=too_big)
    with pytest.raises(ValueError, match="requested an output size of .* but valid sizes range from"):
        compat.module_output_padding(shape, too_big, cfg["k"], cfg["s"], cfg["p"], cfg["d"])


# (arguments, keyword arguments, a phrase of PyTorch's message that both must raise with)
ERRORS = [
    (dict(padding=-1), "negative padding is not supported"),
    (dict(output_padding=-1), "negative output_padding is not supported"),
    (dict(stride=0), "non-positive stride is not supported"),
    (dict(groups=0), "non-positive groups is not supported"),
    (dict(stride=2, output_padding=2), "output padding must be smaller than either stride or dilation"),
    (dict(stride=(2, 1), output_padding=(1, 1)), "output padding must be smaller than either stride or dilation"),
    (dict(padding=4), "Output size is too small"),
    (dict(groups=3), "expected weight to be divisible by 3 at dimension 0"),
    (dict(weight=(3, 3, 3, 3)), "to have 3 channels, but got 4 channels instead"),
    (dict(bias=(4,)), "expected bias to be 1-dimensional with 3 elements"),
    (dict(input=(1, 1, 4, 5, 5)), r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv_transpose2d"),
    (dict(stride=(1, 2, 3)), "expected stride to be a single integer value or a list of 2 values"),
    (dict(input=(1, 4, 0, 5)), "Only zero batch or zero channel inputs are supported"),
]


@pytest.mark.parametrize("change, phrase", ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_rejects_what_pytorch_rejects(change, phrase, torch):
    args = dict(
        input=(1, 4, 5, 5), weight=(4, 3, 3, 3), bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
    )
    args.update(change)
    x = np.ones(args.pop("input"), dtype=np.float32)
    w = np.ones(args.pop("weight"), dtype=np.float32)
    b = args.pop("bias")
    b = None if b is None else np.ones(b, dtype=np.float32)
    t = lambda a: None if a is None else torch.from_numpy(a)  # noqa: E731
    with pytest.raises(RuntimeError, match=phrase):
        torch.nn.functional.conv_transpose2d(t(x), t(w), t(b), **args)
    with pytest.raises(ValueError, match=phrase):
        compat.conv_transpose2d(x, w, b, **args)


def test_string_padding_is_a_type_error_as_in_pytorch(torch):
    x, w = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises(TypeError, match="argument 'padding' must be tuple of ints, not str"):
        torch.nn.functional.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), padding="same")
    with pytest.raises(TypeError, match="argument 'padding' must be tuple of ints, not str"):
        compat.conv_transpose2d(x, w, padding="same")


def test_output_padding_below_dilation_is_accepted_as_in_pytorch(torch):
    """``op < max(stride, dilation)``: op=2 with stride 1 and dilation 3 is legal in F, unreachable by output_size."""
    x = np.arange(12.0).reshape(1, 2, 6)
    w = np.arange(12.0).reshape(2, 2, 3)
    with torch.no_grad():
        expected = torch.nn.functional.conv_transpose1d(
            torch.from_numpy(x), torch.from_numpy(w), output_padding=2, dilation=3
        ).numpy()
    assert_close(compat.conv_transpose1d(x, w, output_padding=2, dilation=3), expected)
    assert compat.valid_output_sizes(6, 3, 1, 0, 3) == (range(12, 13),)
