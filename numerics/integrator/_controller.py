r"""Step-size control (how big a step): constant steps, or the integral controller.

After a trial step of size :math:`h` with error estimate ``err`` (from the tableau's
embedded pair) the scaled error norm is

.. math:: \epsilon = \sqrt{\tfrac1N \sum_i \Big(\frac{\mathrm{err}_i}
          {\mathrm{atol} + \mathrm{rtol}\max(|w_i|, |w^{\rm new}_i|)}\Big)^2},

as in SciPy; the step is accepted iff :math:`\epsilon \le 1`, and the next one is
:math:`h \cdot \min(f_{\max}, \max(f_{\min}, \text{safety}\cdot\epsilon^{-1/(q+1)}))`,
:math:`q` the embedded order (after a rejection :math:`f_{\max} = 1`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from rfloc.errors import ParameterError, check_positive
from rfloc.numerics._jit import kernel
from rfloc.numerics.integrator._solvers import Tableau

__all__ = ["ConstantStep", "Controller"]


@dataclass(frozen=True)
class ConstantStep:
    """Steps of the given ``dt``; the last one is shortened to land on ``t_end``."""


class ControlArgs(NamedTuple):
    """:class:`Controller` as the adaptive driver reads it."""

    rtol: float
    atol: float
    exponent: float
    safety: float
    min_factor: float
    max_factor: float


@dataclass(frozen=True)
class Controller:
    """Integral step-size controller for tableaux with an error estimate (module docstring).

    Parameters
    ----------
    rtol, atol : float
        Relative and absolute tolerance, ``rtol > 0``, ``atol >= 0``.
    safety : float
        Safety factor in (0, 1].
    min_factor, max_factor : float
        Bounds on the ratio of successive steps, ``0 < min_factor <= 1 <= max_factor``.
    """

    rtol: float = 1e-8
    atol: float = 1e-10
    safety: float = 0.9
    min_factor: float = 0.2
    max_factor: float = 10.0

    def __post_init__(self) -> None:
        for name, strict in (("rtol", True), ("atol", False), ("safety", True),
                             ("min_factor", True), ("max_factor", True)):
            object.__setattr__(self, name, check_positive(name, getattr(self, name),
                                                          strict=strict))
        if self.safety > 1.0:
            raise ParameterError(f"safety must be in (0, 1], got {self.safety!r}")
        if not self.min_factor <= 1.0 <= self.max_factor:
            raise ParameterError(
                f"need min_factor <= 1 <= max_factor, got {self.min_factor!r} and "
                f"{self.max_factor!r}")

    def exponent(self, tableau: Tableau) -> float:
        """The exponent :math:`1/(q+1)` for ``tableau``'s embedded order :math:`q`."""
        return 1.0 / (tableau.error_order + 1)

    def kernel_args(self, tableau: Tableau) -> ControlArgs:
        """The numbers the adaptive driver reads for ``tableau``."""
        if not tableau.adaptive:
            raise ParameterError(
                f"an adaptive Controller needs a tableau with an error estimate (e.g. "
                f"'dopri5'), got {tableau.name!r}; use ConstantStep()")
        return ControlArgs(self.rtol, self.atol, self.exponent(tableau), self.safety,
                           self.min_factor, self.max_factor)


@kernel
def step_factor(err_norm: float, control: ControlArgs, max_factor: float) -> float:
    """Ratio of the next to the current step after scaled error ``err_norm``, at most
    ``max_factor`` (``control.max_factor`` after an accepted step, 1 after a rejected one;
    ``control.min_factor`` for a non-finite error)."""
    if err_norm == 0.0:
        return max_factor
    if not err_norm < math.inf:
        return control.min_factor
    return min(max_factor, max(control.min_factor,
                               control.safety * err_norm ** -control.exponent))
