r"""Circulant covariances: detection, FFT products, and the batched NumPy stepper using them.

A translation-invariant covariance is circulant on a ring,
:math:`C_{ij} = c_{(j-i) \bmod N}`, or block-circulant with circulant blocks on an
:math:`n\times n` torus (pixel ``(r, s)`` at index ``r*n + s``),
:math:`C_{(r,s),(r',s')} = k_{(r'-r) \bmod n,\,(s'-s) \bmod n}`. The discrete Fourier
transform diagonalises it; the eigenvalues are the (real, for symmetric ``C``) transform of
the first row, so :math:`Cw = \mathcal F^{-1}[\hat c \cdot \mathcal F w]` costs
:math:`O(N\log N)` instead of :math:`O(N^2)`.

NumPy's FFT is not callable from Numba, so this path steps a whole batch per Python
iteration (``(M, N)`` arrays, one FFT per stage) with the same tableaux and controller as the
Numba kernels; adaptive steps are shared by the batch (the worst row decides).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rfloc.numerics import _ode_kernels as kern
from rfloc.numerics._solvers import Controller, Tableau


def circulant_dims(cov: np.ndarray, *, rtol: float = 1e-12) -> tuple[int, ...] | None:
    """``(N,)`` for a circulant, ``(n, n)`` for a 2D block-circulant ``cov``, else None."""
    size = cov.shape[0]
    tol = rtol * max(1.0, float(np.max(np.abs(cov))))
    idx = np.arange(size)
    if np.max(np.abs(cov[-1] - np.roll(cov[0], -1))) <= tol and \
            np.max(np.abs(cov - cov[0][(idx[None, :] - idx[:, None]) % size])) <= tol:
        return (size,)
    side = math.isqrt(size)
    if side * side != size or side < 2:
        return None
    r, s = np.divmod(idx, side)
    shift = ((r[None, :] - r[:, None]) % side) * side + (s[None, :] - s[:, None]) % side
    if np.max(np.abs(cov - cov[0][shift])) <= tol:
        return (side, side)
    return None


def spectrum(cov: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
    """Eigenvalues of a symmetric (block-)circulant ``cov`` on the ``rfftn`` grid of ``dims``."""
    return np.fft.rfftn(cov[0].reshape(dims)).real


@dataclass(frozen=True)
class FFTProducts:
    """``(cov1 @ w, covbar @ w)`` for every row of a batch, by FFT.

    Attributes
    ----------
    dims : tuple of int
        ``(N,)`` (ring) or ``(n, n)`` (torus).
    eig1, eigbar : ndarray
        Spectra of ``cov1`` and ``covbar`` (see :func:`spectrum`).
    """

    dims: tuple[int, ...]
    eig1: np.ndarray
    eigbar: np.ndarray

    def __call__(self, w: np.ndarray, prod: np.ndarray) -> None:
        """``prod[:, :N] = w @ cov1``, ``prod[:, N:] = w @ covbar`` for ``w`` (R, N)."""
        axes = tuple(range(1, len(self.dims) + 1))
        n = w.shape[1]
        spec = np.fft.rfftn(w.reshape(-1, *self.dims), axes=axes)
        for eig, part in ((self.eig1, slice(0, n)), (self.eigbar, slice(n, 2 * n))):
            prod[:, part] = np.fft.irfftn(spec * eig, s=self.dims, axes=axes).reshape(w.shape)


class BatchedStepper:
    """Explicit Runge–Kutta steps of a batch with FFT products (see module docstring).

    Parameters
    ----------
    products : FFTProducts
    p : float
    amp : tuple
        ``(fast, kind, breaks, coeffs)`` as for the Numba kernels.
    collapse2 : float
        Squared collapse tolerance on :math:`\\|w\\|_{\\Sigma_1}`.
    tableau : Tableau
    """

    def __init__(self, products: FFTProducts, p: float, amp: tuple, collapse2: float,
                 tableau: Tableau) -> None:
        self.products = products
        self.p = p
        self.amp = amp
        self.collapse2 = collapse2
        self.tableau = tableau

    def step(self, w: np.ndarray, h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(w_new, err, status)`` after one step of size ``h`` from ``w`` (R, N)."""
        a, b, e = self.tableau.a, self.tableau.b, self.tableau.e
        rows, n = w.shape
        ks = np.empty((b.shape[0], rows, n))
        y = np.empty_like(w)
        prod = np.empty((rows, 2 * n))
        code = np.zeros(rows, dtype=np.int64)
        stage_code = np.zeros(rows, dtype=np.int64)
        for s in range(b.shape[0]):
            kern.stage_input(w, h, a, s, ks, y)
            self.products(y, prod)
            kern.assemble_rows(y, prod, self.p, self.amp, self.collapse2, ks[s], stage_code)
            code = np.where(code == kern.OK, stage_code, code)
        w_new = np.empty_like(w)
        err = np.empty_like(w)
        kern.finish_step(w, h, b, e, ks, w_new, err, code)
        return w_new, err, code


def integrate_fixed(stepper: BatchedStepper, w0: np.ndarray, dt: float, n_steps: int,
                    h_last: float, save_steps: np.ndarray, out: np.ndarray,
                    status: np.ndarray, fail_step: np.ndarray, fail_time: np.ndarray) -> None:
    """Batched counterpart of :func:`rfloc.numerics._ode_kernels.integrate_fixed`."""
    w = w0.copy()
    alive = np.ones(w.shape[0], dtype=bool)
    j = 0
    for k in range(n_steps + 1):
        while j < save_steps.shape[0] and save_steps[j] == k:
            out[j] = np.where(alive[:, None], w, np.nan)
            j += 1
        if k == n_steps or not alive.any():
            break
        h = dt if k < n_steps - 1 else h_last
        rows = np.flatnonzero(alive)
        w_new, _, code = stepper.step(w[rows], h)
        good = code == kern.OK
        w[rows[good]] = w_new[good]
        for row, c in zip(rows[~good], code[~good], strict=True):
            at = k + 1 if c == kern.DIVERGED else k
            status[row], fail_step[row] = c, at
            fail_time[row] = at * dt if at < n_steps else (n_steps - 1) * dt + h_last
            alive[row] = False
    out[j:] = np.nan


def integrate_adaptive(stepper: BatchedStepper, controller: Controller, w0: np.ndarray,
                       dt0: float, save_t: np.ndarray, rtol: float, atol: float,
                       max_steps: int, out: np.ndarray, status: np.ndarray,
                       fail_step: np.ndarray, fail_time: np.ndarray, steps: np.ndarray,
                       rejected: np.ndarray) -> None:
    """Batched counterpart of :func:`rfloc.numerics._ode_kernels.integrate_adaptive`.

    One step size for the whole batch; a row that collapses or whose error cannot be
    controlled (step-size underflow) is dropped and the others continue.
    """
    exponent = controller.exponent(stepper.tableau)
    w = w0.copy()
    alive = np.ones(w.shape[0], dtype=bool)
    t, h, j, accepted, failed = 0.0, dt0, 0, 0, 0

    def drop(rows: np.ndarray, code: int) -> None:
        status[rows], fail_step[rows], fail_time[rows] = code, accepted, t
        alive[rows] = False

    while j < save_t.shape[0] and save_t[j] == 0.0:
        out[j] = w
        j += 1
    while j < save_t.shape[0] and alive.any():
        if accepted + failed >= max_steps:
            drop(np.flatnonzero(alive), kern.MAX_STEPS)
            break
        rows = np.flatnonzero(alive)
        target = save_t[j]
        lands = h >= target - t
        hs = target - t if lands else h
        w_new, err, code = stepper.step(w[rows], hs)
        if np.any(code == kern.COLLAPSED):
            drop(rows[code == kern.COLLAPSED], kern.COLLAPSED)
            continue
        eps = np.empty(rows.shape[0])
        kern.error_norms(err, w[rows], w_new, rtol, atol, code, eps)
        worst = float(eps.max())
        if worst <= 1.0:
            accepted += 1
            t = target if lands else t + hs
            w[rows] = w_new
            steps[rows] = accepted
            grown = hs * float(kern.step_factor(worst, exponent, controller.safety,
                                                controller.min_factor, controller.max_factor))
            h = max(h, grown) if lands else grown
            if lands:
                out[j] = np.where(alive[:, None], w, np.nan)
                j += 1
            continue
        failed += 1
        rejected[rows] += 1
        factor = controller.min_factor
        if worst < math.inf:
            factor = float(kern.step_factor(worst, exponent, controller.safety,
                                            controller.min_factor, 1.0))
        h = hs * factor
        if h <= 1e-14 * max(1.0, t):
            drop(rows[eps > 1.0], kern.UNDERFLOW)
            h = dt0
    out[j:] = np.nan
