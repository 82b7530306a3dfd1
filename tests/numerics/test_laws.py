"""Numeric pixel laws against SciPy's distributions, their symbolic twins and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from rfloc import theory as T
from rfloc.errors import ParameterError
from rfloc.numerics import laws as L

NAMED = [L.Gaussian(), L.Binary(), L.Uniform(), L.Laplace(), L.StudentT(9.0),
         L.StudentT(4.5), L.ErfGaussian(0.7), L.ErfGaussian(20.0), L.Algebraic(10.0),
         L.Algebraic(5.0)]


def _scipy_law(law: L.PixelLaw):
    """The same law, unit variance, from scipy.stats (independent code)."""
    if isinstance(law, L.Gaussian):
        return stats.norm()
    if isinstance(law, L.Uniform):
        return stats.uniform(-math.sqrt(3), 2 * math.sqrt(3))
    if isinstance(law, L.Laplace):
        return stats.laplace(scale=1 / math.sqrt(2))
    if isinstance(law, L.StudentT):
        return stats.t(law.nu, scale=math.sqrt((law.nu - 2) / law.nu))
    return None


@pytest.mark.parametrize("law", NAMED, ids=repr)
def test_expect_gives_unit_variance_and_the_symbolic_fourth_moment(law):
    assert law.expect(lambda x: x**2) == pytest.approx(1.0, abs=1e-11)
    assert law.expect(lambda x: x) == pytest.approx(0.0, abs=1e-12)
    twin = T.as_marginal(law)
    assert law.max_moment() == twin.max_moment()
    if law.max_moment() > 4:
        assert law.excess_kurtosis() == pytest.approx(float(twin.excess_kurtosis()),
                                                      rel=1e-11, abs=1e-12)
    else:
        assert law.excess_kurtosis() == math.inf
    assert law.abs_mean() == pytest.approx(float(twin.abs_mean()), rel=1e-11)


@pytest.mark.parametrize("law", [law for law in NAMED if _scipy_law(law) is not None],
                         ids=repr)
def test_gaussian_transform_is_the_scipy_quantile_of_the_normal_cdf(law):
    z = np.linspace(-7.5, 7.5, 301)
    ref = _scipy_law(law)
    # upper half through the survival function, so the tail is not lost to 1 - Phi
    want = np.where(z >= 0, ref.isf(stats.norm.sf(z)), ref.ppf(stats.norm.cdf(z)))
    np.testing.assert_allclose(law.gaussian_transform(z), want, rtol=1e-9, atol=1e-12)
    assert law.expect(np.abs) == pytest.approx(ref.expect(np.abs), rel=1e-8)


@pytest.mark.parametrize("law", NAMED, ids=repr)
def test_samples_have_unit_variance_and_the_right_abs_mean(law):
    x = law.sample(200_000, rng=3)
    assert x.dtype == np.float64 and x.shape == (200_000,)
    a = np.abs(x)
    assert abs(a.mean() - law.abs_mean()) <= 6 * a.std() / math.sqrt(x.size)
    if law.max_moment() > 4:
        se2 = np.std(x**2) / math.sqrt(x.size)
        assert abs(np.mean(x**2) - 1.0) <= 6 * se2
    np.testing.assert_array_equal(law.sample((3, 4), rng=1), law.sample((3, 4), rng=1))


@pytest.mark.parametrize("law", NAMED, ids=repr)
def test_params_rebuild_the_law_and_define_equality(law):
    spec = {"name": law.name, **law.params}
    again = L.from_params(spec)
    assert again == law and hash(again) == hash(law) and again is not law
    assert L.REGISTRY[law.name] is type(law)
    assert repr(law).startswith(type(law).__name__)


def test_laws_and_theory_marginals_are_two_faces_of_one_law():
    for law in NAMED:
        twin = T.as_marginal(law)
        assert twin.law == law and twin.name == law.name and twin.params == law.params
        assert twin != law                                  # different objects, same law
        z = np.linspace(-6, 6, 25)
        np.testing.assert_array_equal(twin.gaussian_transform(z), law.gaussian_transform(z))
    assert T.as_marginal(T.Laplace()) == T.Laplace()
    assert T.ErfGaussian(2.0).z_norm == L.ErfGaussian(2.0).z_norm


def test_user_defined_laws_match_the_built_in_ones():
    lap = L.DensityLaw(lambda y: math.exp(-y), name="two-sided-exponential")
    z = np.linspace(-5, 5, 41)
    np.testing.assert_allclose(lap.gaussian_transform(z), L.Laplace().gaussian_transform(z),
                               atol=1e-7)
    assert lap.expect(lambda x: x**4) == pytest.approx(6.0, rel=1e-10)
    box = L.DensityLaw(lambda y: 1.0, 2.0, label="1 on [-2, 2]")
    assert box.params == {"density": "1 on [-2, 2]"}
    assert box.excess_kurtosis() == pytest.approx(-1.2, abs=1e-10)
    uni = L.QuantileLaw(lambda u: u - 0.5)
    np.testing.assert_allclose(uni.gaussian_transform(z), L.Uniform().gaussian_transform(z),
                               atol=1e-12)
    assert uni.abs_mean() == pytest.approx(math.sqrt(3) / 2, rel=1e-12)


def test_user_defined_laws_cannot_be_rebuilt_or_made_symbolic():
    law = L.QuantileLaw(lambda u: u - 0.5, name="mine")
    with pytest.raises(ParameterError, match="user-defined"):
        L.from_params({"name": law.name, **law.params})
    with pytest.raises(ParameterError, match="marginal"):
        T.as_marginal(law)
    with pytest.raises(ParameterError, match="marginal"):
        T.as_marginal("binary")
    with pytest.raises(ParameterError, match="cannot be built"):
        L.from_params({"name": "algebraic", "nu": 3.0})


@pytest.mark.parametrize(("factory", "arg", "name"), [
    (L.StudentT, 2, "nu"), (L.StudentT, -1, "nu"), (L.Algebraic, 2, "k"),
    (L.ErfGaussian, 0, "g"), (L.ErfGaussian, float("nan"), "g"),
])
def test_bad_parameters_raise(factory, arg, name):
    with pytest.raises(ParameterError, match=name):
        factory(arg)



def test_degenerate_user_laws_raise():
    with pytest.raises(ParameterError, match="variance"):
        L.DensityLaw(lambda y: 0.0, 1.0)
    with pytest.raises(ParameterError, match="variance"):
        L.QuantileLaw(lambda u: 0.0 * u)


def test_theory_functions_accept_numeric_laws():
    assert T.amplifier(L.Binary()).marginal == T.Binary()
    a = np.linspace(-0.9, 0.9, 7)
    np.testing.assert_allclose(T.amplifier(L.Laplace())(a), T.amplifier(T.Laplace())(a),
                               rtol=0, atol=1e-14)
    dyn = T.effective_dynamics(L.ErfGaussian(2.0), p=0.5)
    assert dyn.marginal == dyn.amplifier.marginal == T.ErfGaussian(2.0)
    with pytest.raises(ParameterError, match="marginal"):
        T.amplifier("binary")
