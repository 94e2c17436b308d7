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

The page's numbers are checked against :func:`tconv.conv_transpose` in a real
headless browser by the test suite (``tests/explain/test_explorer.py``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from .._validate import int_tuple, is_int
from ..geometry import conv_transpose_geometry

__all__ = ["explorer_html", "write_explorer"]

VALUE_MODES = ("sequential", "random", "ones")


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
    ``weight`` (single channel, shaped ``input_size`` and ``kernel_size``), used
    while the page's sizes match theirs and named ``label`` in the page.

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
            {"shape": list(x.shape), "values": x.ravel().tolist()},
            {"shape": list(w.shape), "values": w.ravel().tolist()},
        ]
        config["given_label"] = label
    folder = resources.files("tconv.explain") / "assets"
    page = (folder / "explorer.html").read_text(encoding="utf-8")
    css = (folder / "explorer.css").read_text(encoding="utf-8")
    js = "\n".join((folder / name).read_text(encoding="utf-8") for name in ("spellings.js", "explorer.js"))
    # json.dumps cannot produce "</script>"-breaking text for these ints and strings, but keep it safe
    blob = json.dumps(config).replace("</", "<\\/")
    return page.replace("/*__CSS__*/", css).replace("/*__JS__*/", js).replace("/*__CONFIG__*/", blob)


def write_explorer(path: str | Path, **config) -> Path:
    """Write :func:`explorer_html` to ``path`` (keyword arguments as for it)."""
    path = Path(path)
    path.write_text(explorer_html(**config), encoding="utf-8")
    return path
