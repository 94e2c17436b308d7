"""A drop-in ``torch.nn.ConvTranspose{1,2,3}d`` computed by tconv's kernels (the ``torch`` extra).

Switch a model by changing one import::

    from tconv.torch import ConvTranspose2d      # instead of: from torch.nn import ConvTranspose2d

The classes *are* PyTorch's modules (subclasses): the same constructor, attributes,
parameters, default initialisation, ``state_dict`` and ``forward(input,
output_size=None)``, and ``isinstance(m, torch.nn.ConvTranspose2d)`` holds. Only
``forward`` changes: it runs :func:`conv_transpose`, which applies a
``torch.autograd.Function`` whose forward is :func:`tconv.conv_transpose` and whose
backward is :func:`tconv.conv_transpose_backward`, on the tensors' memory (no copies in).
They also accept what PyTorch cannot express: ``padding="same"``/``"valid"`` and
``(begin, end)`` pairs per axis (negative values extend the output with zeros).

When tconv computes, and when PyTorch does
------------------------------------------
tconv computes when every tensor is a dense CPU tensor and all share one dtype
among float16, bfloat16, float32, float64, complex64 and complex128 (float16 and
bfloat16 accumulate in float32, as :func:`tconv.conv_transpose` does for NumPy's
float16 and ``ml_dtypes.bfloat16``). Anything else — CUDA/MPS/meta tensors,
integer tensors, mixed dtypes — **falls back to PyTorch's own implementation**
(``fallback=True``, the default), so a model moved to the GPU keeps working and
gives the same results: PyTorch's own call where it can express the window, else
its full output (``padding=0``) cut to the same window with ``F.pad``, so even
``"same"`` and ``(begin, end)`` pairs work there, and PyTorch reports its own errors
(for example for mixed dtypes). With ``fallback=False`` such a call raises a
``TypeError`` instead. :func:`uses_tconv` tells which path a call takes.

Drop-in behaviour
-----------------
- Errors: a bad argument or shape raises ``RuntimeError`` as ``torch.nn.functional``
  does (tconv's message, naming the parameter and the value); the module's
  ``forward(input, output_size)`` raises PyTorch's ``ValueError`` for an output size
  it cannot reach (it runs PyTorch's own ``_output_padding`` for PyTorch's padding).
  An input with an empty spatial axis is refused as PyTorch refuses it (tconv's
  NumPy functions accept it).
- Memory format: the output is ``channels_last`` (``channels_last_3d``) when the
  input or the weight is, as PyTorch's oneDNN kernels return it, and tconv
  computes it in that layout (no copies); each gradient has its tensor's format.
  (PyTorch's own kernels without oneDNN, such as 3-d float64, return contiguous
  output there.)
- Double backward: the backward pass is made of the forward operators — the input
  gradient of a transposed convolution is a convolution and the weight gradient a
  correlation — each a differentiable ``torch.autograd.Function`` whose backward is
  made of the three again, so gradients of gradients (``gradgradcheck``, gradient
  penalties as in WGAN-GP) are exact to any order. A first-order backward (no graph
  kept: ``create_graph=False``, the usual ``loss.backward()``) computes both gradients
  in one :func:`tconv.conv_transpose_backward` call instead, the same arithmetic,
  which copies the output gradient into the layout it needs once for both.
- ``repr``: the issue's two wishes, reconciled: everything inside the parentheses
  is PyTorch's own ``repr`` of the layer, unchanged (what a reader or a tool reads
  the configuration from keeps working), and the name in front is
  ``tconv.torch.ConvTranspose2d``, so that a printed model shows which layers tconv
  computes (plus ``algorithm=``/``fallback=`` when they are not the defaults). A
  byte-identical ``repr`` would hide that; another format would break what reads it.

- Graphs: under ``torch.jit.trace``, ``torch.compile`` and ``torch.export`` (and the
  ONNX exporters built on them) a layer records PyTorch's own operators, the same
  function (:func:`_torch_fallback`'s window), so a traced model saves and exports as a
  plain PyTorch model (an ONNX export has standard ``ConvTranspose`` nodes) and a
  compiled one runs PyTorch's kernels; tconv computes eager calls. With PyTorch's
  forms of the arguments the sizes stay symbolic (``torch.export``'s
  ``dynamic_shapes``); tconv's padding forms and ``output_size`` fix them to the
  traced input's.
- Autocast: under ``torch.autocast("cpu")`` the layer casts as PyTorch's autocast casts
  a transposed convolution (float32 tensors to the autocast dtype, bfloat16 by
  default; float64 left), so the output has PyTorch's dtype.
- Arguments: a one-entry ``stride``/``padding``/``output_padding``/``dilation``
  stands for every axis (``stride=(2,)`` on a 2-d layer), as ATen expands it; changing
  ``padding_mode`` after construction is refused by ``forward`` as PyTorch's is.

- ``torch.func`` and forward mode: ``vmap``, ``grad``, ``jacrev``, ``jacfwd``, ``hessian``, ``jvp``,
  ``torch.autograd.forward_ad``'s dual tensors, and the batched gradients of
  ``torch.autograd.grad(..., is_grads_batched=True)`` (``jacobian(..., vectorize=True)``, ``gradcheck``'s
  batched checks) work as with PyTorch's layer, computed by tconv: each Function has a forward-mode
  derivative (all three are bilinear: ``T(dx, w) + T(x, dw) + dbias``) and a ``vmap`` rule (vmap's
  entries joined to the batch where only the batched operand is mapped, else a call per entry); a
  batched gradient of PyTorch's older ``vmap`` is computed per entry (:func:`_per_entry`).

Limits: ``torch.jit.script`` cannot compile it (its ``forward`` calls Python; ``torch.jit.trace``
works). A negative ``padding`` is refused at construction with a ``ValueError`` naming
it, where PyTorch builds the module and raises ``RuntimeError`` at the first forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from ._options import internal
from ._validate import missing_dependency

try:
    import torch
except ImportError as error:  # one line with the install hint, not a bare ModuleNotFoundError
    raise missing_dependency("torch", "tconv.torch") from error
from torch._functorch.utils import unwrap_dead_wrappers
from torch.autograd import forward_ad

from ._layers import check_algorithms, padding_attribute
from .geometry import PaddingArg, conv_transpose_geometry
from .grad import GRADIENTS, bias_gradient, conv_transpose_backward
from .ops import conv_transpose as _conv_transpose_numpy
from .ops import remember
from .typing import Layout

__all__ = [
    "COMPUTED_DTYPES",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "conv_transpose",
    "forward_backward",
    "from_torch",
    "uses_tconv",
]

#: The torch dtypes tconv computes (the others fall back to PyTorch); bfloat16 is computed in float32.
COMPUTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128)

#: The channels-last memory format of a tensor with this many dimensions (a batch, channels, spatial axes).
_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


def uses_tconv(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> bool:
    """Whether :func:`conv_transpose` computes these tensors with tconv (else PyTorch does).

    Examples
    --------
    >>> import torch
    >>> uses_tconv(torch.ones(1, 2, 3), torch.ones(2, 1, 2))
    True
    >>> uses_tconv(torch.ones(1, 2, 3, dtype=torch.bfloat16), torch.ones(2, 1, 2, dtype=torch.bfloat16))
    True
    >>> uses_tconv(torch.ones(1, 2, 3, dtype=torch.int64), torch.ones(2, 1, 2, dtype=torch.int64))
    False
    """
    tensors = [t for t in (input, weight, bias) if t is not None]
    return (
        len({t.dtype for t in tensors}) == 1
        and tensors[0].dtype in COMPUTED_DTYPES
        and all(t.device.type == "cpu" and t.layout == torch.strided for t in tensors)
    )


@dataclass(frozen=True)
class _Params:
    """The non-tensor arguments of one call, and the memory layout it computes in."""

    stride: Any
    padding: Any
    output_padding: Any
    groups: int
    dilation: Any
    output_size: Any
    algorithm: str
    backward_algorithm: str
    layout: str = "channels_first"
    #: A module's prepared weight (:func:`tconv.prepare`) for the forward pass, when it has one.
    prepared: Any = field(default=None, compare=False)

    def kwargs(self) -> dict[str, Any]:
        """The keywords of :func:`tconv.conv_transpose` and its backward besides the algorithm."""
        names = ("stride", "padding", "output_padding", "groups", "dilation", "output_size", "layout")
        return {name: getattr(self, name) for name in names}


def _transformed(*tensors: torch.Tensor | None) -> bool:
    """Whether a tensor is a ``torch.func`` transform's wrapper (``vmap``'s batched tensor, ``grad``'s
    tracking tensor; the batched gradients of ``torch.autograd.grad(..., is_grads_batched=True)``), not memory
    NumPy can read: tconv computes it through its Functions' ``vmap`` rules and backward passes, which
    receive the tensors within, and memory formats are not asked of it."""
    if torch.compiler.is_compiling():  # dynamo cannot trace the query; a recorded call takes PyTorch's operators
        return False
    functorch = torch._C._functorch
    return any(
        t is not None and (functorch.is_functorch_wrapped_tensor(t) or functorch.is_legacy_batchedtensor(t))
        for t in tensors
    )


def _dual(*tensors: torch.Tensor | None) -> bool:
    """Whether a tensor carries a forward-mode tangent (``torch.autograd.forward_ad``, a dual level open): a
    backward pass of such tensors (forward-over-reverse) runs through the Functions, whose ``jvp`` carries
    the tangents into the gradients, not the NumPy shortcuts, which would drop them."""
    if forward_ad._current_level < 0:  # no dual level: no tangents (the common case, one comparison)
        return False
    return any(t is not None and forward_ad.unpack_dual(t).tangent is not None for t in tensors)


def _legacy(*tensors: Any) -> bool:
    """Whether a tensor is a batched tensor of PyTorch's older ``vmap`` (see :func:`_per_entry`)."""
    return any(isinstance(t, torch.Tensor) and torch._C._functorch.is_legacy_batchedtensor(t) for t in tensors)


def _per_entry(function: Any, *tensors: Any) -> Any:
    """``function(*tensors)`` where some are batched tensors of PyTorch's older ``vmap``, which
    ``torch.autograd.grad(..., is_grads_batched=True)`` and ``gradcheck``'s ``check_batched_grad`` and
    ``check_batched_forward_grad`` (and ``torch.autograd.functional.jacobian(..., vectorize=True)``) run
    the backward and forward-mode passes under: such a tensor hides its batch axis from Python and has
    no memory NumPy can read, so the batch is taken out at the current level, ``function`` runs once per
    entry, and each result (a tensor or a tuple of tensors and None) is batched again at that level."""
    level = torch._C._vmapmode_increment_nesting() - 1  # the level of the vmap this pass runs in
    torch._C._vmapmode_decrement_nesting()
    physical = [torch._remove_batch_dim(t, level, 1, 0) if _legacy(t) else None for t in tensors]
    if _legacy(*physical):
        raise RuntimeError(
            "tconv.torch: nested batched gradients (is_grads_batched within is_grads_batched) are not supported"
        )
    size = next(p.shape[0] for p in physical if p is not None)

    def entry(p: torch.Tensor, i: int) -> torch.Tensor:  # (zeros of an entry's shape for an empty batch)
        return p[i] if size else p.new_zeros(p.shape[1:])

    entries = [
        function(*(t if p is None else entry(p, i) for t, p in zip(tensors, physical))) for i in range(max(1, size))
    ]
    single = not isinstance(entries[0], tuple)
    rows = [(e,) if single else e for e in entries]
    batched = tuple(
        None if parts[0] is None else torch._add_batch_dim(torch.stack(parts)[:size], 0, level) for parts in zip(*rows)
    )
    return batched[0] if single else batched


def _memory_format(t: torch.Tensor) -> torch.memory_format:
    """ATen's ``suggest_memory_format``, which PyTorch's layer asks of its input and weight: channels-last
    when the strides say so; contiguous for a ``torch.func`` transform's wrapper (:func:`_transformed`),
    which has no strides to ask."""
    channels_last = _CHANNELS_LAST.get(t.dim())
    if channels_last is None or _transformed(t):
        return torch.contiguous_format
    if t.is_contiguous() and not t.is_contiguous(memory_format=channels_last):
        return torch.contiguous_format  # (unambiguous: the common case, without the call below)
    if torch.compiler.is_compiling():  # (a graph's sizes may be symbols: the strides' flags decide)
        last = t.is_contiguous(memory_format=channels_last) and not t.is_contiguous()
        return channels_last if last else torch.contiguous_format
    # size-1 axes make strides fit both formats, or neither, and a sliced tensor fits none: ATen's own rule
    # decides, as it does for PyTorch's layer (a depthwise weight (C, 1, k, k) made channels-last is
    # channels-last), kept per shape and strides (a 1-element call asks it of each tensor twice)
    key = (t.shape, t.stride())
    found = _FORMATS.get(key)
    if found is None:
        found = channels_last if _channels_last_strides(*key) else torch.contiguous_format
        remember(_FORMATS, key, found, 256)
    return found


#: ATen's memory format by shape and strides, for the tensors :func:`_memory_format` cannot read from its flags.
_FORMATS: dict[tuple, torch.memory_format] = {}


def _channels_last_strides(sizes: Sequence[int], strides: Sequence[int]) -> bool:
    """ATen's ``is_channels_last_strides_2d_s4`` and ``_3d_s5`` (``c10/core/MemoryFormat.h``), which decide
    ``suggest_memory_format``: the strides grow along C, then the spatial axes from the last, then N,
    each at least the previous one's extent; ambiguous cases (N111, a trivial C stride) are contiguous.
    (``torch._prims_common.suggest_memory_format`` mirrors it too, at ~10 us a call.)"""
    if strides[1] == 0:
        return False
    least = 0
    for d in (1, *range(len(sizes) - 1, 1, -1), 0):
        if sizes[d] == 0 or strides[d] < least:
            return False
        if d == 0 and least == strides[1]:
            return False
        least = strides[d] * sizes[d] if sizes[d] > 1 else strides[d]
    return True


def _layout(input: torch.Tensor, weight: torch.Tensor) -> Layout:
    """The layout tconv computes a batched call in: channels-last when the input or the weight is (oneDNN's rule)."""
    if input.dim() != weight.dim() or input.dim() not in _CHANNELS_LAST:
        return "channels_first"
    last = _CHANNELS_LAST[input.dim()]
    return "channels_last" if last in (_memory_format(input), _memory_format(weight)) else "channels_first"


def _numpy(t: torch.Tensor | None, layout: str = "channels_first") -> np.ndarray | None:
    """The tensor as a NumPy array in ``layout`` (its memory, lazy conjugation and negation resolved;
    bfloat16, which NumPy has not, as a float32 copy: tconv accumulates it in float32 anyway)."""
    if t is None:
        return None
    t = t.detach().resolve_conj().resolve_neg()
    if t.dtype == torch.bfloat16:
        t = t.float()
    return (t.movedim(1, -1) if layout == "channels_last" else t).numpy()  # (N, *S, C) or as given


def _tensor(a: np.ndarray, dtype: torch.dtype, layout: str = "channels_first") -> torch.Tensor:
    """A NumPy result in ``layout`` as a ``(N, C, *S)`` tensor of ``dtype`` (channels-last memory for that layout)."""
    if a.size == 0:  # NumPy gives empty arrays zero strides; PyTorch's empty results have contiguous ones
        shape = (a.shape[0], a.shape[-1], *a.shape[1:-1]) if layout == "channels_last" else a.shape
        return torch.empty(shape, dtype=dtype)
    t = torch.from_numpy(np.ascontiguousarray(a))
    t = t.movedim(-1, 1) if layout == "channels_last" else t  # (N, C, *S), channels-last strides
    return t.to(dtype)


def _placeholder(shape: torch.Size, dtype: np.dtype, layout: str) -> np.ndarray:
    """An operand whose values a gradient does not read, only its shape: zeros without memory."""
    numpy_shape = (shape[0], *shape[2:], shape[1]) if layout == "channels_last" else tuple(shape)
    return np.broadcast_to(np.zeros((), dtype), numpy_shape)


def _inside_torch():
    """The options of tconv's calls made from PyTorch's autograd: no keep-awake threads
    (:mod:`tconv._algorithms.compiled`). PyTorch's OpenMP threads spin after each of its parallel
    regions and keep the cores awake already; with the keep-awake threads as well, training steps of
    six benchmark layers ran 0.79-0.96x as fast (A/B in one process, 36 steps each)."""
    return internal(keep_awake=0.0)


# The backward pass, made of the forward operators (the algebra is tconv.grad's): with T(x, w) the transposed
# convolution, C(y, w) its adjoint convolution and W(x, y) the weight correlation (<T(x, w), y> = <W(x, y), w>),
#   T's backward:  dx = C(dy, conj w),    dw = W(conj x, dy),    dbias = sum(dy)
#   C's backward:  dy = T(dx', conj w),   dw = W(dx', conj y)     (dx' the gradient of C's output)
#   W's backward:  dx = C(conj y, dw'),   dy = T(conj x, dw')     (dw' the gradient of W's output)
# Each is an autograd.Function whose backward calls the three again, so every order of derivative is exact.


class _Function(torch.autograd.Function):
    """An ``autograd.Function`` whose ``apply`` outside ``torch.func`` transforms goes straight to autograd.

    PyTorch's ``Function.apply`` binds the arguments to ``forward``'s signature (``inspect.signature``) on
    every call once a Function defines ``setup_context`` (which ``torch.func`` requires): ~15 us of a
    one-element training step's ~200. tconv's Functions are always called with every argument positional
    and have no defaults, so the binding changes nothing; outside transforms this ``apply`` does what
    PyTorch's does without it (dead ``torch.func`` wrappers unwrapped, then autograd), inside them it is
    PyTorch's own."""

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs or torch._C._are_functorch_transforms_active():
            return super().apply(*args, **kwargs)
        return super(torch.autograd.Function, cls).apply(*unwrap_dead_wrappers(args))  # type: ignore[misc]


class _ConvTransposeFunction(_Function):
    """``T(x, w) + bias``: forward :func:`tconv.conv_transpose`; backward ``C``, ``W`` and a sum; forward-mode
    derivative ``T(dx, w) + T(x, dw) + dbias``; ``vmap`` rule :func:`_vmap_conv_transpose`."""

    @staticmethod
    def forward(input, weight, bias, params):
        with _inside_torch():
            if params.prepared is not None:  # a module's weight, packed once (its layout is params.layout)
                y = params.prepared(_numpy(input, params.layout), _numpy(bias), output_size=params.output_size)
            else:
                y = _conv_transpose_numpy(
                    _numpy(input, params.layout),
                    _numpy(weight),
                    _numpy(bias),
                    **params.kwargs(),
                    algorithm=params.algorithm,
                )
        return _tensor(y, input.dtype, params.layout)

    @staticmethod
    def setup_context(ctx, inputs, output):
        input, weight, _, params = inputs
        ctx.save_for_backward(input, weight)
        ctx.save_for_forward(input, weight)
        ctx.params = params
        ctx.output_shape = output.shape

    @staticmethod
    def backward(ctx, grad_output):
        if _legacy(grad_output):
            return _per_entry(lambda g: _ConvTransposeFunction.backward(ctx, g), grad_output)
        input, weight = ctx.saved_tensors
        params = ctx.params
        need_input, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_input = grad_weight = grad_bias = None
        same = input.dtype == weight.dtype == grad_output.dtype
        wrapped = _transformed(grad_output, input, weight)
        shortcut = not (wrapped or _dual(grad_output, input, weight))  # (tensors NumPy reads, no tangents)
        if (need_input or need_weight) and same and not torch.is_grad_enabled() and shortcut:
            # a first-order backward (no graph of it to keep): the gradients asked for in one call, which
            # copies grad_output channels-last once for both where they need it (tconv._algorithms.
            # workspace.sharing), the bias's among them (a separate NumPy sum and its tensor cost 25-35 us
            # of a small layer's step); the same arithmetic as the two Functions below
            wanted = tuple(name for name, need in zip(GRADIENTS, (need_input, need_weight, need_bias)) if need)
            with _inside_torch():
                grads = conv_transpose_backward(
                    _numpy(grad_output, params.layout),
                    _numpy(input, params.layout),
                    _numpy(weight),
                    **params.kwargs(),
                    algorithm=params.backward_algorithm,
                    needs=wanted,
                )
            if need_input:
                grad_input = _tensor(grads.input, input.dtype, params.layout)
            if need_weight:
                grad_weight = _tensor(grads.weight, weight.dtype)
            if need_bias:
                grad_bias = _tensor(grads.bias, grad_output.dtype)
        else:
            if need_input:
                grad_input = _ConvFunction.apply(grad_output, weight.conj(), params, input.shape)
            if need_weight:
                grad_weight = _WeightGradientFunction.apply(input.conj(), grad_output, params, weight.shape)
        # PyTorch's gradients take their primal's memory format. Computed channels-first, a batched input's
        # and its weight's are both the contiguous format (_layout takes channels-last when either is) and
        # the fresh gradients are contiguous already: ~10 us of asking spared
        asked = params.layout == "channels_last" or input.dim() != weight.dim()
        if asked and not wrapped:  # (a transform's wrapper has no memory format to ask for)
            if grad_input is not None:
                grad_input = grad_input.contiguous(memory_format=_memory_format(input))
            if grad_weight is not None:
                grad_weight = grad_weight.contiguous(memory_format=_memory_format(weight))
        if need_bias and grad_bias is None:
            grad_bias = _bias_gradient(grad_output, grad_output.dim() - weight.dim() + 1)  # channel axis 1 or 0
        return grad_input, grad_weight, grad_bias, None

    @staticmethod
    def jvp(ctx, input_tangent, weight_tangent, bias_tangent, _):
        # T is bilinear in (x, w): its derivative along (dx, dw, dbias) is T(dx, w) + T(x, dw) + dbias
        if _legacy(input_tangent, weight_tangent, bias_tangent):
            jvp = _ConvTransposeFunction.jvp
            return _per_entry(lambda *t: jvp(ctx, *t, None), input_tangent, weight_tangent, bias_tangent)
        input, weight = ctx.saved_tensors
        params = ctx.params
        terms = []
        if input_tangent is not None:  # (the same weight: a module's prepared weight serves)
            terms.append(_ConvTransposeFunction.apply(input_tangent, weight, None, params))
        if weight_tangent is not None:
            terms.append(_ConvTransposeFunction.apply(input, weight_tangent, None, replace(params, prepared=None)))
        if bias_tangent is not None:
            channel = len(ctx.output_shape) - weight.dim() + 1  # axis 1, or 0 for an unbatched input
            shape = [1] * len(ctx.output_shape)
            shape[channel] = -1
            terms.append(bias_tangent.reshape(shape).expand(ctx.output_shape))
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    @staticmethod
    def vmap(info, in_dims, input, weight, bias, params):
        return _vmap_conv_transpose(info, in_dims, input, weight, bias, params)


def _bias_gradient(grad_output: torch.Tensor, channel: int) -> torch.Tensor:
    """The sum of ``grad_output`` over every axis but ``channel``, by NumPy on the calling thread.

    (PyTorch's own ``sum`` runs on its OpenMP threads, which spin for about 5 ms afterwards and slowed
    the next call's threads, measured; differentiable when gradients of gradients are asked for, and
    PyTorch's own under a ``torch.func`` transform or of a tensor with a forward-mode tangent.)
    """
    if (torch.is_grad_enabled() and grad_output.requires_grad) or _transformed(grad_output) or _dual(grad_output):
        return grad_output.sum(dim=[d for d in range(grad_output.dim()) if d != channel])
    g = _numpy(grad_output)
    assert g is not None
    total = bias_gradient(g, channel, np.float32 if g.dtype == np.float16 else None)
    return torch.from_numpy(np.asarray(total)).to(grad_output.dtype)


class _ConvFunction(_Function):
    """``C(y, w)``: the convolution of ``y`` (of the transposed convolution's output size) back to an input of
    ``input_shape``: :func:`tconv.conv_transpose_backward`'s input gradient. Bilinear: its forward-mode
    derivative is ``C(dy, w) + C(y, dw)``."""

    @staticmethod
    def forward(y, weight, params, input_shape):
        y_np = _numpy(y, params.layout)
        x = _placeholder(input_shape, y_np.dtype, params.layout)  # only its shape is read
        # the gradient conjugates the weight (PyTorch's convention): C(y, w) is that of conj(w)
        w_np = _numpy(weight.conj())
        with _inside_torch():
            grads = conv_transpose_backward(
                y_np, x, w_np, **params.kwargs(), algorithm=params.backward_algorithm, needs="input"
            )
        return _tensor(grads.input, y.dtype, params.layout)

    @staticmethod
    def setup_context(ctx, inputs, output):
        y, weight, params, input_shape = inputs
        ctx.save_for_backward(y, weight)
        ctx.save_for_forward(y, weight)
        ctx.params = params
        ctx.input_shape = input_shape

    @staticmethod
    def backward(ctx, grad_output):
        if _legacy(grad_output):
            return _per_entry(lambda g: _ConvFunction.backward(ctx, g), grad_output)
        y, weight = ctx.saved_tensors
        params = ctx.params
        grad_y = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_y = _ConvTransposeFunction.apply(grad_output, weight.conj(), None, params)
        if ctx.needs_input_grad[1]:
            grad_weight = _WeightGradientFunction.apply(grad_output, y.conj(), params, weight.shape)
        return grad_y, grad_weight, None, None

    @staticmethod
    def jvp(ctx, y_tangent, weight_tangent, _, __):
        return _bilinear_jvp(_ConvFunction, ctx, y_tangent, weight_tangent, ctx.input_shape)

    @staticmethod
    def vmap(info, in_dims, y, weight, params, input_shape):
        return _vmap_conv(info, in_dims, y, weight, params, input_shape)


def _bilinear_jvp(function: Any, ctx: Any, first: Any, second: Any, shape: Any) -> torch.Tensor:
    """The forward-mode derivative of ``C`` or ``W`` (``function(a, b, params, shape)``, bilinear in its saved
    ``a`` and ``b``) along the tangents ``(da, db)``: ``f(da, b) + f(a, db)``, a term per tangent given."""
    if _legacy(first, second):
        return _per_entry(lambda da, db: _bilinear_jvp(function, ctx, da, db, shape), first, second)
    a, b = ctx.saved_tensors
    terms = []
    if first is not None:
        terms.append(function.apply(first, b, ctx.params, shape))
    if second is not None:
        terms.append(function.apply(a, second, ctx.params, shape))
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


class _WeightGradientFunction(_Function):
    """``W(x, y)``: the correlation of an input and an output over batch and positions, of ``weight_shape``:
    :func:`tconv.conv_transpose_backward`'s weight gradient. Bilinear: its forward-mode derivative is
    ``W(dx, y) + W(x, dy)``."""

    @staticmethod
    def forward(input, y, params, weight_shape):
        x_np = _numpy(input.conj(), params.layout)  # the gradient conjugates the input: W(x, y) is that of conj(x)
        w = _placeholder(weight_shape, x_np.dtype, "channels_first")  # only its shape is read
        with _inside_torch():
            grads = conv_transpose_backward(_numpy(y, params.layout), x_np, w, **params.kwargs(), needs="weight")
        return _tensor(grads.weight, input.dtype)

    @staticmethod
    def setup_context(ctx, inputs, output):
        input, y, params, weight_shape = inputs
        ctx.save_for_backward(input, y)
        ctx.save_for_forward(input, y)
        ctx.params = params
        ctx.weight_shape = weight_shape

    @staticmethod
    def backward(ctx, grad_output):
        if _legacy(grad_output):
            return _per_entry(lambda g: _WeightGradientFunction.backward(ctx, g), grad_output)
        input, y = ctx.saved_tensors
        params = ctx.params
        grad_input = grad_y = None
        if ctx.needs_input_grad[0]:
            grad_input = _ConvFunction.apply(y.conj(), grad_output, params, input.shape)
        if ctx.needs_input_grad[1]:
            grad_y = _ConvTransposeFunction.apply(input.conj(), grad_output, None, params)
        return grad_input, grad_y, None, None

    @staticmethod
    def jvp(ctx, input_tangent, y_tangent, _, __):
        return _bilinear_jvp(_WeightGradientFunction, ctx, input_tangent, y_tangent, ctx.weight_shape)

    @staticmethod
    def vmap(info, in_dims, input, y, params, weight_shape):
        def one(i: int) -> torch.Tensor:
            return _WeightGradientFunction.apply(
                _vmap_slice(input, in_dims[0], i), _vmap_slice(y, in_dims[1], i), params, weight_shape
            )

        # a sum over the batch: vmap's entries are never folded into it, each is its own call
        return _stack([one(i) for i in _entries(info)], info), 0


# ``vmap`` rules (torch.func): each Function receives its arguments with the mapped axis where ``in_dims``
# says (None: not mapped) and returns its result with the mapped axis first. Where only the operand that
# carries the batch is mapped, vmap's entries join the batch (one call: the batch is N * B samples);
# otherwise each entry is one call (a weight per entry is a different operator).


def _vmap_slice(t: torch.Tensor | None, dim: int | None, i: int) -> torch.Tensor | None:
    """Entry ``i`` of vmap's mapped axis ``dim`` of ``t`` (``t`` itself where it is not mapped); zeros of an
    entry's shape when the axis is empty (:func:`_entries`)."""
    if t is None or dim is None:
        return t
    if t.shape[dim] == 0:
        return t.new_zeros(t.shape[:dim] + t.shape[dim + 1 :])
    return t.select(dim, i)


def _entries(info: Any) -> range:
    """The entries a per-entry ``vmap`` rule computes: all of them, or one of zeros when vmap maps an empty
    axis (its result's shape is that of one entry, which only a call can tell; :func:`_stack` drops it)."""
    return range(max(1, info.batch_size))


def _stack(results: list[torch.Tensor], info: Any) -> torch.Tensor:
    """The per-entry results stacked along vmap's axis (none of them where it maps an empty axis)."""
    return torch.stack(results)[: info.batch_size]


def _fold(t: torch.Tensor, dim: int, sample_dims: int) -> tuple[torch.Tensor, int | None]:
    """``t``'s mapped axis ``dim`` joined to its batch axis: ``(B * N, ...)`` and ``N`` for a batched operand
    (``sample_dims`` dimensions an entry, with the batch), or ``(B, ...)`` and None for an unbatched one."""
    t = t.movedim(dim, 0)
    if t.dim() - 1 == sample_dims:
        return t.reshape(t.shape[0] * t.shape[1], *t.shape[2:]), t.shape[1]
    return t, None


def _unfold(y: torch.Tensor, batch: int, samples: int | None) -> tuple[torch.Tensor, int]:
    """The result of a folded call with vmap's axis first again: ``(B, N, ...)`` or, unbatched, ``(B, ...)``."""
    return (y if samples is None else y.reshape(batch, samples, *y.shape[1:])), 0


def _vmap_conv_transpose(info, in_dims, input, weight, bias, params):
    """The ``vmap`` rule of ``T(x, w) + bias``."""
    in_input, in_weight, in_bias, _ = in_dims
    nd = weight.dim() - 2 - (in_weight is not None)
    # an output_size given as a whole shape would name the unfolded batch: its spatial part says the same
    params = replace(params, output_size=_spatial_size(params.output_size, nd))
    if in_weight is None and in_bias is None:
        folded, samples = _fold(input, in_input, nd + 2)
        return _unfold(_ConvTransposeFunction.apply(folded, weight, bias, params), info.batch_size, samples)
    if in_weight is not None:
        params = replace(params, prepared=None)  # a weight per entry: not the module's prepared one
    results = [
        _ConvTransposeFunction.apply(
            _vmap_slice(input, in_input, i), _vmap_slice(weight, in_weight, i), _vmap_slice(bias, in_bias, i), params
        )
        for i in _entries(info)
    ]
    return _stack(results, info), 0


def _vmap_conv(info, in_dims, y, weight, params, input_shape):
    """The ``vmap`` rule of ``C(y, w)``."""
    in_y, in_weight, _, _ = in_dims
    nd = weight.dim() - 2 - (in_weight is not None)
    if in_weight is None:
        folded, samples = _fold(y, in_y, nd + 2)
        shape = (folded.shape[0], *input_shape) if samples is None else (folded.shape[0], *tuple(input_shape)[1:])
        return _unfold(_ConvFunction.apply(folded, weight, params, torch.Size(shape)), info.batch_size, samples)
    results = [
        _ConvFunction.apply(_vmap_slice(y, in_y, i), _vmap_slice(weight, in_weight, i), params, input_shape)
        for i in _entries(info)
    ]
    return _stack(results, info), 0


def _torch_fallback(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, params: _Params):
    """PyTorch's own implementation: its own call when it can express the window, else its full output
    (padding 0), then tconv's window of it (zeros appended with ``F.pad``, then cut with ``narrow``), then
    the bias. Arguments PyTorch takes as they are go straight to its call, without tconv's geometry,
    which reads the input's sizes as integers: a graph with dynamic sizes (``torch.export`` with
    ``dynamic_shapes``) keeps them symbolic."""
    nd = weight.dim() - 2
    if nd not in (1, 2, 3):
        raise TypeError(f"tconv.torch: PyTorch has no {nd}-d transposed convolution to fall back to")
    functional = getattr(torch.nn.functional, f"conv_transpose{nd}d")
    arguments = _torch_arguments(params, nd)
    if arguments is not None:
        stride, padding, output_padding, dilation = arguments
        return functional(input, weight, bias, stride, padding, output_padding, params.groups, dilation)
    spatial = tuple(input.shape[-nd:])
    geometry = conv_transpose_geometry(
        spatial,
        tuple(weight.shape[2:]),
        params.stride,
        params.padding,
        params.output_padding,
        params.dilation,
        output_size=_spatial_size(params.output_size, nd),
    )
    crop = geometry.crop_begin
    extra = tuple(b - e for b, e in geometry.padding_pairs)  # PyTorch's output_padding, where it has one
    if _expressible(geometry.stride, crop, extra, geometry.dilation):
        # a window PyTorch can express: its own call, rounding included
        return functional(input, weight, bias, geometry.stride, crop, extra, params.groups, geometry.dilation)
    y = functional(input, weight, None, geometry.stride, 0, 0, params.groups, geometry.dilation)
    # the window of the full output: zeros appended where it reaches past an end, then the cut (one F.pad
    # with negative amounts crops first, and failed where a crop is longer than the axis)
    zeros: list[int] = []
    for begin, end in reversed(geometry.padding_pairs):  # amounts cropped; negative ones extend
        zeros += [max(0, -begin), max(0, -end)]
    if any(zeros):
        y = torch.nn.functional.pad(y, zeros)
    for axis, ((begin, _), size) in enumerate(zip(geometry.padding_pairs, geometry.output_size)):
        y = y.narrow(axis - nd, max(0, begin), size)
    if bias is not None:
        y = y + bias.reshape(-1, *(1,) * nd)
    return y


def _torch_arguments(params: _Params, nd: int) -> tuple[tuple[int, ...], ...] | None:
    """``(stride, padding, output_padding, dilation)`` one int per axis when PyTorch's call takes them as they
    are (no ``output_size``, padding of at least 0, output padding below the stride or the dilation), else None."""
    if params.output_size is not None:
        return None
    values = []
    for value in (params.stride, params.padding, params.output_padding, params.dilation):
        per_axis = _per_axis(value, nd)
        if per_axis is None:
            return None
        values.append(per_axis)
    return tuple(values) if _expressible(*values) else None


def _expressible(stride: Any, padding: Any, output_padding: Any, dilation: Any) -> bool:
    """Whether PyTorch's call takes these (one int per axis each): a padding of at least 0 and an output
    padding below the stride or the dilation (ATen's check)."""
    return all(p >= 0 and 0 <= a < max(s, d) for s, p, a, d in zip(stride, padding, output_padding, dilation))


def _per_axis(value: Any, nd: int) -> tuple[int, ...] | None:
    """``value`` as one int per spatial axis, when it is PyTorch's form of an argument (an int, or one
    int per axis); None for tconv's other forms (``(begin, end)`` pairs, ``"same"``)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value),) * nd
    if isinstance(value, (list, tuple)) and len(value) == nd:
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
            return tuple(int(v) for v in value)
    return None


def _expand(value: Any, nd: int) -> Any:
    """ATen's ``expand_param_if_needed``: a one-entry list of ints stands for every spatial axis
    (``stride=(2,)`` on a 2-d layer is ``(2, 2)``); anything else is passed on as given, to be checked by
    tconv (a ``(begin, end)`` pair and ``"same"`` are not one int)."""
    if isinstance(value, (list, tuple)) and len(value) == 1 and nd > 1 and isinstance(value[0], (int, np.integer)):
        return (value[0],) * nd
    return value


def _recording() -> bool:
    """Whether PyTorch is recording a graph rather than computing (``torch.jit.trace``, ``torch.compile``,
    ``torch.export`` and the ONNX exporters built on them): they get PyTorch's own operators, the same
    function, so the graph is a plain PyTorch graph that saves and exports (tconv's NumPy kernels cannot
    be traced: a traced graph could not be saved, and export's fake tensors have no memory to read)."""
    return bool(torch.jit.is_tracing() or torch.compiler.is_compiling() or torch.compiler.is_exporting())


def _autocast(t: Any) -> Any:
    """A tensor as CPU autocast casts the operands of a ``conv_transpose`` (one of its lower-precision
    operators): floating point but float64 to the autocast dtype (bfloat16 by default)."""
    if t is not None and t.is_floating_point() and t.dtype != torch.float64:
        return t.to(torch.get_autocast_dtype("cpu"))
    return t


def _is_torch_padding(attribute: Any) -> bool:
    """Whether a layer's padding attribute is PyTorch's (one int per axis), not tconv's mode or pairs."""
    return isinstance(attribute, tuple) and all(isinstance(p, int) for p in attribute)


def _spatial_size(output_size: Any, nd: int) -> Any:
    """PyTorch's reading of ``output_size`` (``_ConvTransposeNd._output_padding`` in
    ``torch/nn/modules/conv.py``): a whole shape counts by its last ``nd`` entries."""
    if output_size is None or isinstance(output_size, int):
        return output_size
    size = tuple(int(v) for v in output_size)
    return size[-nd:] if len(size) > nd else size


def conv_transpose(
    input: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    output_size: int | Sequence[int] | None = None,
    algorithm: str = "auto",
    backward_algorithm: str = "auto",
    fallback: bool = True,
    _prepared: Any = None,
) -> torch.Tensor:
    """``F.conv_transpose{1,2,3}d`` for torch tensors, any number of axes, differentiable, computed by tconv.

    Parameters
    ----------
    input, weight, bias : torch.Tensor
        As for ``torch.nn.functional.conv_transpose2d`` (same positional order,
        ``groups`` before ``dilation``); the number of spatial axes is
        ``weight.dim() - 2``.
    stride, padding, output_padding, groups, dilation, output_size
        As for :func:`tconv.conv_transpose`: ``padding`` may also be ``(begin,
        end)`` pairs or ``"same"``/``"valid"``, and ``output_size`` (the spatial
        size or the whole shape) replaces ``output_padding``.
    algorithm : str
        Forward algorithm, ``"auto"`` or one of :func:`tconv.algorithms`.
    backward_algorithm : str
        Algorithm of the input gradient, ``"auto"`` or one of ``tconv.algorithms("conv")``.
    fallback : bool
        What to do with tensors tconv does not compute (:func:`uses_tconv`):
        use PyTorch's implementation (True) or raise ``TypeError`` (False).

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(1, 2, 4, 4, dtype=torch.float64, requires_grad=True)
    >>> w = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    >>> y = conv_transpose(x, w, stride=2, padding="same")          # TensorFlow's "same": 4*2
    >>> y.shape
    torch.Size([1, 3, 8, 8])
    >>> torch.autograd.gradcheck(lambda a, b: conv_transpose(a, b, stride=2, padding="same"), (x, w))
    True
    """
    check_algorithms(algorithm, backward_algorithm)
    # a module's prepared weight: its forward found the call not recorded, not under autocast, of
    # tensors tconv computes, and expanded the arguments (not asked again: ~10 us of a 1-element call)
    prepared = _prepared is not None
    recording = not prepared and _recording()
    if not recording:  # (a graph records PyTorch's own call, which makes its own checks)
        _check_input(input, weight)
    nd = weight.dim() - 2
    if not prepared:
        stride, padding, output_padding, dilation = (
            _expand(v, nd) for v in (stride, padding, output_padding, dilation)
        )
        if input.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            input, weight, bias = _autocast(input), _autocast(weight), _autocast(bias)
    layout = _layout(input, weight)
    params = _Params(
        stride, padding, output_padding, groups, dilation, output_size, algorithm, backward_algorithm, layout, _prepared
    )
    try:
        if recording:
            return _torch_fallback(input, weight, bias, params)
        if prepared or uses_tconv(input, weight, bias):
            return _ConvTransposeFunction.apply(input, weight, bias, params)
        if not fallback:
            tensors = ", ".join(
                f"{name} on {t.device} of dtype {t.dtype}"
                for name, t in (("input", input), ("weight", weight), ("bias", bias))
                if t is not None
            )
            raise TypeError(
                "tconv.torch computes dense CPU tensors that share one dtype among "
                f"{', '.join(str(d).replace('torch.', '') for d in COMPUTED_DTYPES)}; got {tensors} "
                "(pass fallback=True to use PyTorch's implementation for these)"
            )
        return _torch_fallback(input, weight, bias, params)
    except ValueError as error:  # tconv's checks of the arguments: PyTorch's functional raises RuntimeError
        raise RuntimeError(f"tconv.torch.conv_transpose: {error}") from error


def _check_input(input: torch.Tensor, weight: torch.Tensor) -> None:
    """PyTorch's refusals of an input of the wrong rank and of an empty spatial axis, as ``RuntimeError``."""
    nd = weight.dim() - 2
    if nd >= 1 and input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(
            f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to conv_transpose{nd}d, but got input of "
            f"size: {list(input.shape)}"
        )
    if nd >= 1 and 0 in input.shape[-nd:]:
        shape = list(input.shape) if input.dim() == nd + 2 else [1, *input.shape]
        raise RuntimeError(f"Only zero batch or zero channel inputs are supported, but got input shape: {shape}")


class _DropIn:
    """What tconv's modules change in ``torch.nn.ConvTranspose*d``: the padding forms and ``forward``.

    A mixin: each class below also derives from PyTorch's module, which sets the
    attributes annotated here (``padding`` is ``Any`` because tconv's also holds
    ``(begin, end)`` pairs, which PyTorch's annotation has no room for).
    """

    _ndim: int
    weight: torch.Tensor
    bias: torch.Tensor | None
    stride: tuple[int, ...]
    padding: Any
    output_padding: tuple[int, ...]
    groups: int
    dilation: tuple[int, ...]
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"]

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: PaddingArg = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        *,
        algorithm: str = "auto",
        backward_algorithm: str = "auto",
        fallback: bool = True,
    ) -> None:
        check_algorithms(algorithm, backward_algorithm)
        expanded = _expand(padding, self._ndim)
        attribute = padding_attribute(expanded, self._ndim)  # validates; ints where PyTorch has them
        if expanded is not padding:  # one int for every axis: kept as given, as PyTorch keeps it
            attribute = tuple(padding)  # type: ignore[arg-type,assignment]  # one int, as _expand found
        torch_padding = attribute if _is_torch_padding(attribute) else 0
        super().__init__(  # type: ignore[call-arg]  # the next class in the MRO is PyTorch's module, not object
            in_channels,
            out_channels,
            kernel_size,
            stride,
            torch_padding,
            output_padding,
            groups,
            bias,
            dilation,
            padding_mode,
            device,
            dtype,
        )
        self.padding = attribute
        self.algorithm = algorithm
        self.backward_algorithm = backward_algorithm
        self.fallback = fallback

    def forward(self, input: torch.Tensor, output_size: Sequence[int] | None = None) -> torch.Tensor:
        """PyTorch's ``forward``: ``output_size`` (spatial or whole shape) overrides ``output_padding``.

        With PyTorch's padding the output padding comes from PyTorch's own
        ``_output_padding`` (its valid sizes and its ``ValueError``); with tconv's
        (``"same"``, ``"valid"``, pairs) from tconv's window for that size.
        """
        if self.padding_mode != "zeros":  # PyTorch's check, in its forward too (the attribute can change)
            raise ValueError(f"Only `zeros` padding mode is supported for {type(self).__name__}")
        # the weight read once: a parametrized weight (spectral_norm) is computed anew on every read, so
        # the plan, the product and the tensor saved for the gradients must all come from one read
        weight = self.weight
        nd = self._ndim
        stride, padding, output_padding, dilation = (
            _expand(v, nd) for v in (self.stride, self.padding, self.output_padding, self.dilation)
        )
        if output_size is not None and _is_torch_padding(padding):
            output_padding = tuple(
                self._output_padding(  # type: ignore[attr-defined]  # PyTorch's module is next in the MRO
                    input,
                    list(output_size),
                    list(stride),
                    list(padding),
                    list(weight.shape[2:]),
                    nd,
                    list(dilation),
                )
            )
        elif output_size is not None:
            geometry = conv_transpose_geometry(
                tuple(input.shape[-nd:]),
                tuple(weight.shape[2:]),
                stride,
                padding,
                0,
                dilation,
                output_size=_spatial_size(output_size, nd),
            )
            padding, output_padding = geometry.padding_pairs, (0,) * nd
        plan = None
        if torch.is_grad_enabled() and weight.requires_grad:
            # Training the weight: no plan, and none kept. An optimizer changes the weight in place at
            # every step, so a plan would be made anew at every forward (a copy of the weight, its
            # packing, the call's planning), and an unchanged weight costs a comparison with the
            # plan's copy; the plain call packs the weight it is given (and makes the checks below
            # itself, once). Measured (forward, backward and an SGD step, two threads, in one
            # process): DCGAN's projection 3.75 -> 3.03 ms, FCN's x2 up-scoring 1.76 -> 1.55, HiFi-GAN's
            # first layer 46.8 -> 44.4, five other layers within noise. Without the optimizer's step
            # (the benchmark's, whose weight never changes): dcgan-project and unet-1024 faster, dcgan-3
            # 1.04x slower (its Winograd transform is made every step), the rest within noise
            # (docs/performance.md#training-steps-forward--backward).
            if getattr(self, "_plan", None) is not None and not _recording():
                self._plan: Any = None
                self._plan_key: Any = None
        elif (
            output_size is None
            and not _recording()
            and not torch.is_autocast_enabled("cpu")
            and uses_tconv(input, weight, self.bias)
            and not _transformed(input, weight, self.bias)  # torch.func: its Functions' rules, no plan
        ):
            try:
                plan = self._prepared(_layout(input, weight), weight, (stride, padding, output_padding, dilation))
            except ValueError as error:  # as conv_transpose reports tconv's checks: PyTorch's RuntimeError
                raise RuntimeError(f"tconv.torch.{type(self).__name__}: {error}") from error
        return conv_transpose(
            input,
            weight,
            self.bias,
            stride,
            padding,
            output_padding,
            self.groups,
            dilation,
            algorithm=self.algorithm,
            backward_algorithm=self.backward_algorithm,
            fallback=self.fallback,
            _prepared=plan,
        )

    def __getstate__(self) -> dict[str, Any]:
        """The module's state for ``pickle`` and ``torch.save`` of a whole module, without its prepared
        weight: the plan's calls are local functions, which cannot be pickled (it is made again by the
        next forward)."""
        state = super().__getstate__()  # type: ignore[misc]  # PyTorch's module is next in the MRO
        return {key: value for key, value in state.items() if key not in ("_plan", "_plan_key")}

    def _get_name(self) -> str:
        """``tconv.torch.ConvTranspose2d`` in a printed model (PyTorch's repr prints this name, then the arguments)."""
        cls = type(self)
        return f"tconv.torch.{cls.__name__}" if cls.__module__ == __name__ else cls.__name__

    def _prepared(self, layout: Layout, w: torch.Tensor, geometry: tuple[Any, Any, Any, Any]) -> Any:
        """The module's prepared weight (:func:`tconv.prepare`) for a forward that does not train the
        weight (``torch.no_grad()``, ``torch.inference_mode()``, a frozen weight), made anew when the
        weight tensor changes:
        PyTorch counts most in-place changes of a tensor (``_version``: an optimizer step,
        ``load_state_dict``, ``copy_``), and a new tensor has a new address or version; a change through
        ``weight.data`` (``m.weight.data.normal_()``, common in initialisation code) is not counted, so
        the values are compared with the plan's own copy as well (:meth:`tconv.prepared.Prepared.holds`:
        ~1 ms for an 8 MiB weight). ``w`` is the weight as ``forward`` read it (once), ``geometry`` its
        ``(stride, padding, output_padding, dilation)`` as ``forward`` expanded them."""
        stride, padding, output_padding, dilation = geometry
        key = (
            w.data_ptr(),
            w._version,
            w.dtype,
            tuple(w.shape),
            tuple(w.stride()),
            stride,
            padding,
            output_padding,
            self.groups,
            dilation,
            self.algorithm,
            layout,
        )
        kept: Any = getattr(self, "_plan", None)
        if getattr(self, "_plan_key", None) != key or not kept.holds(_numpy(w)):
            from .prepared import Prepared

            self._plan = Prepared(
                _numpy(w),
                stride,
                padding,
                output_padding,
                self.groups,
                dilation,
                layout=layout,
                algorithm=self.algorithm,
                reused=False,
            )
            self._plan_key = key
        return self._plan

    def extra_repr(self) -> str:
        """PyTorch's arguments, unchanged, then tconv's options that are not the defaults."""
        text = super().extra_repr()  # type: ignore[misc]  # PyTorch's module is next in the MRO
        for name in ("algorithm", "backward_algorithm"):
            if getattr(self, name) != "auto":
                text += f", {name}={getattr(self, name)!r}"
        if not self.fallback:
            text += ", fallback=False"
        return text


class ConvTranspose1d(_DropIn, torch.nn.ConvTranspose1d):
    """``torch.nn.ConvTranspose1d`` computed by tconv (see the module docstring).

    Examples
    --------
    >>> import torch, tconv.torch
    >>> torch.manual_seed(0) and None
    >>> ours = tconv.torch.ConvTranspose1d(4, 2, kernel_size=16, stride=8, padding=4)   # a vocoder up-sampler
    >>> torch.manual_seed(0) and None
    >>> theirs = torch.nn.ConvTranspose1d(4, 2, kernel_size=16, stride=8, padding=4)
    >>> x = torch.randn(1, 4, 10)
    >>> torch.allclose(ours(x), theirs(x), atol=1e-5)
    True
    """

    _ndim = 1


class ConvTranspose2d(_DropIn, torch.nn.ConvTranspose2d):
    """``torch.nn.ConvTranspose2d`` computed by tconv (see the module docstring).

    Examples
    --------
    >>> import torch, tconv.torch
    >>> m = tconv.torch.ConvTranspose2d(8, 4, kernel_size=4, stride=2, padding=1)
    >>> isinstance(m, torch.nn.ConvTranspose2d), list(m.state_dict())
    (True, ['weight', 'bias'])
    >>> m(torch.randn(2, 8, 16, 16)).shape
    torch.Size([2, 4, 32, 32])
    >>> tconv.torch.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding="same")(torch.randn(2, 8, 5, 5)).shape
    torch.Size([2, 4, 10, 10])
    """

    _ndim = 2


class ConvTranspose3d(_DropIn, torch.nn.ConvTranspose3d):
    """``torch.nn.ConvTranspose3d`` computed by tconv (see the module docstring)."""

    _ndim = 3


def from_torch(module: torch.nn.Module, **options: Any) -> torch.nn.Module:
    """tconv's drop-in copy of a ``torch.nn.ConvTranspose{1,2,3}d``: same configuration, device, dtype and weights.

    ``options`` are tconv's extra keywords (``algorithm``, ``backward_algorithm``,
    ``fallback``). Useful to compare or time both implementations on one layer.

    Examples
    --------
    >>> import torch
    >>> theirs = torch.nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1)
    >>> ours = from_torch(theirs, algorithm="scatter")
    >>> x = torch.randn(1, 3, 5, 5)
    >>> torch.allclose(ours(x), theirs(x), atol=1e-5)
    True
    """
    if not isinstance(module, (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)):
        raise TypeError(f"from_torch expects a torch.nn.ConvTranspose1d/2d/3d, got {type(module).__name__}")
    ours = {1: ConvTranspose1d, 2: ConvTranspose2d, 3: ConvTranspose3d}[len(module.kernel_size)]
    weight = module.weight
    copy = ours(
        module.in_channels,
        module.out_channels,
        module.kernel_size,
        module.stride,
        module.padding,
        module.output_padding,
        module.groups,
        module.bias is not None,
        module.dilation,
        module.padding_mode,
        device=weight.device,
        dtype=weight.dtype,
        **options,
    )
    copy.load_state_dict(module.state_dict())
    return copy


def forward_backward(
    module: torch.nn.Module, input: torch.Tensor, grad_output: torch.Tensor | None = None
) -> torch.Tensor:
    """One forward and one backward pass of ``module`` (tconv's or PyTorch's), as one training step runs them.

    The gradient of the input is computed too (as inside a network) but not
    kept; ``grad_output`` defaults to ones. Returns the output; the parameter
    gradients accumulate in ``module``'s parameters' ``.grad``.

    Examples
    --------
    >>> import torch
    >>> m = ConvTranspose2d(2, 3, 4, stride=2, padding=1)
    >>> y = forward_backward(m, torch.randn(1, 2, 5, 5))
    >>> y.shape, m.weight.grad.shape
    (torch.Size([1, 3, 10, 10]), torch.Size([2, 3, 4, 4]))
    """
    x = input.detach().requires_grad_(True)
    y = module(x)
    y.backward(torch.ones_like(y) if grad_output is None else grad_output)
    return y
