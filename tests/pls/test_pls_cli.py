"""``connective pls``: the files it writes, their columns, reproducibility, user errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from connective.cli import main
from connective.pls import example_data


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A small simulated survey for the bundled connective-action model's constructs."""
    rng = np.random.default_rng(11)
    n = 120
    names = {"IS": 4, "CI": 3, "CE": 3, "CID": 4, "EFF": 3, "INJ": 3, "OCA": 4}
    eta = {"IS": rng.standard_normal(n)}
    for target, sources in (("CI", ["IS"]), ("CE", ["IS"]), ("CID", ["CI"]), ("EFF", ["CE", "CID"]),
                            ("INJ", ["CID"]), ("OCA", ["CID", "EFF", "INJ"])):
        eta[target] = sum(0.35 * eta[s] for s in sources) + rng.standard_normal(n)
    cols = {}
    for c, k in names.items():
        z = eta[c] / eta[c].std()
        for i in range(1, k + 1):
            x = 0.8 * z + 0.6 * rng.standard_normal(n)
            cols[f"{c.lower()}{i}"] = np.clip(np.round(4 + 1.3 * x), 1, 7)
    path = tmp_path_factory.mktemp("data") / "survey.csv"
    pd.DataFrame(cols).to_csv(path, index=False)
    return path


def test_pls_writes_all_files(survey, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["pls", "connective_action", "--data", str(survey), "--out", str(out),
                 "--boot", "200", "--seed", "7", "--quiet"])
    assert code == 0
    params = pd.read_csv(out / "parameters.csv")
    assert list(params.columns) == ["lhs", "op", "rhs", "est", "se", "ci.lower", "ci.upper"]
    assert set(params["op"]) == {"=~", "<~", "~", "r2"}
    assert len(params[params["op"] == "~"]) == 9
    path = params[(params.lhs == "OCA") & (params.op == "~") & (params.rhs == "CID")].iloc[0]
    assert path["ci.lower"] < path["est"] < path["ci.upper"]
    effects = pd.read_csv(out / "effects.csv")
    assert list(effects.columns) == ["effect", "kind", "source", "target", "est", "ci.lower",
                                     "ci.upper"]
    assert {"direct", "indirect", "total_indirect", "total", "defined"} == set(effects["kind"])
    fx = effects.set_index("effect")
    b = params.set_index(["lhs", "rhs"])["est"]
    assert fx.loc["obligatory", "est"] == pytest.approx(b[("CID", "CI")] * b[("OCA", "CID")])
    rel = pd.read_csv(out / "reliability.csv")
    assert list(rel.columns) == ["construct", "mode", "alpha", "rhoA", "rhoC", "AVE", "flags"]
    assert len(rel) == 7
    htmt = pd.read_csv(out / "htmt.csv")
    assert len(htmt) == 21 and {"htmt", "htmt2", "ci.lower", "ci.upper"} <= set(htmt.columns)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 7 and summary["settings"]["boot"] == 200
    assert summary["settings"]["scheme"] == "path" and summary["engine"] == "PLS"
    assert summary["data_fingerprint"].startswith("sha256:")
    assert summary["synthetic_data"] is False
    # same seed, same numbers
    again = tmp_path / "again"
    main(["pls", "connective_action", "--data", str(survey), "--out", str(again),
          "--boot", "200", "--seed", "7", "--quiet"])
    assert (out / "parameters.csv").read_text() == (again / "parameters.csv").read_text()


def test_pls_without_bootstrap_and_with_options(survey, tmp_path, capsys):
    out = tmp_path / "plain"
    assert main(["pls", "connective_action", "--data", str(survey), "--out", str(out),
                 "--scheme", "factorial", "--consistent"]) == 0
    text = capsys.readouterr().out
    assert "PLSc path model" in text and "factorial scheme" in text
    params = pd.read_csv(out / "parameters.csv")
    assert list(params.columns) == ["lhs", "op", "rhs", "est"]
    effects = pd.read_csv(out / "effects.csv")
    assert effects["ci.lower"].isna().all()
    assert json.loads((out / "summary.json").read_text())["engine"] == "PLSc"


def test_pls_missing_values_need_a_choice(tmp_path, capsys):
    spec, frame = example_data(60)
    frame.loc[2, "ci1"] = np.nan
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    model = tmp_path / "m.lav"
    model.write_text(spec.text)
    out = tmp_path / "out"
    assert main(["pls", str(model), "--data", str(data), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing values in ci1 (1); choose a treatment explicitly" in err
    assert not out.exists()
    assert main(["pls", str(model), "--data", str(data), "--out", str(out), "--missing", "mean",
                 "--boot", "50", "--seed", "1", "--ci", "bca", "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["missing"] == "mean"
    assert summary["settings"]["missing_by_column"] == {"ci1": 1}
    assert summary["settings"]["ci"] == "bca"


def test_pls_missing_codes(benchmarks, tmp_path):
    """corp_rep_data codes missing answers as -99: they become missing values."""
    model = tmp_path / "corp.lav"
    model.write_text("COMP =~ comp_1 + comp_2 + comp_3\nLIKE =~ like_1 + like_2 + like_3\n"
                     "cusa ~ COMP + LIKE\n")
    data = benchmarks / "data" / "corp_rep_data.csv"
    out = tmp_path / "out"
    assert main(["pls", str(model), "--data", str(data), "--out", str(out), "--quiet",
                 "--missing-codes", "-99", "--missing", "casewise"]) == 0
    settings = json.loads((out / "summary.json").read_text())["settings"]
    assert settings["missing_codes"] == [-99.0]
    assert settings["missing_cells"] > 0 and settings["n_used"] < settings["n_rows"] == 344
    params = pd.read_csv(out / "parameters.csv")
    assert (params.loc[params["op"] == "=~", "est"] > 0.5).all()
