"""Keras 3's own backends: where one of them computes something other than Keras's window.

Keras defines one window per layer (:func:`tconv.frameworks.keras.window`, the rule of
``keras/src/backend/common/backend_utils.py``). Two of its backends depart from it:

- **torch, before 3.15.0**: the backend called ``F.conv_transpose{n}d`` with the
  ``(padding, output_padding)`` of :func:`legacy_torch_arguments` (Keras's
  ``compute_conv_transpose_padding_args_for_torch``). PyTorch crops ``padding`` at both
  ends, so a window whose crops differ by more than ``output_padding`` can express (every
  ``"same"`` layer with stride > 1 and an odd ``k_eff - stride``) came out shifted by one
  cell. keras PR #22876 (first released in 3.15.0) runs the full output and crops it
  unevenly instead.
- **tensorflow**: ``"same"`` with an even ``k_eff`` and ``output_padding=0`` gives
  ``(i - 1)*s`` cells, outside TensorFlow's SAME range ``[(i - 1)*s + 1, i*s]``:
  ``tf.nn.conv_transpose`` raises, where the JAX and torch backends compute the window.
"""

from __future__ import annotations

from ...frameworks import torch as torch_rules
from . import KnownIssue, LayerFacts

__all__ = ["ENTRIES", "legacy_torch_arguments"]


def legacy_torch_arguments(
    kernel_size: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[int, int]:
    """The ``(padding, output_padding)`` Keras's torch backend passed to PyTorch before 3.15.0, for one axis.

    Keras's ``_convert_conv_transpose_padding_args_from_keras_to_torch`` with the clamp of
    ``output_padding`` to ``stride - 1`` (keras PR #21852).

    Examples
    --------
    >>> legacy_torch_arguments(3, 2, 1, "same", None)    # PyTorch crops (1, 0): Keras's window is (0, 1)
    (1, 1)
    >>> legacy_torch_arguments(4, 2, 1, "same", None)    # (1, 1): exact
    (1, 0)
    """
    k = (kernel_size - 1) * dilation + 1
    if padding == "valid":
        a = max(k, stride) - k if output_padding is None else output_padding
        p, op = 0, a
    else:
        a = stride - k % 2 if output_padding is None else output_padding
        p = max(-((k % 2 - k + a) // 2), 0)
        op = 2 * p + k % 2 - k + a
    return p, min(op, max(stride - 1, 0))


def _keras_arguments(facts: LayerFacts) -> tuple[str, list[int | None]]:
    padding = str(facts.params.get("padding", "valid")).lower()
    a = facts.params.get("output_padding")
    ops: list[int | None] = (
        [None] * facts.ndim if a is None else list(a if isinstance(a, (list, tuple)) else [a] * facts.ndim)
    )
    return padding, ops


def _torch_shift(facts: LayerFacts) -> tuple[str, str] | None:
    spec = facts.spec
    padding, ops = _keras_arguments(facts)
    pairs = [
        legacy_torch_arguments(k, s, d, padding, a)
        for k, s, d, a in zip(spec.kernel_size, spec.stride, spec.dilation, ops)
    ]
    p, op = [q for q, _ in pairs], [a for _, a in pairs]
    size = facts.input_size or (4,) * spec.ndim
    legacy = torch_rules.window(size, spec.kernel_size, spec.stride, p, op, spec.dilation)
    if legacy.padding_pairs == spec.crop:
        return None
    return (
        f"the torch backend ran F.conv_transpose{spec.ndim}d(padding={tuple(p)}, output_padding={tuple(op)}), which "
        f"crops {legacy.padding_pairs} of the full output; Keras's window crops {spec.crop}",
        "use keras >= 3.15.0, or another backend",
    )


def _tensorflow_same(facts: LayerFacts) -> tuple[str, str] | None:
    padding, ops = _keras_arguments(facts)
    if padding != "same":
        return None
    even = [axis for axis, (ke, a) in enumerate(zip(facts.spec.effective_kernel_size, ops)) if a == 0 and ke % 2 == 0]
    if not even:
        return None
    return (
        f"'same' with output_padding=0 and an even k_eff in axis {even}: (i - 1)*s cells, outside TensorFlow's "
        "SAME range; the TensorFlow backend raises, the JAX and torch backends compute the window",
        "use output_padding=None (i*s cells) or 'valid'; or run the JAX/torch backend",
    )


ENTRIES = [
    KnownIssue(
        key="keras-torch-backend-shift",
        tool="keras",
        reads="keras",
        condition="torch backend; a window PyTorch's symmetric padding plus output_padding cannot cut (every "
        "'same' layer with stride > 1 and an odd k_eff - stride)",
        effect="differs",
        what="the torch backend's output is shifted by one cell against the other backends (right shape)",
        source="keras-team/keras#20949, keras-team/keras-core#774; fixed by PR #22876 (first in 3.15.0)",
        evidence="observed: tests/audit/test_known_keras.py::test_the_legacy_torch_mapping (Keras's own "
        "compute_conv_transpose_padding_args_for_torch, which the backend called before 3.15.0, run with "
        "PyTorch); the version bound from Keras's release history",
        rule=_torch_shift,
        before=(3, 15, 0),
    ),
    KnownIssue(
        key="keras-tensorflow-same-even-kernel",
        tool="keras",
        reads="keras",
        condition="TensorFlow backend; padding='same', output_padding=0 and an even k_eff",
        effect="fails",
        what="tf.nn.conv_transpose refuses the output size (i - 1)*s that Keras computes for it",
        source="tconv.frameworks.keras (Keras's compute_conv_transpose_output_shape vs TensorFlow's SAME range)",
        evidence="observed: tests/audit/test_known_keras.py::test_same_with_an_even_kernel_and_zero_output_padding",
        rule=_tensorflow_same,
    ),
]
