"""What a call of each algorithm costs, estimated from integers before anything is allocated.

Two numbers per algorithm and problem:

- :func:`seconds`: a rough time, the larger share of which is either its
  multiply-adds at the rate of that kind of loop, or the bytes its passes move at
  memory speed (a roofline on constants of the order of this project's 2-core
  machine). Only the *ratios* between algorithms are used: ``"auto"`` keeps its
  measured rules (:func:`tconv._algorithms.choose`) unless the algorithm they name
  would cost many times the cheapest one — which is what happens far from the
  benchmark's layers, for instance a 3-d layer with a huge dilation, whose output is
  mostly holes: the polyphase GEMMs run over the padded grid of the holes, the
  gather writes each output once;
- :func:`minimum`: the temporary bytes of the smallest piece the algorithm can be
  cut into (one sample, or a tile of one output cell), which must fit the memory
  budget.

The model reads the geometry as integers (no tables are built); an algorithm whose
estimate would itself be expensive to form (more than :data:`MAX_PHASES` phases) is
simply not a candidate.
"""

from __future__ import annotations

import math

from ..geometry import Geometry, tap_range
from .problem import Problem

__all__ = ["MAX_PHASES", "phase_cells", "seconds", "useful_flops"]

#: Multiply-adds per second of a BLAS GEMM (float32; float64 half of it): the order of 2 cores.
GEMM_RATE = 100e9
#: Multiply-adds per second of a compiled direct loop (no BLAS).
DIRECT_RATE = 2e9
#: Multiply-adds per second of ``gemm``'s rows straight from the input (:func:`tconv._algorithms.gemm.rows_direct`:
#: compiled loops along rows, no columns): 12-15e9 measured on 1 -> 16 and 1 -> 32 channels, 1-d and 2-d.
ROWS_RATE = 10e9
#: Seconds per row operation of those loops (one input row of one tap into one output row): rows of a
#: few outputs spend more in them than in their multiply-adds (a 3-d depthwise layer at 4^3, k7: 1.2 ms
#: through the rows against 0.35 through ``"direct"``).
ROW_SECONDS = 5e-9
#: Bytes per second of a pass over memory.
PASS_RATE = 10e9
#: Seconds of Python and NumPy overhead per call inside a per-tap loop.
PER_CALL = 20e-6
#: The polyphase algorithm is not a candidate with more phases than this (huge strides).
MAX_PHASES = 4096


def useful_flops(geometry: Geometry, problem: Problem, n: int) -> int:
    """``2*N*prod(i)*C_in*C_out/G*prod(k)``: the multiply-adds of the operator, twice."""
    return 2 * n * math.prod(geometry.input_size) * problem.c_in * problem.cog * math.prod(geometry.kernel_size)


def _pairs(geometry: Geometry, axes: slice = slice(None)) -> int:
    """The (input, tap) pairs that land in the window (the work of a gather or a scatter), on ``axes``."""
    total = 1
    for i, k, s, d, b, o in geometry.axes()[axes]:
        if k > 4096:  # a long kernel: count in closed form, no loop over its taps
            total *= i * k
            continue
        total *= sum(max(0, hi - lo) for lo, hi in (tap_range(d * t - b, s, i, 0, o) for t in range(k)))
    return total


def phase_cells(geometry: Geometry) -> int | None:
    """The cells of one padded sample of the polyphase algorithm, or None with too many phases."""
    if math.prod(min(s, o) for s, o in zip(geometry.stride, geometry.output_size)) > MAX_PHASES:
        return None
    from .phase import _grid

    return _grid(geometry).cells


def seconds(name: str, geometry: Geometry, problem: Problem, n: int, compiled: bool = True) -> float:
    """A rough time of algorithm ``name`` on ``n`` samples (``inf`` if it is not a candidate);
    ``compiled``: whether the compiled passes run (else the NumPy ones)."""
    size = problem.dtype.itemsize
    rate = GEMM_RATE / max(1, size // 4)
    flops = useful_flops(geometry, problem, n) / 2
    p_in, p_out = math.prod(geometry.input_size), math.prod(geometry.output_size)
    kv = math.prod(geometry.kernel_size)
    c_in, c_out = problem.c_in, problem.c_out
    moved = n * (p_in * c_in + p_out * c_out)  # read the input, write the output
    if name == "gemm":
        from . import gemm

        if compiled and gemm.rows_direct(geometry, problem):  # no columns: rows straight from the input
            row_ops = n * problem.cig * c_out * _pairs(geometry, slice(-1)) * geometry.kernel_size[-1]
            macs = n * _pairs(geometry) * problem.cig * c_out
            return macs / ROWS_RATE + row_ops * ROW_SECONDS + moved * size / PASS_RATE
        moved += 2 * n * p_in * kv * c_out  # the columns, written and read
        if not compiled:  # the NumPy col2im: one strided slice-add over the output per tap
            moved += 2 * n * _pairs(geometry) * c_out
            return flops / rate + moved * size / PASS_RATE + kv * PER_CALL
        return flops / rate + moved * size / PASS_RATE
    if name == "im2col":
        if not compiled or any(s != 1 for s in geometry.stride):
            return seconds("gemm", geometry, problem, n, compiled)  # what it runs then
        moved += 2 * n * p_out * kv * c_in  # the columns, written and read (in cache tiles)
        return n * p_out * kv * problem.cig * c_out / rate + moved * size / PASS_RATE
    if name == "phase":
        cells = phase_cells(geometry)
        if cells is None:
            return math.inf
        rows = n * cells  # every tap's GEMM runs over the padded grid, holes included
        # each tap's GEMM reads its window and adds into the accumulator (BLAS beta=1)
        moved += rows * c_in * (1 + kv) + 2 * rows * c_out * kv
        return kv * rows * c_in * problem.cog / rate + moved * size / PASS_RATE
    if name == "direct":
        pairs = _pairs(geometry)
        return n * pairs * problem.cig * c_out / DIRECT_RATE + (moved + n * p_out * c_out) * size / PASS_RATE
    if name == "scatter":
        pairs = _pairs(geometry)
        # per tap: copy the slice, add its contraction; the output zeroed, then copied into place
        moved += n * pairs * (c_in + 3 * c_out) + 2 * n * p_out * c_out
        return flops / rate + moved * size / PASS_RATE + kv * PER_CALL
    if name == "winograd":
        from . import winograd

        products = winograd.multiplications(geometry, n, c_in, problem.cog)
        if not compiled or not products:
            return seconds("gemm", geometry, problem, n, compiled)  # what it runs then
        # the transformed tiles and their products, written and read; the transformed weight, written
        moved += 2 * products // problem.cog + 2 * products // problem.cig
        return products / rate + (moved * size + winograd.weight_bytes(geometry, problem)) / PASS_RATE
    if name == "registers":
        from . import registers

        if not compiled or not registers.applies(geometry, problem):
            return seconds("gemm", geometry, problem, n, compiled)  # what it runs then
        # the useful multiply-adds over the share of the tiles' that are (registers.efficiency); the padded
        # input written
        computed = flops / max(registers.efficiency(geometry, problem), 1e-9)
        return computed / rate + (moved + n * p_in * c_in) * size / PASS_RATE
    raise ValueError(f"no cost model for algorithm {name!r}")
