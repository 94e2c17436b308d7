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
transposed convolution's input channels): :class:`Correlation`.

With groups, the channel axis that is split (``C_out/groups`` or ``C_in/groups``)
holds one group's channels; the groups follow each other along the other channel
axis, in order. :func:`ungroup_weight` turns a grouped weight into the equivalent
dense block-diagonal one, for frameworks without groups, and :func:`dilate_weight`
writes the dilation into the kernel, for frameworks or kernels without dilation.

Each layout is written once, as the program of :class:`Step` objects that turns
tconv's layout into it (:func:`steps_from_torch`; the way back,
:func:`steps_to_torch`, is its inverse). A step runs on NumPy (:meth:`Step.apply`)
and prints itself as NumPy source (:meth:`Step.code`), side by side: the arrays of
:func:`convert_weight` and :meth:`tconv.translation.TranslationPlan.apply` and the
``convert_weight`` function that :meth:`~tconv.translation.TranslationPlan.to_code`
prints come from the same steps, and :data:`WEIGHT_LAYOUTS` is read off them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._options import effective
from ._validate import fits_budget, int_tuple, positive_int, show, weight_array
from .geometry import effective_kernel_size

__all__ = [
    "WEIGHT_LAYOUTS",
    "convert_weight",
    "dilate_weight",
    "from_torch_layout",
    "to_torch_layout",
    "ungroup_weight",
]

_TORCH = "(C_in, C_out/G, *k)"  # tconv's layout, as the shape comments of the printed code name it
_CONV = "(C_out, C_in/G, *k)"


def _group_size(channels: int, groups: int, which: str, shape: tuple[int, ...]) -> int:
    if channels % groups:
        raise ValueError(
            f"groups={groups} must divide the {which} channels {channels} of a weight of shape {show(shape)}"
        )
    return channels // groups


def _check_grown(a: np.ndarray, shape: tuple[int, ...], cause: str) -> None:
    """Refuse, before it is allocated, a weight that a parameter (``cause``) makes larger than the
    ``memory_budget`` option: the array of ``shape`` made from ``a`` (a dilated or ungrouped weight)."""
    if shape != a.shape:
        what = f"{cause} turns the weight of shape {show(a.shape)} into one of shape {show(shape)}"
        fits_budget(math.prod(shape) * a.dtype.itemsize, what, effective().memory_budget)


class Step:
    """One array transformation: ``apply`` on NumPy, ``code`` as NumPy source, ``describe`` in words."""

    @property
    def shape(self) -> str:
        """The shape after the step, as the printed code's comments name it ("" when they do not)."""
        return ""

    def apply(self, a: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def code(self, name: str) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse(self, shape_before: str) -> Step:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Transpose(Step):
    """Permute the axes; ``shape`` names the result."""

    perm: tuple[int, ...]
    shape: str = ""

    def apply(self, a: np.ndarray) -> np.ndarray:
        return np.transpose(a, self.perm)

    def code(self, name: str) -> list[str]:
        comment = f"  # {self.shape}" if self.shape else ""
        return [f"{name} = np.transpose({name}, {self.perm}){comment}"]

    def describe(self) -> str:
        return f"permute axes {self.perm}" + (f" -> {self.shape}" if self.shape else "")

    def inverse(self, shape_before: str) -> Step:
        return Transpose(tuple(int(v) for v in np.argsort(self.perm)), shape_before)


@dataclass(frozen=True)
class Correlation(Step):
    """Swap the two channel axes group by group and flip the kernel in space.

    ``(C_in, C_out/g, *k)`` <-> the flipped forward-convolution (correlation) weight
    ``(C_out, C_in/g, *k)``: the same array operation both ways (it is its own
    inverse); ``into`` says which way the printed code and the words name it.
    """

    groups: int
    into: bool = True  # into the correlation kernel (else out of it)

    @property
    def shape(self) -> str:
        return _CONV if self.into else _TORCH

    def _axes(self) -> tuple[str, str]:
        """The names of the first two axes before the step."""
        return ("C_in", "C_out") if self.into else ("C_out", "C_in")

    def apply(self, a: np.ndarray) -> np.ndarray:
        g = self.groups
        first, second_g, *k = a.shape
        first_g = _group_size(first, g, "input" if self.into else "output", a.shape)
        a = a.reshape(g, first_g, second_g, *k)  # (G, first/G, second/G, *k)
        a = np.swapaxes(a, 1, 2).reshape(g * second_g, first_g, *k)  # (second, first/G, *k)
        return np.flip(a, axis=tuple(range(2, a.ndim)))

    def code(self, name: str) -> list[str]:
        g = self.groups
        first, second = self._axes()
        v1, v2 = first.lower(), f"{second.lower()}_g"
        flip = "the correlation kernel is flipped" if self.into else "un-flip the correlation kernel"
        return [
            f"{v1}, {v2}, *k = {name}.shape",
            f"{name} = {name}.reshape({g}, {v1} // {g}, {v2}, *k)  # (G, {first}/G, {second}/G, *k)",
            f"{name} = np.swapaxes({name}, 1, 2).reshape({g} * {v2}, {v1} // {g}, *k)  # ({second}, {first}/G, *k)",
            f"{name} = np.flip({name}, axis=tuple(range(2, {name}.ndim)))  # {flip}",
        ]

    def describe(self) -> str:
        if self.into:
            return f"flip the kernel and swap its channel axes into a correlation kernel (groups={self.groups})"
        return f"un-flip the correlation kernel and swap its channel axes (groups={self.groups})"

    def inverse(self, shape_before: str) -> Step:
        return Correlation(self.groups, not self.into)


@dataclass(frozen=True)
class Dilate(Step):
    """Write the dilation into a ``(C_in, C_out/g, *k)`` kernel (zeros between taps)."""

    dilation: tuple[int, ...]

    def apply(self, a: np.ndarray) -> np.ndarray:
        spans = tuple(map(effective_kernel_size, a.shape[2:], self.dilation))
        _check_grown(a, (*a.shape[:2], *spans), f"dilation={show(self.dilation)}")
        out = np.zeros((*a.shape[:2], *spans), dtype=a.dtype)  # (C_in, C_out/G, *k_eff)
        taps = (slice(None), slice(None), *(slice(None, None, d) for d in self.dilation))  # every d-th cell
        out[taps] = a
        return out

    def code(self, name: str) -> list[str]:
        taps = ", ".join(f"::{d}" for d in self.dilation)
        spans = ", ".join(f"{d} * ({name}.shape[{2 + j}] - 1) + 1" for j, d in enumerate(self.dilation))
        return [
            f"dilated = np.zeros({name}.shape[:2] + ({spans},), dtype={name}.dtype)  # (C_in, C_out/G, *k_eff)",
            f"dilated[:, :, {taps}] = {name}  # dilation {self.dilation} written into the kernel",
            f"{name} = dilated",
        ]

    def describe(self) -> str:
        return f"write dilation {self.dilation} into the kernel (zeros between taps), then use dilation 1"


@dataclass(frozen=True)
class Ungroup(Step):
    """A grouped ``(C_in, C_out/g, *k)`` kernel -> the dense block-diagonal ``(C_in, C_out, *k)``."""

    groups: int

    def apply(self, a: np.ndarray) -> np.ndarray:
        g = self.groups
        c_in, c_out_g = a.shape[:2]
        c_in_g = _group_size(c_in, g, "input", a.shape)
        _check_grown(a, (c_in, c_out_g * g, *a.shape[2:]), f"groups={g}")
        dense = np.zeros((c_in, c_out_g * g, *a.shape[2:]), dtype=a.dtype)  # (C_in, C_out, *k)
        for group in range(g):
            rows = slice(group * c_in_g, (group + 1) * c_in_g)
            dense[rows, group * c_out_g : (group + 1) * c_out_g] = a[rows]
        return dense

    def code(self, name: str) -> list[str]:
        g = self.groups
        return [
            f"c_in, c_out_g, *k = {name}.shape",
            f"dense = np.zeros((c_in, {g} * c_out_g, *k), dtype={name}.dtype)  # (C_in, C_out, *k), block-diagonal",
            f"for group in range({g}):",
            f"    rows = slice(group * (c_in // {g}), (group + 1) * (c_in // {g}))",
            f"    dense[rows, group * c_out_g:(group + 1) * c_out_g] = {name}[rows]",
            f"{name} = dense",
        ]

    def describe(self) -> str:
        return f"expand groups={self.groups} into a dense block-diagonal kernel (the target has no groups)"


def run_steps(steps: Sequence[Step], a: np.ndarray) -> np.ndarray:
    """Apply ``steps`` in order."""
    for step in steps:
        a = step.apply(a)
    return a


def steps_code(steps: Sequence[Step], name: str) -> list[str]:
    """The NumPy source lines of ``steps`` transforming the variable ``name``."""
    return [line for step in steps for line in step.code(name)]


# --- the layouts: each one the program of steps from tconv's layout to it --------------------------------

_ALIASES = {"onnx": "torch", "keras": "tensorflow"}


def _layout(name: object, parameter: str) -> str:
    if not isinstance(name, str) or name not in ("torch", "onnx", "tensorflow", "keras", "jax", "conv"):
        raise ValueError(f"{parameter} must be one of {tuple(WEIGHT_LAYOUTS)}, got {name!r}")
    return _ALIASES.get(name, name)


def steps_from_torch(layout: str, nd: int, groups: int = 1) -> list[Step]:
    """The steps from tconv's ``(C_in, C_out/groups, *k)`` to a named layout (``nd`` spatial axes)."""
    channels_last = (*range(2, nd + 2), 1, 0)  # the two channel axes moved to the end, swapped
    programs: dict[str, list[Step]] = {
        "torch": [],
        "tensorflow": [Transpose(channels_last, "(*k, C_out/G, C_in)")],
        "conv": [Correlation(groups)],
        "jax": [Correlation(groups), Transpose(channels_last, "(*k, C_in/G, C_out)")],
    }
    return programs[_layout(layout, "layout")]


def steps_to_torch(layout: str, nd: int, groups: int = 1) -> list[Step]:
    """The steps from a named layout to tconv's ``(C_in, C_out/groups, *k)``: the inverse program."""
    program = steps_from_torch(layout, nd, groups)
    before = [_TORCH] + [step.shape for step in program[:-1]]
    return [step.inverse(shape) for step, shape in reversed(list(zip(program, before)))]


def _shape_in_words(layout: str) -> str:
    program = steps_from_torch(layout, 1)
    shape = (program[-1].shape if program else _TORCH).replace("/G", "/groups")
    return shape + (", spatially flipped" if any(isinstance(s, Correlation) for s in program) else "")


#: The named weight layouts and their shapes (``k`` = the spatial kernel axes).
WEIGHT_LAYOUTS = {
    name: _shape_in_words(_ALIASES.get(name, name)) for name in ("torch", "onnx", "tensorflow", "keras", "jax", "conv")
}


def _weight(weight: Any) -> np.ndarray:
    return weight_array(weight)  # the check of every weight (conv_transpose's), in any layout


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
    _layout(layout, "layout")
    w = _weight(weight)
    g = positive_int(groups, "groups")
    canonical = run_steps(steps_to_torch(layout, w.ndim - 2, g), w)  # (C_in, C_out/G, *k)
    _group_size(canonical.shape[0], g, "input", w.shape)
    return canonical


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
    _layout(layout, "layout")
    w = _weight(weight)  # (C_in, C_out/G, *k)
    g = positive_int(groups, "groups")
    _group_size(w.shape[0], g, "input", w.shape)
    return run_steps(steps_from_torch(layout, w.ndim - 2, g), w)


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
    return Ungroup(positive_int(groups, "groups")).apply(w)


def dilate_weight(weight: Any, dilation: int | tuple[int, ...]) -> np.ndarray:
    """Write the dilation into the kernel: ``dilation - 1`` zeros between taps.

    A transposed convolution with kernel ``w`` and dilation ``d`` equals one with
    dilation 1 and this kernel of size ``d*(k - 1) + 1``: used for frameworks that
    cannot combine dilation with the other parameters (Keras forbids ``strides > 1``
    together with ``dilation_rate > 1``) or whose kernels have none (TensorFlow's CPU
    kernels outside oneDNN).

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
    return Dilate(int_tuple(dilation, "dilation", w.ndim - 2, minimum=1, rule="positive")).apply(w)
