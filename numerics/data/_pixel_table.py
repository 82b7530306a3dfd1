r"""Tabulated Gaussian-to-pixel maps: a law's :math:`f = Q\circ\Phi` as a checked table.

Every pixel law is symmetric, so its Gaussian transform is odd,
:math:`f(z) = \mathrm{sign}(z)\,F(|z|)`. :func:`tabulate` builds :math:`F` on
:math:`[0, Z_{\max}]`, :math:`Z_{\max} = 14`, as ``cells`` uniform cells of width
:math:`h = Z_{\max}/\text{cells}`, each a degree-7 polynomial in the local coordinate
:math:`t = 2(|z| - z_c)/h - 1 \in [-1, 1]` that interpolates :math:`F` at the 8
Chebyshev nodes of the cell (coefficients stored in the monomial basis, evaluated by
one 64-byte table row per pixel). The cell count doubles
(from 14·16) until the error measured against ``law.gaussian_transform`` at 5 points per
cell between the nodes (evaluated in Estrin's scheme, three dependent multiply-adds) is at
most

.. math:: |f_{\rm table}(z) - f(z)| \le 10^{-12}\,\max(1, |f(z)|)

(relative in the heavy tails); a law that does not pass at :data:`MAX_CELLS` cells, or
whose transform is not finite on the range, gets no table (``None``) and is sampled
through its own ``gaussian_transform``.

The range covers every normal rfloc draws: the ziggurat's tail draw is
:math:`r + a` with :math:`a = -\log(1-U)/r \le 53\log 2/r`, so :math:`|z| < 13.72`, and
the GPU's Box–Muller normals satisfy :math:`|z| \le \sqrt{2\cdot 53 \log 2} < 8.6`;
:func:`pixel` clamps larger arguments to :math:`Z_{\max}`. Kernels compiled with
contracted multiply-adds (the fast sampler) evaluate it with fused multiply-adds: the
same polynomial to rounding (about 1e-16 relative), far inside the checked 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev

from rfloc.numerics._jit import kernel

__all__ = ["DEGREE", "MAX_CELLS", "TOL", "Z_MAX", "evaluate", "pixel", "table_error", "tabulate"]

Z_MAX = 14.0
DEGREE = 7
TOL = 1e-12
MAX_CELLS = 14 * 2**11
_FIRST_CELLS = 14 * 16
_CHECKS = np.array([0.03, 0.21, 0.5, 0.77, 0.98])  # check points per cell, in [0, 1]


def _interpolation() -> tuple[np.ndarray, np.ndarray]:
    """``(M, nodes)``: the 8 Chebyshev nodes in ``t`` and the (8, 8) matrix with
    ``values @ M`` the monomial coefficients of the interpolant of ``values`` at them."""
    nodes = chebyshev.chebpts1(DEGREE + 1)
    return np.linalg.inv(np.vander(nodes, DEGREE + 1, increasing=True)).T, nodes


_TO_MONOMIAL, _NODES = _interpolation()


def _transform(law: object, z: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(law.gaussian_transform(z), dtype=np.float64)  # type: ignore[attr-defined]


def _build(law: object, cells: int) -> np.ndarray | None:
    h = Z_MAX / cells
    left = np.arange(cells) * h
    values = _transform(law, left[:, None] + 0.5 * h * (_NODES + 1.0))
    if not np.all(np.isfinite(values)):
        return None
    return np.ascontiguousarray(values @ _TO_MONOMIAL)


def table_error(law: object, coef: np.ndarray) -> float:
    r"""Largest :math:`|f_{\rm table} - f| / \max(1, |f|)` at 5 points per cell, :math:`z > 0`."""
    cells = coef.shape[0]
    h = Z_MAX / cells
    z = ((np.arange(cells)[:, None] + _CHECKS) * h).ravel()
    exact = _transform(law, z)
    got = np.empty_like(z)
    evaluate(z, coef, cells / Z_MAX, got)
    return float(np.max(np.abs(got - exact) / np.maximum(1.0, np.abs(exact))))


def tabulate(law: object) -> np.ndarray | None:
    """Coefficients (cells, 8) of the checked table of ``law.gaussian_transform``, or None.

    ``None`` when the transform is not finite on :math:`[0, Z_{\\max}]` or the error stays
    above :data:`TOL` at :data:`MAX_CELLS` cells.
    """
    cells = _FIRST_CELLS
    while cells <= MAX_CELLS:
        coef = _build(law, cells)
        if coef is None:
            return None
        err = table_error(law, coef)
        if math.isfinite(err) and err <= TOL:
            return coef
        cells *= 2
    return None


@kernel(inline="always")
def pixel(z: float, coef: np.ndarray, inv_h: float) -> float:
    r""":math:`f(z) = \mathrm{sign}(z) F(|z|)` from the table ``coef`` (cells, 8),
    ``inv_h = cells / Z_MAX``."""
    a = abs(z) * inv_h
    i = int(a)
    last = coef.shape[0] - 1
    if i > last:
        i = last
        a = last + 1.0
    t = 2.0 * (a - i) - 1.0
    t2 = t * t
    low = (coef[i, 0] + coef[i, 1] * t) + t2 * (coef[i, 2] + coef[i, 3] * t)
    high = (coef[i, 4] + coef[i, 5] * t) + t2 * (coef[i, 6] + coef[i, 7] * t)
    return math.copysign(low + (t2 * t2) * high, z)


@kernel
def evaluate(z: np.ndarray, coef: np.ndarray, inv_h: float, out: np.ndarray) -> None:
    """``out[i] = pixel(z[i])`` for 1D ``z`` and ``out``."""
    for i in range(z.shape[0]):
        out[i] = pixel(z[i], coef, inv_h)
