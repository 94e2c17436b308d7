"""FFT for long 1-d kernels: the measurement of ``docs/performance.md`` ("FFT for long 1-d kernels").

A NumPy prototype of a 1-d transposed convolution by FFT, timed against ``tconv.conv_transpose`` on
the same process and arrays::

    python docs/bench/fft_1d.py            # the table of docs/performance.md (a few minutes)

The prototype (:func:`conv_transpose_fft`, one group, PyTorch's padding) splits the outputs into the
``s`` residues of the stride (output ``s*q + r`` of residue ``r`` sums the taps ``t`` with
``d*t = s*m + r``: a stride-1 convolution of the input with the ``M = d*(k-1)//s + 1`` taps ``m`` of
each residue), and computes all of them by overlap-save: blocks of ``B`` input cells transformed once
(``np.fft.rfft``, shared by the residues), one complex GEMM per frequency bin from the input channels
to the residues' output channels, an inverse transform per block, ``B - M + 1`` valid outputs each.
Its multiplications per output and channel pair are about ``2B / (B - M + 1)`` complex ones against
``M`` real ones in ``tconv``'s GEMM: it can only pay from a few taps per residue on, and then the
transforms and the complex GEMMs' lower rate decide.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from tconv.benchmark._worker import _time  # the benchmark's timing: warmed up, then one call at a time


def conv_transpose_fft(
    x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1,
    block: int | None = None,
) -> np.ndarray:  # fmt: skip
    """``conv_transpose1d(x, w, stride, padding, output_padding, dilation=dilation)`` (one group) by FFT.

    ``x`` ``(N, C_in, I)``, ``w`` ``(C_in, C_out, k)``; ``block`` the transform length ``B`` (a power of two
    above the taps per residue; default ``4 M`` rounded up, at least 16).
    """
    n, c_in, length = x.shape
    _, c_out, k = w.shape
    s, d = stride, dilation
    full = s * (length - 1) + d * (k - 1) + 1  # the outputs before the padding's crop
    taps = taps_per_residue(k, s, d)
    h = np.zeros((c_in, s, c_out, taps), dtype=x.dtype)  # residue r's taps m
    for t in range(k):
        h[:, (d * t) % s, :, (d * t) // s] = w[:, :, t]
    size = 2 ** math.ceil(math.log2(max(block if block is not None else max(16, 4 * taps), taps + 1)))
    step = size - taps + 1  # valid outputs of one block
    outputs = length + taps - 1  # each residue's outputs q
    blocks = -(-outputs // step)
    complex_dtype = np.complex64 if x.dtype == np.float32 else np.complex128
    bins = size // 2 + 1
    weight = np.fft.rfft(h, size, axis=-1).astype(complex_dtype)  # (C_in, s, C_out, F)
    weight = np.ascontiguousarray(weight.reshape(c_in, s * c_out, bins).transpose(2, 0, 1))  # (F, C_in, s*C_out)
    padded = np.zeros((n, c_in, taps - 1 + blocks * step + size - step), dtype=x.dtype)
    padded[:, :, taps - 1 : taps - 1 + length] = x
    st = padded.strides
    segments = np.lib.stride_tricks.as_strided(padded, (n, c_in, blocks, size), (st[0], st[1], step * st[2], st[2]))
    spectra = np.fft.rfft(segments, axis=-1).astype(complex_dtype)  # (N, C_in, blocks, F)
    lhs = spectra.transpose(3, 0, 2, 1).reshape(bins, n * blocks, c_in)
    products = np.matmul(lhs, weight).reshape(bins, n, blocks, s, c_out)  # (F, N, blocks, s, C_out)
    rows = np.fft.irfft(products.transpose(1, 4, 3, 2, 0), size, axis=-1)  # (N, C_out, s, blocks, B)
    rows = rows[..., taps - 1 :]  # each block's valid outputs
    residues = rows.reshape(n, c_out, s, blocks * step)[..., :outputs]
    interleaved = residues.transpose(0, 1, 3, 2).reshape(n, c_out, s * outputs)  # output s*q + r
    y = np.zeros((n, c_out, full + output_padding), dtype=x.dtype)
    y[:, :, :full] = interleaved[:, :, :full]
    return y[:, :, padding : full + output_padding - padding]


def taps_per_residue(k: int, stride: int, dilation: int = 1) -> int:
    """``M``: the taps of the longest residue of the stride (tap ``t`` goes to residue ``d*t mod s``)."""
    return dilation * (k - 1) // stride + 1


#: The measured layers: (channels in = out, samples, input length, kernel, stride).
LAYERS = [
    (64, 4, 2000, 16, 2),
    (64, 4, 2000, 32, 2),
    (64, 4, 2000, 64, 4),
    (64, 4, 2000, 16, 1),
    (64, 4, 2000, 32, 1),
    (64, 4, 2000, 64, 1),
    (256, 2, 1000, 32, 2),
    (256, 2, 1000, 32, 1),
    (256, 2, 1000, 64, 1),
    (32, 4, 4000, 32, 1),
    (32, 4, 4000, 64, 2),
    (16, 4, 16000, 64, 4),
    (16, 4, 16000, 128, 4),
    # the benchmark's 1-d layers: HiFi-GAN's k16 s8 and an inverse STFT's k1024 s256 (2 and 4 taps a residue)
    (512, 4, 200, 16, 8),
]


def _milliseconds(call) -> float:
    """The fastest of 15 calls, in milliseconds (:func:`tconv.benchmark._worker._time`)."""
    return min(_time(call, 15)) * 1e3


def measure(c: int, n: int, length: int, k: int, s: int, rng: np.random.Generator) -> str:
    """One row of the table: tconv's time, the prototype's at its best block length, their float32 errors
    (the largest relative to the largest output of the float64 result)."""
    import tconv

    x = rng.standard_normal((n, c, length)).astype(np.float32)
    w = (rng.standard_normal((c, c, k)) / np.sqrt(c * k / s)).astype(np.float32)
    direct = _milliseconds(lambda: tconv.conv_transpose(x, w, stride=s))
    taps = taps_per_residue(k, s)
    sizes = sorted({max(16, 2 ** math.ceil(math.log2(m * taps))) for m in (2, 4, 8, 16, 32)})
    fastest = min((_milliseconds(lambda b=b: conv_transpose_fft(x, w, s, block=b)), b) for b in sizes)
    exact = tconv.conv_transpose(x.astype(np.float64), w.astype(np.float64), stride=s)
    scale = np.abs(exact).max()
    ours, fft = (
        np.abs(y - exact).max() / scale for y in (tconv.conv_transpose(x, w, stride=s), conv_transpose_fft(x, w, s))
    )
    gflop = 2 * n * c * c * k * length / 1e9
    return (
        f"| {c} | {n} | {length} | {k} | {s} | {taps} | {gflop:.2f} | {direct:.2f} | {fastest[0]:.2f} ({fastest[1]}) "
        f"| {direct / fastest[0]:.2f}x | {ours:.1e}, {fft:.1e} |"
    )


def main() -> None:
    rng = np.random.default_rng(0)
    columns = "channels | N | length | k | s | taps a residue | GFLOP | tconv ms | FFT ms (B) | FFT speed-up | error"
    print(f"| {columns}: tconv, FFT |")
    print("|---" * 11 + "|")
    for layer in LAYERS:
        print(measure(*layer, rng), flush=True)


if __name__ == "__main__":
    sys.exit(main())
