r"""Covariances of Markov chains on a ring: products in :math:`O(N)` through the precision.

The covariance of a stationary Markov chain on a ring of N pixels (the zero-field Ising ring,
:math:`C_d = (t^d + t^{N-d})/(1 + t^N)` with :math:`t = \tanh J`; a circular AR(1) process)
has a *cyclic tridiagonal* inverse :math:`Q = C^{-1}`: diagonal :math:`\alpha_i`,
neighbour couplings :math:`\beta_i = Q_{i,i+1}` (indices mod N) and nothing else. Then
:math:`x = C y` solves :math:`Q x = y`, which costs a few operations per pixel instead of
the N of a dense row.

The cyclic system is solved by the Sherman–Morrison formula: with :math:`\gamma = -\alpha_0`,
:math:`Q = T + u v^\top`, :math:`u = (\gamma, 0, \dots, 0, \beta_{N-1})^\top`,
:math:`v = (1, 0, \dots, 0, \beta_{N-1}/\gamma)^\top` and :math:`T` the tridiagonal matrix
with :math:`T_{00} = \alpha_0 - \gamma`, :math:`T_{N-1,N-1} = \alpha_{N-1} -
\beta_{N-1}^2/\gamma`,

.. math:: x = T^{-1}y - \frac{v^\top T^{-1}y}{1 + v^\top z}\, z, \qquad z = T^{-1}u,

where :math:`T^{-1}y` is one forward and one backward sweep with the LU factors of
:math:`T`, and :math:`z` is computed once. :func:`factor` checks the result against the
dense covariance before anything uses it.
"""

from __future__ import annotations

import hashlib

import numpy as np

from rfloc.numerics._jit import sums

ROWS = 5
"""Rows of a factor array: multipliers, inverse pivots, couplings over pivots, z, scalars."""

_CHECK_RTOL = 1e-12  # fast products against the dense covariance, relative to max |C|
_CACHE: dict[tuple[str, tuple[int, ...]], np.ndarray | None] = {}
_CACHE_SIZE = 32


def factor(cov: np.ndarray, weight: float = 1.0, *, key: str | None = None) -> np.ndarray | None:
    r"""Factors ``(ROWS, N)`` of ``cov`` for :func:`sweep`, or None if it is not Markov.

    ``cov`` qualifies when N >= 3, it is positive definite, and the products through the
    cyclic tridiagonal precision built from its 3x3 neighbourhoods reproduce ``cov`` (all N
    columns) to ``1e-12`` of its largest entry, which no covariance with a wider precision
    does. Row 4 holds the scalars
    ``(beta_{N-1}/gamma, 1/(1 + v.z), weight)``, the weight being that of ``cov`` in
    :math:`\bar\Sigma` (used by :func:`row_products`). Results are cached by content: ``key``,
    if given, must identify it (e.g. its SHA-256, which is otherwise computed here).
    """
    cov = np.ascontiguousarray(cov, dtype=np.float64)
    ident = (key or hashlib.sha256(cov.data).hexdigest(), cov.shape)
    if ident not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[ident] = _factor(cov)
    fac = _CACHE[ident]
    if fac is None:
        return None
    fac = fac.copy()
    fac[4, 2] = weight
    return fac


def _factor(cov: np.ndarray) -> np.ndarray | None:
    n = cov.shape[0]
    if n < 3:
        return None
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return None
    # Row i of a Markov precision is the middle row of the inverse of the 3x3 covariance of
    # pixels (i-1, i, i+1): the conditional law of pixel i given its neighbours is its law
    # given all others. These local solves are far better conditioned than inverting cov.
    idx = np.arange(n)
    near = np.stack([(idx - 1) % n, idx, (idx + 1) % n], axis=1)
    local = np.linalg.solve(cov[near[:, :, None], near[:, None, :]],
                            np.broadcast_to(np.array([0.0, 1.0, 0.0])[:, None], (n, 3, 1)))
    local = local[:, :, 0]
    alpha = local[:, 1].copy()
    beta = 0.5 * (local[:, 2] + np.roll(local[:, 0], -1))  # Q[i, i+1] from rows i and i+1
    gamma = -alpha[0]
    diag = alpha.copy()
    diag[0] -= gamma
    diag[-1] -= beta[-1] ** 2 / gamma
    mult = np.zeros(n)
    pivot = np.empty(n)
    pivot[0] = diag[0]
    for i in range(1, n):
        mult[i] = beta[i - 1] / pivot[i - 1]
        pivot[i] = diag[i] - mult[i] * beta[i - 1]
    if not np.all(np.isfinite(pivot)) or np.min(np.abs(pivot)) <= 1e-12 * np.max(np.abs(diag)):
        return None
    fac = np.zeros((ROWS, n))
    fac[0], fac[1], fac[2] = mult, 1.0 / pivot, beta / pivot
    fac[4, 0] = beta[-1] / gamma
    z = np.zeros((n, 1))
    z[0, 0], z[-1, 0] = gamma, beta[-1]
    sweep(z, z, fac, np.empty(1))  # with 1/(1 + v.z) = 0 (not yet known): z = T^-1 u
    fac[3] = z[:, 0]
    fac[4, 1] = 1.0 / (1.0 + z[0, 0] + fac[4, 0] * z[-1, 0])
    out = np.eye(n)
    sweep(out, out, fac, np.empty(n))
    if not np.all(np.isfinite(out)) or \
            np.max(np.abs(out - cov)) > _CHECK_RTOL * np.max(np.abs(cov)):
        return None
    return fac


@sums
def sweep(src, x, fac, c):
    r"""``x[:, r] = C src[:, r]`` for every column of ``src`` (N, R) (``x`` may be ``src``),
    ``C`` given by ``fac``.

    The recurrences run along the pixels (axis 0) and are vectorised across the R columns.
    ``c`` (R,) is scratch. ``fac[4, 2]`` (the weight) is not applied.
    """
    n, cols = x.shape
    mult, dinv, upper, z = fac[0], fac[1], fac[2], fac[3]
    x[0, :] = src[0]
    for i in range(1, n):
        m = mult[i]
        prev = x[i - 1]
        cur = x[i]
        inp = src[i]
        for r in range(cols):
            cur[r] = inp[r] - m * prev[r]
    last = x[n - 1]
    d = dinv[n - 1]
    for r in range(cols):
        last[r] *= d
    for i in range(n - 2, -1, -1):
        u = upper[i]
        d = dinv[i]
        nxt = x[i + 1]
        cur = x[i]
        for r in range(cols):
            cur[r] = cur[r] * d - u * nxt[r]  # one FMA on the recurrence's critical path
    first = x[0]
    vlast, cinv = fac[4, 0], fac[4, 1]
    for r in range(cols):
        c[r] = (first[r] + vlast * last[r]) * cinv
    for i in range(n):
        zi = z[i]
        cur = x[i]
        for r in range(cols):
            cur[r] -= zi * c[r]


@sums
def row_products(y, tri, out):
    r"""``out[:N] = cov1 @ y``, ``out[N:] = covbar @ y`` for one row ``y`` (N,).

    ``tri`` (2, ROWS, N) holds the factors of ``cov1`` and ``cov0`` with the weights ``p`` and
    ``1 - p`` of :math:`\bar\Sigma`. The recurrences of :func:`sweep` run for both
    covariances in one loop so that their latencies overlap.
    """
    n = y.shape[0]
    f1, f0 = tri[0], tri[1]
    a = y[0]
    b = y[0]
    out[0] = a
    out[n] = b
    for i in range(1, n):
        a = y[i] - f1[0, i] * a
        b = y[i] - f0[0, i] * b
        out[i] = a
        out[n + i] = b
    a *= f1[1, n - 1]
    b *= f0[1, n - 1]
    out[n - 1] = a
    out[2 * n - 1] = b
    for i in range(n - 2, -1, -1):
        a = out[i] * f1[1, i] - f1[2, i] * a
        b = out[n + i] * f0[1, i] - f0[2, i] * b
        out[i] = a
        out[n + i] = b
    ca = (a + f1[4, 0] * out[n - 1]) * f1[4, 1]
    cb = (b + f0[4, 0] * out[2 * n - 1]) * f0[4, 1]
    w1, w0 = f1[4, 2], f0[4, 2]
    for i in range(n):
        s1 = out[i] - ca * f1[3, i]
        out[i] = s1
        out[n + i] = w1 * s1 + w0 * (out[n + i] - cb * f0[3, i])
