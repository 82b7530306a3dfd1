"""The validation experiments: theory against simulation, end to end.

``run(experiment, out_dir)`` builds the experiment's tasks, runs them through
:func:`rfloc.validation.executor.run_tasks` (resumable, atomic, any executor), aggregates
``DIR/EXPERIMENT/results.json`` and writes figures and ``report.md``
(:mod:`rfloc.validation.report`).

Experiments
-----------
ising
    Peak comparison on the reference Ising task (J = 0.7 vs 0.3, N = 40, p = 1/2) in two
    regimes: the reference one (batch 500, init scale 1e-3), where SGD noise competes with
    the initial condition, and a large-batch one where the initial condition decides.
nlgp
    The same peak comparison on NLGP(g) data (xi = 3 vs 1) for a few gains.
kurtosis
    Final IPR of the ODE (exact amplifier and kurtosis-only cubic truncation) and of SGD
    against the pixel marginal's excess kurtosis, over NLGP(g) and Kur(k) grids.
elliptical
    Controls: Gaussian clone and elliptical data (shell, Student-t) never localize.
many
    K-neuron committees on data the single-neuron theory calls localizing vs not.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np

from rfloc import __version__, io
from rfloc.errors import ParameterError, check_int, check_positive
from rfloc.numerics.data import TwoClass
from rfloc.numerics.metrics import LOCALIZATION_FACTOR, localized_ipr
from rfloc.numerics.train import xavier_init
from rfloc.random import stream, to_json
from rfloc.theory import Algebraic, ErfGaussian
from rfloc.validation.executor import Task, TaskStore, run_tasks
from rfloc.validation.tasks import (
    RESULTS_VERSION,
    ipr_task,
    many_task,
    peak_task,
)

__all__ = ["EXPERIMENTS", "IprPoint", "PeakRegime", "compare_peaks",
           "kurtosis_sweep", "run"]

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


class Stream(IntEnum):
    """Named random streams below a run's root seed (:func:`rfloc.random.stream`).

    A task's stream is ``stream(seed, experiment, item, purpose)``: the experiment's key
    (a member of this enum; NLGP gain j uses ``NLGP + j``), the item (initial condition i,
    ``SWEEP_ROW + j`` for row j of an IPR sweep, or committee setup i) and, for peak
    comparisons, the :class:`Purpose`.
    """

    CUSTOM = 0
    ISING = 1
    KURTOSIS = 3
    ELLIPTICAL = 4
    MANY = 5
    NLGP = 20


class Purpose(IntEnum):
    """Last spawn-key component of a peak comparison's streams."""

    INIT = 0
    TRAIN = 1


#: item offset of IPR-sweep rows in a stream key (row j is ``SWEEP_ROW + j``)
SWEEP_ROW = 1000


def _inits(n: int, m: int, init_scale: float, seed: int, key: int) -> np.ndarray:
    """M Xavier initial conditions; init i has the same direction for every scale."""
    return np.array([xavier_init(None, n, init_scale,
                                 np.random.default_rng(stream(seed, key, i, Purpose.INIT)))
                     for i in range(m)])


def _rate(values: list[bool]) -> float:
    return float(np.mean(values)) if values else math.nan


# ---------------------------------------------------------------------- peaks
def compare_peaks(task: TwoClass, regime: PeakRegime, *, inits: int = 28, seed: int = 0,
                  store: TaskStore, executor: Executor | None = None, key: int = Stream.CUSTOM,
                  progress: bool = True) -> dict[str, Any]:
    r"""Same :math:`w_0` to the effective ODE (Euler, ``dt = lr``) and to SGD, M times.

    Returns the peak-comparison schema of ``docs/validation.md``: ``params``, ``runs``
    (per init: ``w0``, peaks, IPRs, cosine over time), ``match_rate`` (exact peak),
    ``match_rate_within_1``,
    ``noise_floor`` (SGD vs a second SGD run from the same w0 with another data stream)
    and the same rates against a full-batch gradient-descent run.
    """
    inits = check_int("inits", inits, minimum=1)
    w0s = _inits(task.n, inits, regime.init_scale, seed, key)
    tasks = [Task(f"peak-v{RESULTS_VERSION}-{regime.label}-{i:03d}", peak_task, {
        "task_params": task.params, "w0": w0.tolist(), "lr": regime.lr, "steps": regime.steps,
        "batch_size": regime.batch_size, "seed": to_json(stream(seed, key, i, Purpose.TRAIN)),
        "full_batch_size": regime.full_batch_size, "save_every": regime.save_every})
        for i, w0 in enumerate(w0s)]
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
        "centre_offset_theory_sim": float(np.median(
            [abs(r["centre_offset_theory_sim"]) for r in runs])),
        "centre_offset_sim_repeat": float(np.median(
            [abs(r["centre_offset_sim_sim_repeat"]) for r in runs])),
        "ipr_theory_mean": float(np.mean([r["ipr_theory"] for r in runs])),
        "ipr_sim_mean": float(np.mean([r["ipr_sim"] for r in runs])),
    }


# ------------------------------------------------------------------- IPR rows
@dataclass(frozen=True)
class IprPoint:
    """One data model of an IPR sweep."""

    model: str
    param: float | None
    task: TwoClass = field(compare=False)
    kappa: float | None


def kurtosis_sweep(points: list[IprPoint], *, inits: int = 4, lr: float = 0.05,
                   steps: int = 2000, batch_size: int = 1000, init_scale: float = 1e-3,
                   seed: int = 0, store: TaskStore, executor: Executor | None = None,
                   key: int = Stream.CUSTOM, progress: bool = True) -> dict[str, Any]:
    """Final IPR of theory (exact and cubic amplifier) and SGD for each data model.

    ``rows`` holds, per model: ``model``, ``param``, ``excess_kurtosis``, ``ipr_theory``,
    ``ipr_theory_cubic``, ``ipr_sim`` (means over ``inits`` shared initial conditions) and
    the per-init values.
    """
    inits = check_int("inits", inits, minimum=1)
    if not points:
        raise ParameterError("points must hold at least one IprPoint")
    tasks = []
    for j, pt in enumerate(points):
        w0s = _inits(pt.task.n, inits, init_scale, seed, key)
        tasks.append(Task(f"ipr-v{RESULTS_VERSION}-{pt.model}-{j:02d}", ipr_task, {
            "task_params": pt.task.params, "w0": w0s.tolist(), "lr": lr, "steps": steps,
            "batch_size": batch_size, "seed": to_json(stream(seed, key, SWEEP_ROW + j)),
            "kappa": pt.kappa}))
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


def _kappa(marginal: Any) -> float | None:
    return float(marginal.excess_kurtosis()) if marginal.max_moment() > 4 else math.inf


def _nlgp_point(g: float) -> IprPoint:
    return IprPoint("nlgp", g, TwoClass.nlgp(g), _kappa(ErfGaussian(g)))


def _kur_point(k: float) -> IprPoint:
    return IprPoint("kur", k, TwoClass.norta(Algebraic(k)), _kappa(Algebraic(k)))


# ------------------------------------------------------------------ experiments
@dataclass
class _Context:
    out: Path
    store: TaskStore
    executor: Executor | None
    quick: bool
    inits: int | None
    seed: int
    progress: bool


def _exp_ising(ctx: _Context) -> dict:
    task = TwoClass.ising()
    fb = 20_000 if ctx.quick else 50_000
    regimes = [PeakRegime("reference", batch_size=500, init_scale=1e-3, full_batch_size=fb),
               PeakRegime("large-batch", batch_size=5000, init_scale=0.1, full_batch_size=fb)]
    m = ctx.inits or (6 if ctx.quick else 28)
    return _peaks_result(ctx, task, regimes, m, key=Stream.ISING)


def _exp_nlgp(ctx: _Context) -> dict:
    gains = [100.0] if ctx.quick else [1.0, 3.0, 10.0, 100.0]
    m = ctx.inits or (4 if ctx.quick else 28)
    out: dict[str, Any] = {"regimes": []}
    for j, g in enumerate(gains):
        task = TwoClass.nlgp(g)
        reg = PeakRegime(f"nlgp-g{g:g}", batch_size=1000 if ctx.quick else 5000,
                         init_scale=1e-3, full_batch_size=20_000 if ctx.quick else 50_000)
        out["regimes"].append(compare_peaks(task, reg, inits=m, seed=ctx.seed,
                                            store=ctx.store, executor=ctx.executor,
                                            key=Stream.NLGP + j, progress=ctx.progress))
    out.update({k: v for k, v in out["regimes"][0].items() if k != "label"})
    return out


def _peaks_result(ctx: _Context, task: TwoClass, regimes: list[PeakRegime], m: int,
                  key: int) -> dict:
    res = [compare_peaks(task, r, inits=m, seed=ctx.seed, store=ctx.store,
                         executor=ctx.executor, key=key, progress=ctx.progress)
           for r in regimes]
    return {**{k: v for k, v in res[0].items() if k != "label"}, "regimes": res}


def _exp_kurtosis(ctx: _Context) -> dict:
    if ctx.quick:
        points = [_kur_point(5.0), _kur_point(10.0), _nlgp_point(3.0)]
    else:
        points = ([_kur_point(k) for k in (4.5, 5.0, 5.5, 6.5, 8.0, 10.0, 20.0)]
                  + [_nlgp_point(g) for g in (0.3, 1.0, 3.0, 10.0, 100.0)])
    return kurtosis_sweep(points, inits=ctx.inits or (2 if ctx.quick else 6), seed=ctx.seed,
                          store=ctx.store, executor=ctx.executor, key=Stream.KURTOSIS,
                          steps=2000 if ctx.quick else 4000,
                          batch_size=1000 if ctx.quick else 2000, progress=ctx.progress)


def _exp_elliptical(ctx: _Context) -> dict:
    clone = TwoClass.nlgp(100.0).gaussian_clone()
    shell = TwoClass.elliptical("shell")
    points = [IprPoint("gaussian-clone", 100.0, clone, 0.0),
              IprPoint("elliptical-shell", None, shell, shell.positive.excess_kurtosis())]
    if not ctx.quick:
        points.append(IprPoint("elliptical-student-t", 5.0,
                               TwoClass.elliptical("student-t", nu=5.0), 6.0))
    res = kurtosis_sweep(points, inits=ctx.inits or (2 if ctx.quick else 6), seed=ctx.seed,
                         store=ctx.store, executor=ctx.executor, key=Stream.ELLIPTICAL,
                         steps=2000 if ctx.quick else 4000,
                         batch_size=1000 if ctx.quick else 2000, progress=ctx.progress)
    for row in res["rows"]:
        row["ipr_theory_cubic"] = None      # linear amplifier: no kurtosis truncation
    return res


def _exp_many(ctx: _Context) -> dict:
    k_values = [10] if ctx.quick else [10, 100]
    steps = 2000 if ctx.quick else 5000
    relu = {"activation": "relu", "bias": False, "lr": 5.0, "init_scale": 0.1}
    # the reference committee (docs/training.md): sigmoid units with trainable bias, lr = 100
    sigmoid = {"activation": "sigmoid", "bias": "train", "lr": 100.0, "init_scale": 0.1}
    setups = [("nlgp-g100", TwoClass.nlgp(100.0), relu, k_values),
              ("gaussian-clone", TwoClass.nlgp(100.0).gaussian_clone(), relu, k_values)]
    if not ctx.quick:
        setups += [("kur-10", TwoClass.norta(Algebraic(10.0)), relu, k_values),
                   ("kur-5", TwoClass.norta(Algebraic(5.0)), relu, k_values),
                   ("kur-10", TwoClass.norta(Algebraic(10.0)), sigmoid, [10]),
                   ("kur-4", TwoClass.norta(Algebraic(4.0)), sigmoid, [10])]
    tasks, thresholds = [], []
    for i, (name, task, train, ks) in enumerate(setups):
        for k in ks:
            thresholds.append(localized_ipr(task.n))
            tasks.append(Task(f"many-v{RESULTS_VERSION}-{name}-{train['activation']}-K{k}",
                              many_task, {"task_params": task.params, "k": k, **train,
                                          "steps": steps, "batch_size": 1000,
                                          "seed": to_json(stream(ctx.seed, Stream.MANY, i, k))}))
    results = run_tasks(tasks, ctx.store, ctx.executor, progress=ctx.progress, desc="many")
    rows = []
    for t, threshold in zip(tasks, thresholds, strict=True):
        r = results[t.key]
        predicted = float(np.mean(np.asarray(r["ipr_theory"]) > threshold))
        frac = float(np.mean(np.asarray(r["ipr"]) > threshold))
        rows.append({"model": t.name.split("-", 2)[2].rsplit("-", 2)[0], "K": t.kwargs["k"],
                     "localized_ipr": threshold,
                     "activation": t.kwargs["activation"], "lr": t.kwargs["lr"],
                     "bias": t.kwargs["bias"],
                     "predicted_fraction": predicted, "fraction_localized": frac,
                     "agrees": (predicted > 0.5) == (frac > 0.5),
                     "task": t.kwargs["task_params"], **r})
    return {"params": {"steps": steps, "batch_size": 1000,
                       "localization_factor": LOCALIZATION_FACTOR,
                       "seed": ctx.seed, "relu": relu, "sigmoid": sigmoid},
            "rows": rows, "agreement": _rate([r["agrees"] for r in rows])}


EXPERIMENTS: dict[str, Callable[[_Context], dict]] = {
    "ising": _exp_ising,
    "nlgp": _exp_nlgp,
    "kurtosis": _exp_kurtosis,
    "elliptical": _exp_elliptical,
    "many": _exp_many,
}


def run(experiment: str, out_dir: str | Path, executor: Executor | None = None, *,
        quick: bool = False, inits: int | None = None, seed: int = 0,
        progress: bool = True) -> dict[str, dict]:
    """Run one experiment (or ``"all"``), write results, figures and report; return results.

    Re-running the same command resumes: finished tasks are read back from
    ``DIR/EXPERIMENT/tasks/``.
    """
    from rfloc.validation import report

    names = list(EXPERIMENTS) if experiment == "all" else [experiment]
    for name in names:
        if name not in EXPERIMENTS:
            raise ParameterError(f"experiment must be one of {[*EXPERIMENTS, 'all']}, "
                                 f"got {experiment!r}")
    if inits is not None:
        inits = check_int("inits", inits, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    out: dict[str, dict] = {}
    for name in names:
        folder = Path(out_dir) / name
        mode = "quick" if quick else "full"
        ctx = _Context(folder, TaskStore(folder / "tasks" / mode), executor, quick, inits,
                       seed, progress)
        t0 = time.perf_counter()
        res = EXPERIMENTS[name](ctx)
        res["experiment"] = name
        res["meta"] = {"rfloc": __version__, "python": platform.python_version(),
                       "numpy": np.__version__, "quick": quick, "seed": seed,
                       "wall_seconds": time.perf_counter() - t0}
        io.write_json(folder / "results.json", res)
        report.write(name, res, folder)
        out[name] = res
    return out
