"""Shared test helpers: oracle imports, asserting comparisons, and a naive reference."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import itertools
import os
import shutil
import signal
import tracemalloc

import numpy as np
import pytest

#: Set by conftest from ``--oracles``; True unless the run opted out.
ORACLES_REQUIRED = True

#: Every framework the suite uses as an oracle, with the pip requirement that provides it.
ORACLES = {
    "torch": "torch==2.13.0",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
    "jax": "jax",
    "scipy": "scipy",
    "numba": "numba",
    # issue 6 (artifacts, pictures, explorer page)
    "matplotlib": "matplotlib>=3.7",
    "PIL": "pillow",
    "tensorflow": "tensorflow-cpu",
    "keras": "keras>=3",
    "playwright": "playwright",
    "ml_dtypes": "ml_dtypes (comes with jax)",
    "dask": "dask[array,distributed]>=2024.1",
    "distributed": "dask[array,distributed]>=2024.1",
    "zarr": "zarr>=2.16",
    "jaxlib": "jaxlib",
    # issue 12 (tconv audit): the converters and exporters its tables are checked against
    "onnx2torch": "onnx2torch==1.5.15",
    "tf2onnx": "tf2onnx==1.17.0",
    "onnxscript": "onnxscript==0.7.2",
    "h5py": "h5py>=3.7",
}


def _torchvision_stand_in() -> None:
    """Let onnx2torch import next to the CPU torch.

    onnx2torch imports torchvision at import time (for its NMS and RoiAlign converters only); the
    torchvision wheels on PyPI are built against CUDA torch and cannot load their ops next to this
    project's CPU torch (``RuntimeError: operator torchvision::nms does not exist``). Then a stand-in
    ``torchvision`` module without ops is installed: the ConvTranspose converter the tests run never
    touches torchvision.
    """
    import sys
    import types

    try:
        import torchvision  # noqa: F401
    except Exception:  # the CUDA build of torchvision next to the CPU torch
        for module in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[module]
        stand_in, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")

        def unavailable(*args, **kwargs):
            raise RuntimeError("torchvision is not usable next to the CPU torch (a stand-in module)")

        ops.nms = ops.roi_align = ops.box_convert = unavailable
        stand_in.ops = ops
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = stand_in, ops


def oracle(name: str):
    """Import an oracle framework; fail the test if it is missing and oracles are required."""
    if name == "onnx2torch" and importlib.util.find_spec("torch") is not None:
        _torchvision_stand_in()
    try:
        return importlib.import_module(name)
    except ImportError as error:
        message = f"oracle {name!r} is not installed ({ORACLES.get(name, name)}): {error}"
        if ORACLES_REQUIRED:
            pytest.fail(message + " -- install the test extra, or run with --oracles=optional")
        pytest.skip(message)


#: Programs (Debian packages) the suite drives as oracles, with the package that provides them.
EXECUTABLES = {
    "chromium": ("/usr/bin/chromium", "apt-get install -y chromium"),
}


def oracle_executable(name: str) -> str:
    """The path of an oracle program; fail the test if it is missing and oracles are required."""
    default, package = EXECUTABLES[name]
    path = default if os.access(default, os.X_OK) else shutil.which(name)
    if path is None:
        message = f"oracle program {name!r} is not installed ({package})"
        if ORACLES_REQUIRED:
            pytest.fail(message + " -- install it, or run with --oracles=optional")
        pytest.skip(message)
    return path


def module_oracle(name: str):
    """:func:`oracle` for a test module that needs the framework at import time (module-level skip)."""
    if ORACLES_REQUIRED:
        return oracle(name)
    return pytest.importorskip(name, reason=f"oracle {name!r} is not installed ({ORACLES.get(name, name)})")


def tolerance(dtype) -> float:
    dtype = np.dtype(dtype)
    if dtype.name == "bfloat16":  # ml_dtypes': 8 bits of mantissa
        return 1e-2
    if dtype in (np.float16,):
        return 2e-3
    if dtype in (np.float32, np.complex64):
        return 2e-6
    return 1e-12


def assert_close(actual, expected, *, dtype=None, rtol=None, atol=None, scale=None) -> None:
    """Assert shape, then dtype, then values, with a dtype-aware tolerance.

    The absolute tolerance is relative to ``scale`` (default: the largest magnitude
    in ``expected``, at least 1), so sums of many large terms compare fairly.
    """
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    if dtype is not None:
        assert actual.dtype == np.dtype(dtype), f"dtype {actual.dtype} != expected {np.dtype(dtype)}"
    eps = tolerance(actual.dtype)
    rtol = 10 * eps if rtol is None else rtol
    if scale is None:
        scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    atol = 10 * eps * scale if atol is None else atol
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def naive_conv_transpose(x, w, bias, stride, dilation, groups, crop_begin, output_size):
    """A deliberately simple reference: one Python loop per element and tap.

    ``x`` is ``(N, C_in, *i)``, ``w`` ``(C_in, C_out/groups, *k)``. Every input
    element ``x[n, ci, j]`` times every tap ``w[ci, co, t]`` is added at position
    ``s*j + d*t - crop_begin`` of the output when that lies inside ``output_size``.
    """
    x = np.asarray(x, dtype=np.complex128 if np.iscomplexobj(x) or np.iscomplexobj(w) else np.float64)
    n, c_in = x.shape[:2]
    c_in_g, c_out_g = c_in // groups, w.shape[1]
    y = np.zeros((n, c_out_g * groups, *output_size), dtype=x.dtype)
    for b, ci in itertools.product(range(n), range(c_in)):
        g = ci // c_in_g
        for j in itertools.product(*(range(v) for v in x.shape[2:])):
            for co in range(c_out_g):
                for t in itertools.product(*(range(v) for v in w.shape[2:])):
                    o = tuple(s * jj + d * tt - cb for s, jj, d, tt, cb in zip(stride, j, dilation, t, crop_begin))
                    if all(0 <= oo < size for oo, size in zip(o, output_size)):
                        y[(b, g * c_out_g + co, *o)] += x[(b, ci, *j)] * w[(ci, co, *t)]
    if bias is not None:
        y += np.asarray(bias).reshape(-1, *(1,) * len(output_size))
    return y


def full_size(i, k, s, d):
    """Full (uncropped) transposed-convolution output size per axis."""
    return tuple((ii - 1) * ss + dd * (kk - 1) + 1 for ii, kk, ss, dd in zip(i, k, s, d))


def window(full, begin, size):
    """The window ``[begin, begin + size)`` of an array's spatial axes (from axis 2), zeros outside."""
    out = np.zeros(full.shape[:2] + tuple(size), dtype=full.dtype)
    src, dst = [], []
    for b, n, f in zip(begin, size, full.shape[2:]):
        lo, hi = max(b, 0), min(b + n, f)
        if lo >= hi:
            return out
        src.append(slice(lo, hi))
        dst.append(slice(lo - b, hi - b))
    out[(Ellipsis, *dst)] = full[(Ellipsis, *src)]
    return out


def torch_conv_transpose(x, w, bias, stride, padding, output_padding, groups, dilation):
    """PyTorch's functional conv_transpose{1,2,3}d on NumPy arrays (channels-first)."""
    torch = oracle("torch")
    f = {
        1: torch.nn.functional.conv_transpose1d,
        2: torch.nn.functional.conv_transpose2d,
        3: torch.nn.functional.conv_transpose3d,
    }[w.ndim - 2]
    t = lambda a: None if a is None else torch.from_numpy(np.array(a, copy=True))  # noqa: E731
    with torch.no_grad():
        return f(t(x), t(w), t(bias), stride, padding, output_padding, groups, dilation).numpy()


def torch_conv(x, w, bias, stride, padding, dilation, groups):
    """PyTorch's functional conv{1,2,3}d on NumPy arrays (channels-first)."""
    torch = oracle("torch")
    f = {1: torch.nn.functional.conv1d, 2: torch.nn.functional.conv2d, 3: torch.nn.functional.conv3d}[w.ndim - 2]
    t = lambda a: None if a is None else torch.from_numpy(np.array(a, copy=True))  # noqa: E731
    with torch.no_grad():
        return f(t(x), t(w), t(bias), stride, padding, dilation, groups).numpy()


def to_layout(x, layout):
    """Channels-first array -> the given layout."""
    return x if layout == "channels_first" else np.moveaxis(x, 1, -1)


def from_layout(y, layout):
    """Array in the given layout -> channels-first."""
    return y if layout == "channels_first" else np.moveaxis(y, -1, 1)


def run_json_script(script: str, data, **env):
    """Run ``script`` in a fresh interpreter (a framework set up differently: another Keras backend, TensorFlow
    without oneDNN), ``data`` as JSON on its stdin, ``env`` added to the environment; its last line, as JSON."""
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        env=dict(os.environ, **env),
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def docs_script(name: str):
    """The module of the script ``docs/bench/<name>.py`` (a measurement of docs/performance.md), loaded
    from its file (docs/bench is no package)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def within_budget(budget, minimum, call):
    """``call()`` under ``memory_budget=budget``: refused up front with a ValueError naming the budget
    when its smallest piece needs more than ``budget`` bytes (``minimum()``, asked under that budget),
    else its result."""
    import pytest

    import tconv

    with tconv.options(memory_budget=budget):
        if minimum() > budget:
            with pytest.raises(ValueError, match="memory_budget"):
                call()
            return None
        return call()


@contextlib.contextmanager
def no_hang(seconds: int = 60):
    """Fail (``TimeoutError``) instead of hanging when the block runs longer than ``seconds``.

    A guard for calls that used to loop over a parameter's value (``range(stride)``): the limit
    is generous, far above the milliseconds the calls take, so it measures nothing but a hang.
    """

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: the work grows with a parameter's value")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def peak_memory(function, *args, **kwargs):
    """``(result, peak bytes)`` of one call, measured with tracemalloc (NumPy's allocations included)."""
    tracemalloc.start()
    try:
        result = function(*args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
