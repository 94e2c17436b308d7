"""onnx2torch (ONNX -> PyTorch): what its ``ConvTranspose`` converter does with each attribute.

Its converter (``onnx2torch/node_converters/conv.py``, 1.5.15) builds
``nn.ConvTranspose{n}d(padding=pads[:n], output_padding=output_padding, ...)``: symmetric
``pads`` and ``auto_pad="VALID"`` carry over exactly, ``output_shape`` is never read,
uneven ``pads`` and ``auto_pad=SAME_*`` raise ``NotImplementedError``, and the converter is
registered for opsets 1 and 11 only, so a model of opset >= 22 (where ``ConvTranspose``
changed version) has none.
"""

from __future__ import annotations

from ...frameworks import torch as torch_rules
from ...geometry import Geometry
from . import KnownIssue, LayerFacts
from .onnx import input_size, output_padding, pads_for, window

__all__ = ["ENTRIES", "converted_window"]


def _pads(facts: LayerFacts) -> list[int]:
    return list(facts.params.get("pads") or [0] * (2 * facts.ndim))


def converted_window(facts: LayerFacts) -> Geometry:
    """The window of the module onnx2torch builds (symmetric ``pads`` as PyTorch's ``padding``)."""
    spec = facts.spec
    p = _pads(facts)[: facts.ndim]
    return torch_rules.window(input_size(facts), spec.kernel_size, spec.stride, p, output_padding(facts), spec.dilation)


def _auto_pad(facts: LayerFacts) -> tuple[str, str] | None:
    auto_pad = facts.params.get("auto_pad", "NOTSET")
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        return None
    g = window(facts, "spec")
    pads = pads_for(facts, g)
    fix = f"rewrite the node with explicit pads={pads}"
    if pads is None or pads[: facts.ndim] != pads[facts.ndim :]:
        fix += " (uneven pads are refused too: convert a symmetric ConvTranspose and crop after it)"
    return f'NotImplementedError: "{auto_pad}" auto_pad is not implemented', fix


def _uneven(facts: LayerFacts) -> tuple[str, str] | None:
    p = _pads(facts)
    n = facts.ndim
    if facts.params.get("auto_pad", "NOTSET") != "NOTSET" or "output_shape" in facts.params or p[:n] == p[n:]:
        return None
    return (
        f"NotImplementedError: ConvTranspose with non symmetrical padding is not implemented (pads={p})",
        "convert with pads=min(begin, end) per axis and crop the rest after the module",
    )


def _output_shape(facts: LayerFacts) -> tuple[str, str] | None:
    if "output_shape" not in facts.params or facts.input_size is None:
        return None
    if facts.params.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER") or _uneven(facts):
        return None  # it raises first
    meant = window(facts, "spec")
    built = converted_window(facts)
    if built.output_size == meant.output_size and built.crop_begin == meant.crop_begin:
        return None
    return (
        f"output_shape {list(facts.params['output_shape'])} is ignored: the module computes {built.output_size} "
        f"cells starting at {built.crop_begin} of the full output, the node {meant.output_size} starting at "
        f"{meant.crop_begin}",
        "rewrite the node with explicit pads (tconv translate gives them) before converting",
    )


def _opset(facts: LayerFacts) -> tuple[str, str] | None:
    opset = facts.context.get("opset")
    if opset is None or opset < 22:
        return None
    return (
        f"NotImplementedError: Converter is not implemented (ConvTranspose, version=22) for this opset-{opset} model",
        "export the model with opset 21 or lower (ConvTranspose-11 is the same operator for float32)",
    )


_SOURCE = "onnx2torch node_converters/conv.py"

ENTRIES = [
    KnownIssue(
        key="onnx2torch-auto-pad",
        tool="onnx2torch",
        reads="onnx",
        condition="auto_pad=SAME_UPPER/SAME_LOWER",
        effect="fails",
        what="the converter raises NotImplementedError",
        source="ENOT-AutoDL/onnx2torch#148; " + _SOURCE,
        evidence="observed: tests/audit/test_known_onnx2torch.py::test_every_onnx2torch_entry",
        rule=_auto_pad,
    ),
    KnownIssue(
        key="onnx2torch-uneven-pads",
        tool="onnx2torch",
        reads="onnx",
        condition="pads with begin != end in some axis",
        effect="fails",
        what="the converter raises NotImplementedError (PyTorch's padding is symmetric)",
        source="ENOT-AutoDL/onnx2torch#52; " + _SOURCE,
        evidence="observed: tests/audit/test_known_onnx2torch.py::test_every_onnx2torch_entry",
        rule=_uneven,
    ),
    KnownIssue(
        key="onnx2torch-output-shape-ignored",
        tool="onnx2torch",
        reads="onnx",
        condition="output_shape given, and its window differs from the one pads/output_padding cut",
        effect="differs",
        what="output_shape is never read: the module cuts the window of pads and output_padding",
        source=_SOURCE + " (by reading: no output_shape); ENOT-AutoDL/onnx2torch#68",
        evidence="observed: tests/audit/test_known_onnx2torch.py::test_every_onnx2torch_entry",
        rule=_output_shape,
    ),
    KnownIssue(
        key="onnx2torch-opset-22",
        tool="onnx2torch",
        reads="onnx",
        condition="a model of opset 22 or newer",
        effect="fails",
        what="no converter is registered for ConvTranspose-22: NotImplementedError",
        source=_SOURCE + " (registered for versions 1 and 11)",
        evidence="observed: tests/audit/test_known_onnx2torch.py::test_every_onnx2torch_entry",
        rule=_opset,
    ),
]
