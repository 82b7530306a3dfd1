r"""Analytic pixel covariances of the data models on a ring (1D) or a torus (2D).

With the default periodic boundaries every input is translation invariant, so every
covariance here is circulant (1D) or block-circulant with circulant blocks (2D,
``torus``); with ``boundary="open"`` the Gaussian kernel uses the distance on a line
(:func:`line_distance`) and is Toeplitz (2D: a Kronecker product of Toeplitz matrices on
a square). Pixels have unit variance, so covariances are correlations.
``rfloc.theory.covariance`` re-exports these functions. See ``docs/data.md`` for the
models they describe.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from rfloc.errors import ParameterError, check_int, check_positive

__all__ = [
    "BOUNDARIES",
    "check_boundary",
    "gaussian_kernel",
    "ising_covariance",
    "line_distance",
    "nlgp_covariance",
    "nlgp_map",
    "norta_covariance",
    "ring_distance",
    "torus",
]


class HasGaussianTransform(Protocol):
    """Anything with a pixel law's Gaussian transform (a numeric law or a theory marginal)."""

    def gaussian_transform(self, z: np.ndarray) -> np.ndarray: ...


def _check_dim(dim: int) -> int:
    if dim not in (1, 2):
        raise ParameterError(f"dim must be 1 (ring) or 2 (torus), got {dim!r}")
    return dim


#: the boundaries of a kernel field: a ring/torus, or a segment/square without wrapping
BOUNDARIES = ("periodic", "open")


def check_boundary(boundary: str) -> str:
    """``boundary`` if it is one of :data:`BOUNDARIES`, else raise ParameterError."""
    if not isinstance(boundary, str) or boundary not in BOUNDARIES:
        raise ParameterError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    return boundary


def line_distance(n: int) -> np.ndarray:
    r"""Distances :math:`d_{ij} = |i-j|` on a line of ``n`` sites (open boundaries),
    shape (n, n), integer."""
    n = check_int("n", n, minimum=2)
    i = np.arange(n)
    return np.abs(i[:, None] - i[None, :])


def ring_distance(n: int) -> np.ndarray:
    r"""Ring distances :math:`d_{ij} = \min(|i-j|, n-|i-j|)`, shape (n, n), integer."""
    d = line_distance(n)
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


def gaussian_kernel(n: int, xi: float, *, dim: int = 1,
                    boundary: str = "periodic") -> np.ndarray:
    r"""Gaussian kernel :math:`C_\xi(d) = \exp(-d^2/\xi^2)` (``dim=2``: the product of
    the two axes' kernels, ``kron(C, C)``).

    Parameters
    ----------
    n : int
        Pixels per side (ring length, or torus side for ``dim=2``).
    xi : float
        Correlation length, ``xi > 0``.
    dim : {1, 2}
        Line/ring or square/torus.
    boundary : {"periodic", "open"}
        ``d`` is the ring distance :math:`\min(|i-j|, n-|i-j|)` (:func:`ring_distance`) or,
        open, the distance on a line :math:`|i-j|` (:func:`line_distance`).

    Returns
    -------
    ndarray, shape (n**dim, n**dim)
    """
    xi = check_positive("xi", xi)
    _check_dim(dim)
    distance = ring_distance if check_boundary(boundary) == "periodic" else line_distance
    with np.errstate(over="ignore", under="ignore"):      # xi -> 0: identity; -> inf: ones
        c = np.exp(-((distance(n) / xi) ** 2))
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


def nlgp_covariance(n: int, xi: float, g: float, *, dim: int = 1,
                    boundary: str = "periodic") -> np.ndarray:
    r"""Pixel covariance of NLGP(g): :func:`nlgp_map` of :func:`gaussian_kernel`."""
    return nlgp_map(gaussian_kernel(n, xi, dim=dim, boundary=boundary), g)


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


# ------------------------------------------------------------------ NORTA (Gaussian copula)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)
#: geometric panel edges 1, 1/4, ..., 4^-18 ~ 1.5e-11 resolving any feature near a jump
_GEOMETRIC = 4.0 ** -np.arange(19)
#: below this |rho| the cubic Hermite (Mehler) truncation is exact to <= 1e-12
_SERIES_RHO = 4e-3
#: |z| beyond which no quadrature node carries weight; keeps f finite for heavy tails
_Z_CLIP = 37.0


def _gauss_legendre(breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """16-point Gauss–Legendre nodes/weights on panels ``breaks[..., p:p+2]``, flattened."""
    a, b = breaks[..., :-1, None], breaks[..., 1:, None]
    half = 0.5 * (b - a)
    nodes = a + half * (_GL_X + 1.0)
    shape = (*breaks.shape[:-1], -1)
    return nodes.reshape(shape), (half * _GL_W).reshape(shape)


def _normal_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


class _CopulaQuadrature:
    r"""Nested Gauss–Legendre evaluation of :math:`E[f(Z_1) f(Z_2)]`, corr = rho.

    With :math:`Z_2 = \rho Z_1 + s W`, :math:`s = \sqrt{1-\rho^2}` and ``f`` odd,

    .. math:: E[f(Z_1)f(Z_2)] = 2\int_0^L \phi(x) f(x)\, g_\rho(x)\,dx, \qquad
              g_\rho(x) = \int_{-L}^{L} \phi(w)\, f(\rho x + s w)\,dw .

    Outer panels: unit width, graded geometrically (ratio 4, down to 4^-18) towards
    ``x = 0``. Inner panels: unit width, plus the same grading on both sides of the point
    :math:`w_0 = -\rho x / s` where the argument of ``f`` crosses 0 (a jump for ±1
    pixels, a kink for Laplace, a boundary layer of width 1/g for ErfGaussian(g)). ``L`` grows
    with the tails: a law with moments only below order ``k`` has
    :math:`f(z)^2\phi(z) \sim e^{-z^2(1/2 - 1/k)}`, so :math:`L^2 (1/2 - 1/k) \ge 37.5`
    (12 ≤ L ≤ 26).
    """

    def __init__(self, marginal: HasGaussianTransform) -> None:
        max_moment = getattr(marginal, "max_moment", None)
        k = max_moment() if max_moment is not None else math.inf
        self.half_width = 12.0 if not math.isfinite(k) else float(
            np.clip(math.sqrt(75.0 / (1.0 - 2.0 / k)), 12.0, 26.0))
        big = self.half_width
        self._f = marginal.gaussian_transform
        outer = np.unique(np.concatenate([[0.0], _GEOMETRIC, np.arange(1.0, big + 0.5)]))
        self.x, wx = _gauss_legendre(outer)
        self.fx = self.f(self.x)
        self.outer_weights = 2.0 * wx * _normal_pdf(self.x) * self.fx
        self._grid = np.arange(-big, big + 0.5)
        self._offsets = np.concatenate([-_GEOMETRIC, [0.0], _GEOMETRIC])
        # Mehler (Hermite) coefficients a_k = E[f(Z) He_k(Z)]^2 / k! for k = 1, 3.
        x = self.x
        c1 = np.dot(self.outer_weights, x)
        c3 = np.dot(self.outer_weights, x**3 - 3.0 * x)
        self.a1, self.a3 = c1 * c1, c3 * c3 / 6.0

    def f(self, z: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._f(np.clip(z, -_Z_CLIP, _Z_CLIP))

    def __call__(self, rho: float) -> float:
        """:math:`E[f(Z_1)f(Z_2)]` for one correlation ``0 < rho < 1``."""
        if rho <= _SERIES_RHO:
            return self.a1 * rho + self.a3 * rho**3
        big = self.half_width
        s = math.sqrt((1.0 - rho) * (1.0 + rho))
        w0 = -rho * self.x / s
        breaks = np.concatenate([np.broadcast_to(self._grid, (w0.size, self._grid.size)),
                                 np.clip(w0[:, None] + self._offsets, -big, big)], axis=1)
        w, ww = _gauss_legendre(np.sort(breaks, axis=1))
        inner = np.einsum("ij,ij->i", ww * _normal_pdf(w), self.f(rho * self.x[:, None] + s * w))
        return float(np.dot(self.outer_weights, inner))


def norta_covariance(base: np.ndarray, marginal: HasGaussianTransform) -> np.ndarray:
    r"""Pixel covariance of a Gaussian copula (NORTA) field with a given marginal.

    The pixels are :math:`x_i = f(z_i)` with :math:`f` = ``marginal.gaussian_transform``
    (so :math:`x_i` has law ``marginal``: zero mean, unit variance) and
    :math:`z \sim N(0, \text{base})`. Entry-wise,

    .. math:: \Sigma_{ij} = r(\rho_{ij}), \qquad
              r(\rho) = E[f(Z_1) f(Z_2)],\quad
              (Z_1, Z_2) \sim N\!\left(0, \begin{pmatrix}1&\rho\\ \rho&1\end{pmatrix}\right),

    with :math:`r(\pm 1) = \pm 1`, :math:`r(0) = 0` and :math:`r(-\rho) = -r(\rho)`
    (``f`` is odd). Closed forms it reproduces: Gaussian :math:`r = \rho`; ±1 pixels
    :math:`r = \tfrac2\pi \arcsin\rho`; ErfGaussian :func:`nlgp_map`; uniform
    :math:`\tfrac6\pi\arcsin(\rho/2)`.

    :math:`r` is evaluated once per *distinct* :math:`|\rho|` (a ring has ``n//2 + 1``):
    for :math:`|\rho| \le 4\cdot10^{-3}` by the Mehler series
    :math:`r = a_1\rho + a_3\rho^3`, :math:`a_k = E[f(Z)\mathrm{He}_k(Z)]^2/k!`
    (truncation error :math:`\le (1 - a_1 - a_3)|\rho|^5 < 10^{-12}`); above it by nested
    16-point Gauss–Legendre quadrature on graded panels (see ``_CopulaQuadrature``),
    absolute error ~1e-13 for the built-in marginals, heavy tails included (moments of
    order > 2 + δ are enough; the truncation adapts to ``marginal.max_moment()`` when the
    marginal has one, else assumes all moments exist).
    A user marginal is as accurate as its own ``gaussian_transform``.

    Parameters
    ----------
    base : array_like, any shape, typically (N, N)
        Correlations of the latent Gaussian, entries in [-1, 1] (e.g.
        :func:`gaussian_kernel`).
    marginal : pixel law
        Anything with ``gaussian_transform`` (odd, :math:`f(Z)` of unit variance): a
        :mod:`rfloc.numerics.laws` law or an ``rfloc.theory`` marginal.

    Returns
    -------
    ndarray, same shape as ``base``
        :math:`\mathrm{Cov}[x_i, x_j]`; unit diagonal when ``base`` has one.
    """
    if not callable(getattr(marginal, "gaussian_transform", None)):
        raise ParameterError(f"marginal must be a pixel law with a gaussian_transform, "
                             f"got {type(marginal).__name__}")
    c = np.asarray(base, dtype=np.float64)
    if not np.all(np.isfinite(c)) or np.any(np.abs(c) > 1.0 + 1e-12):
        raise ParameterError("base must hold correlations: finite entries in [-1, 1]")
    c = np.clip(c, -1.0, 1.0)
    values, inverse = np.unique(np.abs(c), return_inverse=True)
    mapped = np.empty_like(values)
    quad: _CopulaQuadrature | None = None
    for idx, rho in enumerate(values):
        if rho == 0.0 or rho == 1.0:
            mapped[idx] = rho
            continue
        quad = quad or _CopulaQuadrature(marginal)
        mapped[idx] = quad(float(rho))
    return np.sign(c) * mapped[inverse].reshape(c.shape)
