"""PLSpredict against seminr's ``predict_pls`` on mobi (the 7-construct model with the
single item Complaints; ``reference/seminr_mobi_extras``): leave-one-out for both techniques,
PLS and LM, to 1e-6 (``make_reference_predict_loocv.R``); and the 10-fold run of
``make_reference.R`` (set.seed(123), 10 folds x 10 repetitions) with R's shuffle, which
``fixtures/r_shuffle_seed123.R`` wrote: seminr shuffles once for all repetitions, so its ten
repetitions are one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connective.errors import ConnectiveError
from connective.pls import estimate_pls, example_data
from connective.pls.predict import fold_assignments, predict_pls, r_cut
from connective.spec import parse_model

TOL = 1e-6
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def mobi(benchmarks, mobi_single_model, mobi_frame):
    return estimate_pls(parse_model(mobi_single_model), mobi_frame), benchmarks / "reference" / "seminr_mobi_extras"


def _compare(table, ref_file, engine):
    ref = pd.read_csv(ref_file, index_col=0)
    assert sorted(ref.columns) == sorted(table.index)
    for metric in ("RMSE", "MAE"):
        ours = table[f"{engine}_{metric.lower()}"]
        np.testing.assert_allclose(ours.to_numpy(), ref.loc[metric, ours.index].to_numpy(),
                                   rtol=0, atol=TOL, err_msg=f"{ref_file.name} {metric}")


@pytest.mark.parametrize("technique", ["DA", "EA"])
def test_loocv_matches_seminr(mobi, technique):
    result, ref = mobi
    table = predict_pls(result, technique=technique, folds=None).table()
    for engine in ("pls", "lm"):
        _compare(table, ref / f"mobi_predict_loocv_predict_{technique}_{engine}.csv", engine)


def test_ten_folds_with_rs_shuffle_match_seminr(mobi):
    result, ref = mobi
    order = np.loadtxt(FIXTURES / "r_shuffle_seed123_n250.txt", dtype=int) - 1
    folds = fold_assignments(result.n, 10, orders=order[None])
    table = predict_pls(result, technique="DA", assignments=folds).table()
    _compare(table, ref / "mobi_predict_pls_out_of_sample.csv", "pls")
    _compare(table, ref / "mobi_predict_lm_out_of_sample.csv", "lm")


def test_the_two_techniques_differ_only_beyond_the_first_layer(mobi):
    """Expectation has only exogenous Image as antecedent: DA and EA predict its items alike;
    Satisfaction's differ (EA goes through Quality and Value)."""
    result, _ = mobi
    da = predict_pls(result, technique="DA", folds=None).table()
    ea = predict_pls(result, technique="EA", folds=None).table()
    exp = da["construct"] == "Expectation"
    assert np.allclose(da.loc[exp, "pls_rmse"], ea.loc[exp, "pls_rmse"], atol=1e-12)
    sat = da["construct"] == "Satisfaction"
    assert np.all(np.abs(da.loc[sat, "pls_rmse"] - ea.loc[sat, "pls_rmse"]) > 1e-3)


def test_r_cut_is_rs_cut():
    # R: cut(seq(1, 11), breaks = 5, labels = FALSE) -> 1 1 1 2 2 3 3 4 4 5 5
    assert (r_cut(11, 5) + 1).tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # R: cut(seq(1, 250), breaks = 10, labels = FALSE): 25 rows per fold
    assert np.bincount(r_cut(250, 10)).tolist() == [25] * 10


def test_folds_are_seeded_and_repetitions_differ():
    a = fold_assignments(50, 5, repetitions=3, seed=9)
    assert np.array_equal(a, fold_assignments(50, 5, repetitions=3, seed=9))
    assert not np.array_equal(a[0], a[1])
    assert all(sorted(np.bincount(r).tolist()) == [10] * 5 for r in a)


def test_repetitions_average_predictions_and_same_seed_same_numbers():
    spec, frame = example_data(90)
    res = estimate_pls(spec, frame)
    one = predict_pls(res, folds=5, repetitions=3, seed=4)
    again = predict_pls(res, folds=5, repetitions=3, seed=4)
    assert one.table().equals(again.table())
    singles = [predict_pls(res, assignments=one.assignments[r:r + 1]).pls for r in range(3)]
    np.testing.assert_allclose(one.pls.to_numpy(), sum(s.to_numpy() for s in singles) / 3,
                               atol=1e-12)


def test_true_model_predicts_better_than_the_mean():
    spec, frame = example_data(300)
    pred = predict_pls(estimate_pls(spec, frame), folds=10, seed=2)
    t = pred.table()
    assert (t["q2_predict"] > 0.1).all()
    assert "Q2predict > 0 for all 3 indicators" in pred.verdict()


def test_noise_target_has_no_predictive_relevance():
    spec, frame = example_data(200)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(frame))  # the target: a factor unrelated to IS
    for c in ("ci1", "ci2", "ci3"):
        frame[c] = 0.8 * noise + 0.6 * rng.standard_normal(len(frame))
    pred = predict_pls(estimate_pls(spec, frame), folds=10, seed=2)
    assert "no predictive relevance" in pred.verdict()


def test_bad_folds_and_target_are_clear_errors():
    spec, frame = example_data(30)
    res = estimate_pls(spec, frame)
    with pytest.raises(ConnectiveError, match="--predict-folds 40"):
        predict_pls(res, folds=40)
    with pytest.raises(ConnectiveError, match="--predict-target IS"):
        predict_pls(res, folds=5, seed=1).verdict(target="IS")


def test_inadmissible_plsc_training_fits_are_counted(mobi):
    import warnings

    result, _ = mobi
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plsc = estimate_pls(result.spec, pd.DataFrame(
            result.data.X * result.data.sds + result.data.means,
            columns=list(result.model.columns)), consistent=True)
    notes = predict_pls(plsc, folds=10, repetitions=2, seed=1).notes
    assert any("training fits" in n and "inadmissible" in n for n in notes)
    assert not any("inadmissible" in n for n in predict_pls(result, folds=10, seed=1).notes)
