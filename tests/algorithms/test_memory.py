"""The memory budget holds on every path: the peak of temporaries measured with tracemalloc.

Every algorithm of both operators, the gradients and the matrix functions, crossed with a table of
geometries (large kernels, large dilations, 1-d to 3-d, depthwise), with the compiled kernels and
with NumPy alone: each call either keeps what it allocates beyond its result within the budget (plus
the packed weights and a small allowance), or is refused before it starts with a ValueError naming
the budget. Which of the two is decided by the algorithm's own estimate of its smallest piece; the
measurement checks that the estimate and the code agree.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass

import numpy as np
import pytest

import tconv

BUDGET = 2**20
SLACK = 256 * 2**10  # small arrays: tap tables of a tile, per-thread buffers, index vectors


@dataclass(frozen=True)
class Geo:
    id: str
    x: tuple
    w: tuple
    kwargs: dict

    def arrays(self):
        rng = np.random.default_rng(0)
        return rng.standard_normal(self.x, dtype=np.float32), rng.standard_normal(self.w, dtype=np.float32)


GEOMETRIES = [
    Geo("dcgan-k4s2", (4, 32, 32, 32), (32, 16, 4, 4), dict(stride=2, padding=1)),
    Geo("large-kernel", (1, 8, 16, 16), (8, 8, 16, 16), {}),
    Geo("large-dilation", (1, 4, 6, 6), (4, 4, 3, 3), dict(dilation=40)),
    Geo("1d-long-kernel", (2, 8, 64), (8, 4, 512), dict(stride=4)),
    Geo("1d-huge-dilation", (1, 2, 8), (2, 2, 300), dict(dilation=300)),
    Geo("3d-k3s2", (1, 8, 12, 12, 12), (8, 8, 3, 3, 3), dict(stride=2, padding=1, output_padding=1)),
    Geo("depthwise", (2, 32, 32, 32), (32, 1, 4, 4), dict(stride=2, padding=1, groups=32)),
    Geo("1d-vocoder-k16s8", (2, 64, 400), (64, 32, 16), dict(stride=8, padding=4)),  # Winograd's 1-d form
    Geo("stride1-3x3", (2, 32, 40, 40), (32, 32, 3, 3), dict(padding=1)),  # Winograd's F(2x2, 3x3)
]
IDS = [g.id for g in GEOMETRIES]


def measure(call):
    """``(result, extra)``: the call's result and its peak allocation beyond the result, in bytes."""
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    parts = result if isinstance(result, tuple) else (result,)
    held = 0
    for part in parts:
        if isinstance(part, np.ndarray):
            held += part.nbytes
        elif hasattr(part, "indptr"):  # a scipy.sparse CSR matrix: its three arrays
            held += part.data.nbytes + part.indices.nbytes + part.indptr.nbytes
    return result, peak - held


def check(call, weight_bytes):
    """The call keeps within the budget, or is refused up front (allocating next to nothing)."""
    with tconv.options(memory_budget=BUDGET):
        try:
            call()  # outside the trace: numba compiles (and caches) the kernels it needs
        except ValueError as error:
            assert "memory_budget" in str(error)
            tracemalloc.start()
            try:
                with pytest.raises(ValueError, match="memory_budget"):
                    call()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert peak < SLACK, f"refused only after allocating {peak / 2**20:.2f} MiB"
            return "refused"
        _, extra = measure(call)
    assert extra <= BUDGET + 2 * weight_bytes + SLACK, f"{extra / 2**20:.2f} MiB beyond the result (budget 1 MiB)"
    return "ran"


#: The reference algorithms have no compiled path; the matrix one builds a matrix per output tile, one
#: tap at a time, which takes long for large kernels under a 1 MiB budget: it is measured on the
#: geometries with at most 64 taps.
REFERENCE = ("scatter", "dilate", "matrix")


def crossed(algorithms, reference=REFERENCE):
    """(geometry, algorithm, compiled) triples: the reference algorithms once (NumPy only), the
    matrix one on kernels of at most 64 taps."""
    for geo in GEOMETRIES:
        for algorithm in algorithms:
            for compiled in (True, False):
                if (algorithm in reference and compiled) or (algorithm == "matrix" and np.prod(geo.w[2:]) > 64):
                    continue
                yield pytest.param(
                    geo, algorithm, compiled, id=f"{geo.id}-{algorithm}-{'compiled' if compiled else 'numpy'}"
                )


@pytest.mark.parametrize("geo, algorithm, compiled", list(crossed(tconv.algorithms())))
def test_conv_transpose_budget(geo, algorithm, compiled):
    x, w = geo.arrays()
    with tconv.options(compiled=compiled):
        check(lambda: tconv.conv_transpose(x, w, **geo.kwargs, algorithm=algorithm), w.nbytes)


@pytest.mark.parametrize("geo, algorithm, compiled", list(crossed(tconv.algorithms("conv"), ("direct", "matrix"))))
def test_conv_budget(geo, algorithm, compiled):
    x, w = geo.arrays()
    window = {k: v for k, v in geo.kwargs.items() if k != "output_padding"}
    big = tconv.conv_transpose(x, w, **geo.kwargs, algorithm="gemm")  # the convolution's input
    with tconv.options(compiled=compiled):
        check(lambda: tconv.conv(big, w, **window, algorithm=algorithm), w.nbytes)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("geo", GEOMETRIES, ids=IDS)
def test_gradients_budget(geo, compiled):
    x, w = geo.arrays()
    dy = tconv.conv_transpose(x, w, **geo.kwargs, algorithm="gemm")
    with tconv.options(compiled=compiled):
        check(lambda: tuple(tconv.conv_transpose_backward(dy, x, w, **geo.kwargs)), w.nbytes)


@pytest.mark.parametrize("geo", GEOMETRIES, ids=IDS)
def test_conv_matrix_budget(geo):
    _, w = geo.arrays()
    window = {k: v for k, v in geo.kwargs.items() if k not in ("output_padding", "groups")}
    big = tconv.conv_transpose_output_size(
        geo.x[2:], geo.w[2:], **{k: v for k, v in geo.kwargs.items() if k != "groups"}
    )
    groups = geo.kwargs.get("groups", 1)
    check(lambda: tconv.conv_matrix(w, big, groups=groups, **window), w.nbytes)
    check(lambda: tconv.conv_transpose_matrix(w, geo.x[2:], **geo.kwargs), w.nbytes)


def test_the_issue_cases_are_refused_or_fit():
    """The measured cases of issue 11: gemm with a large kernel under 4 MiB is refused up front (it
    used 65 MiB and ran 14x slower); "auto" picks an algorithm that fits; conv_matrix of a
    (64, 64, 3, 3) weight over 256x256 is refused before allocating (it reached 4 GB)."""
    x = np.ones((1, 16, 32, 32), np.float32)
    w = np.ones((16, 16, 32, 32), np.float32)
    with tconv.options(memory_budget=4 * 2**20):
        with pytest.raises(ValueError, match=r"algorithm='gemm' needs at least 64\.\d MiB .*memory_budget=4194304"):
            tconv.conv_transpose(x, w, algorithm="gemm")
        _, extra = measure(lambda: tconv.conv_transpose(x, w))
        assert extra <= 4 * 2**20 + 2 * w.nbytes + SLACK
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="more than this machine's memory"):
            tconv.conv_matrix(np.ones((64, 64, 3, 3)), (256, 256))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20
