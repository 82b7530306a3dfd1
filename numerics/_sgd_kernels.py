r"""Numba kernels of simulated training (private; the checked entry point is :mod:`.train`).

The network is a committee of ``K`` units with input ``x`` of ``N`` pixels,

.. math:: \hat y(x) = \sum_{k=1}^{K} v_k\, \sigma(z_k), \qquad z_k = w_k \cdot x + b_k,

weights ``W`` (K, N), biases ``b`` (K,), readout ``v`` (K,) (one neuron: K = 1, v = 1).
The loss of a batch of ``B`` samples is the plain mean squared error (no 1/2),

.. math:: L = \frac1B \sum_{\mu=1}^{B} e_\mu^2, \qquad e_\mu = \hat y(x_\mu) - y_\mu,

with gradients

.. math::
    \frac{\partial L}{\partial w_{k}} = \frac2B \sum_\mu e_\mu v_k \sigma'(z_{k\mu}) x_\mu, \quad
    \frac{\partial L}{\partial b_k} = \frac2B \sum_\mu e_\mu v_k \sigma'(z_{k\mu}), \quad
    \frac{\partial L}{\partial v_k} = \frac2B \sum_\mu e_\mu \sigma(z_{k\mu}).

Activations (integer codes): 0 ReLU (:math:`\sigma'(0) = 0`), 1 sigmoid, 2 tanh,
3 :math:`\mathrm{erf}(z/\sqrt2)` with :math:`\sigma'(z) = \sqrt{2/\pi}\, e^{-z^2/2}`.

Samples are addressed through an index array: sample ``j`` of step ``s`` is row
``rows[s * stride + j]`` of ``X``; ``stride = B`` walks through fresh data (online SGD,
epochs of a shuffled training set), ``stride = 0`` reuses the same batch (full-batch GD).
Kernels check nothing; :func:`rfloc.numerics.train.train_sgd` validates their inputs.
"""

from __future__ import annotations

import math

import numpy as np

from rfloc.numerics._activations import activate
from rfloc.numerics._jit import kernel, sums

# Samples per tile of the batch: bounds the scratch memory (TILE, K) for any batch size.
TILE = 64



@sums
def _tile_preactivations(W: np.ndarray, b: np.ndarray, X: np.ndarray, rows: np.ndarray,
                         start: int, n: int, Z: np.ndarray) -> None:
    """``Z[j, k] = W[k] . X[rows[start + j]] + b[k]`` for ``j < n`` (8 rows per pass)."""
    K, N = W.shape
    j = 0
    while j + 8 <= n:
        r0 = rows[start + j]
        r1 = rows[start + j + 1]
        r2 = rows[start + j + 2]
        r3 = rows[start + j + 3]
        r4 = rows[start + j + 4]
        r5 = rows[start + j + 5]
        r6 = rows[start + j + 6]
        r7 = rows[start + j + 7]
        for k in range(K):
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = b[k]
            for i in range(N):
                w = W[k, i]
                s0 += w * X[r0, i]
                s1 += w * X[r1, i]
                s2 += w * X[r2, i]
                s3 += w * X[r3, i]
                s4 += w * X[r4, i]
                s5 += w * X[r5, i]
                s6 += w * X[r6, i]
                s7 += w * X[r7, i]
            Z[j, k] = s0
            Z[j + 1, k] = s1
            Z[j + 2, k] = s2
            Z[j + 3, k] = s3
            Z[j + 4, k] = s4
            Z[j + 5, k] = s5
            Z[j + 6, k] = s6
            Z[j + 7, k] = s7
        j += 8
    for jj in range(j, n):
        r = rows[start + jj]
        for k in range(K):
            s = b[k]
            for i in range(N):
                s += W[k, i] * X[r, i]
            Z[jj, k] = s


@sums
def _tile_accumulate(D: np.ndarray, X: np.ndarray, rows: np.ndarray, start: int, n: int,
                     gW: np.ndarray) -> None:
    """``gW[k] += sum_{j < n} D[j, k] X[rows[start + j]]`` (8 rows per pass)."""
    K, N = gW.shape
    j = 0
    while j + 8 <= n:
        r0 = rows[start + j]
        r1 = rows[start + j + 1]
        r2 = rows[start + j + 2]
        r3 = rows[start + j + 3]
        r4 = rows[start + j + 4]
        r5 = rows[start + j + 5]
        r6 = rows[start + j + 6]
        r7 = rows[start + j + 7]
        for k in range(K):
            d0 = D[j, k]
            d1 = D[j + 1, k]
            d2 = D[j + 2, k]
            d3 = D[j + 3, k]
            d4 = D[j + 4, k]
            d5 = D[j + 5, k]
            d6 = D[j + 6, k]
            d7 = D[j + 7, k]
            for i in range(N):
                gW[k, i] += (d0 * X[r0, i] + d1 * X[r1, i] + d2 * X[r2, i] + d3 * X[r3, i]
                             + d4 * X[r4, i] + d5 * X[r5, i] + d6 * X[r6, i]
                             + d7 * X[r7, i])
        j += 8
    for jj in range(j, n):
        r = rows[start + jj]
        for k in range(K):
            d = D[jj, k]
            for i in range(N):
                gW[k, i] += d * X[r, i]


@sums
def _one_neuron_gradient(w: np.ndarray, b: float, v: float, X: np.ndarray, y: np.ndarray,
                         rows: np.ndarray, start: int, B: int, act: int,
                         gw: np.ndarray) -> tuple[float, float, float]:
    """``K = 1`` case of :func:`batch_gradient` in one pass over the batch.

    Eight rows at a time: their preactivations, errors and their contribution to ``gw``
    (N,) while the rows are still in L1 cache. Returns ``(L, dL/db, dL/dv)``.
    """
    N = w.shape[0]
    gw[:] = 0.0
    gb = 0.0
    gv = 0.0
    loss = 0.0
    d = np.empty(8)
    j = 0
    while j <= B - 8:
        r0 = rows[start + j]
        r1 = rows[start + j + 1]
        r2 = rows[start + j + 2]
        r3 = rows[start + j + 3]
        r4 = rows[start + j + 4]
        r5 = rows[start + j + 5]
        r6 = rows[start + j + 6]
        r7 = rows[start + j + 7]
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = b
        for i in range(N):
            wi = w[i]
            s0 += wi * X[r0, i]
            s1 += wi * X[r1, i]
            s2 += wi * X[r2, i]
            s3 += wi * X[r3, i]
            s4 += wi * X[r4, i]
            s5 += wi * X[r5, i]
            s6 += wi * X[r6, i]
            s7 += wi * X[r7, i]
        d[0] = s0
        d[1] = s1
        d[2] = s2
        d[3] = s3
        d[4] = s4
        d[5] = s5
        d[6] = s6
        d[7] = s7
        for q in range(8):
            a, da = activate(d[q], act)
            e = v * a - y[rows[start + j + q]]
            loss += e * e
            gv += e * a
            d[q] = e * v * da
            gb += d[q]
        d0, d1, d2, d3, d4, d5, d6, d7 = d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        for i in range(N):
            gw[i] += (d0 * X[r0, i] + d1 * X[r1, i] + d2 * X[r2, i] + d3 * X[r3, i]
                      + d4 * X[r4, i] + d5 * X[r5, i] + d6 * X[r6, i] + d7 * X[r7, i])
        j += 8
    for jj in range(j, B):
        r = rows[start + jj]
        z = b
        for i in range(N):
            z += w[i] * X[r, i]
        a, da = activate(z, act)
        e = v * a - y[r]
        loss += e * e
        gv += e * a
        dj = e * v * da
        gb += dj
        for i in range(N):
            gw[i] += dj * X[r, i]
    c = 2.0 / B
    for i in range(N):
        gw[i] *= c
    return loss / B, c * gb, c * gv


@sums
def batch_gradient(W: np.ndarray, b: np.ndarray, v: np.ndarray, X: np.ndarray,
                   y: np.ndarray, rows: np.ndarray, start: int, B: int, act: int,
                   gW: np.ndarray, gb: np.ndarray, gv: np.ndarray, Z: np.ndarray,
                   a: np.ndarray) -> float:
    r"""Batch loss ``L`` and its gradients (module docstring) written into ``gW, gb, gv``.

    The batch is rows ``rows[start:start + B]`` of ``X`` (M, N) and ``y`` (M,). One neuron
    (K = 1) takes the one-pass :func:`_one_neuron_gradient`; otherwise the batch goes in
    tiles of ``T = Z.shape[0]`` samples; ``Z`` (T, K) holds the preactivations, then the
    back-propagated errors :math:`e_\mu v_k \sigma'(z_{k\mu})`; ``a`` (K,) is scratch.
    The summation order depends only on ``B``, ``K`` and ``T``: results are reproducible
    bit for bit whatever the memory layout of the batch.
    """
    K, N = W.shape
    if K == 1:
        loss, gb[0], gv[0] = _one_neuron_gradient(W[0], b[0], v[0], X, y, rows, start, B,
                                                  act, gW[0])
        return loss
    T = Z.shape[0]
    gW[:, :] = 0.0
    gb[:] = 0.0
    gv[:] = 0.0
    loss = 0.0
    for t0 in range(0, B, T):
        n = min(T, B - t0)
        _tile_preactivations(W, b, X, rows, start + t0, n, Z)
        for j in range(n):
            yhat = 0.0
            for k in range(K):
                a[k], Z[j, k] = activate(Z[j, k], act)
                yhat += v[k] * a[k]
            e = yhat - y[rows[start + t0 + j]]
            loss += e * e
            for k in range(K):
                gv[k] += e * a[k]
                Z[j, k] *= e * v[k]
                gb[k] += Z[j, k]
        _tile_accumulate(Z, X, rows, start + t0, n, gW)
    c = 2.0 / B
    for k in range(K):
        gb[k] *= c
        gv[k] *= c
        for i in range(N):
            gW[k, i] *= c
    return loss / B


@kernel
def _finite_after_update(W: np.ndarray, b: np.ndarray, v: np.ndarray, gW: np.ndarray,
                         gb: np.ndarray, gv: np.ndarray, lr: float, train_b: bool,
                         train_v: bool) -> bool:
    """Whether every parameter stays finite after ``theta -= lr * grad`` (one cheap sum)."""
    K, N = W.shape
    total = 0.0
    for k in range(K):
        for i in range(N):
            total += W[k, i] - lr * gW[k, i]
        if train_b:
            total += b[k] - lr * gb[k]
        if train_v:
            total += v[k] - lr * gv[k]
    return math.isfinite(total)


@kernel
def apply_update(W: np.ndarray, b: np.ndarray, v: np.ndarray, gW: np.ndarray,
                 gb: np.ndarray, gv: np.ndarray, lr: float, train_b: bool, train_v: bool,
                 g: int, save_steps: np.ndarray, ptr: int, out_W: np.ndarray,
                 out_b: np.ndarray, out_v: np.ndarray) -> int:
    r"""Step ``g`` (global number): :math:`\theta \leftarrow \theta - \eta\nabla L`, then save.

    Returns the new ``ptr`` (advanced when ``g == save_steps[ptr]``, after copying the
    parameters into ``out_W[ptr]`` (K, N), ``out_b[ptr]``, ``out_v[ptr]`` (K,)), or -1
    when the update would make a parameter NaN/inf (then nothing changes).
    """
    K, N = W.shape
    if not _finite_after_update(W, b, v, gW, gb, gv, lr, train_b, train_v):
        return -1
    for k in range(K):
        for i in range(N):
            W[k, i] -= lr * gW[k, i]
        if train_b:
            b[k] -= lr * gb[k]
        if train_v:
            v[k] -= lr * gv[k]
    if ptr < save_steps.shape[0] and save_steps[ptr] == g:
        out_W[ptr] = W
        out_b[ptr] = b
        out_v[ptr] = v
        ptr += 1
    return ptr


@kernel
def sgd_steps(W: np.ndarray, b: np.ndarray, v: np.ndarray, X: np.ndarray, y: np.ndarray,
              rows: np.ndarray, stride: int, B: int, n_steps: int, step0: int, lr: float,
              act: int, train_b: bool, train_v: bool, save_steps: np.ndarray, ptr: int,
              out_W: np.ndarray, out_b: np.ndarray, out_v: np.ndarray) -> tuple[int, int]:
    r"""Run ``n_steps`` gradient steps :math:`\theta \leftarrow \theta - \eta \nabla L` in place.

    Step ``s`` (0-based within this call, global number ``step0 + s + 1``) uses the batch
    ``rows[s * stride : s * stride + B]``; updates and saves as :func:`apply_update`.

    Returns ``(ptr, failed)``: ``failed`` is the global number of the step whose update
    would make a parameter NaN/inf (that update is not applied, so ``W, b, v`` hold the
    last finite state), or -1 when all steps succeeded.
    """
    K, N = W.shape
    gW = np.empty((K, N))
    gb = np.empty(K)
    gv = np.empty(K)
    Z = np.empty((min(TILE, B), K))
    a = np.empty(K)
    for s in range(n_steps):
        batch_gradient(W, b, v, X, y, rows, s * stride, B, act, gW, gb, gv, Z, a)
        g = step0 + s + 1
        new = apply_update(W, b, v, gW, gb, gv, lr, train_b, train_v, g, save_steps, ptr,
                           out_W, out_b, out_v)
        if new < 0:
            return ptr, g
        ptr = new
    return ptr, -1


@kernel
def evaluate(Ws: np.ndarray, bs: np.ndarray, vs: np.ndarray, X: np.ndarray, y: np.ndarray,
             act: int, loss: np.ndarray, accuracy: np.ndarray) -> None:
    """Held-out ``loss[t]`` (mean squared error) and ``accuracy[t]`` (``yhat > 1/2`` vs ``y``).

    ``Ws`` (T, K, N), ``bs``/``vs`` (T, K), ``X`` (M, N), ``y`` (M,) with values 0/1.
    """
    n_saves, K, _ = Ws.shape
    M = X.shape[0]
    rows = np.arange(M)
    Z = np.empty((min(TILE, M), K))
    for t in range(n_saves):
        sq = 0.0
        hits = 0
        for t0 in range(0, M, TILE):
            n = min(TILE, M - t0)
            _tile_preactivations(Ws[t], bs[t], X, rows, t0, n, Z)
            for j in range(n):
                yhat = 0.0
                for k in range(K):
                    yhat += vs[t, k] * activate(Z[j, k], act)[0]
                e = yhat - y[t0 + j]
                sq += e * e
                if (yhat > 0.5) == (y[t0 + j] > 0.5):
                    hits += 1
        loss[t] = sq / M
        accuracy[t] = hits / M
