"""When to save: :class:`SaveAt`, and the save times and step plan it gives for one run."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rfloc.errors import ParameterError, check_int

__all__ = ["SaveAt"]


@dataclass(frozen=True, eq=False)
class SaveAt:
    """Which states a run saves (``t = 0`` and ``t_end`` when neither is given).

    Parameters
    ----------
    every : int, optional
        Save every ``every`` nominal steps, i.e. at times ``j * every * dt``, and at
        ``t_end`` (``integrate_effective``'s ``save_every``).
    times : array_like, shape (T,), optional
        Strictly increasing save times in ``[0, t_end]``; the run stops at the last one
        (``integrate_effective``'s ``save_at``). Fixed steps need them on the step grid
        ``k * dt`` (or equal to ``t_end``); adaptive steps are shortened to land on them.
    """

    every: int | None = None
    times: Any = None

    def __post_init__(self) -> None:
        if self.every is not None and self.times is not None:
            raise ParameterError("give at most one of save_every and save_at (SaveAt(every=) "
                                 "or SaveAt(times=))")
        if self.every is not None:
            object.__setattr__(self, "every", check_int("save_every", self.every, minimum=1))
        if self.times is not None:
            object.__setattr__(self, "times", _check_times(self.times))

    def plan(self, t_end: float, dt: float, *, fixed: bool, max_steps: int) -> SavePlan:
        """Save times for a run to ``t_end`` with (first) step ``dt``; with ``fixed`` also
        the step of every save and the step count (at most ``max_steps``)."""
        return SavePlan(self, t_end, dt, fixed, max_steps)


class SavePlan:
    """Save ``times`` (T,) and, for fixed steps, ``steps`` (T,) (the step index of each
    save), ``n_steps`` and ``h_last`` (the size of the last step, ``dt`` unless
    shortened to land on ``t_end``)."""

    def __init__(self, save: SaveAt, t_end: float, dt: float, fixed: bool,
                 max_steps: int) -> None:
        ratio = t_end / dt
        if round(ratio) >= 1 and abs(ratio - round(ratio)) <= 1e-9 * ratio:
            n_total, self.h_last = round(ratio), dt
        else:
            n_total = math.ceil(ratio)
            self.h_last = t_end - (n_total - 1) * dt
        if save.times is not None:
            times = save.times
            if times[-1] > t_end * (1 + 1e-12):
                raise ParameterError(
                    f"save_at must be strictly increasing within [0, t_end = {t_end:g}]")
            steps = _on_grid(times, dt, t_end, n_total) if fixed else None
            if steps is not None:
                times = np.where(steps == n_total, t_end, steps * dt)
        elif save.every is None:  # the start and the end
            times, steps = np.array([0.0, t_end]), np.array([0, n_total]) if fixed else None
        else:
            stride = save.every
            if n_total // stride > max_steps:
                raise ParameterError(
                    f"save_every = {save.every} gives {n_total // stride} saves, more than "
                    f"max_steps = {max_steps}; raise save_every (or max_steps)")
            steps = np.unique(np.append(np.arange(0, n_total, stride), n_total))
            times = np.minimum(steps * dt, t_end)
            times[-1] = t_end
            if not fixed:
                steps = None
        self.times: np.ndarray = times
        self.steps: np.ndarray | None = steps
        self.n_steps = 0 if steps is None else int(steps[-1])
        if self.n_steps != n_total:
            self.h_last = dt
        if self.n_steps > max_steps:
            raise ParameterError(
                f"t_end/dt = {ratio:.6g} steps exceeds max_steps = {max_steps}; raise max_steps "
                "or dt")


def _check_times(save_at: Any) -> np.ndarray:
    try:
        times = np.array(save_at, dtype=np.float64, ndmin=1)
    except (TypeError, ValueError):
        raise ParameterError(f"save_at must be an array of times, got {save_at!r}") from None
    if times.ndim != 1 or times.size == 0 or not np.all(np.isfinite(times)):
        raise ParameterError("save_at must be a non-empty 1-D array of finite times")
    if times[0] < 0 or np.any(np.diff(times) <= 0):
        raise ParameterError("save_at must be strictly increasing within [0, t_end]")
    times.setflags(write=False)
    return times


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
