"""The SciPy reference: ``solve_ivp(method="RK45")`` on the flattened batch, exact amplifier."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from rfloc.numerics.integrator._controller import Controller
from rfloc.numerics.integrator._drivers import Outcome
from rfloc.numerics.integrator._ode import EffectiveODE
from rfloc.numerics.status import Status


def solve_scipy(ode: EffectiveODE, w: np.ndarray, times: np.ndarray,
                controller: Controller) -> tuple[Outcome, int, str]:
    """``(outcome, rhs_evals, reason)`` of ``w`` (M, N) saved at ``times`` (T,).

    The right-hand side is :meth:`EffectiveODE.rhs`. A collapse (terminal event) removes
    that row and restarts the others from there; a failure of ``solve_ivp`` marks the
    remaining rows diverged, with its message as ``reason``.
    """
    rows, n = w.shape
    res = Outcome.empty(times.shape[0], rows, n)
    res.out[:] = np.nan
    collapse2 = ode.collapse_tol**2
    evals, reason = 0, ""

    def norms2(x: np.ndarray) -> np.ndarray:
        return np.einsum("mi,mi->m", x, x @ ode.cov1)

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        return ode.rhs(y.reshape(-1, n)).ravel()

    def collapse(_t: float, y: np.ndarray) -> float:
        return float(np.min(norms2(y.reshape(-1, n)))) - collapse2

    collapse.terminal = True  # type: ignore[attr-defined]
    dead = norms2(w) <= collapse2
    res.status[dead], res.fail_step[dead], res.fail_time[dead] = Status.COLLAPSED, 0, 0.0
    live, x, t0 = np.flatnonzero(~dead), w[~dead], 0.0
    res.out[0, dead] = w[dead] if times[0] == 0.0 else np.nan
    while live.size:
        keep = times >= t0 if t0 == 0.0 else times > t0
        with np.errstate(all="ignore"):
            sol = solve_ivp(rhs, (t0, float(times[-1])), x.ravel(), method="RK45",
                            t_eval=times[keep], rtol=controller.rtol, atol=controller.atol,
                            events=collapse)
        evals += int(sol.nfev)
        done = sol.y.shape[1]
        res.out[np.flatnonzero(keep)[:done, None], live[None, :]] = \
            sol.y.T.reshape(done, live.size, n)
        if sol.status == 0:
            break
        if sol.status == -1:
            res.status[live], res.fail_time[live] = Status.DIVERGED, sol.t[-1] if done else t0
            reason = f"solve_ivp: {sol.message}"
            break
        t0, y = float(sol.t_events[0][0]), sol.y_events[0][0].reshape(-1, n)
        who = int(np.argmin(norms2(y)))
        res.status[live[who]], res.fail_time[live[who]] = Status.COLLAPSED, t0
        live, x = np.delete(live, who), np.delete(y, who, axis=0)
    return res, evals, reason
