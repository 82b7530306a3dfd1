"""Marginals: exact moments against independent quadrature, Monte Carlo and hand values."""

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, stats

from rfloc.errors import MomentError, ParameterError
from rfloc.theory import (
    Algebraic,
    Binary,
    ErfGaussian,
    Gaussian,
    Laplace,
    Marginal,
    StudentT,
    Uniform,
    by_name,
)
from rfloc.theory.marginals import U_SYMBOL, X_SYMBOL

ALL = [Gaussian(), Binary(), Uniform(), Laplace(), StudentT(9), ErfGaussian(0.7),
       ErfGaussian(20.0), Algebraic(10), Algebraic(7)]


def _scipy_moment(m: Marginal, n: int) -> float:
    """E[X^n] from SciPy's own distributions / an independent integral."""
    if isinstance(m, Gaussian):
        return stats.norm.moment(n)
    if isinstance(m, Binary):
        return 1.0
    if isinstance(m, Uniform):
        return stats.uniform(-math.sqrt(3), 2 * math.sqrt(3)).moment(n)
    if isinstance(m, Laplace):
        return stats.laplace(scale=1 / math.sqrt(2)).moment(n)
    if isinstance(m, StudentT):
        return stats.t(m.nu).moment(n) * ((m.nu - 2) / m.nu) ** (n / 2)
    if isinstance(m, ErfGaussian):
        zg2 = integrate.quad(lambda z: math.erf(m.g * z) ** 2 * stats.norm.pdf(z), -12, 12,
                             points=[0], limit=200)[0]
        return integrate.quad(lambda z: (math.erf(m.g * z) / math.sqrt(zg2)) ** n
                              * stats.norm.pdf(z), -12, 12, points=[0], limit=200)[0]
    if isinstance(m, Algebraic):
        k = m.k
        def q(u: float) -> float:  # quantile route, independent of the density route
            v = 2 * u - 1
            return v / (1 - abs(v) ** k) ** (1 / k)
        var = 2 * integrate.quad(lambda u: q(u) ** 2, 0.5, 1, limit=400)[0]
        return 2 * integrate.quad(lambda u: q(u) ** n, 0.5, 1, limit=400)[0] / var ** (n / 2)
    raise AssertionError(m)


@pytest.mark.parametrize("m", ALL, ids=repr)
@pytest.mark.parametrize("n", [2, 4, 6])
def test_moments_match_independent_quadrature(m, n):
    if n >= m.max_moment():
        pytest.skip("moment does not exist")
    assert float(m.moment(n)) == pytest.approx(_scipy_moment(m, n), rel=1e-8, abs=1e-10)


@pytest.mark.parametrize("m", ALL, ids=repr)
def test_odd_moments_vanish_and_variance_is_one(m):
    assert m.moment(1) == 0 and m.moment(3) == 0
    assert m.variance() == 1


@pytest.mark.parametrize(("m", "kappa"), [
    (Gaussian(), 0), (Binary(), -2), (Uniform(), sp.Rational(-6, 5)), (Laplace(), 3),
    (StudentT(7), sp.Rational(2)), (StudentT(9), sp.Rational(6, 5)),
])
def test_excess_kurtosis_exact_hand_values(m, kappa):
    # Student-t: kappa = 6 / (nu - 4)
    assert sp.simplify(m.excess_kurtosis() - kappa) == 0


@pytest.mark.parametrize("m", [Gaussian(), Binary(), Uniform(), Laplace(), StudentT(7),
                               Algebraic(10)], ids=repr)
def test_exact_moments_contain_no_floats(m):
    assert not m.moment(4).atoms(sp.Float)
    assert not m.excess_kurtosis().atoms(sp.Float)


def test_algebraic_kurtosis_crosses_zero_near_5_9():
    assert float(Algebraic(5).excess_kurtosis()) == pytest.approx(1.285, abs=0.01)
    assert float(Algebraic(10).excess_kurtosis()) == pytest.approx(-0.930, abs=0.01)
    assert float(Algebraic(5.8).excess_kurtosis()) > 0 > float(Algebraic(6.0).excess_kurtosis())
    assert float(Algebraic(400).excess_kurtosis()) == pytest.approx(-1.2, abs=0.02)


@pytest.mark.parametrize("m", ALL, ids=repr)
def test_samples_have_theory_moments(m):
    x = m.sample(400_000, rng=3)
    assert x.dtype == np.float64
    se2 = np.std(x**2) / math.sqrt(x.size)
    assert abs(np.mean(x**2) - 1) <= 6 * se2
    if m.max_moment() > 8:
        se4 = np.std(x**4) / math.sqrt(x.size)
        assert abs(np.mean(x**4) - float(m.moment(4))) <= 6 * se4


@pytest.mark.parametrize("m", ALL, ids=repr)
def test_abs_mean_matches_quadrature_and_samples(m):
    exact = float(m.abs_mean())
    assert exact == pytest.approx(m.expect(np.abs), rel=1e-9)
    x = np.abs(m.sample(200_000, rng=5))
    assert abs(x.mean() - exact) <= 6 * x.std() / math.sqrt(x.size)


def test_sampling_is_reproducible():
    m = Algebraic(8)
    assert np.array_equal(m.sample(50, rng=1), m.sample(50, rng=1))
    assert not np.array_equal(m.sample(50, rng=1), m.sample(50, rng=2))


def test_gaussian_transform_is_monotone_and_accurate_in_tails():
    z = np.linspace(-8, 8, 2001)
    for m in (Laplace(), Algebraic(6), StudentT(5)):       # unbounded: strictly increasing
        f = m.gaussian_transform(z)
        assert np.all(np.diff(f) > 0) and np.all(np.isfinite(f))
    f = Uniform().gaussian_transform(z)                     # bounded: saturates at sqrt(3)
    assert np.all(np.diff(f) >= 0) and np.max(np.abs(f)) <= math.sqrt(3)
    # Laplace tail: P(X > x) = exp(-sqrt2 x)/2 must equal P(Z > z)
    x = Laplace().gaussian_transform(np.array([6.0]))[0]
    assert 0.5 * math.exp(-math.sqrt(2) * x) == pytest.approx(stats.norm.sf(6.0), rel=1e-6)


@pytest.mark.parametrize(("m", "n"), [(StudentT(5), 6), (StudentT(4.5), 5), (Algebraic(5), 6),
                                      (Algebraic(3), 4)])
def test_missing_moments_raise(m, n):
    with pytest.raises(MomentError, match=f"order {n}"):
        m.moment(n)


@pytest.mark.parametrize(("factory", "arg", "name"), [
    (StudentT, 2, "nu"), (StudentT, -1, "nu"), (Algebraic, 2, "k"), (Algebraic, 0, "k"),
    (ErfGaussian, 0, "g"), (ErfGaussian, -3, "g"), (ErfGaussian, float("nan"), "g"),
])
def test_bad_parameters_raise(factory, arg, name):
    with pytest.raises(ParameterError, match=name):
        factory(arg)


def test_by_name():
    assert by_name("kur", 10) == Algebraic(10)
    assert by_name("binary") == Binary()
    with pytest.raises(ParameterError, match="marginal must be one of"):
        by_name("cauchy")
    with pytest.raises(ParameterError, match="needs its parameter"):
        by_name("student-t")


def test_from_density_reproduces_laplace():
    m = Marginal.from_density(sp.exp(-sp.Abs(X_SYMBOL)), X_SYMBOL)
    for n in (2, 4, 6):
        assert sp.simplify(m.moment(n) - Laplace().moment(n)) == 0
    z = np.linspace(-5, 5, 41)
    assert np.allclose(m.gaussian_transform(z), Laplace().gaussian_transform(z), atol=1e-7)


def test_from_quantile_reproduces_uniform():
    m = Marginal.from_quantile(U_SYMBOL - sp.Rational(1, 2), U_SYMBOL)
    assert m.excess_kurtosis() == sp.Rational(-6, 5)
    z = np.linspace(-4, 4, 17)
    assert np.allclose(m.gaussian_transform(z), Uniform().gaussian_transform(z), atol=1e-12)


def test_from_quantile_accepts_odd_quantiles_sympy_cannot_simplify():
    """Logistic Q = log(u/(1-u)): excess kurtosis 6/5 (closed form); Gaussian erfinv: 0."""
    logistic = Marginal.from_quantile(sp.log(U_SYMBOL / (1 - U_SYMBOL)), U_SYMBOL)
    assert logistic.max_moment() == math.inf
    assert float(logistic.excess_kurtosis()) == pytest.approx(1.2, abs=1e-9)
    gauss = Marginal.from_quantile(sp.erfinv(2 * U_SYMBOL - 1), U_SYMBOL)
    assert float(gauss.excess_kurtosis()) == pytest.approx(0.0, abs=1e-9)
    z = np.linspace(-4, 4, 17)
    assert np.allclose(gauss.gaussian_transform(z), z, atol=1e-9)


@pytest.mark.parametrize("a", [3, 5, sp.Rational(9, 2)])
def test_from_quantile_moment_existence_from_the_tail(a):
    """Q = (1-u)^(-1/a) - u^(-1/a) has density tails |x|^(-1-a): moments exist below a."""
    q = (1 - U_SYMBOL) ** (-1 / sp.S(a)) - U_SYMBOL ** (-1 / sp.S(a))
    m = Marginal.from_quantile(q, U_SYMBOL)
    assert m.max_moment() == pytest.approx(float(a), rel=1e-9)
    if a > 4:
        assert math.isfinite(float(m.excess_kurtosis()))
    else:
        with pytest.raises(MomentError, match="order 4"):
            m.excess_kurtosis()


def test_from_quantile_with_infinite_variance_is_refused():
    with pytest.raises(ParameterError, match="infinite variance"):
        Marginal.from_quantile(sp.tan(sp.pi * (U_SYMBOL - sp.Rational(1, 2))), U_SYMBOL)


def test_user_laws_must_be_symmetric():
    with pytest.raises(ParameterError, match="symmetric"):
        Marginal.from_density(sp.exp(-X_SYMBOL**2) * (1 + X_SYMBOL / 10), X_SYMBOL,
                              (-10, 10))
    with pytest.raises(ParameterError, match="odd"):
        Marginal.from_quantile(U_SYMBOL**2, U_SYMBOL)


def test_symbolic_expectation_routes_agree():
    for m in (Gaussian(), Uniform(), Binary()):
        assert m.expectation(X_SYMBOL**4, evaluate=True) == m.moment(4)
        assert m.expectation(X_SYMBOL**4).has(sp.Integral) or isinstance(m, Binary)
