r"""Data models: exact, fast samplers of translation-invariant pixel fields.

Every model is a zero-mean field on a ring of ``n`` pixels (``dim=1``) or an
``n × n`` torus (``dim=2``, pixel ``(r, c)`` at index ``r * n + c``) with unit pixel
variance, and exposes

- ``sample(m, rng) -> ndarray (m, N)`` float64, ``N = n**dim``: ``m`` independent draws;
  ``rng`` is an int seed, a ``SeedSequence`` or a ``numpy.random.Generator`` (same seed,
  same samples);
- ``covariance`` (N, N): the exact covariance of what ``sample`` draws (read-only);
- ``marginal``: the theory-layer pixel law (:mod:`rfloc.theory.marginals`), or None;
- ``n`` (= N, the number of pixels), ``side``, ``dim``, ``describe()``, and ``params``
  (JSON-serialisable; :func:`from_params` rebuilds the model).

:class:`TwoClass` pairs two models into the labelled task of THEORY.md §1.

Gaussian fields are drawn through the FFT of the circulant kernel (see
:class:`_CirculantGaussian`), never a dense matrix square root, from normals made by an
exact ziggurat (:func:`_standard_normal`); the Ising ring is sampled exactly through its
transfer matrix (:mod:`rfloc.numerics._data_kernels`). See ``docs/data.md``.
Outputs are filled in chunks of about 2**18 numbers, so sampling allocates the output
plus a few MB, whatever ``m``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import cached_property
from typing import Any

import numpy as np
import scipy.fft
from scipy import integrate

from rfloc.errors import ParameterError, check_int, check_open_unit, check_positive
from rfloc.numerics import _data_kernels
from rfloc.random import SeedLike, as_generator
from rfloc.theory import covariance as _cov
from rfloc.theory.marginals import (
    REGISTRY,
    Binary,
    ErfGaussian,
    Gaussian,
    Marginal,
    StudentT,
    by_name,
)

__all__ = [
    "NLGP",
    "NORTA",
    "DataModel",
    "Elliptical",
    "GaussianProcess",
    "Ising",
    "TwoClass",
    "from_params",
    "gaussian_clone",
]

#: numbers generated per chunk (2 MB of float64)
_CHUNK = 1 << 18


def _check_dim(dim: int) -> int:
    if isinstance(dim, bool) or dim not in (1, 2):
        raise ParameterError(f"dim must be 1 (ring) or 2 (torus), got {dim!r}")
    return int(dim)


def _check_m(m: int) -> int:
    return check_int("m", m, minimum=0)


def _torus_index(side: int, dim: int) -> np.ndarray:
    """Flat index into a first row of shape ``(side,)*dim`` giving a (block-)circulant matrix."""
    i = np.arange(side)
    lag = (i[None, :] - i[:, None]) % side
    if dim == 1:
        return lag
    return (lag[:, None, :, None] * side + lag[None, :, None, :]).reshape(side**2, side**2)


_ZIG_R, _ZIG_X, _ZIG_F = _data_kernels.ziggurat_tables()


def _standard_normal(gen: np.random.Generator, out: np.ndarray) -> np.ndarray:
    """Fill the C-contiguous float64 ``out`` with standard normals and return it.

    An exact ziggurat (:func:`rfloc.numerics._data_kernels.ziggurat`) on ``gen``'s raw
    64-bit words, about 2x faster than ``gen.standard_normal``; same seed, same numbers.
    """
    bitgen = gen.bit_generator
    with bitgen.lock:
        _data_kernels.ziggurat(bitgen.ctypes.next_uint64, bitgen.ctypes.state_address,
                               _ZIG_X, _ZIG_F, _ZIG_R, out.reshape(-1))
    return out


def _freeze(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


# ====================================================================== Gaussian engine
class _CirculantGaussian:
    r"""Exact sampler of :math:`N(0, C)` for a (block-)circulant correlation :math:`C`.

    :math:`C = F^{*}\,\mathrm{diag}(\lambda)\,F / N` with :math:`F` the (2D) DFT and
    :math:`\lambda = \mathrm{fft}(c)` the spectrum of its first row :math:`c`. Draw
    :math:`\varepsilon = a + ib` with :math:`a, b \sim N(0, I_N)` and set
    :math:`y = F\,\mathrm{diag}(\sqrt{\lambda/N})\,\varepsilon`: then
    :math:`\mathrm{Re}\,y` and :math:`\mathrm{Im}\,y` are two *independent*
    :math:`N(0, C)` draws (:math:`E[yy^*] = 2C`, :math:`E[yy^T] = 0`). Cost: N normals
    and half a complex FFT, :math:`O(N\log N)`, per sample.

    The ring kernel :math:`e^{-d^2/\xi^2}` is not positive semi-definite when
    :math:`\xi` is comparable to ``n`` (e.g. ``n = 40, xi = 10`` has
    :math:`\lambda_{\min} \approx -0.03`); negative eigenvalues are clipped to 0 and the
    spectrum rescaled to mean 1 (unit variance). ``covariance`` is then the correlation
    actually sampled, and ``clipped`` the removed fraction :math:`\sum\lambda_-/N`
    (0 for the reference kernels, which are positive definite). On a torus the 1D
    spectrum is clipped first, so the 2D correlation stays a Kronecker product.
    """

    def __init__(self, spectrum: np.ndarray, clipped: float = 0.0,
                 first_row: np.ndarray | None = None) -> None:
        self.shape = spectrum.shape
        self.n = spectrum.size
        self.spectrum = spectrum
        self.clipped = clipped
        self._first_row = first_row
        self._amp = np.sqrt(spectrum / self.n).ravel()
        self._axes = tuple(range(1, spectrum.ndim + 1))

    @staticmethod
    def _clip(spectrum: np.ndarray) -> tuple[np.ndarray, float]:
        neg = float(-spectrum[spectrum < 0].sum()) / spectrum.size
        if neg == 0.0:
            return np.maximum(spectrum, 0.0), 0.0
        pos = np.maximum(spectrum, 0.0)
        return pos * (spectrum.size / pos.sum()), neg

    @classmethod
    def from_ring(cls, row: np.ndarray, dim: int) -> _CirculantGaussian:
        """From the first row (n,) of a symmetric circulant 1D correlation."""
        lam, clipped = cls._clip(np.fft.fft(row).real)
        if clipped:
            row = np.fft.ifft(lam).real
        if dim == 2:
            return cls(np.multiply.outer(lam, lam), clipped, np.multiply.outer(row, row))
        return cls(lam, clipped, row)

    @classmethod
    def from_first_row(cls, first: np.ndarray) -> _CirculantGaussian:
        """From a first row of shape ``(side,)`` or ``(side, side)`` (general torus)."""
        lam, clipped = cls._clip(np.fft.fftn(first).real)
        return cls(lam, clipped, np.fft.ifftn(lam).real if clipped else first)

    def covariance(self) -> np.ndarray:
        """Dense (N, N) correlation matrix that :meth:`fill` samples."""
        return self._first_row.ravel()[_torus_index(self.shape[0], len(self.shape))]

    def pairs(self, k: int, gen: np.random.Generator, work: np.ndarray) -> np.ndarray:
        """``h = ceil(k/2)`` complex rows (h, N): their real and imaginary parts are 2h
        independent :math:`N(0, C)` fields. ``work``: float64 scratch of >= 2hN entries."""
        half = (k + 1) // 2
        eps = _standard_normal(gen, work[: 2 * half * self.n]).view(np.complex128)
        eps = eps.reshape(half, self.n)
        eps *= self._amp
        return scipy.fft.fftn(eps.reshape(half, *self.shape), axes=self._axes,
                              overwrite_x=True).reshape(half, self.n)

    def fill(self, block: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        """Overwrite ``block`` (k, N) with k independent :math:`N(0, C)` rows."""
        y = self.pairs(block.shape[0], gen, work)
        half = y.shape[0]
        block[:half] = y.real
        block[half:] = y.imag[: block.shape[0] - half]

    def sqrt_apply(self, g: np.ndarray) -> np.ndarray:
        r""":math:`C^{1/2} g` for white rows ``g`` (k, N), :math:`C^{1/2}` the symmetric root."""
        axes = self._axes
        gs = g.reshape(g.shape[0], *self.shape)
        half_spec = np.sqrt(self.spectrum[..., : self.shape[-1] // 2 + 1])
        z = scipy.fft.irfftn(scipy.fft.rfftn(gs, axes=axes) * half_spec, s=self.shape,
                             axes=axes)
        return z.reshape(g.shape)


# ====================================================================== base class
class DataModel(ABC):
    """A zero-mean, unit-pixel-variance random field on a ring or torus (see module doc)."""

    side: int
    dim: int

    @property
    def n(self) -> int:
        """Number of pixels ``N = side**dim``."""
        return self.side**self.dim

    @property
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-serialisable parameters; :func:`from_params` rebuilds the model."""

    @property
    @abstractmethod
    def marginal(self) -> Marginal | None:
        """Theory-layer law of one pixel."""

    @abstractmethod
    def _covariance(self) -> np.ndarray:
        """Dense (N, N) covariance (computed once by :attr:`covariance`)."""

    @abstractmethod
    def describe(self) -> str:
        """One line naming the model and its parameters."""

    @abstractmethod
    def _fill_rows(self, out: np.ndarray, rows: np.ndarray | None,
                   gen: np.random.Generator) -> None:
        """Overwrite ``out[rows]`` (all rows if None) with independent samples."""

    @cached_property
    def covariance(self) -> np.ndarray:
        """Exact pixel covariance of the sampled field, shape (N, N), read-only."""
        return _freeze(np.ascontiguousarray(self._covariance(), dtype=np.float64))

    def sample(self, m: int, rng: SeedLike = None) -> np.ndarray:
        """``m`` independent samples, float64 array of shape (m, N).

        Parameters
        ----------
        m : int
            Number of samples, ``m >= 0``.
        rng : int, SeedSequence or numpy.random.Generator, optional
            Randomness; the same seed gives the same samples.
        """
        m = _check_m(m)
        out = np.empty((m, self.n), dtype=np.float64)
        self._fill_rows(out, None, as_generator(rng))
        return out

    def __repr__(self) -> str:
        return self.describe()


class _Blockwise(DataModel):
    """A model that fills contiguous blocks of rows (:meth:`_fill`), chunk by chunk."""

    @abstractmethod
    def _fill(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        """Overwrite ``out`` (k, N), C-contiguous, with k independent samples.

        ``work`` is float64 scratch of ``(k + 1) * N`` entries, reused across chunks so
        that sampling does not allocate (and page-fault) fresh memory per chunk.
        """

    def _fill_rows(self, out: np.ndarray, rows: np.ndarray | None,
                   gen: np.random.Generator) -> None:
        total = out.shape[0] if rows is None else rows.size
        chunk = max(1, min(_CHUNK // self.n, total))
        work = np.empty((chunk + 1) * self.n)
        buf = None if rows is None else np.empty((chunk, self.n))
        for a in range(0, total, chunk):
            b = min(a + chunk, total)
            if rows is None:
                self._fill(out[a:b], gen, work)
            else:
                block = buf[: b - a]
                self._fill(block, gen, work)
                out[rows[a:b]] = block


def _marginal_params(marginal: Marginal) -> dict[str, Any]:
    return {"name": marginal.name, **marginal.params}


def _marginal_from_params(spec: dict[str, Any]) -> Marginal:
    spec = dict(spec)
    name = spec.pop("name")
    if name not in REGISTRY or len(spec) > 1:
        raise ParameterError(
            f"marginal {name!r} is user-defined and cannot be rebuilt from params; "
            f"named marginals are {sorted(REGISTRY)}")
    return by_name(name, *spec.values())


# ====================================================================== copula models
class _Copula(_Blockwise):
    """Common part of NLGP and NORTA: ``x_i = f(z_i)``, ``z ~ N(0, C_xi)`` via FFT."""

    def __init__(self, n: int, xi: float, dim: int) -> None:
        self.side = check_int("n", n, minimum=2)
        self.xi = check_positive("xi", xi)
        self.dim = _check_dim(dim)
        self._latent = _CirculantGaussian.from_ring(_cov.gaussian_kernel(self.side, self.xi)[0],
                                                    self.dim)

    @property
    def latent_covariance(self) -> np.ndarray:
        r"""Correlation of the latent Gaussian :math:`z` (the clipped ring kernel), (N, N)."""
        return self._latent.covariance()

    @property
    def clipped(self) -> float:
        """Fraction of the kernel's spectrum removed by clipping negative eigenvalues."""
        return self._latent.clipped



class NLGP(_Copula):
    r"""Nonlinear Gaussian process NLGP(g) (IG22) on a ring or torus.

    .. math:: z \sim N(0, C_\xi),\quad C_\xi(d) = e^{-d^2/\xi^2}, \qquad
              x_i = \mathrm{erf}(g z_i) / Z(g),\quad
              Z(g)^2 = \tfrac2\pi \arcsin\tfrac{2g^2}{1+2g^2},

    with covariance :math:`\Sigma = \tfrac2\pi\arcsin(2g^2 C_\xi/(1+2g^2))/Z(g)^2`
    (:func:`rfloc.theory.covariance.nlgp_map`). Convention: the gain multiplies
    :math:`z` directly; IG22's :math:`\mathrm{erf}(g z/\sqrt2)` is this model at
    :math:`g/\sqrt2`. ``g -> 0`` is Gaussian, ``g -> inf`` gives ±1 pixels.

    Parameters
    ----------
    n : int
        Pixels per side, ``n >= 2``.
    xi : float
        Correlation length, ``xi > 0``.
    g : float
        Gain, ``g > 0``.
    dim : {1, 2}
        Ring or ``n × n`` torus (separable kernel).
    """

    def __init__(self, n: int, xi: float, g: float, dim: int = 1) -> None:
        self.g = check_positive("g", g)
        super().__init__(n, xi, dim)
        self._marginal = ErfGaussian(self.g)
        self._scale = 1.0 / self._marginal.z_norm

    @property
    def marginal(self) -> ErfGaussian:
        return self._marginal

    @property
    def params(self) -> dict[str, Any]:
        return {"model": "nlgp", "n": self.side, "xi": self.xi, "g": self.g, "dim": self.dim}

    def _covariance(self) -> np.ndarray:
        return _cov.nlgp_map(self.latent_covariance, self.g)

    def _fill(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        _data_kernels.erf_pixels(self._latent.pairs(out.shape[0], gen, work), self.g,
                                 self._scale, out)

    def describe(self) -> str:
        return (f"NLGP(n={self.side}, xi={self.xi:g}, g={self.g:g}, dim={self.dim}): "
                f"x = erf(g z)/Z(g), z ~ GP(exp(-d^2/xi^2)), N={self.n}")


class NORTA(_Copula):
    r"""Gaussian copula ("NORTA") field with any theory marginal, e.g. Kur(k).

    .. math:: z \sim N(0, C_\xi), \qquad x_i = f(z_i) = Q(\Phi(z_i)),

    :math:`f` = ``marginal.gaussian_transform`` (the marginal's quantile of the normal
    CDF, already standardised to unit variance). The covariance
    :math:`\Sigma_{ij} = E[f(z_i) f(z_j)]` is a function of :math:`C_{\xi,ij}` alone,
    computed by :func:`rfloc.theory.covariance.norta_covariance` (~1e-12 accurate; a
    few seconds for a 2D torus with a slow quantile such as Student-t).

    Parameters
    ----------
    n : int
        Pixels per side, ``n >= 2``.
    xi : float
        Correlation length, ``xi > 0``.
    marginal : rfloc.theory.Marginal
        Pixel law: ``Algebraic(k)`` (Kur(k)), ``Uniform()``, ``Laplace()``, ``Binary()``,
        ``Gaussian()``, ``StudentT(nu)``, or a user-defined marginal.
    dim : {1, 2}
        Ring or ``n × n`` torus.
    """

    def __init__(self, n: int, xi: float, marginal: Marginal, dim: int = 1) -> None:
        if not isinstance(marginal, Marginal):
            raise ParameterError(
                f"marginal must be an rfloc.theory.Marginal, got {type(marginal).__name__}")
        super().__init__(n, xi, dim)
        self._marginal = marginal

    @property
    def marginal(self) -> Marginal:
        return self._marginal

    @property
    def params(self) -> dict[str, Any]:
        return {"model": "norta", "n": self.side, "xi": self.xi,
                "marginal": _marginal_params(self._marginal), "dim": self.dim}

    def _covariance(self) -> np.ndarray:
        return _cov.norta_covariance(self.latent_covariance, self._marginal)

    def _fill(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        self._latent.fill(out, gen, work)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[...] = self._marginal.gaussian_transform(out)

    def describe(self) -> str:
        return (f"NORTA(n={self.side}, xi={self.xi:g}, marginal={self._marginal!r}, "
                f"dim={self.dim}): x = Q(Phi(z)), z ~ GP(exp(-d^2/xi^2)), N={self.n}")


# ====================================================================== Gaussian process
class GaussianProcess(_Blockwise):
    r"""Zero-mean Gaussian field with a given correlation matrix (the Gaussian control).

    If ``cov`` is circulant (``dim=1``) or block-circulant with circulant blocks
    (``dim=2``, a torus) — as for every translation-invariant model here — samples come
    from the FFT of its first row (:class:`_CirculantGaussian`, negative eigenvalues
    clipped); otherwise from the dense symmetric square root
    :math:`C^{1/2} = V\,\mathrm{diag}(\sqrt{\max(\lambda, 0)})\,V^T`.

    Parameters
    ----------
    cov : array_like, shape (N, N)
        Symmetric positive semi-definite matrix with unit diagonal (a correlation matrix:
        pixels have unit variance). Eigenvalues below ``-1e-8 * max`` are rejected.
    dim : {1, 2}
        ``2``: pixels form a ``sqrt(N) × sqrt(N)`` torus (N must be a square).
    """

    def __init__(self, cov: np.ndarray, dim: int = 1) -> None:
        c = np.asarray(cov, dtype=np.float64)
        self.dim = _check_dim(dim)
        if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2:
            raise ParameterError(f"cov must be a square (N, N) matrix with N >= 2, "
                                 f"got shape {c.shape}")
        side = math.isqrt(c.shape[0]) if self.dim == 2 else c.shape[0]
        if side**self.dim != c.shape[0] or side < 2:
            raise ParameterError(f"cov of shape {c.shape} is incompatible with dim=2: "
                                 f"N must be a square side**2 with side >= 2")
        if not np.all(np.isfinite(c)) or not np.allclose(c, c.T, rtol=0, atol=1e-12):
            raise ParameterError("cov must be finite and symmetric")
        if not np.allclose(np.diag(c), 1.0, rtol=0, atol=1e-10):
            raise ParameterError("cov must have unit diagonal (pixels of unit variance); "
                                 "rescale it to a correlation matrix")
        self.side = side
        first = c[0].reshape((side,) * self.dim)
        self._origin: DataModel | None = None
        if np.allclose(first.ravel()[_torus_index(side, self.dim)], c, rtol=0, atol=1e-12):
            self._latent: _CirculantGaussian | None = _CirculantGaussian.from_first_row(first)
            if self._latent.clipped > 1e-8:
                raise ParameterError(
                    f"cov must be positive semi-definite: its spectrum has negative mass "
                    f"{self._latent.clipped:.3g}")
            self._cov = c
        else:
            self._latent = None
            lam, vec = np.linalg.eigh(c)
            if lam[0] < -1e-8 * lam[-1]:
                raise ParameterError(
                    f"cov must be positive semi-definite, smallest eigenvalue {lam[0]:.3g}")
            self._root = (vec * np.sqrt(np.maximum(lam, 0.0))) @ vec.T
            self._cov = c

    @property
    def circulant(self) -> bool:
        """True when sampling uses the FFT (translation-invariant covariance)."""
        return self._latent is not None

    @property
    def marginal(self) -> Gaussian:
        return Gaussian()

    @property
    def params(self) -> dict[str, Any]:
        if self._origin is not None:
            return {"model": "gaussian-clone", "of": self._origin.params}
        return {"model": "gaussian-process", "cov": self._cov.tolist(), "dim": self.dim}

    def _covariance(self) -> np.ndarray:
        return self._cov

    def _fill(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        if self._latent is not None:
            self._latent.fill(out, gen, work)
        else:
            white = _standard_normal(gen, work[: out.size].reshape(out.shape))
            np.matmul(white, self._root, out=out)

    def describe(self) -> str:
        how = "FFT" if self.circulant else "dense square root"
        if self._origin is not None:
            return f"Gaussian clone of [{self._origin.describe()}] ({how}, N={self.n})"
        return f"GaussianProcess(N={self.n}, dim={self.dim}, {how})"


def gaussian_clone(model: DataModel | TwoClass) -> GaussianProcess | TwoClass:
    """The Gaussian field with the same covariance as ``model`` (IG22's control).

    A :class:`TwoClass` task is cloned class by class (same ``p``).
    """
    if isinstance(model, TwoClass):
        return TwoClass(gaussian_clone(model.positive), gaussian_clone(model.negative),
                        p=model.p)
    if not isinstance(model, DataModel):
        raise ParameterError(f"model must be a DataModel or TwoClass, got {model!r}")
    clone = GaussianProcess(model.covariance, dim=model.dim)
    clone._origin = model
    return clone


# ====================================================================== Ising ring
class Ising(DataModel):
    r"""Periodic 1D Ising ring at zero field, sampled exactly (no Markov chain).

    .. math:: P(s) \propto \exp\Big(J \sum_{i=0}^{n-1} s_i s_{i+1}\Big),
              \quad s_n \equiv s_0, \qquad
              \mathrm{Cov}(s_i, s_{i+d}) = \frac{t^d + t^{n-d}}{1 + t^n},\ t = \tanh J .

    Spin 0 is uniform on ±1 (zero field), then the ring is walked as a Markov bridge
    that closes the periodic boundary exactly:
    :math:`P(s_{i+1} \mid s_i, s_0) \propto T(s_i, s_{i+1})\,T^{n-1-i}(s_{i+1}, s_0)`
    with the transfer matrix :math:`T(a, b) = e^{Jab}`,
    :math:`T^k(a, b) = \tfrac12\lambda_+^k(1 + ab\,t^k)`. With :math:`x = e^{-2J}`,
    :math:`t_k = t^k`, the flip probabilities are

    .. math:: q_k(+) = \frac{x(1 - t_k)}{1 + t_k + x(1 - t_k)}, \qquad
              q_k(-) = \frac{x(1 + t_k)}{1 - t_k + x(1 + t_k)}

    for :math:`s_i = s_0` (+) and :math:`s_i \ne s_0` (−). Samples are independent,
    O(n) each, drawn by a Numba kernel (16 random bits per spin on average, the tabulated
    probabilities realised to :math:`2^{-64}`; see :mod:`rfloc.numerics._data_kernels`).

    There is no 2D Ising model here: a 2D torus has no exact sampler of this kind, and a
    cluster Monte Carlo would need its own decorrelation checks.

    Parameters
    ----------
    n : int
        Number of spins, ``n >= 2``.
    J : float
        Coupling, finite and ``>= 0`` (ferromagnetic).

    Attributes
    ----------
    flip_probability : ndarray, shape (n, 2)
        :math:`q_k(+)`, :math:`q_k(-)` by remaining bonds ``k`` (row 0 unused); the
        sampler realises each as :math:`\lfloor q\,2^{64}\rfloor / 2^{64}`.
    """

    dim = 1

    def __init__(self, n: int, J: float) -> None:
        self.side = check_int("n", n, minimum=2)
        self.J = check_positive("J", J, strict=False)
        k = np.arange(1, self.side, dtype=np.float64)                  # remaining bonds
        x = math.exp(-2.0 * self.J)
        log_t = -2.0 * math.atanh(x) if x < 1.0 else -math.inf         # log tanh J
        tk = np.exp(k * log_t)
        one_minus = -np.expm1(k * log_t)                                # 1 - t^k
        # (1 - t^k)/x -> 2k as x -> 0 (x underflows for J beyond ~370)
        ratio = np.divide(one_minus, x, out=2.0 * k, where=x > 0.0)
        q = np.zeros((self.side, 2))                                    # row k = 0 unused
        q[1:, 0] = x * one_minus / (1.0 + tk + x * one_minus)
        q[1:, 1] = (1.0 + tk) / (ratio + 1.0 + tk)
        thr = np.floor(q * 2.0**64).astype(np.uint64)
        self._lead = (thr >> np.uint64(48)).astype(np.int64)
        self._low = thr & np.uint64((1 << 48) - 1)
        self.flip_probability = _freeze(q)

    @property
    def marginal(self) -> Binary:
        return Binary()

    @property
    def params(self) -> dict[str, Any]:
        return {"model": "ising", "n": self.side, "J": self.J}

    def _covariance(self) -> np.ndarray:
        return _cov.ising_covariance(self.side, self.J)

    def _fill_rows(self, out: np.ndarray, rows: np.ndarray | None,
                   gen: np.random.Generator) -> None:
        idx = np.arange(out.shape[0]) if rows is None else rows
        bitgen = gen.bit_generator
        with bitgen.lock:
            _data_kernels.ising_ring(bitgen.ctypes.next_uint64, bitgen.ctypes.state_address,
                                     self._lead, self._low, idx, out)

    def describe(self) -> str:
        return (f"Ising(n={self.side}, J={self.J:g}): periodic ring, exact transfer-matrix "
                f"sampling, tanh J = {math.tanh(self.J):.4g}")


# ====================================================================== elliptical
_RADIAL = ("shell", "student-t")


class Elliptical(_Blockwise):
    r"""Elliptical field :math:`x = r\,L u` with unit pixel variance (the second control).

    :math:`u` is uniform on the sphere :math:`S^{N-1}`, :math:`LL^T = C_\xi` (the FFT
    square root, as for :class:`NLGP`), :math:`r \ge 0` independent of :math:`u`, and
    :math:`E[r^2] = N` so that :math:`\mathrm{Cov}(x) = C_\xi`. Radial laws:

    - ``"shell"``: :math:`r = \sqrt N`;
    - ``"student-t"``: multivariate Student-t,
      :math:`x = \sqrt{(\nu - 2)/\chi^2_\nu}\;L g`, :math:`g \sim N(0, I)`, ``nu > 2``;
    - a callable: the inverse CDF :math:`F_r^{-1}(u)` of :math:`r` (vectorised over
      ``u`` in (0, 1)); :math:`r` is rescaled by :math:`\sqrt{N / E[r^2]}`
      (:math:`E[r^2]` by quadrature).

    Sampling: :math:`x = s\,C^{1/2} g` with :math:`g \sim N(0, I_N)` and the per-sample
    scale :math:`s = r/\lVert g \rVert` (so :math:`C^{1/2} g/\lVert g\rVert = L u`).

    Pixel law: :math:`x_i = r\,v_i` with :math:`v_i \sim u_1` (one coordinate of the
    uniform sphere), hence :math:`E[x_i^4] = 3 E[r^4]/(N(N+2))`
    (:meth:`excess_kurtosis`). ``marginal`` is :class:`StudentT` for ``"student-t"`` and
    None otherwise (the shell pixel is :math:`\sqrt N u_1`, a scaled symmetric Beta law
    with no theory object). Whatever the pixel law, elliptical data have a *linear*
    localization amplifier (THEORY.md §3), so a pixel-marginal amplifier does not apply.

    Parameters
    ----------
    n : int
        Pixels per side, ``n >= 2``.
    xi : float
        Correlation length, ``xi > 0``.
    radial : {"shell", "student-t"} or callable
        The radial law.
    nu : float, optional
        Degrees of freedom (``nu > 2``), only for ``"student-t"``.
    dim : {1, 2}
        Ring or ``n × n`` torus.
    """

    def __init__(self, n: int, xi: float, radial: str | Callable[[np.ndarray], np.ndarray]
                 = "shell", nu: float | None = None, dim: int = 1) -> None:
        self.side = check_int("n", n, minimum=2)
        self.xi = check_positive("xi", xi)
        self.dim = _check_dim(dim)
        self.radial = radial
        self.nu = None
        if radial == "student-t":
            if nu is None:
                raise ParameterError("nu must be given (nu > 2) for radial='student-t'")
            self.nu = check_positive("nu", nu)
            if self.nu <= 2:
                raise ParameterError(f"nu must be > 2 (finite variance), got {nu!r}")
        elif nu is not None:
            raise ParameterError("nu is only used with radial='student-t'")
        elif callable(radial):
            r2, r4 = (self._radial_moment(radial, p) for p in (2, 4))
            if not (math.isfinite(r2) and r2 > 0):
                raise ParameterError("radial inverse CDF must give 0 < E[r^2] < inf")
            self._radial_scale = math.sqrt(self.n / r2)
            self._r4_over_r2sq = r4 / r2**2
        elif radial != "shell":
            raise ParameterError(
                f"radial must be one of {_RADIAL} or a callable inverse CDF, got {radial!r}")
        self._latent = _CirculantGaussian.from_ring(_cov.gaussian_kernel(self.side, self.xi)[0],
                                                    self.dim)

    @staticmethod
    def _radial_moment(inv_cdf: Callable[[np.ndarray], np.ndarray], power: int) -> float:
        def integrand(u: float) -> float:
            return float(np.asarray(inv_cdf(np.array([u])), dtype=np.float64)[0]) ** power
        return integrate.quad(integrand, 0.0, 1.0, limit=200)[0]

    @property
    def marginal(self) -> StudentT | None:
        return StudentT(self.nu) if self.radial == "student-t" else None

    def excess_kurtosis(self) -> float:
        r"""Pixel excess kurtosis :math:`3N\,E[r^4]/((N+2)E[r^2]^2) - 3`.

        Shell: :math:`-6/(N+2)`; Student-t: :math:`6/(\nu-4)` (``inf`` for ``nu <= 4``).
        """
        n = self.n
        if self.radial == "shell":
            return -6.0 / (n + 2)
        if self.radial == "student-t":
            return 6.0 / (self.nu - 4.0) if self.nu > 4 else math.inf
        return 3.0 * n / (n + 2) * self._r4_over_r2sq - 3.0

    @property
    def params(self) -> dict[str, Any]:
        radial = self.radial if isinstance(self.radial, str) else (
            "callable:" + getattr(self.radial, "__name__", "inverse_cdf"))
        return {"model": "elliptical", "n": self.side, "xi": self.xi, "radial": radial,
                "nu": self.nu, "dim": self.dim}

    def _covariance(self) -> np.ndarray:
        return self._latent.covariance()

    def _fill(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        k = out.shape[0]
        g = _standard_normal(gen, work[: k * self.n].reshape(k, self.n))
        if self.radial == "student-t":
            scale = np.sqrt((self.nu - 2.0) / gen.chisquare(self.nu, size=k))
        else:
            r = math.sqrt(self.n) if self.radial == "shell" else self._radial_scale * np.asarray(
                self.radial(gen.random(k)), dtype=np.float64)
            scale = r / np.linalg.norm(g, axis=1)
        np.multiply(self._latent.sqrt_apply(g), scale[:, None], out=out)

    def describe(self) -> str:
        radial = self.params["radial"] + (f"(nu={self.nu:g})" if self.nu else "")
        return (f"Elliptical(n={self.side}, xi={self.xi:g}, radial={radial}, dim={self.dim}): "
                f"x = r L u, N={self.n}")


# ====================================================================== two-class task
class TwoClass:
    r"""The labelled task: :math:`y \sim \mathrm{Bernoulli}(p)`, :math:`x \mid y` from a model.

    Class 1 (``positive``, the longer correlation length in the reference tasks) has
    probability ``p``; class 0 is ``negative``. :meth:`sample` draws each label
    independently, so the class proportion is ``p`` exactly in expectation and rows are
    exchangeable; the rows of each class are filled in vectorised chunks.

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
        m = _check_m(m)
        gen = as_generator(rng)
        X = np.empty((m, self.n), dtype=np.float64)
        pos, neg = self.positive, self.negative
        if type(pos) is Ising and type(neg) is Ising:
            # one kernel call, same random stream as the general path below
            y = np.empty(m, dtype=np.float64)
            bitgen = gen.bit_generator
            with bitgen.lock:
                _data_kernels.ising_two_class(
                    bitgen.ctypes.next_uint64, bitgen.ctypes.next_double,
                    bitgen.ctypes.state_address, self.p, pos._lead, pos._low, neg._lead,
                    neg._low, X, y)
            return X, y
        y = (gen.random(m) < self.p).astype(np.float64)
        for label, model in ((1.0, self.positive), (0.0, self.negative)):
            rows = np.flatnonzero(y == label)
            if rows.size:
                model._fill_rows(X, rows, gen)
        return X, y

    def gaussian_clone(self) -> TwoClass:
        """Both classes replaced by their Gaussian clones (same covariances, same ``p``)."""
        return gaussian_clone(self)

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
    def norta(cls, marginal: Marginal, n: int = 40, xi: tuple[float, float] = (3.0, 1.0),
              p: float = 0.5, dim: int = 1) -> TwoClass:
        """Copula classes with a common marginal (e.g. ``Algebraic(k)`` for Kur(k))."""
        return cls(NORTA(n, xi[0], marginal, dim), NORTA(n, xi[1], marginal, dim), p)

    @classmethod
    def elliptical(cls, radial: str | Callable[[np.ndarray], np.ndarray] = "shell",
                   nu: float | None = None, n: int = 40,
                   xi: tuple[float, float] = (3.0, 1.0), p: float = 0.5,
                   dim: int = 1) -> TwoClass:
        """Elliptical classes with a common radial law (the no-localization control)."""
        return cls(Elliptical(n, xi[0], radial, nu, dim), Elliptical(n, xi[1], radial, nu, dim),
                   p)


# ====================================================================== rebuild
def from_params(params: dict[str, Any]) -> DataModel | TwoClass:
    """Rebuild a model or task from its ``params`` (e.g. read back from results.json)."""
    try:
        kind = params["model"]
        if kind == "two-class":
            return TwoClass(from_params(params["positive"]), from_params(params["negative"]),
                            params["p"])
        if kind == "gaussian-clone":
            return gaussian_clone(from_params(params["of"]))
        if kind == "gaussian-process":
            return GaussianProcess(np.asarray(params["cov"]), params["dim"])
        if kind == "nlgp":
            return NLGP(params["n"], params["xi"], params["g"], params["dim"])
        if kind == "norta":
            return NORTA(params["n"], params["xi"], _marginal_from_params(params["marginal"]),
                         params["dim"])
        if kind == "ising":
            return Ising(params["n"], params["J"])
        if kind == "elliptical":
            if params["radial"] not in _RADIAL:
                raise ParameterError("an Elliptical model with a callable radial law cannot "
                                     "be rebuilt from params")
            return Elliptical(params["n"], params["xi"], params["radial"], params["nu"],
                              params["dim"])
    except (KeyError, TypeError) as exc:
        raise ParameterError(f"params is not a data-model description: {exc!r}") from None
    raise ParameterError(f"params['model'] must name a data model, got {kind!r}")
