r"""Data models: exact, fast samplers of translation-invariant pixel fields.

Every model is a zero-mean field on a ring of ``n`` pixels (``dim=1``) or an
``n × n`` torus (``dim=2``, pixel ``(r, c)`` at index ``r * n + c``) with unit pixel
variance, and exposes (:class:`DataModel`)

- ``sample(m, rng) -> ndarray (m, N)`` float64, ``N = n**dim``: ``m`` independent draws;
  ``rng`` is an int seed, a ``SeedSequence`` or a ``numpy.random.Generator`` (same seed,
  same samples);
- ``covariance`` (N, N): the exact covariance of what ``sample`` draws (read-only);
- ``marginal``: the pixel law (a :mod:`rfloc.numerics.laws` law; ``NORTA`` returns the
  law it was given; ``rfloc.theory.as_marginal`` gives the symbolic marginal), or None;
- ``n`` (= N, the number of pixels), ``side``, ``dim``, ``describe()``, ``params``
  (JSON-serialisable; :func:`from_params` rebuilds the model through the registry each
  model class joins under its ``params["model"]`` key).

:class:`TwoClass` pairs two models into the labelled task (labels ``y`` in {0, 1},
:math:`P(y = 1) = p`; ``docs/theory.md``).

One model per module: :mod:`.nlgp`, :mod:`.norta`, :mod:`.gaussian_process`,
:mod:`.ising`, :mod:`.elliptical`, :mod:`.two_class`. Gaussian fields are drawn through
the FFT of the circulant kernel (``_circulant_gaussian``), never a dense matrix square
root, from normals made by an exact ziggurat (``_normal``); the Ising ring is sampled
exactly through its transfer matrix (``_kernels``). Outputs are filled in chunks of about
2**18 numbers, so sampling allocates the output plus a few MB, whatever ``m``. See
``docs/data.md``.
"""

from rfloc.numerics.data._base import DataModel
from rfloc.numerics.data._registry import from_params
from rfloc.numerics.data.elliptical import Elliptical
from rfloc.numerics.data.empirical import Empirical, two_class_from_arrays
from rfloc.numerics.data.gaussian_process import GaussianProcess, gaussian_clone
from rfloc.numerics.data.ising import Ising
from rfloc.numerics.data.natural import NaturalPatches
from rfloc.numerics.data.nlgp import NLGP
from rfloc.numerics.data.norta import NORTA
from rfloc.numerics.data.two_class import TwoClass

__all__ = [
    "NLGP",
    "NORTA",
    "DataModel",
    "Elliptical",
    "Empirical",
    "GaussianProcess",
    "Ising",
    "NaturalPatches",
    "TwoClass",
    "from_params",
    "gaussian_clone",
    "two_class_from_arrays",
]
