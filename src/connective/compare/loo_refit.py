"""Exact refits for LOO: the respondents PSIS cannot leave out (``--reloo``) and K-fold
cross-validation (``--kfold K``).

A refit rebuilds the run's model from what its folder records (the model text, the data
file and its cleaning options, checked against the recorded data fingerprint) and samples it
without the held-out respondents, with the run's draws, tuning, chains, sampler, target
acceptance rate and seed. The held-out respondents' log-likelihood is the one the run's LOO
used: the normal density of their answers, or an ordinal fit's marginal probability of them
(factor scores integrated out, :mod:`connective.bayes.marginal`; the proposal is placed by
each draw's Laplace approximation, started at the prior mean, since the refit sampled no
scores for them). Refits of the same shape (the same rows per missingness pattern, the same
answered cells) reuse one compiled model (:func:`connective.bayes.sample.with_data`).

- ``--reloo``: each respondent whose Pareto k exceeds 0.7 is left out in turn and its
  ``loo_i`` replaced by the exact ``log mean_s p(y_i | theta_s^(-i))`` (as ArviZ's
  ``reloo``); more than ``--reloo-max`` of them is refused in favour of ``--kfold``.
- ``--kfold K``: rows split into K folds by a permutation seeded by the run's seed; each
  fold is held out once: ``elpd_kfold`` is the sum of the held-out respondents' log
  predictive densities, its SE ``sqrt(n var)`` of the pointwise values.

Example
-------
>>> source = refit_source(read_loo_run("a", "runs/a"))  # doctest: +SKIP
>>> folds = kfold_pointwise(source, 5)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from connective.errors import ConnectiveError

#: Pareto k above which ``--reloo`` refits (Vehtari, Gelman & Gabry 2017)
K_THRESHOLD = 0.7


@dataclass
class RefitSource:
    """What a refit of a run needs: its model, rows and sampler settings."""

    name: str
    spec: object
    frame: pd.DataFrame  # the rows as fitted (respondent i = row i of the log-likelihood)
    likelihood: str
    sampling: dict  # draws, tune, chains, sampler, seed, target_accept (the run's)
    models: list = dataclasses.field(default_factory=list)  # built models, reused by shape


def refit_source(run) -> RefitSource:
    """The model, rows and settings of a :class:`~connective.compare.loo.LooRun`, refusing
    (naming the reason and what to do) a run whose refits cannot be rebuilt: its data file
    is not found or has changed, it is hierarchical or has latent interactions, or it used
    priors other than the defaults."""
    from connective.data.options import DataOptions
    from connective.provenance import data_fingerprint
    from connective.spec import parse_model

    attrs = run.idata.posterior.attrs
    label = json.loads(attrs.get("connective", "{}"))
    settings = json.loads(attrs.get("settings", "{}"))
    if settings.get("groups") or "groups" in attrs:
        raise ConnectiveError(f"{run.name}: exact refits of hierarchical (--group) fits are not "
                              "supported; compare them by PSIS-LOO without --reloo/--kfold")
    if settings.get("prior_only"):
        raise ConnectiveError(f"{run.name} sampled the priors only (--prior-only): it has no "
                              "likelihood to cross-validate")
    path = Path(label.get("data") or "")
    if not path.is_file() and label.get("data_resolved"):
        path = Path(label["data_resolved"])
    if not path.is_file():
        raise ConnectiveError(
            f"{run.folder}: the data file the run was fitted to ({label.get('data') or 'none'} "
            "recorded) is not found from here, and exact refits need the respondents' rows: "
            "run 'connective loo' from the folder the fit was run in (or restore the file), "
            "or drop --reloo/--kfold")
    spec = parse_model(attrs["model_text"], source=attrs.get("model", "<model>"),
                       std_lv=bool(settings.get("std_lv", False)))
    if spec.latent_interactions:
        raise ConnectiveError(f"{run.name}: exact refits of latent-interaction fits are not "
                              "supported yet; drop --reloo/--kfold")
    options = DataOptions.from_mapping(settings.get("data_options") or {},
                                       f"{run.folder}/posterior.nc")
    checked = options.check(options.read(path), spec, raise_on_error=False)
    frame = checked.frame[list(spec.observed)].reset_index(drop=True)
    if data_fingerprint(frame) != run.fingerprint:
        raise ConnectiveError(f"{path} has changed since {run.name} was fitted (its data "
                              "fingerprint differs): exact refits would use other answers; "
                              "refit the run on the file as it is now")
    sampling = {key: settings[key] for key in ("draws", "tune", "chains", "sampler")}
    sampling.update(seed=label.get("seed"), target_accept=settings.get("target_accept"))
    source = RefitSource(run.name, spec, frame, run.likelihood, sampling)
    _check_default_priors(source, settings.get("priors") or {})
    return source


def _check_default_priors(source: RefitSource, used: dict) -> None:
    """Refits rebuild the default priors; a run whose priors differ is refused."""
    built = _build(source, source.frame)
    source.models.append(built)
    defaults = json.loads(json.dumps(built.priors, default=str))  # as the run recorded them
    if used and used != defaults:
        other = sorted(k for k in set(used) | set(defaults) if used.get(k) != defaults.get(k))
        raise ConnectiveError(f"{source.name} was fitted with priors other than the defaults "
                              f"({', '.join(other[:4])}{' ...' if len(other) > 4 else ''}); "
                              "exact refits rebuild the default priors only: drop "
                              "--reloo/--kfold, or refit the run with the default priors")


def _build(source: RefitSource, frame: pd.DataFrame):
    import warnings

    from connective.bayes.model import build_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_model(source.spec, frame, likelihood=source.likelihood)


def _model_for(source: RefitSource, frame: pd.DataFrame):
    """A model of ``frame``: one built before pointed at it when of the same shape (no
    recompilation), else a new one (kept for the next refit)."""
    from connective.bayes.sample import with_data

    for bm in source.models:
        try:
            with_data(bm, frame)
        except ConnectiveError:
            continue
        return bm
    bm = _build(source, frame)
    source.models.append(bm)
    return bm


def heldout_loglik(source: RefitSource, keep: np.ndarray) -> np.ndarray:
    """Refit without the rows not in ``keep`` (a boolean mask) and return the held-out
    respondents' log-likelihood, (draws, held-out rows in order)."""
    from connective.bayes.sample import sample
    from connective.errors import DataError

    train = source.frame[keep].reset_index(drop=True)
    try:
        bm = _model_for(source, train)
    except DataError as exc:  # e.g. the held-out alone chose a category
        raise ConnectiveError(f"{source.name}: the refit without {int((~keep).sum())} "
                              f"respondent(s) cannot be built ({exc}); use --kfold with more "
                              "folds, or PSIS-LOO without refits") from None
    s = source.sampling
    idata = sample(bm, draws=s["draws"], tune=s["tune"], chains=s["chains"], seed=s["seed"],
                   sampler=s["sampler"], progress=False, target_accept=s["target_accept"])
    theta = idata.posterior["parameters"].transpose("chain", "draw", "param").to_numpy()
    theta = theta.reshape(-1, theta.shape[-1])
    if source.likelihood == "ordinal":
        return _ordinal_heldout(source, bm, idata, theta, ~keep)
    from connective.bayes.likelihood import pointwise_loglik, sufficient_statistics
    from connective.bayes.matrices import implied_moments

    mu, sigma = implied_moments(bm.layout, theta)
    # the whole survey's rows (statistics of a single held-out row are refused as constant
    # items), the held-out ones kept
    return pointwise_loglik(sufficient_statistics(source.frame, bm.layout.observed), mu,
                            sigma)[:, ~keep]


def _ordinal_heldout(source, bm, idata, theta, held: np.ndarray) -> np.ndarray:
    """The held-out respondents' marginal log-likelihood under the refit's draws, their
    answers coded with the full survey's categories."""
    from connective.bayes.marginal import ordinal_marginal
    from connective.bayes.ordinal import code_items

    full = code_items(source.frame, list(bm.layout.observed))
    if full.categories != bm.ordinal.categories:
        raise ConnectiveError(f"{source.name}: the held-out respondents alone chose a category "
                              "of an item, so the refit has fewer cutpoints and cannot give "
                              "their answers a probability; use --kfold with more folds, or "
                              "PSIS-LOO without refits")
    index = np.flatnonzero(held)
    answer = np.isin(full.rows, index)
    renumber = np.full(full.n, -1)
    renumber[index] = np.arange(len(index))
    odata = dataclasses.replace(full, n=len(index), rows=renumber[full.rows[answer]],
                                items=full.items[answer], codes=full.codes[answer])
    post = idata.posterior
    S = theta.shape[0]
    cuts = post["thresholds"].transpose("chain", "draw", "threshold").to_numpy().reshape(S, -1)
    scales = post["factor_scales"].transpose("chain", "draw", "structural").to_numpy()
    m = scales.shape[-1]
    # no sampled scores for the held-out: each draw's Laplace step starts at the prior mean
    z = np.zeros((S, len(index), m))
    from connective.bayes.results import marginal_seed

    return ordinal_marginal(bm.layout, odata, theta, cuts, z, scales.reshape(S, m),
                            seed=marginal_seed(source.sampling["seed"])).loglik


def _log_mean_exp(ll: np.ndarray) -> np.ndarray:
    from connective.bayes.marginal import log_mean_exp

    return log_mean_exp(ll, axis=0)


def refuse_over_cap(high: dict[str, int], cap: int) -> None:
    """Refuse ``--reloo`` when a run has more than ``cap`` respondents of high Pareto k.

    Example
    -------
    >>> refuse_over_cap({"a": 3, "b": 31}, 20)
    Traceback (most recent call last):
    ...
    connective.errors.ConnectiveError: b has 31 respondents with Pareto k > 0.7, more than --reloo-max 20: ...
    """
    over = {k: v for k, v in high.items() if v > cap}
    if over:
        raise ConnectiveError(
            f"{' and '.join(f'{k} has {v}' for k, v in over.items())} respondents with Pareto "
            f"k > {K_THRESHOLD:g}, more than --reloo-max {cap}: as many exact refits would take "
            "long. Use --kfold 10 (10 refits per run) instead, or raise --reloo-max")


def reloo(run, loo, *, cap: int = 20, say=None):
    """``loo`` (ArviZ's pointwise ELPDData of ``run``) with every respondent of Pareto k >
    0.7 refitted exactly; returns ``(new ELPDData, refitted respondents)``. More than
    ``cap`` such respondents is refused (advising ``--kfold``)."""
    high = np.flatnonzero(loo.pareto_k.values > K_THRESHOLD)
    refuse_over_cap({run.name: len(high)}, cap)
    if not len(high):
        return loo, []
    source = refit_source(run)
    out = loo.copy()
    loo_i, khat = out.loo_i.copy(), out.pareto_k.copy()
    lppd = loo.p_loo + loo.elpd_loo
    for count, i in enumerate(high, 1):
        if say:
            say(f"  {run.name}: refitting without respondent {i + 1} (Pareto k "
                f"{float(loo.pareto_k.values[i]):.2f}; {count} of {len(high)})")
        keep = np.ones(len(source.frame), dtype=bool)
        keep[i] = False
        loo_i[i] = float(_log_mean_exp(heldout_loglik(source, keep))[0])
        khat[i] = 0.0
    out.loo_i, out.pareto_k = loo_i, khat
    out.elpd_loo = float(loo_i.values.sum())
    out.se = float(np.sqrt(len(loo_i) * np.var(loo_i.values)))
    out.p_loo = float(lppd - out.elpd_loo)
    out.warning = False
    return out, [int(i) for i in high]


def kfold_pointwise(source: RefitSource, K: int, *, say=None) -> np.ndarray:
    """Each respondent's log predictive density when their fold (of ``K``, by a permutation
    of the rows seeded by the run's seed) is held out: an array (respondents,)."""
    n = len(source.frame)
    if not 2 <= K <= n:
        raise ConnectiveError(f"--kfold K needs 2 <= K <= {n} (the respondents); got {K}")
    order = np.random.default_rng(source.sampling["seed"]).permutation(n)
    out = np.empty(n)
    for k in range(K):
        held = np.zeros(n, dtype=bool)
        held[order[k::K]] = True
        if say:
            say(f"  {source.name}: fold {k + 1} of {K} ({int(held.sum())} respondents held out)")
        out[held] = _log_mean_exp(heldout_loglik(source, ~held))
    return out


def kfold_table(runs: list, K: int, *, say=None) -> pd.DataFrame:
    """elpd_kfold and its SE of each run, ranked, with the difference to the best and the
    SE of the difference (from the paired pointwise values), and what was refitted."""
    pointwise = {}
    sampling = {}
    for run in runs:
        source = refit_source(run)
        pointwise[run.name] = kfold_pointwise(source, K, say=say)
        sampling[run.name] = source.sampling
    n = len(next(iter(pointwise.values())))
    elpd = {k: float(v.sum()) for k, v in pointwise.items()}
    best = max(elpd, key=elpd.get)
    rows = []
    for name in sorted(elpd, key=elpd.get, reverse=True):
        diff = pointwise[name] - pointwise[best]
        s = sampling[name]
        rows.append({"model": name, "elpd_kfold": elpd[name],
                     "se": float(np.sqrt(n * np.var(pointwise[name]))),
                     "elpd_diff": float(-diff.sum()), "dse": float(np.sqrt(n * np.var(diff))),
                     "refits": f"{K} folds, {s['chains']} chains x {s['draws']} draws "
                               f"(+{s['tune']}), seed {s['seed']}"})
    table = pd.DataFrame(rows)
    table.attrs["pointwise"] = pointwise
    return table
