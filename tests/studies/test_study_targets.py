"""A study of a measurement model targets its loadings (issue [1/12]): wave 1 (commit
0d589bb) refused it, since a CFA has no indirect or defined effects to study."""

from __future__ import annotations

import pytest

from connective.studies.design import read_study
from connective.studies.runner import run_study

CFA_STUDY = """
[study]
name = "cfa"
model = "cfa.lav"
values = "cfa_values.toml"
replications = 2
seed = 3

[conditions]
n = [300]

[methods.pls]
engine = "pls"
boot = 200
consistent = true
"""


VALUES = '[defaults]\nloading = 0.7\ncorrelation = 0.4\n'


def test_a_measurement_model_study_targets_its_loadings(tmp_path):
    (tmp_path / "cfa.lav").write_text("F =~ a1 + a2 + a3\nG =~ b1 + b2 + b3\n")
    (tmp_path / "cfa_values.toml").write_text(VALUES)
    (tmp_path / "cfa.toml").write_text(CFA_STUDY)
    study = read_study(tmp_path / "cfa.toml")
    assert study.effects == ["F=~a1", "F=~a2", "F=~a3", "G=~b1", "G=~b2", "G=~b3"]
    truth = study.truth(study.conditions[0])
    assert truth.to_dict() == pytest.approx(dict.fromkeys(study.effects, 0.7))
    table = run_study(tmp_path / "cfa.toml", tmp_path / "out", workers=1, progress=False)
    assert set(table["effect"]) == set(study.effects)
    # PLSc recovers common-factor loadings of 0.7 at N = 300 within a few hundredths
    assert table["bias"].abs().max() < 0.08


def test_a_study_may_name_loadings_and_factor_correlations(tmp_path):
    (tmp_path / "cfa.lav").write_text("F =~ a1 + a2 + a3\nG =~ b1 + b2 + b3\n")
    (tmp_path / "cfa_values.toml").write_text(VALUES)
    text = CFA_STUDY.replace('seed = 3', 'seed = 3\neffects = ["F=~a2", "F~~G"]')
    (tmp_path / "cfa.toml").write_text(text)
    assert read_study(tmp_path / "cfa.toml").effects == ["F=~a2", "F~~G"]
    (tmp_path / "bad.toml").write_text(text.replace('"F~~G"', '"F~~H"'))
    with pytest.raises(Exception, match=r"\['F~~H'\] are neither effects nor loadings"):
        read_study(tmp_path / "bad.toml")
