"""Interactions of constructs in PLS (``Satisfaction ~ ... + Image:Expectation``).

* seminr's moderation demo on mobi (``reference/seminr_mobi_extras/mobi_interaction_*``,
  made by ``make_reference.R`` there: ``interaction_term(iv = "Image", moderator =
  "Expectation" / "Value", method = two_stage | product_indicator | orthogonal, weights =
  mode_A)``): every path, R^2 and adjusted R^2 to 1e-4, for the three methods;
* a bootstrap replicate equals the estimate on the resampled rows (the products, and
  two-stage's stage one, are rebuilt per replicate);
* a general model: an observed moderator, a moderated first stage of a mediation, a
  quadratic term; the product-indicator construct of two single items is their product;
* the held-out model, the PLS-SEM primer's moderation (models/corp_rep_moderation.lav:
  formative drivers, a single item, moderator SC): two-stage equals the two stages done by
  hand; against seminr once ``fixtures/seminr_primer_moderation.R`` has made its numbers;
* bad inputs: PLSc, an unknown method, a construct only in a product.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connective.errors import ConnectiveError
from connective.pls import bootstrap_pls, estimate_pls
from connective.pls.bootstrap import _model_correlations, _replicate_stats
from connective.resources import model_path
from connective.spec import parse_model, read_model

TOL = 1e-4
METHODS = ("two_stage", "product_indicator", "orthogonal")

MOBI_MODERATION = """
Image        =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation  =~ CUEX1 + CUEX2 + CUEX3
Value        =~ PERV1 + PERV2
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Satisfaction ~ Image + Expectation + Value + Image:Expectation + Image:Value
"""


@pytest.fixture(scope="module")
def mobi(benchmarks):
    return pd.read_csv(benchmarks / "data" / "mobi.csv")


@pytest.mark.parametrize("method", METHODS)
def test_three_methods_reproduce_seminr(mobi, benchmarks, method):
    ref = pd.read_csv(benchmarks / "reference" / "seminr_mobi_extras" /
                      f"mobi_interaction_{method}_paths.csv", index_col=0)["Satisfaction"]
    res = estimate_pls(parse_model(MOBI_MODERATION), mobi, interaction=method)
    got = {s.replace(":", "*"): v for (s, _), v in res.paths["est"].items()}
    got["R^2"] = res.r_squared.loc["Satisfaction", "r2"]
    got["AdjR^2"] = res.r_squared.loc["Satisfaction", "adj_r2"]
    assert set(got) == set(ref.index)
    for name, value in ref.items():
        assert got[name] == pytest.approx(value, abs=TOL), name
    # the product term carries the model's parameter name (as the Bayesian engine's)
    assert "Satisfaction~Image:Expectation" in res.estimates.param.values
    assert res.settings["interaction"] == method


@pytest.mark.parametrize("method", METHODS)
def test_bootstrap_replicate_is_the_estimate_on_resampled_rows(mobi, method):
    spec = parse_model(MOBI_MODERATION)
    res = estimate_pls(spec, mobi, interaction=method)
    idx = np.random.default_rng(5).integers(0, len(mobi), len(mobi))
    refit = estimate_pls(spec, mobi.iloc[idx].reset_index(drop=True), interaction=method)
    counts = np.bincount(idx, minlength=len(mobi))[None].astype(float)
    opts = dict(scheme="path", consistent=False, tol=1e-7, max_iter=300)
    R, sds = _model_correlations(res, counts, res.data.X, None, opts)
    stats, _ = _replicate_stats(res, R, opts, None, column_sd=sds)
    assert np.abs(stats["params"][0] - refit.estimates.values).max() < 1e-10


def test_bootstrap_intervals_of_the_product_term(mobi):
    res = estimate_pls(parse_model(MOBI_MODERATION), mobi)
    boot = bootstrap_pls(res, 200, seed=3, bca=True)
    row = boot.parameters(method="bca").query("rhs == 'Image:Expectation' and op == '~'").iloc[0]
    assert row["ci.lower"] < row["est"] < row["ci.upper"] and row["se"] > 0
    assert boot.failed == 0


def _moderation_data(n=400, seed=11):
    """X -> M (moderated by W) -> Y, with an observed group variable g moderating X -> Y."""
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(n), rng.standard_normal(n)
    g = rng.integers(0, 2, n).astype(float)
    m = 0.4 * x + 0.2 * w + 0.3 * x * w + 0.7 * rng.standard_normal(n)
    y = 0.4 * m + 0.2 * x + 0.25 * x * (g - 0.5) + 0.7 * rng.standard_normal(n)
    cols = {"g": g}
    for name, eta in (("x", x), ("w", w), ("m", m), ("y", y)):
        for k in (1, 2, 3):
            cols[f"{name}{k}"] = 0.8 * eta + 0.6 * rng.standard_normal(n)
    return pd.DataFrame(cols)


GENERAL = """
X =~ x1 + x2 + x3
W =~ w1 + w2 + w3
M =~ m1 + m2 + m3
Y =~ y1 + y2 + y3
M ~ X + W + a3*X:W
Y ~ M + X + g + X:g
"""


@pytest.mark.parametrize("method", METHODS)
def test_general_model_several_products_observed_moderator(method):
    frame = _moderation_data()
    res = estimate_pls(parse_model(GENERAL), frame, interaction=method)
    paths = res.paths["est"]
    # the simulated products are positive: every method finds them so
    assert paths[("X:W", "M")] > 0.1 and paths[("X:g", "Y")] > 0.05
    # two-stage by hand: stage one's scores, their products as observed variables in
    # stage two; seminr's scale divides the product's standardised path by its SD
    if method == "two_stage":
        lines = GENERAL.strip().splitlines()[:4]
        base = estimate_pls(parse_model("\n".join(lines) + "\nM ~ X + W\nY ~ M + X + g"),
                            frame)
        s = base.scores
        by_hand = frame.assign(xw=(s["X"] * s["W"]).to_numpy(),
                               xg=(s["X"] * s["g"]).to_numpy())
        two = estimate_pls(parse_model("\n".join(lines) + "\nM ~ X + W + xw\n"
                                       "Y ~ M + X + g + xg"), by_hand)
        assert paths[("X:W", "M")] == pytest.approx(
            two.paths.loc[("xw", "M"), "est"] / by_hand["xw"].std(ddof=1), abs=1e-8)
        assert paths[("X:g", "Y")] == pytest.approx(
            two.paths.loc[("xg", "Y"), "est"] / by_hand["xg"].std(ddof=1), abs=1e-8)
        assert paths[("X", "M")] == pytest.approx(two.paths.loc[("X", "M"), "est"], abs=1e-8)


def test_single_item_product_indicator_is_the_product():
    frame = _moderation_data()
    spec = parse_model("X =~ x1\nW =~ w1\nY =~ y1\nY ~ X + W + X:W")
    res = estimate_pls(spec, frame, interaction="product_indicator")
    z = (frame - frame.mean()) / frame.std(ddof=1)
    prod = z["x1"] * z["w1"]
    D = np.column_stack([z["x1"], z["w1"], prod - prod.mean()])
    beta = np.linalg.lstsq(D, z["y1"].to_numpy(), rcond=None)[0]
    assert res.paths.loc[("X:W", "Y"), "est"] == pytest.approx(beta[2], abs=1e-10)


def test_quadratic_term():
    frame = _moderation_data()
    frame["y1"] = frame["x1"] + 0.5 * frame["x1"] ** 2
    res = estimate_pls(parse_model("X =~ x1 + x2\nY =~ y1\nY ~ X + X^2"), frame,
                       interaction="product_indicator")
    assert ("X:X", "Y") in res.paths.index and res.paths.loc[("X:X", "Y"), "est"] > 0.1
    assert res.model.interaction.products[0].columns == ("x1:x1", "x1:x2", "x2:x2")


def test_plsc_with_products_is_refused(mobi):
    with pytest.raises(ConnectiveError, match="--consistent.*not defined.*product term"):
        estimate_pls(parse_model(MOBI_MODERATION), mobi, consistent=True)


def test_unknown_method_is_refused(mobi):
    with pytest.raises(ConnectiveError, match="unknown interaction method 'stage2'.*"
                                              "--interaction-method"):
        estimate_pls(parse_model(MOBI_MODERATION), mobi, interaction="stage2")


def test_construct_only_in_a_product_is_refused(mobi):
    spec = parse_model("Image =~ IMAG1 + IMAG2\nValue =~ PERV1 + PERV2\n"
                       "Satisfaction =~ CUSA1 + CUSA2\nSatisfaction ~ Image + Image:Value")
    with pytest.raises(ConnectiveError, match="Value enters the product term Image:Value but "
                                              "no path of its own.*Satisfaction ~ Value"):
        estimate_pls(spec, mobi)


MODERATED_MEDIATION = MOBI_MODERATION.replace(
    "+ Image:Expectation + Image:Value", "+ b3*Image:Expectation") + """
Loyalty =~ CUSL1 + CUSL2 + CUSL3
Loyalty ~ b*Satisfaction + Image
imm := b3*b
"""


def test_labelled_product_in_a_defined_parameter_is_the_index(mobi):
    res = estimate_pls(parse_model(MODERATED_MEDIATION), mobi)
    fx = res.effects().set_index("effect")["est"]
    index = "index of moderated mediation Image -> Satisfaction -> Loyalty by Expectation"
    assert fx["imm"] == pytest.approx(fx[index], abs=1e-12)
    b3 = res.paths.loc[("Image:Expectation", "Satisfaction"), "est"]
    assert fx["index of moderation Image -> Satisfaction by Expectation"] == pytest.approx(b3)
    # scores are standardised: the moderator's mean is 0, its SD 1
    a1 = res.paths.loc[("Image", "Satisfaction"), "est"]
    assert fx["Image -> Satisfaction | Expectation = +1 SD"] == pytest.approx(a1 + b3)


def test_pls_command_writes_conditional_effects_with_intervals(tmp_path, benchmarks):
    from connective.cli import main

    model = tmp_path / "moderated.lav"
    model.write_text(MODERATED_MEDIATION)
    out = tmp_path / "run"
    code = main(["pls", str(model), "--data", str(benchmarks / "data" / "mobi.csv"), "--out",
                 str(out), "--boot", "100", "--seed", "2", "--quiet",
                 "--interaction-method", "product_indicator"])
    assert code == 0
    fx = pd.read_csv(out / "effects.csv").set_index("effect")
    row = fx.loc["Image -> Satisfaction -> Loyalty | Expectation = +1 SD"]
    assert row["kind"] == "conditional_indirect"
    assert row["ci.lower"] < row["est"] < row["ci.upper"]
    params = pd.read_csv(out / "parameters.csv")
    assert ((params["op"] == "~") & (params["rhs"] == "Image:Expectation")).sum() == 1
    assert "CUEX1:IMAG1" not in set(params["rhs"]) and "IMAG1:CUEX1" in set(params["rhs"])


# -- the held-out model: the PLS-SEM primer's moderation (Hair et al. 2021, ch. 7) ----------

PRIMER_REFERENCE = Path(__file__).parent / "fixtures" / "seminr_primer_moderation"


@pytest.fixture(scope="module")
def corp_rep(benchmarks):
    from connective.data.readers import read_survey

    frame = read_survey(benchmarks / "data" / "corp_rep_data.csv").frame
    frame = frame.replace(-99, np.nan)
    return frame.fillna(frame.mean(numeric_only=True))  # seminr's mean_replacement


def test_primer_moderation_two_stage_by_hand(corp_rep):
    """Formative drivers (mode B), a single item, the moderator SC: two-stage equals stage
    one's CUSA and SC scores multiplied and entered as an observed variable in stage two."""
    spec = read_model(model_path("corp_rep_moderation"))
    res = estimate_pls(spec, corp_rep)
    plain = spec.text.replace(" + w*CUSA:SC", "").replace("imm_like := a*w", "")
    s = estimate_pls(parse_model(plain), corp_rep).scores
    by_hand = corp_rep.assign(cusa_sc=(s["CUSA"] * s["SC"]).to_numpy())
    two = estimate_pls(parse_model(plain.replace("+ SC\n", "+ SC + cusa_sc\n")), by_hand)
    for (src, tgt), est in res.paths["est"].items():
        if src == "CUSA:SC":
            assert est == pytest.approx(two.paths.loc[("cusa_sc", tgt), "est"]
                                        / by_hand["cusa_sc"].std(ddof=1), abs=1e-8)
        else:
            assert est == pytest.approx(two.paths.loc[(src, tgt), "est"], abs=1e-8), (src, tgt)
    assert res.r_squared.loc["CUSL", "r2"] == pytest.approx(two.r_squared.loc["CUSL", "r2"])
    fx = res.effects().set_index("effect")["est"]
    assert fx["imm_like"] == pytest.approx(
        fx["index of moderated mediation LIKE -> CUSA -> CUSL by SC"], abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_primer_moderation_reproduces_seminr(corp_rep, method):
    ref_file = PRIMER_REFERENCE / f"primer_moderation_{method}_paths.csv"
    if not ref_file.is_file():
        pytest.skip("seminr's numbers are not made yet: run "
                    "tests/pls/fixtures/seminr_primer_moderation.R where seminr is installed")
    ref = pd.read_csv(ref_file, index_col=0)
    res = estimate_pls(read_model(model_path("corp_rep_moderation")), corp_rep,
                       interaction=method)
    for (src, tgt), est in res.paths["est"].items():
        assert est == pytest.approx(ref.loc[src.replace(":", "*"), tgt], abs=TOL), (src, tgt)


def test_observed_product_is_a_product_of_standardised_variables():
    """y ~ x1 + g + x1:g with observed x1, g: the product of the standardised variables,
    seminr-scaled, i.e. the OLS coefficient of the centred product of z-scores."""
    frame = _moderation_data()
    frame["x"] = frame["x1"]
    res = estimate_pls(parse_model("Y =~ y1 + y2\nY ~ x + g + x:g"), frame)
    z = (frame - frame.mean()) / frame.std(ddof=1)
    base = estimate_pls(parse_model("Y =~ y1 + y2\nY ~ x + g"), frame)
    # stage two re-weights Y with the product in its inner model: use its scores
    y = res.scores["Y"].to_numpy()
    prod = (z["x"] * z["g"]).to_numpy()
    D = np.column_stack([z["x"], z["g"], prod - prod.mean()])
    beta = np.linalg.lstsq(D, y, rcond=None)[0]
    assert res.paths.loc[("x:g", "Y"), "est"] == pytest.approx(beta[2], abs=1e-10)
    assert res.paths.loc[("x", "Y"), "est"] == pytest.approx(beta[0], abs=1e-10)
    assert base.paths.loc[("x", "Y"), "est"] != pytest.approx(beta[0], abs=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_scores_of_an_interaction_model_have_the_fitted_correlations(mobi, method):
    res = estimate_pls(parse_model(MOBI_MODERATION), mobi, interaction=method)
    scores = res.scores
    assert "Image:Expectation" in scores.columns
    np.testing.assert_allclose(np.corrcoef(scores.to_numpy(), rowvar=False),
                               res.fit["scores_corr"], atol=1e-10)


def test_interaction_terms_have_no_reliability_or_htmt(mobi):
    res = estimate_pls(parse_model(MOBI_MODERATION), mobi, interaction="product_indicator")
    assert "Image:Expectation" not in res.reliability.index
    assert "Image:Expectation" not in res.htmt.index
    assert "Image:Expectation" not in res.fornell_larcker.index
    assert list(res.reliability.index) == ["Image", "Expectation", "Value", "Satisfaction"]


def test_analyses_after_estimation_refuse_products(mobi):
    from connective.pls.ipma import ipma_pls
    from connective.pls.mga import mga_pls
    from connective.pls.micom import micom_pls
    from connective.pls.predict import predict_pls

    res = estimate_pls(parse_model(MOBI_MODERATION), mobi)
    groups = (mobi["CUEX1"] < 8).to_numpy()
    for call in (lambda: predict_pls(res), lambda: mga_pls(res, groups),
                 lambda: micom_pls(res, groups), lambda: ipma_pls(res, "Satisfaction")):
        with pytest.raises(ConnectiveError, match="does not handle the product term"):
            call()
