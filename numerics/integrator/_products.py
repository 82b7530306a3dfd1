r"""How the covariances multiply the receptive fields: dense, Markov or FFT products.

Every step needs :math:`\Sigma_1 w` and :math:`\bar\Sigma w` for a block of fields. A
products object holds what its kind needs (matrices, Markov factors or spectra), hands the
kernels one :class:`~rfloc.numerics.integrator._kernels.ProductArgs`, and says how a batch
is cut into blocks for the shared drivers (:mod:`rfloc.numerics.integrator._drivers`):

- :class:`DenseProducts` — matrix products, any covariances;
- :class:`MarkovProducts` — both covariances are those of Markov chains on a ring (cyclic
  tridiagonal inverse, e.g. the Ising ring): :math:`O(N)` per product
  (:mod:`rfloc.numerics.integrator._markov`);
- :class:`FFTProducts` — both circulant on a ring, or block-circulant with circulant blocks
  on the same n-by-n torus: :math:`O(N \log N)` (:mod:`rfloc.numerics.integrator._fft`);
  one block holds the whole batch, so adaptive steps are shared by it.

:func:`select_products` checks that both covariances are positive semi-definite and picks
(``"auto"``) or checks the kind.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rfloc.errors import ParameterError
from rfloc.numerics.integrator import _fft as fft
from rfloc.numerics.integrator import _markov as markov
from rfloc.numerics.integrator._kernels import DENSE, FFT, MARKOV, ProductArgs

__all__ = ["FFT_MIN_N", "PRODUCTS", "DenseProducts", "FFTProducts", "MarkovProducts",
           "Products", "select_products"]

PRODUCTS = ("auto", "dense", "fft", "markov")
"""Accepted products names."""

FFT_MIN_N = 256
"""With ``"auto"``, circulant covariances multiply by FFT from this N on (below it, Markov
covariances are tried first)."""

_NO_MATS, _NO_TRI = np.zeros((0, 0)), np.zeros((0, markov.ROWS, 0))  # never written
_NO_DIMS = np.zeros(0, dtype=np.int64)


def _args(kind: int, mats: np.ndarray | None = None, tri: np.ndarray | None = None,
          dims: tuple[int, ...] = ()) -> ProductArgs:
    return ProductArgs(kind, _NO_MATS if mats is None else np.ascontiguousarray(mats),
                       _NO_TRI if tri is None else tri,
                       np.array(dims, dtype=np.int64) if dims else _NO_DIMS)


class Products:
    """Base of the products kinds: ``name``, :meth:`kernel_args` and the block plans."""

    name = ""
    max_block = 64

    def kernel_args(self) -> ProductArgs:
        """The arrays the kernels read."""
        raise NotImplementedError

    def fixed_blocks(self, rows: int, n: int, threads: int) -> tuple[int, int]:
        """``(rows per block, Numba threads)`` for fixed steps of ``rows`` fields: blocks
        spread over the threads, at most :attr:`max_block` rows each."""
        block = min(self.max_block, -(-rows // threads))
        return block, -(-rows // block)

    def adaptive_blocks(self, rows: int, threads: int) -> tuple[int, int]:
        """``(rows per block, Numba threads)`` for adaptive steps: one field per block, so
        that every field has its own step size."""
        return 1, min(rows, threads)


@dataclass(frozen=True, eq=False)
class DenseProducts(Products):
    """Dense products with ``cov1`` and ``covbar`` (N, N), symmetric.

    Blocks have up to 64 rows; from :data:`FFT_MIN_N` pixels one Numba thread steps them and
    BLAS (threaded itself) multiplies.
    """

    cov1: np.ndarray
    covbar: np.ndarray
    name = "dense"

    def kernel_args(self) -> ProductArgs:
        """``[cov1; covbar]`` (2N, N), kind ``DENSE``."""
        return _args(DENSE, mats=np.vstack([self.cov1, self.covbar]))

    def fixed_blocks(self, rows: int, n: int, threads: int) -> tuple[int, int]:
        """As the base class below :data:`FFT_MIN_N` pixels; one thread above."""
        if n >= FFT_MIN_N:
            return min(rows, self.max_block), 1
        return super().fixed_blocks(rows, n, threads)


@dataclass(frozen=True, eq=False)
class MarkovProducts(Products):
    """:math:`O(N)` products through the factors ``tri`` (2, ROWS, N) of ``cov1`` and
    ``cov0``, weighted ``p`` and ``1 - p`` (:func:`rfloc.numerics.integrator._markov.factor`).

    Fixed steps run on transposed blocks of up to 256 rows (wide blocks vectorise best).
    """

    tri: np.ndarray
    name = "markov"
    max_block = 256

    def kernel_args(self) -> ProductArgs:
        """The factors, kind ``MARKOV``."""
        return _args(MARKOV, tri=self.tri)


@dataclass(frozen=True, eq=False)
class FFTProducts(Products):
    """Products by FFT on the grid ``dims`` ((N,) or (n, n)) with the spectra ``eig1`` and
    ``eigbar`` of ``cov1`` and ``covbar`` (:func:`rfloc.numerics.integrator._fft.spectrum`).

    The whole batch is one block (one batched transform per stage), stepped by one thread.
    """

    dims: tuple[int, ...]
    eig1: np.ndarray
    eigbar: np.ndarray
    name = "fft"

    def kernel_args(self) -> ProductArgs:
        """The grid and the flattened spectra, kind ``FFT``."""
        return _args(FFT, mats=np.stack([self.eig1.ravel(), self.eigbar.ravel()]),
                     dims=self.dims)

    def fixed_blocks(self, rows: int, n: int, threads: int) -> tuple[int, int]:
        """One block, one thread."""
        return rows, 1

    def adaptive_blocks(self, rows: int, threads: int) -> tuple[int, int]:
        """One block (one step size for the batch), one thread."""
        return rows, 1


def select_products(cov1: np.ndarray, cov0: np.ndarray, p: float, kind: str,
                    keys: tuple[str, str]) -> Products:
    """Check both covariances are PSD; the products ``kind`` asks for or (``"auto"``)
    allows.

    ``"auto"``: Markov when both qualify and N < :data:`FFT_MIN_N` (the test costs a
    Cholesky factorisation), else FFT when both are circulant and N >= :data:`FFT_MIN_N`,
    else dense. ``keys`` identify the covariances' contents (their SHA-256 digests).
    """
    if kind not in PRODUCTS:
        raise ParameterError(f"products must be one of {PRODUCTS}, got {kind!r}")
    n = cov1.shape[0]
    if kind == "markov" or (kind == "auto" and n < FFT_MIN_N):
        f1 = markov.factor(cov1, p, key=keys[0])
        f0 = markov.factor(cov0, 1.0 - p, key=keys[1]) if f1 is not None else None
        if f1 is not None and f0 is not None:  # both positive definite (Cholesky succeeded)
            return MarkovProducts(np.stack([f1, f0]))
        if kind == "markov":
            raise ParameterError(
                "products='markov' needs cov1 and cov0 both positive definite with a cyclic "
                "tridiagonal inverse (Markov chains on a ring, e.g. ising_covariance)")
    dims1 = fft.circulant_dims(cov1) if kind in ("auto", "fft") else None
    dims0 = fft.circulant_dims(cov0) if dims1 is not None else None
    if kind == "fft" and (dims1 is None or dims0 != dims1):
        raise ParameterError(
            "products='fft' needs cov1 and cov0 both circulant on a ring of N pixels or both "
            "block-circulant with circulant blocks on the same n-by-n torus")
    if dims1 is None or dims0 != dims1:
        _check_psd("cov1", np.linalg.eigvalsh(cov1))
        _check_psd("cov0", np.linalg.eigvalsh(cov0))
        return DenseProducts(cov1, p * cov1 + (1.0 - p) * cov0)
    eig1, eig0 = fft.spectrum(cov1, dims1), fft.spectrum(cov0, dims1)
    _check_psd("cov1", eig1)
    _check_psd("cov0", eig0)
    if kind == "auto" and n < FFT_MIN_N:
        return DenseProducts(cov1, p * cov1 + (1.0 - p) * cov0)
    return FFTProducts(dims1, eig1, p * eig1 + (1.0 - p) * eig0)


def _check_psd(name: str, eigenvalues: np.ndarray) -> None:
    top = float(np.max(np.abs(eigenvalues)))
    low = float(np.min(eigenvalues))
    if low < -1e-10 * max(top, 1e-300):
        raise ParameterError(f"{name} must be positive semi-definite, its smallest eigenvalue "
                             f"is {low:.3g}")
