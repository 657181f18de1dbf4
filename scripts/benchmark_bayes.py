"""Benchmark of the Bayesian engine: compile time, sampling time (cold and warm), minimum
bulk ESS, ESS per second and divergences, for the connective-action model (N = 194) and
PoliticalDemocracy, with nutpie and (``--pymc``) PyMC's own NUTS.

Without ``--data`` the connective-action data are simulated with numpy from the model
(standardised normal items: loadings 0.8, every path 0.4; clearly not real data).

    python scripts/benchmark_bayes.py                    # 4 chains x 1000 draws
    python scripts/benchmark_bayes.py --seeds 10         # convergence over 10 seeds (warm)
    python scripts/benchmark_bayes.py --pymc             # also PyMC's NUTS
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

POLDEM = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""


def simulate(spec, n: int, seed: int, loading: float = 0.8, path: float = 0.4) -> pd.DataFrame:
    """Standardised normal items from the model: factors with unit total variance where
    possible, loadings ``loading``, every structural path ``path``."""
    rng = np.random.default_rng(seed)
    eta = list(spec.structural)
    scores: dict[str, np.ndarray] = {}
    for v in eta:  # topological order
        preds = [s for s, t in spec.paths if t == v]
        lin = sum(path * scores[s] for s in preds) if preds else 0.0
        explained = np.var(lin) if preds else 0.0
        scores[v] = lin + rng.normal(scale=np.sqrt(max(1 - explained, 0.2)), size=n)
    cols = {}
    for c, items in spec.indicators.items():
        for item in items:
            cols[item] = loading * scores[c] + rng.normal(scale=np.sqrt(1 - loading**2), size=n)
    return pd.DataFrame(cols)


def run_case(name, spec, frame, args, sampler):
    from connective.bayes import build_model, compile_model, sample
    from connective.bayes.results import summary

    t0 = time.perf_counter()
    bm = build_model(spec, frame)
    build = time.perf_counter() - t0
    compile_s = 0.0
    if sampler == "nutpie":
        t0 = time.perf_counter()
        compile_model(bm)
        compile_s = time.perf_counter() - t0
    rows = []
    seeds = range(args.seed, args.seed + max(args.seeds, 2))
    for i, seed in enumerate(seeds):
        t0 = time.perf_counter()
        idata = sample(bm, draws=args.draws, tune=args.tune, chains=args.chains, seed=seed,
                       sampler=sampler, progress=False)
        wall = time.perf_counter() - t0
        s = summary(idata)
        cold = build + compile_s + wall if i == 0 else None
        rows.append(dict(case=name, sampler=sampler, seed=seed, run="cold" if i == 0 else "warm",
                         wall_s=round(cold if cold is not None else wall, 2),
                         sample_s=round(wall, 2), compile_s=round(compile_s, 2) if i == 0 else 0,
                         min_ess_bulk=round(s["min_ess_bulk"]),
                         ess_per_s=round(s["min_ess_bulk"] / wall, 1),
                         max_r_hat=round(s["max_r_hat"], 4), divergences=s["divergences"]))
        r = rows[-1]
        print(f"  {name} {sampler} seed {seed} {r['run']}: {r['wall_s']} s, min ESS "
              f"{r['min_ess_bulk']}, {r['ess_per_s']} ESS/s, R-hat {r['max_r_hat']}, "
              f"{r['divergences']} divergences", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="connective-action survey (default: simulated, N=194)")
    parser.add_argument("--n", type=int, default=194)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=2,
                        help="number of seeds (the first run is cold, the rest warm)")
    parser.add_argument("--pymc", action="store_true", help="also PyMC's NUTS (C backend)")
    parser.add_argument("--benchmarks", default=str(Path(__file__).resolve().parents[2]
                                                    / "shared" / "benchmarks"))
    args = parser.parse_args(argv)

    from connective.resources import model_path
    from connective.spec import parse_model, read_model

    spec = read_model(model_path("connective_action"))
    frame = pd.read_csv(args.data) if args.data else simulate(spec, args.n, seed=194)
    cases = [("connective_action" + ("" if args.data else " (simulated)"), spec, frame)]
    pd_file = Path(args.benchmarks) / "data" / "PoliticalDemocracy.csv"
    if pd_file.is_file():
        cases.append(("PoliticalDemocracy", parse_model(POLDEM), pd.read_csv(pd_file)))
    samplers = ["nutpie"] + (["pymc"] if args.pymc else [])
    print(f"{args.chains} chains x {args.draws} draws (+{args.tune} tuning)")
    rows = []
    for sampler in samplers:
        for name, sp, fr in cases:
            rows += run_case(name, sp, fr, args, sampler)
    table = pd.DataFrame(rows)
    print("\nevery run (wall_s of a cold run = build + compile + sampling):")
    print(table.to_string(index=False))
    print("\nsummary by case and sampler (warm runs):")
    warm = table[table["run"] == "warm"]
    print(warm.groupby(["case", "sampler"]).agg(
        runs=("seed", "size"), max_r_hat=("max_r_hat", "max"),
        min_ess_bulk=("min_ess_bulk", "min"), divergences=("divergences", "sum"),
        median_sample_s=("sample_s", "median"), median_ess_per_s=("ess_per_s", "median"))
        .to_string())


if __name__ == "__main__":
    main()
