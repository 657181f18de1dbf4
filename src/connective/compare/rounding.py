"""Sensitivity of a posterior to the rounding of a printed matrix ([8/12] item 5).

A paper prints correlations to two or three decimals, so the matrix it was computed from
lies anywhere within half a unit of the last decimal of each. The model is refitted on
``refits`` matrices drawn uniformly within that rounding (:meth:`SummaryData.perturbed`),
reusing the compiled model (:func:`connective.bayes.sample.with_data`), and each
parameter's and effect's posterior mean is compared with the fit to the printed matrix:
the largest shift in units of its posterior SD. Shifts below a quarter SD mean the
rounding does not matter for that number; larger ones are flagged.

Example
-------
>>> table = rounding_sensitivity(result, summary, decimals=2, refits=10)  # doctest: +SKIP
>>> table.loc[table.matters, ["name", "max_shift_sd"]]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: a shift of more posterior SDs than this is flagged as mattering
MATTERS_SD = 0.25


def rounding_sensitivity(result, summary, *, decimals: int, refits: int = 10,
                         seed: int = 1) -> pd.DataFrame:
    """``name, kind, est, sd, max_shift_sd, spread_sd, matters`` for every free parameter
    and effect of ``result`` (a :class:`~connective.bayes.BayesFit` of ``summary``'s
    moment-matched rows), from ``refits`` fits to matrices perturbed within ``decimals``.
    The refits sample with the fit's own settings and seed."""
    import json

    from connective.bayes.results import augment, effects_table, parameter_table
    from connective.bayes.sample import sample, with_data

    if decimals < 0 or refits < 2:
        raise ValueError("decimals must be >= 0 and refits >= 2")
    base = _means(parameter_table(result.idata, result.spec),
                  effects_table(result.idata))
    settings = json.loads(result.idata.posterior.attrs.get("settings", "{}"))
    rng = np.random.default_rng(seed)
    bm = result.model
    shifted = []
    for _ in range(refits):
        rows = summary.perturbed(decimals, rng).frame()[list(result.spec.observed)]
        with_data(bm, rows)
        idata = sample(bm, draws=settings["draws"], tune=settings["tune"],
                       chains=settings["chains"], seed=seed, progress=False)
        augment(idata, bm, seed=seed)
        shifted.append(_means(parameter_table(idata, result.spec), effects_table(idata))["est"])
    with_data(bm, summary.frame()[list(result.spec.observed)])  # the model as it was fitted
    means = pd.concat(shifted, axis=1)
    out = base.copy()
    delta = means.sub(base["est"], axis=0).div(base["sd"], axis=0)
    out["max_shift_sd"] = delta.abs().max(axis=1)
    out["spread_sd"] = means.std(axis=1, ddof=1) / base["sd"]
    out["matters"] = out["max_shift_sd"] > MATTERS_SD
    out.attrs["note"] = (f"{refits} refits on matrices perturbed uniformly within the "
                         f"rounding of {decimals} decimals; a shift above {MATTERS_SD} "
                         "posterior SDs is flagged")
    return out.reset_index()


def _means(params: pd.DataFrame, effects: pd.DataFrame) -> pd.DataFrame:
    free = params[(params["se"] > 0) & (params["op"] != ":=")]
    a = pd.DataFrame({"name": free["lhs"] + free["op"] + free["rhs"], "kind": "parameter",
                      "est": free["est"], "sd": free["se"]})
    b = pd.DataFrame({"name": effects["effect"], "kind": effects["kind"],
                      "est": effects["est"], "sd": effects["se"]})
    return pd.concat([a, b]).drop_duplicates("name").set_index("name")
