"""Sampling a built model: nutpie by default, PyMC's NUTS as fallback; chains in parallel,
seeded. A model compiled by nutpie is kept on the :class:`~connective.bayes.model.BayesModel`
and reused (also for new data of the same shape, see :func:`with_data`).

Example
-------
>>> import numpy as np, pandas as pd
>>> from connective.spec import parse_model
>>> from connective.bayes.model import build_model
>>> rng = np.random.default_rng(0)
>>> frame = pd.DataFrame(rng.normal(size=(80, 2)), columns=["X", "M"])
>>> idata = sample(build_model(parse_model("M ~ X"), frame), draws=50, tune=50, chains=2,
...                seed=1, progress=False)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from connective.bayes.model import BayesModel
from connective.errors import ConnectiveError

SAMPLERS = ("nutpie", "pymc")


class SamplerError(ConnectiveError):
    """The sampler could not start or failed; the message says what to change."""


def _init_advice(bm: BayesModel) -> str:
    return ("the sampler could not find a starting point with a finite log-density. Check "
            "that the model is identified (every factor has a marker loading or --std-lv), "
            "that fixed values and prior() modifiers are plausible on the data's scale, and "
            "that the items are not nearly collinear; a different --seed may also help")


def sample(bm: BayesModel, *, draws: int = 1000, tune: int = 1000, chains: int = 4,
           cores: int | None = None, seed: int | None = None, sampler: str = "nutpie",
           progress: bool = True):
    """Sample the posterior of ``bm``; returns an ArviZ InferenceData (posterior with the
    ``parameters`` variable over the ``param`` dimension, and sample_stats).

    ``sampler='nutpie'`` falls back to PyMC's NUTS (with a warning) when nutpie is not
    installed or cannot compile the model.

    Example
    -------
    >>> sample(bm, draws=1000, chains=4, seed=7)  # doctest: +SKIP
    """
    if sampler not in SAMPLERS:
        raise ConnectiveError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")
    cores = cores or max(1, min(chains, os.cpu_count() or 1))
    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
    if sampler == "nutpie":
        try:
            compiled = compile_model(bm)
        except ImportError:
            warnings.warn("nutpie is not installed; sampling with PyMC's NUTS instead")
            sampler = "pymc"
        else:
            return _sample_nutpie(bm, compiled, draws, tune, chains, cores, seed, progress)
    return _sample_pymc(bm, draws, tune, chains, cores, seed, progress)


def compile_model(bm: BayesModel):
    """nutpie's compiled model of ``bm`` (compiled once, then cached on ``bm``)."""
    if bm.compiled is None:
        import nutpie

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # every chain starts at the lavaan-like values, not jittered: a jittered start
            # can land a chain in a poor local mode that it never leaves
            bm.compiled = nutpie.compile_pymc_model(bm.model, initial_points=bm.initvals,
                                                    jitter_rvs=set())
    return bm.compiled


def with_data(bm: BayesModel, stats) -> None:
    """Point ``bm`` (and its compiled model) at new data of the same shape and missingness
    patterns, without recompiling: ``stats`` from
    :func:`~connective.bayes.likelihood.sufficient_statistics`."""
    if len(stats.patterns) != len(bm.stats.patterns) or any(
            not np.array_equal(a.columns, b.columns) for a, b in zip(stats.patterns, bm.stats.patterns)):
        raise ConnectiveError("the new data have other missingness patterns than the data the "
                              "model was built on; build a new model for them")
    updates = {}
    for g, pat in enumerate(stats.patterns):
        suffix = "" if len(stats.patterns) == 1 else f"_{g}"
        updates[f"data_mean{suffix}"] = pat.mean
        updates[f"data_cov{suffix}"] = pat.cov
        if pat.n != bm.stats.patterns[g].n:
            raise ConnectiveError("the new data have another number of rows per pattern; build "
                                  "a new model for them")
    import pymc as pm

    with bm.model:
        pm.set_data(updates)
    if bm.compiled is not None:
        bm.compiled = bm.compiled.with_data(**updates)
    bm.stats = stats


def single_threaded_blas():
    """A context in which BLAS/LAPACK use one thread each.

    The chains already run in parallel, one per core; a multi-threaded OpenBLAS inside every
    gradient (24 x 24 inverses) then fights them for the cores. Measured on the flagship
    model on 2 cores: 100 us per log-density gradient with one BLAS thread, 235 us with two,
    and up to 30 ms when another process keeps a core busy.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _sample_nutpie(bm, compiled, draws, tune, chains, cores, seed, progress):
    import nutpie

    try:
        with warnings.catch_warnings(), single_threaded_blas():
            warnings.simplefilter("ignore")
            idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores,
                                  seed=seed, progress_bar=progress)
    except Exception as exc:  # nutpie reports failed initialisation as RuntimeError
        if "init" in str(exc).lower() or "logp" in str(exc).lower():
            raise SamplerError(_init_advice(bm) + f" (nutpie: {exc})") from None
        raise
    idata.attrs["sampler"] = "nutpie"
    return idata


def _sample_pymc(bm, draws, tune, chains, cores, seed, progress):
    import pymc as pm
    from pymc.exceptions import SamplingError

    try:
        with bm.model, warnings.catch_warnings(), single_threaded_blas():
            warnings.simplefilter("ignore")
            idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores,
                              random_seed=seed, initvals=bm.initvals, progressbar=progress,
                              init="adapt_diag",
                              nuts_sampler="pymc", compute_convergence_checks=False)
    except SamplingError as exc:
        raise SamplerError(_init_advice(bm) + f" (PyMC: {exc})") from None
    idata.attrs["sampler"] = "pymc"
    return idata
