"""PyTorch's ONNX exporter (``torch.onnx.export``): what the ``ConvTranspose`` node it writes holds.

Both exporters (``dynamo=False``, the TorchScript one, and ``dynamo=True``, torch 2.13's
default) write ``pads = padding + padding`` and ``output_padding``, and never
``output_size``: a ``forward(input, output_size=...)`` call is exported as the
``output_padding`` it resolved to for the traced input size (FRAMEWORKS.md §1.7).
"""

from __future__ import annotations

from ...frameworks import torch as torch_rules
from . import KnownIssue, LayerFacts

__all__ = ["ENTRIES"]


def _output_size(facts: LayerFacts) -> tuple[str, str] | None:
    if "output_size" not in facts.params or facts.input_size is None:
        return None
    spec = facts.spec
    weight = facts.weight_shape
    a = torch_rules.module_output_padding(
        (1, weight[0], *facts.input_size),
        facts.params["output_size"],
        spec.kernel_size,
        facts.params.get("stride", 1),
        facts.params.get("padding", 0),
        facts.params.get("dilation", 1),
    )
    return (
        f"forward(output_size={facts.params['output_size']}) is exported as output_padding={list(a)}, right for "
        f"input size {facts.input_size} only: at other sizes the ONNX model's output size is not the one output_size "
        "asks for",
        "export at every input size you run, or compute the output size in the graph (crop/pad a fixed "
        "ConvTranspose to the size of the skip connection)",
    )


ENTRIES = [
    KnownIssue(
        key="torch-onnx-output-size",
        tool="torch",
        reads="torch",
        condition="forward(input, output_size=...) (U-Net decoders sized to their skip connection)",
        effect="differs",
        what="torch.onnx.export bakes the output_padding of the traced size into the node",
        source="pytorch torch/onnx/symbolic_opset9.py (_convolution); onnx/onnx#1772 (no dynamic output_shape)",
        evidence="observed: tests/audit/test_known_torch.py::test_output_size_is_baked_at_export",
        rule=_output_size,
    ),
]
