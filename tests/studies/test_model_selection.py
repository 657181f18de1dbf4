"""Model-comparison studies: a ``loo`` method fits the study's model (the truth) and its
rivals on each data set and records which one PSIS-LOO ranks first; the study table says
how often that is the truth."""

from __future__ import annotations

import pytest

from connective.errors import ConnectiveError
from connective.studies.design import read_study
from connective.studies.methods import run_method
from connective.studies.metrics import model_selection

# ordinal fits of two candidate models per replication: run with -m slow
pytestmark = pytest.mark.slow

TRUE = "F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ F\n"
RIVAL = "F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ 0*F\n"
STUDY = """[study]
model = "true.lav"
replications = 2
seed = 3
effects = ["F -> G"]
[conditions]
n = [150]
path = [0.5]
[methods.pick]
engine = "loo"
candidates = [{rival!r}]
draws = 150
tune = 150
"""


def _study(tmp_path, rival="rival.lav"):
    (tmp_path / "true.lav").write_text(TRUE)
    (tmp_path / "rival.lav").write_text(RIVAL)
    (tmp_path / "fewer.lav").write_text("F =~ x1 + x2 + x3\nG =~ y1 + y2\nG ~ F\n")
    (tmp_path / "study.toml").write_text(STUDY.format(rival=rival).replace("'", '"'))
    return read_study(tmp_path / "study.toml")


def test_candidates_of_other_items_are_refused(tmp_path):
    with pytest.raises(ConnectiveError, match=(
            r"\[methods.pick\] candidate 'fewer.lav' models other items than .*true.lav "
            r"\(5 against 6\); LOO ranks models of the same items only")):
        _study(tmp_path, rival="fewer.lav")


def test_loo_method_picks_the_true_model(tmp_path):
    from connective.data.simulate import simulate

    study = _study(tmp_path)
    condition = study.conditions[0]
    sim = simulate(study.spec, 150, values=study.population(condition), seed=5)
    record = run_method(study.methods[0], study.spec, sim.frame[list(study.spec.observed)],
                        seed=5, effects=study.effects)
    assert record["status"] == "ok", record.get("error")
    selection = record["selection"]
    assert set(selection["elpd"]) == {"true", "rival"} and selection["truth"] == "true"
    # a standardised path of 0.5 on 150 respondents: the model without it loses clearly
    assert selection["picked"] == "true"
    assert selection["elpd"]["true"] - selection["elpd"]["rival"] > 4
    table = model_selection([{**record, "condition": condition.id, "method": "pick",
                              "replication": 1}])
    if record["converged"]:  # the table scores replications whose fits all passed
        assert table.loc[0, "true_model_picked"] == 1.0 and table.loc[0, "n_ok"] == 1
    else:
        assert table.loc[0, "n_failed"] == 1 and table.loc[0, "n_ok"] == 0
