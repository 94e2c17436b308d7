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
among float16, float32, float64, complex64 and complex128 (the dtypes NumPy has).
Anything else — CUDA/MPS/meta tensors, bfloat16, integer tensors, mixed dtypes —
**falls back to PyTorch's own implementation** (``fallback=True``, the default),
so a model moved to the GPU keeps working and gives the same results: PyTorch's
own call where it can express the window, else its full output (``padding=0``) cut
to the same window with ``F.pad``, so even ``"same"`` and ``(begin, end)`` pairs work
there, and PyTorch reports its own errors (for example for mixed dtypes). With
``fallback=False`` such a call raises a ``TypeError`` instead.
:func:`uses_tconv` tells which path a call takes.

Limits: the backward pass is not itself differentiable (``once_differentiable``:
no double backward through the tconv path), ``torch.func`` transforms (``vmap``,
``jacrev``) do not apply to it, and ``torch.compile`` runs it as opaque Python
(with graph breaks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import missing_dependency

try:
    import torch
    from torch.autograd.function import once_differentiable
except ImportError as error:  # one line with the install hint, not a bare ModuleNotFoundError
    raise missing_dependency("torch", "tconv.torch") from error

from ._layers import check_algorithms, padding_attribute
from .geometry import PaddingArg, conv_transpose_geometry
from .grad import conv_transpose_backward
from .ops import conv_transpose as _conv_transpose_numpy

__all__ = [
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "NUMPY_DTYPES",
    "conv_transpose",
    "forward_backward",
    "from_torch",
    "uses_tconv",
]

#: The torch dtypes tconv computes (the others fall back to PyTorch).
NUMPY_DTYPES = (torch.float16, torch.float32, torch.float64, torch.complex64, torch.complex128)


def uses_tconv(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> bool:
    """Whether :func:`conv_transpose` computes these tensors with tconv (else PyTorch does).

    Examples
    --------
    >>> import torch
    >>> uses_tconv(torch.ones(1, 2, 3), torch.ones(2, 1, 2))
    True
    >>> uses_tconv(torch.ones(1, 2, 3, dtype=torch.bfloat16), torch.ones(2, 1, 2, dtype=torch.bfloat16))
    False
    """
    tensors = [t for t in (input, weight, bias) if t is not None]
    return (
        len({t.dtype for t in tensors}) == 1
        and tensors[0].dtype in NUMPY_DTYPES
        and all(t.device.type == "cpu" and t.layout == torch.strided for t in tensors)
    )


@dataclass(frozen=True)
class _Params:
    """The non-tensor arguments of one call."""

    stride: Any
    padding: Any
    output_padding: Any
    groups: int
    dilation: Any
    output_size: Any
    algorithm: str
    backward_algorithm: str

    def kwargs(self) -> dict[str, Any]:
        """The keywords of :func:`tconv.conv_transpose` and its backward besides the algorithm."""
        names = ("stride", "padding", "output_padding", "groups", "dilation", "output_size")
        return {name: getattr(self, name) for name in names}


def _numpy(t: torch.Tensor | None) -> np.ndarray | None:
    """The tensor's memory as a NumPy array (lazy conjugation and negation resolved)."""
    return None if t is None else t.detach().resolve_conj().resolve_neg().numpy()


def _tensor(a: np.ndarray | None) -> torch.Tensor | None:
    return None if a is None else torch.from_numpy(np.ascontiguousarray(a))


class _ConvTransposeFunction(torch.autograd.Function):
    """Forward: :func:`tconv.conv_transpose`; backward: :func:`tconv.conv_transpose_backward`."""

    @staticmethod
    def forward(ctx, input, weight, bias, params):
        y = _conv_transpose_numpy(
            _numpy(input), _numpy(weight), _numpy(bias), **params.kwargs(), algorithm=params.algorithm
        )
        ctx.save_for_backward(input, weight)
        ctx.params = params
        return _tensor(y)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        needs = [name for name, need in zip(("input", "weight", "bias"), ctx.needs_input_grad[:3]) if need]
        if not needs:
            return None, None, None, None
        grads = conv_transpose_backward(
            _numpy(grad_output),
            _numpy(input),
            _numpy(weight),
            **ctx.params.kwargs(),
            algorithm=ctx.params.backward_algorithm,
            needs=needs,
        )
        return _tensor(grads.input), _tensor(grads.weight), _tensor(grads.bias), None


def _torch_fallback(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, params: _Params):
    """PyTorch's own implementation: its own call when it can express the window, else its full output
    (padding 0), then tconv's window of it (``F.pad``), then the bias."""
    nd = weight.dim() - 2
    if nd not in (1, 2, 3):
        raise TypeError(f"tconv.torch: PyTorch has no {nd}-d transposed convolution to fall back to")
    functional = getattr(torch.nn.functional, f"conv_transpose{nd}d")
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
    if all(b >= 0 and 0 <= a < max(s, d) for b, a, s, d in zip(crop, extra, geometry.stride, geometry.dilation)):
        # a window PyTorch can express: its own call, rounding included
        return functional(input, weight, bias, geometry.stride, crop, extra, params.groups, geometry.dilation)
    full = functional(input, weight, None, geometry.stride, 0, 0, params.groups, geometry.dilation)
    pads: list[int] = []
    for begin, end in reversed(geometry.padding_pairs):
        pads += [-begin, -end]  # F.pad: negative amounts crop, positive ones append zeros
    y = torch.nn.functional.pad(full, pads)
    if bias is not None:
        y = y + bias.reshape(-1, *(1,) * nd)
    return y


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
    params = _Params(stride, padding, output_padding, groups, dilation, output_size, algorithm, backward_algorithm)
    if uses_tconv(input, weight, bias):
        return _ConvTransposeFunction.apply(input, weight, bias, params)
    if not fallback:
        tensors = ", ".join(
            f"{name} on {t.device} of dtype {t.dtype}"
            for name, t in (("input", input), ("weight", weight), ("bias", bias))
            if t is not None
        )
        raise TypeError(
            "tconv.torch computes dense CPU tensors that share one dtype among "
            f"{', '.join(str(d).replace('torch.', '') for d in NUMPY_DTYPES)}; got {tensors} "
            "(pass fallback=True to use PyTorch's implementation for these)"
        )
    return _torch_fallback(input, weight, bias, params)


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
        attribute = padding_attribute(padding, self._ndim)  # validates; ints where PyTorch has them
        torch_padding = attribute if isinstance(attribute, tuple) and all(isinstance(p, int) for p in attribute) else 0
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
        """PyTorch's ``forward``: ``output_size`` (spatial or whole shape) overrides ``output_padding``."""
        return conv_transpose(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.output_padding if output_size is None else 0,
            self.groups,
            self.dilation,
            output_size=output_size,
            algorithm=self.algorithm,
            backward_algorithm=self.backward_algorithm,
            fallback=self.fallback,
        )

    def extra_repr(self) -> str:
        text = super().extra_repr()  # type: ignore[misc]  # PyTorch's module is next in the MRO
        for name in ("algorithm", "backward_algorithm"):
            if getattr(self, name) != "auto":
                text += f", {name}={getattr(self, name)!r}"
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
