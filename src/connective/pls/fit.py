"""``estimate_pls``: one PLS (or PLSc) estimation of a model on a data frame.

Example
-------
>>> from connective.pls import estimate_pls, example_data
>>> spec, frame = example_data()
>>> res = estimate_pls(spec, frame, scheme="centroid")
>>> res.settings["scheme"], res.r_squared.index.tolist()
('centroid', ['CI'])
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from connective.pls.algorithm import SCHEMES
from connective.pls.consistent import inadmissible
from connective.pls.data import prepare_data
from connective.pls.errors import ConvergenceError, InadmissibleWarning
from connective.pls.estimate import fit_correlations
from connective.pls.interaction import (augmented_correlations, augmented_data,
                                        check_interaction_options,
                                        interaction_note, rescale_product_paths)
from connective.pls.model import PLSModel
from connective.pls.results import PLSResult
from connective.spec import ModelSpec


def estimate_pls(spec: ModelSpec, frame: pd.DataFrame, *, scheme: str = "path",
                 consistent: bool = False, missing: str | None = None, tol: float = 1e-7,
                 max_iter: int = 300, higher_order: str = "two_stage",
                 interaction: str = "two_stage") -> PLSResult:
    """Estimate a PLS path model (Wold/Lohmoeller; PLSc with ``consistent=True``).

    ``=~`` blocks are estimated in mode A, ``<~`` blocks in mode B; observed variables in the
    structural part are single-indicator blocks. Indicators are standardised with the sample
    SD. ``scheme``: inner weighting, ``"path"`` (default), ``"centroid"`` or ``"factorial"``.
    ``missing``: ``None`` (missing values are an error), ``"mean"`` or ``"casewise"``.
    ``higher_order``: how higher-order constructs (``G =~ F1 + F2``) are estimated,
    ``"two_stage"`` (SmartPLS' and seminr's default) or ``"repeated"`` (repeated
    indicators; see :mod:`connective.pls.higher_order`). ``interaction``: how latent
    product terms (``Y ~ X + W + X:W``) are estimated, ``"two_stage"`` (SmartPLS' and
    seminr's default), ``"product_indicator"`` or ``"orthogonal"`` (see
    :mod:`connective.pls.interaction`). Stops when no weight changes by ``tol`` or more; raises
    :class:`~connective.pls.errors.ConvergenceError` after ``max_iter`` iterations.

    Under PLSc, inadmissible estimates (|correlation| > 1, loading > 1, rho_A > 1 or not
    positive, |path| > 1, R^2 > 1) give an :class:`~connective.pls.errors.InadmissibleWarning`
    and are listed in ``result.warnings``.

    Example
    -------
    >>> from connective.pls import example_data
    >>> spec, frame = example_data()
    >>> plain = estimate_pls(spec, frame)
    >>> pc = estimate_pls(spec, frame, consistent=True)
    >>> bool(pc.paths.loc[("IS", "CI"), "est"] > plain.paths.loc[("IS", "CI"), "est"])
    True
    """
    if scheme not in SCHEMES:
        raise ValueError(f"unknown inner weighting scheme {scheme!r}; expected one of {SCHEMES}")
    if not (tol > 0) or int(max_iter) < 1:
        raise ValueError("tol must be positive and max_iter at least 1")
    model = PLSModel.from_spec(spec, higher_order=higher_order, interaction=interaction)
    if model.interaction is not None:
        check_interaction_options(spec, consistent)
    data = prepare_data(model, frame, missing=missing)
    R = np.corrcoef(data.X, rowvar=False)
    moments = None
    if model.interaction is not None:
        # the products' correlations need the rows (pls.interaction); R becomes the
        # correlations of the items and the product columns
        moments = augmented_correlations(model, data.X, scheme=scheme, tol=tol,
                                         max_iter=int(max_iter))
        R = moments.R[0]
        if not moments.converged[0]:
            raise ConvergenceError(
                f"{spec.source}: stage one of the two-stage interaction (the model without "
                f"the product terms) did not converge within {max_iter} iterations; raise "
                "--max-iter or try --interaction-method product_indicator")
    fit = fit_correlations(R, model, scheme=scheme, consistent=consistent, tol=tol,
                           max_iter=int(max_iter))
    if moments is not None:
        rescale_product_paths(fit, model, {c: v[0] for c, v in moments.column_sd.items()})
        fit["R"] = R
        # the rows behind the scores (items and product columns)
        fit["X_model"] = augmented_data(model, data.X, scheme=scheme, tol=tol,
                                        max_iter=int(max_iter))
    if not bool(fit["converged"]):
        raise ConvergenceError(
            f"{spec.source}: the PLS weights did not converge within {max_iter} iterations "
            f"(stop criterion {tol:g}, {scheme} scheme); raise max_iter, try another inner "
            "weighting scheme, or check blocks whose indicators barely correlate")
    settings = {"scheme": scheme, "consistent": bool(consistent), "missing": missing,
                "tol": tol, "max_iter": int(max_iter), "iterations": int(fit["iterations"]),
                "standardisation": "sample SD (ddof=1)"}
    notes = _ignored(spec)
    if model.higher_order == "two_stage":
        notes.append(f"higher-order construct(s) {', '.join(spec.higher_order)}: two-stage "
                     "approach (stage one without them, their antecedents and outcomes linked "
                     "to each dimension; stage two with each measured by its dimensions' "
                     "stage-one scores); the dimensions' loadings and weights are stage one's")
    elif model.higher_order == "repeated":
        notes.append(f"higher-order construct(s) {', '.join(spec.higher_order)}: repeated "
                     "indicators (measured by all items of their dimensions; their loadings "
                     "on the dimensions are the paths to them, with an R^2 each)")
    if model.interaction is not None:
        settings["interaction"] = model.interaction.method
        notes.append(interaction_note(model.interaction))
    if model.single_items:
        notes.append(f"single-item construct(s) {', '.join(model.single_items)}: weight and "
                     "loading 1, reliability printed as 1 (as seminr), which is not "
                     "informative: one item carries no evidence of its reliability")
    if model.higher_order:
        settings["higher_order"] = model.higher_order
    # R of the model's own columns (a two-stage model's: items and dimension scores)
    result = PLSResult(spec=spec, model=model, data=data, R=fit.get("R", R), fit=fit,
                       settings=settings,
                       notes=notes)
    if consistent:
        result.warnings = inadmissible(fit["corr"], fit["loadings"], fit["rho"], fit["paths"],
                                       fit["r2"], model)
        if result.warnings:
            warnings.warn("PLSc gave an inadmissible solution: " + "; ".join(result.warnings),
                          InadmissibleWarning, stacklevel=2)
    return result


def _ignored(spec: ModelSpec) -> list[str]:
    """What the model text says that PLS path modelling does not use."""
    table = spec.partable
    user = table[table["user"] == 1]
    notes = []
    cov = user[user["op"] == "~~"]
    if len(cov):
        notes.append(f"PLS ignores the {len(cov)} covariance / variance statement(s) (~~)")
    fixed = user[(user["op"].isin(["=~", "<~", "~"])) & (user["free"] == 0)
                 & ~((user["op"] == "=~") & (user["ustart"] == 1.0))]
    if len(fixed):
        notes.append("PLS estimates every loading, weight and path freely; fixed values "
                     f"({', '.join(fixed['name'])}) are ignored")
    if (user["op"] == "~1").any():
        notes.append("PLS works on standardised data; intercepts (~1) are ignored")
    if not spec.paths:
        notes.append("a measurement-only model: in the inner weighting every construct is "
                     "related to every other (cSEM's .PLS_ignore_structural_model), with the "
                     "factorial scheme where the path scheme was asked for (it needs "
                     "directions); there are no paths, R^2 or effects")
    return notes
