"""tconv._algorithms.blocking: budgets that force batch blocks and tiles, and the measured peak memory.

Every fast transposed-convolution algorithm runs through the one driver; the convolution and the
weight gradient, which use it too, are checked under tiny budgets in test_im2col.py.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from cases import CASE_IDS, CASES
from helpers import assert_close, from_layout, to_layout, within_budget

import tconv
from tconv import _algorithms
from tconv._algorithms.problem import Problem
from tconv.geometry import conv_transpose_geometry

FAST = ("gemm", "phase", "direct", "im2col", "winograd", "registers")
LAYOUTS = ("channels_first", "channels_last")


def reference(case, x, w, b):
    return tconv.conv_transpose(x, w, b, **case.kwargs(), algorithm="scatter")


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("budget", [1, 3000, 50_000], ids=["1B", "3kB", "50kB"])
@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize("case", CASES[::2], ids=CASE_IDS[::2])
def test_tiny_budgets_block_and_tile(case, algorithm, budget, compiled):
    """Budgets below one sample force batch blocks and output tiles; results do not change."""
    x, w, b = case.arrays()
    for layout in LAYOUTS:
        problem = Problem.of(x, w, b, case.groups, layout, "conv_transpose")
        geometry = conv_transpose_geometry(
            case.size, case.kernel, case.stride, case.padding, case.output_padding, case.dilation
        )

        def minimum(geometry=geometry, problem=problem):
            return _algorithms.get(algorithm).minimum(geometry, problem)

        def call(layout=layout):
            return tconv.conv_transpose(to_layout(x, layout), w, b, **case.kwargs(), layout=layout, algorithm=algorithm)

        with tconv.options(compiled=compiled):
            y = within_budget(budget, minimum, call)
        if y is not None:  # refused up front when even one output cell does not fit (1 B always)
            assert_close(from_layout(y, layout), reference(case, x, w, b))


@pytest.mark.parametrize("algorithm", FAST)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_extra_memory_stays_within_budget(algorithm, layout):
    """Peak memory allocated during the call, minus the result itself, stays under the budget.

    The input is 4 MiB and the result 16 MiB; with a 1 MiB budget the column buffer of one
    sample (4 MiB for gemm, 16 MiB for the whole batch) must be processed in output tiles.
    """
    budget = 2**20
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 64, 64, 64), dtype=np.float32)  # 1 MiB per sample
    if layout == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    groups = 64 if algorithm == "direct" else 1
    w = rng.standard_normal((64, 64 // groups, 2, 2), dtype=np.float32)
    slack = 2 * w.nbytes + 2**20  # packed weights, tap tables, small per-task buffers
    with tconv.options(memory_budget=budget):
        # the same call once outside the trace: numba compiles (and caches) every kernel it needs
        tconv.conv_transpose(x, w, stride=2, groups=groups, layout=layout, algorithm=algorithm)
        tracemalloc.start()
        try:
            y = tconv.conv_transpose(x, w, stride=2, groups=groups, layout=layout, algorithm=algorithm)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert y.nbytes == 16 * 2**20
    assert peak - y.nbytes <= budget + slack, f"extra peak {(peak - y.nbytes) / 2**20:.2f} MiB over a 1 MiB budget"
