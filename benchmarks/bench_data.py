"""Speed and memory of the data samplers, as ratios against baselines timed in the same run.

Run: ``python benchmarks/bench_data.py`` (about a minute). Baselines:

- Ising: a vectorised NumPy transfer-matrix sampler (same algorithm, one NumPy pass per
  spin over all samples) and a vectorised Metropolis chain of 1000 single-spin flips
  per sample (the reference authors' method, run for all samples in parallel);
- Gaussian fields: dense Cholesky, ``z = w @ L.T`` with the factor precomputed, then the
  same pixel map as ours (NLGP: erf).

Rates are the best of a few repeats (samples per second); a rfloc sampler and its
baseline are timed in alternation, so a busy machine slows both alike.

The last section, the paper-scale samplers (NORTA Kur(5) and NLGP(3) at N = 40 and on a
32 × 32 torus), counts CPU seconds of this process (one thread, so a shared machine does
not inflate them) against, timed in the same run: the exact path (the FFT field and the
law's own vectorised ``gaussian_transform``, rfloc's sampler before the tables and still
its fallback), dense Cholesky + NumPy, and the tabulated sampler before the inlined
xoshiro256++ stream and the triangular factor (``_field_kernels.field_rows``: NumPy's
bit generator through a function pointer, the root's lags, IEEE table evaluation).
``--against PYTHON`` also times the rfloc installed for another interpreter (e.g. the
code before the tables); ``--paper`` runs that section only.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable

import numba
import numpy as np
from scipy import special

try:
    from rfloc.numerics import covariance as cov
except ImportError:                      # installations before rfloc.numerics.covariance
    from rfloc.theory import covariance as cov
from rfloc.numerics import data as D


def rate(draw: Callable[[int], object], m: int, repeats: int = 3,
         clock: Callable[[], float] = time.perf_counter) -> float:
    """Best samples per ``clock`` second of ``draw(m)`` over ``repeats`` runs (after one
    warm-up); ``clock=time.process_time`` counts CPU seconds of this process."""
    draw(min(m, 100))
    best = math.inf
    for _ in range(repeats):
        t0 = clock()
        draw(m)
        best = min(best, clock() - t0)
    return m / best


def rates(draws: list[Callable[[int], object]], m: int, rounds: int = 6) -> list[float]:
    """Best samples/s of each of ``draws``, timed in alternation (fair under load)."""
    best = [0.0] * len(draws)
    for _ in range(rounds):
        for i, draw in enumerate(draws):
            best[i] = max(best[i], rate(draw, m, repeats=1))
    return best


# ---------------------------------------------------------------- baselines
def numpy_transfer_matrix(n: int, J: float, m: int, rng: np.random.Generator) -> np.ndarray:
    """Exact ring sampler, vectorised over samples in NumPy (same bridge as rfloc's)."""
    model = D.Ising(n, J)
    q = model.flip_probability
    u = rng.random((n, m))
    s = np.empty((n, m))
    s[0] = np.where(u[0] < 0.5, 1.0, -1.0)
    for i in range(n - 1):
        k = n - 1 - i
        flip = u[i + 1] < np.where(s[i] == s[0], q[k, 0], q[k, 1])
        s[i + 1] = np.where(flip, -s[i], s[i])
    return s.T


def metropolis(n: int, J: float, m: int, rng: np.random.Generator,
               flips: int = 1000) -> np.ndarray:
    """``m`` parallel Metropolis chains, ``flips`` single-spin proposals each."""
    s = rng.choice([-1.0, 1.0], size=(m, n))
    rows = np.arange(m)
    for _ in range(flips):
        i = rng.integers(n, size=m)
        field = s[rows, (i - 1) % n] + s[rows, (i + 1) % n]
        d_energy = 2.0 * J * s[rows, i] * field
        accept = rng.random(m) < np.exp(-d_energy)
        s[rows, i] = np.where(accept, -s[rows, i], s[rows, i])
    return s


def cholesky_sampler(sigma: np.ndarray, pixel_map: Callable[[np.ndarray], None] | None):
    """Dense-Cholesky sampler of N(0, sigma) followed by an in-place pixel map."""
    chol = np.linalg.cholesky(sigma + 1e-12 * np.eye(sigma.shape[0]))
    rng = np.random.default_rng(0)

    def draw(m: int) -> np.ndarray:
        z = rng.standard_normal((m, sigma.shape[0])) @ chol.T
        if pixel_map is not None:
            pixel_map(z)
        return z
    return draw


def erf_map(g: float) -> Callable[[np.ndarray], None]:
    scale = 1.0 / math.sqrt(2 / math.pi * math.asin(2 * g * g / (1 + 2 * g * g)))

    def apply(z: np.ndarray) -> None:
        np.multiply(z, g, out=z)
        special.erf(z, out=z)
        np.multiply(z, scale, out=z)
    return apply


def peak_ratio(draw: Callable[[], np.ndarray]) -> float:
    """Peak traced allocation of ``draw()`` divided by the size of what it returns."""
    tracemalloc.start()
    try:
        out = draw()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / out.nbytes


# ---------------------------------------------------------------- paper-scale samplers
def kur(k: float) -> object:
    """The Kur(k) law (``rfloc.theory.Algebraic`` in installations before numeric laws)."""
    try:
        from rfloc.numerics.laws import Algebraic
    except ImportError:
        from rfloc.theory import Algebraic
    return Algebraic(k)


PAPER = (("NORTA Kur(5), xi=3", lambda side, dim: D.NORTA(side, 3.0, kur(5.0), dim=dim)),
         ("NORTA Kur(5), xi=0.7", lambda side, dim: D.NORTA(side, 0.7, kur(5.0), dim=dim)),
         ("NLGP(3), xi=3", lambda side, dim: D.NLGP(side, 3.0, 3.0, dim=dim)))
SIZES = ((40, 1, 100_000), (32, 2, 3_000))


def cpu_rate(draw: Callable[[int], object], m: int) -> float:
    """Best samples per CPU-second of ``draw(m)`` over 4 runs."""
    return rate(draw, m, 4, time.process_time)


def exact_path(model: D.DataModel) -> Callable[[int], np.ndarray]:
    """The untabulated sampler: FFT field, then the law's own ``gaussian_transform``."""
    gen = np.random.default_rng(2)

    def draw(m: int) -> np.ndarray:
        out = np.empty((m, model.n))
        model._latent.fill(out, gen, np.empty(out.size + model.n))
        return np.asarray(model.marginal.gaussian_transform(out))
    return draw


def root_path(model: D.DataModel) -> Callable[[int], np.ndarray] | None:
    """The tabulated sampler before xoshiro and the triangular factor, or None."""
    try:
        from rfloc.numerics.data import _field_kernels
        from rfloc.numerics.data._normal import ZIG_F, ZIG_R, ZIG_X
    except ImportError:
        return None
    parts = model.parts()
    if parts is None:
        return None
    bitgen = np.random.default_rng(3).bit_generator

    def draw(m: int) -> np.ndarray:
        out = np.empty((m, model.n))
        with bitgen.lock:
            _field_kernels.field_rows(bitgen.ctypes.next_uint64, bitgen.ctypes.state_address,
                                      ZIG_X, ZIG_F, ZIG_R, parts.taps, parts.side, parts.dim,
                                      parts.coef, parts.inv_h, out)
        return out
    return draw


def machine() -> str:
    """Cores, thread settings and load."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env = ", ".join(f"{k}={os.environ.get(k, '-')}" for k in
                    ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    return (f"cores available: {cores}; numba threads {numba.get_num_threads()}; {env}; "
            f"load average {os.getloadavg()[0]:.1f}")


def probe(case: int, size: int) -> float:
    """Samples per CPU-second of ``PAPER[case]`` at ``SIZES[size]`` (any rfloc version)."""
    side, dim, m = SIZES[size]
    model = PAPER[case][1](side, dim)
    gen = np.random.default_rng(1)
    return cpu_rate(lambda k: model.sample(k, gen), m)


def paper_samplers(against: str | None) -> None:
    """Samples per CPU-second of the tabulated samplers against the baselines."""
    print(f"\npaper-scale samplers, samples per CPU-second, one thread ({machine()})")
    for size, (side, dim, m) in enumerate(SIZES):
        for case, (label, make) in enumerate(PAPER):
            model = make(side, dim)
            ours = probe(case, size)
            exact = cpu_rate(exact_path(model), m)
            law = model.marginal
            chol = cpu_rate(cholesky_sampler(model.latent_covariance,
                                             lambda z, law=law: np.copyto(
                                                 z, law.gaussian_transform(z))), m // 4)
            line = (f"  N={side**dim:<5d}{label:22s} rfloc {ours:9.3g} | exact path "
                    f"{exact:9.3g} (x{ours / exact:.1f}) | dense Cholesky + NumPy {chol:9.3g} "
                    f"(x{ours / chol:.1f})")
            before = root_path(model)
            if before is not None:
                old = cpu_rate(before, m)
                line += f" | before (bit generator, root lags) {old:9.3g} (x{ours / old:.2f})"
            if against:
                out = subprocess.run([against, __file__, "--probe", str(case), str(size)],
                                     check=True, capture_output=True, text=True)
                old = float(out.stdout)
                line += f" | {against}: {old:9.3g} (x{ours / old:.1f})"
            print(line)


# ---------------------------------------------------------------- main
def main() -> None:
    gen = np.random.default_rng(1)
    n, J, g = 40, 0.7, 1.0
    print("rfloc data samplers (best of 6, alternating; ratios measured in this run)")

    ising = D.Ising(n, J)
    r_ising, r_np = rates([lambda m: ising.sample(m, gen),
                           lambda m: numpy_transfer_matrix(n, J, m, gen)], 200_000)
    r_metro = rate(lambda m: metropolis(n, J, m, gen), 5_000, repeats=1)
    print(f"Ising N=40      rfloc exact {r_ising:11.3g} samples/s | NumPy transfer matrix "
          f"{r_np:9.3g} -> x{r_ising / r_np:.1f} | Metropolis 1000 flips/sample "
          f"{r_metro:9.3g} -> x{r_ising / r_metro:.0f}")

    for side, dim, m in ((40, 1, 200_000), (32, 2, 8_000)):
        label = f"N={side**dim:<4d} ({'ring' if dim == 1 else '32x32 torus'})"
        nlgp = D.NLGP(side, 3.0, g, dim)
        r_ours, r_chol = rates([lambda m, model=nlgp: model.sample(m, gen),
                                cholesky_sampler(nlgp.latent_covariance, erf_map(g))], m)
        print(f"NLGP {label:22s} rfloc     {r_ours:9.3g} samples/s | dense Cholesky "
              f"{r_chol:9.3g} -> x{r_ours / r_chol:.1f}")
        kernel = cov.gaussian_kernel(side, 3.0, dim=dim)
        gp = D.GaussianProcess(kernel, dim=dim)
        r_gp, r_gchol = rates([lambda m, model=gp: model.sample(m, gen),
                               cholesky_sampler(kernel, None)], m)
        print(f"Gaussian {label:18s} rfloc FFT {r_gp:9.3g} samples/s | dense Cholesky "
              f"{r_gchol:9.3g} -> x{r_gp / r_gchol:.1f}")

    print("samples/s of every model:")
    for side, dim, m in ((40, 1, 100_000), (32, 2, 4_000)):
        models = {
            "NLGP(g=1)": D.NLGP(side, 3.0, g, dim),
            "NORTA Kur(10)": D.NORTA(side, 3.0, kur(10.0), dim),
            "Gaussian clone": D.GaussianProcess(cov.nlgp_covariance(side, 3.0, g, dim=dim),
                                                dim=dim),
            "Elliptical shell": D.Elliptical(side, 3.0, "shell", dim=dim),
            "Elliptical t(5)": D.Elliptical(side, 3.0, "student-t", nu=5.0, dim=dim),
            f"Ising ring N={side**dim}": D.Ising(side**dim, J),
            "TwoClass.nlgp": D.TwoClass.nlgp(g, n=side, dim=dim),
        }
        cells = [f"{name} {rate(lambda m, mod=mod: mod.sample(m, gen), m):.3g}"
                 for name, mod in models.items()]
        print(f"  N={side**dim:<5d}" + " | ".join(cells))

    task = D.TwoClass.ising()

    def draw_batches(k: int) -> None:
        for _ in range(k):                      # each batch freed before the next
            task.sample(1000, gen)

    batches = rate(draw_batches, 2000)
    print(f"TwoClass.ising batches of 1000 (train_sgd's online draw): {batches:.0f} batches/s "
          f"({1e6 / batches:.0f} us per batch)")

    shape_bytes = 10**6 * 40 * 8
    for name, model in (("Ising", ising), ("NLGP", D.NLGP(40, 3.0, g)),
                        ("TwoClass.ising", D.TwoClass.ising())):
        model.sample(10, gen)
        ratio = peak_ratio(lambda model=model: np.asarray(model.sample(10**6, gen)[0]
                                                          if isinstance(model, D.TwoClass)
                                                          else model.sample(10**6, gen)))
        print(f"peak memory sampling 10^6 x 40 {name:15s} {ratio:.3f} x output "
              f"({shape_bytes / 2**20:.0f} MiB)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        print(probe(int(sys.argv[2]), int(sys.argv[3])))
    else:
        if "--paper" not in sys.argv:
            main()
        paper_samplers(sys.argv[sys.argv.index("--against") + 1]
                       if "--against" in sys.argv else None)
