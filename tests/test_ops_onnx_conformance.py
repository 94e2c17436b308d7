"""The ONNX backend conformance cases for ConvTranspose, run through tconv's native API."""

from __future__ import annotations

import pytest
from helpers import assert_close, oracle

import tconv


def _cases():
    """The shipped cases; ``[None]`` without onnx, so the test runs and reports the missing oracle."""
    try:
        import onnx.backend.test.case.node as node
    except ImportError:
        return [None]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return node.collect_testcases("ConvTranspose")


def native_arguments(attributes: dict, x_shape, w_shape) -> dict:
    """Translate ONNX ConvTranspose attributes (spec semantics) into tconv's window model.

    ONNX's output is a window of the full output ``full + output_padding``: pads
    crop ``pads[begin]``/``pads[end]``; with ``output_shape`` the total crop
    ``full + op - output_shape`` (clamped at 0, as ONNX Runtime does) is split with
    the larger half first (NOTSET) or last (SAME_UPPER).
    """
    nd = len(w_shape) - 2
    k = attributes.get("kernel_shape", list(w_shape[2:]))
    s = attributes.get("strides", [1] * nd)
    d = attributes.get("dilations", [1] * nd)
    op = attributes.get("output_padding", [0] * nd)
    i = x_shape[2:]
    full = [(ii - 1) * ss + dd * (kk - 1) + 1 for ii, ss, dd, kk in zip(i, s, d, k)]
    auto_pad = attributes.get("auto_pad", b"NOTSET").decode()
    kwargs = dict(stride=s, dilation=d, groups=attributes.get("group", 1))
    if auto_pad == "SAME_UPPER" and "output_shape" not in attributes:
        return dict(kwargs, padding="same")
    if "output_shape" in attributes:
        out = attributes["output_shape"]
        totals = [max(f + a - o, 0) for f, a, o in zip(full, op, out)]
        begins = [t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in totals]
    else:
        pads = attributes.get("pads", [0] * 2 * nd)
        begins = pads[:nd]
        out = [f + a - pb - pe for f, a, pb, pe in zip(full, op, pads[:nd], pads[nd:])]
    # the window [begin, begin + out) of the full output, as (begin, end) crop pairs
    return dict(kwargs, padding=tuple((b, f - b - o) for b, f, o in zip(begins, full, out)))


@pytest.mark.parametrize("case", _cases(), ids=lambda c: getattr(c, "name", "onnx-missing"))
@pytest.mark.parametrize("algorithm", tconv.algorithms())
def test_onnx_backend_case(case, algorithm):
    onnx = oracle("onnx")
    node = case.model.graph.node[0]
    assert node.op_type == "ConvTranspose"
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    ((inputs, outputs),) = case.data_sets
    x, w = inputs[:2]
    b = inputs[2] if len(inputs) > 2 else None
    y = tconv.conv_transpose(x, w, b, **native_arguments(attributes, x.shape, w.shape), algorithm=algorithm)
    assert_close(y, outputs[0], dtype=outputs[0].dtype)


def test_all_onnx_cases_collected():
    """The onnx package ships the 11 ConvTranspose node cases; none may be silently missing."""
    oracle("onnx")
    names = {c.name for c in _cases()}
    assert {
        "test_convtranspose",
        "test_convtranspose_1d",
        "test_convtranspose_3d",
        "test_convtranspose_pads",
        "test_convtranspose_output_shape",
        "test_convtranspose_autopad_same",
        "test_convtranspose_dilations",
        "test_convtranspose_group_2",
        "test_convtranspose_group_2_image_3",
        "test_convtranspose_pad",
        "test_convtranspose_kernel_shape",
    } <= names
