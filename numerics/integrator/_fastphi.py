r"""A cheap, verified re-tabulation of an amplifier for the integrator's inner loop.

The table's :func:`rfloc.numerics.amplifier_table.phi_scalar` is exact but costs an ``erf`` (binary)
or an ``asin`` plus a degree-20 Clenshaw sum (tabulated marginals) per pixel. The effective
dynamics evaluate :math:`\varphi` N times per right-hand side, so the integrator instead uses

.. math:: \varphi(a) = \operatorname{sign}(a)\, g\big(\sqrt{1-|a|}\big), \qquad
          g(v) = \varphi(1 - v^2), \quad v \in [0, 1],

with :math:`g` piecewise polynomial on ``K`` equal cells (degree :data:`DEGREE`, monomial
coefficients in the local coordinate :math:`t \in [-1, 1]`, Horner evaluation). The variable
:math:`v` makes :math:`g` smooth up to :math:`a = \pm1`: :math:`\arccos a = 2\arcsin(v/\sqrt2)`
is analytic in :math:`v`, and every tabulated amplifier is smooth in :math:`\theta=\arcsin a`.
The table is refined until its error against ``phi_scalar``, checked at points between the
interpolation nodes, is below the requested tolerance; otherwise the caller falls back to
``phi_scalar``.

Looking up a cell costs a dependent load per coefficient, which the compiler cannot
vectorise. Most pixels, however, have a moderate :math:`|a|` (:math:`\sum_i a_i^2 \le
\lambda_{\max}(\Sigma_1)`), where :math:`\varphi` is analytic and odd, so :func:`core` also
fits a *core* polynomial

.. math:: \varphi(a) \approx a \sum_{k<K} c_k\, a^{2k}, \qquad |a| \le a_0,

with :data:`CORE_TERMS` = K coefficients (degree 2K-1), evaluated for every pixel in a loop
without lookups; only pixels with :math:`|a| > a_0` go through the cells. :math:`a_0` is the
largest of :data:`CORE_RADII` at which the core meets the tolerance on a dense check grid
(0: no core).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.polynomial import chebyshev as cheb

from rfloc.numerics.amplifier_table import KIND_LINEAR, AmplifierTable

DEGREE = 7
CORE_TERMS = 12
CORE_RADII = (0.7, 0.6, 0.5, 0.4, 0.3, 0.2)
_CORE_CHECK = 20_001  # check points of the core polynomial on [-a0, a0]
_CORE_GROWTH = 4.0  # bound on sum_k |c_k| a0^(2k+1): rounding stays near 1e-14
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


def core(table: AmplifierTable, tol: float) -> np.ndarray:
    """``[a0, c_0, ..., c_{K-1}]`` of the core polynomial (module docstring), cached by content.

    ``a0 = 0`` (and zero coefficients) when no radius of :data:`CORE_RADII` reaches ``tol``,
    for the linear kind, or for ``tol == 0``; every pixel then goes through the cells.
    """
    breaks = np.ascontiguousarray(table.breaks, dtype=np.float64)
    coeffs = np.ascontiguousarray(table.coeffs, dtype=np.float64)
    return _core(int(table.kind), breaks.tobytes(), coeffs.tobytes(), coeffs.shape,
                 float(tol)).copy()


def core_eval(coeffs: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``a * sum_k coeffs[k] a^(2k)`` by Horner in ``a^2`` (the kernels' order of operations)."""
    a2 = a * a
    y = np.full_like(a, coeffs[-1])
    for c in coeffs[-2::-1]:
        y = y * a2 + c
    return a * y


@functools.lru_cache(maxsize=64)
def _core(kind: int, breaks: bytes, coeffs: bytes, shape: tuple[int, int],
          tol: float) -> np.ndarray:
    out = np.zeros(CORE_TERMS + 1)
    if kind == KIND_LINEAR or tol <= 0.0:
        return out
    table = AmplifierTable(kind, np.frombuffer(breaks).copy(),
                           np.frombuffer(coeffs).reshape(shape).copy())
    degree = 2 * CORE_TERMS - 1
    unit_nodes = np.cos(np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1))
    powers = np.arange(1, degree + 1, 2)
    for a0 in CORE_RADII:
        def scaled(x: np.ndarray, a0: float = a0) -> np.ndarray:
            return table(a0 * x)

        # numpy's stub wants func to return a scalar type; it returns the values at x
        series: np.ndarray = cheb.chebinterpolate(scaled, degree)  # type: ignore[type-var]
        odd = cheb.cheb2poly(series)[1::2] / a0**powers
        grid = np.linspace(-a0, a0, _CORE_CHECK)
        check = np.concatenate([grid, a0 * unit_nodes])
        err = np.max(np.abs(core_eval(odd, check) - table(check)))
        if err <= tol and np.sum(np.abs(odd) * a0**powers) <= _CORE_GROWTH:
            out[0], out[1:] = a0, odd
            return out
    return out
