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
sampling: a multivariate t proposal per respondent from their sampled disturbances (pooled
over the draws), the same points for every draw, its Monte Carlo SE kept beside it. (No
per-draw Laplace refinement, as the ordinal model's has: the products make the scores'
conditional posterior non-Gaussian; the pooled proposal is wider than each draw's
posterior, which costs precision, not correctness.)

Example
-------
>>> m = interaction_marginal_draws(post, bm, theta, seed=1)  # doctest: +SKIP
>>> m.loglik.shape  # (draws, respondents)  # doctest: +SKIP
(1000, 194)
"""

from __future__ import annotations

import numpy as np

from connective.bayes.interaction import (conditional_loglik, disturbances, latent_scores,
                                          product_terms)
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


def interaction_marginal(bm, theta: np.ndarray, z: np.ndarray, scales: np.ndarray,
                         shift: np.ndarray | None = None, thresholds: np.ndarray | None = None,
                         *, nodes: int = NODES, seed: int = 0) -> Marginal:
    """The marginal log-likelihood of a latent-interaction model ``bm`` from flattened draws:
    ``theta`` (S, params), ``z`` (S, n, m), ``scales`` (S, m), ``shift`` (S, m) (normal items)
    or ``thresholds`` (S, cutpoints) (ordinal items). Structural variables with a fixed zero
    disturbance variance are not integrated over."""
    layout = bm.layout
    terms = product_terms(bm.spec, layout)
    psi = model_matrices(layout, theta)["psi"]
    free = np.flatnonzero(np.any(np.diagonal(psi, axis1=-2, axis2=-1) > 0, axis=0))
    zeta = sampled_disturbances(layout, terms, theta, z, scales, shift)[..., free]
    m = len(layout.structural)
    data = bm.items if bm.ordinal is None else bm.ordinal

    def conditional(s: int, points: np.ndarray) -> np.ndarray:
        full = np.zeros(points.shape[:-1] + (m,))
        full[..., free] = points
        eta = latent_scores(layout, terms, theta[s], np.swapaxes(full, 0, 1))  # (K, n, m)
        cuts = None if thresholds is None else cutpoint_lists(thresholds[s],
                                                              bm.ordinal.n_categories)
        return conditional_loglik(layout, data, theta[s], eta, cuts).T  # (n, K)

    return marginal_loglik(np.zeros((len(theta), len(free))),
                           psi[..., free[:, None], free[None, :]], conditional, zeta,
                           nodes=nodes, seed=seed)


def interaction_marginal_draws(post, bm, theta: np.ndarray, *, seed: int) -> Marginal:
    """:func:`interaction_marginal` of a fit's posterior (chain, draw, ...), before its
    factor scores are dropped: a flat (draws, respondents) result."""
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
                                seed=seed)
