"""Symbolic theory layer: pixel marginals, the localization amplifier, the effective ODE.

Each marginal carries its numeric face as ``.law`` (:mod:`rfloc.numerics.laws`);
:func:`as_marginal` maps a numeric law (e.g. a data model's ``marginal``) back, and
:func:`amplifier` / :func:`effective_dynamics` accept either.

>>> from rfloc.theory import Binary, amplifier
>>> amplifier(Binary()).expr
erf(a/sqrt(2 - 2*a**2))
"""

from rfloc.numerics.amplifier_table import AmplifierTable
from rfloc.theory import covariance
from rfloc.theory._amplifier import A_SYMBOL, Amplifier, amplifier
from rfloc.theory.dynamics import EffectiveDynamics, effective_dynamics
from rfloc.theory.marginals import (
    Algebraic,
    Binary,
    ErfGaussian,
    Gaussian,
    Laplace,
    Marginal,
    StudentT,
    Uniform,
    as_marginal,
    by_name,
)

__all__ = [
    "A_SYMBOL",
    "Algebraic",
    "Amplifier",
    "AmplifierTable",
    "Binary",
    "EffectiveDynamics",
    "ErfGaussian",
    "Gaussian",
    "Laplace",
    "Marginal",
    "StudentT",
    "Uniform",
    "amplifier",
    "as_marginal",
    "by_name",
    "covariance",
    "effective_dynamics",
]
