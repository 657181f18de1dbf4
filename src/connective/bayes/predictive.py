"""Bayesian out-of-sample prediction of indicators, beside PLSpredict: the same rows, the
same folds, the same error measures.

For a held-out respondent the Bayesian SEM predicts the indicators of an endogenous
construct by their model-implied conditional mean given the predictors, averaged over the
posterior draws of the training fit (the posterior predictive mean):
``E[y_c | x_P] = mu_c + Sigma_cP Sigma_PP^-1 (x_P - mu_P)``. The predictors follow the
PLSpredict technique: **DA** conditions on every indicator outside the construct (the
predictors of seminr's LM benchmark, with the covariance the model implies instead of a free
regression), **EA** on the exogenous constructs' indicators only.

* :func:`bayes_predict` refits the model on every training part of the folds (10 folds, one
  repetition by default: ten fits, each one a full sampler run; on mobi 255 s for the ten
  folds with 2 chains x (500 + 500) draws on a busy 2-core machine, 25 s a fold, and those
  fits did not pass the convergence checks: the verdict says so beside the numbers);
* :func:`loo_predict` needs one fit only: the leave-one-out predictive means by Pareto-
  smoothed importance sampling (PSIS; each draw weighted by 1 / p(y_i | theta), smoothed),
  with the Pareto k of every respondent (k > 0.7: that respondent's LOO value is unreliable);
* :func:`side_by_side`: one table of PLS, LM and Bayes RMSE and MAE per indicator.

Every fold's convergence (max R-hat, bulk ESS, divergences) stays beside its numbers.

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> from connective.pls.predict import predict_pls
>>> spec, frame = example_data(100)
>>> pls = predict_pls(estimate_pls(spec, frame), folds=5, repetitions=1, seed=1)
>>> bayes = bayes_counterpart(pls, draws=100, tune=100, chains=1, seed=1)  # doctest: +SKIP
>>> side_by_side(pls, bayes).columns.tolist()  # doctest: +SKIP
['construct', 'pls_rmse', 'lm_rmse', 'bayes_rmse', 'pls_mae', 'lm_mae', 'bayes_mae', ...]
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from connective.bayes.matrices import build_layout, implied_moments
from connective.bayes.tables import parameter_draws
from connective.spec import ModelSpec

TECHNIQUES = ("DA", "EA")


@dataclass(eq=False)
class BayesPredict:
    """Posterior predictive means of held-out respondents (raw scale) and how each fit went.

    ``fits``: one row per fit (fold, rows, max_r_hat, min_ess_bulk, divergences, converged);
    ``pareto_k`` (leave-one-out by PSIS only): per respondent.
    """

    actual: pd.DataFrame
    predicted: pd.DataFrame
    technique: str
    method: str  # "k-fold" or "psis-loo"
    fits: pd.DataFrame
    settings: dict
    pareto_k: pd.Series | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        return bool(self.fits["converged"].all())

    def table(self) -> pd.DataFrame:
        """``bayes_rmse, bayes_mae`` per indicator."""
        e = self.actual - self.predicted
        out = pd.DataFrame({"bayes_rmse": np.sqrt((e ** 2).mean()), "bayes_mae": e.abs().mean()})
        out.index.name = "indicator"
        return out

    def verdict(self) -> str:
        bad = self.fits[~self.fits["converged"]]
        parts = []
        if len(bad):
            parts.append(f"{len(bad)} of {len(self.fits)} Bayesian fit(s) failed the "
                         f"convergence checks (max R-hat {self.fits['max_r_hat'].max():.3f}): "
                         "their predictions are not trustworthy; raise --draws/--tune")
        else:
            parts.append(f"all {len(self.fits)} Bayesian fit(s) passed the convergence checks")
        if self.pareto_k is not None:
            high = int((self.pareto_k > 0.7).sum())
            parts.append(f"PSIS-LOO: {high} respondent(s) with Pareto k > 0.7" if high
                         else "PSIS-LOO: every Pareto k <= 0.7")
        return "; ".join(parts)


def predictor_sets(spec: ModelSpec, technique: str = "DA") -> list[tuple[str, list[str], list[str]]]:
    """(construct, its indicators, the predictors) for every endogenous construct.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> spec = parse_model("A =~ a1 + a2\\nB =~ b1 + b2\\nC =~ c1 + c2\\nB ~ A\\nC ~ B")
    >>> predictor_sets(spec, "EA")[1]
    ('C', ['c1', 'c2'], ['a1', 'a2'])
    >>> predictor_sets(spec, "DA")[1][2]
    ['a1', 'a2', 'b1', 'b2']
    """
    if technique not in TECHNIQUES:
        raise ValueError(f"unknown technique {technique!r}; expected one of {TECHNIQUES}")
    structural = list(spec.structural)
    items = {c: list(spec.indicators.get(c, (c,))) for c in structural}
    targets = {t for _, t in spec.paths}
    every = list(dict.fromkeys(x for c in structural for x in items[c]))
    exogenous = [x for c in structural if c not in targets for x in items[c]]
    out = []
    for c in structural:
        if c not in targets:
            continue
        ys = items[c]
        pool = every if technique == "DA" else exogenous
        out.append((c, ys, [x for x in pool if x not in ys]))
    return out


def conditional_means(spec: ModelSpec, theta: np.ndarray, rows: pd.DataFrame,
                      technique: str = "DA") -> np.ndarray:
    """Per draw ``theta (S, P)``, the conditional means of the endogenous indicators for
    ``rows`` -> ``(S, rows, indicators)`` (indicators in :func:`predictor_sets` order)."""
    layout = build_layout(spec)
    mu, sigma = implied_moments(layout, theta)
    pos = {v: i for i, v in enumerate(layout.observed)}
    out = []
    for _, ys, xs in predictor_sets(spec, technique):
        y, x = [pos[v] for v in ys], [pos[v] for v in xs]
        coef = np.linalg.solve(sigma[:, x][:, :, x], sigma[:, x][:, :, y])  # (S, |x|, |y|)
        dev = rows[xs].to_numpy(float)[None] - mu[:, None, x]  # (S, m, |x|)
        out.append(mu[:, None, y] + dev @ coef)
    return np.concatenate(out, axis=-1)


def _indicators(spec: ModelSpec, technique: str) -> list[str]:
    return [y for _, ys, _ in predictor_sets(spec, technique) for y in ys]


def fit_row(fit, fold, n) -> dict:
    s = fit.summary()
    return {"fold": fold, "rows": n, "max_r_hat": s["max_r_hat"],
            "min_ess_bulk": s["min_ess_bulk"], "divergences": s["divergences"],
            "converged": bool(s["converged"])}


def bayes_predict(spec: ModelSpec, frame: pd.DataFrame, assignment: np.ndarray, *,
                  technique: str = "DA", draws: int = 500, tune: int = 500, chains: int = 2,
                  seed: int | None = None, progress: bool | Callable[[int, int], None] = False,
                  **fit_options) -> BayesPredict:
    """Refit ``spec`` on every training part of the folds ``assignment`` (one fold per row of
    ``frame``) and predict the held-out rows (see the module text). ``fit_options`` go to
    :func:`connective.bayes.fit` (priors, sampler, ...)."""
    from connective.bayes import fit as bayes_fit
    from connective.pls.bootstrap import _reporter

    assignment = np.asarray(assignment, dtype=int)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    folds = np.unique(assignment)
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(len(folds))]
    names = _indicators(spec, technique)
    predicted = np.full((len(frame), len(names)), np.nan)
    report = _reporter(progress, len(folds), label="Bayes folds")
    compiled: dict[int, object] = {}  # a compiled model per training size, reused
    rows = []
    for k, f in enumerate(folds):
        test = assignment == f
        train = frame[~test]
        model = compiled.get(len(train))
        result = bayes_fit(spec, train, draws=draws, tune=tune, chains=chains, seed=seeds[k],
                           model=model, **fit_options)
        compiled.setdefault(len(train), result.model)
        theta = parameter_draws(result.idata).stack(s=("chain", "draw")).transpose("s", "param")
        predicted[test] = conditional_means(spec, theta.to_numpy(), frame[test], technique).mean(0)
        rows.append(fit_row(result, int(f), int((~test).sum())))
        report(k + 1)
    return BayesPredict(actual=frame[names].astype(float),
                        predicted=pd.DataFrame(predicted, index=frame.index, columns=names),
                        technique=technique, method="k-fold", fits=pd.DataFrame(rows),
                        settings={"draws": draws, "tune": tune, "chains": chains, "seed": seed,
                                  "folds": len(folds)})


def loo_predict(fit, frame: pd.DataFrame, *, technique: str = "DA") -> BayesPredict:
    """Leave-one-out posterior predictive means by PSIS from one fit on ``frame`` (the rows
    it was fitted on, in that order)."""
    import arviz as az

    names = _indicators(fit.spec, technique)
    theta = parameter_draws(fit.idata).stack(s=("chain", "draw")).transpose("s", "param")
    ll = fit.idata.log_likelihood["y"].stack(s=("chain", "draw")).transpose("respondent", "s")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log_w, k = az.psislw(-ll.to_numpy())  # normalised per respondent
    w = np.exp(np.asarray(log_w))  # (n, S)
    cond = conditional_means(fit.spec, theta.to_numpy(), frame, technique)  # (S, n, items)
    predicted = np.einsum("ns,sni->ni", w, cond)
    return BayesPredict(actual=frame[names].astype(float),
                        predicted=pd.DataFrame(predicted, index=frame.index, columns=names),
                        technique=technique, method="psis-loo",
                        fits=pd.DataFrame([fit_row(fit, -1, len(frame))]),
                        settings={"draws": int(theta.sizes["s"])},
                        pareto_k=pd.Series(np.asarray(k), index=frame.index, name="pareto_k"))


def pls_rows(result) -> pd.DataFrame:
    """The raw rows a :class:`~connective.pls.results.PLSResult` used (after its missing-data
    treatment), model columns."""
    data = result.data
    raw = data.X * data.sds + data.means
    cols = list(result.model.columns)
    out = pd.DataFrame(raw, index=data.index, columns=cols)
    return out.loc[:, ~out.columns.duplicated()]


def bayes_counterpart(pls, *, draws: int = 500, tune: int = 500, chains: int = 2,
                      seed: int | None = None, progress=False, **fit_options) -> BayesPredict:
    """The Bayesian counterpart of a :class:`~connective.pls.predict.PLSPredict`: the same
    rows, technique and folds (its first repetition); leave-one-out by PSIS when the PLS
    run was leave-one-out (one fit)."""
    frame = pls_rows(pls.result)
    if pls.folds is None:
        from connective.bayes import fit as bayes_fit

        result = bayes_fit(pls.result.spec, frame, draws=draws, tune=tune, chains=chains,
                           seed=seed, **fit_options)
        return loo_predict(result, frame, technique=pls.technique)
    return bayes_predict(pls.result.spec, frame, pls.assignments[0], technique=pls.technique,
                         draws=draws, tune=tune, chains=chains, seed=seed, progress=progress,
                         **fit_options)


def side_by_side(pls, bayes: BayesPredict) -> pd.DataFrame:
    """PLS, LM and Bayes RMSE and MAE per indicator, with which is lowest, and the Bayes
    fits' convergence verdict in ``bayes_converged``."""
    t = pls.table().join(bayes.table(), how="left")
    cols = ["construct", "pls_rmse", "lm_rmse", "bayes_rmse", "pls_mae", "lm_mae", "bayes_mae"]
    out = t[cols].copy()
    out["lowest_rmse"] = out[["pls_rmse", "lm_rmse", "bayes_rmse"]].idxmin(axis=1).str[:-5]
    out["bayes_converged"] = bayes.converged
    return out


__all__ = ["BayesPredict", "bayes_predict", "loo_predict", "bayes_counterpart", "side_by_side",
           "predictor_sets", "conditional_means", "pls_rows", "fit_row"]
