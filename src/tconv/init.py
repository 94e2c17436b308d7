"""Initialisers for transposed-convolution weights: PyTorch's default, bilinear, nearest and ICNR.

Every function takes the weight's shape in PyTorch's transposed layout,
``(C_in, C_out/groups, *kernel_size)`` (any number of spatial axes), and returns a
new array (float32 unless ``dtype=`` says otherwise, like a PyTorch layer), so a
layer is initialised with ``layer.weight = tconv.init.bilinear(layer.weight.shape,
stride=2)``. Each docstring states what the initialiser guarantees; the tests
check exactly that.

Channels. The deterministic initialisers (:func:`bilinear`, :func:`nearest`)
make output channel ``co`` of each group a copy of input channel
``co mod (C_in/groups)`` of the same group: with ``C_in == C_out`` and
``groups=1`` that is the identity on channels (the FCN / "diagonal" form), with
``groups == C_in`` it is Caffe's depthwise ``BilinearFiller`` form, and a
depthwise multiplier (``C_out/groups > C_in/groups``) repeats the channels.

Geometry. The initialisers assume ``dilation=1``: they describe the taps of an
undilated kernel.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._validate import (
    MAX_SPATIAL_AXES,
    check_bool,
    fits_machine,
    floating_dtype,
    int_tuple,
    is_int,
    positive_int,
    positive_sizes,
    real_number,
    show,
)
from .geometry import PaddingArg, conv_transpose_geometry, crop_pairs, parse_padding

__all__ = [
    "bilinear",
    "bilinear_parameters",
    "fan_in",
    "icnr",
    "kaiming_uniform",
    "nearest",
    "torch_default",
]

Shape = Sequence[int]
RNG = Any  # None, an int seed or a numpy.random.Generator


def _shape(shape: object, name: str = "shape") -> tuple[int, ...]:
    if not isinstance(shape, Sequence) or isinstance(shape, (str, bytes)) or not all(is_int(v) for v in shape):
        raise TypeError(f"{name} must be a weight shape (C_in, C_out/groups, *kernel_size) of ints, got {show(shape)}")
    shape = tuple(int(v) for v in shape)
    if len(shape) < 3 or min(shape) < 1:
        raise ValueError(
            f"{name} must be a weight shape (C_in, C_out/groups, *kernel_size) with at least one spatial "
            f"axis and positive sizes, got {show(shape)}"
        )
    if len(shape) - 2 > MAX_SPATIAL_AXES:
        raise ValueError(
            f"{name} must have at most {MAX_SPATIAL_AXES} spatial axes (NumPy arrays have at most 64 axes, two of "
            f"them channels), got {len(shape) - 2}"
        )
    return shape


def _check_size(caller: str, shape: tuple[int, ...], dtype: Any, name: str = "shape") -> np.dtype:
    """``dtype`` checked, and the weight of ``shape`` refused before anything is allocated when it and
    its float64 temporaries (the values drawn or placed, one float64 copy of them) would not fit this
    machine's memory: the limit of every result (:func:`tconv._validate.fits_machine`)."""
    dtype = floating_dtype(dtype)
    needed = math.prod(shape) * (2 * 8 + dtype.itemsize)
    fits_machine(needed, f"{caller}: the {dtype} weight of {name} {show(shape)} and its float64 temporaries")
    return dtype


def _rng(rng: RNG) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is not None and not is_int(rng):
        raise TypeError(f"rng must be None, an int or a numpy.random.Generator, got {rng!r}")
    try:
        return np.random.default_rng(operator.index(rng) if rng is not None else None)
    except ValueError:  # a negative int
        raise ValueError(f"rng must be a non-negative int, got {rng!r}") from None


def fan_in(shape: Shape) -> int:
    """PyTorch's fan-in of a convolution weight: ``shape[1] * prod(shape[2:])``.

    For a transposed-convolution weight ``(C_in, C_out/groups, *k)`` this is
    ``C_out/groups * prod(k)`` (PyTorch reads dimension 1 whatever the operator).

    Examples
    --------
    >>> fan_in((64, 32, 4, 4))
    512
    """
    shape = _shape(shape)
    return shape[1] * math.prod(shape[2:])


def kaiming_uniform(shape: Shape, a: float = 0.0, *, rng: RNG = None, dtype: Any = np.float32) -> np.ndarray:
    """``torch.nn.init.kaiming_uniform_`` (fan-in mode, leaky-ReLU gain): ``U(-bound, bound)``.

    ``bound = sqrt(2 / (1 + a**2)) * sqrt(3 / fan_in(shape))``.

    Examples
    --------
    >>> w = kaiming_uniform((4, 2, 3), a=5 ** 0.5, rng=0)
    >>> bool(np.abs(w).max() <= 1 / np.sqrt(2 * 3))
    True
    """
    a = real_number(a, "a")
    shape = _shape(shape)
    dtype = _check_size("kaiming_uniform", shape, dtype)
    bound = math.sqrt(2.0 / (1.0 + a * a)) * math.sqrt(3.0 / fan_in(shape))
    return _rng(rng).uniform(-bound, bound, size=shape).astype(dtype)


def torch_default(
    shape: Shape, bias: bool = True, *, groups: int = 1, rng: RNG = None, dtype: Any = np.float32
) -> tuple[np.ndarray, np.ndarray | None]:
    """PyTorch's default initialisation of ``ConvTranspose*d`` (and ``Conv*d``): ``(weight, bias)``.

    The weight is ``kaiming_uniform_(a=sqrt(5))``, i.e. ``U(-1/sqrt(fan_in),
    1/sqrt(fan_in))``, and the bias, of shape ``(shape[1] * groups,)`` (``C_out``),
    is ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with the same fan-in (``None`` when
    ``bias=False``). The distributions are PyTorch's; the random streams are NumPy's.

    Examples
    --------
    >>> w, b = torch_default((3, 8, 4, 4), rng=0)         # fan_in = 8*4*4 = 128
    >>> w.shape, b.shape, w.dtype
    ((3, 8, 4, 4), (8,), dtype('float32'))
    >>> bool(np.abs(np.concatenate([w.ravel(), b])).max() <= 1 / np.sqrt(128))
    True
    """
    shape = _shape(shape)
    g = _groups(groups, shape)
    dtype = _check_size("torch_default", shape, dtype)
    bias = check_bool(bias, "bias")
    generator = _rng(rng)
    weight = kaiming_uniform(shape, a=math.sqrt(5.0), rng=generator, dtype=dtype)
    if not bias:
        return weight, None
    bound = 1.0 / math.sqrt(fan_in(shape))
    return weight, generator.uniform(-bound, bound, size=shape[1] * g).astype(dtype)


def _groups(groups: object, shape: tuple[int, ...]) -> int:
    g = positive_int(groups, "groups")
    if shape[0] % g:
        raise ValueError(f"groups must be a positive divisor of shape[0]={shape[0]} (C_in), got {g}")
    return g


def _channel_map(shape: tuple[int, ...], groups: int) -> np.ndarray:
    """``(C_in, C_out/G)`` ones where output channel ``co`` of a group copies input ``co mod C_in/G`` of it."""
    c_in, c_out_g = shape[:2]
    c_in_g = c_in // groups
    ci_local = np.arange(c_in) % c_in_g  # (C_in,)
    co_local = np.arange(c_out_g) % c_in_g  # (C_out/G,)
    return (ci_local[:, None] == co_local[None, :]).astype(np.float64)  # (C_in, C_out/G)


def _per_channel(kernel: np.ndarray, shape: tuple[int, ...], groups: int, dtype: Any) -> np.ndarray:
    """Place one ``kernel`` (``(*k)``) on every copying channel pair of :func:`_channel_map`."""
    channels = _channel_map(shape, groups)  # (C_in, C_out/G)
    weight = channels.reshape(*channels.shape, *(1,) * kernel.ndim) * kernel  # (C_in, C_out/G, *k)
    return weight.astype(floating_dtype(dtype))


def _stride(stride: object, nd: int, name: str = "stride") -> tuple[int, ...]:
    return int_tuple(stride, name, nd, minimum=1, rule="positive")


def bilinear_parameters(factor: int | Sequence[int]) -> dict[str, Any]:
    """Caffe's recipe for ``factor``-times up-sampling by (bi/tri)linear interpolation.

    ``kernel_size = 2*f - f % 2``, ``stride = f``, ``padding = ceil((f - 1)/2)``
    per axis (``"same"`` gives the same window), so that a layer with these
    parameters and :func:`bilinear` weights interpolates: see :func:`bilinear`.
    Ints in, ints out; a sequence gives tuples.

    Examples
    --------
    >>> bilinear_parameters(2)
    {'kernel_size': 4, 'stride': 2, 'padding': 1}
    >>> bilinear_parameters((3, 4))
    {'kernel_size': (5, 8), 'stride': (3, 4), 'padding': (1, 2)}
    """
    f = positive_sizes(factor, "factor")
    params = {
        "kernel_size": tuple(2 * v - v % 2 for v in f),
        "stride": f,
        "padding": tuple(v // 2 for v in f),  # = ceil((f - 1)/2)
    }
    return {k: v[0] for k, v in params.items()} if is_int(factor) else params


def bilinear(
    shape: Shape, stride: int | Sequence[int] | None = None, *, groups: int = 1, dtype: Any = np.float32
) -> np.ndarray:
    """Bilinear up-sampling weights (Caffe's ``BilinearFiller``, FCN), any factor, any dimensionality.

    Each axis gets the triangle ``1 - |t - (k - 1)/2| / s`` (clipped at 0) of
    half-width ``s = stride`` centred in the kernel; the N-d kernel is their
    product (bilinear in 2-d, trilinear in 3-d). ``stride=None`` uses Caffe's
    ``s = ceil(k/2)``. Channels are placed as the module docstring says.

    For the kernel sizes Caffe's filler is made for, ``k = 2s - s % 2``, this is
    exactly Caffe's filter. For other sizes Caffe's triangle is off-centre (for
    ``k = 3`` it gives ``[0.25, 0.75, 0.75]``, whose phases do not sum to 1);
    tconv centres it, so a larger kernel is the canonical one with zeros around
    it, and an odd kernel with an even stride interpolates on the grid where
    every ``s``-th output is an input (``align_corners``-like).

    Guarantee: with the parameters of :func:`bilinear_parameters` (``kernel_size
    = 2s - s % 2``, ``stride = s``, ``padding = ceil((s - 1)/2)`` or ``"same"``),
    every output whose taps all fall inside the input (all but about ``s`` cells at
    each border, where the zeros outside the input pull it down) is the linear
    interpolation of the input at half-pixel centres, ``x((o + 0.5)/s - 0.5)``:
    PyTorch's ``F.interpolate(..., mode="bilinear", align_corners=False)``, PIL's
    and OpenCV's resize. The taps of each output phase sum to 1, so a constant
    input gives the constant back (in the interior).

    Examples
    --------
    >>> w = bilinear((1, 1, 4), stride=2)            # k = 4, s = 2: Caffe's classic
    >>> w[0, 0]
    array([0.25, 0.75, 0.75, 0.25], dtype=float32)
    >>> import tconv
    >>> x = np.array([[[0., 4., 8., 4.]]])
    >>> tconv.conv_transpose(x, w.astype(float), stride=2, padding=1)[0, 0, 1:-1]   # interior
    array([1., 3., 5., 7., 7., 5.])
    """
    shape = _shape(shape)
    g = _groups(groups, shape)
    k = shape[2:]
    s = tuple(-(-kk // 2) for kk in k) if stride is None else _stride(stride, len(k))
    dtype = _check_size("bilinear", shape, dtype)
    kernel = np.ones(())
    for kk, ss in zip(k, s):
        t = np.arange(kk)
        axis = np.clip(1 - np.abs(t - (kk - 1) / 2) / ss, 0, None)  # (k,)
        kernel = np.multiply.outer(kernel, axis)  # (*k so far)
    return _per_channel(kernel, shape, g, dtype)


def _crop_begin(padding: PaddingArg, k: tuple[int, ...], s: tuple[int, ...]) -> tuple[int, ...]:
    """The crop at the start of each axis, which no padding form makes depend on the input size.

    Numbers give it; ``"same"`` crops ``k_eff - s`` cells in all whatever the input size,
    split by :func:`tconv.geometry.conv_transpose_geometry` (read here on a one-cell input).
    """
    nd = len(k)
    pad = parse_padding(padding, nd)
    if pad == "same":
        return conv_transpose_geometry((1,) * nd, k, s, "same").crop_begin
    return tuple(begin for begin, _ in crop_pairs(pad, nd))


def nearest(
    shape: Shape,
    stride: int | Sequence[int],
    padding: PaddingArg = 0,
    *,
    groups: int = 1,
    dtype: Any = np.float32,
) -> np.ndarray:
    """Nearest-neighbour up-sampling weights: each output copies the input element it falls in.

    Output ``o`` of a layer with this ``stride`` and ``padding`` reads input
    ``j`` through tap ``t = o - s*j + b`` (``b`` the crop at the start); the kernel
    is 1 on the taps ``b <= t < b + s`` of each axis and 0 elsewhere, which needs
    ``b + s <= kernel_size``.

    Guarantee: the layer's output is ``x[o // s]`` for every output ``o`` (borders
    included), i.e. ``np.repeat(x, s, axis)`` on each spatial axis, cut to the
    output size. With ``kernel_size = stride`` and ``padding=0`` the layer is
    exactly ``np.repeat``.

    Examples
    --------
    >>> import tconv
    >>> w = nearest((1, 1, 4), stride=2, padding=1)
    >>> w[0, 0]
    array([0., 1., 1., 0.], dtype=float32)
    >>> tconv.conv_transpose(np.array([[[1., 2., 3.]]]), w, stride=2, padding=1)
    array([[[1., 1., 2., 2., 3., 3.]]])
    """
    shape = _shape(shape)
    g = _groups(groups, shape)
    k = shape[2:]
    s = _stride(stride, len(k))
    dtype = _check_size("nearest", shape, dtype)
    begin = _crop_begin(padding, k, s)
    if any(b < 0 or b + ss > kk for b, ss, kk in zip(begin, s, k)):
        raise ValueError(
            f"nearest: every output must have exactly one tap, so the taps [crop_begin, crop_begin + stride) "
            f"must lie inside the kernel; got kernel_size={show(k)} (shape[2:]), stride={show(s)}, "
            f"crop_begin={show(begin)} "
            f"(from padding={show(padding)})"
        )
    kernel = np.ones(())
    for kk, ss, b in zip(k, s, begin):
        axis = np.zeros(kk)
        axis[b : b + ss] = 1.0
        kernel = np.multiply.outer(kernel, axis)  # (*k so far)
    return _per_channel(kernel, shape, g, dtype)


def icnr(
    shape: Shape,
    stride: int | Sequence[int],
    *,
    groups: int = 1,
    rng: RNG = None,
    initializer: Callable[[tuple[int, ...]], np.ndarray] | None = None,
    dtype: Any = np.float32,
) -> np.ndarray:
    """ICNR for transposed kernels: a random sub-kernel repeated over the stride phases.

    Aitken et al. (2017) initialise a sub-pixel convolution so that it starts as
    "convolution, then nearest-neighbour resize", free of checkerboard artifacts.
    For a transposed convolution this means drawing a sub-kernel ``v`` of shape
    ``(C_in, C_out/groups, *(kernel_size // stride))`` and repeating each of its
    taps ``stride`` times along each axis: ``w[..., t] = v[..., t // s]``
    (the Lasagne#862 proposal; no framework ships it). ``v`` comes from
    ``initializer(sub_shape)`` or, by default, PyTorch's default initialisation
    for a layer of that shape (:func:`torch_default`).

    Guarantee (for ``kernel_size`` a multiple of ``stride`` in every axis, which
    is required): for any padding ``b`` (the crop at the start), the layer's output
    is ``u[(o + b) // s]`` (zero outside ``u``) with ``u = conv_transpose(x, v)``
    (stride 1, no padding): the stride-1 layer with kernel ``v``, then nearest-neighbour
    up-sampling by ``s``. Every output phase therefore sees the same taps, so a
    constant input gives a constant output away from the borders.

    Examples
    --------
    >>> import tconv
    >>> w = icnr((1, 1, 4, 4), stride=2, rng=0)
    >>> bool(np.all(w[..., ::2, ::2] == w[..., 1::2, 1::2]))      # each tap repeated 2x2
    True
    >>> y = tconv.conv_transpose(np.ones((1, 1, 5, 5)), w, stride=2, padding=1)[0, 0]
    >>> bool(np.allclose(y[2:-2, 2:-2], y[2, 2]))                  # constant in the interior
    True
    """
    shape = _shape(shape)
    g = _groups(groups, shape)
    k = shape[2:]
    s = _stride(stride, len(k))
    if initializer is not None and not callable(initializer):
        raise TypeError(
            f"initializer must be None or a callable taking the sub-kernel's shape and returning its array, "
            f"got {initializer!r} of type {type(initializer).__name__}"
        )
    dtype = _check_size("icnr", shape, dtype)
    if any(kk % ss for kk, ss in zip(k, s)):
        raise ValueError(
            f"icnr: kernel_size must be a multiple of stride in every axis (each sub-kernel tap is repeated "
            f"stride times), got kernel_size={show(k)}, stride={show(s)}"
        )
    sub_shape = (*shape[:2], *(kk // ss for kk, ss in zip(k, s)))
    if initializer is None:
        sub = torch_default(sub_shape, bias=False, groups=g, rng=rng, dtype=dtype)[0]
    else:
        sub = np.asarray(initializer(sub_shape))
        if sub.shape != sub_shape:
            raise ValueError(
                f"icnr: initializer must return an array of shape {show(sub_shape)}, got {show(sub.shape)}"
            )
    for axis, ss in enumerate(s):
        sub = np.repeat(sub, ss, axis=2 + axis)  # tap t of the result is tap t // s of v
    return sub.astype(floating_dtype(dtype))
