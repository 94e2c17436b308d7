"""Regenerate every figure of docs/seen-three-ways.md (the tests run this script).

    python docs/figures/make_figures.py [OUTDIR]     # default: this folder

Each figure is drawn by :mod:`tconv.explain.pictures` from the library's own computation. Next to
the pictures, ``MANIFEST.json`` records a hash of the numbers each one shows (the
configuration and the operator's output for it): the test suite regenerates the
figures into a temporary folder and compares the hashes with the committed
manifest, so a change in the library's numbers that would make a committed picture
wrong fails until the figures are regenerated. Pixels are compared too when the
installed matplotlib is the one that drew the committed files.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import tconv
from tconv.explain import TENSORFLOW_EXAMPLE
from tconv.explain import pictures as viz

HERE = Path(__file__).resolve().parent

TF_X = TENSORFLOW_EXAMPLE["input"]  # 2x2
TF_W = TENSORFLOW_EXAMPLE["weight"]  # 3x3
RNG = np.random.default_rng(6)
SMALL_X = RNG.integers(-5, 6, size=(3, 3)).astype(float)
SMALL_W = RNG.integers(-3, 4, size=(3, 3)).astype(float)
GROUP_X = np.arange(1.0, 13.0).reshape(4, 3)  # (C_in=4, 3)
GROUP_W = np.array([[[1.0, 2.0, 1.0]], [[-1.0, 0.0, 1.0]], [[2.0, 1.0, 2.0]], [[1.0, -1.0, 1.0]]])  # (4, 1, 3)
LINE_X = np.array([1.0, 2.0, 3.0, 4.0])
LINE_W = np.array([1.0, 2.0, 3.0, 4.0])

#: name -> (kind, problem, options); the problem is (x, w, stride, padding, output_padding, groups, dilation),
#: or for "overlap" (kernel_size, stride, padding, output_padding, dilation)
FIGURES = {
    "tensorflow-example-scatter.gif": ("scatter-gif", (TF_X, TF_W, 2, 0, 0, 1, 1), {}),
    "tensorflow-example-zero-insertion.png": ("zero-insert", (TF_X, TF_W, 2, 0, 0, 1, 1), {"position": (0, 0)}),
    "matrix-2x2-input-3x3-kernel.png": (
        "matrix",
        (np.array([[1.0, 2.0], [3.0, 4.0]]), np.arange(1.0, 10.0).reshape(3, 3), 1, 0, 0, 1, 1),
        {"output_element": (1, 2), "input_element": (0, 1)},
    ),
    "upsample-k4s2p1-scatter.png": ("scatter", (LINE_X, LINE_W, 2, 1, 0, 1, 1), {}),
    "dilated-zero-insertion.gif": (
        "zero-insert-gif",
        (np.array([1.0, -2.0, 3.0]), np.array([1.0, 2.0, 3.0]), 2, 1, 1, 1, 2),
        {},
    ),
    "groups-matrix.png": (
        "matrix",
        (GROUP_X, GROUP_W, 2, 0, 1, 2, 1),
        {"output_element": (3,), "input_element": (1,), "channel": 1},
    ),
    "checkerboard-k3s2.png": ("overlap", ((3, 3), 2, 0, 0, 1), {"weight": np.ones((1, 1, 3, 3))}),
    "even-k4s2p1.png": ("overlap", ((4, 4), 2, 1, 0, 1), {"weight": np.ones((1, 1, 4, 4))}),
    "holes-k3s2d2.png": ("overlap", (3, 2, 0, 0, 2), {"input_size": 6}),
}


def _draw(kind, arguments, options, path):
    options = dict(options)
    if kind != "overlap":
        x, w, *values = arguments
        names = ("stride", "padding", "output_padding", "groups", "dilation")
        problem = viz.problem(x, w, channel=options.pop("channel", 0), **dict(zip(names, values)))
    if kind == "overlap":
        fig = viz.overlap_figure(tconv.artifacts.analyze(*arguments, **options))
    elif kind == "scatter":
        fig = viz.scatter_figure(problem, **options)
    elif kind == "zero-insert":
        fig = viz.zero_insertion_figure(problem, **options)
    elif kind == "matrix":
        fig = viz.matrix_figure(problem, **options)
    elif kind == "scatter-gif":
        return viz.scatter_animation(problem, path=path, duration=900, **options)
    elif kind == "zero-insert-gif":
        return viz.zero_insertion_animation(problem, path=path, duration=700, **options)
    else:
        raise ValueError(f"unknown figure kind {kind!r}")
    return viz.save_figure(fig, path)


def data_hash(kind, problem, options) -> str:
    """A hash of the numbers a figure shows: its configuration and the library's output for it."""
    h = hashlib.sha256(kind.encode())
    parts = list(problem) + [options[k] for k in sorted(options)]
    if kind == "overlap":
        w = options.get("weight")
        ov = tconv.artifacts.overlap(
            w.shape[2:] if w is not None else problem[0], *problem[1:], input_size=options.get("input_size")
        )
        parts += [ov.counts, ov.phase_counts]
    else:
        x, w, stride, padding, output_padding, groups, dilation = problem
        x3, w3 = (x[None], w[None, None]) if w.ndim == x.ndim else (x, w)
        parts.append(tconv.conv_transpose(x3, w3, None, stride, padding, output_padding, groups, dilation))
    for part in parts:
        h.update(np.asarray(part, dtype=float).round(9).tobytes() if not isinstance(part, str) else part.encode())
        h.update(b"|")
    return h.hexdigest()


def main(outdir: str | Path = HERE) -> dict:
    """Draw every figure into ``outdir`` and write its MANIFEST.json; return the manifest."""
    import matplotlib

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = {"matplotlib": matplotlib.__version__, "figures": {}}
    for name, (kind, problem, options) in FIGURES.items():
        _draw(kind, problem, options, outdir / name)
        manifest["figures"][name] = {"data": data_hash(kind, problem, options)}
    (outdir / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else HERE)
