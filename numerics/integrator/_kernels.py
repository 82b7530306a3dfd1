r"""Numba kernels of one Runge–Kutta step of the effective dynamics (private: the callers
validate every argument).

Right-hand side, for each receptive field ``w`` (N,) of a block:

.. math:: f(w) = p\,\varphi\!\big(\Sigma_1 w / \sqrt{w^\top\Sigma_1 w}\big) - \bar\Sigma w ,
          \qquad \bar\Sigma = p\,\Sigma_1 + (1-p)\,\Sigma_0

(docs/theory.md §5, docs/integrator.md). A block is (R, N), one field per row, or — for
fixed steps with Markov products — transposed, (N, R), so that every pixel loop runs across
the R fields and vectorises (:func:`rhs_cols`, :func:`step_cols`).

The kernels take named tuples: :class:`RhsArgs` (what to evaluate: ``p``, the collapse
threshold, the amplifier's :class:`AmpArgs` and the covariances' :class:`ProductArgs`) and
:class:`TableauArgs` (how to step). Status codes are those of
:class:`rfloc.numerics.status.Status`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np

from rfloc.numerics._jit import kernel, sums
from rfloc.numerics.amplifier_table import KIND_LINEAR, phi_scalar
from rfloc.numerics.integrator import _markov as markov
from rfloc.numerics.integrator._fastphi import CORE_TERMS, DEGREE
from rfloc.numerics.integrator._fft import fft_products
from rfloc.numerics.status import Status

OK, DIVERGED, COLLAPSED = int(Status.OK), int(Status.DIVERGED), int(Status.COLLAPSED)

DENSE, MARKOV, FFT = 0, 1, 2
"""Values of :attr:`ProductArgs.kind`."""

GEMM_ROWS = 8
"""Blocks with at least this many rows (and :data:`BLAS_MIN_N` pixels) multiply by BLAS."""

BLAS_MIN_N = 256
"""Smaller dense covariances multiply by the register-blocked loops of :func:`products`."""


class AmpArgs(NamedTuple):
    """The amplifier inside the kernels.

    ``fast`` (K, DEGREE+1) and ``core`` (CORE_TERMS+1,) are the verified re-tabulation and
    core polynomial of :mod:`rfloc.numerics.integrator._fastphi` (K = 0: call
    ``phi_scalar`` per pixel); ``kind``, ``breaks``, ``coeffs`` the
    :class:`~rfloc.numerics.amplifier_table.AmplifierTable`.
    """

    fast: np.ndarray
    core: np.ndarray
    kind: int
    breaks: np.ndarray
    coeffs: np.ndarray


class ProductArgs(NamedTuple):
    """How the covariances multiply a block: ``kind`` is :data:`DENSE`, :data:`MARKOV` or
    :data:`FFT`; the fields a kind does not use are empty.

    ``mats``: ``[cov1; covbar]`` (2N, N) (dense), or the flattened spectra of ``cov1`` and
    ``covbar`` (2, K) on the grid ``dims`` ((1,) or (2,)) of
    :mod:`rfloc.numerics.integrator._fft` (FFT); ``tri`` (2, ROWS, N): the
    :mod:`rfloc.numerics.integrator._markov` factors of ``cov1`` and ``cov0`` (Markov).
    Few arrays: every array a kernel receives costs reference counting per call.
    """

    kind: int
    mats: np.ndarray
    tri: np.ndarray
    dims: np.ndarray


class RhsArgs(NamedTuple):
    """Everything :func:`rhs_rows` and :func:`rhs_cols` need besides the state.

    ``collapse2`` is the squared collapse tolerance on :math:`\\|w\\|_{\\Sigma_1}`.
    """

    p: float
    collapse2: float
    amp: AmpArgs
    products: ProductArgs


class TableauArgs(NamedTuple):
    """An explicit Runge–Kutta tableau: ``a`` (S, S), ``b`` (S,), error weights ``e`` (S,)
    and first-same-as-last ``fsal`` (see :class:`rfloc.numerics.integrator.Tableau`)."""

    a: np.ndarray
    b: np.ndarray
    e: np.ndarray
    fsal: bool


class RowsWork(NamedTuple):
    """Scratch of :func:`rk_step` for a block (R, N): stages ``ks`` (S, R, N), stage input
    ``y`` (R, N), products ``prod`` (R, 2N), error estimate ``err`` (R, N), ``stage_code``
    (R,)."""

    ks: np.ndarray
    y: np.ndarray
    prod: np.ndarray
    err: np.ndarray
    stage_code: np.ndarray


class ColsWork(NamedTuple):
    """Scratch of :func:`step_cols` for a transposed block (N, R): ``ks`` (S, N, R), ``y``,
    ``x1``, ``x0`` (N, R), ``vecs`` (3, R), ``stage_code`` (R,)."""

    ks: np.ndarray
    y: np.ndarray
    x1: np.ndarray
    x0: np.ndarray
    vecs: np.ndarray
    stage_code: np.ndarray


@kernel
def rows_work(stages, rows, n):
    """A :class:`RowsWork` for ``stages`` stages and a block (``rows``, ``n``)."""
    return RowsWork(np.empty((stages, rows, n)), np.empty((rows, n)), np.empty((rows, 2 * n)),
                    np.empty((rows, n)), np.zeros(rows, dtype=np.int64))


@kernel
def cols_work(stages, n, cols):
    """A :class:`ColsWork` for ``stages`` stages and a transposed block (``n``, ``cols``)."""
    return ColsWork(np.empty((stages, n, cols)), np.empty((n, cols)), np.empty((n, cols)),
                    np.empty((n, cols)), np.empty((3, cols)), np.zeros(cols, dtype=np.int64))


# ---------------------------------------------------------------- products
@sums
def _dot(u, v):
    acc = 0.0
    for i in range(u.shape[0]):
        acc += u[i] * v[i]
    return acc


@kernel(nogil=False)
def _fft(y, prods, out):
    with numba.objmode():
        fft_products(y, prods.dims, prods.mats[0], prods.mats[1], out)


@sums
def products(y, prods, out):
    """``out[:, :N] = y @ cov1``, ``out[:, N:] = y @ covbar`` for a block ``y`` (R, N).

    Markov covariances are swept row by row
    (:func:`rfloc.numerics.integrator._markov.row_products`); FFT products transform the
    whole block at once (in object mode). Dense ones below :data:`BLAS_MIN_N` pixels are
    plain loops over the rows of ``stack = [cov1; covbar]`` (2N, N): dot products of
    contiguous rows, four rows of ``y`` by two rows of ``stack`` at a time so that every
    load feeds two or four FMAs (the covariances are symmetric). BLAS would be no faster at
    this size and, called from several Numba threads, its own thread pool would fight them
    for the cores.
    """
    kind = prods.kind
    if kind == MARKOV:
        tri = prods.tri
        for r in range(y.shape[0]):
            markov.row_products(y[r], tri, out[r])
        return
    if kind == FFT:
        _fft(y, prods, out)
        return
    rows, n = y.shape
    stack = prods.mats
    if rows >= GEMM_ROWS and n >= BLAS_MIN_N:
        np.dot(y, stack.T, out)  # stack.T = [cov1 | covbar], the covariances being symmetric
        return
    outs = stack.shape[0]
    r = 0
    while r + 4 <= rows:
        y0 = y[r]
        y1 = y[r + 1]
        y2 = y[r + 2]
        y3 = y[r + 3]
        i = 0
        while i + 2 <= outs:
            a = stack[i]
            b = stack[i + 1]
            s0 = s1 = s2 = s3 = 0.0
            t0 = t1 = t2 = t3 = 0.0
            for j in range(n):
                aj = a[j]
                bj = b[j]
                s0 += aj * y0[j]
                s1 += aj * y1[j]
                s2 += aj * y2[j]
                s3 += aj * y3[j]
                t0 += bj * y0[j]
                t1 += bj * y1[j]
                t2 += bj * y2[j]
                t3 += bj * y3[j]
            out[r, i] = s0
            out[r + 1, i] = s1
            out[r + 2, i] = s2
            out[r + 3, i] = s3
            out[r, i + 1] = t0
            out[r + 1, i + 1] = t1
            out[r + 2, i + 1] = t2
            out[r + 3, i + 1] = t3
            i += 2
        r += 4
    for rr in range(r, rows):
        for i in range(outs):
            out[rr, i] = _dot(stack[i], y[rr])


# ---------------------------------------------------------------- right-hand side
@sums
def phi_of(a, amp, out):
    """``out[i] = phi(a[i])`` for finite ``a`` (``out`` must not be ``a``).

    Pixels with ``|a| <= a0`` take the core polynomial, evaluated for all of them in one loop
    without lookups; the others are then overwritten from the cells.
    """
    fast, core, kind, breaks, coeffs = amp
    cells = fast.shape[0]
    n = a.shape[0]
    if kind == KIND_LINEAR:
        slope = coeffs[0, 0]
        for i in range(n):
            out[i] = slope * a[i]
        return
    if cells == 0:
        for i in range(n):
            out[i] = phi_scalar(a[i], kind, breaks, coeffs)
        return
    a0 = core[0]
    if a0 > 0.0:
        for i in range(n):
            x = a[i]
            x2 = x * x
            y = core[CORE_TERMS]
            for k in range(CORE_TERMS - 1, 0, -1):  # unrolled (compile-time constant)
                y = y * x2 + core[k]
            out[i] = x * y
    lim = a0 if a0 > 0.0 else -1.0  # no core: every pixel, 0 included, from the cells
    for i in range(n):
        x = a[i]
        if not abs(x) <= lim:
            v = math.sqrt(1.0 - min(abs(x), 1.0)) * cells
            c = max(0, min(int(v), cells - 1)) if v == v else 0  # never index from a NaN
            t = 2.0 * (v - c) - 1.0
            cell = fast[c]
            y = cell[DEGREE]
            for d in range(DEGREE - 1, -1, -1):
                y = y * t + cell[d]
            out[i] = math.copysign(y, x)


@kernel
def classify(q, collapse2):
    """``(code, 1/sqrt(q))`` for ``q = w^T Sigma_1 w``: ``DIVERGED`` if ``q`` is not finite,
    ``COLLAPSED`` if ``q <= collapse2`` (scale 0 for both), else ``OK``."""
    if not q < math.inf:
        return DIVERGED, 0.0
    if q <= collapse2:
        return COLLAPSED, 0.0
    return OK, 1.0 / math.sqrt(q)


@sums
def rhs_rows(x, rhs, prod, out, code):
    """``out[r] = f(x[r])`` for a block ``x`` (R, N); ``prod`` (R, 2N) is scratch.

    ``code[r]`` is ``DIVERGED`` if :math:`x^\\top\\Sigma_1 x` is not finite, ``COLLAPSED``
    if it is ``<= collapse2`` (``out[r]`` is then zero), else ``OK``.
    """
    p, collapse2, amp, prods = rhs
    products(x, prods, prod)
    n = x.shape[1]
    for r in range(x.shape[0]):
        code[r], scale = classify(_dot(x[r], prod[r, :n]), collapse2)
        if code[r] != OK:
            out[r, :] = 0.0
            continue
        for i in range(n):
            prod[r, i] *= scale
        phi_of(prod[r, :n], amp, out[r])
        for i in range(n):
            out[r, i] = p * out[r, i] - prod[r, n + i]


@sums
def rhs_cols(x, rhs, work, out, code):
    """``out = f(x)`` for a transposed block ``x`` (N, R) with Markov products; ``code[r]``
    as in :func:`rhs_rows` (``out[:, r]`` zero unless OK).

    The sweeps of :func:`rfloc.numerics.integrator._markov.sweep` and every pixel loop run
    across the R columns, so the whole evaluation vectorises.
    """
    p, collapse2, amp, prods = rhs
    tri = prods.tri
    _, _, x1, x0, vecs, _ = work
    n, cols = x.shape
    scale, a, phi = vecs[0], vecs[1], vecs[2]
    markov.sweep(x, x1, tri[0], scale)
    markov.sweep(x, x0, tri[1], scale)
    scale[:] = 0.0
    for i in range(n):
        xi = x[i]
        si = x1[i]
        for r in range(cols):
            scale[r] += xi[r] * si[r]
    for r in range(cols):
        code[r], scale[r] = classify(scale[r], collapse2)
    w1, w0 = tri[0, 4, 2], tri[1, 4, 2]
    for i in range(n):
        s1 = x1[i]
        s0 = x0[i]
        for r in range(cols):
            a[r] = s1[r] * scale[r] if scale[r] != 0.0 else 0.0
        phi_of(a, amp, phi)
        oi = out[i]
        for r in range(cols):
            oi[r] = p * phi[r] - (w1 * s1[r] + w0 * s0[r]) if scale[r] != 0.0 else 0.0


# ---------------------------------------------------------------- one step
@sums
def stage_input(w, h, a, s, ks, y):
    """Stage ``s`` input: ``y = w + h * sum_{j<s} a[s, j] ks[j]`` for a block (zero
    coefficients skipped). Elementwise, so it serves transposed blocks alike."""
    rows, n = w.shape
    for r in range(rows):
        y[r, :] = 0.0
        for j in range(s):
            coef = a[s, j]
            if coef == 0.0:
                continue
            for i in range(n):
                y[r, i] += coef * ks[j, r, i]
        for i in range(n):
            y[r, i] = w[r, i] + h * y[r, i]


@kernel
def stage_point(w, h, a, s, ks, y):
    """Where stage ``s`` evaluates the right-hand side: ``w`` for ``s = 0``, else ``y``
    filled by :func:`stage_input`."""
    if s == 0:
        return w
    stage_input(w, h, a, s, ks, y)
    return y


@kernel
def keep_first_failure(code, stage_code):
    """``code[r] = stage_code[r]`` where ``code[r]`` is still ``OK``."""
    for r in range(code.shape[0]):
        if code[r] == OK:
            code[r] = stage_code[r]


@sums
def finish_step(w, h, b, e, ks, w_new, err, code):
    """``w_new = w + h sum_s b_s ks[s]``, ``err = h sum_s e_s ks[s]`` for a block (R, N);
    ``code[r]`` becomes ``DIVERGED`` where it is ``OK`` but ``w_new[r]`` is not finite."""
    rows, n = w.shape
    for r in range(rows):
        w_new[r, :] = 0.0
        err[r, :] = 0.0
        for s in range(b.shape[0]):
            bs = b[s]
            es = e[s]
            if bs == 0.0 and es == 0.0:
                continue
            for i in range(n):
                w_new[r, i] += bs * ks[s, r, i]
                err[r, i] += es * ks[s, r, i]
        finite = 0.0
        for i in range(n):
            w_new[r, i] = w[r, i] + h * w_new[r, i]
            err[r, i] *= h
            finite += w_new[r, i] * 0.0
        if code[r] == OK and finite != 0.0:
            code[r] = DIVERGED


@kernel
def rk_step(w, h, tab, k0_valid, rhs, work, w_new, code):
    """One explicit Runge–Kutta step of any tableau for a block ``w`` (R, N).

    With ``k0_valid`` the first stage ``work.ks[0] = f(w)`` is reused. ``code[r]`` receives
    the first failure of row ``r`` (see :func:`finish_step`), ``work.err`` the error
    estimate.
    """
    a, b, e, _ = tab
    ks, y, prod, err, stage_code = work
    code[:] = OK
    for s in range(b.shape[0]):
        if s == 0 and k0_valid:
            continue
        x = stage_point(w, h, a, s, ks, y)
        rhs_rows(x, rhs, prod, ks[s], stage_code)
        keep_first_failure(code, stage_code)
    finish_step(w, h, b, e, ks, w_new, err, code)


@sums
def step_cols(w, h, tab, rhs, work, w_new, code):
    """One step of any tableau for a transposed block ``w`` (N, R) with Markov products
    (:func:`rk_step` without the error estimate)."""
    a, b, _, _ = tab
    ks, y, _, _, vecs, stage_code = work
    code[:] = OK
    for s in range(b.shape[0]):
        x = stage_point(w, h, a, s, ks, y)
        rhs_cols(x, rhs, work, ks[s], stage_code)
        keep_first_failure(code, stage_code)
    n, cols = w.shape
    finite = vecs[0]  # the RHS's scale row, free once every stage is evaluated
    finite[:] = 0.0
    for i in range(n):
        wi = w[i]
        wn = w_new[i]
        k0 = ks[0, i]
        b0 = b[0]
        for r in range(cols):
            wn[r] = b0 * k0[r]
        for s in range(1, b.shape[0]):
            bs = b[s]
            if bs == 0.0:
                continue
            kk = ks[s, i]
            for r in range(cols):
                wn[r] += bs * kk[r]
        for r in range(cols):
            wn[r] = wi[r] + h * wn[r]
            finite[r] += wn[r] * 0.0
    for r in range(cols):
        if code[r] == OK and finite[r] != 0.0:
            code[r] = DIVERGED


# ---------------------------------------------------------------- error control
@sums
def error_norm(err, w, w_new, rtol, atol):
    r"""Scaled RMS error :math:`\sqrt{\mathrm{mean}_i (e_i/(atol + rtol\max(|w_i|,
    |w^{new}_i|)))^2}` (NaN or inf when anything is not finite)."""
    acc = 0.0
    for i in range(err.shape[0]):
        scale = atol + rtol * max(abs(w[i]), abs(w_new[i]))
        acc += (err[i] / scale) ** 2
    return math.sqrt(acc / err.shape[0])


@kernel
def error_norms(err, w, w_new, rtol, atol, code, out):
    """Row-wise :func:`error_norm` of a block (R, N); ``inf`` where ``code != OK`` or NaN."""
    for r in range(w.shape[0]):
        eps = error_norm(err[r], w[r], w_new[r], rtol, atol) if code[r] == OK else math.inf
        out[r] = eps if eps == eps else math.inf


@kernel
def symmetrise(c):
    """``c <- (c + c.T) / 2`` in place; returns ``(max |c_ij|, max |c_ij - c_ji|)`` of the
    input, NaN if an entry is not finite."""
    n = c.shape[0]
    top = 0.0
    asym = 0.0
    for i in range(n):
        for j in range(n):
            top = max(top, abs(c[i, j])) if abs(c[i, j]) < math.inf else math.nan
            if top != top:
                return math.nan, math.nan
        for j in range(i):
            asym = max(asym, abs(c[i, j] - c[j, i]))
            c[i, j] = c[j, i] = 0.5 * (c[i, j] + c[j, i])
    return top, asym
