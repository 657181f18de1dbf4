"""A measurement-only model (lavaan's 3-factor CFA on HolzingerSwineford1939, with its
equality-constraint example's shared label) through every command: validate, fit, pls,
compare, report and loo.

Wave 1 (commit 0d589bb): ``fit`` failed after sampling in effects.py ("the model has no
effects of kinds ..."), ``pls`` refused the model ("the construct(s) visual, textual, speed
take part in no structural path").
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from connective.cli import main

CFA = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
#: lavaan's equality-constraint example (also in the conformance suite: one compiled model)
EQUAL = (Path(__file__).parent / "lavaan_reference" / "hs_equal.lav").read_text()
ORTHOGONAL = "# options: orthogonal = TRUE\n" + CFA


@pytest.fixture(scope="module")
def runs(tmp_path_factory, benchmarks):
    root = tmp_path_factory.mktemp("cfa")
    data = benchmarks / "data" / "HolzingerSwineford1939.csv"
    (root / "cfa.lav").write_text(EQUAL)
    (root / "orth.lav").write_text(ORTHOGONAL)
    small = ["--draws", "300", "--tune", "300", "--chains", "2", "--seed", "5"]
    codes = {
        "validate": main(["validate", str(root / "cfa.lav"), "--data", str(data)]),
        "fit": main(["fit", str(root / "cfa.lav"), "--data", str(data), "--out",
                     str(root / "fit"), "--quiet", *small]),
        "fit_orth": main(["fit", str(root / "orth.lav"), "--data", str(data), "--out",
                          str(root / "orth"), "--quiet", *small]),
        "pls": main(["pls", str(root / "cfa.lav"), "--data", str(data), "--out",
                     str(root / "pls"), "--boot", "200", "--quiet"]),
        "plsc": main(["pls", str(root / "cfa.lav"), "--data", str(data), "--out",
                      str(root / "plsc"), "--boot", "200", "--consistent", "--quiet"]),
    }
    codes["compare"] = main(["compare", "--runs", str(root / "fit"), str(root / "pls"),
                             str(root / "plsc"), "--out", str(root / "compare")])
    codes["report"] = main(["report", str(root / "fit")])
    codes["loo"] = main(["loo", str(root / "fit"), str(root / "orth"), "--out",
                         str(root / "loo.csv")])
    return root, codes


def test_every_command_succeeds(runs):
    _, codes = runs
    assert codes == dict.fromkeys(codes, 0)


def test_fit_has_an_empty_effects_table_that_says_why(runs):
    root, _ = runs
    assert pd.read_csv(root / "fit" / "effects.csv").empty
    params = pd.read_csv(root / "fit" / "parameters.csv")
    r = params[(params["lhs"] == "visual") & (params["op"] == "~~") & (params["rhs"] == "textual")]
    assert 0.3 < float(r["std.all"].iloc[0]) < 0.6  # lavaan: 0.465
    report = (root / "fit" / "report" / "report.md").read_text()
    assert "No effects: the model has no regressions and no := parameters" in report


def test_compare_sets_loadings_and_factor_correlations_side_by_side(runs):
    root, _ = runs
    table = pd.read_csv(root / "compare" / "comparison.csv")
    assert set(table["kind"]) == {"loading", "correlation"}
    corr = table.set_index("effect").loc["visual~~textual"]
    # PLS composites correlate less than common factors (attenuation); PLSc corrects it
    assert corr["PLS_est"] < corr["bayes_est"]
    assert abs(corr["PLSc_est"] - corr["bayes_est"]) < 0.1
    assert len(table) == 9 + 3


def test_loo_prefers_correlated_factors(runs):
    root, _ = runs
    table = pd.read_csv(root / "loo.csv")
    # lavaan: chi-square 85.3 on 24 df correlated, 153.5 on 27 df orthogonal
    assert table.iloc[0]["model"] == "fit" and table.iloc[0]["elpd_diff"] == 0
    worse = table.iloc[1]
    assert worse["model"] == "orth" and worse["elpd_diff"] > 2 * worse["dse"]


def test_validate_prints_the_degrees_of_freedom(capsys, benchmarks, tmp_path):
    model = tmp_path / "m.lav"
    model.write_text(CFA)
    main(["validate", str(model), "--data", str(benchmarks / "data" / "HolzingerSwineford1939.csv")])
    out = capsys.readouterr().out
    assert "df = 24" in out  # lavaan's df of this CFA
    assert "No effects: the model has no regressions" in out


def test_pls_measurement_model_reports_construct_correlations(runs):
    root, _ = runs
    params = pd.read_csv(root / "pls" / "parameters.csv")
    corr = params[params["op"] == "~~"]
    assert len(corr) == 3 and (corr["ci.lower"] < corr["est"]).all()
    summary = json.loads((root / "pls" / "summary.json").read_text())
    assert any("measurement-only model" in n for n in summary["notes"])
