"""Peak comparisons and sweeps: schema, reproducibility from JSON, worker independence."""

import json
import subprocess
import sys

import numpy as np
import pytest

from rfloc.errors import ParameterError
from rfloc.numerics.data import TwoClass
from rfloc.theory import Binary, amplifier
from rfloc.theory.covariance import ising_covariance
from rfloc.validation import PeakRegime, TaskStore, compare_peaks, make_executor
from rfloc.validation.tasks import peak_task
from rfloc.validation.theory_side import cubic_table, theory_amplifier

TINY = PeakRegime("tiny", steps=300, batch_size=200, full_batch_size=2000, save_every=100,
                  init_scale=0.1)


def test_compare_peaks_schema_and_consistency(tmp_path):
    res = compare_peaks(TwoClass.ising(), TINY, inits=3, seed=1, store=TaskStore(tmp_path),
                        progress=False)
    assert set(res) >= {"params", "runs", "match_rate", "match_rate_within_1", "noise_floor"}
    assert len(res["runs"]) == 3
    for r in res["runs"]:
        assert {"w0", "peak_theory", "peak_sim", "peak_sim_repeat", "ipr_theory", "ipr_sim",
                "cosine"} <= set(r)
        assert abs(r["offset_theory_sim"]) <= 20 and r["ode_status"] == "ok"
        assert len(r["cosine"]) == len(r["t"]) and r["cosine"][0] == pytest.approx(1.0)
    exact = np.mean([r["peak_theory"] == r["peak_sim"] for r in res["runs"]])
    assert res["match_rate"] == pytest.approx(exact)
    assert res["match_rate"] <= res["match_rate_within_1"]


def test_theory_side_is_the_integrator_on_the_analytic_inputs():
    """peak_task's ODE equals an independent NumPy Euler of (*) with dt = lr."""
    task = TwoClass.ising()
    w0 = np.random.default_rng(0).standard_normal(40) * 0.1
    seed = {"entropy": 5, "spawn_key": [0]}
    r = peak_task(task.params, w0.tolist(), 0.05, 300, 100, seed, 500, 100)
    c1, c0 = ising_covariance(40, 0.7), ising_covariance(40, 0.3)
    phi = amplifier(Binary())
    w = w0.copy()
    emerged = None
    for k in range(1, 301):
        s = c1 @ w
        w = w + 0.05 * (0.5 * phi(s / np.sqrt(w @ s)) - 0.5 * (c1 + c0) @ w)
        if emerged is None and np.sum(w**4) / np.sum(w**2) ** 2 >= 4 / 40:
            emerged = (k, int(np.argmax(np.abs(w))))
    assert np.allclose(np.asarray(r["w_theory"])[-1], w, atol=1e-10)
    assert emerged is not None                     # Ising data localize within t = 15
    assert r["t_emergence_theory"] == pytest.approx(0.05 * emerged[0])
    assert r["peak_theory_emergence"] == emerged[1]


def test_a_run_is_reproducible_from_its_json(tmp_path):
    res = compare_peaks(TwoClass.ising(), TINY, inits=1, seed=3, store=TaskStore(tmp_path),
                        progress=False)
    stored = json.loads(next(tmp_path.glob("peak-*.json")).read_text())
    p = res["params"]
    again = peak_task(p["task"], stored["w0"], p["lr"], p["steps"], p["batch_size"],
                      {"entropy": 3, "spawn_key": [0, 0, 1]}, p["full_batch_size"],
                      p["save_every"])
    assert np.array_equal(np.asarray(again["w_sim"]), np.asarray(stored["w_sim"]))
    assert again["peak_sim_repeat"] == stored["peak_sim_repeat"]


def test_results_do_not_depend_on_worker_count(tmp_path):
    a = compare_peaks(TwoClass.ising(), TINY, inits=2, seed=7, store=TaskStore(tmp_path / "a"),
                      progress=False)
    with make_executor(2) as ex:
        b = compare_peaks(TwoClass.ising(), TINY, inits=2, seed=7,
                          store=TaskStore(tmp_path / "b"), executor=ex, progress=False)
    for ra, rb in zip(a["runs"], b["runs"], strict=True):
        assert np.array_equal(ra["w_sim"], rb["w_sim"]) and ra["peak_theory"] == rb["peak_theory"]


def test_sweep_needs_points(tmp_path):
    from rfloc.validation import kurtosis_sweep

    with pytest.raises(ParameterError, match="points"):
        kurtosis_sweep([], store=TaskStore(tmp_path))


def test_theory_amplifiers_per_model():
    assert theory_amplifier(TwoClass.ising()).kind == 1                    # binary closed form
    lin = theory_amplifier(TwoClass.elliptical("shell"))
    assert lin.kind == 0 and 0.79 < lin.coeffs[0, 0] < 0.81                # E|X| of a shell
    clone = theory_amplifier(TwoClass.nlgp(3.0).gaussian_clone())
    assert clone.kind == 0 and clone.coeffs[0, 0] == pytest.approx(np.sqrt(2 / np.pi))
    cub = cubic_table(-2.0)
    a = np.array([0.1, 0.5, 0.9])
    assert np.allclose(cub(a), np.sqrt(2 / np.pi) * (a + 2.0 * a**3 / 6), atol=1e-12)


@pytest.mark.parametrize(("field", "value"), [("lr", 0), ("steps", 0), ("batch_size", 0.5),
                                             ("init_scale", -1), ("save_every", 0)])
def test_regime_is_validated(field, value):
    with pytest.raises(ParameterError, match=field):
        PeakRegime("bad", **{field: value})


@pytest.mark.parametrize("argv, needle", [
    (["validate", "ising", "--inits", "0"], "inits must be"),
    (["validate", "everything"], "experiment must be one of"),
    (["validate", "ising", "--seed", "-1"], "seed must be"),
    (["validate", "ising", "--workers", "0"], "workers must be"),
    (["validate", "ising", "--scheduler", "tcp://127.0.0.1:1"], "unreachable"),
])
def test_cli_bad_input(argv, needle, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rfloc", *argv, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr


@pytest.mark.slow
def test_quick_validation_end_to_end(tmp_path):
    """The README's main job: every experiment, honest thresholds from docs/validation.md."""
    from rfloc.validation import run

    with make_executor(2) as ex:
        res = run("all", tmp_path, ex, quick=True, progress=False)
    large = {c.label: c.summary for c in res["ising"].cases}["large-batch"]
    assert large.match_within_1.rate >= 0.5
    controls = [c.summary for c in res["elliptical"].cases]
    assert all(not s.localized_sim and not s.localized_theory for s in controls)
    for name in res:
        assert (tmp_path / name / "report.md").exists()
