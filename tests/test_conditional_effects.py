"""Conditional process analysis in the effects algebra: conditional direct and indirect
effects, the index of moderation and the index of moderated mediation (Hayes 2015), checked
against the formulas worked by hand on models with known path values; over posterior-like
draws with a moderator mean and SD per draw; the Johnson-Neyman table."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from connective.effects import compute_effects, conditional_effects, with_conditional_effects
from connective.errors import ConnectiveError
from connective.spec import parse_model

A1, A2, A3, B1, B2, B3, C = 0.5, 0.1, 0.2, 0.4, -0.15, 0.3, 0.1


def _fx(model: str, values: dict, **kw) -> dict[str, float]:
    fx = conditional_effects(parse_model(model), values, **kw)
    return {str(e): float(v) for e, v in zip(fx.effect.values, fx.values)}


def test_first_stage_moderation():
    fx = _fx("M ~ X + W + X:W\nY ~ M + X",
             {"M~X": A1, "M~W": A2, "M~X:W": A3, "Y~M": B1, "Y~X": C},
             moderators={"W": (0.5, 2.0)})
    for label, w in (("-1 SD", -1.5), ("mean", 0.5), ("+1 SD", 2.5)):
        assert fx[f"X -> M | W = {label}"] == pytest.approx(A1 + A3 * w)
        assert fx[f"X -> M -> Y | W = {label}"] == pytest.approx((A1 + A3 * w) * B1)
    assert fx["index of moderation X -> M by W"] == pytest.approx(A3)
    assert fx["index of moderated mediation X -> M -> Y by W"] == pytest.approx(A3 * B1)
    assert fx["X -> M -> Y | W: +1 SD - -1 SD"] == pytest.approx(A3 * B1 * 4.0)
    # the unmoderated direct effect X -> Y has no conditional rows
    assert not any(k.startswith("X -> Y |") for k in fx)


def test_second_stage_moderation_and_given_values():
    fx = _fx("M ~ X\nY ~ M + W + M:W + X",
             {"M~X": A1, "Y~M": B1, "Y~W": B2, "Y~M:W": B3, "Y~X": C},
             at={"W": [-2, 0, 3]})
    for w in (-2, 0, 3):
        assert fx[f"X -> M -> Y | W = {w:g}"] == pytest.approx(A1 * (B1 + B3 * w))
        assert fx[f"M -> Y | W = {w:g}"] == pytest.approx(B1 + B3 * w)
    assert fx["index of moderated mediation X -> M -> Y by W"] == pytest.approx(A1 * B3)
    assert fx["X -> M -> Y | W: 3 - -2"] == pytest.approx(A1 * B3 * 5)


def test_both_stage_moderation_slope_depends_on_w():
    fx = _fx("M ~ X + W + X:W\nY ~ M + W + M:W",
             {"M~X": A1, "M~W": A2, "M~X:W": A3, "Y~M": B1, "Y~W": B2, "Y~M:W": B3},
             moderators={"W": (0.0, 1.5)})
    for label, w in (("-1 SD", -1.5), ("mean", 0.0), ("+1 SD", 1.5)):
        assert fx[f"X -> M -> Y | W = {label}"] == pytest.approx((A1 + A3 * w) * (B1 + B3 * w))
        # d/dw (a1 + a3 w)(b1 + b3 w) = a1 b3 + a3 b1 + 2 a3 b3 w
        assert fx[f"index of moderated mediation X -> M -> Y by W | W = {label}"] == \
            pytest.approx(A1 * B3 + A3 * B1 + 2 * A3 * B3 * w)
    assert "index of moderated mediation X -> M -> Y by W" not in fx


def test_two_moderators_hold_the_other_at_its_mean():
    fx = _fx("M ~ X + W + X:W\nY ~ M + Z + M:Z",
             {"M~X": A1, "M~W": A2, "M~X:W": A3, "Y~M": B1, "Y~Z": B2, "Y~M:Z": B3},
             moderators={"W": (0.0, 1.0), "Z": (2.0, 0.5)})
    # conditioning on W, Z at its mean 2: (a1 + a3 w)(b1 + 2 b3)
    assert fx["X -> M -> Y | W = +1 SD"] == pytest.approx((A1 + A3) * (B1 + 2 * B3))
    assert fx["index of moderated mediation X -> M -> Y by W"] == \
        pytest.approx(A3 * (B1 + 2 * B3))
    # conditioning on Z (W at its mean 0): a1 (b1 + b3 z), z = 2 + 0.5
    assert fx["X -> M -> Y | Z = +1 SD"] == pytest.approx(A1 * (B1 + B3 * 2.5))
    assert fx["index of moderated mediation X -> M -> Y by Z"] == pytest.approx(A1 * B3)


def test_quadratic_term_slope_is_twice_the_coefficient():
    fx = _fx("Y ~ X + X^2", {"Y~X": B1, "Y~X:X": B3}, moderators={"X": (0.0, 2.0)})
    assert fx["X -> Y | X = +1 SD"] == pytest.approx(B1 + 2 * B3 * 2.0)
    assert fx["index of moderation X -> Y by X"] == pytest.approx(2 * B3)


def test_moderation_without_main_effect_of_the_focal_predictor():
    fx = _fx("M ~ X\nY ~ W + X:W", {"M~X": A1, "Y~W": B2, "Y~X:W": B3})
    assert fx["X -> Y | W = +1 SD"] == pytest.approx(B3)
    assert fx["X -> Y | W = mean"] == pytest.approx(0.0)


def test_draws_with_a_moderator_mean_and_sd_per_draw():
    spec = parse_model("M ~ X + W + X:W\nY ~ M + X")
    rng = np.random.default_rng(0)
    names = ["M~X", "M~W", "M~X:W", "Y~M", "Y~X"]
    draws = xr.DataArray(rng.normal(0.3, 0.1, (2, 50, 5)), dims=("chain", "draw", "param"),
                         coords={"param": names})
    mean = xr.DataArray(rng.normal(0, 0.1, (2, 50)), dims=("chain", "draw"))
    sd = xr.DataArray(rng.uniform(0.8, 1.2, (50, 2)), dims=("draw", "chain"))  # any order
    fx = conditional_effects(spec, draws, moderators={"W": (mean, sd)})
    assert fx.dims == ("chain", "draw", "effect")
    a1, a3, b1 = (draws.sel(param=p) for p in ("M~X", "M~X:W", "Y~M"))
    w = mean + sd
    np.testing.assert_allclose(fx.sel(effect="X -> M -> Y | W = +1 SD"),
                               ((a1 + a3 * w) * b1).transpose("chain", "draw"))
    assert set(fx.kind.values) == {"conditional_direct", "conditional_indirect",
                                   "index_moderation", "index_moderated_mediation",
                                   "conditional_difference"}
    # appended to the ordinary effects, with moderator and at coordinates
    both = with_conditional_effects(spec, compute_effects(spec, draws), draws,
                                    moderators={"W": (mean, sd)})
    assert both.sizes["effect"] == compute_effects(spec, draws).sizes["effect"] + fx.sizes["effect"]
    assert both.sel(effect="X -> M -> Y | W = mean").moderator.item() == "W"


def test_unknown_moderator_is_refused():
    spec = parse_model("Y ~ X + W + X:W")
    with pytest.raises(ConnectiveError, match="Q: not a moderator.*moderated by W"):
        conditional_effects(spec, {"Y~X": 0.1, "Y~W": 0.1, "Y~X:W": 0.1}, at={"Q": [1]})


def test_model_without_products_has_no_conditional_rows():
    spec = parse_model("M ~ X\nY ~ M")
    fx = compute_effects(spec, {"M~X": 0.5, "Y~M": 0.4})
    assert with_conditional_effects(spec, fx, {"M~X": 0.5, "Y~M": 0.4}) is fx
    assert conditional_effects(spec, {"M~X": 0.5, "Y~M": 0.4}).sizes["effect"] == 0


def test_johnson_neyman_rebuilds_the_conditional_effect_at_any_value():
    from connective.mediation import johnson_neyman

    spec = parse_model("M ~ X + W + X:W\nY ~ M + W + M:W")  # both stages: quadratic in W
    rng = np.random.default_rng(4)
    names = ["M~X", "M~W", "M~X:W", "Y~M", "Y~W", "Y~M:W"]
    draws = xr.DataArray(rng.normal([A1, A2, A3, B1, B2, B3], 0.05, (400, 6)),
                         dims=("draw", "param"), coords={"param": names})
    fx = conditional_effects(spec, draws, moderators={"W": (0.2, 1.5)})
    jn = johnson_neyman(fx, "X -> M -> Y", "W", grid=np.array([-2.2, 0.37]))
    for z, row in zip((-2.2, 0.37), jn.itertuples()):
        at = conditional_effects(spec, draws, at={"W": [0.2 + 1.5 * z]}).sel(
            effect=f"X -> M -> Y | W = {0.2 + 1.5 * z:g}").values
        assert row.est == pytest.approx(at.mean())
        assert row.lower == pytest.approx(np.quantile(at, 0.025))
        assert row.p_positive == pytest.approx((at > 0).mean())
    with pytest.raises(ConnectiveError, match="no conditional effect rows X -> Y"):
        johnson_neyman(fx, "X -> Y", "W")
