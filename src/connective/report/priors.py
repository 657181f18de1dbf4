"""The report's prior section (WAMBS: priors, prior predictive check, sensitivity): the
priors a Bayesian run used (``priors.csv``; the SIMCA conversion, ``simca_priors.csv``),
what they imply before the data (``prior_checks.csv`` of ``fit --prior-only``, with a
figure of the implied quantities against their plausible ranges), power-scaling
sensitivity (``prior_sensitivity.csv``) and the refit under the defaults
(``sensitivity.csv`` of ``fit --sensitivity``). Reads only the run folder's files; a run
without them gets no section.

Example
-------
>>> add_prior_section(doc, read_run("runs/fit"))  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from connective.report.document import Report, fmt, fmt_interval


def _read(run: dict, name: str) -> pd.DataFrame | None:
    path = run["dir"] / name
    return pd.read_csv(path) if path.is_file() else None


def add_prior_section(doc: Report, run: dict, fit: str | None = None) -> None:
    """Append the prior section of ``run`` (from :func:`connective.report.run.read_run`)."""
    priors = _read(run, "priors.csv")
    if priors is None:
        return
    doc.heading("Priors")
    chosen = priors[priors["origin"] != "default"]
    doc.paragraph(f"{len(priors)} priors; {len(chosen)} set by the model file or a prior set, "
                  f"{int((priors['scale'] == 'standardised').sum())} on the standardised scale "
                  "(imposed on the std.all value per draw, see connective.bayes.std_priors), "
                  "the others the data-scaled weak defaults of connective.bayes.priors.")
    if len(chosen):
        doc.table(pd.DataFrame({"Parameter": chosen["name"], "Prior": chosen["prior"],
                                "Scale": chosen["scale"], "From": chosen["origin"]}),
                  "Priors other than the defaults", name="priors_chosen", fit=fit)
    simca = _read(run, "simca_priors.csv")
    if simca is not None:
        doc.table(pd.DataFrame({"Path": simca["name"], "Roles": simca["roles"],
                                "Controls": simca["controls"].fillna(""),
                                "Prior": simca["prior"], "Source": simca["source"]}),
                  "SIMCA priors from meta-analytic correlations", name="simca_priors",
                  note="Standardised partial paths of the pooled correlation matrix; SD over "
                       "the predictive distribution of the correlations (SE and tau).", fit=fit)
    _prior_checks(doc, run, fit)
    _power_scaling(doc, run, fit)
    _refit(doc, run, fit)


def _prior_checks(doc: Report, run: dict, fit: str | None) -> None:
    checks = _read(run, "prior_checks.csv")
    if checks is None:
        return
    doc.heading("Prior predictive check", level=3)
    items = checks[checks["kind"] == "item correlation"]
    if len(items):
        row = items.iloc[0]
        doc.paragraph(f"This run sampled the priors alone (no likelihood). The implied item "
                      f"correlations have a 95% prior interval of "
                      f"{fmt_interval(row['q2.5'], row['q97.5'])}; "
                      f"{fmt(100 * row['share_plausible'], 0)}% of the prior mass lies in "
                      "the plausible range.")
    doc.figure(prior_check_figure(checks), "Prior 95% intervals (lines) and medians (dots) of "
               "the implied quantities; shaded: the plausible range.", name="prior_checks",
               fit=fit)
    doc.table(pd.DataFrame({
        "Quantity": checks["name"], "Kind": checks["kind"],
        "Median": checks["median"].map(fmt),
        "95% prior": [fmt_interval(a, b) for a, b in zip(checks["q2.5"], checks["q97.5"])],
        "Plausible": [fmt_interval(a, b) for a, b in zip(checks["plausible_low"],
                                                         checks["plausible_high"])],
        "In range": checks["share_plausible"].map(lambda x: f"{100 * x:.0f}%")}),
        "What the priors imply", name="prior_checks", fit=fit)


def prior_check_figure(checks: pd.DataFrame, limit: int = 30):
    """Intervals of the implied quantities against their plausible ranges."""
    from connective.figures import subplots

    rows = checks.head(limit).iloc[::-1].reset_index(drop=True)
    fig, ax = subplots(figsize=(6.5, 0.28 * len(rows) + 1.2))
    for i, r in rows.iterrows():
        ax.fill_betweenx([i - 0.4, i + 0.4], r["plausible_low"], r["plausible_high"],
                         color="0.9", lw=0)
        ax.plot([r["q2.5"], r["q97.5"]], [i, i], color="C0", lw=1.5)
        ax.plot([r["median"]], [i], "o", color="C0", ms=4)
    ax.set_yticks(range(len(rows)), rows["name"], fontsize=9)
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("standardised value (R², correlation)", fontsize=9)
    fig.tight_layout()
    return fig


def _power_scaling(doc: Report, run: dict, fit: str | None) -> None:
    ps = _read(run, "prior_sensitivity.csv")
    if ps is None:
        return
    doc.heading("Prior sensitivity (power-scaling)", level=3)
    flagged = ps[ps["prior_sensitive"] | ps["likelihood_weak"]]
    doc.paragraph("Power-scaling the prior and the likelihood (Kallioinen et al. 2023, "
                  "ArviZ psens) of every parameter and effect: a prior sensitivity of .05 or "
                  "more marks a prior-sensitive quantity, a likelihood sensitivity below .05 a "
                  "likelihood-weak one. " + (f"{len(flagged)} of {len(ps)} quantities are "
                                             "flagged (below)." if len(flagged) else
                                             f"None of the {len(ps)} quantities is flagged."))
    if len(flagged):
        doc.table(pd.DataFrame({"Quantity": flagged["name"], "Kind": flagged["kind"],
                                "Prior sens.": flagged["prior_sensitivity"].map(
                                    lambda x: fmt(x, 3)),
                                "Likelihood sens.": flagged["likelihood_sensitivity"].map(
                                    lambda x: fmt(x, 3)),
                                "Diagnosis": flagged["diagnosis"].fillna("")}),
                  "Prior-sensitive or likelihood-weak quantities", name="prior_sensitivity",
                  fit=fit)


def _refit(doc: Report, run: dict, fit: str | None) -> None:
    table = _read(run, "sensitivity.csv")
    if table is None:
        return
    doc.heading("Default against chosen priors", level=3)
    raw = table[table["scale"] == "raw"]
    changed = raw[raw["verdict_changes"]]
    doc.paragraph(f"The model was refitted under the default priors. Effects' posterior means "
                  f"move by up to {fmt(raw['shift_in_sd'].abs().max())} posterior SDs; "
                  + (f"the verdict (95% interval excludes 0) changes for "
                     f"{', '.join(changed['effect'])}." if len(changed)
                     else "no effect's verdict changes."))
    doc.table(pd.DataFrame({
        "Effect": raw["effect"],
        "Default": [f"{fmt(m)} {fmt_interval(a, b)}" for m, a, b in
                    zip(raw["mean_default"], raw["lower_default"], raw["upper_default"])],
        "Chosen": [f"{fmt(m)} {fmt_interval(a, b)}" for m, a, b in
                   zip(raw["mean_chosen"], raw["lower_chosen"], raw["upper_chosen"])],
        "Shift (SD)": raw["shift_in_sd"].map(fmt),
        "Width ratio": raw["width_ratio"].map(fmt),
        "Verdict changes": raw["verdict_changes"].map(lambda v: "yes" if v else "no")}),
        "Effects under the default and the chosen priors", name="sensitivity", fit=fit)
