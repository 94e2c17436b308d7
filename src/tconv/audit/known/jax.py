"""JAX's ``lax.conv_transpose``: what its explicit ``padding`` pairs mean.

By default (every version) the pairs are pads ``(lo, hi)`` of the zero-inserted input, so
the crop of the full output is ``(k_eff - 1 - lo, k_eff - 1 - hi)``
(:func:`tconv.frameworks.jax.conv_transpose_window`); a port that passes PyTorch's
``padding=p`` as ``[(p, p)]`` computes another window (jax#32267). JAX 0.9.0 added
``use_consistent_padding=True`` (PR #32268), under which the pairs are the forward
convolution's padding, i.e. the crop itself; older versions raise ``TypeError`` for it.
"""

from __future__ import annotations

from ...frameworks import jax as jax_rules
from ...frameworks._xla import crop_of_pads
from . import KnownIssue, LayerFacts

__all__ = ["ENTRIES"]


def _explicit_padding(facts: LayerFacts) -> tuple[str, str] | None:
    spec = facts.spec
    if all(b == e == 0 for b, e in spec.crop):
        return None
    size = facts.input_size or (4,) * spec.ndim
    pads = [crop_of_pads(ke, c) for ke, c in zip(spec.effective_kernel_size, spec.crop)]
    try:
        naive = jax_rules.conv_transpose_window(size, spec.kernel_size, spec.stride, list(spec.crop), spec.dilation)
    except ValueError as error:  # the pairs cut more than the dilated input holds
        cut = f"JAX refuses it ({error})"
    else:
        if naive.padding_pairs == spec.crop:
            return None  # k_eff - 1 - crop == crop: both readings agree
        cut = f"it crops {naive.padding_pairs}"
    return (
        f"padding={list(spec.crop)} in lax.conv_transpose pads the dilated input: {cut}, not this layer's "
        f"crop {spec.crop}",
        f"padding={pads} with transpose_kernel=True (every version), or padding={list(spec.crop)} with "
        "use_consistent_padding=True (jax >= 0.9.0)",
    )


ENTRIES = [
    KnownIssue(
        key="jax-explicit-padding",
        tool="jax",
        reads="*",
        condition="a layer that crops its full output, ported to lax.conv_transpose with explicit padding pairs",
        effect="caution",
        what="the pairs pad the zero-inserted input unless use_consistent_padding=True (jax >= 0.9.0, PR #32268); "
        "PyTorch's padding means the crop",
        source="jax-ml/jax#32267, PR #32268 (first in jax 0.9.0); flax#4593",
        evidence="observed: tests/audit/test_known_jax.py::test_explicit_padding_pairs",
        rule=_explicit_padding,
    ),
]
