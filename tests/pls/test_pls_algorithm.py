"""The algorithm's own properties: fixed points of every scheme, path models with observed
variables, missing-data treatments, quality criteria checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.pls import estimate_pls, example_data
from connective.pls.algorithm import construct_correlations, inner_weights, normalise
from connective.spec import parse_model



@pytest.fixture(scope="module")
def mobi(benchmarks):
    return pd.read_csv(benchmarks / "data" / "mobi.csv")


@pytest.mark.parametrize("scheme", ["path", "centroid", "factorial"])
def test_weights_are_a_fixed_point_of_the_scheme(mobi_spec, mobi, scheme):
    res = estimate_pls(mobi_spec, mobi, scheme=scheme)
    m, R, w = res.model, res.R, res.fit["weights"]
    C = construct_correlations(R, w, m)
    E = inner_weights(C, m, scheme)
    W = w[:, None] * m.membership
    update = normalise(np.sum((R @ W @ E) * m.membership, axis=1), R, m)
    assert np.abs(update - w).max() < 1e-6
    # scores have unit variance and the loadings are their correlations with the items
    scores = res.scores
    assert np.allclose(scores.std(ddof=1), 1.0)
    assert res.outer_loadings.loc["CUSA2", "Satisfaction"] == pytest.approx(
        np.corrcoef(mobi["CUSA2"], scores["Satisfaction"])[0, 1], abs=1e-10)


def test_schemes_differ_but_agree_roughly(mobi_spec, mobi):
    spec = mobi_spec
    path = estimate_pls(spec, mobi).paths["est"]
    for scheme in ("centroid", "factorial"):
        other = estimate_pls(spec, mobi, scheme=scheme).paths["est"]
        diff = (other - path).abs()
        assert 1e-5 < diff.max() < 0.05


def test_observed_path_model_equals_standardised_ols(benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "mediation_sim.csv")
    res = estimate_pls(parse_model("M ~ X\nY ~ M + X"), frame)
    z = (frame - frame.mean()) / frame.std(ddof=1)
    b_m = np.linalg.lstsq(z[["X"]], z["M"], rcond=None)[0]
    b_y = np.linalg.lstsq(z[["M", "X"]], z["Y"], rcond=None)[0]
    assert res.paths.loc[("X", "M"), "est"] == pytest.approx(b_m[0], abs=1e-10)
    assert res.paths.loc[("M", "Y"), "est"] == pytest.approx(b_y[0], abs=1e-10)
    assert res.paths.loc[("X", "Y"), "est"] == pytest.approx(b_y[1], abs=1e-10)
    # no loadings or weights rows for observed variables; the indirect effect is a*b
    params = res.parameters()
    assert set(params["op"]) == {"~", "r2"}
    fx = res.effects().set_index("effect")["est"]
    assert fx["X -> M -> Y"] == pytest.approx(b_m[0] * b_y[0], abs=1e-10)


def test_mean_replacement_and_casewise_deletion(mobi_spec, mobi):
    spec = mobi_spec
    frame = mobi.copy()
    frame.loc[[1, 5, 9], "CUEX2"] = np.nan
    frame.loc[[5, 20], "IMAG4"] = np.nan
    mean = estimate_pls(spec, frame, missing="mean")
    filled = frame.fillna(frame.mean())
    assert mean.n == 250 and mean.data.report["missing_cells"] == 5
    assert np.allclose(mean.fit["weights"], estimate_pls(spec, filled).fit["weights"], atol=1e-12)
    case = estimate_pls(spec, frame, missing="casewise")
    assert case.n == 246 and case.data.report["n_used"] == 246
    assert list(case.scores.index[:3]) == [0, 2, 3]
    dropped = estimate_pls(spec, frame.dropna(subset=["CUEX2", "IMAG4"]))
    assert np.allclose(case.fit["paths"], dropped.fit["paths"], atol=1e-12)
    assert not np.allclose(case.fit["paths"], mean.fit["paths"], atol=1e-4)


def test_unused_and_non_model_columns_are_ignored(mobi_spec, mobi):
    spec = mobi_spec
    frame = mobi.copy()
    frame["comment"] = "text"
    frame["PERQ1"] = np.nan  # not in the model
    a = estimate_pls(spec, frame)
    assert np.allclose(a.fit["weights"], estimate_pls(spec, mobi).fit["weights"])


def test_inner_quality_by_hand(mobi_spec, mobi):
    res = estimate_pls(mobi_spec, mobi)
    scores = res.scores
    # f^2 of Satisfaction -> Loyalty by two regressions on the scores
    def r2(y, xs):
        X = scores[xs].to_numpy()
        b = np.linalg.lstsq(X, scores[y].to_numpy(), rcond=None)[0]
        return 1 - np.var(scores[y] - X @ b) / np.var(scores[y])
    full = r2("Loyalty", ["Image", "Satisfaction"])
    reduced = r2("Loyalty", ["Image"])
    assert res.r_squared.loc["Loyalty", "r2"] == pytest.approx(full, abs=1e-10)
    assert res.paths.loc[("Satisfaction", "Loyalty"), "f2"] == pytest.approx(
        (full - reduced) / (1 - full), abs=1e-10)
    # inner VIF: 1 / (1 - R^2 of Image on Satisfaction)
    rho = np.corrcoef(scores["Image"], scores["Satisfaction"])[0, 1]
    assert res.paths.loc[("Image", "Loyalty"), "vif"] == pytest.approx(1 / (1 - rho**2))
    # outer VIF of PERV1 in a two-item block: 1 / (1 - r^2)
    r = np.corrcoef(mobi["PERV1"], mobi["PERV2"])[0, 1]
    assert res.measurement.loc[("Value", "PERV1"), "vif"] == pytest.approx(1 / (1 - r**2))
    # cross-loadings: correlation of an item with another construct's scores
    assert res.cross_loadings.loc["IMAG1", "Loyalty"] == pytest.approx(
        np.corrcoef(mobi["IMAG1"], scores["Loyalty"])[0, 1], abs=1e-10)


def test_htmt2_uses_geometric_means():
    spec, frame = example_data(300)
    res = estimate_pls(spec, frame)
    R = frame.corr().abs().to_numpy()
    hetero = R[3:, :3].ravel()
    mono_is = R[:3, :3][np.triu_indices(3, 1)]
    mono_ci = R[3:, 3:][np.triu_indices(3, 1)]
    gm = lambda x: np.exp(np.mean(np.log(x)))  # noqa: E731
    assert res.htmt2.loc["CI", "IS"] == pytest.approx(
        gm(hetero) / np.sqrt(gm(mono_is) * gm(mono_ci)), abs=1e-12)
    assert res.htmt.loc["CI", "IS"] == pytest.approx(
        hetero.mean() / np.sqrt(mono_is.mean() * mono_ci.mean()), abs=1e-12)
    assert res.htmt2.loc["CI", "IS"] != pytest.approx(res.htmt.loc["CI", "IS"], abs=1e-4)


def test_parameter_table_layout():
    spec, frame = example_data()
    params = estimate_pls(spec, frame).parameters()
    assert list(params.columns) == ["lhs", "op", "rhs", "est"]
    assert params["op"].value_counts().to_dict() == {"=~": 6, "<~": 6, "~": 1, "r2": 1}
    est = estimate_pls(spec, frame).estimates
    assert est.dims == ("param",) and "CI~IS" in est.param.values and "IS=~is1" in est.param.values


def test_fixed_values_and_covariances_are_noted():
    spec, frame = example_data()
    spec2 = parse_model("IS =~ is1 + is2 + is3\nCI =~ ci1 + ci2 + ci3\nCI ~ 0.5*IS\n"
                        "is1 ~~ ci1")
    res = estimate_pls(spec2, frame)
    assert any("covariance" in n for n in res.notes)
    assert any("CI~IS" in n for n in res.notes)
    assert res.paths["est"].iloc[0] == pytest.approx(
        estimate_pls(spec, frame).paths["est"].iloc[0])
