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

import numpy as np
import pandas as pd

from connective.effects import no_effects_reason
from connective.errors import ConnectiveError
from connective.folders import check_run_folder
from connective.report.diagram import path_diagram
from connective.report.document import Interval, Report, fmt, fmt_estimate, fmt_interval
from connective.report.groups import add_group_section
from connective.report.moderation import add_moderation_section
from connective.report.pls_extras import add_pls_analyses
from connective.report.priors import add_prior_section
from connective.spec import parse_model
from connective.verdicts import run_verdict

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
    for name in ("reliability", "htmt", "quality", "group_effects", "between_groups",
                 "level_effects"):
        if (run / f"{name}.csv").is_file():  # group and level names stay text ("01", "2")
            out[name] = pd.read_csv(run / f"{name}.csv", dtype={"group": str, "level": str})
    if summary.get("groups", {}).get("predictor_values"):
        out["group_levels"] = summary["groups"]["predictor_values"]
    if (run / "posterior.nc").is_file():
        import arviz as az

        from connective.diagnostics import diagnose

        idata = az.from_netcdf(str(run / "posterior.nc"))
        # the verdict the fit wrote (a hierarchical model's group SDs included), else anew
        out["diagnostics"] = (json.loads((run / "diagnostics.json").read_text())
                              if (run / "diagnostics.json").is_file() else
                              diagnose(idata, var_names=["parameters"]).to_dict())
        if hasattr(idata, "log_likelihood"):
            out["n"] = int(idata.log_likelihood.sizes.get("respondent", 0)) or None
        out["ppc"] = {"ppp": summary.get("ppp"), "discrepancy": summary.get("ppp_discrepancy")}
    return out


def _interval(row) -> str:
    if "ci.lower" in row and pd.notna(row["ci.lower"]):
        if row["ci.lower"] == row["ci.upper"]:
            return Interval("fixed", row["ci.lower"], row["ci.upper"])
        return fmt_interval(row["ci.lower"], row["ci.upper"])
    return "—"


def _excludes_zero(row) -> bool:
    return ("ci.lower" in row and pd.notna(row["ci.lower"])
            and (row["ci.lower"] > 0 or row["ci.upper"] < 0))


#: the point estimates a report can use, one for every table (``--point``)
POINTS = ("mean", "median")


def build_run_report(run_dir: str | Path, *, trace: bool = False, data: str | Path | None = None,
                     data_options=None, point: str = "mean", sentences: bool = True) -> Report:
    """The report of one run folder as a :class:`Report` (not yet written).

    ``trace`` adds rank and trace plots of the structural paths (Bayesian runs). The
    item-level checks re-read the survey with the data options the fit recorded; ``data``
    (a moved file) and ``data_options`` (a :class:`~connective.data.options.DataOptions`)
    replace them. ``point``: the posterior mean or median, one point estimate for every
    table and figure of a Bayesian run (PLS shows its full-sample estimates).
    ``sentences`` False leaves the results in words to the caller (a comparison says them
    with both engines).
    """
    if point not in POINTS:
        raise ConnectiveError(f"point estimate {point!r}: expected one of {', '.join(POINTS)} "
                              "(--point mean or --point median)")
    run = read_run(run_dir)
    from connective.report.twolevel import build_twolevel_report, is_twolevel

    if is_twolevel(run):  # level: blocks: each level its own model (report/twolevel.py)
        return build_twolevel_report(run, point=point)
    run["data_override"] = (data, data_options)
    run["point"] = point
    s = run["label"]
    bayes = "posterior.nc" in {p.name for p in run["dir"].iterdir()}
    spec = parse_model(s["model_text"], source=Path(s["model"]).name)
    what = (f"Bayesian SEM (posterior {point}s, 95% credible intervals)" if bayes else
            f"{s.get('engine', 'PLS')} path model ({pls_interval(run)} intervals)")
    n = s.get("settings", {}).get("n_used") or run.get("n") or "?"
    doc = Report(f"{Path(s['model']).name}: {what}", subtitle=f"data {Path(s['data']).name}, N = {n}")
    verdict = run_verdict(run)
    doc.verdict(verdict.fit, verdict.ok, verdict.text)
    fit = verdict.fit
    cw = pls_interval(run)  # a PLS run's interval, in its notes
    if s.get("synthetic_data"):
        doc.paragraph("SYNTHETIC DATA: these data were simulated from a stated population "
                      "model; they are not real respondents, and no substantive conclusion "
                      "can be drawn from them.")
    params = run["parameters"]
    if bayes:
        params = _bayes_points(run, params, point)
        run["effects"] = _bayes_effect_points(run, run["effects"], point)
    paths = params[params["op"] == "~"].copy()
    value = "std.all" if bayes and "std.all" in paths else "est"
    labels = {f"{r['lhs']}~{r['rhs']}": f"{fmt(r[value])}" for _, r in paths.iterrows()}
    bold = {f"{r['lhs']}~{r['rhs']}": _excludes_zero(r) for _, r in paths.iterrows()}
    effects = run["effects"]
    if spec.paths:
        doc.heading("Structural model")
        shown = f"standardised posterior {point}s" if value == "std.all" else "estimates"
        doc.figure(path_diagram(spec, labels, highlight=bold),
                   f"Path diagram with {shown}; bold arrows: 95% interval excludes zero.",
                   name="path_diagram", fit=fit)
        table = _path_table(paths, bayes)
        doc.table(table if bayes else pls_columns(table, paths, run), "Structural paths",
                  name="paths", note=_interval_note(bayes, point, cw) if bayes else
                  pls_note(run, True), fit=fit)
        if not bayes and srmr_sentence(run):
            doc.paragraph(srmr_sentence(run))
        r2 = r_squared_table(run, spec)
        if r2 is not None:
            doc.table(r2, "Variance explained (R²) of every endogenous variable",
                      name="r_squared", note=r_squared_note(bayes, point, cw), fit=fit)
    else:  # a CFA: the factor correlations stand where the paths would
        doc.heading("Factor correlations")
        names = params["lhs"] + params["op"] + params["rhs"]
        correlations = params[names.isin([n for n in spec.measurement_parameters if "~~" in n])]
        doc.table(_path_table(correlations, bayes, what="Factors"), "Factor correlations",
                  name="factor_correlations", note=_interval_note(bayes, point, cw), fit=fit)
    words = run_sentences(effects, bayes, point, cw) if sentences else []
    if words:
        doc.heading("Results in words")
        for text in words:
            doc.paragraph(text)
    doc.heading("Mediation")
    if no_effects_reason(spec):
        doc.paragraph(no_effects_reason(spec))
    for kind in ("indirect", "total_indirect", "defined", "total", "direct"):
        part = effects[effects["kind"] == kind]
        if len(part):
            doc.table(_effect_table(part, bayes), KIND_TITLES[kind], name=f"effects_{kind}",
                      note=_effect_note(bayes, point, cw), fit=fit)
    draws = effect_draws(run)
    if draws is not None and any(k in ("indirect", "total_indirect", "defined")
                                 for k in draws["kind"].values):  # direct paths only: none
        ci = None if bayes else (run["label"].get("settings", {}).get("ci") or "percentile")
        doc.table(*mediation_table(draws, bayes, effects=effects, ci=ci, point=point),
                  name="mediation_analysis", note=mediation_note(bayes, ci, point), fit=fit)
    predictor = run["summary"].get("groups", {}).get("predictor") if bayes else None
    add_moderation_section(doc, effects, draws, bayes=bayes, fit=fit,
                           note=moderation_note(run, bayes, point),
                           unit=f"unit of {predictor}" if predictor else "SD of the moderator")
    add_group_section(doc, run)
    add_pls_analyses(doc, run)
    add_prior_section(doc, run, fit)
    doc.heading("Measurement model")
    loadings = params[params["op"].isin(["=~", "<~"])]
    table = _path_table(loadings, bayes, what="Indicator")
    doc.table(table if bayes else pls_columns(table, loadings, run), "Loadings and weights",
              name="loadings", note=_interval_note(bayes, point, cw) if bayes else
              pls_note(run, False), fit=fit)
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
                  note="Thresholds (Hair et al.): α, ρA and ρC between .70 and .95; AVE ≥ .50.",
                  fit=fit)
    if "htmt" in run:
        h = run["htmt"]
        table = pd.DataFrame({"Pair": h["construct1"] + " – " + h["construct2"],
                              "HTMT": h["htmt"].map(fmt), "HTMT2": h["htmt2"].map(fmt),
                              "95% CI": [_interval(r) for _, r in h.iterrows()]})
        doc.table(table, "Discriminant validity (HTMT)", name="htmt",
                  note="HTMT below .85 (conservative) or .90 supports discriminant validity; "
                       "the interval (of HTMT) is the run's bootstrap interval.", fit=fit)
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
        doc.heading("Posterior predictive check and fit indices")
        doc.paragraph(ppp_sentence(run["ppc"]))
        _fit_index_table(doc, run, fit)
        checks = _posterior_predictive(run)
        if isinstance(checks, str):
            doc.paragraph(checks)
        else:
            doc.paragraph(checks.text())
            doc.figure(checks.plot(), "Observed item correlations and SDs (dots; red: outside) "
                       "against their 95% posterior predictive intervals.", name="ppc", fit=fit)
            worst = checks.correlations.assign(gap=(checks.correlations["observed"]
                                                    - checks.correlations["pred_mean"]).abs())
            worst = worst.sort_values("gap", ascending=False).head(8)
            doc.table(pd.DataFrame({
                "Items": worst["item1"] + " – " + worst["item2"],
                "Observed r": worst["observed"].map(fmt),
                "Predicted r": worst["pred_mean"].map(fmt),
                "95% predictive": [fmt_interval(a, b) for a, b in zip(worst["lower"], worst["upper"])],
                "Outside": worst["outside"].map(lambda v: "yes" if v else "no")}),
                "Item correlations the model reproduces least well", name="ppc_correlations",
                note="Predicted r: mean of the posterior predictive distribution.", fit=fit)
    add_provenance(doc, s, verdict.fit)
    return doc


def add_provenance(doc: Report, label: dict, name: str = "") -> None:
    """Model, data fingerprint, seed, creation time and versions of one run (the report's
    last section, :attr:`Report.provenance`)."""
    text = (f"{name + ': ' if name else ''}model {label['model']} (sha256 "
            f"{label['model_sha256'][:12]}), data {label['data']} "
            f"({label['data_fingerprint'][:19]}), seed {label.get('seed')}, created "
            f"{label.get('created')}; " + ", ".join(
                f"{k} {v}" for k, v in label.get("versions", {}).items()) + ".")
    if text not in doc.provenance:
        doc.provenance.append(text)


def _posterior(run: dict):
    import arviz as az

    if "_posterior" not in run:
        run["_posterior"] = az.from_netcdf(str(run["dir"] / "posterior.nc"))
    return run["_posterior"]


def _point_of(da, dim: str, point: str) -> pd.Series:
    """The posterior mean or median of every entry of ``dim``."""
    values = (da.mean(("chain", "draw")) if point == "mean"
              else da.median(("chain", "draw")))
    return pd.Series(values.values, index=[str(v) for v in da[dim].values])


def _bayes_points(run: dict, params: pd.DataFrame, point: str) -> pd.DataFrame:
    """The parameter table with ``est`` and ``std.all`` as posterior ``point``s (fixed
    parameters keep their values). The CSV holds means; a median is read off the draws."""
    if point == "mean":
        return params
    post = _posterior(run).posterior
    names = (params["lhs"] + params["op"] + params["rhs"]).to_numpy()
    out = params.copy()
    est = _point_of(post["parameters"], "param", point)
    free = [n in est.index for n in names]
    out.loc[free, "est"] = est.loc[names[free]].to_numpy()
    if "std_all" in post and "std.all" in out:
        std = _point_of(post["std_all"], "std_param", point)
        have = [n in std.index for n in names]
        out.loc[have, "std.all"] = std.loc[names[have]].to_numpy()
    return out


def _bayes_effect_points(run: dict, effects: pd.DataFrame, point: str) -> pd.DataFrame:
    """The effects table with ``est`` and ``std.all`` as posterior ``point``s."""
    post = _posterior(run).posterior
    out = effects.copy()
    if point == "mean":
        return out
    for var, col in (("effects", "est"), ("effects_std_all", "std.all")):
        if var in post and col in out:
            values = _point_of(post[var], "effect", point)
            out[col] = values.reindex(out["effect"]).to_numpy()
    return out


def r_squared_draws(idata, spec):
    """Posterior draws of R² of every endogenous variable: 1 minus its standardised residual
    variance (std.all of ``y~~y``) per draw; an ``outcome`` dimension."""
    import xarray as xr

    std = idata.posterior["std_all"]
    names = [str(v) for v in std["std_param"].values]
    outcomes = [t for t in dict.fromkeys(t for _, t in spec.paths) if f"{t}~~{t}" in names]
    if not outcomes:
        return None
    draws = 1 - std.sel(std_param=[f"{t}~~{t}" for t in outcomes])
    return xr.DataArray(draws.values, dims=("chain", "draw", "outcome"),
                        coords={"outcome": outcomes})


def adjusted_r2(r2, n: int, k: int):
    """Adjusted R² of an outcome with ``k`` predictors and ``n`` respondents.

    >>> round(adjusted_r2(0.3, 100, 3), 4)
    0.2781
    """
    return 1 - (1 - r2) * (n - 1) / (n - k - 1)


def r_squared_table(run: dict, spec) -> pd.DataFrame | None:
    """R² (and adjusted R²) of every endogenous variable: the posterior's with its 95%
    interval (Bayes) or the full-sample R² with the bootstrap interval (PLS)."""
    predictors = {}
    for src, t in spec.paths:
        predictors.setdefault(t, []).append(src)
    n = run["label"].get("settings", {}).get("n_used") or run.get("n")
    if "posterior.nc" in {p.name for p in run["dir"].iterdir()}:
        draws = r_squared_draws(_posterior(run), spec)
        if draws is None:
            return None
        pts = _point_of(draws, "outcome", run.get("point", "mean"))
        lo, hi = draws.quantile([0.025, 0.975], dim=("chain", "draw")).values
        rows = [{"Variable": t, "R²": fmt_estimate(pts[t], lo[i], hi[i])}
                for i, t in enumerate(draws["outcome"].values)]
        table = pd.DataFrame(rows)
    else:
        par = run["parameters"]
        r2 = par[par["op"] == "r2"]
        if not len(r2):
            return None
        nan = pd.Series(np.nan, index=r2.index)  # a run without --boot has no intervals
        table = pd.DataFrame({"Variable": r2["lhs"].to_numpy(),
                              "R²": [fmt_estimate(e, lo, hi) for e, lo, hi in
                                     zip(r2["est"], r2.get("ci.lower", nan),
                                         r2.get("ci.upper", nan))]})
    if n:
        table["Adj. R²"] = [fmt(adjusted_r2(c.value, int(n), len(predictors.get(v, []))))
                            for v, c in zip(table["Variable"], table["R²"])]
    table["Predictors"] = [len(predictors.get(v, [])) for v in table["Variable"]]
    return table


def r_squared_note(bayes: bool, point: str = "mean",
                   ci: str = "bootstrap percentile 95%") -> str:
    what = (f"Posterior {point} of R² = 1 − standardised residual variance, with its 95% "
            "equal-tailed credible interval" if bayes else
            f"R² of the full sample with its {ci} interval")
    return (what + "; Adj. R² = 1 − (1 − R²)(N − 1)/(N − k − 1), k = number of predictors, "
            "from the R² shown.")


def _fit_index_table(doc: Report, run: dict, fit: str) -> None:
    """blavaan's fit indices (bayes/fit_indices.py) beside the PPP, or why there are none."""
    from connective.bayes.fit_indices import posterior_fit_indices

    table = posterior_fit_indices(_posterior(run))
    if isinstance(table, str):
        doc.paragraph(table)
        return
    point = run.get("point", "mean")
    doc.table(pd.DataFrame({
        "Index": table["index"],
        "Estimate": [fmt_estimate(r[point], r["lower"], r["upper"], 3)
                     for _, r in table.iterrows()],
        "SD": table["sd"].map(lambda v: fmt(v, 3)),
        "MCSE": table["mcse_mean"].map(lambda v: fmt(v, 4))}),
        "Bayesian fit indices (Garnier-Villarreal & Jorgensen 2020)", name="fit_indices",
        note=f"Posterior {point} with 95% highest-density interval, as blavaan's "
             "blavFitIndices (rescale = devM): the chi-square of each draw rescaled by the "
             f"effective number of parameters pD = p_loo (PSIS-LOO) = "
             f"{table.attrs['pD']:.1f}; BCFI, BTLI, BNFI against the independence model "
             f"(items' means and variances only; its p_loo = {table.attrs['pD_null']:.1f}). "
             "MCSE: Monte Carlo standard error of the mean of the draws."
             + (f" The largest Pareto k of the PSIS-LOO behind pD is "
                f"{table.attrs['max_pareto_k']:.2f} (above 0.7: pD, and the indices, are "
                "approximate)." if table.attrs.get("max_pareto_k", 0) > 0.7 else ""),
        fit=fit)


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
    printed = (s.get("settings", {}).get("data_options") or {}).get("summary")
    if printed:  # fitted to a printed matrix: there are no answers to check
        notes = " ".join(f"{n[0].upper()}{n[1:]}." for n in printed.get("notes", []))
        return (f"Fitted to summary statistics ({printed['file']}: a {printed['kind']} "
                f"matrix, N = {printed['n']}), not to respondents' answers, so there are no "
                f"item-level checks. {notes}").strip()
    data, override = run.get("data_override", (None, None))
    # as given; else where it was when the fit ran (from any working directory)
    path = Path(data or s.get("data", ""))
    if not data and not path.is_file() and s.get("data_resolved"):
        path = Path(s["data_resolved"])
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
                        "histogram per chain: they should look alike).", name=f"{name}_plots",
                   fit=run_verdict(run).fit)
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


def moderation_note(run: dict, bayes: bool, point: str = "mean") -> str:
    """What the conditional effects are, in the engine's terms."""
    if bayes:
        text = (f"Standardised conditional effects, posterior {point}s with 95% credible "
                "intervals, at the moderator's mean and one SD either side (per draw).")
        predictor = run["summary"].get("groups", {}).get("predictor")
        if predictor:
            text += (f" Cross-level moderation by the group-level predictor {predictor}: the "
                     f"mean of the groups' paths at {predictor}'s mean over groups and one SD "
                     f"either side, in {predictor}'s own metric (an index is per unit of "
                     f"{predictor}; two levels are coded −1/2 and +1/2, so a unit is their "
                     "difference); a conditional indirect effect is the product of those mean "
                     "paths, which the population average exceeds by the paths' between-group "
                     "covariance.")
        return text
    method = run["label"].get("settings", {}).get("interaction") or "two_stage"
    how = {"two_stage": "two-stage", "product_indicator": "product-indicator",
           "orthogonal": "orthogonalised product-indicator"}.get(method, method)
    return (f"Full-sample estimates with {pls_interval(run)} intervals ({how} approach, as "
            "seminr's interaction_term()). The construct scores are standardised, so the "
            "moderator's mean is 0 and its SD 1; the product term's path is that of the "
            "product of the scores (seminr's scale), so the effect of X at W = w is "
            "b_X + b_XW·w." + ("" if method == "two_stage" else
                               " With product indicators the interaction term is a composite "
                               "of item products, so this reading is approximate."))


def mediation_note(bayes: bool, ci: str | None = None, point: str = "mean") -> str:
    """What the columns of the mediation table compute, in the engine's own terms."""
    rope = f"±{fmt(ROPE, leading_zero=False)}"
    if bayes:
        head = (f"Standardised effects, posterior {point}s. HDI: highest-density interval. "
                "P(dir.): probability of "
                f"direction. P(|e| > {rope[1:]}): probability that the effect lies beyond the "
                f"region of practical equivalence {rope}.")
    else:
        head = ("Standardised effects, full-sample estimates. Interval: bootstrap "
                f"{_CI_NAMES[ci]} interval. "
                "Share > 0: share of bootstrap replicates above 0. "
                f"Share |e| > {rope[1:]}: share of replicates beyond {rope}.")
    return (head + " Proportion mediated: indirect / total effect (median of the "
            f"{'draws' if bayes else 'replicates'}, robust to near-zero totals, and 95% "
            "interval). "
            "Type: the most frequent Zhao-Lynch-Chen (2010) mediation type over the "
            f"{'draws' if bayes else 'replicates'}, with its share, where an effect counts as "
            f"present only beyond the ROPE {rope}; an indirect effect whose interval excludes "
            f"0 but stays within {rope} is marked 'indirect within ROPE'.")


_CI_NAMES = {"percentile": "percentile", "bca": "BCa", None: "percentile"}


def pls_interval(run: dict | None) -> str:
    """How a PLS run's intervals were made, in words: ``bootstrap BCa 90%``.

    >>> pls_interval({"label": {"settings": {"ci": "bca", "level": 0.9}}})
    'bootstrap BCa 90%'
    """
    settings = (run or {}).get("label", {}).get("settings", {}) or {}
    if isinstance(settings, str):
        settings = {}
    level = settings.get("level") or 0.95
    return f"bootstrap {_CI_NAMES.get(settings.get('ci'), 'percentile')} {level:.0%}"


def mediation_table(draws, bayes: bool, *, effects: pd.DataFrame | None = None,
                    ci: str | None = None, point: str = "mean") -> tuple[pd.DataFrame, str]:
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
    # one number per effect: the posterior point the report uses, or PLS's full-sample one
    full = (effects.set_index("effect")["est"] if effects is not None and not bayes
            and "est" in effects else None)
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
            "Effect": effect,
            ("Estimate" if not bayes else point.capitalize()):
                fmt(full.get(effect, r["median"]) if full is not None else r[point]),
            ("95% HDI" if bayes else f"95% {_CI_NAMES[ci]} interval"): fmt_interval(lo, hi),
            share[0]: share[1], beyond[0]: beyond[1],
            "Prop. mediated": "—" if pm_row is None else
            fmt_estimate(pm_row["median"], pm_row["eti_lower"], pm_row["eti_upper"]),
            "Type": label,
        })
    source = "posterior" if bayes else "bootstrap replicates"
    return pd.DataFrame(rows), f"Mediation analysis (from the {source})"


def _interval_note(bayes: bool, point: str = "mean", ci: str = "bootstrap percentile 95%") -> str:
    """What the parameter tables' columns are (only the columns they have)."""
    if bayes:
        return (f"Estimate: posterior {point} in the items' metric; 95% CI: its 95% "
                f"equal-tailed credible interval; Std.: the standardised (std.all) posterior "
                f"{point} with its 95% interval.")
    return f"Estimate: full-sample estimate (standardised); 95% CI: {ci} confidence interval."


def _effect_note(bayes: bool, point: str = "mean", ci: str = "bootstrap percentile 95%") -> str:
    if bayes:
        return (f"Std. effect: posterior {point} of the standardised effect (std.all paths "
                "through the effects algebra) with its 95% equal-tailed credible interval, the "
                "same numbers as in the mediation analysis and the comparison; P(> 0): "
                "posterior probability that the effect is positive. The effects in the items' "
                "metric are in the run's effects.csv.")
    return f"Estimate: full-sample estimate (standardised) with its {ci} confidence interval."


def _path_table(rows: pd.DataFrame, bayes: bool, what: str = "Path") -> pd.DataFrame:
    # arrows point the way of the effect: predictor -> outcome, factor -> indicator
    def arrow(r) -> str:
        if r["op"] == "~~":
            return f"{r['lhs']} ↔ {r['rhs']}"
        return f"{r['lhs']} → {r['rhs']}" if r["op"] in ("=~", "<~") else f"{r['rhs']} → {r['lhs']}"

    out = pd.DataFrame({what: [arrow(r) for _, r in rows.iterrows()],
                        "Estimate": rows["est"].map(fmt).to_numpy(),
                        "95% CI": [_interval(r) for _, r in rows.iterrows()]})
    if bayes and "std.all" in rows:
        if "std.all.lower" in rows:
            out["Std."] = [fmt(r["std.all"]) if r.get("ci.lower") == r.get("ci.upper")
                           and pd.notna(r.get("ci.lower")) else
                           fmt_estimate(r["std.all"], r["std.all.lower"], r["std.all.upper"])
                           for _, r in rows.iterrows()]
        else:
            out["Std."] = rows["std.all"].map(fmt).to_numpy()
    if "op" in rows and (rows["op"] == "<~").any():
        out.insert(1, "Kind", ["weight" if op == "<~" else "loading" for op in rows["op"]])
    return out


def _effect_table(rows: pd.DataFrame, bayes: bool) -> pd.DataFrame:
    if bayes and "std.all" in rows:
        out = pd.DataFrame({"Effect": rows["effect"].to_numpy(),
                            "Std. effect": [fmt_estimate(r["std.all"], r["std.all.lower"],
                                                         r["std.all.upper"])
                                            for _, r in rows.iterrows()]})
    else:
        out = pd.DataFrame({"Effect": rows["effect"].to_numpy(),
                            "Estimate": rows["est"].map(fmt).to_numpy(),
                            "95% CI": [_interval(r) for _, r in rows.iterrows()]})
    if bayes and "p_positive" in rows:
        out["P(> 0)"] = rows["p_positive"].map(lambda x: fmt(x, 3, leading_zero=False)).to_numpy()
    return out


def run_sentences(effects: pd.DataFrame, bayes: bool, point: str = "mean",
                  ci: str = "bootstrap percentile 95%") -> list[str]:
    """A paragraph that could open a results section, then one sentence per hypothesised
    path and per named (:=) effect of one run: its standardised estimate, interval and (Bayes)
    probability of direction (P(> 0) or its complement, whichever is larger).

    >>> fx = pd.DataFrame({"effect": ["X -> Y"], "kind": ["direct"], "source": ["X"],
    ...                    "target": ["Y"], "std.all": [0.3], "std.all.lower": [0.1],
    ...                    "std.all.upper": [0.5], "p_positive": [0.998]})
    >>> run_sentences(fx, True)[1]
    'X → Y: 0.30 [0.10, 0.50], P(direction) = 1.00, interval above 0.'
    """
    rows = effects[effects["kind"].isin(["direct", "defined"])]
    if not len(rows):
        return []
    col, lo, hi = (("std.all", "std.all.lower", "std.all.upper") if bayes and "std.all" in rows
                   else ("est", "ci.lower", "ci.upper"))
    words = {"+": "above 0", "−": "below 0", "0": "containing 0"}
    out, clear = [], 0
    for _, r in rows.iterrows():
        sign = "+" if r[lo] > 0 else "−" if r[hi] < 0 else "0"
        clear += sign != "0"
        name = f"{r['source']} → {r['target']}" if r["kind"] == "direct" else f"{r['effect']} (:=)"
        text = f"{name}: {fmt_estimate(r[col], r[lo], r[hi])}"
        if bayes and "p_positive" in r:
            text += f", P(direction) = {fmt(max(r['p_positive'], 1 - r['p_positive']))}"
        out.append(f"{text}, interval {words[sign]}.")
    n_paths = int((rows["kind"] == "direct").sum())
    what = (f"standardised posterior {point}s with 95% credible intervals" if bayes else
            f"full-sample estimates with {ci} intervals")
    lead = (f"Of the {n_paths} hypothesised paths and {len(rows) - n_paths} named effects, "
            f"{clear} have a 95% interval that excludes 0 ({what}).")
    return [lead, *out]


def pls_columns(table: pd.DataFrame, rows: pd.DataFrame, run: dict) -> pd.DataFrame:
    """A PLS path or outer table with what SmartPLS and seminr users are asked for beside
    the interval: bootstrap SE, t = estimate / SE and its two-sided p (normal), and from
    ``quality.csv`` the VIF (inner for paths, outer for indicators) and f² of each path."""
    from scipy.stats import norm

    out = table.copy()
    if "se" in rows and rows["se"].notna().any():
        t = (rows["est"] / rows["se"]).to_numpy()
        out["SE"] = [fmt(v, 3) for v in rows["se"]]
        out["t"] = [fmt(v) for v in t]
        out["p"] = [fmt(v, 3, leading_zero=False) for v in 2 * norm.sf(np.abs(t))]
    q = run.get("quality")
    if q is not None:
        q = q.set_index(["measure", "lhs", "rhs"])["value"]
        paths = (rows["op"] == "~").all()
        if paths:
            keys = list(zip(rows["lhs"], rows["rhs"]))
            out["VIF"] = [fmt(q.get(("inner_vif", *k))) for k in keys]
            out["f²"] = [fmt(q.get(("f2", *k)), 3) for k in keys]
        else:
            out["VIF"] = [fmt(q.get(("outer_vif", a, b))) for a, b in zip(rows["lhs"], rows["rhs"])]
    return out


def pls_note(run: dict, paths: bool) -> str:
    """The note of a PLS path or outer table (only the columns it has)."""
    text = (f"Estimate: full-sample estimate; 95% CI: {pls_interval(run)} interval; SE: "
            "bootstrap standard error; t = estimate / SE; p: two-sided, from the normal "
            "distribution of t (the interval is what to read).")
    if run.get("quality") is not None:
        text += (" VIF: inner VIF of the predictor (collinearity; above 3-5 is a concern); "
                 "f²: Cohen's effect size of the path (.02 small, .15 medium, .35 large)."
                 if paths else " VIF: outer VIF of the indicator within its block (above 3-5: "
                 "collinear items, a concern for formative blocks).")
    return text


def srmr_sentence(run: dict) -> str | None:
    q = run.get("quality")
    if q is None or not (q["measure"] == "srmr").any():
        return None
    value = float(q.loc[q["measure"] == "srmr", "value"].iloc[0])
    engine = run["label"].get("engine", "PLS")
    return (f"{engine}: SRMR of the saturated model {fmt(value, 3, leading_zero=False)} "
            f"({'below' if value < 0.08 else 'above'} the usual .08): observed indicator "
            "correlations against those the estimated loadings and construct correlations "
            "imply.")


def write_run_report(run_dir: str | Path, out_dir: str | Path | None = None, *,
                     trace: bool = False, data: str | Path | None = None,
                     data_options=None, overwrite: bool = False, point: str = "mean") -> Path:
    """Write the report of a run folder into ``out_dir`` (default ``RUN_DIR/report``);
    ``data``, ``data_options`` and ``point`` as for :func:`build_run_report`."""
    run_dir = Path(run_dir)
    return build_run_report(run_dir, trace=trace, data=data, data_options=data_options,
                            point=point).write(out_dir or run_dir / "report",
                                               overwrite=overwrite)
