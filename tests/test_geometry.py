"""tconv.geometry: the window model and the index arithmetic, checked by brute force and by definition.

The index map: input ``j`` and tap ``t`` meet at output ``o = s*j + d*t - b``
(``b`` = ``crop_begin``). The brute-force oracles enumerate those triples
(``tests/index_map.py``); nothing here retypes a closed form.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from index_map import CONV, TRANSPOSE, conv_reads, ranges, transpose_reach

import tconv
from tconv.geometry import (
    conv_geometry,
    conv_input_range,
    conv_transpose_geometry,
    conv_transpose_input_range,
    effective_kernel_size,
    parse_padding,
    phase_tap_counts,
    phase_taps,
    tap_range,
    taps_per_phase,
)


@pytest.mark.parametrize("k, d", itertools.product(range(1, 7), range(1, 5)))
def test_effective_kernel_size_is_the_span_of_the_taps(k, d):
    positions = [d * t for t in range(k)]
    assert effective_kernel_size(k, d) == max(positions) - min(positions) + 1


@pytest.mark.parametrize("stride", range(1, 5))
def test_tap_range_is_every_element_that_lands_in_the_range(stride):
    for shift, count, start, stop in itertools.product(range(-9, 10), range(0, 7), range(-3, 12), range(-3, 14)):
        landing = [j for j in range(count) if start <= stride * j + shift < stop]
        first, last = tap_range(shift, stride, count, start, stop)
        if landing:
            assert (first, last) == (landing[0], landing[-1] + 1), (shift, stride, count, start, stop)
        else:
            assert first >= last, (shift, stride, count, start, stop)


@pytest.mark.parametrize("k, s, d", itertools.product(range(1, 8), range(1, 6), range(1, 5)))
def test_phase_taps_are_the_taps_landing_on_the_phase(k, s, d):
    """Far from the borders, the outputs f with f mod s == r receive exactly phase_taps(k, s, d, r)."""
    i = 4 * k * d + 4 * s  # enough inputs for an interior
    for r in range(s):
        f = s * (2 * k * d + 1) + r  # an interior output of phase r
        taps = tuple(sorted(t for t in range(k) for j in range(i) if s * j + d * t == f))
        assert phase_taps(k, s, d, r) == taps
    assert taps_per_phase(k, s, d) == tuple(len(phase_taps(k, s, d, r)) for r in range(s))
    assert sum(taps_per_phase(k, s, d)) == k
    if math.gcd(s, d) == 1 and k >= s:  # no holes: every phase is reached
        assert 0 not in taps_per_phase(k, s, d)


@pytest.mark.parametrize("i, k, s", itertools.product(range(1, 6), range(1, 8), range(1, 4)))
def test_same_is_input_times_stride_and_inverts_same_convolution(i, k, s):
    g = conv_transpose_geometry(i, k, s, "same")
    assert g.output_size == (i * s,)
    total = (i - 1) * s + k - i * s
    assert g.crop_begin == (max(total, 0) // 2,)  # TensorFlow: the smaller half first
    for o in tconv.conv_transpose_output_size_range(i, k, s, "same"):
        assert tconv.conv_output_size(o, k, s, "same") == i
        forward = conv_geometry(o, k, s, "same")
        backward = conv_transpose_geometry(i, k, s, "same", output_size=o)
        assert forward == backward  # one window for a "same" convolution and its transpose


def test_geometry_window_definition():
    g = conv_transpose_geometry((4, 3), (3, 2), stride=(2, 3), padding=((1, -2), 0), output_padding=(1, 2))
    assert g.full_size == (9, 8)
    assert g.crop_begin == (1, 0)
    assert g.output_size == (9 - 1 + 2 + 1, 8 + 2)
    assert g.crop_end == (-2 - 1, -2)
    assert g.padding_pairs == ((1, -3), (0, -2))


def test_padding_pairs_reproduce_the_call():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 3, 4)), rng.standard_normal((2, 2, 3, 3))
    for kwargs in (dict(padding="same"), dict(padding=1, output_padding=1), dict(padding=((2, 0), (0, -1)))):
        g = conv_transpose_geometry((3, 4), (3, 3), 2, **kwargs)
        np.testing.assert_array_equal(
            tconv.conv_transpose(x, w, stride=2, **kwargs),
            tconv.conv_transpose(x, w, stride=2, padding=g.padding_pairs),
        )


def test_parse_padding_forms():
    assert parse_padding(0, 1) == ((0, 0),)
    assert parse_padding([2, 1], 2) == ((2, 2), (1, 1))
    assert parse_padding(((-1, 2),), 1) == ((-1, 2),)
    assert parse_padding("valid", 2) == "valid"
    assert parse_padding(np.int64(1), 2) == ((1, 1), (1, 1))


def test_tables_are_large():
    assert len(TRANSPOSE) > 1000 and len(CONV) > 1000


@pytest.mark.parametrize("chunk", range(8))
def test_transpose_input_range_is_exact(chunk):
    """The returned range is the smallest one holding every input that reaches the outputs."""
    for g in TRANSPOSE[chunk::8]:
        for lo, hi in ranges(g.output_size[0]):
            reach = transpose_reach(g, lo, hi)
            expected = (min(reach), max(reach) + 1) if reach else None
            assert conv_transpose_input_range(g, 0, lo, hi) == expected, (g, lo, hi)


@pytest.mark.parametrize("chunk", range(8))
def test_conv_input_range_is_exact(chunk):
    for g in CONV[chunk::8]:
        for lo, hi in ranges(g.input_size[0]):
            reads = conv_reads(g, lo, hi)
            expected = (min(reads), max(reads) + 1) if reads else None
            assert conv_input_range(g, 0, lo, hi) == expected, (g, lo, hi)


def test_input_range_arguments_are_named():
    g = conv_transpose_geometry(10, 3)
    with pytest.raises(ValueError, match=r"axis must be in \[0, 1\).*got 1"):
        conv_transpose_input_range(g, 1, 0, 3)
    with pytest.raises(ValueError, match="need 0 <= start < stop <= 12.*start=3, stop=3"):
        conv_transpose_input_range(g, 0, 3, 3)


@pytest.mark.parametrize("k, s, d", itertools.product(range(1, 12), range(1, 9), range(1, 7)))
def test_phase_tap_counts_summarize_taps_per_phase(k, s, d):
    counts = {}
    for taps in taps_per_phase(k, s, d):
        counts[taps] = counts.get(taps, 0) + 1
    assert phase_tap_counts(k, s, d) == counts


def test_phase_tap_counts_and_taps_per_phase_do_not_loop_over_the_kernel():
    """Work in the stride (the listing's length), never in the kernel size; the summary in neither."""
    assert phase_tap_counts(3, 10**18, 2) == {1: 3, 0: 10**18 - 3}
    assert phase_tap_counts(10**18, 4, 2) == {10**18 // 2: 2, 0: 2}
    assert taps_per_phase(10**18 + 1, 2) == (10**18 // 2 + 1, 10**18 // 2)


def test_taps_per_phase_refuses_a_listing_longer_than_its_limit():
    """One count per unit of stride: a stride of 10**18 was a 10**18-entry list (killed by the OOM killer)."""
    from helpers import no_hang

    from tconv import design, geometry

    with no_hang(), pytest.raises(ValueError, match=r"at most 1000000 phases, got stride 1000000000000000000.*"):
        taps_per_phase(3, 10**18)
    with no_hang(), pytest.raises(ValueError, match="phase_tap_counts counts them in constant size"):
        design.overlap_profile(3, geometry.MAX_LISTED + 1)
    assert len(taps_per_phase(1, geometry.MAX_LISTED)) == geometry.MAX_LISTED  # the limit itself is listed


def test_phase_taps_in_closed_form_are_the_searched_ones():
    """The modular-inverse solution against the definition: tap t reaches phase (dilation*t) mod stride."""
    for k, s, d in itertools.product(range(1, 13), range(1, 13), range(1, 13)):
        for phase in range(-s, 2 * s):
            searched = tuple(t for t in range(k) if (d * t - phase) % s == 0)
            assert phase_taps(k, s, d, phase) == searched, (k, s, d, phase)


def test_phase_taps_answer_huge_sizes_without_looping():
    from helpers import no_hang

    from tconv import geometry

    with no_hang():
        assert phase_taps(5, 10**18, 10**18 - 1, 10**18 - 3) == (
            3,
        )  # dilation = -1 (mod stride): tap t reaches phase -t
        assert phase_taps(4, 10**18 + 1, 2, 1) == ()  # the first tap of phase 1 is (10**18 + 2)/2, beyond the kernel
        with pytest.raises(ValueError, match="phase_taps lists the taps of a phase, at most 1000000"):
            phase_taps(10**18, 1, 1, 0)
    assert len(phase_taps(geometry.MAX_LISTED, 1, 1, 0)) == geometry.MAX_LISTED


@pytest.mark.parametrize(
    "field, value",
    [
        ("stride", (0, 0)),
        ("kernel_size", (3,)),
        ("input_size", (-1, 4)),
        ("dilation", (True, 1)),
        ("crop_begin", (1.5, 1)),
        ("output_size", [7, 7]),
    ],
)
def test_a_geometry_changed_by_hand_is_checked_before_use(field, value):
    """A Geometry made by dataclasses.replace skips the constructors' checks: the functions taking one check
    its fields and name the bad one (a stride of 0 divided by zero inside conv_transpose_input_range)."""
    import dataclasses

    g = tconv.geometry.conv_transpose_geometry((4, 4), 3, stride=2, padding=1)
    bad = dataclasses.replace(g, **{field: value})
    with pytest.raises(ValueError, match=f"geometry.{field} must be"):
        tconv.geometry.conv_transpose_input_range(bad, 0, 0, 1)
    with pytest.raises(ValueError, match=f"geometry.{field} must be"):
        tconv.geometry.check_geometry(bad)
    assert tconv.geometry.check_geometry(g) is g
