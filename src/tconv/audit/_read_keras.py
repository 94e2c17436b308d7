"""Read the ``Conv{1,2,3}DTranspose`` layers of a Keras 3 ``.keras`` file, without importing Keras.

A ``.keras`` file is a zip of ``config.json`` (the model's layers and their arguments; each
built layer records its ``build_config.input_shape``) and ``model.weights.h5`` (the
variables, under paths Keras derives from the class names of the layers:
``layers/<snake_case class>[_n]/vars/<i>``, nested models in their own ``layers/``).
The weights need ``h5py`` (``pip install "tconv[audit]"``); without it the layers are
audited without their trained values. Layers of custom subclassed models that the
config does not list are not read.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._layer import Layer

__all__ = ["read_keras"]

_CLASSES = {"Conv1DTranspose": 1, "Conv2DTranspose": 2, "Conv3DTranspose": 3}
_CONTAINERS = ("Functional", "Sequential", "Model")
_PARAMETERS = ("strides", "padding", "output_padding", "data_format", "dilation_rate", "use_bias")


def _snake_case(name: str) -> str:
    """Keras's ``naming.to_snake_case``: ``Conv2DTranspose`` -> ``conv2d_transpose``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _walk(entry: dict[str, Any], path: str, weights_path: str, found: list[tuple[str, str, dict]]) -> None:
    """Collect ``(layer path, weights path, layer entry)`` of every transposed convolution under ``entry``."""
    config = entry.get("config", {})
    used: dict[str, int] = {}
    for layer in config.get("layers", []):
        class_name = layer.get("class_name", "")
        if class_name == "InputLayer" and entry.get("class_name") == "Sequential":
            continue  # Sequential.layers leaves its InputLayer out, and so do the weight paths
        snake = _snake_case(class_name)
        used[snake] = used.get(snake, -1) + 1
        unique = snake if used[snake] == 0 else f"{snake}_{used[snake]}"
        name = layer.get("config", {}).get("name") or layer.get("name") or unique
        layer_path = f"{path}/{name}" if path else name
        layer_weights = f"{weights_path}/layers/{unique}"
        if class_name in _CLASSES:
            found.append((layer_path, layer_weights, layer))
        elif "layers" in layer.get("config", {}):
            _walk(layer, layer_path, layer_weights, found)


def _read_weights(archive: zipfile.ZipFile, paths: list[str]) -> tuple[dict[str, list[np.ndarray]], str]:
    """The variables under each path of ``model.weights.h5`` (and a note when they cannot be read)."""
    try:
        import h5py
    except ImportError:
        return {}, 'the weights need h5py (pip install "tconv[audit]"): audited without their trained values'
    import io

    values: dict[str, list[np.ndarray]] = {}
    with archive.open("model.weights.h5") as handle, h5py.File(io.BytesIO(handle.read()), "r") as h5:
        for path in paths:
            group = h5.get(f"{path}/vars")
            if group is not None:
                values[path] = [np.asarray(group[key]) for key in sorted(group, key=int)]
    return values, ""


def read_keras(path: str | Path) -> list[Layer]:
    """The transposed convolutions of the Keras 3 model saved at ``path`` (a ``.keras`` file)."""
    try:
        return _read(Path(path))
    except (KeyError, TypeError, IndexError, AttributeError, OSError) as error:  # a config or file we cannot read
        raise ValueError(
            f"{str(path)!r} is not a Keras 3 model this reader understands ({type(error).__name__}: {error})"
        ) from None


def _read(path: Path) -> list[Layer]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(f"{str(path)!r} is not a Keras 3 .keras file (a zip archive)") from None
    with archive:
        names = set(archive.namelist())
        if "config.json" not in names:
            raise ValueError(f"{str(path)!r} has no config.json: not a Keras 3 .keras file")
        try:
            config = json.loads(archive.read("config.json"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{str(path)!r}: its config.json is not JSON ({error})") from None
        found: list[tuple[str, str, dict]] = []
        if config.get("class_name") in _CLASSES:
            found.append((config["config"].get("name", "layer"), "", config))
        else:
            _walk(config, "", "", found)
            if not found and not config.get("config", {}).get("layers"):
                raise ValueError(
                    f"{str(path)!r} holds a {config.get('class_name')!r} whose config lists no layers (a subclassed "
                    "model): save it as a Functional or Sequential model to audit it"
                )
        values, note = _read_weights(archive, [w for _, w, _ in found]) if "model.weights.h5" in names else ({}, "")
    layers = []
    for layer_path, weights_path, entry in found:
        layer_config = entry["config"]
        shape = (entry.get("build_config") or {}).get("input_shape")
        data_format = layer_config.get("data_format") or "channels_last"
        channels = None if shape is None else shape[-1] if data_format == "channels_last" else shape[1]
        variables = values.get(weights_path, [])
        weight = variables[0] if variables else None
        kernel_size = tuple(layer_config["kernel_size"])
        if weight is not None:
            weight_shape = tuple(weight.shape)
        elif channels is not None:
            weight_shape = (*kernel_size, layer_config["filters"], int(channels))
        else:
            raise ValueError(f"Keras layer {layer_path!r}: neither its weights nor its input channels are saved")
        spatial = None if shape is None else (shape[1:-1] if data_format == "channels_last" else shape[2:])
        static = spatial is not None and None not in spatial
        input_shape = (1, *shape[1:]) if static and shape is not None else None
        notes = [note] if note else []
        if weight is None and not note:
            notes.append("no saved weights for this layer: audited without its trained values")
        if not static:
            notes.append("the model leaves the spatial input size open: the window is given for every input size")
        params = {"filters": layer_config["filters"], "kernel_size": kernel_size}
        params.update({key: layer_config[key] for key in _PARAMETERS if key in layer_config})
        for key in ("strides", "dilation_rate", "output_padding"):
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        layers.append(
            Layer(
                name=layer_path,
                framework="keras",
                op=entry["class_name"],
                params=params,
                weight_shape=tuple(int(v) for v in weight_shape),
                weight=weight,
                bias=variables[1] if len(variables) > 1 else None,
                input_shape=None if input_shape is None else tuple(int(v) for v in input_shape),
                static=static,
                notes=notes,
                context={"activation": layer_config.get("activation")},
            )
        )
    return layers
