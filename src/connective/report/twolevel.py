"""The report of a two-level run folder (``connective fit MODEL --cluster COL``): the
verdict, how a two-level model differs from ``--group``, then each level as a model of its
own (its path diagram, paths, effects and loadings, standardised by that level's implied
covariance), diagnostics and provenance. It reads the run folder's files only.

Example
-------
>>> doc = build_twolevel_report(read_run("runs/twolevel"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path


from connective.report.diagram import path_diagram
from connective.report.document import Report, fmt
from connective.report.run import (KIND_TITLES, _effect_note, _effect_table, _excludes_zero,
                                   _interval_note, _path_table, add_provenance)
from connective.spec.levels import SUFFIX, level_name, parse_twolevel
from connective.verdicts import run_verdict

#: what the report says of the two designs for nested respondents
VERSUS_GROUP = (
    "How this differs from a hierarchical model (--group): here the answers' covariance is "
    "split into a within-organisation part (level 1: how respondents of the same "
    "organisation differ from one another) and a between-organisation part (level 2: how "
    "the organisations' means differ), each with its own factors and paths; organisations "
    "differ only in their intercepts (random intercepts), and the level-1 paths are the "
    "same in every organisation. A hierarchical model (connective fit --group COL) instead "
    "lets the paths themselves vary by organisation around population values (partial "
    "pooling), with one covariance structure. A model file uses one of the two, not both.")


def is_twolevel(run: dict) -> bool:
    """Whether a run folder read by :func:`connective.report.run.read_run` is a two-level
    fit."""
    settings = run["label"].get("settings", {})
    return isinstance(settings, dict) and settings.get("levels") == 2


def build_twolevel_report(run: dict, *, point: str = "mean") -> Report:
    """The :class:`Report` of a two-level run (see the module docstring)."""
    from connective.errors import ConnectiveError

    if point != "mean":
        raise ConnectiveError("a two-level report shows posterior means; drop --point "
                              f"{point}")
    s = run["label"]
    settings = s.get("settings", {})
    two = parse_twolevel(s["model_text"], source=Path(s["model"]).name)
    levels = run["summary"].get("levels", {})
    doc = Report(f"{Path(s['model']).name}: two-level Bayesian SEM (posterior means, 95% "
                 "credible intervals)",
                 subtitle=f"data {Path(s['data']).name}, N = {levels.get('n', '?')} in "
                          f"{levels.get('clusters', '?')} organisations ({settings.get('cluster')})")
    verdict = run_verdict(run)
    doc.verdict(verdict.fit, verdict.ok, verdict.text)
    fit = verdict.fit
    if s.get("synthetic_data"):
        doc.paragraph("SYNTHETIC DATA: these data were simulated from a stated population "
                      "model; they are not real respondents, and no substantive conclusion "
                      "can be drawn from them.")
    doc.paragraph(VERSUS_GROUP)
    sizes = levels.get("sizes", [])
    doc.paragraph(
        f"Measured at both levels: {', '.join(two.both) or 'none'}; within organisations only "
        f"(no organisation part): {', '.join(two.within_only) or 'none'}; organisation level "
        f"only (one value per organisation): {', '.join(two.between_only) or 'none'}."
        + (f" Organisations have {min(sizes)} to {max(sizes)} respondents." if sizes else ""))
    params, effects = run["parameters"], run["effects"]
    for level, spec in two.levels.items():
        name = level_name(level)
        rows = params[params["level"] == level]
        doc.heading(f"Level {level} ({name} organisations)" if level == 1 else
                    f"Level {level} ({name} organisations: the organisations' means)")
        paths = rows[rows["op"] == "~"]
        if spec.paths:
            labels = {f"{r['lhs']}~{r['rhs']}": fmt(r["std.all"]) for _, r in paths.iterrows()}
            bold = {f"{r['lhs']}~{r['rhs']}": _excludes_zero(r) for _, r in paths.iterrows()}
            doc.figure(path_diagram(spec, labels, highlight=bold),
                       f"Level {level} ({name}): path diagram with standardised posterior "
                       "means; bold arrows: 95% interval excludes zero.",
                       name=f"path_diagram_level{level}", fit=fit)
            doc.table(_path_table(paths, True), f"Structural paths, level {level} ({name})",
                      name=f"paths_level{level}", note=_interval_note(True) +
                      f" Standardised by level {level}'s implied covariance.", fit=fit)
        fx = effects[effects["level"] == level] if len(effects) else effects
        if len(fx):
            fx = fx.assign(effect=[e[: -len(SUFFIX)] if e.endswith(SUFFIX) else e
                                   for e in fx["effect"]])
            for kind in ("indirect", "total_indirect", "defined", "total"):
                part = fx[fx["kind"] == kind]
                if len(part):
                    doc.table(_effect_table(part, True),
                              f"{KIND_TITLES[kind]}, level {level} ({name})",
                              name=f"effects_{kind}_level{level}", note=_effect_note(True),
                              fit=fit)
        loadings = rows[rows["op"] == "=~"]
        if len(loadings):
            doc.table(_path_table(loadings, True, what="Indicator"),
                      f"Loadings, level {level} ({name})", name=f"loadings_level{level}",
                      note=_interval_note(True), fit=fit)
        variances = rows[(rows["op"] == "~~") & (rows["exo"] == 0)]
        if len(variances):
            doc.table(_path_table(variances, True, what="Variance"),
                      f"(Residual) variances and covariances, level {level} ({name})",
                      name=f"variances_level{level}", note=_interval_note(True), fit=fit)
    if "diagnostics" in run:
        d = run["diagnostics"]
        doc.heading("Diagnostics")
        doc.paragraph(("The sampler diagnostics pass: " if d.get("ok") else
                       "The sampler diagnostics FAIL, so these estimates cannot be trusted "
                       "yet: " + "; ".join(d.get("problems", [])) + ". ")
                      + f"max R-hat {fmt(d.get('max_r_hat'), 3)}, min bulk ESS "
                        f"{fmt(d.get('min_ess_bulk'), 0)}, {d.get('divergences', 0)} divergent "
                        "transitions. No posterior predictive p-value is computed for "
                        "two-level models.")
    add_provenance(doc, s, fit)
    return doc
