"""Data models against independent truths: analytic covariances, moments, exact Ising laws.

Monte Carlo tolerances are 5 standard errors computed from the samples themselves.
"""

from __future__ import annotations

import itertools
import json
import math
import tracemalloc

import numba
import numpy as np
import pytest
from scipy import stats

from rfloc import theory as T
from rfloc.errors import ParameterError
from rfloc.numerics import covariance as cov
from rfloc.numerics import data as D
from rfloc.numerics import laws as L
from rfloc.numerics.data import _kernels, _normal

Z = 5.0  # tolerance in standard errors


def assert_cov_matches(X: np.ndarray, sigma: np.ndarray, z: float = Z) -> None:
    """Every entry of the empirical second-moment matrix within ``z`` of its own SE."""
    m = X.shape[0]
    emp = X.T @ X / m
    sq = (X * X).T @ (X * X) / m            # E[x_i^2 x_j^2]
    se = np.sqrt(np.maximum(sq - emp**2, 1e-300) / m)
    worst = np.max(np.abs(emp - sigma) / se)
    assert worst < z, f"empirical covariance off by {worst:.2f} standard errors"


def assert_mean_near(v: np.ndarray, target: float, z: float = Z) -> None:
    """Mean of i.i.d. values ``v`` within ``z`` standard errors of ``target``."""
    se = v.std() / math.sqrt(v.size)
    assert abs(v.mean() - target) <= z * se + 1e-12, (v.mean(), target, se)


# ---------------------------------------------------------------- covariances
MODELS = [
    pytest.param(lambda: D.NLGP(40, 3.0, 2.0), id="nlgp-ring"),
    pytest.param(lambda: D.NLGP(40, 10.0, 0.5), id="nlgp-clipped-kernel"),
    pytest.param(lambda: D.NLGP(6, 1.5, 5.0, dim=2), id="nlgp-torus"),
    pytest.param(lambda: D.NORTA(40, 3.0, L.Algebraic(10.0)), id="kur10"),
    pytest.param(lambda: D.NORTA(30, 2.0, L.Laplace()), id="norta-laplace"),
    pytest.param(lambda: D.NORTA(5, 1.0, L.Uniform(), dim=2), id="norta-uniform-torus"),
    pytest.param(lambda: D.Ising(40, 0.7), id="ising"),
    pytest.param(lambda: D.Ising(7, 1.2), id="ising-short-ring"),
    pytest.param(lambda: D.gaussian_clone(D.NLGP(40, 3.0, 100.0)), id="clone"),
    pytest.param(lambda: D.gaussian_clone(D.NLGP(6, 1.0, 1.0, dim=2)), id="clone-torus"),
    pytest.param(lambda: D.Elliptical(40, 3.0), id="shell"),
    pytest.param(lambda: D.Elliptical(40, 1.0, "student-t", nu=12.0), id="student-t"),
    pytest.param(lambda: D.Elliptical(6, 1.0, dim=2), id="shell-torus"),
    pytest.param(lambda: D.NORTA(12, 2.0, T.Laplace()), id="norta-theory-marginal"),
]


@pytest.mark.parametrize("make", MODELS)
def test_empirical_covariance_matches_analytic(make):
    model = make()
    X = model.sample(60_000, rng=1)
    assert X.shape == (60_000, model.n) and X.dtype == np.float64 and X.flags.c_contiguous
    assert_cov_matches(X, model.covariance)
    np.testing.assert_allclose(np.diag(model.covariance), 1.0, rtol=0, atol=1e-12)


def test_dense_gaussian_process_for_a_non_circulant_covariance():
    a = np.random.default_rng(3).standard_normal((12, 20))
    c = a @ a.T
    c /= np.sqrt(np.outer(np.diag(c), np.diag(c)))
    model = D.GaussianProcess(c)
    assert not model.circulant
    assert_cov_matches(model.sample(60_000, rng=2), c)


def test_covariances_equal_the_theory_layer_closed_forms():
    np.testing.assert_allclose(D.NLGP(40, 3.0, 2.0).covariance, cov.nlgp_covariance(40, 3.0, 2.0),
                               atol=1e-14)
    np.testing.assert_allclose(D.Ising(40, 0.3).covariance, cov.ising_covariance(40, 0.3),
                               atol=0)
    np.testing.assert_allclose(D.Elliptical(40, 3.0).covariance, cov.gaussian_kernel(40, 3.0),
                               atol=1e-15)
    kur = D.NORTA(40, 3.0, L.Algebraic(5.0))
    np.testing.assert_allclose(kur.covariance,
                               cov.norta_covariance(cov.gaussian_kernel(40, 3.0),
                                                    L.Algebraic(5.0)),
                               atol=1e-15)


def test_torus_covariance_is_a_kronecker_product():
    ring, torus = D.NLGP(10, 2.0, 1.0), D.NLGP(10, 2.0, 1.0, dim=2)
    k1 = ring.latent_covariance
    np.testing.assert_array_equal(k1, cov.gaussian_kernel(10, 2.0))
    np.testing.assert_array_equal(torus.latent_covariance, np.kron(k1, k1))
    np.testing.assert_allclose(torus.covariance, cov.nlgp_covariance(10, 2.0, 1.0, dim=2),
                               atol=1e-14)
    clipped = D.Elliptical(8, 2.0, dim=2)       # a clipped ring kernel stays separable
    k8 = D.Elliptical(8, 2.0).covariance
    np.testing.assert_array_equal(clipped.covariance, np.kron(k8, k8))
    clone = D.gaussian_clone(clipped)
    k1 = k8
    np.testing.assert_allclose(clone.covariance, np.kron(k1, k1), atol=1e-15)
    assert clone.circulant and clone.side == 8 and clone.n == 64 and clone.dim == 2


def test_clipped_kernel_is_the_nearest_psd_correlation():
    model = D.NLGP(40, 10.0, 1.0)          # exp(-d^2/100) on 40 sites is not PSD
    assert model.clipped > 1e-3
    lat = model.latent_covariance
    np.testing.assert_allclose(np.diag(lat), 1.0, atol=1e-14)
    assert np.linalg.eigvalsh(lat).min() > -1e-12
    assert D.NLGP(40, 3.0, 1.0).clipped == 0.0     # the reference kernel is PD


# ---------------------------------------------------------------- marginals
@pytest.mark.parametrize(("model", "kurtosis"), [
    (D.NLGP(40, 3.0, 2.0), float(T.ErfGaussian(2.0).excess_kurtosis())),
    (D.NLGP(40, 1.0, 0.05), float(T.ErfGaussian(0.05).excess_kurtosis())),
    (D.NORTA(40, 3.0, L.Algebraic(10.0)), float(T.Algebraic(10.0).excess_kurtosis())),
    (D.NORTA(40, 1.0, L.Laplace()), 3.0),
    (D.NORTA(40, 1.0, L.Uniform()), -1.2),
    (D.Ising(40, 0.7), -2.0),
    (D.gaussian_clone(D.Ising(40, 0.7)), 0.0),
    (D.Elliptical(40, 1.0), -6.0 / 42.0),
    (D.Elliptical(40, 1.0, "student-t", nu=12.0), 0.75),
])
def test_pixel_moments_match_the_marginal(model, kurtosis):
    X = model.sample(50_000, rng=5)
    if model.marginal is not None:
        assert float(model.marginal.excess_kurtosis()) == pytest.approx(kurtosis, abs=1e-12)
    # averages over pixels within a sample are i.i.d. across samples
    assert_mean_near(X.mean(axis=1), 0.0)
    assert_mean_near((X**2).mean(axis=1), 1.0)
    assert_mean_near((X**4).mean(axis=1), 3.0 + kurtosis)


def test_elliptical_kurtosis_formula_and_radial_callable():
    assert D.Elliptical(40, 1.0).excess_kurtosis() == pytest.approx(-6 / 42)
    assert D.Elliptical(40, 1.0, "student-t", nu=9.0).excess_kurtosis() == pytest.approx(1.2)
    n = 40
    chi = D.Elliptical(n, 2.0, radial=lambda u: np.sqrt(stats.chi2.ppf(u, n)) * 3.0)
    assert chi.marginal is None
    assert chi.excess_kurtosis() == pytest.approx(0.0, abs=1e-8)   # chi radius: Gaussian
    X = chi.sample(50_000, rng=9)
    assert_mean_near((X**4).mean(axis=1), 3.0)
    assert_cov_matches(X, chi.covariance)


def test_shell_samples_lie_on_the_ellipsoid():
    model = D.Elliptical(30, 1.0)
    X = model.sample(1000, rng=4)
    quad = np.einsum("si,ij,sj->s", X, np.linalg.inv(model.covariance), X)
    np.testing.assert_allclose(quad, 30.0, rtol=1e-9)


def test_marginal_objects():
    assert D.NLGP(40, 3.0, 2.0).marginal == L.ErfGaussian(2.0)
    assert D.Ising(10, 0.5).marginal == L.Binary()
    assert D.NORTA(10, 1.0, L.Algebraic(5.0)).marginal == L.Algebraic(5.0)
    assert D.gaussian_clone(D.Ising(10, 0.5)).marginal == L.Gaussian()
    assert D.Elliptical(10, 1.0, "student-t", nu=5.0).marginal == L.StudentT(5.0)
    assert D.Elliptical(10, 1.0).marginal is None
    # the theory layer reads them back as its symbolic marginals; NORTA keeps what it got
    assert T.as_marginal(D.NLGP(40, 3.0, 2.0).marginal) == T.ErfGaussian(2.0)
    assert T.as_marginal(D.Ising(10, 0.5).marginal) == T.Binary()
    assert T.as_marginal(D.gaussian_clone(D.Ising(10, 0.5)).marginal) == T.Gaussian()
    assert D.NORTA(10, 1.0, T.Algebraic(5.0)).marginal == T.Algebraic(5.0)


# ---------------------------------------------------------------- exact Ising
@pytest.mark.parametrize(("n", "J"), [(40, 0.7), (6, 0.7), (2, 0.4)])
def test_ising_nearest_neighbour_correlation_tanh_law_with_periodic_correction(n, J):
    t = math.tanh(J)
    exact = (t + t ** (n - 1)) / (1 + t**n)
    X = D.Ising(n, J).sample(100_000, rng=7)
    bonds = (X * np.roll(X, -1, axis=1)).mean(axis=1)
    assert_mean_near(bonds, exact)
    if n == 6:   # the open-chain tanh law is rejected: the correction is resolved
        assert abs(bonds.mean() - t) > 10 * bonds.std() / math.sqrt(bonds.size)


def test_ising_configurations_follow_the_boltzmann_law():
    n, J, m = 4, 0.8, 200_000
    configs = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    weight = np.exp(J * np.sum(configs * np.roll(configs, -1, axis=1), axis=1))
    X = D.Ising(n, J).sample(m, rng=8)
    codes = ((X > 0) * (1 << np.arange(n)[::-1])).sum(axis=1)
    counts = np.bincount(codes, minlength=2**n)
    _, pvalue = stats.chisquare(counts, m * weight / weight.sum())
    assert pvalue > 1e-4



def test_two_ising_class_batches_follow_the_boltzmann_law_jointly_with_the_labels():
    # the one-call TwoClass path: chi-square of (label, configuration) against
    # Bernoulli(p) x Boltzmann(J_label), over many small batches (as online SGD draws)
    n, J, p, m = 4, (1.1, 0.4), 0.3, 200_000
    task = D.TwoClass.ising(n=n, J=J, p=p)
    configs = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    expected = []
    for prob, coupling in ((1 - p, J[1]), (p, J[0])):              # label 0, label 1
        w = np.exp(coupling * np.sum(configs * np.roll(configs, -1, axis=1), axis=1))
        expected.append(prob * w / w.sum())
    gen = np.random.default_rng(31)
    batches = [task.sample(40, gen) for _ in range(m // 40)]
    X = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    codes = y.astype(int) * 2**n + ((X > 0) * (1 << np.arange(n)[::-1])).sum(axis=1)
    counts = np.bincount(codes, minlength=2**(n + 1))
    _, pvalue = stats.chisquare(counts, m * np.concatenate(expected))
    assert pvalue > 1e-4

def test_ising_consecutive_samples_are_independent():
    X = D.Ising(40, 0.7).sample(100_000, rng=10)
    lag1 = (X[1:] * X[:-1]).mean(axis=1)         # pixel-wise lag-1 products
    assert_mean_near(lag1, 0.0)
    assert_mean_near(X.mean(axis=1), 0.0)        # zero field: symmetric magnetization


def test_ising_extreme_couplings():
    free = D.Ising(5, 0.0).sample(40_000, rng=1)
    assert_mean_near((free[:, 0] * free[:, 1]), 0.0)
    frozen = D.Ising(12, 50.0).sample(1000, rng=1)
    assert np.all(frozen == frozen[:, :1])        # every ring fully aligned
    np.testing.assert_array_equal(np.unique(frozen), [-1.0, 1.0])
    huge = D.Ising(12, 1e3)                       # e^{-2J} underflows: limits are used
    assert np.all(np.isfinite(huge.flip_probability))
    assert huge.flip_probability[1, 1] == pytest.approx(0.5)   # last spin between opposites


@numba.cfunc(numba.types.uint64(numba.types.voidptr))
def _scripted_u64(state):
    """A scripted 'bit generator': state -> [position, word_0, word_1, ...]."""
    buf = numba.carray(state, (1 << 40,), dtype=np.uint64)
    buf[0] += np.uint64(1)
    return buf[buf[0]]


def test_ising_tie_breaking_bits_give_the_exact_flip_probability():
    model, m = D.Ising(2, 0.4), 200_000
    lead, low = int(model._lead[1, 0]), int(model._low[1, 0])
    # each word holds two rings of 2 spins: digit s0 = 0 (s0 = +1), then a tied digit;
    # each tie reads one more word, whose top 48 bits are compared with the low bits
    tied = np.uint64(lead << 16 | lead << 48)
    tails = np.random.default_rng(0).integers(0, 2**63, size=(m // 2, 2), dtype=np.uint64)
    stream = np.column_stack([np.full(m // 2, tied), tails * np.uint64(2)]).ravel()
    state = np.concatenate([[np.uint64(0)], stream])
    out = np.empty((m, 2))
    _kernels.ising_ring(_scripted_u64.ctypes, state.ctypes.data, model._lead,
                             model._low, np.arange(m), out)
    assert state[0] == stream.size                  # every tie drew exactly one word
    assert np.all(out[:, 0] == 1.0)
    assert_mean_near((out[:, 1] == -1.0).astype(float), low / 2.0**48)


def _ising_ring_reference(words: list[int], lead: np.ndarray, low: np.ndarray, m: int,
                          n: int) -> tuple[np.ndarray, int]:
    """The documented digit-by-digit algorithm, with branches, in plain Python."""
    pos, word, left = 0, 0, 0
    out = np.empty((m, n))

    def digit() -> int:
        nonlocal pos, word, left
        if left == 0:
            word, left, pos = words[pos], 4, pos + 1
        d, word, left = word & 0xFFFF, word >> 16, left - 1
        return d

    for r in range(m):
        s0 = s = 1.0 if digit() < 0x8000 else -1.0
        out[r, 0] = s
        for i in range(1, n):
            d, col = digit(), 0 if s == s0 else 1
            lead_digit = int(lead[n - i, col])
            if d < lead_digit:
                s = -s
            elif d == lead_digit:
                tail, pos = words[pos], pos + 1
                if tail >> 16 < int(low[n - i, col]):
                    s = -s
            out[r, i] = s
    return out, pos


@pytest.mark.parametrize("n, J", [(40, 0.7), (40, 0.3), (7, 1.2)])
def test_branch_free_ising_kernel_equals_the_reference_algorithm(n, J):
    # a scripted stream whose digits are often tied with either threshold column, so
    # that both tie paths (a = +1 and a = -1) and the plain comparisons are all exercised
    model, m = D.Ising(n, J), 400
    gen = np.random.default_rng(3)
    ties = np.unique(model._lead[1:])
    digits = np.where(gen.random(8 * m * n) < 0.3, gen.choice(ties, 8 * m * n),
                      gen.integers(0, 1 << 16, 8 * m * n)).astype(np.uint64)
    stream = (digits.reshape(-1, 4) << np.arange(0, 64, 16, dtype=np.uint64)).sum(
        axis=1, dtype=np.uint64)
    state = np.concatenate([[np.uint64(0)], stream])
    out = np.empty((m, n))
    _kernels.ising_ring(_scripted_u64.ctypes, state.ctypes.data, model._lead,
                             model._low, np.arange(m), out)
    expected, used = _ising_ring_reference([int(w) for w in stream], model._lead,
                                           model._low, m, n)
    assert state[0] == used > m * n // 4 + 50           # many ties drew a tail word
    np.testing.assert_array_equal(out, expected)


# ---------------------------------------------------------------- normal variates
def test_ziggurat_normals_match_the_normal_law():
    x = _normal.standard_normal(np.random.default_rng(21), np.empty(2_000_000))
    assert stats.kstest(x, "norm").pvalue > 1e-4
    for power, moment in ((1, 0.0), (2, 1.0), (4, 3.0), (6, 15.0)):
        assert_mean_near(x**power, moment)
    r = _normal.ZIG_R                               # tail branch and far tail
    for cut in (r, 4.5):
        assert_mean_near((np.abs(x) > cut).astype(float), math.erfc(cut / math.sqrt(2)))
    # the wedge region of strip 1 (between its edge and the next one)
    x2 = _normal.ZIG_X[2]
    inside = ((np.abs(x) > x2) & (np.abs(x) < r)).astype(float)
    assert_mean_near(inside, math.erfc(x2 / math.sqrt(2)) - math.erfc(r / math.sqrt(2)))


def test_ziggurat_tables_and_reproducibility():
    r, xs, fs = _normal.ZIG_R, _normal.ZIG_X, _normal.ZIG_F
    assert r == pytest.approx(3.6541528853610088, abs=1e-13)          # Marsaglia–Tsang
    v = xs[0] * fs[1]                                                # base strip area
    assert v == pytest.approx(r * fs[1] + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2)),
                              rel=1e-14)
    strips = xs[1:-1] * (fs[2:] - fs[1:-1])                          # strips 1..255
    np.testing.assert_allclose(strips, v, rtol=1e-9)
    a = _normal.standard_normal(np.random.default_rng(3), np.empty((7, 3)))
    np.testing.assert_array_equal(a, _normal.standard_normal(np.random.default_rng(3),
                                                             np.empty((7, 3))))


# ---------------------------------------------------------------- two-class task
def test_two_class_proportion_labels_and_class_statistics():
    task = D.TwoClass.ising(n=40, J=(0.7, 0.3), p=0.3)
    X, y = task.sample(80_000, rng=12)
    assert X.shape == (80_000, 40) and y.shape == (80_000,) and y.dtype == np.float64
    assert set(np.unique(y)) == {0.0, 1.0}
    assert_mean_near(y, 0.3)
    for label, J in ((1.0, 0.7), (0.0, 0.3)):
        rows = X[y == label]
        t = math.tanh(J)
        assert_mean_near((rows * np.roll(rows, -1, axis=1)).mean(axis=1),
                         (t + t**39) / (1 + t**40))



@pytest.mark.parametrize("bitgen", [np.random.PCG64, np.random.MT19937, np.random.Philox])
@pytest.mark.parametrize("m", [0, 1, 17, 1000, 70_000])
def test_two_ising_class_fast_path_equals_the_general_path(bitgen, m):
    # TwoClass of two Ising models runs in one kernel; it must consume the generator
    # exactly as the general path (labels from gen.random, then each class's rows)
    task = D.TwoClass.ising(n=40, J=(0.7, 0.3), p=0.3)
    fast, slow = np.random.Generator(bitgen(7)), np.random.Generator(bitgen(7))
    X, y = task.sample(m, fast)
    y_ref = (slow.random(m) < task.p).astype(np.float64)
    X_ref = np.empty((m, 40))
    for label, model in ((1.0, task.positive), (0.0, task.negative)):
        rows = np.flatnonzero(y_ref == label)
        if rows.size:
            model.fill_rows(X_ref, slow, rows)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(X, X_ref)
    assert fast.random() == slow.random()

def test_two_class_rows_match_class_covariances():
    task = D.TwoClass.nlgp(2.0, n=20, p=0.5)
    X, y = task.sample(100_000, rng=13)
    cov1, cov0 = task.covariances
    assert_cov_matches(X[y == 1], cov1)
    assert_cov_matches(X[y == 0], cov0)


def test_reference_constructors():
    ising = D.TwoClass.ising()
    assert (ising.positive.J, ising.negative.J, ising.p, ising.n) == (0.7, 0.3, 0.5, 40)
    nlgp = D.TwoClass.nlgp(1.0)
    assert (nlgp.positive.xi, nlgp.negative.xi) == (3.0, 1.0)
    kur = D.TwoClass.norta(L.Algebraic(10.0), n=16, dim=2)
    assert kur.n == 256 and kur.dim == 2
    ell = D.TwoClass.elliptical("student-t", nu=6.0)
    assert ell.positive.marginal == L.StudentT(6.0)
    clone = nlgp.gaussian_clone()
    np.testing.assert_array_equal(clone.positive.covariance, nlgp.positive.covariance)
    assert clone.p == nlgp.p


# ---------------------------------------------------------------- seeds, params, memory
@pytest.mark.parametrize("make", MODELS[:1] + MODELS[3:4] + MODELS[6:7] + MODELS[10:12])
def test_same_seed_same_samples(make):
    model = make()
    a = model.sample(300, rng=42)
    np.testing.assert_array_equal(a, model.sample(300, rng=42))
    np.testing.assert_array_equal(a, model.sample(300, rng=np.random.default_rng(42)))
    np.testing.assert_array_equal(model.sample(300, rng=np.random.SeedSequence(3)),
                                  model.sample(300, rng=np.random.SeedSequence(3)))
    assert not np.array_equal(a, model.sample(300, rng=43))


def test_two_class_same_seed_same_samples():
    task = D.TwoClass.nlgp(3.0)
    X1, y1 = task.sample(501, rng=5)
    X2, y2 = task.sample(501, rng=5)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)


def test_multi_chunk_sampling_keeps_statistics():
    model = D.NLGP(4, 1.0, 1.0)                       # 2**16 rows per chunk
    X = model.sample(150_001, rng=3)
    assert_cov_matches(X, model.covariance)
    assert np.all(np.abs(X).max(axis=0) > 0)          # the odd last row is filled too


@pytest.mark.parametrize("make", [m for m in MODELS if m.id not in ("kur10",)]
                         + [pytest.param(lambda: D.TwoClass.norta(L.Algebraic(5.0)), id="task")])
def test_params_are_json_and_rebuild_the_model(make):
    model = make()
    params = json.loads(json.dumps(model.params))
    rebuilt = D.from_params(params)
    assert rebuilt.params == model.params
    assert type(rebuilt) is type(model)
    assert "\n" not in model.describe()
    if isinstance(model, D.TwoClass):
        np.testing.assert_array_equal(rebuilt.sample(64, 1)[0], model.sample(64, 1)[0])
    else:
        np.testing.assert_array_equal(rebuilt.sample(64, 1), model.sample(64, 1))


def test_callable_radial_and_bad_params_cannot_be_rebuilt():
    model = D.Elliptical(10, 1.0, radial=lambda u: np.full_like(u, 2.0))
    with pytest.raises(ParameterError, match="callable"):
        D.from_params(model.params)
    with pytest.raises(ParameterError, match="model"):
        D.from_params({"model": "potts"})


def test_registry_rebuilds_every_model_with_constructor_defaults():
    from rfloc.numerics.data._registry import models

    assert models() == ["elliptical", "empirical", "gaussian-clone", "gaussian-process",
                        "ising", "natural-patches", "nlgp", "norta", "two-class"]
    nlgp = D.from_params({"model": "nlgp", "n": 10, "xi": 1.0, "g": 2.0})      # dim omitted
    assert nlgp.params == D.NLGP(10, 1.0, 2.0).params
    shell = D.from_params({"model": "elliptical", "n": 10, "xi": 1.0})
    assert shell.params == D.Elliptical(10, 1.0).params
    task = D.from_params({"model": "two-class", "positive": {"model": "ising", "n": 8, "J": 0.7},
                          "negative": {"model": "ising", "n": 8, "J": 0.3}})
    assert task.p == 0.5 and task.negative.J == 0.3
    kur = D.from_params({"model": "norta", "n": 8, "xi": 1.0,
                         "marginal": {"name": "algebraic", "k": 7.0}})
    assert kur.marginal == L.Algebraic(7.0)
    with pytest.raises(ParameterError, match=r"'ising' takes n, J; got unknown key\(s\) h"):
        D.from_params({"model": "ising", "n": 8, "J": 0.7, "h": 0.1})          # unknown key
    with pytest.raises(ParameterError, match="data-model description"):
        D.from_params({"model": "ising", "J": 0.7})                            # missing n
    with pytest.raises(ParameterError, match="data-model description"):
        D.from_params(["ising"])


@pytest.mark.parametrize("make", [lambda: D.NLGP(40, 3.0, 1.0), lambda: D.Ising(40, 0.7),
                                  lambda: D.TwoClass.nlgp(1.0)])
def test_sampling_allocates_little_beyond_the_output(make):
    model, m = make(), 200_000
    model.sample(10, 0)                                # warm caches (FFT plans, JIT)
    tracemalloc.start()
    try:
        out = model.sample(m, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    x = out[0] if isinstance(out, tuple) else out
    assert peak < 1.25 * x.nbytes


def test_zero_samples():
    assert D.NLGP(10, 1.0, 1.0).sample(0, 1).shape == (0, 10)
    X, y = D.TwoClass.ising(n=10).sample(0, 1)
    assert X.shape == (0, 10) and y.shape == (0,)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(("build", "name"), [
    (lambda: D.NLGP(1, 1.0, 1.0), "n"),
    (lambda: D.NLGP(2.5, 1.0, 1.0), "n"),
    (lambda: D.NLGP(10, 0.0, 1.0), "xi"),
    (lambda: D.NLGP(10, -1.0, 1.0), "xi"),
    (lambda: D.NLGP(10, 1.0, 0.0), "g"),
    (lambda: D.NLGP(10, 1.0, float("nan")), "g"),
    (lambda: D.NLGP(10, 1.0, 1.0, dim=3), "dim"),
    (lambda: D.NORTA(10, 1.0, "binary"), "marginal"),
    (lambda: D.Ising(1, 0.5), "n"),
    (lambda: D.Ising(10, -0.1), "J"),
    (lambda: D.Ising(10, float("inf")), "J"),
    (lambda: D.Ising(10, float("nan")), "J"),
    (lambda: D.Elliptical(10, 1.0, radial="cube"), "radial"),
    (lambda: D.Elliptical(10, 1.0, radial="student-t"), "nu"),
    (lambda: D.Elliptical(10, 1.0, radial="student-t", nu=2.0), "nu"),
    (lambda: D.Elliptical(10, 1.0, nu=5.0), "nu"),
    (lambda: D.GaussianProcess(np.eye(6), dim=2), "dim=2"),
    (lambda: D.GaussianProcess(np.ones((3, 4))), "cov"),
    (lambda: D.GaussianProcess(2 * np.eye(4)), "unit diagonal"),
    (lambda: D.GaussianProcess(cov.gaussian_kernel(6, 2.0)), "positive semi-definite"),
    (lambda: D.GaussianProcess(np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]])),
     "positive semi-definite"),
    (lambda: D.TwoClass(D.Ising(10, 0.5), D.Ising(12, 0.5)), "same shape"),
    (lambda: D.TwoClass(D.NLGP(4, 1.0, 1.0, dim=2), D.NLGP(16, 1.0, 1.0)), "same shape"),
    (lambda: D.TwoClass(D.Ising(10, 0.5), "ising"), "negative"),
    (lambda: D.TwoClass.ising(p=0.0), "p"),
    (lambda: D.TwoClass.ising(p=1.0), "p"),
    (lambda: D.TwoClass.ising(p=1.5), "p"),
    (lambda: D.NLGP(10, 1.0, 1.0).sample(-1, 0), "m"),
    (lambda: D.Ising(10, 1.0).sample(2.5, 0), "m"),
    (lambda: D.TwoClass.ising().sample(-3, 0), "m"),
    (lambda: D.NLGP(10, 1.0, 1.0).sample(5, -1), "seed"),
    (lambda: D.gaussian_clone(np.eye(3)), "model"),
])
def test_bad_input_raises_parameter_error_naming_the_parameter(build, name):
    with pytest.raises(ParameterError, match=name):
        build()


@pytest.mark.parametrize("make, needle", [
    (lambda: D.Ising(10**12, 0.5), "pixels"),
    (lambda: D.NLGP(10**12, 1.0, 1.0), "pixels"),
    (lambda: D.NLGP(200, 3.0, 1.0, dim=2), "pixels"),
    (lambda: D.Ising(40, 0.5).sample(10**12), "numbers"),
    (lambda: D.TwoClass.ising().sample(10**12), "numbers"),
])
def test_absurd_sizes_are_refused_before_allocating(make, needle):
    with pytest.raises(ParameterError, match=needle):
        make()


def test_correlation_lengths_at_the_ends_give_their_limits():
    """xi -> 0: independent pixels (identity); xi -> inf: one shared value (all ones)."""
    assert np.array_equal(D.NLGP(4, 1e-162, 1.0).covariance, np.eye(4))
    assert np.allclose(D.NLGP(4, 1e200, 1.0).covariance, 1.0)
