"""The ``onnx`` package's own readings of ``ConvTranspose`` (its shape inference), and what the ONNX rules share.

The spec's window and ONNX Runtime's are :func:`tconv.frameworks.onnx.window` with
``semantics="spec"`` and ``"onnxruntime"``; :func:`window` evaluates them for one
layer. The table here is about the ``onnx`` package itself: its shape inference
(``onnx.shape_inference.infer_shapes``) ignores ``output_padding`` under
``auto_pad=SAME_*``, so a model's declared output shape disagrees with what every
runtime computes.
"""

from __future__ import annotations

from typing import Any

from ...frameworks import onnx as onnx_rules
from ...geometry import Geometry
from . import KnownIssue, LayerFacts

__all__ = ["ENTRIES", "attributes", "inferred_output_size", "pads_for", "window"]

#: The spatial size the rules use when the model does not fix the input size (the windows of
#: ``auto_pad`` and ``pads`` do not depend on it; ``output_shape`` needs the real size).
NOMINAL_SIZE = 4


def attributes(facts: LayerFacts) -> dict[str, Any]:
    """The node's window attributes (``kernel_shape``, ``group`` and ``semantics`` left out)."""
    return {k: v for k, v in facts.params.items() if k not in ("kernel_shape", "group", "semantics")}


def input_size(facts: LayerFacts) -> tuple[int, ...]:
    return facts.input_size if facts.input_size is not None else (NOMINAL_SIZE,) * facts.ndim


def window(facts: LayerFacts, semantics: onnx_rules.Semantics) -> Geometry:
    """The node's window under the spec or ONNX Runtime (``ValueError`` with ORT's message when it refuses)."""
    return onnx_rules.window(input_size(facts), facts.spec.kernel_size, semantics=semantics, **attributes(facts))


def output_padding(facts: LayerFacts) -> tuple[int, ...]:
    return tuple(facts.params.get("output_padding") or (0,) * facts.ndim)


def pads_for(facts: LayerFacts, g: Geometry) -> list[int] | None:
    """The explicit ``pads`` (with the node's ``output_padding``) that cut window ``g``, or None if none do."""
    a = output_padding(facts)
    begins = list(g.crop_begin)
    ends = [e + ai for e, ai in zip(g.crop_end, a)]  # pads crop the natural output full + output_padding
    return begins + ends if min(begins + ends) >= 0 else None


def _same(facts: LayerFacts) -> bool:
    """``auto_pad=SAME_*`` without ``output_shape`` (which shape inference returns as given)."""
    return facts.params.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER") and "output_shape" not in facts.params


def inferred_output_size(facts: LayerFacts) -> tuple[int, ...] | None:
    """The spatial output size ONNX shape inference declares for ``auto_pad=SAME_*``: ``i*s + output_padding``.

    Its total crop ignores ``output_padding`` and is clamped at 0 (``max(k_eff - s, 0)``), so
    the size is ``full + output_padding - max(k_eff - s, 0)``. None for other nodes (where it agrees
    with the spec).
    """
    if not _same(facts):
        return None
    g = window(facts, "spec")
    a = output_padding(facts)
    return tuple(f + ai - max(ke - s, 0) for f, ai, ke, s in zip(g.full_size, a, g.effective_kernel_size, g.stride))


def _shape_inference(facts: LayerFacts) -> tuple[str, str] | None:
    inferred = inferred_output_size(facts)
    spec = window(facts, "spec")
    if inferred is None or inferred == spec.output_size:
        return None
    try:
        runtime = f"ONNX Runtime computes {window(facts, 'onnxruntime').output_size}"
    except ValueError:
        runtime = "ONNX Runtime refuses the node"
    pads = pads_for(facts, spec)
    advice = f"write pads={pads}" if pads is not None else "write explicit pads (and output_padding)"
    return (
        f"shape inference declares spatial output {inferred}; the spec computes {spec.output_size} ({runtime}) for "
        f"auto_pad={facts.params['auto_pad']} with output_padding={list(output_padding(facts))}",
        f"{advice} instead of auto_pad, so that every reader agrees",
    )


ENTRIES = [
    KnownIssue(
        key="onnx-shape-inference-same-output-padding",
        tool="onnx",
        reads="onnx",
        condition="auto_pad=SAME_UPPER/SAME_LOWER with output_padding != 0, or with k_eff < stride",
        effect="differs",
        what="ONNX shape inference ignores output_padding and clamps the total crop at 0: it declares another size "
        "than the spec's i*s, so the model's declared shapes are not what runs",
        source="onnx/onnx#4299, microsoft/onnxruntime#11927 (open)",
        evidence="observed: tests/audit/test_known_onnx.py::test_shape_inference_under_same",
        rule=_shape_inference,
    ),
]
