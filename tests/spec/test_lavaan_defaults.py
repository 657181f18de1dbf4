"""lavaan's defaults, rule by rule, against lavaan itself.

``lavaan_partables/partables.csv`` holds the parameter tables lavaan 0.6-14 builds for the
models of ``lavaan_partables/cases.txt`` with ``sem()``'s defaults and each case's options
(``make_partables.R`` made it: ``lavaanify(..., auto = TRUE)``). Each of our tables must have
the same rows, each free or fixed as in lavaan, with lavaan's fixed values, its ``exo`` marks
(fixed.x) and its equality constraints (which rows share a free parameter).

Wave 1 (commit 0d589bb) fails the MIMIC cases: it fixed the residual covariances of the
three outcome factors to 0 (no auto.cov.y) and made sex and age random; it refused the
single-indicator cases ("one indicator and a free error variance").
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connective.spec import parse_model
from connective.spec.defaults import LavaanOptions, options_from_text, parse_bool

HERE = Path(__file__).parent / "lavaan_partables"


def _cases() -> dict[str, tuple[str, str]]:
    cases, name, opts, body = {}, None, "", []
    for line in (HERE / "cases.txt").read_text().splitlines():
        if line.startswith("## "):
            if name:
                cases[name] = (opts, "\n".join(body))
            head = line[3:].split("|")
            name, opts, body = head[0].strip(), head[1].strip() if len(head) > 1 else "", []
        elif name and not line.startswith("#"):
            body.append(line)
    cases[name] = (opts, "\n".join(body))
    return cases


CASES = _cases()
LAVAAN = pd.read_csv(HERE / "partables.csv", keep_default_na=False, na_values=["NA"])


def _options(text: str) -> dict[str, bool]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, value = (x.strip() for x in part.split("="))
        out[name] = parse_bool(value)
    return out


def _key(lhs, op, rhs):
    return (op, *sorted((lhs, rhs))) if op == "~~" else (lhs, op, rhs)


def _rows(table: pd.DataFrame) -> dict[tuple, tuple]:
    out = {}
    for r in table.itertuples():
        if r.op not in ("=~", "~", "~~"):
            continue
        ustart = None if r.free > 0 or (isinstance(r.ustart, float) and math.isnan(r.ustart)) \
            else round(float(r.ustart), 10)
        out[_key(r.lhs, r.op, r.rhs)] = (r.free > 0, ustart, int(r.exo))
    return out


def _classes(table: pd.DataFrame) -> set[frozenset]:
    """Rows that are one parameter: lavaan numbers them apart and ties them by their shared
    label (an ``==`` row), we give them one free number."""
    free = table[(table["free"] > 0) & table["op"].isin(["=~", "~", "~~"])]
    tie = [lab if lab else f"#{n}" for lab, n in zip(free["label"].fillna(""), free["free"])]
    return {frozenset(_key(r.lhs, r.op, r.rhs) for r in g.itertuples())
            for _, g in free.groupby(tie)}


#: lavaan builds these tables and then fits a model that is not identified; we refuse it
NOT_IDENTIFIED = {"single_shared_item": "factor 'B' has one indicator and a free error variance"}


@pytest.mark.parametrize("case", sorted(set(CASES) - set(NOT_IDENTIFIED)))
def test_parameter_table_matches_lavaan(case):
    opts, model = CASES[case]
    ours = parse_model(model, source=case, options=_options(opts)).partable
    theirs = LAVAAN[LAVAAN["case"] == case]
    assert _rows(ours) == _rows(theirs)
    assert _classes(ours) == _classes(theirs)


def test_auto_fix_single_leaves_an_item_shared_with_another_factor_alone():
    # x3 loads on A and B: lavaan keeps its residual variance free (partables.csv), which
    # leaves B's variance unidentified; lavaan warns after fitting, we refuse before
    with pytest.raises(Exception, match=NOT_IDENTIFIED["single_shared_item"]):
        parse_model(CASES["single_shared_item"][1])
    theirs = LAVAAN[(LAVAAN["case"] == "single_shared_item") & (LAVAAN["lhs"] == "x3")
                    & (LAVAAN["op"] == "~~")]
    assert int(theirs["free"].iloc[0]) > 0


def test_fixed_x_covariates_are_not_free_parameters():
    spec = parse_model(CASES["mimic"][1])
    assert spec.fixed_x == ("sex", "ageyr")
    assert spec.n_free == int(LAVAAN.loc[LAVAAN["case"] == "mimic", "free"].max())


def test_a_covariate_given_a_covariance_is_random_with_a_note():
    spec = parse_model(CASES["x_mentioned"][1])
    assert spec.fixed_x == ()
    assert "x1, x2" in spec.notes[0] and "fixed.x = FALSE" in spec.notes[0]


def test_options_in_the_model_file_and_from_the_command_line():
    text = "# options: auto.cov.y = FALSE\nF =~ a + b + c\ny1 ~ F\ny2 ~ F"
    assert not parse_model(text).options.auto_cov_y
    assert "y1~~y2" not in set(parse_model(text).partable["name"])
    # the command line wins, and the text then records what was fitted
    spec = parse_model(text, options={"auto.cov.y": True, "orthogonal": None})
    assert spec.options.auto_cov_y and "y1~~y2" in set(spec.partable["name"])
    assert parse_model(spec.text).options == spec.options


def test_an_unknown_option_in_the_model_file_names_its_line_and_column():
    with pytest.raises(Exception) as err:
        options_from_text("F =~ a + b\n# options: orthogonal = TRUE, auto.cov.z = FALSE", "m.lav")
    text = str(err.value)
    assert text.startswith("m.lav, line 2, column 31: unknown option 'auto.cov.z'")
    assert "auto.cov.y" in text


def test_an_option_value_that_is_not_a_truth_value_is_refused():
    with pytest.raises(Exception, match="option std.lv takes TRUE or FALSE, not 'maybe'"):
        options_from_text("# options: std.lv = maybe")


def test_std_lv_turns_the_marker_off_as_lavaan_does():
    assert LavaanOptions(std_lv=True).fixed_first is False
    assert LavaanOptions(std_lv=True, auto_fix_first=True).fixed_first is True


def test_command_line_options_under_lavaans_names(capsys, tmp_path):
    from connective.cli import main

    model = tmp_path / "mimic.lav"
    model.write_text(CASES["mimic"][1])
    data = tmp_path / "d.csv"
    pd.DataFrame(np.random.default_rng(0).normal(size=(40, 11)),
                 columns=[f"x{i}" for i in range(1, 10)] + ["sex", "ageyr"]).to_csv(data,
                                                                                    index=False)
    main(["validate", str(model), "--data", str(data), "--auto-cov-y", "false", "--orthogonal"])
    out = capsys.readouterr().out
    assert "lavaan options: auto.cov.y = FALSE, orthogonal = TRUE" in out
    assert "covariates conditioned on (fixed.x): sex, ageyr" in out
    with pytest.raises(SystemExit) as exit_:
        main(["validate", str(model), "--data", str(data), "--fixed-x", "maybe"])
    assert exit_.value.code == 2
    assert "argument --fixed-x: expected TRUE or FALSE, not 'maybe'" in capsys.readouterr().err
