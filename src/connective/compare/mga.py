"""The PLS multigroup analysis beside its Bayesian counterpart: the Bayesian SEM fitted in
each group on its own, and the posterior of the difference of every standardised path
(std.all, group 1 minus group 2; draws of independent posteriors paired by index).

Why two single-group fits and not a partially pooled model: with two groups a between-group
SD rests on two values, its posterior follows its prior (connective's hierarchical model
warns below five groups), so pooling would shrink the difference by an amount the prior
decides. Two separate fits answer the question PLS-MGA asks: do the groups' paths differ?
``p_greater`` = P(group 1's path > group 2's | data) sits beside PLS-MGA's one-sided p (which
estimates P(group 1's path <= group 2's) from the bootstrap).

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> import numpy as np
>>> spec, frame = example_data(160)
>>> res = estimate_pls(spec, frame)
>>> bayes = bayes_group_differences(res, np.arange(160) < 80, draws=200, tune=200,
...                                 chains=2, seed=1)  # doctest: +SKIP
>>> bayes.table().columns.tolist()[:4]  # doctest: +SKIP
['source', 'target', 'bayes_group1', 'bayes_group2']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from connective.bayes.predictive import fit_row, pls_rows
from connective.pls.mga import group_mask


@dataclass(eq=False)
class BayesGroupDifferences:
    """Per path: the groups' posterior means of the standardised path, the difference's
    mean, 95% interval and P(difference > 0); ``fits`` the two fits' convergence."""

    paths: pd.DataFrame
    fits: pd.DataFrame
    labels: tuple[str, str]

    @property
    def converged(self) -> bool:
        return bool(self.fits["converged"].all())

    def table(self) -> pd.DataFrame:
        return self.paths

    def verdict(self) -> str:
        if self.converged:
            return "both groups' Bayesian fits passed the convergence checks"
        bad = ", ".join(self.fits.loc[~self.fits["converged"], "group"])
        return (f"the Bayesian fit of {bad} failed the convergence checks (max R-hat "
                f"{self.fits['max_r_hat'].max():.3f}): its differences are not trustworthy; "
                "raise --bayes-draws/--bayes-tune")


def bayes_group_differences(result, first, *, labels: tuple[str, str] = ("group 1", "group 2"),
                            draws: int = 500, tune: int = 500, chains: int = 2,
                            seed: int | None = None, **fit_options) -> BayesGroupDifferences:
    """Fit ``result``'s model (a PLSResult: its rows and spec) with the Bayesian engine in
    each group of ``first`` (True: group 1) and summarise the differences of the
    standardised paths."""
    from connective.bayes import fit as bayes_fit
    from connective.bayes.tables import _interval

    g = group_mask(result, first)
    frame = pls_rows(result)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2)]
    names = [f"{t}~{s}" for s, t in result.spec.paths]
    draws_by_group, rows = [], []
    for sel, label, s in zip((g, ~g), labels, seeds):
        fitted = bayes_fit(result.spec, frame[sel], draws=draws, tune=tune, chains=chains,
                           seed=s, **fit_options)
        std = fitted.idata.posterior["std_all"].stack(s=("chain", "draw"))
        draws_by_group.append(std.sel(std_param=names).transpose("s", "std_param").to_numpy())
        rows.append({"group": label, **fit_row(fitted, -1, int(sel.sum())), "seed": s})
    d1, d2 = draws_by_group
    k = min(len(d1), len(d2))
    diff = d1[:k] - d2[:k]
    lo, hi = _interval(diff[:, None, :], axis=(0, 1))
    paths = pd.DataFrame({"source": [s for s, _ in result.spec.paths],
                          "target": [t for _, t in result.spec.paths],
                          "bayes_group1": d1.mean(0), "bayes_group2": d2.mean(0),
                          "bayes_diff": diff.mean(0), "bayes_diff_lower": lo,
                          "bayes_diff_upper": hi, "p_greater": (diff > 0).mean(0)})
    return BayesGroupDifferences(paths=paths.set_index(["source", "target"]),
                                 fits=pd.DataFrame(rows), labels=tuple(labels))


def beside_pls(mga, bayes: BayesGroupDifferences) -> pd.DataFrame:
    """PLS-MGA's table with the Bayesian differences joined per path."""
    cols = ["group1_beta", "group2_beta", "diff", "pls_mga_p", "perm_p"]
    out = mga.table()[cols].join(bayes.table(), how="left")
    out["bayes_converged"] = bayes.converged
    return out


__all__ = ["BayesGroupDifferences", "bayes_group_differences", "beside_pls"]
