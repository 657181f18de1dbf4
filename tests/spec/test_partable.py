"""Parameter table and identification against lavaan's own parameter tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.spec import parse_model

HS = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


def _keys(frame):
    return {(r.lhs, r.op, r.rhs) for r in frame.itertuples()}


def test_political_democracy_table_matches_lavaan(benchmarks, political_democracy_model):
    lavaan = pd.read_csv(benchmarks / "reference/PoliticalDemocracy/PoliticalDemocracy_params.csv")
    fit = pd.read_csv(benchmarks / "reference/PoliticalDemocracy/PoliticalDemocracy_fitmeasures.csv")
    npar = int(fit.set_index("measure").at["npar", "value"])
    spec = parse_model(political_democracy_model)
    assert spec.n_free == npar == 31
    assert _keys(spec.partable) == _keys(lavaan)
    # lavaan's fixed parameters (se = 0) are ours, with the same values
    ours = spec.partable.set_index(["lhs", "op", "rhs"])
    for row in lavaan.itertuples():
        mine = ours.loc[(row.lhs, row.op, row.rhs)]
        assert (mine["free"] == 0) == (row.se == 0), (row.lhs, row.op, row.rhs)
        if row.se == 0:
            assert mine["ustart"] == row.est


def test_std_lv_frees_loadings_and_fixes_factor_variances():
    marker = parse_model(HS)
    std = parse_model(HS, std_lv=True)
    assert marker.n_free == std.n_free == 21  # lavaan cfa(): 21 free, df = 45 - 21 = 24
    t = std.partable.set_index("name")
    assert (t.loc[["visual=~x1", "textual=~x4", "speed=~x7"], "free"] > 0).all()
    assert (t.loc[["visual~~visual", "textual~~textual"], "ustart"] == 1.0).all()
    # exogenous factors covary freely, as lavaan's auto.cov.lv.x
    assert {"visual~~textual", "visual~~speed", "textual~~speed"} <= set(t.index)


def test_shared_labels_share_one_free_parameter():
    spec = parse_model("F =~ x1 + a*x2 + a*x3\nG =~ y1 + y2 + y3\nG ~ F")
    t = spec.partable.set_index("name")
    assert t.at["F=~x2", "free"] == t.at["F=~x3", "free"]
    assert parse_model("F =~ x1 + a*x2 + b*x3\nG =~ y1 + y2 + y3\nG ~ F").n_free == spec.n_free + 1
    assert spec.labels["a"] == ["F=~x2", "F=~x3"]


def test_single_indicator_factor_with_fixed_error_is_accepted():
    spec = parse_model("F =~ x1\nx1 ~~ 0*x1\nG =~ y1 + y2 + y3\nG ~ F")
    assert spec.partable.set_index("name").at["x1~~x1", "ustart"] == 0.0


def test_structure_and_patterns(political_democracy_model):
    spec = parse_model(political_democracy_model)
    assert spec.structural == ("ind60", "dem60", "dem65")
    assert spec.exogenous == ("ind60",) and spec.endogenous == ("dem60", "dem65")
    beta = spec.pattern("beta")
    assert beta.free.sel(target="dem65", source="dem60").item() > 0
    assert beta.free.sel(target="dem60", source="dem65").item() == 0
    theta = spec.pattern("theta")
    # residual covariances sit symmetrically in theta, with one free number
    assert theta.free.sel(row="y2", col="y6").item() == theta.free.sel(row="y6", col="y2").item() > 0
    lam = spec.pattern("lambda")
    assert lam.value.sel(observed="y5", structural="dem65").item() == 1.0
    assert np.isnan(lam.value.sel(observed="y6", structural="dem65").item())
    assert lam.value.sel(observed="y6", structural="dem60").item() == 0.0


def test_indirect_paths_are_enumerated(political_democracy_model):
    spec = parse_model(political_democracy_model)
    assert spec.indirect_paths() == [("ind60", "dem60", "dem65")]
    with pytest.raises(Exception, match="not a variable of the structural model"):
        spec.indirect_paths(source="x1")
