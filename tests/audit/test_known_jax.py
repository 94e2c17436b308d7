"""JAX's table (tconv.audit.known.jax): what ``lax.conv_transpose``'s explicit padding pairs mean, observed."""

from __future__ import annotations

import numpy as np
import pytest
from audit_models import hifigan_upsampler
from helpers import assert_close

import tconv.audit


def test_explicit_padding_pairs(torch, jax, lax):
    module = hifigan_upsampler(torch)
    x = torch.randn(1, 8, 5)
    report = tconv.audit.torch(module, x, targets=["jax"])
    cautions = {a.layer.name: a.findings for a in report.layers}
    assert not report.at_risk  # a caution is never a risk
    for name in ("0", "2"):
        (finding,) = cautions[name]
        assert finding.issue.key == "jax-explicit-padding" and finding.issue.effect == "caution"
    layer = module[0]  # kernel 16, stride 8, padding 4: the crop is (4, 4)
    with torch.no_grad():
        x0 = torch.randn(1, 8, 5)
        expected = np.moveaxis(layer(x0).numpy(), 1, -1)
    lhs = jax.numpy.asarray(np.moveaxis(x0.numpy(), 1, -1))
    rhs = jax.numpy.asarray(np.transpose(layer.weight.detach().numpy(), (2, 1, 0)))  # (k, C_out, C_in)
    bias = layer.bias.detach().numpy()
    naive = np.asarray(lax.conv_transpose(lhs, rhs, (8,), [(4, 4)], transpose_kernel=True)) + bias
    consistent = lax.conv_transpose(lhs, rhs, (8,), [(4, 4)], transpose_kernel=True, use_consistent_padding=True)
    assert naive.shape != expected.shape  # the pairs pad the dilated input: another window
    assert_close(np.asarray(consistent) + bias, expected, rtol=1e-4, atol=1e-4)
    pads = [(11, 11)]  # what the finding's fix says for every version: k_eff - 1 - crop
    assert f"padding={pads}" in cautions["0"][0].fix
    assert_close(
        np.asarray(lax.conv_transpose(lhs, rhs, (8,), pads, transpose_kernel=True)) + bias,
        expected,
        rtol=1e-4,
        atol=1e-4,
    )


@pytest.mark.parametrize("padding", [0])
def test_no_caution_without_a_crop(padding, torch):
    module = torch.nn.ConvTranspose1d(2, 2, 4, stride=2, padding=padding)
    report = tconv.audit.torch(module, torch.randn(1, 2, 5), targets=["jax"])
    assert not report.layers[0].findings
