"""Diagnostics verdicts on constructed draws whose problems are known."""

from __future__ import annotations

import arviz as az
import numpy as np

from connective.diagnostics import diagnose, plot_diagnostics


def fake(posterior, **stats):
    return az.from_dict(posterior=posterior, sample_stats=stats or None)


def good(rng, chains=4, draws=1000):
    return {"a": rng.normal(size=(chains, draws)), "b": rng.normal(size=(chains, draws, 2))}


def test_well_mixed_independent_draws_pass():
    rng = np.random.default_rng(0)
    energy = rng.normal(size=(4, 1000))
    d = diagnose(fake(good(rng), diverging=np.zeros((4, 1000), bool), energy=energy,
                      maxdepth_reached=np.zeros((4, 1000), bool)))
    assert d.ok, d.problems
    assert d.table["r_hat"].max() < 1.01 and d.n_draws == 4000
    assert "Diagnostics: OK" in d.text()


def test_a_stuck_chain_fails_on_r_hat():
    rng = np.random.default_rng(1)
    post = good(rng)
    post["a"][3] += 4.0  # one chain in another mode (as blavaan's stuck chains)
    d = diagnose(fake(post))
    assert not d.ok
    assert any("R-hat above 1.01" in p and "worst a" in p for p in d.problems)


def test_autocorrelated_draws_fail_on_ess():
    rng = np.random.default_rng(2)
    walk = np.cumsum(rng.normal(size=(4, 1000)), axis=1) * 0.05  # a random walk: tiny ESS
    d = diagnose(fake({"a": walk}))
    assert any("bulk ESS below 400" in p for p in d.problems)


def test_sampler_problems_are_counted():
    rng = np.random.default_rng(3)
    div = np.zeros((4, 1000), bool)
    div[0, :7] = True
    depth = np.zeros((4, 1000), bool)
    depth[:, :50] = True
    # energy with tiny step-to-step changes relative to its spread: low E-BFMI
    energy = np.cumsum(rng.normal(size=(4, 1000)), axis=1)
    d = diagnose(fake(good(rng), diverging=div, maxdepth_reached=depth, energy=energy))
    text = " | ".join(d.problems)
    assert d.divergences == 7 and "7 divergent transitions" in text
    assert d.treedepth_share == 0.05 and "5.0% of draws hit the maximum tree depth" in text
    assert "E-BFMI below 0.3" in text


def test_pymc_stat_names_and_custom_thresholds():
    rng = np.random.default_rng(4)
    depth = np.zeros((2, 500), bool)
    depth[0, 0] = True
    d = diagnose(fake(good(rng, 2, 500), reached_max_treedepth=depth),
                 thresholds={"ess_bulk": 100, "ess_tail": 100})
    assert d.treedepth_share == 0.001 and d.ok


def test_single_chain_is_flagged():
    d = diagnose(fake({"a": np.random.default_rng(5).normal(size=(1, 2000))}))
    assert any("only one chain" in p for p in d.problems)


def test_plots_are_written(tmp_path):
    paths = plot_diagnostics(fake(good(np.random.default_rng(6))), tmp_path, var_names=["a"])
    assert [p.name for p in paths] == ["rank.png", "trace.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
