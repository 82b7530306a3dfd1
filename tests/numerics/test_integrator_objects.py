"""The integrator's objects: Status, SaveAt, Controller, EffectiveODE, products, solve.

Numerical truth is in test_integrate.py; here each object's validation, its messages, and
that the pieces compose (one right-hand side for theory and SciPy, a user tableau, constant
steps for an adaptive pair, products objects handed in directly).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import rfloc.numerics.integrator._ode as ode_module
import rfloc.theory.dynamics as dynamics_module
from rfloc.errors import IntegrationError, ParameterError, TrainingError
from rfloc.numerics import TwoClass, train_sgd
from rfloc.numerics.amplifier_table import AmplifierTable
from rfloc.numerics.integrate import integrate_effective
from rfloc.numerics.integrator import (
    DOPRI5,
    EULER,
    RK4,
    ConstantStep,
    Controller,
    EffectiveODE,
    MarkovProducts,
    SaveAt,
    Tableau,
    effective_rhs,
    solve,
)
from rfloc.numerics.status import Status
from rfloc.theory import Binary, effective_dynamics
from rfloc.theory.covariance import ising_covariance

N = 40
COV1 = ising_covariance(N, 0.7)
COV0 = ising_covariance(N, 0.3)
BINARY = AmplifierTable.binary()


def inits(m: int, seed: int, scale: float = 0.05) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(m, N)) * scale


# ---------------------------------------------------------------- Status
def test_status_codes_labels_and_messages():
    assert [int(s) for s in Status] == [0, 1, 2, 3, 4]
    assert [s.label for s in Status] == ["ok", "diverged", "collapsed", "max_steps",
                                        "diverged"]
    assert Status.DIVERGED.describe() == "w became non-finite (NaN/overflow)"
    assert Status.DIVERGED.describe(what="a parameter", hint="; lower lr") == \
        "a parameter became non-finite (NaN/overflow); lower lr"
    assert Status.COLLAPSED.describe(collapse_tol=1e-3) == \
        "norm collapse, ||w||_Sigma1 = sqrt(w^T cov1 w) <= collapse_tol = 0.001"
    assert Status.MAX_STEPS.describe(max_steps=7) == "max_steps = 7 steps taken before the end"
    assert "underflowed" in Status.UNDERFLOW.describe()


def test_integrator_and_sgd_report_through_the_same_enum():
    traj = integrate_effective(inits(2, 1), COV1, COV0, BINARY, 100.0, 0.05, method="dopri5",
                               max_steps=3, on_failure="return")
    assert traj.status == Status.MAX_STEPS.label
    assert Status.MAX_STEPS.describe(max_steps=3) in traj.message
    task = TwoClass.ising()
    w0 = np.random.default_rng(0).normal(size=N) * 10.0
    with pytest.raises(TrainingError) as info:
        train_sgd(w0, task, lr=1e3, steps=10_000, batch_size=50, seed=1)
    sgd = info.value.trajectory
    assert sgd.status == Status.DIVERGED.label
    assert Status.DIVERGED.describe(what="a parameter after the update") in sgd.message


# ---------------------------------------------------------------- SaveAt
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"every": 2, "times": [0.0, 1.0]}, "at most one of save_every and save_at"),
    ({"every": 0}, "save_every must be an integer >= 1"),
    ({"every": 1.5}, "save_every must be an integer >= 1"),
    ({"times": [0.5, 0.2]}, "strictly increasing"),
    ({"times": [-0.1, 0.2]}, "strictly increasing"),
    ({"times": [0.0, np.nan]}, "finite"),
    ({"times": []}, "non-empty"),
    ({"times": "soon"}, "array of times"),
])
def test_saveat_validation(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        SaveAt(**kwargs)


def test_saveat_plans():
    every = SaveAt(every=3).plan(1.0, 0.1, fixed=True, max_steps=100)
    np.testing.assert_allclose(every.times, [0.0, 0.3, 0.6, 0.9, 1.0])
    np.testing.assert_array_equal(every.steps, [0, 3, 6, 9, 10])
    ragged = SaveAt().plan(1.03, 0.1, fixed=True, max_steps=100)
    assert ragged.n_steps == 11 and ragged.h_last == pytest.approx(0.03)
    adaptive = SaveAt(times=[0.0, 0.25, 0.7]).plan(1.0, 0.1, fixed=False, max_steps=100)
    assert adaptive.steps is None and adaptive.times[-1] == 0.7
    with pytest.raises(ParameterError, match="step grid"):
        SaveAt(times=[0.25]).plan(1.0, 0.1, fixed=True, max_steps=100)
    with pytest.raises(ParameterError, match="within"):
        SaveAt(times=[0.5, 2.0]).plan(1.0, 0.1, fixed=False, max_steps=100)
    with pytest.raises(ParameterError, match="exceeds max_steps"):
        SaveAt().plan(1.0, 0.1, fixed=True, max_steps=5)


# ---------------------------------------------------------------- Controller
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"rtol": 0.0}, r"rtol must be finite and in \(0, inf\)"),
    ({"atol": -1.0}, r"atol must be finite and in \[0, inf\)"),
    ({"safety": 1.5}, r"safety must be in \(0, 1\]"),
    ({"min_factor": 2.0}, "min_factor <= 1 <= max_factor"),
    ({"max_factor": 0.5}, "min_factor <= 1 <= max_factor"),
])
def test_controller_validation(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        Controller(**kwargs)


def test_controller_needs_an_error_estimate():
    ctrl = Controller(rtol=1e-6, atol=1e-9)
    assert ctrl.exponent(DOPRI5) == pytest.approx(0.2)
    assert ctrl.kernel_args(DOPRI5).rtol == 1e-6
    with pytest.raises(ParameterError, match="error estimate"):
        ctrl.kernel_args(RK4)
    ode = EffectiveODE(COV1, COV0, BINARY)
    with pytest.raises(ParameterError, match="use ConstantStep"):
        solve(ode, EULER, inits(1, 2)[0], 1.0, 0.1, controller=Controller())


# ---------------------------------------------------------------- one right-hand side
def test_one_rhs_for_theory_ode_and_scipy(monkeypatch):
    """EffectiveDynamics.rhs, EffectiveODE.rhs and the SciPy reference all call the same
    function; its value is p phi(a) - covbar w."""
    assert dynamics_module.effective_rhs is effective_rhs is ode_module.effective_rhs
    w = inits(3, 3)
    dyn = effective_dynamics(Binary())
    ode = EffectiveODE(COV1, COV0, BINARY)
    covbar = 0.5 * (COV1 + COV0)
    s1 = w @ COV1
    direct = 0.5 * BINARY(s1 / np.sqrt(np.sum(w * s1, axis=1, keepdims=True))) - w @ covbar
    np.testing.assert_allclose(ode.rhs(w), direct, rtol=0, atol=1e-15)
    np.testing.assert_allclose(dyn.rhs(w, COV1, COV0), direct, rtol=0, atol=1e-12)
    calls = []

    def counted(*args):
        calls.append(args[0].shape)
        return effective_rhs(*args)

    monkeypatch.setattr(ode_module, "effective_rhs", counted)
    monkeypatch.setattr(dynamics_module, "effective_rhs", counted)
    solve(ode, "scipy-RK45", w, 0.5, 0.1)
    scipy_calls = len(calls)
    assert scipy_calls > 5 and calls[0] == (3, N)
    dyn.rhs(w, COV1, COV0)
    assert len(calls) == scipy_calls + 1


# ---------------------------------------------------------------- EffectiveODE and solve
def test_effective_ode_checks_and_caches():
    with pytest.raises(ParameterError, match="square"):
        EffectiveODE(np.ones((3, 4)), np.ones((3, 4)), BINARY)
    with pytest.raises(ParameterError, match=r"cov0 must have shape \(40, 40\) to match cov1"):
        EffectiveODE(COV1, COV0[:-1, :-1], BINARY)
    with pytest.raises(ParameterError, match="amplifier must be"):
        EffectiveODE(COV1, COV0, np.tanh)
    with pytest.raises(ParameterError, match=r"p must be in \(0, 1\)"):
        EffectiveODE(COV1, COV0, BINARY, p=0.0)
    ode = EffectiveODE(COV1, COV0, BINARY, p=0.3)
    assert ode.products() is ode.products("auto")
    assert isinstance(ode.products(), MarkovProducts)
    assert set(ode.digests) == {"cov1", "cov0", "amplifier"}
    with pytest.raises(ParameterError, match=r"w0 must have N = 40"):
        solve(ode, RK4, np.ones(7), 1.0, 0.1)


def test_solve_matches_integrate_effective_and_takes_products_objects():
    w0 = inits(5, 4)
    ode = EffectiveODE(COV1, COV0, BINARY, p=0.4)
    via_solve = solve(ode, RK4, w0, 2.0, 0.05, saveat=SaveAt(every=10),
                      products=ode.products("markov"))
    via_wrapper = integrate_effective(w0, COV1, COV0, BINARY, 2.0, 0.05, method="rk4", p=0.4,
                                      save_every=10, products="markov")
    np.testing.assert_array_equal(via_solve.w, via_wrapper.w)
    assert via_solve.params["products"] == "markov" and via_solve.params["method"] == "rk4"
    assert via_solve.params["rtol"] is None  # constant steps: no tolerances


def test_adaptive_pair_with_constant_steps_and_a_user_tableau():
    """DOPRI5 with ConstantStep takes exactly t_end/dt steps (none rejected) and agrees
    with RK4 to O(dt^4); a user-built tableau (Heun, order 2) converges at order 2."""
    w0 = inits(1, 5, scale=0.3)[0]
    ode = EffectiveODE(COV1, COV0, BINARY)
    fine = solve(ode, DOPRI5, w0, 1.0, 0.01, controller=Controller(rtol=1e-12, atol=1e-14))
    fixed = solve(ode, DOPRI5, w0, 1.0, 0.05, controller=ConstantStep())
    assert fixed.stats["steps"] == 20 and fixed.stats["rejected"] == 0
    np.testing.assert_allclose(fixed.final, fine.final, atol=1e-8)
    heun = Tableau("heun", 2, np.array([[0.0, 0.0], [1.0, 0.0]]), np.array([0.5, 0.5]),
                   np.zeros(2))
    dts = np.array([0.1, 0.05, 0.025])
    errors = [np.max(np.abs(solve(ode, heun, w0, 1.0, dt).final - fine.final)) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert slope == pytest.approx(2.0, abs=0.2)


def test_fft_products_share_the_adaptive_step():
    """FFT products put the batch in one block: one step size for all rows."""
    w0 = inits(3, 6)
    traj = integrate_effective(w0, COV1, COV0, BINARY, 2.0, 0.05, method="dopri5",
                               products="fft")
    assert len(set(traj.stats["steps"])) == 1
    dense = integrate_effective(w0, COV1, COV0, BINARY, 2.0, 0.05, method="dopri5",
                                products="dense")
    assert len(set(dense.stats["steps"])) > 1  # each row its own step size


def test_options_are_checked_by_name():
    with pytest.raises(ParameterError, match=r"unknown option\(s\) \['rtoll'\]"):
        integrate_effective(inits(1, 7)[0], COV1, COV0, BINARY, 1.0, 0.1, rtoll=1e-6)
    with pytest.raises(ParameterError, match="on_failure must be"):
        solve(EffectiveODE(COV1, COV0, BINARY), RK4, inits(1, 7)[0], 1.0, 0.1,
              on_failure="warn")
    with pytest.raises(ParameterError, match="method must be one of"):
        solve(EffectiveODE(COV1, COV0, BINARY), "heun", inits(1, 7)[0], 1.0, 0.1)


def test_failures_raise_with_the_status_message():
    w0 = np.ones(N)
    ode = EffectiveODE(COV1, COV0, AmplifierTable.linear(0.0), collapse_tol=1e-3)
    with pytest.raises(IntegrationError, match=r"collapsed at step \d+, t = [\d.]+: norm "):
        solve(ode, EULER, w0, 100.0, 0.05)
    assert math.isfinite(solve(ode, EULER, w0, 1.0, 0.05).final[0])
