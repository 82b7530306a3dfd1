"""Speed of simulated training (``rfloc.numerics.train_sgd``) against plain NumPy loops.

Run: ``python benchmarks/bench_train.py`` (about 2 minutes on 2 cores). Prints steps/s and
ratios measured in the same run (best of a few repeats, to resist noisy neighbours):

1. one ReLU neuron, N = 40, batch 1000, Ising task (J = 0.7 vs 0.3):
   a. the training step alone — both sides consume the same pre-drawn batches;
   b. end to end, both sides sampling with rfloc's ``TwoClass.ising``;
   c. end to end against the baseline of the issue: NumPy forward/backward with a
      vectorised exact (transfer-matrix) Ising sampler written in NumPy;
2. K = 100 ReLU neurons, N = 40, batch 1000: steps/s against NumPy (default and one BLAS
   thread), other activations, scaling with K and N (training step alone);
3. several seeds in parallel: 1 worker vs 2 threads vs 2 processes;
4. paper-scale online SGD (LSG24's protocols, one ReLU neuron, N = 40): fused sampling
   (``sampler="fused"``) against the un-fused path (``"batched"``) in the same run, at
   Kur(5) ξ = (3, 1), batch 10 000 (2000 steps) and at the kurtosis-sweep point Kur(5)
   ξ = (0.7, 0.3), batch 50 000 (1000 steps), plus NLGP(3). Each is timed on a prefix of
   the run and scaled to the full run; CPU seconds of this process are shown beside the
   wall time (a shared machine inflates the wall time, not the CPU time). The fused
   kernel is also timed against its predecessor in the same run (``root_sgd_steps``:
   every word from NumPy's bit generator through a function pointer, the root's lags,
   IEEE table evaluation), both called directly on the same task. ``--paper``
   runs section 4 only; ``--against PYTHON`` also times the default path of the rfloc
   installed for that interpreter (e.g. the pre-#14 code in another virtual environment).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numba
import numpy as np

from rfloc.numerics.data import TwoClass
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
    """Hands out slices of a small pre-drawn pool: isolates the training step.

    The pool is a few batches, so it stays in cache like a batch the sampler just wrote.
    Call ``k`` returns rows ``[k m, (k + 1) m)`` modulo the pool (``calls = 0`` restarts).
    """

    def __init__(self, X: np.ndarray, y: np.ndarray):
        self.X, self.y, self.n, self.calls = X, y, X.shape[1], 0

    def sample(self, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        start = (self.calls * m) % (len(self.y) - m + 1)
        self.calls += 1
        return self.X[start:start + m], self.y[start:start + m]


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


def committee_rate(k: int, n: int, act: str = "relu", numpy: bool = False,
                   steps: int = 60) -> float:
    """Steps/s of a K-neuron committee on replayed ±1 data (training step alone)."""
    X = np.sign(np.random.default_rng(2).standard_normal((POOL * B, n)))
    y = (np.random.default_rng(3).random(POOL * B) < 0.5).astype(np.float64)
    rep = Replay(X, y)
    W = xavier_init(k, n, 0.1, 0)
    if numpy:
        return best_rate(lambda: numpy_sgd(W, rep.sample, LR, steps, None), steps)
    return best_rate(lambda: train_sgd(W, rep, LR, steps, B, 0, act, eval_size=0), steps)


def numpy_one_blas_thread(k: int, n: int) -> float:
    """:func:`committee_rate` of the NumPy loop in a child process with one BLAS thread."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--numpy-committee", str(k), str(n)],
                         env=env, capture_output=True, text=True, check=True)
    return float(out.stdout)


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


def parallel_capacity(n: int = 5_000_000) -> float:
    """Speed-up of two pure-Python loops in two processes over running them in a row."""
    t0 = time.perf_counter()
    _spin(n)
    _spin(n)
    serial = time.perf_counter() - t0
    with ProcessPoolExecutor(2) as pool:
        pool.submit(_spin, 10).result()  # start the workers
        t0 = time.perf_counter()
        list(pool.map(_spin, [n, n]))
        return serial / (time.perf_counter() - t0)


def machine() -> str:
    """Cores, thread settings and load, printed with every result."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env = ", ".join(f"{k}={os.environ.get(k, '-')}" for k in
                    ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"cores available: {cores}; numba threads {numba.get_num_threads()}; {env}; "
            f"load average {load:.1f}")


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """``(wall, CPU)`` seconds of one call."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def kur(k: float) -> object:
    """The Kur(k) law (``rfloc.theory.Algebraic`` in installations before the numeric laws)."""
    try:
        from rfloc.numerics.laws import Algebraic
    except ImportError:
        from rfloc.theory import Algebraic
    return Algebraic(k)


PAPER_CASES = (
    ("Kur(5), xi=(3,1), batch 10^4, 2000 steps (target <= 8 s)",
     lambda: TwoClass.norta(kur(5.0)), 10_000, 2000, 0.05, 100),
    ("kurtosis point Kur(5), xi=(0.7,0.3), batch 5*10^4, 1000 steps (<= 20 s)",
     lambda: TwoClass.norta(kur(5.0), xi=(0.7, 0.3)), 50_000, 1000, 0.1, 20),
    ("NLGP(3), xi=(2,1), batch 5*10^4, 10^4 steps (28-init peak run)",
     lambda: TwoClass.nlgp(3.0, xi=(2.0, 1.0)), 50_000, 10_000, 0.02, 20))


def probe_default(case: int) -> float:
    """CPU seconds of case ``case`` of :data:`PAPER_CASES` (its probe steps), default path.

    Uses only the API every rfloc version has, so ``--against PYTHON`` can time an older
    installation.
    """
    _, make, batch, _, lr, probe = PAPER_CASES[case]
    task = make()
    train_sgd(None, task, lr, 2, 100, 0, eval_size=0)
    return timed(partial(train_sgd, None, task, lr, probe, batch, 0, eval_size=0))[1]


def kernel_seconds(task: object, batch: int, lr: float, steps: int,
                   root: bool) -> tuple[float, float]:
    """``(wall, CPU)`` seconds of ``steps`` fused steps of the kernel alone: the current
    one (``fused_sgd_steps``) or, with ``root``, its predecessor (``root_sgd_steps``)."""
    from rfloc.numerics import _fused_sgd
    from rfloc.numerics._activations import RELU
    from rfloc.numerics.data._normal import ZIG_F, ZIG_R, ZIG_X

    p, pos, neg = _fused_sgd.fused_parts(task)
    run = _fused_sgd.root_sgd_steps if root else _fused_sgd.fused_sgd_steps
    bitgen = np.random.default_rng(0).bit_generator

    def call(n: int) -> None:
        W = xavier_init(None, N, 1.0, 0).reshape(1, N)
        out = np.empty((3, 1, N))
        run(bitgen.ctypes.next_uint64, bitgen.ctypes.state_address, (ZIG_X, ZIG_F, ZIG_R),
            p, pos, neg, W, np.zeros(1), np.ones(1), batch, n, 0, lr, RELU, False, False,
            np.array([n], dtype=np.int64), 0, out, np.empty((3, 1)), np.empty((3, 1)))

    call(1)                                              # compile (or load the cache)
    return timed(partial(call, steps))


def paper_scale(against: str | None) -> None:
    """Section 4: fused against batched online SGD at LSG24's sizes (one thread)."""
    print(f"\n4. paper-scale online SGD, one ReLU neuron, N = 40 ({machine()})")
    for case, (label, make, batch, steps, lr, probe) in enumerate(PAPER_CASES):
        task = make()
        print(f"  {label}:")
        times = {}
        if against:
            out = subprocess.run([against, __file__, "--probe", str(case)], check=True,
                                 capture_output=True, text=True)
            times["old"] = float(out.stdout) * steps / probe
            print(f"     {against}: {times['old']:7.1f} s CPU for the run (default path)")
        for sampler in ("fused", "batched"):
            train_sgd(None, task, lr, 2, 100, 0, eval_size=0, sampler=sampler)   # compile
            wall, cpu = timed(partial(train_sgd, None, task, lr, probe, batch, 0,
                                      eval_size=0, sampler=sampler))
            scale = steps / probe
            times[sampler] = cpu * scale
            print(f"     {sampler:8s} {wall * scale:7.1f} s wall, {cpu * scale:7.1f} s CPU for "
                  f"the run ({probe * batch / cpu / 1e6:.2f} M samples per CPU-second, "
                  f"{probe / cpu:.1f} steps/s)")
        scale = steps / probe
        (new_wall, new_cpu), (old_wall, old_cpu) = (
            kernel_seconds(task, batch, lr, probe, root) for root in (False, True))
        print(f"     fused kernel alone {new_wall * scale:7.1f} s wall, {new_cpu * scale:7.1f} s "
              f"CPU; its predecessor (bit generator, root lags) {old_wall * scale:7.1f} s "
              f"wall, {old_cpu * scale:7.1f} s CPU -> x{old_cpu / new_cpu:.2f} (CPU), "
              f"x{old_wall / new_wall:.2f} (wall)")
        print(f"     fused / batched speed-up (CPU time): "
              f"{times['batched'] / times['fused']:.2f}x"
              + (f";  fused / old {times['old'] / times['fused']:.2f}x" if against else ""))


def main() -> None:
    print(machine())
    task = TwoClass.ising(n=N, J=(0.7, 0.3))
    baseline = NumpyIsing()
    w0 = xavier_init(None, N, 0.001, 0)
    train_sgd(w0, baseline, LR, 2, B, 0, eval_size=0)  # compile (or load the JIT cache)

    print(f"\n1. one ReLU neuron, N = {N}, batch {B}, lr = {LR}, Ising J = (0.7, 0.3)")
    steps = 2000
    replay = Replay(*baseline.sample(POOL * B, np.random.default_rng(1)))

    def fast(t, s=steps):
        return lambda: train_sgd(w0, t, LR, s, B, 0, eval_size=0)

    def slow(sample, s=steps):
        return lambda: numpy_sgd(w0, sample, LR, s, np.random.default_rng(0))

    first = fast(replay)().final
    replay.calls = 0
    same = np.allclose(first, slow(replay.sample)()[0], rtol=1e-9, atol=1e-12)
    step_fast = best_rate(fast(replay), steps, 5)
    step_slow = best_rate(slow(replay.sample), steps, 5)
    print(f"  a. training step alone (same replayed batches; same weights: {same}):")
    print(f"     train_sgd {step_fast:8.0f} steps/s   NumPy {step_slow:8.0f} steps/s   "
          f"ratio {step_fast / step_slow:.2f}x")
    s2 = 300
    gen = np.random.default_rng(0)
    def draw(sampler):
        def run():
            for _ in range(s2):
                sampler(B, gen)
        return run

    rfloc_sampler = best_rate(draw(task.sample), s2)
    numpy_sampler = best_rate(draw(baseline.sample), s2)
    print(f"     sampling alone, batches/s: rfloc TwoClass.ising {rfloc_sampler:.0f}, "
          f"NumPy transfer-matrix {numpy_sampler:.0f} "
          f"({rfloc_sampler / numpy_sampler:.2f}x)")
    e2e_fast = best_rate(fast(task, s2), s2)
    e2e_same = best_rate(slow(task.sample, s2), s2)
    e2e_base = best_rate(slow(baseline.sample, s2), s2)
    print("  b. end to end, both sampling with rfloc's TwoClass.ising:")
    print(f"     train_sgd {e2e_fast:8.0f} steps/s   NumPy {e2e_same:8.0f} steps/s   "
          f"ratio {e2e_fast / e2e_same:.2f}x")
    print("  c. end to end vs the issue's baseline (NumPy loop + vectorised NumPy Ising):")
    print(f"     train_sgd {e2e_fast:8.0f} steps/s   NumPy {e2e_base:8.0f} steps/s   "
          f"ratio {e2e_fast / e2e_base:.2f}x   (target >= 3x)")
    print(f"     sampling is {100 * e2e_fast / rfloc_sampler:.0f}% of a train_sgd step")

    print(f"\n2. K-neuron ReLU committee, batch {B}, training step alone (replayed batches)")
    f = committee_rate(100, N)
    s = committee_rate(100, N, numpy=True)
    s1 = numpy_one_blas_thread(100, N)
    print(f"  K = 100, N = {N}: train_sgd {f:.0f} steps/s (one core);  NumPy {s:.0f} steps/s "
          f"with default BLAS threads ({f / s:.2f}x), {s1:.0f} with one BLAS thread "
          f"({f / s1:.2f}x)")
    print(f"  K = 100, N = {N}, other activations: " + "  ".join(
        f"{act} {committee_rate(100, N, act):.0f}" for act in ("sigmoid", "tanh", "erf"))
        + "  steps/s")
    print("  scaling with K (N = 40):  " + "  ".join(
        f"K={k}: {committee_rate(k, N):.0f}" for k in (10, 30, 100, 300)) + "  steps/s")
    print("  scaling with N (K = 100): " + "  ".join(
        f"N={n}: {committee_rate(100, n):.0f}" for n in (20, 40, 100, 200)) + "  steps/s")

    print("\n3. several seeds in parallel (train_sgd_seeds), 4 runs")
    capacity = parallel_capacity()
    print(f"  machine check: a pure-Python loop runs {capacity:.2f}x faster in 2 processes "
          f"than twice in a row (ideal 2x; a VM's cores may be shared)")
    W = xavier_init(100, N, 0.1, 0)
    rep = Replay(np.sign(np.random.default_rng(2).standard_normal((POOL * B, N))),
                 replay.y)
    for label, data, init, n_steps in (("K = 100, replayed data (kernel-bound)", rep, W, 200),
                                       ("one neuron, Ising end to end (sampler-bound)",
                                        task, w0, 500)):
        rates = {}
        for workers, backend in ((1, "threads"), (2, "threads"), (2, "processes")):
            def run(data=data, init=init, n_steps=n_steps, workers=workers, backend=backend):
                train_sgd_seeds(init, data, LR, n_steps, B, 5, runs=4, workers=workers,
                                backend=backend, eval_size=0)
            rates[workers, backend] = best_rate(run, 4 * n_steps, 2)
        one = rates[1, "threads"]
        print(f"  {label}: 1 worker {one:.0f} steps/s;  2 threads "
              f"{rates[2, 'threads']:.0f} ({rates[2, 'threads'] / one:.2f}x);  "
              f"2 processes {rates[2, 'processes']:.0f} ({rates[2, 'processes'] / one:.2f}x)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--numpy-committee"]:
        print(committee_rate(int(sys.argv[2]), int(sys.argv[3]), numpy=True))
    elif sys.argv[1:2] == ["--probe"]:
        print(probe_default(int(sys.argv[2])))
    else:
        against = sys.argv[sys.argv.index("--against") + 1] if "--against" in sys.argv else None
        if "--paper" not in sys.argv:
            main()
        paper_scale(against)
