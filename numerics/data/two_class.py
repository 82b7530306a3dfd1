r"""The labelled two-class task (``docs/data.md``, TwoClass)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rfloc.errors import ParameterError, check_open_unit
from rfloc.numerics.data._base import DataModel, check_m
from rfloc.numerics.data._registry import from_params, register
from rfloc.numerics.data.elliptical import Elliptical
from rfloc.numerics.data.gaussian_process import GaussianProcess
from rfloc.numerics.data.ising import Ising
from rfloc.numerics.data.nlgp import NLGP
from rfloc.numerics.data.norta import NORTA, NamedPixelLaw
from rfloc.random import SeedLike, as_generator

__all__ = ["TwoClass"]


@register("two-class")
class TwoClass:
    r"""The labelled task: :math:`y \sim \mathrm{Bernoulli}(p)`, :math:`x \mid y` from a model.

    Class 1 (``positive``, the longer correlation length in the reference tasks) has
    probability ``p``; class 0 is ``negative``. :meth:`sample` draws each label
    independently, so the class proportion is ``p`` exactly in expectation and rows are
    exchangeable; the rows of each class are filled in vectorised chunks. A task of two
    :class:`Ising` rings draws labels and both classes in one kernel call
    (:meth:`Ising.fill_labelled`), consuming the generator exactly as the general path.

    Parameters
    ----------
    positive, negative : DataModel
        Models with the same ``n`` and ``dim``.
    p : float
        :math:`P(y = 1)`, in (0, 1).
    """

    def __init__(self, positive: DataModel, negative: DataModel, p: float = 0.5) -> None:
        for name, model in (("positive", positive), ("negative", negative)):
            if not isinstance(model, DataModel):
                raise ParameterError(f"{name} must be a DataModel, got {model!r}")
        if (positive.n, positive.dim) != (negative.n, negative.dim):
            raise ParameterError(
                f"positive and negative must have the same shape: N={positive.n}, "
                f"dim={positive.dim} vs N={negative.n}, dim={negative.dim}")
        self.positive, self.negative = positive, negative
        self.p = check_open_unit("p", p)

    @property
    def n(self) -> int:
        """Number of pixels N."""
        return self.positive.n

    @property
    def dim(self) -> int:
        """1 (ring) or 2 (torus)."""
        return self.positive.dim

    @property
    def covariances(self) -> tuple[np.ndarray, np.ndarray]:
        r"""``(Σ₁, Σ₀)``: covariances of the positive and negative class, (N, N) each."""
        return self.positive.covariance, self.negative.covariance

    @property
    def params(self) -> dict[str, Any]:
        return {"model": "two-class", "positive": self.positive.params,
                "negative": self.negative.params, "p": self.p}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TwoClass:
        """The task of ``from_params`` of each class; ``p`` defaults to 1/2."""
        return cls(from_params(params["positive"]), from_params(params["negative"]),
                   params.get("p", 0.5))

    def describe(self) -> str:
        return (f"TwoClass(p={self.p:g}): y=1 ~ {self.positive.describe()} | "
                f"y=0 ~ {self.negative.describe()}")

    def __repr__(self) -> str:
        return self.describe()

    def sample(self, m: int, rng: SeedLike = None) -> tuple[np.ndarray, np.ndarray]:
        """``m`` labelled samples.

        Returns
        -------
        X : ndarray, shape (m, N), float64
        y : ndarray, shape (m,), float64 in {0., 1.}
        """
        m = check_m(m, self.n)
        gen = as_generator(rng)
        X = np.empty((m, self.n), dtype=np.float64)
        pos, neg = self.positive, self.negative
        if type(pos) is Ising and type(neg) is Ising:
            y = np.empty(m, dtype=np.float64)
            Ising.fill_labelled(pos, neg, self.p, gen, X, y)
            return X, y
        y = (gen.random(m) < self.p).astype(np.float64)
        for label, model in ((1.0, pos), (0.0, neg)):
            rows = np.flatnonzero(y == label)
            if rows.size:
                model.fill_rows(X, gen, rows)
        return X, y

    def gaussian_clone(self) -> TwoClass:
        """Both classes replaced by their Gaussian clones (same covariances, same ``p``)."""
        return TwoClass(GaussianProcess.clone_of(self.positive),
                        GaussianProcess.clone_of(self.negative), p=self.p)

    # ---------------------------------------------------------------- reference tasks
    @classmethod
    def ising(cls, n: int = 40, J: tuple[float, float] = (0.7, 0.3),
              p: float = 0.5) -> TwoClass:
        """Ising rings, ``J = (J1, J0)`` for (positive, negative); reference N=40, (0.7, 0.3)."""
        return cls(Ising(n, J[0]), Ising(n, J[1]), p)

    @classmethod
    def nlgp(cls, g: float, n: int = 40, xi: tuple[float, float] = (3.0, 1.0),
             p: float = 0.5, dim: int = 1) -> TwoClass:
        """NLGP(g) classes with ``xi = (xi1, xi0)``; reference N=40, xi=(3, 1)."""
        return cls(NLGP(n, xi[0], g, dim), NLGP(n, xi[1], g, dim), p)

    @classmethod
    def norta(cls, marginal: NamedPixelLaw, n: int = 40,
              xi: tuple[float, float] = (3.0, 1.0), p: float = 0.5, dim: int = 1) -> TwoClass:
        """Copula classes with a common pixel law (e.g. ``Algebraic(k)`` for Kur(k))."""
        return cls(NORTA(n, xi[0], marginal, dim), NORTA(n, xi[1], marginal, dim), p)

    @classmethod
    def elliptical(cls, radial: str | Callable[[np.ndarray], np.ndarray] = "shell",
                   nu: float | None = None, n: int = 40,
                   xi: tuple[float, float] = (3.0, 1.0), p: float = 0.5,
                   dim: int = 1) -> TwoClass:
        """Elliptical classes with a common radial law (the no-localization control)."""
        return cls(Elliptical(n, xi[0], radial, nu, dim), Elliptical(n, xi[1], radial, nu, dim),
                   p)
