r"""Accelerator backend: fused samplers and online SGD on a CUDA GPU (Numba's CUDA target).

For paper-scale runs (LSG24's kurtosis sweep: 1000 steps at batch 50 000 per run; the
28-init peak comparison: 10 000 steps at batch 50 000). Selected with
``train_sgd(..., backend="cuda")`` (``sampler="fused"``); :func:`sample` draws a labelled
batch on the device. Importing this module imports ``numba.cuda``; it needs a CUDA GPU
and driver (``numba-cuda`` on recent Numba) — or Numba's CUDA *simulator*
(``NUMBA_ENABLE_CUDASIM=1`` in the environment before Numba is imported), which runs the
same kernels in Python threads on the CPU and is how the test-suite checks them.

What runs where: each step's batch is drawn and its gradient summed on the device
(:func:`._kernels.batch_gradient`); the host normalises it, checks finiteness, updates
the (K, N) weights with the CPU kernel :func:`rfloc.numerics._sgd_kernels.apply_update`
and copies them back — a few hundred bytes per step against B N numbers drawn on the
device. Randomness: one ``xoroshiro128+`` stream per device thread, all from one 64-bit
seed drawn from the run's data ``SeedSequence``; the thread count depends on the batch
size only (on a GPU; the simulator uses fewer), so a run draws the same samples given its
seed whatever the device. The gradient is summed with atomic additions, whose order varies
between runs: a run is reproducible to floating-point rounding, not bit for bit (the CPU
paths are bit for bit).
"""

from __future__ import annotations

import numpy as np
from numba import config, cuda
from numba.cuda.random import create_xoroshiro128p_states

from rfloc.errors import ParameterError
from rfloc.numerics import _sgd_kernels
from rfloc.numerics._fused_sgd import fused_parts
from rfloc.numerics.gpu import _kernels

__all__ = ["available", "sample", "train_steps"]

#: most device threads a batch is spread over, and threads per block (GPU, simulator)
# (numba sets its config attributes from the environment at import; none is declared)
_SIMULATOR = config.ENABLE_CUDASIM  # type: ignore[attr-defined]
MAX_THREADS, THREADS_PER_BLOCK = (8, 8) if _SIMULATOR else (2**14, 128)


def available() -> bool:
    """Whether kernels can run: a CUDA GPU is present or the simulator is enabled."""
    return bool(cuda.is_available())


def _threads(m: int) -> tuple[int, int]:
    """``(blocks, threads per block)`` for ``m`` samples (a function of ``m`` only)."""
    tpb = THREADS_PER_BLOCK
    blocks = max(1, -(-min(m, MAX_THREADS) // tpb))
    return blocks, tpb


def _prepare(task: object) -> tuple[float, tuple, int, int]:
    """``(p, device arguments of both classes, side, dim)``, with the size limits checked."""
    if not available():
        raise ParameterError('backend="cuda" needs a CUDA GPU (or NUMBA_ENABLE_CUDASIM=1)')
    p, pos, neg = fused_parts(task)
    width = max(pos.taps.size, neg.taps.size) - 1
    if pos.side**pos.dim > _kernels.MAX_PIXELS or pos.side + 2 * width > 2 * _kernels.MAX_SIDE:
        raise ParameterError(f"the CUDA backend takes at most {_kernels.MAX_PIXELS} pixels")
    args = []
    for c in (pos, neg):
        args += [cuda.to_device(c.taps), cuda.to_device(c.coef), c.inv_h]
    return p, tuple(args), pos.side, pos.dim


def _states(seed: np.random.SeedSequence, n: int) -> object:
    return create_xoroshiro128p_states(n, seed=int(seed.generate_state(1, np.uint64)[0]))


def sample(task: object, m: int, seed: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """``m`` labelled samples of a ``TwoClass`` of NLGP/NORTA fields, drawn on the device.

    Returns
    -------
    X : ndarray, shape (m, N), float64
    y : ndarray, shape (m,), float64 in {0., 1.}
    """
    p, args, side, dim = _prepare(task)
    blocks, tpb = _threads(m)
    X = cuda.device_array((m, side**dim))
    y = cuda.device_array(m)
    _kernels.sample_rows[blocks, tpb](_states(seed, blocks * tpb), p, *args, side, dim, X, y)
    return X.copy_to_host(), y.copy_to_host()


def train_steps(task: object, seed: np.random.SeedSequence, W: np.ndarray, b: np.ndarray,
                v: np.ndarray, B: int, steps: int, lr: float, act: int, train_b: bool,
                train_v: bool, saves: np.ndarray, out_W: np.ndarray, out_b: np.ndarray,
                out_v: np.ndarray) -> tuple[int, int]:
    """``steps`` fused online SGD steps with the batch drawn on the device, in place.

    Arguments and return value as :func:`rfloc.numerics._fused_sgd.fused_sgd_steps`
    (``(ptr, failed)``), with the randomness from ``seed``.
    """
    p, args, side, dim = _prepare(task)
    K, N = W.shape
    if K * N + 2 * K > _kernels.MAX_PARAMS or K > 128:
        raise ParameterError(f"the CUDA backend takes K (N + 2) <= {_kernels.MAX_PARAMS}")
    blocks, tpb = _threads(B)
    states = _states(seed, blocks * tpb)
    grad = cuda.device_array(K * N + 2 * K)
    zero = np.zeros(K * N + 2 * K)
    d_W, d_b, d_v = cuda.to_device(W), cuda.to_device(b), cuda.to_device(v)
    ptr = 0
    scale = 2.0 / B
    for step in range(1, steps + 1):
        grad.copy_to_device(zero)
        _kernels.batch_gradient[blocks, tpb](states, p, *args, side, dim, d_W, d_b, d_v, B,
                                             act, grad)
        host = grad.copy_to_host() * scale
        gW = host[: K * N].reshape(K, N)
        gb, gv = host[K * N: K * N + K], host[K * N + K:]
        new = _sgd_kernels.apply_update(W, b, v, gW, gb, gv, lr, train_b, train_v, step,
                                        saves, ptr, out_W, out_b, out_v)
        if new < 0:
            return ptr, step
        ptr = new
        d_W.copy_to_device(W)
        if train_b:
            d_b.copy_to_device(b)
        if train_v:
            d_v.copy_to_device(v)
    return ptr, -1
