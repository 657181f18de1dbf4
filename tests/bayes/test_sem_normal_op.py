"""The normal likelihood as one Op (issue [6/12], item 1; bayes/sem_normal_op.py): its value
and gradient equal wave 1's graph of PyTensor nodes and a density written here with scipy,
for models with residual covariances, fixed.x covariates, latent and observed mediators and
a path model;
a Sigma that is not positive definite gives -inf; numba (nutpie) and JAX agree; the
compiled model keeps taking new data (with_data)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps

from connective.bayes import sem_normal_op
from connective.bayes.likelihood import loglik_tensor, sufficient_statistics
from connective.bayes.matrices import build_layout, implied_moments
from connective.bayes.sem_normal_op import (layout_structure, pattern_arrays, sem_logp_grad,
                                            sem_normal_loglik)
from connective.spec import parse_model

#: a mediation model with a latent cause, an observed covariate and a residual covariance
MEDIATION = """
F =~ x1 + x2 + x3
M =~ m1 + m2
M ~ F + Z
Y ~ M + F
x1 ~~ x3
"""


def _theta(layout, rng, scale=0.15):
    """Parameters near a plausible point: loadings 0.8, paths 0.2, variances 1, covariances
    0.1, intercepts 3, each moved at random."""
    base = {"loading": 0.8, "regression": 0.2, "variance": 1.0, "covariance": 0.1,
            "intercept": 3.0}
    theta = np.array([base[p.kind] for p in layout.params])
    return theta + scale * rng.normal(size=theta.size) * (theta != 1.0)


def _kernel(layout, theta, stats):
    """The Op's numba kernel on the patterns of ``stats``."""
    a = pattern_arrays(stats.patterns, len(layout.observed))
    return sem_logp_grad(theta, *layout_structure(layout), a["n"], a["mean"], a["factor"],
                         a["rank"], a["observed"])


def _op_args(layout, stats):
    a = pattern_arrays(stats.patterns, len(layout.observed))
    return a["group"], a["n"], a["mean"], a["factor"], a["rank"], a["observed"]


def _wave1(layout, stats):
    """Wave 1's graph of the same likelihood and its gradient (pytensor)."""
    import pytensor
    import pytensor.tensor as pt

    t = pt.dvector("t")
    mu, sigma = implied_moments(layout, t)
    pat = stats.patterns[0]
    ll = loglik_tensor([{"columns": pat.columns, "n": float(pat.n), "mean": pat.mean,
                         "cov": pat.cov}], mu, sigma, len(layout.observed))
    return pytensor.function([t], [ll, pytensor.grad(ll, t)])


def _frame(variables, n=120, seed=4):
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n, 1))
    values = 0.7 * common + rng.normal(size=(n, len(variables))) + 3.0
    return pd.DataFrame(values, columns=variables)


def _holes(frame):
    """``frame`` with patterns missing one, two and three columns, answered by one row and
    by several."""
    frame = frame.copy()
    frame.iloc[::7, 0] = np.nan
    frame.iloc[::5, 4] = np.nan
    frame.iloc[3, [1, 2, 3]] = np.nan
    frame.iloc[9, [2, 5]] = np.nan
    return frame


def _scipy_loglik(layout, theta, frame):
    """The sum of every row's density of its answered items (scipy)."""
    mu, sigma = implied_moments(layout, theta)
    total = 0.0
    for row in frame[layout.observed].to_numpy():
        o = ~np.isnan(row)
        total += sps.multivariate_normal(mu[o], sigma[np.ix_(o, o)]).logpdf(row[o])
    return total


@pytest.mark.parametrize("text", [MEDIATION, "M ~ X\nY ~ M + X",
                                  "F =~ a + b + c\nG =~ d + e + f\nG ~ F + w\nb ~~ e"])
def test_value_and_gradient_equal_wave_1_and_scipy(text, political_democracy_model):
    rng = np.random.default_rng(7)
    layout = build_layout(parse_model(text))
    frame = _frame(layout.observed)
    stats = sufficient_statistics(frame, layout.observed)
    wave1 = _wave1(layout, stats)
    for _ in range(4):
        theta = _theta(layout, rng)
        logp, grad = _kernel(layout, theta, stats)
        ref, ref_grad = wave1(theta)
        assert logp == pytest.approx(ref, rel=1e-11)
        assert logp == pytest.approx(_scipy_loglik(layout, theta, frame), rel=1e-10)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-8, atol=1e-9 * np.abs(ref_grad).max())


def test_political_democracy_gradient_equals_finite_differences(benchmarks,
                                                                political_democracy_model):
    frame = pd.read_csv(benchmarks / "data" / "PoliticalDemocracy.csv")
    layout = build_layout(parse_model(political_democracy_model))
    stats = sufficient_statistics(frame, layout.observed)
    pat = stats.patterns[0]
    theta = _theta(layout, np.random.default_rng(2), scale=0.05)
    theta[[k for k, p in enumerate(layout.params) if p.kind == "intercept"]] = pat.mean

    def f(t):
        return _kernel(layout, t, stats)[0]

    _, grad = _kernel(layout, theta, stats)
    h = 1e-6
    numeric = np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h)
                        for e in np.eye(theta.size)])
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_missing_answers_equal_the_row_densities_with_their_gradient():
    """Full information by pattern: the Schur steps give every row's density of its answered
    items (scipy), and the gradient equals central differences."""
    rng = np.random.default_rng(8)
    layout = build_layout(parse_model(MEDIATION))
    frame = _holes(_frame(layout.observed))
    stats = sufficient_statistics(frame, layout.observed)
    sizes = {pat.n for pat in stats.patterns[1:]}
    assert 1 in sizes and max(sizes) > 1  # single-row and multi-row incomplete patterns
    for _ in range(3):
        theta = _theta(layout, rng)
        logp, grad = _kernel(layout, theta, stats)
        assert logp == pytest.approx(_scipy_loglik(layout, theta, frame), rel=1e-10)
        h = 1e-6
        numeric = np.array([(_kernel(layout, theta + h * e, stats)[0]
                             - _kernel(layout, theta - h * e, stats)[0]) / (2 * h)
                            for e in np.eye(theta.size)])
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-4)


def test_sigma_not_positive_definite_gives_minus_infinity():
    layout = build_layout(parse_model("F =~ a + b + c"))
    stats = sufficient_statistics(_frame(layout.observed), layout.observed)
    theta = _theta(layout, np.random.default_rng(1), scale=0.0)
    theta[layout.index("a~~a")] = -3.0  # a negative residual variance larger than the loading's
    logp, grad = _kernel(layout, theta, stats)
    assert logp == -np.inf and not grad.any()


def test_the_op_in_a_graph_equals_the_kernel_and_differentiates():
    import pytensor
    import pytensor.tensor as pt

    layout = build_layout(parse_model(MEDIATION))
    stats = sufficient_statistics(_frame(layout.observed), layout.observed)
    t = pt.dvector("t")
    ll = sem_normal_loglik(layout, t, *_op_args(layout, stats))
    theta = _theta(layout, np.random.default_rng(3))
    ref, ref_grad = _kernel(layout, theta, stats)
    # Python's perform (the numba implementation runs in every nutpie fit of the suite)
    f = pytensor.function([t], [ll, pytensor.grad(2.0 * ll, t)], mode="FAST_COMPILE")
    value, grad = f(theta)
    assert float(value) == pytest.approx(ref, rel=1e-12)
    np.testing.assert_allclose(grad, 2.0 * ref_grad, rtol=1e-12)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_jax_implementation_equals_numba():
    import jax
    import pytensor
    import pytensor.tensor as pt

    jax.config.update("jax_enable_x64", True)
    layout = build_layout(parse_model(MEDIATION))
    # missing answers too: JAX masks the patterns where the numba kernel takes Schur steps
    stats = sufficient_statistics(_holes(_frame(layout.observed)), layout.observed)
    assert len(stats.patterns) > 3
    t = pt.dvector("t")
    ll = sem_normal_loglik(layout, t, *_op_args(layout, stats))
    sem_normal_op.register_jax()
    f = pytensor.function([t], [ll, pytensor.grad(ll, t)], mode="JAX")
    theta = _theta(layout, np.random.default_rng(5))
    ref, ref_grad = _kernel(layout, theta, stats)
    value, grad = f(theta)
    assert float(value) == pytest.approx(ref, rel=1e-10)
    np.testing.assert_allclose(np.asarray(grad), ref_grad, rtol=1e-8,
                               atol=1e-10 * np.abs(ref_grad).max())
    bad = theta.copy()
    bad[layout.index("x2~~x2")] = -50.0
    value, grad = f(bad)
    assert float(value) == -np.inf and not np.asarray(grad).any()


@pytest.mark.parametrize("holes", [False, True])
def test_model_uses_the_op_and_its_logp_equals_wave_1(holes):
    """build_model's default graph holds the Op and gives the model log-density (priors
    included) of the graph of PyTensor nodes, with complete data and missing answers."""
    from connective.bayes.model import build_model

    spec = parse_model(MEDIATION)
    frame = _frame(spec.observed)
    if holes:
        frame = _holes(frame)
    fused, wave1 = build_model(spec, frame), build_model(spec, frame, fused=False)
    ops = {type(node.op).__name__ for node in
           __import__("pytensor.graph.traversal").graph.traversal.io_toposort([], [fused.model.logp()])}
    assert "SemNormalLogp" in ops
    f1, f2 = fused.model.compile_logp(), wave1.model.compile_logp()
    point = fused.model.initial_point()
    rng = np.random.default_rng(9)
    for _ in range(3):
        moved = {k: v + 0.05 * rng.normal(size=np.shape(v)) for k, v in point.items()}
        assert f1(moved) == pytest.approx(f2(moved), rel=1e-10)


@pytest.mark.parametrize("text, holes", [("M ~ a*X\nY ~ b*M + cp*X", False),
                                         (MEDIATION, True)])
def test_hierarchical_model_logp_equals_wave_1(text, holes):
    """The groups' likelihood as one Op (each group's parameters a row of theta) gives the
    log-density of the graph of PyTensor nodes, for a path model on complete data and a
    factor model with missing answers."""
    from connective.bayes.groups import group_design
    from connective.bayes.model import build_model

    spec = parse_model(text)
    rng = np.random.default_rng(4)
    frame = _frame(spec.observed, n=90)
    if holes:
        frame = _holes(frame)
    frame["g"] = rng.choice(["a", "b", "c", "d", "e"], size=len(frame))
    design, fitted = group_design(frame, spec, build_layout(spec), "g")
    fused = build_model(spec, fitted, groups=design)
    wave1 = build_model(spec, fitted, groups=design, fused=False)
    f1, f2 = fused.model.compile_logp(), wave1.model.compile_logp()
    point = fused.model.initial_point()
    for _ in range(3):
        moved = {k: v + 0.05 * rng.normal(size=np.shape(v)) for k, v in point.items()}
        assert f1(moved) == pytest.approx(f2(moved), rel=1e-10)
    assert np.isfinite(f1(point))


def test_fit_with_a_jax_sampler_builds_the_graph_of_nodes_and_takes_new_data(monkeypatch):
    """fit() builds the PyTensor nodes for numpyro/blackjax (XLA compiles them faster than
    the Op's JAX form); such a model records it, and with_data rebuilds the same graph."""
    import connective.bayes as bayes
    from connective.bayes.model import build_model
    from connective.bayes.sample import with_data

    spec = parse_model(MEDIATION)
    built = {}

    def stop(model, times, **kwargs):  # record the model instead of sampling it
        built["model"] = model
        raise RuntimeError("stop")

    monkeypatch.setattr(bayes, "timed_sampling", stop)
    for sampler, fused in (("blackjax", False), ("nutpie", True)):
        with pytest.raises(RuntimeError, match="stop"):
            bayes.fit(spec, _frame(spec.observed), sampler=sampler, draws=10, tune=10)
        assert built["model"].options.get("fused", True) is fused
    bm = build_model(spec, _frame(spec.observed), fused=False)
    new = _frame(spec.observed, seed=5)
    with_data(bm, new)
    np.testing.assert_allclose(bm.model["data_mean"].get_value(),
                               new[bm.layout.observed].mean().to_numpy())
