"""A random search of layers whose float32 gradients are farther from float64 than PyTorch's.

The search of ``docs/performance.md`` ("Accuracy of the gradients", and the Zen 3's sixth stop): for
each seed a random transposed convolution (1-3 d, 1-512 channels, 1-4 groups, about a third of them
``1 x ... x 1``, kernels up to 8, strides up to 4, dilation 1-2, up to 2 M input cells), its float32
input and weight gradients from ``tconv.conv_transpose_backward`` and from PyTorch, and their distances
(sums of absolute errors) from PyTorch's float64 gradients::

    python docs/bench/accuracy_search.py 5000 500     # seeds 5000..5499: a few minutes on two cores

prints every gradient at least ``--show`` (0.9) times PyTorch's distance, marks those farther (above
1) ``FAR``, and exits with status 1 if there is one. Needs ``torch``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

import tconv


def random_layer(seed: int, max_inputs: int = 2_000_000) -> tuple[tuple[int, ...], tuple[int, ...], dict[str, Any]]:
    """The layer of ``seed``: ``(input shape, weight shape, keyword arguments)``, at most ``max_inputs`` input cells."""
    rng = np.random.default_rng(seed)
    nd = int(rng.choice([1, 2, 2, 3]))
    groups = int(rng.choice([1, 1, 1, 2, 4]))
    most = int(rng.choice([16, 64, 256, 512]))
    c_in, c_out = (groups * max(1, int(rng.integers(1, most // groups + 1))) for _ in range(2))
    pointwise = rng.random() < 0.35
    k = 1 if pointwise else int(rng.integers(1, 9 if nd < 3 else 5))
    s = 1 if pointwise else int(rng.integers(1, min(k, 4) + 1))
    d = 1 if (pointwise or rng.random() < 0.8) else 2
    p = int(rng.integers(0, d * (k - 1) // 2 + 1))
    size = {1: int(rng.integers(50, 4000)), 2: int(rng.integers(4, 80)), 3: int(rng.integers(3, 20))}[nd]
    n = int(rng.integers(1, 9))
    while n * c_in * size**nd > max_inputs and n > 1:
        n //= 2
    while n * c_in * size**nd > max_inputs:
        size = max(2, int(size * 0.8))
    kwargs = dict(stride=s, padding=p, dilation=d, groups=groups)
    return (n, c_in, *(size,) * nd), (c_in, c_out // groups, *(k,) * nd), kwargs


def ratios(seed: int, max_inputs: int = 2_000_000) -> tuple[float, float] | None:
    """tconv's float32 input and weight gradients' distances from float64 over PyTorch's, for the layer of
    ``seed`` (None where PyTorch refuses it or its output is over 2 * 10^7 cells)."""
    import torch

    x_shape, w_shape, kwargs = random_layer(seed, max_inputs)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    conv_transpose = getattr(torch.nn.functional, f"conv_transpose{len(x_shape) - 2}d")
    try:
        y_shape = tuple(conv_transpose(torch.from_numpy(x), torch.from_numpy(w), **kwargs).shape)
    except RuntimeError:  # an output size PyTorch refuses
        return None
    if np.prod(y_shape) > 2e7:
        return None
    dy = rng.standard_normal(y_shape).astype(np.float32)

    def theirs(dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        xt = torch.from_numpy(x).to(dtype).requires_grad_(True)
        wt = torch.from_numpy(w).to(dtype).requires_grad_(True)
        conv_transpose(xt, wt, **kwargs).backward(torch.from_numpy(dy).to(dtype))
        return xt.grad.numpy(), wt.grad.numpy()

    precise, single = theirs(torch.float64), theirs(torch.float32)
    got = tconv.conv_transpose_backward(dy, x, w, **kwargs)
    out = []
    for index, ours in enumerate((got.input, got.weight)):
        them = np.abs(single[index].astype(np.float64) - precise[index]).sum()
        us = np.abs(ours.astype(np.float64) - precise[index]).sum()
        out.append(us / them if them > 0 else (0.0 if us == 0 else np.inf))
    return out[0], out[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=int, help="the first seed")
    parser.add_argument("count", type=int, help="how many seeds")
    parser.add_argument("--show", type=float, default=0.9, help="print gradients at least this far (PyTorch's = 1)")
    parser.add_argument("--max-inputs", type=int, default=2_000_000, help="input cells of a layer at most")
    args = parser.parse_args(argv)
    far = 0
    for seed in range(args.first, args.first + args.count):
        found = ratios(seed, args.max_inputs)
        if found is None:
            continue
        for name, ratio in zip(("input", "weight"), found):
            if ratio > args.show and ratio != 1.0:  # (1.0: the same distance, e.g. both correctly rounded)
                far += ratio > 1
                flag = " FAR" if ratio > 1 else ""
                print(f"{seed} {name} {ratio:.3f}{flag} {random_layer(seed, args.max_inputs)}", flush=True)
    print(f"seeds {args.first}..{args.first + args.count - 1}: {far} gradient(s) farther than PyTorch's")
    return 1 if far else 0


if __name__ == "__main__":
    sys.exit(main())
