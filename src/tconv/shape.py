"""Output sizes of convolution and transposed convolution, on plain integers.

The functions a user calls to answer "how big": the output size of either
operator, the sizes a transposed convolution can produce (the stride ambiguity),
the ``output_padding`` that inverts a convolution's shape, and the inputs a
convolution maps to one size. They are thin readings of the window model of
:mod:`tconv.geometry` (read it first), which also holds :class:`Geometry` and the
resolution of every padding form; its public names are importable from here too.

This module imports nothing numeric.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._validate import int_tuple, is_int, positive_sizes, show
from .chunks import conv_chunks, conv_halo, conv_transpose_chunks, conv_transpose_halo
from .geometry import (
    Geometry,
    PaddingArg,
    conv_geometry,
    conv_input_range,
    conv_transpose_geometry,
    conv_transpose_input_range,
    crop_pairs,
    effective_kernel_size,
    parse_padding,
)

__all__ = [
    # this module's own
    "conv_input_size_range",
    "conv_output_size",
    "conv_transpose_inverse",
    "conv_transpose_output_size",
    "conv_transpose_output_size_range",
    "inverse_output_padding",
    # re-exported from their home, tconv.geometry and tconv.chunks, where the docs first showed them
    "Geometry",
    "PaddingArg",
    "conv_chunks",
    "conv_geometry",
    "conv_halo",
    "conv_input_range",
    "conv_transpose_chunks",
    "conv_transpose_geometry",
    "conv_transpose_halo",
    "conv_transpose_input_range",
    "effective_kernel_size",
    "parse_padding",
]


def _unwrap(values: tuple, input_size: object) -> object:
    return values[0] if is_int(input_size) else values


def conv_output_size(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
) -> int | tuple[int, ...]:
    """Output size of a convolution (the mirror of :func:`conv_transpose_output_size`).

    ``o = floor((i + p_begin + p_end - d*(k - 1) - 1) / s) + 1``; ``"same"`` gives
    ``ceil(i/s)`` and ``"valid"`` uses no padding.

    Returns an int for an int ``input_size``, a tuple for a sequence.

    Examples
    --------
    A 3x3 convolution with padding 1 keeps a 5x5 input's size, ``5 = (5 + 2*1 - 3)/1 + 1``:

    >>> conv_output_size(5, 3, padding=1)
    5
    >>> conv_output_size((7, 9), 5, padding=1)
    (5, 7)
    """
    g = conv_geometry(input_size, kernel_size, stride, padding, dilation)
    return _unwrap(g.input_size, input_size)  # type: ignore[return-value]


def conv_transpose_output_size(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> int | tuple[int, ...]:
    """Output size of a transposed convolution (the mirror of :func:`conv_output_size`).

    ``o = (i - 1)*s - p_begin - p_end + d*(k - 1) + output_padding + 1``
    (PyTorch's formula with ``p_begin = p_end = padding``); ``"same"`` gives
    ``i*s`` and ``"valid"`` uses no crop.

    Examples
    --------
    The n-times up-sampling recipes ``S = n, F = 2(k + t), P = t`` (here ``n = 2``):

    >>> conv_transpose_output_size(256, kernel_size=2, stride=2)
    512
    >>> conv_transpose_output_size(256, kernel_size=4, stride=2, padding=1)
    512
    >>> conv_transpose_output_size((2, 2), 3, stride=2)
    (5, 5)
    """
    g = conv_transpose_geometry(input_size, kernel_size, stride, padding, output_padding, dilation)
    return _unwrap(g.output_size, input_size)  # type: ignore[return-value]


def conv_transpose_output_size_range(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
) -> range | tuple[range, ...]:
    """The output sizes a transposed convolution can produce (the stride ambiguity).

    A convolution with stride ``s`` maps ``s`` (or ``max(s, d)``) different input
    sizes to the same output size, so its transpose must be told which one to
    produce. With numeric padding the valid sizes are
    ``natural + a`` for ``0 <= a < max(s, d)``, where
    ``natural = (i - 1)*s - p_begin - p_end + d*(k - 1) + 1``; with ``"same"`` they
    are ``(i - 1)*s + 1 ... i*s``.

    Returns a ``range`` for an int ``input_size``, a tuple of ranges otherwise.

    Examples
    --------
    7x7 and 8x8 inputs both give 3x3 under a k=3, s=2, p=1 convolution; the
    transpose can return either:

    >>> conv_transpose_output_size_range(4, 3, stride=2, padding=1)
    range(7, 9)
    >>> 8 in conv_transpose_output_size_range(4, 3, stride=2, padding=1)
    True
    """
    i = positive_sizes(input_size, "input_size")
    nd = len(i)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    pad = parse_padding(padding, nd)
    if pad == "same":
        ranges = tuple(range((ii - 1) * si + 1, ii * si + 1) for ii, si in zip(i, s))
    else:
        g = conv_transpose_geometry(i, kernel_size, s, 0, 0, d)
        pairs = crop_pairs(pad, nd)
        natural = tuple(f - b - e for f, (b, e) in zip(g.full_size, pairs))
        ranges = tuple(range(max(n, 1), n + max(si, di)) for n, si, di in zip(natural, s, d))
    return _unwrap(ranges, input_size)  # type: ignore[return-value]


def inverse_output_padding(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
) -> int | tuple[int, ...]:
    """The ``output_padding`` that makes a transposed convolution invert a convolution's shape.

    For a convolution of an input of size ``i`` with these parameters, a transposed
    convolution with the same parameters and this ``output_padding`` returns size
    ``i`` again: ``a = (i + p_begin + p_end - d*(k - 1) - 1) mod s`` (the ``a`` of
    Dumoulin and Visin's relation 14). With ``padding="same"`` no output_padding is
    needed: pass ``output_size=i`` instead (this function raises).

    Examples
    --------
    >>> inverse_output_padding(8, 3, stride=2, padding=1)
    1
    >>> inverse_output_padding((7, 9), 5, padding=1)
    (0, 0)
    """
    i = positive_sizes(input_size, "input_size")
    nd = len(i)
    if parse_padding(padding, nd) == "same":
        raise ValueError(
            "padding='same' is inverted by output_size, not output_padding: "
            f"pass output_size={show(_unwrap(i, input_size))} to the transposed convolution"
        )
    g = conv_geometry(i, kernel_size, stride, padding, dilation)
    pad = parse_padding(padding, nd)
    pairs = crop_pairs(pad, nd)
    # the transposed convolution's natural size (full output minus the crop), before output_padding
    natural = tuple(f - b - e for f, (b, e) in zip(g.full_size, pairs))
    return _unwrap(tuple(a - b for a, b in zip(i, natural)), input_size)  # type: ignore[return-value]


def conv_input_size_range(
    output_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
) -> range | tuple[range, ...]:
    """The input sizes a convolution maps to ``output_size`` (the mirror of :func:`conv_transpose_output_size_range`).

    ``floor`` in the convolution's size formula discards the remainder, so
    ``stride`` input sizes give the same output: ``o = n`` for every
    ``i in [(n - 1)*s + k_eff - p_begin - p_end, ... + s - 1]`` (``"same"``:
    ``[(n - 1)*s + 1, n*s]``). This is the stride ambiguity a transposed
    convolution must resolve with ``output_padding`` or ``output_size``; for
    ``dilation <= stride`` it is exactly :func:`conv_transpose_output_size_range`.

    Returns a ``range`` for an int ``output_size``, a tuple of ranges otherwise.

    Examples
    --------
    7x7 and 8x8 inputs both give 4x4 with a 3x3 kernel, stride 2, padding 1:

    >>> conv_input_size_range(4, 3, stride=2, padding=1)
    range(7, 9)
    >>> conv_input_size_range((4, 4), 3, stride=2, padding="same")
    (range(7, 9), range(7, 9))
    """
    n = positive_sizes(output_size, "output_size")
    nd = len(n)
    k = positive_sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    pad = parse_padding(padding, nd)
    if pad == "same":
        ranges = tuple(range((nn - 1) * si + 1, nn * si + 1) for nn, si in zip(n, s))
    else:
        pairs = crop_pairs(pad, nd)
        lows = tuple(
            (nn - 1) * si + effective_kernel_size(ki, di) - b - e for nn, si, di, ki, (b, e) in zip(n, s, d, k, pairs)
        )
        ranges = tuple(range(max(low, 1), max(low + si, 1)) for low, si in zip(lows, s))
    return _unwrap(ranges, output_size)  # type: ignore[return-value]


def conv_transpose_inverse(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
) -> dict[str, object]:
    """The transposed convolution that maps a convolution's output back to its input's shape.

    For a convolution of an input of ``input_size`` with these parameters, returns
    the keyword arguments of :func:`tconv.conv_transpose` (same kernel, stride,
    padding and dilation) whose output has ``input_size`` again: an
    ``output_padding`` (:func:`inverse_output_padding`), or ``output_size`` for
    ``padding="same"``. With the same weight the result is the adjoint (the
    gradient) of the convolution.

    Returns
    -------
    dict
        ``kernel_size``, ``stride``, ``padding``, ``output_padding``, ``dilation``,
        plus ``output_size`` for ``"same"``; tuples for a sequence ``input_size``.

    Examples
    --------
    A U-Net decoder undoing an encoder's ``k=3, s=2, p=1`` on an odd size:

    >>> conv_transpose_inverse(9, 3, stride=2, padding=1)
    {'kernel_size': 3, 'stride': 2, 'padding': 1, 'output_padding': 0, 'dilation': 1}
    >>> conv_transpose_inverse((9, 10), 3, stride=2, padding=1)["output_padding"]
    (0, 1)
    >>> conv_transpose_inverse(9, 3, stride=2, padding="same")["output_size"]
    9
    """
    i = positive_sizes(input_size, "input_size")
    nd = len(i)
    k = positive_sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    pad = parse_padding(padding, nd)
    conv_geometry(i, k, s, padding, d)  # the convolution must exist
    result: dict[str, object] = {
        "kernel_size": _unwrap(k, input_size),
        "stride": _unwrap(s, input_size),
        "padding": padding,
        "output_padding": _unwrap((0,) * nd, input_size),
        "dilation": _unwrap(d, input_size),
    }
    if pad == "same":
        result["output_size"] = _unwrap(i, input_size)
    else:
        result["output_padding"] = inverse_output_padding(input_size, kernel_size, stride, padding, dilation)
    return result
