r"""``report.md`` and its PNG figures, rebuilt from one ``results.json`` alone.

A report quotes the spec's ``claim`` with its ``source``, says that those are the source's
words and numbers, and puts rfloc's measurements next to them: every rate as
``k/n = rate [95 % Wilson interval]`` (:class:`~rfloc.validation.results.Rate`), every
mean IPR with its standard error and n (:class:`~rfloc.validation.results.Mean`). It
states the scale the spec ran at (and, for ``quick``, what that scale cut) and ends with
the provenance of the run. See ``docs/validation.md``.

Figures (Agg canvas, no pyplot state):

- ``peaks`` — ``match_rates.png`` (agreement rates with Wilson error bars per case) and
  ``rf_evolution_<case>.png`` (RF heatmaps over time, ODE and SGD side by side);
- ``ipr`` — ``ipr_vs_kappa.png`` (final IPR against the exact excess kurtosis, κ = ∞ at
  the right edge, the localization threshold);
- ``committee`` — ``committee_rfs_<case>.png`` (the final RF of every unit and its IPR;
  2D units as images);
- ``ising-exact`` — ``three_way_<case>.png`` (RF heatmaps of effective ODE, exact flow and
  SGD; mean IPR and ODE–exact cosine over time);
- ``ica`` — ``ica_vs_kappa.png`` (ICA filters' and the single neuron's IPR against κ) and
  ``ica_filters_<case>.png``.

Every RF drawn on a ring or torus is rolled so that its final peak sits in the central
pixel (:func:`centre_on_peak`); fields with open boundaries are drawn as learnt.
"""

from __future__ import annotations

import copy
import json
import math
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from rfloc import io
from rfloc.numerics import metrics
from rfloc.numerics.laws import EmpiricalLaw
from rfloc.validation.results import (
    CaseResult,
    CommitteeSummary,
    IcaSummary,
    IprSummary,
    IsingExactSummary,
    Mean,
    PeaksSummary,
    Rate,
    Results,
)
from rfloc.validation.spec import TheorySpec

__all__ = ["LSG24_PEAK_COUNTS", "centre_on_peak", "figure", "rebuild", "rf_heatmap", "write"]

#: LSG24's stored peak-comparison counts (authors' code, github leonlufkin/Localization):
#: NLGP data, N = 40, ξ = (1, 2), 1 ReLU, lr 0.02, 10 000 steps, batch 50 000;
#: ``(gain, (exact hits, n), (hits within ±1 pixel, n))`` for the final-step argmax |w|.
LSG24_PEAK_COUNTS: tuple[tuple[str, tuple[int, int], tuple[int, int]], ...] = (
    ("1.1", (25, 28), (26, 28)),
    ("3", (24, 28), (26, 28)),
    ("100", (24, 29), (26, 29)),
)

#: RF heatmaps drawn per peaks case (the first initial conditions)
HEATMAP_INITS = 3

_S = TypeVar("_S", PeaksSummary, IprSummary, CommitteeSummary, IsingExactSummary,
             IcaSummary)
_CMAP = mpl.colormaps["RdBu_r"].with_extremes(bad="0.75")
_CLASS_KEYS = (("J", "J"), ("xi", "ξ"), ("g", "g"), ("marginal", "marginal"),
               ("radial", "radial"), ("nu", "ν"))


# ============================================================================ public API
def write(results: Results, folder: Path) -> Path:
    """Write the figures and ``report.md`` of ``results`` into ``folder``.

    Parameters
    ----------
    results : Results
        A run of a spec (:class:`~rfloc.validation.results.Results`).
    folder : Path
        Output folder (created if missing); figures and ``report.md`` are overwritten.

    Returns
    -------
    Path
        ``folder / "report.md"``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    spec = results.spec
    md = [*_header(results), *_claim(spec), *_scale(spec)]
    for kind, section in (("peaks", _peaks_section), ("ipr", _ipr_section),
                          ("committee", _committee_section),
                          ("ising-exact", _ising_exact_section), ("ica", _ica_section)):
        cases = [c for c in results.cases if c.summary.kind == kind]
        if cases:
            md += section(spec, cases, folder)
    md += [*_setup(spec), *_provenance(results)]
    path = folder / "report.md"
    io.write_text(path, "\n".join(md) + "\n")
    return path


def rebuild(folder: Path) -> Path:
    """Rewrite the report of ``folder`` from ``folder/results.json`` alone.

    Returns
    -------
    Path
        ``folder / "report.md"``.
    """
    folder = Path(folder)
    return write(Results.read(folder / "results.json"), folder)


def centre_on_peak(w: np.ndarray, peak: int) -> tuple[np.ndarray, np.ndarray]:
    """Roll ring RFs so that pixel ``peak`` lands in the central pixel ``N // 2``.

    Parameters
    ----------
    w : array_like, shape (..., N)
        RFs on a ring of N pixels (a trajectory (T, N) is rolled by one shift).
    peak : int
        The pixel to centre (taken mod N, so the wrap-around pixel ``N - 1`` works).

    Returns
    -------
    rolled : ndarray, shape (..., N)
        ``rolled[..., j] = w[..., (j - N//2 + peak) mod N]``.
    pixels : ndarray of int, shape (N,)
        The original pixel shown at each position of ``rolled``.
    """
    arr = np.asarray(w, dtype=np.float64)
    n = arr.shape[-1]
    shift = n // 2 - int(peak) % n
    return np.roll(arr, shift, axis=-1), np.roll(np.arange(n), shift)


# ============================================================================ formatting
def _num(x: float | None, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits; None/NaN as "–", ±inf as "±∞"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:.{digits}g}"


def _mean(m: Mean | None) -> str:
    """``mean ± se (n = …)``; "–" when there are no finite values."""
    if m is None or m.n == 0:
        return "–"
    se = "no SE" if m.se is None else f"± {m.se:.3f}"
    return f"{m.mean:.3f} {se} (n = {m.n})"


def _value(v: Any) -> str:
    """A spec value as TOML-like text (tables inline)."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return _num(v, 6)
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _rate_of(k: int, n: int) -> Rate:
    return Rate.of([True] * k + [False] * (n - k))


def _summary(case: CaseResult, kind: type[_S]) -> _S:
    """The case's summary as ``kind`` (:func:`write` hands each section its own kind)."""
    s = case.summary
    if not isinstance(s, kind):
        raise TypeError(f"case {case.label!r} has a {s.kind!r} summary, not {kind.__name__}")
    return s


# ====================================================================== case settings
def _case_config(spec: dict[str, Any], case: CaseResult) -> dict[str, Any]:
    """The spec's network/training/theory/protocol tables as the case ran them: the case's
    overrides, then the resolved spec's ``set`` (scale and command line) on top."""
    cfg = {k: copy.deepcopy(spec.get(k, {}))
           for k in ("network", "training", "theory", "protocol")}
    for dotted, value in {**case.overrides, **spec.get("set", {})}.items():
        *path, last = dotted.split(".")
        if path and path[0] in cfg:
            node = cfg
            for part in path:
                node = node.setdefault(part, {})
            node[last] = value
    return cfg


def _unwrap(params: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The model params behind a Gaussian clone, and whether it was one."""
    if params.get("model") == "gaussian-clone":
        return params["of"], True
    return params, False


def _pixels(params: dict[str, Any]) -> int | None:
    """Number of pixels N of a data model's params (side ``n`` to the power ``dim``)."""
    inner, _ = _unwrap(params)
    if "cov" in inner:
        return len(inner["cov"])
    side = inner.get("n", inner.get("size"))      # "size": natural-image patches
    if side is not None:
        return int(side) ** int(inner.get("dim") or 1)
    return None


def _data_text(task: dict[str, Any]) -> str:
    """``"nlgp, ξ = 0.7 / 0.3 (label 1 / 0), g = 3, N = 40"`` from TwoClass params."""
    pos, pos_clone = _unwrap(task.get("positive", {}))
    neg, neg_clone = _unwrap(task.get("negative", {}))
    names = [("Gaussian clone of " if clone else "") + str(m.get("model", "?"))
             for m, clone in ((pos, pos_clone), (neg, neg_clone))]
    parts = [names[0] if names[0] == names[1] else " / ".join(names)]
    for key, name in _CLASS_KEYS:
        a, b = pos.get(key), neg.get(key)
        if a is None and b is None:
            continue
        if a == b:
            parts.append(f"{name} = {_value(a)}")
        else:
            parts.append(f"{name} = {_value(a)} / {_value(b)} (label 1 / 0)")
    parts.append(f"N = {_pixels(task.get('positive', {}))}")
    if pos.get("boundary") == "open":
        parts.append("open boundaries")
    if task.get("p") not in (None, 0.5):
        parts.append(f"p = {_value(task['p'])}")
    return ", ".join(parts)


def _run_text(*cfgs: dict[str, Any]) -> str:
    """``"K = 1, lr = 0.05, batch = 500, steps = 2000"`` of the cases' network and training;
    a setting that differs between cases reads ``"batch = per case"``."""
    fields = []
    for name, table, key in (("K", "network", "k"), ("lr", "training", "lr"),
                             ("batch", "training", "batch_size"),
                             ("steps", "training", "steps")):
        values = {_value(c[table].get(key, 1 if key == "k" else None)) for c in cfgs}
        fields.append(f"{name} = {values.pop() if len(values) == 1 else 'per case'}")
    return ", ".join(fields)


def _common(values: Sequence[str]) -> str:
    """The one value all cases share, or "varies by case"."""
    return values[0] if len(set(values)) == 1 else "varies by case"


def _case_heading(case: CaseResult, cfg: dict[str, Any]) -> list[str]:
    sets = ", ".join(f"`{k} = {_value(v)}`" for k, v in case.overrides.items())
    theory = _theory_text(cfg, case.runs[0] if case.runs else {}, case.task)
    return [f"### Case `{case.label}`", "",
            f"Data: {_data_text(case.task)}." + (f" Case overrides: {sets}." if sets else "")
            + (f" Theory side as run (after every override): {theory}." if theory else ""),
            ""]


#: what each ``theory.amplifier`` integrates, in words
_AMPLIFIER_TEXT = {
    "exact": "exact φ of the class-1 pixel law",
    "cubic": "kurtosis-only cubic φ",
    "linear": "linear (Gaussian) φ",
    "empirical": "Monte Carlo φ of sampled pixels",
    "binary": "±1 (g → ∞) φ",
    "lsg24-fig3": "LSG24's fig. 3 update (their code, labelled as theirs)",
}


def _count(n: int, noun: str) -> str:
    """``"1 initial condition"``, ``"4 initial conditions"``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


#: data models given as samples: their "exact" amplifier and "analytic" covariances are
#: those of the sample
_SAMPLED = ("empirical", "natural-patches")


def _theory_text(cfg: dict[str, Any], run: dict[str, Any],
                 task: dict[str, Any] | None = None) -> str:
    """The case's theory side in words (empty for a network without an ODE)."""
    if cfg["network"].get("output") == "two-output":
        return ""
    th = {**TheorySpec().model_dump(mode="json"), **cfg.get("theory", {})}
    amp = th["amplifier"]
    sampled = task is not None and _unwrap(task.get("positive", {}))[0].get("model") in _SAMPLED
    parts = ["Monte Carlo φ of the class-1 sample" if sampled and amp == "exact" else
             _AMPLIFIER_TEXT.get(amp, str(amp))]
    kappa = run.get("kappa_theory")
    if amp == "cubic":
        parts[0] += (f" with κ = {_num(kappa)}" if kappa is not None else "") + (
            f" (sample of {th['samples']} pixels)" if th["kappa"] == "sample" else " (exact)")
    elif amp == "lsg24-fig3" and kappa is not None:
        parts[0] += f", pooled sample κ = {_num(kappa)} of {th['samples']} inputs"
    elif amp == "empirical":
        parts[0] += f" ({th['samples']} draws)"
    parts.append(("the data model's covariances (estimated from its sample)" if sampled
                  else "analytic covariances") if th["covariances"] == "analytic" else
                 f"empirical covariances of {th['samples']} inputs per class")
    if th["covariance_data"]:
        parts.append(f"covariances of the data with {_value(th['covariance_data'])}")
    if float(th["rate"]) != 1.0:
        parts.append(f"rate {_num(float(th['rate']))} × the derived one")
    if cfg["protocol"].get("kind") != "committee":
        parts.append(f"{th.get('method', 'euler')}, dt = {_value(th.get('dt', 'lr'))}")
    return "; ".join(parts)


# ============================================================================ sections
def _header(results: Results) -> list[str]:
    spec = results.spec
    return [f"# {spec.get('title', spec.get('name', 'rfloc validation'))}", "",
            f"rfloc validation report for spec `{spec.get('name')}`: protocol "
            f"`{spec.get('protocol', {}).get('kind')}`, {spec.get('scale')} scale, root seed "
            f"{results.seed}, {len(results.cases)} case(s). Every rate is given as "
            "k/n = rate with its 95 % Wilson score interval; every mean IPR as mean ± "
            "standard error over initial conditions (or units) with its n.", ""]


def _claim(spec: dict[str, Any]) -> list[str]:
    source = spec.get("source", "")
    claim = spec.get("claim", "")
    note = spec.get("note", "")
    notes = ["## rfloc's notes on this spec", "", note, ""] if note else []
    if not claim:
        return ["## What the source says", "",
                f"The spec states no claim of its source ({source}).", "", *notes]
    quoted = [f"> {line}" if line else ">" for line in claim.splitlines()]
    return ["## What the source says", "", *quoted, ">", f"> — {source}", "",
            "The statement above paraphrases the source; its numbers are the source's, "
            "not rfloc's. rfloc's own measurements on this spec follow, next to them.", "",
            *notes]


def _scale(spec: dict[str, Any]) -> list[str]:
    scale, note = spec.get("scale"), spec.get("scale_note", "")
    if scale == "quick":
        cut = (f" It cuts: {note}." if note else
               " The spec does not say what this scale cuts.")
        text = (f"This run used the **quick** scale.{cut} Its samples are smaller than the "
                "protocol's, so its intervals are wider; compare intervals, not point "
                "values.")
    else:
        text = f"This run used the **{scale}** scale." + (f" {note}" if note else "")
    sets = ", ".join(f"`{k} = {_value(v)}`" for k, v in spec.get("set", {}).items())
    if sets:
        text += f" Overrides applied to every case (scale and command line): {sets}."
    return ["## Scale", "", text, ""]


def _setup(spec: dict[str, Any]) -> list[str]:
    body = {k: spec[k] for k in ("data", "network", "training", "theory", "protocol",
                                 "variants", "set") if k in spec}
    return ["## The resolved spec", "",
            "The spec as it ran: each case applies its own overrides (`variants`), then "
            "`set` (the scale's and the command line's overrides).", "",
            "<details><summary>resolved spec (JSON)</summary>", "", "```json",
            json.dumps(body, indent=2, ensure_ascii=False), "```", "", "</details>", ""]


def _provenance(results: Results) -> list[str]:
    p = results.provenance
    rows = [("rfloc", p.rfloc), ("Python", p.python), ("NumPy", p.numpy),
            ("SciPy", p.scipy), ("SymPy", p.sympy), ("Numba", p.numba),
            ("pydantic", p.pydantic), ("git commit", p.git_commit or "– (not a checkout)"),
            ("command", f"`{shlex.join(p.command)}`"), ("timestamp (UTC)", p.timestamp),
            ("cores", str(p.cores)), ("wall time", f"{p.wall_seconds:.1f} s"),
            ("root seed", str(results.seed)), ("scale", str(results.spec.get("scale")))]
    return ["## Provenance", "", *_table(["", ""], rows), ""]


# ------------------------------------------------------------------------------ peaks
_PEAK_ROWS = (  # (table row, figure legend, exact field, within-±1 field)
    ("ODE final peak vs SGD final peak", "ODE final", "match", "match_within_1"),
    ("ODE peak at emergence (IPR first ≥ 4/N) vs SGD final peak", "ODE at emergence",
     "match_emergence", "match_emergence_within_1"),
    ("noise floor: SGD vs a second SGD run from the same w0", "noise floor (SGD vs SGD)",
     "noise_floor", "noise_floor_within_1"),
    ("ODE final peak vs full-batch GD final peak", "ODE vs full batch", "full_batch",
     "full_batch_within_1"),
)


def _peaks_section(spec: dict[str, Any], cases: list[CaseResult],
                   folder: Path) -> list[str]:
    cfgs = [_case_config(spec, c) for c in cases]
    sums = [_summary(c, PeaksSummary) for c in cases]
    def lsg24_like(task: dict[str, Any]) -> bool:       # NLGP at LSG24's gains (>= 1.1)
        model = _unwrap(task.get("positive", {}))[0]
        return model.get("model") == "nlgp" and float(model.get("g", 0.0)) >= 1.0

    ours = [[f"`{c.label}`", _data_text(c.task), str(s.match), str(s.match_within_1)]
            for c, s in zip(cases, sums, strict=True)]
    if all(lsg24_like(c.task) for c in cases):
        md = ["## Peak positions: the source's numbers and rfloc's", "",
              "LSG24's own stored counts (authors' code) are on **NLGP** data (N = 40, "
              "ξ = (1, 2), lr 0.02, 10 000 steps, batch 50 000), and their often-quoted 26/28 "
              "is a **within ±1 pixel** count; their exact counts are lower. Their theory side "
              "used the g → ∞ amplifier and the g = 100 covariance for every gain at half the "
              "rate; rfloc integrates the derivation with each case's own data model unless "
              "the case states another theory side below. rfloc's rows are this run's, on the "
              "data named in the row.", "",
              *_table(["numbers from", "data", "final peak, exact",
                       "final peak, within ±1 px"],
                      [*(["LSG24 (authors' stored results)",
                          f"NLGP g = {g}, ξ = (1, 2), N = 40", str(_rate_of(*exact)),
                          str(_rate_of(*near))] for g, exact, near in LSG24_PEAK_COUNTS),
                       *([f"rfloc, case {row[0]}", *row[1:]] for row in ours)]), ""]
    else:
        md = ["## Peak positions", "",
              *_table(["case", "data", "final peak, exact", "final peak, within ±1 px"],
                      ours), ""]
    bars = _save(_match_rate_figure(cases, cfgs), folder / "match_rates.png")
    md += [f"![peak agreement rates with 95 % Wilson intervals]({bars})", ""]
    for case, cfg in zip(cases, cfgs, strict=True):
        md += _peaks_case(case, cfg, folder)
    return md


def _yes(m: Mean, n_pixels: int) -> str:
    return "–" if m.mean is None else ("yes" if m.mean > 4 / n_pixels else "no")


def _peaks_case(case: CaseResult, cfg: dict[str, Any], folder: Path) -> list[str]:
    s = _summary(case, PeaksSummary)
    n_pixels = _pixels(case.task.get("positive", {})) or 1
    failed = sum(r.get("ode_status", "ok") != "ok" for r in case.runs)
    rows = [(name, str(getattr(s, exact)), str(getattr(s, near)))
            for name, _, exact, near in _PEAK_ROWS]
    fig = _save(_rf_evolution_figure(case, cfg),
                folder / f"rf_evolution_{case.label}.png")
    return [*_case_heading(case, cfg),
            f"{_run_text(cfg)}; {_count(len(case.runs), 'initial condition')}.", "",
            *_table(["comparison", "exact", "within ±1 pixel"], rows), "",
            f"- Final IPR, mean ± SE over initial conditions: ODE {_mean(s.ipr_theory)}, "
            f"SGD {_mean(s.ipr_sim)}; localized (mean IPR above 4/N = "
            f"{_num(4 / n_pixels)}): ODE {_yes(s.ipr_theory, n_pixels)}, "
            f"SGD {_yes(s.ipr_sim, n_pixels)}. Peak agreement means little where the RFs "
            f"do not localize.",
            f"- Median |RF-centre offset| (circular mean of w²), in pixels: ODE–SGD "
            f"{_num(s.centre_offset_theory_sim, 2)}, SGD–SGD "
            f"{_num(s.centre_offset_sim_repeat, 2)}.",
            f"- ODE integrations that failed: {failed} of {len(case.runs)}.", "",
            f"![RF evolution, case {case.label}]({fig})", ""]


# -------------------------------------------------------------------------------- ipr
def _ipr_section(spec: dict[str, Any], cases: list[CaseResult],
                 folder: Path) -> list[str]:
    rows = []
    sums = [_summary(c, IprSummary) for c in cases]
    cfgs = [_case_config(spec, c) for c in cases]
    for c, s, cfg in zip(cases, sums, cfgs, strict=True):
        total = sum(len(r.get("ipr_theory_runs", [])) for r in c.runs)
        kappa = _num(s.excess_kurtosis) + ("" if s.kurtosis_interval is None else
                                           " [{}, {}] (sample)".format(
                                               *map(_num, s.kurtosis_interval)))
        if s.kappa_sample is not None:
            kappa += f" (sample of {spec['protocol']['kappa_draws']}: {_num(s.kappa_sample)})"
        if s.kappa_cubic is not None and s.kappa_cubic != s.excess_kurtosis:
            kappa += f" (cubic φ used {_num(s.kappa_cubic)})"
        rows.append([f"`{c.label}`", _data_text(c.task), kappa,
                     _theory_text(cfg, c.runs[0] if c.runs else {}, c.task),
                     _mean(s.ipr_theory), _mean(s.ipr_theory_cubic), _mean(s.ipr_sim),
                     _num(s.threshold), "yes" if s.localized_theory else "no",
                     "yes" if s.localized_sim else "no", f"{total - s.ipr_theory.n}/{total}"])
    agree = Rate.of([s.localized_theory == s.localized_sim for s in sums])
    md = ["## Final IPR against the excess kurtosis", "",
          "κ is the exact excess kurtosis of the class-1 pixel marginal (∞ when E X⁴ is "
          "infinite), not a sample estimate — except for data given as samples, where it is "
          "the sample estimate with its 95 % interval. Where a spec asks for it, the sample "
          "excess kurtosis of one pixel (as LSG24's kurtosis figure used) is given beside "
          "it. IPRs are mean ± SE over initial "
          "conditions; "
          "'localized' means mean IPR above the threshold 4/N.", "",
          *_table(["case", "data", "κ", "ODE's theory side", "IPR ODE", "IPR ODE (cubic φ)",
                   "IPR SGD",
                   "threshold", "localized ODE", "localized SGD", "ODE failed (NaN IPR)"],
                  rows), "",
          f"ODE and SGD agree on localization in {agree} cases.", "",
          *_sign_rule(sums), ""]
    if any(s.excess_kurtosis is not None for s in sums):
        fig = _save(_ipr_kappa_figure(cases, cfgs), folder / "ipr_vs_kappa.png")
        md += [f"![final IPR against excess kurtosis]({fig})", ""]
    else:
        md += ["No case has a known excess kurtosis: no IPR–κ figure.", ""]
    phi = _save(_amplifier_figure(cases), folder / "amplifiers.png")
    md += ["The exact amplifier of each case's class-1 pixel law (what the derivation "
           "integrates; a case with another theory side says so in its row), as its "
           "departure from the Gaussian line √(2/π) a (above: super-linear, localizing; "
           "below: sub-linear); for data given as samples with its 95 % Monte Carlo band.",
           "", f"![amplifiers]({phi})", ""]
    return md


def _sign_rule(sums: list[IprSummary]) -> list[str]:
    """Localized cases on each side of κ = 0 (LSG24: localization when κ < 0)."""
    lines = []
    for name, side in (("κ < 0", lambda k: k < 0), ("κ ≥ 0 (∞ included)", lambda k: k >= 0)):
        group = [s for s in sums if s.excess_kurtosis is not None and side(s.excess_kurtosis)]
        lines.append(f"- Cases with {name} that localize: SGD "
                     f"{Rate.of([s.localized_sim for s in group])}, ODE "
                     f"{Rate.of([s.localized_theory for s in group])}.")
    return lines


# -------------------------------------------------------------------------- committee
def _committee_section(spec: dict[str, Any], cases: list[CaseResult],
                       folder: Path) -> list[str]:
    cfgs = [_case_config(spec, c) for c in cases]
    two = any(c["network"].get("output") == "two-output" for c in cfgs)
    md = ["## Committees: localized units" + ("" if two else
                                               ", network against the single-neuron ODE"), "",
          ("IG22's two-output network has no single-neuron ODE: only the network's units "
           "are scored. " if two else
           "Each unit's initial RF is integrated with the single-neuron ODE as if it were "
           "alone. ") + "A unit counts as localized when its final IPR exceeds the threshold "
          "4/N; a white-noise-like RF has IPR about 3/N (standard deviation about "
          "10/N^1.5), so a noisy unit can land just above 4/N — the figure shows each unit."
          + (" With IG22's biases, units are also counted per half: the units whose bias "
             "starts at +b are the ones that can form localized RFs; those starting at −b "
             "end noise-like." if two else ""), ""]
    for case, cfg in zip(cases, cfgs, strict=True):
        s = _summary(case, CommitteeSummary)
        run = case.runs[0]
        rows = [("localized units, network", str(s.localized_network)),
                ("mean unit IPR, network", _mean(Mean.of(run.get("ipr", []))))]
        if s.localized_by_bias is not None:
            rows += [("localized units whose bias started at +b (units 0 … K/2 − 1)",
                      str(s.localized_by_bias["plus"])),
                     ("localized units whose bias started at −b (the others)",
                      str(s.localized_by_bias["minus"]))]
        if s.localized_theory is not None:
            rows += [("localized units, single-neuron ODE", str(s.localized_theory)),
                     ("majority verdicts agree", "yes" if s.agrees else "no"),
                     ("mean unit IPR, ODE", _mean(Mean.of(run.get("ipr_theory", []))))]
        rows += [("threshold 4/N", _num(s.threshold)),
                 ("test accuracy (2000 held-out samples)", _num(s.accuracy))]
        fig = _save(_committee_figure(case, cfg), folder / f"committee_rfs_{case.label}.png")
        md += [*_case_heading(case, cfg),
               f"{_run_text(cfg)}, activation {cfg['network'].get('activation', 'relu')}.",
               "", *_table(["", ""], rows), "", f"![committee RFs, case {case.label}]({fig})",
               ""]
    return md


# ============================================================================= figures
def figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas (no pyplot, no global backend state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: Path) -> str:
    """Save ``fig`` as PNG and return its file name (for the markdown link)."""
    fig.savefig(path, dpi=110)
    return path.name


def _per_row_scaled(w: np.ndarray) -> np.ndarray:
    """Each row divided by its max |w| (rows that are zero or NaN become NaN)."""
    scale = np.max(np.abs(w), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, w / scale, np.nan)


def _cell_edges(t: np.ndarray) -> np.ndarray:
    """Edges of cells centred on the save times ``t`` (midpoints; ends mirrored)."""
    if len(t) == 1:
        return np.array([t[0] - 0.5, t[0] + 0.5])
    mid = 0.5 * (t[1:] + t[:-1])
    return np.concatenate([[2 * t[0] - mid[0]], mid, [2 * t[-1] - mid[-1]]])


def _pixel_ticks(ax: Axes, pixels: np.ndarray, axis: str) -> None:
    """Label five positions of a rolled ring axis with their original pixel numbers."""
    n = len(pixels)
    pos = sorted({0, n // 4, n // 2, (3 * n) // 4, n - 1})
    setter = ax.set_yticks if axis == "y" else ax.set_xticks
    setter(pos, [str(pixels[p]) for p in pos])


def _match_rate_figure(cases: list[CaseResult], cfgs: list[dict[str, Any]]) -> Figure:
    series = [(f"{short}, {tol}", key) for _, short, exact, near in _PEAK_ROWS
              for tol, key in (("exact", exact), ("±1 px", near))]
    sums = [_summary(c, PeaksSummary) for c in cases]
    fig = figure(max(7.0, 2.4 * len(cases) + 3.5), 4.2)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    x = np.arange(len(cases))
    for j, (name, key) in enumerate(series):
        rates = [getattr(s, key) for s in sums]
        mid = np.array([np.nan if r.rate is None else r.rate for r in rates])
        err = np.array([[0.0, 0.0] if r.rate is None else [r.rate - r.low, r.high - r.rate]
                        for r in rates]).T
        ax.bar(x + (j - (len(series) - 1) / 2) * width, mid, width, yerr=err, capsize=2,
               label=name, color=mpl.colormaps["tab20"](j))
    ax.set_xticks(x, [f"{c.label}\n(n = {s.match.n})" for c, s in zip(cases, sums, strict=True)])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of initial conditions")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    data = _common([_data_text(c.task) for c in cases])
    ax.set_title(f"Peak agreement with 95 % Wilson intervals\n{data}; "
                 f"{_run_text(*cfgs)}", fontsize=9)
    return fig


def rf_heatmap(fig: Figure, ax: Axes, t: np.ndarray, w: np.ndarray, peak: int, *,
               colorbar: bool = True) -> None:
    """Draw receptive fields ``w`` (T, N) over times ``t`` (T,) on ``ax``: each row scaled
    to max |w| = 1, the ring rolled so pixel ``peak`` is central, with a colourbar."""
    rolled, pixels = centre_on_peak(w, peak)
    image = ax.pcolormesh(_cell_edges(t), np.arange(len(pixels) + 1) - 0.5,
                          np.ma.masked_invalid(_per_row_scaled(rolled).T), cmap=_CMAP,
                          vmin=-1, vmax=1)
    if colorbar:
        fig.colorbar(image, ax=ax, label="w / max |w| at each t")
    _pixel_ticks(ax, pixels, "y")
    ax.set_ylabel("pixel (final peak centred)")


def _rf_evolution_figure(case: CaseResult, cfg: dict[str, Any]) -> Figure:
    runs = case.runs[:HEATMAP_INITS]
    fig = figure(10.0, 2.8 * len(runs) + 0.6)
    axes = fig.subplots(len(runs), 2, squeeze=False)
    for i, (row, run) in enumerate(zip(axes, runs, strict=True)):
        t = np.asarray(run["t"], dtype=np.float64)
        for ax, side, title in ((row[0], "theory", "effective ODE"), (row[1], "sim", "SGD")):
            w = np.asarray(run[f"w_{side}"], dtype=np.float64)[: len(t)]
            rf_heatmap(fig, ax, t, w, run[f"peak_{side}"])
            ax.set_title(f"init {i}, {title}: final peak pixel {run[f'peak_{side}']}, "
                         f"IPR {_num(run.get(f'ipr_{side}'))}", fontsize=9)
            ax.set_xlabel("t = lr · step")
    shown = (f" (the first {len(runs)} of {len(case.runs)} initial conditions)"
             if len(case.runs) > len(runs) else "")
    fig.suptitle(f"{case.label}: RF evolution{shown} — {_data_text(case.task)};\n"
                 f"{_run_text(cfg)}", fontsize=10)
    return fig


def _kappa_positions(kappas: list[float]) -> tuple[np.ndarray, float]:
    """x positions of κ values: finite ones as they are, κ = ∞ at a point right of them."""
    finite = [k for k in kappas if math.isfinite(k)]
    top = max(finite, default=0.0)
    x_inf = 2.0 * top if top >= 1 else top + 2.0
    return np.array([k if math.isfinite(k) else x_inf for k in kappas]), x_inf


def _kappa_ticks(ax: Axes, x: np.ndarray, x_inf: float) -> None:
    """Round ticks within the finite κ range, plus "∞" at ``x_inf`` when it is used."""
    finite = x[x < x_inf]                       # x_inf lies right of every finite κ
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    ticks = [float(v) for v in (-2, -1, 0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10_000)
             if lo - 0.5 <= v <= hi * 1.2 + 0.5]
    labels = [f"{v:g}" for v in ticks]
    if finite.size < x.size:
        ticks.append(x_inf)
        labels.append("∞")
        ax.axvline(0.5 * (hi + x_inf) if hi < 1 else math.sqrt(hi * x_inf), color="0.6",
                   ls=":", lw=1)
    ax.set_xticks(ticks, labels)


def _ipr_kappa_figure(cases: list[CaseResult], cfgs: list[dict[str, Any]]) -> Figure:
    shown = [(c, s) for c in cases
             if (s := _summary(c, IprSummary)).excess_kurtosis is not None]
    x, x_inf = _kappa_positions([float(s.excess_kurtosis or 0.0) for _, s in shown])
    fig = figure(7.5, 4.5)
    ax = fig.add_subplot()
    ax.set_xscale("symlog", linthresh=1.0)
    for attr, marker, name in (("ipr_sim", "o", "SGD"),
                               ("ipr_theory", "s", "ODE (case's theory φ)"),
                               ("ipr_theory_cubic", "^", "ODE, cubic φ (κ only)")):
        means = [getattr(s, attr) for _, s in shown]
        if all(m is None or m.n == 0 for m in means):
            continue
        y = [np.nan if m is None or m.mean is None else m.mean for m in means]
        err = [0.0 if m is None or m.se is None else m.se for m in means]
        ax.errorbar(x, y, yerr=err, fmt=marker, capsize=3, label=f"{name} (mean ± SE)",
                    alpha=0.85)
    for (c, s), xi in zip(shown, x, strict=True):
        if s.ipr_sim.mean is not None:
            ax.annotate(c.label, (xi, s.ipr_sim.mean), fontsize=6,
                        textcoords="offset points", xytext=(3, 3))
    for level in sorted({s.threshold for _, s in shown}):
        ax.axhline(level, color="k", ls="--", lw=0.8,
                   label=f"localized above 4/N = {_num(level)}")
    _kappa_ticks(ax, x, x_inf)
    ax.set_xlabel("exact excess kurtosis κ of the class-1 pixel marginal (symlog axis)")
    ax.set_ylabel("final IPR")
    ax.legend(fontsize=7)
    ax.set_title(f"Final IPR against κ — {_run_text(*cfgs)}; "
                 f"N = {_common([str(_pixels(c.task.get('positive', {}))) for c, _ in shown])}",
                 fontsize=9)
    return fig


def _amplifier_figure(cases: list[CaseResult]) -> Figure:
    """phi(a) - sqrt(2/pi) a of each case's ODE amplifier (with the band of a sample)."""
    from rfloc.numerics.data import from_params
    from rfloc.validation.theory_side import theory_amplifier

    a = np.linspace(-0.99, 0.99, 199)
    line = math.sqrt(2.0 / math.pi) * a
    fig = figure(7.5, 4.5)
    ax = fig.add_subplot()
    for c in cases:
        task = from_params(c.task)
        curve = ax.plot(a, theory_amplifier(task)(a) - line, label=c.label, lw=1.2)
        law = getattr(task.positive, "marginal", None)
        if isinstance(law, EmpiricalLaw):
            value, half = law.phi(a)
            ax.fill_between(a, value - half - line, value + half - line, alpha=0.25,
                            color=curve[0].get_color(), lw=0)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel("a")
    ax.set_ylabel("φ(a) − √(2/π) a")
    ax.legend(fontsize=7)
    ax.set_title("Amplifier of the class-1 pixel marginal, against the Gaussian line",
                 fontsize=9)
    return fig


def _rolled_units(w: np.ndarray) -> np.ndarray:
    """Each row of ``w`` (K, N) rolled so its own peak (argmax |w|) is central."""
    return np.array([centre_on_peak(row, int(np.argmax(np.abs(row))))[0] for row in w])


def _image_side(task: dict[str, Any]) -> int | None:
    """Side of the class-1 images when the task is 2D, else None."""
    inner, _ = _unwrap(task.get("positive", {}))
    n = _pixels(task.get("positive", {}))
    return math.isqrt(n) if n is not None and int(inner.get("dim") or 1) == 2 else None


def _periodic(task: dict[str, Any]) -> bool:
    """Whether the class-1 field wraps around (ring or torus; not open boundaries)."""
    inner, _ = _unwrap(task.get("positive", {}))
    return inner.get("boundary", "periodic") == "periodic"


def _committee_images(case: CaseResult, cfg: dict[str, Any], side: int) -> Figure:
    """2D committee RFs as images: on a torus each unit rolled so its peak is central."""
    run = case.runs[0]
    periodic = _periodic(case.task)
    w = np.atleast_2d(np.asarray(run["w_final"], dtype=np.float64))
    ipr = np.asarray(run.get("ipr", []), dtype=np.float64)
    cols = min(len(w), 10)
    rows = -(-len(w) // cols)
    fig = figure(1.3 * cols + 1.2, 1.45 * rows + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    im = None
    for k, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= len(w):
            ax.set_axis_off()
            continue
        img = w[k].reshape(side, side)
        if periodic:
            r, c = np.unravel_index(int(np.argmax(np.abs(img))), img.shape)
            img = np.roll(img, (side // 2 - r, side // 2 - c), axis=(0, 1))
        im = ax.imshow(_per_row_scaled(img.ravel()).reshape(side, side), cmap=_CMAP,
                       vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"unit {k}" + (f", IPR {ipr[k]:.3f}" if k < len(ipr) else ""),
                     fontsize=7)
    if im is not None:
        fig.colorbar(im, ax=axes.tolist(), label="w / max |w| per unit", shrink=0.8)
    threshold = _summary(case, CommitteeSummary).threshold
    where = (f"the {side} × {side} torus, each rolled so its peak is central" if periodic
             else f"{side} × {side} images with open boundaries, as learnt")
    fig.suptitle(f"{case.label}: committee RFs on {where} (4/N = {threshold:.3g})\n"
                 f"{_data_text(case.task)}\n"
                 f"{_run_text(cfg)}, {cfg['network'].get('activation', 'relu')}", fontsize=9)
    return fig


def _committee_figure(case: CaseResult, cfg: dict[str, Any]) -> Figure:
    side = _image_side(case.task)
    if side is not None:
        return _committee_images(case, cfg, side)
    run = case.runs[0]
    w = np.atleast_2d(np.asarray(run["w_final"], dtype=np.float64))
    periodic = _periodic(case.task)
    rolled = _rolled_units(w) if periodic else w
    units = np.arange(len(w))
    fig = figure(11.0, 1.5 + 0.25 * len(w))
    left, right = fig.subplots(1, 2, width_ratios=(3, 1), sharey=True)
    im = left.imshow(_per_row_scaled(rolled), aspect="auto", cmap=_CMAP, vmin=-1, vmax=1,
                     interpolation="nearest", origin="lower",
                     extent=(-0.5, w.shape[1] - 0.5, -0.5, len(w) - 0.5))
    fig.colorbar(im, ax=left, label="w / max |w| per unit")
    if periodic:
        left.set_xticks([0, w.shape[1] // 2, w.shape[1] - 1],
                        [f"−{w.shape[1] // 2}", "0 (peak)",
                         f"+{w.shape[1] - 1 - w.shape[1] // 2}"])
        left.set_xlabel("pixel offset from the unit's own peak (ring)")
    else:
        left.set_xlabel("pixel (open boundaries, not rolled)")
    left.set_ylabel("unit")
    for key, style, name in (("ipr", {"marker": "o", "ms": 8, "mfc": "none"}, "network"),
                             ("ipr_theory", {"marker": "x", "ms": 6}, "ODE")):
        ipr = np.asarray(run.get(key, []), dtype=np.float64)
        if ipr.size:
            right.plot(ipr, units[: len(ipr)], ls="none", label=name, **style)
    right.axvline(_summary(case, CommitteeSummary).threshold, color="k", ls="--", lw=0.8,
                  label="4/N")
    right.set_xlabel("final IPR")
    right.legend(fontsize=7)
    fig.suptitle(f"{case.label}: committee RFs — {_data_text(case.task)};\n{_run_text(cfg)}, "
                 f"{cfg['network'].get('activation', 'relu')}", fontsize=10)
    return fig


# ------------------------------------------------------------------------ ising-exact
_EXACT_ROWS = (  # (table row, summary field prefix)
    ("effective ODE vs exact population flow", "theory_exact"),
    ("exact population flow vs SGD", "exact_sim"),
    ("effective ODE vs SGD", "theory_sim"),
    ("noise floor: SGD vs a second SGD run from the same w0", "noise_floor"),
)


def _ising_exact_section(spec: dict[str, Any], cases: list[CaseResult],
                         folder: Path) -> list[str]:
    md = ["## Effective ODE, exact population flow and SGD on Ising rings", "",
          "The exact flow integrates dw/dt = 2p E₁[x Θ(w·x)] − Σ̄w with the population term "
          "computed through the transfer matrix (docs/theory.md §7), with the ODE's method "
          "and step; final peaks are argmax |w|. The departure time is the first time the "
          "cosine between effective ODE and exact flow falls below 0.99.", ""]
    for case in cases:
        cfg = _case_config(spec, case)
        s = _summary(case, IsingExactSummary)
        rows = [(name, str(getattr(s, key)), str(getattr(s, f"{key}_within_1")))
                for name, key in _EXACT_ROWS]
        fig = _save(_three_way_figure(case, cfg), folder / f"three_way_{case.label}.png")
        t_total = float(cfg["training"]["lr"]) * int(cfg["training"]["steps"])
        md += [*_case_heading(case, cfg),
               f"{_run_text(cfg)}; {_count(len(case.runs), 'initial condition')}.",
               "", *_table(["final peaks", "exact", "within ±1 pixel"], rows), "",
               f"- Final IPR, mean ± SE: effective ODE {_mean(s.ipr_theory)}, exact flow "
               f"{_mean(s.ipr_exact)}, SGD {_mean(s.ipr_sim)}.",
               f"- ODE departs from the exact flow (cosine < 0.99) in {s.departed}; departure "
               f"time (gradient-flow time t = lr × step, of {_num(t_total)}) mean "
               f"{_mean(s.t_departure)}, median {_num(s.t_departure_median)}.", "",
               f"![three-way comparison, case {case.label}]({fig})", ""]
    return md


def _three_way_figure(case: CaseResult, cfg: dict[str, Any]) -> Figure:
    runs = case.runs[:2]
    sides = (("theory", "effective ODE"), ("exact", "exact flow"), ("sim", "SGD"))
    fig = figure(12.0, 2.6 * len(runs) + 3.0)
    grid = fig.add_gridspec(len(runs) + 1, 3)
    for i, run in enumerate(runs):
        t = np.asarray(run["t"], dtype=np.float64)
        for j, (side, title) in enumerate(sides):
            ax = fig.add_subplot(grid[i, j])
            w = np.asarray(run[f"w_{side}"], dtype=np.float64)[: len(t)]
            rf_heatmap(fig, ax, t, w, run[f"peak_{side}"], colorbar=False)
            ax.set_title(f"init {i}, {title}: peak {run[f'peak_{side}']}, "
                         f"IPR {_num(run.get(f'ipr_{side}'))}", fontsize=8)
            ax.set_xlabel("t = lr · step", fontsize=8)
    left, right = fig.add_subplot(grid[-1, :2]), fig.add_subplot(grid[-1, 2])
    t = np.asarray(case.runs[0]["t"], dtype=np.float64)
    for side, title in sides:
        ipr = np.array([metrics.ipr(np.asarray(r[f"w_{side}"])[: len(t)])
                        for r in case.runs])
        left.plot(t, ipr.mean(axis=0), label=f"{title} (mean over inits)")
    left.set_xlabel("t = lr · step")
    left.set_ylabel("IPR")
    left.legend(fontsize=7)
    cos = np.array([np.asarray(r["cosine_theory_exact"], dtype=np.float64)[: len(t)]
                    for r in case.runs])
    right.plot(t, cos.T, color="0.6", lw=0.6)
    right.plot(t, np.median(cos, axis=0), color="k", label="median")
    right.axhline(0.99, color="r", ls="--", lw=0.8, label="0.99")
    right.set_xlabel("t = lr · step")
    right.set_ylabel("cosine(ODE, exact flow)")
    right.legend(fontsize=7)
    fig.suptitle(f"{case.label}: {_data_text(case.task)}; {_run_text(cfg)}", fontsize=10)
    return fig


# -------------------------------------------------------------------------------- ica
def _ica_section(spec: dict[str, Any], cases: list[CaseResult],
                 folder: Path) -> list[str]:
    rows = []
    for c in cases:
        s = _summary(c, IcaSummary)
        rows.append([f"`{c.label}`", _data_text(c.task), _num(s.excess_kurtosis), s.fun,
                     _mean(s.ipr_ica), str(s.localized_ica), "yes" if s.converged else "no",
                     _mean(s.ipr_sim), _mean(s.ipr_theory)])
    cfgs = [_case_config(spec, c) for c in cases]
    fig = _save(_ica_kappa_figure(cases, cfgs), folder / "ica_vs_kappa.png")
    md = ["## ICA filters beside the single neuron (LSG24's ICA extension)", "",
          "FastICA (scikit-learn) is fitted on the labelled inputs; each unmixing filter is "
          "scored by its IPR, and a filter counts as localized above 4/N. κ is the exact "
          "excess kurtosis of the class-1 pixel marginal.", "",
          *_table(["case", "data", "κ", "contrast", "IPR ICA filters", "localized filters",
                   "converged", "IPR SGD (1 neuron)", "IPR ODE"], rows), "",
          f"![IPR against kappa, ICA and single neuron]({fig})", ""]
    for case in cases:
        name = _save(_ica_filters_figure(case), folder / f"ica_filters_{case.label}.png")
        md += [f"![ICA filters, case {case.label}]({name})", ""]
    return md


def _ica_kappa_figure(cases: list[CaseResult], cfgs: list[dict[str, Any]]) -> Figure:
    sums = [_summary(c, IcaSummary) for c in cases]
    x, x_inf = _kappa_positions([float(s.excess_kurtosis) if s.excess_kurtosis is not None
                                 else 0.0 for s in sums])
    fig = figure(7.5, 4.5)
    ax = fig.add_subplot()
    ax.set_xscale("symlog", linthresh=1.0)
    for attr, marker, name in (("ipr_ica", "D", "ICA filters"), ("ipr_sim", "o", "SGD, 1 neuron"),
                               ("ipr_theory", "s", "effective ODE")):
        means = [getattr(s, attr) for s in sums]
        y = [np.nan if m.mean is None else m.mean for m in means]
        err = [0.0 if m.se is None else m.se for m in means]
        ax.errorbar(x, y, yerr=err, fmt=marker, capsize=3, label=f"{name} (mean ± SE)",
                    alpha=0.85)
    for c, xi, s in zip(cases, x, sums, strict=True):
        if s.ipr_ica.mean is not None:
            ax.annotate(c.label, (xi, s.ipr_ica.mean), fontsize=6, textcoords="offset points",
                        xytext=(3, 3))
    ax.axhline(sums[0].threshold, color="k", ls="--", lw=0.8, label="4/N")
    _kappa_ticks(ax, x, x_inf)
    ax.set_xlabel("exact excess kurtosis κ of the class-1 pixel marginal (symlog axis)")
    ax.set_ylabel("IPR")
    ax.legend(fontsize=7)
    ax.set_title(f"ICA filters and one ReLU neuron — {_run_text(*cfgs)}", fontsize=9)
    return fig


def _ica_filters_figure(case: CaseResult) -> Figure:
    w = np.atleast_2d(np.asarray(case.runs[0]["filters"], dtype=np.float64))
    rolled = _rolled_units(w)
    order = np.argsort(-np.asarray(case.runs[0]["ipr"], dtype=np.float64))
    fig = figure(8.0, 1.5 + 0.12 * len(w))
    ax = fig.add_subplot()
    im = ax.imshow(_per_row_scaled(rolled[order]), aspect="auto", cmap=_CMAP, vmin=-1,
                   vmax=1, interpolation="nearest")
    fig.colorbar(im, ax=ax, label="filter / max |filter|")
    ax.set_xlabel("pixel, rolled so that each filter's peak is central")
    ax.set_ylabel("filter (by IPR, highest first)")
    s = _summary(case, IcaSummary)
    ax.set_title(f"{case.label}: ICA filters ({s.fun}), IPR {_mean(s.ipr_ica)} — "
                 f"{_data_text(case.task)}", fontsize=9)
    return fig
