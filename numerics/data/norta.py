r"""Gaussian-copula ("NORTA") fields with any pixel law."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from rfloc.errors import ParameterError
from rfloc.numerics import laws
from rfloc.numerics.covariance import HasGaussianTransform, norta_covariance
from rfloc.numerics.data._mapped_field import MappedField
from rfloc.numerics.data._registry import register

__all__ = ["NORTA", "NamedPixelLaw"]


class NamedPixelLaw(HasGaussianTransform, Protocol):
    """A pixel law that :attr:`NORTA.params` can write: a numeric law of
    :mod:`rfloc.numerics.laws` or an ``rfloc.theory`` marginal."""

    @property
    def name(self) -> str: ...

    @property
    def params(self) -> dict[str, Any]: ...


@register("norta")
class NORTA(MappedField):
    r"""Gaussian copula ("NORTA") field with any pixel law, e.g. Kur(k).

    .. math:: z \sim N(0, C_\xi), \qquad x_i = f(z_i) = Q(\Phi(z_i)),

    :math:`f` = ``marginal.gaussian_transform`` (the law's quantile of the normal CDF,
    already standardised to unit variance), tabulated once per model (a
    :class:`~rfloc.numerics.data._mapped_field.MappedField`). The covariance
    :math:`\Sigma_{ij} = E[f(z_i) f(z_j)]` is a function of :math:`C_{\xi,ij}` alone,
    computed by :func:`rfloc.numerics.covariance.norta_covariance` (~1e-12 accurate; a
    few seconds for a 2D torus with a slow quantile such as Student-t).

    Parameters
    ----------
    n : int
        Pixels per side, ``n >= 2``.
    xi : float
        Correlation length, ``xi > 0``.
    marginal : pixel law
        Anything with ``gaussian_transform`` (and ``name``, ``params`` for
        :attr:`params`): a law of :mod:`rfloc.numerics.laws`
        (``Algebraic(k)`` for Kur(k), ``Uniform()``, ``Laplace()``, ``Binary()``,
        ``Gaussian()``, ``StudentT(nu)``, a ``DensityLaw`` ...) or an ``rfloc.theory``
        marginal; :attr:`marginal` returns it as given.
    dim : {1, 2}
        Ring or ``n × n`` torus.
    boundary : {"periodic", "open"}
        As for :class:`~rfloc.numerics.data.NLGP`.
    """

    def __init__(self, n: int, xi: float, marginal: NamedPixelLaw, dim: int = 1, *,
                 boundary: str = "periodic") -> None:
        if not callable(getattr(marginal, "gaussian_transform", None)):
            raise ParameterError(f"marginal must be a pixel law with a gaussian_transform, "
                                 f"got {type(marginal).__name__}")
        super().__init__(n, xi, dim, boundary=boundary)
        self._marginal = marginal

    @property
    def marginal(self) -> Any:
        """The pixel law, as given."""
        return self._marginal

    @property
    def params(self) -> dict[str, Any]:
        m = self._marginal
        return {"model": "norta", "n": self.side, "xi": self.xi,
                "marginal": {"name": m.name, **m.params}, "dim": self.dim,
                **self.boundary_params}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> NORTA:
        """The model with the numeric law ``laws.from_params(params["marginal"])``."""
        return super().from_params({**params, "marginal": laws.from_params(params["marginal"])})

    def _covariance(self) -> np.ndarray:
        return norta_covariance(self.latent_covariance, self._marginal)

    def describe(self) -> str:
        return (f"NORTA(n={self.side}, xi={self.xi:g}, marginal={self._marginal!r}, "
                f"dim={self.dim}{self.boundary_text}): x = Q(Phi(z)), "
                f"z ~ GP(exp(-d^2/xi^2)), N={self.n}")
