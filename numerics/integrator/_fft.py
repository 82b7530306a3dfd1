r"""Circulant covariances: detection, spectra and the FFT products.

A translation-invariant covariance is circulant on a ring,
:math:`C_{ij} = c_{(j-i) \bmod N}`, or block-circulant with circulant blocks on an
:math:`n\times n` torus (pixel ``(r, s)`` at index ``r*n + s``),
:math:`C_{(r,s),(r',s')} = k_{(r'-r) \bmod n,\,(s'-s) \bmod n}`. The discrete Fourier
transform diagonalises it; the eigenvalues are the (real, for symmetric ``C``) transform of
the first row, so :math:`Cw = \mathcal F^{-1}[\hat c \cdot \mathcal F w]` costs
:math:`O(N\log N)` instead of :math:`O(N^2)`.

NumPy's FFT is not callable from Numba: the kernels call :func:`fft_products` in object
mode, once per stage for a whole block of rows (one batched transform), from the same drivers
as the other products.
"""

from __future__ import annotations

import math

import numpy as np


def circulant_dims(cov: np.ndarray, *, rtol: float = 1e-12) -> tuple[int, ...] | None:
    """``(N,)`` for a circulant, ``(n, n)`` for a 2D block-circulant ``cov``, else None."""
    size = cov.shape[0]
    tol = rtol * max(1.0, float(np.max(np.abs(cov))))
    idx = np.arange(size)
    if np.max(np.abs(cov[-1] - np.roll(cov[0], -1))) <= tol and \
            np.max(np.abs(cov - cov[0][(idx[None, :] - idx[:, None]) % size])) <= tol:
        return (size,)
    side = math.isqrt(size)
    if side * side != size or side < 2:
        return None
    r, s = np.divmod(idx, side)
    shift = ((r[None, :] - r[:, None]) % side) * side + (s[None, :] - s[:, None]) % side
    if np.max(np.abs(cov - cov[0][shift])) <= tol:
        return (side, side)
    return None


def spectrum(cov: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """Eigenvalues of a symmetric (block-)circulant ``cov`` on the ``rfftn`` grid of ``dims``."""
    return np.fft.rfftn(cov[0].reshape(dims)).real


def fft_products(y: np.ndarray, dims: np.ndarray, eig1: np.ndarray, eigbar: np.ndarray,
                 out: np.ndarray) -> None:
    r"""``out[:, :N] = y @ cov1``, ``out[:, N:] = y @ covbar`` for a block ``y`` (R, N).

    :math:`\Sigma y = \mathcal F^{-1}[\hat c \cdot \mathcal F y]` per row; ``dims`` (1,) or
    (2,) the ring or torus, ``eig1``, ``eigbar`` the spectra of :func:`spectrum`, flattened.
    """
    shape = tuple(int(d) for d in dims)
    axes = tuple(range(1, len(shape) + 1))
    n = y.shape[1]
    spec = np.fft.rfftn(y.reshape(-1, *shape), axes=axes)
    for eig, part in ((eig1, slice(0, n)), (eigbar, slice(n, 2 * n))):
        scaled = spec * eig.reshape(spec.shape[1:])
        out[:, part] = np.fft.irfftn(scaled, s=shape, axes=axes).reshape(y.shape)
