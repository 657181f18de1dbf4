"""Posterior predictive checks of a fitted Bayesian SEM against the observed survey.

For a thinned set of posterior draws, a data set of the observed size is replicated from the
model-implied means and covariances, and its item means, SDs and correlations are compared
with the observed ones: an observed statistic outside its 95% posterior predictive interval
is a misfit the model cannot reproduce. Under the ordinal likelihood the replicated latent
responses are cut by each draw's thresholds into answers, which are compared with the
observed answers.

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
    #: share of draws whose replicated item correlations lie farther from those of a second
    #: replicate of the draw than the observed ones do (sums of squared differences): a PPP
    #: that needs no likelihood of the data, so the ordinal model has one too
    ppp_correlations: float | None = None

    def text(self) -> str:
        c, i = self.correlations, self.items
        out = (f"Posterior predictive check ({self.n_rep} replicated data sets): "
               f"{int(c['outside'].sum())} of {len(c)} observed item correlations and "
               f"{int(i['outside'].sum())} of {len(i)} item means/SDs lie outside their 95% "
               "posterior predictive intervals.")
        if self.ppp_correlations is not None:
            out += (" Posterior predictive p-value of the item correlations (their squared "
                    f"distance from the model's, per draw): {self.ppp_correlations:.3f}.")
        return out

    def plot(self):
        """Observed correlations against their predictive intervals; item SDs likewise."""
        from connective.figures import subplots

        fig, (ax1, ax2) = subplots(1, 2, figsize=(9.5, 4.4))
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
        # the legend above the panels, never over the data
        handles, names = ax1.get_legend_handles_labels()
        fig.legend(handles, names, fontsize=9, loc="upper center", ncol=3, frameon=False)
        fig.tight_layout(rect=(0, 0, 1, 0.9))
        return fig


def _answers(latent: np.ndarray, thresholds, keep: np.ndarray, items: list[str],
             data: pd.DataFrame) -> np.ndarray:
    """Replicated answers of an ordinal model: each latent response (draws, n, items) cut by
    that draw's thresholds of its item into the item's answer categories (its observed
    values, in order), so that the checks compare answers with answers."""
    th = thresholds.stack(s=("chain", "draw")).transpose("s", "threshold")
    names = [str(t).split("|")[0] for t in th["threshold"].to_numpy()]
    values = th.to_numpy()[keep]
    out = np.empty_like(latent)
    for j, item in enumerate(items):
        cuts = values[:, [k for k, name in enumerate(names) if name == item]]
        categories = np.sort(data[item].unique())
        if len(categories) != cuts.shape[1] + 1:
            raise ConnectiveError(f"item {item!r} has {len(categories)} answer categories in "
                                  f"these data, the fit {cuts.shape[1] + 1}; use the fit's data")
        code = (latent[:, :, j, None] > cuts[:, None, :]).sum(axis=-1)
        out[:, :, j] = categories[code]
    return out


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
    chol = np.linalg.cholesky(sigma)

    def replicate():
        z = rng.standard_normal((len(keep), n, p))
        reps = mu[:, None, :] + z @ np.swapaxes(chol, -1, -2)
        if "thresholds" in idata.posterior:  # ordinal: latent responses cut into answers
            reps = _answers(reps, idata.posterior["thresholds"], keep, items, data)
        mean, sd = reps.mean(axis=1), reps.std(axis=1, ddof=1)
        centred = (reps - mean[:, None, :]) / sd[:, None, :]
        return mean, sd, np.einsum("rni,rnj->rij", centred, centred) / (n - 1)

    rep_mean, rep_sd, rep_corr = replicate()
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
    # per draw, the distance of the observed and of a replicated data set's correlations
    # from those of a second replicate of that draw (its stand-in for the model's own)
    reference = replicate()[2][:, iu[0], iu[1]]
    replicated = rep_corr[:, iu[0], iu[1]]
    d_rep = ((replicated - reference) ** 2).sum(axis=1)
    d_obs = ((obs_corr[iu][None, :] - reference) ** 2).sum(axis=1)
    ppp = float(np.mean(d_rep >= d_obs))
    return PPC(items=stats, correlations=corr, n_rep=len(keep), ppp_correlations=ppp)
