"""LOO ranks the true model first on data simulated from it; Bayes vs PLS joins every effect;
runs on other data or items are refused."""

from __future__ import annotations

import json

import arviz as az
import numpy as np
import pandas as pd
import pytest

from connective.bayes import fit
from connective.cli import main
from connective.compare.bayes_vs_pls import compare_runs, interval_sign, write_comparison
from connective.compare.loo import compare_loo, pls_criteria
from connective.data.readers import read_survey
from connective.data.simulate import simulate
from connective.effects import effect_table
from connective.errors import ConnectiveError
from connective.folders import run_folder
from connective.pls.run import run_pls
from connective.resources import model_path
from connective.spec import read_model

TRUE = read_model(model_path("connective_action_direct"))
NESTED = read_model(model_path("connective_action"))
VALUES = {"values": {"direct_ci": 0.35, "direct_ce": 0.30}, "likert": {"categories": 7}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Data from the model with direct paths; both models fitted by Bayes, the true one by PLS."""
    root = tmp_path_factory.mktemp("loo")
    sim = simulate(TRUE, 400, seed=21, values=VALUES)
    sim.write(root / "survey.csv")
    survey = read_survey(root / "survey.csv")
    out = {"survey": survey, "root": root}
    for name, spec in (("direct", TRUE), ("nested", NESTED)):
        result = fit(spec, survey.frame[list(spec.observed)], draws=300, tune=300, chains=2, seed=5,
                     data_source=survey.source, synthetic=True)
        result.save(root / name)
        out[name] = root / name
    run_pls(TRUE, survey, root / "pls_direct", boot=300, seed=2)
    run_pls(NESTED, survey, root / "pls_nested", boot=300, seed=2)
    out["pls_direct"], out["pls_nested"] = root / "pls_direct", root / "pls_nested"
    return out


def test_loo_ranks_the_true_model_first(runs):
    table = compare_loo({"direct": runs["direct"], "nested": runs["nested"]})
    assert table.loc[0, "model"] == "direct"
    nested = table.set_index("model").loc["nested"]
    # the missing direct paths cost clearly more than the noise of the difference
    assert nested["elpd_diff"] > 2 * nested["dse"]
    assert set(table.columns) >= {"elpd_loo", "p_loo", "elpd_diff", "dse", "weight",
                                  "pareto_k_above_0.7"}


def test_pls_criteria_prefer_the_true_model(runs):
    crit = pls_criteria({"direct": runs["pls_direct"], "nested": runs["pls_nested"]})
    by = crit.set_index("model")
    assert (by["target"] == "OCA").all()
    assert by.at["direct", "r2"] > by.at["nested", "r2"]
    assert by.at["direct", "bic"] < by.at["nested", "bic"]


def test_loo_cli(runs, capsys):
    assert main(["loo", str(runs["direct"]), str(runs["nested"]), "--pls",
                 str(runs["pls_direct"]), str(runs["pls_nested"])]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[1] == "Bayesian"  # the verdicts come first
    header = next(i for i, line in enumerate(lines) if line.split()[0] == "model")
    assert lines[header + 1].split()[0] == "direct" and "bic" in out


def test_loo_refuses_other_items_and_other_data(runs, tmp_path):
    idata = az.from_netcdf(str(runs["nested"] / "posterior.nc"))
    items = json.loads(idata.posterior.attrs["observed"])
    fewer = items[:-3]
    idata.posterior.attrs["observed"] = json.dumps(fewer)
    with run_folder(tmp_path / "fewer") as folder:  # a run folder of its own, as fit writes
        idata.to_netcdf(str(folder / "posterior.nc"))
    with pytest.raises(ConnectiveError, match="model different observed variables"):
        compare_loo({"a": runs["direct"], "b": tmp_path / "fewer"})
    # the same items of other answers (other items are refused as such, first)
    idata.posterior.attrs["observed"] = json.dumps(items)
    idata.posterior.attrs["data_fingerprint"] = "sha256:other"
    with run_folder(tmp_path / "other") as folder:
        idata.to_netcdf(str(folder / "posterior.nc"))
    with pytest.raises(ConnectiveError, match="fitted on different data"):
        compare_loo({"a": runs["direct"], "b": tmp_path / "other"})


def test_bayes_vs_pls_has_every_effect(runs):
    table = write_comparison(runs["direct"], {"PLS": runs["pls_direct"]}, runs["root"] / "cmp")
    assert list(table["effect"]) == effect_table(TRUE)["effect"].tolist()
    pls = pd.read_csv(runs["pls_direct"] / "effects.csv").set_index("effect")
    np.testing.assert_allclose(table.set_index("effect")["PLS_est"], pls.loc[table["effect"], "est"])
    # the direct paths the data were simulated with are found by both engines
    rows = table.set_index("effect").loc[["CI -> OCA", "CE -> OCA"]]
    assert (rows["bayes_lower"] > 0).all() and rows["same_verdict_PLS"].all()
    assert (runs["root"] / "cmp" / "forest.png").is_file()
    from connective.report.compare import write_compare_report

    shown = pd.read_csv(write_compare_report(runs["root"] / "cmp") / "tables"
                        / "bayes_vs_pls.csv").set_index("Effect")
    assert shown.loc["CI -> OCA", "same verdict (PLS)"] == "yes (+/+)"
    with pytest.raises(ConnectiveError, match="fitted on different model"):
        compare_runs(runs["nested"], {"PLS": runs["pls_direct"]})


def test_interval_sign():
    assert interval_sign([0.1, -0.5, -0.1], [0.3, -0.2, 0.2]).tolist() == ["+", "−", "0"]


def test_posterior_predictive_check_finds_the_missing_paths(runs):
    """The model without the direct CI/CE -> OCA paths cannot reproduce the correlations of
    consumption/sharing items with action items; the true model can."""
    from connective.ppc import posterior_predictive

    frame = runs["survey"].frame
    true = posterior_predictive(TRUE, az.from_netcdf(str(runs["direct"] / "posterior.nc")), frame)
    nested = posterior_predictive(NESTED, az.from_netcdf(str(runs["nested"] / "posterior.nc")),
                                  frame)
    cross = nested.correlations[nested.correlations["item1"].str.match(r"c[ie]\d")
                                & nested.correlations["item2"].str.startswith("oca")]
    assert cross["outside"].sum() >= 3
    assert (cross["observed"] > cross["pred_mean"]).mean() > 0.9  # under-predicted
    assert nested.correlations["outside"].sum() > 2 * true.correlations["outside"].sum()
    assert len(true.correlations) == 24 * 23 // 2


def test_report_of_a_fit_shows_the_item_level_check(runs):
    from connective.report.run import write_run_report

    page = (write_run_report(runs["nested"]) / "report.html").read_text()
    assert "Item correlations the model reproduces least well" in page


# -- refusals of incomparable log-likelihoods (issue [7/12]) --------------------------------

def _forged(runs, tmp_path, name, *, attrs=None, settings=None, respondents=None,
            diagnostics=None):
    """A copy of the nested run with some of its record changed, as a run folder."""
    import shutil

    idata = az.from_netcdf(str(runs["nested"] / "posterior.nc"))
    idata.posterior.attrs.update(attrs or {})
    if settings:
        s = json.loads(idata.posterior.attrs["settings"])
        s.setdefault("data_options", {}).update(settings)
        idata.posterior.attrs["settings"] = json.dumps(s)
    if respondents is not None:
        idata.log_likelihood = idata.log_likelihood.isel(respondent=slice(0, respondents))
    with run_folder(tmp_path / name) as folder:
        idata.to_netcdf(str(folder / "posterior.nc"))
        d = json.loads((runs["nested"] / "diagnostics.json").read_text())
        d.update(diagnostics or {})
        (folder / "diagnostics.json").write_text(json.dumps(d))
        shutil.copy(runs["nested"] / "summary.json", folder / "summary.json")
    return tmp_path / name


def test_loo_refuses_an_ordinal_fit_against_a_normal_one(runs, tmp_path):
    other = _forged(runs, tmp_path, "ord", attrs={"likelihood": "ordinal", "loglik": "marginal"})
    with pytest.raises(ConnectiveError, match=(
            r"cannot rank 'direct' \(normal likelihood: a density of them\) against 'ord' "
            r"\(ordinal likelihood: a probability of each respondent's answers\): their "
            r"log-likelihoods are not on one scale. Refit them with the same --likelihood")):
        compare_loo({"direct": runs["direct"], "ord": other})


def test_loo_refuses_conditional_loglik_unless_asked(runs, tmp_path):
    a = _forged(runs, tmp_path, "a", attrs={"likelihood": "ordinal", "loglik": "marginal"})
    b = _forged(runs, tmp_path, "b", attrs={"likelihood": "ordinal", "loglik": "conditional"})
    with pytest.raises(ConnectiveError, match=(
            r"'b' stored only the log-likelihood conditional on the sampled factor scores, "
            r"which PSIS-LOO cannot leave out .* or pass --conditional")):
        compare_loo({"a": a, "b": b})
    with pytest.raises(ConnectiveError, match=r"'a' sampled none: drop --conditional"):
        compare_loo({"a": a, "b": b}, conditional=True)


def test_loo_refusal_names_the_items_one_run_alone_has(runs, tmp_path):
    idata = az.from_netcdf(str(runs["nested"] / "posterior.nc"))
    items = json.loads(idata.posterior.attrs["observed"])
    other = _forged(runs, tmp_path, "fewer", attrs={"observed": json.dumps(items[:-2])})
    with pytest.raises(ConnectiveError, match=(
            rf"'direct' alone has {items[-2]}, {items[-1]}\); LOO compares models of the same "
            "items only")):
        compare_loo({"direct": runs["direct"], "fewer": other})


def test_loo_refuses_other_missing_handling_and_other_rows(runs, tmp_path):
    casewise = _forged(runs, tmp_path, "casewise", settings={"missing": "casewise"},
                       respondents=331)
    with pytest.raises(ConnectiveError, match=(
            r"'direct' was fitted with the default missing-data handling and 'casewise' with "
            r"--missing casewise: their log-likelihoods are of other answers \(400 and 331 "
            r"respondents\). Refit them with the same --missing")):
        compare_loo({"direct": runs["direct"], "casewise": casewise})
    fewer = _forged(runs, tmp_path, "rows", respondents=331)
    with pytest.raises(ConnectiveError, match=(
            r"'direct' analysed 400 respondents and 'rows' 331: LOO sums over respondents")):
        compare_loo({"direct": runs["direct"], "rows": fewer})


def test_loo_reports_failed_diagnostics_and_the_k_distribution(runs, tmp_path, capsys):
    failed = _forged(runs, tmp_path, "failed",
                     diagnostics={"ok": False, "problems": ["max R-hat 1.12 > 1.01"]})
    table = compare_loo({"direct": runs["direct"], "failed": failed})
    by = table.set_index("model")
    direct_ok = json.loads((runs["direct"] / "diagnostics.json").read_text())["ok"]
    assert by.at["failed", "diagnostics"] == "FAIL"
    assert by.at["direct", "diagnostics"] == ("PASS" if direct_ok else "FAIL")
    assert "failed" in table.attrs["failed"]
    bins = ["k<=0.5", "0.5<k<=0.7", "0.7<k<=1", "k>1"]
    assert (by[bins].sum(axis=1) == 400).all()
    assert main(["loo", str(runs["direct"]), str(failed)]) == 0
    out = capsys.readouterr().out
    assert "FAIL  Bayesian SEM (failed): sampler diagnostics FAIL" in out
    assert "failed the sampler diagnostics: do not report this ranking before refitting" in out
