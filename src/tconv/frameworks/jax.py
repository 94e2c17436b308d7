"""JAX's ``lax.conv_transpose`` and ``lax.conv_general_dilated`` (with ``lhs_dilation``), on NumPy arrays.

Same arguments, defaults, dimension numbers and kernel conventions as
``jax.lax``, JAX's validation (its messages), and the same numbers; no JAX import.

JAX computes a transposed convolution *directly*, as XLA's convolution of the
input dilated by ``lhs_dilation`` (``stride - 1`` zeros between elements), padded
by ``(lo, hi)`` per axis (negative values crop), and **correlated** with the
kernel. In tconv's window model (``tconv/shape.py``) that is the transposed
convolution with the kernel flipped in space and its channel axes swapped
(:func:`tconv.weights.to_torch_layout` with ``"conv"``), ``crop_begin = k_eff -
1 - lo`` and ``o = (i - 1)*s + 2 - k_eff + lo + hi``.

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import is_int, show
from ..geometry import Geometry
from ..weights import to_torch_layout
from ._common import as_array, geometry, int_list, run_window

__all__ = [
    "conv_general_dilated",
    "conv_transpose",
    "conv_transpose_padding",
    "conv_transpose_window",
    "default_dimension_numbers",
    "dimension_permutations",
]

Pads = list[tuple[int, int]]


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
    """
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
                f"convolution dimension_numbers[{index}] must contain the characters '{a}' and '{b}' exactly once, got {spec}."
            )
        if len(spec) != len(set(spec)):
            raise TypeError(f"convolution dimension_numbers[{index}] cannot have duplicate characters, got {spec}.")
    if not set(lhs_spec) - {"N", "C"} == set(rhs_spec) - {"O", "I"} == set(out_spec) - {"N", "C"}:
        raise TypeError(
            f"convolution dimension_numbers elements must each have the same set of spatial characters, got {dimension_numbers}."
        )

    def perm(spec: str, pair: tuple[str, str]) -> tuple[int, ...]:
        spatial = [j for j, c in enumerate(spec) if c not in pair]
        if spec is not rhs_spec:
            spatial = sorted(spatial, key=lambda j: rhs_spec.index(spec[j]))
        return (spec.index(pair[0]), spec.index(pair[1]), *spatial)

    return perm(lhs_spec, pairs[0]), perm(rhs_spec, pairs[1]), perm(out_spec, pairs[2])


def _positive(value: object, nd: int, name: str, default: int = 1) -> tuple[int, ...]:
    if value is None:
        return (default,) * nd
    values = tuple(int_list(value, name))
    if len(values) != nd:
        raise ValueError(f"{name} must have one entry per spatial dimension ({nd}), got {show(values)}")
    return values


def _string_pads(padding: str, in_size: Sequence[int], window: Sequence[int], strides: Sequence[int]) -> Pads:
    """JAX's ``padtype_to_pads`` for the forward modes ``SAME``, ``SAME_LOWER`` and ``VALID``."""
    mode = padding.upper()
    if mode not in ("SAME", "SAME_LOWER", "VALID"):
        raise ValueError(f"Unrecognized padding type: expected 'VALID', 'SAME', or 'SAME_LOWER', got {padding}.")
    if mode == "VALID":
        return [(0, 0)] * len(in_size)
    pads = []
    for i, k, s in zip(in_size, window, strides):
        out = -(-i // s)
        total = max((out - 1) * s + k - i, 0)
        pads.append((total // 2, total - total // 2) if mode == "SAME" else (total - total // 2, total // 2))
    return pads


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
    x = as_array(lhs, "lhs")
    w = as_array(rhs, "rhs")
    if x.ndim != w.ndim:
        raise ValueError(
            f"conv_general_dilated lhs and rhs must have the same number of dimensions, but got {x.shape} and {w.shape}."
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
    ld = _positive(lhs_dilation, nd, "lhs_dilation")
    rd = _positive(rhs_dilation, nd, "rhs_dilation")
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
            f"conv_general_dilated feature_group_count must divide lhs feature dimension size, but {fgc} does not divide {c}."
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
            f"conv_general_dilated batch_group_count must divide lhs batch dimension size, but {bgc} does not divide {n}."
        )
    if o_channels % bgc:
        raise ValueError(
            "conv_general_dilated rhs output feature dimension size must be a multiple of batch_group_count, "
            f"but {o_channels} is not a multiple of {bgc}."
        )
    k_eff = tuple(d * (k - 1) + 1 for k, d in zip(w.shape[2:], rd))
    if isinstance(padding, str):
        if any(v != 1 for v in ld):
            raise ValueError(
                "String padding is not implemented for transposed convolution using this op. Please either exactly "
                "specify the required padding or use conv_transpose."
            )
        pads = _string_pads(padding, x.shape[2:], k_eff, ws)
    else:
        try:
            pads = [(int(lo), int(hi)) for lo, hi in padding]  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValueError(
                "padding argument to conv_general_dilated should be a string or a sequence of (low, high) pairs, "
                f"got {padding}"
            ) from None
        if len(pads) != nd:
            raise TypeError(f"Wrong number of explicit pads for convolution: expected {nd}, got {len(pads)}.")
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
    k_eff = tuple(d * (k - 1) + 1 for k, d in zip(w.shape[2:], rhs_dilation))
    begin = tuple(ke - 1 - lo for ke, (lo, _) in zip(k_eff, pads))
    dense = tuple((size - 1) * s + 1 for size, s in zip(out_size, strides))
    window = geometry(x.shape[2:], w.shape[2:], lhs_dilation, rhs_dilation, begin, dense)
    y = run_window(x, to_torch_layout(w, "conv", groups), None, window, groups)  # (N, O, *dense)
    return y[(slice(None), slice(None), *(slice(None, None, s) for s in strides))]


def conv_transpose_padding(kernel_size: int, stride: int, padding: object) -> tuple[int, int]:
    """JAX's ``_conv_transpose_padding``: the ``(lo, hi)`` pads of the dilated input for one axis.

    ``kernel_size`` is the *effective* (dilated) kernel size; ``padding`` is
    ``"SAME"``, ``"VALID"`` or a forward padding pair ``(p_lo, p_hi)`` (a tuple).

    Examples
    --------
    >>> conv_transpose_padding(3, 2, "SAME"), conv_transpose_padding(3, 2, "VALID"), conv_transpose_padding(3, 2, (1, 1))
    ((2, 1), (2, 2), (1, 1))
    """
    k, s = kernel_size, stride
    if padding == "SAME":
        pad_len = k + s - 2
        pad_a = k - 1 if s > k - 1 else math.ceil(pad_len / 2)
    elif padding == "VALID":
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
) -> Any:
    """``lax.conv_transpose``'s pads of the dilated input, or the string it hands to ``conv_general_dilated``."""
    if consistent or (isinstance(padding, str) and padding in ("SAME", "VALID")):
        k_eff = tuple(di * (k - 1) + 1 for k, di in zip(kernel_size, dilation))
        replicated = [padding] * len(k_eff) if isinstance(padding, str) else list(padding)
        return [conv_transpose_padding(ke, si, p) for ke, si, p in zip(k_eff, strides, replicated)]
    return padding


def conv_transpose_window(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    rhs_dilation: Sequence[int] | None = None,
    use_consistent_padding: bool = False,
) -> Geometry:
    """The window (see ``tconv/shape.py``) of ``lax.conv_transpose`` for spatial sizes.

    ``crop_begin = k_eff - 1 - lo`` and ``o = (i - 1)*s + 2 - k_eff + lo + hi`` for the
    pads ``(lo, hi)`` of the dilated input (``o`` may be 0, never negative: JAX
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
    d = _positive(rhs_dilation, len(i), "rhs_dilation")
    k_eff = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))
    pads = _transpose_pads(k, s, d, padding, use_consistent_padding)
    if isinstance(pads, str):
        if any(v != 1 for v in s):
            raise ValueError(
                "String padding is not implemented for transposed convolution using this op. Please either exactly "
                "specify the required padding or use conv_transpose."
            )
        pads = _string_pads(pads, i, k_eff, (1,) * len(i))
    pads = [(int(lo), int(hi)) for lo, hi in pads]
    if len(pads) != len(i):
        raise TypeError(f"Wrong number of explicit pads for convolution: expected {len(i)}, got {len(pads)}.")
    dilated = tuple((ii - 1) * si + 1 for ii, si in zip(i, s))
    if any(size + lo + hi < 0 for size, (lo, hi) in zip(dilated, pads)):
        raise ValueError(
            "Negative padding is larger than the size of the corresponding dimension: "
            f"got padding={tuple(pads)} for lhs_shape[2:]={dilated}"
        )
    begins = tuple(ke - 1 - lo for ke, (lo, _) in zip(k_eff, pads))
    out = tuple(max((ii - 1) * si + 2 - ke + lo + hi, 0) for ii, si, ke, (lo, hi) in zip(i, s, k_eff, pads))
    return geometry(i, k, s, d, begins, out)


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
    x = as_array(lhs, "lhs")
    w = as_array(rhs, "rhs")
    if x.ndim != w.ndim or x.ndim < 2:
        raise ValueError(f"conv_transpose needs lhs and rhs of the same rank >= 2, got shapes {x.shape} and {w.shape}")
    if dimension_numbers is None:
        dimension_numbers = default_dimension_numbers(x.ndim)
    _, rhs_perm, _ = dimension_permutations(dimension_numbers, x.ndim)
    nd = x.ndim - 2
    s = tuple(int_list(strides, "strides")) if nd else ()
    if len(s) != nd:
        raise ValueError(f"conv_transpose strides must have one entry per spatial dimension ({nd}), got {show(s)}")
    d = _positive(rhs_dilation, nd, "rhs_dilation")
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
