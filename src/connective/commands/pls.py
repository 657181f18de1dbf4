"""``connective pls MODEL --data FILE --out DIR``: PLS path modelling, SmartPLS-style.

Writes the run folder DIR as one unit (an existing one replaced only with --overwrite):
``parameters.csv`` (lavaan layout: lhs, op, rhs, est, plus se, ci.lower, ci.upper when
bootstrapped), ``effects.csv``, ``reliability.csv``, ``htmt.csv``, ``summary.json`` (model,
data fingerprint, seed, versions, settings) and ``run.json``.

Example
-------
>>> from connective.cli import build_parser
>>> args = build_parser().parse_args(["pls", "connective_action", "--data", "survey.csv",
...                                   "--out", "pls_out", "--boot", "5000", "--seed", "1"])
>>> args.boot, args.scheme, args.missing, args.ci
(5000, 'path', None, 'percentile')
"""

from __future__ import annotations

import argparse

from connective.commands._options import (add_data_arguments, add_overwrite_argument, count,
                                           load_data, seed_value)
from connective.errors import ConnectiveError
from connective.pls.run import run_pls
from connective.resources import resolve_model
from connective.spec import read_model


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``pls`` subcommand (see the module example)."""
    p = sub.add_parser(
        "pls", help="estimate the model with PLS path modelling (PLS-SEM, PLSc, bootstrap)",
        description="Estimate MODEL on the survey FILE with PLS path modelling: =~ blocks in "
                    "mode A, <~ blocks in mode B, standardised indicators, stop criterion 1e-7, "
                    "at most 300 iterations. With --boot N, N bootstrap replicates give "
                    "standard errors and intervals for loadings, weights, paths, R^2, HTMT and "
                    "every effect. Results go to DIR as CSV files and summary.json.")
    p.add_argument("model", metavar="MODEL",
                   help="a lavaan-syntax model file, or the name of a bundled model")
    p.add_argument("--data", metavar="FILE",
                   help="survey data: .csv, .tsv, .xlsx, .sav (SPSS) or .dta (Stata)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results")
    add_overwrite_argument(p)
    p.add_argument("--boot", type=count("--boot", low=0), default=0, metavar="N",
                   help="bootstrap replicates (SmartPLS uses 5000; default 0: no bootstrap)")
    p.add_argument("--seed", type=seed_value, help="bootstrap seed (recorded; drawn if not given)")
    p.add_argument("--scheme", choices=["path", "centroid", "factorial"], default="path",
                   help="inner weighting scheme (default: path)")
    p.add_argument("--consistent", action="store_true",
                   help="consistent PLS (PLSc): correct =~ blocks for attenuation")
    p.add_argument("--ci", choices=["percentile", "bca"], default="percentile",
                   help="bootstrap interval (default: percentile)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--sign-change", choices=["none", "construct", "individual"], default="none",
                   help="sign-change correction of bootstrap replicates (default: none)")
    p.add_argument("--max-iter", type=int, default=300, help="maximum iterations (default 300)")
    p.add_argument("--tol", type=float, default=1e-7, help="stop criterion (default 1e-7)")
    p.add_argument("--inadmissible", choices=["exclude", "keep"], default="exclude",
                   help="PLSc bootstrap replicates with a standardised path beyond 1 or "
                        "construct correlations that are not positive definite: exclude them "
                        "from the intervals (default) or keep them; either way they are counted")
    p.add_argument("--higher-order", choices=["two_stage", "repeated"], default="two_stage",
                   help="how higher-order constructs (G =~ F1 + F2) are estimated: two_stage "
                        "(default, as SmartPLS and seminr: stage-one scores of the dimensions "
                        "measure G) or repeated (G measured by all items of its dimensions)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_data_arguments(p, group=False)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Estimate, bootstrap if asked, and write the five result files; returns 0.

    Example: ``connective pls connective_action --data survey.csv --out pls --boot 5000``.
    """
    if args.missing == "fiml":
        raise ConnectiveError("--missing fiml is the Bayesian engine's; PLS needs --missing "
                              "casewise or --missing mean")
    if not 0 < args.level < 1:
        raise ConnectiveError(f"--level {args.level}: expected a share between 0 and 1, e.g. 0.95")
    spec = read_model(resolve_model(args.model))
    survey = load_data(args, spec, show_report=(lambda _: None) if args.quiet else print,
                       engine_treats_missing=True)
    run_ = run_pls(spec, survey, args.out, boot=args.boot, seed=args.seed, scheme=args.scheme,
                   consistent=args.consistent, missing=args.missing, ci=args.ci,
                   level=args.level, sign_change=args.sign_change, max_iter=args.max_iter,
                   tol=args.tol, progress=not args.quiet, inadmissible=args.inadmissible,
                   data_options={**survey.options, "missing": args.missing},
                   overwrite=args.overwrite, higher_order=args.higher_order)
    if not args.quiet:
        print(run_.result.summary())
        for m in run_.warnings:
            print(f"WARNING: {m}")
        print(f"wrote parameters.csv, effects.csv, reliability.csv, htmt.csv, summary.json "
              f"to {args.out}" + (" [SYNTHETIC data]" if survey.synthetic else ""))
    return 0


__all__ = ["register", "run"]
