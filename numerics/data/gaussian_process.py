r"""Gaussian fields with a given correlation matrix, and Gaussian clones of other models."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rfloc.errors import ParameterError
from rfloc.numerics import laws
from rfloc.numerics.data._base import Blockwise, DataModel, check_dim
from rfloc.numerics.data._circulant_gaussian import CirculantGaussian, torus_index
from rfloc.numerics.data._dense_gaussian import DenseGaussian
from rfloc.numerics.data._registry import from_params, register

__all__ = ["GaussianProcess", "gaussian_clone"]


@register("gaussian-process", "gaussian-clone")
class GaussianProcess(Blockwise):
    r"""Zero-mean Gaussian field with a given correlation matrix (the Gaussian control).

    If ``cov`` is circulant (``dim=1``) or block-circulant with circulant blocks
    (``dim=2``, a torus) — as for every translation-invariant model here — samples come
    from the FFT of its first row (:class:`CirculantGaussian`, negative eigenvalues
    clipped); otherwise — e.g. the clone of a field with open boundaries — from the dense
    symmetric square root :math:`C^{1/2} = V\,\mathrm{diag}(\sqrt{\max(\lambda, 0)})\,V^T`
    (:class:`~._dense_gaussian.DenseGaussian`, :math:`O(N^2)` per sample).

    Parameters
    ----------
    cov : array_like, shape (N, N)
        Symmetric positive semi-definite matrix with unit diagonal (a correlation matrix:
        pixels have unit variance). Eigenvalues below ``-1e-8 * max`` are rejected.
    dim : {1, 2}
        ``2``: pixels form a ``sqrt(N) × sqrt(N)`` torus (N must be a square).
    """

    def __init__(self, cov: np.ndarray, dim: int = 1) -> None:
        c = np.asarray(cov, dtype=np.float64)
        self.dim = check_dim(dim)
        if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
            raise ParameterError(f"cov must be a square (N, N) matrix with N >= 2, "
                                 f"got shape {c.shape}")
        side = math.isqrt(c.shape[0]) if self.dim == 2 else c.shape[0]
        if side**self.dim != c.shape[0] or side < 2:
            raise ParameterError(f"cov of shape {c.shape} is incompatible with dim=2: "
                                 f"N must be a square side**2 with side >= 2")
        if not np.all(np.isfinite(c)) or not np.allclose(c, c.T, rtol=0, atol=1e-12):
            raise ParameterError("cov must be finite and symmetric")
        if not np.allclose(np.diag(c), 1.0, rtol=0, atol=1e-10):
            raise ParameterError("cov must have unit diagonal (pixels of unit variance); "
                                 "rescale it to a correlation matrix")
        self.side = side
        self._cov = c
        self._origin: DataModel | None = None
        first = c[0].reshape((side,) * self.dim)
        self._latent: CirculantGaussian | DenseGaussian
        if np.allclose(first.ravel()[torus_index(side, self.dim)], c, rtol=0, atol=1e-12):
            self._latent = CirculantGaussian.from_first_row(first)
            if self._latent.clipped > 1e-8:
                raise ParameterError(
                    f"cov must be positive semi-definite: its spectrum has negative mass "
                    f"{self._latent.clipped:.3g}")
        else:
            self._latent = DenseGaussian(c)
            lam = self._latent.eigenvalues
            if lam[0] < -1e-8 * lam[-1]:
                raise ParameterError(
                    f"cov must be positive semi-definite, smallest eigenvalue {lam[0]:.3g}")

    @classmethod
    def clone_of(cls, model: DataModel) -> GaussianProcess:
        """The Gaussian field with ``model``'s covariance; its ``params`` and
        ``describe()`` name ``model``."""
        if not isinstance(model, DataModel):
            raise ParameterError(f"model must be a DataModel or TwoClass, got {model!r}")
        clone = cls(model.covariance, dim=model.dim)
        clone._origin = model
        return clone

    @property
    def circulant(self) -> bool:
        """True when sampling uses the FFT (translation-invariant covariance)."""
        return isinstance(self._latent, CirculantGaussian)

    @property
    def marginal(self) -> laws.Gaussian:
        """The pixel law ``Gaussian()``."""
        return laws.Gaussian()

    @property
    def params(self) -> dict[str, Any]:
        if self._origin is not None:
            return {"model": "gaussian-clone", "of": self._origin.params}
        return {"model": "gaussian-process", "cov": self._cov.tolist(), "dim": self.dim}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GaussianProcess:
        """``"gaussian-clone"``: the clone of ``params["of"]``; else from ``cov``, ``dim``."""
        if params["model"] == "gaussian-clone":
            return cls.clone_of(from_params(params["of"]))
        return super().from_params(params)

    def _covariance(self) -> np.ndarray:
        return self._cov

    def _fill_block(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        self._latent.fill(out, gen, work)

    def describe(self) -> str:
        how = "FFT" if self.circulant else "dense square root"
        if self._origin is not None:
            return f"Gaussian clone of [{self._origin.describe()}] ({how}, N={self.n})"
        return f"GaussianProcess(N={self.n}, dim={self.dim}, {how})"


def gaussian_clone(model: Any) -> Any:
    """The Gaussian field with the same covariance as ``model`` (IG22's control).

    A :class:`~rfloc.numerics.data.TwoClass` task is cloned class by class (same ``p``,
    through its ``gaussian_clone`` method).
    """
    if isinstance(model, DataModel):
        return GaussianProcess.clone_of(model)
    clone = getattr(model, "gaussian_clone", None)
    if not callable(clone):
        raise ParameterError(f"model must be a DataModel or TwoClass, got {model!r}")
    return clone()
