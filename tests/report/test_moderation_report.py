"""The moderation section of a PLS run's report: sentences with the index and the
conditional effects as estimated, the tables, simple-slope and Johnson-Neyman figures; none
without product terms."""

from __future__ import annotations

import pandas as pd

from connective.data.readers import read_survey
from connective.pls.run import run_pls
from connective.report.document import fmt_estimate
from connective.report.run import build_run_report
from connective.spec import parse_model

MODEL = """
Image        =~ IMAG1 + IMAG2 + IMAG3 + IMAG4 + IMAG5
Expectation  =~ CUEX1 + CUEX2 + CUEX3
Satisfaction =~ CUSA1 + CUSA2 + CUSA3
Loyalty      =~ CUSL1 + CUSL2 + CUSL3
Satisfaction ~ Image + Expectation + Image:Expectation
Loyalty ~ Satisfaction + Image
"""


def _run(tmp_path, benchmarks, model=MODEL, boot=120):
    out = tmp_path / "run"
    run_pls(parse_model(model, source="moderation.lav"),
            read_survey(benchmarks / "data" / "mobi.csv"), out, boot=boot, seed=4)
    return out


def test_moderation_section(tmp_path, benchmarks):
    out = _run(tmp_path, benchmarks)
    doc = build_run_report(out)
    md = doc.to_markdown()
    assert "## Moderation" in md
    fx = pd.read_csv(out / "effects.csv").set_index("effect")
    index = fx.loc["index of moderated mediation Image -> Satisfaction -> Loyalty by Expectation"]
    text = fmt_estimate(index["est"], index["ci.lower"], index["ci.upper"])
    assert (f"Moderated mediation of Image → Satisfaction → Loyalty by Expectation: index of "
            f"moderated mediation (Hayes 2015) {text}") in md
    names = {b.name for b in doc.blocks if b.name}
    assert {"conditional_effects", "moderation_indices", "simple_slopes_1", "johnson_neyman_1",
            "johnson_neyman"} <= names
    assert "two-stage approach" in md and "moderator's mean is 0 and its SD 1" in md


def test_no_moderation_section_without_products(tmp_path, benchmarks):
    plain = MODEL.replace(" + Image:Expectation", "")
    md = build_run_report(_run(tmp_path, benchmarks, plain)).to_markdown()
    assert "Moderation" not in md and "Johnson-Neyman" not in md


def test_without_bootstrap_the_intervals_are_said_missing(tmp_path, benchmarks):
    md = build_run_report(_run(tmp_path, benchmarks, boot=0)).to_markdown()
    section = md.split("## Moderation")[1].split("\n## ")[0]
    assert "interval not estimated (no bootstrap: rerun with --boot N)" in section
    assert "containing 0" not in section
