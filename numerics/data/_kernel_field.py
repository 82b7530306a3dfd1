r"""Models driven by the stationary Gaussian field of the ring kernel :math:`e^{-d^2/\xi^2}`."""

from __future__ import annotations

import numpy as np

from rfloc.errors import check_positive
from rfloc.numerics.covariance import gaussian_kernel
from rfloc.numerics.data._base import Blockwise, check_dim, check_side
from rfloc.numerics.data._circulant_gaussian import CirculantGaussian

__all__ = ["KernelField"]


class KernelField(Blockwise):
    r"""A model built on :math:`z \sim N(0, C_\xi)`, :math:`C_\xi(d) = e^{-d^2/\xi^2}`
    on a ring (``dim=1``) or its product on an ``n × n`` torus (``dim=2``), sampled by FFT.

    Parameters
    ----------
    n : int
        Pixels per side, ``n >= 2``.
    xi : float
        Correlation length, ``xi > 0``.
    dim : {1, 2}
        Ring or torus.
    """

    def __init__(self, n: int, xi: float, dim: int) -> None:
        self.dim = check_dim(dim)
        self.side = check_side(n, self.dim)
        self.xi = check_positive("xi", xi)
        self._latent = CirculantGaussian.from_ring(gaussian_kernel(self.side, self.xi)[0],
                                                   self.dim)

    @property
    def latent_covariance(self) -> np.ndarray:
        r"""Correlation of the latent Gaussian :math:`z` (the clipped ring kernel), (N, N)."""
        return self._latent.covariance()

    @property
    def clipped(self) -> float:
        """Fraction of the kernel's spectrum removed by clipping negative eigenvalues."""
        return self._latent.clipped
