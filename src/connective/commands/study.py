"""``connective study STUDY.toml --out DIR``: a simulation study on Dask, resumable."""

from __future__ import annotations

import argparse

from connective.errors import ConnectiveError
from connective.studies.runner import run_study


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("study", help="run (or resume) a simulation study on Dask",
                       description="Simulate data sets for every condition of STUDY.toml, run "
                                   "every method on each, and write bias, RMSE, coverage, width, "
                                   "power and failure rates to DIR/results/results.csv (with "
                                   "plots). One study at a time may use DIR. Each "
                                   "replication is saved as it finishes; running the same command "
                                   "again resumes an interrupted study.")
    p.add_argument("study", metavar="STUDY.toml", help="the study file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="address of a running Dask scheduler (default: start a local cluster)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="worker processes of the local cluster (default: one per core)")
    p.add_argument("--only", metavar="KEY=VALUE", action="append", default=[],
                   help="run only the conditions with this setting, e.g. --only n=194 "
                        "(repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    only = {}
    for item in args.only:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConnectiveError(f"--only takes KEY=VALUE, e.g. n=194, not {item!r}")
        only[key.strip()] = value.strip()
    table = run_study(args.study, args.out, scheduler=args.scheduler, workers=args.workers,
                      progress=not args.quiet, only=only)
    # the verdict first: how many replications' fits failed their checks (left out below)
    per_fit = table.drop_duplicates(["condition", "method"])
    print("Verdict of the fits (a replication that failed or did not converge is left out "
          "of the metrics):")
    for method, part in per_fit.groupby("method", sort=False):
        failed, total = int(part["n_failed"].sum()), int((part["n_ok"] + part["n_failed"]).sum())
        print(f"  {'PASS' if failed == 0 else 'FAIL'}  {method}: {failed} of {total} "
              f"replications failed their checks" + ("" if failed == 0 else
                                                   " (failure_rate per condition below)"))
    cols = ["condition", "method", "effect", "truth", "bias", "rmse", "coverage", "width",
            "power", "failure_rate"]
    print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"\nwrote {args.out}/results/: results.csv, coverage.png, bias.png")
    return 0
