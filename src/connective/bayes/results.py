"""From posterior draws to results: standardised solution and effects per draw, the
per-respondent log-likelihood (for LOO), the posterior predictive p-value, lavaan-style tables,
and saving (netcdf with the run's provenance in its attrs, CSV tables, summary.json).

Example
-------
>>> fit = BayesFit.load("out/posterior.nc")  # doctest: +SKIP
>>> fit.parameters().head()  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from connective.bayes import group_results
from connective.bayes.fit_indices import add_independence_model
from connective.bayes.likelihood import pointwise_loglik, ppp
from connective.bayes.matrices import implied_moments, standardized_solution
from connective.bayes.model import BayesModel, improper_share
from connective.bayes.ordinal import SCORE_VARIABLES
from connective.bayes.tables import _diagnostics, effects_table, parameter_draws, parameter_table
from connective.effects import compute_effects, with_conditional_effects
from connective.io import atomic_path, atomic_write_csv, atomic_write_json

def augment(idata, bm: BayesModel, *, seed: int | None = None, label: dict | None = None):
    """Add to ``idata`` (in place, returned too): ``std_all`` and ``effects`` in the posterior,
    the per-respondent ``log_likelihood``, the chi-square discrepancies and PPP, the priors
    and the run label in the attrs.

    Example
    -------
    >>> idata = augment(sample(bm, seed=1), bm, seed=1)  # doctest: +SKIP
    """
    draws = parameter_draws(idata)
    theta = draws.transpose("chain", "draw", "param").to_numpy()
    layout = bm.layout
    if bm.interactions:  # moments with the products' variance (bayes/interaction.py)
        from connective.bayes.interaction import implied_moments_with_products

        mu, sigma, cov_eta = implied_moments_with_products(bm.spec, layout, theta)
    else:
        mu, sigma, cov_eta = implied_moments(layout, theta, structural=True)
    lead = {"chain": draws.chain, "draw": draws.draw}
    # lavaan's standardizedSolution per draw, of every row of the table (rows that share a
    # label have their own std values), and the effects of the standardised paths
    solution = standardized_solution(bm.spec, layout, theta)
    for key in ("std.lv", "std.all"):
        std = xr.DataArray(solution[key], dims=("chain", "draw", "std_param"),
                           coords={**lead, "std_param": solution["names"]})
        name = key.replace(".", "_")
        idata.posterior[name] = std
        values = std.rename(std_param="param")
        # moderators in the standardised metric: mean 0, SD 1 (as PLS's scores)
        fx_std = with_conditional_effects(bm.spec, compute_effects(bm.spec, values), values)
        idata.posterior[f"effects_{name}"] = fx_std.transpose("chain", "draw", "effect")
    idata.posterior["sd_observed"] = xr.DataArray(
        np.sqrt(np.diagonal(sigma, axis1=-2, axis2=-1)), dims=("chain", "draw", "observed"),
        coords={**lead, "observed": list(layout.observed)})
    idata.posterior["sd_structural"] = xr.DataArray(
        np.sqrt(np.diagonal(cov_eta, axis1=-2, axis2=-1)), dims=("chain", "draw", "structural"),
        coords={**lead, "structural": list(layout.structural)})
    ordinal = bm.likelihood == "ordinal"
    conditional = ordinal or bm.interactions  # a likelihood given sampled factor scores
    grouped = bm.groups is not None
    if grouped:
        idata.posterior["effects"] = group_results.add_group_effects(idata, bm.spec, bm.groups)
    else:
        fx = with_conditional_effects(bm.spec, compute_effects(bm.spec, draws), draws,
                                      moderators=_moderator_moments(bm, mu, idata.posterior))
        idata.posterior["effects"] = fx.transpose("chain", "draw", "effect")
    conditional_ll, marginal = None, None
    if conditional:  # given the respondent's factor scores, summed over answered items
        conditional_ll = idata.posterior["loglik_respondent"].transpose(
            "chain", "draw", "respondent").to_numpy()
        ll = conditional_ll
        # LOO's: the factor scores integrated out (ordinal and latent-interaction models; a
        # streamed ordinal trace had it computed from the store, before its scores were
        # dropped: bayes/sample.py)
        if "factor_scales" in idata.posterior and "z" in idata.posterior:
            started = time.perf_counter()
            if bm.interactions:
                from connective.bayes.interaction_marginal import interaction_marginal_draws

                marginal = interaction_marginal_draws(idata.posterior, bm, theta,
                                                      seed=marginal_seed(seed))
            else:
                marginal = ordinal_marginal_draws(idata.posterior, bm, seed=marginal_seed(seed))
            seconds = time.perf_counter() - started
            ll = marginal.loglik.reshape(conditional_ll.shape)
        elif STREAMED_MARGINAL[0] in idata.posterior:
            marginal, seconds = streamed_marginal(idata)
            ll = marginal.loglik.reshape(conditional_ll.shape)
    elif grouped:
        ll = group_results.grouped_pointwise_loglik(bm, idata.posterior)
    else:
        ll = pointwise_loglik(bm.stats, mu, sigma)
    _tidy_posterior(idata)
    coords = {"chain": draws.chain, "draw": draws.draw,
              "respondent": np.arange(bm.stats.n)}
    ll_ds = xr.Dataset({"y": xr.DataArray(ll, dims=("chain", "draw", "respondent"),
                                          coords=coords)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "log_likelihood" in idata.groups():
            del idata.log_likelihood
        idata.add_groups({"log_likelihood": ll_ds})
        if conditional_ll is not None:  # kept beside LOO's for comparison (connective loo)
            idata.add_groups({CONDITIONAL_GROUP: xr.Dataset({"y": xr.DataArray(
                conditional_ll, dims=("chain", "draw", "respondent"), coords=coords)})})
    attrs = {"likelihood": bm.likelihood,
             "loglik": "marginal" if marginal is not None or not conditional else "conditional"}
    if marginal is not None:
        attrs["marginal_error"] = json.dumps({**marginal.error_summary(),
                                              "seconds": round(seconds, 2)})
    rng = np.random.default_rng(None if seed is None else seed + 7919)
    checked = None
    if grouped:
        attrs["groups"] = json.dumps(bm.groups.describe())
    if grouped and not ordinal:
        checked = group_results.grouped_ppp(bm, idata.posterior, rng)
    elif bm.interactions:
        attrs["ppp_discrepancy"] = ("not computed: with a latent interaction the answers are "
                                    "not multivariate normal, so the chi-square of sufficient "
                                    "statistics does not apply; the log-likelihood is "
                                    "conditional on the factor scores (LOO needs the marginal "
                                    "one)")
    elif not ordinal:  # missing answers: the chi-squares of the missingness patterns
        checked = ppp(bm.stats, mu, sigma, rng)
        attrs["ppp_discrepancy"] = ("chi-square" if bm.stats.complete
                                    else "chi-square by missingness pattern")
    else:
        attrs["ppp_discrepancy"] = ("not computed here: the ordinal likelihood has no "
                                    "chi-square of sufficient statistics; the report's item "
                                    "checks replicate the answers and give the PPP of the "
                                    "item correlations")
    if checked is not None:
        value, obs, rep = checked
        disc = xr.Dataset({"chisq_obs": (("chain", "draw"), obs),
                           "chisq_rep": (("chain", "draw"), rep)},
                          coords={"chain": draws.chain, "draw": draws.draw})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata.add_groups({"discrepancy": disc})
        attrs["ppp"] = value
        if not grouped:  # the baseline of the incremental fit indices (bayes/fit_indices.py)
            add_independence_model(idata, bm.stats, np.random.default_rng(
                None if seed is None else seed + 104729))
    improper = improper_share(layout, theta)
    if any(improper.values()):
        worst = max(improper, key=improper.get)
        warnings.warn(f"{improper[worst]:.1%} of the draws have a (residual) covariance matrix "
                      f"of {worst} that is not positive definite (a Heywood-type case, as "
                      "lavaan warns); the likelihood stays proper, but check those "
                      "covariances or drop one of them", UserWarning, stacklevel=2)
    attrs["improper_blocks"] = json.dumps(improper)
    attrs["priors"] = json.dumps(bm.priors)
    attrs["observed"] = json.dumps(list(layout.observed))
    attrs.update(label_attrs(label))
    idata.posterior.attrs.update(attrs)
    return idata


def label_attrs(label: dict | None) -> dict:
    """The run label (:func:`connective.provenance.run_label`) as posterior attrs: the whole
    label as JSON, and its model, data, fingerprint, seed, model text and settings apart.

    Example
    -------
    >>> label_attrs({"model": "m.lav", "seed": 3, "synthetic_data": True})["synthetic_data"]
    1
    """
    if not label:
        return {}
    attrs = {"connective": json.dumps(label, default=str)}
    for key in ("model", "model_sha256", "data", "data_fingerprint", "seed", "synthetic_data"):
        if label.get(key) is not None:
            attrs[key] = label[key] if not isinstance(label[key], bool) else int(label[key])
    attrs["model_text"] = label.get("model_text", "")
    attrs["settings"] = json.dumps(label.get("settings", {}), default=str)
    return attrs


def write_fit_folder(fit, out_dir: str | Path, *, overwrite: bool = False,
                     tables: dict[str, pd.DataFrame] | None = None) -> dict[str, Path]:
    """The run folder of a Bayesian fit (one-level, hierarchical or two-level: anything with
    ``idata``, ``parameters()``, ``effects()``, ``summary()`` and ``verdict()``), written as
    one unit (:func:`connective.folders.run_folder`): ``posterior.nc``, ``parameters.csv``,
    ``effects.csv``, ``summary.json``, ``diagnostics.json`` and each of ``tables`` as
    ``<key>.csv``; returns the final paths.

    Example
    -------
    >>> write_fit_folder(result, "runs/fit1")["parameters"]  # doctest: +SKIP
    PosixPath('runs/fit1/parameters.csv')
    """
    from connective.folders import run_folder

    out_dir = Path(out_dir)
    tables = dict(tables or {})
    names = {"posterior": "posterior.nc", "parameters": "parameters.csv",
             "effects": "effects.csv", "summary": "summary.json",
             "diagnostics": "diagnostics.json", **{key: f"{key}.csv" for key in tables}}
    with run_folder(out_dir, overwrite=overwrite) as tmp:
        with atomic_path(tmp / names["posterior"]) as nc:
            fit.idata.to_netcdf(str(nc))
        atomic_write_csv(tmp / names["parameters"], fit.parameters())
        atomic_write_csv(tmp / names["effects"], fit.effects())
        atomic_write_json(tmp / names["summary"], fit.summary())
        atomic_write_json(tmp / names["diagnostics"], fit.verdict().to_dict())
        for key, table in tables.items():
            atomic_write_csv(tmp / names[key], table)
    return {key: out_dir / name for key, name in names.items()}


#: the group of an ordinal fit's log-likelihood conditional on the sampled factor scores
CONDITIONAL_GROUP = "conditional_log_likelihood"


def marginal_seed(seed: int | None) -> int:
    """The seed of an ordinal fit's marginal integration, from the fit's seed."""
    return 0 if seed is None else int(seed) + 15485863


def ordinal_marginal_draws(post, bm: BayesModel, *, seed: int):
    """The marginal log-likelihood (:mod:`connective.bayes.marginal`) of an ordinal fit's
    posterior, before its factor scores are dropped: a flat (draws, respondents) result;
    a hierarchical fit's respondents each under their group's parameters."""
    from connective.bayes.marginal import ordinal_marginal_draws as integrate

    groups = None if bm.groups is None else (bm.group_layout, bm.groups.index)
    return integrate(post, bm.layout, bm.ordinal, seed=seed, groups=groups)


#: posterior variables of a trace streamed to disk: the marginal log-likelihood and its
#: Monte Carlo SE, computed from the store before the factor scores were dropped
STREAMED_MARGINAL = ("marginal_loglik", "marginal_mcse")


def streamed_marginal(idata):
    """The :class:`~connective.bayes.marginal.Marginal` a streamed trace carries (see
    :data:`STREAMED_MARGINAL`), and its seconds; the variables leave the posterior."""
    from connective.bayes.marginal import Marginal

    post = idata.posterior
    lead = ("chain", "draw", "respondent")
    values = [post[v].transpose(*lead).to_numpy() for v in STREAMED_MARGINAL]
    S = values[0].shape[0] * values[0].shape[1]
    out = Marginal(values[0].reshape(S, -1), values[1].reshape(S, -1),
                   int(idata.attrs["marginal_nodes"]))
    idata.posterior = post.drop_vars(list(STREAMED_MARGINAL))
    return out, float(idata.attrs.get("marginal_seconds", 0.0))


#: posterior variables that stay in the posterior group; the sampler's own variables (on
#: their sampling scales) move to the ``sampled`` group, the ordinal model's factor scores
#: (respondents x factors per draw) are not kept
KEEP = ("parameters", "thresholds", "std_all", "std_lv", "sd_observed", "sd_structural",
        "effects", "effects_std_all", "effects_std_lv",
        "group_parameters", "group_sd", "group_corr", "group_coef", "group_effects",
        "level_effects", "level_difference", "residual_log_sd", "invariance_deviation")
#: the per-respondent variables of a model with sampled factor scores, dropped from the
#: results: the scores and the conditional log-likelihood with the scores' metric, all read
#: before the tidying
PER_RESPONDENT = (*SCORE_VARIABLES, "loglik_respondent", "factor_scales")


def _moderator_moments(bm: BayesModel, mu: np.ndarray, post) -> dict:
    """Per draw, the mean and SD of every variable in a product term, in the raw metric
    (conditional effects at mean +- 1 SD) of every moderator: an observed variable's implied mean (its sample
    mean under fixed.x), a construct's mean 0 (no mean structure), SDs from the implied
    covariance of the structural variables, the products' variance included."""
    from connective.effects import moderated_arrows

    names = moderated_arrows(bm.spec)  # the second factor of A:B moderates A's arrow
    observed = list(bm.layout.observed)
    out = {}
    for v in names:
        sd = post["sd_structural"].sel(structural=v, drop=True)
        mean = (xr.DataArray(mu[..., observed.index(v)], dims=("chain", "draw"),
                             coords={"chain": sd.chain, "draw": sd.draw})
                if v in observed else 0.0)
        out[v] = (mean, sd)
    return out


def _tidy_posterior(idata) -> None:
    post = idata.posterior
    internal = [v for v in post.data_vars if v not in KEEP]
    moved = post[[v for v in internal if v not in PER_RESPONDENT]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "sampled" in idata.groups():
            del idata.sampled
        if moved.data_vars:
            idata.add_groups({"sampled": moved.drop_dims(
                [d for d in moved.dims if d not in ("chain", "draw")
                 and not any(d in moved[v].dims for v in moved.data_vars)])})
    idata.posterior = post.drop_vars(internal).drop_dims(
        [d for d in post.dims if d not in ("chain", "draw")
         and not any(d in post[v].dims for v in KEEP if v in post)], errors="ignore")


def summary(idata) -> dict:
    """Run summary: sampler, draws, divergences, worst R-hat, smallest ESS, PPP, label."""
    post = idata.posterior
    par = _diagnostics(parameter_draws(idata), "param")
    if "group_parameters" in post:  # hierarchical: the groups' values and SDs count too
        parts = [par]
        varying = list(post["group_sd"].varying.to_numpy()) if "group_sd" in post else []
        for var in ("group_parameters", "group_sd", "group_coef"):
            if var in post:
                da = post[var]
                if var == "group_parameters":  # only the cells that differ by group
                    da = da.sel(group_param=[v for v in da.group_param.to_numpy()
                                             if v in varying])
                da = da.stack(cell=[d for d in post[var].dims
                                           if d not in ("chain", "draw")])
                da = da.drop_vars(["cell", *da.indexes["cell"].names]).assign_coords(
                    cell=np.arange(da.sizes["cell"]))
                parts.append(_diagnostics(da.transpose("chain", "draw", "cell"), "cell"))
        par = pd.concat(parts)
    stats = idata.sample_stats
    div = int(stats["diverging"].sum()) if "diverging" in stats else None
    out = {"sampler": idata.attrs.get("sampler", post.attrs.get("sampler", "")),
           "chains": int(post.sizes["chain"]), "draws": int(post.sizes["draw"]),
           "divergences": div,
           "max_r_hat": float(par["r_hat"].max()),
           "min_ess_bulk": float(par["ess_bulk"].min()),
           "min_ess_tail": float(par["ess_tail"].min()),
           "ppp": post.attrs.get("ppp"),
           "ppp_discrepancy": post.attrs.get("ppp_discrepancy"),
           "likelihood": post.attrs.get("likelihood"),
           "improper_blocks": json.loads(post.attrs.get("improper_blocks", "{}")),
           "converged": bool(par["r_hat"].max() <= 1.01 and (div or 0) == 0)}
    if "loglik" in post.attrs:  # LOO's log-likelihood: marginal or conditional (ordinal)
        out["loglik"] = post.attrs["loglik"]
    if "marginal_error" in post.attrs:
        out["marginal_error"] = json.loads(post.attrs["marginal_error"])
    if "groups" in post.attrs:
        out["groups"] = json.loads(post.attrs["groups"])
    if "connective" in post.attrs:
        out["run"] = json.loads(post.attrs["connective"])
    return out


@dataclass
class BayesFit:
    """A fitted Bayesian SEM: the InferenceData plus the spec (and the built model when it
    was fitted in this session). ``parameters()``, ``effects()``, ``summary()``, ``save()``.

    Example
    -------
    >>> fit = connective.bayes.fit(spec, frame, seed=1)  # doctest: +SKIP
    >>> fit.effects().set_index("effect").loc["X -> M -> Y", "est"]  # doctest: +SKIP
    """

    idata: object
    spec: object
    model: BayesModel | None = None
    timings: dict = field(default_factory=dict)

    def parameters(self) -> pd.DataFrame:
        return parameter_table(self.idata, self.spec)

    def effects(self) -> pd.DataFrame:
        return effects_table(self.idata)

    @property
    def grouped(self) -> bool:
        return "group_effects" in self.idata.posterior

    def group_effects(self) -> pd.DataFrame:
        """Each group's effects (hierarchical models)."""
        return group_results.group_effects_table(self.idata)

    def between_groups(self) -> pd.DataFrame:
        """Population values, between-group SDs, predictor effects (hierarchical models)."""
        return group_results.between_groups_table(self.idata)

    def level_effects(self) -> pd.DataFrame:
        """Population effects at each level of the group-level predictor, and their
        difference (hierarchical models with a group-level predictor)."""
        return group_results.level_effects_table(self.idata)

    def summary(self) -> dict:
        out = summary(self.idata)
        if self.timings:
            out["timings_s"] = self.timings
        return out

    def verdict(self):
        """The diagnostics verdict of the parameters (and of a hierarchical model's group
        SDs, coefficients and residual scales), as written to ``diagnostics.json``."""
        from connective.diagnostics import diagnose

        watched = ["parameters"] + [v for v in ("group_sd", "group_coef", "residual_log_sd")
                                    if v in self.idata.posterior]
        return diagnose(self.idata, var_names=watched)

    def save(self, out_dir: str | Path, *, overwrite: bool = False,
             extra: dict[str, pd.DataFrame] | None = None) -> dict[str, Path]:
        """Write the run folder ``out_dir`` as one unit (:func:`connective.folders.run_folder`;
        an existing run folder only with ``overwrite``): ``posterior.nc``, ``parameters.csv``,
        ``effects.csv``, ``summary.json``, ``diagnostics.json``, and for a hierarchical model
        ``group_effects.csv``, ``between_groups.csv`` and (with a group-level predictor)
        ``level_effects.csv``, and each ``extra`` table as ``<key>.csv`` (e.g. the rounding
        sensitivity of a fit to a printed matrix); returns their final paths."""
        tables = dict(extra or {})
        if self.grouped:
            tables.update(group_effects=self.group_effects(),
                          between_groups=self.between_groups())
            if "level_effects" in self.idata.posterior:
                tables["level_effects"] = self.level_effects()
        return write_fit_folder(self, out_dir, overwrite=overwrite, tables=tables)

    @classmethod
    def load(cls, path: str | Path) -> "BayesFit":
        """Reload a saved ``posterior.nc`` (its model text is in the attrs) without refitting."""
        import arviz as az

        from connective.spec import parse_model

        idata = az.from_netcdf(str(path))
        attrs = idata.posterior.attrs
        settings = json.loads(attrs.get("settings", "{}"))
        spec = parse_model(attrs["model_text"], source=attrs.get("model", "<model>"),
                           std_lv=bool(settings.get("std_lv", False)))
        return cls(idata=idata, spec=spec)
