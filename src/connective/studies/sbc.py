"""Simulation-based calibration (Talts et al. 2018) of the Bayesian engine.

Draw parameters from the prior, simulate a data set from each draw, fit the model to it and
record the rank of the true value among (thinned) posterior draws. If prior, likelihood and
sampler are right, every parameter's ranks are uniform; a broken likelihood or prior shows as
an ECDF of the ranks that leaves its band.

The band is simultaneous: the 95% quantile of the largest |ECDF - uniform| distance over many
sets of truly uniform ranks of the same size, so one look at all rank positions keeps a 5%
false-alarm rate per parameter. With K parameters, about 5% of K leave that band by chance
(2.4 of SIMCA's 47), so the verdict uses the family-wise band as well: the 1 - 0.05/K
quantile (Bonferroni over parameters), which every parameter of a calibrated engine stays
inside with probability at least 95%.

Example
-------
>>> import numpy as np
>>> ranks = np.random.default_rng(0).integers(0, 100, size=(200, 3))
>>> band = ecdf_band(200, 100, seed=1)
>>> bool((ecdf_distance(ranks, 100) < band).all())
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connective.errors import ConnectiveError
from connective.spec import ModelSpec


def ecdf_distance(ranks: np.ndarray, n_post: int) -> np.ndarray:
    """Largest |ECDF - uniform CDF| of each column of ranks in 0..n_post-1 (NaN rows dropped)."""
    ranks = np.asarray(ranks, float)
    grid = (np.arange(n_post) + 1) / n_post
    out = []
    for col in ranks.T:
        col = col[~np.isnan(col)]
        ecdf = (col[:, None] < np.arange(1, n_post + 1)[None, :]).mean(axis=0)
        out.append(np.abs(ecdf - grid).max())
    return np.array(out)


def ecdf_band(n_iter: int, n_post: int, *, prob: float = 0.95, n_sim: int = 2000,
              seed: int = 0) -> float:
    """Simultaneous band half-width for the ECDF of ``n_iter`` uniform ranks in 0..n_post-1."""
    rng = np.random.default_rng(seed)
    sims = rng.integers(0, n_post, size=(n_iter, n_sim))
    return float(np.quantile(ecdf_distance(sims, n_post), prob))


def family_band(n_iter: int, n_post: int, n_params: int, *, prob: float = 0.95,
                seed: int = 0) -> float:
    """The band that all ``n_params`` uniform rank ECDFs stay inside together with
    probability ``prob`` (Bonferroni: each at ``1 - (1 - prob) / n_params``).

    Example
    -------
    >>> family_band(100, 101, 40, seed=1) > ecdf_band(100, 101, seed=1)
    True
    """
    level = 1 - (1 - prob) / max(n_params, 1)
    # enough uniform sets that the far quantile rests on about 20 of them
    n_sim = max(2000, int(20 / (1 - level)))
    return ecdf_band(n_iter, n_post, prob=level, n_sim=n_sim, seed=seed)


@dataclass
class SBCResult:
    """Ranks (iterations x parameters), their number of posterior draws, and the verdict."""

    ranks: pd.DataFrame
    n_post: int
    band: float
    seconds: float
    failures: list[str] = field(default_factory=list)
    family_band: float | None = None  # the family-wise (Bonferroni) band; see the module text

    @property
    def distance(self) -> pd.Series:
        return pd.Series(ecdf_distance(self.ranks.to_numpy(), self.n_post),
                         index=self.ranks.columns)

    @property
    def outside(self) -> list[str]:
        """Parameters whose rank ECDF leaves the per-parameter 95% band."""
        return [p for p, d in self.distance.items() if d > self.band]

    @property
    def verdict_band(self) -> float:
        """The band of the verdict: the family-wise one when known, else the per-parameter one."""
        return self.band if self.family_band is None else self.family_band

    @property
    def departures(self) -> list[str]:
        """Parameters whose rank ECDF leaves the family-wise band: departures from
        uniformity that chance over many parameters does not explain."""
        return [p for p, d in self.distance.items() if d > self.verdict_band]

    def text(self) -> str:
        d = self.distance
        k = len(d)
        lines = [f"SBC: {len(self.ranks)} iterations, {self.n_post} posterior draws each, "
                 f"{len(self.failures)} failed fits, {self.seconds:.0f} s",
                 f"  largest ECDF distance {d.max():.3f} ({d.idxmax()}); per-parameter 95% band "
                 f"{self.band:.3f}, family-wise band over {k} parameters {self.verdict_band:.3f}",
                 f"  outside the per-parameter band: {len(self.outside)} of {k} "
                 f"({0.05 * k:.1f} expected by chance)"
                 + (f": {', '.join(self.outside)}" if self.outside else ""),
                 "  " + ("every parameter inside the family-wise band: no departure from "
                         "uniformity" if not self.departures else
                         f"DEPARTURE from uniformity: {', '.join(self.departures)}")]
        return "\n".join(lines)

    def plot(self):
        """ECDF difference of every parameter's ranks with the simultaneous band."""
        from connective.figures import subplots

        cols = list(self.ranks.columns)
        ncol = min(6, len(cols))
        nrow = -(-len(cols) // ncol)
        fig, axes = subplots(nrow, ncol, figsize=(2.4 * ncol, 1.9 * nrow), squeeze=False,
                                 sharex=True, sharey=True)
        grid = np.arange(1, self.n_post + 1)
        for ax, col in zip(axes.ravel(), cols):
            r = self.ranks[col].dropna().to_numpy()
            ecdf = (r[:, None] < grid[None, :]).mean(axis=0)
            ax.plot(grid / self.n_post, ecdf - grid / self.n_post, lw=1,
                    color="#c0392b" if col in self.outside else "#1b5e9a")
            ax.axhspan(-self.band, self.band, color="grey", alpha=0.2)
            if self.family_band is not None:
                for sign in (-1, 1):
                    ax.axhline(sign * self.family_band, color="grey", lw=0.6, ls="--")
            ax.axhline(0, color="grey", lw=0.6)
            ax.set_title(col, fontsize=7)
        for ax in axes.ravel()[len(cols):]:
            ax.axis("off")
        fig.suptitle("SBC: ECDF of ranks minus uniform, with the 95% band per parameter (grey) "
                     "and the family-wise band (dashed)", fontsize=9)
        fig.tight_layout()
        return fig


def run_sbc(spec: ModelSpec, *, n: int = 194, iterations: int = 100, draws: int = 250,
            tune: int = 300, chains: int = 2, n_post: int = 100, seed: int = 1,
            progress: bool = True) -> SBCResult:
    """SBC of the continuous engine on ``spec`` with data sets of ``n`` respondents.

    The model is built and compiled once (on a first simulated data set, which also fixes the
    data-scaled default priors) and reused for every simulated data set.
    """
    import sys

    import pymc as pm

    from connective.bayes import build_model, sample, with_data
    from connective.bayes.matrices import implied_moments
    from connective.data.simulate import simulate

    if chains * draws < n_post:
        raise ConnectiveError(f"{chains} x {draws} posterior draws cannot be thinned to {n_post}")
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    base = simulate(spec, n, seed=seed).frame[list(spec.observed)]
    bm = build_model(spec, base)
    prior = pm.sample_prior_predictive(draws=iterations, model=bm.model,
                                       var_names=["parameters"], random_seed=seed)
    truth = prior.prior["parameters"].isel(chain=0)  # (draw, param)
    names = [str(p) for p in truth["param"].values]
    ranks = np.full((iterations, len(names)), np.nan)
    failures = []
    observed = list(bm.layout.observed)
    for k in range(iterations):
        theta = truth.isel(draw=k).to_numpy()
        mu, sigma = implied_moments(bm.layout, theta)
        x = rng.multivariate_normal(mu, sigma, size=n, method="eigh")
        try:
            with_data(bm, pd.DataFrame(x, columns=observed), keep_priors=True)
            idata = sample(bm, draws=draws, tune=tune, chains=chains, cores=1,
                           seed=int(rng.integers(2**31)), progress=False)
        except Exception as exc:  # noqa: BLE001 -- a failed fit is counted, not hidden
            failures.append(f"iteration {k}: {type(exc).__name__}: {exc}")
            continue
        post = idata.posterior["parameters"].stack(s=("chain", "draw")).transpose("s", "param")
        post = post.sel(param=names).to_numpy()
        keep = np.linspace(0, post.shape[0] - 1, n_post).round().astype(int)  # thin evenly
        ranks[k] = (post[keep] < theta[None, :]).sum(axis=0)
        if progress:
            sys.stderr.write(f"\rSBC {k + 1}/{iterations}")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    table = pd.DataFrame(ranks, columns=names).dropna(how="all")
    return SBCResult(ranks=table, n_post=n_post + 1, band=ecdf_band(len(table), n_post + 1),
                     family_band=family_band(len(table), n_post + 1, len(names)),
                     seconds=time.perf_counter() - start, failures=failures)
