"""The tape (connective.bayes.tape, tape_kernel): a model's log-density as a program for one
interpreter compiled once per machine. Its value and gradient must be PyMC's own (compiled
by PyTensor's C backend) for every instruction and for whole models: one group and many,
complete and with missing answers, every prior family and transform; its expanded draws
must be the model's variables; a model it cannot hold must fall back to the numba compiler;
and the same seed must give the same draws."""

from __future__ import annotations

import ctypes

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("nutpie")

import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402

from connective.bayes.tape import Untranslatable, evaluate, run_program, translate  # noqa: E402
from connective.bayes.sample import flat_point  # noqa: E402
from connective.spec import parse_model  # noqa: E402

X = np.array([0.3, -1.2, 2.5, 0.9])
#: one graph per instruction family (x > 0 where the function needs it)
GRAPHS = {
    "arithmetic": lambda x: ((x * 3.0 - x[0]) / (1.5 + x ** 2) + (-x)).sum(),
    "exp-log": lambda x: (pt.exp(0.3 * x) + pt.log(x ** 2 + 1.0) + pt.log1p(pt.abs(x))).sum(),
    "sqrt-pow": lambda x: (pt.sqrt(x ** 2 + 0.5) + (x ** 2 + 1.0) ** 1.7
                           + 2.0 ** (0.2 * x)).sum(),
    "sqr-reciprocal": lambda x: (pt.sqr(x) + pt.reciprocal(x ** 2 + 2.0)).sum(),
    "switch-compare": lambda x: pt.switch(pt.gt(x, 0.5) & pt.le(x, 2.0), x ** 2,
                                          pt.switch(pt.eq(x, x), -x, x)).sum(),
    "maximum-minimum": lambda x: (pt.maximum(x, 0.4) * pt.minimum(x, 1.0)).sum(),
    "erf": lambda x: (pt.erfc(0.5 * x) + pt.erf(0.7 * x)).sum(),
    "softplus-sigmoid": lambda x: (pt.softplus(x) + pt.sigmoid(0.5 * x)
                                   + pt.log1mexp(-pt.abs(x) - 0.1)).sum(),
    "expm1-tanh": lambda x: (pt.expm1(0.5 * x) + pt.tanh(x)).sum(),
    "reductions": lambda x: x.prod() + x.reshape((2, 2)).sum(axis=0)[1] + pt.max(x),
    "indexing": lambda x: (pt.set_subtensor(pt.zeros(6)[np.array([0, 2, 5])], x[1:]) ** 2
                           ).sum() + pt.inc_subtensor(x[np.array([0, 0, 3])], x[1:]).sum(),
    "structure": lambda x: (pt.concatenate([x, x[::-1]]) * pt.alloc(x[0], 8)).sum()
                           + x.dimshuffle("x", 0).T.sum() * pt.stack([x[1], x[2]]).sum(),
    # a tie's gradient goes to the first input, as PyTensor's
    "maximum-tie": lambda x: pt.maximum(x, x * 1.0).sum() + pt.minimum(x[0], x[0] + 0.0),
    "cast-to-bool": lambda x: (pt.cast(x - x[0], "bool") * x).sum(),
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_each_instruction_gives_pytensors_value_and_gradient(name):
    source = pt.tensor("x", shape=(4,), dtype="float64")
    y = GRAPHS[name](source)
    reference = pytensor.function([source], [y, pytensor.grad(y, source)])
    value, _, grad = run_program(translate([source], [y]), X)
    ref_value, ref_grad = reference(X)
    assert value == pytest.approx(float(ref_value), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12)


def test_a_division_by_zero_gives_infinity_not_an_error():
    """As PyTensor's compiled code: inf and nan, which nutpie rejects, never an exception
    (a C callback can only swallow one and report success)."""
    x = pt.tensor("x", shape=(2,), dtype="float64")
    value, _, grad = run_program(translate([x], [(1.0 / x).sum() + pt.log(x).sum()]),
                                 np.array([0.0, 1.0]))
    assert np.isnan(value) or np.isinf(value)
    assert not np.isfinite(grad[0])


def test_a_graph_reading_the_kernels_gradient_is_refused():
    from connective.bayes.matrices import build_layout
    from connective.bayes.sem_normal_op import sem_normal_loglik

    layout = build_layout(parse_model("y ~~ y"))
    t = pt.tensor("t", shape=(layout.n_params,), dtype="float64")
    ll = sem_normal_loglik(layout, t, np.array([0]), np.array([3.0]), np.array([[0.5]]),
                           np.array([[[0.0]]]), np.array([0]), np.ones((1, 1)))
    value, grad = ll.owner.outputs
    with pytest.raises(Untranslatable, match="gradient"):
        translate([t], [value + grad.sum()])


def test_an_operation_without_an_instruction_is_refused():
    x = pt.tensor("x", shape=(4,), dtype="float64")
    with pytest.raises(Untranslatable, match="Blockwise|Det"):
        translate([x], [pt.linalg.det(x.reshape((2, 2)))])


def test_graphs_of_known_values_are_evaluated_without_compiling():
    a = pytensor.shared(np.array([1.0, 4.0]), name="a")
    (value,) = evaluate([pt.sqrt(a) * 2.0])
    assert value.tolist() == [2.0, 4.0]


# -- whole models -------------------------------------------------------------------------

MEDIATION = """
F =~ a1 + a2 + a3
G =~ b1 + b2 + b3
Y ~ G + F
G ~ F
a1 ~~ b1
"""


def _frame(names, seed=0, n=150, holes=False):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    g = 0.5 * f + rng.normal(size=n)
    out = {}
    for name in names:
        base = f if name.startswith("a") else g if name.startswith("b") else 0.3 * g + 0.2 * f
        out[name] = 3.0 + 0.8 * base + rng.normal(scale=0.6, size=n)
    frame = pd.DataFrame(out)
    if holes:
        frame = frame.mask(rng.random(frame.shape) < 0.04)
    return frame


def _callback(compiled, x):
    """The log-density and gradient through nutpie's C callback, as nutpie calls it."""
    x = np.ascontiguousarray(x, dtype=float)
    grad, logp = np.zeros_like(x), np.zeros(())
    status = compiled.compiled_logp_func.ctypes(
        len(x), x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        grad.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        logp.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        ctypes.c_void_p(compiled.user_data.ctypes.data))
    return status, float(logp), grad


def _expand(compiled, x):
    x = np.ascontiguousarray(x, dtype=float)
    out = np.zeros(compiled.n_expanded)
    status = compiled.compiled_expand_func.ctypes(
        len(x), compiled.n_expanded, x.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
        ctypes.c_void_p(compiled.user_data.ctypes.data))
    assert status == 0
    return out


def _check_model(bm, points=3, seed=0):
    """The tape's log-density, gradient, starting point and expanded variables against
    PyMC's compiled functions at the starting point and at points around it."""
    from pymc.initial_point import make_initial_point_fn

    from connective.bayes import compile_model

    compiled = compile_model(bm)
    assert bm.compiled_by == "tape"
    model = bm.model
    start = make_initial_point_fn(model=model, overrides=bm.initvals, jitter_rvs=set(),
                                  return_transformed=True)(0)
    expected = np.concatenate([np.ravel(start[model.rvs_to_values[v].name])
                               for v in model.free_RVs])
    x0 = compiled.initial_point_func(0)
    np.testing.assert_allclose(x0, expected, rtol=1e-12)
    logp, dlogp = model.compile_logp(), model.compile_dlogp()
    names = compiled.shape_info[0]
    parameters = names.index("parameters")
    where = compiled.shape_info[1][parameters]
    # lavaan's parameter vector as a function of the sampled (transformed) values
    values = {v.name: v for v in model.unobserved_value_vars}
    deterministic = model.compile_fn(values["parameters"], inputs=model.value_vars,
                                     on_unused_input="ignore")
    rng = np.random.default_rng(seed)
    for k in range(points):
        x = x0 + (0.1 * rng.normal(size=x0.size) if k else 0.0)
        point = flat_point(model, x)
        status, value, grad = _callback(compiled, x)
        assert status == 0
        assert value == pytest.approx(float(logp(point)), rel=1e-10)
        np.testing.assert_allclose(grad, dlogp(point), rtol=1e-8,
                                   atol=1e-9 * np.abs(grad).max())
        expanded = _expand(compiled, x)
        np.testing.assert_array_equal(expanded[:x.size], x)
        np.testing.assert_allclose(expanded[where], deterministic(point), rtol=1e-12)
    return compiled


@pytest.mark.parametrize("holes", [False, True])
def test_a_model_with_covariances_equals_pymc(holes):
    from connective.bayes import build_model

    spec = parse_model(MEDIATION)
    _check_model(build_model(spec, _frame(spec.observed, holes=holes)))


def test_every_prior_family_and_transform_equals_pymc():
    from connective.bayes import build_model

    spec = parse_model("""
        F =~ a1 + prior("lognormal(0, 0.5)")*a2 + prior("normal(1, 0.5)")*a3
        G =~ b1 + prior("student_t(3, 1, 1)")*b2 + b3
        G ~ prior("uniform(-2, 2)")*F
        Y ~ prior("normal(0, 1)")*G
        a1 ~~ prior("beta(2, 2)")*b1
        a2 ~~ prior("gamma(2, 4)")*a2
        Y ~~ prior("halfnormal(2)")*Y
    """)
    bm = build_model(spec, _frame(spec.observed, seed=3))
    families = {type(rv.owner.op).__name__ for rv in bm.model.free_RVs}
    assert len(families) >= 6, families
    _check_model(bm, seed=3)


def test_a_hierarchical_model_equals_pymc():
    from connective.bayes import build_model
    from connective.bayes.groups import group_design
    from connective.bayes.matrices import build_layout

    spec = parse_model("M ~ X\nY ~ M + X")
    rng = np.random.default_rng(4)
    n = 160
    team = np.repeat(np.arange(5), n // 5)
    x = rng.normal(size=n)
    m = (0.3 + 0.1 * team) * x + rng.normal(size=n)
    frame = pd.DataFrame({"X": x, "M": m, "Y": 0.4 * m + rng.normal(size=n),
                          "team": team.astype(str)})
    frame.loc[3, "M"] = np.nan
    design, fitted = group_design(frame, spec, build_layout(spec), "team")
    _check_model(build_model(spec, fitted, groups=design), seed=4)


def test_same_seed_same_draws_and_the_posterior_of_the_numba_path():
    """Two compilations of one model draw the same chains for the same seed, bit for bit;
    the numba compiler's chains (other rounding, so other draws) reach the same posterior."""
    from connective.bayes import build_model, compile_model, sample

    spec = parse_model(MEDIATION)
    frame = _frame(spec.observed, seed=1)
    runs = []
    for compiler in ("tape", "tape", "numba"):
        bm = build_model(spec, frame)
        compile_model(bm, compiler)
        assert bm.compiled_by == compiler
        idata = sample(bm, draws=400, tune=400, chains=2, seed=5, progress=False)
        assert idata.attrs["compiler"] == compiler
        runs.append(idata.posterior["parameters"])
    np.testing.assert_array_equal(runs[0].values, runs[1].values)
    import arviz as az

    means = [r.mean(("chain", "draw")) for r in runs]
    mcse = np.hypot(*(az.mcse(r.to_dataset())["parameters"] for r in (runs[0], runs[2])))
    assert bool((np.abs(means[0] - means[2]) < 5 * mcse).all())


def test_an_untranslatable_model_falls_back_to_numba(monkeypatch, recwarn):
    """A graph with an operation the tape lacks goes to PyTensor's numba backend, silently
    (the tape is the faster path, not a promise)."""
    from connective.bayes import build_model, compile_model, nutpie_cache, tape

    bm = build_model(parse_model("M ~ X"), _frame(["X", "M"], seed=2))
    monkeypatch.delitem(tape.SCALAR_OPS, "Exp")  # the priors' log transform needs exp
    monkeypatch.setattr(nutpie_cache, "compile_pymc_cached",
                        lambda model, initial_points: ("numba's", model))
    assert compile_model(bm) == ("numba's", bm.model)
    assert bm.compiled_by == "numba"
    assert not [w for w in recwarn if "translated" in str(w.message)]


def test_a_failed_translation_falls_back_and_says_so(monkeypatch):
    """A translation that fails for another reason than a missing operation (a defect of
    the tape) is not hidden: the fit goes on with numba and warns, naming the error."""
    from connective.bayes import build_model, compile_model, nutpie_cache, tape_kernel

    def broken(model, initial_points):
        raise IndexError("register 7 out of range")

    bm = build_model(parse_model("M ~ X"), _frame(["X", "M"], seed=2))
    monkeypatch.setattr(tape_kernel, "compile_tape", broken)
    monkeypatch.setattr(nutpie_cache, "compile_pymc_cached",
                        lambda model, initial_points: ("numba's", model))
    with pytest.warns(RuntimeWarning, match=r"could not be translated \(IndexError: "
                                            r"register 7 out of range\); compiling it with "
                                            r"numba instead"):
        compile_model(bm)
    assert bm.compiled_by == "numba"


def test_a_compiler_asked_for_by_name_is_the_one_used(monkeypatch):
    """compile_model(bm, name) after another compiler compiles again; without a name it
    keeps what bm has."""
    from connective.bayes import build_model, compile_model, nutpie_cache

    bm = build_model(parse_model("M ~ X"), _frame(["X", "M"], seed=2))
    monkeypatch.setattr(nutpie_cache, "compile_pymc_cached",
                        lambda model, initial_points: ("numba's", model))
    compile_model(bm, "numba")
    assert bm.compiled_by == "numba"
    compile_model(bm)
    assert bm.compiled_by == "numba"
    compile_model(bm, "tape")
    assert bm.compiled_by == "tape"
    compile_model(bm, "numba")
    assert bm.compiled == ("numba's", bm.model)


def test_with_data_translates_the_tape_again():
    from connective.bayes import build_model, compile_model, with_data

    spec = parse_model(MEDIATION)
    bm = build_model(spec, _frame(spec.observed, seed=0))
    compile_model(bm)
    x = bm.compiled.initial_point_func(0)
    before = _callback(bm.compiled, x)[1]
    with_data(bm, _frame(spec.observed, seed=7))
    assert bm.compiled_by == "tape"
    after = _callback(bm.compiled, x)[1]
    assert after != pytest.approx(before)
    assert after == pytest.approx(float(bm.model.compile_logp()(flat_point(bm.model, x))),
                                  rel=1e-10)


def test_the_interpreter_compiled_in_the_background_is_loaded_and_runs(tmp_path):
    """bayes/warm.py: a process that compiles the interpreter against a stand-in for the
    likelihood kernel's symbol fills numba's cache; a later process loads that entry (no
    compilation) beside the kernel it compiled itself, and the program it runs calls the
    real kernel (the log-likelihood of a one-item model equals scipy's)."""
    import os
    import subprocess
    import sys
    import textwrap

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    warm = subprocess.run([sys.executable, "-m", "connective.bayes.warm", "interpreter"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert warm.returncode == 0, warm.stderr[-2000:]
    check = textwrap.dedent("""
        import numpy as np, pytensor.tensor as pt
        from scipy.stats import norm
        from connective.bayes import tape_kernel
        from connective.bayes.matrices import build_layout
        from connective.bayes.sem_normal_op import sem_normal_loglik
        from connective.bayes.tape import run_program, translate
        from connective.spec import parse_model
        logp, expand = tape_kernel.callbacks()
        layout = build_layout(parse_model("y ~~ y"))
        t = pt.tensor("t", shape=(layout.n_params,), dtype="float64")
        ll = sem_normal_loglik(layout, t, np.array([0]), np.array([3.0]),
                               np.array([[0.5]]), np.array([[[0.0]]]), np.array([0]),
                               np.ones((1, 1)))
        theta = np.array([2.0 if n == "y~~y" else 0.1 for n in layout.names])
        value = run_program(translate([t], [ll]), theta)[0]
        print(logp.cache_hits, expand.cache_hits,
              np.isclose(value, 3 * norm(0.1, np.sqrt(2.0)).logpdf(0.5)))
    """)
    done = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-3:] == ["1", "1", "True"]
