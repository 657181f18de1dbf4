"""``connective compare MODEL --data FILE --out DIR``: Bayes and PLS side by side."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from connective.commands._options import (add_data_arguments, add_lavaan_options,
                                           add_point_argument,
                                           add_overwrite_argument, add_sampling_arguments,
                                           check_memory, count, load_data, load_model)
from connective.compare.bayes_vs_pls import run_compare, write_comparison
from connective.errors import ConnectiveError
from connective.folders import run_folder
from connective.report.compare import write_compare_report
from connective.verdicts import comparison_verdicts


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
    add_lavaan_options(p)
    p.add_argument("--data", metavar="FILE", help="survey data")
    p.add_argument("--runs", nargs="+", metavar="RUN_DIR",
                   help="finished run folders instead: one 'connective fit' and one or more "
                        "'connective pls' folders")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--published", metavar="TABLE", default=None,
                   help="a CSV of what a paper printed (paths 'IS -> CI', indirect effects "
                        "'IS -> CI -> CID', loadings; estimate and any of SE, t, p, interval; "
                        "SmartPLS' column names work): set beside our PLS and the posterior")
    add_overwrite_argument(p)
    add_point_argument(p)
    p.add_argument("--boot", type=count("--boot"), default=5000,
                   help="PLS bootstrap replicates (5000)")
    add_sampling_arguments(p, seed=1)
    add_data_arguments(p, group=False)
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


def _spec_of_runs(runs):
    """The model of the Bayesian run among ``--runs`` (for reading a published table)."""
    import json

    from connective.spec import parse_model

    bayes, _ = _classify(runs)
    label = json.loads((Path(bayes) / "summary.json").read_text())
    label = label.get("run", label)
    return parse_model(label["model_text"], source=label.get("model", "<model>"))


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not args.runs and (not args.model or not (args.data or args.summary)):
        raise ConnectiveError("give MODEL and --data FILE (or --summary FILE), or --runs with "
                              "finished runs")
    spec = survey = None
    if not args.runs:  # every check before any work
        if args.missing == "fiml":
            raise ConnectiveError("compare fits PLS too, which cannot use --missing fiml; "
                                  "choose --missing casewise or --missing mean")
        spec = load_model(args)
        survey = load_data(args, spec)
        holes = int(survey.frame[list(spec.observed)].isna().to_numpy().sum())
        if holes:  # before the Bayesian fit, not after it
            raise ConnectiveError(f"{args.data}: {holes} missing answers; PLS needs a treatment "
                                  "and both engines get the same data: add --missing casewise "
                                  "or --missing mean")
        check_memory(spec, chains=args.chains, draws=args.draws, n_rows=len(survey.frame))
    published = None
    if args.published:  # read before any work: a bad name is an error now, not after it
        from connective.compare.published import read_published

        published = read_published(Path(args.published), spec or _spec_of_runs(args.runs))
    # the whole folder (both engines' runs, the table, the report) is one unit
    with run_folder(out, overwrite=args.overwrite) as tmp:
        if args.runs:
            bayes, pls = _classify(args.runs)
            write_comparison(bayes, pls, tmp, published=published)
        else:
            run_compare(spec, survey, tmp, seed=args.seed, boot=args.boot, draws=args.draws,
                        tune=args.tune, chains=args.chains, progress=True, cores=args.cores,
                        published=published)
        write_compare_report(tmp, point=args.point)
        verdicts = comparison_verdicts(tmp)
        note = json.loads((tmp / "comparison.json").read_text()).get("rows_note")
    print("Verdict of every fit:")
    print("\n".join("  " + v.line() for v in verdicts))
    if note:
        print(f"NOTE: {note}")
    print(f"wrote {out / 'comparison.csv'}, {out / 'forest.png'} and "
          f"{out / 'report' / 'report.html'}")
    return 0
