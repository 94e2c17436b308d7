"""tconv.design: the up-sampling design solver and the overlap profile, against their defining properties and
PyTorch (tconv design: tests/cli/test_design.py)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import assert_close

import tconv
from tconv.design import overlap_profile, upsampling_designs


@pytest.mark.parametrize("k, s, d", list(itertools.product(range(1, 6), range(1, 5), range(1, 4))))
def test_overlap_profile_is_what_pytorch_computes(k, s, d, torch):
    """Ones through a ones kernel: each interior output counts its taps; the profile is their count per phase."""
    with torch.no_grad():
        y = torch.nn.functional.conv_transpose1d(torch.ones(1, 1, 40), torch.ones(1, 1, k), stride=s, dilation=d)[0, 0]
    k_eff = d * (k - 1) + 1
    interior = range(k_eff, y.shape[0] - k_eff)
    counts = {}
    for o in interior:
        counts.setdefault(o % s, set()).add(int(y[o]))
    assert all(len(v) == 1 for v in counts.values())
    assert tuple(counts[r].pop() for r in range(s)) == overlap_profile(k, s, d)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 8])
def test_factor_mode_reproduces_the_s_n_f_n_plus_2p_family(n):
    """For n-times up-sampling of every size, S = n and F = n + 2P (F = 2(k + t), P = t for n = 2k) -- exactly the
    designs without output_padding and dilation; each gives n*W for every W."""
    designs = upsampling_designs(factor=n, max_kernel=12, max_padding=4, max_dilation=2)
    plain = {(d.kernel_size, d.stride, d.padding) for d in designs if d.output_padding == 0 and d.dilation == 1}
    assert plain == {(n + 2 * p, n, p) for p in range(0, 5) if n + 2 * p <= 12}
    if n % 2 == 0:
        k = n // 2
        assert {(2 * (k + t), 2 * k, t) for t in range(0, 3)} <= plain
    for d in designs:
        for width in range(1, 25):
            assert (
                tconv.conv_transpose_output_size(
                    width, d.kernel_size, d.stride, d.padding, d.output_padding, d.dilation
                )
                == n * width
            )
    best = designs[0]
    assert not best.holes and not best.checkerboard and best.output_padding == 0


def test_size_mode_finds_every_design_pytorch_accepts(torch):
    """Completeness: every (k, s, p, op, d) within the limits for which PyTorch outputs 10 from 5."""
    limits = dict(max_kernel=5, max_stride=3, max_padding=3, max_dilation=2)
    found = {
        (d.kernel_size, d.stride, d.padding, d.output_padding, d.dilation) for d in upsampling_designs(5, 10, **limits)
    }
    expected = set()
    x = torch.zeros(1, 1, 5)
    for k, s, p, d in itertools.product(range(1, 6), range(1, 4), range(0, 4), range(1, 3)):
        if d > 1 and k == 1:
            continue
        for a in range(max(s, d)):
            try:
                y = torch.nn.functional.conv_transpose1d(
                    x, torch.zeros(1, 1, k), stride=s, padding=p, output_padding=a, dilation=d
                )
            except RuntimeError:
                continue
            if y.shape[-1] == 10:
                expected.add((k, s, p, a, d))
    assert found == expected


def test_ranking_puts_problems_last():
    designs = upsampling_designs(16, 32, max_kernel=6, max_dilation=2)
    flags = [(d.holes, d.checkerboard) for d in designs]
    assert flags == sorted(flags)
    assert designs[0].every_size and designs[0].stride == 2
    holes = [d for d in designs if d.holes]
    assert holes and all(0 in d.taps_per_phase for d in holes)


def test_design_errors():
    with pytest.raises(ValueError, match="give factor, or both input_size and output_size"):
        upsampling_designs(8)
    with pytest.raises(ValueError, match="is not factor\\*input_size"):
        upsampling_designs(8, 17, factor=2)
    with pytest.raises(ValueError, match="max_kernel must be a positive integer, got 0"):
        upsampling_designs(factor=2, max_kernel=0)


def test_resize_check_with_real_arrays(torch):
    """The 2x designs for 256 -> 512 run in PyTorch and give 512."""
    for design in upsampling_designs(factor=2, max_kernel=4)[:2]:
        with torch.no_grad():
            y = torch.nn.functional.conv_transpose2d(
                torch.zeros(1, 1, 256, 256),
                torch.zeros(1, 1, design.kernel_size, design.kernel_size),
                **design.conv_transpose_arguments(),
            )
        assert tuple(y.shape[2:]) == (512, 512)
    assert_close(np.array(upsampling_designs(factor=2, max_kernel=4)[1].taps_per_phase), np.array([2, 2]))


def test_overlap_profile_checks_its_arguments():
    with pytest.raises(ValueError, match="stride must be a positive integer, got 0"):
        overlap_profile(3, 0)
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        overlap_profile(2.5, 2)


def _by_definition(i, o, factor, max_kernel, max_stride, max_padding, max_dilation, output_padding):
    """Every design, by the definition of the output size, searching every padding (the oracle)."""
    found = set()
    strides = [factor] if factor else range(1, max_stride + 1)
    for s, d, k in itertools.product(strides, range(1, max_dilation + 1), range(1, max_kernel + 1)):
        if d > 1 and k == 1:
            continue
        for a, p in itertools.product(range(max(s, d) if output_padding else 1), range(max_padding + 1)):
            if factor and d * (k - 1) + 1 + a - 2 * p != factor:
                continue
            size = None if i is None else (i - 1) * s + d * (k - 1) + 1 - 2 * p + a
            if (o is not None and size != o) or (size is not None and size < 1):
                continue
            found.add((k, s, p, a, d))
    return found


@pytest.mark.parametrize("case", range(300))
def test_the_solved_padding_finds_what_the_search_finds(case):
    """The padding is solved and the strides narrowed to those that can reach the output: nothing is lost."""
    rng = np.random.default_rng(case)
    limits = dict(
        max_kernel=int(rng.integers(1, 8)),
        max_padding=int(rng.integers(0, 8)),
        max_dilation=int(rng.integers(1, 4)),
        output_padding=bool(rng.integers(0, 2)),
    )
    if case % 2:
        i, factor = (int(rng.integers(1, 7)) if case % 3 else None), int(rng.integers(1, 6))
        o = None if i is None else factor * i
        found = upsampling_designs(i, factor=factor, **limits)
    else:
        i, o, factor = int(rng.integers(1, 9)), int(rng.integers(1, 50)), None
        limits["max_stride"] = int(rng.integers(1, 12))
        found = upsampling_designs(i, o, **limits)
        if limits["max_stride"] == -(-o // i) + 1:  # the default gives the same search
            assert found == upsampling_designs(i, o, **{**limits, "max_stride": None})
    expected = _by_definition(
        i,
        o,
        factor,
        limits["max_kernel"],
        limits.get("max_stride", 0),
        limits["max_padding"],
        limits["max_dilation"],
        limits["output_padding"],
    )
    assert {(d.kernel_size, d.stride, d.padding, d.output_padding, d.dilation) for d in found} == expected


def test_large_limits_are_searched_without_a_loop_over_the_padding():
    """design --factor 2 --max-kernel 100000 took minutes (kernel x padding x the taps of every kernel)."""
    from helpers import no_hang

    with no_hang():
        designs = upsampling_designs(factor=2, max_kernel=100_000)
    assert len(designs) == 100_000  # one padding per kernel size and output_padding that fits
    assert (designs[0].kernel_size, designs[0].padding) == (2, 0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(input_size=10, output_size=10**9), r"the search is too large: 2 strides up to 100000001 \(max_stride"),
        (dict(factor=10**9), r"stride factor=1000000000, .* output paddings up to 999999999"),
        (dict(factor=10**9, output_padding=False), "more than 10000000; lower the limits$"),
        (dict(input_size=10, output_size=10**9, max_stride=10**8), "strides up to max_stride=100000000"),
    ],
)
def test_a_search_too_large_is_refused_before_it_starts(kwargs, message):
    from helpers import no_hang

    with no_hang(), pytest.raises(ValueError, match=message):
        upsampling_designs(**kwargs)


def test_a_huge_size_with_few_reachable_strides_is_searched():
    """Without output_padding only strides near output/(input - 1) reach the output: a small search."""
    designs = upsampling_designs(10, 10**6, max_stride=10**6, output_padding=False)
    found = {(d.kernel_size, d.stride, d.padding, d.output_padding, d.dilation) for d in designs}
    expected = {
        (k, s, p, 0, 1)
        for s in range(10**6 // 9 - 50, 10**6 // 9 + 50)
        for k in range(1, 9)
        for p in range(9)
        if 9 * s + k - 2 * p == 10**6
    }
    assert found == expected and {s for _, s, *_ in found} == {111111, 111112}
