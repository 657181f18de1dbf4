"""The JAX backends (bayes/backends.py, issue [6/12]): numpyro and blackjax give the same
draws for the same seed, and their posteriors agree with nutpie's within Monte Carlo error.
Skipped where the optional extras connective[jax] / connective[blackjax] are not
installed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.bayes.backends import jax_available

pytestmark = pytest.mark.skipif(not jax_available(), reason="jax/numpyro not installed")


@pytest.mark.slow  # an XLA and a numba compilation: 1-4 minutes
@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_jax_draws_repeat_and_agree_with_nutpie(backend):
    if not jax_available(backend):
        pytest.skip(f"{backend} not installed")
    import arviz as az

    from connective.bayes import build_model, sample
    from connective.spec import parse_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=150)
    frame = pd.DataFrame({"X": x, "M": 0.5 * x + rng.normal(size=150)})
    bm = build_model(parse_model("M ~ X"), frame)
    runs = [sample(bm, draws=400, tune=400, chains=2, seed=3, sampler=s, progress=False)
            for s in (backend, backend, "nutpie")]
    first, again, nutpie = (r.posterior["parameters"] for r in runs)
    assert runs[0].attrs["sampler"] == backend
    np.testing.assert_array_equal(first.values, again.values)
    a, b = az.summary(first), az.summary(nutpie)
    z = (a["mean"] - b["mean"]).abs() / np.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
    assert z.max() < 4.0
