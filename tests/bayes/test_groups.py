"""Hierarchical models (issue [5/6]): the group design and its errors, the population
average of products of varying paths, the two grouped likelihoods, recovery with 8 groups of
unequal sizes (partial pooling beats separate fits for the smallest groups) and within-person
mediation with a covariance between a and b; the ordinal likelihood with 8 groups."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from connective.bayes.groups import group_design
from connective.bayes.matrices import build_layout
from connective.effects import compute_effects, population_effects
from connective.errors import DataError, ModelError
from connective.spec import parse_model

MEDIATION = "M ~ a*X\nY ~ b*M + cp*X\nind := a*b\nserial := a*b*cp"


def _frame(groups=("a", "a", "b", "b", "b")):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"g": list(groups), "X": rng.normal(size=len(groups)),
                         "M": rng.normal(size=len(groups)), "Y": rng.normal(size=len(groups)),
                         "logic": ["p" if g == "a" else "q" for g in groups]})


def _design(frame, **kw):
    spec = parse_model(MEDIATION)
    return group_design(frame, spec, build_layout(spec), "g", **kw)


# -- the design and its errors ---------------------------------------------------------------

def test_design_errors_name_the_problem():
    with pytest.raises(DataError, match=r"no group column 'gg'; did you mean g\?"):
        group_design(_frame(), parse_model(MEDIATION), None, "gg")
    with pytest.raises(DataError, match=r"no group column 'team'; the data have g, X, M"):
        group_design(_frame(), parse_model(MEDIATION), None, "team")
    frame = _frame()
    frame.loc[3, "g"] = None
    with pytest.raises(DataError, match=r"1 respondent\(s\) have no group in column 'g' "
                                        r"\(row\(s\) 4\)"):
        _design(frame)
    with pytest.raises(DataError, match="a single group"):
        _design(_frame(("a",) * 4))
    with pytest.raises(ModelError, match="cannot let 'Z~X' vary by group"):
        _design(_frame(), vary=["Z~X"])
    bad = _frame()
    bad.loc[0, "logic"] = "q"
    with pytest.raises(DataError, match="not constant within group 'a'"):
        _design(bad, predictor="logic")
    three = _frame(("a", "a", "b", "c", "c"))
    three["logic"] = ["p", "p", "q", "r", "r"]
    with pytest.raises(DataError, match="has 3 level"):
        _design(three, predictor="logic")


def test_single_respondent_groups_are_warned_about():
    with pytest.warns(UserWarning, match=r"1 group\(s\) in column 'g' have a single respondent \(c\)"):
        _design(_frame(("a", "a", "b", "b", "c")))


def test_few_groups_are_warned_about():
    with pytest.warns(UserWarning, match=r"column 'g' has only 4 groups: between-group SDs are "
                      r"barely identified by fewer than 5 groups.*--target-accept"):
        _design(_frame(tuple("aabbccdd")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _design(_frame(tuple("aabbccddee")))  # 5 groups: no warning


def test_design_options():
    frame = _frame()
    design, used = _design(frame, vary=["paths", "intercepts"], predictor="logic",
                           center="within")
    assert design.predictor_levels == ["p", "q"]
    assert design.predictor_values.tolist() == [-0.5, 0.5]
    # X and M predict: centred within groups in the copy; the caller's frame is unchanged
    assert design.centered == ["X", "M"]
    assert np.allclose(used.groupby("g")[["X", "M"]].mean(), 0.0)
    assert not np.allclose(frame.groupby("g")["X"].mean(), 0.0)
    # centred variables' group means are 0 by construction: their intercepts do not vary
    assert design.varying == ["M~X", "Y~M", "Y~X", "Y~1"]
    # two groups cannot inform the correlations of four varying effects
    assert design.covariance == "diagonal"
    many = _frame(tuple(np.repeat(list("abcdefghijklm"), 2)))
    assert _design(many)[0].covariance == "full"  # 13 groups, 3 paths
    labelled, _ = _design(frame, vary=["a", "b"])
    assert labelled.varying == ["M~X", "Y~M"]


# -- population averages of products of varying paths ---------------------------------------

def test_population_effects_match_a_monte_carlo_average():
    """E[a b] = a b + cov(a, b), and Isserlis for the three-path product, against the mean of
    a million simulated groups."""
    spec = parse_model(MEDIATION)
    names = ["M~X", "Y~M", "Y~X"]
    mean = np.array([0.5, 0.4, 0.2])
    sd = np.array([0.2, 0.3, 0.1])
    corr = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    cov = corr * np.outer(sd, sd)
    rng = np.random.default_rng(1)
    groups = rng.multivariate_normal(mean, cov, size=1_000_000)
    simulated = compute_effects(spec, xr.DataArray(groups, dims=("g", "param"),
                                                   coords={"param": names})).mean("g")
    exact = population_effects(spec, xr.DataArray(mean, dims="param", coords={"param": names}),
                               xr.DataArray(cov, dims=("varying", "varying_"),
                                            coords={"varying": names, "varying_": names}))
    for effect in ("X -> M -> Y", "total X -> Y", "ind", "serial"):
        assert float(exact.sel(effect=effect)) == pytest.approx(
            float(simulated.sel(effect=effect)), abs=2e-3), effect
    # the covariance term is what the plug-in product misses
    assert float(exact.sel(effect="ind")) == pytest.approx(0.5 * 0.4 + cov[0, 1])


# -- the grouped likelihoods ----------------------------------------------------------------

def _group_values(layout, groups: int, rng) -> np.ndarray:
    """Plausible parameter values per group: positive variances, moderate paths."""
    theta = np.array([0.3 if p.kind == "covariance" else
                      0.8 if p.kind in ("loading", "variance") else
                      0.4 if p.kind == "regression" else 0.1 for p in layout.params])
    return theta[None, :] + rng.uniform(0.0, 0.2, size=(groups, len(theta)))


@pytest.mark.parametrize("model", [MEDIATION, "Y ~ X1 + X2\nX1 ~~ X2"])
def test_path_model_likelihood_equals_the_general_one(model):
    """The inverse-free likelihood of observed-variable path models gives the same value as
    the general grouped one (and as numpy's, group by group), with a diagonal Psi and with
    correlated exogenous variables."""
    import pytensor.tensor as pt

    from connective.bayes.likelihood import (group_statistics, grouped_loglik_tensor,
                                             loglik_numpy, path_model_loglik_tensor, subset,
                                             sufficient_statistics)
    from connective.bayes.matrices import implied_moments, model_matrices

    layout = build_layout(parse_model(model))
    assert layout.likelihood_shape() == "path"
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(30, 3)), columns=layout.observed)
    index = np.repeat([0, 1, 2], 10)
    stats = sufficient_statistics(frame, layout.observed)
    n, mean, cov = group_statistics(stats, index, 3)
    theta = _group_values(layout, 3, rng)
    mats = model_matrices(layout, pt.as_tensor(theta))
    order = [layout.observed.index(v) for v in layout.structural]
    fast = path_model_loglik_tensor(n.astype(float), mean[:, order], cov[:, order][:, :, order],
                                    mats["beta"], mats["alpha"], mats["psi"],
                                    diagonal_psi=layout.is_diagonal("psi")).eval()
    mu, sigma = implied_moments(layout, pt.as_tensor(theta))
    general = grouped_loglik_tensor(n.astype(float), mean, cov, mu, sigma).eval()
    mu_np, sigma_np = implied_moments(layout, theta)
    by_group = sum(loglik_numpy(subset(stats, np.flatnonzero(index == g)), mu_np[g], sigma_np[g])
                   for g in range(3))
    assert fast == pytest.approx(general) and general == pytest.approx(by_group)


@pytest.mark.parametrize("model", [
    "F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nH =~ z1 + z2 + z3\nG ~ F\nH ~ G + F",
    "F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nH =~ z1 + z2 + z3\nH ~ G + F\nF ~~ G"])
def test_factor_model_likelihood_equals_the_general_one(model):
    """The Woodbury form (m x m inverses) gives the general grouped likelihood's value, with
    group-specific loadings, paths and latent means, with and without a factor covariance."""
    import pytensor.tensor as pt

    from connective.bayes.likelihood import (factor_model_loglik_tensor, group_statistics,
                                             grouped_loglik_tensor, sufficient_statistics)
    from connective.bayes.matrices import (implied_moments, model_matrices,
                                           structural_inverse)

    spec = parse_model(model)
    layout = build_layout(spec).with_intercepts(["F", "G", "H"])
    assert layout.likelihood_shape() == "factor"
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(40, 9)), columns=layout.observed)
    n, mean, cov = group_statistics(sufficient_statistics(frame, layout.observed),
                                    np.repeat([0, 1], 20), 2)
    theta = _group_values(layout, 2, rng)
    mats = model_matrices(layout, pt.as_tensor(theta))
    woodbury = factor_model_loglik_tensor(n.astype(float), mean, cov, mats,
                                          structural_inverse(layout, mats["beta"]),
                                          diagonal_psi=layout.is_diagonal("psi")).eval()
    mu, sigma = implied_moments(layout, pt.as_tensor(theta))
    general = grouped_loglik_tensor(n.astype(float), mean, cov, mu, sigma).eval()
    assert np.isfinite(general) and woodbury == pytest.approx(general)


# -- recovery --------------------------------------------------------------------------------

SIZES = [20, 30, 45, 60, 80, 100, 120, 150]


@pytest.fixture(scope="module")
def eight_groups():
    """8 groups of 20 to 150 respondents, paths varying with SD 0.2 around the population;
    in the four groups of kind 'q' the path X -> M is 0.6 larger (a group-level predictor)."""
    from connective.bayes import fit
    from connective.data.simulate import simulate

    spec = parse_model("M ~ a*X\nY ~ b*M + cp*X\nind := a*b")
    values = {"values": {"M ~ X": 0.2, "Y ~ M": 0.3, "Y ~ X": 0.2},
              "groups": {"column": "team", "names": [f"team{i}" for i in range(8)],
                         "sizes": SIZES, "path_sd": 0.2, "level_column": "kind",
                         "levels": ["p", "q", "p", "q", "p", "q", "p", "q"],
                         "shift_level": "q", "shift": {"M ~ X": 0.6}}}
    sim = simulate(spec, sum(SIZES), values=values, seed=11)
    result = fit(spec, sim.frame, group="team", group_predictor="kind", draws=500, tune=500,
                 chains=2, seed=4)
    return spec, sim, result


def _ols_paths(frame: pd.DataFrame) -> dict[str, float]:
    """Separate fit of one group: least squares of M on X and of Y on M and X."""
    X = np.column_stack([np.ones(len(frame)), frame["X"]])
    a = np.linalg.lstsq(X, frame["M"], rcond=None)[0][1]
    Z = np.column_stack([np.ones(len(frame)), frame["M"], frame["X"]])
    b, cp = np.linalg.lstsq(Z, frame["Y"], rcond=None)[0][1:]
    return {"M~X": a, "Y~M": b, "Y~X": cp}


def test_eight_unequal_groups_are_recovered(eight_groups):
    spec, sim, result = eight_groups
    summary = result.summary()
    assert summary["divergences"] == 0 and summary["max_r_hat"] < 1.05
    post = result.idata.posterior
    truth = sim.population["group_paths"]
    inside = []
    for g, paths in truth.items():
        for name, value in paths.items():
            draws = post["group_parameters"].sel(group=g, group_param=name)
            lo, hi = draws.quantile([0.025, 0.975]).to_numpy()
            inside.append(lo <= value <= hi)
    assert np.mean(inside) >= 0.9, f"{np.mean(inside):.2f} of 24 group paths inside"
    # population values lie midway between the predictor's levels (coded -1/2, +1/2)
    midway = {**sim.population["values"], "M~X": sim.population["values"]["M~X"] + 0.3}
    for name in ("M~X", "Y~M", "Y~X"):
        mean = post["parameters"].sel(param=name).quantile([0.025, 0.975]).to_numpy()
        sd = post["group_sd"].sel(varying=name).quantile([0.025, 0.975]).to_numpy()
        assert mean[0] <= midway[name] <= mean[1], name
        assert sd[0] <= 0.2 <= sd[1], name


def test_partial_pooling_beats_separate_fits_in_small_groups(eight_groups):
    spec, sim, result = eight_groups
    post = result.idata.posterior["group_parameters"].mean(("chain", "draw"))
    truth = sim.population["group_paths"]
    pooled, separate = [], []
    for g in ("team0", "team1", "team2"):  # 20, 30 and 45 respondents
        ols = _ols_paths(sim.frame[sim.frame["team"] == g])
        for name, value in truth[g].items():
            pooled.append((float(post.sel(group=g, group_param=name)) - value) ** 2)
            separate.append((ols[name] - value) ** 2)
    assert np.mean(pooled) < np.mean(separate), (np.mean(pooled), np.mean(separate))


def test_group_and_level_effects(eight_groups):
    """Each group's indirect effect covers the product of its true paths (the largest
    group's interval is narrow enough to mean something), and the difference between the
    predictor's levels recovers the +0.6 shift of X -> M, with the right sign and label."""
    spec, sim, result = eight_groups
    table = result.group_effects()
    truth = sim.population["group_paths"]
    assert set(table["group"]) == set(truth)
    for g in ("team6", "team7"):  # 120 and 150 respondents
        row = table[(table["group"] == g) & (table["effect"] == "X -> M -> Y")].iloc[0]
        product = truth[g]["M~X"] * truth[g]["Y~M"]
        assert row["ci.lower"] <= product <= row["ci.upper"], g
        assert row["ci.upper"] - row["ci.lower"] < 0.3
    levels = result.level_effects()
    diff = levels[(levels["level"] == "q - p") & (levels["effect"] == "X -> M")].iloc[0]
    assert diff["ci.lower"] <= 0.6 <= diff["ci.upper"] and diff["p_positive"] > 0.9
    assert set(levels["level"]) == {"p", "q", "q - p"}


@pytest.mark.slow
def test_within_person_mediation_recovers_the_covariance_term():
    """Diary data (80 persons x 20 days) with cov(a_j, b_j) = 0.054: the population's
    average indirect effect a b + cov(a, b) = 0.144 is recovered, and the covariance is
    found positive (the plug-in product a b alone would miss it)."""
    from connective.bayes import fit
    from connective.data.simulate import simulate_within_mediation

    sim = simulate_within_mediation(80, 20, a=0.3, b=0.3, cp=0.1, sd=(0.3, 0.3, 0.05),
                                    corr_ab=0.6, seed=5)
    spec = parse_model("m ~ a*x\ny ~ b*m + cp*x\nme := a*b")
    result = fit(spec, sim.frame, group="id", vary=["paths", "intercepts"], center="within",
                 draws=500, tune=500, chains=4, seed=2)
    assert result.summary()["divergences"] == 0
    post = result.idata.posterior
    me = post["effects"].sel(effect="me")
    lo, hi = me.quantile([0.025, 0.975]).to_numpy()
    assert lo <= sim.population["indirect"] <= hi
    cov = post["group_sd"].sel(varying="m~x") * post["group_sd"].sel(varying="y~m") * \
        post["group_corr"].sel(varying="m~x", varying_="y~m")
    clo, chi = cov.quantile([0.025, 0.975]).to_numpy()
    assert clo <= sim.population["cov_ab"] <= chi and clo > 0


def test_loo_prefers_the_hierarchical_model_when_paths_vary(eight_groups, tmp_path):
    """LOO compares a grouped and a single-level fit of the same survey (same fingerprint:
    the answers to the model's items), and with paths varying by SD 0.2 across groups of up
    to 150 respondents it ranks the hierarchical model first."""
    from connective.bayes import fit
    from connective.compare.loo import compare_loo

    spec, sim, result = eight_groups
    single = fit(spec, sim.frame, draws=300, tune=300, chains=2, seed=4)
    result.save(tmp_path / "grouped")
    single.save(tmp_path / "single")
    table = compare_loo({"grouped": tmp_path / "grouped", "single": tmp_path / "single"})
    assert table.iloc[0]["model"] == "grouped"
    assert table.iloc[1]["elpd_diff"] > 2 * table.iloc[1]["dse"]


def test_per_respondent_loglik_uses_each_groups_parameters():
    """LOO's per-respondent log-likelihood of a grouped model is the normal log-density of
    the respondent's answers under their own group's implied moments."""
    from scipy.stats import multivariate_normal

    from connective.bayes.group_results import grouped_pointwise_loglik
    from connective.bayes.matrices import implied_moments
    from connective.bayes.model import build_model

    spec = parse_model(MEDIATION)
    frame = _frame(("a", "a", "b", "b", "b", "a"))
    design, used = _design(frame)
    bm = build_model(spec, used, groups=design)
    rng = np.random.default_rng(2)
    values = np.stack([_group_values(bm.group_layout, 2, rng) for _ in range(3)])[None]
    post = xr.Dataset({"group_parameters": (("chain", "draw", "group", "group_param"), values)},
                      coords={"group": design.names, "group_param": bm.group_layout.names})
    ll = grouped_pointwise_loglik(bm, post)
    mu, sigma = implied_moments(bm.group_layout, values)
    Y = used[bm.layout.observed].to_numpy()
    for i, g in enumerate(design.index):
        direct = multivariate_normal(mu[0, 1, g], sigma[0, 1, g]).logpdf(Y[i])
        assert ll[0, 1, i] == pytest.approx(direct)


@pytest.mark.slow
def test_ordinal_likelihood_with_groups():
    """Likert answers (5 points, 5% missing) of 400 respondents in 8 groups of 30-70, the
    path G ~ F 0.5 larger in the four of level q: the ordinal hierarchical model converges
    (0 divergences) and finds the difference between the levels. (With 4 groups the
    between-group SD is barely identified and the chains met 1-20 divergences in 4 x 1,000
    draws; group_design warns about so few groups.)"""
    from connective.bayes import fit
    from connective.data.simulate import simulate

    spec = parse_model("F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ F")
    values = {"values": {"G ~ F": 0.2},
              "groups": {"column": "unit", "names": [f"u{i}" for i in range(8)],
                         "sizes": [30, 40, 50, 50, 60, 70, 50, 50], "path_sd": 0.05,
                         "level_column": "kind", "levels": list("pqpqpqpq"),
                         "shift_level": "q", "shift": {"G ~ F": 0.5}}}
    sim = simulate(spec, 400, values=values, seed=8, likert=5, missing=0.05)
    result = fit(spec, sim.frame, likelihood="ordinal", group="unit", group_predictor="kind",
                 draws=1000, tune=1000, chains=4, seed=3)
    s = result.summary()
    assert s["divergences"] == 0 and s["max_r_hat"] < 1.02, s
    diff = result.level_effects().query("level == 'q - p' and effect == 'F -> G'").iloc[0]
    assert diff["p_positive"] > 0.95
    assert result.idata.log_likelihood["y"].sizes["respondent"] == 400


# -- cross-level moderation through the conditional-effects algebra --------------------------

def test_cross_level_effects_equal_the_group_path_formula():
    """With a numeric group-level predictor W (centred at c), a group's mean path at W = w is
    theta + gamma (w - c): the conditional direct and indirect effects at given W values,
    and the indices, equal that formula computed by hand from the draws."""
    from connective.bayes.group_results import cross_level_effects
    from connective.bayes.groups import GroupDesign

    spec = parse_model("M ~ X\nY ~ M + X")
    rng = np.random.default_rng(3)
    names = ["M~X", "Y~M", "Y~X"]
    theta = xr.DataArray(rng.normal([0.5, 0.4, 0.1], 0.05, (2, 50, 3)),
                         dims=("chain", "draw", "param"), coords={"param": names})
    coef = xr.DataArray(rng.normal([0.2, -0.1], 0.05, (2, 50, 2)),
                        dims=("chain", "draw", "param"), coords={"param": ["M~X", "Y~M"]})
    w_groups = np.array([8.0, 9.0, 11.0, 14.0])
    design = GroupDesign("g", list("abcd"), np.arange(4), ["M~X", "Y~M"], predictor="size",
                         predictor_values=w_groups - w_groups.mean(),
                         predictor_center=float(w_groups.mean()))
    base = compute_effects(spec, theta)
    fx = cross_level_effects(spec, design, theta, coef, base, at=[9.0, 12.5])
    t, g = theta.to_numpy(), coef.to_numpy()
    c = w_groups.mean()
    for w in (9.0, 12.5):
        a = t[..., 0] + g[..., 0] * (w - c)
        b = t[..., 1] + g[..., 1] * (w - c)
        np.testing.assert_allclose(fx.sel(effect=f"X -> M | size = {w:g}"), a, rtol=1e-12)
        np.testing.assert_allclose(fx.sel(effect=f"X -> M -> Y | size = {w:g}"), a * b,
                                   rtol=1e-12)
        np.testing.assert_allclose(fx.sel(effect=f"M -> Y | size = {w:g}"), b, rtol=1e-12)
    np.testing.assert_allclose(fx.sel(effect="index of moderation X -> M by size"), g[..., 0])
    # both stages moderated: the slope of (a0 + ga w)(b0 + gb w) in w, at each value
    slope = g[..., 0] * (t[..., 1] + g[..., 1] * (12.5 - c)) + g[..., 1] * (
        t[..., 0] + g[..., 0] * (12.5 - c))
    np.testing.assert_allclose(
        fx.sel(effect="index of moderated mediation X -> M -> Y by size | size = 12.5"), slope)
    assert "X -> Y | size = 9" not in set(fx.effect.values)  # Y~X does not vary
    # the default values: W's mean over groups and one SD either side
    sd = np.std(w_groups, ddof=1)
    fx = cross_level_effects(spec, design, theta, coef, base)
    np.testing.assert_allclose(fx.sel(effect="X -> M | size = +1 SD"),
                               t[..., 0] + g[..., 0] * sd, rtol=1e-12)
    assert fx.sel(effect="X -> M -> Y").moderator.item() == ""


def test_cross_level_moderation_is_recovered_and_reported(eight_groups, tmp_path):
    """The eight teams' X -> M is 0.6 larger in kind q (Y -> M 0.3): the index of moderation
    of X -> M by kind covers 0.6, the index of moderated mediation covers 0.6 x 0.3; the
    conditional rows sit in the effects table beside their standardised values, and the
    report's moderation section shows them with a Johnson-Neyman region."""
    spec, sim, result = eight_groups
    post = result.idata.posterior
    table = result.effects()
    rows = table.set_index("effect")
    index = rows.loc["index of moderation X -> M by kind"]
    assert index["ci.lower"] <= 0.6 <= index["ci.upper"] and index["p_positive"] > 0.9
    # every path varies, so kind moderates both stages: the index depends on kind; the
    # truth is d/dw (a + 0.6 w)(0.3 + 0 w) = 0.18 at any value
    imm = rows.loc["index of moderated mediation X -> M -> Y by kind | kind = mean"]
    assert imm["ci.lower"] <= 0.18 <= imm["ci.upper"]
    assert imm["kind"] == "index_moderated_mediation"
    assert index["kind"] == "index_moderation"
    # the conditional effect at +1 SD of the coded kind, by hand from the draws
    coded = result.model.groups.predictor_values
    w = coded.mean() + np.std(coded, ddof=1)
    theta, coef = post["parameters"], post["group_coef"]
    a = theta.sel(param="M~X") + coef.sel(varying="M~X", drop=True) * w
    b = theta.sel(param="Y~M") + coef.sel(varying="Y~M", drop=True) * w
    np.testing.assert_allclose(post["effects"].sel(effect="X -> M -> Y | kind = +1 SD"),
                               (a * b).transpose("chain", "draw"), rtol=1e-10)
    assert np.isfinite(rows.loc["X -> M | kind = +1 SD", "std.all"])
    assert post["effects_std_all"].sizes["effect"] == post["effects"].sizes["effect"]
    # the report's moderation section: sentences, tables, simple slopes, Johnson-Neyman
    from connective.report.run import build_run_report

    result.save(tmp_path / "moderated")
    doc = build_run_report(tmp_path / "moderated")
    md = doc.to_markdown()
    assert "## Moderation" in md and "Moderation of X → M by kind: index of moderation" in md
    names = {b.name for b in doc.blocks if b.name}
    assert {"conditional_effects", "moderation_indices", "simple_slopes_1", "johnson_neyman_1",
            "johnson_neyman", "group_effects", "level_effects"} <= names
    assert "change of a direct effect per unit of kind" in md
    assert "Cross-level moderation by the group-level predictor kind" in md
    groups = pd.read_csv(tmp_path / "moderated" / "group_effects.csv")
    assert not groups["effect"].str.contains(" by kind| \\| kind").any()
