"""The data-model interface: a zero-mean, unit-variance random field on a ring or torus."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from functools import cached_property
from typing import Any, TypeVar

import numpy as np

from rfloc.errors import ParameterError, check_int
from rfloc.numerics.covariance import HasGaussianTransform
from rfloc.random import SeedLike, as_generator

__all__ = ["CHUNK", "MAX_PIXELS", "MAX_SAMPLE_ENTRIES", "Blockwise", "DataModel", "check_dim",
           "check_m", "check_side", "freeze"]

_Model = TypeVar("_Model", bound="DataModel")

#: numbers generated per chunk (2 MB of float64)
CHUNK = 1 << 18


def check_dim(dim: int) -> int:
    """``dim`` as an int if it is 1 (ring) or 2 (torus), else raise ParameterError."""
    if isinstance(dim, bool) or dim not in (1, 2):
        raise ParameterError(f"dim must be 1 (ring) or 2 (torus), got {dim!r}")
    return int(dim)


#: the most pixels a model may have (its dense covariance is 2 GiB of float64)
MAX_PIXELS = 1 << 14

#: the most float64 entries one ``sample`` call may return (16 GiB)
MAX_SAMPLE_ENTRIES = 1 << 31


def check_m(m: int, n: int = 1) -> int:
    """A number of samples, ``m >= 0``, of ``n`` pixels each, refused before allocating
    above :data:`MAX_SAMPLE_ENTRIES` numbers."""
    m = check_int("m", m, minimum=0)
    if m * n > MAX_SAMPLE_ENTRIES:
        raise ParameterError(f"m = {m} samples of N = {n} pixels are {m * n:.3g} numbers, "
                             f"more than {MAX_SAMPLE_ENTRIES:.3g} (16 GiB); draw in chunks")
    return m


def check_side(n: int, dim: int) -> int:
    """Pixels per side, ``n >= 2`` with ``n**dim`` at most :data:`MAX_PIXELS`."""
    n = check_int("n", n, minimum=2)
    if n**dim > MAX_PIXELS:
        raise ParameterError(f"n = {n} gives N = n**{dim} = {n**dim:.3g} pixels, more than "
                             f"{MAX_PIXELS} (a dense covariance of 2 GiB)")
    return n


def freeze(a: np.ndarray) -> np.ndarray:
    """``a``, made read-only."""
    a.flags.writeable = False
    return a


class DataModel(ABC):
    """A zero-mean, unit-pixel-variance random field on a ring or torus.

    Subclasses set ``side`` and ``dim`` and implement :attr:`params` (whose keys are the
    constructor's arguments, plus ``"model"``), :attr:`marginal`, :meth:`_covariance`,
    :meth:`describe` and :meth:`fill_rows`; :meth:`from_params` is overridden where a
    parameter is stored in another form than the constructor takes.
    """

    side: int
    dim: int

    @property
    def n(self) -> int:
        """Number of pixels ``N = side**dim``."""
        return self.side**self.dim

    @property
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-serialisable parameters; ``rfloc.numerics.data.from_params`` rebuilds the model."""

    @classmethod
    def from_params(cls: type[_Model], params: dict[str, Any]) -> _Model:
        """The model described by ``params`` (the inverse of :attr:`params`).

        The keys other than ``"model"`` are the constructor's keyword arguments; omitted
        ones take their defaults.

        Raises
        ------
        ParameterError
            For a key the constructor does not take, naming it and the keys allowed.
        """
        keys = {k: v for k, v in params.items() if k != "model"}
        allowed = [name for name, p in inspect.signature(cls.__init__).parameters.items()
                   if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        unknown = sorted(set(keys) - set(allowed))
        if unknown:
            raise ParameterError(f"data model {params.get('model', cls.__name__)!r} takes "
                                 f"{', '.join(allowed)}; got unknown key(s) "
                                 f"{', '.join(unknown)}")
        return cls(**keys)

    @property
    @abstractmethod
    def marginal(self) -> HasGaussianTransform | None:
        """Law of one pixel (a numeric law, or the theory marginal a model was given)."""

    @abstractmethod
    def _covariance(self) -> np.ndarray:
        """Dense (N, N) covariance (computed once by :attr:`covariance`)."""

    @abstractmethod
    def describe(self) -> str:
        """One line naming the model and its parameters."""

    @abstractmethod
    def fill_rows(self, out: np.ndarray, gen: np.random.Generator,
                  rows: np.ndarray | None = None) -> None:
        """Overwrite ``out[rows]`` (all rows if None) with independent samples.

        Parameters
        ----------
        out : ndarray, shape (M, N), float64, C-contiguous
        gen : numpy.random.Generator
            Randomness (consumed in a fixed order: same state, same rows).
        rows : ndarray of int, shape (k,), optional
            Row indices into ``out``.
        """

    @cached_property
    def covariance(self) -> np.ndarray:
        """Exact pixel covariance of the sampled field, shape (N, N), read-only."""
        return freeze(np.ascontiguousarray(self._covariance(), dtype=np.float64))

    def sample(self, m: int, rng: SeedLike = None) -> np.ndarray:
        """``m`` independent samples, float64 array of shape (m, N).

        Parameters
        ----------
        m : int
            Number of samples, ``m >= 0``.
        rng : int, SeedSequence or numpy.random.Generator, optional
            Randomness; the same seed gives the same samples.
        """
        m = check_m(m, self.n)
        out = np.empty((m, self.n), dtype=np.float64)
        self.fill_rows(out, as_generator(rng))
        return out

    def __repr__(self) -> str:
        return self.describe()


class Blockwise(DataModel):
    """A model that fills contiguous blocks of rows (:meth:`_fill_block`), chunk by chunk.

    Chunks hold about :data:`CHUNK` numbers, so sampling allocates the output plus a few
    MB whatever the number of rows.
    """

    @abstractmethod
    def _fill_block(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        """Overwrite ``out`` (k, N), C-contiguous, with k independent samples.

        ``work`` is float64 scratch of ``(k + 1) * N`` entries, reused across chunks so
        that sampling does not allocate (and page-fault) fresh memory per chunk.
        """

    def fill_rows(self, out: np.ndarray, gen: np.random.Generator,
                  rows: np.ndarray | None = None) -> None:
        total = out.shape[0] if rows is None else rows.size
        chunk = max(1, min(CHUNK // self.n, total))
        work = np.empty((chunk + 1) * self.n)
        if rows is None:
            for a in range(0, total, chunk):
                self._fill_block(out[a:min(a + chunk, total)], gen, work)
            return
        buf = np.empty((chunk, self.n))
        for a in range(0, total, chunk):
            b = min(a + chunk, total)
            block = buf[: b - a]
            self._fill_block(block, gen, work)
            out[rows[a:b]] = block
