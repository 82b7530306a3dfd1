"""The fast field sampler against independent truths: each law's own Gaussian transform,
the latent correlation matrix, the analytic covariances, and the exact (untabulated) path.

Monte Carlo tolerances are 5 standard errors computed from the samples themselves.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rfloc import theory as T
from rfloc.numerics import laws as L
from rfloc.numerics.data import NLGP, NORTA
from rfloc.numerics.data._mapped_field import MAX_HALF_TAPS, ROOT_TOL, root_taps
from rfloc.numerics.data._pixel_table import TOL, Z_MAX, evaluate, table_error, tabulate

LAWS = [L.Gaussian(), L.Binary(), L.Uniform(), L.Laplace(), L.StudentT(3.0),
        L.StudentT(5.0), L.ErfGaussian(0.01), L.ErfGaussian(3.0), L.ErfGaussian(100.0),
        L.Algebraic(2.1), L.Algebraic(4.1), L.Algebraic(5.0), L.Algebraic(50.0),
        T.Laplace()]


def assert_cov_matches(X: np.ndarray, sigma: np.ndarray, z: float = 5.0) -> None:
    """Every entry of the empirical second-moment matrix within ``z`` of its own SE."""
    m = X.shape[0]
    emp = X.T @ X / m
    sq = (X * X).T @ (X * X) / m
    se = np.sqrt(np.maximum(sq - emp**2, 1e-300) / m)
    worst = np.max(np.abs(emp - sigma) / se)
    assert worst < z, f"empirical covariance off by {worst:.2f} standard errors"


def circulant(first: np.ndarray) -> np.ndarray:
    n = first.size
    return first[(np.arange(n)[None, :] - np.arange(n)[:, None]) % n]


@pytest.mark.parametrize("law", LAWS, ids=repr)
def test_pixel_table_equals_the_gaussian_transform_to_1e_12(law):
    coef = tabulate(law)
    assert coef is not None and coef.shape[1] == 8
    assert table_error(law, coef) <= TOL
    # independent points, both signs, including 0 and the edge of the range
    z = np.concatenate([np.random.default_rng(0).uniform(-Z_MAX, Z_MAX, 20_000),
                        [0.0, 1e-300, -1e-300, 13.7, -13.7]])
    got = np.empty_like(z)
    evaluate(z, coef, coef.shape[0] / Z_MAX, got)
    with np.errstate(all="ignore"):
        exact = np.asarray(law.gaussian_transform(z), dtype=np.float64)
    nonzero = z != 0                      # Binary maps 0 to +1, the table to sign(0) = +0
    err = np.abs(got - exact)[nonzero] / np.maximum(1.0, np.abs(exact[nonzero]))
    assert err.max() <= 10 * TOL


def test_a_law_without_a_finite_transform_gets_no_table_and_the_exact_path():
    class Exploding(L.PixelLaw):
        name = "exploding"

        def gaussian_transform(self, z):
            z = np.asarray(z, dtype=np.float64)
            return np.where(np.abs(z) > 10, np.inf, z)

    assert tabulate(Exploding()) is None
    model = NORTA(8, 1.0, Exploding())
    assert model.parts() is None
    X = model.sample(20_000, rng=2)
    assert_cov_matches(X, model.latent_covariance)


@pytest.mark.parametrize(("n", "xi"), [(40, 0.3), (40, 0.7), (40, 1.0), (40, 3.0), (40, 10.0),
                                       (33, 2.0), (7, 1.5)])
def test_truncated_circulant_root_squares_to_the_latent_correlation(n, xi):
    model = NLGP(n, xi, 1.0)
    taps = root_taps(model._latent.first_row)
    full = np.zeros(n)
    for d, t in enumerate(taps):
        full[d % n] += t
        full[-d % n] += t if d else 0.0
    R = circulant(full)
    np.testing.assert_allclose(R, R.T, rtol=0, atol=0)
    bound = 2 * ROOT_TOL * np.abs(full).sum() ** 2 + 1e-14
    assert np.max(np.abs(R @ R - model.latent_covariance)) <= bound


def test_short_kernels_are_truncated_and_long_ones_fall_back_to_the_fft():
    assert root_taps(NLGP(40, 0.3, 1.0)._latent.first_row).size <= 6
    wide = NLGP(200, 40.0, 3.0)
    assert wide._root.size > MAX_HALF_TAPS          # sampled through the FFT, then the table
    X = wide.sample(30_000, rng=4)
    assert_cov_matches(X[:, ::20], wide.covariance[::20, ::20])


@pytest.mark.parametrize("make", [
    lambda: NORTA(40, 0.7, L.Algebraic(5.0)),
    lambda: NORTA(40, 3.0, L.StudentT(5.0)),
    lambda: NLGP(40, 1.0, 100.0),
    lambda: NLGP(8, 1.0, 3.0, dim=2),
    lambda: NORTA(6, 2.0, L.Algebraic(6.0), dim=2),
])
def test_fast_sampler_matches_the_analytic_covariance(make):
    model = make()
    X = model.sample(40_000, rng=3)
    assert_cov_matches(X, model.covariance)


def test_fast_and_exact_paths_agree_in_law():
    model = NORTA(16, 1.5, L.Algebraic(6.0))
    fast = model.sample(40_000, rng=5)
    latent = np.empty_like(fast)
    model._latent.fill(latent, np.random.default_rng(6), np.empty(fast.size + 16))
    exact = model.marginal.gaussian_transform(latent)
    for p in (2, 4):
        a, b = (np.mean(x**p, axis=1) for x in (fast, exact))
        se = math.hypot(a.std(), b.std()) / math.sqrt(a.size)
        assert abs(a.mean() - b.mean()) < 5 * se


def test_fast_sampler_is_reproducible():
    model = NLGP(32, 3.0, 3.0, dim=2)
    np.testing.assert_array_equal(model.sample(50, rng=7), model.sample(50, rng=7))
    assert not np.array_equal(model.sample(50, rng=7), model.sample(50, rng=8))
