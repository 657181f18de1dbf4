"""The credible intervals of every indirect effect of a fitted model, ready for a paper.

    python scripts/indirect_effects.py runs/connective_action/bayes [--pls runs/connective_action/pls]

Prints the mediation analysis (standardised: median, 95% HDI, probability of direction,
probability beyond ±.05, proportion mediated, Zhao-Lynch-Chen type) and, with --pls, the
same rows from the PLS bootstrap replicates.
"""

from __future__ import annotations

import argparse

from connective.report.run import effect_draws, mediation_table, read_run

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--pls")
    args = ap.parse_args()
    for folder, bayes in ((args.run_dir, True), (args.pls, False)):
        if folder is None:
            continue
        run = read_run(folder)
        draws = effect_draws(run)
        if draws is None:
            raise SystemExit(f"{folder} has no posterior or bootstrap replicates")
        table, caption = mediation_table(draws, bayes)
        print(f"{caption} - {folder}")
        print(table.to_string(index=False))
        print()
