"""Every seed converges: the chains that used to collapse (a factor variance near 0, the
other loadings near -7, one chain stuck: R-hat 1.53, ESS 7 on the flagship survey with
seeds 5 and 8) were started from jittered values; chains now start at lavaan-like values."""

from __future__ import annotations

import pandas as pd
import pytest


def _flagship():
    from connective.resources import flagship_data_path, model_path
    from connective.spec import read_model

    spec = read_model(model_path("connective_action"))
    return spec, pd.read_csv(flagship_data_path())[list(spec.observed)]


def test_previously_collapsed_seed_converges():
    from connective.bayes import fit

    spec, frame = _flagship()
    s = fit(spec, frame, draws=1000, tune=1000, chains=4, seed=8).summary()
    assert s["max_r_hat"] <= 1.01, s
    assert s["min_ess_bulk"] >= 400 and s["divergences"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("case", ["connective_action", "PoliticalDemocracy"])
def test_ten_seeds_in_a_row(case, benchmarks, political_democracy_model):
    """10 seeds, 4 chains x 1,000 draws, one compiled model: R-hat <= 1.01, bulk ESS >= 400,
    no divergences in every run (the issue's convergence criterion)."""
    from connective.bayes import build_model, sample
    from connective.bayes.results import summary
    from connective.spec import parse_model

    if case == "connective_action":
        spec, frame = _flagship()
    else:
        spec = parse_model(political_democracy_model)
        frame = pd.read_csv(benchmarks / "data" / "PoliticalDemocracy.csv")
    bm = build_model(spec, frame)
    bad = []
    for seed in range(1, 11):
        s = summary(sample(bm, draws=1000, tune=1000, chains=4, seed=seed, progress=False))
        if s["max_r_hat"] > 1.01 or s["min_ess_bulk"] < 400 or s["divergences"]:
            bad.append((seed, round(s["max_r_hat"], 3), round(s["min_ess_bulk"]),
                        s["divergences"]))
    assert not bad, bad
