r"""What to solve: the effective ODE of one ReLU neuron (docs/theory.md §5, equation (*)).

.. math::

    \frac{dw}{dt} = p\,\varphi\!\left(\frac{\Sigma_1 w}{\|w\|_{\Sigma_1}}\right) - \bar\Sigma w,
    \qquad \bar\Sigma = p\,\Sigma_1 + (1-p)\,\Sigma_0, \qquad
    \|w\|_{\Sigma_1} = \sqrt{w^\top \Sigma_1 w},

with the amplifier :math:`\varphi` applied elementwise. :func:`effective_rhs` is its NumPy
right-hand side (the one used by the SciPy reference and by
``rfloc.theory.EffectiveDynamics.rhs``); :class:`EffectiveODE` holds checked inputs, their
SHA-256 digests and the numeric forms the Numba kernels need.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np

from rfloc.errors import ParameterError, check_open_unit, check_positive
from rfloc.numerics.amplifier_table import KIND_BINARY, KIND_LINEAR, KIND_TABLE, AmplifierTable
from rfloc.numerics.integrator._fastphi import core, tabulate
from rfloc.numerics.integrator._kernels import AmpArgs, RhsArgs, symmetrise
from rfloc.numerics.integrator._products import Products, select_products

__all__ = ["EffectiveODE", "effective_rhs"]


def effective_rhs(w: np.ndarray, cov1: np.ndarray, covbar: np.ndarray, p: float,
                  phi: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    r""":math:`f(w) = p\,\varphi(\Sigma_1 w / \sqrt{w^\top\Sigma_1 w}) - \bar\Sigma w` in NumPy.

    Parameters
    ----------
    w : ndarray, shape (N,) or (..., N)
        Receptive fields, one per row; :math:`w^\top\Sigma_1 w > 0` (not checked).
    cov1, covbar : ndarray, shape (N, N)
        :math:`\Sigma_1` and :math:`\bar\Sigma = p\Sigma_1 + (1-p)\Sigma_0`.
    p : float
        Class-1 proportion.
    phi : callable
        The amplifier, vectorised (e.g. an ``AmplifierTable`` or ``Amplifier``).

    Returns
    -------
    ndarray, shape of ``w``
    """
    s1 = w @ cov1.T
    a = s1 / np.sqrt(np.sum(w * s1, axis=-1, keepdims=True))
    return p * phi(a) - w @ covbar.T


class EffectiveODE:
    r"""The effective dynamics for given covariances, class-1 share and amplifier, checked.

    Parameters
    ----------
    cov1, cov0 : array_like, shape (N, N)
        Symmetric (to 1e-12 relative; symmetrised) positive semi-definite pixel covariances of
        class 1 (label 1) and class 0. Positive semi-definiteness is checked when the
        products are chosen (:meth:`products`).
    amplifier : AmplifierTable or object with a ``.table`` AmplifierTable
        The localization amplifier :math:`\varphi`, e.g. ``rfloc.theory.amplifier(marginal)``
        or ``AmplifierTable.binary()``.
    p : float
        Class-1 proportion, in (0, 1).
    collapse_tol : float
        Norm collapse: :math:`\|w\|_{\Sigma_1} \le` ``collapse_tol`` ends a trajectory (the
        amplifier's argument is undefined at :math:`w = 0`), ``>= 0``.
    amplifier_tol : float
        Allowed absolute error of the kernels' fast re-tabulation of :math:`\varphi`
        (checked when built); 0 evaluates the table per pixel (slower).

    Attributes
    ----------
    cov1, cov0, covbar : ndarray, shape (N, N)
    table : AmplifierTable
    n : int
    digests : dict of str
        SHA-256 of ``cov1``, ``cov0`` and the amplifier table.
    """

    def __init__(self, cov1: Any, cov0: Any, amplifier: Any, p: float = 0.5, *,
                 collapse_tol: float = 1e-12, amplifier_tol: float = 1e-13) -> None:
        shape = np.shape(cov1)
        if len(shape) != 2 or shape[0] != shape[1] or shape[0] < 1:
            raise ParameterError(f"cov1 must be a square (N, N) matrix, got shape {shape}")
        self.n = int(shape[0])
        self.cov1 = check_cov("cov1", cov1, self.n, "cov1")
        self.cov0 = check_cov("cov0", cov0, self.n, "cov1")
        self.table = _check_amplifier(amplifier)
        self.p = check_open_unit("p", p)
        self.collapse_tol = check_positive("collapse_tol", collapse_tol, strict=False)
        self.amplifier_tol = check_positive("amplifier_tol", amplifier_tol, strict=False)
        self.digests = {"cov1": digest(self.cov1), "cov0": digest(self.cov0),
                        "amplifier": digest(self.table.breaks, self.table.coeffs)}
        self._products: dict[str, Products] = {}

    @cached_property
    def covbar(self) -> np.ndarray:
        r""":math:`\bar\Sigma = p\,\Sigma_1 + (1-p)\,\Sigma_0` (N, N)."""
        return self.p * self.cov1 + (1.0 - self.p) * self.cov0

    @cached_property
    def decay_rate(self) -> float:
        r"""Largest eigenvalue :math:`\lambda_{\max}(\bar\Sigma)`: the fastest decay of the
        linear part :math:`-\bar\Sigma w` (the amplifier term is bounded)."""
        return float(np.linalg.eigvalsh(self.covbar)[-1])

    def rhs(self, w: np.ndarray) -> np.ndarray:
        """:func:`effective_rhs` of ``w`` (..., N) with the exact amplifier table."""
        return effective_rhs(w, self.cov1, self.covbar, self.p, self.table)

    def products(self, kind: str = "auto") -> Products:
        """The products of ``kind`` (``"auto"``, ``"dense"``, ``"fft"``, ``"markov"``; see
        :func:`~rfloc.numerics.integrator._products.select_products`), chosen and checked
        once per kind."""
        if kind not in self._products:
            self._products[kind] = select_products(
                self.cov1, self.cov0, self.p, kind, (self.digests["cov1"], self.digests["cov0"]))
        return self._products[kind]

    def kernel_args(self, products: Products) -> RhsArgs:
        """What the Numba kernels read, with the fast amplifier tables (cached by content)."""
        amp = AmpArgs(tabulate(self.table, self.amplifier_tol),
                      core(self.table, self.amplifier_tol), self.table.kind, self.table.breaks,
                      self.table.coeffs)
        return RhsArgs(self.p, self.collapse_tol**2, amp, products.kernel_args())

    def params(self) -> dict[str, Any]:
        """The ODE's part of a trajectory's ``params``."""
        return {"p": self.p, "N": self.n, "collapse_tol": self.collapse_tol,
                "amplifier_tol": self.amplifier_tol, "amplifier_kind": self.table.kind}


def digest(*arrays: np.ndarray) -> str:
    """SHA-256 (hex) of the float64 contents of ``arrays``."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).data)  # the buffer, no copy
    return h.hexdigest()


def check_cov(name: str, cov: Any, n: int, against: str) -> np.ndarray:
    """A float64 copy of ``cov`` (N, N), symmetrised (it must be symmetric to 1e-12
    relative); ``against`` names what fixes N in the message."""
    try:
        arr = np.array(cov, dtype=np.float64, order="C")
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a real (N, N) matrix, got {cov!r}") from None
    if arr.shape != (n, n):
        raise ParameterError(f"{name} must have shape ({n}, {n}) to match {against} "
                             f"(N = {n}), got shape {arr.shape}")
    top, asym = symmetrise(arr)
    if not math.isfinite(top):
        raise ParameterError(f"{name} must be finite (no NaN or inf)")
    if asym > 1e-12 * max(1.0, top):
        raise ParameterError(f"{name} must be symmetric (|{name} - {name}.T| <= 1e-12 max|{name}|)")
    return arr


def _check_amplifier(amplifier: Any) -> AmplifierTable:
    table = getattr(amplifier, "table", amplifier)
    if not isinstance(table, AmplifierTable):
        raise ParameterError(
            "amplifier must be an AmplifierTable or have a .table AmplifierTable (e.g. "
            f"rfloc.theory.amplifier(marginal)), got {type(amplifier).__name__}")
    if table.kind not in (KIND_LINEAR, KIND_BINARY, KIND_TABLE):
        raise ParameterError(f"amplifier.table.kind must be 0, 1 or 2, got {table.kind!r}")
    breaks = np.ascontiguousarray(table.breaks, dtype=np.float64)
    coeffs = np.ascontiguousarray(table.coeffs, dtype=np.float64)
    ok = bool(breaks.ndim == 1 and coeffs.ndim == 2 and coeffs.size > 0
              and np.all(np.isfinite(breaks)) and np.all(np.isfinite(coeffs)))
    if ok and table.kind == KIND_TABLE:
        ok = breaks.size == coeffs.shape[0] + 1 and bool(np.all(np.diff(breaks) > 0))
    if not ok:
        raise ParameterError("amplifier table is malformed: breaks must be (P+1,) increasing, "
                             "coeffs (P, D+1), all finite")
    return AmplifierTable(int(table.kind), breaks, coeffs)
