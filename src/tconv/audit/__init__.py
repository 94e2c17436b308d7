"""``tconv audit``: what each transposed convolution of a real model computes, and where tools compute otherwise.

:func:`audit` reads an ONNX file (``.onnx``, with the ``onnx`` package) or a Keras 3
file (``.keras``, without importing Keras; its weights with ``h5py``), and
:func:`torch` a PyTorch module run once on an example input. For each transposed
convolution the :class:`Report` gives its parameters in its own framework's words,
its input and output sizes, the window of the full output it computes (tconv's
model), the exact equivalent in every other framework with the crop or pad a target
needs and the weight conversion (:func:`tconv.translate`), the checkerboard of its
trained weights (:func:`tconv.artifacts.analyze`), and the entries of the
known-disagreement tables (:mod:`tconv.audit.known`) that apply to it for the tools
and versions asked about. ``verify=True`` runs every layer through the installed
runtimes and reports the largest difference from tconv.

Examples
--------
>>> import tconv.audit
>>> tconv.audit.TARGETS
('tconv', 'torch', 'tensorflow', 'keras', 'jax', 'onnx', 'onnxruntime', 'onnx2torch', 'tf2onnx', 'nobuco')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import known
from ._analysis import TARGETS, LayerAudit, audit_layer
from ._layer import Layer, installed_versions
from ._report import EXIT_AT_RISK, EXIT_OK, Report

__all__ = [
    "EXIT_AT_RISK",
    "EXIT_OK",
    "TARGETS",
    "Layer",
    "LayerAudit",
    "Report",
    "audit",
    "audit_layers",
    "installed_versions",
    "known",
    "torch",
]


def _targets(targets: Sequence[str] | None) -> tuple[str, ...]:
    if targets is None:
        return TARGETS
    if isinstance(targets, str):
        raise TypeError(f"targets must be a sequence of names, got the string {targets!r}")
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ValueError(f"targets must be among {TARGETS}, got {unknown}")
    if not targets:
        raise ValueError(f"targets must name at least one of {TARGETS}, got none")
    return tuple(t for t in TARGETS if t in targets)


def _versions(versions: Mapping[str, str] | None) -> dict[str, str | None]:
    found = installed_versions()
    for tool, version in (versions or {}).items():
        if tool not in found:
            raise ValueError(f"versions names tool {tool!r}; the tools with versions are {tuple(found)}")
        known.parse_version(version)  # checks the form
        found[tool] = str(version)
    return found


def audit_layers(
    layers: Sequence[Layer],
    *,
    model: str,
    kind: str,
    header: str = "",
    targets: Sequence[str] | None = None,
    versions: Mapping[str, str] | None = None,
    verify: bool = False,
) -> Report:
    """Audit layers a reader found (the common end of :func:`audit` and :func:`torch`)."""
    chosen = _targets(targets)
    checked = _versions(versions)
    audits: list[LayerAudit] = []
    for layer in layers:
        try:
            audits.append(audit_layer(layer, targets=chosen, versions=checked))
        except ValueError as error:
            raise ValueError(f"layer {layer.name!r}: {error}") from None
    if verify:
        from ._verify import verify_layer

        for one in audits:
            verify_layer(one)
    relevant = {t: v for t, v in checked.items() if t in chosen}
    return Report(model, kind, audits, chosen, relevant, header, verify)


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix == ".keras":
        return "keras"
    raise ValueError(
        f"model must be an .onnx or a .keras file (PyTorch modules: tconv.audit.torch(module, example_input)), "
        f"got {str(path)!r}"
    )


def audit(
    model: str | Path,
    *,
    input_shape: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    targets: Sequence[str] | None = None,
    versions: Mapping[str, str] | None = None,
    verify: bool = False,
) -> Report:
    """Audit every transposed convolution of the model file ``model`` (``.onnx`` or ``.keras``).

    Parameters
    ----------
    model : str or Path
    input_shape : sequence of int, or mapping of input name to shape, optional
        The model's input shape (ONNX models whose inputs leave sizes open). Keras layers take
        the input shape their model recorded.
    targets : sequence of str, optional
        Names of :data:`TARGETS`: the frameworks to translate to and the tools whose tables to
        check (default: all).
    versions : mapping, optional
        ``{tool: version}`` to check instead of the installed versions (a tool neither installed
        nor named is taken at its newest release).
    verify : bool
        Run every layer through the installed runtimes (see :mod:`tconv.audit._verify`).

    Returns
    -------
    Report
    """
    _targets(targets), _versions(versions)  # check the arguments before reading the model
    path = Path(model)
    kind = _kind(path)
    if not path.is_file():
        raise ValueError(f"model file {str(path)!r} does not exist")
    header = ""
    if kind == "onnx":
        from ._read_onnx import read_onnx

        layers = read_onnx(path, input_shape)
        if layers:
            ctx = layers[0].context
            header = f"ONNX opset {ctx.get('opset')}"
            if ctx.get("producer"):
                header += f", written by {ctx['producer']} {ctx.get('producer_version') or ''}".rstrip()
    else:
        if input_shape is not None:
            raise ValueError("input_shape applies to ONNX models; a Keras file records each layer's input shape")
        from ._read_keras import read_keras

        layers = read_keras(path)
        header = "Keras 3"
    return audit_layers(
        layers, model=str(path), kind=kind, header=header, targets=targets, versions=versions, verify=verify
    )


def torch(
    module: Any,
    example_input: Any,
    *,
    targets: Sequence[str] | None = None,
    versions: Mapping[str, str] | None = None,
    verify: bool = False,
) -> Report:
    """Audit the transposed convolutions a PyTorch module runs on ``example_input``.

    The module is called once (under ``torch.no_grad()``) with forward hooks on its
    ``ConvTranspose{1,2,3}d`` submodules; other arguments as for :func:`audit`.
    """
    from ._read_torch import read_torch

    layers = read_torch(module, example_input)
    return audit_layers(
        layers,
        model=type(module).__name__,
        kind="torch",
        header="PyTorch module",
        targets=targets,
        versions=versions,
        verify=verify,
    )
