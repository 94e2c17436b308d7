"""tconv's own convention as a translation source and target: :func:`tconv.conv_transpose`'s arguments.

tconv cuts every window (``padding=((begin, end), ...)``, negative values appending
zeros), so as a target it is exact; as a source its arguments are resolved by
:func:`tconv.geometry.conv_transpose_geometry`, the window model itself. There is
no emulation here: the emulated framework is tconv.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from .._validate import check_layout
from ..geometry import conv_transpose_geometry, crop_pairs, parse_padding
from ..typing import Layout
from . import _code
from . import torch as _torch
from ._common import (
    ConvTransposeSpec,
    Source,
    Target,
    Words,
    channels_first,
    channels_last,
    check_groups,
    input_spatial_size,
    needs_rank,
    nonempty,
    source_rank,
)

#: The name translations print, and the parameters a translation source takes.
NAME = "tconv"
PARAMETERS = ("stride", "padding", "output_padding", "groups", "dilation", "output_size", "layout")

#: How a person writes it: the function, the NumPy layer (``tconv.nn``) and the drop-in (``tconv.torch``).
WORDS = Words(
    prefixes=("tconv",),
    calls={
        "conv_transpose": ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
        "ConvTranspose{n}d": _torch.WORDS.calls["ConvTranspose{n}d"],
        "ConvTranspose": _torch.WORDS.calls["ConvTranspose{n}d"][:9],
    },
    layer=("in_channels", "out_channels", "kernel_size", "padding_mode", "ndim"),
    dropped=("input", "weight", "bias", "device", "dtype", "algorithm", "backward_algorithm", "fallback", "rng"),
)


def weight_shape(
    params: dict[str, Any], input_shape: Sequence[int] | None, notes: list[str]
) -> tuple[int | str, ...] | None:
    """PyTorch's (:func:`tconv.frameworks.torch.weight_shape`), in either data layout, with ``tconv.nn``'s ``ndim``."""
    if "ndim" in params and "kernel_size" in params and not isinstance(params["kernel_size"], Sequence):
        params = dict(params, kernel_size=(params["kernel_size"],) * params["ndim"])
    channel_axis = -1 if params.get("layout") == "channels_last" else None
    return _torch.weight_shape(params, input_shape, notes, channel_axis)


def target(spec: ConvTransposeSpec) -> Target:
    """``tconv.conv_transpose`` with ``padding`` the crop of ``spec``: every window, exactly."""
    needs_rank(spec, NAME, range(1, 1 << 30))
    nd = spec.ndim
    arguments = dict(stride=spec.stride, padding=spec.crop, groups=spec.groups, dilation=spec.dilation)

    def run(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        from .. import conv_transpose

        return conv_transpose(x, w, b, **arguments)  # type: ignore[arg-type]

    def body(weight: str, bias: str | None) -> list[str]:
        return [f"y = tconv.conv_transpose(x, {weight}, {bias}, {_code.keywords(arguments)})"]

    def program(convert_weight: str) -> str:
        lines = [f"return tconv.conv_transpose(x, weight, bias, {_code.keywords(arguments)})"]
        doc = "x: (N, C_in, *spatial) NumPy array."
        return _code.program(["import numpy as np", "import tconv"], convert_weight, doc, lines)

    return Target(
        framework="tconv",
        function="tconv.conv_transpose",
        arguments=arguments,
        layout=channels_first(nd),
        post=((0, 0),) * nd,
        run=run,
        body=body,
        program=program,
    )


def _size_for_the_crop(padding: Any, nd: int) -> tuple[int, ...]:
    """An input size at which tconv's window is not empty: its crop, the same at every input size, is read there.

    1 for ``"same"`` (``i*s`` cells), ``1 + begin + end`` for a crop ``(begin, end)``.
    """
    pad = parse_padding(padding, nd)
    return (1,) * nd if pad == "same" else tuple(1 + max(b + e, 0) for b, e in crop_pairs(pad, nd))


def source(params: dict[str, Any], weight_shape: tuple[int, ...], input_shape: Sequence[int] | None) -> Source:
    """A ``tconv.conv_transpose`` call read into a spec."""
    from .. import conv_transpose

    nd = source_rank(weight_shape, range(1, 1 << 30), "tconv's conv_transpose needs a spatial axis, got a weight")
    layout_name = cast(Layout, check_layout(params.get("layout", "channels_first")))
    layout = channels_first(nd) if layout_name == "channels_first" else channels_last(nd)
    groups = params.get("groups", 1)
    arguments = {
        key: params.get(key, default)
        for key, default in (("stride", 1), ("padding", 0), ("output_padding", 0), ("dilation", 1))
    }
    output_size = params.get("output_size")
    size = input_spatial_size(input_shape, layout, unbatched_ok=True)
    if output_size is not None and size is None:
        raise ValueError("tconv's output_size pins the window to one input size: pass input_shape")
    kernel = weight_shape[2:]
    at = size if size is not None else _size_for_the_crop(arguments["padding"], nd)
    g = conv_transpose_geometry(at, kernel, output_size=output_size, **arguments)
    groups = check_groups(groups, "groups", in_channels=weight_shape[0])
    channels = (weight_shape[0], weight_shape[1] * groups, groups)
    pinned = size if output_size is not None else None
    spec = ConvTransposeSpec(g.kernel_size, g.stride, g.dilation, g.padding_pairs, *channels, pinned)
    call = f"tconv.conv_transpose(x, w, b, {_code.keywords({**arguments, 'groups': groups})}"
    call += (f", output_size={output_size!r}" if output_size is not None else "") + f", layout={layout_name!r})"

    def run(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        return conv_transpose(x, w, b, groups=groups, output_size=output_size, layout=layout_name, **arguments)

    return Source("tconv", nonempty(spec, size), call, layout, [], weight_shape, run, unbatched=True)
