"""Bayesian fit indices as blavaan's ``blavFitIndices`` (Garnier-Villarreal & Jorgensen 2020).

Per posterior draw, the chi-square of the observed data against the draw's implied moments
(the PPP's observed discrepancy, ``chisq_obs``) is rescaled by the effective number of
parameters (blavaan's default ``rescale = "devM"`` with ``pD = "loo"``: the PSIS-LOO
``p_loo``)::

    p         number of modelled moments: v(v+1)/2 covariances + v means
    nonc      max(chisq - p, 0)                      (chisq - pD - (p - pD))
    BRMSEA    sqrt(nonc / ((p - pD) N))
    BGammaHat v / (v + 2 nonc / N);   adjBGammaHat 1 - p / (p - pD) (1 - BGammaHat)
    BMc       exp(-nonc / (2 N))

and, against the independence model (every item's mean and variance free, nothing else;
``chisq0``, ``pD0`` of its own posterior, draws paired by index as blavaan pairs them)::

    BCFI      1 - nonc / (chisq0 - p)
    BTLI      ((chisq0 - pD0)/(p - pD0) - (chisq - pD)/(p - pD)) / ((chisq0 - pD0)/(p - pD0) - 1)
    BNFI      ((chisq0 - pD0) - (chisq - pD)) / (chisq0 - pD0)

blavaan samples the independence model with MCMC; here its posterior is drawn exactly (no
sampler): the items are independent, so each item's SD is drawn from its one-dimensional
marginal posterior on a fine grid (inverse CDF) and its mean given the SD from a normal,
under connective's default priors of an item's SD (``halfnormal(s_j)``) and intercept
(``normal(mean_j, 10 s_j)``).

As blavaan, indices are computed for complete continuous data of single-level models only.

Example
-------
>>> rng = np.random.default_rng(3)
>>> y = rng.multivariate_normal([0, 0, 0], [[1, .5, .5], [.5, 1, .5], [.5, .5, 1]], size=300)
>>> draws = independence_draws(y, (2, 500), rng)
>>> idx = fit_indices(np.full((2, 500), 3.0), 7.0, draws["chisq"], float(draws["p_loo"]),
...                   n=300, n_vars=3)
>>> round(float(idx["BCFI"].mean()), 3), round(float(idx["BRMSEA"].mean()), 3)
(1.0, 0.0)
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from connective.bayes.likelihood import chisq_discrepancy

#: the indices in blavaan's order
INDICES = ("BRMSEA", "BGammaHat", "adjBGammaHat", "BMc", "BCFI", "BTLI", "BNFI")
#: which pD (blavaan's default, ``pD = "loo"``)
PD_KIND = "p_loo"


def fit_indices(chisq, pd_model: float, chisq_null=None, pd_null: float | None = None, *,
                n: int, n_vars: int, meanstructure: bool = True) -> dict[str, np.ndarray]:
    """The indices per draw (blavaan's ``BayesChiFit`` with ``rescale = "devM"``): arrays of
    the shape of ``chisq``; the incremental ones (BCFI, BTLI, BNFI) only with the
    independence model's ``chisq_null`` and ``pd_null``."""
    chisq = np.asarray(chisq, float)
    p = n_vars * (n_vars + 1) / 2 + (n_vars if meanstructure else 0)
    df = p - pd_model
    nonc = np.clip(chisq - p, 0.0, None)
    out = {"BRMSEA": np.sqrt(nonc / (df * n)),
           "BGammaHat": n_vars / (n_vars + 2 * nonc / n)}
    out["adjBGammaHat"] = 1 - (p / df) * (1 - out["BGammaHat"])
    out["BMc"] = np.exp(-0.5 * nonc / n)
    if chisq_null is not None:
        chisq_null = np.asarray(chisq_null, float)
        df0 = p - pd_null
        out["BCFI"] = 1 - nonc / (chisq_null - p)
        tli0 = (chisq_null - pd_null) / df0
        out["BTLI"] = (tli0 - (chisq - pd_model) / df) / (tli0 - 1)
        out["BNFI"] = ((chisq_null - pd_null) - (chisq - pd_model)) / (chisq_null - pd_null)
    return out


def independence_draws(values: np.ndarray, shape: tuple[int, ...],
                       rng: np.random.Generator, *, grid: int = 4000) -> dict:
    """Exact posterior draws of the independence model of complete data ``values`` (n x v):
    per draw its chi-square against the data (``chisq``, of ``shape``) and its ``p_loo``.
    """
    import arviz as az
    from scipy.stats import norm

    from connective.bayes.priors import SD_SCALE

    values = np.asarray(values, float)
    n, v = values.shape
    size = int(np.prod(shape))
    ybar, s2 = values.mean(axis=0), values.var(axis=0)  # divide by n, as the likelihood
    s_prior = values.std(axis=0, ddof=1)
    mu = np.empty((size, v))
    sd = np.empty((size, v))
    for j in range(v):
        tau = 10 * s_prior[j]  # the intercept's prior sd (its mean: the item's mean)
        sigma = np.sqrt(s2[j]) * np.linspace(0.3, 3.0, grid)
        # log p(sigma | y), the intercept integrated out (normal prior, normal likelihood)
        logp = (norm.logpdf(sigma, scale=SD_SCALE * s_prior[j])
                - n * np.log(sigma) - n * s2[j] / (2 * sigma ** 2)
                + norm.logpdf(ybar[j], loc=ybar[j], scale=np.sqrt(sigma ** 2 / n + tau ** 2)))
        w = np.exp(logp - logp.max())
        cdf = np.cumsum(w) / w.sum()
        sd[:, j] = np.interp(rng.uniform(size=size), cdf, sigma)
        prec = n / sd[:, j] ** 2 + 1 / tau ** 2
        mean = (n * ybar[j] / sd[:, j] ** 2 + ybar[j] / tau ** 2) / prec
        mu[:, j] = mean + rng.standard_normal(size) / np.sqrt(prec)
    cov = np.atleast_2d(np.cov(values, rowvar=False, bias=True))
    sigma = np.zeros((size, v, v))
    sigma[:, np.arange(v), np.arange(v)] = sd ** 2
    chisq = chisq_discrepancy(n, values.mean(axis=0), cov, mu, sigma)
    # per respondent, for p_loo: the sum of the items' normal log densities
    ll = norm.logpdf(values[None, :, :], loc=mu[:, None, :], scale=sd[:, None, :]).sum(axis=2)
    ll = ll.reshape(*shape, n) if len(shape) == 2 else ll.reshape(1, size, n)
    idata = az.from_dict(posterior={"sd": sd.reshape(ll.shape[:2] + (v,))},
                          log_likelihood={"y": ll})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p_loo = float(az.loo(idata).p_loo)
    return {"chisq": chisq.reshape(shape), "p_loo": p_loo}


def summarize_indices(indices: dict[str, np.ndarray], *, prob: float = 0.95) -> pd.DataFrame:
    """Posterior mean, median, SD, Monte Carlo SE of the mean and 95% highest-density
    interval of each index (blavaan's ``summary(..., prob)``: EAP, Median, SD, HPD)."""
    import arviz as az

    rows = []
    for name in INDICES:
        if name not in indices:
            continue
        x = np.asarray(indices[name], float)
        chains = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x[None, :]
        lo, hi = az.hdi(x.ravel(), hdi_prob=prob)
        rows.append({"index": name, "mean": float(x.mean()), "median": float(np.median(x)),
                     "sd": float(x.std(ddof=1)),
                     "mcse_mean": float(az.mcse(az.convert_to_dataset({"x": chains}),
                                                    method="mean")["x"]),
                     "lower": float(lo), "upper": float(hi)})
    return pd.DataFrame(rows)


def add_independence_model(idata, stats, rng: np.random.Generator) -> None:
    """Store the independence model's chi-square draws (``chisq_null`` in the
    ``discrepancy`` group, paired with ``chisq_obs``) and its ``p_loo`` (posterior attrs) in
    ``idata``, for complete data (as blavaan); nothing otherwise."""
    if not stats.complete or "discrepancy" not in idata.groups():
        idata.posterior.attrs["fit_indices"] = "not computed: missing answers"
        return
    disc = idata.discrepancy
    shape = disc["chisq_obs"].shape
    null = independence_draws(stats.values, shape, rng)
    disc["chisq_null"] = (disc["chisq_obs"].dims, null["chisq"])
    idata.posterior.attrs["p_loo_null"] = null["p_loo"]


def posterior_fit_indices(idata) -> pd.DataFrame | str:
    """The fit indices of a saved fit (``posterior.nc``) summarised, or a sentence saying why
    there are none. The table's attrs carry ``pD`` (the model's ``p_loo``) and ``pD_null``.

    Example
    -------
    >>> posterior_fit_indices(az.from_netcdf("runs/fit/posterior.nc"))  # doctest: +SKIP
    """
    import json

    import arviz as az

    post = idata.posterior
    if "discrepancy" not in idata.groups() or "chisq_obs" not in idata.discrepancy:
        return ("No Bayesian fit indices: they need the chi-square of the observed data per "
                "draw, which " + ("the ordinal likelihood has not" if
                                  post.attrs.get("likelihood") == "ordinal" else
                                  "this run lacks"))
    if "groups" in post.attrs:
        return "No Bayesian fit indices: blavaan defines them for single-level models only."
    disc = idata.discrepancy
    if "chisq_null" not in disc:
        if post.attrs.get("fit_indices", "").startswith("not computed"):
            return ("No Bayesian fit indices: missing answers (blavaan's indices need the "
                    "saturated model of the observed data, not computed here for missing "
                    "data).")
        return ("No Bayesian fit indices: this run predates them (refit it to get BRMSEA, "
                "BCFI and the others).")
    observed = json.loads(post.attrs["observed"])
    n = int(idata.log_likelihood.sizes["respondent"])
    with warnings.catch_warnings():  # a high Pareto k is reported in the table's attrs
        warnings.simplefilter("ignore")
        loo = az.loo(idata, pointwise=True)
    pd_model = float(loo.p_loo)
    pd_null = float(post.attrs["p_loo_null"])
    means = "parameters" in post and any(str(p).endswith("~1")
                                         for p in post["parameters"]["param"].values)
    table = summarize_indices(fit_indices(disc["chisq_obs"].values, pd_model,
                                          disc["chisq_null"].values, pd_null, n=n,
                                          n_vars=len(observed), meanstructure=means))
    table.attrs.update(pD=pd_model, pD_null=pd_null, n=n, n_vars=len(observed),
                       max_pareto_k=float(np.nanmax(loo.pareto_k.values)))
    return table
