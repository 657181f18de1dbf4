"""Mediation summaries against known distributions, and the Zhao-Lynch-Chen typology on
constructed cases."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from connective.effects import compute_effects
from connective.errors import ConnectiveError
from connective.mediation import (hdi, mediation_types, proportion_mediated,
                                  summarize_effects)
from connective.resources import model_path
from connective.spec import read_model

MEDIATION = read_model(model_path("mediation"))


def mediation_draws(a, b, c, n=200_000, seed=0):
    """Effects of X -> M -> Y with independent normal draws of a, b, c (chain x draw)."""
    rng = np.random.default_rng(seed)
    shape = (4, n // 4)
    vals = np.stack([rng.normal(*a, shape), rng.normal(*b, shape), rng.normal(*c, shape)], -1)
    paths = xr.DataArray(vals, dims=("chain", "draw", "param"),
                         coords={"param": ["M~X", "Y~M", "Y~X"]})
    return compute_effects(MEDIATION, paths)


def test_product_of_two_normals_has_the_exact_moments():
    (ma, sa), (mb, sb) = (0.5, 0.07), (0.45, 0.08)
    fx = mediation_draws((ma, sa), (mb, sb), (0.1, 0.08))
    row = summarize_effects(fx).set_index("effect").loc["X -> M -> Y"]
    exact_mean = ma * mb
    exact_sd = np.sqrt(ma**2 * sb**2 + mb**2 * sa**2 + sa**2 * sb**2)
    se = exact_sd / np.sqrt(200_000)
    assert row["mean"] == pytest.approx(exact_mean, abs=4 * se)
    assert row["sd"] == pytest.approx(exact_sd, rel=0.01)
    assert row["kind"] == "indirect" and row["source"] == "X" and row["target"] == "Y"


def test_intervals_and_direction_of_a_normal():
    rng = np.random.default_rng(1)
    draws = xr.DataArray(rng.normal(0.2, 0.1, (100_000, 1)), dims=("replicate", "effect"),
                         coords={"effect": ["e"]})
    row = summarize_effects(draws, prob=0.9, rope=0.1).iloc[0]
    z = stats.norm.ppf(0.95)
    assert row["eti_lower"] == pytest.approx(0.2 - z * 0.1, abs=0.003)
    assert row["hdi_upper"] == pytest.approx(0.2 + z * 0.1, abs=0.003)  # symmetric: HDI = ETI
    assert row["p_direction"] == pytest.approx(stats.norm.cdf(2.0), abs=0.003)
    exact_rope = stats.norm.sf(0.1, 0.2, 0.1) + stats.norm.cdf(-0.1, 0.2, 0.1)
    assert row["p_beyond_rope"] == pytest.approx(exact_rope, abs=0.003)


def test_hdi_is_narrower_than_eti_for_a_skewed_effect():
    rng = np.random.default_rng(2)
    x = rng.exponential(1.0, (100_000, 1))
    lo, hi = hdi(x, 0.95)[0]
    # for an exponential the 95% HDI is [0, -log(0.05)]
    assert lo == pytest.approx(0.0, abs=0.001) and hi == pytest.approx(-np.log(0.05), abs=0.05)
    eti = np.quantile(x, [0.025, 0.975])
    assert hi - lo < eti[1] - eti[0]


def test_proportion_mediated():
    fx = mediation_draws((0.5, 0.001), (0.4, 0.001), (0.2, 0.001), n=4000)
    pm = proportion_mediated(fx)
    assert "proportion mediated X -> M -> Y" in pm.effect.values
    assert float(pm.sel(effect="proportion mediated X -> M -> Y").median()) == pytest.approx(
        0.2 / 0.4, abs=0.01)


@pytest.mark.parametrize("a,b,c,expected", [
    ((0.5, 0.05), (0.5, 0.05), (0.3, 0.05), "complementary"),
    ((0.5, 0.05), (0.5, 0.05), (-0.3, 0.05), "competitive"),
    ((0.5, 0.05), (0.5, 0.05), (0.0, 0.01), "indirect-only"),
    ((0.0, 0.01), (0.5, 0.05), (0.3, 0.05), "direct-only"),
    ((0.0, 0.01), (0.0, 0.01), (0.0, 0.01), "no-effect"),
])
def test_zhao_lynch_chen_types(a, b, c, expected):
    types = mediation_types(mediation_draws(a, b, c, n=8000), rope=0.05)
    row = types.set_index("effect").loc["X -> M -> Y"]
    assert row["type"] == expected and row["p_type"] > 0.95
    shares = row[[f"p_{t}" for t in ("complementary", "competitive", "indirect-only",
                                     "direct-only", "no-effect")]]
    assert shares.sum() == pytest.approx(1.0)


def test_uncertain_cases_split_their_probability():
    # the direct effect straddles the ROPE edge: indirect-only and complementary share it
    types = mediation_types(mediation_draws((0.5, 0.05), (0.5, 0.05), (0.05, 0.05), n=20000))
    row = types.set_index("effect").loc["X -> M -> Y"]
    assert 0.3 < row["p_indirect-only"] < 0.7 and 0.3 < row["p_complementary"] < 0.7


def test_models_without_a_direct_path_read_as_zero_direct_effect():
    spec = read_model(model_path("connective_action"))
    rng = np.random.default_rng(3)
    names = [f"{t}~{s}" for s, t in spec.paths]
    paths = xr.DataArray(rng.normal(0.4, 0.05, (500, len(names))), dims=("draw", "param"),
                         coords={"param": names})
    types = mediation_types(compute_effects(spec, paths)).set_index("effect")
    assert types.loc["CE -> EFF -> OCA", "type"] == "indirect-only"


def test_bad_input():
    with pytest.raises(ConnectiveError, match="need a sample dimension"):
        summarize_effects(xr.DataArray([0.1], dims="effect", coords={"effect": ["a"]}))
    with pytest.raises(ConnectiveError, match="between 0 and 1"):
        summarize_effects(mediation_draws((0, 1), (0, 1), (0, 1), n=40), prob=95)
