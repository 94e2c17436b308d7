"""Train a x2 up-sampler in NumPy and compare it with bilinear and bicubic resizing.

Run it (it needs matplotlib, which ships the photograph and draws the figure;
``pip install ".[examples]"`` in a clone of tconv)::

    python -m tconv.examples.train_upsampler --out upsampler

The task: undo a 2x down-sampling. The data is matplotlib's sample photograph
``grace_hopper.jpg`` (it ships inside matplotlib: no download); its left half
trains and its right half tests. Low-resolution images are 2x2 box averages of
the high-resolution ones. The model is one learnable transposed convolution,
``tconv.nn.ConvTranspose2d(3, 3, kernel_size=4, stride=2, padding=1)`` (RGB to RGB,
147 parameters, the up-sampling layer of DCGAN and U-Net decoders), trained with
Adam (or SGD) on the mean squared error of random 48x48 patches, from three
initialisations (:mod:`tconv.init`):

- ``random``: PyTorch's default (:func:`tconv.init.torch_default`), which
  starts with a strong checkerboard: each of the four output phases gets its own
  random 2x2 sub-kernel;
- ``bilinear``: Caffe's bilinear filler, which *is* bilinear resizing in the
  interior, so it starts at the bilinear baseline;
- ``icnr``: a random 2x2 sub-kernel repeated over the phases (ICNR): random
  colours and blur, but no checkerboard at initialisation.

A reference line: the least-squares fit of the same layer to the training half,
the lowest training loss any training can reach (:func:`least_squares`, conjugate
gradients whose adjoint step is :func:`tconv.conv_transpose_backward`). It is
fitted to the training half, so on the test half a trained layer can do better.
The resizers' training losses are drawn too, next to the curves they compare
with (their test PSNR in the legend).

The loss and the PSNR skip a border of a few pixels, where the zeros outside the
input darken any transposed convolution (the resizers clamp to the edge
instead). The baselines are PIL's bilinear and bicubic resizing (PIL is a
dependency of matplotlib), which use the same pixel-centre convention as the
layer (``align_corners=False``).

Outputs, in ``--out``: ``upsampler.png`` (the loss curves, the checkerboard
measure over training, and crops of the test half) and ``results.json`` (every
number, the settings, and the loss curves).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import init as tinit
from .. import nn
from .._validate import MissingDependency, require
from ..ops import conv_transpose

__all__ = [
    "INITS",
    "checkerboard",
    "downsample",
    "figure",
    "least_squares",
    "load_image",
    "main",
    "make_layer",
    "psnr",
    "resize",
    "run",
    "train",
]

#: The initialisations compared.
INITS = ("random", "bilinear", "icnr")
#: Pixels skipped at each border by the loss (2) and by the PSNR (4).
LOSS_BORDER, PSNR_BORDER = 2, 4
#: The pixels the loss counts, of a ``(..., H, W)`` image.
_LOSS_PIXELS = (Ellipsis, slice(LOSS_BORDER, -LOSS_BORDER), slice(LOSS_BORDER, -LOSS_BORDER))
#: A crop of the test half (rows, columns of the full image): the right eye and the glasses.
CROP = (slice(150, 246), slice(290, 386))
SPLIT = 256  # columns [0, 256) train, [256, 512) test


def load_image() -> np.ndarray:
    """matplotlib's ``grace_hopper.jpg`` as a float32 ``(3, 600, 512)`` array in [0, 1]."""
    from matplotlib import cbook
    from PIL import Image

    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as file:
        image = file.convert("RGB")
    return (np.asarray(image, dtype=np.float32) / 255).transpose(2, 0, 1)  # (H, W, 3) -> (3, H, W)


def downsample(x: np.ndarray) -> np.ndarray:
    """2x2 box average of the last two axes (area down-sampling); sizes must be even.

    Examples
    --------
    >>> downsample(np.arange(16.0).reshape(4, 4))
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    h, w = x.shape[-2:]
    blocks = x.reshape(*x.shape[:-2], h // 2, 2, w // 2, 2)  # (..., H/2, 2, W/2, 2)
    return blocks.mean(axis=(-3, -1))


def resize(x: np.ndarray, factor: int, method: str) -> np.ndarray:
    """PIL's resize of ``(C, H, W)`` float images by ``factor``: ``"nearest"``, ``"bilinear"`` or ``"bicubic"``."""
    from PIL import Image

    filters = {
        "nearest": Image.Resampling.NEAREST,
        "bilinear": Image.Resampling.BILINEAR,
        "bicubic": Image.Resampling.BICUBIC,
    }
    h, w = x.shape[-2:]
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(c, dtype=np.float32)).resize((w * factor, h * factor), filters[method])
        )
        for c in x
    ]
    return np.stack(channels)  # (C, factor*H, factor*W)


def psnr(estimate: np.ndarray, reference: np.ndarray, border: int = PSNR_BORDER) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1] (the estimate clipped), skipping ``border`` pixels."""
    inner = (Ellipsis, slice(border, -border), slice(border, -border))
    error = np.clip(estimate[inner], 0, 1) - reference[inner]
    return float(10 * math.log10(1.0 / np.mean(error.astype(np.float64) ** 2)))


def checkerboard(layer: nn.ConvTranspose) -> float:
    """How unevenly the layer up-samples a flat grey image: the spread of its 2x2 output phases, relative.

    ``(max - min) / mean`` of the interior output for a constant 0.5 input: 0 for
    the bilinear and ICNR initialisations, large for a random kernel.
    """
    flat = np.full((1, layer.in_channels, 8, 8), 0.5, np.float32)
    y = conv_transpose(flat, layer.weight, layer.bias, layer.stride, layer.padding)[0, :, 4:-4, 4:-4]
    phases = np.array([y[:, i::2, j::2].mean() for i in range(2) for j in range(2)])
    return float(np.ptp(phases) / max(abs(float(phases.mean())), 1e-8))


def make_layer(init: str, seed: int = 0) -> nn.ConvTranspose:
    """The x2 up-sampler ``ConvTranspose2d(3, 3, 4, stride=2, padding=1)`` with an initialisation of :data:`INITS`."""
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    layer = nn.ConvTranspose2d(3, 3, 4, stride=2, padding=1, rng=seed)
    if init == "bilinear":
        layer.weight = tinit.bilinear(layer.weight.shape, stride=2)
        layer.bias = np.zeros(layer.out_channels, np.float32)
    elif init == "icnr":
        layer.weight = tinit.icnr(layer.weight.shape, stride=2, rng=seed)
    return layer


def upsample(layer: nn.ConvTranspose, low: np.ndarray) -> np.ndarray:
    """The layer applied to one ``(C, H, W)`` image, without saving anything for backward."""
    return conv_transpose(low, layer.weight, layer.bias, layer.stride, layer.padding)


def least_squares(image: np.ndarray, *, tol: float = 1e-12, max_iterations: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """The layer's least-squares fit to ``image`` ``(C, H, W)``: the exact minimiser of the loss on it.

    The loss is a linear least-squares problem in ``(weight, bias)``:
    ``min |A(theta) - target|**2`` with ``A(theta)`` the layer's output on
    :func:`downsample` of the image. Conjugate gradients on the normal equations
    ``A^T A theta = A^T target`` need only ``A`` (the forward pass) and ``A^T``, and
    ``A^T`` applied to an output-sized array ``v`` is exactly the parameter gradient
    :func:`tconv.conv_transpose_backward` returns for ``grad_output = v``.
    Returns ``(weight, bias)`` in float64.
    """
    from ..grad import conv_transpose_backward

    low = downsample(image)[None].astype(np.float64)  # (1, C, H/2, W/2)
    target = image[None].astype(np.float64)  # (1, C, H, W)
    c = image.shape[0]
    shape = (c, c, 4, 4)
    size = math.prod(shape)

    def forward(theta: np.ndarray) -> np.ndarray:
        return conv_transpose(low, theta[:size].reshape(shape), theta[size:], 2, 1)[_LOSS_PIXELS]

    def adjoint(v: np.ndarray) -> np.ndarray:
        dy = np.zeros_like(target)
        dy[_LOSS_PIXELS] = v
        g = conv_transpose_backward(dy, low, np.zeros(shape), stride=2, padding=1, needs=("weight", "bias"))
        assert g.weight is not None and g.bias is not None  # both asked for
        return np.concatenate([g.weight.ravel(), g.bias])

    theta = np.zeros(size + c)
    residual = adjoint(target[_LOSS_PIXELS])  # A^T (t - A 0)
    direction = residual.copy()
    norm = start = float(residual @ residual)
    for _ in range(max_iterations):
        if norm <= tol**2 * start:
            break
        a_dir = adjoint(forward(direction))  # A^T A d
        alpha = norm / float(direction @ a_dir)
        theta += alpha * direction
        residual -= alpha * a_dir
        norm, previous = float(residual @ residual), norm
        direction = residual + (norm / previous) * direction
    return theta[:size].reshape(shape), theta[size:]


def _patches(image: np.ndarray, count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    _, h, w = image.shape
    rows = rng.integers(0, (h - size) // 2, count) * 2
    cols = rng.integers(0, (w - size) // 2, count) * 2
    return np.stack([image[:, r : r + size, c : c + size] for r, c in zip(rows, cols)])  # (N, C, size, size)


def _parameters(layer: nn.ConvTranspose) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the layer's weight and bias."""
    state = layer.state_dict()
    return state["weight"], state["bias"]


def train(
    layer: nn.ConvTranspose,
    image: np.ndarray,
    *,
    steps: int,
    batch: int = 16,
    patch: int = 48,
    optimizer: str = "adam",
    lr: float | None = None,
    seed: int = 0,
    snapshots: Sequence[int] = (),
) -> dict[str, Any]:
    """Train ``layer`` to undo :func:`downsample` on random patches of ``image`` ``(C, H, W)``.

    The learning rate (default 1e-2 for Adam, 0.5 with momentum 0.9 for SGD)
    decays to 0 along a cosine over the ``steps``.

    Returns ``{"losses": [...], "checkerboard": [...], "snapshots": {step: (weight, bias)}}``:
    the training loss and :func:`checkerboard` after every step, and copies of the
    parameters before the steps listed in ``snapshots``.
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    if patch % 2 or patch <= 2 * LOSS_BORDER:
        raise ValueError(f"patch must be even and larger than {2 * LOSS_BORDER}, got {patch}")
    rng = np.random.default_rng(seed)
    if optimizer == "adam":
        opt: Any = nn.Adam(layer, lr=1e-2 if lr is None else lr)
    else:
        opt = nn.SGD(layer, lr=0.5 if lr is None else lr, momentum=0.9)
    history: dict[str, Any] = {"losses": [], "checkerboard": [], "snapshots": {}}
    base_lr = opt.lr
    for step in range(steps):
        opt.lr = base_lr * 0.5 * (1 + math.cos(math.pi * step / steps))  # cosine decay to 0
        if step in snapshots:
            history["snapshots"][step] = _parameters(layer)
        high = _patches(image, batch, patch, rng)  # (N, 3, P, P)
        y = layer(downsample(high))  # (N, 3, P, P)
        loss, d_inner = nn.mse_loss(y[_LOSS_PIXELS], high[_LOSS_PIXELS])
        dy = np.zeros_like(y)
        dy[_LOSS_PIXELS] = d_inner
        layer.zero_grad()
        layer.backward(dy, input_grad=False)
        opt.step()
        history["losses"].append(loss)
        history["checkerboard"].append(checkerboard(layer))
    if steps in snapshots:
        history["snapshots"][steps] = _parameters(layer)
    return history


#: The name of the layer's least-squares fit in ``results.json``: fitted to the training half (it is the lowest
#: training loss, not the best test PSNR).
LEAST_SQUARES = "least-squares fit to the training half"


def _loss(estimate: np.ndarray, reference: np.ndarray) -> float:
    """The training loss (mean squared error, the loss border skipped) of a whole image."""
    return float(np.mean((estimate[_LOSS_PIXELS].astype(np.float64) - reference[_LOSS_PIXELS]) ** 2))


def run(
    out: str | Path,
    *,
    steps: int = 1500,
    batch: int = 16,
    patch: int = 48,
    optimizer: str = "adam",
    lr: float | None = None,
    seed: int = 0,
    least_squares_iterations: int = 600,
    figure: bool = True,
) -> dict[str, Any]:
    """Train from every initialisation, evaluate on the test half, write ``results.json`` (and the figure).

    ``least_squares_iterations`` bounds the conjugate-gradient solve of
    :func:`least_squares` (the layer's best possible weights, a reference line);
    0 skips it. Returns the results dictionary that ``results.json`` holds.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    image = load_image()
    train_image, test_high = image[:, :, :SPLIT], image[:, :, SPLIT:]  # (3, 600, 256) each
    test_low = downsample(test_high)  # (3, 300, 128)
    outputs: dict[str, np.ndarray] = {m: resize(test_low, 2, m) for m in ("nearest", "bilinear", "bicubic")}
    training: dict[str, Any] = dict(steps=steps, batch=batch, patch=patch, optimizer=optimizer, lr=lr, seed=seed)
    results: dict[str, Any] = {
        "settings": dict(
            **training,
            image="matplotlib sample data grace_hopper.jpg",
            train_columns=[0, SPLIT],
            test_columns=[SPLIT, image.shape[2]],
            loss_border=LOSS_BORDER,
            psnr_border=PSNR_BORDER,
        ),
        "psnr": {f"{m} resize": psnr(o, test_high) for m, o in outputs.items()},
        "inits": {},
    }
    train_low = downsample(train_image)
    results["train_loss"] = {  # the loss the training minimises, of the resizers on the whole training half
        f"{m} resize": _loss(resize(train_low, 2, m), train_image) for m in ("bilinear", "bicubic")
    }
    if least_squares_iterations:
        weight, bias = least_squares(train_image, max_iterations=least_squares_iterations)
        best = make_layer("random", seed)
        best.weight, best.bias = weight.astype(np.float32), bias.astype(np.float32)
        results["psnr"][LEAST_SQUARES] = psnr(upsample(best, test_low), test_high)
        results["train_loss"][LEAST_SQUARES] = _loss(upsample(best, train_low), train_image)
    early = max(1, steps // 50)
    for init in INITS:
        layer = make_layer(init, seed)
        start = time.perf_counter()
        history = train(layer, train_image, **training, snapshots=(0, early))
        seconds = time.perf_counter() - start
        for step, (weight, bias) in history["snapshots"].items():
            snap = make_layer(init, seed)
            snap.weight, snap.bias = weight, bias
            outputs[f"{init} step {step}"] = upsample(snap, test_low)
        outputs[f"{init} trained"] = upsample(layer, test_low)
        results["inits"][init] = {
            "psnr_initial": psnr(outputs[f"{init} step 0"], test_high),
            "psnr_trained": psnr(outputs[f"{init} trained"], test_high),
            "checkerboard_initial": checkerboard(make_layer(init, seed)),
            "checkerboard_trained": checkerboard(layer),
            "train_seconds": round(seconds, 2),
            "losses": [float(f"{v:.4g}") for v in history["losses"]],
            "checkerboard": [float(f"{v:.4g}") for v in history["checkerboard"]],
        }
    results["early_step"] = early
    (out / "results.json").write_text(json.dumps(results, separators=(",", ":")) + "\n")
    if figure:
        draw(results, outputs, test_high, out / "upsampler.png")
    return results


def draw(results: dict[str, Any], outputs: dict[str, np.ndarray], truth: np.ndarray, path: Path) -> None:
    """Write :func:`figure` as a PNG."""
    fig = figure(results, outputs, truth)
    fig.savefig(path, dpi=fig.dpi, metadata={"Software": None})


def figure(results: dict[str, Any], outputs: dict[str, np.ndarray], truth: np.ndarray) -> Any:
    """The figure: loss curves with the reference lines, checkerboard over training, and crops of the test half.

    960 pixels wide (the docs' column), its text 8 points or more; every line the
    legend names is drawn: the curves (moving averages of the batch losses), and
    the training loss of bilinear and bicubic resizing and of the layer's
    least-squares fit, each on the whole training half.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    colours = {"random": "tab:red", "bilinear": "tab:blue", "icnr": "tab:green"}
    fig = Figure(figsize=(12, 7.2), dpi=80, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 6, width_ratios=[1.3, 1.3, 1, 1, 1, 1])
    loss_ax = fig.add_subplot(grid[:2, :2])
    board_ax = fig.add_subplot(grid[2, :2])
    for init, r in results["inits"].items():
        losses = np.asarray(r["losses"])
        if losses.size:
            window = max(1, losses.size // 50)
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            loss_ax.semilogy(
                np.arange(smooth.size) + window,
                smooth,
                color=colours[init],
                label=f"{init} init: {r['psnr_initial']:.2f} -> {r['psnr_trained']:.2f} dB",
            )
            board_ax.semilogy(np.arange(1, losses.size + 1), np.maximum(r["checkerboard"], 1e-6), color=colours[init])
    for name, style in (("bilinear resize", ":"), ("bicubic resize", "--"), (LEAST_SQUARES, "-")):
        if name in results.get("train_loss", {}):
            loss_ax.axhline(
                results["train_loss"][name],
                color="k",
                lw=0.9,
                ls=style,
                label=f"{name}: {results['psnr'][name]:.2f} dB",
            )
    loss_ax.set_title("Training loss (MSE, moving average); test PSNR in the legend", fontsize=10)
    loss_ax.set_xlabel("step", fontsize=9)
    loss_ax.set_ylabel("loss on the training half", fontsize=9)
    loss_ax.legend(fontsize=8.5, title="initial -> trained test PSNR; lines: their training loss", title_fontsize=8.5)
    board_ax.set_title("Checkerboard: spread of the 4 output phases on a flat input", fontsize=10)
    board_ax.set_xlabel("step", fontsize=9)
    board_ax.set_ylabel("(max-min)/mean", fontsize=9)
    for ax in (loss_ax, board_ax):
        ax.tick_params(labelsize=8.5)
    early = results["early_step"]
    panels = [
        ("high-resolution truth", None),
        ("input (nearest x2)", "nearest"),
        ("bilinear resize", "bilinear"),
        ("bicubic resize", "bicubic"),
        ("random init, step 0", "random step 0"),
        (f"random init, step {early}", f"random step {early}"),
        ("random init, trained", "random trained"),
        ("bilinear init, trained", "bilinear trained"),
        ("ICNR init, step 0", "icnr step 0"),
        (f"ICNR init, step {early}", f"icnr step {early}"),
        ("ICNR init, trained", "icnr trained"),
        ("bilinear init, step 0", "bilinear step 0"),
    ]
    rows, cols = CROP[0], slice(CROP[1].start - SPLIT, CROP[1].stop - SPLIT)
    for index, (title, key) in enumerate(panels):
        ax = fig.add_subplot(grid[index // 4, 2 + index % 4])
        image = truth if key is None else outputs[key]
        ax.imshow(np.clip(image[:, rows, cols].transpose(1, 2, 0), 0, 1), interpolation="nearest")
        subtitle = "" if key is None else f"\n{psnr(image, truth):.2f} dB"
        ax.set_title(title + subtitle, fontsize=9)
        ax.set_axis_off()
    fig.suptitle(
        "A x2 up-sampler ConvTranspose2d(3, 3, k=4, s=2, p=1) trained in NumPy with tconv "
        f"({results['settings']['optimizer']}, {results['settings']['steps']} steps); crops of the test half",
        fontsize=11,
    )
    return fig


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tconv.examples.train_upsampler", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", required=True, help="directory for upsampler.png and results.json")
    parser.add_argument("--steps", type=int, default=1500, help="training steps per initialisation (default 1500)")
    parser.add_argument("--batch", type=int, default=16, help="patches per step (default 16)")
    parser.add_argument("--patch", type=int, default=48, help="high-resolution patch size, even (default 48)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument(
        "--lr",
        type=float,
        default=None,
        help="initial learning rate, decayed to 0 along a cosine (default 1e-2 for Adam, 0.5 for SGD)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--least-squares-iterations",
        type=int,
        default=600,
        help="conjugate-gradient iterations for the layer's least-squares fit to the training half (0: skip)",
    )
    args = parser.parse_args(argv)
    try:
        require("matplotlib", "the training example (its photograph and its figure)", extra="examples")
    except MissingDependency as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    results = run(**vars(args))  # every option is a parameter of run, under the same name
    print(f"test PSNR on the right half of grace_hopper.jpg (border {PSNR_BORDER} px skipped):")
    for name, value in results["psnr"].items():
        print(f"  {name:<36} {value:6.2f} dB")
    for init, r in results["inits"].items():
        print(
            f"  {init + ' init':<14} initial {r['psnr_initial']:6.2f} dB, trained {r['psnr_trained']:6.2f} dB "
            f"(checkerboard {r['checkerboard_initial']:.3f} -> {r['checkerboard_trained']:.3f}, "
            f"{r['train_seconds']:.1f} s)"
        )
    print(f"wrote {Path(args.out) / 'upsampler.png'} and {Path(args.out) / 'results.json'}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
