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

from connective.report.document import Report, fmt, fmt_interval

#: the effects shown per group: the mediation effects a paper reports
GROUP_KINDS = ("indirect", "defined")


def group_forest_plot(group_effects: pd.DataFrame, population: pd.DataFrame,
                      effects: list[str], levels: dict[str, str] | None = None):
    """One panel per effect: each group's estimate and 95% interval, the population average
    as a band (matplotlib Figure). ``levels`` maps group -> level of the group-level
    predictor (colours)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(group_effects["group"]))
    palette = ["#1b5e9a", "#c2571a", "#3a8a3a", "#7a3a8a"]
    colour = {lv: palette[i % 4] for i, lv in enumerate(sorted(set((levels or {}).values())))}
    fig, axes = plt.subplots(1, len(effects), figsize=(3.1 * len(effects) + 1.2,
                                                        0.3 * len(groups) + 1.4),
                             sharey=True, squeeze=False)
    y = np.arange(len(groups))[::-1]
    for ax, effect in zip(axes[0], effects):
        rows = group_effects[group_effects["effect"] == effect].set_index("group").loc[groups]
        pop = population[population["effect"] == effect].iloc[0]
        ax.axvspan(pop["ci.lower"], pop["ci.upper"], color="grey", alpha=0.15, lw=0)
        ax.axvline(pop["est"], color="grey", lw=1.0)
        ax.axvline(0, color="black", lw=0.6, ls=":")
        colors = [colour.get((levels or {}).get(g), "#1b5e9a") for g in groups]
        for yi, (_, r), c in zip(y, rows.iterrows(), colors):
            ax.errorbar(r["est"], yi, xerr=[[r["est"] - r["ci.lower"]], [r["ci.upper"] - r["est"]]],
                        fmt="o", ms=3.5, lw=1.1, color=c)
        ax.set_title(effect, fontsize=8.5)
        ax.tick_params(labelsize=7.5)
    axes[0][0].set_yticks(y)
    axes[0][0].set_yticklabels(groups, fontsize=7.5)
    if colour:
        for lv, c in colour.items():
            axes[0][-1].plot([], [], "o", color=c, label=lv)
        axes[0][-1].legend(fontsize=7.5, loc="lower right")
    fig.supxlabel("effect (model metric) with 95% interval; band: population average",
                  fontsize=8.5)
    fig.tight_layout()
    return fig


def add_group_section(doc: Report, run: dict) -> None:
    """Append the group section to ``doc`` for a hierarchical run (``run`` from
    :func:`connective.report.run.read_run`); does nothing for other runs."""
    if "group_effects" not in run:
        return
    design = run["summary"].get("groups", {})
    sizes = design.get("groups", {})
    ge, pop = run["group_effects"], run["effects"]
    doc.heading("Groups")
    text = (f"{len(sizes)} groups in column {design.get('column')!r} "
            f"({min(sizes.values())} to {max(sizes.values())} respondents each); "
            f"varying by group, partially pooled: {', '.join(design.get('varying', []))}. "
            "The effects elsewhere in this report are population averages over groups (for a "
            "product of two varying paths, mean a × mean b + cov(a, b)); below, each group's own.")
    if design.get("predictor"):
        text += (f" Group-level predictor: {design['predictor']} "
                 f"({' vs '.join(design.get('predictor_levels') or [])}).")
    doc.paragraph(text)
    # the effects the model file names (:=), else every specific indirect effect
    kind = "defined" if (pop["kind"] == "defined").any() else "indirect"
    effects = list(pop.loc[pop["kind"] == kind, "effect"])[:6]
    levels = run.get("group_levels")
    if effects:
        doc.figure(group_forest_plot(ge, pop, effects, levels),
                   "Indirect effects per group (dots, 95% intervals) and the population "
                   "average (line and grey band).", name="group_forest")
        wide = {"Group": list(dict.fromkeys(ge["group"]))}
        for effect in effects:
            rows = ge[ge["effect"] == effect].set_index("group").loc[wide["Group"]]
            wide[effect] = [f"{fmt(r['est'])} {fmt_interval(r['ci.lower'], r['ci.upper'])}"
                            for _, r in rows.iterrows()]
        doc.table(pd.DataFrame(wide), "Indirect effects per group", name="group_effects",
                  note="Posterior means and 95% credible intervals, in the model's metric.")
    between = run["between_groups"]
    doc.table(pd.DataFrame({"Parameter": between["parameter"], "Quantity": between["quantity"],
                            "Estimate": between["est"].map(fmt),
                            "95% CI": [fmt_interval(a, b) for a, b in
                                       zip(between["ci.lower"], between["ci.upper"])]}),
              "Population values and between-group variation", name="between_groups")
    if "level_effects" in run:
        le = run["level_effects"]
        le = le[le["kind"].isin(GROUP_KINDS + ("direct",))]
        doc.table(pd.DataFrame({
            "Level": le["level"], "Effect": le["effect"], "Estimate": le["est"].map(fmt),
            "95% CI": [fmt_interval(a, b) for a, b in zip(le["ci.lower"], le["ci.upper"])],
            "P(> 0)": le["p_positive"].map(lambda v: fmt(v, leading_zero=False))}),
            f"Effects by {design.get('predictor')}", name="level_effects",
            note="Population-average effects at each level of the group-level predictor; the "
                 "last rows are their difference (cross-level moderation).")
