"""The inlined xoshiro256++ stream and the triangular-factor field sampler against
independent truths: the reference generator's published outputs, the moments of the
uniform and normal laws (5 standard errors), the root they replace, and plain NumPy
evaluation of the same draw; plus reproducibility of the streams built on them."""

from __future__ import annotations

import numpy as np
import pytest

from rfloc.numerics import laws as L
from rfloc.numerics.data import NLGP, NORTA, _field_kernels, _kernels, _xoshiro
from rfloc.numerics.data._mapped_field import lower_factor
from rfloc.numerics.data._normal import ZIG_F, ZIG_R, ZIG_X
from rfloc.numerics.data._pixel_table import evaluate

ZIG = (ZIG_X, ZIG_F, ZIG_R)

# xoshiro256++ 1.0 (Blackman & Vigna's C code) from the state (0, 0, 0, 1): its first ten
# outputs as published with the xoshiro-fortran port's test data (DSCF-1224/xoshiro-fortran)
REFERENCE = [0x0000000000800000, 0x0000000000800011, 0x0002200000800011,
             0x0002200044000020, 0x00022000448008A1, 0x01102100802208A0,
             0x0114002284200880, 0x0402896644A64095, 0x8A14A0A244ACC891,
             0x8C88BA4680B20495]


def words(state: np.ndarray, m: int) -> np.ndarray:
    out = np.empty(m, dtype=np.uint64)
    _xoshiro.fill(state, out)
    return out


def test_first_outputs_match_the_reference_generator():
    state = np.array([0, 0, 0, 1], dtype=np.uint64)
    assert words(state, 10).tolist() == REFERENCE
    # the state advanced in place: the next call continues the stream
    state = np.array([0, 0, 0, 1], dtype=np.uint64)
    assert (words(state, 4).tolist() + words(state, 6).tolist()) == REFERENCE


def test_uniforms_have_the_uniform_moments_and_balanced_bits():
    w = words(_xoshiro.state_from(np.random.SeedSequence(11)), 1_000_000)
    u = (w >> np.uint64(11)).astype(np.float64) * 2.0**-53
    m = u.size
    for p, exact in ((1, 1 / 2), (2, 1 / 3), (3, 1 / 4)):
        x = u**p
        assert abs(x.mean() - exact) < 5 * x.std() / np.sqrt(m)
    bits = (w[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    freq = bits.mean(axis=0)
    assert np.all(np.abs(freq - 0.5) < 5 * 0.5 / np.sqrt(m))


def test_ziggurat_on_the_stream_gives_standard_normal_moments():
    z = np.empty(2_000_000)
    _kernels.ziggurat(_xoshiro.next_u64, _xoshiro.state_from(np.random.SeedSequence(3)),
                      ZIG_X, ZIG_F, ZIG_R, z)
    m = z.size
    for p, exact in ((1, 0.0), (2, 1.0), (3, 0.0), (4, 3.0)):
        x = z**p
        assert abs(x.mean() - exact) < 5 * x.std() / np.sqrt(m), p


def test_streams_are_functions_of_the_seed_and_prefixes():
    gen = np.random.default_rng(np.random.SeedSequence(5))
    bitgen = gen.bit_generator
    a = _xoshiro.seed_from(bitgen.ctypes.next_uint64, bitgen.ctypes.state_address)
    gen2 = np.random.default_rng(np.random.SeedSequence(5))
    assert np.array_equal(gen2.bit_generator.random_raw(4).astype(np.uint64), a)
    model = NORTA(40, 3.0, L.Algebraic(5.0))
    parts = model.parts()
    rows = []
    for m in (30, 50):
        out = np.empty((m, 40))
        _field_kernels.sample_rows(a.copy(), ZIG, parts, parts, np.ones(m, dtype=np.bool_),
                                   out)
        rows.append(out)
    np.testing.assert_array_equal(rows[0], rows[1][:30])
    np.testing.assert_array_equal(model.sample(100, rng=9), model.sample(100, rng=9))
    assert not np.array_equal(model.sample(100, rng=9), model.sample(100, rng=10))


@pytest.mark.parametrize(("side", "xi"), [(40, 3.0), (40, 0.7), (33, 2.0), (7, 1.5), (32, 3.0)])
def test_lower_factor_squares_to_the_roots_square(side, xi):
    model = NLGP(side, xi, 1.0)
    taps = model._root
    lower = lower_factor(taps, side)
    assert lower.shape == (-(-side // 4) * 4, side)
    assert np.all(lower[side:] == 0.0) and np.all(np.triu(lower[:side], 1) == 0.0)
    lo = lower[:side]
    np.testing.assert_allclose(lo @ lo.T, model.latent_covariance, rtol=0, atol=1e-13)


@pytest.mark.parametrize("make", [lambda: NORTA(40, 3.0, L.Algebraic(5.0)),
                                  lambda: NLGP(40, 0.7, 3.0),
                                  lambda: NLGP(40, 0.3, 3.0),          # the root's lags
                                  lambda: NORTA(8, 2.0, L.StudentT(5.0), dim=2)])
def test_sample_rows_are_the_table_of_the_factor_times_the_same_normals(make):
    """Each row is f(L g) with g the stream's next N ziggurat normals (N = side**dim):
    rebuilt from the same state in NumPy (dense L, or the root's circulant where the
    factor is empty; Kronecker product for tori), to rounding."""
    model = make()
    parts = model.parts()
    side, n, m = model.side, model.n, 200
    state = _xoshiro.state_from(np.random.SeedSequence(8))
    g = np.empty(m * n)
    _kernels.ziggurat(_xoshiro.next_u64, state.copy(), ZIG_X, ZIG_F, ZIG_R, g)
    out = np.empty((m, n))
    _field_kernels.sample_rows(state, ZIG, parts, parts, np.ones(m, dtype=np.bool_), out)
    if parts.lower.shape[0]:
        factor = parts.lower[:side]
    else:
        full = np.zeros(side)
        for d, t in enumerate(parts.taps):
            full[d % side] += t
            full[-d % side] += t if d else 0.0
        factor = full[(np.arange(side)[None, :] - np.arange(side)[:, None]) % side]
    if model.dim == 2:
        factor = np.kron(factor, factor)
    latent = (g.reshape(m, n) @ factor.T).ravel()
    expect = np.empty_like(latent)
    evaluate(latent, parts.coef, parts.inv_h, expect)
    np.testing.assert_allclose(out.ravel(), expect, rtol=1e-12, atol=1e-12)


def test_two_class_rows_follow_their_labels():
    pos, neg = NORTA(40, 3.0, L.Algebraic(5.0)), NORTA(40, 1.0, L.Algebraic(5.0))
    labels = np.random.default_rng(0).random(40_000) < 0.5
    out = np.empty((labels.size, 40))
    _field_kernels.sample_rows(_xoshiro.state_from(np.random.SeedSequence(2)), ZIG,
                               pos.parts(), neg.parts(), labels, out)
    for model, rows in ((pos, out[labels]), (neg, out[~labels])):
        emp = rows.T @ rows / rows.shape[0]
        se = np.sqrt(np.maximum((rows * rows).T @ (rows * rows) / rows.shape[0] - emp**2,
                                1e-300) / rows.shape[0])
        assert np.max(np.abs(emp - model.covariance) / se) < 5
