r"""Numba kernel of :mod:`rfloc.numerics.ising_population`: the characteristic function
of the preactivation on a periodic Ising ring, spin by spin, summed over a frequency grid.

In the eigenbasis of the transfer matrix :math:`T(a, b) = e^{Jab}` (scaled by its top
eigenvalue :math:`2\cosh J`, so :math:`\hat T = \mathrm{diag}(1, t)`, :math:`t = \tanh J`)
the phase :math:`\mathrm{diag}(e^{iuw_j}, e^{-iuw_j})` becomes
:math:`\cos\theta_j\,I + i\sin\theta_j\,X` (:math:`\theta_j = u w_j`, :math:`X` the swap),
so every factor :math:`M_j = D_j\hat T` and every product of factors has the form
:math:`\begin{pmatrix} a & ib \\ ic & d\end{pmatrix}` with real ``a, b, c, d``: four reals
per matrix, eight multiplications per product. With :math:`L_i = M_0\cdots M_{i-1}`,
:math:`R_i = M_i\cdots M_{N-1}` and the spin :math:`S = \mathrm{diag}(1, -1) \to X`,

.. math:: E[s_i e^{iuh}] = \frac{\mathrm{Tr}(L_i X R_i)}{1 + t^N}
          = \frac{i\,(a_L c_R + b_L a_R + c_L d_R + d_L b_R)}{1 + t^N},

purely imaginary (the ring is flip-symmetric), and
:math:`E[e^{iuh}] = \mathrm{Tr}(R_0)/(1 + t^N) = (a_R + d_R)/(1 + t^N)`, real. Products
of factors have operator norm at most 1, so nothing over- or underflows at any ``N``.
"""

from __future__ import annotations

import math

import numpy as np

from rfloc.numerics._jit import kernel

#: the phases cos/sin(k du w_j) advance by rotation and are recomputed every this many k
RESEED = 256


@kernel
def sine_sums(w: np.ndarray, t: float, du: np.ndarray, sigma: np.ndarray, count: np.ndarray,
              out: np.ndarray, even: np.ndarray) -> None:
    r"""Per row ``r``, over ``k = 1 .. count[r] - 1``:
    :math:`\sum_k e^{-(\sigma_r k\,du_r)^2/2}\,\mathrm{Im}\,E[s_i e^{ik\,du_r\,h}] / k`
    and :math:`\sum_k e^{-(\sigma_r k\,du_r)^2/2}\,E[e^{ik\,du_r\,h}]` (real).

    Parameters
    ----------
    w : ndarray, shape (M, N)
        Receptive fields.
    t : float
        :math:`\tanh J`.
    du, sigma : ndarray, shape (M,)
        Frequency step and Gaussian smoothing width of each row.
    count : ndarray of int, shape (M,)
        One past the last ``k`` of each row.
    out : ndarray, shape (M, N)
        Written: the sine sums, one per spin.
    even : ndarray, shape (M,)
        Written: the sums of the characteristic function of ``h``.
    """
    n = w.shape[1]
    norm = 1.0 + t**n
    ra = np.empty(n + 1)
    rb = np.empty(n + 1)
    rc = np.empty(n + 1)
    rd = np.empty(n + 1)
    cs = np.empty(n)
    sn = np.empty(n)
    cr = np.empty(n)
    sr = np.empty(n)
    for r in range(w.shape[0]):
        h = du[r]
        for j in range(n):
            cr[j] = math.cos(h * w[r, j])
            sr[j] = math.sin(h * w[r, j])
            out[r, j] = 0.0
        even[r] = 0.0
        for k in range(1, count[r]):
            if k % RESEED == 1:
                for j in range(n):
                    cs[j] = math.cos(k * h * w[r, j])
                    sn[j] = math.sin(k * h * w[r, j])
            else:
                for j in range(n):
                    c0 = cs[j]
                    cs[j] = c0 * cr[j] - sn[j] * sr[j]
                    sn[j] = sn[j] * cr[j] + c0 * sr[j]
            # suffix products R_j = M_j R_{j+1}, R_N = I
            ra[n], rb[n], rc[n], rd[n] = 1.0, 0.0, 0.0, 1.0
            for j in range(n - 1, -1, -1):
                c, s = cs[j], sn[j]
                ra[j] = c * ra[j + 1] - s * t * rc[j + 1]
                rb[j] = c * rb[j + 1] + s * t * rd[j + 1]
                rc[j] = s * ra[j + 1] + c * t * rc[j + 1]
                rd[j] = -s * rb[j + 1] + c * t * rd[j + 1]
            x = sigma[r] * k * h
            damp = math.exp(-0.5 * x * x) / norm
            even[r] += damp * (ra[0] + rd[0])
            weight = damp / k
            # prefix products L_i = M_0 ... M_{i-1}, L_0 = I
            la, lb, lc, ld = 1.0, 0.0, 0.0, 1.0
            for i in range(n):
                out[r, i] += weight * (la * rc[i] + lb * ra[i] + lc * rd[i] + ld * rb[i])
                c, s = cs[i], sn[i]
                la, lb, lc, ld = (la * c - lb * s, (la * s + lb * c) * t,
                                  lc * c + ld * s, (ld * c - lc * s) * t)
