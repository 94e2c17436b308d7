"""Gradients of :func:`tconv.conv_transpose` and :func:`tconv.conv`, written with the forward operators.

The algebra, once
-----------------
Both operators are bilinear in ``(input, weight)``. Per axis, input element ``j``
and kernel tap ``t`` meet at output position ``o = s*j + d*t - b`` (the index map
of :class:`tconv.geometry.Geometry`, ``b = crop_begin``). A transposed convolution
computes ``y[n, co, o] = sum x[n, ci, j] * w[ci, co, t] + bias[co]`` over the pairs
``(j, t)`` that land on ``o``, so for a loss ``L`` with ``dy = dL/dy``:

- ``dL/dx[n, ci, j] = sum_{co, t} dy[n, co, s*j + d*t - b] * w[ci, co, t]``: a
  **convolution** of ``dy`` with the same weight and the same geometry (the
  transposed convolution is the convolution's adjoint, Chainer's "the input
  gradient of deconvolution *is* convolution");
- ``dL/dw[ci, co, t] = sum_{n, j} x[n, ci, j] * dy[n, co, s*j + d*t - b]``: the
  correlation of the input with the output gradient over batch and positions,
  :func:`tconv.kernels.weight_correlation`;
- ``dL/dbias[co] = sum_{n, o} dy[n, co, o]``.

A convolution ``y = conv(x, w)`` reads ``x`` on the big side of the same index map,
so the roles swap: its input gradient is a **transposed convolution** of ``dy``
with the same weight, and its weight gradient is
``weight_correlation(dy, x)``. Because everything works on a resolved
:class:`~tconv.geometry.Geometry`, every padding form (ints, ``(begin, end)`` pairs
with negative values, ``"same"``, ``"valid"``, ``output_padding``/``output_size``)
needs no special case: the backward pass uses the window the forward pass used.

Complex values follow PyTorch's convention: the gradient is the conjugate
Wirtinger derivative, ``dx = conv(dy, conj(w))`` and
``dw = weight_correlation(conj(x), dy)`` (for real arrays the conjugates vanish).

Which algorithm computes what
-----------------------------
- The **input gradient** is the adjoint operator, so ``algorithm=`` names an
  algorithm of *that* operator: for :func:`conv_transpose_backward` one of
  ``tconv.algorithms("conv")`` (its input gradient is a convolution), for
  :func:`conv_backward` one of ``tconv.algorithms()`` (a transposed convolution).
  Every algorithm of a registry computes the same function, so the choice changes
  only the speed, and new algorithms apply automatically.
- The **weight gradient** does not depend on ``algorithm`` (it is not an operator
  with algorithms of its own): it runs :func:`tconv._algorithms.im2col.weight_gradient`
  (im2col of the big side, compiled or one strided copy per tap, and one GEMM per
  group, under the memory budget); its reference form is
  :func:`tconv.kernels.weight_correlation`.
- The **bias gradient** is a sum.
- With ``algorithm="auto"``, a **tiny** real problem (at most
  :data:`tconv._algorithms.tiny.TINY_MACS` multiply-adds, in float32 or float64)
  takes none of these: its gradients are summed in double precision from the list
  of its multiply-adds (:mod:`tconv._algorithms.tiny`), each rounded once, as the
  fixed costs of the general path were most of its time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ._algorithms import get as get_algorithm
from ._algorithms.im2col import weight_gradient, weight_gradient_pieces
from ._algorithms.tiny import TinyGradients, tiny
from ._algorithms.workspace import sharing
from ._options import effective
from ._validate import is_bfloat16, numeric_array, show, show_bytes, split_options
from .geometry import Geometry
from .ops import (
    CALLS,
    array_shape,
    call_key,
    compute_context,
    plan,
    prepare_arrays,
    remember,
    resolve_geometry,
    result_dtype,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11

    from .typing import ConvOptions, ConvTransposeOptions

__all__ = ["GRADIENTS", "Gradients", "conv_backward", "conv_transpose_backward"]

#: The gradients a backward function can return, in the order of :class:`Gradients`.
GRADIENTS = ("input", "weight", "bias")


class Gradients(NamedTuple):
    """The gradients of a loss with respect to the forward operator's arrays.

    Each field is ``None`` when it was not requested with ``needs=``.
    ``input`` has the input's shape and layout (batched or not), ``weight`` the
    weight's shape, ``bias`` the shape ``(C_out,)``.
    """

    input: np.ndarray | None
    weight: np.ndarray | None
    bias: np.ndarray | None


def _check_needs(needs: object) -> frozenset[str]:
    if isinstance(needs, str):
        needs = (needs,)
    if not isinstance(needs, Iterable):
        raise TypeError(
            f"needs must be a name or a sequence of names from {GRADIENTS}, "
            f"got {show(needs)} of type {type(needs).__name__}"
        )
    try:
        items = tuple(needs)
    except TypeError:  # iterable in name only (a 0-d array)
        raise TypeError(f"needs must be a name or a sequence of names from {GRADIENTS}, got {show(needs)}") from None
    bad = [n for n in items if not isinstance(n, str) or n not in GRADIENTS]
    if bad:
        raise ValueError(f"needs must name gradients from {GRADIENTS}, got {show(items)}")
    return frozenset(items)


def _check_algorithm(algorithm: object, op: str, caller: str, forward: str) -> None:
    """The registry's check (:func:`tconv._algorithms.get`), with why the names are those of ``op``."""
    if isinstance(algorithm, str) and algorithm == "auto":
        return
    try:
        get_algorithm(algorithm, op)
    except ValueError as error:
        raise ValueError(
            f"{error}: the input gradient of {forward} is a {op}, so {caller}'s algorithm names one of "
            f"tconv.algorithms({op!r})"
        ) from None


def _check_grad_output(grad_output: Any, expected: tuple[int, ...], caller: str, forward: str) -> np.ndarray:
    dy = numeric_array(grad_output, "grad_output")
    if dy.shape != expected:
        raise ValueError(
            f"{caller}: grad_output must have the shape of {forward}'s output for this input and these "
            f"parameters, {show(expected)}, got {show(dy.shape)}"
        )
    return dy


def _as_gradient_of(grad: np.ndarray, primal: np.ndarray, result: np.dtype) -> np.ndarray:
    """Cast a gradient to its primal's dtype (a real primal keeps the real part)."""
    dtype = primal.dtype if primal.dtype.kind in "fc" or is_bfloat16(primal.dtype) else result
    if grad.dtype.kind == "c" and dtype.kind != "c":
        grad = grad.real
    return grad.astype(dtype, copy=False)


class _Forward(NamedTuple):
    """The forward call whose gradients are asked for: its operator, window, groups and layout."""

    op: str  # "conv_transpose" or "conv"
    geometry: Geometry
    groups: int
    layout: str
    batched: bool


def _plan_backward(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, forward: _Forward, needs: frozenset[str], algorithm: str
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], Gradients]:
    """The three gradients of the forward call, as a function of ``(dy, x, w)`` of the shapes and dtypes of
    these: what depends only on them (the budget's check, the input gradient's algorithm) done now.

    ``x`` and ``dy`` are batched and in the forward layout; for ``conv_transpose``
    ``x`` has ``geometry.input_size`` and ``dy`` ``geometry.output_size``, for
    ``conv`` the other way round.
    """
    geometry, groups, layout = forward.geometry, forward.groups, forward.layout
    transposed = forward.op == "conv_transpose"
    result, compute = result_dtype(dy, x, w)
    complex_ = compute.kind == "c"
    nonempty = dy.size > 0 and x.size > 0  # else an empty batch or spatial axis: no input meets an output
    if "weight" in needs and nonempty:  # refuse before computing anything when the weight gradient cannot fit
        a_total, b_total = (x.shape, dy.shape) if transposed else (dy.shape, x.shape)
        channel = 1 if layout == "channels_first" else -1
        pieces = weight_gradient_pieces(a_total[channel], b_total[channel], groups, compute)
        needed, budget = pieces.minimum(geometry), effective().memory_budget
        if needed > budget:
            raise ValueError(
                f"{forward.op}_backward: the weight gradient needs at least {show_bytes(needed)} of temporary "
                f"memory even for one output cell (kernel_size={show(geometry.kernel_size)}, "
                f"dilation={show(geometry.dilation)}), more than memory_budget={budget} ({show_bytes(budget)}); "
                "raise it with tconv.options(memory_budget=...)"
            )
    c_small, c_big = w.shape[0], w.shape[1] * groups  # both operators' weights: (small, big/groups, *k)
    # with a named algorithm the general path runs (the algorithm computes the input gradient, and the
    # tests that cross the algorithms with every case cover the general weight gradient too)
    if algorithm == "auto" and nonempty and tiny(geometry, dy.shape[0], c_small, c_big, groups, compute):
        listed = TinyGradients(geometry, dy.shape[0], c_small, c_big, groups, layout)
        return _tiny_backward(listed, forward, needs, result)
    input_gradient = None
    if "input" in needs:
        adjoint = "conv" if transposed else "conv_transpose"
        like = np.zeros((), compute)  # planned on arrays of the call's shapes in the compute dtype (no memory)
        input_gradient = plan(
            adjoint,
            np.broadcast_to(like, dy.shape),
            np.broadcast_to(like, w.shape),
            None,
            geometry,
            groups=groups,
            layout=layout,
            algorithm=algorithm,
        )
    channel_axis = 1 if layout == "channels_first" else dy.ndim - 1

    def gradients(dy: np.ndarray, x: np.ndarray, w: np.ndarray) -> Gradients:
        dyc = dy.astype(compute, copy=False)
        xc = x.astype(compute, copy=False)
        wc = w.astype(compute, copy=False)
        if input_gradient is None or "weight" not in needs:
            return computed(x, w, dyc, xc, wc)
        with sharing(dyc, xc):  # the two gradients share their channels-last copies of dy where they match
            return computed(x, w, dyc, xc, wc)

    def computed(x: np.ndarray, w: np.ndarray, dyc: np.ndarray, xc: np.ndarray, wc: np.ndarray) -> Gradients:
        grad_input = grad_weight = grad_bias = None
        # The input and weight gradients run separately: one im2col of dy feeding both (a fused pass) was
        # measured slower on 6 of 8 benchmark layers (up to 2.1x: its blocks, sized for both results, are
        # smaller), so each runs its own blocked GEMMs. The weight gradient first: the channels-last copy
        # of dy it makes is then there for the input gradient's register tiles to pad (a copy of rows,
        # not a second transpose: registers._placed).
        if "weight" in needs:
            x_adj = np.conj(xc) if complex_ else xc
            # for conv_transpose x is the small side (input_size) and dy the big side (output_size);
            # for conv dy is the small side and x (the convolution's input) the big side
            small, big = (x_adj, dyc) if transposed else (dyc, x_adj)
            if not nonempty:
                dw = np.zeros(w.shape, dtype=compute)
            else:
                with compute_context(compute):  # the NumPy im2col for long double
                    dw = weight_gradient(small, big, geometry, groups, layout)  # im2col + GEMM, under the budget
            grad_weight = _as_gradient_of(dw.reshape(w.shape), w, result)  # (G, A, B, *k) -> weight's shape
        if input_gradient is not None:
            grad_input = input_gradient(dyc, np.conj(wc) if complex_ else wc, None)
            grad_input = _as_gradient_of(grad_input, x, result)
            if not forward.batched:
                grad_input = grad_input[0]
        if "bias" in needs:
            grad_bias = bias_gradient(dyc, channel_axis).astype(result, copy=False)  # (C_out,)
        return Gradients(grad_input, grad_weight, grad_bias)

    return gradients


def bias_gradient(dy: np.ndarray, channel: int, dtype: Any = None) -> np.ndarray:
    """The bias gradient: ``dy`` summed over every axis but ``channel`` (summed in ``dtype``, by default
    ``dy``'s).

    A channel axis after the first sums the samples first, element by element along whole samples
    (while one sample's sum is at most :data:`SAMPLES_FIRST_BYTES` and an eighth of the memory
    budget), then each channel's positions along its contiguous row: NumPy's sum over axes ``(0, 2, 3)`` of a
    ``(16, 512, 4, 4)`` output gradient ran along rows of 16 values, 0.21 ms, this way 0.03 ms
    (with no larger error: the positions are summed pairwise, the samples one after the other, as
    before). A channels-last gradient's channels are contiguous: its rows are summed.

    Examples
    --------
    >>> dy = np.arange(24.0).reshape(2, 3, 4)
    >>> bias_gradient(dy, 1).tolist(), bias_gradient(np.moveaxis(dy, 1, -1), 2).tolist()
    ([60.0, 92.0, 124.0], [60.0, 92.0, 124.0])
    """
    c = dy.shape[channel]
    if dy.size == 0:  # an empty batch or axis (no -1 to infer in the reshapes below)
        return np.zeros(c, dtype=np.sum(dy[:0], dtype=dtype).dtype)
    if channel == dy.ndim - 1:  # channels last (or a 1-d gradient): sums of the rows' columns
        return np.sum(dy.reshape(-1, c), axis=0, dtype=dtype)
    samples = math.prod(dy.shape[:channel])
    if samples > 1:
        # the samples' sum is one sample's size: made only while small (it is temporary memory, which
        # the budget counts), else NumPy's reduction over the axes, which holds no such array
        one = dy.size // samples * np.dtype(dtype or dy.dtype).itemsize
        if one > min(SAMPLES_FIRST_BYTES, effective().memory_budget // 8):
            return np.sum(dy, axis=tuple(a for a in range(dy.ndim) if a != channel), dtype=dtype)
        dy = np.sum(dy.reshape(samples, *dy.shape[channel:]), axis=0, dtype=dtype)
    return np.sum(dy.reshape(c, -1), axis=1, dtype=dtype)


#: Bytes of one sample's output gradient up to which :func:`bias_gradient` sums the samples first.
SAMPLES_FIRST_BYTES = 2**20


def _tiny_backward(
    plan: TinyGradients, forward: _Forward, needs: frozenset[str], result: np.dtype
) -> Callable[[np.ndarray, np.ndarray, np.ndarray], Gradients]:
    """:func:`_plan_backward` of a tiny real problem (:func:`tconv._algorithms.tiny.tiny`): each gradient
    from the list of the operator's multiply-adds, summed in double precision and rounded once into
    its primal's dtype (no algorithm, no blocks, no threads: their fixed costs were most of the time)."""
    transposed = forward.op == "conv_transpose"
    channel_axis = 1 if forward.layout == "channels_first" else -1

    def gradients(dy: np.ndarray, x: np.ndarray, w: np.ndarray) -> Gradients:
        grad_input = grad_weight = grad_bias = None
        d_input, d_weight = plan.gradients(dy, x, w, transposed, "input" in needs, "weight" in needs)
        if d_input is not None:
            grad_input = _as_gradient_of(d_input.reshape(x.shape), x, result)
            if not forward.batched:
                grad_input = grad_input[0]
        if d_weight is not None:
            grad_weight = _as_gradient_of(d_weight.reshape(w.shape), w, result)
        if "bias" in needs:
            grad_bias = bias_gradient(dy, channel_axis % dy.ndim, np.float64).astype(result, copy=False)  # (C_out,)
        return Gradients(grad_input, grad_weight, grad_bias)

    return gradients


def _gradients(
    op: str, grad_output: Any, input: Any, weight: Any, forward: Mapping[str, Any], needs: object, algorithm: str
) -> Gradients:
    """Check the forward call of ``op`` (:func:`tconv.ops.window`) and ``grad_output``, then differentiate."""
    # the key of a None array is never stored: such a call does not pass the checks
    key = call_key(op, (grad_output, input, weight), (tuple(sorted(forward.items())), needs, algorithm))
    found = None if key is None else _GRADIENT_CALLS.get(key)
    if found is not None:
        batched, gradients = found
        if batched:
            return gradients(grad_output, input, weight)
        return gradients(grad_output[None], input[None], weight)
    wanted = _check_needs(needs)
    caller = f"{op}_backward"
    groups, layout, options = split_options(op, forward, caller)
    x, operands = prepare_arrays(
        caller, input, weight, None, groups, layout, weight_in_axis=0 if op == "conv_transpose" else 1
    )
    w, g, layout, batched = operands.weight, operands.groups, operands.layout, operands.batched
    geometry = resolve_geometry(op, x.shape, operands, options)
    if op == "conv_transpose":
        expected = array_shape(x.shape[0], w.shape[1] * g, geometry.output_size, layout, batched)
    else:
        expected = array_shape(x.shape[0], w.shape[0], geometry.input_size, layout, batched)
    dy = _check_grad_output(grad_output, expected, caller, op)
    dy = dy if batched else dy[None]
    gradients = _plan_backward(dy, x, w, _Forward(op, geometry, g, layout, batched), wanted, algorithm)
    if key is not None:
        remember(_GRADIENT_CALLS, key, (batched, gradients), CALLS)
    return gradients(dy, x, w)


#: The planned gradients of :func:`_gradients` by the shapes and dtypes of their arrays, their plain
#: arguments and the options (:func:`tconv.ops.call_key`: only these decide every check and choice).
_GRADIENT_CALLS: dict[tuple, tuple[bool, Callable[[np.ndarray, np.ndarray, np.ndarray], Gradients]]] = {}


def conv_transpose_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    *,
    algorithm: str = "auto",
    needs: str | Iterable[str] = GRADIENTS,
    **forward: Unpack[ConvTransposeOptions],
) -> Gradients:
    """Gradients of :func:`tconv.conv_transpose` with respect to its input, weight and bias.

    For ``y = conv_transpose(input, weight, bias, ...)`` and the gradient
    ``grad_output = dL/dy`` of a loss ``L``, returns ``dL/dinput``, ``dL/dweight``
    and ``dL/dbias``: what ``torch.autograd.grad`` returns for
    ``F.conv_transpose{1,2,3}d``, for any number of axes and every parameter that
    :func:`tconv.conv_transpose` accepts.

    Parameters
    ----------
    grad_output : array_like, shape of the forward output
        ``(N, C_out, *o)`` (or as the input is laid out and batched).
    input : array_like, shape (N, C_in, *i) or unbatched (C_in, *i)
        The forward input (``(N, *i, C_in)`` with ``layout="channels_last"``).
    weight : array_like, shape (C_in, C_out/groups, *k)
    **forward
        ``stride``, ``padding``, ``output_padding``, ``groups``, ``dilation``,
        ``output_size``, ``layout``: exactly as given to :func:`tconv.conv_transpose`
        (:class:`tconv.typing.ConvTransposeOptions`; keyword-only here, so that
        dropping ``bias`` from the argument list cannot shift them). The bias value
        is not needed: its gradient depends on ``grad_output`` only.
    algorithm : str
        ``"auto"`` or one of ``tconv.algorithms("conv")``: the input gradient is a
        convolution of ``grad_output`` with ``weight`` (see the module docstring).
        The weight gradient does not depend on it (the module docstring says what runs).
        With ``"auto"``, a tiny float32 or float64 problem computes both from the list of
        its multiply-adds in double precision (the module docstring).
    needs : str or iterable of str
        Which gradients to compute, from ``("input", "weight", "bias")`` (all by
        default); the others are returned as ``None``.

    Returns
    -------
    Gradients
        ``(input, weight, bias)``. Each gradient has the dtype of the array it is
        the gradient of when that is a float or complex array (float16 is computed
        in float32), else float64; the bias gradient has the forward result's dtype.
        Complex gradients follow PyTorch (conjugate Wirtinger derivative).

    See Also
    --------
    conv_backward : the gradients of the forward convolution.

    Notes
    -----
    ``dinput = conv(grad_output, weight)`` with the same geometry (stride,
    dilation, groups, and the same window of the full output), which for
    ``output_padding < stride`` is ``tconv.conv(grad_output, weight, None, stride,
    padding, dilation, groups)``; ``dweight[ci, co, t] = sum_{n, j} input[n, ci, j]
    * grad_output[n, co, s*j + d*t - b]``; ``dbias = grad_output`` summed over all
    axes but the channel axis.

    Examples
    --------
    >>> import numpy as np, tconv
    >>> x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    >>> w = np.random.default_rng(1).standard_normal((3, 5, 4, 4))
    >>> y = tconv.conv_transpose(x, w, stride=2, padding=1)            # (2, 5, 8, 8)
    >>> g = tconv.conv_transpose_backward(np.ones_like(y), x, w, stride=2, padding=1)
    >>> g.input.shape, g.weight.shape, g.bias.shape
    ((2, 3, 4, 4), (3, 5, 4, 4), (5,))
    >>> g.bias                                     # d sum(y) / d bias = N*H*W
    array([128., 128., 128., 128., 128.])

    The input gradient is the convolution with the same weight (the adjoint):

    >>> dy = np.random.default_rng(2).standard_normal(y.shape)
    >>> dx = tconv.conv_transpose_backward(dy, x, w, stride=2, padding=1, needs="input").input
    >>> np.allclose(dx, tconv.conv(dy, w, stride=2, padding=1))
    True
    """
    _check_algorithm(algorithm, "conv", "conv_transpose_backward", "conv_transpose")
    return _gradients("conv_transpose", grad_output, input, weight, forward, needs, algorithm)


def conv_backward(
    grad_output: Any,
    input: Any,
    weight: Any,
    *,
    algorithm: str = "auto",
    needs: str | Iterable[str] = GRADIENTS,
    **forward: Unpack[ConvOptions],
) -> Gradients:
    """Gradients of :func:`tconv.conv` with respect to its input, weight and bias.

    For ``y = conv(input, weight, bias, ...)`` and ``grad_output = dL/dy``, returns
    what ``torch.autograd.grad`` returns for ``F.conv{1,2,3}d``, for any number of
    axes, ``(begin, end)`` padding pairs (negative values crop the input),
    ``"same"``/``"valid"``, groups, dilation and both layouts.

    Parameters
    ----------
    grad_output : array_like, shape of the forward output, (N, C_out, *o)
    input : array_like, shape (N, C_in, *i) or unbatched (C_in, *i)
    weight : array_like, shape (C_out, C_in/groups, *k)
    **forward
        ``stride``, ``padding``, ``dilation``, ``groups``, ``layout``: exactly as given
        to :func:`tconv.conv` (:class:`tconv.typing.ConvOptions`; keyword-only here).
    algorithm : str
        ``"auto"`` or one of ``tconv.algorithms()``: the input gradient is a
        transposed convolution of ``grad_output`` with ``weight``. The weight
        gradient does not depend on it (the module docstring says what runs).
        With ``"auto"``, a tiny float32 or float64 problem computes both from the list of
        its multiply-adds in double precision (the module docstring).
    needs : str or iterable of str
        Which gradients to compute, from ``("input", "weight", "bias")``.

    Returns
    -------
    Gradients
        ``(input, weight, bias)``; dtypes as for :func:`conv_transpose_backward`.
        Input positions that the convolution never reads (a trailing remainder
        of a strided convolution, or input cropped by negative padding) get a
        zero gradient.

    Examples
    --------
    >>> import numpy as np, tconv
    >>> x = np.random.default_rng(0).standard_normal((1, 2, 7))
    >>> w = np.random.default_rng(1).standard_normal((3, 2, 3))
    >>> y = tconv.conv(x, w, stride=2)                                 # (1, 3, 3)
    >>> g = tconv.conv_backward(np.ones_like(y), x, w, stride=2)
    >>> g.input.shape, g.weight.shape
    ((1, 2, 7), (3, 2, 3))
    >>> expected = np.stack([x[0, :, t:t + 5:2].sum(axis=-1) for t in range(3)], axis=-1)  # (C_in, k)
    >>> np.allclose(g.weight, expected)       # every output channel: sum_j x[ci, 2*j + t]
    True
    """
    _check_algorithm(algorithm, "conv_transpose", "conv_backward", "conv")
    return _gradients("conv", grad_output, input, weight, forward, needs, algorithm)
