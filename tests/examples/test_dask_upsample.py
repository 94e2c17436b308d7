"""tconv.examples.dask_upsample, the out-of-core example, scaled down, on 2 worker processes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, oracle

import tconv


def test_example_runs_scaled_down_and_its_output_is_the_in_memory_result(tmp_path):
    oracle("distributed")
    zarr = oracle("zarr")
    from tconv.examples import dask_upsample

    lines = []
    result = dask_upsample.run(
        size=20, chunk=6, out=tmp_path, workers=2, memory_limit="512MiB", samples=3, log=lines.append
    )
    text = "\n".join(lines)
    assert "3 sampled blocks equal the in-memory result" in text
    assert result["max_difference"] < 1e-5
    assert len(result["worker_peak_rss_mib"]) == 2
    # beyond the example's own sample: the whole output store against the whole in-memory result
    x = np.asarray(zarr.open_array(str(tmp_path / "input.zarr"), mode="r")[...])
    y = np.asarray(zarr.open_array(str(tmp_path / "output.zarr"), mode="r")[...])
    assert x.shape == (1, 1, 20, 20, 20) and y.dtype == np.float32
    expected = tconv.conv_transpose(x, dask_upsample.trilinear_weight(), stride=2, padding=1)
    assert_close(y, expected, dtype=np.float32)


def test_trilinear_weight_interpolates():
    """Away from the ends, the x2 up-sampling of a linear ramp is the ramp at half steps."""
    from tconv.examples.dask_upsample import trilinear_weight

    ramp = np.arange(6.0)[:, None, None] + np.zeros((6, 6, 6))
    y = tconv.conv_transpose(ramp[None, None], trilinear_weight().astype(np.float64), stride=2, padding=1)[0, 0]
    assert_close(y[2:-2, 5, 5], np.arange(0.75, 4.5, 0.5)[: len(y) - 4])


def test_command_line_rejects_bad_sizes(capsys):
    from tconv.examples.dask_upsample import main

    with pytest.raises(SystemExit):
        main(["--size", "0"])
    assert "--size must be positive, got 0" in capsys.readouterr().err
