"""Standardised-scale priors, prior predictive checks and power-scaling, by sampling small
SEMs (2 factors x 3 items, fixed seeds, 2 chains)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

from connective.bayes import fit
from connective.bayes.prior_checks import absurd_correlations, prior_check
from connective.bayes.sensitivity import power_scaling
from connective.spec import parse_model

# each test samples a model of its own (about 100 s apiece to compile on a new machine):
# run with -m slow
pytestmark = pytest.mark.slow

TRUE_PATH = 0.5  # standardised G ~ F of the simulated data
MODEL = "F =~ a + b + c\nG =~ d + e + f\nG ~ F"
STD_PRIOR = "normal(0.1, 0.05)[std]"  # far from the truth, on the standardised scale


@pytest.fixture(scope="module")
def frame():
    """N = 250 from standardised loadings .8 and a standardised path of .5 (items on their
    own scales: SDs 1 to 3)."""
    rng = np.random.default_rng(21)
    n = 250
    f = rng.normal(size=n)
    g = TRUE_PATH * f + np.sqrt(1 - TRUE_PATH ** 2) * rng.normal(size=n)
    cols = {}
    for k, v in enumerate("abc"):
        cols[v] = (1 + k) * (0.8 * f + 0.6 * rng.normal(size=n))
    for k, v in enumerate("def"):
        cols[v] = (3 - k) * (0.8 * g + 0.6 * rng.normal(size=n))
    return pd.DataFrame(cols)


def std_draws(result, name):
    return result.idata.posterior["std_all"].sel(std_param=name)


@pytest.fixture(scope="module")
def prior_only(frame):
    spec = parse_model(MODEL)
    return fit(spec, frame, draws=1500, tune=700, chains=2, seed=5, prior_only=True,
               priors={"G~F": "normal(0.3, 0.1)[std]", "F=~b": "normal(0.6, 0.05)[std]"})


def test_prior_only_gives_the_stated_std_distribution(prior_only):
    for name, (mu, sigma) in {"G~F": (0.3, 0.1), "F=~b": (0.6, 0.05)}.items():
        z = std_draws(prior_only, name)
        ess = float(az.ess(z.to_dataset(name="z"))["z"])
        mcse = sigma / np.sqrt(ess)
        assert abs(float(z.mean()) - mu) < 4 * mcse, (name, float(z.mean()), mcse)
        # the SD within MC error (the SD's MC error is about sigma / sqrt(2 ESS))
        assert abs(float(z.std()) - sigma) < 4 * sigma / np.sqrt(2 * ess), name
        assert ess > 300


@pytest.fixture(scope="module")
def default_fit(frame):
    return fit(parse_model(MODEL), frame, draws=500, tune=500, chains=2, seed=7,
               log_prior=True)


@pytest.fixture(scope="module")
def std_fit(frame):
    return fit(parse_model(MODEL), frame, draws=500, tune=500, chains=2, seed=7,
               priors={"G~F": STD_PRIOR}, log_prior=True)


def test_with_data_a_std_prior_shrinks_towards_its_mean(default_fit, std_fit):
    free = float(std_draws(default_fit, "G~F").mean())
    shrunk = float(std_draws(std_fit, "G~F").mean())
    assert abs(free - TRUE_PATH) < 0.1  # the defaults let the data speak
    # precision-weighted: between the prior mean and the data's answer, nearer the prior
    # since its SD (0.05) is smaller than the posterior SD under the defaults (about 0.06)
    assert 0.1 < shrunk < free
    sd_free = float(std_draws(default_fit, "G~F").std())
    expected = (0.1 / 0.05 ** 2 + free / sd_free ** 2) / (1 / 0.05 ** 2 + 1 / sd_free ** 2)
    assert abs(shrunk - expected) < 0.06
    assert std_fit.summary()["divergences"] == 0


def test_power_scaling_flags_a_tight_wrong_prior_and_not_the_defaults(default_fit, std_fit):
    ps_default = power_scaling(default_fit.idata)
    assert not ps_default["prior_sensitive"].any(), \
        ps_default.loc[ps_default["prior_sensitive"], "name"].tolist()
    ps = power_scaling(std_fit.idata).set_index("name")
    assert ps.loc["G~F", "prior_sensitive"]
    assert ps.loc["G~F", "diagnosis"] == "prior-data conflict?"  # the data disagree
    assert ps.loc["F=~b", "prior_sensitivity"] < 0.05  # the loadings are not affected


def test_prior_check_flags_absurd_item_correlations_and_not_sensible_ones(frame, prior_only):
    table, verdict = prior_check(prior_only.idata, prior_only.model)
    assert not verdict["flagged"]
    r2 = table.set_index("name").loc["R2(G)"]
    assert 0.04 < r2["median"] < 0.16  # .3 squared, give or take the prior's spread
    # items without error of their own (residual SDs near 0): each a copy of its factor, and
    # a path that makes the two factors one
    absurd = {f"{v}~~{v}": "halfnormal(0.01)" for v in "abcdef"} | {"G~F": "normal(20, 1)"}
    bad = fit(parse_model(MODEL), frame, draws=300, tune=300, chains=2, seed=5,
              prior_only=True, priors=absurd)
    verdict = absurd_correlations(bad.idata, bad.model.layout)
    assert verdict["flagged"] and verdict["share"] > 0.5
    assert "absurd data" in verdict["message"]


def test_cli_prior_only_writes_its_checks_and_the_report_shows_them(frame, tmp_path):
    from connective.cli import main

    model = tmp_path / "two.lav"
    model.write_text(MODEL + "\n", encoding="utf-8")
    data = tmp_path / "two.csv"
    frame.to_csv(data, index=False)
    priors = tmp_path / "priors.toml"
    priors.write_text('[priors]\n"G~F" = "normal(0.3, 0.1)[std]"\n'
                      '"F=~b" = "normal(0.6, 0.05)[std]"\n', encoding="utf-8")
    out = tmp_path / "run"
    assert main(["fit", str(model), "--data", str(data), "--out", str(out), "--priors",
                 str(priors), "--prior-only", "--draws", "200", "--tune", "200",
                 "--chains", "2", "--seed", "3", "--quiet"]) == 0
    used = pd.read_csv(out / "priors.csv").set_index("name")
    assert used.loc["G~F", "prior"] == "normal(0.3, 0.1)[std]"
    assert used.loc["G~F", "origin"] == str(priors)
    checks = pd.read_csv(out / "prior_checks.csv").set_index("name")
    assert checks.loc["G~F", "q2.5"] < 0.3 < checks.loc["G~F", "q97.5"]
    assert main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    text = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "Prior predictive check" in text and "What the priors imply" in text
    assert "normal(0.3, 0.1)[std]" in text
