"""The training example (tconv.examples.train_upsampler), on a small budget, against independent references.

References: PIL's resize (bilinear initialisation == bilinear resizing in the interior), np.linalg.lstsq on an
explicit design matrix (the conjugate-gradient least-squares fit), and the files the example must write.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_close, module_oracle, oracle

import tconv

module_oracle("matplotlib")
from tconv.examples import train_upsampler as ex  # noqa: E402  (needs matplotlib/PIL)


@pytest.fixture(scope="module")
def image():
    return ex.load_image()


def test_image_ships_with_matplotlib(image):
    assert image.shape == (3, 600, 512) and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1


def test_bilinear_init_is_pils_bilinear_resize(image):
    low = ex.downsample(image[:, 100:164, 300:364])  # (3, 32, 32)
    ours = ex.upsample(ex.make_layer("bilinear"), low)
    pil = ex.resize(low, 2, "bilinear")
    inner = (slice(None), slice(2, -2), slice(2, -2))
    assert_close(ours[inner], pil[inner], atol=1e-5)


def test_initial_checkerboard():
    assert ex.checkerboard(ex.make_layer("random")) > 0.1
    assert ex.checkerboard(ex.make_layer("bilinear")) < 1e-5
    assert ex.checkerboard(ex.make_layer("icnr")) < 1e-5


def test_least_squares_is_the_optimum(image):
    """Conjugate gradients with conv_transpose_backward as A^T give np.linalg.lstsq's solution."""
    crop = image[:, 100:132, 200:232].astype(np.float64)
    weight, bias = ex.least_squares(crop, tol=1e-13, max_iterations=3000)
    low = ex.downsample(crop)
    inner = (slice(None), slice(2, -2), slice(2, -2))
    columns = []
    for index in range(3 * 3 * 16 + 3):  # the layer's output is linear in its 147 parameters: one column each
        w, b = np.zeros(3 * 3 * 16), np.zeros(3)
        (w if index < w.size else b)[index if index < w.size else index - w.size] = 1
        columns.append(tconv.conv_transpose(low, w.reshape(3, 3, 4, 4), b, 2, 1)[inner].ravel())
    solution = np.linalg.lstsq(np.stack(columns, axis=1), crop[inner].ravel(), rcond=None)[0]
    assert_close(weight.ravel(), solution[:144], atol=1e-7)
    assert_close(bias, solution[144:], atol=1e-7)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_reduces_the_loss(image, optimizer):
    layer = ex.make_layer("random", seed=1)
    history = ex.train(layer, image[:, :, :256], steps=40, batch=4, patch=24, optimizer=optimizer)
    losses = np.array(history["losses"])
    assert losses.shape == (40,) and np.all(np.isfinite(losses))
    assert losses[-5:].mean() < 0.2 * losses[:5].mean()
    assert history["checkerboard"][-1] < 0.2 * ex.checkerboard(ex.make_layer("random", seed=1))


def test_run_writes_the_figure_and_results(tmp_path):
    results = ex.run(tmp_path, steps=3, batch=2, patch=16, least_squares_iterations=2)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["psnr"] == pytest.approx(results["psnr"])
    assert set(saved["inits"]) == set(ex.INITS)
    assert saved["psnr"]["bicubic resize"] > saved["psnr"]["bilinear resize"] > 20
    assert saved["inits"]["bilinear"]["psnr_initial"] == pytest.approx(saved["psnr"]["bilinear resize"], abs=0.02)
    assert len(saved["inits"]["random"]["losses"]) == 3
    figure = oracle("matplotlib").image.imread(tmp_path / "upsampler.png")
    assert figure.ndim == 3 and figure.shape[0] > 300


def test_command_line(tmp_path):
    out = tmp_path / "cli"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tconv.examples.train_upsampler",
            "--out",
            str(out),
            "--steps",
            "2",
            "--batch",
            "2",
            "--patch",
            "16",
            "--optimizer",
            "sgd",
            "--least-squares-iterations",
            "0",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "bicubic resize" in result.stdout and "random init" in result.stdout
    assert (out / "upsampler.png").stat().st_size > 10_000


def test_errors():
    with pytest.raises(ValueError, match=r"init must be one of \('random', 'bilinear', 'icnr'\), got 'zeros'"):
        ex.make_layer("zeros")
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd', got 'rmsprop'"):
        ex.train(ex.make_layer("random"), np.zeros((3, 64, 64), np.float32), steps=1, optimizer="rmsprop")
    with pytest.raises(ValueError, match="patch must be even and larger than 4, got 15"):
        ex.train(ex.make_layer("random"), np.zeros((3, 64, 64), np.float32), steps=1, patch=15)


def test_docs_table_is_the_committed_run():
    """docs/learning.md quotes docs/upsampler/results.json, which the committed figure's run wrote."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    results = json.loads((root / "docs" / "upsampler" / "results.json").read_text())
    page = (root / "docs" / "learning.md").read_text()
    assert results["settings"]["steps"] == 1500 and "1500 Adam steps" in page
    psnr = results["psnr"]
    rows = {
        "nearest resize (PIL)": f"{psnr['nearest resize']:.2f} dB",
        "bilinear resize (PIL)": f"{psnr['bilinear resize']:.2f} dB",
        "bicubic resize (PIL)": f"{psnr['bicubic resize']:.2f} dB",
        "least-squares fit of the layer to the training half": f"{psnr[ex.LEAST_SQUARES]:.2f} dB",
    }
    for init, label in (("random", "random"), ("bilinear", "bilinear"), ("icnr", "ICNR")):
        r = results["inits"][init]
        rows[f"{label} init: initial → trained"] = f"{r['psnr_initial']:.2f} → {r['psnr_trained']:.2f} dB"
    for method, value in rows.items():
        assert f"| {method} | {value} |" in page, (method, value)
    assert (root / "docs" / "upsampler" / "upsampler.png").stat().st_size > 100_000


def test_the_figure_draws_what_its_legend_says(tmp_path):
    """Every line the legend names has data on the plot (the resizers' lines are their training losses), the
    least-squares line is named for what it is (a fit to the training half), and the text is readable at the
    docs' size."""
    from figure_text import DOCS_WIDTH_PX, assert_readable

    results = ex.run(tmp_path, steps=4, batch=2, patch=16, least_squares_iterations=3, figure=False)
    test_low = ex.downsample(ex.load_image()[:, :, ex.SPLIT :])
    upsampled = ex.resize(test_low, 2, "bilinear")
    keys = ["nearest", "bilinear", "bicubic"] + [
        f"{init} {when}" for init in ex.INITS for when in ("step 0", f"step {results['early_step']}", "trained")
    ]
    fig = ex.figure(results, dict.fromkeys(keys, upsampled), ex.load_image()[:, :, ex.SPLIT :])
    loss_ax = fig.axes[0]
    labels = loss_ax.get_legend_handles_labels()
    assert len(labels[1]) == 6
    for handle, label in zip(*labels):
        x, y = handle.get_data()
        assert len(x) and np.all(np.isfinite(np.asarray(y, float))), label
    names = " ".join(labels[1])
    assert (
        "bilinear resize" in names and "bicubic resize" in names and "least-squares fit to the training half" in names
    )
    assert "optimum" not in names
    assert fig.bbox.width <= DOCS_WIDTH_PX
    assert_readable(fig, "upsampler figure")
    # the lines sit at the training losses results.json records
    for name, loss in results["train_loss"].items():
        assert any(np.allclose(h.get_ydata(), loss) for h, label in zip(*labels) if label.startswith(name)), name
