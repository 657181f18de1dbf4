"""False positives of the Bayesian latent interaction: with a true interaction of 0, the
share of 95% intervals of the standardised interaction that exclude zero should lie in the
95% binomial band around 5%.

Simulated CID x EFF -> OCA data (scripts/studies/moderation.lav and its population, N = 194,
normal items by default), one fit per replication (2 chains, short by default: a check of
calibration, not of a single analysis). Prints each replication and, at the end, the share,
its binomial band and the run time.

    PYTHONPATH=src python scripts/check_interaction_false_positives.py --replications 200
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import binom

from connective.bayes import fit
from connective.data.simulate import read_values_file, simulate
from connective.spec import read_model

STUDY = Path(__file__).parent / "studies"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=200)
    parser.add_argument("--n", type=int, default=194)
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--likelihood", default="normal", choices=("normal", "ordinal"))
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--minutes", type=float, default=None,
                        help="stop starting replications after this many minutes")
    args = parser.parse_args()
    spec = read_model(STUDY / "moderation.lav")
    values = read_values_file(STUDY / "moderation_population.toml")
    values["defaults"] = {**values.get("defaults", {}), "interaction": 0.0}
    if args.likelihood == "ordinal":
        values["likert"] = {"categories": 7}
    start = time.perf_counter()
    excluded, done, diverged = 0, 0, 0
    for r in range(args.replications):
        if args.minutes and time.perf_counter() - start > 60 * args.minutes:
            break
        seed = int(np.random.SeedSequence([args.seed, r]).generate_state(1)[0])
        frame = simulate(spec, args.n, values=values, seed=seed).frame
        result = fit(spec, frame, likelihood=args.likelihood, draws=args.draws,
                     tune=args.draws, chains=2, seed=seed)
        table = result.parameters()
        row = table[table["rhs"] == "CID:EFF"].iloc[0]
        lo, hi = float(row["std.all.lower"]), float(row["std.all.upper"])
        out = not lo <= 0 <= hi
        excluded += out
        done += 1
        s = result.summary()
        diverged += s["divergences"] > 0
        print(f"replication {r + 1:3d}: [{lo:6.3f}, {hi:6.3f}] excludes 0: {str(out):5} "
              f"R-hat {s['max_r_hat']:.3f} min ESS {s['min_ess_bulk']:.0f} "
              f"divergences {s['divergences']}", flush=True)
    lo_band, hi_band = (binom.ppf(q, done, 0.05) / done for q in (0.025, 0.975))
    print(f"{excluded} of {done} intervals exclude 0: {excluded / done:.1%}; 95% binomial band "
          f"around 5% for {done} replications: [{lo_band:.1%}, {hi_band:.1%}]; inside: "
          f"{lo_band <= excluded / done <= hi_band}; fits with divergences: {diverged}; "
          f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
