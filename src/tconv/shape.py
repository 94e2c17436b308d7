"""Shape arithmetic of convolution and transposed convolution, on plain integers.

This module imports nothing numeric: every function takes and returns Python ints,
so the arithmetic can be read, tested and reused (by the CLI, the design tools, the
Dask halo rule) without arrays.

The model
---------
Per spatial axis, with input size ``i``, kernel size ``k``, stride ``s`` and
dilation ``d``, a transposed convolution first computes its **full output**::

    full = (i - 1)*s + d*(k - 1) + 1          # = (i - 1)*s + k_eff

in which input element ``j`` and kernel tap ``t`` meet at position ``s*j + d*t``.
Every padding convention then only chooses a **window** of that full output:
it starts ``crop_begin`` cells into it and is ``output_size`` cells long. Cells of
the window that fall outside the full output (``crop_begin < 0``, or a window that
runs past the end) are zeros (plus the bias)::

    full output      |<------------------- full ------------------->|
    window      |<-->|<------------- output_size ------------->|<-->|
              crop_begin < 0: zeros                         crop_end: cropped
              (a negative begin pad)                        (negative: zeros)

- ``padding=p`` (int or one int per axis): PyTorch's symmetric crop,
  ``crop_begin = p`` and ``p`` cropped at the end;
- ``padding=((b0, e0), (b1, e1), ...)``: crop ``b`` at the start and ``e`` at the
  end of each axis; a negative value extends that side with zeros;
- ``output_padding=a`` adds ``a`` cells at the end (``a < max(s, d)``);
- ``output_size=o`` picks ``a`` so that the output has size ``o``;
- ``padding="valid"``: no crop, ``o = full``;
- ``padding="same"``: ``o = i*s``, the crop ``T = full - o`` split as TensorFlow,
  Keras and JAX split it, ``floor(T/2)`` at the start and the rest at the end
  (when ``T < 0`` the window starts at 0 and the tail is zeros).

The forward convolution that a transposed convolution is the adjoint of uses the
same window: it reads its input (of size ``output_size``) at positions
``s*j + d*t - crop_begin``, with zeros outside, for ``j`` in ``range(input_size)``.
One :class:`Geometry` describes both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

from ._checks import int_tuple, is_int, show

__all__ = [
    "Geometry",
    "conv_geometry",
    "conv_input_size_range",
    "conv_output_size",
    "conv_transpose_geometry",
    "conv_transpose_inverse",
    "conv_transpose_output_size",
    "conv_transpose_output_size_range",
    "effective_kernel_size",
    "inverse_output_padding",
    "parse_padding",
]

PaddingArg = Union[int, str, Sequence[Union[int, Sequence[int]]]]
Pairs = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Geometry:
    """The index map shared by a transposed convolution and its forward convolution.

    Per axis: input element ``j`` (``0 <= j < input_size``) and kernel tap ``t``
    (``0 <= t < kernel_size``) meet at output position ``o = s*j + d*t - crop_begin``,
    kept when ``0 <= o < output_size``.

    For :func:`tconv.conv_transpose` the arrays are ``input`` (``input_size``) and
    ``output`` (``output_size``); for the forward :func:`tconv.conv` they swap roles:
    the convolution reads an input of size ``output_size`` and writes
    ``input_size`` values, and ``crop_begin`` is its begin padding.

    Attributes
    ----------
    input_size, output_size, kernel_size, stride, dilation, crop_begin : tuple of int
        One entry per spatial axis.
    """

    input_size: tuple[int, ...]
    output_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    crop_begin: tuple[int, ...]

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.input_size)

    @property
    def effective_kernel_size(self) -> tuple[int, ...]:
        """``d*(k - 1) + 1`` per axis: the span of the dilated kernel."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    @property
    def full_size(self) -> tuple[int, ...]:
        """``(i - 1)*s + d*(k - 1) + 1`` per axis: the uncropped output."""
        return tuple(
            (i - 1) * s + ke
            for i, s, ke in zip(self.input_size, self.stride, self.effective_kernel_size)
        )

    @property
    def crop_end(self) -> tuple[int, ...]:
        """Cells cropped from the end of the full output (negative: zeros appended)."""
        return tuple(f - b - o for f, b, o in zip(self.full_size, self.crop_begin, self.output_size))

    @property
    def padding_pairs(self) -> Pairs:
        """``((crop_begin, crop_end), ...)``: the same window as explicit padding pairs."""
        return tuple(zip(self.crop_begin, self.crop_end))


def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: ``k_eff = dilation*(kernel_size - 1) + 1``.

    Examples
    --------
    >>> effective_kernel_size(3, dilation=2)
    5
    """
    return dilation * (kernel_size - 1) + 1


def _sizes(value: object, name: str, ndim: int | None = None) -> tuple[int, ...]:
    """Positive sizes; an int means one axis unless ``ndim`` broadcasts it."""
    if ndim is None:
        ndim = 1 if is_int(value) else len(value)  # type: ignore[arg-type]
    return int_tuple(value, name, ndim, minimum=1, rule="positive")


def parse_padding(padding: PaddingArg, ndim: int, *, name: str = "padding") -> str | Pairs:
    """Normalise a padding argument to ``"same"``, ``"valid"`` or ``(begin, end)`` pairs.

    One argument never means two things: a flat int (or one int per axis) is a
    symmetric, non-negative amount; a nested ``(begin, end)`` pair per axis is an
    asymmetric amount that may be negative; a string is a mode.

    Examples
    --------
    >>> parse_padding(1, 2)
    ((1, 1), (1, 1))
    >>> parse_padding((1, (0, 2)), 2)
    ((1, 1), (0, 2))
    >>> parse_padding("same", 3)
    'same'
    >>> parse_padding((1, 2), 1)
    Traceback (most recent call last):
    ...
    ValueError: padding must have one entry per spatial axis (1), got 2 entries: (1, 2); an asymmetric (begin, end) pair is written as a nested pair: ((1, 2),)
    """
    if isinstance(padding, str):
        if padding in ("same", "valid"):
            return padding
        raise ValueError(
            f"{name} must be an int, a sequence of ints or (begin, end) pairs, "
            f"or one of 'same', 'valid'; got {padding!r}"
        )
    if is_int(padding):
        p = int_tuple(padding, name, ndim)[0]
        if p < 0:
            raise ValueError(
                f"{name} must be non-negative, got {p}; use (begin, end) pairs such as "
                f"{show(((p, p),) * ndim)} to extend the output with zeros"
            )
        return ((p, p),) * ndim
    if not isinstance(padding, Sequence) or isinstance(padding, bytes):
        raise TypeError(
            f"{name} must be an int, a sequence of ints or (begin, end) pairs, or a string, "
            f"got {show(padding)} of type {type(padding).__name__}"
        )
    if len(padding) != ndim:
        hint = ""
        if ndim == 1 and len(padding) == 2 and all(is_int(v) for v in padding):
            hint = f"; an asymmetric (begin, end) pair is written as a nested pair: ({show(padding)},)"
        raise ValueError(
            f"{name} must have one entry per spatial axis ({ndim}), "
            f"got {len(padding)} entries: {show(padding)}{hint}"
        )
    pairs = []
    for entry in padding:
        if is_int(entry):
            p = int_tuple(entry, name, 1)[0]
            if p < 0:
                raise ValueError(
                    f"{name} must be non-negative where it is a single int, got {show(padding)}; "
                    f"write a (begin, end) pair such as ({p}, {p}) to extend with zeros"
                )
            pairs.append((p, p))
        elif (
            isinstance(entry, Sequence)
            and not isinstance(entry, (str, bytes))
            and len(entry) == 2
            and all(is_int(v) for v in entry)
        ):
            pairs.append(int_tuple(entry, name, 2))
        else:
            raise TypeError(
                f"{name} entries must be ints or (begin, end) pairs of ints, got {show(padding)}"
            )
    return tuple(pairs)  # type: ignore[return-value]


def _output_size_arg(output_size: object, ndim: int) -> tuple[int, ...]:
    if is_int(output_size):
        output_size = (output_size,)
    return _sizes(output_size, "output_size", ndim)


def conv_transpose_geometry(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    output_size: int | Sequence[int] | None = None,
) -> Geometry:
    """Resolve the arguments of a transposed convolution into its :class:`Geometry`.

    Parameters
    ----------
    input_size : int or sequence of int
        Spatial size of the input (its length sets the number of axes).
    kernel_size, stride, dilation : int or sequence of int
        Positive; one int for every axis or one per axis.
    padding : int, sequence, or {"same", "valid"}
        See the module docstring: symmetric crop, ``(begin, end)`` pairs, or a mode.
    output_padding : int or sequence of int
        Cells added at the end, ``0 <= output_padding < max(stride, dilation)``
        (PyTorch's rule). Must be 0 with ``padding="same"``.
    output_size : int or sequence of int, optional
        The wanted spatial output size. With numeric padding it chooses
        ``output_padding`` (the range is :func:`conv_transpose_output_size_range`);
        with ``"same"`` it may be any size in ``[(i - 1)*s + 1, i*s]``
        (TensorFlow's ``output_shape`` rule), the crop split as for ``"same"``.

    Returns
    -------
    Geometry

    Examples
    --------
    The worked example of ``tf.nn.conv2d_transpose`` (2x2 input, 3x3 kernel,
    stride 2, VALID):

    >>> g = conv_transpose_geometry((2, 2), 3, stride=2)
    >>> g.output_size, g.crop_begin
    ((5, 5), (0, 0))

    TensorFlow's "same" with an odd crop: one cell at the start, two at the end.

    >>> g = conv_transpose_geometry(4, 5, stride=2, padding="same")
    >>> g.output_size, g.padding_pairs
    ((8,), ((1, 2),))
    """
    i = _sizes(input_size, "input_size")
    nd = len(i)
    k = _sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    op = int_tuple(output_padding, "output_padding", nd, minimum=0, rule="non-negative")
    if any(a >= max(si, di) for a, si, di in zip(op, s, d)):
        raise ValueError(
            "output_padding must be smaller than stride or dilation in every axis, "
            f"got output_padding={show(op)}, stride={show(s)}, dilation={show(d)}"
        )
    pad = parse_padding(padding, nd)
    full = tuple((ii - 1) * si + di * (ki - 1) + 1 for ii, ki, si, di in zip(i, k, s, d))

    if pad == "same":
        if any(op):
            raise ValueError(
                "output_padding must be 0 with padding='same' (its output size is input*stride); "
                f"got output_padding={show(op)}; pass output_size to choose another size"
            )
        if output_size is None:
            out = tuple(ii * si for ii, si in zip(i, s))
        else:
            out = _output_size_arg(output_size, nd)
            lo = tuple((ii - 1) * si + 1 for ii, si in zip(i, s))
            hi = tuple(ii * si for ii, si in zip(i, s))
            if any(not a <= o <= b for a, o, b in zip(lo, out, hi)):
                raise ValueError(
                    f"output_size={show(out)} is out of range for padding='same': "
                    f"valid sizes range from {show(lo)} to {show(hi)} "
                    f"(for an input of size {show(i)} and stride {show(s)})"
                )
        begin = tuple(max(f - o, 0) // 2 for f, o in zip(full, out))
        return Geometry(i, out, k, s, d, begin)

    pairs = ((0, 0),) * nd if pad == "valid" else pad
    natural = tuple(f - b - e for f, (b, e) in zip(full, pairs))
    if output_size is not None:
        if any(op):
            raise ValueError(
                f"give output_padding or output_size, not both; got output_padding={show(op)} "
                f"and output_size={show(output_size)}"
            )
        out = _output_size_arg(output_size, nd)
        hi = tuple(n + max(si, di) - 1 for n, si, di in zip(natural, s, d))
        if any(not a <= o <= b for a, o, b in zip(natural, out, hi)):
            raise ValueError(
                f"requested an output size of {show(out)}, but valid sizes range from "
                f"{show(natural)} to {show(hi)} (for an input of size {show(i)}, kernel_size "
                f"{show(k)}, stride {show(s)}, padding {show(padding)}, dilation {show(d)})"
            )
    else:
        out = tuple(n + a for n, a in zip(natural, op))
    if any(o < 1 for o in out):
        raise ValueError(
            f"padding={show(padding)} leaves no output: the full output has size {show(full)}, "
            f"and the cropped output would have size {show(out)}"
        )
    return Geometry(i, out, k, s, d, tuple(b for b, _ in pairs))


def conv_geometry(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
) -> Geometry:
    """Resolve the arguments of a forward convolution into its :class:`Geometry`.

    The returned geometry is that of the transposed convolution which is the
    adjoint of this convolution: its ``output_size`` is the convolution's input size
    and its ``input_size`` the convolution's output size.

    ``padding="same"`` gives an output of size ``ceil(i/s)``, with TensorFlow's
    split of the padding (``floor`` of the total at the start); for stride 1 this is
    exactly PyTorch's ``padding="same"``. Negative ``(begin, end)`` values crop the
    input.

    Examples
    --------
    The seed's 4x4 input and 3x3 kernel give a 2x2 output:

    >>> conv_geometry((4, 4), 3).input_size
    (2, 2)
    >>> conv_geometry(7, 3, stride=2, padding="same").input_size
    (4,)
    """
    i = _sizes(input_size, "input_size")
    nd = len(i)
    k = _sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    pad = parse_padding(padding, nd)
    ke = tuple(di * (ki - 1) + 1 for ki, di in zip(k, d))
    if pad == "same":
        out = tuple(-(-ii // si) for ii, si in zip(i, s))
        begin = tuple(max((o - 1) * si + kk - ii, 0) // 2 for o, si, kk, ii in zip(out, s, ke, i))
        return Geometry(out, i, k, s, d, begin)
    pairs = ((0, 0),) * nd if pad == "valid" else pad
    padded = tuple(ii + b + e for ii, (b, e) in zip(i, pairs))
    if any(pp < kk for pp, kk in zip(padded, ke)):
        raise ValueError(
            f"the padded input is smaller than the dilated kernel: input size {show(i)} with "
            f"padding {show(padding)} gives {show(padded)}, kernel span d*(k-1)+1 is {show(ke)}"
        )
    out = tuple((pp - kk) // si + 1 for pp, kk, si in zip(padded, ke, s))
    return Geometry(out, i, k, s, d, tuple(b for b, _ in pairs))


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
    The seed's check ``5 = (5 + 2*1 - 3)/1 + 1``:

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
    The seed's n-times up-sampling recipes ``S = n, F = 2(k + t), P = t``:

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
    i = _sizes(input_size, "input_size")
    nd = len(i)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    pad = parse_padding(padding, nd)
    if pad == "same":
        ranges = tuple(range((ii - 1) * si + 1, ii * si + 1) for ii, si in zip(i, s))
    else:
        g = conv_transpose_geometry(i, kernel_size, s, 0, 0, d)
        pairs = ((0, 0),) * nd if pad == "valid" else pad
        natural = tuple(f - b - e for f, (b, e) in zip(g.full_size, pairs))
        ranges = tuple(
            range(max(n, 1), n + max(si, di)) for n, si, di in zip(natural, s, d)
        )
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
    i = _sizes(input_size, "input_size")
    nd = len(i)
    if parse_padding(padding, nd) == "same":
        raise ValueError(
            "padding='same' is inverted by output_size, not output_padding: "
            f"pass output_size={show(_unwrap(i, input_size))} to the transposed convolution"
        )
    g = conv_geometry(i, kernel_size, stride, padding, dilation)
    pad = parse_padding(padding, nd)
    pairs = ((0, 0),) * nd if pad == "valid" else pad
    # the transposed convolution's natural size (full output minus the crop), before output_padding
    natural = tuple(f - b - e for f, (b, e) in zip(g.full_size, pairs))  # type: ignore[misc]
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
    n = _sizes(output_size, "output_size")
    nd = len(n)
    k = _sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    pad = parse_padding(padding, nd)
    if pad == "same":
        ranges = tuple(range((nn - 1) * si + 1, nn * si + 1) for nn, si in zip(n, s))
    else:
        pairs = ((0, 0),) * nd if pad == "valid" else pad
        lows = tuple(
            (nn - 1) * si + di * (ki - 1) + 1 - b - e for nn, si, di, ki, (b, e) in zip(n, s, d, k, pairs)
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
    i = _sizes(input_size, "input_size")
    nd = len(i)
    k = _sizes(kernel_size, "kernel_size", nd)
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
