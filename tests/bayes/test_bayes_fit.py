"""Sampling tests: agreement with lavaan / blavaan on PoliticalDemocracy and mediation_sim."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest


def _reference(benchmarks, case, name):
    ref = pd.read_csv(benchmarks / "reference" / case / name)
    ref["name"] = ref["lhs"] + ref["op"] + ref["rhs"]
    return ref.set_index("name")


def test_poldem_agrees_with_blavaan(poldem_fit, benchmarks):
    """Every posterior mean within 0.3 of blavaan's posterior sd of blavaan's mean (the
    priors differ; Monte Carlo error of both runs is about 0.03 sd)."""
    blav = _reference(benchmarks, "PoliticalDemocracy", "blavaan_posterior.csv")
    ours = poldem_fit.idata.posterior["parameters"].mean(("chain", "draw")).to_series()
    z = (ours.reindex(blav.index) - blav["post_mean"]) / blav["post_sd"]
    assert z.notna().all()
    assert z.abs().max() < 0.3, z.abs().sort_values().tail()


def test_poldem_agrees_with_lavaan(poldem_fit, benchmarks):
    """Loadings and regressions within 10% or 0.1 of lavaan's ML estimates. Variances are
    posterior means of a right-skewed posterior at N = 75 and sit above the ML estimate
    (which divides by N); blavaan's own means miss the 10% band for y1 and y5 too, so they
    are held to 0.6 posterior sd instead."""
    lav = _reference(benchmarks, "PoliticalDemocracy", "PoliticalDemocracy_params.csv")
    table = poldem_fit.parameters()
    table["name"] = table["lhs"] + table["op"] + table["rhs"]
    table = table.set_index("name")
    for name, row in lav.iterrows():
        est, sd = table.loc[name, "est"], table.loc[name, "se"]
        if row["op"] in ("=~", "~"):
            assert abs(est - row["est"]) <= max(0.1, 0.1 * abs(row["est"])), name
        elif row["lhs"] == row["rhs"]:
            assert abs(est - row["est"]) <= 0.6 * sd, name
        # std.all of every parameter close to lavaan's
        assert abs(table.loc[name, "std.all"] - row["std.all"]) < 0.1, name


def test_poldem_diagnostics_and_ppp(poldem_fit):
    s = poldem_fit.summary()
    # at most 1 of 2,000 draws: the y2-y4-y8-y6 cycle of residual covariances curves the
    # posterior; seeds 1-12 at 4 x 500 gave 1 divergence in 24,000 draws (this seed's) with
    # the tape's log-density, 0 with PyTensor's numba code, whose gradient it equals to
    # 1e-15 (tests/bayes/test_tape.py): the chains part at rounding, not the model
    assert s["divergences"] <= 1
    # 4 x 500 draws: R-hat of 42 parameters fluctuates around 1.005; the 1.01 criterion at
    # 1,000 draws over 10 seeds is the slow test in test_convergence.py
    assert s["max_r_hat"] <= 1.015
    assert s["min_ess_bulk"] >= 400
    assert 0.2 < s["ppp"] < 0.8  # blavaan: 0.511
    ll = poldem_fit.idata.log_likelihood["y"]
    assert ll.sizes["respondent"] == 75
    loo = az.loo(poldem_fit.idata)
    assert np.isfinite(loo.elpd_loo)


def test_poldem_effects(poldem_fit):
    fx = poldem_fit.effects().set_index("effect")
    post = poldem_fit.idata.posterior["parameters"]
    a = post.sel(param="dem60~ind60") * post.sel(param="dem65~dem60")
    assert fx.loc["ind60 -> dem60 -> dem65", "est"] == pytest.approx(float(a.mean()), rel=1e-9)
    total = fx.loc["total ind60 -> dem65", "est"]
    direct = fx.loc["ind60 -> dem65", "est"]
    assert total == pytest.approx(direct + float(a.mean()), rel=1e-9)
    assert fx.loc["ind60 -> dem60", "p_positive"] > 0.99


def test_mediation_matches_blavaan(mediation_run, benchmarks):
    blav = pd.read_csv(benchmarks / "reference" / "mediation_sim" / "blavaan_posterior.csv")
    table = pd.read_csv(mediation_run / "parameters.csv")
    ours = table.set_index("label")
    for _, row in blav[blav["label"].notna() & (blav["label"] != "")].iterrows():
        got = ours.loc[row["label"]]
        assert abs(got["est"] - row["post_mean"]) < 0.25 * row["post_sd"], row["label"]
        assert got["se"] == pytest.approx(row["post_sd"], rel=0.15), row["label"]
    fx = pd.read_csv(mediation_run / "effects.csv").set_index("effect")
    assert fx.loc["ind", "ci.lower"] == pytest.approx(0.146, abs=0.02)
    assert fx.loc["ind", "ci.upper"] == pytest.approx(0.346, abs=0.025)
    assert fx.loc["X -> M -> Y", "est"] == pytest.approx(fx.loc["ind", "est"])


def test_cli_outputs_and_provenance(mediation_run):
    cols = pd.read_csv(mediation_run / "parameters.csv").columns.tolist()
    assert cols == ["lhs", "op", "rhs", "label", "exo", "est", "se", "ci.lower", "ci.upper",
                    "std.lv", "std.all", "std.all.se", "std.all.lower", "std.all.upper", "r_hat",
                    "ess_bulk", "ess_tail"]
    fx = pd.read_csv(mediation_run / "effects.csv")
    assert {"effect", "kind", "source", "target", "est", "se", "ci.lower", "ci.upper",
            "p_positive"} <= set(fx.columns)
    summary = json.loads((mediation_run / "summary.json").read_text())
    assert summary["run"]["seed"] == 5 and summary["divergences"] == 0
    assert summary["run"]["data_fingerprint"].startswith("sha256:")
    from connective.bayes import BayesFit

    again = BayesFit.load(mediation_run / "posterior.nc")
    assert again.spec.defined.keys() == {"ind", "total"}
    assert again.effects()["est"].tolist() == pytest.approx(fx["est"].tolist())
    post = again.idata.posterior
    assert post["parameters"].dims == ("chain", "draw", "param")
    assert "M~X" in post.param.to_numpy().tolist()
    assert post.attrs["seed"] == 5


def test_poldem_fit_indices_agree_with_blavaan(poldem_fit, benchmarks):
    """blavFitIndices (devM, pD = p_loo, independence baseline) on PoliticalDemocracy:
    BRMSEA's and BCFI's posterior means within 0.01 of blavaan 0.4-8's. Measured with 4 x
    1,000 draws (seed 7, scripts/fit_indices_vs_blavaan.py): BRMSEA 0.0357 (MCSE 0.0008)
    vs 0.0349, BCFI 0.9908 (0.0003) vs 0.9917; the rest (adjBGammaHat 0.969 vs 0.975) move
    with pD, 40.8 here against about 36 in blavaan (other priors)."""
    from connective.bayes.fit_indices import INDICES, posterior_fit_indices

    blav = pd.read_csv(benchmarks / "reference" / "PoliticalDemocracy"
                       / "blavaan_fit_indices.csv", index_col=0)
    ours = posterior_fit_indices(poldem_fit.idata).set_index("index")
    assert list(ours.index) == list(INDICES)
    for name in ("BRMSEA", "BCFI"):
        assert abs(ours.loc[name, "mean"] - blav.loc[name, "EAP"]) < 0.01, (name, ours.loc[name])
        assert ours.loc[name, "mcse_mean"] < 0.003
    for name in INDICES:  # the others within a quarter of blavaan's posterior SD
        assert abs(ours.loc[name, "mean"] - blav.loc[name, "EAP"]) < 0.25 * blav.loc[name, "SD"] + 0.005
    assert ours.loc["BRMSEA", "lower"] == 0.0 and ours.loc["BCFI", "upper"] == 1.0  # as blavaan
    assert 30 < ours.attrs["pD"] < 45 and 15 < ours.attrs["pD_null"] < 25  # 42 / 22 parameters


def test_fit_indices_are_not_made_up_for_missing_answers(poldem_fit, benchmarks,
                                                         political_democracy_model):
    from connective.bayes.fit_indices import posterior_fit_indices

    idata = poldem_fit.idata.copy()
    del idata.discrepancy["chisq_null"]
    idata.posterior.attrs["fit_indices"] = "not computed: missing answers"
    assert posterior_fit_indices(idata).startswith("No Bayesian fit indices: missing answers")
    idata.posterior.attrs.pop("fit_indices")
    assert "predates" in posterior_fit_indices(idata)
