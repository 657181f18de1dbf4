"""Model comparison by PSIS-LOO on respondent-level log-likelihoods, with PLS criteria.

Models compared by LOO must have log-likelihoods of one quantity, and are refused otherwise
(:func:`check_comparable`, naming the reason and what to do): the same likelihood (an
ordinal fit's probability of the answers is not a normal fit's density), the marginal
log-likelihood of a factor-score model (bayes/marginal.py; the one given the sampled scores
has high Pareto k by construction), the same observed variables (the log-likelihood of a
respondent's answers to other items is another quantity: SIMCA and the connective-action
model cannot be ranked by LOO; the connective-action model and its variants can), the same
missing-data handling and rows, the same data. The table reports each run's Pareto k
distribution and its diagnostics verdict.

PLS side (when PLS runs are given): R^2 and adjusted R^2 of the target construct and the
BIC of its regression, n log(1 - R^2) + k log(n) with k = predictors + 1 (Sharma et al. 2019
recommend BIC for PLS model selection).

Example
-------
>>> table = compare_loo({"connective": "runs/ca", "direct": "runs/ca_direct"})  # doctest: +SKIP
>>> table[["rank", "elpd_loo", "elpd_diff", "dse", "weight"]]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connective.errors import ConnectiveError
from connective.folders import check_run_folder
from connective.verdicts import FitVerdict, run_verdict


def _load(run_dir: Path):
    import arviz as az

    nc = run_dir / "posterior.nc"
    if not nc.is_file():
        raise ConnectiveError(f"{run_dir} has no posterior.nc; LOO needs 'connective fit' runs")
    check_run_folder(run_dir)  # a posterior beside another run's files is refused
    idata = az.from_netcdf(str(nc))
    settings = json.loads(idata.posterior.attrs.get("settings", "{}"))
    if settings.get("data_options", {}).get("summary"):
        raise ConnectiveError(f"{run_dir} was fitted to summary statistics "
                              f"({settings['data_options']['summary']['file']}): LOO leaves "
                              "out one respondent at a time, and a printed matrix has no "
                              "respondents; compare such models by their PPP and fit indices")
    if not hasattr(idata, "log_likelihood"):
        raise ConnectiveError(f"{run_dir}: the fit stored no log-likelihood; refit it")
    return idata


@dataclass
class LooRun:
    """What decides whether a run's log-likelihood can be ranked against another's."""

    name: str
    folder: Path
    idata: object
    likelihood: str
    loglik: str  # "marginal" (factor scores integrated out, or none sampled) or "conditional"
    observed: tuple | None
    fingerprint: str | None
    n: int  # respondents in the log-likelihood (rows after the missing-data handling)
    missing: str  # the --missing handling recorded with the run ("default" without one)
    verdict: FitVerdict

    @property
    def conditional(self):
        """The log-likelihood given the sampled factor scores (ordinal fits), if stored."""
        from connective.bayes.results import CONDITIONAL_GROUP

        return self.idata[CONDITIONAL_GROUP] if CONDITIONAL_GROUP in self.idata.groups() else None


def read_loo_run(name: str, folder: str | Path) -> LooRun:
    """A ``connective fit`` run folder as :class:`LooRun` (its verdict from diagnostics.json)."""
    folder = Path(folder)
    idata = _load(folder)
    attrs = idata.posterior.attrs
    settings = json.loads(attrs.get("settings", "{}"))
    likelihood = attrs.get("likelihood", settings.get("likelihood", "normal"))
    # ordinal fits before the marginal likelihood stored the conditional one only
    loglik = attrs.get("loglik", "conditional" if likelihood == "ordinal" else "marginal")
    missing = (settings.get("data_options") or {}).get("missing") or "default"
    diagnostics = folder / "diagnostics.json"
    if diagnostics.is_file():
        verdict = run_verdict({"dir": folder, "label": {},
                               "diagnostics": json.loads(diagnostics.read_text())})
    else:
        verdict = FitVerdict(f"Bayesian SEM ({folder.name})", False,
                             "no diagnostics.json: the run's sampler diagnostics are unknown")
    return LooRun(name, folder, idata, likelihood, loglik,
                  tuple(json.loads(attrs["observed"])) if "observed" in attrs else None,
                  attrs.get("data_fingerprint"), int(idata.log_likelihood.sizes["respondent"]),
                  missing, verdict)


def check_comparable(runs: list[LooRun], *, conditional: bool = False) -> None:
    """Refuse, naming the reason and what to do, runs whose log-likelihoods are not of one
    quantity: another likelihood (a probability against a density), a log-likelihood given
    sampled factor scores, other items, another missing-data handling, other rows, other data.

    Example
    -------
    >>> check_comparable([read_loo_run("a", "runs/a"), read_loo_run("b", "runs/b")])  # doctest: +SKIP
    """
    first = runs[0]
    for run in runs[1:]:
        if run.likelihood != first.likelihood:
            kinds = {"ordinal": "a probability of each respondent's answers",
                     "normal": "a density of them"}
            raise ConnectiveError(
                f"cannot rank {first.name!r} ({first.likelihood} likelihood: "
                f"{kinds.get(first.likelihood, 'its own quantity')}) against {run.name!r} "
                f"({run.likelihood} likelihood: {kinds.get(run.likelihood, 'its own quantity')}"
                "): their log-likelihoods are not on one scale. Refit them with the same "
                "--likelihood (ordinal for Likert answers)")
    if not conditional:
        given = [r.name for r in runs if r.loglik == "conditional"]
        if given:
            raise ConnectiveError(
                f"{', '.join(repr(g) for g in given)} stored only the log-likelihood "
                "conditional on the sampled factor scores, which PSIS-LOO cannot leave out "
                "(its Pareto k are high by construction; Merkle, Furr & Rabe-Hesketh 2019). "
                "Refit with this version of 'connective fit', which stores the marginal "
                "log-likelihood, or pass "
                "--conditional to rank the conditional ones anyway")
    elif any(r.conditional is None and r.loglik != "conditional" for r in runs):
        plain = [r.name for r in runs if r.conditional is None and r.loglik != "conditional"]
        raise ConnectiveError(f"--conditional ranks the log-likelihoods given the sampled "
                              f"factor scores of ordinal fits; {', '.join(map(repr, plain))} "
                              "sampled none: drop --conditional")
    for run in runs[1:]:
        if first.observed is not None and run.observed is not None \
                and set(first.observed) != set(run.observed):
            only_a = [v for v in first.observed if v not in run.observed]
            only_b = [v for v in run.observed if v not in first.observed]
            parts = ([f"{first.name!r} alone has {', '.join(only_a)}"] if only_a else []) + \
                    ([f"{run.name!r} alone has {', '.join(only_b)}"] if only_b else [])
            raise ConnectiveError(
                f"the runs model different observed variables ({first.name}: "
                f"{len(first.observed)} items, {run.name}: {len(run.observed)} items; "
                f"{'; '.join(parts)}); LOO compares models of the same items only: fit both "
                "models to the same items (a model of fewer items predicts less)")
    for run in runs[1:]:
        if run.missing != first.missing:
            how = {r.name: "the default missing-data handling" if r.missing == "default"
                   else f"--missing {r.missing}" for r in (first, run)}
            raise ConnectiveError(
                f"{first.name!r} was fitted with {how[first.name]} and {run.name!r} with "
                f"{how[run.name]}: their log-likelihoods are of other answers ({first.n} and "
                f"{run.n} respondents). Refit them with the same --missing")
    for run in runs[1:]:
        if run.n != first.n:
            raise ConnectiveError(
                f"{first.name!r} analysed {first.n} respondents and {run.name!r} {run.n}: LOO "
                "sums over respondents, so it ranks fits of the same rows only. Refit them on "
                "the same rows (the same data file, --missing and group column)")
    if len({r.fingerprint for r in runs}) > 1:
        detail = ", ".join(f"{r.name}: {str(r.fingerprint)[:19]}" for r in runs)
        raise ConnectiveError(f"the runs were fitted on different data ({detail}); LOO compares "
                              "models on the same data only")


#: Pareto k bins (Vehtari, Gelman & Gabry 2017): good, ok, bad, very bad
K_BINS = {"k<=0.5": (-np.inf, 0.5), "0.5<k<=0.7": (0.5, 0.7), "0.7<k<=1": (0.7, 1.0),
          "k>1": (1.0, np.inf)}


def k_distribution(k) -> dict[str, int]:
    """Counts of Pareto k in :data:`K_BINS`.

    Example
    -------
    >>> k_distribution([0.1, 0.6, 0.8, 1.3, 0.2])
    {'k<=0.5': 2, '0.5<k<=0.7': 1, '0.7<k<=1': 1, 'k>1': 1}
    """
    k = np.asarray(k, dtype=float)
    return {name: int(((k > lo) & (k <= hi)).sum()) for name, (lo, hi) in K_BINS.items()}


def compare_loo(runs: dict[str, str | Path], *, conditional: bool = False,
                reloo: bool = False, reloo_max: int = 20, kfold: int | None = None,
                say=None) -> pd.DataFrame:
    """az.compare of the runs (elpd_loo, differences with SEs, stacking weights), the Pareto
    k distribution of each (and of an ordinal fit's conditional log-likelihood beside it:
    ``conditional_k>0.7``) and each run's diagnostics verdict (``diagnostics``; the verdict
    lines are in ``table.attrs["verdicts"]``).

    Raises a clear error when the runs' log-likelihoods are not comparable
    (:func:`check_comparable`). ``conditional=True`` ranks ordinal fits by their
    log-likelihood given the sampled factor scores (for comparison only).

    ``reloo=True`` refits each run without every respondent whose Pareto k exceeds 0.7 (at
    most ``reloo_max`` per run) and ranks by the exact values for them (column
    ``refitted``; the respondents in ``attrs["refitted"]``); ``kfold=K`` adds K-fold
    cross-validation's ``elpd_kfold`` with its SE and differences (K refits per run), see
    :mod:`connective.compare.loo_refit`. ``say`` gets a line per refit.
    """
    import arviz as az

    if len(runs) < 2:
        raise ConnectiveError("LOO compares two or more fitted models")
    described = [read_loo_run(name, folder) for name, folder in runs.items()]
    check_comparable(described, conditional=conditional)
    if (reloo or kfold) and conditional:
        raise ConnectiveError("--reloo and --kfold refit the marginal log-likelihood; drop "
                              "--conditional")
    idatas = {}
    for run in described:
        idatas[run.name] = run.idata
        if conditional and run.conditional is not None:
            idatas[run.name] = az.InferenceData(posterior=run.idata.posterior,
                                                log_likelihood=run.conditional)
    refitted: dict[str, list[int]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loos = {k: az.loo(v, pointwise=True) for k, v in idatas.items()}
        if reloo:
            from connective.compare import loo_refit

            # every run's count checked before any refit runs
            loo_refit.refuse_over_cap({r.name: int((loos[r.name].pareto_k
                                                    > loo_refit.K_THRESHOLD).sum())
                                       for r in described}, reloo_max)
            exact = {}
            for run in described:
                exact[run.name], refitted[run.name] = loo_refit.reloo(
                    run, loos[run.name], cap=reloo_max, say=say)
            table = az.compare(exact, ic="loo", method="stacking", scale="log")
        else:
            table = az.compare(idatas, ic="loo", method="stacking", scale="log")
        other = {}
        for run in described:  # the other log-likelihood's k, beside
            if run.conditional is not None and not conditional:
                other[run.name] = az.loo(az.InferenceData(
                    posterior=run.idata.posterior, log_likelihood=run.conditional),
                    pointwise=True).pareto_k
    table = table.copy()
    table["pareto_k_above_0.7"] = [int((loos[k].pareto_k > 0.7).sum()) for k in table.index]
    for name in K_BINS:
        table[name] = [k_distribution(loos[k].pareto_k)[name] for k in table.index]
    if other:
        table["conditional_k>0.7"] = [int((other[k] > 0.7).sum()) if k in other else None
                                      for k in table.index]
    by_name = {r.name: r for r in described}
    # what was ranked: the conditional one of every run that keeps one beside its marginal
    # (ordinal and latent-interaction fits) under --conditional
    table["loglik"] = ["conditional" if conditional and by_name[k].conditional is not None
                       else by_name[k].loglik for k in table.index]
    table["diagnostics"] = ["PASS" if by_name[k].verdict.ok else "FAIL" for k in table.index]
    if reloo:  # the k columns stay PSIS's: which respondents needed the refits
        table["refitted"] = [len(refitted[k]) for k in table.index]
    table.index.name = "model"
    out = table.reset_index()
    out.attrs["verdicts"] = [by_name[k].verdict.line() for k in table.index]
    out.attrs["failed"] = [k for k in table.index if not by_name[k].verdict.ok]
    out.attrs["warnings"] = sorted({str(w.message) for w in caught
                                    if "pareto" in str(w.message).lower()})
    if reloo:
        out.attrs["refitted"] = refitted
    if kfold:
        from connective.compare.loo_refit import kfold_table

        folds = kfold_table(described, kfold, say=say).rename(columns={
            "se": "se_kfold", "elpd_diff": "elpd_diff_kfold", "dse": "dse_kfold"})
        attrs = dict(out.attrs)
        out = out.merge(folds, on="model", how="left")
        out.attrs.update(attrs, kfold=kfold)
    out.attrs["marginal_error"] = {
        r.name: json.loads(r.idata.posterior.attrs["marginal_error"])["max_mcse"]
        for r in described if "marginal_error" in r.idata.posterior.attrs}
    return out


def pls_criteria(pls_runs: dict[str, str | Path], target: str | None = None) -> pd.DataFrame:
    """R^2, adjusted R^2 and BIC of the target construct's regression in each PLS run."""
    from connective.spec import parse_model

    rows = []
    for name, folder in pls_runs.items():
        check_run_folder(folder)
        summary = json.loads((Path(folder) / "summary.json").read_text())
        spec = parse_model(summary["model_text"])
        tgt = target or spec.endogenous[-1]
        if tgt not in summary["r2"]:
            raise ConnectiveError(f"{folder}: no R^2 for {tgt!r}")
        r2 = float(summary["r2"][tgt])
        n = int(summary["settings"]["n_used"])
        k = sum(1 for _, t in spec.paths if t == tgt) + 1
        rows.append({"model": name, "target": tgt, "r2": r2,
                     "r2_adj": 1 - (1 - r2) * (n - 1) / (n - k),
                     "bic": n * math.log(1 - r2) + k * math.log(n)})
    return pd.DataFrame(rows)
