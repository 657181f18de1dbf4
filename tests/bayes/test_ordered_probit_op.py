"""The fused ordered-probit Op (bayes/ordered_probit_op.py) against wave 1's elementwise graph
(bayes/ordinal.answer_logp): value and gradient at random points, extreme tails included;
one node per log-density and gradient; the JAX implementation; the posterior."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from connective.spec import parse_model

MODEL = "F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ b*F"


def _tables(rng, items=4, categories=5, spread=3.0):
    """Flattened (items x categories) lower / upper bound tables with +-1e4 at the ends."""
    cut = np.sort(rng.normal(0.0, spread, size=(items, categories - 1)), axis=1)
    lower = np.concatenate([np.full((items, 1), -1e4), cut], axis=1)
    upper = np.concatenate([cut, np.full((items, 1), 1e4)], axis=1)
    return lower.ravel(), upper.ravel()


def _both(mode):
    """Compiled (value, d/dystar, d/dlower, d/dupper) of the Op and of the graph."""
    import pytensor
    import pytensor.tensor as pt

    from connective.bayes.ordered_probit_op import ordered_probit_logp
    from connective.bayes.ordinal import answer_logp

    y, lo, hi = pt.dvector("y"), pt.dvector("lo"), pt.dvector("hi")
    slots = pt.lvector("slots")
    out = []
    for total in (ordered_probit_logp(y, lo, hi, slots),
                  answer_logp(pt, None, y, lo[slots], hi[slots]).sum()):
        out.append(pytensor.function([y, lo, hi, slots],
                                     [total, *pytensor.grad(total, [y, lo, hi])], mode=mode))
    return out


@pytest.mark.parametrize("mode", ["NUMBA", "FAST_COMPILE"])  # numba kernel; Python perform
def test_value_and_gradient_equal_the_graph_in_the_tails(mode):
    rng = np.random.default_rng(7)
    fused, graph = _both(mode)
    lower, upper = _tables(rng)
    slots = rng.integers(0, lower.size, size=400)
    # latent responses from the middle to 40 SD beyond a bound: above about 37 SD the
    # probability is floored at 1e-300 and both give no gradient
    for scale in (0.5, 3.0, 12.0, 40.0):
        ystar = rng.normal(0.0, scale, size=slots.size)
        for ours, theirs in zip(fused(ystar, lower, upper, slots),
                                graph(ystar, lower, upper, slots)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    # one answer far in a tail: a category's probability of about 1e-200 is kept exactly
    far = np.array([-30.0])
    value = fused(far, np.array([-1e4, 0.0]), np.array([0.0, 1e4]), np.array([1]))[0]
    np.testing.assert_allclose(value, graph(far, np.array([-1e4, 0.0]), np.array([0.0, 1e4]),
                                            np.array([1]))[0], rtol=1e-12)
    assert value < -400


@pytest.fixture(scope="module")
def ordinal_frame():
    from connective.data.simulate import simulate

    spec = parse_model(MODEL)
    frame = simulate(spec, 120, seed=5, likert=5).frame[list(spec.observed)].astype(float)
    return spec, frame.mask(np.random.default_rng(6).random(frame.shape) < 0.05)


def _model_function(spec, frame, answer_logp):
    import pytensor

    from connective.bayes import build_model, ordinal

    ordinal.ANSWER_LOGP = answer_logp
    try:
        m = build_model(spec, frame, likelihood="ordinal").model
    finally:
        ordinal.ANSWER_LOGP = "fused"
    logp = m.logp()
    f = pytensor.function(m.value_vars, [logp, *pytensor.grad(logp, m.value_vars)],
                          mode="NUMBA")
    return m, f


def test_the_model_log_density_and_gradient_equal_wave_1s(ordinal_frame):
    """The whole model's log-density and gradient (cutpoints, scores, parameters), with
    missing answers, at random points around the start: equal to the graph's."""
    from connective.bayes.ordered_probit_op import OrderedProbitLogp

    spec, frame = ordinal_frame
    m, fused = _model_function(spec, frame, "fused")
    _, graph = _model_function(spec, frame, "graph")
    # the forward value and the gradient share one node (an inlined OpFromGraph once
    # cloned it, and the likelihood ran twice per gradient)
    assert sum(isinstance(n.op, OrderedProbitLogp) for n in fused.maker.fgraph.apply_nodes) == 1
    start = m.initial_point()
    rng = np.random.default_rng(8)
    for scale in (0.0, 0.5, 2.0):
        point = [start[v.name] + scale * rng.normal(size=start[v.name].shape)
                 for v in m.value_vars]
        for ours, theirs in zip(fused(*point), graph(*point)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-9)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_the_jax_implementation_equals_the_numba_one():
    import pytensor
    import pytensor.tensor as pt

    from connective.bayes.backends import configure_jax
    from connective.bayes.ordered_probit_op import ordered_probit_logp, register_jax

    configure_jax(2)  # 64-bit floats, as the JAX samplers run
    register_jax()
    rng = np.random.default_rng(9)
    lower, upper = _tables(rng)
    slots = rng.integers(0, lower.size, size=300)
    y, lo, hi = pt.dvector("y"), pt.dvector("lo"), pt.dvector("hi")
    total = ordered_probit_logp(y, lo, hi, pt.as_tensor_variable(slots))
    outs = [total, *pytensor.grad(total, [y, lo, hi])]
    jax_f = pytensor.function([y, lo, hi], outs, mode="JAX")
    numba_f = pytensor.function([y, lo, hi], outs, mode="NUMBA")
    for scale in (1.0, 20.0):
        ystar = rng.normal(0.0, scale, size=slots.size)
        for ours, theirs in zip(jax_f(ystar, lower, upper), numba_f(ystar, lower, upper)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


@pytest.mark.slow
def test_the_posterior_is_wave_1s_and_the_same_seed_gives_the_same_draws(ordinal_frame):
    """2 chains x 500 draws: the parameters' posterior means within 4 Monte Carlo SE of
    the graph's fit; a second fit with the same seed gives the same draws, bit for bit."""
    import arviz as az

    from connective.bayes import build_model, ordinal, sample

    spec, frame = ordinal_frame
    fits = {}
    for name in ("graph", "fused", "fused again"):
        ordinal.ANSWER_LOGP = name.split()[0]
        try:
            bm = build_model(spec, frame, likelihood="ordinal")
        finally:
            ordinal.ANSWER_LOGP = "fused"
        fits[name] = sample(bm, draws=500, tune=500, chains=2, seed=3, progress=False)
    np.testing.assert_array_equal(fits["fused"].posterior["parameters"].values,
                                  fits["fused again"].posterior["parameters"].values)
    a, b = (fits[k].posterior["parameters"] for k in ("fused", "graph"))
    se = np.hypot(az.mcse(a)["parameters"].values, az.mcse(b)["parameters"].values)
    gap = np.abs(a.mean(("chain", "draw")).values - b.mean(("chain", "draw")).values)
    assert (gap <= 4 * se).all(), (gap / se).max()
