"""Recovery of a latent interaction by the Bayesian engine (bayes/interaction.py).

Simulated connective-action data with a known latent interaction (CID x EFF -> OCA, a
standardised 0.25, correlated moderators, loadings 0.7, three items per construct), N = 194
and 1,000, normal items and 7-point ordinal items: the 95% interval of the standardised
interaction (std.all) and of the main effects should cover the truth, and the intervals
should narrow with N. Prints one line per fit (estimate, interval, covered, width, time,
min ESS, R-hat, divergences).

    PYTHONPATH=src python scripts/check_interaction_recovery.py [--draws 500] [--seed 11]

Measured (2026-12-01, ordinal items, N = 1,000, 2 x 500 draws, 1,286 s beside a background
job): CID:EFF 0.269 [0.181, 0.364], CID 0.327 [0.240, 0.399], EFF 0.265 [0.177, 0.343], all
covering the truth; min bulk ESS 242, R-hat 1.009, no divergences; the interaction's
interval 0.38 times as wide as at N = 194.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from connective.bayes import fit
from connective.data.simulate import simulate
from connective.spec import parse_model

MODEL = """
CID =~ cid1 + cid2 + cid3
EFF =~ eff1 + eff2 + eff3
OCA =~ oca1 + oca2 + oca3
OCA ~ b1*CID + b2*EFF + b3*CID:EFF
"""
TRUTH = {"OCA~CID": 0.3, "OCA~EFF": 0.3, "OCA~CID:EFF": 0.25}
VALUES = {"values": {"b1": 0.3, "b2": 0.3, "b3": 0.25, "CID ~~ EFF": 0.3}}


def run(n: int, likelihood: str, *, draws: int, seed: int) -> dict:
    spec = parse_model(MODEL)
    values = dict(VALUES, **({"likert": {"categories": 7}} if likelihood == "ordinal" else {}))
    frame = simulate(spec, n, values=values, seed=seed).frame
    t0 = time.perf_counter()
    result = fit(spec, frame, likelihood=likelihood, draws=draws, tune=draws, chains=2,
                 seed=seed)
    seconds = time.perf_counter() - t0
    table = result.parameters()
    table["name"] = table["lhs"] + table["op"] + table["rhs"]
    rows = table.set_index("name").loc[list(TRUTH)]
    summary = result.summary()
    return {"rows": rows, "seconds": seconds, "ess": summary["min_ess_bulk"],
            "rhat": summary["max_r_hat"], "divergences": summary["divergences"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--n", type=int, nargs="+", default=[194, 1000])
    parser.add_argument("--likelihood", nargs="+", default=["normal", "ordinal"])
    args = parser.parse_args()
    print(f"truth (std.all): {TRUTH}; 2 chains x {args.draws} draws (+ {args.draws} tuning)")
    print(f"{'items':8} {'N':>5} {'parameter':12} {'est':>6} {'2.5%':>6} {'97.5%':>6} "
          f"{'cover':>5} {'width':>6} {'time s':>7} {'minESS':>7} {'R-hat':>6} {'div':>4}")
    widths: dict[tuple, float] = {}
    for likelihood in args.likelihood:
        for n in args.n:
            out = run(n, likelihood, draws=args.draws, seed=args.seed)
            for name, truth in TRUTH.items():
                r = out["rows"].loc[name]
                lo, hi = r["std.all.lower"], r["std.all.upper"]
                widths[(likelihood, n, name)] = hi - lo
                print(f"{likelihood:8} {n:5d} {name:12} {r['std.all']:6.3f} {lo:6.3f} "
                      f"{hi:6.3f} {str(bool(lo <= truth <= hi)):>5} {hi - lo:6.3f} "
                      f"{out['seconds']:7.1f} {out['ess']:7.0f} {out['rhat']:6.3f} "
                      f"{out['divergences']:4d}")
    for likelihood in args.likelihood:
        ns = sorted(args.n)
        if len(ns) > 1:
            ratio = (widths[(likelihood, ns[-1], "OCA~CID:EFF")]
                     / widths[(likelihood, ns[0], "OCA~CID:EFF")])
            print(f"{likelihood}: width of the interaction's interval at N = {ns[-1]} / "
                  f"N = {ns[0]}: {ratio:.2f} (sqrt({ns[0]}/{ns[-1]}) = "
                  f"{np.sqrt(ns[0] / ns[-1]):.2f})")


if __name__ == "__main__":
    main()
