"""The moderation section of a report: conditional effects, the indices of moderation and
of moderated mediation (Hayes 2015), sentences, simple-slope and Johnson-Neyman figures and
tables, from a run's effects table (rows of :func:`connective.effects.conditional_effects`)
and its draws or replicates. Nothing here knows which engine made them: a PLS run's
bootstrap replicates and a Bayesian run's posterior draws carry the same rows.

Example
-------
>>> import pandas as pd
>>> fx = pd.DataFrame({"effect": ["X -> Y | W = -1 SD", "X -> Y | W = mean",
...                               "X -> Y | W = +1 SD", "index of moderation X -> Y by W"],
...                    "kind": ["conditional_direct"] * 3 + ["index_moderation"],
...                    "source": ["X"] * 4, "target": ["Y"] * 4,
...                    "est": [0.1, 0.3, 0.5, 0.2], "ci.lower": [-0.1, 0.1, 0.3, 0.1],
...                    "ci.upper": [0.3, 0.5, 0.7, 0.3]})
>>> moderation_sentences(fx, bayes=False)[0]
'Moderation of X → Y by W: index of moderation 0.20 [0.10, 0.30], interval above 0; \
the effect is 0.10 [−0.10, 0.30] at W = −1 SD, 0.30 [0.10, 0.50] at its mean, 0.50 [0.30, 0.70] at +1 SD.'
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from connective.effects import CONDITIONAL_KINDS
from connective.figures import subplots
from connective.report.document import fmt, fmt_estimate

_AT = re.compile(r"^(?P<path>.+) \| (?P<moderator>[^|=:]+) = (?P<at>.+)$")
_INDEX = re.compile(r"^index of (moderation|moderated mediation) (?P<path>.+) by "
                    r"(?P<moderator>[^|]+?)(?: \| .+)?$")
_WORDS = {"+": "above 0", "−": "below 0", "0": "containing 0",
          "?": "not estimated (no bootstrap: rerun with --boot N)"}


def moderation_rows(effects: pd.DataFrame) -> pd.DataFrame:
    """The conditional rows of an effects table with their ``path``, ``moderator`` and
    ``at`` (the moderator value's label) read off the effect names."""
    rows = effects[effects["kind"].isin(CONDITIONAL_KINDS)].copy()
    paths, mods, ats = [], [], []
    for name in rows["effect"]:
        m = _INDEX.match(name)
        at = _AT.match(name)
        if m:
            paths.append(m["path"]), mods.append(m["moderator"].strip())
            ats.append(at["at"] if at else "")
        elif at:
            paths.append(at["path"]), mods.append(at["moderator"].strip()), ats.append(at["at"])
        else:  # a difference: "<path> | W: +1 SD - -1 SD"
            path, _, rest = name.partition(" | ")
            mod, _, at_ = rest.partition(": ")
            paths.append(path), mods.append(mod), ats.append(at_)
    return rows.assign(path=paths, moderator=mods, at=ats)


def _columns(rows: pd.DataFrame, bayes: bool) -> tuple[str, str, str]:
    if bayes and "std.all" in rows:
        return "std.all", "std.all.lower", "std.all.upper"
    return "est", "ci.lower", "ci.upper"


def _value(r, cols) -> str:
    return fmt_estimate(r[cols[0]], r[cols[1]], r[cols[2]])


def _sign(r, cols) -> str:
    if cols[1] not in r or pd.isna(r[cols[1]]):
        return "?"
    return "+" if r[cols[1]] > 0 else "−" if r[cols[2]] < 0 else "0"


def moderation_sentences(effects: pd.DataFrame, bayes: bool) -> list[str]:
    """One sentence per moderated path: the index with its interval, then the conditional
    effects at the moderator's values (see the module example)."""
    rows = moderation_rows(effects)
    cols = _columns(rows, bayes)
    out = []
    for (path, w), part in rows.groupby(["path", "moderator"], sort=False):
        at = part[part["kind"].isin(["conditional_direct", "conditional_indirect"])]
        index = part[part["kind"].isin(["index_moderation", "index_moderated_mediation"])]
        cond = ", ".join(f"{_value(r, cols)} at "
                         + (f"{w} = {r['at']}" if k == 0 else
                            "its mean" if r["at"] == "mean" else r["at"])
                         for k, (_, r) in enumerate(at.iterrows()))
        steps = path.split(" -> ")
        if len(steps) == 2:
            r = index.iloc[0]
            text = (f"Moderation of {steps[0]} → {steps[1]} by {w}: index of moderation {_value(r, cols)}, interval "
                    f"{_WORDS[_sign(r, cols)]}; the effect is {cond}.")
        elif len(index) == 1:
            r = index.iloc[0]
            text = (f"Moderated mediation of {' → '.join(steps)} by {w}: index of "
                    f"moderated mediation (Hayes 2015) {_value(r, cols)}, interval "
                    f"{_WORDS[_sign(r, cols)]}; the conditional indirect effect is {cond}.")
        else:  # both stages moderated by w: the index depends on w
            slopes = ", ".join(f"{_value(r, cols)} at {r['at'].replace('-1', '−1')}"
                               for _, r in index.iterrows())
            diff = part[part["kind"] == "conditional_difference"]
            hi, _, lo = diff.iloc[0]["at"].partition(" - ") if len(diff) else ("", "", "")
            extra = (f"; the conditional indirect effects at {hi} and {lo} differ by "
                     f"{_value(diff.iloc[0], cols)}" if len(diff) else "")
            text = (f"Moderated mediation of {' → '.join(steps)} by {w} in both stages, "
                    f"so the index of moderated mediation (the change of the indirect effect "
                    f"per SD of {w}) depends on {w}: {slopes}{extra}; the conditional indirect effect is "
                    f"{cond}.")
        out.append(text.replace("-1 SD", "−1 SD"))
    return out


def conditional_table(effects: pd.DataFrame, bayes: bool) -> pd.DataFrame:
    """Conditional effects and differences, one row each: path, moderator value, value."""
    rows = moderation_rows(effects)
    rows = rows[rows["kind"].isin(["conditional_direct", "conditional_indirect",
                                   "conditional_difference"])]
    cols = _columns(rows, bayes)
    return pd.DataFrame({"Effect": rows["path"].str.replace(" -> ", " → ").to_numpy(),
                         "Moderator": rows["moderator"].to_numpy(),
                         "At": rows["at"].str.replace("-1 SD", "−1 SD").to_numpy(),
                         "Estimate [95% interval]": [_value(r, cols) for _, r in rows.iterrows()]})


def index_table(effects: pd.DataFrame, bayes: bool) -> pd.DataFrame:
    """The indices of moderation and of moderated mediation."""
    rows = moderation_rows(effects)
    rows = rows[rows["kind"].isin(["index_moderation", "index_moderated_mediation"])]
    cols = _columns(rows, bayes)
    what = {"index_moderation": "index of moderation",
            "index_moderated_mediation": "index of moderated mediation"}
    return pd.DataFrame({"Index": rows["kind"].map(what).to_numpy(),
                         "Path": rows["path"].str.replace(" -> ", " → ").to_numpy(),
                         "Moderator": rows["moderator"].to_numpy(),
                         "At": rows["at"].replace("", "any value").str.replace(
                             "-1 SD", "−1 SD").to_numpy(),
                         "Estimate [95% interval]": [_value(r, cols) for _, r in rows.iterrows()],
                         "Interval": [_WORDS[_sign(r, cols)] for _, r in rows.iterrows()]})


def simple_slopes_figure(effects: pd.DataFrame, path: str, moderator: str, *,
                         bayes: bool = False):
    """Predicted outcome against the focal predictor (both in SD units) at the moderator's
    mean and one SD either side: ``y = effect(w) * x + b_W * w`` with ``b_W`` the direct
    effect of the moderator on the outcome (0 without one), as seminr's
    ``slope_analysis``; a moderated direct path only."""
    rows = moderation_rows(effects)
    cols = _columns(rows, bayes)
    x_name, y_name = path.split(" -> ")
    main = effects[(effects["kind"] == "direct") & (effects["source"] == moderator)
                   & (effects["target"] == y_name)]
    b_w = float(main.iloc[0][cols[0]]) if len(main) else 0.0
    fig, ax = subplots(figsize=(5, 3.4))
    x = np.linspace(-2, 2, 5)
    for label, k, style in (("-1 SD", -1, "--"), ("mean", 0, "-"), ("+1 SD", 1, ":")):
        row = rows[(rows["path"] == path) & (rows["moderator"] == moderator)
                   & (rows["at"] == label) & (rows["kind"] == "conditional_direct")]
        if not len(row):
            continue
        slope = float(row.iloc[0][cols[0]])
        ax.plot(x, slope * x + b_w * k, style, color="black",
                label=f"{moderator} at {label.replace('-1', '−1')} (slope {fmt(slope)})")
    ax.set_xlabel(f"{x_name} (SD units)")
    ax.set_ylabel(f"{y_name} (predicted, SD units)")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def johnson_neyman_figure(table: pd.DataFrame):
    """The conditional effect against the moderator (SDs from its mean) with its interval
    band; shaded where the interval excludes 0, dotted lines at the Johnson-Neyman points
    (a table of :func:`connective.mediation.johnson_neyman`)."""
    fig, ax = subplots(figsize=(5, 3.4))
    z = table["z"].to_numpy()
    ax.fill_between(z, table["lower"], table["upper"], color="0.8", label="95% interval")
    ax.plot(z, table["est"], color="black", label="conditional effect")
    ax.axhline(0, color="0.3", lw=0.8)
    sig = table["excludes_zero"].to_numpy()
    if sig.any():
        lo, hi = ax.get_ylim()
        ax.fill_between(z, lo, hi, where=sig, color="tab:blue", alpha=0.12,
                        label="interval excludes 0")
        ax.set_ylim(lo, hi)
    for b in table.attrs.get("boundaries", []):
        ax.axvline(b, color="tab:blue", ls=":", lw=1)
    ax.set_xlabel(f"{table.attrs.get('moderator', 'moderator')} (SDs from its mean)")
    ax.set_ylabel(table.attrs.get("path", "effect").replace(" -> ", " → "))
    ax.legend(frameon=False, fontsize=9)
    fig.tight_layout()
    return fig


def region_text(table: pd.DataFrame) -> str:
    """Where the interval excludes 0, in SDs of the moderator, within the grid.

    >>> t = pd.DataFrame({"z": [-1.0, 0.0, 1.0, 2.0], "excludes_zero": [True, False, True, True]})
    >>> region_text(t)
    'z ≤ −1.00; 1.00 ≤ z'
    """
    z, sig = table["z"].to_numpy(), table["excludes_zero"].to_numpy()
    if sig.all():
        return f"everywhere in [{fmt(z[0])}, {fmt(z[-1])}]"
    if not sig.any():
        return f"nowhere in [{fmt(z[0])}, {fmt(z[-1])}]"
    parts, start = [], None
    for i, s in enumerate(list(sig) + [False]):
        if s and start is None:
            start = i
        if not s and start is not None:
            a, b = z[start], z[i - 1]
            parts.append(f"z ≤ {fmt(b)}" if start == 0 else
                         f"{fmt(a)} ≤ z" if i == len(z) else f"{fmt(a)} ≤ z ≤ {fmt(b)}")
            start = None
    return "; ".join(parts)


def add_moderation_section(doc, effects: pd.DataFrame, draws, *, bayes: bool,
                           fit: str | None = None, note: str = "",
                           unit: str = "SD of the moderator") -> None:
    """The moderation section (nothing without product terms or cross-level moderation):
    sentences, the tables of conditional effects and indices, and per moderated path the
    simple-slope figure (a direct path) and the Johnson-Neyman figure and region (when
    there are draws). ``unit``: what an index is the change per (a hierarchical model's
    group-level predictor W: ``unit of W``)."""
    from connective.mediation import johnson_neyman

    rows = moderation_rows(effects)
    if not len(rows):
        return
    doc.heading("Moderation")
    for text in moderation_sentences(effects, bayes):
        doc.paragraph(text)
    doc.table(conditional_table(effects, bayes), "Conditional effects at the moderator's "
              "values", name="conditional_effects", note=note, fit=fit)
    doc.table(index_table(effects, bayes), "Indices of moderation and of moderated mediation",
              name="moderation_indices", note=(
                  f"Index of moderation: the change of a direct effect per {unit} "
                  "(the product term's path). Index of moderated mediation (Hayes 2015): the "
                  f"change of an indirect effect per {unit}; when the moderator "
                  "moderates both stages it depends on the moderator's value."), fit=fit)
    regions = []
    # PLS: the lines through the full-sample estimates; Bayes: the draws' means
    estimate = None if bayes else effects.set_index("effect")["est"]
    pairs = rows[rows["kind"].isin(["conditional_direct", "conditional_indirect"])]
    for k, ((path, w), _) in enumerate(pairs.groupby(["path", "moderator"], sort=False)):
        slug = f"{k + 1}"
        if len(path.split(" -> ")) == 2:
            doc.figure(simple_slopes_figure(effects, path, w, bayes=bayes),
                       f"Simple slopes of {path.replace(' -> ', ' → ')} at {w}'s mean and one "
                       "SD either side.", name=f"simple_slopes_{slug}", fit=fit)
        if draws is None or f"{path} | {w} = mean" not in set(map(str, draws["effect"].values)):
            continue
        point = None
        if estimate is not None:
            import xarray as xr

            names = [f"{path} | {w} = {a}" for a in ("-1 SD", "mean", "+1 SD")]
            point = xr.DataArray(estimate.reindex(names).to_numpy(), dims="effect",
                                 coords={"effect": names})
        jn = johnson_neyman(draws, path, w, estimate=point)
        doc.figure(johnson_neyman_figure(jn), f"Johnson-Neyman plot: {path.replace(' -> ', ' → ')} "
                   f"against {w}; shaded where its 95% interval excludes 0.",
                   name=f"johnson_neyman_{slug}", fit=fit)
        regions.append({"Effect": path.replace(" -> ", " → "), "Moderator": w,
                        "95% interval excludes 0 where": region_text(jn),
                        "Johnson-Neyman points (SDs)": ", ".join(str(fmt(b)) for b in
                                                                 jn.attrs["boundaries"]) or "—"})
    if regions:
        doc.table(pd.DataFrame(regions), "Johnson-Neyman regions", name="johnson_neyman",
                  note=("z: the moderator's value in SDs from its mean; intervals from the "
                        + ("posterior draws" if bayes else "bootstrap replicates (percentile)")
                        + ", on a grid from −3 to 3 SD by 0.05."), fit=fit)


def moderation_comparison_table(table: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """The conditional rows of a comparison table (``compare_runs``): Bayes beside each
    PLS variant, with whether both intervals reach the same verdict.

    >>> t = pd.DataFrame({"effect": ["X -> Y | W = mean"], "kind": ["conditional_direct"],
    ...                   "bayes_est": [0.3], "bayes_lower": [0.1], "bayes_upper": [0.5],
    ...                   "PLS_est": [0.25], "PLS_lower": [-0.05], "PLS_upper": [0.5]})
    >>> moderation_comparison_table(t, ["PLS"]).iloc[0].tolist()
    ['X → Y | W = mean', '0.30 [0.10, 0.50]', '0.25 [−0.05, 0.50]', 'NO (+/0)']
    """
    rows = table[table["kind"].isin(CONDITIONAL_KINDS)]
    sign = lambda lo, hi: np.where(lo > 0, "+", np.where(hi < 0, "−", "0"))  # noqa: E731
    cols = {"Effect": rows["effect"].str.replace(" -> ", " → ").str.replace(
                "-1 SD", "−1 SD").to_numpy(),
            "Bayes (std.)": [fmt_estimate(r.bayes_est, r.bayes_lower, r.bayes_upper)
                             for r in rows.itertuples()]}
    b = sign(rows["bayes_lower"].to_numpy(), rows["bayes_upper"].to_numpy())
    for m in methods:
        cols[m] = [fmt_estimate(e, lo, hi) for e, lo, hi in
                   zip(rows[f"{m}_est"], rows[f"{m}_lower"], rows[f"{m}_upper"])]
        p = sign(rows[f"{m}_lower"].to_numpy(), rows[f"{m}_upper"].to_numpy())
        cols[f"same verdict ({m})"] = [f"{'yes' if x == y else 'NO'} ({x}/{y})"
                                       for x, y in zip(b, p)]
    return pd.DataFrame(cols)
