"""The normal likelihood inside the ``pm.Model`` (model.py keeps the frame): the data
containers and the log-likelihood of one group, or of every group of a hierarchical model,
complete or with missing answers.

The log-likelihood of a recursive model is one Op from the parameters to the log-density
(:mod:`~connective.bayes.sem_normal_op`), complete or with missing answers, one group or
many: missing answers through one factorisation of each group's Sigma and an r x r Schur
correction per missingness pattern (r missing columns). ``fused=False`` builds the same
likelihood as a graph of PyTensor nodes, as before the Op (missing answers:
:func:`~connective.bayes.likelihood.fiml_loglik_tensor`), and ``fiml="patterns"`` wave 1's
inverse and determinant of every pattern's own Sigma_oo; both are kept selectable for
comparison (scripts/benchmark_bayes.py).

Example
-------
>>> import numpy as np, pandas as pd
>>> from connective.spec import parse_model
>>> from connective.bayes.model import build_model
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
>>> frame.iloc[0, 0] = np.nan
>>> bm = build_model(parse_model("F =~ a + b + c"), frame)
>>> sorted(v for v in bm.model.named_vars if v.startswith("data_"))
['data_factor', 'data_mean', 'data_n', 'data_observed', 'data_rank']
"""

from __future__ import annotations

import numpy as np

from connective.bayes.likelihood import (FIML_METHODS, SufficientStatistics, fiml_data,
                                         fiml_loglik_tensor, loglik_tensor, subset)
from connective.bayes.matrices import Layout, implied_moments
from connective.errors import ModelError


def check_fiml(fiml: str) -> None:
    """Refuse an unknown missing-data method."""
    if fiml not in FIML_METHODS:
        raise ModelError(f"unknown missing-data method {fiml!r}; expected one of "
                         f"{', '.join(FIML_METHODS)}")


def normal_loglik(pm, pt, layout: Layout, theta, stats: SufficientStatistics,
                  fiml: str = "schur", fused: bool = True):
    """``(loglik, sigma)``: the log-likelihood (a pytensor scalar) of the data ``stats``
    under the parameters ``theta``, with its data containers (in the model context), and
    the implied covariance, or ``None`` where the likelihood is -inf for a Sigma that is
    not positive definite already. A recursive model takes one Op from theta to the
    log-likelihood, complete data or missing answers
    (:mod:`~connective.bayes.sem_normal_op`), unless ``fused=False`` (the graph of
    PyTensor nodes before it) or ``fiml="patterns"`` (wave 1's), kept for comparison."""
    if fused and layout.recursive and fiml != "patterns":  # the Op needs B lower triangular
        return _fused(pm, layout, theta, stats.patterns, "data"), None
    mu, sigma = implied_moments(layout, theta)
    p = len(layout.observed)
    if stats.complete or fiml == "patterns":
        pattern_data = []
        for g, pat in enumerate(stats.patterns):
            suffix = "" if len(stats.patterns) == 1 else f"_{g}"
            pattern_data.append({
                "columns": pat.columns, "n": float(pat.n),
                "mean": pm.Data(f"data_mean{suffix}", pat.mean),
                "cov": pm.Data(f"data_cov{suffix}", pat.cov)})
        return loglik_tensor(pattern_data, mu, sigma, p), sigma
    fl, arrays = fiml_data([(0, pat) for pat in stats.patterns], p)
    P = pt.linalg.inv(sigma)
    logdet = pt.log(pt.linalg.det(sigma))
    return fiml_loglik_tensor(fl, pm.Data("data_mean", arrays["mean"]),
                              pm.Data("data_cov_total", arrays["cov_total"]),
                              pm.Data("data_cov_missing", arrays["cov_missing"]),
                              mu[None], P[None], logdet[None]), sigma


def _fused(pm, layout: Layout, theta, patterns, prefix: str, grouped: bool = False):
    """The log-likelihood as one Op (:mod:`~connective.bayes.sem_normal_op`), its pattern
    data as containers ``<prefix>_n``, ``_mean``, ``_factor``, ``_rank``, ``_observed``."""
    from connective.bayes.sem_normal_op import pattern_arrays, sem_normal_loglik

    arrays = pattern_arrays(patterns, len(layout.observed), by_group=grouped)
    names = ("n", "mean", "factor", "rank", "observed")
    data = {k: pm.Data(f"{prefix}_{k}", arrays[k]) for k in names}
    return sem_normal_loglik(layout, theta, arrays["group"], *(data[k] for k in names))


def check_grouped(stats: SufficientStatistics, groups) -> None:
    """A group design fits the data it was made for."""
    if len(groups.index) != stats.n:
        raise ModelError("the group design was made for another data set (its number of rows "
                         "differs); make it with group_design() on the same frame")


def grouped_cells(stats: SufficientStatistics, index: np.ndarray, n_groups: int):
    """``(group, pattern)`` cells of every group's rows by missingness pattern."""
    cells = []
    for g in range(n_groups):
        part = subset(stats, np.flatnonzero(index == g))
        cells.extend((g, pat) for pat in part.patterns)
    return cells


def grouped_loglik(pm, pt, layout: Layout, theta_g, stats: SufficientStatistics, groups,
                   fused: bool = True):
    """The normal log-likelihood of each group's data under its own parameters ``theta_g``
    (groups x parameters of the extended ``layout``), with its data containers (in the
    model context). A recursive model takes one Op for all groups, complete or with missing
    answers (:mod:`~connective.bayes.sem_normal_op`); with ``fused=False``, complete data
    the cheapest graph of PyTensor nodes for the model's shape, missing answers one inverse
    of each group's Sigma (:func:`fiml_loglik_tensor`)."""
    from connective.bayes.likelihood import (factor_model_loglik_tensor, group_determinants,
                                             group_statistics, grouped_loglik_tensor,
                                             path_model_loglik_tensor)
    from connective.bayes.matrices import model_matrices, structural_inverse

    if fused and layout.recursive:
        cells = grouped_cells(stats, groups.index, groups.n_groups)
        return _fused(pm, layout, theta_g, cells, "group", grouped=True)
    if not stats.complete:
        G = groups.n_groups
        fl, arrays = fiml_data(grouped_cells(stats, groups.index, G),
                               len(layout.observed), G)
        mu, sigma = implied_moments(layout, theta_g)
        det = group_determinants(sigma, G)
        loglik = fiml_loglik_tensor(fl, pm.Data("group_mean", arrays["mean"]),
                                    pm.Data("group_cov_total", arrays["cov_total"]),
                                    pm.Data("group_cov_missing", arrays["cov_missing"]),
                                    mu, pt.linalg.inv(sigma), pt.log(det))
        return pt.switch(pt.all(det > 0), loglik, -np.inf)
    n, mean, cov = group_statistics(stats, groups.index, groups.n_groups)
    mats = model_matrices(layout, theta_g)
    shape = layout.likelihood_shape()
    if shape == "path":
        # observed variables only: no Sigma to invert (see path_model_loglik_tensor)
        order = np.array([layout.observed.index(v) for v in layout.structural])
        return path_model_loglik_tensor(
            n.astype(float), pm.Data("group_mean", mean[:, order]),
            pm.Data("group_cov", cov[:, order][:, :, order]), mats["beta"], mats["alpha"],
            mats["psi"], diagonal_psi=layout.is_diagonal("psi"))
    if shape == "factor":
        return factor_model_loglik_tensor(
            n.astype(float), pm.Data("group_mean", mean), pm.Data("group_cov", cov), mats,
            structural_inverse(layout, mats["beta"]), diagonal_psi=layout.is_diagonal("psi"))
    mu, sigma = implied_moments(layout, theta_g)
    return grouped_loglik_tensor(n.astype(float), pm.Data("group_mean", mean),
                                 pm.Data("group_cov", cov), mu, sigma)
