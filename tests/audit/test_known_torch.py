"""PyTorch's ONNX exporters (tconv.audit.known.torch): ``output_size`` becomes a static ``output_padding``.

A U-Net decoder sizes its up-sampling to the skip connection; exported at one size with
open spatial axes, the ONNX model at another size (where the skip connection needs another
``output_padding``) computes another size than the module. Both exporters: the TorchScript
one (``dynamo=False``) and torch 2.13's default (``dynamo=True``, which needs onnxscript).
"""

from __future__ import annotations

import pytest
from audit_models import export_onnx, run_onnx, unet_decoder
from helpers import assert_close

import tconv.audit


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
def test_output_size_is_baked_at_export(dynamo, torch, onnx, ort, tmp_path):
    module = unet_decoder(torch)
    x, skip = torch.randn(1, 8, 5, 5), torch.randn(1, 4, 10, 10)  # output_size 10x10: output_padding 1
    report = tconv.audit.torch(module, (x, skip), targets=["torch"])
    up1 = next(a for a in report.layers if a.layer.name == "up1")
    assert [f.issue.key for f in up1.findings] == ["torch-onnx-output-size"]
    assert "output_padding=[1, 1]" in up1.findings[0].detail
    assert [a.layer.name for a in report.layers if a.findings] == ["up1"]
    if dynamo:
        dims = torch.export.Dim("h", min=2, max=64)
        dynamic = ({2: dims, 3: dims}, {2: 2 * dims, 3: 2 * dims})
    else:
        dynamic = {"x": {2: "h", 3: "w"}, "skip": {2: "H", 3: "W"}}
    path = tmp_path / "unet.onnx"
    if dynamo:
        export_onnx(torch, module, (x, skip), path, dynamo=True, dynamic=dynamic)
    else:
        with torch.no_grad():
            torch.onnx.export(
                module, (x, skip), str(path), input_names=["x", "skip"], dynamic_axes=dynamic, dynamo=False
            )
    with torch.no_grad():
        assert_close(run_onnx(ort, path, [x.numpy(), skip.numpy()]), module(x, skip).numpy(), rtol=1e-4, atol=1e-4)
        # at the traced size, identical; at 9x9 the skip connection needs output_padding 0
        x2, skip2 = torch.randn(1, 8, 5, 5), torch.randn(1, 4, 9, 9)
        expected = module(x2, skip2)
    try:
        got = run_onnx(ort, path, [x2.numpy(), skip2.numpy()])
    except Exception as error:  # the baked size no longer matches the skip connection: Concat refuses
        assert "Concat" in str(error) or "dimension" in str(error).lower(), error
    else:
        assert got.shape != tuple(expected.shape)
    nodes = [n for n in __import__("onnx").load(str(path)).graph.node if n.op_type == "ConvTranspose"]
    assert len(nodes) == 3 and not any(a.name == "output_shape" for n in nodes for a in n.attribute)
