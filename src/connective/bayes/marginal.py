"""Marginal per-respondent log-likelihoods of models fitted with sampled factor scores.

A model that samples every respondent's factor scores (the ordinal likelihood,
:mod:`connective.bayes.ordinal`; latent interactions later) has a per-respondent
log-likelihood *conditional* on those scores, ``log p(y_i | eta_i, theta)``. PSIS-LOO cannot
leave a respondent out of that: eta_i is informed by y_i alone, so the Pareto k are high by
construction (Merkle, Furr & Rabe-Hesketh 2019, "Bayesian comparison of latent variable
models: conditional versus marginal likelihoods", Psychometrika 84). LOO needs the
*marginal* one, with the scores integrated out for every draw s:

    log p(y_i | theta_s) = log  integral  p(y_i | eta, theta_s) N(eta; mu_s, Sigma_s) d eta

Here the integral is taken by importance sampling around the respondent's posterior (as
blavaan does for its ordinal models, where the proposal is built from the sampled scores;
blavaan's "Adventures in ordinal model likelihoods" case study, Merkle 2022):

- the proposal of respondent i is a multivariate t (``df`` = 5) located at the mean of i's
  sampled scores, with their covariance as its scale. Its tails are heavier than the
  Gaussian prior's, so the weights ``p(y|eta) N(eta) / q(eta)`` are bounded (p(y|eta) <= 1
  for answers, a probability) and have finite variance: the estimate's error is bounded
  and is estimated;
- the same ``nodes`` points of every respondent serve every draw (only the prior's moments
  and the answers' probabilities change with the draw), in antithetic pairs (u, -u);
- the numerical error of each (draw, respondent) value is the Monte Carlo SE of the
  log-mean of the weights (delta method over the pair means): ``mcse``, whose maximum and
  median the fit records (:func:`summarise_error`).

Interface for other factor-score models (e.g. [10/12]'s latent interactions): call
:func:`marginal_loglik` with, per draw s,

- ``prior_mean[s]`` (d,) and ``prior_cov[s]`` (d, d): the Gaussian prior of the latent
  variables being integrated out, given the draw's parameters (e.g. the structural
  disturbances, or the exogenous factors of a model with products of factors);
- ``conditional(s, eta)`` -> (n, K): ``log p(y_i | eta_ik, theta_s)`` for points ``eta``
  of shape (n, K, d) (respondent i's K points), any model you like;
- ``scores`` (S, n, d): the sampled latent variables of every respondent in the same
  metric (sign and scale as the prior's), for the proposal.

Example
-------
>>> import numpy as np
>>> from scipy.stats import norm
>>> y = np.array([1.0, -0.5])  # y_i = eta_i + N(0, 1) noise, eta ~ N(0, 1): y ~ N(0, 2)
>>> cond = lambda s, eta: norm.logpdf(y[:, None], eta[..., 0], 1.0)
>>> scores = np.random.default_rng(0).normal(y / 2, np.sqrt(0.5), size=(200, 2))[..., None]
>>> out = marginal_loglik(np.zeros((1, 1)), np.ones((1, 1, 1)), cond, scores, nodes=4000)
>>> bool(np.abs(out.loglik[0] - norm.logpdf(y, 0, np.sqrt(2))).max() < 5e-3)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.special import gammaln, logsumexp, ndtr

#: importance points per respondent (shared by every draw), in antithetic pairs
NODES = 64
#: degrees of freedom of the multivariate t proposal (heavier tails than the prior's)
PROPOSAL_DF = 30.0
#: the t's scale matrix as a multiple of the scores' covariance
SCALE = 1.0


@dataclass
class Marginal:
    """Marginal log-likelihood ``loglik`` (draws, respondents) and its Monte Carlo SE."""

    loglik: np.ndarray
    mcse: np.ndarray
    nodes: int

    def error_summary(self) -> dict:
        return summarise_error(self.mcse, self.nodes)


def summarise_error(mcse: np.ndarray, nodes: int) -> dict:
    """What a fit records of the integration error: its largest and median Monte Carlo SE
    over (draw, respondent) and of each respondent's mean over draws."""
    return {"method": f"importance sampling, multivariate t({PROPOSAL_DF:g}) proposal from "
                      "each respondent's sampled scores",
            "nodes": int(nodes), "max_mcse": float(np.max(mcse)),
            "median_mcse": float(np.median(mcse)),
            "max_respondent_mean_mcse": float(np.max(np.mean(mcse, axis=0)))}


def _base_points(n: int, nodes: int, d: int, rng):
    """Standard multivariate t points (n, K, d), each respondent's own (so that the
    integration errors of respondents are independent and average out in a sum of them), in
    antithetic pairs (k and k + K/2), and their log density (n, K)."""
    half = nodes // 2
    g = rng.standard_normal((n, half, d))
    w = np.sqrt(rng.chisquare(PROPOSAL_DF, size=(n, half, 1)) / PROPOSAL_DF)
    u = np.concatenate([g / w, -g / w], axis=1)
    nu = PROPOSAL_DF
    log_t = (gammaln((nu + d) / 2) - gammaln(nu / 2) - d / 2 * np.log(nu * np.pi)
             - (nu + d) / 2 * np.log1p(np.sum(u ** 2, axis=-1) / nu))
    return u, log_t


def _place(u: np.ndarray, log_t: np.ndarray, loc: np.ndarray, cov: np.ndarray):
    """The proposal's points (n, K, d) located at ``loc`` (n, d) with scale ``cov``
    (n, d, d), and their log density (n, K)."""
    d = loc.shape[1]
    L = np.linalg.cholesky(cov * SCALE + 1e-9 * np.eye(d))
    points = loc[:, None, :] + np.einsum("nij,nkj->nki", L, u)
    logdet = np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)
    return points, log_t - logdet[:, None]


def _pooled(scores: np.ndarray):
    """Mean (n, d) and covariance (n, d, d) of each respondent's sampled scores."""
    S, n, d = scores.shape
    loc = scores.mean(axis=0)
    centred = scores - loc
    cov = np.einsum("sni,snj->nij", centred, centred) / max(S - 1, 1)
    # a respondent whose scores hardly moved (or d > S) still gets a proper proposal
    return loc, cov + 1e-6 * np.eye(d)


def _log_normal(points: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(points; mean, cov) of points (n, K, d)."""
    d = mean.shape[0]
    L = np.linalg.cholesky(cov)
    diff = (points - mean).reshape(-1, d)
    sol = np.linalg.solve(L, diff.T)  # (d, n K)
    quad = np.sum(sol ** 2, axis=0).reshape(points.shape[:2])
    return -0.5 * (quad + d * np.log(2 * np.pi)) - np.log(np.diag(L)).sum()


def marginal_loglik(prior_mean: np.ndarray, prior_cov: np.ndarray,
                    conditional: Callable[[int, np.ndarray], np.ndarray],
                    scores: np.ndarray | None, *, refine: Callable | None = None,
                    nodes: int = NODES, seed: int = 0,
                    pooled: tuple[np.ndarray, np.ndarray] | None = None) -> Marginal:
    """Integrate the latent variables out of ``conditional`` for every draw (see the module
    docstring for the interface); returns the (draws, respondents) log-likelihood and SE.

    ``refine(s, loc)`` -> (mode (n, d), covariance (n, d, d)), optional: the draw's own
    conditional posterior of every respondent (e.g. a Laplace approximation started at the
    pooled mean ``loc``), which then locates and scales the proposal of draw s; without it
    the proposal is the respondent's pooled scores over all draws. The draws of
    ``prior_mean`` need not be those of ``scores``. ``pooled`` = (mean (n, d), covariance
    (n, d, d)) of the scores stands in for ``scores`` (then ``None``): the draws can then be
    integrated a block at a time (:func:`ordinal_marginal_draws`). Same inputs and seed,
    same numbers.
    """
    rng = np.random.default_rng(seed)
    nodes = max(2, nodes - nodes % 2)
    loc, cov = pooled if pooled is not None else _pooled(np.asarray(scores, dtype=float))
    u, log_t = _base_points(loc.shape[0], nodes, loc.shape[1], rng)
    points, log_q = _place(u, log_t, loc, cov)
    half = nodes // 2
    S = prior_mean.shape[0]
    n = points.shape[0]
    out = np.empty((S, n))
    se = np.empty((S, n))
    for s in range(S):
        if refine is not None:
            points, log_q = _place(u, log_t, *refine(s, loc))
        log_w = conditional(s, points) + _log_normal(points, prior_mean[s], prior_cov[s]) - log_q
        top = log_w.max(axis=1, keepdims=True)
        w = np.exp(log_w - top)
        pairs = 0.5 * (w[:, :half] + w[:, half:])  # independent units
        mean = pairs.mean(axis=1)
        out[s] = np.log(mean) + top[:, 0]
        se[s] = pairs.std(axis=1, ddof=1) / np.sqrt(half) / mean
    return Marginal(out, se, nodes)


def log_mean_exp(a: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(mean(exp(a))) along ``axis``, stably."""
    return logsumexp(a, axis=axis) - np.log(a.shape[axis])


# -- the ordinal likelihood ------------------------------------------------------------

def log_prob_between(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """log(Phi(upper) - Phi(lower)), the tails reflected as in bayes/ordinal.py."""
    sign = 1.0 - 2.0 * (lower > 0)
    p = sign * (ndtr(sign * upper) - ndtr(sign * lower))
    return np.log(np.maximum(p, 1e-300))


@dataclass
class OrdinalPieces:
    """What the ordinal model's marginal needs, per draw, in lavaan's metric: disturbances
    ``zeta`` of the structural variables with free variance are integrated out
    (``eta = A (alpha + E zeta)``, ``y* = Lambda eta + nu + e``)."""

    free: np.ndarray  # structural variables with a free disturbance variance
    loadings: np.ndarray  # (S, p, d): Lambda A E, the answers' loadings on zeta
    intercepts: np.ndarray  # (S, p): Lambda A alpha + nu
    psi: np.ndarray  # (S, d, d): the prior covariance of zeta
    lower: np.ndarray  # (S, p, K_max): each category's lower cutpoint (-inf at the bottom)
    upper: np.ndarray  # (S, p, K_max)
    #: each respondent's group (hierarchical models): loadings are then (S, G, p, d) and
    #: intercepts (S, G, p), every respondent answering with their group's
    group: np.ndarray | None = None

    def of_draw(self, s: int):
        """Loadings and intercepts of draw s: shared, (p, d) and (p,), or each
        respondent's group's, (n, p, d) and (n, p)."""
        if self.group is None:
            return self.loadings[s], self.intercepts[s]
        return self.loadings[s][self.group], self.intercepts[s][self.group]


def _latent_responses(zeta: np.ndarray, L: np.ndarray, c: np.ndarray) -> np.ndarray:
    """y* of points ``zeta`` (n, [K,] d) with loadings ``L`` shared (p, d) or each
    respondent's (n, p, d), intercepts (p,) or (n, p)."""
    if L.ndim == 2:
        return zeta @ L.T + c
    if zeta.ndim == 3:
        return np.einsum("nkd,npd->nkp", zeta, L) + c[:, None, :]
    return np.einsum("nd,npd->np", zeta, L) + c


def ordinal_pieces(layout, theta: np.ndarray, thresholds: np.ndarray,
                   n_categories: np.ndarray) -> OrdinalPieces:
    """The ordinal model's matrices per draw from ``parameters`` (S, params) and
    ``thresholds`` (S, all cutpoints in item order)."""
    from connective.bayes.matrices import model_matrices

    mats = model_matrices(layout, theta)
    m = layout.shapes["beta"][0]
    A = np.linalg.inv(np.eye(m) - mats["beta"])
    var = np.diagonal(mats["psi"], axis1=-2, axis2=-1)
    free = np.flatnonzero(np.any(var > 0, axis=0))
    LA = mats["lambda"] @ A
    intercepts = (LA @ mats["alpha"][..., None])[..., 0] + mats["nu"]
    return OrdinalPieces(free, LA[..., free], intercepts,
                         mats["psi"][..., free[:, None], free[None, :]],
                         *_cut_tables(thresholds, n_categories))


def _cut_tables(thresholds: np.ndarray, n_categories: np.ndarray):
    """(S, p, K_max) tables of each category's lower and upper cutpoint."""
    S, p = thresholds.shape[0], len(n_categories)
    kmax = int(n_categories.max())
    lower = np.full((S, p, kmax), -np.inf)
    upper = np.full((S, p, kmax), np.inf)
    start = 0
    for j, K in enumerate(n_categories):
        cut = thresholds[:, start:start + K - 1]
        lower[:, j, 1:K] = cut
        upper[:, j, :K - 1] = cut
        start += K - 1
    return lower, upper


def grouped_ordinal_pieces(group_layout, theta_g: np.ndarray, scales: np.ndarray,
                           thresholds: np.ndarray, n_categories: np.ndarray,
                           group: np.ndarray) -> OrdinalPieces:
    """The pieces of a hierarchical ordinal model (bayes/ordinal.ordinal_likelihood with
    groups): every respondent's answers load on the standard-normal scores z (prior N(0, I),
    integrated out) with their group's ``Lambda (I - B)^-1 diag(s) chol(Psi_std)``, from the
    groups' parameters ``theta_g`` (S, G, params) and the sampled metric's ``scales`` (S, m)."""
    from connective.bayes.matrices import model_matrices

    mats = model_matrices(group_layout, theta_g)
    m = group_layout.shapes["beta"][0]
    A = np.linalg.inv(np.eye(m) - mats["beta"])
    s = scales[:, None, :]  # (S, 1, m) over the groups
    M = mats["lambda"] @ A * s[:, :, None, :]
    psi_std = mats["psi"] / (s[..., :, None] * s[..., None, :])
    loadings = M @ np.linalg.cholesky(psi_std)
    intercepts = (mats["lambda"] @ (A @ mats["alpha"][..., None]))[..., 0] + mats["nu"]
    S = theta_g.shape[0]
    return OrdinalPieces(np.arange(m), loadings, intercepts,
                         np.broadcast_to(np.eye(m), (S, m, m)),
                         *_cut_tables(thresholds, n_categories), group=np.asarray(group))


def _answer_table(odata):
    """(respondents, items) tables: answered?, the category (0 where unanswered) and the
    item index, to look up every answer's cutpoints."""
    n, p = odata.n, len(odata.variables)
    codes = np.full((n, p), -1)
    codes[odata.rows, odata.items] = odata.codes
    answered = codes >= 0
    return answered, np.where(answered, codes, 0), np.broadcast_to(np.arange(p), (n, p))


def ordinal_conditional(pieces: OrdinalPieces, odata) -> Callable[[int, np.ndarray], np.ndarray]:
    """``conditional(s, zeta)`` of :func:`marginal_loglik` for coded answers ``odata``."""
    answered, safe, item = _answer_table(odata)

    def conditional(s: int, zeta: np.ndarray) -> np.ndarray:
        ystar = _latent_responses(zeta, *pieces.of_draw(s))  # (n, K, p)
        lo = pieces.lower[s][item, safe][:, None, :]
        hi = pieces.upper[s][item, safe][:, None, :]
        lp = log_prob_between(lo - ystar, hi - ystar)
        return np.where(answered[:, None, :], lp, 0.0).sum(axis=-1)

    return conditional


def ordinal_laplace(pieces: OrdinalPieces, odata, steps: int = 4) -> Callable:
    """``refine(s, start)`` of :func:`marginal_loglik`: Newton steps to each respondent's
    posterior mode of zeta given draw s, and the inverse negative Hessian there. The
    ordered probit is log-concave in y* with curvature in [-1, 0] (minus one plus the
    variance of a truncated standard normal), so Newton's steps are safe."""
    from scipy.stats import norm

    answered, safe, item = _answer_table(odata)

    def refine(s: int, start: np.ndarray):
        Lf, c = pieces.of_draw(s)
        per = "npi" if Lf.ndim == 3 else "pi"  # each respondent's loadings, or shared
        prec = np.linalg.inv(pieces.psi[s])
        lo0, hi0 = pieces.lower[s][item, safe], pieces.upper[s][item, safe]
        zeta = start.copy()
        for step in range(steps + 1):
            ystar = _latent_responses(zeta, Lf, c)
            a, b = lo0 - ystar, hi0 - ystar
            logp = log_prob_between(a, b)
            ra = np.exp(norm.logpdf(a) - logp)  # phi(a) / P (0 at -inf)
            rb = np.exp(norm.logpdf(b) - logp)
            g = np.where(answered, ra - rb, 0.0)
            aa = np.where(np.isfinite(a), a, 0.0) * ra
            bb = np.where(np.isfinite(b), b, 0.0) * rb
            h = np.where(answered, np.clip(aa - bb - g ** 2, -1.0, 0.0), 0.0)
            H = np.einsum(f"{per},np,{per.replace('i', 'j')}->nij", Lf, h, Lf) - prec
            if step == steps:  # (H is negative definite)
                break
            grad = np.einsum(f"np,{per}->ni", g, Lf) - zeta @ prec
            zeta = zeta - np.linalg.solve(H, grad[..., None])[..., 0]
        return zeta, np.linalg.inv(-H)

    return refine


def ordinal_scores(layout, theta: np.ndarray, z: np.ndarray, factor_scales: np.ndarray,
                   free: np.ndarray) -> np.ndarray:
    """The sampled disturbances in lavaan's metric, ``zeta = diag(s) chol(Psi_std) z`` (as
    bayes/ordinal.ordinal_loadings builds them), of the free ones: (S, n, d)."""
    from connective.bayes.matrices import model_matrices

    psi = model_matrices(layout, theta)["psi"]
    s = factor_scales
    psi_std = psi / (s[:, :, None] * s[:, None, :])
    sub = psi_std[:, free[:, None], free[None, :]]
    chol = np.linalg.cholesky(sub)
    zeta = np.einsum("sij,snj->sni", s[:, free, None] * chol, z[:, :, free])
    return zeta


def ordinal_marginal(layout, odata, theta: np.ndarray, thresholds: np.ndarray, z: np.ndarray,
                     factor_scales: np.ndarray, *, nodes: int = NODES, seed: int = 0,
                     pooled: tuple[np.ndarray, np.ndarray] | None = None) -> Marginal:
    """The ordinal model's marginal log-likelihood from flattened draws: ``theta``
    (S, params), ``thresholds`` (S, cutpoints), ``z`` (S, n, m) and ``factor_scales``
    (S, m), the sampled metric's scales (bayes/model._sampled_to_theta). ``pooled``: the
    proposal's pooled moments of all draws' scores (see :func:`marginal_loglik`), when
    ``z`` holds a block of the draws only."""
    pieces = ordinal_pieces(layout, theta, thresholds, odata.n_categories)
    d = len(pieces.free)
    if pooled is None:
        pooled = _pooled(ordinal_scores(layout, theta, z, factor_scales, pieces.free))
    return marginal_loglik(np.zeros((len(theta), d)), pieces.psi,
                           ordinal_conditional(pieces, odata), None,
                           refine=ordinal_laplace(pieces, odata), nodes=nodes, seed=seed,
                           pooled=pooled)


def _blocks(chains: int, draws: int, size: int):
    """(chain, first draw, end draw) blocks of at most ``size`` draws, in the order of the
    flattened (chain, draw) draws."""
    return [(c, d, min(d + size, draws)) for c in range(chains) for d in range(0, draws, size)]


def ordinal_marginal_draws(post, layout, odata, *, seed: int,
                           block_bytes: int = 256 * 2**20, groups=None) -> Marginal:
    """The marginal log-likelihood of an ordinal fit's posterior ``post`` (an xarray
    Dataset with ``parameters``, ``thresholds``, ``factor_scales`` and the scores ``z``, in
    memory or lazily on disk, e.g. a trace streamed to a zarr store), a flat (draws,
    respondents) result. The scores are read once, a block of draws at a time (at most
    ``block_bytes`` of them), for the proposal's pooled moments (each draw's proposal is
    then its own Laplace approximation); the same numbers whatever the block size.

    ``groups`` = (the groups' layout, each respondent's group) for a hierarchical fit
    (``group_parameters`` in ``post``): the standard-normal scores z are integrated out
    under each respondent's group's loadings (:func:`grouped_ordinal_pieces`)."""
    lead = ("chain", "draw")
    theta4 = post["parameters"].transpose(*lead, "param").to_numpy()
    chains, draws = theta4.shape[:2]
    S = chains * draws
    theta = theta4.reshape(S, -1)
    cuts = post["thresholds"].transpose(*lead, "threshold").to_numpy().reshape(S, -1)
    scales = post["factor_scales"].transpose(*lead, "structural").to_numpy().reshape(S, -1)
    z = post["z"].transpose(*lead, "respondent", "structural")
    n, m = z.shape[2:]
    size = max(1, int(block_bytes // (8 * n * m)))
    blocks = _blocks(chains, draws, size)
    flat = [slice(c * draws + a, c * draws + b) for c, a, b in blocks]
    if groups is not None:
        group_layout, group = groups
        theta_g = post["group_parameters"].transpose(*lead, "group", "group_param").to_numpy()
        theta_g = theta_g.reshape(S, *theta_g.shape[2:])
        d = m
    else:
        free = ordinal_pieces(layout, theta[:1], cuts[:1], odata.n_categories).free
        d = len(free)
    total, outer = np.zeros((n, d)), np.zeros((n, d, d))

    def scores(k):
        c, a, b = blocks[k]
        block = np.asarray(z[c, a:b].values)
        if groups is not None:  # the prior's metric is z's own
            return block
        return ordinal_scores(layout, theta[flat[k]], block, scales[flat[k]], free)

    for k in range(len(blocks)):  # the pooled moments, summed draw by draw in their order
        for zeta in scores(k):  # (so that any block size gives the same bits)
            total += zeta
            outer += zeta[:, :, None] * zeta[:, None, :]
    loc = total / S
    cov = (outer - S * np.einsum("ni,nj->nij", loc, loc)) / max(S - 1, 1) + 1e-6 * np.eye(d)
    parts = []
    for sl in flat:
        if groups is None:
            parts.append(ordinal_marginal(layout, odata, theta[sl], cuts[sl], None, scales[sl],
                                          seed=seed, pooled=(loc, cov)))
            continue
        pieces = grouped_ordinal_pieces(group_layout, theta_g[sl], scales[sl], cuts[sl],
                                        odata.n_categories, group)
        parts.append(marginal_loglik(np.zeros((len(pieces.psi), d)), pieces.psi,
                                     ordinal_conditional(pieces, odata), None,
                                     refine=ordinal_laplace(pieces, odata), seed=seed,
                                     pooled=(loc, cov)))
    return Marginal(np.concatenate([p.loglik for p in parts]),
                    np.concatenate([p.mcse for p in parts]), parts[0].nodes)
