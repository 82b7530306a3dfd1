"""rfloc.numerics is the numeric engine: importing it loads no SymPy, mpmath or scipy.stats."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sympy", "mpmath", "scipy.stats")


@pytest.mark.parametrize("module", ["rfloc.numerics", "rfloc.numerics.data",
                                    "rfloc.numerics.laws", "rfloc.numerics.covariance"])
def test_numerics_imports_no_symbolic_or_statistics_package(module):
    code = (f"import sys, json, {module}; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            f"('sympy', 'mpmath') or m.startswith('scipy.stats'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = json.loads(out)
    assert loaded == [], f"import {module} loaded {loaded[:5]} ... ({len(loaded)} modules)"
    assert not any(m in HEAVY for m in loaded)
