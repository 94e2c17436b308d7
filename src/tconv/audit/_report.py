"""The audit of a whole model: one :class:`LayerAudit` per transposed convolution, in words and as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..translation import TranslationPlan
from ._analysis import LayerAudit

__all__ = ["EXIT_AT_RISK", "EXIT_OK", "Report"]

#: ``tconv audit``'s exit status when no layer is at risk for the targets asked about.
EXIT_OK = 0
#: ... and when at least one is (a tool fails on it or computes something else, or ``--verify`` saw a runtime
#: disagree). 2 stays the status of a usage error, as for every ``tconv`` command.
EXIT_AT_RISK = 3


def _value(v: Any) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(map(_value, v)) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list):
        return "[" + ", ".join(map(_value, v)) + "]"
    return repr(v) if isinstance(v, str) else str(v)


def parameters_text(audit: LayerAudit) -> str:
    """The layer's parameters in its framework's own words."""
    return ", ".join(f"{k}={_value(v)}" for k, v in audit.layer.params.items())


def _axes(pairs: Sequence[tuple[int, int]]) -> str:
    return " x ".join(f"({b}, {e})" for b, e in pairs)


def _sizes(size: Sequence[int] | None) -> str:
    return "?" if size is None else "x".join(map(str, size))


def checkerboard_text(audit: LayerAudit) -> str:
    """The checkerboard verdict in a few words: the layer's tap counts, and what its weights do with them."""
    analysis = audit.checkerboard
    if analysis is None:
        return "no weights"
    ov = analysis.overlap
    text = ov.verdict
    weights = analysis.weights
    if weights is not None and weights.response.size:
        spread = float(weights.amplitude.max())
        text += f" (constant input: phases spread {spread:.2g} of max {float(np.abs(weights.response).max()):.2g})"
    return text


def summary_line(audit: LayerAudit) -> str:
    """One line per layer: risk, name, parameters, sizes, window, checkerboard and the entries that apply."""
    layer = audit.layer
    spec = audit.spec
    state = "RISK" if audit.at_risk else "ok"
    line = (
        f"  {state:<4}  {layer.name}  {layer.op}({parameters_text(audit)})  "
        f"{spec.in_channels}->{spec.out_channels} ch, {_sizes(audit.input_size)} -> {_sizes(audit.output_size)}, "
        f"crop {_axes(spec.crop)}, {checkerboard_text(audit)}"
    )
    risks = [f"{f.issue.tool} {f.issue.effect}" for f in audit.findings if f.at_risk]
    risks += [f"{name} disagrees" for name in audit.disagreements]
    return line + (f"  [{'; '.join(risks)}]" if risks else "")


def detail_lines(audit: LayerAudit) -> list[str]:
    """Everything about one layer, indented under its summary line."""
    spec, g = audit.spec, audit.geometry
    lines = [f"      computes: {audit.translations['tconv'].source_call}"]  # type: ignore[union-attr]
    window = (
        f"      window:   kernel {spec.kernel_size}, stride {spec.stride}, dilation {spec.dilation}, groups "
        f"{spec.groups}; crop (begin, end) {spec.crop} of the full output"
    )
    if g is not None:
        window += f" {g.full_size} -> {g.output_size}"
    lines.append(window)
    for target, plan in audit.translations.items():
        if target == audit.layer.framework:
            continue
        if isinstance(plan, str):
            lines.append(f"      {target + ':':<11} no equivalent: {plan}")
            continue
        call = f"{plan.function}(" + ", ".join(f"{k}={v!r}" for k, v in plan.arguments.items()) + ")"
        if plan.post_crop is not None:
            call += f", then crop (begin, end) {plan.post_crop} (negative: append zeros)"
        lines.append(f"      {target + ':':<11} {call}")
        if plan.weight_steps:
            lines.append(f"      {'':<11} weight: " + "; ".join(plan.weight_steps))
    if audit.checkerboard is not None:
        from ..explain.artifacts_text import advice

        ov = audit.checkerboard.overlap
        lines.append(f"      checkerboard: {checkerboard_text(audit)}; taps per phase {list(map(list, ov.phase_taps))}")
        for text in advice(audit.checkerboard)[:2]:
            lines.append(f"        {text}")
    for finding in audit.findings:
        issue = finding.issue
        version = finding.version or "newest"
        lines.append(f"      {issue.tool} {version}: {issue.effect.upper()} [{issue.key}] {finding.detail}")
        if finding.fix:
            lines.append(f"        fix: {finding.fix}")
        lines.append(f"        source: {issue.source}; {issue.evidence}")
    for name, value in audit.verification.items():
        shown = f"max |difference| {value:.3g}" if isinstance(value, float) else value
        lines.append(f"      verify {name}: {shown}")
    for note in audit.layer.notes:
        lines.append(f"      note: {note}")
    return lines


@dataclass
class Report:
    """The audit of a model.

    Attributes
    ----------
    model : str
        What was audited (a path, or a PyTorch module's class name).
    kind : {"onnx", "keras", "torch"}
    layers : list of LayerAudit
    targets : tuple of str
    versions : dict
        ``{tool: version}`` the entries were checked for (None: not installed, taken as the newest).
    header : str
        What the reader says about the model (opset, producer, ...).
    """

    model: str
    kind: str
    layers: list[LayerAudit]
    targets: tuple[str, ...]
    versions: dict[str, str | None]
    header: str = ""
    verified: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def at_risk(self) -> list[LayerAudit]:
        """The layers at risk for the targets asked about."""
        return [a for a in self.layers if a.at_risk]

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_AT_RISK` when a layer is at risk, else :data:`EXIT_OK`."""
        return EXIT_AT_RISK if self.at_risk else EXIT_OK

    def to_text(self, details: bool = False) -> str:
        """The terminal report: a header, one summary line per layer (and everything with ``details``)."""
        n = len(self.layers)
        risky = len(self.at_risk)
        head = f"tconv audit: {self.model} ({self.header or self.kind}): {n} transposed convolution{'s' * (n != 1)}"
        head += f", {risky} at risk" if risky else ", none at risk"
        lines = [head, "  targets: " + ", ".join(self.targets)]
        tools = [f"{t} {v}" if v else f"{t} (not installed: newest)" for t, v in self.versions.items()]
        lines.append("  versions: " + ", ".join(tools))
        for audit in self.layers:
            lines.append(summary_line(audit))
            if details:
                lines += detail_lines(audit)
        lines += [f"  note: {note}" for note in self.notes]
        if not details and self.layers:
            lines.append(
                "  (--details: the equivalent in every framework, the weight conversion, every entry's source and fix)"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-compatible data."""
        return {
            "model": self.model,
            "kind": self.kind,
            "header": self.header,
            "targets": list(self.targets),
            "versions": self.versions,
            "at_risk": bool(self.at_risk),
            "exit_code": self.exit_code,
            "notes": self.notes,
            "layers": [_layer_dict(a) for a in self.layers],
        }

    def to_html(self) -> str:
        """A self-contained HTML page: one section per layer, with its picture (needs matplotlib for those)."""
        from ._html import report_html

        return report_html(self)


def _layer_dict(audit: LayerAudit) -> dict[str, Any]:
    from ..translation import _jsonable

    layer = audit.layer
    data: dict[str, Any] = {
        "name": layer.name,
        "framework": layer.framework,
        "op": layer.op,
        "params": _jsonable(layer.params),
        "weight_shape": list(layer.weight_shape),
        "input_shape": None if layer.input_shape is None else list(layer.input_shape),
        "declared_output_shape": None if layer.declared_output_shape is None else list(layer.declared_output_shape),
        "input_size": None if audit.input_size is None else list(audit.input_size),
        "output_size": None if audit.output_size is None else list(audit.output_size),
        "window": {
            **audit.translations["tconv"].to_dict()["window"],  # type: ignore[union-attr]
            "full_size": None if audit.geometry is None else list(audit.geometry.full_size),
        },
        "translations": {
            t: (p.to_dict() if isinstance(p, TranslationPlan) else {"error": p}) for t, p in audit.translations.items()
        },
        "findings": [f.to_dict() for f in audit.findings],
        "at_risk": audit.at_risk,
        "verification": audit.verification,
        "notes": layer.notes,
    }
    if audit.checkerboard is not None:
        ov, weights = audit.checkerboard.overlap, audit.checkerboard.weights
        data["checkerboard"] = {
            "verdict": ov.verdict,
            "phase_taps": [list(t) for t in ov.phase_taps],
            "uniformity": ov.uniformity,
            "response": None if weights is None else weights.response.tolist(),
            "amplitude": None if weights is None else weights.amplitude.tolist(),
            "summary": checkerboard_text(audit),
        }
    else:
        data["checkerboard"] = None
    return data
