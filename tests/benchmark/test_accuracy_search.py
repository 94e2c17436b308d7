"""docs/bench/accuracy_search.py: the random search of docs/performance.md finds, and reports, a gradient
farther from float64 than PyTorch's, and none among small layers of the current rules."""

from __future__ import annotations

import numpy as np
from helpers import docs_script, oracle

import tconv

accuracy_search = docs_script("accuracy_search")


def test_the_layers_are_the_seeds_and_within_their_size():
    """Each seed is one layer, the same every time, with at most ``max_inputs`` input cells."""
    for seed in range(30):
        x_shape, w_shape, kwargs = accuracy_search.random_layer(seed, 20_000)
        assert accuracy_search.random_layer(seed, 20_000) == (x_shape, w_shape, kwargs)
        assert int(np.prod(x_shape)) <= 20_000 and x_shape[1] == w_shape[0]
        assert x_shape[1] % kwargs["groups"] == 0


def test_a_search_of_small_layers_finds_none_farther(capsys):
    """Twelve small layers: no gradient farther than PyTorch's (exit status 0), the count reported."""
    oracle("torch")
    assert accuracy_search.main(["0", "12", "--max-inputs", "20000"]) == 0
    assert "seeds 0..11: 0 gradient(s) farther than PyTorch's" in capsys.readouterr().out


def test_a_gradient_farther_than_pytorchs_is_reported(capsys, monkeypatch):
    """A weight gradient made farther (its float32 result perturbed by 1e-3) is printed FAR, exit status 1."""
    oracle("torch")
    original = tconv.conv_transpose_backward

    def perturbed(*args, **kwargs):
        got = original(*args, **kwargs)
        return type(got)(got.input, got.weight * np.float32(1 + 1e-3), got.bias)

    monkeypatch.setattr(accuracy_search.tconv, "conv_transpose_backward", perturbed)
    assert accuracy_search.main(["3", "1", "--max-inputs", "20000"]) == 1
    out = capsys.readouterr().out
    assert " weight " in out and "FAR" in out and "1 gradient(s) farther" in out
