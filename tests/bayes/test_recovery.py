"""Parameter recovery on simulated connective-action data (issue [3/6]): the posterior
intervals of the standardised paths and of every indirect effect cover the population
values, and they narrow as N grows from 194 to 1,000: for the normal likelihood on
continuous answers and for the ordinal one on 7-point answers (slow: the ordinal fits take
about 9 minutes on the 2-core machine).

Twenty-odd 95% intervals per fit: even a calibrated engine misses about one of them, so the
test asks for at least 90% inside the 95% intervals and every value inside its 99.9%
interval (a miss there is a 1-in-1,000 event per quantity, not bad luck)."""

from __future__ import annotations

import numpy as np
import pytest

from connective.effects import compute_effects
from connective.resources import model_path
from connective.spec import read_model


def _fit(n: int, likelihood: str, seed: int, draws: int = 500):
    from connective.bayes import fit
    from connective.data.simulate import simulate

    spec = read_model(model_path("connective_action"))
    sim = simulate(spec, n, seed=seed, likert=7 if likelihood == "ordinal" else None)
    frame = sim.frame[list(spec.observed)].astype(float)
    result = fit(spec, frame, likelihood=likelihood, draws=draws, tune=draws, chains=4,
                 seed=seed)
    return spec, result, sim.population["values"]


def _intervals(spec, result, truth):
    """Per structural path and indirect effect (standardised): truth, 95% and 99.9%
    intervals, and the summary of the fit."""
    std = result.idata.posterior["std_all"]
    effects = result.idata.posterior["effects_std_all"]
    rows = {}
    for source, target in spec.paths:
        name = f"{target}~{source}"
        rows[name] = (truth[name], std.sel(std_param=name))
    true_effects = compute_effects(spec, {k: v for k, v in truth.items() if "~" in k
                                          and "=~" not in k and "~~" not in k})
    for effect in effects.effect.values:
        if effects.sel(effect=effect).kind.item() in ("indirect", "total_indirect"):
            rows[str(effect)] = (float(true_effects.sel(effect=effect)),
                                 effects.sel(effect=effect))
    out = {}
    for name, (value, draws) in rows.items():
        q = draws.quantile([0.0005, 0.025, 0.975, 0.9995], ("chain", "draw")).to_numpy()
        out[name] = (value, q)
    return out


@pytest.fixture(scope="module")
def normal_fits():
    return {n: _fit(n, "normal", seed=21) for n in (194, 1000)}


def _check_recovery(fits):
    widths = {}
    for n, (spec, result, truth) in fits.items():
        s = result.summary()
        # 4 x 500 draws: the largest R-hat of some 40 parameters fluctuates around 1.008
        # (N = 194, seeds 21-32 with the tape: 1.0055-1.0127, only seed 21 above 1.01); the
        # 1.01 criterion at 1,000 draws over 10 seeds is the slow test in test_convergence.py
        assert s["divergences"] == 0 and s["max_r_hat"] <= 1.015, (n, s)
        table = _intervals(spec, result, truth)
        inside95 = [q[1] <= v <= q[2] for v, q in table.values()]
        outside999 = [name for name, (v, q) in table.items() if not q[0] <= v <= q[3]]
        assert np.mean(inside95) >= 0.9, (n, {k: (v, q[1:3]) for k, (v, q) in table.items()})
        assert not outside999, (n, outside999)
        widths[n] = {name: q[2] - q[1] for name, (v, q) in table.items()}
    # 5.2x the data: intervals about sqrt(194 / 1000) = 0.44 times as wide; every one
    # narrower, and typically by the square-root law
    ratio = {k: widths[1000][k] / widths[194][k] for k in widths[194]}
    assert max(ratio.values()) < 0.8, ratio
    assert 0.3 < np.median(list(ratio.values())) < 0.6, ratio
    return ratio


def test_normal_likelihood_recovers_paths_and_indirect_effects(normal_fits):
    ratio = _check_recovery(normal_fits)
    # the chains of interest are among the checked quantities
    assert {"OCA~EFF", "CE -> EFF -> OCA", "CI -> CID -> OCA", "IS -> CE -> EFF -> OCA"} <= set(ratio)


@pytest.fixture(scope="module")
def ordinal_fits():
    # 1,000 draws per chain: R-hat <= 1.01 needs them with 1,358+ factor scores
    return {n: _fit(n, "ordinal", seed=21, draws=1000) for n in (194, 1000)}


@pytest.mark.slow
def test_ordinal_likelihood_recovers_paths_and_indirect_effects(ordinal_fits):
    # the latent responses' standardised paths are those of the continuous population
    # (cutting a normal response into categories leaves its correlations unchanged)
    ratio = _check_recovery(ordinal_fits)
    assert {"OCA~EFF", "CE -> EFF -> OCA", "CI -> CID -> OCA", "IS -> CE -> EFF -> OCA"} <= set(ratio)
