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
