"""Compare the fitted models of scripts/fit_models.py by PSIS-LOO, with PLS criteria.

    python scripts/compare_models.py [--runs runs]

LOO ranks models of the same items only: the connective-action model and its variants are
ranked together; SIMCA, which uses a subset of the items, is reported on its own (its fit is
judged by its PPP and its PLS R^2 instead).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from connective.compare.loo import compare_loo, pls_criteria

SAME_ITEMS = ["connective_action", "connective_action_cross", "connective_action_direct"]

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs")
    args = ap.parse_args()
    runs = Path(args.runs)
    table = compare_loo({m: runs / m / "bayes" for m in SAME_ITEMS})
    table = table.merge(pls_criteria({m: runs / m / "pls" for m in SAME_ITEMS}), on="model")
    cols = ["model", "rank", "elpd_loo", "elpd_diff", "dse", "weight", "pareto_k_above_0.7",
            "r2", "r2_adj", "bic"]
    print("PSIS-LOO (higher elpd is better) and PLS criteria of the target construct OCA:")
    print(table[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    simca = json.loads((runs / "simca" / "bayes" / "summary.json").read_text())
    r2 = pls_criteria({"simca": runs / "simca" / "pls"}).iloc[0]
    print(f"\nSIMCA (other items, not ranked by LOO): PPP {simca['ppp']:.2f}, "
          f"PLS R^2 of OCA {r2['r2']:.3f} (adjusted {r2['r2_adj']:.3f})")
