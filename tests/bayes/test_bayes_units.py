"""Tests that need no sampler: priors, layout algebra, likelihood, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from connective.bayes import build_model
from connective.bayes.likelihood import (loglik_numpy, loglik_tensor, pointwise_loglik,
                                         sufficient_statistics)
from connective.bayes.matrices import build_layout, implied_moments, standardized_solution
from connective.bayes.priors import parse_prior
from connective.errors import ConnectiveError, DataError, ModelError
from connective.spec import parse_model

CFA = "F =~ x1 + x2 + x3\nG =~ x4 + x5 + x6\nG ~ F\nx1 ~~ x4"


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    g = 0.6 * f + rng.normal(scale=0.8, size=n)
    cols = {f"x{i}": (f if i <= 3 else g) * (0.5 + 0.2 * i) + rng.normal(size=n) + 3
            for i in range(1, 7)}
    return pd.DataFrame(cols)


@pytest.mark.parametrize("text, family, args, on", [
    ("normal(0, 0.5)", "normal", (0.0, 0.5), "value"),
    ("gamma(1,.5)[sd]", "gamma", (1.0, 0.5), "sd"),
    ("student_t(3, 0, 2.5)", "student_t", (3.0, 0.0, 2.5), "value"),
    ("halfnormal(2)[var]", "halfnormal", (2.0,), "var"),
    ("beta(1, 1)", "beta", (1.0, 1.0), "value"),
])
def test_parse_prior(text, family, args, on):
    p = parse_prior(text)
    assert (p.family, p.args, p.on) == (family, args, on)


@pytest.mark.parametrize("text", ["normal(0)", "cauchy(0, 1)", "normal(0, -1)",
                                  "normal(__import__('os'), 1)", "uniform(1, 0)", "normal 0 1"])
def test_bad_prior_text_is_an_error(text):
    with pytest.raises(ModelError):
        parse_prior(text)


def test_layout_matches_hand_computation():
    spec = parse_model(CFA)
    layout = build_layout(spec)
    rng = np.random.default_rng(3)
    theta = rng.uniform(0.3, 1.2, size=layout.n_params)
    mu, sigma = implied_moments(layout, theta)
    v = dict(zip(layout.names, theta))
    lam = np.zeros((6, 2))
    lam[0, 0] = lam[3, 1] = 1
    lam[1, 0], lam[2, 0] = v["F=~x2"], v["F=~x3"]
    lam[4, 1], lam[5, 1] = v["G=~x5"], v["G=~x6"]
    B = np.array([[0, 0], [v["G~F"], 0]])
    psi = np.diag([v["F~~F"], v["G~~G"]])
    th = np.diag([v[f"x{i}~~x{i}"] for i in range(1, 7)])
    th[0, 3] = th[3, 0] = v["x1~~x4"]
    A = np.linalg.inv(np.eye(2) - B)
    assert np.allclose(sigma, lam @ A @ psi @ A.T @ lam.T + th)
    assert np.allclose(mu, [v[f"x{i}~1"] for i in range(1, 7)])
    # batched draws give the same as one at a time
    many = np.stack([theta, theta * 1.1])
    assert np.allclose(implied_moments(layout, many)[1][1], implied_moments(layout, theta * 1.1)[1])


def test_standardized_loading_and_regression():
    spec = parse_model("M ~ X")
    layout = build_layout(spec)
    theta = layout.values({"M~X": 0.5, "X~~X": 4.0, "M~~M": 1.0, "X~1": 0.0, "M~1": 0.0})
    solution = standardized_solution(spec, layout, theta)
    std = dict(zip(solution["names"], solution["std.all"]))
    # sd(X) = 2, var(M) = 0.25 * 4 + 1 = 2
    assert std["M~X"] == pytest.approx(0.5 * 2 / np.sqrt(2))
    assert std["M~~M"] == pytest.approx(0.5)


def test_likelihoods_agree_with_scipy():
    frame = _frame()
    spec = parse_model(CFA)
    layout = build_layout(spec)
    st = sufficient_statistics(frame, layout.observed)
    theta = np.where(np.char.find(np.array(layout.names), "~1") > 0, 3.0, 0.7)
    mu, sigma = implied_moments(layout, theta)
    ref = sps.multivariate_normal(mu, sigma).logpdf(frame[layout.observed].to_numpy())
    assert pointwise_loglik(st, mu, sigma) == pytest.approx(ref)
    assert loglik_numpy(st, mu, sigma) == pytest.approx(ref.sum())
    # the graph used for sampling computes the same number
    import pytensor
    import pytensor.tensor as pt

    t = pt.vector("theta")
    m, s = implied_moments(layout, t)
    pats = [{"columns": p.columns, "n": p.n, "mean": p.mean, "cov": p.cov} for p in st.patterns]
    f = pytensor.function([t], loglik_tensor(pats, m, s, len(layout.observed)),
                          mode="FAST_COMPILE")
    assert float(f(theta)) == pytest.approx(ref.sum())


def test_fiml_by_pattern_equals_sum_of_marginal_densities():
    frame = _frame(60)
    frame.iloc[::7, 0] = np.nan
    frame.iloc[::5, 4] = np.nan
    layout = build_layout(parse_model(CFA))
    st = sufficient_statistics(frame, layout.observed)
    assert len(st.patterns) >= 3
    theta = np.where(np.char.find(np.array(layout.names), "~1") > 0, 3.0, 0.7)
    mu, sigma = implied_moments(layout, theta)
    Y = frame[layout.observed].to_numpy()
    ref = []
    for row in Y:
        o = ~np.isnan(row)
        ref.append(sps.multivariate_normal(mu[o], sigma[np.ix_(o, o)]).logpdf(row[o]))
    assert pointwise_loglik(st, mu, sigma) == pytest.approx(np.array(ref))
    assert loglik_numpy(st, mu, sigma) == pytest.approx(sum(ref))


def test_collinear_items_are_a_clear_error():
    frame = _frame()
    frame["x3"] = frame["x1"] + frame["x2"]
    with pytest.raises(DataError, match="not positive definite"):
        sufficient_statistics(frame, [f"x{i}" for i in range(1, 7)])


def test_constant_item_and_missing_column():
    frame = _frame()
    frame["x2"] = 4.0
    with pytest.raises(DataError, match="same value in every row"):
        build_model(parse_model(CFA), frame)
    with pytest.raises(DataError, match="no column"):
        build_model(parse_model(CFA + "\nG =~ x7"), _frame())


def test_priors_defaults_overrides_and_sign_anchor():
    spec = parse_model('F =~ x1 + prior("normal(1, 0.2)")*x2 + x3\nG =~ x4 + x5 + x6\nG ~ F',
                       std_lv=True)
    bm = build_model(spec, _frame(), priors={"G~F": "normal(0, 1)"})
    assert bm.priors["F=~x2"] == "normal(1, 0.2)"
    assert bm.priors["G~F"] == "normal(0, 1)"
    # std_lv: the first loading of each factor is the positive sign anchor
    assert bm.priors["F=~x1"].startswith("halfnormal")
    assert bm.priors["G=~x4"].startswith("halfnormal")
    assert bm.priors["G=~x5"].startswith("normal")
    with pytest.raises(ModelError, match="must be positive"):
        build_model(parse_model('F =~ x1 + x2 + x3\nx1 ~~ prior("normal(0, 1)")*x1'), _frame())


def test_model_logp_finite_at_start_and_composites_rejected():
    bm = build_model(parse_model(CFA), _frame())
    point = bm.model.initial_point()
    assert np.isfinite(bm.model.compile_logp(mode="FAST_COMPILE")(point))
    with pytest.raises(ModelError, match="composite"):
        build_model(parse_model("F <~ x1 + x2 + x3\nG =~ x4 + x5 + x6\nG ~ F"), _frame())
    assert isinstance(ModelError("x"), ConnectiveError)


def test_target_accept_outside_0_1_is_a_clear_error():
    from connective.bayes import sample

    bm = build_model(parse_model(CFA), _frame())
    with pytest.raises(ConnectiveError, match=r"target_accept must lie between 0 and 1 "
                                              r"\(e\.g\. 0\.99\); got 99"):
        sample(bm, target_accept=99)  # a percentage where a rate is expected
    assert bm.compiled is None  # refused before anything was compiled


def test_with_data_restarts_the_chains_from_the_new_data():
    """A compiled model reused on new data starts its chains at values computed from those
    data (the same as a model built on them), not at the first data set's."""
    from pymc.initial_point import make_initial_point_fn

    from connective.bayes import build_model, compile_model, sample, with_data

    spec = parse_model("M ~ X\nY ~ M + X")
    rng = np.random.default_rng(5)
    x = rng.normal(size=120)
    m = 0.5 * x + rng.normal(size=120)
    first = pd.DataFrame({"X": x, "M": m, "Y": 0.4 * m + rng.normal(size=120)})
    second = first * 10.0 + 50.0  # same shape, another scale and location
    bm = build_model(spec, first)
    compile_model(bm)
    before = bm.compiled.initial_point_func(0)
    with_data(bm, second)
    fresh = build_model(spec, second)
    point = make_initial_point_fn(model=fresh.model, overrides=fresh.initvals, jitter_rvs=set(),
                                  return_transformed=True)(0)
    expected = np.concatenate([np.ravel(point[fresh.model.rvs_to_values[v].name])
                               for v in fresh.model.free_RVs])
    np.testing.assert_allclose(bm.compiled.initial_point_func(0), expected)
    assert not np.allclose(before, expected)
    idata = sample(bm, draws=300, tune=300, chains=2, seed=3, progress=False)
    intercepts = idata.posterior["parameters"].sel(param=["X~1"]).mean().item()
    assert intercepts == pytest.approx(second["X"].mean(), abs=2.0)
    gaps = second.copy()
    gaps.loc[:2, "X"] = np.nan
    with pytest.raises(ConnectiveError, match="other missingness patterns"):
        with_data(bm, gaps)


def test_higher_order_factors_and_items_in_regressions_build_and_refuse_honestly():
    import pandas as pd

    from connective.bayes import build_model
    from connective.bayes.matrices import build_layout
    from connective.data.simulate import simulate
    from connective.errors import ModelError
    from connective.spec import parse_model

    spec = parse_model("F1 =~ a + b + c\nF2 =~ d + e + f\nG =~ F1 + F2\nG ~ x\nc ~ x")
    layout = build_layout(spec)
    # the second-order loading and the direct effect on c are cells of B, not Lambda
    assert layout.loading_source("F2", "G") == ("param", layout.index("G=~F2"))
    assert layout.params[layout.index("G=~F2")].matrix == "beta"
    assert layout.params[layout.index("F1=~c")].matrix == "beta"
    frame = simulate(spec, 200, seed=2).frame
    bm = build_model(spec, frame)
    # G takes the scale of its marker construct F1, which takes that of its marker item a:
    # the loading of F2 (scale: sd of d) on G gets normal(0, 2.5 sd(d) / sd(a))
    sd = frame[["a", "d"]].std()
    assert bm.priors["G=~F2"] == f"normal(0, {2.5 * sd['d'] / sd['a']:g})"
    point = bm.model.initial_point()
    assert np.isfinite(bm.model.compile_logp()(point))
    # the ordinal model builds (finite log-density at its start) but nutpie cannot start it
    ordinal = simulate(spec, 200, seed=2, likert=5).frame
    obm = build_model(parse_model("F1 =~ a + b + c\nF2 =~ d + e + f\nG =~ F1 + F2"),
                      ordinal, likelihood="ordinal")
    assert np.isfinite(obm.model.compile_logp()(obm.model.initial_point()))
    from connective.bayes import fit

    with pytest.raises(ModelError, match="nutpie cannot start the ordinal likelihood with "
                                         "higher-order factors .G.; use --sampler pymc"):
        fit(spec, ordinal, likelihood="ordinal", draws=10, tune=10, chains=1)
