"""Expensive Bayesian fits shared by the tests of this folder (one per session)."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def poldem_fit(benchmarks, political_democracy_model):
    """PoliticalDemocracy, 4 chains x 500 draws, seed 11 (about 40 s with compilation)."""
    from connective.bayes import fit
    from connective.spec import parse_model

    frame = pd.read_csv(benchmarks / "data" / "PoliticalDemocracy.csv")
    spec = parse_model(political_democracy_model, source="PoliticalDemocracy")
    return fit(spec, frame, draws=500, tune=500, chains=4, seed=11)


@pytest.fixture(scope="session")
def mediation_run(benchmarks, tmp_path_factory):
    """``connective fit mediation`` through the CLI; the output folder."""
    from connective.cli import main

    out = tmp_path_factory.mktemp("mediation_fit")
    status = main(["fit", "mediation", "--data", str(benchmarks / "data" / "mediation_sim.csv"),
                   "--out", str(out), "--draws", "1000", "--tune", "500", "--chains", "4",
                   "--seed", "5", "--quiet"])
    assert status == 0
    return out
