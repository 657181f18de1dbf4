"""nutpie's compiled model with its two C callbacks cached on disk.

nutpie turns PyTensor's numba functions (log-density with gradient, and the "expand"
function that returns the stored variables) into two numba C callbacks. PyTensor caches its
functions on disk, but nutpie's callbacks cannot be cached (they reach the model's shared
data through closures), so every new process re-ran LLVM over the whole inlined log-density:
about 23 of 26 s of compiling the flagship normal model, and most of the ordinal model's.

Here the callbacks are generated as source text without closures (nutpie's reader of the
shared data, around the PyTensor function, is a global of the generated module), and the
cache entry is named by a hash of everything the machine code depends on: PyTensor's own
cache key of the function graph (its constants included), the names, types and ranks of the
shared data, the number of parameters and the versions of nutpie, PyTensor and numba. The
shared data are read from nutpie's ``user_data`` record by nutpie's own code, so
``CompiledPyMCModel.with_data`` keeps working. The cache lives in PyTensor's numba cache
folder (under ``pytensor.config.base_compiledir``); numba's own index adds the CPU, so a
cache copied to another machine is not used there.

When the function graph cannot be cached (an Op without a cache key), nutpie's own
uncached compilation runs instead.

The glue on top of the nodes' functions (PyTensor's function of the graph and the callback
around it) is left unoptimised by LLVM (``GLUE_OPT_LEVEL``, :mod:`~connective.bayes.
llvm_passes`): it only calls the nodes' functions, which numba optimised when it compiled
them, and optimising the glue at numba's level re-optimised all of their code at each of
its levels, for every new model.

numba compiles one function at a time in a process, and a new model's expand callback took
about a third of its compiling (the flagship ordinal model, busy machine: 36.5 of 101 s).
So while this process compiles the log-density, a helper process compiles the expand
callback into the same disk cache (:func:`_expand_elsewhere`; the pickled PyTensor
function goes with it), and this process then loads it: the 500 x 21 ordinal stand-in
compiled in 60.9-69.3 s against 74.9-85.2 s (2026-12-07, scripts/benchmark_bayes.py's
docstring). The helper checks that its graph has the same cache key before it writes
anything; if it cannot run, fails or finds another key, this process compiles the callback
itself, as before.

Example
-------
>>> compiled = compile_pymc_cached(bm.model, initial_points=bm.initvals)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
from numba import types

#: nutpie's C callbacks: log-density with gradient (dim, x, gradient, logp, user data) and
#: the expanded draw (dim, expanded, x, out, user data); both return a status code
LOGP_SIGNATURE = types.int64(types.uint64, types.CPointer(types.double),
                             types.CPointer(types.double), types.CPointer(types.double),
                             types.voidptr)
EXPAND_SIGNATURE = types.int64(types.uint64, types.uint64, types.CPointer(types.double),
                               types.CPointer(types.double), types.voidptr)

#: bump when the generated source changes, so old cache entries are never loaded
GENERATOR_VERSION = 2
#: LLVM's optimisation level for the glue (None: numba's own, 3): the two callbacks and
#: PyTensor's function of the whole graph, which only call the nodes' functions in turn. At
#: 0 the nodes' code is not optimised again in every new model (see bayes/llvm_passes.py):
#: a new 26-item ordinal model's two callbacks compiled in 51 s against 97 s, the same draws
GLUE_OPT_LEVEL = 0
#: the names of numba's libraries that are glue: PyTensor's function of a graph (and its
#: cached wrapper) and the two callbacks
_GLUE_NAMES = frozenset({"numba_funcified_fgraph", "connective_logp", "connective_expand"})
#: the callbacks kept on disk, newest used first, up to this size: an ordinal model's
#: callbacks hold its answers, so every new data set adds an entry of 2-5 MB
CACHE_LIMIT_BYTES = 500 * 2**20
#: how the callbacks' cache files are named (numba: <module>.<function>-<key>.<ext>)
_ENTRY_PREFIX = "string.connective_"
#: longest wait for the helper compiling the expand callback, in seconds (then this
#: process compiles it)
HELPER_TIMEOUT = 900

_LOGP_SRC = """
def {name}(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_dim},))
        logp = numba.carray(logp_, ())
        logp_val, grad = extract(x, user_data_)
        logp[()] = logp_val
        out[...] = grad
        if not np.all(np.isfinite(out)):
            return 3
        if not np.isfinite(logp_val):
            return 4
    except Exception:
        return 1
    return 0
"""

_EXPAND_SRC = """
def {name}(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim}:
        return -1
    if expanded != {n_expanded}:
        return -1
    try:
        x = numba.carray(x_, ({n_dim},))
        out = numba.carray(out_, ({n_expanded},))
        (values,) = extract(x, user_data_)
        out[...] = values
    except Exception:
        return -2
    return 0
"""


#: (source template, function name) of the two callbacks
_LOGP = (_LOGP_SRC, "connective_logp")
_EXPAND = (_EXPAND_SRC, "connective_expand")


def compile_pymc_cached(model, *, initial_points: dict):
    """nutpie's ``compile_pymc_model(model, initial_points=..., jitter_rvs=set())`` with the
    C callbacks loaded from, or written to, the disk cache (see the module docstring).

    Compiled without numba's fast-math flags: with them, the machine code of a function
    depends on whether its parts were compiled in this process or loaded from the cache
    (what LLVM may inline and reassociate), so the same seed gave other draws on a new
    machine than on one that had compiled before (flagship normal model, seed 1: minimum
    bulk ESS 1,820 against 1,645). Without them the draws are bit-identical, at the same
    speed (4 x 1,000 draws with nutpie's default settings: normal model 3.6-4.8 s either
    way, ordinal 77 s against 75 s).

    Example
    -------
    >>> compiled = compile_pymc_cached(bm.model, initial_points=bm.initvals)  # doctest: +SKIP
    >>> import nutpie; idata = nutpie.sample(compiled, seed=1)  # doctest: +SKIP
    """
    import pytensor

    with pytensor.config.change_flags(numba__fastmath=False):
        return _compile(model, initial_points)


def _functions(model, initial_points: dict):
    """nutpie's PyTensor functions of ``model`` in numba mode (not compiled yet): ``(n_dim,
    n_expanded, log-density, expand, initial point, shape info)``."""
    import nutpie.compile_pymc as npc
    from pymc.initial_point import make_initial_point_fn

    point_fn = make_initial_point_fn(model=model, overrides=initial_points, jitter_rvs=set(),
                                     return_transformed=True)
    return npc._make_functions(model, mode="NUMBA", compute_grad=True, join_expanded=True,
                               pymc_initial_point_fn=npc._wrap_with_lock(point_fn),
                               var_names=None)


def _compile(model, initial_points: dict):
    import nutpie.compile_pymc as npc
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    n_dim, n_expanded, logp_pt, expand_pt, initial_point_fn, shape_info = _functions(
        model, initial_points)
    keys = [CACHED_SRC_FUNCTIONS.get(f.vm.jit_fn.py_func) for f in (logp_pt, expand_pt)]
    if None in keys:  # an Op PyTensor cannot cache: nutpie's own (uncached) compilation
        return npc.compile_pymc_model(model, initial_points=initial_points, jitter_rvs=set())
    for function in (logp_pt, expand_pt):
        _contiguous_constants(function.vm.jit_fn)

    shared_data, shared_vars = {}, {}
    for var in [*logp_pt.get_shared(), *expand_pt.get_shared()]:
        if var.name in shared_vars and shared_vars[var.name] is not var:
            raise ValueError(f"shared variables must have unique names: {var.name}")
        shared_data[var.name] = np.array(var.get_value(), order="C", copy=True)
        shared_data[var.name].flags.writeable = False
        shared_vars[var.name] = var
    user_data = npc.make_user_data(shared_vars, shared_data)

    common = dict(n_dim=n_dim, n_expanded=n_expanded, record_dtype=user_data.dtype,
                  shared_data=shared_data, glue_level=GLUE_OPT_LEVEL)
    helper = _expand_elsewhere(logp_pt, expand_pt, keys, common)
    try:
        logp_c = _cached_cfunc(*_LOGP, logp_pt, keys[0], LOGP_SIGNATURE, **common)
    except BaseException:  # an error or an interrupt: the helper's work is not wanted
        _finish(helper, stop=True)
        raise
    _finish(helper)
    expand_c = _cached_cfunc(*_EXPAND, expand_pt, keys[1], EXPAND_SIGNATURE, **common)
    dims, coords = npc._prepare_dims_and_coords(model, shape_info)
    return npc.CompiledPyMCModel(
        _n_dim=n_dim, dims=dims, _coords=coords,
        _shapes={name: tuple(shape) for name, _, shape in zip(*shape_info)},
        compiled_logp_func=logp_c, compiled_expand_func=expand_c,
        initial_point_func=initial_point_fn, shared_data=shared_data, user_data=user_data,
        n_expanded=n_expanded, shape_info=shape_info, logp_func=logp_pt,
        expand_func=expand_pt)


def _entry(template, name, function, graph_key, *, n_dim, n_expanded, record_dtype,
           shared_data, glue_level):
    """``(source, cache key, shared names)`` of the callback ``template`` around the
    PyTensor ``function``: the key hashes everything its machine code depends on, the glue's
    optimisation level (``GLUE_OPT_LEVEL`` when compiled) among it."""
    import numba
    import nutpie
    import pytensor

    names = [var.name for var in function.get_shared()]
    src = template.format(name=name, n_dim=n_dim, n_expanded=n_expanded)
    layout = [(v, shared_data[v].dtype.str, shared_data[v].ndim) for v in names]
    key = hashlib.sha256(repr((
        GENERATOR_VERSION, glue_level, src, graph_key, layout, str(record_dtype),
        nutpie.__version__, pytensor.__version__, numba.__version__)).encode()).hexdigest()
    return src, key, names


def _cached_cfunc(template, name, function, graph_key, signature, *, n_dim, n_expanded,
                  record_dtype, shared_data, glue_level):
    """The C callback of ``template`` around the PyTensor ``function``, from the disk cache
    when an entry with the same key exists."""
    import numba
    import nutpie.compile_pymc as npc
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH, compile_numba_function_src

    from connective.bayes.llvm_passes import optimised_at

    src, key, names = _entry(template, name, function, graph_key, n_dim=n_dim,
                             n_expanded=n_expanded, record_dtype=record_dtype,
                             shared_data=shared_data, glue_level=glue_level)
    # nutpie's own reader of the shared data in user_data (readonly arrays, as nutpie types
    # them: the PyTensor function is then compiled for the same types as nutpie's)
    extract = npc.make_extraction_fn(function.vm.jit_fn, shared_data, names, record_dtype)
    py_func = compile_numba_function_src(
        src, name, global_env={"__name__": __name__, "numba": numba, "np": np,
                               "extract": extract},
        cache_key=key)
    with warnings.catch_warnings(), optimised_at(glue_level, only=_GLUE_NAMES):
        warnings.simplefilter("ignore", numba.NumbaWarning)
        cfunc = numba.cfunc(signature, cache=True)(py_func)
    _keep_cache_small(NUMBA_CACHE_PATH, used=key)
    return cfunc


def _cached(key: str) -> bool:
    """Whether the disk cache holds a callback entry with this key (its index file)."""
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    return any(NUMBA_CACHE_PATH.glob(f"{_ENTRY_PREFIX}*-{key}.*nbi"))


def _cores() -> int:
    """The cores this process may run on (affinity and container limits included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _idle_core() -> bool:
    """Whether another core is idle now: fewer threads running on the machine than this
    process may use (``/proc/loadavg``, this process's own thread counted; True where that
    cannot be read). Where every core is busy (tests or a study in several processes), a
    helper would only take time from them."""
    try:
        with open("/proc/loadavg") as file:
            running = int(file.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return True
    return running < _cores()


def _expand_elsewhere(logp_function, function, graph_keys, common: dict):
    """``(process, payload file)`` of a helper compiling the expand callback of the PyTensor
    ``function`` into the disk cache while this process compiles ``logp_function``'s; None
    where that would not save time (either callback cached, one core or no idle one, numba's
    caching off or its folder read-only) or cannot be done (a graph that does not pickle,
    no process or no temporary file to be had): then this process compiles the expand
    callback itself."""
    import pickle
    import tempfile

    import pytensor
    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    if (_cores() < 2 or not pytensor.config.numba__cache
            or not os.access(NUMBA_CACHE_PATH, os.W_OK)):
        return None
    key = _entry(*_EXPAND, function, graph_keys[1], **common)[1]
    if _cached(key) or _cached(_entry(*_LOGP, logp_function, graph_keys[0], **common)[1]):
        return None
    if not _idle_core():
        return None
    path = None
    try:
        payload = pickle.dumps((function, graph_keys[1], common, key, str(NUMBA_CACHE_PATH)))
        handle, path = tempfile.mkstemp(prefix="connective-expand-", suffix=".pickle")
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        process = subprocess.Popen(
            [sys.executable, "-m", "connective.bayes.nutpie_cache", path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except Exception:  # an Op that does not pickle, a full disk, no process
        if path is not None:
            Path(path).unlink(missing_ok=True)
        return None
    return process, path


def _finish(helper, stop: bool = False) -> None:
    """Wait for :func:`_expand_elsewhere`'s helper (at most ``HELPER_TIMEOUT``; at once with
    ``stop``), kill it if it runs on, and remove its payload, which holds the data."""
    if helper is None:
        return
    process, path = helper
    try:
        if stop:
            process.kill()
        process.wait(timeout=HELPER_TIMEOUT)
    except subprocess.TimeoutExpired:  # this process compiles the callback itself
        process.kill()
        process.wait()
    except BaseException:  # an interrupt: no helper left behind
        process.kill()
        process.wait()
        raise
    finally:
        Path(path).unlink(missing_ok=True)
    if process.returncode not in (0, 3, 4) and not stop:
        logging.getLogger(__name__).debug("the helper compiling the expand callback exited "
                                          "with %s; compiling it here", process.returncode)


def _compile_expand(path: str) -> int:
    """The helper's work: the expand callback pickled at ``path`` compiled into the disk
    cache. Nothing is written where this process would compile something else: exit code 3
    where the unpickled graph's callback has another cache key than the fitting process's,
    4 where its cache folder is another. The glue is optimised at the fitting process's
    level (in ``common``, and part of the key)."""
    import pickle

    import pytensor
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, NUMBA_CACHE_PATH

    # as compile_pymc_cached: PyTensor makes its numba functions as the graph is unpickled
    with pytensor.config.change_flags(numba__fastmath=False):
        with open(path, "rb") as file:
            function, graph_key, common, key, folder = pickle.load(file)
        if str(NUMBA_CACHE_PATH) != folder:
            return 4
        here = CACHED_SRC_FUNCTIONS.get(function.vm.jit_fn.py_func)
        if here != graph_key or _entry(*_EXPAND, function, here, **common)[1] != key:
            return 3
        _contiguous_constants(function.vm.jit_fn)
        _cached_cfunc(*_EXPAND, function, graph_key, EXPAND_SIGNATURE, **common)
    return 0


def _keep_cache_small(folder, used: str, limit: int = CACHE_LIMIT_BYTES) -> None:
    """Mark the entry ``used`` (its key) as just used, then remove the least recently used
    callbacks beyond ``limit`` bytes from ``folder``. Other files are left alone.

    Example
    -------
    >>> _keep_cache_small(NUMBA_CACHE_PATH, used="0" * 64)  # doctest: +SKIP
    """
    import time

    entries: dict[str, list[Path]] = {}
    for path in Path(folder).glob(_ENTRY_PREFIX + "*"):
        entries.setdefault(path.name.split(".py")[0], []).append(path)
    now = time.time()
    for stem, paths in entries.items():
        if stem.endswith("-" + used):
            for path in paths:
                os.utime(path, (now, now))

    def stat(paths):  # (newest time, size); a file another process removed counts as gone
        found = [p.stat() for p in paths if p.exists()]
        return max((f.st_mtime for f in found), default=0.0), sum(f.st_size for f in found)

    total = 0
    for stem, (_, size) in sorted(((s, stat(p)) for s, p in entries.items()),
                                  key=lambda item: -item[1][0]):
        total += size
        if total > limit:
            # the index first: a process that finds no index compiles instead of failing
            for path in sorted(entries[stem], key=lambda p: p.suffix != ".nbi"):
                path.unlink(missing_ok=True)


def _contiguous_constants(dispatcher, depth: int = 3) -> None:
    """Give the numba functions behind ``dispatcher`` C-contiguous copies of their constant
    arrays, before they are compiled. PyTensor's constant folding leaves strided views (a
    slice of a constant), which numba embeds as run-time addresses ("dynamic globals"): a
    function holding one is never written to the disk cache, and neither is a callback that
    inlines it. The values are the same; only their memory layout changes."""
    from numba.core.dispatcher import Dispatcher

    namespace = dispatcher.py_func.__globals__
    for name, value in list(namespace.items()):
        if isinstance(value, np.ndarray) and not (value.flags.c_contiguous
                                                  or value.flags.f_contiguous):
            namespace[name] = np.ascontiguousarray(value)
        elif depth > 1 and isinstance(value, Dispatcher) and value is not dispatcher:
            _contiguous_constants(value, depth - 1)


if __name__ == "__main__":  # the helper: run as the module itself, not as __main__
    from connective.bayes.nutpie_cache import _compile_expand as compile_expand

    sys.exit(compile_expand(sys.argv[1]))
