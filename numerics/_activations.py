r"""Activation functions of the simulated networks, as Numba kernels.

One code per activation, shared by the committee SGD kernels
(:mod:`rfloc.numerics._sgd_kernels`) and IG22's two-output network
(:mod:`rfloc.numerics._two_output_kernels`):

- ``RELU``: :math:`\max(z, 0)`, with :math:`\sigma'(0) = 0`;
- ``SIGMOID``: :math:`1/(1 + e^{-z})`;
- ``TANH``: :math:`\tanh z`;
- ``ERF``: :math:`\mathrm{erf}(z/\sqrt2)`, derivative :math:`\sqrt{2/\pi}\,e^{-z^2/2}`;
- ``LINEAR``: :math:`z`.
"""

from __future__ import annotations

import math

from rfloc.numerics._jit import kernel

__all__ = ["CODES", "ERF", "LINEAR", "RELU", "SIGMOID", "TANH", "activate"]

RELU = 0
SIGMOID = 1
TANH = 2
ERF = 3
LINEAR = 4

#: activation names (as users write them) to their codes
CODES = {"relu": RELU, "sigmoid": SIGMOID, "tanh": TANH, "erf": ERF, "linear": LINEAR}

_SQRT_HALF = math.sqrt(0.5)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@kernel(inline="always")
def activate(z: float, act: int) -> tuple[float, float]:
    """``(sigma(z), sigma'(z))`` for the activation code ``act``."""
    if act == RELU:
        if z > 0.0:
            return z, 1.0
        return 0.0, 0.0
    if act == SIGMOID:
        s = 1.0 / (1.0 + math.exp(-z))
        return s, s * (1.0 - s)
    if act == TANH:
        t = math.tanh(z)
        return t, 1.0 - t * t
    if act == ERF:
        return math.erf(z * _SQRT_HALF), _SQRT_2_OVER_PI * math.exp(-0.5 * z * z)
    return z, 1.0
