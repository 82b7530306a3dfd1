"""The exact Ising population gradient and flow against independent truths.

References never go through the transfer-matrix code: brute-force enumeration of all 2^N
rings, Monte Carlo on the exact sampler, the closed form for one non-zero weight, and
the effective ODE's own right-hand side and integrator for Gaussian data.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.special import erf

from rfloc.errors import ParameterError
from rfloc.numerics import ising_population_gradient
from rfloc.numerics.amplifier_table import AmplifierTable
from rfloc.numerics.covariance import ising_covariance
from rfloc.numerics.data import Ising
from rfloc.numerics.integrate import integrate_effective
from rfloc.numerics.integrator import EffectiveODE, SaveAt
from rfloc.numerics.ising_population import PopulationFlow, solve_flow

N = 40
COV1, COV0 = ising_covariance(N, 0.7), ising_covariance(N, 0.3)


def enumerate_gradient(w: np.ndarray, J: float) -> np.ndarray:
    """E[x 1(w.x > 0)] summed over all 2^N periodic rings."""
    s = np.array(list(itertools.product((1.0, -1.0), repeat=w.size)))
    energy = J * np.sum(s * np.roll(s, -1, axis=1), axis=1)
    prob = np.exp(energy - energy.max())
    prob /= prob.sum()
    return (prob * (s @ w > 0)) @ s


def monte_carlo(w: np.ndarray, J: float, samples: int, seed: int) -> tuple[np.ndarray, ...]:
    """Mean and standard error of x 1(w.x > 0) over exact Ising samples, in chunks."""
    model, rng = Ising(w.size, J), np.random.default_rng(seed)
    total, square, done = np.zeros(w.size), np.zeros(w.size), 0
    while done < samples:
        x = model.sample(min(10**6, samples - done), rng)
        v = x * (x @ w > 0)[:, None]
        total += v.sum(axis=0)
        square += (v * v).sum(axis=0)
        done += len(x)
    mean = total / samples
    return mean, np.sqrt((square / samples - mean**2) / samples)


def gaussian_gradient(cov: np.ndarray):
    """E[x 1(w.x > 0)] = Sigma w / (sqrt(2 pi) |w|_Sigma) for Gaussian x."""
    def grad(w: np.ndarray) -> np.ndarray:
        s = w @ cov
        return s / np.sqrt(2 * math.pi * np.sum(w * s, axis=-1, keepdims=True))
    return grad


@pytest.mark.parametrize("n", [4, 7, 10, 13])
@pytest.mark.parametrize("J", [0.0, 0.3, 0.7, 1.5])
def test_matches_enumeration_within_default_tolerance(n, J):
    w = np.random.default_rng(n * 10 + int(10 * J)).normal(size=n)
    got, est = ising_population_gradient(w, J, return_error=True)
    assert np.max(np.abs(got - enumerate_gradient(w, J))) <= 1e-6
    assert est <= 1e-6


def test_matches_enumeration_at_n16_and_tighter_on_request():
    w = np.random.default_rng(16).normal(size=16)
    exact = enumerate_gradient(w, 0.7)
    assert np.max(np.abs(ising_population_gradient(w, 0.7) - exact)) <= 1e-6
    w8 = np.random.default_rng(8).normal(size=8)
    tight = ising_population_gradient(w8, 0.7, tol=1e-10)
    assert np.max(np.abs(tight - enumerate_gradient(w8, 0.7))) <= 1e-10


def test_batches_equal_rows_and_zero_rows_give_zero():
    w = np.random.default_rng(3).normal(size=(3, 9))
    w[1] = 0.0
    got = ising_population_gradient(w, 0.5)
    assert got.shape == (3, 9) and np.all(got[1] == 0.0)
    for row, g in zip(w, got, strict=True):
        assert np.allclose(ising_population_gradient(row, 0.5), g, atol=2e-6)


def _z_scores(samples: int, seed: int) -> np.ndarray:
    w = np.random.default_rng(40).normal(size=N)
    mean, se = monte_carlo(w, 0.7, samples, seed)
    return (mean - ising_population_gradient(w, 0.7)) / se


def test_monte_carlo_at_n40():
    assert np.max(np.abs(_z_scores(10**6, 1))) < 5


@pytest.mark.slow
def test_monte_carlo_at_n40_ten_million_samples():
    assert np.max(np.abs(_z_scores(10**7, 2))) < 5


@pytest.mark.parametrize("J", [0.0, 0.7])
def test_one_nonzero_weight_closed_form_and_gaussian_conditional(J):
    """w = c e_k: E[x_i 1(c x_k > 0)] = sign(c) C(i - k)/2 exactly. The Gaussian
    conditional gives phi(a_i)/2, a_i = sign(c) C(i - k): exact at i = k (and at every i
    for independent pixels, J = 0), wrong elsewhere for J > 0."""
    n, k, c = 12, 5, -0.3
    w = np.zeros(n)
    w[k] = c
    got = ising_population_gradient(w, J)
    a = np.sign(c) * ising_covariance(n, J)[k]
    assert np.allclose(got, 0.5 * a, atol=1e-12)
    phi = erf(a / np.sqrt(2 * np.maximum(1 - a * a, 1e-300)))
    assert got[k] == pytest.approx(0.5 * phi[k], abs=1e-12)
    if J == 0.0:
        assert np.allclose(got, 0.5 * phi, atol=1e-12)
    else:
        assert np.max(np.abs(got - 0.5 * phi)) > 0.02


def test_parameters_are_checked():
    for bad in (np.array([1.0]), np.array([1.0, np.nan]), np.zeros((2, 2, 2))):
        with pytest.raises(ParameterError, match="w must"):
            ising_population_gradient(bad, 0.5)
    with pytest.raises(ParameterError, match="J must"):
        ising_population_gradient(np.ones(4), -0.1)
    with pytest.raises(ParameterError, match="tol"):
        ising_population_gradient(np.ones(4), 0.1, tol=0.0)


def test_flow_rhs_equals_the_effective_rhs_for_gaussian_data():
    """Same factor conventions: 2p E1[x Theta] - Sigma_bar w with the Gaussian population
    term is p phi(a) - Sigma_bar w with the Gaussian amplifier sqrt(2/pi) a."""
    w = np.random.default_rng(0).normal(size=(5, N))
    for p in (0.5, 0.3):
        flow = PopulationFlow(COV1, COV0, gaussian_gradient(COV1), p)
        ode = EffectiveODE(COV1, COV0, AmplifierTable.linear(math.sqrt(2 / math.pi)), p)
        assert np.allclose(flow.rhs(w), ode.rhs(w), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
def test_solve_flow_reproduces_the_integrator_on_gaussian_data(method):
    w0 = 0.1 * np.random.default_rng(1).normal(size=(2, N))
    flow = PopulationFlow(COV1, COV0, gaussian_gradient(COV1))
    gauss = AmplifierTable.linear(math.sqrt(2 / math.pi))
    ours = solve_flow(flow, method, w0, 5.0, 0.05, saveat=SaveAt(every=20))
    ref = integrate_effective(w0, COV1, COV0, gauss, t_end=5.0, dt=0.05, method=method,
                              save_every=20, rtol=1e-8, atol=1e-10)
    tol = 1e-11 if method != "dopri5" else 1e-6
    assert ours.w.shape == ref.w.shape and np.allclose(ours.t, ref.t)
    assert np.max(np.abs(ours.w - ref.w)) <= tol * max(1.0, np.max(np.abs(ref.w)))


def test_exact_ising_flow_tracks_the_effective_ode_while_delocalized():
    """For delocalized w on a long ring the Gaussian conditional is nearly exact (CLT)."""
    n = 100
    flow = PopulationFlow.ising(n, 0.3, 0.1, tol=1e-6)
    ode = EffectiveODE(ising_covariance(n, 0.3), ising_covariance(n, 0.1),
                       AmplifierTable.binary())
    w = np.random.default_rng(2).normal(size=(2, n))
    exact, approx = flow.rhs(w), ode.rhs(w)
    cos = np.sum(exact * approx, axis=1) / np.linalg.norm(exact, axis=1) / np.linalg.norm(
        approx, axis=1)
    assert np.all(cos > 0.999)
