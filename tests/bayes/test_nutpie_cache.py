"""nutpie's C callbacks cached on disk (connective.bayes.nutpie_cache), the numba compiler that
models the tape cannot translate fall back to (compile_model(bm, "numba")): the callbacks
compute the model's log-density and gradient, a changed model never loads another model's
entry, new data reach the compiled callbacks, and a new process loads them instead of
compiling."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("nutpie")


def _frame(seed: int = 0, n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    return pd.DataFrame({c: 1.0 + load * f + rng.normal(scale=0.6, size=n)
                         for c, load in zip(("a", "b", "c"), (1.0, 0.8, 0.6))})


def _callback_logp(compiled, x: np.ndarray) -> tuple[float, np.ndarray]:
    """The log-density and gradient at ``x`` through the compiled C callback, as nutpie
    calls it."""
    x = np.ascontiguousarray(x, dtype=float)
    grad = np.zeros_like(x)
    logp = np.zeros(())
    status = compiled.compiled_logp_func.ctypes(
        len(x), x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        grad.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        logp.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        ctypes.c_void_p(compiled.user_data.ctypes.data))
    assert status == 0
    return float(logp), grad


def _callback_expand(compiled, x: np.ndarray) -> tuple[int, np.ndarray]:
    """``(status, the stored variables at x)`` through the compiled expand callback."""
    x = np.ascontiguousarray(x, dtype=float)
    out = np.zeros(compiled.n_expanded)
    pointer = ctypes.POINTER(ctypes.c_double)
    status = compiled.compiled_expand_func.ctypes(
        len(x), compiled.n_expanded, x.ctypes.data_as(pointer), out.ctypes.data_as(pointer),
        ctypes.c_void_p(compiled.user_data.ctypes.data))
    return status, out


def _pytensor_logp(bm, x: np.ndarray) -> tuple[float, np.ndarray]:
    """The same from PyMC's own (C-compiled) log-density and gradient; ``x`` holds the
    transformed free variables in the model's order, as nutpie lays them out."""
    from connective.bayes.sample import flat_point

    model = bm.model
    point = flat_point(model, x)
    logp = model.compile_logp()(point)
    grad = model.compile_dlogp()(point)
    return float(logp), np.asarray(grad)


@pytest.fixture(scope="module")
def two_models():
    """One factor model twice: marker loading fixed at 1 and at 2 (same shapes, another
    constant in the graph)."""
    from connective.bayes import build_model, compile_model
    from connective.spec import parse_model

    out = []
    for marker in (1, 2):
        bm = build_model(parse_model(f"F =~ {marker}*a + b + c"), _frame())
        compile_model(bm, "numba")
        out.append(bm)
    return out


def test_callbacks_give_the_models_log_density_and_gradient(two_models):
    for bm in two_models:
        x = bm.compiled.initial_point_func(0) + 0.05
        logp, grad = _callback_logp(bm.compiled, x)
        ref_logp, ref_grad = _pytensor_logp(bm, x)
        assert logp == pytest.approx(ref_logp, rel=1e-9)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-7, atol=1e-9)
    # the fixed loading is part of the cache key: the two callbacks differ
    x = two_models[0].compiled.initial_point_func(0)
    assert _callback_logp(two_models[0].compiled, x)[0] != pytest.approx(
        _callback_logp(two_models[1].compiled, x)[0])


def test_new_data_reach_the_cached_callbacks():
    from connective.bayes import build_model, compile_model, with_data
    from connective.spec import parse_model

    bm = build_model(parse_model("F =~ a + b + c"), _frame(0))
    compile_model(bm, "numba")
    x = bm.compiled.initial_point_func(0)
    before = _callback_logp(bm.compiled, x)[0]
    with_data(bm, _frame(1))
    after = _callback_logp(bm.compiled, x)[0]
    assert after != pytest.approx(before)
    assert after == pytest.approx(_pytensor_logp(bm, x)[0], rel=1e-9)


def test_a_new_process_loads_the_callbacks_instead_of_compiling(two_models, tmp_path):
    """The module fixture compiled (and cached) the marker-1 model; a fresh interpreter
    building the same model must find both callbacks in the cache."""
    script = textwrap.dedent(f"""
        import sys
        import numpy as np, pandas as pd
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
        from test_nutpie_cache import _frame
        from connective.bayes import build_model, compile_model
        from connective.spec import parse_model
        bm = build_model(parse_model("F =~ 1*a + b + c"), _frame())
        compiled = compile_model(bm, "numba")
        print(compiled.compiled_logp_func.cache_hits, compiled.compiled_expand_func.cache_hits)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["1", "1"]


@pytest.mark.slow
def test_same_seed_same_draws_whether_compiled_or_loaded(tmp_path):
    """A new machine (empty PyTensor cache) compiles; a second process loads the callbacks.
    Both must draw the same chains for the same seed (fast-math off; see compile_pymc_cached)."""
    script = textwrap.dedent(f"""
        import hashlib, sys
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
        from test_nutpie_cache import _frame
        from connective.bayes import build_model, compile_model, sample
        from connective.spec import parse_model
        bm = build_model(parse_model("F =~ a + b + c"), _frame())
        compiled = compile_model(bm, "numba")
        idata = sample(bm, draws=200, tune=200, chains=2, seed=3, progress=False)
        digest = hashlib.sha256(idata.posterior["parameters"].values.tobytes()).hexdigest()
        print(compiled.compiled_logp_func.cache_hits, digest)
    """)
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=900, env=env) for _ in range(2)]
    for done in runs:
        assert done.returncode == 0, done.stderr[-2000:]
    (hits_1, draws_1), (hits_2, draws_2) = (done.stdout.split()[-2:] for done in runs)
    assert (hits_1, hits_2) == ("0", "1")
    assert draws_1 == draws_2


def test_cache_keeps_the_recently_used_callbacks_within_its_limit(tmp_path):
    import os

    from connective.bayes.nutpie_cache import _keep_cache_small

    def entry(key: str, age: float, size: int = 100) -> list:
        paths = [tmp_path / f"string.connective_logp-{key}.py311.nbi",
                 tmp_path / f"string.connective_logp-{key}.py311.1.nbc"]
        for path in paths:
            path.write_bytes(b"x" * size)
            os.utime(path, (1e9 - age, 1e9 - age))
        return paths

    old, older, oldest = entry("a" * 64, 10), entry("b" * 64, 20), entry("c" * 64, 30)
    other = tmp_path / "string.numba_funcified_fgraph-d.py311.nbi"  # PyTensor's own entry
    other.write_bytes(b"x" * 10_000)
    # the oldest entry was just loaded: it is kept, the least recently used one goes
    _keep_cache_small(tmp_path, used="c" * 64, limit=450)
    assert all(p.exists() for p in oldest + old)
    assert not any(p.exists() for p in older)
    assert other.exists()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                    reason="the helper runs on machines with two cores or more")
def test_the_expand_callback_compiled_by_the_helper_is_loaded_and_right(two_models):
    """A model this machine has not compiled (a fixed loading drawn for this run): this
    process compiles the log-density while a helper process compiles the expand callback
    into the cache, which this process then loads (cache hits 0 and 1); the loaded callback
    gives the model's own lavaan parameter vector."""
    value = 1.0 + int.from_bytes(os.urandom(3), "little") / 2**24
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        sys.path.insert(0, {str(__import__("pathlib").Path(__file__).parent)!r})
        from test_nutpie_cache import _callback_expand, _frame
        from connective.bayes import build_model, compile_model, nutpie_cache
        from connective.bayes.sample import flat_point
        from connective.spec import parse_model
        nutpie_cache._idle_core = lambda: True  # another test may be running beside this one
        bm = build_model(parse_model("F =~ {value!r}*a + b + c"), _frame())
        compiled = compile_model(bm, "numba")
        x = compiled.initial_point_func(0) + 0.05
        status, out = _callback_expand(compiled, x)
        names, where = compiled.shape_info[0], compiled.shape_info[1]
        values = {{v.name: v for v in bm.model.unobserved_value_vars}}
        parameters = bm.model.compile_fn(values["parameters"], inputs=bm.model.value_vars,
                                         on_unused_input="ignore")
        expected = parameters(flat_point(bm.model, x))
        got = out[where[names.index("parameters")]]
        print(compiled.compiled_logp_func.cache_hits, compiled.compiled_expand_func.cache_hits,
              status, float(np.max(np.abs(got - expected))))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    hits_logp, hits_expand, status, error = done.stdout.split()[-4:]
    assert (hits_logp, hits_expand, status) == ("0", "1", "0")
    assert float(error) < 1e-12


def _helper_inputs(compiled):
    """The functions, graph keys and shared data of a compiled model, as _compile has them."""
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    functions = (compiled.logp_func, compiled.expand_func)
    keys = [CACHED_SRC_FUNCTIONS.get(f.vm.jit_fn.py_func) for f in functions]
    from connective.bayes.nutpie_cache import GLUE_OPT_LEVEL

    common = dict(n_dim=compiled.n_dim, n_expanded=compiled.n_expanded,
                  record_dtype=compiled.user_data.dtype, shared_data=compiled.shared_data,
                  glue_level=GLUE_OPT_LEVEL)
    return functions, keys, common


def test_the_helper_compiles_only_the_callback_it_was_sent(two_models, tmp_path):
    """The helper writes the expand callback under the fitting process's cache key only when
    the graph it unpickled gives that key: a payload naming another key, or the true key
    with another optimisation level of the glue, exits with code 3 and leaves the cache as
    it was; the true one (cached by the fixture) is loaded."""
    import pickle

    from pytensor.link.numba.cache import NUMBA_CACHE_PATH

    from connective.bayes import nutpie_cache
    from connective.bayes.nutpie_cache import _EXPAND, _compile_expand, _entry

    level = nutpie_cache.GLUE_OPT_LEVEL
    (_, expand), keys, common = _helper_inputs(two_models[0].compiled)
    key = _entry(*_EXPAND, expand, keys[1], **common)[1]
    before = sorted(NUMBA_CACHE_PATH.glob("string.connective_*"))
    for n, (sent, sent_level, code) in enumerate((("0" * 64, level, 3), (key, None, 3),
                                                  (key, level, 0))):
        payload = tmp_path / f"{n}.pickle"
        payload.write_bytes(pickle.dumps((expand, keys[1], common | {"glue_level": sent_level},
                                          sent, str(NUMBA_CACHE_PATH))))
        assert _compile_expand(str(payload)) == code
    assert sorted(NUMBA_CACHE_PATH.glob("string.connective_*")) == before


@pytest.mark.parametrize("stop", [False, True])
def test_a_helper_that_fails_or_is_stopped_leaves_nothing_behind(two_models, tmp_path,
                                                                 monkeypatch, stop):
    """A helper that exits at once with an error, or one still running when the fit stops,
    is waited for or killed, and its payload (which holds the data) is removed."""
    from connective.bayes import nutpie_cache

    executable = tmp_path / "helper"
    executable.write_text("#!/bin/sh\n" + ("exec sleep 600\n" if stop else "exit 1\n"))
    executable.chmod(0o755)
    monkeypatch.setattr(nutpie_cache.sys, "executable", str(executable))
    monkeypatch.setattr(nutpie_cache, "_cores", lambda: 2)
    monkeypatch.setattr(nutpie_cache, "_idle_core", lambda: True)
    functions, _, common = _helper_inputs(two_models[0].compiled)
    helper = nutpie_cache._expand_elsewhere(*functions, ["a" * 64, "b" * 64], common)
    assert helper is not None
    process, path = helper
    assert os.path.exists(path)
    nutpie_cache._finish(helper, stop=stop)
    assert not os.path.exists(path)
    assert process.returncode == (-9 if stop else 1)


def test_an_ordinal_models_expand_function_reaches_the_helper():
    """The models whose compiling the helper shortens most, ordinal ones, pickle: the graph
    the helper unpickles has the fitting process's cache key (else it would compile
    nothing and the fit would wait for nothing)."""
    import pickle

    import pytensor
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS

    from connective.bayes import build_model
    from connective.bayes.nutpie_cache import _functions
    from connective.data.simulate import simulate
    from connective.spec import parse_model

    spec = parse_model("F =~ a + b + c\nG =~ d + e + f\nG ~ F")
    frame = simulate(spec, 60, seed=1, likert=5).frame[list(spec.observed)]
    bm = build_model(spec, frame, likelihood="ordinal")
    with pytensor.config.change_flags(numba__fastmath=False):
        expand = _functions(bm.model, bm.initvals)[3]
        key = CACHED_SRC_FUNCTIONS.get(expand.vm.jit_fn.py_func)
        again = pickle.loads(pickle.dumps(expand))
        assert key is not None
        assert CACHED_SRC_FUNCTIONS.get(again.vm.jit_fn.py_func) == key


def test_no_helper_where_every_core_is_busy(two_models, monkeypatch):
    """With as many threads running as this process may use, the helper would only take a
    core from them: none is started (the fit compiles the callback itself)."""
    from connective.bayes import nutpie_cache

    monkeypatch.setattr(nutpie_cache, "_cores", lambda: 2)
    real_open = open

    def busy_loadavg(path, *args, **kwargs):
        if path == "/proc/loadavg":
            import io

            return io.StringIO("1.90 1.80 1.70 2/412 31337\n")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", busy_loadavg)
    assert nutpie_cache._idle_core() is False
    functions, _, common = _helper_inputs(two_models[0].compiled)
    assert nutpie_cache._expand_elsewhere(*functions, ["a" * 64, "b" * 64], common) is None


def test_the_glue_gives_the_same_numbers_at_every_optimisation_level(two_models,
                                                                     monkeypatch):
    """The fixture compiled its callbacks with the glue unoptimised (GLUE_OPT_LEVEL 0); the
    same model compiled at numba's own level (another cache entry) gives the same
    log-density and gradient bit for bit: without fast-math LLVM may not reorder
    floating-point work, so the draws do not depend on the level."""
    from connective.bayes import build_model, compile_model, nutpie_cache
    from connective.spec import parse_model

    assert nutpie_cache.GLUE_OPT_LEVEL == 0
    # the glue is chosen by its libraries' names: PyTensor's function of the graph (and its
    # cached wrapper) and the callbacks are named as _GLUE_NAMES says
    logp_function = two_models[0].compiled.logp_func.vm.jit_fn.py_func
    inner = logp_function.__globals__["jitable_func"].py_func
    assert {logp_function.__name__, inner.__name__, nutpie_cache._LOGP[1],
            nutpie_cache._EXPAND[1]} == nutpie_cache._GLUE_NAMES
    monkeypatch.setattr(nutpie_cache, "GLUE_OPT_LEVEL", None)
    monkeypatch.setattr(nutpie_cache, "_idle_core", lambda: False)
    bm = build_model(parse_model("F =~ 1*a + b + c"), _frame())
    compiled = compile_model(bm, "numba")
    # another cache entry than the fixture's (compiled here or by an earlier run, at level 3)
    (logp, _), keys, common = _helper_inputs(compiled)
    key_3 = nutpie_cache._entry(*nutpie_cache._LOGP, logp, keys[0], **common)[1]
    common["glue_level"] = 0
    assert nutpie_cache._entry(*nutpie_cache._LOGP, logp, keys[0], **common)[1] != key_3
    rng = np.random.default_rng(4)
    for _ in range(3):
        x = two_models[0].compiled.initial_point_func(0) + rng.normal(0, 0.3, compiled.n_dim)
        logp_0, grad_0 = _callback_logp(two_models[0].compiled, x)
        logp_3, grad_3 = _callback_logp(compiled, x)
        assert logp_0 == logp_3
        assert np.array_equal(grad_0, grad_3)
