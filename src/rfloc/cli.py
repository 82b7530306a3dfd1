"""Command-line interface: ``rfloc amplifier | dynamics | integrate | specs | show | run |
report | validate``.

The CLI only parses, calls one library function and prints; every error rfloc raises on
purpose becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from rfloc import __version__
from rfloc.errors import (
    ParameterError,
    RflocError,
    check_int,
    check_open_unit,
    check_positive,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rfloc.numerics import Trajectory, TwoClass
    from rfloc.numerics.laws import EmpiricalLaw
    from rfloc.theory import Amplifier, Marginal


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit status 2), and which
    reads values such as ``-inf`` or ``-sqrt(3)`` as values (``--support -inf inf``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # after -h is registered: every single-dash word but -h is a value, not an option
        self._negative_number_matcher = re.compile(r"^-(?!-).+$")

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _source_args(p: argparse.ArgumentParser, *, required: bool) -> None:
    """The four sources of a pixel marginal, exactly one of them (see :func:`_source`)."""
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument("--marginal", metavar="NAME",
                       help="gaussian, binary, uniform, laplace, student-t (--param nu), "
                            "erf-gaussian|nlgp (--param g), algebraic|kur (--param k)")
    group.add_argument("--density", metavar="EXPR",
                       help="a symmetric density in x (normalised for you), with --support, "
                            "e.g. '1 - abs(x)'")
    group.add_argument("--quantile", metavar="EXPR",
                       help="a quantile function in u on (0, 1), Q(1-u) = -Q(u), "
                            "e.g. '2*u - 1'")
    group.add_argument("--samples", metavar="FILE.npy",
                       help="a 1-D array of samples of the pixel law (empirical marginal)")
    p.add_argument("--param", type=float, default=None,
                   help="the --marginal's parameter (nu, g or k)")
    p.add_argument("--support", nargs=2, metavar=("LO", "HI"), default=None,
                   help="support of --density: numbers, expressions or -inf inf")
    p.add_argument("--elliptical", action="store_true",
                   help="elliptical data with this pixel marginal (exact, linear)")


def _integrate_args(p: argparse.ArgumentParser) -> None:
    """The options of ``rfloc integrate`` (``docs/usage.md``, "Integrating")."""
    data = p.add_argument_group("covariances: a data model, or two files")
    data.add_argument("--data-model", metavar="MODEL",
                      help="the model of both classes: nlgp, ising, norta, elliptical, ...")
    data.add_argument("--data-param", action="append", metavar="KEY=VALUE",
                      help="a parameter of both classes, e.g. n=40 (repeatable)")
    data.add_argument("--positive", action="append", metavar="KEY=VALUE",
                      help="a parameter of class 1 only, e.g. xi=3 (repeatable)")
    data.add_argument("--negative", action="append", metavar="KEY=VALUE",
                      help="a parameter of class 0 only, e.g. xi=1 (repeatable)")
    data.add_argument("--cov1", metavar="FILE.npy", help="class-1 covariance (N, N)")
    data.add_argument("--cov0", metavar="FILE.npy", help="class-0 covariance (N, N)")
    _source_args(p, required=False)
    init = p.add_argument_group("initial receptive fields: a file, or Xavier-normal draws")
    init.add_argument("--w0", metavar="FILE.npy", help="initial RFs, shape (N,) or (M, N)")
    init.add_argument("--inits", type=int, default=None, help="M initial RFs (default 1)")
    init.add_argument("--init-scale", type=float, default=None,
                      help="variance multiplier of the Xavier-normal law (default 0.001)")
    init.add_argument("--seed", type=int, default=None,
                      help="root seed; init i uses its child i (default 0)")
    run = p.add_argument_group("integration")
    run.add_argument("--method", default="rk4",
                     help="euler, rk4 (default), dopri5 (adaptive) or scipy-RK45")
    run.add_argument("--dt", type=float, default=0.05, help="step (default 0.05)")
    run.add_argument("--t-end", type=float, default=100.0, help="final time (default 100)")
    run.add_argument("--save-every", type=int, default=None,
                     help="save every K steps (default: about 100 saves)")
    run.add_argument("--p", type=float, default=0.5, help="class-1 proportion in (0, 1)")
    run.add_argument("--out", required=True, metavar="FILE.npz",
                     help="trajectory FILE.npz, with FILE.json (parameters) and FILE.png")


def _spec_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="a spec file (.toml), a shipped spec name, or 'all'")
    p.add_argument("--scale", choices=("quick", "full"), default="full",
                   help="full: the protocol as published (default); quick: documented cuts")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a spec value, e.g. --set training.steps=2000 (repeatable)")


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--out", default="rfloc-results",
                   help="output folder (default: rfloc-results)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=None,
                       help="local worker processes (default: all cores; 1 = inline)")
    group.add_argument("--scheduler", default=None,
                       help="address of a Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--yes", action="store_true",
                   help="run even when the estimated wall time exceeds one hour")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


#: the |a| < 1 points of the phi table when --at is not given
_DEFAULT_AT = (0.1, 0.5, 0.9)
#: initial conditions drawn in the RF-evolution figure of ``rfloc integrate``
_FIGURE_INITS = 4


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split())


def _load_array(path: str, option: str) -> np.ndarray:
    """The finite real array stored in the ``.npy`` file ``path``, as float64."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise ParameterError(f"{option}: cannot read {path!r} as a .npy array: "
                             f"{_one_line(exc)}") from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise ParameterError(f"{option}: {path!r} holds several arrays (.npz); give one .npy "
                             f"array")
    if arr.dtype.kind not in "biuf" or arr.size == 0:
        raise ParameterError(f"{option}: {path!r} must hold a non-empty real array, got dtype "
                             f"{arr.dtype} and shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"{option}: {path!r} must hold finite numbers (no NaN or inf)")
    return arr.astype(np.float64)


#: the options of :func:`_source_args`, one of which gives the marginal
_SOURCES = ("marginal", "density", "quantile", "samples")


def _source(args: argparse.Namespace) -> tuple[str, Marginal]:
    """``(kind, marginal)``: the marginal given by the options of :func:`_source_args` and
    the option that gave it (``"marginal"``, ``"density"``, ``"quantile"``, ``"samples"``).

    Expressions go through :func:`rfloc.theory.expressions.parse_expression`.
    """
    from rfloc.theory import Marginal, by_name
    from rfloc.theory.expressions import parse_expression
    from rfloc.theory.marginals import U_SYMBOL, X_SYMBOL

    if args.param is not None and args.marginal is None:
        raise ParameterError("--param is the parameter of --marginal NAME")
    if (args.support is not None) != (args.density is not None):
        raise ParameterError("--density EXPR and --support LO HI go together")
    if args.samples is not None and args.elliptical:
        raise ParameterError("--elliptical is for symbolic marginals, not --samples")
    if args.marginal is not None:
        return "marginal", by_name(args.marginal, args.param)
    if args.density is not None:
        expr = parse_expression(args.density, [X_SYMBOL], label="density")
        lo, hi = (parse_expression(b, label=f"support {side}", allow_infinity=True)
                  for side, b in zip(("LO", "HI"), args.support, strict=True))
        return "density", Marginal.from_density(expr, X_SYMBOL, (lo, hi))
    if args.quantile is not None:
        expr = parse_expression(args.quantile, [U_SYMBOL], label="quantile")
        return "quantile", Marginal.from_quantile(expr, U_SYMBOL)
    if args.samples is not None:
        x = _load_array(args.samples, "--samples")
        if x.ndim != 1:
            raise ParameterError(f"--samples: {args.samples!r} must hold a 1-D array, got "
                                 f"shape {x.shape}")
        return "samples", Marginal.from_samples(x)
    raise ParameterError("give the marginal: one of --marginal, --density, --quantile, "
                         "--samples")


def _check_at(at: Sequence[float]) -> np.ndarray:
    """The ``--at`` points as an array, each finite and in (-1, 1)."""
    arr = np.array(at, dtype=np.float64)
    bad = arr[~(np.abs(arr) < 1.0)]
    if bad.size:
        raise ParameterError(f"--at values must lie in (-1, 1) (phi(a) is defined for "
                             f"|a| < 1), got {bad[0]:g}")
    return arr


def _exact_summary(m: Marginal, amp: Amplifier, order: int,
                   at: np.ndarray | None) -> dict[str, Any]:
    """What ``rfloc amplifier`` reports for a symbolic marginal, JSON-ready.

    The φ table holds :meth:`Amplifier.quadrature` at the points ``at`` (a few adaptive
    quadratures, where fitting the whole table can take minutes for a user density), or is
    None when ``at`` is None. Each number is ``{"exact": text, "value": float}`` when it is
    exact, or ``{"float": text, "digits": d, "value": float}`` when it holds SymPy Floats
    (e.g. the NLGP moments) correct to ``d`` significant digits.
    """
    import mpmath
    import sympy as sp

    def number(value: sp.Expr) -> dict[str, Any]:
        floats = value.atoms(sp.Float)
        if not floats:
            return {"exact": sp.sstr(value), "value": float(value)}
        digits = min(mpmath.libmp.prec_to_dps(f._prec) for f in floats)
        return {"float": sp.sstr(sp.Float(value.evalf(digits), digits)), "digits": digits,
                "value": float(value)}

    kappa = number(m.excess_kurtosis()) if m.max_moment() > 4 else None
    coeffs = amp.coefficients(order) if order >= 1 else []
    return {
        "marginal": repr(m), "elliptical": amp.elliptical, "excess_kurtosis": kappa,
        "abs_mean": number(amp.limit_at_one),
        "phi": {"closed_form": amp.closed_form is not None, "expr": sp.sstr(amp.expr)},
        "coefficients": [{"power": 2 * j + 1, **number(c)} for j, c in enumerate(coeffs)],
        "phi_table": None if at is None else [
            {"a": float(a), "phi": amp.quadrature(a)} for a in at],
    }


def _sample_summary(name: str, law: EmpiricalLaw, at: np.ndarray) -> dict[str, Any]:
    """What ``rfloc amplifier --samples`` reports: estimates with 95 % intervals."""
    low, high = law.kurtosis_interval()
    phi, half = law.phi(at)
    return {
        "marginal": name, "samples": law.independent, "elliptical": False,
        "excess_kurtosis": {"estimate": float(law.excess_kurtosis()),
                            "interval": [float(low), float(high)]},
        "abs_mean": {"estimate": float(law.abs_mean())},
        "phi": {"closed_form": False,
                "expr": "mean over the samples X_k of X_k*erf(a*X_k/sqrt(2 - 2*a**2))"},
        "coefficients": None,
        "phi_table": [{"a": float(a), "phi": float(v), "half_width": float(h)}
                      for a, v, h in zip(at, phi, half, strict=True)],
    }


def _shown(number: dict[str, Any]) -> str:
    """A number of :func:`_exact_summary` as text: ``exact = value`` or
    ``value (float, d digits)``."""
    if "exact" in number:
        return f"{number['exact']} = {number['value']:.12g}"
    return f"{number['float']} (float, {number['digits']} digits)"


def _print_exact(m: Marginal, amp: Amplifier, summary: dict[str, Any], args: argparse.Namespace,
                 order: int) -> None:
    import sympy as sp

    print(f"marginal        : {m!r}")
    kappa, abs_mean = summary["excess_kurtosis"], summary["abs_mean"]
    if kappa is None:
        print("excess kurtosis : does not exist (E[X^4] infinite)")
    else:
        print(f"excess kurtosis : {_shown(kappa)}")
    print(f"E|X| = phi(1-)  : {_shown(abs_mean)}")
    form = "closed form" if amp.closed_form is not None else "integral (no closed form found)"
    print(f"phi(a), {form}:")
    print(f"  {summary['phi']['expr']}")
    if order >= 1:
        print(f"series to order {order}:")
        print(f"  {sp.sstr(amp.series(order))}")
        for c in summary["coefficients"]:
            print(f"  a^{c['power']:<3d}: {_shown(c)}")
    if order < args.order:
        print(f"  coefficients beyond a^{order} do not exist: they need moments of order "
              f">= {m.max_moment():g}, which are infinite for {m!r}")
    if args.latex:
        print("LaTeX:")
        print(f"  {amp.latex(order=order if order >= 1 else None)}")
    if args.at is not None:
        print("phi(a) at --at:")
        for row in summary["phi_table"]:
            print(f"  phi({row['a']:g}) = {row['phi']:.12g}")


def _print_samples(summary: dict[str, Any]) -> None:
    kappa = summary["excess_kurtosis"]
    low, high = kappa["interval"]
    print(f"marginal        : {summary['marginal']}")
    print(f"excess kurtosis : {kappa['estimate']:.6g}, 95 % interval [{low:.6g}, {high:.6g}]")
    print(f"E|X| = phi(1-)  : {summary['abs_mean']['estimate']:.6g} (sample mean)")
    print(f"phi(a) = {summary['phi']['expr']}, with its 95 % band:")
    for row in summary["phi_table"]:
        print(f"  phi({row['a']:g}) = {row['phi']:.8g} ± {row['half_width']:.2g}")


def _cmd_amplifier(args: argparse.Namespace) -> int:
    from rfloc.numerics.laws import EmpiricalLaw
    from rfloc.theory import amplifier

    if check_int("order", args.order, minimum=1) % 2 == 0:
        raise ParameterError(f"--order must be odd (phi is odd: its series has only odd "
                             f"powers), got {args.order}")
    at = _check_at(_DEFAULT_AT if args.at is None else args.at)
    source, m = _source(args)
    law = m.law
    if isinstance(law, EmpiricalLaw):
        summary = _sample_summary(repr(m), law, at)
        if args.format == "text":
            _print_samples(summary)
    else:
        amp = amplifier(m, elliptical=args.elliptical)
        order = int(min(args.order, amp.max_order()))
        text_only = args.format == "text" and args.at is None
        summary = _exact_summary(m, amp, order, None if text_only else at)
        if args.format == "text":
            _print_exact(m, amp, summary, args, order)
    if args.format == "json":
        print(json.dumps({"source": source, **summary}, indent=2))
    elif args.format == "csv":
        half = isinstance(law, EmpiricalLaw)
        print("a,phi,half_width" if half else "a,phi")
        for row in summary["phi_table"]:
            print(",".join(repr(row[k]) for k in ("a", "phi", "half_width")[: 2 + half]))
    return 0


def _cmd_dynamics(args: argparse.Namespace) -> int:
    import sympy as sp

    from rfloc.theory import effective_dynamics

    dyn = effective_dynamics(_source(args)[1], p=args.p, elliptical=args.elliptical)
    print(f"effective dynamics for {dyn.marginal!r}, p = {args.p}:")
    print(f"  {sp.sstr(dyn.equation)}")
    print(f"  a_i = {sp.sstr(dyn.a_i)}")
    print(f"linear amplifier (no localization): {dyn.is_linear}")
    print("assumptions:")
    for s in dyn.assumptions:
        print(f"  - {s}")
    if args.latex:
        print("LaTeX:")
        print(f"  {dyn.latex()}")
    return 0


def _key_values(texts: Sequence[str] | None, option: str) -> dict[str, Any]:
    """Repeated ``KEY=VALUE`` options as a dict (values are TOML values, bare words strings)."""
    from rfloc.validation.spec import parse_override

    out: dict[str, Any] = {}
    for text in texts or []:
        key, sep, value = text.partition("=")
        if not (sep and key.strip() and value.strip()):
            raise ParameterError(f"{option} needs KEY=VALUE, got {text!r}")
        name, parsed = parse_override(text)
        out[name] = parsed
    return out


def _covariances(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, dict[str, Any],
                                                    TwoClass | None]:
    """``(cov1, cov0, data, task)``: the class covariances, their description for the JSON
    sidecar, and the two-class task of ``--data-model`` (None with ``--cov1/--cov0``)."""
    from rfloc.numerics.data import from_params

    per_class = {"positive": args.positive, "negative": args.negative}
    if args.data_model is not None:
        if args.cov1 is not None or args.cov0 is not None:
            raise ParameterError("give --data-model or --cov1/--cov0, not both")
        if args.data_model == "two-class":
            raise ParameterError("--data-model names the model of one class; --positive and "
                                 "--negative set what differs between the classes")
        shared = _key_values(args.data_param, "--data-param")
        classes = {side: {"model": args.data_model, **shared,
                          **_key_values(texts, f"--{side}")}
                   for side, texts in per_class.items()}
        task = from_params({"model": "two-class", **classes, "p": args.p})
        cov1, cov0 = task.covariances
        return cov1, cov0, task.params, task
    if args.data_param or any(per_class.values()):
        raise ParameterError("--data-param, --positive and --negative need --data-model")
    if args.cov1 is None or args.cov0 is None:
        raise ParameterError("give the covariances: --data-model MODEL [--data-param KEY=VALUE"
                             " ...], or --cov1 FILE.npy --cov0 FILE.npy")
    covs = [_load_array(path, option) for path, option in ((args.cov1, "--cov1"),
                                                            (args.cov0, "--cov0"))]
    for cov, option in zip(covs, ("--cov1", "--cov0"), strict=True):
        if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
            raise ParameterError(f"{option} must hold a square (N, N) matrix, got shape "
                                 f"{cov.shape}")
    if covs[0].shape != covs[1].shape:
        raise ParameterError(f"--cov1 and --cov0 must have the same shape, got "
                             f"{covs[0].shape} and {covs[1].shape}")
    return covs[0], covs[1], {"cov1": args.cov1, "cov0": args.cov0}, None


def _initial(args: argparse.Namespace, n: int) -> tuple[np.ndarray, dict[str, Any]]:
    """``(w0, init)``: the initial RFs and their description for the JSON sidecar.

    From ``--w0 FILE.npy``, or ``--inits M`` Xavier-normal RFs
    (:func:`rfloc.numerics.xavier_init`), init ``i`` drawn from child ``i`` of
    ``SeedSequence(--seed)`` (:func:`rfloc.random.spawn`).
    """
    from rfloc.numerics.train import REFERENCE_INIT_SCALE, xavier_init
    from rfloc.random import spawn

    if args.w0 is not None:
        if (args.inits, args.init_scale, args.seed) != (None, None, None):
            raise ParameterError("--w0 FILE.npy replaces --inits, --init-scale and --seed")
        w0 = _load_array(args.w0, "--w0")
        if w0.ndim not in (1, 2) or w0.shape[-1] != n:
            raise ParameterError(f"--w0 must hold shape (N,) or (M, N) with N = {n} (the "
                                 f"covariances'), got shape {w0.shape}")
        return w0, {"w0": args.w0}
    inits = check_int("--inits", 1 if args.inits is None else args.inits, minimum=1)
    scale = check_positive("--init-scale", REFERENCE_INIT_SCALE if args.init_scale is None
                           else args.init_scale)
    seed = 0 if args.seed is None else args.seed
    w0 = np.stack([xavier_init(None, n, scale, rng=child) for child in spawn(seed, inits)])
    return w0, {"inits": inits, "init_scale": scale, "seed": seed}


def _out_file(path: str) -> Path:
    """``--out`` as a ``.npz`` path in a writable folder (created if needed)."""
    from rfloc.validation.executor import check_out_dir

    out = Path(path)
    if out.suffix != ".npz" or out.is_dir():
        raise ParameterError(f"--out must name a .npz file, got {path!r}")
    check_out_dir(out.parent)
    return out


def _rf_figure(traj: Trajectory, title: str) -> Figure:
    """Heatmaps of w over time for up to :data:`_FIGURE_INITS` initial conditions, each
    rolled so that its final peak is the central pixel."""
    from rfloc.numerics.metrics import peak
    from rfloc.validation.report import figure, rf_heatmap

    w = traj.w.reshape(traj.t.size, -1, traj.w.shape[-1])           # (T, M, N)
    shown = min(_FIGURE_INITS, w.shape[1])
    fig = figure(4.0 * shown + 1.0, 3.8)
    for i, ax in enumerate(fig.subplots(1, shown, squeeze=False)[0]):
        final = int(peak(w[-1, i]))
        rf_heatmap(fig, ax, traj.t, w[:, i], final)
        ax.set(title=f"init {i}: final peak pixel {final}", xlabel="t")
    fig.suptitle(title, fontsize=10)
    return fig


def _cmd_integrate(args: argparse.Namespace) -> int:
    from rfloc.numerics import integrate_effective
    from rfloc.numerics.integrate import OPTIONS
    from rfloc.numerics.integrator import METHODS, TABLEAUX, SaveAt
    from rfloc.numerics.laws import PixelLaw
    from rfloc.numerics.metrics import ipr, peak
    from rfloc.theory import Marginal, amplifier, as_marginal

    if args.method not in METHODS:
        raise ParameterError(f"--method must be one of {', '.join(METHODS)}, got "
                             f"{args.method!r}")
    p = check_open_unit("--p", args.p)
    dt, t_end = check_positive("--dt", args.dt), check_positive("--t-end", args.t_end)
    save_every = max(1, round(t_end / dt / 100)) if args.save_every is None else \
        check_int("--save-every", args.save_every, minimum=1)
    fixed = args.method in TABLEAUX and not TABLEAUX[args.method].adaptive
    SaveAt(every=save_every).plan(t_end, dt, fixed=fixed, max_steps=OPTIONS["max_steps"])
    out = _out_file(args.out)
    cov1, cov0, data, task = _covariances(args)
    w0, init = _initial(args, cov1.shape[0])
    if task is None or any(getattr(args, key) is not None for key in _SOURCES):
        kind, marginal = _source(args)
    elif isinstance(law := task.positive.marginal, (Marginal, PixelLaw)):
        kind, marginal = "data model", as_marginal(law)
    else:
        raise ParameterError(f"{args.data_model} data of these parameters have no named "
                             f"pixel marginal; give one with --marginal NAME")
    elliptical = args.elliptical or args.data_model == "elliptical"
    traj = integrate_effective(w0, cov1, cov0, amplifier(marginal, elliptical=elliptical),
                               t_end, dt, method=args.method, p=p, save_every=save_every)
    traj.params["cli"] = {"marginal": repr(marginal), "marginal_source": kind,
                          "elliptical": elliptical, "data": data, "init": init}
    traj.save(out)
    n = cov1.shape[0]
    title = (f"RF evolution: N = {n}, {args.method}, dt = {dt:g}, t_end = {t_end:g}\n"
             f"{marginal!r}{', elliptical' if elliptical else ''}")
    figure = out.with_suffix(".png")
    _rf_figure(traj, title).savefig(figure, dpi=110)
    final = np.atleast_2d(traj.final)
    print(f"integrated {final.shape[0]} initial condition(s), N = {n}, {args.method}, "
          f"dt = {dt:g}, t_end = {t_end:g}, p = {p:g}, marginal {marginal!r}")
    for i, (value, pixel) in enumerate(zip(ipr(final), peak(final), strict=True)):
        print(f"  init {i}: final IPR {value:.6g}, peak pixel {pixel}")
    print(f"  -> {out}, {out.with_suffix('.json')}, {figure}")
    return 0


def _cmd_specs(args: argparse.Namespace) -> int:
    from rfloc.validation import catalog

    for name in catalog.names():
        spec = catalog.get(name)
        print(f"{name:22s} {spec.title}")
        print(f"{'':22s} source: {spec.source}")
    return 0


def _resolved(args: argparse.Namespace) -> list:
    from rfloc.validation import catalog
    from rfloc.validation.spec import parse_override

    overrides = dict(parse_override(text) for text in args.set or [])
    return [s.resolve(args.scale, overrides) for s in catalog.resolve_source(args.spec)]


def _cmd_show(args: argparse.Namespace) -> int:
    from rfloc.validation.cost import estimate
    from rfloc.validation.runner import check
    from rfloc.validation.spec import dump, dump_case

    for spec in _resolved(args):
        check(spec)
        print(f"# {spec.name} at scale {spec.scale}: {spec.title}")
        if spec.scale_note:
            print(f"# scale note: {spec.scale_note}")
        print(dump(spec))
        for case in spec.cases():
            print(f"# case {case.label!r} as it runs (variant's, scale's and command line's "
                  f"overrides applied):")
            print("\n".join(f"#   {line}" if line else "#" for line in
                            dump_case(case).rstrip().splitlines()))
        print(f"# cost: {estimate(spec, args.workers).describe()}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    specs = _resolved(args)
    _run_specs(specs, args)
    return 0


def _run_specs(specs: list, args: argparse.Namespace) -> None:
    from rfloc.validation.cost import LIMIT_SECONDS, estimate
    from rfloc.validation.executor import check_out_dir, check_scheduler, make_executor
    from rfloc.validation.runner import check, run_spec

    check_int("seed", args.seed, minimum=0)
    if args.workers is not None:
        check_int("workers", args.workers, minimum=1)
    out = check_out_dir(args.out)
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    for spec in specs:
        check(spec)
    if not args.yes:
        for spec in specs:
            cost = estimate(spec, args.workers)
            if cost.wall_seconds > LIMIT_SECONDS:
                raise ParameterError(f"{spec.name} at scale {spec.scale}: {cost.describe()}; "
                                f"above {LIMIT_SECONDS / 3600:g} h, pass --yes to run it "
                                f"(or --scheduler for a Dask cluster)")
    with make_executor(args.workers, args.scheduler) as ex:
        for spec in specs:
            res = run_spec(spec, out, ex, seed=args.seed, progress=not args.no_progress,
                           command=["rfloc", *sys.argv[1:]])
            print(f"{spec.name} ({spec.scale}):")
            for case in res.cases:
                print(f"  {case.label}: {_summary_line(case.summary)}")
            print(f"  -> {out / spec.name / 'results.json'}, {out / spec.name / 'report.md'}")


def _summary_line(summary: object) -> str:
    from rfloc.validation.results import (
        CommitteeSummary,
        IcaSummary,
        IprSummary,
        IsingExactSummary,
        PeaksSummary,
    )

    if isinstance(summary, PeaksSummary):
        return (f"peak match {summary.match} (±1 pixel {summary.match_within_1}); "
                f"noise floor {summary.noise_floor}")
    if isinstance(summary, IprSummary):
        return (f"kappa {summary.excess_kurtosis:.3g}: IPR ODE {summary.ipr_theory}, "
                f"SGD {summary.ipr_sim}; localized ODE "
                f"{'yes' if summary.localized_theory else 'no'}, "
                f"SGD {'yes' if summary.localized_sim else 'no'}")
    if isinstance(summary, IsingExactSummary):
        return (f"peaks ODE-exact {summary.theory_exact}, exact-SGD {summary.exact_sim}, "
                f"ODE-SGD {summary.theory_sim}; noise floor {summary.noise_floor}; IPR ODE "
                f"{summary.ipr_theory}, exact {summary.ipr_exact}, SGD {summary.ipr_sim}")
    if isinstance(summary, IcaSummary):
        return (f"kappa {summary.excess_kurtosis:.3g}: IPR ICA ({summary.fun}) "
                f"{summary.ipr_ica}, SGD {summary.ipr_sim}; localized filters "
                f"{summary.localized_ica}")
    if isinstance(summary, CommitteeSummary):
        theory, halves = summary.localized_theory, summary.localized_by_bias
        return (f"units localized: network {summary.localized_network}"
                + ("" if theory is None else f", single-neuron ODE {theory}")
                + ("" if halves is None else
                   f" (bias starting at +b: {halves['plus']}; at -b: {halves['minus']})"))
    raise TypeError(f"unknown summary {type(summary).__name__}")


def _cmd_report(args: argparse.Namespace) -> int:
    from rfloc.validation.report import rebuild

    folder = Path(args.dir)
    found = [folder] if (folder / "results.json").is_file() else sorted(
        p.parent for p in folder.glob("*/results.json"))
    if not folder.is_dir():
        raise ParameterError(f"DIR {str(folder)!r} does not exist or is not a folder")
    if not found:
        raise ParameterError(f"DIR must hold results.json or */results.json, "
                             f"none in {str(folder)!r}")
    for f in found:
        print(f"{f}: {rebuild(f)}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from rfloc.validation.experiments import experiment_specs

    specs = experiment_specs(args.experiment, quick=args.quick, inits=args.inits)
    _run_specs(specs, args)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``rfloc`` argument parser."""
    parser = _Parser(
        prog="rfloc", description="Localized receptive fields: theory, numerics, validation.")
    parser.add_argument("--version", action="version", version=f"rfloc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("amplifier", help="the localization amplifier of a pixel marginal")
    _source_args(p, required=True)
    p.add_argument("--latex", action="store_true", help="also print LaTeX")
    p.add_argument("--order", type=int, default=5, help="series order (odd, default 5)")
    p.add_argument("--at", type=float, nargs="+", metavar="A", default=None,
                   help="evaluate phi at these a in (-1, 1) (default for json/csv: "
                        f"{' '.join(map(str, _DEFAULT_AT))})")
    p.add_argument("--format", choices=("text", "json", "csv"), default="text",
                   help="text (default), json (everything), csv (the phi table)")
    p.set_defaults(func=_cmd_amplifier)

    p = sub.add_parser("dynamics", help="the effective single-neuron ODE and its assumptions")
    _source_args(p, required=True)
    p.add_argument("--latex", action="store_true", help="also print LaTeX")
    p.add_argument("--p", type=float, default=0.5, help="class-1 proportion in (0, 1)")
    p.set_defaults(func=_cmd_dynamics)

    p = sub.add_parser("integrate", help="integrate the effective ODE; trajectory and figure")
    _integrate_args(p)
    p.set_defaults(func=_cmd_integrate)

    p = sub.add_parser("specs", help="list the shipped experiment specs")
    p.set_defaults(func=_cmd_specs)

    p = sub.add_parser("show", help="a spec resolved at a scale, and what it will cost")
    _spec_args(p)
    p.add_argument("--workers", type=int, default=None,
                   help="workers the time estimate assumes (default: all cores)")
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("run", help="run a spec (a file, a shipped name, or all)")
    _spec_args(p)
    _run_args(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("report", help="rebuild figures and report.md from results.json")
    p.add_argument("dir", help="a run folder (holding results.json) or its parent")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("validate", help="run a shipped validation experiment (run NAME)")
    p.add_argument("experiment", help="ising, nlgp, kurtosis, elliptical, many or all")
    p.add_argument("--inits", type=int, default=None, help="initial conditions per variant")
    p.add_argument("--quick", action="store_true", help="the quick scale")
    _run_args(p)
    p.set_defaults(func=_cmd_validate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``rfloc`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RflocError as exc:
        print(f"rfloc: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:          # e.g. `rfloc amplifier ... | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("rfloc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
