"""Benchmark of hierarchical (grouped) models: build, compile and sampling time, divergences,
worst R-hat and smallest bulk ESS (population parameters, between-group SDs and every
varying group value), ESS per second, for

- ``groups600``: the connective-action model on a simulated survey of N = 600 in 6 groups
  of unequal sizes (paths varying with SD 0.1): the issue's target is under 3 minutes with
  0 divergences after tuning;
- ``flagship``: the bundled synthetic flagship survey, 8 organisations, organisational logic
  as group-level predictor (what ``connective demo`` fits);
- ``blch9``: within-person mediation on Bolger & Laurenceau's diary data (100 persons x 21
  days, ../shared/benchmarks/data/BLch9.csv; bmlm (Stan) takes about 2 minutes here).

4 chains x 1,000 draws after 1,000 tuning draws by default.

    python scripts/benchmark_groups.py
    python scripts/benchmark_groups.py --only blch9 --draws 2000
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "data"


def groups600(seed: int):
    from connective.data.simulate import simulate
    from connective.resources import model_path
    from connective.spec import read_model

    spec = read_model(model_path("connective_action"))
    sizes = [50, 70, 90, 110, 130, 150]
    values = {"groups": {"column": "group", "names": [f"g{i + 1}" for i in range(6)],
                         "sizes": sizes, "path_sd": 0.1}}
    frame = simulate(spec, sum(sizes), values=values, seed=seed).frame
    return spec, frame, {"group": "group"}


def flagship(seed: int):
    from connective.resources import flagship_data_path, model_path
    from connective.spec import read_model

    return (read_model(model_path("connective_action")), pd.read_csv(flagship_data_path()),
            {"group": "organisation", "group_predictor": "logic"})


def blch9(seed: int):
    from connective.resources import model_path
    from connective.spec import read_model

    path = BENCHMARKS / "BLch9.csv"
    if not path.exists():
        raise SystemExit(f"{path} is missing: the benchmark data sit beside the clone")
    return (read_model(model_path("multilevel_mediation")), pd.read_csv(path),
            {"group": "id", "vary": ["paths", "intercepts"], "center": "within"})


CASES = {"groups600": groups600, "flagship": flagship, "blch9": blch9}


def run_case(name: str, args) -> dict:
    from connective.bayes import fit

    spec, frame, options = CASES[name](args.seed)
    t0 = time.perf_counter()
    result = fit(spec, frame, draws=args.draws, tune=args.tune, chains=args.chains,
                 seed=args.seed, target_accept=args.target_accept, **options)
    wall = time.perf_counter() - t0
    s = result.summary()
    t = result.timings
    return {"case": name, "N": len(frame), "groups": len(s["groups"]["groups"]),
            "build_s": round(t["build"], 1), "compile_s": round(t.get("compile", 0.0), 1),
            "sample_s": round(t["sample"], 1), "wall_s": round(wall, 1),
            "target_accept": result.idata.attrs["target_accept"],
            "steps_per_draw": round(float(result.idata.sample_stats["n_steps"].mean()), 1),
            "divergences": s["divergences"], "max_r_hat": round(s["max_r_hat"], 3),
            "min_ess_bulk": round(s["min_ess_bulk"]),
            "ess_per_s": round(s["min_ess_bulk"] / t["sample"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--target-accept", type=float, default=None,
                        help="NUTS's target acceptance rate (default: the model's own, 0.9 "
                             "for hierarchical normal models with 5 groups or more, else "
                             "0.95)")
    args = parser.parse_args()
    rows = []
    for name in args.only:
        rows.append(run_case(name, args))
        print(pd.DataFrame(rows).to_string(index=False), flush=True)
        print()


if __name__ == "__main__":
    main()
