"""XLA's convolution as ``jax.lax.conv_general_dilated`` exposes it, on NumPy arrays (no JAX import).

The general convolution that :mod:`tconv.frameworks.jax`'s ``lax.conv_transpose`` is
written in: dimension numbers (any axis order), window strides, explicit or string
padding, ``lhs_dilation`` (which makes it a transposed convolution), ``rhs_dilation``,
feature and batch groups, with JAX's checks and messages. Its public names are
re-exported by :mod:`tconv.frameworks.jax` (and :mod:`tconv.compat.jax`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import MAX_SPATIAL_AXES, as_int, int_tuple, is_int, numeric_array, show
from ..geometry import Geometry, effective_kernel_size
from ..weights import to_torch_layout
from ._common import int_list, run_window

__all__ = [
    "STRING_PADDING",
    "Pads",
    "conv_general_dilated",
    "crop_of_pads",
    "dimension_permutations",
    "explicit_pads",
    "per_axis",
    "split_pads",
]

Pads = list[tuple[int, int]]

#: JAX's refusal of string padding with ``lhs_dilation`` (a transposed convolution).
STRING_PADDING = (
    "String padding is not implemented for transposed convolution using this op. Please either exactly specify the "
    "required padding or use conv_transpose."
)


def crop_of_pads(k_eff: int, pads: tuple[int, int]) -> tuple[int, int]:
    """The crop ``(begin, end)`` of the full output cut by JAX's pads ``(lo, hi)`` of the dilated input.

    The correlation of the dilated input padded by ``k_eff - 1`` at both ends is the
    full output; each pad cell less crops one cell, each more adds a zero. The map
    is its own inverse: the pads of a crop are ``crop_of_pads(k_eff, crop)``.

    Examples
    --------
    >>> crop_of_pads(3, (2, 1))     # JAX's "SAME" pads for k=3, s=2: TensorFlow's crop
    (0, 1)
    """
    lo, hi = pads
    return k_eff - 1 - lo, k_eff - 1 - hi


def dimension_permutations(
    dimension_numbers: object, ndim: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """JAX's ``conv_general_permutations``: axis orders giving ``(N, C, *S)``, ``(O, I, *S)``, ``(N, C, *S)``.

    ``dimension_numbers`` is ``None`` (``NCHW``/``OIHW``), three spec strings such as
    ``("NHWC", "HWIO", "NHWC")``, or three permutations of ints. Spatial axes are
    ordered as in the kernel spec.

    Examples
    --------
    >>> dimension_permutations(("NHWC", "HWIO", "NHWC"), 4)
    ((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    >>> dimension_permutations(None, 10**9)
    Traceback (most recent call last):
    ...
    ValueError: ndim must be the rank of the arrays, from 2 (batch and feature axes) to 64 (NumPy's most), got \
1000000000
    """
    ndim = as_int(ndim, "ndim")
    if not 2 <= ndim <= MAX_SPATIAL_AXES + 2:
        raise ValueError(
            f"ndim must be the rank of the arrays, from 2 (batch and feature axes) to {MAX_SPATIAL_AXES + 2} "
            f"(NumPy's most), got {ndim}"
        )
    if dimension_numbers is None:
        iota = tuple(range(ndim))
        return iota, iota, iota
    if not isinstance(dimension_numbers, (list, tuple)) or len(dimension_numbers) != 3:
        raise TypeError(f"convolution dimension_numbers list/tuple must be length 3, got {dimension_numbers!r}.")
    if all(isinstance(spec, (list, tuple)) for spec in dimension_numbers):  # a ConvDimensionNumbers of ints
        perms = tuple(tuple(int(v) for v in spec) for spec in dimension_numbers)
        if any(sorted(p) != list(range(ndim)) for p in perms):
            raise TypeError(
                f"convolution dimension_numbers must be permutations of range({ndim}), got {dimension_numbers!r}"
            )
        return perms  # type: ignore[return-value]
    if not all(isinstance(spec, str) for spec in dimension_numbers):
        raise TypeError(f"convolution dimension_numbers elements must be strings, got {dimension_numbers!r}.")
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    for index, spec in enumerate(dimension_numbers):
        if len(spec) != ndim:
            raise TypeError(
                f"convolution dimension_numbers[{index}] must have len equal to the ndim of lhs and rhs, "
                f"got {len(spec)} for {ndim}-dimensional arrays."
            )
    pairs = (("N", "C"), ("O", "I"), ("N", "C"))
    for index, (spec, (a, b)) in enumerate(zip(dimension_numbers, pairs)):
        if not spec.count(a) == spec.count(b) == 1:
            raise TypeError(
                f"convolution dimension_numbers[{index}] must contain the characters '{a}' and '{b}' exactly once, "
                f"got {spec}."
            )
        if len(spec) != len(set(spec)):
            raise TypeError(f"convolution dimension_numbers[{index}] cannot have duplicate characters, got {spec}.")
    if not set(lhs_spec) - {"N", "C"} == set(rhs_spec) - {"O", "I"} == set(out_spec) - {"N", "C"}:
        raise TypeError(
            "convolution dimension_numbers elements must each have the same set of spatial characters, "
            f"got {dimension_numbers}."
        )

    def perm(spec: str, pair: tuple[str, str]) -> tuple[int, ...]:
        spatial = [j for j, c in enumerate(spec) if c not in pair]
        if spec is not rhs_spec:
            spatial = sorted(spatial, key=lambda j: rhs_spec.index(spec[j]))
        return (spec.index(pair[0]), spec.index(pair[1]), *spatial)

    return perm(lhs_spec, pairs[0]), perm(rhs_spec, pairs[1]), perm(out_spec, pairs[2])


def per_axis(value: object, nd: int, name: str, minimum: int | None = None) -> tuple[int, ...]:
    """One int per spatial axis (JAX takes sequences only); None means 1 in every axis."""
    if value is None:
        return (1,) * nd
    return int_tuple(int_list(value, name), name, nd, minimum=minimum, rule="positive")


def split_pads(padding: str, totals: Sequence[int]) -> Pads:
    """JAX's forward modes ``SAME``, ``SAME_LOWER`` and ``VALID``: how a total padding per axis is split."""
    mode = padding.upper()
    if mode not in ("SAME", "SAME_LOWER", "VALID"):
        raise ValueError(f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {padding}.")
    if mode == "VALID":
        return [(0, 0)] * len(totals)
    return [(t // 2, t - t // 2) if mode == "SAME" else (t - t // 2, t // 2) for t in totals]


def explicit_pads(padding: Any, nd: int) -> Pads:
    """``(lo, hi)`` pairs, one per spatial axis, with JAX's messages."""
    try:
        pads = [(int(lo), int(hi)) for lo, hi in padding]
    except (TypeError, ValueError):
        raise ValueError(
            "padding argument to conv_general_dilated should be a string or a sequence of (low, high) pairs, "
            f"got {padding}"
        ) from None
    if len(pads) != nd:
        raise TypeError(f"Wrong number of explicit pads for convolution: expected {nd}, got {len(pads)}.")
    return pads


def _string_pads(padding: str, in_size: Sequence[int], window: Sequence[int], strides: Sequence[int]) -> Pads:
    """JAX's ``padtype_to_pads``: the forward convolution's pads for ``padding``."""
    totals = [max((-(-i // s) - 1) * s + k - i, 0) for i, k, s in zip(in_size, window, strides)]
    return split_pads(padding, totals)


def conv_general_dilated(
    lhs: Any,
    rhs: Any,
    window_strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: Any = None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> np.ndarray:
    """``jax.lax.conv_general_dilated`` on NumPy arrays; with ``lhs_dilation``, a transposed convolution.

    Parameters
    ----------
    lhs : array_like
        The input, laid out by ``dimension_numbers[0]`` (default ``NCHW``).
    rhs : array_like
        The kernel, laid out by ``dimension_numbers[1]`` (default ``OIHW``), used as a
        correlation kernel (no flip).
    window_strides : sequence of int
    padding : "SAME", "SAME_LOWER", "VALID" or ``(lo, hi)`` pairs
        Strings only without ``lhs_dilation``; pairs may be negative (crop).
    lhs_dilation, rhs_dilation : sequence of int, optional
        ``lhs_dilation`` is the transposed convolution's stride.
    dimension_numbers : None, ``(lhs_spec, rhs_spec, out_spec)`` strings, or int permutations
    feature_group_count, batch_group_count : int
    precision : ignored
    preferred_element_type : dtype, optional

    Examples
    --------
    The transposed convolution of ``[1, 2, 3]`` with ``[1, 10, 100]``, stride 2, as
    JAX writes it: dilate the input, pad by ``k - 1``, correlate with the flipped kernel.

    >>> import numpy as np
    >>> x = np.array([1., 2., 3.]).reshape(1, 1, 3)
    >>> k = np.array([100., 10., 1.]).reshape(1, 1, 3)
    >>> conv_general_dilated(x, k, (1,), [(2, 2)], lhs_dilation=(2,))[0, 0]
    array([  1.,  10., 102.,  20., 203.,  30., 300.])
    """
    x = numeric_array(lhs, "lhs")
    w = numeric_array(rhs, "rhs")
    if x.ndim != w.ndim:
        raise ValueError(
            "conv_general_dilated lhs and rhs must have the same number of dimensions, "
            f"but got {x.shape} and {w.shape}."
        )
    if x.ndim < 2:
        raise ValueError(f"conv_general_dilated needs arrays of at least 2 dimensions, got {x.shape}")
    lhs_perm, rhs_perm, out_perm = dimension_permutations(dimension_numbers, x.ndim)
    x = np.transpose(x, lhs_perm)  # (N, C, *i), spatial axes in the kernel's order
    w = np.transpose(w, rhs_perm)  # (O, I, *k)
    nd = x.ndim - 2
    strides_given = int_list(window_strides, "window_strides") if nd or window_strides else []
    if len(strides_given) != nd:
        raise ValueError(
            "conv_general_dilated window and window_strides must have the same number of dimensions, "
            f"but got {nd} and {len(strides_given)}"
        )
    ws = tuple(strides_given)
    ld = per_axis(lhs_dilation, nd, "lhs_dilation")
    rd = per_axis(rhs_dilation, nd, "rhs_dilation")
    if any(v < 1 for v in ws):
        raise ValueError(f"conv_general_dilated window_strides must be positive, got {show(ws)}")
    if any(v < 1 for v in ld + rd):
        raise TypeError(f"All dilations must be positive, got {show(ld if any(v < 1 for v in ld) else rd)}.")
    fgc, bgc = feature_group_count, batch_group_count
    if not is_int(fgc) or fgc < 1:
        raise ValueError(f"conv_general_dilated feature_group_count must be a positive integer, got {fgc}")
    if not is_int(bgc) or bgc < 1:
        raise ValueError(f"conv_general_dilated batch_group_count must be a positive integer, got {bgc}")
    if fgc > 1 and bgc > 1:
        raise ValueError(f"At most one of feature_group_count and batch_group_count may be > 1, got {fgc} and {bgc}")
    n, c = x.shape[:2]
    o_channels, i_channels = w.shape[:2]
    if c % fgc:
        raise ValueError(
            "conv_general_dilated feature_group_count must divide lhs feature dimension size, "
            f"but {fgc} does not divide {c}."
        )
    if c // fgc != i_channels:
        raise ValueError(
            "conv_general_dilated lhs feature dimension size divided by feature_group_count must equal the rhs input "
            f"feature dimension size, but {c} // {fgc} != {i_channels}."
        )
    if o_channels % fgc:
        raise ValueError(
            "conv_general_dilated rhs output feature dimension size must be a multiple of feature_group_count, "
            f"but {o_channels} is not a multiple of {fgc}."
        )
    if n % bgc:
        raise ValueError(
            "conv_general_dilated batch_group_count must divide lhs batch dimension size, "
            f"but {bgc} does not divide {n}."
        )
    if o_channels % bgc:
        raise ValueError(
            "conv_general_dilated rhs output feature dimension size must be a multiple of batch_group_count, "
            f"but {o_channels} is not a multiple of {bgc}."
        )
    k_eff = tuple(map(effective_kernel_size, w.shape[2:], rd))
    if isinstance(padding, str):
        if any(v != 1 for v in ld):
            raise ValueError(STRING_PADDING)
        pads = _string_pads(padding, x.shape[2:], k_eff, ws)
    else:
        pads = explicit_pads(padding, nd)
    dilated = tuple((i - 1) * s + 1 if i else 0 for i, s in zip(x.shape[2:], ld))
    padded = tuple(size + lo + hi for size, (lo, hi) in zip(dilated, pads))
    if any(p < 0 for p in padded):
        raise ValueError(
            "Negative padding is larger than the size of the corresponding dimension: "
            f"got padding={tuple(pads)} for lhs_shape[2:]={dilated}"
        )
    out_size = tuple(max((p - ke) // s + 1, 0) for p, ke, s in zip(padded, k_eff, ws))
    results = []
    n_group, o_group = n // bgc, o_channels // bgc
    for b in range(bgc):  # batch groups: output channels of group b read batch block b
        xb = x[b * n_group : (b + 1) * n_group]  # (N/B, C, *i)
        wb = w[b * o_group : (b + 1) * o_group]  # (O/B, I, *k)
        results.append(_correlate(xb, wb, ld, rd, ws, pads, fgc, out_size))
    y = np.concatenate(results, axis=1) if bgc > 1 else results[0]  # (N/B, O, *o)
    if preferred_element_type is not None:
        y = y.astype(preferred_element_type)
    return np.transpose(y, np.argsort(out_perm))


def _correlate(
    x: np.ndarray,
    w: np.ndarray,
    lhs_dilation: tuple[int, ...],
    rhs_dilation: tuple[int, ...],
    strides: tuple[int, ...],
    pads: Pads,
    groups: int,
    out_size: tuple[int, ...],
) -> np.ndarray:
    """XLA's convolution in canonical layout: ``x (N, C, *i)``, ``w (O, C/groups, *k)`` -> ``(N, O, *out_size)``."""
    n, o = x.shape[0], w.shape[0]
    if x.ndim == 2:  # no spatial axes: a grouped matrix product
        xg = x.reshape(n, groups, -1)  # (N, G, C/G)
        wg = w.reshape(groups, o // groups, -1)  # (G, O/G, C/G)
        return np.einsum("ngc,goc->ngo", xg, wg).reshape(n, o)  # (N, O)
    if 0 in out_size or n == 0 or 0 in x.shape[2:]:
        dtype = np.result_type(x, w)
        return np.zeros((n, o, *out_size), dtype=np.float64 if dtype.kind in "biu" else dtype)
    if all(v == 1 for v in lhs_dilation):
        from .. import conv  # a forward convolution: tconv.conv (negative pads crop the input)

        return conv(x, w, None, stride=strides, padding=tuple(pads), dilation=rhs_dilation, groups=groups)
    # the transposed convolution with the flipped, channel-swapped kernel, at stride 1 positions, then subsampled
    k_eff = tuple(map(effective_kernel_size, w.shape[2:], rhs_dilation))
    begin = tuple(crop_of_pads(ke, p)[0] for ke, p in zip(k_eff, pads))
    dense = tuple((size - 1) * s + 1 for size, s in zip(out_size, strides))
    window = Geometry(x.shape[2:], dense, w.shape[2:], lhs_dilation, rhs_dilation, begin)
    y = run_window(x, to_torch_layout(w, "conv", groups), None, window, groups)  # (N, O, *dense)
    subsample = (slice(None), slice(None), *(slice(None, None, s) for s in strides))
    return y[subsample]
