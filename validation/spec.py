r"""Experiment specs: one TOML file states a whole theory-against-simulation protocol.

A spec names the two classes' data models, the network, the training, the theory side and
the protocol, plus *variants* (the points of a sweep) and *scales* (``full``: the protocol
as published; ``quick``: documented cuts that keep the qualitative result). Everything is
validated by pydantic before any computation; an error names the key path, the bad value
and what is allowed (:class:`SpecError`). See ``docs/experiments.md`` for the format.

Data
----
``[data]`` holds ``p`` (the class-1 proportion), ``clone`` (replace both classes by their
Gaussian clones), ``positive`` and ``negative`` (the two data models' parameters, as in
:func:`rfloc.numerics.data.from_params`), and any other key — ``model``, ``n``, ``g``,
``dim`` … — which is shared by both classes (a class's own table wins).

Overrides
---------
Dotted keys set any value: ``training.steps = 2000``, ``data.g = 3.0`` (both classes),
``data.positive.xi = 2.0``, ``protocol.inits = 6``. A variant's ``set``, then the scale's
``set``, then the command line's ``--set key=value`` are applied in that order, so a
scale's cut and a user's override hold for every variant.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from rfloc.errors import ParameterError
from rfloc.numerics.data import TwoClass, from_params

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "SCHEMA",
    "Case",
    "CommitteeProtocol",
    "DataSpec",
    "IcaProtocol",
    "IprProtocol",
    "IsingExactProtocol",
    "NetworkSpec",
    "PeaksProtocol",
    "Scale",
    "Spec",
    "SpecError",
    "TheorySpec",
    "TrainingSpec",
    "Variant",
    "dump",
    "dump_case",
    "grid_variants",
    "load",
    "loads",
    "parse_override",
]

#: version tag of the spec format, the ``schema`` key of every spec file
SCHEMA: Final = "rfloc.spec/1"

#: the most SGD steps / samples per batch a spec may ask for (beyond: a typo, not a plan)
MAX_STEPS = 10**8
MAX_BATCH = 10**8

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class SpecError(ParameterError):
    """A spec or an override is invalid; the message names the key path and the value."""


class _Table(BaseModel):
    """A TOML table: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(BaseModel):
    """The two classes: shared data-model keys, per-class tables, ``p`` and ``clone``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    p: float = Field(0.5, gt=0, lt=1, description="class-1 proportion P(y = 1)")
    clone: bool = Field(False, description="replace both classes by their Gaussian clones")
    positive: dict[str, Any] = Field(default_factory=dict,
                                     description="class 1 (label 1, longer correlations)")
    negative: dict[str, Any] = Field(default_factory=dict, description="class 0 (label 0)")

    def class_params(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(positive, negative)`` data-model params: shared keys, then the class's own."""
        shared = dict(self.model_extra or {})
        return {**shared, **self.positive}, {**shared, **self.negative}


class NetworkSpec(_Table):
    """The student network: one neuron (``k = 1``), a committee, or IG22's two outputs."""

    k: int = Field(1, ge=1, le=100_000, description="hidden units")
    activation: Literal["relu", "sigmoid", "tanh", "erf"] = "relu"
    bias: Literal["none", "fixed", "train"] = "none"
    readout: Literal["fixed", "trained"] = "fixed"
    output: Literal["scalar", "two-output"] = "scalar"
    scaling: Literal["mf", "lazy", "2layer"] = Field(
        "mf", description="IG22 two-output scaling: mean field (lr K), lazy (lr sqrt K), "
                          "trained second layer (lr / D)")


class TrainingSpec(_Table):
    """Online SGD (fresh batch each step) or full-batch gradient descent."""

    lr: PositiveFloat
    steps: int = Field(ge=1, le=MAX_STEPS)
    batch_size: int = Field(ge=1, le=MAX_BATCH)
    init_scale: PositiveFloat = 1e-3
    init: Literal["xavier-normal"] = "xavier-normal"
    mode: Literal["online", "full-batch"] = "online"
    sampler: Literal["batched", "fused"] = Field(
        "batched", description="online SGD: draw batches (batched) or draw each sample "
                               "inside the training kernel (fused; NLGP and NORTA classes)")
    backend: Literal["cpu", "cuda"] = Field(
        "cpu", description="where online SGD runs; cuda needs sampler = 'fused' and a GPU")
    seeds: int = Field(1, ge=1, le=10_000, description="independent SGD runs per init")
    save_every: int | None = Field(None, ge=1)


class TheorySpec(_Table):
    """How the effective ODE is built and integrated."""

    amplifier: Literal["exact", "cubic", "linear", "empirical", "binary", "lsg24-fig3"] = Field(
        "exact", description="exact phi of the class-1 marginal; cubic: the kurtosis-only "
                             "truncation sqrt(2/pi)(a - kappa a^3/6); linear: sqrt(2/pi) a "
                             "(no localization); empirical: the Monte Carlo phi of `samples` "
                             "draws of one pixel; binary: the +-1 (g -> inf) amplifier; "
                             "lsg24-fig3: LSG24's Fig. 3 code (sqrt(2/pi) a - kappa a^3/6, "
                             "pooled sample kappa, no factor p)")
    kappa: Literal["exact", "sample"] = Field(
        "exact", description="kappa of the cubic amplifier: exact, or the sample excess "
                             "kurtosis of `samples` draws of one pixel (LSG24's code)")
    covariances: Literal["analytic", "empirical"] = Field(
        "analytic", description="class covariances: analytic, or X^T X / n of `samples` "
                                "inputs per class")
    samples: int = Field(100_000, ge=100, le=MAX_BATCH,
                         description="draws behind sample kappa, the empirical amplifier and "
                                     "empirical covariances")
    covariance_data: dict[str, Any] = Field(
        default_factory=dict, description="data keys replacing both classes' own for the "
                                          "covariances only (LSG24's peak comparison: g = 100)")
    rate: PositiveFloat = Field(
        1.0, description="ODE time = rate * lr * steps (1: the derivation; LSG24's code 0.5)")
    method: Literal["euler", "rk4", "dopri5"] = "euler"
    dt: PositiveFloat | Literal["lr"] = Field(
        "lr", description='step size; "lr" makes ODE step k line up with SGD step k')


class _Protocol(_Table):
    """Keys every protocol has."""

    paired: bool = Field(
        False, description="every variant draws variant 0's random streams (initial "
                           "conditions, SGD data, theory draws), so variants that differ "
                           "only in the theory side compare on identical runs")


class PeaksProtocol(_Protocol):
    """Peak comparison: the same w0 to the ODE and to SGD, M times, with a noise floor."""

    kind: Literal["peaks"]
    inits: int = Field(28, ge=1, le=100_000)
    full_batch_size: int = Field(50_000, ge=1, le=MAX_BATCH)


class IprProtocol(_Protocol):
    """Final IPR of the ODE and of SGD per variant (a kurtosis sweep, a control)."""

    kind: Literal["ipr"]
    inits: int = Field(4, ge=1, le=100_000)
    cubic: bool = Field(True, description="also integrate the kurtosis-only cubic amplifier")
    kappa_draws: int = Field(
        0, ge=0, le=MAX_BATCH, description="draws of one class-1 pixel behind a sample excess "
                                           "kurtosis shown beside the exact one (0: none; "
                                           "LSG24's axis: 10 000)")


class CommitteeProtocol(_Protocol):
    """K-neuron committee against the single-neuron prediction for each unit."""

    kind: Literal["committee"]
    ode_method: Literal["rk4", "dopri5"] = Field(
        "dopri5", description="integrator of each unit's single-neuron ODE")
    ode_dt: PositiveFloat = Field(0.05, description="its step (rk4) or first trial step")


class IsingExactProtocol(_Protocol):
    """Ising rings: effective ODE against the exact population flow against SGD."""

    kind: Literal["ising-exact"]
    inits: int = Field(28, ge=1, le=100_000)
    tol: PositiveFloat = Field(1e-4, description="error of the exact population term, "
                                                 "per component")


class IcaProtocol(_Protocol):
    """FastICA filters' IPR per variant, beside the single neuron's (LSG24's ICA)."""

    kind: Literal["ica"]
    samples: int = Field(20_000, ge=100, le=MAX_BATCH, description="inputs ICA is fitted on")
    components: int | None = Field(None, ge=1, description="filters (default: N)")
    fun: Literal["auto", "logcosh", "exp", "cube"] = Field(
        "auto", description="FastICA contrast; auto: cube for kappa < 0, exp otherwise")
    inits: int = Field(2, ge=0, le=100_000, description="single-neuron runs beside ICA")
    max_iter: int = Field(200, ge=1, le=100_000, description="FastICA iterations at most")


Protocol = Annotated[PeaksProtocol | IprProtocol | CommitteeProtocol | IsingExactProtocol
                     | IcaProtocol, Field(discriminator="kind")]


class Variant(_Table):
    """One point of a sweep: a label and the overrides that make it."""

    label: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.+-]+$")
    set: dict[str, Any] = Field(default_factory=dict)


def grid_variants(grid: Any) -> list[dict[str, Any]]:
    """The variants of a parameter grid: one per point of the Cartesian product of
    ``grid``'s value lists (dotted keys, first key varying slowest), labelled by the last
    key part and the value (``g0.1-xi3``), or ``v000, v001, ...`` where such labels would
    not be valid or distinct.

    Raises
    ------
    ValueError
        When ``grid`` is not a table of non-empty lists, or has more than 10 000 points.
    """
    if not isinstance(grid, dict) or not grid:
        raise ValueError("grid must be a table of dotted keys to lists of values")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid.{key} must be a non-empty list of values, got {values!r}")
    if math.prod(len(v) for v in grid.values()) > 10_000:
        raise ValueError("grid has more than 10 000 points")

    def word(key: str, value: Any) -> str:
        text = f"{key.rsplit('.', 1)[-1]}{value:g}" if isinstance(value, float) else \
            f"{key.rsplit('.', 1)[-1]}{value}"
        return text if re.fullmatch(r"[A-Za-z0-9_.+]+", text) else ""

    points = list(itertools.product(*grid.values()))
    labels = ["-".join(word(k, v) for k, v in zip(grid, point, strict=True))
              for point in points]
    if any(not lab or len(lab) > 80 or "--" in lab or lab.startswith("-") or
           lab.endswith("-") for lab in labels) or len(set(labels)) != len(labels):
        labels = [f"v{i:03d}" for i in range(len(points))]
    return [{"label": lab, "set": dict(zip(grid, point, strict=True))}
            for lab, point in zip(labels, points, strict=True)]


def _expand_grid(data: Any) -> Any:
    """``grid = {...}`` in a spec or scale table becomes its ``variants`` list."""
    if isinstance(data, dict) and "grid" in data:
        if "variants" in data:
            raise ValueError("give variants or grid, not both")
        data = dict(data)
        data["variants"] = grid_variants(data.pop("grid"))
    return data


class Scale(_Table):
    """A scale: overrides and, optionally, its own variant list (or grid), with a note
    saying why."""

    note: str = ""
    set: dict[str, Any] = Field(default_factory=dict)
    variants: list[Variant] | None = None

    @model_validator(mode="before")
    @classmethod
    def _grid(cls, data: Any) -> Any:
        return _expand_grid(data)


class _Body(_Table):
    """The part of a spec that one run of one variant needs."""

    data: DataSpec
    network: NetworkSpec = NetworkSpec()
    training: TrainingSpec
    theory: TheorySpec = TheorySpec()
    protocol: Protocol


class Case(_Body):
    """One resolved variant: what a protocol runs."""

    label: str

    @model_validator(mode="after")
    def _models_named(self) -> Case:
        for name, params in zip(("positive", "negative"), self.data.class_params(),
                                strict=True):
            if "model" not in params:
                raise ValueError(f"data.{name} needs a 'model' key (in [data] for both "
                                 f"classes, in [data.{name}] or set by the variant)")
        return self

    def task(self) -> TwoClass:
        """The labelled task, built by the data-model registry (:func:`from_params`).

        Built once per distinct data table (resolving, estimating the cost and planning a
        run all ask for it; models such as natural-image patches take seconds to build).

        Raises
        ------
        SpecError
            When a class's parameters are refused; the message names ``data.positive``
            or ``data.negative`` and the model's own reason.
        """
        try:
            return _task(json.dumps(self.data.model_dump(mode="json"), sort_keys=True))
        except ParameterError as exc:
            raise SpecError(f"variant {self.label!r}: {exc}") from None


class Spec(_Body):
    """A whole experiment spec (the root table of a spec file)."""

    schema_: Literal["rfloc.spec/1"] = Field(SCHEMA, alias="schema")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)
    title: str = Field(min_length=1)
    source: str = Field(min_length=1, description="where the protocol comes from")
    claim: str = Field("", description="the source's statement, paraphrased with attribution")
    note: str = Field("", description="rfloc's own remarks: how this spec departs from or "
                                      "extends its source (kept apart from the claim)")
    variants: list[Variant] = Field(default_factory=lambda: [Variant(label="default")],
                                    min_length=1)
    scales: dict[Literal["quick", "full"], Scale] = Field(default_factory=dict)
    scale: Literal["quick", "full"] | None = Field(
        None, description="set when the spec is resolved: the scale it was resolved at")
    scale_note: str = Field("", description="set when resolved: what the scale cut and why")
    set: dict[str, Any] = Field(
        default_factory=dict, description="set when resolved: the scale's and the command "
                                          "line's overrides, applied after each variant's")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _grid(cls, data: Any) -> Any:
        return _expand_grid(data)

    @field_validator("variants")
    @classmethod
    def _distinct_labels(cls, variants: list[Variant]) -> list[Variant]:
        labels = [v.label for v in variants]
        if len(set(labels)) != len(labels):
            raise ValueError(f"variant labels must be distinct, got {labels}")
        return variants

    # ------------------------------------------------------------------ resolution
    def resolve(self, scale: Literal["quick", "full"] = "full",
                overrides: dict[str, Any] | None = None) -> Spec:
        """The spec at ``scale`` with ``overrides`` applied (dotted keys), validated.

        The result has ``scale``, ``scale_note`` and ``set`` (the scale's overrides, then
        ``overrides``; applied to every variant after the variant's own), no ``scales``
        table, and every variant checked (:meth:`cases` and each case's task build), so it
        can be dumped and run as it is.
        """
        if self.scale is not None:
            raise SpecError(f"spec {self.name!r} is already resolved (scale = {self.scale})")
        if scale not in ("quick", "full"):
            raise SpecError(f"scale must be 'quick' or 'full', got {scale!r}")
        raw = self.to_dict()
        chosen = self.scales.get(scale)
        raw.pop("scales", None)
        if chosen is not None and chosen.variants is not None:
            raw["variants"] = [v.model_dump() for v in chosen.variants]
        raw["set"] = {**(chosen.set if chosen is not None else {}), **(overrides or {})}
        raw["scale"] = scale
        raw["scale_note"] = chosen.note if chosen is not None else ""
        out = _validate(raw, origin=self.name)
        for case in out.cases():
            case.task()
        return out

    def cases(self) -> list[Case]:
        """One :class:`Case` per variant (its overrides applied), each validated."""
        body = {k: v for k, v in self.to_dict().items()
                if k in ("data", "network", "training", "theory", "protocol")}
        out = []
        for v in self.variants:
            raw = _apply(_apply(body, v.set, origin=f"variants.{v.label}"), self.set,
                         origin="set")
            raw["label"] = v.label
            try:
                out.append(Case.model_validate(raw))
            except ValidationError as exc:
                raise _spec_error(exc, f"{self.name}, variant {v.label!r}") from None
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data (TOML/JSON types) with the file's key names; None values left out."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


# ---------------------------------------------------------------------- file I/O
def load(source: str | Path | dict[str, Any], *, name: str | None = None) -> Spec:
    """A :class:`Spec` from a TOML file, TOML text parsed to a dict, or a dict.

    Raises
    ------
    SpecError
        Unreadable file, TOML syntax error, or a key that fails validation (one line
        naming the key path, the value and what is allowed).
    """
    if isinstance(source, dict):
        return _validate(source, origin=name or "spec")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"spec file {str(path)!r} cannot be read: {exc.strerror}") from None
    return loads(text, name=name or f"spec file {str(path)!r}")


def loads(text: str, *, name: str = "spec") -> Spec:
    """A :class:`Spec` from TOML text (what :func:`dump` writes)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{name} is not valid TOML: {exc}") from None
    return _validate(raw, origin=name)


def dump(spec: Spec) -> str:
    """The spec as TOML text; ``load`` of it gives an equal :class:`Spec`."""
    return tomli_w.dumps(spec.to_dict())


def dump_case(case: Case) -> str:
    """One resolved variant's tables (data, network, training, theory, protocol) as TOML."""
    return tomli_w.dumps(case.model_dump(mode="json", exclude={"label"}, exclude_none=True))


def parse_override(text: str) -> tuple[str, Any]:
    """``"training.steps=2000"`` -> ``("training.steps", 2000)``; values are TOML values.

    A value that is not valid TOML (a bare word) is taken as a string.
    """
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not key or not value:
        raise SpecError(f"--set needs KEY=VALUE, got {text!r}")
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    return key, parsed


# ---------------------------------------------------------------------- internals
@lru_cache(maxsize=64)
def _task(data_json: str) -> TwoClass:
    """The TwoClass of a data table given as JSON (the cache key); models are read-only."""
    data = DataSpec.model_validate(json.loads(data_json))
    models = []
    for name, params in zip(("positive", "negative"), data.class_params(), strict=True):
        try:
            models.append(from_params(params))
        except ParameterError as exc:
            raise ParameterError(f"data.{name}: {exc}") from None
    try:
        task = TwoClass(models[0], models[1], data.p)
    except ParameterError as exc:
        raise ParameterError(f"data: {exc}") from None
    return task.gaussian_clone() if data.clone else task


def _validate(raw: dict[str, Any], *, origin: str) -> Spec:
    try:
        return Spec.model_validate(raw)
    except ValidationError as exc:
        raise _spec_error(exc, origin) from None


def _spec_error(exc: ValidationError, origin: str) -> SpecError:
    """One line from pydantic's first error: key path, value, what is allowed."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"]]
    if len(loc) >= 2 and loc[0] == "protocol" and loc[1] in (
            "peaks", "ipr", "committee", "ising-exact", "ica"):
        del loc[1]                                    # the union's tag, not a key
    union = [p for p in loc if p.startswith(("constrained-", "literal[", "function-"))]
    loc = [p for p in loc if p not in union]          # a member of a union, not a key
    path = ".".join(loc)
    kind = err["type"]
    if kind == "union_tag_invalid":                   # protocol.kind: name the choices
        ctx = err.get("ctx", {})
        return SpecError(f"{origin}: {path}.{ctx.get('discriminator', 'kind').strip(chr(39))}"
                         f" must be one of {ctx.get('expected_tags')} "
                         f"(got {ctx.get('tag')!r})")
    if kind == "extra_forbidden":
        return SpecError(f"{origin}: unknown key {path!r}")
    if kind == "missing":
        return SpecError(f"{origin}: missing key {path!r}")
    msg = err["msg"].removeprefix("Value error, ")
    if not path:                                      # a whole-table check: its own words
        return SpecError(f"{origin}: {msg}")
    if union and (members := _literals(exc, loc)):   # say every member is allowed
        msg += f", or {members}"
    value = err.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    return SpecError(f"{origin}: {path}: {msg}{shown}")


def _literals(exc: ValidationError, loc: list[str]) -> str:
    """The literal members pydantic offered for the same key (``'lr'`` for ``dt``)."""
    for err in exc.errors(include_url=False):
        here = [str(p) for p in err["loc"]
                if not str(p).startswith(("constrained-", "literal[", "function-"))]
        if err["type"] == "literal_error" and here == loc:
            return str(err.get("ctx", {}).get("expected", ""))
    return ""


def _apply(raw: dict[str, Any], overrides: dict[str, Any], *, origin: str) -> dict[str, Any]:
    """A deep copy of ``raw`` with each dotted key of ``overrides`` set."""
    out = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if not all(parts):
            raise SpecError(f"{origin}: bad key {dotted!r}")
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                where = ".".join(parts[:i + 1])
                raise SpecError(f"{origin}: {dotted!r}: {where!r} is a value, not a table")
            node = nxt
        node[parts[-1]] = copy.deepcopy(value)
    return out
