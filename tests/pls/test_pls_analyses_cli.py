"""``connective pls --predict --mga --ipma``: the CSV files in the run folder, the seed that
makes them reproducible, and user errors in command-line terms (no traceback)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from connective.cli import main
from connective.folders import check_run_folder


@pytest.fixture(scope="module")
def mobi_files(tmp_path_factory, benchmarks, mobi_single_model):
    folder = tmp_path_factory.mktemp("mobi")
    (folder / "mobi.lav").write_text(mobi_single_model)
    return folder / "mobi.lav", benchmarks / "data" / "mobi.csv"


def _run(model, data, out, *extra):
    return main(["pls", str(model), "--data", str(data), "--out", str(out), "--quiet", *extra])


def test_analyses_write_their_tables_and_record_the_seed(mobi_files, tmp_path, benchmarks):
    model, data = mobi_files
    flags = ["--predict", "--predict-folds", "loo", "--mga", "CUEX1<8", "--mga-boot", "100",
             "--permutations", "50", "--ipma", "Loyalty", "--likert", "*=1-10", "--seed", "4"]
    assert _run(model, data, tmp_path / "a", *flags) == 0
    out = tmp_path / "a"
    check_run_folder(out)
    names = {p.name for p in out.iterdir()}
    assert {"predict.csv", "mga.csv", "micom.csv", "ipma_constructs.csv",
            "ipma_indicators.csv"} <= names
    # leave-one-out through the command line is seminr's number too
    pred = pd.read_csv(out / "predict.csv").set_index("indicator")
    ref = pd.read_csv(benchmarks / "reference" / "seminr_mobi_extras"
                      / "mobi_predict_loocv_predict_DA_pls.csv", index_col=0)
    np.testing.assert_allclose(pred["pls_rmse"], ref.loc["RMSE", pred.index], atol=1e-6)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["analyses"]["seed"] == 4 and summary["seed"] == 4
    assert summary["analyses"]["mga"]["n"] == [108, 142]
    assert "predictive power" in summary["analyses"]["predict"]["verdict"]
    ipma = pd.read_csv(out / "ipma_indicators.csv")
    assert set(ipma["construct"]) == {"Image", "Expectation", "Quality", "Value",
                                      "Satisfaction", "Complaints"}
    assert _run(model, data, tmp_path / "b", *flags) == 0  # same seed, same numbers
    for name in ("mga.csv", "micom.csv", "predict.csv"):
        assert (out / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


@pytest.mark.parametrize("flags, message", [
    (["--mga", "NOPE<3"], "--mga NOPE<3: the data have no column 'NOPE'"),
    (["--ipma", "Nothing"], "--ipma Nothing: not a construct"),
    (["--predict", "--predict-target", "Nothing"], "--predict-target Nothing: not a construct"),
    (["--predict", "--predict-folds", "1"], "--predict-folds"),
])
def test_bad_flags_are_one_clear_message(mobi_files, tmp_path, capsys, flags, message):
    model, data = mobi_files
    with pytest.raises(SystemExit) if flags[-1] == "1" else _no_raise():
        code = _run(model, data, tmp_path / "x", *flags)
        assert code != 0
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
