r"""The localization amplifier :math:`\varphi` of a pixel marginal.

Conditioned on one pixel :math:`x_i`, the preactivation of a ReLU neuron is taken to be
Gaussian with mean :math:`(\Sigma_1 w)_i x_i` and variance
:math:`w^\top\Sigma_1 w - (\Sigma_1 w)_i^2` (``docs/theory.md`` §4). Then
:math:`E_1[x_i\,1(w\cdot x>0)] = \tfrac12\varphi(a_i)` with
:math:`a_i = (\Sigma_1 w)_i/\sqrt{w^\top\Sigma_1 w}` and

.. math:: \varphi(a) = E_X\!\left[X\,\mathrm{erf}\!\left(\frac{aX}{\sqrt{2(1-a^2)}}\right)\right],
          \qquad a \in [-1, 1].

Three routes to the same object, each a check on the others:

- :attr:`Amplifier.expr` — the expectation carried out by SymPy where it terminates
  (Gaussian, ±1, uniform, Laplace, user densities), else the unevaluated integral;
- :meth:`Amplifier.coefficients` / :meth:`Amplifier.series` — exact odd-order
  coefficients from the marginal's moments: with :math:`c = a/\sqrt{1-a^2}` and
  :math:`\mathrm{erf}(y) = \tfrac{2}{\sqrt\pi}\sum_n (-1)^n y^{2n+1}/(n!(2n+1))`,

  .. math:: \varphi(a) = \frac{2}{\sqrt\pi}\sum_{n\ge0}
            \frac{(-1)^n\, m_{2n+2}}{n!\,(2n+1)\,2^{n+1/2}}\; c^{2n+1},
            \qquad c^{2n+1} = \sum_{r\ge0} \frac{(n+\tfrac12)_r}{r!}\, a^{2n+2r+1};

- :meth:`Amplifier.__call__` — NumPy evaluation (abs. error ~1e-12) through the Numba
  table of :mod:`rfloc.numerics.amplifier_table`.

Elliptical data (``elliptical=True``) need no Gaussian approximation: by spherical
symmetry :math:`E[x\,1(w\cdot x>0)] = \tfrac12 E|X|\,\Sigma w/\sqrt{w^\top\Sigma w}`, i.e.
:math:`\varphi(a) = E|X|\,a` exactly — linear whatever the radial law.
"""

from __future__ import annotations

import itertools
import math
from functools import cached_property

import mpmath
import numpy as np
import sympy as sp
from scipy import integrate, optimize, special

from rfloc.errors import ParameterError, check_int
from rfloc.numerics.amplifier_table import AmplifierTable
from rfloc.numerics.laws import EmpiricalLaw, PixelLaw
from rfloc.theory.marginals import X_SYMBOL, Binary, Gaussian, Marginal, as_marginal

__all__ = ["A_SYMBOL", "Amplifier", "amplifier"]

#: The amplifier's argument :math:`a = (\Sigma_1 w)_i / \|w\|_{\Sigma_1}`.
A_SYMBOL = sp.Symbol("a", real=True)
_A_POS = sp.Symbol("a", positive=True)
_B = sp.Symbol("b", positive=True)
_HALF_PI = 0.5 * math.pi


def _odd_extension(expr_pos: sp.Expr) -> sp.Expr:
    """Write a formula valid for 0 < a < 1 as an odd function of the real symbol ``a``.

    Non-odd formulas become ``sign(a) f(|a|)``, which keeps their numerical evaluation
    free of the cancellation that ``erfc(-x) = 2 - erfc(x)`` would bring for a < 0.
    """
    f = expr_pos.subs(_A_POS, A_SYMBOL)
    if sp.simplify(f + f.subs(A_SYMBOL, -A_SYMBOL)) == 0:
        return f
    return sp.sign(A_SYMBOL) * f.subs(A_SYMBOL, sp.Abs(A_SYMBOL))


class Amplifier:
    r"""The localization amplifier :math:`\varphi` of one marginal (see module docstring).

    Build it with :func:`amplifier`. Attributes: ``marginal`` (always a theory
    :class:`~rfloc.theory.Marginal`, see :func:`~rfloc.theory.as_marginal`), ``elliptical``.
    """

    def __init__(self, marginal: Marginal | PixelLaw, *, elliptical: bool = False) -> None:
        self.marginal = as_marginal(marginal)
        self.elliptical = bool(elliptical)

    def __repr__(self) -> str:
        tag = ", elliptical=True" if self.elliptical else ""
        return f"Amplifier({self.marginal!r}{tag})"

    # ------------------------------------------------------------------ symbolic
    @cached_property
    def integral(self) -> sp.Expr:
        r"""The defining expectation, unevaluated, with :math:`b = a/\sqrt{2(1-a^2)}`."""
        if self.elliptical:
            return self.marginal.expectation(sp.Abs(X_SYMBOL)) * A_SYMBOL
        b = A_SYMBOL / sp.sqrt(2 * (1 - A_SYMBOL**2))
        return self.marginal.expectation(X_SYMBOL * sp.erf(b * X_SYMBOL))

    @cached_property
    def closed_form(self) -> sp.Expr | None:
        """The expectation in closed form, or None when SymPy has none for this marginal."""
        m = self.marginal
        if self.elliptical:
            return m.abs_mean() * A_SYMBOL
        if isinstance(m, Binary):
            return sp.erf(A_SYMBOL / sp.sqrt(2 * (1 - A_SYMBOL**2)))
        if not m.try_closed_form:
            return None
        inner = m.expectation(X_SYMBOL * sp.erf(_B * X_SYMBOL), evaluate=True)
        if inner.has(sp.Integral):
            return None
        pos = sp.simplify(inner.subs(_B, _A_POS / sp.sqrt(2 * (1 - _A_POS**2))))
        return _odd_extension(pos)

    @property
    def expr(self) -> sp.Expr:
        r""":math:`\varphi(a)` in the symbol :data:`A_SYMBOL`: closed form or the integral."""
        cf = self.closed_form
        return self.integral if cf is None else cf

    def coefficients(self, order: int) -> list[sp.Expr]:
        r"""Coefficients of :math:`a, a^3, \dots, a^{\text{order}}`: exact where the
        marginal's moments are (``marginal.exact_moments``), else Floats carrying the
        precision of those moments.

        The coefficient of :math:`a^{2j+1}` needs the moment :math:`m_{2j+2}`; a
        :class:`~rfloc.errors.MomentError` is raised when that moment does not exist.
        The cubic coefficient is :math:`-\sqrt{2/\pi}\,\kappa/6`.
        """
        order = check_int("order", order, minimum=1)
        if self.elliptical:
            return [self.marginal.abs_mean()] + [sp.Integer(0)] * ((order - 1) // 2)
        jmax = (order - 1) // 2
        moments = [self.marginal.moment(2 * n + 2) for n in range(jmax + 1)]
        out = []
        for j in range(jmax + 1):
            total = sp.Integer(0)
            for n in range(j + 1):
                r = j - n
                pref = 2 / sp.sqrt(sp.pi) * (-1) ** n * moments[n] / (
                    sp.factorial(n) * (2 * n + 1) * sp.sqrt(2) ** (2 * n + 1))
                total += pref * sp.rf(n + sp.Rational(1, 2), r) / sp.factorial(r)
            out.append(self._finish(total))
        if jmax >= 1:       # the same number, free of the cancellation m4 - 3 in floats
            out[1] = self._finish(-sp.sqrt(2 / sp.pi) * self.marginal.excess_kurtosis() / 6)
        return out

    def _finish(self, coefficient: sp.Expr) -> sp.Expr:
        """An exact coefficient simplified by its marginal (never rounded or guessed); one
        built from Float moments, evaluated to their precision as one Float."""
        floats = coefficient.atoms(sp.Float)
        if not floats:
            return self.marginal.simplify(coefficient)
        digits = min((mpmath.libmp.prec_to_dps(f._prec) for f in floats), default=30)
        return sp.Float(coefficient.evalf(digits + 5), digits)

    def max_order(self) -> float:
        r"""Highest odd order whose coefficient exists (:math:`a^{2j+1}` needs
        :math:`m_{2j+2}`); ``inf`` when all moments exist, 0 when not even :math:`a^1` does."""
        mm = self.marginal.max_moment()
        if self.elliptical or math.isinf(mm):
            return math.inf
        j = math.ceil(mm / 2) - 2          # largest j with 2j + 2 < mm
        return 2 * j + 1 if j >= 0 else 0

    def series(self, order: int) -> sp.Expr:
        r"""Truncated odd series :math:`\sum_j c_j a^{2j+1} + O(a^{\text{order}+2})`."""
        coeffs = self.coefficients(order)
        poly = sp.Add(*[c * A_SYMBOL ** (2 * j + 1) for j, c in enumerate(coeffs)])
        return poly + sp.O(A_SYMBOL ** (2 * len(coeffs) + 1))

    def latex(self, *, order: int | None = None) -> str:
        r"""LaTeX of :math:`\varphi(a)` (and of its series to ``order`` if given)."""
        text = r"\varphi(a) = " + sp.latex(self.expr)
        if order is not None:
            text += r" = " + sp.latex(self.series(order))
        return text

    # ------------------------------------------------------------------- numeric
    def _phi_theta(self, theta: float) -> float:
        """:math:`\\varphi(\\sin\\theta)` by quadrature (used to build the table)."""
        abs_mean = self._abs_mean
        if theta >= _HALF_PI * (1 - 1e-15):
            return abs_mean
        c = math.tan(theta) / math.sqrt(2.0)
        if c < 1.0:
            return self.marginal.expect(lambda x: x * special.erf(c * x))
        return abs_mean - self._complement(c)

    def _complement(self, c: float) -> float:
        r""":math:`E[|X|\,\mathrm{erfc}(c|X|)]` for :math:`c \ge 1`.

        Near :math:`a = 1`, :math:`\mathrm{erf}(cX)` is a step of width :math:`1/c`, which
        a quadrature over the whole support can miss; the complement lives where
        :math:`|X| < 8/c` (beyond, erfc < 1e-29). With the monotone map :math:`X = f(Z)`
        it is :math:`2\int_0^{z^*} f(z)\,\mathrm{erfc}(c f(z))\,\phi(z)\,dz`,
        :math:`f(z^*) = 8/c`, an integral over a window that scales with :math:`1/c`.
        """
        f = self.marginal.gaussian_transform
        def g(z: float) -> float:
            return float(f(np.array([z]))[0])
        target = 8.0 / c
        hi = 1.0
        while g(hi) < target and hi < 38.0:
            hi *= 2.0
        z_star = optimize.brentq(lambda z: g(z) - target, 0.0, hi, xtol=1e-15) if (
            g(hi) >= target) else 12.0
        def integrand(z: float) -> float:
            x = abs(g(z))
            return x * math.erfc(c * x) * math.exp(-0.5 * z * z)
        # geometric panels resolve whatever scale f has near z = 0
        edges = [0.0] + [z_star * 2.0**-k for k in range(40, -1, -1)]
        val = sum(integrate.quad(integrand, lo, up, epsabs=1e-15, epsrel=1e-10, limit=100)[0]
                  for lo, up in itertools.pairwise(edges))
        return 2.0 * val / math.sqrt(2.0 * math.pi)

    @cached_property
    def _abs_mean(self) -> float:
        return float(self.marginal.abs_mean())

    @cached_property
    def table(self) -> AmplifierTable:
        """The Numba-evaluable form of :math:`\\varphi`
        (see :mod:`rfloc.numerics.amplifier_table`)."""
        m = self.marginal
        if self.elliptical:
            return AmplifierTable.linear(float(m.abs_mean()))
        if isinstance(m, Gaussian):
            return AmplifierTable.linear(math.sqrt(2.0 / math.pi))
        if isinstance(m, Binary):
            return AmplifierTable.binary()
        if isinstance(m.law, EmpiricalLaw):       # the sample average, tabulated
            return m.law.amplifier_table()
        return AmplifierTable.fit(self._phi_theta)

    def __call__(self, a: np.ndarray | float, *, clip: bool = False) -> np.ndarray:
        r"""Evaluate :math:`\varphi` elementwise.

        Parameters
        ----------
        a : array_like of real, any shape
            Points in :math:`[-1, 1]` (NaN propagates).
        clip : bool
            Clip ``a`` to :math:`[-1, 1]` first (rounding just outside the interval);
            by default a point outside raises.

        Returns
        -------
        ndarray, float64, same shape as ``a``

        Raises
        ------
        ParameterError
            If ``a`` is not real, or (without ``clip``) some :math:`|a| > 1`.
        """
        if np.iscomplexobj(a):
            raise ParameterError("a must be real, got a complex array")
        try:
            arr = np.asarray(a, dtype=np.float64)
        except (TypeError, ValueError):
            raise ParameterError(f"a must be a real array in [-1, 1], got {a!r}") from None
        if clip:
            arr = np.clip(arr, -1.0, 1.0)
        elif np.any(np.abs(arr) > 1.0):
            bad = arr[np.abs(arr) > 1.0].flat[0]
            raise ParameterError(f"a must be in [-1, 1] (or pass clip=True), got {float(bad)!r}")
        return self.table(arr)

    def quadrature(self, a: float) -> float:
        r""":math:`\varphi(a)` by direct adaptive quadrature (slow reference route)."""
        a = float(a)
        if not -1.0 <= a <= 1.0:
            raise ParameterError(f"a must be in [-1, 1], got {a!r}")
        if self.elliptical:
            return float(self.marginal.abs_mean()) * a
        return math.copysign(self._phi_theta(math.asin(abs(a))), a)

    @property
    def slope_at_zero(self) -> sp.Expr:
        r""":math:`\varphi'(0)` (:math:`\sqrt{2/\pi}` for any non-elliptical marginal)."""
        return self.coefficients(1)[0]

    @property
    def limit_at_one(self) -> sp.Expr:
        r""":math:`\varphi(1^-) = E|X|`."""
        return self.marginal.abs_mean()


def amplifier(marginal: Marginal | PixelLaw, *, elliptical: bool = False) -> Amplifier:
    r"""The localization amplifier :math:`\varphi` of ``marginal``.

    Parameters
    ----------
    marginal : Marginal or rfloc.numerics.laws.PixelLaw
        The pixel marginal (unit variance, symmetric); a built-in numeric law (e.g. a data
        model's ``marginal``) is mapped to its theory marginal by :func:`as_marginal`.
    elliptical : bool
        If True, the data are elliptical with this pixel marginal: the exact amplifier
        :math:`E|X|\,a` (linear) replaces the Gaussian-conditional approximation.
    """
    return Amplifier(marginal, elliptical=elliptical)
