"""Simulator: moments converge to the model-implied covariance; Likert, MCAR, groups, seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from connective.data.population import default_thresholds, standardized_population
from connective.data.readers import read_survey
from connective.data.simulate import read_values_file, simulate
from connective.errors import SimulationError
from connective.moments import implied_covariance
from connective.resources import (flagship_data_path, flagship_values_path, model_path)
from connective.spec import parse_model, read_model

CA = read_model(model_path("connective_action"))


def test_sample_covariance_converges_to_the_implied_covariance():
    obs = list(CA.observed)
    errors = []
    for n, seed in ((500, 1), (5_000, 2), (200_000, 3)):
        sim = simulate(CA, n, seed=seed)
        sigma = implied_covariance(CA, sim.population["values"]).sel(row=obs, col=obs)
        errors.append(np.abs(sim.frame[obs].cov().to_numpy() - sigma.to_numpy()).max())
    # sampling error shrinks like 1/sqrt(n): 400x the data, about 1/20 of the error
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.015


def test_path_models_on_observed_variables():
    spec = read_model(model_path("mediation"))
    sim = simulate(spec, 100_000, seed=9, values={"values": {"a": 0.5, "b": 0.4, "cp": 0.1}})
    cov = sim.frame[["X", "M", "Y"]].cov().to_numpy()
    np.testing.assert_allclose(np.diag(cov), 1.0, atol=0.02)
    assert cov[1, 0] == pytest.approx(0.5, abs=0.01)
    assert cov[2, 0] == pytest.approx(0.1 + 0.5 * 0.4, abs=0.01)  # total effect of X on Y


def test_population_is_standardised_and_follows_the_values():
    pop = standardized_population(CA, {"CI ~ IS": 0.6, "b_cid": 0.5, "OCA =~ oca2": 0.9})
    sigma = implied_covariance(CA, pop)
    np.testing.assert_allclose(np.diag(sigma), 1.0)
    assert pop["CI~IS"] == 0.6 and pop["CID~CI"] == 0.5 and pop["OCA=~oca2"] == 0.9
    assert pop["CE~IS"] == 0.3 and pop["IS=~is1"] == 0.7  # documented defaults
    assert pop["CI~~CI"] == pytest.approx(1 - 0.36)
    # loadings are correlations of item and factor: corr(oca2, oca1) = 0.9 * 0.7
    assert sigma.sel(row="oca2", col="oca1").item() == pytest.approx(0.63)


def test_fixed_paths_in_the_model_keep_their_value():
    spec = parse_model("M ~ 0*X\nY ~ M + X")
    pop = standardized_population(spec)
    assert pop["M~X"] == 0.0 and pop["Y~M"] == 0.3


def test_likert_answers_follow_the_thresholds():
    sim = simulate(CA, 40_000, seed=5, likert=7)
    cuts = default_thresholds(7)
    expected = np.diff(stats.norm.cdf([-np.inf, *cuts, np.inf]))
    observed = sim.frame["ci2"].value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(observed, expected, atol=0.01)
    assert sim.population["likert"] == {"categories": 7, "thresholds": cuts}


def test_mcar_missingness_rate():
    sim = simulate(CA, 5_000, seed=6, missing=0.1)
    items = [c for c in sim.frame.columns if c != "id"]
    assert sim.frame[items].isna().mean().mean() == pytest.approx(0.1, abs=0.005)
    assert sim.frame["id"].notna().all()


def test_same_seed_same_data_other_seed_other_data():
    a = simulate(CA, 50, seed=11, likert=5).frame
    b = simulate(CA, 50, seed=11, likert=5).frame
    c = simulate(CA, 50, seed=12, likert=5).frame
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    drawn = simulate(CA, 10)
    again = simulate(CA, 10, seed=drawn.population["seed"])
    pd.testing.assert_frame_equal(drawn.frame, again.frame)  # a drawn seed is recorded


def test_groups_shift_paths_by_level():
    values = {"values": {"CID ~ CI": 0.3},
              "groups": {"column": "org", "names": ["a", "b", "c", "d"], "sizes": [5, 5, 5, 5],
                         "path_sd": 0.0, "level_column": "logic",
                         "levels": ["x", "x", "y", "y"], "shift_level": "x",
                         "shift": {"CID ~ CI": 0.2}}}
    sim = simulate(CA, 20, seed=1, values=values)
    assert list(sim.frame.columns[:3]) == ["id", "org", "logic"]
    assert sim.frame.groupby("org").size().tolist() == [5, 5, 5, 5]
    assert (sim.frame.groupby("org")["logic"].nunique() == 1).all()
    paths = sim.population["group_paths"]
    assert paths["a"]["CID~CI"] == pytest.approx(0.5) and paths["c"]["CID~CI"] == pytest.approx(0.3)


def test_group_paths_drive_the_data():
    values = {"values": {"CID ~ CI": 0.0},
              "groups": {"column": "org", "names": ["strong", "none"], "sizes": [20_000, 20_000],
                         "path_sd": 0.0, "level_column": "logic", "levels": ["s", "n"],
                         "shift_level": "s", "shift": {"CID ~ CI": 0.6}}}
    sim = simulate(CA, 40_000, seed=2, values=values)
    corr = sim.frame.groupby("org")[["ci1", "cid1"]].corr().xs("ci1", level=1)["cid1"]
    # corr(ci1, cid1) = loading * path * loading = 0.7 * 0.6 * 0.7 in the shifted group
    assert corr["strong"] == pytest.approx(0.7 * 0.6 * 0.7, abs=0.02)
    assert corr["none"] == pytest.approx(0.0, abs=0.02)


@pytest.mark.parametrize("values,message", [
    ({"values": {"CI ~ ISS": 0.5}}, "'CI ~ ISS' is not a parameter of .*did you mean 'CI~IS'"),
    ({"values": {"CI ~~ CI": 0.5}}, "is a variance"),
    ({"values": {"OCA ~ CID": 0.9, "OCA ~ EFF": 0.9}}, "paths into OCA explain"),
    ({"values": {"IS =~ is1": 1.2}}, "loadings of is1 explain"),
    ({"values": {"a_ci": "big"}}, "must be a number"),
    ({"likert": {"categories": 5, "thresholds": [0, 1]}}, "needs 4 increasing thresholds"),
    ({"groups": {"names": ["a"], "sizes": [3]}}, "adding up to n = 10"),
])
def test_bad_population_values(values, message):
    with pytest.raises(SimulationError, match=message):
        simulate(CA, 10, seed=1, values=values)


def test_values_file_errors(tmp_path):
    path = tmp_path / "v.toml"
    path.write_text("[valuez]\nx = 1\n")
    with pytest.raises(SimulationError, match="unknown section.*valuez"):
        read_values_file(path)
    path.write_text("[values\n")
    with pytest.raises(SimulationError, match="not valid TOML"):
        read_values_file(path)


def test_simulated_files_carry_their_truth(tmp_path):
    sim = simulate(CA, 30, seed=4, likert=7)
    data, pop = sim.write(tmp_path / "s.csv")
    survey = read_survey(data)
    assert survey.synthetic and survey.population["seed"] == 4
    assert survey.population["data_fingerprint"] == survey.fingerprint
    assert pop.read_text().startswith("# SYNTHETIC DATA")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "s.population.toml"]
    with pytest.raises(SimulationError, match="written as CSV"):
        sim.write(tmp_path / "s.xlsx")


def test_shipped_flagship_survey_is_reproduced_exactly(tmp_path):
    from connective.cli import main
    command = _load_script("make_flagship_data").command

    out = tmp_path / "flagship.csv"
    assert main(command(str(out))) == 0
    assert out.read_bytes() == flagship_data_path().read_bytes()
    survey = read_survey(flagship_data_path())
    assert survey.synthetic and len(survey.frame) == 194
    assert survey.frame["organisation"].nunique() == 8
    assert set(survey.frame["logic"]) == {"collective", "connective"}
    assert read_values_file(flagship_values_path())["likert"]["categories"] == 7


def _load_script(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
