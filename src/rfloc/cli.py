"""Command-line interface: ``rfloc amplifier | dynamics | validate``.

The CLI only parses, calls one library function and prints; every error rfloc raises on
purpose becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rfloc.errors import RflocError


def _marginal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--marginal", required=True,
                   help="gaussian, binary, uniform, laplace, student-t (--param nu), "
                        "erf-gaussian|nlgp (--param g), algebraic|kur (--param k)")
    p.add_argument("--param", type=float, default=None,
                   help="the marginal's parameter (nu, g or k)")
    p.add_argument("--latex", action="store_true", help="also print LaTeX")
    p.add_argument("--elliptical", action="store_true",
                   help="elliptical data with this pixel marginal (exact, linear)")


def _cmd_amplifier(args: argparse.Namespace) -> int:
    import sympy as sp

    from rfloc.errors import check_int
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


def _cmd_validate(args: argparse.Namespace) -> int:
    from rfloc.validation import make_executor, run

    with make_executor(args.workers, args.scheduler) as ex:
        results = run(args.experiment, args.out, ex, quick=args.quick, inits=args.inits,
                      seed=args.seed, progress=not args.no_progress)
    for name, res in results.items():
        folder = f"{args.out}/{name}"
        if "match_rate" in res:
            lines = [f"{r['label']}: peak match at emergence "
                     f"{r['match_rate_emergence']:.0%} (±1: "
                     f"{r['match_rate_emergence_within_1']:.0%}), at the end "
                     f"{r['match_rate']:.0%} (±1: {r['match_rate_within_1']:.0%}), noise floor "
                     f"{r['noise_floor']:.0%} (±1: {r['noise_floor_within_1']:.0%})"
                     for r in res["regimes"]]
        else:
            lines = [f"theory and simulation agree on localization in "
                     f"{res['agreement']:.0%} of {len(res['rows'])} rows"]
        print(f"{name}: " + "; ".join(lines))
        print(f"  -> {folder}/results.json, {folder}/report.md")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``rfloc`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="rfloc", description="Localized receptive fields: theory, numerics, validation.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("amplifier", help="the localization amplifier of a pixel marginal")
    _marginal_args(p)
    p.add_argument("--order", type=int, default=5, help="series order (odd, default 5)")
    p.set_defaults(func=_cmd_amplifier)

    p = sub.add_parser("dynamics", help="the effective single-neuron ODE and its assumptions")
    _marginal_args(p)
    p.add_argument("--p", type=float, default=0.5, help="class-1 proportion in (0, 1)")
    p.set_defaults(func=_cmd_dynamics)

    p = sub.add_parser("validate", help="theory against simulated training, with a report")
    p.add_argument("experiment", help="ising, nlgp, kurtosis, elliptical, many or all")
    p.add_argument("--inits", type=int, default=None, help="initial conditions per regime")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--quick", action="store_true", help="small, fast configuration")
    p.add_argument("--out", default="rfloc-results", help="output folder")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=None,
                       help="local worker processes (default: all cores; 1 = inline)")
    group.add_argument("--scheduler", default=None,
                       help="address of a Dask scheduler, e.g. tcp://HOST:8786")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
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
