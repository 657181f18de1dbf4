"""Operating characteristics per condition, method and effect.

bias = mean(est - truth); RMSE = sqrt(mean((est - truth)^2)); coverage = share of 95%
intervals that contain the truth; width = mean interval width; power = share of intervals
that exclude 0 (for a true effect of 0 this is the false-positive rate); failure_rate =
share of replications that failed or did not converge (those are left out of the rest).
Model-comparison studies (engine ``loo``): the share of replications in which PSIS-LOO ranks
the true model first (:func:`model_selection`).

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


SELECTION_COLUMNS = ["condition", "method", "truth", "n_ok", "n_failed", "true_model_picked",
                     "picks", "mean_share_k_above_0.7"]


def model_selection(records: list[dict]) -> pd.DataFrame:
    """How often PSIS-LOO ranks the true model first, per condition and ``loo`` method, over
    the replications whose fits all passed (``n_failed``: the others), with every model's
    count of picks and the mean share of Pareto k above 0.7 (of all models' fits).

    Example
    -------
    >>> rec = lambda r, pick: {"condition": "n=200", "method": "loo", "replication": r,
    ...     "status": "ok", "converged": True, "selection": {"picked": pick, "truth": "a",
    ...     "elpd": {"a": -1.0, "b": -2.0}, "share_k_above_0.7": {"a": 0.0, "b": 0.02}}}
    >>> row = model_selection([rec(1, "a"), rec(2, "a"), rec(3, "b")]).iloc[0]
    >>> float(row["true_model_picked"]), row["picks"], float(row["mean_share_k_above_0.7"])
    (0.6667, 'a: 2, b: 1', 0.01)
    """
    groups: dict = {}
    for rec in records:
        if "selection" not in rec and rec.get("status") == "ok":
            continue  # another engine's record
        groups.setdefault((rec["condition"], rec["method"]), []).append(rec)
    rows = []
    for (condition, method), recs in groups.items():
        good = [r for r in recs if r["status"] == "ok" and r.get("converged")]
        picks: dict = {}
        for r in good:
            picks[r["selection"]["picked"]] = picks.get(r["selection"]["picked"], 0) + 1
        truth = next((r["selection"]["truth"] for r in recs if "selection" in r), "")
        shares = [np.mean(list(r["selection"]["share_k_above_0.7"].values())) for r in good]
        rows.append({"condition": condition, "method": method, "truth": truth,
                     "n_ok": len(good), "n_failed": len(recs) - len(good),
                     "true_model_picked": round(picks.get(truth, 0) / len(good), 4)
                     if good else float("nan"),
                     "picks": ", ".join(f"{k}: {v}" for k, v in sorted(picks.items())),
                     "mean_share_k_above_0.7": round(float(np.mean(shares)), 4)
                     if shares else float("nan")})
    return pd.DataFrame(rows, columns=SELECTION_COLUMNS)
