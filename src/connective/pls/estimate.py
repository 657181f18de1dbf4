"""One PLS estimation from correlation matrices, over any leading (replicate) dimensions.

:func:`fit_correlations` runs the weights, then computes what is bootstrapped: weights,
loadings on the own construct, construct correlations, paths, R^2 and HTMT, with the PLSc
correction when asked. The point estimate, bootstrap and jackknife replicates all go through
it, so the three can never disagree about what an estimate is.

Example
-------
>>> import numpy as np
>>> from connective.spec import parse_model
>>> from connective.pls.model import PLSModel
>>> m = PLSModel.from_spec(parse_model("F =~ a + b\\nG =~ c + d\\nG ~ F"))
>>> R = np.array([[1, .5, .3, .3], [.5, 1, .3, .3], [.3, .3, 1, .6], [.3, .3, .6, 1.]])
>>> fit = fit_correlations(np.stack([R, R]), m)
>>> fit["paths"].shape, fit["paths"][:, 1, 0].round(4).tolist()
((2, 2, 2), [0.3873, 0.3873])
"""

from __future__ import annotations

import numpy as np

from connective.pls import algorithm as alg
from connective.pls.consistent import consistent_loadings, disattenuate, rho_a
from connective.pls.errors import PLSModelError
from connective.pls.higher_order import stage_two_correlations
from connective.pls.model import PLSModel
from connective.pls.quality import htmt


def fit_correlations(R: np.ndarray, model: PLSModel, *, scheme: str = "path",
                     consistent: bool = False, tol: float = 1e-7, max_iter: int = 300,
                     align: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """All estimates from correlation matrices ``R (..., p, p)``.

    ``align`` (optional, ``(p,)``: the original loadings on the own construct) turns on the
    construct-level sign-change correction of bootstrap replicates: a construct whose
    loadings are closer to minus the original ones has its weights multiplied by -1.

    Returns a dict of arrays: ``weights, loadings (own construct), cross_loadings,
    scores_corr (correlations of the composites), corr (used for the paths: corrected under
    PLSc), rho (reliabilities used by PLSc, 1 otherwise), paths [target, source], r2, htmt,
    iterations, converged``.
    """
    R = np.asarray(R, dtype=float)
    stage_one = None
    if model.stage_one is not None:
        # two-stage higher-order model: R is over stage one's items; stage two works on the
        # correlations of its items and the dimensions' scores (pls.higher_order)
        if consistent:
            raise PLSModelError(f"{model.spec.source}: PLSc (--consistent) of higher-order "
                                "constructs is not supported; use PLS without --consistent, "
                                "or the Bayesian engine (connective fit)")
        stage_one = fit_correlations(R, model.stage_one, scheme=scheme, tol=tol,
                                     max_iter=max_iter)
        stage_one["R"] = R  # the items' correlations, for stage one's own tables
        R = stage_two_correlations(R, stage_one["weights"], model.stage_one, model)
    fit = alg.outer_weights(R, model, scheme=scheme, tol=tol, max_iter=max_iter)
    w = fit.weights
    cross = alg.loadings(R, w, model)
    if align is not None:
        own = np.sum(cross * model.membership, axis=-1)
        minus = np.abs(align - own) @ model.membership  # (..., J)
        plus = np.abs(align + own) @ model.membership
        w = w * np.where(minus > plus, -1.0, 1.0)[..., model.block]
        cross = alg.loadings(R, w, model)
    C = np.swapaxes(alg.weight_matrix(w, model), -1, -2) @ cross
    if consistent:
        rho = rho_a(R, w, model)
        own = consistent_loadings(R, w, model)
        corr = disattenuate(C, rho)
    else:
        rho = np.ones(C.shape[:-1])
        own = np.sum(cross * model.membership, axis=-1)
        corr = C
    with np.errstate(invalid="ignore"):
        B = _safe_paths(corr, model)
        r2 = alg.r_squared(corr, B)
    out = {"weights": w, "loadings": own, "cross_loadings": cross, "scores_corr": C,
           "corr": corr, "rho": rho, "paths": B, "r2": r2, "htmt": htmt(R, model),
           "iterations": fit.iterations, "converged": fit.converged}
    if stage_one is not None:
        out.update(stage_one=stage_one, R=R, converged=fit.converged & stage_one["converged"],
                   iterations=np.maximum(fit.iterations, stage_one["iterations"]))
    return out


def _safe_paths(C: np.ndarray, model: PLSModel) -> np.ndarray:
    """Paths; a replicate whose predictor correlations are singular or not finite gets NaN."""
    try:
        if np.all(np.isfinite(C)):
            return alg.path_coefficients(C, model)
    except np.linalg.LinAlgError:
        pass
    out = np.full(C.shape, np.nan)
    flat_C = C.reshape((-1,) + C.shape[-2:])
    flat_out = out.reshape(flat_C.shape)
    for i, c in enumerate(flat_C):
        if np.all(np.isfinite(c)):
            try:
                flat_out[i] = alg.path_coefficients(c, model)
            except np.linalg.LinAlgError:
                pass
    return out


def parameter_layout(model: PLSModel) -> tuple[list[str], list[str], list[str], list[str]]:
    """Names and (lhs, op, rhs) of the parameter vector: loadings (``=~``), weights
    (``<~``), paths (``~``), in the order of the model; observed structural variables have
    no loadings or weights. A measurement-only model has the construct correlations
    (``F~~G``) in place of paths, as a CFA has factor correlations."""
    names, lhs, op, rhs = [], [], [], []
    if model.stage_one is not None:  # the dimensions' loadings and weights, from stage one
        one = model.stage_one
        for o in ("=~", "<~"):
            for (c, x), keep in zip(one.indicator_names, _dimension_columns(model)):
                if keep:
                    lhs.append(c), op.append(o), rhs.append(x), names.append(f"{c}{o}{x}")
    for o in ("=~", "<~"):
        for (c, x), b in zip(model.indicator_names, model.block):
            if model.observed_structural[b]:
                continue
            lhs.append(c), op.append(o), rhs.append(x), names.append(f"{c}{o}{x}")
    second_order = set(model.second_order)
    for s, t in model.paths:
        if (t, s) in second_order:  # repeated indicators: the path G -> F1 is G's loading
            lhs.append(s), op.append("=~"), rhs.append(t), names.append(f"{s}=~{t}")
        else:
            lhs.append(t), op.append("~"), rhs.append(s), names.append(f"{t}~{s}")
    for a, b in _correlated_pairs(model):
        lhs.append(model.constructs[a]), op.append("~~"), rhs.append(model.constructs[b])
        names.append(f"{model.constructs[a]}~~{model.constructs[b]}")
    return names, lhs, op, rhs


def _dimension_columns(model: PLSModel) -> np.ndarray:
    """Which of stage one's columns measure a dimension of a higher-order construct."""
    one = model.stage_one
    dims = {c for c in model.columns if c in one.constructs}
    return np.array([one.constructs[b] in dims for b in one.block], dtype=bool)


def _correlated_pairs(model: PLSModel) -> list[tuple[int, int]]:
    if not model.measurement_only:
        return []
    n = model.n_constructs
    return [(a, b) for a in range(n) for b in range(a + 1, n)]


def parameter_values(fit: dict[str, np.ndarray], model: PLSModel) -> np.ndarray:
    """The parameter vector ``(..., P)`` in the order of :func:`parameter_layout`."""
    keep = np.array([not model.observed_structural[b] for b in model.block], dtype=bool)
    index = {c: i for i, c in enumerate(model.constructs)}
    paths = [fit["paths"][..., index[t], index[s]] for s, t in model.paths]
    parts = []
    if model.stage_one is not None:
        dims = _dimension_columns(model)
        parts += [fit["stage_one"]["loadings"][..., dims], fit["stage_one"]["weights"][..., dims]]
    parts += [fit["loadings"][..., keep], fit["weights"][..., keep]]
    if paths:
        parts.append(np.stack(paths, axis=-1))
    pairs = _correlated_pairs(model)
    if pairs:
        parts.append(np.stack([fit["corr"][..., a, b] for a, b in pairs], axis=-1))
    return np.concatenate(parts, axis=-1)
