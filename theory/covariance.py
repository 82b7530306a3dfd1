r"""Analytic pixel covariances of the data models on a ring (1D) or a torus (2D).

All inputs are translation invariant, so every covariance here is circulant (1D) or
block-circulant with circulant blocks (2D, ``torus``). Pixels have unit variance, so
covariances are correlations.
"""

from __future__ import annotations

import math

import numpy as np

from rfloc.errors import ParameterError, check_int, check_positive

__all__ = [
    "gaussian_kernel",
    "ising_covariance",
    "nlgp_covariance",
    "nlgp_map",
    "ring_distance",
    "torus",
]


def _check_dim(dim: int) -> int:
    if dim not in (1, 2):
        raise ParameterError(f"dim must be 1 (ring) or 2 (torus), got {dim!r}")
    return dim


def ring_distance(n: int) -> np.ndarray:
    r"""Ring distances :math:`d_{ij} = \min(|i-j|, n-|i-j|)`, shape (n, n), integer."""
    n = check_int("n", n, minimum=2)
    i = np.arange(n)
    d = np.abs(i[:, None] - i[None, :])
    return np.minimum(d, n - d)


def torus(cov1d: np.ndarray) -> np.ndarray:
    r"""2D covariance of an :math:`n \times n` torus with separable correlations.

    :math:`C^{2D}_{(i,j),(k,l)} = C_{ik} C_{jl}`, i.e. ``kron(cov1d, cov1d)`` with pixels
    in row-major order (pixel ``(r, c)`` is index ``r * n + c``).
    """
    c = np.asarray(cov1d, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ParameterError(f"cov1d must be a square (n, n) matrix, got shape {c.shape}")
    return np.kron(c, c)


def gaussian_kernel(n: int, xi: float, *, dim: int = 1) -> np.ndarray:
    r"""Ring kernel :math:`C_\xi(d) = \exp(-d^2/\xi^2)` (``dim=2``: its torus product).

    Parameters
    ----------
    n : int
        Pixels per side (ring length, or torus side for ``dim=2``).
    xi : float
        Correlation length, ``xi > 0``.
    """
    xi = check_positive("xi", xi)
    _check_dim(dim)
    c = np.exp(-(ring_distance(n).astype(np.float64) ** 2) / xi**2)
    return torus(c) if dim == 2 else c


def nlgp_map(base: np.ndarray, g: float) -> np.ndarray:
    r"""Correlation of :math:`\mathrm{erf}(g z_i)/Z(g)` given :math:`\mathrm{corr}(z_i, z_j)`.

    .. math:: \Sigma_{ij} = \frac{\tfrac2\pi \arcsin\!\big(2g^2 C_{ij} / (1+2g^2)\big)}
                                 {\tfrac2\pi \arcsin\!\big(2g^2 / (1+2g^2)\big)}.
    """
    g = check_positive("g", g)
    c = np.asarray(base, dtype=np.float64)
    r = 2 * g * g / (1 + 2 * g * g)
    return np.arcsin(r * c) / math.asin(r)


def nlgp_covariance(n: int, xi: float, g: float, *, dim: int = 1) -> np.ndarray:
    r"""Pixel covariance of NLGP(g) on a ring/torus: :func:`nlgp_map` of :func:`gaussian_kernel`."""
    return nlgp_map(gaussian_kernel(n, xi, dim=dim), g)


def ising_covariance(n: int, J: float) -> np.ndarray:
    r"""Spin correlations of the periodic 1D Ising ring at zero field.

    .. math:: C(d) = \frac{t^d + t^{n-d}}{1 + t^n}, \qquad t = \tanh J,

    exact for the ring of ``n`` spins (transfer-matrix eigenvalues
    :math:`2\cosh J, 2\sinh J`).
    """
    n = check_int("n", n, minimum=2)
    try:
        J = float(J)
    except (TypeError, ValueError):
        raise ParameterError(f"J must be a real number, got {J!r}") from None
    if not (math.isfinite(J) and J >= 0):
        raise ParameterError(f"J must be finite and in [0, inf), got {J!r}")
    t = math.tanh(J)
    i = np.arange(n)
    d = np.abs(i[:, None] - i[None, :])
    return (t**d + t ** (n - d)) / (1 + t**n)
