r"""The effective-ODE integrator, as separate objects handed to one call.

- what to solve: :class:`EffectiveODE` (covariances, ``p``, amplifier; checked and hashed
  once) and its NumPy right-hand side :func:`effective_rhs`;
- how to step: a :class:`Tableau` (:data:`EULER`, :data:`RK4`, :data:`DOPRI5`) or
  ``"scipy-RK45"``;
- how big a step: :class:`ConstantStep` or the adaptive :class:`Controller`;
- when to save: :class:`SaveAt`;
- how the covariances multiply: :class:`DenseProducts`, :class:`MarkovProducts`,
  :class:`FFTProducts` (or a name, see :data:`PRODUCTS`);

and :func:`solve` runs them through one fixed-step or one adaptive driver into a
:class:`~rfloc.numerics.trajectory.Trajectory`. See docs/integrator.md.

Example
-------
>>> from rfloc.numerics.integrator import DOPRI5, Controller, EffectiveODE, SaveAt, solve
>>> ode = EffectiveODE(cov1, cov0, amplifier, p=0.5)                      # doctest: +SKIP
>>> traj = solve(ode, DOPRI5, w0, 100.0, 0.05, saveat=SaveAt(every=10),
...              controller=Controller(rtol=1e-9, atol=1e-12))             # doctest: +SKIP
"""

from rfloc.numerics.integrator._controller import ConstantStep, Controller
from rfloc.numerics.integrator._ode import EffectiveODE, effective_rhs
from rfloc.numerics.integrator._products import (
    FFT_MIN_N,
    PRODUCTS,
    DenseProducts,
    FFTProducts,
    MarkovProducts,
    Products,
)
from rfloc.numerics.integrator._saveat import SaveAt
from rfloc.numerics.integrator._solve import METHODS, solve
from rfloc.numerics.integrator._solvers import DOPRI5, EULER, RK4, TABLEAUX, Tableau

__all__ = [
    "DOPRI5",
    "EULER",
    "FFT_MIN_N",
    "METHODS",
    "PRODUCTS",
    "RK4",
    "TABLEAUX",
    "ConstantStep",
    "Controller",
    "DenseProducts",
    "EffectiveODE",
    "FFTProducts",
    "MarkovProducts",
    "Products",
    "SaveAt",
    "Tableau",
    "effective_rhs",
    "solve",
]
