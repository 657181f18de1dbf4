"""Consistent PLS (PLSc; Dijkstra & Henseler 2015): correcting mode A estimates for
attenuation when a construct is a common factor (``=~``).

For a common factor j with normalised weights w (w' R_jj w = 1), the consistent reliability

    rho_A = (w'w)^2 * w'(R_jj - diag R_jj)w / w'(ww' - diag(ww'))w,

the consistent loadings ``lambda = c w`` with ``c^2 = rho_A / (w'w)^2``, and the construct
correlations ``C_ij / sqrt(rho_A,i rho_A,j)``. Composites (``<~``) and single-indicator
blocks keep reliability 1. Works over any leading (replicate) dimensions.

Example
-------
>>> import numpy as np
>>> from connective.spec import parse_model
>>> from connective.pls.model import PLSModel
>>> m = PLSModel.from_spec(parse_model("F =~ a + b + c"))
>>> R = np.full((3, 3), 0.49); np.fill_diagonal(R, 1.0)   # loadings 0.7 each
>>> w = np.full(3, 1 / np.sqrt(R.sum()))
>>> rho_a(R, w, m).round(4).tolist(), consistent_loadings(R, w, m).round(4).tolist()
([0.7424], [0.7, 0.7, 0.7])
"""

from __future__ import annotations

import numpy as np

from connective.pls.model import PLSModel


def _block_terms(R: np.ndarray, w: np.ndarray, model: PLSModel, j: int):
    idx = model.block_columns(j)
    wj = w[..., idx]
    Rjj = R[..., idx[:, None], idx[None, :]]
    off = Rjj - np.eye(len(idx)) * Rjj  # R - diag R
    num = np.einsum("...p,...pq,...q->...", wj, off, wj)
    ww = np.sum(wj**2, axis=-1)
    den = ww**2 - np.sum(wj**4, axis=-1)
    return idx, wj, num, den, ww


def rho_a(R: np.ndarray, w: np.ndarray, model: PLSModel) -> np.ndarray:
    """Dijkstra-Henseler rho_A per construct ``(..., J)`` as PLSc uses it: computed for
    common factors (``=~`` with two or more indicators), 1 for composites and single items
    (for the quality criterion of every block see :func:`rho_a_all`)."""
    out = np.ones(R.shape[:-2] + (model.n_constructs,))
    for j in range(model.n_constructs):
        if model.reflective[j]:
            _, _, num, den, ww = _block_terms(R, w, model, j)
            out[..., j] = ww**2 * num / den
    return out


def rho_a_all(R: np.ndarray, w: np.ndarray, model: PLSModel) -> np.ndarray:
    """rho_A for every block with two or more indicators (NaN for single indicators), as
    quality criterion whatever the mode (seminr and SmartPLS report it for every block)."""
    out = np.full(R.shape[:-2] + (model.n_constructs,), np.nan)
    for j in range(model.n_constructs):
        if len(model.block_columns(j)) > 1:
            _, _, num, den, ww = _block_terms(R, w, model, j)
            out[..., j] = ww**2 * num / den
    return out


def consistent_loadings(R: np.ndarray, w: np.ndarray, model: PLSModel) -> np.ndarray:
    """Loadings ``(..., p)`` of each indicator on its own construct: ``c w`` for common
    factors, the indicator-composite correlation otherwise."""
    own = np.sum((R @ (w[..., :, None] * model.membership)) * model.membership, axis=-1)
    for j in range(model.n_constructs):
        if model.reflective[j]:
            idx, wj, num, den, _ = _block_terms(R, w, model, j)
            c = np.sqrt(np.where(num / den > 0, num / den, np.nan))
            own[..., idx] = c[..., None] * wj
    return own


def disattenuate(C: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Construct correlations corrected for unreliability (diagonal kept at 1)."""
    root = np.sqrt(np.where(rho > 0, rho, np.nan))
    out = C / (root[..., :, None] * root[..., None, :])
    n = C.shape[-1]
    out[..., np.arange(n), np.arange(n)] = 1.0
    return out


def inadmissible(C: np.ndarray, loadings: np.ndarray, rho: np.ndarray, B: np.ndarray,
                 r2: np.ndarray, model: PLSModel) -> list[str]:
    """Reasons why a (single) PLSc solution is inadmissible; empty if it is admissible."""
    names = model.constructs
    out: list[str] = []
    for j, r in enumerate(rho):
        if not (r > 0):
            out.append(f"rho_A of {names[j]} is {r:.3f} (not positive): it cannot be corrected")
        elif r > 1:
            out.append(f"rho_A of {names[j]} is {r:.3f} (> 1)")
    J = len(names)
    for i in range(J):
        for j in range(i):
            if abs(C[i, j]) > 1:
                out.append(f"the corrected correlation of {names[i]} and {names[j]} is "
                           f"{C[i, j]:.3f} (|r| > 1)")
    if np.all(np.isfinite(C)) and np.linalg.eigvalsh(C)[0] < 0:
        out.append("the corrected construct correlation matrix is not positive definite")
    for p, (j, item) in enumerate(zip(model.block, model.columns)):
        if model.reflective[j] and abs(loadings[p]) > 1:
            out.append(f"the loading of {item} on {names[j]} is {loadings[p]:.3f} (> 1: "
                       "negative error variance)")
    for t in range(J):
        for s in range(J):
            if B[t, s] != 0 and abs(B[t, s]) > 1:
                out.append(f"the path {names[s]} -> {names[t]} is {B[t, s]:.3f} (|b| > 1)")
        if r2[t] > 1:
            out.append(f"R^2 of {names[t]} is {r2[t]:.3f} (> 1: negative residual variance)")
    return out
