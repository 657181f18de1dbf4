"""Consistent PLS: cSEM's published PLSc estimates on threecommonfactors, recovery of
population paths better than plain PLS, and warnings for inadmissible solutions."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from connective.pls import InadmissibleWarning, estimate_pls
from connective.spec import parse_model

THREE = """
eta2 ~ eta1
eta3 ~ eta1 + eta2
eta1 =~ y11 + y12 + y13
eta2 =~ y21 + y22 + y23
eta3 =~ y31 + y32 + y33
"""
TRUTH = {("eta1", "eta2"): 0.6, ("eta1", "eta3"): 0.4, ("eta2", "eta3"): 0.35}


def test_plsc_matches_csem_readme(benchmarks):
    """cSEM 0.6's README prints csem(threecommonfactors, model) (PLSc by default) to 4
    decimals: paths 0.6713 / 0.4585 / 0.3052 and the loadings below."""
    frame = pd.read_csv(benchmarks / "data" / "threecommonfactors.csv")
    res = estimate_pls(parse_model(THREE), frame, consistent=True)
    paths = res.paths["est"]
    assert paths[("eta1", "eta2")] == pytest.approx(0.6713, abs=1e-4)
    assert paths[("eta1", "eta3")] == pytest.approx(0.4585, abs=1e-4)
    assert paths[("eta2", "eta3")] == pytest.approx(0.3052, abs=1e-4)
    loadings = [0.6631, 0.6493, 0.7613, 0.5165, 0.7554, 0.7997, 0.8223, 0.6581, 0.7474]
    weights = [0.3956, 0.3873, 0.4542, 0.3058, 0.4473, 0.4735, 0.4400, 0.3521, 0.3999]
    assert np.abs(res.measurement["loading"].to_numpy() - loadings).max() < 1e-4
    assert np.abs(res.measurement["weight"].to_numpy() - weights).max() < 1e-4
    assert res.warnings == []


def _simulate(rng, n):
    """The threecommonfactors population: eta2 = .6 eta1; eta3 = .4 eta1 + .35 eta2."""
    e1 = rng.standard_normal(n)
    e2 = 0.6 * e1 + np.sqrt(1 - 0.36) * rng.standard_normal(n)
    mean3 = 0.4 * e1 + 0.35 * e2
    var3 = 0.4**2 + 0.35**2 + 2 * 0.4 * 0.35 * 0.6
    e3 = mean3 + np.sqrt(1 - var3) * rng.standard_normal(n)
    lam = {"eta1": (0.7, 0.7, 0.8), "eta2": (0.6, 0.75, 0.8), "eta3": (0.8, 0.65, 0.75)}
    cols = {}
    for k, (name, eta) in enumerate((("eta1", e1), ("eta2", e2), ("eta3", e3)), start=1):
        for i, l in enumerate(lam[name], start=1):
            cols[f"y{k}{i}"] = l * eta + np.sqrt(1 - l**2) * rng.standard_normal(n)
    return pd.DataFrame(cols)


def test_plsc_recovers_population_paths_better_than_pls():
    rng = np.random.default_rng(20240601)
    spec = parse_model(THREE)
    plain, consistent = [], []
    for _ in range(40):
        frame = _simulate(rng, 300)
        plain.append(estimate_pls(spec, frame).paths["est"])
        consistent.append(estimate_pls(spec, frame, consistent=True).paths["est"])
    truth = pd.Series(TRUTH)
    bias_pls = (pd.concat(plain, axis=1).mean(axis=1) - truth).abs()
    bias_plsc = (pd.concat(consistent, axis=1).mean(axis=1) - truth).abs()
    # plain PLS is attenuated by at least 0.04 on the strong path; PLSc is nearly unbiased
    assert bias_pls[("eta1", "eta2")] > 0.04
    assert (bias_plsc < 0.025).all()
    assert bias_plsc.sum() < bias_pls.sum() / 2


def _weak_blocks(seed: int, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    e1 = rng.standard_normal(n)
    e2 = 0.97 * e1 + np.sqrt(1 - 0.97**2) * rng.standard_normal(n)
    cols = {}
    for name, eta in (("a", e1), ("b", e2)):
        for k in range(1, 4):
            cols[f"{name}{k}"] = 0.45 * eta + np.sqrt(1 - 0.45**2) * rng.standard_normal(n)
    return pd.DataFrame(cols)


def test_inadmissible_plsc_warns_and_lists_reasons():
    spec = parse_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A")
    frame = _weak_blocks(1)
    with pytest.warns(InadmissibleWarning, match=r"corrected correlation of B and A is 1\.2"):
        res = estimate_pls(spec, frame, consistent=True)
    assert any("not positive definite" in w for w in res.warnings)
    assert any("R^2 of B" in w for w in res.warnings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plain = estimate_pls(spec, frame)  # plain PLS: no correction, no warning
    assert plain.warnings == [] and abs(plain.paths["est"].iloc[0]) < 1


def test_negative_rho_a_is_reported():
    spec = parse_model("A =~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A")
    with pytest.warns(InadmissibleWarning, match="rho_A of B is -0.07"):
        estimate_pls(spec, _weak_blocks(7), consistent=True)


def test_plsc_leaves_composites_and_their_paths_uncorrected(benchmarks):
    frame = pd.read_csv(benchmarks / "data" / "threecommonfactors.csv")
    spec = parse_model("eta2 ~ eta1\neta1 <~ y11 + y12 + y13\neta2 <~ y21 + y22 + y23")
    assert (estimate_pls(spec, frame, consistent=True).paths["est"].to_numpy()
            == pytest.approx(estimate_pls(spec, frame).paths["est"].to_numpy(), abs=1e-12))
