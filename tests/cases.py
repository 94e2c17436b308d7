"""The parameter table every algorithm is crossed with (opt_einsum style: one table, many checks).

Each case is a PyTorch-expressible transposed convolution; ``id`` says what it
exercises. Sizes are small so that every algorithm (including the matrix one and
the naive loop reference) runs fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Case:
    id: str
    n: int
    c_in: int
    c_out: int
    size: tuple
    kernel: tuple
    stride: tuple | int = 1
    padding: tuple | int = 0
    output_padding: tuple | int = 0
    groups: int = 1
    dilation: tuple | int = 1
    bias: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return len(self.size)

    def arrays(self, dtype=np.float64, seed=0):
        """Random input, weight and bias for this case (input channels-first)."""
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((self.n, self.c_in, *self.size))
        w = rng.standard_normal((self.c_in, self.c_out // self.groups, *self.kernel))
        b = rng.standard_normal(self.c_out) if self.bias else None
        if np.dtype(dtype).kind == "c":
            x = x + 1j * rng.standard_normal(x.shape)
            w = w + 1j * rng.standard_normal(w.shape)
            b = None if b is None else b + 1j * rng.standard_normal(b.shape)
        cast = lambda a: None if a is None else a.astype(dtype)  # noqa: E731
        return cast(x), cast(w), cast(b)

    def kwargs(self):
        return dict(
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            groups=self.groups,
            dilation=self.dilation,
        )


CASES = [
    # 1-d
    Case("1d-basic", 2, 3, 2, (5,), (3,)),
    Case("1d-stride2", 2, 2, 3, (4,), (3,), stride=2),
    Case("1d-k4s2p1", 1, 3, 2, (6,), (4,), stride=2, padding=1),
    Case("1d-vocoder-k16s8p4", 1, 2, 2, (5,), (16,), stride=8, padding=4),
    Case("1d-stride>kernel", 2, 2, 2, (4,), (2,), stride=3),
    Case("1d-dilation3-op2", 1, 2, 2, (4,), (3,), stride=1, output_padding=2, dilation=3),
    Case("1d-groups3", 2, 6, 3, (5,), (3,), stride=2, groups=3),
    Case("1d-k1", 2, 3, 4, (5,), (1,), stride=2, output_padding=1),
    # 2-d
    Case("2d-basic", 2, 3, 2, (4, 5), (3, 3)),
    Case("2d-dcgan-k4s2p1", 2, 4, 3, (4, 4), (4, 4), stride=2, padding=1),
    Case("2d-unet-k2s2", 2, 4, 2, (3, 4), (2, 2), stride=2, bias=False),
    Case("2d-k3s2p1op1", 1, 3, 3, (4, 3), (3, 3), stride=2, padding=1, output_padding=1),
    Case(
        "2d-anisotropic", 1, 2, 3, (3, 5), (3, 2), stride=(3, 2), padding=(1, 0), output_padding=(2, 1), dilation=(1, 2)
    ),
    Case("2d-dilated", 2, 2, 2, (4, 4), (3, 3), stride=2, padding=2, output_padding=1, dilation=2),
    Case("2d-holes-k3s2d2", 1, 2, 2, (3, 3), (3, 3), stride=2, dilation=2),
    Case("2d-groups2", 2, 4, 6, (3, 3), (3, 3), stride=2, padding=1, groups=2),
    Case("2d-depthwise", 2, 3, 3, (4, 4), (4, 4), stride=2, padding=1, groups=3),
    Case("2d-depthwise-mult2", 1, 2, 4, (3, 3), (3, 3), stride=2, groups=2),
    Case("2d-large-padding", 1, 2, 2, (5, 5), (5, 5), stride=2, padding=3, output_padding=1),
    Case("2d-seed003-k5p2s2", 2, 1, 1, (2, 2), (5, 5), stride=2, padding=2),
    Case("2d-output-padding<dilation", 1, 2, 2, (3, 3), (2, 2), stride=1, output_padding=(1, 2), dilation=(2, 3)),
    # 3-d
    Case("3d-basic", 1, 2, 2, (3, 3, 3), (3, 3, 3)),
    Case("3d-unet-k2s2", 2, 3, 2, (2, 3, 2), (2, 2, 2), stride=2),
    Case("3d-k3s2p1op1", 1, 2, 3, (3, 2, 3), (3, 3, 3), stride=2, padding=1, output_padding=1),
    Case(
        "3d-groups-dilation",
        1,
        4,
        4,
        (3, 3, 2),
        (2, 3, 2),
        stride=(2, 1, 2),
        padding=(1, 1, 0),
        groups=2,
        dilation=(2, 1, 1),
    ),
]

CASE_IDS = [c.id for c in CASES]
