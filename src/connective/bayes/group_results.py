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
from connective.effects import compute_effects, population_effects


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


def add_group_effects(idata, spec, design) -> xr.DataArray:
    """Add ``group_effects`` (and, with a group-level predictor, ``level_effects`` and
    ``level_difference``) to the posterior; returns the population-average effects, which
    the caller stores as ``effects``."""
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
    at: dict[float, xr.DataArray] = {}  # population effects at a predictor value

    def effects_at(w: float) -> xr.DataArray:
        if w not in at:
            shifted = theta + (w * coef).reindex(param=theta.param, fill_value=0.0)
            at[w] = population_effects(spec, shifted, cov)
        return at[w]

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
    return effects.transpose("chain", "draw", "effect")


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

    fx = idata.posterior["group_effects"]
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
    parts = []
    for level in post["level_effects"].level.to_numpy():
        table = effects_table(idata, post["level_effects"].sel(level=level, drop=True),
                              point=point)
        table.insert(0, "level", level)
        parts.append(table)
    levels = list(post["level_effects"].level.to_numpy())
    table = effects_table(idata, post["level_difference"], point=point)
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
