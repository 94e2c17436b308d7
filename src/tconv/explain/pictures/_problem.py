"""The problem a picture shows and its numbers (no matplotlib here)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..._validate import split_options
from ...geometry import Geometry
from ...ops import conv_transpose, prepare_arrays, resolve_geometry

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

    from ...typing import ConvTransposeOptions
from .._format import collapse


@dataclass(frozen=True)
class Problem:
    """The arrays, the resolved geometry and the operator's output of one picture."""

    x: np.ndarray  # (C_in, *i)
    w: np.ndarray  # (C_in, C_out/G, *k)
    geometry: Geometry
    groups: int
    padding: Any  # as the caller wrote them, for the titles
    output_padding: Any
    y: np.ndarray  # (C_out, *o): tconv.conv_transpose
    channel: int  # the output channel shown

    @property
    def c_in_g(self) -> int:
        return self.x.shape[0] // self.groups

    @property
    def group(self) -> int:
        return self.channel // self.w.shape[1]

    @property
    def channel_in_group(self) -> int:
        return self.channel % self.w.shape[1]

    @property
    def in_channels(self) -> list[int]:
        """The input channels that feed the shown output channel (its group's)."""
        return list(range(self.group * self.c_in_g, (self.group + 1) * self.c_in_g))

    @property
    def several_channels(self) -> bool:
        return self.groups > 1 or self.x.shape[0] > 1 or self.y.shape[0] > 1

    def describe(self) -> str:
        g = self.geometry
        text = (
            f"input {'x'.join(map(str, g.input_size))}, kernel {'x'.join(map(str, g.kernel_size))}, "
            f"stride {collapse(g.stride)}, padding {self.padding!r}, output_padding {self.output_padding!r}, "
            f"dilation {collapse(g.dilation)}"
        )
        if self.several_channels:
            text += f", channels {self.x.shape[0]}->{self.y.shape[0]}, groups {self.groups}"
        return text


def problem(x: Any, w: Any, *, channel: int = 0, **options: Unpack[ConvTransposeOptions]) -> Problem:
    """The problem every picture of a transposed convolution shows, checked and computed once.

    Parameters
    ----------
    x, w : array_like
        ``(C_in, *i)`` and ``(C_in, C_out/groups, *k)`` (1-d or 2-d), or one channel:
        ``x`` of shape ``i`` and ``w`` of shape ``k``.
    channel : int
        The output channel the views show.
    **options
        ``stride``, ``padding``, ``output_padding``, ``groups``, ``dilation``,
        ``output_size``: as for :func:`tconv.conv_transpose`
        (:class:`tconv.typing.ConvTransposeOptions`; the pictures are channels-first).

    Examples
    --------
    >>> import numpy as np
    >>> problem(np.ones((2, 2)), np.ones((3, 3)), stride=2).geometry.output_size
    (5, 5)
    """
    x = np.asarray(x, dtype=float)
    w = np.asarray(w, dtype=float)
    if w.ndim == x.ndim and x.ndim in (1, 2):  # one channel: x (*i), w (*k)
        x, w = x[None], w[None, None]
    if w.ndim not in (3, 4) or x.ndim != w.ndim - 1:
        raise ValueError(
            "the pictures show 1-d or 2-d problems: x of shape (C_in, *i) with w of shape "
            f"(C_in, C_out/groups, *k), or x of shape i with w of shape k; got shapes {x.shape} and {w.shape}"
        )
    groups, layout, window = split_options("conv_transpose", options, "problem")
    if layout != "channels_first":
        raise ValueError(f"the pictures show channels-first problems, got layout={layout!r}")
    x_batched, operands = prepare_arrays("conv_transpose", x, w, None, groups, layout, weight_in_axis=0)
    g = resolve_geometry("conv_transpose", x_batched.shape, operands, window)
    y = conv_transpose(x, w, None, **options)  # (C_out, *o)
    if not 0 <= channel < y.shape[0]:
        raise ValueError(f"channel must be an output channel in [0, {y.shape[0]}), got {channel}")
    return Problem(x, w, g, operands.groups, window.get("padding", 0), window.get("output_padding", 0), y, channel)


def element(position: Sequence[int] | int | None, size: Sequence[int], name: str) -> tuple[int, ...]:
    """An index into an array of shape ``size`` (the first element by default)."""
    if position is None:
        return (0,) * len(size)
    pos = (position,) if isinstance(position, (int, np.integer)) else tuple(position)
    if len(pos) != len(size) or not all(0 <= q < n for q, n in zip(pos, size)):
        raise ValueError(f"{name} must be an index into an array of shape {tuple(size)}, got {position!r}")
    return tuple(int(q) for q in pos)


def middle(size: Sequence[int]) -> tuple[int, ...]:
    """The middle element of an array of shape ``size``."""
    return tuple(n // 2 for n in size)
