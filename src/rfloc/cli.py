"""Command-line interface: ``rfloc amplifier | dynamics | specs | show | run | report |
validate``.

The CLI only parses, calls one library function and prints; every error rfloc raises on
purpose becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rfloc import __version__
from rfloc.errors import ParameterError, RflocError, check_int


def _marginal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--marginal", required=True,
                   help="gaussian, binary, uniform, laplace, student-t (--param nu), "
                        "erf-gaussian|nlgp (--param g), algebraic|kur (--param k)")
    p.add_argument("--param", type=float, default=None,
                   help="the marginal's parameter (nu, g or k)")
    p.add_argument("--latex", action="store_true", help="also print LaTeX")
    p.add_argument("--elliptical", action="store_true",
                   help="elliptical data with this pixel marginal (exact, linear)")


def _spec_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="a spec file (.toml), a shipped spec name, or 'all'")
    p.add_argument("--scale", choices=("quick", "full"), default="full",
                   help="full: the protocol as published (default); quick: documented cuts")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a spec value, e.g. --set training.steps=2000 (repeatable)")


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--out", default="rfloc-results", help="output folder")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=None,
                       help="local worker processes (default: all cores; 1 = inline)")
    group.add_argument("--scheduler", default=None,
                       help="address of a Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--yes", action="store_true",
                   help="run even when the estimated wall time exceeds one hour")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def _cmd_amplifier(args: argparse.Namespace) -> int:
    import sympy as sp

    from rfloc.theory import amplifier, by_name

    check_int("order", args.order, minimum=1)
    m = by_name(args.marginal, args.param)
    amp = amplifier(m, elliptical=args.elliptical)
    kappa = m.excess_kurtosis() if m.max_moment() > 4 else None
    print(f"marginal        : {m!r}")
    if kappa is None:
        print("excess kurtosis : does not exist (E[X^4] infinite)")
    else:
        print(f"excess kurtosis : {sp.sstr(kappa)} = {float(kappa):.10g}")
    print(f"E|X| = phi(1-)  : {sp.sstr(amp.limit_at_one)} = {float(amp.limit_at_one):.10g}")
    form = "closed form" if amp.closed_form is not None else "integral (no closed form found)"
    print(f"phi(a), {form}:")
    print(f"  {sp.sstr(amp.expr)}")
    order = int(min(args.order, amp.max_order()))
    if order >= 1:
        print(f"series to order {order}:")
        print(f"  {sp.sstr(amp.series(order))}")
        for j, c in enumerate(amp.coefficients(order)):
            print(f"  a^{2 * j + 1:<3d}: {sp.sstr(c)}  = {float(c):.12g}")
    if order < args.order:
        print(f"  coefficients beyond a^{order} do not exist: they need moments of order "
              f">= {m.max_moment():g}, which are infinite for {m!r}")
    if args.latex:
        print("LaTeX:")
        print(f"  {amp.latex(order=order if order >= 1 else None)}")
    return 0


def _cmd_dynamics(args: argparse.Namespace) -> int:
    import sympy as sp

    from rfloc.theory import by_name, effective_dynamics

    dyn = effective_dynamics(by_name(args.marginal, args.param), p=args.p,
                             elliptical=args.elliptical)
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
    from rfloc.validation.spec import dump

    for spec in _resolved(args):
        print(f"# {spec.name} at scale {spec.scale}: {spec.title}")
        if spec.scale_note:
            print(f"# scale note: {spec.scale_note}")
        print(dump(spec))
        print(f"# cost: {estimate(spec, args.workers).describe()}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    specs = _resolved(args)
    _run_specs(specs, args)
    return 0


def _run_specs(specs: list, args: argparse.Namespace) -> None:
    from rfloc.validation.cost import LIMIT_SECONDS, estimate
    from rfloc.validation.executor import check_out_dir, check_scheduler, make_executor
    from rfloc.validation.runner import run_spec

    check_int("seed", args.seed, minimum=0)
    if args.workers is not None:
        check_int("workers", args.workers, minimum=1)
    out = check_out_dir(args.out)
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
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
    from rfloc.validation.results import CommitteeSummary, IprSummary, PeaksSummary

    if isinstance(summary, PeaksSummary):
        return (f"peak match {summary.match} (±1 pixel {summary.match_within_1}); "
                f"noise floor {summary.noise_floor}")
    if isinstance(summary, IprSummary):
        return (f"kappa {summary.excess_kurtosis:.3g}: IPR ODE {summary.ipr_theory}, "
                f"SGD {summary.ipr_sim}; localized ODE {summary.localized_theory}, "
                f"SGD {summary.localized_sim}")
    if isinstance(summary, CommitteeSummary):
        theory = summary.localized_theory
        return (f"units localized: network {summary.localized_network}"
                + ("" if theory is None else f", single-neuron ODE {theory}"))
    raise TypeError(f"unknown summary {type(summary).__name__}")


def _cmd_report(args: argparse.Namespace) -> int:
    from rfloc.validation.report import rebuild

    folder = Path(args.dir)
    found = [folder] if (folder / "results.json").is_file() else sorted(
        p.parent for p in folder.glob("*/results.json"))
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
    parser = argparse.ArgumentParser(
        prog="rfloc", description="Localized receptive fields: theory, numerics, validation.")
    parser.add_argument("--version", action="version", version=f"rfloc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("amplifier", help="the localization amplifier of a pixel marginal")
    _marginal_args(p)
    p.add_argument("--order", type=int, default=5, help="series order (odd, default 5)")
    p.set_defaults(func=_cmd_amplifier)

    p = sub.add_parser("dynamics", help="the effective single-neuron ODE and its assumptions")
    _marginal_args(p)
    p.add_argument("--p", type=float, default=0.5, help="class-1 proportion in (0, 1)")
    p.set_defaults(func=_cmd_dynamics)

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
