r"""The built-in pixel laws, numeric face (their symbolic twins live in rfloc.theory).

Each is standardised to unit variance; ``gaussian_transform`` is :math:`Q \circ \Phi`
written to stay accurate in the tails (through :func:`erfc_tail`, never
:math:`1 - \Phi`). See ``docs/theory.md`` §1 for the laws and their moments.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import integrate, special

from rfloc.errors import ParameterError, check_positive
from rfloc.numerics.laws._base import QUAD, ArrayFunc, PixelLaw, erfc_tail, symmetric_quad

__all__ = ["Algebraic", "Binary", "ErfGaussian", "Gaussian", "Laplace", "StudentT", "Uniform"]

_SQRT2 = math.sqrt(2.0)
_SQRT3 = math.sqrt(3.0)


def _above_two(name: str, value: float) -> float:
    """``value`` as a float if it is finite and > 2 (a finite variance needs it)."""
    v = check_positive(name, value)
    if v <= 2:
        raise ParameterError(f"{name} must be > 2 (finite variance), got {value!r}")
    return v


def _log_gamma_ratio(x: float) -> float:
    r""":math:`\log\Gamma(x + \tfrac12) - \log\Gamma(x)`; above :math:`x = 10^3` by its
    expansion :math:`\tfrac12\log x - \tfrac1{8x} + \tfrac1{192x^3} + O(x^{-5})`, since
    the difference of two ``lgamma`` values of size :math:`x\log x` cancels."""
    if x > 1e3:
        return 0.5 * math.log(x) - 1 / (8 * x) + 1 / (192 * x * x * x)
    return math.lgamma(x + 0.5) - math.lgamma(x)


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
        #: log of the density's constant c_nu
        self._log_c = _log_gamma_ratio(nu / 2) - 0.5 * (math.log(nu) + math.log(math.pi))
        self._log_a = self._log_c + 0.5 * (nu - 1) * math.log(nu)
        self._b = nu * nu * (nu + 1) / (2 * (nu + 2))

    @property
    def params(self) -> dict[str, Any]:
        return {"nu": self.nu}

    def max_moment(self) -> float:
        return self.nu

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        r"""The quantile at :math:`\Phi(z)`; where it exceeds :math:`10^4\sqrt b` (far
        tail, where ``stdtrit`` loses accuracy and then returns -inf) the two-term
        asymptotic inverse of :math:`P(T > t) = A t^{-\nu}(1 - b/t^2 + O(t^{-4}))`,
        :math:`A = c_\nu \nu^{(\nu-1)/2}`, :math:`b = \nu^2(\nu+1)/(2(\nu+2))`, in log
        space: :math:`t \approx t_0(1 - b/(\nu t_0^2))`,
        :math:`\log t_0 = (\log A - \log P(Z > |z|))/\nu` (relative error
        :math:`O(b^2/t^4) < 10^{-16}`)."""
        z = np.asarray(z, dtype=np.float64)
        nu = self.nu
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            t0 = np.exp((self._log_a - special.log_ndtr(-np.abs(z))) / nu)
            far = t0 * (1.0 - self._b / (nu * t0 * t0))
            t = np.where(t0 > 1e4 * math.sqrt(self._b), far,
                         -special.stdtrit(nu, 0.5 * erfc_tail(z)))
        return np.sign(z) * t * self._scale

    def expect(self, func: ArrayFunc) -> float:
        nu, s = self.nu, self._scale
        logc = self._log_c - math.log(s)
        return symmetric_quad(
            func, lambda x: math.exp(logc - 0.5 * (nu + 1) * math.log1p((x / s) ** 2 / nu)))

    def excess_kurtosis(self) -> float:
        return 6.0 / (self.nu - 4.0) if self.nu > 4 else math.inf


class ErfGaussian(PixelLaw):
    r"""The NLGP(g) pixel :math:`X = \mathrm{erf}(gZ)/Z(g)`, :math:`Z \sim N(0, 1)`.

    :math:`Z(g)^2 = E[\mathrm{erf}(gZ)^2] = \tfrac2\pi \arcsin\tfrac{2g^2}{1+2g^2}
    = \tfrac2\pi \arctan\tfrac{2g^2}{\sqrt{1+4g^2}}` (:attr:`z_norm`);
    :math:`E|X| = \tfrac2\pi \arctan(\sqrt2 g)/Z(g)`. The gain multiplies
    :math:`z` directly (IG22's ``erf(g z / sqrt 2)`` is this family at :math:`g/\sqrt2`).

    Every positive finite ``g`` is exact: the law is written through :math:`Z(g)/g` and
    :math:`\mathrm{erf}(y)/y`, whose series take over below :math:`g = 10^{-4}` (the
    Gaussian limit, where :math:`g^2` underflows), and the arctangent form never overflows
    (the :math:`\pm1` limit). :math:`\kappa = -8g^2 + 40g^4 + O(g^6)` below
    :math:`g = 10^{-3}`, where :math:`E[X^4] - 3` would cancel.
    """

    name = "erf-gaussian"

    def __init__(self, g: float) -> None:
        self.g = g = check_positive("g", g)
        if g < 1e-4:      # arcsin(y) = y (1 + y^2/6), y = 2g^2/(1+2g^2)
            y = 2 * g * g / (1 + 2 * g * g)
            self._z_over_g = math.sqrt(4 / math.pi / (1 + 2 * g * g) * (1 + y * y / 6))
        else:             # 2g^2/sqrt(1+4g^2) = g / sqrt(1 + 1/(4g^2))
            arg = g / math.sqrt(1 + 0.25 / (g * g))
            self._z_over_g = math.sqrt(2 / math.pi * math.atan(arg)) / g
        #: :math:`Z(g)`
        self.z_norm = self._z_over_g * g

    @property
    def params(self) -> dict[str, Any]:
        return {"g": self.g}

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        r""":math:`\mathrm{erf}(gz)/Z(g)`; where :math:`|gz| < 10^{-4}`, through
        :math:`\mathrm{erf}(y)/y = \tfrac2{\sqrt\pi}(1 - y^2/3)` times
        :math:`z/(Z(g)/g)` (no underflow for tiny ``g``)."""
        z = np.asarray(z, dtype=np.float64)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            y = self.g * z
            small = np.abs(y) < 1e-4
            ys = np.where(small, y, 0.0)
            series = 2 / math.sqrt(math.pi) * (1 - ys * ys / 3) * z / self._z_over_g
            return np.where(small, series, special.erf(y) / self.z_norm)

    def expect(self, func: ArrayFunc) -> float:
        # integrate in z: the pixel is a boundary layer of width 1/g around z = 0
        g = self.g
        knots = sorted({0.0, min(1.0 / g, 8.0), min(4.0 / g, 9.0), 10.0})
        return symmetric_quad(lambda t: func(self.gaussian_transform(t)),
                              lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi),
                              (*knots, math.inf))

    def abs_mean(self) -> float:
        g = self.g
        atan_over_g = _SQRT2 * (1 - 2 * g * g / 3) if g < 1e-8 else math.atan(_SQRT2 * g) / g
        return 2.0 / math.pi * atan_over_g / self._z_over_g

    def excess_kurtosis(self) -> float:
        g = self.g
        if g < 1e-3:
            return -8 * g * g + 40 * g**4
        return super().excess_kurtosis()


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
        r"""Quadrature against the density :math:`\tfrac s2 (1 + (xs)^k)^{-1-1/k}`, in
        log space. Above :math:`k = 10^3`: in
        :math:`x` on the bulk :math:`xs < e^{-64/k}`, then in :math:`u = k\log(xs)`
        (:math:`dx = x\,du/k`) over :math:`u > -64`, where the knee of width :math:`1/k`
        and the tail :math:`(xs)^{-k-1}` are smooth in :math:`u` for every ``k``."""
        k, s = self.k, self._sigma
        if k <= 1e3:         # a broad knee: plain quadrature in x, split at x s = 1
            return symmetric_quad(func, lambda x: 0.5 * s * math.exp(
                -(1 + 1 / k) * float(np.logaddexp(0.0, k * math.log(x * s)))) if x > 0
                else 0.5 * s, (0.0, 1.0 / s, 2.0 / s, math.inf))
        bulk_end = math.exp(-64.0 / k) / s

        def in_x(x: np.ndarray) -> np.ndarray:
            return func(x) + func(-x)

        def bulk(x: float) -> float:
            return float(in_x(np.array([x]))[0]) * 0.5 * s * math.exp(
                -(1 + 1 / k) * math.log1p((x * s) ** k))

        def knee(u: float) -> float:
            x = math.exp(u / k) / s
            weight = 0.5 * s * math.exp(-(1 + 1 / k) * float(np.logaddexp(0.0, u))) * x / k
            return float(in_x(np.array([x]))[0]) * weight if weight > 0 else 0.0
        total = integrate.quad(bulk, 0.0, bulk_end, **QUAD)[0]
        return total + sum(integrate.quad(knee, lo, hi, **QUAD)[0]
                           for lo, hi in ((-64.0, 0.0), (0.0, 64.0), (64.0, math.inf)))
