"""The ordinal (ordered probit) likelihood: coding, bad input, recovery on simulated Likert
answers with missing values."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from connective.bayes.ordinal import code_items, ordinal_loglik_numpy
from connective.errors import DataError, ModelError
from connective.spec import parse_model

MODEL = "F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ b*F"


@pytest.fixture(scope="session")
def ordinal_fit():
    """300 simulated respondents, 5-point answers, 5% missing; 2 chains x 400 draws."""
    from connective.bayes import fit
    from connective.data.simulate import simulate

    spec = parse_model(MODEL)
    sim = simulate(spec, 300, seed=3, likert=5)
    frame = sim.frame[list(spec.observed)].astype(float)
    rng = np.random.default_rng(4)
    frame = frame.mask(rng.random(frame.shape) < 0.05)
    result = fit(spec, frame, likelihood="ordinal", draws=400, tune=400, chains=2, seed=2)
    return result, sim.population["values"], frame


def test_empty_category_names_item_and_category():
    frame = pd.DataFrame({"a": [1, 2, 3, 1], "b": [1, 2, 4, 4]})
    with pytest.raises(DataError, match=r"item 'b': nobody chose category 3"):
        code_items(frame, ["a", "b"])
    with pytest.raises(DataError, match="non-integer"):
        code_items(pd.DataFrame({"a": [1.5, 2, 3]}), ["a"])


def test_missing_answers_drop_out():
    frame = pd.DataFrame({"a": [1, 2, np.nan], "b": [2, np.nan, 1]})
    coded = code_items(frame, ["a", "b"])
    assert coded.rows.tolist() == [0, 0, 1, 2]
    cut = [np.array([0.0]), np.array([0.5])]
    ll = ordinal_loglik_numpy(coded, np.zeros(4), cut)
    # respondent 1 answered only a (category 2 of 2): log P(y* > 0) = log 0.5
    assert ll[1] == pytest.approx(np.log(0.5))
    assert ll[0] == pytest.approx(np.log(0.5) + np.log(1 - 0.6914624612740131))


def test_ordinal_rejects_residual_covariances():
    from connective.bayes import build_model

    frame = pd.DataFrame(np.random.default_rng(0).integers(1, 6, size=(50, 6)),
                         columns=["x1", "x2", "x3", "y1", "y2", "y3"])
    with pytest.raises(ModelError, match="residual covariances"):
        build_model(parse_model(MODEL + "\nx1 ~~ y1"), frame, likelihood="ordinal")


def test_ordinal_recovers_standardized_truth(ordinal_fit):
    result, truth, _ = ordinal_fit
    std = result.idata.posterior["std_all"]
    lo = std.quantile(0.025, ("chain", "draw"))
    hi = std.quantile(0.975, ("chain", "draw"))
    for name in ("G~F", "F=~x2", "F=~x3", "G=~y2", "G=~y3"):
        value = truth[name]
        assert float(lo.sel(std_param=name)) < value < float(hi.sel(std_param=name)), name
    s = result.summary()
    assert s["likelihood"] == "ordinal" and s["divergences"] == 0
    assert s["max_r_hat"] < 1.05


def test_ordinal_tables_and_loglik(ordinal_fit):
    result, _, frame = ordinal_fit
    table = result.parameters()
    th = table[table["op"] == "|"]
    assert len(th) == 6 * 4
    # cutpoints of every item are ordered
    for _, rows in th.groupby("lhs"):
        assert np.all(np.diff(rows["est"].to_numpy()) > 0)
    fixed = table[(table["op"] == "~~") & (table["lhs"] == "x1") & (table["rhs"] == "x1")]
    assert fixed["est"].iloc[0] == 1.0 and fixed["se"].iloc[0] == 0.0
    ll = result.idata.log_likelihood["y"]
    assert ll.sizes["respondent"] == len(frame)
    assert "z" not in result.idata.posterior and result.summary()["ppp"] is None
    assert np.isfinite(az.loo(result.idata).elpd_loo)


def test_item_checks_replicate_answers_under_the_ordinal_likelihood(ordinal_fit):
    """Wave 1 (0d589bb) replicated normal latent moments and compared them with the observed
    answers; the report then said 'not computed'. Now each draw's latent responses are cut
    by its thresholds into answers: the replicated answers are the items' own categories and
    the true model reproduces the observed answers."""
    from connective.ppc import posterior_predictive

    result, _, frame = ordinal_fit
    checks = posterior_predictive(result.spec, result.idata, frame, n_rep=100, seed=1)
    means = checks.items[checks.items["stat"] == "mean"]
    # answers on the 1-5 scale, replicated on it: predictive means lie inside the scale
    assert means["pred_mean"].between(1, 5).all() and means["lower"].ge(1).all()
    # the true model: at most one of 15 correlations and of 12 item statistics outside
    assert checks.correlations["outside"].sum() <= 1
    assert checks.items["outside"].sum() <= 1
    # the predictive interval of an item mean covers the observed mean, not a latent 0
    assert (means["observed"] - means["pred_mean"]).abs().max() < 0.15


def test_the_correlation_ppp_tells_a_wrong_model_from_the_true_one(ordinal_fit):
    from connective.ppc import posterior_predictive

    result, _, frame = ordinal_fit
    ppp = posterior_predictive(result.spec, result.idata, frame, n_rep=100, seed=1).ppp_correlations
    assert 0.05 < ppp < 0.95  # the true model
    # the same draws against answers whose items were shuffled between respondents: the
    # observed correlations vanish, and the model's predictive ones stay
    rng = np.random.default_rng(7)
    shuffled = frame.apply(lambda col: rng.permutation(col.to_numpy()))
    wrong = posterior_predictive(result.spec, result.idata, shuffled, n_rep=100, seed=1)
    assert wrong.ppp_correlations < 0.05


def test_a_large_trace_streams_to_disk_with_the_same_draws(monkeypatch, ordinal_fit):
    """Draws too large for memory (factor scores of a large survey) are written to disk as
    they are sampled and read back without the factor scores: the same draws, bit for bit."""
    import importlib

    from connective.bayes import sample

    bm = ordinal_fit[0].model  # compiled already: no second compilation
    kept = sample(bm, draws=30, tune=30, chains=2, seed=4, progress=False)
    # the module, not the function connective.bayes exports under the same name
    monkeypatch.setattr(importlib.import_module("connective.bayes.sample"), "STREAM_BYTES", 0)
    streamed = sample(bm, draws=30, tune=30, chains=2, seed=4, progress=False)
    assert "z" in kept.posterior and "z" not in streamed.posterior
    assert streamed.attrs["streamed_to_disk"] == 1 and "streamed_to_disk" not in kept.attrs
    for name in ("parameters", "loglik_respondent"):
        np.testing.assert_array_equal(streamed.posterior[name].values, kept.posterior[name].values)
    np.testing.assert_array_equal(streamed.sample_stats["n_steps"].values,
                                  kept.sample_stats["n_steps"].values)
    assert "warmup_posterior" not in kept.groups()
    # the marginal log-likelihood was integrated from the store, a block of draws at a
    # time, before the scores were dropped: the same numbers as from the scores in memory
    from connective.bayes.marginal import ordinal_marginal_draws
    from connective.bayes.results import STREAMED_MARGINAL, marginal_seed

    assert streamed.attrs["marginal_nodes"] > 0
    in_memory = ordinal_marginal_draws(kept.posterior, bm.layout, bm.ordinal,
                                       seed=marginal_seed(4), block_bytes=8 * 300 * 2 * 7)
    for name, values in zip(STREAMED_MARGINAL, (in_memory.loglik, in_memory.mcse)):
        np.testing.assert_array_equal(streamed.posterior[name].values.reshape(60, -1), values)
    # and it is the log-likelihood LOO ranks, as a fit kept in memory has it
    from connective.bayes.results import augment

    augment(kept, bm, seed=4), augment(streamed, bm, seed=4)
    assert streamed.posterior.attrs["loglik"] == "marginal"
    np.testing.assert_array_equal(streamed.log_likelihood["y"].values,
                                  kept.log_likelihood["y"].values)
    assert STREAMED_MARGINAL[0] not in streamed.posterior


def test_a_compiled_ordinal_model_takes_new_answers_to_the_same_cells(ordinal_fit):
    """with_data points a compiled ordinal model at other answers to the same cells: the
    same draws, bit for bit, as a model built on them; other cells are refused."""
    from connective.bayes import build_model, sample, with_data
    from connective.errors import ConnectiveError

    result, _, frame = ordinal_fit
    bm = result.model  # compiled already
    reversed_ = 6.0 - frame  # the scales reversed: the same answered cells and categories
    try:
        with_data(bm, reversed_)
        reused = sample(bm, draws=30, tune=30, chains=2, seed=5, progress=False)
        built = sample(build_model(result.spec, reversed_, likelihood="ordinal"), draws=30,
                       tune=30, chains=2, seed=5, progress=False)
        np.testing.assert_array_equal(reused.posterior["parameters"].values,
                                      built.posterior["parameters"].values)
        with pytest.raises(ConnectiveError, match="the new answers fill other cells"):
            with_data(bm, _other_cells(frame))
    finally:
        with_data(bm, frame)  # the fixture's model serves other tests


def _other_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the missing answer of a row that misses only the first item moved to
    a complete row: the same missingness patterns and rows per pattern, other cells."""
    out = frame.copy()
    only_first = np.flatnonzero(out.iloc[:, 0].isna() & out.iloc[:, 1:].notna().all(axis=1))
    complete = np.flatnonzero(out.notna().all(axis=1))
    a, b = only_first[0], complete[0]
    out.iloc[a, 0], out.iloc[b, 0] = out.iloc[b, 0], np.nan
    return out


@pytest.mark.parametrize("share_missing", [0.0, 0.05])
def test_whitened_scores_keep_the_non_centred_posterior(share_missing):
    """The whitened scores are a change of variables, u -> z affine at every parameter
    value: the log-density in u equals the non-centred one at z(u) plus n log|dz/du|, with
    dz/du read off the model's own z (not re-derived), at a random point."""
    from connective.bayes import build_model, ordinal
    from connective.data.simulate import simulate

    spec = parse_model(MODEL)
    frame = simulate(spec, 40, seed=5, likert=5).frame[list(spec.observed)].astype(float)
    frame = frame.mask(np.random.default_rng(6).random(frame.shape) < share_missing)
    whitened = build_model(spec, frame, likelihood="ordinal").model
    ordinal.SCORES = "non-centred"
    try:
        plain = build_model(spec, frame, likelihood="ordinal").model
    finally:
        ordinal.SCORES = "whitened"
    assert "z_whitened" in whitened.named_vars and "z_whitened" not in plain.named_vars
    rng = np.random.default_rng(7)
    point = {k: v + 0.3 * rng.standard_normal(np.shape(v))
             for k, v in whitened.initial_point().items()}
    z_of = whitened.compile_fn(whitened.replace_rvs_by_values([whitened["z"]])[0],
                               inputs=whitened.value_vars, on_unused_input="ignore")
    z = z_of(point)
    # dz/du of respondent 3, column by column; nobody else's scores move
    step = 0.5
    jac = np.empty((z.shape[1], z.shape[1]))
    for k in range(z.shape[1]):
        moved = dict(point, z_whitened=point["z_whitened"].copy())
        moved["z_whitened"][3, k] += step
        dz = z_of(moved) - z
        assert np.abs(np.delete(dz, 3, axis=0)).max() == 0.0
        moved["z_whitened"][3, k] += step  # affine: twice the step, twice the change
        np.testing.assert_allclose(z_of(moved)[3] - z[3], 2 * dz[3], rtol=1e-10, atol=1e-12)
        jac[:, k] = dz[3] / step
    same = {k: v for k, v in point.items() if k != "z_whitened"}
    expected = plain.compile_logp()(dict(same, z=z)) + len(z) * np.linalg.slogdet(jac)[1]
    assert whitened.compile_logp()(point) == pytest.approx(expected, rel=1e-10)
