"""ONNX Runtime's ``ConvTranspose``: where its CPU kernel computes something other than the spec.

Its window is :func:`tconv.frameworks.onnx.window` with ``semantics="onnxruntime"``
(checked there against the installed onnxruntime); each entry below is one
condition under which it differs from ``semantics="spec"``, plus the swapped
``SAME_UPPER``/``SAME_LOWER`` of versions before 1.13, which is documented only.
"""

from __future__ import annotations

from ...geometry import effective_kernel_size
from . import KnownIssue, LayerFacts
from .onnx import output_padding, pads_for, window

__all__ = ["ENTRIES"]


def _totals(facts: LayerFacts) -> list[int]:
    """The total crop of ``auto_pad=SAME_*`` per axis: ``k_eff + output_padding - s``."""
    spec = facts.spec
    a = output_padding(facts)
    return [
        effective_kernel_size(k, d) + ai - s for k, d, ai, s in zip(spec.kernel_size, spec.dilation, a, spec.stride)
    ]


def _same(facts: LayerFacts) -> bool:
    return facts.params.get("auto_pad", "NOTSET") in ("SAME_UPPER", "SAME_LOWER") and "output_shape" not in facts.params


def _swapped(facts: LayerFacts) -> tuple[str, str] | None:
    if not _same(facts):
        return None
    odd = [axis for axis, t in enumerate(_totals(facts)) if t > 0 and t % 2]
    if not odd:
        return None
    g = window(facts, "spec")
    where = "start" if facts.params["auto_pad"] == "SAME_UPPER" else "end"
    pads = pads_for(facts, g)
    return (
        f"the total crop is odd in axis {odd}: these versions crop the extra cell at the {where}, the spec (and "
        f"onnxruntime >= 1.13) at the other end: a one-cell shift",
        f"use onnxruntime >= 1.13, or explicit pads={pads} instead of auto_pad",
    )


def _small_kernel(facts: LayerFacts) -> tuple[str, str] | None:
    if not _same(facts):
        return None
    small = [axis for axis, t in enumerate(_totals(facts)) if t < 0]
    if not small:
        return None
    spec_size = window(facts, "spec").output_size
    ort_size = window(facts, "onnxruntime").output_size
    return (
        f"k_eff + output_padding < stride in axis {small}: ONNX Runtime clamps the crop at 0 and returns "
        f"{ort_size} cells where the spec's SAME gives i*s = {spec_size}",
        "say what you mean with explicit pads (and output_padding), which every runtime reads alike",
    )


def _output_shape(facts: LayerFacts) -> tuple[str, str] | None:
    if "output_shape" not in facts.params or facts.input_size is None:
        return None
    spec = window(facts, "spec")
    try:
        ort = window(facts, "onnxruntime")
    except ValueError as error:
        return f"ONNX Runtime refuses this output_shape: {error}", "give an output_shape within natural + stride - 1"
    if ort.crop_begin == spec.crop_begin and ort.output_size == spec.output_size:
        return None
    return (
        f"output_shape {list(facts.params['output_shape'])} exceeds the natural size: the spec splits the negative "
        f"total crop (window starts at {spec.crop_begin}: zeros first), ONNX Runtime appends the zeros at the end "
        f"(starts at {ort.crop_begin})",
        "use output_padding (zeros at the end for every reader) instead of an output_shape beyond the natural size",
    )


ENTRIES = [
    KnownIssue(
        key="onnxruntime-same-swapped",
        tool="onnxruntime",
        reads="onnx",
        condition="auto_pad=SAME_UPPER/SAME_LOWER with an odd total crop k_eff + output_padding - stride > 0",
        effect="differs",
        what="SAME_UPPER and SAME_LOWER swapped against the spec: the odd cell is cropped at the other end, a "
        "one-cell shift with the right shape",
        source="microsoft/onnxruntime#9370, #11927; fixed by PR #12537 (attempts #5368, #8769); spec text onnx#1609",
        evidence="documented only: the installed onnxruntime is newer; tests/audit/test_known_onnxruntime.py observes "
        "that onnxruntime >= 1.13 follows the spec",
        rule=_swapped,
        before=(1, 13),
    ),
    KnownIssue(
        key="onnxruntime-same-small-kernel",
        tool="onnxruntime",
        reads="onnx",
        condition="auto_pad=SAME_UPPER/SAME_LOWER with k_eff + output_padding < stride",
        effect="differs",
        what="ONNX Runtime clamps the total crop at 0: (i - 1)*s + output_padding + k_eff cells instead of the "
        "spec's i*s",
        source="onnxruntime conv_transpose_attributes.h (ComputeTotalPad clamps at 0); onnx/onnx#4299",
        evidence="observed: tests/audit/test_known_onnxruntime.py::test_same_with_a_kernel_smaller_than_the_stride",
        rule=_small_kernel,
    ),
    KnownIssue(
        key="onnxruntime-output-shape-beyond-natural",
        tool="onnxruntime",
        reads="onnx",
        condition="output_shape larger than the natural size (i - 1)*s + output_padding + k_eff",
        effect="differs",
        what="the spec splits the negative total crop (zeros at the start too); ONNX Runtime appends zeros at the "
        "end, and refuses sizes beyond natural + stride - 1",
        source="microsoft/onnxruntime#26271, PR #13311; onnx/onnx#4527",
        evidence="observed: tests/audit/test_known_onnxruntime.py::test_output_shape_beyond_the_natural_size",
        rule=_output_shape,
    ),
]
