r"""Integrator of the effective dynamics of one ReLU neuron (THEORY.md §2, equation (*)).

.. math::

    \frac{dw}{dt} = p\,\varphi\!\left(\frac{\Sigma_1 w}{\|w\|_{\Sigma_1}}\right) - \bar\Sigma w,
    \qquad \bar\Sigma = p\,\Sigma_1 + (1-p)\,\Sigma_0, \qquad
    \|w\|_{\Sigma_1} = \sqrt{w^\top \Sigma_1 w},

with the amplifier :math:`\varphi` applied elementwise. Batches of initial conditions run in
parallel inside Numba (no Python per step); large (block-)circulant covariances use FFT
products, covariances of Markov chains on a ring (the Ising ring) O(N) products through their
cyclic tridiagonal inverse. See ``docs/integrator.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Iterator
from typing import Any

import numba
import numpy as np
from scipy.integrate import solve_ivp

from rfloc.errors import (
    IntegrationError,
    ParameterError,
    check_int,
    check_open_unit,
    check_positive,
)
from rfloc.numerics import _circulant as circ
from rfloc.numerics import _markov as markov
from rfloc.numerics import _ode_kernels as kern
from rfloc.numerics._fastphi import core, tabulate
from rfloc.numerics._solvers import TABLEAUX, Controller, Tableau
from rfloc.numerics.trajectory import Trajectory
from rfloc.numerics.amplifier_table import KIND_BINARY, KIND_LINEAR, KIND_TABLE, AmplifierTable

__all__ = ["METHODS", "integrate_effective"]

METHODS = ("euler", "rk4", "dopri5", "scipy-RK45")
"""Accepted ``method`` names: three Numba solvers and SciPy's ``solve_ivp`` reference."""

PRODUCTS = ("auto", "dense", "fft", "markov")
"""Accepted ``products``: how the covariances multiply the receptive fields."""

FFT_MIN_N = 256
"""With ``products="auto"``, circulant covariances multiply by FFT from this N on."""

_MAX_BLOCK = 64  # rows per parallel block: BLAS products stay single-threaded below this
_MAX_MARKOV_BLOCK = 256  # rows per parallel block with Markov products

_STATUS = {kern.DIVERGED: "diverged", kern.UNDERFLOW: "diverged",
           kern.COLLAPSED: "collapsed", kern.MAX_STEPS: "max_steps"}


def integrate_effective(
    w0: np.ndarray,
    cov1: np.ndarray,
    cov0: np.ndarray,
    amplifier: Any,
    t_end: float,
    dt: float,
    method: str = "rk4",
    p: float = 0.5,
    *,
    save_every: int | None = None,
    save_at: np.ndarray | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    max_steps: int = 10_000_000,
    on_failure: str = "raise",
    collapse_tol: float = 1e-12,
    products: str = "auto",
    amplifier_tol: float = 1e-13,
) -> Trajectory:
    r"""Integrate :math:`\dot w = p\,\varphi(\Sigma_1 w/\|w\|_{\Sigma_1}) - \bar\Sigma w`.

    Parameters
    ----------
    w0 : array_like, shape (N,) or (M, N)
        One initial receptive field, or M of them integrated independently (in parallel).
    cov1, cov0 : array_like, shape (N, N)
        Symmetric positive semi-definite pixel covariances of class 1 (label 1, the longer
        correlation length) and class 0.
    amplifier : AmplifierTable or object with a ``.table`` AmplifierTable
        The localization amplifier :math:`\varphi`, e.g. ``rfloc.theory.amplifier(marginal)``
        or ``AmplifierTable.binary()``.
    t_end : float
        Gradient-flow time to integrate to, ``t_end > 0`` (for SGD, ``lr * steps``).
    dt : float
        Step size of ``"euler"``/``"rk4"`` (the last step is shortened if ``t_end`` is not a
        multiple of ``dt``), first trial step of ``"dopri5"``, ``dt > 0``. ``"euler"`` with
        ``dt = lr`` is exactly :math:`w_{k+1} = w_k + \eta f(w_k)`, the SGD step in
        expectation, so ODE step k corresponds to SGD step k.
    method : {"euler", "rk4", "dopri5", "scipy-RK45"}
        ``"dopri5"`` is the adaptive Dormand–Prince 5(4) pair (``rtol``/``atol``);
        ``"scipy-RK45"`` calls :func:`scipy.integrate.solve_ivp` on the flattened batch with
        the exact amplifier (a reference, not fast).
    p : float
        Class-1 proportion, in (0, 1).
    save_every : int, optional
        Save every ``save_every`` nominal steps, i.e. at times ``j * save_every * dt``, and at
        ``t_end``. Default (with ``save_at`` also None): save only ``t = 0`` and ``t_end``.
    save_at : array_like, shape (T,), optional
        Increasing save times in ``[0, t_end]``; the run stops at the last one. For the
        fixed-step methods they must lie on the step grid ``k * dt`` (or be ``t_end``).
    rtol, atol : float
        Tolerances of the adaptive methods (error scale ``atol + rtol * |w_i|``), ``rtol > 0``,
        ``atol >= 0``.
    max_steps : int
        Fixed-step methods refuse runs longer than this; adaptive ones stop there, status
        ``"max_steps"``.
    on_failure : {"raise", "return"}
        On divergence (NaN/overflow) or collapse raise :class:`~rfloc.errors.IntegrationError`
        (default), or return the trajectory with ``status`` and ``message`` set and NaN in
        the failed rows' saves after the failure.
    collapse_tol : float
        Norm collapse: :math:`\|w\|_{\Sigma_1} \le` ``collapse_tol`` (the amplifier's argument
        is undefined at :math:`w = 0`), ``>= 0``.
    products : {"auto", "dense", "fft", "markov"}
        How :math:`\Sigma_1 w` and :math:`\bar\Sigma w` are computed. ``"dense"``: matrix
        products. ``"fft"``: by FFT (both covariances circulant on a ring, or block-circulant
        with circulant blocks on the same n-by-n torus); this path steps the batch from
        Python with NumPy, the adaptive step size shared by the batch. ``"markov"``: both
        covariances are those of Markov chains on a ring (cyclic tridiagonal inverse, e.g.
        the Ising ring), O(N) per product (see :mod:`rfloc.numerics._markov`; not for the
        ``"scipy-RK45"`` reference). ``"auto"`` (default): ``"markov"`` when both qualify
        and N < :data:`FFT_MIN_N` (the test costs a Cholesky factorisation), else ``"fft"``
        when both are circulant and N >= :data:`FFT_MIN_N`, else ``"dense"``.
        The choice is recorded in ``params["products"]``.
    amplifier_tol : float
        Allowed absolute error of the integrator's fast re-tabulation of :math:`\varphi`
        (checked on build); 0 evaluates ``phi_scalar`` per pixel (slower).

    Returns
    -------
    Trajectory
        ``t`` (T,), ``w`` (T, N) or (T, M, N); ``stats`` with ``steps`` and ``rejected``
        (int, or list per initial condition for batched input; None for ``"scipy-RK45"``,
        which reports ``rhs_evals`` instead), ``wall_time`` (s), and for batches ``status``
        per initial condition; ``params`` with everything needed to reproduce the run
        (scalars, and SHA-256 digests of the arrays).

    Raises
    ------
    ParameterError
        Invalid input (the message names the parameter and its allowed range).
    IntegrationError
        Divergence, collapse or ``max_steps``, with ``on_failure="raise"``.
    """
    start = time.perf_counter()
    w, batched = _check_w0(w0)
    n = w.shape[1]
    c1 = _check_cov("cov1", cov1, n)
    c0 = _check_cov("cov0", cov0, n)
    table = _check_amplifier(amplifier)
    t_end = check_positive("t_end", t_end)
    dt = check_positive("dt", dt)
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    p = check_open_unit("p", p)
    rtol = check_positive("rtol", rtol)
    atol = check_positive("atol", atol, strict=False)
    max_steps = check_int("max_steps", max_steps, minimum=1)
    if on_failure not in ("raise", "return"):
        raise ParameterError(f"on_failure must be 'raise' or 'return', got {on_failure!r}")
    collapse_tol = check_positive("collapse_tol", collapse_tol, strict=False)
    amplifier_tol = check_positive("amplifier_tol", amplifier_tol, strict=False)
    if products not in PRODUCTS:
        raise ParameterError(f"products must be one of {PRODUCTS}, got {products!r}")
    tableau = TABLEAUX.get(method)
    if tableau is None and products in ("fft", "markov"):
        raise ParameterError(f"products={products!r} is for the Numba methods; method="
                             f"{method!r} multiplies dense matrices (use products='auto')")
    digests = {"w0": _digest(w), "cov1": _digest(c1), "cov0": _digest(c0),
               "amplifier": _digest(table.breaks, table.coeffs)}
    fft, tri = _structure(c1, c0, p, products if tableau is not None else "dense",
                          (digests["cov1"], digests["cov0"]))

    fixed = tableau is not None and not tableau.adaptive
    grid = _Grid(t_end, dt, save_every, save_at, fixed, max_steps)
    params = {
        "method": method, "dt": dt, "t_end": t_end, "p": p, "N": n, "M": w.shape[0],
        "batched": batched, "save_every": grid.save_every,
        "save_at": None if save_at is None else grid.times.tolist(),
        "rtol": rtol, "atol": atol, "max_steps": max_steps, "collapse_tol": collapse_tol,
        "products": "fft" if fft is not None else "markov" if tri.shape[0] else "dense",
        "amplifier_tol": amplifier_tol,
        "amplifier_kind": table.kind,
        "sha256": digests,
    }
    if tableau is None:
        run = _run_scipy(w, c1, p * c1 + (1.0 - p) * c0, p, table, grid.times, rtol, atol,
                         collapse_tol**2)
    else:
        fast = tabulate(table, amplifier_tol)
        centre = core(table, amplifier_tol)
        params["amplifier_cells"] = fast.shape[0]
        params["amplifier_core_radius"] = float(centre[0])
        amp = (fast, centre, table.kind, table.breaks, table.coeffs)
        run = _run(w, c1, c0, p, amp, collapse_tol**2, tableau, (fft, tri), grid, rtol, atol)
    stats: dict[str, Any] = {"steps": run.steps, "rejected": run.rejected}
    if run.rhs_evals is not None:
        stats["rhs_evals"] = run.rhs_evals
    status, message = _failure(run, batched, w.shape[0], collapse_tol, max_steps)
    if batched:
        stats["status"] = [_STATUS.get(int(c), "ok") for c in run.status]
    else:
        stats = {k: (v[0] if isinstance(v, list) else v) for k, v in stats.items()}
    stats["wall_time"] = time.perf_counter() - start
    if status != "ok" and on_failure == "raise":
        raise IntegrationError(message)
    out = run.out if batched else run.out[:, 0, :]
    return Trajectory(t=grid.times.copy(), w=out, status=status, message=message,
                      stats=stats, params=params)


class _Grid:
    """Save times and, for fixed-step methods, the step plan (``n_steps``, ``h_last``)."""

    def __init__(self, t_end: float, dt: float, save_every: int | None,
                 save_at: np.ndarray | None, fixed: bool, max_steps: int) -> None:
        if save_every is not None and save_at is not None:
            raise ParameterError("give at most one of save_every and save_at")
        ratio = t_end / dt
        if round(ratio) >= 1 and abs(ratio - round(ratio)) <= 1e-9 * ratio:
            n_total, self.h_last = round(ratio), dt
        else:
            n_total = math.ceil(ratio)
            self.h_last = t_end - (n_total - 1) * dt
        self.save_every = None if save_every is None else check_int("save_every", save_every,
                                                                    minimum=1)
        if save_at is not None:
            times = self._check_save_at(save_at, t_end)
            steps = self._on_grid(times, dt, t_end, n_total) if fixed else None
            if fixed:
                times = np.where(steps == n_total, t_end, steps * dt)
        else:
            stride = self.save_every or n_total
            if n_total // stride > max_steps:
                raise ParameterError(
                    f"save_every = {save_every} gives {n_total // stride} saves, more than "
                    f"max_steps = {max_steps}; raise save_every (or max_steps)")
            steps = np.unique(np.append(np.arange(0, n_total, stride), n_total))
            times = np.minimum(steps * dt, t_end)
            times[-1] = t_end
            if not fixed:
                steps = None
        self.times = times
        self.steps = steps
        self.n_steps = int(steps[-1]) if fixed else 0
        if self.n_steps != n_total:
            self.h_last = dt
        self.dt = dt
        self.max_steps = max_steps
        if fixed and self.n_steps > max_steps:
            raise ParameterError(
                f"t_end/dt = {ratio:.6g} steps exceeds max_steps = {max_steps}; raise max_steps "
                "or dt")

    @staticmethod
    def _check_save_at(save_at: np.ndarray, t_end: float) -> np.ndarray:
        try:
            times = np.array(save_at, dtype=np.float64, ndmin=1)
        except (TypeError, ValueError):
            raise ParameterError(f"save_at must be an array of times, got {save_at!r}") from None
        if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
            raise ParameterError("save_at must be a non-empty 1-D array of finite times")
        if times[0] < 0 or times[-1] > t_end * (1 + 1e-12) or np.any(np.diff(times) <= 0):
            raise ParameterError(
                f"save_at must be strictly increasing within [0, t_end = {t_end:g}]")
        return times

    @staticmethod
    def _on_grid(times: np.ndarray, dt: float, t_end: float, n_total: int) -> np.ndarray:
        steps = np.rint(times / dt).astype(np.int64)
        at_end = np.abs(times - t_end) <= 1e-12 * t_end
        steps[at_end] = n_total
        off = ~at_end & ((np.abs(steps * dt - times) > 1e-9 * dt) | (steps >= n_total))
        if np.any(off):
            raise ParameterError(
                f"save_at times must lie on the step grid k*dt (dt = {dt:g}) or equal t_end "
                f"for fixed-step methods; {times[off][:3].tolist()} do not")
        return steps


class _RunResult:
    """Raw arrays from one of the three back ends (rows = initial conditions)."""

    def __init__(self, rows: int, n: int, saves: int) -> None:
        self.out = np.empty((saves, rows, n))
        self.status = np.zeros(rows, dtype=np.int64)
        self.fail_step = np.full(rows, -1, dtype=np.int64)
        self.fail_time = np.full(rows, np.nan)
        self.steps: list[int] | None = [0] * rows
        self.rejected: list[int] | None = [0] * rows
        self.rhs_evals: int | None = None
        self.reason = ""


def _run(w: np.ndarray, c1: np.ndarray, c0: np.ndarray, p: float, amp: tuple,
         collapse2: float, tableau: Tableau, structure: tuple, grid: _Grid,
         rtol: float, atol: float) -> _RunResult:
    rows, n = w.shape
    res = _RunResult(rows, n, grid.times.shape[0])
    counts = np.zeros((2, rows), dtype=np.int64)
    fft, tri = structure
    if tri.shape[0]:  # the Markov factors replace the dense matrices
        mats = (np.zeros((0, 0)), np.zeros((0, 0)), tri)
    else:
        covbar = p * c1 + (1.0 - p) * c0
        mats = (np.ascontiguousarray(np.hstack([c1, covbar])),
                np.ascontiguousarray(np.vstack([c1, covbar])), tri)
    tab = (tableau.a, tableau.b, tableau.e)
    stepper = None if fft is None else circ.BatchedStepper(fft, p, amp, collapse2, tableau)
    fails = (res.status, res.fail_step, res.fail_time)
    if not tableau.adaptive:
        plan = (grid.dt, grid.n_steps, grid.h_last, grid.steps, res.out, *fails)
        if stepper is None:
            threads = numba.get_num_threads()
            if tri.shape[0]:  # O(N) products: wide (transposed) blocks vectorise best
                block = min(_MAX_MARKOV_BLOCK, -(-rows // threads))
                workers = -(-rows // block)
            elif n >= FFT_MIN_N:  # products dominate: one Numba thread, BLAS runs them threaded
                block, workers = min(rows, _MAX_BLOCK), 1
            else:
                block = min(_MAX_BLOCK, -(-rows // threads))
                workers = -(-rows // block)
            with _threads(workers):
                kern.integrate_fixed(w, mats, p, amp, collapse2, tab, block, *plan)
        else:
            circ.integrate_fixed(stepper, w, *plan)
        done = np.where(res.status == kern.DIVERGED, res.fail_step - 1, res.fail_step)
        counts[0] = np.where(res.status == kern.OK, grid.n_steps, done)
    else:
        ctrl = Controller()
        if stepper is None:
            control = (ctrl.exponent(tableau), ctrl.safety, ctrl.min_factor, ctrl.max_factor)
            with _threads(rows):
                kern.integrate_adaptive(w, mats, p, amp, collapse2, tab, tableau.fsal, grid.dt,
                                        grid.times, rtol, atol, control, grid.max_steps,
                                        res.out, *fails, counts[0], counts[1])
        else:
            circ.integrate_adaptive(stepper, ctrl, w, grid.dt, grid.times, rtol, atol,
                                    grid.max_steps, res.out, *fails, counts[0], counts[1])
    res.steps, res.rejected = counts[0].tolist(), counts[1].tolist()
    return res


@contextlib.contextmanager
def _threads(work_items: int) -> Iterator[None]:
    """Use at most ``work_items`` Numba threads: idle threads would still have to join."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(before, work_items)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _run_scipy(w: np.ndarray, c1: np.ndarray, covbar: np.ndarray, p: float,
               table: AmplifierTable, times: np.ndarray, rtol: float, atol: float,
               collapse2: float) -> _RunResult:
    """SciPy reference: ``solve_ivp(RK45)`` on the flattened batch, exact amplifier.

    A collapse (terminal event) removes that row and restarts the others from there.
    """
    rows, n = w.shape
    res = _RunResult(rows, n, times.shape[0])
    res.steps = res.rejected = None
    res.rhs_evals = 0
    res.out[:] = np.nan

    def norms2(x: np.ndarray) -> np.ndarray:
        return np.einsum("mi,mi->m", x, x @ c1)

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        x = y.reshape(-1, n)
        s1 = x @ c1
        a = s1 / np.sqrt(np.einsum("mi,mi->m", x, s1))[:, None]
        return (p * table(a) - x @ covbar).ravel()

    def collapse(_t: float, y: np.ndarray) -> float:
        return float(np.min(norms2(y.reshape(-1, n)))) - collapse2

    collapse.terminal = True  # type: ignore[attr-defined]
    dead = norms2(w) <= collapse2
    res.status[dead], res.fail_step[dead], res.fail_time[dead] = kern.COLLAPSED, 0, 0.0
    live, x, t0 = np.flatnonzero(~dead), w[~dead], 0.0
    res.out[0, dead] = w[dead] if times[0] == 0.0 else np.nan
    while live.size:
        keep = times >= t0 if t0 == 0.0 else times > t0
        with np.errstate(all="ignore"):
            sol = solve_ivp(rhs, (t0, float(times[-1])), x.ravel(), method="RK45",
                            t_eval=times[keep], rtol=rtol, atol=atol, events=collapse)
        res.rhs_evals += int(sol.nfev)
        done = sol.y.shape[1]
        res.out[np.flatnonzero(keep)[:done, None], live[None, :]] = \
            sol.y.T.reshape(done, live.size, n)
        if sol.status == 0:
            break
        if sol.status == -1:
            res.status[live], res.fail_time[live] = kern.DIVERGED, sol.t[-1] if done else t0
            res.reason = f"solve_ivp: {sol.message}"
            break
        t0, y = float(sol.t_events[0][0]), sol.y_events[0][0].reshape(-1, n)
        who = int(np.argmin(norms2(y)))
        res.status[live[who]], res.fail_time[live[who]] = kern.COLLAPSED, t0
        live, x = np.delete(live, who), np.delete(y, who, axis=0)
    return res


def _failure(run: _RunResult, batched: bool, rows: int, collapse_tol: float,
             max_steps: int) -> tuple[str, str]:
    """``(status, message)`` of the earliest failing row (``("ok", "")`` if none)."""
    bad = np.flatnonzero(run.status != kern.OK)
    if bad.size == 0:
        return "ok", ""
    first = int(bad[np.argmin(run.fail_time[bad])])
    code = int(run.status[first])
    reasons = {
        kern.DIVERGED: "w became non-finite (NaN/overflow); a smaller dt may help",
        kern.UNDERFLOW: "the adaptive step size underflowed (h < 1e-14 t)",
        kern.COLLAPSED: f"norm collapse, ||w||_Sigma1 = sqrt(w^T cov1 w) <= collapse_tol = "
                        f"{collapse_tol:g}",
        kern.MAX_STEPS: f"max_steps = {max_steps} steps taken before the end",
    }
    where = f"t = {run.fail_time[first]:.6g}"
    if run.fail_step[first] >= 0:
        where = f"step {run.fail_step[first]}, {where}"
    who = f"initial condition {first} of {rows} " if batched else ""
    message = f"{who}{_STATUS[code]} at {where}: {run.reason or reasons[code]}"
    if bad.size > 1:
        message += f" ({bad.size} of {rows} initial conditions failed)"
    return _STATUS[code], message


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64))  # the buffer, without a copy
    return h.hexdigest()


def _check_w0(w0: np.ndarray) -> tuple[np.ndarray, bool]:
    try:
        arr = np.asarray(w0, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"w0 must be a real array of shape (N,) or (M, N), got {w0!r}") \
            from None
    if arr.ndim not in (1, 2) or arr.size == 0:
        raise ParameterError(f"w0 must have shape (N,) or (M, N) with N, M >= 1, "
                             f"got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError("w0 must be finite (no NaN or inf)")
    return np.array(arr.reshape(-1, arr.shape[-1]), order="C"), arr.ndim == 2


def _check_cov(name: str, cov: np.ndarray, n: int) -> np.ndarray:
    """A float64 copy of ``cov``, symmetrised (it must be symmetric to 1e-12 relative)."""
    try:
        arr = np.array(cov, dtype=np.float64, order="C")
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a real (N, N) matrix, got {cov!r}") from None
    if arr.shape != (n, n):
        raise ParameterError(f"{name} must have shape ({n}, {n}) to match w0 (N = {n}), "
                             f"got shape {arr.shape}")
    top, asym = kern.symmetrise(arr)
    if not math.isfinite(top):
        raise ParameterError(f"{name} must be finite (no NaN or inf)")
    if asym > 1e-12 * max(1.0, top):
        raise ParameterError(f"{name} must be symmetric (|{name} - {name}.T| <= 1e-12 max|{name}|)")
    return arr


def _check_psd(name: str, eigenvalues: np.ndarray) -> None:
    top = float(np.max(np.abs(eigenvalues)))
    low = float(np.min(eigenvalues))
    if low < -1e-10 * max(top, 1e-300):
        raise ParameterError(f"{name} must be positive semi-definite, its smallest eigenvalue "
                             f"is {low:.3g}")


def _structure(c1: np.ndarray, c0: np.ndarray, p: float, products: str,
               keys: tuple[str, str]) -> tuple[circ.FFTProducts | None, np.ndarray]:
    """Check both covariances are PSD; the FFT products and Markov factors ``products`` asks
    for or (``"auto"``) allows. Markov factors are ``(2, ROWS, N)``, or ``(0, ROWS, N)``;
    ``keys`` identify the covariances' contents (their digests)."""
    n = c1.shape[0]
    none = np.zeros((0, markov.ROWS, n))
    if products == "markov" or (products == "auto" and n < FFT_MIN_N):
        f1 = markov.factor(c1, p, key=keys[0])
        f0 = markov.factor(c0, 1.0 - p, key=keys[1]) if f1 is not None else None
        if f0 is not None:  # both positive definite (Cholesky succeeded)
            return None, np.stack([f1, f0])
        if products == "markov":
            raise ParameterError(
                "products='markov' needs cov1 and cov0 both positive definite with a cyclic "
                "tridiagonal inverse (Markov chains on a ring, e.g. ising_covariance)")
    dims1 = circ.circulant_dims(c1) if products in ("auto", "fft") else None
    dims0 = circ.circulant_dims(c0) if dims1 is not None else None
    if products == "fft" and (dims1 is None or dims0 != dims1):
        raise ParameterError(
            "products='fft' needs cov1 and cov0 both circulant on a ring of N pixels or both "
            "block-circulant with circulant blocks on the same n-by-n torus")
    if dims1 is None or dims0 != dims1:
        _check_psd("cov1", np.linalg.eigvalsh(c1))
        _check_psd("cov0", np.linalg.eigvalsh(c0))
        return None, none
    eig1, eig0 = circ.spectrum(c1, dims1), circ.spectrum(c0, dims1)
    _check_psd("cov1", eig1)
    _check_psd("cov0", eig0)
    if products == "auto" and n < FFT_MIN_N:
        return None, none
    return circ.FFTProducts(dims1, eig1, p * eig1 + (1.0 - p) * eig0), none


def _check_amplifier(amplifier: Any) -> AmplifierTable:
    table = getattr(amplifier, "table", amplifier)
    if not isinstance(table, AmplifierTable):
        raise ParameterError(
            "amplifier must be an AmplifierTable or have a .table AmplifierTable (e.g. "
            f"rfloc.theory.amplifier(marginal)), got {type(amplifier).__name__}")
    if table.kind not in (KIND_LINEAR, KIND_BINARY, KIND_TABLE):
        raise ParameterError(f"amplifier.table.kind must be 0, 1 or 2, got {table.kind!r}")
    breaks = np.ascontiguousarray(table.breaks, dtype=np.float64)
    coeffs = np.ascontiguousarray(table.coeffs, dtype=np.float64)
    ok = breaks.ndim == 1 and coeffs.ndim == 2 and coeffs.size > 0 \
        and np.all(np.isfinite(breaks)) and np.all(np.isfinite(coeffs))
    if ok and table.kind == KIND_TABLE:
        ok = breaks.size == coeffs.shape[0] + 1 and bool(np.all(np.diff(breaks) > 0))
    if not ok:
        raise ParameterError("amplifier table is malformed: breaks must be (P+1,) increasing, "
                             "coeffs (P, D+1), all finite")
    return AmplifierTable(int(table.kind), breaks, coeffs)
