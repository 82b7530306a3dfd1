r"""Models driven by the Gaussian field of the kernel :math:`e^{-d^2/\xi^2}`, on a ring or torus
(periodic boundaries) or on a segment or square (open boundaries)."""

from __future__ import annotations

from typing import Any

import numpy as np

from rfloc.errors import check_positive
from rfloc.numerics.covariance import check_boundary, gaussian_kernel
from rfloc.numerics.data._base import Blockwise, check_dim, check_side
from rfloc.numerics.data._circulant_gaussian import CirculantGaussian
from rfloc.numerics.data._dense_gaussian import DenseGaussian

__all__ = ["KernelField"]


class KernelField(Blockwise):
    r"""A model built on :math:`z \sim N(0, C_\xi)`, :math:`C_\xi = e^{-d_{ij}^2/\xi^2}`.

    Periodic boundaries (the default): :math:`d` is the ring distance
    :math:`\min(|i-j|, n-|i-j|)` on a ring (``dim=1``) or the product kernel on an
    ``n × n`` torus (``dim=2``), sampled by FFT
    (:class:`~._circulant_gaussian.CirculantGaussian`).

    Open boundaries (``boundary="open"``, the default of IG22's code,
    ``sgoldt/conv_emerge``, ``inputs.trans_inv_var``): :math:`d = |i-j|` on a segment,
    and on an ``n × n`` square the product :math:`C^{2D} = C_\xi \otimes C_\xi` over the
    row-major pixels, so corner pixels are not neighbours of the opposite edge. The
    matrix is positive definite (a Gaussian kernel at distinct points); it is sampled
    through its dense symmetric root (:class:`~._dense_gaussian.DenseGaussian`, the 2D
    root :math:`R_1 \otimes R_1` applied as :math:`R_1 G R_1`), whose negative
    eigenvalues are rounding (:math:`\lesssim 10^{-13}`) and are clipped. Unlike IG22,
    rfloc adds nothing to the diagonal: their code adds :math:`10^{-3}`, which makes
    the pixel variance 1.001 and scales every correlation by 1/1.001 (0.1 %).

    Parameters
    ----------
    n : int
        Pixels per side, ``n >= 2``.
    xi : float
        Correlation length, ``xi > 0``.
    dim : {1, 2}
        Ring/segment or torus/square.
    boundary : {"periodic", "open"}
        Wrap distances around (ring, torus) or not (segment, square).
    """

    def __init__(self, n: int, xi: float, dim: int, *, boundary: str = "periodic") -> None:
        self.dim = check_dim(dim)
        self.side = check_side(n, self.dim)
        self.xi = check_positive("xi", xi)
        self.boundary = check_boundary(boundary)
        kernel = gaussian_kernel(self.side, self.xi, boundary=self.boundary)
        self._latent: CirculantGaussian | DenseGaussian
        if self.boundary == "open":
            self._latent = DenseGaussian(kernel, power=self.dim)
        else:
            self._latent = CirculantGaussian.from_ring(kernel[0], self.dim)

    @property
    def boundary_params(self) -> dict[str, Any]:
        """``{"boundary": "open"}`` for open boundaries, else ``{}``: periodic models keep
        the ``params`` (and stored hashes) they had before boundaries were a parameter."""
        return {} if self.boundary == "periodic" else {"boundary": self.boundary}

    @property
    def boundary_text(self) -> str:
        """``", open boundaries"`` for open boundaries, else ``""`` (for ``describe``)."""
        return "" if self.boundary == "periodic" else f", {self.boundary} boundaries"

    @property
    def latent_covariance(self) -> np.ndarray:
        r"""Correlation of the latent Gaussian :math:`z` (periodic: the clipped ring kernel;
        open: the kernel on a line, or its Kronecker square), (N, N)."""
        return self._latent.covariance()

    @property
    def clipped(self) -> float:
        """Fraction of the kernel's spectrum removed by clipping negative eigenvalues."""
        return self._latent.clipped
