"""Every bad input a new user tried (issue 15, items 1, 5 and 6) is a user error: exit status
2, a message naming the file or option and what to do, and never a traceback. Each case
stops before anything is estimated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.cli import main

MODEL = "F =~ x1 + x2 + x3\nG =~ y1 + y2 + y3\nG ~ F\n"


def likert_frame(n=120, seed=0) -> pd.DataFrame:
    """Answers 1-5 to two correlated 3-item blocks."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=n)
    g = 0.5 * f + rng.normal(size=n)
    cols = {f"x{i}": f + 0.7 * rng.normal(size=n) for i in (1, 2, 3)}
    cols |= {f"y{i}": g + 0.7 * rng.normal(size=n) for i in (1, 2, 3)}
    return pd.DataFrame({k: np.clip(np.round(v + 3), 1, 5).astype(int) for k, v in cols.items()})


@pytest.fixture
def files(tmp_path):
    """A model, a good survey, and the bad files of the issue, by name."""
    out = {"model": tmp_path / "m.lav", "good": tmp_path / "survey.csv"}
    out["model"].write_text(MODEL)
    frame = likert_frame()
    frame.to_csv(out["good"], index=False)
    holes = frame.astype(float)
    holes.loc[[3, 50], "y2"] = np.nan
    holes.to_csv(tmp_path / "holes.csv", index=False)
    frame.assign(y3=frame["y1"]).to_csv(tmp_path / "copied.csv", index=False)
    out["product"] = tmp_path / "product.lav"
    out["product"].write_text(MODEL.replace("G ~ F", "W =~ x1 + y1\nG ~ F + W + F:W"))
    out["prior"] = tmp_path / "prior.lav"
    out["prior"].write_text(MODEL.replace("G ~ F", 'G ~ prior("normal(0, 1e999)")*F'))
    latin = frame.copy()
    latin.insert(0, "région", ["Île-de-France"] * len(frame))
    latin.to_csv(tmp_path / "latin1.csv", index=False, encoding="latin-1")
    (tmp_path / "dupe.csv").write_text("x1,x2,x3,y1,y1,y3\n" + "\n".join(
        ",".join(map(str, row)) for row in frame.to_numpy()) + "\n")
    frame.to_excel(tmp_path / "full.xlsx", index=False)
    blob = (tmp_path / "full.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(blob[: len(blob) // 2])
    return {**out, **{p.stem: p for p in tmp_path.iterdir() if p.stem not in out}}


def _fit(files, *extra, data="good"):
    return ["fit", str(files["model"]), "--data", str(files[data]), "--out",
            str(files["model"].parent / "run"), "--quiet", *extra]


CASES = {
    # item 1: one set of data options, hints in command-line terms
    "compare with missing answers": (lambda f: ["compare", str(f["model"]), "--data",
                                                str(f["holes"]), "--out", "cmp"],
                                     ["2 missing answers", "--missing casewise"]),
    "compare --missing fiml": (lambda f: ["compare", str(f["model"]), "--data", str(f["good"]),
                                          "--out", "cmp", "--missing", "fiml"],
                               ["--missing fiml", "--missing casewise"]),
    "pls with missing answers": (lambda f: ["pls", str(f["model"]), "--data", str(f["holes"]),
                                            "--out", "p", "--quiet"],
                                 ["missing values in y2 (2)", "--missing mean"]),
    "--likert reversed range": (lambda f: ["validate", str(f["model"]), "--data",
                                           str(f["good"]), "--likert", "5-1"],
                                ["--likert '5-1'", "1-5"]),
    "--likert pattern matching nothing": (lambda f: ["validate", str(f["model"]), "--data",
                                                     str(f["good"]), "--likert", "z*=1-5"],
                                          ["--likert", "z*", "match no item"]),
    "--missing unknown": (lambda f: ["validate", str(f["model"]), "--data", str(f["good"]),
                                     "--missing", "drop"], ["--missing", "'drop'"]),
    "--reverse without range": (lambda f: ["validate", str(f["model"]), "--data",
                                           str(f["good"]), "--reverse", "x2"],
                                ["reversing x2", "--likert"]),
    # item 5: validate checks all that fit would
    "identical columns": (lambda f: ["validate", str(f["model"]), "--data", str(f["copied"])],
                          ["columns y1 and y3 are identical"]),
    "infinite prior (validate)": (lambda f: ["validate", str(f["prior"]), "--data",
                                             str(f["good"])],
                                  ["prior.lav, line 3", "normal(0, 1e999)", "finite"]),
    "infinite prior (fit)": (lambda f: ["fit", str(f["prior"]), "--data", str(f["good"]),
                                        "--out", "r", "--quiet"],
                             ["prior.lav, line 3", "finite"]),
    # item 6: European and odd files, odd numbers
    "Latin-1 file": (lambda f: ["validate", str(f["model"]), "--data", str(f["latin1"])],
                     ["latin1.csv", "--encoding latin-1"]),
    "unknown encoding": (lambda f: ["validate", str(f["model"]), "--data", str(f["latin1"]),
                                    "--encoding", "klingon"], ["--encoding 'klingon'"]),
    "duplicate header": (lambda f: ["validate", str(f["model"]), "--data", str(f["dupe"])],
                         ["dupe.csv", "y1 appear more than once"]),
    "truncated xlsx": (lambda f: ["validate", str(f["model"]), "--data", str(f["cut"])],
                       ["cut.xlsx", "damaged or incomplete"]),
    "--seed -3": (lambda f: _fit(f, "--seed", "-3"), ["--seed", "'-3'", "0 to"]),
    "--seed 1e29": (lambda f: _fit(f, "--seed", "1e29"), ["--seed", "'1e29'"]),
    "--draws 1e20": (lambda f: _fit(f, "--draws", "1e20"), ["--draws", "'1e20'"]),
    "--draws too large for memory": (lambda f: _fit(f, "--draws", "900000000"),
                                     ["--draws 900,000,000", "GB", "use at most --draws"]),
    "--cores 0": (lambda f: _fit(f, "--cores", "0"), ["--cores", "'0'"]),
    "--boot -5": (lambda f: ["pls", str(f["model"]), "--data", str(f["good"]), "--out", "p",
                             "--boot", "-5"], ["--boot", "'-5'"]),
    "pls --level 95": (lambda f: ["pls", str(f["model"]), "--data", str(f["good"]), "--out",
                                  "p", "--level", "95"], ["--level 95.0", "0.95"]),
    # issue 22: product terms of constructs in PLS
    "--interaction-method without products": (
        lambda f: ["pls", str(f["model"]), "--data", str(f["good"]), "--out", "p",
                   "--interaction-method", "orthogonal"],
        ["--interaction-method orthogonal", "no product term", "X:W", "drop the flag"]),
    "--interaction-method unknown": (
        lambda f: ["pls", str(f["product"]), "--data", str(f["good"]), "--out", "p",
                   "--interaction-method", "stage2"],
        ["--interaction-method", "'stage2'", "two_stage"]),
    "pls --consistent with products": (
        lambda f: ["pls", str(f["product"]), "--data", str(f["good"]), "--out", "p",
                   "--consistent"],
        ["product.lav", "--consistent", "F:W", "drop --consistent"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_user_error_without_traceback(case, files, capsys, monkeypatch):
    monkeypatch.chdir(files["model"].parent)
    argv, expected = CASES[case]
    try:
        code = main(argv(files))
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    for fragment in expected:
        assert fragment in err, (fragment, err)
    assert not (files["model"].parent / "run").exists()
