"""tconv.artifacts against brute-force counts and the operator's real outputs (the command: tests/cli)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from helpers import assert_close, torch_conv_transpose
from hypothesis import given
from hypothesis import strategies as st

import tconv
from tconv import artifacts

# (kernel_size, stride, padding, output_padding, dilation, input_size)
CONFIGS = [
    ((3,), (2,), 0, 0, 1, (5,)),
    ((4,), (2,), 1, 0, 1, (6,)),
    ((4,), (3,), 0, 2, 1, (4,)),
    ((3,), (2,), 0, 0, 2, (4,)),
    ((4,), (4,), 1, 1, 2, (4,)),
    ((5,), (3,), 2, 1, 2, (5,)),
    ((2,), (3,), 0, 0, 1, (4,)),  # stride > kernel: zeros between stamps
    ((3,), (1,), 0, 2, 3, (4,)),  # output_padding >= stride (< dilation): trailing zeros
    ((3,), (2,), ((-2, 3),), 0, 1, (4,)),  # negative begin crop: leading zeros
    ((3, 3), (2, 2), 1, 1, 1, (4, 4)),
    ((3, 4), (2, 3), ((0, 1), 2), (1, 0), (1, 2), (3, 4)),
    ((3, 3), (2, 2), "same", 0, 1, (3, 4)),
    ((3, 2), (2, 2), "valid", 0, (2, 1), (3, 3)),
    ((3, 2, 2), (2, 1, 2), 1, 0, (1, 2, 1), (3, 2, 3)),
]
IDS = [f"k{c[0]}-s{c[1]}-p{c[2]}-op{c[3]}-d{c[4]}" for c in CONFIGS]


def brute_force_counts(kernel_size, stride, padding, output_padding, dilation, input_size):
    """Count every (input element, tap) pair at its N-d output position, one pair at a time."""
    g = tconv.geometry.conv_transpose_geometry(input_size, kernel_size, stride, padding, output_padding, dilation)
    counts = np.zeros(g.output_size, dtype=int)
    for j in itertools.product(*(range(i) for i in g.input_size)):
        for t in itertools.product(*(range(k) for k in g.kernel_size)):
            o = tuple(s * jj + d * tt - b for s, jj, d, tt, b in zip(g.stride, j, g.dilation, t, g.crop_begin))
            if all(0 <= oo < n for oo, n in zip(o, g.output_size)):
                counts[o] += 1
    return g, counts


def brute_force_phase_taps(k, s, d):
    return [sum(1 for t in range(k) if (d * t) % s == r) for r in range(s)]


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_counts_match_brute_force_and_the_operator(config):
    k, s, p, op, d, i = config
    g, expected = brute_force_counts(*config)
    ov = artifacts.overlap(k, s, p, op, d, input_size=i)
    assert ov.geometry == g
    np.testing.assert_array_equal(ov.counts, expected)
    # the same map from the operator: all-ones input, all-ones kernel
    y = tconv.conv_transpose(np.ones((1, 1, *i)), np.ones((1, 1, *k)), None, s, p, op, 1, d)
    np.testing.assert_array_equal(y[0, 0], expected)
    # holes are exactly the zero counts
    np.testing.assert_array_equal(ov.holes, expected == 0)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_interior_receives_its_phase_count(config):
    """On a large input, the positions marked interior hold the phase count; the others fewer."""
    k, s, p, op, d, _ = config
    big = tuple(max(3, 3 * (dd * (kk - 1) + 1)) for kk, dd in zip(k, np.broadcast_to(d, (len(k),))))
    g, counts = brute_force_counts(k, s, p, op, d, big)
    ov = artifacts.overlap(k, s, p, op, d, input_size=big)
    taps = [brute_force_phase_taps(kk, ss, dd) for kk, ss, dd in zip(g.kernel_size, g.stride, g.dilation)]
    assert [list(t) for t in ov.phase_taps] == taps
    # the expected full count of every position, from its phase in the full output
    full = np.ones(g.output_size, dtype=int)
    for axis in range(g.ndim):
        idx = (np.arange(g.output_size[axis]) + g.crop_begin[axis]) % g.stride[axis]
        shape = [1] * g.ndim
        shape[axis] = -1
        full = full * np.asarray(taps[axis])[idx].reshape(shape)
    np.testing.assert_array_equal(ov.interior_counts(), full)
    assert (counts <= full).all()
    np.testing.assert_array_equal(ov.interior, counts == full)
    assert ov.interior.any()
    # the phase counts are the product of the axes' counts
    for r in itertools.product(*(range(ss) for ss in g.stride)):
        assert ov.phase_counts[r] == math.prod(taps[a][r[a]] for a in range(g.ndim))


def test_overlap_of_common_layers():
    """Taps per phase and verdicts of common layers, recomputed by brute force."""
    table = [
        (3, 2, 1, "checkerboard"),
        (4, 2, 1, "even"),
        (4, 3, 1, "checkerboard"),
        (3, 2, 2, "holes"),
        (4, 4, 2, "holes"),
        (5, 3, 2, "checkerboard"),
    ]
    for k, s, d, verdict in table:
        assert list(artifacts.phase_taps(k, s, d)) == brute_force_phase_taps(k, s, d)
        assert artifacts.overlap(k, s, dilation=d).verdict == verdict
    assert artifacts.phase_taps(3, 2, 2) == (3, 0)
    assert artifacts.overlap((3, 3), 2).uniformity == 0.25  # Distill: the axes multiply


@given(k=st.integers(1, 9), s=st.integers(1, 6), d=st.integers(1, 5))
def test_even_iff_stride_divides_kernel_and_is_coprime_to_dilation(k, s, d):
    taps = brute_force_phase_taps(k, s, d)
    ov = artifacts.overlap(k, s, dilation=d, input_size=2)
    if s == 1:
        assert ov.verdict == "even"
    elif math.gcd(d, s) > 1:
        assert ov.verdict == "holes" and min(taps) == 0
    else:
        assert (ov.verdict == "even") == (k % s == 0)
        assert (ov.verdict == "holes") == (k < s)
    assert ov.uniformity == min(taps) / max(taps)


# --- weights --------------------------------------------------------------------------------

WEIGHT_CONFIGS = [
    # (C_in, C_out, groups, kernel, stride, padding, output_padding, dilation)
    (1, 1, 1, (3,), 2, 0, 0, 1),
    (2, 3, 1, (5,), 3, 1, 2, 2),
    (4, 6, 2, (3, 3), 2, 1, 1, 1),
    (3, 3, 3, (4, 3), (2, 3), 1, (0, 2), (1, 1)),
    (2, 2, 1, (3, 3), 2, 0, 0, 2),  # holes
    (2, 4, 2, (3, 2, 2), (2, 1, 2), 0, 0, 1),
]


def _brute_force_gains(w, stride, dilation):
    nd = w.ndim - 2
    s = np.broadcast_to(stride, (nd,))
    d = np.broadcast_to(dilation, (nd,))
    gains = np.zeros((*w.shape[:2], *s))
    for ci, co in itertools.product(range(w.shape[0]), range(w.shape[1])):
        for t in itertools.product(*(range(k) for k in w.shape[2:])):
            r = tuple(int(dd * tt % ss) for dd, tt, ss in zip(d, t, s))
            gains[(ci, co, *r)] += w[(ci, co, *t)]
    return gains


@pytest.mark.parametrize("config", WEIGHT_CONFIGS)
def test_phase_gains_and_constant_response_match_the_operator(config):
    c_in, c_out, groups, k, s, p, op, d = config
    rng = np.random.default_rng(7)
    w = rng.standard_normal((c_in, c_out // groups, *k))
    assert_close(artifacts.phase_gains(w, s, d), _brute_force_gains(w, s, d))
    a = artifacts.analyze_weights(w, s, p, op, d, groups=groups)
    g = a.overlap.geometry
    # run the operator (and PyTorch) on a constant input of 3.0 and read the interior, phase by phase
    x = np.full((1, c_in, *g.input_size), 3.0)
    y = tconv.conv_transpose(x, w, None, s, p, op, groups, d)[0]
    if g.ndim <= 3 and not isinstance(p, str):
        assert_close(y, torch_conv_transpose(x, w, None, s, p, op, groups, d)[0])
    seen = {}
    for o in zip(*np.nonzero(a.overlap.interior)):
        r = a.overlap.phase_of(o)
        assert_close(y[(slice(None), *o)], 3.0 * a.response[(slice(None), *r)])
        seen.setdefault(r, y[(slice(None), *o)])
    assert len(seen) == math.prod(g.stride)  # every phase was observed in the interior
    observed = np.stack([seen[r] for r in sorted(seen)], axis=1)  # (C_out, prod(s))
    assert_close(3.0 * a.amplitude, observed.max(axis=1) - observed.min(axis=1))
    assert a.check() < 1e-9


def test_even_counts_are_not_flat_weights():
    """Random k=4, s=2 weights still give a checkerboard; the counts alone do not promise a flat output."""
    w = np.random.default_rng(0).standard_normal((1, 1, 4, 4))
    assert artifacts.overlap((4, 4), 2).verdict == "even"
    assert artifacts.checkerboard_amplitude(w, 2)[0] > 0.1


def _bilinear(k, s):
    """Caffe's bilinear filler (independent of tconv): 1 - |x/f - c| per axis."""
    f = math.ceil(k / 2)
    c = (2 * f - 1 - f % 2) / (2 * f)
    return np.array([1 - abs(x / f - c) for x in range(k)])


@pytest.mark.parametrize("s", [2, 3, 4])
def test_bilinear_and_icnr_kernels_have_flat_response(s):
    k = 2 * s - s % 2
    w1 = _bilinear(k, s)
    w = np.multiply.outer(w1, w1)[None, None]  # (1, 1, k, k)
    assert artifacts.checkerboard_amplitude(w, s)[0] < 1e-12
    x = np.ones((1, 1, 6, 6))
    y = tconv.conv_transpose(x, w, stride=s)[0, 0]
    inner = y[k:-k, k:-k]
    assert_close(inner, np.full_like(inner, inner[0, 0]))
    # ICNR for a transposed kernel: one random sub-kernel, nearest-neighbour repeated s times per axis
    sub = np.random.default_rng(s).standard_normal((2, 3, 2, 2))
    icnr = np.repeat(np.repeat(sub, s, axis=2), s, axis=3)  # (2, 3, 2s, 2s)
    assert artifacts.checkerboard_amplitude(icnr, s).max() < 1e-12
    assert artifacts.checkerboard_amplitude(sub, s).max() > 1e-3


# --- nearby even configurations -------------------------------------------------------------


@pytest.mark.parametrize(
    "k, s, p, op, d", [(3, 2, 1, 1, 1), (3, 2, 0, 0, 2), (5, 3, 1, 0, 1), (7, 4, 2, 3, 1), (5, 3, 2, 1, 2)]
)
def test_even_alternatives_are_even_and_keep_the_output_size(k, s, p, op, d):
    alts = artifacts.even_alternatives(k, s, p, op, d)
    assert alts
    for alt in alts:
        taps = brute_force_phase_taps(alt["kernel_size"], s, alt["dilation"])
        assert len(set(taps)) == 1
        for i in (1, 4, 9):
            assert tconv.conv_transpose_output_size(
                i, alt["kernel_size"], s, alt["padding"], alt["output_padding"], alt["dilation"]
            ) == tconv.conv_transpose_output_size(i, k, s, p, op, d)


def test_errors_name_the_parameter():
    with pytest.raises(ValueError, match="stride must be positive in every axis, got 0"):
        artifacts.overlap(3, 0)
    with pytest.raises(ValueError, match="groups must be a positive divisor of weight.shape"):
        artifacts.analyze_weights(np.ones((3, 1, 3)), 2, groups=2)
    with pytest.raises(ValueError, match=r"weight must have at least 3 dimensions .* got shape \(3, 3\)"):
        artifacts.phase_gains(np.ones((3, 3)), 2)
    with pytest.raises(TypeError, match="weight must be a numeric array"):
        artifacts.constant_response(np.array([[["a"]]]), 2)
    with pytest.raises(ValueError, match="output_padding must be smaller than stride or dilation"):
        artifacts.overlap(3, 2, output_padding=2)


def test_analyze_is_overlap_or_analyze_weights():
    a = artifacts.analyze((3, 3), 2, 1, 1, input_size=4)
    expected_overlap = artifacts.overlap((3, 3), 2, 1, 1, input_size=4)
    assert a.weights is None and a.overlap.geometry == expected_overlap.geometry
    np.testing.assert_array_equal(a.overlap.counts, expected_overlap.counts)
    assert (a.padding, a.output_padding) == (1, 1)
    w = np.random.default_rng(2).standard_normal((2, 2, 4))
    a = artifacts.analyze(None, 2, 1, groups=2, weight=w)
    expected = artifacts.analyze_weights(w, 2, 1, groups=2)
    assert a.overlap.geometry == expected.overlap.geometry and a.weights.groups == 2
    assert_close(a.weights.amplitude, expected.amplitude)
    with pytest.raises(ValueError, match="give kernel_size, or weight"):
        artifacts.analyze(None, 2)


def test_analyze_refuses_a_kernel_size_other_than_the_weights():
    """analyze(4, 2, weight=<3x3>) analysed the 3x3 weight and dropped kernel_size=4 silently."""
    w = np.ones((1, 1, 3, 3))
    for kernel_size in (4, (3, 4), (3, 3, 3)):
        with pytest.raises(ValueError, match=r"kernel_size=.* differs from the kernel size \(3, 3\) .*\(1, 1, 3, 3\)"):
            artifacts.analyze(kernel_size, 2, weight=w)
    expected = artifacts.analyze(None, 2, weight=w)
    for kernel_size in (3, (3, 3), [3, 3]):  # the weight's kernel size, as one int or per axis: as if omitted
        a = artifacts.analyze(kernel_size, 2, weight=w)
        assert a.overlap.geometry == expected.overlap.geometry
        assert_close(a.weights.amplitude, expected.weights.amplitude)


def test_constant_response_value_beyond_float_is_a_value_error():
    """value=10**400 raised OverflowError from float()."""
    with pytest.raises(ValueError, match="value must be finite, got an int of 401 digits"):
        artifacts.constant_response(np.ones((1, 1, 3, 3)), 2, value=10**400)
    with pytest.raises(TypeError, match="value must be a real number"):
        artifacts.constant_response(np.ones((1, 1, 3, 3)), 2, value="1")
    assert_close(artifacts.constant_response(np.ones((1, 1, 3)), 2, value=10**300), np.array([[2e300, 1e300]]))


def test_phase_gains_work_is_the_weights_not_a_pass_per_phase():
    """phase_gains at stride (1000, 1000) ran one fancy-indexing pass per phase (~20 s): now one pass over
    the taps; the million-phase table of a 3x3 kernel holds its 9 taps in 9 phases, the rest zero."""
    gains = artifacts.phase_gains(np.arange(1.0, 10.0).reshape(1, 1, 3, 3), (1000, 1000), (7, 300))
    assert gains.shape == (1, 1, 1000, 1000)
    assert np.count_nonzero(gains) == 9 and gains.sum() == 45
    assert gains[0, 0, 14, 600] == 9  # tap (2, 2): phase (7*2 mod 1000, 300*2 mod 1000)


def _even_alternatives_by_search(k, s, p, op, d, limit):
    """The search even_alternatives replaced: every kernel size near k, every output_padding, first fit."""
    target = d * (k - 1) + 1 + op - 2 * p
    found = []
    for dd in [1] + ([d] if d != 1 and math.gcd(d, s) == 1 else []):
        for kk in range(1, k + 2 * s + 1):
            if (kk, dd) == (k, d) or len(set(brute_force_phase_taps(kk, s, dd))) != 1:
                continue
            for oo in range(max(s, dd)):
                twice_p = dd * (kk - 1) + 1 + oo - target
                if twice_p >= 0 and twice_p % 2 == 0:
                    found.append(((abs(kk - k), dd != d, oo), (kk, twice_p // 2, oo, dd)))
                    break
    return [alt for _, alt in sorted(found, key=lambda item: item[0])[:limit]]


@pytest.mark.parametrize("k, s", itertools.product(range(1, 14), range(1, 6)))
def test_even_alternatives_in_closed_form_are_the_searched_ones(k, s):
    for p, op, d, limit in itertools.product(range(4), range(3), range(1, 4), (1, 3, 50)):
        alts = artifacts.even_alternatives(k, s, p, op, d, limit=limit)
        got = [(a["kernel_size"], a["padding"], a["output_padding"], a["dilation"]) for a in alts]
        assert got == _even_alternatives_by_search(k, s, p, op, d, limit)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: artifacts.overlap(3, 10**6),
            r"the overlap map \(output size 3000003 for input_size 4, kernel_size 3, stride 1000000.*\) has 3000003",
        ),
        (lambda: artifacts.overlap((3, 3), 3000, input_size=1), r"the phase table of stride 3000 has 9000000"),
        (lambda: artifacts.overlap(10**7, 1, input_size=1), "kernel_size 10000000 has 10000000 entries"),
        (lambda: artifacts.overlap(3, 1, input_size=10**8), "has 100000002 entries"),
        (lambda: artifacts.phase_gains(np.ones((1, 1, 3, 3)), 2000), "the phase gains of stride 2000 has 4000000"),
    ],
)
def test_an_analysis_too_large_is_refused_before_allocating(call, message):
    from helpers import no_hang

    with no_hang(), pytest.raises(ValueError, match=message + r".*the analysis handles at most 1000000"):
        call()


def test_a_huge_stride_is_analysed_and_reported_in_bounded_text():
    from helpers import no_hang

    from tconv.explain.artifacts_text import report

    with no_hang():
        analysis = artifacts.analyze(3, 10**6, input_size=1)
        text = report(analysis)
    assert analysis.overlap.phase_counts.shape == (10**6,)
    assert "... (999936 more)]" in text and len(text) < 10_000
