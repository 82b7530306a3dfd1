"""The main entry: :func:`solve` an :class:`EffectiveODE` with a solver, a step controller, a
save specification and a products kind, into a :class:`~rfloc.numerics.trajectory.Trajectory`."""

from __future__ import annotations

import math
import time
from typing import Any

import numba
import numpy as np

from rfloc.errors import IntegrationError, ParameterError, check_int, check_positive
from rfloc.numerics.integrator import _drivers as drivers
from rfloc.numerics.integrator._controller import ConstantStep, Controller
from rfloc.numerics.integrator._ode import EffectiveODE, digest
from rfloc.numerics.integrator._products import PRODUCTS, Products
from rfloc.numerics.integrator._saveat import SaveAt, SavePlan
from rfloc.numerics.integrator._scipy import solve_scipy
from rfloc.numerics.integrator._solvers import TABLEAUX, Tableau
from rfloc.numerics.status import Status
from rfloc.numerics.trajectory import Trajectory

__all__ = ["METHODS", "SCIPY", "solve"]

SCIPY = "scipy-RK45"
"""The reference solver: :func:`scipy.integrate.solve_ivp` with ``method="RK45"``."""

METHODS = (*TABLEAUX, SCIPY)
"""Accepted solver names: the tableaux ``"euler"``, ``"rk4"``, ``"dopri5"`` and SciPy."""


def solve(ode: EffectiveODE, solver: Tableau | str, w0: Any, t_end: float, dt: float, *,
          saveat: SaveAt | None = None, controller: Controller | ConstantStep | None = None,
          products: str | Products = "auto", max_steps: int = 10_000_000,
          on_failure: str = "raise") -> Trajectory:
    r"""Integrate ``ode`` from ``w0`` to ``t_end``.

    Parameters
    ----------
    ode : EffectiveODE
        What to solve, :math:`\dot w = p\,\varphi(\Sigma_1 w/\|w\|_{\Sigma_1}) -
        \bar\Sigma w`.
    solver : Tableau or {"euler", "rk4", "dopri5", "scipy-RK45"}
        How to step. ``"scipy-RK45"`` calls :func:`scipy.integrate.solve_ivp` on the
        flattened batch with the exact amplifier (a reference, not fast; dense products).
    w0 : array_like, shape (N,) or (M, N)
        One initial receptive field, or M of them integrated independently (in parallel).
    t_end : float
        Time to integrate to, ``t_end > 0`` (for SGD, ``lr * steps``).
    dt : float
        Step size with :class:`ConstantStep` (the last step is shortened if ``t_end`` is not
        a multiple of ``dt``), first trial step with a :class:`Controller`, ``dt > 0``.
        ``"euler"`` with ``dt = lr`` is exactly :math:`w_{k+1} = w_k + \eta f(w_k)`, the SGD
        step in expectation.
    saveat : SaveAt, optional
        When to save; default ``t = 0`` and ``t_end``.
    controller : Controller or ConstantStep, optional
        How big a step; default :class:`Controller` for tableaux with an error estimate and
        SciPy (its ``rtol``, ``atol``), else :class:`ConstantStep`.
    products : {"auto", "dense", "fft", "markov"} or Products
        How the covariances multiply (:meth:`EffectiveODE.products`); recorded in
        ``params["products"]``.
    max_steps : int
        Fixed steps: runs longer than this are refused; adaptive: a field stops there,
        status ``"max_steps"``.
    on_failure : {"raise", "return"}
        On divergence, collapse or ``max_steps`` raise :class:`~rfloc.errors.IntegrationError`
        (default), or return the trajectory with ``status`` and ``message`` set and NaN in
        the failed fields' saves after the failure.

    Returns
    -------
    Trajectory
        ``t`` (T,), ``w`` (T, N) or (T, M, N); ``stats``: ``steps``, ``rejected`` (per field
        for a batch; None for SciPy, which reports ``rhs_evals``), ``wall_time`` (s), and for
        batches ``status`` per field; ``params``: everything needed to reproduce the run
        (scalars, and SHA-256 digests of the arrays).

    Raises
    ------
    ParameterError
        Invalid input (the message names the parameter and its allowed range).
    IntegrationError
        Divergence, collapse or ``max_steps``, with ``on_failure="raise"``.
    """
    start = time.perf_counter()
    tableau = _check_solver(solver)
    w, batched = check_w0(w0, ode.n)
    t_end = check_positive("t_end", t_end)
    dt = check_positive("dt", dt)
    saveat = SaveAt() if saveat is None else saveat
    if controller is None:
        adaptive = tableau is None or tableau.adaptive
        controller = Controller() if adaptive else ConstantStep()
    max_steps = check_int("max_steps", max_steps, minimum=1)
    if on_failure not in ("raise", "return"):
        raise ParameterError(f"on_failure must be 'raise' or 'return', got {on_failure!r}")
    fixed = isinstance(controller, ConstantStep)
    if isinstance(products, str) and products not in PRODUCTS:
        raise ParameterError(f"products must be one of {PRODUCTS}, got {products!r}")
    if tableau is None and not isinstance(controller, Controller):
        raise ParameterError(f"solver {SCIPY!r} needs a Controller (its rtol, atol)")
    if tableau is None and products not in ("auto", "dense"):
        raise ParameterError(f"products={products!r} is for the Numba methods; method="
                             f"{SCIPY!r} multiplies dense matrices (use products='auto')")
    chosen = products if isinstance(products, Products) else \
        ode.products("dense" if tableau is None else products)
    plan = saveat.plan(t_end, dt, fixed=fixed, max_steps=max_steps)
    params: dict[str, Any] = {
        "method": SCIPY if tableau is None else tableau.name, "dt": dt, "t_end": t_end,
        **ode.params(), "M": w.shape[0], "batched": batched, "save_every": saveat.every,
        "save_at": None if saveat.times is None else plan.times.tolist(),
        "rtol": getattr(controller, "rtol", None), "atol": getattr(controller, "atol", None),
        "max_steps": max_steps, "products": chosen.name,
        "sha256": {"w0": digest(w), **ode.digests},
    }
    stats: dict[str, Any] = {}
    if tableau is None:
        assert isinstance(controller, Controller)
        res, stats["rhs_evals"], reason = solve_scipy(ode, w, plan.times, controller)
        stats["steps"] = stats["rejected"] = None
    else:
        res = _run(ode, tableau, w, chosen, controller, plan, max_steps, params)
        reason = _unstable(ode, tableau, res, plan.times, dt, fixed)
        stats["steps"], stats["rejected"] = res.steps.tolist(), res.rejected.tolist()
    status, message = _failure(res, reason, batched, ode.collapse_tol, max_steps)
    if batched:
        stats["status"] = [Status(int(c)).label for c in res.status]
    else:
        stats = {k: (v[0] if isinstance(v, list) else v) for k, v in stats.items()}
    stats["wall_time"] = time.perf_counter() - start
    if status != Status.OK and on_failure == "raise":
        raise IntegrationError(message)
    out = res.out if batched else res.out[:, 0, :]
    return Trajectory(t=plan.times.copy(), w=out, status=status.label, message=message,
                      stats=stats, params=params)


def _run(ode: EffectiveODE, tableau: Tableau, w: np.ndarray, products: Products,
         controller: Controller | ConstantStep, plan: SavePlan, max_steps: int,
         params: dict[str, Any]) -> drivers.Outcome:
    rhs = ode.kernel_args(products)
    params["amplifier_cells"] = rhs.amp.fast.shape[0]
    params["amplifier_core_radius"] = float(rhs.amp.core[0])
    rows, n = w.shape
    res = drivers.Outcome.empty(plan.times.shape[0], rows, n)
    threads = numba.get_num_threads()
    if isinstance(controller, ConstantStep):
        assert plan.steps is not None
        run_plan: drivers.FixedPlan | drivers.AdaptivePlan = drivers.FixedPlan(
            params["dt"], plan.n_steps, plan.h_last, plan.steps)
        blocks = products.fixed_blocks(rows, n, threads)
    else:
        run_plan = drivers.AdaptivePlan(params["dt"], plan.times, max_steps,
                                        controller.kernel_args(tableau))
        blocks = products.adaptive_blocks(rows, threads)
    drivers.run(w, rhs, tableau.kernel_args(), run_plan, res, blocks, threads)
    return res


def _failure(res: drivers.Outcome, reason: str, batched: bool, collapse_tol: float,
             max_steps: int) -> tuple[Status, str]:
    """``(status, message)`` of the earliest failing field (``(Status.OK, "")`` if none)."""
    if not res.status.any():
        return Status.OK, ""
    bad = np.flatnonzero(res.status != Status.OK)
    rows = res.status.shape[0]
    first = int(bad[np.argmin(res.fail_time[bad])])
    code = Status(int(res.status[first]))
    where = f"t = {res.fail_time[first]:.6g}"
    if res.fail_step[first] >= 0:
        where = f"step {res.fail_step[first]}, {where}"
    who = f"initial condition {first} of {rows} " if batched else ""
    why = reason or code.describe(hint="; a smaller dt may help", collapse_tol=collapse_tol,
                                  max_steps=max_steps)
    message = f"{who}{code.label} at {where}: {why}"
    if bad.size > 1:
        message += f" ({bad.size} of {rows} initial conditions failed)"
    return code, message


#: a field whose |covbar w| exceeds this many times its scale has diverged (see _unstable)
GROWTH_LIMIT = 1e3


def _unstable(ode: EffectiveODE, tableau: Tableau, res: drivers.Outcome, times: np.ndarray,
              dt: float, fixed: bool) -> str:
    r"""Mark fields that grew far beyond any solution's scale as diverged; the reason, or "".

    A solution of :math:`\dot w = p\varphi - \bar\Sigma w` keeps
    :math:`\|\bar\Sigma w\|` within :math:`\max(\|\bar\Sigma w_0\|, p\sqrt N E|X|)`
    up to transients (the amplifier term is bounded by :math:`E|X| = \varphi(1)`, the linear
    term only decays). A field whose saved :math:`\|\bar\Sigma w\|` exceeds
    :data:`GROWTH_LIMIT` times that scale was made to grow by the steps, not by the ODE —
    e.g. fixed steps beyond the method's stability bound
    (:attr:`Tableau.stability_bound` over :math:`\lambda_{\max}(\bar\Sigma)`); it gets
    status ``diverged`` at the first such save, and NaN from there on. Only fixed steps
    beyond the linear part's stability bound are checked (within it, and under error
    control, steps cannot outgrow the ODE); the Gershgorin bound (largest absolute row sum)
    spares the eigenvalue computation when it already shows the steps are stable.
    """
    bound = tableau.stability_bound
    if not fixed or dt * float(np.max(np.sum(np.abs(ode.covbar), axis=1))) <= bound or \
            dt * ode.decay_rate <= bound:
        return ""
    ok = np.flatnonzero(res.status == Status.OK)
    if ok.size == 0:
        return ""
    rows = res.out[:, ok, :]                                          # (T, m, N)
    size = np.linalg.norm(rows @ ode.covbar, axis=2)                  # |covbar w|, (T, m)
    floor = ode.p * math.sqrt(ode.n) * abs(float(ode.table(np.array([1.0]))[0]))
    limit = GROWTH_LIMIT * np.maximum(size[0], floor)
    over = size > limit
    hit = np.flatnonzero(over.any(axis=0))
    if hit.size == 0:
        return ""
    for j in hit:
        first = int(np.argmax(over[:, j]))
        r = ok[j]
        res.status[r] = Status.DIVERGED
        res.fail_time[r] = times[first]
        res.fail_step[r] = round(times[first] / dt) if fixed else -1
        res.out[first:, r, :] = np.nan
    return (f"|covbar w| grew over {GROWTH_LIMIT:g} times its scale (no solution of the "
            f"ODE does): dt * lambda_max(covbar) = {dt * ode.decay_rate:.4g} exceeds "
            f"{tableau.name}'s stability bound {bound:.4g}; use dt <= "
            f"{bound / ode.decay_rate:.4g} or an adaptive method")


def _check_solver(solver: Tableau | str) -> Tableau | None:
    """The tableau, or None for SciPy."""
    if isinstance(solver, Tableau):
        return solver
    if solver == SCIPY:
        return None
    if solver not in TABLEAUX:
        raise ParameterError(f"method must be one of {METHODS} or a Tableau, got {solver!r}")
    return TABLEAUX[solver]


def check_w0(w0: Any, n: int | None = None) -> tuple[np.ndarray, bool]:
    """``(w, batched)``: ``w0`` as a C-contiguous float64 copy (M, N), and whether it was
    (M, N); ``n``, if given, is the N it must have."""
    try:
        arr = np.asarray(w0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"w0 must be a real array of shape (N,) or (M, N), got {w0!r}") \
            from None
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise ParameterError(f"w0 must have shape (N,) or (M, N) with N, M >= 1, "
                             f"got shape {arr.shape}")
    if n is not None and arr.shape[-1] != n:
        raise ParameterError(f"w0 must have N = {n} pixels per row to match the ODE's "
                             f"covariances, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError("w0 must be finite (no NaN or inf)")
    return np.array(arr.reshape(-1, arr.shape[-1]), order="C"), arr.ndim == 2
