r"""Pixel marginals: symmetric, zero-mean, unit-variance laws of one input pixel.

Every marginal exposes two faces.

*Symbolic* (SymPy, here): :meth:`Marginal.moment` returns the exact moment
:math:`m_n = E[X^n]` (rationals, surds, Gamma values) wherever it exists, and raises
:class:`~rfloc.errors.MomentError` where it does not (heavy tails); :meth:`density`,
:meth:`expectation`, :meth:`excess_kurtosis` and :meth:`abs_mean` are exact too.

*Numeric* (:mod:`rfloc.numerics.laws`): each marginal carries its numeric pixel law as
:attr:`Marginal.law`, and :meth:`Marginal.gaussian_transform` (the monotone map
:math:`f` with :math:`f(Z) \sim X` for :math:`Z \sim N(0, 1)`, the NORTA/copula map the
data models use), :meth:`Marginal.expect` (:math:`E[h(X)]` by adaptive quadrature to
~1e-13) and :meth:`Marginal.sample` are the law's. :func:`as_marginal` maps a numeric law
back to its marginal.

All marginals are standardised to unit variance, :math:`m_2 = 1` (``docs/theory.md`` §1).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np
import sympy as sp
from scipy import integrate

from rfloc.errors import MomentError, ParameterError, check_int
from rfloc.numerics import laws
from rfloc.numerics.laws import QUAD
from rfloc.random import SeedLike

__all__ = [
    "Algebraic",
    "Binary",
    "ErfGaussian",
    "Gaussian",
    "Laplace",
    "Marginal",
    "StudentT",
    "Uniform",
    "as_marginal",
    "by_name",
]

#: The symbol densities are written in.
X_SYMBOL = sp.Symbol("x", real=True)
#: Gamma-valued moments are simplified only for parameters with denominators up to this
_SHORT_DENOMINATOR = 10**3
#: The symbol quantile functions are written in.
U_SYMBOL = sp.Symbol("u", positive=True)


def exact_parameter(value: float) -> sp.Rational:
    """The float parameter ``value`` as an exact SymPy rational equal to it.

    The short rational SymPy guesses (``0.1`` -> ``1/10``) when it rounds back to
    ``value`` exactly, else the float's own binary value: a guess never moves a parameter
    (``4 + 1e-12`` stays above the threshold 4 and does not become ``4``).
    """
    guess = sp.nsimplify(value, rational=True)
    return guess if float(guess) == value else sp.Rational(value)


def _gammasimp_short(expr: sp.Expr) -> sp.Expr:
    """``sp.gammasimp(expr)`` when every rational in it has numerator and denominator up to
    ``_SHORT_DENOMINATOR``; otherwise ``expr`` as it is (for parameters such as
    ``4 + 1e-12`` or ``1e6`` gammasimp does not terminate in useful time)."""
    if max((max(abs(r.p), r.q) for r in expr.atoms(sp.Rational)),
           default=1) > _SHORT_DENOMINATOR:
        return expr
    return sp.gammasimp(expr)


class Marginal(laws.ByParams, ABC):
    r"""A symmetric pixel marginal with unit variance.

    Subclasses set :attr:`law` (the numeric face) and implement :meth:`_even_moment`
    (exact, standardised) and, where a shortcut exists, :meth:`density`,
    :meth:`expectation` and :meth:`abs_mean`. Equality, hash and ``repr`` come from
    ``params`` (:class:`rfloc.numerics.laws.ByParams`).
    """

    #: the numeric face: Gaussian transform, quadrature, sampling
    law: laws.PixelLaw
    #: True when every existing moment is an exact SymPy number (no floats)
    exact_moments: bool = True
    #: whether SymPy is asked for closed-form expectations (cheap, terminating integrals)
    try_closed_form: bool = False

    @property
    def name(self) -> str:
        """Short name used on the command line and in reports (the law's)."""
        return self.law.name

    @property
    def params(self) -> dict[str, Any]:
        """The parameters that define this marginal (the law's)."""
        return self.law.params

    # ------------------------------------------------------------------ symbolic
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
        return self.law.max_moment()

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
        return self.simplify(self._even_moment(n))

    def simplify(self, expr: sp.Expr) -> sp.Expr:
        """Simplify an expression built from this marginal's moments (``sp.simplify``;
        Gamma-valued families use the terminating ``sp.gammasimp``)."""
        return sp.simplify(expr)

    @abstractmethod
    def _even_moment(self, n: int) -> sp.Expr:
        """Exact even moment of order ``n >= 2`` of the standardised law."""

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
        return self.simplify(self.moment(4) - 3)

    def abs_mean(self) -> sp.Expr:
        r""":math:`E|X|`, the limit :math:`\varphi(a \to 1)` of the amplifier."""
        return sp.Float(self.law.abs_mean(), 15)

    # ------------------------------------------------------------------ numeric
    def gaussian_transform(self, z: np.ndarray) -> np.ndarray:
        r"""Monotone map :math:`f = Q \circ \Phi` with :math:`f(Z) \sim X`, vectorised."""
        return self.law.gaussian_transform(z)

    def expect(self, func: Callable[[np.ndarray], np.ndarray]) -> float:
        r""":math:`E[h(X)]` by adaptive quadrature (``func`` maps arrays to arrays)."""
        return self.law.expect(func)

    def sample(self, size: int | tuple[int, ...], rng: SeedLike = None) -> np.ndarray:
        """Draw i.i.d. samples (float64) of the given ``size``."""
        return self.law.sample(size, rng)

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
    def from_samples(samples: Any, *, standardize: bool = True,
                     symmetrize: bool = False) -> Marginal:
        r"""The empirical marginal of a sample of one pixel (``docs/usage.md``).

        Its law is :class:`rfloc.numerics.laws.EmpiricalLaw`: moments are sample averages
        (SymPy Floats, given up to the order the sample supports, see
        :meth:`~rfloc.numerics.laws.EmpiricalLaw.supported_order`), the amplifier is the
        sample average :math:`\varphi_n(a)` with its Monte Carlo band
        (``law.phi(a)``), and ``law.kurtosis_interval()`` is the 95 % interval of
        :math:`\kappa`. ``symmetrize`` mirrors the sample (``law.asymmetry`` says whether
        the sample needed it).
        """
        return _SampleMarginal(laws.EmpiricalLaw(samples, standardize=standardize,
                                                 symmetrize=symmetrize))

    @staticmethod
    def from_quantile(expr: sp.Expr, u: sp.Symbol, *, name: str = "quantile") -> Marginal:
        """A marginal from a quantile function ``Q(u)`` on (0, 1) with ``Q(1-u) = -Q(u)``.

        The law is scaled to unit variance.
        """
        return _QuantileMarginal(expr, u, name=name)


# ====================================================================== concrete laws
class Gaussian(Marginal):
    r"""Standard normal :math:`N(0, 1)`; :math:`m_{2k} = (2k-1)!!`."""

    law = laws.Gaussian()
    try_closed_form = True

    @property
    def density(self) -> sp.Expr:
        return sp.exp(-X_SYMBOL**2 / 2) / sp.sqrt(2 * sp.pi)

    def _even_moment(self, n: int) -> sp.Expr:
        return sp.factorial2(n - 1)

    def abs_mean(self) -> sp.Expr:
        return sp.sqrt(2 / sp.pi)


class Binary(Marginal):
    r"""Symmetric :math:`\pm 1` pixels (Ising spins, NLGP at :math:`g \to \infty`)."""

    law = laws.Binary()

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


class Uniform(Marginal):
    r"""Uniform on :math:`[-\sqrt3, \sqrt3]`; :math:`m_n = 3^{n/2}/(n+1)`, :math:`\kappa=-6/5`."""

    law = laws.Uniform()
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


class Laplace(Marginal):
    r"""Laplace with scale :math:`1/\sqrt2`; :math:`m_n = n!/2^{n/2}`, :math:`\kappa = 3`."""

    law = laws.Laplace()
    try_closed_form = True

    @property
    def density(self) -> sp.Expr:
        return sp.exp(-sp.sqrt(2) * sp.Abs(X_SYMBOL)) / sp.sqrt(2)

    def _even_moment(self, n: int) -> sp.Expr:
        return sp.factorial(n) / sp.sqrt(2) ** n

    def abs_mean(self) -> sp.Expr:
        return 1 / sp.sqrt(2)


class StudentT(Marginal):
    r"""Student-t with :math:`\nu > 2` degrees of freedom, scaled to unit variance.

    Moments of order :math:`n \ge \nu` do not exist; for even :math:`n < \nu`,
    :math:`m_n = (\nu-2)^{n/2}\,\Gamma(\tfrac{n+1}{2})\Gamma(\tfrac{\nu-n}{2})
    / (\sqrt\pi\,\Gamma(\tfrac\nu2))`.
    """

    def __init__(self, nu: float) -> None:
        self.law = laws.StudentT(nu)
        self.nu = self.law.nu
        self._nu = exact_parameter(self.nu)

    def simplify(self, expr: sp.Expr) -> sp.Expr:
        return _gammasimp_short(expr)

    def _gamma(self, arg: sp.Expr) -> sp.Expr:
        r""":math:`\Gamma(\text{arg})`, left unevaluated for a long ``nu`` (SymPy would
        otherwise expand :math:`\Gamma(\nu/2)` of a huge integer into a factorial)."""
        return sp.gamma(arg, evaluate=max(self._nu.p, self._nu.q) <= _SHORT_DENOMINATOR)

    @property
    def density(self) -> sp.Expr:
        nu, x = self._nu, X_SYMBOL
        s = sp.sqrt((nu - 2) / nu)
        base = self._gamma((nu + 1) / 2) / (sp.sqrt(nu * sp.pi) * self._gamma(nu / 2))
        return base * (1 + (x / s) ** 2 / nu) ** (-(nu + 1) / 2) / s

    def _even_moment(self, n: int) -> sp.Expr:
        nu = self._nu
        k = sp.Rational(n, 2)
        return (nu - 2) ** k * self._gamma(k + sp.Rational(1, 2)) * self._gamma(nu / 2 - k) / (
            sp.sqrt(sp.pi) * self._gamma(nu / 2))

    def abs_mean(self) -> sp.Expr:
        nu = self._nu
        return 2 * sp.sqrt(nu - 2) * self._gamma((nu + 1) / 2) / (
            sp.sqrt(sp.pi) * (nu - 1) * self._gamma(nu / 2))


class ErfGaussian(Marginal):
    r"""The NLGP(g) pixel: :math:`X = \mathrm{erf}(gZ)/Z(g)`, :math:`Z \sim N(0,1)`.

    :math:`Z(g)^2 = E[\mathrm{erf}(gZ)^2] = \tfrac2\pi \arcsin\tfrac{2g^2}{1+2g^2}`.
    :math:`g \to 0` is Gaussian, :math:`g \to \infty` is :class:`Binary`.
    Convention: the gain multiplies :math:`z` directly (IG22's ``erf(g z / sqrt 2)`` is
    this family at :math:`g/\sqrt2`).
    Moments beyond the second have no elementary closed form; they are returned as
    30-digit SymPy Floats from mpmath quadrature (``exact_moments = False``).
    """

    law: laws.ErfGaussian
    exact_moments = False

    def __init__(self, g: float) -> None:
        self.law = laws.ErfGaussian(g)
        self.g = self.law.g
        self._g = exact_parameter(self.g)

    @property
    def z_norm(self) -> float:
        """:math:`Z(g)` as a float (the numeric twin of :meth:`normaliser`)."""
        return self.law.z_norm

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

    def _mp_moment(self, n: int, dps: int) -> Any:
        r""":math:`E[X^n]` as an mpmath number, quadrature in :math:`z` at ``dps`` digits
        (knots at the boundary layer :math:`|z| \lesssim 1/g`, capped as in the law)."""
        import mpmath

        with mpmath.workdps(dps):
            g = mpmath.mpf(self._g.p) / self._g.q
            zg = mpmath.sqrt(2 / mpmath.pi * mpmath.asin(2 * g**2 / (1 + 2 * g**2)))
            f = lambda t: (mpmath.erf(g * t) / zg) ** n * mpmath.npdf(t)  # noqa: E731
            pts = sorted({0, min(1 / g, 8), min(4 / g, 9), 10})
            return 2 * mpmath.quad(f, [*pts, mpmath.inf])

    def _digits(self) -> int:
        r"""Working digits: 40, plus the :math:`2\log_{10}(1/g)` that
        :math:`E[X^4] - 3 \approx -8g^2` cancels."""
        return 40 + 2 * max(0, math.ceil(-math.log10(self.g)))

    def _even_moment(self, n: int) -> sp.Expr:
        if n == 2:
            return sp.Integer(1)
        return sp.Float(str(self._mp_moment(n, min(self._digits(), 60))), 30)

    def excess_kurtosis(self) -> sp.Expr:
        r""":math:`\kappa` to 30 digits: :math:`-8g^2 + 40g^4` below :math:`g = 10^{-8}`
        (the next term is :math:`O(g^6)`), else :math:`E[X^4] - 3` by quadrature at
        enough digits to survive the cancellation."""
        if self.g < 1e-8:
            g = sp.Float(self._g, 40)
            return sp.Float(-8 * g**2 + 40 * g**4, 30)
        import mpmath

        with mpmath.workdps(self._digits()):
            return sp.Float(str(self._mp_moment(4, self._digits()) - 3), 30)

    def abs_mean(self) -> sp.Expr:
        # E|erf(gZ)| = (2/pi) arctan(sqrt(2) g): differentiate in g, integrate back.
        return 2 / sp.pi * sp.atan(sp.sqrt(2) * self._g) / self.normaliser()


class Algebraic(Marginal):
    r"""The Kur(k) family: quantile :math:`Q_k(u) = (2u-1)/(1-|2u-1|^k)^{1/k}`, standardised.

    Density of the unstandardised law :math:`\tfrac12 (1+|y|^k)^{-1-1/k}`, tails
    :math:`\sim |y|^{-k-1}`: moments of order :math:`n < k` exist, with
    :math:`E|Y|^n = \tfrac1k B(\tfrac{n+1}k, 1-\tfrac nk)`. The variance needs
    :math:`k > 2`; :math:`\kappa` changes sign near :math:`k \approx 5.9` and tends to
    :math:`-6/5` (uniform) as :math:`k \to \infty`.
    """

    def __init__(self, k: float) -> None:
        self.law = laws.Algebraic(k)
        self.k = self.law.k
        self._k = exact_parameter(self.k)

    def simplify(self, expr: sp.Expr) -> sp.Expr:
        return _gammasimp_short(expr)

    def _raw_abs_moment(self, n: int) -> sp.Expr:
        k = self._k
        return sp.gamma((n + 1) / k) * sp.gamma(1 - sp.Integer(n) / k) / (k * sp.gamma(
            1 + sp.Integer(1) / k))

    @property
    def density(self) -> sp.Expr:
        """The standardised density; for a long ``k`` (numerator or denominator above
        ``_SHORT_DENOMINATOR``) the power :math:`|xs|^k` is kept unexpanded, since SymPy
        would otherwise expand :math:`s^k` into an exact rational of millions of digits."""
        s = sp.sqrt(self._raw_abs_moment(2))
        k = self._k
        long_k = max(k.p, k.q) > _SHORT_DENOMINATOR
        scaled = sp.Abs(X_SYMBOL) * s
        power = (sp.UnevaluatedExpr(scaled) if long_k else scaled) ** k
        return (1 + power) ** (-1 - 1 / k) * s / 2

    def _even_moment(self, n: int) -> sp.Expr:
        return self._raw_abs_moment(n) / self._raw_abs_moment(2) ** sp.Rational(n, 2)

    def abs_mean(self) -> sp.Expr:
        return self._raw_abs_moment(1) / sp.sqrt(self._raw_abs_moment(2))


# ====================================================================== user-defined
def _numeric_moment(func: Callable[[float], float], lo: float, hi: float) -> sp.Float:
    """:math:`\\int_{lo}^{hi}` ``func`` by quadrature, as a 15-digit SymPy Float."""
    return sp.Float(integrate.quad(func, lo, hi, **QUAD)[0], 15)


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
        self._x, self._lo, self._hi = x, lo, hi
        self._raw = expr
        self._f = sp.lambdify(x, expr, "math")
        alpha = self._tail_exponent()
        self.law = laws.DensityLaw(self._f, float(hi), name=name, label=str(expr),
                                   max_moment=alpha - 1)

    def _tail_exponent(self) -> float:
        r""":math:`\alpha` with density :math:`\sim |x|^{-\alpha}` as :math:`|x| \to \infty`
        (``inf`` for a bounded support or faster decay): moments of order :math:`n` exist
        iff :math:`n < \alpha - 1`.

        SymPy's :math:`\lim \log p(y)/\log y`; where it has none, the slope of
        :math:`\log p` between :math:`y = 10^6` and :math:`10^7`.
        """
        if self._hi.is_finite:
            return math.inf
        y = sp.Symbol("y", positive=True)
        try:
            lim = sp.limit(sp.log(self._raw.subs(self._x, y)) / sp.log(y), y, sp.oo)
        except (NotImplementedError, ValueError, TypeError):
            lim = sp.nan
        if lim == -sp.oo:
            return math.inf
        if lim.is_extended_real and lim.is_finite:
            return -float(lim)
        p1, p2 = (abs(float(self._f(v))) for v in (1e6, 1e7))
        return math.inf if p2 == 0 else (math.log(p1) - math.log(p2)) / math.log(10.0)

    def _raw_moment(self, n: int) -> sp.Expr:
        r""":math:`2\int_0^b y^n p`: SymPy's value if finite, quadrature when SymPy leaves
        an integral; an infinite one raises (moment existence is decided by
        :meth:`_tail_exponent` first; this is the second guard)."""
        res = sp.integrate(self._x**n * self._raw, (self._x, 0, self._hi)) * 2
        if res.has(sp.oo, -sp.oo, sp.zoo):
            raise MomentError(f"moment of order {n} of {self!r} is infinite")
        if res.has(sp.Integral) or res.is_finite is not True:
            return 2 * _numeric_moment(lambda t: t**n * self._f(t), 0.0, float(self._hi))
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


def _odd_about_half(expr: sp.Expr, u: sp.Symbol) -> bool:
    """Whether :math:`Q(1-u) = -Q(u)`: symbolically, or where SymPy cannot simplify the sum
    to 0 (erfinv, logs of ratios), numerically to 1e-12 at 19 points of (0, 1/2)."""
    total = expr.subs(u, 1 - u) + expr
    if sp.simplify(total) == 0:
        return True
    q = sp.lambdify(u, expr, ["scipy", "numpy"])
    for v in np.linspace(0.025, 0.475, 19):
        a, b = complex(q(float(v))), complex(q(1 - float(v)))
        if not abs(a + b) <= 1e-12 * max(1.0, abs(a)):
            return False
    return True


class _QuantileMarginal(Marginal):
    """A user quantile function, standardised (see :meth:`Marginal.from_quantile`)."""

    def __init__(self, expr: sp.Expr, u: sp.Symbol, *, name: str) -> None:
        expr = sp.sympify(expr)
        if not _odd_about_half(expr, u):
            raise ParameterError("quantile must be odd about 1/2: Q(1-u) == -Q(u)")
        self._u, self._raw = u, expr
        self._q = sp.lambdify(u, expr, ["scipy", "numpy"])
        beta = self._tail_exponent()
        self.law = laws.QuantileLaw(self._q, name=name, label=str(expr),
                                    max_moment=math.inf if beta <= 0 else 1 / beta)

    def _tail_exponent(self) -> float:
        r""":math:`\beta` with :math:`|Q(1-t)| \sim t^{-\beta}` as :math:`t \to 0^+`
        (0 for a bounded law or slower, logarithmic growth): the density's tail is then
        :math:`|x|^{-1-1/\beta}` and moments of order :math:`n` exist iff :math:`n < 1/\beta`.

        SymPy's :math:`\lim \log|Q(1-t)|/\log(1/t)`; where it has none, the local slope
        of :math:`\log|Q(1-t)|` against :math:`\log(1/t)` at :math:`t \approx 10^{-6}`
        and at :math:`10^{-12}`: a power law keeps its slope, logarithmic growth (a
        Gaussian-like tail) loses it, and is taken as :math:`\beta = 0`.
        """
        t = sp.Symbol("t", positive=True)
        tail = self._raw.subs(self._u, 1 - t)
        try:
            lim = sp.limit(sp.log(sp.Abs(tail)) / sp.log(1 / t), t, 0, "+")
        except (NotImplementedError, ValueError, TypeError):
            lim = sp.nan
        if lim.is_extended_real and lim.is_finite:
            return max(float(lim), 0.0)
        if lim in (-sp.oo, sp.oo):
            return 0.0 if lim == -sp.oo else math.inf
        q = sp.lambdify(t, tail, ["scipy", "numpy"])

        def slope(lo: float) -> float:
            a, b = abs(float(q(lo))), abs(float(q(lo / 10)))
            return (math.log(b) - math.log(a)) / math.log(10.0) if a > 0 and b > 0 else 0.0

        near, far = slope(1e-6), slope(1e-12)
        return far if far > 0.05 and abs(far - near) <= 0.1 * far else 0.0

    def expectation(self, expr: sp.Expr, *, evaluate: bool = False) -> sp.Expr:
        q = self._raw / sp.sqrt(self._raw_moment(2))
        res = sp.Integral(expr.subs(X_SYMBOL, q), (self._u, 0, 1))
        return res.doit() if evaluate else res

    def _raw_moment(self, n: int) -> sp.Expr:
        """:math:`\\int_0^1 Q^n` (even ``n``): SymPy's value if finite, else by quadrature in
        :math:`z = \\Phi^{-1}(u)` (:func:`rfloc.numerics.laws.quantile_integral`)."""
        res = sp.integrate(self._raw**n, (self._u, 0, 1))
        if res.has(sp.oo, -sp.oo, sp.zoo):
            raise MomentError(f"moment of order {n} of {self!r} is infinite")
        if res.has(sp.Integral) or res.is_finite is not True:
            return sp.Float(laws.quantile_integral(lambda q: q**n, self._q), 15)
        return res

    def _even_moment(self, n: int) -> sp.Expr:
        return self._raw_moment(n) / self._raw_moment(2) ** sp.Rational(n, 2)


class _SampleMarginal(Marginal):
    """The empirical law of a sample (see :meth:`Marginal.from_samples`)."""

    law: laws.EmpiricalLaw
    exact_moments = False

    def __init__(self, law: laws.EmpiricalLaw) -> None:
        self.law = law

    def max_moment(self) -> float:
        """One above the highest even order the sample estimates to 10 % (moments of higher
        order exist for the finite sample but say nothing about the population)."""
        return self.law.supported_order() + 1

    def _even_moment(self, n: int) -> sp.Expr:
        return sp.Float(self.law.moment(n), 15)

    def expectation(self, expr: sp.Expr, *, evaluate: bool = False) -> sp.Expr:
        r"""The sample average :math:`\frac1n\sum_i h(z_i)` (evaluated as a Float)."""
        if evaluate:
            fn = sp.lambdify(X_SYMBOL, expr, "numpy")
            return sp.Float(self.law.expect(lambda x: np.broadcast_to(fn(x), x.shape)), 15)
        i = sp.Symbol("i", integer=True, positive=True)
        n = sp.Integer(self.law.n)
        z = sp.IndexedBase("z")
        return sp.Sum(expr.subs(X_SYMBOL, z[i]), (i, 1, n)) / n

    def abs_mean(self) -> sp.Expr:
        return sp.Float(self.law.abs_mean(), 15)


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


def as_marginal(obj: Marginal | laws.PixelLaw) -> Marginal:
    """The theory marginal of ``obj``: a :class:`Marginal` as is, a built-in numeric law
    (:mod:`rfloc.numerics.laws`, e.g. a data model's ``marginal``) by its name and params,
    an empirical law as the marginal of its sample (:meth:`Marginal.from_samples`).

    Raises
    ------
    ParameterError
        For anything else, including a user-defined numeric law (its callable has no
        symbolic form; build it with :meth:`Marginal.from_density` or
        :meth:`Marginal.from_quantile` instead).
    """
    if isinstance(obj, Marginal):
        return obj
    if isinstance(obj, laws.PixelLaw) and obj.name in laws.REGISTRY:
        return by_name(obj.name, *obj.params.values())
    if isinstance(obj, laws.EmpiricalLaw):
        return _SampleMarginal(obj)
    raise ParameterError(
        f"marginal must be an rfloc.theory Marginal or a built-in numeric law "
        f"(rfloc.numerics.laws), got {obj!r}")
