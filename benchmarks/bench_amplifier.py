"""Time per million amplifier evaluations: Numba table vs the baselines in the same run.

Baselines: SciPy's vectorised closed form (Binary) and per-point adaptive quadrature
(any marginal, scaled from a small sample). Run: ``python benchmarks/bench_amplifier.py``.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from scipy import special

from rfloc.theory import Algebraic, Binary, ErfGaussian, Laplace, Uniform, amplifier


def best_of(fn, repeat: int = 5) -> float:
    """Fastest wall time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    print(f"cores: {os.cpu_count()}")
    a = np.random.default_rng(0).uniform(-0.999, 0.999, 1_000_000)
    b = a / np.sqrt(2 * (1 - a * a))
    binary = amplifier(Binary())
    binary(a[:10])
    t_tab = best_of(lambda: binary(a))
    t_np = best_of(lambda: special.erf(b))
    print(f"Binary closed form, Numba kernel : {t_tab * 1e3:8.1f} ms per 1e6 evaluations")
    print(f"Binary closed form, scipy.special: {t_np * 1e3:8.1f} ms per 1e6 "
          f"(ratio {t_np / t_tab:.2f}x)")
    for m in (Uniform(), Laplace(), Algebraic(10), ErfGaussian(1.0)):
        amp = amplifier(m)
        t0 = time.perf_counter()
        amp(a[:10])                       # builds the table
        t_fit = time.perf_counter() - t0
        t = best_of(lambda amp=amp: amp(a))
        few = a[:200]
        t0 = time.perf_counter()
        for v in few:
            amp.quadrature(float(v))
        t_quad = (time.perf_counter() - t0) / few.size * 1e6
        print(f"{m!r:22s} table: {t * 1e3:8.1f} ms per 1e6 (fit {t_fit:.1f} s, "
              f"{amp.table.coeffs.shape[0]} panels); adaptive quadrature {t_quad:8.0f} s "
              f"per 1e6 -> ratio {t_quad / t:,.0f}x")
    err = np.max(np.abs(binary(a[:1000]) - special.erf(b[:1000])))
    print(f"max |table - closed form| (Binary, 1000 points): {err:.1e}; sqrt(2/pi) = "
          f"{math.sqrt(2 / math.pi):.6f}")


if __name__ == "__main__":
    main()
