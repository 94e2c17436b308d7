"""The documented disagreements between and inside frameworks, each shown side by side with tconv's answer.

Every test computes the frameworks' answers (the real frameworks) next to tconv's
and asserts which agree with which; docs/frameworks.md shows the same numbers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from framework_oracles import onnx_model, run_ort, run_reference
from helpers import assert_close

import tconv
from tconv.frameworks import jax as compat_jax
from tconv.frameworks import keras as compat_keras
from tconv.frameworks import onnx as compat_onnx
from tconv.frameworks import tensorflow as compat_tf

X = np.array([[[1.0, 2.0, 3.0]]], dtype=np.float32)  # (N, C, W)
W3 = np.array([[[1.0, 10.0, 100.0]]], dtype=np.float32)


def _both(onnx, ort, attrs, x=X, w=W3):
    model = onnx_model(onnx, x.ndim - 2, attrs, bias=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            reference = run_reference(onnx, model, x, w)
        except Exception as error:  # the reference implementation raises in some corner cases
            reference = error
    try:
        runtime = run_ort(ort, model, x, w)
    except Exception as error:
        runtime = error
    return reference, runtime


# --- ONNX: the specification (and its reference implementation) versus ONNX Runtime --------------------


def test_onnx_same_with_kernel_smaller_than_stride(onnx, ort):
    """SAME_* with k_eff + output_padding < stride: the spec keeps i*s (negative crop), ORT clamps it to 0."""
    w = np.array([[[10.0]]], dtype=np.float32)
    for auto_pad, spec_values in (("SAME_UPPER", [0, 10, 0, 20, 0, 30]), ("SAME_LOWER", [10, 0, 20, 0, 30, 0])):
        reference, runtime = _both(onnx, ort, dict(auto_pad=auto_pad, strides=[2]), w=w)
        spec = compat_onnx.conv_transpose(X, w, auto_pad=auto_pad, strides=[2])
        ours_ort = compat_onnx.conv_transpose(X, w, auto_pad=auto_pad, strides=[2], semantics="onnxruntime")
        assert_close(spec, reference)  # tconv "spec" == onnx.reference
        assert_close(ours_ort, runtime)  # tconv "onnxruntime" == ORT
        assert spec[0, 0].tolist() == spec_values  # i*s = 6 cells
        assert runtime[0, 0].tolist() == [10, 0, 20, 0, 30]  # (i-1)*s + k_eff = 5 cells


def test_onnx_output_shape_above_the_natural_size(onnx, ort):
    """SAME_UPPER with output_shape one above natural: the spec's floor(-1/2) = -1 starts one cell early
    (a zero first); ORT clamps the total crop to 0 and appends the zero at the end."""
    attrs = dict(auto_pad="SAME_UPPER", strides=[2], output_shape=[8])
    reference, runtime = _both(onnx, ort, attrs)
    spec = compat_onnx.conv_transpose(X, W3, **attrs)
    ours_ort = compat_onnx.conv_transpose(X, W3, **attrs, semantics="onnxruntime")
    assert_close(spec, reference)
    assert_close(ours_ort, runtime)
    assert spec[0, 0].tolist() == [0, 1, 10, 102, 20, 203, 30, 300]
    assert runtime[0, 0].tolist() == [1, 10, 102, 20, 203, 30, 300, 0]


def test_onnx_output_shape_below_the_natural_size(onnx, ort):
    """NOTSET with output_shape below natural: the reference raises; the spec's pads [ceil, floor] and ORT agree."""
    reference, runtime = _both(onnx, ort, dict(strides=[2], output_shape=[5]))
    assert isinstance(reference, Exception)
    ours = compat_onnx.conv_transpose(X, W3, strides=[2], output_shape=[5])
    assert_close(ours, runtime)
    assert_close(compat_onnx.conv_transpose(X, W3, strides=[2], output_shape=[5], semantics="onnxruntime"), runtime)
    assert runtime[0, 0].tolist() == [10, 102, 20, 203, 30]  # natural 7, crop 1 at each end


def test_onnx_same_with_output_padding_shape_inference_disagrees(onnx, ort):
    """SAME_UPPER with output_padding: shape inference claims i*s + op; the reference and ORT return i*s."""
    attrs = dict(auto_pad="SAME_UPPER", strides=[2], output_padding=[1])
    model = onnx_model(onnx, 1, attrs, bias=False)
    model.graph.input[0].type.tensor_type.shape.dim.add().dim_value = 1
    for size in (1, 3):
        model.graph.input[0].type.tensor_type.shape.dim.add().dim_value = size
    model.graph.input[1].type.tensor_type.shape.dim.add().dim_value = 1
    for size in (1, 3):
        model.graph.input[1].type.tensor_type.shape.dim.add().dim_value = size
    inferred = onnx.shape_inference.infer_shapes(model)
    dims = [d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]
    reference, runtime = _both(onnx, ort, attrs)
    ours = compat_onnx.conv_transpose(X, W3, **attrs)
    assert dims[-1] == 7  # shape inference: 3*2 + 1
    assert reference.shape[-1] == runtime.shape[-1] == ours.shape[-1] == 6
    assert_close(ours, runtime)
    assert_close(ours, reference)


def test_onnx_output_padding_below_dilation(onnx, ort, torch):
    """output_padding=2 with stride 1, dilation 3: the spec's "less than stride/dilation" (PyTorch's rule) allows it;
    the reference and ORT reject it. tconv's spec mode computes what PyTorch computes."""
    attrs = dict(strides=[1], dilations=[3], output_padding=[2])
    reference, runtime = _both(onnx, ort, attrs)
    assert isinstance(reference, Exception) and isinstance(runtime, Exception)
    ours = compat_onnx.conv_transpose(X, W3, **attrs)
    with torch.no_grad():
        pytorch = torch.nn.functional.conv_transpose1d(
            torch.from_numpy(X), torch.from_numpy(W3), output_padding=2, dilation=3
        )
    assert_close(ours, pytorch.numpy())
    with pytest.raises(ValueError, match="may be too large for stride"):
        compat_onnx.conv_transpose(X, W3, **attrs, semantics="onnxruntime")


def test_onnx_negative_pads(onnx, ort):
    """Negative pads: outside the spec ("greater than or equal to 0"), accepted by ORT and the reference as zeros."""
    reference, runtime = _both(onnx, ort, dict(strides=[2], pads=[-1, 0]))
    assert_close(compat_onnx.conv_transpose(X, W3, strides=[2], pads=[-1, 0], semantics="onnxruntime"), runtime)
    assert_close(runtime, reference)
    assert runtime[0, 0].tolist() == [0, 1, 10, 102, 20, 203, 30, 300]
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        compat_onnx.conv_transpose(X, W3, strides=[2], pads=[-1, 0])


def test_onnx_reference_groups_bug(onnx, ort):
    """The reference implementation is wrong for groups with several channels per group (or a bias); ORT and
    tconv agree."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 4, 3)).astype(np.float32)
    w = rng.standard_normal((4, 3, 2)).astype(np.float32)
    reference, runtime = _both(onnx, ort, dict(group=2, strides=[2]), x=x, w=w)
    assert isinstance(reference, Exception) or not np.allclose(reference, runtime)
    assert_close(compat_onnx.conv_transpose(x, w, group=2, strides=[2]), runtime)


# --- Keras: output_padding=None versus 0 under "same" ------------------------------------------------


def test_keras_output_padding_none_versus_zero(keras):
    """k=2, s=2, i=6: None gives 12, 0 gives 10 (Keras' own shape rule; the TF backend cannot run the second,
    the JAX backend computes it: tests/frameworks/test_keras.py). tconv follows the rule on both."""
    x = np.random.default_rng(0).standard_normal((1, 6, 1)).astype(np.float32)
    kernel = np.random.default_rng(1).standard_normal((2, 1, 1)).astype(np.float32)
    sizes = {}
    for output_padding in (None, 0):
        layer = keras.layers.Conv1DTranspose(
            1, 2, strides=2, padding="same", output_padding=output_padding, use_bias=False
        )
        sizes[output_padding] = (
            layer.compute_output_shape(x.shape)[1],
            compat_keras.Conv1DTranspose(1, 2, strides=2, padding="same", output_padding=output_padding)(
                x, kernel
            ).shape[1],
        )
    assert sizes == {None: (12, 12), 0: (10, 10)}
    # the None case runs on the TF backend and equals tconv
    layer = keras.layers.Conv1DTranspose(1, 2, strides=2, padding="same", use_bias=False)
    layer.build(x.shape)
    layer.set_weights([kernel])
    assert_close(
        compat_keras.Conv1DTranspose(1, 2, strides=2, padding="same", use_bias=False)(x, kernel), np.asarray(layer(x))
    )


# --- TensorFlow SAME is not PyTorch --------------------------------------------------------------------


def test_tensorflow_same_is_not_expressible_in_pytorch(tf, torch):
    """k=3, s=2 (T = k - s = 1 odd): PyTorch's nearest padding=1, output_padding=1 has the right shape and is
    shifted by one cell; padding=0 plus a crop of one cell at the end is TF's answer, and so is tconv's "same"."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 4, 4, 2))
    filters = rng.standard_normal((3, 3, 5, 2))
    expected = tf.nn.conv2d_transpose(x, filters, [1, 8, 8, 5], 2, padding="SAME").numpy()
    w = np.transpose(filters, (3, 2, 0, 1))  # (C_in, C_out, kH, kW)
    xt = torch.from_numpy(np.moveaxis(x, -1, 1).copy())
    with torch.no_grad():
        shifted = torch.nn.functional.conv_transpose2d(
            xt, torch.from_numpy(w.copy()), stride=2, padding=1, output_padding=1
        ).numpy()
        full = torch.nn.functional.conv_transpose2d(xt, torch.from_numpy(w.copy()), stride=2).numpy()
    expected_cf = np.moveaxis(expected, -1, 1)
    assert shifted.shape == expected_cf.shape and not np.allclose(shifted, expected_cf)
    assert_close(full[:, :, :8, :8], expected_cf)
    assert_close(tconv.conv_transpose(np.moveaxis(x, -1, 1), w, stride=2, padding="same"), expected_cf)
    plan = tconv.translate(
        {"output_shape": [1, 8, 8, 5], "strides": 2, "padding": "SAME"},
        "tensorflow",
        "torch",
        weight_shape=filters.shape,
        input_shape=x.shape,
    )
    assert plan.post_crop == ((0, 1), (0, 1)) and plan.arguments["padding"] == (0, 0)


def test_tensorflow_same_with_stride_one_and_even_kernel(tf, torch):
    """k=4, s=1: T=3 odd and output_padding < 1, so not even the shape is reachable with PyTorch's arguments."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 5, 1))
    filters = rng.standard_normal((4, 1, 1))
    expected = tf.nn.conv1d_transpose(x, filters, [1, 5, 1], 1, padding="SAME").numpy()
    reachable = {tconv.compat.torch.output_size(5, 4, 1, p) for p in range(3)}
    assert 5 not in reachable
    assert_close(compat_tf.conv1d_transpose(x, filters, [1, 5, 1], 1), expected)


# --- JAX: the kernel is not flipped by default -------------------------------------------------------


def test_jax_default_kernel_is_not_tensorflows(tf, lax):
    """The same kernel array: lax.conv_transpose correlates with it (no flip), TensorFlow scatters it;
    transpose_kernel=True (with the TF layout) gives TensorFlow's answer."""
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    kernel = np.array([1.0, 10.0, 100.0]).reshape(3, 1, 1)
    tensorflow = tf.nn.conv1d_transpose(x, kernel, [1, 7, 1], 2, padding="VALID").numpy()
    plain = np.asarray(lax.conv_transpose(x, kernel, (2,), "VALID"))
    flipped = np.asarray(lax.conv_transpose(x, kernel, (2,), "VALID", transpose_kernel=True))
    assert not np.allclose(plain, tensorflow)
    assert_close(flipped, tensorflow)
    assert_close(compat_jax.conv_transpose(x, kernel, (2,), "VALID"), plain)
    assert_close(compat_jax.conv_transpose(x, kernel, (2,), "VALID", transpose_kernel=True), tensorflow)


def test_jax_lowercase_same_is_a_different_window(lax):
    """With stride 1, "same" (lower case) is passed to conv_general_dilated as a forward SAME; "SAME" is
    conv_transpose's own: for an even kernel they are one cell apart."""
    x = np.arange(1.0, 6.0).reshape(1, 5, 1)
    kernel = np.array([1.0, 10.0, 100.0, 1000.0]).reshape(4, 1, 1)
    upper = np.asarray(lax.conv_transpose(x, kernel, (1,), "SAME"))
    lower = np.asarray(lax.conv_transpose(x, kernel, (1,), "same"))
    assert not np.allclose(upper, lower)
    assert_close(compat_jax.conv_transpose(x, kernel, (1,), "SAME"), upper)
    assert_close(compat_jax.conv_transpose(x, kernel, (1,), "same"), lower)
    assert compat_jax.conv_transpose_window((5,), (4,), (1,), "SAME").crop_begin == (1,)
    assert compat_jax.conv_transpose_window((5,), (4,), (1,), "same").crop_begin == (2,)
