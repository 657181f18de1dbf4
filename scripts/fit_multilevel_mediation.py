"""Within-person mediation on Bolger & Laurenceau's diary data (2013, ch. 9; the BLch9 data of
bmlm): 100 persons x 21 days, work stressors -> work dissatisfaction -> relationship
dissatisfaction, with person-specific a, b and c' (and intercepts) pooled towards population
values, predictors centred within persons. Prints the population estimates, the covariance
term of the average indirect effect, the wall time, and, as a plain reference, the averages
of per-person least-squares fits (no pooling).

    python scripts/fit_multilevel_mediation.py [--data ../shared/benchmarks/data/BLch9.csv]
        [--out runs/blch9] [--draws 1000] [--seed 1]

Adapt: point --data at your own long-format diary file and edit models/
multilevel_mediation.lav (its column names).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "data" / "BLch9.csv"


def per_person_least_squares(frame: pd.DataFrame, x: str, m: str, y: str, group: str):
    """a_j, b_j, c'_j by ordinary least squares within each person (no pooling)."""
    rows = []
    for _, d in frame.groupby(group):
        X = np.column_stack([np.ones(len(d)), d[x]])
        a = np.linalg.lstsq(X, d[m], rcond=None)[0][1]
        Z = np.column_stack([np.ones(len(d)), d[m], d[x]])
        b, cp = np.linalg.lstsq(Z, d[y], rcond=None)[0][1:]
        rows.append((a, b, cp))
    return pd.DataFrame(rows, columns=["a", "b", "cp"])


def main() -> None:
    from connective.bayes import fit
    from connective.resources import model_path
    from connective.spec import read_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--out", default=None, help="save the run folder here")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier run folder")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    spec = read_model(model_path("multilevel_mediation"))
    frame = pd.read_csv(args.data)
    t0 = time.perf_counter()
    result = fit(spec, frame, group="id", vary=["paths", "intercepts"], center="within",
                 draws=args.draws, tune=args.draws, chains=4, seed=args.seed,
                 data_source=args.data)
    wall = time.perf_counter() - t0
    s = result.summary()
    print(f"{len(frame)} rows, {len(s['groups']['groups'])} persons; wall time {wall:.0f} s "
          f"({', '.join(f'{k} {v:.0f} s' for k, v in result.timings.items())}); divergences "
          f"{s['divergences']}, max R-hat {s['max_r_hat']:.3f}, min bulk ESS "
          f"{s['min_ess_bulk']:.0f}")
    fx = result.effects().set_index("effect")
    post = result.idata.posterior
    names = {"a": "fwkdis~fwkstrs", "b": "freldis~fwkdis", "cp": "freldis~fwkstrs"}
    print("\nPopulation values (posterior mean [95% interval]) and between-person SDs:")
    between = result.between_groups().set_index(["parameter", "quantity"])
    for short, name in names.items():
        v = between.loc[(name, "population value")]
        sd = between.loc[(name, "between-group SD")]
        print(f"  {short:<3}{v['est']:7.3f} [{v['ci.lower']:6.3f}, {v['ci.upper']:6.3f}]   "
              f"SD {sd['est']:.3f} [{sd['ci.lower']:.3f}, {sd['ci.upper']:.3f}]")
    cov = (post["group_sd"].sel(varying=names["a"]) * post["group_sd"].sel(varying=names["b"])
           * post["group_corr"].sel(varying=names["a"], varying_=names["b"]))
    lo, hi = cov.quantile([0.025, 0.975]).to_numpy()
    print(f"  cov(a, b) {float(cov.mean()):.3f} [{lo:.3f}, {hi:.3f}]")
    for effect in ("me", "total"):
        r = fx.loc[effect]
        print(f"  {effect:<6}{r['est']:7.3f} [{r['ci.lower']:6.3f}, {r['ci.upper']:6.3f}]  "
              "(population average)")
    ols = per_person_least_squares(result_frame(frame), "fwkstrs", "fwkdis", "freldis", "id")
    print("\nNo pooling (per-person least squares, averaged over persons): "
          f"a {ols['a'].mean():.3f}, b {ols['b'].mean():.3f}, c' {ols['cp'].mean():.3f}, "
          f"mean(a_j b_j) {(ols['a'] * ols['b']).mean():.3f}")
    if args.out:
        paths = result.save(args.out, overwrite=args.overwrite)
        print(f"\nwrote {', '.join(map(str, paths.values()))}")


def result_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The diary data with the predictors centred within persons (as the fit sees them)."""
    out = frame.copy()
    for v in ("fwkstrs", "fwkdis"):
        out[v] = out[v] - out.groupby("id")[v].transform("mean")
    return out


if __name__ == "__main__":
    main()
