"""Fused online SGD (``train_sgd(..., sampler="fused")``) against independent truths.

Truths: the closed-form population gradient of a ReLU neuron on Gaussian classes; the
un-fused (batched) path, which the rest of the suite checks against finite differences, in
law (same expected update, same distribution of the final IPR over seeds).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rfloc.errors import ParameterError, TrainingError
from rfloc.numerics.data import NLGP, NORTA, TwoClass
from rfloc.numerics.laws import Algebraic, Gaussian
from rfloc.numerics.train import train_sgd, train_sgd_seeds

Z = 5.0


def gaussian_task(n=12, xi=(2.0, 0.7), p=0.4):
    return TwoClass(NORTA(n, xi[0], Gaussian()), NORTA(n, xi[1], Gaussian()), p)


def mean_updates(w0, task, lr, B, runs, seed, **options):
    trajs = train_sgd_seeds(w0, task, lr, 1, B, np.random.SeedSequence(seed), runs=runs,
                            eval_size=0, **options)
    steps = np.array([(t.final - w0) / lr for t in trajs])
    return steps.mean(axis=0), steps.std(axis=0, ddof=1) / math.sqrt(runs)


def test_fused_expected_update_is_the_population_gradient():
    """E[step] / lr = 2p Σ1 w / sqrt(2π wᵀΣ1 w) - Σ̄ w for ReLU on Gaussian classes."""
    task = gaussian_task()
    w0 = np.random.default_rng(3).standard_normal(task.n) * 0.3
    mean, se = mean_updates(w0, task, 1e-3, 200, 300, 2024, sampler="fused")
    p, (S1, S0) = task.p, task.covariances
    exact = 2 * p * S1 @ w0 / math.sqrt(2 * math.pi * w0 @ S1 @ w0) - (p * S1 + (1 - p) * S0) @ w0
    assert np.max(np.abs(mean - exact) / se) < Z


@pytest.mark.parametrize("task", [
    TwoClass.norta(Algebraic(5.0), n=16, xi=(2.0, 0.7)),
    TwoClass(NLGP(4, 1.5, 3.0, dim=2), NLGP(4, 0.5, 3.0, dim=2)),
], ids=["kur5-ring", "nlgp-torus"])
def test_fused_and_batched_committee_updates_agree(task):
    rng = np.random.default_rng(4)
    W0 = rng.standard_normal((3, task.n)) * 0.4
    common = {"activation": "erf", "bias": "train", "train_readout": True}

    def updates(sampler, seed):
        trajs = train_sgd_seeds(W0, task, 1e-3, 1, 100, np.random.SeedSequence(seed),
                                runs=200, eval_size=0, sampler=sampler, **common)
        return np.array([np.concatenate([((t.final - W0) / 1e-3).ravel(),
                                         t.extras["bias"][-1], t.extras["readout"][-1]])
                         for t in trajs])

    a, b = updates("fused", 1), updates("batched", 2)
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    assert np.max(np.abs(a.mean(axis=0) - b.mean(axis=0)) / se) < Z


def ipr(w):
    return np.sum(w**4, axis=-1) / np.sum(w**2, axis=-1) ** 2


def test_fused_and_batched_final_ipr_have_the_same_distribution():
    task = TwoClass.norta(Algebraic(5.0))
    w0 = np.random.default_rng(0).standard_normal(task.n) * 0.03

    def final_ipr(sampler, seed):
        trajs = train_sgd_seeds(w0, task, 0.05, 150, 400, np.random.SeedSequence(seed),
                                runs=30, eval_size=0, sampler=sampler)
        return ipr(np.array([t.final for t in trajs]))

    a, b = final_ipr("fused", 11), final_ipr("batched", 12)
    se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(len(a))
    assert abs(a.mean() - b.mean()) < Z * se
    assert stats.ks_2samp(a, b).pvalue > 1e-3


def test_fused_runs_are_reproducible_prefixes_and_worker_independent():
    task = TwoClass.nlgp(3.0, n=20)
    args = (None, task, 0.05)
    one = train_sgd(*args, 40, 64, 5, sampler="fused", eval_size=0)
    np.testing.assert_array_equal(one.final,
                                  train_sgd(*args, 40, 64, 5, sampler="fused", eval_size=0).final)
    saved = train_sgd(*args, 40, 64, 5, sampler="fused", eval_size=0, save_every=7)
    np.testing.assert_array_equal(saved.final, one.final)
    longer = train_sgd(*args, 60, 64, 5, sampler="fused", eval_size=0, save_every=40)
    np.testing.assert_array_equal(longer.w[1], one.final)
    assert one.params["sampler"] == "fused" and one.stats["samples"] == 40 * 64
    assert not np.array_equal(one.final,
                              train_sgd(*args, 40, 64, 6, sampler="fused", eval_size=0).final)
    runs = [train_sgd_seeds(*args, 20, 64, 9, runs=3, workers=w, sampler="fused", eval_size=0)
            for w in (1, 2)]
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a.final, b.final)


def test_fused_divergence_is_detected():
    task = TwoClass.norta(Algebraic(5.0), n=10)
    with pytest.raises(TrainingError, match="diverged") as info:
        train_sgd(np.full(10, 10.0), task, 1e200, 5, 32, 0,
                  sampler="fused", eval_size=0, save_every=1)
    assert np.all(np.isfinite(info.value.trajectory.w))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sampler": "vectorised"}, "sampler"),
    ({"backend": "tpu"}, "backend"),
    ({"sampler": "fused", "full_batch": True}, "full_batch"),
    ({"sampler": "fused", "train_size": 100}, "train_size"),
    ({"backend": "cuda", "sampler": "batched"}, "fused"),
])
def test_bad_sampler_options_name_the_parameter(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        train_sgd(None, TwoClass.nlgp(3.0, n=8), 0.1, 2, 10, 0, **kwargs)


def test_fused_needs_a_two_class_task_of_tabulated_fields():
    with pytest.raises(ParameterError, match="fused"):
        train_sgd(None, TwoClass.ising(n=8), 0.1, 2, 10, 0, sampler="fused")
