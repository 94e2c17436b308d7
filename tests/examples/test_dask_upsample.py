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


def _ones_failing_at(block: int):
    """A Dask array of ones in 4 chunks whose chunk ``block`` raises when computed (a worker failing)."""
    da = oracle("dask.array")

    def chunk(x, block_info=None):
        if block_info[0]["chunk-location"][0] == block:
            raise RuntimeError("a worker failed")
        return x

    return da.ones((8, 2), chunks=(2, 2)).map_blocks(chunk, dtype=float)


def test_a_failed_to_zarr_leaves_a_store_whose_missing_chunks_read_as_zeros(tmp_path):
    """The hazard the example's store() avoids: plain da.to_zarr, interrupted, leaves a plausible store."""
    da, zarr = oracle("dask.array"), oracle("zarr")
    path = tmp_path / "naive.zarr"
    with pytest.raises(RuntimeError, match="a worker failed"):
        da.to_zarr(_ones_failing_at(1), str(path))
    partial = np.asarray(zarr.open_array(str(path), mode="r")[...])
    assert partial.shape == (8, 2)
    assert np.all(partial[2:4] == 0)  # the chunk that failed: zeros, although the data is ones


def test_store_writes_a_complete_store_or_none(tmp_path):
    zarr = oracle("zarr")
    da = oracle("dask.array")
    from tconv.examples.dask_upsample import store

    path = tmp_path / "out.zarr"
    with pytest.raises(RuntimeError, match="a worker failed"):
        store(_ones_failing_at(1), path)
    assert not path.exists()  # only the partial store, under its own name
    # a complete store is written; a failed rewrite leaves it as it was
    store(da.ones((8, 2), chunks=(2, 2)), path)
    assert np.all(np.asarray(zarr.open_array(str(path), mode="r")[...]) == 1)
    with pytest.raises(RuntimeError, match="a worker failed"):
        store(_ones_failing_at(3), path)
    assert np.all(np.asarray(zarr.open_array(str(path), mode="r")[...]) == 1)
