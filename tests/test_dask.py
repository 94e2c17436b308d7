"""tconv.dask against the in-memory tconv.conv_transpose / tconv.conv, on irregular chunkings.

The in-memory functions are the oracle here (they are checked against PyTorch, ONNX
and the naive reference elsewhere); what is under test is that cutting the array
into chunks, adding the halo and choosing each block's window changes nothing.
Configurations come from a seeded generator (the same ones on every run).
"""

from __future__ import annotations

import itertools
import random
import tracemalloc

import numpy as np
import pytest
from helpers import assert_close, module_oracle, oracle

import tconv
from tconv.shape import (
    conv_transpose_geometry,
    conv_transpose_halo,
    conv_transpose_input_range,
)

module_oracle("dask")  # fails clearly when Dask is missing (or skips the module with --oracles=optional)
import dask.array as da  # noqa: E402

import tconv.dask as tdask  # noqa: E402


def _random_chunks(size, rng):
    """Irregular chunks: many of size 1 and 2, some larger, an uneven last one."""
    kind = rng.choice(["ones", "mixed", "mixed", "one-chunk", "regular"])
    if kind == "ones":
        return (1,) * size
    if kind == "one-chunk":
        return (size,)
    if kind == "regular":
        c = rng.randint(1, max(1, size - 1))
        return (c,) * (size // c) + ((size % c,) if size % c else ())
    sizes, left = [], size
    while left:
        sizes.append(min(left, rng.choice([1, 1, 2, 3, 4])))
        left -= sizes[-1]
    return tuple(sizes)


def _padding(nd, rng):
    kind = rng.choice(["int", "per-axis", "pairs", "pairs", "same", "valid"])
    if kind == "int":
        return rng.randint(0, 2)
    if kind == "per-axis":
        return tuple(rng.randint(0, 2) for _ in range(nd))
    if kind == "pairs":
        return tuple((rng.randint(-2, 3), rng.randint(-2, 3)) for _ in range(nd))
    return kind


def _config(op, seed):
    """A random valid configuration: arrays (NumPy), arguments, chunks of the input."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    while True:
        nd = rng.choice([1, 1, 2, 2, 3])
        top = {1: 9, 2: 6, 3: 4}[nd]
        size = tuple(rng.randint(1, top) for _ in range(nd))
        if op == "conv":
            size = tuple(rng.randint(3, top + 4) for _ in range(nd))
        kernel = tuple(rng.randint(1, 4) for _ in range(nd))
        stride = tuple(rng.randint(1, 3) for _ in range(nd))
        dilation = tuple(rng.choice([1, 1, 2]) for _ in range(nd))
        groups = rng.choice([1, 1, 2])
        c_in, c_out = groups * rng.randint(1, 2), groups * rng.randint(1, 2)
        n = rng.randint(1, 3)
        layout = rng.choice(["channels_first", "channels_last"])
        batched = rng.random() < 0.8
        padding = _padding(nd, rng)
        x = nprng.standard_normal((n, c_in, *size))
        if op == "conv_transpose":
            w = nprng.standard_normal((c_in, c_out // groups, *kernel))
        else:
            w = nprng.standard_normal((c_out, c_in // groups, *kernel))
        b = nprng.standard_normal(c_out) if rng.random() < 0.7 else None
        kwargs = dict(stride=stride, padding=padding, groups=groups, dilation=dilation, layout=layout)
        if op == "conv_transpose":
            choice = rng.random()
            if choice < 0.3 and padding != "same":
                kwargs["output_padding"] = tuple(rng.randint(0, max(s, d) - 1) for s, d in zip(stride, dilation))
            elif choice < 0.5:
                try:
                    ranges = tconv.conv_transpose_output_size_range(size, kernel, stride, padding, dilation)
                except ValueError:
                    continue
                if any(len(r) == 0 for r in ranges):  # the crop leaves no output
                    continue
                kwargs["output_size"] = tuple(rng.choice(list(r)) for r in ranges)
        if layout == "channels_last":
            x = np.moveaxis(x, 1, -1)
        if not batched:
            x = x[0]
        function = getattr(tconv, op)
        try:
            expected = function(x, w, b, **kwargs)
        except ValueError:  # e.g. a crop that leaves no output
            continue
        channel = (1 if batched else 0) if layout == "channels_first" else x.ndim - 1
        chunks = [_random_chunks(v, rng) for v in x.shape]
        chunks[channel] = (x.shape[channel],)
        return x, w, b, kwargs, tuple(chunks), expected


def _check(op, seed, scheduler="threads"):
    x, w, b, kwargs, chunks, expected = _config(op, seed)
    dx = da.from_array(x, chunks=chunks)
    y = getattr(tdask, op)(dx, w, b, **kwargs)
    assert y.shape == expected.shape and y.dtype == expected.dtype
    assert_close(y.compute(scheduler=scheduler), expected, dtype=expected.dtype)


@pytest.mark.parametrize("seed", range(120))
def test_conv_transpose_equals_in_memory(seed):
    _check("conv_transpose", seed)


@pytest.mark.parametrize("seed", range(80))
def test_conv_equals_in_memory(seed):
    _check("conv", 1000 + seed)


def test_random_configurations_cover_the_parameters():
    """The seeded tables really contain every dimension, padding form and chunk kind they promise."""
    seen = set()
    for seed in range(120):
        x, w, b, kwargs, chunks, _ = _config("conv_transpose", seed)
        nd = w.ndim - 2
        seen.add(f"{nd}d")
        p = kwargs["padding"]
        seen.add(p if isinstance(p, str) else "pairs" if isinstance(p, tuple) and isinstance(p[0], tuple) else "int")
        if isinstance(p, tuple) and isinstance(p[0], tuple) and any(v < 0 for pair in p for v in pair):
            seen.add("negative")
        seen.update(k for k in ("output_size", "output_padding") if k in kwargs)
        seen.add(f"groups{kwargs['groups']}")
        if any(d > 1 for d in kwargs["dilation"]):
            seen.add("dilation")
        if any(len(c) > 1 and set(c) == {1} for c in chunks):
            seen.add("chunks of 1")
        halo = conv_transpose_halo(w.shape[2:], kwargs["stride"], kwargs["dilation"])
        spatial = chunks[2:] if kwargs["layout"] == "channels_first" and x.ndim == nd + 2 else None
        if spatial and any(min(c) < h for c, (h, _) in zip(spatial, halo)):
            seen.add("chunks smaller than the halo")
    assert seen >= {
        "1d",
        "2d",
        "3d",
        "same",
        "valid",
        "pairs",
        "int",
        "negative",
        "output_size",
        "output_padding",
        "groups1",
        "groups2",
        "dilation",
        "chunks of 1",
        "chunks smaller than the halo",
    }, seen


# Hand-picked irregular chunkings, 1-, 2- and 3-d: chunk size 1, chunks smaller than the
# halo (k=7: halo 6 at stride 1), uneven last chunks, crops larger than the first chunk.
IRREGULAR = [
    ("1d-ones-k7", (1, 2, 11), (1, 1, (1,) * 11), (2, 3, 7), dict(stride=1, padding=2)),
    (
        "1d-small-chunks-k7s2",
        (2, 1, 13),
        ((1, 1), 1, (2, 2, 2, 2, 2, 2, 1)),
        (1, 2, 7),
        dict(stride=2, padding=((5, -3),)),
    ),
    ("1d-vocoder-k16s8", (1, 2, 9), (1, 2, (4, 4, 1)), (2, 2, 16), dict(stride=8, padding=4)),
    ("1d-crop-beyond-first-chunks", (1, 1, 10), (1, 1, (1, 1, 1, 7)), (1, 1, 3), dict(stride=1, padding=((4, 4),))),
    ("2d-uneven", (2, 3, 9, 7), ((1, 1), 3, (4, 4, 1), (3, 3, 1)), (3, 2, 4, 4), dict(stride=2, padding=1)),
    ("2d-ones-same", (1, 2, 5, 6), (1, 2, (1,) * 5, (1,) * 6), (2, 2, 5, 3), dict(stride=(2, 3), padding="same")),
    (
        "2d-dilated-groups",
        (1, 4, 8, 6),
        (1, 4, (3, 3, 2), (1, 5)),
        (4, 3, 3, 3),
        dict(stride=2, padding=((2, -1), (0, 3)), groups=2, dilation=(2, 3), output_padding=(1, 2)),
    ),
    (
        "3d-ones-and-uneven",
        (1, 2, 4, 5, 3),
        (1, 2, (1, 1, 1, 1), (2, 2, 1), (3,)),
        (2, 2, 3, 3, 3),
        dict(stride=2, padding=1, output_padding=1),
    ),
    (
        "3d-small-chunks-k5",
        (2, 1, 6, 4, 5),
        (1, 1, (2, 2, 2), (1, 3), (4, 1)),
        (1, 2, 5, 2, 4),
        dict(stride=(1, 2, 1), padding="valid"),
    ),
]


@pytest.mark.parametrize("case", IRREGULAR, ids=[c[0] for c in IRREGULAR])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_irregular_chunkings(case, layout):
    _, shape, chunks, wshape, kwargs = case
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape)
    w = rng.standard_normal(wshape)
    b = rng.standard_normal(wshape[1] * kwargs.get("groups", 1))
    if layout == "channels_last":
        x, chunks = np.moveaxis(x, 1, -1), (chunks[0], *chunks[2:], chunks[1])
    expected = tconv.conv_transpose(x, w, b, layout=layout, **kwargs)
    y = tdask.conv_transpose(da.from_array(x, chunks=chunks), w, b, layout=layout, **kwargs)
    assert_close(y.compute(scheduler="threads"), expected, dtype=np.float64)
    # and the forward convolution of the result, chunked as it comes, back to the input's shape
    conv_kwargs = {k: v for k, v in kwargs.items() if k not in ("output_padding",)}
    wc = w  # (C_in, C_out/groups, *k) read as a convolution's (C_out, C_in/groups, *k): the adjoint
    expected_back = tconv.conv(expected, wc, layout=layout, **conv_kwargs)
    back = tdask.conv(y, wc, layout=layout, **conv_kwargs)
    assert_close(back.compute(scheduler="threads"), expected_back, dtype=np.float64)


def test_output_chunks_map_from_input_chunks():
    """stride x each chunk, the crop taken from the first, the kernel's overhang added to the last."""
    x = da.zeros((1, 1, 10), chunks=(1, 1, (4, 3, 3)))
    w = np.ones((1, 1, 4))
    assert tdask.conv_transpose(x, w, stride=2, padding=1).chunks == ((1,), (1,), (7, 6, 7))
    assert tdask.conv_transpose(x, w, stride=2, padding=((-2, 0),)).chunks == ((1,), (1,), (10, 6, 8))
    # crops larger than the first chunks: their (empty) output chunks are dropped
    x = da.zeros((1, 1, 10), chunks=(1, 1, (1, 1, 1, 7)))
    assert tdask.conv_transpose(x, np.ones((1, 1, 3)), padding=((4, 4),)).chunks == ((1,), (1,), (4,))


@pytest.mark.parametrize("op", ["conv_transpose", "conv"])
@pytest.mark.parametrize("chunks", [5, 1, "auto", "irregular"])
def test_requested_output_chunks(op, chunks):
    """Any output chunking (a regular grid for Zarr, say) gives the same result."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2, 9, 8))
    w = rng.standard_normal((2, 3, 4, 3)) if op == "conv_transpose" else rng.standard_normal((3, 2, 4, 3))
    kwargs = dict(stride=2, padding=((1, 2), (0, 1)))
    expected = getattr(tconv, op)(x, w, **kwargs)
    if chunks == "irregular":
        chunks = tuple((1,) + (n - 1,) for n in expected.shape[2:])
    y = getattr(tdask, op)(da.from_array(x, chunks=(1, 2, 2, 3)), w, chunks=chunks, **kwargs)
    if isinstance(chunks, int):
        assert all(set(c[:-1]) <= {chunks} for c in y.chunks[2:]), y.chunks
    assert_close(y.compute(), expected, dtype=np.float64)


def test_channels_split_across_chunks_are_rechunked():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 4, 6, 5))
    w = rng.standard_normal((4, 2, 3, 3))
    y = tdask.conv_transpose(da.from_array(x, chunks=(1, 1, 2, 2)), w, stride=2)
    assert y.chunks[1] == (2,)
    assert_close(y.compute(), tconv.conv_transpose(x, w, stride=2), dtype=np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.complex128])
def test_dtypes_follow_the_in_memory_function(dtype):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((1, 2, 7, 6)) * 4).astype(dtype)
    w = (rng.standard_normal((2, 2, 3, 3)) * 4).astype(dtype)
    expected = tconv.conv_transpose(x, w, stride=2, padding=1)
    y = tdask.conv_transpose(da.from_array(x, chunks=(1, 2, 3, 2)), w, stride=2, padding=1)
    assert y.dtype == expected.dtype
    assert_close(y.compute(), expected, dtype=expected.dtype)


def test_zero_extension_blocks_hold_only_the_bias():
    """Blocks that no input reaches (a wide negative padding) are the bias alone."""
    x = np.ones((1, 1, 3))
    w = np.ones((1, 2, 1))
    b = np.array([0.5, -1.0])
    kwargs = dict(stride=2, padding=((-6, -5),))
    y = tdask.conv_transpose(da.from_array(x, chunks=(1, 1, 1)), w, b, chunks=4, **kwargs)
    assert_close(y.compute(), tconv.conv_transpose(x, w, b, **kwargs), dtype=np.float64)


def test_weight_and_bias_may_be_dask_arrays():
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal((1, 2, 5)), rng.standard_normal((2, 3, 3)), rng.standard_normal(3)
    y = tdask.conv_transpose(da.from_array(x, chunks=2), da.from_array(w), da.from_array(b), stride=2)
    assert_close(y.compute(), tconv.conv_transpose(x, w, b, stride=2), dtype=np.float64)


def test_unbatched_and_whole_output_size():
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 3, 3, 3))
    expected = tconv.conv_transpose(x, w, stride=2, padding=1, output_size=(3, 10, 8))
    y = tdask.conv_transpose(da.from_array(x, chunks=(2, 2, 3)), w, stride=2, padding=1, output_size=(3, 10, 8))
    assert_close(y.compute(), expected, dtype=np.float64)


# ---------------------------------------------------------------------------
# The graph: what each block depends on, how big it is, how many tasks
# ---------------------------------------------------------------------------


def _dependencies(y, x):
    from dask.core import get_dependencies

    """For each output block: the input blocks it reads (directly or through a halo piece)."""
    graph = dict(y.__dask_graph__())
    deps = {}
    for key in itertools.product(*(range(len(c)) for c in y.chunks)):
        found, stack = set(), [(y.name, *key)]
        while stack:
            k = stack.pop()
            if isinstance(k, tuple) and k and k[0] == x.name:
                found.add(k[1:])
                continue
            stack.extend(get_dependencies(graph, k))
        deps[key] = found
    return deps


@pytest.mark.parametrize(
    "kernel, stride, dilation, padding",
    [
        (4, 2, 1, 1),
        (7, 1, 1, 3),
        (3, 2, 2, ((2, -1),)),
        (16, 8, 1, 4),
        (2, 2, 1, 0),
        (5, 3, 1, "same"),
    ],
)
def test_each_block_reads_its_chunk_and_the_halo_only(kernel, stride, dilation, padding):
    chunks = (3, 1, 4, 2, 2, 5, 1, 3)
    x = da.zeros((1, 1, sum(chunks)), chunks=(1, 1, chunks))
    y = tdask.conv_transpose(x, np.ones((1, 1, kernel)), stride=stride, padding=padding, dilation=dilation)
    g = conv_transpose_geometry(sum(chunks), kernel, stride, padding, 0, dilation)
    ((before, _),) = conv_transpose_halo(kernel, stride, dilation)
    starts = [sum(chunks[:n]) for n in range(len(chunks) + 1)]
    deps = _dependencies(y, x)
    lo = 0
    for q, size in enumerate(y.chunks[2]):
        # the input chunks this block owns: those whose stamps start in it
        first = next(j for j in range(g.input_size[0]) if g.stride[0] * j - g.crop_begin[0] >= lo) if lo else 0
        reach = conv_transpose_input_range(g, 0, lo, lo + size)
        assert reach is not None and reach[0] >= first - before
        needed = {(0, 0, c) for c in range(len(chunks)) if starts[c] < reach[1] and starts[c + 1] > reach[0]}
        assert deps[(0, 0, q)] == needed, (q, deps[(0, 0, q)], needed)
        lo += size


def test_blocks_receive_their_neighbourhood_only_and_memory_per_task_is_bounded(monkeypatch):
    """Measured: the input each task assembles, and its peak of traced memory (tracemalloc)."""
    import tconv.dask as module

    records = []
    block = module._block

    def measured(pieces, weight, bias, **kwargs):
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        neighbourhood = module._assemble(pieces, kwargs["axes"])
        y = block(pieces, weight, bias, **kwargs)
        peak = tracemalloc.get_traced_memory()[1] - start
        records.append((neighbourhood.shape, neighbourhood.nbytes, y.nbytes, peak))
        return y

    monkeypatch.setattr(module, "_block", measured)
    rng = np.random.default_rng(8)
    x = rng.standard_normal((1, 4, 96, 96))  # 288 KiB
    w = rng.standard_normal((4, 4, 4, 4))
    dx = da.from_array(x, chunks=(1, 4, 16, 16))  # 36 chunks of 8 KiB
    # the reference "scatter" algorithm, whose temporaries are known (the output and one tap's
    # product), so that the bound measures what the Dask layer makes a task hold (measured: < 2x)
    y = tdask.conv_transpose(dx, w, stride=2, padding=1, algorithm="scatter")
    tracemalloc.start()
    try:
        result = y.compute(scheduler="synchronous")
    finally:
        tracemalloc.stop()
    assert_close(result, tconv.conv_transpose(x, w, stride=2, padding=1), dtype=np.float64)
    assert len(records) == 36
    for shape, in_bytes, out_bytes, peak in records:
        assert all(n <= 16 + 1 for n in shape[2:]), shape  # the chunk plus a halo of 1
        assert peak <= 4 * (in_bytes + out_bytes), (peak, in_bytes, out_bytes)
        assert peak < result.nbytes / 8  # far below the whole output (1.2 MB)


def _task_count(nchunks, nd, kernel=4, stride=2, padding=1, chunk=2):
    shape = (1, 2) + (nchunks * chunk,) * nd
    x = da.zeros(shape, chunks=(1, 2) + (chunk,) * nd)
    y = tdask.conv_transpose(x, np.ones((2, 2) + (kernel,) * nd), stride=stride, padding=padding)
    return len(dict(y.__dask_graph__())) - len(dict(x.__dask_graph__())), y.npartitions


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_graph_grows_linearly_with_the_number_of_chunks(nd):
    sizes = [2, 4, 8] if nd < 3 else [2, 4]
    counts = [_task_count(n, nd) for n in sizes]
    tasks = [t for t, _ in counts]
    blocks = [b for _, b in counts]
    # per block: the block itself, at most 2**nd - 1 halo pieces; plus the weight
    for t, b in zip(tasks, blocks):
        assert t <= b * 2**nd + 1
    # and exactly affine in the number of blocks along a line of chunks
    if nd == 1:
        assert tasks[2] - tasks[1] == 2 * (tasks[1] - tasks[0])

    # chunks of 1 under a wide halo (k=7, s=1: six neighbouring chunks per block): still affine
    (t1, _), (t2, _), (t3, _) = (_task_count(n, 1, kernel=7, stride=1, padding=0, chunk=1) for n in (16, 32, 64))
    assert t3 - t2 == 2 * (t2 - t1)


def test_runs_on_a_local_cluster():
    distributed = oracle("distributed")
    import dask

    # generous timeouts: on a loaded 2-core machine the default connect timeout can fire during
    # shutdown and leave an unretrieved TimeoutError printed after pytest's summary
    timeouts = {"distributed.comm.timeouts.connect": "120s", "distributed.comm.timeouts.tcp": "120s"}
    with (
        dask.config.set(timeouts),
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        for seed in range(6):
            x, w, b, kwargs, chunks, expected = _config("conv_transpose", 2000 + seed)
            y = tdask.conv_transpose(da.from_array(x, chunks=chunks), w, b, **kwargs)
            assert_close(client.compute(y).result(), expected, dtype=expected.dtype)
        x, w, b, kwargs, chunks, expected = _config("conv", 3000)
        y = tdask.conv(da.from_array(x, chunks=chunks), w, b, **kwargs)
        assert_close(client.compute(y).result(), expected, dtype=expected.dtype)


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


def test_errors_name_the_parameter_and_value():
    w = np.ones((2, 3, 3, 3))
    x = da.zeros((1, 2, 5, 5), chunks=2)
    with pytest.raises(
        TypeError, match="x must be a dask.array.Array, got ndarray; wrap it with dask.array.from_array"
    ):
        tdask.conv_transpose(np.zeros((1, 2, 5, 5)), w)
    with pytest.raises(ValueError, match="layout must be one of .*got 'NCHW'"):
        tdask.conv_transpose(x, w, layout="NCHW")
    with pytest.raises(ValueError, match=r"x of shape \(1, 3, 5, 5\) \(channels_first\) has 3 channels, but weight"):
        tdask.conv_transpose(da.zeros((1, 3, 5, 5), chunks=2), w)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, C, \*spatial\).*got x of shape \(5, 5\)"):
        tdask.conv_transpose(da.zeros((5, 5)), w)
    with pytest.raises(ValueError, match="output_padding must be smaller than stride or dilation"):
        tdask.conv_transpose(x, w, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="requested an output size of"):
        tdask.conv_transpose(x, w, stride=2, output_size=(20, 20))
    with pytest.raises(ValueError, match=r"output_size=\(2, 3, 11, 11\) is a whole output shape, but"):
        tdask.conv_transpose(x, w, stride=2, output_size=(2, 3, 11, 11))
    with pytest.raises(ValueError, match="groups=2 must divide weight.shape"):
        tdask.conv_transpose(da.zeros((1, 3, 5, 5)), np.ones((3, 1, 2, 2)), groups=2)
    with pytest.raises(ValueError, match="bias must have shape"):
        tdask.conv_transpose(x, w, np.ones(2))
    with pytest.raises(ValueError, match="stride must be positive"):
        tdask.conv(x, np.ones((3, 2, 3, 3)), stride=0)
    with pytest.raises(ValueError, match="padded input is smaller than the dilated kernel"):
        tdask.conv(x, np.ones((3, 2, 7, 7)))
    with pytest.raises(ValueError, match="algorithm"):
        tdask.conv_transpose(x, w, algorithm="fft-of-dreams")
    with pytest.raises(ValueError, match="chunks must be None .* or the spatial output chunks"):
        tdask.conv_transpose(x, w, chunks=(2, 2, 2))
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        tdask.conv_transpose(x[x[:, 0, 0, 0] > 0], w)
    with pytest.raises(TypeError, match="weight must be a numeric array"):
        tdask.conv_transpose(x, np.array([["a"]]))


@pytest.mark.parametrize("op", ["conv_transpose", "conv"])
def test_every_registered_algorithm_runs_on_the_blocks(op):
    """algorithm= reaches every block; the registries may grow (the lead's fast algorithms)."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((4, 3, 3, 2)) if op == "conv_transpose" else rng.standard_normal((6, 2, 3, 2))
    kwargs = dict(stride=(2, 1), padding=((1, 0), (0, 1)), groups=2, dilation=(1, 2))
    expected = getattr(tconv, op)(x, w, **kwargs)
    for algorithm in tconv.algorithms(op):
        y = getattr(tdask, op)(da.from_array(x, chunks=(1, 4, 2, 3)), w, algorithm=algorithm, **kwargs)
        assert_close(y.compute(), expected, dtype=np.float64)


@pytest.mark.parametrize("chunks", [0, (3, 0), ((4, 4, 2), (0, 5, 5)), (0, -1)])
def test_zero_size_chunks_are_refused_naming_chunks(chunks):
    """chunks=0 ended in a ZeroDivisionError inside Dask."""
    x = da.ones((1, 1, 8, 8), chunks=4)
    with pytest.raises(ValueError, match="chunks must give positive chunk sizes"):
        tdask.conv_transpose(x, np.ones((1, 1, 3, 3)), chunks=chunks)
