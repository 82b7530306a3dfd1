"""The amplifier: closed forms vs independent quadrature vs Monte Carlo; exact series."""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special, stats

from rfloc.errors import MomentError, ParameterError
from rfloc.theory import (
    A_SYMBOL,
    Algebraic,
    Binary,
    ErfGaussian,
    Gaussian,
    Laplace,
    Marginal,
    StudentT,
    Uniform,
    amplifier,
)
from rfloc.theory.marginals import X_SYMBOL

SQ = sp.sqrt(2 / sp.pi)
MARGINALS = [Gaussian(), Binary(), Uniform(), Laplace(), StudentT(3.5), StudentT(9),
             ErfGaussian(0.7), ErfGaussian(20.0), Algebraic(10), Algebraic(5)]


@pytest.fixture(scope="module")
def amps():
    """Amplifiers with their tables built once for the module."""
    out = {repr(m): amplifier(m) for m in MARGINALS}
    for a in out.values():
        a.table  # noqa: B018 - build the Numba table
    return out


def _pdf(m):
    """An independent density (SciPy) for the reference quadrature; None for atoms."""
    if isinstance(m, Gaussian):
        return stats.norm.pdf, (-np.inf, np.inf)
    if isinstance(m, Uniform):
        return stats.uniform(-math.sqrt(3), 2 * math.sqrt(3)).pdf, (-math.sqrt(3), math.sqrt(3))
    if isinstance(m, Laplace):
        return stats.laplace(scale=1 / math.sqrt(2)).pdf, (-np.inf, np.inf)
    if isinstance(m, StudentT):
        s = math.sqrt((m.nu - 2) / m.nu)
        return stats.t(m.nu, scale=s).pdf, (-np.inf, np.inf)
    return None


def reference_phi(m, a):
    """phi(a) = E[X erf(aX/sqrt(2(1-a^2)))] by quadrature written independently here."""
    b = a / math.sqrt(2 * (1 - a * a))
    if isinstance(m, Binary):
        return math.erf(b)
    if isinstance(m, ErfGaussian):
        zg = math.sqrt(2 / math.pi * math.asin(2 * m.g**2 / (1 + 2 * m.g**2)))
        def h(z):
            x = math.erf(m.g * z) / zg
            return x * math.erf(b * x) * stats.norm.pdf(z)
        pts = [-4 / m.g, -1 / m.g, 0.0, 1 / m.g, 4 / m.g]
        return integrate.quad(h, -12, 12, points=pts, limit=500, epsabs=1e-13)[0]
    if isinstance(m, Algebraic):  # quantile route in mpmath: E[h(X)] = int_0^1 h(Q(v)) dv
        import mpmath

        with mpmath.workdps(25):
            k = mpmath.mpf(m.k)
            def q(v):
                if v >= 1:                          # integrable endpoint singularity
                    return mpmath.mpf(0)
                return v / (1 - v**k) ** (1 / k)    # Q on v = 2u - 1 in (0, 1)
            cuts = [0, 0.9, 0.999, 0.99999, 1]
            s = mpmath.sqrt(mpmath.quad(lambda v: q(v) ** 2, cuts))
            bb = mpmath.mpf(b)
            return float(mpmath.quad(lambda v: q(v) / s * mpmath.erf(bb * q(v) / s), cuts))
    pdf, (_lo, hi) = _pdf(m)
    return 2 * integrate.quad(lambda x: x * math.erf(b * x) * pdf(x), 0, hi, limit=500,
                              epsabs=1e-13, epsrel=1e-12)[0]


A_GRID = np.concatenate([np.linspace(-0.999, 0.999, 23), [-1e-4, 1e-6, 0.5, 0.95, 0.99]])


@pytest.mark.parametrize("m", MARGINALS, ids=repr)
def test_numeric_amplifier_matches_independent_quadrature(m, amps):
    amp = amps[repr(m)]
    got = amp(A_GRID)
    ref = np.array([reference_phi(m, a) for a in A_GRID])
    assert np.max(np.abs(got - ref)) <= 1e-9


@pytest.mark.parametrize("m", [Binary(), Uniform(), Laplace(), Algebraic(10), ErfGaussian(1.0)],
                         ids=repr)
def test_numeric_amplifier_matches_monte_carlo(m, amps):
    x = m.sample(1_000_000, rng=11)
    amp = amps.get(repr(m)) or amplifier(m)
    for a in (-0.8, 0.3, 0.9):
        vals = x * special.erf(a * x / math.sqrt(2 * (1 - a * a)))
        se = vals.std() / math.sqrt(x.size)
        assert abs(vals.mean() - float(amp(a))) <= 5 * se + 1e-12


@pytest.mark.parametrize("m", [Gaussian(), Binary(), Uniform(), Laplace()], ids=repr)
def test_closed_forms_are_found_and_agree(m, amps):
    amp = amps[repr(m)]
    cf = amp.closed_form
    assert cf is not None and not cf.has(sp.Integral)
    f = sp.lambdify(A_SYMBOL, cf, "mpmath")
    import mpmath

    with mpmath.workdps(40):
        vals = np.array([float(f(mpmath.mpf(a))) for a in A_GRID if abs(a) > 1e-5])
    assert np.max(np.abs(vals - amp(A_GRID[np.abs(A_GRID) > 1e-5]))) <= 1e-12


@pytest.mark.parametrize("m", [Uniform(), Laplace()], ids=repr)
def test_table_is_accurate_next_to_one(m, amps):
    """Closed form at 40 digits vs the table where erf(cX) is nearly a step (a -> 1)."""
    import mpmath

    f = sp.lambdify(A_SYMBOL, amps[repr(m)].closed_form, "mpmath")
    a = np.array([0.99999, 1 - 1e-7, 1 - 3e-7, 1 - 1e-9])
    with mpmath.workdps(40):
        ref = np.array([float(f(mpmath.mpf(v))) for v in a])
    assert np.max(np.abs(amps[repr(m)](a) - ref)) <= 1e-12
    assert np.max(np.abs(amps[repr(m)](-a) + ref)) <= 1e-12


def test_gaussian_and_binary_closed_forms_are_exact():
    assert sp.simplify(amplifier(Gaussian()).expr - SQ * A_SYMBOL) == 0
    assert amplifier(Binary()).expr == sp.erf(A_SYMBOL / sp.sqrt(2 - 2 * A_SYMBOL**2))


@pytest.mark.parametrize("m", [StudentT(5), Algebraic(10), ErfGaussian(1.0)], ids=repr)
def test_no_closed_form_gives_unevaluated_integral(m):
    amp = amplifier(m)
    assert amp.closed_form is None
    assert amp.expr.has(sp.Integral)


# ----------------------------------------------------------------------------- series
def _sympy_series_coeffs(expr, order):
    ser = sp.series(expr, A_SYMBOL, 0, order + 1).removeO()
    return [sp.simplify(ser.coeff(A_SYMBOL, 2 * j + 1)) for j in range((order + 1) // 2)]


def test_gaussian_series_is_exactly_linear():
    c = amplifier(Gaussian()).coefficients(11)
    assert sp.simplify(c[0] - SQ) == 0 and all(ci == 0 for ci in c[1:])


@pytest.mark.parametrize("m", [Binary(), Uniform()], ids=repr)
def test_series_matches_sympy_expansion_of_closed_form(m):
    amp = amplifier(m)
    ours = amp.coefficients(7)
    theirs = _sympy_series_coeffs(amp.closed_form, 7)
    assert all(sp.simplify(a - b) == 0 for a, b in zip(ours, theirs, strict=True))


def test_hand_derived_coefficients():
    # Binary: m_k = 1: a^3: (1/2 - 1/6) = 1/3; a^5: 3/8 - 1/4 + 1/40 = 3/20
    assert [sp.simplify(c / SQ) for c in amplifier(Binary()).coefficients(5)] == [
        1, sp.Rational(1, 3), sp.Rational(3, 20)]
    # Uniform: m4 = 9/5, m6 = 27/7: a^3: 1/2 - 3/10 = 1/5; a^5: 3/8 - 9/20 + 27/280 = 3/140
    assert [sp.simplify(c / SQ) for c in amplifier(Uniform()).coefficients(5)] == [
        1, sp.Rational(1, 5), sp.Rational(3, 140)]
    # Laplace: m4 = 6, m6 = 90: a^3: 1/2 - 1 = -1/2; a^5: 3/8 - 3/2 + 9/4 = 9/8
    assert [sp.simplify(c / SQ) for c in amplifier(Laplace()).coefficients(5)] == [
        1, sp.Rational(-1, 2), sp.Rational(9, 8)]


@pytest.mark.parametrize("m", [Binary(), Uniform(), Laplace(), StudentT(7), Algebraic(10)],
                         ids=repr)
def test_cubic_coefficient_is_minus_kappa_over_six(m):
    c3 = amplifier(m).coefficients(3)[1]
    assert sp.simplify(c3 + SQ * m.excess_kurtosis() / 6) == 0
    assert not c3.atoms(sp.Float)


@pytest.mark.parametrize("m", [Binary(), Uniform(), Laplace(), Algebraic(20)], ids=repr)
def test_series_approximates_function_at_small_a(m, amps):
    amp = amps.get(repr(m)) or amplifier(m)
    poly = sp.lambdify(A_SYMBOL, amp.series(7).removeO())
    for a in (0.02, 0.05):
        assert abs(poly(a) - float(amp(a))) < 50 * a**9


def test_missing_moment_coefficients_raise():
    amp = amplifier(StudentT(5))
    assert amp.max_order() == 3
    amp.coefficients(3)
    with pytest.raises(MomentError, match="order 6"):
        amp.coefficients(5)


def test_series_and_latex():
    amp = amplifier(Binary())
    assert amp.series(3).removeO() == sum(c * A_SYMBOL ** (2 * j + 1)
                                          for j, c in enumerate(amp.coefficients(3)))
    tex = amp.latex(order=3)
    assert tex.startswith(r"\varphi(a) = ") and r"\operatorname{erf}" in tex


# ------------------------------------------------------------------- properties
PROP = [Binary(), Uniform(), Laplace(), Algebraic(10), ErfGaussian(0.7), StudentT(3.5)]


@given(a=st.floats(0.0, 1.0), idx=st.integers(0, len(PROP) - 1))
def test_odd_and_bounded(a, idx, amps):
    m = PROP[idx]
    amp = amps[repr(m)]
    v, w = float(amp(a)), float(amp(-a))
    assert v == -w
    assert abs(v) <= float(m.abs_mean()) + 1e-12


@pytest.mark.parametrize("m", PROP, ids=repr)
def test_slope_at_zero_and_limit_at_one(m, amps):
    amp = amps[repr(m)]
    h = 1e-6
    slope = (float(amp(h)) - float(amp(-h))) / (2 * h)
    assert slope == pytest.approx(math.sqrt(2 / math.pi), rel=1e-6)
    assert sp.simplify(amp.slope_at_zero - SQ) == 0
    assert float(amp(1 - 1e-12)) == pytest.approx(float(m.abs_mean()), abs=1e-6)
    assert float(amp(1.0)) == pytest.approx(float(m.abs_mean()), abs=1e-10)
    assert float(amp(-1.0)) == pytest.approx(-float(m.abs_mean()), abs=1e-10)


@given(a=st.floats(-1.0, 1.0))
def test_gaussian_is_exactly_linear(a):
    assert float(amplifier(Gaussian())(a)) == pytest.approx(math.sqrt(2 / math.pi) * a,
                                                           abs=1e-15)


def test_guards_outside_range_and_nan(amps):
    amp = amps[repr(Binary())]
    with pytest.raises(ParameterError, match=r"a must be in \[-1, 1\] \(or pass clip=True\)"):
        amp(np.array([1.5, -2.0]))
    assert amp(np.array([1.5, -2.0]), clip=True).tolist() == [1.0, -1.0]
    assert math.isnan(float(amp(float("nan"))))
    with pytest.raises(ParameterError, match="a must be in"):
        amp.quadrature(1.5)


def test_elliptical_amplifier_is_linear_with_slope_abs_mean():
    m = Laplace()
    amp = amplifier(m, elliptical=True)
    assert sp.simplify(amp.expr - A_SYMBOL / sp.sqrt(2)) == 0
    assert amp.coefficients(5)[1:] == [0, 0]
    assert float(amp(0.4)) == pytest.approx(0.4 / math.sqrt(2))


def test_elliptical_exact_formula_against_monte_carlo():
    # Shell data x = sqrt(n) L u: its pixel marginal has density ~ (1 - x^2/n)^((n-3)/2).
    n = 5
    rng = np.random.default_rng(7)
    idx = np.arange(n)
    d = np.minimum(np.abs(idx[:, None] - idx[None, :]), n - np.abs(idx[:, None] - idx[None, :]))
    cov = 0.6 ** d
    chol = np.linalg.cholesky(cov)
    u = rng.standard_normal((2_000_000, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    x = math.sqrt(n) * u @ chol.T
    w = np.array([1.0, -0.3, 0.8, 0.1, -0.5])
    est = 2 * (x * (x @ w > 0)[:, None])
    pixel = Marginal.from_density((1 - X_SYMBOL**2 / n) ** sp.Rational(n - 3, 2), X_SYMBOL,
                                  (-sp.sqrt(n), sp.sqrt(n)))
    amp = amplifier(pixel, elliptical=True)
    pred = amp(cov @ w / math.sqrt(w @ cov @ w))
    se = est.std(0) / math.sqrt(len(est))
    assert np.all(np.abs(est.mean(0) - pred) <= 5 * se)
    # the Gaussian-conditional amplifier of the same marginal is measurably wrong here
    wrong = amplifier(pixel)(cov @ w / math.sqrt(w @ cov @ w))
    assert np.max(np.abs(est.mean(0) - wrong) / se) > 8
