r"""The exact population gradient of one ReLU neuron on periodic Ising rings.

The only term of the gradient flow (docs/theory.md §2, (1)) that the effective ODE
approximates is :math:`E[x\,\Theta(w\cdot x)]`; on a periodic Ising ring of ±1 spins it is
computed here to a stated tolerance, all ``N`` components in one forward–backward pass of
the transfer matrix per frequency (:func:`ising_population_gradient`), and the exact flow
that uses it is integrated (:class:`PopulationFlow`, :func:`solve_flow`). See
docs/theory.md §7.

Method
------
The ring is flip-symmetric, so with :math:`h = w\cdot s` and :math:`\mathrm{sign}(0) = 0`,

.. math:: G_i \equiv E[s_i\,\Theta(h)] = \tfrac12 E[s_i\,\mathrm{sign}(h)].

With the frequency step :math:`\Delta u = 2\pi/P` and :math:`u_k = k\Delta u`, the
trapezoid sum of Dirichlet's integral is the staircase
:math:`\tfrac2\pi[\Delta u\,h/2 + \sum_{k\ge1}\sin(u_k h)/k]`, equal to
:math:`\mathrm{sign}(h)` for :math:`|h| < P`; damping its sine series by
:math:`e^{-\sigma^2u_k^2/2}` convolves it with :math:`N(0, \sigma^2)`. Taking
:math:`P \ge \sum_j|w_j| + 8\sigma`, so that no configuration reaches the next stair,

.. math:: G_i(\sigma) \equiv \tfrac12 E\big[s_i\,\mathrm{erf}\big(h/\sigma\sqrt2\big)\big]
          = \frac1\pi\Big[\frac{\Delta u}{2}(\Sigma w)_i
          + \sum_{k=1}^{K} \frac{e^{-\sigma^2u_k^2/2}}{k}\,\mathrm{Im}\,E[s_i e^{iu_kh}]\Big]

to rounding (the sum stops where :math:`\sigma u_K \ge 8.6`, :math:`e^{-37} < 10^{-16}`).
:math:`E[s_i e^{iuh}]` is a ratio of traces of 2×2 transfer-matrix products
(:mod:`rfloc.numerics._ising_kernels`). Since :math:`q_i(h) = p(h, s_i{=}1) -
p(h, s_i{=}{-1})` is odd, :math:`G_i(\sigma) = G_i + c_1\sigma^2 + c_2\sigma^4 + \dots`
where :math:`h` has a density on the scale of :math:`\sigma`. The widths
:math:`\sigma_m = \sigma_0 2^{-m}` (:math:`\sigma_0 = \|w\|_\Sigma / 20`) are refined
until one of two tests passes:

- **bound** (rings with few configurations, whose :math:`h` is a set of atoms): since
  :math:`\mathrm{erfc}(z) \le e^{-z^2}`,

  .. math:: |G_i(\sigma) - G_i| \le B(\sigma) = \tfrac12 E[e^{-h^2/2\sigma^2}]
            = \frac{\sigma\,\Delta u}{2\sqrt{2\pi}}\Big[1 + 2\sum_{k\ge1}
            e^{-\sigma^2u_k^2/2}\,E[e^{iu_kh}]\Big]

  (the trapezoid sum adds the non-negative periodic images, so it stays a bound); once
  :math:`B(\sigma_m) \le` ``tol``, :math:`G_i(\sigma_m)` is returned with error at most
  :math:`B`;
- **extrapolation** (many configurations): Richardson's table in :math:`\sigma^2` (up to
  the :math:`\sigma^6` term) removes the smooth part of the error. What it cannot remove
  is the granularity of :math:`h`'s atoms, which makes the changes :math:`E_m` (largest
  change of the extrapolated value from level ``m - 1``) shrink only geometrically, by a
  ratio :math:`r` per level (about 0.7 on N = 40 rings with J = 0.7, where this
  granularity is of order 1e-5; below 1e-3 on N = 100 rings). With :math:`r` the larger of
  the last two ratios (at most 0.9), the remaining error is estimated as
  :math:`E_m\max(1, r/(1-r))`, the tail of the geometric series, and accepted when at
  most ``tol``.

The function of ``w`` is piecewise constant (it jumps where a configuration's :math:`h`
crosses 0); it is the :math:`\sigma \to 0` limit, with :math:`\Theta(0) = 0`, that is
computed.

Cost: :math:`K \approx 1.4\,(\sum_j|w_j| + 8\sigma_0)/\sigma` frequencies of
:math:`O(N)` each (eight real multiplications per spin and factor), each level summed
afresh from ``k = 1`` (twice the last level's cost in all); measured in docs/theory.md §7.

Exact flow
----------
docs/theory.md §2, equation (1), with the linear term exact for sign-symmetric classes (§3):

.. math:: \frac{dw}{dt} = 2p\,E_1[x\,\Theta(w\cdot x)] - \bar\Sigma w, \qquad
          \bar\Sigma = p\Sigma_1 + (1-p)\Sigma_0 .

The effective ODE (§5, (*)) is this flow with :math:`E_1[x\,\Theta(w\cdot x)]` replaced by
its Gaussian-conditional value :math:`\tfrac12\varphi(\Sigma_1w/\|w\|_{\Sigma_1})`; for
Ising rings :func:`~rfloc.numerics.ising_population.ising_population_gradient` gives the
exact term (:meth:`PopulationFlow.ising`).

The integrator's drivers are Numba kernels that evaluate the effective right-hand side
inside the compiled step loop; a right-hand side that is itself an adaptive computation in
Python (a level-by-level refinement per row) cannot run there. :func:`solve_flow` therefore
steps in Python, one batched right-hand side per stage, with the integrator's own objects:
a :class:`~rfloc.numerics.integrator.Tableau` (how to step), a
:class:`~rfloc.numerics.integrator.ConstantStep` or
:class:`~rfloc.numerics.integrator.Controller` (how big a step, with its step-size rule)
and a :class:`~rfloc.numerics.integrator.SaveAt` (when to save). The per-step Python cost
is negligible next to the right-hand side's.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from rfloc.errors import IntegrationError, ParameterError, check_open_unit, check_positive
from rfloc.numerics._ising_kernels import sine_sums
from rfloc.numerics.covariance import ising_covariance
from rfloc.numerics.integrator import TABLEAUX, ConstantStep, Controller, SaveAt, Tableau
from rfloc.numerics.integrator._controller import step_factor
from rfloc.numerics.integrator._ode import check_cov
from rfloc.numerics.trajectory import Trajectory

__all__ = ["PopulationFlow", "ising_population_gradient", "solve_flow"]

#: first smoothing width, in units of the preactivation's standard deviation
SIGMA0 = 0.05
#: the staircase period exceeds sum |w| by this many first widths
MARGIN = 8.0
#: sigma u_K at the last frequency kept (e^{-KAPPA^2 / 2} < 1e-16)
KAPPA = 8.6
#: Richardson columns used (eliminating sigma^2, sigma^4, sigma^6)
COLUMNS = 3
#: the most frequencies one level may take before the tolerance is declared out of reach
MAX_FREQUENCIES = 1 << 26


def ising_population_gradient(w: Any, J: float, *, tol: float = 1e-6,
                              return_error: bool = False) -> Any:
    r""":math:`E[x\,\Theta(w\cdot x)]` under the periodic Ising ring with coupling ``J``.

    .. math:: G_i = E[x_i\,\Theta(w\cdot x)], \qquad
              P(x) \propto \exp\Big(J\sum_{i=0}^{N-1} x_i x_{i+1}\Big),\ x_N \equiv x_0,
              \ x_i = \pm1,

    with :math:`\Theta(0) = 0`, computed through the transfer matrix and the Gaussian-
    smoothed, Richardson-extrapolated inversion of the characteristic function of
    :math:`w\cdot x` (module docstring). Each row is refined until its estimated error is
    at most ``tol`` in every component.

    Parameters
    ----------
    w : array_like, shape (N,) or (M, N)
        Receptive field(s), finite, ``N >= 2``.
    J : float
        Coupling, finite and ``>= 0``.
    tol : float
        Target absolute error of every component, ``> 0`` (default 1e-6).
    return_error : bool
        Also return the error estimates.

    Returns
    -------
    G : ndarray, shape of ``w``
        :math:`E[x\,\Theta(w\cdot x)]` (0 for a row ``w = 0``).
    error : ndarray, shape (M,) or ()
        With ``return_error``: each row's error bound or estimate (max over components;
        module docstring).

    Raises
    ------
    ParameterError
        Invalid ``w``, ``J`` or ``tol``.
    IntegrationError
        ``tol`` needs more than ``MAX_FREQUENCIES`` frequencies (a tolerance below what the
        atoms of a small ring allow in reasonable time).
    """
    arr = np.array(w, dtype=np.float64, ndmin=1)
    if arr.ndim not in (1, 2) or arr.shape[-1] < 2 or not np.all(np.isfinite(arr)):
        raise ParameterError(f"w must be a finite array of shape (N,) or (M, N) with N >= 2, "
                             f"got shape {arr.shape}")
    tol = check_positive("tol", tol)
    rows = np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]))
    cov = ising_covariance(rows.shape[1], J)                     # checks J
    out, err = _gradient(rows, cov, math.tanh(float(J)), tol)
    out, err = out.reshape(arr.shape), err.reshape(arr.shape[:-1])
    return (out, err) if return_error else out


def _gradient(w: np.ndarray, cov: np.ndarray, t: float, tol: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``w`` (M, N) refined level by level until their estimates reach ``tol``."""
    m_rows = w.shape[0]
    linear = w @ cov                                             # (Sigma w)_i = E[s_i h]
    scale = np.sqrt(np.maximum(np.sum(w * linear, axis=1), 0.0))
    out = np.zeros_like(w)
    err = np.zeros(m_rows)
    active = np.flatnonzero(scale > 0)
    sigma0 = SIGMA0 * scale
    du = 2.0 * math.pi / np.maximum(np.abs(w).sum(axis=1) + MARGIN * sigma0, 1e-300)
    tables: dict[int, list[list[np.ndarray]]] = {int(r): [] for r in active}
    changes: dict[int, list[float]] = {int(r): [] for r in active}
    level = 0
    while active.size:
        sigma = sigma0[active] * 2.0**-level
        count = np.ceil(KAPPA / (sigma * du[active])).astype(np.int64) + 1
        if count.max() > MAX_FREQUENCIES:
            raise IntegrationError(
                f"ising_population_gradient: tol = {tol:g} not reached with "
                f"{MAX_FREQUENCIES} frequencies (error estimate {err[active].max():.3g}); "
                "raise tol")
        sums, even = _sine_sums(w[active], t, du[active], sigma, count)
        bounds = sigma * du[active] * (1.0 + 2.0 * even) / (2.0 * math.sqrt(2.0 * math.pi))
        still = []
        for row, total, bound in zip(active, sums, bounds, strict=True):
            value = (0.5 * du[row] * linear[row] + total) / math.pi
            table, seen = tables[int(row)], changes[int(row)]
            table.append(_richardson(table, value))
            if level:
                seen.append(float(np.max(np.abs(table[-1][-1] - table[-2][-1]))))
            err[row] = _tail(seen)
            if bound <= tol:
                out[row], err[row] = value, bound
            elif level >= 2 and err[row] <= tol:
                out[row] = table[-1][-1]
            else:
                still.append(row)
        active = np.array(still, dtype=np.int64)
        level += 1
    return out, err


def _tail(changes: list[float]) -> float:
    """Error left after the last of ``changes`` shrinking geometrically (inf: too few)."""
    if len(changes) < 2:
        return math.inf
    last = changes[-3:]
    ratios = [b / a if a > 0 else 0.0 for a, b in itertools.pairwise(last)]
    r = min(0.9, max(ratios))
    return changes[-1] * max(1.0, r / (1.0 - r))


def _richardson(table: list[list[np.ndarray]], value: np.ndarray) -> list[np.ndarray]:
    """The next row of Richardson's table for errors in powers of sigma^2 (ratio 2)."""
    row = [value]
    prev = table[-1] if table else []
    for j in range(1, min(len(prev), COLUMNS) + 1):
        factor = 4.0**j - 1.0
        row.append(row[j - 1] + (row[j - 1] - prev[j - 1]) / factor)
    return row


def _sine_sums(w: np.ndarray, t: float, du: np.ndarray, sigma: np.ndarray,
               count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's sums over ``k = 1 .. count - 1`` for each row: sine sums (M, N) and
    sums of the characteristic function (M,)."""
    total, even = np.empty_like(w), np.empty(w.shape[0])
    sine_sums(w, t, du, sigma, count, total, even)
    return total, even


class PopulationFlow:
    r""":math:`f(w) = 2p\,G(w) - \bar\Sigma w` for a population term
    :math:`G(w) = E_1[x\,\Theta(w\cdot x)]`.

    Parameters
    ----------
    cov1, cov0 : array_like, shape (N, N)
        Class covariances (label 1, label 0), finite and symmetric (checked as by
        :class:`~rfloc.numerics.integrator.EffectiveODE`).
    gradient : callable
        :math:`G`: ``(M, N) -> (M, N)``.
    p : float
        Class-1 proportion, in (0, 1).
    label : str
        What ``gradient`` is, for the trajectory's ``params``.
    """

    def __init__(self, cov1: Any, cov0: Any, gradient: Callable[[np.ndarray], np.ndarray],
                 p: float = 0.5, *, label: str = "custom") -> None:
        self.n = int(np.shape(cov1)[0]) if np.ndim(cov1) else 0
        self.cov1 = check_cov("cov1", cov1, self.n, "its row count")
        self.cov0 = check_cov("cov0", cov0, self.n, "cov1")
        self.p = check_open_unit("p", p)
        self.covbar = self.p * self.cov1 + (1.0 - self.p) * self.cov0
        self.gradient = gradient
        self.label = label

    @classmethod
    def ising(cls, n: int, J1: float, J0: float, p: float = 0.5, *,
              tol: float = 1e-5) -> PopulationFlow:
        """The exact flow on periodic Ising rings (couplings ``J1`` for label 1, ``J0``),
        its population term to ``tol`` per component."""
        tol = check_positive("tol", tol)
        return cls(ising_covariance(n, J1), ising_covariance(n, J0),
                   lambda w: ising_population_gradient(w, J1, tol=tol), p,
                   label=f"ising J1={J1:g} tol={tol:g}")

    def rhs(self, w: np.ndarray) -> np.ndarray:
        """:math:`2p\\,G(w) - \\bar\\Sigma w` for ``w`` (M, N)."""
        return 2.0 * self.p * self.gradient(w) - w @ self.covbar


def solve_flow(flow: PopulationFlow, solver: Tableau | str, w0: Any, t_end: float,
               dt: float, *, saveat: SaveAt | None = None,
               controller: Controller | ConstantStep | None = None,
               max_steps: int = 1_000_000) -> Trajectory:
    r"""Integrate ``flow`` from ``w0`` to ``t_end`` with an explicit Runge–Kutta tableau.

    Parameters
    ----------
    flow : PopulationFlow
        What to solve.
    solver : Tableau or {"euler", "rk4", "dopri5"}
        How to step. ``"euler"`` with ``dt = lr`` is population gradient descent, the
        expectation of the SGD step (docs/integrator.md).
    w0 : array_like, shape (N,) or (M, N)
        Initial field(s); a batch shares one step size (the worst row's error decides).
    t_end, dt : float
        End time and (first) step, both ``> 0``; fixed steps shorten the last one.
    saveat : SaveAt, optional
        When to save (default ``t = 0`` and ``t_end``).
    controller : Controller or ConstantStep, optional
        Default: :class:`Controller` for tableaux with an error estimate, else constant.
    max_steps : int
        Most (attempted) steps.

    Returns
    -------
    Trajectory
        ``t`` (T,), ``w`` (T, N) or (T, M, N); ``stats``: ``steps``, ``rejected``,
        ``rhs_evals``, ``wall_time``.

    Raises
    ------
    IntegrationError
        A non-finite state, or ``max_steps`` exceeded.
    """
    start = time.perf_counter()
    tableau = TABLEAUX.get(solver) if isinstance(solver, str) else solver
    if not isinstance(tableau, Tableau):
        raise ParameterError(f"solver must be one of {tuple(TABLEAUX)} or a Tableau, "
                             f"got {solver!r}")
    arr = np.array(w0, dtype=np.float64, ndmin=1)
    if arr.shape[-1] != flow.n or arr.ndim > 2 or not np.all(np.isfinite(arr)):
        raise ParameterError(f"w0 must be finite, shape (N,) or (M, N) with N = {flow.n}, "
                             f"got shape {arr.shape}")
    t_end, dt = check_positive("t_end", t_end), check_positive("dt", dt)
    saveat = saveat or SaveAt()
    if controller is None:
        controller = Controller() if tableau.adaptive else ConstantStep()
    plan = saveat.plan(t_end, dt, fixed=isinstance(controller, ConstantStep),
                       max_steps=max_steps)
    w = arr.reshape(-1, flow.n).copy()
    stepper = _Stepper(flow, tableau)
    if isinstance(controller, Controller):
        saves, steps, rejected = _adaptive(stepper, w, dt, plan.times, controller, tableau,
                                           max_steps)
    else:                                       # a fixed plan has the step of every save
        saves = _fixed(stepper, w, dt, plan.n_steps, plan.h_last, np.asarray(plan.steps))
        steps, rejected = plan.n_steps, 0
    out = np.array(saves)
    return Trajectory(
        t=np.asarray(plan.times, dtype=np.float64), w=out if arr.ndim == 2 else out[:, 0],
        stats={"steps": steps, "rejected": rejected, "rhs_evals": stepper.evals,
               "wall_time": time.perf_counter() - start},
        params={"method": tableau.name, "dt": dt, "t_end": t_end, "p": flow.p, "N": flow.n,
                "M": w.shape[0], "flow": flow.label})


class _Stepper:
    """One Runge–Kutta step of a tableau on the batched right-hand side."""

    def __init__(self, flow: PopulationFlow, tableau: Tableau) -> None:
        self.flow, self.tab, self.evals = flow, tableau, 0

    def f(self, w: np.ndarray) -> np.ndarray:
        self.evals += 1
        return self.flow.rhs(w)

    def step(self, w: np.ndarray, h: float, k0: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """``(w_new, err, stages)``; ``k0`` is a known first stage (FSAL)."""
        a, b, e = self.tab.a, self.tab.b, self.tab.e
        ks: list[np.ndarray] = []
        for s in range(len(b)):
            if s == 0 and k0 is not None:
                ks.append(k0)
                continue
            ks.append(self.f(w + h * sum(a[s, j] * ks[j] for j in range(s) if a[s, j])))
        w_new = w + h * sum(b[s] * ks[s] for s in range(len(b)) if b[s])
        err = h * sum(e[s] * ks[s] for s in range(len(b)) if e[s]) if self.tab.adaptive \
            else np.zeros_like(w)
        if not np.all(np.isfinite(w_new)):
            raise IntegrationError(f"exact flow diverged (non-finite state) with step {h:g}")
        return w_new, err, ks


def _fixed(stepper: _Stepper, w: np.ndarray, dt: float, n_steps: int, h_last: float,
           save_steps: np.ndarray) -> list[np.ndarray]:
    saves = [w.copy()] if save_steps[0] == 0 else []
    wanted = set(save_steps.tolist())
    for k in range(1, n_steps + 1):
        w = stepper.step(w, h_last if k == n_steps else dt)[0]
        if k in wanted:
            saves.append(w.copy())
    return saves


def _adaptive(stepper: _Stepper, w: np.ndarray, dt: float, times: np.ndarray,
              controller: Controller, tableau: Tableau, max_steps: int
              ) -> tuple[list[np.ndarray], int, int]:
    control = controller.kernel_args(tableau)
    saves = [w.copy()] if times[0] == 0 else []
    t, h, steps, rejected, k0 = 0.0, dt, 0, 0, None
    for target in times[1:] if times[0] == 0 else times:
        while t < target * (1 - 1e-14):
            if steps + rejected >= max_steps:
                raise IntegrationError(f"exact flow: max_steps = {max_steps} reached at "
                                       f"t = {t:.6g}")
            hh = min(h, target - t)
            w_new, err, ks = stepper.step(w, hh, k0)
            scale = control.atol + control.rtol * np.maximum(np.abs(w), np.abs(w_new))
            norm = float(np.max(np.sqrt(np.mean((err / scale) ** 2, axis=-1))))
            if norm <= 1.0:
                t, w, steps = (target if hh == target - t else t + hh), w_new, steps + 1
                k0 = ks[-1] if tableau.fsal else None
                h = hh * step_factor(norm, control, control.max_factor) if hh == h else h
            else:
                rejected += 1
                h = hh * step_factor(norm, control, 1.0)
                if h < 1e-14 * max(t, 1.0) or not math.isfinite(h):
                    raise IntegrationError(f"exact flow: step size underflow at t = {t:.6g}")
        saves.append(w.copy())
    return saves, steps, rejected
