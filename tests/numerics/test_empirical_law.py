"""Empirical pixel laws: phi within its Monte Carlo band of the exact phi, honest errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from rfloc.errors import MomentError, ParameterError
from rfloc.numerics.laws import EmpiricalLaw
from rfloc.theory import Binary, Gaussian, Laplace, Marginal, Uniform, amplifier

A = np.array([-0.9, 0.05, 0.3, 0.6, 0.9, 0.99])

LAWS = {
    "binary": (Binary(), lambda rng, n: rng.choice([-1.0, 1.0], n)),
    "uniform": (Uniform(), lambda rng, n: rng.uniform(-1.0, 1.0, n)),
    "laplace": (Laplace(), lambda rng, n: rng.laplace(size=n)),
    "gaussian": (Gaussian(), lambda rng, n: rng.standard_normal(n)),
}


def _check_band(name: str, n: int, seed: int) -> None:
    exact, draw = LAWS[name]
    law = EmpiricalLaw(draw(np.random.default_rng(seed), n))
    phi, half = law.phi(A)
    truth = amplifier(exact)(A)
    # the band is 1.96 standard errors wide; 2.5 bands is 4.9 standard errors
    assert np.all(np.abs(phi - truth) <= 2.5 * half + 1e-12), (phi - truth) / half


@pytest.mark.parametrize("name", sorted(LAWS))
@pytest.mark.parametrize("n", [1_000, 10_000, 100_000])
def test_phi_within_its_band_of_the_exact_phi(name, n):
    _check_band(name, n, seed=n + len(name))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LAWS))
def test_phi_within_its_band_at_a_million_samples(name):
    _check_band(name, 1_000_000, seed=7)


@pytest.mark.parametrize("draw, n", [(lambda r, n: r.uniform(-1, 1, n), 2_000),
                                     (lambda r, n: r.laplace(size=n), 5_000)])
def test_band_width_is_the_monte_carlo_error(draw, n):
    """Across replicate samples the spread of phi_n is the band's (delta-method) standard
    error: the naive sd(h)/sqrt(n) ignores the standardisation and is 3x too wide."""
    rng = np.random.default_rng(1)
    laws = [EmpiricalLaw(draw(rng, n)) for _ in range(300)]
    for a in (0.3, 0.6, 0.9):
        values, halves = zip(*(law.phi(a) for law in laws), strict=True)
        assert np.std(values) == pytest.approx(np.median(halves) / 1.96, rel=0.25)


def test_kurtosis_standard_error_is_the_spread_over_replicates():
    rng = np.random.default_rng(2)
    laws = [EmpiricalLaw(rng.uniform(-1, 1, 400)) for _ in range(400)]
    kappas = np.array([law.excess_kurtosis() for law in laws])
    assert np.std(kappas) == pytest.approx(np.median([law.kurtosis_se() for law in laws]),
                                           rel=0.2)
    assert abs(np.mean(kappas) + 1.2) < 5 * np.std(kappas) / math.sqrt(kappas.size)


@pytest.mark.parametrize("name, kappa", [("uniform", -1.2), ("laplace", 3.0),
                                         ("binary", -2.0), ("gaussian", 0.0)])
def test_kurtosis_interval_covers_the_exact_value(name, kappa):
    law = EmpiricalLaw(LAWS[name][1](np.random.default_rng(3), 200_000))
    lo, hi = law.kurtosis_interval()
    se = law.kurtosis_se()
    assert lo - 1.5 * se <= kappa <= hi + 1.5 * se        # within 3.5 standard errors


def test_table_matches_the_sample_average_and_feeds_the_theory():
    m = Marginal.from_samples(np.random.default_rng(4).laplace(size=20_000))
    assert m.law.table_error < 1e-10
    amp = amplifier(m)
    assert np.allclose(amp(A), m.law.phi(A)[0], atol=1e-10)
    # the exact-series identity: cubic coefficient = -sqrt(2/pi) kappa_n / 6
    cubic = amp.coefficients(3)[1]
    assert float(cubic) == pytest.approx(-math.sqrt(2 / math.pi) * m.law.excess_kurtosis() / 6,
                                         rel=1e-12)
    assert float(amp.coefficients(1)[0]) == pytest.approx(math.sqrt(2 / math.pi))
    assert isinstance(amp.integral, sp.Expr) and amp.integral.has(sp.Sum)


def test_moments_beyond_what_the_sample_supports_are_refused():
    m = Marginal.from_samples(np.random.default_rng(5).standard_t(3.5, size=2_000))
    order = m.law.supported_order()
    assert order < 8
    with pytest.raises(MomentError):
        m.moment(order + 2)
    assert amplifier(m).max_order() == order - 1


def test_symmetry_is_checked_and_can_be_imposed():
    x = np.random.default_rng(6).exponential(size=5_000)
    skewed = EmpiricalLaw(x)
    assert skewed.asymmetry is not None and "symmetric" in skewed.asymmetry
    mirrored = EmpiricalLaw(x, symmetrize=True)
    assert mirrored.n == 2 * x.size
    assert mirrored.moment(1) == pytest.approx(0.0, abs=1e-12)
    assert mirrored.moment(3) == pytest.approx(0.0, abs=1e-9)
    assert mirrored.moment(2) == pytest.approx(1.0)
    assert EmpiricalLaw(np.random.default_rng(7).standard_normal(5_000)).asymmetry is None


def test_law_is_a_pixel_law():
    x = np.random.default_rng(8).uniform(-2, 2, 3_000)
    law = EmpiricalLaw(x)
    z = np.linspace(-4, 4, 101)
    f = law.gaussian_transform(z)
    assert np.all(np.diff(f) >= 0) and f[0] >= law.values[0] and f[-1] <= law.values[-1]
    draws = law.sample(1_000, rng=1)
    assert np.all(np.isin(draws, law.values))
    assert law.expect(np.square) == pytest.approx(1.0)
    assert law.abs_mean() == pytest.approx(np.mean(np.abs(law.values)))


@pytest.mark.parametrize("bad", [[1.0] * 20, [1.0, 2.0], [np.nan] * 20, "abc"])
def test_bad_samples_are_refused(bad):
    with pytest.raises(ParameterError, match="samples"):
        EmpiricalLaw(bad)


def test_unstandardized_samples_must_be_standard():
    x = np.random.default_rng(9).normal(3.0, 2.0, 1_000)
    with pytest.raises(ParameterError, match="mean 0 and variance 1"):
        EmpiricalLaw(x, standardize=False)
