"""The picture of tconv's layers (docs/architecture.md), drawn from the one table below.

    python docs/figures/architecture/layers.py [OUTDIR]     # default: this folder

:data:`LAYERS` is the map of the package: every top-level module or package of
``tconv`` sits in exactly one layer, and a module imports only from its own layer
or the ones below. ``tests/test_architecture.py`` reads the real import graph of
``src/tconv`` (with :func:`imports`) and checks both, so the picture cannot drift
from the code.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "src" / "tconv"

#: Bottom to top: (title, what it holds, its top-level modules/packages of ``tconv``).
LAYERS = (
    (
        "index arithmetic",
        "plain integers, no NumPy: the window model, sizes, halos, checks",
        ("_validate", "geometry", "shape", "chunks", "typing"),
    ),
    (
        "the operator",
        "NumPy kernels, the algorithms and their cost model, the public conv_transpose/conv",
        ("kernels", "_options", "_algorithms", "matrix", "ops"),
    ),
    (
        "built on the operator",
        "gradients, every framework's convention, translation, analysis, layers",
        (
            "grad",
            "prepared",
            "weights",
            "frameworks",
            "compat",
            "translation",
            "artifacts",
            "design",
            "init",
            "_layers",
            "nn",
        ),
    ),
    (
        "surfaces and adapters",
        "what users run: explanations, the model audit, the command line, PyTorch, Dask, the benchmark",
        ("explain", "audit", "cli", "torch", "dask", "benchmark", "examples"),
    ),
)

#: Modules outside the layers: the package's re-export facade and its version.
FACADE = ("__init__", "__main__", "_version")


def unit(module: str) -> str:
    """The top-level unit of a dotted module name inside ``tconv`` (``tconv._algorithms.gemm`` -> ``_algorithms``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(source: Path = SOURCE) -> dict[str, set[str]]:
    """``{unit: the tconv units it imports}``, read from every ``.py`` file (function-level imports too)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source.parent).with_suffix("")
        parts = list(relative.parts)
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        package = module if is_package else module.rsplit(".", 1)[0]
        found = graph.setdefault(unit(module) if module != "tconv" else "__init__", set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("tconv.") and unit(name) in {u for _, _, us in LAYERS for u in us}:
                    found.add(unit(name))
    return graph


def layer_of(name: str) -> int:
    """The index in :data:`LAYERS` of a top-level unit."""
    for index, (_, _, units) in enumerate(LAYERS):
        if name in units:
            return index
    raise KeyError(name)


def draw(path: Path) -> Path:
    """Draw the layers, bottom to top, with the way a call goes down and its result comes back up."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig = Figure(figsize=(11.0, 6.2), dpi=90)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 110)
    ax.set_ylim(0, 62)
    ax.axis("off")
    colors = ("#e8f1fa", "#eaf6ea", "#fdf3e1", "#f6e8f3")
    band, gap, left, width = 12.0, 2.0, 2.0, 82.0
    for index, ((title, holds, units), color) in enumerate(zip(LAYERS, colors)):
        y = 4 + index * (band + gap)
        ax.add_patch(FancyBboxPatch((left, y), width, band, boxstyle="round,pad=0.3", fc=color, ec="#667"))
        ax.text(left + 1.2, y + band - 2.2, f"{index + 1}. {title}", fontsize=12, weight="bold", va="center")
        ax.text(left + 1.2, y + band - 4.6, holds, fontsize=9.5, color="#333", va="center")
        labels = [name + ("/" if (SOURCE / name).is_dir() else "") for name in units]
        scale = (width - 1.0) / sum(len(label) + 3 for label in labels)  # box widths follow the names
        x = left + 0.6
        for label in labels:
            box = (len(label) + 3) * scale
            ax.add_patch(FancyBboxPatch((x, y + 1.2), box - 1.0, 3.6, boxstyle="round,pad=0.2", fc="white", ec="#889"))
            ax.text(x + (box - 1.0) / 2, y + 3.0, label, fontsize=9.5, ha="center", va="center", family="monospace")
            x += box
    top, bottom = 4 + 3 * (band + gap) + band, 4
    ax.add_patch(FancyArrowPatch((90, top), (90, bottom + 2), arrowstyle="-|>", mutation_scale=18, lw=2, color="#345"))
    ax.add_patch(
        FancyArrowPatch((100, bottom + 2), (100, top), arrowstyle="-|>", mutation_scale=18, lw=2, color="#585")
    )
    ax.text(
        88.5,
        (top + bottom) / 2,
        "a call goes down: imports only point down",
        rotation=90,
        fontsize=10,
        ha="center",
        va="center",
    )
    ax.text(98.5, (top + bottom) / 2, "its result comes back up", rotation=90, fontsize=10, ha="center", va="center")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


if __name__ == "__main__":
    draw(Path(sys.argv[1] if len(sys.argv) > 1 else HERE) / "layers.png")
