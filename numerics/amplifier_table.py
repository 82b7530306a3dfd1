r"""Tabulated amplifiers for Numba: the numeric form of the localization amplifier.

An amplifier :math:`\varphi` is odd on :math:`[-1, 1]`. In the angle
:math:`\theta = \arcsin a` it reads

.. math:: \varphi = E\big[X\,\mathrm{erf}\big(X \tan\theta / \sqrt2\big)\big],

which is smooth up to :math:`\theta = \pi/2` even where :math:`\varphi(a)` has
:math:`(1-a^2)^{3/2}` terms (e.g. Laplace), because :math:`\sqrt{1-a^2} = \cos\theta`.
We fit :math:`\varphi(\theta)` on :math:`[0, \pi/2]` with adaptive piecewise Chebyshev
interpolants (panels bisected until the trailing coefficients fall below ``tol``) and
evaluate with Clenshaw's recurrence inside Numba.

A table is the triple ``(kind, breaks, coeffs)`` handed to :func:`phi_scalar`:

- ``kind = 0`` linear, :math:`\varphi(a) = \texttt{coeffs[0, 0]}\,a` (Gaussian, elliptical);
- ``kind = 1`` binary closed form, :math:`\mathrm{erf}(a/\sqrt{2(1-a^2)})`;
- ``kind = 2`` piecewise Chebyshev: ``breaks`` (P+1,) panel edges in :math:`\theta`,
  ``coeffs`` (P, D+1) Chebyshev coefficients per panel.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import chebyshev as cheb

from rfloc.numerics._jit import kernel

KIND_LINEAR = 0
KIND_BINARY = 1
KIND_TABLE = 2

_HALF_PI = 0.5 * math.pi


@dataclass(frozen=True)
class AmplifierTable:
    """Numba-ready description of an amplifier (see module docstring)."""

    kind: int
    breaks: np.ndarray
    coeffs: np.ndarray

    @property
    def kernel_args(self) -> tuple[int, np.ndarray, np.ndarray]:
        """``(kind, breaks, coeffs)``: the trailing arguments of :func:`phi_scalar`."""
        return self.kind, self.breaks, self.coeffs

    @classmethod
    def linear(cls, slope: float) -> AmplifierTable:
        """:math:`\\varphi(a) = \\text{slope}\\cdot a`."""
        return cls(KIND_LINEAR, np.zeros(2), np.full((1, 1), float(slope)))

    @classmethod
    def binary(cls) -> AmplifierTable:
        """The closed form of ±1 pixels."""
        return cls(KIND_BINARY, np.zeros(2), np.zeros((1, 1)))

    @classmethod
    def fit(cls, phi_theta: Callable[[float], float], *, tol: float = 1e-12,
            degree: int = 20, min_width: float = 1e-7) -> AmplifierTable:
        r"""Fit :math:`\varphi(\theta)`, :math:`\theta \in [0, \pi/2]`, by adaptive panels.

        Parameters
        ----------
        phi_theta : callable
            Scalar function :math:`\theta \mapsto \varphi(\sin\theta)`.
        tol : float
            Accept a panel when its last three Chebyshev coefficients are below ``tol``.
        degree : int
            Polynomial degree per panel.
        min_width : float
            Panels narrower than this are accepted regardless (non-smooth points).
        """
        def vec(x: np.ndarray) -> np.ndarray:
            return np.array([phi_theta(float(t)) for t in x])

        todo = [(0.0, _HALF_PI)]
        panels: list[tuple[float, float, np.ndarray]] = []
        while todo:
            lo, hi = todo.pop()

            def panel(x: np.ndarray, lo: float = lo, hi: float = hi) -> np.ndarray:
                return vec(lo + (x + 1) * (hi - lo) / 2)

            # numpy's stub wants func to return a scalar type; it returns the values at x
            c: np.ndarray = cheb.chebinterpolate(panel, degree)  # type: ignore[type-var]
            if np.max(np.abs(c[-3:])) <= tol or hi - lo <= min_width:
                panels.append((lo, hi, c))
            else:
                mid = 0.5 * (lo + hi)
                todo += [(lo, mid), (mid, hi)]
        panels.sort(key=lambda p: p[0])
        breaks = np.array([p[0] for p in panels] + [_HALF_PI])
        coeffs = np.array([p[2] for p in panels])
        return cls(KIND_TABLE, breaks, coeffs)

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """Vectorised evaluation (float64, same shape as ``a``)."""
        arr = np.asarray(a, dtype=np.float64)
        out = np.empty(arr.size)
        phi_array(arr.ravel(), self.kind, self.breaks, self.coeffs, out)
        return out.reshape(arr.shape)


@kernel
def phi_scalar(a: float, kind: int, breaks: np.ndarray, coeffs: np.ndarray) -> float:
    """Evaluate a tabulated amplifier at one ``a`` (clipped to [-1, 1]; NaN propagates)."""
    if a != a:
        return a
    if kind == 0:
        return coeffs[0, 0] * a
    if a == 0.0:
        return 0.0
    s = 1.0
    if a < 0.0:
        s = -1.0
        a = -a
    if a > 1.0:
        a = 1.0
    if kind == 1:
        d = (1.0 - a) * (1.0 + a)
        if d <= 0.0:
            return s
        return s * math.erf(a / math.sqrt(2.0 * d))
    theta = math.asin(a)
    p = np.searchsorted(breaks, theta, side="right") - 1
    npan = coeffs.shape[0]
    if p >= npan:
        p = npan - 1
    if p < 0:
        p = 0
    lo = breaks[p]
    hi = breaks[p + 1]
    x = (2.0 * theta - lo - hi) / (hi - lo)
    # Clenshaw recurrence for sum_k c_k T_k(x)
    b1 = 0.0
    b2 = 0.0
    c = coeffs[p]
    for k in range(c.shape[0] - 1, 0, -1):
        b1, b2 = 2.0 * x * b1 - b2 + c[k], b1
    return s * (x * b1 - b2 + c[0])


@kernel
def phi_array(a: np.ndarray, kind: int, breaks: np.ndarray, coeffs: np.ndarray,
              out: np.ndarray) -> None:
    """``out[i] = phi(a[i])`` for 1-D arrays."""
    for i in range(a.shape[0]):
        out[i] = phi_scalar(a[i], kind, breaks, coeffs)
