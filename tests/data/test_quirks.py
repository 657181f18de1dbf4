"""Real surveys' quirks are caught before they are analysed (issue 15): one set of data
options everywhere, missing-value codes found without --likert, reverse-keyed items named
with the flag to use, straight-lining and unanswered respondents, copied columns, European
and odd files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from connective.cli import build_parser, main
from connective.data.readers import read_survey
from connective.data.validate import validate_survey
from connective.spec import parse_model

SPEC = parse_model("F =~ x1 + x2 + x3 + x4\nG =~ y1 + y2 + y3\nG ~ F")


def survey(n=300, seed=3) -> pd.DataFrame:
    """7-point answers to a 4-item and a 3-item block."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    g = 0.5 * f + rng.normal(size=n)
    cols = {f"x{i}": f + 0.6 * rng.normal(size=n) for i in range(1, 5)}
    cols |= {f"y{i}": g + 0.6 * rng.normal(size=n) for i in range(1, 4)}
    return pd.DataFrame({k: np.clip(np.round(1.3 * v + 4), 1, 7).astype(int)
                         for k, v in cols.items()})


def findings(report, check):
    return [f for f in report.findings if f.check == check]


# -- item 1: one set of data options ------------------------------------------------------

@pytest.mark.parametrize("command", ["validate", "fit", "pls", "compare", "report"])
def test_every_command_takes_the_same_data_options(command):
    from connective.data.options import DataOptions

    argv = [command, "run_dir" if command == "report" else "m.lav", "--data", "d.csv",
            "--missing", "casewise", "--missing-codes", "-99,-98", "--reverse", "x2",
            "--likert", "ipol*=1-6,*=1-5"]
    if command not in ("validate", "report"):
        argv += ["--out", "o"]
    from connective.cli import join_negative_lists

    args = build_parser().parse_args(join_negative_lists(argv))
    opts = DataOptions.from_args(args)
    assert opts.missing_codes == (-99.0, -98.0) and opts.reverse == ("x2",)
    assert opts.scales(["ipol3", "x2"]) == {"ipol3": (1.0, 6.0), "x2": (1.0, 5.0)}


def test_missing_codes_as_the_help_writes_them(tmp_path, capsys):
    frame = survey()
    frame.loc[[4, 9], "x1"] = -99
    frame.loc[7, "y2"] = -98
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.lav").write_text(SPEC.text)
    code = main(["validate", str(tmp_path / "m.lav"), "--data", str(tmp_path / "d.csv"),
                 "--missing-codes", "-99,-98"])
    out = capsys.readouterr().out
    assert code == 0
    assert "x1: 2 missing-value codes turned into missing" in out
    assert "y2: 1 missing-value code turned into missing" in out


def test_per_item_likert_ranges_check_each_scale():
    from connective.data.options import DataOptions

    frame = survey()
    frame = frame.assign(**{c: frame[c].clip(1, 5 if c[0] == "x" else 6) for c in frame})
    frame.loc[5, "x3"] = 6
    mixed = DataOptions.from_text(likert="y*=1-6,*=1-5").check(frame, SPEC,
                                                               raise_on_error=False).report
    assert [f.column for f in findings(mixed, "out_of_range")] == ["x3"]
    one = DataOptions.from_text(likert="1-5").check(frame, SPEC, raise_on_error=False).report
    assert {"x3", "y1", "y2", "y3"} == {f.column for f in findings(one, "out_of_range")}


def test_study_file_takes_the_data_options(tmp_path):
    from connective.studies.design import read_study

    path = tmp_path / "s.toml"
    path.write_text('[study]\nmodel = "mediation"\nreplications = 2\n[conditions]\nn = [50]\n'
                    '[data]\nmissing = "mean"\nmissing_codes = [-99]\n'
                    '[methods.pls]\nengine = "pls"\n')
    study = read_study(path)
    assert study.data.missing == "mean" and study.data.missing_codes == (-99,)
    path.write_text(path.read_text().replace('missing = "mean"', 'missing = "drop"'))
    with pytest.raises(Exception, match=r"s.toml \[data\]: --missing 'drop'"):
        read_study(path)


# -- item 2: missing-value codes flagged without --likert ---------------------------------

@pytest.mark.parametrize("code", [-99, -9, 99, 999])
def test_gap_separated_values_are_flagged_as_codes(code):
    frame = survey()
    frame.loc[[3, 30, 31], "x2"] = code
    frame.loc[[8], "y3"] = code
    report = validate_survey(frame, SPEC, raise_on_error=False).report
    (hit,) = findings(report, "likely_code")
    assert hit.level == "error" and not report.ok
    assert f"the value {code} stands far from the other answers of x2, y3 (4 cells" in hit.message
    assert f"--missing-codes {code}" in hit.message
    declared = validate_survey(frame, SPEC, missing_codes=[code], raise_on_error=False).report
    assert declared.ok and not findings(declared, "likely_code")


def test_corp_rep_minus_99_is_no_longer_analysed(benchmarks):
    """seminr's corporate-reputation data code missing answers as -99."""
    spec = parse_model("CUSL =~ cusl_1 + cusl_2 + cusl_3\nCOMP =~ comp_1 + comp_2 + comp_3\n"
                       "CUSL ~ COMP")
    report = validate_survey(read_survey(benchmarks / "data" / "corp_rep_data.csv"), spec,
                             raise_on_error=False).report
    (hit,) = findings(report, "likely_code")
    assert "-99" in hit.message and "cusl_1, cusl_2, cusl_3" in hit.message


def test_answers_without_a_gap_are_not_codes():
    assert validate_survey(survey(), SPEC, raise_on_error=False).report.ok


# -- item 3: reverse-keyed items ----------------------------------------------------------

def test_reverse_keyed_items_are_named_with_the_flag():
    frame = survey()
    frame["x2"] = 8 - frame["x2"]
    frame["x4"] = 8 - frame["x4"]
    report = validate_survey(frame, SPEC, raise_on_error=False).report
    (hit,) = findings(report, "reverse_keyed")
    assert hit.message.startswith("block F: x")
    assert "--reverse x2,x4 --likert 1-7" in hit.message or "--reverse x4,x2 --likert 1-7" \
        in hit.message
    fixed = validate_survey(frame, SPEC, scale=(1, 7), reverse=["x2", "x4"],
                            raise_on_error=False).report
    assert not findings(fixed, "reverse_keyed")


# -- item 4: response patterns --------------------------------------------------------------

def test_straight_lining_is_counted_per_block_and_overall():
    frame = survey()
    frame.loc[:14, :] = 4  # 15 respondents answer 4 to everything
    report = validate_survey(frame, SPEC, raise_on_error=False).report
    (overall,) = findings(report, "straight_lining_all")
    assert set(range(1, 16)) <= set(overall.rows)
    assert overall.message.startswith(f"{len(overall.rows)} respondents "
                                      f"({len(overall.rows) / 300:.1%}) gave the same answer "
                                      "to all 7 items (or all they answered")
    (blocks,) = findings(report, "straight_lining")
    counts = dict(part.split(" ")[:2] for part in blocks.message.split(": ")[1].split(", "))
    assert int(counts["F"]) >= 15 and int(counts["G"]) >= 15


def test_unanswered_respondents_are_reported_and_dropped():
    frame = survey().astype(float)
    frame.loc[[2, 11], :] = np.nan
    checked = validate_survey(frame, SPEC, raise_on_error=False)
    (hit,) = findings(checked.report, "unanswered")
    assert "2 respondents answered none of the model's items (rows 3, 12)" in hit.message
    assert len(checked.frame) == len(frame) - 2


def test_missing_treatment_in_the_data_layer():
    frame = survey().astype(float)
    frame.loc[[2, 5], "x1"] = np.nan
    assert len(validate_survey(frame, SPEC, missing="casewise").frame) == len(frame) - 2
    filled = validate_survey(frame, SPEC, missing="mean").frame
    assert filled["x1"].notna().all()
    assert filled.loc[2, "x1"] == pytest.approx(frame["x1"].mean())


# -- item 5: validate checks all that fit would ------------------------------------------

def test_collinear_items_are_found_by_validate():
    frame = survey().astype(float)
    frame["y3"] = frame["y1"] + frame["y2"]
    report = validate_survey(frame, SPEC, raise_on_error=False).report
    (hit,) = findings(report, "collinear")
    assert "not positive definite" in hit.message and "y3" in hit.message


# -- item 6: European and odd files -------------------------------------------------------

def test_semicolon_file_with_decimal_commas_is_read(tmp_path):
    frame = survey().astype(float) / 2  # halves: 0,5 1,5 ...
    path = tmp_path / "eu.csv"
    path.write_text(frame.to_csv(index=False, sep=";", decimal=","))
    read = read_survey(path).frame
    np.testing.assert_allclose(read.to_numpy(dtype=float), frame.to_numpy())


def test_latin1_file_reads_with_the_encoding_option(tmp_path):
    from connective.data.options import DataOptions

    frame = survey().assign(region="Île-de-France")
    path = tmp_path / "latin.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    opts = DataOptions.from_text(encoding="latin-1")
    assert opts.read(path).frame["region"].iloc[0] == "Île-de-France"


def test_data_options_are_recorded_in_pls_runs(tmp_path):
    frame = survey()
    frame["x3"] = 8 - frame["x3"]
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.lav").write_text(SPEC.text)
    assert main(["pls", str(tmp_path / "m.lav"), "--data", str(tmp_path / "d.csv"), "--out",
                 str(tmp_path / "p"), "--quiet", "--reverse", "x3", "--likert", "1-7"]) == 0
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["settings"]["data_options"]["reverse"] == ["x3"]
    rel = pd.read_csv(tmp_path / "p" / "reliability.csv").set_index("construct")
    assert rel.loc["F", "alpha"] > 0.7


def test_negative_alpha_is_never_printed_without_a_flag(tmp_path, capsys):
    frame = survey()
    frame["y3"] = 8 - frame["y3"]  # one of three items reverse-keyed: alpha below 0
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "m.lav").write_text(SPEC.text)
    assert main(["pls", str(tmp_path / "m.lav"), "--data", str(tmp_path / "d.csv"), "--out",
                 str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "block G: y3 (item-rest r = -" in out and "--reverse y3 --likert 1-7" in out
    rel = pd.read_csv(tmp_path / "p" / "reliability.csv").set_index("construct")
    assert rel.loc["G", "alpha"] < 0
    assert rel.loc["G", "flags"].startswith("alpha < 0")
    assert "most likely reverse-keyed" in rel.loc["G", "flags"]
    g_line = next(line for line in out.splitlines() if line.startswith("G ") and "alpha" in line)
    assert "reverse-keyed" in g_line


def test_straight_lining_is_judged_on_the_answers_as_given():
    frame = survey()
    frame["x2"] = 8 - frame["x2"]
    frame.loc[:14, :] = 2  # the same box ticked throughout, reverse-keyed item included
    report = validate_survey(frame, SPEC, scale=(1, 7), reverse=["x2"],
                             raise_on_error=False).report
    (overall,) = findings(report, "straight_lining_all")
    assert set(range(1, 16)) <= set(overall.rows)
