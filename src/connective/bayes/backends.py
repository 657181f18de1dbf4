"""Sampling backends beside nutpie (bayes/sample.py): PyMC's numpyro and blackjax samplers,
which compile the whole NUTS loop with XLA (JAX), with JAX's persistent compilation cache on
disk.

nutpie (numba) compiles the log-density and its gradient through LLVM; on an empty cache
that is most of a first fit (flagship normal: 50 of 57 s). XLA compiles the same graph
faster, and its cache key is the compiled program, so a later process with the same model
loads it. The chains' draws depend on the seed only, not on the cache state. Install with
``pip install connective[jax]`` (jax, jaxlib, numpyro: about 390 MB, jaxlib 349 MB);
blackjax adds about 7 MB with jaxopt and optax (``pip install connective[blackjax]``:
blackjax 1.2.5, the last release whose adaptation and progress-bar interface PyMC 5.28
calls; 1.3 and later fail inside ``pm.sample``).

Example
-------
>>> from connective.bayes import sample
>>> idata = sample(bm, sampler="numpyro", seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings


#: the JAX samplers and the package each needs beside jax
JAX_SAMPLERS = {"numpyro": "numpyro", "blackjax": "blackjax"}


def jax_available(sampler: str = "numpyro") -> bool:
    """Whether jax and the package of the JAX ``sampler`` (numpyro or blackjax) can be
    imported.

    Example
    -------
    >>> from importlib.util import find_spec
    >>> jax_available("blackjax") == all(find_spec(m) for m in ("jax", "blackjax"))
    True
    """
    import importlib

    try:
        importlib.import_module("jax")
        importlib.import_module(JAX_SAMPLERS[sampler])
    except ImportError:
        return False
    return True


def configure_jax(chains: int) -> None:
    """One XLA CPU device per chain (before jax is first imported: the flag is read once) and
    the persistent compilation cache in PyTensor's cache folder, for every program."""
    flag = "--xla_force_host_platform_device_count"
    if flag not in os.environ.get("XLA_FLAGS", ""):
        os.environ["XLA_FLAGS"] = " ".join(filter(None, [os.environ.get("XLA_FLAGS", ""),
                                                         f"{flag}={max(chains, 2)}"]))
    import jax
    import pytensor

    jax.config.update("jax_enable_x64", True)
    folder = os.path.join(pytensor.config.base_compiledir, "connective_jax")
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def sample_jax(bm, draws, tune, chains, cores, seed, progress, target_accept,
               sampler: str = "numpyro"):
    """PyMC's numpyro or blackjax NUTS on ``bm`` (the model ``build_model`` returns), chains
    in parallel on one XLA device each, started at the model's initial values (no jitter).

    Example
    -------
    >>> idata = sample_jax(bm, 1000, 1000, 4, 2, 1, False, 0.8, "blackjax")  # doctest: +SKIP
    """
    import jax

    import pymc as pm

    configure_jax(chains)
    from connective.bayes import ordered_probit_op, sem_normal_op

    ordered_probit_op.register_jax()  # the fused likelihoods' JAX implementations
    sem_normal_op.register_jax()
    parallel = len(jax.devices()) >= chains and cores > 1
    with bm.model, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        idata = pm.sample(draws=draws, tune=tune, chains=chains, random_seed=seed,
                          initvals=bm.initvals, progressbar=progress,
                          target_accept=target_accept, nuts_sampler=sampler,
                          compute_convergence_checks=False,
                          nuts_sampler_kwargs={"chain_method": "parallel" if parallel
                                               else "vectorized"})
    idata.attrs["sampler"] = sampler
    return idata

