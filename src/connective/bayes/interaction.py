"""Latent interactions in the Bayesian engine: a likelihood conditional on sampled factor
scores in which an outcome's structural equation holds the product of two factors.

The marginal normal likelihood cannot hold ``OCA ~ CID + EFF + g*CID:EFF``: the product of
two normal factors is not normal, so the answers are not multivariate normal. Here, as in
the ordinal model (:mod:`connective.bayes.ordinal`), each respondent's factor scores are
sampled. With ordinal items non-centred: the disturbances ``zeta_i = diag(s) chol(Psi_std)
z_i`` with ``z_i ~ N(0, I)`` (``s`` the sampled metric's scales, :mod:`connective.bayes.model`),
and the scores computed from them in topological order (the product makes ``(I - B)^-1``
nonlinear); with normal items centred (the scores themselves, shifted with the item
intercepts, their density that of the disturbances they imply: :func:`centred_scores`,
which says what it gained). Either way::

    eta_ik = alpha_k + sum_j B_kj eta_ij + sum_(a:b -> k) gamma eta_ia eta_ib + zeta_ik

Exogenous factors come first, so every product is of scores already computed. Given the
scores the answers are independent: normal items ``y_ij ~ N(nu_j + lambda_j' eta_i,
theta_jj)`` (a missing answer has no term), ordinal items the ordered probit of
:mod:`connective.bayes.ordinal` on ``y*_ij = lambda_j' eta_i``. This is the Bayesian
product-of-factors model of Arminger & Muthen (1998) and Lee, Song & Tang (2007), the
structural equation of latent moderated structural equations (LMS; Klein & Moosbrugger
2000) sampled instead of integrated by quadrature. It was chosen over LMS because it is
the ordinal model's machinery (one sampler, ordinal items for free, any number of products
and moderators, second-stage products of endogenous factors) and LMS's quadrature grows as
(points)^(moderators); LMS was not implemented, so no measured comparison backs the choice.

The interaction coefficient's default prior is that of a regression with the product as
source: ``normal(0, 2.5 s_t / (s_a s_b))``, four times wider into a factor sampled with
unit residual variance (see :mod:`connective.bayes.priors`).

Standardised interaction (Wall & Amemiya 2001; Moosbrugger, Schermelleh-Engel, Kelava &
Klein 2009): ``gamma sd(a) sd(b) / sd(y)``, the coefficient of the product of the two
standardised factors in the standardised outcome's equation. ``sd(y)`` (and every sd the
standardised solution uses) includes the product's variance, from the factors' moments as
if the linear part were Gaussian (Isserlis): ``var(ab) = var(a) var(b) + cov(a, b)^2`` for
centred factors, ``cov(ab, c) = 0``; exact when the factors of every product are not
themselves outcomes of a product (:func:`implied_moments_with_products`).

LOO uses the marginal per-respondent likelihood, the scores integrated out for every draw
(:mod:`connective.bayes.interaction_marginal`: over the Gaussian disturbances, whose
push-forward through :func:`latent_scores` the scores are). The conditional per-respondent
log-likelihood (given the sampled scores) is kept beside it as ``loglik_respondent``, as in
the ordinal model; a LOO on it is not a LOO over respondents' answers.

Example
-------
>>> from connective.spec import parse_model
>>> from connective.bayes.matrices import build_layout
>>> spec = parse_model("A =~ a1 + a2 + a3\\nB =~ b1 + b2 + b3\\nY =~ y1 + y2 + y3\\n"
...                    "Y ~ A + B + g*A:B")
>>> [(t.outcome, t.a, t.b, t.name) for t in product_terms(spec, build_layout(spec))]
[(2, 0, 1, 'Y~A:B')]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from connective.errors import ModelError

if TYPE_CHECKING:
    from connective.bayes.matrices import Layout
    from connective.spec import ModelSpec


#: the factor scores' parametrisation with normal items: "centred" (shifted with the
#: intercepts, :func:`centred_scores`) or "non-centred" (as with ordinal items); a switch for
#: scripts/benchmark_bayes.py, which measures the two side by side
NORMAL_SCORES = "centred"


@dataclass(frozen=True)
class ProductTerm:
    """A latent product term in layout positions: outcome, factors ``a`` and ``b`` (indices
    in ``layout.structural``), the coefficient's parameter index and name."""

    outcome: int
    a: int
    b: int
    param: int
    name: str


def product_terms(spec: ModelSpec, layout: Layout) -> list[ProductTerm]:
    """The latent product terms of ``spec`` (:attr:`ModelSpec.latent_interactions`) in the
    positions of ``layout``; rows sharing a label point to the one parameter."""
    eta = {v: k for k, v in enumerate(layout.structural)}
    index = {p.name: k for k, p in enumerate(layout.params)}
    table = spec.partable.set_index("name")
    first = spec.partable[spec.partable["free"] > 0].drop_duplicates("free").set_index("free")
    out = []
    for i in spec.latent_interactions:
        free = int(table.at[i.name, "free"])
        if free <= 0:
            raise ModelError(f"{spec.source}: the interaction {i.name} is fixed; the Bayesian "
                             "engine estimates latent products only as free coefficients: "
                             "drop the fixed value or the term")
        out.append(ProductTerm(eta[i.outcome], eta[i.a], eta[i.b],
                               index[first.at[free, "name"]], i.name))
    return out


def check_interaction_model(spec: ModelSpec, layout: Layout) -> None:
    """Refuse what the factor-score likelihood cannot hold, naming what to do."""
    src = spec.source
    composites = [i.product for i in spec.interactions
                  if i.a in spec.composites or i.b in spec.composites]
    if composites:  # pragma: no cover -- build_layout refuses composites first
        raise ModelError(f"{src}: the product(s) {', '.join(composites)} involve a composite")
    plain = [v for v in layout.structural if v not in spec.indicators]
    if plain:
        raise ModelError(
            f"{src}: with a latent interaction ({spec.latent_interactions[0].product}) every "
            f"structural variable must be a factor; {', '.join(plain)} enter(s) the "
            "structural model as observed variable(s). Give each a single-item factor with "
            "a small fixed residual variance (e.g. 'SEX =~ sex' and 'sex ~~ 0.01*sex') or "
            "drop it from the model")
    higher = [v for v in layout.structural if any(i in layout.structural
                                                   for i in spec.indicators.get(v, ()))]
    if higher:
        raise ModelError(f"{src}: latent interactions with higher-order factors "
                         f"({', '.join(higher)}) are not supported; fit the first-order "
                         "model or use PLS (connective pls MODEL --data FILE --out DIR)")
    if not layout.recursive:
        raise ModelError(f"{src}: latent interactions need a recursive structural model (no "
                         "feedback loops): the factor scores are computed in order")
    from connective.bayes.ordinal import refuse_item_covariances

    refuse_item_covariances(layout, f"{src}: residual covariances between items ({{}}) are "
                            "not supported with latent interactions (the answers are "
                            "independent given the factor scores); drop them")


def product_depth(layout: Layout, terms: list[ProductTerm]) -> int:
    """How many products can follow one another along a path (1 when no factor of a product
    is an outcome of, or downstream of, another product): the number of passes
    :func:`latent_scores` needs."""
    m = layout.shapes["beta"][0]
    reach = np.eye(m, dtype=bool)  # reach[i, j]: j is i or upstream of i
    for i in range(m):
        for j in range(i):
            if layout.cell_source("beta", i, j) != ("fixed", 0.0):
                reach[i] |= reach[j]
    depth: dict[int, int] = {}
    for _ in terms:  # a fixed point after at most len(terms) rounds
        for p, t in enumerate(terms):
            up = [depth.get(q, 1) for q, u in enumerate(terms)
                  if reach[t.a, u.outcome] or reach[t.b, u.outcome]]
            depth[p] = 1 + max(up, default=0)
    return max(depth.values(), default=0)


def latent_scores(layout: Layout, terms: list[ProductTerm], theta, zeta):
    """Factor scores from disturbances: ``eta_k = alpha_k + B_k. eta + gamma eta_a eta_b +
    zeta_k`` (see the module docstring), as ``eta = eta_lin + (eta_a eta_b) (A G)'`` with
    ``eta_lin = (alpha + zeta) A'``, ``A = (I - B)^-1`` and ``G`` the coefficients of the
    products in their outcomes' equations, repeated once per product along the longest path
    (:func:`product_depth`; B is triangular, so that is exact). ``theta`` (n_params,) or numpy
    (..., n_params); ``zeta`` (n, m) or numpy (..., n, m), in the model's metric; numpy or
    pytensor alike.

    Example
    -------
    >>> from connective.spec import parse_model
    >>> from connective.bayes.matrices import build_layout
    >>> spec = parse_model("A =~ a1 + a2\\nB =~ b1 + b2\\nY =~ y1 + y2\\nY ~ 0.5*A + B + A:B")
    >>> layout = build_layout(spec)
    >>> theta = np.zeros(layout.n_params); theta[layout.index("Y~B")] = 1.0
    >>> theta[layout.index("Y~A:B")] = 2.0
    >>> latent_scores(layout, product_terms(spec, layout), theta,
    ...               np.array([[1.0, 3.0, 0.1]])).tolist()
    [[1.0, 3.0, 9.6]]
    """
    from connective.bayes.matrices import model_matrices, structural_inverse

    if isinstance(theta, np.ndarray) and isinstance(zeta, np.ndarray):
        return score_function(layout, terms, theta)(zeta)
    import pytensor.tensor as pt

    mats = model_matrices(layout, theta)
    m = layout.shapes["beta"][0]
    At = structural_inverse(layout, mats["beta"]).T
    eta_lin = (zeta + mats["alpha"][None, :]) @ At
    G = pt.zeros((len(terms), m))
    for p, t in enumerate(terms):
        G = pt.set_subtensor(G[p, t.outcome], theta[t.param])
    return _with_products(layout, terms, eta_lin, G @ At)


def _with_products(layout: Layout, terms: list[ProductTerm], eta_lin, AGt, depth=None):
    """The scores from their linear part and the products' total effects ``AGt``."""
    if not terms:
        return eta_lin
    a = np.array([t.a for t in terms])
    b = np.array([t.b for t in terms])
    eta = eta_lin
    for _ in range(product_depth(layout, terms) if depth is None else depth):
        eta = eta_lin + (eta[..., a] * eta[..., b]) @ AGt
    return eta


def score_function(layout: Layout, terms: list[ProductTerm], theta: np.ndarray):
    """:func:`latent_scores` (numpy) with the parameters' matrices computed once: a function
    of ``zeta`` (..., n, m), for evaluating many points of one draw (the marginal
    likelihood's); ``theta`` (n_params,) or (..., n_params) broadcasting with ``zeta``'s
    leading dims."""
    from connective.bayes.matrices import model_matrices

    mats = model_matrices(layout, theta)
    m = layout.shapes["beta"][0]
    At = np.swapaxes(np.linalg.inv(np.eye(m) - mats["beta"]), -1, -2)
    alpha = mats["alpha"][..., None, :]
    G = np.zeros(theta.shape[:-1] + (len(terms), m))  # products x outcomes
    for p, t in enumerate(terms):
        G[..., p, t.outcome] = theta[..., t.param]
    AGt = G @ At  # the products' total effects on every factor
    depth = product_depth(layout, terms)

    def scores(zeta: np.ndarray) -> np.ndarray:
        return _with_products(layout, terms, (zeta + alpha) @ At, AGt, depth)

    return scores


def implied_moments_with_products(spec: ModelSpec, layout: Layout, theta: np.ndarray):
    """Model-implied means and covariances (observed and structural) with the products'
    contributions, from Gaussian moments of the linear part (see the module docstring):
    returns ``(mu, sigma, cov_eta)`` as :func:`~connective.bayes.matrices.implied_moments`
    with ``structural=True`` (numpy, any leading dims).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> from connective.bayes.matrices import build_layout
    >>> spec = parse_model("A =~ 1*a1\\nB =~ 1*b1\\nY =~ 1*y1\\nY ~ 0*A + 0*B + A:B\\n"
    ...                    "a1 ~~ 0*a1\\nb1 ~~ 0*b1\\ny1 ~~ 0*y1")
    >>> layout = build_layout(spec)
    >>> given = {"Y~A:B": 1.0, "A~~A": 2.0, "B~~B": 3.0, "Y~~Y": 1.0, "A~~B": 1.0}
    >>> theta = np.array([given.get(name, 0.0) for name in layout.names])
    >>> round(float(implied_moments_with_products(spec, layout, theta)[2][2, 2]), 6)
    8.0
    """
    from connective.bayes.matrices import implied_moments, model_matrices
    from connective.moments import product_moments

    theta = np.asarray(theta, dtype=float)
    mu, sigma, S = implied_moments(layout, theta, structural=True)  # the linear part
    terms = product_terms(spec, layout)
    if not terms:
        return mu, sigma, S
    mats = model_matrices(layout, theta)
    A = np.linalg.inv(np.eye(layout.shapes["beta"][0]) - mats["beta"])
    mean = (A @ mats["alpha"][..., None])[..., 0]
    cov_eta, mean_eta = product_moments(A, S, mean, [(t.outcome, t.a, t.b, theta[..., t.param])
                                                     for t in terms])
    lam = mats["lambda"]
    sigma = lam @ cov_eta @ np.swapaxes(lam, -1, -2) + mats["theta"]
    mu = mats["nu"] + (lam @ mean_eta[..., None])[..., 0]
    return mu, sigma, cov_eta


@dataclass
class ItemData:
    """Normal items' answered cells: respondent and item of every answer, and its value."""

    variables: list[str]
    n: int
    rows: np.ndarray
    items: np.ndarray
    values: np.ndarray


def item_data(frame: pd.DataFrame, variables: list[str]) -> ItemData:
    """The answered (respondent, item) cells of ``variables`` in respondent-major order."""
    Y = frame[list(variables)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    rows, items = np.nonzero(~np.isnan(Y))
    return ItemData(list(variables), len(frame), rows, items, Y[rows, items])


def conditional_loglik(layout: Layout, data, theta: np.ndarray, eta: np.ndarray,
                       cutpoints: list[np.ndarray] | None = None) -> np.ndarray:
    """Per-respondent log-likelihood of the answers given the factor scores, one draw
    (numpy): ``theta`` (n_params,), ``eta`` (n, m) or (S, n, m) (S score draws per respondent,
    e.g. the nodes of a marginal likelihood's integral); ``data`` an :class:`ItemData`
    (normal items) or :class:`~connective.bayes.ordinal.OrdinalData` with ``cutpoints``.
    Returns (n,) or (S, n).

    Example
    -------
    >>> from connective.spec import parse_model
    >>> from connective.bayes.matrices import build_layout
    >>> layout = build_layout(parse_model("F =~ x + w"))
    >>> d = item_data(pd.DataFrame({"x": [0.0, 1.0], "w": [0.0, None]}), ["x", "w"])
    >>> theta = np.array([1.0 if "~~" in name else 0.0 for name in layout.names])
    >>> conditional_loglik(layout, d, theta, np.zeros((2, 1))).round(4).tolist()
    [-1.8379, -1.4189]
    """
    from scipy.stats import norm

    from connective.bayes.matrices import model_matrices

    mats = model_matrices(layout, np.asarray(theta, dtype=float))
    ystar = eta @ mats["lambda"].T + mats["nu"]  # (..., n, p)
    cells = ystar[..., data.rows, data.items]
    if cutpoints is None:
        sd = np.sqrt(np.diagonal(mats["theta"]))[data.items]
        lp = norm.logpdf(data.values, cells, sd)
    else:
        lo = np.array([-np.inf if c == 0 else cutpoints[j][c - 1]
                       for j, c in zip(data.items, data.codes)])
        hi = np.array([np.inf if c == len(cutpoints[j]) else cutpoints[j][c]
                       for j, c in zip(data.items, data.codes)])
        lp = np.log(np.maximum(norm.cdf(hi - cells) - norm.cdf(lo - cells), 1e-300))
    out = np.zeros(lp.shape[:-1] + (data.n,))
    np.add.at(out, (..., data.rows), lp)
    return out


# -- in the pm.Model (bayes/model.py keeps the frame) ----------------------------------

def interaction_likelihood(pm, pt, spec: ModelSpec, layout: Layout, theta, scales,
                           frame: pd.DataFrame, initvals: dict, used: dict, odata=None):
    """Factor scores, the products in their outcomes' equations and the answers' likelihood
    (normal items, or ordinal ones when ``odata`` is given), in the model context. Returns
    the :class:`ItemData` of normal items (None for ordinal)."""
    from connective.bayes import ordinal
    from connective.bayes.matrices import model_matrices

    terms = product_terms(spec, layout)
    mats = model_matrices(layout, theta)
    z = ordinal.factor_scores(pm, layout, frame, initvals)
    psi_std = mats["psi"] / (scales[:, None] * scales[None, :])
    correlated = any(matrix == "psi" for matrix, _, _ in layout.covariances.values())
    chol = pt.linalg.cholesky(psi_std) if correlated else pt.diag(pt.sqrt(pt.diagonal(psi_std)))
    pm.Deterministic("factor_scales", scales, dims="structural")  # for the marginal (LOO)
    if odata is None and NORMAL_SCORES == "centred":  # shifted with the intercepts
        eta = centred_scores(pm, pt, layout, terms, theta, mats, scales, chol, z, frame)
    else:  # ordinal items: non-centred, as in bayes/ordinal.py
        eta = latent_scores(layout, terms, theta, (z @ chol.T) * scales[None, :])
    ystar = eta @ mats["lambda"].T + mats["nu"][None, :]
    if odata is not None:
        # the cutpoints' sampling scale: the latent responses' SD from the linear part
        ML, _ = ordinal.ordinal_loadings(pt, layout, theta, scales)
        item_sd = pt.sqrt(pt.sum(ML ** 2, axis=1) + 1.0)
        bounds = ordinal.answer_bounds(pm, pt, odata, item_sd, initvals, used)
        ordinal.answer_likelihood(pm, pt, odata, ystar, bounds)
        return None
    data = item_data(frame, list(layout.observed))
    cells = ystar[data.rows, data.items]
    sd = pt.sqrt(pt.diagonal(mats["theta"]))[data.items]
    y = pm.Data("item_answers", data.values)
    lp = -0.5 * ((y - cells) / sd) ** 2 - pt.log(sd) - 0.5 * np.log(2.0 * np.pi)
    p = len(data.variables)
    if len(data.rows) < data.n * p:  # missing answers
        per_respondent = pt.inc_subtensor(pt.zeros(data.n)[data.rows], lp)
    else:
        per_respondent = lp.reshape((data.n, p)).sum(axis=1)
    pm.Deterministic("loglik_respondent", per_respondent, dims="respondent")
    pm.Potential("loglik", lp.sum())
    return data


def item_means(frame: pd.DataFrame, variables: list[str]) -> np.ndarray:
    """Each item's mean over its answers (the centre :func:`centred_scores` uses)."""
    Y = frame[list(variables)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return np.nanmean(Y, axis=0)


def disturbances(layout: Layout, terms: list[ProductTerm], theta, eta):
    """The structural disturbances of factor scores ``eta`` (n, m), the inverse of
    :func:`latent_scores`: ``zeta = eta - alpha - eta B' - (eta_a eta_b) G``; numpy (any
    leading dims of ``theta`` (..., n_params) and ``eta`` (..., n, m)) or pytensor alike."""
    from connective.bayes.matrices import model_matrices

    mats = model_matrices(layout, theta)
    if isinstance(eta, np.ndarray):
        zeta = eta - mats["alpha"][..., None, :] - eta @ np.swapaxes(mats["beta"], -1, -2)
        for t in terms:
            zeta[..., t.outcome] -= theta[..., t.param, None] * eta[..., t.a] * eta[..., t.b]
        return zeta
    import pytensor.tensor as pt

    zeta = eta - mats["alpha"][None, :] - eta @ mats["beta"].T
    for t in terms:
        zeta = pt.inc_subtensor(zeta[:, t.outcome], -theta[t.param] * eta[:, t.a] * eta[:, t.b])
    return zeta


def centred_scores(pm, pt, layout: Layout, terms: list[ProductTerm], theta, mats: dict,
                   scales, chol, v, frame: pd.DataFrame):
    """Centred factor scores for normal items: the sampled ``v`` (respondent x structural,
    the std_lv metric) are the scores ``eta = (v + h) s`` themselves, their density that of
    the disturbances they imply (:func:`disturbances`), ``zeta / s ~ N(0, Psi_std)``: the map
    from ``v`` to ``zeta / s`` is triangular with unit diagonal (a recursive model), so no
    Jacobian, and the model is the one the non-centred scores of the ordinal items define.
    ``h`` shifts every factor's scores (the same for every respondent) by the mean its items'
    intercepts imply: per factor ``-sum_j (l_j / th_j) (nu_j - ybar_j) / (1 + sum_j l_j^2 /
    th_j)`` (``l`` the std_lv loadings, ``th`` the residual variances, ``ybar`` the item
    means); a shift by a function of the parameters has unit Jacobian too. Kept as
    ``score_shift`` for the marginal likelihood.

    Why (4 data sets of scripts/studies/moderation.lav x 2 seeds, N = 194, 2 x 500 draws,
    interaction 0; scripts/benchmark_bayes.py --only interaction shows the two
    parametrisations side by side on one data set): the non-centred scores ``z ~ N(0, I)`` of the
    ordinal model mixed slowly here: the intercepts trade off against the scores' mean
    (``nu_j + lambda_j mean(eta)`` is what the data pin, a ridge; the smallest ESS, 61-111,
    were intercepts') and the factor correlation and loadings against the scores (non-centred
    scores move when they change). With the shift the median smallest ESS went from 80 to
    107; centred and shifted to 134, and that of the interaction from 94-194 to 336-879."""
    ybar = pm.Data("item_means", item_means(frame, list(layout.observed)))
    lam = mats["lambda"] * scales[None, :]
    prec = 1.0 / pt.diagonal(mats["theta"])
    info = pt.sum(lam ** 2 * prec[:, None], axis=0)
    h = -((lam * prec[:, None]).T @ (mats["nu"] - ybar)) / (1.0 + info)
    h = pm.Deterministic("score_shift", h, dims="structural")
    eta = (v + h[None, :]) * scales[None, :]
    zs = pt.linalg.solve_triangular(chol, (disturbances(layout, terms, theta, eta)
                                           / scales[None, :]).T, lower=True)
    n = len(frame)
    # the density of zeta / s, less the N(0, I) prior v already has (ordinal.factor_scores)
    pm.Potential("centred_scores", -0.5 * pt.sum(zs ** 2) - n * pt.sum(pt.log(pt.diagonal(chol)))
                 + 0.5 * pt.sum(v ** 2))
    return eta


def with_new_data(bm, frame: pd.DataFrame) -> None:
    """:func:`connective.bayes.sample.with_data` for a latent-interaction model with normal
    items: point ``bm`` (and its compiled model) at ``frame``, without recompiling. The
    factor scores are one per respondent and the answers' cells are indices of the graph,
    so ``frame`` must have as many respondents and the same answered cells; then every data
    container (the answers, their means, the data-scaled priors) and the starting values are
    replaced, and the same seed gives the draws a model built on ``frame`` gives.

    Example
    -------
    >>> with_new_data(bm, next_frame)  # doctest: +SKIP
    >>> idata = sample(bm, seed=2)  # doctest: +SKIP
    """
    import pymc as pm

    from connective.bayes.model import build_model
    from connective.bayes.sample import recompile_with_data
    from connective.errors import ConnectiveError

    if not bm.interactions or bm.ordinal is not None:
        raise ConnectiveError("with_new_data takes a latent-interaction model with normal items; "
                              "build a new model for other data")
    fresh = build_model(bm.spec, frame, likelihood=bm.likelihood,
                        priors=bm.options.get("priors") or None)
    if fresh.items.n != bm.items.n or not (np.array_equal(fresh.items.rows, bm.items.rows)
                                           and np.array_equal(fresh.items.items, bm.items.items)):
        raise ConnectiveError("the new data have other respondents or other answered cells "
                              "than the data the model was built on; build a new model for them")
    updates = {var.name: var.get_value() for var in fresh.model.data_vars}
    with bm.model:
        pm.set_data(updates)
    bm.initvals = fresh.initvals
    recompile_with_data(bm, updates)
    bm.stats, bm.priors, bm.items = fresh.stats, fresh.priors, fresh.items
