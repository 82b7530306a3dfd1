r"""Worker functions of the validation experiments: one initial condition or one data model.

Every function here is module-level (picklable for process pools and Dask), takes only
JSON-serialisable arguments (data-model ``params``, lists, numbers, seed entropy) and
returns a JSON-serialisable dict, so a task can be rerun from ``results.json`` alone.

The theory side of a task — amplifier, covariances, time scale — is built by
:func:`rfloc.validation.theory_side.theory_side` from the spec's ``[theory]`` table.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from rfloc.errors import ParameterError
from rfloc.numerics import metrics
from rfloc.numerics.data import Ising, TwoClass, from_params
from rfloc.numerics.integrate import integrate_effective
from rfloc.numerics.train import train_sgd
from rfloc.numerics.two_output import train_two_output
from rfloc.random import seed_sequence
from rfloc.validation.theory_side import DEFAULT_THEORY, theory_side

#: Bumped whenever a task function's output changes, so stored results are never reused
#: across incompatible versions (it is part of every task name).
RESULTS_VERSION = 3

__all__ = ["RESULTS_VERSION", "ica_task", "ipr_task", "ising_exact_task", "many_task",
           "peak_task", "two_output_task"]


def _ode(w0: np.ndarray, task: TwoClass, lr: float, steps: int, save_every: int,
         theory: dict[str, Any] | None = None) -> Any:
    """The effective ODE of ``task``'s theory side (:func:`.theory_side.theory_side`) to
    t = rate * lr * steps; with ``dt = "lr"`` ODE step k is SGD step k and ``save_every``
    counts steps."""
    th = {**DEFAULT_THEORY, **(theory or {})}
    side = theory_side(task, th)
    tau = side.rate * lr
    dt = tau if th["dt"] == "lr" else float(th["dt"])
    return integrate_effective(w0, side.cov1, side.cov0, side.table,
                               t_end=tau * steps, dt=dt, method=th["method"], p=task.p,
                               save_at=tau * _save_steps(steps, save_every),
                               on_failure="return")


def _save_steps(steps: int, every: int) -> np.ndarray:
    """SGD steps 0, every, 2 every, ..., steps (the last one always included)."""
    return np.unique(np.append(np.arange(0, steps, every), steps)).astype(np.float64)


def peak_task(task_params: dict, w0: list[float], lr: float, steps: int, batch_size: int,
              seed: dict, full_batch_size: int, save_every: int,
              theory: dict[str, Any] | None = None,
              sgd: dict[str, Any] | None = None) -> dict:
    r"""One initial condition: effective ODE vs SGD vs a repeat SGD vs full-batch GD.

    ``sgd`` holds extra options of the online runs (``sampler``, ``backend`` of
    :func:`~rfloc.numerics.train.train_sgd`).

    The ODE's amplifier, covariances, method and step come from ``theory`` (default
    :data:`~.theory_side.DEFAULT_THEORY`: exact amplifier, analytic covariances, Euler with
    ``dt = lr``, so ODE step k lines up with SGD step k).
    Two theory predictions of the peak: at the end (``peak_theory``) and at *emergence*
    (``peak_theory_emergence``), the first step at which the ODE's IPR reaches
    :func:`rfloc.numerics.metrics.localized_ipr` — the effective ODE is an early-time
    theory (its Gaussian conditional fails once w is localized), so its prediction is the
    peak it forms, not where it drifts later. Returns peaks (argmax :math:`|w|`), IPRs, the
    cosine similarity between theory and simulation at every save, and the saved
    trajectories. Times (``t``, ``t_emergence_theory``) are SGD times lr × step, whatever
    ``theory["rate"]``; ``kappa_theory`` is the κ of a cubic-type amplifier (else None).
    """
    task = from_params(task_params)
    w0a = np.asarray(w0, dtype=np.float64)
    s_sim, s_rep, s_fb = seed_sequence(seed).spawn(3)
    th = {**DEFAULT_THEORY, **(theory or {})}
    full = _ode(w0a, task, lr, steps, 1, th)
    ipr_t = metrics.ipr(full.w)
    emerged = ipr_t >= metrics.localized_ipr(task.n)
    k_emerge = int(np.argmax(emerged)) if np.any(emerged) else len(ipr_t) - 1
    ode = replace(full, t=full.t[::save_every], w=full.w[::save_every])
    if (len(full.t) - 1) % save_every:
        ode = replace(ode, t=np.append(ode.t, full.t[-1]), w=np.vstack([ode.w, full.w[-1:]]))
    sim = train_sgd(w0a, task, lr, steps, batch_size, s_sim, save_every=save_every,
                    eval_size=1000, **(sgd or {}))
    rep = train_sgd(w0a, task, lr, steps, batch_size, s_rep, eval_size=1000, **(sgd or {}))
    fb = train_sgd(w0a, task, lr, steps, full_batch_size, s_fb, full_batch=True,
                   eval_size=1000)
    n = task.n
    finals = {"theory": ode.final, "sim": sim.final, "sim_repeat": rep.final,
              "full_batch": fb.final}
    peaks = {k: int(metrics.peak(v)) for k, v in finals.items()}
    out: dict[str, Any] = {
        "w0": w0a,
        "ode_status": ode.status,
        "ode_message": ode.message,
        **{f"peak_{k}": v for k, v in peaks.items()},
        **{f"ipr_{k}": float(metrics.ipr(v)) for k, v in finals.items()},
        "offset_theory_sim": int(metrics.ring_offset(peaks["theory"], peaks["sim"], n)),
        "offset_sim_repeat": int(metrics.ring_offset(peaks["sim"], peaks["sim_repeat"], n)),
        "offset_theory_full_batch": int(metrics.ring_offset(peaks["theory"],
                                                            peaks["full_batch"], n)),
        "t": sim.t,
        "cosine": metrics.cosine(ode.w[: len(sim.t)], sim.w),
        "w_theory": ode.w,
        "w_sim": sim.w,
    }
    out["cosine_final"] = float(out["cosine"][-1])
    out["kappa_theory"] = theory_side(task, th).kappa
    out["peak_theory_emergence"] = int(metrics.peak(full.w[k_emerge]))
    out["t_emergence_theory"] = float(full.t[k_emerge]) / theory_side(task, th).rate
    out["offset_theory_emergence_sim"] = int(metrics.ring_offset(
        out["peak_theory_emergence"], peaks["sim"], n))
    # sub-pixel RF centres (circular mean of w_i^2) and their signed ring offsets
    centres = {k: float(metrics.rf_centre_width(v)[0]) for k, v in finals.items()}
    for a, b in (("theory", "sim"), ("sim", "sim_repeat")):
        d = (centres[a] - centres[b]) % n
        out[f"centre_offset_{a}_{b}"] = d - n if d > n / 2 else d
    out.update({f"centre_{k}": v for k, v in centres.items()})
    return out


def ipr_task(task_params: dict, w0: list[list[float]], lr: float, steps: int,
             batch_size: int, seed: dict, theory: dict[str, Any] | None = None,
             cubic: bool = True,
             full_batch: bool = False, sgd: dict[str, Any] | None = None) -> dict:
    r"""Final IPR of the ODE and of SGD (or full-batch GD), from the same ``M`` initial
    conditions; with ``cubic`` also the ODE with the kurtosis-only cubic truncation of the
    amplifier (its κ as ``theory["kappa"]`` says, returned as ``kappa_cubic``)."""
    task = from_params(task_params)
    w0a = np.asarray(w0, dtype=np.float64)
    th = {**DEFAULT_THEORY, **(theory or {})}
    ode = _ode(w0a, task, lr, steps, steps, th)
    out: dict[str, Any] = {"ipr_theory_runs": metrics.ipr(ode.final),
                           "ode_status": ode.status,
                           "kappa_theory": theory_side(task, th).kappa}
    if cubic:
        cub_th = {**th, "amplifier": "cubic"}
        cub = _ode(w0a, task, lr, steps, steps, cub_th)
        out["ipr_theory_cubic_runs"] = metrics.ipr(cub.final)
        out["cubic_status"] = cub.status
        out["kappa_cubic"] = theory_side(task, cub_th).kappa
    sims = [train_sgd(w, task, lr, steps, batch_size, s, eval_size=1000,
                      full_batch=full_batch, **(sgd or {})).final
            for w, s in zip(w0a, seed_sequence(seed).spawn(len(w0a)), strict=True)]
    out["ipr_sim_runs"] = metrics.ipr(np.array(sims))
    out["w_sim_final"] = np.array(sims)
    out["w_theory_final"] = ode.final
    return out


def many_task(task_params: dict, k: int, activation: str, bias: bool | str, lr: float,
              steps: int, batch_size: int, init_scale: float, seed: dict,
              train_readout: bool = False, ode_dt: float = 0.05, ode_method: str = "rk4",
              full_batch: bool = False, sgd: dict[str, Any] | None = None,
              theory: dict[str, Any] | None = None) -> dict:
    """Train a K-neuron committee (readout 1/K, fixed or trained); the single-neuron ODE
    (the theory side of ``theory``) integrates each neuron's own initial RF on the same task
    (``ode_method`` with step, or first trial step, ``ode_dt``, to the per-neuron time
    ``rate * lr * steps / K``), for the theory's prediction."""
    task = from_params(task_params)
    traj = train_sgd(k, task, lr, steps, batch_size, seed_sequence(seed),
                     activation=activation, bias=bias, init_scale=init_scale,
                     eval_size=2000, train_readout=train_readout, full_batch=full_batch,
                     **(sgd or {}))
    side = theory_side(task, theory)
    # The gradient on w_k carries the readout 1/K: per-neuron time is lr * steps / K.
    ode = integrate_effective(traj.w[0], side.cov1, side.cov0, side.table,
                              t_end=side.rate * lr * steps / k, dt=ode_dt, method=ode_method,
                              p=task.p, on_failure="return")
    return {"w_final": traj.final, "ipr": metrics.ipr(traj.final),
            "ipr_theory": metrics.ipr(ode.final), "ode_status": ode.status,
            "loss": traj.extras["loss"][-1], "accuracy": traj.extras["accuracy"][-1],
            "status": traj.status}


def two_output_task(task_params: dict, k: int, activation: str, bias: str, lr: float,
                    steps: int, batch_size: int, seed: dict, scaling: str) -> dict:
    """Train IG22's two-output network (:func:`rfloc.numerics.two_output.train_two_output`)
    and report each unit's final receptive field and IPR, with the test accuracy. There is
    no single-neuron ODE for this network: the theory side is left empty."""
    task = from_params(task_params)
    traj = train_two_output(k, task, lr, steps, batch_size, seed_sequence(seed),
                            scaling=scaling, activation=activation, bias=bias,
                            eval_size=2000)
    return {"w_final": traj.final, "ipr": metrics.ipr(traj.final),
            "loss": traj.extras["loss"][-1], "accuracy": traj.extras["accuracy"][-1],
            "status": traj.status}



#: cosine similarity of the effective ODE to the exact flow below which it has departed
DEPARTURE_COSINE = 0.99

#: the peak pairs :func:`ising_exact_task` compares (effective ODE is "theory")
PAIRS = (("theory", "exact"), ("exact", "sim"), ("theory", "sim"), ("sim", "sim_repeat"))


def ising_exact_task(task_params: dict, w0: list[float], lr: float, steps: int,
                     batch_size: int, seed: dict, save_every: int,
                     theory: dict[str, Any] | None = None, tol: float = 1e-4) -> dict:
    r"""One initial condition on Ising rings: effective ODE, exact population flow, SGD.

    The effective ODE (docs/theory.md §5) and the exact flow
    :math:`\dot w = 2p\,E_1[x\,\Theta(w\cdot x)] - \bar\Sigma w` (§7, population term
    to ``tol`` by :func:`rfloc.numerics.ising_population_gradient`) are integrated with the
    same method and step (``theory``; default Euler with ``dt = lr``, the SGD step in
    expectation) and saved at every SGD step; SGD runs twice from ``w0`` on independent
    data (the second run is the noise floor). Returns the four final peaks and IPRs, the
    cosine of ODE and exact flow at every step and the first time it falls below
    :data:`DEPARTURE_COSINE` (None if never), and the three trajectories at the SGD saves.
    """
    from rfloc.numerics.integrator import SaveAt
    from rfloc.numerics.ising_population import PopulationFlow, solve_flow

    task = from_params(task_params)
    pos, neg = task.positive, task.negative
    if not (isinstance(pos, Ising) and isinstance(neg, Ising)):
        raise ParameterError("ising_exact_task needs Ising rings for both classes, got "
                             f"{pos.describe()} and {neg.describe()}")
    w0a = np.asarray(w0, dtype=np.float64)
    th = {**DEFAULT_THEORY, **(theory or {})}
    dt = lr if th["dt"] == "lr" else float(th["dt"])
    ode = _ode(w0a, task, lr, steps, 1, th)
    flow = PopulationFlow.ising(task.n, pos.J, neg.J, task.p, tol=tol)
    exact = solve_flow(flow, th["method"], w0a, lr * steps, dt,
                       saveat=SaveAt(times=lr * _save_steps(steps, 1)))
    s_sim, s_rep = seed_sequence(seed).spawn(2)
    sim = train_sgd(w0a, task, lr, steps, batch_size, s_sim, save_every=save_every,
                    eval_size=1000)
    rep = train_sgd(w0a, task, lr, steps, batch_size, s_rep, eval_size=1000)
    cos = metrics.cosine(ode.w, exact.w)
    below = np.flatnonzero(~(cos >= DEPARTURE_COSINE))
    finals = {"theory": ode.final, "exact": exact.final, "sim": sim.final,
              "sim_repeat": rep.final}
    peaks = {k: int(metrics.peak(v)) for k, v in finals.items()}
    at = np.rint(sim.t / lr).astype(np.int64)
    return {
        "w0": w0a, "ode_status": ode.status,
        **{f"peak_{k}": v for k, v in peaks.items()},
        **{f"ipr_{k}": float(metrics.ipr(v)) for k, v in finals.items()},
        **{f"offset_{a}_{b}": int(metrics.ring_offset(peaks[a], peaks[b], task.n))
           for a, b in PAIRS},
        "t_departure": float(exact.t[below[0]]) if below.size else None,
        "cosine_theory_exact_final": float(cos[-1]),
        "exact_rhs_evals": exact.stats["rhs_evals"],
        "t": sim.t, "cosine_theory_exact": cos[at],
        "w_theory": ode.w[at], "w_exact": exact.w[at], "w_sim": sim.w,
    }


#: FastICA contrasts by the sign of the excess kurtosis (``fun = "auto"``)
ICA_CONTRAST = {"sub": "cube", "super": "exp"}


def ica_contrast(fun: str, kappa: float | None) -> str:
    r"""The FastICA contrast: ``fun`` itself, or for ``"auto"`` ``"cube"``
    (:math:`G(u) = u^4/4`, the kurtosis contrast) when the pixel marginal is sub-Gaussian
    (:math:`\kappa < 0`) and ``"exp"`` (:math:`G(u) = -e^{-u^2/2}`, bounded, robust to
    heavy tails) otherwise (Hyvärinen 1999, IEEE TNN 10:626)."""
    if fun != "auto":
        return fun
    return ICA_CONTRAST["sub" if kappa is not None and kappa < 0 else "super"]


def ica_task(task_params: dict, samples: int, fun: str, seed: dict,
             components: int | None = None, max_iter: int = 200) -> dict:
    r"""FastICA (scikit-learn) on ``samples`` draws of the labelled inputs ``x``.

    The inputs are whitened to unit variance and unmixed, :math:`s = Wx`; each row of
    :math:`W` (a *filter*, ``components`` of them, default N) is scored by its IPR.
    Returns the filters (C, N), their IPRs, the iteration count and whether FastICA
    converged within ``max_iter`` iterations (tolerance 1e-4).
    """
    import warnings

    from sklearn.decomposition import FastICA
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    task = from_params(task_params)
    ss = seed_sequence(seed)
    X, _ = task.sample(samples, ss.spawn(1)[0])
    ica = FastICA(n_components=components, fun=fun, whiten="unit-variance",
                  max_iter=max_iter, tol=1e-4, random_state=int(ss.generate_state(1)[0]))
    # one BLAS thread: FastICA's small products lose 4x to thread oversubscription when
    # tasks run side by side
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        ica.fit(X)
    filters = ica.components_
    return {"filters": filters, "ipr": metrics.ipr(filters), "fun": fun,
            "n_iter": int(ica.n_iter_), "converged": bool(ica.n_iter_ < max_iter)}
