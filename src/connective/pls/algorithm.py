"""The PLS path-modelling algorithm (Wold, Lohmoeller), vectorised over replicates.

With standardised indicators every PLS estimate is a function of the indicator correlation
matrix R, so the algorithm works on an array ``R`` of shape ``(..., p, p)``: one matrix for
an estimate, a stack of them for bootstrap or jackknife replicates. The weights are found by
the usual alternation:

1. construct correlations ``C = W' R W`` (every composite has unit variance);
2. inner weights ``E`` by the path, centroid or factorial scheme;
3. outer update: mode A ``w_j ~ R[j, :] W E[:, j]`` (covariances of the indicators with the
   inner proxy), mode B ``w_j ~ R_jj^-1 R[j, :] W E[:, j]`` (regression of the proxy on them);
4. rescale every block to unit variance; stop when the largest change of a weight is below
   ``tol`` (replicates that converge stop changing while the others go on).

Initial weights are all 1 (as in seminr and SmartPLS). Paths are OLS regressions of the
construct scores.

Example
-------
>>> import numpy as np
>>> from connective.spec import parse_model
>>> from connective.pls.model import PLSModel
>>> m = PLSModel.from_spec(parse_model("F =~ a + b\\nG =~ c + d\\nG ~ F"))
>>> R = np.array([[1, .5, .3, .3], [.5, 1, .3, .3], [.3, .3, 1, .6], [.3, .3, .6, 1.]])
>>> fit = outer_weights(R, m)
>>> bool(fit.converged), fit.weights.round(4).tolist()
(True, [0.5774, 0.5774, 0.559, 0.559])
>>> round(float(path_coefficients(construct_correlations(R, fit.weights, m), m)[1, 0]), 4)
0.3873
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from connective.pls.model import PLSModel

SCHEMES = ("path", "centroid", "factorial")


@dataclass
class WeightFit:
    """Outer weights (..., p), iterations used, and which replicates converged."""

    weights: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray


def weight_matrix(w: np.ndarray, model: PLSModel) -> np.ndarray:
    """Block-diagonal weights ``(..., p, J)`` from the weight vector ``(..., p)``."""
    return w[..., :, None] * model.membership


def construct_correlations(R: np.ndarray, w: np.ndarray, model: PLSModel) -> np.ndarray:
    """``W' R W``: correlations of the construct scores (unit variances when normalised)."""
    W = weight_matrix(w, model)
    return np.swapaxes(W, -1, -2) @ R @ W


def normalise(w: np.ndarray, R: np.ndarray, model: PLSModel) -> np.ndarray:
    """Rescale each block's weights so that its composite has unit variance."""
    W = weight_matrix(w, model)
    var = np.sum(W * (R @ W), axis=-2)
    return w / np.sqrt(var)[..., model.block]


def inner_weights(C: np.ndarray, model: PLSModel, scheme: str = "path") -> np.ndarray:
    """Inner weights ``E[..., i, j]``: the weight of construct i in the inner proxy of j.

    path: predecessors of j get the coefficients of regressing j on them, successors the
    correlation; centroid: the sign of the correlation; factorial: the correlation. A
    measurement-only model relates every construct to every other (the path scheme, which
    needs directions, is then the factorial one); a lone construct is its own inner proxy,
    so that its mode A weights are the block's first principal component.
    """
    A = model.adjacency  # [target, source]
    adjacent = model.related.astype(float)
    if model.n_constructs == 1:
        return np.ones(C.shape)
    if model.measurement_only and scheme == "path":
        scheme = "factorial"
    if scheme == "centroid":
        return np.sign(C) * adjacent
    if scheme == "factorial":
        return C * adjacent
    if scheme != "path":
        raise ValueError(f"unknown inner weighting scheme {scheme!r}; expected one of {SCHEMES}")
    E = C * A  # E[i, j] = C[i, j] where i is a successor of j (A[i, j]: j -> i)
    for j in model.endogenous:
        pred = model.predecessors(j)
        Cpp = C[..., pred[:, None], pred[None, :]]
        Cpj = C[..., pred, j]
        E[..., pred, j] = np.linalg.solve(Cpp, Cpj[..., None])[..., 0]
    return E


def outer_weights(R: np.ndarray, model: PLSModel, *, scheme: str = "path", tol: float = 1e-7,
                  max_iter: int = 300) -> WeightFit:
    """Iterate the PLS weights on correlation matrices ``R`` (..., p, p) until convergence.

    Non-converged replicates are reported in ``converged``; the caller decides what to do.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown inner weighting scheme {scheme!r}; expected one of {SCHEMES}")
    R = np.asarray(R, dtype=float)
    lead = R.shape[:-2]
    p = R.shape[-1]
    M = model.membership
    mode_b = [(model.block_columns(j)) for j in range(model.n_constructs) if model.modes[j] == "B"]
    inv_b = [np.linalg.inv(R[..., idx[:, None], idx[None, :]]) for idx in mode_b]
    w = normalise(np.ones(lead + (p,)), R, model)
    active = np.ones(lead, dtype=bool)
    iterations = np.zeros(lead, dtype=int)
    for it in range(1, max_iter + 1):
        W = w[..., :, None] * M
        RW = R @ W
        C = np.swapaxes(W, -1, -2) @ RW
        E = inner_weights(C, model, scheme)
        g = np.sum((RW @ E) * M, axis=-1)
        for idx, inv in zip(mode_b, inv_b):
            g[..., idx] = (inv @ g[..., idx, None])[..., 0]
        new = normalise(g, R, model)
        change = np.max(np.abs(new - w), axis=-1)
        w = np.where(active[..., None], new, w)
        iterations = np.where(active, it, iterations)
        active = active & ~(change < tol)
        if not active.any():
            break
    return WeightFit(weights=w, iterations=iterations, converged=~active)


def loadings(R: np.ndarray, w: np.ndarray, model: PLSModel) -> np.ndarray:
    """Cross-loadings ``(..., p, J)``: correlation of every indicator with every construct."""
    return R @ weight_matrix(w, model)


def path_coefficients(C: np.ndarray, model: PLSModel) -> np.ndarray:
    """OLS path coefficients ``B[..., target, source]`` from construct correlations C."""
    B = np.zeros(C.shape)
    for j in model.endogenous:
        pred = model.predecessors(j)
        Cpp = C[..., pred[:, None], pred[None, :]]
        B[..., j, pred] = np.linalg.solve(Cpp, C[..., pred, j][..., None])[..., 0]
    return B


def r_squared(C: np.ndarray, B: np.ndarray) -> np.ndarray:
    """R^2 per construct (0 for exogenous constructs): sum_i b_ji C_ij."""
    return np.sum(B * C, axis=-1)
