"""The interactive explorer page written by ``tconv explain --html``.

One self-contained HTML file (inline CSS and JavaScript, no network, no CDN) in
which a person sets the input size, kernel size, stride, padding (an int per axis,
``"same"`` or ``"valid"``), output_padding and dilation of a 1-d or 2-d transposed
convolution and sees the output shape and values, computed in the page with the
window model of :mod:`tconv.geometry`. Hovering or clicking an output cell
highlights the input elements and kernel taps that sum into it; clicking an input
element shows its stamp; the scatter plays step by step; the overlap map and
per-phase tap counts show checkerboards and holes; and the configuration is
spelled in PyTorch, TensorFlow, Keras, JAX and ONNX terms (what ``tconv translate``
gives for it; ``assets/spellings.js``).

Sizes: the page takes the values of :data:`LIMITS` (and refuses others with the
limit, as :func:`explorer_html` does); grids of up to ``LIMITS["cells"]`` cells are
drawn cell by cell, sized to the screen, with their numbers where the cells are
wide enough, and larger grids as heat-maps on a canvas. A change of values
updates the grids in place, a highlight touches only the cells it marks. Every
cell and control is reachable from the keyboard (one tab stop per grid, the arrow
keys inside it, Enter to pick).

The page's numbers are checked against :func:`tconv.conv_transpose` in a real
headless browser by the test suite (``tests/explain/test_explorer.py``), at
phone, laptop and wide screen sizes and at the largest configuration.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from .._validate import int_tuple, is_int
from ..geometry import conv_transpose_geometry

__all__ = ["explorer_html", "write_explorer"]

VALUE_MODES = ("sequential", "random", "ones")

#: The page's limits, the smallest and largest value of each field (one place: the page reads them from its
#: configuration); ``cells`` is the largest grid drawn cell by cell (larger ones are heat-maps). At the
#: largest values the output is (16 - 1)*8 + 6*(9 - 1) + 1 + 7 = 176 cells per axis.
LIMITS: dict[str, Any] = {
    "input_size": (1, 16),
    "kernel_size": (1, 9),
    "stride": (1, 8),
    "padding": (0, 16),
    "output_padding": (0, 7),
    "dilation": (1, 6),
    "cells": 48 * 48,
}


def _check_limits(**values: tuple[int, ...] | None) -> None:
    """The configuration must lie within :data:`LIMITS`, which the page enforces too."""
    for name, value in values.items():
        if value is None:
            continue
        lo, hi = LIMITS[name]
        if any(not lo <= v <= hi for v in value):
            raise ValueError(
                f"the explorer page takes {name} from {lo} to {hi} in every axis, got {value} "
                "(tconv explain --png/--gif draw larger problems)"
            )


def _finite_json(values: list[float]) -> list[float | str]:
    """Numbers for JSON, the non-finite ones as the strings the page reads back ("NaN", "Infinity", "-Infinity")."""
    import math

    names = {math.inf: "Infinity", -math.inf: "-Infinity"}
    return [v if math.isfinite(v) else "NaN" if math.isnan(v) else names[v] for v in values]


def _script_json(value: object) -> str:
    """JSON that is safe inside ``<script>``: every ``<``, ``>`` and ``&`` escaped (``\\u003c``, ...), so no
    string (a label such as ``<!--<script>``) can end the script or start a comment in it."""
    text = json.dumps(value, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explorer_html(
    input_size: int | Sequence[int] = (2, 2),
    kernel_size: int | Sequence[int] = 3,
    stride: int | Sequence[int] = 2,
    padding: int | Sequence[int] | str = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    values: str = "sequential",
    seed: int = 0,
    input: Sequence | None = None,
    weight: Sequence | None = None,
    label: str = "the given values",
) -> str:
    """The explorer page as one HTML string, opening on the given configuration.

    The configuration is checked with :func:`tconv.geometry.conv_transpose_geometry`
    first, so a bad one raises here rather than in the browser.

    ``values`` is ``"sequential"`` (1, 2, 3, ...), ``"random"`` (integers in
    [-9, 9] from ``seed``), ``"ones"``, or ``"given"``: the arrays ``input`` and
    ``weight`` (single channel, shaped ``input_size`` and ``kernel_size``; NaN and
    infinities allowed), used while the page's sizes match theirs and named
    ``label`` in the page (any text: it is escaped). The configuration must lie
    within the page's :data:`LIMITS`.

    Examples
    --------
    >>> page = explorer_html((2, 2), 3, stride=2)
    >>> page.startswith("<!DOCTYPE html>") and "<script src" not in page and "<link" not in page
    True
    >>> '"kernel_size": [3, 3]' in page
    True
    """
    nd = 1 if is_int(input_size) else len(input_size)  # type: ignore[arg-type]
    if nd not in (1, 2):
        raise ValueError(
            f"the explorer shows 1-d or 2-d problems: input_size must have 1 or 2 entries, got {input_size!r}"
        )
    if values not in (*VALUE_MODES, "given"):
        raise ValueError(f"values must be one of {(*VALUE_MODES, 'given')}, got {values!r}")
    if (values == "given") != (input is not None and weight is not None):
        raise ValueError("values='given' needs both input and weight (and they need it)")
    if not isinstance(padding, str) and not (is_int(padding) or all(is_int(p) for p in padding)):  # type: ignore[union-attr]
        raise ValueError(f"the explorer takes padding as an int, one int per axis, 'same' or 'valid', got {padding!r}")
    g = conv_transpose_geometry(input_size, kernel_size, stride, padding, output_padding, dilation)
    _check_limits(
        input_size=g.input_size,
        kernel_size=g.kernel_size,
        stride=g.stride,
        dilation=g.dilation,
        output_padding=int_tuple(output_padding, "output_padding", nd),
        padding=None if isinstance(padding, str) else int_tuple(padding, "padding", nd),
    )
    config = {
        "ndim": nd,
        "input_size": list(g.input_size),
        "kernel_size": list(g.kernel_size),
        "stride": list(g.stride),
        "padding": padding if isinstance(padding, str) else list(int_tuple(padding, "padding", nd)),
        "output_padding": list(int_tuple(output_padding, "output_padding", nd)),
        "dilation": list(g.dilation),
        "values": values,
        "seed": int(seed),
        "limits": LIMITS,
    }
    if values == "given":
        import numpy as np

        x, w = np.asarray(input, dtype=float), np.asarray(weight, dtype=float)
        if x.shape != g.input_size or w.shape != g.kernel_size:
            raise ValueError(
                f"input and weight must have shapes input_size={g.input_size} and kernel_size={g.kernel_size}, "
                f"got {x.shape} and {w.shape}"
            )
        config["given"] = [
            {"shape": list(x.shape), "values": _finite_json(x.ravel().tolist())},
            {"shape": list(w.shape), "values": _finite_json(w.ravel().tolist())},
        ]
        config["given_label"] = str(label)
    folder = resources.files("tconv.explain") / "assets"
    page = (folder / "explorer.html").read_text(encoding="utf-8")
    css = (folder / "explorer.css").read_text(encoding="utf-8")
    js = "\n".join((folder / name).read_text(encoding="utf-8") for name in ("spellings.js", "explorer.js"))
    return page.replace("/*__CSS__*/", css).replace("/*__JS__*/", js).replace("/*__CONFIG__*/", _script_json(config))


def write_explorer(path: str | Path, **config) -> Path:
    """Write :func:`explorer_html` to ``path`` (keyword arguments as for it)."""
    path = Path(path)
    path.write_text(explorer_html(**config), encoding="utf-8")
    return path
