"""Weight layouts of transposed convolution in every framework, and exact converters between them.

Every framework stores the same numbers in a different order. tconv's canonical
layout is PyTorch's, ``(C_in, C_out/groups, *k)``; each named layout below is one
permutation (and, for two of them, a spatial flip) of it:

- ``"torch"`` (alias ``"onnx"``): ``(C_in, C_out/groups, *k)``. PyTorch's
  ``ConvTranspose*d`` and ``F.conv_transpose*d``, tconv, ONNX ``ConvTranspose``.
- ``"tensorflow"`` (alias ``"keras"``): ``(*k, C_out/groups, C_in)``. The filters of
  ``tf.nn.conv*_transpose``, the kernel of Keras ``Conv*Transpose``, and the kernel of
  ``lax.conv_transpose(..., transpose_kernel=True)`` with its default dimension numbers.
- ``"jax"``: ``(*k, C_in/groups, C_out)``, spatially flipped. The kernel of
  ``lax.conv_transpose`` with its default ``transpose_kernel=False``; for
  ``groups > 1`` the HWIO kernel of ``lax.conv_general_dilated(lhs_dilation=stride,
  feature_group_count=groups)``.
- ``"conv"``: ``(C_out, C_in/groups, *k)``, spatially flipped. The forward-convolution
  weight of the equivalent zero-insertion convolution (``conv_general_dilated``'s
  default OIHW).

Why two of them are flipped: PyTorch, TensorFlow, Keras and ONNX define the
transposed convolution as the gradient of a convolution with the given weight, so
the weight is *scattered*; ``lax.conv_transpose`` (by default) and
``conv_general_dilated`` *correlate* the zero-inserted input with the weight, so
the same result needs the kernel reversed in every spatial axis (and the two
channel axes swapped, because the correlation's input channels are the
transposed convolution's input channels).

With groups, the channel axis that is split (``C_out/groups`` or ``C_in/groups``)
holds one group's channels; the groups follow each other along the other channel
axis, in order. :func:`ungroup_weight` turns a grouped weight into the equivalent
dense block-diagonal one, for frameworks without groups, and :func:`dilate_weight`
writes the dilation into the kernel, for frameworks or kernels without dilation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import as_int, int_tuple, show

__all__ = [
    "WEIGHT_LAYOUTS",
    "convert_weight",
    "dilate_weight",
    "from_torch_layout",
    "to_torch_layout",
    "ungroup_weight",
]

#: The named weight layouts and their shapes (``k`` = the spatial kernel axes).
WEIGHT_LAYOUTS = {
    "torch": "(C_in, C_out/groups, *k)",
    "onnx": "(C_in, C_out/groups, *k)",
    "tensorflow": "(*k, C_out/groups, C_in)",
    "keras": "(*k, C_out/groups, C_in)",
    "jax": "(*k, C_in/groups, C_out), spatially flipped",
    "conv": "(C_out, C_in/groups, *k), spatially flipped",
}

_ALIASES = {"onnx": "torch", "keras": "tensorflow"}


def _layout(name: object, parameter: str) -> str:
    if name not in WEIGHT_LAYOUTS:
        raise ValueError(f"{parameter} must be one of {tuple(WEIGHT_LAYOUTS)}, got {name!r}")
    return _ALIASES.get(name, name)  # type: ignore[arg-type, return-value]


def _weight(weight: Any) -> np.ndarray:
    w = np.asarray(weight)
    if w.ndim < 2:
        raise ValueError(f"weight must have at least 2 dimensions (the two channel axes), got shape {show(w.shape)}")
    return w


def _groups(groups: object) -> int:
    g = as_int(groups, "groups")
    if g < 1:
        raise ValueError(f"groups must be a positive integer, got {g}")
    return g


def _spatial_flip(w: np.ndarray, axes: range) -> np.ndarray:
    return np.flip(w, axis=tuple(axes)) if len(axes) else w


def to_torch_layout(weight: Any, layout: str, groups: int = 1) -> np.ndarray:
    """Convert a weight from ``layout`` to tconv's (PyTorch's) ``(C_in, C_out/groups, *k)``.

    Parameters
    ----------
    weight : array_like
        The weight in ``layout`` (see :data:`WEIGHT_LAYOUTS`).
    layout : {"torch", "onnx", "tensorflow", "keras", "jax", "conv"}
    groups : int
        Needed by the layouts whose channel order depends on it (``"jax"``, ``"conv"``).

    Returns
    -------
    ndarray
        A view or copy; the input is never modified.

    Examples
    --------
    A Keras ``Conv2DTranspose(filters=8, kernel_size=3)`` kernel for 4 input channels:

    >>> import numpy as np
    >>> to_torch_layout(np.zeros((3, 3, 8, 4)), "keras").shape
    (4, 8, 3, 3)
    """
    source = _layout(layout, "layout")
    w = _weight(weight)
    g = _groups(groups)
    nd = w.ndim - 2
    if source == "torch":
        return w
    if source == "tensorflow":
        return np.transpose(w, (nd + 1, nd, *range(nd)))  # (*k, Co/g, Ci) -> (Ci, Co/g, *k)
    if source == "jax":
        w = np.transpose(w, (nd + 1, nd, *range(nd)))  # (*k, Ci/g, Co) -> (Co, Ci/g, *k), the "conv" layout
    # "conv": (Co, Ci/g, *k) flipped -> (Ci, Co/g, *k)
    c_out, c_in_g = w.shape[:2]
    if c_out % g:
        raise ValueError(f"groups={g} must divide the output channels {c_out} of a weight of shape {show(w.shape)}")
    kernel = w.shape[2:]
    w = w.reshape(g, c_out // g, c_in_g, *kernel)  # (G, Co/g, Ci/g, *k)
    w = np.swapaxes(w, 1, 2)  # (G, Ci/g, Co/g, *k)
    w = w.reshape(g * c_in_g, c_out // g, *kernel)  # (Ci, Co/g, *k)
    return _spatial_flip(w, range(2, 2 + nd))


def from_torch_layout(weight: Any, layout: str, groups: int = 1) -> np.ndarray:
    """Convert a weight from tconv's (PyTorch's) ``(C_in, C_out/groups, *k)`` to ``layout``.

    The inverse of :func:`to_torch_layout`.

    Examples
    --------
    The kernel ``lax.conv_transpose`` needs (default ``transpose_kernel=False``) for a
    PyTorch ``ConvTranspose1d(2, 3, kernel_size=4)`` weight is flipped and HIO:

    >>> import numpy as np
    >>> w = np.arange(24.0).reshape(2, 3, 4)
    >>> k = from_torch_layout(w, "jax")
    >>> k.shape
    (4, 2, 3)
    >>> bool(k[0, 1, 2] == w[1, 2, 3])
    True
    """
    target = _layout(layout, "layout")
    w = _weight(weight)
    g = _groups(groups)
    nd = w.ndim - 2
    if target == "torch":
        return w
    if target == "tensorflow":
        return np.transpose(w, (*range(2, 2 + nd), 1, 0))  # (Ci, Co/g, *k) -> (*k, Co/g, Ci)
    c_in, c_out_g = w.shape[:2]
    if c_in % g:
        raise ValueError(f"groups={g} must divide the input channels {c_in} of a weight of shape {show(w.shape)}")
    kernel = w.shape[2:]
    w = w.reshape(g, c_in // g, c_out_g, *kernel)  # (G, Ci/g, Co/g, *k)
    w = np.swapaxes(w, 1, 2)  # (G, Co/g, Ci/g, *k)
    w = w.reshape(g * c_out_g, c_in // g, *kernel)  # (Co, Ci/g, *k)
    w = _spatial_flip(w, range(2, 2 + nd))  # the "conv" layout
    if target == "jax":
        w = np.transpose(w, (*range(2, 2 + nd), 1, 0))  # (Co, Ci/g, *k) -> (*k, Ci/g, Co)
    return w


def convert_weight(weight: Any, source: str, target: str, groups: int = 1) -> np.ndarray:
    """Convert a transposed-convolution weight between two frameworks' layouts.

    Parameters
    ----------
    weight : array_like
    source, target : {"torch", "onnx", "tensorflow", "keras", "jax", "conv"}
        See :data:`WEIGHT_LAYOUTS` and the module docstring.
    groups : int
        The convolution's groups (the ``"jax"`` and ``"conv"`` layouts order their
        channels by group).

    Returns
    -------
    ndarray
        The same transposed convolution's weight in ``target``'s layout.

    Examples
    --------
    A PyTorch ``ConvTranspose2d(4, 8, kernel_size=3)`` weight as a Keras kernel and back:

    >>> import numpy as np
    >>> w = np.random.default_rng(0).standard_normal((4, 8, 3, 3))
    >>> k = convert_weight(w, "torch", "keras")
    >>> k.shape
    (3, 3, 8, 4)
    >>> bool(np.array_equal(convert_weight(k, "keras", "torch"), w))
    True

    Grouped weights keep their groups: a depthwise PyTorch weight with 6 channels
    (``groups=6``) as the flipped HWIO kernel of ``lax.conv_general_dilated``:

    >>> convert_weight(np.zeros((6, 1, 3, 3)), "torch", "jax", groups=6).shape
    (3, 3, 1, 6)
    """
    _layout(source, "source")
    _layout(target, "target")
    return from_torch_layout(to_torch_layout(weight, source, groups), target, groups)


def ungroup_weight(weight: Any, groups: int) -> np.ndarray:
    """The dense (``groups=1``) weight of a grouped transposed convolution.

    A grouped transposed convolution equals an ungrouped one whose weight is
    block-diagonal: input channel ``c`` of group ``g`` connects only to that group's
    output channels. This is how a grouped layer is expressed in frameworks without
    groups (TensorFlow, Keras, ``lax.conv_transpose``), exactly, at ``groups`` times
    the multiplications.

    Parameters
    ----------
    weight : array_like, shape (C_in, C_out/groups, *k)
        tconv's (PyTorch's) layout.
    groups : int

    Returns
    -------
    ndarray, shape (C_in, C_out, *k)

    Examples
    --------
    >>> import numpy as np
    >>> w = np.ones((4, 1, 2))                    # 4 channels, groups=4 (depthwise)
    >>> dense = ungroup_weight(w, 4)
    >>> dense.shape
    (4, 4, 2)
    >>> dense[:, :, 0]
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]])
    """
    w = _weight(weight)
    g = _groups(groups)
    c_in, c_out_g = w.shape[:2]
    if c_in % g:
        raise ValueError(f"groups={g} must divide the input channels {c_in} of a weight of shape {show(w.shape)}")
    c_in_g = c_in // g
    dense = np.zeros((c_in, c_out_g * g, *w.shape[2:]), dtype=w.dtype)  # (Ci, Co, *k)
    for group in range(g):
        rows = slice(group * c_in_g, (group + 1) * c_in_g)
        dense[rows, group * c_out_g : (group + 1) * c_out_g] = w[rows]
    return dense


def dilate_weight(weight: Any, dilation: int | tuple[int, ...]) -> np.ndarray:
    """Write the dilation into the kernel: ``dilation - 1`` zeros between taps.

    A transposed convolution with kernel ``w`` and dilation ``d`` equals one with
    dilation 1 and this kernel of size ``d*(k - 1) + 1``: used for frameworks that
    cannot combine dilation with the other parameters (Keras forbids ``strides > 1``
    together with ``dilation_rate > 1``).

    Parameters
    ----------
    weight : array_like, shape (C_in, C_out/groups, *k)
    dilation : int or tuple of int
        Positive, per spatial axis.

    Returns
    -------
    ndarray, shape (C_in, C_out/groups, *k_eff)

    Examples
    --------
    >>> import numpy as np
    >>> dilate_weight(np.array([[[1., 2., 3.]]]), 2)
    array([[[1., 0., 2., 0., 3.]]])
    """
    w = _weight(weight)
    nd = w.ndim - 2
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    spans = tuple(di * (ki - 1) + 1 for ki, di in zip(w.shape[2:], d))
    out = np.zeros((*w.shape[:2], *spans), dtype=w.dtype)  # (Ci, Co/g, *k_eff)
    out[(slice(None), slice(None), *(slice(None, None, di) for di in d))] = w
    return out
