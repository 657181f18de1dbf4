"""`compare --runs` says when the engines analysed different rows: a Bayesian fit of every
respondent (missing answers by FIML) beside PLS after casewise deletion."""

from __future__ import annotations

import json

import numpy as np
import pytest

from connective.bayes import fit
from connective.cli import main
from connective.data.readers import read_survey
from connective.data.simulate import simulate
from connective.pls.run import run_pls
from connective.spec import parse_model

# a Bayesian and a PLS run of their own: run with -m slow
pytestmark = pytest.mark.slow

MODEL = "F =~ x1 + x2 + x3\nM =~ m1 + m2 + m3\nG =~ y1 + y2 + y3\nM ~ F\nG ~ M + F"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("rows")
    spec = parse_model(MODEL)
    sim = simulate(spec, 200, seed=4)
    frame = sim.frame.copy()
    holes = np.random.default_rng(2).choice(200, size=31, replace=False)
    frame.loc[holes, "y2"] = np.nan  # 31 respondents without y2: 169 complete rows
    frame.to_csv(root / "survey.csv", index=False)
    survey = read_survey(root / "survey.csv")
    result = fit(spec, survey.frame[list(spec.observed)], draws=200, tune=200, chains=2,
                 seed=3, data_source=survey.source, synthetic=True)
    result.save(root / "bayes")
    run_pls(spec, survey, root / "pls", boot=50, seed=2, missing="casewise")
    return root


def test_compare_runs_names_the_different_rows(runs, capsys):
    out = runs / "cmp"
    assert main(["compare", "--runs", str(runs / "bayes"), str(runs / "pls"), "--out",
                 str(out)]) == 0
    note = ("The engines analysed different rows: Bayes 200 respondents, PLS 169 (of 200 rows, "
            "after casewise deletion). Their estimates differ partly because their samples "
            "do: refit them with the same --missing to compare the engines alone.")
    assert f"NOTE: {note}" in capsys.readouterr().out
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["rows"]["Bayes"]["n"] == 200 and meta["rows"]["PLS"]["n"] == 169
    assert meta["rows_note"] == note
    md = (out / "report" / "report.md").read_text()
    assert note in md
    assert "Bayes vs PLS, every path and effect (different rows: Bayes N = 200, PLS N = 169)" in md


def test_same_rows_say_nothing():
    from connective.compare.bayes_vs_pls import rows_note

    same = {"n": 200, "rows": 200, "missing": None}
    assert rows_note({"Bayes": same, "PLS": same}) is None
