"""Product terms (interactions) in the model language: parsing, the parameter table as
lavaan builds it for observed products, and the errors for products that cannot be."""

import pandas as pd
import pytest

from connective.data.validate import validate_survey
from connective.errors import ModelSyntaxError
from connective.spec import parse_model

LATENT = ("CID =~ c1 + c2 + c3\nEFF =~ e1 + e2 + e3\nOCA =~ o1 + o2 + o3\n"
          "OCA ~ CID + EFF + b3*CID:EFF + sex + CID:sex\n")


def test_latent_products_are_interactions_not_variables():
    spec = parse_model(LATENT)
    got = [(i.outcome, i.a, i.b, i.name, i.label, i.observed) for i in spec.interactions]
    assert got == [("OCA", "CID", "EFF", "OCA~CID:EFF", "b3", False),
                   ("OCA", "CID", "sex", "OCA~CID:sex", "", False)]
    assert "CID:EFF" not in spec.structural and ("CID:EFF", "OCA") not in spec.paths
    assert spec.pattern("beta").name.sel(target="OCA").values.tolist() == ["OCA~CID", "OCA~EFF", "OCA~sex", ""]
    table = spec.partable
    # no variance or covariance rows for a latent product: its moments follow the factors'
    assert not ((table["op"] == "~~") & table["rhs"].str.contains(":")).any()
    assert spec.parameter("b3")["free"] > 0


def test_observed_product_table_is_lavaans():
    # lavaan 0.6-14: lavaanify("y ~ x1 + x2 + x1:x2", fixed.x = TRUE, auto = TRUE)
    lavaan = [("y", "~", "x1", 1), ("y", "~", "x2", 2), ("y", "~", "x1:x2", 3),
              ("y", "~~", "y", 4), ("x1", "~~", "x1", 0), ("x1", "~~", "x2", 0),
              ("x1", "~~", "x1:x2", 0), ("x2", "~~", "x2", 0), ("x2", "~~", "x1:x2", 0),
              ("x1:x2", "~~", "x1:x2", 0)]
    table = parse_model("y ~ x1 + x2 + x1:x2").partable
    assert list(table[["lhs", "op", "rhs", "free"]].itertuples(index=False, name=None)) == lavaan


def test_observed_product_column_is_computed_from_the_answers():
    spec = parse_model("y ~ x1 + x2 + x1:x2")
    frame = pd.DataFrame({"x1": [1.0, 2.0, None, 4.0], "x2": [2.0, 3.0, 1.0, 0.5],
                          "y": [0.1, 0.4, 0.3, 0.2]})
    clean = validate_survey(frame, spec, raise_on_error=False).frame
    assert clean["x1:x2"].tolist()[:2] == [2.0, 6.0] and pd.isna(clean["x1:x2"].iloc[2])
    assert "x1:x2" not in frame.columns  # the user's frame is left alone


def test_quadratic_is_written_and_read_back():
    spec = parse_model("F =~ a + b + c\ny ~ F + q*F^2")
    assert [(i.a, i.b, i.label) for i in spec.interactions] == [("F", "F", "q")]
    assert "q*F^2" in spec.to_syntax()
    assert parse_model(spec.to_syntax()).interactions == spec.interactions


@pytest.mark.parametrize("text, message, hint", [
    ("F =~ a + b + c\ny ~ F + F:F", "F:F is 'F' times itself", "write F^2"),
    ("y ~ a + b + c + a:b:c", "three-way (and higher) interactions are not supported",
     "A:B"),
    ("F =~ a:b + c", "a product term cannot stand right of '=~'", "OCA ~ CID + EFF"),
    ("y ~ x1 + x1:x2", "'x2' in the product x1:x2 is not a variable of the model",
     "'y ~ x1 + x2 + x1:x2'"),
    ("F =~ a + b + c\ny ~ F + F:a", "'a' in the product F:a is an indicator of 'F'",
     "use the construct (F)"),
    ("y ~ x + x^3", "expected a quadratic term 'A^2'", "A^2"),
])
def test_bad_products(text, message, hint):
    with pytest.raises(ModelSyntaxError) as err:
        parse_model(text, source="m.lav")
    assert message in str(err.value) and hint in str(err.value)
    assert str(err.value).startswith("m.lav, line ")
