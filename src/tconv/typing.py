"""Literal types of tconv's string options (one place, as in opt_einsum's ``typing.py``)."""

from __future__ import annotations

from typing import Literal

__all__ = ["Layout", "PaddingMode"]

#: Layout of the data arrays; weights always keep PyTorch's layout.
Layout = Literal["channels_first", "channels_last"]

#: The string forms of ``padding``.
PaddingMode = Literal["same", "valid"]
