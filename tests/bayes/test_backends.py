"""The numpyro backend (bayes/backends.py, issue [6/12]): the same seed gives the same
draws, and its posterior agrees with nutpie's within Monte Carlo error. Skipped where the
optional extra connective[jax] is not installed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.bayes.backends import jax_available

pytestmark = pytest.mark.skipif(not jax_available(), reason="jax/numpyro not installed")


@pytest.mark.slow  # an XLA and a numba compilation: 1-4 minutes
def test_numpyro_draws_repeat_and_agree_with_nutpie():
    import arviz as az

    from connective.bayes import build_model, sample
    from connective.spec import parse_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=150)
    frame = pd.DataFrame({"X": x, "M": 0.5 * x + rng.normal(size=150)})
    bm = build_model(parse_model("M ~ X"), frame)
    runs = [sample(bm, draws=400, tune=400, chains=2, seed=3, sampler=s, progress=False)
            for s in ("numpyro", "numpyro", "nutpie")]
    first, again, nutpie = (r.posterior["parameters"] for r in runs)
    assert runs[0].attrs["sampler"] == "numpyro"
    np.testing.assert_array_equal(first.values, again.values)
    a, b = az.summary(first), az.summary(nutpie)
    z = (a["mean"] - b["mean"]).abs() / np.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
    assert z.max() < 4.0
