"""Results of a hierarchical model, per draw: population-average effects, each group's
effects, effects at the levels of a group-level predictor, the per-respondent
log-likelihood under each group's parameters, and tables of them.

The population-average effect is the expectation over groups (:func:`connective.effects.
population_effects`): ``mu_a mu_b + cov(a_g, b_g)`` for a product of two varying paths.
Group effects go through :func:`connective.effects.compute_effects`, the one algebra of
every engine.

Example
-------
>>> fit = connective.bayes.fit(spec, frame, group="organisation", seed=1)  # doctest: +SKIP
>>> group_effects_table(fit.idata).query("effect == 'CI -> CID -> OCA'")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from connective.bayes.likelihood import pointwise_loglik, ppp, subset
from connective.bayes.tables import _interval, effects_table
from connective.bayes.matrices import implied_moments
from connective.effects import (compute_effects, moderated_arrows, population_effects,
                                with_conditional_effects)


def between_group_covariance(post) -> xr.DataArray:
    """Draws of the between-group covariance of the varying effects (chain, draw,
    varying, varying_), from their SDs and (if estimated) correlations.

    Example
    -------
    >>> post = xr.Dataset({"group_sd": (("chain", "draw", "varying"), [[[0.1, 0.2]]])},
    ...                   coords={"varying": ["a", "b"]})
    >>> between_group_covariance(post).values[0, 0].round(3).tolist()
    [[0.01, 0.0], [0.0, 0.04]]
    """
    sd = post["group_sd"].transpose("chain", "draw", "varying")
    names = list(sd.varying.to_numpy())
    s = sd.to_numpy()
    if "group_corr" in post:
        corr = post["group_corr"].transpose("chain", "draw", "varying", "varying_").to_numpy()
    else:
        corr = np.broadcast_to(np.eye(len(names)), s.shape + (len(names),))
    cov = s[..., :, None] * corr * s[..., None, :]
    return xr.DataArray(cov, dims=("chain", "draw", "varying", "varying_"),
                        coords={"chain": sd.chain, "draw": sd.draw, "varying": names,
                                "varying_": names})


def group_values(post) -> xr.DataArray:
    """Each group's parameter values (chain, draw, group, param)."""
    return post["group_parameters"].rename(group_param="param").transpose(
        "chain", "draw", "group", "param")


def cross_level_values(spec, design, theta: xr.DataArray, coef: xr.DataArray
                       ) -> tuple[xr.DataArray, dict, dict]:
    """A hierarchical model's cross-level moderation as the effects algebra takes product
    terms: ``(values, moderated, moderators)`` for
    :func:`connective.effects.conditional_effects`.

    The mean of a group's path is ``theta + gamma w`` (``w`` the coded group-level
    predictor: a numeric one centred on its mean over groups, two levels -1/2 and +1/2), so
    W moderates every varying path with the coefficient ``gamma``. In W's own metric (a
    numeric predictor's values as in the data) the path at W = 0 is ``theta - gamma c``
    (``c`` the centre); the coefficients enter ``values`` as ``<path>:<W>``, W's mean and
    SD are those over groups. Paths that do not vary, or intercepts, are not moderated.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> from connective.bayes.groups import GroupDesign
    >>> spec = parse_model("M ~ X\\nY ~ M + X")
    >>> design = GroupDesign("g", list("abcd"), np.arange(4), ["M~X"], predictor="size",
    ...                      predictor_values=np.array([-1.5, -0.5, 0.5, 1.5]),
    ...                      predictor_center=10.0)
    >>> theta = xr.DataArray([0.5, 0.4, 0.1], dims="param",
    ...                      coords={"param": ["M~X", "Y~M", "Y~X"]})
    >>> coef = xr.DataArray([0.2], dims="param", coords={"param": ["M~X"]})
    >>> values, moderated, moderators = cross_level_values(spec, design, theta, coef)
    >>> round(float(values.sel(param="M~X")), 6), moderated
    (-1.5, {'size': [('X', 'M', 'M~X:size', 1.0)]})
    """
    w = design.predictor
    arrows = {name: (src, tgt) for src, tgt, name in spec.arrows}
    names = [n for n in map(str, coef.param.to_numpy()) if n in arrows]
    gamma = coef.sel(param=names)
    base = theta - (design.predictor_center * gamma).reindex(param=theta.param, fill_value=0.0)
    products = gamma.assign_coords(param=[f"{n}:{w}" for n in names])
    values = xr.concat([base, products], dim="param").transpose(..., "param")
    moderated = {w: [(*arrows[n], f"{n}:{w}", 1.0) for n in names]}
    coded = np.asarray(design.predictor_values, dtype=float)
    sd = float(np.std(coded, ddof=1)) if len(coded) > 1 else 1.0
    moderators = {w: (design.predictor_center + float(coded.mean()), sd)}
    return values, moderated, moderators


def cross_level_effects(spec, design, theta: xr.DataArray, coef: xr.DataArray,
                        effects: xr.DataArray, *, at=None) -> xr.DataArray:
    """``effects`` followed by the conditional-effect rows of the model's product terms and
    of its cross-level moderation (:func:`cross_level_values`): conditional direct and
    indirect effects at W's mean over groups and one SD either side (or at the values
    ``at``, in W's metric), indices of moderation and of moderated mediation, through the
    one algebra (:func:`connective.effects.with_conditional_effects`). The conditional
    indirect effect is that of a group whose paths are at their mean given W (the product
    of the mean paths); for a path of two arrows the population average over such groups
    adds cov(a_g, b_g), which does not depend on W, so the indices and differences are the
    same for either (longer paths' covariance terms depend on W).

    Example
    -------
    >>> fx = cross_level_effects(spec, design, theta, coef, effects)  # doctest: +SKIP
    >>> fx.sel(effect="index of moderated mediation X -> M -> Y by size")  # doctest: +SKIP
    """
    values, moderated, moderators = cross_level_values(spec, design, theta, coef)
    own = moderated_arrows(spec)  # observed product terms of the model itself
    for v, edges in own.items():
        moderated.setdefault(v, []).extend(edges)
    w = design.predictor
    return with_conditional_effects(spec, effects, values, moderated=moderated,
                                    moderators=moderators,
                                    at=None if at is None else {w: list(at)})


def add_group_effects(idata, spec, design, *, at=None) -> xr.DataArray:
    """Add ``group_effects`` (and, with a group-level predictor, ``level_effects`` and
    ``level_difference``) to the posterior; returns the population-average effects, which
    the caller stores as ``effects``. With a group-level predictor W the population effects
    are followed by the cross-level conditional effects (:func:`cross_level_effects`, at W's
    values ``at`` or its mean +- 1 SD over groups), and so are the standardised effects
    (``effects_std_lv``, ``effects_std_all``: paths and their W coefficients scaled by
    sd(x) / sd(y), W in its own metric)."""
    post = idata.posterior
    theta = post["parameters"].transpose("chain", "draw", "param")
    cov = between_group_covariance(post) if "group_sd" in post else None
    post["group_effects"] = compute_effects(spec, group_values(post)).transpose(
        "chain", "draw", "group", "effect")
    if cov is None:  # only residual scales vary: the effects are the population's
        return compute_effects(spec, theta).transpose("chain", "draw", "effect")
    if design.predictor is None:
        return population_effects(spec, theta, cov).transpose("chain", "draw", "effect")
    coef = post["group_coef"].rename(varying="param")
    cache: dict[float, xr.DataArray] = {}  # population effects at a predictor value

    def effects_at(w: float) -> xr.DataArray:
        if w not in cache:
            shifted = theta + (w * coef).reindex(param=theta.param, fill_value=0.0)
            cache[w] = population_effects(spec, shifted, cov)
        return cache[w]

    # two levels: the reported levels are the groups' own predictor values, computed once
    names = list(design.level_codes())
    level = xr.concat([effects_at(code) for code in design.level_codes().values()],
                      dim=xr.DataArray(names, dims="level", name="level"))
    post["level_effects"] = level.transpose("chain", "draw", "level", "effect")
    post["level_difference"] = (level.isel(level=-1) - level.isel(level=0)).transpose(
        "chain", "draw", "effect")
    # the population average over the groups' predictor values
    values, counts = np.unique(design.predictor_values, return_counts=True)
    effects = sum(count / counts.sum() * effects_at(float(w)) for w, count in zip(values, counts))
    effects = effects.transpose("chain", "draw", "effect")
    if not any(name in set(map(str, coef.param.to_numpy())) for _, _, name in spec.arrows):
        return effects  # only intercepts vary: W moderates no path
    full = cross_level_effects(spec, design, theta, coef, effects, at=at).transpose(
        "chain", "draw", "effect")
    _widen_effects(idata, full, _standardised_cross_level(post, spec, design, theta, coef, at))
    return full


def _widen_effects(idata, full: xr.DataArray, standardised: dict) -> None:
    """Give the posterior's ``effect`` dimension the rows of ``full`` (the cross-level
    conditional rows appended): a Dataset holds one index per dimension, so the group and
    level effects, which have no conditional rows, are padded with NaN there (their tables
    leave those rows out) and the standardised effects are replaced by ``standardised``."""
    post = idata.posterior
    labels = ("kind", "source", "target", "moderator", "at")  # the effect rows' coordinates
    by_effect = [v for v in post.data_vars if "effect" in post[v].dims]
    kept = {v: post[v].drop_vars([c for c in post[v].coords if c in labels])
            for v in by_effect if v not in standardised}
    post = post.drop_vars(by_effect + [c for c in ("effect", *labels) if c in post.coords])
    coords = {c: full[c] for c in ("effect", *labels)}
    for name, fx in standardised.items():
        post[name] = fx.assign_coords(coords)
    for name, fx in kept.items():
        post[name] = fx.reindex(effect=full.effect.values).assign_coords(coords)
    idata.posterior = post


def _base_rows(fx: xr.DataArray) -> xr.DataArray:
    """The rows of ``fx`` that are not conditional (NaN-padded in a group or level effect)."""
    if "moderator" not in fx.coords:
        return fx
    return fx.isel(effect=np.flatnonzero(fx["moderator"].values == ""))


def _standardised_cross_level(post, spec, design, theta, coef, at) -> dict:
    """The standardised effects with their cross-level rows (by variable name): a path and its W
    coefficient times sd(x) / sd(y) of the population model (``sd_structural``; std.lv:
    of the latent variables only), W in its own metric, so the rows line up with the
    unstandardised ones."""
    source = {name: src for src, _, name in spec.arrows}
    target = {name: tgt for _, tgt, name in spec.arrows}
    names = [n for n in map(str, coef.param.to_numpy()) if n in source]
    out = {}
    for key in ("std_lv", "std_all"):
        if f"effects_{key}" not in post:
            continue

        def sd(v: str):  # std.lv scales the latent variables only (lavaan)
            if key == "std_lv" and v not in spec.latent:
                return 1.0
            return post["sd_structural"].sel(structural=v, drop=True)

        ratio = xr.concat([xr.DataArray(sd(source[n]) / sd(target[n])) for n in names],
                          dim=xr.DataArray(names, dims="param", name="param"))
        std = post[key].rename(std_param="param")
        fx = _base_rows(post[f"effects_{key}"])  # the model's own product terms: anew
        if "moderator" in fx.coords:
            fx = fx.drop_vars(["moderator", "at"])
        scaled = (coef.sel(param=names) * ratio).transpose("chain", "draw", "param")
        out[f"effects_{key}"] = cross_level_effects(
            spec, design, std, scaled, fx, at=at).transpose("chain", "draw", "effect")
    return out


def _group_moments(bm, post):
    """(group index, its rows, implied mean, implied covariance per draw), one group at a
    time: all groups at once would hold chain x draw x groups x p x p numbers."""
    values = group_values(post)
    for g, name in enumerate(values.group.to_numpy()):
        mu, sigma = implied_moments(bm.group_layout, values.sel(group=name).to_numpy())
        yield g, np.flatnonzero(bm.groups.index == g), mu, sigma


def grouped_pointwise_loglik(bm, post) -> np.ndarray:
    """Per-respondent log-likelihood under the respondent's own group's parameters."""
    out = np.empty((post.sizes["chain"], post.sizes["draw"], bm.stats.n))
    for _, rows, mu, sigma in _group_moments(bm, post):
        out[..., rows] = pointwise_loglik(subset(bm.stats, rows), mu, sigma)
    return out


def grouped_ppp(bm, post, rng: np.random.Generator):
    """PPP of the chi-square discrepancy summed over groups, or None when a group has no
    more respondents than variables (its sample covariance is singular, so its discrepancy
    is not finite) or predictors were centred within groups (their group means are 0 by
    construction, which replicated data would not share)."""
    design = bm.groups
    if design.sizes.min() <= len(bm.layout.observed) or design.centered:
        return None
    obs = rep = 0.0
    for _, rows, mu, sigma in _group_moments(bm, post):
        _, o, r = ppp(subset(bm.stats, rows), mu, sigma, rng)
        obs, rep = obs + o, rep + r
    return float(np.mean(rep >= obs)), obs, rep


# -- tables --------------------------------------------------------------------------------

def _summarise(x: np.ndarray, point: str = "mean") -> dict:

    lo, hi = _interval(x)
    est = x.mean((0, 1)) if point == "mean" else np.median(x, (0, 1))
    return {"est": est, "se": x.std((0, 1), ddof=1), "ci.lower": lo, "ci.upper": hi}


def group_effects_table(idata, point: str = "mean") -> pd.DataFrame:
    """One row per group and effect: ``group, effect, kind, source, target, est, se,
    ci.lower, ci.upper, p_positive``.

    Example
    -------
    >>> group_effects_table(fit.idata).columns.tolist()[:3]  # doctest: +SKIP
    ['group', 'effect', 'kind']
    """

    fx = _base_rows(idata.posterior["group_effects"])
    parts = []
    for g in fx.group.to_numpy():
        table = effects_table(idata, fx.sel(group=g, drop=True), point=point)
        table.insert(0, "group", g)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def level_effects_table(idata, point: str = "mean") -> pd.DataFrame:
    """Population effects at each level of the group-level predictor and their difference
    (last level minus first), one row per level and effect (``est``: posterior ``point``)."""

    post = idata.posterior
    level_fx = _base_rows(post["level_effects"])
    parts = []
    for level in level_fx.level.to_numpy():
        table = effects_table(idata, level_fx.sel(level=level, drop=True), point=point)
        table.insert(0, "level", level)
        parts.append(table)
    levels = list(level_fx.level.to_numpy())
    table = effects_table(idata, _base_rows(post["level_difference"]), point=point)
    table.insert(0, "level", f"{levels[-1]} - {levels[0]}")
    parts.append(table)
    return pd.concat(parts, ignore_index=True)


def between_groups_table(idata, point: str = "mean") -> pd.DataFrame:
    """One row per varying effect: its population value, between-group SD and (with a
    group-level predictor) the predictor's coefficient, each with its 95% interval; then
    residual log-scale SDs and, under approximate invariance, each loading's and
    intercept's largest group deviation.

    Example
    -------
    >>> between_groups_table(fit.idata).columns.tolist()[:2]  # doctest: +SKIP
    ['parameter', 'quantity']
    """
    post = idata.posterior
    rows = []

    def add(name: str, quantity: str, x: np.ndarray) -> None:
        rows.append({"parameter": name, "quantity": quantity,
                     **{k: float(np.ravel(v)[0]) for k, v in
                        _summarise(x[..., None], point).items()}})

    if "group_sd" in post:
        theta = post["parameters"]
        for name in post["group_sd"].varying.to_numpy():
            if name in theta.param:
                add(name, "population value", theta.sel(param=name).to_numpy())
            add(name, "between-group SD", post["group_sd"].sel(varying=name).to_numpy())
            if "group_coef" in post:
                add(name, "group-level predictor effect",
                    post["group_coef"].sel(varying=name).to_numpy())
    if "residual_log_sd" in post:
        for name in post["residual_log_sd"].residual.to_numpy():
            add(name, "between-group SD of the log residual SD",
                post["residual_log_sd"].sel(residual=name).to_numpy())
    if "invariance_deviation" in post:
        dev = post["invariance_deviation"]
        for name in dev.invariant.to_numpy():
            add(name, "largest group deviation (invariance)",
                np.abs(dev.sel(invariant=name)).max("group").to_numpy())
    return pd.DataFrame(rows)
