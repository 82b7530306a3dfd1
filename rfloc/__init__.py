"""rfloc: localized receptive fields from the data.

Three layers, one import namespace:

- :mod:`rfloc.theory` — SymPy: marginals, the localization amplifier, the effective ODE.
- :mod:`rfloc.numerics` — NumPy/Numba: data samplers, ODE integrator, SGD, metrics.
- :mod:`rfloc.validation` — theory against simulation, sweeps, reports.
"""

from rfloc.errors import IntegrationError, MomentError, ParameterError, RflocError, TrainingError

__version__ = "0.1.0"

__all__ = [
    "IntegrationError",
    "MomentError",
    "ParameterError",
    "RflocError",
    "TrainingError",
    "__version__",
]
