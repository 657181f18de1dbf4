"""Options shared by several subcommands: the model argument and the data-check options."""

from __future__ import annotations

import argparse

from connective.data.readers import read_survey
from connective.data.validate import DataValidationError, ValidatedSurvey, validate_survey
from connective.resources import resolve_model
from connective.spec import ModelSpec, read_model


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL",
                        help="a lavaan-syntax model file, or the name of a bundled model "
                             "(connective_action, simca, ...)")
    parser.add_argument("--std-lv", action="store_true",
                        help="identify factors by fixing their variances to 1 instead of their "
                             "first loadings")


def add_data_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--likert", metavar="MIN-MAX", type=_scale,
                        help="Likert range of every indicator, e.g. 1-7: answers outside it are "
                             "errors; needed for --reverse")
    parser.add_argument("--missing-codes", metavar="CODES", type=_codes, default=[],
                        help="comma-separated values meaning 'no answer', e.g. -99,-98")
    parser.add_argument("--reverse", metavar="ITEMS", type=_items, default=[],
                        help="comma-separated reverse-coded items (recoded as min + max - x)")
    parser.add_argument("--group", metavar="COLUMN",
                        help="column naming each respondent's group (kept alongside the items; "
                             "for fit: a hierarchical model across these groups)")
    parser.add_argument("--sheet", default=0, help="Excel sheet name or number (default: first)")


def load_model(args: argparse.Namespace) -> ModelSpec:
    return read_model(resolve_model(args.model), std_lv=args.std_lv)


def load_data(args: argparse.Namespace, spec: ModelSpec, *, show_report=print) -> ValidatedSurvey:
    """Read and check the data; the report is shown whether or not the check passes."""
    sheet = int(args.sheet) if str(args.sheet).isdigit() else args.sheet
    survey = read_survey(args.data, sheet=sheet)
    show_report(survey.describe())
    checked = validate_survey(survey, spec, scale=args.likert, missing_codes=args.missing_codes,
                              reverse=args.reverse, group=args.group,
                              keep=[c for c in [getattr(args, "group_predictor", None)] if c],
                              raise_on_error=False)
    show_report(checked.report.text())
    if not checked.report.ok:
        raise DataValidationError(checked.report)
    return checked


def _scale(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.replace(":", "-", 1).split("-", 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a range like 1-7, not {text!r}") from None
    return lo, hi


def _codes(text: str) -> list:
    out: list = []
    for part in text.split(","):
        part = part.strip()
        try:
            out.append(float(part))
        except ValueError:
            out.append(part)
    return out


def _items(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output folder (the whole folder; only one "
                             "that connective wrote)")
