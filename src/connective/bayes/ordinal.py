"""The ordinal likelihood: Likert answers as ordered categories (ordered probit).

Each item j has a latent response ``y*_ij = lambda_j' eta_i + e_ij`` with ``e_ij ~ N(0, 1)``
(lavaan's *theta* parameterisation: item residual variances fixed at 1, item intercepts at
0) and ordered cutpoints ``tau_j1 < ... < tau_j,K_j-1`` of its own; the answer is category
``k`` when ``tau_j,k-1 < y*_ij <= tau_jk``. Factor scores are non-centred,
``eta_i = (I - B)^-1 (alpha + L z_i)``, ``z_i ~ N(0, I)``, ``L L' = Psi``, and sampled
whitened (:func:`whitened_scores`): as ``u_i`` with ``z_i = m_i + R^-1 u_i``, where ``m_i``
and ``R' R`` are the scores' posterior mean and precision had each latent response been seen
at its answer's normal score. A missing answer simply has no term; the per-respondent
log-likelihood (for LOO) is the sum over that respondent's answered items, conditional on
the respondent's factor scores.

Cutpoints have ``normal(0, 5)`` priors (ordered). They are sampled standardised, in SDs of
the item's latent response (which grows with the item's loadings), started at the probit of
the cumulative proportions (lavaan's values on that scale).

Example
-------
>>> import pandas as pd
>>> coded = code_items(pd.DataFrame({"a": [1, 2, 3, 2], "b": [2, 4, 3, None]}), ["a", "b"])
>>> coded.n_categories.tolist(), coded.rows.tolist(), coded.codes.tolist()
([3, 3], [0, 0, 1, 1, 2, 2, 3], [0, 0, 1, 2, 2, 1, 1])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from connective.errors import DataError, ModelError

if TYPE_CHECKING:
    from connective.bayes.matrices import Layout
    from connective.spec import ModelSpec

#: prior SD of every cutpoint (latent responses have residual SD 1)
CUTPOINT_SD = 5.0
#: how the answers' summed log-likelihood enters the log-density: "fused", one Op with its
#: analytic gradient (bayes/ordered_probit_op.py), or "graph", wave 1's elementwise PyTensor
#: graph (the same value; kept so scripts/benchmark_bayes.py can time both)
ANSWER_LOGP = "fused"
#: the open bound of the end categories in the cutpoint tables (their -inf / +inf)
OPEN_BOUND = 1e4
#: how the factor scores are sampled: "whitened" (:func:`whitened_scores`, the default) or
#: "non-centred", wave 1's standard-normal scores (kept so scripts/benchmark_bayes.py can
#: time both; the latent-interaction model keeps them). The flagship model, 4 x 1,000
#: draws at target_accept 0.8, seeds 1-2, one run of the benchmark's ordinal lines: 20.1-23.3
#: leapfrog steps per draw against 31.0, a smallest bulk ESS of 1,677-1,730 against
#: 810-1,015, 2.3-3.2x the effective draws per gradient (at 0.6, the whitened scores' rate,
#: bayes/sample.ORDINAL_TARGET_ACCEPT: 15 steps and 2,279-2,771). Whitening with the scale
#: alone (no mean) was worse than none (2.5 effective draws per 1,000 gradients against 4.3),
#: as was a diagonal R (3.1-3.2).
SCORES = "whitened"
#: the factor-score variables of a fit (respondents x factors per draw): the standard-normal
#: scores z and, when whitened, the sampled z_whitened
SCORE_VARIABLES = ("z", "z_whitened")


@dataclass
class OrdinalData:
    """Answered (respondent, item) pairs coded 0..K_j-1, with each item's categories."""

    variables: list[str]
    n: int
    rows: np.ndarray  # respondent index of every answer
    items: np.ndarray  # item index of every answer
    codes: np.ndarray  # category index 0..K_j - 1
    categories: list[list[float]]  # the answer values of each item, in order

    @property
    def n_categories(self) -> np.ndarray:
        return np.array([len(c) for c in self.categories])

    def start_cutpoints(self, scale: float = 1.0) -> list[np.ndarray]:
        """lavaan-like starting cutpoints: probit of the cumulative proportions x scale."""
        from scipy.special import ndtri

        out = []
        for j, cats in enumerate(self.categories):
            counts = np.bincount(self.codes[self.items == j], minlength=len(cats))
            cum = np.cumsum(counts)[:-1] / counts.sum()
            out.append(ndtri(np.clip(cum, 1e-4, 1 - 1e-4)) * scale)
        return out


def code_items(frame: pd.DataFrame, variables: list[str]) -> OrdinalData:
    """Code the answers of ``variables`` as ordered categories (their sorted distinct values).

    Raises :class:`~connective.errors.DataError` for non-integer answers, an item with one
    category only, and a category nobody chose between an item's lowest and highest answer
    (its two cutpoints could not be told apart), naming the item and the category.

    Example
    -------
    >>> code_items(pd.DataFrame({"x": [1, 2, 4, 4]}), ["x"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    connective.errors.DataError: item 'x': nobody chose category 3 ...
    """
    missing = [v for v in variables if v not in frame.columns]
    if missing:
        raise DataError(f"the data have no column(s) {', '.join(missing)}, which the model uses")
    rows, items, codes, categories = [], [], [], []
    for j, v in enumerate(variables):
        values = pd.to_numeric(frame[v], errors="coerce")
        bad = values.isna() & frame[v].notna()
        if bad.any():
            raise DataError(f"item {v!r} has non-numeric answers (e.g. {frame[v][bad].iloc[0]!r});"
                            " the ordinal likelihood needs answers coded as whole numbers")
        x = values.to_numpy(dtype=float)
        seen = ~np.isnan(x)
        if not np.allclose(x[seen], np.round(x[seen])):
            raise DataError(f"item {v!r} has non-integer answers (e.g. "
                            f"{x[seen][~np.isclose(x[seen], np.round(x[seen]))][0]:g}); the "
                            "ordinal likelihood needs Likert answers coded as whole numbers: "
                            "use --likelihood normal for continuous items")
        cats = np.unique(x[seen])
        if len(cats) < 2:
            raise DataError(f"item {v!r} has a single answer category; it carries no "
                            "information: drop it from the model")
        full = np.arange(cats[0], cats[-1] + 1)
        empty = sorted(set(full) - set(cats))
        if empty:
            raise DataError(
                f"item {v!r}: nobody chose category {int(empty[0])} (answers run from "
                f"{int(cats[0])} to {int(cats[-1])}); the cutpoints around an empty category "
                "cannot be estimated. Merge it with a neighbouring category (recode the item) "
                "or use --likelihood normal")
        idx = np.flatnonzero(seen)
        rows.append(idx)
        items.append(np.full(len(idx), j))
        codes.append(np.searchsorted(cats, x[idx]))
        categories.append([float(c) for c in cats])
    answered = np.zeros(len(frame), dtype=bool)
    for r in rows:
        answered[r] = True
    if not answered.all():
        first = int(np.flatnonzero(~answered)[0])
        raise DataError(f"{int((~answered).sum())} row(s) have no answer on any model item "
                        f"(first: row {first + 1}); drop them from the data")
    order = np.lexsort((np.concatenate(items), np.concatenate(rows)))
    return OrdinalData(list(variables), len(frame), np.concatenate(rows)[order],
                       np.concatenate(items)[order], np.concatenate(codes)[order], categories)


def _log_prob_between(pt, lower, upper):
    """log(Phi(upper) - Phi(lower)), accurate in both tails: above 0 both bounds are
    reflected (Phi(-l) - Phi(-u)), so the difference is always of two small tail values. A
    sign, not a ``switch``, picks the side: a switch evaluates both of its branches."""
    sign = 1.0 - 2.0 * (lower > 0)
    p = sign * (pt.erfc(-sign * upper / np.sqrt(2.0)) - pt.erfc(-sign * lower / np.sqrt(2.0)))
    return pt.log(pt.maximum(0.5 * p, 1e-300))


def answer_logp(pt, data: OrdinalData, ystar, cut_lower, cut_upper):
    """Log-probability of every answer from the latent responses ``ystar`` (answers) and the
    answers' lower and upper cutpoints (``-inf`` / ``+inf`` at the ends)."""
    return _log_prob_between(pt, cut_lower - ystar, cut_upper - ystar)


def ordinal_loglik_numpy(data: OrdinalData, ystar: np.ndarray, cutpoints: list[np.ndarray]
                         ) -> np.ndarray:
    """Per-respondent log-likelihood with numpy (tests): ``ystar`` is (answers,).

    Example
    -------
    >>> d = code_items(pd.DataFrame({"a": [1, 2]}), ["a"])
    >>> ordinal_loglik_numpy(d, np.zeros(2), [np.array([0.0])]).round(4).tolist()
    [-0.6931, -0.6931]
    """
    from scipy.stats import norm

    lo = np.array([-np.inf if c == 0 else cutpoints[j][c - 1]
                   for j, c in zip(data.items, data.codes)])
    hi = np.array([np.inf if c == len(cutpoints[j]) else cutpoints[j][c]
                   for j, c in zip(data.items, data.codes)])
    lp = np.log(norm.cdf(hi - ystar) - norm.cdf(lo - ystar))
    return np.bincount(data.rows, weights=lp, minlength=data.n)


# -- in the pm.Model (bayes/model.py keeps the frame) ----------------------------------

def ordinal_setup(spec: ModelSpec, layout: Layout, frame: pd.DataFrame):
    plain = [v for v in layout.observed if v not in
             {i for items in spec.indicators.values() for i in items}]
    if plain:
        raise ModelError(f"{spec.source}: the ordinal likelihood needs every observed variable "
                         f"to be an item of a factor; {', '.join(plain)} enter the structural "
                         "model directly. Give each a single-item factor (F =~ x) or use "
                         "--likelihood normal")
    refuse_item_covariances(layout, f"{spec.source}: residual covariances between items "
                            "({}) are not supported by the ordinal likelihood; drop them or "
                            "use --likelihood normal")
    return code_items(frame, list(layout.observed))


def refuse_item_covariances(layout: Layout, message: str) -> None:
    """Refuse residual covariances between items (theta off the diagonal) in a likelihood
    that takes the answers as independent given the factor scores; ``message`` gets their
    names at ``{}``.

    Example
    -------
    >>> from connective.bayes.matrices import build_layout
    >>> from connective.spec import parse_model
    >>> refuse_item_covariances(build_layout(parse_model("F =~ a + b + c\\na ~~ b")),
    ...                         "no {} here")
    Traceback (most recent call last):
    ...
    connective.errors.ModelError: no a~~b here
    """
    covs = [p.name for p in layout.params if p.kind == "covariance" and p.matrix == "theta"]
    if covs:
        raise ModelError(message.format(", ".join(covs)))


def ordinal_loadings(pt, layout: Layout, theta, scales):
    """``(ML, mu0)``: the loadings of the standard-normal scores ``z`` on the items' latent
    responses, ``Lambda (I - B)^-1 diag(s) chol(Psi_std)``, and the responses' means, of one
    parameter vector or of each group's (leading dim)."""
    from connective.bayes.matrices import model_matrices, structural_inverse

    mats = model_matrices(layout, theta)
    A = structural_inverse(layout, mats["beta"])
    # loadings of the std-metric disturbances: Lambda (I - B)^-1 diag(s)
    M = mats["lambda"] @ A * scales
    psi_std = mats["psi"] / (scales[:, None] * scales[None, :])
    if any(matrix == "psi" for matrix, _, _ in layout.covariances.values()):
        ML = M @ pt.linalg.cholesky(psi_std)
    else:
        # the diagonal as a gather: the gradient of pt.diagonal is an AllocDiag OpFromGraph,
        # whose inlining (late in PyTensor's rewrites) cloned the graph above it, fused
        # ordered-probit node included, which then ran twice per gradient
        diag = np.arange(len(layout.structural))
        ML = M * pt.sqrt(psi_std[..., diag, diag])[..., None, :]
    mu0 = (mats["lambda"] @ (A @ mats["alpha"][..., None]))[..., 0] + mats["nu"]
    return ML, mu0


def ordinal_likelihood(pm, pt, layout: Layout, odata, theta, scales, initvals: dict,
                        used: dict, frame: pd.DataFrame, grouped=None) -> None:
    """Cutpoints, factor scores and the ordered-probit answers (in the model context).
    Factor scores live in the sampled (std_lv) metric, so the likelihood is smooth where a
    factor's sign flips. Non-centred because centred scores (sampled with their
    N(0, (I-B)^-1 (I-B)^-T) prior) mixed worse on the flagship model: smallest bulk ESS 191
    against 302 in as many leapfrog steps (4 chains x 300 draws); whitened (see
    :func:`whitened_scores`) unless ``SCORES`` says otherwise.

    ``grouped`` = (extended layout, groups x parameters, group of each respondent) makes
    each respondent's responses follow their group's parameters."""
    ML, mu0 = ordinal_loadings(pt, layout, theta, scales)
    # the sampled metric of z, for the marginal likelihood (marginal.py)
    pm.Deterministic("factor_scales", scales, dims="structural")
    # SD of each item's latent response (disturbance variance 1), the cutpoints' scale
    item_sd = pt.sqrt(pt.sum(ML ** 2, axis=1) + 1.0)
    bounds = answer_bounds(pm, pt, odata, item_sd, initvals, used)
    if SCORES == "whitened":  # whitened with the population's loadings, groups or not
        z = whitened_scores(pm, pt, layout, odata, frame, initvals, ML, item_sd)
    else:
        z = factor_scores(pm, layout, frame, initvals)
    # latent responses of every (respondent, item) cell as one small matrix product: the
    # row gathers M[items], z[rows] it replaced have scatter-add gradients (log-density
    # gradient of the flagship model: 1,107 us with them, 489 us without)
    if grouped is None:
        ystar = z @ ML.T + mu0[None, :]
    else:  # every group's product for everyone, each respondent keeping their group's
        group_layout, theta_g, index = grouped
        ML_g, mu0_g = ordinal_loadings(pt, group_layout, theta_g, scales)
        every = z[None, :, :] @ pt.swapaxes(ML_g, -1, -2) + mu0_g[:, None, :]  # (G, n, p)
        own = (np.arange(int(index.max()) + 1)[:, None] == index[None, :]).astype(float)
        ystar = pt.sum(every * own[:, :, None], axis=0)
    answer_likelihood(pm, pt, odata, ystar, bounds)


def _start_scores(layout: Layout, frame: pd.DataFrame) -> np.ndarray:
    """Starting factor scores (respondent x structural): the standardised mean scores of
    each factor's items (0 for a factor without items of its own, a higher-order factor)."""
    m = len(layout.structural)
    Y = frame[list(layout.observed)].apply(pd.to_numeric, errors="coerce")
    z0 = np.zeros((len(frame), m))
    for k, v in enumerate(layout.structural):
        cols = [layout.observed[i] for i in range(len(layout.observed))
                if layout.cell_source("lambda", i, k) != ("fixed", 0.0)]
        if not cols:
            continue
        score = Y[cols].mean(axis=1).to_numpy()
        score = np.where(np.isnan(score), np.nanmean(score), score)
        z0[:, k] = (score - score.mean()) / (score.std() or 1.0)
    return z0


def factor_scores(pm, layout: Layout, frame: pd.DataFrame, initvals: dict):
    """The standard-normal scores ``z`` (respondent x structural) of the non-centred factor
    scores, started at the standardised mean scores of each factor's items."""
    z0 = _start_scores(layout, frame)
    z = pm.Normal("z", 0.0, 1.0, dims=("respondent", "structural"))
    pm.modelcontext(None).set_initval(z, z0)
    initvals["z"] = z0
    return z


def whitened_scores(pm, pt, layout: Layout, odata: OrdinalData, frame: pd.DataFrame,
                    initvals: dict, ML, item_sd):
    """The standard-normal scores ``z`` (respondent x structural, a Deterministic) of the
    non-centred factor scores, sampled as ``z_whitened`` = ``u`` with
    ``z_i = m_i + R^-1 u_i``.

    Had the latent responses ``y*_i`` been seen, the scores' posterior would be normal,
    ``N(Q^-1 ML' (y*_i - mu0), Q^-1)`` with ``Q = I + ML' ML = R' R``. Here ``y*_ij - mu0_j``
    stands in as its answer's normal score times the item's SD, ``item_sd``
    (:func:`category_scores`, from the starting cutpoints, not the sampled ones, which move
    little on their standardised scale; an unanswered cell adds nothing to ``m_i``). Then
    ``u`` is close to standard normal whatever the loadings and paths, so the sampler need
    not follow the scores' posterior location and scale as those move. A hierarchical model
    whitens with the population's loadings (``ML``), its groups' close to them.

    The map is a bijection at every parameter value, with the Jacobian ``|R|^-n`` added, so
    the posterior is the same (tests/bayes/test_ordinal.py checks the log-density against
    the non-centred model's). The figures are at :data:`SCORES`.

    Example
    -------
    >>> from connective.bayes import ordinal
    >>> ordinal.SCORES  # the ordinal model's default
    'whitened'
    """
    n, m = odata.n, len(layout.structural)
    # sum_j (y*_ij - mu0_j) ML_j as one product of the n x p scores (0 where unanswered) with
    # a p x m matrix; the scores as data, which another survey's answers replace
    # (sample.with_data)
    scores = pm.Data("answer_scores", category_scores(odata))
    pulled = scores @ (ML * item_sd[:, None])
    # started a hair off u = 0 (the scores near their approximate posterior mean), toward
    # the items' mean scores: a prototype started at u = 0 failed nutpie's initial-gradient
    # check
    u0 = 0.1 * _start_scores(layout, frame)
    u = pm.Flat("z_whitened", dims=("respondent", "structural"))
    pm.modelcontext(None).set_initval(u, u0)
    initvals["z_whitened"] = u0
    R = pt.linalg.cholesky(pt.eye(m) + ML.T @ ML).T  # upper: Q = R' R
    R_inv = pt.linalg.inv(R)
    mean = pulled @ (R_inv @ R_inv.T)
    z = pm.Deterministic("z", mean + u @ R_inv.T, dims=("respondent", "structural"))
    # z's N(0, I) prior and the Jacobian of u -> z, |R^-1| per respondent
    pm.Potential("z_prior", -0.5 * pt.sum(z ** 2) - 0.5 * n * m * np.log(2 * np.pi)
                 - n * pt.sum(pt.log(pt.diagonal(R))))
    return z


def category_scores(odata: OrdinalData) -> np.ndarray:
    """Each answer's normal score (respondent x item; 0 where unanswered): the mean of a
    standard normal within its category's interval of the starting cutpoints (the probits
    of the item's cumulative proportions), an estimate of ``(y* - mu0) / item SD``.

    Example
    -------
    >>> d = code_items(pd.DataFrame({"a": [1, 2, 1], "b": [2, None, 1]}), ["a", "b"])
    >>> category_scores(d).round(4).tolist()
    [[-0.5454, 0.7979], [1.0908, 0.0], [-0.5454, -0.7979]]
    """
    from scipy.stats import norm

    p = len(odata.variables)
    scores = np.zeros((odata.n, p))
    for j, cut in enumerate(odata.start_cutpoints()):
        edges = np.concatenate([[-np.inf], cut, [np.inf]])
        lo, hi = edges[:-1], edges[1:]
        mean = (norm.pdf(lo) - norm.pdf(hi)) / (norm.cdf(hi) - norm.cdf(lo))
        mine = odata.items == j
        scores[odata.rows[mine], j] = mean[odata.codes[mine]]
    return scores


def answer_bounds(pm, pt, odata: OrdinalData, item_sd, initvals: dict, used: dict):
    """The cutpoints (in the model context; sampled with ``item_sd`` as their scale, see
    :func:`_cutpoint_tables`) as ``(lower, upper, slots)``: every category's lower and upper
    bound as flat tables, and each answer's slot in them (data)."""
    lower, upper, flat = _cutpoint_tables(pm, pt, odata, initvals, item_sd)
    pm.Deterministic("thresholds", pt.concatenate(flat), dims="threshold")
    for v, cats in zip(odata.variables, odata.categories):
        for t in range(len(cats) - 1):
            used[f"{v}|t{t + 1}"] = f"normal(0, {CUTPOINT_SD:g}) ordered"
    # each answer's slot in the cutpoint tables, as data: a compiled model then takes
    # another survey's answers to the same cells (bayes/sample.with_data)
    slots = pm.Data("answer_slots", odata.items * int(odata.n_categories.max()) + odata.codes)
    return lower.ravel(), upper.ravel(), slots


def answer_likelihood(pm, pt, odata, ystar, bounds) -> None:
    """The ordered-probit answers given the latent responses ``ystar`` (respondent x item)
    and the cutpoints' ``bounds`` (:func:`answer_bounds`); keeps ``loglik_respondent`` (a
    Deterministic: computed for the stored draws only) and adds the ``loglik`` Potential,
    the sum, as the fused Op of :mod:`connective.bayes.ordered_probit_op` (or wave 1's
    graph, see ``ANSWER_LOGP``)."""
    p = len(odata.variables)
    ystar = ystar.ravel()  # respondent-major, as the answers
    cells = odata.rows * p + odata.items
    if len(cells) < odata.n * p:  # missing answers: keep the answered cells only
        ystar = ystar[cells]
    lower, upper, slots = bounds
    # per answer, for loglik_respondent only: a Deterministic, computed for the stored
    # draws, not in the sampler's log-density and gradient
    lp = answer_logp(pt, odata, ystar, lower[slots], upper[slots])
    if len(cells) < odata.n * p:
        per_respondent = pt.inc_subtensor(pt.zeros(odata.n)[odata.rows], lp)
    else:
        per_respondent = lp.reshape((odata.n, p)).sum(axis=1)
    pm.Deterministic("loglik_respondent", per_respondent, dims="respondent")
    if ANSWER_LOGP == "fused":
        from connective.bayes.ordered_probit_op import ordered_probit_logp

        pm.Potential("loglik", ordered_probit_logp(ystar, lower, upper, slots))
    else:  # wave 1's elementwise graph, kept for the benchmark's ratio
        pm.Potential("loglik", lp.sum())


def _cutpoint_tables(pm, pt, odata, initvals: dict, item_sd):
    """Ordered cutpoints, one vector per item (items grouped by their number of categories),
    as (items, max categories) tables of every category's lower and upper bound (+-1e4 at the
    ends); also the cutpoint vectors in item order.

    The sampled ``cutpoints`` are standardised (in SDs of the item's latent response,
    ``item_sd``); the ``normal(0, 5)`` prior and the Jacobian are on the cutpoints proper,
    so the posterior is the same. The cutpoints of an item grow with its loadings; on their
    own scale they hardly do, which the sampler's diagonal metric can follow: the smallest
    bulk ESS of the flagship model went from 62 to 302 (4 chains x 300 draws)."""
    big = OPEN_BOUND
    ncat = odata.n_categories
    starts = odata.start_cutpoints()
    kmax = int(ncat.max())
    lows, highs, order = [], [], []
    flat = [None] * len(ncat)
    for K in sorted(set(ncat.tolist())):
        js = np.flatnonzero(ncat == K)
        name = "cutpoints" if len(set(ncat.tolist())) == 1 else f"cutpoints_{K}"
        init = np.array([starts[j] for j in js])
        std = pm.Flat(name, shape=(len(js), K - 1), transform=pm.distributions.transforms.ordered)
        pm.modelcontext(None).set_initval(std, init)
        initvals[name] = init
        cut = std * item_sd[js][:, None]
        pm.Potential(f"{name}_prior", pm.logp(pm.Normal.dist(0.0, CUTPOINT_SD), cut).sum()
                     + (K - 1) * pt.log(item_sd[js]).sum())
        lo = pt.concatenate([pt.fill(cut[:, :1], -big), cut], axis=1)
        hi = pt.concatenate([cut, pt.fill(cut[:, :1], big)], axis=1)
        if K < kmax:
            pad = pt.zeros((len(js), kmax - K))
            lo, hi = pt.concatenate([lo, pad], axis=1), pt.concatenate([hi, pad], axis=1)
        lows.append(lo), highs.append(hi), order.extend(js)
        for r, j in enumerate(js):
            flat[j] = cut[r]
    lower, upper = pt.concatenate(lows, axis=0), pt.concatenate(highs, axis=0)
    back = np.argsort(order)  # rows back in item order (a gather, not a set_subtensor)
    if not np.array_equal(back, np.arange(len(back))):
        lower, upper = lower[back], upper[back]
    return lower, upper, flat
