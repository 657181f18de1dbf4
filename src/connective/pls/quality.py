"""Quality criteria of a PLS model: reliability, discriminant validity, VIF, f^2.

* Cronbach's alpha of the standardised indicators: k/(k-1) (1 - k / 1'R_jj 1);
* rho_A (Dijkstra-Henseler), composite reliability rho_C = (sum l)^2 / ((sum l)^2 +
  sum(1 - l^2)) and AVE = mean(l^2) from the loadings l;
* Fornell-Larcker: sqrt(AVE) on the diagonal, construct correlations below it;
* HTMT (Henseler, Ringle & Sarstedt 2015): mean heterotrait correlation over the geometric
  mean of the two mean monotrait correlations; HTMT2 (Roemer, Schuberth & Henseler 2021)
  uses geometric means throughout. Absolute correlations are used by default (as cSEM does),
  and only for blocks of two or more indicators estimated in mode A;
* VIF of the indicators of each block (outer) and of the predictors of each endogenous
  construct (inner); Cohen's f^2 of every path.

The HTMT functions work over leading (replicate) dimensions.

Example
-------
>>> import numpy as np
>>> from connective.spec import parse_model
>>> from connective.pls.model import PLSModel
>>> m = PLSModel.from_spec(parse_model("F =~ a + b\\nG =~ c + d\\nG ~ F"))
>>> R = np.array([[1, .5, .3, .3], [.5, 1, .3, .3], [.3, .3, 1, .6], [.3, .3, .6, 1.]])
>>> round(float(htmt(R, m)[1, 0]), 4)  # 0.3 / sqrt(0.5 * 0.6)
0.5477
>>> cronbach_alpha(R, m).round(4).tolist()
[0.6667, 0.75]
"""

from __future__ import annotations

import numpy as np

from connective.pls.model import PLSModel


def cronbach_alpha(R: np.ndarray, model: PLSModel) -> np.ndarray:
    """Standardised Cronbach's alpha per construct (NaN for single indicators)."""
    out = np.full(model.n_constructs, np.nan)
    for j in range(model.n_constructs):
        idx = model.block_columns(j)
        k = len(idx)
        if k > 1:
            total = R[np.ix_(idx, idx)].sum()
            out[j] = k / (k - 1) * (1 - k / total)
    return out


def composite_reliability(own_loadings: np.ndarray, model: PLSModel) -> tuple[np.ndarray, np.ndarray]:
    """rho_C and AVE per construct from each indicator's loading on its own construct."""
    rho_c = np.full(model.n_constructs, np.nan)
    ave = np.full(model.n_constructs, np.nan)
    for j in range(model.n_constructs):
        idx = model.block_columns(j)
        if len(idx) > 1:
            lam = own_loadings[idx]
            s = lam.sum() ** 2
            rho_c[j] = s / (s + np.sum(1 - lam**2))
            ave[j] = np.mean(lam**2)
    return rho_c, ave


def htmt_constructs(model: PLSModel) -> list[int]:
    """Constructs HTMT applies to: mode A blocks with two or more indicators (not the
    interaction terms of product indicators, which measure no construct of their own)."""
    products = set(model.product_constructs)
    return [j for j in range(model.n_constructs)
            if model.modes[j] == "A" and len(model.block_columns(j)) > 1
            and model.constructs[j] not in products]


def _mean(x: np.ndarray, geometric: bool) -> np.ndarray:
    if geometric:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.exp(np.mean(np.log(np.where(x > 0, x, np.nan)), axis=-1))
    return np.mean(x, axis=-1)


def htmt(R: np.ndarray, model: PLSModel, *, geometric: bool = False,
         absolute: bool = True) -> np.ndarray:
    """HTMT (or HTMT2 with ``geometric=True``) as a ``(..., J, J)`` array, lower triangle
    filled (NaN elsewhere and for constructs it does not apply to)."""
    R = np.abs(R) if absolute else np.asarray(R)
    J = model.n_constructs
    out = np.full(R.shape[:-2] + (J, J), np.nan)
    eligible = htmt_constructs(model)
    mono = {}
    for j in eligible:
        idx = model.block_columns(j)
        iu = np.triu_indices(len(idx), 1)
        block = R[..., idx[:, None], idx[None, :]]
        mono[j] = _mean(block[..., iu[0], iu[1]], geometric)
    for a, i in enumerate(eligible):
        for j in eligible[:a]:
            ii, jj = model.block_columns(i), model.block_columns(j)
            hetero = R[..., ii[:, None], jj[None, :]].reshape(R.shape[:-2] + (-1,))
            with np.errstate(divide="ignore", invalid="ignore"):
                out[..., i, j] = _mean(hetero, geometric) / np.sqrt(mono[i] * mono[j])
    return out


def outer_vif(R: np.ndarray, model: PLSModel) -> np.ndarray:
    """VIF of every indicator within its block, ``(p,)`` (1 for single indicators)."""
    out = np.ones(len(model.columns))
    for j in range(model.n_constructs):
        idx = model.block_columns(j)
        if len(idx) > 1:
            out[idx] = np.diag(np.linalg.inv(R[np.ix_(idx, idx)]))
    return out


def inner_vif(C: np.ndarray, model: PLSModel) -> np.ndarray:
    """VIF of each predictor in each structural regression, ``[target, source]`` (NaN where
    there is no path)."""
    out = np.full(C.shape, np.nan)
    for j in model.endogenous:
        pred = model.predecessors(j)
        out[j, pred] = np.diag(np.linalg.inv(C[np.ix_(pred, pred)]))
    return out


def f_squared(C: np.ndarray, model: PLSModel) -> np.ndarray:
    """Cohen's f^2 of each path, ``[target, source]``: (R^2 - R^2 without it) / (1 - R^2)."""
    out = np.full(C.shape, np.nan)
    for j in model.endogenous:
        pred = model.predecessors(j)
        r2 = _r2(C, pred, j)
        for s in pred:
            rest = pred[pred != s]
            out[j, s] = (r2 - (_r2(C, rest, j) if len(rest) else 0.0)) / (1 - r2)
    return out


def _r2(C: np.ndarray, pred: np.ndarray, j: int) -> float:
    b = np.linalg.solve(C[np.ix_(pred, pred)], C[pred, j])
    return float(b @ C[pred, j])


#: Hair et al.'s thresholds: reliability between .70 and .95, AVE at least .50
RELIABILITY_RANGE = (0.70, 0.95)
AVE_MIN = 0.50


def reliability_flags(table) -> list[str]:
    """For each row of a reliability table (columns mode, alpha, rhoA, rhoC, AVE): what falls
    outside the thresholds, or "". A negative alpha or rho_A says an item is most likely
    reverse-keyed. Composite (mode B) blocks are not judged by these criteria.

    >>> import pandas as pd
    >>> reliability_flags(pd.DataFrame({"mode": ["A", "A"], "alpha": [-0.2, 0.85],
    ...     "rhoA": [0.1, 0.86], "rhoC": [0.5, 0.9], "AVE": [0.3, 0.6]}))
    ['alpha < 0, rhoA .10 < .70, rhoC .50 < .70, AVE .30 < .50: a negative alpha or rho_A means an item is most likely reverse-keyed (validate names it; --reverse ITEM)', '']
    """
    lo, hi = RELIABILITY_RANGE
    out = []
    for row in table.itertuples():
        if getattr(row, "mode", "A") == "B":
            out.append("")
            continue
        parts, negative = [], False
        for name in ("alpha", "rhoA", "rhoC"):
            value = getattr(row, name)
            if not np.isfinite(value):
                continue
            if value < 0:
                parts.append(f"{name} < 0")
                negative = negative or name != "rhoC"
            elif value < lo:
                parts.append(f"{name} {_two(value)} < {_two(lo)}")
            elif value > hi:
                parts.append(f"{name} {_two(value)} > {_two(hi)} (redundant items?)")
        if np.isfinite(row.AVE) and row.AVE < AVE_MIN:
            parts.append(f"AVE {_two(row.AVE)} < {_two(AVE_MIN)}")
        text = ", ".join(parts)
        if negative:
            text += (": a negative alpha or rho_A means an item is most likely reverse-keyed "
                     "(validate names it; --reverse ITEM)")
        out.append(text)
    return out


def _two(x: float) -> str:
    return f"{x:.2f}".replace("0.", ".", 1) if 0 <= x < 1 else f"{x:.2f}"
