r"""Run a resolved spec: plan each variant's tasks, run them all, summarise, write.

Each variant (:class:`~rfloc.validation.spec.Case`) becomes a :class:`Plan`: the list of
:class:`~rfloc.validation.executor.Task` objects its protocol needs and the function that
turns their outputs into a typed summary (:mod:`rfloc.validation.results`). All tasks of
all variants go to the executor together, are stored as they finish (a re-run resumes)
and are keyed by a hash of their arguments (changed parameters never reuse results).

Random streams: task ``i`` of variant ``j`` draws its initial condition from
``stream(seed, j, i, INIT)`` and its SGD data from ``stream(seed, j, i, TRAIN)``
(:func:`rfloc.random.stream`), so a result depends on neither the worker count nor the
other variants. With ``protocol.paired`` every variant uses variant 0's streams (``j = 0``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rfloc.errors import ParameterError
from rfloc.numerics import metrics
from rfloc.numerics.data import TwoClass
from rfloc.numerics.train import xavier_init
from rfloc.random import stream, to_json
from rfloc.validation.executor import Task, TaskStore, run_tasks
from rfloc.validation.results import (
    CaseResult,
    CommitteeSummary,
    IcaSummary,
    IprSummary,
    IsingExactSummary,
    Mean,
    PeaksSummary,
    Rate,
    Results,
    provenance,
)
from rfloc.validation.spec import (
    Case,
    CommitteeProtocol,
    IcaProtocol,
    IprProtocol,
    IsingExactProtocol,
    PeaksProtocol,
    Spec,
    SpecError,
    TheorySpec,
    TrainingSpec,
)
from rfloc.validation.tasks import (
    RESULTS_VERSION,
    ica_contrast,
    ica_task,
    ipr_task,
    ising_exact_task,
    many_task,
    peak_task,
    two_output_task,
)
from rfloc.validation.theory_side import (
    class1_kappa,
    class1_kappa_interval,
    covariance_source,
    needs_draws,
    sample_kurtosis,
)

__all__ = ["Plan", "Purpose", "check", "class1_kappa", "class1_kappa_interval",
           "initial_conditions", "peak_tasks", "plan", "run_spec"]


class Purpose(IntEnum):
    """Last spawn-key component of a task's streams."""

    INIT = 0
    TRAIN = 1
    THEORY = 2


@dataclass(frozen=True)
class Plan:
    """The tasks of one variant and how to summarise their outputs."""

    case: Case
    task: TwoClass
    tasks: list[Task]
    summarize: Callable[[list[dict]], Any]


def run_spec(spec: Spec, out_dir: str | Path, executor: Executor | None = None, *,
             seed: int = 0, progress: bool = True,
             command: Sequence[str] | None = None) -> Results:
    """Run every variant of a resolved ``spec``; write ``OUT/NAME/results.json`` and report.

    Parameters
    ----------
    spec : Spec
        A spec resolved at a scale (:meth:`Spec.resolve`).
    out_dir : path
        Parent folder; the run writes ``out_dir/spec.name/`` (tasks, results, figures).
    executor : concurrent.futures.Executor, optional
        Where tasks run (default: inline).
    seed : int
        Root seed of every stream.

    Returns
    -------
    Results
        The typed document also written to ``results.json``.
    """
    from rfloc.validation import report

    if spec.scale is None:
        raise SpecError(f"spec {spec.name!r} must be resolved at a scale before it runs")
    start = time.perf_counter()
    folder = Path(out_dir) / spec.name
    store = TaskStore(folder / "tasks" / spec.scale)
    plans = [plan(case, j, seed) for j, case in enumerate(spec.cases())]
    done = run_tasks([t for p in plans for t in p.tasks], store, executor, progress=progress,
                     desc=spec.name)
    cases = []
    for p, variant in zip(plans, spec.variants, strict=True):
        outputs = [done[t.key] for t in p.tasks]
        cases.append(CaseResult(
            label=p.case.label, overrides=variant.set, task=p.task.params,
            summary=p.summarize(outputs), seeds=[t.kwargs["seed"] for t in p.tasks],
            runs=outputs))
    res = Results(spec=spec.to_dict(), seed=seed, cases=cases,
                  provenance=provenance(time.perf_counter() - start, command))
    res.write(folder / "results.json")
    report.write(res, folder)
    return res


# ------------------------------------------------------------------------ plans
def check(spec: Spec) -> None:
    """Plan every variant of a resolved ``spec`` without running anything, so a setting a
    protocol refuses is reported (as :class:`SpecError`) before any work."""
    for index, case in enumerate(spec.cases()):
        plan(case, index, 0)


def plan(case: Case, index: int, seed: int) -> Plan:
    """The tasks of variant number ``index`` of a spec, with their streams below ``seed``
    (variant 0's streams when ``protocol.paired``)."""
    task = case.task()
    builder = _PLANNERS[case.protocol.kind]
    return builder(case, task, 0 if case.protocol.paired else index, seed)


def initial_conditions(n: int, m: int, init_scale: float, seed: int, index: int
                       ) -> np.ndarray:
    """M Xavier-normal initial conditions (M, N); init i has the same direction at any
    scale (stream ``(seed, index, i, INIT)``)."""
    return np.array([xavier_init(None, n, init_scale,
                                 np.random.default_rng(stream(seed, index, i, Purpose.INIT)))
                     for i in range(m)])


_P = TypeVar("_P", PeaksProtocol, IprProtocol, CommitteeProtocol, IsingExactProtocol,
             IcaProtocol)


def _protocol(case: Case, kind: type[_P]) -> _P:
    """``case.protocol`` as the protocol class its planner handles (planners are chosen by
    ``kind``, so anything else is a programming error)."""
    proto = case.protocol
    if not isinstance(proto, kind):
        raise TypeError(f"planner for {kind.__name__} got protocol {proto.kind!r}")
    return proto


def _single_neuron(case: Case) -> None:
    net = case.network
    if (net.k, net.output, net.activation, net.bias) != (1, "scalar", "relu", "none"):
        raise SpecError(
            f"variant {case.label!r}: protocol {case.protocol.kind!r} compares one ReLU neuron "
            f"without bias with its effective ODE; network must be k = 1, output = 'scalar', "
            f"activation = 'relu', bias = 'none', got k = {net.k}, output = {net.output!r}, "
            f"activation = {net.activation!r}, bias = {net.bias!r}")


def _sgd(case: Case) -> dict[str, Any]:
    """``{"sgd": {...}}`` with the online SGD options that differ from the defaults (none:
    ``{}``, so the task's arguments, and its stored result, are those of before)."""
    tr = case.training
    opts = {k: v for k, v in (("sampler", tr.sampler), ("backend", tr.backend))
            if v != TrainingSpec.model_fields[k].default}
    if opts and tr.mode != "online":
        raise SpecError(f"variant {case.label!r}: training.sampler/backend apply to online "
                        "SGD; training.mode is 'full-batch'")
    return {"sgd": opts} if opts else {}


def _theory(case: Case, seed: int, index: int) -> dict[str, Any]:
    """The ``[theory]`` table a task gets; with a ``seed`` (stream ``(seed, index, 0,
    THEORY)``, shared by the variant's tasks) when it draws samples.

    Raises
    ------
    SpecError
        Before any work, naming the variant and the key: covariances the data model
        refuses, empirical covariances from fewer samples than pixels (a singular
        estimate), a cubic amplifier with an exact κ that is infinite.
    """
    th = case.theory.model_dump(mode="json")
    task = case.task()
    try:
        covariance_source(task, th["covariance_data"])
    except ParameterError as exc:
        raise SpecError(f"variant {case.label!r}: {exc}") from None
    if th["covariances"] == "empirical" and th["samples"] < task.n:
        raise SpecError(f"variant {case.label!r}: theory.samples = {th['samples']} is below "
                        f"N = {task.n}: empirical covariances would be singular; use at "
                        f"least N (LSG24 used 100 000)")
    if th["amplifier"] == "cubic" and th["kappa"] == "exact" \
            and not math.isfinite(class1_kappa(task)):
        raise SpecError(f"variant {case.label!r}: theory.amplifier = 'cubic' needs a finite "
                        f"excess kurtosis; the class-1 pixel law has E X^4 = inf (a sample "
                        f"kappa, theory.kappa = 'sample', is an estimate of nothing here)")
    if needs_draws(th):
        th["seed"] = to_json(stream(seed, index, 0, Purpose.THEORY))
    return th


def _save_every(steps: int) -> int:
    """About 20 saves per run."""
    return max(1, steps // 20)


def _plan_peaks(case: Case, task: TwoClass, index: int, seed: int) -> Plan:
    _single_neuron(case)
    tr, proto = case.training, _protocol(case, PeaksProtocol)
    if tr.mode != "online":
        raise SpecError(f"variant {case.label!r}: protocol 'peaks' trains online (it runs "
                        "its own full-batch bridge); training.mode must be 'online'")
    tasks = peak_tasks(case.label, task, proto.inits, tr.init_scale, seed, index, {
        "lr": tr.lr, "steps": tr.steps, "batch_size": tr.batch_size,
        "full_batch_size": proto.full_batch_size,
        "save_every": tr.save_every or _save_every(tr.steps),
        "theory": _theory(case, seed, index), **_sgd(case)})
    return Plan(case, task, tasks, _summarize_peaks)


def peak_tasks(label: str, task: TwoClass, inits: int, init_scale: float, seed: int,
               index: int, kwargs: dict[str, Any]) -> list[Task]:
    """The :func:`~rfloc.validation.tasks.peak_task` of each of ``inits`` initial
    conditions (:func:`initial_conditions`), its SGD data on stream
    ``(seed, index, i, TRAIN)``; ``kwargs`` are the task's other arguments."""
    w0s = initial_conditions(task.n, inits, init_scale, seed, index)
    return [Task(f"peak-v{RESULTS_VERSION}-{label}-{i:03d}", peak_task, {
        "task_params": task.params, "w0": w0.tolist(),
        "seed": to_json(stream(seed, index, i, Purpose.TRAIN)), **kwargs})
        for i, w0 in enumerate(w0s)]


def _summarize_peaks(runs: list[dict]) -> PeaksSummary:
    def rate(name: str, tol: int) -> Rate:
        return Rate.of([abs(r[name]) <= tol for r in runs])

    def median(name: str) -> float | None:
        vals = [abs(r[name]) for r in runs if r[name] is not None]
        return float(np.median(vals)) if vals else None

    return PeaksSummary(
        match=rate("offset_theory_sim", 0), match_within_1=rate("offset_theory_sim", 1),
        match_emergence=rate("offset_theory_emergence_sim", 0),
        match_emergence_within_1=rate("offset_theory_emergence_sim", 1),
        noise_floor=rate("offset_sim_repeat", 0),
        noise_floor_within_1=rate("offset_sim_repeat", 1),
        full_batch=rate("offset_theory_full_batch", 0),
        full_batch_within_1=rate("offset_theory_full_batch", 1),
        ipr_theory=Mean.of([r["ipr_theory"] for r in runs]),
        ipr_sim=Mean.of([r["ipr_sim"] for r in runs]),
        centre_offset_theory_sim=median("centre_offset_theory_sim"),
        centre_offset_sim_repeat=median("centre_offset_sim_sim_repeat"))


def _plan_ipr(case: Case, task: TwoClass, index: int, seed: int) -> Plan:
    _single_neuron(case)
    tr, proto = case.training, _protocol(case, IprProtocol)
    kappa, interval = class1_kappa(task), class1_kappa_interval(task)
    kappa_sample = None
    if proto.kappa_draws:
        gen = np.random.default_rng(stream(seed, index, 1, Purpose.THEORY))
        kappa_sample = sample_kurtosis(task.positive.sample(proto.kappa_draws, gen)[:, 0])
    w0s = initial_conditions(task.n, proto.inits, tr.init_scale, seed, index)
    tasks = [Task(f"ipr-v{RESULTS_VERSION}-{case.label}-{i:03d}", ipr_task, {
        "task_params": task.params, "w0": [w0.tolist()], "lr": tr.lr, "steps": tr.steps,
        "batch_size": tr.batch_size, "seed": to_json(stream(seed, index, i, Purpose.TRAIN)),
        "theory": _theory(case, seed, index),
        "cubic": proto.cubic and (math.isfinite(kappa) or case.theory.kappa == "sample"),
        "full_batch": tr.mode == "full-batch", **_sgd(case)})
        for i, w0 in enumerate(w0s)]
    threshold = metrics.localized_ipr(task.n)

    def summarize(runs: list[dict]) -> IprSummary:
        theory = Mean.of([v for r in runs for v in r["ipr_theory_runs"]])
        sim = Mean.of([v for r in runs for v in r["ipr_sim_runs"]])
        cubic = [v for r in runs for v in r.get("ipr_theory_cubic_runs", [])]
        return IprSummary(
            excess_kurtosis=kappa, kurtosis_interval=interval, kappa_sample=kappa_sample,
            ipr_theory=theory, ipr_sim=sim,
            ipr_theory_cubic=Mean.of(cubic) if cubic else None,
            kappa_cubic=next((r["kappa_cubic"] for r in runs if "kappa_cubic" in r), None),
            threshold=threshold,
            localized_theory=(theory.mean or 0.0) > threshold,
            localized_sim=(sim.mean or 0.0) > threshold)

    return Plan(case, task, tasks, summarize)


def _plan_committee(case: Case, task: TwoClass, index: int, seed: int) -> Plan:
    net, tr = case.network, case.training
    threshold = metrics.localized_ipr(task.n)
    if net.output == "two-output":
        _two_output_training(case)
        tasks = [Task(f"two-output-v{RESULTS_VERSION}-{case.label}-K{net.k}", two_output_task, {
            "task_params": task.params, "k": net.k, "activation": net.activation,
            "bias": net.bias, "lr": tr.lr, "steps": tr.steps, "batch_size": tr.batch_size,
            "seed": to_json(stream(seed, index, 0, Purpose.TRAIN)), "scaling": net.scaling})]
        halves = net.bias != "none"
        return Plan(case, task, tasks,
                    lambda runs: _committee_summary(runs[0], threshold, halves))
    tasks = [Task(f"many-v{RESULTS_VERSION}-{case.label}-K{net.k}", many_task, {
        "task_params": task.params, "k": net.k, "activation": net.activation,
        "bias": False if net.bias == "none" else net.bias, "lr": tr.lr, "steps": tr.steps,
        "batch_size": tr.batch_size, "init_scale": tr.init_scale,
        "seed": to_json(stream(seed, index, 0, Purpose.TRAIN)),
        "train_readout": net.readout == "trained",
        "ode_dt": _protocol(case, CommitteeProtocol).ode_dt,
        "ode_method": _protocol(case, CommitteeProtocol).ode_method,
        "full_batch": tr.mode == "full-batch", **_sgd(case),
        "theory": _theory(case, seed, index)})]
    return Plan(case, task, tasks, lambda runs: _committee_summary(runs[0], threshold))


def _two_output_training(case: Case) -> None:
    """Refuse training keys IG22's network does not use (they would be ignored)."""
    tr = case.training
    defaults = TrainingSpec.model_fields
    unused = [f"training.{k} = {getattr(tr, k)!r}"
              for k in ("init_scale", "mode", "sampler", "backend", "seeds")
              if getattr(tr, k) != defaults[k].default]
    unused += [f"theory.{k} = {v!r}" for k, v in case.theory.model_dump().items()
               if v != TheorySpec.model_fields[k].get_default(call_default_factory=True)]
    if unused:
        raise SpecError(
            f"variant {case.label!r}: network.output = 'two-output' trains IG22's network "
            f"online on batched samples from N(0, 0.1^2) first-layer weights and has no "
            f"single-neuron ODE; {', '.join(unused)} does not apply (remove it)")


def _committee_summary(run: dict, threshold: float,
                       halves: bool = False) -> CommitteeSummary:
    """Units localized in the network and, where the run has one, in the ODE per unit;
    with ``halves`` (IG22's biases: +b for units k < K/2, -b for the rest) per half."""
    net_rate = Rate.of([v > threshold for v in run["ipr"]])
    by_bias = None
    if halves:
        half = len(run["ipr"]) // 2
        by_bias = {"plus": Rate.of([v > threshold for v in run["ipr"][:half]]),
                   "minus": Rate.of([v > threshold for v in run["ipr"][half:]])}
    theory = run.get("ipr_theory")
    th_rate = None if theory is None else Rate.of([v > threshold for v in theory])
    agrees = None if th_rate is None else (
        ((net_rate.rate or 0) > 0.5) == ((th_rate.rate or 0) > 0.5))
    return CommitteeSummary(localized_network=net_rate, localized_theory=th_rate,
                            threshold=threshold, agrees=agrees, accuracy=run.get("accuracy"),
                            localized_by_bias=by_bias)


def _plan_ising_exact(case: Case, task: TwoClass, index: int, seed: int) -> Plan:
    _single_neuron(case)
    tr, proto = case.training, _protocol(case, IsingExactProtocol)
    if tr.mode != "online" or task.params["positive"]["model"] != "ising" \
            or task.params["negative"]["model"] != "ising":
        raise SpecError(f"variant {case.label!r}: protocol 'ising-exact' needs Ising rings "
                        "for both classes (data.model = 'ising') and online training")
    w0s = initial_conditions(task.n, proto.inits, tr.init_scale, seed, index)
    tasks = [Task(f"ising-exact-v{RESULTS_VERSION}-{case.label}-{i:03d}", ising_exact_task, {
        "task_params": task.params, "w0": w0.tolist(), "lr": tr.lr, "steps": tr.steps,
        "batch_size": tr.batch_size, "seed": to_json(stream(seed, index, i, Purpose.TRAIN)),
        "save_every": tr.save_every or _save_every(tr.steps),
        "theory": _theory(case, seed, index), "tol": proto.tol})
        for i, w0 in enumerate(w0s)]
    return Plan(case, task, tasks, _summarize_ising_exact)


def _summarize_ising_exact(runs: list[dict]) -> IsingExactSummary:
    def rate(a: str, b: str, tol: int) -> Rate:
        return Rate.of([abs(r[f"offset_{a}_{b}"]) <= tol for r in runs])

    times = [r["t_departure"] for r in runs if r["t_departure"] is not None]
    return IsingExactSummary(
        theory_exact=rate("theory", "exact", 0), theory_exact_within_1=rate("theory", "exact", 1),
        exact_sim=rate("exact", "sim", 0), exact_sim_within_1=rate("exact", "sim", 1),
        theory_sim=rate("theory", "sim", 0), theory_sim_within_1=rate("theory", "sim", 1),
        noise_floor=rate("sim", "sim_repeat", 0),
        noise_floor_within_1=rate("sim", "sim_repeat", 1),
        ipr_theory=Mean.of([r["ipr_theory"] for r in runs]),
        ipr_exact=Mean.of([r["ipr_exact"] for r in runs]),
        ipr_sim=Mean.of([r["ipr_sim"] for r in runs]),
        departed=Rate.of([r["t_departure"] is not None for r in runs]),
        t_departure=Mean.of(times),
        t_departure_median=float(np.median(times)) if times else None)


def _plan_ica(case: Case, task: TwoClass, index: int, seed: int) -> Plan:
    _single_neuron(case)
    tr, proto = case.training, _protocol(case, IcaProtocol)
    kappa = class1_kappa(task)
    fun = ica_contrast(proto.fun, kappa)
    tasks = [Task(f"ica-v{RESULTS_VERSION}-{case.label}", ica_task, {
        "task_params": task.params, "samples": proto.samples, "fun": fun,
        "seed": to_json(stream(seed, index, 0, Purpose.TRAIN)),
        "components": proto.components, "max_iter": proto.max_iter})]
    w0s = initial_conditions(task.n, proto.inits, tr.init_scale, seed, index)
    tasks += [Task(f"ipr-v{RESULTS_VERSION}-{case.label}-{i:03d}", ipr_task, {
        "task_params": task.params, "w0": [w0.tolist()], "lr": tr.lr, "steps": tr.steps,
        "batch_size": tr.batch_size, "seed": to_json(stream(seed, index, i + 1, Purpose.TRAIN)),
        "theory": _theory(case, seed, index), "cubic": False,
        "full_batch": tr.mode == "full-batch"})
        for i, w0 in enumerate(w0s)]
    threshold = metrics.localized_ipr(task.n)

    def summarize(runs: list[dict]) -> IcaSummary:
        ica, single = runs[0], runs[1:]
        return IcaSummary(
            excess_kurtosis=kappa, fun=fun, ipr_ica=Mean.of(ica["ipr"]),
            localized_ica=Rate.of([v > threshold for v in ica["ipr"]]),
            converged=ica["converged"],
            ipr_sim=Mean.of([v for r in single for v in r["ipr_sim_runs"]]),
            ipr_theory=Mean.of([v for r in single for v in r["ipr_theory_runs"]]),
            threshold=threshold)

    return Plan(case, task, tasks, summarize)


_PLANNERS: dict[str, Callable[[Case, TwoClass, int, int], Plan]] = {
    "peaks": _plan_peaks,
    "ipr": _plan_ipr,
    "committee": _plan_committee,
    "ising-exact": _plan_ising_exact,
    "ica": _plan_ica,
}
