"""The geometry of a transposed convolution: its window model and index arithmetic, on plain integers.

This module imports nothing numeric: every function takes and returns Python ints,
so the arithmetic can be read, tested and reused without arrays. Every formula of
the operator's index map lives here once: the effective kernel size
(:func:`effective_kernel_size`), the inputs one tap carries into a range of outputs
(:func:`tap_range`), the taps that reach each output phase (:func:`phase_taps`), and
the resolution of every padding form into one :class:`Geometry`. The output-size
functions users call are in :mod:`tconv.geometry`, the chunk and halo rule of
:mod:`tconv.dask` in :mod:`tconv.chunks`; both build on this module.

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

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ._validate import (
    MAX_SPATIAL_AXES,
    as_int,
    check_ndim,
    int_tuple,
    is_int,
    positive_int,
    positive_sizes,
    show,
    spatial_rank,
)

__all__ = [
    "Geometry",
    "PaddingArg",
    "WindowArguments",
    "check_geometry",
    "conv_geometry",
    "conv_input_range",
    "conv_transpose_geometry",
    "conv_transpose_input_range",
    "crop_pairs",
    "effective_kernel_size",
    "parse_padding",
    "phase_tap_counts",
    "phase_taps",
    "tap_range",
    "taps_per_phase",
    "window_arguments",
]

PaddingArg = int | str | Sequence[int | Sequence[int]]
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

    def axes(self) -> list[tuple[int, int, int, int, int, int]]:
        """``(input_size, kernel_size, stride, dilation, crop_begin, output_size)`` of each axis: what the
        per-axis index arithmetic of the kernels and tables reads."""
        return list(
            zip(self.input_size, self.kernel_size, self.stride, self.dilation, self.crop_begin, self.output_size)
        )

    @property
    def effective_kernel_size(self) -> tuple[int, ...]:
        """``d*(k - 1) + 1`` per axis: the span of the dilated kernel."""
        return tuple(map(effective_kernel_size, self.kernel_size, self.dilation))

    @property
    def overlapping(self) -> bool:
        """Whether the stamps of neighbouring input cells overlap on some axis (``d*(k - 1) + 1 > s``):
        some output cells then sum several taps. Where they do not, each output cell is one tap of one
        input cell (or none)."""
        return any(e > s for e, s in zip(self.effective_kernel_size, self.stride))

    @property
    def empty(self) -> bool:
        """Whether some axis has no input cell or no output cell: no input reaches an output, and the
        output (if any) is the bias alone, which no algorithm is asked to compute."""
        return 0 in self.input_size or 0 in self.output_size

    @property
    def full_size(self) -> tuple[int, ...]:
        """``(i - 1)*s + d*(k - 1) + 1`` per axis: the uncropped output."""
        return tuple((i - 1) * s + ke for i, s, ke in zip(self.input_size, self.stride, self.effective_kernel_size))

    @property
    def crop_end(self) -> tuple[int, ...]:
        """Cells cropped from the end of the full output (negative: zeros appended)."""
        return tuple(f - b - o for f, b, o in zip(self.full_size, self.crop_begin, self.output_size))

    @property
    def zero_insertion_padding(self) -> tuple[int, ...]:
        """``d*(k - 1) - crop_begin`` per axis: the zeros the zero-insertion view puts before the input.

        In that view (zeros inserted between the inputs, then a stride-1 correlation
        with the flipped kernel), output ``o`` is the window starting at ``o`` of the
        zero-inserted input padded by this many zeros in front; a negative value crops.
        """
        return tuple(ke - 1 - b for ke, b in zip(self.effective_kernel_size, self.crop_begin))

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


def tap_range(shift: int, stride: int, count: int, start: int, stop: int) -> tuple[int, int]:
    """The elements ``j`` in ``[0, count)`` that one kernel tap carries into ``[start, stop)``.

    One tap ``t`` carries element ``j`` to position ``stride*j + shift`` with
    ``shift = d*t - crop_begin``; the ``j`` that land in ``[start, stop)`` form the
    range ``ceil((start - shift)/stride) <= j < ceil((stop - shift)/stride)``, cut to
    ``[0, count)``. Every per-tap loop of tconv (the NumPy kernels' strided slices,
    the tap tables, the input ranges of tiles and chunks) asks this function.

    Returns
    -------
    (int, int)
        ``(first, stop)``; empty when ``first >= stop``.

    Examples
    --------
    ``k=3, s=2, crop_begin=1`` on 3 inputs (output size 5): tap 0 (shift -1) carries
    inputs 1 and 2 to outputs 1 and 3.

    >>> tap_range(shift=-1, stride=2, count=3, start=0, stop=5)
    (1, 3)
    """
    first = max(-((shift - start) // stride), 0)  # ceil((start - shift) / stride)
    last = min(-((shift - stop) // stride), count)  # ceil((stop - shift) / stride)
    return first, last


#: The longest listing :func:`phase_taps` (taps) and :func:`taps_per_phase` (phases) return;
#: :func:`phase_tap_counts` summarizes any size in constant size.
MAX_LISTED = 10**6


def phase_taps(kernel_size: int, stride: int, dilation: int, phase: int) -> tuple[int, ...]:
    """The kernel taps that reach full-output positions ``f`` with ``f mod stride == phase``.

    Tap ``t`` of input ``j`` lands at ``f = stride*j + dilation*t``, so it reaches the
    phase ``dilation*t mod stride``. A phase that no tap reaches (possible when
    ``gcd(stride, dilation) > 1``) is a hole: away from the borders, its outputs are
    the bias alone. The polyphase algorithm, the checkerboard analysis and the
    design solver all ask this function.

    Examples
    --------
    >>> phase_taps(3, 2, 1, 0), phase_taps(3, 2, 1, 1)     # k=3, s=2: 2 taps, then 1
    ((0, 2), (1,))
    >>> phase_taps(3, 2, 2, 1)                            # dilation 2: the odd phase is a hole
    ()

    The taps of a phase repeat every ``m = stride/gcd(dilation, stride)`` taps, so they are
    the range from the first one, solved in closed form (a modular inverse), whatever the sizes.
    """
    k, s = positive_int(kernel_size, "kernel_size"), positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    r = as_int(phase, "phase") % s
    g = math.gcd(d, s)
    m = s // g
    # d*t = r (mod s) has a solution exactly when g divides r: t = (r/g) * (d/g)^-1 (mod m), then every m-th tap
    first = (r // g) * pow(d // g, -1, m) % m if r % g == 0 else k
    taps = range(first, k, m)
    if len(taps) > MAX_LISTED:
        raise ValueError(
            f"phase_taps lists the taps of a phase, at most {MAX_LISTED}: phase {r} of kernel_size {k}, stride {s}, "
            f"dilation {d} has {len(taps)} (tconv.geometry.phase_tap_counts counts them in constant size)"
        )
    return tuple(taps)


def taps_per_phase(kernel_size: int, stride: int, dilation: int = 1) -> tuple[int, ...]:
    """How many taps reach each phase ``0 .. stride - 1`` (:func:`phase_taps`), away from the borders.

    Equal counts mean every output of the interior receives as many contributions
    (no checkerboard from the overlap); a 0 is a hole.

    Examples
    --------
    >>> taps_per_phase(3, 2), taps_per_phase(4, 2), taps_per_phase(3, 2, dilation=2)
    ((2, 1), (2, 2), (3, 0))

    The work is ``stride`` steps plus fewer than ``stride`` taps, whatever the kernel size: tap
    ``t`` reaches phase ``dilation*t mod stride``, which repeats every ``m = stride/gcd(dilation,
    stride)`` taps (:func:`phase_tap_counts`), so each reached phase gets ``kernel_size // m`` taps
    plus one for the first ``kernel_size mod m`` taps.
    """
    kernel_size, stride = positive_int(kernel_size, "kernel_size"), positive_int(stride, "stride")
    dilation = positive_int(dilation, "dilation")
    if stride > MAX_LISTED:
        raise ValueError(
            f"taps_per_phase lists one count per phase, at most {MAX_LISTED} phases, got stride {stride} "
            "(tconv.geometry.phase_tap_counts counts them in constant size)"
        )
    g = math.gcd(dilation, stride)
    q, r = divmod(kernel_size, stride // g)
    counts = [q if phase % g == 0 else 0 for phase in range(stride)]
    for t in range(r):
        counts[(dilation * t) % stride] += 1
    return tuple(counts)


def phase_tap_counts(kernel_size: int, stride: int, dilation: int = 1) -> dict[int, int]:
    """:func:`taps_per_phase` summarized in constant time: ``{taps: how many phases receive that many}``.

    With ``g = gcd(dilation, stride)``, the taps reach the ``m = stride/g`` phases that are
    multiples of ``g``, each once per ``m`` consecutive taps: ``kernel_size mod m`` of them
    receive ``ceil(kernel_size/m)`` taps, the others ``floor(kernel_size/m)``, and the
    ``stride - m`` remaining phases none (holes). The listing itself has ``stride``
    entries; this summary has at most three, whatever the stride.

    Examples
    --------
    >>> phase_tap_counts(3, 2), phase_tap_counts(3, 2, dilation=2)
    ({2: 1, 1: 1}, {3: 1, 0: 1})
    >>> phase_tap_counts(3, 10**9)
    {1: 3, 0: 999999997}
    """
    kernel_size, stride = positive_int(kernel_size, "kernel_size"), positive_int(stride, "stride")
    m = stride // math.gcd(positive_int(dilation, "dilation"), stride)
    q, r = divmod(kernel_size, m)
    counts: dict[int, int] = {}
    for taps, phases in ((q + 1, r), (q, m - r), (0, stride - m)):
        if phases:
            counts[taps] = counts.get(taps, 0) + phases
    return counts


def check_geometry(value: object, name: str = "geometry") -> Geometry:
    """``value`` if it is a consistent :class:`Geometry` (as :func:`conv_transpose_geometry` returns), else a
    ``TypeError`` or ``ValueError`` naming the field.

    A :class:`Geometry` made by hand or by :func:`dataclasses.replace` skips the constructors' checks, so
    its fields are checked here: ints, one per spatial axis; sizes of at least 0; kernel sizes, strides
    and dilations of at least 1 (a stride of 0 divided by zero deep inside; the crop may be any int).

    Examples
    --------
    >>> import dataclasses
    >>> g = conv_transpose_geometry((4, 4), 3, stride=2)
    >>> check_geometry(dataclasses.replace(g, stride=(0, 2)))
    Traceback (most recent call last):
    ...
    ValueError: geometry.stride must be ints of at least 1, one per spatial axis (2), got (0, 2)
    """
    if not isinstance(value, Geometry):
        raise TypeError(
            f"{name} must be a tconv.geometry.Geometry (from conv_transpose_geometry or conv_geometry), "
            f"got {type(value).__name__}"
        )
    _check_fields(value, name)
    return value


def _check_fields(geometry: Geometry, name: str) -> None:
    """:func:`check_geometry`'s field checks (not cached: ``True == 1`` and ``hash(True) == hash(1)``, so a
    cache would take a geometry with ``dilation=(True, 1)`` for the valid one)."""
    ndim = len(geometry.input_size) if type(geometry.input_size) is tuple else -1
    for field, least in (
        ("input_size", 0),
        ("output_size", 0),
        ("kernel_size", 1),
        ("stride", 1),
        ("dilation", 1),
        ("crop_begin", None),
    ):
        entries = getattr(geometry, field)
        if (
            type(entries) is not tuple
            or len(entries) != ndim
            or not 1 <= ndim <= MAX_SPATIAL_AXES
            or not all(is_int(v) and (least is None or v >= least) for v in entries)
        ):
            rule = "ints" if least is None else f"ints of at least {least}"
            raise ValueError(f"{name}.{field} must be {rule}, one per spatial axis ({max(ndim, 0)}), got {entries!r}")


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
    ValueError: padding must have one entry per spatial axis (1), got 2 entries: (1, 2); an asymmetric ... ((1, 2),)
    """
    ndim = check_ndim(ndim)
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
            begin, end = int_tuple(entry, name, 2)
            pairs.append((begin, end))
        else:
            raise TypeError(f"{name} entries must be ints or (begin, end) pairs of ints, got {show(padding)}")
    return tuple(pairs)


def crop_pairs(pad: str | Pairs, nd: int) -> Pairs:
    """``(begin, end)`` crops of a :func:`parse_padding` result other than ``"same"`` (``"valid"``: none)."""
    return ((0, 0),) * nd if pad == "valid" else pad  # type: ignore[return-value]


def _output_size_arg(output_size: object, ndim: int) -> tuple[int, ...]:
    """An int applies to every axis, like every other size argument."""
    return positive_sizes(output_size, "output_size", ndim)


@dataclass(frozen=True)
class WindowArguments:
    """The arguments of a transposed convolution that do not depend on the input size, checked.

    ``padding`` is parsed (:func:`parse_padding`); every other field has one entry
    per spatial axis.
    """

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | Pairs
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]


def window_arguments(
    ndim: int,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> WindowArguments:
    """Check the size-free arguments of a transposed convolution with ``ndim`` spatial axes.

    The rules :func:`conv_transpose_geometry` applies before it knows the input
    size, for callers that have none yet (a layer being built): positive kernel
    size, stride and dilation, ``0 <= output_padding < max(stride, dilation)``
    (PyTorch's rule) and ``output_padding = 0`` with ``padding="same"``.

    Examples
    --------
    >>> window_arguments(2, 3, stride=2, padding=1, output_padding=1).output_padding
    (1, 1)
    >>> window_arguments(1, 3, stride=2, output_padding=2)
    Traceback (most recent call last):
    ...
    ValueError: output_padding must be smaller than stride or dilation in every axis, got output_padding=(2,), ...)
    """
    ndim = check_ndim(ndim)
    k = positive_sizes(kernel_size, "kernel_size", ndim)
    s = int_tuple(stride, "stride", ndim, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", ndim, minimum=1, rule="positive")
    op = int_tuple(output_padding, "output_padding", ndim, minimum=0, rule="non-negative")
    if any(a >= max(si, di) for a, si, di in zip(op, s, d)):
        raise ValueError(
            "output_padding must be smaller than stride or dilation in every axis, "
            f"got output_padding={show(op)}, stride={show(s)}, dilation={show(d)}"
        )
    pad = parse_padding(padding, ndim)
    if pad == "same" and any(op):
        raise ValueError(
            "output_padding must be 0 with padding='same' (its output size is input*stride); "
            f"got output_padding={show(op)}; pass output_size to choose another size"
        )
    return WindowArguments(k, s, pad, op, d)


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
        Spatial size of the input (its length sets the number of axes). An axis of
        size 0 is allowed: its output has the size the formula gives, or 0 where the
        formula is negative (TensorFlow's, Keras' and JAX's empty inputs).
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
    nd = spatial_rank(input_size, "input_size")
    i = int_tuple(input_size, "input_size", nd, minimum=0, rule="non-negative")
    w = window_arguments(nd, kernel_size, stride, padding, output_padding, dilation)
    k, s, d, op, pad = w.kernel_size, w.stride, w.dilation, w.output_padding, w.padding
    full = tuple((ii - 1) * si + effective_kernel_size(ki, di) for ii, ki, si, di in zip(i, k, s, d))

    if pad == "same":
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

    pairs = crop_pairs(pad, nd)
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
                f"{show(k)}, stride {show(s)}, padding {show(padding)}, dilation {show(d)}); pass an output_size "
                "in that range"
            )
    else:
        out = tuple(n + a for n, a in zip(natural, op))
    # an empty input axis gives the output its formula says, or an empty one (TensorFlow, Keras, JAX)
    out = tuple(o if ii else max(o, 0) for o, ii in zip(out, i))
    if any(o < 1 for o, ii in zip(out, i) if ii):
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
    A 4x4 input and a 3x3 kernel give a 2x2 output:

    >>> conv_geometry((4, 4), 3).input_size
    (2, 2)
    >>> conv_geometry(7, 3, stride=2, padding="same").input_size
    (4,)
    """
    i = positive_sizes(input_size, "input_size")
    nd = len(i)
    k = positive_sizes(kernel_size, "kernel_size", nd)
    s = int_tuple(stride, "stride", nd, minimum=1, rule="positive")
    d = int_tuple(dilation, "dilation", nd, minimum=1, rule="positive")
    pad = parse_padding(padding, nd)
    ke = tuple(map(effective_kernel_size, k, d))
    if pad == "same":
        out = tuple(-(-ii // si) for ii, si in zip(i, s))
        begin = tuple(max((o - 1) * si + kk - ii, 0) // 2 for o, si, kk, ii in zip(out, s, ke, i))
        return Geometry(out, i, k, s, d, begin)
    pairs = crop_pairs(pad, nd)
    padded = tuple(ii + b + e for ii, (b, e) in zip(i, pairs))
    if any(pp < kk for pp, kk in zip(padded, ke)):
        raise ValueError(
            f"the padded input is smaller than the dilated kernel: input_size {show(i)} with "
            f"padding {show(padding)} gives {show(padded)}, but the kernel spans dilation*(kernel_size - 1) + 1 "
            f"= {show(ke)} (kernel_size {show(k)}, dilation {show(d)})"
        )
    out = tuple((pp - kk) // si + 1 for pp, kk, si in zip(padded, ke, s))
    return Geometry(out, i, k, s, d, tuple(b for b, _ in pairs))


def _check_axis_range(sizes: tuple[int, ...], axis: object, start: object, stop: object) -> tuple[int, int, int]:
    ax = as_int(axis, "axis")
    if not 0 <= ax < len(sizes):
        raise ValueError(f"axis must be in [0, {len(sizes)}) (the geometry's spatial axes), got {ax}")
    lo, hi = as_int(start, "start"), as_int(stop, "stop")
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
    ax, lo, hi = _check_axis_range(check_geometry(geometry).output_size, axis, start, stop)
    i, k = geometry.input_size[ax], geometry.kernel_size[ax]
    s, d, b = geometry.stride[ax], geometry.dilation[ax], geometry.crop_begin[ax]
    spans = [tap_range(d * t - b, s, i, lo, hi) for t in range(k)]
    spans = [(j0, j1) for j0, j1 in spans if j0 < j1]
    if not spans:
        return None
    return min(j0 for j0, _ in spans), max(j1 for _, j1 in spans)


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
    ax, lo, hi = _check_axis_range(check_geometry(geometry).input_size, axis, start, stop)
    size, k = geometry.output_size[ax], geometry.kernel_size[ax]
    s, d, b = geometry.stride[ax], geometry.dilation[ax], geometry.crop_begin[ax]
    cells = []
    for t in range(k):
        shift = d * t - b  # output j reads the cell s*j + shift with this tap
        j0, j1 = tap_range(shift, s, hi, 0, size)  # the j < hi whose cell is inside the input
        j0 = max(j0, lo)
        if j0 < j1:
            cells.append((s * j0 + shift, s * (j1 - 1) + shift + 1))
    if not cells:
        return None
    return min(c0 for c0, _ in cells), max(c1 for _, c1 in cells)
