"""The command line: outputs, and bad input as one line with a non-zero exit."""

import subprocess
import sys

import pytest

from rfloc.cli import main


def test_amplifier_binary(capsys):
    assert main(["amplifier", "--marginal", "binary", "--order", "5", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "erf(a/sqrt(2 - 2*a**2))" in out
    assert "3*sqrt(2)/(20*sqrt(pi))" in out          # exact a^5 coefficient
    assert "excess kurtosis : -2" in out
    assert r"\operatorname{erf}" in out


def test_amplifier_heavy_tail_reports_missing_coefficients(capsys):
    assert main(["amplifier", "--marginal", "student-t", "--param", "5", "--order", "7"]) == 0
    out = capsys.readouterr().out
    assert "beyond a^3 do not exist" in out


def test_dynamics_gaussian_is_linear(capsys):
    assert main(["dynamics", "--marginal", "gaussian", "--p", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "linear amplifier (no localization): True" in out
    assert "assumptions:" in out


@pytest.mark.parametrize("argv, needle", [
    (["amplifier", "--marginal", "cauchy"], "marginal must be one of"),
    (["amplifier", "--marginal", "nlgp", "--param", "0"], "g must be"),
    (["amplifier", "--marginal", "kur", "--param", "-1"], "k must be"),
    (["amplifier", "--marginal", "student-t", "--param", "0"], "nu must be"),
    (["dynamics", "--marginal", "binary", "--p", "1"], "p must be in (0, 1)"),
    (["amplifier", "--marginal", "binary", "--order", "0"], "order must be"),
])
def test_bad_input_one_line_nonzero(argv, needle, tmp_path):
    # run outside the source tree, so the installed package is the one imported
    proc = subprocess.run([sys.executable, "-m", "rfloc", *argv], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr
