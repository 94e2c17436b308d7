"""tconv.explain.artifacts_text: the overlap analysis in words."""

from __future__ import annotations

import numpy as np

from tconv.artifacts import analyze
from tconv.explain.artifacts_text import advice, report


def test_advice_words():
    text = "\n".join(advice(analyze(3, 2)))
    assert "not divisible by the stride 2" in text and "taps per phase [2, 1]" in text
    assert "Resize, then convolve" in text and "ICNR" in text and "bilinear" in text
    holes = "\n".join(advice(analyze(3, 2, dilation=2)))
    assert "gcd(dilation, stride) = gcd(2, 2) = 2" in holes and "[3, 0]" in holes
    assert advice(analyze(4, 2, padding=1))[0].startswith("Even")
    mixed = "\n".join(advice(analyze((3, 4), 2)))
    assert "axis 0: checkerboard" in mixed and "[[4, 4], [2, 2]]" in mixed


def test_report_quotes_the_arguments_and_checks_the_weights():
    text = report(analyze((3, 3), 2, padding=((1, 0), 1), output_padding=1, input_size=3))
    assert text.startswith(
        "Overlap of a transposed convolution: kernel_size 3, stride 2, dilation 1, padding ((1, 0), 1)"
    )
    assert "taps per phase, axis 0: [2, 1]" in text and "verdict: CHECKERBOARD" in text
    w = np.random.default_rng(0).standard_normal((2, 4, 4))
    text = report(analyze(None, 2, 1, weight=w, groups=2))
    assert "weights of shape (2, 4, 4), groups 2:" in text
    assert "checked: tconv.conv_transpose of an all-ones input gives these values on the interior" in text
