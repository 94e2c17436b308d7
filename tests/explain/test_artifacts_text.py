"""tconv.explain.artifacts_text: the overlap analysis in words."""

from __future__ import annotations

from tconv.explain.artifacts_text import advice


def test_advice_words():
    text = "\n".join(advice(3, 2))
    assert "not divisible by the stride 2" in text and "taps per phase [2, 1]" in text
    assert "Resize, then convolve" in text and "ICNR" in text and "bilinear" in text
    holes = "\n".join(advice(3, 2, dilation=2))
    assert "gcd(dilation, stride) = gcd(2, 2) = 2" in holes and "[3, 0]" in holes
    assert advice(4, 2, padding=1)[0].startswith("Even")
    mixed = "\n".join(advice((3, 4), 2))
    assert "axis 0: checkerboard" in mixed and "[[4, 4], [2, 2]]" in mixed
