"""The command line for each use: the four marginal sources of ``rfloc amplifier`` and its
text/json/csv outputs against the library's numbers, ``rfloc integrate`` bit for bit against
``integrate_effective``, and bad command lines as one stderr line with exit status 2."""

import json
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from rfloc.cli import main
from rfloc.numerics import NLGP, Trajectory, TwoClass, integrate_effective, xavier_init
from rfloc.numerics.metrics import ipr, peak
from rfloc.random import spawn
from rfloc.theory import Binary, Marginal, amplifier, as_marginal, by_name
from rfloc.theory.marginals import U_SYMBOL, X_SYMBOL


def cli(argv, capsys):
    """``(exit status, stdout, stderr)`` of ``rfloc ARGV`` run in this process."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:                      # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def uniform_samples(tmp_path_factory):
    path = tmp_path_factory.mktemp("samples") / "x.npy"
    x = np.random.default_rng(3).uniform(-1.0, 1.0, 4000)
    np.save(path, x)
    return path, x


# ============================================================================ amplifier
def test_amplifier_json_matches_the_library(capsys):
    code, out, _ = cli(["amplifier", "--marginal", "kur", "--param", "10", "--format", "json",
                        "--order", "3", "--at", "0.2", "-0.7"], capsys)
    assert code == 0
    res = json.loads(out)
    m = by_name("kur", 10.0)
    amp = amplifier(m)
    assert res["source"] == "marginal" and res["marginal"] == repr(m)
    assert res["excess_kurtosis"] == {"exact": sp.sstr(m.excess_kurtosis()),
                                      "value": float(m.excess_kurtosis())}
    assert res["abs_mean"]["value"] == float(amp.limit_at_one)
    assert res["phi"] == {"closed_form": False, "expr": sp.sstr(amp.expr)}
    assert [c["exact"] for c in res["coefficients"]] == [sp.sstr(c) for c in
                                                        amp.coefficients(3)]
    assert [c["power"] for c in res["coefficients"]] == [1, 3]
    assert res["phi_table"] == [{"a": a, "phi": amp.quadrature(a)} for a in (0.2, -0.7)]
    np.testing.assert_allclose([r["phi"] for r in res["phi_table"]], amp([0.2, -0.7]),
                               atol=1e-9)


def test_amplifier_csv_is_the_phi_table(capsys):
    code, out, _ = cli(["amplifier", "--marginal", "binary", "--format", "csv"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "a,phi"
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_array_equal(rows[:, 0], [0.1, 0.5, 0.9])
    amp = amplifier(Binary())
    np.testing.assert_array_equal(rows[:, 1], [amp.quadrature(a) for a in rows[:, 0]])
    np.testing.assert_allclose(rows[:, 1], sp.lambdify("a", amp.expr)(rows[:, 0]), atol=1e-12)


def test_amplifier_text_keeps_its_output_and_adds_the_table(capsys):
    code, out, _ = cli(["amplifier", "--marginal", "binary"], capsys)
    assert code == 0 and "excess kurtosis : -2" in out and "phi(a) at" not in out
    code, out, _ = cli(["amplifier", "--marginal", "binary", "--at", "0.5"], capsys)
    assert code == 0 and f"phi(0.5) = {amplifier(Binary()).quadrature(0.5):.12g}" in out


def test_amplifier_from_a_density(capsys):
    code, out, _ = cli(["amplifier", "--density", "1 - abs(x)", "--support", "-1", "1",
                        "--format", "json", "--at", "0.5"], capsys)
    assert code == 0
    res = json.loads(out)
    tri = Marginal.from_density(1 - sp.Abs(X_SYMBOL), X_SYMBOL, (-1, 1))
    assert res["source"] == "density"
    assert res["excess_kurtosis"]["exact"] == "-3/5" == sp.sstr(tri.excess_kurtosis())
    assert res["phi"]["closed_form"] is True
    assert res["phi_table"][0]["phi"] == amplifier(tri).quadrature(0.5)


def test_density_support_may_be_infinite_or_an_expression(capsys):
    code, out, _ = cli(["amplifier", "--density", "exp(-x**2/2)", "--support", "-inf", "inf",
                        "--format", "json", "--order", "3"], capsys)
    assert code == 0 and json.loads(out)["excess_kurtosis"]["exact"] == "0"   # Gaussian
    code, out, _ = cli(["amplifier", "--density", "1", "--support", "-sqrt(3)", "sqrt(3)",
                        "--format", "json", "--order", "3", "--at", "0.5"], capsys)
    assert code == 0 and json.loads(out)["excess_kurtosis"]["exact"] == "-6/5"  # uniform


def test_amplifier_from_a_quantile(capsys):
    code, out, _ = cli(["amplifier", "--quantile", "2*u - 1", "--format", "json", "--order",
                        "3"], capsys)
    assert code == 0
    res = json.loads(out)
    m = Marginal.from_quantile(2 * U_SYMBOL - 1, U_SYMBOL)
    assert res["source"] == "quantile"
    assert res["excess_kurtosis"]["exact"] == "-6/5" == sp.sstr(m.excess_kurtosis())
    assert res["phi_table"][1] == {"a": 0.5, "phi": amplifier(m).quadrature(0.5)}


def test_amplifier_from_samples(capsys, uniform_samples):
    path, x = uniform_samples
    m = Marginal.from_samples(x)
    phi, half = m.law.phi(np.array([0.1, 0.5, 0.9]))
    code, out, _ = cli(["amplifier", "--samples", path, "--format", "json"], capsys)
    assert code == 0
    res = json.loads(out)
    assert res["source"] == "samples" and res["samples"] == x.size
    assert res["excess_kurtosis"] == {"estimate": m.law.excess_kurtosis(),
                                      "interval": list(m.law.kurtosis_interval())}
    assert res["coefficients"] is None
    assert [r["phi"] for r in res["phi_table"]] == phi.tolist()
    assert [r["half_width"] for r in res["phi_table"]] == half.tolist()
    code, out, _ = cli(["amplifier", "--samples", path, "--format", "csv", "--at", "0.3"],
                       capsys)
    assert code == 0
    header, row = out.strip().splitlines()
    phi, half = m.law.phi(np.array([0.3]))
    assert header == "a,phi,half_width" and row == f"0.3,{float(phi[0])!r},{float(half[0])!r}"
    code, out, _ = cli(["amplifier", "--samples", path], capsys)
    assert code == 0 and "95 % interval" in out and "phi(0.5)" in out


def test_dynamics_takes_every_source(capsys, uniform_samples):
    code, out, _ = cli(["dynamics", "--density", "1 - abs(x)", "--support", "-1", "1"], capsys)
    assert code == 0 and "linear amplifier (no localization): False" in out
    code, out, _ = cli(["dynamics", "--samples", uniform_samples[0], "--p", "0.3"], capsys)
    assert code == 0 and "p = 0.3" in out


# ============================================================================ integrate
def test_integrate_is_integrate_effective_bit_for_bit(tmp_path, capsys):
    out = tmp_path / "run.npz"
    code, text, _ = cli(["integrate", "--data-model", "ising", "--data-param", "n=16",
                         "--positive", "J=0.7", "--negative", "J=0.3", "--inits", "3",
                         "--init-scale", "0.01", "--seed", "7", "--method", "euler", "--dt",
                         "0.05", "--t-end", "2", "--save-every", "5", "--out", out], capsys)
    assert code == 0
    task = TwoClass.ising(16, (0.7, 0.3))
    w0 = np.stack([xavier_init(None, 16, 0.01, rng=child) for child in spawn(7, 3)])
    ref = integrate_effective(w0, *task.covariances, amplifier(Binary()), 2.0, 0.05,
                              method="euler", p=0.5, save_every=5)
    got = Trajectory.load(out)
    np.testing.assert_array_equal(got.t, ref.t)
    np.testing.assert_array_equal(got.w, ref.w)
    assert got.params["sha256"] == ref.params["sha256"]
    assert got.params["cli"]["init"] == {"inits": 3, "init_scale": 0.01, "seed": 7}
    assert got.params["cli"]["data"] == task.params
    assert got.params["cli"]["marginal"] == "Binary()"          # class 1's pixel law
    assert (tmp_path / "run.png").stat().st_size > 0
    for i, (value, pixel) in enumerate(zip(ipr(ref.final), peak(ref.final), strict=True)):
        assert f"init {i}: final IPR {value:.6g}, peak pixel {pixel}" in text


def test_integrate_from_files_with_an_explicit_marginal(tmp_path, capsys):
    model1, model0 = NLGP(12, 3.0, 2.0), NLGP(12, 1.0, 2.0)
    w0 = np.random.default_rng(1).standard_normal(12)
    for name, arr in (("c1", model1.covariance), ("c0", model0.covariance), ("w0", w0)):
        np.save(tmp_path / f"{name}.npy", arr)
    out = tmp_path / "sub" / "files.npz"
    code, _, _ = cli(["integrate", "--cov1", tmp_path / "c1.npy", "--cov0", tmp_path / "c0.npy",
                      "--w0", tmp_path / "w0.npy", "--marginal", "nlgp", "--param", "2",
                      "--method", "rk4", "--dt", "0.1", "--t-end", "3", "--save-every", "3",
                      "--p", "0.4", "--out", out], capsys)
    assert code == 0
    amp = amplifier(as_marginal(model1.marginal))
    ref = integrate_effective(w0, model1.covariance, model0.covariance, amp, 3.0, 0.1,
                              method="rk4", p=0.4, save_every=3)
    got = Trajectory.load(out)
    assert got.w.shape == ref.w.shape == (11, 12)
    np.testing.assert_array_equal(got.w, ref.w)
    assert (tmp_path / "sub" / "files.json").is_file() and (tmp_path / "sub" / "files.png")


# ============================================================================ bad input
@pytest.fixture
def files(tmp_path):
    """Input files of every kind, by name."""
    np.save(tmp_path / "ok.npy", np.linspace(-1, 1, 50))
    np.save(tmp_path / "two_d.npy", np.ones((3, 4)))
    np.save(tmp_path / "nan.npy", np.array([0.0, np.nan]))
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    np.save(tmp_path / "eye4.npy", np.eye(4))
    np.save(tmp_path / "eye5.npy", np.eye(5))
    np.save(tmp_path / "w7.npy", np.ones(7))
    (tmp_path / "text.npy").write_text("not numpy")
    (tmp_path / "a_file").write_text("")
    return tmp_path


NLGP_TASK = ["--data-model", "nlgp", "--data-param", "n=8", "--data-param", "g=2",
             "--positive", "xi=3", "--negative", "xi=1"]
BAD = [
    (["amplifier"], "one of the arguments --marginal --density --quantile --samples"),
    (["amplifier", "--marginal", "binary", "--density", "x"], "not allowed with argument"),
    (["amplifier", "--density", "1 - abs(x)"], "--density EXPR and --support LO HI go"),
    (["amplifier", "--marginal", "binary", "--support", "-1", "1"], "go together"),
    (["amplifier", "--density", "__import__('os').system('echo hi')", "--support", "-1", "1"],
     "density: attribute access is not allowed"),
    (["amplifier", "--density", "x.__class__", "--support", "-1", "1"], "attribute access"),
    (["amplifier", "--density", "9**9**9**9", "--support", "-1", "1"], "too large"),
    (["amplifier", "--density", "os", "--support", "-1", "1"],
     "density: name 'os' is not allowed; allowed: x, pi, E"),
    (["amplifier", "--density", "1", "--support", "-1", "os.sep"], "support HI: attribute"),
    (["amplifier", "--density", "1 - abs(x)", "--support", "-1", "2"], "symmetric"),
    (["amplifier", "--quantile", "x"], "quantile: name 'x' is not allowed; allowed: u"),
    (["amplifier", "--quantile", "u"], "odd about 1/2"),
    (["amplifier", "--marginal", "binary", "--at", "1"], "--at values must lie in (-1, 1)"),
    (["amplifier", "--marginal", "binary", "--at", "-1.5"], "got -1.5"),
    (["amplifier", "--marginal", "binary", "--at", "nan"], "--at values must lie"),
    (["amplifier", "--marginal", "binary", "--at", "half"], "invalid float value"),
    (["amplifier", "--marginal", "binary", "--format", "xml"], "invalid choice: 'xml'"),
    (["amplifier", "--marginal", "binary", "--param", "3"], "takes no parameter"),
    (["amplifier", "--density", "1", "--support", "-1", "1", "--param", "2"],
     "--param is the parameter of --marginal"),
    (["amplifier", "--samples", "{d}/missing.npy"], "cannot read"),
    (["amplifier", "--samples", "{d}/text.npy"], "cannot read"),
    (["amplifier", "--samples", "{d}/two_d.npy"], "must hold a 1-D array"),
    (["amplifier", "--samples", "{d}/nan.npy"], "finite numbers"),
    (["amplifier", "--samples", "{d}/words.npy"], "real array"),
    (["amplifier", "--samples", "{d}/ok.npy", "--elliptical"], "not --samples"),
    (["dynamics", "--density", "1", "--support", "-1", "1", "--p", "2"], "p must be in"),
    (["integrate", *NLGP_TASK], "the following arguments are required: --out"),
    (["integrate", *NLGP_TASK, "--out", "{d}/run.txt"], "--out must name a .npz file"),
    (["integrate", *NLGP_TASK, "--out", "{d}/a_file/run.npz"], "out must be a folder"),
    (["integrate", "--marginal", "binary", "--out", "{d}/r.npz"], "give the covariances"),
    (["integrate", *NLGP_TASK, "--cov1", "{d}/eye4.npy", "--out", "{d}/r.npz"], "not both"),
    (["integrate", "--data-model", "two-class", "--out", "{d}/r.npz"], "one class"),
    (["integrate", "--data-model", "nlgp", "--data-param", "n", "--out", "{d}/r.npz"],
     "--data-param needs KEY=VALUE"),
    (["integrate", *NLGP_TASK, "--data-param", "colour=3", "--out", "{d}/r.npz"], "colour"),
    (["integrate", "--data-model", "nlgp", "--data-param", "n=8", "--out", "{d}/r.npz"],
     "not a data-model description"),
    (["integrate", "--positive", "xi=3", "--cov1", "{d}/eye4.npy", "--cov0", "{d}/eye4.npy",
      "--marginal", "binary", "--out", "{d}/r.npz"], "need --data-model"),
    (["integrate", "--cov1", "{d}/eye4.npy", "--out", "{d}/r.npz"], "give the covariances"),
    (["integrate", "--cov1", "{d}/eye4.npy", "--cov0", "{d}/eye5.npy", "--marginal", "binary",
      "--out", "{d}/r.npz"], "the same shape"),
    (["integrate", "--cov1", "{d}/ok.npy", "--cov0", "{d}/ok.npy", "--marginal", "binary",
      "--out", "{d}/r.npz"], "square (N, N)"),
    (["integrate", "--cov1", "{d}/eye4.npy", "--cov0", "{d}/eye4.npy", "--out", "{d}/r.npz"],
     "give the marginal: one of --marginal"),
    (["integrate", *NLGP_TASK, "--w0", "{d}/w7.npy", "--out", "{d}/r.npz"], "N = 8"),
    (["integrate", *NLGP_TASK, "--w0", "{d}/w7.npy", "--seed", "1", "--out", "{d}/r.npz"],
     "--w0 FILE.npy replaces"),
    (["integrate", *NLGP_TASK, "--dt", "0", "--out", "{d}/r.npz"], "--dt must be"),
    (["integrate", *NLGP_TASK, "--dt", "fast", "--out", "{d}/r.npz"], "invalid float value"),
    (["integrate", *NLGP_TASK, "--t-end", "-1", "--out", "{d}/r.npz"], "--t-end must be"),
    (["integrate", *NLGP_TASK, "--p", "1", "--out", "{d}/r.npz"], "--p must be in (0, 1)"),
    (["integrate", *NLGP_TASK, "--method", "leapfrog", "--out", "{d}/r.npz"], "--method must"),
    (["integrate", *NLGP_TASK, "--inits", "0", "--out", "{d}/r.npz"], "--inits must be"),
    (["integrate", *NLGP_TASK, "--init-scale", "-1", "--out", "{d}/r.npz"], "--init-scale"),
    (["integrate", *NLGP_TASK, "--seed", "-1", "--out", "{d}/r.npz"], "seed must be"),
    (["integrate", *NLGP_TASK, "--save-every", "0", "--out", "{d}/r.npz"], "--save-every must be"),
    (["integrate", *NLGP_TASK, "--density", "exp(x)", "--support", "-1", "1", "--out",
      "{d}/r.npz"], "symmetric"),
    (["integrate", "--data-model", "elliptical", "--data-param", "n=8", "--data-param",
      "radial='shell'", "--positive", "xi=3", "--negative", "xi=1", "--out", "{d}/r.npz"],
     "give one with --marginal"),
]


@pytest.mark.parametrize("argv, needle", BAD, ids=[" ".join(a[:4]) for a, _ in BAD])
def test_bad_command_line_is_one_line_and_status_2(argv, needle, files, capsys):
    code, out, err = cli([a.replace("{d}", str(files)) for a in argv], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0] and "Traceback" not in err
    assert out == ""
    assert not list(files.glob("*.npz")) and not list(files.glob("*.png"))


def test_bad_input_through_the_console_script(tmp_path):
    # the installed entry point, outside the source tree: one line, status 2, no traceback
    for argv in (["amplifier", "--density", "__import__('os')", "--support", "-1", "1"],
                 ["integrate", "--data-model", "nlgp", "--out", "x.npz", "--dt", "x"]):
        proc = subprocess.run([sys.executable, "-m", "rfloc", *argv], capture_output=True,
                              text=True, timeout=120, cwd=tmp_path)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
