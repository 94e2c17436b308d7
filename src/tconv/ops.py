"""The public operators :func:`conv_transpose` and :func:`conv`: argument checks and dispatch."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _algorithms
from ._algorithms import compiled as _compiled
from ._algorithms.problem import Problem, batched_shape
from ._options import effective, internal
from ._validate import (
    check_layout,
    fits_machine,
    is_bfloat16,
    is_int,
    machine_memory,
    numeric_array,
    positive_int,
    show,
    show_bytes,
    weight_array,
)
from .geometry import Geometry, PaddingArg, conv_geometry, conv_transpose_geometry
from .typing import Layout

__all__ = [
    "Operands",
    "array_shape",
    "check_budget",
    "check_operands",
    "call_key",
    "check_result_size",
    "compute_context",
    "conv",
    "conv_transpose",
    "conv_transpose_window",
    "is_plain",
    "machine_memory",
    "output_template",
    "prepare_arrays",
    "remember",
    "result_dtype",
    "plan",
    "spatial_output_size",
    "spatial_size",
    "resolve_geometry",
]


def result_dtype(*arrays: np.ndarray) -> tuple[np.dtype, np.dtype]:
    """``(result, compute)`` dtypes: NumPy promotion, with integers and bools computed in
    float64, and float16 and ``ml_dtypes.bfloat16`` accumulated in float32."""
    result = np.result_type(*arrays)
    if result.kind in "biu":
        result = np.dtype(np.float64)
    compute = np.dtype(np.float32) if result == np.float16 or is_bfloat16(result) else result
    return result, compute


@dataclass(frozen=True)
class Operands:
    """The checked weight, bias and groups of one call, and where the input's axes are.

    ``channel_axis`` and ``spatial_axes`` index the *given* input (batched or not),
    in its ``layout``; the same positions hold in the result.
    """

    weight: np.ndarray
    bias: np.ndarray | None
    groups: int
    layout: str
    batched: bool
    channel_axis: int
    spatial_axes: tuple[int, ...]

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.spatial_axes)


def _weight_layout_hint(shape: tuple[int, ...], channels: int, weight_in_axis: int) -> str:
    """Which weight layout tconv takes, and, for a weight that looks like another framework's, the conversion."""
    if weight_in_axis == 1:
        return "conv takes weights as (C_out, C_in/groups, *kernel_size), PyTorch's Conv layout"
    hint = (
        "conv_transpose takes weights as (C_in, C_out/groups, *kernel_size), PyTorch's layout, whatever the data layout"
    )
    if shape[-1] == channels:  # (*k, C_out/groups, C_in)
        hint += '; this looks like a TensorFlow/Keras kernel: tconv.convert_weight(weight, "keras", "torch")'
    elif shape[-2] == channels:  # (*k, C_in, C_out), flipped
        hint += '; this looks like a JAX kernel: tconv.convert_weight(weight, "jax", "torch")'
    else:
        hint += " (tconv.convert_weight converts the other frameworks' layouts)"
    return hint


def check_operands(
    op: str,
    input_shape: tuple[int, ...],
    weight: Any,
    bias: Any,
    groups: object,
    layout: object,
    *,
    weight_in_axis: int,
    input_name: str = "input",
) -> Operands:
    """Check everything about a call of ``op`` but the input's values: only its shape is needed.

    ``weight_in_axis`` is the weight axis that must match the input channels
    (0 for ``conv_transpose``'s ``(C_in, C_out/g, *k)``, 1 for ``conv``'s
    ``(C_out, C_in/g, *k)``, where it counts ``C_in/g``). :mod:`tconv.dask` calls
    this with the shape of a chunked array (and ``input_name="x"``, its parameter's name).
    """
    layout = check_layout(layout)
    w = weight_array(weight, f"{op}: ")
    nd = w.ndim - 2
    if len(input_shape) not in (nd + 1, nd + 2):
        channel_first = "(N, C, *spatial)" if layout == "channels_first" else "(N, *spatial, C)"
        raise ValueError(
            f"{op}: expected {input_name} of shape {channel_first} (or unbatched without N) with {nd} spatial "
            f"axes to match weight of shape {show(w.shape)}, got {input_name} of shape {show(input_shape)}"
        )
    batched = len(input_shape) == nd + 2
    lead = 1 if batched else 0
    if layout == "channels_first":
        channel, spatial = lead, tuple(range(lead + 1, lead + 1 + nd))
    else:
        channel, spatial = len(input_shape) - 1, tuple(range(lead, lead + nd))
    g = positive_int(groups, "groups")
    if w.shape[0] % g:
        which = "input" if weight_in_axis == 0 else "output"
        raise ValueError(f"{op}: groups={g} must divide weight.shape[0]={w.shape[0]} (the {which} channels)")
    w_channels = w.shape[0] if weight_in_axis == 0 else w.shape[1] * g
    if input_shape[channel] != w_channels:
        raise ValueError(
            f"{op}: {input_name} of shape {show(input_shape)} ({layout}) has "
            f"{input_shape[channel]} channels, but weight of shape {show(w.shape)} with groups={g} "
            f"expects {w_channels}; {_weight_layout_hint(w.shape, input_shape[channel], weight_in_axis)}"
        )
    sizes = tuple(input_shape[a] for a in spatial)
    if weight_in_axis == 1 and 0 in sizes:  # a transposed convolution takes an empty input (its output: the bias)
        raise ValueError(f"{op}: {input_name} spatial size must be positive, got {show(sizes)}")
    b = None
    if bias is not None:
        b = numeric_array(bias, "bias")
        c_out = w.shape[1] * g if weight_in_axis == 0 else w.shape[0]
        if b.shape != (c_out,):
            raise ValueError(
                f"{op}: bias must have shape ({c_out},) (one value per output channel), got shape {show(b.shape)}"
            )
    return Operands(w, b, g, layout, batched, channel, spatial)


def prepare_arrays(
    op: str,
    input: Any,
    weight: Any,
    bias: Any,
    groups: object,
    layout: object,
    *,
    weight_in_axis: int,
) -> tuple[np.ndarray, Operands]:
    """Check the arrays of ``conv`` or ``conv_transpose`` (:func:`check_operands`) and batch the input.

    Returns ``(x, operands)`` with ``x`` the input batched (``(N, ...)``) in its layout.
    """
    check_layout(layout)
    w = numeric_array(weight, "weight")
    x = numeric_array(input, "input")
    operands = check_operands(op, x.shape, w, bias, groups, layout, weight_in_axis=weight_in_axis)
    return (x if operands.batched else x[None]), operands


def spatial_size(x: np.ndarray, layout: str) -> tuple[int, ...]:
    """The spatial size of a batched array in ``layout``."""
    return x.shape[2:] if layout == "channels_first" else x.shape[1:-1]


def array_shape(n: int, channels: int, size: tuple[Any, ...], layout: str, batched: bool) -> tuple[Any, ...]:
    """The shape of ``n`` samples of ``channels`` x ``size`` in ``layout``, without ``n`` when not ``batched``."""
    shape = batched_shape(n, channels, size, layout)
    return shape if batched else shape[1:]


def output_template(n: int, c_out: int, nd: int, layout: str, batched: bool) -> tuple[int | None, ...]:
    """The output's shape with ``None`` for each spatial entry: what a whole ``output_size`` must match."""
    return array_shape(n, c_out, (None,) * nd, layout, batched)


def spatial_output_size(output_size: object, nd: int, template: tuple[int | None, ...]) -> Any:
    """Accept the spatial output size, or the whole output shape checked against ``template``.

    ``template`` is the output's shape with ``None`` for spatial entries
    (:func:`output_template`); other arguments pass through for the shape checks.
    """
    if output_size is None or is_int(output_size) or isinstance(output_size, (str, bytes)):
        return output_size
    if not isinstance(output_size, Sequence) or len(output_size) == nd:
        return output_size
    size = tuple(output_size)
    if len(size) != len(template):
        raise ValueError(
            f"output_size must have {nd} entries (the spatial size) or {len(template)} (the whole "
            f"output shape), got {len(size)}: {show(size)}"
        )
    given = tuple(v for v, t in zip(size, template) if t is not None)
    wanted = tuple(t for t in template if t is not None)
    if given != wanted:
        raise ValueError(
            f"output_size={show(size)} is a whole output shape, but its batch/channel entries "
            f"{show(given)} differ from the output's {show(wanted)}"
        )
    return tuple(v for v, t in zip(size, template) if t is None)


def resolve_geometry(
    op: str, batched_shape: tuple[int, ...], operands: Operands, options: Mapping[str, Any]
) -> Geometry:
    """The geometry of a call of ``op`` on an input of ``batched_shape``, from its keyword arguments.

    The one place where a call's keyword arguments become its window, for
    :func:`conv_transpose`, :func:`conv`, the gradients and :mod:`tconv.dask`:
    ``options`` holds the names of :data:`tconv._validate.WINDOW_OPTIONS`
    (:func:`tconv._validate.split_options` separates them from the operands'), and
    a whole-shape ``output_size`` is checked against the output's batch and channel
    entries.
    """
    w, nd, layout = operands.weight, operands.ndim, operands.layout
    lead = 2 if layout == "channels_first" else 1
    spatial = tuple(batched_shape[lead : lead + nd])
    key = _geometry_key(op, batched_shape, operands, options)
    if key is not None:
        found = _GEOMETRIES.get(key)
        if found is not None:
            return found
    if op == "conv":
        geometry = conv_geometry(spatial, w.shape[2:], **options)
    else:
        template = output_template(batched_shape[0], w.shape[1] * operands.groups, nd, layout, operands.batched)
        arguments = dict(options)
        arguments["output_size"] = spatial_output_size(options.get("output_size"), nd, template)
        geometry = conv_transpose_geometry(spatial, w.shape[2:], **arguments)
    if key is not None:
        if len(_GEOMETRIES) >= 1024:
            _GEOMETRIES.clear()
        _GEOMETRIES[key] = geometry
    return geometry


#: Checked windows by their call's shapes and keyword arguments: what depends only on the geometry
#: is worked out once (a call's checks and window take tens of microseconds).
_GEOMETRIES: dict[tuple, Geometry] = {}


def _geometry_key(op: str, shape: tuple[int, ...], operands: Operands, options: Mapping[str, Any]) -> tuple | None:
    """A hashable key of a window's arguments, or None when an argument is not a plain value."""
    items = []
    for name in sorted(options):
        value = options[name]
        if isinstance(value, (list, tuple)):
            value = tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in value)
        # ints, strings and None only, at every level: 2.0 == 2 and True == 1 hash alike, and a cached
        # window must never accept what the checks refuse
        if not is_plain(value):
            return None
        items.append((name, value))
    return (op, shape, operands.weight.shape, operands.groups, operands.layout, operands.batched, tuple(items))


def conv_transpose(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    output_size: int | Sequence[int] | None = None,
    layout: Layout = "channels_first",
    algorithm: str = "auto",
) -> np.ndarray:
    """N-d transposed convolution ("deconvolution", ``ConvTranspose``).

    The names, positional order, weight layout and results of PyTorch's
    ``torch.nn.functional.conv_transpose{1,2,3}d`` (note: ``groups`` before
    ``dilation``), for any number of spatial axes, plus asymmetric padding,
    ``"same"``/``"valid"``, ``output_size`` and channels-last data.

    Parameters
    ----------
    input : array_like, shape (N, C_in, *i) or unbatched (C_in, *i)
        With ``layout="channels_last"``: ``(N, *i, C_in)`` or ``(*i, C_in)``.
    weight : array_like, shape (C_in, C_out/groups, *k)
        PyTorch's transposed-convolution layout in both data layouts; the number of
        spatial axes is ``weight.ndim - 2``.
    bias : array_like, shape (C_out,), optional
    stride : int or sequence of int
        Distance between neighbouring input elements once scattered into the output.
    padding : int, sequence of int, sequence of (begin, end) pairs, "same" or "valid"
        Which window of the full output to return (see Notes): an int per axis
        crops that many cells from both ends (PyTorch); a ``(begin, end)`` pair per
        axis crops asymmetrically, and a negative value extends that side with
        zeros; ``"valid"`` returns the full output; ``"same"`` returns ``i*stride``
        cells, cropping ``floor(T/2)`` at the start and the rest at the end
        (TensorFlow, Keras, JAX).
    output_padding : int or sequence of int
        Extra cells at the end of each axis; ``0 <= output_padding < max(stride,
        dilation)``. Must be 0 with ``padding="same"``.
    groups : int
        ``C_in`` and ``C_out`` are split into ``groups`` independent blocks.
    dilation : int or sequence of int
        Spacing between kernel taps.
    output_size : int or sequence of int, optional
        The wanted spatial output size (or the whole output shape), in place of
        ``output_padding``; see :func:`tconv.shape.conv_transpose_output_size_range`
        for the valid sizes (an invalid size raises with the range).
    layout : {"channels_first", "channels_last"}
        Layout of ``input`` and of the result; the weight layout never changes.
    algorithm : str
        ``"auto"`` or a name from :func:`tconv.algorithms`. Every algorithm gives
        the same result up to floating-point rounding.

    Returns
    -------
    ndarray, shape (N, C_out, *o) (or as the input is laid out and batched)
        Its dtype is NumPy's promotion of the input, weight and bias dtypes, except
        that integer and bool arrays give float64. float16 and ``ml_dtypes.bfloat16``
        (JAX's and PyTorch's training type; NumPy reads it through ``ml_dtypes``, which
        tconv does not need) are accumulated in float32 and rounded at the end. The
        inputs are never modified.

    Notes
    -----
    With ``k_eff = dilation*(k - 1) + 1``, the full output of each axis has size
    ``(i - 1)*stride + k_eff``: input element ``j`` times kernel tap ``t`` lands at
    ``stride*j + dilation*t``. ``padding`` and ``output_padding`` then choose a
    window of it, so

    ``o = (i - 1)*stride - pad_begin - pad_end + dilation*(k - 1) + output_padding + 1``

    which is PyTorch's formula when ``pad_begin = pad_end = padding``. The result
    is the adjoint of :func:`conv` with the same weight and parameters:
    ``<conv_transpose(y, w), x> == <y, conv(x, w)>``.

    Examples
    --------
    TensorFlow's worked example of ``conv2d_transpose`` (2x2 input, 3x3 kernel, stride 2): the first
    output is ``-67 * -1 = 67``, the input's first element times the kernel's first
    tap, because every input element stamps the whole kernel at stride offsets.

    >>> import numpy as np, tconv
    >>> x = np.array([[-67., -77.], [-117., -127.]])[None, None]     # (1, 1, 2, 2)
    >>> w = np.array([[-1., 2., -3.], [4., -5., 6.], [-7., 8., -9.]])[None, None]
    >>> y = tconv.conv_transpose(x, w, stride=2)
    >>> y.shape
    (1, 1, 5, 5)
    >>> y[0, 0]
    array([[   67.,  -134.,   278.,  -154.,   231.],
           [ -268.,   335.,  -710.,   385.,  -462.],
           [  586.,  -770.,  1620.,  -870.,  1074.],
           [ -468.,   585., -1210.,   635.,  -762.],
           [  819.,  -936.,  1942., -1016.,  1143.]])

    The output size follows the formula above:

    >>> tconv.conv_transpose(np.ones((1, 3, 8, 8)), np.ones((3, 2, 4, 4)), stride=2, padding=1).shape
    (1, 2, 16, 16)
    """
    arguments = (stride, padding, output_padding, groups, dilation, output_size, layout, algorithm)
    key = call_key("conv_transpose", (input, weight, bias), arguments)  # None arrays never pass the checks
    call = None if key is None else _CALLS.get(key)
    if call is None:
        x, operands = prepare_arrays("conv_transpose", input, weight, bias, groups, layout, weight_in_axis=0)
        if not (isinstance(algorithm, str) and algorithm == "auto"):  # an array would compare elementwise
            _algorithms.get(algorithm)
        options = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation)
        geometry = resolve_geometry("conv_transpose", x.shape, operands, dict(options, output_size=output_size))
        call = _checked_call("conv_transpose", x, operands, geometry, algorithm)
        _remember(key, call)
        return call(*_given(x, operands))
    return call(input, weight, bias)


def conv_transpose_window(
    input: Any,
    weight: Any,
    bias: Any,
    geometry: Geometry,
    groups: int = 1,
    *,
    layout: Layout = "channels_first",
    algorithm: str = "auto",
) -> np.ndarray:
    """:func:`conv_transpose` of a window already resolved into a :class:`~tconv.geometry.Geometry`.

    The frameworks' emulations (:mod:`tconv.frameworks`) resolve their own
    arguments into a window and call this, so that no window is turned back into
    padding arguments and parsed again. The input's spatial size must be
    ``geometry.input_size``; an axis with ``output_size <= 0`` (JAX allows one) gives
    an empty result.
    """
    x, operands = prepare_arrays("conv_transpose", input, weight, bias, groups, layout, weight_in_axis=0)
    w, b = operands.weight, operands.bias
    if spatial_size(x, layout) != geometry.input_size or w.shape[2:] != geometry.kernel_size:
        raise ValueError(
            f"conv_transpose_window: input spatial size {show(spatial_size(x, layout))} and kernel size "
            f"{show(w.shape[2:])} must be the geometry's {show(geometry.input_size)} and {show(geometry.kernel_size)}"
        )
    if not (isinstance(algorithm, str) and algorithm == "auto"):  # an array would compare elementwise
        _algorithms.get(algorithm)
    if any(o <= 0 for o in geometry.output_size):
        result, _ = result_dtype(*(a for a in (x, w, b) if a is not None))
        size = tuple(max(o, 0) for o in geometry.output_size)
        y = np.zeros(batched_shape(x.shape[0], w.shape[1] * operands.groups, size, layout), dtype=result)
        return y if operands.batched else y[0]
    return _checked_call("conv_transpose", x, operands, geometry, algorithm)(*_given(x, operands))


def _given(x: np.ndarray, operands: Operands) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The checked arrays of a call as it was given (the input unbatched again if it was)."""
    return (x if operands.batched else x[0]), operands.weight, operands.bias


def _checked_call(
    op: str, x: np.ndarray, operands: Operands, geometry: Geometry, algorithm: str
) -> Callable[[Any, Any, Any], np.ndarray]:
    """A checked call of ``op`` (batched ``x``, its ``operands`` and ``geometry``) as a function of the
    arrays as they were given -- ``(input, weight, bias)``, unbatched or not -- that does only the work
    of the call, the result in the result dtype (the dtype rule, once): :func:`call_key`'s calls of
    the same shapes, dtypes and arguments reuse it."""
    w, b, batched = operands.weight, operands.bias, operands.batched
    result, _ = result_dtype(*(a for a in (x, w, b) if a is not None))
    execute = plan(op, x, w, b, geometry, groups=operands.groups, layout=operands.layout, algorithm=algorithm)

    def call(input: Any, weight: Any, bias: Any) -> np.ndarray:
        array = np.asarray(input)
        y = execute(array if batched else array[None], np.asarray(weight), None if bias is None else np.asarray(bias))
        y = y.astype(result, copy=False)
        return y if batched else y[0]

    return call


#: The checked calls of :func:`conv_transpose` and :func:`conv` by :func:`call_key` (at most
#: :data:`CALLS`, the oldest dropped first).
_CALLS: dict[tuple, Callable[[Any, Any, Any], np.ndarray]] = {}
CALLS = 256


def call_key(op: str, arrays: tuple, arguments: tuple) -> tuple | None:
    """What a checked call of ``op`` depends on: the shapes and dtypes of its NumPy ``arrays`` (None
    where an optional one is absent), its ``arguments`` when they are plain (:func:`is_plain`) and the
    options; None when an operand or argument is anything else (such a call is checked in full every
    time). :func:`conv_transpose`, :func:`conv`, the backward functions and a prepared plan key the
    calls they keep with it.

    Every check of a call and every choice of its algorithm depend only on these: a call of a small
    layer spent tens of microseconds on them (ONNX Runtime's session call takes ~10)."""
    shapes: list[tuple | None] = []
    for array in arrays:
        if array is None:
            shapes.append(None)
        elif type(array) is np.ndarray:
            shapes.append((array.shape, array.dtype))
        else:
            return None
    if not is_plain(arguments):
        return None
    return (op, tuple(shapes), arguments, effective())


def is_plain(value: Any) -> bool:
    """Whether ``value`` is an int, a str, None or a tuple of such values (no bool, no NumPy scalar)."""
    kind = type(value)
    if kind is int or kind is str or value is None:
        return True
    if kind is not tuple:
        return False
    for item in value:
        kind = type(item)
        if not (kind is int or kind is str or item is None or (kind is tuple and is_plain(item))):
            return False
    return True


def _remember(key: tuple | None, call: Callable[[Any, Any, Any], np.ndarray]) -> None:
    if key is not None:
        remember(_CALLS, key, call, CALLS)


def remember(cache: dict, key: Any, value: Any, limit: int) -> None:
    """``cache[key] = value``, dropping the oldest entry first when ``cache`` holds ``limit`` already.

    Safe with several threads: another thread may change the dict between taking its first key and
    dropping it (the iterator then raises), in which case nothing is dropped this time.

    Examples
    --------
    >>> cache = {}
    >>> for i in range(5):
    ...     remember(cache, i, i * i, limit=3)
    >>> cache
    {2: 4, 3: 9, 4: 16}
    """
    while len(cache) >= limit:
        try:
            cache.pop(next(iter(cache)), None)
        except (RuntimeError, StopIteration):  # changed by another thread meanwhile
            break
    cache[key] = value


def plan(
    op: str,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    geometry: Geometry,
    *,
    groups: int,
    layout: str,
    algorithm: str = "auto",
    packed: dict | None = None,
) -> Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]:
    """A checked, batched ``op`` (``"conv_transpose"`` or ``"conv"``) on arrays of the shapes and dtypes of
    ``x``, ``w`` and ``b``, computed in the compute dtype of :func:`result_dtype`, as a function of the
    three arrays: the result's size and the budget checked and the algorithm chosen now (they depend on
    nothing else), the call's work left to each call."""
    result, compute = result_dtype(*(a for a in (x, w, b) if a is not None))
    c_out = w.shape[1] * groups if op == "conv_transpose" else w.shape[0]
    size = geometry.output_size if op == "conv_transpose" else geometry.input_size
    n = x.shape[0]
    check_result_size(op, batched_shape(n, c_out, size, layout), max(result.itemsize, compute.itemsize), geometry)

    def problem_of(xc: np.ndarray, wc: np.ndarray, b: np.ndarray | None) -> Problem:  # xc, wc in compute
        return Problem.of(xc, wc, None if b is None else b.astype(compute, copy=False), groups, layout, op, packed)

    if n == 0 or geometry.empty:
        # an empty batch or spatial axis: no input cell reaches an output cell, which hold the bias
        # (TensorFlow's "degenerate" case; every algorithm is spared it)
        def empty(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
            y = np.zeros(batched_shape(n, c_out, size, layout), dtype=compute)
            return y + problem_of(x[:0].astype(compute), w.astype(compute, copy=False), b).bias_fill(len(size))

        return empty
    c_in = w.shape[0] if op == "conv_transpose" else w.shape[1] * groups
    with compute_context(compute):
        given = algorithm
        if algorithm == "auto":
            algorithm = _algorithms.choose(geometry, groups, n, c_in, c_out, op=op, dtype=compute, layout=layout)
        chosen = _algorithms.get(algorithm, op=op)
        shapes = Problem(groups, layout, c_in, c_out, compute, np.zeros(c_out, compute), False, packed)
        check_budget(op, chosen, geometry, shapes, given)

    fast = None if chosen.planned is None else chosen.planned(geometry, shapes, n)
    if fast is not None:  # a small problem's planned call: none of the per-call planning below

        def execute_planned(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
            bias = None if b is None else b.astype(compute, copy=False)
            return fast(x.astype(compute, copy=False), w.astype(compute, copy=False), bias)

        return execute_planned

    def execute(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        x, w = x.astype(compute, copy=False), w.astype(compute, copy=False)
        problem = problem_of(x, w, b)
        with compute_context(compute):
            return chosen.run(x, w, geometry, problem)

    return execute


def _window(op: str, geometry: Geometry) -> str:
    """The parameters that set a window's size, for a message."""
    size = geometry.input_size if op == "conv_transpose" else geometry.output_size
    return (
        f"input size {show(size)}, kernel_size={show(geometry.kernel_size)}, "
        f"stride={show(geometry.stride)}, dilation={show(geometry.dilation)}, "
        f"padding (crop at the start)={show(geometry.crop_begin)}"
    )


def check_result_size(op: str, shape: tuple[int, ...], itemsize: int, geometry: Geometry) -> None:
    """Refuse, before anything is allocated, a result larger than this machine's memory: its size
    comes from the parameters (a huge stride, dilation or padding), and NumPy would fail with
    "array is too big" or a ``MemoryError`` (or the machine would swap). An empty axis (an empty
    batch) counts as one: NumPy cannot make an empty array whose other axes overflow either."""
    needed = math.prod(max(d, 1) for d in shape) * itemsize
    what = f"{op}: the result would have shape {show(shape)}"
    fits_machine(needed, what, f"; its spatial size comes from the parameters: {_window(op, geometry)}")


@functools.lru_cache(maxsize=512)
def _minimum(op: str, name: str, geometry: Geometry, key: tuple, compiled: bool, budget: int) -> int:
    """The smallest piece's temporaries (:attr:`tconv._algorithms.Algorithm.minimum`), cached per
    geometry and problem (what depends only on them is computed once)."""
    groups, layout, c_in, c_out, dtype = key
    problem = Problem(groups, layout, c_in, c_out, dtype, np.zeros(0, dtype), False)
    return _algorithms.get(name, op=op).minimum(geometry, problem)


def check_budget(op: str, algorithm: _algorithms.Algorithm, geometry: Geometry, problem: Problem, given: str) -> None:
    """Refuse up front a call whose smallest piece needs more temporary memory than ``memory_budget``."""
    budget = effective().memory_budget
    key = (problem.groups, problem.layout, problem.c_in, problem.c_out, problem.dtype)
    needed = _minimum(op, algorithm.name, geometry, key, _compiled.available(), budget)
    if needed <= budget:
        return
    hint = "raise it with tconv.options(memory_budget=...)"
    if given != "auto":
        hint += " or let algorithm='auto' choose an algorithm that fits"
    raise ValueError(
        f"{op}: algorithm={algorithm.name!r} needs at least {show_bytes(needed)} of temporary memory even for "
        f"one output cell ({_window(op, geometry)}, {problem.c_in} -> {problem.c_out} channels, "
        f"groups={problem.groups}), more than memory_budget={budget} ({show_bytes(budget)}); {hint}"
    )


def compute_context(compute: np.dtype) -> contextlib.AbstractContextManager:
    """The per-call settings of a compute dtype: the NumPy paths for one the compiled kernels lack
    (long double: NumPy computes it, numba has no such type)."""
    if _compiled.supports(compute):
        return contextlib.nullcontext()
    return internal(compiled=False)


def conv(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    layout: Layout = "channels_first",
    algorithm: str = "auto",
) -> np.ndarray:
    """N-d convolution (cross-correlation), PyTorch's ``conv{1,2,3}d``: the adjoint of
    :func:`conv_transpose`.

    Parameters
    ----------
    input : array_like, shape (N, C_in, *i) or unbatched (C_in, *i)
        With ``layout="channels_last"``: ``(N, *i, C_in)`` or ``(*i, C_in)``.
    weight : array_like, shape (C_out, C_in/groups, *k)
    bias : array_like, shape (C_out,), optional
    stride, dilation : int or sequence of int
    padding : int, sequence of int, sequence of (begin, end) pairs, "same" or "valid"
        Zeros added to the input: symmetric, per-side (negative values crop the
        input), none (``"valid"``), or ``"same"``: an output of ``ceil(i/stride)``
        with the padding split as TensorFlow does (smaller half at the start); for
        stride 1 this is PyTorch's ``padding="same"``.
    groups : int
    layout : {"channels_first", "channels_last"}
    algorithm : str
        ``"auto"`` or a name from ``tconv.algorithms("conv")``.

    Returns
    -------
    ndarray, shape (N, C_out, *o)
        ``o = floor((i + pad_begin + pad_end - dilation*(k - 1) - 1)/stride) + 1``;
        dtype as for :func:`conv_transpose`.

    Examples
    --------
    >>> import numpy as np, tconv
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> tconv.conv(x, np.ones((1, 1, 3, 3)))
    array([[[[45., 54.],
             [81., 90.]]]])

    The adjoint identity with :func:`conv_transpose`:

    >>> y = np.array([[[[1., 2.], [3., 4.]]]])
    >>> w = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> lhs = np.vdot(tconv.conv_transpose(y, w), x)
    >>> rhs = np.vdot(y, tconv.conv(x, w))
    >>> bool(np.isclose(lhs, rhs))
    True
    """
    arguments = (stride, padding, dilation, groups, layout, algorithm)
    key = call_key("conv", (input, weight, bias), arguments)
    call = None if key is None else _CALLS.get(key)
    if call is None:
        x, operands = prepare_arrays("conv", input, weight, bias, groups, layout, weight_in_axis=1)
        if not (isinstance(algorithm, str) and algorithm == "auto"):  # an array would compare elementwise
            _algorithms.get(algorithm, op="conv")
        options = dict(stride=stride, padding=padding, dilation=dilation)
        geometry = resolve_geometry("conv", x.shape, operands, options)
        call = _checked_call("conv", x, operands, geometry, algorithm)
        _remember(key, call)
        return call(*_given(x, operands))
    return call(input, weight, bias)
