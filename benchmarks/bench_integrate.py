"""Speed of ``integrate_effective``, as ratios against baselines timed in the same run.

Run: ``python benchmarks/bench_integrate.py`` (a few minutes);
``python benchmarks/bench_integrate.py --against /path/to/other/python`` times this code
against another installation of rfloc (e.g. an older version) instead: Euler (M = 256) and
dopri5 (one initial condition; M = 256), each interpreter in its own processes, in
alternation, medians of the per-process best times. Problem: N = 40 ring, Ising
covariances J = 0.7 (class 1) and 0.3 (class 0), p = 1/2, binary (±1) amplifier, initial
conditions ``0.007 * normal`` (the reference init scale), 2000 Euler steps of dt = 0.05.

Baselines:

rfloc runs with its defaults (``products="auto"``, which picks the O(N) Markov products for
the Ising ring's cyclic tridiagonal precision); the dense-product path is timed alongside.

- NumPy, vectorised over the batch: ``W += dt * (p*erf(a/sqrt(2(1-a^2))) - W @ covbar)`` with
  ``a = W @ cov1 / ||w||_cov1`` (BLAS products, SciPy's ``erf``);
- NumPy, one initial condition at a time (the reference authors' style): the same update
  for a vector, in a Python loop over initial conditions (a subset is timed and scaled);
- ``scipy.integrate.solve_ivp(method="RK45")`` at a given accuracy, against our "rk4"
  (largest dt reaching at least that accuracy) and "dopri5" (tolerances tightened until it
  does), accuracy measured against DOP853 at rtol 1e-12: one initial condition at a time
  ([2a] reference init, [2b] unit norm) and batches of M ([2c], [2d]) against a loop.

Times are the best of a few repeats after a warm-up (JIT compilation is excluded: Numba
caches it on disk), jobs under 50 ms repeated within a timing; rfloc and its baseline are
timed in alternation, so a busy machine slows
both alike, with a short pause before each timing so that idle BLAS/OpenMP threads of the
previous job have stopped spinning.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numba
import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import erf

from rfloc.numerics.amplifier_table import AmplifierTable
from rfloc.numerics.integrate import integrate_effective
from rfloc.theory.covariance import gaussian_kernel, ising_covariance

N, M, STEPS, DT, P = 40, 256, 2000, 0.05, 0.5
T_END = STEPS * DT
COV1, COV0 = ising_covariance(N, 0.7), ising_covariance(N, 0.3)
COVBAR = P * COV1 + (1 - P) * COV0
BINARY = AmplifierTable.binary()
_PAUSE = 0.3  # s


def best_times(jobs: list[Callable[[], object]], rounds: int = 5,
               min_time: float = 0.05) -> list[float]:
    """Best wall time per call of each job over ``rounds``, jobs run in alternation after a
    warm-up.

    Jobs shorter than ``min_time`` are called repeatedly within one timing (the count fixed
    from the warm-up), so that a millisecond job is timed in steady state like a longer one.
    A pause precedes every timing: BLAS and OpenMP worker threads spin for a while after
    their last task and would otherwise steal the cores from the next job.
    """
    reps = []
    for job in jobs:
        t0 = time.perf_counter()
        job()
        reps.append(max(1, math.ceil(min_time / max(time.perf_counter() - t0, 1e-9))))
    best = [math.inf] * len(jobs)
    for _ in range(rounds):
        for i, job in enumerate(jobs):
            time.sleep(_PAUSE)
            t0 = time.perf_counter()
            for _ in range(reps[i]):
                job()
            best[i] = min(best[i], (time.perf_counter() - t0) / reps[i])
    return best


# ---------------------------------------------------------------- baselines
def numpy_batched(w0: np.ndarray, phi: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    w = w0.copy()
    for _ in range(STEPS):
        s1 = w @ COV1
        a = s1 / np.sqrt(np.einsum("mi,mi->m", w, s1))[:, None]
        w += DT * (P * phi(a) - w @ COVBAR)
    return w


def numpy_per_init(w0: np.ndarray) -> np.ndarray:
    out = np.empty_like(w0)
    for m, w in enumerate(w0):
        w = w.copy()
        for _ in range(STEPS):
            s1 = COV1 @ w
            a = s1 / math.sqrt(w @ s1)
            w = w + DT * (P * erf(a / np.sqrt(2 * (1 - a * a))) - COVBAR @ w)
        out[m] = w
    return out


def binary_erf(a: np.ndarray) -> np.ndarray:
    return erf(a / np.sqrt(2 * (1 - a * a)))


def rhs(_t: float, w: np.ndarray) -> np.ndarray:
    s1 = COV1 @ w
    return P * binary_erf(s1 / math.sqrt(w @ s1)) - COVBAR @ w


def solve_rk45(w0: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    return solve_ivp(rhs, (0.0, T_END), w0, method="RK45", rtol=rtol, atol=atol).y[:, -1]


# ---------------------------------------------------------------- sections
def euler_batch(w0: np.ndarray) -> None:
    print(f"\n[1] Euler, N = {N}, M = {M} initial conditions, {STEPS} steps of dt = {DT}")
    traj = integrate_effective(w0, COV1, COV0, BINARY, T_END, DT, method="euler")
    err = np.max(np.abs(traj.final - numpy_batched(w0, binary_erf)))
    subset = w0[:16]
    threads = numba.get_num_threads()

    def ours(products: str = "auto", amp: AmplifierTable = BINARY) -> None:
        integrate_effective(w0, COV1, COV0, amp, T_END, DT, method="euler", products=products)

    def ours_single_thread() -> None:
        numba.set_num_threads(1)
        try:
            ours()
        finally:
            numba.set_num_threads(threads)

    t_ours, t_np, t_one, t_dense = best_times([
        ours, lambda: numpy_batched(w0, binary_erf), ours_single_thread,
        lambda: ours("dense")])
    (t_loop,) = best_times([lambda: numpy_per_init(subset)], rounds=2)
    t_loop *= M / subset.shape[0]
    print(f"    rfloc (Numba, {threads} threads, products='{traj.params['products']}'):"
          f" {t_ours:7.3f} s   (max |difference| to NumPy: {err:.1e})")
    print(f"    rfloc (Numba, 1 thread):  {t_one:8.3f} s   per-core ratio to NumPy "
          f"{t_np / t_one:.1f}x")
    print(f"    NumPy vectorised over the batch:   {t_np:8.3f} s   ratio {t_np / t_ours:6.1f}x"
          f"   (target >= 5x)")
    print(f"    NumPy loop over initial conditions:{t_loop:8.3f} s   ratio "
          f"{t_loop / t_ours:6.1f}x   (target >= 50x; 16 of {M} timed, scaled by {M // 16})")
    print(f"    rfloc with products='dense' (what any covariance gets at this N): "
          f"{t_dense:.3f} s, ratio to batched NumPy {t_np / t_dense:.1f}x")
    fitted = AmplifierTable.fit(
        lambda th: math.erf(math.tan(th) / math.sqrt(2)) if th < math.pi / 2 - 1e-15 else 1.0)
    t_tab, t_np_tab = best_times([lambda: ours(amp=fitted),
                                  lambda: numpy_batched(w0, fitted)], rounds=2)
    print(f"    same with a tabulated amplifier (no closed form; NumPy calls the table's "
          f"vectorised __call__):\n      rfloc {t_tab:.3f} s, NumPy {t_np_tab:.3f} s, ratio "
          f"{t_np_tab / t_tab:.1f}x")


def matched_settings(w0: np.ndarray, ref: np.ndarray, target: float, rtol: float,
                     atol: float) -> tuple[float, float]:
    """dopri5 rtol (atol scaled alike; rtol, rtol/2, rtol/5, rtol/10, ...) and rk4 dt
    (halved) reaching ``target`` error at ``T_END`` for every row of ``w0`` (N,) or (M, N)."""
    steps = itertools.cycle((2.0, 2.5, 2.0))
    tol = rtol
    while np.max(np.abs(_ours(w0, "dopri5", DT, tol, tol * atol / rtol) - ref)) > target:
        tol /= next(steps)
    dt = 0.2
    while np.max(np.abs(_ours(w0, "rk4", dt) - ref)) > target:
        dt /= 2
    return tol, dt


def against_solve_ivp(w0: np.ndarray, label: str) -> None:
    """Ratios for one initial condition at two accuracies."""
    print(f"\n[2{label}] One initial condition (||w0|| = {np.linalg.norm(w0):.3g}) to "
          f"t = {T_END:g}: rk4 / dopri5 vs solve_ivp(RK45)")
    ref = solve_ivp(rhs, (0.0, T_END), w0, method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
    for rtol, atol in ((1e-6, 1e-9), (1e-9, 1e-12)):
        target = np.max(np.abs(solve_rk45(w0, rtol, atol) - ref))
        tol, dt = matched_settings(w0, ref, target, rtol, atol)
        times = best_times([lambda r=rtol, a=atol: solve_rk45(w0, r, a),
                            lambda t=tol, a=tol * atol / rtol: _ours(w0, "dopri5", DT, t, a),
                            lambda h=dt: _ours(w0, "rk4", h)], rounds=3)
        print(f"    error {target:.1e} (RK45 rtol={rtol:g}, atol={atol:g}): "
              f"solve_ivp {times[0] * 1e3:7.2f} ms")
        print(f"      dopri5 (rtol={tol:g}): {times[1] * 1e3:8.2f} ms, ratio "
              f"{times[0] / times[1]:6.1f}x   (target >= 20x)")
        print(f"      rk4 (dt={dt:g}): {times[2] * 1e3:8.2f} ms, ratio "
              f"{times[0] / times[2]:6.1f}x   (target >= 20x)")


def batch_against_solve_ivp(w0: np.ndarray, label: str, rtol: float, atol: float) -> None:
    """Batched rk4 / dopri5 over all of ``w0`` (M, N) against solve_ivp in a loop, settings
    matched on the first 8 rows (solve_ivp timed on those and scaled)."""
    subset = w0[:8]
    ref = np.array([solve_ivp(rhs, (0.0, T_END), w, method="DOP853", rtol=1e-12,
                              atol=1e-14).y[:, -1] for w in subset])
    target = max(np.max(np.abs(solve_rk45(w, rtol, atol) - r))
                 for w, r in zip(subset, ref, strict=True))
    tol, dt = matched_settings(subset, ref, target, rtol, atol)
    print(f"\n[2{label}] M = {w0.shape[0]} initial conditions of norm ~"
          f"{np.median(np.linalg.norm(w0, axis=1)):.3g}, batched, vs solve_ivp(RK45, "
          f"rtol={rtol:g}, atol={atol:g}) in a loop: max error {target:.1e} on the first 8")
    t_scipy, t_dopri, t_rk4 = best_times([
        lambda: [solve_rk45(w, rtol, atol) for w in subset],
        lambda: _ours(w0, "dopri5", DT, tol, tol * atol / rtol),
        lambda: _ours(w0, "rk4", dt)], rounds=2)
    t_scipy *= w0.shape[0] / subset.shape[0]
    print(f"    solve_ivp {t_scipy:7.2f} s (8 timed, scaled)")
    print(f"      dopri5 (rtol={tol:g}): {t_dopri:7.3f} s, ratio {t_scipy / t_dopri:6.1f}x"
          "   (target >= 20x)")
    print(f"      rk4 (dt={dt:g}):   {t_rk4:7.3f} s, ratio {t_scipy / t_rk4:6.1f}x"
          "   (target >= 20x)")


def _ours(w0: np.ndarray, method: str, dt: float, rtol: float = 1e-8,
          atol: float = 1e-10) -> np.ndarray:
    return integrate_effective(w0, COV1, COV0, BINARY, T_END, dt, method=method, rtol=rtol,
                               atol=atol).final


def torus_fft() -> None:
    n = 32
    cov1, cov0 = gaussian_kernel(n, 3.0, dim=2), gaussian_kernel(n, 1.0, dim=2)
    steps = 200
    print(f"\n[3] 2D torus {n}x{n} (N = {n * n}), Gaussian kernels xi = 3 / 1, Euler, "
          f"{steps} steps")
    for m in (1, 64):
        w0 = np.random.default_rng(2).normal(size=(m, n * n)) * 0.007
        jobs = [lambda w0=w0, c=c: integrate_effective(w0, cov1, cov0, BINARY, steps * DT, DT,
                                                       method="euler", products=c)
                for c in ("fft", "dense")]
        t_fft, t_dense = best_times(jobs, rounds=2)
        print(f"    M = {m:3d}: FFT products {steps / t_fft:8.0f} steps/s "
              f"({m * steps / t_fft:9.0f} RF-steps/s); dense Numba {steps / t_dense:7.0f} "
              f"steps/s; FFT/dense {t_dense / t_fft:.1f}x")


# Runs under either interpreter: only integrate_effective's long-standing keywords, and the
# AmplifierTable from wherever that version keeps it.
_VERSUS_JOB = """
import json, math, sys, time
import numpy as np
from rfloc.numerics.integrate import integrate_effective
try:
    from rfloc.numerics.amplifier_table import AmplifierTable
except ImportError:
    from rfloc.theory.amplifier import AmplifierTable
from rfloc.theory.covariance import ising_covariance
c1, c0 = ising_covariance(40, 0.7), ising_covariance(40, 0.3)
b = AmplifierTable.binary()
w0 = np.random.default_rng(0).normal(size=(256, 40)) * 0.007
jobs = {
    "euler M=256": lambda: integrate_effective(w0, c1, c0, b, 100.0, 0.05, method="euler"),
    "dopri5 one, rtol 1e-6": lambda: integrate_effective(
        w0[0], c1, c0, b, 100.0, 0.05, method="dopri5", rtol=1e-6, atol=1e-9),
    "dopri5 one, rtol 1e-9": lambda: integrate_effective(
        w0[0], c1, c0, b, 100.0, 0.05, method="dopri5", rtol=1e-9, atol=1e-12),
    "dopri5 M=256, rtol 1e-9": lambda: integrate_effective(
        w0, c1, c0, b, 100.0, 0.05, method="dopri5", rtol=1e-9, atol=1e-12),
}
best = {}
for name, job in jobs.items():
    job()
    t0 = time.perf_counter(); job(); reps = max(1, math.ceil(0.05 / (time.perf_counter() - t0)))
    times = []
    for _ in range(5):
        time.sleep(0.1)
        t0 = time.perf_counter()
        for _ in range(reps):
            job()
        times.append((time.perf_counter() - t0) / reps)
    best[name] = min(times)
print(json.dumps(best))
"""


def versus(other_python: str, rounds: int = 5) -> None:
    """This installation against ``other_python``'s: per-process best times, processes of
    the two interpreters alternated, medians over ``rounds``; ratio = this / other."""
    runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
    for _ in range(rounds):
        for which, python in (("other", other_python), ("this", sys.executable)):
            done = subprocess.run([python, "-c", _VERSUS_JOB], capture_output=True,
                                  text=True, check=True, cwd=os.path.expanduser("~"))
            runs[which].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"\n[versus] this rfloc ({sys.executable}) against {other_python}; medians of "
          f"{rounds} alternated processes (JIT compilation excluded)")
    for name in runs["this"][0]:
        this = statistics.median(r[name] for r in runs["this"])
        other = statistics.median(r[name] for r in runs["other"])
        print(f"    {name:26s} this {this * 1e3:9.3f} ms   other {other * 1e3:9.3f} ms   "
              f"this/other {this / other:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", metavar="PYTHON",
                        help="time against the rfloc installed for this interpreter")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    print(f"cores available: {cores} (os.cpu_count() = {os.cpu_count()}), Numba threads: "
          f"{numba.get_num_threads()}, load average at start: {load[0]:.2f}")
    if args.against:
        versus(args.against)
        return
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(M, N)) * 0.007
    euler_batch(w0)
    against_solve_ivp(w0[0], "a")
    units = rng.normal(size=(M, N))
    units /= np.linalg.norm(units, axis=1, keepdims=True)
    against_solve_ivp(units[0], "b")
    batch_against_solve_ivp(w0, "c", 1e-9, 1e-12)
    batch_against_solve_ivp(units, "d", 1e-6, 1e-9)
    torus_fft()


if __name__ == "__main__":
    main()
