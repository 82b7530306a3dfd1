r"""Elliptical fields: the no-localization control with non-Gaussian pixels."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import integrate

from rfloc.errors import ParameterError
from rfloc.numerics import laws
from rfloc.numerics.data._kernel_field import KernelField
from rfloc.numerics.data._normal import standard_normal
from rfloc.numerics.data._registry import register

__all__ = ["Elliptical"]

#: the radial laws that ``params`` can name (a callable cannot be stored)
RADIAL = ("shell", "student-t")


@register("elliptical")
class Elliptical(KernelField):
    r"""Elliptical field :math:`x = r\,L u` with unit pixel variance (the second control).

    :math:`u` is uniform on the sphere :math:`S^{N-1}`, :math:`LL^T = C_\xi` (the FFT
    square root, as for :class:`NLGP`), :math:`r \ge 0` independent of :math:`u`, and
    :math:`E[r^2] = N` so that :math:`\mathrm{Cov}(x) = C_\xi`. Radial laws:

    - ``"shell"``: :math:`r = \sqrt N`;
    - ``"student-t"``: multivariate Student-t,
      :math:`x = \sqrt{(\nu - 2)/\chi^2_\nu}\;L g`, :math:`g \sim N(0, I)`, ``nu > 2``;
    - a callable: the inverse CDF :math:`F_r^{-1}(u)` of :math:`r` (vectorised over
      ``u`` in (0, 1)); :math:`r` is rescaled by :math:`\sqrt{N / E[r^2]}`
      (:math:`E[r^2]` by quadrature).

    Sampling: :math:`x = s\,C^{1/2} g` with :math:`g \sim N(0, I_N)` and the per-sample
    scale :math:`s = r/\lVert g \rVert` (so :math:`C^{1/2} g/\lVert g\rVert = L u`).

    Pixel law: :math:`x_i = r\,v_i` with :math:`v_i \sim u_1` (one coordinate of the
    uniform sphere), hence :math:`E[x_i^4] = 3 E[r^4]/(N(N+2))`
    (:meth:`excess_kurtosis`). ``marginal`` is the law ``StudentT(nu)`` for
    ``"student-t"`` and None otherwise (the shell pixel is :math:`\sqrt N u_1`, a scaled
    symmetric Beta law with no named law). Whatever the pixel law, elliptical data have a
    *linear* localization amplifier (``docs/theory.md`` §4), so a pixel-marginal amplifier
    does not apply.

    Parameters
    ----------
    n : int
        Pixels per side, ``n >= 2``.
    xi : float
        Correlation length, ``xi > 0``.
    radial : {"shell", "student-t"} or callable
        The radial law.
    nu : float, optional
        Degrees of freedom (``nu > 2``), only for ``"student-t"``.
    dim : {1, 2}
        Ring or ``n × n`` torus.
    boundary : {"periodic", "open"}
        Wrap distances around (ring, torus) or not (segment, square; see
        :class:`~._kernel_field.KernelField`).
    """

    def __init__(self, n: int, xi: float, radial: str | Callable[[np.ndarray], np.ndarray]
                 = "shell", nu: float | None = None, dim: int = 1, *,
                 boundary: str = "periodic") -> None:
        super().__init__(n, xi, dim, boundary=boundary)
        self.radial = radial
        #: degrees of freedom, set exactly when ``radial == "student-t"``
        self.nu: float | None = None
        if radial == "student-t":
            if nu is None:
                raise ParameterError("nu must be given (nu > 2) for radial='student-t'")
            self.nu = laws.StudentT(nu).nu
        elif nu is not None:
            raise ParameterError("nu is only used with radial='student-t'")
        elif callable(radial):
            r2, r4 = (self._radial_moment(radial, p) for p in (2, 4))
            if not (math.isfinite(r2) and r2 > 0):
                raise ParameterError("radial inverse CDF must give 0 < E[r^2] < inf")
            self._radial_scale = math.sqrt(self.n / r2)
            self._r4_over_r2sq = r4 / r2**2
        elif radial != "shell":
            raise ParameterError(
                f"radial must be one of {RADIAL} or a callable inverse CDF, got {radial!r}")

    @staticmethod
    def _radial_moment(inv_cdf: Callable[[np.ndarray], np.ndarray], power: int) -> float:
        def integrand(u: float) -> float:
            return float(np.asarray(inv_cdf(np.array([u])), dtype=np.float64)[0]) ** power
        return integrate.quad(integrand, 0.0, 1.0, limit=200)[0]

    @property
    def marginal(self) -> laws.StudentT | None:
        """The pixel law ``StudentT(nu)`` for ``radial="student-t"``, else None."""
        return None if self.nu is None else laws.StudentT(self.nu)

    def excess_kurtosis(self) -> float:
        r"""Pixel excess kurtosis :math:`3N\,E[r^4]/((N+2)E[r^2]^2) - 3`.

        Shell: :math:`-6/(N+2)`; Student-t: :math:`6/(\nu-4)` (``inf`` for ``nu <= 4``).
        """
        n = self.n
        if self.radial == "shell":
            return -6.0 / (n + 2)
        marginal = self.marginal
        if marginal is not None:  # "student-t"
            return marginal.excess_kurtosis()
        return 3.0 * n / (n + 2) * self._r4_over_r2sq - 3.0

    @property
    def params(self) -> dict[str, Any]:
        radial = self.radial if isinstance(self.radial, str) else (
            "callable:" + getattr(self.radial, "__name__", "inverse_cdf"))
        return {"model": "elliptical", "n": self.side, "xi": self.xi, "radial": radial,
                "nu": self.nu, "dim": self.dim, **self.boundary_params}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Elliptical:
        if params.get("radial", "shell") not in RADIAL:
            raise ParameterError("an Elliptical model with a callable radial law cannot "
                                 "be rebuilt from params")
        return super().from_params(params)

    def _covariance(self) -> np.ndarray:
        return self.latent_covariance

    def _fill_block(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        k: int = out.shape[0]
        g = standard_normal(gen, work[: k * self.n].reshape(k, self.n))
        if self.nu is not None:  # "student-t"
            scale = np.sqrt((self.nu - 2.0) / gen.chisquare(self.nu, size=k))
        else:
            r: float | np.ndarray = math.sqrt(self.n) if isinstance(self.radial, str) else (
                self._radial_scale * np.asarray(self.radial(gen.random(k)), dtype=np.float64))
            scale = r / np.linalg.norm(g, axis=1)
        np.multiply(self._latent.sqrt_apply(g), scale[:, None], out=out)

    def describe(self) -> str:
        radial = self.params["radial"] + (f"(nu={self.nu:g})" if self.nu else "")
        return (f"Elliptical(n={self.side}, xi={self.xi:g}, radial={radial}, dim={self.dim}"
                f"{self.boundary_text}): x = r L u, N={self.n}")
