"""Issue #13: every input is answered exactly or refused with a one-line error.

Each test holds one input at the end of an accepted range (or just outside it) to its right
value, computed independently (mpmath at high precision, the law's limit, or the
small-parameter series derived in ``docs/theory.md`` §1), or to its refusal.
"""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
import sympy as sp

from rfloc.cli import main
from rfloc.errors import MomentError, ParameterError
from rfloc.numerics import laws
from rfloc.numerics.metrics import cosine, ipr, peak
from rfloc.theory import Algebraic, Binary, ErfGaussian, Marginal, StudentT, Uniform, amplifier
from rfloc.theory.marginals import X_SYMBOL as X


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ Kur(k), large k
@pytest.mark.parametrize("k", [113.0, 150.0, 1e6, 1e300])
def test_algebraic_quadrature_has_no_overflow_at_large_k(k):
    assert Algebraic(k).expect(lambda x: x * x) == pytest.approx(1.0, abs=1e-12)


def test_algebraic_amplifier_between_k112_and_uniform():
    phi = float(amplifier(Algebraic(200))(0.5))
    assert phi == pytest.approx(0.419094547613754, abs=1e-12)
    low, high = sorted(float(amplifier(m)(0.5)) for m in (Algebraic(112), Uniform()))
    assert low < phi < high


@pytest.mark.parametrize("k", ["1e6", "1e12"])
def test_cli_kur_huge_k_terminates_near_uniform(k, capsys):
    code, out, _ = cli(["amplifier", "--marginal", "kur", "--param", k, "--format", "json"],
                       capsys)
    assert code == 0
    assert json.loads(out)["excess_kurtosis"]["value"] == pytest.approx(-1.2, abs=1e-10)


# ------------------------------------------------------------------ NLGP(g), both ends
def _mp_kurtosis(g: float) -> float:
    """E[erf(gZ)^4]/E[erf(gZ)^2]^2 - 3 by mpmath at 80 digits (independent reference)."""
    with mpmath.workdps(80):
        gg = mpmath.mpf(g)

        def moment(n: int) -> mpmath.mpf:
            return 2 * mpmath.quad(lambda t: mpmath.erf(gg * t) ** n * mpmath.npdf(t),
                                   [0, 1, 10, mpmath.inf])
        return float(moment(4) / moment(2) ** 2 - 3)


@pytest.mark.parametrize("g", [1e-16, 1e-30, 1e-40, 1e-200])
def test_nlgp_small_gain_kurtosis_is_minus_8_g_squared(g):
    kappa = ErfGaussian(g).excess_kurtosis()
    assert kappa < 0
    assert float(kappa) == pytest.approx(-8 * g * g, rel=1e-12)
    assert ErfGaussian(g).law.excess_kurtosis() == pytest.approx(-8 * g * g, rel=1e-12)


@pytest.mark.parametrize("g", [1e-3, 0.05])
def test_nlgp_small_gain_kurtosis_matches_mpmath(g):
    ref = _mp_kurtosis(g)
    assert float(ErfGaussian(g).excess_kurtosis()) == pytest.approx(ref, rel=1e-20 + 1e-12)
    assert ErfGaussian(g).law.excess_kurtosis() == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("g", [1e-320, 1e-300, 1e-162, 1e-30])
def test_nlgp_gaussian_limit_is_finite(g):
    m = ErfGaussian(g)
    assert float(m.abs_mean()) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)
    assert m.law.abs_mean() == pytest.approx(math.sqrt(2 / math.pi), rel=1e-14)
    x = m.sample(1000, rng=0)
    np.testing.assert_allclose(x, np.random.default_rng(0).standard_normal(1000), rtol=1e-12)
    assert float(amplifier(m)(0.5)) == pytest.approx(math.sqrt(2 / math.pi) * 0.5, abs=1e-12)


@pytest.mark.parametrize("g", [1e8, 1e300])
def test_nlgp_binary_limit_is_finite(g):
    m = ErfGaussian(g)
    assert m.law.excess_kurtosis() == pytest.approx(-2.0, abs=1e-7)
    assert float(m.excess_kurtosis()) == pytest.approx(-2.0, abs=1e-7)
    assert float(amplifier(m)(0.5)) == pytest.approx(float(amplifier(Binary())(0.5)), abs=1e-7)


def test_cli_nlgp_extremes(capsys):
    code, out, _ = cli(["amplifier", "--marginal", "nlgp", "--param", "1e300"], capsys)
    assert code == 0 and "-2.00000000000000000000000000000 (float, 30 digits)" in out
    code, out, _ = cli(["amplifier", "--marginal", "nlgp", "--param", "1e-300"], capsys)
    assert code == 0 and "excess kurtosis : -8.0000000000000004" in out


# ------------------------------------------------------- parameters just above a threshold
def test_no_rational_guess_moves_a_parameter():
    nu = 4 + 1e-12
    assert float(StudentT(nu).excess_kurtosis()) == pytest.approx(6 / (nu - 4), rel=1e-10)
    kappa = Algebraic(nu).excess_kurtosis()
    assert kappa.is_finite and float(kappa) > 1e11
    assert StudentT(6 + 1e-12).moment(6).is_finite
    assert StudentT(0.1 + 2).params == {"nu": 2.1}


# ------------------------------------------------------------------ Student-t far tail
def _mp_student_quantile(nu: float, z: float) -> float:
    """The unit-variance t_nu quantile at Phi(z), by mpmath at 60 digits."""
    with mpmath.workdps(60):
        n = mpmath.mpf(nu)
        p = mpmath.ncdf(-z)

        def gap(log_t: mpmath.mpf) -> mpmath.mpf:
            surv = 0.5 * mpmath.betainc(n / 2, 0.5, 0, n / (n + mpmath.e ** (2 * log_t)),
                                        regularized=True)
            return mpmath.log(surv) - mpmath.log(p)
        log_t = mpmath.findroot(gap, -mpmath.log(p) / n)
        return float(mpmath.e**log_t * mpmath.sqrt((n - 2) / n))


@pytest.mark.parametrize("z", [10.0, 20.0, 30.0, 32.0, 35.0, 37.0])
def test_student_t_far_tail_matches_mpmath(z):
    value = StudentT(2.5).gaussian_transform(np.array([z, -z]))
    ref = _mp_student_quantile(2.5, z)
    np.testing.assert_allclose(value, [ref, -ref], rtol=1e-12)


def test_student_t_far_tail_known_value_and_monotone():
    assert float(StudentT(2.5).gaussian_transform(np.array([30.0]))[0]) == pytest.approx(
        3.28830671160827e78, rel=1e-12)
    z = np.linspace(0.0, 38.0, 3801)
    assert np.all(np.diff(StudentT(2.5).gaussian_transform(z)) > 0)


# ------------------------------------------------------------------ user densities
def test_infinite_moment_is_never_a_quadrature_value():
    m = Marginal.from_density((1 + X**2) ** -2, X)
    assert m.max_moment() == 3
    with pytest.raises(MomentError):
        m.moment(4)
    assert amplifier(m).max_order() == 1
    assert m.law.excess_kurtosis() == math.inf


def test_infinite_variance_density_is_refused():
    with pytest.raises(ParameterError, match="infinite variance"):
        Marginal.from_density(1 / (1 + X**2), X)


@pytest.mark.parametrize("expr", [sp.Integer(-1), X**2 - sp.Rational(1, 10), sp.Integer(0)])
def test_negative_or_zero_density_is_refused(expr):
    with pytest.raises(ParameterError, match="density must"):
        Marginal.from_density(expr, X, (-1, 1))


def test_density_law_refuses_negative_values():
    with pytest.raises(ParameterError, match="non-negative"):
        laws.DensityLaw(lambda y: y * y - 0.1, 1.0)


# ------------------------------------------------------------------ silent numerics
def test_amplifier_refuses_a_outside_unit_interval():
    amp = amplifier(Binary())
    with pytest.raises(ParameterError, match=r"a must be in \[-1, 1\]"):
        amp(np.array([1.5, -2.0]))
    assert amp(np.array([1.5, -2.0]), clip=True).tolist() == [1.0, -1.0]
    with pytest.raises(ParameterError, match="real"):
        amp(np.array([0.5j]))


def test_metrics_conventions_for_nan_zero_and_complex():
    assert peak(np.full(5, np.nan)) == -1
    assert peak(np.array([np.nan, 1, 2, 3]), shape=(2, 2)).tolist() == [-1, -1]
    assert math.isnan(ipr(np.zeros(4)))
    assert ipr([1e200, 1.0]) == pytest.approx(1.0)
    assert ipr([1e-320, 0.0]) == 1.0
    assert cosine([1e300, 1e300], [1.0, 1.0]) == pytest.approx(1.0)
    for func in (ipr, peak):
        with pytest.raises(ParameterError, match="must be real"):
            func(np.array([1.0 + 1j, 2.0]))


# ------------------------------------------------------------------ CLI claims
def test_cli_labels_floats_and_refuses_even_order(capsys):
    code, out, _ = cli(["amplifier", "--marginal", "nlgp", "--param", "1", "--order", "15"],
                       capsys)
    assert code == 0
    assert "a^1  : sqrt(2)/sqrt(pi) = 0.797884560803" in out
    assert "(float, 30 digits)" in out and "**(" not in out.split("series")[1].split("\n")[2]
    code, _, err = cli(["amplifier", "--marginal", "nlgp", "--param", "2", "--order", "4"],
                       capsys)
    assert code == 2 and err.count("\n") == 1 and "--order must be odd" in err
