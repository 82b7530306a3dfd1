"""Analytic pixel covariances of the data models, re-exported from rfloc.numerics.covariance.

They are numeric (no SymPy) and live with the data models; this module keeps
``rfloc.theory.covariance`` importable for code written against the theory layer.
``norta_covariance`` accepts a theory marginal or a numeric pixel law alike.
"""

from rfloc.numerics.covariance import (
    gaussian_kernel,
    ising_covariance,
    nlgp_covariance,
    nlgp_map,
    norta_covariance,
    ring_distance,
    torus,
)

__all__ = [
    "gaussian_kernel",
    "ising_covariance",
    "nlgp_covariance",
    "nlgp_map",
    "norta_covariance",
    "ring_distance",
    "torus",
]
