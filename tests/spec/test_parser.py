"""Parser: every supported construct, the round trip of every bundled model, every error."""

from __future__ import annotations

import math

import pytest

from connective.errors import ModelSpecError, ModelSyntaxError
from connective.resources import bundled_models, model_path
from connective.spec import parse_model, read_model


def _table(spec):
    return spec.partable.drop(columns=["line", "column"]).reset_index(drop=True)


@pytest.mark.parametrize("name", bundled_models())
def test_every_bundled_model_round_trips(name):
    spec = read_model(model_path(name))
    again = parse_model(spec.to_syntax())
    assert _table(again).equals(_table(spec))
    # also with every default written out
    full = parse_model(spec.to_syntax(defaults=True))
    assert _table(full).drop(columns="user").equals(_table(spec).drop(columns="user"))


@pytest.mark.parametrize("name", bundled_models())
def test_every_bundled_model_has_a_header_and_defined_effects(name):
    text = model_path(name).read_text()
    assert text.startswith("#"), "a model file opens with a comment saying what it is"
    assert read_model(model_path(name)).defined, "each bundled model defines its indirect effects"


def test_modifiers_are_read_into_the_table():
    spec = parse_model(
        'F =~ NA*x1 + a*x2 + start(0.8)*x3 + prior("normal(0, 0.5)")*x4\n'
        "F ~~ 1*F\n"
        "y ~ -0.5*F + label(\"b\")*z\n"
        "y ~ 1\n")
    t = spec.partable.set_index("name")
    assert math.isnan(t.at["F=~x1", "ustart"]) and t.at["F=~x1", "free"] > 0  # NA frees marker
    assert t.at["F=~x2", "label"] == "a"
    assert t.at["F=~x3", "start"] == 0.8
    assert t.at["F=~x4", "prior"] == "normal(0, 0.5)"
    assert t.at["F~~F", "ustart"] == 1.0 and t.at["F~~F", "free"] == 0
    assert t.at["y~F", "ustart"] == -0.5
    assert t.at["y~z", "label"] == "b"
    assert t.at["y~1", "op"] == "~1"


def test_statements_continue_over_lines_and_split_at_semicolons():
    spec = parse_model("F =~ x1 +\n  x2\n  + x3; G =~ y1 + y2 + y3\nG ~ F\n"
                       "d := (1 +\n a)*2\nG ~ a*F2\nF2 =~ z1 + z2 + z3")
    assert spec.indicators["F"] == ("x1", "x2", "x3")
    assert spec.indicators["G"] == ("y1", "y2", "y3")
    assert str(spec.defined["d"]) == "(1 + a)*2"


def test_multiple_left_hand_sides():
    spec = parse_model("y1 + y2 ~ x")
    assert sorted(spec.paths) == [("x", "y1"), ("x", "y2")]


def test_observed_path_model_has_no_factors():
    spec = read_model(model_path("mediation"))
    assert spec.latent == () and spec.structural == ("X", "M", "Y")
    assert spec.observed == ("X", "M", "Y")
    lam = spec.pattern("lambda").value
    assert lam.sel(observed="M", structural="M").item() == 1.0


def test_composites_are_kept_for_pls():
    spec = parse_model("A <~ a1 + a2 + a3\nB =~ b1 + b2 + b3\nB ~ A")
    assert spec.composites == ("A",) and spec.latent == ("B",)
    assert spec.indicators["A"] == ("a1", "a2", "a3")


def test_defined_expressions_keep_precedence():
    spec = parse_model("M ~ a*X\nY ~ b*M + c*X\n"
                       "p := a*b/(a*b + c)\nq := -a^2 - (b - c)\nr := exp(log(a))")
    assert str(spec.defined["p"]) == "a*b/(a*b + c)"
    assert str(spec.defined["q"]) == "-a^2 - (b - c)"
    from connective.spec.expressions import evaluate
    vals = {"a": 0.5, "b": 0.4, "c": 0.2}
    assert evaluate(spec.defined["p"], vals) == pytest.approx(0.2 / 0.4)
    assert evaluate(spec.defined["q"], vals) == pytest.approx(-0.25 - 0.2)
    assert evaluate(spec.defined["r"], vals) == pytest.approx(0.5)


# -- errors: each names the file, line and column and shows the line with a caret ----------

ERRORS = [
    # (model text, error class, message part, line, column)
    ("F =~ x1 + x2 + x3\nOCA -> F", ModelSyntaxError, "unknown operator '->'", 2, 5),
    ("F =~ x1 + x2 + x3\nG = F", ModelSyntaxError, "unknown operator '='", 2, 3),
    ("F =~ x1 + x2 + x3\nd := (a*b", ModelSyntaxError, "unbalanced parentheses", 2, 6),
    ("F =~ x1 + x2 + x3\nd := a*b)", ModelSyntaxError, "unbalanced parentheses", 2, 9),
    ("M ~ a*X\nY ~ b*M\nind := a*c", ModelSpecError, "label 'c' is not carried by any parameter",
     3, 10),
    ("F =~ F + x2 + x3", ModelSpecError, "both a factor and an indicator of itself", 1, 6),
    ("A ~ B\nB ~ C\nC ~ A", ModelSpecError, "non-recursive", 3, 5),
    ("# options: auto.fix.single = FALSE\nF =~ x1\nY ~ F", ModelSpecError,
     "one indicator and a free error variance", 2, 6),
    ("F =~ x1 + x2 + x3\nG =~ y1 + y2\nG ~ F\nG ~ F", ModelSpecError, "duplicate definition", 4, 5),
    ("M ~ a*X\nind := a*2\nind := a*3", ModelSpecError, "duplicate definition of 'ind'", 3, 1),
    ("x1 ~~ x2\nx2 ~~ x1", ModelSpecError, "duplicate definition", 2, 7),
    ("F =~ x1 + x2\nF <~ x3 + x4", ModelSpecError, "both as a reflective factor", 2, 1),
    ("M ~ a*X + b*Z\na == b", ModelSyntaxError, "operator '==' is not supported", 2, 3),
    ("F =~ foo(1)*x1 + x2", ModelSyntaxError, "unknown modifier foo()", 1, 6),
    ("F =~ c(1, 2)*x1 + x2", ModelSyntaxError, "unknown modifier c()", 1, 6),
    ("F =~ 1*2*x1 + x2", ModelSyntaxError, "two fixed modifiers", 1, 8),
    ("F =~ x1 + x2 + x3\nF x4", ModelSyntaxError, "no operator", 2, 1),
    ("F =~ NA*x1 + x2 + x3", ModelSpecError, "scale is not identified", 1, 9),
    ("F =~ x1 + x2 + x3\nG =~ y1 + y2 + F\nF =~ G", ModelSpecError,
     "cycle F -> G -> F", 3, 6),
    ("F =~ x1 + x2 + x3\nx1 ~ F", ModelSpecError, "'x1 ~ F' repeats the loading 'F =~ x1'",
     2, 6),
    ("M ~ a*X\nd := b2 + a\nb2 := a", ModelSpecError, "'b2' is used before it is defined", 2, 6),
    ("# only a comment\n", ModelSpecError, "the model is empty", 1, 1),
    ('F =~ prior("normal(0,1)*x1 + x2', ModelSyntaxError, "unterminated string", 1, 12),
    ("M ~ a*X\nY ~ a*b*M", ModelSyntaxError, "two label modifiers", 2, 7),
    ("M ~ a*X\nY ~ a*M + 0.5*a*X", ModelSpecError, "label 'a' is on a fixed and on a free", 2, 17),
]


@pytest.mark.parametrize("text,cls,message,line,column", ERRORS)
def test_errors_point_at_line_and_column(text, cls, message, line, column):
    with pytest.raises(cls) as info:
        parse_model(text, source="bad.lav")
    err = info.value
    assert message in err.message
    assert (err.location.line, err.location.column) == (line, column)
    rendered = str(err)
    assert rendered.startswith(f"bad.lav, line {line}, column {column}: ")
    shown, caret = rendered.splitlines()[1:3]
    assert shown.endswith(text.splitlines()[line - 1] if text.splitlines() else "")
    # the caret stands under the column
    assert caret.index("^") - caret.index("|") - 2 == column - 1


def test_errors_in_a_file_name_the_file(tmp_path):
    path = tmp_path / "broken.lav"
    path.write_text("F =~ x1 + x2 + x3\nF -> G\n")
    with pytest.raises(ModelSyntaxError, match=r"broken\.lav, line 2, column 3"):
        read_model(path)


def test_non_recursive_models_can_be_allowed():
    spec = parse_model("A ~ B\nB ~ A\nA ~ C", allow_cycles=True)
    assert set(spec.structural) == {"A", "B", "C"}
