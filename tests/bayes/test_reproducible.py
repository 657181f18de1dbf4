"""Same data and seed, same draws: a compiled model reused on new data (studies, SBC,
``fit(model=...)``) must draw exactly what a model built on those data draws, whatever data
set it served before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.spec import parse_model

pytest.importorskip("nutpie")

SPEC = "M ~ X\nY ~ M + X"
SHORT = dict(draws=60, tune=60, chains=2, cores=1, seed=4)


def _frame(seed: int, scale: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=150)
    m = 0.5 * x + rng.normal(size=150)
    # another scale per data set: the default priors are scaled by the data's SDs
    return pd.DataFrame({"X": x, "M": m, "Y": 0.4 * m + rng.normal(size=150)}) * scale + 2.0


def test_a_reused_model_draws_what_a_fresh_model_draws():
    from connective.bayes import fit

    spec = parse_model(SPEC)
    first, second = _frame(1, 1.0), _frame(2, 3.0)
    fresh = fit(spec, second, **SHORT)
    reused = fit(spec, second, model=fit(spec, first, **SHORT).model, **SHORT)
    np.testing.assert_array_equal(reused.idata.posterior["parameters"].values,
                                  fresh.idata.posterior["parameters"].values)
    # and the run records the priors it sampled with: the second data set's
    assert reused.model.priors == fresh.model.priors


def test_a_study_replication_does_not_depend_on_the_one_before():
    """The symptom: a study worker that fitted data set A before B reported other
    estimates for B than one that fitted B first."""
    from connective.studies import methods

    spec = parse_model(SPEC)
    first, second = _frame(3, 1.0), _frame(4, 0.5)
    settings = dict(draws=60, tune=60, chains=2)
    methods._COMPILED.clear()
    alone = methods._bayes(spec, second, seed=9, **settings)[0]
    methods._COMPILED.clear()
    methods._bayes(spec, first, seed=9, **settings)
    after = methods._bayes(spec, second, seed=9, **settings)[0]
    assert methods._COMPILED  # the compiled model was reused (the speed stays)
    pd.testing.assert_frame_equal(after, alone, check_exact=True)
