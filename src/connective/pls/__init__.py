"""PLS path modelling (PLS-SEM): the comparison side of a Bayesian re-analysis.

Reads the same :class:`~connective.spec.ModelSpec` as every other engine: ``=~`` blocks are
estimated in mode A, ``<~`` blocks in mode B; path, centroid or factorial inner weighting;
consistent PLS (PLSc); quality criteria; seeded, vectorised bootstrap with percentile and
BCa intervals for every parameter, R^2, HTMT and effect.

* :func:`estimate_pls` -> :class:`PLSResult` (labelled tables);
* :func:`bootstrap_pls` -> :class:`PLSBootstrap` (replicates as xarray, interval tables).

Example
-------
>>> spec, frame = example_data()
>>> res = estimate_pls(spec, frame)
>>> boot = bootstrap_pls(res, n_boot=200, seed=1)
>>> table = boot.parameters()
>>> list(table.columns)
['lhs', 'op', 'rhs', 'est', 'se', 'ci.lower', 'ci.upper']
>>> row = table[(table.lhs == "CI") & (table.op == "~")].iloc[0]
>>> bool(row["ci.lower"] < row["est"] < row["ci.upper"])
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from connective.pls.bootstrap import PLSBootstrap, bootstrap_pls
from connective.pls.errors import (BootstrapWarning, CollinearBlockError, ConvergenceError,
                                   InadmissibleWarning, MissingDataError, NonRecursiveModelError,
                                   PLSDataError, PLSModelError, TooFewRowsError,
                                   ZeroVarianceError)
from connective.pls.fit import estimate_pls
from connective.pls.results import PLSResult
from connective.spec import ModelSpec, parse_model


def example_data(n: int = 200, seed: int = 7) -> tuple[ModelSpec, pd.DataFrame]:
    """A two-construct model (IS -> CI, path 0.6, loadings 0.8/0.7/0.6) and simulated data,
    for examples and quick checks.

    Example
    -------
    >>> spec, frame = example_data(50)
    >>> frame.shape
    (50, 6)
    """
    spec = parse_model("IS =~ is1 + is2 + is3\nCI =~ ci1 + ci2 + ci3\nCI ~ IS",
                       source="<example>")
    rng = np.random.default_rng(seed)
    eta1 = rng.standard_normal(n)
    eta2 = 0.6 * eta1 + np.sqrt(1 - 0.36) * rng.standard_normal(n)
    lam = np.array([0.8, 0.7, 0.6])
    cols = {}
    for name, eta in (("is", eta1), ("ci", eta2)):
        for k, l in enumerate(lam, start=1):
            cols[f"{name}{k}"] = l * eta + np.sqrt(1 - l**2) * rng.standard_normal(n)
    return spec, pd.DataFrame(cols)


__all__ = ["estimate_pls", "bootstrap_pls", "PLSResult", "PLSBootstrap", "example_data",
           "PLSDataError", "MissingDataError", "ZeroVarianceError", "CollinearBlockError",
           "TooFewRowsError", "NonRecursiveModelError", "PLSModelError", "ConvergenceError",
           "InadmissibleWarning", "BootstrapWarning"]
