"""tconv.benchmark.layers: the named layers, the layer spec and the FLOP formula."""

from __future__ import annotations

import math

import pytest

from tconv.benchmark import LAYERS, layer_from_spec


def test_named_layers_are_valid_and_distinct():
    assert len({layer.name for layer in LAYERS}) == len(LAYERS)
    for layer in LAYERS:
        x, w, b = layer.arrays("float32")
        assert x.shape == (layer.n, layer.c_in, *layer.size)
        assert w.shape == (layer.c_in, layer.c_out // layer.groups, *layer.kernel)
        assert len(layer.output_size) == len(layer.size) and min(layer.output_size) > 0
        assert layer.source


def test_flops_count_every_multiply_add():
    """2 * (number of (input element, tap, output channel) products), counted by brute force."""
    layer = layer_from_spec("n=2 c_in=6 c_out=4 size=3x5 kernel=2x3 stride=2 groups=2")
    products = layer.n * layer.c_in * math.prod(layer.size) * (layer.c_out // layer.groups) * math.prod(layer.kernel)
    assert layer.flops == 2 * products


def test_layer_spec_errors():
    with pytest.raises(ValueError, match="unknown layer spec key 'colour'"):
        layer_from_spec("n=1 c_in=1 c_out=1 size=4 kernel=2 colour=red")
    with pytest.raises(ValueError, match=r"lacks \['kernel'\]"):
        layer_from_spec("n=1 c_in=1 c_out=1 size=4")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("n=x c_in=1 c_out=1 size=4 kernel=2", "layer spec key n must be an int, got 'x'"),
        ("n=2x2 c_in=1 c_out=1 size=4 kernel=2", "layer spec key n must be an int, got '2x2'"),
        ("n=1 c_in=1 c_out=1 size=4x? kernel=2", "layer spec key size must be an int or one per axis like 4x4"),
        ("n=0 c_in=1 c_out=1 size=4 kernel=2", "layer spec key n must be positive, got 0"),
        ("n=1 c_in=3 c_out=2 size=4 kernel=2 groups=2", "groups=2 must divide c_in=3 and c_out=2"),
        ("n=1 c_in=1 c_out=1 size=4 kernel=2x2", "layer spec key kernel must have one entry or 1"),
        ("n=1 c_in=1 c_out=1 size=4x4x4x4 kernel=2", "size must have 1 to 3 axes"),
        ("n=1 c_in=1 c_out=1 size=4 kernel=2 stride=0", "stride must be positive"),
        ("n=1 c_in=1 c_out=1 size=4 kernel=2 stride=2 output_padding=3", "output_padding must be smaller"),
        ("n=1 c_in=2 c_out=2 size=100000x100000 kernel=3", "its input has 20000000000 elements, more than"),
        ("n=1 c_in=1 c_out=1 size=4 kernel=2 dilation=1000000000 stride=1000000000", "its output has"),
    ],
)
def test_a_layer_spec_is_checked_before_any_array_exists(spec, message):
    """A bad spec ended in int()'s message without the key, or in a worker's MemoryError."""
    with pytest.raises(ValueError, match=message):
        layer_from_spec(spec)


def test_random_layers_are_reproducible_valid_and_of_every_kind():
    """random_layers: the same layers for the same seed, others for another, each a valid layer of the
    benchmark (its arrays within the limit) with useful FLOPs in RANDOM_FLOPS; over 200, every kind the
    docstring names appears (1-3 d, depthwise, channel multipliers, groups, dilation, stride 1)."""
    from tconv.benchmark import random_layers
    from tconv.benchmark.layers import RANDOM_FLOPS

    layers = random_layers(200, seed=3)
    assert layers == random_layers(200, seed=3)
    assert layers[:5] != random_layers(5, seed=4)
    assert [layer.name for layer in layers[:3]] == ["random-3-0", "random-3-1", "random-3-2"]
    for layer in layers:
        assert layer == layer_from_spec(layer.source, name=layer.name)  # the source is the spec
        assert RANDOM_FLOPS[0] <= layer.flops <= RANDOM_FLOPS[1]
    assert {len(layer.size) for layer in layers} == {1, 2, 3}
    depthwise = [layer for layer in layers if layer.groups > 1 and layer.groups == layer.c_in]
    assert {1, 2} <= {layer.c_out // layer.c_in for layer in depthwise}
    assert any(1 < layer.groups < layer.c_in for layer in layers)
    assert any(layer.dilation[0] == 2 for layer in layers)
    assert any(layer.stride[0] == 1 for layer in layers) and any(layer.stride[0] > 1 for layer in layers)


@pytest.mark.parametrize("count, seed", [(0, 0), (1001, 0), (2.0, 0), (True, 0), (3, -1), (3, 1.5), (3, None)])
def test_random_layers_reject_bad_counts_and_seeds(count, seed):
    from tconv.benchmark import random_layers

    with pytest.raises(ValueError, match="count|seed"):
        random_layers(count, seed)
