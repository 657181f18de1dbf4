"""Summary statistics as input (data/summary.py): a printed matrix becomes moment-matched
rows, so the normal likelihood and PLS see exactly the printed moments.

* PoliticalDemocracy: the log-density of the model built on the rows made from its sample
  moments equals the one built on the raw data, at random parameter points, to 1e-10;
* each check of the file (symmetry, unit diagonal, names, N, positive definiteness and the
  nearest positive-definite matrix, pairwise N), with its message.

Wheaton's printed lower triangle against lavaan is in tests/conformance (``wheaton``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from connective.data.summary import SummaryData, SummaryDataError, parse_summary
from connective.spec import parse_model


def _summary_of(frame: pd.DataFrame) -> SummaryData:
    return SummaryData(tuple(frame.columns), frame.cov().to_numpy(), "covariance", len(frame),
                       means=frame.mean().to_numpy())


def test_log_density_from_moments_equals_the_raw_data_one(benchmarks):
    from connective.bayes import build_model
    from tests.conftest import POLITICAL_DEMOCRACY

    spec = parse_model(POLITICAL_DEMOCRACY)
    raw = pd.read_csv(benchmarks / "data" / "PoliticalDemocracy.csv")[list(spec.observed)]
    rows = _summary_of(raw).frame(seed=4)
    assert not np.allclose(rows.to_numpy(), raw.to_numpy())  # other rows, same moments
    models = [build_model(spec, f).model for f in (raw, rows)]
    logps = [m.compile_logp() for m in models]
    rng = np.random.default_rng(0)
    start = models[0].initial_point()
    for _ in range(5):
        point = {k: v + rng.normal(0, 0.1, size=np.shape(v)) for k, v in start.items()}
        a, b = (float(f(point)) for f in logps)
        assert np.isfinite(a) and abs(a - b) < 1e-10 * abs(a), (a, b)


TEMPLATE = '''n = {n}
names = {names}
kind = "{kind}"
{shape} = """
{body}
"""
'''


def _text(body="1\n.5 1\n.3 .4 1", n=100, names='["a", "b", "c"]', kind="correlation",
          shape="lower", extra=""):
    return TEMPLATE.format(n=n, names=names, kind=kind, shape=shape, body=body) + extra


@pytest.mark.parametrize("text,message", [
    (_text(shape="full", body="1 .5 .3\n.5 1 .4\n.3 .41 1"),
     "not symmetric (row 2, column 3: 0.4 against 0.41)"),
    (_text(body="1\n.5 1.1\n.3 .4 1"), "has 1.1 on its diagonal (b)"),
    (_text(body="1\n.5 1\n.3 .4"), "the lower matrix has 5 numbers; 3 names need 6"),
    (_text(n=3), "N = 3 is not larger than the number of variables (3)"),
    (_text(n="2.5"), "the sample size is 2.5"),
    (_text(kind="correlations"), "'kind' is 'correlations'"),
    (_text(body="1\n.9 1\n.1 .9 1"), "not positive definite (smallest eigenvalue"),
    (_text(body="1\n.5 1\n.3 x 1"), "holds 'x', which is not a number"),
    (_text(extra='sds = [1, 2]\n'), "'sds' must be a list of 3 numbers"),
    (_text(extra='colour = "red"\n'), "unknown key(s) colour"),
])
def test_checks_of_the_file(text, message):
    with pytest.raises(SummaryDataError) as info:
        parse_summary(text, source="paper.toml")
    assert message in str(info.value) and str(info.value).startswith("paper.toml: ")


def test_nearest_positive_definite_matrix_on_request_and_noted():
    s = parse_summary(_text(body="1\n.9 1\n.1 .9 1"), nearest_pd=True)
    assert np.linalg.eigvalsh(s.matrix)[0] > 0 and np.allclose(np.diag(s.matrix), 1)
    assert "nearest positive-definite" in s.notes[0]
    # the change is the smallest that makes it positive definite: about .1 here
    assert 0.01 < np.max(np.abs(s.matrix - np.array([[1, .9, .1], [.9, 1, .9], [.1, .9, 1]]))) < 0.2


def test_pairwise_n_uses_the_smallest_and_says_so():
    s = parse_summary(_text(n="[180, 194, 176]"))
    assert s.n == 176 and "smallest, 176, is used" in s.notes[0]


def test_correlations_with_sds_become_covariances_and_rows_match_them():
    s = parse_summary(_text(extra="sds = [1.5, 2.0, 0.5]\nmeans = [4.0, 3.0, 2.0]\n"))
    rows = s.frame()
    np.testing.assert_allclose(rows.std().to_numpy(), [1.5, 2.0, 0.5], rtol=1e-12)
    np.testing.assert_allclose(rows.corr().to_numpy(), s.matrix, atol=1e-12)
    np.testing.assert_allclose(rows.mean().to_numpy(), [4.0, 3.0, 2.0], atol=1e-12)
    assert not s.correlation_only and parse_summary(_text()).correlation_only


def test_lavaan_lower_triangle_text_needs_names_and_n():
    with pytest.raises(SummaryDataError, match="add a line '# names: v1 v2 ...'"):
        parse_summary("1.0\n0.5 1.0\n")
    with pytest.raises(SummaryDataError, match=r"add a line '# n: 932'"):
        parse_summary("# names: a b\n1.0\n0.5 1.0\n")
    s = parse_summary("# names: a b\n# n: 60\n2.0\n-0.5 1.0\n")
    assert s.kind == "covariance" and s.matrix[0, 1] == -0.5


# -- the commands ------------------------------------------------------------------------

@pytest.fixture
def wheaton(tmp_path, benchmarks):
    """Wheaton's printed lower triangle as lavaan's getCov text, names and N added."""
    folder = benchmarks / "reference" / "lavaan_tutorial"
    names = (folder / "wheaton.lav").read_text().split("# variables in order:")[1].splitlines()[0]
    path = tmp_path / "wheaton.txt"
    path.write_text(f"# names: {names}\n# n: 932\n" + (folder / "wheaton_lower.txt").read_text())
    model = tmp_path / "wheaton.lav"
    model.write_text((folder / "wheaton.lav").read_text())
    return model, path


def _run(args, capsys):
    from connective.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_fit_and_pls_from_a_printed_matrix(wheaton, tmp_path, capsys):
    import json

    model, path = wheaton
    code, out = _run(["fit", model, "--summary", path, "--out", tmp_path / "fit", "--draws",
                      "200", "--tune", "200", "--chains", "2", "--seed", "3", "--quiet"], capsys)
    assert code == 0, out
    params = pd.read_csv(tmp_path / "fit" / "parameters.csv")
    assert "~1" not in set(params["op"])  # no means printed: no mean structure
    est = params.set_index(["lhs", "op", "rhs"])["est"]
    assert est[("alien71", "~", "alien67")] == pytest.approx(0.607, abs=0.08)  # lavaan 0.607
    record = json.loads((tmp_path / "fit" / "summary.json").read_text())
    printed = record["run"]["settings"]["data_options"]["summary"]
    assert printed["n"] == 932 and printed["kind"] == "covariance" and not printed["means"]
    code, out = _run(["pls", model, "--summary", path, "--out", tmp_path / "pls", "--boot",
                      "100", "--seed", "1", "--quiet"], capsys)
    assert code == 0, out
    pls = json.loads((tmp_path / "pls" / "summary.json").read_text())
    assert pls["settings"]["bootstrap"].startswith("parametric")
    # LOO needs respondents
    import shutil

    shutil.copytree(tmp_path / "fit", tmp_path / "fit2")
    code, out = _run(["loo", tmp_path / "fit", tmp_path / "fit2"], capsys)
    assert code == 2 and "fitted to summary statistics" in out


@pytest.mark.parametrize("extra,message", [
    (["--likelihood", "ordinal"], "--likelihood ordinal needs each respondent's answers"),
    (["--group", "org"], "--group work(s) on respondents' rows"),
    (["--likert", "1-7"], "--likert work(s) on respondents' rows"),
    (["--data", "survey.csv"], "give either --data FILE (respondents' rows) or --summary FILE"),
])
def test_what_needs_rows_is_refused(wheaton, tmp_path, capsys, extra, message):
    model, path = wheaton
    code, out = _run(["fit", model, "--summary", path, "--out", tmp_path / "x", *extra], capsys)
    assert code == 2 and message in out and "Traceback" not in out


def test_names_must_cover_the_model_and_bca_needs_rows(wheaton, tmp_path, capsys):
    model, path = wheaton
    path.write_text(path.read_text().replace("sei\n", "status\n", 1))
    code, out = _run(["validate", model, "--summary", path], capsys)
    assert code == 2 and "the model uses sei, which the matrix does not have" in out
    path.write_text(path.read_text().replace("status\n", "sei\n", 1))
    code, out = _run(["pls", model, "--summary", path, "--out", tmp_path / "p", "--boot", "20",
                      "--ci", "bca"], capsys)
    assert code == 2 and "--ci bca needs respondents' rows" in out
    code, out = _run(["validate", model], capsys)
    assert code == 2 and "give the survey with --data FILE, or" in out


def test_rounding_matters_at_one_decimal_and_not_at_three():
    from connective.bayes import fit
    from connective.compare.rounding import rounding_sensitivity
    from connective.data.simulate import simulate

    spec = parse_model("m ~ x\ny ~ m + x")
    frame = simulate(spec, 194, seed=1).frame[["x", "m", "y"]]
    shifts = {}
    for decimals in (1, 3):
        printed = SummaryData(("x", "m", "y"), np.round(frame.corr().to_numpy(), decimals),
                              "correlation", 194)
        result = fit(spec, printed.frame(), draws=300, tune=300, chains=2, seed=2)
        table = rounding_sensitivity(result, printed, decimals=decimals, refits=5, seed=3)
        shifts[decimals] = table.set_index("name")["max_shift_sd"]
        assert table.set_index("name")["matters"].any() == (decimals == 1)
    # a path moves by a large share of its posterior SD at one decimal, a sliver at three
    assert shifts[1]["y~m"] > 0.3 and shifts[3]["y~m"] < 0.2


def test_analyses_that_need_rows_refuse_a_printed_matrix(wheaton, tmp_path, capsys):
    model, path = wheaton
    code, out = _run(["pls", model, "--summary", path, "--out", tmp_path / "p", "--ipma",
                      "alien71"], capsys)
    assert code == 2 and "--predict, --mga and --ipma need respondents' rows" in out


def test_the_report_of_a_fit_to_a_printed_matrix_says_so(wheaton, tmp_path, capsys):
    model, path = wheaton
    code, out = _run(["fit", model, "--summary", path, "--out", tmp_path / "fit", "--draws",
                      "100", "--tune", "100", "--chains", "2", "--seed", "3", "--quiet"], capsys)
    assert code == 0, out
    code, out = _run(["report", tmp_path / "fit"], capsys)
    assert code == 0, out
    md = (tmp_path / "fit" / "report" / "report.md").read_text()
    assert "Fitted to summary statistics (" in md and "N = 932" in md
    assert "the model has no mean structure" in md
