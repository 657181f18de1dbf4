"""Bayesian SEM on PyMC, built from the same parsed spec as every other engine.

Modules, one job each: :mod:`~connective.bayes.priors` (defaults and the prior language),
:mod:`~connective.bayes.matrices` (spec -> parameter layout -> implied moments, numpy and
pytensor), :mod:`~connective.bayes.likelihood` (sufficient-statistics likelihood, pointwise
log-likelihood, PPP), :mod:`~connective.bayes.model` (spec + data -> ``pm.Model``),
:mod:`~connective.bayes.sample` (nutpie / PyMC), :mod:`~connective.bayes.results` (effects,
std.all, tables, saving).

Example
-------
>>> import pandas as pd
>>> from connective.spec import read_model
>>> from connective.resources import model_path
>>> frame = pd.read_csv("mediation_sim.csv")  # doctest: +SKIP
>>> result = fit(read_model(model_path("mediation")), frame, seed=1)  # doctest: +SKIP
>>> result.effects().set_index("effect").loc["ind", ["est", "ci.lower", "ci.upper"]]  # doctest: +SKIP
"""

from __future__ import annotations

import time

import pandas as pd

from connective.bayes.groups import group_design
from connective.bayes.matrices import build_layout
from connective.bayes.model import BayesModel, build_model
from connective.bayes.results import BayesFit, augment, effects_table, parameter_table
from connective.bayes.sample import SamplerError, compile_model, sample, timed_sampling, with_data
from connective.errors import ConnectiveError, ModelError
from connective.provenance import data_fingerprint, run_label
from connective.spec import ModelSpec


def fit(spec: ModelSpec, frame: pd.DataFrame, *, likelihood: str = "normal",
        draws: int = 1000, tune: int = 1000, chains: int = 4, cores: int | None = None,
        seed: int | None = None, sampler: str = "nutpie", priors: dict | None = None,
        progress: bool = False, data_source: str = "<data frame>", synthetic: bool = False,
        model: BayesModel | None = None, group: str | None = None,
        vary: list[str] | None = None, group_covariance: str = "auto",
        invariance: str = "exact", group_predictor: str | None = None,
        center: str = "none", target_accept: float | None = None,
        data_options: dict | None = None, prior_only: bool = False,
        log_prior: bool = False) -> BayesFit:
    """Build, sample and summarise: returns a :class:`BayesFit` whose InferenceData carries
    the parameters, std.all, every effect, the per-respondent log-likelihood, the PPP and the
    run's provenance. Pass ``model`` (from an earlier fit's ``.model``) to reuse a compiled
    model on new data of the same shape.

    ``group`` names the column of the groups respondents are nested in and makes the model
    hierarchical (see :mod:`connective.bayes.groups` for ``vary``, ``group_covariance``,
    ``invariance``, ``group_predictor`` and ``center``): ``effects()`` are then population
    averages, ``group_effects()`` each group's. ``target_accept`` replaces the sampler's
    target acceptance rate (see :func:`~connective.bayes.sample.sample`). ``data_options``
    (how the survey was cleaned, :class:`~connective.data.options.DataOptions`) are recorded.
    ``prior_only`` samples the priors without the likelihood (prior predictive checks,
    :mod:`connective.bayes.prior_checks`); ``log_prior`` keeps each draw's log prior (the
    ``log_prior`` group) for power-scaling (:mod:`connective.bayes.sensitivity`).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> result = fit(parse_model("M ~ a*X\\nY ~ b*M + cp*X\\nind := a*b"), frame,
    ...              draws=500, seed=3)  # doctest: +SKIP
    >>> result.summary()["divergences"]  # doctest: +SKIP
    0
    """
    times = {}
    t0 = time.perf_counter()
    if sampler == "nutpie" and likelihood == "normal" and not spec.latent_interactions:
        # the tape's kernels compile (once per machine) while the model is built
        from connective.bayes import warm

        warm.start()
    fitted = frame
    design = None
    if likelihood == "ordinal" and spec.higher_order and sampler == "nutpie":
        # nutpie rejects every starting point of these (its 'bad initial gradient'), where
        # PyMC's own log-density and gradient are finite and its NUTS samples them
        raise ModelError(f"{spec.source}: nutpie cannot start the ordinal likelihood with "
                         f"higher-order factors ({', '.join(spec.higher_order)}); use "
                         "--sampler pymc (slower: one chain of 100 tuning + 100 draws on 500 "
                         "respondents took 71 s here), or --likelihood normal")
    if group is not None and model is not None:
        raise ConnectiveError("a compiled model cannot take --group; fit without model= to "
                              "build the hierarchical model")
    if group is not None:
        design, fitted = group_design(frame, spec, build_layout(spec), group, vary=vary,
                                      covariance=group_covariance, invariance=invariance,
                                      predictor=group_predictor, center=center,
                                      source=data_source)
    if model is None:
        from connective.bayes.backends import JAX_SAMPLERS

        # the normal likelihood as one Op serves nutpie (numba); XLA compiles the graph of
        # PyTensor nodes faster than the Op's JAX form (flagship, empty caches: 38.6 against
        # 47.4 s with blackjax), so the JAX backends take that graph
        model = build_model(spec, fitted, likelihood=likelihood, priors=priors, groups=design,
                            prior_only=prior_only, fused=sampler not in JAX_SAMPLERS)
    else:
        with_data(model, frame)
    times["build"] = time.perf_counter() - t0
    idata = timed_sampling(model, times, draws=draws, tune=tune, chains=chains, cores=cores,
                           seed=seed, sampler=sampler, progress=progress,
                           target_accept=target_accept)
    if log_prior:  # before augment moves the sampled variables out of the posterior
        from connective.bayes.sensitivity import add_log_prior

        add_log_prior(idata, model)
    settings = {"likelihood": likelihood, "draws": draws, "tune": tune, "chains": chains,
                "sampler": idata.attrs.get("sampler", sampler),
                "compiler": idata.attrs.get("compiler"), "std_lv": spec.std_lv,
                "lavaan_options": spec.options.as_dict(),
                "target_accept": idata.attrs["target_accept"],
                "priors": model.priors, "data_options": data_options or {}}
    if prior_only:
        settings["prior_only"] = True
    if model.groups is not None:
        settings["groups"] = model.groups.describe()
    # the answers to the model's items as fitted (centred within groups if asked), so that
    # grouped and single-level fits of the same survey share a fingerprint (LOO compares them)
    label = run_label(model=spec.source, model_text=spec.text, data_source=data_source,
                      fingerprint=data_fingerprint(fitted[list(spec.observed)]), seed=seed,
                      synthetic=synthetic, settings=settings)
    t0 = time.perf_counter()
    augment(idata, model, seed=seed, label=label)
    times["postprocess"] = time.perf_counter() - t0
    return BayesFit(idata=idata, spec=spec, model=model, timings=times)


__all__ = ["BayesFit", "BayesModel", "SamplerError", "augment", "build_model", "compile_model",
           "effects_table", "fit", "parameter_table", "sample", "with_data"]
