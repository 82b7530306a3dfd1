r"""Pixel marginals: symmetric, zero-mean, unit-variance laws of one input pixel.

Every marginal exposes two faces.

*Symbolic* (SymPy): :meth:`Marginal.moment` returns the exact moment
:math:`m_n = E[X^n]` (rationals, surds, Gamma values) wherever it exists, and raises
:class:`~rfloc.errors.MomentError` where it does not (heavy tails).

*Numeric* (NumPy/SciPy): :meth:`Marginal.gaussian_transform` is the monotone map
:math:`f` with :math:`f(Z) \sim X` for :math:`Z \sim N(0, 1)` — the NORTA/copula map the
data models use — and :meth:`Marginal.expect` evaluates :math:`E[h(X)]` by adaptive
quadrature to ~1e-13.

All marginals are standardised to unit variance, :math:`m_2 = 1`.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import sympy as sp
from scipy import integrate, interpolate, optimize, special, stats

from rfloc.errors import MomentError, ParameterError, check_int, check_positive
from rfloc.random import SeedLike, as_generator

__all__ = [
    "Algebraic",
    "Binary",
    "ErfGaussian",
    "Gaussian",
    "Laplace",
    "Marginal",
    "StudentT",
    "Uniform",
]

#: The symbol densities are written in.
X_SYMBOL = sp.Symbol("x", real=True)
#: The symbol quantile functions are written in.
U_SYMBOL = sp.Symbol("u", positive=True)

_QUAD = {"epsabs": 1e-14, "epsrel": 1e-13, "limit": 400}


def _erfc_tail(z: np.ndarray) -> np.ndarray:
    """``1 - |2 Phi(z) - 1| = erfc(|z| / sqrt 2)`` without cancellation."""
    return special.erfc(np.abs(z) / math.sqrt(2.0))


class Marginal(ABC):
    r"""A symmetric pixel marginal with unit variance.

    Subclasses implement :meth:`_even_moment` (exact, standardised),
    :meth:`gaussian_transform` and, where a shortcut exists, :meth:`expect`,
    :meth:`abs_mean` and :meth:`sample`.
    """

    #: short name used on the command line and in reports
    name: str = "marginal"
    #: True when every existing moment is an exact SymPy number (no floats)
    exact_moments: bool = True

    # ------------------------------------------------------------------ symbolic
    @property
    def params(self) -> dict[str, float]:
        """The parameters that define this marginal."""
        return {}

    @property
    def density(self) -> sp.Expr | None:
        """Density of the standardised law in :data:`X_SYMBOL`, or None (atoms)."""
        return None

    @property
    def support(self) -> tuple[sp.Expr, sp.Expr]:
        """Support ``(lo, hi)`` of the standardised law."""
        return (-sp.oo, sp.oo)

    def max_moment(self) -> float:
        """Largest order ``n`` for which :math:`E|X|^n < \\infty` (``inf`` if all exist)."""
        return math.inf

    def moment(self, n: int) -> sp.Expr:
        r"""Exact moment :math:`m_n = E[X^n]` of the standardised marginal.

        Odd moments vanish by symmetry. Raises :class:`MomentError` when
        :math:`E|X|^n` is infinite.
        """
        n = check_int("n", n, minimum=0)
        if n >= self.max_moment():
            raise MomentError(
                f"moment of order {n} does not exist for {self!r}: "
                f"only orders < {self.max_moment():g} are finite"
            )
        if n % 2:
            return sp.Integer(0)
        if n == 0:
            return sp.Integer(1)
        return self._cached_even_moment(n)

    @lru_cache(maxsize=64)  # noqa: B019 - marginals are immutable and few
    def _cached_even_moment(self, n: int) -> sp.Expr:
        return sp.simplify(self._even_moment(n))

    @abstractmethod
    def _even_moment(self, n: int) -> sp.Expr:
        """Exact even moment of order ``n >= 2`` of the standardised law."""

    #: whether SymPy is asked for closed-form expectations (cheap, terminating integrals)
    try_closed_form: bool = False

    def expectation(self, expr: sp.Expr, *, evaluate: bool = False) -> sp.Expr:
        r"""Symbolic :math:`E[h(X)]` for ``expr`` :math:`= h` written in :data:`X_SYMBOL`.

        With ``evaluate=False`` (default) the unevaluated integral (or finite sum) is
        returned; ``evaluate=True`` asks SymPy to carry it out.
        """
        lo, hi = self.support
        res = sp.Integral(expr * self.density, (X_SYMBOL, lo, hi))
        return res.doit() if evaluate else res

    def variance(self) -> sp.Expr:
        """:math:`m_2` (1 by construction; returned exactly as a check)."""
        return self.moment(2)

    def excess_kurtosis(self) -> sp.Expr:
        r"""Excess kurtosis :math:`\kappa = m_4 - 3` (unit variance)."""
        return sp.simplify(self.moment(4) - 3)

    def abs_mean(self) -> sp.Expr:
        r""":math:`E|X|`, the limit :math:`\varphi(a \to 1)` of the amplifier."""
        val = self.expect(np.abs)
        return sp.Float(val, 15)

    # ------------------------------------------------------------------ numeric
    @abstractmethod
    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        r"""Monotone map :math:`f = Q \circ \Phi` with :math:`f(Z) \sim X`, vectorised."""

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        r""":math:`E[h(X)]` by adaptive quadrature over :math:`z`, :math:`X = f(Z)`.

        ``func`` must accept and return NumPy arrays.
        """
        def integrand(z: float) -> float:
            return float(func(self.gaussian_transform(np.array([z])))[0]) * math.exp(
                -0.5 * z * z
            ) / math.sqrt(2 * math.pi)

        total = 0.0
        for lo, hi in ((-math.inf, -1.0), (-1.0, 0.0), (0.0, 1.0), (1.0, math.inf)):
            total += integrate.quad(integrand, lo, hi, **_QUAD)[0]
        return total

    def sample(self, size: int | tuple[int, ...], rng: SeedLike = None) -> np.ndarray:
        """Draw i.i.d. samples (float64) of the given ``size``."""
        gen = as_generator(rng)
        return self.gaussian_transform(gen.standard_normal(size))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.params == other.params  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.params.items()))))

    # ---------------------------------------------------------------- factories
    @staticmethod
    def from_density(expr: sp.Expr, x: sp.Symbol, support: tuple = (-sp.oo, sp.oo),
                     *, name: str = "density") -> Marginal:
        """A marginal from a symmetric (unnormalised allowed) density ``expr(x)`` on ``support``.

        The law is normalised and scaled to unit variance. Raises ParameterError if the
        density is not symmetric or its variance is not finite.
        """
        return _DensityMarginal(expr, x, support, name=name)

    @staticmethod
    def from_quantile(expr: sp.Expr, u: sp.Symbol, *, name: str = "quantile") -> Marginal:
        """A marginal from a quantile function ``Q(u)`` on (0, 1) with ``Q(1-u) = -Q(u)``.

        The law is scaled to unit variance.
        """
        return _QuantileMarginal(expr, u, name=name)


# ====================================================================== concrete laws
class Gaussian(Marginal):
    r"""Standard normal :math:`N(0, 1)`; :math:`m_{2k} = (2k-1)!!`."""

    name = "gaussian"
    try_closed_form = True

    @property
    def density(self) -> sp.Expr:
        return sp.exp(-X_SYMBOL**2 / 2) / sp.sqrt(2 * sp.pi)

    def _even_moment(self, n: int) -> sp.Expr:
        return sp.factorial2(n - 1)

    def abs_mean(self) -> sp.Expr:
        return sp.sqrt(2 / sp.pi)

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(z, dtype=np.float64).copy()


class Binary(Marginal):
    r"""Symmetric :math:`\pm 1` pixels (Ising spins, NLGP at :math:`g \to \infty`)."""

    name = "binary"

    @property
    def support(self) -> tuple[sp.Expr, sp.Expr]:
        return (sp.Integer(-1), sp.Integer(1))

    def _even_moment(self, n: int) -> sp.Expr:
        return sp.Integer(1)

    def expectation(self, expr: sp.Expr, *, evaluate: bool = False) -> sp.Expr:
        terms = [expr.subs(X_SYMBOL, v) for v in (1, -1)]
        return sp.Add(*terms, evaluate=evaluate) / 2 if evaluate else sp.Mul(
            sp.Rational(1, 2), sp.Add(*terms, evaluate=False), evaluate=False)

    def abs_mean(self) -> sp.Expr:
        return sp.Integer(1)

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        return np.where(np.asarray(z) >= 0, 1.0, -1.0)

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        v = func(np.array([-1.0, 1.0]))
        return 0.5 * float(v[0] + v[1])


class Uniform(Marginal):
    r"""Uniform on :math:`[-\sqrt3, \sqrt3]`; :math:`m_n = 3^{n/2}/(n+1)`, :math:`\kappa=-6/5`."""

    name = "uniform"
    try_closed_form = True

    @property
    def density(self) -> sp.Expr:
        return 1 / (2 * sp.sqrt(3))

    @property
    def support(self) -> tuple[sp.Expr, sp.Expr]:
        return (-sp.sqrt(3), sp.sqrt(3))

    def _even_moment(self, n: int) -> sp.Expr:
        return sp.sqrt(3) ** n / (n + 1)

    def abs_mean(self) -> sp.Expr:
        return sp.sqrt(3) / 2

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        return math.sqrt(3.0) * special.erf(np.asarray(z, dtype=np.float64) / math.sqrt(2.0))

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        r3 = math.sqrt(3.0)
        val = integrate.quad(lambda x: float(func(np.array([x]))[0]), -r3, r3, points=[0.0],
                             **_QUAD)[0]
        return val / (2 * r3)


class Laplace(Marginal):
    r"""Laplace with scale :math:`1/\sqrt2`; :math:`m_n = n!/2^{n/2}`, :math:`\kappa = 3`."""

    name = "laplace"
    try_closed_form = True

    @property
    def density(self) -> sp.Expr:
        return sp.exp(-sp.sqrt(2) * sp.Abs(X_SYMBOL)) / sp.sqrt(2)

    def _even_moment(self, n: int) -> sp.Expr:
        return sp.factorial(n) / sp.sqrt(2) ** n

    def abs_mean(self) -> sp.Expr:
        return 1 / sp.sqrt(2)

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        return -np.sign(z) * np.log(_erfc_tail(z)) / math.sqrt(2.0)

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        r2 = math.sqrt(2.0)
        def f(x: float) -> float:
            return (float(func(np.array([x]))[0]) + float(func(np.array([-x]))[0])) * math.exp(
                -r2 * x) / r2
        return integrate.quad(f, 0.0, math.inf, **_QUAD)[0]


class StudentT(Marginal):
    r"""Student-t with :math:`\nu > 2` degrees of freedom, scaled to unit variance.

    Moments of order :math:`n \ge \nu` do not exist; for even :math:`n < \nu`,
    :math:`m_n = (\nu-2)^{n/2}\,\Gamma(\tfrac{n+1}{2})\Gamma(\tfrac{\nu-n}{2})
    / (\sqrt\pi\,\Gamma(\tfrac\nu2))`.
    """

    name = "student-t"

    def __init__(self, nu: float) -> None:
        nu = check_positive("nu", nu)
        if nu <= 2:
            raise ParameterError(f"nu must be > 2 for a unit-variance Student-t, got {nu!r}")
        self.nu = nu
        self._nu = sp.nsimplify(nu)
        self._scale = math.sqrt((nu - 2.0) / nu)

    @property
    def params(self) -> dict[str, float]:
        return {"nu": self.nu}

    def max_moment(self) -> float:
        return self.nu

    @property
    def density(self) -> sp.Expr:
        nu, x = self._nu, X_SYMBOL
        s = sp.sqrt((nu - 2) / nu)
        base = sp.gamma((nu + 1) / 2) / (sp.sqrt(nu * sp.pi) * sp.gamma(nu / 2))
        return base * (1 + (x / s) ** 2 / nu) ** (-(nu + 1) / 2) / s

    def _even_moment(self, n: int) -> sp.Expr:
        nu = self._nu
        k = sp.Rational(n, 2)
        return (nu - 2) ** k * sp.gamma(k + sp.Rational(1, 2)) * sp.gamma(nu / 2 - k) / (
            sp.sqrt(sp.pi) * sp.gamma(nu / 2))

    def abs_mean(self) -> sp.Expr:
        nu = self._nu
        return 2 * sp.sqrt(nu - 2) * sp.gamma((nu + 1) / 2) / (
            sp.sqrt(sp.pi) * (nu - 1) * sp.gamma(nu / 2))

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        return np.sign(z) * stats.t.isf(0.5 * _erfc_tail(z), self.nu) * self._scale

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        nu, s = self.nu, self._scale
        logc = (math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
                - math.log(s))
        def f(x: float) -> float:
            pdf = math.exp(logc - 0.5 * (nu + 1) * math.log1p((x / s) ** 2 / nu))
            return (float(func(np.array([x]))[0]) + float(func(np.array([-x]))[0])) * pdf
        return integrate.quad(f, 0.0, 1.0, **_QUAD)[0] + integrate.quad(f, 1.0, math.inf,
                                                                         **_QUAD)[0]


class ErfGaussian(Marginal):
    r"""The NLGP(g) pixel: :math:`X = \mathrm{erf}(gZ)/Z(g)`, :math:`Z \sim N(0,1)`.

    :math:`Z(g)^2 = E[\mathrm{erf}(gZ)^2] = \tfrac2\pi \arcsin\tfrac{2g^2}{1+2g^2}`.
    :math:`g \to 0` is Gaussian, :math:`g \to \infty` is :class:`Binary`.
    Convention: the gain multiplies :math:`z` directly (IG22's ``erf(g z / sqrt 2)`` is
    this family at :math:`g/\sqrt2`).
    Moments beyond the second have no elementary closed form; they are returned as
    30-digit SymPy Floats from mpmath quadrature (``exact_moments = False``).
    """

    name = "erf-gaussian"
    exact_moments = False

    def __init__(self, g: float) -> None:
        self.g = check_positive("g", g)
        self._g = sp.nsimplify(self.g)
        #: :math:`Z(g)` as a float (the numeric twin of :meth:`normaliser`)
        self.z_norm = math.sqrt(2.0 / math.pi * math.asin(2 * self.g**2 / (1 + 2 * self.g**2)))

    @property
    def params(self) -> dict[str, float]:
        return {"g": self.g}

    @property
    def support(self) -> tuple[sp.Expr, sp.Expr]:
        zg = self.normaliser()
        return (-1 / zg, 1 / zg)

    def expectation(self, expr: sp.Expr, *, evaluate: bool = False) -> sp.Expr:
        z = sp.Symbol("z", real=True)
        xz = sp.erf(self._g * z) / self.normaliser()
        res = sp.Integral(expr.subs(X_SYMBOL, xz) * sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi),
                          (z, -sp.oo, sp.oo))
        return res.doit() if evaluate else res

    def normaliser(self) -> sp.Expr:
        """Exact :math:`Z(g)`."""
        g = self._g
        return sp.sqrt(2 / sp.pi * sp.asin(2 * g**2 / (1 + 2 * g**2)))

    def _even_moment(self, n: int) -> sp.Expr:
        if n == 2:
            return sp.Integer(1)
        import mpmath

        with mpmath.workdps(40):
            g = mpmath.mpf(self.g)
            zg = mpmath.sqrt(2 / mpmath.pi * mpmath.asin(2 * g**2 / (1 + 2 * g**2)))
            f = lambda t: (mpmath.erf(g * t) / zg) ** n * mpmath.npdf(t)  # noqa: E731
            pts = [0, 1 / g, 4 / g, 40 / g, mpmath.inf]
            val = 2 * mpmath.quad(f, sorted(set(pts)))
        return sp.Float(mpmath.nstr(val, 32), 30)

    def abs_mean(self) -> sp.Expr:
        # E|erf(gZ)| = (2/pi) arctan(sqrt(2) g): differentiate in g, integrate back.
        return 2 / sp.pi * sp.atan(sp.sqrt(2) * self._g) / self.normaliser()

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        return special.erf(self.g * np.asarray(z, dtype=np.float64)) / self.z_norm

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        g, c = self.g, self.z_norm
        def f(t: float) -> float:
            return (float(func(np.array([math.erf(g * t) / c]))[0])
                    + float(func(np.array([-math.erf(g * t) / c]))[0])) * math.exp(
                -0.5 * t * t) / math.sqrt(2 * math.pi)
        knots = sorted({0.0, min(1.0 / g, 8.0), min(4.0 / g, 9.0), 10.0})
        total = sum(integrate.quad(f, a, b, **_QUAD)[0] for a, b in itertools.pairwise(knots))
        return total + integrate.quad(f, 10.0, math.inf, **_QUAD)[0]


class Algebraic(Marginal):
    r"""The Kur(k) family: quantile :math:`Q_k(u) = (2u-1)/(1-|2u-1|^k)^{1/k}`, standardised.

    Density of the unstandardised law :math:`\tfrac12 (1+|y|^k)^{-1-1/k}`, tails
    :math:`\sim |y|^{-k-1}`: moments of order :math:`n < k` exist, with
    :math:`E|Y|^n = \tfrac1k B(\tfrac{n+1}k, 1-\tfrac nk)`. The variance needs
    :math:`k > 2`; :math:`\kappa` changes sign near :math:`k \approx 5.9` and tends to
    :math:`-6/5` (uniform) as :math:`k \to \infty`.
    """

    name = "algebraic"

    def __init__(self, k: float) -> None:
        k = check_positive("k", k)
        if k <= 2:
            raise ParameterError(f"k must be > 2 (finite variance) for Algebraic(k), got {k!r}")
        self.k = k
        self._k = sp.nsimplify(k)
        self._sigma = math.sqrt(special.beta(3.0 / k, 1.0 - 2.0 / k) / k)

    @property
    def params(self) -> dict[str, float]:
        return {"k": self.k}

    def max_moment(self) -> float:
        return self.k

    def _raw_abs_moment(self, n: int) -> sp.Expr:
        k = self._k
        return sp.gamma((n + 1) / k) * sp.gamma(1 - sp.Integer(n) / k) / (k * sp.gamma(
            1 + sp.Integer(1) / k))

    @property
    def density(self) -> sp.Expr:
        s = sp.sqrt(self._raw_abs_moment(2))
        return (1 + sp.Abs(X_SYMBOL * s) ** self._k) ** (-1 - 1 / self._k) * s / 2

    def _even_moment(self, n: int) -> sp.Expr:
        return self._raw_abs_moment(n) / self._raw_abs_moment(2) ** sp.Rational(n, 2)

    def abs_mean(self) -> sp.Expr:
        return self._raw_abs_moment(1) / sp.sqrt(self._raw_abs_moment(2))

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        tail = _erfc_tail(z)                     # 1 - |v|, v = 2 Phi(z) - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            one_minus_vk = -np.expm1(self.k * np.log1p(-tail))   # 1 - |v|^k
            q = np.sign(z) * (1.0 - tail) / one_minus_vk ** (1.0 / self.k)
        return np.where(z == 0, 0.0, q) / self._sigma

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        k, s = self.k, self._sigma
        def f(x: float) -> float:
            y = x * s
            return (float(func(np.array([x]))[0]) + float(func(np.array([-x]))[0])) * 0.5 * (
                1 + y**k) ** (-1 - 1 / k) * s
        return integrate.quad(f, 0.0, 1.0, **_QUAD)[0] + integrate.quad(f, 1.0, math.inf,
                                                                         **_QUAD)[0]


# ====================================================================== user-defined
class _DensityMarginal(Marginal):
    """A user density, normalised and standardised (see :meth:`Marginal.from_density`)."""

    try_closed_form = True

    def __init__(self, expr: sp.Expr, x: sp.Symbol, support: tuple, *, name: str) -> None:
        expr = sp.sympify(expr)
        lo, hi = (sp.sympify(s) for s in support)
        if not (lo == -hi or sp.simplify(lo + hi) == 0):
            raise ParameterError(f"support must be symmetric about 0, got ({lo}, {hi})")
        if sp.simplify(expr - expr.subs(x, -x)) != 0:
            raise ParameterError("density must be symmetric: expr(x) == expr(-x)")
        self.name = name
        self._x, self._lo, self._hi = x, lo, hi
        self._raw = expr
        self._f = sp.lambdify(x, expr, "math")
        self._hi_f = float(hi)
        mass = self._raw_moment_numeric(0)
        var = self._raw_moment_numeric(2) / mass
        if not (math.isfinite(var) and var > 0):
            raise ParameterError("density must have a finite, positive variance")
        self._mass, self._var = mass, var
        self._sigma = math.sqrt(var)
        self._table: tuple | None = None

    @property
    def params(self) -> dict[str, float]:
        return {"density": str(self._raw)}

    def _raw_moment_numeric(self, n: int) -> float:
        val = integrate.quad(lambda t: t**n * self._f(t), 0.0, self._hi_f, **_QUAD)[0]
        return 2 * val

    def _raw_moment(self, n: int) -> sp.Expr:
        res = sp.integrate(self._x**n * self._raw, (self._x, 0, self._hi)) * 2
        if res.has(sp.Integral) or not res.is_finite:
            return sp.Float(self._raw_moment_numeric(n), 15)
        return res

    @property
    def density(self) -> sp.Expr:
        s = sp.sqrt(self._raw_moment(2) / self._raw_moment(0))
        return self._raw.subs(self._x, X_SYMBOL * s) * s / self._raw_moment(0)

    @property
    def support(self) -> tuple[sp.Expr, sp.Expr]:
        s = sp.sqrt(self._raw_moment(2) / self._raw_moment(0))
        return (self._lo / s, self._hi / s)

    def _even_moment(self, n: int) -> sp.Expr:
        m0, m2 = self._raw_moment(0), self._raw_moment(2)
        return self._raw_moment(n) / m0 / (m2 / m0) ** sp.Rational(n, 2)

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        s = self._sigma
        def f(y: float) -> float:
            return (float(func(np.array([y / s]))[0]) + float(func(np.array([-y / s]))[0])
                    ) * self._f(y) / self._mass
        return integrate.quad(f, 0.0, self._hi_f, **_QUAD)[0]

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        # Invert the CDF once on a grid of z in [0, 8.5] (monotone PCHIP), then reuse.
        if self._table is None:
            grid = np.linspace(0.0, 8.5, 1201)
            tails = 0.5 * _erfc_tail(grid)            # P(X > x) targets
            xs = np.empty_like(grid)
            def sf(y: float) -> float:
                return integrate.quad(self._f, y, self._hi_f, **_QUAD)[0] / self._mass
            upper = self._hi_f if math.isfinite(self._hi_f) else 1.0
            while not math.isfinite(self._hi_f) and sf(upper) > tails[-1]:
                upper *= 2
            for i, t in enumerate(tails):
                xs[i] = 0.0 if i == 0 else optimize.brentq(lambda y, t=t: sf(y) - t, 0.0, upper,
                                                           xtol=1e-13)
            self._table = interpolate.PchipInterpolator(grid, xs / self._sigma)
        z = np.asarray(z, dtype=np.float64)
        return np.sign(z) * self._table(np.minimum(np.abs(z), 8.5))


class _QuantileMarginal(Marginal):
    """A user quantile function, standardised (see :meth:`Marginal.from_quantile`)."""

    def __init__(self, expr: sp.Expr, u: sp.Symbol, *, name: str) -> None:
        expr = sp.sympify(expr)
        if sp.simplify(expr.subs(u, 1 - u) + expr) != 0:
            raise ParameterError("quantile must be odd about 1/2: Q(1-u) == -Q(u)")
        self.name = name
        self._u, self._raw = u, expr
        self._q = sp.lambdify(u, expr, "numpy")
        var = integrate.quad(lambda t: float(self._q(t)) ** 2, 0.0, 1.0, **_QUAD)[0]
        if not (math.isfinite(var) and var > 0):
            raise ParameterError("quantile must have a finite, positive variance")
        self._sigma = math.sqrt(var)

    @property
    def params(self) -> dict[str, float]:
        return {"quantile": str(self._raw)}

    def expectation(self, expr: sp.Expr, *, evaluate: bool = False) -> sp.Expr:
        q = self._raw / sp.sqrt(self._raw_moment(2))
        res = sp.Integral(expr.subs(X_SYMBOL, q), (self._u, 0, 1))
        return res.doit() if evaluate else res

    def _raw_moment(self, n: int) -> sp.Expr:
        res = sp.integrate(self._raw**n, (self._u, 0, 1))
        if res.has(sp.Integral) or not res.is_finite:
            val = integrate.quad(lambda t: float(self._q(t)) ** n, 0.0, 1.0, **_QUAD)[0]
            return sp.Float(val, 15)
        return res

    def _even_moment(self, n: int) -> sp.Expr:
        return self._raw_moment(n) / self._raw_moment(2) ** sp.Rational(n, 2)

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        s = self._sigma
        def f(t: float) -> float:
            q = float(self._q(t)) / s
            return float(func(np.array([q]))[0]) + float(func(np.array([-q]))[0])
        return integrate.quad(f, 0.5, 1.0, **_QUAD)[0]

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.sign(z) * np.asarray(self._q(1.0 - 0.5 * _erfc_tail(z)), dtype=np.float64)
        return np.where(z == 0, 0.0, q) / self._sigma


#: Registry of named marginals (CLI and reports); values build a marginal from one parameter.
REGISTRY: dict[str, tuple[Callable[..., Marginal], str | None]] = {
    "gaussian": (Gaussian, None),
    "binary": (Binary, None),
    "uniform": (Uniform, None),
    "laplace": (Laplace, None),
    "student-t": (StudentT, "nu"),
    "erf-gaussian": (ErfGaussian, "g"),
    "nlgp": (ErfGaussian, "g"),
    "algebraic": (Algebraic, "k"),
    "kur": (Algebraic, "k"),
}


def by_name(name: str, param: float | None = None) -> Marginal:
    """Build a named marginal (``"binary"``, ``"algebraic"`` with ``param=k`` …)."""
    key = name.lower()
    if key not in REGISTRY:
        raise ParameterError(f"marginal must be one of {sorted(REGISTRY)}, got {name!r}")
    cls, pname = REGISTRY[key]
    if pname is None:
        if param is not None:
            raise ParameterError(f"marginal {name!r} takes no parameter")
        return cls()
    if param is None:
        raise ParameterError(f"marginal {name!r} needs its parameter {pname} (--param)")
    return cls(param)
