"""The report of a ``connective compare`` folder: the Bayesian run's report, then Bayes vs
PLS side by side, then the PLS quality criteria.

Example
-------
>>> write_compare_report("runs/compare")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402

from connective.compare.bayes_vs_pls import forest_plot, interval_sign, run_path  # noqa: E402
from connective.pls.quality import reliability_flags  # noqa: E402
from connective.report.document import Report, fmt, fmt_interval  # noqa: E402
from connective.report.run import build_run_report, read_run  # noqa: E402


def build_compare_report(folder: str | Path) -> Report:
    folder = Path(folder)
    meta = json.loads((folder / "comparison.json").read_text())
    table = pd.read_csv(folder / "comparison.csv")
    doc = build_run_report(run_path(folder, meta["bayes"]))
    methods = list(meta["pls"])
    doc.title = doc.title.replace("Bayesian SEM", "Bayesian SEM and " + " / ".join(methods))
    doc.heading("Bayes vs PLS")
    doc.paragraph(meta["footing"])
    doc.figure(forest_plot(table, methods),
               "Every path and indirect effect: standardised posterior (Bayes) beside "
               + ", ".join(methods) + " with 95% intervals.", name="forest")
    rows = table[table["kind"].isin(["direct", "indirect", "total_indirect", "defined"])]
    cols = {"Effect": rows["effect"],
            "Bayes (std.)": [f"{fmt(r.bayes_est)} {fmt_interval(r.bayes_lower, r.bayes_upper)}"
                             for r in rows.itertuples()]}
    for m in methods:
        cols[m] = [f"{fmt(e)} {fmt_interval(lo, hi)}" for e, lo, hi in
                   zip(rows[f"{m}_est"], rows[f"{m}_lower"], rows[f"{m}_upper"])]
        cols[f"Δ {m}"] = rows[f"diff_{m}"].map(fmt)
        verdicts = [f"{'yes' if a == b else 'NO'} ({a}/{b})" for a, b in zip(
            interval_sign(rows["bayes_lower"], rows["bayes_upper"]),
            interval_sign(rows[f"{m}_lower"], rows[f"{m}_upper"]))]
        cols[f"same verdict ({m})"] = verdicts
    doc.table(pd.DataFrame(cols), "Bayes vs PLS, every path and effect", name="bayes_vs_pls",
              note="Δ = Bayes minus PLS estimate. Same verdict: both intervals above 0 (+), both "
                   "below 0 (−), or both containing 0 (0); the verdicts are shown Bayes/PLS.")
    for m, run_dir in meta["pls"].items():
        run = read_run(run_path(folder, run_dir))
        if "reliability" in run:
            rel = run["reliability"]
            doc.table(pd.DataFrame({
                "Construct": rel["construct"],
                **{k: rel[c].map(lambda x: fmt(x, leading_zero=False)) for k, c in
                   (("α", "alpha"), ("ρA", "rhoA"), ("ρC", "rhoC"), ("AVE", "AVE"))},
                "Flags": reliability_flags(rel)}),
                f"{m}: reliability and convergent validity", name=f"reliability_{m}",
                note="Thresholds: α, ρA, ρC between .70 and .95; AVE ≥ .50.")
    return doc


def write_compare_report(folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write the report of a comparison into ``folder/report`` (a unit of its own)."""
    folder = Path(folder)
    return build_compare_report(folder).write(folder / "report", overwrite=overwrite)
