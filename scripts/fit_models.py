"""Fit SIMCA, the connective-action model and its variants on one survey (Bayes and PLS).

    python scripts/fit_models.py [--data FILE] [--out runs] [--draws 1000] [--seed 1]

Adapt MODELS and the data file to your study. Each model gets runs/<model>/bayes (posterior,
tables, report) and runs/<model>/pls (PLS with 5,000 bootstrap replicates, report). The
default data are the bundled SYNTHETIC flagship survey.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from connective.bayes import fit
from connective.data.readers import read_survey
from connective.data.validate import validate_survey
from connective.pls.run import run_pls
from connective.report.run import write_run_report
from connective.resources import flagship_data_path, model_path
from connective.spec import read_model

MODELS = ["simca", "connective_action", "connective_action_cross", "connective_action_direct"]

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(flagship_data_path()))
    ap.add_argument("--out", default="runs")
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--overwrite", action="store_true", help="replace earlier run folders")
    args = ap.parse_args()
    survey = read_survey(args.data)
    print(survey.describe())
    for name in MODELS:
        spec = read_model(model_path(name))
        validate_survey(survey, spec, scale=(1, 7))  # stops with a clear error on bad data
        out = Path(args.out) / name
        result = fit(spec, survey.frame, draws=args.draws, tune=args.draws, chains=4,
                     seed=args.seed, data_source=survey.source, synthetic=survey.synthetic)
        result.save(out / "bayes", overwrite=args.overwrite)
        write_run_report(out / "bayes", overwrite=args.overwrite)
        run_pls(spec, survey, out / "pls", boot=5000, seed=args.seed, overwrite=args.overwrite)
        write_run_report(out / "pls", overwrite=args.overwrite)
        s = result.summary()
        print(f"{name}: max R-hat {s['max_r_hat']:.3f}, min bulk ESS {s['min_ess_bulk']:.0f}, "
              f"{s['divergences']} divergences, PPP {s['ppp']:.2f} -> {out}")
