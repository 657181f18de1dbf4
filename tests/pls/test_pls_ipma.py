"""IPMA on constructed cases whose answers are known: single items (importance is the OLS
slope of the rescaled answers, performance their rescaled mean), a chain (importance of the
first construct is the product of the slopes), invariance to the units of the answers, and
the rescaled weights' and importances' sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.errors import ConnectiveError
from connective.pls import estimate_pls, example_data
from connective.pls.ipma import ipma_pls
from connective.spec import parse_model


def _likert(x, lo=1, hi=7):
    return np.clip(np.round(x), lo, hi)


def _chain(n=400, seed=0):
    rng = np.random.default_rng(seed)
    a = _likert(4 + 1.2 * rng.standard_normal(n))
    m = _likert(1 + 0.6 * a + rng.standard_normal(n))
    y = _likert(2 + 0.5 * m + rng.standard_normal(n))
    return pd.DataFrame({"a": a, "m": m, "y": y})


def _slope(x, y):
    return np.polyfit(x, y, 1)[0]


def test_single_items_importance_is_the_slope_and_performance_the_mean():
    frame = _chain()
    spec = parse_model("A =~ a\nM =~ m\nY =~ y\nM ~ A\nY ~ M")
    ipma = ipma_pls(estimate_pls(spec, frame), "Y", scale=(1, 7))
    r = {c: 100 * (frame[c] - 1) / 6 for c in "amy"}
    # M -> Y: the only path into Y; A -> Y: through M only (product of the two slopes)
    assert ipma.constructs.at["M", "importance"] == pytest.approx(_slope(r["m"], r["y"]), abs=1e-10)
    assert ipma.constructs.at["A", "importance"] == pytest.approx(
        _slope(r["a"], r["m"]) * _slope(r["m"], r["y"]), abs=1e-10)
    assert ipma.constructs.at["A", "performance"] == pytest.approx(r["a"].mean(), abs=1e-10)
    assert ipma.target_performance == pytest.approx(r["y"].mean(), abs=1e-10)


def test_observed_range_is_the_default_and_is_noted():
    frame = _chain()
    frame.loc[0, "a"] = 7  # make sure the observed range is 1..7 here
    frame.loc[1, "a"] = 1
    spec = parse_model("A =~ a\nM =~ m\nY =~ y\nM ~ A\nY ~ M")
    res = estimate_pls(spec, frame)
    lo, hi = frame["a"].min(), frame["a"].max()
    ipma = ipma_pls(res, "Y")
    assert ipma.constructs.at["A", "performance"] == pytest.approx(
        (100 * (frame["a"] - lo) / (hi - lo)).mean(), abs=1e-10)
    assert any("observed minimum and maximum" in n for n in ipma.notes)


def test_units_of_the_answers_do_not_matter_and_weights_sum_to_one():
    spec, frame = example_data(300)
    frame = frame.apply(lambda c: _likert(4 + 1.5 * c))
    res = estimate_pls(spec, frame)
    one = ipma_pls(res, "CI", scale=(1, 7))
    other = frame * 10 + 3  # the same answers on a 13..73 scale
    two = ipma_pls(estimate_pls(spec, other), "CI", scale=(13, 73))
    pd.testing.assert_frame_equal(one.constructs, two.constructs, atol=1e-9)
    pd.testing.assert_frame_equal(one.indicators, two.indicators, atol=1e-9)
    w = one.indicators["weight"]
    assert w.sum() == pytest.approx(1.0)
    assert one.indicators["importance"].sum() == pytest.approx(one.constructs.at["IS", "importance"])
    assert 0 < one.constructs.at["IS", "performance"] < 100


def test_top_answers_everywhere_is_performance_100():
    spec, frame = example_data(100)
    frame = frame.apply(lambda c: _likert(4 + 1.5 * c))
    frame.iloc[:, :3] = 7.0
    frame.iloc[0, :3] = 6.0  # one answer short of the top so the columns vary
    ipma = ipma_pls(estimate_pls(spec, frame), "CI", scale=(1, 7))
    assert ipma.constructs.at["IS", "performance"] > 99.5


def test_bad_targets_and_scales_are_clear_errors():
    spec, frame = example_data(50)
    res = estimate_pls(spec, frame)
    with pytest.raises(ConnectiveError, match="--ipma XX: not a construct"):
        ipma_pls(res, "XX")
    with pytest.raises(ConnectiveError, match="--ipma IS: no construct has an effect"):
        ipma_pls(res, "IS")
    with pytest.raises(ConnectiveError, match="answers outside its scale"):
        ipma_pls(res, "CI", scale=(0, 1))
