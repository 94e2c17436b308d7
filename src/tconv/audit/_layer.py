"""One transposed convolution found in a model, as the readers hand it to the audit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Layer", "installed_versions"]


@dataclass
class Layer:
    """A transposed convolution read from a model, in its own framework's words.

    Attributes
    ----------
    name : str
        Its path in the model (ONNX node name, Keras layer path, PyTorch module path).
    framework : {"onnx", "keras", "torch"}
    op : str
        The operator or layer class (``ConvTranspose``, ``Conv2DTranspose``, ``ConvTranspose2d``).
    params : dict
        Its parameters in its framework's names, as :func:`tconv.translate` reads them.
    weight_shape : tuple of int
        In its framework's layout.
    weight, bias : ndarray or None
        The trained values, when the model holds them.
    input_shape : tuple of int or None
        The whole input shape in the framework's data layout (batch 1 where the model leaves it
        open), or None when the spatial sizes are not known.
    declared_output_shape : tuple or None
        The output shape the model itself states (ONNX shape inference, Keras, the hook).
    static : bool
        True when the model fixes the spatial input sizes.
    context : dict
        Reader-specific facts the rules use (``opset``, ``producer``, ...).
    notes : list of str
        What the reader could not read, in words.
    """

    name: str
    framework: str
    op: str
    params: dict[str, Any]
    weight_shape: tuple[int, ...]
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    input_shape: tuple[int, ...] | None = None
    declared_output_shape: tuple[int | None, ...] | None = None
    static: bool = False
    context: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


#: The distribution that provides each tool (the first one installed wins).
_DISTRIBUTIONS = {
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "onnx": ("onnx",),
    "onnx2torch": ("onnx2torch",),
    "tf2onnx": ("tf2onnx",),
    "nobuco": ("nobuco",),
    "keras": ("keras",),
    "torch": ("torch",),
    "jax": ("jax",),
    "tensorflow": ("tensorflow", "tensorflow-cpu"),
}


def installed_versions() -> dict[str, str | None]:
    """The installed version of every tool the audit knows (None when it is not installed), without importing it."""
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for tool, names in _DISTRIBUTIONS.items():
        versions[tool] = None
        for name in names:
            try:
                versions[tool] = metadata.version(name)
                break
            except metadata.PackageNotFoundError:
                continue
    return versions
