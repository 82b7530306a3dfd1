r"""A cheap, verified re-tabulation of an amplifier for the integrator's inner loop.

The bridge's :func:`rfloc.theory.bridge.phi_scalar` is exact but costs an ``erf`` (binary)
or an ``asin`` plus a degree-20 Clenshaw sum (tabulated marginals) per pixel. The effective
dynamics evaluate :math:`\varphi` N times per right-hand side, so the integrator instead uses

.. math:: \varphi(a) = \operatorname{sign}(a)\, g\big(\sqrt{1-|a|}\big), \qquad
          g(v) = \varphi(1 - v^2), \quad v \in [0, 1],

with :math:`g` piecewise polynomial on ``K`` equal cells (degree :data:`DEGREE`, monomial
coefficients in the local coordinate :math:`t \in [-1, 1]`, Horner evaluation). The variable
:math:`v` makes :math:`g` smooth up to :math:`a = \pm1`: :math:`\arccos a = 2\arcsin(v/\sqrt2)`
is analytic in :math:`v`, and every bridge amplifier is smooth in :math:`\theta=\arcsin a`.
The table is refined until its error against ``phi_scalar``, checked at points between the
interpolation nodes, is below the requested tolerance; otherwise the caller falls back to
``phi_scalar``.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.polynomial import chebyshev as cheb

from rfloc.theory.bridge import KIND_LINEAR, AmplifierTable

DEGREE = 7
_MIN_CELLS = 16
_MAX_CELLS = 4096
_NODES = np.cos(np.pi * (np.arange(DEGREE + 1) + 0.5) / (DEGREE + 1))
_CHECK = np.linspace(-1.0, 1.0, 2 * DEGREE + 3)
# values at the Chebyshev nodes -> monomial coefficients in t (both maps are linear)
_TO_MONOMIAL = np.array([np.pad(cheb.cheb2poly(np.eye(DEGREE + 1)[k]), (0, DEGREE - k))
                         for k in range(DEGREE + 1)])
_FROM_VALUES = np.linalg.inv(cheb.chebvander(_NODES, DEGREE)).T @ _TO_MONOMIAL


def _g(table: AmplifierTable, v: np.ndarray) -> np.ndarray:
    return table(1.0 - v * v)


def _fit(table: AmplifierTable, cells: int) -> np.ndarray:
    left = np.arange(cells)[:, None]
    values = _g(table, (left + 0.5 * (_NODES[None, :] + 1.0)) / cells)
    return values @ _FROM_VALUES


def horner(coeffs: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate per-cell polynomials: ``coeffs`` (..., DEGREE+1) at ``t`` (..., P)."""
    y = np.broadcast_to(coeffs[..., DEGREE:DEGREE + 1], t.shape).copy()
    for d in range(DEGREE - 1, -1, -1):
        y = y * t + coeffs[..., d:d + 1]
    return y


def max_error(table: AmplifierTable, coeffs: np.ndarray) -> float:
    """Largest ``|g_table - g|`` over checkpoints between (and at) the nodes of every cell."""
    cells = coeffs.shape[0]
    v = (np.arange(cells)[:, None] + 0.5 * (_CHECK[None, :] + 1.0)) / cells
    approx = horner(coeffs, np.broadcast_to(_CHECK, v.shape))
    return float(np.max(np.abs(approx - _g(table, v))))


def tabulate(table: AmplifierTable, tol: float) -> np.ndarray:
    """Cell coefficients ``(K, DEGREE+1)`` accurate to ``tol``, or ``(0, DEGREE+1)``.

    An empty table tells the kernels to call ``phi_scalar`` directly: for the linear kind
    (already one multiplication), for ``tol == 0``, or when ``_MAX_CELLS`` cells do not
    reach ``tol`` (an amplifier that is not smooth in ``v``). Results are cached by the
    table's content.
    """
    breaks = np.ascontiguousarray(table.breaks, dtype=np.float64)
    coeffs = np.ascontiguousarray(table.coeffs, dtype=np.float64)
    return _tabulate(int(table.kind), breaks.tobytes(), coeffs.tobytes(), coeffs.shape,
                     float(tol)).copy()


@functools.lru_cache(maxsize=64)
def _tabulate(kind: int, breaks: bytes, coeffs: bytes, shape: tuple[int, int],
              tol: float) -> np.ndarray:
    table = AmplifierTable(kind, np.frombuffer(breaks).copy(),
                           np.frombuffer(coeffs).reshape(shape).copy())
    if kind == KIND_LINEAR or tol <= 0.0:
        return np.zeros((0, DEGREE + 1))
    cells = _MIN_CELLS
    while cells <= _MAX_CELLS:
        fit = _fit(table, cells)
        if max_error(table, fit) <= tol:
            return np.ascontiguousarray(fit)
        cells *= 2
    return np.zeros((0, DEGREE + 1))
