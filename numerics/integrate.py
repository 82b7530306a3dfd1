r"""``integrate_effective``: the effective dynamics in one call (docs/integrator.md).

A convenience over :func:`rfloc.numerics.integrator.solve` taking the covariances, amplifier
and options as plain arguments:

.. math::

    \frac{dw}{dt} = p\,\varphi\!\left(\frac{\Sigma_1 w}{\|w\|_{\Sigma_1}}\right) - \bar\Sigma w,
    \qquad \bar\Sigma = p\,\Sigma_1 + (1-p)\,\Sigma_0 .
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rfloc.errors import ParameterError
from rfloc.numerics.integrator import (
    METHODS,
    PRODUCTS,
    TABLEAUX,
    ConstantStep,
    Controller,
    EffectiveODE,
    SaveAt,
    solve,
)
from rfloc.numerics.trajectory import Trajectory

__all__ = ["METHODS", "OPTIONS", "PRODUCTS", "integrate_effective"]

OPTIONS: dict[str, Any] = {
    "save_every": None, "save_at": None, "rtol": 1e-8, "atol": 1e-10,
    "max_steps": 10_000_000, "on_failure": "raise", "collapse_tol": 1e-12,
    "products": "auto", "amplifier_tol": 1e-13,
}
"""The keyword options of :func:`integrate_effective` and their defaults."""


def integrate_effective(w0: Any, cov1: Any, cov0: Any, amplifier: Any, t_end: float,
                        dt: float, method: str = "rk4", p: float = 0.5,
                        **options: Any) -> Trajectory:
    r"""Integrate :math:`\dot w = p\,\varphi(\Sigma_1 w/\|w\|_{\Sigma_1}) - \bar\Sigma w`.

    Parameters
    ----------
    w0 : array_like, shape (N,) or (M, N)
        One initial receptive field, or M of them integrated independently (in parallel).
    cov1, cov0 : array_like, shape (N, N)
        Symmetric positive semi-definite pixel covariances of class 1 and class 0.
    amplifier : AmplifierTable or object with a ``.table`` AmplifierTable
        The localization amplifier :math:`\varphi`, e.g. ``rfloc.theory.amplifier(marginal)``.
    t_end : float
        Gradient-flow time to integrate to, ``t_end > 0`` (for SGD, ``lr * steps``).
    dt : float
        Step of ``"euler"``/``"rk4"`` (the last one shortened to land on ``t_end``), first
        trial step of ``"dopri5"``, ``dt > 0``. ``"euler"`` with ``dt = lr`` is the SGD step
        in expectation: ODE step k is SGD step k.
    method : {"euler", "rk4", "dopri5", "scipy-RK45"}
        ``"dopri5"`` is adaptive (``rtol``/``atol``); ``"scipy-RK45"`` is
        :func:`scipy.integrate.solve_ivp`, a reference.
    p : float
        Class-1 proportion, in (0, 1).
    **options
        ``save_every`` (int) or ``save_at`` (times): :class:`~rfloc.numerics.integrator.SaveAt`;
        ``rtol``, ``atol``: :class:`~rfloc.numerics.integrator.Controller` (adaptive methods);
        ``collapse_tol``, ``amplifier_tol``:
        :class:`~rfloc.numerics.integrator.EffectiveODE`; ``products``, ``max_steps``,
        ``on_failure``: :func:`~rfloc.numerics.integrator.solve`. Defaults in
        :data:`OPTIONS`.

    Returns
    -------
    Trajectory
        As :func:`~rfloc.numerics.integrator.solve`.

    Raises
    ------
    ParameterError
        Invalid input or an unknown option (the message names it).
    IntegrationError
        Divergence, collapse or ``max_steps``, with ``on_failure="raise"``.
    """
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise ParameterError(f"integrate_effective got unknown option(s) {unknown}; the "
                             f"options are {sorted(OPTIONS)}")
    opt = {**OPTIONS, **options}
    if method not in METHODS:
        raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
    shape = np.shape(w0)
    for name, cov in (("cov1", cov1), ("cov0", cov0)):
        n = shape[-1] if len(shape) in (1, 2) else None  # else solve() names w0's fault
        if n is not None and np.shape(cov) != (n, n):
            raise ParameterError(f"{name} must have shape ({n}, {n}) to match w0 (N = {n}), "
                                 f"got shape {np.shape(cov)}")
    ode = EffectiveODE(cov1, cov0, amplifier, p, collapse_tol=opt["collapse_tol"],
                       amplifier_tol=opt["amplifier_tol"])
    controller = Controller(rtol=opt["rtol"], atol=opt["atol"])
    fixed = method in TABLEAUX and not TABLEAUX[method].adaptive
    return solve(ode, method, w0, t_end, dt,
                 saveat=SaveAt(every=opt["save_every"], times=opt["save_at"]),
                 controller=ConstantStep() if fixed else controller, products=opt["products"],
                 max_steps=opt["max_steps"], on_failure=opt["on_failure"])
