"""The group section of a hierarchical run's report: each group's indirect effects beside
the population average (forest plot), the between-group SDs, and the effects at each level
of a group-level predictor with their difference. Reads only the run folder's CSV files.

Example
-------
>>> doc = build_run_report("runs/organisations")  # doctest: +SKIP
>>> add_group_section(doc, read_run("runs/organisations"))  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connective.report.document import Report, fmt, fmt_estimate, fmt_interval

#: the effects shown per group: the mediation effects a paper reports
GROUP_KINDS = ("indirect", "defined")


def group_forest_plot(group_effects: pd.DataFrame, population: pd.DataFrame,
                      effects: list[str], levels: dict[str, str] | None = None):
    """One panel per effect, stacked, each as tall as its groups need: each group's estimate
    and 95% interval, the population average as a line and band (matplotlib Figure, 6.5 in
    wide so that it is shown at its own size, labels 9-10 pt). ``levels`` maps group ->
    level of the group-level predictor (colours; legend above the panels, never over data)."""
    from matplotlib.lines import Line2D

    from connective.figures import subplots

    groups = list(dict.fromkeys(group_effects["group"]))
    palette = ["#1b5e9a", "#c2571a", "#3a8a3a", "#7a3a8a"]
    colour = {lv: palette[i % 4] for i, lv in enumerate(sorted(set((levels or {}).values())))}
    panel = 0.28 * len(groups) + 0.7  # inches per effect: grows with the groups
    fig, axes = subplots(len(effects), 1, figsize=(6.5, panel * len(effects) + 0.9),
                             sharex=False, squeeze=False)
    y = np.arange(len(groups))[::-1]
    for ax, effect in zip(axes[:, 0], effects):
        rows = group_effects[group_effects["effect"] == effect].set_index("group").loc[groups]
        pop = population[population["effect"] == effect].iloc[0]
        ax.axvspan(pop["ci.lower"], pop["ci.upper"], color="grey", alpha=0.15, lw=0)
        ax.axvline(pop["est"], color="grey", lw=1.0)
        ax.axvline(0, color="black", lw=0.6, ls=":")
        colors = [colour.get((levels or {}).get(g), "#1b5e9a") for g in groups]
        for yi, (_, r), c in zip(y, rows.iterrows(), colors):
            ax.errorbar(r["est"], yi, xerr=[[r["est"] - r["ci.lower"]], [r["ci.upper"] - r["est"]]],
                        fmt="o", ms=4, lw=1.2, color=c)
        ax.set_title(effect, fontsize=10, loc="left")
        ax.set_yticks(y)
        ax.set_yticklabels(groups, fontsize=9)
        ax.set_ylim(-0.7, len(groups) - 0.3)
        ax.tick_params(axis="x", labelsize=9)
    axes[-1][0].set_xlabel("effect (model metric) with 95% interval; line and band: population "
                           "average", fontsize=9.5)
    if colour:
        handles = [Line2D([], [], marker="o", ls="", color=c, label=lv)
                   for lv, c in colour.items()]
        fig.legend(handles=handles, fontsize=9, loc="upper center", ncol=len(handles),
                   frameon=False, bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    else:
        fig.tight_layout()
    return fig


def _group_tables(run: dict) -> dict[str, pd.DataFrame]:
    """The group tables with ``est`` as the report's point: the run folder's CSV files
    (posterior means), or the same tables made from the posterior with its medians."""
    names = ("group_effects", "between_groups", "level_effects")
    if run.get("point", "mean") == "mean" or not (run["dir"] / "posterior.nc").is_file():
        return {k: run[k] for k in names if k in run}
    import arviz as az

    from connective.bayes import group_results as gr

    idata = az.from_netcdf(str(run["dir"] / "posterior.nc"))
    make = {"group_effects": gr.group_effects_table, "between_groups": gr.between_groups_table,
            "level_effects": gr.level_effects_table}
    return {k: make[k](idata, point=run["point"]) for k in names if k in run}


def add_group_section(doc: Report, run: dict) -> None:
    """Append the group section to ``doc`` for a hierarchical run (``run`` from
    :func:`connective.report.run.read_run`), with that fit's verdict at the top of ``doc``
    and a mark on its tables if it failed; does nothing for other runs."""
    from connective.report.run import add_provenance
    from connective.verdicts import run_verdict

    if "group_effects" not in run:
        return
    verdict = run_verdict(run)
    doc.verdict(verdict.fit, verdict.ok, verdict.text)
    fit = verdict.fit
    add_provenance(doc, run["label"], fit)
    point = run.get("point", "mean")
    design = run["summary"].get("groups", {})
    sizes = design.get("groups", {})
    tables = _group_tables(run)
    ge, pop = tables["group_effects"], run["effects"]
    doc.heading("Groups")
    text = (f"Fit: {fit}. {len(sizes)} groups in column {design.get('column')!r} "
            f"({min(sizes.values())} to {max(sizes.values())} respondents each); "
            f"varying by group, partially pooled: {', '.join(design.get('varying', []))}. "
            "The population effects of this fit are averages over groups (for a product of "
            "two varying paths, mean a × mean b + cov(a, b)); below, each group's own.")
    if design.get("predictor"):
        text += (f" Group-level predictor: {design['predictor']} "
                 f"({' vs '.join(design.get('predictor_levels') or [])}).")
    if not verdict.ok:
        text += " THIS FIT FAILED ITS CHECKS: " + verdict.text
    doc.paragraph(text)
    # the effects the model file names (:=), else every specific indirect effect
    kind = "defined" if (pop["kind"] == "defined").any() else "indirect"
    effects = list(pop.loc[pop["kind"] == kind, "effect"])[:6]
    levels = run.get("group_levels")
    if effects:
        doc.figure(group_forest_plot(ge, pop, effects, levels),
                   f"Indirect effects per group (dots: posterior {point}s, 95% intervals) and "
                   "the population average (line and grey band).", name="group_forest", fit=fit)
        wide = {"Group": list(dict.fromkeys(ge["group"]))}
        for effect in effects:
            rows = ge[ge["effect"] == effect].set_index("group").loc[wide["Group"]]
            wide[effect] = [fmt_estimate(r["est"], r["ci.lower"], r["ci.upper"])
                            for _, r in rows.iterrows()]
        doc.table(pd.DataFrame(wide), "Indirect effects per group", name="group_effects",
                  note=f"Posterior {point}s and 95% equal-tailed credible intervals, in the "
                       "model's metric.", fit=fit)
    between = tables["between_groups"]
    doc.table(pd.DataFrame({"Parameter": between["parameter"], "Quantity": between["quantity"],
                            "Estimate": between["est"].map(fmt),
                            "95% CI": [fmt_interval(a, b) for a, b in
                                       zip(between["ci.lower"], between["ci.upper"])]}),
              "Population values and between-group variation", name="between_groups",
              note=f"Estimate: posterior {point}; 95% CI: equal-tailed credible interval.",
              fit=fit)
    if "level_effects" in tables:
        le = tables["level_effects"]
        le = le[le["kind"].isin(GROUP_KINDS + ("direct",))]
        doc.table(pd.DataFrame({
            "Level": le["level"], "Effect": le["effect"], "Estimate": le["est"].map(fmt),
            "95% CI": [fmt_interval(a, b) for a, b in zip(le["ci.lower"], le["ci.upper"])],
            "P(> 0)": le["p_positive"].map(lambda v: fmt(v, leading_zero=False))}),
            f"Effects by {design.get('predictor')}", name="level_effects",
            note=f"Estimate: posterior {point} of the population-average effect at each level of "
                 "the group-level predictor, with its 95% credible interval; P(> 0): posterior "
                 "probability that it is positive; the last rows are their difference "
                 "(cross-level moderation).", fit=fit)
