"""rfloc: localized receptive fields from the data.

Three layers, one import namespace:

- :mod:`rfloc.theory` — SymPy: marginals, the localization amplifier, the effective ODE.
- :mod:`rfloc.numerics` — NumPy/Numba: data samplers, ODE integrator, SGD, metrics.
- :mod:`rfloc.validation` — theory against simulation, sweeps, reports.

``import rfloc`` is cheap; ``rfloc.theory`` / ``rfloc.numerics`` / ``rfloc.validation``
are imported on first access.
"""

import importlib
from typing import Any

from rfloc.errors import IntegrationError, MomentError, ParameterError, RflocError, TrainingError

__version__ = "0.1.0"

_LAYERS = ("theory", "numerics", "validation")

__all__ = [
    "IntegrationError",
    "MomentError",
    "ParameterError",
    "RflocError",
    "TrainingError",
    "__version__",
    "numerics",
    "theory",
    "validation",
]


def __getattr__(name: str) -> Any:
    if name in _LAYERS:
        return importlib.import_module(f"rfloc.{name}")
    raise AttributeError(f"module 'rfloc' has no attribute {name!r}")
