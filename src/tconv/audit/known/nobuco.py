"""nobuco (PyTorch -> Keras): what its ``ConvTranspose1d``/``2d`` converters do, by reading 0.17.0.

Its converters (``nobuco/node_converters/convolution.py``) build a Keras
``Conv{1,2}DTranspose(padding="valid")`` with the weight permuted (groups expanded into a
block-diagonal kernel) and slice ``padding`` cells off both ends afterwards. So they
assert ``output_padding == 0`` and ``output_size is None``; Keras's ``"valid"`` gives
``(i - 1)*s + max(k_eff, s)`` cells (:func:`tconv.frameworks.keras.window`), longer than
PyTorch's when ``k_eff < stride``; and Keras refuses ``strides > 1`` with
``dilation_rate > 1``.

nobuco 0.17.0 imports ``keras.src.engine`` (Keras 2), so it cannot run next to Keras 3:
every entry here is documented only.
"""

from __future__ import annotations

from ...frameworks import keras as keras_rules
from . import KnownIssue, LayerFacts

__all__ = ["ENTRIES"]

_EVIDENCE = (
    "documented only: by reading nobuco 0.17.0 node_converters/convolution.py (it cannot be imported next to "
    "Keras 3: ModuleNotFoundError: No module named 'keras.src.engine')"
)


def _output_padding(facts: LayerFacts) -> tuple[str, str] | None:
    a = facts.params.get("output_padding", 0)
    if "output_size" in facts.params or not any(a if isinstance(a, (list, tuple)) else [a]):
        return None
    return (
        f"AssertionError: Output padding is not supported yet (output_padding={a})",
        "convert with output_padding=0 and append the extra cells in Keras (tconv translate gives the crop/pad step)",
    )


def _output_size(facts: LayerFacts) -> tuple[str, str] | None:
    if "output_size" not in facts.params:
        return None
    return (
        f"AssertionError: forward(output_size={facts.params['output_size']}) is asserted None",
        "call the module without output_size and append the cells it adds in Keras",
    )


def _long_output(facts: LayerFacts) -> tuple[str, str] | None:
    spec = facts.spec
    short = [axis for axis, (ke, s) in enumerate(zip(spec.effective_kernel_size, spec.stride)) if ke < s]
    if not short:
        return None
    size = facts.input_size or (4,) * spec.ndim
    valid = keras_rules.window(size, spec.kernel_size, spec.stride, "valid", None, spec.dilation)
    extra = [valid.output_size[a] - valid.full_size[a] for a in short]  # Keras's 'valid' past the full output
    return (
        f"k_eff < stride in axis {short}: Keras's 'valid' gives (i - 1)*s + max(k_eff, s) cells, so the converted "
        f"layer is {extra} cells longer (zeros plus bias at the end)",
        "crop the extra cells after the converted layer",
    )


def _dilation_stride(facts: LayerFacts) -> tuple[str, str] | None:
    spec = facts.spec
    if max(spec.stride) == 1 or max(spec.dilation) == 1:
        return None
    return (
        "ValueError: `strides > 1` not supported in conjunction with `dilation_rate > 1` (Keras)",
        "write the dilation into the kernel (tconv.weights.dilate_weight) and convert with dilation 1",
    )


_SOURCE = "nobuco node_converters/convolution.py (converter_ConvTranspose1d/2d)"

ENTRIES = [
    KnownIssue(
        key="nobuco-output-padding",
        tool="nobuco",
        reads="torch",
        condition="output_padding != 0",
        effect="fails",
        what="the converter asserts output_padding == 0",
        source=_SOURCE,
        evidence=_EVIDENCE,
        rule=_output_padding,
    ),
    KnownIssue(
        key="nobuco-output-size",
        tool="nobuco",
        reads="torch",
        condition="forward(input, output_size=...)",
        effect="fails",
        what="the converter asserts output_size is None",
        source=_SOURCE,
        evidence=_EVIDENCE,
        rule=_output_size,
    ),
    KnownIssue(
        key="nobuco-kernel-shorter-than-stride",
        tool="nobuco",
        reads="torch",
        condition="k_eff < stride in some axis",
        effect="differs",
        what="Keras's 'valid' output is (i - 1)*s + max(k_eff, s) cells: longer than PyTorch's",
        source=_SOURCE + "; Keras base_conv_transpose (valid output size)",
        evidence=_EVIDENCE,
        rule=_long_output,
    ),
    KnownIssue(
        key="nobuco-dilation-with-stride",
        tool="nobuco",
        reads="torch",
        condition="dilation > 1 and stride > 1",
        effect="fails",
        what="Keras's Conv*DTranspose refuses strides > 1 with dilation_rate > 1",
        source=_SOURCE + "; keras-team/keras#16086",
        evidence=_EVIDENCE,
        rule=_dilation_stride,
    ),
]
