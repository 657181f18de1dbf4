"""The fit checks do not vanish with missing answers (issue 15, item 7): the PPP of
incomplete data sums the chi-squares of the missingness patterns, is calibrated under the true model, detects a wrong one,
and a run without a PPP says why."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from connective.bayes.likelihood import ppp, sufficient_statistics
from connective.cli import main


def _incomplete(n=400, seed=0):
    rng = np.random.default_rng(seed)
    cov = np.array([[1, .5, .3], [.5, 1, .4], [.3, .4, 1]])
    frame = pd.DataFrame(rng.multivariate_normal(np.zeros(3), cov, size=n), columns=list("abc"))
    frame.loc[rng.random(n) < 0.1, "a"] = np.nan
    frame.loc[rng.random(n) < 0.1, "c"] = np.nan
    return frame, cov


def test_ppp_of_incomplete_data_is_calibrated_and_detects_misfit():
    frame, cov = _incomplete()
    stats = sufficient_statistics(frame, list("abc"))
    assert not stats.complete
    rng = np.random.default_rng(1)
    mu = np.zeros((2000, 3))
    right, _, _ = ppp(stats, mu, np.broadcast_to(cov, (2000, 3, 3)), rng)
    wrong, _, _ = ppp(stats, mu, np.broadcast_to(np.eye(3), (2000, 3, 3)), rng)
    assert 0.05 < right < 0.95
    assert wrong < 0.01


def test_fit_with_one_missing_cell_keeps_its_ppp(benchmarks, tmp_path, capsys):
    frame = pd.read_csv(benchmarks / "data" / "mediation_sim.csv")
    frame.loc[5, "M"] = np.nan
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "run"
    assert main(["fit", "mediation", "--data", str(tmp_path / "d.csv"), "--out", str(out),
                 "--draws", "100", "--tune", "150", "--chains", "2", "--seed", "3",
                 "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ppp_discrepancy"] == "chi-square by missingness pattern"
    assert 0 <= summary["ppp"] <= 1
    assert main(["report", str(out)]) == 0
    text = (out / "report" / "report.md").read_text()
    assert "Posterior predictive p-value of the chi-square discrepancy summed over" in text


def test_a_missing_ppp_says_why():
    from connective.report.run import ppp_sentence

    text = ppp_sentence({"ppp": None, "discrepancy": "not computed: the ordinal likelihood "
                         "has no sufficient statistics to replicate (see the LOO instead)"})
    assert text.startswith("No posterior predictive p-value: not computed: the ordinal")
