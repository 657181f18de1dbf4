"""Model-implied moments against lavaan: its ML estimates must give its chi-square."""

from __future__ import annotations

import numpy as np
import pandas as pd

from connective.moments import implied_covariance
from connective.spec import parse_model
import pytest


def test_lavaan_estimates_reproduce_lavaan_chi_square(benchmarks, political_democracy_model):
    data = pd.read_csv(benchmarks / "data/PoliticalDemocracy.csv")
    params = pd.read_csv(benchmarks / "reference/PoliticalDemocracy/PoliticalDemocracy_params.csv")
    fit = pd.read_csv(benchmarks / "reference/PoliticalDemocracy/PoliticalDemocracy_fitmeasures.csv")
    fit = fit.set_index("measure")["value"]
    spec = parse_model(political_democracy_model)
    values = {f"{r.lhs}{r.op}{r.rhs}": r.est for r in params.itertuples()}
    sigma = implied_covariance(spec, values)
    obs = list(spec.observed)
    sigma = sigma.sel(row=obs, col=obs).to_numpy()
    n = len(data)
    S = np.cov(data[obs].to_numpy().T, ddof=0)  # ML uses the divisor N
    f_ml = (np.linalg.slogdet(sigma)[1] + np.trace(S @ np.linalg.inv(sigma))
            - np.linalg.slogdet(S)[1] - len(obs))
    assert n * f_ml == pytest.approx(fit["chisq"], rel=1e-4)
    assert f_ml / 2 == pytest.approx(fit["fmin"], rel=1e-5)

