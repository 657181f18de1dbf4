"""Prior predictive checks (``fit --prior-only``): what the priors imply before any data.

The model is sampled without its likelihood (:func:`~connective.bayes.model.build_model`
with ``prior_only=True``; the data only scale the default priors), and each draw's
parameters give the quantities a reader can judge: standardised loadings and paths,
standardised indirect and total effects, R² of each endogenous construct and the
model-implied correlations of the items (the population the prior predicts; a data set
drawn from it has these correlations up to sampling error). Each is set against a
plausible range for survey research of this kind (``PLAUSIBLE``) and the share of prior
mass inside it is reported. A prior that makes most implied item correlations exceed 0.95
in absolute value implies absurd data (every item a copy of every other) and is flagged.

Example
-------
>>> table = implied_summary(result.idata, result.spec, result.model.layout)  # doctest: +SKIP
>>> absurd_correlations(result.idata, result.model.layout)["flagged"]  # doctest: +SKIP
False
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: plausible ranges (inclusive) of the implied quantities, for Likert surveys of attitudes
#: and behaviour: standardised loadings of reflective items .3-.95 (below .3 an item hardly
#: measures its construct, above .95 it duplicates it); standardised paths and effects within
#: ±.8 (the largest meta-analytic correlations in this field are about .5); R² up to .9;
#: item correlations -.5-.95
PLAUSIBLE = {"loading": (0.3, 0.95), "path": (-0.8, 0.8), "effect": (-0.8, 0.8),
             "r2": (0.0, 0.9), "item correlation": (-0.5, 0.95)}
#: a prior is flagged when, on average over draws, more than this share of item pairs has an
#: implied correlation above ABSURD_R
ABSURD_SHARE = 0.5
ABSURD_R = 0.95


def _summary(name: str, kind: str, x: np.ndarray) -> dict:
    x = x[np.isfinite(x)]
    lo, hi = PLAUSIBLE[kind]
    q = np.quantile(x, [0.025, 0.5, 0.975]) if x.size else [np.nan] * 3
    return {"name": name, "kind": kind, "mean": x.mean() if x.size else np.nan,
            "q2.5": q[0], "median": q[1], "q97.5": q[2], "plausible_low": lo,
            "plausible_high": hi, "share_plausible": float(np.mean((x >= lo) & (x <= hi)))
            if x.size else np.nan}


def implied_summary(idata, spec, layout) -> pd.DataFrame:
    """One row per implied quantity (standardised loadings and paths, standardised effects,
    R², and the implied item correlations pooled over pairs): prior mean, 95% interval, the
    plausible range and the share of draws inside it."""
    post = idata.posterior
    std = post["std_all"]
    rows = []
    for r in spec.partable.itertuples():
        if r.op not in ("=~", "~") or r.name not in std["std_param"].values:
            continue
        kind = "loading" if r.op == "=~" else "path"
        x = std.sel(std_param=r.name).values.ravel()
        if np.ptp(x) == 0:  # a fixed loading's std value moves, a fixed 0 does not
            continue
        rows.append(_summary(r.name, kind, np.abs(x) if kind == "loading" else x))
    if "effects_std_all" in post:
        for name in post["effects_std_all"]["effect"].values:
            rows.append(_summary(str(name), "effect",
                                 post["effects_std_all"].sel(effect=name).values.ravel()))
    targets = sorted({r.lhs for r in spec.partable.itertuples() if r.op == "~"})
    for t in targets:
        name = f"{t}~~{t}"
        if name in std["std_param"].values:
            rows.append(_summary(f"R2({t})", "r2", 1 - std.sel(std_param=name).values.ravel()))
    corr = implied_item_correlations(idata, layout)
    if corr.shape[1]:
        rows.append(_summary("items (all pairs)", "item correlation", corr.ravel()))
    return pd.DataFrame(rows)


def implied_item_correlations(idata, layout) -> np.ndarray:
    """(draws, pairs) implied correlations of the items, from each draw's parameters."""
    from connective.bayes.matrices import implied_moments

    theta = idata.posterior["parameters"].transpose("chain", "draw", "param").to_numpy()
    theta = theta.reshape(-1, theta.shape[-1])
    _, sigma = implied_moments(layout, theta)
    sd = np.sqrt(np.diagonal(sigma, axis1=-2, axis2=-1))
    r = sigma / sd[:, :, None] / sd[:, None, :]
    iu = np.triu_indices(len(layout.observed), 1)
    return r[:, iu[0], iu[1]]


def absurd_correlations(idata, layout) -> dict:
    """Whether the prior implies absurd data: ``share`` is the mean (over draws) share of
    item pairs whose implied correlation exceeds 0.95 in absolute value, ``flagged`` whether
    it exceeds one half, ``message`` the warning to print."""
    corr = implied_item_correlations(idata, layout)
    if corr.shape[1] == 0:
        return {"share": float("nan"), "flagged": False, "message": ""}
    share = float(np.mean(np.abs(corr) > ABSURD_R))
    flagged = share > ABSURD_SHARE
    message = (f"the priors imply absurd data: on average {share:.0%} of the item pairs "
               f"correlate beyond ±{ABSURD_R} (every item nearly a copy of the others); widen "
               "the loading priors or put them on the standardised scale ([std])"
               if flagged else "")
    return {"share": share, "flagged": flagged, "message": message}


def prior_check(idata, bm) -> tuple[pd.DataFrame, dict]:
    """The run folder's ``prior_checks.csv`` table and the absurd-data verdict."""
    return implied_summary(idata, bm.spec, bm.layout), absurd_correlations(idata, bm.layout)
