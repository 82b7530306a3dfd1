"""Analytic covariances against independent truths: closed forms, enumeration, Monte Carlo."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, special

from rfloc.errors import ParameterError
from rfloc.numerics import covariance as cov
from rfloc.numerics.laws import (
    Algebraic,
    Binary,
    ErfGaussian,
    Gaussian,
    Laplace,
    StudentT,
    Uniform,
)

RHOS = np.array([-0.97, -0.5, -1e-3, 0.0, 2e-3, 0.05, 0.3, 0.64, 0.895, 0.99, 0.99999, 1.0])


# ---------------------------------------------------------------- existing kernels
def test_ising_covariance_matches_brute_force_enumeration():
    n, J = 8, 0.6
    spins = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energy = np.sum(spins * np.roll(spins, -1, axis=1), axis=1)
    w = np.exp(J * energy)
    w /= w.sum()
    exact = np.einsum("s,si,sj->ij", w, spins, spins)
    np.testing.assert_allclose(cov.ising_covariance(n, J), exact, atol=1e-13)


def test_torus_is_kronecker_product_and_gaussian_kernel_is_separable():
    k1 = cov.gaussian_kernel(6, 2.0)
    k2 = cov.gaussian_kernel(6, 2.0, dim=2)
    r, c = np.divmod(np.arange(36), 6)
    d1 = np.minimum(np.abs(r[:, None] - r), 6 - np.abs(r[:, None] - r))
    d2 = np.minimum(np.abs(c[:, None] - c), 6 - np.abs(c[:, None] - c))
    np.testing.assert_allclose(k2, np.exp(-(d1**2 + d2**2) / 4.0), atol=1e-15)
    np.testing.assert_array_equal(k2, np.kron(k1, k1))


# ---------------------------------------------------------------- norta_covariance
@pytest.mark.parametrize(("marginal", "closed_form"), [
    (Gaussian(), lambda r: r),
    (Binary(), lambda r: 2 / np.pi * np.arcsin(r)),
    (Uniform(), lambda r: 6 / np.pi * np.arcsin(r / 2)),
    (ErfGaussian(0.05), lambda r: cov.nlgp_map(r, 0.05)),
    (ErfGaussian(1.0), lambda r: cov.nlgp_map(r, 1.0)),
    (ErfGaussian(100.0), lambda r: cov.nlgp_map(r, 100.0)),
])
def test_norta_covariance_reproduces_closed_forms(marginal, closed_form):
    got = cov.norta_covariance(RHOS, marginal)
    np.testing.assert_allclose(got, closed_form(RHOS), rtol=0, atol=1e-10)


def test_norta_covariance_of_a_ring_kernel_matches_nlgp_covariance():
    base = cov.gaussian_kernel(40, 3.0)
    got = cov.norta_covariance(base, ErfGaussian(3.0))
    np.testing.assert_allclose(got, cov.nlgp_covariance(40, 3.0, 3.0), rtol=0, atol=1e-10)
    np.testing.assert_array_equal(np.diag(got), 1.0)


def _hermite_series(marginal, rho, kmax=25):
    r"""Mehler expansion :math:`\sum_k E[f(Z)He_k(Z)]^2 \rho^k / k!` by adaptive quad."""
    def f(z):
        return float(marginal.gaussian_transform(np.array([z]))[0])
    total = 0.0
    for k in range(1, kmax + 1, 2):
        def h(z, k=k):
            return f(z) * special.eval_hermitenorm(k, z) * math.exp(-0.5 * z * z)
        ck = 2 * sum(integrate.quad(h, a, b, epsabs=1e-13, epsrel=1e-11, limit=200)[0]
                     for a, b in ((0, 1), (1, 4), (4, 10), (10, 30))) / math.sqrt(2 * math.pi)
        total += ck * ck / math.factorial(k) * rho**k
    return total


@pytest.mark.parametrize("marginal", [Algebraic(5.0), Laplace(), StudentT(6.0)])
def test_norta_covariance_heavy_tails_match_mehler_series(marginal):
    rhos = np.array([0.003, 0.2, 0.35])
    got = cov.norta_covariance(rhos, marginal)
    want = [_hermite_series(marginal, r) for r in rhos]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_norta_covariance_heavy_tail_matches_monte_carlo():
    rng = np.random.default_rng(11)
    m, marginal = 400_000, Algebraic(5.0)
    for rho in (0.5, 0.9):
        z1 = rng.standard_normal(m)
        z2 = rho * z1 + math.sqrt(1 - rho**2) * rng.standard_normal(m)
        prod = marginal.gaussian_transform(z1) * marginal.gaussian_transform(z2)
        se = prod.std() / math.sqrt(m)
        assert abs(prod.mean() - cov.norta_covariance(rho, marginal)) < 5 * se


def test_norta_covariance_is_odd_monotone_and_continuous_at_the_series_switch():
    marginal = Algebraic(10.0)
    grid = np.linspace(0.0, 1.0, 41)
    r, r_neg = cov.norta_covariance(np.stack([grid, -grid]), marginal)
    assert np.all(np.diff(r) > 0)
    np.testing.assert_array_equal(r_neg, -r)
    lo, hi = cov.norta_covariance(np.array([4e-3 * (1 - 1e-9), 4e-3 * (1 + 1e-9)]), marginal)
    assert abs(hi - lo) < 1e-11


def test_norta_covariance_2d_torus_has_unit_diagonal_and_keeps_shape():
    base = cov.gaussian_kernel(8, 2.0, dim=2)
    got = cov.norta_covariance(base, Laplace())
    assert got.shape == (64, 64)
    np.testing.assert_array_equal(np.diag(got), 1.0)
    np.testing.assert_allclose(got, got.T, atol=0)


@pytest.mark.parametrize("base", [np.array([[1.0, 1.5], [1.5, 1.0]]), np.array([np.nan])])
def test_norta_covariance_rejects_non_correlations(base):
    with pytest.raises(ParameterError, match="base"):
        cov.norta_covariance(base, Binary())


def test_norta_covariance_rejects_non_marginal():
    with pytest.raises(ParameterError, match="marginal"):
        cov.norta_covariance(np.eye(3), "binary")


def test_norta_covariance_takes_any_object_with_a_gaussian_transform():
    class Signs:                      # no max_moment: all moments are assumed to exist
        def gaussian_transform(self, z):
            return np.where(np.asarray(z) >= 0, 1.0, -1.0)

    np.testing.assert_allclose(cov.norta_covariance(RHOS, Signs()),
                               cov.norta_covariance(RHOS, Binary()), rtol=0, atol=1e-15)
