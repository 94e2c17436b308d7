"""`import tconv` imports nothing but NumPy (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import json, sys
before = set(sys.modules)
import tconv
new = {name.split('.')[0] for name in set(sys.modules) - before}
third_party = sorted(n for n in new if n not in sys.stdlib_module_names and not n.startswith('_'))
print(json.dumps(third_party))
"""


def test_import_pulls_in_only_numpy():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    assert set(json.loads(result.stdout)) <= {"tconv", "numpy"}, result.stdout


def test_public_api_is_explicit():
    import tconv

    assert sorted(tconv.__all__) == sorted(set(tconv.__all__))
    for name in tconv.__all__:
        assert hasattr(tconv, name), name
