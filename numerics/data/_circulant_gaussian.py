r"""Exact FFT sampler of a stationary Gaussian field on a ring or torus."""

from __future__ import annotations

import numpy as np
import scipy.fft

from rfloc.numerics.data._normal import standard_normal

__all__ = ["CirculantGaussian", "torus_index"]


def torus_index(side: int, dim: int) -> np.ndarray:
    """Index map, shape (N, N), ``N = side**dim``: ``first_row.ravel()[torus_index(side, dim)]``
    is the (block-)circulant matrix with that first row."""
    i = np.arange(side)
    lag = (i[None, :] - i[:, None]) % side
    if dim == 1:
        return lag
    return (lag[:, None, :, None] * side + lag[None, :, None, :]).reshape(side**2, side**2)


class CirculantGaussian:
    r"""Exact sampler of :math:`N(0, C)` for a (block-)circulant correlation :math:`C`.

    :math:`C = F^{*}\,\mathrm{diag}(\lambda)\,F / N` with :math:`F` the (2D) DFT and
    :math:`\lambda = \mathrm{fft}(c)` the spectrum of its first row :math:`c`. Draw
    :math:`\varepsilon = a + ib` with :math:`a, b \sim N(0, I_N)` and set
    :math:`y = F\,\mathrm{diag}(\sqrt{\lambda/N})\,\varepsilon`: then
    :math:`\mathrm{Re}\,y` and :math:`\mathrm{Im}\,y` are two *independent*
    :math:`N(0, C)` draws (:math:`E[yy^*] = 2C`, :math:`E[yy^T] = 0`). Cost: N normals
    and half a complex FFT, :math:`O(N\log N)`, per sample.

    The ring kernel :math:`e^{-d^2/\xi^2}` is not positive semi-definite when
    :math:`\xi` is comparable to ``n`` (e.g. ``n = 40, xi = 10`` has
    :math:`\lambda_{\min} \approx -0.03`); negative eigenvalues are clipped to 0 and the
    spectrum rescaled to mean 1 (unit variance). :meth:`covariance` is then the
    correlation actually sampled, and ``clipped`` the removed fraction
    :math:`\sum\lambda_-/N` (0 for the reference kernels, which are positive definite).
    On a torus the 1D spectrum is clipped first, so the 2D correlation stays a Kronecker
    product.

    Parameters
    ----------
    spectrum : ndarray, shape (side,) or (side, side)
        Eigenvalues :math:`\lambda \ge 0` (mean 1).
    clipped : float
        Negative spectral mass removed before.
    first_row : ndarray, same shape as ``spectrum``
        First row of the sampled correlation.
    """

    def __init__(self, spectrum: np.ndarray, clipped: float, first_row: np.ndarray) -> None:
        self.shape = spectrum.shape
        self.n = spectrum.size
        self.spectrum = spectrum
        self.clipped = clipped
        self.first_row = first_row
        self._amp = np.sqrt(spectrum / self.n).ravel()
        self._axes = tuple(range(1, spectrum.ndim + 1))

    @staticmethod
    def _clip(spectrum: np.ndarray) -> tuple[np.ndarray, float]:
        neg = float(-spectrum[spectrum < 0].sum()) / spectrum.size
        if neg == 0.0:
            return np.maximum(spectrum, 0.0), 0.0
        pos = np.maximum(spectrum, 0.0)
        return pos * (spectrum.size / pos.sum()), neg

    @classmethod
    def from_ring(cls, row: np.ndarray, dim: int) -> CirculantGaussian:
        """From the first row (n,) of a symmetric circulant 1D correlation (``dim=2``: its
        torus product)."""
        lam, clipped = cls._clip(np.fft.fft(row).real)
        if clipped:
            row = np.fft.ifft(lam).real
        if dim == 2:
            return cls(np.multiply.outer(lam, lam), clipped, np.multiply.outer(row, row))
        return cls(lam, clipped, row)

    @classmethod
    def from_first_row(cls, first: np.ndarray) -> CirculantGaussian:
        """From a first row of shape ``(side,)`` or ``(side, side)`` (general torus)."""
        lam, clipped = cls._clip(np.fft.fftn(first).real)
        return cls(lam, clipped, np.fft.ifftn(lam).real if clipped else first)

    def covariance(self) -> np.ndarray:
        """Dense (N, N) correlation matrix that :meth:`fill` samples."""
        return self.first_row.ravel()[torus_index(self.shape[0], len(self.shape))]

    def pairs(self, k: int, gen: np.random.Generator, work: np.ndarray) -> np.ndarray:
        """``h = ceil(k/2)`` complex rows (h, N): their real and imaginary parts are 2h
        independent :math:`N(0, C)` fields. ``work``: float64 scratch of >= 2hN entries."""
        half = (k + 1) // 2
        eps = standard_normal(gen, work[: 2 * half * self.n]).view(np.complex128)
        eps = eps.reshape(half, self.n)
        eps *= self._amp
        return scipy.fft.fftn(eps.reshape(half, *self.shape), axes=self._axes,
                              overwrite_x=True).reshape(half, self.n)

    def fill(self, block: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        """Overwrite ``block`` (k, N) with k independent :math:`N(0, C)` rows."""
        y = self.pairs(block.shape[0], gen, work)
        half = y.shape[0]
        block[:half] = y.real
        block[half:] = y.imag[: block.shape[0] - half]

    def sqrt_apply(self, g: np.ndarray) -> np.ndarray:
        r""":math:`C^{1/2} g` for white rows ``g`` (k, N), :math:`C^{1/2}` the symmetric root."""
        axes = self._axes
        gs = g.reshape(g.shape[0], *self.shape)
        half_spec = np.sqrt(self.spectrum[..., : self.shape[-1] // 2 + 1])
        z = scipy.fft.irfftn(scipy.fft.rfftn(gs, axes=axes) * half_spec, s=self.shape,
                             axes=axes)
        return z.reshape(g.shape)
