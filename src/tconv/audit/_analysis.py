"""What one transposed convolution computes, its equivalents, its checkerboard and its known risks.

:func:`audit_layer` reads a :class:`~tconv.audit._layer.Layer` with tconv's own
knowledge: :func:`tconv.translation.resolve` for its window, :func:`tconv.translate`
for the exact equivalent in every other framework (with the crop or pad a target
needs), :func:`tconv.artifacts.analyze` for the checkerboard of its trained weights,
and :mod:`tconv.audit.known` for the entries of each tool that apply to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..artifacts import Analysis, analyze
from ..geometry import Geometry
from ..translation import FRAMEWORKS, TranslationPlan, resolve, translate
from . import known
from ._layer import Layer

__all__ = ["TARGETS", "LayerAudit", "audit_layer"]

#: Every name ``targets`` takes: the frameworks tconv translates to, and the tools with a table in
#: :mod:`tconv.audit.known` (``torch``, ``keras``, ``jax`` and ``onnx`` are both).
TARGETS = (*FRAMEWORKS, *(tool for tool in known.TOOLS if tool not in FRAMEWORKS))


@dataclass
class LayerAudit:
    """The audit of one layer.

    Attributes
    ----------
    layer : Layer
    spec : ConvTransposeSpec
        Its window, framework-free (kernel, stride, dilation, crop of the full output, channels).
    input_size : tuple of int or None
        Its spatial input size, when known.
    geometry : Geometry or None
        The window at that input size (full output, crop, output size).
    translations : dict
        ``{target: TranslationPlan}``, or the reason (a string) when the target has no such layer.
    checkerboard : Analysis or None
        :func:`tconv.artifacts.analyze` of its weights (None without trained values).
    findings : list of Finding
        The known entries that apply, for the targets and versions asked about.
    verification : dict
        ``{runtime: largest absolute difference}`` (or the reason it did not run), filled by ``verify``.
    """

    layer: Layer
    spec: Any
    input_size: tuple[int, ...] | None
    geometry: Geometry | None
    translations: dict[str, TranslationPlan | str]
    checkerboard: Analysis | None
    findings: list[known.Finding]
    verification: dict[str, float | str] = field(default_factory=dict)
    verification_scale: float = 1.0

    @property
    def tolerance(self) -> float:
        """The largest difference ``verify`` accepts: float32 rounding, relative to the output's magnitude."""
        return 1e-4 * max(1.0, self.verification_scale)

    @property
    def disagreements(self) -> list[str]:
        """The runtimes ``verify`` saw compute something else than tconv (beyond :attr:`tolerance`), or fail."""
        return [
            name
            for name, value in self.verification.items()
            if (isinstance(value, float) and value > self.tolerance) or str(value).startswith(("fails", "shape"))
        ]

    @property
    def at_risk(self) -> bool:
        """True when a tool asked about fails on this layer or computes something else, or a runtime disagreed."""
        return bool(self.disagreements) or any(f.at_risk for f in self.findings)

    @property
    def output_size(self) -> tuple[int, ...] | None:
        return None if self.geometry is None else self.geometry.output_size

    def weight_in_torch_layout(self) -> np.ndarray | None:
        """The trained weight in tconv's ``(C_in, C_out/groups, *k)`` layout."""
        plan = self.translations.get("tconv")
        if self.layer.weight is None or not isinstance(plan, TranslationPlan):
            return None
        return plan.convert_weight(self.layer.weight)


def _spatial_size(layer: Layer, plan: TranslationPlan) -> tuple[int, ...] | None:
    """The layer's spatial input size, moved into tconv's layout by the plan itself."""
    if layer.input_shape is None:
        return None
    canonical = plan.input_to_target(np.broadcast_to(np.float32(0), layer.input_shape))  # (N, C, *spatial)
    return tuple(int(v) for v in canonical.shape[2:])


def _checkerboard(audit: LayerAudit) -> Analysis | None:
    w = audit.weight_in_torch_layout()
    if w is None:
        return None
    spec = audit.spec
    return analyze(None, spec.stride, spec.crop, 0, spec.dilation, weight=w.astype(np.float64), groups=spec.groups)


def audit_layer(
    layer: Layer,
    *,
    targets: Sequence[str] = TARGETS,
    versions: Mapping[str, str | None] | None = None,
) -> LayerAudit:
    """Audit one layer for ``targets`` (names of :data:`TARGETS`) at ``versions`` (``{tool: version}``)."""
    params, fw = layer.params, layer.framework
    spec = resolve(params, fw, weight_shape=layer.weight_shape, input_shape=layer.input_shape)
    translations: dict[str, TranslationPlan | str] = {}
    for target in ("tconv", *(t for t in FRAMEWORKS if t in targets and t != "tconv")):
        try:
            translations[target] = translate(
                params, fw, target, weight_shape=layer.weight_shape, input_shape=layer.input_shape
            )
        except ValueError as error:
            translations[target] = str(error)
    plan = translations["tconv"]
    assert isinstance(plan, TranslationPlan)  # the tconv target cuts every window
    size = _spatial_size(layer, plan)
    geometry = None if size is None else spec.geometry(size)
    facts = known.LayerFacts(
        framework=fw,
        params=params,
        spec=spec,
        weight_shape=layer.weight_shape,
        input_size=size,
        static=layer.static,
        context=layer.context,
    )
    found = known.findings(facts, versions or {}, [t for t in targets if t in known.TOOLS])
    audit = LayerAudit(layer, spec, size, geometry, translations, None, found)
    audit.checkerboard = _checkerboard(audit)
    return audit
