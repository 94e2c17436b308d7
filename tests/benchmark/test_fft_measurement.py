"""docs/bench/fft_1d.py: the FFT prototype measured in docs/performance.md computes the layer it is timed on."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, docs_script, oracle

fft_1d = docs_script("fft_1d")


@pytest.mark.parametrize(
    "n, c_in, c_out, length, k, s, p, op, d, block",
    [
        (2, 3, 4, 50, 16, 1, 0, 0, 1, None),
        (2, 5, 3, 40, 16, 4, 3, 2, 1, None),
        (1, 4, 4, 33, 7, 2, 1, 1, 2, 64),
        (3, 6, 2, 100, 64, 8, 10, 0, 1, None),
        (2, 3, 3, 20, 3, 3, 0, 0, 1, 16),
        (1, 2, 2, 10, 2, 5, 0, 3, 1, None),  # a kernel shorter than the stride: outputs no tap reaches
        (1, 2, 3, 7, 33, 1, 16, 0, 1, 40),  # a block length that is not a power of two (rounded up)
    ],
)
def test_fft_prototype_is_pytorchs_conv_transpose1d(n, c_in, c_out, length, k, s, p, op, d, block):
    torch = oracle("torch")
    rng = np.random.default_rng(k * 100 + s)
    x, w = rng.standard_normal((n, c_in, length)), rng.standard_normal((c_in, c_out, k))
    expected = torch.nn.functional.conv_transpose1d(
        torch.from_numpy(x), torch.from_numpy(w), stride=s, padding=p, output_padding=op, dilation=d
    ).numpy()
    got = fft_1d.conv_transpose_fft(x, w, s, p, op, d, block=block)
    assert_close(got, expected, dtype=np.float64)
    got32 = fft_1d.conv_transpose_fft(x.astype(np.float32), w.astype(np.float32), s, p, op, d, block=block)
    assert_close(got32, expected.astype(np.float32), dtype=np.float32, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
