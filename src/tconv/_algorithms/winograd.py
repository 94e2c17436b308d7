"""The ``"winograd"`` algorithm of ``conv_transpose``: fewer multiplications, in 1-d and 2-d.

Two forms of Winograd's minimal filtering (Lavin & Gray, "Fast Algorithms for
Convolutional Neural Networks", 2016), both on 4-point input tiles per axis and the
points 0, 1, -1 and infinity (so with the same input transform ``B^T d B``):

- **3 taps at stride 1** -- the layer is the correlation of its input with the flipped
  kernel; F(2x2, 3x3) computes each 2x2 block of it from the 4x4 tile under it with
  16 multiplications per channel pair instead of 36. The same form serves **a kernel of
  twice the stride plus one** (5 at 2: the "same" k5 s2 up-sampling of TensorFlow's DCGAN
  and of many decoders): along an axis phase ``φ`` sums the taps ``w[φ + s*t]``, three
  for ``φ = 0`` and two for the others (a third tap of zero), all over the same input
  windows, so one transformed tile serves every phase: in 2-d 64 multiplications for 16
  outputs of 6.25 taps on average (1.56x fewer; in 1-d 1.25x, which ``"auto"`` leaves);
- **a kernel of twice the stride** (4 at 2: DCGAN, pix2pix, the decoders' k4 s2
  up-sampling; 16 at 8 and 8 at 4: HiFi-GAN's and MelGAN's 1-d up-sampling) -- along an
  axis, output ``o`` with ``o + crop = s*m + φ`` sums two taps, ``z[m] = x[m-1] w[φ+s] +
  x[m] w[φ]``: each of the ``s`` phases is a 2-tap correlation, and all of them read the
  same input windows. F(3x3, 2x2) computes each phase's 3x3 block from the 4x4 tile under
  it with 16 multiplications instead of 36, so one transformed tile serves every phase (in
  2-d 64 multiplications for 36 outputs of 4 taps; in 1-d F(3, 2), 4 for 3 outputs of 2).

Per tile ``Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A`` (in 1-d ``A^T [(G g) ⊙ (B^T d)]``), summed
over the input channels: the input and output transforms are compiled passes of additions
(``winograd_input``, ``winograd_output`` and their ``_1d`` forms in :mod:`.numba_kernels`),
the sums over channels 16 GEMMs (4 in 1-d), ``M[ξ] = V[ξ] @ U[ξ]`` with ``V[ξ]`` the
transformed tiles ``(T, C_in/G)`` and ``U[ξ]`` the transformed weight ``(C_in/G, P*C_out/G)``
of the ``P`` phases (``winograd_weight``, in double precision, kept by a prepared call). The
work is cut into units (a block of samples, or a band of tile rows of one sample -- in 1-d a
run of tiles --, of one group, for one or more blocks of output channels) whose data stay in
a core's cache (:data:`TILE_BYTES`, :data:`BLOCK_WEIGHT_BYTES`); each thread takes units
one after the other and runs all three steps of a unit (single-threaded BLAS), as
:func:`tconv._algorithms.gemm.gemm_tiled` does with its columns.

It applies to 1-d and 2-d layers with those kernels and strides (the same on every axis),
dilation 1, any groups, either layout, real float32 or float64, with the compiled kernels;
any other call runs ``"gemm"``. The transforms add and subtract before multiplying, so the
float32 error is about twice a direct sum's (``docs/performance.md`` has the
measurements); non-finite values, and values large enough that a transform could overflow
where the direct sum would not, go to ``"gemm"`` too (:func:`_safe`). Where ``"auto"`` runs
it: :func:`preferred`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._options import effective
from ..geometry import Geometry
from . import blas as _blas
from . import compiled as _compiled
from . import cost as _cost
from . import gemm
from .problem import Problem
from .workspace import scratch

__all__ = ["applies", "minimum", "multiplications", "preferred", "run", "transformed_weight", "weight_bytes"]

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
    phase's correlation per axis, the stride ``s`` (``s**ndim`` phases), the spatial axes ``ndim``."""

    step: int
    taps: int
    s: int
    ndim: int

    @property
    def phases(self) -> int:
        return self.s**self.ndim

    @property
    def points(self) -> int:
        """Transformed values per tile (and products per channel pair): 4 per axis."""
        return 4**self.ndim


def _form(geometry: Geometry) -> Form | None:
    """F(2, 3) on the ``s`` phases of a kernel of ``2*s + 1`` taps at stride ``s`` (3 at 1, 5 at 2);
    F(3, 2) on the ``s`` phases of a kernel of ``2*s`` taps (4 at 2 in 2-d, 16 at 8 in a vocoder's 1-d
    layer; 2 at 1 too); the same on every axis, 1-d or 2-d, no dilation; None otherwise."""
    if geometry.ndim not in (1, 2) or any(d != 1 for d in geometry.dilation):
        return None
    if len(set(geometry.kernel_size)) != 1 or len(set(geometry.stride)) != 1:
        return None
    k, s = geometry.kernel_size[0], geometry.stride[0]
    if k == 2 * s + 1:
        return Form(2, 3, s, geometry.ndim)
    if k == 2 * s:
        return Form(3, 2, s, geometry.ndim)
    return None


def applies(geometry: Geometry, problem: Problem) -> bool:
    """Whether the Winograd kernels compute this call (else ``"gemm"`` does)."""
    return (
        _form(geometry) is not None
        and problem.dtype in (np.dtype(np.float32), np.dtype(np.float64))
        and _compiled.available()
    )


class _Tiles(NamedTuple):
    """Tile rows and columns, and where they start: tile ``t`` reads input rows from
    ``step*t - pad`` and writes output rows from ``s*step*t - off``. In 1-d the tiles are the rows
    (one tile each: ``tw = 1``), which lets the units split a long signal. ``shift_h[φ]`` (1 or 0)
    moves phase ``φ``'s outputs one input position back within the tile, and ``lead_h[φ]`` is the row
    of its first output among the tile's ``s*step`` (``φ`` unless shifted); the same along the
    columns."""

    th: int
    tw: int
    pad_h: int
    pad_w: int
    off_h: int
    off_w: int
    shift_h: tuple[int, ...]
    shift_w: tuple[int, ...]
    lead_h: tuple[int, ...]
    lead_w: tuple[int, ...]


def _axis_tiles(o: int, b: int, form: Form) -> tuple[int, int, int, tuple[int, ...], tuple[int, ...]]:
    """Along one axis of ``o`` outputs from uncropped position ``b``: tiles, pad, off, shifts, leads.

    Tile ``t`` computes each phase's outputs at ``step`` consecutive positions ``m`` (output ``s*m + φ
    - b``). For a kernel of ``2s`` taps, and at stride 1, every phase starts at the first position
    ``b // s``: with a crop that is not a multiple of the stride, the first ``off = b % s`` rows of
    the first tile fall before the output, and the tiles cover up to ``s*step - 1`` rows more than it
    has. For a kernel of ``2s + 1`` taps at a stride above 1 the tiles follow the output rows instead
    (``ceil(o / (s*step))`` of them, ``off = 0``): with ``ρ = b % s > 0`` a
    tile's rows are phases ``ρ .. s-1`` at positions ``m, m+1`` and ``0 .. ρ-1`` at ``m+1, m+2``.
    Phase 0's three taps fix the window (``x[m-1 .. m+2]``); the phases from ``ρ`` on, of two taps,
    read the first three of its values (shifted: their kernel ``[w[φ+s], w[φ], 0]`` instead of ``[0,
    w[φ+s], w[φ]]``), those below ``ρ`` the last three. On a 32-pixel axis at k5 s2 with a crop of 1
    (TensorFlow's ``"same"``) that is 16 tiles where position-aligned ones took 17 (in 2-d 256 against
    289)."""
    s, step = form.s, form.step
    m0, rho = b // s, b % s
    if form.taps == 3 and s > 1:
        first = m0 + (rho > 0)  # phase 0's first position
        shift = tuple(int(rho > 0 and phase >= rho) for phase in range(s))
        lead = tuple(phase - rho + s * ((rho > 0) - shifted) for phase, shifted in enumerate(shift))
        return -(-o // (s * step)), form.taps - 1 - first, 0, shift, lead
    count = (o - 1 + b) // s - m0 + 1
    return -(-count // step), form.taps - 1 - m0, b - s * m0, (0,) * s, tuple(range(s))


def _tiles(geometry: Geometry, form: Form) -> _Tiles:
    """The tiles covering every output cell, along each axis (:func:`_axis_tiles`)."""
    axes = [_axis_tiles(o, b, form) for o, b in zip(geometry.output_size, geometry.crop_begin)]
    if form.ndim == 1:
        (t, pad, off, shift, lead), none = axes[0], (0,) * form.s
        return _Tiles(t, 1, pad, 0, off, 0, shift, none, lead, none)
    (th, pad_h, off_h, shift_h, lead_h), (tw, pad_w, off_w, shift_w, lead_w) = axes
    return _Tiles(th, tw, pad_h, pad_w, off_h, off_w, shift_h, shift_w, lead_h, lead_w)


def multiplications(geometry: Geometry, n: int, c_in: int, cog: int) -> int:
    """The multiplications of the GEMMs (``4**ndim * P * C_in * C_out/G`` per tile), for the cost model;
    0 where no form applies."""
    form = _form(geometry)
    if form is None:
        return 0
    tiles = _tiles(geometry, form)
    return n * tiles.th * tiles.tw * form.points * form.phases * cog * c_in


#: ``"auto"`` runs Winograd (float32) where the GEMMs do at least this many times fewer multiplications
#: than the direct sums (the tiles' edges waste some: a k4 s2 layer on a 7x7 input saves only 1.36x) ...
AUTO_SAVING = 1.7
#: A prepared plan also from :data:`AUTO_SAVING_REUSED` (1-d F(3, 2): 1.5x) where its GEMMs are at least
#: :data:`AUTO_WIDE` columns wide (output channels times phases): a vocoder's k16 s8 and k8 s4 1-d
#: layers measured 1.04-1.27x ``gemm`` prepared (0.58-1.07x plain), a k4 s2 1-d layer of 64 output
#: channels (128 columns) 0.88x.
AUTO_SAVING_REUSED = 1.45
AUTO_WIDE = 512
#: The form of a kernel of twice the stride plus one (k5 s2: F(2x2, 3x3) on four phases, at most 25/16 =
#: 1.56x fewer multiplications) from this saving, plain or prepared, on at least :data:`AUTO_TILES` tiles
#: either way. On three sweeps of random k5 s2 layers (95 in all: 1-16 samples, 16-512 channels, 4-64
#: pixels a side, six padding forms) the 63 layers the rule picks ran at 0.90-2.1x ``gemm``'s speed
#: plain (six below 1.0), 1.0-1.97x prepared; savings of 1.38 at 0.97x; 128 tiles at 0.64x (0.72x
#: prepared), 144 at 0.99x.
AUTO_SAVING_PHASES = 1.4
#: ... over at least this many tiles in the call (the weight transform of a plain call, and each unit's
#: pass over the transformed weight, are paid per call, the savings per tile: on the 2-d sweep of
#: :data:`AUTO_INPUTS_PER_COLUMN`, with the transform reading the weight as it is, the layers of 256-400
#: tiles within the other bounds ran at 0.79-1.11x ``gemm``'s time, 0.90x in geometric mean, a grouped
#: 256 -> 256 k4 s2 layer, 288 tiles, 0.86-0.90x; it was 400 before; a prepared plan, which
#: transforms its weight once, from :data:`AUTO_TILES_REUSED`: 1.06-1.29x ``gemm`` prepared on every
#: layer measured from 144 tiles, 0.80-0.87x on two of 36 and 72 tiles with 32 MiB weights) ...
AUTO_TILES = 256
AUTO_TILES_REUSED = 128
#: ... with at least this many input channels and output channels times phases per group (the
#: transforms are passes over ``16*(C_in + P*C_out)`` values per tile, the GEMMs ``16*C_in*P*C_out``
#: multiplications; with fewer, ``gemm``'s own small GEMMs and gathers are slow too: FCN's x8 layer,
#: 21 channels and 64 phases, 1.68x; 3-12 columns lost, 0.35-0.86x) ...
AUTO_INPUT_CHANNELS = 16
AUTO_COLUMNS = 32
#: ... and at most this many input channels per group per column of the GEMMs: a bound fitted on
#: measurements, not derived. On a sweep of 160 random 2-d layers (k4 s2 and stride-1 3x3, 1-16
#: groups, 16-512 channels, plain and prepared calls) the layers of many input and few output channels
#: (512 -> 32, 256 -> 16, 512 -> 64 per group, k4 s2) ran 1.15-2.0x slower than ``gemm``; within this
#: bound and the others none lost more than 1.11x. Likely causes: Winograd's GEMMs are ``columns``
#: wide, ``gemm``'s ``k*k*C_out`` (4x as wide at k4 s2), and BLAS is slow on deep narrow products;
#: each input tile's transform is a pass over ``16*C_in`` values, paid once for all columns. In 2-d
#: only: the 1-d layers a prepared plan takes (at least :data:`AUTO_WIDE` columns) include wins beyond
#: it (1024 -> 128 channels at k8 s4, 512 columns: 0.85x ``gemm``'s time; 1024 -> 64 at k16 s8 0.92x) ...
AUTO_INPUTS_PER_COLUMN = 1
#: ... and at least this many output channels per group (the output transform's loops run along one
#: phase's channels: 8 fill half a vector; all 13 layers of 8 per group in that sweep, k4 s2 and
#: stride 1 alike, 16-256 input channels, ran 1.07-2.4x slower than ``gemm``, and groups=8 on
#: 128 -> 64 channels (16 -> 8 per group) 1.10x, where an earlier measurement had found it 1.15-1.48x faster) ...
AUTO_PHASE_CHANNELS = 16
#: ... (where a prepared plan's fewer tiles suffice only from this many of both: FCN's x2 layer,
#: 21 channels on 144 tiles, 0.89x prepared) ...
AUTO_CHANNELS_REUSED = 48
#: ... and a transformed weight of at most this many bytes (a 512 -> 256 k4 s2 layer's is 32 MiB: 4x the
#: weight, written on every plain call and read by every unit; a prepared plan's, written once, up to
#: :data:`AUTO_WEIGHT_BYTES_REUSED`: HiFi-GAN's first 1-d layer, 16 MiB, 1.16x ``gemm`` prepared).
AUTO_WEIGHT_BYTES = 8 * 2**20
AUTO_WEIGHT_BYTES_REUSED = 32 * 2**20


def preferred(geometry: Geometry, problem: Problem, n: int, reused: bool = False) -> bool:
    """Whether ``"auto"`` runs Winograd: float32, where it applies, on enough tiles and channels
    (fewer tiles, and 1-d layers, when the transformed weight is ``reused`` by a prepared plan's calls).

    Measured against ``"gemm"`` (float32, 2 threads, min of 9 interleaved rounds of plain and prepared
    calls, 21 layer shapes, and two random sweeps of 16; the table in
    ``docs/performance.md#winograd-fewer-multiplications``): the plain rule picks 8 of the 21, at
    1.02-1.43x ``gemm``, and none of those where it was slower (0.25-0.91x: few tiles against a large
    transformed weight, or the 1.5x of 1-d F(3, 2)); the prepared rule picks 15, at 1.06-1.56x; on a
    sweep of few-channel layers the plain rule's picks ran at 0.96-1.26x. Refitted since on a sweep of
    160 random 2-d layers (:data:`AUTO_INPUTS_PER_COLUMN`, :data:`AUTO_PHASE_CHANNELS`, :data:`AUTO_TILES`):
    the plain rule's picks there run at 0.52-1.11x ``gemm``'s time, the prepared rule's at 0.51-0.94x.
    """
    if not applies(geometry, problem) or problem.dtype != np.dtype(np.float32):
        return False
    form = _form(geometry)
    assert form is not None
    columns = form.phases * problem.cog
    if problem.cig < AUTO_INPUT_CHANNELS or problem.cog < AUTO_PHASE_CHANNELS or columns < AUTO_COLUMNS:
        return False
    if form.ndim == 2 and problem.cig > AUTO_INPUTS_PER_COLUMN * columns:
        return False
    tiles = _tiles(geometry, form)
    count = n * tiles.th * tiles.tw
    products = multiplications(geometry, n, problem.c_in, problem.cog)
    direct = _cost.useful_flops(geometry, problem, n) // 2  # the direct sums' multiplications
    if form.taps == 3 and form.s > 1:  # k = 2s + 1: its own saving, and as many tiles plain or prepared
        saving, least = direct >= AUTO_SAVING_PHASES * products, AUTO_TILES
    else:
        reused = reused and min(problem.cig, columns) >= AUTO_CHANNELS_REUSED
        saving = direct >= AUTO_SAVING * products or (
            reused and columns >= AUTO_WIDE and direct >= AUTO_SAVING_REUSED * products
        )
        least = AUTO_TILES_REUSED if reused else AUTO_TILES
    return (
        saving
        and count >= least
        and _weight_bytes(form, problem) <= (AUTO_WEIGHT_BYTES_REUSED if reused else AUTO_WEIGHT_BYTES)
    )


#: Bytes of the transformed weight one GEMM reads: larger ones are cut into blocks of output channels
#: (all phases of each), so that a block stays in cache next to the tiles (an 8 MiB transformed weight
#: read whole by each unit of a few tiles made the GEMMs memory-bound).
BLOCK_WEIGHT_BYTES = 2 * 2**20


def _block(form: Form, problem: Problem) -> int:
    """Output channels per block of the transformed weight (:data:`BLOCK_WEIGHT_BYTES`), per group."""
    per_channel = form.points * problem.cig * form.phases * problem.dtype.itemsize
    return max(1, min(problem.cog, BLOCK_WEIGHT_BYTES // per_channel))


def transformed_weight(
    w: np.ndarray, form: Form, block: int, shifts: tuple[tuple[int, ...], ...], out: np.ndarray | None = None
) -> np.ndarray:
    """``U[ξ, ci, column] = (G g G^T)[ξ // 4, ξ % 4]`` (in 1-d ``(G g)[ξ]``) for phase ``p``'s correlation
    kernel ``g`` of ``w[ci, co]`` (``(C_in, C_out/G, *k)``), the columns in blocks of ``block`` output
    channels of every phase (``winograd_weight`` of :mod:`.numba_kernels`): ``(4**ndim, C_in,
    P*C_out/G)``, computed in double precision (on the call's threads) and rounded once; into ``out``
    when given. ``shifts``: each axis's :attr:`_Tiles.shift_h` (one axis in 1-d)."""
    c_in, cog = w.shape[:2]
    if out is None:
        out = np.empty((form.points, c_in, form.phases * cog), dtype=w.dtype)
    gm = G_3 if form.taps == 3 else G_2
    kernel = _compiled.kernels()["winograd_weight" if form.ndim == 2 else "winograd_weight_1d"]
    weight = np.ascontiguousarray(w)  # the kernel reads each input channel's run as it is
    moved = [np.array(shift, dtype=np.int64) for shift in shifts]
    calls = [(weight, form.s, gm, block, *moved, out, a, b) for a, b in _compiled.split(c_in, effective().threads)]
    _compiled.parallel_for(kernel, calls)
    return out


def _weight(w: np.ndarray, problem: Problem, form: Form, block: int, tiles: _Tiles) -> np.ndarray:
    """The transformed weight: kept by a prepared call (per phase shifts, which follow the crop); for a
    plain call in the calling thread's scratch (fresh memory every call costs page faults: see
    :mod:`.workspace`)."""
    shape = (form.points, problem.c_in, form.phases * problem.cog)
    shifts = (tiles.shift_h, tiles.shift_w)[: form.ndim]
    if problem.packed is not None:
        return problem.pack(("winograd", form, block, shifts), lambda: transformed_weight(w, form, block, shifts))
    return transformed_weight(w, form, block, shifts, scratch("weight", shape, problem.dtype))


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


def _units(n: int, tiles: _Tiles, per_tile: int, target: int, wanted: int) -> list[tuple[int, int, int, int]]:
    """Spans of tiles ``(n0, n1, ty0, ty1)`` of at most ``target`` bytes (``per_tile`` each; at least
    one tile row), at least ``wanted`` of them where the problem allows."""
    th, tw = tiles.th, tiles.tw
    most = max(1, target // per_tile)  # tiles per unit
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


def _unit_bytes(form: Form, problem: Problem, block: int) -> int:
    """Bytes of one tile's transformed values (one group's channels) and products (one block's)."""
    return form.points * (problem.cig + form.phases * block) * problem.dtype.itemsize


def _band_bytes(form: Form, geometry: Geometry, problem: Problem, rows: int) -> int:
    """Bytes of the channels-last copy of one group's input rows under ``rows`` tile rows of a sample
    (in 1-d, its input under ``rows`` tiles)."""
    width = geometry.input_size[1] if form.ndim == 2 else 1
    return (form.step * rows + 4) * width * problem.cig * problem.dtype.itemsize


def _weight_bytes(form: Form, problem: Problem) -> int:
    """Bytes of the transformed weight."""
    return form.points * problem.c_in * form.phases * problem.cog * problem.dtype.itemsize


def weight_bytes(geometry: Geometry, problem: Problem) -> int:
    """Bytes of the transformed weight of a call (for the cost model); 0 where no form applies."""
    form = _form(geometry)
    return 0 if form is None else _weight_bytes(form, problem)


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
    row = _unit_bytes(form, problem, _block(form, problem)) * tiles.tw + _band_bytes(form, geometry, problem, 1)
    return min(fallback, _weight_bytes(form, problem) + row)


class _Unit(NamedTuple):
    """Samples ``n0:n1``, tile rows ``ty0:ty1``, group ``g``, channel blocks ``b0:b1`` of the group."""

    n0: int
    n1: int
    ty0: int
    ty1: int
    g: int
    b0: int
    b1: int


def _plan(
    n: int, tiles: _Tiles, form: Form, geometry: Geometry, problem: Problem, block: int
) -> tuple[list[_Unit], int, int] | None:
    """The units, the threads that run them, and the largest unit's tiles; None when the memory
    budget does not hold the transformed weight and one tile row."""
    per_tile = _unit_bytes(form, problem, block)
    free = effective().memory_budget - _weight_bytes(form, problem)
    row = per_tile * tiles.tw + _band_bytes(form, geometry, problem, 1)
    if free < row:
        return None
    threads = max(1, min(effective().threads, free // row))
    # a unit's tiles and the input rows it copies (a whole sample's, or its band's), within a thread's share;
    # with several blocks of output channels, as many tiles per unit as fit (the threads share the
    # blocks), else at least two units per thread
    blocks = -(-problem.cog // block)
    wanted = 1 if blocks * problem.groups >= 2 * threads else 2 * threads
    target = min(TILE_BYTES, free // threads)
    while True:
        spans = _units(n, tiles, per_tile, target, wanted)
        largest = max((n1 - n0) * (ty1 - ty0) for n0, n1, ty0, ty1 in spans) * tiles.tw
        band_rows = max(ty1 - ty0 for _, _, ty0, ty1 in spans)
        need = largest * per_tile + _band_bytes(form, geometry, problem, band_rows)
        if need <= free // threads or target <= per_tile * tiles.tw:
            break
        target //= 2
    if need > free // threads:
        return None
    # too few units for the threads: the blocks of output channels split among units too (each unit
    # transforms its tiles once for all its blocks)
    parts = max(1, min(blocks, -(-2 * threads // (len(spans) * problem.groups))))
    units = [
        _Unit(*span, g, b0, b1)
        for span in spans
        for g in range(problem.groups)
        for b0, b1 in _compiled.split(blocks, parts)
    ]
    return units, threads, largest


def winograd(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray | None:
    """The layer by Winograd's minimal filtering (see the module docstring); None when the memory
    budget does not hold the transformed weight and a tile row of one thread."""
    form = _form(geometry)
    assert form is not None
    n, cig, cog = x.shape[0], problem.cig, problem.cog
    tiles = _tiles(geometry, form)
    block = _block(form, problem)
    plan = _plan(n, tiles, form, geometry, problem, block)
    if plan is None:
        return None
    units, threads, largest = plan
    phases, points = form.phases, form.points
    u = _weight(w, problem, form, block, tiles)  # (4**ndim, C_in, P*C_out/G)
    out = problem.output(n, geometry.output_size)
    kernels = _compiled.kernels()
    suffix = "" if form.ndim == 2 else "_1d"
    transform_in, transform_out = kernels["winograd_input" + suffix], kernels["winograd_output" + suffix]
    args_in: tuple[int, ...]
    args_out: tuple[int | np.ndarray, ...]
    lead_h, lead_w = (np.array(lead, dtype=np.int64) for lead in (tiles.lead_h, tiles.lead_w))
    if form.ndim == 2:
        args_in = (tiles.tw, form.step, tiles.pad_h, tiles.pad_w)
        args_out = (tiles.tw, form.step, form.s, tiles.off_h, tiles.off_w, lead_h, lead_w)
    else:  # the tiles are the rows
        args_in = (form.step, tiles.pad_h)
        args_out = (form.step, form.s, tiles.off_h, lead_h)
    channels_first = problem.layout == "channels_first"
    band_size = _band_bytes(form, geometry, problem, max(t.ty1 - t.ty0 for t in units)) // problem.dtype.itemsize
    claim = _compiled.Claim(len(units))

    def channels(a: np.ndarray, c0: int, c1: int) -> np.ndarray:
        return a[:, c0:c1] if channels_first else a[..., c0:c1]

    def work() -> None:
        v_buffer = scratch("columns", (points * cig * largest,), problem.dtype)
        m_buffer = scratch("output", (points * phases * block * largest,), problem.dtype)
        band = scratch("channels_last", (band_size,), problem.dtype)
        for index in claim:
            n0, n1, ty0, ty1, g, b0, b1 = units[index]
            count = (n1 - n0) * (ty1 - ty0) * tiles.tw
            v = v_buffer[: points * cig * count].reshape(points, count, cig)
            xg = channels(x, g * cig, (g + 1) * cig)
            transform_in(xg, channels_first, n0, n1, ty0, ty1, *args_in, band, v)
            for b in range(b0, b1):
                c0, c1 = b * block, min(cog, (b + 1) * block)
                m = m_buffer[: points * count * phases * (c1 - c0)].reshape(points, count, phases * (c1 - c0))
                _blas.mm(v, u[:, g * cig : (g + 1) * cig, c0 * phases : c1 * phases], out=m)  # the GEMMs
                first, last = g * cog + c0, g * cog + c1
                bias, target = problem.bias[first:last], channels(out, first, last)
                transform_out(m, n0, n1, ty0, ty1, *args_out, bias, target, channels_first)

    with _blas.single_threaded_blas():  # each of our threads runs its own single-threaded GEMMs
        _compiled.run_workers(work, min(threads, len(units)), claim)
    _unreached(out, geometry, problem)
    return out


def _unreached(out: np.ndarray, geometry: Geometry, problem: Problem) -> None:
    """Set the output cells that no input reaches (output padding, a window that starts before the full
    output or ends after it) to the bias, exactly: the transforms compute them as products of the tile
    that cancel only up to rounding (1e-9 where the direct sum is 0). Along an axis the forms' taps
    (``k >= s``, dilation 1) reach every cell from ``-crop_begin`` to ``s*(i-1) + k-1 - crop_begin``."""
    channels_first = problem.layout == "channels_first"
    bias = problem.bias.reshape(-1, *(1,) * geometry.ndim) if channels_first else problem.bias
    for axis, (i, k, s, d, b, o) in enumerate(geometry.axes()):
        first, last = max(0, -b), min(o, s * (i - 1) + d * (k - 1) - b + 1)
        where = 2 + axis if channels_first else 1 + axis
        for cells in (slice(0, min(first, o)), slice(max(last, first), o)):
            if cells.stop > cells.start:
                out[(slice(None),) * where + (cells,)] = bias


def run(x: np.ndarray, w: np.ndarray, geometry: Geometry, problem: Problem) -> np.ndarray:
    """The registry's ``"winograd"``: Winograd where it applies (:func:`applies`) and is safe
    (:func:`_safe`) and the memory budget holds it, ``"gemm"`` elsewhere."""
    if not applies(geometry, problem) or math.prod(geometry.output_size) == 0 or x.shape[0] == 0:
        return gemm.run(x, w, geometry, problem)
    if not _safe(x, w, problem):
        return gemm.run(x, w, geometry, problem)
    y = winograd(x, w, geometry, problem)
    return gemm.run(x, w, geometry, problem) if y is None else y
