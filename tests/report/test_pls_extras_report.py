"""The report of a PLS run with --predict, --mga and --ipma: one section each, made from
the run folder's files alone; a run without them has none of those sections."""

from __future__ import annotations

import numpy as np

from connective.cli import main
from connective.pls import example_data
from connective.report.run import build_run_report


def _run(tmp_path, *flags):
    spec, frame = example_data(160)
    frame["group"] = np.where(np.arange(160) % 2 == 0, "a", "b")
    frame.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "m.lav").write_text(spec.text)
    out = tmp_path / "run"
    assert main(["pls", str(tmp_path / "m.lav"), "--data", str(tmp_path / "survey.csv"),
                 "--out", str(out), "--quiet", "--seed", "2", *flags]) == 0
    return out


def test_sections_of_the_analyses(tmp_path):
    out = _run(tmp_path, "--predict", "--predict-reps", "2", "--mga", "group", "--mga-boot",
               "100", "--permutations", "50", "--ipma", "CI")
    md = build_run_report(out).to_markdown()
    for text in ("## Out-of-sample prediction (PLSpredict)", "predictive power",
                 "## Multigroup analysis", "group 1: group=a (n = 80)", "MICOM (Henseler",
                 "Group differences of the paths", "IS → CI",
                 "## Importance-performance map (CI)", "figures/ipma.svg"):
        assert text.lower() in md.lower(), text


def test_no_sections_without_the_analyses(tmp_path):
    md = build_run_report(_run(tmp_path)).to_markdown()
    assert "PLSpredict" not in md and "Multigroup" not in md and "Importance-performance" not in md
