"""The theory side of a spec (validation/theory_side.py) against independent truths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import erf

from rfloc.errors import ParameterError
from rfloc.numerics.data import TwoClass, from_params
from rfloc.numerics.integrate import integrate_effective
from rfloc.validation import catalog
from rfloc.validation.spec import SpecError
from rfloc.validation.tasks import _ode
from rfloc.validation.theory_side import (
    needs_draws,
    sample_kurtosis,
    theory_side,
)

A = np.array([-0.95, -0.6, -0.2, 0.0, 0.1, 0.5, 0.9, 0.99])
C = math.sqrt(2 / math.pi)


def test_sample_kurtosis_is_scipys_fisher_biased_estimate():
    x = np.random.default_rng(0).standard_t(7, size=5000)
    assert sample_kurtosis(x) == pytest.approx(stats.kurtosis(x, fisher=True, bias=True),
                                               rel=1e-12)
    assert sample_kurtosis(np.tile([-1.0, 1.0], 50)) == pytest.approx(-2.0, abs=1e-14)


def test_binary_amplifier_is_the_closed_form():
    side = theory_side(TwoClass.nlgp(3.0), {"amplifier": "binary"})
    np.testing.assert_allclose(side.table(A), erf(A / np.sqrt(2 * (1 - A * A))),
                               rtol=1e-12, atol=1e-14)


def test_sample_kappa_of_pm1_pixels_is_minus_two():
    """Ising pixels are ±1: with sample mean m the estimate is exactly
    (1 + 2m^2 - 3m^4)/(1 - m^2)^2 - 3 = -2 + 4m^2 + O(m^4); m ~ N(0, 1/n), so 4m^2 < 0.02
    at n = 4000 unless |m| is beyond 4.5 standard errors."""
    side = theory_side(TwoClass.ising(), {"amplifier": "cubic", "kappa": "sample",
                                          "samples": 4000, "seed": 3})
    assert -2.0 <= side.kappa < -2.0 + 0.02
    assert side.pixel_draws == 4000
    np.testing.assert_allclose(side.table(A), C * (A - side.kappa * A**3 / 6), atol=1e-11)


def test_exact_and_sample_kappa_agree_within_error_for_uniform_norta():
    """Uniform pixels: exact kappa -1.2; the sample estimate's SE at n = 20 000 is ~0.01."""
    mk = {"model": "norta", "n": 16, "dim": 1, "marginal": {"name": "uniform"}}
    task = from_params({"model": "two-class", "p": 0.5,
                                 "positive": {**mk, "xi": 3.0}, "negative": {**mk, "xi": 1.0}})
    exact = theory_side(task, {"amplifier": "cubic"}).kappa
    sample = theory_side(task, {"amplifier": "cubic", "kappa": "sample", "samples": 20_000,
                                "seed": 1}).kappa
    assert exact == pytest.approx(-1.2, abs=1e-9)
    assert abs(sample - exact) < 5 * 0.012


def test_empirical_amplifier_tracks_the_exact_one():
    task = TwoClass.ising()
    side = theory_side(task, {"amplifier": "empirical", "samples": 20_000, "seed": 5})
    exact = erf(A / np.sqrt(2 * (1 - A * A)))
    # phi_n(a) = E[x erf(...)]-type sample mean of bounded terms: SE <= 1/sqrt(n) = 0.007
    np.testing.assert_allclose(side.table(A), exact, atol=0.03)


def test_empirical_covariances_within_monte_carlo_error():
    task = TwoClass.nlgp(3.0, n=12)
    n = 40_000
    side = theory_side(task, {"covariances": "empirical", "samples": n, "seed": 2})
    for est, cov in zip((side.cov1, side.cov0), task.covariances, strict=True):
        # Var(x_i x_j) <= E x_i^2 x_j^2 <= sqrt(E x^4 E x^4) <= 3 for these sub-Gaussian pixels
        assert np.max(np.abs(est - cov)) < 5 * math.sqrt(3 / n)
        assert np.max(np.abs(est - cov)) > 0          # really estimated


def test_covariance_data_uses_another_gain_for_the_covariances_only():
    task = TwoClass.nlgp(1.1)
    side = theory_side(task, {"covariance_data": {"g": 100.0}})
    ref = TwoClass.nlgp(100.0).covariances
    np.testing.assert_array_equal(side.cov1, ref[0])
    np.testing.assert_array_equal(side.cov0, ref[1])
    np.testing.assert_allclose(side.table(A), theory_side(task).table(A), rtol=0, atol=0)


def test_rate_rescales_time_exactly():
    """Euler at rate r and lr is Euler at rate 1 and lr' = r lr, step for step."""
    task = TwoClass.nlgp(3.0)
    w0 = np.random.default_rng(0).normal(size=40) * 0.03
    half = _ode(w0, task, 0.1, 50, 50, {"rate": 0.5})
    ref = _ode(w0, task, 0.05, 50, 50, {})
    np.testing.assert_array_equal(half.final, ref.final)
    assert half.t[-1] == pytest.approx(0.05 * 50)


def test_lsg24_peak_variant_is_the_authors_update():
    """LSG24's peak-comparison notebook: w += (lr/2) (erf(a/sqrt(2(1-a^2)))/2 - (S1+S0)/2 w)
    with the g = 100 covariances, written out here in NumPy."""
    task = TwoClass.nlgp(3.0, xi=(2.0, 1.0))
    s1, s0 = TwoClass.nlgp(100.0, xi=(2.0, 1.0)).covariances
    w = np.random.default_rng(1).normal(size=40) * 0.03
    lr = 0.02
    ode = _ode(w, task, lr, 1, 1, {"amplifier": "binary", "rate": 0.5,
                                   "covariance_data": {"g": 100.0}})
    a = s1 @ w / math.sqrt(w @ s1 @ w)
    f = 0.5 * erf(a / np.sqrt(2 * (1 - a * a)))
    authors = w + 0.5 * lr * (f - (0.5 * s1 + 0.5 * s0) @ w)
    np.testing.assert_allclose(ode.final, authors, rtol=1e-12, atol=1e-15)


def test_lsg24_fig3_variant_is_the_authors_update():
    """LSG24's fig. 3 notebook: w += tau (sqrt(2/pi) a + (3 - K)/6 a^3 - (S0 + S1)/2 w), K the
    pooled raw kurtosis (= 1 for ±1 pixels up to the squared sample mean)."""
    task = TwoClass.ising()
    th = {"amplifier": "lsg24-fig3", "samples": 20_000, "seed": 0}
    side = theory_side(task, th)
    assert side.kappa == pytest.approx(-2.0, abs=2e-3)
    s1, s0 = task.covariances
    w = np.random.default_rng(2).normal(size=40) * 0.03
    tau = 0.05
    one = integrate_effective(w, s1, s0, side.table, t_end=tau, dt=tau, method="euler",
                              p=task.p).final
    a = s1 @ w / math.sqrt(w @ s1 @ w)
    raw = side.kappa + 3
    authors = w + tau * (C * a + (3 - raw) / 6 * a**3 - (s0 + s1) / 2 @ w)
    np.testing.assert_allclose(one, authors, rtol=1e-10, atol=1e-13)


def test_draws_need_a_seed_and_bad_amplifiers_are_refused():
    assert needs_draws({"covariances": "empirical"})
    assert not needs_draws({"amplifier": "cubic", "kappa": "exact"})
    with pytest.raises(ParameterError, match="seed"):
        theory_side(TwoClass.ising(), {"amplifier": "empirical", "samples": 500})
    with pytest.raises(ParameterError, match=r"theory\.amplifier"):
        theory_side(TwoClass.ising(), {"amplifier": "quartic"})
    heavy = {"model": "norta", "n": 8, "marginal": {"name": "algebraic", "k": 4.0}}
    task = from_params({"model": "two-class", "p": 0.5,
                                 "positive": {**heavy, "xi": 2.0},
                                 "negative": {**heavy, "xi": 1.0}})
    with pytest.raises(ParameterError, match="finite excess kurtosis"):
        theory_side(task, {"amplifier": "cubic"})


@pytest.mark.parametrize(("key", "value"), [("theory.amplifier", "quartic"),
                                            ("theory.kappa", "estimated"),
                                            ("theory.samples", 10),
                                            ("theory.rate", -1.0),
                                            ("theory.covariances", "sampled"),
                                            ("protocol.kappa_draws", -5)])
def test_bad_theory_keys_name_the_key(key, value):
    spec = catalog.get("kurtosis-sweep")
    with pytest.raises(SpecError, match=key.replace(".", r"\.")):
        spec.resolve("quick", {key: value})


def test_covariance_data_reaches_the_model_a_clone_copies():
    """A Gaussian clone has its model's covariance, so covariance_data edits that model."""
    task = TwoClass.nlgp(1.1).gaussian_clone()
    side = theory_side(task, {"covariance_data": {"g": 100.0}})
    ref = TwoClass.nlgp(100.0).covariances
    np.testing.assert_array_equal(side.cov1, ref[0])
    np.testing.assert_array_equal(side.cov0, ref[1])


TINY_SPEC = {
    "schema": "rfloc.spec/1", "name": "tiny", "title": "tiny", "source": "a test",
    "data": {"model": "nlgp", "n": 12, "g": 3.0, "positive": {"xi": 3.0},
             "negative": {"xi": 1.0}},
    "training": {"lr": 0.05, "steps": 10, "batch_size": 10},
    "protocol": {"kind": "ipr", "inits": 1},
}


@pytest.mark.parametrize(("overrides", "match"), [
    ({"theory.covariance_data": {"foo": 1.0}}, r"covariance_data .*refused"),
    ({"theory.covariance_data": {"n": 20}}, r"pixel count N from 12 to 20"),
    ({"theory.covariances": "empirical", "theory.samples": 100, "data.n": 150},
     r"theory\.samples = 100 is below N = 150"),
    ({"data": {"model": "norta", "n": 12, "marginal": {"name": "algebraic", "k": 4.0},
               "positive": {"xi": 3.0}, "negative": {"xi": 1.0}},
      "theory.amplifier": "cubic"}, r"theory\.amplifier = 'cubic' needs a finite"),
    ({"network.output": "two-output", "network.k": 2, "protocol": {"kind": "committee"},
      "theory.rate": 0.5}, r"theory\.rate = 0\.5 does not apply"),
])
def test_theory_settings_a_protocol_cannot_use_are_refused_before_work(overrides, match):
    from rfloc.validation.runner import check
    from rfloc.validation.spec import load

    spec = load(TINY_SPEC).resolve("full", overrides)
    with pytest.raises(SpecError, match=match):
        check(spec)
