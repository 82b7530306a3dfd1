"""Speed of the CUDA backend (``rfloc.numerics.gpu``) at LSG24's paper-scale protocols.

Run on a machine with a CUDA GPU: ``python benchmarks/bench_gpu.py`` (``numba-cuda`` and
a driver installed). Prints, with the machine's cores, thread settings and GPU:

1. samples/s of the device sampler (``gpu.sample``) for NORTA Kur(5) and NLGP(3) at
   N = 40 and on a 32 × 32 torus, against the CPU sampler (one thread) timed in the same
   run;
2. steps/s and the time of a whole run for the kurtosis-sweep point (Kur(5),
   ξ = (0.7, 0.3), batch 50 000, 1000 steps, lr 0.1) and for one run of the 28-init peak
   comparison (NLGP(3), ξ = (2, 1), batch 50 000, 10 000 steps, lr 0.02), against
   ``train_sgd(..., sampler="fused")`` on the CPU; each is timed on a prefix of the run
   and scaled to the whole run.

Without a GPU it says so and exits (``NUMBA_ENABLE_CUDASIM=1`` runs it on Numba's
simulator at tiny sizes, a smoke test of the script, not a measurement).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numba
import numpy as np
from numba import config

from rfloc.numerics import gpu
from rfloc.numerics.data import NLGP, NORTA, TwoClass
from rfloc.numerics.laws import Algebraic
from rfloc.numerics.train import train_sgd

SIMULATED = bool(config.ENABLE_CUDASIM)


def size(real: int, simulated: int) -> int:
    """``real`` on a GPU, ``simulated`` (tiny) on the simulator."""
    return simulated if SIMULATED else real


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env = ", ".join(f"{k}={os.environ.get(k, '-')}" for k in
                    ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    device = "CUDA simulator" if SIMULATED else numba.cuda.get_current_device().name
    return f"cores {cores}; numba threads {numba.get_num_threads()}; {env}; device {device}"


def seconds(fn: Callable[[], object]) -> float:
    """Wall seconds of ``fn()`` after one warm-up call."""
    fn()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def samplers() -> None:
    print("1. samplers, samples/s")
    for side, dim in ((40, 1), (32, 2)):
        for label, make in (("NORTA Kur(5)", lambda s, d: NORTA(s, 3.0, Algebraic(5.0), dim=d)),
                            ("NLGP(3)", lambda s, d: NLGP(s, 3.0, 3.0, dim=d))):
            model = make(side, dim)
            task = TwoClass(model, model)
            m = size(10**7 if dim == 1 else 10**5, 40 if dim == 1 else 2)
            dev = m / seconds(lambda task=task, m=m: gpu.sample(task, m,
                                                              np.random.SeedSequence(0)))
            m_cpu = max(2, m // 20)
            cpu = m_cpu / seconds(lambda model=model, m=m_cpu: model.sample(m, 1))
            print(f"  N={side**dim:<5d}{label:14s} GPU {dev:10.3g}   CPU (1 thread) {cpu:10.3g}"
                  f"   ratio {dev / cpu:7.1f}x")


def protocols() -> None:
    print("2. online SGD, one ReLU neuron, N = 40")
    cases = (("kurtosis-sweep point Kur(5), batch 5e4, 1000 steps",
              TwoClass.norta(Algebraic(5.0), xi=(0.7, 0.3)), 50_000, 1000, 0.1),
             ("28-init peak run NLGP(3), batch 5e4, 10 000 steps",
              TwoClass.nlgp(3.0, xi=(2.0, 1.0)), 50_000, 10_000, 0.02))
    for label, task, batch, steps, lr in cases:
        batch = size(batch, 16)
        probe_gpu, probe_cpu = size(200, 1), size(10, 1)
        t_gpu = seconds(lambda task=task, b=batch, s=probe_gpu, lr=lr: train_sgd(
            None, task, lr, s, b, 0, eval_size=0, backend="cuda"))
        t_cpu = seconds(lambda task=task, b=batch, s=probe_cpu, lr=lr: train_sgd(
            None, task, lr, s, b, 0, eval_size=0, sampler="fused"))
        gpu_run, cpu_run = t_gpu * steps / probe_gpu, t_cpu * steps / probe_cpu
        print(f"  {label}: GPU {probe_gpu / t_gpu:8.1f} steps/s ({batch * probe_gpu / t_gpu:.3g}"
              f" samples/s), run {gpu_run:7.1f} s | CPU fused {probe_cpu / t_cpu:6.1f} steps/s,"
              f" run {cpu_run:7.1f} s | ratio {cpu_run / gpu_run:.1f}x")


def main() -> None:
    if not gpu.available():
        print("no CUDA GPU (and NUMBA_ENABLE_CUDASIM is not set): nothing to measure")
        return
    print(f"rfloc CUDA backend ({machine()})"
          + ("  [SIMULATOR: tiny sizes, not a measurement]" if SIMULATED else ""))
    samplers()
    protocols()


if __name__ == "__main__":
    main()
