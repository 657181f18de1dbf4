"""The command line: outputs, exit codes, and one-paragraph errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import pytest

from connective.cli import main
from connective.resources import flagship_data_path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_flagship(capsys):
    code, out, err = run(capsys, "validate", "connective_action", "--data",
                         str(flagship_data_path()), "--likert", "1-7", "--group", "organisation")
    assert code == 0 and err == ""
    assert "Indirect paths (16):" in out and "IS -> CI -> CID -> OCA" in out
    assert "194 rows, 194 complete" in out and "SYNTHETIC" in out


def test_validate_reports_bad_data_and_exits_2(capsys, tmp_path):
    bad = tmp_path / "bad.csv"
    frame = __import__("pandas").read_csv(flagship_data_path()).drop(columns=["oca3"])
    frame.loc[3, "is1"] = 12
    frame.to_csv(bad, index=False)
    code, out, err = run(capsys, "validate", "connective_action", "--data", str(bad),
                         "--likert", "1-7")
    assert code == 2
    assert "ERROR   column 'oca3' is not in the data" in out  # the full report on stdout
    assert err.startswith("connective validate: error: ")
    assert "is1 has answers outside its scale 1-7 in row 4 (12)" in err
    assert "Traceback" not in err


def test_bad_model_error_shows_line_and_caret(capsys, tmp_path):
    model = tmp_path / "m.lav"
    model.write_text("F =~ x1 + x2 + x3\nG -> F\n")
    code, out, err = run(capsys, "validate", str(model), "--data", str(flagship_data_path()))
    assert code == 2
    assert f"{model}, line 2, column 3: unknown operator '->'" in err
    assert "    2 | G -> F\n      |   ^" in err


def test_missing_model_names_the_bundled_ones(capsys):
    code, _, err = run(capsys, "validate", "no_such_model", "--data", str(flagship_data_path()))
    assert code == 2 and "not a bundled model (connective_action," in err


def test_simulate_writes_data_and_truth_and_refuses_to_overwrite(capsys, tmp_path):
    out_file = tmp_path / "sim.csv"
    code, out, _ = run(capsys, "simulate", "simca", "--n", "50", "--seed", "3", "--out",
                       str(out_file), "--likert", "5")
    assert code == 0 and "SYNTHETIC, seed 3" in out
    assert (tmp_path / "sim.population.toml").is_file()
    first = out_file.read_bytes()
    code, _, err = run(capsys, "simulate", "simca", "--n", "50", "--out", str(out_file))
    assert code == 2 and "exists; choose another --out or pass --force" in err
    assert out_file.read_bytes() == first


def test_demo_runs_the_flagship_analysis(capsys, tmp_path):
    """The demo fits both engines and writes a report holding every effect of the model."""
    import html

    from connective.effects import effect_table
    from connective.resources import model_path
    from connective.spec import read_model

    code, out, _ = run(capsys, "demo", "--quick", "--out", str(tmp_path / "demo"))
    assert code == 0
    assert "SYNTHETIC" in out and "not real respondents" in out
    assert "Respondents per organisation:" in out
    # population values of the two chains, from flagship_values.toml: 0.45*0.35 and 0.40*0.30
    assert "obligatory                      0.158" in out
    assert "instrumental                    0.120" in out
    report = tmp_path / "demo" / "report" / "report.html"
    assert f"Report: {report.resolve()}" in out
    page = report.read_text()
    for effect in effect_table(read_model(model_path("connective_action")))["effect"]:
        assert html.escape(effect) in page, effect
    assert "SYNTHETIC DATA" in page and "Bayes vs PLS" in page and "PLSc" in page
    # the hierarchical model across the organisations: per-organisation chains, the
    # difference between organisational logics, and the report's group section
    assert "Chains per organisation" in out and "collective - connective" not in out
    assert "connective - collective: obligatory" in out
    assert "Doctors Syndicate" in page and 'id="group_forest"' in page
    assert (tmp_path / "demo" / "organisations" / "group_effects.csv").is_file()


@pytest.mark.parametrize("command", ["demo", "validate", "simulate"])
def test_every_command_has_help(command):
    done = subprocess.run([sys.executable, "-m", "connective.cli", command, "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "usage: connective " + command in done.stdout


def test_bad_option_value_is_a_usage_error(capsys):
    assert main(["validate", "simca", "--data", "x.csv", "--likert", "one-seven"]) == 2
    assert "--likert 'one-seven': expected a range like 1-7" in capsys.readouterr().err


def test_fit_strict_turns_failed_diagnostics_into_exit_status(capsys, tmp_path, benchmarks):
    """Too few draws cannot pass R-hat <= 1.01 and ESS >= 400: --strict exits with 3."""
    import json

    out = tmp_path / "fit"
    code, _, _ = run(capsys, "fit", "mediation", "--data",
                     str(benchmarks / "data" / "mediation_sim.csv"), "--out", str(out),
                     "--draws", "60", "--tune", "60", "--chains", "2", "--seed", "1",
                     "--strict", "--quiet")
    verdict = json.loads((out / "diagnostics.json").read_text())
    assert code == 3 and not verdict["ok"]
    assert any("ESS below 400" in p for p in verdict["problems"])
    # without --quiet the console summary opens with the verdict
    code, printed, _ = run(capsys, "fit", "mediation", "--data",
                           str(benchmarks / "data" / "mediation_sim.csv"), "--out",
                           str(tmp_path / "fit2"), "--draws", "60", "--tune", "60",
                           "--chains", "2", "--seed", "1")
    summary = printed[printed.index("Verdict: "):]
    assert summary.startswith("Verdict: FAIL: do not report these numbers as they are (")
    assert summary.index("Verdict") < summary.index("divergences")


def test_group_options_need_a_group(capsys, tmp_path):
    code, _, err = run(capsys, "fit", "mediation", "--data", str(flagship_data_path()),
                       "--out", str(tmp_path / "x"), "--vary", "paths")
    assert code != 0 and "apply to hierarchical models: add --group COL" in err


def test_target_accept_outside_0_1_is_refused_before_fitting(capsys, tmp_path):
    code, _, err = run(capsys, "fit", "mediation", "--data", str(flagship_data_path()),
                       "--out", str(tmp_path / "x"), "--target-accept", "95")
    assert code != 0 and "--target-accept must lie between 0 and 1 (e.g. 0.99); got 95" in err
    assert not (tmp_path / "x").exists()
