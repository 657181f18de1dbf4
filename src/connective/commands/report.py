"""``connective report RUN_DIR``: HTML and Markdown report of a finished run."""

from __future__ import annotations

import argparse
from pathlib import Path

from connective.commands._options import (add_data_arguments, add_overwrite_argument,
                                           add_point_argument, data_options)
from connective.data.options import DataOptions
from connective.folders import check_run_folder
from connective.report.compare import build_compare_report
from connective.report.run import write_run_report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the report of a finished run folder",
                       description="Write a self-contained HTML report and its Markdown twin "
                                   "(path diagram, APA tables of paths and effects, measurement "
                                   "model, diagnostics) for RUN_DIR, made by 'connective fit', "
                                   "'connective pls' or 'connective compare', opening with the "
                                   "verdict of every fit. Tables are also written as CSV (numbers "
                                   "in their own columns) and LaTeX; figures as SVG.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/report)")
    p.add_argument("--trace", action="store_true",
                   help="add rank and trace plots of the structural paths (Bayesian runs)")
    p.add_argument("--data", metavar="FILE", default=None,
                   help="the survey, for the item-level checks of a Bayesian run, if it is no "
                        "longer where the fit read it; the data options below replace the ones "
                        "the fit recorded")
    add_data_arguments(p, group=False)
    add_overwrite_argument(p)
    add_point_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if (Path(args.run_dir) / "comparison.json").is_file():
        check_run_folder(args.run_dir)  # the comparison's own files (its runs: when read)
        out = Path(args.out or Path(args.run_dir) / "report")
        build_compare_report(args.run_dir, point=args.point).write(out, overwrite=args.overwrite)
    else:
        options = data_options(args)
        out = write_run_report(args.run_dir, args.out, trace=args.trace, data=args.data,
                               data_options=None if options == DataOptions() else options,
                               overwrite=args.overwrite, point=args.point)
    print(f"wrote {out / 'report.html'} and {out / 'report.md'} (tables in {out / 'tables'})")
    return 0
