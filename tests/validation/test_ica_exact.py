"""The ising-exact and ica protocols: tiny runs validated against the shipped schema."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

from rfloc import io
from rfloc.validation.results import IcaSummary, IsingExactSummary, schema_path
from rfloc.validation.runner import run_spec
from rfloc.validation.spec import SpecError, load
from rfloc.validation.tasks import ica_contrast

EXACT = {
    "schema": "rfloc.spec/1", "name": "tiny-exact", "title": "tiny", "source": "a test",
    "data": {"model": "ising", "n": 12, "positive": {"J": 0.7}, "negative": {"J": 0.3}},
    "training": {"lr": 0.05, "steps": 60, "batch_size": 50, "save_every": 20},
    "protocol": {"kind": "ising-exact", "inits": 3, "tol": 1e-4},
}
ICA = {
    "schema": "rfloc.spec/1", "name": "tiny-ica", "title": "tiny", "source": "a test",
    "data": {"model": "nlgp", "n": 12, "g": 3.0, "positive": {"xi": 3.0},
             "negative": {"xi": 1.0}},
    "training": {"lr": 0.05, "steps": 60, "batch_size": 50},
    "protocol": {"kind": "ica", "samples": 2000, "inits": 1, "max_iter": 100},
}


def _validate(folder) -> dict:
    doc = io.read_json(folder / "results.json")
    jsonschema.validate(doc, json.loads(schema_path().read_text()))
    assert (folder / "report.md").is_file()
    return doc


def test_ising_exact_run_validates(tmp_path):
    res = run_spec(load(EXACT).resolve("full"), tmp_path, seed=2, progress=False)
    _validate(tmp_path / "tiny-exact")
    assert (tmp_path / "tiny-exact" / "three_way_default.png").is_file()
    case = res.cases[0]
    s = case.summary
    assert isinstance(s, IsingExactSummary) and s.theory_exact.n == 3
    assert s.exact_sim.rate == np.mean([r["peak_exact"] == r["peak_sim"] for r in case.runs])
    for run in case.runs:
        cos = np.asarray(run["cosine_theory_exact"])
        assert cos[0] == pytest.approx(1.0) and len(cos) == len(run["t"])
        departed = run["t_departure"]
        assert departed is None or 0 < departed <= 0.05 * 60


def test_ica_run_validates(tmp_path):
    res = run_spec(load(ICA).resolve("full"), tmp_path, seed=1, progress=False)
    _validate(tmp_path / "tiny-ica")
    s = res.cases[0].summary
    assert isinstance(s, IcaSummary) and s.fun == "cube" and s.excess_kurtosis < 0
    assert s.ipr_ica.n == 12 and s.ipr_sim.n == 1 and s.localized_ica.n == 12
    filters = np.asarray(res.cases[0].runs[0]["filters"])
    assert filters.shape == (12, 12)


def test_ica_contrast_follows_the_kurtosis_sign():
    assert ica_contrast("auto", -0.9) == "cube"
    assert ica_contrast("auto", 1.3) == "exp"
    assert ica_contrast("auto", float("inf")) == "exp"
    assert ica_contrast("logcosh", -2.0) == "logcosh"


def test_ising_exact_needs_ising_data():
    bad = {**EXACT, "data": ICA["data"]}
    with pytest.raises(SpecError, match="ising-exact"):
        run_spec(load(bad).resolve("full"), "unused", progress=False)
    with pytest.raises(SpecError, match=r"protocol\.tol"):
        load({**EXACT, "protocol": {"kind": "ising-exact", "tol": -1}})
