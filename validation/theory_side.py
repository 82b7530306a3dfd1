r"""The theory side of a task: the amplifier, covariances and time scale of its ODE.

A spec's ``[theory]`` table (docs/experiments.md) chooses each ingredient of the effective
ODE (docs/theory.md §5, equation (*)), integrated in the rescaled time :math:`rt`,

.. math:: \frac{dw}{d(rt)} = p\,\varphi(a) - \bar\Sigma w,\qquad
          a = \Sigma_1 w / \sqrt{w^T\Sigma_1 w},\qquad \bar\Sigma = p\Sigma_1 + (1-p)\Sigma_0,

exactly as derived (:math:`r = 1`) unless a key says otherwise:

- ``amplifier``: ``"exact"`` — :math:`\varphi` of the class-1 pixel law
  (:func:`theory_amplifier`); ``"cubic"`` — the kurtosis-only truncation
  :math:`\sqrt{2/\pi}\,(a - \kappa a^3/6)` with ``kappa = "exact"`` or ``"sample"``
  (the sample excess kurtosis of ``samples`` draws of one pixel, as LSG24's code does);
  ``"linear"`` — the Gaussian amplifier :math:`\sqrt{2/\pi}\,a`; ``"empirical"`` — the
  Monte Carlo :math:`\varphi_n` of ``samples`` draws of one pixel
  (:class:`~rfloc.numerics.laws.EmpiricalLaw`); ``"binary"`` — the ±1 (:math:`g\to\infty`)
  amplifier :math:`\mathrm{erf}(a/\sqrt{2(1-a^2)})` whatever the data (LSG24's peak
  comparison); ``"lsg24-fig3"`` — LSG24's Fig. 3 code, labelled as theirs:
  :math:`\sqrt{2/\pi}\,a - \hat\kappa a^3/6` (no :math:`\sqrt{2/\pi}` on the cubic
  term), :math:`\hat\kappa` the sample excess kurtosis of all pixels of ``samples`` inputs
  of both classes pooled, entering the ODE *without* the factor :math:`p` (the table is
  divided by :math:`p`, so :math:`p\varphi` is their term: twice the derived one at
  :math:`p = 1/2`).
- ``covariances``: ``"analytic"`` (``TwoClass.covariances``) or ``"empirical"``
  (:math:`\hat\Sigma = X^TX/n` of ``samples`` inputs per class; zero mean is known).
- ``covariance_data``: data keys that replace both classes' own for the covariances only
  (LSG24's peak comparison integrated every gain with the ``g = 100`` covariances).
- ``rate``: the ODE runs to :math:`r\cdot\mathrm{lr}\cdot\mathrm{steps}` with step
  :math:`r\cdot\mathrm{lr}` (``dt = "lr"``), so ODE step k still lines up with SGD step
  k; ``1`` is the derivation, LSG24's code integrates at half of it.

Draws for ``"sample"``, ``"empirical"`` and empirical covariances come from the variant's
``THEORY`` stream, so every initial condition of a variant sees the same theory.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from rfloc.errors import ParameterError
from rfloc.numerics import laws
from rfloc.numerics.data import Elliptical, GaussianProcess, TwoClass, from_params
from rfloc.numerics.laws import EmpiricalLaw
from rfloc.random import seed_sequence
from rfloc.theory import AmplifierTable, Gaussian, amplifier
from rfloc.validation.spec import TheorySpec

__all__ = ["DEFAULT_THEORY", "TheorySide", "class1_kappa", "class1_kappa_interval",
           "covariance_source", "cubic_table", "lsg24_fig3_table", "needs_draws",
           "sample_kurtosis", "theory_amplifier", "theory_side"]

#: the theory side when a task is given none: Euler with dt = lr, the exact amplifier,
#: analytic covariances, the derived rate
DEFAULT_THEORY: dict[str, Any] = TheorySpec().model_dump(mode="json")


@lru_cache(maxsize=32)
def _cached_table(marginal_key: tuple, elliptical_abs_mean: float | None) -> AmplifierTable:
    kind, arg = marginal_key
    if elliptical_abs_mean is not None:
        return AmplifierTable.linear(elliptical_abs_mean)
    from rfloc.theory import by_name

    return amplifier(by_name(kind, arg)).table


def _shell_abs_mean(n: int) -> float:
    r""":math:`E|X|` of a shell pixel :math:`\sqrt N u_1`:
    :math:`\sqrt N\,\Gamma(N/2)/(\sqrt\pi\,\Gamma((N+1)/2))`."""
    return math.sqrt(n) * math.exp(math.lgamma(n / 2) - math.lgamma((n + 1) / 2)) / math.sqrt(
        math.pi)


def theory_amplifier(task: TwoClass) -> AmplifierTable:
    r"""The exact amplifier of ``task``'s class-1 model.

    Elliptical data get the exact linear amplifier :math:`E|X|\,a`; Gaussian processes
    :math:`\sqrt{2/\pi}\,a`; every other model the amplifier of its pixel marginal.
    """
    model = task.positive
    if isinstance(model, Elliptical):
        m = model.marginal
        slope = float(m.abs_mean()) if m is not None else _shell_abs_mean(model.n)
        return _cached_table(("elliptical", None), slope)
    if isinstance(model, GaussianProcess):
        return amplifier(Gaussian()).table
    law = model.marginal
    if not isinstance(law, laws.PixelLaw):
        raise ParameterError(f"{model.describe()} has no pixel law to take an amplifier of")
    if law.name not in laws.REGISTRY:          # an empirical or user law: its own amplifier
        return amplifier(law).table
    param = next(iter(law.params.values()), None)
    return _cached_table((law.name, param), None)


def _cubic(linear: float, cubic: float) -> AmplifierTable:
    r""":math:`\varphi(a) = \text{linear}\cdot a + \text{cubic}\cdot a^3`, tabulated."""
    return AmplifierTable.fit(lambda th: linear * math.sin(th) + cubic * math.sin(th) ** 3)


def cubic_table(kappa: float) -> AmplifierTable:
    r"""Kurtosis-only truncation :math:`\varphi_3(a) = \sqrt{2/\pi}\,(a - \kappa a^3/6)`."""
    c = math.sqrt(2 / math.pi)
    return _cubic(c, -c * kappa / 6)


def class1_kappa(task: TwoClass) -> float:
    """Exact excess kurtosis of the class-1 pixel marginal (``inf`` when E X^4 is infinite).

    Elliptical models give their own (``Elliptical.excess_kurtosis``); Gaussian processes 0.
    """
    from rfloc.theory import as_marginal

    model = task.positive
    own = getattr(model, "excess_kurtosis", None)
    if callable(own):
        return float(own())
    law = model.marginal
    if not isinstance(law, laws.PixelLaw):
        raise ParameterError(f"{model.describe()} has no pixel law to take a kurtosis of")
    marginal = as_marginal(law)
    if marginal.max_moment() <= 4:
        return math.inf
    return float(marginal.excess_kurtosis())


def class1_kappa_interval(task: TwoClass) -> list[float] | None:
    """95 % interval of the class-1 excess kurtosis when it is a sample estimate, else None."""
    law = getattr(task.positive, "marginal", None)
    return list(law.kurtosis_interval()) if isinstance(law, EmpiricalLaw) else None


def sample_kurtosis(x: np.ndarray) -> float:
    r"""Sample excess kurtosis :math:`m_4/m_2^2 - 3` (central moments, divisor n)."""
    d = np.asarray(x, dtype=np.float64) - np.mean(x)
    m2 = float(np.mean(d * d))
    return float(np.mean(d**4)) / (m2 * m2) - 3.0


def covariance_source(task: TwoClass, covariance_data: dict[str, Any]) -> TwoClass:
    """The task whose covariances the ODE uses: ``task`` itself, or both classes with
    ``covariance_data`` replacing their own keys (for a Gaussian clone, the keys of the
    model it clones, so the clone keeps that model's covariance).

    Raises
    ------
    ParameterError
        When the data model refuses a key, or the result has another pixel count.
    """
    if not covariance_data:
        return task

    def swap(params: dict[str, Any]) -> dict[str, Any]:
        if params.get("model") == "gaussian-clone":
            return {**params, "of": swap(params["of"])}
        return {**params, **covariance_data}

    try:
        source = TwoClass(from_params(swap(task.params["positive"])),
                          from_params(swap(task.params["negative"])), p=task.p)
    except (ParameterError, TypeError, ValueError, KeyError) as exc:
        raise ParameterError(f"theory.covariance_data = {covariance_data!r} is refused by "
                             f"the data model: {exc}") from None
    if source.n != task.n:
        raise ParameterError(f"theory.covariance_data = {covariance_data!r} changes the "
                             f"pixel count N from {task.n} to {source.n}; it may change the "
                             f"covariances only")
    return source


def needs_draws(theory: dict[str, Any]) -> bool:
    """Whether ``theory`` estimates anything from samples (then it needs a ``seed``); a
    sample κ counts whatever the amplifier, since a protocol may add a cubic run."""
    return (theory.get("amplifier") in ("empirical", "lsg24-fig3")
            or theory.get("covariances") == "empirical" or theory.get("kappa") == "sample")


def lsg24_fig3_table(kappa: float, p: float) -> AmplifierTable:
    r"""LSG24's Fig. 3 amplifier term over :math:`p`:
    :math:`(\sqrt{2/\pi}\,a - \kappa a^3/6)/p` (module docstring)."""
    return _cubic(math.sqrt(2 / math.pi) / p, -kappa / 6 / p)


@dataclass(frozen=True)
class TheorySide:
    r"""What the effective ODE of a task integrates.

    ``table`` is :math:`\varphi`; ``cov1, cov0`` (N, N) are :math:`\Sigma_1, \Sigma_0`;
    ``rate`` scales the ODE's time; ``kappa`` is the κ of a cubic amplifier (None for the
    others) and ``pixel_draws`` how many pixel values were drawn (0 when none).
    """

    table: AmplifierTable
    cov1: np.ndarray
    cov0: np.ndarray
    rate: float
    kappa: float | None
    pixel_draws: int


def theory_side(task: TwoClass, theory: dict[str, Any] | None = None) -> TheorySide:
    """The theory side of ``task`` under ``theory`` (a ``[theory]`` table; missing keys
    take :data:`DEFAULT_THEORY`; ``theory["seed"]`` seeds the draws when
    :func:`needs_draws`).

    Raises
    ------
    ParameterError
        For an unknown amplifier, a cubic amplifier whose exact κ is infinite (a pixel law
        without a fourth moment), or draws asked for without a seed.
    """
    th = {**DEFAULT_THEORY, **(theory or {})}
    key = json.dumps({"task": task.params, **{k: v for k, v in th.items()
                                               if k not in ("method", "dt")}}, sort_keys=True)
    if key not in _SIDES:
        if len(_SIDES) >= 8:
            _SIDES.pop(next(iter(_SIDES)))
        _SIDES[key] = _side(task, th)
    return _SIDES[key]


#: theory sides built in this process, by task and theory (the inits of a variant share one)
_SIDES: dict[str, TheorySide] = {}


def _side(task: TwoClass, th: dict[str, Any]) -> TheorySide:
    kind, samples = th["amplifier"], int(th["samples"])
    if needs_draws(th) and "seed" not in th:
        raise ParameterError("theory: sample kappa, the empirical amplifier and empirical "
                             "covariances need a seed for their draws")
    s_pix, s_cov = (seed_sequence(th["seed"]).spawn(2) if "seed" in th else (None, None))
    pixels = None
    if kind == "empirical" or (kind == "cubic" and th["kappa"] == "sample"):
        pixels = task.positive.sample(samples, np.random.default_rng(s_pix))[:, 0]
    kappa = None
    if kind == "exact":
        table = theory_amplifier(task)
    elif kind == "linear":
        table = AmplifierTable.linear(math.sqrt(2 / math.pi))
    elif kind == "empirical":
        table = EmpiricalLaw(pixels).amplifier_table()
    elif kind == "binary":
        table = AmplifierTable.binary()
    elif kind == "lsg24-fig3":
        x, _ = task.sample(samples, np.random.default_rng(s_pix))
        kappa = sample_kurtosis(x.ravel())
        table = lsg24_fig3_table(kappa, task.p)
    elif kind == "cubic":
        kappa = sample_kurtosis(pixels) if pixels is not None else class1_kappa(task)
        if not math.isfinite(kappa):
            raise ParameterError(f"theory.amplifier = 'cubic' needs a finite excess kurtosis; "
                                 f"{task.positive.describe()} has none (use kappa = 'sample' "
                                 f"or another amplifier)")
        table = cubic_table(kappa)
    else:
        raise ParameterError(f"theory.amplifier must be exact, cubic, linear, empirical, "
                             f"binary or lsg24-fig3, got {kind!r}")
    source = covariance_source(task, th["covariance_data"])
    if th["covariances"] == "empirical":
        assert s_cov is not None                  # needs_draws: a seed was checked above
        g1, g0 = (np.random.default_rng(s) for s in s_cov.spawn(2))
        x1 = source.positive.sample(samples, g1)
        x0 = source.negative.sample(samples, g0)
        cov1, cov0 = x1.T @ x1 / samples, x0.T @ x0 / samples
    else:
        cov1, cov0 = source.covariances
    return TheorySide(table, cov1, cov0, float(th["rate"]), kappa,
                      0 if pixels is None else int(pixels.size))
