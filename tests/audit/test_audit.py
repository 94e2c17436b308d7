"""``tconv.audit`` end to end on real models: read, what each layer computes, verify, and the three formats.

The models are built in PyTorch and Keras and written by their own exporters; ``verify=True``
runs every layer through every installed runtime (ONNX Runtime, PyTorch, TensorFlow, Keras,
JAX), so the numbers the report shows are the frameworks' own.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from audit_models import dcgan_generator, export_onnx, hifigan_upsampler, keras_model, unet_decoder
from helpers import oracle

import tconv.audit
from tconv.audit import EXIT_AT_RISK, EXIT_OK

RUNTIMES = ("onnxruntime", "torch", "tensorflow", "keras", "jax")


def _verified_everywhere(report):
    for audit in report.layers:
        names = " ".join(audit.verification)
        for runtime in RUNTIMES:
            assert runtime in names, (audit.layer.name, audit.verification)
        for name, value in audit.verification.items():
            assert isinstance(value, float) and value <= audit.tolerance, (audit.layer.name, name, value)


def test_a_dcgan_generator_in_pytorch_and_as_exported_onnx(torch, onnx, ort, tf, keras, jax, tmp_path):
    module = dcgan_generator(torch)
    z = torch.randn(1, 8, 1, 1)
    from_module = tconv.audit.torch(module, z, verify=True)
    path = export_onnx(torch, module, (z,), tmp_path / "dcgan.onnx")
    from_file = tconv.audit.audit(path, verify=True)
    assert [a.layer.name for a in from_module.layers] == ["0", "3", "6"]
    assert len(from_file.layers) == 3
    for a, b in zip(from_module.layers, from_file.layers):
        assert a.spec.crop == b.spec.crop and a.spec.kernel_size == b.spec.kernel_size
        assert a.output_size == b.output_size
        assert np.array_equal(a.weight_in_torch_layout(), b.weight_in_torch_layout())
    assert [a.output_size for a in from_file.layers] == [(4, 4), (8, 8), (16, 16)]
    assert [a.checkerboard.overlap.verdict for a in from_file.layers] == ["even", "even", "even"]
    _verified_everywhere(from_module)
    _verified_everywhere(from_file)
    assert from_file.exit_code == EXIT_OK


def test_a_unet_decoder_with_output_size_groups_and_dilation(torch, tf, keras, jax, ort, onnx):
    module = unet_decoder(torch)
    report = tconv.audit.torch(module, (torch.randn(1, 8, 5, 5), torch.randn(1, 4, 9, 9)), verify=True)
    up1, up2, head = report.layers
    assert up1.layer.params["output_size"] == (9, 9) and up1.output_size == (9, 9)
    assert up2.spec.groups == 2 and up2.output_size == (18, 18)
    assert head.spec.dilation == (2, 2)
    assert "keras" in up2.translations and "Ungroup" not in str(up2.translations["keras"])
    _verified_everywhere(report)
    assert report.exit_code == EXIT_AT_RISK  # output_size: torch.onnx.export bakes it; nobuco refuses it


def test_a_hifigan_upsampler_through_the_dynamo_exporter(torch, onnx, ort, tf, keras, jax, tmp_path):
    module = hifigan_upsampler(torch)
    x = torch.randn(1, 8, 6)
    path = export_onnx(torch, module, (x,), tmp_path / "hifigan.onnx", dynamo=True)
    report = tconv.audit.audit(path, verify=True)
    assert [a.output_size for a in report.layers] == [(48,), (96,), (96,)]
    assert [a.spec.crop for a in report.layers] == [((4, 4),), ((1, 1),), ((2, 2),)]
    _verified_everywhere(report)


def test_a_keras_file_with_a_nested_model(keras, tf, torch, jax, ort, onnx, tmp_path):
    inputs = keras.Input((5, 5, 2))
    first = keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", name="up1")
    inner = keras.Sequential(
        [keras.Input((10, 10, 3)), keras.layers.Conv2DTranspose(2, 4, strides=2, padding="same", name="up2")],
        name="block",
    )
    model = keras.Model(inputs, inner(first(inputs)))
    path = tmp_path / "nested.keras"
    model.save(path)
    report = tconv.audit.audit(path, verify=True)
    assert [a.layer.name for a in report.layers] == ["up1", "block/up2"]
    for audit, layer in zip(report.layers, (first, inner.get_layer("up2"))):
        kernel, bias = layer.get_weights()
        assert np.array_equal(audit.layer.weight, kernel) and np.array_equal(audit.layer.bias, bias)
    assert [a.output_size for a in report.layers] == [(10, 10), (20, 20)]
    assert report.layers[0].spec.crop == ((0, 1), (0, 1))  # TensorFlow's SAME: the odd cell at the end
    assert report.layers[0].translations["torch"].post_crop == ((0, 1), (0, 1))
    _verified_everywhere(report)


def test_a_keras_layer_with_open_sizes_and_a_conv1d(keras, tmp_path):
    model = keras_model(
        keras, dict(filters=2, kernel_size=5, strides=3, padding="valid", output_padding=1), size=(None,)
    )
    path = tmp_path / "open.keras"
    model.save(path)
    (audit,) = tconv.audit.audit(path, targets=["tconv", "torch"]).layers
    assert audit.input_size is None and audit.output_size is None and not audit.layer.static
    assert audit.spec.crop == ((0, -1),)
    assert any("open" in note for note in audit.layer.notes)


def test_the_three_formats(torch, onnx, tmp_path):
    path = export_onnx(torch, dcgan_generator(torch), (torch.randn(1, 8, 1, 1),), tmp_path / "g.onnx")
    report = tconv.audit.audit(path, targets=["torch", "onnxruntime"])
    text = report.to_text()
    assert len([line for line in text.splitlines() if line.startswith("  ok ")]) == 3
    details = report.to_text(details=True)
    assert "torch:" in details and "F.conv_transpose2d" not in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["exit_code"] == EXIT_OK and len(data["layers"]) == 3
    assert data["layers"][1]["window"]["crop"] == [[1, 1], [1, 1]]
    assert data["layers"][1]["translations"]["torch"]["exact"] is True
    page = report.to_html()
    oracle("matplotlib")
    assert page.count("<h2>") == 3 and page.count("data:image/png;base64,") == 3
    assert not re.search(r"<script|<link|https?://", page)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match=r"\.onnx or a \.keras file"):
        tconv.audit.audit(tmp_path / "model.h5")
    with pytest.raises(ValueError, match="does not exist"):
        tconv.audit.audit(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.keras"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="not a Keras 3 .keras file"):
        tconv.audit.audit(bad)
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="is not an ONNX model"):
        tconv.audit.audit(garbage)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")  # reads as an empty ModelProto: refused, not a model without layers
    with pytest.raises(ValueError, match="is not an ONNX model .no IR version or no graph"):
        tconv.audit.audit(empty)
    partial = tmp_path / "partial.keras"
    import zipfile

    with zipfile.ZipFile(partial, "w") as archive:  # a layer whose config lacks its arguments
        archive.writestr(
            "config.json",
            json.dumps(
                {
                    "class_name": "Functional",
                    "config": {"layers": [{"class_name": "Conv2DTranspose", "config": {"name": "up"}}]},
                }
            ),
        )
    with pytest.raises(ValueError, match="not a Keras 3 model this reader understands"):
        tconv.audit.audit(partial)
    with pytest.raises(ValueError, match="targets must be among"):
        tconv.audit.audit(bad, targets=["tvm"])
    with pytest.raises(ValueError, match="targets must name at least one of"):
        tconv.audit.audit(bad, targets=[])
    with pytest.raises(ValueError, match="versions names tool 'tvm'"):
        tconv.audit.audit(bad, versions={"tvm": "1.0"})
    with pytest.raises(ValueError, match="release numbers"):
        tconv.audit.audit(bad, versions={"onnxruntime": "newest"})


def test_input_shape_fixes_an_onnx_model_with_open_sizes(onnx, torch, tmp_path):
    module = torch.nn.Sequential(torch.nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1))
    path = tmp_path / "open.onnx"
    with torch.no_grad():
        torch.onnx.export(
            module,
            (torch.randn(1, 2, 4, 4),),
            str(path),
            input_names=["x"],
            dynamic_axes={"x": {2: "h", 3: "w"}},
            dynamo=False,
        )
    assert tconv.audit.audit(path).layers[0].input_size is None
    assert tconv.audit.audit(path, input_shape=(1, 2, 6, 5)).layers[0].output_size == (11, 9)
    assert tconv.audit.audit(path, input_shape={"x": (1, 2, 6, 5)}).layers[0].output_size == (11, 9)
    with pytest.raises(ValueError, match="the model's inputs are"):
        tconv.audit.audit(path, input_shape={"y": (1, 2, 6, 5)})
    with pytest.raises(ValueError, match="must have 4 entries"):
        tconv.audit.audit(path, input_shape=(2, 6, 5))
