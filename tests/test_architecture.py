"""docs/architecture.md's map is the code's: every module sits in one layer and imports only downwards."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from helpers import oracle

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "figures" / "architecture" / "layers.py"


def _layers():
    spec = importlib.util.spec_from_file_location("layers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LAYERS = _layers()
GRAPH = LAYERS.imports()


def test_every_module_is_in_exactly_one_layer():
    placed = [name for _, _, units in LAYERS.LAYERS for name in units]
    assert len(placed) == len(set(placed))
    assert set(GRAPH) == set(placed) | set(LAYERS.FACADE)
    for name in placed:
        assert (ROOT / "src" / "tconv" / name).is_dir() or (ROOT / "src" / "tconv" / f"{name}.py").is_file(), name


@pytest.mark.parametrize("name", sorted(set(GRAPH) - set(LAYERS.FACADE)))
def test_imports_point_down(name):
    upward = {dep for dep in GRAPH[name] if LAYERS.layer_of(dep) > LAYERS.layer_of(name)}
    assert not upward, f"{name} (layer {LAYERS.layer_of(name) + 1}) imports {sorted(upward)} from a layer above"


def test_the_index_arithmetic_imports_nothing_numeric():
    for name in LAYERS.LAYERS[0][2]:
        path = ROOT / "src" / "tconv" / f"{name}.py"
        top_level = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
        assert not any("numpy" in line for line in top_level), (name, top_level)


def test_the_import_graph_is_read(tmp_path):
    """The reader sees relative, absolute and function-level imports (so the checks above can fail)."""
    package = tmp_path / "tconv"
    (package / "_algorithms").mkdir(parents=True)
    (package / "geometry.py").write_text("def f():\n    from .ops import run\n")
    (package / "ops.py").write_text("import tconv.kernels\n")
    (package / "_algorithms" / "__init__.py").write_text("from ..geometry import Geometry\n")
    graph = LAYERS.imports(package)
    assert graph["geometry"] == {"ops"} and graph["ops"] == {"kernels"} and graph["_algorithms"] == {"geometry"}


def test_the_picture_is_drawn(tmp_path):
    oracle("matplotlib")
    image = oracle("PIL.Image")
    path = LAYERS.draw(tmp_path / "layers.png")
    assert image.open(path).size[0] >= 900
