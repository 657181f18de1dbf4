"""Bootstrap: seeded and reproducible, consistent with the effects algebra, close to
seminr's bootstrap on mobi, sign-change corrections, failed replicates, BCa."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.stats import norm

from connective.effects import compute_effects
from connective.pls import BootstrapWarning, bootstrap_pls, estimate_pls, example_data
from connective.spec import parse_model



@pytest.fixture(scope="module")
def mobi_fit(mobi_spec, benchmarks):
    return estimate_pls(mobi_spec, pd.read_csv(benchmarks / "data" / "mobi.csv"))


@pytest.fixture(scope="module")
def mobi_boot(mobi_fit):
    return bootstrap_pls(mobi_fit, 500, seed=123)


def test_same_seed_same_replicates_other_seed_not(mobi_fit, mobi_boot):
    again = bootstrap_pls(mobi_fit, 500, seed=123)
    xr.testing.assert_identical(mobi_boot.replicates, again.replicates)
    assert mobi_boot.parameters().equals(again.parameters())
    # the same draws in smaller chunks: equal up to floating-point summation order
    chunked = bootstrap_pls(mobi_fit, 500, seed=123, chunk=128)
    xr.testing.assert_allclose(mobi_boot.replicates, chunked.replicates, rtol=1e-9, atol=1e-12)
    other = bootstrap_pls(mobi_fit, 500, seed=124)
    assert not np.allclose(other.replicates["params"], mobi_boot.replicates["params"])
    assert mobi_boot.seed == 123 and mobi_boot.n_boot == 500 and mobi_boot.failed == 0


def test_seed_is_drawn_and_recorded_when_not_given():
    spec, frame = example_data()
    res = estimate_pls(spec, frame)
    boot = bootstrap_pls(res, 50)
    assert isinstance(boot.seed, int)
    redo = bootstrap_pls(res, 50, seed=boot.seed)
    xr.testing.assert_identical(boot.replicates, redo.replicates)


def test_replicates_are_labelled(mobi_boot):
    reps = mobi_boot.replicates
    assert reps["params"].dims == ("replicate", "param")
    assert "Loyalty~Satisfaction" in reps["params"].param.values
    assert "Image=~IMAG1" in reps["params"].param.values
    assert "Image<~IMAG1" in reps["params"].param.values
    assert reps["r2"].dims == ("replicate", "construct")
    assert reps["htmt"].sizes["pair"] == 10
    assert reps["effects"].dims == ("replicate", "effect")


def test_effect_replicates_come_from_the_effects_algebra(mobi_spec, mobi_boot):
    params = mobi_boot.replicates["params"].drop_vars(["lhs", "op", "rhs"])
    direct = compute_effects(mobi_spec, params)
    xr.testing.assert_allclose(direct, mobi_boot.replicates["effects"])
    fx = mobi_boot.effects().set_index("effect")
    b = mobi_boot.replicates["params"]
    prod = (b.sel(param="Satisfaction~Image") * b.sel(param="Loyalty~Satisfaction")).values
    assert fx.loc["Image -> Satisfaction -> Loyalty", "ci.lower"] == pytest.approx(
        np.quantile(prod, 0.025))


def test_close_to_seminr_bootstrap(mobi_boot, benchmarks):
    """seminr's 5,000-replicate bootstrap (another random stream): SDs within 20%, percentile
    bounds within 0.04."""
    ref = benchmarks / "reference" / "seminr_mobi5"
    paths = pd.read_csv(ref / "mobi5_boot_paths.csv")
    table = mobi_boot.table("params")
    for row in paths.itertuples(index=False):
        source, target = (s.strip() for s in row[0].split("->"))
        got = table.loc[f"{target}~{source}"]
        assert got["se"] == pytest.approx(row[3], rel=0.2)
        assert got["ci.lower"] == pytest.approx(row[5], abs=0.04)
        assert got["ci.upper"] == pytest.approx(row[6], abs=0.04)
    htmt = pd.read_csv(ref / "mobi5_boot_htmt.csv")
    h = mobi_boot.htmt().set_index(["construct1", "construct2"])
    for row in htmt.itertuples(index=False):
        first, second = (s.strip() for s in row[0].split("->"))
        got = h.loc[(second, first)]
        assert got["htmt"] == pytest.approx(row[1], abs=1e-5)
        assert got["se"] == pytest.approx(row[3], rel=0.25)


def test_individual_sign_change(mobi_fit, mobi_boot):
    """CUSL2 loads weakly (0.196): some replicates flip it below zero; the individual
    correction gives every replicate the sign of the original estimate."""
    loading = "Loyalty=~CUSL2"
    raw = mobi_boot.replicates["params"].sel(param=loading)
    assert (raw < 0).sum() > 0
    fixed = bootstrap_pls(mobi_fit, 500, seed=123, sign_change="individual")
    corrected = fixed.replicates["params"].sel(param=loading)
    assert (corrected >= 0).all()
    assert np.allclose(np.abs(raw), corrected)


def test_construct_sign_change_aligns_a_mirrored_construct(mobi_fit):
    """Construct-level correction: a replicate whose Value loadings are closer to minus the
    reference loadings has Value's weights (and so its paths) multiplied by -1."""
    from connective.pls.estimate import fit_correlations

    m = mobi_fit.model
    reference = mobi_fit.fit["loadings"].copy()
    value = m.block_columns(m.constructs.index("Value"))
    reference[value] *= -1
    R = mobi_fit.R[None]
    flipped = fit_correlations(R, m, align=reference)
    plain = fit_correlations(R, m)
    assert np.allclose(flipped["weights"][0, value], -plain["weights"][0, value])
    others = np.setdiff1d(np.arange(len(m.columns)), value)
    assert np.allclose(flipped["weights"][0, others], plain["weights"][0, others])
    v, e, s = (m.constructs.index(c) for c in ("Value", "Expectation", "Satisfaction"))
    assert flipped["paths"][0, v, e] == pytest.approx(-plain["paths"][0, v, e])
    assert flipped["paths"][0, s, v] == pytest.approx(-plain["paths"][0, s, v])
    assert flipped["paths"][0, s, e] == pytest.approx(plain["paths"][0, s, e])
    # on real replicates of mobi no construct comes back mirrored
    none = bootstrap_pls(mobi_fit, 100, seed=5, bca=False)
    construct = bootstrap_pls(mobi_fit, 100, seed=5, bca=False, sign_change="construct")
    xr.testing.assert_allclose(none.replicates["params"], construct.replicates["params"])


def test_failed_replicates_are_dropped_with_a_warning():
    rng = np.random.default_rng(4)
    spec = parse_model("A =~ a1 + a2\nB =~ b1 + b2\nB ~ A")
    frame = pd.DataFrame(rng.standard_normal((25, 4)), columns=["a1", "a2", "b1", "b2"])
    frame["a2"] = 0.0
    frame.loc[0, "a2"] = 1.0  # one non-zero answer: many resamples miss it
    res = estimate_pls(spec, frame)
    with pytest.warns(BootstrapWarning, match=r"of 300 bootstrap replicates failed"):
        boot = bootstrap_pls(res, 300, seed=1)
    assert 0 < boot.failed < 300
    assert boot.n_boot == 300 - boot.failed
    assert np.isfinite(boot.parameters()["se"]).all()


def test_bca_interval_by_hand(mobi_boot):
    name = "Loyalty~Image"
    lo, hi = mobi_boot.interval("params", method="bca")
    reps = mobi_boot.replicates["params"].sel(param=name).values
    est = mobi_boot.original["params"].sel(param=name).item()
    jack = mobi_boot.jackknife["params"].sel(param=name).values
    assert jack.shape == (250,)
    z0 = norm.ppf(np.mean(reps < est))
    d = jack.mean() - jack
    a = np.sum(d**3) / (6 * np.sum(d**2) ** 1.5)
    z = norm.ppf(0.025)
    q = norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    assert lo.sel(param=name).item() == pytest.approx(np.quantile(reps, q))
    p_lo, _ = mobi_boot.interval("params", method="percentile")
    assert lo.sel(param=name).item() != p_lo.sel(param=name).item()
    assert abs(lo.sel(param=name).item() - p_lo.sel(param=name).item()) < 0.05
    table = mobi_boot.parameters(method="bca")
    assert (table["ci.lower"] <= table["ci.upper"]).all()


def test_plsc_bootstrap_and_progress(benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "threecommonfactors.csv")
    spec = parse_model("eta2 ~ eta1\neta3 ~ eta1 + eta2\neta1 =~ y11 + y12 + y13\n"
                       "eta2 =~ y21 + y22 + y23\neta3 =~ y31 + y32 + y33")
    res = estimate_pls(spec, frame, consistent=True)
    calls = []
    boot = bootstrap_pls(res, 300, seed=9, chunk=100, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(100, 300), (200, 300), (300, 300)]
    t = boot.table("params")
    # cSEM README: 499 replicates, percentile SE of eta2 ~ eta1 about 0.04-0.05
    assert 0.03 < t.loc["eta2~eta1", "se"] < 0.06
    assert t.loc["eta2~eta1", "est"] == pytest.approx(0.6713, abs=1e-4)
    # replicates are PLSc too: their mean is near the PLSc estimate, not the PLS one (0.5046)
    assert t.loc["eta2~eta1", "mean"] == pytest.approx(0.6713, abs=0.02)


def test_bad_options():
    spec, frame = example_data()
    res = estimate_pls(spec, frame)
    with pytest.raises(ValueError, match="sign_change"):
        bootstrap_pls(res, 10, sign_change="flip")
    with pytest.raises(ValueError, match="interval method"):
        bootstrap_pls(res, 10, seed=1).interval("params", method="normal")
