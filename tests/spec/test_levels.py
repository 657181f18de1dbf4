"""Two-level models (``level: 1`` / ``level: 2``) against lavaan's own parameter tables.

``lavaan_twolevel/partables.csv`` holds the tables lavaan 0.6-14 builds for the models of
``lavaan_twolevel/cases.txt``, fitted to its Demo.twolevel with ``sem(..., cluster =
"cluster")`` (``make_partables.R`` made it). Ours must have the same rows in each level, each
free or fixed as in lavaan, with lavaan's fixed values, its ``exo`` marks (fixed.x) and its
equalities (a label at both levels is one parameter).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connective.errors import ConnectiveError, ModelSyntaxError
from connective.spec import parse_model
from connective.spec.defaults import parse_bool
from connective.spec.levels import check_cluster_data, has_levels, parse_twolevel

HERE = Path(__file__).parent / "lavaan_twolevel"


def _cases() -> dict[str, tuple[dict, str]]:
    cases, name, opts, body = {}, None, {}, []
    for line in (HERE / "cases.txt").read_text().splitlines():
        if line.startswith("## "):
            if name:
                cases[name] = (opts, "\n".join(body))
            head = line[3:].split("|")
            name, body = head[0].strip(), []
            opts = {k.strip(): parse_bool(v.strip()) for k, v in
                    (p.split("=") for p in head[1].split(","))} if len(head) > 1 else {}
        elif name and not line.startswith("#"):
            body.append(line)
    cases[name] = (opts, "\n".join(body))
    return cases


CASES = _cases()
LAVAAN = pd.read_csv(HERE / "partables.csv", keep_default_na=False, na_values=["NA"])


def _key(level, lhs, op, rhs):
    level = {"within": 1, "between": 2}.get(level, level)  # lavaan keeps the names written
    level = int(level)
    return (level, op, *sorted((lhs, rhs))) if op == "~~" else (level, lhs, op, rhs)


def _rows(table: pd.DataFrame) -> dict[tuple, tuple]:
    out = {}
    for r in table.itertuples():
        if r.op not in ("=~", "~", "~~", "~1"):
            continue
        fixed = r.free == 0 and not (isinstance(r.ustart, float) and math.isnan(r.ustart))
        out[_key(r.level, r.lhs, r.op, r.rhs)] = (
            r.free > 0, round(float(r.ustart), 10) if fixed else None, int(r.exo))
    return out


def _classes(table: pd.DataFrame, equal: pd.DataFrame | None = None) -> set[frozenset]:
    free = table[(table["free"] > 0) & table["op"].isin(["=~", "~", "~~", "~1"])]
    keys = {r.free: set() for r in free.itertuples()}
    for r in free.itertuples():
        keys[r.free].add(_key(r.level, r.lhs, r.op, r.rhs))
    if equal is not None:  # lavaan: '.p2. == .p19.' ties two free numbers
        by_plabel = dict(zip(table["plabel"], table["free"]))
        for r in equal.itertuples():
            a, b = by_plabel[r.lhs], by_plabel[r.rhs]
            keys[a] |= keys.pop(b)
    return {frozenset(v) for v in keys.values()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_level_parameter_table_matches_lavaan(case):
    opts, model = CASES[case]
    ours = parse_twolevel(model, source=case, options=opts).partable
    theirs = LAVAAN[LAVAAN["case"] == case]
    lavaan_rows = theirs[theirs["op"] != "=="]
    assert _rows(ours) == _rows(lavaan_rows)
    assert _classes(ours) == _classes(lavaan_rows, theirs[theirs["op"] == "=="])


def test_level_two_names_carry_lavaans_suffix():
    ours = parse_twolevel(CASES["demo"][1]).partable
    free = ours[ours["free"] > 0].drop_duplicates("free")["name"].tolist()
    # lavaan's names(coef(fit)) for Demo.twolevel
    assert free == ["fw=~y2", "fw=~y3", "fw~x1", "fw~x2", "fw~x3", "y1~~y1", "y2~~y2",
                    "y3~~y3", "fw~~fw", "fb=~y2.l2", "fb=~y3.l2", "fb~w1.l2", "fb~w2.l2",
                    "y1~~y1.l2", "y2~~y2.l2", "y3~~y3.l2", "fb~~fb.l2", "y1~1.l2", "y2~1.l2",
                    "y3~1.l2"]


def test_variables_are_classified_by_where_they_are_measured():
    two = parse_twolevel(CASES["demo"][1])
    assert two.both == ("y1", "y2", "y3")
    assert two.within_only == ("x1", "x2", "x3")
    assert two.between_only == ("w1", "w2")
    assert has_levels(CASES["demo"][1]) and not has_levels("F =~ a + b + c")


@pytest.mark.parametrize("text, message, line", [
    ("F =~ a + b + c\nlevel: 1\nG =~ a + b + c\nlevel: 2\nH =~ a + b + c",
     "a formula before the first 'level:' block", 1),
    ("level: 1\nG =~ a + b + c", "a two-level model needs a 'level: 2' block", 1),
    ("level: 1\nG =~ a + b + c\nlevel: 3\nH =~ a + b + c", "unknown level '3'", 3),
    ("level: 1\nG =~ a + b + c\nlevel: 2\nH =~ a + b + c\nlevel: within\nx ~ y",
     "a second 'level: 1' block", 5),
    ("level: 1\nG =~ a + b + c\nlevel: 2\nH =~ a + b + c\nH ~~ ", "nothing to the right", 5),
])
def test_bad_level_blocks_name_the_line(text, message, line):
    with pytest.raises(ModelSyntaxError) as err:
        parse_twolevel(text, source="m.lav")
    assert err.value.message.startswith(message)
    assert err.value.location.line == line


def test_a_one_level_parse_of_level_blocks_points_at_cluster():
    with pytest.raises(ModelSyntaxError, match="two-level model") as err:
        parse_model(CASES["demo"][1], source="m.lav")
    assert "--cluster COLUMN" in err.value.hint


def _frame():
    rng = np.random.default_rng(0)
    org = np.repeat(np.arange(20), 5)
    return pd.DataFrame({"y1": rng.normal(size=100), "y2": rng.normal(size=100),
                         "y3": rng.normal(size=100), "x1": rng.normal(size=100),
                         "x2": rng.normal(size=100), "x3": rng.normal(size=100),
                         "w1": rng.normal(size=20)[org], "w2": rng.normal(size=20)[org],
                         "org": org})


def test_cluster_data_checks():
    two = parse_twolevel(CASES["demo"][1])
    frame = _frame()
    assert check_cluster_data(two, frame, "org").shape == (100, 9)
    with pytest.raises(ConnectiveError, match="no column 'team' for --cluster"):
        check_cluster_data(two, frame, "team")
    with pytest.raises(ConnectiveError, match="'x2' is constant within every cluster.*move it "
                                              "to the 'level: 2' block"):
        check_cluster_data(two, frame.assign(x2=frame["w1"]), "org")
    with pytest.raises(ConnectiveError, match="'w1' appears only in the 'level: 2' block but "
                                              "varies within clusters"):
        check_cluster_data(two, frame.assign(w1=frame["x1"]), "org")
    with pytest.raises(ConnectiveError, match="missing answers in y2.*--missing casewise"):
        check_cluster_data(two, frame.assign(y2=frame["y2"].where(frame.index != 3)), "org")
