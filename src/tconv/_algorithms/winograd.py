"""The ``"winograd"`` algorithm of ``conv_transpose``: fewer multiplications for 3x3 stride-1 and 4x4 stride-2 layers.

Two forms of Winograd's minimal filtering (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2016), both on 4x4 input tiles and the points
0, 1, -1 and infinity (so with the same input transform ``B^T d B``):

- **stride 1, 3x3** -- the layer is the correlation of its input with the flipped
  kernel; F(2x2, 3x3) computes each 2x2 block of it from the 4x4 tile under it with
  16 multiplications per channel pair instead of 36;
- **stride 2, 4x4** (DCGAN, pix2pix, the decoders' k4 s2 up-sampling) -- each of the
  four output phases ``(o_h mod 2, o_w mod 2)`` is the correlation of the input with a
  2x2 slice of the kernel, ``z[m] = x[m-1] w[φ+2] + x[m] w[φ]`` along each axis (in the
  uncropped output ``o + crop = 2m + φ``), and all four read the same 2x2 input windows.
  F(3x3, 2x2) computes each phase's 3x3 block from the 4x4 tile under it with 16
  multiplications instead of 36, so one transformed tile serves the four phases: 64
  multiplications for 36 outputs of 4 taps.

Per tile ``Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A``, summed over the input channels: the
input and output transforms are compiled passes of additions (``winograd_input``,
``winograd_output`` of :mod:`.numba_kernels`), the sums over channels 16 GEMMs,
``M[ξ] = U[ξ] @ V[ξ]`` with ``U[ξ]`` the transformed weight ``(P*C_out, C_in)`` of the
``P`` phases (``winograd_weight``, in double precision, kept by a prepared call) and
``V[ξ]`` the transformed tiles ``(C_in, T)``. The work is cut into units (a block of
samples, or a band of tile rows of one sample) whose transformed tiles and products fit
a core's L2 cache (:data:`TILE_BYTES`); each thread takes units one after the other and
runs all three steps of a unit while its data are in that core's cache (single-threaded
BLAS), as :func:`tconv._algorithms.gemm.gemm_tiled` does with its columns.

It applies to 2-d layers with those kernels and strides, dilation 1, one group, real
float32 or float64, with the compiled kernels; any other call runs ``"gemm"``. The
transforms add and subtract before multiplying, so the float32 error is about twice a
direct sum's (``docs/performance.md`` has the measurements); non-finite values, and
values large enough that a transform could overflow where the direct sum would not,
go to ``"gemm"`` too (:func:`_safe`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._options import effective
from ..geometry import Geometry
from . import blas as _blas
from . import compiled as _compiled
from . import gemm
from .problem import Problem
from .workspace import scratch

__all__ = ["applies", "minimum", "multiplications", "preferred", "run", "transformed_weight"]

#: The weight transforms ``G`` of F(2, 3) and F(3, 2) on the points 0, 1, -1, infinity.
G_3 = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
G_2 = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, -0.5], [0.0, 1.0]])
#: Bytes of one unit's transformed tiles and products, per thread: about two cores' L2 caches (2 MiB
#: each on the machines of docs/performance.md), within their shared L3. Measured on two layers from
#: 0.5 to 64 MiB: slower below 2 MiB (smaller GEMMs), the same within noise from 4 to 16 MiB.
TILE_BYTES = 4 * 2**20
#: Inputs and weights whose largest magnitudes multiply to more than this (times the channels) go to
#: ``"gemm"``: the transforms' sums of up to 16 values could overflow where the direct sums do not.
_OVERFLOW_MARGIN = 2.0**-10


class Form(NamedTuple):
    """The Winograd form of a layer: ``step`` outputs per tile and axis (and phase), ``taps`` of each
    phase's correlation per axis, the stride ``s`` (``s*s`` phases)."""

    step: int
    taps: int
    s: int

    @property
    def phases(self) -> int:
        return self.s * self.s


#: (kernel, stride) -> its form.
FORMS = {(3, 1): Form(2, 3, 1), (4, 2): Form(3, 2, 2)}


def _form(geometry: Geometry) -> Form | None:
    if geometry.ndim != 2 or geometry.dilation != (1, 1):
        return None
    (k, k2), (s, s2) = geometry.kernel_size, geometry.stride
    if k != k2 or s != s2:
        return None
    return FORMS.get((k, s))


def applies(geometry: Geometry, problem: Problem) -> bool:
    """Whether the Winograd kernels compute this call (else ``"gemm"`` does)."""
    return (
        _form(geometry) is not None
        and problem.groups == 1
        and problem.dtype in (np.dtype(np.float32), np.dtype(np.float64))
        and _compiled.available()
    )


class _Tiles(NamedTuple):
    """Tile rows and columns, and where they start: tile ``t`` reads input rows from
    ``step*t - pad`` and writes output rows from ``s*step*t - off``."""

    th: int
    tw: int
    pad_h: int
    pad_w: int
    off_h: int
    off_w: int


def _tiles(geometry: Geometry, form: Form) -> _Tiles:
    """The tiles covering every output cell: along an axis the uncropped positions ``m`` (output
    ``s*m + φ - crop``) from ``crop // s`` to the last output's, ``step`` per tile."""
    out: list[int] = []
    for o, b in zip(geometry.output_size, geometry.crop_begin):
        m0 = b // form.s
        count = (o - 1 + b) // form.s - m0 + 1
        out += [-(-count // form.step), form.taps - 1 - m0, b - form.s * m0]
    (th, pad_h, off_h), (tw, pad_w, off_w) = out[:3], out[3:]
    return _Tiles(th, tw, pad_h, pad_w, off_h, off_w)


def multiplications(geometry: Geometry, n: int, c_in: int, c_out: int) -> int:
    """The multiplications of the GEMMs (``16*P*C_out*C_in`` per tile), for the cost model; 0 where no
    form applies."""
    form = _form(geometry)
    if form is None:
        return 0
    tiles = _tiles(geometry, form)
    return n * tiles.th * tiles.tw * 16 * form.phases * c_out * c_in


#: ``"auto"`` runs Winograd (float32) where the GEMMs do at least this many times fewer multiplications
#: than the direct sums (the tiles' edges waste some: a k4 s2 layer on a 7x7 input saves only 1.36x) ...
AUTO_SAVING = 1.7
#: ... over at least this many tiles in the call (the weight transform of a plain call, and each unit's
#: pass over the transformed weight, are paid per call, the savings per tile) ...
AUTO_TILES = 400
#: ... with at least this many input channels and output channels times phases (the transforms are
#: passes over ``16*(C_in + P*C_out)`` values per tile, the GEMMs ``16*C_in*P*C_out`` multiplications) ...
AUTO_CHANNELS = 64
#: ... and a transformed weight of at most this many bytes (a 512 -> 256 k4 s2 layer's is 32 MiB: 4x the
#: weight, written on every plain call and read by every unit).
AUTO_WEIGHT_BYTES = 8 * 2**20


def preferred(geometry: Geometry, problem: Problem, n: int) -> bool:
    """Whether ``"auto"`` runs Winograd: float32, where it applies, on enough tiles and channels.

    Measured against ``"gemm"`` (float32, 2 threads, min of 9 interleaved rounds, plain and prepared
    calls; ``docs/performance.md#winograd-fewer-multiplications``): faster on every one of 15 layer
    shapes this rule picks from (stride 1, 3x3: 8 x 128 -> 128 at 32x32 1.15x / 1.35x prepared,
    4 x 64 -> 64 at 56x56 1.17x, 16 x 256 -> 256 at 16x16 1.28x; k4 s2: 1 x 128 -> 64 at 64x64
    1.27x), and not picking the ones where it was slower (a 7x7 input; 256 or 512 input channels on
    8x8 or 16x16 inputs, whose transformed weights are 8-32 MiB and tiles few; 32 channels).
    """
    if not applies(geometry, problem) or problem.dtype != np.dtype(np.float32):
        return False
    form = _form(geometry)
    assert form is not None
    tiles = _tiles(geometry, form)
    count = n * tiles.th * tiles.tw
    products = multiplications(geometry, n, problem.c_in, problem.c_out)
    direct = n * math.prod(geometry.input_size) * problem.c_in * problem.c_out * math.prod(geometry.kernel_size)
    weight_bytes = 16 * problem.c_in * form.phases * problem.c_out * problem.dtype.itemsize
    return (
        direct >= AUTO_SAVING * products
        and count >= AUTO_TILES
        and min(problem.c_in, form.phases * problem.c_out) >= AUTO_CHANNELS
        and weight_bytes <= AUTO_WEIGHT_BYTES
    )


def transformed_weight(w: np.ndarray, form: Form, out: np.ndarray | None = None) -> np.ndarray:
    """``U[ξ, ci, p*C_out + co] = (G g G^T)[ξ // 4, ξ % 4]`` for phase ``p``'s correlation kernel ``g`` of
    ``w[ci, co]`` (``(C_in, C_out, k, k)``): ``(16, C_in, P*C_out)``, computed in double precision
    (on the call's threads) and rounded once; into ``out`` when given."""
    c_in, c_out = w.shape[:2]
    if out is None:
        out = np.empty((16, c_in, form.phases * c_out), dtype=w.dtype)
    gm = G_3 if form.taps == 3 else G_2
    kernel = _compiled.kernels()["winograd_weight"]
    swapped = np.ascontiguousarray(w.transpose(2, 3, 0, 1))  # (k, k, C_in, C_out)
    calls = [(swapped, form.s, gm, out, a, b) for a, b in _compiled.split(c_in, effective().threads)]
    _compiled.parallel_for(kernel, calls)
    return out


def _weight(w: np.ndarray, problem: Problem, form: Form) -> np.ndarray:
    """The transformed weight: kept by a prepared call; for a plain call in the calling thread's scratch
    (fresh memory every call costs page faults: see :mod:`.workspace`)."""
    shape = (16, problem.c_in, form.phases * problem.c_out)
    if problem.packed is not None:
        return problem.pack(("winograd", form), lambda: transformed_weight(w, form))
    return transformed_weight(w, form, scratch("weight", shape, problem.dtype))


def _largest(a: np.ndarray) -> float:
    """The largest magnitude in ``a`` (NaN if it holds a NaN), without a temporary of its size."""
    return float(max(-a.min(), a.max())) if a.size else 0.0


def _safe(x: np.ndarray, w: np.ndarray, problem: Problem) -> bool:
    """Whether Winograd computes this call exactly as ``"gemm"`` would up to rounding: every value
    finite, and the largest input times the largest weight times the input channels well below the
    dtype's largest number (the transforms add up to 16 values before and after multiplying)."""
    largest_w = problem.pack(("winograd largest",), lambda: np.array(_largest(w)))
    bound = _largest(x) * float(largest_w) * problem.c_in
    return math.isfinite(bound) and bound < float(np.finfo(problem.dtype).max) * _OVERFLOW_MARGIN


def _units(n: int, tiles: _Tiles, per_tile: int, target: int, threads: int) -> list[tuple[int, int, int, int]]:
    """Units ``(n0, n1, ty0, ty1)`` of at most ``target`` bytes of tiles (``per_tile`` each; at least
    one tile row), at least ``2*threads`` of them where the problem allows."""
    th, tw = tiles.th, tiles.tw
    most = max(1, target // per_tile)  # tiles per unit
    wanted = 2 * threads
    if th * tw <= most:  # whole samples
        per = min(n, most // (th * tw))
        per = max(1, min(per, -(-n // wanted)))
        if -(-n // per) >= wanted or n == 1 and th == 1:
            return [(a, min(n, a + per), 0, th) for a in range(0, n, per)]
        rows = max(1, -(-th * n // wanted))  # too few samples: bands of rows too
    else:
        rows = max(1, min(th, most // tw))
        rows = max(1, min(rows, -(-th * n // wanted)))
    return [(i, i + 1, r, min(th, r + rows)) for i in range(n) for r in range(0, th, rows)]


def _unit_bytes(form: Form, problem: Problem) -> int:
    """Bytes of one tile's transformed values and products."""
    return 16 * (problem.c_in + form.phases * problem.c_out) * problem.dtype.itemsize


def _band_bytes(form: Form, geometry: Geometry, problem: Problem, rows: int) -> int:
    """Bytes of the channels-last copy of the input rows under ``rows`` tile rows of one sample."""
    return (form.step * rows + 4) * geometry.input_size[1] * problem.c_in * problem.dtype.itemsize


def _weight_bytes(form: Form, problem: Problem) -> int:
    """Bytes of the transformed weight."""
    return 16 * problem.c_in * form.phases * problem.c_out * problem.dtype.itemsize


def minimum(geometry: Geometry, problem: Problem) -> int:
    """The temporary bytes of the smallest piece: the transformed weight, and one tile row's transformed
    tiles and products and input rows -- or ``"gemm"``'s, which runs instead when the budget does not
    hold that (and where Winograd does not apply)."""
    fallback = gemm.minimum(geometry, problem)
    if not applies(geometry, problem):
        return fallback
    form = _form(geometry)
    assert form is not None
    tiles = _tiles(geometry, form)
    row = _unit_bytes(form, problem) * tiles.tw + _band_bytes(form, geometry, problem, 1)
    return min(fallback, _weight_bytes(form, problem) + row)


def winograd(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray | None:
    """The layer by Winograd's minimal filtering (see the module docstring); None when the memory
    budget does not hold the transformed weight and a tile row of one thread."""
    form = _form(geometry)
    assert form is not None
    n, c_in, c_out = x.shape[0], problem.c_in, problem.c_out
    tiles = _tiles(geometry, form)
    per_tile = _unit_bytes(form, problem)
    threads = effective().threads
    free = effective().memory_budget - _weight_bytes(form, problem)
    row = per_tile * tiles.tw + _band_bytes(form, geometry, problem, 1)
    threads = max(1, min(threads, free // row)) if free >= row else 0
    if threads == 0:
        return None
    # a unit's tiles and the input rows it copies (a whole sample's, or its band's), within a thread's share
    target = min(TILE_BYTES, free // threads)
    while True:
        units = _units(n, tiles, per_tile, target, threads)
        largest = max((n1 - n0) * (ty1 - ty0) for n0, n1, ty0, ty1 in units) * tiles.tw
        band_rows = max(ty1 - ty0 for _, _, ty0, ty1 in units)
        need = largest * per_tile + _band_bytes(form, geometry, problem, band_rows)
        if need <= free // threads or target <= per_tile * tiles.tw:
            break
        target //= 2
    if need > free // threads:
        return None
    u = _weight(w, problem, form)  # (16, C_in, P*C_out)
    out = problem.output(n, geometry.output_size)
    kernels = _compiled.kernels()
    transform_in, transform_out = kernels["winograd_input"], kernels["winograd_output"]
    rows = form.phases * c_out
    channels_first = problem.layout == "channels_first"
    band_size = _band_bytes(form, geometry, problem, band_rows) // problem.dtype.itemsize
    claim = _compiled.Claim(len(units))

    def work() -> None:
        v_buffer = scratch("columns", (16 * c_in * largest,), problem.dtype)
        m_buffer = scratch("output", (16 * rows * largest,), problem.dtype)
        band = scratch("channels_last", (band_size,), problem.dtype)
        for index in claim:
            n0, n1, ty0, ty1 = units[index]
            count = (n1 - n0) * (ty1 - ty0) * tiles.tw
            v = v_buffer[: 16 * c_in * count].reshape(16, count, c_in)
            m = m_buffer[: 16 * rows * count].reshape(16, count, rows)
            transform_in(x, channels_first, n0, n1, ty0, ty1, tiles.tw, form.step, tiles.pad_h, tiles.pad_w, band, v)
            np.matmul(v, u, out=m)  # 16 GEMMs over the channels
            transform_out(
                m,
                n0,
                n1,
                ty0,
                ty1,
                tiles.tw,
                form.step,
                form.s,
                tiles.off_h,
                tiles.off_w,
                problem.bias,
                out,
                channels_first,
            )

    with _blas.single_threaded_blas():  # each of our threads runs its own single-threaded GEMMs
        _compiled.run_workers(work, min(threads, len(units)), claim)
    return out


def run(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"winograd"``: Winograd where it applies (:func:`applies`) and is safe
    (:func:`_safe`) and the memory budget holds it, ``"gemm"`` elsewhere."""
    if not applies(geometry, problem) or math.prod(geometry.output_size) == 0 or x.shape[0] == 0:
        return gemm.run(x, w, geometry, problem)
    if not _safe(x, w, problem):
        return gemm.run(x, w, geometry, problem)
    y = winograd(x, w, geometry, problem)
    return gemm.run(x, w, geometry, problem) if y is None else y
