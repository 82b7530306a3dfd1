"""The package works from anywhere, the repository root included, and its layers import one way.

Each check runs in a fresh interpreter whose working directory is the repository root: the
place where a folder named like the package would shadow the installed one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_no_folder_at_the_root_shadows_the_package():
    assert not (ROOT / "rfloc").exists()


def test_layers_import_from_the_repository_root():
    code = ("import rfloc.theory, rfloc.numerics, rfloc.validation, inspect;"
            "import rfloc.numerics.data, rfloc.theory.covariance;"
            "assert inspect.isfunction(rfloc.theory.amplifier);"
            "assert inspect.ismodule(rfloc.numerics.data);"
            "print(rfloc.theory.__name__, rfloc.numerics.__name__, rfloc.validation.__name__)")
    res = _python("-c", code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["rfloc.theory", "rfloc.numerics", "rfloc.validation"]


def test_cli_runs_as_a_module_from_the_repository_root():
    res = _python("-m", "rfloc", "amplifier", "--marginal", "binary")
    assert res.returncode == 0, res.stderr
    assert "excess kurtosis : -2" in res.stdout


def test_package_ships_its_type_marker():
    import rfloc

    assert (Path(rfloc.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("layer, forbidden", [
    ("rfloc.numerics", ("sympy", "mpmath")),
    ("rfloc", ("sympy", "numpy", "rfloc.numerics")),
])
def test_layers_do_not_import_upwards(layer, forbidden):
    """numerics never loads SymPy (directly or through theory); the facade loads nothing."""
    code = (f"import sys, {layer};"
            f"print(' '.join(m for m in {forbidden!r} if m in sys.modules))")
    res = _python("-c", code)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == []
