r"""What a spec will cost before it runs: samples, multiply-adds and wall time here.

Counts are exact functions of the spec. Per variant (M initial conditions, S steps, batch B,
N pixels, K units, full-batch size F):

- ``peaks``: two online SGD runs and one full-batch run per init:
  :math:`M(2SB + F)` samples drawn, :math:`2MNS(2B + F)` multiply-adds of SGD;
- ``ipr``: :math:`MSB` samples (:math:`MF` with F = B for full batch), :math:`2MNSB`;
- ``committee``: :math:`SB` samples, :math:`2KNSB` multiply-adds;
- ``ising-exact``: two online SGD runs per init, :math:`2MSB` samples, :math:`4MNSB`;
- ``ica``: the ICA sample plus :math:`MSB` for the single neurons beside it.

The integrators (effective ODE, exact Ising flow) and ICA's own iterations are not counted:
at paper scale sampling and SGD dominate.

The wall-time estimate times, on this machine and for each distinct task, drawing a block
of samples and a block of SGD steps (a fraction of a second each) — for IG22's two-output
network a run at the spec's own batch size, whose per-step cost dominates at batch 1 —
then scales to the counts above and divides by the number of workers that can run tasks
at once.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from rfloc.numerics.train import train_sgd
from rfloc.validation.spec import Case, Spec

__all__ = ["LIMIT_SECONDS", "Cost", "estimate"]

#: runs estimated above this wall time need an explicit ``--yes``
LIMIT_SECONDS = 3600.0

_CALIBRATION_SAMPLES = 20_000
_CALIBRATION_STEPS = 20


@dataclass(frozen=True)
class Cost:
    """Counts and the time estimate of a resolved spec."""

    tasks: int
    samples: float
    multiply_adds: float
    core_seconds: float
    workers: int

    @property
    def wall_seconds(self) -> float:
        """Estimated wall time with ``workers`` processes (tasks are independent)."""
        return self.core_seconds / max(1, min(self.workers, self.tasks))

    def describe(self) -> str:
        """One line: tasks, samples, multiply-adds, estimated wall time."""
        return (f"{self.tasks} tasks, {self.samples:.3g} samples, {self.multiply_adds:.3g} "
                f"multiply-adds of SGD; estimated {_duration(self.wall_seconds)} on "
                f"{self.workers} worker(s) here ({_duration(self.core_seconds)} of one core)")


def estimate(spec: Spec, workers: int | None = None) -> Cost:
    """The :class:`Cost` of a resolved ``spec`` run on ``workers`` processes (default:
    the machine's cores)."""
    workers = workers or os.cpu_count() or 1
    tasks = samples = madds = seconds = 0.0
    for case in spec.cases():
        c_tasks, c_samples, c_madds = _counts(case)
        draw, step = _rates(case)
        tasks += c_tasks
        samples += c_samples
        madds += c_madds
        seconds += c_samples * draw + c_madds * step
    return Cost(int(tasks), samples, madds, seconds, int(workers))


def _counts(case: Case) -> tuple[int, float, float]:
    """``(tasks, samples, multiply-adds)`` of one variant."""
    n = case.task().n
    tr, proto = case.training, case.protocol
    s, b = float(tr.steps), float(tr.batch_size)
    if proto.kind == "peaks":
        m, f = proto.inits, float(proto.full_batch_size)
        return m, m * (2 * s * b + f), 2 * m * n * s * (2 * b + f)
    if proto.kind == "ipr":
        m = proto.inits
        drawn = b if tr.mode == "full-batch" else s * b
        return m, m * drawn, 2 * m * n * s * b
    if proto.kind == "ising-exact":                 # SGD and its repeat per init
        m = proto.inits
        return m, 2 * m * s * b, 4 * m * n * s * b
    if proto.kind == "ica":                         # the ICA sample, then the neurons
        m = proto.inits
        return max(m, 1), proto.samples + m * s * b, 2 * m * n * s * b
    k = case.network.k
    drawn = b if tr.mode == "full-batch" else s * b
    return 1, drawn, 2 * k * n * s * b


def _rates(case: Case) -> tuple[float, float]:
    """Seconds per sample drawn and per multiply-add of SGD, measured for this task."""
    task = case.task()
    key = json.dumps(task.params, sort_keys=True)
    if case.network.output == "two-output":
        return _measure_two_output(key, case.network.k, case.training.batch_size), 0.0
    sgd = {"sampler": case.training.sampler, "backend": case.training.backend}
    return _measure(key, case.network.k, json.dumps(sgd, sort_keys=True))


@lru_cache(maxsize=64)
def _measure_two_output(key: str, k: int, batch: int) -> float:
    """Seconds per sample of IG22's network at the spec's batch size (small batches are
    dominated by the per-step cost, so it is timed at that size, not in a block)."""
    from rfloc.numerics.data import from_params
    from rfloc.numerics.two_output import train_two_output

    task = from_params(json.loads(key))
    b = min(batch, 2000)
    steps = max(_CALIBRATION_STEPS, _CALIBRATION_SAMPLES // (4 * b))
    train_two_output(k, task, 1e-3, 2, b, 0)                       # warm up (compilation)
    t0 = time.perf_counter()
    train_two_output(k, task, 1e-3, steps, b, 0)
    return (time.perf_counter() - t0) / (steps * b)


@lru_cache(maxsize=64)
def _measure(key: str, k: int, sgd_key: str) -> tuple[float, float]:
    from rfloc.numerics.data import from_params

    task = from_params(json.loads(key))
    rng = np.random.default_rng(0)
    task.sample(1000, rng)                                  # warm up (compilation)
    t0 = time.perf_counter()
    task.sample(_CALIBRATION_SAMPLES, rng)
    draw = (time.perf_counter() - t0) / _CALIBRATION_SAMPLES
    batch, opts = 2000, json.loads(sgd_key)
    w0 = k if k > 1 else None
    train_sgd(w0, task, 1e-3, 2, batch, 0, **opts)                 # warm up
    t0 = time.perf_counter()
    train_sgd(w0, task, 1e-3, _CALIBRATION_STEPS, batch, 0, **opts)
    total = time.perf_counter() - t0
    if opts["sampler"] == "fused":       # samples are drawn inside the step: one rate
        return total / (_CALIBRATION_STEPS * batch), 0.0
    sgd = max(total - _CALIBRATION_STEPS * batch * draw, 0.0)
    step = sgd / (2.0 * k * task.n * _CALIBRATION_STEPS * batch)
    return draw, step


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown time"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
