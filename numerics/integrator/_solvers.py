r"""Solvers as data: explicit Runge–Kutta tableaux (how to step).

A tableau advances :math:`w' = f(w)` (autonomous, so the nodes :math:`c` are not needed) by

.. math:: k_s = f\Big(w + h \sum_{j<s} a_{sj} k_j\Big), \qquad
          w_{\rm new} = w + h \sum_s b_s k_s, \qquad
          \mathrm{err} = h \sum_s e_s k_s ,

with ``e = b - b_hat`` the difference to an embedded lower-order solution (all zeros for a
fixed-step method). The shared step kernels of :mod:`rfloc.numerics.integrator._kernels`
read nothing but these arrays (:meth:`Tableau.kernel_args`). How big the next step is belongs
to the controller (:mod:`rfloc.numerics.integrator._controller`), not to the tableau.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction as F
from functools import cached_property

import numpy as np

from rfloc.numerics.integrator._kernels import TableauArgs


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge–Kutta method.

    Attributes
    ----------
    name : str
        Public method name.
    order : int
        Order of the propagated solution ``b``.
    a : ndarray, shape (S, S)
        Strictly lower-triangular stage coefficients.
    b : ndarray, shape (S,)
        Weights of the propagated solution.
    e : ndarray, shape (S,)
        Error weights ``b - b_hat``; zeros for a fixed-step method.
    error_order : int
        Order of the embedded solution ``b_hat`` (0 for a fixed-step method).
    fsal : bool
        First-same-as-last: the last stage is evaluated at ``w_new``.
    """

    name: str
    order: int
    a: np.ndarray
    b: np.ndarray
    e: np.ndarray
    error_order: int = 0
    fsal: bool = False

    @property
    def adaptive(self) -> bool:
        """True when the tableau carries an error estimate."""
        return self.error_order > 0

    def kernel_args(self) -> TableauArgs:
        """The arrays the Numba step kernels read."""
        return TableauArgs(self.a, self.b, self.e, self.fsal)

    def stability(self, z: float) -> float:
        r"""Stability function :math:`R(z) = 1 + z\,b^\top (I - zA)^{-1}\mathbf 1` at real
        :math:`z`: one step of :math:`\dot y = \lambda y` multiplies :math:`y` by
        :math:`R(h\lambda)`."""
        s = self.b.size
        stages = np.linalg.solve(np.eye(s) - z * self.a, np.ones(s))
        return float(1.0 + z * self.b @ stages)

    @cached_property
    def stability_bound(self) -> float:
        r"""Largest :math:`x` with :math:`|R(-y)| \le 1` for all :math:`0 \le y \le x`:
        fixed steps of a linear decay at rate :math:`\lambda` stay bounded iff
        :math:`h\lambda \le x` (2 for Euler, 2.7853 for RK4)."""
        grid = np.arange(1, 20_001) * 1e-3                 # y in (0, 20]
        bad = np.flatnonzero([abs(self.stability(-y)) > 1.0 + 1e-12 for y in grid])
        if bad.size == 0:
            return float(grid[-1])
        lo, hi = (0.0 if bad[0] == 0 else grid[bad[0] - 1]), grid[bad[0]]
        for _ in range(50):                                # bisect to the crossing
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if abs(self.stability(-mid)) <= 1.0 else (lo, mid)
        return lo


def _tableau(name: str, order: int, a: list[list[F]], b: list[F],
             b_hat: list[F] | None = None, *, error_order: int = 0,
             fsal: bool = False) -> Tableau:
    s = len(b)
    am = np.zeros((s, s))
    for i, row in enumerate(a):
        am[i + 1, : len(row)] = [float(x) for x in row]
    e = [F(0)] * s if b_hat is None else [bi - bh for bi, bh in zip(b, b_hat, strict=True)]
    return Tableau(name, order, am, np.array([float(x) for x in b]),
                   np.array([float(x) for x in e]), error_order, fsal)


EULER = _tableau("euler", 1, [], [F(1)])

RK4 = _tableau("rk4", 4, [[F(1, 2)], [F(0), F(1, 2)], [F(0), F(0), F(1)]],
               [F(1, 6), F(1, 3), F(1, 3), F(1, 6)])

# Dormand & Prince (1980), RK5(4)7FM: 5th-order solution propagated, 4th-order embedded.
DOPRI5 = _tableau(
    "dopri5", 5,
    [[F(1, 5)],
     [F(3, 40), F(9, 40)],
     [F(44, 45), F(-56, 15), F(32, 9)],
     [F(19372, 6561), F(-25360, 2187), F(64448, 6561), F(-212, 729)],
     [F(9017, 3168), F(-355, 33), F(46732, 5247), F(49, 176), F(-5103, 18656)],
     [F(35, 384), F(0), F(500, 1113), F(125, 192), F(-2187, 6784), F(11, 84)]],
    [F(35, 384), F(0), F(500, 1113), F(125, 192), F(-2187, 6784), F(11, 84), F(0)],
    [F(5179, 57600), F(0), F(7571, 16695), F(393, 640), F(-92097, 339200),
     F(187, 2100), F(1, 40)],
    error_order=4, fsal=True)

TABLEAUX: dict[str, Tableau] = {t.name: t for t in (EULER, RK4, DOPRI5)}
