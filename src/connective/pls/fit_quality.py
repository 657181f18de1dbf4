"""Model fit and collinearity of a PLS / PLSc solution, as SmartPLS and seminr report them:
SRMR of the saturated model, outer VIF of every indicator, inner VIF and Cohen's f² of every
path. Written by ``connective pls`` as ``quality.csv`` (one row per number).

SRMR (Henseler et al. 2014) is the root mean square of the differences between the observed
indicator correlations and those the estimated measurement model implies with the construct
correlations left free (the saturated model): between blocks ``loading_i * loading_k *
r(construct_j, construct_l)``; within a block ``loading_i * loading_k`` for a common factor
(PLSc) and the observed correlations for a composite (PLS, whose blocks are not modelled);
over the lower triangle with the diagonal. Below .08 is the usual bound.

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data(n=2000, seed=1)
>>> round(srmr(estimate_pls(spec, frame, consistent=True)), 2)
0.01
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def implied_correlations(result) -> np.ndarray:
    """The indicator correlations the estimated (saturated) model implies."""
    model, fit = result.model, result.fit
    lam, C, block = fit["loadings"], fit["corr"], model.block
    implied = np.outer(lam, lam) * C[np.ix_(block, block)]
    consistent = bool(result.settings.get("consistent"))
    for j in range(model.n_constructs):
        idx = model.block_columns(j)
        if not consistent or not model.reflective[j]:
            implied[np.ix_(idx, idx)] = result.R[np.ix_(idx, idx)]
    np.fill_diagonal(implied, 1.0)
    return implied


def srmr(result) -> float:
    """SRMR of the saturated model (see the module doc)."""
    low = np.tril_indices(len(result.model.columns))
    gap = result.R[low] - implied_correlations(result)[low]
    return float(np.sqrt(np.mean(gap ** 2)))


def quality_table(result) -> pd.DataFrame:
    """``measure, lhs, rhs, value``: srmr; outer_vif (construct, indicator); inner_vif and
    f2 (target, source)."""
    rows = [("srmr", "", "", srmr(result))]
    for (construct, item), r in result.measurement.iterrows():
        rows.append(("outer_vif", construct, item, float(r["vif"])))
    for (source, target), r in result.paths.iterrows():
        rows += [("inner_vif", target, source, float(r["vif"])),
                 ("f2", target, source, float(r["f2"]))]
    return pd.DataFrame(rows, columns=["measure", "lhs", "rhs", "value"])
