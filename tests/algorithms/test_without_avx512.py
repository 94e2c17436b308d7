"""The compiled register tiles on a processor without AVX-512, in a child process that hides it.

The tiles' shapes follow the processor (:data:`tconv._algorithms.numba_kernels.TILE_PIXELS`,
``MIXED_ROWS``, ``MIXED_COLUMNS``), and the machines this suite runs on may all have AVX-512: a buffer
sized for one shape and written by another only shows on the other kind of processor. The input
gradient's tiles of few output channels once wrote 8 outputs' sums into a buffer of 6 without AVX-512
(a heap corruption: the gradients' tests aborted). The child reports the features as the host's minus
AVX-512 and compiles for a Haswell into its own numba cache, then checks the tiled paths against
float64 results.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import llvmlite.binding as binding

    host = binding.get_host_cpu_features

    def without_avx512():
        features = host()
        for name in list(features):
            if name.startswith("avx512"):
                features[name] = False
        return features

    binding.get_host_cpu_features = without_avx512

    import numpy as np
    import tconv
    import tconv._algorithms.compiled
    from tconv._algorithms import mixed, numba_kernels
    from tconv.grad import conv_transpose_backward

    assert (numba_kernels.TILE_PIXELS, numba_kernels.MIXED_ROWS, numba_kernels.MIXED_COLUMNS) == (6, 6, 16)
    assert (numba_kernels.CHUNK_PIXELS, numba_kernels.DOUBLE_PIXELS, numba_kernels.DOUBLE_LANES) == (6, 6, 8)
    rng = np.random.default_rng(0)

    def check(got, exact, tolerance=1e-5):
        scale = np.abs(exact).max()
        assert np.abs(got - exact).max() <= tolerance * scale, np.abs(got - exact).max() / scale

    # the input gradient of few output channels per group in register tiles of 6 and 4 outputs
    # (im2col.register_tiles), and of more output channels in the wide tiles (im2col.wide_tiles: one
    # vector of 16 lanes and rows of 6 outputs without AVX-512, their double-precision sums in memory)
    from tconv._algorithms import registers

    tiles, conv_tiles = [], registers.conv_tiles

    def spy(*args, **kwargs):
        tiles.append("double" if kwargs.get("double") else kwargs.get("wide", False))
        return conv_tiles(*args, **kwargs)

    registers.conv_tiles = spy
    for c_in, c_out, layout in ((21, 21, "channels_first"), (64, 40, "channels_last")):
        x = rng.standard_normal((2, c_in, 19, 23)).astype(np.float32)
        w = (rng.standard_normal((c_in, c_out, 4, 4)) / 8).astype(np.float32)
        dy = rng.standard_normal((2, c_out, 38, 46)).astype(np.float32)
        if layout == "channels_last":
            x, dy = np.moveaxis(x, 1, -1).copy(), np.moveaxis(dy, 1, -1).copy()
        kw = dict(stride=2, padding=1, layout=layout)
        got = conv_transpose_backward(dy, x, w, **kw, needs=("input",)).input
        exact = conv_transpose_backward(dy.astype(float), x.astype(float), w.astype(float), **kw, needs=("input",))
        check(got, exact.input)
    assert set(tiles) == {False, True}, tiles

    # the stride-1 forward in register tiles (rows of 12, 8 and 4 outputs: 6 and 4 here)
    x = rng.standard_normal((2, 21, 30, 29)).astype(np.float32)
    w = rng.standard_normal((21, 16, 7, 7)).astype(np.float32)
    got = tconv.conv_transpose(x, w, padding=3, algorithm="registers")
    check(got, tconv.conv_transpose(x.astype(float), w.astype(float), padding=3))

    # the mixed-precision product with a partial tile of rows and a partial panel
    a = rng.standard_normal((37, 300)).astype(np.float32)
    b = rng.standard_normal((300, 45)).astype(np.float32)
    out = np.empty((37, 45), np.float32)
    mixed.product(a, mixed.pack(b), 64, out)
    check(out, a.astype(float) @ b.astype(float))

    # vector code written as generic LLVM vectors of 16 lanes: 16 x 16 transposes in registers (the
    # compiled transpose; the padded channels-last copy of a grouped input gradient's register tiles) and
    # masked stride-2 runs of channels-first columns (the input gradient of a k4 s2 layer of 3 output
    # channels, rows of 21, 12 input channels); with 16 input channels, the same rows in tiles of double
    # precision (one product of 48 terms each: im2col.double_tiles, 6 outputs x 8 lanes here)
    a = rng.standard_normal((3, 40, 70)).astype(np.float32)
    assert np.array_equal(tconv._algorithms.compiled.transpose(a), a.transpose(0, 2, 1))
    for c_in, c_out, groups in ((32, 8, 4), (12, 3, 1), (16, 3, 1)):
        x = rng.standard_normal((2, c_in, 13, 21)).astype(np.float32)
        w = rng.standard_normal((c_in, c_out, 4, 4)).astype(np.float32)
        dy = rng.standard_normal((2, c_out * groups, 26, 42)).astype(np.float32)
        kw = dict(stride=2, padding=1, groups=groups)
        got = conv_transpose_backward(dy, x, w, **kw)
        exact = conv_transpose_backward(dy.astype(float), x.astype(float), w.astype(float), **kw)
        check(got.input, exact.input)
        check(got.weight, exact.weight)
    assert "double" in tiles, tiles

    # the weight gradient of few input channels in tiles over implicit columns (im2col.run_tiles_gradient:
    # 4 broadcast rows x one 16-lane vector here, so 6 input channels take two blocks of rows), and the
    # pointwise small-group passes (8-lane sums of the weight gradient)
    from tconv._algorithms import im2col

    run_tiles, original = [], im2col._run_tiles_gradient
    im2col._run_tiles_gradient = lambda *args: run_tiles.append(1) or original(*args)
    x = rng.standard_normal((4, 6, 13, 21)).astype(np.float32)
    w = rng.standard_normal((6, 20, 4, 4)).astype(np.float32)
    dy = rng.standard_normal((4, 20, 26, 42)).astype(np.float32)
    got = conv_transpose_backward(dy, x, w, stride=2, padding=1, needs=("weight",)).weight
    exact = conv_transpose_backward(dy.astype(float), x.astype(float), w.astype(float), stride=2, padding=1)
    check(got, exact.weight)
    assert run_tiles, "the run tiles did not run"
    x = rng.standard_normal((4, 8, 50, 61)).astype(np.float32)
    w = rng.standard_normal((8, 8, 1, 1)).astype(np.float32)
    dy = rng.standard_normal((4, 64, 50, 61)).astype(np.float32)
    got = conv_transpose_backward(dy, x, w, groups=8)
    exact = conv_transpose_backward(dy.astype(float), x.astype(float), w.astype(float), groups=8)
    check(got.input, exact.input)
    check(got.weight, exact.weight)
    print("ok")
    """
)


def test_register_tiles_without_avx512(tmp_path):
    """The register tiles compute the same results on a processor without AVX-512 (its tile shapes)."""
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CACHE_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout + done.stderr
