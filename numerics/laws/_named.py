r"""The built-in pixel laws, numeric face (their symbolic twins live in rfloc.theory).

Each is standardised to unit variance; ``gaussian_transform`` is :math:`Q \circ \Phi`
written to stay accurate in the tails (through :func:`erfc_tail`, never
:math:`1 - \Phi`). See ``docs/theory.md`` §1 for the laws and their moments.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import special

from rfloc.errors import ParameterError, check_positive
from rfloc.numerics.laws._base import ArrayFunc, PixelLaw, erfc_tail, symmetric_quad

__all__ = ["Algebraic", "Binary", "ErfGaussian", "Gaussian", "Laplace", "StudentT", "Uniform"]

_SQRT2 = math.sqrt(2.0)
_SQRT3 = math.sqrt(3.0)


def _above_two(name: str, value: float) -> float:
    """``value`` as a float if it is finite and > 2 (a finite variance needs it)."""
    v = check_positive(name, value)
    if v <= 2:
        raise ParameterError(f"{name} must be > 2 (finite variance), got {value!r}")
    return v


class Gaussian(PixelLaw):
    r"""Standard normal :math:`N(0, 1)`: :math:`f(z) = z`, :math:`\kappa = 0`."""

    name = "gaussian"

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64).copy()

    def abs_mean(self) -> float:
        return math.sqrt(2.0 / math.pi)

    def excess_kurtosis(self) -> float:
        return 0.0


class Binary(PixelLaw):
    r"""Symmetric :math:`\pm 1` pixels: :math:`f(z) = \mathrm{sign}(z)`, :math:`\kappa = -2`."""

    name = "binary"

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(z) >= 0, 1.0, -1.0)

    def expect(self, func: ArrayFunc) -> float:
        v = func(np.array([-1.0, 1.0]))
        return 0.5 * float(v[0] + v[1])

    def excess_kurtosis(self) -> float:
        return -2.0


class Uniform(PixelLaw):
    r"""Uniform on :math:`[-\sqrt3, \sqrt3]`: :math:`f(z) = \sqrt3\,\mathrm{erf}(z/\sqrt2)`,
    :math:`\kappa = -6/5`."""

    name = "uniform"

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        return _SQRT3 * special.erf(np.asarray(z, dtype=np.float64) / _SQRT2)

    def expect(self, func: ArrayFunc) -> float:
        return symmetric_quad(func, lambda x: 0.5 / _SQRT3, (0.0, _SQRT3))

    def excess_kurtosis(self) -> float:
        return -1.2


class Laplace(PixelLaw):
    r"""Laplace with scale :math:`1/\sqrt2`: density :math:`e^{-\sqrt2|x|}/\sqrt2`,
    :math:`f(z) = -\mathrm{sign}(z)\log(\mathrm{erfc}(|z|/\sqrt2))/\sqrt2`, :math:`\kappa = 3`."""

    name = "laplace"

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        return -np.sign(z) * np.log(erfc_tail(z)) / _SQRT2

    def expect(self, func: ArrayFunc) -> float:
        return symmetric_quad(func, lambda x: math.exp(-_SQRT2 * x) / _SQRT2, (0.0, math.inf))

    def excess_kurtosis(self) -> float:
        return 3.0


class StudentT(PixelLaw):
    r"""Student-t with :math:`\nu > 2` degrees of freedom, scaled by
    :math:`s = \sqrt{(\nu-2)/\nu}` to unit variance.

    :math:`f(z) = \mathrm{sign}(z)\, s\, t_\nu^{-1}(1 - \tfrac12\mathrm{erfc}(|z|/\sqrt2))`
    (SciPy's ``stdtrit``); moments of order :math:`\ge \nu` do not exist;
    :math:`\kappa = 6/(\nu - 4)` for :math:`\nu > 4`.
    """

    name = "student-t"

    def __init__(self, nu: float) -> None:
        self.nu = nu = _above_two("nu", nu)
        self._scale = math.sqrt((nu - 2.0) / nu)

    @property
    def params(self) -> dict[str, Any]:
        return {"nu": self.nu}

    def max_moment(self) -> float:
        return self.nu

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        return -np.sign(z) * special.stdtrit(self.nu, 0.5 * erfc_tail(z)) * self._scale

    def expect(self, func: ArrayFunc) -> float:
        nu, s = self.nu, self._scale
        logc = (math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
                - math.log(s))
        return symmetric_quad(
            func, lambda x: math.exp(logc - 0.5 * (nu + 1) * math.log1p((x / s) ** 2 / nu)))

    def excess_kurtosis(self) -> float:
        return 6.0 / (self.nu - 4.0) if self.nu > 4 else math.inf


class ErfGaussian(PixelLaw):
    r"""The NLGP(g) pixel :math:`X = \mathrm{erf}(gZ)/Z(g)`, :math:`Z \sim N(0, 1)`.

    :math:`Z(g)^2 = E[\mathrm{erf}(gZ)^2] = \tfrac2\pi \arcsin\tfrac{2g^2}{1+2g^2}`
    (:attr:`z_norm`); :math:`E|X| = \tfrac2\pi \arctan(\sqrt2 g)/Z(g)`. The gain multiplies
    :math:`z` directly (IG22's ``erf(g z / sqrt 2)`` is this family at :math:`g/\sqrt2`).
    """

    name = "erf-gaussian"

    def __init__(self, g: float) -> None:
        self.g = check_positive("g", g)
        #: :math:`Z(g)`
        self.z_norm = math.sqrt(2.0 / math.pi * math.asin(2 * self.g**2 / (1 + 2 * self.g**2)))

    @property
    def params(self) -> dict[str, Any]:
        return {"g": self.g}

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        return special.erf(self.g * np.asarray(z, dtype=np.float64)) / self.z_norm

    def expect(self, func: ArrayFunc) -> float:
        # integrate in z: the pixel is a boundary layer of width 1/g around z = 0
        g, c = self.g, self.z_norm
        knots = sorted({0.0, min(1.0 / g, 8.0), min(4.0 / g, 9.0), 10.0})
        return symmetric_quad(lambda t: func(special.erf(g * t) / c),
                              lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi),
                              (*knots, math.inf))

    def abs_mean(self) -> float:
        return 2.0 / math.pi * math.atan(_SQRT2 * self.g) / self.z_norm


class Algebraic(PixelLaw):
    r"""The Kur(k) law: quantile :math:`Q_k(u) = (2u-1)/(1-|2u-1|^k)^{1/k}`, standardised.

    Unstandardised density :math:`\tfrac12 (1+|y|^k)^{-1-1/k}`, tails :math:`|y|^{-k-1}`:
    moments of order :math:`n < k` exist, :math:`E|Y|^n = \tfrac1k B(\tfrac{n+1}k,
    1-\tfrac nk)`; the variance :math:`\sigma^2 = E[Y^2]` needs :math:`k > 2`.
    """

    name = "algebraic"

    def __init__(self, k: float) -> None:
        self.k = k = _above_two("k", k)
        self._sigma = math.sqrt(special.beta(3.0 / k, 1.0 - 2.0 / k) / k)

    @property
    def params(self) -> dict[str, Any]:
        return {"k": self.k}

    def max_moment(self) -> float:
        return self.k

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        tail = erfc_tail(z)                     # 1 - |v|, v = 2 Phi(z) - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            one_minus_vk = -np.expm1(self.k * np.log1p(-tail))   # 1 - |v|^k
            q = np.sign(z) * (1.0 - tail) / one_minus_vk ** (1.0 / self.k)
        return np.where(z == 0, 0.0, q) / self._sigma

    def expect(self, func: ArrayFunc) -> float:
        k, s = self.k, self._sigma
        return symmetric_quad(func, lambda x: 0.5 * (1 + (x * s) ** k) ** (-1 - 1 / k) * s)
