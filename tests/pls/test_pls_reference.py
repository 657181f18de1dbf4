"""PLS point estimates against the numbers seminr 2.3.4 and cSEM 0.6.1 print for the same
data and model (shared/benchmarks/REFERENCE.md), to 4 decimals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.pls import estimate_pls
from connective.spec import parse_model

TOL = 5e-5  # "to 4 decimals"


SATISFACTION = """
EXPE ~ IMAG
QUAL ~ EXPE
VAL  ~ EXPE + QUAL
SAT  ~ IMAG + EXPE + QUAL + VAL
LOY  ~ IMAG + SAT
IMAG <~ imag1 + imag2 + imag3
EXPE <~ expe1 + expe2 + expe3
QUAL <~ qual1 + qual2 + qual3 + qual4 + qual5
VAL  <~ val1  + val2  + val3
SAT  =~ sat1  + sat2  + sat3  + sat4
LOY  =~ loy1  + loy2  + loy3  + loy4
"""


@pytest.fixture(scope="module")
def mobi5(mobi_spec, benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "mobi.csv")
    return estimate_pls(mobi_spec, frame), benchmarks / "reference" / "seminr_mobi5"


@pytest.fixture(scope="module")
def satisfaction(benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "satisfaction.csv")
    return (estimate_pls(parse_model(SATISFACTION), frame),
            benchmarks / "reference" / "cSEM_satisfaction")


def _matrix(path):
    return pd.read_csv(path, index_col=0)


def test_mobi5_paths_match_seminr(mobi5):
    res, ref = mobi5
    expected = _matrix(ref / "mobi5_path_coef_matrix.csv")
    got = res.path_matrix.loc[expected.index, expected.columns]
    assert np.abs(got.to_numpy() - expected.to_numpy()).max() < TOL
    # and the published rounded figures of REFERENCE.md
    assert res.paths.loc[("Image", "Expectation"), "est"] == pytest.approx(0.506526, abs=TOL)
    assert res.paths.loc[("Satisfaction", "Loyalty"), "est"] == pytest.approx(0.510962, abs=TOL)


def test_mobi5_r2_match_seminr(mobi5):
    res, ref = mobi5
    expected = _matrix(ref / "mobi5_paths_R2.csv")
    for c in expected.columns:
        assert res.r_squared.loc[c, "r2"] == pytest.approx(expected.loc["R^2", c], abs=TOL)
        assert res.r_squared.loc[c, "adj_r2"] == pytest.approx(expected.loc["AdjR^2", c], abs=TOL)


@pytest.mark.parametrize("table, attr", [("mobi5_outer_loadings.csv", "outer_loadings"),
                                         ("mobi5_outer_weights.csv", "outer_weights")])
def test_mobi5_measurement_match_seminr(mobi5, table, attr):
    res, ref = mobi5
    expected = _matrix(ref / table)
    got = getattr(res, attr).loc[expected.index, expected.columns]
    assert np.abs(got.to_numpy() - expected.to_numpy()).max() < TOL


def test_mobi5_reliability_matches_seminr(mobi5):
    res, ref = mobi5
    expected = _matrix(ref / "mobi5_reliability.csv")
    got = res.reliability.loc[expected.index, expected.columns]
    assert np.abs(got.to_numpy(dtype=float) - expected.to_numpy()).max() < TOL


def test_mobi5_htmt_and_fornell_larcker_match_seminr(mobi5):
    res, ref = mobi5
    expected = _matrix(ref / "mobi5_htmt.csv")
    got = res.htmt.loc[expected.index, expected.columns].to_numpy()
    mask = np.isfinite(expected.to_numpy())
    assert mask.sum() == 10
    assert np.array_equal(np.isfinite(got), mask)
    assert np.abs(got[mask] - expected.to_numpy()[mask]).max() < TOL
    fl = _matrix(ref / "mobi5_fornell_larcker.csv")
    got = res.fornell_larcker.loc[fl.index, fl.columns].to_numpy()
    mask = np.isfinite(fl.to_numpy())
    assert np.abs(got[mask] - fl.to_numpy()[mask]).max() < TOL


def test_mobi5_effects_match_seminr(mobi5):
    res, ref = mobi5
    fx = res.effects().set_index("effect")["est"]
    specific = pd.read_csv(ref / "mobi5_specific_indirect.csv")
    assert len(specific) == 10
    for row in specific.itertuples():
        assert fx[row.effect] == pytest.approx(row.original, abs=TOL)
    totals = _matrix(ref / "mobi5_total_effects.csv")
    for s in totals.index:
        for t in totals.columns:
            if totals.loc[s, t] != 0:
                assert fx[f"total {s} -> {t}"] == pytest.approx(totals.loc[s, t], abs=TOL)


def test_satisfaction_paths_and_r2_match_csem(satisfaction):
    res, ref = satisfaction
    paths = pd.read_csv(ref / "satisfaction_pls_paths.csv")
    assert len(paths) == 10
    for row in paths.itertuples():
        target, source = (s.strip() for s in row.Name.split("~"))
        assert res.paths.loc[(source, target), "est"] == pytest.approx(row.Estimate, abs=TOL)
    r2 = pd.read_csv(ref / "satisfaction_pls_R2.csv", index_col=0)
    assert np.abs(res.r_squared.loc[r2.index, "r2"] - r2["R2"]).max() < TOL
    assert np.abs(res.r_squared.loc[r2.index, "adj_r2"] - r2["R2_adj"]).max() < TOL


@pytest.mark.parametrize("table, column, op", [("satisfaction_pls_loadings.csv", "loading", "=~"),
                                               ("satisfaction_pls_weights.csv", "weight", "<~")])
def test_satisfaction_mixed_modes_match_csem(satisfaction, table, column, op):
    """Mode B (<~) blocks IMAG, EXPE, QUAL, VAL and mode A (=~) blocks SAT, LOY together."""
    res, ref = satisfaction
    expected = pd.read_csv(ref / table)
    assert len(expected) == 22
    got = res.measurement[column]
    for row in expected.itertuples():
        construct, item = (s.strip() for s in row.Name.split(op))
        assert got[(construct, item)] == pytest.approx(row.Estimate, abs=TOL)
    assert res.model.modes == ("B", "B", "B", "B", "A", "A")


def test_satisfaction_quality_matches_csem(satisfaction):
    res, ref = satisfaction
    rel = pd.read_csv(ref / "satisfaction_pls_reliability.csv", index_col=0)
    got = res.reliability
    assert np.abs(got.loc[rel.index, "alpha"] - rel["cronbach_alpha"]).max() < TOL
    assert np.abs(got.loc[rel.index, "rhoC"] - rel["joereskog_rhoC"]).max() < TOL
    assert np.abs(got.loc[rel.index, "AVE"] - rel["AVE"]).max() < TOL
    htmt = pd.read_csv(ref / "satisfaction_pls_htmt.csv", index_col=0)
    assert list(res.htmt.index) == ["SAT", "LOY"]  # only the mode A blocks
    assert res.htmt.loc["LOY", "SAT"] == pytest.approx(htmt.loc["LOY", "SAT"], abs=TOL)


def test_satisfaction_effects_match_csem(satisfaction):
    res, ref = satisfaction
    fx = res.effects().set_index("effect")["est"]
    specific = pd.read_csv(ref / "satisfaction_pls_specific_indirect.csv")
    for row in specific.itertuples():
        assert fx[row.effect] == pytest.approx(row.estimate, abs=TOL)
    total = pd.read_csv(ref / "satisfaction_pls_total_effect.csv")
    for row in total.itertuples():
        target, source = (s.strip() for s in row.Name.split("~"))
        assert fx[f"total {source} -> {target}"] == pytest.approx(row.Estimate, abs=TOL)
