"""The effective-dynamics integrator against independent truths.

References used here never go through the integrator's code: a plain NumPy Euler loop,
SciPy's ``solve_ivp`` with its own right-hand side, closed-form SciPy ``erf``, generalized
eigenvectors from ``scipy.linalg.eigh``, and the Runge–Kutta order conditions.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.linalg import eigh
from scipy.special import erf

from rfloc.errors import IntegrationError, ParameterError
from rfloc.numerics.amplifier_table import AmplifierTable
from rfloc.numerics.integrate import integrate_effective
from rfloc.numerics.integrator import DOPRI5, EULER, RK4, _fastphi, _markov
from rfloc.numerics.metrics import cosine, ipr
from rfloc.numerics.trajectory import Trajectory
from rfloc.theory import amplifier
from rfloc.theory.covariance import gaussian_kernel, ising_covariance, torus
from rfloc.theory.marginals import Binary, Laplace, StudentT

N = 40
COV1 = ising_covariance(N, 0.7)
COV0 = ising_covariance(N, 0.3)
BINARY = AmplifierTable.binary()
GAUSSIAN = AmplifierTable.linear(math.sqrt(2 / math.pi))


def binary_phi(a: np.ndarray) -> np.ndarray:
    return erf(a / np.sqrt(2 * (1 - a * a)))


def numpy_rhs(w: np.ndarray, cov1: np.ndarray, cov0: np.ndarray, phi, p: float = 0.5):
    """Independent right-hand side for rows of ``w`` (..., N)."""
    s1 = w @ cov1.T
    a = s1 / np.sqrt(np.sum(w * s1, axis=-1, keepdims=True))
    return p * phi(a) - w @ (p * cov1 + (1 - p) * cov0).T


def small_inits(m: int, seed: int, n: int = N, scale: float = 0.007) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(m, n)) * scale


@pytest.fixture(scope="module")
def tight_reference():
    """``w(t=1)`` from w0 of norm ~3 by DOP853 at rtol 1e-13 on the NumPy right-hand side."""
    w0 = np.random.default_rng(3).normal(size=N) * 3 / math.sqrt(N)
    sol = solve_ivp(lambda _t, w: numpy_rhs(w, COV1, COV0, binary_phi), (0.0, 1.0), w0,
                    method="DOP853", rtol=1e-13, atol=1e-15)
    return w0, sol.y[:, -1]


# ---------------------------------------------------------------- Euler = SGD in expectation
@pytest.mark.parametrize("amplifier_tol", [1e-13, 0.0])
@pytest.mark.parametrize("products", ["dense", "markov"])
def test_euler_matches_plain_numpy_euler(amplifier_tol, products):
    w0 = small_inits(6, seed=1)
    traj = integrate_effective(w0, COV1, COV0, BINARY, 100.0, 0.05, method="euler",
                               save_every=500, amplifier_tol=amplifier_tol, products=products)
    w, saved = w0.copy(), [w0.copy()]
    for k in range(1, 2001):
        w = w + 0.05 * numpy_rhs(w, COV1, COV0, binary_phi)
        if k % 500 == 0:
            saved.append(w.copy())
    np.testing.assert_allclose(traj.t, [0, 25, 50, 75, 100])
    np.testing.assert_allclose(traj.w, np.array(saved), rtol=0, atol=1e-10)
    assert traj.stats["steps"] == [2000] * 6


def test_euler_single_init_and_shortened_last_step():
    w0 = small_inits(1, seed=2)[0]
    traj = integrate_effective(w0, COV1, COV0, BINARY, 1.03, 0.1, method="euler")
    w = w0.copy()
    for h in [0.1] * 10 + [1.03 - 10 * 0.1]:
        w = w + h * numpy_rhs(w, COV1, COV0, binary_phi)
    assert traj.w.shape == (2, N)
    np.testing.assert_allclose(traj.t, [0.0, 1.03])
    np.testing.assert_allclose(traj.w[-1], w, atol=1e-12)
    assert traj.stats["steps"] == 11


def test_fitted_and_duck_typed_amplifiers_reproduce_binary():
    fitted = AmplifierTable.fit(
        lambda th: math.erf(math.tan(th) / math.sqrt(2)) if th < math.pi / 2 - 1e-15 else 1.0)

    class Wrapper:
        table = fitted

    w0 = small_inits(3, seed=4)
    ref = integrate_effective(w0, COV1, COV0, BINARY, 50.0, 0.05, method="euler")
    out = integrate_effective(w0, COV1, COV0, Wrapper(), 50.0, 0.05, method="euler")
    exact = integrate_effective(w0, COV1, COV0, fitted, 50.0, 0.05, method="euler",
                                amplifier_tol=0.0)
    assert out.params["amplifier_cells"] > 0 and exact.params["amplifier_cells"] == 0
    np.testing.assert_allclose(out.w, ref.w, atol=1e-10)
    np.testing.assert_allclose(exact.w, ref.w, atol=1e-10)


def test_theory_amplifier_objects_are_accepted():
    w0 = small_inits(2, seed=18)
    ref = integrate_effective(w0, COV1, COV0, BINARY, 10.0, 0.05, method="rk4")
    out = integrate_effective(w0, COV1, COV0, amplifier(Binary()), 10.0, 0.05, method="rk4")
    np.testing.assert_allclose(out.w, ref.w, atol=1e-10)
    laplace = integrate_effective(w0, COV1, COV0, amplifier(Laplace()), 10.0, 0.05,
                                  method="dopri5")
    assert laplace.ok and np.all(np.isfinite(laplace.w))


@pytest.mark.parametrize("table", [
    BINARY,
    AmplifierTable.fit(lambda th: math.sin(th) ** 3),
    AmplifierTable.fit(lambda th: math.erf(math.tan(th) / math.sqrt(2))
                       if th < math.pi / 2 - 1e-15 else 1.0),
])
def test_fast_amplifier_table_meets_its_tolerance(table):
    coeffs = _fastphi.tabulate(table, 1e-13)
    assert coeffs.shape[0] > 0
    assert _fastphi.max_error(table, coeffs) <= 1e-13
    assert _fastphi.tabulate(AmplifierTable.linear(0.7), 1e-13).shape[0] == 0


@pytest.mark.parametrize(("table", "closed_form"), [
    (BINARY, binary_phi),
    (AmplifierTable.fit(lambda th: math.sin(th) ** 3), lambda a: a**3),
    (amplifier(Laplace()).table, None),
])
def test_core_polynomial_meets_its_tolerance(table, closed_form):
    """The lookup-free core polynomial, at random points (not its check grid), against the
    table and, where there is one, the closed form."""
    centre = _fastphi.core(table, 1e-13)
    a0 = centre[0]
    assert 0.2 <= a0 < 1
    a = np.random.default_rng(5).uniform(-a0, a0, 50_000)
    approx = _fastphi.core_eval(centre[1:], a)
    assert np.max(np.abs(approx - table(a))) <= 1e-13
    if closed_form is not None:
        assert np.max(np.abs(approx - closed_form(a))) <= 2e-13
    assert not np.any(_fastphi.core(AmplifierTable.linear(0.7), 1e-13))


def test_amplifier_without_core_keeps_zero_pixels_zero():
    """Student-t's phi is not analytic at 0 (no core polynomial): pixels with a = 0 must go
    through the cells too. With white covariances and w0 on one pixel, every other pixel has
    a = 0 and phi(0) = 0, so it stays 0 up to the table's error (stale scratch would show)."""
    table = amplifier(StudentT(5)).table
    assert _fastphi.core(table, 1e-13)[0] == 0.0 and _fastphi.tabulate(table, 1e-13).size
    n = 6
    w0 = np.zeros((20, n))  # blocks of 10 rows: transposed Markov steps; 4 rows: row steps
    w0[:, 0] = np.linspace(0.5, 2.0, 20)
    w0[1::2, 3] = 0.3  # odd rows leave phi(a_3) != 0 in the scratch for the next row
    for products, m in itertools.product(("dense", "markov"), (20, 4)):
        traj = integrate_effective(w0[:m], np.eye(n), np.eye(n), table, 0.5, 0.01,
                                   method="euler", save_every=10, products=products)
        assert np.max(np.abs(traj.w[:, 0::2, 1:])) <= 1e-13
        assert np.max(np.abs(traj.w[:, 1::2][:, :, [1, 2, 4, 5]])) <= 1e-13
        exact = integrate_effective(w0[:m], np.eye(n), np.eye(n), table, 0.5, 0.01,
                                    method="euler", save_every=10, amplifier_tol=0.0)
        np.testing.assert_allclose(traj.w, exact.w, rtol=0, atol=1e-12)


# ---------------------------------------------------------------- orders of convergence
def _trees(order: int):
    """Rooted trees with ``order`` nodes, as sorted tuples of child trees."""
    if order == 1:
        return [()]
    found = set()
    for parts in _partitions(order - 1):
        for kids in itertools.product(*(_trees(k) for k in parts)):
            found.add(tuple(sorted(kids)))
    return sorted(found)


def _partitions(n: int, largest: int | None = None):
    largest = n if largest is None else largest
    if n == 0:
        yield ()
        return
    for k in range(min(n, largest), 0, -1):
        for rest in _partitions(n - k, k):
            yield (k, *rest)


def _size(tree) -> int:
    return 1 + sum(_size(k) for k in tree)


def _gamma(tree) -> int:
    return _size(tree) * math.prod(_gamma(k) for k in tree)


def _weights(a: np.ndarray, tree) -> np.ndarray:
    out = np.ones(a.shape[0])
    for kid in tree:
        out = out * (a @ _weights(a, kid))
    return out


def _order(a: np.ndarray, b: np.ndarray, up_to: int = 6) -> int:
    """Largest p such that ``b . Phi(t) = 1/gamma(t)`` for every tree with <= p nodes."""
    for p in range(1, up_to + 1):
        for tree in _trees(p):
            if abs(b @ _weights(a, tree) - Fraction(1, _gamma(tree))) > 1e-13:
                return p - 1
    return up_to


def test_tree_count_and_tableau_orders():
    assert [len(_trees(p)) for p in range(1, 7)] == [1, 1, 2, 4, 9, 20]
    assert _order(EULER.a, EULER.b) == 1
    assert _order(RK4.a, RK4.b) == 4
    assert _order(DOPRI5.a, DOPRI5.b) == 5
    assert _order(DOPRI5.a, DOPRI5.b - DOPRI5.e) == DOPRI5.error_order == 4


def _fixed_step_errors(method: str, dts, reference, **kw):
    w0, ref = reference
    return np.array([np.max(np.abs(
        integrate_effective(w0, COV1, COV0, BINARY, 1.0, dt, method=method, **kw).w[-1] - ref))
        for dt in dts])


def test_rk4_converges_at_order_4(tight_reference):
    dts = np.array([0.2, 0.1, 0.05, 0.025])
    errors = _fixed_step_errors("rk4", dts, tight_reference)
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert slope == pytest.approx(4.0, abs=0.25)


def test_dopri5_converges_at_order_5(tight_reference):
    # save at every nominal step and accept every step: dopri5 with fixed steps dt
    dts = np.array([0.125, 0.0625, 0.03125, 0.015625])
    errors = _fixed_step_errors("dopri5", dts, tight_reference, save_every=1, rtol=1.0,
                                atol=1e3)
    local = np.log2(errors[:-1] / errors[1:])
    # the 6th-order term of Dormand-Prince is large: slopes fall towards 5 as dt shrinks
    assert np.all(np.diff(local) < 0)
    assert local[-1] == pytest.approx(5.0, abs=0.5)
    assert errors[-1] < 1e-10


# ---------------------------------------------------------------- SciPy agreement
@pytest.mark.parametrize(("method", "kw"), [
    ("rk4", {"dt": 0.005}),
    ("dopri5", {"dt": 0.01, "rtol": 1e-11, "atol": 1e-13}),
    ("scipy-RK45", {"dt": 0.01, "rtol": 1e-11, "atol": 1e-13}),
])
def test_agrees_with_solve_ivp(method, kw):
    w0 = small_inits(2, seed=5, scale=0.05)
    times = np.linspace(0.0, 10.0, 6)
    traj = integrate_effective(w0, COV1, COV0, BINARY, 10.0, method=method, save_at=times,
                               **kw)
    for m in range(2):
        sol = solve_ivp(lambda _t, w: numpy_rhs(w, COV1, COV0, binary_phi), (0.0, 10.0), w0[m],
                        method="DOP853", t_eval=times, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(traj.w[:, m], sol.y.T, atol=1e-8)


# ---------------------------------------------------------------- the science
def test_gaussian_amplifier_converges_to_top_generalized_eigenvector():
    """Linear amplifier: the fixed point is the top eigenvector of (cov1, covbar) — for the
    Ising pair the uniform Fourier mode — with norm p sqrt(2/pi) sqrt(l1)/lbar."""
    covbar = 0.5 * (COV1 + COV0)
    _, vecs = eigh(COV1, covbar)
    top = vecs[:, -1] / np.linalg.norm(vecs[:, -1])
    np.testing.assert_allclose(np.abs(top), 1 / math.sqrt(N), atol=1e-10)
    traj = integrate_effective(small_inits(4, seed=6), COV1, COV0, GAUSSIAN, 300.0, 0.1,
                               method="dopri5")
    final = traj.w[-1]
    np.testing.assert_allclose(np.abs(cosine(final, top)), 1.0, atol=1e-10)
    l1, lbar = top @ COV1 @ top, top @ covbar @ top
    radius = 0.5 * math.sqrt(2 / math.pi) * math.sqrt(l1) / lbar
    np.testing.assert_allclose(np.linalg.norm(final, axis=-1), radius, rtol=1e-8)
    np.testing.assert_allclose(ipr(final), 1 / N, rtol=1e-8)


def test_gaussian_amplifier_selects_the_predicted_fourier_mode():
    """A class-1 spectrum peaked at frequency 3: w converges into span{cos, sin}(2 pi 3 i/N)."""
    k = np.arange(N)
    freq = np.minimum(k, N - k)
    spectrum = 0.3 + 3.0 * np.exp(-((freq - 3.0) ** 2) / 2)
    row = np.fft.ifft(spectrum).real
    cov1 = row[(k[None, :] - k[:, None]) % N]
    basis = np.stack([np.cos(2 * np.pi * 3 * k / N), np.sin(2 * np.pi * 3 * k / N)])
    basis /= np.linalg.norm(basis, axis=1, keepdims=True)
    vals, vecs = eigh(cov1, 0.5 * (cov1 + COV0))
    assert vals[-1] - vals[-2] < 1e-10 < vals[-2] - vals[-3]  # a degenerate Fourier pair
    np.testing.assert_allclose(np.linalg.norm(basis @ vecs[:, -2:], axis=0),
                               np.linalg.norm(vecs[:, -2:], axis=0), rtol=1e-10)
    traj = integrate_effective(small_inits(4, seed=7, scale=0.01), cov1, COV0, GAUSSIAN,
                               300.0, 0.1, method="dopri5")
    final = traj.w[-1]
    captured = np.linalg.norm(final @ basis.T, axis=-1) / np.linalg.norm(final, axis=-1)
    np.testing.assert_allclose(captured, 1.0, atol=1e-10)
    np.testing.assert_allclose(ipr(final), 1.5 / N, rtol=1e-6)  # a sinusoid, not localized


def test_binary_ising_receptive_fields_localize():
    w0 = small_inits(8, seed=8)
    binary = integrate_effective(w0, COV1, COV0, BINARY, 100.0, 0.05, method="euler")
    gaussian = integrate_effective(w0, COV1, COV0, GAUSSIAN, 100.0, 0.05, method="euler")
    start, localized, control = ipr(w0), ipr(binary.final), ipr(gaussian.final)
    assert np.all(localized > 3 * start)
    assert np.all(localized > 0.25)
    np.testing.assert_allclose(control, 1 / N, rtol=1e-2)


# ---------------------------------------------------------------- batches and FFT
@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
def test_batch_equals_individual_runs(method):
    w0 = small_inits(20, seed=9, scale=0.05)  # blocks of 10 rows: BLAS products
    batch = integrate_effective(w0, COV1, COV0, BINARY, 5.0, 0.05, method=method,
                                save_every=20)
    assert batch.w.shape == (6, 20, N)
    for m in (0, 7, 19):
        one = integrate_effective(w0[m], COV1, COV0, BINARY, 5.0, 0.05, method=method,
                                  save_every=20)
        assert one.w.shape == (6, N)
        np.testing.assert_allclose(batch.w[:, m], one.w, rtol=0, atol=1e-13)
        if method == "dopri5":
            assert batch.stats["steps"][m] == one.stats["steps"]


@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
@pytest.mark.parametrize("geometry", ["ring", "torus"])
def test_fft_products_match_dense(method, geometry):
    if geometry == "ring":
        cov1, cov0 = COV1, COV0
    else:
        cov1, cov0 = torus(ising_covariance(8, 0.7)), torus(ising_covariance(8, 0.3))
    w0 = small_inits(3, seed=10, n=cov1.shape[0], scale=0.05)
    kw = {"method": method, "save_every": 25, "rtol": 1e-10, "atol": 1e-12}
    dense = integrate_effective(w0, cov1, cov0, BINARY, 5.0, 0.02, products="dense", **kw)
    fft = integrate_effective(w0, cov1, cov0, BINARY, 5.0, 0.02, products="fft", **kw)
    assert fft.params["products"] == "fft" and dense.params["products"] == "dense"
    tol = 1e-8 if method == "dopri5" else 1e-13  # FFT path: one step size for the batch
    np.testing.assert_allclose(fft.w, dense.w, rtol=0, atol=tol)


@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5"])
@pytest.mark.parametrize("m", [1, 5, 70])
def test_markov_products_match_dense(method, m):
    """O(N) products through the cyclic tridiagonal precision of the Ising ring = dense
    products, for single rows, small blocks and several parallel blocks (transposed Euler)."""
    w0 = small_inits(m, seed=13, scale=0.05)
    kw = {"method": method, "save_every": 25, "rtol": 1e-10, "atol": 1e-12}
    dense = integrate_effective(w0, COV1, COV0, BINARY, 5.0, 0.02, products="dense", **kw)
    fast = integrate_effective(w0, COV1, COV0, BINARY, 5.0, 0.02, products="markov", **kw)
    assert fast.params["products"] == "markov" and dense.params["products"] == "dense"
    np.testing.assert_allclose(fast.w, dense.w, rtol=0, atol=1e-12)


def test_markov_factors_reproduce_the_covariance():
    """The factors' products equal the dense matrix for Ising rings (odd and even N), an open
    AR(1) chain; refused for covariances whose inverse is not tridiagonal, and (rather than
    inaccurate) for nearly singular ones."""
    for n, coupling in ((3, 0.5), (7, 1.0), (7, 2.0), (7, 3.0), (40, 0.7), (101, 0.05)):
        cov = ising_covariance(n, coupling)
        fac = _markov.factor(cov)
        if fac is None:
            assert np.linalg.cond(cov) > 1e3
            continue
        x = np.eye(n)
        _markov.sweep(x, x, fac, np.empty(n))
        np.testing.assert_allclose(x, cov, rtol=0, atol=1e-12)
    assert _markov.factor(ising_covariance(40, 0.7)) is not None
    chain = 0.6 ** np.abs(np.subtract.outer(np.arange(12), np.arange(12)))
    assert _markov.factor(chain) is not None
    assert _markov.factor(gaussian_kernel(N, 3.0)) is None
    assert _markov.factor(COV1 @ COV1) is None  # pentadiagonal inverse
    assert _markov.factor(-COV1) is None  # not positive definite


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 60), seed=st.integers(0, 2**32 - 1),
       cyclic=st.booleans(), margin=st.floats(0.05, 2.0))
def test_markov_factors_for_any_cyclic_tridiagonal_precision(n, seed, cyclic, margin):
    """C = Q^-1 for a random (not circulant) symmetric cyclic tridiagonal Q, diagonally
    dominant by ``margin``: the factors reproduce C (dense inverse) and scale it by the weight;
    products of a random block equal the dense ones."""
    rng = np.random.default_rng(seed)
    beta = rng.uniform(-1.0, 1.0, n)
    if not cyclic:
        beta[-1] = 0.0
    q = np.diag(np.abs(beta) + np.abs(np.roll(beta, 1)) + margin)
    idx = np.arange(n)
    q[idx, (idx + 1) % n] += beta
    q[(idx + 1) % n, idx] += beta
    cov = np.linalg.inv(q)
    cov = 0.5 * (cov + cov.T)
    fac = _markov.factor(cov, 0.25)
    if fac is None:  # refused only when ill-conditioned
        assert np.linalg.cond(cov) > 1e3
        return
    x = np.eye(n)
    _markov.sweep(x, x, fac, np.empty(n))
    np.testing.assert_allclose(x, cov, rtol=0, atol=1e-12 * np.max(np.abs(cov)))
    y = rng.normal(size=n)
    out = np.empty(2 * n)
    _markov.row_products(y, np.stack([fac, _markov.factor(cov, 0.75)]), out)
    np.testing.assert_allclose(out, np.concatenate([cov @ y, cov @ y]), rtol=0,
                               atol=1e-12 * np.max(np.abs(cov)) * np.sum(np.abs(y)))


def test_products_auto_detection_and_rejection():
    w0 = small_inits(1, seed=11)[0]
    assert integrate_effective(w0, COV1, COV0, BINARY, 0.1, 0.05).params["products"] == "markov"
    gauss1, gauss0 = gaussian_kernel(N, 3.0), gaussian_kernel(N, 1.0)
    assert integrate_effective(w0, gauss1, gauss0, BINARY, 0.1, 0.05).params["products"] == \
        "dense"
    big1, big0 = torus(ising_covariance(16, 0.7)), torus(ising_covariance(16, 0.3))
    w_big = small_inits(1, seed=11, n=256)[0]
    assert integrate_effective(w_big, big1, big0, BINARY, 0.1, 0.05).params["products"] == "fft"
    shuffled = np.random.default_rng(0).permutation(N)
    with pytest.raises(ParameterError, match="products='fft'"):
        integrate_effective(w0, COV1[np.ix_(shuffled, shuffled)], COV0, BINARY, 0.1, 0.05,
                            products="fft")
    with pytest.raises(ParameterError, match="products='markov'"):
        integrate_effective(w0, gauss1, gauss0, BINARY, 0.1, 0.05, products="markov")
    with pytest.raises(ParameterError, match="products='markov' is for the Numba methods"):
        integrate_effective(w0, COV1, COV0, BINARY, 0.1, 0.05, method="scipy-RK45",
                            products="markov")


# ---------------------------------------------------------------- failures
@pytest.mark.parametrize("products", ["dense", "fft", "markov"])
def test_divergence_is_reported(products):
    w0 = small_inits(3, seed=12)
    # Euler is unstable for dt > 2 / lambda_max(covbar) ~ 0.7
    with pytest.raises(IntegrationError, match=r"diverged at step \d+, t = "):
        integrate_effective(w0, COV1, COV0, BINARY, 2000.0, 2.0, method="euler",
                            products=products)
    traj = integrate_effective(w0, COV1, COV0, BINARY, 2000.0, 2.0, method="euler",
                               products=products, on_failure="return", save_every=10)
    assert traj.status == "diverged" and not traj.ok
    assert "initial condition" in traj.message and "NaN/overflow" in traj.message
    assert traj.stats["status"] == ["diverged"] * 3
    assert np.all(np.isfinite(traj.w[0])) and np.all(np.isnan(traj.w[-1]))


@pytest.mark.parametrize("method", ["euler", "rk4", "dopri5", "scipy-RK45"])
def test_collapse_is_reported(method):
    w0 = small_inits(3, seed=13)
    w0[1] = 0.0
    with pytest.raises(IntegrationError, match=r"initial condition 1 of 3 collapsed at "
                                               r"step 0, t = 0"):
        integrate_effective(w0, COV1, COV0, BINARY, 1.0, 0.05, method=method)
    traj = integrate_effective(w0, COV1, COV0, BINARY, 1.0, 0.05, method=method,
                               on_failure="return", save_every=5)
    assert traj.status == "collapsed"
    assert traj.stats["status"] == ["ok", "collapsed", "ok"]
    assert np.all(np.isnan(traj.w[1:, 1])) and np.all(np.isfinite(traj.w[:, [0, 2]]))
    # a vanishing amplifier lets -covbar w shrink w until ||w||_cov1 <= collapse_tol
    decay = integrate_effective(np.ones(N), COV1, COV0, AmplifierTable.linear(0.0), 100.0,
                                0.05, method=method, collapse_tol=1e-3, on_failure="return")
    assert decay.status == "collapsed"
    assert "||w||_Sigma1" in decay.message
    at = float(decay.message.split("t = ")[1].split(":")[0])
    # uniform mode w0 = 1: ||w(t)||_cov1 = sqrt(N l1) e^{-lbar t}, or (1 - lbar dt)^k (Euler)
    l1, lbar = COV1.sum(axis=1)[0], 0.5 * (COV1 + COV0).sum(axis=1)[0]
    rate = -math.log(1 - lbar * 0.05) / 0.05 if method == "euler" else lbar
    assert at == pytest.approx(math.log(math.sqrt(N * l1) / 1e-3) / rate, abs=0.06)


def test_max_steps():
    w0 = small_inits(2, seed=14)
    traj = integrate_effective(w0, COV1, COV0, BINARY, 100.0, 0.05, method="dopri5",
                               max_steps=3, on_failure="return")
    assert traj.status == "max_steps" and "max_steps = 3" in traj.message
    with pytest.raises(ParameterError, match="max_steps"):
        integrate_effective(w0, COV1, COV0, BINARY, 100.0, 0.05, method="euler", max_steps=10)


# ---------------------------------------------------------------- results and inputs
def test_trajectory_metadata_round_trip(tmp_path):
    w0 = small_inits(2, seed=15)
    before = w0.copy()
    traj = integrate_effective(w0, COV1, COV0, BINARY, 2.0, 0.1, method="rk4",
                               save_at=[0.0, 0.5, 2.0])
    np.testing.assert_array_equal(w0, before)
    np.testing.assert_allclose(traj.t, [0.0, 0.5, 2.0])
    np.testing.assert_array_equal(traj.w[0], w0)
    params = traj.params
    for key, value in {"method": "rk4", "dt": 0.1, "t_end": 2.0, "p": 0.5, "N": N, "M": 2,
                       "batched": True}.items():
        assert params[key] == value
    assert set(params["sha256"]) == {"w0", "cov1", "cov0", "amplifier"}
    assert traj.stats["steps"] == [20, 20] and traj.stats["wall_time"] > 0
    traj.save(tmp_path / "run")
    back = Trajectory.load(tmp_path / "run")
    np.testing.assert_array_equal(back.w, traj.w)
    assert back.params == traj.params


def test_adaptive_saves_land_on_requested_times():
    traj = integrate_effective(small_inits(1, seed=16)[0], COV1, COV0, BINARY, 3.0, 0.2,
                               method="dopri5", save_every=2)
    np.testing.assert_allclose(traj.t, [0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 3.0])
    assert traj.w.shape == (9, N) and traj.ok


def _bad(**override):
    args = {"w0": small_inits(2, seed=17), "cov1": COV1, "cov0": COV0, "amplifier": BINARY,
            "t_end": 1.0, "dt": 0.1}
    args.update(override)
    return args


@pytest.mark.parametrize(("override", "match"), [
    ({"w0": np.zeros((2, 2, N))}, "w0 must have shape"),
    ({"w0": np.full(N, np.nan)}, "w0 must be finite"),
    ({"cov1": COV1[:-1, :-1]}, r"cov1 must have shape \(40, 40\)"),
    ({"cov0": np.triu(COV0)}, "cov0 must be symmetric"),
    ({"cov1": -COV1}, "cov1 must be positive semi-definite"),
    ({"amplifier": lambda a: a}, "amplifier must be an AmplifierTable"),
    ({"t_end": 0.0}, r"t_end must be finite and in \(0, inf\)"),
    ({"dt": -0.1}, r"dt must be finite and in \(0, inf\)"),
    ({"method": "rk45"}, "method must be one of"),
    ({"p": 1.0}, r"p must be in \(0, 1\)"),
    ({"save_every": 0}, "save_every must be an integer >= 1"),
    ({"save_every": 2, "save_at": [0.0]}, "at most one of save_every and save_at"),
    ({"save_at": [0.5, 0.2]}, "save_at must be strictly increasing"),
    ({"save_at": [0.25], "method": "euler"}, "step grid"),
    ({"rtol": 0.0}, r"rtol must be finite and in \(0, inf\)"),
    ({"on_failure": "ignore"}, "on_failure must be"),
    ({"collapse_tol": -1.0}, r"collapse_tol must be finite and in \[0, inf\)"),
    ({"products": "sparse"}, "products must be one of"),
])
def test_invalid_inputs_name_the_parameter(override, match):
    with pytest.raises(ParameterError, match=match):
        integrate_effective(**_bad(**override))
