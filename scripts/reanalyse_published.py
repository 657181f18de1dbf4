"""Worked example of [8/12]: re-analyse a published PLS study from what it printed.

The "paper" is the bundled **synthetic** flagship survey (N = 194, 7-point items, simulated
from a stated population), analysed as a SmartPLS user would: PLS with 5,000 bootstrap
replicates, printed as a structural table of paths and indirect effects (coefficient, SE,
t, p, 95% percentile interval, to three decimals) and an item correlation matrix with SDs
(two decimals). The re-analysis starts from those printed numbers only:

1. ``connective validate`` of the model against the printed matrix;
2. ``connective compare --summary MATRIX --published TABLE``: our PLS from the matrix (a
   parametric bootstrap), PLSc, and the Bayesian posterior, beside the paper's table;
3. the report of that comparison.

    python scripts/reanalyse_published.py --out reanalysis          # about 3-5 minutes
    python scripts/reanalyse_published.py --out reanalysis --quick  # fewer draws

Everything it writes says the data are synthetic.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from connective.cli import main as connective
from connective.data.readers import read_survey
from connective.data.summary import printed_summary
from connective.pls import bootstrap_pls, estimate_pls
from connective.resources import flagship_data_path, model_path
from connective.spec import read_model


def printed_table(spec, frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """A SmartPLS-style table of the paper's PLS: paths and indirect effects."""
    boot = bootstrap_pls(estimate_pls(spec, frame), 5000, seed=seed, bca=False)
    fx = boot.effects()
    fx = fx[fx["kind"].isin(["direct", "indirect"])]
    t = (fx["est"] / fx["se"]).abs()
    p = 2 * norm.sf(t)  # SmartPLS' p-values: t against the normal
    return pd.DataFrame({
        "path": fx["effect"], "Original sample (O)": fx["est"].round(3),
        "Standard deviation (STDEV)": fx["se"].round(3),
        "T statistics (|O/STDEV|)": t.round(2),
        "P values": np.where(p < 0.001, "< .001", np.round(p, 3).astype(str)),
        "2.5%": fx["ci.lower"].round(3), "97.5%": fx["ci.upper"].round(3)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for the example (created)")
    ap.add_argument("--quick", action="store_true", help="fewer draws and replicates")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = model_path("connective_action")
    spec = read_model(model)
    frame = read_survey(flagship_data_path()).frame[list(spec.observed)]
    matrix, table = out / "printed_matrix.toml", out / "printed_table.csv"
    matrix.write_text(printed_summary(
        frame, sds=True, header="SYNTHETIC: the bundled flagship survey reduced to what a paper prints"))
    printed_table(spec, frame, args.seed).to_csv(table, index=False)
    print(f"the 'paper' (synthetic): {matrix} and {table}")
    draws = ["--draws", "300", "--tune", "300", "--chains", "2", "--boot", "500"] if args.quick \
        else ["--draws", "1000", "--tune", "1000", "--chains", "4", "--boot", "5000"]
    code = connective(["validate", str(model), "--summary", str(matrix)])
    code = code or connective(["compare", str(model), "--summary", str(matrix), "--published",
                               str(table), "--out", str(out / "compare"), "--seed",
                               str(args.seed), "--overwrite", *draws])
    if code:
        raise SystemExit(code)
    comparison = pd.read_csv(out / "compare" / "comparison.csv")
    shown = comparison[comparison["published_est"].notna()]
    print(shown[["effect", "published_est", "PLS_est", "diff_PLS_published", "bayes_est",
                 "bayes_lower", "bayes_upper", "same_verdict_published"]].round(3).to_string(
        index=False))
    worst = shown["diff_PLS_published"].abs().max()
    print(f"largest |our PLS from the printed matrix - the paper's PLS|: {worst:.4f} "
          "(rounding of the correlations to two decimals)")


if __name__ == "__main__":
    main()
