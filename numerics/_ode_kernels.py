r"""Numba kernels of the effective dynamics (private: the callers validate every argument).

Right-hand side, for each row ``w`` (N,) of a block of receptive fields (R, N):

.. math:: f(w) = p\,\varphi\!\big(\Sigma_1 w / \sqrt{w^\top\Sigma_1 w}\big) - \bar\Sigma w .

``mats`` is ``(both, stack, tri)`` with ``both = [cov1 | covbar]`` (N, 2N) and ``stack =
[cov1; covbar]`` (2N, N) (its transpose, the covariances being symmetric): one pass over the
rows of ``stack`` gives both products of a block (BLAS ``y @ both`` for large N, see
:func:`_products`). ``tri`` (2, ROWS, N) holds the :mod:`rfloc.numerics._markov` factors when
both covariances are those of Markov chains on a ring, and has length 0 otherwise; products
then cost O(N) per row, and fixed steps run on transposed blocks (:func:`_step_markov`).
``amp`` is the tuple ``(fast, core, kind, breaks, coeffs)``:
``fast`` (K, DEGREE+1) and ``core`` are the verified re-tabulation and core polynomial of
:mod:`rfloc.numerics._fastphi` (K = 0: call ``phi_scalar`` per pixel), the rest the table's
:class:`~rfloc.numerics.amplifier_table.AmplifierTable` arrays.

Status codes shared with the Python side: :data:`OK`, :data:`DIVERGED` (non-finite state),
:data:`COLLAPSED` (:math:`\|w\|_{\Sigma_1} \le` ``collapse_tol``), :data:`MAX_STEPS`,
:data:`UNDERFLOW` (adaptive step size vanished).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from rfloc.numerics import _markov as markov
from rfloc.numerics._fastphi import CORE_TERMS, DEGREE
from rfloc.numerics.amplifier_table import KIND_LINEAR, phi_scalar

OK = 0
DIVERGED = 1
COLLAPSED = 2
MAX_STEPS = 3
UNDERFLOW = 4

GEMM_ROWS = 8
"""Blocks with at least this many rows (and :data:`BLAS_MIN_N` pixels) multiply by BLAS."""

BLAS_MIN_N = 256
"""Smaller covariances multiply by the register-blocked loops of :func:`_products`."""

MIN_TRANSPOSED_ROWS = 8
"""Fixed steps with Markov products run transposed (:func:`_step_markov`) from this many rows
per block; smaller blocks step row by row, which is faster for them."""

# Reassociation lets LLVM vectorise the sums; no-NaN/no-inf flags are deliberately absent
# so that NaN and overflow still propagate to the divergence checks.
_SUMS = {"reassoc", "contract", "nsz"}


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def _dot(u, v):
    acc = 0.0
    for i in range(u.shape[0]):
        acc += u[i] * v[i]
    return acc


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def _products(y, mats, prod):
    """``prod[:, :N] = y @ cov1``, ``prod[:, N:] = y @ covbar`` for a block ``y`` (R, N).

    Markov covariances (``tri`` not empty) are swept row by row
    (:func:`rfloc.numerics._markov.row_products`). Below :data:`BLAS_MIN_N` pixels the
    products are plain loops over the rows of ``stack = [cov1; covbar]`` (2N, N): dot
    products of contiguous rows, four rows of ``y`` by two rows of ``stack`` at a time so
    that every load feeds two or four FMAs (the covariances are symmetric). BLAS would be no
    faster at this size and, called from several Numba threads, its own thread pool would
    fight them for the cores.
    """
    both, stack, tri = mats
    if tri.shape[0] > 0:
        for r in range(y.shape[0]):
            markov.row_products(y[r], tri, prod[r])
        return
    rows, n = y.shape
    if rows >= GEMM_ROWS and n >= BLAS_MIN_N:
        np.dot(y, both, prod)
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
            prod[r, i] = s0
            prod[r + 1, i] = s1
            prod[r + 2, i] = s2
            prod[r + 3, i] = s3
            prod[r, i + 1] = t0
            prod[r + 1, i + 1] = t1
            prod[r + 2, i + 1] = t2
            prod[r + 3, i + 1] = t3
            i += 2
        r += 4
    for rr in range(r, rows):
        for i in range(outs):
            prod[rr, i] = _dot(stack[i], y[rr])


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def _phi_of(a, amp, out):
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


@numba.njit(cache=True, nogil=True)
def _classify(q, collapse2):
    """``(code, 1/sqrt(q))`` for ``q = w^T Sigma_1 w``: :data:`DIVERGED` if ``q`` is not
    finite, :data:`COLLAPSED` if ``q <= collapse2`` (scale 0 for both), else :data:`OK`."""
    if not q < math.inf:
        return DIVERGED, 0.0
    if q <= collapse2:
        return COLLAPSED, 0.0
    return OK, 1.0 / math.sqrt(q)


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def assemble_rows(y, prod, p, amp, collapse2, out, code):
    """``out[r] = p phi(s1 / sqrt(y[r] @ s1)) - sb`` with ``s1, sb = prod[r, :N], prod[r, N:]``
    (``s1`` is rescaled in place).

    ``code[r]`` is :data:`DIVERGED` if :math:`y^\\top\\Sigma_1 y` is not finite,
    :data:`COLLAPSED` if it is ``<= collapse2`` (``out[r]`` is then zero), else :data:`OK`.
    """
    n = y.shape[1]
    for r in range(y.shape[0]):
        code[r], scale = _classify(_dot(y[r], prod[r, :n]), collapse2)
        if code[r] != OK:
            out[r, :] = 0.0
            continue
        for i in range(n):
            prod[r, i] *= scale
        _phi_of(prod[r, :n], amp, out[r])
        for i in range(n):
            out[r, i] = p * out[r, i] - prod[r, n + i]


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def stage_input(w, h, a, s, ks, y):
    """Stage ``s`` input: ``y = w + h * sum_{j<s} a[s, j] ks[j]`` for a block (R, N) (zero
    coefficients skipped). Elementwise, so it serves transposed blocks (N, R) alike."""
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


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def finish_step(w, h, b, e, ks, w_new, err, code):
    """``w_new = w + h sum_s b_s ks[s]``, ``err = h sum_s e_s ks[s]``; ``code[r]`` becomes
    :data:`DIVERGED` where it is :data:`OK` but ``w_new[r]`` is not finite."""
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


@numba.njit(cache=True, nogil=True)
def _rk_step(w, h, tab, k0_valid, mats, p, amp, collapse2, work, w_new, code):
    """One explicit Runge–Kutta step of any tableau for a block ``w`` (R, N).

    ``tab = (a, b, e)``; ``work`` from :func:`_workspace`, with the stages ``ks`` (S, R, N).
    With ``k0_valid`` the first stage ``ks[0] = f(w)`` is reused. ``code[r]`` receives the
    first failure of row ``r`` (see :func:`finish_step`), ``err`` the error estimate.
    """
    a, b, e = tab
    ks, y, prod, err, stage_code, _ = work
    code[:] = OK
    for s in range(b.shape[0]):
        if s == 0 and k0_valid:
            continue
        if s > 0:
            stage_input(w, h, a, s, ks, y)
        x = w if s == 0 else y
        _products(x, mats, prod)
        assemble_rows(x, prod, p, amp, collapse2, ks[s], stage_code)
        for r in range(w.shape[0]):
            if code[r] == OK:
                code[r] = stage_code[r]
    finish_step(w, h, b, e, ks, w_new, err, code)


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def _euler_step(w, h, b0, mats, p, amp, collapse2, work, w_new, code):
    """:func:`_rk_step` of a one-stage tableau ``b = [b0]`` (Euler), fused into one pass over
    each row after the products, with the same arithmetic."""
    rows, n = w.shape
    prod, phi = work[2], work[5]
    _products(w, mats, prod)
    for r in range(rows):
        code[r], scale = _classify(_dot(w[r], prod[r, :n]), collapse2)
        if code[r] != OK:
            for i in range(n):
                w_new[r, i] = w[r, i] + h * (b0 * 0.0)
            continue
        for i in range(n):
            prod[r, i] *= scale
        _phi_of(prod[r, :n], amp, phi)
        finite = 0.0
        for i in range(n):
            w_new[r, i] = w[r, i] + h * (b0 * (p * phi[i] - prod[r, n + i]))
            finite += w_new[r, i] * 0.0
        if finite != 0.0:
            code[r] = DIVERGED


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def _rhs_markov(x, tri, p, amp, collapse2, scratch, out, code):
    """``out = f(x)`` for a transposed block ``x`` (N, R) with Markov covariances;
    ``code[r]`` as in :func:`assemble_rows` (``out[:, r]`` zero unless OK).

    The sweeps of :func:`rfloc.numerics._markov.sweep` and every pixel loop run across the R
    columns, so the whole evaluation vectorises. ``scratch = (x1, x0, vecs)`` with ``x1, x0``
    (N, R) and ``vecs`` (3, R).
    """
    x1, x0, vecs = scratch
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
        code[r], scale[r] = _classify(scale[r], collapse2)
    w1, w0 = tri[0, 4, 2], tri[1, 4, 2]
    for i in range(n):
        s1 = x1[i]
        s0 = x0[i]
        for r in range(cols):
            a[r] = s1[r] * scale[r] if scale[r] != 0.0 else 0.0
        _phi_of(a, amp, phi)
        oi = out[i]
        for r in range(cols):
            oi[r] = p * phi[r] - (w1 * s1[r] + w0 * s0[r]) if scale[r] != 0.0 else 0.0


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def _step_markov(w, h, tab, tri, p, amp, collapse2, work, w_new, code):
    """One fixed step of any tableau for a transposed block ``w`` (N, R) with Markov
    covariances (:func:`_rk_step` without the error estimate); ``work`` from
    :func:`_workspace_markov`."""
    a, b, _ = tab
    ks, y, stage_code, scratch = work
    code[:] = OK
    for s in range(b.shape[0]):
        x = w
        if s > 0:
            stage_input(w, h, a, s, ks, y)
            x = y
        _rhs_markov(x, tri, p, amp, collapse2, scratch, ks[s], stage_code)
        for r in range(code.shape[0]):
            if code[r] == OK:
                code[r] = stage_code[r]
    n, cols = w.shape
    finite = scratch[2][0]  # the RHS's scale row, free once every stage is evaluated
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


@numba.njit(cache=True, nogil=True)
def _workspace(stages, rows, n):
    """``(ks, y, prod, err, stage_code, phi)`` for :func:`_rk_step` / :func:`_euler_step`."""
    return (np.empty((stages, rows, n)), np.empty((rows, n)), np.empty((rows, 2 * n)),
            np.empty((rows, n)), np.zeros(rows, dtype=np.int64), np.empty(n))


@numba.njit(cache=True, nogil=True)
def _workspace_markov(stages, n, cols):
    """``(ks, y, stage_code, (x1, x0, vecs))`` for :func:`_step_markov` on (N, R) blocks."""
    return (np.empty((stages, n, cols)), np.empty((n, cols)), np.zeros(cols, dtype=np.int64),
            (np.empty((n, cols)), np.empty((n, cols)), np.empty((3, cols))))


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True, fastmath=_SUMS)
def error_norm(err, w, w_new, rtol, atol):
    r"""Scaled RMS error :math:`\sqrt{\mathrm{mean}_i (e_i/(atol + rtol\max(|w_i|,
    |w^{new}_i|)))^2}` (NaN or inf when anything is not finite)."""
    acc = 0.0
    for i in range(err.shape[0]):
        scale = atol + rtol * max(abs(w[i]), abs(w_new[i]))
        acc += (err[i] / scale) ** 2
    return math.sqrt(acc / err.shape[0])


@numba.njit(cache=True, nogil=True)
def error_norms(err, w, w_new, rtol, atol, code, out):
    """Row-wise :func:`error_norm` of a block (R, N); ``inf`` where ``code != OK`` or NaN."""
    for r in range(w.shape[0]):
        eps = error_norm(err[r], w[r], w_new[r], rtol, atol) if code[r] == OK else math.inf
        out[r] = eps if eps == eps else math.inf


@numba.njit(cache=True, nogil=True)
def step_factor(err_norm, exponent, safety, min_factor, max_factor):
    """Controller: ratio of the next to the current step after error ``err_norm``."""
    if err_norm == 0.0:
        return max_factor
    return min(max_factor, max(min_factor, safety * err_norm ** -exponent))


@numba.njit(cache=True, parallel=True)
def integrate_fixed(w0, mats, p, amp, collapse2, tab, block, dt, n_steps, h_last,
                    save_steps, out, status, fail_step, fail_time):
    """Fixed-step integration of every row of ``w0`` (M, N), blocks of ``block`` rows in
    parallel.

    Step ``k`` (0-based) has size ``dt`` except the last (``h_last``). ``out[j, m]`` receives
    the state after ``save_steps[j]`` steps (NaN after a failure). On failure ``status[m]``,
    ``fail_step[m]`` (index of the state at which it was detected) and ``fail_time[m]`` are
    set.
    """
    total, n = w0.shape
    stages = tab[1].shape[0]
    saves = save_steps.shape[0]
    markov_products = mats[2].shape[0] > 0
    for blk in numba.prange((total + block - 1) // block):
        lo = blk * block
        rows = min(block, total - lo)
        transposed = markov_products and rows >= MIN_TRANSPOSED_ROWS
        if transposed:
            w = np.empty((n, rows))
            for r in range(rows):
                for i in range(n):
                    w[i, r] = w0[lo + r, i]
        else:
            w = w0[lo:lo + rows].copy()
        w_new = np.empty_like(w)
        work = _workspace(stages, 0 if transposed else rows, n)
        work_t = _workspace_markov(stages, n, rows if transposed else 0)
        code = np.zeros(rows, dtype=np.int64)
        alive = np.ones(rows, dtype=np.bool_)
        j = 0
        for k in range(n_steps + 1):
            while j < saves and save_steps[j] == k:
                for r in range(rows):
                    if not alive[r]:
                        out[j, lo + r] = np.nan
                    elif transposed:
                        for i in range(n):
                            out[j, lo + r, i] = w[i, r]
                    else:
                        out[j, lo + r] = w[r]
                j += 1
            if k == n_steps or not alive.any():
                break
            h = dt if k < n_steps - 1 else h_last
            if transposed:
                _step_markov(w, h, tab, mats[2], p, amp, collapse2, work_t, w_new, code)
            elif stages == 1:
                _euler_step(w, h, tab[1][0], mats, p, amp, collapse2, work, w_new, code)
            else:
                _rk_step(w, h, tab, False, mats, p, amp, collapse2, work, w_new, code)
            for r in range(rows):
                if alive[r] and code[r] != OK:
                    at = k + 1 if code[r] == DIVERGED else k
                    alive[r] = False
                    status[lo + r] = code[r]
                    fail_step[lo + r] = at
                    fail_time[lo + r] = at * dt if at < n_steps else (n_steps - 1) * dt + h_last
            w, w_new = w_new, w
        for jj in range(j, saves):
            out[jj, lo:lo + rows] = np.nan


@numba.njit(cache=True, parallel=True)
def integrate_adaptive(w0, mats, p, amp, collapse2, tab, fsal, dt0, save_t, rtol, atol,
                       control, max_steps, out, status, fail_step, fail_time, steps,
                       rejected):
    """Adaptive integration of every row of ``w0`` (M, N), each with its own step size.

    ``control = (exponent, safety, min_factor, max_factor)`` (see :func:`step_factor`).
    Steps are shortened to land exactly on the save times ``save_t`` (T,), increasing, the
    last being the end of the run. Counters ``steps``/``rejected`` per row; failure fields
    as in :func:`integrate_fixed` (``fail_step`` counts accepted steps).
    """
    total, n = w0.shape
    stages = tab[1].shape[0]
    saves = save_t.shape[0]
    exponent, safety, min_factor, max_factor = control
    for m in numba.prange(total):
        w = w0[m:m + 1].copy()
        w_new = np.empty((1, n))
        work = _workspace(stages, 1, n)
        ks, err = work[0], work[3]
        code = np.zeros(1, dtype=np.int64)
        t = 0.0
        h = dt0
        j = 0
        while j < saves and save_t[j] == 0.0:
            out[j, m] = w[0]
            j += 1
        k0_valid = False
        accepted = 0
        failed = 0
        result = OK
        while j < saves:
            if accepted + failed >= max_steps:
                result = MAX_STEPS
                break
            target = save_t[j]
            lands = h >= target - t
            hs = target - t if lands else h
            _rk_step(w, hs, tab, k0_valid, mats, p, amp, collapse2, work, w_new, code)
            if code[0] == COLLAPSED:
                result = COLLAPSED
                break
            k0_valid = True
            eps = error_norm(err[0], w[0], w_new[0], rtol, atol) if code[0] == OK else math.inf
            if eps <= 1.0:
                accepted += 1
                t = target if lands else t + hs
                w, w_new = w_new, w
                if fsal:
                    ks[0] = ks[stages - 1]
                else:
                    k0_valid = False
                grown = hs * step_factor(eps, exponent, safety, min_factor, max_factor)
                h = max(h, grown) if lands else grown
                if lands:
                    out[j, m] = w[0]
                    j += 1
            else:
                failed += 1
                factor = min_factor
                if eps < math.inf:
                    factor = step_factor(eps, exponent, safety, min_factor, 1.0)
                h = hs * factor
                if h <= 1e-14 * max(1.0, t):
                    result = UNDERFLOW
                    break
        status[m] = result
        steps[m] = accepted
        rejected[m] = failed
        if result != OK:
            fail_step[m] = accepted
            fail_time[m] = t
        for jj in range(j, saves):
            out[jj, m] = np.nan
