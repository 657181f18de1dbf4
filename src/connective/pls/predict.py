"""PLSpredict (Shmueli et al. 2016, 2019), as seminr's ``predict_pls``: out-of-sample
prediction of the endogenous constructs' indicators by k-fold or leave-one-out
cross-validation, against the linear-model (LM) benchmark.

Rules (seminr 2.3, ``R/feature_plspredict.R``):

* folds: the rows are shuffled once per repetition (seeded), then cut into ``k`` folds of
  consecutive positions as R's ``cut(seq(1, n), breaks = k)``; leave-one-out is ``k = n``
  (deterministic, one repetition);
* each training part is standardised with its own means and SDs (ddof = 1) and the model
  re-estimated on it; a held-out row is standardised with the training moments, its construct
  scores are its weighted indicators, and the endogenous scores are predicted by the paths:
  **DA** (direct antecedents) from the scores of each construct's own predecessors, **EA**
  (earliest antecedents) from the exogenous scores only, through the whole inner model; an
  indicator's prediction is its loading times the predicted score, back on the raw scale;
* the LM benchmark regresses every indicator of an endogenous construct on all the other
  model indicators (seminr's rule: the items of every other construct, not only the
  exogenous ones), with an intercept, on the training part;
* with repetitions, each row's predictions are averaged over the repetitions before the
  errors are taken (seminr averages them too; its repetitions reuse one shuffle, ours draw a
  new one each);
* per indicator: RMSE and MAE on the raw scale; Q^2predict = 1 - SSE / SSE of the training
  mean (the naive benchmark); the verdict of Shmueli et al. (2019): PLS has high / medium /
  low / no predictive power when all / the majority (or half) / a minority / none of the
  indicators have a lower RMSE than the LM.

All folds of all repetitions are estimated as one stack of correlation matrices (the moments
of every training part are the full sums minus the held-out rows' sums), like the bootstrap.

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data(120)
>>> pred = predict_pls(estimate_pls(spec, frame), folds=10, repetitions=2, seed=1)
>>> list(pred.table().columns)
['construct', 'pls_rmse', 'pls_mae', 'lm_rmse', 'lm_mae', 'q2_predict', 'pls_beats_lm']
>>> pred.table().index.tolist()
['ci1', 'ci2', 'ci3']
>>> bool((pred.table()["q2_predict"] > 0).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from connective.pls.bootstrap import _admissible, _reporter
from connective.pls.errors import ConvergenceError, PLSDataError, PLSModelError
from connective.pls.estimate import fit_correlations
from connective.pls.interaction import refuse_products
from connective.pls.results import PLSResult
from connective.pls.subsets import moments_from_sums, outer_rows

TECHNIQUES = ("DA", "EA")


def r_cut(n: int, k: int) -> np.ndarray:
    """Fold (0-based) of positions 1..n as R's ``cut(seq(1, n), breaks = k, labels = FALSE)``.

    Example
    -------
    >>> r_cut(10, 3).tolist()
    [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    """
    x = np.arange(1, n + 1, dtype=float)
    if k == 1:
        return np.zeros(n, dtype=int)
    breaks = np.linspace(1.0, float(n), k + 1)
    dx = float(n - 1)
    breaks[0], breaks[-1] = 1.0 - dx / 1000, n + dx / 1000
    return np.searchsorted(breaks, x, side="left") - 1


def fold_assignments(n: int, folds: int | None = 10, repetitions: int = 1,
                     seed: int | None = None, orders: np.ndarray | None = None) -> np.ndarray:
    """Fold of every row in every repetition, ``(repetitions, n)``: a seeded shuffle per
    repetition cut into ``folds`` consecutive parts (seminr's rule); ``folds=None`` is
    leave-one-out (row i is fold i, one repetition). ``orders`` (repetitions, n) gives the
    shuffles instead of the seed (0-based row numbers, e.g. R's ``sample(n, n) - 1``).

    Example
    -------
    >>> a = fold_assignments(20, 5, repetitions=3, seed=1)
    >>> a.shape, sorted(np.bincount(a[0]).tolist())
    ((3, 20), [4, 4, 4, 4, 4])
    >>> fold_assignments(4, None).tolist()
    [[0, 1, 2, 3]]
    """
    if folds is None:
        return np.arange(n)[None, :]
    folds = int(folds)
    if not 2 <= folds <= n:
        raise PLSDataError(f"--predict-folds {folds}: expected between 2 and the number of "
                           f"rows ({n}); leave it out for 10 folds, or use 'loo'")
    if orders is None:
        rng = np.random.default_rng(seed)
        orders = np.stack([rng.permutation(n) for _ in range(int(repetitions))])
    orders = np.atleast_2d(np.asarray(orders))
    cut = r_cut(n, folds)
    out = np.empty(orders.shape, dtype=int)
    for r, order in enumerate(orders):
        out[r, order] = cut
    return out


@dataclass(eq=False)
class PLSPredict:
    """Cross-validated predictions of a :class:`PLSResult` and their errors.

    ``actual``, ``pls``, ``lm`` and ``naive`` are raw-scale tables (rows as the data used,
    one column per endogenous indicator): observed values, PLS, LM and training-mean
    predictions (averaged over repetitions). ``assignments[r, i]`` is row i's fold in
    repetition r.
    """

    result: PLSResult
    technique: str
    folds: int | None
    repetitions: int
    seed: int | None
    assignments: np.ndarray
    actual: pd.DataFrame
    pls: pd.DataFrame
    lm: pd.DataFrame
    naive: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def indicators(self) -> list[str]:
        return list(self.actual.columns)

    def table(self) -> pd.DataFrame:
        """Per endogenous indicator: ``construct, pls_rmse, pls_mae, lm_rmse, lm_mae,
        q2_predict, pls_beats_lm`` (PLS RMSE below the LM's)."""
        e_pls = self.actual - self.pls
        e_lm = self.actual - self.lm
        e_naive = self.actual - self.naive
        owner = {c: k for k, c in self.result.model.indicator_names}
        out = pd.DataFrame({
            "construct": [owner[c] for c in self.indicators],
            "pls_rmse": np.sqrt((e_pls ** 2).mean()), "pls_mae": e_pls.abs().mean(),
            "lm_rmse": np.sqrt((e_lm ** 2).mean()), "lm_mae": e_lm.abs().mean(),
            "q2_predict": 1 - (e_pls ** 2).sum() / (e_naive ** 2).sum()})
        out["pls_beats_lm"] = out["pls_rmse"] < out["lm_rmse"]
        out.index.name = "indicator"
        return out

    def verdict(self, target: str | None = None, metric: str = "rmse") -> str:
        """Shmueli et al. (2019)'s reading, over the indicators of ``target`` (a construct)
        or of every endogenous construct: Q^2predict > 0 first, then how many indicators
        have a lower ``metric`` (``"rmse"``, or ``"mae"`` for skewed errors) under PLS."""
        t = self.table()
        if target is not None:
            if target not in set(t["construct"]):
                raise PLSModelError(f"--predict-target {target}: not an endogenous construct; "
                                    f"expected one of {', '.join(dict.fromkeys(t['construct']))}")
            t = t[t["construct"] == target]
        k, m = int((t[f"pls_{metric}"] < t[f"lm_{metric}"]).sum()), len(t)
        relevant = int((t["q2_predict"] > 0).sum())
        if relevant < m:
            head = (f"Q2predict <= 0 for {m - relevant} of {m} indicators (PLS predicts "
                    "them no better than the training mean): no predictive relevance there; ")
        else:
            head = f"Q2predict > 0 for all {m} indicators; "
        if k == m:
            power = "high predictive power"
        elif 2 * k >= m and k > 0:
            power = "medium predictive power"
        elif k > 0:
            power = "low predictive power"
        else:
            power = "no predictive power beyond the LM benchmark"
        return (f"{head}PLS has a lower {metric.upper()} than the LM benchmark for {k} of {m} "
                f"indicators: {power} (Shmueli et al. 2019)")

    def settings(self) -> dict:
        return {"technique": self.technique, "folds": "loo" if self.folds is None else self.folds,
                "repetitions": self.repetitions, "seed": self.seed,
                "benchmark": "LM on all other indicators (seminr)"}

    def summary(self) -> str:
        f = "leave-one-out" if self.folds is None else f"{self.folds} folds x {self.repetitions} repetitions"
        lines = [f"PLSpredict ({self.technique}, {f}, seed {self.seed}):",
                 self.table().round(4).to_string(), self.verdict()]
        return "\n".join(lines + [f"Note: {n}" for n in self.notes])


def endogenous_indicators(result: PLSResult) -> list[tuple[str, list[int]]]:
    """(construct, column positions) of every endogenous construct, in model order."""
    m = result.model
    return [(m.constructs[j], list(m.block_columns(j))) for j in m.endogenous]


def predict_pls(result: PLSResult, *, technique: str = "DA", folds: int | None = 10,
                repetitions: int = 1, seed: int | None = None,
                assignments: np.ndarray | None = None, chunk: int = 500,
                progress: bool | Callable[[int, int], None] = False) -> PLSPredict:
    """Cross-validated predictions of the endogenous indicators (see the module text).

    ``folds=None``: leave-one-out. ``seed``: the shuffles (drawn from the OS when None and
    recorded). ``assignments`` (repetitions, n): folds given explicitly (from
    :func:`fold_assignments`, e.g. to share them with the Bayesian counterpart).

    Example
    -------
    >>> from connective.pls import estimate_pls, example_data
    >>> spec, frame = example_data(60)
    >>> loo = predict_pls(estimate_pls(spec, frame), folds=None)
    >>> loo.assignments.shape, loo.repetitions
    ((1, 60), 1)
    """
    refuse_products(result, "PLSpredict (--predict)")
    if technique not in TECHNIQUES:
        raise ValueError(f"unknown technique {technique!r}; expected one of {TECHNIQUES}")
    m = result.model
    if not m.endogenous:
        raise PLSModelError(f"{result.spec.source}: PLSpredict predicts the indicators of "
                            "endogenous constructs, and the model has no structural paths")
    if len(set(m.columns)) < len(m.columns):
        twice = sorted({c for c in m.columns if m.columns.count(c) > 1})
        raise PLSModelError(f"{result.spec.source}: the indicator(s) {', '.join(twice)} belong "
                            "to two constructs, so PLSpredict has two predictions for them; "
                            "give each construct its own indicators")
    X = result.data.X
    n, p = X.shape
    if assignments is None:
        if folds is not None and seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        assignments = fold_assignments(n, folds, repetitions, seed)
    assignments = np.atleast_2d(np.asarray(assignments, dtype=int))
    reps = assignments.shape[0]
    k = int(assignments.max()) + 1
    fit_of = assignments + k * np.arange(reps)[:, None]  # (reps, n): index of the fit
    n_fits = reps * k
    moments = _training_moments(X, fit_of, n_fits)
    opts = {key: result.settings[key] for key in ("scheme", "consistent", "tol", "max_iter")}
    report = _reporter(progress, n_fits, label="PLSpredict")
    parts = []
    for start in range(0, n_fits, chunk):
        sl = slice(start, min(start + chunk, n_fits))
        parts.append(_fold_fits(result, moments, sl, opts))
        report(sl.stop)
    fits = {key: np.concatenate([f[key] for f in parts]) for key in parts[0]}
    endo = endogenous_indicators(result)
    targets = [i for _, cols in endo for i in cols]
    pls_z = _pls_predictions(result, X, fits, moments, fit_of, technique)[..., targets]
    lm_z = _lm_predictions(X, moments, fit_of, endo)
    naive_z = moments.mean[fit_of][..., targets]
    mean, sd = result.data.means[targets], result.data.sds[targets]
    names = [m.columns[i] for i in targets]

    def raw(z):  # average over repetitions, back to the raw scale
        return pd.DataFrame(mean + sd * z.mean(axis=0), index=result.data.index, columns=names)

    actual = raw(X[None][..., targets])
    notes = []
    if result.settings["consistent"]:
        notes.append("PLSc: predictions use the consistent paths and loadings")
        bad = int((~fits["admissible"]).sum())
        if bad:
            notes.append(f"PLSc was inadmissible (a path beyond +-1 or construct correlations "
                         f"not positive definite) in {bad} of {n_fits} training fits; their "
                         "predictions are kept, so read the errors with that in mind")
    return PLSPredict(result=result, technique=technique,
                      folds=None if (k == n and reps == 1 and folds is None) else k,
                      repetitions=reps, seed=seed, assignments=assignments, actual=actual,
                      pls=raw(pls_z), lm=raw(lm_z), naive=raw(naive_z), notes=notes)


def _training_moments(X: np.ndarray, fit_of: np.ndarray, n_fits: int):
    """Moments of every training part: the full sums minus the held-out rows' sums."""
    n, p = X.shape
    XX = outer_rows(X)
    s1 = np.zeros((n_fits, p))
    s2 = np.zeros((n_fits, p * p))
    held = np.zeros(n_fits)
    for row_fits in fit_of:  # one repetition at a time: every row is held out once
        np.add.at(s1, row_fits, X)
        np.add.at(s2, row_fits, XX)
        np.add.at(held, row_fits, 1.0)
    return moments_from_sums(n - held, X.sum(axis=0) - s1, XX.sum(axis=0) - s2)


def _fold_fits(result: PLSResult, moments, sl: slice, opts: dict) -> dict[str, np.ndarray]:
    R = moments.corr[sl]
    if not np.all(np.isfinite(R)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(R), axis=(1, 2)))[0]) + sl.start
        col = result.model.columns[int(np.flatnonzero(moments.sd[bad] < 1e-12)[0])] \
            if (moments.sd[bad] < 1e-12).any() else "?"
        raise PLSDataError(f"column {col!r} is constant in the training part of a fold, so the "
                           "model cannot be estimated there; use fewer folds (--predict-folds)")
    fit = fit_correlations(R, result.model, **opts)
    if not np.all(fit["converged"]):
        raise ConvergenceError(
            f"the PLS weights did not converge within {opts['max_iter']} iterations in "
            f"{int((~fit['converged']).sum())} training fold(s); raise --max-iter or use "
            "fewer folds (--predict-folds)")
    return {"weights": fit["weights"], "loadings": fit["loadings"], "paths": fit["paths"],
            "admissible": _admissible(fit, opts["consistent"])}


def _pls_predictions(result, X, fits, moments, fit_of, technique) -> np.ndarray:
    """Predicted indicators (reps, n, p) in the units of the standardised full data."""
    m = result.model
    mean, sd = moments.mean[fit_of], moments.sd[fit_of]
    z = (X[None] - mean) / sd
    scores = (z * fits["weights"][fit_of]) @ m.membership  # (reps, n, J)
    B = fits["paths"][fit_of]  # [target, source]
    if technique == "DA":
        pred = np.einsum("rnts,rns->rnt", B, scores)
        exo = [j for j in range(m.n_constructs) if j not in m.endogenous]
        pred[..., exo] = scores[..., exo]
    else:  # EA: from the exogenous scores, in topological order (constructs are sorted)
        pred = scores.copy()
        for j in m.endogenous:
            pred[..., j] = np.einsum("rns,rns->rn", B[..., j, :], pred)
    return mean + sd * pred[..., m.block] * fits["loadings"][fit_of]


def _lm_predictions(X, moments, fit_of, endo) -> np.ndarray:
    """LM benchmark (reps, n, items): each endogenous indicator regressed on every indicator
    outside its own block, on the training part (OLS with intercept)."""
    p = X.shape[1]
    cov = moments.corr * moments.sd[:, :, None] * moments.sd[:, None, :]
    out = []
    for _, ys in endo:
        xs = [i for i in range(p) if i not in ys]
        b = np.linalg.solve(cov[:, xs][:, :, xs], cov[:, xs][:, :, ys])  # (fits, |x|, |y|)
        mean = moments.mean[fit_of]
        dx = (X[None] - mean)[..., xs]
        out.append(mean[..., ys] + np.einsum("rnx,rnxy->rny", dx, b[fit_of]))
    return np.concatenate(out, axis=-1)


__all__ = ["PLSPredict", "predict_pls", "fold_assignments", "r_cut", "TECHNIQUES",
           "endogenous_indicators"]
