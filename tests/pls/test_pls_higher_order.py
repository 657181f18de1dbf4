"""Higher-order constructs in PLS (``Satisfaction =~ Image + Value``).

* two-stage: seminr's demo model on mobi, ``higher_composite("Satisfaction", dimensions =
  c("Image", "Value"), method = two_stage, weights = mode_A)``
  (``reference/seminr_mobi_extras/mobi_higher_order_*``, made by ``make_reference.R``
  there): every loading, weight, path and R^2 to 1e-4;
* repeated indicators: the reference is the same model written out by hand as the approach
  defines it (Becker, Klein & Wetzels 2012: the higher-order construct measured by all
  items of its dimensions, paths from it to each dimension), estimated by the engine that
  reproduces seminr on ordinary models (tests/pls/test_pls_seminr.py);
* the stage-two correlations derived from stage one's weights equal the correlations of
  the actual stage-one scores; the bootstrap re-estimates stage one on every replicate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.errors import ConnectiveError
from connective.pls import bootstrap_pls, estimate_pls
from connective.pls.higher_order import stage_two_correlations
from connective.spec import parse_model

TOL = 1e-4

FIRST_ORDER = """
Image        =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation  =~ CUEX1 + CUEX2 + CUEX3
Quality      =~ PERQ1 + PERQ2 + PERQ3 + PERQ4 + PERQ5 + PERQ6 + PERQ7
Value        =~ PERV1 + PERV2
Complaints   =~ CUSCO
Loyalty      =~ CUSL1 + CUSL2 + CUSL3
"""
STRUCTURE = """
Satisfaction ~ Expectation + Quality
Complaints   ~ Satisfaction
Loyalty      ~ Satisfaction
"""
MOBI_HO = FIRST_ORDER + "Satisfaction =~ Image + Value\n" + STRUCTURE

#: repeated indicators written out by hand
MOBI_REPEATED = (FIRST_ORDER + "Satisfaction =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5 + "
                 "PERV1 + PERV2\nImage ~ Satisfaction\nValue ~ Satisfaction\n" + STRUCTURE)


@pytest.fixture(scope="module")
def mobi(benchmarks):
    return pd.read_csv(benchmarks / "data" / "mobi.csv")


def _reference(benchmarks, what: str) -> pd.DataFrame:
    return pd.read_csv(benchmarks / "reference" / "seminr_mobi_extras" /
                       f"mobi_higher_order_{what}.csv", index_col=0)


def test_two_stage_reproduces_seminr(mobi, benchmarks):
    res = estimate_pls(parse_model(MOBI_HO), mobi)
    est = res.parameters().set_index(["lhs", "op", "rhs"])["est"]
    compared = 0
    for what, op in (("loadings", "=~"), ("weights", "<~")):
        ref = _reference(benchmarks, what)
        for construct in ref.columns:
            for item, value in ref[construct].items():
                if value != 0:
                    assert est[(construct, op, item)] == pytest.approx(value, abs=TOL), \
                        (construct, op, item)
                    compared += 1
    paths = _reference(benchmarks, "paths")
    for target in paths.columns:
        for source, value in paths[target].dropna().items():
            if source == "R^2":
                assert est[(target, "r2", target)] == pytest.approx(value, abs=TOL)
            elif source != "AdjR^2":
                assert est[(target, "~", source)] == pytest.approx(value, abs=TOL)
            else:
                assert res.r_squared.loc[target, "adj_r2"] == pytest.approx(value, abs=TOL)
            compared += 1
    assert compared == 23 * 2 + 4 + 6  # every loading and weight, path, R^2, adjusted R^2
    # effects run through the higher-order construct to its dimensions
    fx = res.effects().set_index("effect")["est"]
    assert fx["Quality -> Satisfaction -> Image"] == pytest.approx(
        est[("Satisfaction", "~", "Quality")] * est[("Satisfaction", "=~", "Image")])


def test_stage_two_correlations_are_those_of_the_stage_one_scores(mobi):
    res = estimate_pls(parse_model(MOBI_HO), mobi)
    first = res.first_stage
    scores = first.scores
    columns = [scores[c] if c in scores.columns else
               pd.Series(first.data.X[:, first.model.columns.index(c)], index=scores.index)
               for c in res.model.columns]
    direct = np.corrcoef(np.column_stack(columns), rowvar=False)
    derived = stage_two_correlations(first.R, first.fit["weights"], first.model, res.model)
    np.testing.assert_allclose(derived, direct, atol=1e-12)
    np.testing.assert_allclose(res.R, direct, atol=1e-12)
    # the stage-two model's own reliabilities use these correlations: Loyalty's items are
    # the same as in seminr's ordinary mobi model, so its alpha is seminr's there
    assert res.reliability.loc["Loyalty", "alpha"] == pytest.approx(0.472398962898381, abs=TOL)


def test_the_bootstrap_re_estimates_stage_one(mobi):
    spec = parse_model(MOBI_HO)
    boot = bootstrap_pls(estimate_pls(spec, mobi), 60, seed=5, bca=False)
    # stage one alone, bootstrapped with the same seed, draws the same rows: the
    # dimensions' loadings must have the same replicates
    stage_one = estimate_pls(parse_model(FIRST_ORDER + """
Image ~ Expectation + Quality
Value ~ Expectation + Quality
Complaints ~ Image + Value
Loyalty ~ Image + Value
"""), mobi)
    alone = bootstrap_pls(stage_one, 60, seed=5, bca=False)
    a = boot.replicates["params"].sel(param="Image=~IMAG1").values
    b = alone.replicates["params"].sel(param="Image=~IMAG1").values
    np.testing.assert_allclose(a, b, atol=1e-12)
    assert np.std(a) > 0.005
    sat = boot.replicates["params"].sel(param="Satisfaction=~Image").values
    assert 0.01 < np.std(sat) < 0.1


def test_repeated_indicators_equal_the_model_written_out(mobi):
    spec = parse_model(MOBI_HO)
    res = estimate_pls(spec, mobi, higher_order="repeated")
    hand = estimate_pls(parse_model(MOBI_REPEATED), mobi)
    ours = res.parameters().set_index(["lhs", "op", "rhs"])["est"]
    theirs = hand.parameters().set_index(["lhs", "op", "rhs"])["est"]
    # the paths Satisfaction -> Image, Value are the higher-order loadings
    renamed = {("Image", "~", "Satisfaction"): ("Satisfaction", "=~", "Image"),
               ("Value", "~", "Satisfaction"): ("Satisfaction", "=~", "Value")}
    theirs.index = [renamed.get(k, k) for k in theirs.index]
    assert len(ours) == len(theirs) == 67
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=1e-12), key
    # the approaches differ (the paths into Satisfaction), but not by much here
    two = estimate_pls(spec, mobi).parameters().set_index(["lhs", "op", "rhs"])["est"]
    assert abs(two[("Satisfaction", "~", "Expectation")] -
               ours[("Satisfaction", "~", "Expectation")]) > 1e-3
    assert "repeated indicators" in " ".join(res.notes)


@pytest.mark.parametrize("text,options,message", [
    (FIRST_ORDER + "Satisfaction =~ Image + Value + CUSA1\n" + STRUCTURE, {},
     "Satisfaction is measured by constructs and by the item(s) CUSA1"),
    (MOBI_HO, {"consistent": True}, "PLSc (--consistent) of higher-order constructs"),
    (MOBI_HO, {"higher_order": "embedded"}, "unknown higher-order method 'embedded'"),
    ("F =~ IMAG1 + IMAG2 + IMAG3\nF ~ CUEX1\nIMAG3 ~ CUEX1", {},
     "the item(s) IMAG3 take part in regressions"),
])
def test_refusals(mobi, text, options, message):
    with pytest.raises(ConnectiveError) as info:
        estimate_pls(parse_model(text), mobi, **options)
    assert message in str(info.value)


def test_the_command_writes_both_stages(tmp_path, benchmarks, capsys):
    from connective.cli import main

    model = tmp_path / "mobi_ho.lav"
    model.write_text(MOBI_HO)
    code = main(["pls", str(model), "--data", str(benchmarks / "data" / "mobi.csv"),
                 "--out", str(tmp_path / "out"), "--boot", "50", "--seed", "1"])
    assert code == 0
    params = pd.read_csv(tmp_path / "out" / "parameters.csv")
    assert {"Image=~IMAG1", "Satisfaction=~Image", "Satisfaction~Quality"} <= set(
        params["lhs"] + params["op"] + params["rhs"])
    rel = pd.read_csv(tmp_path / "out" / "reliability.csv").set_index("construct")
    assert rel.loc["Image", "stage"] == "one" and rel.loc["Satisfaction", "stage"] == "two"
    assert "two-stage" in capsys.readouterr().out


def test_analyses_after_estimation_refuse_higher_order_models(tmp_path, benchmarks, capsys):
    from connective.cli import main

    model = tmp_path / "mobi_ho.lav"
    model.write_text(MOBI_HO)
    code = main(["pls", str(model), "--data", str(benchmarks / "data" / "mobi.csv"),
                 "--out", str(tmp_path / "out"), "--predict"])
    assert code == 2
    assert "--predict, --mga and --ipma do not handle higher-order constructs (Satisfaction)" \
        in capsys.readouterr().err


def test_a_path_between_higher_order_constructs_links_all_their_dimensions_in_stage_one():
    from connective.pls.higher_order import two_stage_plan

    spec = parse_model("F1 =~ a1 + a2\nF2 =~ b1 + b2\nF3 =~ c1 + c2\nF4 =~ d1 + d2\n"
                       "G =~ F1 + F2\nH =~ F3 + F4\nH ~ G")
    plan = two_stage_plan(spec)
    assert sorted(plan.stage_one.paths) == [("F1", "F3"), ("F1", "F4"), ("F2", "F3"),
                                            ("F2", "F4")]
    assert plan.stage_two.paths == [("G", "H")]
    assert plan.stage_two.indicators == {"G": ("F1", "F2"), "H": ("F3", "F4")}
