"""rfloc.theory.covariance re-exports the numeric covariances and takes theory marginals.

The covariances themselves are tested in ``tests/numerics/test_covariance.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from rfloc.numerics import covariance as numeric
from rfloc.numerics import laws
from rfloc.theory import Algebraic, Binary, ErfGaussian, Laplace, Uniform
from rfloc.theory import covariance as cov


def test_theory_covariance_is_the_numeric_module_re_exported():
    assert set(cov.__all__) == {"gaussian_kernel", "ising_covariance", "nlgp_covariance",
                                "nlgp_map", "norta_covariance", "ring_distance", "torus"}
    for name in cov.__all__:
        assert getattr(cov, name) is getattr(numeric, name)


@pytest.mark.parametrize("marginal", [Binary(), Uniform(), Laplace(), ErfGaussian(2.0),
                                      Algebraic(5.0)], ids=repr)
def test_norta_covariance_of_a_theory_marginal_equals_that_of_its_law(marginal):
    base = cov.gaussian_kernel(12, 2.0)
    np.testing.assert_array_equal(cov.norta_covariance(base, marginal),
                                  cov.norta_covariance(base, marginal.law))
    assert isinstance(marginal.law, laws.PixelLaw)
