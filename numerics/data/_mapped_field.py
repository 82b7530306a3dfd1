r"""Fields with pointwise non-Gaussian pixels :math:`x_i = f(z_i)`, sampled at the per-core limit.

Per sample the unavoidable work is N normals, one correlated transform and N pointwise
maps. :class:`MappedField` does exactly that:

- the map :math:`f` is the marginal's Gaussian transform tabulated once per model
  (:func:`._pixel_table.tabulate`, error at most 1e-12 relative, checked when built);
- the correlated transform is chosen by size: the symmetric circulant root
  :math:`R = C^{1/2}` (``dim = 2``: :math:`R_1 \otimes R_1`) applied as a convolution with
  its significant lags :math:`0 \dots D` when :math:`D < ` :data:`MAX_HALF_TAPS` —
  :math:`O(ND)`, no
  complex arithmetic, one sample at a time in a Numba kernel — or, where it takes fewer
  multiply-adds (``side + 1 <= 2(2D + 1)``, e.g. N = 40), the triangular factor
  :math:`L` with :math:`LL^T = R_1R_1^T` (:func:`lower_factor`, same law); else the FFT of
  :class:`._circulant_gaussian.CirculantGaussian` (:math:`O(N \log N)`), followed by the
  table. The kernels draw from an inlined xoshiro256++ stream seeded with 4 words of the
  caller's generator per block (:mod:`._xoshiro`: same seed, same samples).

The root's lags are truncated where the dropped :math:`\ell_1` mass is at most
:data:`ROOT_TOL` of :math:`\sum |r_d|`, so the sampled correlation
:math:`\tilde R \tilde R^T` differs from the latent one by at most
:math:`2\,\text{ROOT\_TOL}\,(\sum|r_d|)^2` per entry (about 1e-14 for the reference kernels,
below the 1e-12 accuracy of the NORTA covariance). A marginal that cannot be tabulated is
sampled through its own ``gaussian_transform`` after the FFT (the exact path).

Open boundaries have no circulant root: the latent rows come from the dense symmetric
root (:class:`._dense_gaussian.DenseGaussian`, BLAS) and then go through the same table
(or the law's ``gaussian_transform``); :meth:`MappedField.parts` is None, so the fused
sampler, which draws circulant roots only, refuses such a field.
"""

from __future__ import annotations

from functools import cached_property
from typing import NamedTuple

import numpy as np

from rfloc.numerics.data import _field_kernels
from rfloc.numerics.data._circulant_gaussian import CirculantGaussian
from rfloc.numerics.data._kernel_field import KernelField
from rfloc.numerics.data._normal import ZIG_F, ZIG_R, ZIG_X
from rfloc.numerics.data._pixel_table import Z_MAX, evaluate, tabulate
from rfloc.numerics.data._xoshiro import seed_from

__all__ = ["MAX_HALF_TAPS", "ROOT_TOL", "FieldParts", "MappedField", "lower_factor",
           "root_taps"]

#: most lags D + 1 of a root applied by convolution in batched sampling (else FFT)
MAX_HALF_TAPS = 33
#: relative l1 mass of the circulant root dropped by the truncation
ROOT_TOL = 1e-15


class FieldParts(NamedTuple):
    """Everything a kernel needs to draw one sample :math:`x = f(Rg)` of a field.

    ``taps`` (D + 1,) float64: lags ``0 .. D`` of the symmetric ring root :math:`R_1`;
    ``coef`` (cells, 8): the pixel table, ``inv_h = cells / Z_MAX``; ``side``, ``dim``;
    ``lower`` (4 ceil(side / 4), side): the triangular factor :func:`lower_factor` of
    :math:`R_1` where it is the cheaper transform, else empty (0, side).
    """

    taps: np.ndarray
    side: int
    dim: int
    coef: np.ndarray
    inv_h: float
    lower: np.ndarray


def root_taps(row: np.ndarray) -> np.ndarray:
    r"""Significant lags of the symmetric root of a circulant correlation.

    Parameters
    ----------
    row : ndarray, shape (n,)
        First row of a symmetric positive semi-definite circulant matrix :math:`C`.

    Returns
    -------
    ndarray, shape (D + 1,)
        :math:`r_0 \dots r_D`, where :math:`r = \mathrm{ifft}(\sqrt{\max(\mathrm{fft}(c),
        0)})` is the (symmetric) first row of :math:`C^{1/2}`, with the smallest :math:`D`
        whose dropped lags carry at most :data:`ROOT_TOL` of :math:`\sum|r_d|`, or
        :math:`D = \lfloor n/2 \rfloor` (all lags; for even ``n`` the lag :math:`n/2 \equiv
        -n/2` is halved, since the kernel adds it twice).
    """
    n = row.size
    r = np.fft.ifft(np.sqrt(np.maximum(np.fft.fft(row).real, 0.0))).real
    mass = np.abs(r)
    lags = np.minimum(np.arange(n), n - np.arange(n))
    total = mass.sum()
    for d in range((n - 1) // 2 + 1):
        if mass[lags > d].sum() <= ROOT_TOL * total:
            return r[: d + 1].copy()
    taps = r[: n // 2 + 1].copy()
    if n % 2 == 0:
        taps[-1] *= 0.5
    return taps


def lower_factor(taps: np.ndarray, side: int) -> np.ndarray:
    r"""The lower-triangular :math:`L` with :math:`LL^T = R_1R_1^T`, rows padded with
    zeros to a multiple of 4.

    Parameters
    ----------
    taps : ndarray, shape (D + 1,)
        Lags of the symmetric ring root :math:`R_1` (:func:`root_taps`), ``D < side``.
    side : int

    Returns
    -------
    ndarray, shape (4 ceil(side / 4), side)
        :math:`L = U^T` from the QR factorisation :math:`R_1^T = QU` (Householder, so
        :math:`LL^T = U^TU = R_1R_1^T` to rounding even where :math:`R_1` is singular).
        :math:`Lg` and :math:`R_1 g` with :math:`g \sim N(0, I)` have the same law.
    """
    full = np.zeros(side)
    for d, t in enumerate(taps):
        full[d % side] += t
        if d:
            full[-d % side] += t
    root = full[(np.arange(side)[None, :] - np.arange(side)[:, None]) % side]
    lower = np.asarray(np.linalg.qr(root.T, mode="r")).T
    out = np.zeros((-(-side // 4) * 4, side))
    out[:side] = np.tril(lower)
    return out


class MappedField(KernelField):
    r"""A :class:`KernelField` with pixels :math:`x_i = f(z_i)`, ``f`` the marginal's
    Gaussian transform (module docstring: how it is sampled)."""

    @cached_property
    def pixel_table(self) -> np.ndarray | None:
        """The checked table (cells, 8) of ``marginal.gaussian_transform``, or None."""
        return tabulate(self.marginal)

    @cached_property
    def _root(self) -> np.ndarray:
        latent = self._latent
        assert isinstance(latent, CirculantGaussian)      # parts(): periodic fields only
        first = latent.first_row
        return root_taps(first if self.dim == 1 else first[0])

    @cached_property
    def _lower(self) -> np.ndarray:
        """:func:`lower_factor` of the root where its ``side (side + 1) / 2`` multiply-adds
        per line are fewer than the ``side (2D + 1)`` of the lags, else empty (0, side)."""
        taps, side = self._root, self.side
        if taps.size <= MAX_HALF_TAPS and side + 1 <= 2 * (2 * taps.size - 1):
            return lower_factor(taps, side)
        return np.zeros((0, side))

    def parts(self) -> FieldParts | None:
        """:class:`FieldParts` of this field (any width), or None without a pixel table or
        with open boundaries (no circulant root)."""
        coef = self.pixel_table
        if coef is None or self.boundary != "periodic":
            return None
        return FieldParts(self._root, self.side, self.dim, coef, coef.shape[0] / Z_MAX,
                          self._lower)

    def _fill_block(self, out: np.ndarray, gen: np.random.Generator, work: np.ndarray) -> None:
        parts = self.parts()
        latent = self._latent
        if parts is not None and parts.taps.size <= MAX_HALF_TAPS:
            bitgen = gen.bit_generator
            with bitgen.lock:
                state = seed_from(bitgen.ctypes.next_uint64, bitgen.ctypes.state_address)
            _field_kernels.sample_rows(state, (ZIG_X, ZIG_F, ZIG_R), parts, parts,
                                       np.ones(out.shape[0], dtype=np.bool_), out)
        elif parts is not None and isinstance(latent, CirculantGaussian):
            _field_kernels.table_pixels(latent.pairs(out.shape[0], gen, work),
                                        parts.coef, parts.inv_h, out)
        else:
            latent.fill(out, gen, work)
            coef, law = self.pixel_table, self.marginal
            if coef is None and law is not None:
                with np.errstate(divide="ignore", invalid="ignore"):
                    out[...] = law.gaussian_transform(out)
            elif coef is None:
                raise TypeError(f"{type(self).__name__} has neither a pixel table nor a law")
            else:
                flat = out.reshape(-1)
                evaluate(flat, coef, coef.shape[0] / Z_MAX, flat)
