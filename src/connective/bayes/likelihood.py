"""The continuous (multivariate normal) likelihood, written with sufficient statistics.

For the rows that share a missingness pattern g (complete data: one pattern) only the count
``n_g``, the mean ``ybar_g`` and the (divide-by-n) covariance ``S_g`` of the observed
columns enter:

    log L = sum_g -n_g / 2 [p_g log 2 pi + log|Sigma_g| + tr(Sigma_g^-1 (S_g + d_g d_g'))],

with ``d_g = ybar_g - mu_g`` and ``Sigma_g, mu_g`` the implied moments restricted to the
observed columns (the full-information likelihood by pattern). The cost per gradient does
not grow with N.

The per-respondent log-likelihood (for LOO) and the chi-square discrepancy of the posterior
predictive p-value (blavaan's PPP) are computed after sampling, with numpy, from the draws.

Example
-------
>>> import numpy as np, pandas as pd
>>> frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [2.0, 1.0, 4.0, 3.0]})
>>> stats = sufficient_statistics(frame, ["a", "b"])
>>> stats.n, stats.patterns[0].mean.tolist()
(4, [2.5, 2.5])
>>> ll = pointwise_loglik(stats, np.array([2.5, 2.5]), np.eye(2) * 1.25)
>>> bool(np.isclose(ll.sum(), loglik_numpy(stats, np.array([2.5, 2.5]), np.eye(2) * 1.25)))
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from connective.errors import DataError

LOG_2PI = float(np.log(2 * np.pi))
#: how missing answers enter the graph (see bayes/normal.py): one factorisation of Sigma
#: with a Schur-complement correction per pattern, or wave 1's inverse per pattern
FIML_METHODS = ("schur", "patterns")


@dataclass
class Pattern:
    """Rows sharing one missingness pattern: observed column indices, rows, count, mean,
    covariance (divide by n) and a factor of it."""

    columns: np.ndarray
    rows: np.ndarray
    n: int
    mean: np.ndarray
    cov: np.ndarray
    factor: np.ndarray


@dataclass
class SufficientStatistics:
    """The data as the likelihood sees them. Build with :func:`sufficient_statistics`."""

    variables: list[str]
    values: np.ndarray  # n x p, NaN = missing
    patterns: list[Pattern]

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    @property
    def complete(self) -> bool:
        return len(self.patterns) == 1 and len(self.patterns[0].columns) == self.values.shape[1]

    @property
    def mean(self) -> np.ndarray:
        return np.nanmean(self.values, axis=0)

    @property
    def sd(self) -> np.ndarray:
        return np.nanstd(self.values, axis=0, ddof=1)


def sufficient_statistics(frame: pd.DataFrame, variables: list[str]) -> SufficientStatistics:
    """Counts, means and covariances by missingness pattern of ``variables`` in ``frame``.

    Raises :class:`~connective.errors.DataError` for missing or non-numeric columns, rows
    with no answers, constant variables and a covariance matrix that is not positive definite
    (collinear items, fewer complete rows than variables).

    Example
    -------
    >>> frame = pd.DataFrame({"a": [1.0, 2.0, None, 4.0], "b": [2.0, 1.0, 4.0, 3.0]})
    >>> len(sufficient_statistics(frame, ["a", "b"]).patterns)
    2
    """
    missing = [v for v in variables if v not in frame.columns]
    if missing:
        raise DataError(f"the data have no column(s) {', '.join(missing)}, which the model "
                        f"uses; the data have {', '.join(map(str, frame.columns))}")
    cols = {}
    for v in variables:
        values = pd.to_numeric(frame[v], errors="coerce")
        bad = values.isna() & frame[v].notna()
        if bad.any():
            example = frame[v][bad].iloc[0]
            raise DataError(f"column {v!r} has non-numeric values (e.g. {example!r}); code "
                            "answers as numbers and missing answers as empty cells")
        cols[v] = values.to_numpy(dtype=float)
    Y = np.column_stack([cols[v] for v in variables])
    observed = ~np.isnan(Y)
    empty = np.flatnonzero(~observed.any(axis=1))
    if len(empty):
        raise DataError(f"{len(empty)} row(s) have no answer on any model variable (first: row "
                        f"{empty[0] + 1}); drop them from the data")
    sd = np.nanstd(Y, axis=0)
    constant = [v for v, s in zip(variables, sd) if not s > 0]
    if constant:
        raise DataError(f"the variable(s) {', '.join(constant)} have the same value in every "
                        "row; a constant item carries no information: drop it from the model")
    _check_covariance(Y, variables)
    patterns = _patterns(Y)
    return SufficientStatistics(list(variables), Y, patterns)


def _patterns(Y: np.ndarray) -> list[Pattern]:
    """The missingness patterns of ``Y`` (NaN = missing), most answered items first."""
    observed = ~np.isnan(Y)
    keys, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    first = [np.flatnonzero(inverse == g)[0] for g in range(len(keys))]
    order = np.argsort(-observed.sum(axis=1)[first], kind="stable")
    patterns = []
    for g in order:
        rows = np.flatnonzero(inverse == g)
        columns = np.flatnonzero(keys[g])
        sub = Y[np.ix_(rows, columns)]
        mean = sub.mean(axis=0)
        centred = sub - mean
        cov = centred.T @ centred / len(rows)
        w, V = np.linalg.eigh(cov)
        factor = V * np.sqrt(np.clip(w, 0.0, None))
        patterns.append(Pattern(columns, rows, len(rows), mean, cov, factor))
    return patterns


def _check_covariance(Y: np.ndarray, variables: list[str]) -> None:
    from connective.data.quirks import covariance_problem

    problem = covariance_problem(Y, variables)
    if problem:
        raise DataError(problem)


# -- in the PyMC graph -----------------------------------------------------------------------

def loglik_tensor(stats_data: list[dict], mu, sigma, p_total: int):
    """Log-likelihood as a pytensor scalar from implied ``mu``, ``sigma`` (``p_total``
    observed variables) and pattern data (dicts with ``columns`` (numpy ints), ``n``,
    ``mean``, ``cov``: tensors or arrays).

    Written with an explicit inverse and determinant, whose numba code and gradients are
    an order of magnitude faster here than a Cholesky factor and triangular solves. The
    caller guarantees that ``sigma`` is positive definite (see ``model.py``).
    """
    import pytensor.tensor as pt

    total = 0.0
    for pat in stats_data:
        cols = pat["columns"]
        full = len(cols) == p_total
        sig = sigma if full else sigma[cols][:, cols]
        m = mu if full else mu[cols]
        inv = pt.linalg.inv(sig)
        d = pat["mean"] - m
        tr = pt.sum(inv * pat["cov"]) + pt.dot(d, pt.dot(inv, d))
        logdet = pt.log(pt.linalg.det(sig))
        total = total - 0.5 * pat["n"] * (len(cols) * LOG_2PI + logdet + tr)
    return total


@dataclass
class FimlLayout:
    """What the one-factorisation likelihood of incomplete data needs besides the data:
    per pattern cell (a missingness pattern, within a group for hierarchical models) its
    count ``n``, its observed columns as a 0/1 ``mask`` (cells, p) and its ``group``; the
    incomplete cells by number of missing columns ``r`` as (r, cell indices, missing
    columns (cells_r, r)); ``n_groups`` and the rows of each group ``group_n``."""

    n: np.ndarray
    mask: np.ndarray
    group: np.ndarray
    n_groups: int
    by_missing: list[tuple[int, np.ndarray, np.ndarray]]

    @property
    def group_n(self) -> np.ndarray:
        return np.bincount(self.group, weights=self.n, minlength=self.n_groups)

    @property
    def incomplete(self) -> np.ndarray:
        """Cell indices of the incomplete patterns, in the order of ``by_missing``."""
        parts = [cells for _, cells, _ in self.by_missing]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=int)


def fiml_data(cells: list[tuple[int, "Pattern"]], p: int, n_groups: int = 1
              ) -> tuple[FimlLayout, dict[str, np.ndarray]]:
    """The layout and the data arrays of :func:`fiml_loglik_tensor` from pattern cells
    ``(group, pattern)`` of ``p`` variables: ``mean`` (cells, p) and the incomplete cells'
    ``cov_missing`` (divide by n), zero in unobserved columns, and ``cov_total`` (groups, p,
    p), the count-weighted sum of every cell's covariance in its group.

    Example
    -------
    >>> frame = pd.DataFrame({"a": [1.0, 2.0, None, 4.0], "b": [2.0, 1.0, 4.0, 3.0]})
    >>> st = sufficient_statistics(frame, ["a", "b"])
    >>> fl, arrays = fiml_data([(0, pat) for pat in st.patterns], 2)
    >>> fl.n.tolist(), [(r, cells.tolist()) for r, cells, _ in fl.by_missing]
    ([3.0, 1.0], [(1, [1])])
    """
    G = len(cells)
    n = np.array([float(pat.n) for _, pat in cells])
    group = np.array([g for g, _ in cells], dtype=int)
    mask = np.zeros((G, p))
    mean = np.zeros((G, p))
    cov_full = np.zeros((G, p, p))
    for c, (_, pat) in enumerate(cells):
        mask[c, pat.columns] = 1.0
        mean[c, pat.columns] = pat.mean
        cov_full[c][np.ix_(pat.columns, pat.columns)] = pat.cov
    cov_total = np.zeros((n_groups, p, p))
    np.add.at(cov_total, group, n[:, None, None] * cov_full)
    missing = p - mask.sum(axis=1).astype(int)
    by_missing = []
    for r in sorted(set(missing.tolist()) - {0}):
        idx = np.flatnonzero(missing == r)
        cols = np.stack([np.flatnonzero(mask[c] == 0) for c in idx])
        by_missing.append((r, idx, cols))
    layout = FimlLayout(n, mask, group, n_groups, by_missing)
    return layout, {"mean": mean, "cov_total": cov_total,
                    "cov_missing": cov_full[layout.incomplete]}


def fiml_loglik_tensor(fl: FimlLayout, mean, cov_total, cov_missing, mu, P, logdet):
    """The full-information log-likelihood by pattern from one inverse ``P = Sigma^-1`` and
    ``log|Sigma|`` per group (pytensor; ``mu`` (groups, p), ``P`` (groups, p, p),
    ``logdet`` (groups,)), instead of an inverse and a determinant per pattern. For a
    pattern missing the columns m (observed o), by the Schur complement

        Sigma_oo^-1 = P_oo - P_om P_mm^-1 P_mo,    log|Sigma_oo| = log|Sigma| + log|P_mm|,

    so with ``T = S + dd'`` zero-filled outside o, ``tr(Sigma_oo^-1 T_oo) = tr(P T) -
    tr(P_mm^-1 P_m. T P_.m)``: the complete part ``tr(P sum_g n_g T_g)`` is one p x p
    product, and each incomplete pattern removes its r missing columns one at a time, each a
    rank-one step (r = 1 for most survey rows: a division). ``mean``, ``cov_total``,
    ``cov_missing``: see :func:`fiml_data`."""
    import pytensor.tensor as pt

    grouped = fl.n_groups > 1
    n = fl.n
    if grouped:
        D = mean - fl.mask * mu[fl.group]
        PD = (P[fl.group] @ D[..., None])[..., 0]
    else:
        D = mean - fl.mask * mu[0]
        PD = D @ P[0]
    total = pt.sum(P * cov_total) + pt.sum(n * pt.sum(D * PD, axis=-1))
    total = total + pt.sum(fl.group_n * logdet)
    total = total + float(np.sum(n * fl.mask.sum(axis=1))) * LOG_2PI
    start = 0
    for r, cells, cols in fl.by_missing:
        S = cov_missing[start:start + len(cells)]
        start += len(cells)
        h = fl.group[cells]
        Dr = D[cells]
        # a pattern answered by one row has no spread (S = 0): its u'Su term, p x p per
        # cell, is skipped (most incomplete patterns of a survey are single rows)
        spread = np.flatnonzero(n[cells] > 1)
        # eliminate the missing columns one at a time (rank-one Schur steps, elementwise:
        # a batched inverse or matmul costs more in numba than these p x p products)
        Pc = P[h] if grouped else P[0]
        batch = np.arange(len(cells))
        for j in range(r):
            k = cols[:, j]
            if j == 0 and not grouped:
                u, piv = Pc[k], Pc[k, k]
            else:
                u, piv = Pc[batch, k], Pc[batch, k, k]
            b = pt.sum(u * Dr, axis=-1)
            total = total + pt.sum(n[cells] * (pt.log(piv) - b ** 2 / piv))
            if len(spread):
                us = u[spread]
                a = pt.sum(us[:, :, None] * S[spread] * us[:, None, :], axis=(-2, -1))
                total = total - pt.sum(n[cells][spread] * a / piv[spread])
            if j + 1 < r:
                Pc = Pc - u[:, :, None] * u[:, None, :] / piv[:, None, None]
    return -0.5 * total


def group_determinants(matrices, n_groups: int):
    """Determinant of each of ``n_groups`` matrices (pytensor), one node per group:
    pytensor's batched slogdet fails to compile without its gradient (PyMC compiles such
    graphs), and a batched Cholesky was 5x slower per gradient."""
    import pytensor.tensor as pt

    return pt.stack([pt.linalg.det(matrices[g]) for g in range(n_groups)])


def grouped_loglik_tensor(n, mean, cov, mu, sigma):
    """Log-likelihood of complete data in groups (pytensor): ``n`` (G,) counts, ``mean``
    (G, p) and ``cov`` (G, p, p, divide by n) per group, implied ``mu`` (G, p) and
    ``sigma`` (G, p, p). ``-inf`` where a group's implied covariance has a non-positive
    determinant (it cannot be a covariance matrix)."""
    import pytensor.tensor as pt

    inv = pt.linalg.inv(sigma)
    d = mean - mu
    tr = pt.sum(inv * cov, axis=(-2, -1)) + pt.sum(d * (inv @ d[..., None])[..., 0], axis=-1)
    det = group_determinants(sigma, len(n))
    p = sigma.shape[-1]
    total = -0.5 * pt.sum(n * (p * LOG_2PI + pt.log(det) + tr))
    return pt.switch(pt.all(det > 0), total, -np.inf)


def path_model_loglik_tensor(n, mean, cov, beta, alpha, psi, *, diagonal_psi: bool):
    """The same log-likelihood for a recursive model of observed variables only (no
    factors, no measurement error), without inverting Sigma: with ``E = I - B`` (det 1),
    ``Sigma^-1 = E' Psi^-1 E``, so per group ``log|Sigma| = log|Psi|`` and
    ``tr(Sigma^-1 (S + dd')) = tr(Psi^-1 (E S E' + r r'))`` with the residual mean
    ``r = E ybar - alpha``. All arrays are per group (leading dim G) and in the order of the
    structural variables. Much cheaper per gradient than :func:`grouped_loglik_tensor` when
    groups are many (persons in a diary study)."""
    import pytensor.tensor as pt

    m = beta.shape[-1]
    E = pt.eye(m) - beta
    r = (E @ mean[..., None])[..., 0] - alpha
    if diagonal_psi:
        var = pt.diagonal(psi, axis1=-2, axis2=-1)
        quad = pt.sum(E[..., :, :, None] * cov[..., None, :, :] * E[..., :, None, :],
                      axis=(-2, -1))  # diag(E S E')
        tr = pt.sum((quad + r ** 2) / var, axis=-1)
        logdet = pt.sum(pt.log(var), axis=-1)
    else:
        inv = pt.linalg.inv(psi)
        R = E @ cov @ pt.swapaxes(E, -1, -2) + r[..., :, None] * r[..., None, :]
        tr = pt.sum(inv * R, axis=(-2, -1))
        det = group_determinants(psi, len(n))
        total = -0.5 * pt.sum(n * (m * LOG_2PI + pt.log(det) + tr))
        return pt.switch(pt.all(det > 0), total, -np.inf)
    return -0.5 * pt.sum(n * (m * LOG_2PI + logdet + tr))


def factor_model_loglik_tensor(n, mean, cov, mats, A, *, diagonal_psi: bool):
    """The same log-likelihood for a factor model whose items have uncorrelated residuals
    (Theta diagonal and positive) and no observed variable in the structural model, through
    the m x m matrices of the factors instead of the p x p Sigma (Woodbury and the matrix
    determinant lemma): with ``D = Theta^-1``, ``C^-1 = E' Psi^-1 E`` (``E = I - B``) and
    ``K = C^-1 + Lambda' D Lambda``,

        tr(Sigma^-1 T) = tr(D T) - tr(K^-1 (D Lambda)' T (D Lambda)),
        log|Sigma| = log|Theta| + log|Psi| + log|K|,

    for ``T = S + dd'``. ``mats`` are the model matrices per group (leading dim G), ``A``
    the structural inverse. For the 24 items and 7 factors of the connective-action model
    a 7 x 7 inverse per group replaces a 24 x 24 one."""
    import pytensor.tensor as pt

    lam, beta, psi = mats["lambda"], mats["beta"], mats["psi"]
    m = beta.shape[-1]
    G = len(n)
    theta = pt.diagonal(mats["theta"], axis1=-2, axis2=-1)  # (G, p)
    D = 1.0 / theta
    E = pt.eye(m) - beta
    if diagonal_psi:
        psi_var = pt.diagonal(psi, axis1=-2, axis2=-1)
        c_inv = pt.swapaxes(E, -1, -2) @ (E / psi_var[..., :, None])
        logdet_psi = pt.sum(pt.log(psi_var), axis=-1)
        psi_ok = None
    else:
        det_psi = group_determinants(psi, G)
        c_inv = pt.swapaxes(E, -1, -2) @ pt.linalg.inv(psi) @ E
        logdet_psi = pt.log(det_psi)
        psi_ok = pt.all(det_psi > 0)
    W = lam * D[..., :, None]  # D Lambda, (G, p, m)
    K = c_inv + pt.swapaxes(lam, -1, -2) @ W
    det_k = group_determinants(K, G)
    mu = mats["nu"] + (lam @ (A @ mats["alpha"][..., None]))[..., 0]
    d = mean - mu
    Wt = pt.swapaxes(W, -1, -2)
    wd = (Wt @ d[..., None])[..., 0]
    M = Wt @ cov @ W + wd[..., :, None] * wd[..., None, :]
    tr = pt.sum(D * (pt.diagonal(cov, axis1=-2, axis2=-1) + d ** 2), axis=-1) - \
        pt.sum(pt.linalg.inv(K) * M, axis=(-2, -1))
    logdet = pt.sum(pt.log(theta), axis=-1) + logdet_psi + pt.log(det_k)
    p = mean.shape[-1]
    total = -0.5 * pt.sum(n * (p * LOG_2PI + logdet + tr))
    ok = pt.all(det_k > 0)
    return pt.switch(ok if psi_ok is None else ok & psi_ok, total, -np.inf)


def group_statistics(stats: "SufficientStatistics", index: np.ndarray, n_groups: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts (G,), means (G, p) and divide-by-n covariances (G, p, p) of complete data by
    group.

    Example
    -------
    >>> frame = pd.DataFrame({"a": [1.0, 3.0, 5.0], "b": [0.0, 2.0, 1.0]})
    >>> n, mean, cov = group_statistics(sufficient_statistics(frame, ["a", "b"]),
    ...                                 np.array([0, 0, 1]), 2)
    >>> n.tolist(), mean[0].tolist(), float(cov[0, 0, 0])
    ([2, 1], [2.0, 1.0], 1.0)
    """
    parts = [subset(stats, np.flatnonzero(index == g)).patterns[0] for g in range(n_groups)]
    return (np.array([pat.n for pat in parts]), np.stack([pat.mean for pat in parts]),
            np.stack([pat.cov for pat in parts]))


def subset(stats: "SufficientStatistics", rows: np.ndarray) -> "SufficientStatistics":
    """The statistics of some rows, by their own missingness patterns (no checks: a group
    may have fewer rows than variables)."""
    Y = stats.values[rows]
    return SufficientStatistics(list(stats.variables), Y, _patterns(Y))


# -- after sampling (numpy) ------------------------------------------------------------------

def loglik_numpy(stats: SufficientStatistics, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """The same log-likelihood with numpy, over leading dims of ``mu`` (…, p) and ``sigma``."""
    total = 0.0
    for pat in stats.patterns:
        c = pat.columns
        sig = sigma[..., c[:, None], c[None, :]]
        d = pat.mean - mu[..., c]
        L = np.linalg.cholesky(sig)
        logdet = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
        M = pat.cov + d[..., :, None] * d[..., None, :]
        tr = np.trace(np.linalg.solve(sig, M), axis1=-2, axis2=-1)
        total = total - 0.5 * pat.n * (len(c) * LOG_2PI + logdet + tr)
    return total


def pointwise_loglik(stats: SufficientStatistics, mu: np.ndarray, sigma: np.ndarray,
                     *, chunk: int = 256) -> np.ndarray:
    """Per-respondent log-likelihood (summed over that respondent's answered items), with
    the leading dims of ``mu`` / ``sigma`` and a last dim of respondents.

    Example
    -------
    >>> frame = pd.DataFrame({"a": [0.0, 1.0, -1.0], "b": [1.0, 0.0, -1.0]})
    >>> ll = pointwise_loglik(sufficient_statistics(frame, ["a", "b"]), np.zeros(2), np.eye(2))
    >>> ll.shape, round(float(ll[0]), 4)
    ((3,), -2.3379)
    """
    lead = mu.shape[:-1]
    mu2 = mu.reshape(-1, mu.shape[-1])
    sig2 = sigma.reshape(-1, *sigma.shape[-2:])
    out = np.empty((mu2.shape[0], stats.n))
    for pat in stats.patterns:
        c = pat.columns
        Yg = stats.values[np.ix_(pat.rows, c)]
        for start in range(0, mu2.shape[0], chunk):
            sl = slice(start, start + chunk)
            sig = sig2[sl][:, c[:, None], c[None, :]]
            L = np.linalg.cholesky(sig)
            logdet = 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(-1)
            dev = Yg[None, :, :] - mu2[sl][:, None, c]  # draws x rows x p
            z = np.linalg.solve(L, np.swapaxes(dev, -1, -2))  # draws x p x rows
            out[sl][:, pat.rows] = (-0.5 * (len(c) * LOG_2PI + logdet[:, None]
                                            + (z ** 2).sum(axis=1)))
    return out.reshape(*lead, stats.n)


def chisq_discrepancy(n: int, mean: np.ndarray, cov: np.ndarray, mu: np.ndarray,
                      sigma: np.ndarray) -> np.ndarray:
    """The likelihood-ratio chi-square of data (``mean``, ``cov``; both may carry leading
    dims) against the implied moments: ``n [log|Sigma| + tr(Sigma^-1 (S + dd')) - log|S| - p]``.
    """
    p = sigma.shape[-1]
    d = mean - mu
    M = cov + d[..., :, None] * d[..., None, :]
    _, logdet_sig = np.linalg.slogdet(sigma)
    _, logdet_s = np.linalg.slogdet(cov)
    tr = np.trace(np.linalg.solve(sigma, M), axis1=-2, axis2=-1)
    return n * (logdet_sig + tr - logdet_s - p)


def ppp(stats: SufficientStatistics, mu: np.ndarray, sigma: np.ndarray,
        rng: np.random.Generator) -> tuple[float, np.ndarray, np.ndarray]:
    """Posterior predictive p-value of the chi-square discrepancy (as blavaan's PPP): per
    draw, a replicated data set's mean and covariance are drawn from their exact sampling
    distributions (normal mean, Wishart covariance). Returns ``(ppp, chisq_observed,
    chisq_replicated)`` with the draws' leading dims.

    With missing answers each missingness pattern is replicated with its own rows and items
    and the discrepancy is the sum of the patterns' chi-squares (each against its own
    saturated moments); a pattern with no more rows than items, whose covariance is singular,
    adds its deviance ``n tr(Sigma^-1 (S + dd'))`` instead, whose replicate is
    chi-square(n p).

    Example
    -------
    >>> rng = np.random.default_rng(1)
    >>> frame = pd.DataFrame(rng.normal(size=(200, 2)), columns=["a", "b"])
    >>> stats = sufficient_statistics(frame, ["a", "b"])
    >>> value, _, _ = ppp(stats, np.zeros((400, 2)), np.broadcast_to(np.eye(2), (400, 2, 2)), rng)
    >>> 0.0 <= value <= 1.0, len(_)
    (True, 400)
    """
    p = stats.values.shape[1]
    lead = mu.shape[:-1]
    mu2, sig2 = mu.reshape(-1, p), sigma.reshape(-1, p, p)
    obs, rep = np.zeros(mu2.shape[0]), np.zeros(mu2.shape[0])
    for pat in stats.patterns:
        c = pat.columns
        o, r = _pattern_discrepancy(pat, mu2[:, c], sig2[:, c[:, None], c[None, :]], rng)
        obs, rep = obs + o, rep + r
    return float(np.mean(rep >= obs)), obs.reshape(lead), rep.reshape(lead)


def _pattern_discrepancy(pat: Pattern, mu: np.ndarray, sigma: np.ndarray,
                         rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Observed and replicated discrepancy of one pattern's rows, per draw."""
    n, p = pat.n, len(pat.columns)
    D = mu.shape[0]
    if n <= p:  # singular sample covariance: the deviance part, replicated exactly
        d = pat.mean[None, :] - mu
        M = pat.cov[None, :, :] + d[:, :, None] * d[:, None, :]
        obs = n * np.trace(np.linalg.solve(sigma, M), axis1=-2, axis2=-1)
        return obs, rng.chisquare(n * p, size=D)
    L = np.linalg.cholesky(sigma)
    mean_rep = mu + np.einsum("dij,dj->di", L, rng.standard_normal((D, p))) / np.sqrt(n)
    # Bartlett: n S_rep ~ Wishart(n - 1, Sigma)
    A = np.zeros((D, p, p))
    df = n - 1 - np.arange(p)
    A[:, np.arange(p), np.arange(p)] = np.sqrt(rng.chisquare(df, size=(D, p)))
    low = np.tril_indices(p, -1)
    A[:, low[0], low[1]] = rng.standard_normal((D, len(low[0])))
    LA = L @ A
    cov_rep = LA @ np.swapaxes(LA, -1, -2) / n
    return (chisq_discrepancy(n, pat.mean, pat.cov, mu, sigma),
            chisq_discrepancy(n, mean_rep, cov_rep, mu, sigma))
