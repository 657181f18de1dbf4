"""The report of a run folder holds every effect of the model and says the data are synthetic."""

from __future__ import annotations

import html

import pytest

from connective.cli import main
from connective.effects import effect_table
from connective.errors import ConnectiveError
from connective.report.run import write_run_report
from connective.resources import flagship_data_path, model_path
from connective.spec import read_model


@pytest.fixture(scope="module")
def pls_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pls_run")
    assert main(["pls", "connective_action", "--data", str(flagship_data_path()), "--out",
                 str(out), "--boot", "200", "--seed", "3", "--quiet"]) == 0
    return out


def test_pls_report_has_every_effect(pls_run):
    report = write_run_report(pls_run)
    page = (report / "report.html").read_text()
    spec = read_model(model_path("connective_action"))
    for effect in effect_table(spec)["effect"]:
        assert html.escape(effect) in page, effect
    assert "SYNTHETIC DATA" in page and "Reliability and convergent validity" in page
    assert "IS → CI" in page  # arrows point the way of the effect
    assert "Mediation analysis (from the bootstrap replicates)" in page
    assert "Of the 9 hypothesised paths and 6 named effects" in page  # results in words
    assert "IS → CI: 0." in page and "VIF" in page and "f²" in page
    mediation = __import__("pandas").read_csv(report / "tables" / "mediation_analysis.csv")
    assert "indirect-only" in mediation.loc[mediation["Effect"] == "CE -> EFF -> OCA",
                                            "Type"].item()
    md = (report / "report.md").read_text()
    assert "| IS -> CI -> CID -> OCA |" in md
    assert (report / "figures" / "path_diagram.svg").is_file()
    assert (report / "tables" / "effects_indirect.tex").is_file()


def test_not_a_run_folder(tmp_path):
    with pytest.raises(ConnectiveError, match="is not a finished run folder: summary.json"):
        write_run_report(tmp_path)
