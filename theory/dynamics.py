r"""Effective gradient-flow dynamics of one ReLU neuron, derived symbolically.

Model :math:`\hat y = \mathrm{ReLU}(w\cdot x)`, label :math:`y\in\{0,1\}`,
:math:`P(y=1)=p`, loss :math:`E[(y-\hat y)^2]` (no ½). SymPy differentiates the
per-sample loss in the preactivation :math:`h = w\cdot x`:

.. math:: -\partial_h (y - \mathrm{ReLU}(h))^2 = 2y\,\Theta(h) - 2\,\mathrm{ReLU}(h),

(the :math:`h\,\delta(h)` term vanishes), so the exact flow is
:math:`\dot w = 2p\,E_1[x\,\Theta(w\cdot x)] - 2E[\mathrm{ReLU}(w\cdot x)\,x]`. Two
substitutions close it:

1. sign symmetry (:math:`x \to -x` leaves each class invariant) gives exactly
   :math:`E[\mathrm{ReLU}(h)x] = \tfrac12 E[hx] = \tfrac12\bar\Sigma w`;
2. the Gaussian-conditional approximation gives
   :math:`E_1[x_i\Theta(h)] = \tfrac12\varphi(a_i)` (:mod:`rfloc.theory.amplifier`).

Result (THEORY.md (*)):
:math:`\dot w_i = p\,\varphi(a_i) - (\bar\Sigma w)_i`,
:math:`a_i = (\Sigma_1 w)_i/\sqrt{w^\top\Sigma_1 w}`,
:math:`\bar\Sigma = p\Sigma_1 + (1-p)\Sigma_0`.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import sympy as sp

from rfloc.errors import ParameterError, check_open_unit
from rfloc.numerics.integrator import effective_rhs
from rfloc.numerics.laws import PixelLaw
from rfloc.theory._amplifier import A_SYMBOL, Amplifier, amplifier
from rfloc.theory.marginals import Marginal

__all__ = ["EffectiveDynamics", "effective_dynamics", "per_sample_flow"]

_H = sp.Symbol("h", real=True)
_Y = sp.Symbol("y", real=True)


def per_sample_flow() -> sp.Expr:
    r""":math:`-\partial_h (y-\mathrm{ReLU}(h))^2`, derived by SymPy and simplified.

    Returns ``2*y*Heaviside(h) - 2*h*Heaviside(h)`` (using :math:`h\delta(h) = 0` and
    :math:`\Theta(h)^2 = \Theta(h)`).
    """
    relu = _H * sp.Heaviside(_H)
    flow = sp.expand(-sp.diff((_Y - relu) ** 2, _H))
    flow = flow.replace(sp.DiracDelta, lambda arg: 0)
    return sp.expand(flow.subs(sp.Heaviside(_H) ** 2, sp.Heaviside(_H)))


class EffectiveDynamics:
    r"""The single-neuron ODE for one marginal (see module docstring).

    Attributes
    ----------
    marginal : Marginal
    p : sympy.Rational or Float
        Class-1 proportion.
    amplifier : Amplifier
    """

    def __init__(self, marginal: Marginal | PixelLaw, p: float = 0.5, *,
                 elliptical: bool = False) -> None:
        check_open_unit("p", p)
        self.amplifier: Amplifier = amplifier(marginal, elliptical=elliptical)
        self.marginal = self.amplifier.marginal          # a numeric law maps to its twin
        self.p = sp.nsimplify(p)
        self._p = float(p)

    def __repr__(self) -> str:
        return f"EffectiveDynamics({self.marginal!r}, p={self._p})"

    # ------------------------------------------------------------------ symbolic
    @cached_property
    def _symbols(self) -> dict[str, sp.Basic]:
        n = sp.Symbol("N", integer=True, positive=True)
        i, j, k = sp.symbols("i j k", integer=True, positive=True)
        return {
            "N": n, "i": i, "j": j, "k": k, "t": sp.Symbol("t", real=True),
            "w": sp.IndexedBase("w"), "S1": sp.IndexedBase(r"\Sigma_1"),
            "S0": sp.IndexedBase(r"\Sigma_0"),
        }

    @cached_property
    def derivation(self) -> list[tuple[str, sp.Expr]]:
        """The derivation as (sentence, SymPy expression) steps, in order."""
        s = self._symbols
        w, S1, S0, i, j, n = s["w"], s["S1"], s["S0"], s["i"], s["j"], s["N"]
        e1 = sp.Function("E_1")
        e_all = sp.Function("E")
        flow = per_sample_flow()
        p = self.p
        exact = sp.Eq(sp.Symbol(r"\dot w_i"),
                      2 * p * e1(sp.Symbol("x_i") * sp.Heaviside(_H))
                      - 2 * e_all(_H * sp.Heaviside(_H) * sp.Symbol("x_i")))
        sbar_w = sp.Sum((p * S1[i, j] + (1 - p) * S0[i, j]) * w[j], (j, 1, n))
        phi = sp.Function(r"\varphi")
        return [
            ("per-sample gradient flow of (y - ReLU(h))^2 in h", flow),
            ("average over the data, y = 1 with probability p", exact),
            ("sign symmetry: E[ReLU(h) x_i] = E[h x_i]/2", sp.Rational(1, 2) * sbar_w),
            ("Gaussian conditional preactivation: E_1[x_i Θ(h)] = φ(a_i)/2",
             sp.Rational(1, 2) * phi(self.a_i)),
            ("effective dynamics, with a_i defined above", self.equation),
        ]

    @cached_property
    def a_i(self) -> sp.Expr:
        r""":math:`a_i = (\Sigma_1 w)_i / \sqrt{w^\top \Sigma_1 w}`."""
        s = self._symbols
        w, S1, i, j, k, n = s["w"], s["S1"], s["i"], s["j"], s["k"], s["N"]
        return sp.Sum(S1[i, j] * w[j], (j, 1, n)) / sp.sqrt(
            sp.Sum(w[j] * S1[j, k] * w[k], (j, 1, n), (k, 1, n)))

    @cached_property
    def equation(self) -> sp.Eq:
        r""":math:`\dot w_i = p\,\varphi(a_i) - \sum_j \bar\Sigma_{ij} w_j` in the symbol
        :math:`a_i` (defined by :attr:`a_i`), with :math:`\varphi` replaced by its closed
        form where one exists (so Gaussian and elliptical data show a linear,
        non-localizing flow)."""
        s = self._symbols
        w, S1, S0, i, j, n, t = s["w"], s["S1"], s["S0"], s["i"], s["j"], s["N"], s["t"]
        a_i = sp.Symbol("a_i", real=True)
        cf = self.amplifier.closed_form
        phi = cf.subs(A_SYMBOL, a_i) if cf is not None else sp.Function(r"\varphi")(a_i)
        p = self.p
        rhs = p * phi - sp.Sum((p * S1[i, j] + (1 - p) * S0[i, j]) * w[j], (j, 1, n))
        return sp.Eq(sp.Derivative(sp.Function("w_i")(t), t), rhs)

    @property
    def is_linear(self) -> bool:
        """True when the amplifier is linear in ``a`` (Gaussian or elliptical data)."""
        cf = self.amplifier.closed_form
        return cf is not None and sp.simplify(sp.diff(cf, A_SYMBOL, 2)) == 0

    @property
    def assumptions(self) -> list[str]:
        """The assumptions behind :attr:`equation`, as plain sentences."""
        common = [
            "Each class is sign-symmetric (x and -x are equally likely), so "
            "E[ReLU(w.x) x] = (1/2) Sigma w exactly.",
            "Pixels have zero mean and unit variance; the class covariances are Sigma_1 "
            "(label 1) and Sigma_0 (label 0).",
            "Gradient flow: online SGD with learning rate eta in the small-eta limit, "
            "t = eta * steps; loss (y - yhat)^2 without a 1/2.",
        ]
        if self.amplifier.elliptical:
            return [*common,
                    "Class-1 data are elliptical (x = r L u, u uniform on the sphere), so "
                    "E_1[x 1(w.x > 0)] = (1/2) E|X| Sigma_1 w / sqrt(w' Sigma_1 w) exactly: "
                    "no further approximation."]
        return [*common,
                "Given one pixel x_i, the conditional mean of x_j is linear in x_i "
                "(exact for +-1 pixels and Gaussian data).",
                "Given one pixel x_i, the preactivation w.x is Gaussian with mean "
                "(Sigma_1 w)_i x_i and variance w' Sigma_1 w - (Sigma_1 w)_i^2 (exact "
                "moments when x_i^2 = 1; Gaussianity is the approximation, best early in "
                "training while w is delocalized)."]

    def latex(self) -> str:
        """LaTeX of :attr:`equation` followed by the definition of :math:`a_i`."""
        return (sp.latex(self.equation) + r", \qquad a_i = " + sp.latex(self.a_i))

    # ------------------------------------------------------------------- numeric
    def rhs(self, w: np.ndarray, cov1: np.ndarray, cov0: np.ndarray) -> np.ndarray:
        r""":math:`p\,\varphi(\Sigma_1 w/\|w\|_{\Sigma_1}) - \bar\Sigma w` in NumPy.

        Parameters
        ----------
        w : ndarray, shape (N,) or (M, N)
        cov1, cov0 : ndarray, shape (N, N)
        """
        w = np.asarray(w, dtype=np.float64)
        cov1 = np.asarray(cov1, dtype=np.float64)
        cov0 = np.asarray(cov0, dtype=np.float64)
        n = w.shape[-1]
        for name, c in (("cov1", cov1), ("cov0", cov0)):
            if c.shape != (n, n):
                raise ParameterError(f"{name} must have shape ({n}, {n}) to match w, "
                                     f"got {c.shape}")
        if np.any(np.sum(w * (w @ cov1.T), axis=-1) <= 0):
            raise ParameterError("w must be non-zero (w' Sigma_1 w > 0)")
        covbar = self._p * cov1 + (1 - self._p) * cov0
        return effective_rhs(w, cov1, covbar, self._p, self.amplifier)


def effective_dynamics(marginal: Marginal | PixelLaw, p: float = 0.5, *,
                       elliptical: bool = False) -> EffectiveDynamics:
    r"""The effective single-ReLU-neuron ODE for pixel ``marginal`` and class-1 share ``p``."""
    return EffectiveDynamics(marginal, p, elliptical=elliptical)
