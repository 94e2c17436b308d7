"""How the benchmark calls tconv and each peer (PyTorch, ONNX Runtime, JAX) on a :class:`Layer`.

Each runtime is created inside its own worker process (:mod:`tconv.benchmark._worker`)
with the number of threads it may use, and turns a layer and its arrays into a
call without arguments that returns the output as a NumPy array: the call that
is timed. Every peer computes PyTorch's semantics, written as a user of that peer
would write it (not through tconv's translations), so that checking its output
against tconv's checks both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..geometry import effective_kernel_size
from .layers import Layer

__all__ = ["PEERS", "PREPARED", "RUNTIMES", "Runtime"]

Call = Callable[[], np.ndarray]

#: The column of tconv's prepared call (:func:`tconv.prepare`), given where an algorithm name goes.
PREPARED = "prepared"


class Runtime:
    """One runtime, created in its worker process with ``threads`` threads."""

    def __init__(self, threads: int) -> None:
        self.threads = threads

    def prepare(self, layer: Layer, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, algorithm: str) -> Call:
        """The forward call of ``layer`` on these arrays (``algorithm``: tconv's, ignored by the peers)."""
        raise NotImplementedError

    def prepare_training(
        self, layer: Layer, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, algorithm: str
    ) -> Call:
        """One training step: forward, then input and weight gradients (only tconv and torch have it)."""
        raise NotImplementedError(f"{type(self).__name__.lower()} has no training step in this benchmark")

    def chosen(self, layer: Layer) -> str:
        """The algorithm ``"auto"`` runs for ``layer`` (only tconv chooses one)."""
        return ""


def _torch_module(layer: Layer, w: np.ndarray, b: np.ndarray | None) -> Any:
    """PyTorch's ``torch.nn.ConvTranspose{1,2,3}d`` of ``layer``, holding ``w`` and ``b``."""
    import torch

    module = getattr(torch.nn, f"ConvTranspose{len(layer.size)}d")(
        layer.c_in, layer.c_out, layer.kernel, bias=b is not None, dtype=getattr(torch, str(w.dtype)), **layer.kwargs()
    )
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(w))
        if b is not None:
            module.bias.copy_(torch.from_numpy(b))
    return module


def _training_step(module: Any, x: np.ndarray, seed: int = 1) -> Call:
    """A call doing forward + backward of a torch module; returns output, input and weight gradients."""
    import torch

    xt = torch.from_numpy(x)
    y_shape = module(xt[:1]).shape[1:]
    grad = torch.from_numpy(np.random.default_rng(seed).standard_normal((x.shape[0], *y_shape)).astype(x.dtype))

    def call() -> np.ndarray:
        module.zero_grad(set_to_none=True)
        xg = xt.detach().requires_grad_(True)
        y = module(xg)
        y.backward(grad)
        assert xg.grad is not None  # set by backward (xg requires grad)
        return np.concatenate([y.detach().numpy().ravel(), xg.grad.numpy().ravel(), module.weight.grad.numpy().ravel()])

    return call


class Tconv(Runtime):
    def __init__(self, threads: int) -> None:
        super().__init__(threads)
        import tconv

        self.tconv = tconv
        tconv.set_options(threads=threads)

    def prepare(self, layer, x, w, b, algorithm):
        """``tconv.conv_transpose`` (the weight checked and packed every call), or with ``algorithm=
        "prepared"`` the call of :func:`tconv.prepare`'s plan (packed once, like ONNX Runtime's session)."""
        tconv = self.tconv
        kwargs = layer.kwargs()
        if algorithm == PREPARED:
            plan = tconv.prepare(w, **kwargs)
            return lambda: plan(x, b)
        return lambda: tconv.conv_transpose(x, w, b, **kwargs, algorithm=algorithm)

    def prepare_training(self, layer, x, w, b, algorithm):
        """tconv's drop-in module (:func:`tconv.torch.from_torch`) through PyTorch's autograd."""
        import torch

        from ..torch import from_torch

        torch.set_num_threads(self.threads)
        # the modules prepare their weight when it is not trained, so "prepared" is the plain module here
        algorithm = "auto" if algorithm == PREPARED else algorithm
        return _training_step(from_torch(_torch_module(layer, w, b), algorithm=algorithm), x)

    def chosen(self, layer):
        from .. import _algorithms

        return _algorithms.choose(layer.geometry, layer.groups, layer.n, layer.c_in, layer.c_out)


class Torch(Runtime):
    def __init__(self, threads: int) -> None:
        super().__init__(threads)
        import torch

        torch.set_num_threads(threads)
        self.torch = torch

    def prepare(self, layer, x, w, b, algorithm):
        """``torch.nn.functional.conv_transpose{1,2,3}d`` under ``inference_mode``."""
        torch = self.torch
        f = getattr(torch.nn.functional, f"conv_transpose{len(layer.size)}d")
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        bt = None if b is None else torch.from_numpy(b)
        kwargs = layer.kwargs()

        def call():
            with torch.inference_mode():
                return f(xt, wt, bt, **kwargs).numpy()

        return call

    def prepare_training(self, layer, x, w, b, algorithm):
        return _training_step(_torch_module(layer, w, b), x)


class Onnxruntime(Runtime):
    def prepare(self, layer, x, w, b, algorithm):
        """A one-node ``ConvTranspose`` model on the CPU execution provider."""
        import onnx
        import onnxruntime
        from onnx import TensorProto, helper, numpy_helper

        elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}[x.dtype]
        inputs = ["X", "W"] + (["B"] if b is not None else [])
        node = helper.make_node(
            "ConvTranspose",
            inputs,
            ["Y"],
            kernel_shape=list(layer.kernel),
            strides=list(layer.stride),
            pads=list(layer.padding) * 2,
            output_padding=list(layer.output_padding),
            dilations=list(layer.dilation),
            group=layer.groups,
        )
        initializers = [numpy_helper.from_array(w, "W")] + ([numpy_helper.from_array(b, "B")] if b is not None else [])
        y_shape = [layer.n, layer.c_out, *layer.output_size]
        graph = helper.make_graph(
            [node],
            "convtranspose",
            [helper.make_tensor_value_info("X", elem, list(x.shape))],
            [helper.make_tensor_value_info("Y", elem, y_shape)],
            initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return lambda: session.run(None, {"X": x})[0]


class Jax(Runtime):
    def __init__(self, threads: int) -> None:
        super().__init__(threads)
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        self.jax = jax

    def prepare(self, layer, x, w, b, algorithm):
        """``lax.conv_general_dilated`` with PyTorch's semantics: lhs dilation = stride, flipped kernel."""
        jax = self.jax
        nd = len(layer.size)
        g = layer.groups
        cig, cog = layer.c_in // g, layer.c_out // g
        # (C_in, C_out/g, *k) -> (G, Cog, Cig, *k) -> (C_out, C_in/g, *k), spatially flipped: OIHW of the direct conv
        rhs = np.flip(
            w.reshape(g, cig, cog, *layer.kernel).swapaxes(1, 2).reshape(layer.c_out, cig, *layer.kernel),
            axis=tuple(range(2, 2 + nd)),
        ).copy()
        k_eff = map(effective_kernel_size, layer.kernel, layer.dilation)
        padding = [(ke - 1 - p, ke - 1 - p + op) for ke, p, op in zip(k_eff, layer.padding, layer.output_padding)]
        spatial = "DHW"[-nd:] if nd <= 3 else None
        dn = (f"NC{spatial}", f"OI{spatial}", f"NC{spatial}")
        xj, rj = jax.device_put(x), jax.device_put(rhs)
        bj = None if b is None else jax.device_put(b.reshape(1, -1, *(1,) * nd))

        @jax.jit
        def f(xv, rv, bv):
            y = jax.lax.conv_general_dilated(
                xv,
                rv,
                (1,) * nd,
                padding,
                lhs_dilation=layer.stride,
                rhs_dilation=layer.dilation,
                dimension_numbers=dn,
                feature_group_count=g,
            )
            return y if bv is None else y + bv

        return lambda: np.asarray(f(xj, rj, bj).block_until_ready())


#: Every runtime by name: tconv first, then the peers in report order.
RUNTIMES: dict[str, type[Runtime]] = {"tconv": Tconv, "torch": Torch, "onnxruntime": Onnxruntime, "jax": Jax}

#: Peer runtimes, in report order.
PEERS = tuple(name for name in RUNTIMES if name != "tconv")
