"""Model comparison by PSIS-LOO on respondent-level log-likelihoods, with PLS criteria.

Models compared by LOO must have been fitted on the same respondents *and the same observed
variables*: the log-likelihood of a respondent's answers to other items is another quantity.
So SIMCA (identity, injustice, efficacy, action items) and the connective-action model (all
items) cannot be ranked by LOO; the connective-action model and its variants can.

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
from pathlib import Path

import pandas as pd

from connective.errors import ConnectiveError
from connective.folders import check_run_folder


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


def compare_loo(runs: dict[str, str | Path]) -> pd.DataFrame:
    """az.compare of the runs (elpd_loo, differences with SEs, stacking weights, Pareto k).

    Raises a clear error when the runs differ in data or observed variables.
    """
    import arviz as az

    if len(runs) < 2:
        raise ConnectiveError("LOO compares two or more fitted models")
    idatas, prints, observed = {}, {}, {}
    for name, folder in runs.items():
        folder = Path(folder)
        idata = _load(folder)
        attrs = idata.posterior.attrs
        idatas[name] = idata
        prints[name] = attrs.get("data_fingerprint")
        observed[name] = tuple(json.loads(attrs["observed"])) if "observed" in attrs else None
    if len(set(prints.values())) > 1:
        detail = ", ".join(f"{k}: {str(v)[:19]}" for k, v in prints.items())
        raise ConnectiveError(f"the runs were fitted on different data ({detail}); LOO compares "
                              "models on the same data only")
    if len({tuple(sorted(o)) for o in observed.values() if o is not None}) > 1:
        raise ConnectiveError("the runs model different observed variables ("
                              + "; ".join(f"{k}: {len(o)} items" for k, o in observed.items())
                              + "); LOO compares models of the same items only")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = az.compare(idatas, ic="loo", method="stacking", scale="log")
        loos = {k: az.loo(v, pointwise=True) for k, v in idatas.items()}
    table = table.copy()
    table["pareto_k_above_0.7"] = [int((loos[k].pareto_k > 0.7).sum()) for k in table.index]
    table.index.name = "model"
    table.attrs["warnings"] = sorted({str(w.message) for w in caught
                                      if "pareto" in str(w.message).lower()})
    return table.reset_index()


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
