"""Localization metrics against hand-computed values and invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rfloc.errors import ParameterError
from rfloc.numerics.metrics import (
    cosine,
    ipr,
    localization_time,
    peak,
    rf_centre_width,
    ring_offset,
)
from rfloc.numerics.trajectory import Trajectory

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
rfs = arrays(np.float64, st.integers(2, 50), elements=finite).filter(
    lambda w: np.sum(w * w) > 1e-12)


# ---------------------------------------------------------------- ipr
def test_ipr_one_hot_constant_and_two_pixels():
    one_hot = np.zeros(40)
    one_hot[7] = -3.0
    assert ipr(one_hot) == 1.0
    assert ipr(np.full(40, 0.2)) == pytest.approx(1 / 40, abs=1e-15)
    two = np.zeros(10)
    two[[2, 5]] = [1.0, -1.0]
    assert ipr(two) == pytest.approx(0.5, abs=1e-15)
    # (1, 2): (1 + 16) / (1 + 4)^2
    assert ipr([1.0, 2.0]) == pytest.approx(17 / 25, abs=1e-15)


def test_ipr_vectorised_and_zero_row_is_nan():
    w = np.zeros((3, 2, 5))
    w[0, 0, 0] = 1.0
    w[1] = 1.0
    values = ipr(w)
    assert values.shape == (3, 2)
    assert values[0, 0] == 1.0 and values[1, 1] == pytest.approx(0.2)
    assert np.isnan(values[2, 0]) and np.isnan(values[0, 1])


@given(rfs)
def test_ipr_bounds_scale_and_permutation_invariance(w):
    n = w.shape[0]
    value = ipr(w)
    assert 1 / n - 1e-12 <= value <= 1 + 1e-12
    assert ipr(-2.5 * w) == pytest.approx(value, rel=1e-9)
    assert ipr(w[::-1]) == pytest.approx(value, rel=1e-12)


# ---------------------------------------------------------------- peak
def test_peak_flat_and_2d():
    w = np.array([[0.1, -0.9, 0.3], [0.5, 0.2, -0.1]])
    np.testing.assert_array_equal(peak(w), [1, 0])
    img = np.zeros((2, 12))
    img[0, 7] = 2.0  # (1, 3) on a 3x4 grid
    img[1, 4] = -1.0  # (1, 0)
    np.testing.assert_array_equal(peak(img, shape=(3, 4)), [[1, 3], [1, 0]])


def test_peak_rejects_inconsistent_shape():
    with pytest.raises(ParameterError, match="shape"):
        peak(np.ones(10), shape=(3, 3))
    with pytest.raises(ParameterError, match="shape"):
        peak(np.ones(9), shape=3)


# ---------------------------------------------------------------- ring offset
def test_ring_offset_hand_values():
    np.testing.assert_array_equal(ring_offset(np.arange(8), 0, 8),
                                  [0, -1, -2, -3, 4, 3, 2, 1])
    np.testing.assert_array_equal(ring_offset(0, np.arange(7), 7), [0, 1, 2, 3, -3, -2, -1])
    assert ring_offset(39, 0, 40) == 1
    assert ring_offset(0, 39, 40) == -1


def test_ring_offset_torus():
    d = ring_offset(np.array([[0, 0], [5, 1]]), np.array([[7, 3], [1, 1]]), (8, 4))
    np.testing.assert_array_equal(d, [[-1, -1], [4, 0]])
    with pytest.raises(ParameterError, match=r"\(\.\.\., 2\)"):
        ring_offset(np.array([0, 1, 2]), np.array([0, 1, 2]), (4, 4))


@given(st.integers(1, 60), st.data())
def test_ring_offset_properties(n, data):
    i = data.draw(st.integers(-3 * n, 3 * n))
    j = data.draw(st.integers(-3 * n, 3 * n))
    d = int(ring_offset(i, j, n))
    assert -n / 2 < d <= n / 2
    assert (i + d - j) % n == 0
    assert abs(d) == min((j - i) % n, (i - j) % n)


def test_ring_offset_validation():
    with pytest.raises(ParameterError, match="integers"):
        ring_offset(0.5, 1, 4)
    with pytest.raises(ParameterError, match="n must be an integer >= 1"):
        ring_offset(0, 1, 0)


# ---------------------------------------------------------------- cosine
def test_cosine_hand_values_and_broadcast():
    assert cosine([1.0, 0.0], [0.0, 2.0]) == 0.0
    assert cosine([1.0, 1.0], [2.0, 2.0]) == pytest.approx(1.0)
    assert cosine([1.0, 0.0], [1.0, 1.0]) == pytest.approx(1 / math.sqrt(2))
    u = np.array([[1.0, 0.0], [-1.0, 0.0]])
    np.testing.assert_allclose(cosine(u, [1.0, 0.0]), [1.0, -1.0])
    assert np.isnan(cosine([0.0, 0.0], [1.0, 0.0]))
    with pytest.raises(ParameterError, match="same last axis"):
        cosine(np.ones(3), np.ones(4))


@given(rfs)
def test_cosine_self_and_negation(w):
    assert cosine(w, w) == pytest.approx(1.0, abs=1e-12)
    assert cosine(w, -w) == pytest.approx(-1.0, abs=1e-12)


# ---------------------------------------------------------------- localization time
def test_localization_time_from_pairs_and_trajectory():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    values = np.array([[0.1, 0.2], [0.3, 0.2], [0.6, 0.2], [0.4, 0.25]])
    np.testing.assert_array_equal(localization_time((t, values), 0.3)[:1], [1.0])
    assert np.isnan(localization_time((t, values), 0.3)[1])
    assert localization_time((t, values[:, 0]), 0.5) == 2.0
    w = np.zeros((3, 4))
    w[0] = 1.0  # IPR 1/4
    w[1, :2] = 1.0  # IPR 1/2
    w[2, 0] = 1.0  # IPR 1
    traj = Trajectory(t=np.array([0.0, 0.5, 1.0]), w=w)
    assert localization_time(traj, 0.5) == 0.5
    assert localization_time(traj, 0.25) == 0.0


def test_localization_time_validation():
    with pytest.raises(ParameterError, match="threshold"):
        localization_time((np.arange(3.0), np.ones(3)), 1.5)
    with pytest.raises(ParameterError, match="t must be"):
        localization_time((np.arange(3.0), np.ones(4)), 0.5)


# ---------------------------------------------------------------- centre and width
def test_centre_width_hand_values():
    n = 40
    one = np.zeros(n)
    one[5] = -2.0
    centre, width = rf_centre_width(one)
    assert centre == pytest.approx(5.0) and width == 0.0
    two = np.zeros(n)
    two[[5, 6]] = 1.0
    centre, width = rf_centre_width(two)
    # R = cos(pi/n): width = n/(2 pi) sqrt(-2 ln cos(pi/n))
    assert centre == pytest.approx(5.5)
    assert width == pytest.approx(n / (2 * np.pi) * math.sqrt(-2 * math.log(math.cos(np.pi / n))))
    wrap = np.zeros(n)
    wrap[[0, n - 1]] = 1.0
    assert rf_centre_width(wrap)[0] == pytest.approx(n - 0.5)


def test_centre_width_delocalized_and_zero():
    _, width = rf_centre_width(np.ones(16))
    assert width > 16
    centre, width = rf_centre_width(np.zeros(5))
    assert np.isnan(centre) and np.isnan(width)


@given(st.integers(4, 40), st.data())
def test_centre_shift_equivariance(n, data):
    w = data.draw(arrays(np.float64, n, elements=st.floats(0.0, 1.0)))
    w[data.draw(st.integers(0, n - 1))] = 3.0  # keep R well away from 0
    shift = data.draw(st.integers(0, n - 1))
    c0, s0 = rf_centre_width(w)
    c1, s1 = rf_centre_width(np.roll(w, shift))
    assert abs((c1 - c0 - shift + n / 2) % n - n / 2) < 1e-8  # centre moves by the shift
    assert s1 == pytest.approx(s0, rel=1e-9, abs=1e-12)


def test_inputs_validated():
    for bad in (np.float64(1.0), np.zeros((3, 0)), "abc"):
        with pytest.raises(ParameterError, match="w must"):
            ipr(bad)
