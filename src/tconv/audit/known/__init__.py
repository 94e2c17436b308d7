"""Where runtimes and converters compute something else: the known cases, one module per tool.

Each module (:mod:`.onnxruntime`, :mod:`.onnx`, :mod:`.onnx2torch`, :mod:`.tf2onnx`,
:mod:`.nobuco`, :mod:`.keras`, :mod:`.torch`, :mod:`.jax`) holds the table of one tool:
its ``ENTRIES``, each a :class:`KnownIssue` with the versions it applies to, the
condition on the layer (a rule function on a :class:`LayerFacts`), what happens,
the public source it comes from, and its evidence: either the test that runs the
real tool here and observes it (``observed``), or the words "documented only" with
what was read. The rules compute through the framework modules of
:mod:`tconv.frameworks` (the window each tool cuts), never by re-deriving a window.

:data:`TOOLS` lists the tools, :func:`entries` every entry, and :func:`findings`
the entries that apply to one layer for the tools and versions asked about.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ...frameworks._common import ConvTransposeSpec

__all__ = [
    "EFFECTS",
    "Finding",
    "KnownIssue",
    "LayerFacts",
    "TOOLS",
    "entries",
    "findings",
    "parse_version",
]

#: What an entry says happens: the tool refuses the layer (``"fails"``), computes other values or another
#: size (``"differs"``), or computes the same when used the right way only (``"caution"``: never a risk).
EFFECTS = ("fails", "differs", "caution")
Effect = Literal["fails", "differs", "caution"]


def parse_version(text: str) -> tuple[int, ...]:
    """The leading release numbers of a version string: ``"2.13.0+cpu"`` -> ``(2, 13, 0)``.

    Examples
    --------
    >>> parse_version("1.31.1"), parse_version("2.13.0+cpu"), parse_version("0.17")
    ((1, 31, 1), (2, 13, 0), (0, 17))
    """
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", str(text))
    if match is None:
        raise ValueError(f"a version must start with its release numbers like 1.13 or 2.13.0, got {text!r}")
    return tuple(int(v) for v in match.group(1).split("."))


@dataclass(frozen=True)
class LayerFacts:
    """What a rule knows about one transposed convolution of a model.

    Attributes
    ----------
    framework : {"onnx", "keras", "torch"}
        The convention the layer is written in (its ``params`` are in that framework's words,
        as :func:`tconv.translate` reads them).
    params : mapping
    spec : ConvTransposeSpec
        Its window (:func:`tconv.translation.resolve`).
    weight_shape : tuple of int
        In its framework's layout.
    input_size : tuple of int or None
        The spatial input size, when the model or the caller gives it.
    static : bool
        True when the model fixes the spatial input size (Keras's ``Input`` shape, an ONNX graph
        with fixed dimensions): converters then see constants.
    context : mapping
        What the reader found besides: ``"opset"`` and ``"producer"`` of an ONNX model,
        ``"output_size"`` passed to a PyTorch module's ``forward``.
    """

    framework: str
    params: Mapping[str, Any]
    spec: ConvTransposeSpec
    weight_shape: tuple[int, ...]
    input_size: tuple[int, ...] | None = None
    static: bool = False
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return self.spec.ndim


@dataclass(frozen=True)
class Finding:
    """An entry that applies to a layer: what the tool does with this layer, and the fix."""

    issue: KnownIssue
    detail: str
    fix: str = ""
    version: str | None = None

    @property
    def at_risk(self) -> bool:
        """True when the tool fails on the layer or computes something else (``"caution"`` never is)."""
        return self.issue.effect != "caution"

    def to_dict(self) -> dict[str, Any]:
        return {**self.issue.to_dict(), "detail": self.detail, "fix": self.fix, "version_checked": self.version}


Rule = Callable[[LayerFacts], "tuple[str, str] | None"]


@dataclass(frozen=True)
class KnownIssue:
    """One known difference of one tool, with the versions it applies to, its source and its evidence.

    Attributes
    ----------
    key : str
        A short stable name, ``tool-what``.
    tool : str
        The package whose version decides (``"onnxruntime"``, ``"tf2onnx"``, ...).
    reads : str
        The framework of the layers it concerns (``"onnx"``, ``"keras"``, ``"torch"``), or ``"*"``.
    condition, effect, what : str
        The condition on the layer in words, one of :data:`EFFECTS`, and what happens.
    source : str
        The public issue, pull request or file it comes from.
    evidence : str
        ``"observed: <test>"`` when a test runs the real tool here and sees it happen, else
        ``"documented only: <what was read>"``.
    rule : callable
        ``rule(facts)`` returns ``(detail, fix)`` when the condition holds for the layer, else None.
    since, before : tuple of int or None
        The versions it applies to: ``since <= version < before`` (None: open).
    """

    key: str
    tool: str
    reads: str
    condition: str
    effect: Effect
    what: str
    source: str
    evidence: str
    rule: Rule = field(repr=False, compare=False)
    since: tuple[int, ...] | None = None
    before: tuple[int, ...] | None = None

    @property
    def observed(self) -> bool:
        return self.evidence.startswith("observed")

    @property
    def versions(self) -> str:
        """The versions in words: ``"all"``, ``">= 1.13"``, ``"< 3.15.0"``, ``">= 0.9.0, < 1.0"``."""
        parts = []
        if self.since is not None:
            parts.append(">= " + ".".join(map(str, self.since)))
        if self.before is not None:
            parts.append("< " + ".".join(map(str, self.before)))
        return ", ".join(parts) or "all"

    def covers(self, version: str | None) -> bool:
        """True when the entry applies to ``version``; an unknown version is taken as the newest release."""
        if version is None:
            return self.before is None
        v = parse_version(version)
        return (self.since is None or v >= self.since) and (self.before is None or v < self.before)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "tool": self.tool,
            "reads": self.reads,
            "versions": self.versions,
            "condition": self.condition,
            "effect": self.effect,
            "what": self.what,
            "source": self.source,
            "evidence": self.evidence,
        }


def _modules() -> dict[str, Any]:
    from . import jax, keras, nobuco, onnx, onnx2torch, onnxruntime, tf2onnx, torch

    return {
        "onnxruntime": onnxruntime,
        "onnx": onnx,
        "onnx2torch": onnx2torch,
        "tf2onnx": tf2onnx,
        "nobuco": nobuco,
        "keras": keras,
        "torch": torch,
        "jax": jax,
    }


#: The tools with a table, and the package (distribution) whose installed version decides.
TOOLS = {
    "onnxruntime": "onnxruntime",
    "onnx": "onnx",
    "onnx2torch": "onnx2torch",
    "tf2onnx": "tf2onnx",
    "nobuco": "nobuco",
    "keras": "keras",
    "torch": "torch",
    "jax": "jax",
}


def entries(tools: Sequence[str] | None = None) -> list[KnownIssue]:
    """Every known entry, table by table (of ``tools`` only, when given)."""
    modules = _modules()
    chosen = list(TOOLS) if tools is None else [t for t in TOOLS if t in tools]
    return [entry for tool in chosen for entry in modules[tool].ENTRIES]


def findings(
    facts: LayerFacts, versions: Mapping[str, str | None], tools: Sequence[str] | None = None
) -> list[Finding]:
    """The entries whose tool is in ``tools``, whose versions cover ``versions[tool]`` and whose rule holds.

    ``versions`` maps a tool to its version (None or absent: the newest release).
    """
    found = []
    for entry in entries(tools):
        if entry.reads not in ("*", facts.framework):
            continue
        version = versions.get(entry.tool)
        if not entry.covers(version):
            continue
        result = entry.rule(facts)
        if result is not None:
            detail, fix = result
            found.append(Finding(entry, detail, fix, version))
    return found
