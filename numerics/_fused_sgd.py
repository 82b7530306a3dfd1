r"""Fused online SGD: each sample is drawn inside the training kernel and never stored.

For online SGD the batch need not exist in memory. Per step, sample :math:`\mu` of the
batch is drawn in place — label :math:`y_\mu = [U_\mu < p]` from one 53-bit uniform, then
:math:`x_\mu = f_{y}(R_{y}\, g_\mu)` of that class's field
(:func:`rfloc.numerics.data._field_kernels.draw_field`) — and its contribution to the
gradient of the no-½ mean squared error (``docs/training.md``)

.. math:: \nabla_{w_k} L = \frac2B \sum_\mu e_\mu v_k \sigma'(z_{k\mu})\, x_\mu,\quad
          \partial_{b_k} L = \frac2B \sum_\mu e_\mu v_k \sigma'(z_{k\mu}),\quad
          \partial_{v_k} L = \frac2B \sum_\mu e_\mu \sigma(z_{k\mu})

is accumulated before the next sample overwrites it (samples are drawn 64 at a time,
labels first, by :func:`~rfloc.numerics.data._field_kernels.sample_rows`). Memory:
65 N + K N numbers, whatever ``B``. The random stream: each kernel call seeds an inlined
xoshiro256++ generator (:mod:`rfloc.numerics.data._xoshiro`) with 4 words of the run's
bit generator, itself from the run's ``SeedSequence``, and consumes it in a fixed order:
same seed, same trajectory; a run is a prefix of any longer run (the caller's blocks of
steps depend on ``B`` only); runs of ``train_sgd_seeds`` stay independent of the worker
count. In law the updates equal those of the batched path (same task, same update); bit
for bit they differ. :func:`root_sgd_steps` keeps the kernel before the xoshiro stream
and the triangular factor, for the benchmarks.

The two classes enter as :class:`~rfloc.numerics.data._mapped_field.FieldParts`
(named tuples of arrays), so any pair of tabulated fields — NLGP, NORTA, Gaussian through
``NORTA(..., Gaussian())`` — on a ring or torus runs here.
"""

from __future__ import annotations

import numpy as np

from rfloc.errors import ParameterError
from rfloc.numerics._activations import activate
from rfloc.numerics._jit import kernel, sums
from rfloc.numerics._sgd_kernels import apply_update
from rfloc.numerics.data import TwoClass
from rfloc.numerics.data import _xoshiro as xoshiro
from rfloc.numerics.data._field_kernels import draw_field, sample_rows
from rfloc.numerics.data._mapped_field import FieldParts, MappedField

__all__ = ["fused_parts", "fused_sgd_steps", "root_sgd_steps"]

_INV_TWO53 = 1.0 / 9007199254740992.0     # 2^-53
#: rows drawn per call of ``sample_rows`` inside a batch (about 20 KB at N = 40)
_ROWS = 64


def fused_parts(task: object) -> tuple[float, FieldParts, FieldParts]:
    """``(p, positive parts, negative parts)`` of a task the fused kernel can draw.

    Raises
    ------
    ParameterError
        Unless ``task`` is a ``TwoClass`` of two tabulated fields (NLGP or NORTA with a
        tabulable marginal).
    """
    classes = (getattr(task, "positive", None), getattr(task, "negative", None))
    parts = [c.parts() if isinstance(c, MappedField) else None for c in classes]
    if not isinstance(task, TwoClass) or parts[0] is None or parts[1] is None:
        what = task.describe() if isinstance(task, TwoClass) else type(task).__name__
        raise ParameterError(
            'sampler="fused" needs a TwoClass of periodic (ring or torus) NLGP/NORTA models '
            f'with a tabulable marginal, got {what}; use sampler="batched"')
    return task.p, parts[0], parts[1]


@sums
def _fused_gradient(root: bool, next_u64, state: int, s: np.ndarray, zig: tuple, p: float,
                    pos: FieldParts, neg: FieldParts, W: np.ndarray, b: np.ndarray, v: np.ndarray,
                    B: int, act: int, gW: np.ndarray, gb: np.ndarray, gv: np.ndarray,
                    scratch: tuple, X: np.ndarray, labels: np.ndarray, a: np.ndarray,
                    da: np.ndarray) -> None:
    """Gradients of one freshly drawn batch of ``B`` samples into ``gW, gb, gv``.

    The batch is drawn ``X.shape[0]`` rows at a time: the labels, then the rows through
    :func:`sample_rows`, from the xoshiro256++ state ``s``; or, with ``root``, label and
    sample in turn from the bit generator ``next_u64, state`` through :func:`draw_field`
    (the kernel before the xoshiro stream and the triangular factor, the benchmarks'
    baseline; ``scratch`` is its ``(g, h, pad, line)``).
    """
    K, N = W.shape
    gW[:, :] = 0.0
    gb[:] = 0.0
    gv[:] = 0.0
    g, h, pad, line = scratch
    for start in range(0, B, X.shape[0]):
        m = min(X.shape[0], B - start)
        for k in range(m):
            word = next_u64(state) if root else xoshiro.next_u64(s)
            labels[k] = np.int64(word >> np.uint64(11)) * _INV_TWO53 < p
            if root:
                c = pos if labels[k] else neg
                draw_field(next_u64, state, zig[0], zig[1], zig[2], c.taps, c.side, c.dim,
                           c.coef, c.inv_h, g, h, pad[: c.side + 2 * (c.taps.shape[0] - 1)],
                           line, X[k])
        if not root:
            sample_rows(s, zig, pos, neg, labels[:m], X[:m])
        for row in range(m):
            x = X[row]
            yhat = 0.0
            for k in range(K):
                z = b[k]
                for i in range(N):
                    z += W[k, i] * x[i]
                a[k], da[k] = activate(z, act)
                yhat += v[k] * a[k]
            e = yhat - (1.0 if labels[row] else 0.0)
            for k in range(K):
                gv[k] += e * a[k]
                d = e * v[k] * da[k]
                gb[k] += d
                for i in range(N):
                    gW[k, i] += d * x[i]
    c2 = 2.0 / B
    for k in range(K):
        gb[k] *= c2
        gv[k] *= c2
        for i in range(N):
            gW[k, i] *= c2


@kernel
def _fused_steps(root: bool, next_u64, state: int, s: np.ndarray, zig: tuple, p: float,
                 pos: FieldParts, neg: FieldParts, W: np.ndarray, b: np.ndarray,
                 v: np.ndarray, B: int, n_steps: int, step0: int, lr: float, act: int,
                 train_b: bool, train_v: bool, save_steps: np.ndarray, ptr: int, out_W: np.ndarray,
                 out_b: np.ndarray, out_v: np.ndarray) -> tuple[int, int]:
    """:func:`fused_sgd_steps` with the random source of :func:`_fused_gradient`."""
    K, N = W.shape
    gW = np.empty((K, N))
    gb = np.empty(K)
    gv = np.empty(K)
    width = max(pos.taps.shape[0], neg.taps.shape[0]) - 1
    scratch = (np.empty(N), np.empty(N), np.empty(pos.side + 2 * width), np.empty(pos.side))
    rows = min(B, _ROWS)
    X, labels = np.empty((rows, N)), np.empty(rows, dtype=np.bool_)
    a, da = np.empty(K), np.empty(K)
    for step in range(n_steps):
        _fused_gradient(root, next_u64, state, s, zig, p, pos, neg, W, b, v, B, act, gW, gb,
                        gv, scratch, X, labels, a, da)
        g = step0 + step + 1
        new = apply_update(W, b, v, gW, gb, gv, lr, train_b, train_v, g, save_steps, ptr,
                           out_W, out_b, out_v)
        if new < 0:
            return ptr, g
        ptr = new
    return ptr, -1


@kernel
def fused_sgd_steps(next_u64, state: int, zig: tuple, p: float, pos: FieldParts, neg: FieldParts,
                    W: np.ndarray, b: np.ndarray, v: np.ndarray, B: int, n_steps: int,
                    step0: int, lr: float, act: int, train_b: bool, train_v: bool,
                    save_steps: np.ndarray, ptr: int, out_W: np.ndarray, out_b: np.ndarray,
                    out_v: np.ndarray) -> tuple[int, int]:
    r"""``n_steps`` online SGD steps on freshly drawn batches (module docstring).

    Parameters
    ----------
    next_u64, state
        The bit generator's ``ctypes.next_uint64`` and ``ctypes.state_address`` (caller
        holds its lock); 4 words of it seed this call's xoshiro256++ stream.
    zig : tuple
        Ziggurat tables ``(ZIG_X, ZIG_F, ZIG_R)``.
    p : float
        :math:`P(y = 1)`.
    pos, neg : FieldParts
        The class-1 and class-0 fields (same ``side`` and ``dim``).
    W, b, v, B, n_steps, step0, lr, act, train_b, train_v, save_steps, ptr, out_W, out_b, out_v
        As for :func:`rfloc.numerics._sgd_kernels.sgd_steps`.

    Returns
    -------
    (ptr, failed) : as :func:`~rfloc.numerics._sgd_kernels.sgd_steps`.
    """
    s = xoshiro.seed_from(next_u64, state)
    return _fused_steps(False, next_u64, state, s, zig, p, pos, neg, W, b, v, B, n_steps,
                        step0, lr, act, train_b, train_v, save_steps, ptr, out_W, out_b,
                        out_v)


@kernel
def root_sgd_steps(next_u64, state: int, zig: tuple, p: float, pos: FieldParts, neg: FieldParts,
                   W: np.ndarray, b: np.ndarray, v: np.ndarray, B: int, n_steps: int,
                   step0: int, lr: float, act: int, train_b: bool, train_v: bool,
                   save_steps: np.ndarray, ptr: int, out_W: np.ndarray, out_b: np.ndarray,
                   out_v: np.ndarray) -> tuple[int, int]:
    """:func:`fused_sgd_steps` as it was before the xoshiro stream and the triangular
    factor: every word from the bit generator, the root's lags, IEEE table evaluation.
    Kept as the benchmarks' baseline; same arguments."""
    return _fused_steps(True, next_u64, state, np.zeros(4, dtype=np.uint64), zig, p, pos,
                        neg, W, b, v, B, n_steps, step0, lr, act, train_b, train_v,
                        save_steps, ptr, out_W, out_b, out_v)
