"""Speed of simulated training (``rfloc.numerics.train_sgd``) against plain NumPy loops.

Run: ``python benchmarks/bench_train.py`` (about 2 minutes on 2 cores). Prints steps/s and
ratios measured in the same run (best of a few repeats, to resist noisy neighbours):

1. one ReLU neuron, N = 40, batch 1000, Ising task (J = 0.7 vs 0.3):
   a. the training step alone — both sides consume the same pre-drawn batches;
   b. end to end, both sides sampling with the same Ising sampler (rfloc's if available);
   c. end to end against the baseline of the issue: NumPy forward/backward with a
      vectorised exact (transfer-matrix) Ising sampler written in NumPy;
2. K = 100 ReLU neurons, N = 40, batch 1000: steps/s, scaling with K and N (training step
   alone), and several seeds with 1 vs 2 worker threads.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable

import numpy as np

from rfloc.numerics.train import train_sgd, train_sgd_seeds, xavier_init

N, B, LR = 40, 1000, 0.05
POOL = 8  # batches in a replay pool


class NumpyIsing:
    """Vectorised exact sampler of two periodic Ising rings (the NumPy baseline).

    Spin i given spin i-1 and spin 0 from the transfer matrix of the remaining bonds:
    P(s_i = +1 | s_{i-1}, s_0) ∝ exp(J s_{i-1}) (1 + s_0 tanh(J)^(N-i)); the four cases
    are tabulated once, so each pixel costs a few vectorised operations.
    """

    def __init__(self, n: int = N, J: tuple[float, float] = (0.7, 0.3), p: float = 0.5):
        self.n, self.J, self.p = n, J, p
        self.tables = [self._table(j) for j in J]

    def _table(self, J: float) -> np.ndarray:
        t = math.tanh(J)
        tab = np.empty((self.n, 4))  # column 2*(s_{i-1} > 0) + (s_0 > 0)
        for i in range(1, self.n):
            tm = t ** (self.n - i)
            for prev in (-1, 1):
                for s0 in (-1, 1):
                    up = math.exp(J * prev) * (1 + s0 * tm)
                    down = math.exp(-J * prev) * (1 - s0 * tm)
                    tab[i, 2 * (prev > 0) + (s0 > 0)] = up / (up + down)
        return tab

    def _ring(self, m: int, tab: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = rng.random((self.n, m))
        up = np.empty((self.n, m), dtype=bool)
        up[0] = u[0] < 0.5
        first = up[0].astype(np.intp)
        for i in range(1, self.n):
            up[i] = u[i] < tab[i][2 * up[i - 1] + first]
        return np.where(up.T, 1.0, -1.0)

    def sample(self, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        y = (rng.random(m) < self.p).astype(np.float64)
        X = np.empty((m, self.n))
        ones = y == 1.0
        X[ones] = self._ring(int(ones.sum()), self.tables[0], rng)
        X[~ones] = self._ring(m - int(ones.sum()), self.tables[1], rng)
        return X, y


class Replay:
    """Cycles through a small pre-drawn pool of batches: isolates the training step.

    The pool is a few batches (it stays in cache, like a batch the sampler just wrote).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.X, self.y, self.n, self.pos = X, y, X.shape[1], 0

    def sample(self, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        if self.pos + m > len(self.y):
            self.pos = 0
        s = slice(self.pos, self.pos + m)
        self.pos += m
        return self.X[s], self.y[s]


def numpy_sgd(W: np.ndarray, sample: Callable, lr: float, steps: int,
              rng: np.random.Generator) -> np.ndarray:
    """The plain NumPy loop: ReLU committee (K = 1: one neuron), readout 1/K, no-1/2 MSE."""
    W = np.atleast_2d(W).copy()
    v = np.full(W.shape[0], 1.0 / W.shape[0])
    for _ in range(steps):
        X, y = sample(B, rng)
        Z = X @ W.T
        e = np.maximum(Z, 0.0) @ v - y
        D = (e[:, None] * v) * (Z > 0.0)
        W -= lr * (2.0 / B) * (D.T @ X)
    return W


def best_rate(fn: Callable[[], object], steps: int, repeats: int = 3) -> float:
    """Steps per second, best of ``repeats``."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return steps / best


def ising_task():
    """rfloc's reference Ising task if the data module is installed, else the NumPy one."""
    try:
        from rfloc.numerics.data import TwoClass
    except ImportError:
        return NumpyIsing(), "NumPy transfer-matrix sampler (rfloc.numerics.data missing)"
    return TwoClass.ising(n=N, J=(0.7, 0.3)), "rfloc.numerics.data.TwoClass.ising"


def main() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"cores available: {cores}")
    task, task_name = ising_task()
    baseline = NumpyIsing()
    print(f"Ising task for train_sgd: {task_name}")
    w0 = xavier_init(None, N, 0.001, 0)
    train_sgd(w0, baseline, LR, 2, B, 0, eval_size=0)  # compile (or load the JIT cache)

    print(f"\n1. one ReLU neuron, N = {N}, batch {B}, lr = {LR}")
    steps = 2000
    pool = baseline.sample(POOL * B, np.random.default_rng(1))
    replay = Replay(*pool)

    def fast(t, s=steps):
        return lambda: train_sgd(w0, t, LR, s, B, 0, eval_size=0)

    def slow(sample, s=steps):
        return lambda: numpy_sgd(w0, sample, LR, s, np.random.default_rng(0))

    replay.pos = 0
    same = np.allclose(fast(replay)().final, slow(replay.sample)()[0], rtol=1e-9, atol=1e-12)
    step_fast = best_rate(fast(replay), steps, 5)
    step_slow = best_rate(slow(replay.sample), steps, 5)
    print(f"  a. training step alone (same batches, same result: {same}):")
    print(f"     train_sgd {step_fast:9.0f} steps/s   NumPy {step_slow:9.0f} steps/s   "
          f"ratio {step_fast / step_slow:.2f}x")
    s2 = 300
    e2e_fast = best_rate(fast(task, s2), s2)
    e2e_same = best_rate(slow(task.sample, s2), s2)
    e2e_base = best_rate(slow(baseline.sample, s2), s2)
    print(f"  b. end to end, same sampler ({task_name}):")
    print(f"     train_sgd {e2e_fast:9.0f} steps/s   NumPy {e2e_same:9.0f} steps/s   "
          f"ratio {e2e_fast / e2e_same:.2f}x")
    print("  c. end to end vs the issue's baseline (NumPy loop + vectorised NumPy Ising):")
    print(f"     train_sgd {e2e_fast:9.0f} steps/s   NumPy {e2e_base:9.0f} steps/s   "
          f"ratio {e2e_fast / e2e_base:.2f}x   (target >= 3x)")

    print(f"\n2. K-neuron ReLU committee, batch {B} (training step alone, pre-drawn batches)")
    steps = 60

    def committee(k, n, act="relu"):
        X = np.sign(np.random.default_rng(2).standard_normal((POOL * B, n)))
        rep = Replay(X, pool[1])
        W = xavier_init(k, n, 0.1, 0)
        f = best_rate(lambda: train_sgd(W, rep, LR, steps, B, 0, act, eval_size=0), steps)
        s = best_rate(lambda: numpy_sgd(W, rep.sample, LR, steps, None), steps)
        return f, s

    f, s = committee(100, N)
    print(f"  K = 100, N = {N}: train_sgd {f:7.0f} steps/s   NumPy {s:7.0f} steps/s   "
          f"ratio {f / s:.2f}x")
    for act in ("sigmoid", "tanh", "erf"):
        print(f"  K = 100, N = {N}, {act:7s}: train_sgd {committee(100, N, act)[0]:7.0f} "
              f"steps/s")
    print("  scaling with K (N = 40):  " + "  ".join(
        f"K={k}: {committee(k, N)[0]:.0f}" for k in (10, 30, 100, 300)) + "  steps/s")
    print("  scaling with N (K = 100): " + "  ".join(
        f"N={n}: {committee(100, n)[0]:.0f}" for n in (20, 40, 100, 200)) + "  steps/s")

    runs, steps = 4, 100
    W = xavier_init(100, N, 0.1, 0)
    rates = {}
    for workers in (1, 2):
        rates[workers] = best_rate(lambda w=workers: train_sgd_seeds(
            W, task, LR, steps, B, 5, runs=runs, workers=w, eval_size=0), runs * steps, 2)
    print(f"  {runs} seeds x {steps} steps, K = 100, end to end with {task_name}:")
    print(f"     1 worker {rates[1]:7.0f} steps/s   2 workers {rates[2]:7.0f} steps/s   "
          f"speed-up {rates[2] / rates[1]:.2f}x")
    rates = {}
    for workers in (1, 2):
        rates[workers] = best_rate(lambda w=workers: train_sgd_seeds(
            w0, task, LR, 300, B, 5, runs=runs, workers=w, eval_size=0), runs * 300, 2)
    print(f"  {runs} seeds x 300 steps, one neuron, end to end:")
    print(f"     1 worker {rates[1]:7.0f} steps/s   2 workers {rates[2]:7.0f} steps/s   "
          f"speed-up {rates[2] / rates[1]:.2f}x")


if __name__ == "__main__":
    main()
