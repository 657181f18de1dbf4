"""Numeric model matrices and model-implied moments, from parameter values.

The spec's patterns (:meth:`ModelSpec.pattern`) say which cells are free; this module fills
them with values (fixed cells keep their fixed value) and computes the model-implied
covariance Sigma = Lambda (I - B)^-1 Psi (I - B)^-T Lambda' + Theta.

Example
-------
>>> from connective.spec import parse_model
>>> spec = parse_model("M ~ X\\nY ~ M")
>>> vals = {"M~X": 0.5, "Y~M": 0.5, "X~~X": 1.0, "M~~M": 0.75, "Y~~Y": 0.75}
>>> implied_covariance(spec, vals).sel(row="Y", col="X").item()
0.25
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import xarray as xr

from connective.errors import ConnectiveError
from connective.spec import ModelSpec


def fill(spec: ModelSpec, matrix: str, values: Mapping[str, float]) -> xr.DataArray:
    """One model matrix with its parameters taken from ``values`` (by name or label).

    A fixed parameter keeps its fixed value unless ``values`` names it too (the simulator's
    standardised population gives marker loadings their own value); a free parameter
    missing from ``values`` is an error.
    """
    pattern = spec.pattern(matrix)
    out = pattern.value.copy()
    names = pattern.name.to_numpy()
    free = pattern.free.to_numpy()
    table = spec.partable.set_index("name")
    by_label = {lab: ns[0] for lab, ns in spec.labels.items()}
    for idx in zip(*np.nonzero(names != "")):
        name = names[idx]
        label = table.at[name, "label"]
        for key in (name, label, by_label.get(label)):
            if key and key in values:
                out.data[idx] = values[key]
                break
        else:
            if free[idx]:
                raise ConnectiveError(f"no value given for the free parameter {name!r}")
    return out


def model_matrices(spec: ModelSpec, values: Mapping[str, float]) -> dict[str, xr.DataArray]:
    """``lambda``, ``beta``, ``psi`` and ``theta`` filled with ``values``."""
    return {m: fill(spec, m, values) for m in ("lambda", "beta", "psi", "theta")}


def structural_covariance(beta: xr.DataArray, psi: xr.DataArray) -> xr.DataArray:
    """Covariance of the structural variables, (I - B)^-1 Psi (I - B)^-T."""
    n = beta.shape[0]
    inv = np.linalg.inv(np.eye(n) - beta.to_numpy())
    return psi.copy(data=inv @ psi.to_numpy() @ inv.T)


def implied_covariance(spec: ModelSpec, values: Mapping[str, float]) -> xr.DataArray:
    """Model-implied covariance of the observed variables (dims ``row, col``)."""
    m = model_matrices(spec, values)
    return covariance_from_matrices(m["lambda"], m["beta"], m["psi"], m["theta"])


def covariance_from_matrices(lam: xr.DataArray, beta: xr.DataArray, psi: xr.DataArray,
                             theta: xr.DataArray) -> xr.DataArray:
    """Sigma = Lambda (I - B)^-1 Psi (I - B)^-T Lambda' + Theta, labelled like ``theta``."""
    lam_ = lam.to_numpy()
    cov_eta = structural_covariance(beta, psi).to_numpy()
    return theta.copy(data=lam_ @ cov_eta @ lam_.T + theta.to_numpy())
