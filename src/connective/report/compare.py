"""The report of a ``connective compare`` folder: the verdict of every fit, the Bayesian run's
report, then Bayes vs PLS side by side (one sentence per hypothesised path and named effect,
R² of every endogenous construct), then the PLS tables reviewers ask for (loadings and
weights, paths with t- and p-values, reliability, HTMT with intervals).

Paths inside ``comparison.json`` are relative to the comparison folder, so the report can be
made from any working directory.

Example
-------
>>> write_compare_report("runs/compare")  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from connective.compare.bayes_vs_pls import (forest_plot, interval_sign, rows_header, run_path,
                                             standardized_bayes_effects)
from connective.effects import CONDITIONAL_KINDS
from connective.pls.quality import reliability_flags
from connective.report.document import Report, fmt, fmt_estimate
from connective.report.moderation import moderation_comparison_table
from connective.report.run import (_interval, _path_table, add_provenance,
                                   build_run_report, pls_columns, pls_interval, pls_note,
                                   r_squared_table, read_run, srmr_sentence)
from connective.spec import parse_model
from connective.verdicts import run_verdict

_SIGN_WORDS = {"+": "above 0", "−": "below 0", "0": "containing 0"}


def build_compare_report(folder: str | Path, *, point: str = "mean") -> Report:
    """The report of a comparison folder (``point``: the posterior mean or median)."""
    folder = Path(folder)
    meta = json.loads((folder / "comparison.json").read_text())
    table = pd.read_csv(folder / "comparison.csv")
    bayes_dir = run_path(folder, meta["bayes"])
    doc = build_run_report(bayes_dir, point=point, sentences=False)
    bayes_fit = run_verdict(read_run(bayes_dir)).fit
    methods = list(meta["pls"])
    runs = {m: read_run(run_path(folder, d)) for m, d in meta["pls"].items()}
    fits = {m: run_verdict(r) for m, r in runs.items()}
    for v in fits.values():
        doc.verdict(v.fit, v.ok, v.text)
    every_fit = (bayes_fit, *(v.fit for v in fits.values()))
    cw = pls_interval(runs[methods[0]])  # the PLS runs' interval, in words
    if point != "mean":  # the Bayesian point the rest of the report uses
        post = standardized_bayes_effects(bayes_dir).set_index("effect")
        table["bayes_est"] = post[point].reindex(table["effect"]).to_numpy()
    doc.title = doc.title.replace("Bayesian SEM", "Bayesian SEM and " + " / ".join(methods))
    doc.heading("Bayes vs PLS")
    doc.paragraph(meta["footing"] + f" Bayesian point estimates here are posterior {point}s.")
    if meta.get("rows_note"):  # other rows: the engines' estimates are of other samples
        doc.paragraph(meta["rows_note"])
    spec = parse_model(runs[methods[0]]["label"]["model_text"])
    for text in effect_sentences(table, methods, spec, bayes_dir, point, cw):
        doc.paragraph(text)
    doc.figure(forest_plot(table, methods),
               f"Every path and indirect effect: standardised posterior {point} (Bayes) beside "
               + ", ".join(methods) + " with 95% intervals.", name="forest", fit=every_fit)
    rows = table[table["kind"].isin(["direct", "indirect", "total_indirect", "defined"])]
    cols = {"Effect": rows["effect"],
            "Bayes (std.)": [fmt_estimate(r.bayes_est, r.bayes_lower, r.bayes_upper)
                             for r in rows.itertuples()]}
    for m in methods:
        cols[m] = [fmt_estimate(e, lo, hi) for e, lo, hi in
                   zip(rows[f"{m}_est"], rows[f"{m}_lower"], rows[f"{m}_upper"])]
        cols[f"Δ {m}"] = (rows["bayes_est"] - rows[f"{m}_est"]).map(fmt)
        verdicts = [f"{'yes' if a == b else 'NO'} ({a}/{b})" for a, b in zip(
            interval_sign(rows["bayes_lower"], rows["bayes_upper"]),
            interval_sign(rows[f"{m}_lower"], rows[f"{m}_upper"]))]
        cols[f"same verdict ({m})"] = verdicts
    title = "Bayes vs PLS, every path and effect"
    if meta.get("rows_note"):
        title += f" (different rows: {rows_header(meta['rows'])})"
    doc.table(pd.DataFrame(cols), title, name="bayes_vs_pls",
              note=f"Bayes: standardised posterior {point} with its 95% equal-tailed credible "
                   f"interval; PLS: full-sample estimate with its {cw} "
                   "interval. Δ = Bayes minus PLS estimate. Same verdict: both intervals above "
                   "0 (+), both below 0 (−), or both containing 0 (0); shown Bayes/PLS.",
              fit=every_fit)
    if table["kind"].isin(CONDITIONAL_KINDS).any():
        doc.table(moderation_comparison_table(table, methods),
                  "Moderation: Bayes beside PLS (conditional effects and indices)",
                  name="moderation_bayes_vs_pls", fit=every_fit,
                  note=f"Bayes: standardised posterior {point} with its 95% credible interval, "
                       "at the latent moderator's mean and one SD either side; PLS (two-stage): "
                       f"full-sample estimate with its {cw} interval, at the standardised "
                       "score's 0 and ±1. Same verdict: both intervals above 0 (+), below 0 "
                       "(−) or containing 0 (0); shown Bayes/PLS.")
    r2 = _r2_side_by_side(read_run(bayes_dir) | {"point": point}, runs, spec)
    if r2 is not None:
        doc.table(r2, "R² of every endogenous construct, Bayes beside PLS", name="r_squared_all",
                  note=f"Bayes: posterior {point} of R² (1 − standardised residual variance) "
                       f"with its 95% credible interval; PLS: full-sample R² with its {cw} "
                       "interval; Adj.: 1 − (1 − R²)(N − 1)/(N − k − 1).",
                  fit=every_fit)
    for m, run in runs.items():
        _pls_tables(doc, m, run, fits[m].fit)
    for m, run in runs.items():
        add_provenance(doc, run["label"], fits[m].fit)
    return doc


def effect_sentences(table: pd.DataFrame, methods: list[str], spec, bayes_dir: Path,
                     point: str = "mean", ci: str = "bootstrap percentile 95%") -> list[str]:
    """One sentence per hypothesised path and per named (:=) indirect effect, then a short
    paragraph on the model that could open a results section: estimate, interval, probability
    of direction, and whether Bayes and each PLS variant reach the same verdict.

    Example
    -------
    >>> effect_sentences(table, ["PLS"], spec, Path("runs/compare/bayes"))[0]  # doctest: +SKIP
    'IS → CI: Bayes 0.47 [0.32, 0.61], P(direction) = 1.00; PLS 0.40 [0.27, 0.53]; ...'
    """
    post = standardized_bayes_effects(bayes_dir).set_index("effect")
    shown = table[table["kind"].isin(["direct", "defined"])]
    out, agree_all, clear = [], 0, 0
    for r in shown.itertuples():
        name = (f"{r.source} → {r.target}" if r.kind == "direct" else f"{r.effect} (:=)")
        pdir = post.loc[r.effect, "p_direction"] if r.effect in post.index else float("nan")
        bsign = interval_sign([r.bayes_lower], [r.bayes_upper])[0]
        text = (f"{name}: Bayes {fmt_estimate(r.bayes_est, r.bayes_lower, r.bayes_upper)}, "
                f"P(direction) = {fmt(pdir)}, interval {_SIGN_WORDS[bsign]}")
        agree = True
        for m in methods:
            msign = interval_sign([getattr(r, f"{m}_lower")], [getattr(r, f"{m}_upper")])[0]
            same = msign == bsign
            agree &= bool(same)
            text += (f"; {m} {fmt_estimate(getattr(r, f'{m}_est'), getattr(r, f'{m}_lower'), getattr(r, f'{m}_upper'))}"
                     f" ({'same verdict' if same else 'a different verdict: ' + _SIGN_WORDS[msign]})")
        agree_all += agree
        clear += bsign != "0"
        out.append(text + ".")
    n_paths = int((shown["kind"] == "direct").sum())
    lead = (f"Of the {n_paths} hypothesised paths and {len(shown) - n_paths} named effects, "
            f"{clear} have a 95% Bayesian interval that excludes 0, and Bayes and "
            f"{' and '.join(methods)} reach the same verdict on {agree_all} of {len(shown)}. "
            f"(Bayes: standardised posterior {point}s with 95% credible intervals; PLS: "
            f"full-sample estimates with {ci} intervals.)")
    return [lead, *out]


def _r2_side_by_side(bayes: dict, runs: dict, spec) -> pd.DataFrame | None:
    table = r_squared_table(bayes, spec)
    if table is None:
        return None
    out = table.rename(columns={"R²": "Bayes R²", "Adj. R²": "Bayes adj."})
    for m, run in runs.items():
        t = r_squared_table(run, spec)
        if t is None:
            continue
        t = t.set_index("Variable").reindex(out["Variable"])
        out[f"{m} R²"] = t["R²"].to_numpy()
        if "Adj. R²" in t:
            out[f"{m} adj."] = t["Adj. R²"].to_numpy()
    predictors = out.pop("Predictors")
    out["Predictors"] = predictors
    return out


def _pls_tables(doc: Report, m: str, run: dict, fit: str) -> None:
    """The PLS tables of one PLS variant: paths with SE, t, p, VIF and f² beside the
    interval, SRMR, loadings and weights with their VIF, reliability, HTMT with its
    bootstrap interval."""
    doc.heading(f"{m}: paths, measurement model and quality criteria")
    par = run["parameters"]
    paths = par[par["op"] == "~"]
    if len(paths):
        doc.table(pls_columns(_path_table(paths, False), paths, run), f"{m}: structural paths",
                  name=f"paths_{m}", note=pls_note(run, True), fit=fit)
    if srmr_sentence(run):
        doc.paragraph(srmr_sentence(run))
    outer = par[par["op"].isin(["=~", "<~"])]
    doc.table(pls_columns(_path_table(outer, False, what="Indicator"), outer, run),
              f"{m}: outer loadings and weights", name=f"outer_{m}",
              note="Loadings and weights (Kind). " + pls_note(run, False), fit=fit)
    if "reliability" in run:
        rel = run["reliability"]
        doc.table(pd.DataFrame({
            "Construct": rel["construct"],
            **{k: rel[c].map(lambda x: fmt(x, leading_zero=False)) for k, c in
               (("α", "alpha"), ("ρA", "rhoA"), ("ρC", "rhoC"), ("AVE", "AVE"))},
            "Flags": reliability_flags(rel)}),
            f"{m}: reliability and convergent validity", name=f"reliability_{m}",
            note="Thresholds: α, ρA, ρC between .70 and .95; AVE ≥ .50.", fit=fit)
    if "htmt" in run:
        h = run["htmt"]
        doc.table(pd.DataFrame({"Pair": h["construct1"] + " – " + h["construct2"],
                                "HTMT": h["htmt"].map(fmt),
                                "95% CI": [_interval(r) for _, r in h.iterrows()]}),
                  f"{m}: discriminant validity (HTMT)", name=f"htmt_{m}",
                  note=f"HTMT with its {pls_interval(run)} interval; an upper limit below "
                       ".90 (or .85) supports discriminant validity.", fit=fit)


def write_compare_report(folder: str | Path, *, overwrite: bool = False,
                         point: str = "mean") -> Path:
    """Write the report of a comparison into ``folder/report`` (a unit of its own)."""
    folder = Path(folder)
    return build_compare_report(folder, point=point).write(folder / "report",
                                                           overwrite=overwrite)
