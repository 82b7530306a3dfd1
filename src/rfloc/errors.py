"""Exception hierarchy shared by every layer of rfloc."""

from __future__ import annotations

from typing import TYPE_CHECKING, SupportsIndex

if TYPE_CHECKING:
    from rfloc.numerics.trajectory import Trajectory


class RflocError(Exception):
    """Base class of every error rfloc raises on purpose."""


class ParameterError(RflocError, ValueError):
    """A parameter is outside its allowed range; the message names it and the range."""


class MomentError(ParameterError):
    """A requested moment (or a series coefficient needing it) does not exist."""


class IntegrationError(RflocError, RuntimeError):
    """The effective dynamics diverged (NaN/overflow) or collapsed (w -> 0)."""


class TrainingError(RflocError, RuntimeError):
    """Simulated training diverged (NaN/inf in weights or loss)."""

    #: the run up to the failure (set by ``rfloc.numerics.train_sgd`` before raising)
    trajectory: Trajectory


def check_positive(name: str, value: float, *, strict: bool = True) -> float:
    """Return ``float(value)`` if it is finite and positive, else raise ParameterError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a real number, got {value!r}") from None
    ok = v > 0 if strict else v >= 0
    if not (ok and v < float("inf")):
        rng = "(0, inf)" if strict else "[0, inf)"
        raise ParameterError(f"{name} must be finite and in {rng}, got {value!r}")
    return v


def check_open_unit(name: str, value: float) -> float:
    """Return ``float(value)`` if it lies in the open interval (0, 1), else raise."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a real number, got {value!r}") from None
    if not 0.0 < v < 1.0:
        raise ParameterError(f"{name} must be in (0, 1), got {value!r}")
    return v


def check_int(name: str, value: float | SupportsIndex, *, minimum: int) -> int:
    """Return ``int(value)`` if it is an integer >= ``minimum``, else raise ParameterError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if isinstance(value, bool) or not v.is_integer() or v < minimum:
        raise ParameterError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(v)
