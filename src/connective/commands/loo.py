"""``connective loo RUN_DIR...``: compare fitted models by PSIS-LOO."""

from __future__ import annotations

import argparse
from pathlib import Path

from connective.compare.loo import compare_loo, pls_criteria
from connective.io import atomic_write_csv


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("loo", help="compare fitted models by PSIS-LOO",
                       description="Rank 'connective fit' runs of models on the same data and "
                                   "items by PSIS-LOO (elpd, differences with standard errors, "
                                   "stacking weights, Pareto k), optionally beside PLS criteria "
                                   "(R^2, adjusted R^2, BIC) of 'connective pls' runs.")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="'connective fit' run folders")
    p.add_argument("--pls", nargs="+", metavar="PLS_DIR", default=[],
                   help="'connective pls' folders of the same models, in the same order")
    p.add_argument("--target", help="construct for the PLS criteria (default: the last "
                                    "endogenous construct)")
    p.add_argument("--out", metavar="FILE", help="write the table as CSV too")
    p.add_argument("--conditional", action="store_true",
                   help="rank ordinal fits by their log-likelihood given the sampled factor "
                        "scores (for comparison: PSIS-LOO cannot leave those out; the "
                        "default is the marginal one, scores integrated out)")
    p.add_argument("--reloo", action="store_true",
                   help="refit each model without every respondent whose Pareto k exceeds 0.7 "
                        "and rank by the exact values for them (needs the runs' data file)")
    p.add_argument("--reloo-max", type=int, default=20, metavar="N",
                   help="refuse --reloo when a run has more than N such respondents "
                        "(default 20; use --kfold then)")
    p.add_argument("--kfold", type=int, metavar="K",
                   help="K-fold cross-validation besides PSIS-LOO: K refits per run, folds by "
                        "a permutation of the rows seeded by the run's seed (elpd_kfold, SE)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    names = [Path(r).name for r in args.runs]
    table = compare_loo(dict(zip(names, args.runs)), conditional=args.conditional,
                        reloo=args.reloo, reloo_max=args.reloo_max, kfold=args.kfold,
                        say=print)
    attrs = dict(table.attrs)
    if args.pls:
        crit = pls_criteria(dict(zip(names, args.pls)), args.target)
        table = table.merge(crit, on="model", how="left")
    # the verdicts first: a ranking of fits that failed their checks is no ranking yet
    for line in attrs.get("verdicts", []):
        print(line)
    if attrs.get("failed"):
        print(f"WARNING: {', '.join(attrs['failed'])} failed the sampler diagnostics: do not "
              "report this ranking before refitting them (more --tune/--draws)")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for name, mcse in attrs.get("marginal_error", {}).items():
        print(f"{name}: marginal log-likelihood integrated with a Monte Carlo SE of at most "
              f"{mcse:.3f} per respondent and draw")
    for name, rows in attrs.get("refitted", {}).items():
        print(f"{name}: " + (f"refitted without respondent(s) {', '.join(str(i + 1) for i in rows)}"
                             " (Pareto k > 0.7): their elpd is exact, the k columns are "
                             "PSIS's" if rows else "no respondent with Pareto k > 0.7: no refit"))
    if attrs.get("kfold"):
        print(f"elpd_kfold: {attrs['kfold']}-fold cross-validation, each run refitted "
              f"{attrs['kfold']} times with its own draws, tuning and seed (column refits)")
    for w in attrs.get("warnings", []) if not attrs.get("refitted") else []:
        print(f"WARNING: {w}")
    if args.out:
        atomic_write_csv(args.out, table)
    return 0
