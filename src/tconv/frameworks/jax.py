"""JAX's ``lax.conv_transpose`` and ``lax.conv_general_dilated`` (with ``lhs_dilation``): emulation and translation.

Same arguments, defaults, dimension numbers and kernel conventions as
``jax.lax``, JAX's validation (its messages), and the same numbers; no JAX import.

JAX computes a transposed convolution *directly*, as XLA's convolution of the
input dilated by ``lhs_dilation`` (``stride - 1`` zeros between elements), padded
by ``(lo, hi)`` per axis (negative values crop), and **correlated** with the
kernel. In tconv's window model (:mod:`tconv.geometry`) that is the transposed
convolution with the kernel flipped in space and its channel axes swapped
(:func:`tconv.weights.to_torch_layout` with ``"conv"``) and the crop ``(k_eff - 1 -
lo, k_eff - 1 - hi)`` of the full output (``_xla.crop_of_pads``), so
``o = (i - 1)*s + 2 - k_eff + lo + hi``.

``lax.conv_transpose`` turns its ``padding`` into those ``(lo, hi)``:

- ``"SAME"``/``"VALID"`` (upper case only) are the *forward* convolution's modes
  (TensorFlow's windows): ``o = i*s`` and ``o = (i - 1)*s + max(k_eff, s)``;
- explicit pairs are used as ``(lo, hi)`` as they are, unless
  ``use_consistent_padding=True``, where they are the forward convolution's
  padding ``p`` and become ``k_eff - 1 - p`` (PyTorch's meaning);
- any other string is passed on to ``conv_general_dilated``, which rejects it
  when a stride is > 1 and otherwise applies it as a *forward* padding mode
  (so ``"same"`` in lower case with stride 1 is a different window from
  ``"SAME"`` when ``k_eff`` is even: the two differ by one cell).

``transpose_kernel=True`` flips the kernel's spatial axes and swaps its two
channel axes first, which makes the result the gradient of a convolution
(TensorFlow's and Keras' ``conv_transpose``). Output sizes may be 0 in JAX, and
are here. Dtypes follow NumPy's promotion (as JAX with ``jax_enable_x64``);
``precision`` is accepted and ignored, ``preferred_element_type`` sets the result
dtype.

``lax.conv_general_dilated`` and the dimension numbers are XLA's general
convolution, in :mod:`tconv.frameworks._xla` (re-exported here).

As a translation target (:func:`target`) JAX cuts every window:
``lax.conv_transpose`` with the pads of the crop and ``transpose_kernel=True``, or,
with groups, ``conv_general_dilated(lhs_dilation=stride, feature_group_count=groups)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .._validate import check_bool, is_int, numeric_array, positive_int, show
from ..geometry import Geometry, effective_kernel_size
from ..weights import Correlation, Step, Transpose, steps_from_torch
from . import _code
from ._common import (
    ConvTransposeSpec,
    DataLayout,
    Source,
    Target,
    Words,
    channels_last,
    check_groups,
    input_spatial_size,
    int_list,
    nonempty,
    window_from_crop,
)
from ._xla import (
    STRING_PADDING,
    Pads,
    conv_general_dilated,
    crop_of_pads,
    dimension_permutations,
    explicit_pads,
    per_axis,
    split_pads,
)

__all__ = [
    "conv_general_dilated",
    "conv_transpose",
    "conv_transpose_padding",
    "conv_transpose_window",
    "default_dimension_numbers",
    "dimension_permutations",
]

#: The name translations print, and the parameters a translation source takes (``lax.conv_transpose``'s,
#: or with ``lhs_dilation`` ``lax.conv_general_dilated``'s).
NAME = "JAX"
PARAMETERS = (
    "strides",
    "padding",
    "rhs_dilation",
    "dimension_numbers",
    "transpose_kernel",
    "use_consistent_padding",
    "window_strides",
    "lhs_dilation",
    "feature_group_count",
)

#: How a person writes it: ``lax.conv_transpose`` and ``lax.conv_general_dilated`` (with ``lhs_dilation``).
WORDS = Words(
    prefixes=("jax", "lax"),
    calls={
        "conv_transpose": (
            "lhs",
            "rhs",
            "strides",
            "padding",
            "rhs_dilation",
            "dimension_numbers",
            "transpose_kernel",
            "precision",
            "preferred_element_type",
            "use_consistent_padding",
        ),
        "conv_general_dilated": (
            "lhs",
            "rhs",
            "window_strides",
            "padding",
            "lhs_dilation",
            "rhs_dilation",
            "dimension_numbers",
            "feature_group_count",
            "batch_group_count",
            "precision",
            "preferred_element_type",
            "out_sharding",
        ),
    },
    dropped=("lhs", "rhs", "precision", "preferred_element_type", "out_sharding"),
)


def weight_shape(
    params: dict[str, Any], input_shape: Sequence[int] | None, notes: list[str]
) -> tuple[int | str, ...] | None:
    """None: a call's arguments never give the kernel's shape, so it must be given."""
    return None


def default_dimension_numbers(ndim: int) -> tuple[str, str, str]:
    """``lax.conv_transpose``'s default dimension numbers (TensorFlow's NHWC/HWIO) for arrays of ``ndim``.

    Examples
    --------
    >>> default_dimension_numbers(4)
    ('NHWC', 'HWIO', 'NHWC')
    """
    defaults = {
        2: ("NC", "IO", "NC"),
        3: ("NHC", "HIO", "NHC"),
        4: ("NHWC", "HWIO", "NHWC"),
        5: ("NHWDC", "HWDIO", "NHWDC"),
    }
    if ndim not in defaults:
        raise ValueError("No 4+ dimensional dimension_number defaults.")
    return defaults[ndim]


def conv_transpose_padding(kernel_size: int, stride: int, padding: object) -> tuple[int, int]:
    """JAX's ``_conv_transpose_padding``: the ``(lo, hi)`` pads of the dilated input for one axis.

    ``kernel_size`` is the *effective* (dilated) kernel size; ``padding`` is
    ``"SAME"``, ``"VALID"`` or a forward padding pair ``(p_lo, p_hi)`` (a tuple).

    Examples
    --------
    >>> conv_transpose_padding(3, 2, "SAME"), conv_transpose_padding(3, 2, "VALID")
    ((2, 1), (2, 2))
    >>> conv_transpose_padding(3, 2, (1, 1))
    (1, 1)
    """
    k, s = positive_int(kernel_size, "kernel_size"), positive_int(stride, "stride")
    if isinstance(padding, tuple) and (len(padding) != 2 or not all(is_int(p) for p in padding)):
        raise ValueError(f"padding must be 'SAME', 'VALID' or a (low, high) pair of ints, got {padding!r}")
    if isinstance(padding, str) and padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else math.ceil(pad_len / 2)
    elif isinstance(padding, str) and padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    elif isinstance(padding, tuple):
        pads = tuple(k - p - 1 for p in padding)
        pad_a = pads[0]
        pad_len = sum(pads)
    else:
        raise ValueError(f"Invalid padding mode: {padding}")
    return pad_a, pad_len - pad_a


def _transpose_pads(
    kernel_size: Sequence[int], strides: Sequence[int], dilation: Sequence[int], padding: Any, consistent: bool
) -> Pads:
    """``lax.conv_transpose``'s pads ``(lo, hi)`` of the dilated input, per axis.

    A string other than ``"SAME"``/``"VALID"`` is handed to ``conv_general_dilated`` as a
    forward mode, which it allows with unit strides only; there its total pad is
    ``k_eff - 1`` whatever the input size.
    """
    k_eff = tuple(map(effective_kernel_size, kernel_size, dilation))
    if consistent or (isinstance(padding, str) and padding in ("SAME", "VALID")):
        replicated = [padding] * len(k_eff) if isinstance(padding, str) else list(padding)
        return [conv_transpose_padding(ke, si, p) for ke, si, p in zip(k_eff, strides, replicated)]
    if isinstance(padding, str):
        if any(v != 1 for v in strides):
            raise ValueError(STRING_PADDING)
        return split_pads(padding, [ke - 1 for ke in k_eff])
    return explicit_pads(padding, len(k_eff))


def _crop(
    kernel_size: Sequence[int], strides: Sequence[int], dilation: Sequence[int], padding: Any, consistent: bool
) -> tuple[tuple[int, int], ...]:
    """``lax.conv_transpose``'s crop of the full output: it does not depend on the input size."""
    pads = _transpose_pads(kernel_size, strides, dilation, padding, consistent)
    return tuple(map(crop_of_pads, map(effective_kernel_size, kernel_size, dilation), pads))


def conv_transpose_window(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    rhs_dilation: Sequence[int] | None = None,
    use_consistent_padding: bool = False,
) -> Geometry:
    """The window (:mod:`tconv.geometry`) of ``lax.conv_transpose`` for spatial sizes.

    The crop of the pads ``(lo, hi)`` of the dilated input (:func:`crop_of_pads`), so
    ``o = (i - 1)*s + 2 - k_eff + lo + hi`` (``o`` may be 0, never negative: JAX
    rejects a negative total).

    Examples
    --------
    ``"SAME"`` is TensorFlow's window; explicit pairs are pads of the dilated input:

    >>> g = conv_transpose_window((4,), (3,), (2,), "SAME")
    >>> g.output_size, g.padding_pairs
    ((8,), ((0, 1),))
    >>> conv_transpose_window((4,), (3,), (2,), [(2, 2)]).output_size     # the full output
    (9,)
    """
    i, k, s = tuple(input_size), tuple(kernel_size), tuple(strides)
    d = per_axis(rhs_dilation, len(i), "rhs_dilation")
    crop = _crop(k, s, d, padding, use_consistent_padding)
    dilated = tuple((ii - 1) * si + 1 for ii, si in zip(i, s))
    pads = tuple(map(crop_of_pads, map(effective_kernel_size, k, d), crop))
    if any(size + lo + hi < 0 for size, (lo, hi) in zip(dilated, pads)):
        raise ValueError(
            "Negative padding is larger than the size of the corresponding dimension: "
            f"got padding={pads} for lhs_shape[2:]={dilated}"
        )
    g = window_from_crop(i, k, s, d, crop)
    return replace(g, output_size=tuple(max(o, 0) for o in g.output_size))


def conv_transpose(
    lhs: Any,
    rhs: Any,
    strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: Any = None,
    transpose_kernel: bool = False,
    precision: Any = None,
    preferred_element_type: Any = None,
    use_consistent_padding: bool = False,
) -> np.ndarray:
    """``jax.lax.conv_transpose`` on NumPy arrays.

    Parameters
    ----------
    lhs : array_like
        Default layout ``NHWC`` (``NHC``, ``NHWDC``, ``NC`` by rank).
    rhs : array_like
        Default layout ``HWIO``: ``(*k, C_in, C_out)`` used *without* a flip, or with
        ``transpose_kernel=True`` ``(*k, C_out, C_in)`` flipped (TensorFlow's filters).
    strides : sequence of int
    padding : "SAME", "VALID", or pairs (see the module docstring)
    rhs_dilation : sequence of int, optional
    dimension_numbers : optional
        Required beyond 3 spatial dimensions.
    transpose_kernel, use_consistent_padding : bool
    precision : ignored
    preferred_element_type : dtype, optional

    Examples
    --------
    ``transpose_kernel=True`` gives TensorFlow's answer for TensorFlow's filters;
    the default correlates with the kernel as given (a flipped result):

    >>> import numpy as np
    >>> x = np.array([1., 2., 3.]).reshape(1, 3, 1)
    >>> k = np.array([1., 10., 100.]).reshape(3, 1, 1)
    >>> conv_transpose(x, k, (2,), "VALID", transpose_kernel=True)[0, :, 0]
    array([  1.,  10., 102.,  20., 203.,  30., 300.])
    >>> conv_transpose(x, k, (2,), "VALID")[0, :, 0]
    array([100.,  10., 201.,  20., 302.,  30.,   3.])
    """
    x = numeric_array(lhs, "lhs")
    w = numeric_array(rhs, "rhs")
    if x.ndim != w.ndim or x.ndim < 2:
        raise ValueError(f"conv_transpose needs lhs and rhs of the same rank >= 2, got shapes {x.shape} and {w.shape}")
    if dimension_numbers is None:
        dimension_numbers = default_dimension_numbers(x.ndim)
    _, rhs_perm, _ = dimension_permutations(dimension_numbers, x.ndim)
    nd = x.ndim - 2
    s = tuple(int_list(strides, "strides")) if nd else ()
    if len(s) != nd:
        raise ValueError(f"conv_transpose strides must have one entry per spatial dimension ({nd}), got {show(s)}")
    d = per_axis(rhs_dilation, nd, "rhs_dilation")
    k_spatial = tuple(w.shape[j] for j in rhs_perm[2:])
    pads = _transpose_pads(k_spatial, s, d, padding, use_consistent_padding)
    if transpose_kernel:
        w = np.flip(w, axis=tuple(rhs_perm[2:])) if nd else w
        w = np.swapaxes(w, rhs_perm[0], rhs_perm[1])
    return conv_general_dilated(
        x,
        w,
        (1,) * nd,
        pads,
        lhs_dilation=s,
        rhs_dilation=d,
        dimension_numbers=dimension_numbers,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


# --- translation ---------------------------------------------------------------------------------------

_LETTERS = "HWDABEFGJKLMPQRSTUVXYZ"  # spatial axis names for dimension numbers


def target(spec: ConvTransposeSpec) -> Target:
    """``lax.conv_transpose`` (with groups ``lax.conv_general_dilated``): every window, exactly."""
    nd = spec.ndim
    if nd > len(_LETTERS):
        raise ValueError(f"at most {len(_LETTERS)} spatial axes can be named in JAX's dimension numbers, got {nd}")
    letters = _LETTERS[:nd]
    numbers = ("N" + letters + "C", letters + "IO", "N" + letters + "C")
    pads = tuple(crop_of_pads(ke, c) for ke, c in zip(spec.effective_kernel_size, spec.crop))
    notes = ["JAX's convolutions have no bias: the plan adds it after the call."]
    arguments: dict[str, Any]
    if spec.groups == 1:
        function = "conv_transpose"
        arguments = dict(
            strides=spec.stride,
            padding=pads,
            rhs_dilation=spec.dilation,
            dimension_numbers=numbers,
            transpose_kernel=True,
        )
        steps = steps_from_torch("tensorflow", nd)
    else:
        function = "conv_general_dilated"
        arguments = dict(
            window_strides=(1,) * nd,
            padding=pads,
            lhs_dilation=spec.stride,
            rhs_dilation=spec.dilation,
            dimension_numbers=numbers,
            feature_group_count=spec.groups,
        )
        steps = steps_from_torch("jax", nd, spec.groups)
        notes.append(
            "lax.conv_transpose has no groups: the plan uses conv_general_dilated with lhs_dilation=stride "
            "and feature_group_count, whose kernel is the flipped, channel-swapped correlation kernel."
        )
    emulation: Callable[..., np.ndarray] = conv_transpose if function == "conv_transpose" else conv_general_dilated

    def body(weight: str, bias: str | None) -> list[str]:
        return [f"y = lax.{function}(x, {weight}, {_code.keywords(arguments)})"]

    return Target(
        framework="jax",
        function=f"jax.lax.{function}",
        arguments=arguments,
        layout=channels_last(nd),
        post=((0, 0),) * nd,
        run=lambda x, w, b: emulation(x, w, **arguments),
        body=body,
        imports=("import numpy as np", "from jax import lax"),
        doc="x: (N, *spatial, C_in) array (channels last); weight: convert_weight(w); bias: (C_out,) or None.",
        weight_steps=steps,
        bias_after=True,
        notes=notes,
    )


def source(params: dict[str, Any], weight_shape: tuple[int, ...], input_shape: Sequence[int] | None) -> Source:
    """A ``lax.conv_transpose`` call, or with ``lhs_dilation`` a ``lax.conv_general_dilated`` one, read into a spec."""
    ndim = len(weight_shape)
    nd = ndim - 2
    general = "lhs_dilation" in params

    def axes(value: object, name: str) -> tuple[int, ...]:
        """One positive int per spatial axis of the kernel (its count comes from weight_shape)."""
        try:
            return per_axis(value, nd, name, minimum=1)
        except ValueError as error:
            raise ValueError(f"{error} (weight_shape {show(weight_shape)} has {nd} spatial axes)") from None

    transposed_only = ("transpose_kernel", "use_consistent_padding", "strides")
    general_only = ("window_strides", "feature_group_count")
    if general and any(k in params for k in transposed_only):
        raise ValueError(
            f"give conv_general_dilated's parameters (lhs_dilation, ...) or conv_transpose's {transposed_only}, "
            "not both"
        )
    if not general and any(k in params for k in general_only):
        raise ValueError(f"{general_only} belong to conv_general_dilated: give lhs_dilation too")
    numbers = params.get("dimension_numbers")
    if numbers is None and not general:
        numbers = default_dimension_numbers(ndim)
    lhs_perm, rhs_perm, out_perm = dimension_permutations(numbers, ndim)
    layout = DataLayout(tuple(lhs_perm), tuple(int(v) for v in np.argsort(out_perm)))
    kernel = tuple(weight_shape[j] for j in rhs_perm[2:])
    o_channels, i_channels = weight_shape[rhs_perm[0]], weight_shape[rhs_perm[1]]
    size = input_spatial_size(input_shape, layout)
    rhs_dilation = params.get("rhs_dilation")
    padding = params.get("padding")
    if padding is None:
        raise ValueError("jax.lax's transposed convolutions need padding")
    steps: list[Step] = [Transpose(tuple(rhs_perm), "(O, I, *k)")]
    if general:
        window_strides = axes(params.get("window_strides"), "window_strides")
        if any(v != 1 for v in window_strides):
            raise ValueError(
                f"conv_general_dilated with window_strides={window_strides} subsamples the transposed convolution; "
                "only window_strides of 1 is a transposed convolution that other frameworks express"
            )
        groups = check_groups(params.get("feature_group_count", 1), "feature_group_count", out_channels=o_channels)
        lhs_dilation = axes(params["lhs_dilation"], "lhs_dilation")
        if isinstance(padding, str):
            raise ValueError(STRING_PADDING)
        pads = explicit_pads(padding, nd)
        d = axes(rhs_dilation, "rhs_dilation")
        stride, crop = lhs_dilation, tuple(map(crop_of_pads, map(effective_kernel_size, kernel, d), pads))
        channels = (i_channels * groups, o_channels, groups)
        steps.append(Correlation(groups, into=False))
        call = (
            f"lax.conv_general_dilated(x, w, window_strides={window_strides}, padding={pads}, "
            f"lhs_dilation={lhs_dilation}, "
            f"rhs_dilation={d}, dimension_numbers={numbers!r}, feature_group_count={groups})"
        )

        def run(x: np.ndarray, w: np.ndarray) -> np.ndarray:
            return conv_general_dilated(x, w, window_strides, pads, lhs_dilation, d, numbers, groups)
    else:
        stride = axes(params.get("strides"), "strides")
        transpose_kernel = check_bool(params.get("transpose_kernel", False), "transpose_kernel")
        consistent = check_bool(params.get("use_consistent_padding", False), "use_consistent_padding")
        d = axes(rhs_dilation, "rhs_dilation")
        if size is not None:
            conv_transpose_window(size, kernel, stride, padding, rhs_dilation, consistent)  # JAX's checks at this size
        crop = _crop(kernel, stride, d, padding, consistent)
        # the array's O-position axis holds the input channels when transpose_kernel swaps them
        channels = (o_channels, i_channels, 1) if transpose_kernel else (i_channels, o_channels, 1)
        if not transpose_kernel:
            steps.append(Correlation(1, into=False))
        call = (
            f"lax.conv_transpose(x, w, strides={stride}, padding={padding!r}, rhs_dilation={rhs_dilation}, "
            f"dimension_numbers={numbers!r}, transpose_kernel={transpose_kernel}, use_consistent_padding={consistent})"
        )

        def run(x: np.ndarray, w: np.ndarray) -> np.ndarray:
            return conv_transpose(
                x, w, stride, padding, rhs_dilation, numbers, transpose_kernel, use_consistent_padding=consistent
            )

    def run_with_bias(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        y = run(x, w)
        return y if b is None else y + np.reshape(b, [-1 if j == out_perm[1] else 1 for j in range(ndim)])

    spec = ConvTransposeSpec(kernel, stride, d, crop, *channels)
    return Source("jax", nonempty(spec, size), call, layout, steps, weight_shape, run_with_bias)
