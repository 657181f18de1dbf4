"""Posterior predictive checks of a fitted Bayesian SEM against the observed survey.

For a thinned set of posterior draws, a data set of the observed size is replicated from the
model-implied means and covariances, and its item means, SDs and correlations are compared
with the observed ones: an observed statistic outside its 95% posterior predictive interval
is a misfit the model cannot reproduce.

Example
-------
>>> checks = posterior_predictive(spec, idata, frame)  # doctest: +SKIP
>>> checks.correlations.query("outside").head()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from connective.errors import ConnectiveError
from connective.spec import ModelSpec


@dataclass
class PPC:
    """Item statistics and correlations: observed, predictive mean and 95% interval."""

    items: pd.DataFrame  # item, stat (mean/sd), observed, pred_mean, lower, upper, outside
    correlations: pd.DataFrame  # item1, item2, observed, pred_mean, lower, upper, outside
    n_rep: int

    def text(self) -> str:
        c, i = self.correlations, self.items
        return (f"Posterior predictive check ({self.n_rep} replicated data sets): "
                f"{int(c['outside'].sum())} of {len(c)} observed item correlations and "
                f"{int(i['outside'].sum())} of {len(i)} item means/SDs lie outside their 95% "
                "posterior predictive intervals.")

    def plot(self):
        """Observed correlations against their predictive intervals; item SDs likewise."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2))
        for ax, table, what in ((ax1, self.correlations, "item correlations"),
                                (ax2, self.items[self.items["stat"] == "sd"], "item SDs")):
            order = np.argsort(table["pred_mean"].to_numpy())
            x = np.arange(len(table))
            t = table.iloc[order]
            ax.fill_between(x, t["lower"], t["upper"], color="#9ecae1", label="95% predictive")
            ax.plot(x, t["pred_mean"], color="#1b5e9a", lw=1, label="predictive mean")
            ax.scatter(x, t["observed"], s=8, color=np.where(t["outside"], "#c0392b", "#222222"),
                       zorder=3, label="observed")
            ax.set_title(f"{what}: observed vs replicated", fontsize=10)
            ax.set_xlabel(f"{what} (sorted by predictive mean)")
            ax.set_xticks([])
        ax1.legend(fontsize=8)
        fig.tight_layout()
        return fig


def posterior_predictive(spec: ModelSpec, idata, frame: pd.DataFrame, *, n_rep: int = 200,
                         seed: int = 0) -> PPC:
    """Replicate ``n_rep`` data sets of the observed size from thinned posterior draws."""
    from connective.bayes.matrices import build_layout, implied_moments

    layout = build_layout(spec)
    items = list(layout.observed)
    missing = [c for c in items if c not in frame.columns]
    if missing:
        raise ConnectiveError(f"the data lack the model's columns {missing[:5]}")
    data = frame[items].astype(float).dropna()
    if len(data) < 3:
        raise ConnectiveError("too few complete rows for a posterior predictive check")
    draws = idata.posterior["parameters"].stack(s=("chain", "draw")).transpose("s", "param")
    draws = draws.sel(param=list(layout.names)).to_numpy()
    keep = np.linspace(0, len(draws) - 1, min(n_rep, len(draws))).round().astype(int)
    mu, sigma = implied_moments(layout, draws[keep])
    rng = np.random.default_rng(seed)
    n, p = data.shape
    z = rng.standard_normal((len(keep), n, p))
    chol = np.linalg.cholesky(sigma)
    reps = mu[:, None, :] + z @ np.swapaxes(chol, -1, -2)
    rep_mean, rep_sd = reps.mean(axis=1), reps.std(axis=1, ddof=1)
    centred = (reps - rep_mean[:, None, :]) / rep_sd[:, None, :]
    rep_corr = np.einsum("rni,rnj->rij", centred, centred) / (n - 1)
    obs_corr = data.corr().to_numpy()
    iu = np.triu_indices(p, k=1)

    def summarise(observed, replicated):
        lo, hi = np.quantile(replicated, [0.025, 0.975], axis=0)
        return {"observed": observed, "pred_mean": replicated.mean(axis=0), "lower": lo,
                "upper": hi, "outside": (observed < lo) | (observed > hi)}

    corr = pd.DataFrame({"item1": np.array(items)[iu[0]], "item2": np.array(items)[iu[1]],
                         **summarise(obs_corr[iu], rep_corr[:, iu[0], iu[1]])})
    stats = pd.concat([
        pd.DataFrame({"item": items, "stat": "mean",
                      **summarise(data.mean().to_numpy(), rep_mean)}),
        pd.DataFrame({"item": items, "stat": "sd",
                      **summarise(data.std(ddof=1).to_numpy(), rep_sd)})], ignore_index=True)
    return PPC(items=stats, correlations=corr, n_rep=len(keep))
