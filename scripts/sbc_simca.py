"""Simulation-based calibration of the continuous Bayesian engine on the SIMCA model.

    python scripts/sbc_simca.py [--iterations 100] [--n 194] [--out runs/sbc_simca]

Draws parameters from the prior, simulates a survey from each, fits it, and checks that the
rank of every true value among the posterior draws is uniform (ECDF inside its simultaneous
95% band). Writes ranks.csv and sbc_ecdf.png to --out and prints the verdict.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from connective.io import atomic_write_csv
from connective.report.diagram import save_figure
from connective.resources import model_path
from connective.spec import read_model
from connective.studies.sbc import run_sbc

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--n", type=int, default=194)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="runs/sbc_simca")
    args = ap.parse_args()
    result = run_sbc(read_model(model_path("simca")), n=args.n, iterations=args.iterations,
                     seed=args.seed)
    out = Path(args.out)
    atomic_write_csv(out / "ranks.csv", result.ranks)
    save_figure(result.plot(), out / "sbc_ecdf.png")
    print(result.text())
    for failure in result.failures:
        print("  failed:", failure)
    print(f"wrote {out / 'ranks.csv'} and {out / 'sbc_ecdf.png'}")
