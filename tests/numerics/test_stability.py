"""Fixed steps beyond the method's stability bound are refused, not returned as 'ok'."""

from __future__ import annotations

import numpy as np
import pytest

from rfloc.errors import IntegrationError
from rfloc.numerics import integrate_effective
from rfloc.numerics.amplifier_table import AmplifierTable
from rfloc.numerics.covariance import ising_covariance
from rfloc.numerics.integrator._solvers import TABLEAUX


def test_stability_bounds_of_the_tableaux():
    assert TABLEAUX["euler"].stability_bound == pytest.approx(2.0, abs=1e-12)
    # RK4: the real root of 1 - x + x^2/2 - x^3/6 + x^4/24 = 1 other than 0
    roots = np.roots([1 / 24, -1 / 6, 1 / 2, -1])
    real = float(max(r.real for r in roots if abs(r.imag) < 1e-12))
    assert TABLEAUX["rk4"].stability_bound == pytest.approx(real, abs=1e-10)


def _setup():
    c1, c0 = ising_covariance(20, 0.7), ising_covariance(20, 0.3)
    rate = float(np.linalg.eigvalsh(0.5 * (c1 + c0))[-1])
    w0 = np.random.default_rng(0).standard_normal(20)
    return c1, c0, rate, w0


def test_unstable_steps_are_reported_as_divergence_with_step_and_time():
    """The issue's input: Euler with dt = 10 on the Ising task gave status 'ok', |w| ~ 1e12."""
    c1, c0, _, w0 = _setup()
    table = AmplifierTable.binary()
    for method, dt in (("euler", 10.0), ("rk4", 5.0)):
        traj = integrate_effective(w0, c1, c0, table, t_end=100.0, dt=dt, method=method,
                                   save_every=1, on_failure="return")
        assert traj.status == "diverged"
        assert "stability bound" in traj.message and "step" in traj.message
        with pytest.raises(IntegrationError, match="stability bound"):
            integrate_effective(w0, c1, c0, table, t_end=100.0, dt=dt, method=method)


def test_steps_beyond_the_bound_that_settle_are_not_flagged():
    """Beyond the linear bound the amplifier term can still hold w (here it does): the check
    flags growth, not the step size."""
    c1, c0, rate, w0 = _setup()
    h = 1.01 * TABLEAUX["euler"].stability_bound / rate
    traj = integrate_effective(w0, c1, c0, AmplifierTable.binary(), t_end=3000 * h, dt=h,
                               method="euler", save_every=100)
    assert traj.status == "ok" and np.all(np.isfinite(traj.final))
    ref = _numpy_euler(c1, c0, w0, h, 3000)
    assert np.allclose(traj.final, ref, atol=1e-8)


def _numpy_euler(c1, c0, w0, h, steps):
    covbar, w = 0.5 * (c1 + c0), w0.copy()
    for _ in range(steps):
        s = c1 @ w
        w = w + h * (0.5 * AmplifierTable.binary()(s / np.sqrt(w @ s)) - covbar @ w)
    return w
