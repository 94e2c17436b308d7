"""PyTorch's ``F.conv_transpose{1,2,3}d`` and ``ConvTranspose*d.forward(output_size=...)``: emulation and translation.

Same names, positional order (``groups`` *before* ``dilation``), defaults, layouts
and weight layout ``(C_in, C_out/groups, *k)`` as PyTorch, the same validation
(PyTorch's reasons in the messages), and the same numbers; no PyTorch import.

PyTorch's window (:mod:`tconv.geometry`): crop ``padding`` from both ends of the
full output, then give back ``output_padding`` cells at the end, with
``0 <= output_padding < max(stride, dilation)``: the crop ``(begin, end)`` is
``(padding, padding - output_padding)``, whatever the input size. The module's
``forward(input, output_size)`` replaces ``output_padding`` by
``output_size - min_size`` where the valid sizes are
``min_size .. min_size + stride - 1`` (:func:`module_output_padding`), the
stride alone bounding the range even when the dilation is larger.

As a translation target (:func:`target`) PyTorch cuts the windows with ``b >= 0``
and ``0 <= b - e < max(s, d)``; any other window is its nearest call plus a crop
or zero-pad afterwards. Dtypes follow NumPy's promotion as everywhere in tconv
(PyTorch would reject an input and weight of different dtypes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validate import numeric_array, show
from ..geometry import Geometry
from . import _code
from ._common import (
    ConvTransposeSpec,
    Source,
    Target,
    Words,
    channel_count,
    channels_first,
    check_groups,
    input_spatial_size,
    int_list,
    layer_rank,
    needs_rank,
    nonempty,
    run_window,
    source_rank,
    window_from_crop,
)

__all__ = [
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "module_output_padding",
    "output_size",
    "valid_output_sizes",
    "window",
]

#: The name translations print, and the parameters a translation source takes.
NAME = "PyTorch"
PARAMETERS = ("stride", "padding", "output_padding", "groups", "dilation", "output_size")

_MODULE = (
    "in_channels",
    "out_channels",
    "kernel_size",
    "stride",
    "padding",
    "output_padding",
    "groups",
    "bias",
    "dilation",
    "padding_mode",
    "device",
    "dtype",
)

#: How a person writes it: the module (lazy too) and the functional, with their positional parameters.
WORDS = Words(
    prefixes=("torch", "nn", "F", "functional"),
    calls={
        "ConvTranspose{n}d": _MODULE,
        "LazyConvTranspose{n}d": _MODULE[1:],
        "conv_transpose{n}d": ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
    },
    layer=("in_channels", "out_channels", "kernel_size", "padding_mode"),
    dropped=("input", "weight", "bias", "device", "dtype"),
)


def weight_shape(
    params: dict[str, Any], input_shape: Sequence[int] | None, notes: list[str], channel_axis: int | None = None
) -> tuple[int | str, ...] | None:
    """The weight shape ``(in_channels, out_channels/groups, *kernel_size)`` a module's arguments give.

    An entry they do not give is a name (``"C_in"``, read off ``input_shape``'s
    channel axis when there is one: ``channel_axis``, by default the one before the
    spatial axes); None when they give no kernel size (a functional call: the
    weight's shape must be given). Checks PyTorch's constructor rules.

    Examples
    --------
    >>> weight_shape({"in_channels": 64, "out_channels": 32, "kernel_size": 3, "groups": 2}, None, [])
    (64, 16, 3, 3)
    >>> weight_shape({"out_channels": 32, "kernel_size": (3,)}, None, [])
    ('C_in', 32, 3)
    """
    mode = params.get("padding_mode", "zeros")
    if mode != "zeros":
        raise ValueError(f'Only "zeros" padding mode is supported for ConvTranspose, got padding_mode={mode!r}')
    if "kernel_size" not in params:
        return None
    nd = layer_rank(params["kernel_size"], input_shape, 2, notes)
    kernel = _per_axis(params["kernel_size"], "kernel_size", nd, f"ConvTranspose{nd}d")
    groups = params.get("groups", 1)
    c_in = params.get(
        "in_channels", channel_count(input_shape, -nd - 1 if channel_axis is None else channel_axis, "C_in")
    )
    c_out = params.get("out_channels", "C_out")
    for value, name in ((c_in, "in_channels"), (c_out, "out_channels")):
        if not isinstance(value, str) and value % groups:
            raise ValueError(f"{name} must be divisible by groups, got {name}={value}, groups={groups}")
    return (c_in, "C_out/groups" if isinstance(c_out, str) else c_out // groups, *kernel)


_AXIS_NAMES = {1: ("width",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def _per_axis(value: object, name: str, nd: int, op: str) -> tuple[int, ...]:
    """PyTorch's int-or-tuple argument: an int, or a sequence of 1 or ``nd`` ints."""
    if (
        isinstance(value, str)
        or (isinstance(value, Sequence) and any(isinstance(v, (Sequence, float)) for v in value))
        or isinstance(value, float)
    ):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not {type(value).__name__}")
    values = int_list(value, name)
    if len(values) == 1:
        values = values * nd
    if len(values) != nd:
        raise ValueError(
            f"{op}: expected {name} to be a single integer value or a list of {nd} values to match the "
            f"convolution dimensions, but got {name}={show(tuple(values))}"
        )
    return tuple(values)


def _check_parameters(
    nd: int, stride: object, padding: object, output_padding: object, dilation: object, op: str
) -> tuple[tuple[int, ...], ...]:
    s = _per_axis(stride, "stride", nd, op)
    p = _per_axis(padding, "padding", nd, op)
    a = _per_axis(output_padding, "output_padding", nd, op)
    d = _per_axis(dilation, "dilation", nd, op)
    if any(v < 0 for v in p):
        raise ValueError(f"{op}: negative padding is not supported, got padding={show(p)}")
    if any(v < 0 for v in a):
        raise ValueError(f"{op}: negative output_padding is not supported, got output_padding={show(a)}")
    if any(v <= 0 for v in s):
        raise ValueError(f"{op}: non-positive stride is not supported, got stride={show(s)}")
    if any(v <= 0 for v in d):
        raise ValueError(f"{op}: dilation should be greater than zero, got dilation={show(d)}")
    if any(ai >= si and ai >= di for ai, si, di in zip(a, s, d)):
        names = _AXIS_NAMES[nd] if nd in _AXIS_NAMES else tuple(f"axis {j}" for j in range(nd))
        detail = ", ".join(
            f"{n}: output_padding {ai}, stride {si}, dilation {di}" for n, ai, si, di in zip(names, a, s, d)
        )
        raise ValueError(f"{op}: output padding must be smaller than either stride or dilation, but got {detail}")
    return s, p, a, d


def _crop(padding: Sequence[int], output_padding: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """PyTorch's crop of the full output: ``padding`` at both ends, ``output_padding`` given back at the end."""
    return tuple((p, p - a) for p, a in zip(padding, output_padding))


def window(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> Geometry:
    """PyTorch's window: ``crop_begin = padding``, ``o = (i - 1)*s - 2p + d*(k - 1) + op + 1``.

    Validates as ``F.conv_transpose*d`` does and raises PyTorch's "Output size is
    too small" when the output would be empty.

    Examples
    --------
    >>> g = window((4, 4), (4, 4), stride=2, padding=1)
    >>> g.output_size, g.crop_begin
    ((8, 8), (1, 1))
    """
    i = tuple(input_size)
    nd = len(i)
    s, p, a, d = _check_parameters(nd, stride, padding, output_padding, dilation, f"conv_transpose{nd}d")
    g = window_from_crop(i, kernel_size, s, d, _crop(p, a))
    if any(o < 1 for o in g.output_size):
        raise ValueError(
            f"conv_transpose{nd}d: Given input size per channel: ({' x '.join(map(str, i))}). Calculated "
            f"output size per channel: ({' x '.join(map(str, g.output_size))}). Output size is too small"
        )
    return g


def output_size(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> tuple[int, ...]:
    """Spatial output size of ``F.conv_transpose*d`` (PyTorch's formula and checks).

    Examples
    --------
    >>> output_size(16, 4, stride=2, padding=1)
    (32,)
    >>> output_size((5, 5), 3, stride=2, padding=1, output_padding=1)
    (10, 10)
    """
    i = tuple(int_list(input_size, "input_size"))
    k = _per_axis(kernel_size, "kernel_size", len(i), "output_size")
    return window(i, k, stride, padding, output_padding, dilation).output_size


def valid_output_sizes(
    input_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> tuple[range, ...]:
    """The sizes ``ConvTranspose*d.forward(input, output_size=...)`` accepts, per axis.

    ``min_size .. min_size + stride - 1`` with ``min_size = (i - 1)*s - 2p + d*(k - 1) + 1``:
    only the stride bounds the range (``F.conv_transpose*d`` itself accepts
    ``output_padding < max(stride, dilation)``).

    Examples
    --------
    >>> valid_output_sizes(5, 3, stride=2, padding=1)
    (range(9, 11),)
    >>> valid_output_sizes(5, 3, stride=1, dilation=3)   # output_padding=1, 2 are legal, output_size cannot reach them
    (range(11, 12),)
    """
    i = tuple(int_list(input_size, "input_size"))
    nd = len(i)
    k = _per_axis(kernel_size, "kernel_size", nd, "valid_output_sizes")
    lows = _min_sizes(i, k, stride, padding, dilation)
    s = _per_axis(stride, "stride", nd, "valid_output_sizes")
    return tuple(range(max(low, 1), max(low + si, 1)) for low, si in zip(lows, s))


def _min_sizes(
    i: tuple[int, ...], k: tuple[int, ...], stride: object, padding: object, dilation: object
) -> tuple[int, ...]:
    """``(i - 1)*s - 2p + d*(k - 1) + 1`` per axis (PyTorch's ``min_sizes``; may be < 1)."""
    s, p, a, d = _check_parameters(len(i), stride, padding, 0, dilation, f"conv_transpose{len(i)}d")
    return window_from_crop(i, k, s, d, _crop(p, a)).output_size


def module_output_padding(
    input_shape: Sequence[int],
    output_size: Sequence[int],
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
) -> tuple[int, ...]:
    """The ``output_padding`` that ``ConvTranspose*d.forward(input, output_size)`` uses.

    PyTorch's ``_ConvTransposeNd._output_padding``: ``output_size`` has one entry per
    spatial axis, or the whole output shape (whose first two entries, or first one
    for an unbatched input, are dropped); each entry must lie in
    :func:`valid_output_sizes`; the result is ``output_size - min_size``. The
    module's own ``output_padding`` is ignored when ``output_size`` is given.

    Parameters
    ----------
    input_shape : sequence of int
        The whole input shape, ``(N, C_in, *i)`` or unbatched ``(C_in, *i)``.
    output_size : sequence of int
    kernel_size, stride, padding, dilation : int or sequence of int

    Examples
    --------
    >>> module_output_padding((1, 4, 5, 5), (10, 10), kernel_size=3, stride=2, padding=1)
    (1, 1)
    >>> module_output_padding((1, 4, 5, 5), (11, 10), kernel_size=3, stride=2, padding=1)
    Traceback (most recent call last):
    ...
    ValueError: requested an output size of (11, 10), but valid sizes range from (9, 9) to (10, 10) (for an input of (5, 5))
    """  # noqa: E501 (a message a doctest shows whole)
    shape = tuple(int_list(input_shape, "input_shape"))
    size = tuple(int_list(output_size, "output_size"))
    k_list = int_list(kernel_size, "kernel_size")
    # PyTorch infers the number of spatial axes from the layer; here from kernel_size when it has one
    # entry per axis, else from a batched input
    nd = len(k_list) if len(k_list) > 1 else len(shape) - 2
    if len(shape) not in (nd + 1, nd + 2):
        raise ValueError(
            f"ConvTranspose{nd}d: expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input, got shape {show(shape)}"
        )
    spatial = shape[-nd:]
    if len(size) not in (nd, len(shape)):
        raise ValueError(
            f"ConvTranspose{nd}D: for {len(shape)}D input, output_size must have {nd} or {len(shape)} elements "
            f"(got {len(size)})"
        )
    size = size[-nd:]
    k = _per_axis(kernel_size, "kernel_size", nd, f"ConvTranspose{nd}d")
    lows = _min_sizes(spatial, k, stride, padding, dilation)
    s = _per_axis(stride, "stride", nd, f"ConvTranspose{nd}d")
    if any(not low <= o < low + si for o, low, si in zip(size, lows, s)):
        raise ValueError(
            f"requested an output size of {show(size)}, but valid sizes range from "
            f"{show(lows)} to {show(tuple(low + si - 1 for low, si in zip(lows, s)))} "
            f"(for an input of {show(spatial)})"
        )
    return tuple(o - low for o, low in zip(size, lows))


def _conv_transpose(
    nd: int,
    input: Any,
    weight: Any,
    bias: Any,
    stride: object,
    padding: object,
    output_padding: object,
    groups: object,
    dilation: object,
) -> np.ndarray:
    op = f"conv_transpose{nd}d"
    x = numeric_array(input, "input")
    w = numeric_array(weight, "weight")
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {op}, but got input of size: "
            f"{list(x.shape)}"
        )
    if w.ndim != nd + 2:
        raise ValueError(f"{op}: expected a {nd + 2}D weight (C_in, C_out/groups, *k), got shape {show(w.shape)}")
    batched = x.ndim == nd + 2
    if not batched:
        x = x[None]
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool):
        raise TypeError(f"{op}(): argument 'groups' must be int, not {type(groups).__name__}")
    g = int(groups)
    if g <= 0:
        raise ValueError(f"{op}: non-positive groups is not supported, got groups={g}")
    s, p, a, d = _check_parameters(nd, stride, padding, output_padding, dilation, op)
    if w.shape[0] % g:
        raise ValueError(
            f"Given groups={g}, expected weight to be divisible by {g} at dimension 0, but got weight of size "
            f"{list(w.shape)} instead"
        )
    if x.shape[1] != w.shape[0]:
        raise ValueError(
            f"Given transposed=1, weight of size {list(w.shape)}, expected input{list(x.shape)} to have "
            f"{w.shape[0]} channels, but got {x.shape[1]} channels instead"
        )
    b = None
    if bias is not None:
        b = numeric_array(bias, "bias")
        if b.shape != (w.shape[1] * g,):
            raise ValueError(
                f"Given transposed=1, weight of size {list(w.shape)}, expected bias to be 1-dimensional with "
                f"{w.shape[1] * g} elements, but got bias of size {list(b.shape)} instead"
            )
    if 0 in x.shape[2:]:
        raise ValueError(
            f"{op}: Only zero batch or zero channel inputs are supported, but got input shape: {list(x.shape)}"
        )
    g_window = window(x.shape[2:], w.shape[2:], s, p, a, d)
    y = run_window(x, w, b, g_window, g)
    return y if batched else y[0]


def _functional(nd: int, doc: str) -> Callable[..., np.ndarray]:
    """``F.conv_transpose{nd}d``: the three functions differ only in their number of spatial axes."""

    def conv_transpose(
        input: Any,
        weight: Any,
        bias: Any = None,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        dilation: int | Sequence[int] = 1,
    ) -> np.ndarray:
        return _conv_transpose(nd, input, weight, bias, stride, padding, output_padding, groups, dilation)

    conv_transpose.__name__ = conv_transpose.__qualname__ = f"conv_transpose{nd}d"
    conv_transpose.__doc__ = doc
    return conv_transpose


conv_transpose1d = _functional(
    1,
    """``torch.nn.functional.conv_transpose1d`` on NumPy arrays.

    Parameters
    ----------
    input : array_like, shape (N, C_in, W) or unbatched (C_in, W)
    weight : array_like, shape (C_in, C_out/groups, kW)
    bias : array_like, shape (C_out,), optional
    stride, padding, output_padding, dilation : int or tuple of int
        PyTorch's meaning: ``padding`` crops both ends, ``output_padding`` extends
        the end, ``0 <= output_padding < max(stride, dilation)``.
    groups : int

    Returns
    -------
    ndarray, shape (N, C_out, W_out)
        ``W_out = (W - 1)*stride - 2*padding + dilation*(kW - 1) + output_padding + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 3)), stride=2, padding=1)
    array([[[1., 2., 1., 2., 1.]]])
    >>> conv_transpose1d(np.ones((1, 1, 3)), np.ones((1, 1, 3)), stride=2, output_padding=2)
    Traceback (most recent call last):
    ...
    ValueError: conv_transpose1d: output padding must be smaller than either stride or dilation, but got width: output_padding 2, stride 2, dilation 1
    """,  # noqa: E501 (a message a doctest shows whole)
)

conv_transpose2d = _functional(
    2,
    """``torch.nn.functional.conv_transpose2d`` on NumPy arrays: :func:`conv_transpose1d` with two spatial axes.

    ``input`` is ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``, ``weight``
    ``(C_in, C_out/groups, kH, kW)``; returns ``(N, C_out, H_out, W_out)``.

    Examples
    --------
    The DCGAN up-sampling layer (kernel 4, stride 2, padding 1) doubles the size:

    >>> import numpy as np
    >>> conv_transpose2d(np.ones((1, 3, 8, 8)), np.ones((3, 2, 4, 4)), stride=2, padding=1).shape
    (1, 2, 16, 16)
    """,
)

conv_transpose3d = _functional(
    3,
    """``torch.nn.functional.conv_transpose3d`` on NumPy arrays: :func:`conv_transpose1d` with three spatial axes.

    ``input`` is ``(N, C_in, D, H, W)`` or unbatched ``(C_in, D, H, W)``, ``weight``
    ``(C_in, C_out/groups, kD, kH, kW)``; returns ``(N, C_out, D_out, H_out, W_out)``.

    Examples
    --------
    >>> import numpy as np
    >>> conv_transpose3d(np.ones((2, 2, 2, 3, 2)), np.ones((2, 4, 2, 2, 2)), stride=2).shape
    (2, 4, 4, 6, 4)
    """,
)


_FUNCTIONS = {1: conv_transpose1d, 2: conv_transpose2d, 3: conv_transpose3d}


# --- translation ---------------------------------------------------------------------------------------


def target(spec: ConvTransposeSpec) -> Target:
    """``F.conv_transpose{n}d`` for the window of ``spec``: exact when ``b >= 0`` and ``0 <= b - e < max(s, d)``."""
    needs_rank(spec, NAME, range(1, 4))
    nd = spec.ndim
    padding, output_padding, post = [], [], []
    for s, d, (b, e) in zip(spec.stride, spec.dilation, spec.crop):
        if b >= 0 and 0 <= b - e < max(s, d):  # exact: crop b at both ends, then extend the end by b - e
            p, a = b, b - e
        else:  # the nearest call: the common part of both crops, the end extended as far as PyTorch allows
            p = max(0, min(b, e))
            a = min(max(p - e, 0), max(s, d) - 1)
        padding.append(p)
        output_padding.append(a)
        post.append((b - p, e - (p - a)))
    post_t = tuple(post)
    bias_after = any(b < 0 or e < 0 for b, e in post_t)
    window = dict(
        stride=spec.stride,
        padding=tuple(padding),
        output_padding=tuple(output_padding),
        groups=spec.groups,
        dilation=spec.dilation,
    )
    arguments = dict(
        in_channels=spec.in_channels, out_channels=spec.out_channels, kernel_size=spec.kernel_size, **window
    )
    notes = []
    if any(b or e for b, e in post_t):
        why = "its padding crops both ends equally and output_padding only extends the end, by less than "
        notes.append(_code.post_note(NAME, post_t, why + "max(stride, dilation)"))
    if bias_after:
        notes.append("The bias is added after the crop/pad step, so that appended cells get it too.")
    function = _FUNCTIONS[nd]
    layout = channels_first(nd)
    zeros, crops = _code.pad_then_crop(post_t)
    module = dict(kernel_size=spec.kernel_size, **window)

    def layer_lines(weight: str, bias: str | None) -> list[str]:
        """``layer``: the module for the window, ``weight`` (and ``bias``, a variable that may hold None) loaded."""
        has_bias = "False" if bias is None or bias_after else f"{bias} is not None"
        pads = [(f"ZeroPad{nd}d", zeros, "append zeros where the window runs past the full output")]
        pads.append(
            (f"ZeroPad{nd}d", tuple((-b, -e) for b, e in crops), f"crop (begin, end) = {crops} (negative amounts crop)")
        )
        steps = [(name, amounts, why) for name, amounts, why in pads if any(b or e for b, e in amounts)]
        conv = "conv" if steps or (bias is not None and bias_after) else "layer"
        lines = [
            f"{conv} = torch.nn.ConvTranspose{nd}d({spec.in_channels}, {spec.out_channels}, "
            f"{_code.keywords(module)}, bias={has_bias})",
            f"{conv}.weight.data.copy_(torch.as_tensor({weight}))",
        ]
        if bias is not None and not bias_after:
            lines += [f"if {bias} is not None:", f"    {conv}.bias.data.copy_(torch.as_tensor({bias}))"]
        if conv == "conv":
            lines.append("layer = torch.nn.Sequential(")
            lines.append("    conv,")
            for name, amounts, why in steps:  # ZeroPadNd lists the last axis first, as F.pad does
                flat = tuple(v for b, e in reversed(amounts) for v in (b, e))
                lines.append(f"    torch.nn.{name}({flat}),  # {why}")
            lines.append(")")
        if bias is not None and bias_after:
            lines += [
                f"if {bias} is not None:",
                f"    layer.append(AddBias({bias}))  # after the zeros: they get it too",
            ]
        return lines

    def body(weight: str, bias: str | None) -> list[str]:
        return [*layer_lines(weight, bias), "y = layer(x)"]

    def program(convert_weight: str) -> str:
        doc = "The PyTorch module for this window, weights loaded: (N, C_in, *spatial) -> (N, C_out, *spatial) tensors."
        classes = [_ADD_BIAS] if bias_after else []
        return _code.layer_program(
            ("import numpy as np", "import torch"), convert_weight, doc, layer_lines("weight", "bias"), *classes
        )

    return Target(
        framework="torch",
        function=f"torch.nn.ConvTranspose{nd}d",
        arguments=arguments,
        layout=layout,
        post=post_t,
        run=lambda x, w, b: function(x, w, b, **window),
        body=body,
        bias_after=bias_after,
        notes=notes,
        program=program,
    )


#: The module the printed code adds after a zero extension, so that the appended cells get the bias too.
_ADD_BIAS = '''class AddBias(torch.nn.Module):
    """Adds a bias per channel to (N, C, *spatial) tensors."""

    def __init__(self, bias):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.as_tensor(bias))

    def forward(self, y):
        return y + self.bias.reshape(-1, *(1,) * (y.dim() - 2))'''


def source(params: dict[str, Any], weight_shape: tuple[int, ...], input_shape: Sequence[int] | None) -> Source:
    """A PyTorch call read into a spec (``output_size`` is the module's ``forward(output_size=...)``)."""
    nd = source_rank(weight_shape, range(1, 4), "PyTorch's ConvTranspose has 1 to 3 spatial axes, got a weight")
    groups = params.get("groups", 1)
    s, p, a, d = (params.get(k, v) for k, v in (("stride", 1), ("padding", 0), ("output_padding", 0), ("dilation", 1)))
    output_size = params.get("output_size")
    layout = channels_first(nd)
    size = input_spatial_size(input_shape, layout, unbatched_ok=True)
    kernel = weight_shape[2:]
    if output_size is not None:
        if size is None:
            raise ValueError("PyTorch's forward(output_size=...) pins the window to one input size: pass input_shape")
        a = module_output_padding((1, weight_shape[0], *size), output_size, kernel, s, p, d)
    stride, padding, output_padding, dilation = _check_parameters(nd, s, p, a, d, f"conv_transpose{nd}d")
    if size is not None:
        window(size, kernel, s, p, a, d)  # PyTorch's checks at this input size
    groups = check_groups(groups, "groups", in_channels=weight_shape[0])
    channels = (weight_shape[0], weight_shape[1] * groups, groups)
    pinned = size if output_size is not None else None
    spec = ConvTransposeSpec(kernel, stride, dilation, _crop(padding, output_padding), *channels, pinned)
    call = (
        f"F.conv_transpose{nd}d(x, w, b, stride={s!r}, padding={p!r}, output_padding={a!r}, groups={groups}, "
        f"dilation={d!r})"
    )
    if output_size is not None:
        call += f"  # = ConvTranspose{nd}d(...)(x, output_size={output_size!r})"
    function = _FUNCTIONS[nd]
    return Source(
        "torch",
        nonempty(spec, size),
        call,
        layout,
        [],
        weight_shape,
        lambda x, w, b: function(x, w, b, s, p, a, groups, d),
        unbatched=True,
    )
