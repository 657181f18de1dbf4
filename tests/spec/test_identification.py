"""Identification before sampling, the usual traps, refusals of unsupported lavaan syntax,
Unicode names, and equality constraints of every kind. No sampler needed.

Each case names what the wave-1 release (commit 0d589bb) did with it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from connective.bayes import build_model
from connective.bayes.matrices import build_layout
from connective.effects import compute_effects
from connective.errors import ConnectiveError, ModelError, ModelSyntaxError
from connective.spec import parse_model
from connective.spec.identification import identification, require_identified


def _frame(columns, n=60, seed=0):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    return pd.DataFrame(0.7 * f + rng.normal(size=(n, len(columns))), columns=columns)


def test_negative_df_is_refused_before_sampling_saying_by_how_much():
    # wave 1 fitted this with exit status 0
    spec = parse_model("F =~ x1 + x2\nx1 ~~ x2", source="m.lav")
    with pytest.raises(ModelError, match=r"m\.lav: the model is not identified: .* df = -2, "
                                         r"2 parameters too many"):
        build_model(spec, _frame(["x1", "x2"]))


@pytest.mark.parametrize("text, df", [
    # lavaan's df of each (fit_measures.csv in tests/conformance/lavaan_reference)
    ("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9", 24),
    ("# options: orthogonal = TRUE\nvisual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n"
     "speed =~ x7 + x8 + x9", 27),
    ("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
     "visual ~ sex + ageyr\ntextual ~ sex + ageyr\nspeed ~ sex + ageyr", 36),
    ("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspd =~ x7\ntextual ~ visual\n"
     "spd ~ visual + textual", 12),
    ("M ~ a*X\nY ~ b*M + cp*X", 0),
    ("visual =~ x1 + x2\ntextual =~ x4 + x5 + x6", 4),
])
def test_degrees_of_freedom_are_lavaans(text, df):
    assert identification(parse_model(text)).df == df


def test_a_lonely_two_indicator_factor_is_named():
    spec = parse_model("# options: orthogonal = TRUE\nF =~ a + b\nG =~ c + d + e")
    (message,) = identification(spec).warnings
    assert message.startswith("factor 'F' has two indicators (a, b) and nothing else ties it")
    # tied to G by their covariance it is identified (lavaan's hs_two_indicator): no warning
    assert identification(parse_model("F =~ a + b\nG =~ c + d + e")).warnings == ()


def test_a_label_that_is_a_variable_name_and_a_label_across_kinds_are_named():
    spec = parse_model("F =~ a + b*b + c\ny ~ F")
    assert "the label 'b' (of F=~b) is also the name of a variable" in identification(spec).warnings[0]
    spec = parse_model("F =~ a + k*b + c\ny ~ k*F")
    assert "the label 'k' makes a loading and a regression equal" in identification(spec).warnings[0]


def test_warnings_reach_the_user_when_a_model_is_built():
    spec = parse_model("F =~ a + k*b + c\ny ~ k*F")
    with pytest.warns(UserWarning, match="makes a loading and a regression equal"):
        build_model(spec, _frame(["a", "b", "c", "y"]))


def test_require_identified_passes_an_identified_model():
    assert require_identified(parse_model("F =~ x1 + x2 + x3")).df == 0


@pytest.mark.parametrize("text, message, line, column, hint", [
    ("F =~ a + b + c\nlevel: 1\nG =~ d + e + f", "'level:' blocks make a two-level model",
     2, 1, "--cluster COLUMN"),
    ("group: 1\nF =~ a + b + c", "multiple-group models ('group:' blocks)", 1, 1, "--group"),
    ('efa("e1")*F1 + efa("e1")*F2 =~ x1 + x2 + x3 + x4', "efa() blocks", 1, 1,
     "confirmatory model"),
    ("y ~ x\ngroup % w", "the '%' operator", 2, 7, "--group COLUMN"),
])
def test_unsupported_lavaan_syntax_is_named_with_what_to_write(text, message, line, column, hint):
    # wave 1: "unknown operator ':'", "expected a variable name", "unexpected character '%'"
    with pytest.raises(ModelSyntaxError) as err:
        parse_model(text, source="m.lav")
    assert err.value.message.startswith(message)
    assert (err.value.location.line, err.value.location.column) == (line, column)
    assert hint in err.value.hint


def test_names_may_use_any_letters():
    # wave 1: "unexpected character 'á'"
    spec = parse_model("Eficácia =~ ef1 + ef2 + ef3\nIdentität =~ id1 + id2 + id3\n"
                       "Ação ~ Eficácia + Identität")
    assert spec.structural == ("Eficácia", "Identität", "Ação")


def test_a_label_shared_by_two_regressions_gives_every_effect():
    # wave 1: compute_effects raised "no value for the free parameter 'Y~X2'" after sampling
    spec = parse_model("M ~ a*X1 + a*X2\nY ~ b*M\nind1 := a*b")
    draws = xr.DataArray([[0.5, 0.4]], dims=("draw", "param"), coords={"param": ["M~X1", "Y~M"]})
    fx = compute_effects(spec, draws)
    assert float(fx.sel(effect="X2 -> M -> Y")[0]) == pytest.approx(0.2)
    assert float(fx.sel(effect="ind1")[0]) == pytest.approx(0.2)


def test_shared_covariances_are_sampled_as_values():
    # wave 1 refused: "equality constraints on covariances are not supported"
    spec = parse_model("F =~ a + b + c\nG =~ d + e + f\nH =~ g + h + i\n"
                       "F ~~ r*G\nG ~~ r*H")
    layout = build_layout(spec)
    shared = {layout.params[k].name for k in layout.shared_covariances}
    assert shared == {"F~~G"}
    bm = build_model(spec, _frame(list("abcdefghi")))
    assert bm.priors["F~~G"].startswith("normal(0, ")
    assert "covariance" in bm.model.named_vars


def test_a_variance_shared_with_a_loading_is_refused():
    with pytest.raises(ConnectiveError, match="equates variances only with variances"):
        build_layout(parse_model("F =~ a + v*b + c\nc ~~ v*c"))
