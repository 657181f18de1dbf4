"""The two-level normal likelihood (random intercepts) and its PyMC model.

Respondent i of cluster (organisation) j answers ``y_ij = mu + b_j + w_ij`` with
``w_ij ~ N(0, Sigma_W)`` (the level-1 block's implied covariance) and the cluster part
``b_j ~ N(0, Sigma_B)`` (the level-2 block's). Variables of level 1 only have no between
part, variables of level 2 only (organisation-level covariates ``z_j``) no within part.

The exact marginal likelihood of cluster j splits (as lavaan's ``lav_mvnorm_cluster``) into
the within-cluster sums of squares ``S_j``, Wishart with ``n_j - 1`` degrees of freedom
and ``Sigma_W``, and the cluster vector ``c_j = (z_j, ybar_j)``, normal with mean ``mu`` and
covariance ``Sigma_B + Sigma_W / n_j`` (within-only rows of ``Sigma_B`` 0)::

    log L = -(N - J)/2 (p_w log 2 pi + log|Sigma_W|) - tr(Sigma_W^-1 S_pooled)/2
            - sum_j p_w/2 log n_j
            + sum over cluster sizes s of  -m_s/2 (q log 2 pi + log|Sigma_s|
                                                + tr(Sigma_s^-1 (C_s/m_s + d_s d_s')))

with ``S_pooled = sum_j S_j``, and, for the m_s clusters of size s, ``Sigma_s = Sigma_B +
Sigma_W / s``, ``C_s`` the scatter of their ``c_j`` about their mean and ``d_s`` that mean
minus ``mu``. The data enter only through these statistics, so a gradient costs the same
for 2,500 respondents as for 250: one inverse of Sigma_W and one per distinct cluster size.

Example
-------
>>> from connective.spec.levels import parse_twolevel
>>> two = parse_twolevel("level: 1\\n fw =~ y1 + y2 + y3\\nlevel: 2\\n fb =~ y1 + y2 + y3")
>>> from connective.data.simulate_levels import simulate_twolevel
>>> frame = simulate_twolevel(two, {"clusters": {"n": 30}}, seed=1).frame  # doctest: +SKIP
>>> result = fit_twolevel(two, frame, cluster="cluster", draws=200, seed=1)  # doctest: +SKIP
>>> result.parameters().query("level == 2")[["lhs", "op", "rhs", "est"]]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from connective.bayes import priors as P
from connective.bayes.matrices import Layout, build_layout, implied_moments, standardized_solution
from connective.bayes.model import _distribution, _override, correlations_to_covariances, \
    fixed_x_values, sign_anchors, structural_scales
from connective.effects import compute_effects
from connective.errors import ModelError
from connective.spec.levels import SUFFIX, TwoLevelSpec, check_cluster_data

LOG_2PI = float(np.log(2 * np.pi))
LEVEL_KEYS = {1: "within", 2: "between"}


# -- statistics ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ClusterStatistics:
    """The sufficient statistics of two-level data: ``within`` (the level-1 variables) and
    ``cvars`` (the cluster vector: level-2-only variables, then the level-1 variables'
    cluster means); ``n`` respondents in ``n_clusters`` clusters; ``within_ss`` the pooled
    within-cluster sums of squares; per distinct cluster ``size``: ``count``, ``mean`` and
    ``scatter`` (sum of squares about that mean) of the cluster vectors. ``cluster_*`` keep
    each cluster's own (for the pointwise log-likelihood and checks)."""

    within: list[str]
    between_only: list[str]
    n: int
    n_clusters: int
    within_ss: np.ndarray
    sizes: np.ndarray
    count: np.ndarray
    mean: np.ndarray
    scatter: np.ndarray
    log_n_term: float  # sum_j p_w/2 log n_j
    cluster_size: np.ndarray
    cluster_vector: np.ndarray
    cluster_ss: np.ndarray

    @property
    def cvars(self) -> list[str]:
        return [*self.between_only, *self.within]

    def arrays(self) -> dict[str, np.ndarray]:
        """What the likelihood reads (data containers of the PyMC model, so that a compiled
        model serves every data set with the same variables and number of cluster sizes)."""
        return {"within_df": np.array(float(self.n - self.n_clusters)),
                "within_ss": self.within_ss, "log_n_term": np.array(self.log_n_term),
                "inv_size": 1.0 / self.sizes.astype(float), "count": self.count,
                "cluster_mean": self.mean, "cluster_scatter": self.scatter}


def cluster_statistics(frame: pd.DataFrame, cluster: str, within: list[str],
                       between_only: list[str]) -> ClusterStatistics:
    """The statistics of :class:`ClusterStatistics` from a checked, cluster-sorted frame.

    Example
    -------
    >>> frame = pd.DataFrame({"y": [1.0, 3, 2, 4, 6], "w": [0.0, 0, 1, 1, 1],
    ...                       "org": [1, 1, 2, 2, 2]})
    >>> st = cluster_statistics(frame, "org", ["y"], ["w"])
    >>> st.within_ss.tolist(), st.sizes.tolist(), st.mean.tolist()
    ([[10.0]], [2, 3], [[0.0, 2.0], [1.0, 4.0]])
    """
    codes, _ = pd.factorize(frame[cluster], sort=True)
    y = frame[within].to_numpy(float)
    J = int(codes.max()) + 1
    n_j = np.bincount(codes, minlength=J)
    ybar = np.zeros((J, len(within)))
    np.add.at(ybar, codes, y)
    ybar /= n_j[:, None]
    dev = y - ybar[codes]
    ss_j = np.zeros((J, len(within), len(within)))
    np.add.at(ss_j, codes, dev[:, :, None] * dev[:, None, :])
    first = np.unique(codes, return_index=True)[1]
    z = frame[between_only].to_numpy(float)[first] if between_only else np.zeros((J, 0))
    c = np.concatenate([z, ybar], axis=1)
    sizes = np.unique(n_j)
    count, mean, scatter = [], [], []
    for s in sizes:
        cs = c[n_j == s]
        m = cs.mean(axis=0)
        count.append(len(cs))
        mean.append(m)
        scatter.append((cs - m).T @ (cs - m))
    return ClusterStatistics(
        within=list(within), between_only=list(between_only), n=len(frame), n_clusters=J,
        within_ss=ss_j.sum(axis=0), sizes=sizes, count=np.array(count, float),
        mean=np.array(mean), scatter=np.array(scatter),
        log_n_term=float(0.5 * len(within) * np.log(n_j).sum()), cluster_size=n_j,
        cluster_vector=c, cluster_ss=ss_j)


def embeddings(two: TwoLevelSpec, stats: ClusterStatistics) -> tuple[np.ndarray, np.ndarray]:
    """``E_w`` (q x p_w) and ``E_b`` (q x p_b): where the level-1 and level-2 variables sit
    in the cluster vector, so that ``Sigma_B`` of the cluster vector is ``E_b Sigma_B E_b'``
    and its mean ``E_w mu_W + E_b mu_B``."""
    cvars = stats.cvars
    pos = {v: i for i, v in enumerate(stats.between_only)}
    pos.update({v: len(stats.between_only) + i for i, v in enumerate(stats.within)})
    E_w = np.zeros((len(cvars), len(two.within.observed)))
    for i, v in enumerate(two.within.observed):
        E_w[pos[v], i] = 1.0
    E_b = np.zeros((len(cvars), len(two.between.observed)))
    for i, v in enumerate(two.between.observed):
        E_b[pos[v], i] = 1.0
    return E_w, E_b


def twolevel_loglik(data: dict, E_w, E_b, mu_w, sigma_w, mu_b, sigma_b, xp=np):
    """The two-level log-likelihood (module docstring) from each level's implied moments
    and the statistics ``data`` (:meth:`ClusterStatistics.arrays`, or data containers of
    the same names); numpy (``xp=np``, one parameter vector) or pytensor (``xp`` =
    ``pytensor.tensor``). ``-inf`` where an implied covariance is not positive definite.

    Example
    -------
    >>> twolevel_loglik(stats.arrays(), *embeddings(two, stats), mu_w, sigma_w, mu_b,
    ...                 sigma_b)  # doctest: +SKIP
    -23309.870323753938
    """
    if xp is np:
        inv, det, sum_ = np.linalg.inv, np.linalg.det, np.sum
    else:
        inv, det, sum_ = xp.linalg.inv, xp.linalg.det, xp.sum
    p_w, q = E_w.shape[1], E_w.shape[0]
    det_w = det(sigma_w)
    total = -0.5 * data["within_df"] * (p_w * LOG_2PI + xp.log(det_w)) \
        - 0.5 * sum_(inv(sigma_w) * data["within_ss"]) - data["log_n_term"]
    sb = E_b @ sigma_b @ E_b.T
    sw = E_w @ sigma_w @ E_w.T
    mu = E_w @ mu_w + E_b @ mu_b
    # every cluster size at once: one batched inverse and determinant (a node per size
    # took 370 s to compile with 16 sizes)
    sig = sb[None, :, :] + sw[None, :, :] * data["inv_size"][:, None, None]
    iv = inv(sig)
    dets = det(sig)
    d = data["cluster_mean"] - mu[None, :]
    m = data["count"]
    quad = sum_(d[:, :, None] * iv * d[:, None, :], axis=(1, 2))
    total = total - 0.5 * sum_(m * (q * LOG_2PI + xp.log(dets) + quad)
                               + sum_(iv * data["cluster_scatter"], axis=(1, 2)))
    if xp is np:
        return total if det_w > 0 and np.all(dets > 0) else -np.inf
    return xp.switch(xp.and_(det_w > 0, xp.all(dets > 0)), total, -np.inf)


def cluster_loglik(stats: ClusterStatistics, E_w, E_b, mu_w, sigma_w, mu_b, sigma_b
                   ) -> np.ndarray:
    """Each cluster's log-likelihood over the leading dims of the moments (numpy): the
    pointwise terms of a leave-one-cluster-out comparison; they sum to
    :func:`twolevel_loglik`."""
    p_w, q = len(stats.within), len(stats.cvars)
    inv_w = np.linalg.inv(sigma_w)
    _, logdet_w = np.linalg.slogdet(sigma_w)
    n_j = stats.cluster_size
    within = (-0.5 * (n_j - 1) * (p_w * LOG_2PI + logdet_w[..., None])
              - 0.5 * np.einsum("...ab,jab->...j", inv_w, stats.cluster_ss)
              - 0.5 * p_w * np.log(n_j))
    sb = E_b @ sigma_b @ E_b.T
    sw = E_w @ sigma_w @ E_w.T
    mu = np.einsum("qp,...p->...q", E_w, mu_w) + np.einsum("qp,...p->...q", E_b, mu_b)
    out = within.copy()
    for s in stats.sizes:
        idx = np.flatnonzero(n_j == s)
        sig = sb + sw / float(s)
        iv = np.linalg.inv(sig)
        _, logdet = np.linalg.slogdet(sig)
        d = stats.cluster_vector[idx] - mu[..., None, :]
        quad = np.einsum("...ja,...ab,...jb->...j", d, iv, d)
        out[..., idx] += -0.5 * (q * LOG_2PI + logdet[..., None] + quad)
    return out


# -- the PyMC model -----------------------------------------------------------------------

@dataclass
class TwoLevelModel:
    """A built two-level model: the PyMC model, each level's layout, the statistics, the
    priors used and the starting values (what :func:`connective.bayes.sample.sample`
    needs: ``model``, ``initvals``, ``options``, ``compiled`` and the compilers' record)."""

    two: TwoLevelSpec
    model: object
    layouts: dict[int, Layout]
    stats: ClusterStatistics
    embed: tuple[np.ndarray, np.ndarray]
    priors: dict[str, str]
    initvals: dict[str, np.ndarray]
    cluster: str
    options: dict = field(default_factory=dict)
    compiled: object = None
    compiled_by: str | None = None  # as BayesModel's (bayes/sample.compile_model)
    compiler_asked: str | None = None
    likelihood: str = "normal"
    groups: object = None
    ordinal: object = None  # (read by sample's streamed traces, as on BayesModel)
    interactions: tuple = ()

    @property
    def names(self) -> list[str]:
        """Parameter names of both levels, level 2's with lavaan's ``.l2``."""
        return [*self.layouts[1].names, *(n + SUFFIX for n in self.layouts[2].names)]


def _level_frames(two: TwoLevelSpec, frame: pd.DataFrame, cluster: str
                  ) -> dict[int, pd.DataFrame]:
    """Respondents (level 1) and one row per cluster (level 2: organisation-level values,
    the items' cluster means)."""
    means = frame.groupby(cluster, sort=True)[list(two.observed)].mean()
    return {1: frame, 2: means}


def build_twolevel_model(two: TwoLevelSpec, frame: pd.DataFrame, cluster: str, *,
                         priors: dict | None = None) -> TwoLevelModel:
    """The PyMC model of a two-level spec on a checked, cluster-sorted ``frame``
    (:func:`~connective.spec.levels.check_cluster_data`). Default priors as the one-level
    model's (:mod:`connective.bayes.priors`), scaled per level: by the pooled within-cluster
    SDs at level 1, by the SDs of the cluster means at level 2.

    Example
    -------
    >>> tm = build_twolevel_model(two, frame, "cluster")  # doctest: +SKIP
    >>> tm.names[-1]  # doctest: +SKIP
    'y3~1.l2'
    """
    import pymc as pm
    import pytensor.tensor as pt

    both_x = [v for v in two.both if v in two.within.fixed_x or v in two.between.fixed_x]
    if both_x:
        names = ", ".join(repr(v) for v in both_x)
        raise ModelError(f"{two.source}: the covariate(s) {names} are in both "
                         "levels and conditioned on (fixed.x); their within and between "
                         "moments are not sample values here: add '# options: fixed.x = "
                         "FALSE' to the model file (or --fixed-x false) to estimate them")
    layouts = {1: build_layout(two.within), 2: build_layout(two.between)}
    stats = cluster_statistics(frame, cluster, list(two.within.observed),
                               list(two.between_only))
    E_w, E_b = embeddings(two, stats)
    frames = _level_frames(two, frame, cluster)
    # prior scales: within-cluster SDs (level 1), SDs of cluster means / values (level 2)
    nw = stats.n - stats.n_clusters
    sd = {1: dict(zip(stats.within, np.sqrt(np.diag(stats.within_ss) / nw))),
          2: frames[2][list(two.between.observed)].std(ddof=0).to_dict()}
    mean = {1: frame[list(two.within.observed)].mean().to_dict(),
            2: frames[2][list(two.between.observed)].mean().to_dict()}
    # --prior NAME=...: level 2's names end in .l2 (a label names its parameters at both)
    level_priors = {1: {k: v for k, v in (priors or {}).items() if not k.endswith(SUFFIX)},
                    2: {(k[:-len(SUFFIX)] if k.endswith(SUFFIX) else k): v
                        for k, v in (priors or {}).items()}}
    labels_w = {p.label: k for k, p in enumerate(layouts[1].params) if p.label}
    used: dict[str, str] = {}
    initvals: dict[str, np.ndarray] = {}
    with pm.Model(coords={"param": [*layouts[1].names,
                                    *(n + SUFFIX for n in layouts[2].names)]}) as model:
        thetas = {}
        for level in (1, 2):
            spec, layout = two.levels[level], layouts[level]
            sd_l = {v: max(float(s), 1e-3) for v, s in sd[level].items()}
            scale = structural_scales(spec, layout, sd_l)
            anchors = sign_anchors(spec, layout)
            exo = layout.exo
            tied = {k: labels_w[p.label] for k, p in enumerate(layout.params)
                    if level == 2 and p.label in labels_w and not p.exo}
            blocks: dict[tuple, list[int]] = defaultdict(list)
            chosen: dict[int, P.Prior] = {}
            start: dict[int, float] = {}
            for k, p in enumerate(layout.params):
                if k in exo or k in tied:
                    continue
                text = _override(level_priors[level], p)
                indicator = scale.get(p.rhs, sd_l.get(p.rhs, 1.0))
                if p.kind == "loading":
                    default = P.default_loading(indicator, scale[p.lhs], anchor=k in anchors)
                    start[k] = indicator / scale[p.lhs]
                elif p.kind == "regression":
                    default = P.default_regression(scale[p.lhs], scale[p.rhs])
                    start[k] = 0.0
                elif p.kind == "variance":
                    var_scale = scale[p.lhs] if p.matrix == "psi" else sd_l[p.lhs]
                    default = P.default_sd(var_scale)
                    start[k] = var_scale * np.sqrt(0.5)
                elif p.kind == "covariance":
                    default = P.default_correlation()
                    start[k] = 0.5
                else:
                    default = P.default_intercept(mean[level].get(p.lhs, 0.0),
                                                  sd_l.get(p.lhs, 1.0))
                    start[k] = mean[level].get(p.lhs, 0.0) + 0.01 * sd_l.get(p.lhs, 1.0)
                prior = P.parse_prior(text, where=f"{two.source}: prior of {p.name}") \
                    if text else default
                if p.kind == "variance" and prior.on == "value":
                    prior = P.Prior(prior.family, prior.args, "sd")
                if p.kind == "variance" and (prior.on == "var" or not prior.positive):
                    raise ModelError(f"{two.source}: prior of {p.name}: a two-level model "
                                     "takes priors on (residual) SDs: halfnormal, lognormal, "
                                     f"gamma or uniform from 0; got {prior.text()}")
                if p.kind == "covariance" and prior.family != "beta":
                    raise ModelError(f"{two.source}: prior of {p.name}: a covariance's prior "
                                     "is on its correlation r and must be beta(a, b) for "
                                     f"(r + 1) / 2; got {prior.text()}")
                chosen[k] = prior
                role = {"variance": "sd", "covariance": "corr"}.get(p.kind, "value")
                bounded = k in anchors and not prior.positive
                blocks[(role, prior.family, bounded)].append(k)
                used[p.name + (SUFFIX if level == 2 else "")] = prior.text()
            u = pt.zeros(layout.n_params)
            corr_pieces = []
            for i, ((role, family, bounded), idx) in enumerate(blocks.items()):
                name = f"{LEVEL_KEYS[level]}_{role}_{family}{'_positive' if bounded else ''}"
                args = np.array([chosen[k].args for k in idx], dtype=float).T
                # data, not constants: the default priors are scaled by the data
                shared_args = pm.Data(f"prior_{name}", args, shape=args.shape)
                rv = _distribution(pm, name, family, shared_args, len(idx), bounded)
                iv = np.array([start[k] for k in idx], dtype=float)
                if role == "sd" or family in P.POSITIVE_FAMILIES or bounded:
                    iv = np.maximum(iv, 1e-3)
                if family == "beta":
                    iv = np.clip(iv, 0.01, 0.99)
                if family == "uniform":
                    iv = np.clip(iv, args[0] + 1e-6 * (args[1] - args[0]),
                                 args[1] - 1e-6 * (args[1] - args[0]))
                initvals[name] = iv
                model.set_initval(rv, iv)
                if role == "corr":
                    corr_pieces.append((idx, 2.0 * rv - 1.0))
                else:
                    u = pt.set_subtensor(u[np.array(idx)], rv ** 2 if role == "sd" else rv)
            if exo:  # fixed.x: the sample's moments (respondents' at 1, clusters' at 2)
                values = fixed_x_values(layout, frames[level], exo)
                u = pt.set_subtensor(u[np.array(exo)], pm.Data(
                    f"fixed_x_{LEVEL_KEYS[level]}", values, shape=values.shape))
            if tied:
                u = pt.set_subtensor(u[np.array(list(tied))],
                                     thetas[1][np.array(list(tied.values()))])
            if corr_pieces:
                u = correlations_to_covariances(pt, layout, u, u, corr_pieces)
            thetas[level] = u
        theta = pm.Deterministic("parameters", pt.concatenate([thetas[1], thetas[2]]),
                                 dims="param")
        mu_w, sigma_w = implied_moments(layouts[1], thetas[1])
        mu_b, sigma_b = implied_moments(layouts[2], thetas[2])
        del theta
        # the statistics as data of fixed shapes: a compiled model (nutpie's disk cache)
        # then serves every data set with the same variables and number of cluster sizes
        data = {key: pm.Data(key, value, shape=np.shape(value))
                for key, value in stats.arrays().items()}
        pm.Potential("loglik", twolevel_loglik(data, E_w, E_b, mu_w, sigma_w, mu_b, sigma_b,
                                               xp=pt))
    return TwoLevelModel(two=two, model=model, layouts=layouts, stats=stats, embed=(E_w, E_b),
                         priors=used, initvals=initvals, cluster=cluster,
                         options={"likelihood": "normal", "cluster": cluster})


# -- fitting and results ------------------------------------------------------------------

def _level_draws(draws: xr.DataArray, tm: TwoLevelModel, level: int) -> xr.DataArray:
    """One level's parameter draws under that level's own names (no ``.l2``)."""
    names = tm.layouts[level].names
    full = names if level == 1 else [n + SUFFIX for n in names]
    return draws.sel(param=full).assign_coords(param=names)


def augment_twolevel(idata, tm: TwoLevelModel, *, label: dict | None = None):
    """Add each level's standardised solution (std.lv, std.all from that level's implied
    covariance, as lavaan's standardizedSolution) and effects (the effects algebra on each
    level's structural model), the per-cluster log-likelihood and the run label."""
    draws = idata.posterior["parameters"]
    lead = {"chain": draws.chain, "draw": draws.draw}
    parts: dict[str, list] = defaultdict(list)
    moments = {}
    for level in (1, 2):
        spec, layout = tm.two.levels[level], tm.layouts[level]
        d = _level_draws(draws, tm, level)
        theta = d.transpose("chain", "draw", "param").to_numpy()
        moments[level] = implied_moments(layout, theta)
        solution = standardized_solution(spec, layout, theta)
        suffix = SUFFIX if level == 2 else ""
        names = [n + suffix for n in solution["names"]]
        for key in ("std.lv", "std.all"):
            std = xr.DataArray(solution[key], dims=("chain", "draw", "std_param"),
                               coords={**lead, "std_param": solution["names"]})
            parts[key.replace(".", "_")].append(std.assign_coords(std_param=names))
            fx = compute_effects(spec, std.rename(std_param="param"))
            parts[f"effects_{key.replace('.', '_')}"].append(_level_effects(fx, level))
        parts["effects"].append(_level_effects(compute_effects(spec, d), level))
    post = idata.posterior
    for key, pieces in parts.items():
        dim = "std_param" if key.startswith("std") else "effect"
        post[key] = xr.concat(pieces, dim=dim).transpose("chain", "draw", dim)
    E_w, E_b = tm.embed
    ll = cluster_loglik(tm.stats, E_w, E_b, moments[1][0], moments[1][1], moments[2][0],
                        moments[2][1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if "log_likelihood" in idata.groups():
            del idata.log_likelihood
        idata.add_groups({"log_likelihood": xr.Dataset({"y": xr.DataArray(
            ll, dims=("chain", "draw", "cluster"),
            coords={**lead, "cluster": np.arange(tm.stats.n_clusters)})})})
    keep = ["parameters", "std_lv", "std_all", "effects", "effects_std_lv", "effects_std_all"]
    idata.posterior = post[keep]
    attrs = {"likelihood": "normal (two-level)", "cluster": tm.cluster,
             "ppp_discrepancy": "not computed for two-level models",
             "priors": json.dumps(tm.priors), "observed": json.dumps(list(tm.two.observed)),
             "levels": json.dumps({"n": tm.stats.n, "clusters": tm.stats.n_clusters,
                                   "sizes": [int(s) for s in tm.stats.sizes],
                                   "both": list(tm.two.both),
                                   "within_only": list(tm.two.within_only),
                                   "between_only": list(tm.two.between_only)})}
    from connective.bayes.results import label_attrs

    attrs.update(label_attrs(label))
    idata.posterior.attrs.update(attrs)
    return idata


def _level_effects(fx: xr.DataArray, level: int) -> xr.DataArray:
    """A level's effects, named uniquely across levels (level 2's end in ``.l2``), with a
    ``level`` coordinate."""
    names = [str(n) + (SUFFIX if level == 2 else "") for n in fx.effect.to_numpy()]
    return fx.assign_coords(effect=names, level=("effect", np.full(len(names), level)))


def _view(idata, level: int, tm_names: dict[int, list[str]]):
    """One level's posterior as a one-level InferenceData (its own names), for the tables
    of :mod:`connective.bayes.tables`."""
    import arviz as az

    post = idata.posterior
    suffix = SUFFIX if level == 2 else ""

    def strip(values):
        return [v[: -len(SUFFIX)] if suffix and v.endswith(SUFFIX) else v for v in values]

    names = [n + suffix for n in tm_names[level]]
    ds = xr.Dataset({"parameters": post["parameters"].sel(param=names).assign_coords(
        param=tm_names[level])})
    std_names = [n for n in post.std_param.to_numpy()
                 if (n.endswith(SUFFIX) if level == 2 else not n.endswith(SUFFIX))]
    for key in ("std_lv", "std_all"):
        ds[key] = post[key].sel(std_param=std_names).assign_coords(std_param=strip(std_names))
    fx_names = [n for n, lev in zip(post.effect.to_numpy(), post["level"].to_numpy())
                if lev == level]
    for key in ("effects", "effects_std_lv", "effects_std_all"):
        ds[key] = post[key].sel(effect=fx_names).assign_coords(
            effect=strip(fx_names)).drop_vars("level")
    return az.InferenceData(posterior=ds)


@dataclass
class TwoLevelFit:
    """A fitted two-level model: ``parameters()`` and ``effects()`` of both levels (a
    ``level`` column: 1 within, 2 between), ``summary()``, ``verdict()``, ``save()``."""

    idata: object
    two: TwoLevelSpec
    model: TwoLevelModel | None = None
    timings: dict = field(default_factory=dict)

    @property
    def names(self) -> dict[int, list[str]]:
        full = list(self.idata.posterior.param.to_numpy())
        return {1: [n for n in full if not n.endswith(SUFFIX)],
                2: [n[: -len(SUFFIX)] for n in full if n.endswith(SUFFIX)]}

    def parameters(self) -> pd.DataFrame:
        """lavaan's parameterEstimates of a two-level fit: the level-1 rows, then level 2's,
        each level standardised by its own implied covariance; latent means (0) included."""
        from connective.bayes.tables import parameter_table

        out = []
        for level, spec in self.two.levels.items():
            table = parameter_table(_view(self.idata, level, self.names), spec)
            rows = [table]
            for v in spec.latent:
                if not ((table["lhs"] == v) & (table["op"] == "~1")).any():
                    rows.append(pd.DataFrame([{"lhs": v, "op": "~1", "rhs": "", "label": "",
                                               "exo": 0, "est": 0.0, "se": 0.0,
                                               "ci.lower": 0.0, "ci.upper": 0.0,
                                               "std.lv": 0.0, "std.all": 0.0}]))
            table = pd.concat(rows, ignore_index=True)
            table.insert(3, "level", level)
            out.append(table)
        return pd.concat(out, ignore_index=True)

    def effects(self) -> pd.DataFrame:
        """The effects of each level's structural model (level 2's names end in ``.l2``)."""
        from connective.bayes.tables import EFFECT_COLUMNS, effects_table

        out = []
        for level in (1, 2):
            table = effects_table(_view(self.idata, level, self.names))
            if len(table):
                if level == 2:
                    table["effect"] = table["effect"] + SUFFIX
                table.insert(1, "level", level)
                out.append(table)
        if not out:  # measurement models at both levels: no effects (the columns stay)
            columns = list(EFFECT_COLUMNS)
            columns.insert(1, "level")
            return pd.DataFrame(columns=columns)
        return pd.concat(out, ignore_index=True)

    def summary(self) -> dict:
        from connective.bayes.results import summary

        out = summary(self.idata)
        out["levels"] = json.loads(self.idata.posterior.attrs.get("levels", "{}"))
        if self.timings:
            out["timings_s"] = self.timings
        return out

    def verdict(self):
        from connective.diagnostics import diagnose

        with warnings.catch_warnings():  # the fixed.x slots are constant: no R-hat
            warnings.simplefilter("ignore", RuntimeWarning)
            return diagnose(self.idata, var_names=["parameters"])

    def save(self, out_dir, *, overwrite: bool = False) -> dict:
        """The run folder, as a one-level fit's (posterior.nc, parameters.csv with a
        ``level`` column, effects.csv, summary.json, diagnostics.json)."""
        from connective.bayes.results import write_fit_folder

        return write_fit_folder(self, out_dir, overwrite=overwrite)


def fit_twolevel(two: TwoLevelSpec, frame: pd.DataFrame, *, cluster: str, draws: int = 1000,
                 tune: int = 1000, chains: int = 4, cores: int | None = None,
                 seed: int | None = None, sampler: str = "nutpie", priors: dict | None = None,
                 progress: bool = False, data_source: str = "<data frame>",
                 synthetic: bool = False, target_accept: float | None = None,
                 data_options: dict | None = None) -> TwoLevelFit:
    """Check the data (:func:`~connective.spec.levels.check_cluster_data`), build, sample and
    summarise a two-level model; ``cluster`` names the organisation column.

    Example
    -------
    >>> result = fit_twolevel(two, frame, cluster="cluster", draws=500, seed=3)  # doctest: +SKIP
    >>> result.parameters().query("level == 2 and op == '=~'")  # doctest: +SKIP
    """
    from connective.bayes.sample import timed_sampling
    from connective.provenance import data_fingerprint, run_label

    times = {}
    t0 = time.perf_counter()
    checked = check_cluster_data(two, frame, cluster, source=data_source)
    tm = build_twolevel_model(two, checked, cluster, priors=priors)
    times["build"] = time.perf_counter() - t0
    idata = timed_sampling(tm, times, draws=draws, tune=tune, chains=chains, cores=cores,
                           seed=seed, sampler=sampler, progress=progress,
                           target_accept=target_accept)
    settings = {"likelihood": "normal", "levels": 2, "cluster": cluster, "draws": draws,
                "tune": tune, "chains": chains, "sampler": idata.attrs.get("sampler", sampler),
                "std_lv": two.within.std_lv, "lavaan_options": two.within.options.as_dict(),
                "target_accept": idata.attrs["target_accept"], "priors": tm.priors,
                "data_options": data_options or {}}
    label = run_label(model=two.source, model_text=two.text, data_source=data_source,
                      fingerprint=data_fingerprint(checked), seed=seed, synthetic=synthetic,
                      settings=settings)
    t0 = time.perf_counter()
    augment_twolevel(idata, tm, label=label)
    times["postprocess"] = time.perf_counter() - t0
    return TwoLevelFit(idata=idata, two=two, model=tm, timings=times)
