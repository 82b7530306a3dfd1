"""IG22's two-output network against independent truths.

Truths used: a NumPy loss written here from IG22's ``TwoLayer.forward`` and ``F.mse_loss``
(``x @ fc1 / sqrt(D) + bias``, ``g``, ``@ fc2``, ``/ norm``, mean over batch and outputs);
central finite differences of that loss; the learning-rate factors, second layer and
bias signs of ``conv_emerge_online.py`` written out by hand.

Finite-difference tolerance: with step h = 1e-5 on O(1) parameters, the central
difference errs by about h^2 |L'''| / 6 ~ 1e-11 (truncation) plus eps |L| / h ~ 1e-11
(rounding, eps = 2.2e-16), so an agreement to 1e-8 absolute leaves a factor ~1000 of margin
while any wrong factor (1/2, sqrt N, K) fails by orders of magnitude.
"""

import math

import numpy as np
import pytest
from scipy import special

from rfloc.errors import ParameterError, TrainingError
from rfloc.numerics import _two_output_kernels as kernels
from rfloc.numerics.two_output import ACTIVATIONS, train_two_output

H = 1e-5
ATOL = 1e-8
ACT_FUNCS = {
    "erf": lambda z: special.erf(z / math.sqrt(2.0)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
}


# --------------------------------------------------------------------------- references
def np_targets(y, act):
    t = np.stack([y == 0, y == 1], axis=1).astype(float)  # utils.get1hot
    return 2 * t - 1 if act in ("erf", "tanh") else t


def np_loss(W, b, V, X, y, act, norm):
    """IG22: F.mse_loss(g(X @ W.T / sqrt(N) + b) @ V / norm, targets), reduction mean."""
    out = ACT_FUNCS[act](X @ W.T / math.sqrt(X.shape[1]) + b) @ V / norm
    return np.mean((out - np_targets(y, act)) ** 2)


def fd_gradients(W, b, V, X, y, act, norm):
    """Central finite differences of np_loss in every entry of W, b and V."""
    grads = []
    for p in (W, b, V):
        g = np.empty_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + H
            up = np_loss(W, b, V, X, y, act, norm)
            p[idx] = old - H
            down = np_loss(W, b, V, X, y, act, norm)
            p[idx] = old
            g[idx] = (up - down) / (2 * H)
        grads.append(g)
    return grads


class FixedTask:
    """Always the same data: the first m rows of a stored sample (rng ignored)."""

    def __init__(self, X, y):
        self.X, self.y, self.n = X, y, X.shape[1]

    def sample(self, m, rng):
        reps = -(-m // len(self.y))
        return np.tile(self.X, (reps, 1))[:m], np.tile(self.y, reps)[:m]


class GaussTask:
    """Two Gaussian classes with means +-mu (a task a few hundred steps can learn)."""

    def __init__(self, n=10, mu=1.0):
        self.n, self.mu = n, mu

    def sample(self, m, rng):
        y = (rng.random(m) < 0.5).astype(float)
        X = rng.standard_normal((m, self.n)) + self.mu * (2 * y[:, None] - 1)
        return X, y


def random_state(rng, K, N, B, scaling, bias):
    W = rng.standard_normal((K, N))
    b = rng.standard_normal(K) if bias != "none" else np.zeros(K)
    V = rng.standard_normal((K, 2)) if scaling == "2layer" else np.tile([1.0, -1.0], (K, 1))
    X = rng.standard_normal((B, N))
    y = (rng.random(B) < 0.5).astype(float)
    return W, b, V, X, y


def norm_of(scaling, K):
    return {"mf": K, "lazy": math.sqrt(K), "2layer": 1.0}[scaling]


CASES = [("erf", "mf", "none"), ("tanh", "lazy", "train"), ("relu", "2layer", "fixed"),
         ("linear", "mf", "train"), ("erf", "2layer", "train"), ("relu", "lazy", "none")]


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize(("act", "scaling", "bias"), CASES)
def test_kernel_gradient_matches_finite_differences(act, scaling, bias):
    rng = np.random.default_rng(CASES.index((act, scaling, bias)))
    K, N, B = 3, 7, 13
    W, b, V, X, y = random_state(rng, K, N, B, scaling, bias)
    if act == "relu":  # no preactivation within reach of the kink
        assert np.min(np.abs(X @ W.T / math.sqrt(N) + b)) > 1e-3
    norm = norm_of(scaling, K)
    gW, gb, gV = np.empty((K, N)), np.empty(K), np.empty((K, 2))
    loss = kernels.batch_gradient(W, b, V, X, np_targets(y, act), np.arange(B), 0, B,
                                  ACTIVATIONS[act], 1.0 / norm, gW, gb, gV, np.empty(K),
                                  np.empty(K))
    assert loss == pytest.approx(np_loss(W, b, V, X, y, act, norm), rel=1e-12)
    fW, fb, fV = fd_gradients(W, b, V, X, y, act, norm)
    np.testing.assert_allclose(gW, fW, rtol=0, atol=ATOL)
    np.testing.assert_allclose(gb, fb, rtol=0, atol=ATOL)
    np.testing.assert_allclose(gV, fV, rtol=0, atol=ATOL)


@pytest.mark.parametrize(("act", "scaling", "bias"), CASES)
def test_one_step_is_minus_scaled_lr_times_fd_gradient(act, scaling, bias):
    """IG22's rates: fc1 at lr*K (mf) / lr*sqrt(K) (lazy) / lr, bias and fc2 at rate/D."""
    rng = np.random.default_rng(100 + CASES.index((act, scaling, bias)))
    K, N, B, lr = 5, 6, 9, 0.03
    W0, _, _, X, y = random_state(rng, K, N, B, scaling, "none")
    value = 0.7
    traj = train_two_output(W0, FixedTask(X, y), lr, 1, B, 0, scaling=scaling,
                            activation=act, bias=bias,
                            bias_value=None if bias == "none" else value)
    b0 = np.asarray(traj.params["bias_init"])
    V0 = np.asarray(traj.params["readout_init"])
    expected_b = {"none": np.zeros(K), "fixed": value * np.array([1, 1, -1, -1, -1]),
                  "train": value * np.array([1, 1, -1, -1, -1])}[bias]
    np.testing.assert_array_equal(b0, expected_b)
    if scaling != "2layer":
        np.testing.assert_array_equal(V0, np.tile([1.0, -1.0], (K, 1)))
    norm = norm_of(scaling, K)
    fW, fb, fV = fd_gradients(W0.copy(), b0.copy(), V0.copy(), X, y, act, norm)
    lr_w = lr * {"mf": K, "lazy": math.sqrt(K), "2layer": 1.0}[scaling]
    np.testing.assert_allclose(traj.w[1] - W0, -lr_w * fW, rtol=0, atol=lr_w * ATOL)
    if bias == "train":
        np.testing.assert_allclose(traj.extras["bias"][1] - b0, -lr_w / N * fb, rtol=0,
                                   atol=ATOL)
    else:
        assert "bias" not in traj.extras
    if scaling == "2layer":
        np.testing.assert_allclose(traj.extras["readout"][1] - V0, -lr / N * fV, rtol=0,
                                   atol=ATOL)
    else:
        assert "readout" not in traj.extras
    assert traj.params["lr_first_layer"] == pytest.approx(lr_w)


def test_evaluation_matches_numpy_loss_and_argmax_accuracy():
    task = GaussTask(n=8)
    traj = train_two_output(4, task, 0.05, 300, 2, 3, scaling="2layer", bias="train",
                            save_every=100, eval_size=500)
    X, y = task.sample(500, np.random.default_rng(np.random.SeedSequence(3).spawn(3)[1]))
    for t in range(traj.t.size):
        W, b, V = traj.w[t], traj.extras["bias"][t], traj.extras["readout"][t]
        assert traj.extras["loss"][t] == pytest.approx(np_loss(W, b, V, X, y, "erf", 1.0),
                                                       rel=1e-10)
        out = special.erf((X @ W.T / math.sqrt(8) + b) / math.sqrt(2)) @ V
        assert traj.extras["accuracy"][t] == np.mean((out[:, 1] > out[:, 0]) == (y == 1))
    assert traj.extras["loss"][-1] < traj.extras["loss"][0]
    assert traj.extras["accuracy"][-1] > 0.9


# --------------------------------------------------------------------------- init, time
def test_drawn_init_law_and_time_axes():
    n, K, lr = 400, 50, 0.05
    traj = train_two_output(K, GaussTask(n=n), lr, 2 * n, 1, 4, save_every=n)
    w = traj.w[0]
    assert abs(w.mean()) < 4 * 0.1 / math.sqrt(w.size)
    assert w.std() == pytest.approx(0.1, rel=0.03)  # 20 000 draws: 1 % standard error
    np.testing.assert_array_equal(traj.extras["step"], [0, n, 2 * n])
    np.testing.assert_allclose(traj.extras["ig22_time"], [0.0, 1.0, 2.0])
    np.testing.assert_allclose(traj.t, lr * traj.extras["step"])
    scaled = train_two_output(3, GaussTask(n=5), lr, 1, 1, 4, init_std=2.0)
    assert np.std(scaled.w[0]) > 0.5


# --------------------------------------------------------------------------- seeds
def test_same_seed_same_trajectory_save_every_and_prefix():
    task = GaussTask(n=12)
    kw = {"scaling": "lazy", "activation": "tanh", "bias": "train"}
    a = train_two_output(3, task, 0.1, 700, 4, 11, save_every=100, **kw)
    b = train_two_output(3, task, 0.1, 700, 4, 11, save_every=100, **kw)
    np.testing.assert_array_equal(a.w, b.w)
    np.testing.assert_array_equal(a.extras["bias"], b.extras["bias"])
    every_step = train_two_output(3, task, 0.1, 700, 4, 11, save_every=1, **kw)
    np.testing.assert_array_equal(every_step.w[::100], a.w)
    ends = train_two_output(3, task, 0.1, 700, 4, 11, **kw)
    np.testing.assert_array_equal(ends.w[-1], a.w[-1])
    prefix = train_two_output(3, task, 0.1, 300, 4, 11, **kw)
    np.testing.assert_array_equal(prefix.w[-1], a.w[3])
    other = train_two_output(3, task, 0.1, 700, 4, 12, save_every=100, **kw)
    assert not np.array_equal(other.w[-1], a.w[-1])


# --------------------------------------------------------------------------- errors
TASK = GaussTask(n=4)


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"lr": 0.0}, "lr"), ({"lr": float("nan")}, "lr"), ({"steps": -1}, "steps"),
    ({"steps": 1.5}, "steps"), ({"batch_size": 0}, "batch_size"),
    ({"scaling": "conv"}, "scaling"), ({"activation": "sigmoid"}, "activation"),
    ({"bias": True}, "bias"), ({"bias": "fixed", "bias_value": -1.0}, "bias_value"),
    ({"bias_value": 0.5}, "bias_value"), ({"init_std": 0.0}, "init_std"),
    ({"save_every": 0}, "save_every"), ({"eval_size": -1}, "eval_size"),
    ({"on_failure": "ignore"}, "on_failure"), ({"w0": 0}, "w0"),
    ({"w0": np.zeros((2, 5))}, "w0"), ({"w0": np.zeros(4)}, "w0"),
    ({"w0": np.full((2, 4), np.nan)}, "w0"), ({"seed": -3}, "seed"),
    ({"task": object()}, "task"), ({"w0": np.zeros((2, 4)), "init_std": 0.1}, "init_std"),
])
def test_bad_inputs_raise_parameter_error_naming_the_parameter(kwargs, name):
    args = {"w0": 2, "task": TASK, "lr": 0.1, "steps": 3, "batch_size": 2, "seed": 0}
    args.update(kwargs)
    with pytest.raises(ParameterError, match=name):
        train_two_output(args.pop("w0"), args.pop("task"), args.pop("lr"), args.pop("steps"),
                         args.pop("batch_size"), args.pop("seed"), **args)


def test_bad_labels_raise_parameter_error():
    task = FixedTask(np.ones((3, 4)), np.array([0.0, 2.0, 1.0]))
    with pytest.raises(ParameterError, match="labels"):
        train_two_output(2, task, 0.1, 1, 3, 0)


# --------------------------------------------------------------------------- divergence
def test_huge_lr_diverges_with_step_and_time_reported():
    task = GaussTask(n=6)
    with pytest.raises(TrainingError, match=r"diverged at step \d+ \(t = ") as info:
        train_two_output(2, task, 1e150, 50, 2, 0, activation="linear", bias="train")
    traj = info.value.trajectory
    assert traj.status == "diverged"
    assert np.all(np.isfinite(traj.w))
    ret = train_two_output(2, task, 1e150, 50, 2, 0, activation="linear", bias="train",
                           on_failure="return")
    failed = int(ret.message.split("step ")[1].split()[0])
    assert ret.status == "diverged" and not ret.ok
    assert ret.extras["step"][-1] == failed - 1 == ret.stats["steps"]
    np.testing.assert_array_equal(ret.w, traj.w)
    assert np.all(np.isfinite(ret.extras["bias"]))
