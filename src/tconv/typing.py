"""The types of tconv's options, in one place (as opt_einsum's ``typing.py``).

The string options are ``Literal`` types; the keyword arguments that every
function built on an operator forwards to it are one ``TypedDict`` per operator,
so the parameter list of :func:`tconv.conv_transpose` (after ``bias``) is written
once for the functions that take it as keywords (the gradients, the Dask adapter,
the pictures): ``**options: Unpack[ConvTransposeOptions]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypedDict

from .geometry import PaddingArg

__all__ = ["ConvOptions", "ConvTransposeOptions", "Layout", "PaddingMode"]

#: Layout of the data arrays; weights always keep PyTorch's layout.
Layout = Literal["channels_first", "channels_last"]

#: The string forms of ``padding``.
PaddingMode = Literal["same", "valid"]


class ConvTransposeOptions(TypedDict, total=False):
    """The keyword arguments of :func:`tconv.conv_transpose` that describe the call (see it for each)."""

    stride: int | Sequence[int]
    padding: PaddingArg
    output_padding: int | Sequence[int]
    groups: int
    dilation: int | Sequence[int]
    output_size: int | Sequence[int] | None
    layout: Layout


class ConvOptions(TypedDict, total=False):
    """The keyword arguments of :func:`tconv.conv` that describe the call (see it for each)."""

    stride: int | Sequence[int]
    padding: PaddingArg
    dilation: int | Sequence[int]
    groups: int
    layout: Layout
