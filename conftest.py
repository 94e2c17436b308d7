"""Collection guards for optional dependencies outside tests/ (doctests of modules and pages).

``tconv.torch`` and the examples in ``docs/learning.md`` need PyTorch. Without it they
are not collected; the run still fails unless ``--oracles=optional`` is given, because
``tests/test_oracles.py`` requires every oracle framework to be installed.
"""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("torch") is None:
    collect_ignore += ["src/tconv/torch.py", "docs/learning.md"]
