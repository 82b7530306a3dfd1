r"""Pixel laws, numeric face: Gaussian transforms, quadrature expectations, sampling.

A pixel law is the symmetric, zero-mean, unit-variance law of one input pixel
(``docs/theory.md`` §1). The data models draw pixels as :math:`x = f(z)` with the law's
Gaussian transform :math:`f = Q \circ \Phi`, and the amplifier tables integrate against it.
Every law has ``name``, ``params``, ``gaussian_transform(z)``, ``expect(h)``,
``sample(size, rng)``, ``abs_mean()``, ``max_moment()`` and ``excess_kurtosis()``
(:class:`PixelLaw`). The symbolic twins (exact moments, densities, SymPy expectations) are
the marginals of :mod:`rfloc.theory`, each of which carries its numeric law as ``.law``;
``rfloc.theory.as_marginal`` maps a law back to its marginal.

>>> from rfloc.numerics import laws
>>> laws.from_params({"name": "algebraic", "k": 10.0})
Algebraic(k=10.0)
"""

from __future__ import annotations

from typing import Any

from rfloc.errors import ParameterError
from rfloc.numerics.laws._base import QUAD, ByParams, PixelLaw
from rfloc.numerics.laws._empirical import EmpiricalLaw
from rfloc.numerics.laws._named import (
    Algebraic,
    Binary,
    ErfGaussian,
    Gaussian,
    Laplace,
    StudentT,
    Uniform,
)
from rfloc.numerics.laws._user import DensityLaw, QuantileLaw, quantile_integral

__all__ = [
    "QUAD",
    "REGISTRY",
    "Algebraic",
    "Binary",
    "ByParams",
    "DensityLaw",
    "EmpiricalLaw",
    "ErfGaussian",
    "Gaussian",
    "Laplace",
    "PixelLaw",
    "QuantileLaw",
    "StudentT",
    "Uniform",
    "from_params",
    "quantile_integral",
]

#: The built-in laws by ``name``; ``REGISTRY[law.name](**law.params)`` rebuilds ``law``.
REGISTRY: dict[str, type[PixelLaw]] = {
    cls.name: cls for cls in (Gaussian, Binary, Uniform, Laplace, StudentT, ErfGaussian,
                              Algebraic)}


def from_params(spec: dict[str, Any]) -> PixelLaw:
    """Rebuild a built-in law from ``{"name": law.name, **law.params}``.

    Raises
    ------
    ParameterError
        For a user-defined law (its callable cannot be stored) or a malformed ``spec``.
    """
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in REGISTRY:
        raise ParameterError(
            f"marginal {name!r} is user-defined and cannot be rebuilt from params; "
            f"named marginals are {sorted(REGISTRY)}")
    try:
        return REGISTRY[name](**spec)
    except TypeError:
        raise ParameterError(f"marginal {name!r} cannot be built from {spec!r}") from None
