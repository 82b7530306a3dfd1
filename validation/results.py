r"""The results schema: one typed, versioned document per run of a spec (``results.json``).

Every protocol writes the same top level — the resolved spec, provenance, and one
:class:`CaseResult` per variant — and only the ``summary`` differs by protocol kind
(:class:`PeaksSummary`, :class:`IprSummary`, :class:`CommitteeSummary`,
:class:`IsingExactSummary`, :class:`IcaSummary`). Per-task outputs
(trajectories, per-init peaks) are kept once, under each case's ``runs``. The JSON Schema
of this document ships with the package (``rfloc/validation/results.schema.json``,
:func:`json_schema`).

Rates carry their count, n and a 95 % Wilson score interval (:class:`Rate`); means over
initial conditions or seeds carry their standard error (:class:`Mean`).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rfloc import __version__, io

__all__ = [
    "SCHEMA",
    "CaseResult",
    "CommitteeSummary",
    "IcaSummary",
    "IprSummary",
    "IsingExactSummary",
    "Mean",
    "PeaksSummary",
    "Provenance",
    "Rate",
    "Results",
    "json_schema",
    "provenance",
    "schema_path",
]

#: version tag of the results format (the ``schema`` key of every results.json)
SCHEMA: Final = "rfloc.results/1"

Fraction = Annotated[float, Field(ge=0, le=1)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rate(_Record):
    """``k`` successes out of ``n`` with the 95 % Wilson score interval."""

    k: int = Field(ge=0)
    n: int = Field(ge=0)
    rate: float | None = Field(description="k / n (None when n = 0)")
    low: float | None
    high: float | None

    @classmethod
    def of(cls, hits: Sequence[bool]) -> Rate:
        r"""The rate of ``hits`` with the Wilson interval at :math:`z = 1.959964`.

        .. math:: \frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}
                       {1 + z^2/n}

        (Wilson 1927, computed by :meth:`scipy.stats.binomtest.proportion_ci`).
        """
        from scipy.stats import binomtest

        n, k = len(hits), int(sum(bool(h) for h in hits))
        if n == 0:
            return cls(k=0, n=0, rate=None, low=None, high=None)
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        return cls(k=k, n=n, rate=k / n, low=float(ci.low), high=float(ci.high))

    def __str__(self) -> str:
        if self.rate is None:
            return "n = 0"
        return f"{self.k}/{self.n} = {self.rate:.0%} [95% CI {self.low:.0%}–{self.high:.0%}]"


class Mean(_Record):
    """Mean of ``n`` values with its standard error ``s / sqrt(n)`` (None for n < 2)."""

    mean: float | None
    se: float | None
    n: int = Field(ge=0)

    @classmethod
    def of(cls, values: Sequence[float]) -> Mean:
        """Mean and standard error of the finite ``values`` (NaN entries are dropped)."""
        arr = np.asarray(values, dtype=np.float64).ravel()
        arr = arr[np.isfinite(arr)]
        if arr.size == 0:
            return cls(mean=None, se=None, n=0)
        se = float(np.std(arr, ddof=1) / math.sqrt(arr.size)) if arr.size > 1 else None
        return cls(mean=float(np.mean(arr)), se=se, n=int(arr.size))

    def __str__(self) -> str:
        if self.mean is None:
            return "–"
        return f"{self.mean:.3f}" + ("" if self.se is None else f" ± {self.se:.3f}")


class PeaksSummary(_Record):
    """Peak agreement over M initial conditions (exact and within one pixel)."""

    kind: Literal["peaks"] = "peaks"
    match: Rate = Field(description="ODE final peak == SGD final peak")
    match_within_1: Rate
    match_emergence: Rate = Field(description="ODE peak when it first localizes == SGD's")
    match_emergence_within_1: Rate
    noise_floor: Rate = Field(description="SGD == a second SGD run from the same w0")
    noise_floor_within_1: Rate
    full_batch: Rate = Field(description="ODE final peak == full-batch GD's final peak")
    full_batch_within_1: Rate
    ipr_theory: Mean
    ipr_sim: Mean
    centre_offset_theory_sim: float | None = Field(
        description="median |sub-pixel RF-centre offset| ODE vs SGD, in pixels")
    centre_offset_sim_repeat: float | None


class IprSummary(_Record):
    """Final IPR of theory and SGD for one data model, with the localization verdicts."""

    kind: Literal["ipr"] = "ipr"
    excess_kurtosis: float | None = Field(
        description="exact excess kurtosis of the class-1 pixel marginal (inf: E X^4 = inf), "
                    "or the sample estimate for data given as samples")
    kurtosis_interval: list[float] | None = Field(
        None, description="95 % interval of a sample estimate of the excess kurtosis "
                          "(None when it is exact)")
    kappa_sample: float | None = Field(
        None, description="sample excess kurtosis of protocol.kappa_draws draws of one "
                          "class-1 pixel, shown beside the exact one (None: not asked for)")
    ipr_theory: Mean
    ipr_theory_cubic: Mean | None
    kappa_cubic: float | None = Field(
        None, description="the kappa of the cubic amplifier: the exact one, or the sample "
                          "estimate when theory.kappa = 'sample' (None: no cubic run)")
    ipr_sim: Mean
    threshold: float = Field(description="IPR above which an RF counts as localized (4/N)")
    localized_theory: bool
    localized_sim: bool


class CommitteeSummary(_Record):
    """Fraction of a committee's units that localize, against the single-neuron ODE."""

    kind: Literal["committee"] = "committee"
    localized_network: Rate
    localized_theory: Rate | None = Field(
        description="units whose own single-neuron ODE localizes (None: no theory side)")
    threshold: float
    agrees: bool | None
    accuracy: float | None
    localized_by_bias: dict[str, Rate] | None = Field(
        None, description="IG22's network with biases starting at +b / -b: units localized "
                          "in each half, keyed 'plus' and 'minus' (None otherwise)")


class IsingExactSummary(_Record):
    """Ising rings: pairwise peak agreement of effective ODE, exact flow and SGD."""

    kind: Literal["ising-exact"] = "ising-exact"
    theory_exact: Rate = Field(description="effective ODE final peak == exact flow's")
    theory_exact_within_1: Rate
    exact_sim: Rate = Field(description="exact flow final peak == SGD's")
    exact_sim_within_1: Rate
    theory_sim: Rate = Field(description="effective ODE final peak == SGD's")
    theory_sim_within_1: Rate
    noise_floor: Rate = Field(description="SGD == a second SGD run from the same w0")
    noise_floor_within_1: Rate
    ipr_theory: Mean
    ipr_exact: Mean
    ipr_sim: Mean
    departed: Rate = Field(description="runs whose ODE-exact cosine fell below 0.99")
    t_departure: Mean = Field(description="first time the ODE-exact cosine is below 0.99, "
                                          "over the runs that departed")
    t_departure_median: float | None


class IcaSummary(_Record):
    """FastICA filters' localization for one data model, beside the single neuron's."""

    kind: Literal["ica"] = "ica"
    excess_kurtosis: float | None = Field(
        description="exact excess kurtosis of the class-1 pixel marginal (inf: E X^4 = inf)")
    fun: str = Field(description="the FastICA contrast used")
    ipr_ica: Mean = Field(description="IPR of the ICA filters, mean over filters")
    localized_ica: Rate = Field(description="filters with IPR above the threshold")
    converged: bool
    ipr_sim: Mean
    ipr_theory: Mean
    threshold: float


Summary = Annotated[PeaksSummary | IprSummary | CommitteeSummary | IsingExactSummary
                    | IcaSummary, Field(discriminator="kind")]


class CaseResult(_Record):
    """One variant of the spec: its label, task, summary and per-task outputs."""

    label: str
    overrides: dict[str, Any]
    task: dict[str, Any] = Field(description="the TwoClass params the runs used")
    summary: Summary
    seeds: list[dict[str, Any]] = Field(description="the SeedSequence of each task")
    runs: list[dict[str, Any]] = Field(description="per-task outputs, in task order")


class Provenance(_Record):
    """Everything needed to say where a result came from."""

    rfloc: str
    python: str
    numpy: str
    scipy: str
    sympy: str
    numba: str
    pydantic: str
    git_commit: str | None
    command: list[str]
    timestamp: str
    cores: int
    wall_seconds: float


class Results(_Record):
    """The whole ``results.json`` of one run of a spec."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["rfloc.results/1"] = Field(SCHEMA, alias="schema")
    spec: dict[str, Any] = Field(description="the resolved spec (scale and overrides applied)")
    seed: int = Field(ge=0)
    provenance: Provenance
    cases: list[CaseResult]

    def write(self, path: str | os.PathLike) -> None:
        """Write atomically as JSON (the file :meth:`read` reads back)."""
        io.write_json(path, self.model_dump(by_alias=True, mode="json"))

    @classmethod
    def read(cls, path: str | os.PathLike) -> Results:
        """Read and validate a ``results.json``."""
        return cls.model_validate(io.read_json(path))


def provenance(wall_seconds: float, command: Sequence[str] | None = None) -> Provenance:
    """Versions, git commit (when run from a checkout), command line, time and cores."""
    import numba
    import pydantic
    import scipy
    import sympy

    return Provenance(
        rfloc=__version__, python=platform.python_version(), numpy=np.__version__,
        scipy=scipy.__version__, sympy=sympy.__version__, numba=numba.__version__,
        pydantic=pydantic.VERSION, git_commit=_git_commit(),
        command=list(sys.argv if command is None else command),
        timestamp=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        cores=os.cpu_count() or 1, wall_seconds=float(wall_seconds))


def _git_commit() -> str | None:
    """The commit of the checkout rfloc is imported from, or None (an installed copy)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Results` (what ``results.schema.json`` holds)."""
    return Results.model_json_schema(by_alias=True)


def schema_path() -> Path:
    """The shipped JSON Schema file."""
    return Path(__file__).with_name("results.schema.json")


if __name__ == "__main__":  # regenerate the shipped schema: python -m rfloc.validation.results
    schema_path().write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
