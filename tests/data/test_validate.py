"""Reading every survey format and validating it against a model: each bad input."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from connective.data.readers import read_frame, read_survey
from connective.data.validate import DataValidationError, validate_survey
from connective.errors import DataError
from connective.spec import parse_model

SPEC = parse_model("F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ F")


def good_frame(n=40, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    g = 0.5 * f + rng.normal(size=n)
    cols = {f"x{i}": f + rng.normal(size=n) for i in (1, 2, 3)}
    cols |= {f"y{i}": g + rng.normal(size=n) for i in (1, 2, 3)}
    # 5-point Likert answers
    return pd.DataFrame({k: np.clip(np.round(v + 3), 1, 5).astype(int) for k, v in cols.items()})


def problems(frame, **kw):
    with pytest.raises(DataValidationError) as info:
        validate_survey(frame, SPEC, source="survey.csv", **kw)
    return info.value


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx", ".sav", ".dta", ".txt"])
def test_every_format_reads_the_same_data(tmp_path, suffix):
    frame = good_frame()
    path = tmp_path / f"survey{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".txt":
        frame.to_csv(path, index=False, sep=";")  # European Excel export
    elif suffix == ".tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == ".xlsx":
        frame.to_excel(path, index=False)
    elif suffix == ".sav":
        import pyreadstat
        pyreadstat.write_sav(frame.astype(float), str(path))
    else:
        frame.to_stata(path, write_index=False)
    survey = read_survey(path)
    assert list(survey.frame.columns) == list(frame.columns)
    np.testing.assert_array_equal(survey.frame.to_numpy(dtype=float), frame.to_numpy(dtype=float))
    assert survey.fingerprint == read_survey(path).fingerprint
    assert not survey.synthetic


def test_fingerprint_depends_on_content_not_format(tmp_path):
    frame = good_frame().astype(float)
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_stata(tmp_path / "a.dta", write_index=False)
    assert read_survey(tmp_path / "a.csv").fingerprint == read_survey(tmp_path / "a.dta").fingerprint
    changed = frame.copy()
    changed.iloc[3, 2] += 1
    changed.to_csv(tmp_path / "b.csv", index=False)
    assert read_survey(tmp_path / "b.csv").fingerprint != read_survey(tmp_path / "a.csv").fingerprint


def test_unreadable_files_say_why(tmp_path):
    with pytest.raises(DataError, match=r"cannot read files ending in '\.json'"):
        read_frame(tmp_path / "x.json")
    with pytest.raises(DataError, match="does not exist"):
        read_frame(tmp_path / "nope.csv")
    (tmp_path / "dup.csv").write_text("x1,x1\n1,2\n")
    with pytest.raises(DataError, match="x1 appear more than once"):
        read_frame(tmp_path / "dup.csv")


def test_good_data_pass_and_the_file_is_never_modified(tmp_path):
    path = tmp_path / "survey.csv"
    frame = good_frame()
    frame.loc[[2, 7], "x1"] = -99
    frame.to_csv(path, index=False)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    survey = read_survey(path)
    checked = validate_survey(survey, SPEC, scale=(1, 5), missing_codes=[-99], reverse=["y3"])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert (survey.frame.loc[[2, 7], "x1"] == -99).all()  # the caller's frame is untouched too
    assert checked.frame["x1"].isna().sum() == 2
    assert checked.report.n_complete == len(frame) - 2
    np.testing.assert_array_equal(checked.frame["y3"], 6 - frame["y3"])
    notes = {f.check for f in checked.report.findings}
    assert {"missing_code", "reverse", "missing"} <= notes
    assert "rows 3, 8" in checked.report.text()


def test_missing_column_suggests_close_names():
    frame = good_frame().rename(columns={"x2": "X2", "y1": "y_1"})
    err = problems(frame)
    messages = [f.message for f in err.report.errors]
    assert "column 'x2' is not in the data; did you mean 'X2'?" in messages
    assert "column 'y1' is not in the data; did you mean 'y_1'?" in messages
    assert "survey.csv does not fit" in str(err)


def test_text_in_numeric_columns_names_the_rows():
    frame = good_frame().astype(object)
    frame.loc[4, "x3"] = "four"
    frame.loc[9, "x3"] = "n/a?"
    err = problems(frame)
    (finding,) = err.report.errors
    assert finding.column == "x3" and finding.rows == (5, 10)
    assert "rows 5 ('four'), 10 ('n/a?')" in finding.message


def test_string_missing_codes_are_accepted():
    frame = good_frame().astype(object)
    frame.loc[4, "x3"] = "."
    checked = validate_survey(frame, SPEC, missing_codes=["."])
    assert np.isnan(checked.frame.loc[4, "x3"])


def test_constant_column_is_an_error():
    frame = good_frame()
    frame["y2"] = 4
    err = problems(frame)
    assert any(f.check == "constant" and f.column == "y2" for f in err.report.errors)
    assert "same value (4) in every answered row" in str(err)


def test_out_of_range_and_between_category_answers():
    frame = good_frame().astype(float)
    frame.loc[0, "x1"] = 9
    frame.loc[3, "x2"] = 0
    frame.loc[5, "y1"] = 2.5
    err = problems(frame, scale=(1, 5))
    by_check = {(f.check, f.column): f for f in err.report.errors}
    assert by_check[("out_of_range", "x1")].rows == (1,)
    assert by_check[("out_of_range", "x2")].rows == (4,)
    assert by_check[("not_a_category", "y1")].rows == (6,)
    assert "outside its scale 1-5 in row 1 (9);" in by_check[("out_of_range", "x1")].message


def test_per_item_scales_and_unknown_items():
    frame = good_frame()
    checked = validate_survey(frame, SPEC, scale={"x1": (1, 5)})
    assert checked.report.ok
    with pytest.raises(DataError, match="declared for z9, which is not in"):
        validate_survey(frame, SPEC, scale={"z9": (1, 5)})


def test_reverse_coding_needs_a_scale_and_a_model_item():
    err = problems(good_frame(), reverse=["x1", "nope"])
    messages = " | ".join(f.message for f in err.report.errors)
    assert "reversing x1 needs its Likert range: add --likert MIN-MAX" in messages
    assert "reverse-coded item 'nope' is not in the model" in messages


def test_too_few_complete_rows():
    frame = good_frame(n=12).astype(float)
    frame.loc[0:6, "x1"] = np.nan
    err = problems(frame)
    assert "only 5 complete rows for 6 observed variables" in str(err)


def test_small_samples_warn():
    checked = validate_survey(good_frame(n=40), SPEC)
    (warning,) = [f for f in checked.report.findings if f.level == "warning"]
    assert "fewer than 5 per parameter" in warning.message


def test_report_without_raising_and_kept_columns():
    frame = good_frame()
    frame["org"] = "A"
    checked = validate_survey(frame, SPEC, keep=["org"], raise_on_error=False)
    assert list(checked.frame.columns)[-1] == "org" and checked.report.ok
    bad = validate_survey(frame, SPEC, keep=["group"], raise_on_error=False)
    assert not bad.report.ok and bad.report.errors[0].column == "group"
    assert set(bad.report.to_frame().columns) == {"level", "check", "message", "column", "rows"}


def test_corporate_reputation_missing_codes(benchmarks):
    """The Hair et al. primer data code missing answers as -99 (seminr's corp_rep_data)."""
    spec = parse_model("COMP =~ comp_1 + comp_2 + comp_3\nLIKE =~ like_1 + like_2 + like_3\n"
                       "CUSA =~ cusa\ncusa ~~ 0*cusa\nCUSL =~ cusl_1 + cusl_2 + cusl_3\n"
                       "CUSA ~ COMP + LIKE\nCUSL ~ COMP + LIKE + CUSA")
    survey = read_survey(benchmarks / "data/corp_rep_data.csv")
    raw = survey.frame[list(spec.observed)]
    n_codes = int((raw == -99).sum().sum())
    with pytest.raises(DataValidationError, match=r"cusl_1 has answers outside its scale 1-7"):
        validate_survey(survey, spec, scale=(1, 7))
    checked = validate_survey(survey, spec, scale=(1, 7), missing_codes=[-99])
    assert n_codes == 11 and int(checked.frame.isna().sum().sum()) == n_codes
    assert checked.report.n_complete == 344 - int((raw == -99).any(axis=1).sum())
    assert survey.synthetic is False


def test_group_column_checks():
    frame = good_frame(n=40)
    frame["org"] = ["a"] * 20 + ["b"] * 19 + ["c"]
    checked = validate_survey(frame, SPEC, group="org")
    text = checked.report.text()
    assert "3 groups in org, 1 to 20 respondents each" in text
    assert "group c of org has a single respondent" in text
    assert checked.frame["org"].tolist() == frame["org"].tolist()
    frame.loc[[4, 9], "org"] = None
    err = problems(frame, group="org")
    assert "group column org is empty in rows 5, 10" in str(err)
