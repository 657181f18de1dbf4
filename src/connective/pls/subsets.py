"""Moments of many row subsets at once: training folds, groups, permuted groups.

PLSpredict, multigroup analysis and MICOM all estimate the model on subsets of the rows
(the training part of a fold, a group, a permuted group). Every such estimate needs only the
subset's means, standard deviations and correlations, which are sums of ``x_i`` and
``x_i x_i'`` over its rows: one matrix product for a whole stack of subsets, as the bootstrap
does with its row counts.

Example
-------
>>> import numpy as np
>>> X = np.array([[1., 2.], [2., 1.], [3., 5.], [4., 3.]])
>>> m = subset_moments(np.array([[1, 1, 1, 0], [0, 1, 1, 1.]]), X)
>>> m.mean.tolist(), m.sd[0].round(4).tolist()
([[2.0, 2.6666666666666665], [3.0, 3.0]], [1.0, 2.0817])
>>> bool(np.isclose(m.corr[1, 0, 1], np.corrcoef(X[1:], rowvar=False)[0, 1]))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SubsetMoments:
    """Per subset (leading dim): row count, means, SDs (ddof = 1), correlations."""

    n: np.ndarray  # (k,)
    mean: np.ndarray  # (k, p)
    sd: np.ndarray  # (k, p)
    corr: np.ndarray  # (k, p, p)


def outer_rows(X: np.ndarray) -> np.ndarray:
    """``x_i x_i'`` of every row, flattened: ``(n, p*p)``."""
    n, p = X.shape
    return (X[:, :, None] * X[:, None, :]).reshape(n, p * p)


def subset_moments(weights: np.ndarray, X: np.ndarray, XX: np.ndarray | None = None
                   ) -> SubsetMoments:
    """Moments of the subsets given by row weights ``(k, n)`` (0/1 membership, or counts).

    ``X`` should be roughly centred and scaled (the standardised data), so that the
    one-pass second moments lose no precision. Correlations of a subset in which a column
    is constant are NaN.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    XX = outer_rows(X) if XX is None else XX
    return moments_from_sums(weights.sum(axis=1), weights @ X, weights @ XX)


def moments_from_sums(n: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> SubsetMoments:
    """Moments from row counts ``(k,)``, sums ``(k, p)`` and sums of ``x x'`` ``(k, p*p)``."""
    p = s1.shape[-1]
    n = np.asarray(n, dtype=float)
    mean = s1 / n[:, None]
    cov = (s2.reshape(-1, p, p) - n[:, None, None] * mean[:, :, None] * mean[:, None, :])
    cov /= (n - 1)[:, None, None]
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / (sd[:, :, None] * sd[:, None, :])
    return SubsetMoments(n=n, mean=mean, sd=sd, corr=corr)


__all__ = ["SubsetMoments", "subset_moments", "moments_from_sums", "outer_rows"]
