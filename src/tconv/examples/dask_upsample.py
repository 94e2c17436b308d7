"""Up-sample a volume larger than memory x2 with tconv.dask on a LocalCluster, Zarr to Zarr.

Run it as ``python -m tconv.examples.dask_upsample --out DIR`` (``--help`` lists the
options; ``docs/dask.md`` shows a full-size run). Four steps:

1. start a :class:`dask.distributed.LocalCluster` of ``--workers`` worker processes
   with ``--memory-limit`` each (the example's memory budget is their sum);
2. generate a smooth float32 volume of ``--size``\\ :sup:`3` cells chunk by chunk
   into the Zarr store ``DIR/input.zarr`` (it is never whole in memory);
3. up-sample it x2 per axis with ``tconv.dask.conv_transpose`` and the trilinear
   kernel (``k=4, stride=2, padding=1``: the FCN initialisation of a learnable
   up-sampling layer), in regular output chunks of twice the input's, straight into
   ``DIR/output.zarr``, with a progress bar;
4. check a random sample of output blocks against the in-memory
   :func:`tconv.conv_transpose` of the corresponding input region, read back from
   the store with a margin of input around it.

Both stores are written with :func:`store` (the safe pattern for ``to_zarr``): a task
that fails part-way through ``da.to_zarr`` leaves a partly written store whose missing
chunks read back as zeros (Zarr's fill value), indistinguishable from data. So each
store is written under a temporary name and renamed to its final name only after every
chunk is written; a failed write raises and leaves the final name untouched.

Requires the ``dask`` extra (Dask, distributed and Zarr): ``pip install ".[dask]"`` in a
clone of tconv.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

#: The 1-d trilinear up-sampling taps for stride 2 (k=4): each output cell is 3/4 of its
#: nearest input and 1/4 of the next one.
TAPS = np.array([0.25, 0.75, 0.75, 0.25], dtype=np.float32)
STRIDE, PADDING = 2, 1


def trilinear_weight() -> np.ndarray:
    """The ``(1, 1, 4, 4, 4)`` weight of x2 trilinear up-sampling (outer product of :data:`TAPS`)."""
    return np.einsum("i,j,k->ijk", TAPS, TAPS, TAPS)[None, None]  # (C_in, C_out, kD, kH, kW)


def volume_block(*, block_info: dict) -> np.ndarray:
    """One chunk of the synthetic volume: a smooth function of the global coordinates.

    Called by :func:`dask.array.map_blocks`, whose ``block_info[None]`` says where the chunk lies.
    """
    info = block_info[None]
    shape = info["chunk-shape"]
    (_, _), (_, _), (z0, z1), (y0, y1), (x0, x1) = info["array-location"]
    z, y, x = np.ogrid[z0:z1, y0:y1, x0:x1]
    values = (
        np.sin(0.031 * z + 0.5) * np.cos(0.017 * y)
        + 0.5 * np.sin(0.023 * x + 0.011 * z)
        + 0.25 * np.cos(0.05 * (x + y))
    )
    return values.astype(np.float32).reshape(shape)


def store(array, path: str | Path, compute=None) -> Path:
    """Write a Dask array to the Zarr store ``path`` so that ``path`` only ever holds a complete store.

    ``da.to_zarr`` writes chunk by chunk; if a task fails (a worker dies, a chunk raises) the
    chunks already written stay, and the missing ones read back as Zarr's fill value (zeros):
    a partial store looks like a complete one. So the store is written to ``path`` plus
    ``.partial``, which is renamed to ``path`` (replacing an older store) only after every
    chunk is written. On failure the error is raised and ``path`` is untouched (an older
    store there stays whole); the ``.partial`` store is left for inspection and removed by
    the next call.

    Parameters
    ----------
    array : dask.array.Array
    path : path
        The final store.
    compute : callable, optional
        Runs the delayed write and waits for it (default ``dask.compute``); the example
        passes one that submits it to its cluster and shows a progress bar.
    """
    import dask
    import dask.array as da

    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    # if a task fails this raises, and the final name is untouched; the partial store keeps its name
    # (tasks still running may write into it after the error) until the next call removes it
    (compute or dask.compute)(da.to_zarr(array, str(partial), overwrite=True, compute=False))
    if path.exists():
        shutil.rmtree(path)
    partial.rename(path)  # atomic on one file system: the final name appears complete, or not at all
    return path


def _peak_rss_mib() -> float:
    """The peak resident memory of this process, in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _store_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _in_memory_region(x_store, weight: np.ndarray, region: tuple[slice, ...]) -> np.ndarray:
    """The in-memory transposed convolution on one output region, from an input region with a margin.

    Output cell ``o`` is cell ``o + padding`` of the full output, to which only inputs
    ``j`` with ``stride*j <= o + padding < stride*j + k`` contribute; reading ``k`` inputs
    more on each side than the region's stamps need (cut at the array's ends, which are
    the real ends) makes the region of the sub-volume's full output exact.
    """
    k = weight.shape[-1]
    starts, stops = [], []
    for sl, n in zip(region, x_store.shape[2:]):
        starts.append(max((sl.start + PADDING) // STRIDE - k, 0))
        stops.append(min((sl.stop + PADDING) // STRIDE + k, n))
    sub_region = (slice(None), slice(None), *(slice(a, b) for a, b in zip(starts, stops)))  # (N, C, *spatial)
    sub = np.asarray(x_store[sub_region])
    import tconv

    full = tconv.conv_transpose(sub, weight, stride=STRIDE, padding="valid")  # (1, 1, *full of the sub-volume)
    window = (
        slice(None),
        slice(None),
        *(slice(sl.start + PADDING - STRIDE * a, sl.stop + PADDING - STRIDE * a) for sl, a in zip(region, starts)),
    )
    return full[window]


def run(
    size: int = 768,
    chunk: int = 128,
    out: str | Path = "tconv-dask-example",
    workers: int = 2,
    memory_limit: str = "768MiB",
    samples: int = 4,
    processes: bool = True,
    cleanup: bool = False,
    seed: int = 0,
    log=print,
) -> dict:
    """Run the example; return its measurements (sizes, seconds, the sample's largest difference).

    Parameters
    ----------
    size : int
        Cells per axis of the input volume (``size**3`` float32 values).
    chunk : int
        Cells per axis of an input chunk; output chunks are ``2*chunk``.
    out : path
        Directory for ``input.zarr`` and ``output.zarr`` (created).
    workers, memory_limit, processes
        The LocalCluster: worker count, memory limit per worker, processes or threads.
    samples : int
        Output blocks checked against the in-memory result.
    cleanup : bool
        Delete both stores at the end.
    """
    import dask.array as da
    import zarr
    from dask.distributed import Client, LocalCluster, progress
    from dask.utils import format_bytes, parse_bytes

    import tconv
    import tconv.dask

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    input_path, output_path = out / "input.zarr", out / "output.zarr"
    weight = trilinear_weight()
    shape = (1, 1, size, size, size)  # (N, C, D, H, W)
    budget = workers * parse_bytes(memory_limit)
    in_bytes = int(np.prod(shape)) * 4
    result: dict = {"input_bytes": in_bytes, "output_bytes": in_bytes * 8, "budget_bytes": budget}
    log(f"input  {shape} float32, {format_bytes(in_bytes)} in chunks of {chunk}^3 ({format_bytes(chunk**3 * 4)})")
    log(f"output {(1, 1, *(2 * size,) * 3)} float32, {format_bytes(8 * in_bytes)} in chunks of {2 * chunk}^3")
    log(f"memory budget: {workers} workers x {memory_limit} = {format_bytes(budget)}")

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            memory_limit=memory_limit,
            processes=processes,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        log(f"dashboard: {client.dashboard_link} (needs bokeh; the progress bars below need nothing)")

        # 1. the input, generated chunk by chunk into Zarr
        t0 = time.perf_counter()
        volume = da.map_blocks(
            volume_block,
            dtype=np.float32,
            chunks=((1,), (1,), *((chunk,) * (size // chunk) + ((size % chunk,) if size % chunk else ()),) * 3),
        )

        def on_cluster(write) -> None:
            future = client.compute(write)
            progress(future)
            future.result()  # raises if any task failed: store() then leaves the final name untouched

        log("writing input.zarr")
        store(volume, input_path, on_cluster)
        result["generate_seconds"] = time.perf_counter() - t0
        log(f"\n  {result['generate_seconds']:.1f} s")

        # 2. up-sampling, lazily, in regular output chunks that Zarr can store as they are
        t0 = time.perf_counter()
        x = da.from_zarr(str(input_path))
        y = tconv.dask.conv_transpose(x, weight, stride=STRIDE, padding=PADDING, chunks=2 * chunk)
        graph_tasks = len(dict(y.__dask_graph__())) - len(dict(x.__dask_graph__()))
        per_block = graph_tasks / y.npartitions
        log(f"up-sampling: {y.npartitions} output blocks, {graph_tasks} tasks ({per_block:.1f} per block)")
        store(y, output_path, on_cluster)
        result["upsample_seconds"] = time.perf_counter() - t0
        log(f"\n  {result['upsample_seconds']:.1f} s")
        result["store_bytes"] = (_store_bytes(input_path), _store_bytes(output_path))
        log(
            f"stores on disk: input.zarr {format_bytes(result['store_bytes'][0])}, "
            f"output.zarr {format_bytes(result['store_bytes'][1])} (compressed)"
        )
        worker_peaks = client.run(_peak_rss_mib)
        result["worker_peak_rss_mib"] = sorted(worker_peaks.values())
        if processes:
            log(
                "peak memory of the worker processes: "
                + ", ".join(f"{m:.0f} MiB" for m in result["worker_peak_rss_mib"])
            )

    # 3. a random sample of output blocks against the in-memory result on their region
    x_store, y_store = zarr.open_array(str(input_path), mode="r"), zarr.open_array(str(output_path), mode="r")
    assert y_store.shape == (1, 1, *(2 * size,) * 3), y_store.shape
    rng = np.random.default_rng(seed)
    corners = list(itertools.product(*(range(0, n, c) for n, c in zip(y_store.shape[2:], y_store.chunks[2:]))))
    worst = 0.0
    for index in rng.choice(len(corners), size=min(samples, len(corners)), replace=False):
        corner = corners[index]
        region = tuple(slice(c, min(c + 2 * chunk, n)) for c, n in zip(corner, y_store.shape[2:]))
        expected = _in_memory_region(x_store, weight, region)
        block = (slice(None), slice(None), *region)  # (N, C, *spatial)
        actual = np.asarray(y_store[block])
        difference = float(np.max(np.abs(actual - expected)))
        worst = max(worst, difference)
        log(f"block at {corner}: max |chunked - in-memory| = {difference:.3g}")
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
    result["max_difference"] = worst
    log(f"{samples} sampled blocks equal the in-memory result (largest difference {worst:.3g})")
    if cleanup:
        shutil.rmtree(input_path)
        shutil.rmtree(output_path)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tconv.examples.dask_upsample", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--size", type=int, default=768, help="cells per axis of the input volume (default 768: 1.7 GiB)"
    )
    parser.add_argument("--chunk", type=int, default=128, help="cells per axis of an input chunk (default 128)")
    parser.add_argument("--out", default="tconv-dask-example", help="directory for input.zarr and output.zarr")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--memory-limit", default="768MiB", help="memory limit per worker (default 768MiB)")
    parser.add_argument("--samples", type=int, default=4, help="output blocks to check (default 4)")
    parser.add_argument("--cleanup", action="store_true", help="delete the stores at the end")
    args = parser.parse_args(argv)
    for name in ("size", "chunk", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be positive, got {getattr(args, name)}")
    t0 = time.perf_counter()
    run(args.size, args.chunk, args.out, args.workers, args.memory_limit, args.samples, cleanup=args.cleanup)
    print(f"total {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
