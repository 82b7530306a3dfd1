r"""The pixel-law interface and the quadrature every law shares.

A pixel law is a symmetric, zero-mean, unit-variance law of one input pixel, seen
numerically: the monotone Gaussian transform :math:`f = Q \circ \Phi` with
:math:`f(Z) \sim X` for :math:`Z \sim N(0, 1)`, expectations :math:`E[h(X)]` by adaptive
quadrature, sampling, and a few float facts (:math:`E|X|`, the largest finite moment order,
the excess kurtosis).
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
from scipy import integrate, special

from rfloc.random import SeedLike, as_generator

__all__ = ["QUAD", "ByParams", "PixelLaw", "erfc_tail", "symmetric_quad"]

#: tolerances of every adaptive quadrature over a pixel law (~1e-13 absolute)
QUAD: dict[str, Any] = {"epsabs": 1e-14, "epsrel": 1e-13, "limit": 400}

ArrayFunc = Callable[[np.ndarray], np.ndarray]


def erfc_tail(z: np.ndarray) -> np.ndarray:
    r""":math:`1 - |2\Phi(z) - 1| = \mathrm{erfc}(|z|/\sqrt2)` without cancellation."""
    return special.erfc(np.abs(z) / math.sqrt(2.0))


def _at(func: ArrayFunc, x: float) -> float:
    return float(func(np.array([x]))[0])


def symmetric_quad(func: ArrayFunc, weight: Callable[[float], float],
                   edges: tuple[float, ...] = (0.0, 1.0, math.inf)) -> float:
    r""":math:`\int_0^\infty (h(x) + h(-x))\,w(x)\,dx` by adaptive quadrature.

    ``weight`` is the density :math:`w` of a symmetric law at :math:`x \ge 0`; the
    integral is split at ``edges`` (increasing, starting at 0).
    """
    def f(x: float) -> float:
        return (_at(func, x) + _at(func, -x)) * weight(x)
    return sum(integrate.quad(f, lo, hi, **QUAD)[0] for lo, hi in itertools.pairwise(edges))


class ByParams:
    """Value semantics from ``params``: equal when of the same type with equal
    ``params``; ``repr`` is ``Type(name=value, ...)``. Shared by the numeric laws and the
    symbolic marginals of ``rfloc.theory``."""

    @property
    def params(self) -> dict[str, Any]:
        """The parameters that define the object (each subclass provides them)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.params == other.params  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.params.items()))))


class PixelLaw(ByParams, ABC):
    r"""A symmetric pixel law with unit variance, numeric face only.

    Subclasses implement :meth:`gaussian_transform` and, where a shortcut exists,
    :meth:`expect`, :meth:`max_moment` and :meth:`excess_kurtosis`.

    Attributes
    ----------
    name : str
        Short name (the key of :data:`rfloc.numerics.laws.REGISTRY` for the built-in laws).
    params : dict[str, float]
        The parameters that define the law; ``type(law)(**law.params)`` rebuilds it.
    """

    name: str = "law"

    @property
    def params(self) -> dict[str, Any]:
        """The parameters that define this law."""
        return {}

    @abstractmethod
    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        r"""Monotone map :math:`f = Q \circ \Phi` with :math:`f(Z) \sim X`, vectorised.

        Parameters
        ----------
        z : array_like, any shape
            Standard normal values.

        Returns
        -------
        ndarray, float64, same shape as ``z``
        """

    def expect(self, func: ArrayFunc) -> float:
        r""":math:`E[h(X)] = \int h(f(z))\,\phi(z)\,dz` by adaptive quadrature (~1e-13).

        ``func`` (:math:`h`) must accept and return NumPy arrays.
        """
        def integrand(z: float) -> float:
            return _at(func, float(self.gaussian_transform(np.array([z]))[0])) * math.exp(
                -0.5 * z * z) / math.sqrt(2 * math.pi)
        return sum(integrate.quad(integrand, lo, hi, **QUAD)[0]
                   for lo, hi in ((-math.inf, -1.0), (-1.0, 0.0), (0.0, 1.0), (1.0, math.inf)))

    def sample(self, size: int | tuple[int, ...], rng: SeedLike = None) -> np.ndarray:
        """I.i.d. draws :math:`f(Z)`, float64 array of shape ``size``."""
        return self.gaussian_transform(as_generator(rng).standard_normal(size))

    def max_moment(self) -> float:
        r"""Largest order :math:`n` with :math:`E|X|^n < \infty` (``inf`` if all exist)."""
        return math.inf

    @cached_property
    def _abs_mean(self) -> float:
        return self.expect(np.abs)

    def abs_mean(self) -> float:
        r""":math:`E|X|`, the limit :math:`\varphi(a \to 1)` of the amplifier."""
        return self._abs_mean

    def excess_kurtosis(self) -> float:
        r""":math:`\kappa = E[X^4] - 3` (``inf`` when the fourth moment does not exist)."""
        if self.max_moment() <= 4:
            return math.inf
        return self.expect(lambda x: x**4) - 3.0

