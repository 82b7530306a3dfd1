r"""CUDA kernels (Numba's CUDA target) of the fused samplers and online SGD.

The arithmetic is the CPU path's: the leaf functions — tabulated pixel map
(:func:`rfloc.numerics.data._pixel_table.pixel`), wrap-around padding and circulant root
(:mod:`rfloc.numerics.data._field_kernels`), activation
(:func:`rfloc.numerics._activations.activate`) — are the same Python functions compiled a
second time as CUDA device functions. Only the normals differ: each thread owns one
``xoroshiro128+`` stream (``numba.cuda.random``; the streams of one seed are
:math:`2^{64}` draws apart) and draws Box–Muller normals, so a GPU run equals a CPU run in
law, not bit for bit.

Thread ``t`` of ``T`` handles samples ``t, t + T, ...`` of a batch, accumulates its
gradient in registers/local memory, the block adds its threads' sums in shared memory
and one thread per entry adds the block's sum to the global gradient (atomics). Sizes
are bounded by compile-time constants (:data:`MAX_PIXELS`, :data:`MAX_PARAMS`); the
host checks them.
"""

from __future__ import annotations

from numba import cuda, float64
from numba.cuda.random import xoroshiro128p_normal_float64, xoroshiro128p_uniform_float64

from rfloc.numerics._activations import activate
from rfloc.numerics.data._field_kernels import circulant_root, wrap_line
from rfloc.numerics.data._pixel_table import pixel

__all__ = ["MAX_PARAMS", "MAX_PIXELS", "MAX_SIDE", "batch_gradient", "sample_rows"]

#: largest field (pixels) a thread can hold
MAX_PIXELS = 1024
#: largest ring side, and largest side + 2D of a padded line
MAX_SIDE = 1024
_MAX_PAD = 2 * MAX_SIDE
#: largest K (N + 2) a thread accumulates
MAX_PARAMS = 4096
_MAX_K = 128

_pixel = cuda.jit(device=True)(pixel.py_func)
_wrap_line = cuda.jit(device=True)(wrap_line.py_func)
_root = cuda.jit(device=True)(circulant_root.py_func)
_activate = cuda.jit(device=True)(activate.py_func)


@cuda.jit(device=True)
def _draw(states, t, taps, side, dim, coef, inv_h, g, h, pad, line, x):
    """One sample ``x`` :math:`= f(Rg)` on thread ``t`` (as the CPU ``draw_field``)."""
    n = side ** dim
    half = taps.shape[0] - 1
    width = side + 2 * half
    for i in range(n):
        g[i] = xoroshiro128p_normal_float64(states, t)
    if dim == 1:
        _wrap_line(g, 0, 1, side, half, pad[:width])
        _root(taps, pad[:width], h[:n])
    else:
        for row in range(side):
            _wrap_line(g, row * side, 1, side, half, pad[:width])
            _root(taps, pad[:width], h[row * side:(row + 1) * side])
        for col in range(side):
            _wrap_line(h, col, side, side, half, pad[:width])
            _root(taps, pad[:width], line[:side])
            for i in range(side):
                h[col + i * side] = line[i]
    for i in range(n):
        x[i] = _pixel(h[i], coef, inv_h)


@cuda.jit
def sample_rows(states, p, taps1, coef1, inv1, taps0, coef0, inv0, side, dim, X, y):
    """Rows of ``X`` (M, N) and labels ``y`` (M,): ``y = [U < p]``, then that class's field."""
    t = cuda.grid(1)
    stride = cuda.gridsize(1)
    g = cuda.local.array(MAX_PIXELS, float64)
    h = cuda.local.array(MAX_PIXELS, float64)
    pad = cuda.local.array(_MAX_PAD, float64)
    line = cuda.local.array(MAX_SIDE, float64)
    for row in range(t, X.shape[0], stride):
        if xoroshiro128p_uniform_float64(states, t) < p:
            y[row] = 1.0
            _draw(states, t, taps1, side, dim, coef1, inv1, g, h, pad, line, X[row])
        else:
            y[row] = 0.0
            _draw(states, t, taps0, side, dim, coef0, inv0, g, h, pad, line, X[row])


@cuda.jit
def batch_gradient(states, p, taps1, coef1, inv1, taps0, coef0, inv0, side, dim, W, b, v,
                   B, act, grad):
    r"""Add :math:`\sum_\mu` of the per-sample gradients of a fresh batch of ``B`` to ``grad``.

    ``grad`` (K N + 2K,): ``[gW.ravel(), gb, gv]`` *unnormalised* sums of
    :math:`e v_k \sigma'(z_k) x`, :math:`e v_k \sigma'(z_k)`, :math:`e \sigma(z_k)`; the
    host multiplies by 2/B. ``W`` (K, N), ``b``, ``v`` (K,).
    """
    K, N = W.shape
    P = K * N + 2 * K
    t = cuda.grid(1)
    stride = cuda.gridsize(1)
    acc = cuda.local.array(MAX_PARAMS, float64)
    g = cuda.local.array(MAX_PIXELS, float64)
    h = cuda.local.array(MAX_PIXELS, float64)
    x = cuda.local.array(MAX_PIXELS, float64)
    pad = cuda.local.array(_MAX_PAD, float64)
    line = cuda.local.array(MAX_SIDE, float64)
    a = cuda.local.array(_MAX_K, float64)
    da = cuda.local.array(_MAX_K, float64)
    block = cuda.shared.array(MAX_PARAMS, float64)
    for j in range(cuda.threadIdx.x, P, cuda.blockDim.x):
        block[j] = 0.0
    for j in range(P):
        acc[j] = 0.0
    cuda.syncthreads()
    for _ in range(t, B, stride):
        label = xoroshiro128p_uniform_float64(states, t) < p
        if label:
            _draw(states, t, taps1, side, dim, coef1, inv1, g, h, pad, line, x)
        else:
            _draw(states, t, taps0, side, dim, coef0, inv0, g, h, pad, line, x)
        yhat = 0.0
        for k in range(K):
            z = b[k]
            for i in range(N):
                z += W[k, i] * x[i]
            a[k], da[k] = _activate(z, act)
            yhat += v[k] * a[k]
        e = yhat - (1.0 if label else 0.0)
        for k in range(K):
            d = e * v[k] * da[k]
            for i in range(N):
                acc[k * N + i] += d * x[i]
            acc[K * N + k] += d
            acc[K * N + K + k] += e * a[k]
    for j in range(P):
        if acc[j] != 0.0:
            cuda.atomic.add(block, j, acc[j])
    cuda.syncthreads()
    for j in range(cuda.threadIdx.x, P, cuda.blockDim.x):
        cuda.atomic.add(grad, j, block[j])
