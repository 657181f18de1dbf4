"""Recovery of a known two-level population: 200 organisations of 5-20 respondents drawn
by simulate_twolevel (data/simulate_levels.py), fitted with bayes/twolevel.py. Each level's
standardised loadings and paths (std.all: standardised by that level's implied covariance,
as the population is stated) must lie within their 95% credible intervals (at most one of
the 10 outside, as 95% intervals allow) and every one within 3 posterior SDs."""

from __future__ import annotations

import pytest

from connective.bayes.twolevel import fit_twolevel
from connective.data.simulate_levels import simulate_twolevel
from connective.spec.levels import SUFFIX, parse_twolevel

MODEL = """
level: 1
    fw =~ y1 + y2 + y3 + y4
    fw ~ x1
level: 2
    fb =~ y1 + y2 + y3 + y4
    fb ~ w1
"""
VALUES = {"values": {"fw =~ y1": 0.7, "fw =~ y2": 0.8, "fw =~ y3": 0.6, "fw =~ y4": 0.75,
                     "fw ~ x1": 0.4},
          "between": {"fb =~ y1": 0.9, "fb =~ y2": 0.8, "fb =~ y3": 0.85, "fb =~ y4": 0.7,
                      "fb ~ w1": 0.5},
          "clusters": {"n": 200, "sizes": [5, 20], "between_variance": 0.3}}


@pytest.mark.slow
def test_two_level_recovery_covers_both_levels():
    two = parse_twolevel(MODEL, source="recovery.lav")
    sim = simulate_twolevel(two, VALUES, seed=20)
    sizes = sim.frame.groupby("cluster").size()
    assert sizes.min() >= 5 and sizes.max() <= 20 and len(sizes) == 200
    result = fit_twolevel(two, sim.frame, cluster="cluster", draws=1000, tune=1000, chains=2,
                          seed=3)
    summary = result.summary()
    assert summary["divergences"] == 0 and summary["max_r_hat"] < 1.02
    table = result.parameters()
    truth = {**{(1, k): v for k, v in sim.population["values"].items()},
             **{(2, k): v for k, v in sim.population["between"].items()}}
    outside, far = [], []
    for _, r in table[table["op"].isin(["=~", "~"])].iterrows():
        true = truth[(r["level"], f"{r['lhs']}{r['op']}{r['rhs']}")]
        name = f"{r['lhs']}{r['op']}{r['rhs']}" + (SUFFIX if r["level"] == 2 else "")
        if not r["std.all.lower"] <= true <= r["std.all.upper"]:
            outside.append(name)
        if abs(r["std.all"] - true) > 3 * r["std.all.se"]:
            far.append(name)
    assert len(table[table["op"].isin(["=~", "~"])]) == 10
    assert len(outside) <= 1, outside
    assert far == []
