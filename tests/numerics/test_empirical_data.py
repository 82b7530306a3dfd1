"""Data models from samples and natural images: convergence to the analytic truths."""

from __future__ import annotations

import numpy as np
import pytest

from rfloc.errors import ParameterError
from rfloc.numerics import integrate_effective
from rfloc.numerics.data import (
    NLGP,
    Empirical,
    NaturalPatches,
    from_params,
    two_class_from_arrays,
)
from rfloc.numerics.data.empirical import translation_average
from rfloc.numerics.data.natural import natural_patches, phase_scramble
from rfloc.theory import amplifier


def test_empirical_covariance_converges_to_the_analytic_one_at_rate_one_over_sqrt_m():
    model = NLGP(24, 3.0, 2.0)
    truth = model.covariance
    errors = []
    for m in (4_000, 64_000):
        emp = Empirical(samples=model.sample(m, rng=m), circulant=True, standardize=False)
        errors.append(np.max(np.abs(emp.covariance - truth)))
    # 16 x the samples: the error shrinks about 4 x (between 2.5 and 6.5 x)
    assert 2.5 < errors[0] / errors[1] < 6.5
    assert errors[1] < 0.02


def test_translation_average_is_the_circulant_projection():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((12, 12))
    a = a + a.T
    c = translation_average(a, 12, 1)
    for k in range(12):
        assert np.allclose(np.roll(c[0], k), c[k])                 # circulant
    assert np.allclose(translation_average(c, 12, 1), c)           # a projection
    assert np.trace(c) == pytest.approx(np.trace(a))
    t = translation_average(np.kron(a[:4, :4], a[:4, :4]), 4, 2)
    shifted = t.reshape(4, 4, 4, 4)
    # block-circulant with circulant blocks: invariant under a shift of both pixels
    assert np.allclose(shifted, np.roll(shifted, (1, 2, 1, 2), axis=(0, 1, 2, 3)))


def test_rows_are_resampled_and_standardized():
    rng = np.random.default_rng(1)
    x = rng.normal(5.0, 3.0, size=(500, 10))
    model = Empirical(samples=x)
    assert np.allclose(model.rows.mean(axis=0), 0.0) and np.allclose(model.rows.std(axis=0), 1)
    draws = model.sample(2_000, rng=2)
    index = {r.tobytes() for r in model.rows}
    assert all(r.tobytes() in index for r in draws)
    assert model.marginal.n == x.size


def test_task_from_arrays_and_from_a_file(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 8))
    y = (rng.random(300) < 0.3).astype(int)
    task = two_class_from_arrays(X, y)
    assert task.p == pytest.approx(np.mean(y))
    assert task.positive.rows.shape == (int(y.sum()), 8)
    path = tmp_path / "data.npz"
    np.savez(path, X=X, y=y)
    model = from_params({"model": "empirical", "path": str(path), "label": 1})
    assert np.array_equal(model.rows, task.positive.rows)
    assert from_params(model.params).params == model.params
    with pytest.raises(ParameterError, match="cannot be rebuilt"):
        from_params(task.positive.params)


@pytest.mark.parametrize("kwargs, needle", [
    ({"samples": np.ones((5, 4))}, "constant pixel"),
    ({"samples": np.zeros(5)}, "shape"),
    ({"samples": [[np.nan, 1.0], [1.0, 2.0]]}, "finite"),
    ({"path": "/nonexistent.npy"}, "cannot be read"),
    ({"samples": np.random.default_rng(0).standard_normal((9, 6)), "dim": 2}, "square"),
    ({}, "exactly one"),
])
def test_bad_empirical_input(kwargs, needle):
    with pytest.raises(ParameterError, match=needle):
        Empirical(**kwargs)


def test_effective_ode_runs_on_empirical_inputs():
    """The ODE from empirical covariances and phi approaches the analytic ODE's."""
    rng = np.random.default_rng(4)
    pos, neg = NLGP(16, 3.0, 3.0), NLGP(16, 1.0, 3.0)
    X = np.vstack([pos.sample(40_000, rng), neg.sample(40_000, rng)])
    y = np.repeat([1, 0], 40_000)
    emp = two_class_from_arrays(X, y, circulant=True, standardize=False)
    w0 = rng.standard_normal(16) * 0.1
    kw = {"t_end": 5.0, "dt": 0.05, "method": "rk4"}
    exact = integrate_effective(w0, pos.covariance, neg.covariance, amplifier(pos.marginal), **kw)
    approx = integrate_effective(w0, *emp.covariances, amplifier(emp.positive.marginal), **kw)
    cos = exact.final @ approx.final / np.linalg.norm(exact.final) / np.linalg.norm(
        approx.final)
    assert cos > 0.99


def test_natural_patches_are_deterministic_grey_levels():
    a = natural_patches(16, 1, 200, seed=3)
    assert a.shape == (200, 16) and np.array_equal(a, natural_patches(16, 1, 200, seed=3))
    assert np.all((a >= 0) & (a <= 255)) and np.array_equal(a, np.rint(a))
    b = natural_patches(8, 2, 50, seed=1)
    assert b.shape == (50, 64)
    model = NaturalPatches(size=16, count=500)
    assert np.allclose(model.rows.std(axis=0), 1.0)
    assert from_params(model.params).params == model.params


def test_phase_scrambling_keeps_the_power_spectrum():
    patches = natural_patches(16, 2, 20, seed=0)
    s = phase_scramble(patches, 2, seed=1)
    amp = np.abs(np.fft.fft2(patches.reshape(20, 16, 16)))
    assert np.allclose(np.abs(np.fft.fft2(s.reshape(20, 16, 16))), amp)
    assert not np.allclose(s, patches)
