"""Open (non-periodic) boundaries of the Gaussian-kernel fields against independent truths:
the kernel exp(-|p - q|^2/xi^2) built pixel by pixel here, closed-form copula covariances
and pixel moments (quadrature), and Monte Carlo tolerances of 5 standard errors computed
from the samples themselves.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from rfloc.errors import ParameterError
from rfloc.numerics import covariance as cov
from rfloc.numerics import laws as L
from rfloc.numerics.data import NLGP, NORTA, GaussianProcess, TwoClass, from_params, gaussian_clone
from rfloc.numerics.train import train_sgd

Z = 5.0
M = 200_000


def open_kernel(side: int, xi: float, dim: int) -> np.ndarray:
    """exp(-|p - q|^2 / xi^2) over pixel positions p (row-major on a square), no wrapping."""
    pos = [(i,) for i in range(side)] if dim == 1 else [
        (r, c) for r in range(side) for c in range(side)]
    return np.array([[math.exp(-sum((a - b) ** 2 for a, b in zip(p, q, strict=True)) / xi**2)
                      for q in pos] for p in pos])


def worst_se(X: np.ndarray, sigma: np.ndarray) -> float:
    """Largest |mean(x_i x_j) - sigma_ij| in units of its own standard error."""
    m = X.shape[0]
    second = np.einsum("ki,kj->ij", X, X) / m
    fourth = np.einsum("ki,kj->ij", X * X, X * X) / m
    return float(np.max(np.abs(second - sigma) / np.sqrt((fourth - second**2) / m)))


def erf_fourth_moment(g: float) -> float:
    """E[f(Z)^4], f(z) = erf(g z)/Z(g), Z(g)^2 = (2/pi) arcsin(2g^2/(1 + 2g^2)), by quadrature."""
    norm2 = 2 / math.pi * math.asin(2 * g * g / (1 + 2 * g * g))
    val = integrate.quad(lambda z: special.erf(g * z) ** 4 * math.exp(-z * z / 2), 0, np.inf)[0]
    return 2 * val / math.sqrt(2 * math.pi) / norm2**2


# model, its exact covariance from the independent kernel, E[x^4] of one pixel
CASES = {
    "nlgp-1d": (lambda: NLGP(12, 3.0, 2.0, boundary="open"),
                lambda: np.arcsin(8 / 9 * open_kernel(12, 3.0, 1)) / math.asin(8 / 9),
                lambda: erf_fourth_moment(2.0)),
    "norta-uniform-2d": (lambda: NORTA(6, 2.0, L.Uniform(), dim=2, boundary="open"),
                         lambda: 6 / math.pi * np.arcsin(open_kernel(6, 2.0, 2) / 2),
                         lambda: 9 / 5),
}


@pytest.fixture(scope="module", params=list(CASES))
def drawn(request):
    make, sigma, fourth = CASES[request.param]
    model = make()
    return model, model.sample(M, rng=7), sigma(), fourth()


@pytest.mark.parametrize(("side", "xi", "dim"), [(12, 3.0, 1), (9, 0.7, 1), (6, 2.0, 2),
                                                 (5, 10.0, 2)])
def test_latent_covariance_is_the_unwrapped_kernel_and_the_root_squares_to_it(side, xi, dim):
    model = NLGP(side, xi, 1.0, dim, boundary="open")
    truth = open_kernel(side, xi, dim)
    np.testing.assert_allclose(model.latent_covariance, truth, rtol=0, atol=1e-15)
    np.testing.assert_allclose(cov.gaussian_kernel(side, xi, dim=dim, boundary="open"), truth,
                               rtol=0, atol=1e-15)
    root = model._latent.sqrt_apply(np.eye(model.n))      # the linear map fill() applies
    np.testing.assert_allclose(root @ root.T, truth, rtol=0, atol=1e-12)
    assert 0.0 <= model.clipped < 1e-14


def test_sample_covariance_matches_the_closed_form(drawn):
    model, X, sigma, _ = drawn
    np.testing.assert_allclose(model.covariance, sigma, rtol=0, atol=1e-12)
    assert worst_se(X, sigma) < Z


def test_pixel_fourth_moment_matches_the_marginal(drawn):
    _, X, _, fourth = drawn
    per_sample = np.mean(X**4, axis=1)            # samples are independent, pixels are not
    se = per_sample.std(ddof=1) / math.sqrt(per_sample.size)
    assert abs(per_sample.mean() - fourth) < Z * se


def test_opposite_edges_are_uncorrelated_only_with_open_boundaries(drawn):
    model, X, sigma, _ = drawn
    last = model.side - 1                          # pixel (0, last) in 2D, last pixel in 1D
    periodic = type(model).from_params({**model.params, "boundary": "periodic"})
    assert periodic.params == {k: v for k, v in model.params.items() if k != "boundary"}
    # open: distance n - 1, correlation ~ exp(-(n-1)^2/xi^2) < 0.01; periodic: distance 1
    assert abs(model.covariance[0, last]) < 0.01
    assert periodic.covariance[0, last] == pytest.approx(periodic.covariance[0, 1], abs=1e-14)
    assert periodic.covariance[0, last] > 0.5
    prod = X[:, 0] * X[:, last]
    assert abs(prod.mean() - sigma[0, last]) < Z * prod.std(ddof=1) / math.sqrt(prod.size)
    assert abs(prod.mean()) < 0.02
    Y = periodic.sample(20_000, rng=8)
    assert np.mean(Y[:, 0] * Y[:, last]) > 0.4


@pytest.mark.parametrize("model", [
    NLGP(10, 2.0, 3.0, boundary="open"), NLGP(5, 1.0, 0.5, 2, boundary="open"),
    NORTA(10, 2.0, L.Algebraic(5.0), boundary="open")], ids=repr)
def test_params_round_trip_and_name_open_boundaries_only(model):
    params = model.params
    assert params["boundary"] == "open" and "open boundaries" in model.describe()
    again = from_params(params)
    assert again.params == params
    np.testing.assert_array_equal(again.sample(7, rng=3), model.sample(7, rng=3))
    periodic = from_params({k: v for k, v in params.items() if k != "boundary"})
    assert "boundary" not in periodic.params and "boundary" not in periodic.describe()
    assert from_params({**params, "boundary": "periodic"}).params == periodic.params


def test_reference_periodic_params_are_unchanged():
    assert NLGP(40, 3.0, 2.0).params == {"model": "nlgp", "n": 40, "xi": 3.0, "g": 2.0, "dim": 1}
    assert NORTA(8, 1.0, L.Uniform(), 2).params == {
        "model": "norta", "n": 8, "xi": 1.0, "marginal": {"name": "uniform"}, "dim": 2}
    np.testing.assert_array_equal(cov.gaussian_kernel(9, 2.0), np.exp(-(cov.ring_distance(9)
                                                                        / 2.0) ** 2))


@pytest.mark.parametrize("make", [
    lambda b: NLGP(8, 2.0, 1.0, boundary=b),
    lambda b: NORTA(8, 2.0, L.Uniform(), boundary=b),
    lambda b: from_params({"model": "nlgp", "n": 8, "xi": 2.0, "g": 1.0, "boundary": b}),
    lambda b: cov.gaussian_kernel(8, 2.0, boundary=b)])
@pytest.mark.parametrize("bad", ["closed", "Open", None, 1])
def test_a_bad_boundary_names_the_parameter_and_the_choices(make, bad):
    with pytest.raises(ParameterError, match=r"boundary must be one of \('periodic', 'open'\)"
                       ) as info:
        make(bad)
    assert repr(bad) in str(info.value)


def test_fused_sampler_refuses_open_fields_and_batched_sgd_runs():
    task = TwoClass(NLGP(8, 2.0, 3.0, boundary="open"), NLGP(8, 1.0, 3.0, boundary="open"))
    assert task.positive.parts() is None
    with pytest.raises(ParameterError, match='sampler="fused"'):
        train_sgd(None, task, 0.1, 2, 10, 0, sampler="fused")
    run = train_sgd(None, task, 0.1, 3, 10, 0, sampler="batched", eval_size=0)
    assert np.all(np.isfinite(run.final))


def test_two_class_of_open_fields_from_params_and_its_gaussian_clone():
    params = {"model": "two-class", "p": 0.3,
              "positive": NLGP(4, 2.0, 3.0, 2, boundary="open").params,
              "negative": NORTA(4, 1.0, L.Laplace(), 2, boundary="open").params}
    task = from_params(params)
    assert task.params == params
    X, y = task.sample(60_000, rng=5)
    for label, sigma in zip((1.0, 0.0), task.covariances, strict=True):
        assert worst_se(X[y == label], sigma) < Z
    clone = from_params(task.gaussian_clone().positive.params)
    assert not clone.circulant and clone.params == {"model": "gaussian-clone",
                                                    "of": params["positive"]}
    np.testing.assert_array_equal(clone.covariance, task.positive.covariance)


def test_gaussian_clone_of_an_open_field_samples_its_covariance_densely():
    model = NLGP(12, 3.0, 2.0, boundary="open")
    clone = gaussian_clone(model)
    assert isinstance(clone, GaussianProcess) and not clone.circulant
    X = clone.sample(M, rng=9)
    assert worst_se(X, model.covariance) < Z
    excess = np.mean(X**4, axis=0) - 3.0          # Gaussian pixels: no excess kurtosis
    assert np.max(np.abs(excess)) < Z * math.sqrt(96 / M)


def test_elliptical_open_boundary_has_the_open_kernel_as_covariance():
    """x = r L u with E r^2 = N: covariance C exactly; sample covariance within 5 SE."""
    from rfloc.numerics.data import Elliptical, from_params

    n, xi = 10, 2.0
    model = Elliptical(n, xi, "student-t", nu=5.0, boundary="open")
    i = np.arange(n)
    kernel = np.exp(-((i[:, None] - i[None, :]) ** 2) / xi**2)
    np.testing.assert_allclose(model.covariance, kernel, atol=1e-12)
    assert model.params["boundary"] == "open" and "open boundaries" in model.describe()
    assert from_params(model.params).params == model.params
    assert "boundary" not in Elliptical(n, xi).params
    x = model.sample(100_000, 4)
    prods = x[:, :, None] * x[:, None, :]
    se = prods.std(axis=0) / np.sqrt(len(x))
    assert np.all(np.abs(prods.mean(axis=0) - kernel) < 5 * se + 1e-12)
