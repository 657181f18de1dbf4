"""nutpie's C callbacks cached on disk (connective.bayes.nutpie_cache), the numba compiler that
models the tape cannot translate fall back to (compile_model(bm, "numba")): the callbacks
compute the model's log-density and gradient, a changed model never loads another model's
entry, new data reach the compiled callbacks, and a new process loads them instead of
compiling."""

from __future__ import annotations

import ctypes
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
    env = {**__import__("os").environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
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
