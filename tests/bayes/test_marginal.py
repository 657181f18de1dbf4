"""The marginal per-respondent log-likelihood of ordinal fits: against a brute-force Monte
Carlo integral (10^6 draws of the factor scores from their prior) and the multivariate
normal rectangle probability; the sampled scores' metric reproduces the fit's conditional
log-likelihood; and PSIS-LOO on it has good Pareto k where the conditional one has not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from connective.bayes.marginal import (OrdinalPieces, log_mean_exp, marginal_loglik,
                                       ordinal_conditional, ordinal_laplace)
from connective.bayes.ordinal import OrdinalData

LAMBDA = np.array([[1.0, 0], [0.8, 0], [1.2, 0], [0, 1.0], [0, 0.7], [0, 0.9]])
PSI = np.array([[1.0, 0.4], [0.4, 0.8]])
CUTS = np.array([-1.0, 0.0, 1.2])
#: every item answered on 4 categories; respondents answering 3 items (a brute-force mean
#: over the prior is precise to 3e-4 with 10^6 draws only for so few answers) and all 6
FEW = np.array([[1, 2, 0, 3, 0, 0], [0, 4, 3, 0, 2, 0], [2, 0, 0, 2, 0, 2], [3, 3, 0, 0, 0, 4]])
ALL = np.array([[1, 2, 2, 3, 4, 3], [4, 4, 3, 1, 2, 1], [2, 1, 2, 2, 3, 2]])


def _pieces(answers=FEW):
    rows, items = np.nonzero(answers)
    odata = OrdinalData(list("abcdef"), len(answers), rows, items, answers[rows, items] - 1,
                        [[1.0, 2.0, 3.0, 4.0]] * 6)
    p, K = LAMBDA.shape[0], 4
    lower = np.full((1, p, K), -np.inf)
    upper = np.full((1, p, K), np.inf)
    lower[0, :, 1:] = CUTS
    upper[0, :, :-1] = CUTS
    pieces = OrdinalPieces(np.arange(2), LAMBDA[None], np.full((1, p), 0.1), PSI[None],
                           lower, upper)
    return odata, pieces


def test_marginal_agrees_with_a_brute_force_integral():
    odata, pieces = _pieces()
    conditional = ordinal_conditional(pieces, odata)
    # brute force: 2^20 (about 10^6) factor scores from their prior, the same for every
    # respondent, as 8 scrambled Sobol sequences (their spread is the reference's own error)
    from scipy.stats import norm, qmc

    chol = np.linalg.cholesky(PSI)
    means = []
    for k in range(8):
        u = qmc.Sobol(2, scramble=True, seed=k).random_base2(17)
        eta = norm.ppf(u) @ chol.T
        means.append(log_mean_exp(conditional(0, np.broadcast_to(eta, (odata.n, *eta.shape)))))
    means = np.array(means)
    brute, brute_se = means.mean(axis=0), means.std(axis=0, ddof=1) / np.sqrt(8)
    assert brute_se.max() < 2e-4  # the reference is itself good to 1e-3
    rng = np.random.default_rng(7)
    # the proposal starts from "sampled scores": draws around the Laplace approximation
    start, cov = ordinal_laplace(pieces, odata)(0, np.zeros((odata.n, 2)))
    scores = np.stack([rng.multivariate_normal(m, c, size=400) for m, c in zip(start, cov)],
                      axis=1)
    out = marginal_loglik(np.zeros((1, 2)), PSI[None], conditional, scores,
                          refine=ordinal_laplace(pieces, odata), nodes=65536, seed=3)
    assert out.mcse.max() < 5e-4
    np.testing.assert_allclose(out.loglik[0], brute, atol=1e-3)


def test_marginal_agrees_with_the_rectangle_probability():
    """All 6 answers: the probability that the latent responses y* ~ N(0.1, Lambda Psi
    Lambda' + I) fall in the answers' intervals (Genz's algorithm, scipy)."""
    odata, pieces = _pieces(ALL)
    rng = np.random.default_rng(2)
    refine = ordinal_laplace(pieces, odata)
    out = marginal_loglik(np.zeros((1, 2)), PSI[None], ordinal_conditional(pieces, odata),
                          np.zeros((10, odata.n, 2)), refine=refine, nodes=65536, seed=3)
    sigma = LAMBDA @ PSI @ LAMBDA.T + np.eye(6)
    edges = np.concatenate([[-np.inf], CUTS, [np.inf]])
    for i, answers in enumerate(ALL):
        p = multivariate_normal(np.full(6, 0.1), sigma).cdf(
            edges[answers], lower_limit=edges[answers - 1], rng=rng)
        assert out.loglik[0, i] == pytest.approx(np.log(p), abs=2e-3)


def test_default_nodes_report_an_error_they_keep():
    """With the default 64 points the reported Monte Carlo SE bounds the actual error."""
    odata, pieces = _pieces()
    conditional = ordinal_conditional(pieces, odata)
    refine = ordinal_laplace(pieces, odata)
    scores = np.zeros((10, odata.n, 2))
    exact = marginal_loglik(np.zeros((1, 2)), PSI[None], conditional, scores, refine=refine,
                            nodes=8192, seed=1).loglik[0]
    errors, ses = [], []
    for seed in range(20):
        out = marginal_loglik(np.zeros((1, 2)), PSI[None], conditional, scores, refine=refine,
                              seed=seed)
        errors.append(out.loglik[0] - exact)
        ses.append(out.mcse[0])
    errors, ses = np.array(errors), np.array(ses)
    assert np.abs(errors).max() < 0.05
    # the reported SEs are the errors' size (an SE from 32 pairs of skewed weights is a
    # little optimistic: 84% of the errors fall within 2 SEs here, not 95%)
    assert (np.abs(errors) < 2 * ses).mean() > 0.8
    assert 0.7 < np.sqrt(np.mean(errors ** 2) / np.mean(ses ** 2)) < 1.5


@pytest.fixture(scope="module")
def small_ordinal_fit():
    from connective.bayes import build_model, compile_model, sample
    from connective.data.simulate import simulate
    from connective.spec import parse_model

    spec = parse_model("F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ b*F")
    # test_ordinal.py's data: nutpie's compiled callbacks (which hold the answers) are shared
    sim = simulate(spec, 300, seed=3, likert=5)
    frame = sim.frame[list(spec.observed)].astype(float)
    frame = frame.mask(np.random.default_rng(4).random(frame.shape) < 0.05)
    bm = build_model(spec, frame, likelihood="ordinal")
    compile_model(bm)
    idata = sample(bm, draws=150, tune=200, chains=2, seed=3)
    return bm, idata


def test_sampled_scores_reproduce_the_conditional_loglik(small_ordinal_fit):
    from connective.bayes.marginal import ordinal_pieces, ordinal_scores

    bm, idata = small_ordinal_fit
    post = idata.posterior
    theta = post["parameters"].to_numpy().reshape(300, -1)
    pieces = ordinal_pieces(bm.layout, theta, post["thresholds"].to_numpy().reshape(300, -1),
                            bm.ordinal.n_categories)
    z = post["z"].transpose("chain", "draw", "respondent", "structural").to_numpy()
    zeta = ordinal_scores(bm.layout, theta, z.reshape(300, *z.shape[2:]),
                          post["factor_scales"].to_numpy().reshape(300, -1), pieces.free)
    cond = ordinal_conditional(pieces, bm.ordinal)
    stored = post["loglik_respondent"].to_numpy().reshape(300, -1)
    for s in (0, 149, 299):
        np.testing.assert_allclose(cond(s, zeta[s][:, None, :])[:, 0], stored[s], rtol=1e-6)


def test_loo_on_the_marginal_has_good_pareto_k(small_ordinal_fit):
    import arviz as az

    from connective.bayes.results import CONDITIONAL_GROUP, augment

    bm, idata = small_ordinal_fit
    idata = augment(idata.copy(), bm, seed=3)
    assert idata.posterior.attrs["loglik"] == "marginal"
    marginal = az.loo(idata, pointwise=True)
    conditional = az.loo(az.InferenceData(posterior=idata.posterior,
                                          log_likelihood=idata[CONDITIONAL_GROUP]),
                         pointwise=True)
    assert (marginal.pareto_k > 0.7).mean() < 0.05
    assert (conditional.pareto_k > 0.7).mean() > 0.3
    # the marginal is a probability of the answers, below the conditional's optimism
    assert marginal.elpd_loo < 0 and marginal.p_loo < conditional.p_loo


def test_loo_command_ranks_the_marginal_and_shows_the_conditional_k(small_ordinal_fit, tmp_path,
                                                                     capsys):
    from connective.bayes.results import BayesFit, augment
    from connective.cli import main
    from connective.compare.loo import compare_loo

    bm, idata = small_ordinal_fit
    fitted = BayesFit(augment(idata.copy(), bm, seed=3), bm.spec)
    for name in ("a", "b"):  # the same fit twice: the ranking is a tie, the k are not
        fitted.save(tmp_path / name)
    table = compare_loo({"a": tmp_path / "a", "b": tmp_path / "b"}).set_index("model")
    assert (table["loglik"] == "marginal").all()
    assert (table["conditional_k>0.7"] > 0.3 * 300).all()
    assert (table["pareto_k_above_0.7"] < 0.05 * 300).all()
    assert (table[["k<=0.5", "0.5<k<=0.7", "0.7<k<=1", "k>1"]].sum(axis=1) == 300).all()
    ranked = compare_loo({"a": tmp_path / "a", "b": tmp_path / "b"}, conditional=True)
    assert (ranked["loglik"] == "conditional").all()
    assert (ranked["pareto_k_above_0.7"] > 0.3 * 300).all()
    assert main(["loo", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "marginal log-likelihood integrated with a Monte Carlo SE of at most" in \
        capsys.readouterr().out


def test_respondents_of_groups_integrate_with_their_groups_loadings():
    """Hierarchical models (OrdinalPieces.group): each respondent's marginal is the rectangle
    probability under their own group's loadings and intercepts."""
    import dataclasses

    odata, pieces = _pieces(ALL)
    other = LAMBDA * np.array([0.5, 1.5])  # group 1's loadings
    grouped = dataclasses.replace(pieces, loadings=np.stack([LAMBDA, other])[None],
                                  intercepts=np.array([[np.full(6, 0.1), np.full(6, -0.3)]]),
                                  group=np.array([1, 0, 1]))
    out = marginal_loglik(np.zeros((1, 2)), PSI[None], ordinal_conditional(grouped, odata),
                          np.zeros((10, odata.n, 2)), refine=ordinal_laplace(grouped, odata),
                          nodes=65536, seed=3)
    edges = np.concatenate([[-np.inf], CUTS, [np.inf]])
    rng = np.random.default_rng(2)
    for i, answers in enumerate(ALL):
        g = grouped.group[i]
        L, c = (LAMBDA, 0.1) if g == 0 else (other, -0.3)
        p = multivariate_normal(np.full(6, c), L @ PSI @ L.T + np.eye(6)).cdf(
            edges[answers], lower_limit=edges[answers - 1], rng=rng)
        assert out.loglik[0, i] == pytest.approx(np.log(p), abs=2e-3)


@pytest.mark.slow  # a hierarchical ordinal model of its own (one compilation)
def test_hierarchical_ordinal_fits_store_the_marginal():
    """An ordinal fit with --group integrates each respondent's scores under their group's
    parameters: the groups' loadings on z at the population's values imply the population's
    covariance of the latent responses; LOO's k on the marginal are good where the
    conditional one's are not."""
    import arviz as az

    from connective.bayes import fit
    from connective.bayes.marginal import grouped_ordinal_pieces, ordinal_pieces
    from connective.bayes.results import CONDITIONAL_GROUP
    from connective.data.simulate import simulate
    from connective.spec import parse_model

    spec = parse_model("F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ F")
    values = {"values": {"G ~ F": 0.3},
              "groups": {"column": "unit", "names": [f"u{i}" for i in range(6)],
                         "sizes": [40] * 6, "path_sd": 0.1}}
    sim = simulate(spec, 240, values=values, seed=8, likert=5)
    result = fit(spec, sim.frame, likelihood="ordinal", group="unit", draws=200, tune=200,
                 chains=2, seed=3)
    idata, bm = result.idata, result.model
    assert idata.posterior.attrs["loglik"] == "marginal"
    # the algebra of the groups' loadings, at the population's parameters
    theta = idata.posterior["parameters"].isel(chain=0, draw=0).to_numpy()
    extra = bm.group_layout.n_params - bm.layout.n_params
    theta_g = np.concatenate([theta, np.zeros(extra)])[None, None]
    cuts = idata.posterior["thresholds"].isel(chain=0, draw=0).to_numpy()[None]
    scales = np.array([[1.3, 0.7]])
    grouped = grouped_ordinal_pieces(bm.group_layout, theta_g, scales, cuts,
                                     bm.ordinal.n_categories, np.zeros(1, dtype=int))
    plain = ordinal_pieces(bm.layout, theta[None], cuts, bm.ordinal.n_categories)
    L, P = plain.loadings[0], plain.psi[0]
    np.testing.assert_allclose(grouped.loadings[0, 0] @ grouped.loadings[0, 0].T,
                               L @ P @ L.T, atol=1e-10)
    np.testing.assert_allclose(grouped.intercepts[0, 0], plain.intercepts[0], atol=1e-10)
    marginal = az.loo(idata, pointwise=True).pareto_k.values
    conditional = az.loo(az.InferenceData(posterior=idata.posterior,
                                          log_likelihood=idata[CONDITIONAL_GROUP]),
                         pointwise=True).pareto_k.values
    assert (marginal > 0.7).mean() < 0.05 < 0.5 < (conditional > 0.7).mean()
    # a trace streamed to disk gets it too, from the store: the same numbers
    import importlib

    from connective.bayes import sample
    from connective.bayes.results import STREAMED_MARGINAL, ordinal_marginal_draws

    module = importlib.import_module("connective.bayes.sample")
    kept = sample(bm, draws=20, tune=20, chains=2, seed=4, progress=False)
    limit, module.STREAM_BYTES = module.STREAM_BYTES, 0
    try:
        streamed = sample(bm, draws=20, tune=20, chains=2, seed=4, progress=False)
    finally:
        module.STREAM_BYTES = limit
    in_memory = ordinal_marginal_draws(kept.posterior, bm, seed=4 + 15485863)
    np.testing.assert_array_equal(
        streamed.posterior[STREAMED_MARGINAL[0]].values.reshape(40, -1), in_memory.loglik)
