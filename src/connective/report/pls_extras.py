"""The report sections of the analyses after PLS estimation (``connective pls --predict
--mga --ipma``): PLSpredict (with the Bayesian counterpart when it was run), MICOM and the
multigroup analysis, IPMA with its map. Reads only the run folder's CSV files and
``summary.json``; a run without them gets no section.

Example
-------
>>> doc = build_run_report("runs/pls")  # doctest: +SKIP
>>> add_pls_analyses(doc, read_run("runs/pls"))  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from connective.report.document import Report, fmt


def _read(run: dict, name: str) -> pd.DataFrame | None:
    path = run["dir"] / name
    return pd.read_csv(path) if path.is_file() else None


def add_pls_analyses(doc: Report, run: dict) -> None:
    """Append the sections of the analyses that ``run`` (from
    :func:`connective.report.run.read_run`) holds."""
    info = run["summary"].get("analyses") or {}
    if not info:
        return
    _predict(doc, run, info)
    _mga(doc, run, info)
    _ipma(doc, run, info)


def _predict(doc: Report, run: dict, info: dict) -> None:
    table = _read(run, "predict.csv")
    if table is None:
        return
    s = info["predict"]
    folds = "leave-one-out" if s["folds"] == "loo" else f"{s['folds']} folds x {s['repetitions']} repetitions"
    doc.heading("Out-of-sample prediction (PLSpredict)")
    doc.paragraph(f"PLSpredict (Shmueli et al. 2019; {s['technique']} technique, {folds}, "
                  f"seed {s['seed']}): every endogenous indicator predicted for respondents "
                  "held out of the estimation, against a linear regression on all other "
                  f"indicators (LM). {s['verdict']}."
                  + "".join(f" {_sentence(n)}" for n in s.get("notes", [])))
    bayes = _read(run, "predict_bayes.csv")
    cols = {"Indicator": table["indicator"], "Construct": table["construct"],
            "RMSE PLS": table["pls_rmse"].map(lambda x: fmt(x, 3)),
            "RMSE LM": table["lm_rmse"].map(lambda x: fmt(x, 3))}
    if bayes is not None:
        cols["RMSE Bayes"] = bayes.set_index("indicator").loc[table["indicator"], "bayes_rmse"
                                                              ].map(lambda x: fmt(x, 3)).to_numpy()
    cols.update({"MAE PLS": table["pls_mae"].map(lambda x: fmt(x, 3)),
                 "MAE LM": table["lm_mae"].map(lambda x: fmt(x, 3))})
    if bayes is not None:
        cols["MAE Bayes"] = bayes.set_index("indicator").loc[table["indicator"], "bayes_mae"
                                                             ].map(lambda x: fmt(x, 3)).to_numpy()
    cols.update({"Q²predict": table["q2_predict"].map(lambda x: fmt(x, 3)),
                 "PLS < LM": table["pls_beats_lm"].map(lambda v: "yes" if v else "no")})
    note = "Errors on the items' own scale; Q²predict > 0: better than the training mean."
    if bayes is not None:
        b = info.get("predict_bayes", {})
        note += (f" Bayes: posterior predictive means of the Bayesian SEM ({b.get('method')}, "
                 f"{b.get('chains')} chains x {b.get('draws')} draws per fit, seed "
                 f"{b.get('seed')}); {b.get('verdict')}.")
    doc.table(pd.DataFrame(cols), "Out-of-sample prediction errors per indicator",
              name="predict", note=note)


def _mga(doc: Report, run: dict, info: dict) -> None:
    mga, micom = _read(run, "mga.csv"), _read(run, "micom.csv")
    if mga is None:
        return
    s = info["mga"]
    doc.heading("Multigroup analysis")
    doc.paragraph(f"Group 1: {s['labels'][0]} (n = {s['n'][0]}); group 2: {s['labels'][1]} "
                  f"(n = {s['n'][1]}). {s['micom_verdict']}."
                  + "".join(f" {_sentence(n)}" for n in s.get("notes", [])[1:]))
    if micom is not None:
        doc.table(pd.DataFrame({
            "Construct": micom["construct"], "c": micom["c"].map(lambda x: fmt(x, 3)),
            "5% quantile": micom["c_q05"].map(lambda x: fmt(x, 3)),
            "Compositional": micom["compositional"].map(_yes),
            "Mean diff.": micom["mean_diff"].map(fmt), "Equal means": micom["equal_means"].map(_yes),
            "log var. diff.": micom["logvar_diff"].map(fmt),
            "Equal variances": micom["equal_variances"].map(_yes),
            "Invariance": micom["verdict"]}), "MICOM (Henseler et al. 2016)", name="micom",
            note=f"{s['permutations']} permutations; step 1 (configural) holds by construction "
                 "(one model, one data treatment, one algorithm).")
    _mga_bayes(doc, run, info)
    doc.table(pd.DataFrame({
        "Path": mga["source"] + " → " + mga["target"],
        "Group 1": mga["group1_beta"].map(fmt), "Group 2": mga["group2_beta"].map(fmt),
        "Difference": mga["diff"].map(fmt),
        "PLS-MGA p (1 > 2)": mga["pls_mga_p"].map(lambda x: fmt(x, 3)),
        "Permutation p": mga["perm_p"].map(lambda x: fmt(x, 3)),
        "Parametric p": mga["parametric_p"].map(lambda x: fmt(x, 3)),
        "Welch p": mga["welch_p"].map(lambda x: fmt(x, 3))}),
        "Group differences of the paths", name="mga",
        note=(f"PLS-MGA (Henseler et al. 2009): one-sided, from {s['boot']} bootstrap "
              "replicates per group; permutation test (Chin & Dibbern 2010) two-sided, "
              f"{s['permutations']} permutations; parametric (Keil et al. 2000) and Welch "
              "tests two-sided."))


def _mga_bayes(doc: Report, run: dict, info: dict) -> None:
    table = _read(run, "mga_bayes.csv")
    if table is None:
        return
    b = info.get("mga_bayes", {})
    doc.table(pd.DataFrame({
        "Path": table["source"] + " → " + table["target"],
        "PLS difference": table["diff"].map(fmt),
        "PLS-MGA p (1 > 2)": table["pls_mga_p"].map(lambda x: fmt(x, 3)),
        "Bayes group 1": table["bayes_group1"].map(fmt),
        "Bayes group 2": table["bayes_group2"].map(fmt),
        "Bayes difference [95% CrI]": [f"{fmt(d)} [{fmt(lo)}, {fmt(hi)}]" for d, lo, hi in
                                       zip(table["bayes_diff"], table["bayes_diff_lower"],
                                           table["bayes_diff_upper"])],
        "P(1 > 2)": table["p_greater"].map(lambda x: fmt(x, 3))}),
        "Group differences: PLS-MGA beside the Bayesian SEM of each group", name="mga_bayes",
        note=("Bayes: standardised paths (std.all) of the common-factor model fitted in each "
              f"group separately ({b.get('chains')} chains x {b.get('draws')} draws, seed "
              f"{b.get('seed')}); PLS: composites. PLS-MGA's p estimates P(1 ≤ 2), so it "
              f"reads against 1 − P(1 > 2). {_sentence(b.get('verdict', ''))}"))


def _ipma(doc: Report, run: dict, info: dict) -> None:
    from connective.pls.ipma import ipma_map

    cons, ind = _read(run, "ipma_constructs.csv"), _read(run, "ipma_indicators.csv")
    if cons is None:
        return
    s = info["ipma"]
    doc.heading(f"Importance-performance map ({s['target']})")
    doc.paragraph(f"Importance: total effect on {s['target']} of the 0-100 rescaled scores; "
                  f"performance: their mean (0-100). {s['target']} performs at "
                  f"{fmt(s['target_performance'], 1)}. " + " ".join(s.get("notes", [])))
    doc.figure(ipma_map(cons.set_index("construct"), s["target"]),
               "Importance-performance map of the constructs; dashed lines: the means.",
               name="ipma")
    doc.table(pd.DataFrame({"Construct": cons["construct"],
                            "Importance": cons["importance"].map(lambda x: fmt(x, 3)),
                            "Performance": cons["performance"].map(lambda x: fmt(x, 1))}),
              f"Importance and performance for {s['target']}", name="ipma_constructs")
    if ind is not None:
        doc.table(pd.DataFrame({"Construct": ind["construct"], "Indicator": ind["indicator"],
                                "Rescaled weight": ind["weight"].map(lambda x: fmt(x, 3)),
                                "Importance": ind["importance"].map(lambda x: fmt(x, 3)),
                                "Performance": ind["performance"].map(lambda x: fmt(x, 1))}),
                  "Indicators", name="ipma_indicators")


def _sentence(text: str) -> str:
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def _yes(v) -> str:
    return "yes" if bool(v) and str(v) != "False" else "no"


__all__ = ["add_pls_analyses"]
