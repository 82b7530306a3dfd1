r"""Pixel laws from a user's density or quantile function (plain Python callables).

Both standardise the law to unit variance by quadrature. The symbolic route
(``rfloc.theory.Marginal.from_density`` / ``from_quantile``) checks symmetry exactly and
builds these from the lambdified expressions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import integrate, optimize

from rfloc.errors import ParameterError
from rfloc.numerics.laws._base import QUAD, ArrayFunc, PixelLaw, erfc_tail, symmetric_quad

__all__ = ["DensityLaw", "QuantileLaw"]

#: the inverse-CDF table of a density law covers |z| <= _Z_TABLE (P(|Z| > 8.5) ~ 2e-17)
_Z_TABLE = 8.5


def _check_non_negative(density: Callable[[float], float], upper: float, label: str) -> None:
    """Raise ParameterError unless ``density`` is >= 0 (or +inf) on a grid of ``[0, upper)``
    (2000 points; ``y = tan`` of an even grid of angles when ``upper`` is infinite)."""
    ends = (0.0, upper) if math.isfinite(upper) else (0.0, 0.5 * math.pi)
    grid = np.linspace(*ends, 2001)[:-1]
    for y in grid if math.isfinite(upper) else np.tan(grid):
        try:
            value = float(density(float(y)))
        except (ArithmeticError, ValueError):      # a singular point: integrable or not,
            continue                               # the mass quadrature decides
        if not value >= 0:
            raise ParameterError(f"density must be non-negative on its support: "
                                 f"{label} is {value:g} at x = {y:g}")


class DensityLaw(PixelLaw):
    r"""The law with a symmetric, possibly unnormalised density :math:`p` on :math:`(-b, b)`.

    With mass :math:`M = \int p` and :math:`\sigma^2 = \int y^2 p / M`, the pixel is
    :math:`X = Y/\sigma`, :math:`Y \sim p/M`. :meth:`gaussian_transform` inverts the
    survival function :math:`P(Y > y) = \tfrac1M\int_y^b p` once on 1201 points
    :math:`z \in [0, 8.5]` (Brent) and interpolates monotonically (PCHIP); beyond 8.5 it
    is constant.

    Parameters
    ----------
    density : callable float -> float
        :math:`p(y)` for :math:`0 \le y < b` (the law is symmetric; ``p(-y) = p(y)``).
    upper : float
        The support's upper end :math:`b` (``inf`` for an unbounded law).
    name : str
        Short name.
    label : str, optional
        What ``params`` reports (e.g. the density's formula); defaults to ``repr(density)``.
    max_moment : float
        The largest order :math:`n` with :math:`E|X|^n < \infty` (tails :math:`y^{-\alpha}`
        give :math:`\alpha - 1`); the quadratures cannot tell a divergent integral from a
        finite one, so the caller states it (``inf``, the default, for light tails).

    Raises
    ------
    ParameterError
        If ``p`` is negative or NaN somewhere on a grid of 2000 points of :math:`[0, b)`,
        if ``max_moment <= 2``, or if the mass or variance is not finite and positive.
    """

    def __init__(self, density: Callable[[float], float], upper: float = math.inf, *,
                 name: str = "density", label: str | None = None,
                 max_moment: float = math.inf) -> None:
        self.name = name
        self._p, self._upper = density, float(upper)
        self._label = repr(density) if label is None else label
        self._max_moment = float(max_moment)
        if not self._max_moment > 2:
            raise ParameterError(f"density {self._label} has an infinite variance (moments "
                                 f"exist only below order {self._max_moment:g})")
        _check_non_negative(density, self._upper, self._label)
        mass, second = (2 * integrate.quad(lambda t, n=n: t**n * density(t), 0.0, self._upper,
                                           **QUAD)[0] for n in (0, 2))
        if not (0 < mass < math.inf and 0 < second < math.inf):
            raise ParameterError("density must have a finite, positive mass and variance")
        var = second / mass
        self._mass, self._sigma = mass, math.sqrt(var)
        self._table: Callable[[np.ndarray], np.ndarray] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {"density": self._label}

    def max_moment(self) -> float:
        return self._max_moment

    def expect(self, func: ArrayFunc) -> float:
        s = self._sigma
        return symmetric_quad(lambda y: func(y / s), lambda y: self._p(y) / self._mass,
                              (0.0, self._upper))

    def _survival(self, y: float) -> float:
        return integrate.quad(self._p, y, self._upper, **QUAD)[0] / self._mass

    def _inverse_table(self) -> Callable[[np.ndarray], np.ndarray]:
        from scipy.interpolate import PchipInterpolator  # slow import, needed only here

        grid = np.linspace(0.0, _Z_TABLE, 1201)
        tails = 0.5 * erfc_tail(grid)                     # P(Y > y) targets
        hi = self._upper if math.isfinite(self._upper) else 1.0
        while not math.isfinite(self._upper) and self._survival(hi) > tails[-1]:
            hi *= 2
        ys = np.zeros_like(grid)
        for i, t in enumerate(tails[1:], start=1):
            ys[i] = optimize.brentq(lambda y, t=t: self._survival(y) - t, 0.0, hi, xtol=1e-13)
        return PchipInterpolator(grid, ys / self._sigma)

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        if self._table is None:
            self._table = self._inverse_table()
        z = np.asarray(z, dtype=np.float64)
        return np.sign(z) * self._table(np.minimum(np.abs(z), _Z_TABLE))


#: lower end of the z-integrals of :func:`quantile_integral`: Phi(-37) ~ 6e-300, the
#: Gaussian weight there below 1e-297
_Z_LOW = -37.0


def quantile_integral(h: Callable[[float], float], quantile: ArrayFunc) -> float:
    r""":math:`\int_0^1 h(Q(u))\,du` for :math:`Q` odd about 1/2 and :math:`h` even, as
    :math:`2\int_{-\infty}^0 h(Q(\Phi(z)))\,\phi(z)\,dz`: the substitution
    :math:`u = \Phi(z)` turns endpoint singularities of :math:`Q` (power laws, logs) into
    a Gaussian-weighted integrand, and :math:`\Phi(z)` for :math:`z < 0` is the small
    :math:`u` itself (no :math:`1-u` rounding). Non-finite :math:`Q` (where :math:`\Phi`
    underflows) contributes 0."""
    def f(z: float) -> float:
        # Q is vectorised NumPy code, so a float in gives a NumPy scalar out
        q = float(quantile(0.5 * math.erfc(-z / math.sqrt(2.0))))  # type: ignore[arg-type]
        if not math.isfinite(q):
            return 0.0
        return h(q) * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)

    return 2.0 * integrate.quad(f, _Z_LOW, 0.0, **QUAD)[0]


class QuantileLaw(PixelLaw):
    r"""The law with quantile function :math:`Q` on (0, 1), odd about 1/2
    (:math:`Q(1-u) = -Q(u)`), scaled to unit variance: :math:`X = Q(U)/\sigma`,
    :math:`\sigma^2 = \int_0^1 Q^2`, and :math:`f(z) = Q(\Phi(z))/\sigma`.

    Parameters
    ----------
    quantile : callable ndarray -> ndarray
        :math:`Q`, vectorised over arrays of ``u``.
    name : str
        Short name.
    label : str, optional
        What ``params`` reports (e.g. the quantile's formula); defaults to ``repr(quantile)``.
    max_moment : float
        The largest order :math:`n` with :math:`E|X|^n < \infty` (a quantile growing like
        :math:`(1-u)^{-\beta}` gives :math:`1/\beta`); the caller states it, as for
        :class:`DensityLaw` (``inf``, the default, for light tails).

    Raises
    ------
    ParameterError
        If ``max_moment <= 2`` or the variance is not finite and positive.
    """

    def __init__(self, quantile: ArrayFunc, *, name: str = "quantile",
                 label: str | None = None, max_moment: float = math.inf) -> None:
        self.name = name
        self._q = quantile
        self._label = repr(quantile) if label is None else label
        self._max_moment = float(max_moment)
        if not self._max_moment > 2:
            raise ParameterError(f"quantile {self._label} has an infinite variance (moments "
                                 f"exist only below order {self._max_moment:g})")
        var = quantile_integral(lambda q: q * q, quantile)
        if not (math.isfinite(var) and var > 0):
            raise ParameterError("quantile must have a finite, positive variance")
        self._sigma = math.sqrt(var)

    @property
    def params(self) -> dict[str, Any]:
        return {"quantile": self._label}

    def max_moment(self) -> float:
        return self._max_moment

    def expect(self, func: ArrayFunc) -> float:
        s = self._sigma
        return quantile_integral(lambda q: 0.5 * (float(func(np.array([q / s]))[0])
                                                  + float(func(np.array([-q / s]))[0])),
                                 self._q)

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.sign(z) * np.asarray(self._q(1.0 - 0.5 * erfc_tail(z)), dtype=np.float64)
        return np.where(z == 0, 0.0, q) / self._sigma
