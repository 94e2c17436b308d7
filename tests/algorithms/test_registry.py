"""tconv._algorithms: the table of algorithms, the cost model, and every fast algorithm's shared guarantees.

Each fast algorithm gives the reference result with NumPy alone (compiled kernels off), with any
number of threads, and for every window form. (Every algorithm against PyTorch: tests/test_ops_torch.py.)
"""

from __future__ import annotations

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, from_layout, to_layout

import tconv

FAST = ("gemm", "phase", "direct")
LAYOUTS = ("channels_first", "channels_last")


def reference(case, x, w, b):
    return tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="scatter")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_numpy_only_path(case, algorithm, layout):
    """With compiled kernels off, every fast algorithm still gives the reference result."""
    x, w, b = case.arrays(np.float32)
    with tconv.options(compiled=False):
        y = tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), layout=layout, algorithm=algorithm)
    assert_close(from_layout(y, layout), reference(case, x, w, b), dtype=np.float32)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("algorithm", FAST)
def test_thread_counts(algorithm, threads):
    case = CASES[CASE_IDS.index("2d-dcgan-k4s2p1")]
    x, w, b = case.arrays()
    with tconv.options(threads=threads):
        assert_close(tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm=algorithm), reference(case, x, w, b))


@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize(
    "padding, extra",
    [("same", {}), (((2, -1), (-2, 3)), {}), (1, {"output_size": (16, 15)})],
    ids=["same", "pairs", "output_size"],
)
def test_general_windows(algorithm, padding, extra):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 8, 7))
    w = rng.standard_normal((4, 3, 3, 4))
    kwargs = dict(stride=2, padding=padding, groups=1, **extra)
    expected = tconv.conv_transpose(x, w, **kwargs, algorithm="scatter")
    for layout in LAYOUTS:
        y = tconv.conv_transpose(to_layout(x, layout), w, **kwargs, layout=layout, algorithm=algorithm)
        assert_close(from_layout(y, layout), expected)
