"""Posterior draws as lavaan-style tables: the parameter table (with std.lv, std.all and
their intervals, R-hat, ESS), the effects table, and the measurement parameters of a CFA.
Single-level and hierarchical results (:mod:`connective.bayes.group_results`) both use them,
so neither imports the other.

Example
-------
>>> table = parameter_table(idata, spec)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import xarray as xr

CI_LEVEL = 0.95


def parameter_draws(idata) -> xr.DataArray:
    """Draws of every free parameter on lavaan's scale: a DataArray (chain, draw, param)."""
    return idata.posterior["parameters"]


def _interval(x: np.ndarray, axis=(0, 1)) -> tuple[np.ndarray, np.ndarray]:
    a = (1 - CI_LEVEL) / 2
    return np.quantile(x, a, axis=axis), np.quantile(x, 1 - a, axis=axis)


def _diagnostics(da: xr.DataArray, dim: str) -> pd.DataFrame:
    import arviz as az

    ds = xr.Dataset({"v": da})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.DataFrame({
            "r_hat": az.rhat(ds)["v"].to_numpy(),
            "ess_bulk": az.ess(ds, method="bulk")["v"].to_numpy(),
            "ess_tail": az.ess(ds, method="tail")["v"].to_numpy()},
            index=da[dim].to_numpy())
    return out


def _std_summary(std_lv: np.ndarray, std_all: np.ndarray) -> dict[str, np.ndarray]:
    """The :data:`STD_COLUMNS` of draws (chain, draw, k): posterior means of std.lv and
    std.all, std.all's sd and 95% interval."""
    lo, hi = _interval(std_all)
    return {"std.lv": np.nanmean(std_lv, axis=(0, 1)), "std.all": std_all.mean((0, 1)),
            "std.all.se": std_all.std((0, 1), ddof=1), "std.all.lower": lo,
            "std.all.upper": hi}


def _std_columns(idata, names: list[str]) -> pd.DataFrame:
    """The :data:`STD_COLUMNS` of every named row (NaN where no std value is stored)."""
    post = idata.posterior
    out = pd.DataFrame(index=names, columns=STD_COLUMNS, dtype=float)
    known = [n for n in names if "std_param" in post.coords
             and n in set(post["std_param"].to_numpy())]
    if known:
        draws = [post[v].sel(std_param=known).transpose("chain", "draw", "std_param").to_numpy()
                 for v in ("std_lv", "std_all")]
        for key, values in _std_summary(*draws).items():
            out.loc[known, key] = values
    return out


#: the standardised columns of the parameter and effects tables
STD_COLUMNS = ["std.lv", "std.all", "std.all.se", "std.all.lower", "std.all.upper"]
#: the columns of an effects table
EFFECT_COLUMNS = ["effect", "kind", "source", "target", "est", "se", "ci.lower", "ci.upper",
                  "p_positive", *STD_COLUMNS, "r_hat", "ess_bulk", "ess_tail"]


def parameter_table(idata, spec) -> pd.DataFrame:
    """lavaan's layout: ``lhs, op, rhs, label, exo, est`` (posterior mean), ``se`` (posterior
    sd), ``ci.lower, ci.upper`` (95% equal-tailed), the standardised solution (posterior
    means of ``std.lv`` and ``std.all``, and std.all's sd and 95% interval, as lavaan's
    ``standardizedSolution()``), ``r_hat, ess_bulk, ess_tail``; fixed parameters and the
    fixed.x moments (``exo`` 1: the sample's values) have se 0 and no diagnostics.

    Example
    -------
    >>> parameter_table(idata, spec).columns.tolist()[:5]  # doctest: +SKIP
    ['lhs', 'op', 'rhs', 'label', 'exo']
    """
    draws = parameter_draws(idata).transpose("chain", "draw", "param")
    x = draws.to_numpy()
    lo, hi = _interval(x)
    names = list(draws.param.to_numpy())
    stats = pd.DataFrame({"est": x.mean((0, 1)), "se": x.std((0, 1), ddof=1),
                          "ci.lower": lo, "ci.upper": hi},
                         index=names).join(_diagnostics(draws, "param"))
    constant = np.ptp(x, axis=(0, 1)) == 0  # fixed.x moments and likelihood-fixed slots
    stats.loc[constant, ["se", "r_hat", "ess_bulk", "ess_tail"]] = [0.0, np.nan, np.nan, np.nan]
    rows = []
    table = spec.partable
    seen = set()
    for r in table.itertuples():
        if r.op == ":=":
            continue
        seen.add(r.name)
        base = dict(lhs=r.lhs, op=r.op, rhs=r.rhs, label=r.label, exo=int(r.exo), name=r.name)
        if r.free > 0:
            # rows sharing a label share the draws of the first row carrying it
            first = table[(table["free"] == r.free)].iloc[0]["name"]
            rows.append({**base, **stats.loc[first].to_dict()})
        elif r.name in stats.index:  # a fixed.x moment
            rows.append({**base, **stats.loc[r.name].to_dict()})
        else:
            v = float(r.ustart)
            rows.append({**base, "est": v, "se": 0.0, "ci.lower": v, "ci.upper": v,
                         "r_hat": np.nan, "ess_bulk": np.nan, "ess_tail": np.nan})
    for name in names:  # default intercepts
        if name not in seen and name.endswith("~1"):
            rows.append({"lhs": name[:-2], "op": "~1", "rhs": "", "label": "",
                         "exo": int(name[:-2] in spec.fixed_x), "name": name,
                         **stats.loc[name].to_dict()})
            seen.add(name)
    for v in spec.observed:  # intercepts fixed at 0 by the defaults (growth: int.ov.free off)
        if f"{v}~1" not in seen:
            rows.append({"lhs": v, "op": "~1", "rhs": "", "label": "", "exo": 0,
                         "name": f"{v}~1", "est": 0.0, "se": 0.0, "ci.lower": 0.0,
                         "ci.upper": 0.0, "r_hat": np.nan, "ess_bulk": np.nan,
                         "ess_tail": np.nan})
    if "thresholds" in idata.posterior:
        th = idata.posterior["thresholds"].transpose("chain", "draw", "threshold")
        t = th.to_numpy()
        tlo, thi = _interval(t)
        tdiag = _diagnostics(th, "threshold")
        for i, name in enumerate(th.threshold.to_numpy()):
            item, cut = str(name).split("|")
            rows.append({"lhs": item, "op": "|", "rhs": cut, "label": "", "exo": 0,
                         "name": str(name), "est": t[..., i].mean(), "se": t[..., i].std(ddof=1),
                         "ci.lower": tlo[i], "ci.upper": thi[i], **tdiag.loc[name].to_dict()})
    out = pd.DataFrame(rows)
    std = _std_columns(idata, out["name"].tolist())
    for col in STD_COLUMNS:
        out[col] = std[col].to_numpy()
    fx = effects_table(idata)
    defined = fx[fx["kind"] == "defined"]
    for _, r in defined.iterrows():
        expr = spec.partable[(spec.partable["op"] == ":=") & (spec.partable["lhs"] == r["effect"])]
        rhs = expr.iloc[0]["rhs"] if len(expr) else ""
        out.loc[len(out)] = {"lhs": r["effect"], "op": ":=", "rhs": rhs, "label": r["effect"],
                             "exo": 0, "name": r["effect"],
                             **{k: r[k] for k in ("est", "se", "ci.lower", "ci.upper")},
                             **{k: r.get(k, np.nan) for k in STD_COLUMNS},
                             **{k: r[k] for k in ("r_hat", "ess_bulk", "ess_tail")}}
    order = ["lhs", "op", "rhs", "label", "exo", "est", "se", "ci.lower", "ci.upper",
             *STD_COLUMNS, "r_hat", "ess_bulk", "ess_tail"]
    settings = json.loads(idata.posterior.attrs.get("settings", "{}"))
    printed = settings.get("data_options", {}).get("summary")
    if printed and not printed.get("means"):
        # a printed matrix without means: its moment-matched rows have means 0, so the
        # intercepts are no estimates of anything (lavaan fits no mean structure then)
        out = out[out["op"] != "~1"].reset_index(drop=True)
    return out[order]


def effects_table(idata, effects: xr.DataArray | None = None, *,
                  point: str = "mean") -> pd.DataFrame:
    """One row per effect: ``effect, kind, source, target, est, se, ci.lower, ci.upper,
    p_positive`` (posterior probability that the effect is positive), the effect of the
    standardised paths (``std.lv``, ``std.all`` with its sd and interval) and diagnostics;
    of the posterior's ``effects`` (in a hierarchical model: the population averages) or of
    the given ``effects`` draws (chain, draw, effect). A model without regressions or
    ``:=`` parameters (a CFA) has none: the table is empty. ``est`` is the posterior
    ``point``: mean (the run folder's) or median (a report's ``--point median``).

    Example
    -------
    >>> effects_table(idata).query("kind == 'indirect'")  # doctest: +SKIP
    """
    fx = idata.posterior["effects"] if effects is None else effects
    fx = fx.transpose("chain", "draw", "effect")
    if fx.sizes["effect"] == 0:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    x = fx.to_numpy()
    lo, hi = _interval(x)
    out = pd.DataFrame({"effect": fx.effect.to_numpy(), "kind": fx.kind.to_numpy(),
                        "source": fx.source.to_numpy(), "target": fx.target.to_numpy(),
                        "est": x.mean((0, 1)) if point == "mean" else np.median(x, (0, 1)),
                        "se": x.std((0, 1), ddof=1), "ci.lower": lo, "ci.upper": hi,
                        "p_positive": (x > 0).mean((0, 1))})
    if effects is None and "effects_std_all" in idata.posterior:
        draws = [idata.posterior[v].transpose("chain", "draw", "effect").to_numpy()
                 for v in ("effects_std_lv", "effects_std_all")]
        for key, values in _std_summary(*draws).items():
            out[key] = values
    diag = _diagnostics(fx.drop_vars(["kind", "source", "target"]), "effect")
    return pd.concat([out.reset_index(drop=True), diag.reset_index(drop=True)], axis=1)


def measurement_draws(spec, std_all: xr.DataArray) -> xr.DataArray:
    """Standardised loadings (kind ``loading``) and factor correlations (kind
    ``correlation``) of a posterior's ``std_all``, labelled as effects are (``effect`` is
    the parameter's name, ``source`` and ``target`` its two sides), so that the comparison
    with PLS takes them as it takes effects."""
    rows = spec.partable.set_index("name").loc[spec.measurement_parameters].reset_index()
    draws = std_all.sel(std_param=rows["name"].tolist()).rename(std_param="effect")
    return draws.assign_coords(kind=("effect", np.where(rows["op"] == "=~", "loading",
                                                        "correlation")),
                               source=("effect", rows["lhs"].to_numpy()),
                               target=("effect", rows["rhs"].to_numpy()))


def interaction_draws(spec, std_all: xr.DataArray) -> xr.DataArray:
    """Standardised latent interactions (kind ``interaction``, ``gamma sd(a) sd(b) / sd(y)``,
    :mod:`connective.bayes.interaction`) of a posterior's ``std_all``, labelled as effects
    are (``effect`` the parameter's name, ``source`` the product, ``target`` the outcome)."""
    terms = spec.latent_interactions
    draws = std_all.sel(std_param=[i.name for i in terms]).rename(std_param="effect")
    return draws.assign_coords(kind=("effect", ["interaction"] * len(terms)),
                               source=("effect", [i.product for i in terms]),
                               target=("effect", [i.outcome for i in terms]))
