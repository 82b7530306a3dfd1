r"""Localization measures of receptive fields, vectorised over leading axes.

See ``docs/integrator.md`` § Metrics.

Every function takes real weights ``w`` of shape ``(..., N)`` (a trajectory ``(T, N)``, a
batch ``(T, M, N)``, …) and reduces the last axis; complex input is refused
(:class:`~rfloc.errors.ParameterError`), never truncated. Rows that are all zero or hold a
NaN or an infinity (for example the saves of a failed integration) give NaN (``-1`` from
:func:`peak`, whose result is an index) rather than an error. Each row is divided by its
largest magnitude first, so that no value overflows or underflows in the squares.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from rfloc.errors import ParameterError, check_int
from rfloc.numerics.trajectory import Trajectory

__all__ = ["LOCALIZATION_FACTOR", "cosine", "ipr", "localization_time", "localized_ipr", "peak",
           "rf_centre_width", "ring_offset"]

LOCALIZATION_FACTOR = 4.0
"""A receptive field counts as localized when its IPR exceeds this many times 1/N."""


def _weights(w: np.ndarray, name: str = "w") -> np.ndarray:
    if np.iscomplexobj(w):
        raise ParameterError(f"{name} must be real, got a complex array")
    try:
        arr = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a real array of shape (..., N), got {w!r}") \
            from None
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ParameterError(f"{name} must have shape (..., N) with N >= 1, got {arr.shape}")
    return arr


def _unit_max(arr: np.ndarray) -> np.ndarray:
    """Each row divided by its largest magnitude (NaN rows for zero or non-finite rows)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        top = np.max(np.abs(arr), axis=-1, keepdims=True)
        out = arr / top
    return np.where(np.isfinite(top) & (top > 0), out, np.nan)


def localized_ipr(n: int) -> float:
    r"""IPR threshold above which an RF of N pixels counts as localized: :math:`4/N`.

    Four times a flat RF (:math:`1/N`) and about 2.7 times a pure Fourier mode, whose IPR is
    :math:`\sum_i \cos^4 / (\sum_i \cos^2)^2 = 1.5/N` (:data:`LOCALIZATION_FACTOR`).

    Raises
    ------
    ParameterError
        Unless ``n`` is an integer >= 1.
    """
    return LOCALIZATION_FACTOR / check_int("n", n, minimum=1)


def ipr(w: np.ndarray) -> np.ndarray:
    r"""Inverse participation ratio :math:`\sum_i w_i^4 / (\sum_i w_i^2)^2`.

    Parameters
    ----------
    w : array_like, shape (..., N)

    Returns
    -------
    ndarray, shape (...)
        In :math:`[1/N, 1]`: 1/N for a flat RF, 1 for a single pixel; NaN for a zero or
        non-finite row.
    """
    arr = _unit_max(_weights(w))
    sq = arr * arr
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(sq * sq, axis=-1) / np.sum(sq, axis=-1) ** 2


def peak(w: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    r"""Pixel of largest magnitude, :math:`\arg\max_i |w_i|` (first one on ties).

    Parameters
    ----------
    w : array_like, shape (..., N)
    shape : (n_rows, n_cols), optional
        For 2D receptive fields stored row-major (pixel ``(r, c)`` at index ``r*n_cols + c``,
        as :func:`rfloc.theory.covariance.torus`), return coordinates instead of flat indices.

    Returns
    -------
    ndarray of int
        Shape (...) flat indices; with ``shape``, shape (..., 2) ``(row, col)`` pairs.
        A row containing NaN has no peak: it reports ``-1`` (``(-1, -1)`` with ``shape``).
    """
    arr = _weights(w)
    bad = np.isnan(arr).any(axis=-1)
    flat = np.where(bad, -1, np.argmax(np.abs(np.nan_to_num(arr)), axis=-1))
    if shape is None:
        return flat[()]
    rows, cols = _shape2d(shape)
    if rows * cols != arr.shape[-1]:
        raise ParameterError(f"shape {shape} must multiply to N = {arr.shape[-1]}")
    return np.where(bad[..., None], -1, np.stack(np.divmod(flat, cols), axis=-1))


def _shape2d(shape: tuple[int, int]) -> tuple[int, int]:
    try:
        rows, cols = shape
    except (TypeError, ValueError):
        raise ParameterError(f"shape must be a pair (n_rows, n_cols), got {shape!r}") from None
    return check_int("shape[0]", rows, minimum=1), check_int("shape[1]", cols, minimum=1)


def ring_offset(i: ArrayLike, j: ArrayLike, n: int | tuple[int, int]) -> np.ndarray:
    r"""Signed shortest displacement from pixel ``i`` to pixel ``j`` on a ring of ``n``.

    :math:`d = ((j - i) \bmod n)` mapped into :math:`(-n/2, n/2]`, so that
    :math:`i + d \equiv j \pmod n`; :math:`|d|` is the ring distance.

    Parameters
    ----------
    i, j : array_like of int
        Pixel indices (broadcast together). For a torus, coordinates of shape (..., 2).
    n : int or (n_rows, n_cols)
        Ring length, or torus side lengths: then the offset is taken per axis and has shape
        (..., 2) (the torus distance is e.g. ``np.abs(d).max(-1)`` or ``np.abs(d).sum(-1)``).

    Returns
    -------
    ndarray of int
    """
    try:
        a = np.asarray(i)
        b = np.asarray(j)
    except (TypeError, ValueError):
        raise ParameterError("i and j must be integer arrays") from None
    for name, arr in (("i", a), ("j", b)):
        if not np.issubdtype(arr.dtype, np.integer):
            raise ParameterError(f"{name} must hold integers, got dtype {arr.dtype}")
    if isinstance(n, (tuple, list)):
        sides = np.array(_shape2d(n))
        if a.shape[-1:] != (2,) or b.shape[-1:] != (2,):
            raise ParameterError("for a torus, i and j must have shape (..., 2)")
    else:
        sides = np.int64(check_int("n", n, minimum=1))
    d = np.mod(b - a, sides)
    return np.where(2 * d > sides, d - sides, d)


def cosine(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    r"""Cosine similarity :math:`u\cdot v / (\|u\|\,\|v\|)` over the last axis (broadcast).

    Returns
    -------
    ndarray, shape (...)
        In :math:`[-1, 1]`; NaN if either vector is zero or not finite.
    """
    a = _unit_max(_weights(u, "u"))
    b = _unit_max(_weights(v, "v"))
    if a.shape[-1] != b.shape[-1]:
        raise ParameterError(f"u and v must have the same last axis, got {a.shape[-1]} and "
                             f"{b.shape[-1]}")
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.sum(a * b, axis=-1) / np.sqrt(np.sum(a * a, -1) * np.sum(b * b, -1))
    return np.clip(value, -1.0, 1.0)


def localization_time(source: Trajectory | tuple[np.ndarray, np.ndarray],
                      threshold: float) -> np.ndarray:
    r"""First saved time at which the IPR reaches ``threshold``.

    Parameters
    ----------
    source : Trajectory or (t, ipr)
        A trajectory (its ``t`` (T,) and :func:`ipr` of its ``w`` (T, ...)), or a pair of
        times (T,) and IPR values (T, ...).
    threshold : float
        In (0, 1].

    Returns
    -------
    ndarray, shape (...)
        :math:`\min\{t_k : \mathrm{IPR}_k \ge \text{threshold}\}`, NaN where never reached.
        The resolution is the spacing of the saves.
    """
    if isinstance(source, Trajectory):
        t, values = np.asarray(source.t, dtype=np.float64), ipr(source.w)
    else:
        try:
            t, values = (np.asarray(x, dtype=np.float64) for x in source)
        except (TypeError, ValueError):
            raise ParameterError("source must be a Trajectory or a pair (t, ipr)") from None
    if t.ndim != 1 or values.ndim == 0 or values.shape[0] != t.shape[0]:
        raise ParameterError(f"t must be (T,) and ipr (T, ...), got {t.shape} and "
                             f"{values.shape}")
    try:
        level = float(threshold)
    except (TypeError, ValueError):
        level = math.nan
    if not 0.0 < level <= 1.0:
        raise ParameterError(f"threshold must be in (0, 1], got {threshold!r}")
    reached = values >= level
    first = np.argmax(reached, axis=0)
    return np.where(reached.any(axis=0), t[first], np.nan)[()]


def rf_centre_width(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Circular centre and width of a receptive field on a ring, weights :math:`w_i^2`.

    With :math:`\theta_i = 2\pi i/N` and :math:`R e^{i\mu} = \sum_i w_i^2 e^{i\theta_i} /
    \sum_i w_i^2`,

    .. math:: \text{centre} = \frac{N}{2\pi}\,\mu \bmod N, \qquad
              \text{width} = \frac{N}{2\pi}\sqrt{-2\ln R}

    (circular mean and circular standard deviation, in pixels).

    Parameters
    ----------
    w : array_like, shape (..., N)

    Returns
    -------
    centre, width : ndarray, shape (...)
        ``centre`` in :math:`[0, N)`; ``width`` 0 for a single pixel, large (``inf`` when
        :math:`R = 0`) for a delocalized RF. NaN for a zero or non-finite row.
    """
    arr = _unit_max(_weights(w))
    n = arr.shape[-1]
    sq = arr * arr
    theta = 2 * np.pi * np.arange(n) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.sum(sq, axis=-1)
        mu = np.angle(np.sum(sq * np.exp(1j * theta), axis=-1))
        # 1 - R = sum w^2 (1 - cos(theta - mu)) / sum w^2, kept accurate near R = 1
        gap = np.sum(sq * 2 * np.sin((theta - mu[..., None]) / 2) ** 2, axis=-1) / total
        width = n / (2 * np.pi) * np.sqrt(-2.0 * np.log1p(-np.minimum(gap, 1.0)))
    centre = np.mod(mu * n / (2 * np.pi), n)
    centre = np.where(centre >= n, centre - n, centre)  # mod may round up to n
    return np.where(np.isnan(gap), np.nan, centre)[()], width
