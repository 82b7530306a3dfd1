"""Effective dynamics: symbolic derivation vs finite differences; rhs vs brute-force MC."""

import math

import numpy as np
import pytest
import sympy as sp

from rfloc.errors import ParameterError
from rfloc.theory import Binary, Gaussian, Laplace, Uniform, amplifier, effective_dynamics
from rfloc.theory.covariance import gaussian_kernel
from rfloc.theory.dynamics import per_sample_flow


def test_per_sample_flow_matches_finite_differences():
    h, y = sp.Symbol("h", real=True), sp.Symbol("y", real=True)
    flow = sp.lambdify((h, y), per_sample_flow().rewrite(sp.Piecewise))
    for hv in (-1.3, -0.2, 0.4, 2.5):
        for yv in (0.0, 1.0):
            def loss(t, yv=yv):
                return (yv - max(t, 0.0)) ** 2
            eps = 1e-6
            fd = -(loss(hv + eps) - loss(hv - eps)) / (2 * eps)
            assert float(flow(hv, yv)) == pytest.approx(fd, abs=1e-6)


def test_equation_structure_and_linear_cases():
    gauss = effective_dynamics(Gaussian())
    binary = effective_dynamics(Binary())
    assert gauss.is_linear and not binary.is_linear
    a_i = sp.Symbol("a_i", real=True)
    # Gaussian: rhs is linear in a_i with slope p sqrt(2/pi)
    rhs = gauss.equation.rhs
    assert sp.simplify(sp.diff(rhs, a_i) - sp.sqrt(2 / sp.pi) / 2) == 0
    assert sp.diff(rhs, a_i, 2) == 0
    # Binary: the amplifier's closed form appears
    assert binary.equation.rhs.has(sp.erf)
    # elliptical data: linear whatever the marginal
    assert effective_dynamics(Laplace(), elliptical=True).is_linear
    assert len(binary.derivation) == 5 and "Gaussian" in " ".join(binary.assumptions)
    assert "elliptical" in " ".join(effective_dynamics(Uniform(), elliptical=True).assumptions)
    assert binary.latex().startswith(r"\frac{d}{d t} w_{i}")


def test_p_enters_as_derived():
    dyn = effective_dynamics(Gaussian(), p=0.25)
    a_i = sp.Symbol("a_i", real=True)
    assert sp.simplify(sp.diff(dyn.equation.rhs, a_i) - sp.sqrt(2 / sp.pi) / 4) == 0
    for bad in (0, 1, -0.1, 1.5):
        with pytest.raises(ParameterError, match="p must be in"):
            effective_dynamics(Gaussian(), p=bad)


def _circulant_sqrt(cov):
    ev, vec = np.linalg.eigh(cov)
    return vec * np.sqrt(np.clip(ev, 0, None))


def _sign_gp(n, xi, m, rng):
    """+-1 pixels x = sign(z), z ~ N(0, C_xi): Ising-like data with a known covariance."""
    c = gaussian_kernel(n, xi)
    root = _circulant_sqrt(c)
    z = rng.standard_normal((m, n)) @ root.T
    return np.sign(z), 2 / np.pi * np.arcsin(c)


def _mc_flow(x1, x0, w, p=0.5):
    """Brute-force 2 p E_1[x 1(w.x>0)] - 2 E[ReLU(w.x) x] from samples of each class."""
    pos = 2 * p * (x1 * (x1 @ w > 0)[:, None])
    relu1 = np.maximum(x1 @ w, 0)[:, None] * x1
    relu0 = np.maximum(x0 @ w, 0)[:, None] * x0
    lin = 2 * (p * relu1.mean(0) + (1 - p) * relu0.mean(0))
    return pos.mean(0) - lin, relu1, relu0, pos


def test_rhs_linear_part_is_exact_on_pm1_data():
    rng = np.random.default_rng(0)
    n, m = 16, 400_000
    x1, s1 = _sign_gp(n, 3.0, m, rng)
    x0, s0 = _sign_gp(n, 1.0, m, rng)
    w = rng.standard_normal(n)
    _, relu1, relu0, _ = _mc_flow(x1, x0, w)
    for relu, s in ((relu1, s1), (relu0, s0)):
        se = relu.std(0) / math.sqrt(m)
        assert np.all(np.abs(relu.mean(0) - 0.5 * s @ w) <= 5 * se)


def test_rhs_is_exact_for_gaussian_data():
    rng = np.random.default_rng(1)
    n, m = 12, 400_000
    c1, c0 = gaussian_kernel(n, 3.0), gaussian_kernel(n, 1.0)
    x1 = rng.standard_normal((m, n)) @ _circulant_sqrt(c1).T
    x0 = rng.standard_normal((m, n)) @ _circulant_sqrt(c0).T
    w = rng.standard_normal(n)
    mc, _, _, pos = _mc_flow(x1, x0, w)
    pred = effective_dynamics(Gaussian()).rhs(w, c1, c0)
    se = pos.std(0) / math.sqrt(m) * 1.5
    assert np.all(np.abs(mc - pred) <= 5 * se)


@pytest.mark.parametrize("marg", [Binary(), Uniform()], ids=repr)
def test_amplifier_is_exact_in_the_clt_regime(marg):
    """Independent pixels, one large weight among many small ones: w.x | x_0 is Gaussian
    to O(1/N), so E[x_0 1(w.x>0)] = phi(a_0)/2 — and measurably not the linear value."""
    rng = np.random.default_rng(2)
    n, m = 400, 200_000
    amp = amplifier(marg)
    for a0 in (0.5, 0.85):
        w = rng.uniform(0.5, 1.5, n)                        # non-lattice sums of +-1 pixels
        rest = np.sum(w[1:] ** 2)
        w[0] = a0 * math.sqrt(rest / (1 - a0**2))          # w_0 / |w| = a0
        est = np.empty(m)
        for start in range(0, m, 50_000):
            x = marg.sample((50_000, n), rng)
            est[start:start + 50_000] = x[:, 0] * (x @ w > 0)
        se = est.std() / math.sqrt(m)
        assert abs(2 * est.mean() - float(amp(a0))) <= 2 * 5 * se
        if a0 > 0.8:      # far from a = 0 the nonlinearity is resolved by the sample
            assert abs(2 * est.mean() - math.sqrt(2 / math.pi) * a0) > 2 * 8 * se


def test_rhs_tracks_brute_force_on_correlated_pm1_data():
    """Correlated +-1 data: the Gaussian-conditional step is an approximation. Measured
    relative error of the amplifier term for random w, N = 40: well under 25 %; the
    prediction must still be strongly aligned with the Monte-Carlo flow."""
    rng = np.random.default_rng(3)
    n, m = 40, 200_000
    x1, s1 = _sign_gp(n, 3.0, m, rng)
    x0, s0 = _sign_gp(n, 1.0, m, rng)
    dyn = effective_dynamics(Binary())
    for _ in range(2):
        w = rng.standard_normal(n)
        mc, _, _, _ = _mc_flow(x1, x0, w)
        pred = dyn.rhs(w, s1, s0)
        cos = mc @ pred / (np.linalg.norm(mc) * np.linalg.norm(pred))
        assert cos > 0.97
        assert np.linalg.norm(mc - pred) / np.linalg.norm(mc) < 0.25


def test_rhs_batched_and_validated():
    c1, c0 = gaussian_kernel(10, 3.0), gaussian_kernel(10, 1.0)
    dyn = effective_dynamics(Binary())
    w = np.random.default_rng(0).standard_normal((3, 10))
    batched = dyn.rhs(w, c1, c0)
    assert np.allclose(batched, np.stack([dyn.rhs(v, c1, c0) for v in w]), atol=1e-14)
    with pytest.raises(ParameterError, match="cov1"):
        dyn.rhs(w, c1[:5, :5], c0)
    with pytest.raises(ParameterError, match="non-zero"):
        dyn.rhs(np.zeros(10), c1, c0)
