r"""Numba kernels of :mod:`rfloc.numerics.data` (private; callers validate everything).

The exact Ising ring sampler
----------------------------
For a periodic ring of ``n`` spins at zero field, :math:`P(s) \propto \prod_i T(s_i, s_{i+1})`
with :math:`T(a, b) = e^{J a b}` and :math:`s_n \equiv s_0`. Since
:math:`T^k(a, b) = \tfrac12 \lambda_+^k (1 + a b\, t^k)`, :math:`t = \tanh J`,
spin 0 is uniform on ±1 and, given :math:`s_0 \dots s_i`,

.. math:: P(s_{i+1} \mid s_i, s_0) \propto T(s_i, s_{i+1})\, T^{k}(s_{i+1}, s_0),
          \qquad k = n - 1 - i .

With :math:`\sigma = s_{i+1}s_i` and :math:`a = s_i s_0` the flip probability
:math:`q_k(a) = P(\sigma = -1)` is tabulated by the caller as a 64-bit fixed-point
threshold ``thr[k, (1 - a) // 2]`` :math:`= \lfloor q_k(a)\, 2^{64} \rfloor`.

A decision "flip" is :math:`U < q` for a uniform :math:`U = 0.d_1 d_2 \ldots` written
in base :math:`2^{16}`: the first digit comes from a pre-drawn stream of 16-bit digits
(four per 64-bit word of the bit generator); only on a tie with the threshold's leading
digit (probability :math:`2^{-16}`) are 48 more bits drawn from the generator. Each spin
therefore costs 16 random bits on average, and
:math:`P(\text{flip}) = \lfloor q\,2^{64}\rfloor / 2^{64}` exactly.
"""

from __future__ import annotations

import numba
import numpy as np

_TWO53 = 9007199254740992.0


@numba.njit(cache=True)
def ising_ring(digits: np.ndarray, lead: np.ndarray, low: np.ndarray, rows: np.ndarray,
               out: np.ndarray, rng: np.random.Generator) -> None:
    """Fill ``out[rows[r], :]`` with independent exact ring configurations (±1.0).

    ``digits`` (len(rows) * n,) uint16 uniform digits, ``n`` per configuration;
    ``lead`` (n, 2) uint16 and ``low`` (n, 2) uint64 are the top 16 and low 48 bits of
    the flip thresholds, indexed by the remaining bonds ``k`` and by ``a = s_i s_0``
    (column 0: a = +1, column 1: a = -1); ``out`` (M, n) float64; ``rng`` supplies the
    48-bit tie breakers.
    """
    n = out.shape[1]
    shift = np.uint64(5)
    for r in range(rows.shape[0]):
        row = rows[r]
        base = r * n
        s0 = 1.0 if digits[base] < 0x8000 else -1.0
        s = s0
        out[row, 0] = s
        for i in range(n - 1):
            k = n - 1 - i
            col = 0 if s == s0 else 1
            d = digits[base + 1 + i]
            lead_digit = lead[k, col]
            if d < lead_digit:
                s = -s
            elif d == lead_digit:
                tail = np.uint64(rng.random() * _TWO53) >> shift
                if tail < low[k, col]:
                    s = -s
            out[row, i + 1] = s
