"""MICOM on constructed groups whose invariance is known: one population split at random
(full invariance), group 2's items weighted the other way round (no compositional
invariance), group 2's answers shifted or spread (partial invariance: means or variances),
and an exact copy (c = 1, no differences)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.pls import estimate_pls, example_data
from connective.pls.micom import micom_pls


def _group(n, rng, lam_is=(0.8, 0.7, 0.6), shift=0.0, spread=1.0):
    eta1 = rng.standard_normal(n)
    eta2 = 0.5 * eta1 + np.sqrt(0.75) * rng.standard_normal(n)
    cols = {}
    for name, eta, lam in (("is", eta1, lam_is), ("ci", eta2, (0.8, 0.7, 0.6))):
        for k, l in enumerate(lam, start=1):
            x = l * eta + np.sqrt(1 - l**2) * rng.standard_normal(n)
            cols[f"{name}{k}"] = (shift + spread * x) if name == "is" else x
    return pd.DataFrame(cols)


def _micom(second: dict, n=250, seed=0, n_perm=400):
    rng = np.random.default_rng(seed)
    frame = pd.concat([_group(n, rng), _group(n, rng, **second)], ignore_index=True)
    spec, _ = example_data(10)
    return micom_pls(estimate_pls(spec, frame), np.arange(2 * n) < n, n_perm=n_perm, seed=4)


def test_one_population_is_fully_invariant():
    mi = _micom({})
    assert mi.table()["verdict"].tolist() == ["full", "full"]
    assert (mi.table()["c"] > 0.98).all()
    assert "full measurement invariance" in mi.verdict()


def test_reversed_weights_break_compositional_invariance():
    mi = _micom({"lam_is": (0.15, 0.3, 0.95)})
    t = mi.table()
    assert not t.loc["IS", "compositional"] and t.loc["IS", "verdict"] == "none"
    assert t.loc["CI", "compositional"]
    assert "no compositional invariance for IS" in mi.verdict()


@pytest.mark.parametrize("second, failing", [({"shift": 0.6}, "equal_means"),
                                             ({"spread": 1.6}, "equal_variances")])
def test_shifted_or_spread_answers_give_partial_invariance(second, failing):
    t = _micom(second).table()
    assert t.loc["IS", "compositional"] and not t.loc["IS", failing]
    assert t.loc["IS", "verdict"] == "partial" and t.loc["CI", "verdict"] == "full"


def test_an_exact_copy_has_c_one_and_no_differences():
    spec, frame = example_data(120)
    doubled = pd.concat([frame, frame], ignore_index=True)
    mi = micom_pls(estimate_pls(spec, doubled), np.arange(240) < 120, n_perm=50, seed=1)
    t = mi.table()
    np.testing.assert_allclose(t["c"], 1.0, atol=1e-12)
    np.testing.assert_allclose(t["mean_diff"], 0.0, atol=1e-12)
    np.testing.assert_allclose(t["logvar_diff"], 0.0, atol=1e-12)


def test_c_is_the_correlation_of_the_two_groups_scores():
    spec, frame = example_data(160)
    res = estimate_pls(spec, frame)
    g = np.arange(160) < 70
    t = micom_pls(res, g, n_perm=20, seed=1).table()
    X = res.data.X
    w1, w2 = (estimate_pls(spec, frame[sel]).fit["weights"] for sel in (g, ~g))
    for j, c in enumerate(res.model.constructs):
        cols = res.model.block_columns(j)
        r = np.corrcoef(X[:, cols] @ w1[cols], X[:, cols] @ w2[cols])[0, 1]
        assert t.loc[c, "c"] == pytest.approx(r, abs=1e-12)
        s = res.scores[c].to_numpy()
        assert t.loc[c, "mean_diff"] == pytest.approx(s[g].mean() - s[~g].mean(), abs=1e-12)
        assert t.loc[c, "logvar_diff"] == pytest.approx(
            np.log(s[g].var(ddof=1)) - np.log(s[~g].var(ddof=1)), abs=1e-12)


def test_a_path_model_of_observed_variables_has_nothing_to_test():
    from connective.spec import parse_model

    rng = np.random.default_rng(1)
    x = rng.standard_normal(120)
    frame = pd.DataFrame({"X": x, "Y": 0.5 * x + rng.standard_normal(120)})
    res = estimate_pls(parse_model("Y ~ X"), frame)
    mi = micom_pls(res, np.arange(120) < 60, n_perm=20, seed=1)
    assert mi.table().empty and "no composites" in mi.verdict()
