"""Expensive Bayesian fits shared by the tests of this folder (one per session)."""

from __future__ import annotations

import pandas as pd
import pytest

POLDEM_MODEL = """
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
dem60 ~ ind60
dem65 ~ ind60 + dem60
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""


@pytest.fixture(scope="session")
def poldem_model() -> str:
    """The PoliticalDemocracy model text."""
    return POLDEM_MODEL


@pytest.fixture(scope="session")
def poldem_fit(benchmarks):
    """PoliticalDemocracy, 4 chains x 500 draws, seed 11 (about 40 s with compilation)."""
    from connective.bayes import fit
    from connective.spec import parse_model

    frame = pd.read_csv(benchmarks / "data" / "PoliticalDemocracy.csv")
    return fit(parse_model(POLDEM_MODEL, source="PoliticalDemocracy"), frame, draws=500,
               tune=500, chains=4, seed=11)


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
