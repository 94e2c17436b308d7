"""Choosing a transposed convolution: every ``(kernel, stride, padding, output_padding, dilation)`` that fits, ranked.

Given an input size and the output size wanted (or an up-sampling factor),
:func:`upsampling_designs` enumerates the PyTorch-style parameters within limits
and ranks them by what goes wrong in practice:

1. **holes** -- some output phases receive *no* kernel tap at all (only the bias):
   a kernel shorter than the stride (``k=1, s=2``), or a dilation that skips a
   phase (``k=3, s=2, d=2`` fills every other cell);
2. **uneven overlap** -- when the kernel size is not divisible by the stride, the
   output phases receive different numbers of taps, the source of checkerboard
   artifacts (Odena, Dumoulin & Olah, Distill 2016);
3. not exact for every input size (only for the given one);
4. ``output_padding`` needed (the stride ambiguity must be resolved, and
   TensorFlow/Keras need an explicit ``output_shape`` / ``output_padding``);
5. dilation used; then smaller kernels, then less padding.

Per output phase ``r = o mod s``, the interior of the output receives
``#{t in [0, k) : t*d = r (mod s)}`` kernel taps (:func:`overlap_profile`, the
one-axis form of :func:`tconv.artifacts.phase_taps`; both ask
:func:`tconv.geometry.taps_per_phase`).

For an up-sampling factor ``n`` that must hold for *every* input size,
``o = (i - 1)*s - 2p + d*(k - 1) + 1 + op = n*i`` forces ``s = n`` and
``d*(k - 1) + 1 + op - 2p = n``; without dilation and output_padding that is
the family ``S = n, F = n + 2P`` (``S = 2k, P = t, F = 2(k + t)`` for even
``n``), checkerboard-free exactly when ``2P`` is a multiple of ``n``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ._validate import non_negative_int, positive_int
from .geometry import effective_kernel_size, taps_per_phase

__all__ = ["Design", "overlap_profile", "upsampling_designs"]


def overlap_profile(kernel_size: int, stride: int, dilation: int = 1) -> tuple[int, ...]:
    """Kernel taps per output phase ``r = 0 .. stride - 1`` in the interior of the output.

    :func:`tconv.geometry.taps_per_phase` with its arguments checked: the one-axis
    form of :func:`tconv.artifacts.phase_taps`.

    Examples
    --------
    >>> overlap_profile(3, 2)            # uneven: a checkerboard
    (2, 1)
    >>> overlap_profile(4, 2)            # even
    (2, 2)
    >>> overlap_profile(3, 2, dilation=2)    # holes: odd outputs get no taps
    (3, 0)
    """
    k = positive_int(kernel_size, "kernel_size")
    s = positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    return taps_per_phase(k, s, d)  # at most geometry.MAX_LISTED phases


@dataclass(frozen=True)
class Design:
    """One transposed convolution (one spatial axis, PyTorch's parameters) and its diagnostics.

    Attributes
    ----------
    kernel_size, stride, padding, output_padding, dilation : int
    output_size : int or None
        For the given input size (None in factor mode without one).
    taps_per_phase : tuple of int
        :func:`overlap_profile`.
    checkerboard : bool
        Uneven overlap: the phases receive different numbers of taps (for
        dilation 1: ``kernel_size % stride != 0``).
    holes : bool
        Some phase receives no tap (a kernel shorter than the stride, or dilation).
    every_size : bool
        ``output = factor * input`` for every input size (in size mode: with
        ``factor = output_size / input_size`` when that is an integer).
    """

    kernel_size: int
    stride: int
    padding: int
    output_padding: int
    dilation: int
    output_size: int | None
    taps_per_phase: tuple[int, ...]
    checkerboard: bool
    holes: bool
    every_size: bool

    @property
    def flags(self) -> tuple[str, ...]:
        """Short warnings, for display."""
        flags = []
        if self.holes:
            flags.append("holes (phases with no kernel tap)")
        if self.checkerboard:
            flags.append("checkerboard-prone (uneven overlap)")
        if self.output_padding:
            flags.append("needs output_padding")
        if self.dilation > 1:
            flags.append("dilated")
        return tuple(flags)

    def conv_transpose_arguments(self) -> dict[str, int]:
        """Keyword arguments of :func:`tconv.conv_transpose` (and ``F.conv_transpose*d``) for this design."""
        return dict(
            stride=self.stride, padding=self.padding, output_padding=self.output_padding, dilation=self.dilation
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["taps_per_phase"] = list(self.taps_per_phase)
        data["flags"] = list(self.flags)
        return data

    def _rank(self) -> tuple:
        return (
            self.holes,
            self.checkerboard,
            not self.every_size,
            self.output_padding > 0,
            self.dilation > 1,
            self.kernel_size,
            self.padding,
            self.stride,
        )


def upsampling_designs(
    input_size: int | None = None,
    output_size: int | None = None,
    *,
    factor: int | None = None,
    max_kernel: int = 8,
    max_stride: int | None = None,
    max_padding: int | None = None,
    max_dilation: int = 1,
    output_padding: bool = True,
) -> list[Design]:
    """Every transposed convolution (one axis) that maps ``input_size`` to ``output_size``, best first.

    Parameters
    ----------
    input_size, output_size : int, optional
        Size mode: designs with exactly this output for this input.
    factor : int, optional
        Factor mode: designs with ``output = factor * input`` for *every* input
        size (``stride = factor``); with ``input_size`` the output size is checked
        too (``output_size`` defaults to ``factor * input_size``).
    max_kernel, max_stride, max_padding, max_dilation : int
        Search limits (``max_stride`` defaults to ``ceil(output/input)`` + 1 in
        size mode, ``max_padding`` to ``max_kernel``).
    output_padding : bool
        Allow ``output_padding > 0`` (``< max(stride, dilation)``, PyTorch's rule).

    Returns
    -------
    list of Design
        Ranked: no dilation holes, even overlap, exact for every size, no
        output_padding, no dilation, then smaller kernels and less padding.

    Examples
    --------
    2x up-sampling for every size, the ``S = n, F = n + 2P`` family first (kernels 2 and 4 are
    divisible by stride 2; kernel 3 needs output_padding and overlaps unevenly;
    kernel 1 leaves every other output without a tap):

    >>> [(d.kernel_size, d.stride, d.padding, d.output_padding) for d in upsampling_designs(factor=2, max_kernel=4)]
    [(2, 2, 0, 0), (4, 2, 1, 0), (3, 2, 1, 1), (1, 2, 0, 1)]
    >>> upsampling_designs(factor=2, max_kernel=4)[2].flags
    ('checkerboard-prone (uneven overlap)', 'needs output_padding')
    """
    if factor is None and (input_size is None or output_size is None):
        raise ValueError("give factor, or both input_size and output_size")
    i = None if input_size is None else positive_int(input_size, "input_size")
    n = None if factor is None else positive_int(factor, "factor")
    o = None if output_size is None else positive_int(output_size, "output_size")
    if n is not None and i is not None:
        if o is None:
            o = n * i
        elif o != n * i:
            raise ValueError(f"output_size={o} is not factor*input_size = {n}*{i} = {n * i}")
    k_max = positive_int(max_kernel, "max_kernel")
    d_max = positive_int(max_dilation, "max_dilation")
    p_max = k_max if max_padding is None else non_negative_int(max_padding, "max_padding")
    if not isinstance(output_padding, bool):
        raise TypeError(f"output_padding must be True or False, got {output_padding!r}")
    if n is not None:
        strides = range(n, n + 1)
    else:
        assert i is not None and o is not None
        s_max = -(-o // i) + 1 if max_stride is None else positive_int(max_stride, "max_stride")
        strides = _reachable_strides(i, o, s_max, effective_kernel_size(k_max, d_max), d_max, p_max, output_padding)
    _check_search(strides, k_max, d_max, output_padding, "factor" if n is not None else max_stride)
    # in size mode, a design that multiplies every size by o/i (when that is an integer) ranks higher
    every = n if n is not None else (o // i if o is not None and i is not None and o % i == 0 else None)
    designs = []
    for s in strides:
        for d in range(1, d_max + 1):
            for k in range(1, k_max + 1):
                if d > 1 and k == 1:
                    continue  # dilation of a single tap changes nothing
                k_eff = effective_kernel_size(k, d)
                for a in range(0, max(s, d) if output_padding else 1):
                    # the padding is fixed by the size: k_eff + a - 2p = n (factor), or = o - (i - 1)*s (size)
                    twice_p = k_eff + a - (n if n is not None else o - (i - 1) * s)  # type: ignore[operator]
                    p = twice_p // 2
                    if twice_p % 2 or not 0 <= p <= p_max:
                        continue
                    size = None if i is None else (i - 1) * s + k_eff - 2 * p + a  # conv_transpose_output_size
                    if size is not None and size < 1:
                        continue
                    taps = overlap_profile(k, s, d)
                    every_size = every is not None and s == every and k_eff + a - 2 * p == every
                    designs.append(Design(k, s, p, a, d, size, taps, len(set(taps)) > 1, 0 in taps, every_size))
    return sorted(designs, key=Design._rank)


#: The most work :func:`upsampling_designs` does: candidates (stride, dilation, kernel, output_padding)
#: times the stride (each design lists its taps for every one of its ``stride`` phases).
MAX_SEARCH = 10**7


def _reachable_strides(
    i: int, o: int, s_max: int, k_eff_max: int, d_max: int, p_max: int, output_padding: bool
) -> range:
    """The strides ``<= s_max`` that can give output ``o`` from input ``i`` within the limits.

    ``o = (i - 1)*s + k_eff - 2p + a`` with ``1 <= k_eff <= k_eff_max``, ``0 <= p <= p_max`` and
    ``0 <= a < max(s, d)`` (``a = 0`` without output_padding), so ``(i - 1)*s <= o + 2*p_max - 1``,
    and ``(i - 1)*s + k_eff_max + a_max >= o`` with ``a_max = s - 1`` or ``d_max - 1``.
    """
    high = s_max if i == 1 else min(s_max, (o + 2 * p_max - 1) // (i - 1))
    if i == 1:
        low = 1
    elif output_padding:
        low = min(-(-(o - k_eff_max + 1) // i), -(-(o - k_eff_max - d_max + 1) // (i - 1)))
    else:
        low = -(-(o - k_eff_max) // (i - 1))
    low = max(1, low)
    return range(low, max(low, high + 1))


def _check_search(strides: range, k_max: int, d_max: int, output_padding: bool, max_stride: object) -> None:
    """Refuse, before searching, a search of more than :data:`MAX_SEARCH` steps (naming the limits).

    ``max_stride`` is the argument (None: its default), or ``"factor"`` in factor mode.
    """
    if not strides:
        return
    top = strides[-1]
    choices = max(top, d_max) if output_padding else 1
    work = len(strides) * d_max * k_max * choices * top
    if work > MAX_SEARCH:
        if max_stride == "factor":
            stride = f"stride factor={top}"
        elif max_stride is None:
            stride = f"{len(strides)} strides up to {top} (max_stride defaults to ceil(output_size/input_size) + 1)"
        else:
            stride = f"{len(strides)} strides up to max_stride={top}"
        raise ValueError(
            f"the search is too large: {stride}, max_dilation={d_max}, max_kernel={k_max}"
            + (f", output paddings up to {choices - 1}" if output_padding else "")
            + f", each design listing its taps for every one of its stride phases: about {work} steps, "
            f"more than {MAX_SEARCH}; lower the limits" + (" or pass output_padding=False" if output_padding else "")
        )
