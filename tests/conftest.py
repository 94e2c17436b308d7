"""Test configuration: oracle requirements and the hypothesis profile.

Oracles (frameworks whose results the tests compare against) are *required* by
default: a test that needs a missing oracle fails, so "skipped" never silently
means "untested". Run ``pytest --oracles=optional`` to skip such tests instead
(for a partial local install).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# TensorFlow (and Keras on its backend) as an oracle runs through oneDNN on every x86 machine: TensorFlow
# turns oneDNN on by itself only on CPUs with AVX-512 VNNI/BF16 or AMX, and its other CPU kernels reject
# transposed convolutions with dilation > 1 ("Current CPU implementations do not yet support dilation
# rates larger than 1"): on an AMD EPYC without AVX-512 the Keras layers of tests/audit_models.py failed.
# (Before TensorFlow is first imported: the setting is read then.)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

#: The real frameworks as session fixtures (tf, keras, jax, lax, torch, ort, onnx, ...).
pytest_plugins = ["framework_oracles"]

# A fixed, derandomized profile: the same examples on every run and in CI.
settings.register_profile(
    "tconv",
    max_examples=int(os.environ.get("TCONV_HYPOTHESIS_EXAMPLES", "200")),
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("tconv")


def pytest_configure(config):
    import helpers

    helpers.ORACLES_REQUIRED = config.getoption("--oracles") == "required"
