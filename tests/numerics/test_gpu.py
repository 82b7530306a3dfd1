"""The CUDA backend (``rfloc.numerics.gpu``) on Numba's CUDA simulator, at tiny sizes.

Numba reads ``NUMBA_ENABLE_CUDASIM`` when it is first imported, so the checks run in a
child process with the variable set; it prints its statistics as JSON and the tests judge
them: sample moments and covariances within 5 SE of the analytic ones, the expected SGD
update within 5 SE of the population gradient (one ReLU neuron, Gaussian classes), and a
committee's expected update within 5 SE of the Numba CPU path's (``sampler="fused"``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

CHILD = textwrap.dedent('''
    import json, math, warnings
    import numpy as np
    warnings.simplefilter("ignore")          # the simulator's own object-mode warnings
    from rfloc.numerics import gpu
    from rfloc.numerics.data import NLGP, NORTA, TwoClass
    from rfloc.numerics.laws import Algebraic, Gaussian
    from rfloc.numerics.train import train_sgd, train_sgd_seeds

    def z_cov(X, sigma):
        m = X.shape[0]
        emp = X.T @ X / m
        se = np.sqrt(np.maximum((X * X).T @ (X * X) / m - emp**2, 1e-300) / m)
        return float(np.max(np.abs(emp - sigma) / se))

    def z_mean(v, target):
        return float(abs(v.mean() - target) / (v.std(ddof=1) / math.sqrt(v.size)))

    out = {"available": gpu.available()}
    tasks = {"kur6-ring": (TwoClass.norta(Algebraic(6.0), n=4, xi=(1.5, 0.6), p=0.3), 500),
             "nlgp-torus": (TwoClass(NLGP(3, 1.2, 3.0, dim=2), NLGP(3, 0.5, 3.0, dim=2)), 300)}
    for name, (task, m) in tasks.items():
        X, y = gpu.sample(task, m, np.random.SeedSequence(1))
        z = {"labels": z_mean(y, task.p)}
        for label, model in ((1.0, task.positive), (0.0, task.negative)):
            Xc = X[y == label]
            z[f"cov{int(label)}"] = z_cov(Xc, model.covariance)
            z[f"fourth{int(label)}"] = z_mean((Xc**4).mean(axis=1),
                                              3 + model.marginal.excess_kurtosis())
        out[name] = z

    task = TwoClass(NORTA(4, 1.5, Gaussian()), NORTA(4, 0.6, Gaussian()), p=0.4)
    w0 = np.array([0.3, -0.2, 0.5, 0.1])
    lr, runs = 1e-3, 30
    trajs = train_sgd_seeds(w0, task, lr, 1, 32, np.random.SeedSequence(7), runs=runs,
                            eval_size=0, device="cuda")
    steps = np.array([(t.final - w0) / lr for t in trajs])
    S1, S0 = task.covariances
    exact = (2 * 0.4 * S1 @ w0 / math.sqrt(2 * math.pi * w0 @ S1 @ w0)
             - (0.4 * S1 + 0.6 * S0) @ w0)
    se = steps.std(axis=0, ddof=1) / math.sqrt(runs)
    out["relu-update"] = float(np.max(np.abs(steps.mean(axis=0) - exact) / se))

    W0 = np.array([[0.4, -0.3, 0.2, 0.1], [-0.1, 0.5, 0.3, -0.4]])
    common = dict(activation="erf", bias="train", train_readout=True, eval_size=0)
    def updates(backend, runs, seed):
        trajs = train_sgd_seeds(W0, task, lr, 1, 32, np.random.SeedSequence(seed), runs=runs,
                                sampler="fused", device=backend, **common)
        return np.array([np.concatenate([((t.final - W0) / lr).ravel(), t.extras["bias"][-1],
                                         t.extras["readout"][-1]]) for t in trajs])
    a, b = updates("cuda", 20, 8), updates("cpu", 600, 9)
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    out["committee-vs-cpu"] = float(np.max(np.abs(a.mean(axis=0) - b.mean(axis=0)) / se))

    t1 = train_sgd(W0, task, 0.05, 3, 8, 3, backend="cuda", save_every=1, **common)
    t2 = train_sgd(W0, task, 0.05, 3, 8, 3, backend="cuda", **common)
    # atomic float additions sum in a varying order: equal to rounding, not bit for bit
    out["reproducible"] = bool(np.allclose(t1.final, t2.final, rtol=1e-12, atol=1e-15))
    out["saves"] = t1.w.shape[0]
    print(json.dumps(out))
''')


@pytest.fixture(scope="module")
def simulated() -> dict:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONWARNINGS="ignore")
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_simulator_is_available(simulated):
    assert simulated["available"]


@pytest.mark.parametrize("task", ["kur6-ring", "nlgp-torus"])
def test_gpu_samples_have_the_analytic_moments_and_covariances(simulated, task):
    assert max(simulated[task].values()) < 5.0, simulated[task]


def test_gpu_expected_update_is_the_population_gradient(simulated):
    assert simulated["relu-update"] < 5.0


def test_gpu_committee_update_agrees_with_the_cpu_path(simulated):
    assert simulated["committee-vs-cpu"] < 5.0


def test_gpu_runs_are_reproducible_and_saved(simulated):
    assert simulated["reproducible"] and simulated["saves"] == 4


def test_cuda_backend_without_a_device_is_a_parameter_error():
    pytest.importorskip("numba.cuda")
    from numba import cuda

    from rfloc.errors import ParameterError
    from rfloc.numerics.data import TwoClass
    from rfloc.numerics.train import train_sgd

    if cuda.is_available():
        pytest.skip("a CUDA device (or the simulator) is present")
    with pytest.raises(ParameterError, match="CUDA"):
        train_sgd(np.ones(8) * 0.1, TwoClass.nlgp(3.0, n=8), 0.1, 1, 8, 0, backend="cuda")
