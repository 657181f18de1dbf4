"""Preparing survey data for PLS: model columns, missing data, checks, standardisation.

Indicators are standardised with the sample standard deviation (ddof = 1), as seminr,
cSEM and SmartPLS do. Missing values need an explicit treatment: ``"mean"`` (mean
replacement, column by column) or ``"casewise"`` (drop every row with a missing model
column); without one, NaNs are an error naming the columns.

Example
-------
>>> import pandas as pd
>>> from connective.spec import parse_model
>>> from connective.pls.model import PLSModel
>>> m = PLSModel.from_spec(parse_model("F =~ a + b\\nG =~ c + d\\nG ~ F"))
>>> df = pd.DataFrame({"a": [1, 2, 3, 4.], "b": [2, 1, 4, 3.], "c": [1, 3, 2, None],
...                    "d": [1, 2, 2, 3.]})
>>> prepare_data(m, df, missing="casewise").report["n_used"]
3
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connective.errors import DataError
from connective.pls.errors import (CollinearBlockError, MissingDataError, TooFewRowsError,
                                   ZeroVarianceError)
from connective.pls.model import PLSModel

MISSING_METHODS = ("mean", "casewise")


@dataclass
class PreparedData:
    """Standardised indicator matrix (rows x columns of the model) and what was done."""

    X: np.ndarray  # standardised, columns as model.columns
    index: pd.Index  # row labels of the rows used
    means: np.ndarray
    sds: np.ndarray
    report: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.X.shape[0]


def prepare_data(model: PLSModel, frame: pd.DataFrame, *, missing: str | None = None) -> PreparedData:
    """Select the model's columns, treat missing values, check and standardise.

    Raises :class:`~connective.pls.errors.MissingDataError`,
    :class:`~connective.pls.errors.ZeroVarianceError`,
    :class:`~connective.pls.errors.TooFewRowsError` or
    :class:`~connective.pls.errors.CollinearBlockError`, each naming the column or construct.
    """
    if missing is not None and missing not in MISSING_METHODS:
        raise DataError(f"PLS cannot use --missing {missing}; choose --missing mean or "
                        "--missing casewise")
    # a two-stage higher-order model is estimated from its first stage's items
    model = model.data_model
    names = list(dict.fromkeys(model.columns))
    absent = [c for c in names if c not in frame.columns]
    if absent:
        raise DataError(f"the data have no column(s) {', '.join(absent)} that the model uses")
    data = {}
    for c in names:
        col = frame[c]
        values = pd.to_numeric(col, errors="coerce")
        bad = values.isna() & col.notna()
        if bad.any():
            example = col[bad].iloc[0]
            raise DataError(f"column {c!r} ({_owner(model, c)}) holds non-numeric values such as "
                            f"{example!r} in {int(bad.sum())} row(s); recode them or mark them missing")
        data[c] = values.astype(float)
    sub = pd.DataFrame(data, index=frame.index)
    n_in = len(sub)
    counts = sub.isna().sum()
    report = {"missing": missing, "n_rows": n_in, "n_used": n_in,
              "missing_cells": int(counts.sum()),
              "missing_by_column": {c: int(k) for c, k in counts.items() if k}}
    if counts.any():
        if missing is None:
            listing = ", ".join(f"{c} ({int(k)})" for c, k in counts.items() if k)
            raise MissingDataError(
                f"the data have missing values in {listing}; choose a treatment explicitly: "
                "--missing mean (mean replacement) or --missing casewise (casewise deletion)")
        if missing == "mean":
            sub = sub.fillna(sub.mean())
            if sub.isna().any().any():
                empty = [c for c in sub.columns if sub[c].isna().all()]
                raise MissingDataError(f"column(s) {', '.join(empty)} have no observed values")
        else:
            sub = sub.dropna()
            report["n_used"] = len(sub)
    n = len(sub)
    if n < 2:
        raise TooFewRowsError(f"only {n} usable row(s) remain; PLS needs at least 2")
    for j, c in enumerate(model.constructs):
        k = len(model.block_columns(j))
        if n < k:
            raise TooFewRowsError(f"construct {c} has {k} indicators but the data have only {n} "
                                  "usable rows; a block needs at least as many rows as indicators")
    raw = sub.to_numpy()
    means = raw.mean(axis=0)
    sds = raw.std(axis=0, ddof=1)
    flat = ~(sds > 1e-12 * np.maximum(1.0, np.abs(means)))
    if flat.any():
        c = names[int(np.flatnonzero(flat)[0])]
        raise ZeroVarianceError(f"column {c!r} ({_owner(model, c)}) has zero variance (every "
                                f"usable row is {raw[0, names.index(c)]:g}); it cannot be "
                                "standardised: drop it from the model")
    Z = (raw - means) / sds
    pos = {c: i for i, c in enumerate(names)}
    cols = [pos[c] for c in model.columns]
    X = Z[:, cols]
    prepared = PreparedData(X=X, index=sub.index, means=means[cols], sds=sds[cols], report=report)
    check_formative_blocks(model, np.corrcoef(X, rowvar=False))
    return prepared


def check_formative_blocks(model: PLSModel, R: np.ndarray) -> None:
    """Raise :class:`CollinearBlockError` if a mode B block's correlation matrix is singular."""
    for j, c in enumerate(model.constructs):
        if model.modes[j] != "B":
            continue
        idx = model.block_columns(j)
        vals, vecs = np.linalg.eigh(R[np.ix_(idx, idx)])
        if vals[0] < 1e-10 * max(vals[-1], 1.0):
            null = vecs[:, 0]
            involved = [model.columns[idx[i]] for i in np.flatnonzero(np.abs(null) > 0.05)]
            raise CollinearBlockError(
                f"the formative (mode B) block of construct {c} has linearly dependent "
                f"indicators ({', '.join(involved)}): its weights are not identified; drop or "
                "combine one of them, or estimate the block in mode A (=~)")


def _owner(model: PLSModel, column: str) -> str:
    owners = sorted({model.constructs[b] for b, c in zip(model.block, model.columns) if c == column})
    return "construct " + ", ".join(owners)
