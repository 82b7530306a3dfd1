r"""Numba kernels of the fast field sampler: normals, a circulant root, a tabulated map.

One sample of a ``side**dim``-pixel field is

.. math:: x = f(R\,g), \qquad g \sim N(0, I_N),

with :math:`R` the symmetric (block-)circulant square root of the latent correlation
(``dim = 2``: :math:`R = R_1 \otimes R_1`, applied along rows then columns) and
:math:`f` a tabulated pixel map (:mod:`._pixel_table`). :math:`R_1` is symmetric,
:math:`r_{-d} = r_d`, and acts through its lags :math:`0 \dots D` (``taps``): on a ring,

.. math:: (R_1 g)_i = r_0 g_i + \sum_{d=1}^{D} r_d\,(g_{i+d} + g_{i-d}),
          \quad \text{indices mod } n,

read from a copy of :math:`g` padded by :math:`D` wrapped entries on each side (``pad``,
``n + 2D`` entries); :math:`D + 1` multiply-adds and :math:`D` adds per pixel.
Normals come from the ziggurat of :mod:`._kernels` on the caller's bit generator (the
caller holds its lock). Kernels check nothing.
"""

from __future__ import annotations

import numpy as np

from rfloc.numerics._jit import kernel, sums
from rfloc.numerics.data._kernels import ziggurat
from rfloc.numerics.data._pixel_table import pixel

__all__ = ["circulant_root", "draw_field", "field_rows", "table_pixels", "wrap_line"]


@kernel(inline="always")
def wrap_line(src: np.ndarray, start: int, stride: int, n: int, half: int,
              pad: np.ndarray) -> None:
    """``pad[k] = src[start + ((k - half) mod n) * stride]`` for ``k < n + 2 half``
    (``half <= n``): the line, with ``half`` wrapped entries before and after it."""
    for k in range(half):
        pad[k] = src[start + (n - half + k) * stride]
    for k in range(n):
        pad[half + k] = src[start + k * stride]
    for k in range(half):
        pad[half + n + k] = src[start + k * stride]


@sums
def circulant_root(taps: np.ndarray, pad: np.ndarray, out: np.ndarray) -> None:
    """``out[i] = taps[0] pad[i + D] + sum_{d=1}^{D} taps[d] (pad[i + D + d] + pad[i + D - d])``.

    Lag by lag over contiguous slices of ``pad``, so the inner loop vectorises.
    """
    half = taps.shape[0] - 1
    n = out.shape[0]
    t0 = taps[0]
    for i in range(n):
        out[i] = t0 * pad[i + half]
    for d in range(1, half + 1):
        t = taps[d]
        lo = pad[half - d: half - d + n]
        hi = pad[half + d: half + d + n]
        for i in range(n):
            out[i] += t * (hi[i] + lo[i])


@kernel
def draw_field(next_u64, state: int, xt: np.ndarray, ft: np.ndarray, r: float,
               taps: np.ndarray, side: int, dim: int, coef: np.ndarray, inv_h: float,
               g: np.ndarray, h: np.ndarray, pad: np.ndarray, line: np.ndarray,
               x: np.ndarray) -> None:
    r"""One sample ``x`` (N,) :math:`= f(Rg)` (module docstring).

    ``xt, ft, r``: ziggurat tables; ``taps`` (D + 1,): the root's lags :math:`0 \dots D`;
    ``coef`` (cells, 8) and ``inv_h``: the pixel table; scratch ``g``, ``h`` (N,),
    ``pad`` (side + 2D,), ``line`` (side,).
    """
    half = taps.shape[0] - 1
    ziggurat(next_u64, state, xt, ft, r, g)
    if dim == 1:
        wrap_line(g, 0, 1, side, half, pad)
        circulant_root(taps, pad, h)
    else:
        for row in range(side):
            wrap_line(g, row * side, 1, side, half, pad)
            circulant_root(taps, pad, h[row * side:(row + 1) * side])
        for col in range(side):
            wrap_line(h, col, side, side, half, pad)
            circulant_root(taps, pad, line)
            for i in range(side):
                h[col + i * side] = line[i]
    for i in range(x.shape[0]):
        x[i] = pixel(h[i], coef, inv_h)


@kernel
def field_rows(next_u64, state: int, xt: np.ndarray, ft: np.ndarray, r: float,
               taps: np.ndarray, side: int, dim: int, coef: np.ndarray, inv_h: float,
               out: np.ndarray) -> None:
    """Fill every row of ``out`` (M, N) with an independent :func:`draw_field` sample."""
    n = out.shape[1]
    g = np.empty(n)
    h = np.empty(n)
    pad = np.empty(side + 2 * (taps.shape[0] - 1))
    line = np.empty(side)
    for row in range(out.shape[0]):
        draw_field(next_u64, state, xt, ft, r, taps, side, dim, coef, inv_h, g, h, pad,
                   line, out[row])


@kernel
def table_pixels(y: np.ndarray, coef: np.ndarray, inv_h: float, out: np.ndarray) -> None:
    r"""The tabulated map fused with unpacking FFT output: ``out = f([Re y; Im y])``.

    ``y`` (h, N) complex128 holds two Gaussian fields per row (real and imaginary
    parts); ``out`` (k, N), ``h <= k <= 2h``, receives the k fields.
    """
    h, n = y.shape
    for r in range(h):
        for j in range(n):
            out[r, j] = pixel(y[r, j].real, coef, inv_h)
    for r in range(out.shape[0] - h):
        for j in range(n):
            out[h + r, j] = pixel(y[r, j].imag, coef, inv_h)
