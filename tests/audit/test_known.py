"""The known-disagreement tables as a whole: every entry says where its claim comes from, and means it.

An entry is either observed -- its evidence names a test of tests/audit that runs the real tool
here, and that test exists -- or documented only, with what was read. The tools the observed
entries were checked against are installed at the versions the test extra pins.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tconv.audit
from tconv.audit import known

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = known.entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.key for e in ENTRIES])
def test_every_entry_is_observed_by_a_test_that_exists_or_says_it_is_documented_only(entry):
    assert entry.effect in known.EFFECTS
    assert entry.source and entry.condition and entry.what
    if entry.observed:
        match = re.match(r"observed: (tests/audit/\w+\.py)::(\w+)", entry.evidence)
        assert match, entry.evidence
        path, test = match.groups()
        assert f"def {test}(" in (ROOT / path).read_text(), f"{entry.key}: {path} has no test {test}"
        assert entry.tool in path or entry.tool in ("onnx", "torch"), (entry.key, path)
    else:
        assert entry.evidence.startswith("documented only: "), entry.evidence


def test_the_documented_only_entries_are_the_ones_no_installed_tool_can_show():
    documented = sorted(e.key for e in ENTRIES if not e.observed)
    assert documented == [
        "nobuco-dilation-with-stride",
        "nobuco-kernel-shorter-than-stride",
        "nobuco-output-padding",
        "nobuco-output-size",
        "onnxruntime-same-swapped",
    ]


def _pins() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    return dict(re.findall(r'"([a-z0-9_-]+)==([0-9.]+)"', text))


@pytest.mark.parametrize("tool", sorted({e.tool for e in ENTRIES if e.observed}))
def test_the_observed_tools_are_installed_at_their_pinned_versions(tool):
    pins = _pins()
    installed = tconv.audit.installed_versions()[tool]
    assert installed is not None, f"{tool} is not installed (pip install -e '.[test]')"
    if tool in pins:
        assert known.parse_version(installed) == known.parse_version(pins[tool]), (tool, installed, pins[tool])


def test_versions_select_entries():
    (swapped,) = [e for e in ENTRIES if e.key == "onnxruntime-same-swapped"]
    assert swapped.covers("1.12.1") and not swapped.covers("1.13.0") and not swapped.covers(None)
    assert swapped.versions == "< 1.13"
    (shift,) = [e for e in ENTRIES if e.key == "keras-torch-backend-shift"]
    assert shift.covers("3.14.1") and not shift.covers("3.15.0")
    with pytest.raises(ValueError, match="release numbers"):
        known.parse_version("latest")


@pytest.mark.parametrize(
    "layer, keys",
    [
        (dict(stride=2, padding=1, output_padding=1), {"nobuco-output-padding"}),
        (dict(stride=3), {"nobuco-kernel-shorter-than-stride"}),
        (dict(stride=2, dilation=2), {"nobuco-dilation-with-stride"}),
        (dict(stride=2, padding=1), set()),
    ],
)
def test_the_nobuco_rules(layer, keys, torch):
    module = torch.nn.ConvTranspose1d(2, 2, 2 if layer.get("stride") == 3 else 3, **layer)
    report = tconv.audit.torch(module, torch.randn(1, 2, 5), targets=["nobuco"])
    assert {f.issue.key for f in report.layers[0].findings} == keys
    assert all(not f.issue.observed for f in report.layers[0].findings)
