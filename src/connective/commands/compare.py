"""``connective compare MODEL --data FILE --out DIR``: Bayes and PLS side by side."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from connective.commands._options import add_model_argument, add_overwrite_argument, load_model
from connective.compare.bayes_vs_pls import run_compare, write_comparison
from connective.data.readers import read_survey
from connective.errors import ConnectiveError
from connective.folders import run_folder
from connective.report.compare import write_compare_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="fit Bayes and PLS (and PLSc) and compare every effect",
                       description="Fit MODEL on FILE with the Bayesian engine, PLS and (for a "
                                   "reflective model) PLSc, or read finished run folders with "
                                   "--runs, and write one table of every path and effect: PLS "
                                   "estimates and bootstrap intervals beside the standardised "
                                   "posterior, their difference and whether the intervals agree "
                                   "on sign, with a forest plot and a report.")
    p.add_argument("model", metavar="MODEL", nargs="?",
                   help="a model file or bundled model name (not needed with --runs)")
    p.add_argument("--std-lv", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", metavar="FILE", help="survey data")
    p.add_argument("--runs", nargs="+", metavar="RUN_DIR",
                   help="finished run folders instead: one 'connective fit' and one or more "
                        "'connective pls' folders")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    add_overwrite_argument(p)
    p.add_argument("--seed", type=int, default=1, help="seed of both engines (default 1)")
    p.add_argument("--boot", type=int, default=5000, help="PLS bootstrap replicates (5000)")
    p.add_argument("--draws", type=int, default=1000, help="posterior draws per chain (1000)")
    p.add_argument("--tune", type=int, default=1000, help="tuning steps per chain (1000)")
    p.add_argument("--chains", type=int, default=4, help="chains (4)")
    p.set_defaults(run=run)


def _classify(dirs: list[str]) -> tuple[Path, dict[str, Path]]:
    bayes, pls = None, {}
    for d in map(Path, dirs):
        if (d / "posterior.nc").is_file():
            if bayes is not None:
                raise ConnectiveError(f"two Bayesian runs given ({bayes}, {d}); give one")
            bayes = d
        elif (d / "summary.json").is_file():
            engine = json.loads((d / "summary.json").read_text()).get("engine", "PLS")
            pls[engine if engine not in pls else f"{engine} ({d.name})"] = d
        else:
            raise ConnectiveError(f"{d} is not a run folder (no summary.json)")
    if bayes is None or not pls:
        raise ConnectiveError("--runs needs one 'connective fit' folder and at least one "
                              "'connective pls' folder")
    return bayes, pls


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not args.runs and (not args.model or not args.data):
        raise ConnectiveError("give MODEL and --data FILE, or --runs with finished runs")
    # the whole folder (both engines' runs, the table, the report) is one unit
    with run_folder(out, overwrite=args.overwrite) as tmp:
        if args.runs:
            bayes, pls = _classify(args.runs)
            write_comparison(bayes, pls, tmp)
        else:
            spec = load_model(args)
            survey = read_survey(args.data)
            print(survey.describe())
            run_compare(spec, survey, tmp, seed=args.seed, boot=args.boot, draws=args.draws,
                        tune=args.tune, chains=args.chains, progress=True)
        write_compare_report(tmp)
    print(f"wrote {out / 'comparison.csv'}, {out / 'forest.png'} and "
          f"{out / 'report' / 'report.html'}")
    return 0
