"""Latent interactions in the Bayesian engine (bayes/interaction.py): the factor scores with
products, the conditional likelihood against numpy, the products' moments against Monte
Carlo, the simulator's population with an interaction, recovery on simulated data (normal
and ordinal items), and the refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.bayes.interaction import (conditional_loglik, implied_moments_with_products,
                                          item_data, latent_scores, product_terms)
from connective.bayes.matrices import build_layout, model_matrices, standardized_solution
from connective.data.simulate import simulate
from connective.errors import ModelError
from connective.spec import parse_model

MODEL = ("CID =~ cid1 + cid2 + cid3\nEFF =~ eff1 + eff2 + eff3\nOCA =~ oca1 + oca2 + oca3\n"
         "OCA ~ b1*CID + b2*EFF + b3*CID:EFF\n")
VALUES = {"values": {"b1": 0.3, "b2": 0.3, "b3": 0.3, "CID ~~ EFF": 0.3}}


def _theta(layout, rng):
    """A parameter vector with positive variances, factor covariances in range."""
    theta = rng.normal(0.3, 0.2, layout.n_params)
    for k, p in enumerate(layout.params):
        if p.kind == "variance":
            theta[k] = rng.uniform(0.5, 1.5)
        elif p.kind == "covariance":
            theta[k] = 0.2
    return theta


def test_scores_numpy_and_pytensor_agree_and_follow_the_equations():
    import pytensor.tensor as pt

    spec = parse_model(MODEL + "EFF ~ CID\n")  # a mediator moderated: EFF is endogenous
    layout = build_layout(spec)
    terms = product_terms(spec, layout)
    rng = np.random.default_rng(1)
    theta, zeta = _theta(layout, rng), rng.normal(size=(5, 3))
    eta = latent_scores(layout, terms, theta, zeta)
    graph = latent_scores(layout, terms, pt.as_tensor(theta), pt.as_tensor(zeta)).eval()
    np.testing.assert_allclose(graph, eta, rtol=1e-12)
    v = dict(zip(layout.names, theta))
    cid, eff = zeta[:, 0], zeta[:, 1] + v["EFF~CID"] * zeta[:, 0]
    oca = zeta[:, 2] + v["OCA~CID"] * cid + v["OCA~EFF"] * eff + v["OCA~CID:EFF"] * cid * eff
    np.testing.assert_allclose(eta, np.column_stack([cid, eff, oca]), rtol=1e-12)


def test_product_moments_match_monte_carlo():
    spec = parse_model(MODEL)
    layout = build_layout(spec)
    theta = _theta(layout, np.random.default_rng(2))
    _, sigma, cov_eta = implied_moments_with_products(spec, layout, theta)
    mats = model_matrices(layout, theta)
    rng = np.random.default_rng(3)
    zeta = rng.multivariate_normal(np.zeros(3), mats["psi"], size=400_000)
    eta = latent_scores(layout, product_terms(spec, layout), theta, zeta)
    np.testing.assert_allclose(np.cov(eta.T), cov_eta, rtol=0.02, atol=0.01)
    std = standardized_solution(spec, layout, theta)
    j = std["names"].index("OCA~CID:EFF")
    sd = np.sqrt(np.diag(cov_eta))
    assert std["std.all"][j] == pytest.approx(theta[layout.index("OCA~CID:EFF")]
                                              * sd[0] * sd[1] / sd[2])


@pytest.mark.parametrize("reparameterize", [False, True])
def test_model_likelihood_is_the_numpy_conditional_likelihood(reparameterize):
    """loglik_respondent of the pm.Model at a point is conditional_loglik of the same
    parameters and of the scores rebuilt from the sampled variables as the marginal
    likelihood rebuilds them (centred scores, the score shift, the sampled metric's scales),
    and the centred scores' potential is the disturbances' normal density."""
    from scipy.stats import multivariate_normal

    from connective.bayes.interaction_marginal import sampled_disturbances

    spec = parse_model(MODEL)
    frame = simulate(spec, 40, values=VALUES, seed=4).frame
    frame.loc[3, "cid2"] = np.nan
    from connective.bayes.model import build_model

    bm = build_model(spec, frame, reparameterize=reparameterize)
    point = bm.model.initial_point()
    rng = np.random.default_rng(8)
    point = {k: v + rng.normal(0, 0.1, np.shape(v)) for k, v in point.items()}
    names = ["parameters", "loglik_respondent", "factor_scales", "score_shift",
             "centred_scores"]
    outputs = bm.model.replace_rvs_by_values([bm.model[n] for n in names])
    values = bm.model.compile_fn(outputs, inputs=bm.model.value_vars,
                                 on_unused_input="ignore")(point)
    theta, ll, scales, shift, potential = (np.asarray(x) for x in values)
    terms = product_terms(spec, bm.layout)
    zeta = sampled_disturbances(bm.layout, terms, theta[None], point["z"][None], scales[None],
                                shift[None])[0]
    eta = latent_scores(bm.layout, terms, theta, zeta)
    np.testing.assert_allclose(eta, (point["z"] + shift) * scales, rtol=1e-10)
    got = conditional_loglik(bm.layout, item_data(frame, bm.layout.observed), theta, eta)
    np.testing.assert_allclose(ll, got, rtol=1e-8)
    psi_std = model_matrices(bm.layout, theta)["psi"] / np.outer(scales, scales)
    density = multivariate_normal(np.zeros(3), psi_std).logpdf(zeta / scales).sum()
    z_prior = -0.5 * np.sum(point["z"] ** 2) - 0.5 * point["z"].size * np.log(2 * np.pi)
    np.testing.assert_allclose(potential, density - z_prior, rtol=1e-10)
    assert bm.priors["OCA~CID:EFF"].startswith("normal(0, ")


def test_simulated_population_carries_the_interaction():
    spec = parse_model(MODEL)
    sim = simulate(spec, 100_000, values=VALUES, seed=5)
    assert sim.population["values"]["OCA~CID:EFF"] == 0.3
    # every variable standardised: the centred product's variance is in OCA's residual
    assert sim.population["values"]["OCA~~OCA"] == pytest.approx(
        1 - (0.09 + 0.09 + 2 * 0.09 * 0.3) - 0.09 * (1 + 0.09), abs=1e-6)
    items = sim.frame.drop(columns="id")
    np.testing.assert_allclose(items.var(), 1.0, atol=0.02)
    np.testing.assert_allclose(items.mean(), 0.0, atol=0.02)
    assert simulate(spec, 10, seed=1).population["values"]["OCA~CID:EFF"] == 0.0


def _interval(result, name="OCA~CID:EFF"):
    table = result.parameters()
    row = table[(table["lhs"] + table["op"] + table["rhs"]) == name].iloc[0]
    return row["std.all.lower"], row["std.all.upper"]


def _fit(n: int, draws: int):
    from connective.bayes import fit

    spec = parse_model(MODEL)
    frame = simulate(spec, n, values=VALUES, seed=11).frame
    return fit(spec, frame, draws=draws, tune=draws, chains=2, seed=11)


@pytest.fixture(scope="module")
def small_fit():
    """N = 194, 2 chains x 200 draws: the end-to-end path, in the fast suite."""
    return _fit(194, 200)


@pytest.fixture(scope="module")
def normal_fits():
    return {194: _fit(194, 300), 1000: _fit(1000, 300)}


@pytest.mark.slow
def test_recovery_normal_items_covers_and_narrows(normal_fits):
    for n, result in normal_fits.items():
        lo, hi = _interval(result)
        assert lo <= 0.3 <= hi, (n, lo, hi)
        assert result.summary()["divergences"] == 0
    lo, hi = _interval(normal_fits[1000])
    assert lo > 0  # N = 1,000 detects a standardised 0.3
    w194, w1000 = (np.subtract(*_interval(normal_fits[n])[::-1]) for n in (194, 1000))
    assert w1000 < 0.7 * w194
    effects = normal_fits[1000].effects()
    assert "OCA~CID:EFF" not in set(effects["effect"])  # effects are the linear part's


@pytest.mark.slow  # an interaction model of its own: about 90 s to compile on a new machine
def test_tables_carry_the_interaction_row(small_fit):
    table = small_fit.parameters()
    row = table[(table["rhs"] == "CID:EFF")].iloc[0]
    assert (row["lhs"], row["op"], row["label"]) == ("OCA", "~", "b3")
    assert np.isfinite(row[["est", "std.all", "r_hat"]].astype(float)).all()
    lo, hi = _interval(small_fit)
    assert lo <= 0.3 <= hi
    assert "not computed: with a latent interaction" in small_fit.summary()["ppp_discrepancy"]


@pytest.mark.slow
def test_recovery_ordinal_items():
    from connective.bayes import fit

    spec = parse_model(MODEL)
    frame = simulate(spec, 1000, values={**VALUES, "likert": {"categories": 7}},
                     seed=12).frame
    result = fit(spec, frame, likelihood="ordinal", draws=300, tune=300, chains=2, seed=12)
    lo, hi = _interval(result)
    assert lo <= 0.3 <= hi and lo > 0


@pytest.mark.parametrize("text, message", [
    ("F =~ a + b + c\nG =~ d + e + f\nY <~ y1 + y2\nY ~ F + G + F:G",
     "composite constructs (Y, written with <~) exist only in PLS"),
    ("F =~ a + b + c\nG =~ d + e + f\nG ~ F + x + F:x",
     "every structural variable must be a factor; x enter(s)"),
    ("F =~ a + b + c\nG =~ d + e + f\nH =~ g + h + i\nG ~ F + H + F:H\na ~~ b",
     "residual covariances between items (a~~b) are not supported with latent interactions"),
])
def test_refusals(text, message):
    from connective.bayes.model import build_model

    spec = parse_model(text, source="m.lav")
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(30, len(spec.observed))),
                         columns=list(spec.observed))
    with pytest.raises(ModelError) as err:
        build_model(spec, frame)
    assert message in str(err.value) and str(err.value).startswith("m.lav")


def test_ordinal_conditional_loglik_is_the_ordinal_models():
    from connective.bayes.ordinal import code_items, ordinal_loglik_numpy

    spec = parse_model(MODEL)
    layout = build_layout(spec)
    frame = simulate(spec, 30, values={**VALUES, "likert": {"categories": 5}}, seed=6).frame
    frame.loc[2, "eff1"] = np.nan
    data = code_items(frame, list(layout.observed))
    rng = np.random.default_rng(7)
    theta = _theta(layout, rng)
    theta[[k for k, p in enumerate(layout.params) if p.matrix == "nu"]] = 0.0
    eta = rng.normal(size=(30, 3))
    cuts = [np.sort(rng.normal(size=len(c) - 1)) for c in data.categories]
    ystar = (eta @ model_matrices(layout, theta)["lambda"].T)[data.rows, data.items]
    np.testing.assert_allclose(conditional_loglik(layout, data, theta, eta, cuts),
                               ordinal_loglik_numpy(data, ystar, cuts), rtol=1e-10)


@pytest.mark.slow
def test_conditional_effects_of_the_draws(small_fit):
    """The Bayesian fit reports the conditional effects of the same effects algebra as PLS:
    per draw, CID -> OCA at EFF = mean +- 1 SD is b_CID + b3 * (+-SD of EFF), the index of
    moderation is b3; standardised, the moderator's SD is 1."""
    post = small_fit.idata.posterior
    fx, par = post["effects"], post["parameters"]
    sd = post["sd_structural"].sel(structural="EFF")
    b1, b3 = par.sel(param="OCA~CID"), par.sel(param="OCA~CID:EFF")
    for sign, at in ((1, "+1 SD"), (-1, "-1 SD")):
        np.testing.assert_allclose(fx.sel(effect=f"CID -> OCA | EFF = {at}"),
                                   b1 + sign * b3 * sd, rtol=1e-10)
    np.testing.assert_allclose(fx.sel(effect="index of moderation CID -> OCA by EFF"), b3)
    std = post["std_all"]
    np.testing.assert_allclose(post["effects_std_all"].sel(effect="CID -> OCA | EFF = +1 SD"),
                               std.sel(std_param="OCA~CID") + std.sel(std_param="OCA~CID:EFF"),
                               rtol=1e-10)


def test_with_new_data_refuses_other_respondents():
    from connective.bayes.interaction import with_new_data
    from connective.bayes.model import build_model
    from connective.errors import ConnectiveError

    spec = parse_model(MODEL)
    bm = build_model(spec, simulate(spec, 30, values=VALUES, seed=1).frame)
    with pytest.raises(ConnectiveError, match="other respondents or other answered cells"):
        with_new_data(bm, simulate(spec, 31, values=VALUES, seed=2).frame)
    holes = simulate(spec, 30, values=VALUES, seed=2).frame
    holes.loc[0, "cid1"] = np.nan
    with pytest.raises(ConnectiveError, match="other respondents or other answered cells"):
        with_new_data(bm, holes)


@pytest.mark.slow  # two compiled models
def test_with_new_data_gives_the_draws_of_a_model_built_on_the_data():
    from connective.bayes import build_model, compile_model, sample
    from connective.bayes.interaction import with_new_data

    spec = parse_model(MODEL)
    first, second = (simulate(spec, 60, values=VALUES, seed=s).frame for s in (1, 2))
    reused = build_model(spec, first)
    compile_model(reused)
    with_new_data(reused, second)
    fresh = build_model(spec, second)
    compile_model(fresh)
    a, b = (sample(bm, draws=30, tune=30, chains=1, seed=3, progress=False)
            for bm in (reused, fresh))
    np.testing.assert_array_equal(a.posterior["parameters"], b.posterior["parameters"])


def test_with_data_routes_an_interaction_model_to_with_new_data():
    """``sample.with_data`` (what ``fit(model=...)`` calls) takes a latent-interaction
    model: other respondents get with_new_data's error, an ordinal one or kept priors a
    clear refusal."""
    from connective.bayes.model import build_model
    from connective.bayes.sample import with_data
    from connective.errors import ConnectiveError

    spec = parse_model(MODEL)
    bm = build_model(spec, simulate(spec, 30, values=VALUES, seed=1).frame)
    with pytest.raises(ConnectiveError, match="other respondents or other answered cells"):
        with_data(bm, simulate(spec, 31, values=VALUES, seed=2).frame)
    with pytest.raises(ConnectiveError, match="only with normal items and its priors rebuilt"):
        with_data(bm, simulate(spec, 30, values=VALUES, seed=2).frame, keep_priors=True)
    second = simulate(spec, 30, values=VALUES, seed=2).frame
    with_data(bm, second)
    fresh = build_model(spec, second)
    np.testing.assert_array_equal(bm.items.values, fresh.items.values)
    np.testing.assert_array_equal(bm.model["item_answers"].get_value(), fresh.items.values)


@pytest.mark.slow  # two compiled models
def test_the_study_runner_reuses_a_compiled_interaction_model():
    """The study's Bayes method compiles an interaction model once per shape: the second
    complete data set of one shape is fitted by the first replication's model, and its
    draws equal those of a model built on it, bit for bit."""
    from connective.bayes import fit
    from connective.studies import methods

    spec = parse_model(MODEL)
    first, second = (simulate(spec, 60, values=VALUES, seed=s).frame for s in (1, 2))
    methods._COMPILED.clear()
    settings = dict(likelihood="normal", draws=30, tune=30, chains=1)
    a = methods._fit_reusing(spec, first, seed=3, **settings)
    b = methods._fit_reusing(spec, second, seed=3, **settings)
    assert b.model is a.model and len(methods._COMPILED) == 1
    fresh = fit(spec, second, seed=3, cores=1, **settings)
    assert fresh.model is not a.model
    np.testing.assert_array_equal(b.idata.posterior["parameters"],
                                  fresh.idata.posterior["parameters"])
    methods._COMPILED.clear()
