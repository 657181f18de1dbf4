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


def structural_covariance(beta: xr.DataArray, psi: xr.DataArray,
                          products: list | None = None) -> xr.DataArray:
    """Covariance of the structural variables, (I - B)^-1 Psi (I - B)^-T, plus the latent
    product terms' contributions if ``products`` (:func:`product_moments`' terms) are given
    (zero latent means)."""
    n = beta.shape[0]
    inv = np.linalg.inv(np.eye(n) - beta.to_numpy())
    cov = inv @ psi.to_numpy() @ inv.T
    if products:
        cov = product_moments(inv, cov, np.zeros(n), products)[0]
    return psi.copy(data=cov)


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


def product_moments(A: np.ndarray, S: np.ndarray, mean: np.ndarray,
                    terms: list[tuple[int, int, int, np.ndarray]]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Covariance and mean of the structural variables with latent product terms, from the
    linear part's moments as if it were Gaussian (Isserlis' theorem).

    ``A = (I - B)^-1``, ``S`` and ``mean`` the covariance and mean of the linear part
    ``A (alpha + zeta)``; ``terms`` are ``(outcome, a, b, gamma)`` (indices of the structural
    variables; gamma a number or an array over the leading dims). The products enter as
    ``eta = eta_lin + A G p`` with ``p_t = eta_a eta_b``, where ``cov(ab, cd) = S_ac S_bd +
    S_ad S_bc`` (+ mean terms), ``cov(ab, c) = mu_a S_bc + mu_b S_ac`` and ``E[ab] = S_ab +
    mu_a mu_b``: exact when no factor of a product is itself downstream of a product (then
    the factors are jointly Gaussian), otherwise the Gaussian approximation. Any leading dims.

    Example
    -------
    >>> S = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> cov, mu = product_moments(np.eye(3), S, np.zeros(3), [(2, 0, 1, 0.4)])
    >>> round(float(cov[2, 2]), 4), round(float(mu[2]), 4)  # 1 + 0.16 (1 + 0.25), 0.4 * 0.5
    (1.2, 0.2)
    """
    lead = S.shape[:-2]
    m, P = S.shape[-1], len(terms)
    G = np.zeros(lead + (m, P))
    Cp = np.zeros(lead + (P, P))
    Cpl = np.zeros(lead + (P, m))
    Ep = np.zeros(lead + (P,))
    mu = mean
    for p, (outcome, a, b, gamma) in enumerate(terms):
        G[..., outcome, p] = gamma
        Ep[..., p] = S[..., a, b] + mu[..., a] * mu[..., b]
        Cpl[..., p, :] = mu[..., a, None] * S[..., b, :] + mu[..., b, None] * S[..., a, :]
        for q, (_, c, d, _) in enumerate(terms):
            Cp[..., p, q] = (S[..., a, c] * S[..., b, d] + S[..., a, d] * S[..., b, c]
                             + mu[..., a] * mu[..., c] * S[..., b, d]
                             + mu[..., a] * mu[..., d] * S[..., b, c]
                             + mu[..., b] * mu[..., c] * S[..., a, d]
                             + mu[..., b] * mu[..., d] * S[..., a, c])
    AG = A @ G
    cross = AG @ Cpl
    cov = S + cross + np.swapaxes(cross, -1, -2) + AG @ Cp @ np.swapaxes(AG, -1, -2)
    return cov, mean + (AG @ Ep[..., None])[..., 0]
