"""The effects algebra: hand-computed values, the total-effect identity, leading dimensions,
and seminr's published indirect and total effects for the mobi model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from connective.effects import compute_effects, effect_table, structural_matrix
from connective.errors import ConnectiveError
from connective.resources import model_path
from connective.spec import parse_model, read_model



def _random_paths(spec, rng, lead=()):
    names = [f"{t}~{s}" for s, t in spec.paths]
    return xr.DataArray(rng.uniform(-0.8, 0.8, size=(*lead, len(names))),
                        dims=(*[f"d{i}" for i in range(len(lead))], "param"),
                        coords={"param": names})


def test_hand_computed_mediation():
    spec = read_model(model_path("mediation"))
    fx = compute_effects(spec, {"M~X": 0.5, "Y~M": 0.4, "Y~X": 0.1})
    got = dict(zip(fx.effect.values, fx.values))
    assert got["X -> M"] == 0.5 and got["X -> Y"] == 0.1
    assert got["X -> M -> Y"] == pytest.approx(0.2)
    assert got["total indirect X -> Y"] == pytest.approx(0.2)
    assert got["total X -> Y"] == pytest.approx(0.3)
    assert got["ind"] == pytest.approx(0.2) and got["total"] == pytest.approx(0.3)
    assert fx.sel(effect="X -> M -> Y").kind.item() == "indirect"
    assert fx.sel(effect="total X -> Y").source.item() == "X"


def test_hand_computed_serial_chain():
    spec = read_model(model_path("connective_action"))
    vals = {"CI~IS": 0.5, "CE~IS": 0.4, "CID~CI": 0.6, "EFF~CE": 0.3, "EFF~CID": 0.2,
            "INJ~CID": 0.5, "OCA~CID": 0.3, "OCA~EFF": 0.4, "OCA~INJ": 0.1}
    fx = compute_effects(spec, vals)
    assert fx.sel(effect="IS -> CI -> CID -> OCA").item() == pytest.approx(0.5 * 0.6 * 0.3)
    assert fx.sel(effect="IS -> CE -> EFF -> OCA").item() == pytest.approx(0.4 * 0.3 * 0.4)
    every_path = 0.5 * 0.6 * 0.3 + 0.4 * 0.3 * 0.4 + 0.5 * 0.6 * 0.2 * 0.4 + 0.5 * 0.6 * 0.5 * 0.1
    assert fx.sel(effect="total indirect IS -> OCA").item() == pytest.approx(every_path)
    assert fx.sel(effect="total_indirect_IS").item() == pytest.approx(every_path)
    assert fx.sel(effect="obligatory").item() == pytest.approx(0.6 * 0.3)
    assert fx.sel(effect="chain_difference").item() == pytest.approx(0.6 * 0.3 - 0.3 * 0.4)


@pytest.mark.parametrize("model", ["connective_action", "connective_action_cross",
                                   "connective_action_direct", "simca"])
def test_total_is_inverse_identity_and_sum_of_paths(model):
    spec = read_model(model_path(model))
    rng = np.random.default_rng(7)
    draws = _random_paths(spec, rng, lead=(3, 5))
    fx = compute_effects(spec, draws)
    assert fx.dims == ("d0", "d1", "effect")
    B = structural_matrix(spec, draws).transpose("d0", "d1", "target", "source").to_numpy()
    n = B.shape[-1]
    total = np.linalg.inv(np.eye(n) - B) - np.eye(n)
    index = {v: i for i, v in enumerate(spec.structural)}
    table = effect_table(spec)
    for row in table[table["kind"] == "total"].itertuples():
        np.testing.assert_allclose(fx.sel(effect=row.effect).values,
                                   total[..., index[row.target], index[row.source]])
    # total indirect = sum of the specific indirect effects between the same pair
    for row in table[table["kind"] == "total_indirect"].itertuples():
        specific = table[(table["kind"] == "indirect") & (table["source"] == row.source)
                         & (table["target"] == row.target)]["effect"]
        np.testing.assert_allclose(fx.sel(effect=list(specific)).sum("effect").values,
                                   fx.sel(effect=row.effect).values)
    # pairs with no path between them have a total effect of zero
    connected = {(r.source, r.target) for r in table[table["kind"] == "total"].itertuples()}
    for s in spec.structural:
        for t in spec.structural:
            if s != t and (s, t) not in connected:
                assert np.all(total[..., index[t], index[s]] == 0)


def test_leading_dims_match_draw_by_draw():
    spec = read_model(model_path("connective_action"))
    draws = _random_paths(spec, np.random.default_rng(3), lead=(2, 4))
    fx = compute_effects(spec, draws)
    one = compute_effects(spec, draws.isel(d0=1, d1=2))
    np.testing.assert_allclose(fx.isel(d0=1, d1=2).values, one.values)
    assert list(fx.effect.values) == list(one.effect.values)


def test_seminr_mobi_indirect_and_total_effects(mobi_spec, benchmarks):
    ref = benchmarks / "reference/seminr_mobi5"
    coef = pd.read_csv(ref / "mobi5_path_coef_matrix.csv", index_col=0)
    spec = mobi_spec
    paths = {f"{t}~{s}": coef.at[s, t] for s, t in spec.paths}
    fx = compute_effects(spec, paths)
    specific = pd.read_csv(ref / "mobi5_specific_indirect.csv")
    assert len(specific) == (fx.kind == "indirect").sum() == 10
    for row in specific.itertuples():
        assert fx.sel(effect=row.effect).item() == pytest.approx(row.original, abs=1e-10)
    total = pd.read_csv(ref / "mobi5_total_effects.csv", index_col=0)
    total_ind = pd.read_csv(ref / "mobi5_total_indirect_effects.csv", index_col=0)
    for s in total.index:
        for t in total.columns:
            if total.at[s, t] != 0:
                assert fx.sel(effect=f"total {s} -> {t}").item() == pytest.approx(total.at[s, t])
            if total_ind.at[s, t] != 0:
                got = fx.sel(effect=f"total indirect {s} -> {t}").item()
                assert got == pytest.approx(total_ind.at[s, t])


def test_defined_parameters_use_labels_of_any_parameter():
    spec = parse_model("F =~ x1 + l2*x2 + x3\nG =~ y1 + y2 + y3\nG ~ b*F\nq := l2*b")
    fx = compute_effects(spec, {"G~F": 0.5, "F=~x2": 0.8}, kinds=("defined",))
    assert fx.sel(effect="q").item() == pytest.approx(0.4)


def test_missing_values_and_kinds_are_errors():
    spec = read_model(model_path("mediation"))
    with pytest.raises(ConnectiveError, match="no value for the free parameter 'Y~X'"):
        compute_effects(spec, {"M~X": 0.5, "Y~M": 0.4})
    with pytest.raises(ValueError, match="unknown effect kinds"):
        compute_effects(spec, {"M~X": 0.5, "Y~M": 0.4, "Y~X": 0.1}, kinds=("direkt",))


def test_free_latent_means_are_rows_of_the_effects_table():
    # a growth model's mean intercept and slope are what it is about ([5/12] item 2)
    import xarray as xr

    from connective.effects import compute_effects
    from connective.spec import parse_model

    spec = parse_model("i =~ 1*t1 + 1*t2 + 1*t3\ns =~ 0*t1 + 1*t2 + 2*t3\ni ~ x\ns ~ x",
                       options={"growth": True})
    draws = xr.DataArray([[0.5, 0.2, 0.6, 1.0], [0.4, 0.1, 0.5, 0.9]], dims=("draw", "param"),
                         coords={"param": ["i~x", "s~x", "i~1", "s~1"]})
    fx = compute_effects(spec, draws)
    means = fx.sel(effect=["mean i", "mean s"])
    assert means.kind.values.tolist() == ["mean", "mean"]
    assert means.values.tolist() == [[0.6, 1.0], [0.5, 0.9]]
    assert fx.sel(effect="x -> s").values.tolist() == [0.2, 0.1]
    # without free latent means there are none
    assert "mean" not in compute_effects(parse_model("F =~ a + b + c\nF ~ x"),
                                         {"F~x": 0.3}).kind.values
