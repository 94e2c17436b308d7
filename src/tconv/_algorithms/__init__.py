"""The registries of algorithms for ``conv_transpose`` and ``conv``, and the ``"auto"`` choice.

Every algorithm of an operator computes the same function for every parameter
combination; they differ in how. An algorithm is a function::

    run(x, w, bias, geometry, groups, layout) -> y

with ``x`` batched in ``layout`` (``(N, C, *size)`` or ``(N, *size, C)``), ``w`` in
PyTorch's layout of that operator (``(C_in, C_out/groups, *k)`` for
``conv_transpose``, ``(C_out, C_in/groups, *k)`` for ``conv``), ``bias`` of shape
``(C_out,)`` or ``None``, all already in the compute dtype, and ``y`` returned in
``layout``, bias added. For ``conv_transpose`` the input has
``geometry.input_size`` and the output ``geometry.output_size``; for ``conv`` the
other way round (see :class:`tconv.geometry.Geometry`). Fast
algorithms can so fuse the bias and the layout change into their last pass; the
reference ones below work in the canonical grouped channels-first layout of
:mod:`tconv.kernels` through :func:`_grouped_channels_first`.

The three textbook views of the operator are the reference algorithms:

- ``"scatter"``: each input element stamps the kernel, scaled by its value, into
  the output at stride offsets (:func:`tconv.kernels.scatter`);
- ``"dilate"``: insert ``stride - 1`` zeros between input elements, pad by
  ``dilation*(k - 1) - padding`` and correlate with the spatially flipped kernel;
- ``"matrix"``: multiply by ``C.T``, the transpose of the forward convolution's
  matrix (:mod:`tconv.matrix`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import kernels as _kernels
from ..geometry import Geometry

__all__ = ["OPS", "Algorithm", "algorithms", "choose", "get", "register"]

Run = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", Geometry, int, str], np.ndarray]


@dataclass(frozen=True)
class Algorithm:
    """A named way to compute a transposed convolution."""

    name: str
    run: Run
    summary: str


#: The operators that have algorithm registries.
OPS = ("conv_transpose", "conv")

_REGISTRY: dict[str, dict[str, Algorithm]] = {op: {} for op in OPS}


def _check_op(op: object) -> str:
    if op not in OPS:
        raise ValueError(f"op must be one of {OPS}, got {op!r}")
    return op  # type: ignore[return-value]


def register(name: str, summary: str, op: str = "conv_transpose") -> Callable[[Run], Run]:
    """Decorator adding ``run`` to the registry of ``op`` under ``name``."""

    def add(run: Run) -> Run:
        _REGISTRY[_check_op(op)][name] = Algorithm(name, run, summary)
        return run

    return add


def algorithms(op: str = "conv_transpose") -> tuple[str, ...]:
    """Names accepted by ``conv_transpose(..., algorithm=...)`` (or ``conv``) besides ``"auto"``.

    Examples
    --------
    >>> import tconv
    >>> {"scatter", "dilate", "matrix"} <= set(tconv.algorithms())
    True
    >>> {"direct", "matrix"} <= set(tconv.algorithms("conv"))
    True
    """
    return tuple(_REGISTRY[_check_op(op)])


def get(name: object, op: str = "conv_transpose") -> Algorithm:
    """The algorithm of ``op`` called ``name``; the error lists the valid names."""
    registry = _REGISTRY[_check_op(op)]
    if not isinstance(name, str) or name not in registry:
        valid = ", ".join(repr(n) for n in ("auto", *registry))
        raise ValueError(f"algorithm {name!r} not found, valid options are {{{valid}}}")
    return registry[name]


def choose(geometry: Geometry, groups: int, n: int, c_in: int, c_out: int, op: str = "conv_transpose") -> str:
    """The algorithm ``"auto"`` runs for this problem: the cost model.

    The rules come from ``tconv bench --algorithms auto,gemm,phase,direct`` runs on
    this project's 2-core machine (``docs/performance.md`` has the tables):

    With compiled kernels (numba installed, ``compiled=True``):

    1. few channels per group (``C_in/G * C_out/G <= 16``, depthwise and the like):
       ``"direct"`` -- BLAS has nothing to multiply, one compiled pass does it all;
    2. 3-d with overlapping stamps (``dilation*(k - 1) + 1 > stride`` in some axis):
       ``"phase"`` -- the column buffer of ``gemm`` is ``prod(k)/prod(s)`` times the
       output (3.4x for k3s2), and the shifted-window GEMMs avoid it; measured equal
       in float32 and 1.3x faster in float64 on the 3-d decoder layer;
    3. everything else: ``"gemm"`` -- cache-sized tiles of one GEMM each plus a
       write-once gather beat the polyphase GEMMs on every other benchmark layer.

    With NumPy alone, where every non-BLAS pass is a NumPy pass:

    1. few channels per group: ``"direct"`` (a broadcast multiply-add per tap);
    2. a single input pixel, or large weights (>= 4 MiB) on small samples
       (<= 1024 input pixels): ``"gemm"`` -- one GEMM over few rows, little col2im;
    3. no overlap between stamps (``dilation*(k - 1) + 1 <= stride``, e.g. U-Net's
       ``k = s = 2``) or few output channels (``C_out/G <= 8``): ``"scatter"``;
    4. otherwise: ``"phase"`` -- shifted-window GEMMs and one interleave pass,
       instead of ``prod(k)`` strided slice-adds over the output.

    For ``conv`` the answer is ``"gemm"`` (im2col + GEMM).
    """
    if op == "conv":
        return "gemm"
    from .compiled import available

    cig, cog = c_in // groups, c_out // groups
    if groups > 1 and cig * cog <= 16:
        return "direct"
    spans = [d * (k - 1) + 1 for k, d in zip(geometry.kernel_size, geometry.dilation)]
    overlapping = any(e > s for e, s in zip(spans, geometry.stride))
    if available():
        return "phase" if geometry.ndim == 3 and overlapping else "gemm"
    p_in = math.prod(geometry.input_size)
    weight_bytes = c_in * cog * math.prod(geometry.kernel_size) * 4
    if p_in == 1 or (weight_bytes >= 4 * 2**20 and p_in <= 1024):
        return "gemm"
    if not overlapping or cog <= 8:
        return "scatter"
    return "phase"


def _grouped_channels_first(kernel: Callable[[np.ndarray, np.ndarray, Geometry], np.ndarray]) -> Run:
    """Adapt a canonical kernel ``(N, G, Ci, *i), (G, Ci, Co, *k) -> (N, G, Co, *o)``."""

    def run(x, w, bias, geometry, groups, layout):
        if layout == "channels_last":
            x = np.moveaxis(x, -1, 1)  # (N, C_in, *i)
        n, c_in = x.shape[:2]
        xg = x.reshape(n, groups, c_in // groups, *geometry.input_size)  # (N, G, C_in/G, *i)
        wg = w.reshape(groups, c_in // groups, *w.shape[1:])  # (G, C_in/G, C_out/G, *k)
        y = kernel(xg, wg, geometry)  # (N, G, C_out/G, *o)
        y = y.reshape(n, groups * w.shape[1], *geometry.output_size)  # (N, C_out, *o)
        if bias is not None:
            y += bias.reshape(-1, *(1,) * geometry.ndim)  # (C_out, 1, ..., 1)
        if layout == "channels_last":
            y = np.moveaxis(y, 1, -1)  # (N, *o, C_out)
        return y

    return run


register("scatter", "each input element adds the kernel, scaled by its value, at stride offsets")(
    _grouped_channels_first(_kernels.scatter)
)


def _pad_or_crop(x: np.ndarray, before: tuple[int, ...], after: tuple[int, ...]) -> np.ndarray:
    """Zero-pad the last ``len(before)`` axes by ``before``/``after``; negative amounts crop."""
    lead = x.ndim - len(before)
    widths = [(0, 0)] * lead + [(max(b, 0), max(a, 0)) for b, a in zip(before, after)]
    x = np.pad(x, widths)
    index = tuple(slice(max(-b, 0), n - max(-a, 0)) for b, a, n in zip(before, after, x.shape[lead:]))
    return x[(Ellipsis, *index)]


def zero_insert(x: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The input of the ``"dilate"`` view: zeros inserted, then padded.

    ``x`` is ``(..., *geometry.input_size)`` (any leading axes). Element ``j`` moves
    to ``s*j`` with ``s - 1`` zeros in between; the result is padded by
    ``d*(k - 1) - crop_begin`` at the start (negative: cropped) and at the end so
    that a stride-1 correlation with the dilated kernel yields ``output_size``
    values: it has size ``output_size + d*(k - 1)``.

    Examples
    --------
    >>> from tconv.geometry import conv_transpose_geometry
    >>> zero_insert(np.array([1., 2.]), conv_transpose_geometry(2, 3, stride=2))
    array([0., 0., 1., 0., 2., 0., 0.])
    """
    lead = x.shape[: x.ndim - geometry.ndim]
    s, b, o = geometry.stride, geometry.crop_begin, geometry.output_size
    ke = geometry.effective_kernel_size
    dilated_size = tuple((i - 1) * si + 1 for i, si in zip(geometry.input_size, s))
    x_dil = np.zeros((*lead, *dilated_size), dtype=x.dtype)  # (..., *dilated)
    x_dil[(Ellipsis, *(slice(None, None, si) for si in s))] = x
    before = tuple(k - 1 - bi for k, bi in zip(ke, b))
    after = tuple(oi + k - 1 - bf - ds for oi, k, bf, ds in zip(o, ke, before, dilated_size))
    return _pad_or_crop(x_dil, before, after)  # (..., *(o + k_eff - 1))


def _dilate(x: np.ndarray, w: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Zero insertion + padding + correlation with the flipped kernel.

    Per axis the transposed convolution's full output is
    ``full[f] = sum_t x_dil[f - d*t] * w[t]`` where ``x_dil`` holds ``x[j]`` at
    ``s*j`` and zeros in between. Substituting the flipped tap ``t' = k - 1 - t``
    turns it into a correlation, ``sum_t' x_dil[f - (k_eff - 1) + d*t'] * w[k-1-t']``,
    so output ``o`` (``= full[o + b]``) is a stride-1 correlation of ``x_dil``
    padded by ``k_eff - 1 - b`` at the start (:func:`zero_insert`), with the flipped
    kernel whose channel axes are swapped to the convolution layout ``(C_out, C_in)``.
    """
    x_pad = zero_insert(x, geometry)  # (N, G, Ci, *(o + k_eff - 1))
    spatial = tuple(range(3, w.ndim))
    w_flip = np.flip(w, axis=spatial).swapaxes(1, 2)  # (G, Co, Ci, *k), flipped
    nd = geometry.ndim
    plain = Geometry(
        geometry.output_size, x_pad.shape[3:], geometry.kernel_size, (1,) * nd, geometry.dilation, (0,) * nd
    )
    return _kernels.correlate(x_pad, w_flip, plain)


register("dilate", "zero insertion + padding + correlation with the flipped kernel")(_grouped_channels_first(_dilate))


def _matrix(x, w, bias, geometry, groups, layout):
    from ..matrix import _from_geometry

    if layout == "channels_last":
        x = np.moveaxis(x, -1, 1)  # (N, C_in, *i)
    n = x.shape[0]
    c = _from_geometry(w, groups, geometry, sparse=None)  # (C_in*prod(i), C_out*prod(o))
    y = np.asarray(x.reshape(n, c.shape[0]) @ c)  # (N, C_in*prod(i)) @ C -> (N, C_out*prod(o))
    y = y.reshape(n, groups * w.shape[1], *geometry.output_size).astype(
        np.result_type(x, w), copy=False
    )  # (N, C_out, *o)
    if bias is not None:
        y += bias.reshape(-1, *(1,) * geometry.ndim)
    return np.moveaxis(y, 1, -1) if layout == "channels_last" else y


register("matrix", "multiplication by C.T, the transposed convolution matrix")(_matrix)


def _direct(x, w, bias, geometry, groups, layout):
    """Convolution as the gather of :func:`tconv.kernels.correlate`, the adjoint of ``scatter``."""
    if layout == "channels_last":
        x = np.moveaxis(x, -1, 1)  # (N, C_in, *i)
    n, c_in = x.shape[:2]
    c_out = w.shape[0]
    xg = x.reshape(n, groups, c_in // groups, *geometry.output_size)  # (N, G, C_in/G, *i)
    wg = w.reshape(groups, c_out // groups, *w.shape[1:])  # (G, C_out/G, C_in/G, *k)
    y = _kernels.correlate(xg, wg, geometry).reshape(n, c_out, *geometry.input_size)  # (N, C_out, *o)
    if bias is not None:
        y += bias.reshape(-1, *(1,) * geometry.ndim)  # (C_out, 1, ..., 1)
    return np.moveaxis(y, 1, -1) if layout == "channels_last" else y  # (N, *o, C_out)


register("direct", "each output element gathers the kernel-weighted input window", op="conv")(_direct)


def _conv_matrix(x, w, bias, geometry, groups, layout):
    """Convolution as multiplication by its matrix ``C`` (:func:`tconv.conv_matrix`)."""
    from ..matrix import _from_geometry

    if layout == "channels_last":
        x = np.moveaxis(x, -1, 1)  # (N, C_in, *i)
    n = x.shape[0]
    c = _from_geometry(w, groups, geometry, sparse=None)  # (C_out*prod(o), C_in*prod(i))
    y = np.asarray(c @ x.reshape(n, c.shape[1]).T).T  # (N, C_out*prod(o))
    y = y.reshape(n, w.shape[0], *geometry.input_size).astype(np.result_type(x, w), copy=False)  # (N, C_out, *o)
    if bias is not None:
        y += bias.reshape(-1, *(1,) * geometry.ndim)
    return np.moveaxis(y, 1, -1) if layout == "channels_last" else y


register("matrix", "multiplication by C, the convolution matrix", op="conv")(_conv_matrix)


from . import fast  # noqa: E402, F401  (registers the fast algorithms; to become the explicit table)
