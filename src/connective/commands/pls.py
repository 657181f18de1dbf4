"""``connective pls MODEL --data FILE --out DIR``: PLS path modelling, SmartPLS-style.

Writes the run folder DIR as one unit (an existing one replaced only with --overwrite):
``parameters.csv`` (lavaan layout: lhs, op, rhs, est, plus se, ci.lower, ci.upper when
bootstrapped), ``effects.csv``, ``reliability.csv``, ``htmt.csv``, ``summary.json`` (model,
data fingerprint, seed, versions, settings) and ``run.json``. The analyses after
estimation add theirs: ``--predict`` ``predict.csv`` (``--predict-bayes``:
``predict_bayes.csv``, ``predict_bayes_fits.csv``), ``--mga`` ``micom.csv`` and ``mga.csv``
(``--mga-bayes``: ``mga_bayes.csv``, ``mga_bayes_fits.csv``), ``--ipma`` ``ipma_constructs.csv``
and ``ipma_indicators.csv`` (see :mod:`connective.pls.analyses`).

Example
-------
>>> from connective.cli import build_parser
>>> args = build_parser().parse_args(["pls", "connective_action", "--data", "survey.csv",
...                                   "--out", "pls_out", "--boot", "5000", "--seed", "1"])
>>> args.boot, args.scheme, args.missing, args.ci
(5000, 'path', None, 'percentile')
>>> args = build_parser().parse_args(["pls", "mobi", "--data", "mobi.csv", "--out", "o",
...                                   "--predict", "--predict-folds", "loo", "--mga", "CUEX1<8"])
>>> args.predict_folds, args.predict_reps, args.mga, args.permutations
(None, 10, 'CUEX1<8', 1000)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from connective.commands._options import (add_data_arguments, add_overwrite_argument, count,
                                           data_options, load_data, seed_value)
from connective.errors import ConnectiveError
from connective.pls.analyses import PLSAnalyses
from connective.pls.mga import check_group_column, group_column
from connective.pls.run import run_pls
from connective.resources import resolve_model
from connective.spec import read_model


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``pls`` subcommand (see the module example)."""
    p = sub.add_parser(
        "pls", help="estimate the model with PLS path modelling (PLS-SEM, PLSc, bootstrap)",
        description="Estimate MODEL on the survey FILE with PLS path modelling: =~ blocks in "
                    "mode A, <~ blocks in mode B, standardised indicators, stop criterion 1e-7, "
                    "at most 300 iterations. With --boot N, N bootstrap replicates give "
                    "standard errors and intervals for loadings, weights, paths, R^2, HTMT and "
                    "every effect. Results go to DIR as CSV files and summary.json.")
    p.add_argument("model", metavar="MODEL",
                   help="a lavaan-syntax model file, or the name of a bundled model")
    p.add_argument("--data", metavar="FILE",
                   help="survey data: .csv, .tsv, .xlsx, .sav (SPSS) or .dta (Stata)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the results")
    add_overwrite_argument(p)
    p.add_argument("--boot", type=count("--boot", low=0), default=0, metavar="N",
                   help="bootstrap replicates (SmartPLS uses 5000; default 0: no bootstrap)")
    p.add_argument("--seed", type=seed_value, help="bootstrap seed (recorded; drawn if not given)")
    p.add_argument("--scheme", choices=["path", "centroid", "factorial"], default="path",
                   help="inner weighting scheme (default: path)")
    p.add_argument("--consistent", action="store_true",
                   help="consistent PLS (PLSc): correct =~ blocks for attenuation")
    p.add_argument("--ci", choices=["percentile", "bca"], default="percentile",
                   help="bootstrap interval (default: percentile)")
    p.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    p.add_argument("--sign-change", choices=["none", "construct", "individual"], default="none",
                   help="sign-change correction of bootstrap replicates (default: none)")
    p.add_argument("--max-iter", type=int, default=300, help="maximum iterations (default 300)")
    p.add_argument("--tol", type=float, default=1e-7, help="stop criterion (default 1e-7)")
    p.add_argument("--inadmissible", choices=["exclude", "keep"], default="exclude",
                   help="PLSc bootstrap replicates with a standardised path beyond 1 or "
                        "construct correlations that are not positive definite: exclude them "
                        "from the intervals (default) or keep them; either way they are counted")
    g = p.add_argument_group("analyses after estimation (SmartPLS's), each with CSV files")
    g.add_argument("--predict", action="store_true",
                   help="PLSpredict (Shmueli et al. 2019, as seminr's predict_pls): out-of-"
                        "sample RMSE, MAE and Q2predict of every endogenous indicator against "
                        "the linear-model benchmark -> predict.csv")
    g.add_argument("--predict-technique", choices=["DA", "EA"], default="DA",
                   help="predict from the direct antecedents (DA, default) or the earliest "
                        "antecedents (EA)")
    g.add_argument("--predict-folds", type=_folds, default=10, metavar="K|loo",
                   help="cross-validation folds (default 10), or loo for leave-one-out")
    g.add_argument("--predict-reps", type=count("--predict-reps"), default=10, metavar="N",
                   help="repetitions of the k-fold split, predictions averaged (default 10)")
    g.add_argument("--predict-target", metavar="CONSTRUCT",
                   help="read the verdict on this construct's indicators (default: all "
                        "endogenous indicators)")
    g.add_argument("--predict-bayes", action="store_true",
                   help="with --predict: the Bayesian SEM's out-of-sample predictions of the "
                        "same indicators on the same folds (the first repetition; one full "
                        "sampler run per fold: 10 folds take about 10 fits, minutes), or by "
                        "PSIS-LOO from one fit with --predict-folds loo -> predict_bayes.csv")
    g.add_argument("--bayes-draws", type=count("--bayes-draws"), default=500, metavar="N",
                   help="draws per chain of each Bayesian fit (default 500)")
    g.add_argument("--bayes-tune", type=count("--bayes-tune"), default=500, metavar="N",
                   help="tuning draws per chain of each Bayesian fit (default 500)")
    g.add_argument("--bayes-chains", type=count("--bayes-chains"), default=2, metavar="N",
                   help="chains of each Bayesian fit (default 2)")
    g.add_argument("--mga", metavar="GROUPS",
                   help="two-group analysis: a column with two values (--mga sex) or a "
                        "comparison (--mga \"CUEX1<8\", group 1 where it holds): MICOM, then "
                        "PLS-MGA, permutation and parametric tests -> micom.csv, mga.csv")
    g.add_argument("--mga-boot", type=count("--mga-boot", low=2), default=2000, metavar="N",
                   help="bootstrap replicates per group for PLS-MGA (default 2000, seminr's)")
    g.add_argument("--mga-bayes", action="store_true",
                   help="with --mga: the Bayesian SEM fitted in each group, the posterior of "
                        "every standardised path difference beside PLS-MGA -> mga_bayes.csv "
                        "(two sampler runs; --bayes-draws, --bayes-tune, --bayes-chains)")
    g.add_argument("--permutations", type=count("--permutations", low=2), default=1000,
                   metavar="N", help="permutations for MICOM and the permutation test "
                                     "(default 1000)")
    g.add_argument("--ipma", metavar="TARGET",
                   help="importance-performance map of the construct TARGET (performance on "
                        "0-100 with the --likert ranges, else the observed ones) -> "
                        "ipma_constructs.csv, ipma_indicators.csv")
    p.add_argument("--higher-order", choices=["two_stage", "repeated"], default="two_stage",
                   help="how higher-order constructs (G =~ F1 + F2) are estimated: two_stage "
                        "(default, as SmartPLS and seminr: stage-one scores of the dimensions "
                        "measure G) or repeated (G measured by all items of its dimensions)")
    p.add_argument("--interaction-method", choices=["two_stage", "product_indicator",
                                                    "orthogonal"], default=None,
                   help="how product terms (Y ~ X + W + X:W) are estimated, as "
                        "seminr's interaction_term(): two_stage (default, SmartPLS' and "
                        "seminr's: the product of stage-one scores), product_indicator "
                        "(products of the standardised items) or orthogonal (those products "
                        "residualised on the items)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    add_data_arguments(p, group=False)
    p.set_defaults(run=run)


def _folds(text: str) -> int | None:
    if text.strip().lower() in ("loo", "loocv"):
        return None
    return count("--predict-folds", low=2)(text)


def analyses_of(args: argparse.Namespace, spec) -> PLSAnalyses:
    """The analyses the flags ask for (IPMA's scale ranges from --likert)."""
    items = [v for v in spec.observed if v not in spec.structural]
    return PLSAnalyses(predict=args.predict, predict_technique=args.predict_technique,
                       predict_folds=args.predict_folds, predict_repetitions=args.predict_reps,
                       predict_target=args.predict_target,
                       predict_bayes=args.predict_bayes, bayes_draws=args.bayes_draws,
                       bayes_tune=args.bayes_tune, bayes_chains=args.bayes_chains, mga=args.mga,
                       mga_boot=args.mga_boot, mga_bayes=args.mga_bayes, permutations=args.permutations, ipma=args.ipma,
                       ipma_scale=data_options(args).scales(items) if args.ipma else None)


def run(args: argparse.Namespace) -> int:
    """Estimate, bootstrap if asked, and write the five result files; returns 0.

    Example: ``connective pls connective_action --data survey.csv --out pls --boot 5000``.
    """
    if args.missing == "fiml":
        raise ConnectiveError("--missing fiml is the Bayesian engine's; PLS needs --missing "
                              "casewise or --missing mean")
    if not 0 < args.level < 1:
        raise ConnectiveError(f"--level {args.level}: expected a share between 0 and 1, e.g. 0.95")
    from connective.commands._options import refuse_levels

    refuse_levels(resolve_model(args.model), "pls")  # PLS has no two-level version
    spec = read_model(resolve_model(args.model))
    if args.interaction_method and not spec.interactions:
        raise ConnectiveError(
            f"--interaction-method {args.interaction_method}: {spec.source} has no product "
            "term (write one as Y ~ X + W + X:W); drop the flag")
    analyses = analyses_of(args, spec)
    if args.predict_bayes and not args.predict:
        raise ConnectiveError("--predict-bayes adds the Bayesian counterpart to PLSpredict; "
                              "give --predict too")
    if args.mga_bayes and not args.mga:
        raise ConnectiveError("--mga-bayes adds the Bayesian group fits to a multigroup "
                              "analysis; give --mga GROUPS too")
    if args.predict_target and args.predict_target not in spec.structural:
        raise ConnectiveError(f"--predict-target {args.predict_target}: not a construct of "
                              f"{spec.source}; expected one of {', '.join(spec.structural)}")
    if args.mga:  # name --mga in the message, not the model, if its column is absent
        check_group_column(data_options(args).read(args.data).frame.columns, args.mga)
    survey = load_data(args, spec, show_report=(lambda _: None) if args.quiet else print,
                       engine_treats_missing=True,
                       keep=(group_column(args.mga),) if args.mga else ())
    run_ = run_pls(spec, survey, args.out, boot=args.boot, seed=args.seed, scheme=args.scheme,
                   consistent=args.consistent, missing=args.missing, ci=args.ci,
                   level=args.level, sign_change=args.sign_change, max_iter=args.max_iter,
                   tol=args.tol, progress=not args.quiet, inadmissible=args.inadmissible,
                   data_options={**survey.options, "missing": args.missing},
                   overwrite=args.overwrite, analyses=analyses,
                   higher_order=args.higher_order,
                   interaction=args.interaction_method or "two_stage")
    if not args.quiet:
        from connective.verdicts import run_verdict

        # the verdict first: convergence and admissibility of what follows
        verdict = run_verdict({"dir": Path(args.out), "label": run_.label})
        print("Verdict: " + verdict.line())
        print(run_.result.summary())
        for text in (run_.analyses.text if run_.analyses else ()):
            print("\n" + text)
        for m in run_.warnings:
            print(f"WARNING: {m}")
        extra = "".join(f"{name}, " for name in (run_.analyses.tables if run_.analyses else ()))
        print(f"wrote parameters.csv, effects.csv, reliability.csv, htmt.csv, {extra}"
              f"summary.json to {args.out}" + (" [SYNTHETIC data]" if survey.synthetic else ""))
    return 0


__all__ = ["register", "run"]
