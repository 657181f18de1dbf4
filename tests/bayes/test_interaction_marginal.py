"""The marginal per-respondent log-likelihood of latent-interaction fits
(bayes/interaction_marginal.py): against a brute-force integral written without the module's
pieces (the outcome's disturbance integrated analytically, the two exogenous factors by
Gauss-Hermite quadrature), and the sampled disturbances rebuilt from a model's variables
reproduce its conditional log-likelihood."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

from connective.bayes.interaction import item_data
from connective.bayes.interaction_marginal import interaction_marginal, sampled_disturbances
from connective.bayes.matrices import build_layout, model_matrices
from connective.data.simulate import simulate
from connective.spec import parse_model

MODEL = ("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nY =~ y1 + y2 + y3\n"
         "Y ~ b_a*A + b_b*B + g*A:B\n")
VALUES = {"values": {"b_a": 0.3, "b_b": 0.2, "g": 0.4, "A ~~ B": 0.3}}


def _theta(layout):
    given = {"A=~a2": 0.8, "A=~a3": 1.1, "B=~b2": 0.9, "B=~b3": 0.7, "Y=~y2": 1.2,
             "Y=~y3": 0.8, "Y~A": 0.3, "Y~B": 0.2, "Y~A:B": 0.5, "A~~A": 1.0, "B~~B": 0.8,
             "Y~~Y": 0.6, "A~~B": 0.3, "a1~1": 0.1, "b2~1": -0.2, "y1~1": 0.3}
    return np.array([given.get(n, 0.5 if "~~" in n else 0.0) for n in layout.names])


def _brute_force(layout, theta, Y, nodes=150):
    """log p(y_i | theta): A and B by 2-D Gauss-Hermite quadrature; given them, Y's items
    are multivariate normal with Y's disturbance integrated out."""
    v = dict(zip(layout.names, theta))
    mats = model_matrices(layout, theta)
    lam, nu, th = mats["lambda"], mats["nu"], np.diag(mats["theta"])
    x, w = np.polynomial.hermite.hermgauss(nodes)
    gx, gy = np.meshgrid(x, x, indexing="ij")
    u = np.sqrt(2) * np.column_stack([gx.ravel(), gy.ravel()])
    with np.errstate(divide="ignore"):  # nodes far out have weight 0
        logw = np.log(np.outer(w, w).ravel() / np.pi)
    ab = u @ np.linalg.cholesky(mats["psi"][:2, :2]).T
    a, b = ab[:, 0], ab[:, 1]
    mean_y = v["Y~A"] * a + v["Y~B"] * b + v["Y~A:B"] * a * b
    cov_y = np.outer(lam[6:, 2], lam[6:, 2]) * v["Y~~Y"] + np.diag(th[6:])
    out = []
    for row in Y:
        lp = (norm.logpdf(row[:3, None], nu[:3, None] + lam[:3, :1] * a, np.sqrt(th[:3, None])).sum(0)
              + norm.logpdf(row[3:6, None], nu[3:6, None] + lam[3:6, 1:2] * b,
                            np.sqrt(th[3:6, None])).sum(0)
              + multivariate_normal(np.zeros(3), cov_y).logpdf(
                  row[6:] - nu[6:] - lam[6:, 2][None, :] * mean_y[:, None]))
        out.append(logsumexp(lp + logw))
    return np.array(out)


def test_marginal_agrees_with_a_brute_force_integral():
    spec = parse_model(MODEL)
    layout = build_layout(spec)
    theta = _theta(layout)
    frame = simulate(spec, 6, values=VALUES, seed=3).frame
    Y = frame[list(layout.observed)].to_numpy()
    brute = _brute_force(layout, theta, Y)
    np.testing.assert_allclose(brute, _brute_force(layout, theta, Y, nodes=200), atol=1e-8)
    data = item_data(frame, list(layout.observed))
    bm = SimpleNamespace(layout=layout, spec=spec, items=data, ordinal=None)
    # "sampled" disturbances: each respondent's posterior by resampling prior draws
    psi = model_matrices(layout, theta)["psi"]
    rng = np.random.default_rng(5)
    prior = rng.multivariate_normal(np.zeros(3), psi, size=40_000)
    from connective.bayes.interaction import conditional_loglik, latent_scores, product_terms

    eta = latent_scores(layout, product_terms(spec, layout), theta, prior)
    ll = conditional_loglik(layout, data, theta, np.broadcast_to(eta[:, None, :],
                                                                  (len(prior), 6, 3)))
    picks = [rng.choice(len(prior), 300, p=np.exp(c - logsumexp(c))) for c in ll.T]
    zeta = np.stack([prior[p] for p in picks], axis=1)  # (300, n, 3)
    # in the sampled metric of normal items: centred scores z = eta / s - h
    scales = np.array([1.3, 0.7, 1.1])
    shift = np.array([0.2, -0.1, 0.05])
    S = len(zeta)  # draws, every one with the same theta
    thetas = np.broadcast_to(theta, (S, len(theta)))
    z = latent_scores(layout, product_terms(spec, layout), theta, zeta) / scales - shift
    terms = product_terms(spec, layout)
    np.testing.assert_allclose(sampled_disturbances(layout, terms, thetas, z,
                                                    np.tile(scales, (S, 1)),
                                                    np.tile(shift, (S, 1))), zeta, atol=1e-10)
    # every draw the same theta: the proposal is the pooled sampled scores
    out = interaction_marginal(bm, thetas, z, np.tile(scales, (S, 1)), np.tile(shift, (S, 1)),
                               nodes=4096, seed=2)
    assert np.ptp(out.loglik, axis=0).max() == 0  # the same points for every draw
    assert out.mcse.max() < 5e-3
    # within 3.5 estimated Monte Carlo SEs (the brute force is exact to 1e-8)
    assert np.all(np.abs(out.loglik[0] - brute) < 3.5 * out.mcse[0])


@pytest.mark.slow  # two models of their own: about 2 minutes on 2 cores
def test_loo_ranks_the_models_with_and_without_the_interaction(tmp_path):
    """`connective loo` takes an interaction fit without --conditional (its stored
    log-likelihood is the marginal one), and with a true interaction of 0.4 it ranks the
    model with the product above the one without, with good Pareto k."""
    from connective.bayes import fit
    from connective.compare.loo import compare_loo

    spec = parse_model(MODEL)
    frame = simulate(spec, 300, values=VALUES, seed=12).frame
    without = parse_model(MODEL.replace(" + g*A:B", ""))
    for name, model in (("with", spec), ("without", without)):
        fit(model, frame, draws=300, tune=300, chains=2, seed=4).save(tmp_path / name)
    table = compare_loo({"with": tmp_path / "with", "without": tmp_path / "without"})
    table = table.set_index("model")
    assert table.at["with", "loglik"] == "marginal"
    assert table.index[0] == "with"  # ranked first
    assert table.at["with", "pareto_k_above_0.7"] <= 0.02 * 300
    assert table.at["with", "conditional_k>0.7"] > 0.3 * 300  # what the conditional one did
    assert table.attrs["marginal_error"]["with"] < 0.2
    # --conditional ranks (and names) the log-likelihood given the sampled scores (the
    # model without the product sampled none: the fit against itself)
    given = compare_loo({"with": tmp_path / "with", "again": tmp_path / "with"},
                        conditional=True).set_index("model")
    assert (given["loglik"] == "conditional").all()
    assert given.at["with", "pareto_k_above_0.7"] > 0.3 * 300


def _brute_force_ordinal(layout, theta, odata, cuts, nodes=60, nodes_y=40):
    """log p(answers_i | theta) with ordered-probit items: A and B by 2-D Gauss-Hermite
    quadrature, Y's disturbance by 1-D Gauss-Hermite (no closed form with probit items)."""
    v = dict(zip(layout.names, theta))
    mats = model_matrices(layout, theta)
    lam, nu = mats["lambda"], mats["nu"]
    x, w = np.polynomial.hermite.hermgauss(nodes)
    gx, gy = np.meshgrid(x, x, indexing="ij")
    u = np.sqrt(2) * np.column_stack([gx.ravel(), gy.ravel()])
    ab = u @ np.linalg.cholesky(mats["psi"][:2, :2]).T
    xy, wy = np.polynomial.hermite.hermgauss(nodes_y)
    zy = np.sqrt(2 * v["Y~~Y"]) * xy
    a = np.repeat(ab[:, 0], nodes_y)
    b = np.repeat(ab[:, 1], nodes_y)
    y = v["Y~A"] * a + v["Y~B"] * b + v["Y~A:B"] * a * b + np.tile(zy, len(ab))
    with np.errstate(divide="ignore"):
        logw = np.log(np.repeat(np.outer(w, w).ravel() / np.pi, nodes_y)
                      * np.tile(wy / np.sqrt(np.pi), len(ab)))
    eta = np.column_stack([a, b, y])
    ystar = eta @ lam.T + nu  # (points, 9)
    out = np.zeros(odata.n)
    for i in range(odata.n):
        lp = logw.copy()
        for j, c in zip(odata.items[odata.rows == i], odata.codes[odata.rows == i]):
            hi = np.inf if c == len(cuts[j]) else cuts[j][c]
            lo = -np.inf if c == 0 else cuts[j][c - 1]
            lp += np.log(np.maximum(norm.cdf(hi - ystar[:, j]) - norm.cdf(lo - ystar[:, j]),
                                    1e-300))
        out[i] = logsumexp(lp)
    return out


def test_ordinal_marginal_agrees_with_a_brute_force_integral():
    """Ordinal items: three draws with different parameters, each with its own sampled
    disturbances; the per-draw proposal (Newton mode of the ordered probit given the draw)
    integrates every (draw, respondent) to within 3.5 estimated SEs of a brute-force
    quadrature written without the module's pieces."""
    from connective.bayes.interaction import conditional_loglik, latent_scores, product_terms
    from connective.bayes.interaction_marginal import cutpoint_lists
    from connective.bayes.ordinal import code_items

    spec = parse_model(MODEL)
    layout = build_layout(spec)
    terms = product_terms(spec, layout)
    frame = simulate(spec, 12, values=VALUES, seed=3, likert=3).frame
    odata = code_items(frame, list(layout.observed))
    rng = np.random.default_rng(8)
    base = _theta(layout)
    S = 3
    thetas = np.array([base + np.where([("=~" in n or "~" in n and "~~" not in n)
                                        for n in layout.names],
                                       rng.normal(0, 0.1, len(base)), 0.0) for _ in range(S)])
    K = odata.n_categories
    cuts = np.sort(rng.normal(0, 0.8, (S, int((K - 1).sum()))).reshape(S, -1), axis=1)
    cuts = np.array([np.concatenate([np.sort(c) for c in cutpoint_lists(row, K)])
                     for row in cuts])
    scales = np.array([1.3, 0.7, 1.1])
    zs = []
    for s in range(S):  # one sampled disturbance per respondent, from its posterior given s
        psi = model_matrices(layout, thetas[s])["psi"]
        prior = rng.multivariate_normal(np.zeros(3), psi, size=5_000)
        eta = latent_scores(layout, terms, thetas[s], prior)
        ll = conditional_loglik(layout, odata, thetas[s],
                                np.broadcast_to(eta[:, None, :], (len(prior), odata.n, 3)),
                                cutpoint_lists(cuts[s], K))
        zeta = np.stack([prior[rng.choice(len(prior), p=np.exp(c - logsumexp(c)))]
                         for c in ll.T])  # (n, 3)
        chol = np.linalg.cholesky(psi / np.outer(scales, scales))
        zs.append(np.linalg.solve(scales[:, None] * chol, zeta.T).T)
    z = np.stack(zs)
    bm = SimpleNamespace(layout=layout, spec=spec, items=None, ordinal=odata)
    out = interaction_marginal(bm, thetas, z, np.tile(scales, (S, 1)), thresholds=cuts,
                               nodes=1024, seed=2)
    for s in range(S):
        brute = _brute_force_ordinal(layout, thetas[s], odata, cutpoint_lists(cuts[s], K))
        assert np.all(np.abs(out.loglik[s] - brute) < 3.5 * out.mcse[s] + 1e-6), s
    assert out.mcse.max() < 0.05  # the pooled proposal: 0.98, and 6 off the integral
