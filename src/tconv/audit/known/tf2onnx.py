"""tf2onnx (TensorFlow/Keras -> ONNX): the ``ConvTranspose`` node it writes for ``conv*_transpose``.

Its converter (``tf2onnx/onnx_opset/nn.py``, ``ConvTranspose.version_1``, 1.17.0) reads
TensorFlow's ``output_shape``:

- constant output shape and known input sizes (a Keras model whose ``Input`` fixes the
  spatial sizes): explicit ``pads``, the total ``t = s*(i - 1) + k_eff - o`` split as
  ``int(t/2)`` at the start and the rest at the end. TensorFlow's windows with ``t >= 0``
  come out exact; an output larger than the full output (Keras ``"valid"`` with
  ``output_padding``, any layer with ``k_eff < stride``) gives **negative pads**, which
  the ONNX spec forbids and ONNX Runtime refuses at load time (:func:`static_crop`);
- constant output shape, unknown input sizes: the ``output_shape`` attribute, which the
  spec (and ONNX Runtime) crop with the odd cell at the *start* where TensorFlow crops it
  at the end (tf2onnx#765, #1501);
- dynamic output shape (a Keras model with ``None`` spatial sizes): the full output, then
  Slice and Pad nodes computed at run time -- exact, except that the cells the Pad appends
  (an output larger than the full output) hold 0 where Keras adds the bias to them too.
"""

from __future__ import annotations

from . import KnownIssue, LayerFacts
from .onnx import window

__all__ = ["ENTRIES", "static_crop"]


def static_crop(crop: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """The crop tf2onnx's explicit ``pads`` cut for a layer whose TensorFlow window crops ``crop``.

    The total ``t = begin + end`` split as ``int(t/2)`` (truncated toward zero) and ``t - int(t/2)``.

    Examples
    --------
    >>> static_crop(((0, 1), (1, 1)))     # TensorFlow's SAME windows come out exact
    ((0, 1), (1, 1))
    >>> static_crop(((0, -1),))          # Keras "valid" with output_padding=1: a negative pad
    ((0, -1),)
    >>> static_crop(((0, -2),))
    ((-1, -1),)
    """
    return tuple((int((b + e) / 2), b + e - int((b + e) / 2)) for b, e in crop)


def _keras_static(facts: LayerFacts) -> tuple[str, str] | None:
    if not facts.static:
        return None
    meant = facts.spec.crop
    written = static_crop(meant)
    if min(v for pair in written for v in pair) < 0:
        pads = [b for b, _ in written] + [e for _, e in written]
        return (
            f"the output extends past the full output (crop {meant}): tf2onnx writes pads={pads}, which the ONNX "
            "spec forbids; ONNX Runtime refuses to load the model (ShapeInferenceError: Attribute pads must not "
            "contain negative values)",
            "give the Keras model None spatial sizes before converting (tf2onnx then writes a full ConvTranspose "
            "plus Slice/Pad nodes, exact), or append the zero cells after a ConvTranspose with non-negative pads",
        )
    if written != meant:
        return (
            f"tf2onnx's pads crop {written}, the layer crops {meant}",
            "convert the model with None spatial sizes (Slice/Pad nodes, exact)",
        )
    return None


def _keras_open_bias(facts: LayerFacts) -> tuple[str, str] | None:
    if facts.static or not facts.params.get("use_bias", True):
        return None
    extended = [axis for axis, (b, e) in enumerate(facts.spec.crop) if b < 0 or e < 0]
    if not extended:
        return None
    return (
        f"the output extends past the full output in axis {extended} (crop {facts.spec.crop}): with open sizes "
        "tf2onnx runs the ConvTranspose with the bias and pads the extra cells with zeros, where Keras puts the "
        "bias there too",
        "add the bias after the Pad node (or keep the bias out of this layer and add it in a following layer)",
    )


def _tensorflow_crop(total: int) -> tuple[int, int]:
    """TensorFlow's window for an output ``total`` cells smaller than the full output (negative: larger)."""
    return (total // 2, total - total // 2) if total >= 0 else (0, total)


def _output_shape(facts: LayerFacts) -> tuple[str, str] | None:
    if facts.context.get("producer") != "tf2onnx" or "output_shape" not in facts.params or facts.input_size is None:
        return None
    spec = window(facts, "spec")
    meant = tuple(_tensorflow_crop(b + e) for b, e in spec.padding_pairs)
    if meant == spec.padding_pairs:
        return None
    try:
        ort = window(facts, "onnxruntime").padding_pairs
        runtime = "ONNX Runtime too" if ort == spec.padding_pairs else f"ONNX Runtime crops {ort}"
    except ValueError:
        runtime = "ONNX Runtime refuses it"
    pads = [max(b, 0) for b, _ in meant] + [max(e, 0) for _, e in meant]
    return (
        f"output_shape {list(facts.params['output_shape'])} written by tf2onnx for a TensorFlow op that crops "
        f"{meant}; the spec's NOTSET + output_shape crops {spec.padding_pairs} ({runtime}): a one-cell shift "
        "against the TensorFlow model",
        f"replace output_shape by pads={pads}" + (" and output_padding" if min(min(p) for p in meant) < 0 else ""),
    )


_SOURCE = "tf2onnx onnx_opset/nn.py (ConvTranspose.version_1)"

ENTRIES = [
    KnownIssue(
        key="tf2onnx-negative-pads",
        tool="tf2onnx",
        reads="keras",
        condition="a layer of a model with fixed spatial input sizes whose output extends past the full output "
        "('valid' with output_padding, or k_eff < stride)",
        effect="fails",
        what="tf2onnx writes negative pads; ONNX Runtime refuses to load the model",
        source=_SOURCE + "; onnx/tensorflow-onnx#1501",
        evidence="observed: tests/audit/test_known_tf2onnx.py::test_keras_models_through_tf2onnx",
        rule=_keras_static,
    ),
    KnownIssue(
        key="tf2onnx-open-size-bias",
        tool="tf2onnx",
        reads="keras",
        condition="a layer with a bias, of a model with open spatial sizes, whose output extends past the full "
        "output ('valid' with output_padding, or k_eff < stride)",
        effect="differs",
        what="the cells beyond the full output hold 0 instead of the bias",
        source=_SOURCE + " (the run-time Pad after ConvTranspose); found by this audit's tests",
        evidence="observed: tests/audit/test_known_tf2onnx.py::test_keras_models_through_tf2onnx",
        rule=_keras_open_bias,
    ),
    KnownIssue(
        key="tf2onnx-output-shape",
        tool="tf2onnx",
        reads="onnx",
        condition="a ConvTranspose with output_shape written by tf2onnx (producer_name) whose total crop is odd "
        "or negative",
        effect="differs",
        what="the spec (and ONNX Runtime) crop the odd cell of output_shape at the start, TensorFlow at the end",
        source=_SOURCE + "; onnx/tensorflow-onnx#765, #1501",
        evidence="observed: tests/audit/test_known_tf2onnx.py::test_output_shape_path",
        rule=_output_shape,
    ),
]
