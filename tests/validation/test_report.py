"""report.md and figures from synthetic results of each protocol kind (no training)."""

import math

import numpy as np
import pytest

from rfloc.validation import report
from rfloc.validation.results import (
    CaseResult,
    CommitteeSummary,
    IprSummary,
    Mean,
    PeaksSummary,
    Provenance,
    Rate,
    Results,
)
from rfloc.validation.spec import load

N = 40
CLAIM = "The effective ODE predicts where the receptive field localizes."
SOURCE = "Lufkin, Saxe & Grant (NeurIPS 2024)"
NOTE = "6 initial conditions instead of 28"


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval from its closed form."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(centre - half, 0.0), min(centre + half, 1.0)   # exact 0 and 1 at k = 0, n


def bump(peak: int, t: int = 3) -> list[list[float]]:
    """A (t, N) trajectory: a ring bump at ``peak`` growing over time."""
    d = np.minimum(np.abs(np.arange(N) - peak), N - np.abs(np.arange(N) - peak))
    return [(0.01 + s * np.exp(-(d**2) / 4.0)).tolist() for s in range(t)]


def rate(k: int, n: int) -> Rate:
    return Rate.of([True] * k + [False] * (n - k))


def spec_dict(kind: str, overrides: dict | None = None, **tables) -> dict:
    raw = {"schema": "rfloc.spec/1", "name": f"test-{kind}", "title": f"A {kind} test",
           "source": SOURCE, "claim": CLAIM,
           "data": {"model": "ising", "n": N, "positive": {"J": 0.7}, "negative": {"J": 0.3}},
           "training": {"lr": 0.05, "steps": 2000, "batch_size": 500},
           "protocol": {"kind": kind}, "scales": {"quick": {"note": NOTE}}, **tables}
    return load(raw).resolve("quick", overrides).to_dict()


TASK = {"model": "two-class", "p": 0.5, "positive": {"model": "ising", "n": N, "J": 0.7},
        "negative": {"model": "ising", "n": N, "J": 0.3}}
PROVENANCE = Provenance(rfloc="0.1.0", python="3.11.9", numpy="2.0.0", scipy="1.14.0",
                        sympy="1.13.0", numba="0.60.0", pydantic="2.8.0",
                        git_commit="0123456789abcdef", command=["rfloc", "run", "ising"],
                        timestamp="2026-11-30T00:00:00+00:00", cores=16, wall_seconds=12.5)


NLGP_TASK = {"model": "two-class", "p": 0.5,
             "positive": {"model": "nlgp", "n": N, "xi": 2.0, "g": 3.0},
             "negative": {"model": "nlgp", "n": N, "xi": 1.0, "g": 3.0}}


def peaks_results(task: dict | None = None) -> Results:
    runs = [{"t": [0.0, 50.0, 100.0], "w_theory": bump(i % N), "w_sim": bump((i + 1) % N),
             "peak_theory": i % N, "peak_sim": (i + 1) % N, "ipr_theory": 0.3,
             "ipr_sim": 0.8, "ode_status": "ok" if i else "diverged"} for i in range(28)]
    summary = PeaksSummary(
        match=rate(21, 28), match_within_1=rate(26, 28), match_emergence=rate(20, 28),
        match_emergence_within_1=rate(25, 28), noise_floor=rate(22, 28),
        noise_floor_within_1=rate(26, 28), full_batch=rate(11, 28),
        full_batch_within_1=rate(0, 28), ipr_theory=Mean.of([r["ipr_theory"] for r in runs]),
        ipr_sim=Mean.of(np.linspace(0.7, 0.9, 28)), centre_offset_theory_sim=0.5,
        centre_offset_sim_repeat=None)
    case = CaseResult(label="large-batch", overrides={"training.batch_size": 5000},
                      task=task or TASK, summary=summary, seeds=[{}] * 28, runs=runs)
    spec = spec_dict("peaks", {"training.steps": 300})       # a command-line override
    return Results(spec=spec, seed=7, provenance=PROVENANCE, cases=[case])


def ipr_results() -> Results:
    cases = []
    for label, kappa, theory, sim in (("kur4.1", math.inf, [math.nan] * 2, [0.03, 0.031]),
                                      ("kur10", -0.93, [0.10, 0.12], [0.11, 0.13]),
                                      ("nlgp100", -2.0, [0.30, 0.34], [0.31, 0.35])):
        runs = [{"ipr_theory_runs": [v], "ipr_sim_runs": [u]}
                for v, u in zip(theory, sim, strict=True)]
        cases.append(CaseResult(
            label=label, overrides={}, task=TASK, seeds=[{}, {}], runs=runs,
            summary=IprSummary(excess_kurtosis=kappa, ipr_theory=Mean.of(theory),
                               ipr_theory_cubic=None, ipr_sim=Mean.of(sim), threshold=0.1,
                               localized_theory=kappa < -1, localized_sim=kappa < 0)))
    return Results(spec=spec_dict("ipr"), seed=0, provenance=PROVENANCE, cases=cases)


def committee_results() -> Results:
    w = np.array([bump(p)[-1] for p in (0, 13, 39)] + [np.ones(N).tolist()])
    ipr = (np.sum(w**4, axis=1) / np.sum(w**2, axis=1) ** 2).tolist()
    case = CaseResult(
        label="alg10", overrides={"network.k": 4}, task=TASK, seeds=[{}],
        runs=[{"w_final": w.tolist(), "ipr": ipr, "ipr_theory": ipr, "accuracy": 0.9}],
        summary=CommitteeSummary(localized_network=rate(3, 4), localized_theory=rate(3, 4),
                                 threshold=0.1, agrees=True, accuracy=0.9))
    spec = spec_dict("committee", network={"k": 4, "activation": "erf"})
    return Results(spec=spec, seed=0, provenance=PROVENANCE, cases=[case])


@pytest.fixture(scope="module", params=["peaks", "ipr", "committee"])
def written(request, tmp_path_factory):
    """(results, folder, report text) for each protocol kind."""
    res = {"peaks": peaks_results, "ipr": ipr_results,
           "committee": committee_results}[request.param]()
    folder = tmp_path_factory.mktemp(request.param)
    res.write(folder / "results.json")
    path = report.write(res, folder)
    assert path == folder / "report.md"
    return res, folder, path.read_text(encoding="utf-8")


FIGURES = {"peaks": ["match_rates.png", "rf_evolution_large-batch.png"],
           "ipr": ["ipr_vs_kappa.png"], "committee": ["committee_rfs_alg10.png"]}


def test_report_and_figures_are_written(written):
    res, folder, text = written
    for name in FIGURES[res.cases[0].summary.kind]:
        assert (folder / name).stat().st_size > 1000
        assert f"]({name})" in text


def test_claim_is_quoted_with_its_source_and_scale_is_stated(written):
    _, _, text = written
    assert f"> {CLAIM}" in text and f"> — {SOURCE}" in text
    assert "source's" in text and "quick" in text and NOTE in text


def test_provenance_is_reported(written):
    res, _, text = written
    p = res.provenance
    for item in (p.git_commit, p.timestamp, "rfloc run ising", "12.5 s", p.numpy, p.numba):
        assert item in text
    assert f"root seed | {res.seed}" in text


def test_rebuild_from_results_json_gives_the_same_report(written):
    _, folder, text = written
    assert report.rebuild(folder).read_text(encoding="utf-8") == text


def test_lsg24_counts_are_shown_only_beside_nlgp_data(tmp_path):
    text = report.write(peaks_results(), tmp_path).read_text(encoding="utf-8")
    assert "24/29" not in text and "## Peak positions\n" in text      # Ising data
    assert "localized (mean IPR above 4/N" in text


def test_rates_carry_n_and_their_wilson_interval(tmp_path):
    text = report.write(peaks_results(NLGP_TASK), tmp_path).read_text(encoding="utf-8")
    for k, n in ((21, 28), (26, 28), (0, 28), (25, 28), (24, 29)):
        low, high = wilson(k, n)
        assert f"{k}/{n} = {k / n:.0%} [95% CI {low:.0%}–{high:.0%}]" in text
    assert "21/28 = 75% [95% CI 57%–87%]" in text            # the example
    assert "(n = 28)" in text                                 # mean IPRs carry n
    assert "NLGP" in text and "within ±1 pixel" in text       # the authors' 26/28 qualified
    assert "failed: 1 of 28" in text
    assert "K = 1, lr = 0.05, batch = 5000, steps = 300" in text   # case override, then set
    assert "`training.steps = 300`" in text


def test_nan_iprs_and_infinite_kurtosis_are_reported_gracefully(tmp_path):
    res = ipr_results()
    text = report.write(res, tmp_path).read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `kur4.1`"))
    assert "| ∞ |" in row and "| – |" in row and "2/2 |" in row
    se = np.std([0.10, 0.12], ddof=1) / math.sqrt(2)
    assert f"0.110 ± {se:.3f} (n = 2)" in text
    low, high = wilson(2, 3)
    assert f"2/3 = 67% [95% CI {low:.0%}–{high:.0%}]" in text   # ODE and SGD agree
    low, high = wilson(0, 1)
    assert f"κ ≥ 0 (∞ included) that localize: SGD 0/1 = 0% [95% CI {low:.0%}–{high:.0%}]" \
        in text


def test_infinite_kurtosis_is_drawn_at_the_right_edge_with_an_infinity_tick():
    res = ipr_results()
    cfgs = [{"network": {}, "training": res.spec["training"]}] * 3
    ax = report._ipr_kappa_figure(res.cases, cfgs).axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-1] == "∞"
    assert ax.get_xticks()[-1] > max(-0.93, -2.0)


@pytest.mark.parametrize("peak", [0, N - 1, 17])
def test_centre_on_peak_puts_the_peak_in_the_central_pixel(peak):
    w = np.zeros(N)
    w[peak], w[(peak - 1) % N], w[(peak + 1) % N] = 1.0, 0.5, 0.25
    rolled, pixels = report.centre_on_peak(w, peak)
    c = N // 2
    assert np.argmax(rolled) == c and pixels[c] == peak
    assert rolled[c - 1] == 0.5 and rolled[c + 1] == 0.25     # wrap-around neighbours kept
    np.testing.assert_array_equal(rolled[pixels.argsort()], w)
    traj, _ = report.centre_on_peak(np.vstack([0.1 * w, w]), peak)
    assert traj.shape == (2, N) and np.all(np.argmax(traj, axis=1) == c)
