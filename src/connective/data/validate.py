"""Checking a survey against a model before anything is estimated.

:func:`validate_survey` never touches the user's file or DataFrame: it works on a copy,
turns missing-value codes into missing, reverses reverse-coded items, and returns the cleaned
copy with a :class:`DataReport` of everything it found. Errors (a missing column, text in a
numeric column, an answer outside the declared Likert scale, a constant item, too few
complete rows) raise :class:`DataValidationError`, which carries the whole report.

Rows are numbered from 1 after the header, as in a spreadsheet without its header line.

Example
-------
>>> import pandas as pd
>>> from connective.spec import parse_model
>>> spec = parse_model("F =~ x1 + x2 + x3")
>>> df = pd.DataFrame({"x1": [1, 2, 3, 4, -99], "x2": [2, 3, 3, 5, 4], "x3": [1, 1, 2, 4, 5]})
>>> checked = validate_survey(df, spec, missing_codes=[-99], scale=(1, 5))
>>> int(checked.frame["x1"].isna().sum()), checked.report.n_complete
(1, 4)
>>> df.loc[4, "x1"]   # the caller's data are untouched
np.int64(-99)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from connective.data import quirks
from connective.data.readers import Survey
from connective.errors import DataError
from connective.spec import ModelSpec

Scale = tuple[float, float]
_SHOW = 8  # rows listed per finding before "and N more"


@dataclass(frozen=True)
class Finding:
    """One thing the check found: ``level`` is error, warning or note."""

    level: str
    check: str
    message: str
    column: str = ""
    rows: tuple[int, ...] = ()


@dataclass
class DataReport:
    """What validation found, for a person (``text()``) and for a program (``to_frame()``)."""

    source: str
    model: str
    n_rows: int = 0
    n_complete: int = 0
    model_columns: tuple[str, ...] = ()
    other_columns: tuple[str, ...] = ()
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, level: str, check: str, message: str, column: str = "",
            rows: Iterable[int] = ()) -> None:
        self.findings.append(Finding(level, check, message, column, tuple(rows)))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([f.__dict__ for f in self.findings],
                            columns=["level", "check", "message", "column", "rows"])

    def text(self) -> str:
        lines = [f"Data check of {self.source} against {self.model}",
                 f"  {self.n_rows} rows, {self.n_complete} complete on the model's "
                 f"{len(self.model_columns)} columns"
                 + (f"; other columns kept: {', '.join(self.other_columns)}"
                    if self.other_columns else "")]
        for level in ("error", "warning", "note"):
            for f in (f for f in self.findings if f.level == level):
                lines.append(f"  {level.upper():7s} {f.message}")
        if not self.findings:
            lines.append("  no problems found")
        return "\n".join(lines)


class DataValidationError(DataError):
    """Data that do not fit the model; ``report`` holds every finding."""

    def __init__(self, report: DataReport):
        self.report = report
        errors = "\n".join(f"  - {f.message}" for f in report.errors)
        super().__init__(f"{report.source} does not fit {report.model} "
                         f"({len(report.errors)} problem{'s' * (len(report.errors) > 1)}):\n"
                         f"{errors}")


@dataclass
class ValidatedSurvey:
    """A cleaned copy of the data (model columns numeric, codes turned missing) and its report."""

    frame: pd.DataFrame
    report: DataReport
    source: str
    fingerprint: str = ""
    synthetic: bool = False
    options: dict = field(default_factory=dict)  # the data options applied (DataOptions)
    summary: object = None  # the printed moments the rows stand for (data.summary)


def _rows(mask: pd.Series) -> list[int]:
    return [int(i) + 1 for i in np.flatnonzero(mask.to_numpy())]


def _list_rows(rows: list[int], values: list | None = None) -> str:
    """'row 3' or 'rows 3 ('abc'), 17 (9)' with at most _SHOW rows shown."""
    shown = rows[:_SHOW]

    def show(v) -> str:
        return f"{v:g}" if isinstance(v, (int, float, np.number)) else repr(str(v))

    parts = [f"{r} ({show(v)})" for r, v in zip(shown, values)] if values else list(map(str, shown))
    more = f" and {len(rows) - _SHOW} more" if len(rows) > _SHOW else ""
    return f"row{'s' * (len(rows) > 1)} " + ", ".join(parts) + more


def _scales(spec: ModelSpec, scale: Scale | Mapping[str, Scale] | None) -> dict[str, Scale]:
    items = [v for v in spec.observed if v not in spec.structural]
    if scale is None:
        return {}
    if isinstance(scale, Mapping):
        unknown = sorted(set(scale) - set(spec.observed))
        if unknown:
            raise DataError(f"a Likert scale is declared for {', '.join(unknown)}, which "
                            f"{'is' if len(unknown) == 1 else 'are'} not in {spec.source}")
        out = dict(scale)
    else:
        out = {item: tuple(scale) for item in items}
    for col, (lo, hi) in out.items():
        if not lo < hi:
            raise DataError(f"the Likert scale of {col} must run from a lower to a higher "
                            f"value, not {lo} to {hi}")
    return out


def validate_survey(data: Survey | pd.DataFrame, spec: ModelSpec, *,
                    scale: Scale | Mapping[str, Scale] | None = None,
                    missing_codes: Iterable[float | str] = (),
                    reverse: Iterable[str] = (),
                    keep: Iterable[str] = (),
                    group: str | None = None,
                    missing: str | None = None,
                    source: str | None = None,
                    raise_on_error: bool = True) -> ValidatedSurvey:
    """Check ``data`` against ``spec`` and return a cleaned copy with a report.

    Parameters
    ----------
    scale: Likert range ``(1, 7)`` for every indicator, or a mapping item -> range.
        Answers outside it or between categories are errors; reverse coding needs it.
    missing_codes: values meaning "no answer" (e.g. -99, or "." in SPSS exports).
    reverse: reverse-coded items, recoded as ``min + max - answer`` in the copy.
    keep: further columns to carry along unchecked; they must exist.
    group: the column naming each respondent's group (kept, and checked: no missing labels;
        groups with one respondent are flagged, since their own paths cannot be estimated).
    missing: ``None`` or ``"fiml"`` keep missing answers (each engine uses what it can),
        ``"casewise"`` drops respondents with any missing answer, ``"mean"`` replaces a
        missing answer by its item's mean. Respondents with no answer at all are dropped.
    raise_on_error: raise :class:`DataValidationError` when anything is an error.

    Besides the checks above, values far from an item's other answers (-99 beside 1-7) are
    flagged as likely missing-value codes, items that correlate negatively with the rest of
    their block as likely reverse-keyed, and straight-lining, copied columns and collinear
    items are reported (:mod:`connective.data.quirks`).
    """
    if isinstance(data, Survey):
        frame, source = data.frame, source or data.source
        fingerprint, synthetic = data.fingerprint, data.synthetic
    else:
        frame, source, fingerprint, synthetic = data, source or "<data>", "", False
    report = DataReport(source=source, model=spec.source, n_rows=len(frame))
    scales = _scales(spec, scale)
    # a product of two observed variables (y ~ x1:x2) is computed here, not read
    products = {i.product: (i.a, i.b) for i in spec.interactions if i.observed}
    model_cols = [c for c in spec.observed if c not in products]
    keep = list(dict.fromkeys([*keep, *([group] if group else [])]))
    report.model_columns = tuple(model_cols)
    report.other_columns = tuple(c for c in keep if c not in model_cols)

    _check_columns(frame, [*model_cols, *report.other_columns], report)
    present = [c for c in model_cols if c in frame.columns]
    clean = frame[[c for c in [*present, *report.other_columns] if c in frame.columns]].copy()
    codes = list(missing_codes)
    for col in present:
        clean[col] = _numeric(frame[col], col, codes, report)
    for col in present:
        if col in scales:
            _check_scale(clean[col], col, scales[col], report)
    # the checks of answer patterns read the answers without the likely codes found here;
    # straight-lining is judged on the answers as given, before any reversal
    codes_found = quirks.check_codes(clean, [c for c in present if c not in scales], report)
    blocks = {c: [i for i in spec.indicators[c] if i in present] for c in spec.indicators}
    quirks.check_straight_lining(quirks.masked(clean, codes_found), blocks, report)
    for col in reverse:
        if col not in model_cols:
            report.add("error", "reverse", f"reverse-coded item {col!r} is not in the model")
        elif col not in scales:
            seen = clean[col].dropna() if col in present else pd.Series(dtype=float)
            runs = f"; its answers run {seen.min():g}-{seen.max():g}" if len(seen) else ""
            report.add("error", "reverse", f"reversing {col} needs its Likert range: add "
                       f"--likert MIN-MAX (or --likert \"{col}=MIN-MAX,...\"){runs}", col)
        elif col in present:
            lo, hi = scales[col]
            clean[col] = lo + hi - clean[col]
            report.add("note", "reverse", f"{col} reverse-coded as {lo + hi:g} - answer", col)
    for col in present:
        values = clean[col].dropna()
        if values.empty:
            report.add("error", "empty", f"column {col} has no answers at all", col)
        elif values.nunique() == 1:
            report.add("error", "constant", f"column {col} has the same value ({values.iloc[0]:g})"
                       " in every answered row, so it carries no information; drop it from the "
                       "model or check the data", col)
        n_missing = int(clean[col].isna().sum())
        if n_missing:
            report.add("note", "missing", f"{col}: {n_missing} missing "
                       f"answer{'s' * (n_missing > 1)} ({_list_rows(_rows(clean[col].isna()))})",
                       col, _rows(clean[col].isna()))
    if group and group in clean.columns:
        _check_groups(clean[group], group, report)
    quirks.check_copies(clean, present, report)
    quirks.check_reverse_keyed(quirks.masked(clean, codes_found),
                               {c: blocks[c] for c in spec.latent}, scales, report)
    clean = _drop_unanswered(clean, present, report)
    report.n_complete = int(clean[present].notna().all(axis=1).sum()) if present else 0
    _check_size(report, spec, len(present) == len(model_cols))
    clean = _treat_missing(clean, present, missing, report)
    _add_products(clean, products, getattr(data, "summary", None) is not None, report)
    if raise_on_error and not report.ok:
        raise DataValidationError(report)
    return ValidatedSurvey(frame=clean, report=report, source=source, fingerprint=fingerprint,
                           synthetic=synthetic, summary=getattr(data, "summary", None))


def _add_products(clean: pd.DataFrame, products: dict[str, tuple[str, str]],
                  from_summary: bool, report: DataReport) -> None:
    """Columns of the observed product terms: the product of the two answers, as lavaan
    computes them (uncentred; missing where either is missing)."""
    for name, (a, b) in products.items():
        if from_summary:
            report.add("error", "product", f"the product term {name} needs the respondents' "
                       "answers; a summary matrix (--summary) cannot give its moments: fit "
                       "the raw data, or drop the interaction", name)
        elif a in clean.columns and b in clean.columns:
            clean[name] = clean[a] * clean[b]
            report.add("note", "product", f"{name} computed as {a} x {b} (uncentred, as "
                       "lavaan does; centre the variables first for main effects at the mean)",
                       name)


def _drop_unanswered(clean: pd.DataFrame, present: list[str], report: DataReport
                     ) -> pd.DataFrame:
    """Respondents who answered none of the model's items carry nothing: report and drop."""
    empty = clean[present].isna().all(axis=1) if present else pd.Series(False, clean.index)
    if not empty.any() or empty.all():
        return clean
    rows = _rows(empty)
    report.add("note", "unanswered", f"{len(rows)} respondent{'s' * (len(rows) > 1)} answered "
               f"none of the model's items ({_list_rows(rows)}): dropped from the analysis",
               "", rows)
    return clean[~empty]


def _treat_missing(clean: pd.DataFrame, present: list[str], missing: str | None,
                   report: DataReport) -> pd.DataFrame:
    """Casewise deletion or mean replacement, when asked for, on the cleaned copy."""
    holes = clean[present].isna()
    if missing not in ("casewise", "mean") or not holes.any().any():
        return clean
    if missing == "casewise":
        incomplete = holes.any(axis=1)
        report.add("note", "missing_treatment", f"--missing casewise: {int(incomplete.sum())} "
                   f"respondents with a missing answer dropped; {int((~incomplete).sum())} "
                   "remain")
        return clean[~incomplete]
    report.add("note", "missing_treatment", f"--missing mean: {int(holes.to_numpy().sum())} "
               "missing answers replaced by their item's mean")
    out = clean.copy()
    out[present] = out[present].fillna(out[present].mean())
    return out


def _check_columns(frame: pd.DataFrame, wanted: list[str], report: DataReport) -> None:
    columns = [str(c) for c in frame.columns]
    lower = {c.lower(): c for c in columns}
    for col in wanted:
        if col in columns:
            continue
        close = ([lower[col.lower()]] if col.lower() in lower
                 else difflib.get_close_matches(col, columns, n=3, cutoff=0.6))
        hint = (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
                else "; rename the column in the data or the variable in the model")
        report.add("error", "missing_column", f"column {col!r} is not in the data{hint}", col)


def _numeric(series: pd.Series, col: str, codes: list, report: DataReport) -> pd.Series:
    """Numeric copy of a column: missing codes -> NaN; text that is no number is an error."""
    values = series.copy()
    if codes:
        text_codes = {str(c).strip() for c in codes}
        as_text = values.astype(str).str.strip()
        numeric_codes = pd.to_numeric(pd.Series(codes, dtype=object), errors="coerce").dropna()
        hit = as_text.isin(text_codes) | pd.to_numeric(values, errors="coerce").isin(
            numeric_codes.tolist())
        hit &= values.notna()
        if hit.any():
            report.add("note", "missing_code", f"{col}: {int(hit.sum())} missing-value "
                       f"code{'s' * (int(hit.sum()) > 1)} turned into missing", col, _rows(hit))
            values = values.mask(hit)
    number = pd.to_numeric(values, errors="coerce")
    bad = number.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        rows = _rows(bad)
        shown = [values.iloc[r - 1] for r in rows[:_SHOW]]
        report.add("error", "non_numeric", f"column {col} has values that are not numbers in "
                   f"{_list_rows(rows, shown)}; fix them or declare them with --missing-codes",
                   col, rows)
    return number.astype(float)


def _check_scale(values: pd.Series, col: str, scale: Scale, report: DataReport) -> None:
    lo, hi = scale
    answered = values.notna()
    outside = answered & ((values < lo) | (values > hi))
    between = answered & ~outside & (values != values.round())
    for mask, check, what, hint in (
            (outside, "out_of_range", f"answers outside its scale {lo:g}-{hi:g}",
             "; if these are missing-value codes, declare them with --missing-codes"),
            (between, "not_a_category", f"answers between the categories of its {lo:g}-{hi:g} "
             "scale", "")):
        if mask.any():
            rows = _rows(mask)
            shown = [values.iloc[r - 1] for r in rows[:_SHOW]]
            report.add("error", check, f"column {col} has {what} in {_list_rows(rows, shown)}"
                       f"{hint}", col, rows)


def _check_groups(labels: pd.Series, col: str, report: DataReport) -> None:
    unlabelled = labels.isna()
    if unlabelled.any():
        rows = _rows(unlabelled)
        report.add("error", "group_missing", f"group column {col} is empty in "
                   f"{_list_rows(rows)}; give every respondent a group or drop those rows",
                   col, rows)
    sizes = labels.dropna().value_counts()
    if sizes.empty:
        return
    report.add("note", "groups", f"{len(sizes)} groups in {col}, {sizes.min()} to {sizes.max()} "
               "respondents each", col)
    single = sorted(map(str, sizes[sizes == 1].index))
    if single:
        report.add("warning", "group_single", f"group{'s' * (len(single) > 1)} "
                   f"{', '.join(single)} of {col} {'have' if len(single) > 1 else 'has'} a "
                   "single respondent: its own paths rest entirely on the population values "
                   "(partial pooling); consider merging it with a similar group", col)


def _check_size(report: DataReport, spec: ModelSpec, all_present: bool) -> None:
    p = len(spec.observed)
    if not all_present:
        return
    if report.n_complete <= p:
        report.add("error", "too_few_rows", f"only {report.n_complete} complete rows for "
                   f"{p} observed variables; the sample covariance matrix needs at least "
                   f"{p + 1} (more rows, or a smaller model)")
    elif report.n_complete < 5 * spec.n_free:
        report.add("warning", "small_sample", f"{report.n_complete} complete rows for "
                   f"{spec.n_free} free parameters (fewer than 5 per parameter): estimates "
                   "will lean on the priors (Bayes) and be unstable (ML/PLS)")
