"""The pieces every framework's printed code is made of (see :meth:`tconv.translation.TranslationPlan.to_code`).

A framework module's ``target(spec)`` writes the statements of its call (the
target's ``body``); :meth:`tconv.frameworks._common.Target.code` wraps them with
:func:`program`: the imports, the ``convert_weight`` function the plan's weight
steps print, and ``conv_transpose(x, weight, bias=None)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._common import DataLayout

__all__ = [
    "bias_lines",
    "function",
    "keywords",
    "layer_program",
    "pad_crop_lines",
    "pad_then_crop",
    "post_note",
    "program",
]


def keywords(arguments: Mapping[str, Any]) -> str:
    """``name=value, ...`` with the values' ``repr``."""
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())


def function(name: str, doc: str, body: Sequence[str], signature: str = "x, weight, bias=None") -> str:
    return "\n".join([f"def {name}({signature}):", f'    """{doc}"""', *("    " + line for line in body)])


def program(imports: Sequence[str], convert_weight: str, doc: str, body: Sequence[str], *functions: str) -> str:
    """The printed module: imports, ``convert_weight``, any ``functions``, then ``conv_transpose(x, weight, bias)``."""
    parts = [convert_weight, *functions, function("conv_transpose", doc, body)]
    return "\n".join(imports) + "\n\n\n" + "\n\n\n".join(parts)


def layer_program(imports: Sequence[str], convert_weight: str, doc: str, lines: Sequence[str], *classes: str) -> str:
    """The printed module of a framework with layers: imports, ``convert_weight``, any ``classes``, then
    ``make_layer(weight, bias=None)``, whose ``lines`` build ``layer`` (returned) with the weights loaded."""
    parts = [convert_weight, *classes, function("make_layer", doc, [*lines, "return layer"], "weight, bias=None")]
    return "\n".join(imports) + "\n\n\n" + "\n\n\n".join(parts)


def pad_then_crop(post: Sequence[tuple[int, int]]) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """``(zeros, crops)``: the cells to append at ``(begin, end)`` of each axis (the negative entries of ``post``),
    then the cells to crop (its positive entries). Padding first keeps every crop inside the array, even for a
    window lying in the zero region."""
    zeros = tuple((max(-b, 0), max(-e, 0)) for b, e in post)
    crops = tuple((max(b, 0), max(e, 0)) for b, e in post)
    return zeros, crops


def bias_lines(layout: DataLayout) -> list[str]:
    """Add an optional ``bias`` (one value per channel) to ``y``, after the call."""
    if layout.channel_axis == len(layout.from_tconv) - 1:
        return ["if bias is not None:", "    y = y + bias"]
    ones = ", 1" * len(layout.spatial_axes)
    return ["if bias is not None:", f"    y = y + bias.reshape(1, -1{ones})"]


def pad_crop_lines(post: Sequence[tuple[int, int]], layout: DataLayout, pad_call: str) -> list[str]:
    """``pad_call`` for the zero-extension (negative entries), then slicing for the crops (positive entries).

    Padding first keeps every slice inside the array, even for a window lying in the zero region.
    """
    ndim = len(layout.from_tconv)
    lines = []
    if any(b < 0 or e < 0 for b, e in post):
        pads = [[0, 0] for _ in range(ndim)]
        for axis, (b, e) in zip(layout.spatial_axes, post):
            pads[axis] = [max(-b, 0), max(-e, 0)]
        lines.append(pad_call.format(pads=pads) + "  # append zeros where the window runs past the full output")
    if any(b > 0 or e > 0 for b, e in post):
        index = [":"] * ndim
        for axis, (b, e) in zip(layout.spatial_axes, post):
            start = str(b) if b > 0 else ""
            stop = f"y.shape[{axis}] - {e}" if e > 0 else ""
            index[axis] = f"{start}:{stop}"
        lines.append(f"y = y[{', '.join(index)}]  # crop {tuple(post)} (begin, end) per spatial axis")
    return lines


def post_note(framework: str, post: Sequence[tuple[int, int]], why: str) -> str:
    return (
        f"{framework} cannot cut this window ({why}): the plan crops (begin, end) = {tuple(post)} cells per spatial "
        "axis of its output afterwards (a negative number appends that many zeros)."
    )
