"""A complete PLS run: estimate, bootstrap, and write the run folder.

The folder holds ``parameters.csv`` (lavaan layout: lhs, op, rhs, est, plus se, ci.lower,
ci.upper when bootstrapped), ``effects.csv``, ``reliability.csv``, ``htmt.csv`` and
``summary.json`` (model, data fingerprint, seed, versions, settings), written as one unit
(:func:`connective.folders.run_folder`, which adds ``run.json``). ``connective pls`` and
``connective compare`` both call :func:`run_pls`.

Example
-------
>>> from connective.data.readers import read_survey
>>> from connective.resources import flagship_data_path, model_path
>>> from connective.spec import read_model
>>> import tempfile
>>> run = run_pls(read_model(model_path("connective_action")),
...               read_survey(flagship_data_path()), tempfile.mkdtemp(), boot=100, seed=1)
>>> sorted(p.name for p in run.out.iterdir())
['effects.csv', 'htmt.csv', 'parameters.csv', 'reliability.csv', 'replicates.nc', 'run.json',
 'summary.json']
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from connective.data.readers import Survey
from connective.errors import DataError
from connective.folders import check_target, run_folder
from connective.io import atomic_path, atomic_write_csv, atomic_write_json
from connective.pls.analyses import AnalysesOutput, PLSAnalyses
from connective.pls.bootstrap import PLSBootstrap, bootstrap_pls
from connective.pls.errors import BootstrapWarning, InadmissibleWarning
from connective.pls.fit import estimate_pls
from connective.pls.fit_quality import quality_table
from connective.pls.quality import reliability_flags
from connective.pls.results import PLSResult
from connective.provenance import data_fingerprint, run_label
from connective.spec import ModelSpec

EFFECT_COLUMNS = ["effect", "kind", "source", "target", "est", "ci.lower", "ci.upper"]


@dataclass
class PLSRun:
    """What a run produced: the estimate, the bootstrap (or None), the label, the folder."""

    result: PLSResult
    boot: PLSBootstrap | None
    label: dict
    warnings: list[str]
    out: Path
    analyses: AnalysesOutput | None = None


def run_pls(spec: ModelSpec, survey: Survey, out: str | Path, *, boot: int = 0,
            seed: int | None = None, scheme: str = "path", consistent: bool = False,
            missing: str | None = None, missing_codes: list | None = None, ci: str = "percentile",
            level: float = 0.95, sign_change: str = "none", max_iter: int = 300,
            tol: float = 1e-7, progress: bool = False, inadmissible: str = "exclude",
            data_options: dict | None = None, overwrite: bool = False,
            higher_order: str = "two_stage", interaction: str = "two_stage",
            analyses: PLSAnalyses | None = None) -> PLSRun:
    """Estimate (and with ``boot`` > 0 bootstrap) ``spec`` on ``survey`` (a Survey as read,
    or a ValidatedSurvey cleaned with the data options, recorded as ``data_options``); write
    the run folder ``out`` (an existing run folder only with ``overwrite``, checked first).
    ``inadmissible`` says what becomes of inadmissible PLSc bootstrap replicates:
    ``"exclude"`` them from the intervals or ``"keep"`` them; either way they are counted.
    ``higher_order``: ``"two_stage"`` or ``"repeated"`` for models with higher-order
    constructs (:mod:`connective.pls.higher_order`). ``interaction``: ``"two_stage"``,
    ``"product_indicator"`` or ``"orthogonal"`` for models with latent product terms
    (:mod:`connective.pls.interaction`). ``analyses`` (PLSpredict, MICOM/MGA,
    IPMA) add their CSV tables to the folder."""
    out = Path(out)
    check_target(out, overwrite=overwrite)
    codes = list(missing_codes or [])
    recorded_codes = codes or list((data_options or {}).get("missing_codes", []))
    frame = survey.frame.replace(codes, float("nan")) if codes else survey.frame
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InadmissibleWarning)
        warnings.simplefilter("always", BootstrapWarning)
        result = estimate_pls(spec, frame, scheme=scheme, consistent=consistent,
                              missing=missing, tol=tol, max_iter=max_iter,
                              higher_order=higher_order, interaction=interaction)
        replicates = None
        # rows made from a printed matrix: replicates drawn from it, not resampled rows
        parametric = getattr(survey, "summary", None) is not None
        if spec.higher_order and analyses is not None and analyses.any:
            raise DataError(f"{spec.source}: --predict, --mga and --ipma do not handle "
                            f"higher-order constructs ({', '.join(spec.higher_order)}) yet; "
                            "run them on the model without the higher-order construct (its "
                            "dimensions linked directly), or drop those flags")
        if spec.interactions and analyses is not None and analyses.any:
            raise DataError(f"{spec.source}: --predict, --mga and --ipma do not handle "
                            "product terms of constructs ("
                            f"{', '.join(i.product for i in spec.interactions)}) yet; "
                            "run them on the model without the product terms, or drop those "
                            "flags")
        if parametric and spec.interactions:
            raise DataError(f"{spec.source}: the product terms "
                            f"{', '.join(i.product for i in spec.interactions)} need "
                            "respondents' rows (their moments are not in a correlation "
                            "matrix); a summary-statistics file has none: fit the raw data")
        if parametric and analyses is not None and analyses.any:
            raise DataError("--predict, --mga and --ipma need respondents' rows (held-out "
                            "answers, groups, item means); a summary-statistics file has none")
        if boot and parametric and ci == "bca":
            raise DataError("--ci bca needs respondents' rows (its jackknife); a summary-"
                            "statistics file has none: use --ci percentile")
        if boot:
            replicates = bootstrap_pls(result, boot, seed=seed, sign_change=sign_change,
                                       level=level, bca=ci == "bca", progress=progress,
                                       inadmissible=inadmissible, parametric=parametric)
        extra = (analyses.run(result, frame, seed=seed, progress=progress)
                 if analyses is not None and analyses.any else None)
    messages = [str(w.message) for w in caught
                if issubclass(w.category, (InadmissibleWarning, BootstrapWarning))]
    if replicates is not None:
        params = replicates.parameters(method=ci)
        effects = replicates.effects(method=ci)[EFFECT_COLUMNS]
        htmt = replicates.htmt(method=ci)
        htmt.insert(3, "htmt2", result.htmt_long["htmt2"].to_numpy())
    else:
        params = result.parameters()
        effects = result.effects().assign(**{"ci.lower": float("nan"),
                                             "ci.upper": float("nan")})[EFFECT_COLUMNS]
        htmt = result.htmt_long.reset_index()
    settings = dict(result.settings)
    settings.update(boot=boot, ci=ci if boot else None, level=level if boot else None,
                    bootstrap=("parametric (from the printed matrix)" if boot and parametric
                               else "nonparametric" if boot else None),
                    sign_change=sign_change if boot else None,
                    n_rows=result.data.report["n_rows"], n_used=result.n,
                    missing_cells=result.data.report["missing_cells"], missing_codes=recorded_codes,
                    missing_by_column=result.data.report["missing_by_column"],
                    data_options=data_options or {})
    if replicates is not None:
        settings.update(replicates_used=replicates.n_boot, replicates_failed=replicates.failed,
                        replicates_inadmissible=replicates.inadmissible,
                        inadmissible="keep" if replicates.inadmissible_kept else "exclude")
    # the fingerprint of the data analysed (the model's columns, as the Bayesian fit records
    # it), so runs of both engines on one survey can be matched; the file's is kept too
    label = run_label(model=spec.source, model_text=spec.text, data_source=survey.source,
                      fingerprint=data_fingerprint(frame[list(spec.observed)].astype(float)),
                      seed=replicates.seed if replicates else
                      (extra.summary["seed"] if extra is not None else None),
                      synthetic=survey.synthetic, settings=settings)
    label["file_fingerprint"] = survey.fingerprint
    label["engine"] = "PLSc" if consistent else "PLS"
    label["r2"] = result.r_squared["r2"].to_dict()
    label["warnings"] = messages
    label["notes"] = result.notes
    if extra is not None:
        label["analyses"] = extra.summary
    with run_folder(out, overwrite=overwrite) as tmp:
        atomic_write_csv(tmp / "parameters.csv", params)
        atomic_write_csv(tmp / "effects.csv", effects)
        reliability = result.reliability
        first = result.first_stage
        if first is not None:  # the dimensions of higher-order constructs, from stage one
            dims = [c for c in result.model.columns if c in first.constructs]
            reliability = pd.concat([reliability.assign(stage="two"),
                                     first.reliability.loc[dims].assign(stage="one")])
        atomic_write_csv(tmp / "reliability.csv",
                         reliability.assign(flags=reliability_flags(reliability)).reset_index())
        atomic_write_csv(tmp / "htmt.csv", htmt)
        atomic_write_csv(tmp / "quality.csv", quality_table(result))  # SRMR, VIF, f²
        if replicates is not None:
            # the effect replicates, so mediation summaries can be made from the folder alone
            effects_da = replicates.replicates["effects"]
            with atomic_path(tmp / "replicates.nc") as nc:
                effects_da.to_dataset(name="effects").to_netcdf(nc)
        for name, table in (extra.tables.items() if extra is not None else ()):
            atomic_write_csv(tmp / name, table)
        atomic_write_json(tmp / "summary.json", label)
    return PLSRun(result=result, boot=replicates, label=label, warnings=messages, out=out,
                  analyses=extra)


__all__ = ["PLSRun", "run_pls", "EFFECT_COLUMNS"]
