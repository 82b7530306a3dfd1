r"""Numba kernels of the data models (private; callers validate everything).

The random kernels draw raw 64-bit words straight from the caller's NumPy bit generator
through its ctypes interface (``next_u64(state)``, see ``BitGenerator.ctypes``): no
buffers, and the samples are a deterministic function of the seed. Callers hold the bit
generator's lock during a call.

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
in base :math:`2^{16}`: the first digit is the next 16-bit piece of the current 64-bit
word; only on a tie with the threshold's leading digit (probability :math:`2^{-16}`) are
48 more bits drawn. Spin 0 takes one digit too (its sign bit). Each spin therefore costs
16 random bits on average, and
:math:`P(\text{flip}) = \lfloor q\,2^{64}\rfloor / 2^{64}` exactly.

The flip decision is computed without a branch (select the threshold by ``a``, take the
sign bit of ``d - lead``, xor it into ``a``): flips happen with probability 0.2–0.35 at
the reference couplings, and a mispredicted branch per flip made the kernel about twice
slower. The random stream, and hence the samples for a given seed, are unchanged.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from rfloc.numerics._jit import kernel

_INV_TWO53 = 1.0 / 9007199254740992.0     # 2^-53


@kernel
def ising_ring(next_u64, state: int, lead: np.ndarray, low: np.ndarray, rows: np.ndarray,
               out: np.ndarray) -> None:
    """Fill ``out[rows[r], :]`` with independent exact ring configurations (±1.0).

    ``lead`` (n, 2) int64 and ``low`` (n, 2) uint64 are the top 16 and low 48 bits of the
    flip thresholds, indexed by the remaining bonds ``k`` and by ``a = s_i s_0``
    (column 0: a = +1, column 1: a = -1); ``out`` (M, n) float64.
    """
    n = out.shape[1]
    mask = np.uint64(0xFFFF)
    step = np.uint64(16)
    word = np.uint64(0)
    left = 0
    for r in range(rows.shape[0]):
        row = rows[r]
        if left == 0:
            word = next_u64(state)
            left = 4
        d = np.int64(word & mask)
        word >>= step
        left -= 1
        s0 = 1.0 - 2.0 * np.float64(d >> 15)          # +1 if d < 0x8000 else -1
        out[row, 0] = s0
        a = np.int64(0)                                # 0: s_i = s_0, 1: s_i = -s_0
        for i in range(1, n):
            if left == 0:
                word = next_u64(state)
                left = 4
            d = np.int64(word & mask)
            word >>= step
            left -= 1
            k = n - i
            # branch-free: the flips are unpredictable (a mispredicted branch per flip
            # cost more than the rest of the step); only the rare tie branches
            l0 = lead[k, 0]
            lk = l0 ^ ((l0 ^ lead[k, 1]) & -a)        # lead[k, a]
            diff = d - lk
            flip = (diff >> 63) & 1                    # d < lead[k, a]
            if diff == 0:
                flip = np.int64((next_u64(state) >> step) < low[k, a])
            a ^= flip
            out[row, i] = s0 * np.float64(1 - 2 * a)


@kernel
def ising_two_class(next_u64, next_double, state: int, p: float, lead1: np.ndarray,
                    low1: np.ndarray, lead0: np.ndarray, low0: np.ndarray, out: np.ndarray,
                    y: np.ndarray) -> None:
    """A labelled batch of two Ising rings in one call (``TwoClass`` of two ``Ising``).

    Labels ``y[r] = 1.0`` if the next double (``next_double(state)``, NumPy's own
    ``Generator.random`` draw) is below ``p``, else ``0.0``; then the class-1 rows, in
    order, are filled by :func:`ising_ring` with ``lead1, low1``, then the class-0 rows
    with ``lead0, low0``. This is the random stream of ``TwoClass.sample`` (labels from
    ``gen.random(m)``, then each class through ``Ising.fill_rows``), without its
    per-call overhead.
    """
    m = y.shape[0]
    for r in range(m):
        y[r] = 1.0 if next_double(state) < p else 0.0
    rows = np.empty(m, dtype=np.int64)
    n1 = 0
    for r in range(m):
        if y[r] == 1.0:
            rows[n1] = r
            n1 += 1
    j = n1
    for r in range(m):
        if y[r] == 0.0:
            rows[j] = r
            j += 1
    if n1 > 0:
        ising_ring(next_u64, state, lead1, low1, rows[:n1], out)
    if n1 < m:
        ising_ring(next_u64, state, lead0, low0, rows[n1:], out)


# ====================================================================== normal variates
def ziggurat_tables(layers: int = 256) -> tuple[float, np.ndarray, np.ndarray]:
    r"""Layer edges of the Marsaglia–Tsang ziggurat for :math:`f(x) = e^{-x^2/2}`, x ≥ 0.

    ``layers`` strips of equal area :math:`v`: the base strip is the rectangle
    :math:`[0, r] \times [0, f(r)]` plus the tail :math:`x > r`
    (:math:`v = r f(r) + \int_r^\infty f`), and
    :math:`x_{i+1} = f^{-1}(f(x_i) + v / x_i)` up to the top strip, whose area
    :math:`x_{L-1}(1 - f(x_{L-1}))` must also be :math:`v`; :math:`r` solves that
    condition (:math:`r \approx 3.6541528853610088` for 256 strips).

    Returns
    -------
    r : float
        Start of the tail.
    x : ndarray, shape (layers + 1,)
        ``x[0] = v / f(r)`` (pseudo-width of the base strip), ``x[i]`` the right edge of
        strip ``i`` for ``i >= 1`` (``x[1] = r``), ``x[layers] = 0``.
    fx : ndarray, shape (layers + 1,)
        :math:`f(x_i)`.
    """
    def f(x: float) -> float:
        return math.exp(-0.5 * x * x)

    def area(r: float) -> float:
        return r * f(r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2.0))

    def edges(r: float) -> np.ndarray | None:
        v, x = area(r), np.zeros(layers + 1)
        x[0], x[1] = v / f(r), r
        for i in range(1, layers - 1):
            y = f(x[i]) + v / x[i]
            if y >= 1.0:
                return None
            x[i + 1] = math.sqrt(-2.0 * math.log(y))
        return x

    def mismatch(r: float) -> float:
        x = edges(r)
        return 1.0 if x is None else f(x[layers - 1]) + area(r) / x[layers - 1] - 1.0

    r = optimize.brentq(mismatch, 3.0, 4.0, xtol=1e-15)
    x = edges(r)
    assert x is not None  # mismatch(r) = 0 at the root, so the strips exist
    return r, x, np.exp(-0.5 * x * x)


@kernel
def _uniform(next_u64, state: int) -> float:
    """A uniform double in [0, 1) from the top 53 bits of one word."""
    return np.int64(next_u64(state) >> np.uint64(11)) * _INV_TWO53


@kernel
def ziggurat(next_u64, state: int, xt: np.ndarray, ft: np.ndarray, r: float,
             out: np.ndarray) -> None:
    """Fill ``out`` (1D) with independent standard normals.

    One 64-bit word per attempt: bits 0–7 pick the strip, bit 8 the sign, bits 11–63 a
    53-bit uniform. Points left of the next edge are accepted at once (≈99% of draws);
    otherwise the wedge test (strips ≥ 1) or the tail (strip 0, Marsaglia's exponential
    method) decide, with fresh uniforms; a rejected wedge point starts a new attempt.
    """
    for k in range(out.shape[0]):
        while True:
            word = next_u64(state)
            bits = np.int64(word & np.uint64(0x1FF))
            i = bits & 0xFF
            sign = 1.0 - 2.0 * (bits >> 8)
            x = np.int64(word >> np.uint64(11)) * _INV_TWO53 * xt[i]
            if x < xt[i + 1]:
                break
            if i == 0:
                while True:
                    a = -math.log(1.0 - _uniform(next_u64, state)) / r
                    b = -math.log(1.0 - _uniform(next_u64, state))
                    if 2.0 * b > a * a:
                        break
                x = r + a
                break
            if ft[i] + _uniform(next_u64, state) * (ft[i + 1] - ft[i]) < math.exp(-0.5 * x * x):
                break
        out[k] = sign * x
