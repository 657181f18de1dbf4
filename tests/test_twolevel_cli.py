"""Two-level models on the command line: fit --cluster, what is refused (PLS, --group with
level blocks, --cluster without them), simulate of organisations, the report of a run."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from connective.cli import main

MODEL = "level: 1\n  fw =~ y1 + y2 + y3\n  fw ~ x1\nlevel: 2\n  fb =~ y1 + y2 + y3\n  fb ~ w1\n"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path, capsys):
    model = tmp_path / "twolevel.lav"
    model.write_text(MODEL)
    data = tmp_path / "orgs.csv"
    code, out, _ = run(capsys, "simulate", str(model), "--n", "30", "--seed", "4", "--out",
                       str(data))
    assert code == 0 and "in 30 organisations" in out
    return model, data


def test_simulate_writes_organisations_and_both_levels_truth(files):
    model, data = files
    frame = pd.read_csv(data)
    sizes = frame.groupby("cluster").size()
    assert len(sizes) == 30 and sizes.min() >= 5 and sizes.max() <= 20
    assert frame.groupby("cluster")["w1"].nunique().max() == 1
    pop = tomllib.loads(data.with_suffix(".population.toml").read_text())
    assert pop["synthetic"] and pop["clusters"]["n"] == 30
    assert pop["values"]["fw~x1"] == 0.3 and pop["between"]["fb~w1"] == 0.3


def test_pls_refuses_a_two_level_model(files, capsys, tmp_path):
    model, data = files
    code, _, err = run(capsys, "pls", str(model), "--data", str(data), "--out",
                       str(tmp_path / "p"))
    assert code == 2 and "Traceback" not in err
    assert "PLS path modelling has no two-level version" in err and "--cluster" in err


def test_group_with_level_blocks_is_refused(files, capsys, tmp_path):
    model, data = files
    code, _, err = run(capsys, "fit", str(model), "--data", str(data), "--group", "cluster",
                       "--cluster", "cluster", "--out", str(tmp_path / "f"))
    assert code == 2
    assert "--group cluster (a hierarchical model: paths varying by organisation) and " \
           "'level:' blocks (a two-level model" in err


def test_level_blocks_need_cluster_and_cluster_needs_level_blocks(files, capsys, tmp_path):
    model, data = files
    code, _, err = run(capsys, "fit", str(model), "--data", str(data), "--out",
                       str(tmp_path / "f"))
    assert code == 2 and "needs the column of the organisations: add --cluster COLUMN" in err
    one = tmp_path / "one.lav"
    one.write_text("fw =~ y1 + y2 + y3\nfw ~ x1\n")
    code, _, err = run(capsys, "fit", str(one), "--data", str(data), "--cluster", "cluster",
                       "--out", str(tmp_path / "g"))
    assert code == 2 and "has no 'level: 1' / 'level: 2' blocks" in err and "--group" in err


def test_an_organisation_level_variable_at_level_1_is_named(files, capsys, tmp_path):
    model, data = files
    frame = pd.read_csv(data)
    frame["x1"] = frame["w1"]  # constant within organisations
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    code, _, err = run(capsys, "fit", str(model), "--data", str(bad), "--cluster", "cluster",
                       "--out", str(tmp_path / "f"), "--quiet")
    assert code == 2 and "Traceback" not in err
    assert "'x1' is constant within every cluster of 'cluster'" in err
    assert "move it to the 'level: 2' block" in err
