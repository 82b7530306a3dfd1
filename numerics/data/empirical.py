r"""Data models from samples: a finite set of rows, drawn with replacement.

:class:`Empirical` turns a researcher's data — an array of samples, or an ``.npy`` /
``.npz`` file — into a data model like the synthetic ones: ``sample`` resamples the rows,
``covariance`` is the empirical covariance (optionally averaged over translations of the
ring or torus, which makes it circulant), ``marginal`` the empirical law of all pixels
(:class:`rfloc.numerics.laws.EmpiricalLaw`). :func:`two_class_from_arrays` builds the
labelled task from ``(X, y)``, with :math:`p` the label frequency.

Rows are standardised per pixel by default (each pixel's mean 0 and variance 1 over the
rows), as the theory's fields are (``docs/data.md``).
"""

from __future__ import annotations

import hashlib
import os
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from rfloc.errors import ParameterError, check_int
from rfloc.numerics.data._base import DataModel, check_dim
from rfloc.numerics.data._registry import register
from rfloc.numerics.data.two_class import TwoClass
from rfloc.numerics.laws import EmpiricalLaw

__all__ = ["Empirical", "load_rows", "translation_average", "two_class_from_arrays"]


@register("empirical")
class Empirical(DataModel):
    r"""The empirical law of M rows of N pixels, sampled with replacement.

    Parameters
    ----------
    path : str, optional
        An ``.npy`` file holding an (M, N) array, or an ``.npz`` file with arrays ``X``
        (M, N) and, with ``label``, ``y`` (M,). Needed for :attr:`params` to rebuild the
        model (e.g. in worker processes).
    label : int, optional
        Keep the rows of ``path``'s ``X`` whose ``y`` equals ``label``.
    samples : array_like, shape (M, N), optional
        The rows themselves (instead of ``path``); such a model has no rebuildable params.
    dim : int
        1: each row is a ring of N pixels; 2: an n-by-n torus (N = n², row-major).
    circulant : bool
        Average the covariance over translations (of the ring or torus), making it
        (block-)circulant: the translation-invariant estimate of a translation-invariant
        field.
    standardize : bool
        Standardise each pixel to mean 0, variance 1 over the rows (default True).

    Raises
    ------
    ParameterError
        Neither or both of ``path`` and ``samples``; unreadable files; fewer than 2 rows,
        non-finite values, constant pixels; ``dim=2`` with N not a square.
    """

    def __init__(self, path: str | None = None, label: int | None = None, *,
                 samples: Any = None, dim: int = 1, circulant: bool = False,
                 standardize: bool = True) -> None:
        if (path is None) == (samples is None):
            raise ParameterError("give exactly one of path and samples")
        rows = load_rows(str(path), label) if path is not None else _as_rows(samples)
        self.dim = check_dim(dim)
        side = round(rows.shape[1] ** (1.0 / self.dim))
        if side**self.dim != rows.shape[1]:
            raise ParameterError(f"dim=2 needs N to be a square, got N = {rows.shape[1]}")
        if standardize:
            std = rows.std(axis=0)
            if np.any(std == 0):
                raise ParameterError("every pixel must vary over the rows (a constant pixel "
                                     "cannot be standardised)")
            rows = (rows - rows.mean(axis=0)) / std
        self.side = int(side)
        self._rows = np.ascontiguousarray(rows)
        self._rows.flags.writeable = False
        self.path = None if path is None else str(path)
        self.label = None if label is None else int(label)
        self.circulant = bool(circulant)
        self.standardize = bool(standardize)

    @property
    def rows(self) -> np.ndarray:
        """The (standardised) rows, shape (M, N), read-only."""
        return self._rows

    @property
    def params(self) -> dict[str, Any]:
        if self.path is None:
            digest = hashlib.sha256(self._rows.tobytes()).hexdigest()[:16]
            return {"model": "empirical", "samples": f"<array sha256:{digest}>",
                    "dim": self.dim}
        return {"model": "empirical", "path": self.path, "label": self.label, "dim": self.dim,
                "circulant": self.circulant, "standardize": self.standardize}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Empirical:
        if "path" not in params:
            raise ParameterError("an Empirical model built from an array cannot be rebuilt "
                                 "from params; save the rows to an .npy/.npz file and use "
                                 "path=")
        return super().from_params(params)

    @cached_property
    def marginal(self) -> EmpiricalLaw:
        """The empirical law of every pixel value of every row."""
        return EmpiricalLaw(self._rows)

    def _covariance(self) -> np.ndarray:
        x = self._rows - (0.0 if self.standardize else self._rows.mean(axis=0))
        cov = x.T @ x / x.shape[0]
        return translation_average(cov, self.side, self.dim) if self.circulant else cov

    def describe(self) -> str:
        src = self.path if self.path is not None else "array"
        return (f"Empirical({src}, label={self.label}, M={self._rows.shape[0]}, "
                f"N={self.n}, dim={self.dim}, circulant={self.circulant})")

    def fill_rows(self, out: np.ndarray, gen: np.random.Generator,
                  rows: np.ndarray | None = None) -> None:
        k = out.shape[0] if rows is None else rows.size
        picks = gen.integers(0, self._rows.shape[0], size=k)
        if rows is None:
            np.take(self._rows, picks, axis=0, out=out)
        else:
            out[rows] = self._rows[picks]


def translation_average(cov: np.ndarray, side: int, dim: int) -> np.ndarray:
    r"""The (block-)circulant matrix whose entry :math:`(i, j)` is the mean of ``cov`` over
    all pixel pairs with the same displacement :math:`j - i` on the ring (``dim=1``) or
    torus (``dim=2``, row-major :math:`n \times n`).

    Parameters
    ----------
    cov : ndarray, shape (N, N)
    side, dim : int
        ``N = side**dim``.
    """
    n = side**dim
    if dim == 1:
        idx = np.arange(n)
        disp = (idx[None, :] - idx[:, None]) % n
        row = np.bincount(disp.ravel(), weights=cov.ravel(), minlength=n) / n
        return row[disp]
    r, c = np.divmod(np.arange(n), side)
    dr = (r[None, :] - r[:, None]) % side
    dc = (c[None, :] - c[:, None]) % side
    disp = (dr * side + dc).ravel()
    row = np.bincount(disp, weights=cov.ravel(), minlength=n) / n
    return row[(dr * side + dc)]


def two_class_from_arrays(X: Any, y: Any, *, dim: int = 1, circulant: bool = False,
                          standardize: bool = True) -> TwoClass:
    r"""The labelled task of rows ``X`` (M, N) with labels ``y`` (M,) in {0, 1}.

    Class 1 (``positive``) and class 0 are :class:`Empirical` models of their rows;
    :math:`p` is the fraction of label 1.
    """
    rows, labels = _as_rows(X), np.asarray(y)
    if labels.shape != (rows.shape[0],) or not np.all(np.isin(labels, (0, 1))):
        raise ParameterError(f"y must be an array of shape ({rows.shape[0]},) of 0/1 "
                             "labels")
    p = float(np.mean(labels))
    if not 0 < p < 1:
        raise ParameterError("y must hold both labels 0 and 1")

    def of_class(label: int) -> Empirical:
        return Empirical(samples=rows[labels == label], dim=dim, circulant=circulant,
                         standardize=standardize)

    return TwoClass(of_class(1), of_class(0), p)


def load_rows(path: str, label: int | None = None) -> np.ndarray:
    """The (M, N) float64 rows of an ``.npy`` file, or of an ``.npz`` file's ``X`` (those
    with ``y == label`` when ``label`` is given); cached by path and modification time."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise ParameterError(f"path {path!r} cannot be read: {exc.strerror}") from None
    return _load(path, stamp, None if label is None else check_int("label", label,
                                                                   minimum=0))


@lru_cache(maxsize=16)
def _load(path: str, stamp: int, label: int | None) -> np.ndarray:
    del stamp                                   # part of the cache key only
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"path {path!r} is not a readable .npy/.npz file: {exc}"
                             ) from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            if "X" not in data:
                raise ParameterError(f"{path!r} must hold an array 'X' (M, N)")
            X = data["X"]
            if label is not None:
                if "y" not in data:
                    raise ParameterError(f"{path!r} must hold labels 'y' to select label "
                                         f"{label}")
                X = X[np.asarray(data["y"]) == label]
    else:
        if label is not None:
            raise ParameterError("label needs an .npz file with arrays X and y")
        X = data
    rows = _as_rows(X)
    rows.flags.writeable = False
    return rows


def _as_rows(X: Any) -> np.ndarray:
    try:
        rows = np.array(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ParameterError("samples must be a real array of shape (M, N)") from None
    if rows.ndim != 2 or rows.shape[0] < 2 or rows.shape[1] < 2:
        raise ParameterError(f"samples must have shape (M, N) with M, N >= 2, got "
                             f"{rows.shape}")
    if not np.all(np.isfinite(rows)):
        raise ParameterError("samples must be finite (no NaN or inf)")
    return rows
