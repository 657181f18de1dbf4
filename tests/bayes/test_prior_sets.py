"""Prior sets without sampling: priors files (names, labels, merging, errors before
sampling), roles, the SIMCA conversion through the model, and the [std] value's graph."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from connective.bayes import build_model
from connective.bayes.matrices import build_layout, standardized_solution
from connective.bayes.prior_sets import (MetaTable, model_roles, parse_roles, prior_table,
                                         read_meta_table, read_prior_file, resolve_prior_set,
                                         simca_priors)
from connective.bayes.priors import check_model_priors
from connective.bayes.std_priors import std_function
from connective.errors import ConnectiveError, ModelError
from connective.spec import parse_model

MODEL = """
# roles: identity=CID, injustice=INJ, efficacy=EFF, action=OCA
CID =~ c1 + c2 + c3
INJ =~ i1 + i2 + i3
EFF =~ e1 + e2 + e3
OCA =~ o1 + o2 + o3
INJ ~ d_inj*CID
EFF ~ d_eff*CID
OCA ~ c_cid*CID + c_inj*INJ + c_eff*EFF
"""


@pytest.fixture(scope="module")
def spec():
    return parse_model(MODEL, source="simca_test.lav")


@pytest.fixture(scope="module")
def frame(spec):
    rng = np.random.default_rng(3)
    return pd.DataFrame(rng.normal(size=(120, len(spec.observed))), columns=spec.observed)


def write(tmp_path, text, name="p.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_names_and_labels_merge_over_defaults(tmp_path, spec, frame):
    path = write(tmp_path, '[priors]\n"OCA~CID" = "normal(0.3, 0.1)[std]"\n'
                           'd_inj = "normal(0, 0.5)"\n"EFF~~EFF" = "halfnormal(0.5)"\n')
    chosen = resolve_prior_set(str(path), spec)
    bm = build_model(spec, frame, priors=chosen.priors)
    assert bm.priors["OCA~CID"] == "normal(0.3, 0.1)[std]"
    assert bm.priors["INJ~CID"] == "normal(0, 0.5)"  # by its label
    assert bm.priors["EFF~~EFF"] == "halfnormal(0.5)[sd]"
    table = prior_table(bm, chosen).set_index("name")
    assert table.loc["OCA~CID", "scale"] == "standardised"
    assert table.loc["INJ~CID", "origin"] == str(path)
    # everything else keeps its default, and every prior used is listed
    assert table.loc["OCA~EFF", "origin"] == "default"
    assert set(table.index) == set(bm.priors)


def test_the_file_wins_over_the_model_file(tmp_path, frame):
    spec = parse_model('F =~ c1 + c2 + c3\nG =~ i1 + i2 + i3\nG ~ prior("normal(0, 1)")*F')
    path = write(tmp_path, '"G~F" = "normal(0, 0.2)"\n')  # no [priors] table: top level
    chosen = resolve_prior_set(str(path), spec)
    bm = build_model(spec, frame, priors=chosen.priors)
    assert bm.priors["G~F"] == "normal(0, 0.2)"
    assert prior_table(bm).set_index("name").loc["G~F", "origin"] == "model file"


@pytest.mark.parametrize("text, message", [
    ('"OCA~XYZ" = "normal(0, 1)"', "key 'OCA~XYZ' is neither a free parameter"),
    ('"OCA~CID" = "normal(0, 1e999)"', "every argument must be a finite number"),
    ('"OCA~CID" = "normal(0, -1)"', "sigma must be positive"),
    ('"OCA~CID" = 0.3', "must be a text in quotes"),
    ('"OCA~~OCA" = "beta(2, 2)[std]"', "1 - R² of the paths"),
    ('"OCA~CID" = "normal(0, 1" ', "cannot read the prior"),
    ('"OCA~CID = 1', "not a TOML file"),
])
def test_bad_priors_file_is_an_error_naming_file_and_key(tmp_path, spec, text, message):
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConnectiveError, match=message) as err:
        read_prior_file(path, spec)
    assert str(path) in str(err.value)


def test_std_prior_on_a_residual_variance_in_the_model_file_is_an_error(frame):
    spec = parse_model('F =~ c1 + c2 + c3\nG =~ i1 + i2 + i3\nG ~ F\n'
                       'G ~~ prior("beta(2, 2)[std]")*G')
    with pytest.raises(ModelError, match="1 - R² of the paths into it"):
        build_model(spec, frame)
    with pytest.raises(ModelError, match="line 4: prior of G~~G: the standardised"):
        check_model_priors(spec)  # what fit and validate call before reading the data


def test_bad_prior_key_stops_the_cli_before_sampling(tmp_path, capsys):
    from connective.cli import main

    path = write(tmp_path, '"OCA~nothing" = "normal(0, 1)"\n')
    # no --data at all: the priors file is checked first, so its error is the one shown
    status = main(["fit", "connective_action", "--out", str(tmp_path / "o"), "--priors",
                   str(path)])
    assert status != 0
    err = capsys.readouterr().err
    assert "OCA~nothing" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_roles_from_the_header_and_the_command_line(spec):
    assert model_roles(spec) == {"identity": "CID", "injustice": "INJ", "efficacy": "EFF",
                                 "action": "OCA"}
    assert parse_roles("identity=CID,action=OCA", spec) == {"identity": "CID",
                                                            "action": "OCA"}
    with pytest.raises(ConnectiveError, match="'XYZ' .*is not a construct"):
        parse_roles("identity=XYZ", spec)
    with pytest.raises(ConnectiveError, match="roles identity, injustice, efficacy, action"):
        parse_roles("anger=INJ", spec)


def test_bundled_simca_table_names_the_missing_numbers(spec):
    table = read_meta_table()
    assert table.r[frozenset(("identity", "action"))] == pytest.approx(0.38)
    # numbers that could not be found are missing, never guessed
    assert math.isnan(table.se[frozenset(("identity", "action"))])
    with pytest.raises(ConnectiveError, match="lacks numbers this model needs.*--simca-table"):
        resolve_prior_set("simca", spec)


def test_simca_conversion_is_the_partial_path_of_the_pooled_matrix(spec):
    # test inputs (not the literature's numbers): two predictors, a closed form to check
    r = {("identity", "action"): 0.40, ("injustice", "action"): 0.30,
         ("efficacy", "action"): 0.35, ("identity", "injustice"): 0.20,
         ("identity", "efficacy"): 0.25, ("injustice", "efficacy"): 0.10}
    key = {frozenset(k): v for k, v in r.items()}
    table = MetaTable(r=key, se={k: 0.02 for k in key}, tau={k: 0.05 for k in key},
                      source={k: "test" for k in key}, path=None)
    out = simca_priors(spec, model_roles(spec), table, draws=20000)
    frame = out.table.set_index("name")
    # a single predictor: the path is the correlation
    assert frame.loc["INJ~CID", "mean"] == pytest.approx(0.20)
    # its SD is that of r over the predictive distribution: sqrt(se^2 + tau^2)
    assert frame.loc["INJ~CID", "sd"] == pytest.approx(math.hypot(0.02, 0.05), rel=0.05)
    # three predictors: R_xx^-1 r_xy, checked against lstsq on the same matrix
    R = np.array([[1, .2, .25], [.2, 1, .1], [.25, .1, 1]])
    beta = np.linalg.lstsq(R, np.array([.40, .30, .35]), rcond=None)[0]
    assert frame.loc[["OCA~CID", "OCA~INJ", "OCA~EFF"], "mean"].to_numpy() == \
        pytest.approx(beta)
    assert out.priors["OCA~CID"] == f"normal({beta[0]:.3f}, {frame.loc['OCA~CID', 'sd']:.3f})[std]"
    assert (frame["sd"] > 0.03).all() and (frame["sd"] < 0.2).all()


def test_std_values_graph_matches_the_standardized_solution():
    spec = parse_model("F =~ a + b + c\nG =~ d + e + f\nG ~ F\nY ~ G")
    layout = build_layout(spec)
    rng = np.random.default_rng(0)
    theta = np.abs(rng.normal(1.0, 0.3, size=layout.n_params))
    slots = [layout.index(n) for n in ("G~F", "Y~G", "F=~b", "G=~f")]
    got = std_function(spec, layout, slots)(theta)
    sol = standardized_solution(spec, layout, theta)
    want = [sol["std.all"][sol["names"].index(layout.params[q].name)] for q in slots]
    assert got == pytest.approx(want, rel=1e-10)
