"""Find the transposed convolutions of a PyTorch module by running it once with forward hooks.

Every submodule that is a ``torch.nn.ConvTranspose{1,2,3}d`` (subclasses and
materialized ``LazyConvTranspose*d`` included) gets a forward pre-hook that records the
input shape and the ``output_size`` passed to ``forward``; one call on the example input
fills them in. Calls of ``F.conv_transpose*d`` outside such modules are not seen; a
module that runs twice is audited at its first call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._layer import Layer

__all__ = ["read_torch"]


def read_torch(module: Any, example_input: Any) -> list[Layer]:
    """The transposed convolutions ``module`` runs on ``example_input`` (a tensor, or a tuple of arguments)."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    kinds = (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d, torch.nn.ConvTranspose3d)
    seen: dict[str, dict[str, Any]] = {}
    handles = []

    def hook(name: str):  # noqa: ANN202
        def record(layer: Any, args: tuple, kwargs: dict) -> None:
            if name in seen:
                return
            output_size = kwargs.get("output_size", args[1] if len(args) > 1 else None)
            seen[name] = {"input_shape": tuple(args[0].shape), "output_size": output_size}

        return record

    for name, layer in module.named_modules():
        if isinstance(layer, kinds):
            handles.append(layer.register_forward_pre_hook(hook(name or type(layer).__name__), with_kwargs=True))
    if not handles:
        return []
    arguments = example_input if isinstance(example_input, tuple) else (example_input,)
    try:
        with torch.no_grad():
            module(*arguments)
    finally:
        for handle in handles:
            handle.remove()
    layers = []
    for name, layer in module.named_modules():
        key = name or type(layer).__name__
        if not isinstance(layer, kinds) or key not in seen:
            continue
        call = seen[key]
        if layer.padding_mode != "zeros":
            raise ValueError(f"{key}: padding_mode={layer.padding_mode!r} (PyTorch supports only 'zeros')")
        params: dict[str, Any] = {
            "stride": tuple(layer.stride),
            "padding": tuple(layer.padding),
            "output_padding": tuple(layer.output_padding),
            "groups": layer.groups,
            "dilation": tuple(layer.dilation),
        }
        nd = len(layer.kernel_size)
        input_shape = call["input_shape"]
        if len(input_shape) == nd + 1:  # unbatched
            input_shape = (1, *input_shape)
        if call["output_size"] is not None:
            params["output_size"] = tuple(int(v) for v in call["output_size"])[-nd:]
        weight = layer.weight.detach().cpu().numpy()
        bias = None if layer.bias is None else layer.bias.detach().cpu().numpy()
        layers.append(
            Layer(
                name=key,
                framework="torch",
                op=type(layer).__name__,
                params=params,
                weight_shape=tuple(weight.shape),
                weight=np.asarray(weight),
                bias=None if bias is None else np.asarray(bias),
                input_shape=tuple(int(v) for v in input_shape),
                static=True,
                context={"module": layer},
            )
        )
    return layers
