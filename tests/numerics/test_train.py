"""Simulated training against independent truths.

Truths used: central finite differences of a NumPy loss written here; plain NumPy gradient
descent driven by those finite differences; the closed-form population gradient of a ReLU
neuron on Gaussian classes; brute-force Monte Carlo population gradients; exact symmetries
of the model (x -> -x for ReLU, y -> 1 - y for the sigmoid).
"""

import math

import numpy as np
import pytest
from scipy import special

from rfloc.errors import ParameterError, TrainingError
from rfloc.numerics import _sgd_kernels as kernels
from rfloc.numerics._activations import CODES
from rfloc.numerics.data import TwoClass
from rfloc.numerics.train import train_sgd, train_sgd_seeds, xavier_init

ACTS = ["relu", "sigmoid", "tanh", "erf"]


# --------------------------------------------------------------------------- tasks
def ring_kernel(n, xi):
    """exp(-d^2 / xi^2), d the ring distance."""
    dist = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    dist = np.minimum(dist, n - dist)
    return np.exp(-dist.astype(float) ** 2 / xi**2)


class GaussTask:
    """Two zero-mean Gaussian classes (ring kernels, negative eigenvalues clipped)."""

    def __init__(self, n=12, xi=(2.0, 0.7), p=0.5):
        self.n, self.p = n, p
        self.L1, self.L0 = (self._root(ring_kernel(n, x)) for x in xi)
        self.cov1, self.cov0 = self.L1 @ self.L1.T, self.L0 @ self.L0.T

    @staticmethod
    def _root(cov):
        lam, vec = np.linalg.eigh(cov)
        return vec * np.sqrt(np.clip(lam, 0.0, None))

    def sample(self, m, rng):
        y = (rng.random(m) < self.p).astype(float)
        z = rng.standard_normal((m, self.n))
        X = np.where(y[:, None] == 1.0, z @ self.L1.T, z @ self.L0.T)
        return X, y


class FixedTask:
    """Always the same data: the first m rows of a stored sample (rng ignored)."""

    def __init__(self, X, y):
        self.X, self.y, self.n = X, y, X.shape[1]

    def sample(self, m, rng):
        return self.X[:m].copy(), self.y[:m].copy()


class Negated:
    """x -> -x with the same random stream (a symmetry of sign-symmetric data)."""

    def __init__(self, task):
        self.task, self.n = task, task.n

    def sample(self, m, rng):
        X, y = self.task.sample(m, rng)
        return -X, y


class LabelFlip:
    """y -> 1 - y on the same stream: in law TwoClass(negative, positive, 1 - p)."""

    def __init__(self, task):
        self.task, self.n = task, task.n

    def sample(self, m, rng):
        X, y = self.task.sample(m, rng)
        return X, 1.0 - y


# --------------------------------------------------------------------------- NumPy truth
def sigma(z, act):
    if act == "relu":
        return np.maximum(z, 0.0)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if act == "tanh":
        return np.tanh(z)
    return special.erf(z / math.sqrt(2.0))


def np_loss(W, b, v, X, y, act):
    """Plain mean squared error of the committee, no 1/2."""
    yhat = sigma(X @ W.T + b, act) @ v
    return np.mean((yhat - y) ** 2)


def fd_gradient(W, b, v, X, y, act, h=1e-6):
    """Central finite differences of np_loss in every parameter."""
    grads = []
    for theta in (W, b, v):
        g = np.empty_like(theta)
        for idx in np.ndindex(theta.shape):
            old = theta[idx]
            theta[idx] = old + h
            up = np_loss(W, b, v, X, y, act)
            theta[idx] = old - h
            down = np_loss(W, b, v, X, y, act)
            theta[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def kernel_gradient(W, b, v, X, y, act, rows, start, B):
    K, N = W.shape
    gW, gb, gv = np.empty((K, N)), np.empty(K), np.empty(K)
    Z, a = np.empty((kernels.TILE, K)), np.empty(K)
    loss = kernels.batch_gradient(W, b, v, X, y, rows, start, B, CODES[act], gW, gb, gv,
                                  Z, a)
    return loss, gW, gb, gv


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("K", [1, 3])
@pytest.mark.parametrize("with_bias", [False, True])
def test_gradient_matches_finite_differences(act, K, with_bias):
    rng = np.random.default_rng(11)
    N, M, B, start = 7, 300, 150, 100  # B > TILE and not a multiple of 8: tails exercised
    X = rng.standard_normal((M, N))
    y = (rng.random(M) < 0.5).astype(float)
    rows = rng.permutation(M)
    W = rng.standard_normal((K, N)) * 0.6
    b = rng.standard_normal(K) * 0.5 if with_bias else np.zeros(K)
    v = rng.standard_normal(K) if K > 1 else np.ones(1)
    loss, gW, gb, gv = kernel_gradient(W, b, v, X, y, act, rows, start, B)
    Xb, yb = X[rows[start:start + B]], y[rows[start:start + B]]
    fW, fb, fv = fd_gradient(W, b, v, Xb, yb, act)
    assert loss == pytest.approx(np_loss(W, b, v, Xb, yb, act), rel=1e-12)
    np.testing.assert_allclose(gW, fW, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb, fb, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gv, fv, rtol=1e-6, atol=1e-8)


def fd_gradient_descent(W, b, v, X, y, act, lr, steps, train_b, train_v):
    W, b, v = W.copy(), b.copy(), v.copy()
    for _ in range(steps):
        gW, gb, gv = fd_gradient(W, b, v, X, y, act)
        W -= lr * gW
        if train_b:
            b -= lr * gb
        if train_v:
            v -= lr * gv
    return W, b, v


@pytest.mark.parametrize(("act", "K", "bias", "train_readout"), [
    ("relu", None, False, False),
    ("erf", None, "train", True),
    ("sigmoid", 3, "train", True),
    ("tanh", 3, "fixed", False),
    ("relu", 2, False, True),
])
def test_full_batch_is_gradient_descent(act, K, bias, train_readout):
    rng = np.random.default_rng(5)
    N, M, lr, steps = 6, 90, 0.3, 4
    task = FixedTask(rng.standard_normal((M, N)), (rng.random(M) < 0.4).astype(float))
    w0 = rng.standard_normal(N if K is None else (K, N)) * 0.5
    Kk = 1 if K is None else K
    b0 = np.linspace(-0.3, 0.4, Kk) if bias else np.zeros(Kk)
    v0 = np.ones(Kk) / Kk
    traj = train_sgd(w0, task, lr, steps, M, 0, act, bias, full_batch=True, save_every=1,
                     bias_init=b0 if bias else 0.0, train_readout=train_readout,
                     eval_size=M)
    W, b, v = fd_gradient_descent(np.atleast_2d(w0), b0, v0, task.X, task.y, act, lr,
                                  steps, bias == "train", train_readout)
    np.testing.assert_allclose(traj.final, W[0] if K is None else W, rtol=1e-6, atol=1e-8)
    assert traj.w.shape == ((steps + 1, N) if K is None else (steps + 1, K, N))
    np.testing.assert_array_equal(traj.extras["step"], np.arange(steps + 1))
    np.testing.assert_allclose(traj.t, lr * np.arange(steps + 1))
    if bias == "train":
        np.testing.assert_allclose(traj.extras["bias"][-1], b[0] if K is None else b,
                                   rtol=1e-6, atol=1e-8)
    else:
        assert "bias" not in traj.extras
    if train_readout:
        np.testing.assert_allclose(traj.extras["readout"][-1], v[0] if K is None else v,
                                   rtol=1e-6, atol=1e-8)
    # held-out loss on the same (fixed) data equals the NumPy loss of the final state
    assert traj.extras["loss"][-1] == pytest.approx(np_loss(W, b, v, task.X, task.y, act),
                                                    rel=1e-9)
    yhat = sigma(task.X @ W.T + b, act) @ v
    assert traj.extras["accuracy"][-1] == np.mean((yhat > 0.5) == (task.y > 0.5))


def test_finite_training_set_epochs():
    rng = np.random.default_rng(8)
    N, B = 5, 40
    task = FixedTask(rng.standard_normal((2 * B, N)), (rng.random(2 * B) < 0.5).astype(float))
    w0 = rng.standard_normal(N) * 0.5
    # batch = whole set: the same steps as full-batch GD (summation order aside)
    full = train_sgd(w0, task, 0.2, 5, 2 * B, 1, "tanh", full_batch=True, eval_size=0)
    same = train_sgd(w0, task, 0.2, 5, 2 * B, 1, "tanh", train_size=2 * B, eval_size=0)
    np.testing.assert_allclose(same.final, full.final, rtol=1e-12)
    # one epoch of two half batches at tiny lr = one GD step with the summed gradient
    lr = 1e-6
    epoch = train_sgd(w0, task, lr, 2, B, 1, "tanh", train_size=2 * B, eval_size=0)
    gW = fd_gradient(w0[None, :].copy(), np.zeros(1), np.ones(1), task.X, task.y, "tanh")[0]
    np.testing.assert_allclose((epoch.final - w0) / lr, -2 * gW[0], rtol=1e-4, atol=1e-7)
    assert epoch.stats["samples"] == 2 * B


# --------------------------------------------------------------------------- expectation
def test_expected_update_is_population_gradient_relu_gaussian():
    """E[SGD step] / lr = -grad E[L] = 2p Σ1 w / sqrt(2π wᵀΣ1 w) - Σ̄ w (Gaussian classes)."""
    task = GaussTask(n=12, p=0.4)
    w0 = np.random.default_rng(3).standard_normal(task.n) * 0.3
    R, B, lr = 300, 200, 1e-3
    runs = train_sgd_seeds(w0, task, lr, 1, B, np.random.SeedSequence(2024), runs=R,
                           eval_size=0)
    steps = np.array([(r.final - w0) / lr for r in runs])
    p, S1 = task.p, task.cov1
    Sbar = p * task.cov1 + (1 - p) * task.cov0
    exact = 2 * p * S1 @ w0 / math.sqrt(2 * math.pi * w0 @ S1 @ w0) - Sbar @ w0
    se = steps.std(axis=0, ddof=1) / math.sqrt(R)
    assert np.max(np.abs(steps.mean(axis=0) - exact) / se) < 5.0


def per_sample_gradients(W, b, v, X, y, act, h=1e-6):
    """Per-sample -grad of (yhat - y)^2 w.r.t. W, b, v by vectorised central differences."""
    def res(W, b, v):
        return (sigma(X @ W.T + b, act) @ v - y) ** 2
    out = []
    for theta in (W, b, v):
        for idx in np.ndindex(theta.shape):
            old = theta[idx]
            theta[idx] = old + h
            up = res(W, b, v)
            theta[idx] = old - h
            down = res(W, b, v)
            theta[idx] = old
            out.append(-(up - down) / (2 * h))
    return np.array(out).T  # (M, n_params)


def test_expected_update_is_monte_carlo_population_gradient_committee():
    task = GaussTask(n=6, p=0.5)
    K, act = 3, "sigmoid"
    rng = np.random.default_rng(9)
    W0 = rng.standard_normal((K, task.n)) * 0.5
    b0 = np.array([0.2, -0.1, 0.05])
    v0 = np.ones(K) / K
    R, B, lr = 200, 100, 1e-3
    runs = train_sgd_seeds(W0, task, lr, 1, B, np.random.SeedSequence(77), act, "train",
                           runs=R, bias_init=b0, train_readout=True, eval_size=0,
                           workers=2)
    upd = np.array([np.concatenate([(r.final - W0).ravel(), r.extras["bias"][-1] - b0,
                                    r.extras["readout"][-1] - v0]) / lr for r in runs])
    X, y = task.sample(100_000, np.random.default_rng(123))
    g = per_sample_gradients(W0.copy(), b0.copy(), v0.copy(), X, y, act)
    pop, pop_se = g.mean(axis=0), g.std(axis=0, ddof=1) / math.sqrt(len(g))
    sgd_se = g.std(axis=0, ddof=1) / math.sqrt(R * B)  # tolerance from the batch size
    z = (upd.mean(axis=0) - pop) / np.hypot(sgd_se, pop_se)
    assert np.max(np.abs(z)) < 5.0


# --------------------------------------------------------------------------- reproducibility
def test_same_seed_same_trajectory_different_seed_differs():
    task = GaussTask(n=10)
    kw = dict(save_every=5, eval_size=500)
    a = train_sgd(None, task, 0.1, 40, 64, 42, **kw)
    b = train_sgd(None, task, 0.1, 40, 64, 42, **kw)
    c = train_sgd(None, task, 0.1, 40, 64, 43, **kw)
    np.testing.assert_array_equal(a.w, b.w)
    np.testing.assert_array_equal(a.extras["loss"], b.extras["loss"])
    assert not np.allclose(a.w[1:], c.w[1:])
    ss = np.random.SeedSequence(5)  # a SeedSequence passed twice gives the same run
    np.testing.assert_array_equal(train_sgd(3, task, 0.1, 10, 8, ss).w,
                                  train_sgd(3, task, 0.1, 10, 8, ss).w)


def test_prefix_and_save_every_do_not_change_the_weights():
    task = GaussTask(n=10)
    w0 = xavier_init(None, 10, 0.01, 0)
    short = train_sgd(w0, task, 0.1, 30, 20, 7, save_every=1, eval_size=0)
    long = train_sgd(w0, task, 0.1, 55, 20, 7, save_every=10, eval_size=0)
    np.testing.assert_array_equal(long.extras["step"], [0, 10, 20, 30, 40, 50, 55])
    np.testing.assert_array_equal(long.w[:4], short.w[::10])
    assert long.w[0] is not w0 and np.array_equal(long.w[0], w0)


def test_seeds_in_parallel_do_not_depend_on_workers():
    task = GaussTask(n=10)
    kw = dict(runs=6, save_every=10, eval_size=200)
    one = train_sgd_seeds(4, task, 0.1, 30, 32, 99, "tanh", "train", workers=1, **kw)
    two = train_sgd_seeds(4, task, 0.1, 30, 32, 99, "tanh", "train", workers=2, **kw)
    for x, z in zip(one, two, strict=True):
        np.testing.assert_array_equal(x.w, z.w)
        np.testing.assert_array_equal(x.extras["bias"], z.extras["bias"])
    assert not np.array_equal(one[0].w, one[1].w)
    listed = train_sgd_seeds(4, task, 0.1, 30, 32, list(np.random.SeedSequence(99).spawn(6)),
                             "tanh", "train", save_every=10, eval_size=200)
    np.testing.assert_array_equal(listed[5].w, one[5].w)
    procs = train_sgd_seeds(4, task, 0.1, 30, 32, 99, "tanh", "train", workers=2,
                            backend="processes", **kw)
    np.testing.assert_array_equal(procs[3].w, one[3].w)


def test_xavier_init_law():
    w = xavier_init(50, 200, 0.01, 1)
    assert w.shape == (50, 200)
    assert w.std() == pytest.approx(math.sqrt(0.01 * 2 / 250), rel=0.02)
    assert xavier_init(None, 40, 0.001, 1).std() == pytest.approx(
        math.sqrt(0.001 * 2 / 41), rel=0.3)
    drawn = train_sgd(None, GaussTask(n=8), 0.1, 0, 1, 3, eval_size=0)
    assert drawn.w.shape == (1, 8) and drawn.params["init_scale"] == 0.001


# --------------------------------------------------------------------------- symmetries
def test_negated_inputs_flip_the_relu_rf_exactly():
    task = TwoClass.ising(n=20)
    w0 = xavier_init(None, 20, 0.001, 4)
    a = train_sgd(w0, task, 0.05, 200, 100, 6, save_every=50)
    b = train_sgd(-w0, Negated(task), 0.05, 200, 100, 6, save_every=50)
    np.testing.assert_array_equal(b.w, -a.w)
    np.testing.assert_array_equal(b.extras["loss"], a.extras["loss"])


def test_swapped_classes_flip_the_sigmoid_neuron():
    """sigmoid(-z) = 1 - sigmoid(z): (w, b) -> -(w, b) solves the label-swapped task."""
    task = TwoClass.ising(n=20, p=0.3)
    w0 = xavier_init(None, 20, 0.01, 4)
    kw = dict(save_every=50, eval_size=2000)
    a = train_sgd(w0, task, 0.5, 200, 100, 6, "sigmoid", "train", bias_init=0.3, **kw)
    b = train_sgd(-w0, LabelFlip(task), 0.5, 200, 100, 6, "sigmoid", "train",
                  bias_init=-0.3, **kw)
    np.testing.assert_allclose(b.w, -a.w, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.extras["bias"], -a.extras["bias"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.extras["loss"], a.extras["loss"], rtol=1e-9)


def neighbour_sign(w):
    """Sign of the weights next to the peak relative to the peak: +1 bump, -1 flanked."""
    i = int(np.argmax(np.abs(w)))
    n = w.size
    return np.sign(w[i] * (w[(i - 1) % n] + w[(i + 1) % n]))


def test_swapped_classes_flip_the_relu_rf_flanks():
    """Ising ReLU neuron from the same inits: the long-correlation class 1 gives a bump
    (neighbours with the sign of the peak); with the classes swapped and p -> 1 - p the
    peak is flanked by the opposite sign. The flip is consistent over inits."""
    p = 0.4
    task = TwoClass.ising(n=40, J=(0.7, 0.3), p=p)
    swapped = TwoClass(task.negative, task.positive, p=1 - p)
    signs = []
    for seed in range(4):
        w0 = xavier_init(None, 40, 0.001, seed)
        a = train_sgd(w0, task, 0.1, 800, 300, seed, eval_size=0).final
        b = train_sgd(w0, swapped, 0.1, 800, 300, seed, eval_size=0).final
        signs.append((neighbour_sign(a), neighbour_sign(b)))
    assert signs == [(1.0, -1.0)] * 4


def test_loss_decreases_on_average():
    runs = train_sgd_seeds(None, TwoClass.ising(), 0.1, 400, 200, 3, runs=3, save_every=40,
                           eval_size=4000, workers=2)
    loss = np.mean([r.extras["loss"] for r in runs], axis=0)
    acc = np.mean([r.extras["accuracy"] for r in runs], axis=0)
    assert loss[0] == pytest.approx(0.5, abs=0.02)  # w ~ 0: yhat ~ 0, loss = E[y^2] = p
    assert loss[len(loss) // 2:].mean() < loss[:len(loss) // 2].mean()
    assert loss[-1] < loss[0] - 0.05
    # w ~ 0 predicts class 0 everywhere (accuracy 1 - p); learning must beat that by
    # 5 standard errors of the held-out estimate (3 runs x 4000 samples).
    se = np.sqrt(0.25 / (3 * 4000))
    assert acc[-1] > acc[0] + 5 * se


# --------------------------------------------------------------------------- K neurons
def test_committee_shapes_and_fixed_parameters():
    task = GaussTask(n=9)
    traj = train_sgd(5, task, 0.5, 20, 50, 1, "erf", "fixed", bias_init=0.25,
                     save_every=7, init_scale=0.1, eval_size=300)
    assert traj.w.shape == (4, 5, 9)
    np.testing.assert_array_equal(traj.extras["step"], [0, 7, 14, 20])
    assert "bias" not in traj.extras and "readout" not in traj.extras
    assert traj.params["bias_init"] == [0.25] * 5 and traj.params["k"] == 5
    assert traj.extras["loss"].shape == traj.extras["accuracy"].shape == (4,)


def test_params_record_the_initial_state_and_the_trajectory_round_trips(tmp_path):
    task = TwoClass.ising(n=12)
    traj = train_sgd(3, task, 0.5, 25, 40, 8, "sigmoid", "train", bias_init=0.1,
                     train_readout=True, save_every=10, eval_size=200)
    assert traj.params["bias_init"] == [0.1] * 3 and traj.params["readout"] == [1 / 3] * 3
    np.testing.assert_array_equal(traj.extras["bias"][0], [0.1] * 3)
    assert not np.allclose(traj.extras["bias"][-1], 0.1)
    assert traj.params["task"] == task.params and traj.stats["steps"] == 25
    traj.save(tmp_path / "run")
    back = type(traj).load(tmp_path / "run")
    np.testing.assert_array_equal(back.w, traj.w)
    np.testing.assert_array_equal(back.extras["readout"], traj.extras["readout"])
    assert back.params == traj.params


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(("kwargs", "name"), [
    (dict(lr=0.0), "lr"),
    (dict(lr=-1.0), "lr"),
    (dict(lr=float("nan")), "lr"),
    (dict(steps=-1), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(batch_size=0), "batch_size"),
    (dict(activation="softplus"), "activation"),
    (dict(w0=np.zeros(7)), "w0"),
    (dict(w0=np.zeros((2, 3, 8))), "w0"),
    (dict(w0=np.full(8, np.nan)), "w0"),
    (dict(bias="maybe"), "bias"),
    (dict(bias_init=1.0), "bias_init"),
    (dict(save_every=0), "save_every"),
    (dict(eval_size=-1), "eval_size"),
    (dict(train_size=3), "train_size"),
    (dict(train_size=100, full_batch=True), "full_batch"),
    (dict(on_failure="ignore"), "on_failure"),
    (dict(init_scale=0.1), "init_scale"),
    (dict(readout=np.ones(3)), "readout"),
    (dict(seed=-3), "seed"),
    (dict(task=object()), "task"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    args = dict(w0=np.zeros(8), task=GaussTask(n=8), lr=0.1, steps=5, batch_size=10, seed=0)
    args.update(kwargs)
    with pytest.raises(ParameterError, match=name):
        train_sgd(**args)


def test_bad_task_output_is_reported():
    class Wrong:
        n = 4

        def sample(self, m, rng):
            return np.zeros((m, 5)), np.zeros(m)

    with pytest.raises(ParameterError, match=r"task\.sample"):
        train_sgd(np.zeros(4), Wrong(), 0.1, 3, 2, 0)


# --------------------------------------------------------------------------- divergence
def test_divergence_stops_with_the_step_and_keeps_the_saves():
    task = GaussTask(n=10)
    w0 = np.random.default_rng(0).standard_normal(10)
    with pytest.raises(TrainingError, match=r"diverged at step \d+") as info:
        train_sgd(w0, task, 1e3, 10_000, 50, 1, save_every=3, eval_size=100)
    traj = info.value.trajectory
    assert traj.status == "diverged" and "step" in traj.message
    failed = int(traj.message.split("step ")[1].split()[0])
    assert 1 < failed < 10_000
    steps = traj.extras["step"]
    assert steps[-1] == failed - 1 and np.all(np.diff(steps) > 0)
    assert np.all(steps[:-1] % 3 == 0) and np.all(np.isfinite(traj.w))
    assert traj.w.shape[0] == steps.size == traj.extras["loss"].size
    ret = train_sgd(w0, task, 1e3, 10_000, 50, 1, save_every=3, eval_size=100,
                    on_failure="return")
    assert ret.status == "diverged" and not ret.ok
    np.testing.assert_array_equal(ret.w, traj.w)


def test_xavier_init_refuses_absurd_sizes_before_allocating():
    with pytest.raises(ParameterError, match="weights exceed"):
        xavier_init(None, 10**12)
