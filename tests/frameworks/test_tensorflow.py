"""tconv.compat.tensorflow against TensorFlow: randomized configurations, output_shape validation, errors.

TensorFlow's CPU kernels compute float64 only for NHWC without dilation or groups;
float32 goes through oneDNN, which also does dilations, NCHW and implicit groups.
The table therefore runs float64 where TensorFlow can and float32 elsewhere.
Explicit padding together with dilation is rejected by every CPU kernel, so it is
checked against TensorFlow on the equivalent kernel with the dilation written into
it (``tconv.weights.dilate_weight``).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, oracle, run_json_script

from tconv.frameworks import tensorflow as compat
from tconv.weights import dilate_weight, from_torch_layout, to_torch_layout, ungroup_weight

FORMATS = {1: ("NWC", "NCW"), 2: ("NHWC", "NCHW"), 3: ("NDHWC", "NCDHW")}


def _configs(count: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        nd = int(rng.choice([1, 2, 2, 3]))
        channels_first = bool(rng.integers(0, 4) == 0)
        groups = int(rng.choice([1, 1, 1, 2])) if nd == 2 else 1
        dilated = bool(rng.integers(0, 4) == 0)
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        d = tuple(int(v) for v in rng.integers(1, 3, nd)) if dilated else (1,) * nd
        size = tuple(int(v) for v in rng.integers(1, 5 if nd < 3 else 4, nd))
        # TF's CPU kernel for explicit padding is NHWC-only, ungrouped and undilated (tested apart below)
        explicit_ok = nd == 2 and not dilated and not channels_first and groups == 1
        kind = rng.choice(["SAME", "VALID", "explicit", "explicit"] if explicit_ok else ["SAME", "VALID"])
        if kind == "explicit":
            padding = [tuple(int(v) for v in rng.integers(0, 3, 2)) for _ in range(nd)]
        else:
            padding = str(kind)
        ranges = compat.valid_output_sizes(size, k, s, padding if isinstance(padding, str) else padding, d)
        if any(len(r) == 0 for r in ranges):
            continue
        out = tuple(int(rng.integers(r.start, r.stop)) for r in ranges)
        float32 = channels_first or groups > 1 or dilated or bool(rng.integers(0, 3) == 0)
        configs.append(
            dict(
                nd=nd,
                fmt=FORMATS[nd][int(channels_first)],
                groups=groups,
                k=k,
                s=s,
                d=d,
                size=size,
                padding=padding,
                out=out,
                c_in=groups * int(rng.integers(1, 3)),
                c_out_g=int(rng.integers(1, 3)),
                n=int(rng.integers(1, 3)),
                dtype=np.float32 if float32 else np.float64,
                generic=bool(rng.integers(0, 2)),
            )
        )
    return configs


CONFIGS = _configs(70)


def _tf_padding(padding, nd, channels_first):
    if isinstance(padding, str):
        return padding
    spatial = [list(p) for p in padding]
    return [[0, 0], [0, 0], *spatial] if channels_first else [[0, 0], *spatial, [0, 0]]


def _arrays(cfg, seed=0):
    rng = np.random.default_rng(seed)
    channels_first = cfg["fmt"].startswith("NC")
    x_shape = (cfg["n"], cfg["c_in"], *cfg["size"]) if channels_first else (cfg["n"], *cfg["size"], cfg["c_in"])
    x = rng.standard_normal(x_shape).astype(cfg["dtype"])
    w = rng.standard_normal((*cfg["k"], cfg["c_out_g"], cfg["c_in"])).astype(cfg["dtype"])
    c_out = cfg["c_out_g"] * cfg["groups"]
    out_shape = [cfg["n"], c_out, *cfg["out"]] if channels_first else [cfg["n"], *cfg["out"], c_out]
    return x, w, out_shape


def _name(cfg):
    pad = cfg["padding"] if isinstance(cfg["padding"], str) else "explicit"
    dtype = np.dtype(cfg["dtype"]).name
    return f"{cfg['fmt']}-k{cfg['k']}s{cfg['s']}d{cfg['d']}-{pad}-o{cfg['out']}-g{cfg['groups']}-{dtype}"


@pytest.mark.parametrize("cfg", CONFIGS, ids=_name)
def test_matches_tensorflow(cfg, tf):
    nd = cfg["nd"]
    x, w, out_shape = _arrays(cfg)
    padding = _tf_padding(cfg["padding"], nd, cfg["fmt"].startswith("NC"))
    kwargs = dict(padding=padding, data_format=cfg["fmt"], dilations=list(cfg["d"]))
    if cfg["generic"]:
        ours = compat.conv_transpose(x, w, out_shape, list(cfg["s"]), **kwargs)
        expected = tf.nn.conv_transpose(x, w, out_shape, list(cfg["s"]), **kwargs).numpy()
    else:
        name = f"conv{nd}d_transpose"
        ours = getattr(compat, name)(x, w, out_shape, list(cfg["s"]), **kwargs)
        expected = getattr(tf.nn, name)(x, w, out_shape, list(cfg["s"]), **kwargs).numpy()
    assert_close(ours, expected, dtype=cfg["dtype"])


def _dilated_explicit_configs(count, seed=11):
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        d = tuple(int(v) for v in rng.integers(1, 4, 2))
        k = tuple(int(v) for v in rng.integers(1, 4, 2))
        s = tuple(int(v) for v in rng.integers(1, 3, 2))
        pads = [tuple(int(v) for v in rng.integers(0, 3, 2)) for _ in range(2)]
        ranges = compat.valid_output_sizes((3, 4), k, s, pads, d)
        if all(len(r) for r in ranges) and max(d) > 1:
            configs.append((d, k, s, pads, tuple(int(rng.integers(r.start, r.stop)) for r in ranges)))
    return configs


@pytest.mark.parametrize("d, k, s, pads, out", _dilated_explicit_configs(6))
def test_explicit_padding_with_dilation_equals_tensorflow_on_the_dilated_kernel(d, k, s, pads, out, tf):
    """TF's CPU kernels reject explicit padding with dilation; the dilated kernel is TF's own answer for it."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 3, 4, 2))
    w = rng.standard_normal((*k, 3, 2))
    w_dilated = from_torch_layout(dilate_weight(to_torch_layout(w, "tensorflow"), d), "tensorflow")
    padding = [[0, 0], *map(list, pads), [0, 0]]
    expected = tf.nn.conv2d_transpose(x, w_dilated, [1, *out, 3], list(s), padding=padding).numpy()
    assert_close(compat.conv2d_transpose(x, w, [1, *out, 3], list(s), padding=padding, dilations=list(d)), expected)


@pytest.mark.parametrize("seed", range(4))
def test_explicit_padding_nchw_and_groups_equal_tensorflow_on_equivalent_calls(seed, tf):
    """TF's CPU kernel for explicit padding is NHWC-only and ungrouped: NCHW is TF's NHWC answer transposed,
    and a grouped call is TF's answer for the block-diagonal (ungrouped) kernel."""
    rng = np.random.default_rng(seed)
    k = tuple(int(v) for v in rng.integers(1, 4, 2))
    s = tuple(int(v) for v in rng.integers(1, 3, 2))
    pads = [tuple(int(v) for v in rng.integers(0, 2, 2)) for _ in range(2)]
    out = tuple(r.start for r in compat.valid_output_sizes((3, 4), k, s, pads))
    x = rng.standard_normal((2, 3, 4, 4))
    w = rng.standard_normal((*k, 3, 4))  # groups = 6 / 3 = 2
    dense = from_torch_layout(ungroup_weight(to_torch_layout(w, "tensorflow"), 2), "tensorflow")
    padding = [[0, 0], *map(list, pads), [0, 0]]
    expected = tf.nn.conv2d_transpose(x, dense, [2, *out, 6], list(s), padding=padding).numpy()
    assert_close(compat.conv2d_transpose(x, w, [2, *out, 6], list(s), padding=padding), expected)
    ours = compat.conv2d_transpose(
        np.moveaxis(x, -1, 1), w, [2, 6, *out], list(s), data_format="NCHW", padding=[[0, 0], [0, 0], *map(list, pads)]
    )
    assert_close(np.moveaxis(ours, 1, -1), expected)


@pytest.mark.parametrize(
    "padding", ["SAME", "VALID", [[0, 0], [1, 2], [0, 1], [0, 0]]], ids=["SAME", "VALID", "explicit"]
)
def test_output_shape_accepted_exactly_where_tensorflow_accepts_it(padding, tf):
    """Every output height from 1 to 14: both accept it or both reject it (TF's 'doesn't match computed')."""
    x = np.ones((1, 4, 3, 1))
    w = np.ones((3, 2, 1, 1))
    width = compat.valid_output_sizes((3,), (2,), (2,), padding if isinstance(padding, str) else [(0, 1)])[0].start
    for height in range(1, 15):
        shape = [1, height, width, 1]
        try:
            expected = tf.nn.conv2d_transpose(x, w, shape, 2, padding=padding).numpy()
        except tf.errors.InvalidArgumentError as error:
            assert "doesn't match computed" in str(error)
            with pytest.raises(ValueError, match="doesn't match computed"):
                compat.conv2d_transpose(x, w, shape, 2, padding=padding)
        else:
            assert_close(compat.conv2d_transpose(x, w, shape, 2, padding=padding), expected)


# (change to a valid 2-d call, phrase of TensorFlow's message both must show)
ERRORS = [
    (dict(output_shape=[2, 8, 8, 3]), "must have the same batch size"),
    (dict(output_shape=[1, 8, 8, 4]), "input depth must be evenly divisible by filter depth"),
    (dict(filters=(3, 3, 3, 5)), "filter and out_backprop must have the same out_depth"),
    (dict(strides=[2, 2, 2, 1]), "does not yet support strides in the batch and depth dimensions"),
    (dict(strides=[2, 2, 2]), r"strides should be of length 1, 2 or 4"),
    (dict(padding="same"), "is not in the list of allowed values"),
    (dict(padding=[[0, 0], [-1, 1], [0, 1], [0, 0]]), "All elements of explicit_paddings must be nonnegative"),
    (dict(padding=[[1, 0], [1, 1], [0, 1], [0, 0]]), "Nonzero explicit padding in the batch or depth dimensions"),
    (dict(padding=[[1, 1], [0, 1]]), "When padding is a list, it must be of size 4"),
    (dict(padding=[1, 1, 1, 1]), "each element of `padding` must be a list/tuple of size 2"),
    (dict(dilations=[1, 1, 1, 2]), "does not yet support dilations in the batch and depth dimensions"),
    (dict(data_format="NWC"), "is not in the list of allowed values"),
]


@pytest.mark.parametrize("change, phrase", ERRORS, ids=[e[1][:40] for e in ERRORS])
def test_rejects_what_tensorflow_rejects(change, phrase, tf):
    args = dict(
        filters=(3, 3, 3, 2), output_shape=[1, 8, 8, 3], strides=2, padding="SAME", data_format="NHWC", dilations=None
    )
    args.update(change)
    x = np.ones((1, 4, 4, 2))
    w = np.ones(args.pop("filters"))
    with pytest.raises(Exception, match=phrase):
        tf.nn.conv2d_transpose(x, w, **args)
    with pytest.raises(ValueError, match=phrase):
        compat.conv2d_transpose(x, w, **args)


def test_rank_checks_match_tensorflow(tf):
    x = np.ones((1, 4, 2))
    with pytest.raises(ValueError, match="`output_shape` must be of length 3, 4 or 5"):
        tf.nn.conv_transpose(x, np.ones((3, 5, 2)), [1, 4, 4, 4, 5, 5], 2)
    with pytest.raises(ValueError, match="`output_shape` must be of length 3, 4 or 5"):
        compat.conv_transpose(x, np.ones((3, 5, 2)), [1, 4, 4, 4, 5, 5], 2)
    with pytest.raises(TypeError, match="Expected string for argument 'padding'"):
        tf.nn.conv1d_transpose(x, np.ones((3, 5, 2)), [1, 8, 5], 2, padding=[[0, 0], [1, 1], [0, 0]])
    with pytest.raises(TypeError, match="Expected string for argument 'padding'"):
        compat.conv1d_transpose(x, np.ones((3, 5, 2)), [1, 8, 5], 2, padding=[[0, 0], [1, 1], [0, 0]])
    with pytest.raises(ValueError, match="`data_format` must be 'NWC' or 'NCW'"):
        tf.nn.conv1d_transpose(x, np.ones((3, 5, 2)), [1, 8, 5], 2, data_format="NHWC")
    with pytest.raises(ValueError, match="`data_format` must be 'NWC' or 'NCW'"):
        compat.conv1d_transpose(x, np.ones((3, 5, 2)), [1, 8, 5], 2, data_format="NHWC")


def test_spatial_only_output_shape_is_accepted_by_conv2d_transpose(tf):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2))
    w = np.random.default_rng(1).standard_normal((3, 3, 5, 2))
    expected = tf.nn.conv2d_transpose(x, w, [6, 8], 2, padding="SAME").numpy()
    assert_close(compat.conv2d_transpose(x, w, [6, 8], 2, padding="SAME"), expected)


REFERENCE_KERNEL_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
results = []
for case in json.loads(sys.stdin.read()):
    x, w = np.array(case["x"], "float32").reshape(case["x_shape"]), np.array(case["w"], "float32")
    try:
        y = tf.nn.conv2d_transpose(x, w, case["output_shape"], case["strides"], padding=case["padding"])
        results.append(dict(shape=list(y.shape), values=np.asarray(y).ravel().tolist()))
    except tf.errors.InvalidArgumentError as error:
        results.append(dict(error=str(error).splitlines()[0][-300:]))
print(json.dumps(results))
"""


def test_empty_input_takes_the_output_shapes_tensorflows_reference_kernel_takes():
    """TensorFlow's "degenerate" case: an input with an empty height gives zeros of any output height the forward
    convolution truncates back to 0. Run on TensorFlow's own CPU kernels (TF_ENABLE_ONEDNN_OPTS=0, in a
    subprocess: the flag is read at import) -- its oneDNN kernels skip the check for an empty input."""
    oracle("tensorflow")
    rng = np.random.default_rng(3)
    cases = []
    for k, s, padding in [
        (3, 2, "VALID"),
        (1, 2, "VALID"),
        (5, 1, "VALID"),
        (2, 3, "VALID"),
        (3, 2, "SAME"),
        (4, 3, "SAME"),
        (3, 2, [[0, 0], [1, 1], [0, 0], [0, 0]]),
        (3, 2, [[0, 0], [0, 1], [0, 0], [0, 0]]),
        (4, 1, [[0, 0], [0, 2], [0, 0], [0, 0]]),
    ]:
        width = compat.valid_output_sizes((3,), (k,), (s,), "VALID")[0].start  # the width axis: not empty
        w = rng.standard_normal((k, k, 2, 3)).astype(np.float32)
        pad = padding if isinstance(padding, str) else [[0, 0], padding[1], [0, 0], [0, 0]]
        for height in range(0, 7):
            cases.append(
                dict(
                    x=[], x_shape=[1, 0, 3, 3], w=w.tolist(), output_shape=[1, height, width, 2], strides=s, padding=pad
                )
            )
    outputs = run_json_script(
        REFERENCE_KERNEL_SCRIPT, cases, TF_ENABLE_ONEDNN_OPTS="0", TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""
    )
    accepted = 0
    for case, expected in zip(cases, outputs):
        x = np.zeros(case["x_shape"], np.float32)
        w = np.array(case["w"], np.float32)
        call = dict(padding=case["padding"])
        if "error" in expected:
            assert "doesn't match computed" in expected["error"] or "negative" in expected["error"], expected
            with pytest.raises(ValueError, match="doesn't match computed|would be negative"):
                compat.conv2d_transpose(x, w, case["output_shape"], case["strides"], **call)
        else:
            accepted += 1
            ours = compat.conv2d_transpose(x, w, case["output_shape"], case["strides"], **call)
            assert list(ours.shape) == expected["shape"]
            assert_close(ours.ravel(), np.array(expected["values"], np.float32))
    assert 9 < accepted < len(cases)  # both kinds occur
