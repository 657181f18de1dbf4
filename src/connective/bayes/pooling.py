"""Partial pooling: the group-specific parameters of a hierarchical model, inside the PyMC
model that :func:`connective.bayes.model.build_model` opens.

Every varying effect (a path or an intercept, see :mod:`connective.bayes.groups`) of group
g is ``theta_g = theta + gamma w_g + L z_g`` with ``z_g ~ N(0, I)`` (non-centred, so that
small between-group SDs do not trap the sampler in a funnel), ``L`` the Cholesky factor of
the between-group covariance (LKJ(2) on its correlations, half-normal SDs) or a diagonal of
SDs, ``w_g`` the coded group-level predictor and ``gamma`` its coefficients. Residual scales
vary multiplicatively: ``psi_g = psi exp(2 s u_g)``, ``u_g ~ N(0, 1)``. Under approximate
measurement invariance, free loadings and item intercepts deviate by group with small fixed
prior SDs (BSEM): ``lambda_g = lambda + 0.1 (s_j / s_k) v_g``, ``nu_g = nu + 0.1 s_j v_g``.

Their default priors are documented with the others in :mod:`connective.bayes.priors`.

Example
-------
>>> between_group_scales(["M~X", "M~1"], {"M": 2.0, "X": 1.0})
array([1., 1.])
"""

from __future__ import annotations

import numpy as np

from connective.bayes.groups import GroupDesign
from connective.bayes.matrices import Layout
from connective.bayes.priors import (BETWEEN_SD_SCALE, INVARIANCE_SD, LKJ_ETA, PREDICTOR_SCALE,
                                     RESIDUAL_LOG_SD)


def _scale(name: str, scales: dict[str, float]) -> float:
    if name.endswith("~1"):
        return scales[name[:-2]]
    target, source = name.split("~")
    return scales[target] / scales[source]


def between_group_scales(names: list[str], scales: dict[str, float]) -> np.ndarray:
    """Prior SD of each varying effect's between-group SD (see the module table)."""
    return np.array([BETWEEN_SD_SCALE * _scale(n, scales) for n in names])


def invariance_parameters(layout: Layout) -> list[int]:
    """Indices of the parameters that deviate by group under approximate invariance: free
    loadings and item intercepts."""
    return [k for k, p in enumerate(layout.params)
            if p.kind == "loading" or (p.kind == "intercept" and p.matrix == "nu")]


def group_parameters(pm, pt, design: GroupDesign, layout: Layout, theta, *,
                     scales: dict[str, float], item_sd: dict[str, float], initvals: dict):
    """The (groups, parameters) tensor of group-specific values on ``layout`` (the
    extended layout, with latent means), given the population values ``theta``; adds the
    pooling variables to the current PyMC model and their starting values to ``initvals``.
    """
    G, K = design.n_groups, layout.n_params
    rng = np.random.default_rng(20261130)  # starting values only
    shift = pt.zeros((G, K))
    varying = np.array([layout.index(n) for n in design.varying], dtype=int)
    E = len(varying)
    if E:
        # a hair off zero: at z = 0 the gradient of every between-group SD is exactly 0
        z0 = 0.1 * rng.standard_normal((G, E))
        z = pm.Normal("group_z", 0.0, 1.0, dims=("group", "varying"), initval=z0)
        initvals["group_z"] = z0
        sd_scale = between_group_scales(design.varying, scales)
        if design.covariance == "full" and E > 1:
            chol, corr, sd = pm.LKJCholeskyCov(
                "group_chol", n=E, eta=LKJ_ETA, compute_corr=True,
                sd_dist=pm.HalfNormal.dist(sigma=sd_scale, shape=E))
            pm.Deterministic("group_sd", sd, dims="varying")
            pm.Deterministic("group_corr", corr, dims=("varying", "varying_"))
            dev = z @ chol.T
        else:
            sd = pm.HalfNormal("group_sd", sigma=sd_scale, dims="varying",
                               initval=0.5 * sd_scale)
            initvals["group_sd"] = 0.5 * sd_scale
            dev = z * sd[None, :]
        if design.predictor is not None:
            coef_scale = np.array([PREDICTOR_SCALE * _scale(n, scales) for n in design.varying])
            coef = pm.Normal("group_coef", 0.0, coef_scale, dims="varying")
            dev = dev + np.asarray(design.predictor_values)[:, None] * coef[None, :]
        shift = pt.set_subtensor(shift[:, varying], dev)
    if design.invariance == "approximate":
        idx = invariance_parameters(layout)
        sd = np.array([INVARIANCE_SD * item_sd[layout.params[k].rhs] / scales[layout.params[k].lhs]
                       if layout.params[k].kind == "loading"
                       else INVARIANCE_SD * item_sd[layout.params[k].lhs] for k in idx])
        v = pm.Normal("invariance_z", 0.0, 1.0, dims=("group", "invariant"))
        dev = pm.Deterministic("invariance_deviation", v * sd[None, :],
                               dims=("group", "invariant"))
        shift = pt.inc_subtensor(shift[:, np.array(idx)], dev)
    theta_g = theta[None, :] + shift
    if design.residuals:
        # residual SD of variable i times f_i = exp(s_i u_i): variances by f_i^2, residual
        # covariances by f_i f_j (correlations unchanged, so Psi stays positive definite)
        eta = {v: i for i, v in enumerate(layout.structural)}
        scaled = np.array([eta[layout.params[layout.index(n)].lhs] for n in design.residuals])
        u0 = 0.1 * rng.standard_normal((G, len(scaled)))
        u = pm.Normal("residual_z", 0.0, 1.0, dims=("group", "residual"), initval=u0)
        initvals["residual_z"] = u0
        s = pm.HalfNormal("residual_log_sd", RESIDUAL_LOG_SD, dims="residual")
        f = pt.exp(pt.set_subtensor(pt.zeros((G, len(eta)))[:, scaled], u * s[None, :]))
        psi = [k for k, p in enumerate(layout.params) if p.matrix == "psi"]
        i = np.array([eta[layout.params[k].lhs] for k in psi])
        j = np.array([eta[layout.params[k].rhs] for k in psi])
        theta_g = pt.set_subtensor(theta_g[:, psi], theta_g[:, psi] * f[:, i] * f[:, j])
    return pm.Deterministic("group_parameters", theta_g, dims=("group", "group_param"))


def coords(design: GroupDesign, layout: Layout) -> dict[str, list[str]]:
    """The model coordinates the pooling variables use."""
    out = {"group": list(design.names), "varying": list(design.varying),
           "varying_": list(design.varying), "group_param": list(layout.names)}
    if design.residuals:
        out["residual"] = list(design.residuals)
    if design.invariance == "approximate":
        out["invariant"] = [layout.names[k] for k in invariance_parameters(layout)]
    return out
