"""The onnx2torch table (tconv.audit.known.onnx2torch) against the real onnx2torch.

Every ONNX case (the one-node table, opset 18 and 22, and models exported by
``torch.onnx.export``) is converted with onnx2torch and run: an entry that says
``fails`` must be a raise, ``differs`` an output other than the spec's, and no entry
must mean the converted module computes exactly the spec's output.
"""

from __future__ import annotations

import numpy as np
import pytest
from audit_models import ONNX_CASES, dcgan_generator, export_onnx, hifigan_upsampler, onnx2torch, onnx_case
from helpers import assert_close

import tconv.audit
from tconv.frameworks import onnx as onnx_rules


def _spec(x, w, b, attributes):
    group = attributes.get("group", 1)
    rest = {k: v for k, v in attributes.items() if k != "group"}
    return onnx_rules.conv_transpose(
        x.astype(np.float64), w.astype(np.float64), b.astype(np.float64), group=group, **rest
    )


def _converted(torch, path, x):
    """The output of onnx2torch's module, or the exception it raises."""
    converter = onnx2torch()
    try:
        module = converter.convert(str(path)).eval()
        with torch.no_grad():
            return module(torch.from_numpy(x)).numpy()
    except Exception as error:
        return error


CASES = [(name, 18) for name in sorted(ONNX_CASES)] + [("pads_symmetric_output_padding", 22), ("same_upper_odd", 22)]


@pytest.mark.parametrize("name, opset", CASES, ids=[f"{n}-opset{o}" for n, o in CASES])
def test_every_onnx2torch_entry(name, opset, onnx, torch, tmp_path):
    path, x, w, b = onnx_case(onnx, tmp_path / f"{name}.onnx", name, opset=opset)
    (layer,) = tconv.audit.audit(path, targets=["onnx2torch"]).layers
    effects = {f.issue.effect for f in layer.findings}
    y = _converted(torch, path, x)
    if "fails" in effects:
        assert isinstance(y, NotImplementedError), (name, y)
        message = str(y).split("(")[0].strip().rstrip(".")  # onnx2torch's own words, before its details
        assert any(message in f.detail for f in layer.findings if f.issue.effect == "fails"), (str(y), layer.findings)
        return
    assert not isinstance(y, Exception), (name, y)
    expected = _spec(x, w, b, ONNX_CASES[name]["attributes"])
    differs = y.shape != expected.shape or not np.allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert differs == ("differs" in effects), (name, y.shape, expected.shape)


@pytest.mark.parametrize("build", [dcgan_generator, hifigan_upsampler])
def test_models_exported_by_pytorch_convert_exactly(build, onnx, torch, ort, tmp_path):
    module = build(torch)
    x = torch.randn(1, 8, 1, 1) if build is dcgan_generator else torch.randn(1, 8, 5)
    # opset 17: onnx2torch 1.5.15 has no converter for Identity-19, which the exporter's default opset 20 writes
    path = export_onnx(torch, module, (x,), tmp_path / "m.onnx", opset=17)
    report = tconv.audit.audit(path, targets=["onnx2torch"])
    assert report.layers and not report.at_risk
    y = _converted(torch, path, x.numpy())
    with torch.no_grad():
        assert_close(y, module(x).numpy(), rtol=1e-5, atol=1e-5)
