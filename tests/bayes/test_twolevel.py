"""The two-level likelihood (bayes/twolevel.py): lavaan's log-likelihood at lavaan's
estimates, and each cluster's term against the normal density of its stacked answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from connective.bayes.matrices import build_layout, implied_moments
from connective.bayes.twolevel import (cluster_loglik, cluster_statistics, embeddings,
                                       twolevel_loglik)
from connective.errors import ConnectiveError
from connective.spec.levels import check_cluster_data, parse_twolevel

REFERENCE = Path(__file__).parents[1] / "conformance" / "lavaan_twolevel"


def _demo(benchmarks):
    folder = benchmarks / "reference" / "lavaan_tutorial"
    two = parse_twolevel((folder / "twolevel.lav").read_text(), source="twolevel.lav")
    frame = check_cluster_data(two, pd.read_csv(benchmarks / "data" / "Demo.twolevel.csv"),
                               "cluster")
    ref = pd.read_csv(folder / "twolevel_parameterEstimates.csv", keep_default_na=False,
                      na_values=["NA"])
    return two, frame, ref


def _moments(two, ref):
    out = []
    for level, spec in two.levels.items():
        rows = ref[ref["level"] == level]
        layout = build_layout(spec)
        theta = layout.values({f"{r.lhs}{r.op}{r.rhs}": r.est for r in rows.itertuples()})
        out += list(implied_moments(layout, theta))
    return out  # mu_w, sigma_w, mu_b, sigma_b


def test_loglik_at_lavaans_estimates_is_lavaans(benchmarks):
    two, frame, ref = _demo(benchmarks)
    stats = cluster_statistics(frame, "cluster", list(two.within.observed),
                               list(two.between_only))
    E_w, E_b = embeddings(two, stats)
    mu_w, sigma_w, mu_b, sigma_b = _moments(two, ref)
    ours = twolevel_loglik(stats.arrays(), E_w, E_b, mu_w, sigma_w, mu_b, sigma_b)
    # lavaan reports the log-likelihood given the fixed.x covariates: ours minus their
    # marginal log-likelihood (respondents' x1-x3, organisations' w1, w2) at the sample moments
    x = frame[["x1", "x2", "x3"]].to_numpy()
    w = frame.groupby("cluster")[["w1", "w2"]].first().to_numpy()
    covariates = sum(multivariate_normal(v.mean(0), np.cov(v.T, ddof=0)).logpdf(v).sum()
                     for v in (x, w))
    measures = pd.read_csv(REFERENCE / "fit_measures.csv").set_index("measure")["value"]
    assert ours - covariates == pytest.approx(measures["logl"], abs=1e-6)
    # the per-cluster terms add up to it
    per_cluster = cluster_loglik(stats, E_w, E_b, mu_w, sigma_w, mu_b, sigma_b)
    assert per_cluster.shape == (200,)
    assert per_cluster.sum() == pytest.approx(ours, abs=1e-6)


def test_cluster_terms_are_the_normal_density_of_the_stacked_answers():
    # clusters of different sizes; y of both levels, x within only, w between only
    two = parse_twolevel("level: 1\n fw =~ y1 + y2\n fw ~ x\nlevel: 2\n fb =~ y1 + y2\n"
                         " fb ~ w")
    rng = np.random.default_rng(4)
    sizes = [1, 2, 3, 3, 5]
    org = np.repeat(np.arange(len(sizes)), sizes)
    frame = pd.DataFrame(rng.normal(size=(len(org), 3)), columns=["y1", "y2", "x"])
    frame["w"] = rng.normal(size=len(sizes))[org]
    frame["org"] = org
    moments = []
    for spec in (two.within, two.between):
        layout = build_layout(spec)
        theta = rng.uniform(0.3, 0.9, size=layout.n_params)
        moments += list(implied_moments(layout, theta))
    mu_w, sigma_w, mu_b, sigma_b = moments
    stats = cluster_statistics(frame, "org", list(two.within.observed), ["w"])
    E_w, E_b = embeddings(two, stats)
    ours = cluster_loglik(stats, E_w, E_b, *moments)
    wv, bv = list(two.within.observed), list(two.between.observed)
    for j, n in enumerate(sizes):
        rows = frame[frame["org"] == j]
        # stacked: w once, then each respondent's within variables
        names = ["w"] + [f"{v}#{i}" for i in range(n) for v in wv]
        cov = pd.DataFrame(0.0, index=names, columns=names)
        mean = pd.Series(0.0, index=names)
        mean["w"] = mu_b[bv.index("w")]
        cov.loc["w", "w"] = sigma_b[bv.index("w"), bv.index("w")]
        for i in range(n):
            for a in wv:
                mean[f"{a}#{i}"] = mu_w[wv.index(a)] + (mu_b[bv.index(a)] if a in bv else 0)
                if a in bv:
                    cov.loc["w", f"{a}#{i}"] = cov.loc[f"{a}#{i}", "w"] = \
                        sigma_b[bv.index("w"), bv.index(a)]
                for k in range(n):
                    for b in wv:
                        between = sigma_b[bv.index(a), bv.index(b)] if a in bv and b in bv \
                            else 0.0
                        within = sigma_w[wv.index(a), wv.index(b)] if i == k else 0.0
                        cov.loc[f"{a}#{i}", f"{b}#{k}"] = between + within
        y = np.concatenate([[rows["w"].iloc[0]], rows[wv].to_numpy().ravel()])
        exact = multivariate_normal(mean.to_numpy(), cov.to_numpy()).logpdf(y)
        assert ours[j] == pytest.approx(exact, abs=1e-9)
    assert ours.sum() == pytest.approx(twolevel_loglik(stats.arrays(), E_w, E_b, *moments),
                                       abs=1e-9)


def test_a_covariate_at_both_levels_with_fixed_x_is_refused():
    from connective.bayes.twolevel import build_twolevel_model

    two = parse_twolevel("level: 1\n y ~ x\nlevel: 2\n y ~ x")
    frame = pd.DataFrame({"y": np.arange(8.0), "x": [0.0, 1, 3, 2, 5, 4, 7, 9],
                          "org": np.repeat([1, 2, 3, 4], 2)})
    with pytest.raises(ConnectiveError, match="'x' are in both levels.*fixed.x = FALSE"):
        build_twolevel_model(two, frame, "org")


def test_a_two_level_model_is_compiled_as_any_other(benchmarks, monkeypatch):
    """``sample`` hands a two-level model to ``compile_model`` as a one-level one, which
    keeps its record of the compiler asked for and the one that compiled it (a field that
    two-level models lacked made every two-level fit with nutpie fail). The compilation
    itself (minutes for a new two-level model) is the slow recovery test's."""
    import importlib

    from connective.bayes.twolevel import build_twolevel_model

    pytest.importorskip("nutpie")

    sampling = importlib.import_module("connective.bayes.sample")  # (the package's is a function)
    two, frame, _ = _demo(benchmarks)
    tm = build_twolevel_model(two, frame, "cluster")
    asked = []
    monkeypatch.setattr(sampling, "_compiled",
                        lambda bm, compiler: asked.append(compiler) or ("made", "numba"))
    assert sampling.compile_model(tm) == "made"
    assert (tm.compiled_by, tm.compiler_asked, asked) == ("numba", "tape", ["tape"])
    assert sampling.compile_model(tm) == "made" and asked == ["tape"]  # kept, not again
