r"""The nonlinear Gaussian process NLGP(g) of IG22."""

from __future__ import annotations

from typing import Any

import numpy as np

from rfloc.errors import check_positive
from rfloc.numerics import laws
from rfloc.numerics.covariance import nlgp_map
from rfloc.numerics.data._mapped_field import MappedField
from rfloc.numerics.data._registry import register

__all__ = ["NLGP"]


@register("nlgp")
class NLGP(MappedField):
    r"""Nonlinear Gaussian process NLGP(g) (IG22) on a ring or torus, or with open
    boundaries on a segment or square.

    .. math:: z \sim N(0, C_\xi),\quad C_\xi(d) = e^{-d^2/\xi^2}, \qquad
              x_i = \mathrm{erf}(g z_i) / Z(g),\quad
              Z(g)^2 = \tfrac2\pi \arcsin\tfrac{2g^2}{1+2g^2},

    with covariance :math:`\Sigma = \tfrac2\pi\arcsin(2g^2 C_\xi/(1+2g^2))/Z(g)^2`
    (:func:`rfloc.numerics.covariance.nlgp_map`). Convention: the gain multiplies
    :math:`z` directly; IG22's :math:`\mathrm{erf}(g z/\sqrt2)` is this model at
    :math:`g/\sqrt2`. ``g -> 0`` is Gaussian, ``g -> inf`` gives ±1 pixels. Sampled as a
    :class:`~rfloc.numerics.data._mapped_field.MappedField` (the erf tabulated).

    Parameters
    ----------
    n : int
        Pixels per side, ``n >= 2``.
    xi : float
        Correlation length, ``xi > 0``.
    g : float
        Gain, ``g > 0``.
    dim : {1, 2}
        Ring or ``n × n`` torus (separable kernel).
    boundary : {"periodic", "open"}
        Ring/torus, or a segment/square without wrapping as in IG22's code
        (:class:`~rfloc.numerics.data._kernel_field.KernelField`); only ``"open"`` is
        written to ``params``.
    """

    def __init__(self, n: int, xi: float, g: float, dim: int = 1, *,
                 boundary: str = "periodic") -> None:
        self.g = check_positive("g", g)
        super().__init__(n, xi, dim, boundary=boundary)
        self._marginal = laws.ErfGaussian(self.g)

    @property
    def marginal(self) -> laws.ErfGaussian:
        """The pixel law ``ErfGaussian(g)``."""
        return self._marginal

    @property
    def params(self) -> dict[str, Any]:
        return {"model": "nlgp", "n": self.side, "xi": self.xi, "g": self.g, "dim": self.dim,
                **self.boundary_params}

    def _covariance(self) -> np.ndarray:
        return nlgp_map(self.latent_covariance, self.g)

    def describe(self) -> str:
        return (f"NLGP(n={self.side}, xi={self.xi:g}, g={self.g:g}, dim={self.dim}"
                f"{self.boundary_text}): "
                f"x = erf(g z)/Z(g), z ~ GP(exp(-d^2/xi^2)), N={self.n}")
