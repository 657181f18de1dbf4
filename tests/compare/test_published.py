"""The published table (compare/published.py): every name form a paper uses, the interval
when only t or SE is printed, and the errors that name the row."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from connective.compare.published import add_published, read_published
from connective.errors import DataError
from connective.spec import parse_model

SPEC = parse_model("""
IS =~ is1 + is2 + is3
CI =~ ci1 + ci2 + ci3
CID =~ cid1 + cid2 + cid3
CI ~ a*IS
CID ~ b*CI + IS
ab := a*b
""")


def _read(text: str) -> pd.DataFrame:
    return read_published(io.StringIO(text), SPEC)


def test_every_name_form_maps_to_our_effect_names():
    t = _read("name,estimate,lower,upper\n"
              "CI ~ IS,.40,.30,.50\n"       # lavaan
              "IS -> CID,.10,-.02,.22\n"    # SmartPLS
              "IS → CI → CID,.12,.06,.19\n"  # an indirect effect, arrows as printed
              "IS =~ is2,.81,.75,.86\n"     # a loading, lavaan
              "ci3 <- CI,.77,.70,.83\n"     # a loading, SmartPLS
              "ab,.12,.06,.19\n")           # a := parameter
    assert t["effect"].tolist() == ["IS -> CI", "IS -> CID", "IS -> CI -> CID", "IS=~is2",
                                    "CI=~ci3", "ab"]
    assert t["kind"].tolist() == ["direct", "direct", "indirect", "loading", "loading",
                                  "defined"]
    assert (t["interval_from"] == "printed").all()


def test_smartpls_columns_with_t_values_only():
    t = _read('path,Original sample (O),T statistics (|O/STDEV|),P values\n'
              'IS -> CI,0.400,5.00,< .001\n'
              'IS -> CI -> CID,0.120,2.40,0.016\n')
    # SE = |estimate / t|, interval estimate +- 1.96 SE
    np.testing.assert_allclose(t["se"], [0.08, 0.05])
    np.testing.assert_allclose(t["lower"], [0.4 - 1.959964 * 0.08, 0.12 - 1.959964 * 0.05],
                               atol=1e-6)
    assert t["p"].tolist() == [0.001, 0.016]
    assert t["interval_from"].iloc[0] == "estimate +- 1.96 SE, SE = |estimate / t|"


@pytest.mark.parametrize("text,message", [
    ("path,beta\nIS -> OCA,.2\n", "line 2: cannot read 'IS -> OCA'"),
    ("path,beta\nIS -> CID -> CI,.2\n", "runs along CID -> CI, which the model does not have"),
    ("path,beta\nIS =~ ci1,.7\n", "'IS =~ ci1' is no loading of the model"),
    ("label,beta\nIS -> CI,.2\n", "no column naming the estimates"),
    ("path,weight\nIS -> CI,.2\n", "no estimate column"),
])
def test_errors_name_the_row(text, message):
    with pytest.raises(DataError) as info:
        _read(text)
    assert message in str(info.value)


def test_beside_the_comparison_table():
    table = pd.DataFrame({"effect": ["IS -> CI", "IS -> CI -> CID"], "kind": ["direct", "indirect"],
                          "bayes_est": [.45, .15], "bayes_lower": [.35, .08],
                          "bayes_upper": [.55, .22], "PLS_est": [.41, .12]})
    pub = _read("path,beta,se\nIS -> CI,.40,.05\nIS -> CI -> CID,.12,.07\n")
    out = add_published(table, pub)
    assert out["diff_PLS_published"].round(6).tolist() == [0.01, 0.0]
    # the paper's indirect effect contains 0 (.12 +- .137), the posterior's does not
    assert out["same_verdict_published"].tolist() == [True, False]
