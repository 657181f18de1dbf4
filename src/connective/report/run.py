"""The report of one finished run folder (``connective fit`` or ``connective pls`` output).

A run folder holds ``summary.json``, ``parameters.csv`` and ``effects.csv`` (and, for PLS,
``reliability.csv`` and ``htmt.csv``; for Bayes, ``diagnostics.json`` and ``ppc.json`` when
present). The report reads only those files, so it can be made again without refitting.

Example
-------
>>> write_run_report("runs/pls")  # doctest: +SKIP
PosixPath('runs/pls/report')
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from connective.effects import no_effects_reason
from connective.errors import ConnectiveError
from connective.folders import check_run_folder
from connective.report.diagram import path_diagram
from connective.report.document import Report, fmt, fmt_interval
from connective.report.groups import add_group_section
from connective.report.pls_extras import add_pls_analyses
from connective.spec import parse_model

KIND_TITLES = {"direct": "Direct effects", "indirect": "Specific indirect effects",
               "total_indirect": "Total indirect effects", "total": "Total effects",
               "defined": "Defined parameters (:=)"}


def read_run(run_dir: str | Path) -> dict:
    """The files of a run folder as tables; a clear error if it is not one, or if its files
    are not those of one run (:func:`connective.folders.check_run_folder`)."""
    run = Path(run_dir)
    needed = ("summary.json", "parameters.csv", "effects.csv")
    missing = [f for f in needed if not (run / f).is_file()]
    if missing:
        raise ConnectiveError(f"{run} is not a finished run folder: {', '.join(missing)} "
                              "missing (make one with 'connective fit' or 'connective pls')")
    check_run_folder(run)
    summary = json.loads((run / "summary.json").read_text())
    # a Bayes run keeps its provenance label under "run", a PLS run at the top
    out = {"dir": run, "summary": summary, "label": summary.get("run", summary),
           "parameters": pd.read_csv(run / "parameters.csv"),
           "effects": pd.read_csv(run / "effects.csv")}
    for name in ("reliability", "htmt", "group_effects", "between_groups", "level_effects"):
        if (run / f"{name}.csv").is_file():  # group and level names stay text ("01", "2")
            out[name] = pd.read_csv(run / f"{name}.csv", dtype={"group": str, "level": str})
    if summary.get("groups", {}).get("predictor_values"):
        out["group_levels"] = summary["groups"]["predictor_values"]
    if (run / "posterior.nc").is_file():
        import arviz as az

        from connective.diagnostics import diagnose

        idata = az.from_netcdf(str(run / "posterior.nc"))
        out["diagnostics"] = diagnose(idata, var_names=["parameters"]).to_dict()
        if hasattr(idata, "log_likelihood"):
            out["n"] = int(idata.log_likelihood.sizes.get("respondent", 0)) or None
        out["ppc"] = {"ppp": summary.get("ppp"), "discrepancy": summary.get("ppp_discrepancy")}
    return out


def _interval(row) -> str:
    if "ci.lower" in row and pd.notna(row["ci.lower"]):
        if row["ci.lower"] == row["ci.upper"]:
            return "fixed"
        return fmt_interval(row["ci.lower"], row["ci.upper"])
    return "—"


def _excludes_zero(row) -> bool:
    return ("ci.lower" in row and pd.notna(row["ci.lower"])
            and (row["ci.lower"] > 0 or row["ci.upper"] < 0))


def build_run_report(run_dir: str | Path, *, trace: bool = False, data: str | Path | None = None,
                     data_options=None) -> Report:
    """The report of one run folder as a :class:`Report` (not yet written).

    ``trace`` adds rank and trace plots of the structural paths (Bayesian runs). The
    item-level checks re-read the survey with the data options the fit recorded; ``data``
    (a moved file) and ``data_options`` (a :class:`~connective.data.options.DataOptions`)
    replace them.
    """
    run = read_run(run_dir)
    run["data_override"] = (data, data_options)
    s = run["label"]
    bayes = "posterior.nc" in {p.name for p in run["dir"].iterdir()}
    spec = parse_model(s["model_text"], source=Path(s["model"]).name)
    what = ("Bayesian SEM (posterior means, 95% credible intervals)" if bayes else
            f"{s.get('engine', 'PLS')} path model (bootstrap percentile 95% intervals)")
    n = s.get("settings", {}).get("n_used") or run.get("n") or "?"
    doc = Report(f"{Path(s['model']).name}: {what}", subtitle=f"data {Path(s['data']).name}, N = {n}")
    if s.get("synthetic_data"):
        doc.paragraph("SYNTHETIC DATA: these data were simulated from a stated population "
                      "model; they are not real respondents, and no substantive conclusion "
                      "can be drawn from them.")
    params = run["parameters"]
    paths = params[params["op"] == "~"].copy()
    value = "std.all" if bayes and "std.all" in paths else "est"
    labels = {f"{r['lhs']}~{r['rhs']}": f"{fmt(r[value])}" for _, r in paths.iterrows()}
    bold = {f"{r['lhs']}~{r['rhs']}": _excludes_zero(r) for _, r in paths.iterrows()}
    effects = run["effects"]
    if spec.paths:
        doc.heading("Structural model")
        doc.figure(path_diagram(spec, labels, highlight=bold),
                   f"Path diagram with {'standardised posterior means' if value == 'std.all' else 'estimates'}"
                   "; bold arrows: 95% interval excludes zero.", name="path_diagram")
        doc.table(_path_table(paths, bayes), "Structural paths", name="paths",
                  note=_interval_note(bayes))
    else:  # a CFA: the factor correlations stand where the paths would
        doc.heading("Factor correlations")
        names = params["lhs"] + params["op"] + params["rhs"]
        correlations = params[names.isin([n for n in spec.measurement_parameters if "~~" in n])]
        doc.table(_path_table(correlations, bayes, what="Factors"), "Factor correlations",
                  name="factor_correlations", note=_interval_note(bayes))
    doc.heading("Mediation")
    if no_effects_reason(spec):
        doc.paragraph(no_effects_reason(spec))
    for kind in ("indirect", "total_indirect", "defined", "total", "direct"):
        part = effects[effects["kind"] == kind]
        if len(part):
            doc.table(_effect_table(part, bayes), KIND_TITLES[kind], name=f"effects_{kind}",
                      note=_interval_note(bayes))
    draws = effect_draws(run)
    if draws is not None and draws.sizes["effect"]:
        ci = None if bayes else (run["label"].get("settings", {}).get("ci") or "percentile")
        doc.table(*mediation_table(draws, bayes, effects=effects, ci=ci),
                  name="mediation_analysis", note=mediation_note(bayes, ci))
    add_group_section(doc, run)
    add_pls_analyses(doc, run)
    doc.heading("Measurement model")
    loadings = params[params["op"].isin(["=~", "<~"])]
    doc.table(_path_table(loadings, bayes, what="Indicator"), "Loadings and weights",
              name="loadings", note=_interval_note(bayes))
    if "reliability" in run:
        from connective.pls.quality import reliability_flags

        rel = run["reliability"]
        table = pd.DataFrame({"Construct": rel["construct"], "Mode": rel["mode"],
                              "α": rel["alpha"].map(lambda x: fmt(x, leading_zero=False)),
                              "ρA": rel["rhoA"].map(lambda x: fmt(x, leading_zero=False)),
                              "ρC": rel["rhoC"].map(lambda x: fmt(x, leading_zero=False)),
                              "AVE": rel["AVE"].map(lambda x: fmt(x, leading_zero=False)),
                              "Flags": reliability_flags(rel)})
        doc.table(table, "Reliability and convergent validity", name="reliability",
                  note="Thresholds (Hair et al.): α, ρA and ρC between .70 and .95; AVE ≥ .50.")
    if "htmt" in run:
        h = run["htmt"]
        table = pd.DataFrame({"Pair": h["construct1"] + " – " + h["construct2"],
                              "HTMT": h["htmt"].map(fmt), "HTMT2": h["htmt2"].map(fmt),
                              "95% CI": [_interval(r) for _, r in h.iterrows()]})
        doc.table(table, "Discriminant validity (HTMT)", name="htmt",
                  note="HTMT below .85 (conservative) or .90 supports discriminant validity.")
    if "diagnostics" in run:
        d = run["diagnostics"]
        doc.heading("Diagnostics")
        if d.get("ok"):
            doc.paragraph(f"The sampler diagnostics pass: max R-hat {fmt(d.get('max_r_hat'), 3)}, "
                          f"min bulk ESS {fmt(d.get('min_ess_bulk'), 0)}, min tail ESS "
                          f"{fmt(d.get('min_ess_tail'), 0)}, {d.get('divergences', 0)} divergent "
                          "transitions.")
        else:
            doc.paragraph("The sampler diagnostics FAIL, so these estimates cannot be trusted "
                          "yet: " + "; ".join(d.get("problems", [])))
        if trace:
            _trace_figures(doc, run)
    if "ppc" in run:
        doc.heading("Posterior predictive check")
        doc.paragraph(ppp_sentence(run["ppc"]))
        checks = _posterior_predictive(run)
        if isinstance(checks, str):
            doc.paragraph(checks)
        else:
            doc.paragraph(checks.text())
            doc.figure(checks.plot(), "Observed item correlations and SDs (dots; red: outside) "
                       "against their 95% posterior predictive intervals.", name="ppc")
            worst = checks.correlations.assign(gap=(checks.correlations["observed"]
                                                    - checks.correlations["pred_mean"]).abs())
            worst = worst.sort_values("gap", ascending=False).head(8)
            doc.table(pd.DataFrame({
                "Items": worst["item1"] + " – " + worst["item2"],
                "Observed r": worst["observed"].map(fmt),
                "Predicted r": worst["pred_mean"].map(fmt),
                "95% predictive": [fmt_interval(a, b) for a, b in zip(worst["lower"], worst["upper"])],
                "Outside": worst["outside"].map(lambda v: "yes" if v else "no")}),
                "Item correlations the model reproduces least well", name="ppc_correlations")
    doc.heading("Provenance")
    doc.paragraph(f"Model {s['model']} (sha256 {s['model_sha256'][:12]}), data {s['data']} "
                  f"({s['data_fingerprint'][:19]}), seed {s.get('seed')}, created "
                  f"{s.get('created')}; " + ", ".join(f"{k} {v}" for k, v in
                                                    s.get("versions", {}).items()) + ".")
    return doc


ROPE = 0.05


def ppp_sentence(ppc: dict) -> str:
    """The PPP with its discrepancy, or why there is none (a check never just vanishes).

    >>> ppp_sentence({"ppp": None, "discrepancy": None})[:52]
    'No posterior predictive p-value: this run predates m'
    """
    value, kind = ppc.get("ppp"), ppc.get("discrepancy") or "chi-square"
    if value is None:
        why = (kind if kind.startswith("not computed")
               else "this run predates missing-data PPPs (refit it to get one)")
        return f"No posterior predictive p-value: {why}."
    what = ("the chi-square discrepancy" if kind == "chi-square" else
            "the chi-square discrepancy summed over the missingness patterns (each pattern "
            "against its own saturated moments)")
    return (f"Posterior predictive p-value of {what}: {fmt(value, 3, leading_zero=False)} "
            "(values near .5 mean the model reproduces the observed covariances; below .05 it "
            "does not).")


def _posterior_predictive(run: dict):
    """The PPC of a Bayesian run, or a sentence saying why it could not be made."""
    import arviz as az

    from connective.data.options import DataOptions
    from connective.ppc import posterior_predictive
    from connective.provenance import data_fingerprint

    s = run["label"]
    data, override = run.get("data_override", (None, None))
    path = Path(data or s.get("data", ""))
    if not path.is_file():
        return (f"Item-level checks skipped: the data file {path} is not found from here "
                "(make the report from the folder the fit was run in, or give --data FILE).")
    spec = parse_model(s["model_text"])
    # cleaned as the fit cleaned it (missing codes, reversed items, missing treatment)
    options = override or DataOptions.from_mapping(
        s.get("settings", {}).get("data_options") or {}, f"{run['dir']}/summary.json")
    frame = options.check(options.read(path), spec, raise_on_error=False).frame
    if data_fingerprint(frame[list(spec.observed)]) != s.get("data_fingerprint"):
        return f"Item-level checks skipped: {path} has changed since the fit."
    return posterior_predictive(spec, az.from_netcdf(str(run["dir"] / "posterior.nc")), frame)


def _trace_figures(doc: Report, run: dict) -> None:
    """Rank and trace plots of the structural paths."""
    import arviz as az
    import matplotlib.pyplot as plt
    import numpy as np

    idata = az.from_netcdf(str(run["dir"] / "posterior.nc"))
    params = idata.posterior["parameters"]
    s = run["label"]
    spec = parse_model(s["model_text"])
    paths = [f"{t}~{src}" for src, t in spec.paths]
    sub = params.sel(param=paths).to_dataset(name="path")
    for name, plot in (("rank", az.plot_rank), ("trace", az.plot_trace)):
        axes = plot(sub)
        fig = np.ravel(axes)[0].get_figure()
        doc.figure(fig, f"{name.capitalize()} plots of the structural paths (one line or "
                        "histogram per chain: they should look alike).", name=f"{name}_plots")
        plt.close("all")


def effect_draws(run: dict):
    """Draws of the standardised effects: posterior (Bayes) or bootstrap replicates (PLS)."""
    import xarray as xr

    folder = run["dir"]
    if (folder / "posterior.nc").is_file():
        import arviz as az

        post = az.from_netcdf(str(folder / "posterior.nc")).posterior
        return post["effects_std_all"].load()
    if (folder / "replicates.nc").is_file():
        with xr.open_dataset(folder / "replicates.nc") as ds:
            return ds["effects"].load()
    return None


def mediation_note(bayes: bool, ci: str | None = None) -> str:
    """What the columns of the mediation table compute, in the engine's own terms."""
    rope = f"±{fmt(ROPE, leading_zero=False)}"
    if bayes:
        head = ("Standardised effects. HDI: highest-density interval. P(dir.): probability of "
                f"direction. P(|e| > {rope[1:]}): probability that the effect lies beyond the "
                f"region of practical equivalence {rope}.")
    else:
        head = (f"Standardised effects. Interval: bootstrap {_CI_NAMES[ci]} interval. "
                "Share > 0: share of bootstrap replicates above 0. "
                f"Share |e| > {rope[1:]}: share of replicates beyond {rope}.")
    return (head + " Proportion mediated: indirect / total effect (median and 95% interval). "
            "Type: the most frequent Zhao-Lynch-Chen (2010) mediation type over the "
            f"{'draws' if bayes else 'replicates'}, with its share, where an effect counts as "
            f"present only beyond the ROPE {rope}; an indirect effect whose interval excludes "
            f"0 but stays within {rope} is marked 'indirect within ROPE'.")


_CI_NAMES = {"percentile": "percentile", "bca": "BCa", None: "percentile"}


def mediation_table(draws, bayes: bool, *, effects: pd.DataFrame | None = None,
                    ci: str | None = None) -> tuple[pd.DataFrame, str]:
    """The mediation analysis of every indirect and defined effect, and its caption. PLS
    rows (``bayes`` False) use bootstrap terms, with the run's ``ci`` interval (percentile or
    BCa, from its ``effects`` table)."""
    from connective.mediation import mediation_types, proportion_mediated, summarize_effects

    keep = [k in ("indirect", "total_indirect", "defined") for k in draws["kind"].values]
    summary = summarize_effects(draws.isel(effect=keep), rope=ROPE).set_index("effect")
    pm = summarize_effects(proportion_mediated(draws)).set_index("effect")
    types = mediation_types(draws, rope=ROPE).set_index("effect")
    cis = (effects.set_index("effect")[["ci.lower", "ci.upper"]]
           if effects is not None and not bayes else None)
    rope = fmt(ROPE, leading_zero=False)
    rows = []
    for effect, r in summary.iterrows():
        pm_row = pm.loc[f"proportion mediated {effect}"] if f"proportion mediated {effect}" \
            in pm.index else None
        t = types.loc[effect] if effect in types.index else None
        lo, hi = ((r["hdi_lower"], r["hdi_upper"]) if bayes else
                  tuple(cis.loc[effect]) if cis is not None and effect in cis.index
                  else (r["eti_lower"], r["eti_upper"]))
        label = "—"
        if t is not None:
            label = f"{t['type']} at ±{rope} ({fmt(t['p_type'], 2, leading_zero=False)})"
            if t["type"] in ("direct-only", "no-effect") and (lo > 0 or hi < 0):
                label += f"; indirect within ROPE (interval excludes 0, |e| ≤ {rope})"
        share = (("P(dir.)", fmt(r["p_direction"], 3, leading_zero=False)) if bayes else
                 ("Share > 0", fmt(r["p_positive"], 3, leading_zero=False)))
        beyond = ((f"P(|e| > {rope})" if bayes else f"Share |e| > {rope}"),
                  fmt(r["p_beyond_rope"], 3, leading_zero=False))
        rows.append({
            "Effect": effect, "Median": fmt(r["median"]),
            ("95% HDI" if bayes else f"95% {_CI_NAMES[ci]} interval"): fmt_interval(lo, hi),
            share[0]: share[1], beyond[0]: beyond[1],
            "Prop. mediated": "—" if pm_row is None else
            f"{fmt(pm_row['median'])} {fmt_interval(pm_row['eti_lower'], pm_row['eti_upper'])}",
            "Type": label,
        })
    source = "posterior" if bayes else "bootstrap replicates"
    return pd.DataFrame(rows), f"Mediation analysis (from the {source})"


def _interval_note(bayes: bool) -> str:
    return ("Estimates are posterior means in the items' metric (Std.: standardised); intervals "
            "are 95% equal-tailed credible intervals." if bayes else "Intervals are bootstrap percentile 95% confidence intervals.")


def _path_table(rows: pd.DataFrame, bayes: bool, what: str = "Path") -> pd.DataFrame:
    # arrows point the way of the effect: predictor -> outcome, factor -> indicator
    def arrow(r) -> str:
        if r["op"] == "~~":
            return f"{r['lhs']} ↔ {r['rhs']}"
        return f"{r['lhs']} → {r['rhs']}" if r["op"] == "=~" else f"{r['rhs']} → {r['lhs']}"

    out = pd.DataFrame({what: [arrow(r) for _, r in rows.iterrows()],
                        "Estimate": rows["est"].map(fmt).to_numpy(),
                        "95% CI": [_interval(r) for _, r in rows.iterrows()]})
    if bayes and "std.all" in rows:
        out["Std."] = rows["std.all"].map(fmt).to_numpy()
    return out


def _effect_table(rows: pd.DataFrame, bayes: bool) -> pd.DataFrame:
    out = pd.DataFrame({"Effect": rows["effect"].to_numpy(),
                        "Estimate": rows["est"].map(fmt).to_numpy(),
                        "95% CI": [_interval(r) for _, r in rows.iterrows()]})
    if bayes and "p_positive" in rows:
        out["P(> 0)"] = rows["p_positive"].map(lambda x: fmt(x, 3, leading_zero=False)).to_numpy()
    return out


def write_run_report(run_dir: str | Path, out_dir: str | Path | None = None, *,
                     trace: bool = False, data: str | Path | None = None,
                     data_options=None, overwrite: bool = False) -> Path:
    """Write the report of a run folder into ``out_dir`` (default ``RUN_DIR/report``);
    ``data`` and ``data_options`` as for :func:`build_run_report`."""
    run_dir = Path(run_dir)
    return build_run_report(run_dir, trace=trace, data=data, data_options=data_options).write(
        out_dir or run_dir / "report", overwrite=overwrite)
