"""``connective pls MODEL --data FILE --out DIR``: PLS path modelling, SmartPLS-style.

Writes into DIR (each file atomically): ``parameters.csv`` (lavaan layout: lhs, op, rhs,
est, plus se, ci.lower, ci.upper when bootstrapped), ``effects.csv``, ``reliability.csv``,
``htmt.csv`` and ``summary.json`` (model, data fingerprint, seed, versions, settings).

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
import warnings
from pathlib import Path

import pandas as pd

from connective.data.readers import read_survey
from connective.io import atomic_write_csv, atomic_write_json
from connective.pls import bootstrap_pls, estimate_pls
from connective.pls.errors import BootstrapWarning, InadmissibleWarning
from connective.provenance import run_label
from connective.resources import resolve_model
from connective.spec import read_model

EFFECT_COLUMNS = ["effect", "kind", "source", "target", "est", "ci.lower", "ci.upper"]


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
    p.add_argument("--data", required=True, metavar="FILE",
                   help="survey data: .csv, .tsv, .xlsx, .sav (SPSS) or .dta (Stata)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results")
    p.add_argument("--boot", type=int, default=0, metavar="N",
                   help="bootstrap replicates (SmartPLS uses 5000; default 0: no bootstrap)")
    p.add_argument("--seed", type=int, help="bootstrap seed (recorded; drawn if not given)")
    p.add_argument("--scheme", choices=["path", "centroid", "factorial"], default="path",
                   help="inner weighting scheme (default: path)")
    p.add_argument("--consistent", action="store_true",
                   help="consistent PLS (PLSc): correct =~ blocks for attenuation")
    p.add_argument("--missing", choices=["mean", "casewise"],
                   help="treatment of missing values: mean replacement or casewise deletion "
                        "(without it, missing values are an error)")
    p.add_argument("--missing-codes", metavar="CODES", default="",
                   help="comma-separated values meaning 'no answer', e.g. -99,-98 (treated as "
                        "missing, so they need --missing)")
    p.add_argument("--ci", choices=["percentile", "bca"], default="percentile",
                   help="bootstrap interval (default: percentile)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--sign-change", choices=["none", "construct", "individual"], default="none",
                   help="sign-change correction of bootstrap replicates (default: none)")
    p.add_argument("--max-iter", type=int, default=300, help="maximum iterations (default 300)")
    p.add_argument("--tol", type=float, default=1e-7, help="stop criterion (default 1e-7)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Estimate, bootstrap if asked, and write the five result files; returns 0.

    Example: ``connective pls connective_action --data survey.csv --out pls --boot 5000``.
    """
    path = resolve_model(args.model)
    spec = read_model(path)
    survey = read_survey(args.data)
    out = Path(args.out)
    if not args.quiet:
        print(survey.describe())
    codes = _codes(args.missing_codes)
    frame = survey.frame.replace(codes, float("nan")) if codes else survey.frame
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InadmissibleWarning)
        warnings.simplefilter("always", BootstrapWarning)
        result = estimate_pls(spec, frame, scheme=args.scheme, consistent=args.consistent,
                              missing=args.missing, tol=args.tol, max_iter=args.max_iter)
        boot = None
        if args.boot:
            boot = bootstrap_pls(result, args.boot, seed=args.seed, sign_change=args.sign_change,
                                 level=args.level, bca=args.ci == "bca",
                                 progress=not args.quiet)
    messages = [str(w.message) for w in caught
                if issubclass(w.category, (InadmissibleWarning, BootstrapWarning))]
    if boot is not None:
        params = boot.parameters(method=args.ci)
        effects = boot.effects(method=args.ci)[EFFECT_COLUMNS]
        htmt = boot.htmt(method=args.ci)
        htmt.insert(3, "htmt2", result.htmt_long["htmt2"].to_numpy())
    else:
        params = result.parameters()
        effects = result.effects()
        effects["ci.lower"] = float("nan")
        effects["ci.upper"] = float("nan")
        effects = effects[EFFECT_COLUMNS]
        htmt = result.htmt_long.reset_index()
    reliability = result.reliability.reset_index()
    settings = dict(result.settings)
    settings.update(boot=args.boot, ci=args.ci if args.boot else None,
                    level=args.level if args.boot else None,
                    sign_change=args.sign_change if args.boot else None,
                    n_rows=result.data.report["n_rows"], n_used=result.n,
                    missing_cells=result.data.report["missing_cells"],
                    missing_codes=codes,
                    missing_by_column=result.data.report["missing_by_column"])
    if boot is not None:
        settings.update(replicates_used=boot.n_boot, replicates_failed=boot.failed)
    label = run_label(model=str(path), model_text=spec.text, data_source=survey.source,
                      fingerprint=survey.fingerprint, seed=boot.seed if boot else None,
                      synthetic=survey.synthetic, settings=settings)
    label["engine"] = "PLSc" if args.consistent else "PLS"
    label["r2"] = result.r_squared["r2"].to_dict()
    label["warnings"] = messages
    label["notes"] = result.notes
    atomic_write_csv(out / "parameters.csv", params)
    atomic_write_csv(out / "effects.csv", effects)
    atomic_write_csv(out / "reliability.csv", reliability)
    atomic_write_csv(out / "htmt.csv", htmt)
    atomic_write_json(out / "summary.json", label)
    if not args.quiet:
        print(result.summary())
        for m in messages:
            print(f"WARNING: {m}")
        print(f"wrote parameters.csv, effects.csv, reliability.csv, htmt.csv, summary.json "
              f"to {out}" + (" [SYNTHETIC data]" if survey.synthetic else ""))
    return 0


def _codes(text: str) -> list:
    out: list = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(float(part))
        except ValueError:
            out.append(part)
    return out


__all__ = ["register", "run"]
