"""The methods a study compares, behind one call: (spec, data, settings, seed) -> estimates.

Each engine adapter returns, for every studied effect (or loading or factor correlation:
standardised parameters count as targets too), the point estimate and the 95% interval (PLS: bootstrap percentile; Bayes: equal-tailed posterior interval of the
standardised effect), and whether the fit can be trusted (Bayes: the diagnostics verdict).
Any exception inside a method is recorded as a failed replication with its error, never
dropped.

Example
-------
>>> from connective.pls import example_data
>>> from connective.studies.design import Method
>>> spec, frame = example_data(100)
>>> rec = run_method(Method("pls", "pls", {"boot": 50}), spec, frame, seed=1,
...                  effects=["IS -> CI"])
>>> rec["status"], sorted(rec["effects"][0])
('ok', ['effect', 'est', 'lower', 'upper'])
"""

from __future__ import annotations

import time
import warnings

import pandas as pd
import xarray as xr

from connective.data.options import DataOptions
from connective.spec import ModelSpec
from connective.studies.design import Method


def _pls(spec: ModelSpec, frame: pd.DataFrame, *, seed: int, boot: int = 500,
         consistent: bool = False, scheme: str = "path", level: float = 0.95,
         interaction: str = "two_stage"):
    """PLS with bootstrap percentile intervals; ``interaction`` is how a latent product
    term is estimated (two_stage, product_indicator or orthogonal: pls/interaction.py)."""
    from connective.pls import bootstrap_pls, estimate_pls

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # inadmissible replicates etc. are counted, not printed
        result = estimate_pls(spec, frame, scheme=scheme, consistent=consistent,
                              missing="casewise" if frame.isna().any().any() else None,
                              interaction=interaction)
        replicates = bootstrap_pls(result, n_boot=boot, seed=seed, level=level, bca=False)
        params = replicates.parameters()
        params = params.assign(effect=params["lhs"] + params["op"] + params["rhs"])
        table = pd.concat([replicates.effects(), params], ignore_index=True)
    return table.rename(columns={"ci.lower": "lower", "ci.upper": "upper"}), True, []


#: compiled Bayesian models of this worker process, reused for every data set of one shape
_COMPILED: dict = {}


def _fit_reusing(spec: ModelSpec, frame: pd.DataFrame, *, seed: int, likelihood: str,
                 draws: int, tune: int, chains: int):
    """``bayes.fit`` on one core, reusing this worker's compiled model where it can: a
    compiled model serves new data of one shape: complete data, normal likelihood (the
    ordinal model's answers and the missingness patterns are built into it; a latent
    interaction model's factor scores are one per respondent, so complete data of one
    shape answer the same cells: ``bayes.interaction.with_new_data``)."""
    from connective.bayes import fit

    reusable = likelihood == "normal" and not frame.isna().any().any()
    key = (spec.text, likelihood, frame.shape, tuple(frame.columns))
    result = fit(spec, frame, likelihood=likelihood, draws=draws, tune=tune, chains=chains,
                 cores=1, seed=seed, model=_COMPILED.get(key) if reusable else None)
    if reusable:
        _COMPILED[key] = result.model
    return result


def _bayes(spec: ModelSpec, frame: pd.DataFrame, *, seed: int, draws: int = 500,
           tune: int = 500, chains: int = 2, likelihood: str = "normal", level: float = 0.95,
           min_ess: float = 100, max_rhat: float = 1.05):
    """Posterior of the standardised effects (comparable with PLS and with the standardised
    population). A replication counts as converged when the diagnostics verdict passes with
    the study thresholds ``max_rhat`` (1.05) and ``min_ess`` (100): a study's fits are short
    by design, so the single-analysis thresholds (1.01, 400) would flag sampling noise."""
    from connective.bayes.tables import interaction_draws, measurement_draws
    from connective.diagnostics import diagnose
    from connective.mediation import summarize_effects

    result = _fit_reusing(spec, frame, seed=seed, likelihood=likelihood, draws=draws,
                          tune=tune, chains=chains)
    post = result.idata.posterior
    parts = [post["effects_std_all"], measurement_draws(spec, post["std_all"])]
    if spec.latent_interactions:  # standardised interactions (bayes/interaction.py)
        parts.append(interaction_draws(spec, post["std_all"]))
    # the effects' own coordinates along "effect" (e.g. a conditional effect's moderator)
    # are not the other targets': keep the names only
    targets = xr.concat([p.reset_coords(drop=True) for p in parts], dim="effect")
    table = summarize_effects(targets, prob=level)
    table = table.rename(columns={"mean": "est", "eti_lower": "lower", "eti_upper": "upper"})
    verdict = diagnose(result.idata, var_names=["parameters"],
                       thresholds={"r_hat": max_rhat, "ess_bulk": min_ess, "ess_tail": min_ess})
    return table, verdict.ok, verdict.problems


def _loo(spec: ModelSpec, frame: pd.DataFrame, *, seed: int, candidates: dict,
         likelihood: str = "normal", loglik: str = "marginal", draws: int = 500,
         tune: int = 500, chains: int = 2, max_rhat: float = 1.05, min_ess: float = 100):
    """Fit the study's model (the truth) and each rival; which does PSIS-LOO rank first?
    Returns the selection (elpd and Pareto k of every model, the pick), whether every fit
    passed the study thresholds, and their problems. ``loglik="conditional"`` ranks ordinal
    fits by the log-likelihood given the sampled factor scores (to show what it does)."""
    import arviz as az

    from connective.bayes.results import CONDITIONAL_GROUP
    from connective.diagnostics import diagnose

    models = {truth_name(spec): spec, **candidates}
    elpd, high, ok, problems = {}, {}, True, []
    for name, model in models.items():
        result = _fit_reusing(model, frame, seed=seed, likelihood=likelihood, draws=draws,
                              tune=tune, chains=chains)
        idata = result.idata
        if loglik == "conditional" and CONDITIONAL_GROUP in idata.groups():
            idata = az.InferenceData(posterior=idata.posterior,
                                     log_likelihood=idata[CONDITIONAL_GROUP])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loo = az.loo(idata, pointwise=True)
        elpd[name] = float(loo.elpd_loo)
        high[name] = float((loo.pareto_k.values > 0.7).mean())
        verdict = diagnose(result.idata, var_names=["parameters"],
                           thresholds={"r_hat": max_rhat, "ess_bulk": min_ess,
                                       "ess_tail": min_ess})
        ok &= verdict.ok
        problems += [f"{name}: {p}" for p in verdict.problems]
    return {"picked": max(elpd, key=elpd.get), "truth": truth_name(spec), "elpd": elpd,
            "share_k_above_0.7": high}, ok, problems


def truth_name(spec: ModelSpec) -> str:
    """How a model-selection record names the study's own model: its file's stem."""
    from pathlib import Path

    return Path(spec.source).stem


ADAPTERS = {"pls": _pls, "bayes": _bayes, "loo": _loo}


def run_method(method: Method, spec: ModelSpec, frame: pd.DataFrame, *, seed: int,
               effects: list[str]) -> dict:
    """Run one method on one data set; a record for the study store."""
    start = time.perf_counter()
    try:
        if method.data != DataOptions():
            frame = method.data.check(frame, spec, raise_on_error=False).frame
        table, converged, problems = ADAPTERS[method.engine](spec, frame, seed=seed,
                                                             **method.settings)
        if method.engine == "loo":  # a model selection, no effects
            return {"status": "ok", "converged": bool(converged), "problems": problems,
                    "seconds": round(time.perf_counter() - start, 3), "effects": [],
                    "selection": table}
        table = table.set_index("effect").loc[effects].reset_index()
    except Exception as exc:  # noqa: BLE001 -- a failed replication is data, not a crash
        return {"status": "failed", "converged": False, "error": f"{type(exc).__name__}: {exc}",
                "seconds": round(time.perf_counter() - start, 3), "effects": []}
    rows = [{"effect": r.effect, "est": float(r.est), "lower": float(r.lower),
             "upper": float(r.upper)} for r in table.itertuples()]
    return {"status": "ok", "converged": bool(converged), "problems": problems,
            "seconds": round(time.perf_counter() - start, 3), "effects": rows}
