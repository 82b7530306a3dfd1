"""Figures (PNG) and ``report.md`` for each validation experiment."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rfloc import io

__all__ = ["write"]


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(x)
    if isinstance(x, float) and not math.isfinite(x):
        return "∞" if x > 0 else ("−∞" if x < 0 else "nan")
    return f"{x:.{digits}g}"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c) if not isinstance(c, str) else c for c in r) + " |"
              for r in rows]
    return "\n".join(lines)


def _save(fig: plt.Figure, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


# ------------------------------------------------------------------ peaks
def _heatmaps(regime: dict, path: Path, n_show: int = 3) -> str:
    runs = regime["runs"][:n_show]
    fig, axes = plt.subplots(len(runs), 2, figsize=(9, 2.6 * len(runs)), squeeze=False)
    for row, r in zip(axes, runs, strict=True):
        t = np.asarray(r["t"])
        for ax, key, title in ((row[0], "w_theory", "effective ODE"),
                               (row[1], "w_sim", "SGD")):
            w = np.asarray(r[key])[: len(t)]
            w = w / np.max(np.abs(w), axis=1, keepdims=True)
            ax.imshow(w.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, origin="lower",
                      extent=(t[0], t[-1], -0.5, w.shape[1] - 0.5), interpolation="nearest")
            peak = r["peak_theory"] if key == "w_theory" else r["peak_sim"]
            ax.set_title(f"{title}: final peak {peak}, IPR "
                         f"{r['ipr_theory' if key == 'w_theory' else 'ipr_sim']:.2f}",
                         fontsize=9)
            ax.set_xlabel("t = lr · step")
            ax.set_ylabel("pixel")
    fig.suptitle(f"{regime['label']}: RF evolution (each time slice scaled to max |w| = 1)",
                 fontsize=10)
    return _save(fig, path)


def _match_bars(regimes: list[dict], path: Path) -> str:
    labels = [r["label"] for r in regimes]
    x = np.arange(len(labels))
    series = [("theory at emergence vs SGD, exact", "match_rate_emergence"),
              ("theory at emergence vs SGD, ±1", "match_rate_emergence_within_1"),
              ("theory at the end vs SGD, exact", "match_rate"),
              ("theory at the end vs SGD, ±1", "match_rate_within_1"),
              ("noise floor (SGD vs SGD), exact", "noise_floor"),
              ("noise floor, ±1", "noise_floor_within_1"),
              ("theory vs full batch, exact", "full_batch_match_rate")]
    fig, ax = plt.subplots(figsize=(max(6, 2.2 * len(labels)), 4))
    width = 0.8 / len(series)
    for j, (name, key) in enumerate(series):
        ax.bar(x + (j - len(series) / 2 + 0.5) * width, [r[key] for r in regimes], width,
               label=name)
    ax.set_xticks(x, labels)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of initial conditions")
    ax.axhline(26 / 28, color="k", ls=":", lw=1, label="paper: 26/28")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    return _save(fig, path)


def _peaks_md(name: str, res: dict, folder: Path) -> list[str]:
    md = []
    rows = []
    for r in res["regimes"]:
        p = r["params"]
        m = p["inits"]
        rows.append([r["label"], p["batch_size"], p["init_scale"], p["steps"], p["lr"],
                     f"{round(r['match_rate_emergence'] * m)}/{m}",
                     f"{round(r['match_rate_emergence_within_1'] * m)}/{m}",
                     f"{round(r['match_rate'] * m)}/{m}",
                     f"{round(r['match_rate_within_1'] * m)}/{m}",
                     f"{round(r['noise_floor'] * m)}/{m}",
                     f"{round(r['noise_floor_within_1'] * m)}/{m}",
                     f"{round(r['full_batch_match_rate'] * m)}/{m}",
                     r["centre_offset_theory_sim"], r["centre_offset_sim_repeat"],
                     r["ipr_theory_mean"], r["ipr_sim_mean"]])
    md.append(_table(["regime", "batch", "init scale", "steps", "lr", "peak match at emergence",
                      "±1 at emergence", "peak match at the end", "±1 at the end",
                      "noise floor", "floor ±1", "theory vs full batch",
                      "centre offset theory–SGD", "centre offset SGD–SGD", "IPR theory",
                      "IPR SGD"], rows))
    md.append("")
    md.append("*At emergence*: the ODE's peak when its IPR first reaches 4/N (the effective "
              "ODE is an early-time theory); *at the end*: its peak at the last step. Both "
              "against SGD's final peak. *Noise floor*: two SGD runs from the same w0 with "
              "independent data streams. "
              "*Full batch*: deterministic gradient descent on one fixed large sample. "
              "*Centre offset*: median |difference| of the RFs' circular centres "
              "(weights w_i^2), in pixels.")
    md.append(f"\n![match rates]({_match_bars(res['regimes'], folder / 'match_rates.png')})")
    for r in res["regimes"]:
        fig = _heatmaps(r, folder / f"rf_evolution_{r['label']}.png")
        md.append(f"\n![RF evolution {r['label']}]({fig})")
    return md


# --------------------------------------------------------------- IPR sweeps
def _factor(res: dict) -> str:
    """The localization threshold's factor (IPR > factor / N) of a sweep or committee run."""
    return _fmt(res["params"]["localization_factor"])


def _ipr_vs_kappa(res: dict, path: Path) -> str:
    rows = [r for r in res["rows"] if r["excess_kurtosis"] is not None]
    k = np.array([r["excess_kurtosis"] for r in rows], dtype=float)
    k_plot = np.where(np.isfinite(k), k, np.nanmax(np.where(np.isfinite(k), k, np.nan)) + 1)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for key, marker, label in (("ipr_sim", "o", "SGD"), ("ipr_theory", "s", "ODE, exact φ"),
                               ("ipr_theory_cubic", "^", "ODE, cubic φ (κ only)")):
        y = [r.get(key) for r in rows]
        if all(v is None for v in y):
            continue
        ax.scatter(k_plot, [np.nan if v is None else v for v in y], marker=marker,
                   label=label, alpha=0.8)
    ax.axvline(0, color="k", lw=0.8)
    for level in sorted({r["localized_ipr"] for r in rows}):
        ax.axhline(level, color="gray", ls="--", lw=0.8,
                   label=f"localized threshold {_fmt(level)}")
    ax.set_xlabel("excess kurtosis κ of the pixel marginal")
    ax.set_ylabel("final IPR (mean over inits)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _amplifier_curves(res: dict, path: Path) -> str:
    from rfloc.numerics.data import from_params
    from rfloc.validation.tasks import theory_amplifier

    a = np.linspace(-0.999, 0.999, 400)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for r in res["rows"]:
        table = theory_amplifier(from_params(r["task"]))
        k = r["excess_kurtosis"]
        ax.plot(a, table(a) - math.sqrt(2 / math.pi) * a,
                label=f"{r['model']} {_fmt(r['param'])} (κ={_fmt(k, 2)})")
    ax.set_xlabel("a")
    ax.set_ylabel("φ(a) − √(2/π) a  (departure from linear)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _ipr_md(res: dict, folder: Path, name: str) -> list[str]:
    rows = [[r["model"], r["param"], r["excess_kurtosis"], r["ipr_theory"],
             r["ipr_theory_cubic"], r["ipr_sim"], r["localized_theory"], r["localized_sim"]]
            for r in res["rows"]]
    md = [_table(["model", "param", "κ", "IPR ODE", "IPR ODE cubic", "IPR SGD",
                  "localized (ODE)", "localized (SGD)"], rows), "",
          f"Localized means mean IPR > {_factor(res)}/N; theory and SGD agree "
          f"on {res['agreement']:.0%} of the {len(res['rows'])} rows."]
    md.append(f"\n![IPR vs kappa]({_ipr_vs_kappa(res, folder / 'ipr_vs_kappa.png')})")
    md.append(f"\n![amplifiers]({_amplifier_curves(res, folder / 'amplifiers.png')})")
    return md


# -------------------------------------------------------------------- many
def _many_md(res: dict, folder: Path) -> list[str]:
    rows = [[r["model"], r["K"], r["activation"], r["predicted_fraction"],
             r["fraction_localized"], r["agrees"], r["accuracy"]] for r in res["rows"]]
    md = [_table(["data", "K", "activation", "fraction localized (single-neuron ODE)",
                  "fraction localized (network)", "agrees", "test accuracy"], rows), "",
          f"Localized means IPR > {_factor(res)}/N. The ODE integrates each "
          "neuron's own initial RF as if it were alone (readout 1/K): the prediction is "
          "qualitative."]
    ncols = min(4, len(res["rows"]))
    nrows = math.ceil(len(res["rows"]) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 3.2 * nrows), squeeze=False)
    for ax in axes.flat[len(res["rows"]):]:
        ax.axis("off")
    for ax, r in zip(axes.flat, res["rows"], strict=False):
        w = np.asarray(r["w_final"])
        w = w / np.max(np.abs(w), axis=1, keepdims=True)
        ax.imshow(w, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"{r['model']}, {r['activation']}, K={r['K']}: "
                     f"{r['fraction_localized']:.0%} localized", fontsize=9)
        ax.set_xlabel("pixel")
        ax.set_ylabel("neuron")
    md.append(f"\n![many-neuron RFs]({_save(fig, folder / 'many_rfs.png')})")
    return md


def write(name: str, res: dict, folder: Path) -> None:
    """Write ``folder/report.md`` and its figures for experiment ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    md = [f"# rfloc validation: {name}", "",
          f"rfloc {res['meta']['rfloc']}, {'quick' if res['meta']['quick'] else 'full'} run, "
          f"seed {res['meta']['seed']}.", ""]
    if name in ("ising", "nlgp"):
        md += _peaks_md(name, res, folder)
    elif name in ("kurtosis", "elliptical"):
        md += _ipr_md(res, folder, name)
    elif name == "many":
        md += _many_md(res, folder)
    io.write_text(folder / "report.md", "\n".join(md) + "\n")
