r"""The periodic 1D Ising ring, sampled exactly."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rfloc.errors import check_positive
from rfloc.numerics import laws
from rfloc.numerics.covariance import ising_covariance
from rfloc.numerics.data import _kernels
from rfloc.numerics.data._base import DataModel, check_side, freeze
from rfloc.numerics.data._registry import register

__all__ = ["Ising"]


@register("ising")
class Ising(DataModel):
    r"""Periodic 1D Ising ring at zero field, sampled exactly (no Markov chain).

    .. math:: P(s) \propto \exp\Big(J \sum_{i=0}^{n-1} s_i s_{i+1}\Big),
              \quad s_n \equiv s_0, \qquad
              \mathrm{Cov}(s_i, s_{i+d}) = \frac{t^d + t^{n-d}}{1 + t^n},\ t = \tanh J .

    Spin 0 is uniform on ±1 (zero field), then the ring is walked as a Markov bridge
    that closes the periodic boundary exactly:
    :math:`P(s_{i+1} \mid s_i, s_0) \propto T(s_i, s_{i+1})\,T^{n-1-i}(s_{i+1}, s_0)`
    with the transfer matrix :math:`T(a, b) = e^{Jab}`,
    :math:`T^k(a, b) = \tfrac12\lambda_+^k(1 + ab\,t^k)`. With :math:`x = e^{-2J}`,
    :math:`t_k = t^k`, the flip probabilities are

    .. math:: q_k(+) = \frac{x(1 - t_k)}{1 + t_k + x(1 - t_k)}, \qquad
              q_k(-) = \frac{x(1 + t_k)}{1 - t_k + x(1 + t_k)}

    for :math:`s_i = s_0` (+) and :math:`s_i \ne s_0` (−). Samples are independent,
    O(n) each, drawn by a Numba kernel (16 random bits per spin on average, the tabulated
    probabilities realised to :math:`2^{-64}`; see :mod:`rfloc.numerics.data._kernels`).

    There is no 2D Ising model here: a 2D torus has no exact sampler of this kind, and a
    cluster Monte Carlo would need its own decorrelation checks.

    Parameters
    ----------
    n : int
        Number of spins, ``n >= 2``.
    J : float
        Coupling, finite and ``>= 0`` (ferromagnetic).

    Attributes
    ----------
    flip_probability : ndarray, shape (n, 2)
        :math:`q_k(+)`, :math:`q_k(-)` by remaining bonds ``k`` (row 0 unused); the
        sampler realises each as :math:`\lfloor q\,2^{64}\rfloor / 2^{64}`.
    """

    dim = 1

    def __init__(self, n: int, J: float) -> None:
        self.side = check_side(n, 1)
        self.J = check_positive("J", J, strict=False)
        k = np.arange(1, self.side, dtype=np.float64)                  # remaining bonds
        x = math.exp(-2.0 * self.J)
        log_t = -2.0 * math.atanh(x) if x < 1.0 else -math.inf         # log tanh J
        tk = np.exp(k * log_t)
        one_minus = -np.expm1(k * log_t)                                # 1 - t^k
        # (1 - t^k)/x -> 2k as x -> 0 (x underflows for J beyond ~370)
        ratio = np.divide(one_minus, x, out=2.0 * k, where=x > 0.0)
        q = np.zeros((self.side, 2))                                    # row k = 0 unused
        q[1:, 0] = x * one_minus / (1.0 + tk + x * one_minus)
        q[1:, 1] = (1.0 + tk) / (ratio + 1.0 + tk)
        thr = np.floor(q * 2.0**64).astype(np.uint64)
        self._lead = (thr >> np.uint64(48)).astype(np.int64)
        self._low = thr & np.uint64((1 << 48) - 1)
        self.flip_probability = freeze(q)

    @property
    def marginal(self) -> laws.Binary:
        """The pixel law ``Binary()`` (±1 spins)."""
        return laws.Binary()

    @property
    def params(self) -> dict[str, Any]:
        return {"model": "ising", "n": self.side, "J": self.J}

    def _covariance(self) -> np.ndarray:
        return ising_covariance(self.side, self.J)

    def fill_rows(self, out: np.ndarray, gen: np.random.Generator,
                  rows: np.ndarray | None = None) -> None:
        idx = np.arange(out.shape[0]) if rows is None else rows
        bitgen = gen.bit_generator
        with bitgen.lock:
            _kernels.ising_ring(bitgen.ctypes.next_uint64, bitgen.ctypes.state_address,
                                self._lead, self._low, idx, out)

    @staticmethod
    def fill_labelled(positive: Ising, negative: Ising, p: float, gen: np.random.Generator,
                      X: np.ndarray, y: np.ndarray) -> None:
        """A labelled batch of two rings in one kernel call (``TwoClass`` of two ``Ising``).

        ``y[r] = 1.0`` with probability ``p`` (``positive``), else ``0.0``
        (``negative``); ``X`` (m, n) and ``y`` (m,) are overwritten. The generator is
        consumed exactly as by labels from ``gen.random(m)`` followed by
        ``positive.fill_rows`` and ``negative.fill_rows`` on each class's rows.
        """
        bitgen = gen.bit_generator
        with bitgen.lock:
            _kernels.ising_two_class(
                bitgen.ctypes.next_uint64, bitgen.ctypes.next_double,
                bitgen.ctypes.state_address, p, positive._lead, positive._low,
                negative._lead, negative._low, X, y)

    def describe(self) -> str:
        return (f"Ising(n={self.side}, J={self.J:g}): periodic ring, exact transfer-matrix "
                f"sampling, tanh J = {math.tanh(self.J):.4g}")
