"""Collection guards for optional frameworks outside tests/ (doctests of modules and pages).

Some modules and documentation pages need an optional framework to import or to
run their examples (the table below). By default (``--oracles=required``) they are
collected anyway, so a missing framework fails the run loudly (and
``tests/test_oracles.py`` says which). With ``--oracles=optional`` (a partial local
install) they are not collected when a framework they need is missing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

#: Files (relative to the repository root) and the top-level modules their doctests need.
NEEDS = {
    "src/tconv/torch.py": ("torch",),
    "src/tconv/_algorithms/numba_kernels.py": ("numba",),
    "src/tconv/dask.py": ("dask",),
    "src/tconv/explain/pictures.py": ("matplotlib",),
    "src/tconv/examples/dask_upsample.py": ("dask", "distributed", "zarr"),
    "src/tconv/examples/train_upsampler.py": ("matplotlib",),
    "README.md": ("torch", "dask", "keras"),
    "docs/api.md": ("torch",),
    "docs/audit.md": ("keras", "h5py", "torch", "jax", "matplotlib"),
    "docs/dask.md": ("dask", "distributed", "zarr"),
    "docs/design.md": ("keras",),
    "docs/frameworks.md": ("jax",),
    "docs/learning.md": ("torch", "matplotlib"),
    "docs/seen-three-ways.md": ("matplotlib",),
    "docs/testing.md": ("matplotlib",),
}

ROOT = Path(__file__).resolve().parent


def pytest_addoption(parser):
    parser.addoption(
        "--oracles",
        choices=("required", "optional"),
        default="required",
        help="required (default): a missing oracle framework fails its tests; optional: they skip",
    )


def _missing(path) -> tuple[str, ...]:
    """The modules a file needs (per :data:`NEEDS`) that are not installed."""
    try:
        relative = Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return ()
    return tuple(name for name in NEEDS.get(relative, ()) if importlib.util.find_spec(name) is None)


def pytest_collection_modifyitems(config, items):
    """Files given directly as test paths (README.md) are collected whatever the hook below says."""
    if config.getoption("--oracles") != "optional":
        return
    import pytest

    for item in items:
        missing = _missing(item.path)
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"needs {', '.join(missing)} (--oracles=optional)"))


def pytest_ignore_collect(collection_path, config):
    if config.getoption("--oracles") != "optional":
        return None
    return True if _missing(collection_path) else None
