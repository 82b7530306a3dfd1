r"""Dense symmetric-root sampler of a Gaussian field with any correlation matrix."""

from __future__ import annotations

import numpy as np

from rfloc.numerics.data._normal import standard_normal

__all__ = ["DenseGaussian"]


class DenseGaussian:
    r"""Sampler of :math:`N(0, C)` through the symmetric square root of :math:`C`.

    :math:`C = A^{\otimes p}` is a ``factor`` :math:`A` (m, m) or, for ``power=2``, its
    Kronecker square :math:`A \otimes A` (a separable field on a row-major ``m × m``
    grid, pixel ``(r, c)`` at ``r * m + c``). With :math:`A = V\,\mathrm{diag}(\lambda)\,V^T`
    the root is

    .. math:: R = V\,\mathrm{diag}\big(\sqrt{\max(\lambda, 0)}\big)\,V^T, \qquad
              R_C = R^{\otimes p},

    and a row of white normals :math:`g` gives :math:`z = g R_C` (:math:`R` symmetric).
    For ``power=2`` the sample is applied as :math:`R\,G\,R` on ``g`` reshaped to
    ``(m, m)``: :math:`O(N\sqrt N)` per sample instead of :math:`O(N^2)`. Setup is one
    symmetric eigendecomposition of :math:`A`, :math:`O(m^3)`.

    Negative eigenvalues are clipped to 0 (no rescaling) and ``clipped`` is their mass
    :math:`\sum\lambda_-/m` (for ``power=2``, that of the factor, as
    :class:`~._circulant_gaussian.CirculantGaussian` reports the 1D spectrum of a torus).
    :meth:`covariance` returns :math:`C` as given: the sampled correlation
    :math:`R_C R_C` differs from it by at most :math:`|\lambda_{\min}|` per entry
    (``power=2`` with a correlation factor: :math:`2|\lambda_{\min}| + \lambda_{\min}^2`)
    plus the rounding of the eigendecomposition, so callers that may be handed an
    indefinite matrix check ``eigenvalues`` first.

    Parameters
    ----------
    factor : ndarray, shape (m, m)
        Symmetric positive semi-definite matrix :math:`A`.
    power : {1, 2}
        :math:`C = A` or :math:`C = A \otimes A`.
    """

    def __init__(self, factor: np.ndarray, power: int = 1) -> None:
        self.factor = np.asarray(factor, dtype=np.float64)
        self.power = power
        self.side = self.factor.shape[0]
        self.n = self.side**power
        lam, vec = np.linalg.eigh(self.factor)
        #: eigenvalues of the factor, ascending
        self.eigenvalues = lam
        self.clipped = float(np.maximum(-lam, 0.0).sum()) / self.side
        self.root = (vec * np.sqrt(np.maximum(lam, 0.0))) @ vec.T

    def covariance(self) -> np.ndarray:
        """Dense (N, N) correlation :math:`C` as given, a new array (class docstring: how
        close the samples' correlation is)."""
        return self.factor.copy() if self.power == 1 else np.kron(self.factor, self.factor)

    def fill(self, block: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        """Overwrite ``block`` (k, N), C-contiguous, with k independent :math:`N(0, C)`
        rows. ``work``: float64 scratch of >= kN entries."""
        white = standard_normal(gen, work[: block.size].reshape(block.shape))
        self._apply(white, block)

    def sqrt_apply(self, g: np.ndarray) -> np.ndarray:
        r""":math:`R_C\,g` for white rows ``g`` (k, N): a new (k, N) array."""
        out = np.empty(np.shape(g))
        self._apply(np.array(g, dtype=np.float64, order="C"), out)
        return out

    def _apply(self, white: np.ndarray, out: np.ndarray) -> None:
        """``out = white R_C`` row by row; ``white`` (k, N) is overwritten for power 2."""
        k, m = white.shape[0], self.side
        if self.power == 1:
            np.matmul(white, self.root, out=out)
            return
        # G R over all rows at once (one GEMM), then R (G R) sample by sample
        np.matmul(white.reshape(k * m, m), self.root, out=out.reshape(k * m, m))
        np.matmul(self.root, out.reshape(k, m, m), out=white.reshape(k, m, m))
        out[...] = white
