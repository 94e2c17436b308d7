"""The layers the benchmark times: named shapes from real networks, and custom ones from a spec.

A layer is written as the spec ``tconv bench --layer`` takes, say
``"n=16 c_in=512 c_out=256 size=4x4 kernel=4 stride=2 padding=1"``:
:func:`layer_from_spec` reads both the named layers of :data:`LAYERS` and the
user's. This module imports NumPy (for the inputs of :meth:`Layer.arrays`) and
:mod:`tconv.geometry` (for each layer's window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..geometry import Geometry, conv_transpose_geometry

__all__ = ["LAYERS", "OTHER_LAYERS", "Layer", "layer_from_spec", "random_layers"]

#: The keys of a layer spec whose values are one int, and those that are sizes (``4`` or ``4x4``).
_INT_KEYS = ("n", "c_in", "c_out", "groups")
_SIZE_KEYS = ("size", "kernel", "stride", "padding", "output_padding", "dilation")


@dataclass(frozen=True)
class Layer:
    """One transposed-convolution layer shape, in PyTorch's terms, with where it comes from.

    ``kernel``, ``stride``, ``padding``, ``output_padding`` and ``dilation`` hold one
    int per spatial axis; one int (or one entry) applies to every axis, and ``()``
    means PyTorch's default (1 for ``stride`` and ``dilation``, else 0).
    """

    name: str
    source: str
    n: int
    c_in: int
    c_out: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] = ()
    output_padding: tuple[int, ...] = ()
    groups: int = 1
    dilation: tuple[int, ...] = ()
    bias: bool = True

    def __post_init__(self) -> None:
        nd = len(self.size)
        for name in ("kernel", "stride", "padding", "output_padding", "dilation"):
            value: Any = getattr(self, name)
            if isinstance(value, int):
                value = (value,)
            if value == ():
                value = (1 if name in ("stride", "dilation") else 0,)
            if len(value) == 1:
                value = tuple(value) * nd
            object.__setattr__(self, name, tuple(value))

    @property
    def flops(self) -> int:
        """Useful floating-point operations: ``2*N*C_in*C_out/groups*prod(k)*prod(i)``."""
        return 2 * self.n * self.c_in * self.c_out // self.groups * math.prod(self.kernel) * math.prod(self.size)

    def bytes(self, itemsize: int) -> int:
        """The bytes a call must move at least: read the input, the weight and the bias, write the output."""
        elements = (
            self.n * self.c_in * math.prod(self.size)
            + self.c_in * self.c_out // self.groups * math.prod(self.kernel)
            + self.n * self.c_out * math.prod(self.output_size)
            + (self.c_out if self.bias else 0)
        )
        return elements * itemsize

    @property
    def geometry(self) -> Geometry:
        """The layer's window (:func:`tconv.geometry.conv_transpose_geometry`)."""
        return conv_transpose_geometry(
            self.size, self.kernel, self.stride, self.padding, self.output_padding, self.dilation
        )

    @property
    def output_size(self) -> tuple[int, ...]:
        return self.geometry.output_size

    def describe(self) -> str:
        """The layer in short: ``N=16 512->256 4x4->8x8 k=4 s=2 p=1``."""
        dims = "x".join(map(str, self.size))
        out = "x".join(map(str, self.output_size))
        parts = [
            f"N={self.n}",
            f"{self.c_in}->{self.c_out}",
            f"{dims}->{out}",
            f"k={_compact(self.kernel)}",
            f"s={_compact(self.stride)}",
        ]
        unless_default = (("p", self.padding, 0), ("op", self.output_padding, 0), ("d", self.dilation, 1))
        parts += [f"{label}={_compact(v)}" for label, v, default in unless_default if any(e != default for e in v)]
        if self.groups != 1:
            parts.append(f"g={self.groups}")
        return " ".join(parts)

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`tconv.conv_transpose` (and of PyTorch's) besides the arrays."""
        return {name: getattr(self, name) for name in ("stride", "padding", "output_padding", "groups", "dilation")}

    def arrays(self, dtype: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(x, w, b)`` drawn from ``seed``: every runtime times the same inputs."""
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((self.n, self.c_in, *self.size), dtype=np.float64).astype(dtype)
        w = (
            rng.standard_normal((self.c_in, self.c_out // self.groups, *self.kernel))
            / math.sqrt(self.c_in // self.groups * math.prod(self.kernel))
        ).astype(dtype)
        b = rng.standard_normal(self.c_out).astype(dtype) if self.bias else None
        return x, w, b


def _compact(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def layer_from_spec(spec: str, *, name: str = "custom", source: str | None = None) -> Layer:
    """A layer from ``"n=4 c_in=256 c_out=128 size=32x32 kernel=2 stride=2 [padding=..] [groups=..]"``.

    Sizes are ``4`` (every axis) or ``4x4`` (one per axis); the other keys are
    ``output_padding``, ``dilation`` and ``bias`` (``true``/``false``). ``source``
    (where the layer comes from) defaults to the spec itself.

    Examples
    --------
    >>> layer_from_spec("n=2 c_in=8 c_out=4 size=16x16 kernel=4 stride=2 padding=1").describe()
    'N=2 8->4 16x16->32x32 k=4 s=2 p=1'
    """
    if not isinstance(spec, str):
        raise TypeError(f"a layer spec is a string like 'n=4 c_in=64 c_out=32 size=16 kernel=4', got {spec!r}")
    values: dict[str, Any] = {}
    for item in spec.replace(",", " ").split():
        if "=" not in item:
            raise ValueError(f"layer spec entries are key=value, got {item!r} in {spec!r}")
        key, value = item.split("=", 1)
        if key in _INT_KEYS:
            ints = _spec_ints(key, value, spec)
            if len(ints) != 1:
                raise ValueError(f"layer spec key {key} must be an int, got {value!r} in {spec!r}")
            values[key] = ints[0]
        elif key in _SIZE_KEYS:
            values[key] = _spec_ints(key, value, spec)
        elif key == "bias":
            values[key] = value.lower() in ("1", "true", "yes")
        else:
            raise ValueError(
                f"unknown layer spec key {key!r}, valid keys are n, c_in, c_out, size, kernel, stride, "
                "padding, output_padding, groups, dilation, bias"
            )
    missing = {"n", "c_in", "c_out", "size", "kernel"} - set(values)
    if missing:
        raise ValueError(f"layer spec {spec!r} lacks {sorted(missing)}")
    values.setdefault("stride", ())
    layer = Layer(name=name, source=spec if source is None else source, **values)
    _check(layer, spec)
    return layer


#: The most elements of one array a layer spec may ask for (a GiB of float32): the benchmark allocates the
#: input, the weight and the output of every layer in every runtime's process.
MAX_ELEMENTS = 2**28


def _spec_ints(key: str, value: str, spec: str) -> tuple[int, ...]:
    """``4`` or ``4x4`` as ints, or a ``ValueError`` naming the key."""
    try:
        return tuple(int(v) for v in value.split("x"))
    except ValueError:
        kind = "an int" if key in _INT_KEYS else "an int or one per axis like 4x4"
        raise ValueError(f"layer spec key {key} must be {kind}, got {value!r} in {spec!r}") from None


def _check(layer: Layer, spec: str) -> None:
    """Every argument of the layer, as :func:`tconv.conv_transpose` checks it, and its arrays' sizes."""
    nd = len(layer.size)
    if nd not in (1, 2, 3):
        raise ValueError(f"layer spec size must have 1 to 3 axes (the peers' layers), got {layer.size} in {spec!r}")
    for key in ("n", "c_in", "c_out", "groups"):
        if getattr(layer, key) < 1:
            raise ValueError(f"layer spec key {key} must be positive, got {getattr(layer, key)} in {spec!r}")
    if layer.c_in % layer.groups or layer.c_out % layer.groups:
        raise ValueError(f"layer spec groups={layer.groups} must divide c_in={layer.c_in} and c_out={layer.c_out}")
    for key in ("kernel", "stride", "padding", "output_padding", "dilation"):
        if len(getattr(layer, key)) != nd:
            raise ValueError(f"layer spec key {key} must have one entry or {nd} (size has {nd} axes) in {spec!r}")
    out = layer.output_size  # the window's checks, naming stride, padding, output_padding, ...
    arrays = {
        "input": layer.n * layer.c_in * math.prod(layer.size),
        "weight": layer.c_in * layer.c_out // layer.groups * math.prod(layer.kernel),
        "output": layer.n * layer.c_out * math.prod(out),
    }
    for what, count in arrays.items():
        if count > MAX_ELEMENTS:
            raise ValueError(
                f"layer spec {spec!r}: its {what} has {count} elements, more than the benchmark's {MAX_ELEMENTS}"
            )


def _named(name: str, spec: str, source: str) -> Layer:
    return layer_from_spec(spec, name=name, source=source)


#: The named layers, from the networks that made transposed convolution common.
LAYERS: tuple[Layer, ...] = (
    _named(
        "dcgan-project",
        "n=16 c_in=100 c_out=512 size=1x1 kernel=4 stride=1",
        "DCGAN generator (Radford et al. 2016; PyTorch examples/dcgan netG): z (100x1x1) -> 512x4x4",
    ),
    _named(
        "dcgan-1",
        "n=16 c_in=512 c_out=256 size=4x4 kernel=4 stride=2 padding=1",
        "DCGAN generator up-sampling layer 1 (ngf*8 -> ngf*4)",
    ),
    _named(
        "dcgan-2",
        "n=16 c_in=256 c_out=128 size=8x8 kernel=4 stride=2 padding=1",
        "DCGAN generator up-sampling layer 2 (ngf*4 -> ngf*2)",
    ),
    _named(
        "dcgan-3",
        "n=16 c_in=128 c_out=64 size=16x16 kernel=4 stride=2 padding=1",
        "DCGAN generator up-sampling layer 3 (ngf*2 -> ngf)",
    ),
    _named(
        "dcgan-4",
        "n=16 c_in=64 c_out=3 size=32x32 kernel=4 stride=2 padding=1",
        "DCGAN generator output layer (ngf -> 3 RGB channels)",
    ),
    _named(
        "unet-1024",
        "n=1 c_in=1024 c_out=512 size=28x28 kernel=2 stride=2",
        "U-Net (Ronneberger et al. 2015) first 2x2 up-convolution, 28x28 -> 56x56",
    ),
    _named(
        "unet-256",
        "n=4 c_in=256 c_out=128 size=32x32 kernel=2 stride=2",
        "U-Net 2x2 up-convolution 256 -> 128 channels",
    ),
    _named(
        "unet-128",
        "n=2 c_in=128 c_out=64 size=112x112 kernel=2 stride=2",
        "U-Net 2x2 up-convolution 128 -> 64 channels at 112x112",
    ),
    _named(
        "unet-64",
        "n=2 c_in=64 c_out=32 size=128x128 kernel=2 stride=2",
        "U-Net last 2x2 up-convolution 64 -> 32 channels at 128x128",
    ),
    _named(
        "fcn8s-up2",
        "n=4 c_in=21 c_out=21 size=16x16 kernel=4 stride=2 bias=false",
        "FCN-8s (Long et al. 2015) upscore2: x2 up-scoring of 21 class scores, k4 s2, no bias",
    ),
    _named(
        "fcn8s-up8",
        "n=2 c_in=21 c_out=21 size=64x64 kernel=16 stride=8 bias=false",
        "FCN-8s upscore8: x8 up-scoring of 21 class scores, k16 s8, no bias",
    ),
    _named(
        "hifigan-up1",
        "n=4 c_in=512 c_out=256 size=200 kernel=16 stride=8 padding=4",
        "HiFi-GAN V1 (Kong et al. 2020) generator up-sampler 1: k16 s8 p4",
    ),
    _named(
        "istft-ola",
        "n=1 c_in=1026 c_out=1 size=224 kernel=1024 stride=256",
        "inverse-STFT-like overlap-add: 1026 -> 1 channel, k1024 s256 (pytorch#120982)",
    ),
    _named(
        "unet3d-up",
        "n=1 c_in=128 c_out=64 size=16x16x16 kernel=2 stride=2",
        "3-D U-Net (Cicek et al. 2016) 2x2x2 up-convolution 128 -> 64",
    ),
    _named(
        "vnet-up",
        "n=2 c_in=256 c_out=128 size=8x8x8 kernel=2 stride=2",
        "V-Net (Milletari et al. 2016) 2x2x2 de-convolution 256 -> 128",
    ),
    _named(
        "3d-k3s2",
        "n=1 c_in=64 c_out=32 size=16x16x16 kernel=3 stride=2 padding=1 output_padding=1",
        "3-D decoder up-sampling k3 s2 p1 op1 64 -> 32",
    ),
    _named(
        "decoder-k3s2",
        "n=8 c_in=128 c_out=64 size=32x32 kernel=3 stride=2 padding=1 output_padding=1",
        "2-D decoder up-sampling k3 s2 p1 op1 128 -> 64",
    ),
    _named(
        "stride1-3x3",
        "n=8 c_in=128 c_out=128 size=32x32 kernel=3 stride=1 padding=1",
        "stride-1 3x3 transposed convolution 128 -> 128 (a decoder's refinement layer)",
    ),
    _named(
        "grouped-4",
        "n=8 c_in=256 c_out=256 size=16x16 kernel=4 stride=2 padding=1 groups=4",
        "grouped (groups=4) k4 s2 p1 256 -> 256",
    ),
    _named(
        "depthwise",
        "n=8 c_in=128 c_out=128 size=32x32 kernel=4 stride=2 padding=1 groups=128",
        "depthwise (groups=channels=128) k4 s2 p1",
    ),
    _named(
        "dilated",
        "n=4 c_in=64 c_out=64 size=32x32 kernel=3 stride=2 padding=2 output_padding=1 dilation=2",
        "dilated k3 s2 p2 d2 op1 64 -> 64",
    ),
    # Depthwise and small groups at other shapes than the layer above: the cost model is fitted on
    # more than one point, and the direct kernel is measured where it used to collapse.
    _named(
        "depthwise-96",
        "n=4 c_in=96 c_out=96 size=40x40 kernel=4 stride=2 padding=1 groups=96",
        "depthwise k4 s2 p1, 96 channels, batch 4, 40x40 (the direct kernel once ran 4x slower than PyTorch here)",
    ),
    _named(
        "depthwise-k3s2",
        "n=16 c_in=256 c_out=256 size=14x14 kernel=3 stride=2 padding=1 output_padding=1 groups=256",
        "depthwise k3 s2 p1 op1, 256 channels at 14x14 (a mobile decoder's up-sampling)",
    ),
    _named(
        "depthwise-1d",
        "n=2 c_in=512 c_out=512 size=400 kernel=4 stride=2 padding=1 groups=512",
        "1-d depthwise k4 s2 p1, 512 channels (pytorch#47341's grouped ConvTranspose1d)",
    ),
    _named(
        "groups-32",
        "n=4 c_in=128 c_out=128 size=32x32 kernel=4 stride=2 padding=1 groups=32",
        "groups=32 (4 channels per group) k4 s2 p1 128 -> 128",
    ),
    _named(
        "groups-8",
        "n=4 c_in=128 c_out=64 size=32x32 kernel=4 stride=2 padding=1 groups=8",
        "groups=8 (16 -> 8 channels per group) k4 s2 p1",
    ),
    _named(
        "one-element",
        "n=1 c_in=1 c_out=1 size=1 kernel=1 stride=1",
        "a 1-element call: the fixed cost of a call (checks, dispatch, hand-off), nothing else",
    ),
)
#: Layers of other published models, not used to fit the rules of ``"auto"`` (a held-out set: the rules were
#: read off :data:`LAYERS`). ``tconv bench --layers others`` runs them (docs/performance.md, "Other shapes").
#: Four of them (marked in their sources) showed slow paths when the set was first run; those were then fixed.
OTHER_LAYERS: tuple[Layer, ...] = (
    _named(
        "pix2pix-up8",
        "n=1 c_in=1024 c_out=512 size=8x8 kernel=4 stride=2 padding=1",
        "pix2pix U-Net generator (Isola et al. 2017): 1024 (with the skip) -> 512 at 8x8 (a 32 MiB weight "
        "on 64 input pixels: packing it was the slow path found here)",
    ),
    _named(
        "pix2pix-up64",
        "n=1 c_in=256 c_out=64 size=64x64 kernel=4 stride=2 padding=1",
        "pix2pix U-Net generator: 256 -> 64 at 64x64",
    ),
    _named(
        "pix2pix-out",
        "n=1 c_in=128 c_out=3 size=128x128 kernel=4 stride=2 padding=1",
        "pix2pix U-Net generator output: 128 -> 3 RGB channels, 128x128 -> 256x256",
    ),
    _named(
        "maskrcnn-mask",
        "n=64 c_in=256 c_out=256 size=14x14 kernel=2 stride=2",
        "Mask R-CNN (He et al. 2017; torchvision's mask head) 2x2 deconvolution on 64 RoIs of 14x14",
    ),
    _named(
        "centernet-up",
        "n=8 c_in=512 c_out=256 size=16x16 kernel=4 stride=2 padding=1",
        "CenterNet (Zhou et al. 2019) ResNet up-sampling deconvolution 512 -> 256",
    ),
    _named(
        "pose-up1",
        "n=16 c_in=2048 c_out=256 size=8x6 kernel=4 stride=2 padding=1",
        "Simple Baselines for pose estimation (Xiao et al. 2018): ResNet-50's 2048 channels -> 256 at 8x6",
    ),
    _named(
        "pose-up3",
        "n=16 c_in=256 c_out=256 size=32x24 kernel=4 stride=2 padding=1",
        "Simple Baselines for pose estimation: the third deconvolution, 256 -> 256 at 32x24",
    ),
    _named(
        "fcn32s-up",
        "n=1 c_in=21 c_out=21 size=16x16 kernel=64 stride=32 bias=false",
        "FCN-32s (Long et al. 2015) upscore: x32 up-scoring of 21 class scores, k64 s32",
    ),
    _named(
        "stylegan2-up",
        "n=1 c_in=2048 c_out=2048 size=16x16 kernel=3 stride=2 groups=4",
        "StyleGAN2 (Karras et al. 2020) modulated up-sampling 3x3 s2, 4 samples fused as 4 groups of 512",
    ),
    _named(
        "melgan-up1",
        "n=4 c_in=512 c_out=256 size=64 kernel=16 stride=8 padding=4",
        "MelGAN (Kumar et al. 2019) generator up-sampler 1: k16 s8 on 64 frames",
    ),
    _named(
        "melgan-up3",
        "n=4 c_in=128 c_out=64 size=2048 kernel=4 stride=2 padding=1",
        "MelGAN generator up-sampler 3: k4 s2 on 2048 samples",
    ),
    _named(
        "encodec-up5",
        "n=2 c_in=256 c_out=128 size=600 kernel=10 stride=5 padding=3 output_padding=1",
        "EnCodec / SEANet decoder (Defossez et al. 2022) x5 up-sampling, k10 s5",
    ),
    _named(
        "tasnet-dec",
        "n=4 c_in=512 c_out=1 size=4000 kernel=16 stride=8",
        "Conv-TasNet (Luo and Mesgarani 2019) decoder: 512 basis signals -> 1 waveform, k16 s8",
    ),
    _named(
        "demucs-dec",
        "n=2 c_in=96 c_out=48 size=4000 kernel=8 stride=4",
        "Demucs (Defossez et al. 2019) decoder block, k8 s4",
    ),
    _named(
        "wavegan-up1",
        "n=16 c_in=1024 c_out=512 size=16 kernel=25 stride=4 padding=11 output_padding=1",
        "WaveGAN (Donahue et al. 2019) generator up-sampler 1: k25 s4 on 16 samples",
    ),
    _named(
        "nnunet3d-up",
        "n=2 c_in=320 c_out=256 size=8x8x8 kernel=2 stride=2",
        "nnU-Net 3-D (Isensee et al. 2021) transposed convolution 320 -> 256 at 8x8x8",
    ),
    _named(
        "nnunet3d-last",
        "n=2 c_in=64 c_out=32 size=32x32x32 kernel=2 stride=2",
        "nnU-Net 3-D: the last transposed convolution, 64 -> 32 at 32x32x32",
    ),
    _named(
        "mobile-dw",
        "n=8 c_in=128 c_out=128 size=20x20 kernel=4 stride=2 padding=1 groups=128",
        "depthwise k4 s2 p1 at 20x20 (a mobile decoder)",
    ),
    _named(
        "dw-k3s2-256",
        "n=2 c_in=256 c_out=256 size=32x32 kernel=3 stride=2 padding=1 output_padding=1 groups=256",
        "depthwise k3 s2 p1 op1, 256 channels at 32x32",
    ),
    _named(
        "k5s2",
        "n=4 c_in=128 c_out=64 size=32x32 kernel=5 stride=2 padding=2 output_padding=1",
        "a decoder's 5x5 up-sampling, k5 s2 p2 op1",
    ),
    _named(
        "k3s3",
        "n=4 c_in=64 c_out=64 size=30x30 kernel=3 stride=3",
        "non-overlapping x3 up-sampling, k3 s3",
    ),
    _named(
        "dilated-s1",
        "n=4 c_in=64 c_out=64 size=32x32 kernel=3 stride=1 padding=2 dilation=2",
        "stride-1 dilated 3x3 (d2) 64 -> 64",
    ),
    _named(
        "vae-dec",
        "n=128 c_in=64 c_out=32 size=16x16 kernel=4 stride=2 padding=1",
        "a small VAE decoder layer, batch 128",
    ),
    _named(
        "rgb-out-k3",
        "n=4 c_in=64 c_out=3 size=128x128 kernel=3 stride=2 padding=1 output_padding=1",
        "a decoder's RGB output, k3 s2 p1 op1 64 -> 3",
    ),
    _named(
        "one-channel-in",
        "n=8 c_in=1 c_out=32 size=64x64 kernel=4 stride=2 padding=1",
        "a one-channel input (a mask or depth map) up-sampled into 32 channels (gemm's outer product was "
        "the slow path found here)",
    ),
    _named(
        "groups-2",
        "n=4 c_in=256 c_out=256 size=32x32 kernel=4 stride=2 padding=1 groups=2",
        "groups=2 k4 s2 p1 256 -> 256",
    ),
    _named(
        "pointwise",
        "n=4 c_in=256 c_out=128 size=32x32 kernel=1 stride=1",
        "a 1x1 stride-1 projection written as a transposed convolution (columns and a gather for a plain "
        "GEMM were the slow path found here)",
    ),
    _named(
        "mono-x8",
        "n=1 c_in=1 c_out=1 size=100000 kernel=16 stride=8",
        "a mono signal of 10^5 samples up-sampled x8 by one 16-tap filter (building its tap tables on "
        "every call was the slow path found here)",
    ),
)


#: The most layers :func:`random_layers` draws in one call.
MAX_RANDOM_LAYERS = 1000
#: The useful FLOPs of a random layer: from a small layer (tens of microseconds, where fixed costs count)
#: to a large one (tens of milliseconds).
RANDOM_FLOPS = (5 * 10**5, 3 * 10**9)
_RANDOM_CHANNELS = (1, 3, 4, 8, 16, 21, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)


def random_layers(count: int, seed: int = 0) -> tuple[Layer, ...]:
    """``count`` layers drawn at random from the shapes of real networks, the same for the same ``seed``: a
    check of ``"auto"`` and of the algorithms away from the named layers (``tconv bench --layers
    random:COUNT:SEED``).

    Each is 1-d, 2-d or 3-d (1 : 3 : 1); plain, depthwise (with a channel multiplier of 1 or 2) or grouped
    (2-32 groups) (3 : 1 : 1); of 1-512 channels (the counts of :data:`_RANDOM_CHANNELS`); a kernel of
    1-8 (1-d also 16 and 32) at stride 1-4 (1-d also 8), mostly no larger than the kernel; dilation 2 one
    time in nine; any padding up to half the dilated kernel; 1-16 samples of 16-4000 (1-d), 4-96
    (2-d) or 4-24 (3-d) cells a side; with :data:`RANDOM_FLOPS` useful FLOPs and arrays the benchmark
    accepts (shapes outside those are drawn again). Named ``random-SEED-I``.

    Examples
    --------
    >>> [layer.name for layer in random_layers(2, seed=7)]
    ['random-7-0', 'random-7-1']
    >>> random_layers(3, seed=1) == random_layers(3, seed=1)
    True
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_RANDOM_LAYERS:
        raise ValueError(f"random layers: count must be an int from 1 to {MAX_RANDOM_LAYERS}, got {count!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"random layers: seed must be a non-negative int, got {seed!r}")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = []
    while len(layers) < count:
        spec = _random_spec(rng)
        try:
            layer = layer_from_spec(spec, name=f"random-{seed}-{len(layers)}", source=spec)
        except ValueError:  # a window with no output, or arrays too large: draw again
            continue
        if RANDOM_FLOPS[0] <= layer.flops <= RANDOM_FLOPS[1]:
            layers.append(layer)
    return tuple(layers)


def _random_spec(rng: np.random.Generator) -> str:
    """One layer spec of :func:`random_layers`' distribution."""
    nd = int(rng.choice([1, 2, 2, 2, 3]))
    family = str(rng.choice(["plain", "plain", "plain", "depthwise", "groups"]))
    c_in, c_out = int(rng.choice(_RANDOM_CHANNELS)), int(rng.choice(_RANDOM_CHANNELS))
    groups = 1
    if family == "depthwise":
        c_out, groups = c_in * int(rng.choice([1, 1, 2])), c_in
    elif family == "groups":
        groups = int(rng.choice([2, 4, 8, 16, 32]))
        c_in, c_out = max(c_in, groups) // groups * groups, max(c_out, groups) // groups * groups
    kernel = int(rng.choice([1, 2, 3, 4, 4, 5, 7, 8] + ([16, 32] if nd == 1 else [])))
    stride = int(rng.choice([1, 2, 2, 2, 3, 4] + ([8] if nd == 1 else [])))
    if rng.random() < 0.8:
        stride = min(stride, kernel)
    dilation = int(rng.choice([1] * 8 + [2]))
    padding = int(rng.integers(0, dilation * (kernel - 1) // 2 + 1))
    n = int(rng.choice([1, 1, 2, 4, 8, 16]))
    side = {1: int(rng.integers(16, 4000)), 2: int(rng.integers(4, 96)), 3: int(rng.integers(4, 24))}[nd]
    size = "x".join([str(side)] * nd)
    return (
        f"n={n} c_in={c_in} c_out={c_out} size={size} kernel={kernel} stride={stride} padding={padding} "
        f"dilation={dilation} groups={groups}"
    )
