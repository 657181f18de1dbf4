"""Prior sensitivity: power-scaling (Kallioinen, Paananen, Bürkner & Vehtari 2023, ArviZ's
``psens``) on this model's own log prior and log likelihood, and refits under another prior
set side by side (``fit --sensitivity``).

Power-scaling raises the prior (or the likelihood) to a power alpha near 1 by importance
weighting the draws, and measures how far each posterior moves (the derivative of the
cumulative Jensen-Shannon distance at alpha = 1). As in priorsense, a prior sensitivity of
0.05 or more flags the quantity as *prior-sensitive*, a likelihood sensitivity below 0.05 as
*likelihood-weak*; both together read as a possible prior-data conflict when the likelihood
is sensitive too (prior-sensitive and likelihood-sensitive), or as a strong prior on a weak
likelihood (prior-sensitive, likelihood-weak).

The log prior per draw (the ``log_prior`` group) is PyMC's density of every sampled
variable at its draw (``pm.compute_log_prior``: on the scale each prior is stated, without
the sampler's Jacobians) plus the potential of the ``[std]`` priors
(:mod:`connective.bayes.std_priors`); the log likelihood is the per-respondent one the fit
already keeps.

Example
-------
>>> table = power_scaling(result.idata)  # doctest: +SKIP
>>> table.loc[table["prior_sensitive"], "name"].tolist()  # doctest: +SKIP
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

#: priorsense's threshold of both diagnostics
THRESHOLD = 0.05


def add_log_prior(idata, bm) -> None:
    """Add the ``log_prior`` group to ``idata`` (in place), from the sampled variables still
    in its posterior: call before :func:`~connective.bayes.results.augment` tidies them.
    Densities added as Potentials are not counted: an ordinal model's cutpoint priors and
    its whitened factor scores' N(0, I) (bayes/ordinal.whitened_scores)."""
    import pymc as pm

    from connective.bayes.std_priors import std_density_function

    names = [v.name for v in bm.model.free_RVs]
    initial = dict(bm.model.rvs_to_initial_values)
    try:
        # PyMC cannot copy a model with starting values set; they play no part in densities
        bm.model.rvs_to_initial_values.update(dict.fromkeys(initial))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lp = pm.compute_log_prior(idata, model=bm.model, var_names=names,
                                      extend_inferencedata=False, progressbar=False)
    finally:
        bm.model.rvs_to_initial_values.update(initial)
    total = sum(lp[n].sum([d for d in lp[n].dims if d not in ("chain", "draw")])
                for n in names)
    if "std_prior" in {p.name for p in bm.model.potentials}:
        layout = bm.layout
        slots = [k for k, p in enumerate(layout.params)
                 if bm.priors.get(p.name, "").endswith("[std]")]
        from connective.bayes.priors import parse_prior

        fn = std_density_function(bm.spec, layout, slots,
                                  [parse_prior(bm.priors[layout.params[k].name])
                                   for k in slots])
        theta = idata.posterior["parameters"].transpose("chain", "draw", "param").to_numpy()
        values = np.array([[fn(t) for t in chain] for chain in theta])
        total = total + xr.DataArray(values, dims=("chain", "draw"),
                                     coords={"chain": lp.chain, "draw": lp.draw})
    group = xr.Dataset({"prior": total})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "log_prior" in idata.groups():
            del idata.log_prior
        idata.add_groups({"log_prior": group})


def power_scaling(idata, *, effects: bool = True) -> pd.DataFrame:
    """Prior and likelihood power-scaling sensitivity of every free parameter (and, with
    ``effects``, every effect and its standardised value), flagged as in the module
    docstring. Needs the ``log_prior`` group (:func:`add_log_prior`)."""
    import arviz as az

    if "log_prior" not in idata.groups():
        raise ValueError("no log_prior group: fit with log_prior=True")
    names = ["parameters"] + ([v for v in ("effects", "effects_std_all")
                               if v in idata.posterior] if effects else [])
    # a measurement model has no effects: an empty variable would break psens
    post = idata.posterior[[v for v in names if idata.posterior[v].size]]
    # fixed values (fixed.x moments, ordinal constants) have no posterior to move
    sd = post["parameters"].std(("chain", "draw"))
    post = post.sel(param=sd["param"][sd > 0].values)
    data = az.InferenceData(posterior=post, log_prior=idata.log_prior,
                            log_likelihood=idata.log_likelihood)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prior = az.psens(data, component="prior")
        lik = az.psens(data, component="likelihood")
    rows = []
    for var, dim, kind in (("parameters", "param", "parameter"), ("effects", "effect", "effect"),
                           ("effects_std_all", "effect", "effect (std.all)")):
        if var not in prior:
            continue
        for name in prior[var][dim].values:
            p = float(prior[var].sel({dim: name}))
            ll = float(lik[var].sel({dim: name}))
            rows.append({"name": str(name), "kind": kind, "prior_sensitivity": p,
                         "likelihood_sensitivity": ll})
    out = pd.DataFrame(rows)
    out["prior_sensitive"] = out["prior_sensitivity"] >= THRESHOLD
    out["likelihood_weak"] = out["likelihood_sensitivity"] < THRESHOLD
    out["diagnosis"] = [diagnosis(p, w) for p, w in zip(out["prior_sensitive"],
                                                       out["likelihood_weak"])]
    return out


def diagnosis(prior_sensitive: bool, likelihood_weak: bool) -> str:
    """priorsense's reading of the two flags.

    >>> diagnosis(True, False)
    'prior-data conflict?'
    """
    if prior_sensitive and not likelihood_weak:
        return "prior-data conflict?"
    if prior_sensitive:
        return "strong prior, weak likelihood?"
    if likelihood_weak:
        return "likelihood-weak"
    return ""


def compare_fits(reference, other, *, labels=("default", "chosen"), prob: float = 0.95
                 ) -> pd.DataFrame:
    """Effects of two fits side by side (``fit --sensitivity``): each effect's posterior mean
    and equal-tailed interval under both, the shift of the mean in the reference's posterior
    SDs, the change of the interval's width (ratio), and whether the mediation verdict (the
    interval excludes 0) changes.

    Example
    -------
    >>> compare_fits(default_fit, simca_fit)  # doctest: +SKIP
    """
    lo, hi = (1 - prob) / 2, 1 - (1 - prob) / 2
    a, b = labels
    rows = []
    for var, scale in (("effects", "raw"), ("effects_std_all", "std.all")):
        if var not in reference.idata.posterior or var not in other.idata.posterior:
            continue
        fa, fb = reference.idata.posterior[var], other.idata.posterior[var]
        for name in fa["effect"].values:
            if name not in fb["effect"].values:
                continue
            xa = fa.sel(effect=name).values.ravel()
            xb = fb.sel(effect=name).values.ravel()
            qa, qb = np.quantile(xa, [lo, hi]), np.quantile(xb, [lo, hi])
            ex_a, ex_b = bool(qa[0] > 0 or qa[1] < 0), bool(qb[0] > 0 or qb[1] < 0)
            sd_a = xa.std()
            rows.append({"effect": str(name), "scale": scale,
                         f"mean_{a}": xa.mean(), f"lower_{a}": qa[0], f"upper_{a}": qa[1],
                         f"mean_{b}": xb.mean(), f"lower_{b}": qb[0], f"upper_{b}": qb[1],
                         "shift_in_sd": (xb.mean() - xa.mean()) / sd_a if sd_a > 0 else np.nan,
                         "width_ratio": (qb[1] - qb[0]) / (qa[1] - qa[0])
                         if qa[1] > qa[0] else np.nan,
                         f"excludes_0_{a}": ex_a, f"excludes_0_{b}": ex_b,
                         "verdict_changes": ex_a != ex_b})
    return pd.DataFrame(rows)
