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

:func:`sample_rows`, the sampler, applies instead (where it is cheaper,
:func:`._mapped_field.lower_factor`) the lower-triangular :math:`L` with
:math:`LL^T = R_1R_1^T`: :math:`Lg` has the law of :math:`R_1g`, and costs
:math:`n(n+1)/2` multiply-adds per line (820 at n = 40, against 1640 operations for the
21 lags), computed four rows at a time with the sums in registers
(:func:`lower_triangular`). Its normals come from the ziggurat of :mod:`._kernels` run on
the inlined xoshiro256++ stream of :mod:`._xoshiro`, and the table's multiply-adds are
contracted (rounding only). :func:`field_rows` / :func:`draw_field`, the sampler before
(normals from the caller's NumPy bit generator, caller holding its lock; the root's
lags; IEEE table evaluation), stay as the benchmarks' baseline. Kernels check nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rfloc.numerics._jit import kernel, sums
from rfloc.numerics.data import _xoshiro as xoshiro
from rfloc.numerics.data._kernels import ziggurat
from rfloc.numerics.data._pixel_table import pixel

if TYPE_CHECKING:                    # annotations only: _mapped_field imports this module
    from rfloc.numerics.data._mapped_field import FieldParts

__all__ = ["circulant_root", "draw_field", "field_rows", "lower_triangular",
           "root_transform", "sample_rows", "table_pixels", "wrap_line"]


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
def root_transform(taps: np.ndarray, side: int, dim: int, g: np.ndarray, h: np.ndarray,
                   pad: np.ndarray, line: np.ndarray) -> None:
    r"""``h`` (N,) :math:`= R g` through the root's lags ``taps`` (D + 1,) (module
    docstring); scratch ``pad`` (side + 2D,), ``line`` (side,)."""
    half = taps.shape[0] - 1
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


@kernel
def draw_field(next_u64, state: int, xt: np.ndarray, ft: np.ndarray, r: float,
               taps: np.ndarray, side: int, dim: int, coef: np.ndarray, inv_h: float,
               g: np.ndarray, h: np.ndarray, pad: np.ndarray, line: np.ndarray,
               x: np.ndarray) -> None:
    r"""One sample ``x`` (N,) :math:`= f(Rg)` through the root's lags (the sampler before
    :func:`sample_rows`; kept as the benchmarks' baseline).

    ``xt, ft, r``: ziggurat tables; ``taps`` (D + 1,): the root's lags :math:`0 \dots D`;
    ``coef`` (cells, 8) and ``inv_h``: the pixel table; scratch ``g``, ``h`` (N,),
    ``pad`` (side + 2D,), ``line`` (side,).
    """
    ziggurat(next_u64, state, xt, ft, r, g)
    root_transform(taps, side, dim, g, h, pad, line)
    for i in range(x.shape[0]):
        x[i] = pixel(h[i], coef, inv_h)


@kernel
def field_rows(next_u64, state: int, xt: np.ndarray, ft: np.ndarray, r: float,
               taps: np.ndarray, side: int, dim: int, coef: np.ndarray, inv_h: float,
               out: np.ndarray) -> None:
    """Fill every row of ``out`` (M, N) with an independent :func:`draw_field` sample
    (the benchmarks' baseline; :func:`sample_rows` is the sampler)."""
    n = out.shape[1]
    g = np.empty(n)
    h = np.empty(n)
    pad = np.empty(side + 2 * (taps.shape[0] - 1))
    line = np.empty(side)
    for row in range(out.shape[0]):
        draw_field(next_u64, state, xt, ft, r, taps, side, dim, coef, inv_h, g, h, pad,
                   line, out[row])


@sums
def lower_triangular(lower: np.ndarray, g: np.ndarray, out: np.ndarray) -> None:
    r"""``out[i] = sum_{j <= i} lower[i, j] g[j]`` for ``i < lower.shape[0]`` (a multiple
    of 4; rows past ``g.size`` are zero).

    Four rows at a time, as four dot products sharing the loads of ``g``: the loop over
    ``j`` vectorises (the sums are reassociated), the four sums stay in registers.
    """
    n = g.shape[0]
    for i0 in range(0, lower.shape[0], 4):
        m = min(i0 + 4, n)
        r0, r1, r2, r3 = lower[i0, :m], lower[i0 + 1, :m], lower[i0 + 2, :m], lower[i0 + 3, :m]
        a0 = a1 = a2 = a3 = 0.0
        for j in range(m):
            gj = g[j]
            a0 += r0[j] * gj
            a1 += r1[j] * gj
            a2 += r2[j] * gj
            a3 += r3[j] * gj
        out[i0], out[i0 + 1], out[i0 + 2], out[i0 + 3] = a0, a1, a2, a3


@kernel(fastmath={"contract"})
def sample_rows(s: np.ndarray, zig: tuple, pos: FieldParts, neg: FieldParts,
                labels: np.ndarray,
                out: np.ndarray) -> None:
    r"""Row ``k`` of ``out`` (M, N) :math:`= f(Lg)`: a sample of the field ``pos`` if
    ``labels[k]`` else of ``neg`` (``FieldParts`` of one ``side``, ``dim``), its normals
    drawn from the xoshiro256++ state ``s`` (:mod:`._xoshiro`), advanced in place.

    ``L`` is ``c.lower`` (:math:`LL^T = RR^T`; ``dim = 2``: :math:`L \otimes L`, rows then
    columns) or, where that is empty, the root's lags through :func:`root_transform`.
    ``zig``: the ziggurat tables ``(x, f, r)``. The table's polynomial is evaluated with
    contracted multiply-adds (rounding only). One call draws many rows: the scratch is
    this function's own, so the compiler keeps the generator's state in registers.
    """
    side = pos.side
    n = out.shape[1]
    g = np.empty(n)
    h = np.empty(n + 4)
    half = max(pos.taps.shape[0], neg.taps.shape[0]) - 1
    pad = np.empty(side + 2 * half + 4)
    line = np.empty(side + 4)
    for k in range(out.shape[0]):
        c = pos if labels[k] else neg
        lower = c.lower
        ziggurat(xoshiro.next_u64, s, zig[0], zig[1], zig[2], g)
        if lower.shape[0] == 0:
            root_transform(c.taps, side, c.dim, g, h[:n],
                           pad[: side + 2 * (c.taps.shape[0] - 1)], line[:side])
        elif c.dim == 1:
            lower_triangular(lower, g, h)
        else:
            for row in range(side):
                lower_triangular(lower, g[row * side:(row + 1) * side], h[row * side:])
            for col in range(side):
                for i in range(side):
                    line[i] = h[col + i * side]
                lower_triangular(lower, line[:side], pad)
                for i in range(side):
                    h[col + i * side] = pad[i]
        x = out[k]
        for i in range(n):
            x[i] = pixel(h[i], c.coef, c.inv_h)


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
