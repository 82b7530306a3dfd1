"""The validation experiments by name, and the peak / IPR comparisons as Python calls.

The experiments are shipped specs (:mod:`rfloc.validation.catalog`); ``run(NAME, DIR)``
resolves one at its quick or full scale and runs it (:func:`rfloc.validation.runner.run_spec`).
:data:`EXPERIMENTS` names the five that ``rfloc validate`` runs:

ising
    Peak comparison on Ising rings (J = 0.7 vs 0.3, N = 40) in two regimes: batch 500 with
    init scale 1e-3, where SGD noise competes with the initial condition, and batch 5000
    with init scale 0.1, where the initial condition decides.
nlgp
    The same peak comparison on NLGP(g) data (xi = 3 vs 1) for a few gains.
kurtosis
    Final IPR of the ODE (exact and kurtosis-only cubic amplifier) and of SGD against the
    pixel marginal's excess kurtosis, over NLGP(g) and Kur(k).
elliptical
    Controls: the Gaussian clone and elliptical data (shell, Student-t) never localize.
many
    K-neuron committees against the single-neuron prediction for each unit.

:func:`compare_peaks` and :func:`kurtosis_sweep` run the same tasks from Python on any
:class:`~rfloc.numerics.data.TwoClass` task, without a spec.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rfloc.errors import ParameterError, check_int, check_positive
from rfloc.numerics.data import TwoClass
from rfloc.numerics.metrics import LOCALIZATION_FACTOR, localized_ipr
from rfloc.random import stream, to_json
from rfloc.validation import catalog
from rfloc.validation.executor import Task, TaskStore, run_tasks
from rfloc.validation.results import Results
from rfloc.validation.runner import Purpose, initial_conditions, peak_tasks, run_spec
from rfloc.validation.spec import Spec
from rfloc.validation.tasks import RESULTS_VERSION, ipr_task

__all__ = ["EXPERIMENTS", "IprPoint", "PeakRegime", "compare_peaks", "experiment_specs",
           "kurtosis_sweep", "run"]

#: the validation experiments ``rfloc validate`` runs (names of shipped specs)
EXPERIMENTS = ("ising", "nlgp", "kurtosis", "elliptical", "many")


@dataclass(frozen=True)
class PeakRegime:
    """Training parameters of one peak comparison (one SGD run per initial condition)."""

    label: str
    lr: float = 0.05
    steps: int = 2000
    batch_size: int = 500
    init_scale: float = 1e-3
    full_batch_size: int = 50_000
    save_every: int = 100

    def __post_init__(self) -> None:
        check_positive("lr", self.lr)
        check_positive("init_scale", self.init_scale)
        for name in ("steps", "batch_size", "full_batch_size", "save_every"):
            check_int(name, getattr(self, name), minimum=1)


def _rate(values: list[bool]) -> float:
    return float(np.mean(values)) if values else math.nan


def compare_peaks(task: TwoClass, regime: PeakRegime, *, inits: int = 28, seed: int = 0,
                  store: TaskStore, executor: Executor | None = None, key: int = 0,
                  progress: bool = True) -> dict[str, Any]:
    r"""Same :math:`w_0` to the effective ODE (Euler, ``dt = lr``) and to SGD, M times.

    Initial condition i comes from stream ``(seed, key, i, INIT)`` and its SGD data from
    ``(seed, key, i, TRAIN)`` (:func:`rfloc.random.stream`). Returns ``params``, ``runs``
    (per init: ``w0``, peaks, IPRs, cosine over time; see
    :func:`rfloc.validation.tasks.peak_task`), the rates ``match_rate`` (exact peak),
    ``match_rate_within_1``, ``noise_floor`` (SGD vs a second SGD run from the same w0 with
    another data stream) and the same against a full-batch gradient-descent run.
    """
    inits = check_int("inits", inits, minimum=1)
    tasks = peak_tasks(regime.label, task, inits, regime.init_scale, seed, key, {
        "lr": regime.lr, "steps": regime.steps, "batch_size": regime.batch_size,
        "full_batch_size": regime.full_batch_size, "save_every": regime.save_every})
    results = run_tasks(tasks, store, executor, progress=progress, desc=regime.label)
    runs = [results[t.key] for t in tasks]

    def within(name: str, tol: int) -> float:
        return _rate([abs(r[name]) <= tol for r in runs])

    return {
        "label": regime.label,
        "params": {**asdict(regime), "n": task.n, "p": task.p, "task": task.params,
                   "inits": inits, "seed": seed},
        "runs": runs,
        "match_rate": within("offset_theory_sim", 0),
        "match_rate_within_1": within("offset_theory_sim", 1),
        "match_rate_emergence": within("offset_theory_emergence_sim", 0),
        "match_rate_emergence_within_1": within("offset_theory_emergence_sim", 1),
        "noise_floor": within("offset_sim_repeat", 0),
        "noise_floor_within_1": within("offset_sim_repeat", 1),
        "full_batch_match_rate": within("offset_theory_full_batch", 0),
        "full_batch_match_rate_within_1": within("offset_theory_full_batch", 1),
    }


@dataclass(frozen=True)
class IprPoint:
    """One data model of an IPR sweep, with the exact excess kurtosis of its marginal."""

    model: str
    param: float | None
    task: TwoClass = field(compare=False)
    kappa: float | None


def kurtosis_sweep(points: list[IprPoint], *, inits: int = 4, lr: float = 0.05,
                   steps: int = 2000, batch_size: int = 1000, init_scale: float = 1e-3,
                   seed: int = 0, store: TaskStore, executor: Executor | None = None,
                   key: int = 0, progress: bool = True) -> dict[str, Any]:
    """Final IPR of theory (exact and cubic amplifier) and SGD for each data model.

    ``rows`` holds, per model: ``model``, ``param``, ``excess_kurtosis``, ``ipr_theory``,
    ``ipr_theory_cubic``, ``ipr_sim`` (means over ``inits`` shared initial conditions), the
    threshold ``localized_ipr`` (4/N) and the per-init values.
    """
    inits = check_int("inits", inits, minimum=1)
    if not points:
        raise ParameterError("points must hold at least one IprPoint")
    tasks = []
    for j, pt in enumerate(points):
        w0s = initial_conditions(pt.task.n, inits, init_scale, seed, key)
        tasks.append(Task(f"ipr-v{RESULTS_VERSION}-{pt.model}-{j:02d}", ipr_task, {
            "task_params": pt.task.params, "w0": w0s.tolist(), "lr": lr, "steps": steps,
            "batch_size": batch_size, "seed": to_json(stream(seed, key, j, Purpose.TRAIN)),
            "cubic": pt.kappa is not None and math.isfinite(pt.kappa)}))
    results = run_tasks(tasks, store, executor, progress=progress, desc="ipr sweep")
    rows = []
    for pt, t in zip(points, tasks, strict=True):
        r = results[t.key]
        threshold = localized_ipr(pt.task.n)
        rows.append({
            "model": pt.model, "param": pt.param, "excess_kurtosis": pt.kappa,
            "ipr_theory": float(np.mean(r["ipr_theory_runs"])),
            "ipr_theory_cubic": (float(np.mean(r["ipr_theory_cubic_runs"]))
                                 if "ipr_theory_cubic_runs" in r else None),
            "ipr_sim": float(np.mean(r["ipr_sim_runs"])),
            "localized_ipr": threshold,
            "localized_theory": bool(np.mean(r["ipr_theory_runs"]) > threshold),
            "localized_sim": bool(np.mean(r["ipr_sim_runs"]) > threshold),
            "task": pt.task.params, **r,
        })
    agree = [r["localized_theory"] == r["localized_sim"] for r in rows]
    return {"params": {"inits": inits, "lr": lr, "steps": steps, "batch_size": batch_size,
                       "init_scale": init_scale, "seed": seed,
                       "localization_factor": LOCALIZATION_FACTOR},
            "rows": rows, "agreement": _rate(agree)}


def run(experiment: str, out_dir: str | Path, executor: Executor | None = None, *,
        quick: bool = False, inits: int | None = None, seed: int = 0,
        progress: bool = True) -> dict[str, Results]:
    """Run one validation experiment (or ``"all"``) at the quick or full scale.

    Writes ``DIR/NAME/results.json`` (:class:`~rfloc.validation.results.Results`), figures
    and ``report.md``; returns ``{name: Results}``. Re-running resumes: finished tasks are
    read back from ``DIR/NAME/tasks/SCALE/``.
    """
    seed = check_int("seed", seed, minimum=0)
    return {s.name: run_spec(s, out_dir, executor, seed=seed, progress=progress)
            for s in experiment_specs(experiment, quick=quick, inits=inits)}


def experiment_specs(experiment: str, *, quick: bool = False, inits: int | None = None
                     ) -> list[Spec]:
    """The resolved specs of one validation experiment (or ``"all"``); ``inits`` overrides
    the number of initial conditions of every protocol that has one."""
    names = list(EXPERIMENTS) if experiment == catalog.ALL else [experiment]
    if any(n not in EXPERIMENTS for n in names):
        raise ParameterError(f"experiment must be one of {[*EXPERIMENTS, catalog.ALL]}, "
                             f"got {experiment!r}")
    if inits is not None:
        inits = check_int("inits", inits, minimum=1)
    specs = []
    for name in names:
        spec = catalog.get(name)
        over = {} if inits is None or not hasattr(spec.protocol, "inits") else {
            "protocol.inits": inits}
        specs.append(spec.resolve("quick" if quick else "full", over))
    return specs
