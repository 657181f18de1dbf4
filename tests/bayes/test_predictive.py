"""The Bayesian predictive counterpart of PLSpredict (bayes/predictive.py): the predictor
sets of both techniques, the conditional means against the model-implied covariance that
connective.moments computes its own way, PSIS-LOO predictive means from the shared
PoliticalDemocracy fit (no new sampling), and (slow) the k-fold refits on data simulated
from the model, whose PLS, LM and Bayes errors must all be near each other."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.bayes.matrices import build_layout
from connective.bayes.predictive import (bayes_counterpart, conditional_means, loo_predict,
                                         predictor_sets, side_by_side)
from connective.bayes.results import parameter_draws
from connective.moments import implied_covariance


def test_predictor_sets(political_democracy_model):
    from connective.spec import parse_model

    spec = parse_model(political_democracy_model)
    sets = {c: (ys, xs) for c, ys, xs in predictor_sets(spec, "EA")}
    assert sets["dem65"] == (["y5", "y6", "y7", "y8"], ["x1", "x2", "x3"])
    da = {c: xs for c, _, xs in predictor_sets(spec, "DA")}
    assert da["dem65"] == ["x1", "x2", "x3", "y1", "y2", "y3", "y4"]
    assert da["dem60"] == ["x1", "x2", "x3", "y5", "y6", "y7", "y8"]


def test_conditional_means_are_the_implied_regression(poldem_fit, benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "PoliticalDemocracy.csv")
    spec = poldem_fit.spec
    theta = parameter_draws(poldem_fit.idata).isel(chain=0, draw=[0, 1]).to_numpy()
    got = conditional_means(spec, theta, frame.iloc[:5], "DA")  # (2, 5, items)
    layout = build_layout(spec)
    for s in range(2):
        values = dict(zip(layout.names, theta[s]))
        sigma = implied_covariance(spec, values)
        mu = {v: values.get(f"{v}~1", 0.0) for v in layout.observed}
        col = 0
        for _, ys, xs in predictor_sets(spec, "DA"):
            S = sigma.sel(row=xs, col=xs).to_numpy()
            C = sigma.sel(row=xs, col=ys).to_numpy()
            dev = frame.iloc[:5][xs].to_numpy() - np.array([mu[x] for x in xs])
            want = np.array([mu[y] for y in ys]) + dev @ np.linalg.solve(S, C)
            np.testing.assert_allclose(got[s, :, col:col + len(ys)], want, atol=1e-8)
            col += len(ys)


def test_psis_loo_predictions_are_out_of_sample(poldem_fit, benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "PoliticalDemocracy.csv")
    loo = loo_predict(poldem_fit, frame, technique="EA")
    theta = parameter_draws(poldem_fit.idata).stack(s=("chain", "draw")).transpose("s", "param")
    inside = conditional_means(poldem_fit.spec, theta.to_numpy(), frame, "EA").mean(0)
    in_rmse = np.sqrt(((loo.actual.to_numpy() - inside) ** 2).mean(0))
    t = loo.table()
    # held out, each respondent is predicted worse than with its own answers in the fit
    assert (t["bayes_rmse"].to_numpy() >= in_rmse - 1e-9).mean() >= 0.75
    assert t["bayes_rmse"].mean() > in_rmse.mean()
    # ... but far better than the mean of the item (ind60 predicts dem65 well)
    assert (t["bayes_rmse"] < loo.actual.std(ddof=0)).all()
    assert loo.pareto_k.shape == (75,) and "PSIS-LOO" in loo.verdict()


@pytest.mark.slow
def test_kfold_refits_agree_with_pls_and_lm_on_simulated_data():
    from connective.pls import estimate_pls, example_data
    from connective.pls.predict import predict_pls

    spec, frame = example_data(200)
    pls = predict_pls(estimate_pls(spec, frame), folds=5, repetitions=1, seed=1)
    bayes = bayes_counterpart(pls, draws=500, tune=500, chains=2, seed=1)
    t = side_by_side(pls, bayes)
    assert len(bayes.fits) == 5 and bayes.fits["rows"].eq(160).all()
    np.testing.assert_allclose(t["bayes_rmse"], t["lm_rmse"], rtol=0.03)
    np.testing.assert_allclose(t["bayes_rmse"], t["pls_rmse"], rtol=0.03)


@pytest.mark.slow
def test_bayes_group_differences_recover_a_known_difference():
    """Two populations with paths 0.2 and 0.7 (common factors, loadings .8/.7/.6): the
    posterior of the standardised difference covers -0.5 and is clearly below 0."""
    from connective.compare.mga import bayes_group_differences
    from connective.pls import estimate_pls, example_data

    spec, _ = example_data(10)
    rng = np.random.default_rng(0)
    frames = []
    for b in (0.2, 0.7):
        eta1 = rng.standard_normal(200)
        eta2 = b * eta1 + np.sqrt(1 - b * b) * rng.standard_normal(200)
        frames.append(pd.DataFrame({f"{name}{k}": lam * eta + np.sqrt(1 - lam**2)
                                    * rng.standard_normal(200)
                                    for name, eta in (("is", eta1), ("ci", eta2))
                                    for k, lam in enumerate((0.8, 0.7, 0.6), start=1)}))
    frame = pd.concat(frames, ignore_index=True)
    res = estimate_pls(spec, frame)
    out = bayes_group_differences(res, np.arange(400) < 200, draws=600, tune=600, chains=2,
                                  seed=3)
    row = out.table().iloc[0]
    assert row["bayes_diff_lower"] < -0.5 < row["bayes_diff_upper"]
    assert row["p_greater"] < 0.01 and out.converged
