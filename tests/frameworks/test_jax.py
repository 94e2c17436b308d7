"""tconv.compat.jax against jax.lax: conv_transpose in every padding form, conv_general_dilated, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import assert_close

from tconv.frameworks import jax as compat

SPATIAL = "HWDXYZ"


def _specs(nd: int, rng: np.random.Generator) -> tuple[str, str, str]:
    """Random dimension numbers: the batch/feature/spatial characters in random orders."""
    spatial = SPATIAL[:nd]
    lhs = "".join(rng.permutation(list("NC" + spatial)))
    rhs = "".join(rng.permutation(list("OI" + spatial)))
    out = "".join(rng.permutation(list("NC" + spatial)))
    return lhs, rhs, out


def _shape(spec: str, sizes: dict) -> tuple[int, ...]:
    return tuple(sizes[c] for c in spec)


def _conv_transpose_configs(count: int, seed: int = 2):
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(count):
        nd = int(rng.choice([0, 1, 1, 2, 2, 3]))
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd))
        kind = str(rng.choice(["SAME", "VALID", "pairs", "pairs", "consistent"]))
        if kind == "pairs":
            padding = [tuple(int(v) for v in rng.integers(-1, 4, 2)) for _ in range(nd)]
        elif kind == "consistent":
            padding = tuple(tuple(int(v) for v in rng.integers(-1, 3, 2)) for _ in range(nd))
        else:
            padding = kind
        specs = None if (nd in (1, 2, 3) and rng.integers(0, 2)) else _specs(nd, rng)
        configs.append(
            dict(
                nd=nd,
                k=k,
                s=s,
                d=d,
                padding=padding,
                consistent=kind == "consistent",
                transpose_kernel=bool(rng.integers(0, 2)),
                specs=specs,
                size=tuple(int(v) for v in rng.integers(1, 5, nd)),
                c_in=int(rng.integers(1, 4)),
                c_out=int(rng.integers(1, 4)),
                n=int(rng.integers(1, 3)),
            )
        )
    return configs


CONV_TRANSPOSE = _conv_transpose_configs(60)


def _name(c):
    pad = c["padding"] if isinstance(c["padding"], str) else ("consistent" if c["consistent"] else "pairs")
    return f"{c['nd']}d-k{c['k']}s{c['s']}d{c['d']}-{pad}-tk{int(c['transpose_kernel'])}-{c['specs']}"


@pytest.mark.parametrize("cfg", CONV_TRANSPOSE, ids=_name)
def test_conv_transpose_matches_jax(cfg, lax):
    nd = cfg["nd"]
    specs = cfg["specs"] or compat.default_dimension_numbers(nd + 2)
    lhs_spec, rhs_spec, _ = specs
    sizes = dict(zip(SPATIAL, cfg["size"]), N=cfg["n"], C=cfg["c_in"])
    # the kernel's I/O as seen by the correlation: transpose_kernel swaps them
    c_i, c_o = (cfg["c_out"], cfg["c_in"]) if cfg["transpose_kernel"] else (cfg["c_in"], cfg["c_out"])
    kernel_sizes = dict(zip(SPATIAL, cfg["k"]), I=c_i, O=c_o)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(_shape(lhs_spec, sizes))
    w = rng.standard_normal(_shape(rhs_spec, kernel_sizes))
    kwargs = dict(
        rhs_dilation=cfg["d"],
        dimension_numbers=cfg["specs"],
        transpose_kernel=cfg["transpose_kernel"],
        use_consistent_padding=cfg["consistent"],
    )
    try:
        expected = np.asarray(lax.conv_transpose(x, w, cfg["s"], cfg["padding"], **kwargs))
    except ValueError as error:
        with pytest.raises(ValueError, match=str(error).split(":")[0]):
            compat.conv_transpose(x, w, cfg["s"], cfg["padding"], **kwargs)
        return
    assert_close(compat.conv_transpose(x, w, cfg["s"], cfg["padding"], **kwargs), expected, dtype=np.float64)


def _general_configs(count: int, seed: int = 4):
    rng = np.random.default_rng(seed)
    configs = []
    for _ in range(count):
        nd = int(rng.choice([1, 1, 2, 2, 3]))
        fgc = int(rng.choice([1, 1, 2, 3]))
        bgc = 1 if fgc > 1 else int(rng.choice([1, 1, 2]))
        transposed = bool(rng.integers(0, 3))
        ld = tuple(int(v) for v in rng.integers(1, 4, nd)) if transposed else None
        if transposed or rng.integers(0, 2):
            padding = [tuple(int(v) for v in rng.integers(-1, 4, 2)) for _ in range(nd)]
        else:
            padding = str(rng.choice(["SAME", "SAME_LOWER", "VALID", "same"]))
        configs.append(
            dict(
                nd=nd,
                fgc=fgc,
                bgc=bgc,
                lhs_dilation=ld,
                padding=padding,
                ws=tuple(int(v) for v in rng.integers(1, 3, nd)),
                rd=tuple(int(v) for v in rng.integers(1, 3, nd)),
                k=tuple(int(v) for v in rng.integers(1, 4, nd)),
                size=tuple(int(v) for v in rng.integers(1, 6, nd)),
                c_in=fgc * int(rng.integers(1, 3)),
                c_out=fgc * bgc * int(rng.integers(1, 3)),
                n=bgc * int(rng.integers(1, 3)),
                specs=_specs(nd, rng) if rng.integers(0, 2) else None,
            )
        )
    return configs


GENERAL = _general_configs(50)


@pytest.mark.parametrize(
    "cfg", GENERAL, ids=lambda c: f"{c['nd']}d-ld{c['lhs_dilation']}-ws{c['ws']}-g{c['fgc']}-b{c['bgc']}-{c['padding']}"
)
def test_conv_general_dilated_matches_jax(cfg, lax):
    specs = cfg["specs"] or ("NC" + SPATIAL[: cfg["nd"]], "OI" + SPATIAL[: cfg["nd"]], "NC" + SPATIAL[: cfg["nd"]])
    sizes = dict(zip(SPATIAL, cfg["size"]), N=cfg["n"], C=cfg["c_in"])
    kernel_sizes = dict(zip(SPATIAL, cfg["k"]), I=cfg["c_in"] // cfg["fgc"], O=cfg["c_out"])
    rng = np.random.default_rng(1)
    x = rng.standard_normal(_shape(specs[0], sizes))
    w = rng.standard_normal(_shape(specs[1], kernel_sizes))
    kwargs = dict(
        lhs_dilation=cfg["lhs_dilation"],
        rhs_dilation=cfg["rd"],
        dimension_numbers=cfg["specs"],
        feature_group_count=cfg["fgc"],
        batch_group_count=cfg["bgc"],
    )
    try:
        expected = np.asarray(lax.conv_general_dilated(x, w, cfg["ws"], cfg["padding"], **kwargs))
    except ValueError as error:
        with pytest.raises(ValueError, match=str(error).split(":")[0][:60]):
            compat.conv_general_dilated(x, w, cfg["ws"], cfg["padding"], **kwargs)
        return
    assert_close(compat.conv_general_dilated(x, w, cfg["ws"], cfg["padding"], **kwargs), expected, dtype=np.float64)


@pytest.mark.parametrize(
    "padding, strides", list(itertools.product(["SAME", "same", "SAME_LOWER", "VALID", "FULL"], [(1,), (2,)]))
)
def test_string_padding_quirks_match_jax(padding, strides, lax):
    """Only upper-case SAME/VALID are conv_transpose's modes; other strings go to conv_general_dilated, which
    rejects them for strides > 1 and applies them as forward padding otherwise (lower-case "same" with an even
    kernel is then one cell away from "SAME")."""
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    w = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(4, 1, 1)
    try:
        expected = np.asarray(lax.conv_transpose(x, w, strides, padding))
    except (ValueError, RuntimeError) as error:
        with pytest.raises(ValueError, match=str(error)[:40].replace("(", r"\(").replace(")", r"\)")):
            compat.conv_transpose(x, w, strides, padding)
        return
    assert_close(compat.conv_transpose(x, w, strides, padding), expected)


def test_use_consistent_padding_is_pytorchs_padding(lax):
    """use_consistent_padding=True reads pairs as the forward convolution's padding: PyTorch's padding=p."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 5, 2))
    w = rng.standard_normal((3, 4, 2))  # with transpose_kernel=True: (k, out, in), TensorFlow's layout
    expected = np.asarray(lax.conv_transpose(x, w, (2,), ((1, 1),), transpose_kernel=True, use_consistent_padding=True))
    assert_close(
        compat.conv_transpose(x, w, (2,), ((1, 1),), transpose_kernel=True, use_consistent_padding=True), expected
    )
    assert expected.shape == (1, 9, 4)  # (5 - 1)*2 - 2*1 + 3


@pytest.mark.parametrize(
    "call, phrase",
    [
        (
            lambda f, x, w: f.conv_general_dilated(x, w, (1,), "SAME", lhs_dilation=(2,)),
            "String padding is not implemented for transposed convolution",
        ),
        (
            lambda f, x, w: f.conv_general_dilated(x, w, (1,), [(-12, 0)], lhs_dilation=(2,)),
            "Negative padding is larger than the size",
        ),
        (
            lambda f, x, w: f.conv_general_dilated(x, w, (1,), "VALID", feature_group_count=2),
            "feature_group_count must divide lhs feature dimension",
        ),
        (
            lambda f, x, w: f.conv_general_dilated(x, w, (1,), "VALID", batch_group_count=4),
            "must be a multiple of batch_group_count",
        ),
        (
            lambda f, x, w: f.conv_general_dilated(x, w[:, :2], (1,), "VALID"),
            "must equal the rhs input feature dimension size",
        ),
        (
            lambda f, x, w: f.conv_general_dilated(x, w, (1,), [(0, 0)], lhs_dilation=(0,)),
            "All dilations must be positive",
        ),
        (
            lambda f, x, w: f.conv_transpose(x, w, (2,), [(1, 1), (1, 1)], dimension_numbers=("NCH", "OIH", "NCH")),
            "Wrong number of explicit pads",
        ),
        (
            lambda f, x, w: f.conv_transpose(
                x, w, (2,), "FULL", use_consistent_padding=True, dimension_numbers=("NCH", "OIH", "NCH")
            ),
            "Invalid padding mode: FULL",
        ),
        (
            lambda f, x, w: f.conv_transpose(
                x, w, (2,), [[1, 1]], use_consistent_padding=True, dimension_numbers=("NCH", "OIH", "NCH")
            ),
            r"Invalid padding mode: \[1, 1\]",
        ),
        (
            lambda f, x, w: f.conv_transpose(
                np.ones((1, 1, 1, 1, 1, 1)), np.ones((1, 1, 1, 1, 1, 1)), (1, 1, 1, 1), "SAME"
            ),
            "No 4\\+ dimensional dimension_number defaults",
        ),
        (
            lambda f, x, w: f.conv_general_dilated(x, w, (1,), "VALID", dimension_numbers=("NCH", "OIW", "NCH")),
            "must each have the same set of spatial characters",
        ),
    ],
    ids=lambda v: "" if callable(v) else v[:40],
)
def test_rejects_what_jax_rejects(call, phrase, lax):
    x = np.ones((4, 3, 5))
    w = np.ones((6, 3, 2))
    with pytest.raises((ValueError, TypeError), match=phrase):
        call(lax, x, w)
    with pytest.raises((ValueError, TypeError), match=phrase):
        call(compat, x, w)


@pytest.mark.parametrize("ndim", [10**9, 65, 1, -3])
def test_dimension_permutations_takes_an_array_rank(ndim):
    """dimension_permutations(None, 10**9) built a billion-entry tuple (MemoryError): ndim is a rank, 2 to 64."""
    with pytest.raises(ValueError, match=rf"ndim must be the rank of the arrays, from 2 .* to 64 .*got {ndim}"):
        compat.dimension_permutations(None, ndim)
    with pytest.raises(TypeError, match="ndim must be an int"):
        compat.dimension_permutations(None, 4.0)
    assert compat.dimension_permutations(None, 64)[0] == tuple(range(64))


EMPTY = [c for c in CONV_TRANSPOSE if c["nd"] >= 1][::3]


@pytest.mark.parametrize("cfg", EMPTY, ids=_name)
def test_empty_input_matches_jax(cfg, lax):
    """An input with an empty spatial axis: XLA's size rule (the dilated input of an empty axis is empty), zeros."""
    test_conv_transpose_matches_jax(dict(cfg, size=(0, *cfg["size"][1:])), lax)
