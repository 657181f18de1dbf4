"""Single-item constructs written as lavaan writes them (``Complaints =~ CUSCO``), against
seminr's ``single_item("CUSCO")`` on mobi (``reference/seminr_mobi_extras/mobi_single_item_*``,
made by ``make_reference.R`` there), to 1e-4; and the corporate-reputation model of the PLS
primer (Hair et al.), whose CUSA is a single item, on its own data with -99 for missing."""

from __future__ import annotations

import pandas as pd
import pytest

from connective.pls import estimate_pls
from connective.spec import parse_model

TOL = 1e-4


#: the PLS primer's corporate reputation model (Hair et al. 2022, ch. 2; seminr's demo)
CORP_REP = """
QUAL =~ qual_1 + qual_2 + qual_3 + qual_4 + qual_5 + qual_6 + qual_7 + qual_8
PERF =~ perf_1 + perf_2 + perf_3 + perf_4 + perf_5
CSOR =~ csor_1 + csor_2 + csor_3 + csor_4 + csor_5
ATTR =~ attr_1 + attr_2 + attr_3
COMP =~ comp_1 + comp_2 + comp_3
LIKE =~ like_1 + like_2 + like_3
CUSA =~ cusa
CUSL =~ cusl_1 + cusl_2 + cusl_3
COMP ~ QUAL + PERF + CSOR + ATTR
LIKE ~ QUAL + PERF + CSOR + ATTR
CUSA ~ COMP + LIKE
CUSL ~ COMP + LIKE + CUSA
"""


@pytest.fixture(scope="module")
def mobi(benchmarks, mobi_single_model):
    frame = pd.read_csv(benchmarks / "data" / "mobi.csv")
    ref = benchmarks / "reference" / "seminr_mobi_extras"
    return estimate_pls(parse_model(mobi_single_model), frame), ref


def test_paths_match_seminr(mobi):
    result, ref = mobi
    table = pd.read_csv(ref / "mobi_single_item_paths.csv", index_col=0)
    paths = result.paths["est"]
    compared = 0
    for target in table.columns:
        for source, value in table[target].drop(["R^2", "AdjR^2"]).dropna().items():
            assert paths.loc[(source, target)] == pytest.approx(value, abs=TOL)
            compared += 1
    assert compared == 12
    r2 = result.r_squared["r2"]
    for target in table.columns:
        assert r2.loc[target] == pytest.approx(table.loc["R^2", target], abs=TOL)


@pytest.mark.parametrize("what, attr", [("loadings", "outer_loadings"),
                                        ("weights", "outer_weights")])
def test_loadings_and_weights_match_seminr(mobi, what, attr):
    result, ref = mobi
    table = pd.read_csv(ref / f"mobi_single_item_{what}.csv", index_col=0)
    ours = getattr(result, attr)
    for construct in table.columns:
        for item, value in table[construct].items():
            if value != 0:
                assert ours.loc[item, construct] == pytest.approx(value, abs=TOL), (item, construct)
    # the single item: weight and loading 1, as seminr's single_item() and SmartPLS
    assert ours.loc["CUSCO", "Complaints"] == pytest.approx(1.0, abs=1e-12)


def test_reliability_matches_seminr_and_marks_the_single_item(mobi):
    result, ref = mobi
    table = pd.read_csv(ref / "mobi_single_item_reliability.csv", index_col=0)
    rel = result.reliability
    for construct, row in table.iterrows():
        for col in ("alpha", "rhoC", "AVE", "rhoA"):
            assert rel.loc[construct, col] == pytest.approx(row[col], abs=TOL), (construct, col)
    notes = " ".join(result.notes)
    assert "Complaints" in notes and "single-item" in notes and "not informative" in notes


def test_corporate_reputation_model_of_the_pls_primer_runs_unchanged(benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "corp_rep_data.csv").replace(-99, float("nan"))
    result = estimate_pls(parse_model(CORP_REP), frame, missing="mean")
    assert result.outer_loadings.loc["cusa", "CUSA"] == pytest.approx(1.0, abs=1e-12)
    # the primer's Table 5.x (seminr demo): CUSA -> CUSL about .50, LIKE -> CUSA about .44
    assert result.paths.loc[("CUSA", "CUSL"), "est"] == pytest.approx(0.505, abs=0.02)
    assert result.paths.loc[("LIKE", "CUSA"), "est"] == pytest.approx(0.436, abs=0.02)
