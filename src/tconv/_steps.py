"""The array steps of a translation plan: each runs on NumPy and prints itself as NumPy code.

A weight conversion is a short program of these steps (permute, flip, regroup,
dilate, ungroup); :meth:`Step.apply` runs it in :meth:`tconv.TranslationPlan.apply`
and :meth:`Step.code` writes the same program into the code the plan prints, so
what is tested (the plan, against the real frameworks, by running the printed
code) is what the user gets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .weights import dilate_weight, from_torch_layout, to_torch_layout, ungroup_weight

__all__ = ["ConvToTorch", "Dilate", "Flip", "Step", "TorchToConv", "Transpose", "Ungroup", "run", "code"]


class Step:
    """One array transformation: ``apply`` on NumPy, ``code`` as NumPy source, ``describe`` in words."""

    def apply(self, a: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def code(self, name: str) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Transpose(Step):
    """Permute the axes."""

    perm: tuple[int, ...]
    shape_comment: str = ""

    def apply(self, a: np.ndarray) -> np.ndarray:
        return np.transpose(a, self.perm)

    def code(self, name: str) -> list[str]:
        comment = f"  # {self.shape_comment}" if self.shape_comment else ""
        return [f"{name} = np.transpose({name}, {self.perm}){comment}"]

    def describe(self) -> str:
        return f"permute axes {self.perm}" + (f" -> {self.shape_comment}" if self.shape_comment else "")


@dataclass(frozen=True)
class Flip(Step):
    """Reverse the given (spatial) axes."""

    axes: tuple[int, ...]

    def apply(self, a: np.ndarray) -> np.ndarray:
        return np.flip(a, axis=self.axes) if self.axes else a

    def code(self, name: str) -> list[str]:
        return (
            [f"{name} = np.flip({name}, axis={self.axes})  # reverse the kernel in every spatial axis"]
            if self.axes
            else []
        )

    def describe(self) -> str:
        return f"flip the kernel along axes {self.axes}"


@dataclass(frozen=True)
class ConvToTorch(Step):
    """The flipped forward-convolution weight ``(C_out, C_in/g, *k)`` -> ``(C_in, C_out/g, *k)`` (flip included)."""

    groups: int

    def apply(self, a: np.ndarray) -> np.ndarray:
        return to_torch_layout(a, "conv", self.groups)

    def code(self, name: str) -> list[str]:
        g = self.groups
        return [
            f"c_out, c_in_g, *k = {name}.shape",
            f"{name} = {name}.reshape({g}, c_out // {g}, c_in_g, *k)  # (G, C_out/G, C_in/G, *k)",
            f"{name} = np.swapaxes({name}, 1, 2).reshape({g} * c_in_g, c_out // {g}, *k)  # (C_in, C_out/G, *k)",
            f"{name} = np.flip({name}, axis=tuple(range(2, {name}.ndim)))  # un-flip the correlation kernel",
        ]

    def describe(self) -> str:
        return f"un-flip the correlation kernel and swap its channel axes (groups={self.groups})"


@dataclass(frozen=True)
class TorchToConv(Step):
    """``(C_in, C_out/g, *k)`` -> the flipped forward-convolution weight ``(C_out, C_in/g, *k)``."""

    groups: int

    def apply(self, a: np.ndarray) -> np.ndarray:
        return from_torch_layout(a, "conv", self.groups)

    def code(self, name: str) -> list[str]:
        g = self.groups
        return [
            f"c_in, c_out_g, *k = {name}.shape",
            f"{name} = {name}.reshape({g}, c_in // {g}, c_out_g, *k)  # (G, C_in/G, C_out/G, *k)",
            f"{name} = np.swapaxes({name}, 1, 2).reshape({g} * c_out_g, c_in // {g}, *k)  # (C_out, C_in/G, *k)",
            f"{name} = np.flip({name}, axis=tuple(range(2, {name}.ndim)))  # the correlation kernel is flipped",
        ]

    def describe(self) -> str:
        return f"flip the kernel and swap its channel axes into a correlation kernel (groups={self.groups})"


@dataclass(frozen=True)
class Dilate(Step):
    """Write the dilation into a ``(C_in, C_out/g, *k)`` kernel (zeros between taps)."""

    dilation: tuple[int, ...]

    def apply(self, a: np.ndarray) -> np.ndarray:
        return dilate_weight(a, self.dilation)

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
        return ungroup_weight(a, self.groups)

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


def run(steps: list[Step], a: np.ndarray) -> np.ndarray:
    """Apply ``steps`` in order."""
    for step in steps:
        a = step.apply(a)
    return a


def code(steps: list[Step], name: str) -> list[str]:
    """The NumPy source lines of ``steps`` transforming variable ``name``."""
    lines = []
    for step in steps:
        lines += step.code(name)
    return lines


def to_torch_steps(layout: str, nd: int, groups: int) -> list[Step]:
    """Steps from a named layout (:data:`tconv.weights.WEIGHT_LAYOUTS`) to ``(C_in, C_out/g, *k)``."""
    spatial = tuple(range(nd))
    if layout in ("torch", "onnx"):
        return []
    if layout in ("tensorflow", "keras"):
        return [Transpose((nd + 1, nd, *spatial), "(C_in, C_out/G, *k)")]
    if layout == "jax":
        return [Transpose((nd + 1, nd, *spatial), "(C_out, C_in/G, *k)"), ConvToTorch(groups)]
    if layout == "conv":
        return [ConvToTorch(groups)]
    raise ValueError(f"unknown weight layout {layout!r}")


def from_torch_steps(layout: str, nd: int, groups: int) -> list[Step]:
    """Steps from ``(C_in, C_out/g, *k)`` to a named layout."""
    spatial = tuple(range(2, nd + 2))
    if layout in ("torch", "onnx"):
        return []
    if layout in ("tensorflow", "keras"):
        return [Transpose((*spatial, 1, 0), "(*k, C_out/G, C_in)")]
    if layout == "jax":
        return [TorchToConv(groups), Transpose((*spatial, 1, 0), "(*k, C_in/G, C_out)")]
    if layout == "conv":
        return [TorchToConv(groups)]
    raise ValueError(f"unknown weight layout {layout!r}")
