"""Exact refits for LOO (--reloo, --kfold): the held-out densities against refits done by
hand, and the refusals (too many high-k respondents, a run folder without its data)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from connective.bayes import fit
from connective.cli import main
from connective.compare import loo_refit
from connective.compare.loo import compare_loo, read_loo_run
from connective.data.readers import read_survey
from connective.errors import ConnectiveError
from connective.spec import parse_model

ONE = parse_model("F =~ x1 + x2 + x3")
SAMPLING = dict(draws=150, tune=150, chains=2, seed=3)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """60 respondents of a one-factor model, fitted and saved (one compilation; LOO compares
    the run with itself, which the refits treat as two runs)."""
    root = tmp_path_factory.mktemp("reloo")
    rng = np.random.default_rng(8)
    f = rng.normal(size=60)
    frame = pd.DataFrame({f"x{j}": 0.8 * f + rng.normal(0, 0.6, 60) for j in (1, 2, 3)})
    frame.to_csv(root / "survey.csv", index=False)
    survey = read_survey(root / "survey.csv")
    out = {"root": root, "frame": survey.frame[list(ONE.observed)]}
    fit(ONE, out["frame"], data_source=str(root / "survey.csv"), **SAMPLING).save(root / "one")
    shutil.copytree(root / "one", root / "again")
    out["one"], out["again"] = root / "one", root / "again"
    return out


def _by_hand(spec, train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """The held-out rows' log predictive densities from a refit on ``train``, with scipy's
    normal density of the one-factor model's implied moments (mu = nu, Sigma = l l' psi +
    Theta), computed here from the parameters by name."""
    result = fit(spec, train.reset_index(drop=True), **SAMPLING)
    post = result.idata.posterior["parameters"].stack(s=("chain", "draw")).transpose("s", "param")
    get = lambda name: post.sel(param=name).to_numpy() if name in post.param.values else None
    S = post.sizes["s"]
    lam = np.stack([np.ones(S), get("F=~x2"), get("F=~x3") if get("F=~x3") is not None
                    else np.zeros(S)], axis=1)
    theta = np.stack([get(f"x{j}~~x{j}") for j in (1, 2, 3)], axis=1)
    nu = np.stack([get(f"x{j}~1") for j in (1, 2, 3)], axis=1)
    ll = np.empty((S, len(test)))
    for s in range(S):
        sigma = np.outer(lam[s], lam[s]) * get("F~~F")[s] + np.diag(theta[s])
        ll[s] = multivariate_normal(nu[s], sigma).logpdf(test.to_numpy())
    return np.logaddexp.reduce(ll, axis=0) - np.log(S)


@pytest.mark.slow  # four refits of two shapes (two compilations)
def test_kfold_matches_refits_by_hand_and_psis_loo(runs):
    table = compare_loo({"one": runs["one"], "again": runs["again"]}, kfold=2)
    row = table.set_index("model").loc["one"]
    # the same two folds refitted by hand with the same seed and settings
    frame = runs["frame"].reset_index(drop=True)
    order = np.random.default_rng(SAMPLING["seed"]).permutation(len(frame))
    expected = np.empty(len(frame))
    for k in range(2):
        held = np.zeros(len(frame), dtype=bool)
        held[order[k::2]] = True
        expected[held] = _by_hand(ONE, frame[~held], frame[held])
    assert row["elpd_kfold"] == pytest.approx(expected.sum(), abs=1e-6)
    assert row["se_kfold"] == pytest.approx(np.sqrt(60 * np.var(expected)), abs=1e-6)
    # 2 folds train on half the rows (30 for 9 parameters): below PSIS-LOO, by less than
    # twice its SE
    assert 0 < row["elpd_loo"] - row["elpd_kfold"] < 2 * row["se"]
    assert row["refits"] == "2 folds, 2 chains x 150 draws (+150), seed 3"


@pytest.mark.slow  # two refits on 59 rows (one compilation)
def test_reloo_refits_the_high_k_respondents_exactly(runs, monkeypatch, capsys, tmp_path):
    loo = read_loo_run("one", runs["one"])
    import arviz as az

    k = az.loo(loo.idata, pointwise=True).pareto_k.values
    worst = int(np.argmax(k))
    # a threshold just below the largest k: one respondent to refit
    monkeypatch.setattr(loo_refit, "K_THRESHOLD", float(np.sort(k)[-2]) + 1e-9)
    assert main(["loo", str(runs["one"]), str(runs["again"]), "--reloo",
                 "--out", str(tmp_path / "loo.csv")]) == 0
    out = capsys.readouterr().out
    assert f"one: refitted without respondent(s) {worst + 1} " in out
    table = pd.read_csv(tmp_path / "loo.csv")
    frame = runs["frame"].reset_index(drop=True)
    keep = np.ones(len(frame), dtype=bool)
    keep[worst] = False
    exact = _by_hand(ONE, frame[keep], frame[~keep])[0]
    psis = az.loo(loo.idata, pointwise=True)
    row = table.set_index("model").loc["one"]
    assert row["refitted"] == 1
    assert row["elpd_loo"] == pytest.approx(psis.elpd_loo - psis.loo_i.values[worst] + exact,
                                            abs=1e-6)
    # PSIS's value for the worst respondent was near the exact one (a well-behaved model)
    assert abs(exact - psis.loo_i.values[worst]) < 0.5


def test_reloo_refuses_more_high_k_than_the_cap(runs, monkeypatch):
    monkeypatch.setattr(loo_refit, "K_THRESHOLD", -1.0)  # every respondent counts as high
    with pytest.raises(ConnectiveError, match=r"one has 60 and again has 60 respondents with "
                       r"Pareto k > -1, more than --reloo-max 20: .*Use --kfold 10"):
        compare_loo({"one": runs["one"], "again": runs["again"]}, reloo=True)


def test_refits_refuse_a_run_whose_data_file_is_gone(runs):
    moved = runs["root"] / "survey.moved"
    (runs["root"] / "survey.csv").rename(moved)
    try:
        with pytest.raises(ConnectiveError, match=r"the data file the run was fitted to .* is "
                           r"not found from here, and exact refits need the respondents' rows"):
            compare_loo({"one": runs["one"], "again": runs["again"]}, kfold=2)
    finally:
        moved.rename(runs["root"] / "survey.csv")


def test_refits_refuse_a_changed_data_file(runs, tmp_path):
    path = runs["root"] / "survey.csv"
    original = path.read_text()
    changed = runs["frame"].copy()
    changed.iloc[0, 0] += 1.0
    try:
        changed.to_csv(path, index=False)
        with pytest.raises(ConnectiveError, match="has changed since one was fitted"):
            loo_refit.refit_source(read_loo_run("one", runs["one"]))
    finally:
        path.write_text(original)


@pytest.mark.slow  # an ordinal fit and five refits (two compilations)
def test_kfold_of_an_ordinal_fit_uses_the_marginal_likelihood(tmp_path, capsys):
    """5-fold CV of an ordinal fit: the held-out respondents' marginal probabilities of
    their answers (coded with the whole survey's categories) give an elpd close to PSIS-LOO
    on the marginal log-likelihood."""
    from connective.data.simulate import simulate

    spec = parse_model("F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ F")
    frame = simulate(spec, 100, seed=5, likert=5).frame[list(spec.observed)].astype(float)
    frame.to_csv(tmp_path / "likert.csv", index=False)
    fit(spec, read_survey(tmp_path / "likert.csv").frame[list(spec.observed)],
        likelihood="ordinal", data_source=str(tmp_path / "likert.csv"),
        **SAMPLING).save(tmp_path / "ord")
    shutil.copytree(tmp_path / "ord", tmp_path / "ord2")
    assert main(["loo", str(tmp_path / "ord"), str(tmp_path / "ord2"), "--kfold", "5",
                 "--out", str(tmp_path / "loo.csv")]) == 0
    out = capsys.readouterr().out
    assert "ord: fold 5 of 5 (20 respondents held out)" in out
    assert "elpd_kfold: 5-fold cross-validation" in out
    row = pd.read_csv(tmp_path / "loo.csv").set_index("model").loc["ord"]
    # trained on 80 of 100 respondents: near PSIS-LOO, well within its SE (seen: -860.4
    # against -864.0, SE 14.3; the integration noise of the marginal may favour the K-fold
    # value, a mean of p over draws, against PSIS's weights 1 / p)
    assert abs(row["elpd_loo"] - row["elpd_kfold"]) < row["se"] / 2
