r"""The two drivers: fixed steps and adaptive steps, for every tableau and every products kind.

A batch of M receptive fields (M, N) is cut into blocks (the products object decides how,
:mod:`rfloc.numerics.integrator._products`); blocks run in parallel on Numba threads
(``prange``), and inside a block every step advances all its rows at once:

- :func:`integrate_fixed` — ``n_steps`` steps of ``dt`` (the last one ``h_last``); with
  Markov products blocks of 8 or more rows are kept transposed (:func:`~rfloc.numerics.
  integrator._kernels.step_cols`);
- :func:`integrate_adaptive` — one step size per block, controlled by the block's worst
  scaled error, steps shortened to land on the save times. Blocks of one row give every
  field its own step size; FFT products put the batch in one block.

A row that fails (:class:`~rfloc.numerics.status.Status`) drops out of its block's
decisions; its later saves are NaN, the others continue. Results go to an :class:`Outcome`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NamedTuple

import numba
import numpy as np

from rfloc.numerics._jit import kernel, parallel
from rfloc.numerics.integrator._controller import ControlArgs, step_factor
from rfloc.numerics.integrator._kernels import (
    COLLAPSED,
    DIVERGED,
    MARKOV,
    OK,
    AmpArgs,
    ProductArgs,
    RhsArgs,
    TableauArgs,
    cols_work,
    error_norms,
    rk_step,
    rows_work,
    step_cols,
)
from rfloc.numerics.status import Status

MIN_COLS = 8
"""Fixed steps with Markov products run transposed from this many rows per block; smaller
blocks step row by row, which is faster for them."""

_MAX_STEPS, _UNDERFLOW = int(Status.MAX_STEPS), int(Status.UNDERFLOW)


class FixedPlan(NamedTuple):
    """``n_steps`` steps of ``dt``, the last of ``h_last``; saves after ``save_steps`` (T,)
    steps."""

    dt: float
    n_steps: int
    h_last: float
    save_steps: np.ndarray


class AdaptivePlan(NamedTuple):
    """First trial step ``dt0``, save times ``save_t`` (T,) (increasing, the last the end of
    the run), at most ``max_steps`` attempted steps per block, the controller's numbers."""

    dt0: float
    save_t: np.ndarray
    max_steps: int
    control: ControlArgs


class Outcome(NamedTuple):
    """What a driver writes, per field m: saves ``out`` (T, M, N) (NaN after a failure),
    ``status``, ``fail_step`` (the step at which it was detected), ``fail_time``, accepted
    ``steps`` and ``rejected`` steps."""

    out: np.ndarray
    status: np.ndarray
    fail_step: np.ndarray
    fail_time: np.ndarray
    steps: np.ndarray
    rejected: np.ndarray

    @classmethod
    def empty(cls, saves: int, rows: int, n: int) -> Outcome:
        """Arrays for ``saves`` saves of ``rows`` fields of ``n`` pixels, all OK."""
        return cls(np.empty((saves, rows, n)), np.zeros(rows, dtype=np.int64),
                   np.full(rows, -1, dtype=np.int64), np.full(rows, np.nan),
                   np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=np.int64))


def run(w0: np.ndarray, rhs: RhsArgs, tab: TableauArgs, plan: FixedPlan | AdaptivePlan,
        out: Outcome, blocks: tuple[int, int], threads: int) -> None:
    """Run the driver of ``plan``'s kind on ``w0`` (M, N) with ``blocks = (rows per block,
    Numba threads to use)``, ``threads`` the Numba threads available.

    The blocks run in a ``prange`` loop, whose arguments Numba passes as plain, flat tuples
    (not named or nested ones); the loop body rebuilds the named tuples. Arrays inside that
    loop are borrowed, without reference counting, which the per-stage kernels rely on for
    speed.
    """
    block, workers = blocks
    amp, prods = tuple(rhs.amp), tuple(rhs.products)
    with _threads(workers, threads):
        if isinstance(plan, FixedPlan):
            _fixed(w0, rhs.p, rhs.collapse2, amp, prods, tuple(tab), tuple(plan), tuple(out),
                   block)
        else:
            _adaptive(w0, rhs.p, rhs.collapse2, amp, prods, tuple(tab), tuple(plan[:3]),
                      tuple(plan.control), tuple(out), block)


@contextlib.contextmanager
def _threads(workers: int, before: int) -> Iterator[None]:
    """Use at most ``workers`` of the ``before`` Numba threads: idle threads would still have
    to join."""
    if workers >= before:
        yield
        return
    numba.set_num_threads(max(1, workers))
    try:
        yield
    finally:
        numba.set_num_threads(before)


@parallel
def _fixed(w0, p, collapse2, amp, prods, tab, plan, out, block):
    """:func:`integrate_fixed` on every block of ``block`` rows, in parallel."""
    total = w0.shape[0]
    for blk in numba.prange((total + block - 1) // block):
        lo = blk * block
        rhs = RhsArgs(p, collapse2, AmpArgs(*amp), ProductArgs(*prods))
        integrate_fixed(w0, lo, min(block, total - lo), rhs, TableauArgs(*tab),
                        FixedPlan(*plan), Outcome(*out))


@parallel
def _adaptive(w0, p, collapse2, amp, prods, tab, plan, control, out, block):
    """:func:`integrate_adaptive` on every block of ``block`` rows, in parallel."""
    total = w0.shape[0]
    for blk in numba.prange((total + block - 1) // block):
        lo = blk * block
        rhs = RhsArgs(p, collapse2, AmpArgs(*amp), ProductArgs(*prods))
        integrate_adaptive(w0, lo, min(block, total - lo), rhs, TableauArgs(*tab),
                           AdaptivePlan(*plan, ControlArgs(*control)), Outcome(*out))


@kernel
def _save(dest, lo, w, alive, cols):
    """``dest[lo + r] = `` row (or, ``cols``, column) ``r`` of ``w``; NaN where not alive."""
    for r in range(alive.shape[0]):
        if not alive[r]:
            dest[lo + r] = np.nan
        elif cols:
            for i in range(w.shape[0]):
                dest[lo + r, i] = w[i, r]
        else:
            dest[lo + r] = w[r]


@kernel
def _fail(out, m, code, step, time):
    """Record that field ``m`` ended with ``code`` at ``step``, ``time``."""
    out.status[m] = code
    out.fail_step[m] = step
    out.fail_time[m] = time


@kernel
def integrate_fixed(w0, lo, rows, rhs, tab, plan, out):
    """Fixed steps of the ``rows`` rows of ``w0`` (M, N) from ``lo`` on, as one block
    (module docstring). ``fail_step`` is the index of the state at which a failure was
    detected (the new state for a divergence)."""
    n = w0.shape[1]
    stages = tab.b.shape[0]
    saves = plan.save_steps.shape[0]
    n_steps = plan.n_steps
    cols = rhs.products.kind == MARKOV and rows >= MIN_COLS
    if cols:
        w = np.ascontiguousarray(w0[lo:lo + rows].T)
    else:
        w = w0[lo:lo + rows].copy()
    w_new = np.empty_like(w)
    work = rows_work(stages, 0 if cols else rows, n)
    work_cols = cols_work(stages, n, rows if cols else 0)
    code = np.zeros(rows, dtype=np.int64)
    alive = np.ones(rows, dtype=np.bool_)
    j = 0
    for k in range(n_steps + 1):
        while j < saves and plan.save_steps[j] == k:
            _save(out.out[j], lo, w, alive, cols)
            j += 1
        if k == n_steps or not alive.any():
            break
        h = plan.dt if k < n_steps - 1 else plan.h_last
        if cols:
            step_cols(w, h, tab, rhs, work_cols, w_new, code)
        else:
            rk_step(w, h, tab, False, rhs, work, w_new, code)
        for r in range(rows):
            if alive[r] and code[r] != OK:
                at = k + 1 if code[r] == DIVERGED else k
                alive[r] = False
                t = at * plan.dt if at < n_steps else (n_steps - 1) * plan.dt + plan.h_last
                _fail(out, lo + r, code[r], at, t)
        w, w_new = w_new, w
    for jj in range(j, saves):
        out.out[jj, lo:lo + rows] = np.nan
    for r in range(rows):
        done = n_steps
        if not alive[r]:
            done = out.fail_step[lo + r] - (1 if out.status[lo + r] == DIVERGED else 0)
        out.steps[lo + r] = done


@kernel
def integrate_adaptive(w0, lo, rows, rhs, tab, plan, out):
    """Adaptive steps of the ``rows`` rows of ``w0`` (M, N) from ``lo`` on, as one block
    with one step size (module docstring). ``fail_step`` counts the accepted steps."""
    n = w0.shape[1]
    stages = tab.b.shape[0]
    save_t = plan.save_t
    saves = save_t.shape[0]
    control = plan.control
    w = w0[lo:lo + rows].copy()
    w_new = np.empty_like(w)
    work = rows_work(stages, rows, n)
    ks = work.ks
    code = np.zeros(rows, dtype=np.int64)
    eps = np.empty(rows)
    alive = np.ones(rows, dtype=np.bool_)
    t = 0.0
    h = plan.dt0
    j = 0
    while j < saves and save_t[j] == 0.0:
        _save(out.out[j], lo, w, alive, False)
        j += 1
    k0_valid = False
    accepted = 0
    failed = 0
    while j < saves and alive.any():
        if accepted + failed >= plan.max_steps:
            for r in range(rows):
                if alive[r]:
                    _fail(out, lo + r, _MAX_STEPS, accepted, t)
            alive[:] = False
            break
        target = save_t[j]
        lands = h >= target - t
        hs = target - t if lands else h
        rk_step(w, hs, tab, k0_valid, rhs, work, w_new, code)
        k0_valid = True  # f(w) stays valid until w moves
        collapsed = False
        for r in range(rows):
            if alive[r] and code[r] == COLLAPSED:
                _fail(out, lo + r, COLLAPSED, accepted, t)
                alive[r] = False
                collapsed = True
        if collapsed:
            continue
        error_norms(work.err, w, w_new, control.rtol, control.atol, code, eps)
        worst = 0.0
        for r in range(rows):
            if alive[r]:
                worst = max(worst, eps[r])
        if worst <= 1.0:
            accepted += 1
            t = target if lands else t + hs
            w, w_new = w_new, w
            if tab.fsal:
                ks[0] = ks[stages - 1]
            else:
                k0_valid = False
            grown = hs * step_factor(worst, control, control.max_factor)
            h = max(h, grown) if lands else grown
            for r in range(rows):
                if alive[r]:
                    out.steps[lo + r] = accepted
            if lands:
                _save(out.out[j], lo, w, alive, False)
                j += 1
            continue
        failed += 1
        for r in range(rows):
            if alive[r]:
                out.rejected[lo + r] += 1
        h = hs * step_factor(worst, control, 1.0)
        if h <= 1e-14 * max(1.0, t):
            for r in range(rows):
                if alive[r] and eps[r] > 1.0:
                    _fail(out, lo + r, _UNDERFLOW, accepted, t)
                    alive[r] = False
            h = plan.dt0
    for jj in range(j, saves):
        out.out[jj, lo:lo + rows] = np.nan
