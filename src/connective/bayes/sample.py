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

import contextlib
import dataclasses
import os
import shutil
import tempfile
import warnings

import numpy as np

from connective.bayes.model import BayesModel
from connective.bayes.ordinal import SCORE_VARIABLES
from connective.errors import ConnectiveError

SAMPLERS = ("nutpie", "numpyro", "blackjax", "pymc")


class SamplerError(ConnectiveError):
    """The sampler could not start or failed; the message says what to change."""


def _init_advice(bm: BayesModel) -> str:
    return ("the sampler could not find a starting point with a finite log-density. Check "
            "that the model is identified (every factor has a marker loading or --std-lv), "
            "that fixed values and prior() modifiers are plausible on the data's scale, and "
            "that the items are not nearly collinear; a different --seed may also help")


def sample(bm: BayesModel, *, draws: int = 1000, tune: int = 1000, chains: int = 4,
           cores: int | None = None, seed: int | None = None, sampler: str = "nutpie",
           progress: bool = True, target_accept: float | None = None):
    """Sample the posterior of ``bm``; returns an ArviZ InferenceData (posterior with the
    ``parameters`` variable over the ``param`` dimension, and sample_stats).

    ``sampler='nutpie'`` falls back to PyMC's NUTS (with a warning) when nutpie is not
    installed or cannot compile the model; ``sampler='numpyro'`` or ``'blackjax'`` (JAX, the
    extras ``connective[jax]`` and ``connective[blackjax]``, see
    :mod:`connective.bayes.backends`) falls back to nutpie when its packages are missing.
    ``target_accept`` (between 0 and 1) replaces the model's target acceptance rate (0.8;
    0.6 for an ordinal model with whitened scores, with nutpie; 0.9 for hierarchical
    models, 0.95 with the ordinal likelihood or fewer than 5 groups): raise it towards 0.99
    when the chains report divergences, for smaller steps.

    Example
    -------
    >>> sample(bm, draws=1000, chains=4, seed=7)  # doctest: +SKIP
    """
    if sampler not in SAMPLERS:
        raise ConnectiveError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")
    check_target_accept(target_accept)
    accept = _target_accept(bm, sampler) if target_accept is None else float(target_accept)
    cores = cores or max(1, min(chains, os.cpu_count() or 1))
    seed = int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
    if sampler == "nutpie":
        try:
            compiled = compile_model(bm)
        except ImportError:
            warnings.warn("nutpie is not installed; sampling with PyMC's NUTS instead")
            sampler = "pymc"
        else:
            idata = _sample_nutpie(bm, compiled, draws, tune, chains, cores, seed, progress,
                                   accept)
    if sampler in ("numpyro", "blackjax"):
        from connective.bayes.backends import jax_available, sample_jax

        if jax_available(sampler):
            idata = sample_jax(bm, draws, tune, chains, cores, seed, progress, accept, sampler)
        else:
            extra = "jax" if sampler == "numpyro" else "blackjax"
            warnings.warn(f"jax/{sampler} are not installed (pip install connective[{extra}]); "
                          "sampling with nutpie instead")
            return sample(bm, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                          progress=progress, target_accept=target_accept)
    if sampler == "pymc":
        idata = _sample_pymc(bm, draws, tune, chains, cores, seed, progress, accept)
    idata.attrs["target_accept"] = accept
    return idata


def timed_sampling(bm: BayesModel, times: dict, *, draws: int, tune: int, chains: int,
                   cores: int | None, seed: int | None, sampler: str, progress: bool,
                   target_accept: float | None):
    """Compile (nutpie; loaded from the disk cache after the first run) and sample ``bm``
    with the console's stage lines, recording the seconds of each in ``times``
    (``compile``, ``sample``); returns the InferenceData of :func:`sample`.

    Example
    -------
    >>> times = {}
    >>> idata = timed_sampling(bm, times, draws=500, tune=500, chains=2, cores=2, seed=1,
    ...                        sampler="nutpie", progress=False, target_accept=None)  # doctest: +SKIP
    >>> sorted(times)  # doctest: +SKIP
    ['compile', 'sample']
    """
    import time

    from connective.progress import sampler_stage, stage

    if sampler == "nutpie":
        t0 = time.perf_counter()
        try:
            with stage("compiling the model (loaded from the disk cache after the first run)",
                       enabled=progress):
                compile_model(bm)
        except ImportError:
            pass  # sample() falls back to PyMC's NUTS and says so
        times["compile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with sampler_stage(f"sampling {chains} chains x {draws} draws (+ {tune} tuning)", progress):
        idata = sample(bm, draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
                       sampler=sampler, progress=progress, target_accept=target_accept)
    times["sample"] = time.perf_counter() - t0
    return idata


def check_target_accept(value: float | None, option: str = "target_accept") -> None:
    """Refuse a target acceptance rate outside (0, 1), naming ``option`` as the user wrote it.

    Example
    -------
    >>> check_target_accept(95, "--target-accept")
    Traceback (most recent call last):
    ...
    connective.errors.ConnectiveError: --target-accept must lie between 0 and 1 (e.g. 0.99); got 95
    """
    if value is not None and not 0.0 < value < 1.0:
        raise ConnectiveError(f"{option} must lie between 0 and 1 (e.g. 0.99); got {value:g}")


#: how nutpie's callbacks are made: "tape" (a program for the interpreter compiled once per
#: machine, bayes/tape.py; models it cannot translate fall back to "numba") or "numba"
#: (PyTensor's numba backend, machine code per model, cached on disk; wave 1's path)
COMPILERS = ("tape", "numba")
#: the compiler compile_model uses when none is named (scripts/benchmark_bayes.py sets it)
COMPILER = "tape"


def compile_model(bm: BayesModel, compiler: str | None = None):
    """nutpie's compiled model of ``bm``: made once per process, then kept on ``bm``.

    ``compiler="tape"`` (the default) translates the model's log-density into a program for
    one interpreter compiled once per machine (:mod:`~connective.bayes.tape`): a new model
    costs no compilation (0.2 s to translate, against 17.2 s of numba for a new model on a
    machine that compiled another and 25.4 s on a new machine; 2026-12-07). A model whose
    graph holds an operation the tape lacks (the ordinal and interaction likelihoods, among
    others) is compiled as with ``compiler="numba"``: PyTensor's numba backend, its machine
    code cached on disk (:mod:`~connective.bayes.nutpie_cache`). ``bm.compiled_by`` says
    which.

    Example
    -------
    >>> compiled = compile_model(bm)  # doctest: +SKIP
    >>> bm.compiled_by  # doctest: +SKIP
    'tape'
    """
    if compiler not in (None, bm.compiler_asked, bm.compiled_by):
        bm.compiled = None  # asked by name for another compiler than made it: compile again
    compiler = compiler or bm.compiler_asked or COMPILER
    if compiler not in COMPILERS:
        raise ConnectiveError(f"unknown compiler {compiler!r}; expected one of "
                              f"{', '.join(COMPILERS)}")
    if bm.compiled is None:
        import nutpie  # noqa: F401 -- ImportError here means: fall back to PyMC's NUTS

        bm.compiled, bm.compiled_by = _compiled(bm, compiler)
        bm.compiler_asked = compiler
    return bm.compiled


def _compiled(bm: BayesModel, compiler: str):
    """``(nutpie's compiled model, the compiler that made it)``. Every chain starts at the
    lavaan-like values, not jittered: a jittered start can land a chain in a poor local mode
    that it never leaves. The compilers' own warnings are silenced; a translation that
    failed is not: the user hears of it."""
    from connective.bayes.nutpie_cache import compile_pymc_cached

    if compiler == "tape":
        from connective.bayes.tape import Untranslatable
        from connective.bayes.tape_kernel import compile_tape

        try:
            with _quiet():
                return compile_tape(bm.model, initial_points=bm.initvals), "tape"
        except Untranslatable:  # an operation without an instruction: compile instead
            pass
        except Exception as exc:  # a translation that failed: compile, and say so
            warnings.warn(f"the log-density could not be translated ({type(exc).__name__}: "
                          f"{exc}); compiling it with numba instead", RuntimeWarning,
                          stacklevel=3)
    with _quiet():
        return compile_pymc_cached(bm.model, initial_points=bm.initvals), "numba"


@contextlib.contextmanager
def _quiet():
    """PyTensor's and nutpie's own warnings while compiling (BLAS, numba caching) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def recompile_with_data(bm: BayesModel, updates: dict) -> None:
    """After ``pm.set_data(updates)`` and new starting values on ``bm``: its compiled model
    on the new data (a tape is translated again, in well under a second; nutpie's compiled
    callbacks take the new arrays)."""
    if bm.compiled is None:
        return
    if bm.compiled_by == "tape":
        bm.compiled = None
        compile_model(bm, "tape")
    else:
        bm.compiled = dataclasses.replace(bm.compiled.with_data(**updates),
                                          initial_point_func=_initial_point_func(bm))


def with_data(bm: BayesModel, frame, *, keep_priors: bool = False) -> None:
    """Point ``bm`` (and its compiled model) at the survey ``frame``: new data of the same
    shape and missingness patterns, without recompiling. The model then is the one
    :func:`~connective.bayes.model.build_model` builds on ``frame``, so the same seed gives
    the same draws, bit for bit, whatever data the model served before: every data
    container is replaced (the sufficient statistics and the default priors, which are
    scaled by the data), and the chains' starting values are recomputed from ``frame``
    (lavaan-like: starting from values that fit the first data set left chains in a
    collapsed mode, factor variance near 0, in 9 of 15 simulation-based-calibration data
    sets, against 2 of 15 started near the truth).

    ``keep_priors=True`` keeps the priors as built (simulation-based calibration draws the
    truth from them).

    A latent-interaction model with normal items goes through
    :func:`connective.bayes.interaction.with_new_data` (as many respondents, the same
    answered cells: its factor scores are one per respondent).

    Example
    -------
    >>> with_data(bm, next_frame)  # doctest: +SKIP
    >>> idata = sample(bm, seed=2)  # doctest: +SKIP
    """
    from connective.bayes.model import build_model

    if bm.interactions:  # the factor scores (one per respondent) are part of the model
        if keep_priors or bm.ordinal is not None:
            raise ConnectiveError("a compiled model with latent interactions is reused on new "
                                  "data only with normal items and its priors rebuilt; build "
                                  "a new model for them")
        from connective.bayes.interaction import with_new_data

        with_new_data(bm, frame)  # same respondents and answered cells, or a clear error
        return
    if bm.groups is not None:
        raise ConnectiveError("a compiled hierarchical model cannot be reused on new data (its "
                              "groups are part of it); build a new model for them")
    # the same spec and options give the same variables; only their data and starting
    # values change
    fresh = build_model(bm.spec, frame, likelihood=bm.likelihood,
                        priors=bm.options.get("priors") or None,
                        reparameterize=bool(bm.metric and bm.metric.factors),
                        fiml=bm.options.get("fiml", "schur"),
                        fused=bm.options.get("fused", True))
    stats = fresh.stats
    if len(stats.patterns) != len(bm.stats.patterns) or any(
            not np.array_equal(a.columns, b.columns) for a, b in zip(stats.patterns, bm.stats.patterns)):
        raise ConnectiveError("the new data have other missingness patterns than the data the "
                              "model was built on; build a new model for them")
    if any(a.n != b.n for a, b in zip(stats.patterns, bm.stats.patterns)):
        raise ConnectiveError("the new data have another number of rows per pattern; build "
                              "a new model for them")
    if bm.ordinal is not None and not _same_answer_cells(bm.ordinal, fresh.ordinal):
        raise ConnectiveError("the new answers fill other cells or have other numbers of "
                              "categories than the answers the ordinal model was built on; "
                              "build a new model for them")
    updates = {var.name: var.get_value() for var in fresh.model.data_vars
               if not (keep_priors and var.name.startswith("prior_"))}
    import pymc as pm

    with bm.model:
        pm.set_data(updates)
    if fresh.initvals.keys() != bm.initvals.keys():  # pragma: no cover -- a bug, not input
        raise ConnectiveError("internal error: the rebuilt model has other variables")
    bm.initvals = fresh.initvals
    recompile_with_data(bm, updates)
    bm.stats = stats
    bm.ordinal = fresh.ordinal
    if not keep_priors:
        bm.priors = fresh.priors


def _same_answer_cells(old, new) -> bool:
    """Do two ordinal surveys answer the same (respondent, item) cells with the same numbers
    of categories per item? Then only the answers' codes (data) differ."""
    return (old.n == new.n and np.array_equal(old.rows, new.rows)
            and np.array_equal(old.items, new.items)
            and np.array_equal(old.n_categories, new.n_categories))


def _initial_point_func(bm: BayesModel):
    """nutpie's starting-point function for ``bm.initvals``: seed -> the flat vector of the
    transformed free variables, in the model's order (as nutpie lays them out), no jitter."""
    import threading

    from pymc.initial_point import make_initial_point_fn

    point = make_initial_point_fn(model=bm.model, overrides=bm.initvals, jitter_rvs=set(),
                                  return_transformed=True)
    names = [bm.model.rvs_to_values[v].name for v in bm.model.free_RVs]
    lock = threading.Lock()  # chains ask for their starting points from several threads

    def flat(seed=None):
        with lock:
            values = point(seed)
        return np.concatenate([np.asarray(values[n], dtype="float64").ravel() for n in names])

    return flat


def flat_point(model, x) -> dict[str, np.ndarray]:
    """nutpie's flat vector ``x`` of the transformed free variables as PyMC's point, by
    PyMC's own layout (the model's free variables in order, with their starting values'
    shapes), not by a compiled model's: the inverse of :func:`_initial_point_func`, for
    checking a compiled model's callbacks against PyMC's log-density.

    Example
    -------
    >>> point = flat_point(bm.model, bm.compiled.initial_point_func(0))  # doctest: +SKIP
    >>> bm.model.compile_logp()(point)  # doctest: +SKIP
    """
    start = model.initial_point()
    x = np.asarray(x, dtype=float)
    point, at = {}, 0
    for rv in model.free_RVs:
        name = model.rvs_to_values[rv].name
        size = np.size(start[name])
        point[name] = x[at:at + size].reshape(np.shape(start[name]))
        at += size
    return point


def single_threaded_blas():
    """A context in which BLAS/LAPACK use one thread each.

    The chains already run in parallel, one per core; a multi-threaded OpenBLAS inside every
    gradient (24 x 24 inverses) then fights them for the cores. Measured on the flagship
    model on 2 cores: 100 us per log-density gradient with one BLAS thread, 235 us with two,
    and up to 30 ms when another process keeps a core busy.
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


#: NUTS's target acceptance rate for a model that asks for none (hierarchical models ask for
#: their own, model.GROUPS_TARGET_ACCEPT) ...
TARGET_ACCEPT = 0.8
#: ... and for an ordinal model with whitened factor scores (bayes/ordinal.whitened_scores).
#: The flagship ordinal model, 4 x 1,000 draws, seeds 1 and 2, one process after another
#: (2026-12-07): 0.8 took 20-23 leapfrog steps per draw for a smallest bulk ESS of
#: 1,677-1,730 (9-10 per 1,000 gradients); 0.7, 0.65, 0.6 and 0.5 all took 15.0 steps, with
#: 1,725-1,727, 2,140-2,219, 2,279-2,771 and 2,100-2,813 (0.6: 19-23 per 1,000 gradients).
#: No divergences and R-hat <= 1.0054 in every one. With wave 1's standard-normal scores a
#: lower rate mixed worse (0.65: 726 against 1,106 at 0.8).
ORDINAL_TARGET_ACCEPT = 0.6


def _target_accept(bm: BayesModel, sampler: str = "nutpie") -> float:
    """The model's target acceptance rate (hierarchical models ask for 0.9, or 0.95
    with the ordinal likelihood or fewer than 5 groups), else 0.6 for
    an ordinal model with whitened scores sampled by nutpie and 0.8 for any other (see the
    constants)."""
    if "target_accept" in bm.options:
        return bm.options["target_accept"]
    if "z_whitened" in bm.model.named_vars and sampler == "nutpie":  # measured with it
        return ORDINAL_TARGET_ACCEPT
    return TARGET_ACCEPT


def _nutpie_options(bm: BayesModel, target_accept: float) -> dict:
    """nutpie's options for ``bm``: the target acceptance rate, with nutpie's diagonal mass
    matrix for either likelihood. A low-rank correction (``low_rank_modified_mass_matrix``)
    follows the correlated loadings and factor scores of the ordinal model, but on the
    flagship ordinal model (4 chains x 1,000 draws) it took the same 31 leapfrog steps per
    draw at 450 us a step against 295 us: 112-121 s with a smallest bulk ESS of 1,344-1,502
    (11-13 per second) against 73 s with 931-1,072 (13-15 per second), seeds 1-2, R-hat <=
    1.005 and no divergences either way. A lower target acceptance rate takes fewer steps
    but mixes worse there: 0.65 gave 23.8 steps per draw and a smallest bulk ESS of 726,
    against 31.0 and 1,106 at 0.8 (7.6 against 8.9 per 1,000 gradients; seed 1, with the
    fused ordered-probit Op). With whitened scores (bayes/ordinal.whitened_scores, seed 2 at
    0.8) the low-rank correction took 15.0 steps per draw against 20.1 and a smallest bulk ESS
    of 2,031 against 1,677, but 1,377 us a step against 660: 24.6 against 31.7 per second."""
    return {"target_accept": target_accept}


#: draws of a trace larger than this are written to disk as they are sampled and read back
#: without the factor scores: an ordinal model of 20,000 respondents and 7 constructs keeps
#: 140,000 scores a draw, stored twice with whitened scores (z and z_whitened): 9 GB for
#: 4 chains x 1,000 draws
STREAM_BYTES = 256 * 2**20


def trace_bytes(compiled, draws: int, chains: int) -> int:
    """Bytes of the draws nutpie keeps of ``compiled`` (every value of every draw, as 8-byte
    floats; warm-up draws are not kept).

    Example
    -------
    >>> trace_bytes(compiled, 1000, 4) / 2**20  # doctest: +SKIP
    37.2
    """
    return 8 * int(compiled.n_expanded) * draws * chains


def _sample_nutpie(bm, compiled, draws, tune, chains, cores, seed, progress, target_accept):
    import nutpie

    streamed = trace_bytes(compiled, draws, chains) > STREAM_BYTES
    folder = tempfile.mkdtemp(prefix="connective-trace-") if streamed else None
    try:
        with warnings.catch_warnings(), single_threaded_blas():
            warnings.simplefilter("ignore")
            store = {"zarr_store": nutpie.zarr_store.LocalStore(folder)} if streamed else {}
            # warm-up draws are not kept: nothing reads them, and they doubled the memory
            idata = nutpie.sample(compiled, draws=draws, tune=tune, chains=chains, cores=cores,
                                  seed=seed, progress_bar=progress, save_warmup=False,
                                  **store, **_nutpie_options(bm, target_accept))
        if streamed:
            idata = _read_back(idata, bm, seed)
    except Exception as exc:  # nutpie reports failed initialisation as RuntimeError
        if "init" in str(exc).lower() or "logp" in str(exc).lower():
            raise SamplerError(_init_advice(bm) + f" (nutpie: {exc})") from None
        raise
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    idata.attrs["sampler"] = "nutpie"
    idata.attrs["compiler"] = bm.compiled_by  # the same seed's draws are those of this path
    if streamed:
        idata.attrs["streamed_to_disk"] = 1
    return idata


def _read_back(idata, bm: BayesModel, seed: int):
    """The draws of a trace written to disk, in memory, without the variables no result
    reads (the factor scores, :data:`~connective.bayes.ordinal.SCORE_VARIABLES`). An ordinal
    model's marginal log-likelihood, whose proposal needs the factor scores, is integrated
    from the store first (a block of draws at a time) and kept as the posterior's
    ``marginal_loglik`` and ``marginal_mcse``."""
    import time

    import arviz as az
    import xarray as xr

    post = idata.posterior
    attrs = {}
    marginal = None
    if bm.ordinal is not None and not bm.interactions and "z" in post \
            and "factor_scales" in post:
        from connective.bayes.results import STREAMED_MARGINAL, marginal_seed, \
            ordinal_marginal_draws

        started = time.perf_counter()
        marginal = ordinal_marginal_draws(post, bm, seed=marginal_seed(seed))
        attrs = {"marginal_seconds": round(time.perf_counter() - started, 2),
                 "marginal_nodes": marginal.nodes}
    posterior = post.drop_vars([v for v in SCORE_VARIABLES if v in post]).load()
    if marginal is not None:
        shape = (posterior.sizes["chain"], posterior.sizes["draw"], -1)
        for name, values in zip(STREAMED_MARGINAL, (marginal.loglik, marginal.mcse)):
            posterior[name] = xr.DataArray(values.reshape(shape),
                                           dims=("chain", "draw", "respondent"),
                                           coords={"chain": posterior.chain,
                                                   "draw": posterior.draw})
    out = az.InferenceData(posterior=posterior, sample_stats=idata.sample_stats.load())
    out.attrs.update(attrs)
    return out


def _sample_pymc(bm, draws, tune, chains, cores, seed, progress, target_accept):
    import pymc as pm
    from pymc.exceptions import SamplingError

    try:
        with bm.model, warnings.catch_warnings(), single_threaded_blas():
            warnings.simplefilter("ignore")
            idata = pm.sample(draws=draws, tune=tune, chains=chains, cores=cores,
                              random_seed=seed, initvals=bm.initvals, progressbar=progress,
                              init="adapt_diag",
                              target_accept=target_accept,
                              nuts_sampler="pymc", compute_convergence_checks=False)
    except SamplingError as exc:
        raise SamplerError(_init_advice(bm) + f" (PyMC: {exc})") from None
    idata.attrs["sampler"] = "pymc"
    return idata
