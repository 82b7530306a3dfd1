r"""Numba kernels of IG22's two-output network (private; entry point :mod:`.two_output`).

The network (``docs/two_output.md``) has ``K`` hidden units, input ``x`` of ``N`` pixels
and two outputs ``c = 0, 1``,

.. math:: \hat y_c(x) = \frac{1}{\nu} \sum_{k=1}^{K} v_{kc}\, \sigma(z_k), \qquad
          z_k = \frac{w_k \cdot x}{\sqrt N} + b_k,

weights ``W`` (K, N), biases ``b`` (K,), second layer ``V`` (K, 2), normalisation
``inv_norm`` :math:`= 1/\nu`. The loss of a batch of ``B`` samples with targets
:math:`t_{\mu c}` is the mean squared error averaged over the batch *and* the two outputs
(PyTorch's ``F.mse_loss``; no further 1/2),

.. math:: L = \frac{1}{2B} \sum_{\mu=1}^{B} \sum_{c=0}^{1} e_{\mu c}^2, \qquad
          e_{\mu c} = \hat y_c(x_\mu) - t_{\mu c},

with gradients (:math:`\delta_{k\mu} = \sigma'(z_{k\mu}) \sum_c e_{\mu c} v_{kc} / \nu`)

.. math::
    \frac{\partial L}{\partial w_k} = \frac{1}{B\sqrt N} \sum_\mu \delta_{k\mu} x_\mu, \quad
    \frac{\partial L}{\partial b_k} = \frac1B \sum_\mu \delta_{k\mu}, \quad
    \frac{\partial L}{\partial v_{kc}} = \frac{1}{B\nu} \sum_\mu e_{\mu c}\, \sigma(z_{k\mu}).

Activations (integer codes): 0 :math:`\mathrm{erf}(z/\sqrt2)`, 1 tanh, 2 ReLU
(:math:`\sigma'(0) = 0`, as PyTorch), 3 linear.

Sample ``j`` of step ``s`` is row ``rows[s * stride + j]`` of ``X`` (M, N) and of the
targets ``T`` (M, 2). Kernels check nothing;
:func:`rfloc.numerics.two_output.train_two_output` validates their inputs.
"""

from __future__ import annotations

import math

import numpy as np

from rfloc.numerics._activations import activate
from rfloc.numerics._jit import kernel, sums


@sums
def _forward(W: np.ndarray, b: np.ndarray, V: np.ndarray, x: np.ndarray, act: int,
             inv_norm: float, a: np.ndarray, da: np.ndarray) -> tuple[float, float]:
    """``(yhat_0, yhat_1)`` of one input ``x`` (N,); ``a``, ``da`` (K,) get sigma, sigma'."""
    K, N = W.shape
    scale = 1.0 / math.sqrt(N)
    y0 = 0.0
    y1 = 0.0
    for k in range(K):
        s = 0.0
        for i in range(N):
            s += W[k, i] * x[i]
        a[k], da[k] = activate(s * scale + b[k], act)
        y0 += V[k, 0] * a[k]
        y1 += V[k, 1] * a[k]
    return y0 * inv_norm, y1 * inv_norm


@sums
def batch_gradient(W: np.ndarray, b: np.ndarray, V: np.ndarray, X: np.ndarray,
                   T: np.ndarray, rows: np.ndarray, start: int, B: int, act: int,
                   inv_norm: float, gW: np.ndarray, gb: np.ndarray, gV: np.ndarray,
                   a: np.ndarray, da: np.ndarray) -> float:
    """Batch loss ``L`` and its gradients (module docstring) written into ``gW, gb, gV``.

    The batch is rows ``rows[start:start + B]`` of ``X`` and ``T``; ``a``, ``da`` (K,) are
    scratch. The summation order depends only on ``B``, ``K`` and ``N``.
    """
    K, N = W.shape
    gW[:, :] = 0.0
    gb[:] = 0.0
    gV[:, :] = 0.0
    loss = 0.0
    for j in range(B):
        r = rows[start + j]
        x = X[r]
        y0, y1 = _forward(W, b, V, x, act, inv_norm, a, da)
        e0 = y0 - T[r, 0]
        e1 = y1 - T[r, 1]
        loss += e0 * e0 + e1 * e1
        for k in range(K):
            gV[k, 0] += e0 * a[k]
            gV[k, 1] += e1 * a[k]
            d = da[k] * (e0 * V[k, 0] + e1 * V[k, 1])
            gb[k] += d
            for i in range(N):
                gW[k, i] += d * x[i]
    c = inv_norm / B
    cw = c / math.sqrt(N)
    for k in range(K):
        gb[k] *= c
        gV[k, 0] *= c
        gV[k, 1] *= c
        for i in range(N):
            gW[k, i] *= cw
    return loss / (2.0 * B)


@kernel
def _finite_after_update(W: np.ndarray, b: np.ndarray, V: np.ndarray, gW: np.ndarray,
                         gb: np.ndarray, gV: np.ndarray, lr_w: float, lr_b: float,
                         lr_v: float) -> bool:
    """Whether every trained parameter stays finite after the update (one cheap sum)."""
    K, N = W.shape
    total = 0.0
    for k in range(K):
        for i in range(N):
            total += W[k, i] - lr_w * gW[k, i]
        if lr_b > 0.0:
            total += b[k] - lr_b * gb[k]
        if lr_v > 0.0:
            total += V[k, 0] - lr_v * gV[k, 0] + V[k, 1] - lr_v * gV[k, 1]
    return math.isfinite(total)


@kernel
def sgd_steps(W: np.ndarray, b: np.ndarray, V: np.ndarray, X: np.ndarray, T: np.ndarray,
              rows: np.ndarray, stride: int, B: int, n_steps: int, step0: int,
              lr_w: float, lr_b: float, lr_v: float, act: int, inv_norm: float,
              save_steps: np.ndarray, ptr: int, out_W: np.ndarray, out_b: np.ndarray,
              out_V: np.ndarray) -> tuple[int, int]:
    r"""Run ``n_steps`` SGD steps in place: ``W -= lr_w gW``, ``b -= lr_b gb``, ``V -= lr_v gV``.

    A learning rate of 0 freezes its parameter (it is neither updated nor checked). Step
    ``s`` (0-based within this call, global number ``step0 + s + 1``) uses the batch
    ``rows[s * stride : s * stride + B]``. After global step ``g`` equal to
    ``save_steps[ptr]`` the parameters are copied into ``out_W[ptr]`` (K, N),
    ``out_b[ptr]`` (K,), ``out_V[ptr]`` (K, 2) and ``ptr`` advances.

    Returns ``(ptr, failed)``: ``failed`` is the global number of the step whose update
    would make a parameter NaN/inf (that update is not applied, so ``W, b, V`` hold the
    last finite state), or -1 when all steps succeeded.
    """
    K, N = W.shape
    gW = np.empty((K, N))
    gb = np.empty(K)
    gV = np.empty((K, 2))
    a = np.empty(K)
    da = np.empty(K)
    for s in range(n_steps):
        batch_gradient(W, b, V, X, T, rows, s * stride, B, act, inv_norm, gW, gb, gV, a, da)
        g = step0 + s + 1
        if not _finite_after_update(W, b, V, gW, gb, gV, lr_w, lr_b, lr_v):
            return ptr, g
        for k in range(K):
            for i in range(N):
                W[k, i] -= lr_w * gW[k, i]
            if lr_b > 0.0:
                b[k] -= lr_b * gb[k]
            if lr_v > 0.0:
                V[k, 0] -= lr_v * gV[k, 0]
                V[k, 1] -= lr_v * gV[k, 1]
        if ptr < save_steps.shape[0] and save_steps[ptr] == g:
            out_W[ptr] = W
            out_b[ptr] = b
            out_V[ptr] = V
            ptr += 1
    return ptr, -1


@kernel
def evaluate(Ws: np.ndarray, bs: np.ndarray, Vs: np.ndarray, X: np.ndarray, T: np.ndarray,
             y: np.ndarray, act: int, inv_norm: float, loss: np.ndarray,
             accuracy: np.ndarray) -> None:
    """Held-out ``loss[t]`` (the training loss) and ``accuracy[t]`` of saved state ``t``.

    The predicted class is the larger output (``yhat_1 > yhat_0`` gives class 1), compared
    with the labels ``y`` (M,) in {0, 1}. ``Ws`` (S, K, N), ``bs`` (S, K), ``Vs`` (S, K, 2),
    ``X`` (M, N), ``T`` (M, 2).
    """
    n_saves, K, _ = Ws.shape
    M = X.shape[0]
    a = np.empty(K)
    da = np.empty(K)
    for t in range(n_saves):
        sq = 0.0
        hits = 0
        for j in range(M):
            y0, y1 = _forward(Ws[t], bs[t], Vs[t], X[j], act, inv_norm, a, da)
            e0 = y0 - T[j, 0]
            e1 = y1 - T[j, 1]
            sq += e0 * e0 + e1 * e1
            if (y1 > y0) == (y[j] > 0.5):
                hits += 1
        loss[t] = sq / (2.0 * M)
        accuracy[t] = hits / M
