"""Numerical layer: data samplers, the effective-ODE integrator, SGD training, metrics.

NumPy, SciPy and Numba only: importing it loads no SymPy (a test checks ``sys.modules``).
Pixel laws (:mod:`.laws`) and the analytic covariances (:mod:`.covariance`) live here;
theory objects enter through their numeric faces (``Marginal.law``, ``Amplifier.table``).
"""

from rfloc.numerics import covariance, data, laws, metrics
from rfloc.numerics.data import (
    NLGP,
    NORTA,
    Elliptical,
    GaussianProcess,
    Ising,
    TwoClass,
    gaussian_clone,
)
from rfloc.numerics.integrate import integrate_effective
from rfloc.numerics.integrator import ConstantStep, Controller, EffectiveODE, SaveAt, solve
from rfloc.numerics.ising_population import ising_population_gradient
from rfloc.numerics.status import Status
from rfloc.numerics.train import train_sgd, train_sgd_seeds, xavier_init
from rfloc.numerics.trajectory import Trajectory
from rfloc.numerics.two_output import train_two_output

__all__ = [
    "NLGP",
    "NORTA",
    "ConstantStep",
    "Controller",
    "EffectiveODE",
    "Elliptical",
    "GaussianProcess",
    "Ising",
    "SaveAt",
    "Status",
    "Trajectory",
    "TwoClass",
    "covariance",
    "data",
    "gaussian_clone",
    "integrate_effective",
    "ising_population_gradient",
    "laws",
    "metrics",
    "solve",
    "train_sgd",
    "train_sgd_seeds",
    "train_two_output",
    "xavier_init",
]
