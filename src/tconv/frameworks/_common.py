"""What every framework module shares: one window, one native call, and the two sides of a translation.

Every framework's transposed convolution is, per spatial axis, a window of the
full output ``(i - 1)*s + d*(k - 1) + 1`` (:mod:`tconv.geometry`). An emulation
therefore only has to (1) validate its arguments as the framework does,
(2) resolve them into a crop ``(begin, end)`` of the full output per axis
(:func:`window_from_crop` turns that into a :class:`~tconv.geometry.Geometry`),
(3) bring data and weight into tconv's channels-first / ``(C_in, C_out/groups, *k)``
layout, and (4) call :func:`run_window`.

A translation (:mod:`tconv.translation`) meets the frameworks in a
:class:`ConvTransposeSpec`, the window without a framework: each framework module
reads its own arguments into one (``source(...)`` returns a :class:`Source`) and
chooses its arguments for one (``target(spec)`` returns a :class:`Target`). How a
person writes the framework's layer (its calls, their positional parameters, the
arguments that describe the weight) is each module's :class:`Words`, and its
``weight_shape(params, input_shape, notes)`` reads the weight's shape off them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import int_tuple, is_int, positive_int, show
from ..geometry import Geometry, effective_kernel_size
from ..weights import Dilate, Step, Ungroup
from . import _code

__all__ = [
    "ConvTransposeSpec",
    "check_groups",
    "check_shape",
    "input_channels",
    "DataLayout",
    "Source",
    "Target",
    "Words",
    "channel_count",
    "layer_rank",
    "channels_first",
    "channels_last",
    "dense_kernel",
    "input_spatial_size",
    "int_list",
    "move_channels_first",
    "move_channels_last",
    "needs_rank",
    "nonempty",
    "run_window",
    "source_rank",
    "window_from_crop",
]

Pairs = tuple[tuple[int, int], ...]
Runner = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], np.ndarray]


# --- the emulations ------------------------------------------------------------------------------------


def int_list(value: object, name: str) -> list[int]:
    """An int or a sequence of ints as a list (its length is checked by the caller)."""
    length = len(value) if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) else 1
    return list(int_tuple(value, name, length))


def move_channels_first(x: np.ndarray) -> np.ndarray:
    """``(N, *spatial, C)`` -> ``(N, C, *spatial)``."""
    return np.moveaxis(x, -1, 1)


def move_channels_last(y: np.ndarray) -> np.ndarray:
    """``(N, C, *spatial)`` -> ``(N, *spatial, C)``."""
    return np.moveaxis(y, 1, -1)


def window_from_crop(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    crop: Sequence[tuple[int, int]],
) -> Geometry:
    """The window that crops ``(begin, end)`` cells of the full output per axis (negative: zeros).

    Examples
    --------
    >>> g = window_from_crop((4,), (3,), (2,), (1,), [(0, 1)])    # TensorFlow's SAME for k=3, s=2
    >>> g.output_size, g.crop_begin
    ((8,), (0,))
    """
    i, k, s, d = tuple(input_size), tuple(kernel_size), tuple(stride), tuple(dilation)
    full = tuple((ii - 1) * si + effective_kernel_size(ki, di) for ii, ki, si, di in zip(i, k, s, d))
    return Geometry(i, tuple(f - b - e for f, (b, e) in zip(full, crop)), k, s, d, tuple(b for b, _ in crop))


def run_window(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, window: Geometry, groups: int) -> np.ndarray:
    """The window ``window`` of the transposed convolution of channels-first ``x``.

    ``x`` is ``(N, C_in, *i)``, ``w`` ``(C_in, C_out/groups, *k)``; returns
    ``(N, C_out, *o)``. An axis with ``output_size <= 0`` (only JAX allows one)
    gives an empty result.
    """
    from ..ops import conv_transpose_window

    return conv_transpose_window(x, w, bias, window, groups)


# --- the translations ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Words:
    """How a framework's transposed convolution is written: what :func:`tconv.translation.read_call` reads.

    Attributes
    ----------
    prefixes : tuple of str
        The first dotted names its calls are written with (``torch`` in ``torch.nn.ConvTranspose2d``).
    calls : dict
        The last dotted name of each call (``{n}``: the number of spatial axes) and its positional parameters.
    layer : tuple of str
        Arguments that describe the weight (channels, kernel size): read into its shape by the module's
        ``weight_shape``, and checked against a given one.
    dropped : tuple of str
        Arguments that do not change the numbers: the arrays, names, devices.
    unmodelled : tuple of str
        Arguments of the layer outside the transposed convolution (an activation, initializers): left out,
        and the plan says so.
    """

    prefixes: tuple[str, ...]
    calls: dict[str, tuple[str, ...]]
    layer: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    unmodelled: tuple[str, ...] = ()


def layer_rank(kernel_size: object, input_shape: Sequence[int] | None, extra: int, notes: list[str]) -> int:
    """The number of spatial axes of a layer written with ``kernel_size``: its entries, else the input's (which
    has ``extra`` non-spatial axes), else 2, said in ``notes``."""
    if isinstance(kernel_size, Sequence) and not isinstance(kernel_size, (str, bytes)):
        return len(kernel_size)
    if input_shape is not None:
        return len(input_shape) - extra
    notes.append(
        f"kernel_size={kernel_size!r} does not say the number of spatial axes: read as 2-d (write one size per "
        "axis, or name the layer, e.g. ConvTranspose1d, for another)"
    )
    return 2


def channel_count(input_shape: Sequence[int] | None, axis: int, name: str) -> int | str:
    """The channels of ``input_shape`` (its entry ``axis``), or ``name`` when there is no input shape.

    Examples
    --------
    >>> channel_count((1, 64, 16, 16), 1, "C_in"), channel_count(None, 1, "C_in")
    (64, 'C_in')
    >>> channel_count((16, 16), -3, "C_in")
    Traceback (most recent call last):
    ...
    ValueError: input_shape (16, 16) has no channel axis -3: give the input's whole shape, its channel axis included
    """
    if input_shape is None:
        return name
    if not -len(input_shape) <= axis < len(input_shape):
        raise ValueError(
            f"input_shape {tuple(input_shape)} has no channel axis {axis}: give the input's whole shape, "
            "its channel axis included"
        )
    return int(input_shape[axis])


@dataclass(frozen=True)
class ConvTransposeSpec:
    """A transposed convolution without a framework: tconv's window model plus channels.

    Per spatial axis the output is the window ``[begin, full - end)`` of the full
    output ``full = (i - 1)*stride + dilation*(kernel_size - 1) + 1``; a negative
    ``begin``/``end`` extends that side with zeros (plus the bias).

    Attributes
    ----------
    kernel_size, stride, dilation : tuple of int
    crop : tuple of (int, int)
        ``(begin, end)`` per axis.
    in_channels, out_channels, groups : int
    input_size : tuple of int or None
        The spatial input size the window is pinned to (sources that give an
        explicit output size), or None when it holds for every input size.
    """

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    crop: Pairs
    in_channels: int
    out_channels: int
    groups: int
    input_size: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        # the sources check their own arguments, in their own names; this is the last line of defence
        nd = len(self.kernel_size)
        for name in ("kernel_size", "stride", "dilation"):
            int_tuple(getattr(self, name), name, nd, minimum=1, rule="positive")
        check_groups(self.groups, "groups", in_channels=self.in_channels, out_channels=self.out_channels)

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)

    @property
    def effective_kernel_size(self) -> tuple[int, ...]:
        return tuple(map(effective_kernel_size, self.kernel_size, self.dilation))

    def geometry(self, input_size: Sequence[int]) -> Geometry:
        """The :class:`tconv.geometry.Geometry` of this window for an input size."""
        return window_from_crop(input_size, self.kernel_size, self.stride, self.dilation, self.crop)

    def output_size(self, input_size: Sequence[int]) -> tuple[int, ...]:
        """``(i - 1)*s + k_eff - begin - end`` per axis."""
        return self.geometry(input_size).output_size


def nonempty(spec: ConvTransposeSpec, input_size: tuple[int, ...] | None) -> ConvTransposeSpec:
    """``spec``, after checking that its output is not empty at ``input_size`` (when the source gave one)."""
    if input_size is not None:
        out = spec.output_size(input_size)
        if any(o < 1 for o in out):
            raise ValueError(
                f"the source's output is empty (spatial size {show(out)} for an input of size "
                f"{show(input_size)}): there is nothing to translate"
            )
    return spec


@dataclass(frozen=True)
class DataLayout:
    """How a framework's (batched) arrays map to tconv's ``(N, C, *spatial)``.

    ``to_tconv`` permutes the framework's input into it, ``from_tconv`` permutes it
    into the framework's output.
    """

    to_tconv: tuple[int, ...]
    from_tconv: tuple[int, ...]

    @property
    def channel_axis(self) -> int:
        """The output's channel axis."""
        return self.from_tconv.index(1)

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        """The output's spatial axes, in tconv's order."""
        return tuple(self.from_tconv.index(a) for a in range(2, len(self.from_tconv)))


def channels_first(nd: int) -> DataLayout:
    return DataLayout(tuple(range(nd + 2)), tuple(range(nd + 2)))


def channels_last(nd: int) -> DataLayout:
    """``(N, *spatial, C)`` arrays."""
    return DataLayout((0, nd + 1, *range(1, nd + 1)), (0, *range(2, nd + 2), 1))


@dataclass
class Source:
    """A source call read into a spec, with how its arrays map to tconv's and its emulation."""

    framework: str
    spec: ConvTransposeSpec
    call: str
    layout: DataLayout
    weight_steps: list[Step]  # source weight -> (C_in, C_out/groups, *k)
    weight_shape: tuple[int, ...]
    run: Runner
    unbatched: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Target:
    """A target's call for a spec: its arguments, the step after it, its emulation and its code.

    ``body(weight, bias)`` gives the statements that compute ``y`` from ``x`` and the
    variable ``weight`` (``bias`` is a variable name, or None for no bias); :meth:`code`
    wraps them into the printed module (``imports``, ``convert_weight``, and
    ``conv_transpose(x, weight, bias=None)`` documented by ``doc``), unless the target
    writes its own (``program``).
    """

    framework: str
    function: str
    arguments: dict[str, Any]
    layout: DataLayout
    post: Pairs
    run: Runner
    body: Callable[[str, str | None], list[str]]
    imports: tuple[str, ...] = ()
    doc: str = ""
    weight_steps: list[Step] = field(default_factory=list)  # (C_in, C_out/groups, *k) -> target weight
    bias_after: bool = False
    notes: list[str] = field(default_factory=list)
    program: Callable[[str], str] | None = None

    def code(self, convert_weight: str) -> str:
        """The printed module, given the source of its ``convert_weight`` function."""
        if self.program is not None:
            return self.program(convert_weight)
        bias = _code.bias_lines(self.layout) if self.bias_after else []
        return _code.program(self.imports, convert_weight, self.doc, [*self.body("weight", "bias"), *bias, "return y"])


def check_shape(value: object, name: str, minimum: int = 1) -> tuple[int, ...]:
    """A shape argument (``weight_shape``, ``input_shape``): a non-empty sequence of ints ``>= minimum``.

    Examples
    --------
    >>> check_shape((4.5, 8, 3, 3), "weight_shape")
    Traceback (most recent call last):
    ...
    TypeError: weight_shape must be a sequence of ints, got (4.5, 8, 3, 3)
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise TypeError(f"{name} must be a sequence of ints, got {show(value)} of type {type(value).__name__}")
    if not all(is_int(v) for v in value):
        raise TypeError(f"{name} must be a sequence of ints, got {show(value)}")
    rule = "positive" if minimum == 1 else "non-negative"
    return int_tuple(value, name, len(value), minimum=minimum, rule=rule)


def check_groups(groups: object, name: str, in_channels: int | None = None, out_channels: int | None = None) -> int:
    """``groups`` (called ``name`` by the framework) as a positive int dividing the channel counts given.

    Examples
    --------
    >>> check_groups(3, "groups", in_channels=4)
    Traceback (most recent call last):
    ...
    ValueError: groups=3 must divide the input channels (4)
    """
    g = positive_int(groups, name)
    counts = {"input": in_channels, "output": out_channels}
    bad = [f"the {which} channels ({count})" for which, count in counts.items() if count is not None and count % g]
    if bad:
        raise ValueError(f"{name}={g} must divide " + " and ".join(bad))
    return g


def input_channels(input_shape: Sequence[int], layout: DataLayout, unbatched_ok: bool = False) -> int:
    """The channel count of a source's ``input_shape`` given in its data layout (checked like
    :func:`input_spatial_size`)."""
    nd = len(layout.to_tconv) - 2
    shape = tuple(input_shape)
    if unbatched_ok and len(shape) == nd + 1:
        shape = (1, *shape)
    return shape[layout.to_tconv[1]]


def input_spatial_size(
    input_shape: Sequence[int] | None, layout: DataLayout, unbatched_ok: bool = False
) -> tuple[int, ...] | None:
    """The spatial size of a source's ``input_shape`` given in its data layout (None stays None)."""
    if input_shape is None:
        return None
    nd = len(layout.to_tconv) - 2
    shape = check_shape(input_shape, "input_shape", minimum=0)
    if unbatched_ok and len(shape) == nd + 1:
        shape = (1, *shape)
    if len(shape) != nd + 2:
        raise ValueError(
            f"input_shape must have {nd + 2} entries (batch, channels and the {nd} spatial axes of weight_shape), "
            f"got {show(shape)}"
        )
    return tuple(shape[j] for j in layout.to_tconv[2:])


def dense_kernel(
    spec: ConvTransposeSpec, no_groups: str, no_dilation: str, dilation_name: str
) -> tuple[list[Step], list[str]]:
    """The weight steps, and their notes, of a target without groups (``no_groups`` says so) and, when
    ``no_dilation`` says why, without the dilation (its argument ``dilation_name`` becomes 1)."""
    steps: list[Step] = []
    notes = []
    if spec.groups > 1:
        steps.append(Ungroup(spec.groups))
        notes.append(
            f"{no_groups}: groups={spec.groups} becomes a dense block-diagonal kernel "
            f"({spec.groups}x the multiplications, same result)."
        )
    if no_dilation:
        steps.append(Dilate(spec.dilation))
        notes.append(
            f"{no_dilation}: the dilation is written into the kernel (zeros between taps) and {dilation_name}=1."
        )
    return steps, notes


def source_rank(weight_shape: tuple[int, ...], ranks: range, message: str) -> int:
    """The number of spatial axes of a source's weight, or ``ValueError(message + " of shape ...")``."""
    nd = len(weight_shape) - 2
    if nd not in ranks:
        raise ValueError(f"{message} of shape {show(weight_shape)} (weight_shape)")
    return nd


def needs_rank(spec: ConvTransposeSpec, framework: str, ranks: range) -> None:
    if spec.ndim not in ranks:
        raise ValueError(
            f"{framework} has transposed convolutions with {ranks.start} to {ranks.stop - 1} spatial axes; this one "
            f"has {spec.ndim}: no {framework} call computes it (translate to jax, onnx or tconv instead)"
        )
