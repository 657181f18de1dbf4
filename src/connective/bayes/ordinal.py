"""The ordinal likelihood: Likert answers as ordered categories (ordered probit).

Each item j has a latent response ``y*_ij = lambda_j' eta_i + e_ij`` with ``e_ij ~ N(0, 1)``
(lavaan's *theta* parameterisation: item residual variances fixed at 1, item intercepts at
0) and ordered cutpoints ``tau_j1 < ... < tau_j,K_j-1`` of its own; the answer is category
``k`` when ``tau_j,k-1 < y*_ij <= tau_jk``. Factor scores are sampled non-centred:
``eta_i = (I - B)^-1 (alpha + L z_i)``, ``z_i ~ N(0, I)``, ``L L' = Psi``. A missing answer
simply has no term; the per-respondent log-likelihood (for LOO) is the sum over that
respondent's answered items, conditional on the respondent's factor scores.

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

import numpy as np
import pandas as pd

from connective.errors import DataError

#: prior SD of every cutpoint (latent responses have residual SD 1)
CUTPOINT_SD = 5.0


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
