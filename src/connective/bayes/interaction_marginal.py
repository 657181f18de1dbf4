"""The marginal per-respondent log-likelihood of a latent-interaction fit, for LOO.

A fit of :mod:`connective.bayes.interaction` samples every respondent's factor scores, so its
``loglik_respondent`` is conditional on them and PSIS-LOO cannot leave a respondent out of it
(see :mod:`connective.bayes.marginal`). Its marginal one integrates the scores out, per draw
s. The scores are not Gaussian (the product), but they are a deterministic function of the
structural disturbances ``zeta ~ N(0, Psi_s)``, which are (the exogenous factors' own
variation and the outcomes' disturbances)::

    log p(y_i | theta_s) = log integral p(y_i | eta(zeta, theta_s), theta_s) N(zeta; 0, Psi_s) d zeta

with ``eta(zeta, theta)`` = :func:`~connective.bayes.interaction.latent_scores` and
``p(y | eta)`` = :func:`~connective.bayes.interaction.conditional_loglik` (normal or ordinal
items). The integral is :func:`connective.bayes.marginal.marginal_loglik`'s importance
sampling: a multivariate t proposal per respondent, the same standard points for every
draw, its Monte Carlo SE kept beside it. With normal items the proposal of draw s sits at
the respondent's posterior mode given s (Gauss-Newton: the answers are linear in the scores,
the scores quadratic in the disturbances); with ordinal items at the mode of the ordered
probit given s (Newton steps from the draw's own sampled disturbances). The pooled scores
over draws, the ordinal proposal before, are wider than each draw's posterior: on one
N = 194 fit its largest MC SE was 0.98 (scripts/loo_interaction_ordinal.py measures both).

Example
-------
>>> m = interaction_marginal_draws(post, bm, theta, seed=1)  # doctest: +SKIP
>>> m.loglik.shape  # (draws, respondents)  # doctest: +SKIP
(1000, 194)
"""

from __future__ import annotations

import numpy as np

from connective.bayes.interaction import (conditional_loglik, disturbances, latent_scores,
                                          product_terms, score_function)
from connective.bayes.marginal import NODES, Marginal, marginal_loglik
from connective.bayes.matrices import model_matrices


def sampled_disturbances(layout, terms, theta: np.ndarray, z: np.ndarray, scales: np.ndarray,
                         shift: np.ndarray | None = None) -> np.ndarray:
    """The sampled disturbances in the model's metric, as
    :func:`~connective.bayes.interaction.interaction_likelihood` builds the scores:
    ``theta`` (S, params), ``z`` (S, n, m), ``scales`` (S, m); normal items (``shift``, the
    ``score_shift`` (S, m), given): centred scores ``eta = (z + h) s`` and their
    :func:`~connective.bayes.interaction.disturbances`; ordinal items: non-centred,
    ``zeta = diag(s) chol(Psi_std) z``. Returns (S, n, m)."""
    if shift is not None:
        eta = (z + shift[:, None, :]) * scales[:, None, :]
        return disturbances(layout, terms, theta, eta)
    psi = model_matrices(layout, theta)["psi"]
    chol = np.linalg.cholesky(psi / (scales[:, :, None] * scales[:, None, :]))
    return np.einsum("sij,snj->sni", scales[:, :, None] * chol, z)


def cutpoint_lists(thresholds: np.ndarray, n_categories: np.ndarray) -> list[np.ndarray]:
    """One draw's cutpoints (all items' in item order) split per item."""
    out, start = [], 0
    for K in n_categories:
        out.append(thresholds[start:start + K - 1])
        start += K - 1
    return out


def _dense_answers(data):
    """Normal items' answers as a (respondents, items) table with 0 where unanswered, and
    the table of which are answered."""
    Y = np.zeros((data.n, len(data.variables)))
    answered = np.zeros_like(Y, dtype=bool)
    Y[data.rows, data.items] = data.values
    answered[data.rows, data.items] = True
    return Y, answered


def normal_conditional(layout, terms, theta, free, data):
    """``conditional(s, zeta)`` of :func:`~connective.bayes.marginal.marginal_loglik` for
    normal items (dense tables: the answered cells' normal log densities summed), and
    ``refine(s, start)``: Gauss-Newton steps to each respondent's posterior mode of the
    disturbances given draw s (the scores' Jacobian by forward differences; the answers are
    linear in the scores, the scores quadratic in the disturbances), with the inverse
    Gauss-Newton Hessian there as the proposal's scale."""
    Y, answered = _dense_answers(data)
    m = len(layout.structural)
    mats = model_matrices(layout, theta)
    sd = np.sqrt(np.diagonal(mats["theta"], axis1=-2, axis2=-1))  # (S, p)
    prec = [np.linalg.inv(c) for c in mats["psi"][:, free[:, None], free[None, :]]]

    cache: dict = {}

    def scores(s, points):  # one draw's score function, kept while its points are evaluated
        if cache.get("draw") != s:
            cache.update(draw=s, f=score_function(layout, terms, theta[s]))
        full = np.zeros(points.shape[:-1] + (m,))
        full[..., free] = points
        return cache["f"](full)

    complete = bool(answered.all())
    # each respondent's normalising constants, per draw: (S, n)
    constants = -(answered[None] * (np.log(sd)[:, None, :] + 0.5 * np.log(2 * np.pi))).sum(-1)

    def conditional(s: int, points: np.ndarray) -> np.ndarray:
        eta = scores(s, points)  # (n, K, m): the score function takes any leading dims
        resid = (Y[:, None, :] - eta @ mats["lambda"][s].T - mats["nu"][s]) / sd[s]
        if not complete:
            resid = np.where(answered[:, None, :], resid, 0.0)
        return constants[s][:, None] - 0.5 * np.einsum("nkp,nkp->nk", resid, resid)

    def refine(s: int, start: np.ndarray, steps: int = 2, eps: float = 1e-6):
        lam, nu = mats["lambda"][s], mats["nu"][s]
        w = answered / sd[s] ** 2
        d = len(free)
        zeta = start.copy()
        for step in range(steps + 1):
            # the scores at zeta and at d forward steps, in one call
            moved = zeta[:, None, :] + np.concatenate([np.zeros((1, d)), eps * np.eye(d)])
            e = scores(s, moved)  # (n, d + 1, m)
            e0 = e[:, 0]
            J = np.swapaxes(e[:, 1:] - e0[:, None], 1, 2) / eps  # (n, m, d)
            LJ = lam @ J  # (n, p, d)
            H = np.swapaxes(LJ * w[..., None], 1, 2) @ LJ + prec[s]
            if step == steps:
                break
            r = np.where(answered, Y - e0 @ lam.T - nu, 0.0)
            g = (np.swapaxes(LJ, 1, 2) @ (w * r)[..., None])[..., 0] - zeta @ prec[s]
            zeta = zeta + np.linalg.solve(H, g[..., None])[..., 0]
        return zeta, np.linalg.inv(H)

    return conditional, refine


def ordinal_item_conditional(layout, terms, theta, free, odata, thresholds: np.ndarray,
                             own: np.ndarray):
    """:func:`normal_conditional` for ordinal items (ordered probit, latent responses
    ``y* = nu + Lambda eta + e``, ``e ~ N(0, 1)``): ``conditional(s, zeta)`` on dense
    (respondent, item) tables of each answer's cutpoints, and ``refine(s, start)``: Newton
    steps to each respondent's posterior mode of the disturbances given draw s, started at
    the draw's own sampled disturbances ``own`` (S, n, d) (the pooled mean ``start`` is
    ignored: a draw's mode lies near its own scores, not near their mean over draws). The
    Hessian is Gauss-Newton's (the scores' Jacobian by forward differences, their second
    derivatives left out) with the ordered probit's curvature in y*, which lies in
    [-1, 0]: it is negative definite, and its inverse there is the proposal's scale."""
    from scipy.stats import norm

    from connective.bayes.marginal import _answer_table, _cut_tables, log_prob_between

    answered, safe, item = _answer_table(odata)
    lower, upper = _cut_tables(thresholds, odata.n_categories)  # (S, p, K_max)
    m = len(layout.structural)
    mats = model_matrices(layout, theta)
    prec = [np.linalg.inv(c) for c in mats["psi"][:, free[:, None], free[None, :]]]
    cache: dict = {}

    def scores(s, points):
        if cache.get("draw") != s:
            cache.update(draw=s, f=score_function(layout, terms, theta[s]),
                         lo=lower[s][item, safe], hi=upper[s][item, safe])
        full = np.zeros(points.shape[:-1] + (m,))
        full[..., free] = points
        return cache["f"](full)

    def conditional(s: int, points: np.ndarray) -> np.ndarray:
        ystar = scores(s, points) @ mats["lambda"][s].T + mats["nu"][s]  # (n, K, p)
        lp = log_prob_between(cache["lo"][:, None, :] - ystar, cache["hi"][:, None, :] - ystar)
        return np.where(answered[:, None, :], lp, 0.0).sum(axis=-1)

    def refine(s: int, start: np.ndarray, steps: int = 3, eps: float = 1e-6):
        lam, nu = mats["lambda"][s], mats["nu"][s]
        d = len(free)
        zeta = own[s].copy()
        for step in range(steps + 1):
            moved = zeta[:, None, :] + np.concatenate([np.zeros((1, d)), eps * np.eye(d)])
            e = scores(s, moved)  # (n, d + 1, m)
            e0 = e[:, 0]
            LJ = lam @ (np.swapaxes(e[:, 1:] - e0[:, None], 1, 2) / eps)  # (n, p, d)
            ystar = e0 @ lam.T + nu
            a, b = cache["lo"] - ystar, cache["hi"] - ystar
            logp = log_prob_between(a, b)
            ra = np.exp(norm.logpdf(a) - logp)  # phi(a) / P (0 at -inf)
            rb = np.exp(norm.logpdf(b) - logp)
            g = np.where(answered, ra - rb, 0.0)  # d log P / d y*
            aa = np.where(np.isfinite(a), a, 0.0) * ra
            bb = np.where(np.isfinite(b), b, 0.0) * rb
            h = np.where(answered, np.clip(aa - bb - g ** 2, -1.0, 0.0), 0.0)
            H = np.swapaxes(LJ * h[..., None], 1, 2) @ LJ - prec[s]
            if step == steps:
                break
            grad = (np.swapaxes(LJ, 1, 2) @ g[..., None])[..., 0] - zeta @ prec[s]
            new = zeta - np.linalg.solve(H, grad[..., None])[..., 0]
            zeta = np.where(np.isfinite(new).all(axis=1, keepdims=True), new, zeta)
        return zeta, np.linalg.inv(-H)

    return conditional, refine


def interaction_marginal(bm, theta: np.ndarray, z: np.ndarray, scales: np.ndarray,
                         shift: np.ndarray | None = None, thresholds: np.ndarray | None = None,
                         *, nodes: int = NODES, seed: int = 0,
                         pooled_proposal: bool = False) -> Marginal:
    """The marginal log-likelihood of a latent-interaction model ``bm`` from flattened draws:
    ``theta`` (S, params), ``z`` (S, n, m), ``scales`` (S, m), ``shift`` (S, m) (normal items)
    or ``thresholds`` (S, cutpoints) (ordinal items). Structural variables with a fixed zero
    disturbance variance are not integrated over. The proposal of draw s sits at each
    respondent's posterior mode given s: Gauss-Newton for normal items
    (:func:`normal_conditional`), Newton on the ordered probit for ordinal ones
    (:func:`ordinal_item_conditional`). ``pooled_proposal=True`` (ordinal items) uses the
    earlier proposal instead, the respondent's scores pooled over draws, to measure against
    (scripts/loo_interaction_ordinal.py)."""
    layout = bm.layout
    terms = product_terms(bm.spec, layout)
    psi = model_matrices(layout, theta)["psi"]
    free = np.flatnonzero(np.any(np.diagonal(psi, axis1=-2, axis2=-1) > 0, axis=0))
    zeta = sampled_disturbances(layout, terms, theta, z, scales, shift)[..., free]
    prior_cov = psi[..., free[:, None], free[None, :]]
    if bm.ordinal is None:
        conditional, refine = normal_conditional(layout, terms, theta, free, bm.items)
        return marginal_loglik(np.zeros((len(theta), len(free))), prior_cov, conditional, zeta,
                               refine=refine, nodes=nodes, seed=seed)
    if pooled_proposal:  # the proposal of earlier versions, kept to measure against
        m = len(layout.structural)

        def pooled_conditional(s: int, points: np.ndarray) -> np.ndarray:
            full = np.zeros(points.shape[:-1] + (m,))
            full[..., free] = points
            eta = latent_scores(layout, terms, theta[s], np.swapaxes(full, 0, 1))  # (K, n, m)
            cuts = cutpoint_lists(thresholds[s], bm.ordinal.n_categories)
            return conditional_loglik(layout, bm.ordinal, theta[s], eta, cuts).T  # (n, K)

        return marginal_loglik(np.zeros((len(theta), len(free))), prior_cov,
                               pooled_conditional, zeta, nodes=nodes, seed=seed)
    conditional, refine = ordinal_item_conditional(layout, terms, theta, free, bm.ordinal,
                                                   thresholds, zeta)
    return marginal_loglik(np.zeros((len(theta), len(free))), prior_cov, conditional, zeta,
                           refine=refine, nodes=nodes, seed=seed)


def interaction_marginal_draws(post, bm, theta: np.ndarray, *, seed: int,
                               **options) -> Marginal:
    """:func:`interaction_marginal` of a fit's posterior (chain, draw, ...), before its
    factor scores are dropped: a flat (draws, respondents) result; ``options`` go to
    :func:`interaction_marginal`."""
    lead = ("chain", "draw")
    flat = theta.reshape(-1, theta.shape[-1])
    S = flat.shape[0]
    z = post["z"].transpose(*lead, "respondent", "structural").to_numpy()
    scales = post["factor_scales"].transpose(*lead, "structural").to_numpy().reshape(S, -1)
    shift = (post["score_shift"].transpose(*lead, "structural").to_numpy().reshape(S, -1)
             if "score_shift" in post else None)
    cuts = (post["thresholds"].transpose(*lead, "threshold").to_numpy().reshape(S, -1)
            if bm.ordinal is not None else None)
    return interaction_marginal(bm, flat, z.reshape(S, *z.shape[2:]), scales, shift, cuts,
                                seed=seed, **options)
