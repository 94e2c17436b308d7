"""A NumPy transposed-convolution layer that trains, and the two optimizers to train it.

:class:`ConvTranspose` is ``torch.nn.ConvTranspose{1,2,3}d`` for any number of
spatial axes, in NumPy: the same constructor arguments, attributes, default
initialisation and ``state_dict``, with an explicit :meth:`~ConvTranspose.backward`
(the gradients of :mod:`tconv.grad`) that *accumulates* parameter gradients as
PyTorch's ``.grad`` does. :class:`SGD` and :class:`Adam` follow ``torch.optim``
update for update.

A training step::

    y = layer(x)                                  # forward, saves x
    loss, dy = tconv.nn.mse_loss(y, target)
    layer.zero_grad()
    layer.backward(dy)                            # -> dL/dx; fills layer.weight_grad, layer.bias_grad
    optimizer.step()                              # updates layer.weight, layer.bias in place

Weights exchange with PyTorch through the state dict, in both directions::

    layer.load_state_dict(torch_module.state_dict())
    torch_module.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import init as _init
from ._layers import check_algorithms, padding_attribute
from ._validate import (
    check_bool,
    check_layout,
    check_ndim,
    floating_dtype,
    is_int,
    numeric_array,
    positive_int,
    real_number,
    show,
)
from .geometry import PaddingArg, window_arguments
from .grad import conv_transpose_backward
from .ops import conv_transpose
from .prepared import Prepared

__all__ = ["Adam", "ConvTranspose", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "SGD", "mse_loss"]


class ConvTranspose:
    """N-d transposed convolution layer with learnable weight and bias (NumPy).

    Parameters
    ----------
    in_channels, out_channels : int
        Both divisible by ``groups``.
    kernel_size : int or sequence of int
        A sequence sets the number of spatial axes; with an int, pass ``ndim``
        (or use :class:`ConvTranspose1d`/``2d``/``3d``).
    stride, padding, output_padding, groups, bias, dilation
        As for ``torch.nn.ConvTranspose*d`` (same positional order), with
        everything :func:`tconv.conv_transpose` adds: ``padding`` may also be
        ``(begin, end)`` pairs per axis or ``"same"``/``"valid"``.
    ndim : int, optional
        Number of spatial axes, when ``kernel_size`` is an int (:class:`ConvTranspose1d`,
        ``2d`` and ``3d`` fix it and take no ``ndim``).
    layout : {"channels_first", "channels_last"}
        Layout of the data passed to :meth:`forward` and :meth:`backward`.
    algorithm : str
        Forward algorithm, ``"auto"`` or one of :func:`tconv.algorithms`.
    backward_algorithm : str
        Algorithm of the input gradient (a convolution): ``"auto"`` or one of
        ``tconv.algorithms("conv")``.
    dtype : dtype
        Of the parameters; float32 as in PyTorch.
    rng : None, int or numpy.random.Generator
        Seed of the default initialisation.

    Attributes
    ----------
    weight : ndarray, shape (in_channels, out_channels/groups, *kernel_size)
        Initialised as PyTorch does (:func:`tconv.init.torch_default`). Assign a
        new array of the same shape to re-initialise (for example
        ``tconv.init.bilinear(layer.weight.shape, layer.stride)``).
    bias : ndarray, shape (out_channels,), or None
    weight_grad, bias_grad : ndarray or None
        Accumulated gradients (``None`` until the first :meth:`backward` and
        after :meth:`zero_grad`), like PyTorch's ``.grad``.
    kernel_size, stride, output_padding, dilation : tuple of int
    padding : tuple of int, tuple of (begin, end) pairs, or str

    Notes
    -----
    :meth:`forward` keeps a copy of its input and of the weight it used;
    :meth:`backward` consumes them, so each forward pairs with one backward (a
    second backward without a new forward raises), and updating the weight in
    between does not change the gradients of that step.

    Examples
    --------
    >>> import numpy as np, tconv
    >>> layer = tconv.nn.ConvTranspose(3, 8, kernel_size=(4, 4), stride=2, padding=1, rng=0)
    >>> layer
    ConvTranspose(3, 8, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
    >>> x = np.ones((2, 3, 5, 5), np.float32)
    >>> y = layer(x)
    >>> y.shape, y.dtype
    ((2, 8, 10, 10), dtype('float32'))
    >>> dx = layer.backward(np.ones_like(y))
    >>> dx.shape, layer.weight_grad.shape, layer.bias_grad.shape
    ((2, 3, 5, 5), (3, 8, 4, 4), (8,))
    >>> float(layer.bias_grad[0])                   # d sum(y) / d bias = N*H*W
    200.0
    """

    #: The number of spatial axes of ConvTranspose1d/2d/3d (here: from ``kernel_size`` or ``ndim``).
    _fixed_ndim: int | None = None

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
        *,
        ndim: int | None = None,
        layout: str = "channels_first",
        algorithm: str = "auto",
        backward_algorithm: str = "auto",
        dtype: Any = np.float32,
        rng: Any = None,
    ) -> None:
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        self.groups = positive_int(groups, "groups")
        if self.in_channels % self.groups:
            raise ValueError(f"in_channels must be divisible by groups, got in_channels={in_channels}, groups={groups}")
        if self.out_channels % self.groups:
            raise ValueError(
                f"out_channels must be divisible by groups, got out_channels={out_channels}, groups={groups}"
            )
        self.ndim = nd = self._spatial_axes(kernel_size, ndim)
        # the geometry's size-free rules, checked when the layer is built (it has no input size yet)
        window = window_arguments(nd, kernel_size, stride, padding, output_padding, dilation)
        self.kernel_size, self.stride, self.dilation = window.kernel_size, window.stride, window.dilation
        self.output_padding = window.output_padding
        self.padding = padding_attribute(padding, nd)
        self.layout = check_layout(layout)
        check_algorithms(algorithm, backward_algorithm)
        self.algorithm = algorithm
        self.backward_algorithm = backward_algorithm
        bias = check_bool(bias, "bias")
        shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        dtype = floating_dtype(dtype)  # an integer weight would round every update away
        try:
            self.weight, self.bias = _init.torch_default(shape, bias, groups=self.groups, rng=rng, dtype=dtype)
        except ValueError as error:  # the weight's size (all else is checked above): name the layer's arguments
            raise ValueError(
                f"{type(self).__name__}(in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"kernel_size={show(self.kernel_size)}): {error}"
            ) from None
        self.weight_grad: np.ndarray | None = None
        self.bias_grad: np.ndarray | None = None
        self._saved: tuple[np.ndarray, np.ndarray, int | Sequence[int] | None] | None = None

    def _spatial_axes(self, kernel_size: object, ndim: object) -> int:
        """The number of spatial axes: fixed by the class, given by ``ndim``, or the entries of ``kernel_size``."""
        name = type(self).__name__
        if self._fixed_ndim is not None:
            if ndim is not None:
                raise TypeError(f"{name} has {self._fixed_ndim} spatial axes and takes no ndim= (ConvTranspose does)")
            ndim = self._fixed_ndim
        if is_int(kernel_size):
            if ndim is None:
                raise ValueError(
                    f"{name}: kernel_size={kernel_size} is one int, so pass ndim= (the number of spatial axes), "
                    f"a kernel_size per axis, or use ConvTranspose1d/2d/3d"
                )
            return check_ndim(ndim)
        if not isinstance(kernel_size, Sequence) or isinstance(kernel_size, (str, bytes)):
            raise TypeError(f"kernel_size must be an int or a sequence of ints, got {show(kernel_size)}")
        if not kernel_size:
            raise ValueError(
                f"kernel_size must have one entry per spatial axis (at least one), got {show(kernel_size)}"
            )
        if ndim is not None and check_ndim(ndim) != len(kernel_size):
            raise ValueError(
                f"ndim={ndim} differs from the {len(kernel_size)} entries of kernel_size={show(kernel_size)}"
            )
        return len(kernel_size)

    # ------------------------------------------------------------------ computing

    def _kwargs(self) -> dict[str, Any]:
        return dict(
            stride=self.stride, padding=self.padding, groups=self.groups, dilation=self.dilation, layout=self.layout
        )

    def forward(self, input: Any, output_size: int | Sequence[int] | None = None) -> np.ndarray:
        """The layer's output; ``output_size`` as for PyTorch's module (it overrides ``output_padding``).

        Parameters
        ----------
        input : array_like, shape (N, C_in, *i) or unbatched (C_in, *i)
            ``(N, *i, C_in)`` with ``layout="channels_last"``.
        output_size : sequence of int, optional
            The spatial output size, or the whole output shape.
        """
        x = np.array(numeric_array(input, "input"), copy=True)  # saved for backward: later changes must not leak in
        if output_size is None:  # the prepared weight (packed once, kept while the weight is unchanged)
            plan = self._prepared()
            self._saved = (x, plan.weight, None)  # the plan's own copy of the weight
            return plan(x, self.bias)
        y = conv_transpose(
            x, self.weight, self.bias, output_size=output_size, algorithm=self.algorithm, **self._kwargs()
        )
        self._saved = (x, self.weight.copy(), output_size)
        return y

    def _prepared(self) -> Prepared:
        """The layer's prepared call (:func:`tconv.prepare`), made anew when the weight has changed
        (an optimizer step, an assignment, ``load_state_dict``): compared with the plan's own copy."""
        plan: Prepared | None = getattr(self, "_plan", None)
        w = self.weight
        key = (self.stride, self.padding, self.output_padding, self.groups, self.dilation, self.layout, self.algorithm)
        if plan is None or getattr(self, "_plan_key", None) != key or not plan.holds(w):
            plan = Prepared(
                w,
                self.stride,
                self.padding,
                self.output_padding,
                self.groups,
                self.dilation,
                layout=self.layout,  # type: ignore[arg-type]
                algorithm=self.algorithm,
                reused=False,
            )
            self._plan, self._plan_key = plan, key
        return plan

    __call__ = forward

    def backward(self, grad_output: Any, *, input_grad: bool = True) -> np.ndarray | None:
        """Accumulate the parameter gradients of the last :meth:`forward` and return ``dL/dinput``.

        Parameters
        ----------
        grad_output : array_like, shape of the last output
            ``dL/dy`` for a loss ``L``.
        input_grad : bool
            Whether to compute and return ``dL/dinput`` (skip it for a first layer).

        Returns
        -------
        ndarray or None
            ``dL/dinput``, shaped and laid out as the input.
        """
        if self._saved is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward: no saved input; call forward before backward "
                "(each backward consumes the input saved by one forward)"
            )
        x, w, output_size = self._saved
        needs = ["weight"] + ["input"] * input_grad + ["bias"] * (self.bias is not None)
        grads = conv_transpose_backward(
            grad_output,
            x,
            w,
            output_padding=self.output_padding if output_size is None else 0,
            output_size=output_size,
            algorithm=self.backward_algorithm,
            needs=needs,
            **self._kwargs(),
        )
        self._saved = None
        self.weight_grad = _accumulate(self.weight_grad, grads.weight, self.weight.dtype)
        if self.bias is not None:
            self.bias_grad = _accumulate(self.bias_grad, grads.bias, self.bias.dtype)
        return grads.input

    def zero_grad(self) -> None:
        """Forget the accumulated gradients (set them to ``None``, PyTorch's default)."""
        self.weight_grad = None
        self.bias_grad = None

    # ------------------------------------------------------------------ parameters

    def parameters(self) -> dict[str, np.ndarray]:
        """The live parameter arrays by name (``"weight"``, and ``"bias"`` when there is one)."""
        params = {"weight": self.weight}
        if self.bias is not None:
            params["bias"] = self.bias
        return params

    @property
    def grads(self) -> dict[str, np.ndarray | None]:
        """The accumulated gradients by parameter name."""
        return (
            {"weight": self.weight_grad, "bias": self.bias_grad}
            if self.bias is not None
            else {"weight": self.weight_grad}
        )

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters, under the keys ``torch.nn.ConvTranspose*d`` uses."""
        return {name: value.copy() for name, value in self.parameters().items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Copy parameters in, from this layer's or a ``torch.nn.ConvTranspose*d``'s ``state_dict``.

        Values may be NumPy arrays or (CPU) torch tensors; they are cast to the
        layer's dtype and copied into the existing arrays (so optimizers keep
        working). With ``strict=True`` the keys must match exactly.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: state_dict must be a mapping, got {type(state_dict).__name__}")
        own = self.parameters()
        missing = sorted(set(own) - set(state_dict))
        unexpected = sorted(map(str, set(state_dict) - set(own)))
        if strict and (missing or unexpected):
            raise ValueError(
                f"load_state_dict: the keys differ from this layer's {sorted(own)}: missing {missing}, "
                f"unexpected {unexpected}"
            )
        # every value is checked before any is copied: a bad entry leaves the layer as it was
        values = {name: self._loadable(name, state_dict[name], own[name]) for name in sorted(own.keys() & state_dict)}
        for name, value in values.items():
            own[name][...] = value

    @staticmethod
    def _loadable(name: str, value: Any, own: np.ndarray) -> np.ndarray:
        """``value`` (a NumPy array or a CPU torch tensor) as an array that fits ``own`` exactly, or an error."""
        if hasattr(value, "detach"):  # a torch tensor, without importing torch
            value = value.detach().cpu().numpy()
        array = numeric_array(value, f"load_state_dict: {name}") if not isinstance(value, np.ndarray) else value
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"load_state_dict: {name} must be a real numeric array (bool, integer or float) for this layer's "
                f"{own.dtype} {name}, got dtype {array.dtype}"
            )
        if array.shape != own.shape:
            raise ValueError(
                f"load_state_dict: {name} has shape {show(array.shape)} in the state dict, but this layer's "
                f"{name} has shape {show(own.shape)}"
            )
        return array

    def __repr__(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}", f"stride={self.stride}"]
        if self.padding != (0,) * self.ndim:
            parts.append(f"padding={self.padding!r}" if isinstance(self.padding, str) else f"padding={self.padding}")
        if any(self.output_padding):
            parts.append(f"output_padding={self.output_padding}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"dilation={self.dilation}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.layout != "channels_first":
            parts.append(f"layout={self.layout!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _accumulate(total: np.ndarray | None, grad: np.ndarray | None, dtype: np.dtype) -> np.ndarray:
    """``total + grad`` in ``dtype`` (``grad`` when there is no total yet); ``grad`` was asked for."""
    if grad is None:  # pragma: no cover - conv_transpose_backward returns what `needs` names
        raise RuntimeError("conv_transpose_backward returned no gradient for a parameter it was asked for")
    grad = grad.astype(dtype, copy=False)
    return grad.copy() if total is None else total + grad


class ConvTranspose1d(ConvTranspose):
    """1-d :class:`ConvTranspose` (``ndim=1``), like ``torch.nn.ConvTranspose1d``."""

    _fixed_ndim = 1


class ConvTranspose2d(ConvTranspose):
    """2-d :class:`ConvTranspose` (``ndim=2``), like ``torch.nn.ConvTranspose2d``."""

    _fixed_ndim = 2


class ConvTranspose3d(ConvTranspose):
    """3-d :class:`ConvTranspose` (``ndim=3``), like ``torch.nn.ConvTranspose3d``."""

    _fixed_ndim = 3


def mse_loss(prediction: Any, target: Any) -> tuple[float, np.ndarray]:
    """Mean squared error and its gradient: ``(mean((p - t)**2), 2*(p - t)/p.size)``.

    The mean of no values is NaN, as PyTorch's ``mse_loss`` and ``np.mean`` give it:
    empty arrays give ``(nan, an empty gradient)``.

    Examples
    --------
    >>> loss, grad = mse_loss(np.array([1.0, 3.0]), np.array([0.0, 0.0]))
    >>> loss, grad
    (5.0, array([1., 3.]))
    """
    p, t = numeric_array(prediction, "prediction"), numeric_array(target, "target")
    if p.shape != t.shape:
        raise ValueError(f"mse_loss: prediction has shape {show(p.shape)} but target has shape {show(t.shape)}")
    diff = p - t
    if diff.size == 0:
        # PyTorch's answer (loss nan, gradient empty), not an error: a training loop ported from PyTorch
        # that meets an empty batch behaves as it did there; NumPy would warn, and 2/size divide by zero
        return float("nan"), 2.0 * diff
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


# ---------------------------------------------------------------------------------------------- optimizers


class _Optimizer:
    def __init__(self, layers: Any, lr: float) -> None:
        self.layers = list(layers) if isinstance(layers, (list, tuple)) else [layers]
        for layer in self.layers:
            if not (hasattr(layer, "parameters") and hasattr(layer, "grads")):
                raise TypeError(
                    f"{type(self).__name__} optimizes layers with parameters() and grads "
                    f"(like tconv.nn.ConvTranspose), got {type(layer).__name__}"
                )
        self.lr = real_number(lr, "lr", minimum=0, strict=True)
        self.state: dict[tuple[int, str], dict[str, Any]] = {}

    def _pairs(self):
        for index, layer in enumerate(self.layers):
            grads = layer.grads
            for name, param in layer.parameters().items():
                if grads.get(name) is not None:
                    yield (index, name), param, grads[name]

    def zero_grad(self) -> None:
        """Zero the gradients of every layer."""
        for layer in self.layers:
            layer.zero_grad()


class SGD(_Optimizer):
    """Stochastic gradient descent with momentum, update for update ``torch.optim.SGD``.

    ``d = g + weight_decay*p``; with momentum ``buf = momentum*buf + d`` (``buf = d``
    at the first step) and ``d = buf`` (Nesterov: ``d + momentum*buf``);
    ``p -= lr*d``, in place.
    """

    def __init__(
        self, layers: Any, lr: float, momentum: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False
    ) -> None:
        super().__init__(layers, lr)
        momentum = real_number(momentum, "momentum", minimum=0)
        weight_decay = real_number(weight_decay, "weight_decay", minimum=0)
        nesterov = check_bool(nesterov, "nesterov")
        if nesterov and momentum == 0:
            raise ValueError("nesterov needs a positive momentum")
        self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for key, p, g in self._pairs():
            d = g + self.weight_decay * p if self.weight_decay else g
            if self.momentum:
                state = self.state.setdefault(key, {})
                buf = state.get("momentum_buffer")
                buf = np.array(d, copy=True) if buf is None else self.momentum * buf + d
                state["momentum_buffer"] = buf
                d = d + self.momentum * buf if self.nesterov else buf
            p -= (self.lr * d).astype(p.dtype, copy=False)


class Adam(_Optimizer):
    """Adam, update for update ``torch.optim.Adam`` (``amsgrad=False``).

    ``m = b1*m + (1 - b1)*g``, ``v = b2*v + (1 - b2)*g**2``,
    ``p -= lr/(1 - b1**t) * m / (sqrt(v)/sqrt(1 - b2**t) + eps)``, in place.
    """

    def __init__(
        self,
        layers: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(layers, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be two numbers in [0, 1), got {betas!r}")
        b1, b2 = (real_number(b, "betas", minimum=0) for b in betas)
        if not (b1 < 1 and b2 < 1):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        eps = real_number(eps, "eps", minimum=0, strict=True)
        weight_decay = real_number(weight_decay, "weight_decay", minimum=0)
        self.betas, self.eps, self.weight_decay = (b1, b2), eps, weight_decay

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        b1, b2 = self.betas
        for key, p, g in self._pairs():
            if self.weight_decay:
                g = g + self.weight_decay * p
            state = self.state.setdefault(key, {"step": 0, "m": np.zeros_like(p), "v": np.zeros_like(p)})
            state["step"] += 1
            t = state["step"]
            state["m"] = b1 * state["m"] + (1 - b1) * g
            state["v"] = b2 * state["v"] + (1 - b2) * g * g
            denom = np.sqrt(state["v"]) / math.sqrt(1 - b2**t) + self.eps
            p -= ((self.lr / (1 - b1**t)) * state["m"] / denom).astype(p.dtype, copy=False)
