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
    "conv_chunks",
    "conv_geometry",
    "conv_halo",
    "conv_input_range",
    "conv_input_size_range",
    "conv_output_size",
    "conv_transpose_chunks",
    "conv_transpose_geometry",
    "conv_transpose_halo",
    "conv_transpose_input_range",
    "conv_transpose_inverse",
    "conv_transpose_output_size",
    "conv_transpose_output_size_range",
    "effective_kernel_size",
    "inverse_output_padding",
    "parse_padding",
]

PaddingArg = Union[int, str, Sequence[int | Sequence[int]]]
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
        return tuple((i - 1) * s + ke for i, s, ke in zip(self.input_size, self.stride, self.effective_kernel_size))

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
            f"{name} must have one entry per spatial axis ({ndim}), got {len(padding)} entries: {show(padding)}{hint}"
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
            raise TypeError(f"{name} entries must be ints or (begin, end) pairs of ints, got {show(padding)}")
    return tuple(pairs)  # type: ignore[return-value]


def _pairs(pad: str | Pairs, nd: int) -> Pairs:
    """``(begin, end)`` pairs of a parsed padding other than ``"same"`` (``"valid"``: no crop)."""
    return ((0, 0),) * nd if pad == "valid" else pad  # type: ignore[return-value]


def _output_size_arg(output_size: object, ndim: int) -> tuple[int, ...]:
    """An int applies to every axis, like every other size argument."""
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

    pairs = _pairs(pad, nd)
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
    pairs = _pairs(pad, nd)
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
        pairs = _pairs(pad, nd)
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
    i = _sizes(input_size, "input_size")
    nd = len(i)
    if parse_padding(padding, nd) == "same":
        raise ValueError(
            "padding='same' is inverted by output_size, not output_padding: "
            f"pass output_size={show(_unwrap(i, input_size))} to the transposed convolution"
        )
    g = conv_geometry(i, kernel_size, stride, padding, dilation)
    pad = parse_padding(padding, nd)
    pairs = _pairs(pad, nd)
    # the transposed convolution's natural size (full output minus the crop), before output_padding
    natural = tuple(f - b - e for f, (b, e) in zip(g.full_size, pairs))  # type: ignore[misc]
    return _unwrap(tuple(a - b for a, b in zip(i, natural)), input_size)  # type: ignore[return-value]


# ---------------------------------------------------------------------------
# Chunks and halos: which inputs an output range needs (used by tconv.dask)
# ---------------------------------------------------------------------------
#
# Per axis the index map is ``o = s*j + d*t - b``: input element ``j`` stamps the
# dilated kernel into the output cells ``s*j - b, s*j - b + d, ..., s*j - b + d*(k-1)``.
# Call the inputs *owned* by an output range ``[lo, hi)`` those whose stamp starts
# in it, ``lo <= s*j - b < hi``. A stamp is ``k_eff = d*(k - 1) + 1`` cells long, so
# the range also receives the tails of the stamps of the ``floor((k_eff - 1)/s)``
# inputs before its first owned one, and of none after its last: that is the halo
# of a transposed convolution. The convolution reads the same pairs the other way
# round: its outputs ``[a, a')`` read their input from ``s*a - b`` (the first tap
# of output ``a``) to ``s*(a' - 1) - b + k_eff - 1`` (the last tap of output
# ``a' - 1``), that is the ``s*(a' - a)`` cells they own plus ``k_eff - s`` after.


def _axis_params(kernel_size: object, stride: object, dilation: object) -> tuple[tuple[int, ...], ...]:
    """kernel_size, stride, dilation as tuples of one length (ints broadcast)."""
    lengths = {len(v) for v in (kernel_size, stride, dilation) if not is_int(v) and isinstance(v, Sequence)}
    nd = max(lengths) if lengths else 1
    k = _sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    return k, s, d


def conv_transpose_halo(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
) -> Pairs:
    """Input elements a chunk of a transposed convolution needs beyond its own, per side.

    Cut the output of a transposed convolution along an axis into ranges, and let
    an output range ``[lo, hi)`` *own* the inputs whose stamp starts in it:
    ``lo <= s*j - b < hi`` (``b`` = the window's ``crop_begin``). The inputs that
    reach the range are then its own inputs plus ``before`` inputs just before
    them, and none after::

        before = floor(d*(k - 1) / s) = floor((k_eff - 1) / s),    after = 0

    because input ``j`` stamps the cells ``s*j - b + d*t``, ``0 <= t < k``, which end
    ``k_eff - 1`` cells after the stamp starts. The bound is tight: for any range
    that starts and ends on the stride grid (``lo + b`` and ``hi + b`` multiples of
    ``s``, as the chunks of :func:`conv_transpose_chunks` are) and lies inside the
    output, input ``first_own - before`` does reach it (its last tap lands in the
    range's first ``s`` cells), unless the array's start cuts the halo short. A range
    that starts off the grid may also receive the tail of one more stamp: its halo
    is at most ``ceil((k_eff - 1)/s)``. The exact inputs of any range are
    :func:`conv_transpose_input_range`.

    Parameters
    ----------
    kernel_size, stride, dilation : int or sequence of int
        One int for every axis, or one per axis.

    Returns
    -------
    tuple of (int, int)
        ``(before, after)`` per axis.

    Examples
    --------
    The up-sampling kernel ``k=4, s=2`` reaches one input back; ``k=2, s=2`` (no
    overlap between stamps) needs no halo at all:

    >>> conv_transpose_halo(4, stride=2)
    ((1, 0),)
    >>> conv_transpose_halo((2, 3, 16), stride=(2, 1, 8), dilation=(1, 2, 1))
    ((0, 0), (4, 0), (1, 0))
    """
    k, s, d = _axis_params(kernel_size, stride, dilation)
    return tuple((di * (ki - 1) // si, 0) for ki, si, di in zip(k, s, d))


def conv_halo(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    dilation: int | Sequence[int] = 1,
) -> Pairs:
    """Input elements a chunk of a convolution needs beyond its own, per side.

    Let the outputs ``[a, a')`` of a convolution *own* the input cells
    ``[s*a - b, s*a' - b)`` (``b`` = its begin padding): each output owns the
    ``s`` cells from its first tap on. Output ``j`` reads the cells
    ``s*j - b + d*t``, ``0 <= t < k``, so the range reads its own cells and
    ``after`` cells beyond them, and none before::

        before = 0,    after = max(d*(k - 1) + 1 - s, 0) = max(k_eff - s, 0)

    The bound is tight for ranges inside the array, unless its end cuts the halo
    short: output ``a' - 1`` reads its last tap at exactly ``s*a' - b + k_eff - s - 1``
    (when ``k_eff < s`` the last ``s - k_eff`` owned cells are not read at all).
    When the input's chunks do not start on the stride grid, the outputs of
    :func:`conv_chunks` own cells up to ``s - 1`` past their chunk's start, so the
    chunk's halo after is at most ``k_eff - 1``. The exact cells of any range are
    :func:`conv_input_range`.

    Returns
    -------
    tuple of (int, int)
        ``(before, after)`` per axis.

    Examples
    --------
    >>> conv_halo(3)                 # a 3-tap stride-1 filter reads 2 cells past its chunk
    ((0, 2),)
    >>> conv_halo((4, 2), stride=2)  # k=4, s=2 reads 2 more; k=2, s=2 none (the stamps tile)
    ((0, 2), (0, 0))
    """
    k, s, d = _axis_params(kernel_size, stride, dilation)
    return tuple((0, max(di * (ki - 1) + 1 - si, 0)) for ki, si, di in zip(k, s, d))


def _check_axis_range(sizes: tuple[int, ...], axis: object, start: object, stop: object) -> tuple[int, int, int]:
    ax = int_tuple(axis, "axis", 1)[0]
    if not 0 <= ax < len(sizes):
        raise ValueError(f"axis must be in [0, {len(sizes)}) (the geometry's spatial axes), got {ax}")
    lo, hi = int_tuple(start, "start", 1)[0], int_tuple(stop, "stop", 1)[0]
    size = sizes[ax]
    if not 0 <= lo < hi <= size:
        raise ValueError(f"need 0 <= start < stop <= {size} (the axis's size), got start={lo}, stop={hi}")
    return ax, lo, hi


def conv_transpose_input_range(geometry: Geometry, axis: int, start: int, stop: int) -> tuple[int, int] | None:
    """The inputs of a transposed convolution that reach the outputs ``[start, stop)`` of one axis.

    Input ``j`` reaches output ``o`` when ``o = s*j + d*t - b`` for a tap
    ``0 <= t < k``; for one tap the ``j`` that land in ``[start, stop)`` are
    ``ceil((start + b - d*t)/s) <= j < ceil((stop + b - d*t)/s)`` (cut to
    ``[0, input_size)``). The union over the taps is returned as its smallest
    enclosing range: its first and last elements really reach the outputs, so a
    chunk that reads exactly this range reads no input it does not need at its ends.

    Parameters
    ----------
    geometry : Geometry
        Of the transposed convolution (:func:`conv_transpose_geometry`).
    axis : int
        Spatial axis.
    start, stop : int
        The output range, ``0 <= start < stop <= output_size[axis]``.

    Returns
    -------
    (int, int) or None
        ``(first, last + 1)``, or ``None`` when no input reaches the range (cells of a
        zero extension, or the holes between the taps of a dilated kernel).

    Examples
    --------
    ``k=4, s=2, padding=1``: the outputs 7..12 own the inputs 4, 5, 6 (stamps
    starting at 7, 9, 11) and receive the tail of input 3's stamp:

    >>> g = conv_transpose_geometry(10, 4, stride=2, padding=1)
    >>> conv_transpose_input_range(g, 0, 7, 13)
    (3, 7)
    >>> g = conv_transpose_geometry(3, 1, stride=2, padding=((-2, 0),))   # two leading zeros
    >>> conv_transpose_input_range(g, 0, 0, 2) is None
    True
    """
    ax, lo, hi = _check_axis_range(geometry.output_size, axis, start, stop)
    i, k = geometry.input_size[ax], geometry.kernel_size[ax]
    s, d, b = geometry.stride[ax], geometry.dilation[ax], geometry.crop_begin[ax]
    first, last = None, None
    for t in range(k):
        j0 = max(-((d * t - b - lo) // s), 0)  # ceil((lo + b - d*t) / s)
        j1 = min(-((d * t - b - hi) // s), i)  # ceil((hi + b - d*t) / s)
        if j0 < j1:
            first = j0 if first is None else min(first, j0)
            last = j1 if last is None else max(last, j1)
    return None if first is None else (first, last)  # type: ignore[return-value]


def conv_input_range(geometry: Geometry, axis: int, start: int, stop: int) -> tuple[int, int] | None:
    """The input cells of a convolution that its outputs ``[start, stop)`` read, along one axis.

    The mirror of :func:`conv_transpose_input_range`: output ``j`` of the
    convolution reads cell ``s*j + d*t - b`` for each tap ``t`` (zeros outside the
    input, which are not cells). For one tap the outputs that read a real cell are
    ``start <= j < stop`` with ``0 <= s*j + d*t - b < input size``; the union of the
    cells they read is returned as its smallest enclosing range.

    Parameters
    ----------
    geometry : Geometry
        Of the convolution (:func:`conv_geometry`): its input has
        ``geometry.output_size`` and its output ``geometry.input_size``.
    axis : int
    start, stop : int
        The convolution's output range, ``0 <= start < stop <= geometry.input_size[axis]``.

    Returns
    -------
    (int, int) or None
        ``(first, last + 1)``, or ``None`` when the outputs read only padding.

    Examples
    --------
    A 3-tap filter with stride 2 and padding 1: outputs 2..3 read the cells 3..7.

    >>> g = conv_geometry(10, 3, stride=2, padding=1)
    >>> conv_input_range(g, 0, 2, 4)
    (3, 8)
    >>> conv_input_range(g, 0, 0, 1)       # output 0 reads padding, cell 0 and cell 1
    (0, 2)
    """
    ax, lo, hi = _check_axis_range(geometry.input_size, axis, start, stop)
    size, k = geometry.output_size[ax], geometry.kernel_size[ax]
    s, d, b = geometry.stride[ax], geometry.dilation[ax], geometry.crop_begin[ax]
    first, last = None, None
    for t in range(k):
        shift = d * t - b  # the cell output j reads with this tap is s*j + shift
        j0 = max(lo, -(shift // s))  # and it is a cell when j >= ceil(-shift / s)
        j1 = min(hi, -((shift - size) // s))  # and j < ceil((size - shift) / s)
        if j0 < j1:
            first = s * j0 + shift if first is None else min(first, s * j0 + shift)
            end = s * (j1 - 1) + shift + 1
            last = end if last is None else max(last, end)
    return None if first is None else (first, last)  # type: ignore[return-value]


def _check_chunks(chunks: object, sizes: tuple[int, ...], name: str) -> tuple[tuple[int, ...], ...]:
    if not isinstance(chunks, Sequence) or len(chunks) != len(sizes):
        raise ValueError(
            f"{name} must have one tuple of chunk sizes per spatial axis ({len(sizes)}), got {show(chunks)}"
        )
    result = []
    for axis, (sizes_of_axis, total) in enumerate(zip(chunks, sizes)):
        c = int_tuple(
            sizes_of_axis,
            name,
            len(sizes_of_axis) if isinstance(sizes_of_axis, Sequence) else 1,
            minimum=1,
            rule="positive",
        )
        if sum(c) != total:
            raise ValueError(f"{name} of axis {axis} must add up to its size {total}, got {show(c)} (sum {sum(c)})")
        result.append(c)
    return tuple(result)


def _sizes_between(boundaries: Sequence[int]) -> tuple[int, ...]:
    """Chunk sizes between consecutive boundaries, empty chunks dropped."""
    return tuple(b - a for a, b in zip(boundaries, boundaries[1:]) if b > a)


def conv_transpose_chunks(geometry: Geometry, chunks: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """The output chunks of a transposed convolution whose input is cut into ``chunks``.

    Each output chunk holds the cells whose stamps start in one input chunk: the
    boundary in front of input chunk ``[a, a')`` maps to output cell ``s*a - b``.
    The first output chunk starts at 0 and the last ends at ``output_size``: so
    every chunk is ``s`` times its input chunk, except that the first loses the
    crop at the start (``b``; a zero extension, ``b < 0``, adds to it), and the last
    gains ``k_eff - s`` and loses the crop at the end. Chunks that this makes
    empty (input chunks shorter than a crop) are dropped, so there are at most as
    many output chunks as input chunks.

    Parameters
    ----------
    geometry : Geometry
    chunks : sequence of sequence of int
        Input chunk sizes per spatial axis (Dask's ``chunks``), adding up to
        ``geometry.input_size``.

    Returns
    -------
    tuple of tuple of int
        Output chunk sizes per spatial axis, adding up to ``geometry.output_size``.

    Examples
    --------
    Ten inputs in chunks of 4, 3, 3, up-sampled by ``k=4, s=2, padding=1`` to 20:

    >>> g = conv_transpose_geometry(10, 4, stride=2, padding=1)
    >>> conv_transpose_chunks(g, ((4, 3, 3),))        # 2*4 - 1, 2*3, 2*3 + (4 - 2) - 1
    ((7, 6, 7),)
    """
    chunks = _check_chunks(chunks, geometry.input_size, "chunks")
    result = []
    for c, o, s, b in zip(chunks, geometry.output_size, geometry.stride, geometry.crop_begin):
        starts = [sum(c[:n]) for n in range(1, len(c))]
        result.append(_sizes_between([0, *(min(max(s * a - b, 0), o) for a in starts), o]))
    return tuple(result)


def conv_chunks(geometry: Geometry, chunks: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    """The output chunks of a convolution whose input is cut into ``chunks``.

    The mirror of :func:`conv_transpose_chunks`: output ``j`` belongs to the input
    chunk that holds its first tap's cell ``s*j - b``, so the boundary in front of
    input chunk ``[e, e')`` maps to output ``ceil((e + b)/s)`` (cut to the output).
    Empty chunks (input chunks shorter than the stride) are dropped.

    Parameters
    ----------
    geometry : Geometry
        Of the convolution (:func:`conv_geometry`).
    chunks : sequence of sequence of int
        Input chunk sizes per spatial axis, adding up to ``geometry.output_size``
        (the convolution's input side).

    Returns
    -------
    tuple of tuple of int
        Output chunk sizes per spatial axis, adding up to ``geometry.input_size``.

    Examples
    --------
    The forward convolution of the example of :func:`conv_transpose_chunks` (its
    adjoint) maps the chunks back:

    >>> g = conv_geometry(20, 4, stride=2, padding=1)
    >>> conv_chunks(g, ((7, 6, 7),))
    ((4, 3, 3),)
    """
    chunks = _check_chunks(chunks, geometry.output_size, "chunks")
    result = []
    for c, i, s, b in zip(chunks, geometry.input_size, geometry.stride, geometry.crop_begin):
        starts = [sum(c[:n]) for n in range(1, len(c))]
        result.append(_sizes_between([0, *(min(max(-((-e - b) // s), 0), i) for e in starts), i]))
    return tuple(result)


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
        pairs = _pairs(pad, nd)
        lows = tuple((nn - 1) * si + di * (ki - 1) + 1 - b - e for nn, si, di, ki, (b, e) in zip(n, s, d, k, pairs))
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
