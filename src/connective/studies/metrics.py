"""Operating characteristics per condition, method and effect.

bias = mean(est - truth); RMSE = sqrt(mean((est - truth)^2)); coverage = share of 95%
intervals that contain the truth; width = mean interval width; power = share of intervals
that exclude 0 (for a true effect of 0 this is the false-positive rate); failure_rate =
share of replications that failed or did not converge (those are left out of the rest).

Example
-------
>>> import pandas as pd
>>> est = pd.DataFrame({"condition": "n=50", "method": "m", "replication": [1, 2],
...                     "status": "ok", "converged": True, "effect": "ind",
...                     "est": [0.1, 0.4], "lower": [0.0, 0.25], "upper": [0.2, 0.5]})
>>> row = operating_characteristics(est, {"n=50": pd.Series({"ind": 0.2})}).iloc[0]
>>> [round(float(row[k]), 3) for k in ("bias", "rmse", "coverage", "power")]
[0.05, 0.158, 0.5, 0.5]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["condition", "method", "effect", "truth", "n_ok", "n_failed", "failure_rate",
           "bias", "rmse", "coverage", "width", "power"]


def operating_characteristics(estimates: pd.DataFrame, truths: dict[str, pd.Series]) -> pd.DataFrame:
    """Aggregate replication estimates against the truth of each condition.

    Every (condition, method) that has records gets a row per effect of its truth, even when
    all its replications failed (then ``n_ok`` is 0, the metrics are NaN and
    ``failure_rate`` is 1).
    """
    if estimates.empty:
        return pd.DataFrame(columns=COLUMNS)
    reps = estimates.drop_duplicates(["condition", "method", "replication"])
    bad = (reps["status"] != "ok") | ~reps["converged"].astype(bool)
    counts = reps.assign(bad=bad).groupby(["condition", "method"], sort=False)["bad"]
    frame = pd.DataFrame({"n_failed": counts.sum().astype(int),
                          "failure_rate": counts.mean()}).reset_index()
    base = pd.DataFrame([{"condition": c, "method": m, "effect": e, "truth": t}
                         for c, m in zip(frame["condition"], frame["method"])
                         for e, t in truths[c].items()])
    base = base.merge(frame, on=["condition", "method"])
    ok = estimates[(estimates["status"] == "ok") & estimates["converged"].astype(bool)]
    ok = ok.merge(base[["condition", "method", "effect", "truth"]],
                  on=["condition", "method", "effect"])
    if ok.empty:
        metrics = pd.DataFrame(columns=["condition", "method", "effect", "n_ok", "bias", "rmse",
                                        "coverage", "width", "power"])
    else:
        ok = ok.assign(error=ok["est"] - ok["truth"],
                       covered=(ok["lower"] <= ok["truth"]) & (ok["truth"] <= ok["upper"]),
                       excludes_zero=(ok["lower"] > 0) | (ok["upper"] < 0),
                       width=ok["upper"] - ok["lower"])
        g = ok.groupby(["condition", "method", "effect"], sort=False)
        metrics = pd.DataFrame({
            "n_ok": g.size(), "bias": g["error"].mean(),
            "rmse": np.sqrt((ok["error"] ** 2).groupby([ok["condition"], ok["method"],
                                                        ok["effect"]], sort=False).mean()),
            "coverage": g["covered"].mean(), "width": g["width"].mean(),
            "power": g["excludes_zero"].mean(),
        }).reset_index()
    out = base.merge(metrics, on=["condition", "method", "effect"], how="left")
    out["n_ok"] = out["n_ok"].fillna(0).astype(int)
    return out[COLUMNS]
