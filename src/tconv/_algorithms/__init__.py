"""The algorithms of ``conv_transpose`` and ``conv``: one table, and the ``"auto"`` choice.

Every algorithm of an operator computes the same function for every parameter
combination; they differ in how. An algorithm is a function::

    run(x, w, geometry, problem) -> y

with ``x`` batched in ``problem.layout`` (``(N, C, *size)`` or ``(N, *size, C)``),
``w`` in PyTorch's layout of that operator (``(C_in, C_out/groups, *k)`` for
``conv_transpose``, ``(C_out, C_in/groups, *k)`` for ``conv``), both already in
the compute dtype, ``problem`` the channels, groups, layout, dtype and bias
(:class:`~tconv._algorithms.problem.Problem`), and ``y`` returned in the layout,
bias added. For ``conv_transpose`` the input has ``geometry.input_size`` and the
output ``geometry.output_size``; for ``conv`` the other way round (see
:class:`tconv.geometry.Geometry`).

Where each one lives:

- :mod:`.reference`: the textbook views, written for clarity (``"scatter"``,
  ``"dilate"``, ``"matrix"``; for ``conv`` ``"direct"`` and ``"matrix"``);
- :mod:`.gemm`, :mod:`.phase`, :mod:`.direct`: the fast transposed convolutions;
  :mod:`.im2col`: the fast convolution (and the weight gradient of :mod:`tconv.grad`); :mod:`.tiny`:
  the gradients of tiny problems, from the list of their multiply-adds;
- what they share: :mod:`.blocking` (the memory budget), :mod:`.tiling`,
  :mod:`.taptable`, :mod:`.problem`, and the compiled passes (:mod:`.compiled`,
  :mod:`.numba_kernels`, :mod:`.blas`).

A new algorithm is one module with a ``run`` function and one row in
:data:`ALGORITHMS`; the test tables cross every row with every case.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_choice
from ..geometry import Geometry
from . import compiled as _compiled
from . import correlation, direct, gemm, im2col, phase, reference, registers, taptable, winograd
from . import cost as _cost
from .problem import Problem
from .reference import zero_insert  # re-exported: tconv.explain.text imports it from here

__all__ = ["ALGORITHMS", "OPS", "OVERRIDE", "Algorithm", "Problem", "algorithms", "choose", "get", "zero_insert"]

Run = Callable[[np.ndarray, np.ndarray, Geometry, Problem], np.ndarray]
#: ``minimum(geometry, problem)``: the temporary bytes of the smallest piece a call can be cut into.
Minimum = Callable[[Geometry, Problem], int]


@dataclass(frozen=True)
class Algorithm:
    """A named way to compute an operator: ``run(x, w, geometry, problem) -> y``, and the temporary
    bytes of its smallest piece, ``minimum(geometry, problem)``, which must fit the memory budget.
    ``planned(geometry, problem, n)``, where an algorithm has it, returns for some small problems a
    call ``(x, w, bias) -> y`` with everything but the arrays worked out once (None for the others):
    :func:`tconv.ops.plan` keeps it for the calls of one shape (the problem's bias is a placeholder;
    ``bias`` is the call's own in the compute dtype, or None)."""

    name: str
    run: Run
    summary: str
    minimum: Minimum
    planned: Callable[[Geometry, Problem, int], Callable[..., np.ndarray] | None] | None = None


#: The operators that have algorithms.
OPS = ("conv_transpose", "conv")


def _table(*entries: Algorithm) -> dict[str, Algorithm]:
    return {a.name: a for a in entries}


#: Every algorithm, per operator, in the order :func:`algorithms` lists them.
ALGORITHMS: dict[str, dict[str, Algorithm]] = {
    "conv_transpose": _table(
        Algorithm(
            "scatter",
            reference.scatter,
            "each input element adds the kernel, scaled by its value, at stride offsets",
            reference.scatter.minimum,
        ),
        Algorithm(
            "dilate",
            reference.dilate,
            "zero insertion + padding + correlation with the flipped kernel",
            reference.dilate.minimum,
        ),
        Algorithm(
            "matrix",
            reference.matrix,
            "multiplication by C.T, the transposed convolution matrix",
            reference.matrix.minimum,
        ),
        Algorithm(
            "gemm",
            gemm.run,
            "one GEMM over all input pixels, then a write-once gather of the columns (col2im)",
            gemm.minimum,
            gemm.planned,
        ),
        Algorithm(
            "phase",
            phase.run,
            "polyphase: one stride-1 convolution per output phase, shifted-window GEMMs, no zeros",
            phase.minimum,
            phase.planned,
        ),
        Algorithm(
            "direct",
            direct.run,
            "direct small-group/depthwise kernel: each output pixel written once, no BLAS",
            direct.run.minimum,
        ),
        Algorithm(
            "im2col",
            correlation.run,
            "one stride-1 convolution per output phase: im2col of the input + one GEMM over taps x C_in",
            correlation.minimum,
        ),
        Algorithm(
            "winograd",
            winograd.run,
            "Winograd: F(2x2, 3x3) on the phases of a kernel of 2s + 1 (3 at stride 1, 5 at 2), F(3x3, 2x2) on "
            "those of a kernel of 2s; gemm elsewhere",
            winograd.minimum,
        ),
        Algorithm(
            "registers",
            registers.run,
            "stride 1 as a direct correlation in register tiles (12 output pixels x 16 channels); gemm elsewhere",
            registers.minimum,
        ),
    ),
    "conv": _table(
        Algorithm(
            "direct",
            reference.conv_direct,
            "each output element gathers the kernel-weighted input window",
            lambda geometry, problem: reference.conv_direct_pieces(problem).minimum(geometry),
        ),
        Algorithm(
            "matrix",
            reference.conv_matrix,
            "multiplication by C, the convolution matrix",
            lambda geometry, problem: reference.conv_matrix_pieces(problem).minimum(geometry),
        ),
        Algorithm(
            "gemm",
            im2col.conv,
            "im2col (one compiled gather pass) + one GEMM per group",
            lambda geometry, problem: im2col.conv_footprint(problem).minimum(geometry),
        ),
    ),
}


def _check_op(op: object) -> str:
    return check_choice(op, "op", OPS)


def algorithms(op: str = "conv_transpose") -> tuple[str, ...]:
    """Names accepted by ``conv_transpose(..., algorithm=...)`` (or ``conv``) besides ``"auto"``.

    Examples
    --------
    >>> import tconv
    >>> tconv.algorithms()
    ('scatter', 'dilate', 'matrix', 'gemm', 'phase', 'direct', 'im2col', 'winograd', 'registers')
    >>> tconv.algorithms("conv")
    ('direct', 'matrix', 'gemm')
    """
    return tuple(ALGORITHMS[_check_op(op)])


def get(name: object, op: str = "conv_transpose") -> Algorithm:
    """The algorithm of ``op`` called ``name``; the error lists the valid names."""
    table = ALGORITHMS[_check_op(op)]
    if not isinstance(name, str) or name not in table:
        valid = ", ".join(repr(n) for n in ("auto", *table))
        raise ValueError(f"algorithm {name!r} not found, valid options are {{{valid}}}")
    return table[name]


#: Groups from which ``"auto"`` runs ``"direct"`` for small groups of several channels (its pass along the
#: groups, :func:`tconv._algorithms.im2col.minor_groups`). A random sweep of 14 such shapes (1-3 d, 8-64
#: groups) had it at 0.72-0.73x ``gemm`` on two of its three 8-group shapes (16 channel pairs on 8
#: lanes) and 0.8-2.9x from 16 groups up (1.16x in geometric mean over all 14); with 8 groups ``gemm``.
DIRECT_GROUPS = 16
#: How many times im2col's columns gemm's must be for ``"auto"`` to run ``"im2col"`` at stride 1 (rule 2
#: of :func:`choose`): ``IM2COL_LARGER[grouped][three_d]``. With groups (a random search found a 3-d
#: 32 -> 96, 2-group, k4 layer 6.8x slower than PyTorch through ``gemm``), measured A/B: in 3-d
#: ``im2col`` 1.3-3.3x as fast from twice the columns (2-4 groups, 16-48 channels per group, k3-k4),
#: 0.9x at 16 -> 32 per group on 12^3, 0.55x at equal counts; in 1-d and 2-d 1.1-1.2x at 8 times,
#: 0.95-1.05x at 4, 0.85x at 2 (4 groups).
IM2COL_LARGER = ((2, 1), (8, 2))
#: The most output channels of a 1-d or 2-d stride-1 layer of one input channel (no groups) for which
#: ``"auto"`` takes ``gemm``'s rows straight from the input (:func:`tconv._algorithms.gemm.rows_direct`)
#: over rule 2's ``"im2col"``, whose GEMM sums only ``prod(k)`` terms per output. Measured (4 December,
#: Zen 3, one process, min of 3 rounds; a random search had found a 16-sample 1 -> 8 k4 layer at 18^2
#: 3.3x slower than ONNX Runtime): 1.1-2.5x with 2-32 outputs on 12 layers (1 -> 2 at 500^2 14x, 1 -> 4
#: k7 at 256^2 7.5x, 1-d 1 -> 16 k15 3.7x); above, 1 -> 48 1.8x but 1 -> 64 0.66-1.05x; in 3-d 0.68x at
#: 1 -> 24, so not there.
ROWS_OVER_IM2COL = 32
#: How many times ``"im2col"``'s estimated cost (:mod:`tconv._algorithms.cost`) ``gemm``'s must be for rule 2
#: to take ``"im2col"``: small samples at stride 1 without padding (the output larger than the input)
#: make it multiply mostly zeros, which its estimate counts. Measured on 18 stride-1 layers (4 December,
#: Zen 3, min of 3 rounds; 1-3 d, 8-128 -> 32-384 channels): where ``gemm``'s estimate was below
#: im2col's, im2col ran 0.38-0.62x ``gemm``'s speed (3-d 4^3-8^3 k3 and 6^3 k5 without padding: a
#: random 64 -> 384 layer at 6^3 0.51x); at 1.10-1.23x 0.77-0.98x, but a random 96 -> 192 layer at 49^2,
#: k5, estimated at 1.2-1.3x, ran 1.14x, so the bound is 1.0 (the rule as it was everywhere else); from
#: 1.38x 0.96-2.36x.
IM2COL_COST = 1.0
#: How many times ``gemm``'s estimated cost (:mod:`tconv._algorithms.cost`) ``"phase"``'s may be for rule 5
#: to take ``"phase"``. Measured on the 16 random 3-d layers where the estimate was above 1.0 (4 December,
#: Zen 3, A/B in one process, min of 3 rounds): from 3.0x, ``gemm`` ran 0.92-3.4x ``phase``'s speed (2.3-3.4x
#: on five: few output channels at strides 3-4, a stride-1 layer, 21 -> 21 channels at 10^3 k8 s2), below
#: it 0.54-0.79x on six (few input channels at stride 2-3) and 0.9-2.3x on four; two 1 -> 1 layers 11-15x.
PHASE_OVER_GEMM = 3.0
#: How many times ``"direct"``'s estimated cost (:mod:`tconv._algorithms.cost`) ``gemm``'s rows straight
#: from the input may cost for ``"auto"`` to take them over rule 3's ``"direct"`` (measured 1.0-9x its
#: speed on rows of images and signals; a 3-d depthwise layer at 4^3, k7, rows of 4 outputs, 0.29x:
#: estimated 4.4x ``"direct"``'s cost).
#: (Not where ``direct`` computes a 2-d or 3-d stride-1 layer plane by plane,
#: :func:`tconv._algorithms.direct.depthwise_shifts`: 8 x 16 channels at 17 x 17, k7, 1.1 ms with the rows,
#: 0.32 plane by plane; in 1-d the rows stay ahead, 128 channels of 1000 samples, k9: 0.51 against 0.76.)
ROWS_OVER_DIRECT = 2.0
#: Output channels per group from which a 3-d layer of one input channel per group keeps rule 3's ``"direct"``
#: over ``gemm``'s rows whatever the cost model says (6 December, Xeon, two threads, min of 4 calls: one
#: input channel at 13^3 -> 32 channels, k5 s2, 6.3 ms with the rows, 1.8 with ``direct``; 1 -> 64 at 8^3,
#: k8 s4, 22.9 against 3.6; 1 -> 16, k4 s2 at 24^3, 17.4 against 10.4, k3 s2 at 32^3 11.5 against 11.3;
#: with fewer the rows: 1 -> 12 k5 s2 8.6 against 8.8, 1 -> 8 1.15-1.43x, 1 -> 4 2.6x).
ROWS_3D_OUTPUTS = 16
#: Whether ``"auto"`` runs ``"direct"``'s planes (:func:`tconv._algorithms.direct.depthwise_shifts`) for every
#: 2-d stride-1 layer of one input channel per group they take, over rule 2's ``"im2col"``, ``gemm`` and the
#: register tiles. Measured (7 December, Zen 3, in one process, alternating, min of 7; a random draw had
#: found one 8-group layer of 1 -> 64 channels a group, 3-d, k7 s1, 5x slower than ``direct``): on 17 random
#: 2-d layers of 1 -> 16-512 channels a group (1-16 groups, k2-k7, 12^2-77^2, 1-8 samples), ``direct`` ran
#: 1.02-2.47x the best of the others, 1.18x or more on 16 (8 samples of 2 -> 512 in 2 groups, k3 at 35^2:
#: 4.96 -> 2.48 ms; 8 x 1 -> 16, k2 at 75^2: 0.92 -> 0.27 ms with the register tiles before); at k6-k9
#: 0.95-1.02x the tiles and 1.35-2.7x ``im2col`` on six more. Over the 1 655 layers of ``"auto"``'s check it
#: changes nine: 1.25-2.6x on eight, 0.93x on one sample-heavy 64-tap layer (16 x 1 -> 256 at 58^2, k8,
#: ``im2col`` 24.1 ms). In 3-d it was 0.13-1.7x (the register tiles 2.3-7.7x ahead on k4-k7 kernels of few
#: output channels), so not there.
SHIFTS_2D = True
#: ... and 1-d layers of at least this many output channels per group: on ten random 1-d stride-1 layers of
#: one input channel per group (1-8 groups, k2-k16, 800-4900 samples) ``direct``'s rows ran 1.11-2.4x the
#: best of the others and 1.43-2.5x ``"auto"``'s earlier choice on the nine of 16 or more output channels a
#: group (8 x 1 -> 128, k9 on 2619 samples: 2.25 -> 1.10 ms), and 0.87x ``gemm``'s rows from the input with 8;
#: held out, ten more of 16-512 output channels a group (k2-k16, 768-6653 samples): 1.39-3.99x ``"auto"``'s
#: earlier choice (the register tiles or ``im2col``), 1.96x in geometric mean; ``gemm``'s rows were 1.05x and
#: 1.26x ahead of ``direct`` on two of them (k2 and k3), which ``"auto"`` did not take before either.
SHIFTS_1D_OUTPUTS = 16
#: ``(outputs, row)``: output channels per group from which, and output rows up to which, a 2-d layer of one
#: input channel per group keeps rule 3's ``"direct"`` over ``gemm``'s rows whatever the cost model says:
#: short rows cost the rows' loops more than the model's :data:`tconv._algorithms.cost.ROW_SECONDS`.
#: Measured (7 December, Zen 3, in one process, alternating, min of 7; a random draw had found a
#: 16-sample 1 -> 64 k3 s2 layer at 16^2 2.4x slower than ``direct``): ``direct`` 2.2-2.35x at 1 -> 32 and
#: 1 -> 64 on rows of 31, 1.3-1.4x at 1 -> 64 on rows of 64, 1.24x (k5 s3) and 1.1x on rows of 74-80; on rows
#: of 96-199 0.57-0.95x; with 8-24 output channels 0.53-1.28x (rows of 31-80), so not there.
ROWS_2D = (32, 80)
#: Input pixels times kernel taps per sample from which a 3-d layer with overlapping stamps runs
#: ``"phase"`` (rule 5 of :func:`choose`). Measured on one sample of 16-128 channels, k3 s2 and k4 s2,
#: against ``gemm`` with its bands shared evenly among the threads: ``gemm`` 1.1-1.8x as fast up to
#: 20^3 x 27 taps and 16^3 x 64 (216 000 and 262 144); even at 18^3 x 64 and 24^3 x 27 (373 248);
#: ``phase`` 1.3-1.5x from 20^3 x 64 and 32^3 x 27 (its per-phase GEMMs sum 8x as many input
#: channels as ``gemm``'s, whose gather of 27-64 scattered taps per output grows with the volume).
PHASE_3D_TAPS = 360_000


#: Input channels per group up to which a strided layer runs ``"direct"`` (its taps' sums along the
#: output channels) rather than ``gemm``, whose GEMM of so few input channels is an outer product: columns
#: of ``prod(k) * C_out`` values per input pixel, written and gathered for ``2 * C_in`` flops each. A random
#: search found 3-d layers of 4 -> 96 and 4 -> 192 channels 2-2.3x behind PyTorch; A/B on 42 layers
#: (1-3 d, k3 s2 to k8 s4, 2-16 -> 32-192 channels, 2 samples): ``direct`` 1.02-5.7x as fast with 2-4
#: input channels (0.89x and 0.99x on two of 3 -> 32), 1.4x in geometric mean with 8 (0.89-2.3x),
#: 0.72-1.32x with 16. One input channel: rule 3 (:func:`_rule`). Only from :data:`FEW_INPUTS_OUTPUTS`
#: output channels and where the stamps overlap (:func:`_few_inputs`): a second random search found it
#: 4-14x slower with 1-8 output channels (4 -> 1 at 88^2 k7 s2: 7.2 ms, ``gemm`` 0.52), 0.78x on a 1-d
#: 3 -> 32 layer, and behind ``gemm``'s transposed orientation on stamps that do not overlap (1-d k4 s4:
#: 4 -> 192 0.6x, 8 -> 24 0.44x). With groups the same per group (1-d 2 and 4 groups of 4 -> 64 and 4 ->
#: 128 per group: 1.39x and 1.44x; 4 groups of 5 -> 128, 1.14x, where ``phase`` was faster still).
FEW_INPUT_CHANNELS = 8
FEW_INPUTS_OUTPUTS = 64

#: ``"auto"`` leaves its measured rule when the rule's algorithm would cost more than this many
#: times the cheapest candidate (:mod:`tconv._algorithms.cost`): only far from the measured layers.
OVERRIDE = 8.0


def choose(
    geometry: Geometry,
    groups: int,
    n: int,
    c_in: int,
    c_out: int,
    op: str = "conv_transpose",
    *,
    dtype: Any = np.float32,
    layout: str = "channels_first",
    reused: bool = False,
) -> str:
    """The algorithm ``"auto"`` runs for this problem: the cost model.

    ``reused``: whether the weight's packed forms are reused by many calls (a plan of
    :func:`tconv.prepare`), which makes Winograd's weight transform a one-off cost.

    The rules come from ``tconv bench --algorithms auto,gemm,phase,direct`` runs on
    this project's 2-core machine (``docs/performance.md`` has the tables):

    First, compiled kernels or not: a pointwise layer (``1 x ... x 1`` kernel, stride 1, no crop:
    :func:`tconv._algorithms.gemm.pointwise`) runs ``"gemm"``, which computes it as the product it is, one
    per pixel (no columns, no gather; the rules below took ``"im2col"`` or ``"direct"`` there, 1.2-9x
    slower: a 384-channel depthwise 1x1 layer 12.9 ms against 2.3); so does a ``1 x ... x 1`` kernel at a
    stride or cropped (:func:`tconv._algorithms.gemm.strided_pointwise`: the product placed at the stride;
    a depthwise layer at stride 3 with a 162 MB output 48 -> 27 ms without bias, 46 -> 42 with it).

    With compiled kernels (numba installed, ``compiled=True``):

    1. one input channel per group (``C_in/G == 1``, ``C_out/G <= 16``: depthwise and channel
       multipliers): ``"direct"`` -- BLAS has nothing to multiply, one compiled pass does it all
       (channels-first output rows of 256 or more, 1-d depthwise layers: ``"gemm"``, whose rows come
       straight from the input rows, :func:`tconv._algorithms.gemm.rows_direct`: 1.3-6.5x);
       with 2 or more input channels per group, at most 16 channel pairs per group and 16 or more
       groups (``groups=32`` on 128 channels): ``"direct"`` too, its pass along the groups
       (:func:`tconv._algorithms.im2col.minor_groups`; 1.0-3.2x ``gemm``'s speed on 12 shapes in
       1-3 d, measured A/B, 0.8-2.9x on a random sweep, :data:`DIRECT_GROUPS`) with as many input as
       output channels per group, or fewer in 2-d and 3-d (:func:`_along_groups`); otherwise the
       per-group GEMMs of ``gemm``;
    2. stride 1 on every axis, more than one input pixel (one pixel is one plain GEMM,
       :func:`tconv._algorithms.gemm.one_stamp`), and gemm's columns (``prod(k)*C_out`` per input pixel)
       at least twice im2col's (``prod(k)*C_in`` per output pixel; in 3-d at least as large; with
       groups 8 times, in 3-d twice: :data:`IM2COL_LARGER`):
       ``"im2col"`` -- the layer is a convolution, computed as one (its GEMM sums over
       ``prod(k)*C_in`` instead of ``C_in``). Measured against ``gemm`` (A/B, 15 rounds):
       1.1-1.5x at twice the output channels (8 -> 32, 16 -> 32, 32 -> 128), 1.3x at 64 -> 256,
       2.9x at 16 -> 192 (5x5), 9x at 3 -> 64 (7x7); in 3-d 1.1-2.3x at equal channel counts
       (16-64; gemm's gather of 27 scattered taps is the slow part there); 0.8-0.9x at equal
       counts in 2-d and 1-d, 0.56x at 32 -> 1; but with one input channel and up to
       :data:`ROWS_OVER_IM2COL` output channels in 1-d and 2-d, ``gemm``'s rows straight from the
       input (rule 3's exception), 1.1-14x ``im2col``'s speed;
    3. one input channel per group and several output channels (``C_in/G == 1``, ``C_out/G >= 2``)
       otherwise, e.g. a 1-channel image or mask up-sampled into 32 channels: ``"direct"`` (the input
       repeated along the output channels, then depthwise) -- ``gemm``'s product has one term per
       column (an outer product) and its columns are ``prod(k)*C_out`` values per input value; on
       ten shapes (1-3 d, 2-512 output channels, one with 4 groups) ``direct`` ran 1.2-5x as fast
       as ``gemm`` (6.9 ms against 22.7 at 1 -> 32 channels, 64x64 k4 s2, batch 8; 1.2x at 1 -> 2
       and 1 -> 4, 3.4-5x from 8 output channels on); with one output channel too (``1 -> 1``)
       ``gemm`` (38 against 56 ms on a 1000x1000 image). Since ``gemm`` computes a channels-first
       layer of one input channel and up to 64 outputs without a GEMM, its rows straight from the
       input rows (:func:`tconv._algorithms.gemm.rows_direct`), ``"auto"`` takes ``gemm`` there:
       1.0-9x ``direct``'s speed (1 -> 1 on 1000x1000: 2.8 ms), where the cost model puts them at most
       :data:`ROWS_OVER_DIRECT` times ``direct``'s cost (but not in 3-d from :data:`ROWS_3D_OUTPUTS` output
       channels on, nor in 2-d on short rows of many output channels, :data:`ROWS_2D`, nor over
       ``direct``'s planes of a 2-d or 3-d stride-1 layer); at stride 1 rule 2 comes
       first (but for its exception); not where the tap tables are too large to be kept between calls
       (:func:`tconv._algorithms.taptable.kept`: a 1-d signal of 10^5 samples, 1 -> 4 channels, k16 s8,
       took 72 ms with ``direct``, 19 with ``gemm``, which finds the last axis's taps from their ranges);
    4. where ``"gemm"`` would run, float32 1-d and 2-d layers of 3 taps at stride 1 or a kernel of
       twice the stride, with enough channels and tiles and 1.7x fewer multiplications (fewer tiles,
       and 1-d, for a ``reused`` plan), and 2-d layers of a kernel of twice the stride plus one (k5
       s2) with 1.4x fewer (:func:`tconv._algorithms.winograd.preferred`): ``"winograd"`` -- 1.02-1.43x
       ``gemm``'s speed on the shapes it picks (1.06-1.56x prepared; k5 s2 0.90-2.1x, 1.0-1.97x prepared), measured A/B;
       not with ``tconv.options(winograd=False)`` (its error is bounded by each input tile's
       magnitudes, not each output's own terms: :class:`tconv.Options`);
    4b. where ``"gemm"``, ``"im2col"`` or ``"phase"`` would run, float32 stride-1 layers (not pointwise)
       whose register tiles are well used -- at most 48 input (in 3-d 2-48) and 96 output channels with an
       efficiency of 0.55 or more, or 3-d layers of 2-8 -> at most 32 channels, or 2-d layers of 2-4 -> at most 4
       channels with large kernels, or layers of 2-12 -> 5-8 channels with 4 taps or more; with groups, at
       most 16 input and 96 output channels per group and the same efficiency
       (:func:`tconv._algorithms.registers.preferred`): ``"registers"``, the layer as
       a direct convolution in tiles of 12 output pixels x 16 channels held in vector registers --
       1.09-18.7x the earlier choice's speed on the 40 of 120 random stride-1 layers it picks, 1.85x in
       geometric mean on the 37 of the benchmark's 1 600 random layers it changes, measured A/B;
       but 2-d stride-1 layers of one input channel per group that ``"direct"`` computes plane by plane
       (channels-first: :func:`tconv._algorithms.direct.depthwise_shifts`) run ``"direct"`` whatever
       rules 2 and 4b said (:data:`SHIFTS_2D`: 1.02-2.47x the best of the others on 17 random layers), and
       so do 1-d ones of 16 or more output channels per group (:data:`SHIFTS_1D_OUTPUTS`: 1.39-3.99x on ten);
    4c. where ``"gemm"``, the few input channels' ``"direct"`` or rule 5's ``"phase"`` would run (not
       Winograd), layers of 2-16 input and 8 or more output channels above
       :data:`tconv._algorithms.gemm.SMALL_FLOPS` whose kernel is whole multiples (two or more) of the
       stride, in 2-d (17-32 input channels with three or more on a grid near the input's size:
       :data:`tconv._algorithms.phase.FEW_LONG_INPUTS`), and in 1-d at stride 2 with three or more; in 3-d
       2-32 input and 2 or more output
       channels, the all-phase GEMM in tiles (:func:`tconv._algorithms.phase.few_inputs`): ``"phase"`` --
       ``gemm``'s GEMM sums over the few input channels alone into ``k * C_out`` columns a pixel, each
       phase's over ``m * C_in`` per axis: 1.2-3.2x ``gemm``'s speed on the layers it changes in 1-d and
       2-d, 0.97-3.6x ``direct``'s on 24 random 2-d layers of 2-8 -> 64-256 channels (1.3-2.7x on three
       1-d ones), and in 3-d 1.5-6.5x the better of ``gemm`` and the phase-by-phase GEMMs
       (a 3 -> 4 channel k8 s2 layer at 21^3, 2 samples: 214 -> 3.9 ms); and where ``"gemm"`` would run,
       2-d layers of 2-4 groups of 2-12 input and 12 or more output channels with a kernel of 8 or more
       taps per axis, whole multiples of the stride (:func:`tconv._algorithms.phase.few_inputs_grouped`):
       ``"phase"`` too -- 1.3x ``gemm``'s speed in geometric mean on 25 held-out random layers (0.34-2.6x);
    5. 3-d layers with overlapping stamps, one group, and at least :data:`PHASE_3D_TAPS` input pixels
       times kernel taps per sample (a 32^3 k3 s2 or 20^3 k4 s2 volume): ``"phase"`` -- 1.3-1.5x
       ``gemm``'s speed there; below it ``gemm`` (1.1-1.8x ``phase``'s on 12^3-20^3 k3 s2 and 16^3 k4
       s2, the 3-d k3s2 decoder layer's 16^3 included) since its bands of one sample are shared
       evenly among the threads (the rule was 1024 input pixels before that, fitted while a sample
       whose band bound covered its whole output ran on one thread); but ``gemm`` where the cost model
       puts ``phase`` above :data:`PHASE_OVER_GEMM` times its cost. In 2-d and 1-d ``gemm`` ran
       1.2-1.7x as fast on every such layer measured (k3 s2, k5 s2, k4 s2, k10 s5);
    6. everything else: ``"gemm"`` -- cache-sized tiles of one GEMM each plus a
       write-once gather.

    With NumPy alone, where every non-BLAS pass is a NumPy pass:

    1. few channels per group: ``"direct"`` (a broadcast multiply-add per tap);
    2. a single input pixel, or large weights (>= 4 MiB) on small samples
       (<= 1024 input pixels): ``"gemm"`` -- one GEMM over few rows, little col2im;
    3. no overlap between stamps (effective kernel size ``<= stride``, e.g. U-Net's
       ``k = s = 2``) or few output channels (``C_out/G <= 8``): ``"scatter"``;
    4. otherwise: ``"phase"`` -- shifted-window GEMMs and one interleave pass,
       instead of ``prod(k)`` strided slice-adds over the output.

    Then two checks by real cost (:mod:`tconv._algorithms.cost`): an algorithm whose
    smallest piece does not fit the memory budget is never chosen, and the rule's
    choice gives way to the cheapest candidate when it would cost more than
    :data:`OVERRIDE` times as much (a huge dilation makes the polyphase grid mostly
    holes). Raises ``ValueError`` when no candidate fits the budget.

    For ``conv`` the answer is ``"gemm"`` (im2col + GEMM).

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> choose(conv_transpose_geometry((8, 8), 4, stride=2, padding=1), groups=32, n=1, c_in=32, c_out=32)
    'direct'
    >>> choose(conv_transpose_geometry((2, 2, 2), 3, dilation=150), groups=1, n=1, c_in=1, c_out=1)
    'gemm'
    >>> choose(conv_transpose_geometry((56, 56), 5), groups=1, n=2, c_in=16, c_out=192)
    'im2col'
    >>> choose(conv_transpose_geometry((32, 32), 3, padding=1), groups=1, n=8, c_in=128, c_out=128)
    'winograd'
    """
    if n == 0 or geometry.empty:
        # an empty problem: no algorithm runs it (its output is the bias alone, tconv.ops.plan), and the
        # rules' tiles would have no cell to hold (a prepared plan asked for one on an empty axis)
        return "gemm"
    compiled = _compiled.available()
    budget, allow_winograd = _options()
    return _choose(
        geometry,
        groups,
        n,
        c_in,
        c_out,
        _check_op(op),
        np.dtype(dtype),
        layout,
        compiled,
        budget,
        reused,
        allow_winograd,
    )


def _options() -> tuple[int, bool]:
    """The options :func:`choose` reads: the memory budget, and whether it may run Winograd."""
    from .._options import effective

    current = effective()
    return current.memory_budget, current.winograd


@functools.lru_cache(maxsize=512)
def _choose(
    geometry: Geometry,
    groups: int,
    n: int,
    c_in: int,
    c_out: int,
    op: str,
    dtype: np.dtype,
    layout: str,
    compiled: bool,
    budget: int,
    reused: bool = False,
    allow_winograd: bool = True,
) -> str:
    """:func:`choose` for hashable arguments, cached: what depends only on the geometry is computed once."""
    if op == "conv":
        return "gemm"
    problem = Problem(groups, layout, c_in, c_out, dtype, np.zeros(0, dtype), False)
    candidates: tuple[str, ...] = ("gemm", "phase", "scatter", "direct", "im2col")
    costs = {name: _cost.seconds(name, geometry, problem, n, compiled) for name in candidates}
    # rule 0, before the measured rules: a pointwise layer is a product per pixel, no columns, no gather
    # (strided or cropped, the product of the pixels that land inside, placed: gemm.strided_pointwise)
    product = gemm.pointwise(geometry, problem) or gemm.strided_pointwise(geometry, problem)
    rule = "gemm" if product else _rule(geometry, groups, c_in, c_out, compiled)
    if rule == "im2col" and costs["gemm"] < IM2COL_COST * costs["im2col"]:
        rule = _rule(geometry, groups, c_in, c_out, compiled, im2col=False)  # mostly zeros (IM2COL_COST)
    if rule == "phase" and compiled and costs["phase"] > PHASE_OVER_GEMM * costs["gemm"]:
        rule = "gemm"  # rule 5's 3-d phase where the model puts it far above gemm (PHASE_OVER_GEMM)
    # gemm's rows straight from the input; in 2-d and 3-d not over direct's planes at stride 1, in 3-d not
    # for many output channels of one input channel (ROWS_OVER_DIRECT, ROWS_3D_OUTPUTS)
    rows = compiled and gemm.rows_direct(geometry, problem)
    if rows and rule == "direct" and geometry.ndim >= 2 and direct.depthwise_shifts(geometry, problem):
        rows = False
    if rows and rule == "direct" and geometry.ndim == 3 and problem.cig == 1 and problem.cog >= ROWS_3D_OUTPUTS:
        rows = False
    if rows and rule == "direct" and geometry.ndim == 2 and problem.cig == 1 and problem.cog >= ROWS_2D[0]:
        rows = geometry.output_size[-1] > ROWS_2D[1]  # short rows of many channels: direct (ROWS_2D)
    if rows and (
        (rule == "direct" and costs["gemm"] <= ROWS_OVER_DIRECT * costs["direct"])
        or (rule == "im2col" and c_in == 1 and c_out <= ROWS_OVER_IM2COL and geometry.ndim <= 2)
    ):
        # the exceptions for one input channel per group (or small groups): rule 3's to "direct" where
        # the rows' loops are not much costlier (ROWS_OVER_DIRECT), and rule 2's "im2col" in 1-d and 2-d
        # (ROWS_OVER_IM2COL)
        rule = "gemm"
    if (rule == "gemm" or (rule == "direct" and geometry.ndim == 2)) and phase.small_blocks(
        geometry, problem, n, compiled
    ):
        rule = "phase"  # a small layer of few input channels: the all-phase GEMM (phase.small_blocks)
    if rule == "gemm" and allow_winograd and winograd.preferred(geometry, problem, n, reused):
        rule = "winograd"
        costs["winograd"] = _cost.seconds("winograd", geometry, problem, n, compiled)
    if rule in ("gemm", "direct", "phase") and compiled and phase.few_inputs(geometry, problem, n):
        rule = "phase"  # few input channels, a kernel of whole multiples of the stride (phase.few_inputs)
    if rule == "gemm" and compiled and phase.few_inputs_grouped(geometry, problem, n):
        rule = "phase"  # the same with a few groups, over gemm only (phase.few_inputs_grouped)
    if rule in ("gemm", "im2col", "phase") and compiled and registers.preferred(geometry, problem):
        rule = "registers"  # stride 1 in register tiles, where they are well used (registers.preferred)
        costs["registers"] = _cost.seconds("registers", geometry, problem, n, compiled)
    # one input channel per group at stride 1 in 2-d (1-d: many output channels): plane by plane, its work
    # bounded by the padded planes, which the cost model's tap tables overestimate, wherever it fits the
    # budget (SHIFTS_2D, SHIFTS_1D_OUTPUTS)
    planes = compiled and SHIFTS_2D and direct.depthwise_shifts(geometry, problem)
    planes = planes and (geometry.ndim == 2 or (geometry.ndim == 1 and problem.cog >= SHIFTS_1D_OUTPUTS))
    if planes:
        rule = "direct"
    costs = {
        name: value
        for name, value in costs.items()
        if math.isfinite(value) and ALGORITHMS["conv_transpose"][name].minimum(geometry, problem) <= budget
    }
    if not costs:
        return rule  # nothing fits: ops refuses the call with the rule's algorithm's numbers
    best = min(costs, key=costs.__getitem__)
    if rule not in costs or (costs[rule] > OVERRIDE * costs[best] and not planes):
        return best
    return rule


def _along_groups(geometry: Geometry, groups: int, cig: int, cog: int) -> bool:
    """Whether rule 1's pass along the groups (:data:`DIRECT_GROUPS`) is taken over ``gemm``'s per-group
    GEMMs: as many input as output channels per group, or fewer in 2-d and 3-d. Measured A/B on 22
    layers of 16-64 groups (a random search found 16 -> 1 channels per group 6-8x slower than
    ``gemm``): with more input channels per group ``gemm`` ran 1.5-8x as fast (16 -> 1, 8 -> 2, 4 -> 2
    per group, 1-3 d); with fewer ``direct`` 1.1-2.9x in 2-d and 1.4x in 3-d, but ``gemm`` 1.3x in 1-d;
    at equal counts it depends on the batch (4 -> 4 per group, 1-d k16 s8 and 2-d k4 s2: ``direct``
    1.1-1.6x on 2 samples, ``gemm`` 1.5-1.8x on 8), so ``direct`` as before. Not where the stamps do not
    overlap (each output one tap of one input): there ``gemm``'s transposed orientation writes each output
    once, as for :func:`_few_inputs`. Measured (7 December, Zen 3, in one process, alternating, min of 7;
    a random draw had found a 3-d 4 -> 4 per group k3 s4 layer at 22^3 4x slower than its best
    algorithm): in 3-d ``gemm`` 1.9-3.3x ``direct``'s speed on six such layers (k2 s2, k3 s4, k4 s4;
    2 -> 2 to 4 -> 8 per group, 16-32 groups); in 1-d and 2-d ``"auto"`` ran ``gemm`` on such layers already
    (1.5-3.9x ``direct``'s speed on five)."""
    if groups < DIRECT_GROUPS or not im2col.minor_groups(groups, cig, cog) or not geometry.overlapping:
        return False
    return cig == cog or (cig < cog and geometry.ndim >= 2)


def _few_inputs(geometry: Geometry, cig: int, cog: int) -> bool:
    """Whether a layer has few input channels per group (:data:`FEW_INPUT_CHANNELS`) and enough output
    channels per group (:data:`FEW_INPUTS_OUTPUTS`) for ``"direct"``'s sums along them, at a stride above
    1, with stamps that overlap (else ``gemm``'s transposed orientation writes each output once) and more
    than one input pixel."""
    return (
        1 < cig <= FEW_INPUT_CHANNELS
        and cog >= FEW_INPUTS_OUTPUTS
        and geometry.overlapping
        and any(s > 1 for s in geometry.stride)
        and math.prod(geometry.input_size) > 1
    )


def _rule(geometry: Geometry, groups: int, c_in: int, c_out: int, compiled: bool, im2col: bool = True) -> str:
    """The measured rules of :func:`choose` (without rule 2, ``"im2col"``, unless ``im2col``)."""
    cig, cog = c_in // groups, c_out // groups
    if compiled and groups > 1 and cig == 1 and cog <= 16:
        return "direct"
    if compiled and _along_groups(geometry, groups, cig, cog):
        return "direct"
    if not compiled and groups > 1 and cig * cog <= 16:
        return "direct"
    overlapping = geometry.overlapping
    p_in = math.prod(geometry.input_size)
    if compiled:
        if p_in > 1 and all(s == 1 for s in geometry.stride):  # (one pixel: a plain GEMM)
            # gemm's columns over im2col's: C_out per input pixel against C_in per output pixel
            larger = c_out * math.prod(geometry.input_size) / (c_in * math.prod(geometry.output_size))
            if im2col and larger >= IM2COL_LARGER[groups > 1][geometry.ndim >= 3]:
                return "im2col"
        if cig == 1 and cog >= 2 and p_in > 1 and taptable.kept(geometry):  # one input channel, several outputs
            return "direct"
        if _few_inputs(geometry, cig, cog) and taptable.kept(geometry):
            return "direct"  # few input channels: gemm's product is an outer product (FEW_INPUT_CHANNELS)
        taps = p_in * math.prod(geometry.kernel_size)
        if geometry.ndim == 3 and overlapping and groups == 1 and taps >= PHASE_3D_TAPS:
            return "phase"
        return "gemm"
    weight_bytes = c_in * cog * math.prod(geometry.kernel_size) * 4
    if p_in == 1 or (weight_bytes >= 4 * 2**20 and p_in <= 1024):
        return "gemm"
    if not overlapping or cog <= 8:
        return "scatter"
    return "phase"
