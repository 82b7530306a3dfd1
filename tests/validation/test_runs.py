"""Running specs: the results schema, resuming, reproducibility, and the shipped quick scales."""

from __future__ import annotations

import json
import math

import jsonschema
import numpy as np
import pytest

from rfloc import io
from rfloc.validation import catalog
from rfloc.validation.executor import make_executor
from rfloc.validation.results import Rate, Results, json_schema, schema_path
from rfloc.validation.runner import run_spec
from rfloc.validation.spec import SpecError, load
from rfloc.validation.tasks import peak_task

TINY = {
    "schema": "rfloc.spec/1", "name": "tiny", "title": "tiny", "source": "a test",
    "claim": "Nothing in particular.",
    "data": {"model": "ising", "n": 12, "positive": {"J": 0.7}, "negative": {"J": 0.3}},
    "training": {"lr": 0.05, "steps": 60, "batch_size": 50, "save_every": 20},
    "protocol": {"kind": "peaks", "inits": 3, "full_batch_size": 300},
}


def _validate(folder) -> dict:
    doc = io.read_json(folder / "results.json")
    jsonschema.validate(doc, json.loads(schema_path().read_text()))
    return doc


def test_shipped_json_schema_is_the_schema_of_the_results_model():
    assert json.loads(schema_path().read_text()) == json_schema()


def test_wilson_interval_against_its_closed_form():
    z = 1.959963984540054
    for k, n in ((0, 5), (21, 28), (28, 28), (3, 7)):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        r = Rate.of([True] * k + [False] * (n - k))
        assert (r.k, r.n) == (k, n)
        assert r.low == pytest.approx(centre - half, abs=1e-12)
        assert r.high == pytest.approx(centre + half, abs=1e-12)


def test_peaks_run_validates_resumes_and_reproduces(tmp_path):
    spec = load(TINY).resolve("full")
    res = run_spec(spec, tmp_path, seed=3, progress=False)
    folder = tmp_path / "tiny"
    doc = _validate(folder)
    assert (folder / "report.md").is_file()
    assert Results.read(folder / "results.json") == res
    case = res.cases[0]
    summary = case.summary
    assert summary.match.n == 3 and summary.noise_floor.n == 3
    assert summary.match.rate == np.mean([r["peak_theory"] == r["peak_sim"] for r in case.runs])
    assert doc["provenance"]["command"] and doc["spec"]["scale"] == "full"
    # a task reruns bit for bit from its stored arguments
    run0 = case.runs[0]
    again = peak_task(case.task, run0["w0"], 0.05, 60, 50, case.seeds[0], 300, 20,
                      theory=spec.cases()[0].theory.model_dump(exclude={"covariances"}))
    assert np.array_equal(np.asarray(again["w_sim"]), np.asarray(run0["w_sim"]))
    # resuming: the stored tasks are read back, not recomputed
    stored = sorted((folder / "tasks" / "full").glob("*.json"))
    mtimes = [p.stat().st_mtime_ns for p in stored]
    assert run_spec(spec, tmp_path, seed=3, progress=False).cases == res.cases
    assert [p.stat().st_mtime_ns for p in stored] == mtimes


def test_results_do_not_depend_on_worker_count_or_later_variants(tmp_path):
    alone = load(TINY).resolve("full")
    more = load({**TINY, "variants": [{"label": "default"},
                                      {"label": "other", "set": {"data.positive.J": 0.9}}]}
                ).resolve("full")
    a = run_spec(alone, tmp_path / "a", seed=5, progress=False).cases[0]
    with make_executor(2) as ex:
        b = run_spec(more, tmp_path / "b", ex, seed=5, progress=False).cases[0]
    assert a.seeds == b.seeds
    assert [r["w_sim"] for r in a.runs] == [r["w_sim"] for r in b.runs]


def test_ipr_and_committee_runs_validate(tmp_path):
    ipr = {**TINY, "name": "tiny-ipr",
           "data": {"model": "nlgp", "n": 16, "g": 3.0, "positive": {"xi": 3.0},
                    "negative": {"xi": 1.0}},
           "protocol": {"kind": "ipr", "inits": 2}}
    res = run_spec(load(ipr).resolve("full"), tmp_path, progress=False)
    s = res.cases[0].summary
    assert s.ipr_sim.n == 2 and s.threshold == pytest.approx(4 / 16)
    assert s.excess_kurtosis < 0 and s.ipr_theory_cubic is not None
    _validate(tmp_path / "tiny-ipr")
    com = {**ipr, "name": "tiny-committee", "network": {"k": 3},
           "protocol": {"kind": "committee"}}
    res = run_spec(load(com).resolve("full"), tmp_path, progress=False)
    assert res.cases[0].summary.localized_network.n == 3
    _validate(tmp_path / "tiny-committee")
    two = {**com, "name": "tiny-two-output",
           "network": {"k": 4, "output": "two-output", "activation": "erf"},
           "training": {"lr": 0.05, "steps": 30, "batch_size": 4}}
    res = run_spec(load(two).resolve("full"), tmp_path, progress=False)
    assert res.cases[0].summary.localized_theory is None
    _validate(tmp_path / "tiny-two-output")


@pytest.mark.slow
@pytest.mark.parametrize("name", catalog.names())
def test_every_shipped_spec_runs_at_its_quick_scale(name, tmp_path):
    """Each shipped quick scale runs, validates against the schema and keeps its claim."""
    with make_executor(2) as ex:
        res = run_spec(catalog.get(name).resolve("quick"), tmp_path, ex, progress=False)
    _validate(tmp_path / name)
    for case in res.cases:
        s = case.summary
        if s.kind == "ipr" and name in ("kurtosis", "kurtosis-sweep", "elliptical"):
            # LSG24's claim: negative excess kurtosis localizes, positive does not;
            # controls (Gaussian clone, elliptical) never do.
            control = case.label in ("gaussian-clone", "shell", "student-t3")
            expected = (s.excess_kurtosis < -0.5) and not control
            if control or s.excess_kurtosis > 0 or s.excess_kurtosis < -0.5:
                assert s.localized_sim == expected, case.label
        if s.kind == "peaks" and name == "ising" and case.label == "large-batch":
            assert s.match_within_1.rate >= 0.5
    # committee claims: LSG24 figs. 1 and 5, IG22 (NLGP localizes more units than its clone)
    rates = {c.label: c.summary.localized_network.rate for c in res.cases
             if c.summary.kind == "committee"}
    if name == "blobs-2d":
        assert rates["nlgp100"] > 0.5 > rates["laplace"]
    if name == "committee-erf":
        assert rates["alg10-K10"] > 0.5 > rates["alg4-K10"]
    if name.startswith("nlgp-vs-gp"):                 # the units whose bias starts at +b
        plus = {c.label: c.summary.localized_by_bias["plus"].rate for c in res.cases}
        assert plus["nlgp"] >= 0.75 > 0.25 >= plus["gp"]


def test_ipr_run_reports_the_sample_kappa_beside_the_exact_one(tmp_path):
    """kappa_draws: a sample excess kurtosis of one pixel; theory.kappa = 'sample': the cubic
    amplifier's kappa is an estimate. For ±1 pixels both are -2 up to 4 m^2 (m the sample
    mean, SE 1/sqrt(n))."""
    spec = {**TINY, "name": "tiny-kappa", "theory": {"kappa": "sample", "samples": 4000},
            "protocol": {"kind": "ipr", "inits": 1, "kappa_draws": 4000}}
    res = run_spec(load(spec).resolve("full"), tmp_path, progress=False)
    s = res.cases[0].summary
    assert s.excess_kurtosis == pytest.approx(-2.0, abs=1e-12)          # exact
    assert -2.0 <= s.kappa_sample < -2.0 + 0.02
    assert -2.0 <= s.kappa_cubic < -2.0 + 0.02 and s.kappa_cubic != s.kappa_sample
    _validate(tmp_path / "tiny-kappa")
    assert "sample of 4000" in (tmp_path / "tiny-kappa" / "report.md").read_text()


def test_paired_variants_share_inits_and_sgd_runs(tmp_path):
    """protocol.paired: the theory variant changes the ODE, not w0 or SGD (bit for bit)."""
    spec = {**TINY, "name": "tiny-paired", "protocol": {**TINY["protocol"], "inits": 2,
                                                        "paired": True},
            "variants": [{"label": "derivation"},
                         {"label": "half-rate", "set": {"theory.rate": 0.5}}]}
    res = run_spec(load(spec).resolve("full"), tmp_path, progress=False)
    a, b = res.cases
    for ra, rb in zip(a.runs, b.runs, strict=True):
        assert ra["w0"] == rb["w0"] and ra["w_sim"] == rb["w_sim"]
        assert ra["w_theory"] != rb["w_theory"]
    unpaired = {**spec, "name": "tiny-unpaired", "protocol": TINY["protocol"]}
    c, d = run_spec(load(unpaired).resolve("full"), tmp_path, progress=False).cases
    assert c.runs[0]["w0"] != d.runs[0]["w0"]


@pytest.mark.parametrize("key", ["init_scale = 0.1", "sampler = 'fused'", "seeds = 3"])
def test_two_output_refuses_training_keys_it_would_ignore(tmp_path, key):
    name, value = key.split(" = ")
    two = {**TINY, "name": "tiny-two", "network": {"k": 2, "output": "two-output"},
           "training": {"lr": 0.05, "steps": 5, "batch_size": 2,
                        name: eval(value)},
           "protocol": {"kind": "committee"}}
    with pytest.raises(SpecError, match=f"training.{name}"):
        run_spec(load(two).resolve("full"), tmp_path, progress=False)
