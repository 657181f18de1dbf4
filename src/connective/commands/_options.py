"""Options shared by several subcommands: the model argument, the data options (the same for
validate, fit, pls, compare and report; read into one
:class:`~connective.data.options.DataOptions`) and the sampler's counts and seed.

Example
-------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_data_arguments(p)
>>> data_options(p.parse_args(["--missing-codes=-99,-98", "--likert", "ipol*=1-6,*=1-5"])).flags()
'--missing-codes -99,-98 --likert ipol*=1-6,*=1-5'
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os

from connective.data.options import MISSING, DataOptions
from connective.data.validate import DataValidationError, ValidatedSurvey
from connective.errors import ConnectiveError
from connective.resources import resolve_model
from connective.spec import ModelSpec, read_model
from connective.spec.defaults import LAVAAN_NAMES, parse_bool

#: seeds numpy and nutpie accept
MAX_SEED = 2**32 - 1


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL",
                        help="a lavaan-syntax model file, or the name of a bundled model "
                             "(connective_action, simca, ...)")
    add_lavaan_options(parser)


def add_lavaan_options(parser: argparse.ArgumentParser) -> None:
    """lavaan's model-building options (connective.spec.defaults), each under lavaan's name:
    ``--orthogonal`` sets one, ``--auto-cov-y false`` clears one; the model file's
    ``# options:`` comment sets them too, and the command line wins."""
    group = parser.add_argument_group(
        "lavaan's defaults", "as lavaan's sem() and cfa() set them; each also in the model "
                             "file ('# options: auto.cov.y = FALSE'); the command line wins")
    helps = {
        "std.lv": "identify factors by fixing their variances to 1 instead of their first "
                  "loadings",
        "auto.fix.first": "fix the first loading of each factor to 1 (default: unless std.lv)",
        "auto.fix.single": "a factor with one indicator: that item's residual variance is 0 "
                           "(default TRUE)",
        "auto.var": "(residual) variances of every variable are free (default TRUE)",
        "auto.cov.lv.x": "exogenous factors covary (default TRUE)",
        "auto.cov.y": "residual covariances among pure outcomes are free (default TRUE)",
        "orthogonal": "fix every default covariance between factors to 0 (default FALSE)",
        "fixed.x": "condition on exogenous observed covariates: their moments are the "
                   "sample's, not parameters (default TRUE)",
        "int.ov.free": "observed variables' intercepts are free (default TRUE, FALSE with "
                       "--growth)",
        "int.lv.free": "latent means are free (default FALSE, TRUE with --growth)",
        "growth": "a growth-curve model as lavaan's growth(): observed intercepts 0, latent "
                  "means free"}
    for name, text in helps.items():
        group.add_argument("--" + name.replace(".", "-"), dest=LAVAAN_NAMES[name], nargs="?",
                           const=True, default=None, type=_truth, metavar="TRUE|FALSE",
                           help=text)


def add_data_arguments(parser: argparse.ArgumentParser, *, group: bool = True) -> None:
    """The data options every command that reads a survey takes."""
    g = parser.add_argument_group("data options (the same for validate, fit, pls, compare)")
    g.add_argument("--missing", choices=MISSING, default=None,
                   help="missing answers: fiml uses every answer (Bayes' default), casewise "
                        "drops respondents with a missing answer, mean replaces it by the "
                        "item's mean; PLS needs casewise or mean when answers are missing")
    g.add_argument("--missing-codes", metavar="CODES", default="",
                   help="comma-separated values meaning 'no answer', e.g. -99,-98")
    g.add_argument("--reverse", metavar="ITEMS", default="",
                   help="comma-separated reverse-keyed items, recoded as min + max - answer "
                        "(needs their --likert range)")
    g.add_argument("--likert", metavar="RANGES", default=None,
                   help="Likert range of the items: 1-7 for every item, or per item by name "
                        "pattern, first match wins, e.g. \"ipol*=1-6,*=1-5\"; answers outside "
                        "it are errors")
    g.add_argument("--encoding", metavar="NAME", default=None,
                   help="text encoding of a CSV/TSV file (default UTF-8), e.g. latin-1")
    g.add_argument("--sheet", default=0, help="Excel sheet name or number (default: first)")
    g.add_argument("--summary", metavar="FILE", default=None,
                   help="summary statistics instead of --data: a correlation or covariance "
                        "matrix as a paper prints it (TOML: n, names, kind, lower or full, "
                        "optional sds and means; or lavaan's lower-triangle text with '# "
                        "names:' and '# n:' lines)")
    g.add_argument("--nearest-pd", action="store_true",
                   help="with --summary: fit the nearest positive-definite matrix when "
                        "rounding made the printed one indefinite (noted in every output)")
    if group:
        g.add_argument("--group", metavar="COLUMN",
                       help="column naming each respondent's group (kept alongside the "
                            "items; for fit: a hierarchical model across these groups)")


def data_options(args: argparse.Namespace) -> DataOptions:
    """The parsed data options of a command line."""
    return DataOptions.from_args(args)


def load_model(args: argparse.Namespace) -> ModelSpec:
    path = resolve_model(args.model)
    refuse_levels(path, getattr(args, "command", None))
    return read_model(path, options=model_options(args))


def model_options(args: argparse.Namespace) -> dict:
    """lavaan's model options as given on the command line (None: the model file's)."""
    return {attr: getattr(args, attr, None) for attr in LAVAAN_NAMES.values()}


def refuse_levels(path, command: str | None) -> None:
    """A two-level model (``level:`` blocks) reaches only ``fit`` and ``simulate``, which
    read it with :mod:`connective.spec.levels`; every other command says so."""
    from connective.io import read_user_text
    from connective.spec.levels import has_levels

    try:
        text = read_user_text(path, "model file")
    except ConnectiveError:
        return  # read_model reports it
    if not has_levels(text):
        return
    if command == "pls":
        raise ConnectiveError(f"{path}: a two-level model (level: 1 / level: 2 blocks); PLS "
                              "path modelling has no two-level version (no within and between "
                              "covariance structures): fit it with 'connective fit MODEL --data "
                              "FILE --cluster COLUMN', or remove the 'level:' blocks for a "
                              "one-level PLS model")
    raise ConnectiveError(f"{path}: a two-level model (level: 1 / level: 2 blocks); "
                          f"'connective {command or 'this command'}' takes one-level models: "
                          "fit it with 'connective fit MODEL --data FILE --cluster COLUMN' or "
                          "simulate from it with 'connective simulate MODEL'")


def _truth(text: str) -> bool:
    value = parse_bool(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected TRUE or FALSE, not {text!r} (these flags "
                                         "take an optional value: put them after MODEL, or "
                                         "write e.g. --std-lv true)")
    return value


def load_data(args: argparse.Namespace, spec: ModelSpec, *, show_report=print,
              engine_treats_missing: bool = False, keep: tuple[str, ...] = ()) -> ValidatedSurvey:
    """Read and check the data; the report is shown whether or not the check passes. With
    ``engine_treats_missing`` the --missing treatment is left to the engine (PLS records
    what it dropped or replaced). ``keep``: further columns to carry along (e.g. --mga's)."""
    options = data_options(args)
    if engine_treats_missing:
        options = dataclasses.replace(options, missing=None)
    if getattr(args, "summary", None):
        survey = read_summary_survey(args, spec, options)
    elif not getattr(args, "data", None):
        raise ConnectiveError("no data: give the survey with --data FILE, or a printed "
                              "correlation or covariance matrix with --summary FILE")
    else:
        survey = options.read(args.data)
    show_report(survey.describe())
    checked = options.check(survey, spec, group=getattr(args, "group", None),
                            keep=[c for c in [getattr(args, "group_predictor", None), *keep]
                                  if c],
                            raise_on_error=False)
    show_report(checked.report.text())
    if not checked.report.ok:
        raise DataValidationError(checked.report)
    if survey.summary is not None:  # recorded in every run folder made from these rows
        checked.options["summary"] = summary_record(survey.summary)
    return checked


def summary_record(summary) -> dict:
    """What a run folder records of the summary statistics it was fitted to."""
    notes = list(summary.notes)
    if summary.correlation_only:
        notes.append("fitted to a correlation matrix without SDs (a correlation-structure "
                     "fit): its intervals are approximate, since correlations do not follow "
                     "the Wishart distribution the likelihood assumes")
    if summary.means is None:
        notes.append("no means were given: the model has no mean structure (intercepts are "
                     "not estimated)")
    return {"file": summary.source, "n": summary.n, "kind": summary.kind,
            "sds": summary.sds is not None, "means": summary.means is not None,
            "fingerprint": summary.fingerprint, "notes": notes}


def read_summary_survey(args: argparse.Namespace, spec: ModelSpec, options: DataOptions):
    """The moment-matched rows of ``--summary FILE`` (:mod:`connective.data.summary`) as a
    survey, after refusing what needs respondents' rows."""
    from connective.data.readers import Survey
    from connective.data.summary import read_summary

    if getattr(args, "data", None):
        raise ConnectiveError("give either --data FILE (respondents' rows) or --summary FILE "
                              "(a printed matrix), not both")
    needs_rows = {"--missing-codes": options.missing_codes, "--reverse": options.reverse,
                  "--likert": getattr(args, "likert", None), "--group": getattr(args, "group",
                                                                                  None)}
    used = [flag for flag, value in needs_rows.items() if value]
    if used:
        raise ConnectiveError(f"{', '.join(used)} work(s) on respondents' rows; a summary-"
                              f"statistics file has none: drop {' and '.join(used)} (recode "
                              "or group before the matrix is computed)")
    if getattr(args, "likelihood", "normal") == "ordinal":
        raise ConnectiveError("--likelihood ordinal needs each respondent's answers; a "
                              "correlation or covariance matrix has none: use the normal "
                              "likelihood (the default) with --summary")
    summary = read_summary(args.summary, nearest_pd=getattr(args, "nearest_pd", False))
    missing = [v for v in spec.observed if v not in summary.names]
    if missing:
        raise ConnectiveError(f"{args.summary}: the model uses {', '.join(missing)}, which "
                              f"the matrix does not have; its names are "
                              f"{', '.join(summary.names)}")
    summary = summary.restricted([v for v in summary.names if v in spec.observed])
    return Survey(frame=summary.frame(), source=f"{args.summary} (summary statistics)",
                  fingerprint=summary.fingerprint, summary=summary)


def add_sampling_arguments(parser: argparse.ArgumentParser, *, draws: int = 1000,
                           tune: int = 1000, chains: int = 4, seed: int | None = None) -> None:
    """--draws, --tune, --chains, --cores and --seed, checked as they are read."""
    parser.add_argument("--draws", type=count("--draws"), default=draws,
                        help=f"draws per chain after tuning (default {draws})")
    parser.add_argument("--tune", type=count("--tune"), default=tune,
                        help=f"tuning draws per chain (default {tune})")
    parser.add_argument("--chains", type=count("--chains"), default=chains,
                        help=f"number of chains (default {chains})")
    parser.add_argument("--cores", type=count("--cores"), default=None,
                        help="chains run in parallel on this many cores (default: as many as "
                             "chains, at most the machine's)")
    parser.add_argument("--seed", type=seed_value, default=seed,
                        help=f"random seed, 0 to {MAX_SEED} (recorded in the results; "
                             + ("without it a seed is drawn and recorded)" if seed is None
                                else f"default {seed})"))


def count(option: str, *, low: int = 1, high: int = 10**9):
    """An argparse type: a whole number from ``low`` to ``high`` (``1e3`` reads as 1000)."""
    def read(text: str) -> int:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value != int(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high:,}, "
                                             f"not {text!r}")
        return int(value)
    return read


def seed_value(text: str) -> int:
    """An argparse type for --seed: a whole number from 0 to 2**32 - 1."""
    return count("--seed", low=0, high=MAX_SEED)(text)


def check_memory(spec: ModelSpec, *, chains: int, draws: int, n_rows: int) -> None:
    """Refuse before sampling when the draws would not fit in memory: each draw keeps the
    parameters, std.all, implied moments and effects (about 3 x free parameters + items^2
    values) and one log-likelihood per respondent, as 8-byte floats, and the posterior is
    held about three times over while it is saved."""
    n_values = 3 * spec.n_free + len(spec.observed) ** 2
    need = 3 * 8 * chains * draws * (n_values + n_rows)
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > 0.5 * have:
        fits = int(0.5 * have / (3 * 8 * chains * (n_values + n_rows)))
        raise ConnectiveError(f"--draws {draws:,} with {chains} chains needs about "
                              f"{need / 2**30:,.1f} GB for the posterior of {n_rows} "
                              f"respondents, more than half of this machine's "
                              f"{have / 2**30:.1f} GB; use at most --draws {fits:,} (or fewer "
                              "--chains)")


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output folder (the whole folder; only one "
                             "that connective wrote)")


def add_point_argument(parser: argparse.ArgumentParser) -> None:
    """``--point mean|median``: the one point estimate of a report's Bayesian numbers."""
    parser.add_argument("--point", choices=("mean", "median"), default="mean",
                        help="the posterior point estimate every table, figure and note of "
                             "the report uses (default: mean)")
