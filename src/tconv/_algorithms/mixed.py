"""Single-precision products summed in double precision chunk by chunk, in register tiles.

The gradients' accuracy rule (``docs/performance.md#accuracy-of-the-gradients``) sums each float32
gradient entry as float32 sums of a few dozen terms (a chunk) added in float64. Done with BLAS, every
chunk is a GEMM of a few dozen columns and a pass adding its product into double-precision sums: small
GEMMs run at a fraction of BLAS's rate, and the passes move the result through memory once per chunk
(the input gradient of a k3 s2 decoder layer of 128 -> 64 channels, 1.2 GFLOP in 64-column chunks: 107
GF/s on two threads, where PyTorch's one float32 sum ran at 285).

Here one compiled kernel does both in registers (:func:`tconv._algorithms.numba_kernels.mixed_product`):
a tile of :data:`~tconv._algorithms.numba_kernels.MIXED_ROWS` rows of ``A`` by
:data:`~tconv._algorithms.numba_kernels.MIXED_COLUMNS` columns of ``B`` sums each chunk with fused
multiply-adds in single-precision vector registers, widens the chunk's sums and adds them to the tile's
double-precision totals, then the next chunk; the totals are rounded once, at the end. The chunks are
those of the BLAS path (the same terms, the same boundaries), each summed in order in one chain of fused
multiply-adds, as BLAS's kernels sum a column of a product. ``B`` is read from panels of that many
columns, packed once (:func:`pack`; the weight's once per call, or once for a prepared call); ``A`` is
read where it lies, any strides.

Measured on the Intel Xeon with AVX-512 (one thread, ``A`` 1008 x 2048 times a 2048 x 256 panel set in
64-term chunks): 116-130 GF/s, against MKL's SGEMM without chunks at 140-146 in the same runs.

Where it runs: the input gradient's tiles of channels-last columns
(:func:`tconv._algorithms.im2col._conv_tiled`), whose weight is packed once per call and whose columns
are read in place (A/B against the BLAS chunks on the benchmark's input gradients, two threads:
1.13-1.37x on dcgan-3, 3d-k3s2, decoder-k3s2, stride1-3x3, grouped-4 and dilated) -- where the wide
register tiles, the same tile reading the output gradient in place without columns
(:func:`tconv._algorithms.im2col.wide_tiles`), do not: since 7 December those six layers take them.
Not where the columns would be packed on every tile: the channels-first tiles
(:func:`tconv._algorithms.im2col._conv_tiled_cf`: 0.79-0.93x on U-Net's k2 s2 layers and dcgan-2; read in
place, ``(K, N)`` columns as the rows of ``A`` R apart, half speed), nor the weight gradient, whose
chunks of 128-256 rows BLAS multiplies near its full rate (both sides packed in panels: 0.27-1.05x) --
but for the tiles of a grouped layer's weight gradient (:func:`tconv._algorithms.im2col._tile_chunks`):
columns ``(B*Kv, rows)`` read in place, chunks of 16-256 rows, the input's few channels per group packed
(1.07-1.47x on grouped layers, whose 16-row chunks BLAS multiplied a call each).
"""

from __future__ import annotations

import numpy as np

from . import compiled as _compiled

__all__ = ["applies", "columns", "fills", "pack", "product", "rows"]


def applies(dtype: np.dtype) -> bool:
    """Whether :func:`product` computes float32 products in ``dtype``: the compiled kernels are on and it is float32."""
    return _compiled.available() and np.dtype(dtype) == np.dtype(np.float32)


def columns() -> int:
    """The register tile's columns of ``B`` on this processor (a panel's width)."""
    from . import numba_kernels

    return numba_kernels.MIXED_COLUMNS


def fills(n: int, width: int | None = None) -> bool:
    """Whether ``n`` columns of ``B`` fill their :func:`pack` panels (or ``n`` channels blocks of ``width``
    lanes, another register tile's) to at least four fifths (a quarter more columns of zeros at most):
    where they do not, the tiles multiply mostly zeros."""
    width = columns() if width is None else width
    return 4 * (-(-n // width) * width) <= 5 * n


def pack(b: np.ndarray) -> np.ndarray:
    """``b`` ``(K, N)`` (float32, any strides) as :func:`product` reads it: ``(ceil(N / W), K, W)`` panels of
    ``W`` columns, zero past ``N``; or ``b`` ``(S, K, N)``, a stack whose ``(S*K, N)`` rows are packed (no
    copy of the stack first: a stack of transposed views, each sample's rows of a channels-first input,
    took a NumPy copy as long as the packing: 8 samples of 512 rows of 128 channels 2.9 -> 1.3 ms, 16 of
    1024 rows of 48 channels 3.7 -> 2.0)."""
    if b.ndim == 3 and (b.shape[0] == 1 or b.shape[2] <= columns()):
        # one sample, or one panel's columns (16 of 4 samples' 1024 rows: the copy 124 us, the samples
        # packed one by one 140)
        b = rows(b)
    stack = b if b.ndim == 3 else b[None]
    count, k, n = stack.shape
    width = columns()
    panels = np.empty((-(-n // width), count * k, width), dtype=np.float32)
    for i in range(count):  # (one sample: the panels whole, a contiguous array)
        _compiled.kernels()["mixed_pack"](stack[i], panels if count == 1 else panels[:, i * k : (i + 1) * k])
    return panels


def rows(b: np.ndarray) -> np.ndarray:
    """A stack ``(S, K, N)`` as its ``(S*K, N)`` rows: a view of one sample, else a copy."""
    return b[0] if b.shape[0] == 1 else np.ascontiguousarray(b).reshape(-1, b.shape[2])


def product(a: np.ndarray, panels: np.ndarray, step: int, out: np.ndarray) -> None:
    """``out = a @ b`` on the calling thread: ``a`` ``(M, K)`` float32 (any strides), ``b`` ``(K, N)`` given as
    its :func:`pack` panels, ``out`` ``(M, N)`` float32 or float64 (any strides), each entry the
    double-precision sum of single-precision sums of ``step`` terms (``k`` in ``[0, step)``, ``[step,
    2 step)``, ...), rounded once to ``out``'s dtype."""
    m, k = a.shape
    n = out.shape[1]
    assert panels.shape[1] == k and out.shape[0] == m and panels.shape[0] * panels.shape[2] >= n, (
        a.shape,
        panels.shape,
        out.shape,
    )
    if m == 0 or n == 0:
        return
    if k == 0:
        out[...] = 0
        return
    if a.dtype != np.float32 or any(s <= 0 or s % 4 for s in a.strides):
        a = np.ascontiguousarray(a, dtype=np.float32)
    _compiled.kernels()["mixed_product"](a, panels, step, out)
